//! The disclosure log: reading it, reviewing emergencies, ending and scoping processors' referrals, and whom to tell of a correction.

use super::*;
use crate::access::Principal;

impl<S: Store, C: Clock> Confidant<S, C> {
    /// A person's disclosure log, newest first (reasons opened; packages left out).
    pub async fn disclosures(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<Vec<Disclosure>, PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonRead, person_id, purpose)
            .await?;
        Self::not_for_processors(&permit)?;
        let audit =
            AuditDraft::permitted(&permit, purpose, self.clock.now()).named("disclosure.read");
        self.store.record_access(audit).await?;
        let mut out = Vec::new();
        for record in self.store.disclosures_of(&access_of(&permit)?).await? {
            out.push(self.open_disclosure(record.id, false).await?);
        }
        Ok(out)
    }

    /// One disclosure of a person with its package, for the person's own staff.
    pub async fn disclosure(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        disclosure_id: Uuid,
    ) -> Result<Disclosure, PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonRead, person_id, purpose)
            .await?;
        Self::not_for_processors(&permit)?;
        let of_this_person = self
            .store
            .disclosure(disclosure_id)
            .await?
            .is_some_and(|(d, _, _)| d.person_id == person_id);
        if !of_this_person {
            return Err(PersonError::NotFound);
        }
        let d = self.open_disclosure(disclosure_id, true).await?;
        let audit =
            AuditDraft::permitted(&permit, purpose, self.clock.now()).named("disclosure.read");
        self.store.record_access(audit).await?;
        Ok(d)
    }

    pub(crate) async fn open_disclosure(
        &self,
        disclosure_id: Uuid,
        with_package: bool,
    ) -> Result<Disclosure, PersonError> {
        let (record, items, sealed) = self
            .store
            .disclosure(disclosure_id)
            .await?
            .ok_or(PersonError::NotFound)?;
        let recipient_name = self
            .store
            .recipient(record.recipient_id)
            .await?
            .map(|r| r.name)
            .unwrap_or_default();
        // An erased person's key is gone: the log keeps ids, codes and times only.
        let key = match self
            .store
            .person_key(&PersonAccess::named_by_permitted_record(record.person_id))
            .await?
        {
            Some(w) => Some(self.keys.data_key(&w)?),
            None => None,
        };
        let mut opened: BTreeMap<String, String> = BTreeMap::new();
        if let Some(key) = &key {
            for (code, value) in &sealed {
                if code == "package" && !with_package {
                    continue;
                }
                opened.insert(
                    code.clone(),
                    open_value(key, record.id, record.key_version, code, value)?,
                );
            }
        }
        let package = opened
            .remove("package")
            .and_then(|p| serde_json::from_str(&p).ok());
        let sending = self
            .store
            .message_of_disclosure(disclosure_id)
            .await?
            .map(|(record, attempts)| crate::message::MessageStatus { record, attempts });
        Ok(Disclosure {
            recipient_name,
            items,
            reason: opened.remove("reason"),
            court_order_ref: opened.remove("court_order_ref"),
            not_told_reason: opened.remove("not_told_reason"),
            without_consent_reason: opened.remove("without_consent_reason"),
            ground: opened.remove("ground"),
            ground_reason: opened.remove("ground_reason"),
            package,
            sending,
            record,
        })
    }

    /// A recipient's disclosures, for the Data Protection Officer and the Caldicott Guardian (ids,
    /// codes and times: `oversight.read` on the organisation).
    pub async fn disclosures_to(
        &self,
        actor: &Principal,
        recipient_id: Uuid,
    ) -> Result<Vec<DisclosureRecord>, PersonError> {
        let recipient = self
            .store
            .recipient(recipient_id)
            .await?
            .ok_or(PersonError::NotFound)?;
        let resource = self.register_resource(recipient.organisation_id);
        let permit = self
            .person_permit(actor, Action::OversightRead, resource, Purpose::Audit)
            .await?;
        let audit = AuditDraft::permitted(&permit, Purpose::Audit, self.clock.now())
            .named("disclosure.list");
        Ok(self.store.disclosures_to(recipient_id, audit).await?)
    }

    /// Emergency disclosures (vital interests) waiting for review.
    pub async fn disclosures_to_review(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
    ) -> Result<Vec<DisclosureRecord>, PersonError> {
        let resource = self.register_resource(organisation_id);
        let permit = self
            .person_permit(actor, Action::BreakGlassReview, resource, Purpose::Audit)
            .await?;
        let audit = AuditDraft::permitted(&permit, Purpose::Audit, self.clock.now())
            .named("disclosure.review_list");
        Ok(self
            .store
            .disclosures_to_review(organisation_id, audit)
            .await?)
    }

    /// Signs off (or escalates) an emergency disclosure.
    pub async fn review_disclosure(
        &self,
        actor: &Principal,
        disclosure_id: Uuid,
        escalate: bool,
    ) -> Result<(), PersonError> {
        let (record, _, _) = self
            .store
            .disclosure(disclosure_id)
            .await?
            .ok_or(PersonError::NotFound)?;
        let placement = self
            .store
            .placement(record.person_id)
            .await?
            .ok_or(PersonError::NotFound)?;
        if record.requested_by == actor.audit_id() {
            return Err(invalid(
                "disclosure_id",
                "an emergency share is reviewed by someone other than the one who made it",
            ));
        }
        let resource = self.register_resource(placement.organisation_id);
        let permit = self
            .person_permit(actor, Action::BreakGlassReview, resource, Purpose::Audit)
            .await?;
        let state = if escalate {
            ReviewState::Escalated
        } else {
            ReviewState::SignedOff
        };
        let audit = AuditDraft::permitted(&permit, Purpose::Audit, self.clock.now())
            .named("disclosure.review")
            .closes(TaskKind::EmergencyReview, disclosure_id);
        if self
            .store
            .review_disclosure(disclosure_id, state, &actor.audit_id(), audit)
            .await?
        {
            Ok(())
        } else {
            Err(PersonError::Conflict(
                "that disclosure is not waiting for review",
            ))
        }
    }

    /// Ends a processor's referral: its worker loses the person at once.
    pub async fn end_referral(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        disclosure_id: Uuid,
    ) -> Result<(), PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonShare, person_id, purpose)
            .await?;
        let now = self.clock.now();
        let audit = AuditDraft::permitted(&permit, purpose, now).named("share.referral_end");
        let is_referral = self
            .store
            .disclosure(disclosure_id)
            .await?
            .is_some_and(|(d, _, _)| d.person_id == person_id && d.grant_id.is_some());
        if !is_referral {
            return Err(PersonError::NotFound);
        }
        if self
            .store
            .end_disclosure(disclosure_id, &access_of(&permit)?, micros(now), audit)
            .await?
        {
            Ok(())
        } else {
            Err(PersonError::Conflict("that referral has already ended"))
        }
    }

    /// A processor's worker's live referrals of this person: disclosures to the processor they
    /// work for, naming them, not ended or run out, while the processor is in the register with its
    /// agreement in force and the record is not restricted. Anything else ends the access at once.
    pub(crate) async fn live_referrals(
        &self,
        staff_id: Uuid,
        person_id: Uuid,
    ) -> Result<Vec<DisclosureRecord>, PersonError> {
        let now = micros(self.clock.now());
        let access = PersonAccess::deciding(person_id);
        let restricted = self
            .store
            .restrictions_of(&access)
            .await?
            .iter()
            .any(|r| r.kind == RestrictionKind::Restriction && r.lifted_at_micros.is_none());
        let works_for = self.store.staff_recipient(staff_id).await?;
        if restricted || works_for.is_none() {
            return Ok(Vec::new());
        }
        let mut live = Vec::new();
        for d in self.store.disclosures_of(&access).await? {
            if d.processor_staff_id != Some(staff_id)
                || d.ended_at_micros.is_some()
                || d.ends_at_micros.is_none_or(|e| e <= now)
                || Some(d.recipient_id) != works_for
            {
                continue;
            }
            let in_force = self
                .store
                .recipient(d.recipient_id)
                .await?
                .is_some_and(|r| {
                    r.retired_at_micros.is_none_or(|t| t > now)
                        && r.dpa_starts_at_micros.is_some_and(|s| s <= now)
                        && r.dpa_ends_at_micros.is_some_and(|e| e > now)
                });
            if in_force {
                live.push(d);
            }
        }
        Ok(live)
    }

    /// When a permit rests on a processor's referral: what was referred, that is the person's
    /// fields and the entries the live referrals sent (the worker sees and changes only those).
    /// `None` for everyone else.
    pub(crate) async fn referred_scope(
        &self,
        permit: &Permit,
        person_id: Uuid,
    ) -> Result<Option<Referred>, PersonError> {
        if permit.grant() == Some(Grant::TrusteeMatter) {
            return self.matter_scope(permit, person_id).await;
        }
        if permit.grant() != Some(Grant::ProcessorReferral) {
            return Ok(None);
        }
        let mut scope = Referred::default();
        let Actor::Staff(staff) = permit.actor() else {
            return Ok(Some(scope));
        };
        for d in self.live_referrals(staff.user_id, person_id).await? {
            if let Some((_, items, _)) = self.store.disclosure(d.id).await? {
                for item in items {
                    match item {
                        DisclosedItem::Field(code) => {
                            if let Some(field) = PersonField::from_code(&code) {
                                scope.fields.insert(field);
                            }
                        }
                        DisclosedItem::Entry(id) => {
                            scope.entries.insert(id);
                        }
                    }
                }
            }
        }
        Ok(Some(scope))
    }

    /// Refuses what a processor's worker is never given, whatever was referred: the sharing
    /// history (other recipients, reasons), approvals, correction history, documents and exports.
    pub(crate) fn not_for_processors(permit: &Permit) -> Result<(), PersonError> {
        if permit.grant() == Some(Grant::ProcessorReferral) {
            Err(PersonError::NotFound)
        } else {
            Ok(())
        }
    }

    /// The tasks to tell each recipient of a change (Art. 19), for the change under `permit` to open
    /// in its own transaction: whom [`Self::recipients_to_tell`] names, read from the disclosure log
    /// (audited as that read). None when a processor's worker makes the change: the service that
    /// referred the record keeps its log and tells its recipients.
    pub(crate) async fn tasks_to_tell(
        &self,
        permit: &Permit,
        purpose: Purpose,
        fields: &[&str],
    ) -> Result<Vec<NewTask>, PersonError> {
        let Resource::Person {
            id: person_id,
            service_id,
            organisation_id,
            team_id,
            key_worker_id,
            scope,
        } = *permit.resource()
        else {
            return Ok(Vec::new());
        };
        let placement = crate::store::Placement {
            person_id,
            service_id,
            organisation_id,
            team_id,
            key_worker_id,
            scope,
        };
        if permit.grant() == Some(Grant::ProcessorReferral) {
            return Ok(Vec::new());
        }
        let audit =
            AuditDraft::permitted(permit, purpose, self.clock.now()).named("disclosure.recipients");
        let mut tasks = Vec::new();
        for id in self
            .store
            .recipients_of(&access_of(permit)?, fields, audit)
            .await?
        {
            if let Some(r) = self.store.recipient(id).await?
                && r.kind != RecipientKind::DataSubject
            {
                tasks.push(NewTask::tell_recipient(&placement, r.id));
            }
        }
        Ok(tasks)
    }

    /// Who must be told of a change (Art. 19): every recipient the disclosure log shows received
    /// what changed, except the person themselves. Of a correction, those who received the fields
    /// corrected, asked by whoever may read the record; of a restriction (or an erasure), those who
    /// received anything, asked by whoever may restrict it. A processor's worker may ask neither: the
    /// disclosure log is not theirs to see. Audited as a read of the disclosure log.
    pub async fn recipients_to_tell(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        change: ToTell<'_>,
    ) -> Result<Vec<RecipientRecord>, PersonError> {
        let (action, fields) = match change {
            ToTell::Correction(fields) => (Action::PersonRead, fields),
            ToTell::Restriction => (Action::PersonRestrict, &[][..]),
        };
        let (permit, _) = self
            .permit_on_person(actor, action, person_id, purpose)
            .await?;
        Self::not_for_processors(&permit)?;
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now())
            .named("disclosure.recipients");
        let mut out = Vec::new();
        for id in self
            .store
            .recipients_of(&access_of(&permit)?, fields, audit)
            .await?
        {
            if let Some(r) = self.store.recipient(id).await?
                && r.kind != RecipientKind::DataSubject
            {
                out.push(r);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

/// What changed, for [`Confidant::recipients_to_tell`].
#[derive(Debug, Clone, Copy)]
pub enum ToTell<'a> {
    /// These fields of the person were corrected (their codes; none named: any of them).
    Correction(&'a [&'a str]),
    /// Processing of the person was restricted, or an objection upheld: anything they received.
    Restriction,
}
