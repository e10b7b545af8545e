//! Sharing: the recipient register, sharing consent, restrictions and objections, and the share
//! action that enforces the rules at the moment data leaves (R15, R18–R20, R31).
//!
//! Guarantees:
//! - Nothing leaves a record without a disclosure log entry: [`Confidant::share`] and the export
//!   ([`Confidant::export_record`]) both write one, in the same transaction as its audit event, and
//!   the entry lists exactly the fields and entries the package holds (the package itself is kept
//!   sealed beside it, with its SHA-256 in the clear).
//! - A share is refused, naming every rule it breaks ([`Rule`]), when: the basis is consent and
//!   there is no live consent; special category data goes without an Article 9 condition (or under
//!   9(2)(g) without a Schedule 1 Part 2 condition); criminal offence data without a Schedule 1
//!   condition; a category outside the recipient's set goes without a justification approved by a
//!   second person; the basis is not one the recipient may receive under; the record is restricted
//!   or an objection is upheld without a permitted ground; the recipient is outside the UK without
//!   explicit consent; the recipient needs consent and there is neither consent nor a recorded
//!   reason to share without it; a victim's safe contact details are included; the recipient is a
//!   partner service that supports a linked alleged perpetrator; a flagged note is included; a
//!   processor's data processing agreement is not in force; the recipient is retired.
//! - Vital interests (an emergency) is allowed with a reason and flagged for review.
//! - Malformed requests (unknown recipient, malformed basis, a court order without its reference)
//!   are refused before anything is read or written. The permit comes first, so a request about a
//!   record the actor may not see answers "not found" whatever it holds.
//! - A processor's worker reaches a person only through a disclosure to their processor, which
//!   opens a grant until the referral ends.
//! - Each step happens once, however many callers race for it (one wins, the rest get `Conflict`
//!   and change nothing): an approval is decided once and used by one disclosure; an emergency
//!   disclosure is reviewed once; a processor's referral ends once; a restriction or upheld
//!   objection is recorded once while in force and lifted once. The store makes each a
//!   conditional write (or a partial unique index) in the transaction that writes it.
//! - Reasons, justifications and packages are sealed with the person's key: erasing the person
//!   makes them unreadable; the log rows keep ids, codes and times only.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use confidant_policy::{Action, Actor, Grant, Permit, Resource, Role};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{AuditDraft, Purpose};
use crate::field::{Classification, FieldGroup, PersonField, RecordKind, record_field};
use crate::organisation::micros;
use crate::person::{PersonError, Violation, Violations, from_micros};
use crate::record::{invalid, open_value, seal_values};
use crate::store::SharingState;
use crate::store::{
    ApprovalRecord, ApprovalState, Article9Condition, ConsentPurposeRecord, ConsentRecord,
    ConsentState, DisclosedItem, DisclosureRecord, GrantRecord, LawfulBasis, OverrideGround,
    RecipientKind, RecipientRecord, Relationship, RestrictionKind, RestrictionRecord, ReviewState,
    Schedule1Condition, Store,
};
use crate::{Clock, Confidant};

/// The data category of a person's record entries (notes, plans, goals, appointments). Case notes
/// in these services routinely hold health and other special category details, so a share that
/// includes them needs an Article 9 condition.
pub const CASE_NOTES: &str = "case_notes";

/// What a processor's worker was referred of a person.
#[derive(Debug, Clone, Default)]
pub(crate) struct Referred {
    pub fields: BTreeSet<PersonField>,
    /// The entries (notes, plans, goals…) the referrals sent.
    pub entries: BTreeSet<Uuid>,
}

/// The name of the recipient that stands for the person themselves (their own copy).
const OWN_COPY: &str = "The person themselves";

/// The entry kinds a share can include.
const SHAREABLE_KINDS: [RecordKind; 4] = [
    RecordKind::Note,
    RecordKind::Plan,
    RecordKind::Goal,
    RecordKind::Appointment,
];

const MIN_REASON: usize = 10;
/// An approval is good for this many days after it is given.
pub const APPROVAL_DAYS: i64 = 7;
const MICROS_PER_DAY: i64 = 86_400_000_000;
const MAX_TEXT: usize = 2000;
/// A processor's data processing agreement is flagged this many days before it ends.
pub const DPA_WARNING_DAYS: i64 = 60;

/// Every data category a recipient can be given: the field groups and case notes.
pub fn categories() -> Vec<(&'static str, &'static str)> {
    let mut all: Vec<(&'static str, &'static str)> = FieldGroup::ALL
        .iter()
        .map(|g| (g.code(), g.label()))
        .collect();
    all.push((CASE_NOTES, "Case notes, plans, goals and appointments"));
    all
}

fn is_category(code: &str) -> bool {
    code == CASE_NOTES || FieldGroup::from_code(code).is_some()
}

/// A sharing rule a request can break. Codes are stable (API, audit, tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    NoLiveConsent,
    SpecialCategoryNeedsArticle9,
    PublicInterestNeedsPart2,
    CriminalOffenceNeedsSchedule1,
    BeyondRecipientCategories,
    BasisNotForRecipient,
    RecordRestricted,
    ObjectionUpheld,
    OutsideUkNeedsExplicitConsent,
    RecipientNeedsConsent,
    SafeContactNeverLeaves,
    RecipientBarredForRecord,
    FlaggedNoteNeverLeaves,
    ProcessorAgreementNotInForce,
    RecipientRetired,
}

