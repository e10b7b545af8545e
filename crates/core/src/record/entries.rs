//! The parts of a person's record beyond their own fields: cases, entries (case notes and contacts,
//! support plans and goals, appointments, paper notes and archived paper files), the correction
//! history, and the export of a whole record.
//!
//! Guarantees:
//! - Every value is checked against its catalogue declaration ([`crate::field::RECORD_FIELDS`]) and
//!   sealed with the person's own key for its exact place (`record_field`, field code, entry id, key
//!   version): shredding the person makes their entries unreadable too.
//! - Reads need `person.read` and changes `person.update` on the person (so the need-to-know rules
//!   of F2 apply unchanged); each is audited in the same transaction under its own event code
//!   (`note.create`, `case.close`…).
//! - A change keeps the value it replaces, still sealed, with who changed it and when.
//! - A person has at most one open case per service (a partial unique index), and a case closes
//!   once: of callers racing to open or close, one wins and the others get `Conflict`.
//! - An export of a record holds only what may leave it (never a victim's safe contact details) and
//!   nothing of any other record, even one that names this person.

use std::collections::BTreeMap;
use std::fmt;

use confidant_crypto::{CryptoError, DataKey, FieldAddress};
use confidant_policy::{Action, Actor, Permit, Resource};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::access::{PersonAccess, Principal};
use crate::audit::{AuditDraft, Purpose};
use crate::field::{
    Classification, PersonField, RecordKind, ValueKind, record_field, record_fields,
};
use crate::organisation::micros;
use crate::person::access_of;
use crate::person::{PersonError, Violation, Violations, from_micros, parse_value};
use crate::sharing::Referred;
use crate::store::{
    CaseRecord, ChangeStamp, ClosureReason, ContactType, DisclosedItem, EntryRecord, EntryStatus,
    FieldVersion, NoteFlags, SealedChange, SealedFields, Store, WrappedDataKey,
};
use crate::{Clock, Confidant};

pub(crate) const RECORD_TABLE: &str = "record_field";

/// What a page or answer is about to do with a person's record, checked by
/// [`Confidant::check_need`] before anything of it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Read a part a processor's referral never sends (related people, cases, documents,
    /// consents, contact preferences, sharing, history).
    Read,
    /// Change or add to any such part.
    Change,
    /// Read the person's fields or entries, as far as a processor's referral sent them.
    ReadReferred,
    /// Change the person's fields, as far as a processor's referral sent them.
    ChangeReferred,
    /// Change one entry (a processor's worker: only one their referral sent).
    ChangeEntry(Uuid),
    /// Share from the record, or ask for an approval to (never under break-the-glass or a
    /// trustee's matter, never by a processor's worker).
    Share,
}

impl Need {
    /// Whether the need is a change (break-the-glass and a trustee's matter are read-only).
    pub fn changes(self) -> bool {
        matches!(
            self,
            Need::Change | Need::ChangeReferred | Need::ChangeEntry(_)
        )
    }

    fn action(self) -> Action {
        match self {
            Need::Share => Action::PersonShare,
            _ if self.changes() => Action::PersonUpdate,
            _ => Action::PersonRead,
        }
    }

    /// Whether a processor's live referral may meet the need (the use case then keeps to what
    /// the referral sent).
    fn referable(self) -> bool {
        matches!(
            self,
            Need::ReadReferred | Need::ChangeReferred | Need::ChangeEntry(_)
        )
    }
}

/// Opened values of a record (field code → value). Prints no values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Values(BTreeMap<&'static str, String>);

impl Values {
    pub fn get(&self, code: &str) -> Option<&str> {
        self.0.get(code).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(k, v)| (*k, v.as_str()))
    }

    pub(crate) fn insert(&mut self, code: &'static str, value: String) {
        self.0.insert(code, value);
    }
}

impl fmt::Debug for Values {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Values({:?}, [redacted])", self.0.keys())
    }
}

/// Raw input for a record's fields, by catalogue code, as a form or the API gives it.
#[derive(Clone, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct RecordInput(pub BTreeMap<String, String>);

impl fmt::Debug for RecordInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordInput({:?}, [redacted])", self.0.keys())
    }
}

impl RecordInput {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, code: &str, value: impl Into<String>) -> Self {
        self.0.insert(code.to_owned(), value.into());
        self
    }
}

pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> PersonError {
    PersonError::Invalid(Violations(vec![Violation::new(field, message)]))
}

