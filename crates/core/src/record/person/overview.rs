//! A person's overview: the record, how many entries it holds and, for whoever may see the whole
//! record, its related people, cases, documents and access history.
//!
//! Authorized once and read in one transaction (the parts agree with each other), each part still
//! recorded as the access it is: `person.read`, `entry.count` and, for the whole record,
//! `related.read`, `case.read`, `document.list` and `audit.read`, the same events as reading the
//! parts one by one.

use std::collections::HashMap;

use confidant_policy::Action;
use uuid::Uuid;

use super::{Person, PersonError, access_of, project};
use crate::access::Principal;
use crate::audit::{AuditDraft, AuditEvent, Purpose};
use crate::document::{Document, open_documents};
use crate::field::RecordKind;
use crate::record::{Case, Need};
use crate::related::Related;
use crate::store::{OverviewParts, Store};
use crate::{Clock, Confidant};

/// The most access-history events an overview asks for.
pub const MAX_HISTORY: u32 = 500;

/// What a person's page shows first. Prints no values.
pub struct PersonOverview {
    /// As the reader may see it: a processor's worker, only what their referrals sent.
    pub person: Person,
    /// How many entries of each kind (for a processor's worker, of those their referrals sent).
    pub entry_counts: HashMap<RecordKind, usize>,
    /// The parts below are empty unless the reader sees the whole record.
    pub related: Vec<Related>,
    /// Newest first.
    pub cases: Vec<Case>,
    /// The photo among them; newest first.
    pub documents: Vec<Document>,
    /// Newest first. This request's own accesses are not yet among them.
    pub history: Vec<AuditEvent>,
    /// Whether the reader may change the record ([`Need::Change`]) and its fields as far as a
    /// referral sent them ([`Need::ChangeReferred`]): what the page offers.
    pub may_change: bool,
    pub may_change_referred: bool,
}

impl std::fmt::Debug for PersonOverview {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonOverview")
            .field("person", &self.person.id)
            .finish_non_exhaustive()
    }
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// A person's overview, with at most `history` access-history events (1 to [`MAX_HISTORY`]).
    /// A record the reader may not read answers "not found" (audited), as [`Self::read_person`].
    pub async fn person_overview(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        history: u32,
    ) -> Result<PersonOverview, PersonError> {
        let resource = self
            .person_resource(actor, Action::PersonRead, person_id, purpose)
            .await?;
        let permit = self
            .person_permit_referred(actor, Action::PersonRead, resource, purpose)
            .await?;
        let referred = self.referred_scope(&permit, person_id).await?;
        let now = self.clock.now();
        let read = |name: Option<&'static str>| {
            let draft = AuditDraft::permitted(&permit, purpose, now);
            match name {
                Some(name) => draft.named(name),
                None => draft,
            }
        };
        // In the order the parts were read one by one before.
        let mut audit = vec![read(None)];
        let referred_entries: Vec<Uuid> = referred
            .as_ref()
            .map(|r| r.entries.iter().copied().collect())
            .unwrap_or_default();
        let parts = if referred.is_none() {
            audit.push(read(Some("related.read")));
            audit.push(read(Some("case.read")));
            audit.push(read(Some("entry.count")));
            audit.push(read(Some("document.list")));
            // The access history is the auditors' to read too: under their own permit if they hold
            // one. A read permit without a grant records the same event, so the policy is asked
            // only when a grant opened the record.
            let own = match permit.grant() {
                None => None,
                Some(_) => self
                    .authorizer
                    .authorize(actor, Action::AuditRead, resource)
                    .ok(),
            };
            audit.push(
                match own {
                    Some(own) => AuditDraft::permitted(&own, purpose, now),
                    None => read(None),
                }
                .named("audit.read"),
            );
            OverviewParts::Whole {
                history: history.clamp(1, MAX_HISTORY),
            }
        } else {
            audit.push(read(Some("entry.count")));
            OverviewParts::Referred {
                entries: &referred_entries,
            }
        };
        let Some(rows) = self
            .store
            .person_overview(&access_of(&permit)?, parts, audit)
            .await?
        else {
            return Err(self
                .person_missing(actor, Action::PersonRead, person_id, purpose)
                .await);
        };
        let person = project(
            referred.as_ref(),
            self.open_person(&rows.person, &rows.key)?,
        );
        let entry_counts = rows
            .entry_counts
            .iter()
            .map(|(kind, n)| (*kind, usize::try_from(*n).unwrap_or(usize::MAX)))
            .collect();
        let documents = if rows.documents.is_empty() {
            Vec::new()
        } else {
            open_documents(&self.keys.data_key(&rows.key)?, rows.documents)?
        };
        let may = async |need: Need| -> Result<bool, PersonError> {
            Ok(self
                .try_person_permit(actor, need.action(), resource, need.referable())
                .await?
                .is_ok())
        };
        let may_change = may(Need::Change).await?;
        // Whoever may change the record may change its fields; only a processor's worker needs
        // asking again, with their referral.
        let may_change_referred = may_change || may(Need::ChangeReferred).await?;
        Ok(PersonOverview {
            person,
            entry_counts,
            related: self.open_related(actor, rows.related).await?,
            cases: rows.cases.into_iter().map(Case::from).collect(),
            documents,
            history: rows.history,
            may_change,
            may_change_referred,
        })
    }
}
