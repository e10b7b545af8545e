//! Putting the register in force: the organisation, its services, recipients, processors and
//! consent forms in the database become exactly what the register says (issue 15).
//!
//! Guarantees:
//! - The organisation and its services are found by the register's codes, never by name. A new
//!   code creates them (an organisation onboards by configuration alone); a service whose name in
//!   Confidant differs from the register's, or a service of the organisation the register lacks,
//!   stops start-up with the register's file and line, before anything is changed.
//! - Each service collects exactly the field groups the register covers and takes referrals as it
//!   says, its partner service included.
//! - The organisation's recipients and processors are the register's: each may receive the
//!   categories, under the lawful bases, of the activities naming it; any other recipient is
//!   retired (it receives nothing more; the disclosure log keeps it).
//! - Each service's consent form is the register's consent purposes its activities ask for, each
//!   letting data go to exactly the recipients of those activities; a purpose the register no longer
//!   has is retired (decisions recorded on it are kept, and unlock nothing).
//! - Only what differs is written, each change audited under the operator.

use crate::catalogue::identifier::EmailAddress;
use std::collections::BTreeMap;
use std::fmt;

use confidant_policy::{Action, Actor, Resource};
use uuid::Uuid;

use super::activities::{Register, RegisterError, RegisterErrors};
use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::organisation::{OrganisationError, micros};
use crate::store::{
    ConsentPurposeRecord, Organisation, RecipientKind, RecipientRecord, ReferralPolicy, Service,
    ServiceConfig, Store,
};
use crate::{Clock, Confidant};

/// What putting a register in force did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InForce {
    pub organisation_id: Uuid,
    /// The organisation was new: created with its services from the register.
    pub created: bool,
    /// The register's service ids and Confidant's.
    pub services: BTreeMap<String, Uuid>,
    /// The register's recipient and processor ids and Confidant's.
    pub recipients: BTreeMap<String, Uuid>,
    /// How many rows were written (created, changed or retired).
    pub changes: usize,
}

/// Why a register could not be put in force.
#[derive(Debug)]
pub enum InForceError {
    /// The register and the database disagree (file, line, what): nothing was changed.
    Mismatch(RegisterErrors),
    Organisation(OrganisationError),
}

impl fmt::Display for InForceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InForceError::Mismatch(e) => write!(f, "{e}"),
            InForceError::Organisation(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for InForceError {}

impl From<OrganisationError> for InForceError {
    fn from(e: OrganisationError) -> Self {
        InForceError::Organisation(e)
    }
}

impl From<crate::store::StoreError> for InForceError {
    fn from(e: crate::store::StoreError) -> Self {
        InForceError::Organisation(e.into())
    }
}

/// Midnight (UTC) at the start of a register date, or of the day after it (`after`): an agreement
/// is in force on its last day too.
fn date_micros(text: &str, after: bool) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text.trim(), &format).ok()?;
    let date = if after { date.next_day()? } else { date };
    Some(micros(date.midnight().assume_utc()))
}

/// The register's recipients and processors: (id, name).
fn parties(register: &Register) -> impl Iterator<Item = (&str, &str)> {
    register
        .recipients
        .iter()
        .map(|x| (x.id.as_str(), x.name.trim()))
        .chain(
            register
                .processors
                .iter()
                .map(|p| (p.id.as_str(), p.name.trim())),
        )
}

