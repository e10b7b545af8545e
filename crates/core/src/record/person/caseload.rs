//! Caseloads: a service's people as a worker sees them in a day's work (name, date of birth, record
//! number, team and key worker, the state of their case, the last contact), whose (mine, a
//! colleague's, nobody's, a team's, everyone's), filtered by case status and sorted; the service's
//! caseloads counted per worker for its managers; and, for a processor's worker, the people
//! referred to them.
//!
//! Rules: listing is `person.list` on the service, and a line is shown only if its person is
//! within the actor's read scope (team or caseload), exactly as in [`Confidant::list_people`]; each
//! page read is audited; only the name and date of birth are opened. The counts per worker are
//! the managers' oversight of their service (`oversight.read`): numbers only, a team manager's of
//! their own team. A referred person is read through the processor's referral like any other read
//! of theirs (`person.read`, audited, only what the referral sent).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use confidant_policy::{Action, Actor, Role};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::field::PersonField;
use crate::kernel::codes::codes;
use crate::organisation::micros;
use crate::store::{CaseStatus, CaseloadFilter, Store, WorkerFilter, WorkerLoad};
use crate::{Clock, Confidant};

use super::search::Listing;
use super::*;

/// The most lines a caseload shows; a bigger one asks for a filter.
pub const MAX_CASELOAD: usize = 500;
/// People read per page while filling a caseload.
const CASELOAD_PAGE: u32 = 250;

/// Whose people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseloadOf {
    /// The actor's own: they are the key worker.
    Mine,
    /// A colleague's.
    Worker(Uuid),
    /// Nobody's: no key worker.
    Unassigned,
    /// One team's.
    Team(Uuid),
    /// Everyone the actor may see.
    Everyone,
}

impl CaseloadOf {
    /// As written in an address: `mine`, `everyone`, `unassigned`, `worker-{id}`, `team-{id}`.
    pub fn code(self) -> String {
        match self {
            CaseloadOf::Mine => "mine".to_owned(),
            CaseloadOf::Everyone => "everyone".to_owned(),
            CaseloadOf::Unassigned => "unassigned".to_owned(),
            CaseloadOf::Worker(id) => format!("worker-{id}"),
            CaseloadOf::Team(id) => format!("team-{id}"),
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "mine" => CaseloadOf::Mine,
            "everyone" => CaseloadOf::Everyone,
            "unassigned" => CaseloadOf::Unassigned,
            other => match other.split_once('-')? {
                ("worker", id) => CaseloadOf::Worker(id.parse().ok()?),
                ("team", id) => CaseloadOf::Team(id.parse().ok()?),
                _ => return None,
            },
        })
    }
}

impl CaseloadQuery {
    /// Reads a query's parts as an address or the API gives them (an empty part is the default:
    /// my caseload, any status, by name, ascending); a part it does not know is named in the error.
    pub fn parse(of: &str, status: &str, sort: &str, order: &str) -> Result<Self, Violations> {
        let bad = |field: &'static str, what: &str| {
            Violations(vec![Violation::new(field, what.to_owned())])
        };
        Ok(Self {
            of: match of {
                "" => CaseloadOf::Mine,
                code => CaseloadOf::from_code(code).ok_or_else(|| {
                    bad(
                        "of",
                        "whose people must be mine, everyone, unassigned, worker-{id} or team-{id}",
                    )
                })?,
            },
            status: match status {
                "" | "any" => None,
                code => Some(
                    CaseStatus::from_code(code)
                        .ok_or_else(|| bad("status", "the case status must be any, open, closed or none"))?,
                ),
            },
            sort: match sort {
                "" => CaseloadSort::Name,
                code => CaseloadSort::from_code(code).ok_or_else(|| {
                    bad(
                        "sort",
                        "the sort must be name, date_of_birth, record_number, key_worker, status or last_contact",
                    )
                })?,
            },
            descending: match order {
                "" | "asc" => false,
                "desc" => true,
                _ => return Err(bad("order", "the order must be asc or desc")),
            },
        })
    }
}

