//! Related people: children, family, next of kin, advocates, someone acting on the person's behalf,
//! and alleged perpetrators of abuse. Each is a third party with their own data key, linked to one
//! service user's record with a relationship.
//!
//! Guarantees:
//! - A related person's details are sealed with their own key, so they can be erased (or withheld
//!   from an access request) without touching the service user's.
//! - The link is one-way: it lives in the service user's record only. When an alleged perpetrator is
//!   also someone a service supports, their own record, lists, searches and exports never show it,
//!   and sharing refuses to send them anything from the victim's record (the store's
//!   `is_alleged_perpetrator_in` answers it under an access to the victim, for access requests).
//! - Reads need `person.read` and changes `person.update` on the service user, audited.
//! - No existence oracle through a link: adding one answers the same whatever `linked_person_id`
//!   names (a record of the organisation, of another organisation, or nothing) unless the caller
//!   may read that record, and a link is shown (in the answer and in lists) only to those who may
//!   read the linked record. Only they are told why a link was refused.

use uuid::Uuid;

use confidant_policy::{Action, Actor};

use crate::access::{PersonAccess, Principal};
use crate::audit::{AuditDraft, Purpose};
use crate::field::{FieldGroup, RecordKind};
use crate::organisation::micros;
use crate::person::access_of;
use crate::person::{PersonError, from_micros};
use crate::record::{
    RecordInput, Values, invalid, no_identifiers, open_values, parse_record, seal_values,
};
use crate::store::{RelatedRecord, Relationship, Store};
use crate::{Clock, Confidant};

const FIRST_KEY_VERSION: i64 = 1;

/// A related person, opened.
#[derive(Debug, Clone)]
pub struct Related {
    pub id: Uuid,
    pub relationship: Relationship,
    /// Their own record, when they are also supported by a service (only ever set, never shown
    /// from their side).
    pub linked_person_id: Option<Uuid>,
    pub created_at: time::OffsetDateTime,
    pub values: Values,
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// Adds a related person to a service user's record. `linked_person_id` names their own record
    /// if a service of the organisation supports them too.
    pub async fn add_related(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        relationship: Relationship,
        linked_person_id: Option<Uuid>,
        input: &RecordInput,
    ) -> Result<Related, PersonError> {
        let parsed = parse_record(RecordKind::Related, input, &["given_name"], &no_identifiers)
            .map_err(PersonError::Invalid)?;
        let (permit, resource) = self
            .permit_on_person(actor, Action::PersonUpdate, person_id, purpose)
            .await?;
        let confidant_policy::Resource::Person {
            service_id,
            organisation_id,
            ..
        } = resource
        else {
            return Err(PersonError::NotFound);
        };
        if relationship == Relationship::Child
            && !self
                .service_config(service_id)
                .await?
                .field_groups
                .contains(FieldGroup::Children)
        {
            return Err(invalid(
                "relationship",
                "this service does not record children",
            ));
        }
        let (linked_person_id, link_shown) = match linked_person_id {
            None => (None, false),
            Some(linked) => {
                self.link(actor, person_id, organisation_id, relationship, linked)
                    .await?
            }
        };
        let id = Uuid::now_v7();
        let (key, wrapped) = self.keys.new_data_key(id, FIRST_KEY_VERSION);
        let present: Vec<(&str, &str)> = parsed
            .iter()
            .filter_map(|(c, v)| v.as_deref().map(|v| (*c, v)))
            .collect();
        let sealed = seal_values(&key, id, FIRST_KEY_VERSION, present.iter().copied());
        let now = self.clock.now();
        let record = RelatedRecord {
            id,
            person_id,
            relationship,
            linked_person_id,
            key_version: FIRST_KEY_VERSION,
            created_by: actor.audit_id(),
            created_at_micros: micros(now),
        };
        let audit = AuditDraft::permitted(&permit, purpose, now).named("related.create");
        self.store
            .add_related(&record, &sealed, &wrapped, audit)
            .await?;
        let mut values = Values::default();
        for (code, value) in present {
            if let Some(spec) = crate::field::record_field(RecordKind::Related, code) {
                values.insert(spec.code, value.to_owned());
            }
        }
        Ok(Related {
            id,
            relationship,
            linked_person_id: linked_person_id.filter(|_| link_shown),
            created_at: now,
            values,
        })
    }

