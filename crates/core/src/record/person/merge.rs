//! Merging two records of one person in a service (issue 16): the same person recorded twice, one
//! record (the survivor) keeps everything of the other.
//!
//! Guarantees:
//! - Only someone who may move a record between teams and key workers (a team or service manager,
//!   `person.assign`) and may change both records (`person.update`), for two records of one service.
//! - Nothing is lost: entries, documents, cases, consents, restrictions, disclosures and approvals,
//!   related people, referrals, contact preferences and messages, grants, tasks and every earlier
//!   value move to the survivor, each sealed value opened with the merged person's key and sealed
//!   again with the survivor's. Of the person's own details, the survivor's stay; a detail only the
//!   merged record had fills the gap; a detail both had with different values is kept in the
//!   survivor's history ("kept from a record merged into this one").
//! - One transaction, the audit head's lock first (as erasure takes it): it writes the merge, an
//!   event on each record (`person.merge_out`, `person.merge_in`), moves every row, and destroys
//!   the merged record's key and search entries, so the merged record is then found by nobody and
//!   answers, on its page, where it went. If anything of the merged record changed since it was
//!   read, nothing is written (a conflict: try again).
//! - Refused, changing nothing: the same record, another service's, one the actor may not change,
//!   and two records that both have an open case (close one first: a person has one open case in a
//!   service).
//! - Both audit trails stay readable: the merged record's events keep its id, and "who has seen
//!   this record" on the survivor reads them too.

use std::collections::BTreeMap;

use confidant_crypto::{DataKey, FieldAddress};
use confidant_policy::{Action, Permit, Resource};
use uuid::Uuid;

use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::field::PersonField;
use crate::organisation::micros;
use crate::record::document::CONTENT_TABLE;
use crate::record::{RECORD_TABLE, invalid};
use crate::store::{
    ChangeStamp, MergeConfirmation, MergeCounts, MergePlan, MergeRecord, SealedPlace, SealedValue,
    Store,
};
use crate::{Clock, Confidant};

use super::{Canonical, Person, PersonError, SEALED_TABLE, access_of, index_sources, parse_field};

const NOT_YOURS: &str = "must name another record of this service, one you may change";

/// What a merge would do, for the page that asks to confirm it.
#[derive(Debug, Clone)]
pub struct MergePreview {
    pub surviving: Person,
    pub merged: Person,
    /// What moves from the merged record.
    pub moved: MergeCounts,
    /// Details only the merged record has: they fill the survivor's gaps.
    pub filled: Vec<PersonField>,
    /// Details both have with different values: the survivor's stay, the other's go to its history.
    pub differing: Vec<PersonField>,
    /// Both records have an open case: the duplicate's is closed as recorded twice.
    pub both_open: bool,
    /// The merge would break the rules on alleged perpetrators (see
    /// [`crate::store::MergeStore::merge_breaks_links`]): refused until their related people are
    /// put right.
    pub breaks_links: bool,
    /// Both have a photo: the merged record's becomes one of the survivor's documents.
    pub photo_becomes_document: bool,
}

/// The sealing address of a value at `place`, sealed to row `row` (the person's id for their own
/// fields, else the record's); `person_version` is the person's key version, which their own fields
/// and grants' columns are sealed under.
fn address_of<'a>(place: &'a SealedPlace, row: &'a str, person_version: i64) -> FieldAddress<'a> {
    let (table, column, version): (&str, &str, i64) = match place {
        SealedPlace::PersonField { field } => (SEALED_TABLE, field.code(), person_version),
        SealedPlace::PersonVersion {
            field, key_version, ..
        } => (SEALED_TABLE, field.code(), *key_version),
        SealedPlace::RecordField {
            field, key_version, ..
        }
        | SealedPlace::RecordVersion {
            field, key_version, ..
        } => (RECORD_TABLE, field.as_str(), *key_version),
        SealedPlace::DocumentContent { key_version, .. } => {
            (CONTENT_TABLE, "content", *key_version)
        }
        SealedPlace::GrantColumn { column, .. } => ("access_grant", column, person_version),
    };
    FieldAddress {
        table,
        column,
        row_id: row,
        key_version: u32::try_from(version).unwrap_or(u32::MAX),
    }
}

