//! Authorization decision time with the shipped schema and default policies.
//!
//! Run: `cargo bench -p confidant-policy --bench decision`
//!
//! The issue's target: "p99 under 100 µs per decision with the default policies and 1,000 entities
//! loaded". `Authorizer::authorize_in` builds each request's entities (the user, the resource) from
//! the values it is given, so it holds no entity store; "1,000 entities loaded" is measured two ways:
//!
//! - `authorize_in/population_1000`: decisions through `authorize_in` for actors and resources drawn
//!   from a population of 1,000 entities held in memory (2 organisations, 8 services, 24 teams,
//!   200 staff, 766 people), with a mix of actions, scopes, positions and grants (the binary prints
//!   how many of them are allowed);
//! - `cedar_store/entities_1000`: the policies as written asked through Cedar directly, against a
//!   store of those 1,000 entities loaded once, as a design that kept entities inside Cedar would;
//!   `cedar_store/entities_2` asks the same requests against a store of just each request's two
//!   entities, so the pair shows what the size of the store costs.
//!
//! Also `authorize_in/practitioner_reads_own_person` (one request again and again) and
//! `authorize_in/break_glass_read` (a read that needs its grant, so it is decided twice: with the
//! grant, then without it to learn whether the grant was needed).
//!
//! After Criterion (which reports means), the binary times 100,000 decisions one by one with
//! `Instant` and prints p50, p90, p99, p99.9 and the maximum. Figures are printed, not asserted.
//! Under `cargo test --benches` everything runs once, quickly, as a smoke test.

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::time::{Duration, Instant};

use cedar_policy::{
    Context as CedarContext, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicySet,
    Request, RestrictedExpression, Schema,
};
use confidant_policy::{
    AccessScope, Action, Actor, Authorizer, Context, Grant, Resource, Role, StaffActor,
};
use criterion::{Criterion, criterion_group};
use uuid::Uuid;

/// A small deterministic generator (xorshift64*), so every run asks the same questions.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn uuid(&mut self) -> Uuid {
        Uuid::from_u64_pair(self.next(), self.next())
    }
}

struct Service {
    id: Uuid,
    organisation_id: Uuid,
    teams: Vec<Uuid>,
}

/// 1,000 entities: organisations, services, teams, staff and people.
struct Population {
    organisations: Vec<Uuid>,
    services: Vec<Service>,
    staff: Vec<StaffActor>,
    people: Vec<Resource>,
}

impl Population {
    fn new(dice: &mut Dice) -> Self {
        let organisations: Vec<Uuid> = (0..2).map(|_| dice.uuid()).collect();
        let services: Vec<Service> = (0..8)
            .map(|i| Service {
                id: dice.uuid(),
                organisation_id: organisations[i % 2],
                teams: (0..3).map(|_| dice.uuid()).collect(),
            })
            .collect();
        // Most staff work in a service; the rest are organisation-wide.
        let staff: Vec<StaffActor> = (0..200)
            .map(|i| {
                let service = &services[i % services.len()];
                let role = *dice.pick(&[
                    Role::Practitioner,
                    Role::Practitioner,
                    Role::Practitioner,
                    Role::Practitioner,
                    Role::TeamManager,
                    Role::ServiceManager,
                    Role::DataProtectionOfficer,
                    Role::CaldicottGuardian,
                    Role::Administrator,
                    Role::ProcessorStaff,
                    Role::Trustee,
                    Role::Auditor,
                ]);
                let placed = matches!(
                    role,
                    Role::Practitioner | Role::TeamManager | Role::ServiceManager
                );
                StaffActor {
                    user_id: dice.uuid(),
                    organisation_id: service.organisation_id,
                    service_id: placed.then_some(service.id),
                    team_id: placed.then(|| *dice.pick(&service.teams)),
                    role,
                    trained: dice.below(10) != 0,
                }
            })
            .collect();
        let people_count = 1_000 - organisations.len() - services.len() * 4 - staff.len();
        let people = (0..people_count)
            .map(|_| {
                let service = dice.pick(&services);
                let key_worker = dice.pick(&staff);
                Resource::Person {
                    id: dice.uuid(),
                    service_id: service.id,
                    organisation_id: service.organisation_id,
                    team_id: Some(*dice.pick(&service.teams)),
                    key_worker_id: Some(key_worker.user_id),
                    scope: *dice.pick(&AccessScope::ALL),
                }
            })
            .collect();
        Population {
            organisations,
            services,
            staff,
            people,
        }
    }

    fn entity_count(&self) -> usize {
        self.organisations.len() + self.services.len() * 4 + self.staff.len() + self.people.len()
    }