    /// What is kept of a link to another record, and whether the caller may see it.
    ///
    /// The answer must not tell a caller anything of records they may not read. So only when the
    /// caller may read the linked record is a link refused with a reason (it is this person, or an
    /// alleged perpetrator is involved). Otherwise the answer is the same whatever the id names:
    /// a record of the organisation is linked (kept, not shown to the caller), unless the link
    /// would tie a victim and their alleged perpetrator the wrong way, when nothing is kept; an id
    /// that names no record of the organisation keeps nothing.
    async fn link(
        &self,
        actor: &Actor,
        person_id: Uuid,
        organisation_id: Uuid,
        relationship: Relationship,
        linked: Uuid,
    ) -> Result<(Option<Uuid>, bool), PersonError> {
        if linked == person_id {
            return Err(invalid(
                "linked_person_id",
                "is this person's own record: link another person's",
            ));
        }
        let Some(placement) = self
            .store
            .placement(linked)
            .await?
            .filter(|p| p.organisation_id == organisation_id)
        else {
            return Ok((None, false));
        };
        let readable = self
            .authorizer
            .authorize(actor, Action::PersonRead, placement.resource())
            .is_ok();
        // Someone named as an alleged perpetrator in this record can be nothing else in it (next
        // of kin, advocate, acting on the person's behalf: routes for sharing), and a victim is
        // never linked into the record of the person alleged to have abused them.
        let perpetrator_here = self
            .store
            .is_alleged_perpetrator_in(&PersonAccess::deciding(person_id), linked)
            .await?;
        let victim_of_this_person = self
            .store
            .is_alleged_perpetrator_in(&PersonAccess::deciding(linked), person_id)
            .await?;
        let wrong_way = (perpetrator_here && relationship != Relationship::AllegedPerpetrator)
            || victim_of_this_person;
        match (wrong_way, readable) {
            (true, true) => Err(invalid(
                "linked_person_id",
                "cannot be linked in this way: an alleged perpetrator is involved",
            )),
            (true, false) => Ok((None, false)),
            (false, shown) => Ok((Some(linked), shown)),
        }
    }

