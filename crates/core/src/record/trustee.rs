//! A trustee's matter: the parts of one person's record the Data Protection Officer opens to a
//! trustee for a matter put to the trustees (a complaint, a serious incident), of a kind the
//! register names (R22).
//!
//! Guarantees:
//! - A trustee reads under a matter only through the use cases that keep to a grant's scope (the
//!   person's details and their entries), and only what the matter opens: the details of the field
//!   groups it names and the entries of the kinds it names. Flagged notes are left out unless the
//!   grant opened them, with a reason of its own. Everything else of the record (related people,
//!   cases, documents, consents, the disclosure log, the history) is refused, as for a processor's
//!   worker: those use cases never offer a trustee's grant to the policy.
//! - A trustee never changes, shares or exports a record (the policy permits `person.read` alone).

use std::collections::BTreeSet;

use confidant_policy::{Actor, Grant, Permit};
use uuid::Uuid;

use crate::access::PersonAccess;
use crate::field::{FieldGroup, PersonField, RecordKind};
use crate::organisation::micros;
use crate::person::PersonError;
use crate::sharing::Referred;
use crate::store::Store;
use crate::{Clock, Confidant};

/// A part of a record a matter can open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatterPart {
    /// The person's details of one field group.
    Details(FieldGroup),
    /// Their entries of one kind.
    Entries(RecordKind),
}

impl MatterPart {
    /// The entry kinds a matter can open.
    pub const ENTRY_KINDS: [RecordKind; 4] = [
        RecordKind::Note,
        RecordKind::Plan,
        RecordKind::Goal,
        RecordKind::Appointment,
    ];

    /// A field group code, or an entry kind (`note`, `plan`, `goal`, `appointment`).
    pub fn from_code(code: &str) -> Option<MatterPart> {
        if let Some(group) = FieldGroup::from_code(code) {
            return Some(MatterPart::Details(group));
        }
        Self::ENTRY_KINDS
            .iter()
            .find(|k| k.code() == code)
            .map(|k| MatterPart::Entries(*k))
    }
}

/// A grant of a trustee's matter as the Data Protection Officer gives it.
#[derive(Debug, Clone, Default)]
pub struct TrusteeGrant {
    /// The kind of matter: an id of the register's `[[trustee_matter]]`.
    pub matter: String,
    /// The parts of the record it opens (codes, within the kind's).
    pub parts: Vec<String>,
    pub days: i64,
    pub reason: String,
    /// Why flagged notes are opened too; without it they stay closed.
    pub flagged_reason: Option<String>,
}

/// What a grant records of its matter.
pub(crate) struct MatterScope {
    pub matter: String,
    pub parts: Vec<String>,
    pub flagged_reason: Option<String>,
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// What the trustee's live matters on the person open, as the scope a projected use case keeps
    /// to; `None` if the permit does not rest on a trustee's matter.
    pub(crate) async fn matter_scope(
        &self,
        permit: &Permit,
        person_id: Uuid,
    ) -> Result<Option<Referred>, PersonError> {
        if permit.grant() != Some(Grant::TrusteeMatter) {
            return Ok(None);
        }
        let mut scope = Referred::default();
        let Actor::Staff(staff) = permit.actor() else {
            return Ok(Some(scope));
        };
        let now = micros(self.clock.now());
        // Each grant opens its own kinds; flagged entries only of the kinds of a grant that gives
        // the reason to open them.
        let mut kinds = BTreeSet::new();
        let mut flagged_kinds = BTreeSet::new();
        for grant in self
            .store
            .live_grant_records(staff.user_id, person_id, now)
            .await?
            .into_iter()
            .filter(|g| g.kind == Grant::TrusteeMatter)
        {
            for part in grant.parts.iter().filter_map(|p| MatterPart::from_code(p)) {
                match part {
                    MatterPart::Details(group) => scope.fields.extend(PersonField::of_group(group)),
                    MatterPart::Entries(kind) => {
                        kinds.insert(kind);
                        if grant.flagged_reason.is_some() {
                            flagged_kinds.insert(kind);
                        }
                    }
                }
            }
        }
        // Entries one kind at a time: a flag is read with its kind.
        for kind in kinds {
            for (id, flagged) in self
                .store
                .entry_flags(&PersonAccess::deciding(person_id), &[kind])
                .await?
            {
                if !flagged || flagged_kinds.contains(&kind) {
                    scope.entries.insert(id);
                }
            }
        }
        Ok(Some(scope))
    }
}
