//! The supplementary information an access request's answer carries (UK GDPR Art. 15(1)(a) to
//! (h)), generated from the register through the service's privacy notice: why the data is used
//! and what kinds, who receives it (and whether it goes outside the UK), how long it is kept, the
//! person's rights, how to complain, where it came from, and that no decision is made without a
//! person. A part the register cannot supply stops the answer: it is never left out in silence.

use crate::notice::{NO_AUTOMATED_DECISIONS, Notice, notice};
use crate::register::Register;

/// One part of the supplementary information: the letters of Art. 15(1) it answers, a heading,
/// and its text as the notice says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupplementaryPart {
    pub article: &'static str,
    pub heading: String,
    pub paragraphs: Vec<String>,
    pub items: Vec<String>,
}

/// Which notice section answers which letter of Art. 15(1).
const FROM_NOTICE: [(&str, &str); 7] = [
    ("Art. 15(1)(a), (b)", "What we use and why"),
    ("Art. 15(1)(c)", "Who we share it with, and when"),
    ("Art. 15(2)", "Outside the UK"),
    ("Art. 15(1)(d)", "How long we keep it"),
    ("Art. 15(1)(e)", "Your rights"),
    ("Art. 15(1)(f)", "How to complain"),
    ("Art. 15(1)(g)", "Where your information comes from"),
];

/// The supplementary information of the service `service_code` in the register, or what it lacks.
pub fn supplementary(
    register: &Register,
    service_code: &str,
) -> Result<Vec<SupplementaryPart>, Vec<String>> {
    let notice: Notice = notice(register, service_code).map_err(|e| e.0)?;
    let mut parts = Vec::new();
    let mut missing = Vec::new();
    for (article, heading) in FROM_NOTICE {
        match notice.sections.iter().find(|s| s.heading == heading) {
            Some(s) if !(s.paragraphs.is_empty() && s.items.is_empty()) => {
                parts.push(SupplementaryPart {
                    article,
                    heading: s.heading.clone(),
                    paragraphs: s.paragraphs.clone(),
                    items: s.items.clone(),
                });
            }
            _ => missing.push(format!("the notice has nothing for {article} ({heading})")),
        }
    }
    parts.push(SupplementaryPart {
        article: "Art. 15(1)(h)",
        heading: "Decisions made without a person".to_owned(),
        paragraphs: vec![NO_AUTOMATED_DECISIONS.to_owned()],
        items: Vec::new(),
    });
    if missing.is_empty() {
        Ok(parts)
    } else {
        Err(missing)
    }
}
