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

use crate::access::PersonAccess;
use crate::audit::{AuditDraft, Purpose};
use crate::field::{Classification, FieldGroup, PersonField, RecordKind, record_field};
use crate::kernel::codes::codes;
use crate::organisation::micros;
use crate::person::{PersonError, Violation, Violations, access_of, from_micros};
use crate::record::{invalid, open_value, seal_values};
use crate::store::SharingState;
use crate::store::{
    ApprovalRecord, ApprovalState, Article9Condition, ConsentPurposeRecord, ConsentRecord,
    ConsentState, DisclosedItem, DisclosureRecord, GrantRecord, LawfulBasis, NewTask,
    OverrideGround, RecipientKind, RecipientRecord, Relationship, RestrictionKind,
    RestrictionRecord, ReviewState, Schedule1Condition, Store, TaskKind,
};
use crate::{Clock, Confidant};

mod approval;
mod consent;
mod disclosures;
pub use disclosures::ToTell;
mod preview;
pub use preview::Preview;
mod register;
mod route;
mod rules;
pub use rules::{Refusal, Rule};
mod share;

use route::Route;
use rules::{ConsentFinding, evaluate, refusals};

/// The data category of a person's record entries (notes, plans, goals, appointments). Case notes
/// in these services routinely hold health and other special category details, so a share that
/// includes them needs an Article 9 condition.
pub const CASE_NOTES: &str = "case_notes";

/// What a processor's worker was referred of a person, or what a trustee's matter opens of it:
/// the scope a projected use case keeps to.
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

impl ApprovalRecord {
    /// Whether this approval can ground a share of `person_id`'s record to `recipient_id` at
    /// `now_micros`: approved, not used yet, and given less than [`APPROVAL_DAYS`] days ago. The
    /// share decides by it, and the share's steps offer only approvals it holds for.
    pub fn usable(&self, recipient_id: Uuid, person_id: Uuid, now_micros: i64) -> bool {
        self.state == ApprovalState::Approved
            && self.used_by.is_none()
            && self.recipient_id == recipient_id
            && self.person_id == person_id
            && self
                .decided_at_micros
                .is_some_and(|d| d + APPROVAL_DAYS * MICROS_PER_DAY > now_micros)
    }
}
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
    /// The consent purpose the share is for, where the recipient is on the service's consent form:
    /// implied when only one purpose covers the recipient. Consent to one purpose never unlocks
    /// another purpose to the same recipient.
    pub consent_purpose_id: Option<Uuid>,
    /// For a processor: which of its workers, and for how many days.
    pub processor_staff_id: Option<Uuid>,
    pub referral_days: Option<i64>,
    /// Send the package by secure email to the recipient's address in the register (refused
    /// when it has none).
    pub send: bool,
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
    consent_purpose_id: Option<Uuid>,
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

/// Why a share was refused: every rule it breaks, each with the day that explains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked(pub Vec<Refusal>);

impl Blocked {
    /// The rules broken, without their days.
    pub fn rules(&self) -> Vec<Rule> {
        self.0.iter().map(|r| r.rule).collect()
    }
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let codes: Vec<&str> = self.0.iter().map(|r| r.rule.code()).collect();
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
    /// The package's sending by secure email, when the share asked for it.
    pub sending: Option<crate::message::MessageStatus>,
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
    /// The recipient's secure email address, where a shared package may be sent (optional).
    pub secure_email: Option<String>,
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

pub(crate) fn reason_text(
    field: &'static str,
    value: Option<&str>,
) -> Result<Option<String>, Violation> {
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
/// Consent holds while granted, unexpired, and given on the purpose's current form version: a new
/// wording (or a purpose covering more recipients, which the register marks with a new version)
/// must be asked again.
fn is_live(c: &ConsentRecord, line: &ConsentPurposeRecord, now: i64) -> bool {
    c.state == ConsentState::Granted
        && c.expires_at_micros.is_none_or(|e| e > now)
        && c.form_version == line.form_version
        && line.retired_at_micros.is_none()
}

/// What the rules need to know about the person and the recipient.
struct Facts {
    now: i64,
    /// The person's consent to the share's consent purpose (which covers this recipient): live
    /// (and whether explicit), or why not.
    consent: ConsentFinding,
    /// The consent purpose relied on: the share's, when its consent is live.
    consent_purpose_id: Option<Uuid>,
    /// Where a register governs the organisation: what it gives this share, from the activities of
    /// the person's service that name the recipient. It then decides bases, categories and
    /// conditions instead of the recipient's organisation-wide terms, and no approval widens it.
    route: Option<Route>,
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

/// Whether a request is decided to share, or as the dry run of the check step (which holds the
/// absence of the reasons, written in the last step, against nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Share,
    DryRun,
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

impl Decision {
    fn refusals(&self) -> Vec<Refusal> {
        refusals(&self.broken, &self.parsed, &self.facts)
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
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
mod approval_tests {
    use super::*;

    #[test]
    fn an_approval_is_usable_for_its_recipient_and_person_until_its_days_are_out() {
        let (person, recipient) = (Uuid::now_v7(), Uuid::now_v7());
        let given = 1_000 * MICROS_PER_DAY;
        let approval = ApprovalRecord {
            id: Uuid::now_v7(),
            person_id: person,
            recipient_id: recipient,
            categories: vec!["health".to_owned()],
            key_version: 1,
            requested_by: "a".to_owned(),
            requested_at_micros: given - 1,
            state: ApprovalState::Approved,
            decided_by: Some("b".to_owned()),
            decided_at_micros: Some(given),
            used_by: None,
        };
        let last = given + APPROVAL_DAYS * MICROS_PER_DAY - 1;
        assert!(approval.usable(recipient, person, given));
        assert!(approval.usable(recipient, person, last));
        assert!(!approval.usable(recipient, person, last + 1));
        assert!(!approval.usable(Uuid::now_v7(), person, given));
        assert!(!approval.usable(recipient, Uuid::now_v7(), given));
        let used = ApprovalRecord {
            used_by: Some(Uuid::now_v7()),
            ..approval.clone()
        };
        assert!(!used.usable(recipient, person, given));
        let pending = ApprovalRecord {
            state: ApprovalState::Pending,
            decided_at_micros: None,
            ..approval
        };
        assert!(!pending.usable(recipient, person, given));
    }
}
