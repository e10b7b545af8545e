//! Reading an organisation's policy files: all `*.cedar` files of a directory, in order of name, each
//! parsed and validated against the schema in strict mode. Validation warnings (a policy that can
//! never apply, look-alike or bidirectional characters) are refused too: in a `forbid` they would
//! silently protect nothing. Every refusal names the file, line and column.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use cedar_policy::ffi::DetailedError;
use cedar_policy::{PolicyId, PolicySet, ValidationMode, Validator};

use crate::PolicyError;

/// One policy file's text.
pub(crate) struct PolicyFile {
    pub(crate) path: PathBuf,
    pub(crate) text: String,
}

/// Every `*.cedar` file directly in `dir`, sorted by name. Other files and directories are ignored.
pub(crate) fn read_policy_dir(dir: &Path) -> Result<Vec<PolicyFile>, PolicyError> {
    let read_error = |file: &Path, error: std::io::Error| PolicyError::Read {
        file: file.to_owned(),
        message: error.to_string(),
    };
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| read_error(dir, e))? {
        let path = entry.map_err(|e| read_error(dir, e))?.path();
        if path.extension() == Some(OsStr::new("cedar")) && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| match fs::read_to_string(&path) {
            Ok(text) => Ok(PolicyFile { path, text }),
            Err(error) => Err(read_error(&path, error)),
        })
        .collect()
}

/// Parses and validates `file`, then adds its policies to `set` with ids `<prefix>#<@id or policyN>`.
pub(crate) fn add_file(
    set: &mut PolicySet,
    validator: &Validator,
    file: &PolicyFile,
    prefix: &str,
) -> Result<(), PolicyError> {
    let text = file.text.as_str();
    let parsed = PolicySet::from_str(text)
        .map_err(|error| invalid(&file.path, text, &DetailedError::from(&error)))?;

    if parsed.templates().next().is_some() {
        let offset = ["?principal", "?resource"]
            .iter()
            .filter_map(|slot| text.find(slot))
            .min()
            .unwrap_or(0);
        return Err(at(
            &file.path,
            text,
            offset,
            "policy templates (with `?principal` or `?resource`) are not supported; write the \
             policy out in full"
                .to_owned(),
        ));
    }

    let result = validator.validate(&parsed, ValidationMode::Strict);
    let first_problem = result
        .validation_errors()
        .map(DetailedError::from)
        .chain(result.validation_warnings().map(DetailedError::from))
        .min_by_key(|problem| start(problem).unwrap_or(usize::MAX));
    if let Some(problem) = first_problem {
        return Err(invalid(&file.path, text, &problem));
    }

    for policy in parsed.policies() {
        let name = policy
            .annotation("id")
            .map_or_else(|| policy.id().to_string(), str::to_owned);
        let id = PolicyId::new(format!("{prefix}#{name}"));
        if set.add(policy.new_id(id)).is_err() {
            // Only a repeated `@id` can clash: ids are unique per file and prefixed by its name.
            let marker = format!("@id(\"{name}\")");
            let offset = text.match_indices(&marker).nth(1).map_or(0, |(i, _)| i);
            return Err(at(
                &file.path,
                text,
                offset,
                format!("two policies in this file have the id `{name}`"),
            ));
        }
    }
    Ok(())
}

/// A `PolicyError::Invalid` for a problem Cedar reported, placed at its first source label.
pub(crate) fn invalid(file: &Path, text: &str, problem: &DetailedError) -> PolicyError {
    let mut message = problem.message.clone();
    if let Some(help) = &problem.help {
        message.push_str(" (");
        message.push_str(help);
        message.push(')');
    }
    at(file, text, start(problem).unwrap_or(0), message)
}

fn start(problem: &DetailedError) -> Option<usize> {
    problem.source_locations.iter().map(|l| l.loc.start).min()
}

fn at(file: &Path, text: &str, offset: usize, message: String) -> PolicyError {
    let (line, column) = line_column(text, offset);
    PolicyError::Invalid {
        file: file.to_owned(),
        line,
        column,
        message,
    }
}

/// The 1-based line and column (in characters) of a byte offset into `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}
