//! The share: parsing, the facts the rules read, the decision, and writing the disclosure.

use super::*;
use crate::access::Principal;
use preview::Contents;

impl<S: Store, C: Clock> Confidant<S, C> {
    pub(super) async fn parse_share(
        &self,
        request: &ShareRequest,
        organisation_id: Uuid,
        person_id: Uuid,
        mode: Mode,
    ) -> Result<Parsed, PersonError> {
        let mut v = Vec::new();
        let recipient = self
            .store
            .recipient(request.recipient_id)
            .await?
            .filter(|r| {
                r.organisation_id == organisation_id && r.kind != RecipientKind::DataSubject
            });
        if recipient.is_none() {
            v.push(Violation::new("recipient_id", "is not in the register"));
        }
        let mut fields = Vec::new();
        for f in &request.fields {
            match PersonField::from_code(f.trim()) {
                Some(field) if !fields.contains(&field) => fields.push(field),
                Some(_) => {}
                None => v.push(Violation::new("fields", "holds an unknown field")),
            }
        }
        if fields.is_empty() && request.entries == EntrySelection::None {
            v.push(Violation::new("fields", "choose some data to share"));
        }
        let basis = match LawfulBasis::from_code(request.basis.trim()) {
            Some(LawfulBasis::SubjectRequest) | None => {
                v.push(Violation::new("basis", "is not a known lawful basis"));
                None
            }
            Some(b) => Some(b),
        };
        let article9 = collect(
            &mut v,
            code(
                "article9",
                request.article9.as_deref(),
                Article9Condition::from_code,
            ),
        )
        .flatten();
        let schedule1 = collect(
            &mut v,
            code(
                "schedule1",
                request.schedule1.as_deref(),
                Schedule1Condition::from_code,
            ),
        )
        .flatten();
        let ground = collect(
            &mut v,
            code(
                "ground",
                request.ground.as_deref(),
                OverrideGround::from_code,
            ),
        )
        .flatten();
        let mut texts = BTreeMap::new();
        let mut put =
            |v: &mut Vec<Violation>, k: &'static str, r: Result<Option<String>, Violation>| {
                if let Some(Some(t)) = collect(v, r) {
                    texts.insert(k, t);
                }
            };
        // A dry run (the check step) comes before the reasons are written: it holds their absence
        // against nothing; the share itself does.
        let share = mode == Mode::Share;
        put(
            &mut v,
            "reason",
            reason_text("reason", Some(&request.reason)).and_then(|r| match r {
                None if share => Err(Violation::new("reason", "is required")),
                r => Ok(r),
            }),
        );
        let court = text("court_order_ref", request.court_order_ref.as_deref(), false);
        if share && basis == Some(LawfulBasis::CourtOrder) && matches!(court, Ok(None)) {
            v.push(Violation::new(
                "court_order_ref",
                "a share under a court order needs the order's reference",
            ));
        }
        put(&mut v, "court_order_ref", court);
        let not_told = reason_text("not_told_reason", request.not_told_reason.as_deref());
        if share && !request.person_told && matches!(not_told, Ok(None)) {
            v.push(Violation::new(
                "not_told_reason",
                "say why the person is not told",
            ));
        }
        put(&mut v, "not_told_reason", not_told);
        put(
            &mut v,
            "without_consent_reason",
            reason_text(
                "without_consent_reason",
                request.without_consent_reason.as_deref(),
            ),
        );
        if ground.is_some() {
            let why = reason_text("ground_reason", request.ground_reason.as_deref());
            if share && matches!(why, Ok(None)) {
                v.push(Violation::new(
                    "ground_reason",
                    "say why the ground applies",
                ));
            }
            put(&mut v, "ground_reason", why);
        }
        if let Some(g) = ground {
            texts.insert("ground", g.code().to_owned());
        }
        let mut processor = None;
        if let Some(r) = recipient
            .as_ref()
            .filter(|r| r.kind == RecipientKind::Processor)
        {
            match (request.processor_staff_id, request.referral_days) {
                (Some(staff), Some(days)) if (1..=366).contains(&days) => {
                    let works_there = self.store.staff_recipient(staff).await? == Some(r.id)
                        && self.store.staff(staff).await?.is_some_and(|s| {
                            s.role == Role::ProcessorStaff && s.disabled_at_micros.is_none()
                        });
                    if works_there {
                        processor = Some((staff, days));
                    } else {
                        v.push(Violation::new(
                            "processor_staff_id",
                            "is not a worker of this processor",
                        ));
                    }
                }
                (Some(_), Some(_)) => {
                    v.push(Violation::new("referral_days", "must be 1 to 366 days"));
                }
                _ => v.push(Violation::new(
                    "processor_staff_id",
                    "a referral to a processor names its worker and how many days it lasts",
                )),
            }
        }
        if let EntrySelection::Some(ids) = &request.entries {
            if ids.is_empty() {
                v.push(Violation::new("entries", "choose at least one entry"));
            } else {
                let mine: BTreeSet<Uuid> = self
                    .store
                    .entry_flags(&PersonAccess::deciding(person_id), &SHAREABLE_KINDS)
                    .await?
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect();
                if ids.iter().any(|id| !mine.contains(id)) {
                    v.push(Violation::new(
                        "entries",
                        "holds an entry that is not a note, plan, goal or appointment of this record",
                    ));
                }
            }
        }
        match (recipient, basis) {
            (Some(recipient), Some(basis)) if v.is_empty() => Ok(Parsed {
                recipient,
                fields,
                entries: request.entries.clone(),
                basis,
                article9,
                schedule1,
                ground,
                texts,
                person_told: request.person_told,
                processor,
                consent_purpose_id: request.consent_purpose_id,
            }),
            _ => Err(PersonError::Invalid(Violations(v))),
        }
    }

    /// Where a register governs the service's organisation, what it gives this share (see
    /// [`Route`]); fails closed (nothing named) when the register in hand is not that
    /// organisation's.
    async fn register_route(
        &self,
        service_id: Uuid,
        recipient: &RecipientRecord,
        basis: LawfulBasis,
        line: Option<&ConsentPurposeRecord>,
    ) -> Result<Option<Route>, PersonError> {
        let Some(service) = self.store.service(service_id).await? else {
            return Err(PersonError::NotFound);
        };
        let Some(organisation) = self
            .store
            .organisation(service.organisation_id)
            .await?
            .and_then(|o| o.code)
        else {
            return Ok(None);
        };
        let register = self
            .register()
            .filter(|r| r.organisation.id == organisation);
        Ok(Some(match (register, &service.code, &recipient.code) {
            (Some(register), Some(service), Some(recipient)) => Route::of(
                register,
                service,
                recipient,
                basis,
                line.map(|l| l.code.as_str()),
            ),
            _ => Route::default(),
        }))
    }

    pub(super) async fn facts(
        &self,
        actor: &Actor,
        purpose: Purpose,
        person_id: Uuid,
        service_id: Uuid,
        parsed: &Parsed,
        approval: Option<&ApprovalRecord>,
    ) -> Result<Facts, PersonError> {
        let now = micros(self.clock.now());
        let form = self.store.consent_purposes(service_id).await?;
        let history = self
            .store
            .consents_of(&PersonAccess::deciding(person_id))
            .await?;
        // The purposes of the form that cover this recipient; the share's is named, or implied when
        // there is only one. A retired purpose covers nothing.
        let covering: Vec<&ConsentPurposeRecord> = form
            .iter()
            .filter(|p| {
                p.retired_at_micros.is_none() && p.recipient_ids.contains(&parsed.recipient.id)
            })
            .collect();
        let line = match parsed.consent_purpose_id {
            Some(id) => Some(covering.iter().copied().find(|p| p.id == id).ok_or_else(|| {
                invalid(
                    "consent_purpose_id",
                    "is not a consent purpose of this service's form that covers this recipient",
                )
            })?),
            None if covering.len() == 1 => covering.first().copied(),
            None if covering.len() > 1 => {
                return Err(invalid(
                    "consent_purpose_id",
                    "this recipient is on more than one consent purpose: name the one this share is for",
                ));
            }
            None => None,
        };
        let latest = line.and_then(|line| history.iter().rfind(|c| c.purpose_id == line.id));
        let consent = ConsentFinding::of(line, latest, now);
        debug_assert_eq!(
            consent.live(),
            latest.zip(line).is_some_and(|(c, l)| is_live(c, l, now))
        );
        let route = self
            .register_route(service_id, &parsed.recipient, parsed.basis, line)
            .await?;
        let restrictions = self
            .store
            .restrictions_of(&PersonAccess::deciding(person_id))
            .await?;
        let in_force = |k| {
            restrictions
                .iter()
                .any(|r| r.kind == k && r.lifted_at_micros.is_none())
        };
        let usable = approval.filter(|a| a.usable(parsed.recipient.id, person_id, now));
        let approved_categories = usable
            .map(|a| a.categories.iter().cloned().collect())
            .unwrap_or_default();
        // Sharing despite a restriction or an upheld objection: the approval must come from the
        // Data Protection Officer or the Caldicott Guardian, who decide on restrictions.
        let mut override_approved = false;
        if let Some(decider) = usable
            .and_then(|a| a.decided_by.as_deref())
            .and_then(|d| Uuid::parse_str(d).ok())
        {
            override_approved = self.store.staff(decider).await?.is_some_and(|s| {
                matches!(
                    s.role,
                    Role::DataProtectionOfficer | Role::CaldicottGuardian
                )
            });
        }
        let mut perpetrator_in_recipient = false;
        if let Some(partner) = parsed.recipient.partner_service_id {
            let (permit, _) = self
                .permit_on_person(actor, Action::PersonRead, person_id, purpose)
                .await?;
            let audit =
                AuditDraft::permitted(&permit, purpose, self.clock.now()).named("related.read");
            for (related, _, _) in self.store.related_of(&access_of(&permit)?, audit).await? {
                if related.relationship != Relationship::AllegedPerpetrator {
                    continue;
                }
                if let Some(linked) = related.linked_person_id
                    && self
                        .store
                        .placement(linked)
                        .await?
                        .is_some_and(|p| p.service_id == partner)
                {
                    perpetrator_in_recipient = true;
                }
            }
        }
        let with_entries = parsed.entries != EntrySelection::None;
        let flagged_selected = match &parsed.entries {
            EntrySelection::Some(ids) => {
                let flagged: BTreeSet<Uuid> = self
                    .store
                    .entry_flags(&PersonAccess::deciding(person_id), &SHAREABLE_KINDS)
                    .await?
                    .into_iter()
                    .filter_map(|(id, flagged)| flagged.then_some(id))
                    .collect();
                ids.iter().any(|id| flagged.contains(id))
            }
            _ => false,
        };
        let state = SharingState {
            consents: i64::try_from(history.len()).unwrap_or(i64::MAX),
            restrictions: i64::try_from(restrictions.len()).unwrap_or(i64::MAX),
            lifted: i64::try_from(
                restrictions
                    .iter()
                    .filter(|r| r.lifted_at_micros.is_some())
                    .count(),
            )
            .unwrap_or(i64::MAX),
        };
        Ok(Facts {
            state,
            now,
            consent,
            consent_purpose_id: line.filter(|_| consent.live()).map(|l| l.id),
            route,
            restricted: in_force(RestrictionKind::Restriction),
            objection: in_force(RestrictionKind::Objection),
            approved_categories,
            override_approved,
            perpetrator_in_recipient,
            flagged_selected,
            with_entries,
        })
    }

    /// Checks a share against every rule without sharing: what the wizard shows. Writes nothing
    /// but the audit of reading the rules' facts.
    pub async fn check_share(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        request: &ShareRequest,
    ) -> Result<Vec<Refusal>, PersonError> {
        let decision = self
            .decide(actor, purpose, person_id, request, Mode::Share)
            .await?;
        Ok(decision.refusals())
    }

    /// The steps a check and a share have in common: the permit, the request's checks, the facts
    /// and every rule broken.
    pub(super) async fn decide(
        &self,
        actor: &Actor,
        purpose: Purpose,
        person_id: Uuid,
        request: &ShareRequest,
        mode: Mode,
    ) -> Result<Decision, PersonError> {
        let (permit, resource) = self
            .permit_on_person(actor, Action::PersonShare, person_id, purpose)
            .await?;
        let (organisation_id, service_id) = placed(&resource)?;
        let parsed = self
            .parse_share(request, organisation_id, person_id, mode)
            .await?;
        let approval = self.approval_for(request, person_id).await?;
        let facts = self
            .facts(
                actor,
                purpose,
                person_id,
                service_id,
                &parsed,
                approval.as_ref(),
            )
            .await?;
        let broken = evaluate(&parsed, &facts);
        Ok(Decision {
            permit,
            organisation_id,
            service_id,
            parsed,
            approval,
            facts,
            broken,
        })
    }

    pub(super) async fn approval_for(
        &self,
        request: &ShareRequest,
        person_id: Uuid,
    ) -> Result<Option<ApprovalRecord>, PersonError> {
        match request.approval_id {
            None => Ok(None),
            Some(id) => match self.store.approval(id).await? {
                Some((a, _)) if a.person_id == person_id => Ok(Some(a)),
                _ => Err(invalid("approval_id", "is not an approval for this record")),
            },
        }
    }

    /// Shares: checks the request, refuses it naming every broken rule (audited as
    /// `share.refused`), or builds the package of exactly the permitted data and logs the
    /// disclosure with it. A share to a processor opens its worker's referral until it ends.
    pub async fn share(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        request: &ShareRequest,
    ) -> Result<Package, ShareError> {
        let decision = self
            .decide(actor, purpose, person_id, request, Mode::Share)
            .await?;
        if request.send && decision.parsed.recipient.secure_email.is_none() {
            return Err(invalid(
                "send",
                "this recipient has no secure email address in the register: download the package instead",
            )
            .into());
        }
        let refusals = decision.refusals();
        let Decision {
            permit,
            organisation_id,
            service_id,
            parsed,
            approval,
            facts,
            broken,
        } = decision;
        if !broken.is_empty() {
            let audit =
                AuditDraft::permitted(&permit, purpose, self.clock.now()).named("share.refused");
            self.store.record_access(audit).await?;
            return Err(ShareError::Blocked(Blocked(refusals)));
        }
        // The approval counts only if it was needed (categories beyond the recipient's set, or an
        // override of a restriction or objection): an unneeded one is not used up.
        let cats = categories_of(&parsed.fields, facts.with_entries);
        let needed_approval = cats
            .iter()
            .any(|c| !parsed.recipient.categories.contains(c));
        let override_needed = facts.restricted
            || (facts.objection
                && matches!(
                    parsed.basis,
                    LawfulBasis::LegitimateInterests | LawfulBasis::PublicTask
                ));
        let approval = approval.filter(|_| needed_approval || override_needed);

        let Contents {
            fields,
            entries,
            items,
        } = self.contents(actor, purpose, person_id, &parsed).await?;
        let now = self.clock.now();
        let id = Uuid::now_v7();
        let package = serde_json::json!({
            "disclosure_id": id,
            "person_id": person_id,
            "recipient": { "id": parsed.recipient.id, "name": parsed.recipient.name },
            "shared_at": rfc3339(now),
            "lawful_basis": parsed.basis.code(),
            "article9_condition": parsed.article9.map(Article9Condition::code),
            "schedule1_condition": parsed.schedule1.map(Schedule1Condition::code),
            "court_order_ref": parsed.texts.get("court_order_ref"),
            "fields": fields,
            "entries": entries,
        });
        let bytes = serde_json::to_vec(&package).map_err(|_| {
            PersonError::Store(crate::store::StoreError::Backend(
                "the package could not be written".to_owned(),
            ))
        })?;
        let (key, wrapped) = self.person_key(&permit).await?;
        let key_version = wrapped.version;
        let json_text = String::from_utf8_lossy(&bytes).into_owned();
        let mut sealed_pairs: Vec<(&str, &str)> = vec![("package", json_text.as_str())];
        for k in SEALED_TEXTS {
            if let Some(t) = parsed.texts.get(k) {
                sealed_pairs.push((k, t.as_str()));
            }
        }
        let sealed = seal_values(&key, id, key_version, sealed_pairs);
        let grant = parsed.processor.map(|(staff_id, days)| GrantRecord {
            id: Uuid::now_v7(),
            kind: Grant::ProcessorReferral,
            staff_id,
            person_id,
            organisation_id,
            reason: None,
            granted_by: actor.audit_id(),
            starts_at_micros: micros(now),
            ends_at_micros: micros(now + time::Duration::days(days)),
            revoked_at_micros: None,
            review_state: None,
            reviewed_by: None,
            reviewed_at_micros: None,
            review_note: None,
            matter: None,
            parts: Vec::new(),
            flagged_reason: None,
        });
        // The log's categories are those of what actually went (a field asked for but empty
        // sends nothing).
        let sent_fields: Vec<PersonField> = items
            .iter()
            .filter_map(|i| match i {
                DisclosedItem::Field(c) => PersonField::from_code(c),
                DisclosedItem::Entry(_) => None,
            })
            .collect();
        let sent_categories = categories_of(
            &sent_fields,
            items.iter().any(|i| matches!(i, DisclosedItem::Entry(_))),
        );
        let emergency = parsed.basis == LawfulBasis::VitalInterests;
        let record = DisclosureRecord {
            id,
            person_id,
            service_id,
            recipient_id: parsed.recipient.id,
            basis: parsed.basis,
            consent_purpose_id: facts.consent_purpose_id,
            article9: parsed.article9,
            schedule1: parsed.schedule1,
            categories: sent_categories.into_iter().collect(),
            key_version,
            requested_by: actor.audit_id(),
            approval_id: approval.as_ref().map(|a| a.id),
            approved_by: approval.as_ref().and_then(|a| a.decided_by.clone()),
            person_told: parsed.person_told,
            emergency,
            review_state: emergency.then_some(ReviewState::Pending),
            reviewed_by: None,
            package_hash: sha256(&bytes),
            shared_at_micros: micros(now),
            processor_staff_id: grant.as_ref().map(|g| g.staff_id),
            grant_id: grant.as_ref().map(|g| g.id),
            ends_at_micros: grant.as_ref().map(|g| g.ends_at_micros),
            ended_at_micros: None,
        };
        // The package's sending, in the disclosure's transaction (the address as the register
        // has it now).
        let message = match (request.send, parsed.recipient.secure_email.as_deref()) {
            (true, Some(to)) => Some(crate::contact::package_message(
                (&key, key_version),
                person_id,
                id,
                to,
                actor.audit_id(),
                now,
                AuditDraft::permitted(&permit, purpose, now),
            )?),
            _ => None,
        };
        let mut audit = AuditDraft::permitted(&permit, purpose, now).named("share.create");
        if let (true, Some(organisation_id)) = (emergency, permit.resource().organisation_id()) {
            audit = audit.opens(NewTask::review(
                TaskKind::EmergencyReview,
                organisation_id,
                Some(service_id),
                person_id,
                id,
            ));
        }
        self.store
            .record_disclosure(
                facts.state,
                &record,
                &items,
                &sealed,
                grant.as_ref(),
                message.as_ref(),
                audit,
            )
            .await?;
        Ok(Package {
            disclosure_id: id,
            json: package,
        })
    }

    /// Logs a copy of the record given to the person themselves (an access or portability
    /// request): the export's disclosure entry. The organisation's "person themselves" recipient
    /// is made on first use.
    pub(crate) async fn log_own_copy(
        &self,
        permit: &confidant_policy::Permit,
        purpose: Purpose,
        person_id: Uuid,
        items: Vec<DisclosedItem>,
        package: &serde_json::Value,
        (event, id): (&'static str, Uuid),
    ) -> Result<Uuid, PersonError> {
        let resource = *permit.resource();
        let (organisation_id, service_id) = placed(&resource)?;
        let now = self.clock.now();
        let subject = match self
            .store
            .recipients(organisation_id)
            .await?
            .into_iter()
            .find(|r| r.kind == RecipientKind::DataSubject)
        {
            Some(r) => r,
            None => {
                let r = RecipientRecord {
                    id: Uuid::now_v7(),
                    organisation_id,
                    code: None,
                    name: OWN_COPY.to_owned(),
                    kind: RecipientKind::DataSubject,
                    outside_uk: false,
                    categories: categories().iter().map(|(c, _)| (*c).to_owned()).collect(),
                    bases: vec![LawfulBasis::SubjectRequest],
                    consent_required: false,
                    partner_service_id: None,
                    dpa_starts_at_micros: None,
                    dpa_ends_at_micros: None,
                    secure_email: None,
                    created_by: "system".to_owned(),
                    updated_at_micros: micros(now),
                    retired_at_micros: None,
                };
                let audit = AuditDraft::permitted(permit, purpose, now).named("recipient.create");
                match self.store.save_recipient(&r, audit).await {
                    Ok(()) => r,
                    // Made meanwhile by another export: use that one.
                    Err(crate::store::StoreError::Conflict(_)) => self
                        .store
                        .recipients(organisation_id)
                        .await?
                        .into_iter()
                        .find(|r| r.kind == RecipientKind::DataSubject)
                        .ok_or(PersonError::Conflict(
                            "a recipient of the register already has the name of the person's own copy",
                        ))?,
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let bytes = serde_json::to_vec(package).unwrap_or_default();
        let (key, wrapped) = self.person_key(permit).await?;
        let key_version = wrapped.version;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let sealed = seal_values(&key, id, key_version, [("package", text.as_str())]);
        let fields: Vec<PersonField> = items
            .iter()
            .filter_map(|i| match i {
                DisclosedItem::Field(c) => PersonField::from_code(c),
                DisclosedItem::Entry(_) => None,
            })
            .collect();
        let with_entries = items.iter().any(|i| matches!(i, DisclosedItem::Entry(_)));
        let record = DisclosureRecord {
            id,
            person_id,
            service_id,
            recipient_id: subject.id,
            basis: LawfulBasis::SubjectRequest,
            consent_purpose_id: None,
            article9: None,
            schedule1: None,
            categories: categories_of(&fields, with_entries).into_iter().collect(),
            key_version,
            requested_by: permit.actor().audit_id(),
            approval_id: None,
            approved_by: None,
            person_told: true,
            emergency: false,
            review_state: None,
            reviewed_by: None,
            package_hash: sha256(&bytes),
            shared_at_micros: micros(now),
            processor_staff_id: None,
            grant_id: None,
            ends_at_micros: None,
            ended_at_micros: None,
        };
        let audit = AuditDraft::permitted(permit, purpose, now).named(event);
        let state = self.sharing_state(person_id).await?;
        self.store
            .record_disclosure(state, &record, &items, &sealed, None, None, audit)
            .await?;
        Ok(id)
    }

    pub(super) async fn sharing_state(&self, person_id: Uuid) -> Result<SharingState, PersonError> {
        let consents = self
            .store
            .consents_of(&PersonAccess::deciding(person_id))
            .await?
            .len();
        let restrictions = self
            .store
            .restrictions_of(&PersonAccess::deciding(person_id))
            .await?;
        let lifted = restrictions
            .iter()
            .filter(|r| r.lifted_at_micros.is_some())
            .count();
        Ok(SharingState {
            consents: i64::try_from(consents).unwrap_or(i64::MAX),
            restrictions: i64::try_from(restrictions.len()).unwrap_or(i64::MAX),
            lifted: i64::try_from(lifted).unwrap_or(i64::MAX),
        })
    }
}
