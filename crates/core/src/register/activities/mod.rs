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
//! - Retention rules are typed (record type, trigger, period), cite a policy document of the
//!   register as their source, and cover every service's case records (`retention.rs`).
//! - The organisation names someone to contact about people's information: a Data Protection
//!   Officer, a data manager, or both; every contact has a name and an email, and no detail given
//!   is blank. Every activity names at least one data category, each a known field group.
//! - Codes are the ones the sharing rules and the catalogue use ([`LawfulBasis`](crate::store::LawfulBasis),
//!   [`Article9Condition`](crate::store::Article9Condition),
//!   [`Schedule1Condition`](crate::store::Schedule1Condition),
//!   [`RecipientKind`](crate::store::RecipientKind), [`FieldGroup`]).
//!
//! Here: the register's model as read from the file, loading it, and applying it to the services;
//! the rules a register is checked against are in `check.rs`.

mod check;
mod retention;
mod terms;

pub use retention::RetentionRule;
pub use terms::{ConsentLine, Terms};

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::field::FieldGroup;
use crate::kernel::codes::codes;

use check::{Faults, check, line_of};

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

/// A person to contact (the DPO, the Caldicott Guardian, a data manager): the notice gives every
/// detail the register does.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub name: String,
    pub email: String,
    /// The postal address, where it is not the organisation's.
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

codes!(
    /// A role the register names a contact for: the code is its key under `[organisation]`, the
    /// label its title.
    ContactRole {
        DataProtectionOfficer = "dpo": "Data Protection Officer",
        CaldicottGuardian = "caldicott_guardian": "Caldicott Guardian",
        DataManager = "data_manager": "Data manager",
    }
);

/// The controller.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// A stable code naming the organisation in Confidant (lower-case letters, digits, `-` and
    /// `_`): start-up finds the organisation by it, and creates it (with the register's services)
    /// when Confidant does not have it yet.
    pub id: String,
    /// The controller's name, as the notice gives it.
    pub controller: String,
    /// The ICO registration number.
    pub registration_number: String,
    pub address: String,
    pub email: String,
    #[serde(default)]
    pub phone: Option<String>,
    /// The Data Protection Officer, where one is appointed; a register names a DPO, a data
    /// manager, or both.
    #[serde(default)]
    pub dpo: Option<Contact>,
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
    /// How many days the organisation keeps its key store backups (`confidant backup --part
    /// keys`), 1 to 366: what is destroyed or erased is beyond use, in every backup, within this
    /// many days. Every notice says so.
    #[serde(default)]
    pub key_backup_days: Option<u32>,
}

impl Organisation {
    /// The contacts the register names, each with its role, in the order
    /// [`ContactRole::ALL`] gives.
    pub fn contacts(&self) -> impl Iterator<Item = (ContactRole, &Contact)> {
        ContactRole::ALL.into_iter().filter_map(|role| {
            let contact = match role {
                ContactRole::DataProtectionOfficer => self.dpo.as_ref(),
                ContactRole::CaldicottGuardian => self.caldicott_guardian.as_ref(),
                ContactRole::DataManager => self.data_manager.as_ref(),
            };
            contact.map(|c| (role, c))
        })
    }
}

/// A policy document the register relies on, by version: an appropriate policy document (DPA 2018
/// Sch. 1 Part 4) that an activity's Schedule 1 condition names, or the retention schedule a
/// retention rule cites as its `source`. The notice names it with its version wherever it is relied
/// on.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    pub id: String,
    pub title: String,
    pub version: String,
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
    /// Every share to it needs the person's consent, or a recorded reason to share without it (a
    /// multi-agency meeting always does).
    #[serde(default)]
    pub consent_required: bool,
    /// For a `partner_service`: the service of this register it is (its id).
    #[serde(default)]
    pub service: Option<String>,
    /// Where a shared package may be sent by secure email (a secure mailbox of the recipient
    /// organisation). Without it, packages are downloaded only.
    #[serde(default)]
    pub secure_email: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

/// A processor working on the controller's behalf.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Processor {
    pub id: String,
    pub name: String,
    /// What it does for the controller.
    pub role: String,
    /// When its data processing agreement starts and ends (`YYYY-MM-DD`): outside them, nothing is
    /// sent to it.
    pub agreement_starts: String,
    pub agreement_ends: String,
    /// Where a shared package may be sent by secure email.
    #[serde(default)]
    pub secure_email: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