    /// A realistic request: mostly reads of people, some lists, staff and oversight work.
    fn request(&self, dice: &mut Dice) -> (Actor, Action, Resource, Context) {
        let actor = dice.pick(&self.staff).clone();
        let grant = if dice.below(10) == 0 {
            Some(*dice.pick(&Grant::ALL))
        } else {
            None
        };
        let service = dice.pick(&self.services);
        let (action, resource) = match dice.below(20) {
            0..=9 => (Action::PersonRead, *dice.pick(&self.people)),
            10..=12 => (Action::PersonUpdate, *dice.pick(&self.people)),
            13 => (
                Action::PersonList,
                Resource::Service {
                    id: service.id,
                    organisation_id: service.organisation_id,
                },
            ),
            14 => (Action::AuditRead, *dice.pick(&self.people)),
            15 => {
                let other = dice.pick(&self.staff);
                (
                    Action::StaffRead,
                    Resource::Staff {
                        id: other.user_id,
                        organisation_id: other.organisation_id,
                        role: other.role,
                    },
                )
            }
            16 => (
                Action::TokenIssue,
                Resource::Staff {
                    id: actor.user_id,
                    organisation_id: actor.organisation_id,
                    role: actor.role,
                },
            ),
            17 => (
                Action::OversightRead,
                Resource::Service {
                    id: service.id,
                    organisation_id: service.organisation_id,
                },
            ),
            18 => (
                Action::ServiceRead,
                Resource::Organisation {
                    id: *dice.pick(&self.organisations),
                },
            ),
            _ => (Action::PersonBreakGlass, *dice.pick(&self.people)),
        };
        (Actor::Staff(actor), action, resource, Context { grant })
    }
}

/// Cedar asked directly, against a store holding the whole population (built here from the
/// schema's names, independently of the crate, and checked against the schema when loaded).
struct CedarStore {
    schema: Schema,
    policies: PolicySet,
    entities: Entities,
    /// For each request, a store of just its principal and resource.
    small: Vec<Entities>,
    authorizer: cedar_policy::Authorizer,
    requests: Vec<Request>,
}

fn type_name(name: &str) -> EntityTypeName {
    name.parse().expect("entity type name")
}

fn uid(t: &str, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(type_name(t), EntityId::new(id))
}

fn euid(t: &str, id: Uuid) -> RestrictedExpression {
    RestrictedExpression::new_entity_uid(uid(t, &id.to_string()))
}