/// Checks input for one kind of record against the catalogue: unknown codes are refused, each value
/// is parsed by its kind, `required` codes must be present and not blank; a blank optional value is
/// left out (on update: removed). Every problem is reported, by field name only.
pub(crate) fn parse_record(
    kind: RecordKind,
    input: &RecordInput,
    required: &[&str],
    parse_identifier: &dyn Fn(&'static str, &str) -> Result<String, Violation>,
) -> Result<BTreeMap<&'static str, Option<String>>, Violations> {
    let mut parsed = BTreeMap::new();
    let mut violations = Vec::new();
    if input.0.keys().any(|c| record_field(kind, c).is_none()) {
        violations.push(Violation::new(
            "fields",
            "holds a field code the catalogue does not have for this record",
        ));
    }
    for spec in record_fields(kind) {
        let raw = input.0.get(spec.code).map(|s| s.trim());
        match raw {
            None | Some("") if required.contains(&spec.code) => {
                violations.push(Violation::new(
                    spec.code,
                    format!("{} is required", spec.code),
                ));
            }
            None => {}
            Some("") => {
                parsed.insert(spec.code, None);
            }
            Some(raw) => {
                let value = match spec.kind {
                    ValueKind::Identifier => parse_identifier(spec.code, raw),
                    _ => parse_value(spec, raw).map_err(Violation::from),
                };
                match value {
                    Ok(v) => {
                        parsed.insert(spec.code, Some(v));
                    }
                    Err(v) => violations.push(v),
                }
            }
        }
    }
    if violations.is_empty() {
        Ok(parsed)
    } else {
        Err(Violations(violations))
    }
}

/// Record kinds have no identifier-kind fields except referrals, which parse their own.
pub(crate) fn no_identifiers(field: &'static str, _: &str) -> Result<String, Violation> {
    Err(Violation::new(field, "cannot be set here"))
}

fn address<'a>(code: &'a str, row_id: &'a str, key_version: i64) -> FieldAddress<'a> {
    FieldAddress {
        table: RECORD_TABLE,
        column: code,
        row_id,
        key_version: u32::try_from(key_version).unwrap_or(u32::MAX),
    }
}

/// Seals values for one record.
pub(crate) fn seal_values<'a>(
    key: &DataKey,
    record_id: Uuid,
    key_version: i64,
    values: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> SealedFields {
    let row_id = record_id.to_string();
    values
        .into_iter()
        .map(|(code, value)| {
            (
                code.to_owned(),
                key.seal(&address(code, &row_id, key_version), value.as_bytes()),
            )
        })
        .collect()
}

/// Opens one sealed value of a record.
pub(crate) fn open_value(
    key: &DataKey,
    record_id: Uuid,
    key_version: i64,
    code: &str,
    sealed: &[u8],
) -> Result<String, CryptoError> {
    let plain = key.open(&address(code, &record_id.to_string(), key_version), sealed)?;
    String::from_utf8(plain.to_vec()).map_err(|_| CryptoError::Malformed)
}

/// Opens a record's sealed values; a code the catalogue does not have for `kind` is damage.
pub(crate) fn open_values(
    kind: RecordKind,
    key: &DataKey,
    record_id: Uuid,
    key_version: i64,
    sealed: &SealedFields,
) -> Result<Values, CryptoError> {
    let mut values = Values::default();
    for (code, bytes) in sealed {
        let spec = record_field(kind, code).ok_or(CryptoError::Malformed)?;
        values.insert(
            spec.code,
            open_value(key, record_id, key_version, code, bytes)?,
        );
    }
    Ok(values)
}

/// A case, as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub id: Uuid,
    pub service_id: Uuid,
    pub key_worker_id: Option<Uuid>,
    pub opened_at: OffsetDateTime,
    pub closed_at: Option<OffsetDateTime>,
    pub closure_reason: Option<ClosureReason>,
}

impl From<CaseRecord> for Case {
    fn from(c: CaseRecord) -> Self {
        Case {
            id: c.id,
            service_id: c.service_id,
            key_worker_id: c.key_worker_id,
            opened_at: from_micros(c.opened_at_micros),
            closed_at: c.closed_at_micros.map(from_micros),
            closure_reason: c.closure_reason,
        }
    }
}

/// An entry of a record, opened.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: Uuid,
    pub kind: RecordKind,
    pub case_id: Option<Uuid>,
    pub parent_id: Option<Uuid>,
    pub contact_type: Option<ContactType>,
    pub occurs_at: OffsetDateTime,
    pub status: Option<EntryStatus>,
    pub due_at: Option<OffsetDateTime>,
    pub flags: NoteFlags,
    pub author: String,
    pub updated_at: OffsetDateTime,
    pub values: Values,
}

