//! Entries of a record (case notes and contacts, plans, goals, appointments, paper records): added,
//! changed with the replaced value kept as a correction, listed, and the paper register.

use confidant_crypto::{CryptoError, FieldAddress};
use confidant_policy::{Action, Resource};
use uuid::Uuid;

use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::field::{PersonField, RecordKind, record_field};
use crate::organisation::micros;
use crate::person::access_of;
use crate::person::{PersonError, Violation, Violations, from_micros};
use crate::store::{
    ChangeStamp, EntryError, EntryRecord, EntryStatus, ErrorReason, FieldVersion, NoteFlags,
    SealedChange, Store,
};
use crate::{Clock, Confidant};

use super::*;

/// Why paper is not marked destroyed like another status.
const PAPER_DESTROYED_APART: &str =
    "record the paper's destruction instead, with who destroyed it and their reference";

impl<S: Store, C: Clock> Confidant<S, C> {
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
        if kind.is_paper() && new.status == Some(EntryStatus::Destroyed) {
            violations.push(Violation::new("status", PAPER_DESTROYED_APART));
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
            in_error: None,
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

    /// How many entries of each kind the person's record holds (of a processor's worker, those
    /// their referrals sent): ids and kinds only, nothing opened. Audited as `entry.count`.
    pub async fn entry_counts(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<std::collections::HashMap<RecordKind, usize>, PersonError> {
        let (permit, referred) = self
            .permit_on_referred(actor, Action::PersonRead, person_id, purpose)
            .await?;
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now()).named("entry.count");
        let mut counts = std::collections::HashMap::new();
        for (id, kind) in self.store.entry_kinds(&access_of(&permit)?, audit).await? {
            if referred.as_ref().is_none_or(|r| r.entries.contains(&id)) {
                *counts.entry(kind).or_insert(0) += 1;
            }
        }
        Ok(counts)
    }

    /// Changes an entry: its status, due date, or values; replaced values go to its history. Paper
    /// is recorded destroyed apart ([`Confidant::record_paper_destroyed`]), with who destroyed it
    /// and their reference; after that its status stays.
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
            self.store.record_access(audit).await?;
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
        if kind.is_paper() {
            if record.status == Some(EntryStatus::Destroyed) && change.status.is_some() {
                violations.push(Violation::new(
                    "status",
                    "this paper was recorded destroyed: its status cannot change",
                ));
            } else if change.status == Some(EntryStatus::Destroyed) {
                violations.push(Violation::new("status", PAPER_DESTROYED_APART));
            }
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
        let changes_something =
            !changes.is_empty() || change.status.is_some() || change.due_at.is_some();
        if record.in_error.is_some() && changes_something {
            return Err(PersonError::Conflict(
                "the entry was marked as entered in error: it is kept as it is",
            ));
        }
        // A case note is a record of what happened: correcting it says why, beside the earlier
        // text that is kept.
        if change.reason == Some(CorrectionReason::Merged) {
            return Err(invalid("reason", "is given only by merging two records"));
        }
        if kind == RecordKind::Note && !changes.is_empty() && change.reason.is_none() {
            return Err(invalid("reason", "say why the note is corrected"));
        }
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
                change.reason.filter(|_| !changes.is_empty()),
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

    /// Marks one of a person's case notes as entered in error, with why: it stays in the record,
    /// shown struck through with who marked it and when, and is never shared again (nor given in a
    /// copy of the record when it was written on the wrong record). Whoever may change
    /// the record may mark it; once marked it cannot be changed or unmarked.
    pub async fn mark_entry_in_error(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        entry_id: Uuid,
        reason: ErrorReason,
    ) -> Result<(), PersonError> {
        let (permit, referred) = self
            .permit_on_referred(actor, Action::PersonUpdate, person_id, purpose)
            .await?;
        let now = self.clock.now();
        // A processor's worker marks only what their referrals sent; anything else answers as an
        // entry that does not exist.
        if referred.is_some_and(|r| !r.entries.contains(&entry_id)) {
            let audit = AuditDraft::permitted(&permit, purpose, now)
                .named("entry.error")
                .refusal();
            self.store.record_access(audit).await?;
            return Err(PersonError::NotFound);
        }
        // Ids only, to tell an entry of another record (not found) from one marked already. Only a
        // case note is marked: a plan, goal or appointment is changed or cancelled, and paper has
        // its own register.
        let notes = self
            .store
            .entry_flags(
                &crate::access::PersonAccess::deciding(person_id),
                &[RecordKind::Note],
            )
            .await?;
        if !notes.iter().any(|(id, _)| *id == entry_id) {
            let audit = AuditDraft::permitted(&permit, purpose, now)
                .named("entry.error")
                .refusal();
            self.store.record_access(audit).await?;
            return Err(PersonError::NotFound);
        }
        let error = EntryError {
            by: actor.audit_id(),
            at_micros: micros(now),
            reason,
        };
        let audit = AuditDraft::permitted(&permit, purpose, now).named("entry.error");
        if self
            .store
            .mark_entry_in_error(&access_of(&permit)?, entry_id, &error, audit)
            .await?
        {
            Ok(())
        } else {
            Err(PersonError::Conflict(
                "the entry was marked as entered in error already",
            ))
        }
    }

    /// The earlier values of a person's entries of these kinds, oldest first, opened, with who
    /// replaced each, when and why: one read of the record's history.
    pub async fn entry_corrections(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        kinds: &[RecordKind],
    ) -> Result<Vec<Correction>, PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonRead, person_id, purpose)
            .await?;
        Self::not_for_processors(&permit)?;
        let (key, _) = self.person_key(&permit).await?;
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now()).named("history.read");
        let versions = self
            .store
            .entry_history(&access_of(&permit)?, kinds, audit)
            .await?;
        let mut out = Vec::with_capacity(versions.len());
        for v in versions {
            let label = kinds
                .iter()
                .find_map(|k| record_field(*k, &v.field))
                .map_or("", |spec| spec.label);
            out.push(Correction {
                record_id: v.record_id,
                old_value: open_value(&key, v.record_id, v.key_version, &v.field, &v.value)?,
                field: v.field,
                label,
                changed_by: v.changed_by,
                changed_at: from_micros(v.changed_at_micros),
                reason: v.reason,
            });
        }
        Ok(out)
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
                reason: v.reason,
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
}
