//! One form page for the record's many small forms (a person's field group, a related person, a
//! note, a plan, a referral…): fields described in Rust, rendered with GOV.UK Frontend markup by
//! `templates/record_form.html`, and the posted answers read back.
//!
//! Guarantees:
//! - Every control has a label (a `<legend>` for radios, checkboxes and dates), its hint and error
//!   tied to it with `aria-describedby`; the error summary links to the control's id, which is the
//!   field code with `_` written `-`.
//! - Error messages name the field by its catalogue label and never repeat the value given.
//! - A value a form echoes back is only ever the one just posted or the one stored, both escaped.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use confidant_core::field::{FieldSpec, PersonField, RecordKind, record_field};
use confidant_core::person::Violations;

use serde::Deserialize;

use super::{Chrome, error_for, render_status};
use crate::http::guard::Posted;

impl Posted for FormData {
    fn csrf(&self) -> &str {
        self.get("csrf")
    }
}

impl std::fmt::Debug for FormField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FormField({}, {}, [redacted])", self.kind, self.name)
    }
}

/// One control of a form. Its `Debug` names the control, never the value it holds.
#[derive(Clone, Default)]
pub struct FormField {
    /// A heading (`<h2>`) shown before the control: starts a part of a long form.
    pub heading: String,
    /// `input`, `textarea`, `radios`, `checkboxes`, `date` or `file`.
    pub kind: &'static str,
    pub id: String,
    pub name: String,
    pub label: String,
    pub hint: String,
    pub error: String,
    pub value: String,
    pub input_type: &'static str,
    pub classes: &'static str,
    pub inputmode: &'static str,
    /// Radios: (value, label).
    pub options: Vec<(String, String)>,
    /// Checkboxes: (name, label, checked); each posts `yes` when ticked.
    pub boxes: Vec<(String, String, bool)>,
    /// Date: day, month, year (posted as `<name>_day`, `<name>_month`, `<name>_year`).
    pub day: String,
    pub month: String,
    pub year: String,
    /// File: the `accept` attribute.
    pub accept: &'static str,
}

/// The id of a field's control: its code with `_` written `-` (what [`labelled_errors`] links to).
pub fn control_id(code: &str) -> String {
    code.replace('_', "-")
}

impl FormField {
    fn new(kind: &'static str, name: &str, label: &str) -> Self {
        Self {
            kind,
            id: control_id(name),
            name: name.to_owned(),
            label: label.to_owned(),
            input_type: "text",
            ..Self::default()
        }
    }

    pub fn input(name: &str, label: &str) -> Self {
        Self::new("input", name, label)
    }

    pub fn textarea(name: &str, label: &str) -> Self {
        Self::new("textarea", name, label)
    }

    pub fn radios(name: &str, label: &str, options: Vec<(String, String)>) -> Self {
        Self {
            options,
            ..Self::new("radios", name, label)
        }
    }

    pub fn checkboxes(name: &str, label: &str, boxes: Vec<(String, String, bool)>) -> Self {
        Self {
            boxes,
            ..Self::new("checkboxes", name, label)
        }
    }

    /// A date from its stored `YYYY-MM-DD` form (or empty).
    pub fn date(name: &str, label: &str, iso: &str) -> Self {
        let mut parts = iso.splitn(3, '-');
        let year = parts.next().unwrap_or_default().to_owned();
        let month = parts.next().unwrap_or_default().to_owned();
        let day = parts.next().unwrap_or_default().to_owned();
        Self {
            day,
            month,
            year,
            ..Self::new("date", name, label)
        }
    }

    pub fn file(name: &str, label: &str, accept: &'static str) -> Self {
        Self {
            accept,
            ..Self::new("file", name, label)
        }
    }

    pub fn hint(mut self, hint: &str) -> Self {
        self.hint = hint.to_owned();
        self
    }

    pub fn value(mut self, value: &str) -> Self {
        self.value = value.to_owned();
        self
    }

    pub fn heading(mut self, heading: &str) -> Self {
        self.heading = heading.to_owned();
        self
    }

    pub fn input_type(mut self, input_type: &'static str) -> Self {
        self.input_type = input_type;
        self
    }

    pub fn classes(mut self, classes: &'static str) -> Self {
        self.classes = classes;
        self
    }

    pub fn inputmode(mut self, inputmode: &'static str) -> Self {
        self.inputmode = inputmode;
        self
    }

    /// The `aria-describedby` of the control: its hint and error, if any.
    pub fn described_by(&self) -> String {
        let mut ids = Vec::new();
        if !self.hint.is_empty() {
            ids.push(format!("{}-hint", self.id));
        }
        if !self.error.is_empty() {
            ids.push(format!("{}-error", self.id));
        }
        ids.join(" ")
    }

    /// The id of a radio or checkbox: the first is the field's own (so the error summary focuses
    /// it), the others are numbered.
    pub fn item_id(&self, index: &usize) -> String {
        if *index == 1 {
            self.id.clone()
        } else {
            format!("{}-{index}", self.id)
        }
    }