/// The id of the row a record's value is sealed to (the person's own values use the person's).
fn record_row(place: &SealedPlace) -> Option<Uuid> {
    match place {
        SealedPlace::PersonField { .. } | SealedPlace::PersonVersion { .. } => None,
        SealedPlace::RecordField { record_id, .. }
        | SealedPlace::RecordVersion { record_id, .. } => Some(*record_id),
        SealedPlace::DocumentContent { document_id, .. } => Some(*document_id),
        SealedPlace::GrantColumn { grant_id, .. } => Some(*grant_id),
    }
}

/// The same place under the survivor's key version.
fn moved_place(place: &SealedPlace, to_version: i64) -> SealedPlace {
    match place.clone() {
        SealedPlace::PersonVersion { seq, field, .. } => SealedPlace::PersonVersion {
            seq,
            field,
            key_version: to_version,
        },
        SealedPlace::RecordField {
            record_id, field, ..
        } => SealedPlace::RecordField {
            record_id,
            field,
            key_version: to_version,
        },
        SealedPlace::RecordVersion {
            seq,
            record_id,
            field,
            ..
        } => SealedPlace::RecordVersion {
            seq,
            record_id,
            field,
            key_version: to_version,
        },
        SealedPlace::DocumentContent { document_id, .. } => SealedPlace::DocumentContent {
            document_id,
            key_version: to_version,
        },
        same @ (SealedPlace::PersonField { .. } | SealedPlace::GrantColumn { .. }) => same,
    }
}

/// Opens `value` (of person `from`, under `from_key` at `from_version`) and seals it for person
/// `to` under `to_key` at `to_version`.
fn reseal(
    value: &SealedValue,
    (from, from_key, from_version): (Uuid, &DataKey, i64),
    (to, to_key, to_version): (Uuid, &DataKey, i64),
) -> Result<SealedValue, PersonError> {
    let row = record_row(&value.place).map(|r| r.to_string());
    let (from_row, to_row) = match &row {
        Some(r) => (r.clone(), r.clone()),
        None => (from.to_string(), to.to_string()),
    };
    let plain = from_key.open(
        &address_of(&value.place, &from_row, from_version),
        &value.value,
    )?;
    let place = moved_place(&value.place, to_version);
    Ok(SealedValue {
        value: to_key.seal(&address_of(&place, &to_row, to_version), &plain),
        place,
    })
}

