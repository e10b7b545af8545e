//! Randomised tests of core's parsers of outside input (issue 12, the route-wide proof): a person's
//! fields through the catalogue's value kinds, the fields of every other kind of record, field-group
//! codes, contact preferences and the content check of uploads.
//!
//! What they prove, for any input (arbitrary strings, near-misses built from each kind's own
//! alphabet, and valid values): no parser panics; an input is either accepted in a canonical form
//! that parses again to itself, or refused with violations that name catalogue fields and never
//! repeat the value sent. The identifiers' own properties are in `identifier.rs`; the register's
//! TOML is tested in `tests/register_examples.rs`.
//!
//! Case counts are modest so the suite stays fast, and failures are not persisted to files: a case
//! a run finds is added below as a plain regression test instead.

use std::collections::BTreeMap;

use proptest::prelude::*;
use time::macros::date;

use crate::contact::{PreferencesInput, parse_preferences};
use crate::document::{ALLOWED_TYPES, detect_type};
use crate::field::{FieldGroup, FieldGroups, PersonField, RecordKind, record_fields};
use crate::identifier::IdentifierError;
use crate::person::{PersonInput, Violations, parse_input};
use crate::record::{RecordInput, no_identifiers, parse_record};

const TODAY: time::Date = date!(2026 - 11 - 22);

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Any string, or one made from what the parsers look at (digits, letters, separators, controls,
/// bidirectional overrides, zero-width and multi-byte characters), so near-misses are common.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9A-Za-z @+()./'\\-_:\n\r\t\u{0}\u{7f}é\u{202E}\u{200B}\u{2028}ß😀]{0,24}",
        // Around the length limits (a line of 200, a text of 20,000 characters...).
        (0usize..3, 0usize..21_000).prop_map(|(c, n)| ["a", "é", "\n"][c].repeat(n)),
    ]
}

/// A field code: usually one of the catalogue's, sometimes not.
fn code(known: Vec<&'static str>) -> impl Strategy<Value = String> {
    prop_oneof![
        9 => proptest::sample::select(known).prop_map(str::to_owned),
        1 => "[a-z_]{0,12}",
    ]
}

fn person_codes() -> Vec<&'static str> {
    PersonField::ALL.iter().map(|f| f.code()).collect()
}

fn groups() -> impl Strategy<Value = FieldGroups> {
    proptest::sample::subsequence(FieldGroup::ALL.to_vec(), 0..=FieldGroup::ALL.len())
        .prop_map(FieldGroups::new)
}

/// Every violation names a field code and never holds a value sent (checked for values long enough
/// not to occur in the fixed messages by chance).
fn check_violations(
    violations: &Violations,
    sent: &BTreeMap<String, String>,
) -> Result<(), TestCaseError> {
    prop_assert!(!violations.0.is_empty());
    for v in &violations.0 {
        prop_assert!(!v.field.is_empty());
        for value in sent.values() {
            let value = value.trim();
            if value.chars().count() >= 8 {
                prop_assert!(
                    !v.message.contains(value),
                    "a violation of {} repeats the value sent",
                    v.field
                );
            }
        }
    }
    Ok(())
}

