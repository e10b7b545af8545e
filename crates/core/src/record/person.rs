//! People supported by a service: create, read, update, list, find by identifier, and crypto-shred.
//!
//! Guarantees:
//! - Input is parsed field by field into the identifier types; every invalid field is reported by name
//!   (never by value) and nothing is written.
//! - Each value is sealed with the person's own data key for its exact place (`person_field`, field
//!   code, person id, key version); identifiers are findable only through blind indexes.
//! - Each operation is authorized by the policy and audited in the same transaction; a refusal is
//!   audited and answers exactly like a missing record.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use confidant_crypto::{CryptoError, DataKey, FieldAddress};
use confidant_policy::{AccessScope, Action, Actor, Context, Denied, Grant, Permit, Resource};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::access::PersonAccess;
use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::field::{FieldGroups, FieldSpec, IndexField, PersonField, ValueKind};
use crate::identifier::{
    DateOfBirth, EmailAddress, IdentifierError, NationalInsuranceNumber, NhsNumber, PersonName,
    PhoneNumber, Postcode, normalise_name_for_index,
};
use crate::name_index::{self, GramDigest};
use crate::organisation::micros;
use crate::sharing::Referred;
use crate::store::{
    ChangeStamp, FieldChange, IndexChange, SealedPerson, ServiceConfig, Store, StoreError,
    WrappedDataKey,
};
use crate::{Clock, Confidant};

const SEALED_TABLE: &str = "person_field";
const FIRST_KEY_VERSION: i64 = 1;
/// The longest page a list returns.
pub const MAX_PAGE: u32 = 200;
/// The most people a name search returns.
pub const MAX_SEARCH: usize = 100;
/// The most candidates a name search opens.
const MAX_CANDIDATES: u32 = 2000;

/// One invalid field: its name and what is wrong, never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: &'static str,
    pub message: String,
}

impl Violation {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

impl From<IdentifierError> for Violation {
    fn from(e: IdentifierError) -> Self {
        Violation::new(e.field(), e.to_string())
    }
}

/// Every invalid field of one request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Violations(pub Vec<Violation>);

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<_> = self.0.iter().map(|v| v.field).collect();
        write!(f, "invalid: {}", fields.join(", "))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PersonError {
    /// Missing, or not the actor's to see: the two answer the same.
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Invalid(Violations),
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The record may be read, but not in this way by this caller: an export under break-the-glass
    /// (which is read-only). `code` is a stable code for the API, `message` a plain sentence.
    #[error("forbidden: {code}")]
    Forbidden {
        code: &'static str,
        message: &'static str,
    },
    #[error(transparent)]
    Store(StoreError),
    /// A stored value failed to open: damage or tampering, never the user's fault.
    #[error("a stored value could not be opened")]
    Crypto(#[from] CryptoError),
}

impl From<StoreError> for PersonError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => PersonError::Conflict(what),
            other => PersonError::Store(other),
        }
    }
}

/// A person's details as given by a client: catalogue field codes and their values. On create, names
/// are required and absent fields stay empty; on update, absent fields are unchanged and an empty
/// string clears an optional field. A code the catalogue does not have, or of a field group the
/// service does not collect, is refused.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct PersonInput(BTreeMap<String, String>);

impl fmt::Debug for PersonInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonInput({:?}, [redacted])", self.0.keys())
    }
}

impl PersonInput {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a field's raw value (builder style).
    pub fn with(mut self, field: PersonField, value: impl Into<String>) -> Self {
        self.set(field, value);
        self
    }

    pub fn set(&mut self, field: PersonField, value: impl Into<String>) {
        self.0.insert(field.code().to_owned(), value.into());
    }