    pub fn is_selected(&self, value: &str) -> bool {
        self.value == value
    }
}

/// A control for a catalogue field, by its kind: a line or text, a choice (radios, with "Not
/// recorded" to clear an optional one), a date, or an identifier with the input that suits it.
pub fn catalogue_control(spec: &FieldSpec, value: &str, required: bool) -> Option<FormField> {
    use confidant_core::field::ValueKind as V;
    let field = match spec.kind {
        V::Document => return None,
        V::Line(max) => FormField::input(spec.code, spec.label).classes(if max <= 60 {
            "govuk-input--width-20"
        } else {
            ""
        }),
        V::Text(_) => FormField::textarea(spec.code, spec.label),
        V::Date => FormField::date(spec.code, spec.label, value),
        V::Choice(options) => {
            let mut choices: Vec<(String, String)> = options
                .iter()
                .map(|(c, l)| ((*c).to_owned(), (*l).to_owned()))
                .collect();
            if !required {
                choices.push((String::new(), "Not recorded".to_owned()));
            }
            FormField::radios(spec.code, spec.label, choices)
        }
        V::Identifier => match spec.code {
            "date_of_birth" => {
                FormField::date(spec.code, spec.label, value).hint("For example, 27 3 1985")
            }
            "address" => FormField::textarea(spec.code, spec.label),
            "nhs_number" => FormField::input(spec.code, spec.label)
                .classes("govuk-input--width-10")
                .inputmode("numeric")
                .hint("10 digits, for example 943 476 5919"),
            "ni_number" => FormField::input(spec.code, spec.label)
                .classes("govuk-input--width-10")
                .hint("For example, QQ 12 34 56 C"),
            "postcode" => FormField::input(spec.code, spec.label).classes("govuk-input--width-10"),
            "phone" | "safe_phone" => FormField::input(spec.code, spec.label)
                .input_type("tel")
                .classes("govuk-input--width-20"),
            "email" | "safe_email" => FormField::input(spec.code, spec.label).input_type("email"),
            _ => FormField::input(spec.code, spec.label).classes("govuk-input--width-20"),
        },
    };
    Some(field.value(value))
}

/// What one posted control holds, as the core services take it: a date's three parts become
/// `YYYY-MM-DD` (empty when all three are), everything else is taken as typed.
pub fn posted_value(field: &FormField, form: &FormData) -> String {
    if field.kind == "date" {
        form.date(&field.name)
    } else {
        form.get(&field.name).to_owned()
    }
}

/// A form as posted: its fields in order (repeated names keep every value).
#[derive(Default, Deserialize)]
#[serde(transparent)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    /// The first value posted under `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// A checkbox is ticked.
    pub fn ticked(&self, name: &str) -> bool {
        !self.get(name).is_empty()
    }

    /// A date from its three parts as `YYYY-MM-DD`: "" when all are empty; otherwise numbers are
    /// padded (so `1 2 1985` reads as 1985-02-01) and anything else is passed on as given, for the
    /// core's parser to refuse by name.
    pub fn date(&self, name: &str) -> String {
        let day = self.get(&format!("{name}_day")).trim();
        let month = self.get(&format!("{name}_month")).trim();
        let year = self.get(&format!("{name}_year")).trim();
        if day.is_empty() && month.is_empty() && year.is_empty() {
            return String::new();
        }
        match (day.parse::<u8>(), month.parse::<u8>(), year.parse::<u16>()) {
            (Ok(d), Ok(m), Ok(y)) if year.len() == 4 => format!("{y:04}-{m:02}-{d:02}"),
            _ => format!("{year}-{month}-{day}"),
        }
    }
}

/// The label of a field code in a record kind's catalogue (or a person's), for messages.
pub fn label_of(kind: Option<RecordKind>, code: &str) -> Option<&'static str> {
    match kind {
        Some(kind) => record_field(kind, code).map(|f| f.label),
        None => PersonField::from_code(code).map(|f| f.spec().label),
    }
}

/// Field errors as (control id, message) pairs: the message names the field by its label (from
/// `label`, else its code in words) and never holds the value.
pub fn labelled_errors(
    v: &Violations,
    label: impl Fn(&str) -> Option<&'static str>,
) -> Vec<(String, String)> {
    v.0.iter()
        .map(|violation| {
            let code = violation.field;
            let name = label(code).map_or_else(|| code.replace('_', " "), str::to_owned);
            // "given_name is required" reads "Given name is required"; "is not…", "must…" are
            // about the field too; any other message is a sentence of its own.
            let mut message = match violation.message.strip_prefix(code) {
                Some(rest) => format!("{name} {}", rest.trim_start()),
                None if ["is ", "must ", "cannot ", "holds ", "has "]
                    .iter()
                    .any(|p| violation.message.starts_with(p)) =>
                {
                    format!("{name} {}", violation.message)
                }
                None => violation.message.clone(),
            };
            if let Some(first) = message.get(0..1) {
                message.replace_range(0..1, &first.to_uppercase());
            }
            (control_id(code), message)
        })
        .collect()
}

