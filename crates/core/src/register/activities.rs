//! The organisation's register of processing activities (Article 30), as the configuration
//! Confidant runs on: a TOML file (`register.toml` in the data directory's `config` folder), read and
//! checked as a whole (R1, R2, R11, R12).
//!
//! Guarantees:
//! - A register is either valid as a whole or refused with every fault found, each with its file,
//!   line and what is missing ([`RegisterError`]); nothing is half loaded.
//! - Every field group a service collects is covered by an activity of that service with a lawful
//!   basis; special category data has an Article 9 condition; criminal offence data a Schedule 1
//!   condition; a Schedule 1 Part 2 condition (and Article 9(2)(g)) names an appropriate policy
//!   document of the register; consent-based activities name their consent purpose; legitimate
//!   interests name the interest; every recipient, processor, retention rule, service and policy
//!   document referred to exists.
//! - Codes are the ones the sharing rules and the catalogue use ([`LawfulBasis`],
//!   [`Article9Condition`], [`Schedule1Condition`], [`RecipientKind`], [`FieldGroup`]).

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::field::{Classification, FieldGroup, PersonField};
use crate::store::{Article9Condition, LawfulBasis, RecipientKind, Schedule1Condition};

/// One fault of a register: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// Every fault found (at least one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterErrors(pub Vec<RegisterError>);

impl fmt::Display for RegisterErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RegisterErrors {}

/// A person to contact (the DPO, the Caldicott Guardian, a data manager).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

/// The controller.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// The controller's name, as the notice gives it.
    pub controller: String,
    /// The ICO registration number.
    pub registration_number: String,
    pub address: String,
    pub email: String,
    #[serde(default)]
    pub phone: Option<String>,
    pub dpo: Contact,
    #[serde(default)]
    pub caldicott_guardian: Option<Contact>,
    #[serde(default)]
    pub data_manager: Option<Contact>,
    /// How to complain to the organisation.
    pub complaints: String,
    /// The regulator's contact details.
    pub regulator: String,
    /// When the register was last reviewed and when it is due again (`YYYY-MM-DD`, yearly: R37).
    pub reviewed_on: String,
}

/// An appropriate policy document (DPA 2018 Sch. 1 Part 4), by version.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    pub id: String,
    pub title: String,
    pub version: String,
}

/// How long a kind of record is kept, from what, and how it is destroyed.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    pub id: String,
    /// What it applies to, in words ("case records", "declined referrals").
    pub records: String,
    /// What starts the clock ("the case closes").
    pub trigger: String,
    /// How long ("7 years", "6 months", "at once").
    pub period: String,
    /// How it is destroyed.
    pub destruction: String,
}

/// Someone data is disclosed to, and when.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    pub id: String,
    pub name: String,
    /// A recipient kind code (`health`, `criminal_justice`, `national_return`…).
    pub kind: String,
    /// When it receives data, in words.
    pub when: String,
    #[serde(default)]
    pub outside_uk: bool,
}

/// A processor working on the controller's behalf.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Processor {
    pub id: String,
    pub name: String,
    /// What it does for the controller.
    pub role: String,
    /// When its data processing agreement ends (`YYYY-MM-DD`).
    pub agreement_ends: String,
}

/// A transfer outside the UK and its safeguard.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    pub country: String,
    pub safeguard: String,
}

/// A service of the organisation.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// A short code: the privacy notice's address (`/privacy/<id>`).
    pub id: String,
    /// The service's name as in Confidant.
    pub name: String,
    pub funder: String,
    pub area: String,
    /// Who may refer (`anyone`, `self`, `professional`, `partner`), in the register's words too.
    pub referrals: String,
    /// Field group codes the service collects (`identity` is always collected).
    pub field_groups: Vec<String>,
    /// How many days the service promises to answer a rights request in (30 at most).
    pub respond_within_days: u32,
}