impl Rule {
    pub fn code(self) -> &'static str {
        match self {
            Rule::NoLiveConsent => "no_live_consent",
            Rule::SpecialCategoryNeedsArticle9 => "special_category_needs_article9",
            Rule::PublicInterestNeedsPart2 => "public_interest_needs_part2",
            Rule::CriminalOffenceNeedsSchedule1 => "criminal_offence_needs_schedule1",
            Rule::BeyondRecipientCategories => "beyond_recipient_categories",
            Rule::BasisNotForRecipient => "basis_not_for_recipient",
            Rule::RecordRestricted => "record_restricted",
            Rule::ObjectionUpheld => "objection_upheld",
            Rule::OutsideUkNeedsExplicitConsent => "outside_uk_needs_explicit_consent",
            Rule::RecipientNeedsConsent => "recipient_needs_consent",
            Rule::SafeContactNeverLeaves => "safe_contact_never_leaves",
            Rule::RecipientBarredForRecord => "recipient_barred_for_this_record",
            Rule::FlaggedNoteNeverLeaves => "flagged_note_never_leaves",
            Rule::ProcessorAgreementNotInForce => "processor_agreement_not_in_force",
            Rule::RecipientRetired => "recipient_retired",
        }
    }

    /// What the rule says, for the person sharing.
    pub fn explanation(self) -> &'static str {
        match self {
            Rule::NoLiveConsent => {
                "The basis is consent, but the person has no live consent for this recipient."
            }
            Rule::SpecialCategoryNeedsArticle9 => {
                "Special category data (health, ethnicity, religion, sexual orientation and so on, and case notes) needs an Article 9 condition."
            }
            Rule::PublicInterestNeedsPart2 => {
                "Substantial public interest (Art. 9(2)(g)) needs a Schedule 1 Part 2 condition."
            }
            Rule::CriminalOffenceNeedsSchedule1 => {
                "Criminal offence data needs a DPA 2018 Schedule 1 condition."
            }
            Rule::BeyondRecipientCategories => {
                "Some data is outside what this recipient may receive: it needs a justification approved by a second person."
            }
            Rule::BasisNotForRecipient => {
                "This recipient may not receive data under this lawful basis."
            }
            Rule::RecordRestricted => {
                "Processing of this record is restricted: only storage, unless a permitted ground is recorded with its reason and approved by the Data Protection Officer or Caldicott Guardian."
            }
            Rule::ObjectionUpheld => {
                "The person's objection is upheld: nothing on legitimate interests or public task, unless compelling grounds or legal claims are recorded with their reason and approved by the Data Protection Officer or Caldicott Guardian."
            }
            Rule::OutsideUkNeedsExplicitConsent => {
                "The recipient is outside the UK: the person's explicit consent is needed."
            }
            Rule::RecipientNeedsConsent => {
                "This recipient needs the person's consent; without it, record why the information is shared without consent."
            }
            Rule::SafeContactNeverLeaves => {
                "A victim's safe contact details never leave the record."
            }
            Rule::RecipientBarredForRecord => {
                "Nothing from this record may go to this recipient. Ask the Data Protection Officer or the Caldicott Guardian."
            }
            Rule::FlaggedNoteNeverLeaves => {
                "A note flagged as identifying a complainant or as could cause serious harm never leaves in a share."
            }
            Rule::ProcessorAgreementNotInForce => {
                "The processor's data processing agreement is not in force."
            }
            Rule::RecipientRetired => "The recipient has been retired from the register.",
        }
    }
}

/// Which entries a share includes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum EntrySelection {
    #[default]
    None,
    /// Every note, plan, goal and appointment that may leave (flagged notes are left out).
    All,
    Some(Vec<Uuid>),
}

/// A share as asked for. Codes are checked: see [`Confidant::share`].
#[derive(Clone, Default)]
pub struct ShareRequest {
    pub recipient_id: Uuid,
    /// Person field codes.
    pub fields: Vec<String>,
    pub entries: EntrySelection,
    pub basis: String,
    pub article9: Option<String>,
    pub schedule1: Option<String>,
    /// Why this is shared (always asked for).
    pub reason: String,
    pub court_order_ref: Option<String>,
    pub person_told: bool,
    pub not_told_reason: Option<String>,
    /// For a recipient that needs consent, when there is none (a MARAC referral made without
    /// consent, say): why.
    pub without_consent_reason: Option<String>,
    /// The ground for sharing despite a restriction or an upheld objection, and why it applies.
    pub ground: Option<String>,
    pub ground_reason: Option<String>,
    pub approval_id: Option<Uuid>,
    /// For a processor: which of its workers, and for how many days.
    pub processor_staff_id: Option<Uuid>,
    pub referral_days: Option<i64>,
}

impl fmt::Debug for ShareRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShareRequest")
            .field("recipient_id", &self.recipient_id)
            .field("fields", &self.fields)
            .field("basis", &self.basis)
            .finish_non_exhaustive()
    }
}

/// A request whose codes are all known. Its `Debug` leaves the texts out.
#[derive(Clone)]
struct Parsed {
    recipient: RecipientRecord,
    fields: Vec<PersonField>,
    entries: EntrySelection,
    basis: LawfulBasis,
    article9: Option<Article9Condition>,
    schedule1: Option<Schedule1Condition>,
    ground: Option<OverrideGround>,
    texts: BTreeMap<&'static str, String>,
    person_told: bool,
    processor: Option<(Uuid, i64)>,
}

impl fmt::Debug for Parsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parsed")
            .field("recipient", &self.recipient.id)
            .field("fields", &self.fields)
            .field("basis", &self.basis)
            .finish_non_exhaustive()
    }
}

/// Why a share was refused: every rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked(pub Vec<Rule>);

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let codes: Vec<&str> = self.0.iter().map(|r| r.code()).collect();
        write!(f, "refused by the sharing rules: {}", codes.join(", "))
    }
}

/// A share's failure.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    #[error(transparent)]
    Person(#[from] PersonError),
    #[error("{0}")]
    Blocked(Blocked),
}

impl From<crate::store::StoreError> for ShareError {
    fn from(e: crate::store::StoreError) -> Self {
        ShareError::Person(e.into())
    }
}

