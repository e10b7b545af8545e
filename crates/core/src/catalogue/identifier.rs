//! Parse, don't validate: newtypes for a person's identity fields.
//!
//! A value of any type here can only be made by its `parse` function (or, for
//! [`NhsNumber`], by computing its check digit), so holding one proves the
//! input met its rule and is held in one canonical form: an invalid NHS
//! number, NINO, postcode, date of birth, name, phone number or email address
//! cannot exist past the edge of the system.
//!
//! These are personal data, so nothing here reveals a value by accident:
//! `Debug` prints `TypeName([redacted])`, there is no `Display`, and an
//! [`IdentifierError`] names the field and the rule broken but never contains
//! the input.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Date, Month};

/// Why an input was refused. Holds only static text, never the input, so it is
/// safe to log and to return in an error body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("{field} is required")]
    Empty { field: &'static str },
    #[error("{field} is too long (at most {max} characters)")]
    TooLong { field: &'static str, max: usize },
    #[error("{field} is not valid: {reason}")]
    Invalid {
        field: &'static str,
        reason: &'static str,
    },
}

impl IdentifierError {
    /// The API field name the error refers to.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Empty { field } | Self::TooLong { field, .. } | Self::Invalid { field, .. } => {
                field
            }
        }
    }
}

fn invalid(field: &'static str, reason: &'static str) -> IdentifierError {
    IdentifierError::Invalid { field, reason }
}

/// Trims the input and refuses it when nothing is left: every parser starts here.
fn required<'a>(field: &'static str, input: &'a str) -> Result<&'a str, IdentifierError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        Err(IdentifierError::Empty { field })
    } else {
        Ok(trimmed)
    }
}

/// What every type shares: a redacted `Debug`, and conversion to the canonical
/// string that `Serialize` uses. With `try_from`, also the `TryFrom<String>`
/// through `parse` that `Deserialize` uses.
macro_rules! identifier_common {
    ($name:ident) => {
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // Personal data: a value must never reach a log through `{:?}`.
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.as_str().to_owned()
            }
        }
    };
    ($name:ident, try_from) => {
        identifier_common!($name);

        impl TryFrom<String> for $name {
            type Error = IdentifierError;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }
    };
}

/// An NHS number: ten digits, the last a valid modulus 11 check digit.
/// Stored as the ten digits without separators.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NhsNumber(String);

identifier_common!(NhsNumber, try_from);

impl NhsNumber {
    const FIELD: &'static str = "nhs_number";

