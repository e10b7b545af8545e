//! People supported by a service: create, read, update, list, find by identifier (destroying a
//! record is `crate::keeping`'s).
//!
//! Guarantees:
//! - Input is parsed field by field into the identifier types; every invalid field is reported by name
//!   (never by value) and nothing is written.
//! - Each value is sealed with the person's own data key for its exact place (`person_field`, field
//!   code, person id, key version); identifiers are findable only through blind indexes.
//! - Each operation is authorized by the policy and audited in the same transaction; a refusal is
//!   audited and answers exactly like a missing record.
//!
//! Here: a person's record as opened and the use cases on it (create, read, update, assign,
//! access history). Beside it: `error.rs` (the area's error and its field violations),
//! `input.rs` (parsing a client's fields into the identifier types), `permits.rs` (asking the
//! policy about a person or a service), `sealing.rs` (sealing, opening and indexing a person's
//! fields), `search.rs` (lists, look-ups by identifier, name search) and `duplicates.rs` (who a
//! person being added may already be).

mod caseload;
mod diary;
mod duplicates;
mod error;
mod input;
mod merge;
mod overview;
mod permits;
mod sealing;
mod search;

pub use caseload::{
    Caseload, CaseloadCounts, CaseloadLine, CaseloadOf, CaseloadQuery, CaseloadSort, MAX_CASELOAD,
    ReferredLine, sort_lines,
};
pub use diary::{Diary, DiaryLine, MAX_DIARY};
pub use duplicates::{DUPLICATE_INDEXES, DuplicateCheck, DuplicateMatch};
pub use error::{PersonError, Violation, Violations};
pub use input::PersonInput;
use input::parse_field;
pub(crate) use input::{Canonical, canonical, first_carer, parse_input, parse_value};
pub use merge::MergePreview;
pub use overview::{MAX_HISTORY, PersonOverview};

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use confidant_crypto::FieldAddress;
use confidant_policy::{Action, Permit, Resource};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::access::PersonAccess;
use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::field::{IndexField, PersonField};
use crate::organisation::micros;
use crate::sharing::Referred;
use crate::store::{ChangeStamp, FieldChange, Store};
use crate::{Clock, Confidant};

const SEALED_TABLE: &str = "person_field";
const FIRST_KEY_VERSION: i64 = 1;
/// The longest page a list returns.
pub const MAX_PAGE: u32 = 200;
/// The most people a name search returns.
pub const MAX_SEARCH: usize = 100;
/// The most candidates a name search looks at (in pages of [`SEARCH_PAGE`]).
const MAX_CANDIDATES: usize = 2000;
/// Name search candidates read at a time.
const SEARCH_PAGE: u32 = 200;

/// A person's record, opened. Prints no values.
#[derive(Clone)]
pub struct Person {
    pub id: Uuid,
    pub service_id: Uuid,
    /// The short number of the record in its service (0 in the answer to creating it).
    pub record_number: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    values: BTreeMap<PersonField, String>,
    /// How much of the record the reader sees.
    pub view: RecordView,
    /// For [`RecordView::Referred`]: the fields the referrals sent.
    referred: BTreeSet<PersonField>,
}

/// Only a person's name, for a page's heading (a projection: nothing else of the record is opened).
/// Prints no values.
#[derive(Clone)]
pub struct PersonHeading {
    pub id: Uuid,
    pub service_id: Uuid,
    given: Option<String>,
    family: Option<String>,
}

impl PersonHeading {
    /// The name as a heading shows it: given name, then family name.
    pub fn full(&self) -> String {
        format!(
            "{} {}",
            self.given.as_deref().unwrap_or_default(),
            self.family.as_deref().unwrap_or_default()
        )
    }
}

impl fmt::Debug for PersonHeading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersonHeading")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// How much of a record a reader sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordView {
    /// Everything their permit reaches.
    Whole,
    /// A processor's worker: only what their live referrals sent (some of the person's fields, and
    /// the entries sent). Nothing else of the record exists for them: no related people, cases,
    /// documents, consents, contact preferences, history or access history.
    Referred,
}