/// One processing activity.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    pub id: String,
    /// The services it is done for (ids).
    pub services: Vec<String>,
    pub purpose: String,
    /// A lawful basis code (Art. 6).
    pub basis: String,
    /// For legitimate interests: the interest.
    #[serde(default)]
    pub legitimate_interest: Option<String>,
    /// For consent: the consent purpose's code on the service's form.
    #[serde(default)]
    pub consent_purpose: Option<String>,
    #[serde(default)]
    pub article9: Option<String>,
    #[serde(default)]
    pub schedule1: Vec<String>,
    /// The appropriate policy document a Part 2 condition relies on (id).
    #[serde(default)]
    pub policy_document: Option<String>,
    /// Data categories: field group codes.
    pub categories: Vec<String>,
    /// Categories of people ("people who use the service", "their children").
    pub people: Vec<String>,
    #[serde(default)]
    pub recipients: Vec<String>,
    #[serde(default)]
    pub processors: Vec<String>,
    #[serde(default)]
    pub transfers: Vec<Transfer>,
    /// The retention rule (id).
    pub retention: String,
    pub security: Vec<String>,
    /// Where the data comes from when not from the person (Art. 14).
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegister {
    organisation: Spanned<Organisation>,
    #[serde(default)]
    policy_document: Vec<Spanned<PolicyDocument>>,
    #[serde(default)]
    retention: Vec<Spanned<RetentionRule>>,
    #[serde(default)]
    recipient: Vec<Spanned<Recipient>>,
    #[serde(default)]
    processor: Vec<Spanned<Processor>>,
    #[serde(default)]
    service: Vec<Spanned<Service>>,
    #[serde(default)]
    activity: Vec<Spanned<Activity>>,
}

/// A checked register: every reference resolves and every rule of R12 holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Register {
    pub organisation: Organisation,
    pub policy_documents: Vec<PolicyDocument>,
    pub retention: Vec<RetentionRule>,
    pub recipients: Vec<Recipient>,
    pub processors: Vec<Processor>,
    pub services: Vec<Service>,
    pub activities: Vec<Activity>,
}

/// The field groups holding special category data, and criminal offence data.
fn groups_of(pred: impl Fn(Classification) -> bool) -> BTreeSet<FieldGroup> {
    PersonField::ALL
        .iter()
        .filter(|f| pred(f.spec().classification))
        .map(|f| f.spec().group)
        .collect()
}

fn special_groups() -> BTreeSet<FieldGroup> {
    groups_of(|c| matches!(c, Classification::SpecialCategory(_)))
}

fn criminal_groups() -> BTreeSet<FieldGroup> {
    groups_of(|c| c == Classification::CriminalOffence)
}

fn date_ok(s: &str) -> bool {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s.trim(), &format).is_ok()
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset.min(text.len()))
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

struct Faults<'a> {
    file: &'a Path,
    text: &'a str,
    list: Vec<RegisterError>,
}

impl Faults<'_> {
    fn at(&mut self, span: &Range<usize>, message: impl Into<String>) {
        self.list.push(RegisterError {
            file: self.file.to_owned(),
            line: line_of(self.text, span.start),
            message: message.into(),
        });
    }
}

