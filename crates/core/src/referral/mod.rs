//! Referrals and their triage: received → contact attempted → accepted | declined | no response |
//! withdrawn, each step with its time and actor.
//!
//! Guarantees:
//! - A referral is taken only from the sources the service accepts (its configuration); a partner
//!   service's referral only for a person with an open case there.
//! - What was received is sealed with the referral's own data key, so that declining erases it at
//!   once and for good: the sealed fields, the blind indexes and the key go in the same transaction
//!   as the decision, leaving a record of ids, codes and times only.
//! - Possible duplicates are found through blind indexes, without decrypting anyone.
//! - Accepting creates the person (sealed under their own new key) and opens their case, in one
//!   transaction.
//! - Every step out of an open state happens once: of callers racing to accept, decline or close a
//!   referral, one wins and the others get `Conflict` and change nothing (the store moves the
//!   state only from the open state the caller read, and only along an allowed step). "Contact
//!   attempted" may be recorded again and again while the referral is open.
//! - Creating, triaging and accepting need `person.create` on the service; seeing referrals needs
//!   `person.list` on it. Every step is audited.

use std::collections::BTreeMap;

use confidant_policy::{Action, Actor, Permit, Resource};
use uuid::Uuid;

use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::field::{IndexField, PersonField, RecordKind};
use crate::organisation::micros;
use crate::person::{
    Canonical, PersonError, Violation, Violations, access_of, canonical, first_carer, from_micros,
};
use crate::record::{Case, RecordInput, Values, invalid, open_values, parse_record, seal_values};
use crate::store::{
    CaseRecord, ChangeStamp, NewTask, ReferralRecord, ReferralSource, Store, TaskKind, TriageEvent,
    TriageState,
};
use crate::{Clock, Confidant};

const FIRST_KEY_VERSION: i64 = 1;

/// The referral fields that carry over to the person's record on acceptance.
const CARRIED: [(&str, PersonField); 9] = [
    ("given_name", PersonField::GivenName),
    ("family_name", PersonField::FamilyName),
    ("date_of_birth", PersonField::DateOfBirth),
    ("nhs_number", PersonField::NhsNumber),
    ("ni_number", PersonField::NiNumber),
    ("postcode", PersonField::Postcode),
    ("phone", PersonField::Phone),
    ("email", PersonField::Email),
    ("address", PersonField::Address),
];

/// A new referral as received.
#[derive(Debug, Clone)]
pub struct NewReferral {
    pub source: ReferralSource,
    /// For a partner referral: the person's record at the partner service.
    pub partner_person_id: Option<Uuid>,
    pub values: RecordInput,
}

/// A referral, opened: its metadata, what was received (empty once erased), its triage steps and
/// possible duplicates.
#[derive(Debug, Clone)]
pub struct Referral {
    pub record: ReferralRecord,
    pub values: Values,
    pub steps: Vec<TriageEvent>,
    /// People of the service who may be the same person (those within the actor's scope).
    pub duplicate_people: Vec<Uuid>,
    /// Other open referrals that may be of the same person.
    pub duplicate_referrals: Vec<Uuid>,
}

impl Referral {
    pub fn received_at(&self) -> time::OffsetDateTime {
        from_micros(self.record.received_at_micros)
    }
}

/// One line of the referrals list.
#[derive(Debug, Clone)]
pub struct ReferralLine {
    pub record: ReferralRecord,
    /// The referred person's names (empty once erased).
    pub values: Values,
}

/// The person's values of a referral in canonical form, keyed by person field.
fn carried_values(
    values: &Values,
    today: time::Date,
) -> Result<BTreeMap<PersonField, Canonical>, PersonError> {
    let mut out = BTreeMap::new();
    for (code, field) in CARRIED {
        if let Some(raw) = values.get(code) {
            let c = canonical(field, raw, today)
                .map_err(|e| PersonError::Invalid(Violations(vec![e.into()])))?;
            out.insert(field, c);
        }
    }
    Ok(out)
}