/// What a new entry is: its kind and the metadata that goes with it.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub kind: RecordKind,
    pub case_id: Option<Uuid>,
    /// A goal's plan.
    pub parent_id: Option<Uuid>,
    /// A note's contact type (required for notes).
    pub contact_type: Option<ContactType>,
    /// When it happened or happens (now if `None`).
    pub occurs_at: Option<OffsetDateTime>,
    /// Where it starts (the kind's first status if `None`).
    pub status: Option<EntryStatus>,
    /// When paper must be destroyed (required for archived paper files).
    pub due_at: Option<OffsetDateTime>,
    pub flags: NoteFlags,
    pub values: RecordInput,
}

/// A change to an entry: a new status, due date, or values (blank removes an optional one).
#[derive(Debug, Clone, Default)]
pub struct EntryChange {
    pub status: Option<EntryStatus>,
    pub due_at: Option<OffsetDateTime>,
    pub values: RecordInput,
}

/// The fields an entry of each kind must have.
fn required_fields(kind: RecordKind) -> &'static [&'static str] {
    match kind {
        RecordKind::Note => &["body"],
        RecordKind::Plan | RecordKind::Goal | RecordKind::Appointment => &["title"],
        RecordKind::PaperNote => &["description"],
        RecordKind::PaperFile => &["description", "location"],
        _ => &[],
    }
}

/// One earlier value of a field, opened: what it was, who replaced it and when.
#[derive(Clone)]
pub struct Correction {
    pub record_id: Uuid,
    pub field: String,
    pub label: &'static str,
    pub old_value: String,
    pub changed_by: String,
    pub changed_at: OffsetDateTime,
}

impl fmt::Debug for Correction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Correction({}, {}, [redacted])",
            self.record_id, self.field
        )
    }
}

/// Everything of one person's record that may leave it: what a record export holds. Withheld, as
/// an access request's review (a later issue) must decide on them: a victim's safe contact
/// details, third parties' details (related people appear by relationship only, and who supplied a
/// note is left out), and notes flagged as identifying a complainant or as could cause serious
/// harm (counted in `withheld_notes`).
#[derive(Clone)]
pub struct RecordExport {
    pub person_id: Uuid,
    /// The person's own fields that may leave the record (never safe contact details).
    pub fields: Vec<(PersonField, String)>,
    pub cases: Vec<Case>,
    pub entries: Vec<Entry>,
    /// Related people of this record, by relationship: their details are third-party data.
    pub related: Vec<crate::related::Related>,
    /// Documents: metadata only.
    pub documents: Vec<crate::document::Document>,
    /// Notes left out because of their flags.
    pub withheld_notes: usize,
    /// The disclosure log entry of this copy.
    pub disclosure_id: Uuid,
}

impl RecordExport {
    /// What the copy holds, as logged: the fields by code and value, the entries by id, kind and
    /// values, and the cases, related people (by relationship) and documents by id.
    pub(crate) fn summary_json(&self) -> serde_json::Value {
        let fields: serde_json::Map<String, serde_json::Value> = self
            .fields
            .iter()
            .map(|(f, v)| (f.code().to_owned(), v.clone().into()))
            .collect();
        let entries: Vec<serde_json::Value> = self
            .entries
            .iter()
            .map(|e| {
                let values: serde_json::Map<String, serde_json::Value> = e
                    .values
                    .iter()
                    .map(|(c, v)| (c.to_owned(), v.to_owned().into()))
                    .collect();
                serde_json::json!({ "id": e.id, "kind": e.kind.code(), "values": values })
            })
            .collect();
        let cases: Vec<serde_json::Value> = self
            .cases
            .iter()
            .map(|c| serde_json::json!({ "id": c.id, "service_id": c.service_id }))
            .collect();
        let related: Vec<serde_json::Value> = self
            .related
            .iter()
            .map(|r| serde_json::json!({ "id": r.id, "relationship": r.relationship.code() }))
            .collect();
        let documents: Vec<serde_json::Value> = self
            .documents
            .iter()
            .map(|d| serde_json::json!({ "id": d.id }))
            .collect();
        serde_json::json!({
            "person_id": self.person_id,
            "fields": fields,
            "entries": entries,
            "cases": cases,
            "related": related,
            "documents": documents,
            "withheld_notes": self.withheld_notes,
        })
    }
}