    /// Accepts spaces and hyphens as separators ("943 476 5919", "943-476-5919").
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        let trimmed = required(Self::FIELD, input)?;
        let digits: String = trimmed
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect();
        if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(Self::FIELD, "must be 10 digits"));
        }
        let (payload, check) = digits.as_bytes().split_at(9);
        match nhs_check_digit(payload) {
            Some(expected) if check[0] == b'0' + expected => Ok(Self(digits)),
            _ => Err(invalid(Self::FIELD, "check digit does not match")),
        }
    }

    /// Completes nine digits with their check digit; `None` when the input is not
    /// nine digits or the check would be 10 (such numbers are never issued).
    pub fn with_check_digit(first_nine: &str) -> Option<Self> {
        let payload = first_nine.as_bytes();
        if payload.len() != 9 || !payload.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let check = nhs_check_digit(payload)?;
        Some(Self(format!("{first_nine}{check}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn normalised_for_index(&self) -> String {
        self.0.clone()
    }
}

/// The modulus 11 check digit of nine ASCII digits (weights 10 down to 2), or
/// `None` when it computes to 10, which makes the number invalid.
fn nhs_check_digit(payload: &[u8]) -> Option<u8> {
    let sum: u32 = payload
        .iter()
        .zip((2..=10).rev())
        .map(|(digit, weight)| u32::from(digit - b'0') * weight)
        .sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        check => u8::try_from(check).ok(),
    }
}

/// A National Insurance number, stored as "AB123456C".
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NationalInsuranceNumber(String);

identifier_common!(NationalInsuranceNumber, try_from);

/// Prefixes never allocated (BG .. ZZ), then administrative prefixes that do not
/// identify a person (OO, CR, FY, MW, NC).
const NINO_REFUSED_PREFIXES: [&str; 12] = [
    "BG", "GB", "KN", "NK", "NT", "TN", "ZZ", "OO", "CR", "FY", "MW", "NC",
];

impl NationalInsuranceNumber {
    const FIELD: &'static str = "ni_number";

    /// Ignores spaces and case ("ab 12 34 56 c").
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        let trimmed = required(Self::FIELD, input)?;
        let nino: String = trimmed
            .chars()
            .filter(|c| *c != ' ')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let b = nino.as_bytes();
        let well_formed = b.len() == 9
            && b[..2].iter().all(u8::is_ascii_uppercase)
            && b[2..8].iter().all(u8::is_ascii_digit)
            && (b'A'..=b'D').contains(&b[8]);
        if !well_formed {
            return Err(invalid(
                Self::FIELD,
                "must be two letters, six digits and a letter A to D",
            ));
        }
        if b"DFIQUV".contains(&b[0]) || b"DFIOQUV".contains(&b[1]) {
            return Err(invalid(Self::FIELD, "prefix contains a letter never used"));
        }
        if NINO_REFUSED_PREFIXES.contains(&&nino[..2]) {
            return Err(invalid(Self::FIELD, "prefix is not allocated to people"));
        }
        Ok(Self(nino))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn normalised_for_index(&self) -> String {
        self.0.clone()
    }
}

/// A UK postcode, stored upper case with one space before the inward code
/// ("SW1A 1AA").
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Postcode(String);

identifier_common!(Postcode, try_from);

impl Postcode {
    const FIELD: &'static str = "postcode";
    const MAX_INPUT_CHARS: usize = 10;

    /// Accepts any case, with or without the space ("sw1a1aa").
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        let trimmed = required(Self::FIELD, input)?;
        if trimmed.chars().count() > Self::MAX_INPUT_CHARS {
            return Err(IdentifierError::TooLong {
                field: Self::FIELD,
                max: Self::MAX_INPUT_CHARS,
            });
        }
        // ASCII only from here, so splitting at a byte index is safe.
        if !trimmed
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c.is_whitespace())
        {
            return Err(invalid(
                Self::FIELD,
                "may contain only letters, digits and a space",
            ));
        }
        let upper = trimmed.to_ascii_uppercase();
        // Whitespace is only meaningful as the gap before the inward code.
        let (outward, inward) = match upper.split_whitespace().collect::<Vec<_>>()[..] {
            [compact] if compact.len() > 3 => compact.split_at(compact.len() - 3),
            [outward, inward] => (outward, inward),
            _ => return Err(invalid(Self::FIELD, "is not a UK postcode")),
        };
        let is_girobank = outward == "GIR" && inward == "0AA";
        let is_standard = is_outward_code(outward) && is_inward_code(inward);
        if !(is_girobank || is_standard) {
            return Err(invalid(Self::FIELD, "is not a UK postcode"));
        }
        Ok(Self(format!("{outward} {inward}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn normalised_for_index(&self) -> String {
        self.0.clone()
    }
}

/// An upper-case alphanumeric code as a shape ("SW1A" -> "AANA"), so each
/// permitted format reads as the specification writes it.
fn shape(code: &str) -> String {
    code.chars()
        .map(|c| if c.is_ascii_digit() { 'N' } else { 'A' })
        .collect()
}

fn is_outward_code(code: &str) -> bool {
    let b = code.as_bytes();
    let first_ok = |c: u8| !b"QVX".contains(&c);
    let second_ok = |c: u8| !b"IJZ".contains(&c);
    match shape(code).as_str() {
        "AN" | "ANN" | "ANA" => first_ok(b[0]),
        "AAN" | "AANN" | "AANA" => first_ok(b[0]) && second_ok(b[1]),
        _ => false,
    }
}

fn is_inward_code(code: &str) -> bool {
    let b = code.as_bytes();
    shape(code) == "NAA" && !b"CIKMOV".contains(&b[1]) && !b"CIKMOV".contains(&b[2])
}

/// A date of birth: a real date, not before 1900-01-01 and not after today.
/// Stored with its canonical "YYYY-MM-DD" text.
///
/// No `Deserialize`: whether a date is valid depends on `today`, which a
/// deserializer cannot be given.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub struct DateOfBirth {
    date: Date,
    canonical: String,
}

identifier_common!(DateOfBirth);

impl DateOfBirth {
    const FIELD: &'static str = "date_of_birth";
    const EARLIEST: Date = time::macros::date!(1900 - 01 - 01);

    /// Accepts ISO "YYYY-MM-DD" only. `today` is a parameter rather than read from
    /// the clock so that the rule is deterministic and testable.
    pub fn parse(input: &str, today: Date) -> Result<Self, IdentifierError> {
        let trimmed = required(Self::FIELD, input)?;
        let date = parse_iso_date(trimmed).map_err(|reason| invalid(Self::FIELD, reason))?;
        if date > today {
            return Err(invalid(Self::FIELD, "must not be in the future"));
        }
        if date < Self::EARLIEST {
            return Err(invalid(Self::FIELD, "must not be before 1900-01-01"));
        }
        // The accepted shape is exactly the canonical one.
        Ok(Self {
            date,
            canonical: trimmed.to_owned(),
        })
    }

    pub fn date(&self) -> Date {
        self.date
    }

    pub fn as_str(&self) -> &str {
        &self.canonical
    }
}

fn parse_iso_date(text: &str) -> Result<Date, &'static str> {
    let b = text.as_bytes();
    let well_formed = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !well_formed {
        return Err("must be written YYYY-MM-DD");
    }
    // All ASCII digits, so the slices and the number parses cannot fail.
    let not_real = "is not a real calendar date";
    let year: i32 = text[0..4].parse().map_err(|_| not_real)?;
    let month: u8 = text[5..7].parse().map_err(|_| not_real)?;
    let day: u8 = text[8..10].parse().map_err(|_| not_real)?;
    let month = Month::try_from(month).map_err(|_| not_real)?;
    Date::from_calendar_date(year, month, day).map_err(|_| not_real)
}

/// A given or family name: trimmed, otherwise kept exactly as written.
///
/// No `Deserialize`: the error must name the field, which a deserializer cannot
/// be given.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub struct PersonName(String);

identifier_common!(PersonName);

impl PersonName {
    const MAX_CHARS: usize = 100;

