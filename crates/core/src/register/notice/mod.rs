//! Privacy notices generated from the register (R13, R14): every Article 13 and 14 item for one
//! service, as structured sections that the web page, Markdown and the Article 30 export render.
//!
//! Guarantees:
//! - A notice is built only from a checked [`Register`], and only if every item it must state is
//!   there; otherwise generation fails, listing what is missing ([`NoticeError`]). Nothing partial is
//!   ever emitted.
//! - The notice says that Confidant makes no automated decisions and does no profiling: the code
//!   base contains none (R14).
//! - The register's own words are used as written, so the notice says what the configuration the
//!   system runs on says. Every contact is named under its own role's title with every detail the
//!   register gives (email, postal address, phone).
//! - What goes outside the UK is read from the register's structure only (the activities'
//!   transfers, the recipients marked `outside_uk`), never from its prose; the notice says nothing
//!   leaves the UK only when neither exists.
//! - No list is printed empty: a sentence whose list would be empty is left out.
//! - Every retention rule that applies to the service is stated, in the register's order: its
//!   records, period, trigger (the register's `said_as` words, or the trigger's own), destruction
//!   and the policy document (with version) the period comes from.
//! - The time to answer a rights request is the service's own promise when it is shorter than the
//!   one calendar month the law allows; otherwise one calendar month, extendable by two.
//!
//! Here: the notice and its sections; the Article 30 record is in `article30.rs`, publishing
//! versions in `publish.rs`.

mod article30;
mod publish;
#[cfg(test)]
mod tests;

pub use article30::{ARTICLE30_COLUMNS, article30_csv, article30_rows};
pub use publish::{NoticeChange, Published};

use std::collections::BTreeSet;
use std::fmt;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::field::FieldGroup;
use crate::register::{
    Activity, Contact, ContactRole, Organisation, Recipient, Register, RetentionRule, Service,
    Transfer,
};
use crate::store::{Article9Condition, LawfulBasis, Schedule1Condition};

/// The sentence about automated decision-making (R14).
pub const NO_AUTOMATED_DECISIONS: &str =
    "We make no decisions about you by automated means, and do no profiling.";

/// The sentence when the register sends nothing outside the UK.
pub const NOTHING_OUTSIDE_THE_UK: &str = "We do not send your information outside the UK.";

/// One section of a notice: a heading, paragraphs, and a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub heading: String,
    pub paragraphs: Vec<String>,
    pub items: Vec<String>,
}

impl Section {
    fn new(heading: &str) -> Self {
        Section {
            heading: heading.to_owned(),
            paragraphs: Vec::new(),
            items: Vec::new(),
        }
    }

    fn para(mut self, text: impl Into<String>) -> Self {
        self.paragraphs.push(text.into());
        self
    }

    fn item(mut self, text: impl Into<String>) -> Self {
        self.items.push(text.into());
        self
    }
}

/// A service's privacy notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub service_id: String,
    pub service_name: String,
    pub controller: String,
    pub title: String,
    /// The register's review date the notice was made from.
    pub reviewed_on: String,
    pub sections: Vec<Section>,
}

/// Why a notice could not be made: everything missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeError(pub Vec<String>);

impl fmt::Display for NoticeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the notice cannot be made: {}", self.0.join("; "))
    }
}

impl std::error::Error for NoticeError {}

/// A field group's label, or the code itself where it names none (the Article 30 record shows
/// what the register says; a checked register has no unknown code).
fn group_label(code: &str) -> String {
    if code == crate::sharing::CASE_NOTES {
        return "Case notes, plans, goals and appointments".to_owned();
    }
    FieldGroup::from_code(code).map_or_else(|| code.to_owned(), |g| g.label().to_owned())
}

fn basis_line(a: &Activity) -> String {
    let mut line =
        LawfulBasis::from_code(&a.basis).map_or_else(|| a.basis.clone(), |b| b.label().to_owned());
    if let Some(interest) = &a.legitimate_interest {
        let _ = write!(line, ": {interest}");
    }
    line
}