impl fmt::Debug for RecordExport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RecordExport({}, {} fields, {} entries, [redacted])",
            self.person_id,
            self.fields.len(),
            self.entries.len()
        )
    }
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// The permit for `action` on a person (a refusal is audited and answers "not found").
    pub(crate) async fn permit_on_person(
        &self,
        actor: &Actor,
        action: Action,
        person_id: Uuid,
        purpose: Purpose,
    ) -> Result<(Permit, Resource), PersonError> {
        let resource = self
            .person_resource(actor, action, person_id, purpose)
            .await?;
        let permit = self.person_permit(actor, action, resource, purpose).await?;
        Ok((permit, resource))
    }

    /// As [`Self::permit_on_person`], and a processor's live referral may ground it; then what the
    /// referral sent comes with it, and the caller keeps to it.
    pub(crate) async fn permit_on_referred(
        &self,
        actor: &Actor,
        action: Action,
        person_id: Uuid,
        purpose: Purpose,
    ) -> Result<(Permit, Option<Referred>), PersonError> {
        let resource = self
            .person_resource(actor, action, person_id, purpose)
            .await?;
        let permit = self
            .person_permit_referred(actor, action, resource, purpose)
            .await?;
        let referred = self.referred_scope(&permit, person_id).await?;
        Ok((permit, referred))
    }

    /// Checks, before anything of the record is read, that the actor may do what a page or answer
    /// is about to do with it. Nothing is recorded when it may (the use case that follows records
    /// its own event); a refusal is audited and answers "not found", so a form for a change the
    /// actor could not make is never shown, and a section a processor's worker is never given is
    /// refused before the person's name is read for its caption.
    pub async fn check_need(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        need: Need,
    ) -> Result<(), PersonError> {
        let action = need.action();
        match need {
            Need::Read | Need::Change | Need::Share => {
                self.permit_on_person(actor, action, person_id, purpose)
                    .await?;
            }
            Need::ReadReferred | Need::ChangeReferred => {
                self.permit_on_referred(actor, action, person_id, purpose)
                    .await?;
            }
            Need::ChangeEntry(entry_id) => {
                let (permit, referred) = self
                    .permit_on_referred(actor, action, person_id, purpose)
                    .await?;
                if referred.is_some_and(|r| !r.entries.contains(&entry_id)) {
                    let audit = AuditDraft::permitted(&permit, purpose, self.clock.now())
                        .named("entry.update")
                        .refusal();
                    self.store.append_audit(audit).await?;
                    return Err(PersonError::NotFound);
                }
            }
        }
        Ok(())
    }

    /// Whether the actor could meet the need, to decide which actions a page offers. Nothing is
    /// recorded: this decides nothing, and the action is checked and audited when it is taken.
    /// A missing record answers `false`; for one entry, the answer is the record's.
    pub async fn may_need(
        &self,
        actor: &Principal,
        person_id: Uuid,
        need: Need,
    ) -> Result<bool, PersonError> {
        let Some(placement) = self.store.placement(person_id).await? else {
            return Ok(false);
        };
        let decided = self
            .try_person_permit(actor, need.action(), placement.resource(), need.referable())
            .await?;
        Ok(decided.is_ok())
    }

    /// The person's live data key, or "not found" when it was destroyed.
    pub(crate) async fn person_key(
        &self,
        permit: &Permit,
    ) -> Result<(DataKey, WrappedDataKey), PersonError> {
        let wrapped = self
            .store
            .person_key(&access_of(permit)?)
            .await?
            .ok_or(PersonError::NotFound)?;
        Ok((self.keys.data_key(&wrapped)?, wrapped))
    }

    // --- cases ---

    /// Opens a case for a person in their service, with a key worker of that service (optional).
    pub async fn open_case(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        key_worker_id: Option<Uuid>,
    ) -> Result<Case, PersonError> {
        let (permit, resource) = self
            .permit_on_person(actor, Action::PersonUpdate, person_id, purpose)
            .await?;
        let Resource::Person { service_id, .. } = resource else {
            return Err(PersonError::NotFound);
        };
        self.check_key_worker(service_id, key_worker_id).await?;
        let now = self.clock.now();
        let case = CaseRecord {
            id: Uuid::now_v7(),
            person_id,
            service_id,
            key_worker_id,
            opened_at_micros: micros(now),
            opened_by: actor.audit_id(),
            closed_at_micros: None,
            closed_by: None,
            closure_reason: None,
        };
        let audit = AuditDraft::permitted(&permit, purpose, now).named("case.open");
        self.store.open_case(&case, audit).await?;
        Ok(case.into())
    }

    pub(crate) async fn check_key_worker(
        &self,
        service_id: Uuid,
        key_worker_id: Option<Uuid>,
    ) -> Result<(), PersonError> {
        if let Some(k) = key_worker_id
            && self
                .store
                .staff(k)
                .await?
                .filter(|s| s.disabled_at_micros.is_none())
                .and_then(|s| s.service_id)
                != Some(service_id)
        {
            return Err(invalid(
                "key_worker_id",
                "is not a member of staff of the person's service",
            ));
        }
        Ok(())
    }

    /// Closes an open case with its reason; the closing date starts the retention clock.
    pub async fn close_case(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        case_id: Uuid,
        reason: ClosureReason,
    ) -> Result<Case, PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonUpdate, person_id, purpose)
            .await?;
        let case = self
            .store
            .case(case_id)
            .await?
            .filter(|c| c.person_id == person_id)
            .ok_or(PersonError::NotFound)?;
        if case.closed_at_micros.is_some() {
            return Err(PersonError::Conflict("the case is already closed"));
        }
        let now = self.clock.now();
        let stamp = ChangeStamp {
            by: actor.audit_id(),
            at_micros: micros(now),
        };
        let audit = AuditDraft::permitted(&permit, purpose, now).named("case.close");
        if !self
            .store
            .close_case(case_id, reason, &stamp, audit)
            .await?
        {
            return Err(PersonError::Conflict("the case is already closed"));
        }
        Ok(Case {
            closed_at: Some(now),
            closure_reason: Some(reason),
            ..case.into()
        })
    }

    /// A person's cases, newest first.
    pub async fn cases(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<Vec<Case>, PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonRead, person_id, purpose)
            .await?;
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now()).named("case.read");
        Ok(self
            .store
            .cases_of(&access_of(&permit)?, audit)
            .await?
            .into_iter()
            .map(Case::from)
            .collect())
    }

    // --- entries ---

    /// Adds an entry (a note, plan, goal, appointment, paper note or paper file) to a person's
    /// record.
    pub async fn add_entry(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        new: &NewEntry,
    ) -> Result<Entry, PersonError> {
        let now = self.clock.now();
        let kind = new.kind;
        let statuses = EntryStatus::of_kind(kind);
        if !matches!(
            kind,
            RecordKind::Note
                | RecordKind::Plan
                | RecordKind::Goal
                | RecordKind::Appointment
                | RecordKind::PaperNote
                | RecordKind::PaperFile
        ) {
            return Err(invalid("kind", "is not a kind of entry"));
        }
        let values = parse_record(kind, &new.values, required_fields(kind), &no_identifiers)
            .map_err(PersonError::Invalid)?;
        let mut violations = Vec::new();
        if kind == RecordKind::Note && new.contact_type.is_none() {
            violations.push(Violation::new("contact_type", "contact_type is required"));
        }
        if kind != RecordKind::Note && new.contact_type.is_some() {
            violations.push(Violation::new(
                "contact_type",
                "only a note has a contact type",
            ));
        }
        if kind != RecordKind::Note && new.flags != NoteFlags::default() {
            violations.push(Violation::new("flags", "only a note has these flags"));
        }
        if kind == RecordKind::Note
            && new.flags.third_party != values.get("supplied_by").is_some_and(Option::is_some)
        {
            violations.push(Violation::new(
                "supplied_by",
                "say who supplied a note exactly when it is marked as supplied by a third party",
            ));
        }
        if let Some(s) = new.status
            && !statuses.contains(&s)
        {
            violations.push(Violation::new(
                "status",
                "is not a status of this kind of entry",
            ));
        }
        if kind == RecordKind::PaperFile && new.due_at.is_none() {
            violations.push(Violation::new(
                "due_at",
                "an archived paper file needs its destruction date",
            ));
        }
        if (kind == RecordKind::Goal) != new.parent_id.is_some() {
            violations.push(Violation::new(
                "plan_id",
                "a goal, and only a goal, belongs to a plan",
            ));
        }
        if !violations.is_empty() {
            return Err(PersonError::Invalid(Violations(violations)));
        }
        let (permit, resource) = self
            .permit_on_person(actor, Action::PersonUpdate, person_id, purpose)
            .await?;
        if let Some(case_id) = new.case_id
            && self.store.case(case_id).await?.map(|c| c.person_id) != Some(person_id)
        {
            return Err(invalid("case_id", "is not a case of this person"));
        }
        if let Some(plan) = new.parent_id {
            let audit = AuditDraft::permitted(&permit, purpose, now).named("entry.read");
            let plans = self
                .store
                .entries_of(&access_of(&permit)?, &[RecordKind::Plan], audit)
                .await?;
            if !plans.iter().any(|(e, _)| e.id == plan) {
                return Err(invalid("plan_id", "is not a support plan of this person"));
            }
        }
        let _ = resource;
        self.check_contact_channel(person_id, new.contact_type)
            .await?;
        let (key, wrapped) = self.person_key(&permit).await?;
        let id = Uuid::now_v7();
        let present: Vec<(&str, &str)> = values
            .iter()
            .filter_map(|(c, v)| v.as_deref().map(|v| (*c, v)))
            .collect();
        let record = EntryRecord {
            id,
            person_id,
            kind,
            case_id: new.case_id,
            parent_id: new.parent_id,
            contact_type: new.contact_type,
            occurs_at_micros: micros(new.occurs_at.unwrap_or(now)),
            status: new.status.or_else(|| statuses.first().copied()),
            due_at_micros: new.due_at.map(micros),
            flags: new.flags,
            author: actor.audit_id(),
            key_version: wrapped.version,
            created_at_micros: micros(now),
            updated_at_micros: micros(now),
        };
        let sealed = seal_values(&key, id, wrapped.version, present.iter().copied());
        let audit = AuditDraft::permitted(&permit, purpose, now).named(entry_event(kind, "create"));
        self.store.create_entry(&record, &sealed, audit).await?;
        let mut opened = Values::default();
        for (code, value) in present {
            if let Some(spec) = record_field(kind, code) {
                opened.insert(spec.code, value.to_owned());
            }
        }
        Ok(entry_from(record, opened))
    }

    /// A person's entries of these kinds (every kind if empty), newest first.
    pub async fn entries(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        kinds: &[RecordKind],
    ) -> Result<Vec<Entry>, PersonError> {
        let (permit, referred) = self
            .permit_on_referred(actor, Action::PersonRead, person_id, purpose)
            .await?;
        let (key, _) = self.person_key(&permit).await?;
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now()).named("entry.read");
        let rows = self
            .store
            .entries_of(&access_of(&permit)?, kinds, audit)
            .await?;
        rows.into_iter()
            // A processor's worker sees only the entries their referrals sent.
            .filter(|(record, _)| {
                referred
                    .as_ref()
                    .is_none_or(|r| r.entries.contains(&record.id))
            })
            .map(|(record, sealed)| {
                let values =
                    open_values(record.kind, &key, record.id, record.key_version, &sealed)?;
                Ok(entry_from(record, values))
            })
            .collect()
    }

    /// Changes an entry: its status, due date, or values; replaced values go to its history.
    pub async fn update_entry(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        entry_id: Uuid,
        change: &EntryChange,
    ) -> Result<Entry, PersonError> {
        let (permit, referred) = self
            .permit_on_referred(actor, Action::PersonUpdate, person_id, purpose)
            .await?;
        let now = self.clock.now();
        // A processor's worker changes only an entry their referrals sent; any other answers as
        // one that does not exist.
        if referred.is_some_and(|r| !r.entries.contains(&entry_id)) {
            let audit = AuditDraft::permitted(&permit, purpose, now)
                .named("entry.update")
                .refusal();
            self.store.append_audit(audit).await?;
            return Err(PersonError::NotFound);
        }
        let read = AuditDraft::permitted(&permit, purpose, now).named("entry.read");
        let (key, wrapped) = self.person_key(&permit).await?;
        let (record, sealed) = self
            .store
            .entries_of(&access_of(&permit)?, &[], read)
            .await?
            .into_iter()
            .find(|(e, _)| e.id == entry_id)
            .ok_or(PersonError::NotFound)?;
        let kind = record.kind;
        let parsed = parse_record(kind, &change.values, &[], &no_identifiers)
            .map_err(PersonError::Invalid)?;
        let mut violations = Vec::new();
        for code in required_fields(kind) {
            if matches!(parsed.get(code), Some(None)) {
                violations.push(Violation::new(
                    "fields",
                    format!("{code} cannot be removed"),
                ));
            }
        }
        if let Some(s) = change.status
            && !EntryStatus::of_kind(kind).contains(&s)
        {
            violations.push(Violation::new(
                "status",
                "is not a status of this kind of entry",
            ));
        }
        if !violations.is_empty() {
            return Err(PersonError::Invalid(Violations(violations)));
        }
        let mut values = open_values(kind, &key, record.id, record.key_version, &sealed)?;
        let mut changes: Vec<SealedChange> = Vec::new();
        for (code, value) in &parsed {
            if values.get(code) == value.as_deref() {
                continue;
            }
            match value {
                Some(v) => {
                    let sealed =
                        seal_values(&key, entry_id, record.key_version, [(*code, v.as_str())]);
                    changes.extend(sealed.into_iter().map(|(c, s)| (c, Some(s))));
                    values.insert(code, v.clone());
                }
                None => {
                    changes.push(((*code).to_owned(), None));
                    values.0.remove(code);
                }
            }
        }
        let _ = wrapped;
        let stamp = ChangeStamp {
            by: actor.audit_id(),
            at_micros: micros(now),
        };
        let audit = AuditDraft::permitted(&permit, purpose, now).named(entry_event(kind, "update"));
        let updated = self
            .store
            .update_entry(
                entry_id,
                change.status,
                change.due_at.map(micros),
                &changes,
                record.updated_at_micros,
                &stamp,
                audit,
            )
            .await?;
        if !updated {
            return Err(PersonError::NotFound);
        }
        let mut entry = entry_from(record, values);
        entry.status = change.status.or(entry.status);
        entry.due_at = change.due_at.or(entry.due_at);
        entry.updated_at = now;
        Ok(entry)
    }

    /// The correction history of a person's record (their fields and their entries), oldest first:
    /// each earlier value, opened, with who replaced it and when.
    pub async fn corrections(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<Vec<Correction>, PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonRead, person_id, purpose)
            .await?;
        Self::not_for_processors(&permit)?;
        let (key, _) = self.person_key(&permit).await?;
        let now = self.clock.now();
        let audit = AuditDraft::permitted(&permit, purpose, now).named("history.read");
        let mut versions: Vec<(Option<RecordKind>, FieldVersion)> = self
            .store
            .field_history(person_id, audit.for_next_write())
            .await?
            .into_iter()
            .map(|v| (None, v))
            .collect();
        let entries_audit = AuditDraft::permitted(&permit, purpose, now).named("entry.read");
        for (entry, _) in self
            .store
            .entries_of(&access_of(&permit)?, &[], entries_audit)
            .await?
        {
            let history = self
                .store
                .field_history(entry.id, audit.for_next_write())
                .await?;
            versions.extend(history.into_iter().map(|v| (Some(entry.kind), v)));
        }
        let mut out = Vec::with_capacity(versions.len());
        for (kind, v) in versions {
            let (label, old_value) = match kind {
                None => {
                    let field = PersonField::from_code(&v.field).ok_or(CryptoError::Malformed)?;
                    let address = FieldAddress {
                        table: "person_field",
                        column: field.code(),
                        row_id: &person_id.to_string(),
                        key_version: u32::try_from(v.key_version).unwrap_or(u32::MAX),
                    };
                    let plain = key.open(&address, &v.value)?;
                    (
                        field.spec().label,
                        String::from_utf8(plain.to_vec()).map_err(|_| CryptoError::Malformed)?,
                    )
                }
                Some(kind) => {
                    let spec = record_field(kind, &v.field).ok_or(CryptoError::Malformed)?;
                    (
                        spec.label,
                        open_value(&key, v.record_id, v.key_version, &v.field, &v.value)?,
                    )
                }
            };
            out.push(Correction {
                record_id: v.record_id,
                field: v.field,
                label,
                old_value,
                changed_by: v.changed_by,
                changed_at: from_micros(v.changed_at_micros),
            });
        }
        out.sort_by_key(|c| c.changed_at);
        Ok(out)
    }

    /// Paper held for a service's people: paper notes awaiting transcription or destruction and
    /// archived files, soonest due first (ids, kinds, statuses and dates; the descriptions stay in
    /// each person's record). Like the service's list of people, it shows only the people within
    /// the actor's scope (team or caseload); those skipped are not refusals, so not audited.
    pub async fn paper_register(
        &self,
        actor: &Principal,
        purpose: Purpose,
        service_id: Uuid,
    ) -> Result<Vec<EntryRecord>, PersonError> {
        let resource = self
            .store
            .service(service_id)
            .await?
            .map(|s| Resource::Service {
                id: s.id,
                organisation_id: s.organisation_id,
            })
            .ok_or(PersonError::NotFound)?;
        let permit = self
            .person_permit(actor, Action::PersonList, resource, purpose)
            .await?;
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now()).named("paper.list");
        let mut in_scope: std::collections::HashMap<Uuid, bool> = Default::default();
        let mut register = Vec::new();
        for entry in self.store.paper_register(service_id, audit).await? {
            let visible = match in_scope.get(&entry.person_id) {
                Some(v) => *v,
                None => {
                    let v = self.within_scope(actor, entry.person_id).await?;
                    in_scope.insert(entry.person_id, v);
                    v
                }
            };
            if visible {
                register.push(entry);
            }
        }
        Ok(register)
    }

    /// Everything of a person's record that may leave it, for an export: their fields that may
    /// leave, cases, entries (minus flagged notes and third parties' details), related people by
    /// relationship only, and document metadata (see [`RecordExport`]). Built from this record alone: a record that names this person (as
    /// an alleged perpetrator, say) contributes nothing.
    pub async fn export_record(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<RecordExport, PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonRead, person_id, purpose)
            .await?;
        Self::not_for_processors(&permit)?;
        // An export is a disclosure (logged as given to the person themselves), not a read: it is
        // made only under the service's own access to the record. Break-the-glass is read-only, and a
        // trustee's matter is for oversight; the person's own copy comes through a rights request.
        if permit.grant().is_some() {
            let audit = AuditDraft::refused_under(&permit, purpose, self.clock.now())
                .named("person.export");
            self.store.append_audit(audit).await?;
            return Err(PersonError::Forbidden {
                code: "export_not_allowed",
                message: "a record is exported only under your service's own access to it; break-the-glass and a trustee's matter are read-only",
            });
        }
        let person = self.read_person(actor, purpose, person_id).await?;
        let fields = PersonField::ALL
            .into_iter()
            .filter(|f| f.spec().may_leave)
            .filter_map(|f| person.get(f).map(|v| (f, v.to_owned())))
            .collect();
        let mut entries = self.entries(actor, purpose, person_id, &[]).await?;
        let before = entries.len();
        entries.retain(|e| !(e.flags.serious_harm || e.flags.identifies_complainant));
        let withheld_notes = before - entries.len();
        for entry in &mut entries {
            entry.values.0.retain(|code, _| {
                record_field(entry.kind, code).is_some_and(|spec| {
                    spec.may_leave && spec.classification != Classification::ThirdParty
                })
            });
        }
        // Defence in depth: a victim is never linked into this record (refused when adding), but
        // were one there, nothing of them would leave with it.
        let mut related = self.related_people(actor, purpose, person_id).await?;
        let mut kept = Vec::with_capacity(related.len());
        for r in related {
            let victim = match r.linked_person_id {
                Some(linked) => {
                    self.store
                        .is_alleged_perpetrator_in(&PersonAccess::deciding(linked), person_id)
                        .await?
                }
                None => false,
            };
            if !victim {
                kept.push(r);
            }
        }
        related = kept;
        for r in &mut related {
            r.values = Values::default();
            r.linked_person_id = None;
        }
        let export = RecordExport {
            person_id,
            fields,
            cases: self.cases(actor, purpose, person_id).await?,
            entries,
            related,
            documents: self.documents(actor, purpose, person_id).await?,
            withheld_notes,
            disclosure_id: Uuid::nil(),
        };
        // Nothing leaves without a disclosure log entry: the copy is logged as given to the
        // person themselves, with exactly what it holds.
        let mut items: Vec<DisclosedItem> = export
            .fields
            .iter()
            .map(|(f, _)| DisclosedItem::Field(f.code().to_owned()))
            .collect();
        items.extend(export.entries.iter().map(|e| DisclosedItem::Entry(e.id)));
        let package = export.summary_json();
        let disclosure_id = self
            .log_own_copy(&permit, purpose, person_id, items, &package)
            .await?;
        Ok(RecordExport {
            disclosure_id,
            ..export
        })
    }
}

