//! Access beyond a role, for one person and a limited time: break the glass (a member of staff opens a
//! record outside their scope, giving a reason; the Caldicott Guardian reviews it), a trustee's granted
//! matter, and a processor's referral.
//!
//! Guarantees:
//! - A grant names one member of staff and one person, and ends; the policy honours it only while it
//!   is live and only for what the policy allows under it (break the glass reads, never changes).
//! - Every read made under a break-the-glass grant is recorded with the purpose `break_glass`, and every
//!   break-the-glass grant enters the review queue until it is signed off or escalated.
//! - A break-the-glass access is reviewed once: of reviewers racing to sign it off or escalate it,
//!   one decides and the others get `Conflict` (the store changes only a pending review).
//! - Reasons and review notes are free text, so they are sealed with the person's own key (and go with
//!   it when the person is erased); the audit log holds ids only.

use confidant_crypto::FieldAddress;
use confidant_policy::{Action, Actor, Grant, Resource};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::access::PersonAccess;
use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::organisation::micros;
use crate::person::{PersonError, Violation, Violations, from_micros};
use crate::store::{GrantRecord, NewTask, ReviewState, Store, TaskKind};

use super::trustee::MatterScope;
pub use super::trustee::{MatterPart, TrusteeGrant};
use crate::{Clock, Confidant};

const MIN_REASON: usize = 10;
const MAX_REASON: usize = 1000;

/// A grant as shown to its reviewers, with its reason opened.
#[derive(Clone)]
pub struct GrantView {
    pub id: Uuid,
    pub kind: Grant,
    pub staff_id: Uuid,
    pub person_id: Uuid,
    pub reason: Option<String>,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub review_state: Option<ReviewState>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<OffsetDateTime>,
    pub review_note: Option<String>,
}

impl std::fmt::Debug for GrantView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantView")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

fn free_text(field: &'static str, input: &str, min: usize) -> Result<String, Violations> {
    let text = input.trim();
    let n = text.chars().count();
    let message = if n < min {
        Some(format!("must be at least {min} characters"))
    } else if n > MAX_REASON {
        Some(format!("must be at most {MAX_REASON} characters"))
    } else if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        Some("must not contain control characters".to_owned())
    } else if !crate::identifier::has_visible(text) {
        Some(crate::identifier::VISIBLE_REQUIRED.to_owned())
    } else {
        None
    };
    match message {
        Some(m) => Err(Violations(vec![Violation::new(field, m)])),
        None => Ok(text.to_owned()),
    }
}

fn actor_user(actor: &Actor) -> Option<Uuid> {
    match actor {
        Actor::Staff(s) => Some(s.user_id),
        Actor::System => None,
    }
}

/// What a grant is for: its reason, how long it lasts, and for a trustee's matter what it opens.
struct Terms<'a> {
    reason: &'a str,
    duration: Duration,
    scope: Option<MatterScope>,
}

