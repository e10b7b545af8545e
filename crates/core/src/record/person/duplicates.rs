//! Possible duplicates when a person is added: someone of the same service, within the actor's
//! scope, with the same NHS number, National Insurance number, or family name and date of birth.
//!
//! Guarantees:
//! - Found through the blind indexes only: nobody is decrypted to look, and what comes back is ids
//!   and the kinds of index that matched ([`DuplicateMatch`]), never a value.
//! - Only people the actor may read by their role (team or caseload) are named; the others are left
//!   out silently, as in a list, so a warning never tells of a record out of scope.
//! - The look-up is audited as one read (`person.duplicate_check`, under a `person.find` permit),
//!   as [`Confidant::find_people`] audits its own: the check learns which ids hold an identifier,
//!   which is a use of those records however little it opens, and it may end the request without
//!   any other event (a refused creation writes nothing else). One event for the indexes looked
//!   up together, not one per index: it is one question.
//! - The check is a warning, not a uniqueness rule: two people can share a family name and date of
//!   birth (twins), and the caller confirms ([`DuplicateCheck::Confirmed`]) to add them anyway. Two
//!   requests racing can both pass it; a later merge (issue 16) is the remedy.

use std::collections::BTreeMap;

use confidant_policy::{Action, Actor, Resource};
use uuid::Uuid;

use crate::audit::{AuditDraft, Purpose};
use crate::field::{IndexField, PersonField};
use crate::store::Store;
use crate::{Clock, Confidant};

use super::Canonical;

/// The indexes that suggest the same person. A postcode, phone or email is shared by a household
/// (a victim and a perpetrator, say) and says too little on its own.
pub const DUPLICATE_INDEXES: [IndexField; 3] = [
    IndexField::NhsNumber,
    IndexField::NiNumber,
    IndexField::BirthAndFamilyName,
];

/// Someone already recorded whom a new person may be: their id and the indexes that matched, in
/// the order of [`DUPLICATE_INDEXES`]. Holds no personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateMatch {
    pub person_id: Uuid,
    pub matched_on: Vec<IndexField>,
}

/// Whether a new person is first checked against the people already recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DuplicateCheck {
    /// Refuse with [`super::PersonError::PossibleDuplicates`] if anyone in scope matches.
    #[default]
    Warn,
    /// The caller has seen the possible duplicates and says this is a different person.
    Confirmed,
}

impl DuplicateCheck {
    /// From a form's or request's "this is a different person" answer.
    pub fn confirmed_if(confirmed: bool) -> Self {
        if confirmed {
            Self::Confirmed
        } else {
            Self::Warn
        }
    }
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// The people of `service` (a service resource) within the actor's scope whom a new person with
    /// these values may be, in id order. An actor who may add people but not look them up (an
    /// organisation's own policy may say so) is shown no one, and nothing is audited: they asked
    /// for no look-up.
    pub(super) async fn possible_duplicates(
        &self,
        actor: &Actor,
        purpose: Purpose,
        service: Resource,
        current: &BTreeMap<PersonField, Canonical>,
    ) -> Result<Vec<DuplicateMatch>, super::PersonError> {
        let Resource::Service { id: service_id, .. } = service else {
            return Ok(Vec::new());
        };
        let digests: Vec<(IndexField, [u8; 16])> = self
            .present_indexes(current)
            .into_iter()
            .filter(|(field, _)| DUPLICATE_INDEXES.contains(field))
            .collect();
        if digests.is_empty() {
            return Ok(Vec::new());
        }
        let Ok(permit) = self
            .authorizer
            .authorize(actor, Action::PersonFind, service)
        else {
            return Ok(Vec::new());
        };
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now())
            .named("person.duplicate_check");
        let found = self
            .store
            .find_people_by_indexes(service_id, &digests, audit)
            .await?;
        let mut visible = Vec::with_capacity(found.len());
        for (person_id, matched_on) in found {
            if self.within_scope(actor, person_id).await? {
                visible.push(DuplicateMatch {
                    person_id,
                    matched_on,
                });
            }
        }
        Ok(visible)
    }
}