/// The recipients of the activities, each once, in the order the activities name them.
fn recipients_of<'a>(register: &'a Register, activities: &[&'a Activity]) -> Vec<&'a Recipient> {
    let mut seen = BTreeSet::new();
    activities
        .iter()
        .flat_map(|a| a.recipients.iter())
        .filter_map(|r| register.recipient(r))
        .filter(|r| seen.insert(r.id.as_str()))
        .collect()
}

/// Builds a service's notice, or lists what it would lack.
pub fn notice(register: &Register, service_id: &str) -> Result<Notice, NoticeError> {
    let Some(service) = register.service(service_id) else {
        return Err(NoticeError(vec![format!(
            "the register has no service `{service_id}`"
        )]));
    };
    let activities: Vec<&Activity> = register.activities_of(service_id).collect();
    let mut missing = Vec::new();
    if activities.is_empty() {
        missing.push(format!("service `{service_id}` has no processing activity"));
    }
    for a in &activities {
        if register.retention_rule(&a.retention).is_none() {
            missing.push(format!(
                "activity `{}` has no retention rule in the register",
                a.id
            ));
        }
    }
    let rules: Vec<&RetentionRule> = register.retention_of(service_id).collect();
    if rules.is_empty() {
        missing.push(format!(
            "service `{service_id}` has no retention rule in the register"
        ));
    }
    if !missing.is_empty() {
        return Err(NoticeError(missing));
    }
    let org = &register.organisation;
    let sections = vec![
        who_we_are(org, service),
        contacts(org),
        uses(register, &activities),
        sources(service, &activities),
        sharing(register, &activities),
        outside_uk(register, &activities),
        keeping(register, &rules),
        rights(register, service, &activities),
        safety(&activities),
        complaints(org),
        changes(org),
    ];
    Ok(Notice {
        service_id: service.id.clone(),
        service_name: service.name.clone(),
        controller: org.controller.clone(),
        title: format!("Privacy notice: {}", service.name),
        reviewed_on: org.reviewed_on.clone(),
        sections,
    })
}

/// The controller and its own contact details (Art. 13(1)(a), 14(1)(a)).
fn who_we_are(org: &Organisation, service: &Service) -> Section {
    let mut who = Section::new("Who we are")
        .para(format!(
            "This privacy notice is for people who use {}, a service of {} in {}. The service is funded by {}.",
            service.name, org.controller, service.area, service.funder
        ))
        .para(format!(
            "{} is the data controller: we decide how and why your information is used, and we are responsible for it. We are registered with the Information Commissioner's Office, number {}.",
            org.controller, org.registration_number
        ))
        .item(format!("Address: {}", org.address))
        .item(format!("Email: {}", org.email));
    if let Some(phone) = &org.phone {
        who = who.item(format!("Phone: {phone}"));
    }
    who
}

/// Each contact under its own role's title (Art. 13(1)(b), 14(1)(b)): a register without a DPO
/// names a data manager instead, and the notice calls them that.
fn contacts(org: &Organisation) -> Section {
    let mut section = Section::new("Who to contact about your information");
    for (role, contact) in org.contacts() {
        let title = match role {
            ContactRole::DataProtectionOfficer => "Our Data Protection Officer",
            ContactRole::CaldicottGuardian => {
                "Our Caldicott Guardian, who protects the confidentiality of health and care information"
            }
            ContactRole::DataManager => "Our data manager",
        };
        section = section.item(format!("{title}: {}", contact_details(contact)));
    }
    section
}

/// A contact's name, email, postal address and phone, as far as the register gives them.
fn contact_details(c: &Contact) -> String {
    let mut text = format!("{}, {}", c.name, c.email);
    if let Some(address) = &c.address {
        let _ = write!(text, ", {address}");
    }
    if let Some(phone) = &c.phone {
        let _ = write!(text, ", phone {phone}");
    }
    text
}

fn uses(register: &Register, activities: &[&Activity]) -> Section {
    let mut uses = Section::new("What we use and why").para(
        "For each thing we do with your information: why, what information, whose, and the law that allows it.",
    );
    for a in activities {
        uses = uses.item(activity_line(register, a));
    }
    uses
}

/// One activity: its purpose, categories, people, lawful basis and conditions. A list that would
/// be empty is left out, sentence and all.
fn activity_line(register: &Register, a: &Activity) -> String {
    let mut text = a.purpose.clone();
    let categories: Vec<&str> = a
        .categories
        .iter()
        .filter_map(|c| FieldGroup::from_code(c))
        .map(FieldGroup::label)
        .collect();
    if !categories.is_empty() {
        let _ = write!(text, " Information: {}.", categories.join(", "));
    }
    if !a.people.is_empty() {
        let _ = write!(text, " About: {}.", a.people.join(", "));
    }
    let _ = write!(text, " Lawful basis: {}.", basis_line(a));
    if let Some(c) = a.article9.as_deref().and_then(Article9Condition::from_code) {
        let _ = write!(text, " For special category information: {}.", c.label());
    }
    let sch1: Vec<&str> = a
        .schedule1
        .iter()
        .filter_map(|c| Schedule1Condition::from_code(c))
        .map(Schedule1Condition::label)
        .collect();
    if !sch1.is_empty() {
        let _ = write!(
            text,
            " Data Protection Act 2018, Schedule 1: {}.",
            sch1.join("; ")
        );
    }
    if let Some(d) = a
        .policy_document
        .as_deref()
        .and_then(|d| register.policy_document(d))
    {
        let _ = write!(
            text,
            " Our appropriate policy document, \"{}\" (version {}), explains how we protect it.",
            d.title, d.version
        );
    }
    text
}

fn sources(service: &Service, activities: &[&Activity]) -> Section {
    let sources: BTreeSet<&str> = activities
        .iter()
        .filter_map(|a| a.source.as_deref())
        .collect();
    let mut source =
        Section::new("Where your information comes from").para("Most of it comes from you.");
    for s in sources {
        source = source.item(s.to_owned());
    }
    source.para(format!(
        "Who may refer you to us: {}.",
        crate::store::ReferralPolicy::from_code(&service.referrals)
            .map_or_else(|| service.referrals.clone(), |p| p.label().to_lowercase())
    ))
}

fn sharing(register: &Register, activities: &[&Activity]) -> Section {
    let mut sharing = Section::new("Who we share it with, and when");
    let recipients = recipients_of(register, activities);
    if recipients.is_empty() {
        sharing = sharing.para("We do not share your information with anyone else.");
    }
    for r in recipients {
        sharing = sharing.item(format!("{}: {}", r.name, r.when));
    }
    let mut seen = BTreeSet::new();
    for a in activities {
        for p in &a.processors {
            if let Some(p) = register.processor(p)
                && seen.insert(p.id.clone())
            {
                sharing = sharing.item(format!(
                    "{} works for us as a data processor: {}. It acts only on our instructions, under a written agreement.",
                    p.name, p.role
                ));
            }
        }
    }
    sharing.para(
        "We share only what the recipient needs, on the lawful basis stated, and we record every disclosure.",
    )
}

/// Where information goes outside the UK (Art. 13(1)(f), 14(1)(f)): the activities' transfers with
/// their safeguards, and each recipient abroad, which the sharing rules let receive data only with
/// the person's explicit consent. Only the register's structure is read: a purpose whose words
/// mention a transfer is printed as written, where it belongs.
fn outside_uk(register: &Register, activities: &[&Activity]) -> Section {
    let mut section = Section::new("Outside the UK");
    let mut transfers: Vec<&Transfer> = Vec::new();
    for t in activities.iter().flat_map(|a| a.transfers.iter()) {
        if !transfers.contains(&t) {
            transfers.push(t);
        }
    }
    let abroad: Vec<&Recipient> = recipients_of(register, activities)
        .into_iter()
        .filter(|r| r.outside_uk)
        .collect();
    if transfers.is_empty() && abroad.is_empty() {
        return section.para(NOTHING_OUTSIDE_THE_UK);
    }
    section =
        section.para("Some of your information may be sent outside the UK, only as set out here.");
    for t in transfers {
        section = section.item(format!("{}: {}", t.country, t.safeguard));
    }
    for r in abroad {
        section = section.item(format!(
            "{} (outside the UK): we share your information only with your explicit consent.",
            r.name
        ));
    }
    section
}

/// How long each kind of record is kept (Art. 13(2)(a), 14(2)(a)): every rule that applies to the
/// service, with its period, the event it runs from, how the records are then destroyed, and the
/// policy document (and version) the period comes from.
fn keeping(register: &Register, rules: &[&RetentionRule]) -> Section {
    let mut keep = Section::new("How long we keep it");
    for r in rules {
        let mut line = format!(
            "{}: {} after {}. Then: {}",
            r.records,
            r.period,
            r.trigger_words(),
            sentence(&r.destruction)
        );
        if let Some(d) = register.retention_source(r) {
            let _ = write!(
                line,
                " Our \"{}\" (version {}) sets this period.",
                d.title, d.version
            );
        }
        keep = keep.item(line);
    }
    if let Some(days) = register.organisation.key_backup_days {
        let unit = if days == 1 { "day" } else { "days" };
        keep = keep.item(format!(
            "Our backups: when we destroy or erase your information, the keys that open it are destroyed at once, and our backups of those keys are kept for no more than {days} {unit}, so any copy of your information in our backups is beyond use within {days} {unit}. If we ever restore a backup, what we destroyed is destroyed again before anyone uses it."
        ));
    }
    keep
}

/// The register's words as a sentence: a full stop added where it has none.
fn sentence(text: &str) -> String {
    let text = text.trim_end();
    if text.ends_with(['.', '!', '?']) {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

/// How soon a rights request is answered (Art. 12(3)): one calendar month from receipt, which may
/// be extended by two further months for complex or numerous requests if the person is told why
/// within the first; a service may promise less, and then its own promise is what it states.
fn answer_time(days: u32) -> String {
    if days >= 30 {
        "We answer within one calendar month of receiving your request. If your request is complex, or you make a number of requests, we may take up to two further months; if we do, we tell you so, and why, within the first month.".to_owned()
    } else {
        let unit = if days == 1 { "day" } else { "days" };
        format!(
            "We answer within {days} {unit} of receiving your request: that is our own promise, shorter than the one calendar month the law allows."
        )
    }
}

fn rights(register: &Register, service: &Service, activities: &[&Activity]) -> Section {
    // Consent as the lawful basis, explicit consent for special category data, consent under
    // Schedule 1, or a recipient abroad (shared with only on explicit consent): the right to
    // withdraw it must be stated (Art. 13(2)(c), 14(2)(d)).
    let consent_based = activities.iter().any(|a| {
        a.basis == LawfulBasis::Consent.code()
            || a.article9.as_deref() == Some(Article9Condition::ExplicitConsent.code())
            || a.schedule1
                .iter()
                .any(|c| c == Schedule1Condition::Consent.code())
    }) || recipients_of(register, activities)
        .iter()
        .any(|r| r.outside_uk);
    let mut rights = Section::new("Your rights")
        .para(format!(
            "You can ask us, free of charge (unless a request is manifestly unfounded or excessive). {} If we cannot do what you ask, we tell you why.",
            answer_time(service.respond_within_days)
        ))
        .item("The right to be informed: this notice.")
        .item("The right of access: a copy of the information we hold about you.")
        .item("The right to rectification: to have wrong or incomplete information corrected.")
        .item("The right to erasure: to have your information deleted, where the law allows.")
        .item("The right to restrict processing: to have us only store your information while a question is settled.")
        .item("The right to data portability: the information you gave us, in a machine-readable form.")
        .item("The right to object: to processing based on legitimate interests or a public task, where we rely on them.");
    if consent_based {
        rights = rights.item(
            "The right to withdraw consent: at any time, for anything we do with your consent; it stops from then on.",
        );
    }
    rights.para(NO_AUTOMATED_DECISIONS)
}

fn safety(activities: &[&Activity]) -> Section {
    let security: BTreeSet<&str> = activities
        .iter()
        .flat_map(|a| a.security.iter().map(String::as_str))
        .collect();
    let mut safe = Section::new("How we keep it safe");
    for s in security {
        safe = safe.item(s.to_owned());
    }
    safe
}

fn complaints(org: &Organisation) -> Section {
    Section::new("How to complain")
        .para(org.complaints.clone())
        .para(format!(
            "You can also complain to the regulator, the Information Commissioner's Office: {}",
            org.regulator
        ))
}

fn changes(org: &Organisation) -> Section {
    Section::new("Changes to this notice").para(format!(
        "This notice is made from our register of processing, last reviewed on {}. When it changes we tell the people it affects.",
        org.reviewed_on
    ))
}

impl Notice {
    /// The notice as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = format!("# {}\n\n", self.title);
        for s in &self.sections {
            let _ = write!(out, "## {}\n\n", s.heading);
            for p in &s.paragraphs {
                let _ = write!(out, "{p}\n\n");
            }
            for i in &s.items {
                let _ = writeln!(out, "- {i}");
            }
            if !s.items.is_empty() {
                out.push('\n');
            }
        }
        out
    }

    /// A digest of the notice's content: a new version whenever it changes.
    pub fn digest(&self) -> String {
        Sha256::digest(self.markdown().as_bytes())
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}
