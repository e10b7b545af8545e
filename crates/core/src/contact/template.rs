//! The templates messages to a person come from (R17), and their checks: no name placeholders
//! (never a full name), no placeholder of a special-category or criminal-offence field, no urgent
//! wording and nothing marked urgent; the rendered text must contain neither the person's given nor
//! family name.

use crate::field::{Classification, PersonField, RECORD_FIELDS};
use crate::kernel::codes::codes;
use crate::person::{Violation, Violations};

/// Words that make a message urgent, or say more than a reminder should.
const URGENT_WORDS: [&str; 8] = [
    "urgent",
    "urgently",
    "emergency",
    "crisis",
    "immediately",
    "asap",
    "danger",
    "police",
];

/// The placeholders a template may use.
const PLACEHOLDERS: [&str; 3] = ["date", "time", "reference"];

codes!(
    /// The templates Confidant sends from.
    TemplateCode {
        AppointmentReminder = "appointment_reminder": "Appointment reminder",
        PleaseGetInTouch = "please_get_in_touch": "Please get in touch",
        /// A shared package to its recipient organisation (queued only by a share).
        SharedPackage = "shared_package": "Shared information",
    }
);

impl TemplateCode {
    /// The checked template.
    pub fn template(self) -> Template {
        let (subject, body) = match self {
            TemplateCode::AppointmentReminder => (
                "Appointment reminder",
                "Hello. This is a reminder of your appointment on {date} at {time}. \
                 Reply to this message if you need to change it.",
            ),
            TemplateCode::PleaseGetInTouch => (
                "Please get in touch",
                "Hello. Please get in touch with us when it suits you.",
            ),
            TemplateCode::SharedPackage => (
                "Information shared with you (disclosure {reference})",
                "Hello. Information has been shared with you under disclosure {reference}. \
                 It is attached: as a document to read where it could be made, and as JSON. \
                 Keep it only as long as you need it, and tell us if it reached you by mistake.",
            ),
        };
        Template {
            code: self,
            subject,
            body,
        }
    }
}

/// A template that passed the checks. Only [`Template::new`] (which checks) and the built-in set
/// (checked by a test through the same function) make one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub code: TemplateCode,
    pub subject: &'static str,
    pub body: &'static str,
}

impl Template {
    /// Checks a template's text: placeholders only from the allowed set (never a name, never a
    /// special-category or criminal-offence field), no urgent wording, not marked urgent.
    pub fn new(
        code: TemplateCode,
        subject: &'static str,
        body: &'static str,
        marked_urgent: bool,
    ) -> Result<Template, Violations> {
        let mut violations = check_text(subject, body);
        if marked_urgent {
            violations.push(Violation::new(
                "template",
                "a message may not be marked urgent",
            ));
        }
        if violations.is_empty() {
            Ok(Template {
                code,
                subject,
                body,
            })
        } else {
            Err(Violations(violations))
        }
    }

    /// Fills the placeholders and checks the result again, against the person's names too.
    pub fn render(
        &self,
        values: &[(&str, String)],
        names: &[&str],
    ) -> Result<(String, String), Violations> {
        let fill = |text: &str| {
            let mut out = text.to_owned();
            for (name, value) in values {
                out = out.replace(&format!("{{{name}}}"), value);
            }
            out
        };
        let (subject, body) = (fill(self.subject), fill(self.body));
        let mut violations = check_text(&subject, &body);
        if placeholders(&subject)
            .chain(placeholders(&body))
            .next()
            .is_some()
        {
            violations.push(Violation::new(
                "template",
                "a placeholder of the template has no value",
            ));
        }
        let text: Vec<String> = words(&subject).chain(words(&body)).collect();
        let named = names.iter().any(|name| {
            let name_words: Vec<String> = words(name).collect();
            !name_words.is_empty()
                && text
                    .windows(name_words.len())
                    .any(|w| w == name_words.as_slice())
        });
        if named {
            violations.push(Violation::new(
                "template",
                "the message would contain the person's name",
            ));
        }
        if violations.is_empty() {
            Ok((subject, body))
        } else {
            Err(Violations(violations))
        }
    }
}

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// The `{name}` placeholders of a text.
fn placeholders(text: &str) -> impl Iterator<Item = &str> {
    text.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.trim()))
}