/// Puts the posted answers back in their controls, to show a form again with its errors.
pub fn refill(fields: &mut [FormField], form: &FormData) {
    for f in fields {
        match f.kind {
            "date" => {
                f.day = form.get(&format!("{}_day", f.name)).to_owned();
                f.month = form.get(&format!("{}_month", f.name)).to_owned();
                f.year = form.get(&format!("{}_year", f.name)).to_owned();
            }
            "checkboxes" => {
                for (name, _, checked) in &mut f.boxes {
                    *checked = form.ticked(name);
                }
            }
            "file" => {}
            // A password is never sent back in a page.
            _ if f.input_type == "password" => f.value.clear(),
            _ => f.value = form.get(&f.name).to_owned(),
        }
    }
}

/// Puts each error on its control.
pub fn attach_errors(fields: &mut [FormField], errors: &[(String, String)]) {
    for f in fields {
        f.error = error_for(errors, &f.id);
    }
}

/// Invalid input of a form page: shows the form again (400) with its answers and errors.
pub fn form_error(mut page: FormPage, form: &FormData, errors: Vec<(String, String)>) -> Response {
    refill(&mut page.fields, form);
    attach_errors(&mut page.fields, &errors);
    page.errors = errors;
    render_status(StatusCode::BAD_REQUEST, &page).unwrap_or_else(IntoResponse::into_response)
}

/// A notification banner above a form, announced when the page opens (`role="alert"`): a title, a
/// heading sentence, links each followed by a short detail, and a closing sentence.
#[derive(Debug, Clone, Default)]
pub struct Notice {
    pub title: String,
    pub heading: String,
    /// (href, link text, detail after it)
    pub links: Vec<(String, String, String)>,
    pub body: String,
}

/// A page with one form.
#[derive(Template)]
#[template(path = "record_form.html")]
pub struct FormPage {
    pub chrome: Chrome,
    pub csrf: String,
    pub caption: String,
    pub heading: String,
    pub back: String,
    pub intro: String,
    pub warning: String,
    pub notice: Option<Notice>,
    pub action: String,
    pub multipart: bool,
    pub submit: String,
    pub submit_classes: &'static str,
    pub fields: Vec<FormField>,
    pub errors: Vec<(String, String)>,
}

impl FormPage {
    /// A form page with `fields`, posting to `action`; errors go on their controls.
    pub fn new(
        chrome: Chrome,
        csrf: &str,
        heading: impl Into<String>,
        action: impl Into<String>,
        mut fields: Vec<FormField>,
        errors: Vec<(String, String)>,
    ) -> Self {
        attach_errors(&mut fields, &errors);
        Self {
            chrome,
            csrf: csrf.to_owned(),
            caption: String::new(),
            heading: heading.into(),
            back: String::new(),
            intro: String::new(),
            warning: String::new(),
            notice: None,
            action: action.into(),
            multipart: false,
            submit: "Save".to_owned(),
            submit_classes: "",
            fields,
            errors,
        }
    }

    pub fn caption(mut self, caption: impl Into<String>) -> Self {
        self.caption = caption.into();
        self
    }

    pub fn back(mut self, back: impl Into<String>) -> Self {
        self.back = back.into();
        self
    }

    pub fn intro(mut self, intro: impl Into<String>) -> Self {
        self.intro = intro.into();
        self
    }

    pub fn warning(mut self, warning: impl Into<String>) -> Self {
        self.warning = warning.into();
        self
    }

    pub fn notice(mut self, notice: Notice) -> Self {
        self.notice = Some(notice);
        self
    }

    pub fn submit(mut self, submit: impl Into<String>) -> Self {
        self.submit = submit.into();
        self
    }

    pub fn submit_classes(mut self, classes: &'static str) -> Self {
        self.submit_classes = classes;
        self
    }

    pub fn multipart(mut self) -> Self {
        self.multipart = true;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confidant_core::person::Violation;

    fn form(pairs: &[(&str, &str)]) -> FormData {
        FormData(
            pairs
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn a_date_is_read_from_its_three_parts() {
        let f = form(&[("d_day", "1"), ("d_month", "2"), ("d_year", "1985")]);
        assert_eq!(f.date("d"), "1985-02-01");
        assert_eq!(form(&[]).date("d"), "");
        // Not numbers: passed on for the core to refuse.
        let f = form(&[("d_day", "x"), ("d_month", "2"), ("d_year", "85")]);
        assert_eq!(f.date("d"), "85-2-x");
    }

    #[test]
    fn errors_name_the_field_by_its_label_never_its_code() {
        let v = Violations(vec![
            Violation::new(
                "date_of_birth",
                "date_of_birth is not valid: must not be in the future",
            ),
            Violation::new("given_name", "given_name is required"),
        ]);
        let errors = labelled_errors(&v, |c| label_of(None, c));
        assert_eq!(
            errors,
            vec![
                (
                    "date-of-birth".to_owned(),
                    "Date of birth is not valid: must not be in the future".to_owned()
                ),
                ("given-name".to_owned(), "Given name is required".to_owned()),
            ]
        );
    }
}
