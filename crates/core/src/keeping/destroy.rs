//! Destroying a person's record: its scope first, then the destruction and its certificate.

use confidant_policy::{Action, Resource};
use uuid::Uuid;

use super::certificate::{self, COPIES, Certificate, DestructionBasis, FORMAT};
use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::field::PersonField;
use crate::organisation::micros;
use crate::person::{PersonError, Violation, Violations, access_of};
use crate::store::{
    CertificateRecord, DestructionPlan, DestructionRefusal, DestructionScope, HoldRecord, Store,
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

/// The details a reason must not hold: what names the person or reaches them.
const NAMING: [PersonField; 11] = [
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
];

/// Lower case, white space and punctuation dropped: "AB 12 34 56 C" and "ab123456c" match.
fn folded(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether `reason` holds any of `values` (each of at least three letters or digits).
pub(crate) fn names_anyone<'a>(reason: &str, values: impl IntoIterator<Item = &'a str>) -> bool {
    let reason = folded(reason);
    values.into_iter().any(|v| {
        let v = folded(v);
        v.chars().count() >= 3 && reason.contains(&v)
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

        // The certificate outlives the record: its reason must not name the person.
        let check = AuditDraft::permitted(&permit, purpose, now).named("person.destroy_check");
        let Some((sealed, wrapped)) = self.store.read_person(&access, check).await? else {
            return Err(PersonError::NotFound);
        };
        let person = self.open_person(&sealed, &wrapped)?;
        if names_anyone(&reason, NAMING.iter().filter_map(|f| person.get(*f))) {
            return Err(PersonError::Invalid(Violations(vec![Violation::new(
                "reason",
                "names the person or one of their details: say why without naming anyone, as the certificate is kept after the record is gone",
            )])));
        }
        drop(person);

        let preview = AuditDraft::permitted(&permit, purpose, now).named("person.destroy_preview");
        let scope = self
            .store
            .destruction_scope(&access, preview)
            .await?
            .ok_or(PersonError::NotFound)?;
        if scope.live_holds > 0 {
            return Err(self.held(&permit, purpose).await?);
        }
        let certificate_id = Uuid::now_v7();
        let certificate = Certificate {
            format: FORMAT.to_owned(),
            certificate: certificate_id,
            organisation: organisation_id,
            service: service_id,
            record: person_id,
            basis: basis.code().to_owned(),
            reason,
            decided_by: actor.audit_id(),
            approved_by: Vec::new(),
            destroyed_at: crate::sharing::rfc3339(now),
            items: certificate::items(&scope),
            copies: COPIES.to_owned(),
        };
        let body = certificate.body();
        let sha = certificate::sha256_hex(&body);
        let record = CertificateRecord {
            id: certificate_id,
            organisation_id,
            issued_at_micros: micros(now),
            body: body.clone(),
            body_sha256: sha.clone(),
        };
        let plan = DestructionPlan {
            access: &access,
            scope,
            certificate_id,
            organisation_id,
            certificate: body,
            certificate_sha256: sha,
            at_micros: micros(now),
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
            Err(DestructionRefusal::Changed) => Err(PersonError::Conflict(
                "the record changed while it was being destroyed; look at what it holds again",
            )),
        }
    }

    /// A destruction refused by a legal hold: recorded as a refusal, and the answer.
    async fn held(
        &self,
        permit: &confidant_policy::Permit,
        purpose: Purpose,
    ) -> Result<PersonError, PersonError> {
        let audit =
            AuditDraft::refused_under(permit, purpose, self.clock.now()).named("person.destroy");
        self.store.record_access(audit).await?;
        Ok(PersonError::Conflict(
            "a legal hold is in force on this record: only the Data Protection Officer can release it",
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
        self.oversight_permit(actor, organisation_id).await?;
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
    async fn oversight_permit(
        &self,
        actor: &Principal,
        organisation_id: Uuid,
    ) -> Result<(), PersonError> {
        let resource = Resource::Organisation {
            id: organisation_id,
        };
        match self.permit(actor, Action::OversightRead, resource).await {
            Ok(_) => Ok(()),
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
        let details = ["Ada", "Lovelace", "AB123456C", "943 476 5919", "SW1A 1AA"];
        assert!(names_anyone("Duplicate of ada lovelace", details));
        assert!(names_anyone("NI ab 12 34 56 c was wrong", details));
        assert!(names_anyone("NHS 9434765919", details));
        assert!(names_anyone("moved from sw1a1aa", details));
        assert!(!names_anyone("Retention period ended; reviewed", details));
        // Two letters are too short to tell anything (initials, "Jo" in "major").
        assert!(!names_anyone("a major review", ["Jo"]));
    }
}