    /// `field` is the API field name used in errors ("given_name", "family_name").
    pub fn parse(field: &'static str, input: &str) -> Result<Self, IdentifierError> {
        let trimmed = required(field, input)?;
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(IdentifierError::TooLong {
                field,
                max: Self::MAX_CHARS,
            });
        }
        if trimmed.chars().any(is_forbidden_in_name) {
            return Err(invalid(field, "must not contain control characters"));
        }
        if !has_visible(trimmed) {
            return Err(invalid(field, VISIBLE_REQUIRED));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Real names contain accents, apostrophes, hyphens, digits and every script, and
/// wrongly refusing someone's name is a harm, so only characters that corrupt how
/// a record reads are refused: controls, and the invisible bidirectional
/// overrides and line separators that reorder or break displayed text.
fn is_forbidden_in_name(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}'
        )
}

/// Why a text without a visible character is refused.
pub(crate) const VISIBLE_REQUIRED: &str = "must contain at least one visible letter or character";

/// Whether `text` holds at least one character that shows: a letter, digit, punctuation mark or
/// symbol. Text made only of spaces, zero-width characters (U+200B, U+200C, U+200D, U+2060,
/// U+FEFF, soft hyphens and other format characters), combining marks with nothing to combine
/// with, or the characters that draw as blank (Hangul fillers, the blank Braille pattern) shows
/// nothing, so as a name or a note it would be an invisible entry that reads as empty. Such
/// characters stay allowed inside text that also shows something (joiners are part of some
/// scripts' spelling).
pub(crate) fn has_visible(text: &str) -> bool {
    use unicode_properties::general_category::{GeneralCategoryGroup, UnicodeGeneralCategory};
    text.chars().any(|c| {
        matches!(
            c.general_category_group(),
            GeneralCategoryGroup::Letter
                | GeneralCategoryGroup::Number
                | GeneralCategoryGroup::Punctuation
                | GeneralCategoryGroup::Symbol
        ) && !matches!(
            c,
            '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{2800}'
        )
    })
}

/// Characters ignored when matching names, so "O'Brien", "O’Brien" and "OBrien"
/// find each other.
const NAME_CHARS_IGNORED_FOR_INDEX: [char; 4] = ['-', '\u{2010}', '\'', '\u{2019}'];

/// The form of a name a blind index is computed from: lower case, without
/// spaces, hyphens or apostrophes.
pub fn normalise_name_for_index(name: &PersonName) -> String {
    name.as_str()
        .chars()
        .filter(|c| !c.is_whitespace() && !NAME_CHARS_IGNORED_FOR_INDEX.contains(c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// A phone number: an optional leading '+' and 10 to 15 digits, stored without
/// presentation characters ("+447700900123", "07700900123").
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

identifier_common!(PhoneNumber, try_from);

impl PhoneNumber {
    const FIELD: &'static str = "phone";

    /// Ignores spaces, hyphens and parentheses ("+44 (0)7700 900-123").
    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        let trimmed = required(Self::FIELD, input)?;
        let stripped: String = trimmed
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        let digits = stripped.strip_prefix('+').unwrap_or(&stripped);
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                Self::FIELD,
                "may contain only digits and a leading +",
            ));
        }
        if !(10..=15).contains(&digits.len()) {
            return Err(invalid(Self::FIELD, "must have 10 to 15 digits"));
        }
        Ok(Self(stripped))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// International form, so a UK line matches however it was entered:
    /// "07700900123", "+447700900123", "00447700900123" and "+4407700900123"
    /// (from "+44 (0)7700 ...") all give "+447700900123".
    pub fn normalised_for_index(&self) -> String {
        let number = &self.0;
        let international = if let Some(rest) = number.strip_prefix("00") {
            format!("+{rest}")
        } else if let Some(rest) = number.strip_prefix('0') {
            format!("+44{rest}")
        } else {
            number.clone()
        };
        // The UK trunk 0 is never dialled after +44.
        match international.strip_prefix("+440") {
            Some(rest) => format!("+44{rest}"),
            None => international,
        }
    }
}

/// An email address, stored trimmed with its domain in lower case (the local
/// part may be case-sensitive, so it is kept as written).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

identifier_common!(EmailAddress, try_from);

impl EmailAddress {
    const FIELD: &'static str = "email";
    const MAX_CHARS: usize = 254;
    const MAX_LOCAL_CHARS: usize = 64;

    pub fn parse(input: &str) -> Result<Self, IdentifierError> {
        let trimmed = required(Self::FIELD, input)?;
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(IdentifierError::TooLong {
                field: Self::FIELD,
                max: Self::MAX_CHARS,
            });
        }
        if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid(Self::FIELD, "must not contain spaces"));
        }
        let (local, domain) = match trimmed.split_once('@') {
            Some((local, domain)) if !domain.contains('@') => (local, domain),
            _ => return Err(invalid(Self::FIELD, "must contain exactly one @")),
        };
        if local.is_empty() {
            return Err(invalid(Self::FIELD, "must have a name before the @"));
        }
        if local.chars().count() > Self::MAX_LOCAL_CHARS {
            return Err(invalid(
                Self::FIELD,
                "the part before the @ is too long (at most 64 characters)",
            ));
        }
        if !is_domain(domain) {
            return Err(invalid(
                Self::FIELD,
                "must end with a domain such as example.org",
            ));
        }
        Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn normalised_for_index(&self) -> String {
        self.0.to_lowercase()
    }
}