impl<S: Store, C: Clock> Confidant<S, C> {
    pub(crate) async fn service_permit(
        &self,
        actor: &Actor,
        action: Action,
        service_id: Uuid,
        purpose: Purpose,
    ) -> Result<Permit, PersonError> {
        let resource = self
            .store
            .service(service_id)
            .await?
            .map(|s| Resource::Service {
                id: s.id,
                organisation_id: s.organisation_id,
            })
            .ok_or(PersonError::NotFound)?;
        self.person_permit(actor, action, resource, purpose).await
    }

    /// Logs a partner's referral as a disclosure of the person's record at the partner service to
    /// the register's partner-service recipient for the receiving service, through the share and
    /// its rules. Without such a recipient, or if the rules refuse it, there is no referral.
    async fn disclose_partner_referral(
        &self,
        actor: &Principal,
        purpose: Purpose,
        partner_person: Uuid,
        service_id: Uuid,
        present: &[(&str, &str)],
    ) -> Result<(), PersonError> {
        let organisation_id = self
            .store
            .service(service_id)
            .await?
            .map(|s| s.organisation_id)
            .ok_or(PersonError::NotFound)?;
        let recipient = self
            .store
            .recipients(organisation_id)
            .await?
            .into_iter()
            .find(|r| {
                r.kind == crate::store::RecipientKind::PartnerService
                    && r.partner_service_id == Some(service_id)
                    && r.retired_at_micros.is_none()
            });
        let Some((recipient, basis)) =
            recipient.and_then(|r| r.bases.first().copied().map(|b| (r, b)))
        else {
            return Err(invalid(
                "source",
                "the register names no partner-service recipient for this service: a referral from a partner is a disclosure, and needs one",
            ));
        };
        let fields = CARRIED
            .iter()
            .filter(|(code, _)| present.iter().any(|(c, _)| c == code))
            .map(|(_, f)| f.code().to_owned())
            .collect();
        let request = crate::sharing::ShareRequest {
            recipient_id: recipient.id,
            fields,
            basis: basis.code().to_owned(),
            reason: "Referred to our partner service".to_owned(),
            person_told: true,
            ..crate::sharing::ShareRequest::default()
        };
        match self.share(actor, purpose, partner_person, &request).await {
            Ok(_) => Ok(()),
            Err(crate::sharing::ShareError::Person(e)) => Err(e),
            Err(crate::sharing::ShareError::Blocked(blocked)) => Err(invalid(
                "partner_person_id",
                format!(
                    "the sharing rules refuse this referral from the partner service ({})",
                    blocked
                        .0
                        .iter()
                        .map(|r| r.rule.code())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    /// Receives a referral into a service.
    pub async fn create_referral(
        &self,
        actor: &Principal,
        purpose: Purpose,
        service_id: Uuid,
        new: &NewReferral,
    ) -> Result<Referral, PersonError> {
        let now = self.clock.now();
        let today = now.date();
        let parse_identifier = |code: &'static str, raw: &str| -> Result<String, Violation> {
            let field = CARRIED
                .iter()
                .find(|(c, _)| *c == code)
                .map(|(_, f)| *f)
                .ok_or_else(|| Violation::new(code, "cannot be set here"))?;
            canonical(field, raw, today).map(|c| c.stored).map_err(|e| {
                // Name the referral's field, not the person's.
                Violation::new(code, e.to_string())
            })
        };
        let parsed = parse_record(
            RecordKind::Referral,
            &new.values,
            &["given_name", "family_name"],
            &parse_identifier,
        )
        .map_err(PersonError::Invalid)?;
        let config = self.service_config(service_id).await?;
        let permit = match (new.source, new.partner_person_id) {
            // A partner referral is sent by the partner service's staff, about a person whose
            // record they may read and who has an open case there. Every failure answers alike
            // (refusals of the record are audited), so it tells nothing about other records.
            (ReferralSource::Partner, Some(partner_person)) => {
                const NOT_THERE: &str =
                    "is not a person with an open case at the partner service that you may see";
                let Some(partner) = config
                    .partner_service_id
                    .filter(|p| *p != service_id && config.referrals.accepts(new.source))
                else {
                    return Err(invalid(
                        "source",
                        "this service does not take referrals from a partner service",
                    ));
                };
                let permit = match self
                    .permit_on_person(actor, Action::PersonRead, partner_person, purpose)
                    .await
                {
                    Ok((permit, Resource::Person { service_id: at, .. })) if at == partner => {
                        permit
                    }
                    Ok(_) | Err(PersonError::NotFound) => {
                        return Err(invalid("partner_person_id", NOT_THERE));
                    }
                    Err(e) => return Err(e),
                };
                let audit = AuditDraft::permitted(&permit, purpose, now).named("case.read");
                let open_there = self
                    .store
                    .cases_of(&access_of(&permit)?, audit)
                    .await?
                    .iter()
                    .any(|c| c.closed_at_micros.is_none() && c.service_id == partner);
                if !open_there {
                    return Err(invalid("partner_person_id", NOT_THERE));
                }
                permit
            }
            (ReferralSource::Partner, None) => {
                return Err(invalid(
                    "partner_person_id",
                    "a partner referral names the person's record at the partner service",
                ));
            }
            (_, Some(_)) => {
                return Err(invalid(
                    "partner_person_id",
                    "only a partner referral names a record at the partner service",
                ));
            }
            (source, None) => {
                let permit = self
                    .service_permit(actor, Action::PersonCreate, service_id, purpose)
                    .await?;
                if !config.referrals.accepts(source) {
                    return Err(invalid(
                        "source",
                        format!(
                            "this service takes referrals from: {}",
                            config.referrals.label().to_lowercase()
                        ),
                    ));
                }
                permit
            }
        };
        let present: Vec<(&str, &str)> = parsed
            .iter()
            .filter_map(|(c, v)| v.as_deref().map(|v| (*c, v)))
            .collect();
        // A referral from a partner service moves the person's data from one service of the
        // organisation to another: a disclosure like any other, under the sharing rules, logged at
        // the partner service before the referral is made.
        if let Some(partner_person) = new.partner_person_id {
            self.disclose_partner_referral(actor, purpose, partner_person, service_id, &present)
                .await?;
        }
        let id = Uuid::now_v7();
        let (key, wrapped) = self.keys.new_data_key(id, FIRST_KEY_VERSION);
        let sealed = seal_values(&key, id, FIRST_KEY_VERSION, present.iter().copied());
        let mut values = Values::default();
        for (code, value) in &present {
            if let Some(spec) = crate::field::record_field(RecordKind::Referral, code) {
                values.insert(spec.code, (*value).to_owned());
            }
        }
        let indexes = self.present_indexes(&carried_values(&values, today)?);
        let record = ReferralRecord {
            id,
            service_id,
            source: new.source,
            partner_person_id: new.partner_person_id,
            state: TriageState::Received,
            received_at_micros: micros(now),
            last_contact_at_micros: None,
            decided_at_micros: None,
            person_id: None,
            case_id: None,
            key_version: FIRST_KEY_VERSION,
            created_by: actor.audit_id(),
        };
        let organisation_id = permit
            .resource()
            .organisation_id()
            .ok_or(PersonError::NotFound)?;
        let audit = AuditDraft::permitted(&permit, purpose, now)
            .named("referral.create")
            .opens(NewTask::referral_triage(organisation_id, service_id, id));
        self.store
            .create_referral(&record, &sealed, &indexes, &wrapped, audit)
            .await?;
        let (duplicate_people, duplicate_referrals) = self
            .visible_duplicates(actor, service_id, &indexes, id)
            .await?;
        Ok(Referral {
            steps: vec![TriageEvent {
                referral_id: id,
                state: TriageState::Received,
                at_micros: record.received_at_micros,
                actor: record.created_by.clone(),
            }],
            record,
            values,
            duplicate_people,
            duplicate_referrals,
        })
    }

    /// Opens a referral's values, unless it was accepted into a record outside the actor's scope
    /// (what was received is then part of that record, and shown only with it).
    async fn referral_values(
        &self,
        actor: &Actor,
        record: &ReferralRecord,
        sealed: &crate::store::SealedFields,
        wrapped: Option<crate::store::WrappedDataKey>,
    ) -> Result<Values, PersonError> {
        let Some(w) = wrapped else {
            return Ok(Values::default());
        };
        if let Some(person) = record.person_id
            && !self.within_scope(actor, person).await?
        {
            return Ok(Values::default());
        }
        let key = self.keys.data_key(&w)?;
        Ok(open_values(
            RecordKind::Referral,
            &key,
            record.id,
            record.key_version,
            sealed,
        )?)
    }

    /// Possible duplicates by blind index; people shown only if within the actor's scope.
    async fn visible_duplicates(
        &self,
        actor: &Actor,
        service_id: Uuid,
        indexes: &[(IndexField, [u8; 16])],
        referral_id: Uuid,
    ) -> Result<(Vec<Uuid>, Vec<Uuid>), PersonError> {
        // A postcode alone says little (and would list everyone at an address, a victim included,
        // against a perpetrator's referral): it never counts on its own.
        let indexes: Vec<(IndexField, [u8; 16])> = indexes
            .iter()
            .copied()
            .filter(|(f, _)| *f != IndexField::Postcode)
            .collect();
        if indexes.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let (people, referrals) = self
            .store
            .duplicate_candidates(service_id, &indexes, Some(referral_id))
            .await?;
        let mut visible = Vec::new();
        for person in people {
            if self.within_scope(actor, person).await? {
                visible.push(person);
            }
        }
        Ok((visible, referrals))
    }

    /// A service's referrals, newest first (open ones only if `open_only`), with the referred
    /// person's names while the referral still holds them.
    pub async fn referrals(
        &self,
        actor: &Principal,
        purpose: Purpose,
        service_id: Uuid,
        open_only: bool,
    ) -> Result<Vec<ReferralLine>, PersonError> {
        let permit = self
            .service_permit(actor, Action::PersonList, service_id, purpose)
            .await?;
        let audit =
            AuditDraft::permitted(&permit, purpose, self.clock.now()).named("referral.list");
        let rows = self
            .store
            .referrals(
                service_id,
                open_only,
                &["given_name", "family_name"],
                500,
                audit,
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (record, sealed, wrapped) in rows {
            let values = self
                .referral_values(actor, &record, &sealed, wrapped)
                .await?;
            out.push(ReferralLine { record, values });
        }
        Ok(out)
    }

    /// One referral with what was received, its triage steps and possible duplicates.
    pub async fn referral(
        &self,
        actor: &Principal,
        purpose: Purpose,
        referral_id: Uuid,
    ) -> Result<Referral, PersonError> {
        let meta = self
            .store
            .referral(referral_id)
            .await?
            .ok_or(PersonError::NotFound)?;
        let permit = self
            .service_permit(actor, Action::PersonList, meta.service_id, purpose)
            .await?;
        let audit =
            AuditDraft::permitted(&permit, purpose, self.clock.now()).named("referral.read");
        let (record, sealed, wrapped) = self
            .store
            .read_referral(referral_id, audit)
            .await?
            .ok_or(PersonError::NotFound)?;
        let values = self
            .referral_values(actor, &record, &sealed, wrapped)
            .await?;
        let (duplicate_people, duplicate_referrals) = if record.state.is_open() {
            let indexes = self.present_indexes(&carried_values(&values, self.clock.now().date())?);
            self.visible_duplicates(actor, record.service_id, &indexes, record.id)
                .await?
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(Referral {
            steps: self.store.triage_events(referral_id).await?,
            record,
            values,
            duplicate_people,
            duplicate_referrals,
        })
    }

    /// Moves a referral on in triage: contact attempted, or one of the outcomes other than
    /// acceptance. Declining erases what was received, at once.
    pub async fn triage_referral(
        &self,
        actor: &Principal,
        purpose: Purpose,
        referral_id: Uuid,
        to: TriageState,
    ) -> Result<ReferralRecord, PersonError> {
        if to == TriageState::Accepted {
            return Err(invalid("state", "accept a referral with its own action"));
        }
        if to == TriageState::Received {
            return Err(invalid("state", "a referral cannot go back to received"));
        }
        let record = self
            .store
            .referral(referral_id)
            .await?
            .ok_or(PersonError::NotFound)?;
        let permit = self
            .service_permit(actor, Action::PersonCreate, record.service_id, purpose)
            .await?;
        if !record.state.may_become(to) {
            return Err(PersonError::Conflict(
                "the referral has already been decided",
            ));
        }
        let now = self.clock.now();
        let step = ChangeStamp {
            by: actor.audit_id(),
            at_micros: micros(now),
        };
        let event = match to {
            TriageState::Declined => "referral.decline",
            TriageState::ContactAttempted => "referral.contact",
            TriageState::NoResponse => "referral.no_response",
            _ => "referral.withdraw",
        };
        let mut audit = AuditDraft::permitted(&permit, purpose, now).named(event);
        // Trying to make contact keeps the referral waiting; every other step decides it.
        if to != TriageState::ContactAttempted {
            audit = audit.closes(TaskKind::ReferralTriage, referral_id);
        }
        if !self
            .store
            .move_referral(referral_id, record.state, to, &step, audit)
            .await?
        {
            return Err(PersonError::Conflict(
                "the referral changed meanwhile; read it again",
            ));
        }
        self.store
            .referral(referral_id)
            .await?
            .ok_or(PersonError::NotFound)
    }

    /// Accepts a referral: creates the person from what was received (sealed under their own new
    /// key) and opens their case with the key worker given (or the accepting practitioner).
    pub async fn accept_referral(
        &self,
        actor: &Principal,
        purpose: Purpose,
        referral_id: Uuid,
        key_worker_id: Option<Uuid>,
    ) -> Result<(Uuid, Case), PersonError> {
        let meta = self
            .store
            .referral(referral_id)
            .await?
            .ok_or(PersonError::NotFound)?;
        let service_id = meta.service_id;
        let permit = self
            .service_permit(actor, Action::PersonCreate, service_id, purpose)
            .await?;
        if !meta.state.may_become(TriageState::Accepted) {
            return Err(PersonError::Conflict(
                "the referral has already been decided",
            ));
        }
        self.check_key_worker(service_id, key_worker_id).await?;
        let now = self.clock.now();
        let read = AuditDraft::permitted(&permit, purpose, now).named("referral.read");
        let (record, sealed, wrapped) = self
            .store
            .read_referral(referral_id, read)
            .await?
            .ok_or(PersonError::NotFound)?;
        // Read again, so it may have been decided since the check above (by a racing accept or a
        // decline, which erases it): the state compared and set below is this one, so it must be
        // open too, or a second accept would "move" accepted to accepted (issue 12).
        if !record.state.may_become(TriageState::Accepted) {
            return Err(PersonError::Conflict(
                "the referral has already been decided",
            ));
        }
        // Read as open but its key gone from the key store: a decline erased it between the two
        // reads (the key store is read after the data), so it has been decided.
        let wrapped = wrapped.ok_or(PersonError::Conflict(
            "the referral has already been decided",
        ))?;
        let key = self.keys.data_key(&wrapped)?;
        let values = open_values(
            RecordKind::Referral,
            &key,
            record.id,
            record.key_version,
            &sealed,
        )?;
        let current = carried_values(&values, now.date())?;
        let person_id = Uuid::now_v7();
        let (team_id, mine) = first_carer(actor, service_id);
        let key_worker = key_worker_id.or(mine);
        let (person, indexes, person_key) =
            self.seal_new_person(person_id, service_id, (team_id, key_worker), &current, now);
        let case = CaseRecord {
            id: Uuid::now_v7(),
            person_id,
            service_id,
            key_worker_id: key_worker,
            opened_at_micros: micros(now),
            opened_by: actor.audit_id(),
            closed_at_micros: None,
            closed_by: None,
            closure_reason: None,
        };
        let step = ChangeStamp {
            by: actor.audit_id(),
            at_micros: micros(now),
        };
        let audit = AuditDraft::permitted(&permit, purpose, now)
            .named("referral.accept")
            .about(person_id)
            .closes(TaskKind::ReferralTriage, referral_id);
        if !self
            .store
            .accept_referral(
                referral_id,
                record.state,
                &person,
                &indexes,
                &person_key,
                &case,
                &step,
                audit,
            )
            .await?
        {
            return Err(PersonError::Conflict(
                "the referral changed meanwhile; read it again",
            ));
        }
        Ok((person_id, case.into()))
    }
}
