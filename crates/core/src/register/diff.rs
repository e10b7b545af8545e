//! What changes between two registers of processing activities, and who must be told (issue 15,
//! item 7): read before a new register is put in force (`confidant register diff OLD NEW`).
//!
//! Guarantees:
//! - Pure: [`diff`] reads the two registers and nothing else (no database, no clock). What it says
//!   start-up will do is what start-up does when Confidant holds what the old register says.
//! - Every field of the register is compared (each is named when the old one is taken apart, so a
//!   new field cannot be forgotten), and so is each service's privacy notice: a change that moves
//!   only the notice (activities reordered) is still listed.
//! - What a recipient or processor may receive is compared as [`Register::terms_of`] gives it, and
//!   each service's consent form as [`Register::consent_form`] gives it: what start-up writes.
//! - A change that stops start-up, or makes Confidant see a new organisation, is marked a hazard.
//! - A stable order: topics in [`Topic`]'s order; within one, what the old register has (in its
//!   order), then what only the new one has (in its order). Audiences: the people of each service,
//!   those to ask again, the DPO, then staff; each once, with every reason, in the order found.
//! - Only the registers' own words and codes are printed: a register holds no one's personal data.
//!
//! Here: the changes, who must be told, and the comparisons' common parts; the organisation's own
//! entries are compared in `organisation.rs`, recipients, processors and consent forms in
//! `sharing.rs`.

mod organisation;
mod sharing;
#[cfg(test)]
mod tests;

use std::fmt;

use super::notice::{Notice, notice};
use super::{
    Activity, ConsentLine, ConsentPurpose, Contact, ContactRole, PolicyDocument, Processor,
    Recipient, Register, RetentionRule, Service,
};

/// What a change is about: the headings, in the order they are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Topic {
    Organisation,
    Services,
    Recipients,
    Processors,
    ConsentPurposes,
    Retention,
    Activities,
    PolicyDocuments,
    TrusteeMatters,
    Notices,
}

impl Topic {
    pub fn heading(self) -> &'static str {
        match self {
            Topic::Organisation => "Organisation",
            Topic::Services => "Services",
            Topic::Recipients => "Recipients",
            Topic::Processors => "Processors",
            Topic::ConsentPurposes => "Consent purposes",
            Topic::Retention => "Retention rules",
            Topic::Activities => "Activities",
            Topic::PolicyDocuments => "Policy documents",
            Topic::TrusteeMatters => "Trustees' matters",
            Topic::Notices => "Privacy notices",
        }
    }
}

/// What kind of change it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Added,
    Removed,
    Changed,
    /// Start-up will stop on it, or Confidant will see a new organisation.
    Hazard,
}

impl Mark {
    fn sign(self) -> char {
        match self {
            Mark::Added => '+',
            Mark::Removed => '-',
            Mark::Changed => '~',
            Mark::Hazard => '!',
        }
    }
}

/// One change, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub topic: Topic,
    pub mark: Mark,
    pub text: String,
}

/// Who must be told of a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// The people of a service (by id): its privacy notice changes.
    People {
        service: String,
    },
    /// The people who consented to a purpose on a service's form: they must be asked again.
    Consented {
        service: String,
        purpose: String,
    },
    DataProtectionOfficer,
    /// Where the register names no DPO, the data manager has the DPO's part.
    DataManager,
    /// The staff of a service who share through the share wizard (any service's, with `None`).
    ShareWizardStaff {
        service: Option<String>,
    },
}

impl Audience {
    /// The order audiences are printed in: people first, then the DPO, then staff.
    fn rank(&self) -> u8 {
        match self {
            Audience::People { .. } => 0,
            Audience::Consented { .. } => 1,
            Audience::DataProtectionOfficer | Audience::DataManager => 2,
            Audience::ShareWizardStaff { .. } => 3,
        }
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Audience::People { service } => write!(f, "The people of `{service}`"),
            Audience::Consented { service, purpose } => write!(
                f,
                "The people who consented to `{purpose}` on the form of `{service}` (ask them again)"
            ),
            Audience::DataProtectionOfficer => write!(f, "The Data Protection Officer"),
            Audience::DataManager => write!(f, "The data manager"),
            Audience::ShareWizardStaff { service: Some(s) } => {
                write!(f, "Staff of `{s}` who use the share wizard")
            }
            Audience::ShareWizardStaff { service: None } => {
                write!(f, "Staff who use the share wizard")
            }
        }
    }
}

/// An audience and every reason it must be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tell {
    pub who: Audience,
    pub why: Vec<String>,
}

