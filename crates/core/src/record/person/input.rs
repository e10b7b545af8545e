//! A person's details as a client gives them ([`PersonInput`]), parsed field by field into the
//! identifier types: every invalid field is reported by name, never by value.

use confidant_policy::Actor;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use uuid::Uuid;

use crate::field::{FieldGroups, FieldSpec, PersonField, ValueKind};
use crate::identifier::{
    DateOfBirth, EmailAddress, IdentifierError, NationalInsuranceNumber, NhsNumber, PersonName,
    PhoneNumber, Postcode, normalise_name_for_index,
};

use super::*;

/// A person's details as given by a client: catalogue field codes and their values. On create, names
/// are required and absent fields stay empty; on update, absent fields are unchanged and an empty
/// string clears an optional field. A code the catalogue does not have, or of a field group the
/// service does not collect, is refused.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct PersonInput(BTreeMap<String, String>);

impl fmt::Debug for PersonInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonInput({:?}, [redacted])", self.0.keys())
    }
}

impl PersonInput {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a field's raw value (builder style).
    pub fn with(mut self, field: PersonField, value: impl Into<String>) -> Self {
        self.set(field, value);
        self
    }

    pub fn set(&mut self, field: PersonField, value: impl Into<String>) {
        self.0.insert(field.code().to_owned(), value.into());
    }