impl Person {
    pub fn get(&self, field: PersonField) -> Option<&str> {
        self.values.get(&field).map(String::as_str)
    }

    /// Whether the reader sees (and may change) this field at all: a processor's worker only the
    /// fields their referrals sent.
    pub fn shows(&self, field: PersonField) -> bool {
        match self.view {
            RecordView::Whole => true,
            RecordView::Referred => self.referred.contains(&field),
        }
    }
}

impl fmt::Debug for Person {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Person")
            .field("id", &self.id)
            .field("service_id", &self.service_id)
            .field(
                "fields",
                &self.values.keys().map(|k| k.code()).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// What a reader may see of an opened record: a processor's worker (`referred` is what their live
/// referrals sent) only those fields. Every answer that carries a person's fields (reads and the
/// answers to writes) goes through here.
fn project(referred: Option<&Referred>, mut person: Person) -> Person {
    if let Some(referred) = referred {
        person
            .values
            .retain(|field, _| referred.fields.contains(field));
        person.view = RecordView::Referred;
        person.referred = referred.fields.clone();
    }
    person
}

pub(crate) fn from_micros(m: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(m) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn address<'a>(field: PersonField, row_id: &'a str, key_version: i64) -> FieldAddress<'a> {
    FieldAddress {
        table: SEALED_TABLE,
        column: field.code(),
        row_id,
        key_version: u32::try_from(key_version).unwrap_or(u32::MAX),
    }
}

/// The normalised inputs of every blind index, from the full set of current values: an update
/// recomputes them all, because the date-of-birth-and-family-name index needs both parts.
fn index_sources(current: &BTreeMap<PersonField, Canonical>) -> Vec<(IndexField, Option<String>)> {
    let index_of = |f: PersonField| current.get(&f).and_then(|c| c.index.clone());
    let birth_family = match (
        current.get(&PersonField::DateOfBirth),
        index_of(PersonField::FamilyName),
    ) {
        (Some(dob), Some(family)) => Some(format!("{}|{family}", dob.stored)),
        _ => None,
    };
    vec![
        (IndexField::NhsNumber, index_of(PersonField::NhsNumber)),
        (IndexField::NiNumber, index_of(PersonField::NiNumber)),
        (IndexField::Postcode, index_of(PersonField::Postcode)),
        (IndexField::Phone, index_of(PersonField::Phone)),
        (IndexField::Email, index_of(PersonField::Email)),
        (IndexField::BirthAndFamilyName, birth_family),
    ]
}

/// A look-up by identifier: which index, and the value to look for.
#[derive(Clone)]
pub struct Lookup {
    pub field: IndexField,
    pub value: String,
}

impl fmt::Debug for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Lookup({}, [redacted])", self.field.code())
    }
}

/// One line of a list: the person's id and names.
#[derive(Clone)]
pub struct PersonSummary {
    pub id: Uuid,
    pub given_name: String,
    pub family_name: String,
}

impl fmt::Debug for PersonSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonSummary({}, [redacted])", self.id)
    }
}