/// At least two dot-separated labels of ASCII letters, digits and hyphens, no
/// label empty or starting or ending with a hyphen.
fn is_domain(domain: &str) -> bool {
    domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_made_only_of_invisible_characters_is_refused() {
        for name in [
            "\u{200B}",
            "\u{200B}\u{200C}\u{200D}\u{2060}\u{FEFF}",
            "\u{00AD}\u{180E}",
            "\u{3164}\u{115F}\u{FFA0}",
            "\u{2800}",
            "\u{0301}\u{0308}",
            "\u{3000}\u{200B}\u{3000}",
        ] {
            assert!(!has_visible(name), "{name:?}");
            assert!(
                PersonName::parse("given_name", name).is_err(),
                "{name:?} accepted"
            );
        }
        // Joiners, accents and every script are kept when something shows.
        for name in [
            "Zoë",
            "O’Brien",
            "می\u{200C}خواهم",
            "क्\u{200D}ष",
            "李",
            "X Æ A-12",
        ] {
            assert!(has_visible(name), "{name:?}");
            assert!(PersonName::parse("given_name", name).is_ok(), "{name:?}");
        }
    }
    use proptest::prelude::*;
    use serde::de::IntoDeserializer;
    use time::macros::date;

    const TODAY: Date = date!(2024 - 06 - 15);

    fn is_invalid<T>(result: Result<T, IdentifierError>) -> bool {
        matches!(result, Err(IdentifierError::Invalid { .. }))
    }

    // --- NHS number ---

    #[test]
    fn nhs_number_with_a_correct_check_digit_is_accepted() {
        let nhs = NhsNumber::parse("9434765919").expect("valid");
        assert_eq!(nhs.as_str(), "9434765919");
        assert_eq!(nhs.normalised_for_index(), "9434765919");
    }

    #[test]
    fn nhs_number_with_spaces_is_stored_as_digits() {
        let nhs = NhsNumber::parse(" 943 476 5919 ").expect("valid");
        assert_eq!(nhs.as_str(), "9434765919");
    }

    #[test]
    fn nhs_number_with_hyphens_is_stored_as_digits() {
        let nhs = NhsNumber::parse("943-476-5919").expect("valid");
        assert_eq!(nhs.as_str(), "9434765919");
    }

    #[test]
    fn nhs_number_with_a_wrong_check_digit_is_refused() {
        assert!(is_invalid(NhsNumber::parse("9434765918")));
    }

    #[test]
    fn nhs_number_whose_check_computes_to_ten_is_refused_whatever_its_last_digit() {
        // 6 × 2 = 12; 12 mod 11 = 1; 11 − 1 = 10.
        for last in 0..=9 {
            assert!(is_invalid(NhsNumber::parse(&format!("000000006{last}"))));
        }
    }

    #[test]
    fn nhs_number_whose_check_computes_to_eleven_ends_in_zero() {
        // 2 × 10 + 1 × 2 = 22, a multiple of 11.
        assert!(NhsNumber::parse("2000000010").is_ok());
        assert!(is_invalid(NhsNumber::parse("2000000011")));
    }

    #[test]
    fn nhs_number_of_the_wrong_length_or_with_letters_is_refused() {
        for input in [
            "943476591",
            "94347659190",
            "943476591X",
            "943.476.5919",
            "９４３４７６５９１９",
        ] {
            assert!(is_invalid(NhsNumber::parse(input)), "{input}");
        }
    }

    #[test]
    fn blank_nhs_number_is_reported_as_required() {
        for input in ["", "   "] {
            assert_eq!(
                NhsNumber::parse(input),
                Err(IdentifierError::Empty {
                    field: "nhs_number"
                })
            );
        }
    }

    #[test]
    fn with_check_digit_appends_the_computed_digit() {
        let nhs = NhsNumber::with_check_digit("943476591").expect("check is not 10");
        assert_eq!(nhs.as_str(), "9434765919");
    }

    #[test]
    fn with_check_digit_returns_none_when_the_check_would_be_ten() {
        assert_eq!(NhsNumber::with_check_digit("000000006"), None);
    }

    #[test]
    fn with_check_digit_returns_none_for_anything_but_nine_digits() {
        for input in ["", "94347659", "9434765911", "94347659a", "94347659٣"] {
            assert_eq!(NhsNumber::with_check_digit(input), None, "{input}");
        }
    }

    // --- National Insurance number ---

    #[test]
    fn ni_number_with_spaces_and_lower_case_is_stored_compact_and_upper_case() {
        let nino = NationalInsuranceNumber::parse(" ab 12 34 56 c ").expect("valid");
        assert_eq!(nino.as_str(), "AB123456C");
        assert_eq!(nino.normalised_for_index(), "AB123456C");
    }

    #[test]
    fn ni_number_suffix_is_a_to_d() {
        for suffix in ['A', 'B', 'C', 'D'] {
            assert!(NationalInsuranceNumber::parse(&format!("AB123456{suffix}")).is_ok());
        }
        for suffix in ["E", "Z", "1", ""] {
            assert!(is_invalid(NationalInsuranceNumber::parse(&format!(
                "AB123456{suffix}"
            ))));
        }
    }

    #[test]
    fn ni_number_first_letter_is_never_d_f_i_q_u_or_v() {
        for first in ['D', 'F', 'I', 'Q', 'U', 'V'] {
            assert!(is_invalid(NationalInsuranceNumber::parse(&format!(
                "{first}A123456C"
            ))));
        }
        // The well-known example number starts with Q, so is not a real NINO.
        assert!(is_invalid(NationalInsuranceNumber::parse("QQ123456C")));
    }

    #[test]
    fn ni_number_second_letter_is_never_d_f_i_o_q_u_or_v() {
        for second in ['D', 'F', 'I', 'O', 'Q', 'U', 'V'] {
            assert!(is_invalid(NationalInsuranceNumber::parse(&format!(
                "A{second}123456C"
            ))));
        }
    }

    #[test]
    fn ni_number_with_an_unallocated_prefix_is_refused() {
        for prefix in ["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"] {
            assert!(is_invalid(NationalInsuranceNumber::parse(&format!(
                "{prefix}123456C"
            ))));
        }
    }

    #[test]
    fn ni_number_with_an_administrative_prefix_is_refused() {
        for prefix in ["OO", "CR", "FY", "MW", "NC"] {
            assert!(is_invalid(NationalInsuranceNumber::parse(&format!(
                "{prefix}123456C"
            ))));
        }
    }

    #[test]
    fn ni_number_prefixes_match_the_reference_pattern() {
        // Independent oracle: the character classes of the reference regex.
        let first_ok = |c: char| "ABCEGHJKLMNOPRSTWXYZ".contains(c);
        let second_ok = |c: char| "ABCEGHJKLMNPRSTWXYZ".contains(c);
        for first in 'A'..='Z' {
            for second in 'A'..='Z' {
                let prefix = format!("{first}{second}");
                let expected = first_ok(first)
                    && second_ok(second)
                    && !NINO_REFUSED_PREFIXES.contains(&prefix.as_str());
                let parsed = NationalInsuranceNumber::parse(&format!("{prefix}123456A"));
                assert_eq!(parsed.is_ok(), expected, "{prefix}");
            }
        }
    }

    #[test]
    fn ni_number_of_the_wrong_shape_is_refused() {
        for input in [
            "A1234567C",
            "AB12345C",
            "AB1234567C",
            "AB12345CC",
            "ÀB123456C",
        ] {
            assert!(is_invalid(NationalInsuranceNumber::parse(input)), "{input}");
        }
        assert_eq!(
            NationalInsuranceNumber::parse(" "),
            Err(IdentifierError::Empty { field: "ni_number" })
        );
    }

    // --- Postcode ---

    #[test]
    fn postcode_without_a_space_gets_one_before_the_inward_code() {
        let postcode = Postcode::parse("sw1a1aa").expect("valid");
        assert_eq!(postcode.as_str(), "SW1A 1AA");
        assert_eq!(postcode.normalised_for_index(), "SW1A 1AA");
    }

    #[test]
    fn postcode_whitespace_is_collapsed_to_one_space() {
        let postcode = Postcode::parse("  sw1a \t 1aa ").expect("valid");
        assert_eq!(postcode.as_str(), "SW1A 1AA");
    }

    #[test]
    fn postcode_in_every_outward_format_is_accepted() {
        // AN, ANN, AAN, AANN, ANA, AANA.
        for input in [
            "M1 1AA", "M60 1NW", "CR2 6XH", "DN55 1PT", "W1A 1HQ", "EC1A 1BB",
        ] {
            assert_eq!(Postcode::parse(input).expect(input).as_str(), input);
        }
    }

    #[test]
    fn girobank_postcode_is_accepted() {
        assert_eq!(
            Postcode::parse("gir0aa").expect("special case").as_str(),
            "GIR 0AA"
        );
    }

    #[test]
    fn postcode_first_letter_is_never_q_v_or_x() {
        for input in [
            "Q1 1AA", "V1A 1AA", "X11 1AA", "QA1 1AA", "VA1A 1AA", "XA11 1AA",
        ] {
            assert!(is_invalid(Postcode::parse(input)), "{input}");
        }
    }

    #[test]
    fn postcode_second_letter_is_never_i_j_or_z() {
        for input in ["AI1 1AA", "AJ11 1AA", "AZ1A 1AA"] {
            assert!(is_invalid(Postcode::parse(input)), "{input}");
        }
    }

    #[test]
    fn postcode_inward_letters_are_never_c_i_k_m_o_or_v() {
        for letter in ['C', 'I', 'K', 'M', 'O', 'V'] {
            assert!(is_invalid(Postcode::parse(&format!("SW1A 1{letter}A"))));
            assert!(is_invalid(Postcode::parse(&format!("SW1A 1A{letter}"))));
        }
    }

    #[test]
    fn postcode_longer_than_ten_characters_is_too_long() {
        assert!(Postcode::parse("SW1A    1AA").is_err_and(|e| e
            == IdentifierError::TooLong {
                field: "postcode",
                max: 10
            }));
        assert!(Postcode::parse(" SW1A   1AA ").is_ok());
    }

    #[test]
    fn postcode_with_a_space_in_the_wrong_place_is_refused() {
        for input in ["SW1 A1AA", "S W1A 1AA", "SW1A 1 AA", "SW1A1A A"] {
            assert!(is_invalid(Postcode::parse(input)), "{input}");
        }
    }

    #[test]
    fn postcode_of_any_other_shape_is_refused() {
        for input in [
            "SW1A",
            "1AA",
            "SWAA 1AA",
            "1W1A 1AA",
            "S1A1 1AA",
            "SW1A 1A1",
            "SW1A-1AA",
            "ŚW1A 1AA",
            "GIR 0AB",
        ] {
            assert!(is_invalid(Postcode::parse(input)), "{input}");
        }
    }

    // --- Date of birth ---

    #[test]
    fn date_of_birth_in_iso_form_is_accepted() {
        let dob = DateOfBirth::parse(" 1950-03-01 ", TODAY).expect("valid");
        assert_eq!(dob.as_str(), "1950-03-01");
        assert_eq!(dob.date(), date!(1950 - 03 - 01));
    }

    #[test]
    fn date_of_birth_of_today_is_accepted_but_tomorrow_is_refused() {
        assert!(DateOfBirth::parse("2024-06-15", TODAY).is_ok());
        assert!(is_invalid(DateOfBirth::parse("2024-06-16", TODAY)));
    }

    #[test]
    fn date_of_birth_before_1900_is_refused() {
        assert!(DateOfBirth::parse("1900-01-01", TODAY).is_ok());
        assert!(is_invalid(DateOfBirth::parse("1899-12-31", TODAY)));
    }

    #[test]
    fn date_of_birth_in_another_format_is_refused() {
        for input in [
            "01/03/1950",
            "1950-3-1",
            "19500301",
            "1950-03-01T00:00",
            "+1950-03-01",
            "1950/03/01",
            "195٠-03-01",
        ] {
            assert!(is_invalid(DateOfBirth::parse(input, TODAY)), "{input}");
        }
    }

    #[test]
    fn date_of_birth_that_does_not_exist_is_refused() {
        for input in [
            "2023-02-29",
            "1950-13-01",
            "1950-00-10",
            "1950-04-31",
            "1950-01-00",
        ] {
            assert!(is_invalid(DateOfBirth::parse(input, TODAY)), "{input}");
        }
        assert!(DateOfBirth::parse("2000-02-29", TODAY).is_ok());
    }

    #[test]
    fn blank_date_of_birth_is_reported_as_required() {
        assert_eq!(
            DateOfBirth::parse("", TODAY),
            Err(IdentifierError::Empty {
                field: "date_of_birth"
            })
        );
    }

    // --- Person name ---

    #[test]
    fn person_name_is_trimmed_but_otherwise_kept_as_written() {
        let name = PersonName::parse("family_name", "  de la Cruz-O'Brien ").expect("valid");
        assert_eq!(name.as_str(), "de la Cruz-O'Brien");
    }

    #[test]
    fn person_name_in_any_script_is_accepted() {
        for input in [
            "Siân",
            "Zoë",
            "Nguyễn",
            "O’Neill",
            "محمد",
            "李",
            "Ewan 2nd",
            "Mary-Jane",
        ] {
            assert_eq!(
                PersonName::parse("given_name", input)
                    .expect(input)
                    .as_str(),
                input
            );
        }
    }

    #[test]
    fn person_name_errors_use_the_given_field_name() {
        assert_eq!(
            PersonName::parse("family_name", " "),
            Err(IdentifierError::Empty {
                field: "family_name"
            })
        );
        let error = PersonName::parse("given_name", "A\u{0}").expect_err("control");
        assert_eq!(error.field(), "given_name");
    }

    #[test]
    fn person_name_length_is_counted_in_characters_up_to_100() {
        // 'é' is two bytes, so a byte count would refuse 100 of them.
        assert!(PersonName::parse("given_name", &"é".repeat(100)).is_ok());
        assert_eq!(
            PersonName::parse("given_name", &"é".repeat(101)),
            Err(IdentifierError::TooLong {
                field: "given_name",
                max: 100
            })
        );
    }

    #[test]
    fn person_name_with_control_or_bidirectional_override_characters_is_refused() {
        for input in [
            "Ann\nSmith",
            "Ann\tSmith",
            "Ann\u{7}",
            "Ann\u{9B}x",
            "Ann\u{202E}htimS",
            "Ann\u{2028}Smith",
        ] {
            assert!(
                is_invalid(PersonName::parse("given_name", input)),
                "{input:?}"
            );
        }
    }

    #[test]
    fn name_index_form_ignores_case_spaces_hyphens_and_apostrophes() {
        let forms = [
            "O'Brien-Smith",
            "o’brien smith",
            "OBRIENSMITH",
            " O Brien‐Smith",
        ];
        for input in forms {
            let name = PersonName::parse("family_name", input).expect(input);
            assert_eq!(normalise_name_for_index(&name), "obriensmith", "{input}");
        }
        let name = PersonName::parse("given_name", "Siân").expect("valid");
        assert_eq!(normalise_name_for_index(&name), "siân");
    }

    // --- Phone number ---

    #[test]
    fn phone_number_is_stored_without_spaces_hyphens_or_parentheses() {
        for (input, stored) in [
            ("07700 900123", "07700900123"),
            ("+44 7700 900123", "+447700900123"),
            ("(01632) 960-001", "01632960001"),
            ("+44 (0)7700 900123", "+4407700900123"),
        ] {
            assert_eq!(PhoneNumber::parse(input).expect(input).as_str(), stored);
        }
    }

    #[test]
    fn phone_number_has_10_to_15_digits() {
        assert!(PhoneNumber::parse("0770090012").is_ok());
        assert!(PhoneNumber::parse("+123456789012345").is_ok());
        for input in [
            "077009001",
            "+123456789",
            "1234567890123456",
            "+1234567890123456",
        ] {
            assert!(is_invalid(PhoneNumber::parse(input)), "{input}");
        }
    }

    #[test]
    fn phone_number_allows_plus_only_at_the_start_and_no_other_characters() {
        for input in [
            "07700+900123",
            "++447700900123",
            "07700 900123 ext 4",
            "07700.900.123",
            "+",
            "０7700900123",
        ] {
            assert!(is_invalid(PhoneNumber::parse(input)), "{input}");
        }
    }

    #[test]
    fn phone_number_index_form_is_the_same_however_a_uk_number_is_written() {
        for input in [
            "07700 900123",
            "+44 7700 900123",
            "0044 7700 900123",
            "+44 (0)7700 900123",
        ] {
            let phone = PhoneNumber::parse(input).expect(input);
            assert_eq!(phone.normalised_for_index(), "+447700900123", "{input}");
        }
        let foreign = PhoneNumber::parse("0033 1 23 45 67 89").expect("valid");
        assert_eq!(foreign.normalised_for_index(), "+33123456789");
    }

    // --- Email address ---

    #[test]
    fn email_domain_is_lower_cased_but_local_part_is_kept() {
        let email = EmailAddress::parse("  Jo.Bloggs@Example.ORG ").expect("valid");
        assert_eq!(email.as_str(), "Jo.Bloggs@example.org");
        assert_eq!(email.normalised_for_index(), "jo.bloggs@example.org");
    }

    #[test]
    fn email_needs_exactly_one_at() {
        for input in ["jo.example.org", "jo@@example.org", "jo@ex@ample.org"] {
            assert!(is_invalid(EmailAddress::parse(input)), "{input}");
        }
    }

    #[test]
    fn email_local_part_is_not_empty_and_at_most_64_characters() {
        assert!(is_invalid(EmailAddress::parse("@example.org")));
        assert!(EmailAddress::parse(&format!("{}@example.org", "a".repeat(64))).is_ok());
        assert!(is_invalid(EmailAddress::parse(&format!(
            "{}@example.org",
            "a".repeat(65)
        ))));
    }

    #[test]
    fn email_domain_has_a_dot_and_well_formed_labels() {
        assert!(EmailAddress::parse("jo@mail.ex-ample.co.uk").is_ok());
        for input in [
            "jo@localhost",
            "jo@",
            "jo@-example.org",
            "jo@example-.org",
            "jo@exa_mple.org",
            "jo@example..org",
            "jo@.example.org",
            "jo@example.org.",
            "jo@exämple.org",
        ] {
            assert!(is_invalid(EmailAddress::parse(input)), "{input}");
        }
    }

    #[test]
    fn email_with_whitespace_or_control_characters_is_refused() {
        for input in [
            "jo bloggs@example.org",
            "jo@exam ple.org",
            "jo@example.org\u{0}x",
            "jo\u{a0}@example.org",
        ] {
            assert!(is_invalid(EmailAddress::parse(input)), "{input:?}");
        }
    }

    #[test]
    fn email_of_more_than_254_characters_is_too_long() {
        let email =
            |domain_len: usize| format!("{}@{}.org", "a".repeat(64), "b".repeat(domain_len));
        assert!(EmailAddress::parse(&email(185)).is_ok());
        assert_eq!(
            EmailAddress::parse(&email(186)),
            Err(IdentifierError::TooLong {
                field: "email",
                max: 254
            })
        );
    }

    // --- Privacy and serde ---

    #[test]
    fn error_reports_its_field() {
        assert_eq!(IdentifierError::Empty { field: "email" }.field(), "email");
        assert_eq!(
            IdentifierError::TooLong {
                field: "postcode",
                max: 10
            }
            .field(),
            "postcode"
        );
        assert_eq!(invalid("phone", "x").field(), "phone");
    }

    #[test]
    fn errors_never_contain_the_input() {
        let long_name = "Bartholomew".repeat(10);
        let long_email = format!("{}@example.org", "secretperson".repeat(6));
        let cases: Vec<(&str, Result<(), IdentifierError>)> = vec![
            ("9434765918", NhsNumber::parse("9434765918").map(drop)),
            ("94347659", NhsNumber::parse("94347659").map(drop)),
            (
                "QQ123456C",
                NationalInsuranceNumber::parse("QQ123456C").map(drop),
            ),
            (
                "ZZ123456C",
                NationalInsuranceNumber::parse("ZZ123456C").map(drop),
            ),
            ("XX1 1ZZ", Postcode::parse("XX1 1ZZ").map(drop)),
            ("SW1AXXX1AA", Postcode::parse("SW1AXXX1AA1").map(drop)),
            (
                "1850-01-01",
                DateOfBirth::parse("1850-01-01", TODAY).map(drop),
            ),
            (
                "2099-01-01",
                DateOfBirth::parse("2099-01-01", TODAY).map(drop),
            ),
            (
                "Smithers",
                PersonName::parse("family_name", "Smithers\u{7}").map(drop),
            ),
            (
                &long_name,
                PersonName::parse("given_name", &long_name).map(drop),
            ),
            ("077009001", PhoneNumber::parse("077009001").map(drop)),
            (
                "jo.bloggs",
                EmailAddress::parse("jo.bloggs@@example.org").map(drop),
            ),
            ("secretperson", EmailAddress::parse(&long_email).map(drop)),
        ];
        for (secret, result) in cases {
            let error = result.expect_err(secret);
            assert!(!error.to_string().contains(secret), "{secret}");
            assert!(!format!("{error:?}").contains(secret), "{secret}");
        }
    }

    #[test]
    fn debug_never_shows_the_value() {
        let name = PersonName::parse("given_name", "Siân").expect("valid");
        let dob = DateOfBirth::parse("1950-03-01", TODAY).expect("valid");
        let values: [(String, &str); 7] = [
            (
                format!("{:?}", NhsNumber::parse("9434765919").expect("valid")),
                "NhsNumber",
            ),
            (
                format!(
                    "{:?}",
                    NationalInsuranceNumber::parse("AB123456C").expect("valid")
                ),
                "NationalInsuranceNumber",
            ),
            (
                format!("{:?}", Postcode::parse("SW1A 1AA").expect("valid")),
                "Postcode",
            ),
            (format!("{dob:?}"), "DateOfBirth"),
            (format!("{name:?}"), "PersonName"),
            (
                format!("{:?}", PhoneNumber::parse("07700900123").expect("valid")),
                "PhoneNumber",
            ),
            (
                format!(
                    "{:?}",
                    EmailAddress::parse("jo@example.org").expect("valid")
                ),
                "EmailAddress",
            ),
        ];
        for (debug, type_name) in values {
            assert_eq!(debug, format!("{type_name}([redacted])"));
        }
    }

    #[test]
    fn serialised_form_is_the_canonical_string() {
        let nhs = NhsNumber::parse("943 476 5919").expect("valid");
        assert_eq!(String::from(nhs), "9434765919");
        let dob = DateOfBirth::parse("1950-03-01", TODAY).expect("valid");
        assert_eq!(String::from(dob), "1950-03-01");
        let name = PersonName::parse("given_name", " Siân ").expect("valid");
        assert_eq!(String::from(name), "Siân");
    }

    #[test]
    fn deserialising_goes_through_parse_and_its_errors_hide_the_input() {
        type Error = serde::de::value::Error;
        let postcode = Postcode::deserialize("sw1a1aa".to_owned().into_deserializer())
            .map_err(|e: Error| e.to_string());
        assert_eq!(postcode.expect("valid").as_str(), "SW1A 1AA");

        let error = NhsNumber::deserialize("9434765918".to_owned().into_deserializer())
            .map_err(|e: Error| e.to_string())
            .expect_err("wrong check digit");
        assert!(error.contains("nhs_number"), "{error}");
        assert!(!error.contains("9434765918"), "{error}");

        let error = EmailAddress::deserialize("jo.bloggs".to_owned().into_deserializer())
            .map_err(|e: Error| e.to_string())
            .expect_err("no @");
        assert!(!error.contains("jo.bloggs"), "{error}");
    }

    // --- Properties ---

    fn valid_nhs_number() -> impl Strategy<Value = NhsNumber> {
        "[0-9]{9}".prop_filter_map("check digit would be 10", |nine| {
            NhsNumber::with_check_digit(&nine)
        })
    }

    proptest! {
        // Bounded so the suite stays fast; no regression files (a case found becomes a plain test).
        #![proptest_config(ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn with_check_digit_gives_none_or_a_number_that_round_trips(nine in "[0-9]{9}") {
            if let Some(nhs) = NhsNumber::with_check_digit(&nine) {
                prop_assert!(nhs.as_str().starts_with(&nine));
                prop_assert_eq!(NhsNumber::parse(nhs.as_str()), Ok(nhs.clone()));
            }
        }

        #[test]
        fn changing_any_single_digit_of_a_valid_nhs_number_makes_it_invalid(
            nhs in valid_nhs_number()
        ) {
            // Holds because the weights 1..=10 (the check digit's effective weight is
            // 1) are all non-zero mod the prime 11, so any one-digit change moves the
            // sum mod 11, and distinct sums give distinct check digits or 10.
            let digits = nhs.as_str().as_bytes();
            for position in 0..10 {
                for delta in 1..=9 {
                    let mut changed = digits.to_vec();
                    changed[position] = b'0' + (changed[position] - b'0' + delta) % 10;
                    let changed = String::from_utf8(changed).expect("ASCII digits");
                    prop_assert!(NhsNumber::parse(&changed).is_err(), "{}", changed);
                }
            }
        }

        #[test]
        fn postcode_parse_is_idempotent(input in "[A-Za-z]{1,2}[0-9][0-9A-Za-z]? {0,2}[0-9][A-Za-z]{2}") {
            if let Ok(postcode) = Postcode::parse(&input) {
                prop_assert_eq!(Postcode::parse(postcode.as_str()), Ok(postcode.clone()));
            }
        }

        #[test]
        fn no_parser_panics_on_any_string(input in any::<String>()) {
            let _ = NhsNumber::parse(&input);
            let _ = NhsNumber::with_check_digit(&input);
            let _ = NationalInsuranceNumber::parse(&input);
            let _ = Postcode::parse(&input);
            let _ = DateOfBirth::parse(&input, TODAY);
            let _ = PersonName::parse("given_name", &input);
            let _ = PhoneNumber::parse(&input);
            let _ = EmailAddress::parse(&input);
        }

        #[test]
        fn no_parser_panics_on_near_miss_strings(input in "[0-9A-Za-z @+()./'\\- é\u{202E}]{0,16}") {
            let _ = NhsNumber::parse(&input);
            let _ = NhsNumber::with_check_digit(&input);
            let _ = NationalInsuranceNumber::parse(&input);
            let _ = Postcode::parse(&input);
            let _ = DateOfBirth::parse(&input, TODAY);
            let _ = PersonName::parse("given_name", &input);
            let _ = PhoneNumber::parse(&input);
            let _ = EmailAddress::parse(&input);
        }
    }
}