/// The changes from one register to another, and who must be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterDiff {
    pub changes: Vec<Change>,
    pub tell: Vec<Tell>,
}

impl RegisterDiff {
    /// Nothing Confidant puts in force or publishes changes.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.tell.is_empty()
    }

    /// The changes about one topic, in order.
    pub fn about(&self, topic: Topic) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(move |c| c.topic == topic)
    }

    /// The reasons `who` must be told (empty if they need not be).
    pub fn why_tell(&self, who: &Audience) -> &[String] {
        self.tell
            .iter()
            .find(|t| &t.who == who)
            .map_or(&[], |t| &t.why)
    }
}

impl fmt::Display for RegisterDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(f, "No changes.");
        }
        let mut topic = None;
        for c in &self.changes {
            if topic != Some(c.topic) {
                if topic.is_some() {
                    writeln!(f)?;
                }
                writeln!(f, "{}", c.topic.heading())?;
                topic = Some(c.topic);
            }
            writeln!(f, "  {} {}", c.mark.sign(), c.text)?;
        }
        if !self.tell.is_empty() {
            if topic.is_some() {
                writeln!(f)?;
            }
            writeln!(f, "Who must be told")?;
            for t in &self.tell {
                writeln!(f, "  {}:", t.who)?;
                for why in &t.why {
                    writeln!(f, "    - {why}")?;
                }
            }
        }
        Ok(())
    }
}

/// What changes from `old` to `new` (both checked), and who must be told.
pub fn diff(old: &Register, new: &Register) -> RegisterDiff {
    let mut d = Diff {
        old,
        new,
        changes: Vec::new(),
        tell: Vec::new(),
    };
    d.organisation();
    d.services();
    d.recipients();
    d.processors();
    d.consent_forms();
    d.retention();
    d.activities();
    d.policy_documents();
    d.trustee_matters();
    d.notices();
    let (mut changes, mut tell) = (d.changes, d.tell);
    // Stable sorts: within a topic or a kind of audience, the order the comparisons found them in.
    changes.sort_by_key(|c| c.topic);
    tell.sort_by_key(|t| t.who.rank());
    RegisterDiff { changes, tell }
}

struct Diff<'a> {
    old: &'a Register,
    new: &'a Register,
    changes: Vec<Change>,
    tell: Vec<Tell>,
}

fn quoted(s: &str) -> String {
    format!("\"{s}\"")
}

fn optional(s: Option<&str>) -> String {
    s.map_or_else(|| "none".to_owned(), quoted)
}

fn ticked(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What `new` has that `old` lacks, and what `old` has that `new` lacks, each in its own order.
fn delta<'s>(old: &[&'s str], new: &[&'s str]) -> (Vec<&'s str>, Vec<&'s str>) {
    let added = new.iter().filter(|n| !old.contains(n)).copied().collect();
    let removed = old.iter().filter(|o| !new.contains(o)).copied().collect();
    (added, removed)
}

fn strs(items: &[String]) -> Vec<&str> {
    items.iter().map(String::as_str).collect()
}

/// The services whose activities name a recipient or processor, in the register's order.
fn services_sharing_with(register: &Register, party: &str) -> Vec<String> {
    register
        .services
        .iter()
        .filter(|s| {
            register.activities_of(&s.id).any(|a| {
                a.recipients.iter().any(|r| r == party) || a.processors.iter().any(|p| p == party)
            })
        })
        .map(|s| s.id.clone())
        .collect()
}

/// The notice's title and the headings of its sections that differ (none if it is the same).
fn notice_changes(old: &Notice, new: &Notice) -> Vec<String> {
    let mut parts = Vec::new();
    if old.title != new.title {
        parts.push("its title".to_owned());
    }
    for s in &new.sections {
        if old.sections.iter().find(|o| o.heading == s.heading) != Some(s) {
            parts.push(quoted(&s.heading));
        }
    }
    parts
}

