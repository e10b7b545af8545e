//! Finding people: pages of a service's people, look-ups by identifier through the blind indexes, and
//! name search through the name index, each within the actor's scope.

use confidant_policy::{AccessScope, Action, Actor, Resource};
use uuid::Uuid;

use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::field::{IndexField, PersonField};
use crate::name_index::{self, GramDigest};
use crate::store::{SealedPerson, Store};
use crate::{Clock, Confidant};

use super::*;

impl<S: Store, C: Clock> Confidant<S, C> {
    /// One page of a service's people with their names, ordered by id: up to `limit` people within the
    /// actor's scope, after `after`. A page shorter than `limit` means there are no more: when the
    /// scope (team or caseload) hides some of the service's people, further rows are read until the
    /// page is full or the service has no more, each read audited as a list.
    pub async fn list_people(
        &self,
        actor: &Principal,
        purpose: Purpose,
        service_id: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<PersonSummary>, PersonError> {
        // Listing the service is allowed; each line is shown only if the person is within the
        // actor's scope (team or caseload). Skipped lines are not refusals, so they are not audited.
        let Listing {
            permit,
            organisation_id,
            scope,
        } = self.listing(actor, purpose, service_id).await?;
        let fields = [PersonField::GivenName, PersonField::FamilyName];
        let limit = limit.clamp(1, MAX_PAGE);
        let mut page = Vec::new();
        let mut after = after;
        loop {
            let audit = AuditDraft::permitted(&permit, purpose, self.clock.now());
            let rows = self
                .store
                .list_people(service_id, &fields, after, limit, audit)
                .await?;
            let more = rows.len() == limit as usize;
            after = rows.last().map(|(sealed, _)| sealed.id);
            for (sealed, wrapped) in &rows {
                if page.len() == limit as usize {
                    break;
                }
                if !self.listed_in_scope(actor, sealed, organisation_id, scope) {
                    continue;
                }
                let mut p = self.open_person(sealed, wrapped)?;
                page.push(PersonSummary {
                    id: p.id,
                    given_name: p.values.remove(&PersonField::GivenName).unwrap_or_default(),
                    family_name: p
                        .values
                        .remove(&PersonField::FamilyName)
                        .unwrap_or_default(),
                });
            }
            if page.len() == limit as usize || !more {
                return Ok(page);
            }
        }
    }

    /// The people of a service (within the actor's scope) whose names match `query`: each word of
    /// three letters or more must appear inside a word of the given or family name, a shorter one
    /// must start one (see [`crate::name_index`]). Candidates come from the name-gram digests; only
    /// their names are opened, in memory. At most [`MAX_SEARCH`] are returned, ordered by id.
    pub async fn search_people_by_name(
        &self,
        actor: &Principal,
        purpose: Purpose,
        service_id: Uuid,
        query: &str,
    ) -> Result<Vec<PersonSummary>, PersonError> {
        let grams = name_index::grams_of_query(query);
        if grams.is_empty() || query.trim().chars().count() > 100 {
            return Err(PersonError::Invalid(Violations(vec![Violation::new(
                "name",
                "must be between 1 and 100 characters, with at least one letter",
            )])));
        }
        let Listing {
            permit,
            organisation_id,
            scope,
        } = self.listing(actor, purpose, service_id).await?;
        let digests: Vec<GramDigest> = grams
            .iter()
            .map(|g| self.keys.name_gram(service_id, g))
            .collect();
        // Candidates come a page at a time, in id order; the search stops once it has its cap of
        // matches, or has looked at MAX_CANDIDATES people. Each page read is audited.
        let mut found = Vec::new();
        let mut after = None;
        let mut examined = 0;
        loop {
            let audit =
                AuditDraft::permitted(&permit, purpose, self.clock.now()).named("person.search");
            let (candidates, next) = self
                .store
                .search_people_by_grams(
                    service_id,
                    &digests,
                    &[PersonField::GivenName, PersonField::FamilyName],
                    after,
                    SEARCH_PAGE,
                    audit,
                )
                .await?;
            examined += candidates.len();
            for (sealed, wrapped) in &candidates {
                // Out of the actor's team or caseload: left out silently, as in a list.
                if !self.listed_in_scope(actor, sealed, organisation_id, scope) {
                    continue;
                }
                let mut p = self.open_person(sealed, wrapped)?;
                let given = p.values.remove(&PersonField::GivenName).unwrap_or_default();
                let family = p
                    .values
                    .remove(&PersonField::FamilyName)
                    .unwrap_or_default();
                if name_index::matches(query, &[&given, &family]) {
                    found.push(PersonSummary {
                        id: p.id,
                        given_name: given,
                        family_name: family,
                    });
                    if found.len() == MAX_SEARCH {
                        return Ok(found);
                    }
                }
            }
            match next {
                Some(last) if examined < MAX_CANDIDATES => after = Some(last),
                _ => break,
            }
        }
        Ok(found)
    }

    /// Ids of a service's people with this identifier, found by blind index without decrypting.
    pub async fn find_people(
        &self,
        actor: &Principal,
        purpose: Purpose,
        service_id: Uuid,
        lookup: &Lookup,
    ) -> Result<Vec<Uuid>, PersonError> {
        let field = match lookup.field {
            IndexField::NhsNumber => PersonField::NhsNumber,
            IndexField::NiNumber => PersonField::NiNumber,
            IndexField::Postcode => PersonField::Postcode,
            IndexField::Phone => PersonField::Phone,
            IndexField::Email => PersonField::Email,
            IndexField::BirthAndFamilyName => {
                return Err(PersonError::Invalid(Violations(vec![Violation::new(
                    "field",
                    "look up by date of birth and family name is not offered yet",
                )])));
            }
        };
        let canonical = parse_field(field, &lookup.value, self.clock.now().date())
            .map_err(|e| PersonError::Invalid(Violations(vec![e.into()])))?;
        let normalised = canonical.index.unwrap_or(canonical.stored);
        let resource = self
            .service_resource(actor, Action::PersonFind, service_id, purpose)
            .await?;
        let permit = self
            .person_permit(actor, Action::PersonFind, resource, purpose)
            .await?;
        let digest = self.keys.blind_index(lookup.field, &normalised);
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now());
        let found = self
            .store
            .find_people(service_id, lookup.field, &digest, audit)
            .await?;
        // Only the people within the actor's scope (team or caseload) are named; the others are not
        // refusals of anything asked for, so they are left out silently, as in a list.
        let mut visible = Vec::with_capacity(found.len());
        for id in found {
            if self.within_scope(actor, id).await? {
                visible.push(id);
            }
        }
        Ok(visible)
    }