impl CedarStore {
    fn new(population: &Population, dice: &mut Dice, requests: usize) -> Self {
        let (schema, _) =
            Schema::from_cedarschema_str(Authorizer::schema_text()).expect("schema parses");
        let policies: PolicySet = Authorizer::default_policies_text()
            .parse()
            .expect("policies parse");
        let no_parents = HashSet::new;
        let mut entities = Vec::new();
        for &organisation in &population.organisations {
            entities.push(Entity::new_no_attrs(
                uid("Confidant::Organisation", &organisation.to_string()),
                no_parents(),
            ));
        }
        for service in &population.services {
            let attrs = HashMap::from([(
                "organisation".to_owned(),
                euid("Confidant::Organisation", service.organisation_id),
            )]);
            entities.push(
                Entity::new(
                    uid("Confidant::Service", &service.id.to_string()),
                    attrs,
                    no_parents(),
                )
                .expect("service"),
            );
            for &team in &service.teams {
                entities.push(Entity::new_no_attrs(
                    uid("Confidant::Team", &team.to_string()),
                    no_parents(),
                ));
            }
        }
        for staff in &population.staff {
            let mut attrs = HashMap::from([
                (
                    "organisation".to_owned(),
                    euid("Confidant::Organisation", staff.organisation_id),
                ),
                (
                    "role".to_owned(),
                    RestrictedExpression::new_entity_uid(uid("Confidant::Role", staff.role.code())),
                ),
                (
                    "trained".to_owned(),
                    RestrictedExpression::new_bool(staff.trained),
                ),
            ]);
            if let Some(service) = staff.service_id {
                attrs.insert("service".to_owned(), euid("Confidant::Service", service));
            }
            if let Some(team) = staff.team_id {
                attrs.insert("team".to_owned(), euid("Confidant::Team", team));
            }
            entities.push(
                Entity::new(
                    uid("Confidant::User", &staff.user_id.to_string()),
                    attrs,
                    no_parents(),
                )
                .expect("user"),
            );
        }
        for person in &population.people {
            let Resource::Person {
                id,
                service_id,
                organisation_id,
                team_id,
                key_worker_id,
                scope,
            } = *person
            else {
                unreachable!("the population's people are people")
            };
            let mut attrs = HashMap::from([
                (
                    "organisation".to_owned(),
                    euid("Confidant::Organisation", organisation_id),
                ),
                ("service".to_owned(), euid("Confidant::Service", service_id)),
                (
                    "scope".to_owned(),
                    RestrictedExpression::new_entity_uid(uid("Confidant::Scope", scope.code())),
                ),
            ]);
            if let Some(team) = team_id {
                attrs.insert("team".to_owned(), euid("Confidant::Team", team));
            }
            if let Some(key_worker) = key_worker_id {
                attrs.insert("key_worker".to_owned(), euid("Confidant::User", key_worker));
            }
            entities.push(
                Entity::new(
                    uid("Confidant::Person", &id.to_string()),
                    attrs,
                    no_parents(),
                )
                .expect("person"),
            );
        }
        let by_uid: HashMap<EntityUid, Entity> =
            entities.iter().map(|e| (e.uid(), e.clone())).collect();
        let entities = Entities::from_entities(entities, Some(&schema)).expect("entities conform");
        let mut small = Vec::with_capacity(requests);
        // Person reads and updates, the bulk of the traffic, by staff of the population.
        let requests = (0..requests)
            .map(|_| {
                let staff = dice.pick(&population.staff);
                let person = dice.pick(&population.people);
                let action = if dice.below(4) == 0 {
                    "person.update"
                } else {
                    "person.read"
                };
                let context = if dice.below(10) == 0 {
                    CedarContext::from_pairs([(
                        "grant".to_owned(),
                        RestrictedExpression::new_entity_uid(uid(
                            "Confidant::Grant",
                            dice.pick(&Grant::ALL).code(),
                        )),
                    )])
                    .expect("context")
                } else {
                    CedarContext::empty()
                };
                let principal = uid("Confidant::User", &staff.user_id.to_string());
                let resource = uid(
                    "Confidant::Person",
                    &person.id().expect("person id").to_string(),
                );
                small.push(
                    Entities::from_entities(
                        [&principal, &resource].map(|u| by_uid[u].clone()),
                        Some(&schema),
                    )
                    .expect("entities conform"),
                );
                Request::new(
                    principal,
                    uid("Confidant::Action", action),
                    resource,
                    context,
                    Some(&schema),
                )
                .expect("request conforms")
            })
            .collect();
        CedarStore {
            schema,
            policies,
            entities,
            small,
            authorizer: cedar_policy::Authorizer::new(),
            requests,
        }
    }

    fn decide(&self, i: usize) -> bool {
        let i = i % self.requests.len();
        self.authorizer
            .is_authorized(&self.requests[i], &self.policies, &self.entities)
            .decision()
            == cedar_policy::Decision::Allow
    }

    fn decide_small(&self, i: usize) -> bool {
        let i = i % self.requests.len();
        self.authorizer
            .is_authorized(&self.requests[i], &self.policies, &self.small[i])
            .decision()
            == cedar_policy::Decision::Allow
    }
}

struct Fixture {
    authorizer: Authorizer,
    population: Population,
    /// Pre-drawn requests, cycled through, so drawing them is not timed.
    mixed: Vec<(Actor, Action, Resource, Context)>,
    store: CedarStore,
    practitioner: Actor,
    own_person: Resource,
    other_service_person: Resource,
}

impl Fixture {
    fn new(requests: usize) -> Self {
        let mut dice = Dice(0x5eed_c0de_1234_5678);
        let population = Population::new(&mut dice);
        assert_eq!(population.entity_count(), 1_000);
        let mixed = (0..requests)
            .map(|_| population.request(&mut dice))
            .collect();
        let store = CedarStore::new(&population, &mut dice, requests);
        let practitioner = population
            .staff
            .iter()
            .find(|s| s.role == Role::Practitioner && s.trained)
            .expect("a trained practitioner")
            .clone();
        let service = population
            .services
            .iter()
            .find(|s| Some(s.id) == practitioner.service_id)
            .expect("their service");
        let elsewhere = population
            .services
            .iter()
            .find(|s| s.organisation_id == service.organisation_id && s.id != service.id)
            .expect("another service");
        let person = |service: &Service| Resource::Person {
            id: Uuid::new_v4(),
            service_id: service.id,
            organisation_id: service.organisation_id,
            team_id: practitioner.team_id,
            key_worker_id: Some(practitioner.user_id),
            scope: AccessScope::Caseload,
        };
        let own_person = person(service);
        let other_service_person = person(elsewhere);
        Fixture {
            authorizer: Authorizer::new(),
            population,
            mixed,
            store,
            practitioner: Actor::Staff(practitioner),
            own_person,
            other_service_person,
        }
    }