/// Of the merged record's details: those that fill the survivor's gaps, and those that differ.
fn compare(
    surviving: &BTreeMap<PersonField, String>,
    merged: &BTreeMap<PersonField, String>,
) -> (Vec<PersonField>, Vec<PersonField>) {
    let mut filled = Vec::new();
    let mut differing = Vec::new();
    for (field, value) in merged {
        match surviving.get(field) {
            None => filled.push(*field),
            Some(kept) if kept != value => differing.push(*field),
            Some(_) => {}
        }
    }
    (filled, differing)
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// The permits a merge rests on: to move and to change each record, in one service.
    async fn merge_permits(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        merged_id: Uuid,
    ) -> Result<(Permit, Permit), PersonError> {
        self.permit_on_person(actor, Action::PersonAssign, person_id, purpose)
            .await?;
        // A merge fills in and brings entries into the surviving record: refused while either
        // record's processing is restricted (lift it first), as any change is.
        let (surviving, resource) = self
            .permit_on_person(actor, Action::PersonUpdate, person_id, purpose)
            .await?;
        if merged_id == person_id {
            return Err(invalid("merge_id", NOT_YOURS));
        }
        // The other record must be one the actor may change, in the same service; out of scope is
        // not audited as a refusal (nothing of it was asked for by name).
        let same_service = match (self.store.placement(merged_id).await?, resource) {
            (Some(p), Resource::Person { service_id, .. }) => p.service_id == service_id,
            _ => false,
        };
        if !same_service || !self.within_scope(actor, merged_id).await? {
            return Err(invalid("merge_id", NOT_YOURS));
        }
        self.permit_on_person(actor, Action::PersonAssign, merged_id, purpose)
            .await?;
        let (merged, _) = self
            .permit_on_person(actor, Action::PersonUpdate, merged_id, purpose)
            .await?;
        Ok((surviving, merged))
    }

    /// The person of this person's service with this record number, to merge into this one: their
    /// id, if the actor may merge them (else the same refusal as for a missing one).
    pub async fn merge_target(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        record_number: i64,
    ) -> Result<Uuid, PersonError> {
        self.other_numbered(
            actor,
            purpose,
            Action::PersonAssign,
            person_id,
            record_number,
        )
        .await?
        .ok_or_else(|| invalid("merge_id", NOT_YOURS))
    }

    /// What merging `merged_id` into `person_id` would do (both records read, audited).
    pub async fn merge_preview(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        merged_id: Uuid,
    ) -> Result<MergePreview, PersonError> {
        let (surviving_permit, merged_permit) = self
            .merge_permits(actor, purpose, person_id, merged_id)
            .await?;
        let surviving = self.read_person(actor, purpose, person_id).await?;
        let merged = self.read_person(actor, purpose, merged_id).await?;
        let read = |p: &Permit| AuditDraft::permitted(p, purpose, self.clock.now());
        let holdings = self
            .store
            .merge_holdings(
                &access_of(&merged_permit)?,
                false,
                read(&merged_permit).named("person.merge_read"),
            )
            .await?
            .ok_or(PersonError::NotFound)?;
        let survivor = self
            .store
            .merge_holdings(
                &access_of(&surviving_permit)?,
                false,
                read(&surviving_permit).named("person.merge_read"),
            )
            .await?
            .ok_or(PersonError::NotFound)?;
        let (filled, differing) = compare(&surviving.values, &merged.values);
        Ok(MergePreview {
            moved: holdings.counts,
            filled,
            differing,
            breaks_links: self.store.merge_breaks_links(merged_id, person_id).await?,
            both_open: holdings.open_case.is_some() && survivor.open_case.is_some(),
            photo_becomes_document: holdings.has_photo && survivor.has_photo,
            surviving,
            merged,
        })
    }

    /// Merges the record `merged_id` into `person_id`'s: see the module's guarantees.
    pub async fn merge_people(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        merged_id: Uuid,
        confirmed_how: MergeConfirmation,
    ) -> Result<MergeRecord, PersonError> {
        let (surviving_permit, merged_permit) = self
            .merge_permits(actor, purpose, person_id, merged_id)
            .await?;
        let (sealed_to, wrapped_to, _) = self.read_sealed(actor, purpose, person_id).await?;
        let (sealed_from, wrapped_from, _) = self.read_sealed(actor, purpose, merged_id).await?;
        let surviving = self.open_person(&sealed_to, &wrapped_to)?;
        let merged_number = sealed_from.record_number;
        let now = self.clock.now();
        let read = AuditDraft::permitted(&merged_permit, purpose, now).named("person.merge_read");
        let merged_access = access_of(&merged_permit)?;
        let holdings = self
            .store
            .merge_holdings(&merged_access, true, read)
            .await?
            .ok_or(PersonError::NotFound)?;
        let from_key = self.keys.data_key(&wrapped_from)?;
        let to_key = self.keys.data_key(&wrapped_to)?;
        let to_version = wrapped_to.version;
        let resealed = holdings
            .values
            .iter()
            .map(|v| {
                reseal(
                    v,
                    (merged_id, &from_key, holdings.key_version),
                    (person_id, &to_key, to_version),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        // The duplicate's details as they are in what the store checks (not an earlier read).
        let merged_row = merged_id.to_string();
        let mut merged_values = BTreeMap::new();
        for value in &holdings.values {
            if let SealedPlace::PersonField { field } = value.place {
                let plain = from_key.open(
                    &address_of(&value.place, &merged_row, holdings.key_version),
                    &value.value,
                )?;
                let text = String::from_utf8(plain.to_vec())
                    .map_err(|_| confidant_crypto::CryptoError::Malformed)?;
                merged_values.insert(field, text);
            }
        }
        let (filled, differing) = compare(&surviving.values, &merged_values);
        let seal_for_survivor = |field: PersonField| -> Vec<u8> {
            let row = person_id.to_string();
            let place = SealedPlace::PersonField { field };
            let address = address_of(&place, &row, to_version);
            let value = merged_values.get(&field).map_or("", String::as_str);
            to_key.seal(&address, value.as_bytes())
        };
        let fill: Vec<_> = filled.iter().map(|f| (*f, seal_for_survivor(*f))).collect();
        let keep: Vec<_> = differing
            .iter()
            .map(|f| (*f, seal_for_survivor(*f)))
            .collect();
        // The survivor's indexes and name grams afresh when a detail fills a gap.
        let (indexes, grams) = if fill.is_empty() {
            (Vec::new(), None)
        } else {
            let day = now.date().max(surviving.created_at.date());
            let mut current = BTreeMap::new();
            for (field, value) in surviving
                .values
                .iter()
                .chain(filled.iter().filter_map(|f| merged_values.get_key_value(f)))
            {
                let canonical = parse_field(*field, value, day).unwrap_or(Canonical {
                    stored: value.clone(),
                    index: None,
                });
                current.insert(*field, canonical);
            }
            let names = filled
                .iter()
                .any(|f| matches!(f, PersonField::GivenName | PersonField::FamilyName));
            (
                self.digests(index_sources(&current)),
                names.then(|| self.name_grams(surviving.service_id, &current)),
            )
        };
        let record = MergeRecord {
            merged_id,
            merged_number,
            surviving_id: person_id,
            surviving_number: surviving.record_number,
            service_id: surviving.service_id,
            confirmed_how,
            merged_by: actor.audit_id(),
            merged_at_micros: micros(now),
            moved: holdings.counts,
        };
        let audits = vec![
            AuditDraft::permitted(&merged_permit, purpose, now).named("person.merge_out"),
            AuditDraft::permitted(&surviving_permit, purpose, now).named("person.merge_in"),
        ];
        let plan = MergePlan {
            merged: &merged_access,
            surviving: &access_of(&surviving_permit)?,
            surviving_key_version: to_version,
            read: &holdings,
            resealed,
            fill,
            keep,
            indexes,
            surviving_updated_at: sealed_to.updated_at_micros,
            name_grams: grams,
            record: record.clone(),
            stamp: ChangeStamp {
                by: actor.audit_id(),
                at_micros: micros(now),
            },
        };
        if self.store.merge_people(plan, audits).await? {
            Ok(record)
        } else {
            Err(PersonError::NotFound)
        }
    }

    /// The records merged into a person's, newest first: for those who may read the record.
    pub async fn merges_into(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<Vec<MergeRecord>, PersonError> {
        self.permit_on_person(actor, Action::PersonRead, person_id, purpose)
            .await?;
        Ok(self.store.merges_into(person_id).await?)
    }

    /// Where a merged record went: the merge, for those who may read the record it went into;
    /// for anyone else (and for a record never merged) not found.
    pub async fn merged_into(
        &self,
        actor: &Principal,
        purpose: Purpose,
        merged_id: Uuid,
    ) -> Result<MergeRecord, PersonError> {
        let merge = self
            .store
            .merge_of(merged_id)
            .await?
            .ok_or(PersonError::NotFound)?;
        if !self.within_scope(actor, merge.surviving_id).await? {
            return Err(PersonError::NotFound);
        }
        self.permit_on_person(actor, Action::PersonRead, merge.surviving_id, purpose)
            .await?;
        Ok(merge)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moved_place_keeps_its_row_and_takes_the_new_key_version() {
        let record_id = Uuid::now_v7();
        let place = SealedPlace::RecordVersion {
            seq: 7,
            record_id,
            field: "body".into(),
            key_version: 1,
        };
        assert_eq!(
            moved_place(&place, 3),
            SealedPlace::RecordVersion {
                seq: 7,
                record_id,
                field: "body".into(),
                key_version: 3,
            }
        );
        assert_eq!(record_row(&place), Some(record_id));
        let person = SealedPlace::PersonVersion {
            seq: 1,
            field: PersonField::GivenName,
            key_version: 1,
        };
        assert_eq!(record_row(&person), None);
    }
}
