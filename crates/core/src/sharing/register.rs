//! The recipient register: recipients, their agreements, and the workers of processors.

use super::*;
use crate::access::Principal;

impl<S: Store, C: Clock> Confidant<S, C> {
    pub(super) fn register_resource(&self, organisation_id: Uuid) -> Resource {
        Resource::Organisation {
            id: organisation_id,
        }
    }

    /// Refuses a change to what a register governs (see [`Confidant::register_refusal`]).
    pub(crate) async fn not_governed(&self, organisation_id: Uuid) -> Result<(), PersonError> {
        match self.register_refusal(organisation_id).await? {
            Some(v) => Err(PersonError::Invalid(v)),
            None => Ok(()),
        }
    }

    pub(super) fn parse_recipient(
        &self,
        input: &RecipientInput,
        organisation_id: Uuid,
    ) -> Result<RecipientRecord, Violations> {
        let mut v = Vec::new();
        let name = collect(&mut v, text("name", Some(&input.name), true)).flatten();
        if name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(OWN_COPY))
        {
            v.push(Violation::new(
                "name",
                "is kept for the person's own copy of their record",
            ));
        }
        let kind = match RecipientKind::from_code(input.kind.trim()) {
            Some(k) if k != RecipientKind::DataSubject => Some(k),
            Some(_) => {
                v.push(Violation::new(
                    "kind",
                    "the person's own copy is not a recipient of the register",
                ));
                None
            }
            None => {
                v.push(Violation::new("kind", "is not a known recipient kind"));
                None
            }
        };
        let mut categories = Vec::new();
        for c in &input.categories {
            let c = c.trim();
            if is_category(c) {
                if !categories.iter().any(|x: &String| x == c) {
                    categories.push(c.to_owned());
                }
            } else {
                v.push(Violation::new("categories", "holds an unknown category"));
            }
        }
        let mut bases = Vec::new();
        for b in &input.bases {
            match LawfulBasis::from_code(b.trim()) {
                Some(LawfulBasis::SubjectRequest) | None => {
                    v.push(Violation::new("bases", "holds an unknown lawful basis"));
                }
                Some(b) if !bases.contains(&b) => bases.push(b),
                Some(_) => {}
            }
        }
        if bases.is_empty() {
            v.push(Violation::new("bases", "name at least one lawful basis"));
        }
        let starts = collect(
            &mut v,
            parse_date("dpa_starts_on", input.dpa_starts_on.as_deref()),
        )
        .flatten();
        let ends = collect(
            &mut v,
            parse_date("dpa_ends_on", input.dpa_ends_on.as_deref()),
        )
        .flatten();
        if kind == Some(RecipientKind::Processor) {
            if starts.is_none() || ends.is_none() {
                v.push(Violation::new(
                    "dpa_ends_on",
                    "a processor needs its data processing agreement's start and end dates",
                ));
            }
            if let (Some(s), Some(e)) = (starts, ends)
                && e <= s
            {
                v.push(Violation::new(
                    "dpa_ends_on",
                    "must be after the agreement starts",
                ));
            }
        }
        let secure_email = match input.secure_email.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(e) => match crate::catalogue::identifier::EmailAddress::parse(e) {
                Ok(e) => Some(e.as_str().to_owned()),
                Err(_) => {
                    v.push(Violation::new(
                        "secure_email",
                        "must be an email address, such as team@example.org",
                    ));
                    None
                }
            },
        };
        if kind == Some(RecipientKind::PartnerService) && input.partner_service_id.is_none() {
            v.push(Violation::new(
                "partner_service_id",
                "a partner service recipient names the service",
            ));
        }
        match (name, kind) {
            (Some(name), Some(kind)) if v.is_empty() => Ok(RecipientRecord {
                id: Uuid::now_v7(),
                organisation_id,
                code: None,
                name,
                kind,
                outside_uk: input.outside_uk,
                categories,
                bases,
                // A multi-agency meeting always records consent, or why it was shared without
                // (G49), whatever the register says.
                consent_required: input.consent_required
                    || kind == RecipientKind::MultiAgencyMeeting,
                partner_service_id: input
                    .partner_service_id
                    .filter(|_| kind == RecipientKind::PartnerService),
                dpa_starts_at_micros: starts.filter(|_| kind == RecipientKind::Processor),
                dpa_ends_at_micros: ends.filter(|_| kind == RecipientKind::Processor),
                secure_email,
                created_by: String::new(),
                updated_at_micros: 0,
                retired_at_micros: None,
            }),
            _ => Err(Violations(v)),
        }
    }

    /// Adds a recipient to the organisation's register (`recipient.manage`).
    pub async fn add_recipient(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        input: &RecipientInput,
    ) -> Result<RecipientRecord, PersonError> {
        let resource = self.register_resource(organisation_id);
        let permit = self
            .person_permit(
                actor,
                Action::RecipientManage,
                resource,
                Purpose::Administration,
            )
            .await?;
        self.not_governed(organisation_id).await?;
        let mut record = self
            .parse_recipient(input, organisation_id)
            .map_err(PersonError::Invalid)?;
        self.check_partner_service(&record).await?;
        let now = self.clock.now();
        record.created_by = actor.audit_id();
        record.updated_at_micros = micros(now);
        let audit =
            AuditDraft::permitted(&permit, Purpose::Administration, now).named("recipient.create");
        self.store.save_recipient(&record, audit).await?;
        Ok(record)
    }

    pub(super) async fn check_partner_service(
        &self,
        record: &RecipientRecord,
    ) -> Result<(), PersonError> {
        if let Some(service_id) = record.partner_service_id {
            let ours = self
                .store
                .service(service_id)
                .await?
                .is_some_and(|s| s.organisation_id == record.organisation_id);
            if !ours {
                return Err(invalid(
                    "partner_service_id",
                    "is not a service of this organisation",
                ));
            }
        }
        Ok(())
    }

    /// Changes a recipient, or retires it (`retire`): a retired recipient receives nothing more.
    pub async fn update_recipient(
        &self,
        actor: &Principal,
        recipient_id: Uuid,
        input: &RecipientInput,
        retire: bool,
    ) -> Result<RecipientRecord, PersonError> {
        let Some(old) = self.store.recipient(recipient_id).await? else {
            return Err(PersonError::NotFound);
        };
        let resource = self.register_resource(old.organisation_id);
        let permit = self
            .person_permit(
                actor,
                Action::RecipientManage,
                resource,
                Purpose::Administration,
            )
            .await?;
        if old.kind == RecipientKind::DataSubject {
            return Err(invalid("kind", "the person's own copy cannot be changed"));
        }
        self.not_governed(old.organisation_id).await?;
        let mut record = self
            .parse_recipient(input, old.organisation_id)
            .map_err(PersonError::Invalid)?;
        self.check_partner_service(&record).await?;
        let now = self.clock.now();
        record.id = old.id;
        record.created_by = old.created_by;
        record.updated_at_micros = micros(now);
        record.retired_at_micros = if retire {
            old.retired_at_micros.or(Some(micros(now)))
        } else {
            None
        };
        let audit =
            AuditDraft::permitted(&permit, Purpose::Administration, now).named("recipient.update");
        self.store.save_recipient(&record, audit).await?;
        Ok(record)
    }

    /// The organisation's recipient register, with warnings on processors' agreements. Anyone in
    /// the organisation may see it (it is configuration, not personal data).
    pub async fn recipients(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
    ) -> Result<Vec<RecipientView>, PersonError> {
        let resource = self.register_resource(organisation_id);
        self.person_permit(
            actor,
            Action::ServiceRead,
            resource,
            Purpose::Administration,
        )
        .await?;
        let now = micros(self.clock.now());
        let soon = now + DPA_WARNING_DAYS * 86_400_000_000;
        Ok(self
            .store
            .recipients(organisation_id)
            .await?
            .into_iter()
            .filter(|r| r.kind != RecipientKind::DataSubject)
            .map(|record| {
                let warning = if record.kind != RecipientKind::Processor {
                    None
                } else {
                    match record.dpa_ends_at_micros {
                        None => Some("No data processing agreement is recorded.".to_owned()),
                        Some(e) if e <= now => {
                            Some("Its data processing agreement has ended: nothing more can be sent to it.".to_owned())
                        }
                        Some(e) if e <= soon => Some(format!(
                            "Its data processing agreement ends on {}: renew it or stop using this processor.",
                            from_micros(e).date()
                        )),
                        _ => None,
                    }
                };
                RecipientView { record, warning }
            })
            .collect())
    }

    /// One recipient of the actor's organisation.
    pub async fn recipient(
        &self,
        actor: &Principal,
        recipient_id: Uuid,
    ) -> Result<RecipientRecord, PersonError> {
        let record = self
            .store
            .recipient(recipient_id)
            .await?
            .ok_or(PersonError::NotFound)?;
        let resource = self.register_resource(record.organisation_id);
        self.person_permit(
            actor,
            Action::ServiceRead,
            resource,
            Purpose::Administration,
        )
        .await?;
        Ok(record)
    }

    /// Makes a processor's worker (role `processor_staff`) work for a processor of the register.
    pub async fn assign_processor_staff(
        &self,
        actor: &Principal,
        staff_id: Uuid,
        recipient_id: Uuid,
    ) -> Result<(), PersonError> {
        let recipient = self
            .store
            .recipient(recipient_id)
            .await?
            .ok_or(PersonError::NotFound)?;
        let resource = self.register_resource(recipient.organisation_id);
        let permit = self
            .person_permit(
                actor,
                Action::RecipientManage,
                resource,
                Purpose::Administration,
            )
            .await?;
        let staff = self
            .store
            .staff(staff_id)
            .await?
            .filter(|s| s.organisation_id == recipient.organisation_id)
            .ok_or(PersonError::NotFound)?;
        if staff.role != Role::ProcessorStaff || recipient.kind != RecipientKind::Processor {
            return Err(invalid(
                "staff_id",
                "only a processor's worker can be assigned to a processor",
            ));
        }
        let audit = AuditDraft::permitted(&permit, Purpose::Administration, self.clock.now())
            .named("recipient.assign_staff");
        self.store
            .set_staff_recipient(staff_id, Some(recipient_id), audit)
            .await?;
        Ok(())
    }

    /// A processor's workers (active, role `processor_staff`, assigned to it), for the share
    /// wizard's choice of worker and the register's page. Staff accounts, not personal data of
    /// the people supported: anyone who may see the register may see them.
    pub async fn processor_workers(
        &self,
        actor: &Principal,
        recipient_id: Uuid,
    ) -> Result<Vec<crate::store::StaffRecord>, PersonError> {
        let recipient = self.recipient(actor, recipient_id).await?;
        let mut out = Vec::new();
        for s in self.store.staff_of(recipient.organisation_id).await? {
            if s.role == Role::ProcessorStaff
                && s.disabled_at_micros.is_none()
                && self.store.staff_recipient(s.id).await? == Some(recipient_id)
            {
                out.push(s);
            }
        }
        Ok(out)
    }
}
