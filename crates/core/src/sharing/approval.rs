//! A second person's approval of categories beyond a recipient's set.

use super::*;
use crate::access::Principal;

impl<S: Store, C: Clock> Confidant<S, C> {
    /// Asks a second person to approve sending `categories` (beyond the recipient's set) with a
    /// justification.
    pub async fn request_approval(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        recipient_id: Uuid,
        categories: &[String],
        justification: &str,
    ) -> Result<ApprovalRecord, PersonError> {
        let (permit, resource) = self
            .permit_on_person(actor, Action::PersonShare, person_id, purpose)
            .await?;
        let recipient = self
            .store
            .recipient(recipient_id)
            .await?
            .filter(|r| Some(r.organisation_id) == resource.organisation_id())
            .ok_or_else(|| invalid("recipient_id", "is not in the register"))?;
        let mut v = Vec::new();
        let justification = collect(
            &mut v,
            reason_text("justification", Some(justification))
                .and_then(|j| j.ok_or_else(|| Violation::new("justification", "is required"))),
        );
        let mut wanted = Vec::new();
        for c in categories {
            let c = c.trim();
            if !is_category(c) {
                v.push(Violation::new("categories", "holds an unknown category"));
            } else if recipient.categories.iter().any(|x| x == c) {
                v.push(Violation::new(
                    "categories",
                    "holds a category the recipient may already receive",
                ));
            } else if !wanted.iter().any(|x: &String| x == c) {
                wanted.push(c.to_owned());
            }
        }
        // With no categories, the request is to share despite a restriction or an upheld
        // objection: only then may it be empty.
        let limited = self
            .store
            .restrictions_of(&access_of(&permit)?)
            .await?
            .iter()
            .any(|r| r.lifted_at_micros.is_none());
        if wanted.is_empty() && v.is_empty() && !limited {
            v.push(Violation::new("categories", "name at least one category"));
        }
        let Some(justification) = justification.filter(|_| v.is_empty()) else {
            return Err(PersonError::Invalid(Violations(v)));
        };
        let (key, wrapped) = self.person_key(&permit).await?;
        let now = self.clock.now();
        let record = ApprovalRecord {
            id: Uuid::now_v7(),
            person_id,
            recipient_id,
            categories: wanted,
            key_version: wrapped.version,
            requested_by: actor.audit_id(),
            requested_at_micros: micros(now),
            state: ApprovalState::Pending,
            decided_by: None,
            decided_at_micros: None,
            used_by: None,
        };
        let sealed = seal_values(
            &key,
            record.id,
            record.key_version,
            [("justification", justification.as_str())],
        );
        let Resource::Person {
            service_id,
            organisation_id,
            ..
        } = resource
        else {
            return Err(PersonError::NotFound);
        };
        let audit = AuditDraft::permitted(&permit, purpose, now)
            .named("share.approval_request")
            .opens(NewTask::share_approval(
                organisation_id,
                service_id,
                person_id,
                record.id,
            ));
        self.store.create_approval(&record, &sealed, audit).await?;
        Ok(record)
    }

    /// A person's approval requests with their justifications opened (for the approver).
    pub async fn approvals(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<Vec<(ApprovalRecord, String)>, PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonRead, person_id, purpose)
            .await?;
        Self::not_for_processors(&permit)?;
        let audit =
            AuditDraft::permitted(&permit, purpose, self.clock.now()).named("share.approval_read");
        self.store.record_access(audit).await?;
        let (key, _) = self.person_key(&permit).await?;
        let mut out = Vec::new();
        for record in self.store.approvals_of(&access_of(&permit)?).await? {
            let justification = match self.store.approval(record.id).await? {
                Some((_, sealed)) => sealed
                    .iter()
                    .find(|(c, _)| c == "justification")
                    .map(|(c, v)| open_value(&key, record.id, record.key_version, c, v))
                    .transpose()?
                    .unwrap_or_default(),
                None => String::new(),
            };
            out.push((record, justification));
        }
        Ok(out)
    }

    /// The second person's decision (`share.approve`): never the one who asked.
    pub async fn decide_approval(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        approval_id: Uuid,
        approve: bool,
    ) -> Result<(), PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::ShareApprove, person_id, purpose)
            .await?;
        let Some((record, _)) = self
            .store
            .approval(approval_id)
            .await?
            .filter(|(a, _)| a.person_id == person_id)
        else {
            return Err(PersonError::NotFound);
        };
        if record.requested_by == actor.audit_id() {
            return Err(invalid(
                "approval_id",
                "a second person must decide: not the one who asked",
            ));
        }
        let state = if approve {
            ApprovalState::Approved
        } else {
            ApprovalState::Refused
        };
        let now = self.clock.now();
        let audit = AuditDraft::permitted(&permit, purpose, now)
            .named(if approve {
                "share.approve"
            } else {
                "share.approval_refuse"
            })
            .closes(TaskKind::ShareApproval, approval_id);
        if self
            .store
            .decide_approval(
                approval_id,
                &access_of(&permit)?,
                state,
                &actor.audit_id(),
                micros(now),
                audit,
            )
            .await?
        {
            Ok(())
        } else {
            Err(PersonError::Conflict(
                "that request has already been decided",
            ))
        }
    }
}