/// A disclosure package: exactly what left, as JSON.
#[derive(Clone)]
pub struct Package {
    pub disclosure_id: Uuid,
    pub json: serde_json::Value,
}

impl fmt::Debug for Package {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Package({}, [redacted])", self.disclosure_id)
    }
}

/// A disclosure as shown: the log row, what it contained, and its reasons opened.
#[derive(Clone)]
pub struct Disclosure {
    pub record: DisclosureRecord,
    pub recipient_name: String,
    pub items: Vec<DisclosedItem>,
    pub reason: Option<String>,
    pub court_order_ref: Option<String>,
    pub not_told_reason: Option<String>,
    pub without_consent_reason: Option<String>,
    pub ground: Option<String>,
    pub ground_reason: Option<String>,
    pub package: Option<serde_json::Value>,
}

impl fmt::Debug for Disclosure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Disclosure({}, [redacted])", self.record.id)
    }
}

/// A recipient as given by an administrator of the register.
#[derive(Debug, Clone, Default)]
pub struct RecipientInput {
    pub name: String,
    pub kind: String,
    pub outside_uk: bool,
    pub categories: Vec<String>,
    pub bases: Vec<String>,
    pub consent_required: bool,
    pub partner_service_id: Option<Uuid>,
    /// `YYYY-MM-DD`, for processors.
    pub dpa_starts_on: Option<String>,
    pub dpa_ends_on: Option<String>,
}

/// A recipient with what its register page warns about.
#[derive(Debug, Clone)]
pub struct RecipientView {
    pub record: RecipientRecord,
    /// For a processor whose agreement has ended, ends soon or is missing.
    pub warning: Option<String>,
}

/// A consent purpose with the person's current decision on it.
#[derive(Debug, Clone)]
pub struct ConsentLine {
    pub purpose: ConsentPurposeRecord,
    /// The latest decision, if any; `live` when it is granted and not expired.
    pub current: Option<ConsentRecord>,
    pub live: bool,
}

/// A person's consents: each purpose of their service's form with its current decision, the full
/// history, and restrictions.
#[derive(Debug, Clone)]
pub struct ConsentOverview {
    pub lines: Vec<ConsentLine>,
    pub history: Vec<ConsentRecord>,
    pub restrictions: Vec<RestrictionRecord>,
}

fn text(
    field: &'static str,
    value: Option<&str>,
    required: bool,
) -> Result<Option<String>, Violation> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return if required {
            Err(Violation::new(field, "is required"))
        } else {
            Ok(None)
        };
    };
    let n = v.chars().count();
    if n > MAX_TEXT {
        return Err(Violation::new(
            field,
            format!("must be at most {MAX_TEXT} characters"),
        ));
    }
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(Violation::new(field, "must not contain control characters"));
    }
    if !crate::identifier::has_visible(v) {
        return Err(Violation::new(field, crate::identifier::VISIBLE_REQUIRED));
    }
    Ok(Some(v.to_owned()))
}

fn reason_text(field: &'static str, value: Option<&str>) -> Result<Option<String>, Violation> {
    match text(field, value, false)? {
        Some(v) if v.chars().count() < MIN_REASON => Err(Violation::new(
            field,
            format!("must be at least {MIN_REASON} characters"),
        )),
        other => Ok(other),
    }
}

fn code<T>(
    field: &'static str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, Violation> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => parse(v)
            .map(Some)
            .ok_or_else(|| Violation::new(field, "is not a known code")),
    }
}

fn parse_date(field: &'static str, value: Option<&str>) -> Result<Option<i64>, Violation> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            let date = time::Date::parse(v, &format)
                .map_err(|_| Violation::new(field, "must be a date (YYYY-MM-DD)"))?;
            Ok(Some(micros(date.midnight().assume_utc())))
        }
    }
}

fn collect<T>(violations: &mut Vec<Violation>, r: Result<T, Violation>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(v) => {
            violations.push(v);
            None
        }
    }
}

/// The categories of person fields and entries.
fn categories_of(fields: &[PersonField], with_entries: bool) -> BTreeSet<String> {
    let mut set: BTreeSet<String> = fields
        .iter()
        .map(|f| f.spec().group.code().to_owned())
        .collect();
    if with_entries {
        set.insert(CASE_NOTES.to_owned());
    }
    set
}

/// Whether a consent record is live at `now`.
fn is_live(c: &ConsentRecord, now: i64) -> bool {
    c.state == ConsentState::Granted && c.expires_at_micros.is_none_or(|e| e > now)
}

/// What the rules need to know about the person and the recipient.
struct Facts {
    now: i64,
    /// Live consent covering this recipient, and whether any is explicit.
    live_consent: bool,
    live_explicit_consent: bool,
    restricted: bool,
    objection: bool,
    approved_categories: BTreeSet<String>,
    /// An approval by the DPO or Caldicott Guardian is attached (for overriding a restriction or
    /// an upheld objection).
    override_approved: bool,
    perpetrator_in_recipient: bool,
    flagged_selected: bool,
    with_entries: bool,
    /// The consent and restriction rows these facts were read from.
    state: SharingState,
}

/// A request decided: what the share goes on with.
struct Decision {
    permit: Permit,
    organisation_id: Uuid,
    service_id: Uuid,
    parsed: Parsed,
    approval: Option<ApprovalRecord>,
    facts: Facts,
    broken: Vec<Rule>,
}

