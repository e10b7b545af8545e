//! Sealing a person's fields with their own data key, opening them again, and the blind indexes and
//! name grams kept beside them.

use confidant_crypto::{CryptoError, DataKey};
use confidant_policy::{Action, Actor, Permit};
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{AuditDraft, Purpose};
use crate::field::{IndexField, PersonField};
use crate::name_index::{self, GramDigest};
use crate::organisation::micros;
use crate::store::{IndexChange, SealedPerson, Store, WrappedDataKey};
use crate::{Clock, Confidant};

use super::*;

impl<S: Store, C: Clock> Confidant<S, C> {
    pub(super) fn digests(&self, sources: Vec<(IndexField, Option<String>)>) -> Vec<IndexChange> {
        sources
            .into_iter()
            .map(|(field, value)| (field, value.map(|v| self.keys.blind_index(field, &v))))
            .collect()
    }

    /// Seals a new person's values under a new data key, with their blind indexes.
    pub(crate) fn seal_new_person(
        &self,
        id: Uuid,
        service_id: Uuid,
        (team_id, key_worker_id): (Option<Uuid>, Option<Uuid>),
        current: &BTreeMap<PersonField, Canonical>,
        now: OffsetDateTime,
    ) -> (SealedPerson, Vec<(IndexField, [u8; 16])>, WrappedDataKey) {
        let (key, wrapped) = self.keys.new_data_key(id, FIRST_KEY_VERSION);
        let row_id = id.to_string();
        let sealed = SealedPerson {
            id,
            service_id,
            team_id,
            key_worker_id,
            key_version: FIRST_KEY_VERSION,
            record_number: 0,
            fields: current
                .iter()
                .map(|(f, c)| {
                    (
                        *f,
                        key.seal(
                            &address(*f, &row_id, FIRST_KEY_VERSION),
                            c.stored.as_bytes(),
                        ),
                    )
                })
                .collect(),
            name_grams: self.name_grams(service_id, current),
            created_at_micros: micros(now),
            updated_at_micros: micros(now),
        };
        (sealed, self.present_indexes(current), wrapped)
    }

    /// The name-gram digests of a person's names.
    pub(super) fn name_grams(
        &self,
        service_id: Uuid,
        current: &BTreeMap<PersonField, Canonical>,
    ) -> Vec<GramDigest> {
        let names: Vec<&str> = [PersonField::GivenName, PersonField::FamilyName]
            .iter()
            .filter_map(|f| current.get(f).map(|c| c.stored.as_str()))
            .collect();
        name_index::grams_of_names(&names)
            .iter()
            .map(|g| self.keys.name_gram(service_id, g))
            .collect()
    }

    /// The blind-index digests of a set of values (only the indexes that have a value).
    pub(crate) fn present_indexes(
        &self,
        current: &BTreeMap<PersonField, Canonical>,
    ) -> Vec<(IndexField, [u8; 16])> {
        self.digests(index_sources(current))
            .into_iter()
            .filter_map(|(f, d)| d.map(|d| (f, d)))
            .collect()
    }

    pub(crate) fn open_person(
        &self,
        sealed: &SealedPerson,
        wrapped: &WrappedDataKey,
    ) -> Result<Person, PersonError> {
        let key: DataKey = self.keys.data_key(wrapped)?;
        let row_id = sealed.id.to_string();
        let mut values = BTreeMap::new();
        for (field, bytes) in &sealed.fields {
            let plain = key.open(&address(*field, &row_id, sealed.key_version), bytes)?;
            let text = String::from_utf8(plain.to_vec()).map_err(|_| CryptoError::Malformed)?;
            values.insert(*field, text);
        }
        Ok(Person {
            id: sealed.id,
            service_id: sealed.service_id,
            record_number: sealed.record_number,
            created_at: from_micros(sealed.created_at_micros),
            updated_at: from_micros(sealed.updated_at_micros),
            values,
            view: RecordView::Whole,
            referred: BTreeSet::new(),
        })
    }

    /// The audited read both `read_person` and `update_person` start with.
    pub(super) async fn read_sealed(
        &self,
        actor: &Actor,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<(SealedPerson, WrappedDataKey, Permit), PersonError> {
        let resource = self
            .person_resource(actor, Action::PersonRead, person_id, purpose)
            .await?;
        let permit = self
            .person_permit_referred(actor, Action::PersonRead, resource, purpose)
            .await?;
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now());
        match self.store.read_person(&access_of(&permit)?, audit).await? {
            Some((sealed, wrapped)) => Ok((sealed, wrapped, permit)),
            None => Err(self
                .person_missing(actor, Action::PersonRead, person_id, purpose)
                .await),
        }
    }
}