/// Each identifier parser: its canonical form (or the error's text) for one input.
fn identifiers(input: &str) -> [(&'static str, Result<String, IdentifierError>); 8] {
    use crate::identifier::*;
    [
        ("nhs_number", NhsNumber::parse(input).map(String::from)),
        (
            "ni_number",
            NationalInsuranceNumber::parse(input).map(String::from),
        ),
        ("postcode", Postcode::parse(input).map(String::from)),
        (
            "date_of_birth",
            DateOfBirth::parse(input, TODAY).map(String::from),
        ),
        (
            "given_name",
            PersonName::parse("given_name", input).map(String::from),
        ),
        ("phone", PhoneNumber::parse(input).map(String::from)),
        ("email", EmailAddress::parse(input).map(String::from)),
        (
            "nhs_number",
            NhsNumber::with_check_digit(input)
                .map(String::from)
                .ok_or(IdentifierError::Empty {
                    field: "nhs_number",
                }),
        ),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn an_identifier_is_accepted_in_a_canonical_form_or_refused_naming_only_its_field(
        input in value(),
    ) {
        for (field, result) in identifiers(&input) {
            match result {
                Ok(canonical) => {
                    let again = identifiers(&canonical)
                        .into_iter()
                        .find(|(f, r)| *f == field && r.is_ok())
                        .map(|(_, r)| r);
                    prop_assert_eq!(again, Some(Ok(canonical.clone())), "{} is not a fixed point", field);
                }
                Err(error) => {
                    prop_assert_eq!(error.field(), field);
                    let trimmed = input.trim();
                    if trimmed.chars().count() >= 8 {
                        prop_assert!(!error.to_string().contains(trimmed));
                    }
                }
            }
        }
    }

    #[test]
    fn person_input_is_parsed_to_a_canonical_form_or_refused_by_field_name(
        fields in proptest::collection::btree_map(code(person_codes()), value(), 0..8),
        groups in groups(),
        creating in any::<bool>(),
    ) {
        let mut input = PersonInput::new();
        for (c, v) in &fields {
            input.set_code(c, v.clone());
        }
        match parse_input(&input, TODAY, creating, &groups) {
            Ok(parsed) => {
                for (field, canonical) in parsed {
                    prop_assert!(fields.contains_key(field.code()));
                    prop_assert!(groups.contains(field.spec().group));
                    if let Some(c) = canonical {
                        // The stored form is a fixed point: reading it back in gives it again.
                        let again = crate::person::canonical(field, &c.stored, TODAY);
                        prop_assert_eq!(again.map(|a| a.stored).ok(), Some(c.stored.clone()));
                    }
                }
            }
            Err(violations) => check_violations(&violations, &fields)?,
        }
    }

    #[test]
    fn every_kind_of_record_input_is_parsed_by_the_catalogue_or_refused_by_field_name(
        kind in proptest::sample::select(RecordKind::ALL.to_vec()),
        seed in proptest::collection::vec((any::<proptest::sample::Index>(), value()), 0..6),
        unknown in proptest::option::of("[a-z_]{1,12}"),
    ) {
        let codes: Vec<&'static str> = record_fields(kind).map(|s| s.code).collect();
        let mut raw = BTreeMap::new();
        for (index, v) in seed {
            if !codes.is_empty() {
                raw.insert(index.get(&codes).to_string(), v);
            }
        }
        if let Some(u) = unknown {
            raw.insert(u, "x".to_owned());
        }
        let input = RecordInput(raw.clone());
        match parse_record(kind, &input, &[], &no_identifiers) {
            Ok(parsed) => {
                for (code, value) in parsed {
                    prop_assert!(raw.contains_key(code));
                    if let Some(v) = value {
                        let again = parse_record(kind, &RecordInput::new().with(code, v.clone()), &[], &no_identifiers);
                        prop_assert_eq!(again.ok().and_then(|p| p.get(code).cloned().flatten()), Some(v));
                    }
                }
            }
            Err(violations) => check_violations(&violations, &raw)?,
        }
    }

    #[test]
    fn field_group_codes_parse_or_name_the_unknown_one(codes in "[a-z_, ]{0,40}") {
        match FieldGroups::parse(&codes) {
            Ok(groups) => {
                let again = FieldGroups::parse(&groups.codes());
                prop_assert_eq!(again, Ok(groups));
            }
            Err(unknown) => prop_assert!(codes.contains(&unknown)),
        }
    }

    #[test]
    fn contact_preferences_are_parsed_or_refused_without_their_values(
        channels in proptest::collection::btree_map(
            prop_oneof!["letter|video|phone|home_visit|email|text", "[a-z]{0,8}"],
            prop_oneof!["allowed|refused| allowed ", value()],
            0..7,
        ),
        code_word in proptest::option::of(value()),
    ) {
        let input = PreferencesInput {
            channels: channels.clone(),
            no_voicemail: false,
            code_word: code_word.clone(),
            ..PreferencesInput::default()
        };
        match parse_preferences(&input) {
            Ok(parsed) => {
                prop_assert_eq!(parsed.channels.len(), channels.len());
                if let Some(w) = parsed.code_word {
                    prop_assert!(!w.is_empty() && w.chars().count() <= 50);
                    prop_assert!(!w.chars().any(char::is_control));
                }
            }
            Err(violations) => {
                let mut sent = channels;
                sent.extend(code_word.map(|w| ("code_word".to_owned(), w)));
                check_violations(&violations, &sent)?;
            }
        }
    }
}

/// A valid start of each binary type, to mutate.
const SIGNATURES: [&[u8]; 4] = [
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01",
    b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01",
    b"PK\x03\x04\x14\0\x06\0\x08\0\0\0!\0",
];

fn content() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        (
            proptest::sample::select(SIGNATURES.to_vec()),
            proptest::collection::vec(any::<u8>(), 0..256),
            any::<proptest::sample::Index>(),
            any::<u8>(),
        )
            .prop_map(|(start, tail, at, byte)| {
                let mut bytes = start.to_vec();
                bytes.extend(tail);
                let i = at.index(bytes.len());
                bytes[i] = byte;
                bytes
            }),
        value().prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn an_uploads_type_is_one_of_the_allowed_ones_judged_by_its_content_or_none(
        bytes in content(),
    ) {
        let Some(found) = detect_type(&bytes) else {
            return Ok(());
        };
        prop_assert!(ALLOWED_TYPES.contains(found));
        match found.media_type {
            "text/plain" => {
                let text = std::str::from_utf8(&bytes);
                prop_assert!(text.is_ok());
                prop_assert!(text.unwrap_or_default().chars().all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t')));
            }
            "image/png" => prop_assert!(bytes.starts_with(b"\x89PNG")),
            "image/jpeg" => prop_assert!(bytes.starts_with(b"\xff\xd8\xff")),
            "application/pdf" => prop_assert!(bytes.starts_with(b"%PDF")),
            _ => prop_assert!(bytes.starts_with(b"PK")),
        }
    }
}