fn entry_event(kind: RecordKind, verb: &str) -> &'static str {
    match (kind, verb) {
        (RecordKind::Note, "create") => "note.create",
        (RecordKind::Note, _) => "note.update",
        (RecordKind::Plan, "create") => "plan.create",
        (RecordKind::Plan, _) => "plan.update",
        (RecordKind::Goal, "create") => "goal.create",
        (RecordKind::Goal, _) => "goal.update",
        (RecordKind::Appointment, "create") => "appointment.create",
        (RecordKind::Appointment, _) => "appointment.update",
        (RecordKind::PaperNote | RecordKind::PaperFile, "create") => "paper.create",
        (RecordKind::PaperNote | RecordKind::PaperFile, _) => "paper.update",
        (_, "create") => "entry.create",
        _ => "entry.update",
    }
}

fn entry_from(record: EntryRecord, values: Values) -> Entry {
    Entry {
        id: record.id,
        kind: record.kind,
        case_id: record.case_id,
        parent_id: record.parent_id,
        contact_type: record.contact_type,
        occurs_at: from_micros(record.occurs_at_micros),
        status: record.status,
        due_at: record.due_at_micros.map(from_micros),
        flags: record.flags,
        author: record.author,
        updated_at: from_micros(record.updated_at_micros),
        values,
    }
}