    fn own_read(&self) -> bool {
        self.authorizer
            .authorize_in(
                &self.practitioner,
                Action::PersonRead,
                self.own_person,
                Context::default(),
            )
            .is_ok()
    }

    fn break_glass_read(&self) -> bool {
        self.authorizer
            .authorize_in(
                &self.practitioner,
                Action::PersonRead,
                self.other_service_person,
                Context {
                    grant: Some(Grant::BreakGlass),
                },
            )
            .is_ok()
    }

    fn mixed(&self, i: usize) -> bool {
        let (actor, action, resource, context) = &self.mixed[i % self.mixed.len()];
        self.authorizer
            .authorize_in(actor, *action, *resource, *context)
            .is_ok()
    }

    fn store(&self, i: usize) -> bool {
        self.store.decide(i)
    }

    fn store_small(&self, i: usize) -> bool {
        self.store.decide_small(i)
    }
}

fn decisions(c: &mut Criterion) {
    let fx = Fixture::new(if benchmarking() { 10_000 } else { 100 });
    assert!(fx.own_read(), "a practitioner reads their own caseload");
    assert!(
        fx.break_glass_read(),
        "and with the glass broken, elsewhere"
    );
    let allowed = (0..fx.mixed.len()).filter(|&i| fx.mixed(i)).count();
    println!(
        "population: {} entities; {} of {} mixed requests allowed; {} of {} store requests allowed; \
         schema has {} actions",
        fx.population.entity_count(),
        allowed,
        fx.mixed.len(),
        (0..fx.store.requests.len())
            .filter(|&i| fx.store(i))
            .count(),
        fx.store.requests.len(),
        fx.store.schema.actions().count(),
    );

    let mut group = c.benchmark_group("authorize_in");
    group.bench_function("practitioner_reads_own_person", |b| {
        b.iter(|| black_box(fx.own_read()));
    });
    group.bench_function("break_glass_read", |b| {
        b.iter(|| black_box(fx.break_glass_read()));
    });
    let mut i = 0;
    group.bench_function("population_1000", |b| {
        b.iter(|| {
            i += 1;
            black_box(fx.mixed(i))
        });
    });
    group.finish();

    let mut group = c.benchmark_group("cedar_store");
    let mut i = 0;
    group.bench_function("entities_1000", |b| {
        b.iter(|| {
            i += 1;
            black_box(fx.store(i))
        });
    });
    let mut i = 0;
    group.bench_function("entities_2", |b| {
        b.iter(|| {
            i += 1;
            black_box(fx.store_small(i))
        });
    });
    group.finish();
}

criterion_group!(benches, decisions);

/// True under `cargo bench` (Criterion's own rule: `--bench` without `--test`, and not `--list`).
fn benchmarking() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    has("--bench") && !has("--test") && !has("--list")
}

/// Times `n` calls one by one and prints their percentiles.
fn percentiles(name: &str, n: usize, mut f: impl FnMut(usize) -> bool) {
    // Warm up caches and the allocator first.
    for i in 0..n.min(10_000) {
        black_box(f(i));
    }
    let mut times: Vec<Duration> = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        black_box(f(i));
        times.push(start.elapsed());
    }
    times.sort_unstable();
    let at = |q: f64| times[((n as f64 * q) as usize).min(n - 1)];
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let mean = times.iter().sum::<Duration>() / u32::try_from(n).expect("n fits u32");
    println!(
        "PERCENTILES {name:<40} n={n:<7} mean={:>6.1} µs  p50={:>6.1} µs  p90={:>6.1} µs  \
         p99={:>6.1} µs  p99.9={:>6.1} µs  max={:>7.1} µs",
        us(mean),
        us(at(0.50)),
        us(at(0.90)),
        us(at(0.99)),
        us(at(0.999)),
        us(times[n - 1]),
    );
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    let n = if benchmarking() { 100_000 } else { 100 };
    let fx = Fixture::new(if benchmarking() { 10_000 } else { 100 });
    percentiles("authorize_in/practitioner_reads_own_person", n, |_| {
        fx.own_read()
    });
    percentiles("authorize_in/break_glass_read", n, |_| {
        fx.break_glass_read()
    });
    percentiles("authorize_in/population_1000", n, |i| fx.mixed(i));
    percentiles("cedar_store/entities_1000", n, |i| fx.store(i));
    percentiles("cedar_store/entities_2", n, |i| fx.store_small(i));
    if !benchmarking() {
        println!("(smoke run: figures are not meaningful outside `cargo bench`)");
    }
}