    /// Sets a field by its code, as a form or API gives it (checked when the input is used).
    pub fn set_code(&mut self, code: &str, value: impl Into<String>) {
        self.0.insert(code.to_owned(), value.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The raw value given for a field, if any.
    pub fn get(&self, field: PersonField) -> Option<&str> {
        self.raw(field)
    }

    fn raw(&self, field: PersonField) -> Option<&str> {
        self.0.get(field.code()).map(String::as_str)
    }

    /// Codes given that are not in the catalogue.
    fn unknown(&self) -> impl Iterator<Item = &str> {
        self.0
            .keys()
            .map(String::as_str)
            .filter(|c| PersonField::from_code(c).is_none())
    }
}

/// Free text: at most `max` characters, no control characters (line breaks only if `multiline`),
/// and, unless empty, at least one visible character.
pub(crate) fn parse_text(
    field: &'static str,
    input: &str,
    max: usize,
    multiline: bool,
) -> Result<String, IdentifierError> {
    let text = input.trim();
    if text.chars().count() > max {
        return Err(IdentifierError::TooLong { field, max });
    }
    if text
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')))
    {
        return Err(IdentifierError::Invalid {
            field,
            reason: if multiline {
                "must not contain control characters"
            } else {
                "must be one line without control characters"
            },
        });
    }
    if !text.is_empty() && !crate::identifier::has_visible(text) {
        return Err(IdentifierError::Invalid {
            field,
            reason: crate::identifier::VISIBLE_REQUIRED,
        });
    }
    Ok(text.to_owned())
}

/// A value of a catalogue field of the generic kinds (line, text, date, choice).
pub(crate) fn parse_value(spec: &FieldSpec, input: &str) -> Result<String, IdentifierError> {
    match spec.kind {
        ValueKind::Line(max) => parse_text(spec.code, input, max, false),
        ValueKind::Text(max) => parse_text(spec.code, input, max, true),
        ValueKind::Date => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(input.trim(), &format)
                .map(|d| d.format(&format).unwrap_or_default())
                .map_err(|_| IdentifierError::Invalid {
                    field: spec.code,
                    reason: "must be a date as YYYY-MM-DD",
                })
        }
        ValueKind::Choice(options) => options
            .iter()
            .find(|(code, _)| *code == input.trim())
            .map(|(code, _)| (*code).to_owned())
            .ok_or(IdentifierError::Invalid {
                field: spec.code,
                reason: "is not one of the offered choices",
            }),
        ValueKind::Identifier | ValueKind::Document => Err(IdentifierError::Invalid {
            field: spec.code,
            reason: "cannot be set here",
        }),
    }
}

/// A postal address: free text, 1–300 characters, line breaks allowed, no other control characters.
fn parse_address(field: &'static str, input: &str) -> Result<String, IdentifierError> {
    parse_text(field, input, 300, true)
}

/// A parsed value in its canonical stored form, with its blind-index form where it has one.
pub(crate) struct Canonical {
    pub(crate) stored: String,
    pub(crate) index: Option<String>,
}

fn parse_field(
    field: PersonField,
    raw: &str,
    today: time::Date,
) -> Result<Canonical, IdentifierError> {
    let plain = |stored: String| Canonical {
        stored,
        index: None,
    };
    Ok(match field {
        PersonField::GivenName | PersonField::FamilyName => {
            let name = PersonName::parse(field.code(), raw)?;
            Canonical {
                index: Some(normalise_name_for_index(&name)),
                stored: name.as_str().to_owned(),
            }
        }
        PersonField::DateOfBirth => plain(DateOfBirth::parse(raw, today)?.as_str().to_owned()),
        PersonField::Address => plain(parse_address(field.code(), raw)?),
        // Safe contact details are checked like the ordinary ones but never get a blind index: they
        // must not be findable from anywhere else.
        PersonField::SafePhone => plain(PhoneNumber::parse(raw)?.as_str().to_owned()),
        PersonField::SafeEmail => plain(EmailAddress::parse(raw)?.as_str().to_owned()),
        PersonField::SafeAddress
        | PersonField::SafeTimes
        | PersonField::Language
        | PersonField::Interpreter
        | PersonField::CommunicationNeeds
        | PersonField::Photo
        | PersonField::Gender
        | PersonField::RelationshipStatus
        | PersonField::SexualOrientation
        | PersonField::Ethnicity
        | PersonField::Religion
        | PersonField::Disabilities
        | PersonField::PhysicalHealth
        | PersonField::MentalHealth
        | PersonField::Pregnancy
        | PersonField::Convictions
        | PersonField::CriminalJusticeOrders
        | PersonField::OffenderManager
        | PersonField::EmploymentHistory
        | PersonField::Income
        | PersonField::HousingHistory
        | PersonField::Debts => plain(parse_value(&field.spec(), raw)?),
        PersonField::NhsNumber => {
            let v = NhsNumber::parse(raw)?;
            Canonical {
                stored: v.as_str().to_owned(),
                index: Some(v.normalised_for_index()),
            }
        }
        PersonField::NiNumber => {
            let v = NationalInsuranceNumber::parse(raw)?;
            Canonical {
                stored: v.as_str().to_owned(),
                index: Some(v.normalised_for_index()),
            }
        }
        PersonField::Postcode => {
            let v = Postcode::parse(raw)?;
            Canonical {
                stored: v.as_str().to_owned(),
                index: Some(v.normalised_for_index()),
            }
        }
        PersonField::Phone => {
            let v = PhoneNumber::parse(raw)?;
            Canonical {
                stored: v.as_str().to_owned(),
                index: Some(v.normalised_for_index()),
            }
        }
        PersonField::Email => {
            let v = EmailAddress::parse(raw)?;
            Canonical {
                stored: v.as_str().to_owned(),
                index: Some(v.normalised_for_index()),
            }
        }
    })
}

/// Who looks after a person a member of staff records: their team, and themselves if they are a
/// practitioner of the service.
pub(crate) fn first_carer(actor: &Actor, service_id: Uuid) -> (Option<Uuid>, Option<Uuid>) {
    match actor {
        Actor::Staff(me) if me.service_id == Some(service_id) => (
            me.team_id,
            (me.role == confidant_policy::Role::Practitioner).then_some(me.user_id),
        ),
        _ => (None, None),
    }
}

/// Parses one identity value of a person into its canonical form (with its index form).
pub(crate) fn canonical(
    field: PersonField,
    raw: &str,
    today: time::Date,
) -> Result<Canonical, IdentifierError> {
    parse_field(field, raw, today)
}

/// The requested changes, validated: `Some(value)` sets, `None` clears.
type Parsed = BTreeMap<PersonField, Option<Canonical>>;

pub(crate) fn parse_input(
    input: &PersonInput,
    today: time::Date,
    creating: bool,
    groups: &FieldGroups,
) -> Result<Parsed, Violations> {
    let mut parsed = Parsed::new();
    let mut violations = Vec::new();
    if input.unknown().next().is_some() {
        violations.push(Violation::new(
            "fields",
            "holds a field code the catalogue does not have",
        ));
    }
    for field in PersonField::ALL {
        let spec = field.spec();
        if input.raw(field).is_some() && !groups.contains(spec.group) {
            violations.push(Violation::new(
                spec.code,
                format!("{} is not collected by this service", spec.code),
            ));
            continue;
        }
        if spec.kind == ValueKind::Document && input.raw(field).is_some() {
            violations.push(Violation::new(
                spec.code,
                format!("{} is uploaded as a file, not set as a value", spec.code),
            ));
            continue;
        }
        let required = matches!(field, PersonField::GivenName | PersonField::FamilyName);
        match input.raw(field) {
            None if creating && required => violations.push(Violation::new(
                field.code(),
                format!("{} is required", field.code()),
            )),
            None => {}
            // An empty optional field clears it on update and is simply absent on create.
            Some(raw) if raw.trim().is_empty() && !required && !creating => {
                parsed.insert(field, None);
            }
            Some(raw) if raw.trim().is_empty() && !required => {}
            Some(raw) => match parse_field(field, raw, today) {
                Ok(c) => {
                    parsed.insert(field, Some(c));
                }
                Err(e) => violations.push(e.into()),
            },
        }
    }
    if violations.is_empty() {
        Ok(parsed)
    } else {
        Err(Violations(violations))
    }
}

/// A person's record, opened. Prints no values.
#[derive(Clone)]
pub struct Person {
    pub id: Uuid,
    pub service_id: Uuid,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    values: BTreeMap<PersonField, String>,
    /// How much of the record the reader sees.
    pub view: RecordView,
    /// For [`RecordView::Referred`]: the fields the referrals sent.
    referred: BTreeSet<PersonField>,
}

/// Only a person's name, for a page's heading (a projection: nothing else of the record is opened).
/// Prints no values.
#[derive(Clone)]
pub struct PersonHeading {
    pub id: Uuid,
    pub service_id: Uuid,
    given: Option<String>,
    family: Option<String>,
}

impl PersonHeading {
    /// The name as a heading shows it: given name, then family name.
    pub fn full(&self) -> String {
        format!(
            "{} {}",
            self.given.as_deref().unwrap_or_default(),
            self.family.as_deref().unwrap_or_default()
        )
    }
}

impl fmt::Debug for PersonHeading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersonHeading")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// How much of a record a reader sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordView {
    /// Everything their permit reaches.
    Whole,
    /// A processor's worker: only what their live referrals sent (some of the person's fields, and
    /// the entries sent). Nothing else of the record exists for them: no related people, cases,
    /// documents, consents, contact preferences, history or access history.
    Referred,
}