codes!(
    /// What a caseload is sorted by.
    CaseloadSort {
        Name = "name": "Name",
        BirthDate = "date_of_birth": "Date of birth",
        RecordNumber = "record_number": "Record number",
        KeyWorker = "key_worker": "Key worker",
        Status = "status": "Case",
        LastContact = "last_contact": "Last contact",
    }
);

/// What to show, and in what order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseloadQuery {
    pub of: CaseloadOf,
    pub status: Option<CaseStatus>,
    pub sort: CaseloadSort,
    pub descending: bool,
}

/// One person of a caseload. Prints no values.
#[derive(Clone)]
pub struct CaseloadLine {
    pub id: Uuid,
    pub record_number: i64,
    pub given_name: String,
    pub family_name: String,
    /// `YYYY-MM-DD`, if recorded.
    pub date_of_birth: Option<String>,
    pub team_id: Option<Uuid>,
    pub key_worker_id: Option<Uuid>,
    pub status: CaseStatus,
    /// When the open case was opened, or the last one closed.
    pub status_since: Option<OffsetDateTime>,
    pub last_contact: Option<OffsetDateTime>,
}

impl fmt::Debug for CaseloadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CaseloadLine({}, [redacted])", self.id)
    }
}

/// A caseload: its lines, sorted, and whether more people matched than it shows.
#[derive(Debug, Clone)]
pub struct Caseload {
    pub lines: Vec<CaseloadLine>,
    pub more: bool,
    /// The names of the service's staff (key workers; those who left too) by id: display name,
    /// else handle, as the lines are sorted by them.
    pub workers: BTreeMap<Uuid, String>,
    /// The service's teams, by id, with their names.
    pub teams: BTreeMap<Uuid, String>,
}

/// A service's caseloads counted per key worker ([`Confidant::caseload_counts`]), with the
/// names of its staff.
#[derive(Debug, Clone)]
pub struct CaseloadCounts {
    pub loads: Vec<WorkerLoad>,
    pub workers: BTreeMap<Uuid, String>,
}

/// A person referred to a processor's worker: their name as the referral sent it (if it did), and
/// the referral's dates. Prints no values.
#[derive(Clone)]
pub struct ReferredLine {
    pub id: Uuid,
    pub name: String,
    pub referred_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
}

impl fmt::Debug for ReferredLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReferredLine({}, [redacted])", self.id)
    }
}

/// The most people a processor's worker's list shows.
const MAX_REFERRED: u32 = 200;

impl<S: Store, C: Clock> Confidant<S, C> {
    /// The people of a service the query asks for, within the actor's scope, sorted: at most
    /// [`MAX_CASELOAD`] (with `more` set when there were more).
    pub async fn caseload(
        &self,
        actor: &Principal,
        purpose: Purpose,
        service_id: Uuid,
        query: CaseloadQuery,
    ) -> Result<Caseload, PersonError> {
        let Listing {
            permit,
            organisation_id,
            scope,
        } = self.listing(actor, purpose, service_id).await?;
        let filter = filter_of(actor, query.of, query.status)?;
        let fields = [
            PersonField::GivenName,
            PersonField::FamilyName,
            PersonField::DateOfBirth,
        ];
        let now = self.clock.now();
        let mut lines = Vec::new();
        let mut more = false;
        let mut after = None;
        loop {
            let audit = AuditDraft::permitted(&permit, purpose, now);
            let rows = self
                .store
                .caseload(
                    service_id,
                    &filter,
                    &fields,
                    micros(now),
                    after,
                    CASELOAD_PAGE,
                    audit,
                )
                .await?;
            let full = rows.len() == CASELOAD_PAGE as usize;
            after = rows.last().map(|r| r.person.id);
            for row in &rows {
                // Out of the actor's team or caseload: left out silently, as in a list.
                if !self.listed_in_scope(actor, &row.person, organisation_id, scope) {
                    continue;
                }
                if lines.len() == MAX_CASELOAD {
                    more = true;
                    break;
                }
                let mut p = self.open_person(&row.person, &row.key)?;
                let status = row.status();
                lines.push(CaseloadLine {
                    id: p.id,
                    record_number: row.person.record_number,
                    given_name: p.values.remove(&PersonField::GivenName).unwrap_or_default(),
                    family_name: p
                        .values
                        .remove(&PersonField::FamilyName)
                        .unwrap_or_default(),
                    date_of_birth: p.values.remove(&PersonField::DateOfBirth),
                    team_id: row.person.team_id,
                    key_worker_id: row.person.key_worker_id,
                    status,
                    status_since: row
                        .open_since_micros
                        .or(row.closed_at_micros)
                        .map(from_micros),
                    last_contact: row.last_contact_micros.map(from_micros),
                });
            }
            if more || !full {
                break;
            }
        }
        let workers = self.service_staff(service_id).await?;
        let teams = self
            .store
            .teams(service_id)
            .await?
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect();
        sort_lines(&mut lines, query.sort, query.descending, &workers);
        Ok(Caseload {
            lines,
            more,
            workers,
            teams,
        })
    }