fn address<'a>(column: &'static str, row_id: &'a str, version: i64) -> FieldAddress<'a> {
    FieldAddress {
        table: "access_grant",
        column,
        row_id,
        key_version: u32::try_from(version).unwrap_or(u32::MAX),
    }
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// Breaks the glass: opens a person's record outside the actor's scope for the configured time
    /// (default one hour), with a reason that the Caldicott Guardian will review.
    pub async fn break_glass(
        &self,
        actor: &Principal,
        person_id: Uuid,
        reason: &str,
    ) -> Result<GrantRecord, PersonError> {
        let reason = free_text("reason", reason, MIN_REASON).map_err(PersonError::Invalid)?;
        let duration = self.settings.break_glass;
        let terms = Terms {
            reason: &reason,
            duration,
            scope: None,
        };
        self.open_grant(actor, Grant::BreakGlass, None, person_id, terms)
            .await
    }

    /// Grants a trustee a matter on one person: a matter of a type the register names, for the parts
    /// of the record stated (within the type's), for `days` (within its longest), with a reason.
    /// Flagged notes are opened only with a reason of their own. The Data Protection Officer's
    /// decision (`access.grant`), audited. A processor's worker is referred a person only through a
    /// disclosure to their processor ([`Confidant::share`]), never here.
    pub async fn grant_trustee_matter(
        &self,
        actor: &Principal,
        staff_id: Uuid,
        person_id: Uuid,
        input: &TrusteeGrant,
    ) -> Result<GrantRecord, PersonError> {
        // The permit first: who may not grant learns nothing from how the input is checked.
        let purpose = Purpose::Administration;
        let resource = self
            .person_resource(actor, Action::AccessGrant, person_id, purpose)
            .await?;
        self.person_permit(actor, Action::AccessGrant, resource, purpose)
            .await?;
        // A member of staff of another organisation, or none, is not found.
        let Resource::Person {
            organisation_id, ..
        } = resource
        else {
            return Err(PersonError::NotFound);
        };
        if self
            .store
            .staff(staff_id)
            .await?
            .is_none_or(|s| s.organisation_id != organisation_id)
        {
            return Err(PersonError::NotFound);
        }
        let mut v = Vec::new();
        let matter = self
            .register()
            .and_then(|r| r.trustee_matter(input.matter.trim()));
        if matter.is_none() {
            v.push(Violation::new(
                "matter",
                "is not a kind of trustees' matter the register names",
            ));
        }
        let mut parts: Vec<String> = Vec::new();
        for part in &input.parts {
            let part = part.trim();
            if MatterPart::from_code(part).is_none()
                || matter.is_some_and(|m| !m.parts.iter().any(|p| p == part))
            {
                v.push(Violation::new(
                    "parts",
                    "holds a part of the record this kind of matter does not open",
                ));
            } else if !parts.iter().any(|p| p == part) {
                parts.push(part.to_owned());
            }
        }
        if input.parts.is_empty() {
            v.push(Violation::new(
                "parts",
                "choose the parts of the record to open",
            ));
        }
        let longest = matter.map_or(366, |m| i64::from(m.max_days));
        if !(1..=longest).contains(&input.days) {
            v.push(Violation::new(
                "days",
                format!("must be between 1 and {longest}"),
            ));
        }
        let reason = match free_text("reason", &input.reason, MIN_REASON) {
            Ok(r) => Some(r),
            Err(e) => {
                v.extend(e.0);
                None
            }
        };
        let flagged_reason = match input.flagged_reason.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => match free_text("flagged_reason", text, MIN_REASON) {
                Ok(r) => Some(r),
                Err(e) => {
                    v.extend(e.0);
                    None
                }
            },
        };
        let (Some(reason), Some(matter), true) = (reason, matter, v.is_empty()) else {
            return Err(PersonError::Invalid(Violations(v)));
        };
        let scope = MatterScope {
            matter: matter.id.clone(),
            parts,
            flagged_reason,
        };
        let terms = Terms {
            reason: &reason,
            duration: Duration::days(input.days),
            scope: Some(scope),
        };
        self.open_grant(
            actor,
            Grant::TrusteeMatter,
            Some(staff_id),
            person_id,
            terms,
        )
        .await
    }

    async fn open_grant(
        &self,
        actor: &Actor,
        kind: Grant,
        grantee: Option<Uuid>,
        person_id: Uuid,
        terms: Terms<'_>,
    ) -> Result<GrantRecord, PersonError> {
        let Terms {
            reason,
            duration,
            scope,
        } = terms;
        let purpose = Purpose::Administration;
        let action = match kind {
            Grant::BreakGlass => Action::PersonBreakGlass,
            _ => Action::AccessGrant,
        };
        let resource = self
            .person_resource(actor, action, person_id, purpose)
            .await?;
        let permit = self.person_permit(actor, action, resource, purpose).await?;
        let Resource::Person {
            organisation_id,
            service_id,
            ..
        } = resource
        else {
            return Err(PersonError::NotFound);
        };
        let service_id = Some(service_id);
        let staff_id = match (grantee, actor) {
            (Some(id), _) => {
                let staff = self
                    .store
                    .staff(id)
                    .await?
                    .filter(|s| s.organisation_id == organisation_id)
                    .filter(|s| s.disabled_at_micros.is_none());
                let fits = staff.as_ref().is_some_and(|s| match kind {
                    Grant::TrusteeMatter => s.role == crate::Role::Trustee,
                    Grant::ProcessorReferral => s.role == crate::Role::ProcessorStaff,
                    Grant::BreakGlass => false,
                });
                if !fits {
                    return Err(PersonError::Invalid(Violations(vec![Violation::new(
                        "staff_id",
                        "is not a trustee (or processor's worker) of this organisation",
                    )])));
                }
                id
            }
            (None, Actor::Staff(me)) => me.user_id,
            (None, Actor::System) => return Err(PersonError::NotFound),
        };
        let (key, version) = self
            .person_key(&permit)
            .await
            .map(|(k, w)| (k, w.version))?;
        let id = Uuid::now_v7();
        let row = id.to_string();
        let now = self.clock.now();
        let record = GrantRecord {
            id,
            kind,
            staff_id,
            person_id,
            organisation_id,
            reason: Some(key.seal(&address("reason", &row, version), reason.as_bytes())),
            granted_by: actor.audit_id(),
            starts_at_micros: micros(now),
            ends_at_micros: micros(now + duration),
            revoked_at_micros: None,
            review_state: (kind == Grant::BreakGlass).then_some(ReviewState::Pending),
            reviewed_by: None,
            reviewed_at_micros: None,
            review_note: None,
            matter: scope.as_ref().map(|s| s.matter.clone()),
            flagged_reason: scope
                .as_ref()
                .and_then(|s| s.flagged_reason.as_deref())
                .map(|r| key.seal(&address("flagged_reason", &row, version), r.as_bytes())),
            parts: scope.map(|s| s.parts).unwrap_or_default(),
        };
        let mut audit = AuditDraft::permitted(&permit, purpose, now);
        if kind == Grant::BreakGlass {
            audit = audit.opens(NewTask::review(
                TaskKind::BreakGlassReview,
                organisation_id,
                service_id,
                person_id,
                id,
            ));
        }
        self.store.create_grant(&record, audit).await?;
        Ok(record)
    }

    async fn view(&self, record: GrantRecord) -> Result<GrantView, PersonError> {
        // A person erased since: the reason went with their key.
        let key = match self
            .store
            .person_key(&PersonAccess::named_by_permitted_record(record.person_id))
            .await?
        {
            Some(w) => Some((self.keys.data_key(&w)?, w.version)),
            None => None,
        };
        let row = record.id.to_string();
        let open = |column: &'static str, sealed: &Option<Vec<u8>>| -> Option<String> {
            let (key, version) = key.as_ref()?;
            let bytes = key
                .open(&address(column, &row, *version), sealed.as_deref()?)
                .ok()?;
            String::from_utf8(bytes.to_vec()).ok()
        };
        Ok(GrantView {
            id: record.id,
            kind: record.kind,
            staff_id: record.staff_id,
            person_id: record.person_id,
            reason: open("reason", &record.reason),
            starts_at: from_micros(record.starts_at_micros),
            ends_at: from_micros(record.ends_at_micros),
            review_state: record.review_state,
            reviewed_by: record.reviewed_by.clone(),
            reviewed_at: record.reviewed_at_micros.map(from_micros),
            review_note: open("review_note", &record.review_note),
        })
    }

    /// The organisation's break-the-glass accesses for review (pending only, or the latest of all).
    pub async fn break_glass_queue(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        pending_only: bool,
    ) -> Result<Vec<GrantView>, PersonError> {
        let permit = self
            .person_permit(
                actor,
                Action::BreakGlassReview,
                Resource::Organisation {
                    id: organisation_id,
                },
                Purpose::Audit,
            )
            .await?;
        let audit = AuditDraft::permitted(&permit, Purpose::Audit, self.clock.now());
        self.store.record_access(audit).await?;
        let records = self
            .store
            .grants_of(organisation_id, Grant::BreakGlass, pending_only, 200)
            .await?;
        let mut views = Vec::with_capacity(records.len());
        for r in records {
            views.push(self.view(r).await?);
        }
        Ok(views)
    }

    /// Signs off or escalates a pending break-the-glass access, with an optional note.
    pub async fn review_break_glass(
        &self,
        actor: &Principal,
        grant_id: Uuid,
        decision: ReviewState,
        note: &str,
    ) -> Result<(), PersonError> {
        if decision == ReviewState::Pending {
            return Err(PersonError::Invalid(Violations(vec![Violation::new(
                "decision",
                "must be signed off or escalated",
            )])));
        }
        let note = if note.trim().is_empty() {
            None
        } else {
            Some(free_text("note", note, 1).map_err(PersonError::Invalid)?)
        };
        let record = self
            .store
            .grant(grant_id)
            .await?
            .filter(|g| g.kind == Grant::BreakGlass)
            .ok_or(PersonError::NotFound)?;
        let permit = self
            .person_permit(
                actor,
                Action::BreakGlassReview,
                Resource::Organisation {
                    id: record.organisation_id,
                },
                Purpose::Audit,
            )
            .await?;
        if Some(record.staff_id) == actor_user(actor) {
            return Err(PersonError::Invalid(Violations(vec![Violation::new(
                "decision",
                "someone else must review your own break-the-glass access",
            )])));
        }
        let sealed = match &note {
            Some(text) => {
                // The review's permit is on the organisation's queue; the grant names the person.
                let wrapped = self
                    .store
                    .person_key(&PersonAccess::named_by_permitted_record(record.person_id))
                    .await?
                    .ok_or(PersonError::NotFound)?;
                let (key, version) = (self.keys.data_key(&wrapped)?, wrapped.version);
                let row = record.id.to_string();
                Some(key.seal(&address("review_note", &row, version), text.as_bytes()))
            }
            None => None,
        };
        let audit = AuditDraft::permitted(&permit, Purpose::Audit, self.clock.now())
            .about(record.person_id)
            .closes(TaskKind::BreakGlassReview, grant_id);
        let done = self
            .store
            .review_grant(
                grant_id,
                decision,
                &actor.audit_id(),
                micros(self.clock.now()),
                sealed.as_deref(),
                audit,
            )
            .await?;
        if done {
            Ok(())
        } else {
            Err(PersonError::Conflict(
                "this access has already been reviewed",
            ))
        }
    }
}
