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
//!   system runs on says.

use std::collections::BTreeSet;
use std::fmt;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::field::FieldGroup;
use crate::register::{Activity, Register, RetentionRule, Service};
use crate::store::{Article9Condition, LawfulBasis, Schedule1Condition};

/// The sentence about automated decision-making (R14).
pub const NO_AUTOMATED_DECISIONS: &str =
    "We make no decisions about you by automated means, and do no profiling.";

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
    let mut rules: Vec<&RetentionRule> = Vec::new();
    for a in &activities {
        match register.retention_rule(&a.retention) {
            Some(r) if !rules.iter().any(|x| x.id == r.id) => rules.push(r),
            Some(_) => {}
            None => missing.push(format!(
                "activity `{}` has no retention rule in the register",
                a.id
            )),
        }
    }
    if !missing.is_empty() {
        return Err(NoticeError(missing));
    }
    let org = &register.organisation;
    let mut sections = Vec::new();

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
    sections.push(who);

    let mut contacts = Section::new("Who to contact about your information").item(format!(
        "Our Data Protection Officer: {}, {}{}",
        org.dpo.name,
        org.dpo.email,
        org.dpo
            .address
            .as_deref()
            .map(|a| format!(", {a}"))
            .unwrap_or_default()
    ));
    if let Some(c) = &org.caldicott_guardian {
        contacts = contacts.item(format!(
            "Our Caldicott Guardian, who protects the confidentiality of health and care information: {}, {}",
            c.name, c.email
        ));
    }
    if let Some(c) = &org.data_manager {
        contacts = contacts.item(format!("Our data manager: {}, {}", c.name, c.email));
    }
    sections.push(contacts);

    let mut uses = Section::new("What we use and why").para(
        "For each thing we do with your information: why, what information, whose, and the law that allows it.",
    );
    for a in &activities {
        let mut text = format!(
            "{} Information: {}. About: {}. Lawful basis: {}.",
            a.purpose,
            a.categories
                .iter()
                .map(|c| group_label(c))
                .collect::<Vec<_>>()
                .join(", "),
            a.people.join(", "),
            basis_line(a)
        );
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
        uses = uses.item(text);
    }
    sections.push(uses);

    let sources: BTreeSet<&str> = activities
        .iter()
        .filter_map(|a| a.source.as_deref())
        .collect();
    let mut source =
        Section::new("Where your information comes from").para("Most of it comes from you.");
    for s in sources {
        source = source.item(s.to_owned());
    }
    source = source.para(format!(
        "Who may refer you to us: {}.",
        crate::store::ReferralPolicy::from_code(&service.referrals)
            .map_or_else(|| service.referrals.clone(), |p| p.label().to_lowercase())
    ));
    sections.push(source);

    let mut sharing = Section::new("Who we share it with, and when");
    let mut any = false;
    let mut seen = BTreeSet::new();
    for a in &activities {
        for r in &a.recipients {
            if let Some(r) = register.recipient(r)
                && seen.insert(r.id.clone())
            {
                any = true;
                sharing = sharing.item(format!("{}: {}", r.name, r.when));
            }
        }
    }
    if !any {
        sharing = sharing.para("We do not share your information with anyone else.");
    }
    let mut seen = BTreeSet::new();
    for a in &activities {
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
    sharing = sharing.para(
        "We share only what the recipient needs, on the lawful basis stated, and we record every disclosure.",
    );
    sections.push(sharing);

    let transfers: Vec<String> = activities
        .iter()
        .flat_map(|a| a.transfers.iter())
        .map(|t| format!("{}: {}", t.country, t.safeguard))
        .collect();
    let mut abroad = Section::new("Outside the UK");
    if transfers.is_empty() {
        abroad = abroad.para("We do not send your information outside the UK.");
    } else {
        for t in transfers {
            abroad = abroad.item(t);
        }
    }
    sections.push(abroad);

    let mut keep = Section::new("How long we keep it");
    for r in &rules {
        keep = keep.item(format!(
            "{}: {} after {}. Then: {}",
            r.records, r.period, r.trigger, r.destruction
        ));
    }
    sections.push(keep);

    // Consent as the lawful basis, explicit consent for special category data, or consent under
    // Schedule 1: the right to withdraw it must be stated (Art. 13(2)(c), 14(2)(d)).
    let consent_based = activities.iter().any(|a| {
        a.basis == LawfulBasis::Consent.code()
            || a.article9.as_deref() == Some(Article9Condition::ExplicitConsent.code())
            || a.schedule1
                .iter()
                .any(|c| c == Schedule1Condition::Consent.code())
    });
    let mut rights = Section::new("Your rights")
        .para(format!(
            "You can ask us, free of charge (unless a request is manifestly unfounded or excessive). We answer within {} days, and tell you why if we need longer or cannot do what you ask.",
            service.respond_within_days
        ))
        .item("The right to be informed: this notice.")
        .item("The right of access: a copy of the information we hold about you.")
        .item("The right to rectification: to have wrong or incomplete information corrected.")
        .item("The right to erasure: to have your information deleted, where the law allows.")
        .item("The right to restrict processing: to have us only store your information while a question is settled.")
        .item("The right to data portability: the information you gave us, in a machine-readable form.");
    rights = rights.item(
        "The right to object: to processing based on legitimate interests or a public task, where we rely on them.",
    );
    if consent_based {
        rights = rights.item(
            "The right to withdraw consent: at any time, for anything we do with your consent; it stops from then on.",
        );
    }
    rights = rights.para(NO_AUTOMATED_DECISIONS);
    sections.push(rights);

    let security: BTreeSet<&str> = activities
        .iter()
        .flat_map(|a| a.security.iter().map(String::as_str))
        .collect();
    let mut safe = Section::new("How we keep it safe");
    for s in security {
        safe = safe.item(s.to_owned());
    }
    sections.push(safe);

    sections.push(
        Section::new("How to complain")
            .para(org.complaints.clone())
            .para(format!(
                "You can also complain to the regulator, the Information Commissioner's Office: {}",
                org.regulator
            )),
    );
    sections.push(Section::new("Changes to this notice").para(format!(
        "This notice is made from our register of processing, last reviewed on {}. When it changes we tell the people it affects.",
        org.reviewed_on
    )));

    Ok(Notice {
        service_id: service.id.clone(),
        service_name: service.name.clone(),
        controller: org.controller.clone(),
        title: format!("Privacy notice: {}", service.name),
        reviewed_on: org.reviewed_on.clone(),
        sections,
    })
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

/// The columns of the Article 30 record, in order: (CSV header, label for people).
pub const ARTICLE30_COLUMNS: [(&str, &str); 19] = [
    ("controller", "Controller"),
    ("registration_number", "ICO registration number"),
    ("dpo", "Data Protection Officer"),
    ("service", "Service"),
    ("activity", "Activity"),
    ("purpose", "Purpose"),
    ("lawful_basis", "Lawful basis"),
    ("legitimate_interest", "Legitimate interest"),
    ("article9_condition", "Article 9 condition"),
    ("schedule1_conditions", "Schedule 1 conditions"),
    ("policy_document", "Appropriate policy document"),
    ("data_categories", "Categories of data"),
    ("people", "Categories of people"),
    ("recipients", "Recipients, and when"),
    ("processors", "Processors"),
    ("transfers", "Transfers outside the UK, and safeguards"),
    ("retention", "Retention and destruction"),
    ("security", "Security measures"),
    ("source", "Source, when not the person"),
];

/// The register as the Article 30 record: one row per activity and service, its cells in the
/// order of [`ARTICLE30_COLUMNS`].
pub fn article30_rows(register: &Register) -> Vec<Vec<String>> {
    let org = &register.organisation;
    let mut rows = Vec::new();
    for a in &register.activities {
        for s in &a.services {
            let service: Option<&Service> = register.service(s);
            rows.push(vec![
                org.controller.clone(),
                org.registration_number.clone(),
                format!("{} <{}>", org.dpo.name, org.dpo.email),
                service.map_or_else(|| s.clone(), |x| x.name.clone()),
                a.id.clone(),
                a.purpose.clone(),
                LawfulBasis::from_code(&a.basis)
                    .map_or_else(|| a.basis.clone(), |b| b.label().to_owned()),
                a.legitimate_interest.clone().unwrap_or_default(),
                a.article9
                    .as_deref()
                    .and_then(Article9Condition::from_code)
                    .map(|c| c.label().to_owned())
                    .unwrap_or_default(),
                a.schedule1
                    .iter()
                    .filter_map(|c| Schedule1Condition::from_code(c))
                    .map(Schedule1Condition::label)
                    .collect::<Vec<_>>()
                    .join("; "),
                a.policy_document
                    .as_deref()
                    .and_then(|d| register.policy_document(d))
                    .map(|d| format!("{} v{}", d.title, d.version))
                    .unwrap_or_default(),
                a.categories
                    .iter()
                    .map(|c| group_label(c))
                    .collect::<Vec<_>>()
                    .join("; "),
                a.people.join("; "),
                a.recipients
                    .iter()
                    .filter_map(|r| register.recipient(r))
                    .map(|r| format!("{} ({})", r.name, r.when))
                    .collect::<Vec<_>>()
                    .join("; "),
                a.processors
                    .iter()
                    .filter_map(|p| register.processor(p))
                    .map(|p| p.name.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
                a.transfers
                    .iter()
                    .map(|t| format!("{}: {}", t.country, t.safeguard))
                    .collect::<Vec<_>>()
                    .join("; "),
                register
                    .retention_rule(&a.retention)
                    .map(|r| format!("{} after {}; {}", r.period, r.trigger, r.destruction))
                    .unwrap_or_default(),
                a.security.join("; "),
                a.source.clone().unwrap_or_default(),
            ]);
        }
    }
    rows
}

/// The register as the Article 30 record, one row per activity and service: CSV (RFC 4180).
pub fn article30_csv(register: &Register) -> String {
    let mut out = String::new();
    push_row(
        &mut out,
        ARTICLE30_COLUMNS.iter().map(|(h, _)| (*h).to_owned()),
    );
    for row in article30_rows(register) {
        push_row(&mut out, row.into_iter());
    }
    out
}

fn push_row(out: &mut String, cells: impl Iterator<Item = String>) {
    let cells: Vec<String> = cells
        .map(|c| {
            if c.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c
            }
        })
        .collect();
    out.push_str(&cells.join(","));
    out.push_str("\r\n");
}

/// A service's notice as published: its latest version, what changed from the one before, and
/// the people to tell (ids only, by service).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeChange {
    pub service_code: String,
    pub version: i64,
    pub published_at_micros: i64,
    /// The version before, if any.
    pub previous: Option<i64>,
    /// Lines removed (`-`) and added (`+`) since the version before.
    pub changes: Vec<(char, String)>,
}