/// The access a permit decided on a person gives. A permit on anything else reaches no one: to the
/// use case asking, the person is not there.
pub(crate) fn access_of(permit: &Permit) -> Result<PersonAccess, PersonError> {
    PersonAccess::granted(permit).ok_or(PersonError::NotFound)
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// Creates a person in a service, unless someone in the actor's scope may already be them
    /// ([`Self::create_person_with`] with [`DuplicateCheck::Warn`]).
    pub async fn create_person(
        &self,
        actor: &Principal,
        purpose: Purpose,
        service_id: Uuid,
        input: &PersonInput,
    ) -> Result<Person, PersonError> {
        self.create_person_with(actor, purpose, service_id, input, DuplicateCheck::Warn)
            .await
    }

    /// Creates a person in a service. With [`DuplicateCheck::Warn`], a person whom someone in the
    /// actor's scope may already be (see `duplicates.rs`) is refused with
    /// [`PersonError::PossibleDuplicates`], and nothing is written but the audited look-up; with
    /// [`DuplicateCheck::Confirmed`] (the caller says this is a different person) nobody is
    /// looked up.
    pub async fn create_person_with(
        &self,
        actor: &Principal,
        purpose: Purpose,
        service_id: Uuid,
        input: &PersonInput,
        check: DuplicateCheck,
    ) -> Result<Person, PersonError> {
        let now = self.clock.now();
        let resource = self
            .service_resource(actor, Action::PersonCreate, service_id, purpose)
            .await?;
        let Resource::Service {
            organisation_id, ..
        } = resource
        else {
            return Err(PersonError::NotFound);
        };
        let id = Uuid::now_v7();
        // Authorize the creation of exactly this person in exactly this service.
        let permit = self
            .person_permit(
                actor,
                Action::PersonCreate,
                Resource::Service {
                    id: service_id,
                    organisation_id,
                },
                purpose,
            )
            .await?;
        // Checked only once the actor may create here: the answer would tell a stranger what the
        // service collects. Invalid input writes nothing.
        let groups = self.service_config(service_id).await?.field_groups;
        let parsed = parse_input(input, now.date(), true, &groups).map_err(PersonError::Invalid)?;
        let current: BTreeMap<PersonField, Canonical> = parsed
            .into_iter()
            .filter_map(|(f, v)| v.map(|v| (f, v)))
            .collect();
        if check == DuplicateCheck::Warn {
            let matches = self
                .possible_duplicates(actor, purpose, resource, &current)
                .await?;
            if !matches.is_empty() {
                return Err(PersonError::PossibleDuplicates(matches));
            }
        }
        // Whoever records a person starts by looking after them: in services scoped by team or
        // caseload the person would otherwise be out of sight of the very practitioner who added
        // them. A manager can reassign (`assign_person`).
        let (team_id, key_worker_id) = first_carer(actor, service_id);
        let (sealed, indexes, wrapped) =
            self.seal_new_person(id, service_id, (team_id, key_worker_id), &current, now);
        let audit = AuditDraft::permitted(&permit, purpose, now).about(id);
        let record_number = self
            .store
            .create_person(&sealed, &indexes, &wrapped, audit)
            .await?;
        Ok(Person {
            id,
            service_id,
            record_number,
            created_at: from_micros(sealed.created_at_micros),
            updated_at: from_micros(sealed.updated_at_micros),
            values: current.into_iter().map(|(f, c)| (f, c.stored)).collect(),
            view: RecordView::Whole,
            referred: BTreeSet::new(),
        })
    }

    /// Only a person's name, for a page's heading: the same permit and `person.read` event as
    /// [`Self::read_person`] (a heading shows part of the record), with only the name's two fields
    /// opened, and of those only what a processor's referral sent.
    pub async fn person_name(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<PersonHeading, PersonError> {
        let (mut sealed, wrapped, permit) = self.read_sealed(actor, purpose, person_id).await?;
        sealed
            .fields
            .retain(|(f, _)| matches!(f, PersonField::GivenName | PersonField::FamilyName));
        let person = self.open_person(&sealed, &wrapped)?;
        let referred = self.referred_scope(&permit, person_id).await?;
        let person = project(referred.as_ref(), person);
        Ok(PersonHeading {
            id: person.id,
            service_id: person.service_id,
            given: person.get(PersonField::GivenName).map(str::to_owned),
            family: person.get(PersonField::FamilyName).map(str::to_owned),
        })
    }

    /// Reads a person's record.
    pub async fn read_person(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<Person, PersonError> {
        let (sealed, wrapped, permit) = self.read_sealed(actor, purpose, person_id).await?;
        let person = self.open_person(&sealed, &wrapped)?;
        let referred = self.referred_scope(&permit, person_id).await?;
        Ok(project(referred.as_ref(), person))
    }

    /// Changes a person's record: fields given replace the stored ones, an empty optional field clears
    /// it. The record is first read (audited as a read, because it is decrypted to recompute the blind
    /// indexes); the write is refused as a conflict if the record changed in between.
    pub async fn update_person(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        input: &PersonInput,
    ) -> Result<Person, PersonError> {
        let now = self.clock.now();
        let resource = self
            .person_resource(actor, Action::PersonUpdate, person_id, purpose)
            .await?;
        let Resource::Person { service_id, .. } = resource else {
            return Err(PersonError::NotFound);
        };
        // The permit first: a record the actor may not change answers "not found" (audited)
        // whatever the input, so invalid input cannot tell that the record exists.
        let permit = self
            .person_permit_referred(actor, Action::PersonUpdate, resource, purpose)
            .await?;
        let groups = self.service_config(service_id).await?.field_groups;
        let changes =
            parse_input(input, now.date(), false, &groups).map_err(PersonError::Invalid)?;
        // A processor's worker changes only the fields referred to their processor.
        let referred = self.referred_scope(&permit, person_id).await?;
        if let Some(referred) = &referred
            && changes
                .iter()
                .any(|(field, _)| !referred.fields.contains(field))
        {
            return Err(PersonError::Invalid(Violations(vec![Violation::new(
                "fields",
                "holds a field outside what was referred to your processor",
            )])));
        }
        let (sealed, wrapped, _) = self.read_sealed(actor, purpose, person_id).await?;
        let before = self.open_person(&sealed, &wrapped)?;
        if changes.is_empty() {
            return Ok(project(referred.as_ref(), before));
        }
        // Stored values were valid when written; parsing them again gives their index forms. A date of
        // birth is checked against the later of today and the record's creation day.
        let mut current = BTreeMap::new();
        for (field, value) in &before.values {
            let canonical = parse_field(*field, value, now.date().max(before.created_at.date()))
                .unwrap_or(Canonical {
                    stored: value.clone(),
                    index: None,
                });
            current.insert(*field, canonical);
        }
        let key = self.keys.data_key(&wrapped)?;
        let row_id = person_id.to_string();
        let mut field_changes: Vec<FieldChange> = Vec::new();
        for (field, change) in changes {
            // Setting a value to what it already is changes nothing, so leaves no history.
            let unchanged = match (&change, current.get(&field)) {
                (Some(c), Some(old)) => c.stored == old.stored,
                (None, None) => true,
                _ => false,
            };
            if unchanged {
                continue;
            }
            match change {
                Some(c) => {
                    field_changes.push((
                        field,
                        Some(key.seal(
                            &address(field, &row_id, sealed.key_version),
                            c.stored.as_bytes(),
                        )),
                    ));
                    current.insert(field, c);
                }
                None => {
                    field_changes.push((field, None));
                    current.remove(&field);
                }
            }
        }
        if field_changes.is_empty() {
            return Ok(project(referred.as_ref(), before));
        }
        let indexes = self.digests(index_sources(&current));
        let names_changed = field_changes
            .iter()
            .any(|(f, _)| matches!(f, PersonField::GivenName | PersonField::FamilyName));
        let grams = names_changed.then(|| self.name_grams(service_id, &current));
        // A correction of what was disclosed is told to its recipients (Art. 19): a task for each,
        // opened with the change.
        let corrected: Vec<&str> = field_changes.iter().map(|(f, _)| f.code()).collect();
        let mut audit = AuditDraft::permitted(&permit, purpose, now);
        for task in self.tasks_to_tell(&permit, purpose, &corrected).await? {
            audit = audit.opens(task);
        }
        let stamp = ChangeStamp {
            by: actor.audit_id(),
            at_micros: micros(now),
        };
        let updated = self
            .store
            .update_person(
                &access_of(&permit)?,
                &field_changes,
                &indexes,
                grams.as_deref(),
                sealed.updated_at_micros,
                &stamp,
                audit,
            )
            .await?;
        if !updated {
            return Err(PersonError::NotFound);
        }
        let after = Person {
            updated_at: now,
            values: current.into_iter().map(|(f, c)| (f, c.stored)).collect(),
            ..before
        };
        Ok(project(referred.as_ref(), after))
    }

    /// Where a person sits and where they could be put, for the service's managers
    /// (`person.assign`): their team and key worker now, the service's teams and the active staff
    /// who work in it (ids, names of teams and staff handles: nothing of the person).
    pub async fn assignment_options(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<AssignmentOptions, PersonError> {
        let resource = self
            .person_resource(actor, Action::PersonAssign, person_id, purpose)
            .await?;
        self.person_permit(actor, Action::PersonAssign, resource, purpose)
            .await?;
        let Resource::Person {
            service_id,
            organisation_id,
            team_id,
            key_worker_id,
            ..
        } = resource
        else {
            return Err(PersonError::NotFound);
        };
        let workers = self
            .store
            .staff_of(organisation_id)
            .await?
            .into_iter()
            .filter(|s| s.disabled_at_micros.is_none() && s.service_id == Some(service_id))
            .collect();
        Ok(AssignmentOptions {
            team_id,
            key_worker_id,
            teams: self.store.teams(service_id).await?,
            workers,
        })
    }

    /// Puts a person in a team and gives them a key worker (both optional; `None` clears). The team
    /// must belong to the person's service and the key worker work in it.
    pub async fn assign_person(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        team_id: Option<Uuid>,
        key_worker_id: Option<Uuid>,
    ) -> Result<(), PersonError> {
        let resource = self
            .person_resource(actor, Action::PersonAssign, person_id, purpose)
            .await?;
        let permit = self
            .person_permit(actor, Action::PersonAssign, resource, purpose)
            .await?;
        let Resource::Person { service_id, .. } = resource else {
            return Err(PersonError::NotFound);
        };
        let mut violations = Vec::new();
        if let Some(t) = team_id
            && self.store.team(t).await?.map(|t| t.service_id) != Some(service_id)
        {
            violations.push(Violation::new(
                "team_id",
                "is not a team of the person's service",
            ));
        }
        if let Some(k) = key_worker_id
            && self
                .store
                .staff(k)
                .await?
                .filter(|s| s.disabled_at_micros.is_none())
                .and_then(|s| s.service_id)
                != Some(service_id)
        {
            violations.push(Violation::new(
                "key_worker_id",
                "is not a member of staff of the person's service",
            ));
        }
        if !violations.is_empty() {
            return Err(PersonError::Invalid(Violations(violations)));
        }
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now());
        if self
            .store
            .assign_person(&access_of(&permit)?, team_id, key_worker_id, audit)
            .await?
        {
            Ok(())
        } else {
            Err(PersonError::NotFound)
        }
    }

    /// Who has accessed a person's record, newest first: ids, actions, purposes and times from the
    /// audit log. Open to those who may read the record and to the organisation's auditors, DPO and
    /// Caldicott Guardian; reading it is itself recorded.
    pub async fn access_history(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        limit: u32,
    ) -> Result<Vec<crate::audit::AuditEvent>, PersonError> {
        let resource = self
            .person_resource(actor, Action::AuditRead, person_id, purpose)
            .await?;
        let permit = match self
            .authorizer
            .authorize(actor, Action::AuditRead, resource)
        {
            Ok(p) => p,
            Err(_) => {
                self.person_permit(actor, Action::PersonRead, resource, purpose)
                    .await?
            }
        };
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now()).named("audit.read");
        self.store.record_access(audit).await?;
        Ok(self
            .store
            .audit_events_for_subject(person_id, limit.clamp(1, 500))
            .await?)
    }
}

/// Where a person sits and where they could be put ([`Confidant::assignment_options`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentOptions {
    pub team_id: Option<Uuid>,
    pub key_worker_id: Option<Uuid>,
    pub teams: Vec<crate::store::Team>,
    pub workers: Vec<crate::store::StaffRecord>,
}