impl Register {
    /// Reads and checks a register file.
    pub fn load(path: &Path) -> Result<Register, RegisterErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            RegisterErrors(vec![RegisterError {
                file: path.to_owned(),
                line: 0,
                message: format!("could not be read: {e}"),
            }])
        })?;
        Register::parse(path, &text)
    }

    /// Checks a register's text; `file` names it in errors.
    pub fn parse(file: &Path, text: &str) -> Result<Register, RegisterErrors> {
        let raw: RawRegister = toml::from_str(text).map_err(|e| {
            RegisterErrors(vec![RegisterError {
                file: file.to_owned(),
                line: e.span().map_or(0, |s| line_of(text, s.start)),
                message: e.message().trim().to_owned(),
            }])
        })?;
        let mut f = Faults {
            file,
            text,
            list: Vec::new(),
        };
        check(&raw, &mut f);
        if f.list.is_empty() {
            Ok(Register {
                organisation: raw.organisation.into_inner(),
                policy_documents: raw
                    .policy_document
                    .into_iter()
                    .map(Spanned::into_inner)
                    .collect(),
                retention: raw.retention.into_iter().map(Spanned::into_inner).collect(),
                recipients: raw.recipient.into_iter().map(Spanned::into_inner).collect(),
                processors: raw.processor.into_iter().map(Spanned::into_inner).collect(),
                services: raw.service.into_iter().map(Spanned::into_inner).collect(),
                activities: raw.activity.into_iter().map(Spanned::into_inner).collect(),
            })
        } else {
            f.list.sort_by_key(|e| e.line);
            Err(RegisterErrors(f.list))
        }
    }

    /// When the yearly review of the register (R37) is due, if it is due within 30 days or
    /// overdue at `today`: the Data Protection Officer's task.
    pub fn review_due(&self, today: time::Date) -> Option<time::Date> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let reviewed = time::Date::parse(self.organisation.reviewed_on.trim(), &format).ok()?;
        // Checked: a review dated in the last representable year (9999) has no next one, and must
        // not panic the dashboard that asks.
        let due = reviewed
            .replace_year(reviewed.year() + 1)
            .ok()
            .or_else(|| reviewed.checked_add(time::Duration::days(365)))?;
        (today.saturating_add(time::Duration::days(30)) >= due).then_some(due)
    }

    pub fn service(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.id == id)
    }

    /// The activities done for a service.
    pub fn activities_of<'a>(&'a self, service: &'a str) -> impl Iterator<Item = &'a Activity> {
        self.activities
            .iter()
            .filter(move |a| a.services.iter().any(|s| s == service))
    }

    pub fn recipient(&self, id: &str) -> Option<&Recipient> {
        self.recipients.iter().find(|r| r.id == id)
    }

    pub fn processor(&self, id: &str) -> Option<&Processor> {
        self.processors.iter().find(|p| p.id == id)
    }

    pub fn retention_rule(&self, id: &str) -> Option<&RetentionRule> {
        self.retention.iter().find(|r| r.id == id)
    }

    pub fn policy_document(&self, id: &str) -> Option<&PolicyDocument> {
        self.policy_documents.iter().find(|d| d.id == id)
    }

    /// The field groups a service collects, as the catalogue's groups (identity always).
    pub fn field_groups(&self, service: &Service) -> crate::field::FieldGroups {
        crate::field::FieldGroups::new(
            service
                .field_groups
                .iter()
                .filter_map(|g| FieldGroup::from_code(g))
                .chain([FieldGroup::Identity]),
        )
    }
}

fn unique<'a>(
    f: &mut Faults<'_>,
    what: &str,
    items: impl Iterator<Item = (&'a str, Range<usize>)>,
) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for (id, span) in items {
        if id.trim().is_empty() {
            f.at(&span, format!("a {what} has no id"));
        } else if !seen.insert(id.to_owned()) {
            f.at(&span, format!("{what} `{id}` is declared twice"));
        }
    }
    seen
}