    /// Sets a field by its code, as a form or API gives it (checked when the input is used).
    pub fn set_code(&mut self, code: &str, value: impl Into<String>) {
        self.0.insert(code.to_owned(), value.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The raw value given for a field, if any.
    pub fn get(&self, field: PersonField) -> Option<&str> {
        self.raw(field)
    }

    fn raw(&self, field: PersonField) -> Option<&str> {
        self.0.get(field.code()).map(String::as_str)
    }

    /// Codes given that are not in the catalogue.
    fn unknown(&self) -> impl Iterator<Item = &str> {
        self.0
            .keys()
            .map(String::as_str)
            .filter(|c| PersonField::from_code(c).is_none())
    }
}

/// Free text: at most `max` characters, no control characters (line breaks only if `multiline`),
/// and, unless empty, at least one visible character.
pub(crate) fn parse_text(
    field: &'static str,
    input: &str,
    max: usize,
    multiline: bool,
) -> Result<String, IdentifierError> {
    let text = input.trim();
    if text.chars().count() > max {
        return Err(IdentifierError::TooLong { field, max });
    }
    if text
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')))
    {
        return Err(IdentifierError::Invalid {
            field,
            reason: if multiline {
                "must not contain control characters"
            } else {
                "must be one line without control characters"
            },
        });
    }
    if !text.is_empty() && !crate::identifier::has_visible(text) {
        return Err(IdentifierError::Invalid {
            field,
            reason: crate::identifier::VISIBLE_REQUIRED,
        });
    }
    Ok(text.to_owned())
}

/// A value of a catalogue field of the generic kinds (line, text, date, choice).
pub(crate) fn parse_value(spec: &FieldSpec, input: &str) -> Result<String, IdentifierError> {
    match spec.kind {
        ValueKind::Line(max) => parse_text(spec.code, input, max, false),
        ValueKind::Text(max) => parse_text(spec.code, input, max, true),
        ValueKind::Date => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(input.trim(), &format)
                .map(|d| d.format(&format).unwrap_or_default())
                .map_err(|_| IdentifierError::Invalid {
                    field: spec.code,
                    reason: "must be a date as YYYY-MM-DD",
                })
        }
        ValueKind::Choice(options) => options
            .iter()
            .find(|(code, _)| *code == input.trim())
            .map(|(code, _)| (*code).to_owned())
            .ok_or(IdentifierError::Invalid {
                field: spec.code,
                reason: "is not one of the offered choices",
            }),
        ValueKind::Identifier | ValueKind::Document => Err(IdentifierError::Invalid {
            field: spec.code,
            reason: "cannot be set here",
        }),
    }
}

/// A postal address: free text, 1–300 characters, line breaks allowed, no other control characters.
fn parse_address(field: &'static str, input: &str) -> Result<String, IdentifierError> {
    parse_text(field, input, 300, true)
}

/// A parsed value in its canonical stored form, with its blind-index form where it has one.
pub(crate) struct Canonical {
    pub(crate) stored: String,
    pub(crate) index: Option<String>,
}

pub(super) fn parse_field(
    field: PersonField,
    raw: &str,
    today: time::Date,
) -> Result<Canonical, IdentifierError> {
    let plain = |stored: String| Canonical {
        stored,
        index: None,
    };
    Ok(match field {
        PersonField::GivenName | PersonField::FamilyName => {
            let name = PersonName::parse(field.code(), raw)?;
            Canonical {
                index: Some(normalise_name_for_index(&name)),
                stored: name.as_str().to_owned(),
            }
        }
        PersonField::DateOfBirth => plain(DateOfBirth::parse(raw, today)?.as_str().to_owned()),
        PersonField::Address => plain(parse_address(field.code(), raw)?),
        // Safe contact details are checked like the ordinary ones but never get a blind index: they
        // must not be findable from anywhere else.
        PersonField::SafePhone => plain(PhoneNumber::parse(raw)?.as_str().to_owned()),
        PersonField::SafeEmail => plain(EmailAddress::parse(raw)?.as_str().to_owned()),
        PersonField::SafeAddress
        | PersonField::SafeTimes
        | PersonField::Language
        | PersonField::Interpreter
        | PersonField::CommunicationNeeds
        | PersonField::Photo
        | PersonField::Gender
        | PersonField::RelationshipStatus
        | PersonField::SexualOrientation
        | PersonField::Ethnicity
        | PersonField::Religion
        | PersonField::Disabilities
        | PersonField::PhysicalHealth
        | PersonField::MentalHealth
        | PersonField::Pregnancy
        | PersonField::Convictions
        | PersonField::CriminalJusticeOrders
        | PersonField::OffenderManager
        | PersonField::EmploymentHistory
        | PersonField::Income
        | PersonField::HousingHistory
        | PersonField::Debts => plain(parse_value(&field.spec(), raw)?),
        PersonField::NhsNumber => {
            let v = NhsNumber::parse(raw)?;
            Canonical {
                stored: v.as_str().to_owned(),
                index: Some(v.normalised_for_index()),
            }
        }
        PersonField::NiNumber => {
            let v = NationalInsuranceNumber::parse(raw)?;
            Canonical {
                stored: v.as_str().to_owned(),
                index: Some(v.normalised_for_index()),
            }
        }
        PersonField::Postcode => {
            let v = Postcode::parse(raw)?;
            Canonical {
                stored: v.as_str().to_owned(),
                index: Some(v.normalised_for_index()),
            }
        }
        PersonField::Phone => {
            let v = PhoneNumber::parse(raw)?;
            Canonical {
                stored: v.as_str().to_owned(),
                index: Some(v.normalised_for_index()),
            }
        }
        PersonField::Email => {
            let v = EmailAddress::parse(raw)?;
            Canonical {
                stored: v.as_str().to_owned(),
                index: Some(v.normalised_for_index()),
            }
        }
    })
}

/// Who looks after a person a member of staff records: their team, and themselves if they are a
/// practitioner of the service.
pub(crate) fn first_carer(actor: &Actor, service_id: Uuid) -> (Option<Uuid>, Option<Uuid>) {
    match actor {
        Actor::Staff(me) if me.service_id == Some(service_id) => (
            me.team_id,
            (me.role == confidant_policy::Role::Practitioner).then_some(me.user_id),
        ),
        _ => (None, None),
    }
}

/// Parses one identity value of a person into its canonical form (with its index form).
pub(crate) fn canonical(
    field: PersonField,
    raw: &str,
    today: time::Date,
) -> Result<Canonical, IdentifierError> {
    parse_field(field, raw, today)
}

/// The requested changes, validated: `Some(value)` sets, `None` clears.
type Parsed = BTreeMap<PersonField, Option<Canonical>>;

pub(crate) fn parse_input(
    input: &PersonInput,
    today: time::Date,
    creating: bool,
    groups: &FieldGroups,
) -> Result<Parsed, Violations> {
    let mut parsed = Parsed::new();
    let mut violations = Vec::new();
    if input.unknown().next().is_some() {
        violations.push(Violation::new(
            "fields",
            "holds a field code the catalogue does not have",
        ));
    }
    for field in PersonField::ALL {
        let spec = field.spec();
        if input.raw(field).is_some() && !groups.contains(spec.group) {
            violations.push(Violation::new(
                spec.code,
                format!("{} is not collected by this service", spec.code),
            ));
            continue;
        }
        if spec.kind == ValueKind::Document && input.raw(field).is_some() {
            violations.push(Violation::new(
                spec.code,
                format!("{} is uploaded as a file, not set as a value", spec.code),
            ));
            continue;
        }
        let required = matches!(field, PersonField::GivenName | PersonField::FamilyName);
        match input.raw(field) {
            None if creating && required => violations.push(Violation::new(
                field.code(),
                format!("{} is required", field.code()),
            )),
            None => {}
            // An empty optional field clears it on update and is simply absent on create.
            Some(raw) if raw.trim().is_empty() && !required && !creating => {
                parsed.insert(field, None);
            }
            Some(raw) if raw.trim().is_empty() && !required => {}
            Some(raw) => match parse_field(field, raw, today) {
                Ok(c) => {
                    parsed.insert(field, Some(c));
                }
                Err(e) => violations.push(e.into()),
            },
        }
    }
    if violations.is_empty() {
        Ok(parsed)
    } else {
        Err(Violations(violations))
    }
}
