//! The register as the Article 30 record: one row per activity and service, for the Data
//! Protection Officer's page and as CSV (RFC 4180). Every cell is the register's own words or a
//! code's label.

use std::fmt::Write as _;

use crate::register::{Contact, Organisation, Register, RetentionRule, Service};
use crate::store::{Article9Condition, LawfulBasis, Schedule1Condition};

use super::group_label;

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
                dpo_cell(org),
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
                    .map(|r| retention_cell(register, r))
                    .unwrap_or_default(),
                a.security.join("; "),
                a.source.clone().unwrap_or_default(),
            ]);
        }
    }
    rows
}

/// The time limit for erasure (Art. 30(1)(f)): the rule's records, period from its trigger,
/// destruction and source.
fn retention_cell(register: &Register, r: &RetentionRule) -> String {
    let mut cell = format!(
        "{}: {} after {}; {}",
        r.records,
        r.period,
        r.trigger_words(),
        r.destruction
    );
    if let Some(d) = register.retention_source(r) {
        let _ = write!(cell, "; source: {} v{}", d.title, d.version);
    }
    cell
}

/// The DPO's cell: Article 30(1)(a) asks for the DPO's contact details where there is one; an
/// organisation without one says so, and names its data manager.
fn dpo_cell(org: &Organisation) -> String {
    match (&org.dpo, &org.data_manager) {
        (Some(dpo), _) => contact_cell(dpo),
        (None, Some(manager)) => {
            format!("None appointed (data manager: {})", contact_cell(manager))
        }
        (None, None) => "None appointed".to_owned(),
    }
}

fn contact_cell(c: &Contact) -> String {
    let mut cell = format!("{} <{}>", c.name, c.email);
    if let Some(phone) = &c.phone {
        cell.push_str(", ");
        cell.push_str(phone);
    }
    cell
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