impl Diff<'_> {
    fn push(&mut self, topic: Topic, mark: Mark, text: String) {
        self.changes.push(Change { topic, mark, text });
    }

    fn tell(&mut self, who: Audience, why: String) {
        match self.tell.iter_mut().find(|t| t.who == who) {
            Some(t) if t.why.contains(&why) => {}
            Some(t) => t.why.push(why),
            None => self.tell.push(Tell {
                who,
                why: vec![why],
            }),
        }
    }

    /// The DPO, or the data manager where the new register names no DPO.
    fn dpo(&self) -> Audience {
        if self.new.organisation.dpo.is_some() {
            Audience::DataProtectionOfficer
        } else {
            Audience::DataManager
        }
    }

    /// `subject: what from "old" to "new"`, if they differ.
    fn value(&mut self, topic: Topic, subject: &str, what: &str, old: &str, new: &str) -> bool {
        if old == new {
            return false;
        }
        self.push(
            topic,
            Mark::Changed,
            format!("{subject}{what} from {} to {}", quoted(old), quoted(new)),
        );
        true
    }

    fn option(
        &mut self,
        topic: Topic,
        subject: &str,
        what: &str,
        old: &Option<String>,
        new: &Option<String>,
    ) {
        if old != new {
            let text = format!(
                "{subject}{what} from {} to {}",
                optional(old.as_deref()),
                optional(new.as_deref())
            );
            self.push(topic, Mark::Changed, text);
        }
    }

    /// Prose too long to print twice: only that it changed.
    fn reworded(&mut self, topic: Topic, subject: &str, what: &str, old: &str, new: &str) {
        if old != new {
            self.push(topic, Mark::Changed, format!("{subject}{what} is reworded"));
        }
    }

    /// A list's additions and removals, each in its own order.
    fn list<'s>(
        &mut self,
        topic: Topic,
        subject: &str,
        what: &str,
        old: &[&'s str],
        new: &[&'s str],
    ) -> (Vec<&'s str>, Vec<&'s str>) {
        self.listed(topic, subject, what, old, new, ticked)
    }

    /// A list of words rather than codes: each quoted.
    fn words(&mut self, topic: Topic, subject: &str, what: &str, old: &[String], new: &[String]) {
        let all = |items: &[&str]| {
            items
                .iter()
                .map(|i| quoted(i))
                .collect::<Vec<_>>()
                .join(", ")
        };
        self.listed(topic, subject, what, &strs(old), &strs(new), all);
    }

    fn listed<'s>(
        &mut self,
        topic: Topic,
        subject: &str,
        what: &str,
        old: &[&'s str],
        new: &[&'s str],
        show: impl Fn(&[&str]) -> String,
    ) -> (Vec<&'s str>, Vec<&'s str>) {
        let (added, removed) = delta(old, new);
        let mut parts = Vec::new();
        if !added.is_empty() {
            parts.push(format!("added {}", show(&added)));
        }
        if !removed.is_empty() {
            parts.push(format!("removed {}", show(&removed)));
        }
        if !parts.is_empty() {
            self.push(
                topic,
                Mark::Changed,
                format!("{subject}{what}: {}", parts.join("; ")),
            );
        }
        (added, removed)
    }

    /// Contact details (email, postal address, phone) that changed, by name.
    fn details(
        &mut self,
        topic: Topic,
        subject: &str,
        old: [Option<&str>; 3],
        new: [Option<&str>; 3],
    ) {
        let changed: Vec<&str> = ["email", "postal address", "phone"]
            .into_iter()
            .zip(old.into_iter().zip(new))
            .filter(|(_, (o, n))| o != n)
            .map(|(what, _)| what)
            .collect();
        if !changed.is_empty() {
            self.push(
                topic,
                Mark::Changed,
                format!("{subject}contact details change: {}", changed.join(", ")),
            );
        }
    }

    /// Each service's privacy notice, as start-up publishes it: a new version where it differs.
    fn notices(&mut self) {
        let t = Topic::Notices;
        for s in &self.new.services {
            let people = Audience::People {
                service: s.id.clone(),
            };
            let new = match notice(self.new, &s.id) {
                Ok(n) => n,
                // A checked register makes every notice; were one missing, publishing would stop.
                Err(e) => {
                    self.push(
                        t,
                        Mark::Hazard,
                        format!(
                            "`{}`: its notice cannot be made ({}): start-up will stop",
                            s.id,
                            e.0.join("; ")
                        ),
                    );
                    continue;
                }
            };
            if self.old.service(&s.id).is_none() {
                self.push(
                    t,
                    Mark::Added,
                    format!(
                        "`{}`: its first notice is published at the next start",
                        s.id
                    ),
                );
                self.tell(
                    people,
                    "a new service: give its privacy notice to each person it takes on".to_owned(),
                );
                continue;
            }
            let parts = match notice(self.old, &s.id) {
                Ok(old) if old.markdown() == new.markdown() => continue,
                Ok(old) => notice_changes(&old, &new).join("; "),
                Err(_) => "all of it: it had none".to_owned(),
            };
            self.push(t, Mark::Changed, format!("`{}`: changes in {parts}", s.id));
            self.tell(
                people,
                format!("its privacy notice changes ({parts}): the new version is published at the next start"),
            );
        }
    }
}