fn check(raw: &RawRegister, f: &mut Faults<'_>) {
    let org = raw.organisation.get_ref();
    let org_span = raw.organisation.span();
    if !date_ok(&org.reviewed_on) {
        f.at(
            &org_span,
            "organisation: `reviewed_on` must be a date (YYYY-MM-DD)",
        );
    }
    for (what, value) in [
        ("controller", &org.controller),
        ("registration_number", &org.registration_number),
        ("address", &org.address),
        ("email", &org.email),
        ("complaints", &org.complaints),
        ("regulator", &org.regulator),
        ("dpo.name", &org.dpo.name),
        ("dpo.email", &org.dpo.email),
    ] {
        if value.trim().is_empty() {
            f.at(&org_span, format!("organisation: `{what}` is empty"));
        }
    }
    let docs = unique(
        f,
        "policy document",
        raw.policy_document
            .iter()
            .map(|d| (d.get_ref().id.as_str(), d.span())),
    );
    let rules = unique(
        f,
        "retention rule",
        raw.retention
            .iter()
            .map(|r| (r.get_ref().id.as_str(), r.span())),
    );
    let recipients = unique(
        f,
        "recipient",
        raw.recipient
            .iter()
            .map(|r| (r.get_ref().id.as_str(), r.span())),
    );
    let processors = unique(
        f,
        "processor",
        raw.processor
            .iter()
            .map(|p| (p.get_ref().id.as_str(), p.span())),
    );
    let services = unique(
        f,
        "service",
        raw.service
            .iter()
            .map(|s| (s.get_ref().id.as_str(), s.span())),
    );
    unique(
        f,
        "activity",
        raw.activity
            .iter()
            .map(|a| (a.get_ref().id.as_str(), a.span())),
    );
    for r in &raw.recipient {
        if RecipientKind::from_code(&r.get_ref().kind).is_none() {
            f.at(
                &r.span(),
                format!(
                    "recipient `{}`: `{}` is not a recipient kind",
                    r.get_ref().id,
                    r.get_ref().kind
                ),
            );
        }
    }
    for p in &raw.processor {
        if !date_ok(&p.get_ref().agreement_ends) {
            f.at(
                &p.span(),
                format!(
                    "processor `{}`: `agreement_ends` must be a date (YYYY-MM-DD)",
                    p.get_ref().id
                ),
            );
        }
    }
    for s in &raw.service {
        let svc = s.get_ref();
        if svc.respond_within_days == 0 || svc.respond_within_days > 30 {
            f.at(
                &s.span(),
                format!(
                    "service `{}`: `respond_within_days` must be 1 to 30 (the law allows one month at most)",
                    svc.id
                ),
            );
        }
        if crate::store::ReferralPolicy::from_code(&svc.referrals).is_none() {
            f.at(
                &s.span(),
                format!(
                    "service `{}`: `{}` is not a referral policy (anyone, self, professional, partner)",
                    svc.id, svc.referrals
                ),
            );
        }
        for g in &svc.field_groups {
            if FieldGroup::from_code(g).is_none() {
                f.at(
                    &s.span(),
                    format!("service `{}`: `{g}` is not a field group", svc.id),
                );
            }
        }
    }
    let special = special_groups();
    let criminal = criminal_groups();
    let abroad: BTreeSet<String> = raw
        .recipient
        .iter()
        .map(Spanned::get_ref)
        .filter(|r| r.outside_uk)
        .map(|r| r.id.clone())
        .collect();
    for a in &raw.activity {
        check_activity(
            a.get_ref(),
            &a.span(),
            f,
            &Known {
                abroad: &abroad,
                docs: &docs,
                rules: &rules,
                recipients: &recipients,
                processors: &processors,
                services: &services,
            },
            &special,
            &criminal,
        );
    }
    // Coverage: every group a service collects is covered by an activity of that service with a
    // lawful basis, and that activity has the conditions the group's data needs.
    for s in &raw.service {
        let svc = s.get_ref();
        let mut groups: Vec<FieldGroup> = svc
            .field_groups
            .iter()
            .filter_map(|g| FieldGroup::from_code(g))
            .collect();
        groups.insert(0, FieldGroup::Identity);
        for group in groups {
            let covering: Vec<&Activity> = raw
                .activity
                .iter()
                .map(Spanned::get_ref)
                .filter(|a| a.services.iter().any(|x| x == &svc.id))
                .filter(|a| a.categories.iter().any(|c| c == group.code()))
                .collect();
            if covering.is_empty() {
                f.at(
                    &s.span(),
                    format!(
                        "service `{}` collects `{}` but no activity of the service covers it with a lawful basis",
                        svc.id,
                        group.code()
                    ),
                );
            }
        }
    }
}

struct Known<'a> {
    /// Recipients outside the UK.
    abroad: &'a BTreeSet<String>,
    docs: &'a BTreeSet<String>,
    rules: &'a BTreeSet<String>,
    recipients: &'a BTreeSet<String>,
    processors: &'a BTreeSet<String>,
    services: &'a BTreeSet<String>,
}

