//! Destroying a person's record: its scope first, then the destruction and its certificate.

use confidant_policy::{Action, Resource};
use uuid::Uuid;

use super::certificate::{
    self, COPIES, Certificate, DestructionBasis, ErasureLine, FORMAT, PaperLine,
};
use crate::access::{PersonAccess, Principal};
use crate::audit::{AuditDraft, Purpose};
use crate::field::PersonField;
use crate::organisation::micros;
use crate::person::{PersonError, Violation, Violations, access_of};
use crate::store::{
    CertificateRecord, DestructionPlan, DestructionRefusal, DestructionScope, HoldRecord,
    MergeCounts, NewTask, Store, TaskChange,
};
use crate::{Clock, Confidant};

/// What destroying a record would reach, for the page that asks to confirm it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestructionPreview {
    pub scope: DestructionScope,
    /// The legal holds in force: while there is one, the record cannot be destroyed.
    pub live_holds: Vec<HoldRecord>,
}

/// A destruction done: its certificate, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destroyed {
    pub certificate: Certificate,
    pub record: CertificateRecord,
}

/// A decision to destroy, as the certificate states it.
pub(super) struct Decided {
    pub basis: DestructionBasis,
    pub reason: String,
    /// Who decided (a staff id, or `system`).
    pub decided_by: String,
    /// Who approved it (staff ids), where a review did.
    pub approved_by: Vec<String>,
    /// The review it closes, where it came from the queue.
    pub review_id: Option<Uuid>,
    /// What the reviewer saw: the record must hold the same rows still (checked again inside the
    /// destruction's transaction), or nothing is destroyed.
    pub reviewed: Option<DestructionScope>,
    /// The retention rules it rests on (with their sources), for the certificate.
    pub rules: Vec<String>,
    /// The request for erasure it answers, as decided.
    pub erasure: Option<ErasureDecided>,
}

/// A request for erasure decided ([`crate::rights`]), for the destruction that carries it out.
pub(crate) struct ErasureDecided {
    /// What the certificate states of it.
    pub line: ErasureLine,
    /// The request's version when decided: the store refuses if it moved on meanwhile.
    pub version: i64,
    /// What the record held when decided (the recipients and open cases were read with it): the
    /// destruction refuses a record that holds anything else.
    pub seen: DestructionScope,
}

/// The person a permit on a person is for.
fn permit_person(resource: &Resource) -> Result<Uuid, PersonError> {
    match resource {
        Resource::Person { id, .. } => Ok(*id),
        _ => Err(PersonError::NotFound),
    }
}

/// The details a reason must not hold: what names the person or reaches them.
const NAMING: [PersonField; 12] = [
    PersonField::GivenName,
    PersonField::FamilyName,
    PersonField::DateOfBirth,
    PersonField::NhsNumber,
    PersonField::NiNumber,
    PersonField::Address,
    PersonField::Postcode,
    PersonField::Phone,
    PersonField::Email,
    PersonField::SafePhone,
    PersonField::SafeEmail,
    PersonField::SafeAddress,
];

