//! What the register gives each recipient, processor and consent purpose, read from the activities
//! that name them: a party may receive exactly the categories, under exactly the lawful bases, of
//! the activities that name it, and a consent purpose lets data go to exactly the recipients of the
//! activities that ask for it.

use std::collections::BTreeSet;

use crate::store::{Article9Condition, LawfulBasis, Schedule1Condition};

use super::{Activity, ConsentPurpose, Register};

/// The categories and lawful bases a recipient or processor may receive under.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Terms {
    /// Field group codes and `case_notes`, sorted.
    pub categories: Vec<String>,
    /// In the order the activities give them, each once.
    pub bases: Vec<LawfulBasis>,
}

/// One line of a service's consent form as the register makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentLine<'a> {
    pub purpose: &'a ConsentPurpose,
    /// The ids of the recipients and processors it lets data go to.
    pub recipients: Vec<&'a str>,
    /// Explicit consent (Art. 9(2)(a), or Schedule 1 para 29): what special category data, and a
    /// transfer outside the UK, need.
    pub explicit: bool,
}

fn explicit(a: &Activity) -> bool {
    a.article9.as_deref() == Some(Article9Condition::ExplicitConsent.code())
        || a.schedule1
            .iter()
            .any(|c| c == Schedule1Condition::Consent.code())
}

impl Register {
    pub fn consent_purpose(&self, id: &str) -> Option<&ConsentPurpose> {
        self.consent_purposes.iter().find(|p| p.id == id)
    }

    /// What the recipient or processor `party` (an id) may receive: the union over the activities
    /// that name it.
    pub fn terms_of(&self, party: &str) -> Terms {
        let mut categories = BTreeSet::new();
        let mut bases = Vec::new();
        for a in self.activities.iter().filter(|a| {
            a.recipients.iter().any(|r| r == party) || a.processors.iter().any(|p| p == party)
        }) {
            categories.extend(a.categories.iter().cloned());
            if let Some(b) = LawfulBasis::from_code(&a.basis)
                && !bases.contains(&b)
            {
                bases.push(b);
            }
        }
        Terms {
            categories: categories.into_iter().collect(),
            bases,
        }
    }

    /// The consent form of a service (by id): each purpose an activity of the service asks for, in
    /// the register's order.
    pub fn consent_form<'a>(&'a self, service: &str) -> Vec<ConsentLine<'a>> {
        self.consent_purposes
            .iter()
            .filter_map(|purpose| {
                let asking: Vec<&Activity> = self
                    .activities
                    .iter()
                    .filter(|a| a.services.iter().any(|s| s == service))
                    .filter(|a| a.consent_purpose.as_deref() == Some(purpose.id.as_str()))
                    .collect();
                if asking.is_empty() {
                    return None;
                }
                let mut recipients: Vec<&str> = Vec::new();
                for r in asking.iter().flat_map(|a| a.recipients.iter()) {
                    if !recipients.contains(&r.as_str()) {
                        recipients.push(r);
                    }
                }
                Some(ConsentLine {
                    purpose,
                    recipients,
                    explicit: asking.iter().any(|a| explicit(a)),
                })
            })
            .collect()
    }
}