impl Person {
    pub fn get(&self, field: PersonField) -> Option<&str> {
        self.values.get(&field).map(String::as_str)
    }

    /// Whether the reader sees (and may change) this field at all: a processor's worker only the
    /// fields their referrals sent.
    pub fn shows(&self, field: PersonField) -> bool {
        match self.view {
            RecordView::Whole => true,
            RecordView::Referred => self.referred.contains(&field),
        }
    }
}

impl fmt::Debug for Person {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Person")
            .field("id", &self.id)
            .field("service_id", &self.service_id)
            .field(
                "fields",
                &self.values.keys().map(|k| k.code()).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// What a reader may see of an opened record: a processor's worker (`referred` is what their live
/// referrals sent) only those fields. Every answer that carries a person's fields (reads and the
/// answers to writes) goes through here.
fn project(referred: Option<&Referred>, mut person: Person) -> Person {
    if let Some(referred) = referred {
        person
            .values
            .retain(|field, _| referred.fields.contains(field));
        person.view = RecordView::Referred;
        person.referred = referred.fields.clone();
    }
    person
}

pub(crate) fn from_micros(m: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(m) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn address<'a>(field: PersonField, row_id: &'a str, key_version: i64) -> FieldAddress<'a> {
    FieldAddress {
        table: SEALED_TABLE,
        column: field.code(),
        row_id,
        key_version: u32::try_from(key_version).unwrap_or(u32::MAX),
    }
}

/// The normalised inputs of every blind index, from the full set of current values: an update
/// recomputes them all, because the date-of-birth-and-family-name index needs both parts.
fn index_sources(current: &BTreeMap<PersonField, Canonical>) -> Vec<(IndexField, Option<String>)> {
    let index_of = |f: PersonField| current.get(&f).and_then(|c| c.index.clone());
    let birth_family = match (
        current.get(&PersonField::DateOfBirth),
        index_of(PersonField::FamilyName),
    ) {
        (Some(dob), Some(family)) => Some(format!("{}|{family}", dob.stored)),
        _ => None,
    };
    vec![
        (IndexField::NhsNumber, index_of(PersonField::NhsNumber)),
        (IndexField::NiNumber, index_of(PersonField::NiNumber)),
        (IndexField::Postcode, index_of(PersonField::Postcode)),
        (IndexField::Phone, index_of(PersonField::Phone)),
        (IndexField::Email, index_of(PersonField::Email)),
        (IndexField::BirthAndFamilyName, birth_family),
    ]
}

/// A look-up by identifier: which index, and the value to look for.
#[derive(Clone)]
pub struct Lookup {
    pub field: IndexField,
    pub value: String,
}

impl fmt::Debug for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Lookup({}, [redacted])", self.field.code())
    }
}