/// Lower case, white space and punctuation dropped: "AB 12 34 56 C" and "ab123456c" match.
fn folded(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The words of a text, lower case.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The ways a detail may be written in a reason, folded: a date of birth also day first
/// (03/02/1980), a phone number also without its leading 0 or +44.
fn forms(field: PersonField, value: &str) -> Vec<String> {
    let plain = folded(value);
    let mut all = vec![plain.clone()];
    match field {
        PersonField::DateOfBirth if plain.len() == 8 => {
            let (y, m, d) = (&plain[0..4], &plain[4..6], &plain[6..8]);
            all.push(format!("{d}{m}{y}"));
            all.push(format!("{m}{d}{y}"));
        }
        PersonField::Phone | PersonField::SafePhone => {
            let national = plain
                .strip_prefix("44")
                .or_else(|| plain.strip_prefix('0'))
                .unwrap_or(&plain);
            all.push(national.to_owned());
        }
        _ => {}
    }
    all
}

/// Whether `reason` holds any of the person's `details`: a name as a whole word (so "Ted" is not
/// found in "completed"), every other detail in any of its [`forms`], at three letters or digits
/// or more.
pub(crate) fn names_anyone<'a>(
    reason: &str,
    details: impl IntoIterator<Item = (PersonField, &'a str)>,
) -> bool {
    let text = folded(reason);
    let reason_words = words(reason);
    details.into_iter().any(|(field, value)| match field {
        PersonField::GivenName | PersonField::FamilyName => words(value)
            .iter()
            .any(|w| w.chars().count() >= 3 && reason_words.contains(w)),
        _ => forms(field, value)
            .iter()
            .any(|f| f.chars().count() >= 3 && text.contains(f.as_str())),
    })
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// What destroying the person's record would reach (`person.shred`), audited as a read.
    pub async fn destruction_preview(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<DestructionPreview, PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonShred, person_id, purpose)
            .await?;
        let access = access_of(&permit)?;
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now())
            .named("person.destroy_preview");
        let scope = self
            .store
            .destruction_scope(&access, audit)
            .await?
            .ok_or(PersonError::NotFound)?;
        let live_holds = self
            .store
            .holds_of(&access)
            .await?
            .into_iter()
            .map(|(h, _)| h)
            .filter(HoldRecord::live)
            .collect();
        Ok(DestructionPreview { scope, live_holds })
    }

    /// Destroys the person's record (`person.shred`) and answers its certificate. Refused, changing
    /// nothing: a live legal hold, a record merged into another, a reason that names the person,
    /// and a record that changed while it was being destroyed.
    pub async fn destroy_person(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        basis: &str,
        reason: &str,
    ) -> Result<Destroyed, PersonError> {
        let (permit, resource) = self
            .permit_on_person(actor, Action::PersonShred, person_id, purpose)
            .await?;
        let (basis, reason) = super::code_and_reason::<DestructionBasis>(
            "basis",
            basis,
            "is not a basis for destruction",
            reason,
        )?;
        let decision = Decided {
            basis,
            reason,
            decided_by: actor.audit_id(),
            approved_by: Vec::new(),
            review_id: None,
            reviewed: None,
            rules: Vec::new(),
            erasure: None,
        };
        self.destroy_decided(purpose, (permit, resource), decision)
            .await
    }

    /// Destroys a record to answer a request for erasure, decided and checked by
    /// [`crate::rights`]: the certificate states the request, and a task asks the Data Protection
    /// Officer to tell the recipients it names.
    pub(crate) async fn destroy_for_erasure(
        &self,
        purpose: Purpose,
        on: (confidant_policy::Permit, Resource),
        actor: &Principal,
        reason: &str,
        erasure: ErasureDecided,
    ) -> Result<Destroyed, PersonError> {
        let decision = Decided {
            basis: DestructionBasis::Erasure,
            reason: reason.to_owned(),
            decided_by: actor.audit_id(),
            approved_by: Vec::new(),
            review_id: None,
            reviewed: None,
            rules: Vec::new(),
            erasure: Some(erasure),
        };
        self.destroy_decided(purpose, on, decision).await
    }

    /// Destroys a record on a decision already made and checked: the person's own (above) or a
    /// review's, approved (the retention sweep).
    pub(super) async fn destroy_decided(
        &self,
        purpose: Purpose,
        (permit, resource): (confidant_policy::Permit, Resource),
        decision: Decided,
    ) -> Result<Destroyed, PersonError> {
        let Decided {
            basis,
            reason,
            decided_by,
            approved_by,
            review_id,
            reviewed,
            rules,
            erasure,
        } = decision;
        let person_id = permit_person(&resource)?;
        let Resource::Person {
            service_id,
            organisation_id,
            ..
        } = resource
        else {
            return Err(PersonError::NotFound);
        };
        let access = access_of(&permit)?;
        let now = self.clock.now();

        let preview = AuditDraft::permitted(&permit, purpose, now).named("person.destroy_preview");
        let scope = self
            .store
            .destruction_scope(&access, preview)
            .await?
            .ok_or(PersonError::NotFound)?;
        // Holds first: a refusal for a hold says nothing of whether the reason named anyone.
        if scope.live_holds > 0 {
            return Err(self.held(&permit, purpose).await?);
        }
        // An erasure destroys what it was decided on: the recipients it names and the cases it
        // ends were read with that scope.
        if let Some(e) = &erasure
            && !scope.same_rows(&e.seen)
        {
            return Err(PersonError::Conflict(
                "the record changed after the erasure was decided: read the request again",
            ));
        }
        // A reviewed destruction destroys what was reviewed (its paper since recorded destroyed),
        // or nothing.
        let scope = match reviewed {
            Some(seen) if !scope.as_reviewed(&seen) => {
                return Err(PersonError::Conflict(
                    "the record changed after it was reviewed: review it again",
                ));
            }
            Some(seen) => DestructionScope {
                counts: MergeCounts {
                    tasks: scope.counts.tasks,
                    ..seen.counts
                },
                audit_events: scope.audit_events,
                live_holds: scope.live_holds,
                paper: scope.paper,
                paper_destroyed: scope.paper_destroyed,
                ..seen
            },
            None => scope,
        };
        // The paper destroyed goes onto the certificate (paper marked destroyed before lines
        // were kept has none); the store refuses the destruction if more is recorded destroyed
        // after the scope was read.
        let paper: Vec<PaperLine> = self
            .store
            .paper_destroyed_of(&access)
            .await?
            .into_iter()
            .map(|l| PaperLine {
                destroyed_by: l.destroyed_by,
                reference: l.reference,
                destroyed_on: l.destroyed_on,
            })
            .collect();

        // The certificate outlives the record: its reason must not name the person.
        let check = AuditDraft::permitted(&permit, purpose, now).named("person.destroy_check");
        self.reason_names_no_one(&access, check, &reason).await?;

        let certificate_id = Uuid::now_v7();
        let certificate = Certificate {
            format: FORMAT.to_owned(),
            certificate: certificate_id,
            organisation: organisation_id,
            service: service_id,
            record: person_id,
            basis: basis.code().to_owned(),
            reason,
            rules,
            decided_by,
            approved_by,
            destroyed_at: crate::sharing::rfc3339(now),
            items: certificate::items(&scope),
            paper,
            copies: COPIES.to_owned(),
            erasure: erasure.as_ref().map(|e| e.line.clone()),
        };
        let body = certificate.body();
        let sha = certificate::sha256_hex(&body);
        let signature = self.sign_certificate(&body);
        let record = CertificateRecord {
            id: certificate_id,
            organisation_id,
            issued_at_micros: micros(now),
            body: body.clone(),
            body_sha256: sha.clone(),
            signature: signature.as_ref().map(|(s, _)| s.clone()),
            public_key: signature.as_ref().map(|(_, k)| k.clone()),
        };
        let plan = DestructionPlan {
            access: &access,
            scope,
            certificate_id,
            organisation_id,
            certificate: body,
            certificate_sha256: sha,
            signature,
            at_micros: micros(now),
            review_id,
            erasure_request: erasure.as_ref().map(|e| (e.line.request, e.version)),
            // Those who received the person's data are told of the erasure (Art. 19).
            tasks: match &erasure {
                Some(e) if !e.line.recipients.is_empty() => vec![TaskChange::Open(
                    NewTask::tell_of_erasure(organisation_id, service_id, certificate_id),
                )],
                _ => Vec::new(),
            },
        };
        let audit = AuditDraft::permitted(&permit, purpose, now).named("person.destroy");
        match self.store.destroy_person(plan, audit).await? {
            Ok(()) => Ok(Destroyed {
                certificate,
                record,
            }),
            Err(DestructionRefusal::Gone) => Err(PersonError::NotFound),
            Err(DestructionRefusal::Merged) => Err(PersonError::Conflict(
                "this record was merged into another: destroy that one",
            )),
            Err(DestructionRefusal::Held) => Err(self.held(&permit, purpose).await?),
            Err(DestructionRefusal::Changed) if erasure.is_some() => Err(PersonError::Conflict(
                "the record or the request changed while it was being erased: read the request again",
            )),
            Err(DestructionRefusal::Changed) => Err(PersonError::Conflict(
                "the record changed while it was being destroyed; look at what it holds again",
            )),
        }
    }

    /// Refuses a reason that names the person or one of their details (read under `access`,
    /// recorded by `audit`): it goes on the certificate, which is kept after the record is gone.
    pub(super) async fn reason_names_no_one(
        &self,
        access: &PersonAccess,
        audit: AuditDraft,
        reason: &str,
    ) -> Result<(), PersonError> {
        self.names_no_one(access, audit, &[("reason", reason)])
            .await
    }

    /// Refuses texts kept after the record is gone (each with its field) that name the person or
    /// one of their details, every one named.
    pub(super) async fn names_no_one(
        &self,
        access: &PersonAccess,
        audit: AuditDraft,
        texts: &[(&'static str, &str)],
    ) -> Result<(), PersonError> {
        let Some((sealed, wrapped)) = self.store.read_person(access, audit).await? else {
            return Err(PersonError::NotFound);
        };
        let person = self.open_person(&sealed, &wrapped)?;
        let naming: Vec<Violation> = texts
            .iter()
            .filter(|(_, text)| {
                let details = NAMING
                    .iter()
                    .filter_map(|f| person.get(*f).map(|v| (*f, v)));
                names_anyone(text, details)
            })
            .map(|(field, _)| Violation::new(
                field,
                "names the person or one of their details: say it without naming anyone, as it is kept after the record is gone",
            ))
            .collect();
        if naming.is_empty() {
            Ok(())
        } else {
            Err(PersonError::Invalid(Violations(naming)))
        }
    }

    /// A destruction refused by a legal hold: recorded as a refusal, and the answer.
    pub(crate) async fn held(
        &self,
        permit: &confidant_policy::Permit,
        purpose: Purpose,
    ) -> Result<PersonError, PersonError> {
        let audit =
            AuditDraft::refused_under(permit, purpose, self.clock.now()).named("person.destroy");
        self.store.record_access(audit).await?;
        Ok(PersonError::Conflict(
            "a legal hold, or an open request about the person's rights, is in force on this record: only the Data Protection Officer can release a hold, and a request keeps it until it is answered",
        ))
    }

    /// A certificate of the actor's organisation, by id, as kept and as read (`oversight.read` on
    /// the organisation: the Data Protection Officer and the Caldicott Guardian).
    pub async fn destruction_certificate(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
        certificate_id: Uuid,
    ) -> Result<Option<(CertificateRecord, Certificate)>, PersonError> {
        self.oversight_permit(actor, organisation_id).await?;
        let Some(record) = self
            .store
            .certificate(organisation_id, certificate_id)
            .await?
        else {
            return Ok(None);
        };
        let certificate: Certificate = serde_json::from_str(&record.body)
            .map_err(|_| PersonError::Crypto(confidant_crypto::CryptoError::Malformed))?;
        Ok(Some((record, certificate)))
    }

    /// The organisation's legal holds in force (`oversight.read`): ids, kinds and times.
    pub async fn live_holds(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
    ) -> Result<Vec<HoldRecord>, PersonError> {
        let permit = self.oversight_permit(actor, organisation_id).await?;
        // Which records are held, and for what, is itself sensitive: the reading is recorded.
        let audit =
            AuditDraft::permitted(&permit, Purpose::Audit, self.clock.now()).named("hold.list");
        self.store.record_access(audit).await?;
        Ok(self.store.live_holds(organisation_id).await?)
    }

    /// The organisation's latest certificates (`oversight.read`).
    pub async fn destruction_certificates(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
    ) -> Result<Vec<CertificateRecord>, PersonError> {
        self.oversight_permit(actor, organisation_id).await?;
        Ok(self.store.certificates(organisation_id, 200).await?)
    }

    /// The Data Protection Officer's and Caldicott Guardian's oversight of the organisation (a
    /// refusal is audited and answers "not found").
    pub(super) async fn oversight_permit(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
    ) -> Result<confidant_policy::Permit, PersonError> {
        let resource = Resource::Organisation {
            id: organisation_id,
        };
        match self.permit(actor, Action::OversightRead, resource).await {
            Ok(p) => Ok(p),
            Err(crate::organisation::OrganisationError::Store(e)) => Err(PersonError::Store(e)),
            Err(_) => Err(PersonError::NotFound),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_naming_the_person_is_caught_however_it_is_written() {
        use PersonField::*;
        let details = [
            (GivenName, "Ada"),
            (FamilyName, "Lovelace"),
            (NiNumber, "AB123456C"),
            (NhsNumber, "943 476 5919"),
            (Postcode, "SW1A 1AA"),
            (DateOfBirth, "1980-02-03"),
            (Phone, "07700 900123"),
            (SafeAddress, "1 Refuge Row"),
        ];
        for named in [
            "Duplicate of ada lovelace",
            "Lovelace: test record",
            "NI ab 12 34 56 c was wrong",
            "NHS 9434765919",
            "moved from sw1a1aa",
            "born 03/02/1980",
            "born 1980-02-03",
            "rang +44 7700 900123",
            "at 1 refuge row",
        ] {
            assert!(names_anyone(named, details), "{named}");
        }
        for fine in [
            "Retention period ended; reviewed",
            // A name inside another word is not the name.
            "Adapted plan completed",
        ] {
            assert!(!names_anyone(fine, details), "{fine}");
        }
        // Two letters are too short to tell anything.
        assert!(!names_anyone("Jo left the service", [(GivenName, "Jo")]));
        assert!(names_anyone("Ted left", [(GivenName, "Ted")]));
        assert!(!names_anyone("completed", [(GivenName, "Ted")]));
    }
}