    /// The permit to list a service's people (`person.list`; a refusal is audited), with what
    /// holding each line to the actor's scope needs ([`Self::listed_in_scope`]).
    pub(super) async fn listing(
        &self,
        actor: &Principal,
        purpose: Purpose,
        service_id: Uuid,
    ) -> Result<Listing, PersonError> {
        let resource = self
            .service_resource(actor, Action::PersonList, service_id, purpose)
            .await?;
        let permit = self
            .person_permit(actor, Action::PersonList, resource, purpose)
            .await?;
        let Resource::Service {
            organisation_id, ..
        } = resource
        else {
            return Err(PersonError::NotFound);
        };
        let scope = self
            .store
            .service_scope(service_id)
            .await?
            .unwrap_or(AccessScope::Service);
        Ok(Listing {
            permit,
            organisation_id,
            scope,
        })
    }

    /// [`Self::within_scope`] for a row of a service's list, whose placement is already known.
    pub(super) fn listed_in_scope(
        &self,
        actor: &Actor,
        sealed: &SealedPerson,
        organisation_id: Uuid,
        scope: AccessScope,
    ) -> bool {
        let resource = Resource::Person {
            id: sealed.id,
            service_id: sealed.service_id,
            organisation_id,
            team_id: sealed.team_id,
            key_worker_id: sealed.key_worker_id,
            scope,
        };
        self.authorizer
            .authorize(actor, Action::PersonRead, resource)
            .is_ok()
    }

    /// Whether the actor may read this person's record by their role alone (team or caseload
    /// scope), without asking for it: as in a list, what is out of scope is left out silently, and
    /// so not audited as a refusal.
    pub(crate) async fn within_scope(
        &self,
        actor: &Actor,
        person_id: Uuid,
    ) -> Result<bool, PersonError> {
        Ok(self.store.placement(person_id).await?.is_some_and(|p| {
            self.authorizer
                .authorize(actor, Action::PersonRead, p.resource())
                .is_ok()
        }))
    }
}

/// What listing a service's people rests on ([`Confidant::listing`]).
pub(super) struct Listing {
    pub permit: confidant_policy::Permit,
    pub organisation_id: Uuid,
    pub scope: AccessScope,
}