/// One line of a list: the person's id and names.
#[derive(Clone)]
pub struct PersonSummary {
    pub id: Uuid,
    pub given_name: String,
    pub family_name: String,
}

impl fmt::Debug for PersonSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonSummary({}, [redacted])", self.id)
    }
}

/// The access a permit decided on a person gives. A permit on anything else reaches no one: to the
/// use case asking, the person is not there.
pub(crate) fn access_of(permit: &Permit) -> Result<PersonAccess, PersonError> {
    PersonAccess::granted(permit).ok_or(PersonError::NotFound)
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// Authorizes; a refusal is audited and answered as "not found". When the actor's role does not
    /// reach the person, a live grant they hold on the person (break the glass, a trustee's matter, a
    /// processor's referral) is offered to the policy as context; the permit then records it.
    ///
    /// A processor's referral is never offered here: a use case that may act under one projects
    /// what it reads and changes onto what the referral sent, and asks through
    /// [`Self::person_permit_referred`]. Every other use case refuses a processor's worker.
    pub(crate) async fn person_permit(
        &self,
        actor: &Actor,
        action: Action,
        resource: Resource,
        purpose: Purpose,
    ) -> Result<Permit, PersonError> {
        self.person_permit_with(actor, action, resource, purpose, false)
            .await
    }

    /// As [`Self::person_permit`], and a processor's live referral may ground the permit: only for
    /// use cases that keep to [`Self::referred_scope`] in what they answer and change.
    pub(crate) async fn person_permit_referred(
        &self,
        actor: &Actor,
        action: Action,
        resource: Resource,
        purpose: Purpose,
    ) -> Result<Permit, PersonError> {
        self.person_permit_with(actor, action, resource, purpose, true)
            .await
    }

    async fn person_permit_with(
        &self,
        actor: &Actor,
        action: Action,
        resource: Resource,
        purpose: Purpose,
        referral_projected: bool,
    ) -> Result<Permit, PersonError> {
        match self
            .try_person_permit(actor, action, resource, referral_projected)
            .await?
        {
            Ok(permit) => Ok(permit),
            Err(denied) => {
                let audit = AuditDraft::refused(&denied, purpose, self.clock.now());
                self.store.append_audit(audit).await?;
                Err(PersonError::NotFound)
            }
        }
    }

    /// The decision of [`Self::person_permit_with`], recorded nowhere.
    pub(crate) async fn try_person_permit(
        &self,
        actor: &Actor,
        action: Action,
        resource: Resource,
        referral_projected: bool,
    ) -> Result<Result<Permit, Denied>, PersonError> {
        let denied = match self.authorizer.authorize(actor, action, resource) {
            Ok(permit) => return Ok(Ok(permit)),
            Err(denied) => denied,
        };
        if let (Actor::Staff(staff), Resource::Person { id, .. }) = (actor, resource) {
            let grants = self
                .store
                .live_grants(staff.user_id, id, micros(self.clock.now()))
                .await?;
            for grant in grants {
                if grant == Grant::ProcessorReferral
                    && (!referral_projected
                        || self.live_referrals(staff.user_id, id).await?.is_empty())
                {
                    continue;
                }
                let context = Context { grant: Some(grant) };
                if let Ok(permit) = self
                    .authorizer
                    .authorize_in(actor, action, resource, context)
                {
                    return Ok(Ok(permit));
                }
            }
        }
        Ok(Err(denied))
    }

    /// The service as a resource; a missing one is audited and answered as "not found".
    pub(crate) async fn service_resource(
        &self,
        actor: &Actor,
        action: Action,
        service_id: Uuid,
        purpose: Purpose,
    ) -> Result<Resource, PersonError> {
        match self.store.service(service_id).await? {
            Some(s) => Ok(Resource::Service {
                id: s.id,
                organisation_id: s.organisation_id,
            }),
            None => {
                let audit = AuditDraft::missing(
                    actor,
                    action,
                    "service",
                    service_id,
                    purpose,
                    self.clock.now(),
                );
                self.store.append_audit(audit).await?;
                Err(PersonError::NotFound)
            }
        }
    }

    pub(crate) async fn person_resource(
        &self,
        actor: &Actor,
        action: Action,
        person_id: Uuid,
        purpose: Purpose,
    ) -> Result<Resource, PersonError> {
        match self.store.placement(person_id).await? {
            Some(p) => Ok(p.resource()),
            None => {
                let audit = AuditDraft::missing(
                    actor,
                    action,
                    "person",
                    person_id,
                    purpose,
                    self.clock.now(),
                );
                self.store.append_audit(audit).await?;
                Err(PersonError::NotFound)
            }
        }
    }

    /// A service's configuration, or what an unconfigured service does.
    pub async fn service_config(&self, service_id: Uuid) -> Result<ServiceConfig, StoreError> {
        Ok(self
            .store
            .service_config(service_id)
            .await?
            .unwrap_or_else(|| ServiceConfig::default_for(service_id)))
    }

    fn digests(&self, sources: Vec<(IndexField, Option<String>)>) -> Vec<IndexChange> {
        sources
            .into_iter()
            .map(|(field, value)| (field, value.map(|v| self.keys.blind_index(field, &v))))
            .collect()
    }

    /// Seals a new person's values under a new data key, with their blind indexes.
    pub(crate) fn seal_new_person(
        &self,
        id: Uuid,
        service_id: Uuid,
        (team_id, key_worker_id): (Option<Uuid>, Option<Uuid>),
        current: &BTreeMap<PersonField, Canonical>,
        now: OffsetDateTime,
    ) -> (SealedPerson, Vec<(IndexField, [u8; 16])>, WrappedDataKey) {
        let (key, wrapped) = self.keys.new_data_key(id, FIRST_KEY_VERSION);
        let row_id = id.to_string();
        let sealed = SealedPerson {
            id,
            service_id,
            team_id,
            key_worker_id,
            key_version: FIRST_KEY_VERSION,
            fields: current
                .iter()
                .map(|(f, c)| {
                    (
                        *f,
                        key.seal(
                            &address(*f, &row_id, FIRST_KEY_VERSION),
                            c.stored.as_bytes(),
                        ),
                    )
                })
                .collect(),
            name_grams: self.name_grams(service_id, current),
            created_at_micros: micros(now),
            updated_at_micros: micros(now),
        };
        (sealed, self.present_indexes(current), wrapped)
    }

    /// The name-gram digests of a person's names.
    fn name_grams(
        &self,
        service_id: Uuid,
        current: &BTreeMap<PersonField, Canonical>,
    ) -> Vec<GramDigest> {
        let names: Vec<&str> = [PersonField::GivenName, PersonField::FamilyName]
            .iter()
            .filter_map(|f| current.get(f).map(|c| c.stored.as_str()))
            .collect();
        name_index::grams_of_names(&names)
            .iter()
            .map(|g| self.keys.name_gram(service_id, g))
            .collect()
    }

    /// The blind-index digests of a set of values (only the indexes that have a value).
    pub(crate) fn present_indexes(
        &self,
        current: &BTreeMap<PersonField, Canonical>,
    ) -> Vec<(IndexField, [u8; 16])> {
        self.digests(index_sources(current))
            .into_iter()
            .filter_map(|(f, d)| d.map(|d| (f, d)))
            .collect()
    }

    /// Creates a person in a service.
    pub async fn create_person(
        &self,
        actor: &Principal,
        purpose: Purpose,
        service_id: Uuid,
        input: &PersonInput,
    ) -> Result<Person, PersonError> {
        let now = self.clock.now();
        let resource = self
            .service_resource(actor, Action::PersonCreate, service_id, purpose)
            .await?;
        let Resource::Service {
            organisation_id, ..
        } = resource
        else {
            return Err(PersonError::NotFound);
        };
        let id = Uuid::now_v7();
        // Authorize the creation of exactly this person in exactly this service.
        let permit = self
            .person_permit(
                actor,
                Action::PersonCreate,
                Resource::Service {
                    id: service_id,
                    organisation_id,
                },
                purpose,
            )
            .await?;
        // Checked only once the actor may create here: the answer would tell a stranger what the
        // service collects. Invalid input writes nothing.
        let groups = self.service_config(service_id).await?.field_groups;
        let parsed = parse_input(input, now.date(), true, &groups).map_err(PersonError::Invalid)?;
        let current: BTreeMap<PersonField, Canonical> = parsed
            .into_iter()
            .filter_map(|(f, v)| v.map(|v| (f, v)))
            .collect();
        // Whoever records a person starts by looking after them: in services scoped by team or
        // caseload the person would otherwise be out of sight of the very practitioner who added
        // them. A manager can reassign (`assign_person`).
        let (team_id, key_worker_id) = first_carer(actor, service_id);
        let (sealed, indexes, wrapped) =
            self.seal_new_person(id, service_id, (team_id, key_worker_id), &current, now);
        let audit = AuditDraft::permitted(&permit, purpose, now).about(id);
        self.store
            .create_person(&sealed, &indexes, &wrapped, audit)
            .await?;
        Ok(Person {
            id,
            service_id,
            created_at: from_micros(sealed.created_at_micros),
            updated_at: from_micros(sealed.updated_at_micros),
            values: current.into_iter().map(|(f, c)| (f, c.stored)).collect(),
            view: RecordView::Whole,
            referred: BTreeSet::new(),
        })
    }

    fn open_person(
        &self,
        sealed: &SealedPerson,
        wrapped: &WrappedDataKey,
    ) -> Result<Person, PersonError> {
        let key: DataKey = self.keys.data_key(wrapped)?;
        let row_id = sealed.id.to_string();
        let mut values = BTreeMap::new();
        for (field, bytes) in &sealed.fields {
            let plain = key.open(&address(*field, &row_id, sealed.key_version), bytes)?;
            let text = String::from_utf8(plain.to_vec()).map_err(|_| CryptoError::Malformed)?;
            values.insert(*field, text);
        }
        Ok(Person {
            id: sealed.id,
            service_id: sealed.service_id,
            created_at: from_micros(sealed.created_at_micros),
            updated_at: from_micros(sealed.updated_at_micros),
            values,
            view: RecordView::Whole,
            referred: BTreeSet::new(),
        })
    }

    /// Only a person's name, for a page's heading: the same permit and `person.read` event as
    /// [`Self::read_person`] (a heading shows part of the record), with only the name's two fields
    /// opened, and of those only what a processor's referral sent.
    pub async fn person_name(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<PersonHeading, PersonError> {
        let (mut sealed, wrapped, permit) = self.read_sealed(actor, purpose, person_id).await?;
        sealed
            .fields
            .retain(|(f, _)| matches!(f, PersonField::GivenName | PersonField::FamilyName));
        let person = self.open_person(&sealed, &wrapped)?;
        let referred = self.referred_scope(&permit, person_id).await?;
        let person = project(referred.as_ref(), person);
        Ok(PersonHeading {
            id: person.id,
            service_id: person.service_id,
            given: person.get(PersonField::GivenName).map(str::to_owned),
            family: person.get(PersonField::FamilyName).map(str::to_owned),
        })
    }

    /// Reads a person's record.
    pub async fn read_person(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<Person, PersonError> {
        let (sealed, wrapped, permit) = self.read_sealed(actor, purpose, person_id).await?;
        let person = self.open_person(&sealed, &wrapped)?;
        let referred = self.referred_scope(&permit, person_id).await?;
        Ok(project(referred.as_ref(), person))
    }

    /// The audited read both `read_person` and `update_person` start with.
    async fn read_sealed(
        &self,
        actor: &Actor,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<(SealedPerson, WrappedDataKey, Permit), PersonError> {
        let resource = self
            .person_resource(actor, Action::PersonRead, person_id, purpose)
            .await?;
        let permit = self
            .person_permit_referred(actor, Action::PersonRead, resource, purpose)
            .await?;
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now());
        match self.store.read_person(&access_of(&permit)?, audit).await? {
            Some((sealed, wrapped)) => Ok((sealed, wrapped, permit)),
            None => {
                let audit = AuditDraft::missing(
                    actor,
                    Action::PersonRead,
                    "person",
                    person_id,
                    purpose,
                    self.clock.now(),
                );
                self.store.append_audit(audit).await?;
                Err(PersonError::NotFound)
            }
        }
    }

    /// Changes a person's record: fields given replace the stored ones, an empty optional field clears
    /// it. The record is first read (audited as a read, because it is decrypted to recompute the blind
    /// indexes); the write is refused as a conflict if the record changed in between.
    pub async fn update_person(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        input: &PersonInput,
    ) -> Result<Person, PersonError> {
        let now = self.clock.now();
        let resource = self
            .person_resource(actor, Action::PersonUpdate, person_id, purpose)
            .await?;
        let Resource::Person { service_id, .. } = resource else {
            return Err(PersonError::NotFound);
        };
        // The permit first: a record the actor may not change answers "not found" (audited)
        // whatever the input, so invalid input cannot tell that the record exists.
        let permit = self
            .person_permit_referred(actor, Action::PersonUpdate, resource, purpose)
            .await?;
        let groups = self.service_config(service_id).await?.field_groups;
        let changes =
            parse_input(input, now.date(), false, &groups).map_err(PersonError::Invalid)?;
        // A processor's worker changes only the fields referred to their processor.
        let referred = self.referred_scope(&permit, person_id).await?;
        if let Some(referred) = &referred
            && changes
                .iter()
                .any(|(field, _)| !referred.fields.contains(field))
        {
            return Err(PersonError::Invalid(Violations(vec![Violation::new(
                "fields",
                "holds a field outside what was referred to your processor",
            )])));
        }
        let (sealed, wrapped, _) = self.read_sealed(actor, purpose, person_id).await?;
        let before = self.open_person(&sealed, &wrapped)?;
        if changes.is_empty() {
            return Ok(project(referred.as_ref(), before));
        }
        // Stored values were valid when written; parsing them again gives their index forms. A date of
        // birth is checked against the later of today and the record's creation day.
        let mut current = BTreeMap::new();
        for (field, value) in &before.values {
            let canonical = parse_field(*field, value, now.date().max(before.created_at.date()))
                .unwrap_or(Canonical {
                    stored: value.clone(),
                    index: None,
                });
            current.insert(*field, canonical);
        }
        let key = self.keys.data_key(&wrapped)?;
        let row_id = person_id.to_string();
        let mut field_changes: Vec<FieldChange> = Vec::new();
        for (field, change) in changes {
            // Setting a value to what it already is changes nothing, so leaves no history.
            let unchanged = match (&change, current.get(&field)) {
                (Some(c), Some(old)) => c.stored == old.stored,
                (None, None) => true,
                _ => false,
            };
            if unchanged {
                continue;
            }
            match change {
                Some(c) => {
                    field_changes.push((
                        field,
                        Some(key.seal(
                            &address(field, &row_id, sealed.key_version),
                            c.stored.as_bytes(),
                        )),
                    ));
                    current.insert(field, c);
                }
                None => {
                    field_changes.push((field, None));
                    current.remove(&field);
                }
            }
        }
        if field_changes.is_empty() {
            return Ok(project(referred.as_ref(), before));
        }
        let indexes = self.digests(index_sources(&current));
        let names_changed = field_changes
            .iter()
            .any(|(f, _)| matches!(f, PersonField::GivenName | PersonField::FamilyName));
        let grams = names_changed.then(|| self.name_grams(service_id, &current));
        let audit = AuditDraft::permitted(&permit, purpose, now);
        let stamp = ChangeStamp {
            by: actor.audit_id(),
            at_micros: micros(now),
        };
        let updated = self
            .store
            .update_person(
                &access_of(&permit)?,
                &field_changes,
                &indexes,
                grams.as_deref(),
                sealed.updated_at_micros,
                &stamp,
                audit,
            )
            .await?;
        if !updated {
            return Err(PersonError::NotFound);
        }
        let after = Person {
            updated_at: now,
            values: current.into_iter().map(|(f, c)| (f, c.stored)).collect(),
            ..before
        };
        Ok(project(referred.as_ref(), after))
    }

    /// One page of a service's people with their names, ordered by id: up to `limit` people within the
    /// actor's scope, after `after`. A page shorter than `limit` means there are no more: when the
    /// scope (team or caseload) hides some of the service's people, further rows are read until the
    /// page is full or the service has no more, each read audited as a list.
    pub async fn list_people(
        &self,
        actor: &Principal,
        purpose: Purpose,
        service_id: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<PersonSummary>, PersonError> {
        let resource = self
            .service_resource(actor, Action::PersonList, service_id, purpose)
            .await?;
        let permit = self
            .person_permit(actor, Action::PersonList, resource, purpose)
            .await?;
        // Listing the service is allowed; each line is shown only if the person is within the
        // actor's scope (team or caseload). Skipped lines are not refusals, so they are not audited.
        let Resource::Service {
            organisation_id, ..
        } = resource
        else {
            return Err(PersonError::NotFound);
        };
        let scope = self
            .store
            .service_scope(service_id)
            .await?
            .unwrap_or(AccessScope::Service);
        let fields = [PersonField::GivenName, PersonField::FamilyName];
        let limit = limit.clamp(1, MAX_PAGE);
        let mut page = Vec::new();
        let mut after = after;
        loop {
            let audit = AuditDraft::permitted(&permit, purpose, self.clock.now());
            let rows = self
                .store
                .list_people(service_id, &fields, after, limit, audit)
                .await?;
            let more = rows.len() == limit as usize;
            after = rows.last().map(|(sealed, _)| sealed.id);
            for (sealed, wrapped) in &rows {
                if page.len() == limit as usize {
                    break;
                }
                if !self.listed_in_scope(actor, sealed, organisation_id, scope) {
                    continue;
                }
                let mut p = self.open_person(sealed, wrapped)?;
                page.push(PersonSummary {
                    id: p.id,
                    given_name: p.values.remove(&PersonField::GivenName).unwrap_or_default(),
                    family_name: p
                        .values
                        .remove(&PersonField::FamilyName)
                        .unwrap_or_default(),
                });
            }
            if page.len() == limit as usize || !more {
                return Ok(page);
            }
        }
    }

    /// The people of a service (within the actor's scope) whose names match `query`: each word of
    /// three letters or more must appear inside a word of the given or family name, a shorter one
    /// must start one (see [`crate::name_index`]). Candidates come from the name-gram digests; only
    /// their names are opened, in memory. At most [`MAX_SEARCH`] are returned, ordered by id.
    pub async fn search_people_by_name(
        &self,
        actor: &Principal,
        purpose: Purpose,
        service_id: Uuid,
        query: &str,
    ) -> Result<Vec<PersonSummary>, PersonError> {
        let grams = name_index::grams_of_query(query);
        if grams.is_empty() || query.trim().chars().count() > 100 {
            return Err(PersonError::Invalid(Violations(vec![Violation::new(
                "name",
                "must be between 1 and 100 characters, with at least one letter",
            )])));
        }
        let resource = self
            .service_resource(actor, Action::PersonList, service_id, purpose)
            .await?;
        let permit = self
            .person_permit(actor, Action::PersonList, resource, purpose)
            .await?;
        let Resource::Service {
            organisation_id, ..
        } = resource
        else {
            return Err(PersonError::NotFound);
        };
        let scope = self
            .store
            .service_scope(service_id)
            .await?
            .unwrap_or(AccessScope::Service);
        let digests: Vec<GramDigest> = grams
            .iter()
            .map(|g| self.keys.name_gram(service_id, g))
            .collect();
        let audit =
            AuditDraft::permitted(&permit, purpose, self.clock.now()).named("person.search");
        let candidates = self
            .store
            .search_people_by_grams(
                service_id,
                &digests,
                &[PersonField::GivenName, PersonField::FamilyName],
                MAX_CANDIDATES,
                audit,
            )
            .await?;
        let mut found = Vec::new();
        for (sealed, wrapped) in &candidates {
            // Out of the actor's team or caseload: left out silently, as in a list.
            if !self.listed_in_scope(actor, sealed, organisation_id, scope) {
                continue;
            }
            let mut p = self.open_person(sealed, wrapped)?;
            let given = p.values.remove(&PersonField::GivenName).unwrap_or_default();
            let family = p
                .values
                .remove(&PersonField::FamilyName)
                .unwrap_or_default();
            if name_index::matches(query, &[&given, &family]) {
                found.push(PersonSummary {
                    id: p.id,
                    given_name: given,
                    family_name: family,
                });
                if found.len() == MAX_SEARCH {
                    break;
                }
            }
        }
        Ok(found)
    }

    /// Ids of a service's people with this identifier, found by blind index without decrypting.
    pub async fn find_people(
        &self,
        actor: &Principal,
        purpose: Purpose,
        service_id: Uuid,
        lookup: &Lookup,
    ) -> Result<Vec<Uuid>, PersonError> {
        let field = match lookup.field {
            IndexField::NhsNumber => PersonField::NhsNumber,
            IndexField::NiNumber => PersonField::NiNumber,
            IndexField::Postcode => PersonField::Postcode,
            IndexField::Phone => PersonField::Phone,
            IndexField::Email => PersonField::Email,
            IndexField::BirthAndFamilyName => {
                return Err(PersonError::Invalid(Violations(vec![Violation::new(
                    "field",
                    "look up by date of birth and family name is not offered yet",
                )])));
            }
        };
        let canonical = parse_field(field, &lookup.value, self.clock.now().date())
            .map_err(|e| PersonError::Invalid(Violations(vec![e.into()])))?;
        let normalised = canonical.index.unwrap_or(canonical.stored);
        let resource = self
            .service_resource(actor, Action::PersonFind, service_id, purpose)
            .await?;
        let permit = self
            .person_permit(actor, Action::PersonFind, resource, purpose)
            .await?;
        let digest = self.keys.blind_index(lookup.field, &normalised);
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now());
        let found = self
            .store
            .find_people(service_id, lookup.field, &digest, audit)
            .await?;
        // Only the people within the actor's scope (team or caseload) are named; the others are not
        // refusals of anything asked for, so they are left out silently, as in a list.
        let mut visible = Vec::with_capacity(found.len());
        for id in found {
            if self.within_scope(actor, id).await? {
                visible.push(id);
            }
        }
        Ok(visible)
    }

    /// [`Self::within_scope`] for a row of a service's list, whose placement is already known.
    fn listed_in_scope(
        &self,
        actor: &Actor,
        sealed: &SealedPerson,
        organisation_id: Uuid,
        scope: AccessScope,
    ) -> bool {
        let resource = Resource::Person {
            id: sealed.id,
            service_id: sealed.service_id,
            organisation_id,
            team_id: sealed.team_id,
            key_worker_id: sealed.key_worker_id,
            scope,
        };
        self.authorizer
            .authorize(actor, Action::PersonRead, resource)
            .is_ok()
    }

    /// Whether the actor may read this person's record by their role alone (team or caseload
    /// scope), without asking for it: as in a list, what is out of scope is left out silently, and
    /// so not audited as a refusal.
    pub(crate) async fn within_scope(
        &self,
        actor: &Actor,
        person_id: Uuid,
    ) -> Result<bool, PersonError> {
        Ok(self.store.placement(person_id).await?.is_some_and(|p| {
            self.authorizer
                .authorize(actor, Action::PersonRead, p.resource())
                .is_ok()
        }))
    }

    /// Puts a person in a team and gives them a key worker (both optional; `None` clears). The team
    /// must belong to the person's service and the key worker work in it.
    pub async fn assign_person(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        team_id: Option<Uuid>,
        key_worker_id: Option<Uuid>,
    ) -> Result<(), PersonError> {
        let resource = self
            .person_resource(actor, Action::PersonAssign, person_id, purpose)
            .await?;
        let permit = self
            .person_permit(actor, Action::PersonAssign, resource, purpose)
            .await?;
        let Resource::Person { service_id, .. } = resource else {
            return Err(PersonError::NotFound);
        };
        let mut violations = Vec::new();
        if let Some(t) = team_id
            && self.store.team(t).await?.map(|t| t.service_id) != Some(service_id)
        {
            violations.push(Violation::new(
                "team_id",
                "is not a team of the person's service",
            ));
        }
        if let Some(k) = key_worker_id
            && self
                .store
                .staff(k)
                .await?
                .filter(|s| s.disabled_at_micros.is_none())
                .and_then(|s| s.service_id)
                != Some(service_id)
        {
            violations.push(Violation::new(
                "key_worker_id",
                "is not a member of staff of the person's service",
            ));
        }
        if !violations.is_empty() {
            return Err(PersonError::Invalid(Violations(violations)));
        }
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now());
        if self
            .store
            .assign_person(&access_of(&permit)?, team_id, key_worker_id, audit)
            .await?
        {
            Ok(())
        } else {
            Err(PersonError::NotFound)
        }
    }

    /// Who has accessed a person's record, newest first: ids, actions, purposes and times from the
    /// audit log. Open to those who may read the record and to the organisation's auditors, DPO and
    /// Caldicott Guardian; reading it is itself recorded.
    pub async fn access_history(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
        limit: u32,
    ) -> Result<Vec<crate::audit::AuditEvent>, PersonError> {
        let resource = self
            .person_resource(actor, Action::AuditRead, person_id, purpose)
            .await?;
        let permit = match self
            .authorizer
            .authorize(actor, Action::AuditRead, resource)
        {
            Ok(p) => p,
            Err(_) => {
                self.person_permit(actor, Action::PersonRead, resource, purpose)
                    .await?
            }
        };
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now()).named("audit.read");
        self.store.append_audit(audit).await?;
        Ok(self
            .store
            .audit_events_for_subject(person_id, limit.clamp(1, 500))
            .await?)
    }

    /// Destroys the person's data key: every value sealed under it becomes unreadable for good, in the
    /// database and in every backup, while the audit trail (ids only) stays whole.
    pub async fn shred_person(
        &self,
        actor: &Principal,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<(), PersonError> {
        let resource = self
            .person_resource(actor, Action::PersonShred, person_id, purpose)
            .await?;
        let permit = self
            .person_permit(actor, Action::PersonShred, resource, purpose)
            .await?;
        let audit = AuditDraft::permitted(&permit, purpose, self.clock.now());
        if self
            .store
            .destroy_person_key(&access_of(&permit)?, audit)
            .await?
        {
            Ok(())
        } else {
            Err(PersonError::NotFound)
        }
    }
}