    /// The service's caseloads counted per key worker (and those with none), for its managers
    /// (`oversight.read` on the service): a service manager's for the whole service, a team
    /// manager's for their own team. Numbers only; the read is audited.
    pub async fn caseload_counts(
        &self,
        actor: &Principal,
        purpose: Purpose,
        service_id: Uuid,
    ) -> Result<CaseloadCounts, PersonError> {
        let resource = self
            .service_resource(actor, Action::OversightRead, service_id, purpose)
            .await?;
        let permit = self
            .person_permit(actor, Action::OversightRead, resource, purpose)
            .await?;
        let team = match actor.actor() {
            Actor::Staff(s) if s.role == Role::ServiceManager => None,
            Actor::Staff(s) => match s.team_id {
                Some(team) => Some(team),
                // A team manager of no team oversees no one's caseload.
                None => {
                    return Ok(CaseloadCounts {
                        loads: Vec::new(),
                        workers: BTreeMap::new(),
                    });
                }
            },
            Actor::System => return Err(PersonError::NotFound),
        };
        let audit =
            AuditDraft::permitted(&permit, purpose, self.clock.now()).named("caseload.counts");
        let loads = self.store.caseload_counts(service_id, team, audit).await?;
        Ok(CaseloadCounts {
            loads,
            workers: self.service_staff(service_id).await?,
        })
    }

    /// How a service's staff (those who left too) are named, by id: display name, else handle.
    pub(super) async fn service_staff(
        &self,
        service_id: Uuid,
    ) -> Result<BTreeMap<Uuid, String>, PersonError> {
        let Some(service) = self.store.service(service_id).await? else {
            return Ok(BTreeMap::new());
        };
        Ok(self
            .store
            .staff_of(service.organisation_id)
            .await?
            .into_iter()
            .filter(|s| s.service_id == Some(service_id))
            .map(|s| (s.id, s.name().to_owned()))
            .collect())
    }