    /// The related people of a service user's record. Only the record's own links: never the
    /// records in which this person is named.
    pub async fn related_people(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<Vec<Related>, PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonRead, person_id, purpose)
            .await?;
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now()).named("related.read");
        // Third parties are never referred to a processor.
        if permit.grant() == Some(confidant_policy::Grant::ProcessorReferral) {
            return Ok(Vec::new());
        }
        let rows = self.store.related_of(&access_of(&permit)?, audit).await?;
        self.open_related(actor, rows).await
    }

    /// Opens related people as stored, each with their own key. A link to a record shows only to
    /// those who may read that record (see `link`).
    pub(crate) async fn open_related(
        &self,
        actor: &Principal,
        rows: Vec<(
            RelatedRecord,
            crate::store::SealedFields,
            crate::store::WrappedDataKey,
        )>,
    ) -> Result<Vec<Related>, PersonError> {
        let mut out = Vec::with_capacity(rows.len());
        for (record, sealed, wrapped) in rows {
            let key = self.keys.data_key(&wrapped)?;
            let linked_person_id = match record.linked_person_id {
                Some(l) if self.within_scope(actor, l).await? => Some(l),
                _ => None,
            };
            out.push(Related {
                id: record.id,
                relationship: record.relationship,
                linked_person_id,
                created_at: from_micros(record.created_at_micros),
                values: open_values(
                    RecordKind::Related,
                    &key,
                    record.id,
                    record.key_version,
                    &sealed,
                )?,
            });
        }
        Ok(out)
    }

    /// Changes a related person: their relationship and details (a field given replaces the
    /// recorded one, an empty one clears it, one left out stays; the given name is required). Each
    /// replaced value is kept in the history,
    /// sealed under their own key, so erasing them erases it too. Their link to a record of their
    /// own is not changed here. `NotFound` if they are not on this record.
    pub async fn update_related(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        related_id: Uuid,
        relationship: Relationship,
        input: &RecordInput,
    ) -> Result<Related, PersonError> {
        let parsed = parse_record(RecordKind::Related, input, &["given_name"], &no_identifiers)
            .map_err(PersonError::Invalid)?;
        let (permit, resource) = self
            .permit_on_person(actor, Action::PersonUpdate, person_id, purpose)
            .await?;
        let confidant_policy::Resource::Person { service_id, .. } = resource else {
            return Err(PersonError::NotFound);
        };
        if relationship == Relationship::Child
            && !self
                .service_config(service_id)
                .await?
                .field_groups
                .contains(FieldGroup::Children)
        {
            return Err(invalid(
                "relationship",
                "this service does not record children",
            ));
        }
        let now = self.clock.now();
        let access = access_of(&permit)?;
        let read = AuditDraft::permitted(&permit, purpose, now).named("related.read");
        let Some((record, sealed, wrapped)) = self
            .store
            .related_of(&access, read)
            .await?
            .into_iter()
            .find(|(r, _, _)| r.id == related_id)
        else {
            return Err(PersonError::NotFound);
        };
        // Naming someone an alleged perpetrator, or no longer, decides what may be shared and with
        // whom: it is never an edit. Removing them and adding them again puts each step on the
        // record. And someone linked who is named as an alleged perpetrator elsewhere in this
        // record stays nothing else.
        let perpetrator = Relationship::AllegedPerpetrator;
        if relationship != record.relationship
            && (relationship == perpetrator || record.relationship == perpetrator)
        {
            return Err(invalid(
                "relationship",
                "cannot be changed to or from alleged perpetrator: remove them and add them again",
            ));
        }
        if let Some(linked) = record.linked_person_id
            && relationship != perpetrator
            && self
                .store
                .is_alleged_perpetrator_in(&access, linked)
                .await?
        {
            return Err(invalid(
                "relationship",
                "cannot be changed in this way: an alleged perpetrator is involved",
            ));
        }
        let key = self.keys.data_key(&wrapped)?;
        let before = open_values(
            RecordKind::Related,
            &key,
            record.id,
            record.key_version,
            &sealed,
        )?;
        // Only what changed is replaced (and so kept in the history).
        let mut changes = Vec::new();
        for (code, value) in &parsed {
            if before.get(code) == value.as_deref() {
                continue;
            }
            let sealed = value.as_deref().map(|v| {
                seal_values(&key, record.id, record.key_version, [(*code, v)])
                    .into_iter()
                    .map(|(_, bytes)| bytes)
                    .next()
                    .unwrap_or_default()
            });
            changes.push(((*code).to_owned(), sealed));
        }
        let stamp = crate::store::ChangeStamp {
            by: actor.audit_id(),
            at_micros: micros(now),
        };
        let audit = AuditDraft::permitted(&permit, purpose, now).named("related.update");
        if !self
            .store
            .update_related(related_id, &access, relationship, &changes, &stamp, audit)
            .await?
        {
            return Err(PersonError::NotFound);
        }
        // What they hold now: what was kept, with what was given.
        let mut values = Values::default();
        for spec in crate::field::record_fields(RecordKind::Related) {
            let now = match parsed.get(spec.code) {
                Some(given) => given.clone(),
                None => before.get(spec.code).map(str::to_owned),
            };
            if let Some(v) = now {
                values.insert(spec.code, v);
            }
        }
        let linked_person_id = match record.linked_person_id {
            Some(l) if self.within_scope(actor, l).await? => Some(l),
            _ => None,
        };
        Ok(Related {
            id: record.id,
            relationship,
            linked_person_id,
            created_at: from_micros(record.created_at_micros),
            values,
        })
    }

    /// Removes a related person from a record and destroys their key.
    pub async fn remove_related(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        related_id: Uuid,
    ) -> Result<(), PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonUpdate, person_id, purpose)
            .await?;
        let audit =
            AuditDraft::permitted(&permit, purpose, self.clock.now()).named("related.remove");
        if self
            .store
            .remove_related(related_id, &access_of(&permit)?, audit)
            .await?
        {
            Ok(())
        } else {
            Err(PersonError::NotFound)
        }
    }
}