/// Every rule the request breaks, in a stable order.
fn evaluate(p: &Parsed, facts: &Facts) -> Vec<Rule> {
    let mut broken = BTreeSet::new();
    let r = &p.recipient;
    let cats = categories_of(&p.fields, facts.with_entries);
    if r.retired_at_micros.is_some_and(|t| t <= facts.now) {
        broken.insert(Rule::RecipientRetired);
    }
    if !r.bases.contains(&p.basis) {
        broken.insert(Rule::BasisNotForRecipient);
    }
    let consent_based =
        p.basis == LawfulBasis::Consent || p.article9 == Some(Article9Condition::ExplicitConsent);
    if consent_based && !facts.live_consent {
        broken.insert(Rule::NoLiveConsent);
    }
    if p.article9 == Some(Article9Condition::ExplicitConsent) && !facts.live_explicit_consent {
        broken.insert(Rule::NoLiveConsent);
    }
    let special = facts.with_entries
        || p.fields
            .iter()
            .any(|f| matches!(f.spec().classification, Classification::SpecialCategory(_)));
    if special && p.article9.is_none() {
        broken.insert(Rule::SpecialCategoryNeedsArticle9);
    }
    if p.article9 == Some(Article9Condition::SubstantialPublicInterest)
        && !p.schedule1.is_some_and(Schedule1Condition::is_part2)
    {
        broken.insert(Rule::PublicInterestNeedsPart2);
    }
    let criminal = p
        .fields
        .iter()
        .any(|f| f.spec().classification == Classification::CriminalOffence);
    if criminal && p.schedule1.is_none() {
        broken.insert(Rule::CriminalOffenceNeedsSchedule1);
    }
    let beyond: Vec<&String> = cats.iter().filter(|c| !r.categories.contains(c)).collect();
    if beyond
        .iter()
        .any(|c| !facts.approved_categories.contains(*c))
    {
        broken.insert(Rule::BeyondRecipientCategories);
    }
    if facts.restricted {
        let permitted = match p.ground {
            Some(OverrideGround::Consent) => facts.live_consent,
            Some(
                OverrideGround::LegalClaims
                | OverrideGround::ProtectAnotherPerson
                | OverrideGround::ImportantPublicInterest,
            ) => true,
            _ => false,
        };
        if !(permitted && facts.override_approved) {
            broken.insert(Rule::RecordRestricted);
        }
    }
    if facts.objection
        && matches!(
            p.basis,
            LawfulBasis::LegitimateInterests | LawfulBasis::PublicTask
        )
        && !(matches!(
            p.ground,
            Some(OverrideGround::CompellingGrounds | OverrideGround::LegalClaims)
        ) && facts.override_approved)
    {
        broken.insert(Rule::ObjectionUpheld);
    }
    if r.outside_uk && !facts.live_explicit_consent {
        broken.insert(Rule::OutsideUkNeedsExplicitConsent);
    }
    if r.consent_required
        && !facts.live_consent
        && p.basis != LawfulBasis::Consent
        && !p.texts.contains_key("without_consent_reason")
    {
        broken.insert(Rule::RecipientNeedsConsent);
    }
    if p.fields.iter().any(|f| !f.spec().may_leave) {
        broken.insert(Rule::SafeContactNeverLeaves);
    }
    if facts.perpetrator_in_recipient {
        broken.insert(Rule::RecipientBarredForRecord);
    }
    if facts.flagged_selected {
        broken.insert(Rule::FlaggedNoteNeverLeaves);
    }
    if r.kind == RecipientKind::Processor {
        let in_force = r.dpa_starts_at_micros.is_some_and(|s| s <= facts.now)
            && r.dpa_ends_at_micros.is_some_and(|e| e > facts.now);
        if !in_force {
            broken.insert(Rule::ProcessorAgreementNotInForce);
        }
    }
    broken.into_iter().collect()
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

const SEALED_TEXTS: [&str; 6] = [
    "reason",
    "court_order_ref",
    "not_told_reason",
    "without_consent_reason",
    "ground",
    "ground_reason",
];

impl<S: Store, C: Clock> Confidant<S, C> {
    fn register_resource(&self, organisation_id: Uuid) -> Resource {
        Resource::Organisation {
            id: organisation_id,
        }
    }

    // --- the recipient register ---

    fn parse_recipient(
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
        actor: &Actor,
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
        let mut record = self
            .parse_recipient(input, organisation_id)
            .map_err(PersonError::Invalid)?;
        self.check_partner_service(&record).await?;
        let now = self.clock.now();
        record.created_by = actor.audit_id();
        record.updated_at_micros = micros(now);
        let audit =
            AuditDraft::permitted(&permit, Purpose::Administration, now).named("recipient.create");
        self.store.save_recipient(&record, &audit).await?;
        Ok(record)
    }

    async fn check_partner_service(&self, record: &RecipientRecord) -> Result<(), PersonError> {
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
        actor: &Actor,
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
        self.store.save_recipient(&record, &audit).await?;
        Ok(record)
    }

    /// The organisation's recipient register, with warnings on processors' agreements. Anyone in
    /// the organisation may see it (it is configuration, not personal data).
    pub async fn recipients(
        &self,
        actor: &Actor,
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
        actor: &Actor,
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
        actor: &Actor,
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
            .set_staff_recipient(staff_id, Some(recipient_id), &audit)
            .await?;
        Ok(())
    }

    /// A processor's workers (active, role `processor_staff`, assigned to it), for the share
    /// wizard's choice of worker and the register's page. Staff accounts, not personal data of
    /// the people supported: anyone who may see the register may see them.
    pub async fn processor_workers(
        &self,
        actor: &Actor,
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

    // --- consent purposes and consent ---

    /// Adds a purpose to a service's consent form.
    #[expect(
        clippy::too_many_arguments,
        reason = "one line of a consent form has this many parts"
    )]
    pub async fn add_consent_purpose(
        &self,
        actor: &Actor,
        service_id: Uuid,
        code_text: &str,
        label: &str,
        recipient_id: Option<Uuid>,
        explicit: bool,
        form_version: &str,
    ) -> Result<ConsentPurposeRecord, PersonError> {
        let service = self
            .store
            .service(service_id)
            .await?
            .ok_or(PersonError::NotFound)?;
        let resource = self.register_resource(service.organisation_id);
        let permit = self
            .person_permit(
                actor,
                Action::RecipientManage,
                resource,
                Purpose::Administration,
            )
            .await?;
        let mut v = Vec::new();
        let code_text = code_text.trim();
        if code_text.is_empty()
            || code_text.len() > 40
            || !code_text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            v.push(Violation::new(
                "code",
                "use 1 to 40 lower-case letters, digits and underscores",
            ));
        }
        let label = collect(&mut v, text("label", Some(label), true)).flatten();
        let version = collect(&mut v, text("form_version", Some(form_version), true)).flatten();
        if let Some(r) = recipient_id {
            let ours = self
                .store
                .recipient(r)
                .await?
                .is_some_and(|r| r.organisation_id == service.organisation_id);
            if !ours {
                v.push(Violation::new("recipient_id", "is not in the register"));
            }
        }
        let (Some(label), Some(form_version)) = (label, version) else {
            return Err(PersonError::Invalid(Violations(v)));
        };
        if !v.is_empty() {
            return Err(PersonError::Invalid(Violations(v)));
        }
        let now = self.clock.now();
        let record = ConsentPurposeRecord {
            id: Uuid::now_v7(),
            service_id,
            code: code_text.to_owned(),
            label,
            recipient_id,
            explicit,
            form_version,
            created_at_micros: micros(now),
        };
        let audit = AuditDraft::permitted(&permit, Purpose::Administration, now)
            .named("consent_purpose.create");
        self.store.add_consent_purpose(&record, &audit).await?;
        Ok(record)
    }

    /// A service's consent purposes: its consent form.
    pub async fn consent_form(
        &self,
        actor: &Actor,
        service_id: Uuid,
    ) -> Result<Vec<ConsentPurposeRecord>, PersonError> {
        let service = self
            .store
            .service(service_id)
            .await?
            .ok_or(PersonError::NotFound)?;
        let resource = Resource::Service {
            id: service.id,
            organisation_id: service.organisation_id,
        };
        self.person_permit(
            actor,
            Action::ServiceRead,
            resource,
            Purpose::Administration,
        )
        .await?;
        Ok(self.store.consent_purposes(service_id).await?)
    }

    /// Records a consent decision (granted, refused, withdrawn) on one purpose of the person's
    /// service's form. The history is append-only; the latest decision holds from now on.
    pub async fn record_consent(
        &self,
        actor: &Actor,
        purpose: Purpose,
        person_id: Uuid,
        purpose_id: Uuid,
        state: &str,
        expires_on: Option<&str>,
    ) -> Result<ConsentRecord, PersonError> {
        let (permit, resource) = self
            .permit_on_person(actor, Action::PersonUpdate, person_id, purpose)
            .await?;
        let Resource::Person { service_id, .. } = resource else {
            return Err(PersonError::NotFound);
        };
        let mut v = Vec::new();
        let state = collect(&mut v, code("state", Some(state), ConsentState::from_code)).flatten();
        if state.is_none() && v.is_empty() {
            v.push(Violation::new("state", "is required"));
        }
        let expires = collect(&mut v, parse_date("expires_on", expires_on)).flatten();
        let now = self.clock.now();
        if expires.is_some_and(|e| e <= micros(now)) {
            v.push(Violation::new("expires_on", "must be in the future"));
        }
        let form = self.store.consent_purposes(service_id).await?;
        let Some(line) = form.into_iter().find(|p| p.id == purpose_id) else {
            v.push(Violation::new(
                "purpose_id",
                "is not on this service's consent form",
            ));
            return Err(PersonError::Invalid(Violations(v)));
        };
        let Some(state) = state.filter(|_| v.is_empty()) else {
            return Err(PersonError::Invalid(Violations(v)));
        };
        let record = ConsentRecord {
            id: Uuid::now_v7(),
            person_id,
            purpose_id,
            state,
            form_version: line.form_version,
            recorded_by: actor.audit_id(),
            recorded_at_micros: micros(now),
            expires_at_micros: expires.filter(|_| state == ConsentState::Granted),
        };
        let audit = AuditDraft::permitted(&permit, purpose, now).named(match state {
            ConsentState::Granted => "consent.grant",
            ConsentState::Refused => "consent.refuse",
            ConsentState::Withdrawn => "consent.withdraw",
        });
        self.store.add_consent(&record, &audit).await?;
        Ok(record)
    }

    /// The person's consents, their history and any restriction.
    pub async fn consents(
        &self,
        actor: &Actor,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<ConsentOverview, PersonError> {
        let (permit, resource) = self
            .permit_on_person(actor, Action::PersonRead, person_id, purpose)
            .await?;
        let Resource::Person { service_id, .. } = resource else {
            return Err(PersonError::NotFound);
        };
        let now = self.clock.now();
        let audit = AuditDraft::permitted(&permit, purpose, now).named("consent.read");
        self.store.append_audit(&audit).await?;
        let history = self.store.consents_of(person_id).await?;
        let lines = self
            .store
            .consent_purposes(service_id)
            .await?
            .into_iter()
            .map(|p| {
                let current = history.iter().rfind(|c| c.purpose_id == p.id).cloned();
                let live = current.as_ref().is_some_and(|c| is_live(c, micros(now)));
                ConsentLine {
                    purpose: p,
                    current,
                    live,
                }
            })
            .collect();
        Ok(ConsentOverview {
            lines,
            history,
            restrictions: self.store.restrictions_of(person_id).await?,
        })
    }

    // --- restriction and objection ---

    /// Records a restriction of processing or an upheld objection (`person.restrict`).
    pub async fn restrict(
        &self,
        actor: &Actor,
        purpose: Purpose,
        person_id: Uuid,
        kind: &str,
    ) -> Result<RestrictionRecord, PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonRestrict, person_id, purpose)
            .await?;
        let kind = RestrictionKind::from_code(kind.trim())
            .ok_or_else(|| invalid("kind", "is not restriction or objection"))?;
        if self
            .store
            .restrictions_of(person_id)
            .await?
            .iter()
            .any(|r| r.kind == kind && r.lifted_at_micros.is_none())
        {
            return Err(PersonError::Conflict("that is already in force"));
        }
        let now = self.clock.now();
        let record = RestrictionRecord {
            id: Uuid::now_v7(),
            person_id,
            kind,
            recorded_by: actor.audit_id(),
            started_at_micros: micros(now),
            lifted_at_micros: None,
            lifted_by: None,
        };
        let audit = AuditDraft::permitted(&permit, purpose, now).named(match kind {
            RestrictionKind::Restriction => "restriction.start",
            RestrictionKind::Objection => "objection.uphold",
        });
        self.store.add_restriction(&record, &audit).await?;
        Ok(record)
    }

    /// Lifts a restriction or objection.
    pub async fn lift_restriction(
        &self,
        actor: &Actor,
        purpose: Purpose,
        person_id: Uuid,
        restriction_id: Uuid,
    ) -> Result<(), PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonRestrict, person_id, purpose)
            .await?;
        let now = self.clock.now();
        let audit = AuditDraft::permitted(&permit, purpose, now).named("restriction.lift");
        if self
            .store
            .lift_restriction(
                restriction_id,
                person_id,
                &actor.audit_id(),
                micros(now),
                &audit,
            )
            .await?
        {
            return Ok(());
        }
        // Nothing lifted: lifted already (by a racing caller, say) is a conflict; no such
        // restriction of this person is "not found".
        if self
            .store
            .restrictions_of(person_id)
            .await?
            .iter()
            .any(|r| r.id == restriction_id)
        {
            Err(PersonError::Conflict("that has already been lifted"))
        } else {
            Err(PersonError::NotFound)
        }
    }

    // --- approvals of categories beyond a recipient's set ---

    /// Asks a second person to approve sending `categories` (beyond the recipient's set) with a
    /// justification.
    pub async fn request_approval(
        &self,
        actor: &Actor,
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
            .restrictions_of(person_id)
            .await?
            .iter()
            .any(|r| r.lifted_at_micros.is_none());
        if wanted.is_empty() && v.is_empty() && !limited {
            v.push(Violation::new("categories", "name at least one category"));
        }
        let Some(justification) = justification.filter(|_| v.is_empty()) else {
            return Err(PersonError::Invalid(Violations(v)));
        };
        let (key, wrapped) = self.person_key(person_id).await?;
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
        let audit = AuditDraft::permitted(&permit, purpose, now).named("share.approval_request");
        self.store.create_approval(&record, &sealed, &audit).await?;
        Ok(record)
    }

    /// A person's approval requests with their justifications opened (for the approver).
    pub async fn approvals(
        &self,
        actor: &Actor,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<Vec<(ApprovalRecord, String)>, PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonRead, person_id, purpose)
            .await?;
        Self::not_for_processors(&permit)?;
        let audit =
            AuditDraft::permitted(&permit, purpose, self.clock.now()).named("share.approval_read");
        self.store.append_audit(&audit).await?;
        let (key, _) = self.person_key(person_id).await?;
        let mut out = Vec::new();
        for record in self.store.approvals_of(person_id).await? {
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
        actor: &Actor,
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
        let audit = AuditDraft::permitted(&permit, purpose, now).named(if approve {
            "share.approve"
        } else {
            "share.approval_refuse"
        });
        if self
            .store
            .decide_approval(
                approval_id,
                person_id,
                state,
                &actor.audit_id(),
                micros(now),
                &audit,
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

    // --- the share ---

    async fn parse_share(
        &self,
        request: &ShareRequest,
        organisation_id: Uuid,
        person_id: Uuid,
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
        put(
            &mut v,
            "reason",
            reason_text("reason", Some(&request.reason)).and_then(|r| {
                r.map(Some)
                    .ok_or_else(|| Violation::new("reason", "is required"))
            }),
        );
        let court = text("court_order_ref", request.court_order_ref.as_deref(), false);
        if basis == Some(LawfulBasis::CourtOrder) && matches!(court, Ok(None)) {
            v.push(Violation::new(
                "court_order_ref",
                "a share under a court order needs the order's reference",
            ));
        }
        put(&mut v, "court_order_ref", court);
        let not_told = reason_text("not_told_reason", request.not_told_reason.as_deref());
        if !request.person_told && matches!(not_told, Ok(None)) {
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
            if matches!(why, Ok(None)) {
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
                    .entry_flags(person_id, &SHAREABLE_KINDS)
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
            }),
            _ => Err(PersonError::Invalid(Violations(v))),
        }
    }

    async fn facts(
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
        let history = self.store.consents_of(person_id).await?;
        let mut live_consent = false;
        let mut live_explicit_consent = false;
        for line in form
            .iter()
            .filter(|p| p.recipient_id == Some(parsed.recipient.id))
        {
            if history
                .iter()
                .rfind(|c| c.purpose_id == line.id)
                .is_some_and(|c| is_live(c, now))
            {
                live_consent = true;
                live_explicit_consent |= line.explicit;
            }
        }
        let restrictions = self.store.restrictions_of(person_id).await?;
        let in_force = |k| {
            restrictions
                .iter()
                .any(|r| r.kind == k && r.lifted_at_micros.is_none())
        };
        let usable = approval.filter(|a| {
            a.state == ApprovalState::Approved
                && a.used_by.is_none()
                && a.recipient_id == parsed.recipient.id
                && a.person_id == person_id
                && a.decided_at_micros
                    .is_some_and(|d| d + APPROVAL_DAYS * MICROS_PER_DAY > now)
        });
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
            for (related, _, _) in self.store.related_of(person_id, &audit).await? {
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
                    .entry_flags(person_id, &SHAREABLE_KINDS)
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
            live_consent,
            live_explicit_consent,
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
        actor: &Actor,
        purpose: Purpose,
        person_id: Uuid,
        request: &ShareRequest,
    ) -> Result<Vec<Rule>, PersonError> {
        let decision = self.decide(actor, purpose, person_id, request).await?;
        Ok(decision.broken)
    }

    /// The steps a check and a share have in common: the permit, the request's checks, the facts
    /// and every rule broken.
    async fn decide(
        &self,
        actor: &Actor,
        purpose: Purpose,
        person_id: Uuid,
        request: &ShareRequest,
    ) -> Result<Decision, PersonError> {
        let (permit, resource) = self
            .permit_on_person(actor, Action::PersonShare, person_id, purpose)
            .await?;
        let (organisation_id, service_id) = placed(&resource)?;
        let parsed = self
            .parse_share(request, organisation_id, person_id)
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

    async fn approval_for(
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
        actor: &Actor,
        purpose: Purpose,
        person_id: Uuid,
        request: &ShareRequest,
    ) -> Result<Package, ShareError> {
        let Decision {
            permit,
            organisation_id,
            service_id,
            parsed,
            approval,
            facts,
            broken,
        } = self.decide(actor, purpose, person_id, request).await?;
        if !broken.is_empty() {
            let audit =
                AuditDraft::permitted(&permit, purpose, self.clock.now()).named("share.refused");
            self.store.append_audit(&audit).await?;
            return Err(ShareError::Blocked(Blocked(broken)));
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

        let person = self.read_person(actor, purpose, person_id).await?;
        let mut fields = serde_json::Map::new();
        let mut items = Vec::new();
        for f in &parsed.fields {
            if let Some(value) = person.get(*f) {
                fields.insert(f.code().to_owned(), value.into());
                items.push(DisclosedItem::Field(f.code().to_owned()));
            }
        }
        let mut entries = Vec::new();
        if parsed.entries != EntrySelection::None {
            let wanted: Option<BTreeSet<Uuid>> = match &parsed.entries {
                EntrySelection::Some(ids) => Some(ids.iter().copied().collect()),
                _ => None,
            };
            let mut all = self
                .entries(actor, purpose, person_id, &SHAREABLE_KINDS)
                .await?;
            all.sort_by_key(|e| (e.occurs_at, e.id));
            for e in all {
                if wanted.as_ref().is_some_and(|w| !w.contains(&e.id)) {
                    continue;
                }
                if e.flags.serious_harm || e.flags.identifies_complainant {
                    continue;
                }
                let mut values = serde_json::Map::new();
                for (code, value) in e.values.iter() {
                    let leaves = record_field(e.kind, code).is_some_and(|spec| {
                        spec.may_leave && spec.classification != Classification::ThirdParty
                    });
                    if leaves {
                        values.insert(code.to_owned(), value.into());
                    }
                }
                entries.push(serde_json::json!({
                    "id": e.id,
                    "kind": e.kind.code(),
                    "occurs_at": rfc3339(e.occurs_at),
                    "status": e.status.map(|s| s.code()),
                    "values": values,
                }));
                items.push(DisclosedItem::Entry(e.id));
            }
        }
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
        let (key, wrapped) = self.person_key(person_id).await?;
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
        let audit = AuditDraft::permitted(&permit, purpose, now).named("share.create");
        self.store
            .record_disclosure(
                facts.state,
                &record,
                &items,
                &sealed,
                grant.as_ref(),
                &audit,
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
                    name: OWN_COPY.to_owned(),
                    kind: RecipientKind::DataSubject,
                    outside_uk: false,
                    categories: categories().iter().map(|(c, _)| (*c).to_owned()).collect(),
                    bases: vec![LawfulBasis::SubjectRequest],
                    consent_required: false,
                    partner_service_id: None,
                    dpa_starts_at_micros: None,
                    dpa_ends_at_micros: None,
                    created_by: "system".to_owned(),
                    updated_at_micros: micros(now),
                    retired_at_micros: None,
                };
                let audit = AuditDraft::permitted(permit, purpose, now).named("recipient.create");
                match self.store.save_recipient(&r, &audit).await {
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
        let (key, wrapped) = self.person_key(person_id).await?;
        let key_version = wrapped.version;
        let id = Uuid::now_v7();
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
        let audit = AuditDraft::permitted(permit, purpose, now).named("person.export");
        let state = self.sharing_state(person_id).await?;
        self.store
            .record_disclosure(state, &record, &items, &sealed, None, &audit)
            .await?;
        Ok(id)
    }

    async fn sharing_state(&self, person_id: Uuid) -> Result<SharingState, PersonError> {
        let consents = self.store.consents_of(person_id).await?.len();
        let restrictions = self.store.restrictions_of(person_id).await?;
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

    /// A person's disclosure log, newest first (reasons opened; packages left out).
    pub async fn disclosures(
        &self,
        actor: &Actor,
        purpose: Purpose,
        person_id: Uuid,
    ) -> Result<Vec<Disclosure>, PersonError> {
        let (permit, _) = self
            .permit_on_person(actor, Action::PersonRead, person_id, purpose)
            .await?;
        Self::not_for_processors(&permit)?;
        let audit =
            AuditDraft::permitted(&permit, purpose, self.clock.now()).named("disclosure.read");
        self.store.append_audit(&audit).await?;
        let mut out = Vec::new();
        for record in self.store.disclosures_of(person_id).await? {
            out.push(self.open_disclosure(record.id, false).await?);
        }
        Ok(out)
    }

    /// One disclosure of a person with its package, for the person's own staff.
    pub async fn disclosure(
        &self,
        actor: &Actor,
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
        self.store.append_audit(&audit).await?;
        Ok(d)
    }

    async fn open_disclosure(
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
        let key = match self.store.data_key(record.person_id).await? {
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
            record,
        })
    }

    /// A recipient's disclosures, for the Data Protection Officer and the Caldicott Guardian (ids,
    /// codes and times: `oversight.read` on the organisation).
    pub async fn disclosures_to(
        &self,
        actor: &Actor,
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
        self.store.append_audit(&audit).await?;
        Ok(self.store.disclosures_to(recipient_id).await?)
    }

    /// Emergency disclosures (vital interests) waiting for review.
    pub async fn disclosures_to_review(
        &self,
        actor: &Actor,
        organisation_id: Uuid,
    ) -> Result<Vec<DisclosureRecord>, PersonError> {
        let resource = self.register_resource(organisation_id);
        self.person_permit(actor, Action::BreakGlassReview, resource, Purpose::Audit)
            .await?;
        Ok(self.store.disclosures_to_review(organisation_id).await?)
    }

    /// Signs off (or escalates) an emergency disclosure.
    pub async fn review_disclosure(
        &self,
        actor: &Actor,
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
            .named("disclosure.review");
        if self
            .store
            .review_disclosure(disclosure_id, state, &actor.audit_id(), &audit)
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
        actor: &Actor,
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
            .end_disclosure(disclosure_id, person_id, micros(now), &audit)
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
        let restricted = self
            .store
            .restrictions_of(person_id)
            .await?
            .iter()
            .any(|r| r.kind == RestrictionKind::Restriction && r.lifted_at_micros.is_none());
        let works_for = self.store.staff_recipient(staff_id).await?;
        if restricted || works_for.is_none() {
            return Ok(Vec::new());
        }
        let mut live = Vec::new();
        for d in self.store.disclosures_of(person_id).await? {
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

    /// Who must be told of a correction to these fields (any of the person's data when `fields`
    /// is empty: an erasure or a restriction): every recipient the disclosure log shows received
    /// them, except the person themselves (Art. 19).
    pub async fn recipients_to_tell(
        &self,
        person_id: Uuid,
        fields: &[&str],
    ) -> Result<Vec<RecipientRecord>, PersonError> {
        let mut out = Vec::new();
        for id in self.store.recipients_of(person_id, fields).await? {
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

/// The organisation and service a person's resource is in.
fn placed(resource: &Resource) -> Result<(Uuid, Uuid), PersonError> {
    match *resource {
        Resource::Person {
            organisation_id,
            service_id,
            ..
        } => Ok((organisation_id, service_id)),
        _ => Err(PersonError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipient(kind: RecipientKind) -> RecipientRecord {
        RecipientRecord {
            id: Uuid::nil(),
            organisation_id: Uuid::nil(),
            name: "GP".to_owned(),
            kind,
            outside_uk: false,
            categories: vec!["identity".to_owned(), "health".to_owned()],
            bases: vec![LawfulBasis::Consent, LawfulBasis::VitalInterests],
            consent_required: false,
            partner_service_id: None,
            dpa_starts_at_micros: None,
            dpa_ends_at_micros: None,
            created_by: String::new(),
            updated_at_micros: 0,
            retired_at_micros: None,
        }
    }

    fn parsed(fields: &[PersonField], basis: LawfulBasis) -> Parsed {
        Parsed {
            recipient: recipient(RecipientKind::Health),
            fields: fields.to_vec(),
            entries: EntrySelection::None,
            basis,
            article9: None,
            schedule1: None,
            ground: None,
            texts: BTreeMap::new(),
            person_told: true,
            processor: None,
        }
    }

    fn facts() -> Facts {
        Facts {
            now: 1,
            live_consent: true,
            live_explicit_consent: false,
            restricted: false,
            objection: false,
            approved_categories: BTreeSet::new(),
            override_approved: false,
            perpetrator_in_recipient: false,
            flagged_selected: false,
            with_entries: false,
            state: SharingState::default(),
        }
    }

    #[test]
    fn every_broken_rule_is_named_once_and_in_order() {
        let mut p = parsed(
            &[
                PersonField::MentalHealth,
                PersonField::SafePhone,
                PersonField::Convictions,
            ],
            LawfulBasis::Consent,
        );
        p.recipient.outside_uk = true;
        let mut f = facts();
        f.live_consent = false;
        let broken = evaluate(&p, &f);
        assert_eq!(
            broken,
            vec![
                Rule::NoLiveConsent,
                Rule::SpecialCategoryNeedsArticle9,
                Rule::CriminalOffenceNeedsSchedule1,
                Rule::BeyondRecipientCategories,
                Rule::OutsideUkNeedsExplicitConsent,
                Rule::SafeContactNeverLeaves,
            ]
        );
    }

    #[test]
    fn a_clean_share_breaks_nothing() {
        let mut p = parsed(
            &[PersonField::GivenName, PersonField::MentalHealth],
            LawfulBasis::Consent,
        );
        p.article9 = Some(Article9Condition::HealthSocialCare);
        assert!(evaluate(&p, &facts()).is_empty());
    }

    #[test]
    fn case_notes_count_as_special_category() {
        let p = parsed(&[], LawfulBasis::Consent);
        let mut f = facts();
        f.with_entries = true;
        let broken = evaluate(&p, &f);
        assert!(broken.contains(&Rule::SpecialCategoryNeedsArticle9));
        assert!(broken.contains(&Rule::BeyondRecipientCategories));
    }
}
