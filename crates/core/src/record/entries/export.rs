//! The export of a whole record ([`RecordExport`]): only what may leave it, nothing of any other
//! record.

use confidant_policy::Action;
use std::fmt;
use uuid::Uuid;

use crate::access::{PersonAccess, Principal};
use crate::audit::{AuditDraft, Purpose};
use crate::field::{Classification, PersonField, record_field};
use crate::person::PersonError;
use crate::store::{DisclosedItem, Store};
use crate::{Clock, Confidant};

use super::*;

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
            self.store.record_access(audit).await?;
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
        // Held back: what could cause serious harm or identifies a complainant, and what was written
        // on this record by mistake about someone else.
        entries.retain(|e| {
            !(e.flags.serious_harm
                || e.flags.identifies_complainant
                || e.in_error
                    .as_ref()
                    .is_some_and(|x| x.reason == crate::store::ErrorReason::WrongRecord))
        });
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
            .log_own_copy(
                &permit,
                purpose,
                person_id,
                items,
                &package,
                ("person.export", Uuid::now_v7()),
            )
            .await?;
        Ok(RecordExport {
            disclosure_id,
            ..export
        })
    }
}