/// One line of a service's consent form: what the person is asked to agree to. The recipients it
/// lets data go to, the services whose form carries it and whether it is explicit consent come from
/// the activities that name it (`consent_purpose`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ConsentPurpose {
    pub id: String,
    /// The question as the form puts it to the person.
    pub label: String,
    /// The version of the consent form this line is on.
    pub form_version: String,
    /// Where it is declared in the register's file (for start-up's faults).
    #[serde(skip)]
    pub line: usize,
}

/// A kind of matter put to the trustees (a complaint, a serious incident), with the parts of a
/// person's record the Data Protection Officer may open to a trustee for it, and for how long at
/// most.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TrusteeMatter {
    pub id: String,
    pub label: String,
    /// Field group codes (the person's details of that group) and entry kinds (`note`, `plan`,
    /// `goal`, `appointment`). Nothing else of a record (related people, documents, the history)
    /// is opened to a trustee.
    pub parts: Vec<String>,
    /// The longest a grant of this matter lasts, in days (1 to 366).
    pub max_days: u32,
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
    /// With `referrals = "partner"`: the service of this register whose open cases may be referred
    /// (its id).
    #[serde(default)]
    pub partner: Option<String>,
    /// Field group codes the service collects (`identity` is always collected).
    pub field_groups: Vec<String>,
    /// How many days the service promises to answer a rights request in (30 at most).
    pub respond_within_days: u32,
    /// Whose bank holidays its rights requests' due dates skip: `england-and-wales` (the
    /// default), `scotland` or `northern-ireland`.
    #[serde(default)]
    pub bank_holidays: Option<String>,
    /// Where it is declared in the register's file (for start-up's faults).
    #[serde(skip)]
    pub line: usize,
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
    retention: Vec<Spanned<retention::RawRetentionRule>>,
    #[serde(default)]
    recipient: Vec<Spanned<Recipient>>,
    #[serde(default)]
    processor: Vec<Spanned<Processor>>,
    #[serde(default)]
    consent_purpose: Vec<Spanned<ConsentPurpose>>,
    #[serde(default)]
    trustee_matter: Vec<Spanned<TrusteeMatter>>,
    #[serde(default)]
    service: Vec<Spanned<Service>>,
    #[serde(default)]
    activity: Vec<Spanned<Activity>>,
}

/// A checked register: every reference resolves and every rule of R12 holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Register {
    /// The file it was read from, for faults found when it is put in force.
    pub file: PathBuf,
    /// The line of `[organisation]` in it.
    pub organisation_line: usize,
    pub organisation: Organisation,
    pub policy_documents: Vec<PolicyDocument>,
    pub retention: Vec<RetentionRule>,
    pub recipients: Vec<Recipient>,
    pub processors: Vec<Processor>,
    pub consent_purposes: Vec<ConsentPurpose>,
    pub trustee_matters: Vec<TrusteeMatter>,
    pub services: Vec<Service>,
    pub activities: Vec<Activity>,
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
        let retention = retention::typed_rules(&raw, &mut f);
        if f.list.is_empty() {
            let at = |span: std::ops::Range<usize>| line_of(text, span.start);
            Ok(Register {
                file: file.to_owned(),
                organisation_line: at(raw.organisation.span()),
                organisation: raw.organisation.into_inner(),
                policy_documents: raw
                    .policy_document
                    .into_iter()
                    .map(Spanned::into_inner)
                    .collect(),
                retention,
                recipients: raw.recipient.into_iter().map(Spanned::into_inner).collect(),
                processors: raw.processor.into_iter().map(Spanned::into_inner).collect(),
                consent_purposes: raw
                    .consent_purpose
                    .into_iter()
                    .map(|p| {
                        let line = at(p.span());
                        ConsentPurpose {
                            line,
                            ..p.into_inner()
                        }
                    })
                    .collect(),
                trustee_matters: raw
                    .trustee_matter
                    .into_iter()
                    .map(Spanned::into_inner)
                    .collect(),
                services: raw
                    .service
                    .into_iter()
                    .map(|s| {
                        let line = at(s.span());
                        Service {
                            line,
                            ..s.into_inner()
                        }
                    })
                    .collect(),
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

    pub fn trustee_matter(&self, id: &str) -> Option<&TrusteeMatter> {
        self.trustee_matters.iter().find(|m| m.id == id)
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