    /// The people referred to the actor (a processor's worker) by disclosures still running,
    /// newest first, each read through the referral (`person.read`, audited; only the name the
    /// referral sent). A referral that no longer opens the record (ended, restricted) is left out.
    pub async fn referred_to_me(
        &self,
        actor: &Principal,
        purpose: Purpose,
    ) -> Result<Vec<ReferredLine>, PersonError> {
        let me = staff_id(actor)?;
        let now = self.clock.now();
        let referred = self
            .store
            .referred_people(me, micros(now), MAX_REFERRED)
            .await?;
        let mut seen = std::collections::BTreeSet::new();
        let mut lines = Vec::new();
        for r in referred {
            if !seen.insert(r.person_id) {
                continue;
            }
            match self.person_name(actor, purpose, r.person_id).await {
                Ok(heading) => lines.push(ReferredLine {
                    id: r.person_id,
                    name: heading.full().trim().to_owned(),
                    referred_at: from_micros(r.disclosed_at_micros),
                    ends_at: from_micros(r.ends_at_micros),
                }),
                Err(PersonError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(lines)
    }
}

/// The store's filter for whose people, and a case status.
pub(super) fn filter_of(
    actor: &Principal,
    of: CaseloadOf,
    status: Option<CaseStatus>,
) -> Result<CaseloadFilter, PersonError> {
    Ok(CaseloadFilter {
        worker: match of {
            CaseloadOf::Mine => WorkerFilter::Worker(staff_id(actor)?),
            CaseloadOf::Worker(id) => WorkerFilter::Worker(id),
            CaseloadOf::Unassigned => WorkerFilter::Unassigned,
            CaseloadOf::Team(_) | CaseloadOf::Everyone => WorkerFilter::Any,
        },
        team_id: match of {
            CaseloadOf::Team(id) => Some(id),
            _ => None,
        },
        status,
    })
}

fn staff_id(actor: &Principal) -> Result<Uuid, PersonError> {
    match actor.actor() {
        Actor::Staff(s) => Ok(s.user_id),
        Actor::System => Err(PersonError::NotFound),
    }
}

/// Sorts a caseload: by the key asked for, then by family and given name, then record number,
/// so that equal keys keep a stable, meaningful order. Names compare without case; people without
/// a value (no date of birth, no contact, no key worker) come last in either direction.
pub fn sort_lines(
    lines: &mut [CaseloadLine],
    sort: CaseloadSort,
    descending: bool,
    workers: &BTreeMap<Uuid, String>,
) {
    let name = |l: &CaseloadLine| {
        (
            l.family_name.to_lowercase(),
            l.given_name.to_lowercase(),
            l.record_number,
        )
    };
    let worker = |l: &CaseloadLine| {
        l.key_worker_id
            .map(|k| workers.get(&k).cloned().unwrap_or_default().to_lowercase())
    };
    let status_rank = |s: CaseStatus| match s {
        CaseStatus::Open => 0,
        CaseStatus::Closed => 1,
        CaseStatus::NoCase => 2,
    };
    lines.sort_by(|a, b| {
        let first = match sort {
            CaseloadSort::Name => Ordering::Equal,
            CaseloadSort::RecordNumber => a.record_number.cmp(&b.record_number),
            CaseloadSort::BirthDate => missing_last(&a.date_of_birth, &b.date_of_birth, descending),
            CaseloadSort::KeyWorker => missing_last(&worker(a), &worker(b), descending),
            CaseloadSort::Status => status_rank(a.status).cmp(&status_rank(b.status)),
            CaseloadSort::LastContact => missing_last(&a.last_contact, &b.last_contact, descending),
        };
        let first = if descending { first.reverse() } else { first };
        let then = name(a).cmp(&name(b));
        let then = if descending && sort == CaseloadSort::Name {
            then.reverse()
        } else {
            then
        };
        first.then(then)
    });
}

/// Compares two optional values so that a missing one sorts last whichever way the list is
/// sorted (the caller reverses the answer for a descending sort, hence `descending` here).
fn missing_last<T: Ord>(a: &Option<T>, b: &Option<T>, descending: bool) -> Ordering {
    let last = if descending {
        Ordering::Less
    } else {
        Ordering::Greater
    };
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(b),
        (None, None) => Ordering::Equal,
        (None, Some(_)) => last,
        (Some(_), None) => last.reverse(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: i64, family: &str, dob: Option<&str>, worker: Option<u128>) -> CaseloadLine {
        CaseloadLine {
            id: Uuid::from_u128(n as u128),
            record_number: n,
            given_name: "A".to_owned(),
            family_name: family.to_owned(),
            date_of_birth: dob.map(str::to_owned),
            team_id: None,
            key_worker_id: worker.map(Uuid::from_u128),
            status: if n % 2 == 0 {
                CaseStatus::Open
            } else {
                CaseStatus::NoCase
            },
            status_since: None,
            last_contact: None,
        }
    }

    fn numbers(lines: &[CaseloadLine]) -> Vec<i64> {
        lines.iter().map(|l| l.record_number).collect()
    }

    #[test]
    fn sorts_by_name_without_case_then_by_number() {
        let mut lines = vec![
            line(3, "gill", None, None),
            line(1, "Ortiz", None, None),
            line(2, "Gill", None, None),
        ];
        let workers = BTreeMap::new();
        sort_lines(&mut lines, CaseloadSort::Name, false, &workers);
        assert_eq!(numbers(&lines), [2, 3, 1]);
        sort_lines(&mut lines, CaseloadSort::Name, true, &workers);
        assert_eq!(numbers(&lines), [1, 3, 2]);
    }

    #[test]
    fn missing_values_come_last_both_ways() {
        let mut lines = vec![
            line(1, "A", None, None),
            line(2, "B", Some("1990-01-01"), None),
            line(3, "C", Some("1980-05-05"), None),
        ];
        let workers = BTreeMap::new();
        sort_lines(&mut lines, CaseloadSort::BirthDate, false, &workers);
        assert_eq!(numbers(&lines), [3, 2, 1]);
        sort_lines(&mut lines, CaseloadSort::BirthDate, true, &workers);
        assert_eq!(numbers(&lines), [2, 3, 1]);
    }

    #[test]
    fn sorts_by_key_worker_handle_and_by_case() {
        let workers = BTreeMap::from([
            (Uuid::from_u128(7), "zed".to_owned()),
            (Uuid::from_u128(8), "amy".to_owned()),
        ]);
        let mut lines = vec![
            line(1, "A", None, Some(7)),
            line(2, "B", None, None),
            line(3, "C", None, Some(8)),
        ];
        sort_lines(&mut lines, CaseloadSort::KeyWorker, false, &workers);
        assert_eq!(numbers(&lines), [3, 1, 2]);
        sort_lines(&mut lines, CaseloadSort::Status, false, &workers);
        // Open (even numbers) first, then no case; names break the tie.
        assert_eq!(numbers(&lines), [2, 1, 3]);
        sort_lines(&mut lines, CaseloadSort::RecordNumber, true, &workers);
        assert_eq!(numbers(&lines), [3, 2, 1]);
    }

    fn default_query() -> CaseloadQuery {
        CaseloadQuery {
            of: CaseloadOf::Mine,
            status: None,
            sort: CaseloadSort::Name,
            descending: false,
        }
    }

    #[test]
    fn a_query_from_an_address_names_the_part_it_does_not_know() {
        assert_eq!(CaseloadQuery::parse("", "", "", ""), Ok(default_query()));
        assert_eq!(
            CaseloadQuery::parse("mine", "any", "name", "asc"),
            Ok(default_query())
        );
        let id = Uuid::from_u128(7);
        assert_eq!(
            CaseloadQuery::parse(&format!("worker-{id}"), "open", "last_contact", "desc"),
            Ok(CaseloadQuery {
                of: CaseloadOf::Worker(id),
                status: Some(CaseStatus::Open),
                sort: CaseloadSort::LastContact,
                descending: true,
            })
        );
        let team = CaseloadOf::Team(id);
        assert_eq!(CaseloadOf::from_code(&team.code()), Some(team));
        for (of, status, sort, order, field) in [
            ("someone", "", "", "", "of"),
            ("worker-7", "", "", "", "of"),
            ("team-", "", "", "", "of"),
            ("", "shut", "", "", "status"),
            ("", "", "surname", "", "sort"),
            ("", "", "", "up", "order"),
        ] {
            let err = CaseloadQuery::parse(of, status, sort, order).expect_err(field);
            assert_eq!(err.0[0].field, field);
        }
    }
}