fn check_activity(
    a: &Activity,
    span: &Range<usize>,
    f: &mut Faults<'_>,
    known: &Known<'_>,
    special: &BTreeSet<FieldGroup>,
    criminal: &BTreeSet<FieldGroup>,
) {
    let name = format!("activity `{}`", a.id);
    let basis = LawfulBasis::from_code(&a.basis).filter(|b| *b != LawfulBasis::SubjectRequest);
    if basis.is_none() {
        f.at(span, format!("{name}: `{}` is not a lawful basis", a.basis));
    }
    if basis == Some(LawfulBasis::LegitimateInterests)
        && a.legitimate_interest
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
    {
        f.at(
            span,
            format!("{name}: legitimate interests needs `legitimate_interest`: the interest"),
        );
    }
    if basis == Some(LawfulBasis::Consent)
        && a.consent_purpose
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
    {
        f.at(
            span,
            format!("{name}: a consent-based activity needs `consent_purpose`"),
        );
    }
    let article9 = a
        .article9
        .as_deref()
        .map(|c| (c, Article9Condition::from_code(c)));
    if let Some((code, None)) = article9 {
        f.at(
            span,
            format!("{name}: `{code}` is not an Article 9 condition"),
        );
    }
    let mut part2 = false;
    let mut schedule1_any = false;
    for c in &a.schedule1 {
        match Schedule1Condition::from_code(c) {
            Some(cond) => {
                schedule1_any = true;
                part2 |= cond.is_part2();
            }
            None => f.at(span, format!("{name}: `{c}` is not a Schedule 1 condition")),
        }
    }
    let mut groups = BTreeSet::new();
    for c in &a.categories {
        match FieldGroup::from_code(c) {
            Some(g) => {
                groups.insert(g);
            }
            None => f.at(
                span,
                format!("{name}: `{c}` is not a data category (field group)"),
            ),
        }
    }
    if groups.iter().any(|g| special.contains(g)) && a.article9.is_none() {
        f.at(
            span,
            format!("{name}: special category data needs an Article 9 condition (`article9`)"),
        );
    }
    if groups.iter().any(|g| criminal.contains(g)) && !schedule1_any {
        f.at(
            span,
            format!("{name}: criminal offence data needs a Schedule 1 condition (`schedule1`)"),
        );
    }
    if matches!(
        article9,
        Some((_, Some(Article9Condition::SubstantialPublicInterest)))
    ) && !part2
    {
        f.at(span, format!("{name}: substantial public interest (Art. 9(2)(g)) needs a Schedule 1 Part 2 condition"));
    }
    // DPA 2018 s.10(2): Art. 9(2)(b), (h), (i) and (j) are met only with their Schedule 1 Part 1
    // condition.
    let part1_needed = match article9 {
        Some((_, Some(Article9Condition::EmploymentSocialProtection))) => {
            Some(Schedule1Condition::Employment)
        }
        Some((_, Some(Article9Condition::HealthSocialCare))) => {
            Some(Schedule1Condition::HealthSocialCare)
        }
        Some((_, Some(Article9Condition::PublicHealth))) => Some(Schedule1Condition::PublicHealth),
        Some((_, Some(Article9Condition::ArchivingResearch))) => Some(Schedule1Condition::Research),
        _ => None,
    };
    if let Some(needed) = part1_needed
        && !a.schedule1.iter().any(|c| c == needed.code())
    {
        f.at(
            span,
            format!(
                "{name}: this Article 9 condition needs its Schedule 1 Part 1 condition `{}` (DPA 2018 s.10(2))",
                needed.code()
            ),
        );
    }
    // Part 2 conditions, and Part 1 para 1 (employment), are met only with an appropriate policy
    // document (DPA 2018 Sch. 1 paras 1(1)(b) and 5).
    let employment = a
        .schedule1
        .iter()
        .any(|c| c == Schedule1Condition::Employment.code());
    if (part2 || employment) && a.policy_document.is_none() {
        f.at(
            span,
            format!(
                "{name}: this Schedule 1 condition needs an appropriate policy document (`policy_document`)"
            ),
        );
    }

    if let Some(d) = a.policy_document.as_deref()
        && !known.docs.contains(d)
    {
        f.at(
            span,
            format!("{name}: policy document `{d}` is not in the register"),
        );
    }
    let consent_condition = matches!(
        article9,
        Some((_, Some(Article9Condition::ExplicitConsent)))
    ) || a
        .schedule1
        .iter()
        .any(|c| c == Schedule1Condition::Consent.code());
    if consent_condition
        && basis != Some(LawfulBasis::Consent)
        && a.consent_purpose
            .as_deref()
            .is_none_or(|s| s.trim().is_empty())
    {
        f.at(
            span,
            format!("{name}: a consent condition needs `consent_purpose`"),
        );
    }
    if a.transfers.is_empty() && a.recipients.iter().any(|r| known.abroad.contains(r)) {
        f.at(span, format!("{name}: a recipient outside the UK needs a transfer with its safeguard (`transfers`)"));
    }
    if a.services.is_empty() {
        f.at(span, format!("{name}: names no service"));
    }
    for s in &a.services {
        if !known.services.contains(s) {
            f.at(
                span,
                format!("{name}: service `{s}` is not in the register"),
            );
        }
    }
    for r in &a.recipients {
        if !known.recipients.contains(r) {
            f.at(
                span,
                format!("{name}: recipient `{r}` is not in the register"),
            );
        }
    }
    for p in &a.processors {
        if !known.processors.contains(p) {
            f.at(
                span,
                format!("{name}: processor `{p}` is not in the register"),
            );
        }
    }
    if !known.rules.contains(&a.retention) {
        f.at(
            span,
            format!(
                "{name}: retention rule `{}` is not in the register",
                a.retention
            ),
        );
    }
    if a.people.is_empty() {
        f.at(span, format!("{name}: names no categories of people"));
    }
    if a.security.is_empty() {
        f.at(span, format!("{name}: names no security measures"));
    }
}