/// Whether a catalogue field code is special-category or criminal-offence data.
fn is_sensitive_field(code: &str) -> bool {
    let sensitive = |c: Classification| {
        matches!(
            c,
            Classification::SpecialCategory(_) | Classification::CriminalOffence
        )
    };
    PersonField::from_code(code).is_some_and(|f| sensitive(f.spec().classification))
        || RECORD_FIELDS
            .iter()
            .any(|s| s.code == code && sensitive(s.classification))
}

fn check_text(subject: &str, body: &str) -> Vec<Violation> {
    let mut violations = Vec::new();
    for name in placeholders(subject).chain(placeholders(body)) {
        let message = if matches!(
            name,
            "given_name" | "family_name" | "full_name" | "name" | "preferred_name"
        ) {
            "a template may not name the person (no name placeholders)".to_owned()
        } else if is_sensitive_field(name) {
            format!("a template may not hold special category or criminal offence data ({name})")
        } else if PLACEHOLDERS.contains(&name) {
            continue;
        } else {
            format!("unknown placeholder ({name}); allowed: date, time, reference")
        };
        violations.push(Violation::new("template", message));
    }
    if words(subject)
        .chain(words(body))
        .any(|w| URGENT_WORDS.contains(&w.as_str()))
    {
        violations.push(Violation::new(
            "template",
            "a message may not say or suggest anything urgent",
        ));
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(v: &Violations) -> Vec<&str> {
        v.0.iter().map(|v| v.message.as_str()).collect()
    }

    #[test]
    fn the_built_in_templates_pass_their_own_checks() {
        for code in TemplateCode::ALL {
            let t = code.template();
            assert_eq!(Template::new(code, t.subject, t.body, false), Ok(t));
        }
    }

    #[test]
    fn a_template_naming_the_person_is_refused() {
        let e = Template::new(
            TemplateCode::PleaseGetInTouch,
            "Hello",
            "Dear {given_name} {family_name}, please call.",
            false,
        )
        .expect_err("names");
        assert!(fields(&e).iter().all(|m| m.contains("name")), "{e:?}");
    }

    #[test]
    fn a_template_with_special_category_or_criminal_offence_fields_is_refused() {
        for field in ["mental_health", "convictions", "sexual_orientation"] {
            let body: &'static str = Box::leak(format!("About your {{{field}}}").into_boxed_str());
            let e = Template::new(TemplateCode::PleaseGetInTouch, "Hello", body, false)
                .expect_err("sensitive");
            assert!(fields(&e)[0].contains("special category"), "{field}");
        }
    }

    #[test]
    fn urgent_wording_or_an_urgent_mark_is_refused() {
        assert!(
            Template::new(
                TemplateCode::PleaseGetInTouch,
                "URGENT",
                "Please call",
                false
            )
            .is_err()
        );
        assert!(
            Template::new(
                TemplateCode::PleaseGetInTouch,
                "Hello",
                "This is an emergency.",
                false
            )
            .is_err()
        );
        assert!(
            Template::new(TemplateCode::PleaseGetInTouch, "Hello", "Please call", true).is_err()
        );
    }

    #[test]
    fn rendering_refuses_a_text_that_would_name_the_person() {
        let t = TemplateCode::AppointmentReminder.template();
        let ok = t.render(
            &[
                ("date", "Monday 23 November 2026".into()),
                ("time", "10:00".into()),
            ],
            &["Alice", "Smith"],
        );
        assert!(ok.is_ok());
        // A date string that happens to hold a name (say the person is called "Monday").
        let e = t
            .render(
                &[
                    ("date", "Monday 23 November 2026".into()),
                    ("time", "10:00".into()),
                ],
                &["Monday"],
            )
            .expect_err("named");
        assert!(fields(&e)[0].contains("name"));
        // A missing value is refused, not sent with the placeholder showing.
        assert!(t.render(&[], &["Alice"]).is_err());
    }
}