/// What a publication did for one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub service_code: String,
    pub version: i64,
    /// A new version was published (the notice changed, or it is the first).
    pub new: bool,
}

impl<S: crate::store::Store, C: crate::Clock> crate::Confidant<S, C> {
    /// Publishes every service's notice from `register`: a new version wherever the notice differs
    /// from the last one published (its digest), audited as `notice.publish`. Runs at start-up, for
    /// the operator only ("not found" to anyone else).
    pub async fn publish_notices(
        &self,
        operator: &crate::access::Principal,
        register: &Register,
    ) -> Result<Vec<Published>, crate::person::PersonError> {
        if !matches!(operator.actor(), confidant_policy::Actor::System) {
            return Err(crate::person::PersonError::NotFound);
        }
        let mut out = Vec::new();
        for service in &register.services {
            let n = notice(register, &service.id).map_err(|e| {
                crate::person::PersonError::Invalid(crate::person::Violations(vec![
                    crate::person::Violation::new("notice", e.to_string()),
                ]))
            })?;
            let digest = n.digest();
            let latest = self.store.notice_versions(&service.id).await?;
            let last = latest.first();
            if last.is_some_and(|v| v.digest == digest) {
                out.push(Published {
                    service_code: service.id.clone(),
                    version: last.map_or(0, |v| v.version),
                    new: false,
                });
                continue;
            }
            let now = self.clock().now();
            let version = crate::store::NoticeVersion {
                service_code: service.id.clone(),
                version: last.map_or(1, |v| v.version + 1),
                digest,
                markdown: n.markdown(),
                published_at_micros: crate::organisation::micros(now),
            };
            let audit = crate::audit::AuditDraft::notice_published(now);
            match self.store.publish_notice(&version, audit).await {
                Ok(()) => out.push(Published {
                    service_code: service.id.clone(),
                    version: version.version,
                    new: true,
                }),
                // Another process published the same version first: if it is this notice, that
                // is the same outcome.
                Err(crate::store::StoreError::Conflict(_))
                    if self
                        .store
                        .notice_versions(&service.id)
                        .await?
                        .first()
                        .is_some_and(|v| v.digest == version.digest) =>
                {
                    out.push(Published {
                        service_code: service.id.clone(),
                        version: version.version,
                        new: false,
                    });
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }

    /// The latest published version of a service's notice and what changed from the one before
    /// (public: no one's data). Whom to tell is [`Self::people_to_tell`]'s.
    pub async fn notice_change(
        &self,
        service_code: &str,
    ) -> Result<Option<NoticeChange>, crate::person::PersonError> {
        let versions = self.store.notice_versions(service_code).await?;
        let Some(latest) = versions.first() else {
            return Ok(None);
        };
        let previous = versions.get(1);
        let mut changes = Vec::new();
        if let Some(prev) = previous {
            let diff = similar::TextDiff::from_lines(&prev.markdown, &latest.markdown);
            for change in diff.iter_all_changes() {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                    similar::ChangeTag::Equal => continue,
                };
                changes.push((sign, change.value().trim_end().to_owned()));
            }
        }
        Ok(Some(NoticeChange {
            service_code: service_code.to_owned(),
            version: latest.version,
            published_at_micros: latest.published_at_micros,
            previous: previous.map(|p| p.version),
            changes,
        }))
    }

    /// Whom to tell of a change to a service's notice: the ids of its people (no values), for
    /// those who may list them (its practitioners and managers; never the operator), audited in the
    /// same transaction as the read.
    pub async fn people_to_tell(
        &self,
        actor: &crate::access::Principal,
        purpose: crate::audit::Purpose,
        service_id: uuid::Uuid,
    ) -> Result<Vec<uuid::Uuid>, crate::person::PersonError> {
        let action = confidant_policy::Action::PersonList;
        let resource = self
            .service_resource(actor, action, service_id, purpose)
            .await?;
        let permit = self.person_permit(actor, action, resource, purpose).await?;
        let audit = crate::audit::AuditDraft::permitted(&permit, purpose, self.clock().now())
            .named("notice.people_to_tell");
        Ok(self.store.people_ids_of_service(service_id, audit).await?)
    }
}
