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
//!
//! Here: the record's parts as shown (cases, entries, corrections), what a reader needs, and the
//! permits the parts are read and changed under. Beside it: `values.rs` (checking, sealing and
//! opening the values of a record), `case.rs` (opening and closing cases), `entry.rs` (adding,
//! changing and listing entries, their corrections, the paper register) and `export.rs` (the export
//! of a whole record).

mod case;
mod entry;
mod export;
mod values;

pub use export::RecordExport;
pub use values::{RecordInput, Values};
pub(crate) use values::{
    invalid, no_identifiers, open_value, open_values, parse_record, seal_values,
};

use std::fmt;

use confidant_crypto::DataKey;
use confidant_policy::{Action, Actor, Permit, Resource};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::field::RecordKind;
use crate::person::access_of;
use crate::person::{PersonError, from_micros};
use crate::sharing::Referred;
use crate::store::{
    CaseRecord, ClosureReason, ContactType, CorrectionReason, EntryError, EntryRecord, EntryStatus,
    NoteFlags, Store, WrappedDataKey,
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
    /// Put the person in a team and give them a key worker (the service's managers).
    Assign,
    /// Record what the person decides themselves (their consents, how they are contacted): a
    /// change, allowed while processing is restricted (Art. 18(2): with their consent).
    Decide,
}

impl Need {
    /// Whether the need is a change (break-the-glass and a trustee's matter are read-only).
    pub fn changes(self) -> bool {
        matches!(
            self,
            Need::Change | Need::ChangeReferred | Need::ChangeEntry(_) | Need::Decide
        )
    }

    pub(crate) fn action(self) -> Action {
        match self {
            Need::Share => Action::PersonShare,
            Need::Assign => Action::PersonAssign,
            _ if self.changes() => Action::PersonUpdate,
            _ => Action::PersonRead,
        }
    }

    /// Whether a processor's live referral may meet the need (the use case then keeps to what
    /// the referral sent).
    pub(crate) fn referable(self) -> bool {
        matches!(
            self,
            Need::ReadReferred | Need::ChangeReferred | Need::ChangeEntry(_)
        )
    }
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
    /// Its earlier closings, each kept when it was reopened, oldest first (filled by
    /// [`Confidant::cases`]).
    pub reopenings: Vec<crate::store::CaseReopening>,
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
            reopenings: Vec::new(),
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
    /// Marked as entered in error (who, when, why): kept, shown struck through, never shared.
    pub in_error: Option<EntryError>,
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
    /// Why the values change: required to correct a case note (its earlier text is kept and shown
    /// with who, when and why).
    pub reason: Option<CorrectionReason>,
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
    /// Why it was replaced, where that was recorded.
    pub reason: Option<CorrectionReason>,
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

    /// As [`Self::permit_on_person`], without refusing a change to a record whose processing is
    /// restricted: for what the person may still decide (their consents, how they are
    /// contacted: Art. 18(2) allows processing with their consent).
    pub(crate) async fn permit_on_person_storing(
        &self,
        actor: &Actor,
        action: Action,
        person_id: Uuid,
        purpose: Purpose,
    ) -> Result<(Permit, Resource), PersonError> {
        let resource = self
            .person_resource(actor, action, person_id, purpose)
            .await?;
        let permit = self
            .person_permit_storing(actor, action, resource, purpose)
            .await?;
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
            Need::Read | Need::Change | Need::Share | Need::Assign => {
                self.permit_on_person(actor, action, person_id, purpose)
                    .await?;
            }
            Need::Decide => {
                self.permit_on_person_storing(actor, action, person_id, purpose)
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
                    self.store.record_access(audit).await?;
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
        Ok(decided.is_ok()
            && (need == Need::Decide
                || !self
                    .restricted_for(need.action(), placement.resource())
                    .await?))
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
        in_error: record.in_error,
    }
}