impl<S: crate::store::Store, C: crate::Clock> crate::Confidant<S, C> {
    /// Makes each service of the register that Confidant has (by name) collect exactly the field
    /// groups the register covers, with its referral policy: the register is the configuration the
    /// system runs on, so nothing is collected that no activity covers. Returns how many services
    /// were configured. A partner policy keeps the partner service already set (the register names
    /// no Confidant service ids); without one the service's policy is left as it is.
    pub async fn apply_register(
        &self,
        register: &Register,
    ) -> Result<usize, crate::organisation::OrganisationError> {
        let mut configured = 0;
        for org in self.store.organisations().await? {
            for svc in self.store.services(org.id).await? {
                let Some(entry) = register.services.iter().find(|s| s.name == svc.name) else {
                    continue;
                };
                let current = self.store.service_config(svc.id).await?;
                let current =
                    current.unwrap_or_else(|| crate::store::ServiceConfig::default_for(svc.id));
                let referrals = crate::store::ReferralPolicy::from_code(&entry.referrals)
                    .filter(|p| {
                        *p != crate::store::ReferralPolicy::PartnerOnly
                            || current.partner_service_id.is_some()
                    })
                    .unwrap_or(current.referrals);
                let wanted = crate::store::ServiceConfig {
                    service_id: svc.id,
                    field_groups: register.field_groups(entry),
                    referrals,
                    // A partner service is named exactly when referrals come only from it.
                    partner_service_id: current
                        .partner_service_id
                        .filter(|_| referrals == crate::store::ReferralPolicy::PartnerOnly),
                };
                if wanted != current {
                    self.configure_service(&crate::access::Principal::system(), &wanted)
                        .await?;
                }
                configured += 1;
            }
        }
        Ok(configured)
    }
}
