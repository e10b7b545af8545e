//! Moving a misfiled document to the right record: within one service, by someone who may change
//! both records, resealed under the right person's key, with an event on each record in the same
//! transaction (`document.move_out` on the record it left, `document.move_in` on the one it joined),
//! so each record's "who has seen" and history tell it.
//!
//! Refused (and nothing changes): a photo (it is of the person: upload it on the right record),
//! the same record, a record of another service, or one the actor may not change (answered as
//! "not a record you may change", whether or not it exists, so a move is no way to find records).

use confidant_policy::{Action, Resource};
use uuid::Uuid;

use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::field::RecordKind;
use crate::person::{PersonError, access_of};
use crate::record::{invalid, open_values, seal_values};
use crate::store::Store;
use crate::{Clock, Confidant};

use super::document::{CONTENT_TABLE, Document, open_documents};

const NOT_YOURS: &str =
    "must be the record number of another person of this service whose record you may change";

fn address(row_id: &str, key_version: i64) -> confidant_crypto::FieldAddress<'_> {
    confidant_crypto::FieldAddress {
        table: CONTENT_TABLE,
        column: "content",
        row_id,
        key_version: u32::try_from(key_version).unwrap_or(u32::MAX),
    }
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// The person of the actor's person's service with this record number, for a move: their id,
    /// if the actor may change their record (else the same refusal as for a missing one).
    pub async fn move_target(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        record_number: i64,
    ) -> Result<Uuid, PersonError> {
        self.other_numbered(
            actor,
            purpose,
            Action::PersonUpdate,
            person_id,
            record_number,
        )
        .await?
        .ok_or_else(|| invalid("to", NOT_YOURS))
    }

    /// Another person of `person_id`'s service with this record number, within the actor's
    /// scope, once `action` is permitted on `person_id`: `None` for a number that is no one's, the
    /// person's own, or someone out of scope alike (a record number is no way to find records).
    pub(crate) async fn other_numbered(
        &self,
        actor: &Principal,
        purpose: Purpose,
        action: Action,
        person_id: Uuid,
        record_number: i64,
    ) -> Result<Option<Uuid>, PersonError> {
        let (_, resource) = self
            .permit_on_person(actor, action, person_id, purpose)
            .await?;
        let Resource::Person { service_id, .. } = resource else {
            return Err(PersonError::NotFound);
        };
        Ok(
            match self
                .store
                .person_numbered(service_id, record_number)
                .await?
            {
                Some(other) if other != person_id && self.within_scope(actor, other).await? => {
                    Some(other)
                }
                _ => None,
            },
        )
    }

    /// Moves a document from one person's record to another's of the same service.
    pub async fn move_document(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        document_id: Uuid,
        to_person_id: Uuid,
    ) -> Result<Document, PersonError> {
        let (from, from_resource) = self
            .permit_on_person(actor, Action::PersonUpdate, person_id, purpose)
            .await?;
        Self::not_for_processors(&from)?;
        if to_person_id == person_id {
            return Err(invalid("to", NOT_YOURS));
        }
        // The target must be a record the actor may change by their role, in the same service;
        // out of scope is not audited as a refusal (nothing of it was asked for by name).
        let same_service = match (self.store.placement(to_person_id).await?, from_resource) {
            (Some(p), Resource::Person { service_id, .. }) => p.service_id == service_id,
            _ => false,
        };
        if !same_service || !self.within_scope(actor, to_person_id).await? {
            return Err(invalid("to", NOT_YOURS));
        }
        let (to, _) = self
            .permit_on_person(actor, Action::PersonUpdate, to_person_id, purpose)
            .await?;
        let now = self.clock.now();
        let read = AuditDraft::permitted(&from, purpose, now).named("document.read");
        let (record, fields, sealed) = self
            .store
            .sealed_document(document_id, &access_of(&from)?, read)
            .await?
            .ok_or(PersonError::NotFound)?;
        if record.is_photo {
            return Err(invalid(
                "document",
                "a photo is of the person: upload it on the right record instead",
            ));
        }
        let (from_key, from_wrapped) = self.person_key(&from).await?;
        let (to_key, to_wrapped) = self.person_key(&to).await?;
        let row_id = record.id.to_string();
        let content = from_key.open(&address(&row_id, record.key_version), &sealed)?;
        let values = open_values(
            RecordKind::Document,
            &from_key,
            record.id,
            record.key_version,
            &fields,
        )?;
        let resealed = to_key.seal(&address(&row_id, to_wrapped.version), &content);
        let plain: Vec<(&str, &str)> = values.iter().collect();
        let resealed_fields = seal_values(&to_key, record.id, to_wrapped.version, plain);
        let audits = vec![
            AuditDraft::permitted(&from, purpose, now).named("document.move_out"),
            AuditDraft::permitted(&to, purpose, now).named("document.move_in"),
        ];
        if !self
            .store
            .move_document(
                document_id,
                &access_of(&from)?,
                from_wrapped.version,
                &access_of(&to)?,
                to_wrapped.version,
                &resealed_fields,
                &resealed,
                audits,
            )
            .await?
        {
            return Err(PersonError::NotFound);
        }
        let moved = crate::store::DocumentRecord {
            person_id: to_person_id,
            key_version: to_wrapped.version,
            ..record
        };
        open_documents(&to_key, vec![(moved, resealed_fields)])?
            .pop()
            .ok_or(PersonError::NotFound)
    }
}
