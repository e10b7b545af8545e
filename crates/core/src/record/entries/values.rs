//! The values of a record's parts: a client's input checked against the catalogue, sealed with the
//! person's own key for its exact place, and opened again ([`Values`] prints none of them).

use confidant_crypto::{CryptoError, DataKey, FieldAddress};
use std::collections::BTreeMap;
use std::fmt;
use uuid::Uuid;

use crate::field::{RecordKind, ValueKind, record_field, record_fields};
use crate::person::{PersonError, Violation, Violations, parse_value};
use crate::store::SealedFields;

use super::*;

/// Opened values of a record (field code → value). Prints no values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Values(pub(super) BTreeMap<&'static str, String>);

impl Values {
    pub fn get(&self, code: &str) -> Option<&str> {
        self.0.get(code).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(k, v)| (*k, v.as_str()))
    }

    pub(crate) fn insert(&mut self, code: &'static str, value: String) {
        self.0.insert(code, value);
    }
}

impl fmt::Debug for Values {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Values({:?}, [redacted])", self.0.keys())
    }
}

/// Raw input for a record's fields, by catalogue code, as a form or the API gives it.
#[derive(Clone, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct RecordInput(pub BTreeMap<String, String>);

impl fmt::Debug for RecordInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordInput({:?}, [redacted])", self.0.keys())
    }
}

impl RecordInput {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, code: &str, value: impl Into<String>) -> Self {
        self.0.insert(code.to_owned(), value.into());
        self
    }
}

pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> PersonError {
    PersonError::Invalid(Violations(vec![Violation::new(field, message)]))
}

/// Checks input for one kind of record against the catalogue: unknown codes are refused, each value
/// is parsed by its kind, `required` codes must be present and not blank; a blank optional value is
/// left out (on update: removed). Every problem is reported, by field name only.
pub(crate) fn parse_record(
    kind: RecordKind,
    input: &RecordInput,
    required: &[&str],
    parse_identifier: &dyn Fn(&'static str, &str) -> Result<String, Violation>,
) -> Result<BTreeMap<&'static str, Option<String>>, Violations> {
    let mut parsed = BTreeMap::new();
    let mut violations = Vec::new();
    if input.0.keys().any(|c| record_field(kind, c).is_none()) {
        violations.push(Violation::new(
            "fields",
            "holds a field code the catalogue does not have for this record",
        ));
    }
    for spec in record_fields(kind) {
        let raw = input.0.get(spec.code).map(|s| s.trim());
        match raw {
            None | Some("") if required.contains(&spec.code) => {
                violations.push(Violation::new(
                    spec.code,
                    format!("{} is required", spec.code),
                ));
            }
            None => {}
            Some("") => {
                parsed.insert(spec.code, None);
            }
            Some(raw) => {
                let value = match spec.kind {
                    ValueKind::Identifier => parse_identifier(spec.code, raw),
                    _ => parse_value(spec, raw).map_err(Violation::from),
                };
                match value {
                    Ok(v) => {
                        parsed.insert(spec.code, Some(v));
                    }
                    Err(v) => violations.push(v),
                }
            }
        }
    }
    if violations.is_empty() {
        Ok(parsed)
    } else {
        Err(Violations(violations))
    }
}

/// Record kinds have no identifier-kind fields except referrals, which parse their own.
pub(crate) fn no_identifiers(field: &'static str, _: &str) -> Result<String, Violation> {
    Err(Violation::new(field, "cannot be set here"))
}

fn address<'a>(code: &'a str, row_id: &'a str, key_version: i64) -> FieldAddress<'a> {
    FieldAddress {
        table: RECORD_TABLE,
        column: code,
        row_id,
        key_version: u32::try_from(key_version).unwrap_or(u32::MAX),
    }
}

/// Seals values for one record.
pub(crate) fn seal_values<'a>(
    key: &DataKey,
    record_id: Uuid,
    key_version: i64,
    values: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> SealedFields {
    let row_id = record_id.to_string();
    values
        .into_iter()
        .map(|(code, value)| {
            (
                code.to_owned(),
                key.seal(&address(code, &row_id, key_version), value.as_bytes()),
            )
        })
        .collect()
}

/// Opens one sealed value of a record.
pub(crate) fn open_value(
    key: &DataKey,
    record_id: Uuid,
    key_version: i64,
    code: &str,
    sealed: &[u8],
) -> Result<String, CryptoError> {
    let plain = key.open(&address(code, &record_id.to_string(), key_version), sealed)?;
    String::from_utf8(plain.to_vec()).map_err(|_| CryptoError::Malformed)
}

/// Opens a record's sealed values; a code the catalogue does not have for `kind` is damage.
pub(crate) fn open_values(
    kind: RecordKind,
    key: &DataKey,
    record_id: Uuid,
    key_version: i64,
    sealed: &SealedFields,
) -> Result<Values, CryptoError> {
    let mut values = Values::default();
    for (code, bytes) in sealed {
        let spec = record_field(kind, code).ok_or(CryptoError::Malformed)?;
        values.insert(
            spec.code,
            open_value(key, record_id, key_version, code, bytes)?,
        );
    }
    Ok(values)
}