/// A recipient as compared for changes: without who wrote it and when.
fn same_recipient(a: &RecipientRecord, b: &RecipientRecord) -> bool {
    let plain = |r: &RecipientRecord| RecipientRecord {
        created_by: String::new(),
        updated_at_micros: 0,
        ..r.clone()
    };
    plain(a) == plain(b)
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// Makes the database say what the register says (see the module's guarantees). For the
    /// operator only, at start-up.
    pub async fn put_register_in_force(
        &self,
        operator: &Principal,
        register: &Register,
    ) -> Result<InForce, InForceError> {
        if !matches!(operator.actor(), Actor::System) {
            return Err(OrganisationError::NotFound.into());
        }
        let now = self.clock.now();
        let code = register.organisation.id.as_str();
        let organisations = self.store.organisations().await?;
        let mut existing = organisations
            .iter()
            .find(|o| o.code.as_deref() == Some(code))
            .cloned();
        let mut adopted = false;
        // An organisation from before the register, of exactly the controller's name, is taken
        // over once, with its services of exactly the register's names; from then on codes decide.
        if existing.is_none()
            && let Some(old) = organisations
                .iter()
                .find(|o| o.code.is_none() && o.name == register.organisation.controller.trim())
        {
            let permit = self
                .authorizer
                .authorize(
                    operator,
                    Action::ServiceCreate,
                    Resource::Organisation { id: old.id },
                )
                .map_err(|_| OrganisationError::NotFound)?;
            let held = self.store.services(old.id).await?;
            let services: Vec<(Uuid, String)> = held
                .iter()
                .filter(|s| s.code.is_none())
                .filter_map(|s| {
                    register
                        .services
                        .iter()
                        .find(|r| r.name.trim() == s.name)
                        .map(|r| (s.id, r.id.clone()))
                })
                .collect();
            // Nothing is taken over unless all of it can be: every service of the organisation must
            // be one of the register's, by exactly its name.
            let missing: Vec<RegisterError> = held
                .iter()
                .filter(|s| !services.iter().any(|(id, _)| *id == s.id))
                .map(|s| RegisterError {
                    file: register.file.clone(),
                    line: register.organisation_line,
                    message: format!(
                        "organisation \"{}\" is taken over by this register, but its service \"{}\" ({}) is not in it by exactly that name: add it as a `[[service]]`, or rename it with `confidant service rename`",
                        old.name, s.name, s.id
                    ),
                })
                .collect();
            if !missing.is_empty() {
                return Err(InForceError::Mismatch(RegisterErrors(missing)));
            }
            let audit = AuditDraft::permitted(&permit, Purpose::Administration, now)
                .named("organisation.adopt");
            self.store
                .adopt_organisation(old.id, code, &services, audit)
                .await?;
            existing = Some(Organisation {
                code: Some(code.to_owned()),
                ..old.clone()
            });
            adopted = true;
        }
        let created = existing.is_none();
        let organisation = match existing {
            Some(o) => o,
            None => {
                let permit = self
                    .authorizer
                    .authorize(operator, Action::OrganisationCreate, Resource::Installation)
                    .map_err(|_| OrganisationError::NotFound)?;
                let organisation = Organisation {
                    id: Uuid::now_v7(),
                    name: register.organisation.controller.trim().to_owned(),
                    code: Some(code.to_owned()),
                    created_at_micros: micros(now),
                };
                let audit = AuditDraft::permitted(&permit, Purpose::Administration, now)
                    .named("organisation.create");
                self.store.create_organisation(&organisation, audit).await?;
                organisation
            }
        };
        let resource = Resource::Organisation {
            id: organisation.id,
        };
        let mut changes = usize::from(created || adopted);
        let services = self
            .register_services(operator, register, &organisation, &mut changes)
            .await?;
        let permit = self
            .authorizer
            .authorize(operator, Action::RecipientManage, resource)
            .map_err(|_| OrganisationError::NotFound)?;
        let audit = |name: &'static str| {
            AuditDraft::permitted(&permit, Purpose::Administration, self.clock.now()).named(name)
        };

        // Service configuration: field groups, referral policy, partner.
        for entry in &register.services {
            let wanted = ServiceConfig {
                service_id: services[&entry.id],
                field_groups: register.field_groups(entry),
                referrals: ReferralPolicy::from_code(&entry.referrals)
                    .unwrap_or(ReferralPolicy::ProfessionalOnly),
                partner_service_id: entry
                    .partner
                    .as_deref()
                    .and_then(|p| services.get(p).copied()),
            };
            if self.store.service_config(wanted.service_id).await?.as_ref() != Some(&wanted) {
                self.store
                    .set_service_config(&wanted, audit("service.configure"))
                    .await?;
                changes += 1;
            }
        }

        // Recipients and processors. A row is the register's party's when it carries its code, or
        // (from before the register) has no code and exactly its name. The rest are retired first,
        // their names marked as retired, so a party of the same name can be made after them.
        let held = self.store.recipients(organisation.id).await?;
        let claimed = |r: &RecipientRecord| {
            let mut ids = parties(register);
            ids.any(|(code, name)| match &r.code {
                Some(c) => c == code,
                None => r.name == name,
            })
        };
        let today = now.date();
        for gone in held.iter().filter(|r| {
            r.kind != RecipientKind::DataSubject && r.retired_at_micros.is_none() && !claimed(r)
        }) {
            let retired = RecipientRecord {
                name: format!("{} (retired {today})", gone.name),
                retired_at_micros: Some(micros(now)),
                updated_at_micros: micros(now),
                ..gone.clone()
            };
            self.store
                .save_recipient(&retired, audit("recipient.retire"))
                .await?;
            changes += 1;
        }
        let mut recipients = BTreeMap::new();
        let parties = register
            .recipients
            .iter()
            .map(|r| {
                let kind =
                    RecipientKind::from_code(&r.kind).unwrap_or(RecipientKind::StatutoryBody);
                (
                    r.id.as_str(),
                    r.name.as_str(),
                    kind,
                    r.outside_uk,
                    r.consent_required || kind == RecipientKind::MultiAgencyMeeting,
                    r.service.as_deref().and_then(|s| services.get(s).copied()),
                    None,
                    r.secure_email.as_deref(),
                )
            })
            .chain(register.processors.iter().map(|p| {
                (
                    p.id.as_str(),
                    p.name.as_str(),
                    RecipientKind::Processor,
                    false,
                    false,
                    None,
                    Some((
                        date_micros(&p.agreement_starts, false),
                        date_micros(&p.agreement_ends, true),
                    )),
                    p.secure_email.as_deref(),
                )
            }));
        for (party, name, kind, outside_uk, consent_required, partner, agreement, secure_email) in
            parties
        {
            let terms = register.terms_of(party);
            // Found by code; a row from before the register, of exactly this name, is taken over.
            let old = held
                .iter()
                .find(|r| r.code.as_deref() == Some(party))
                .or_else(|| {
                    held.iter()
                        .find(|r| r.code.is_none() && r.name == name.trim())
                });
            let record = RecipientRecord {
                id: old.map_or_else(Uuid::now_v7, |r| r.id),
                organisation_id: organisation.id,
                code: Some(party.to_owned()),
                name: name.trim().to_owned(),
                kind,
                outside_uk,
                categories: terms.categories,
                bases: terms.bases,
                consent_required,
                partner_service_id: partner,
                dpa_starts_at_micros: agreement.and_then(|a| a.0),
                dpa_ends_at_micros: agreement.and_then(|a| a.1),
                // Checked when the register was read.
                secure_email: secure_email
                    .and_then(|e| EmailAddress::parse(e).ok())
                    .map(|e| e.as_str().to_owned()),
                created_by: old.map_or_else(|| operator.audit_id(), |r| r.created_by.clone()),
                updated_at_micros: micros(now),
                retired_at_micros: None,
            };
            recipients.insert(party.to_owned(), record.id);
            if old.is_none_or(|o| !same_recipient(o, &record)) {
                let name = if old.is_some() {
                    "recipient.update"
                } else {
                    "recipient.create"
                };
                self.store.save_recipient(&record, audit(name)).await?;
                changes += 1;
            }
        }

        // Consent forms.
        for entry in &register.services {
            let service_id = services[&entry.id];
            let held = self.store.consent_purposes(service_id).await?;
            let form = register.consent_form(&entry.id);
            for line in &form {
                let old = held.iter().find(|p| p.code == line.purpose.id);
                let mut recipient_ids: Vec<Uuid> = line
                    .recipients
                    .iter()
                    .filter_map(|r| recipients.get(*r).copied())
                    .collect();
                recipient_ids.sort();
                let record = ConsentPurposeRecord {
                    id: old.map_or_else(Uuid::now_v7, |p| p.id),
                    service_id,
                    code: line.purpose.id.clone(),
                    label: line.purpose.label.trim().to_owned(),
                    recipient_ids,
                    explicit: line.explicit,
                    form_version: line.purpose.form_version.trim().to_owned(),
                    created_at_micros: old.map_or(micros(now), |p| p.created_at_micros),
                    retired_at_micros: None,
                };
                if old != Some(&record) {
                    let name = if old.is_some() {
                        "consent_purpose.update"
                    } else {
                        "consent_purpose.create"
                    };
                    self.store
                        .save_consent_purpose(&record, audit(name))
                        .await?;
                    changes += 1;
                }
            }
            for gone in held.iter().filter(|p| {
                p.retired_at_micros.is_none() && !form.iter().any(|l| l.purpose.id == p.code)
            }) {
                let retired = ConsentPurposeRecord {
                    retired_at_micros: Some(micros(now)),
                    recipient_ids: Vec::new(),
                    ..gone.clone()
                };
                self.store
                    .save_consent_purpose(&retired, audit("consent_purpose.retire"))
                    .await?;
                changes += 1;
            }
        }
        Ok(InForce {
            organisation_id: organisation.id,
            created,
            services,
            recipients,
            changes,
        })
    }

    /// Consent recorded on a form version holds for that version: a purpose whose wording,
    /// recipients (more of them) or explicitness changes under the same version would let consent
    /// given to less cover more, so it is a fault until the version is raised.
    async fn consent_faults(
        &self,
        register: &Register,
        organisation: &Organisation,
        held: &[Service],
    ) -> Result<Vec<RegisterError>, InForceError> {
        // Each row's party in the register: by its code, or (from before the register) by exactly
        // its name, as putting the register in force will take it.
        let codes: BTreeMap<Uuid, String> = self
            .store
            .recipients(organisation.id)
            .await?
            .into_iter()
            .filter_map(|r| {
                let code = r.code.clone().or_else(|| {
                    parties(register)
                        .find(|(_, name)| *name == r.name)
                        .map(|(code, _)| code.to_owned())
                });
                code.map(|c| (r.id, c))
            })
            .collect();
        let mut faults = Vec::new();
        for service in held {
            let Some(code) = service.code.as_deref() else {
                continue;
            };
            let stored = self.store.consent_purposes(service.id).await?;
            for line in register.consent_form(code) {
                let Some(old) = stored.iter().find(|p| {
                    p.code == line.purpose.id
                        && p.retired_at_micros.is_none()
                        && p.form_version == line.purpose.form_version.trim()
                }) else {
                    continue;
                };
                let covered: Vec<&str> = old
                    .recipient_ids
                    .iter()
                    .filter_map(|id| codes.get(id).map(String::as_str))
                    .collect();
                let widened = line.recipients.iter().any(|r| !covered.contains(r));
                let reworded = old.label != line.purpose.label.trim();
                let explicit = line.explicit && !old.explicit;
                if widened || reworded || explicit {
                    faults.push(RegisterError {
                        file: register.file.clone(),
                        line: line.purpose.line,
                        message: format!(
                            "consent purpose `{}` of service `{code}` {} under the same form_version \"{}\": raise form_version, so that consent given on the old form is asked for again",
                            line.purpose.id,
                            if widened {
                                "covers more recipients"
                            } else if reworded {
                                "is worded differently"
                            } else {
                                "becomes explicit consent"
                            },
                            old.form_version
                        ),
                    });
                }
            }
        }
        Ok(faults)
    }

    /// Matches the register's services to the organisation's by code, creating the new ones; any
    /// mismatch stops everything before a service is created.
    async fn register_services(
        &self,
        operator: &Principal,
        register: &Register,
        organisation: &Organisation,
        changes: &mut usize,
    ) -> Result<BTreeMap<String, Uuid>, InForceError> {
        let held = self.store.services(organisation.id).await?;
        let fault = |line: usize, message: String| RegisterError {
            file: register.file.clone(),
            line,
            message,
        };
        let mut faults = Vec::new();
        let mut services = BTreeMap::new();
        let mut to_create = Vec::new();
        for entry in &register.services {
            match held.iter().find(|s| s.code.as_deref() == Some(entry.id.as_str())) {
                Some(s) if s.name != entry.name.trim() => faults.push(fault(
                    entry.line,
                    format!(
                        "service `{}` is named \"{}\" here but \"{}\" in Confidant: change it here, or rename Confidant's with `confidant service rename --service {} \"{}\"`",
                        entry.id,
                        entry.name,
                        s.name,
                        s.id,
                        entry.name.trim()
                    ),
                )),
                Some(s) => {
                    services.insert(entry.id.clone(), s.id);
                }
                None => to_create.push(entry),
            }
        }
        for s in &held {
            let known = s
                .code
                .as_deref()
                .is_some_and(|c| register.service(c).is_some());
            if !known {
                faults.push(fault(
                    register.organisation_line,
                    format!(
                        "Confidant's service \"{}\" ({}) of organisation `{}` is not in the register: add it as a `[[service]]` with id `{}`",
                        s.name,
                        s.id,
                        register.organisation.id,
                        s.code.as_deref().unwrap_or("<a new id>")
                    ),
                ));
            }
        }
        faults.extend(self.consent_faults(register, organisation, &held).await?);
        if !faults.is_empty() {
            return Err(InForceError::Mismatch(RegisterErrors(faults)));
        }
        let permit = self
            .authorizer
            .authorize(
                operator,
                Action::ServiceCreate,
                Resource::Organisation {
                    id: organisation.id,
                },
            )
            .map_err(|_| OrganisationError::NotFound)?;
        for entry in to_create {
            let now = self.clock.now();
            let service = Service {
                id: Uuid::now_v7(),
                organisation_id: organisation.id,
                name: entry.name.trim().to_owned(),
                code: Some(entry.id.clone()),
                created_at_micros: micros(now),
            };
            let audit = AuditDraft::permitted(&permit, Purpose::Administration, now)
                .named("service.create");
            self.store.create_service(&service, audit).await?;
            services.insert(entry.id.clone(), service.id);
            *changes += 1;
        }
        Ok(services)
    }
}
