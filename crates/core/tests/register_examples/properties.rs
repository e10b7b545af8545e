//! Randomised tests of the register's TOML (issue 12, the route-wide proof): any text, and the
//! example registers mutated line by line and value by value, is either a valid register (whose
//! privacy notices can then be made without a panic) or refused with faults that each name the file
//! and a line of it. Never a panic.
//!
//! Case counts are modest so the suite stays fast, and failures are not persisted to files: a case
//! a run finds is added as a plain regression test instead.

use std::path::Path;

use confidant_core::notice::notice;
use confidant_core::register::Register;
use proptest::prelude::*;

const EXAMPLES: [(&str, &str); 3] = [
    (
        "recovery.toml",
        include_str!("../../../../config/examples/recovery.toml"),
    ),
    (
        "care-company.toml",
        include_str!("../../../../config/examples/care-company.toml"),
    ),
    (
        "domestic-abuse-advocacy.toml",
        include_str!("../../../../config/examples/domestic-abuse-advocacy.toml"),
    ),
];

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Parses `text` and checks the outcome: a valid register makes its notices, a refusal places
/// every fault on a line of the text.
fn check(file: &str, text: &str) -> Result<(), TestCaseError> {
    let path = Path::new(file);
    match Register::parse(path, text) {
        Ok(register) => {
            for service in &register.services {
                // Made or refused, never a panic.
                let _ = notice(&register, &service.id).map(|n| n.markdown());
            }
            let _ = register.review_due(time::macros::date!(2026 - 11 - 22));
        }
        Err(errors) => {
            prop_assert!(!errors.0.is_empty());
            let last_line = text.matches('\n').count() + 1;
            for e in &errors.0 {
                prop_assert_eq!(e.file.as_path(), path);
                prop_assert!(
                    (1..=last_line).contains(&e.line),
                    "line {} is not a line of the text (1..={}): {}",
                    e.line,
                    last_line,
                    e.message
                );
                prop_assert!(!e.message.trim().is_empty());
            }
        }
    }
    Ok(())
}

/// A value a mutation puts on the right of a `key = ...` line.
fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"\"".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just("true".to_owned()),
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just("1e400".to_owned()),
        Just("2026-02-30".to_owned()),
        Just("\"2026-02-30\"".to_owned()),
        Just("\"9999-12-31\"".to_owned()),
        Just("\"-9999-01-01\"".to_owned()),
        Just("\"not-a-code\"".to_owned()),
        Just("[\"identity\", \"no_such_group\"]".to_owned()),
        Just("\"\"\"\nmulti\nline\"\"\"".to_owned()),
        "\"[a-z_ é\u{202E}\\\\]{0,20}\"",
        "[\\[\\]{}=\"',.a-z0-9 ]{0,12}",
    ]
}

/// A date as the register writes one, often at the edges of what a date can be.
fn date() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("9999-12-31".to_owned()),
        Just("9999-01-01".to_owned()),
        Just("0000-01-01".to_owned()),
        Just("-0001-06-30".to_owned()),
        Just("2024-02-29".to_owned()),
        Just("2026-02-29".to_owned()),
        (0i32..10_000, 1u8..=12, 1u8..=31).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(prop::sample::Index),
    DuplicateLine(prop::sample::Index),
    SwapLines(prop::sample::Index, prop::sample::Index),
    ReplaceValue(prop::sample::Index, String),
    InsertLine(prop::sample::Index, String),
    /// Copies one line's value onto another's (a reference to a table that is not there, a code
    /// where text was).
    CrossValue(prop::sample::Index, prop::sample::Index),
    /// Puts another date (edge years, leap days, impossible days) where a date was.
    ReplaceDate(prop::sample::Index, String),
    TruncateAt(prop::sample::Index),
    ReplaceChar(prop::sample::Index, char),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    use prop::sample::Index;
    prop_oneof![
        1 => any::<Index>().prop_map(Mutation::DeleteLine),
        1 => any::<Index>().prop_map(Mutation::DuplicateLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        3 => (any::<Index>(), toml_value()).prop_map(|(a, v)| Mutation::ReplaceValue(a, v)),
        1 => (
            any::<Index>(),
            prop_oneof![
                "\\[[a-z_.]{0,20}\\]",
                "\\[\\[[a-z_.]{0,20}\\]\\]",
                "[a-z_]{1,12} = [\\[\\]{}\"a-z0-9 ]{0,12}",
                any::<String>(),
            ]
        )
            .prop_map(|(a, l)| Mutation::InsertLine(a, l)),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::CrossValue(a, b)),
        2 => (any::<Index>(), date()).prop_map(|(a, d)| Mutation::ReplaceDate(a, d)),
        1 => any::<Index>().prop_map(Mutation::TruncateAt),
        1 => (any::<Index>(), any::<char>()).prop_map(|(a, c)| Mutation::ReplaceChar(a, c)),
    ]
}

/// The lines holding `key = value`.
fn value_lines(lines: &[String]) -> Vec<usize> {
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with('#') && l.contains(" = "))
        .map(|(i, _)| i)
        .collect()
}

/// A `key = "YYYY-MM-DD"` line.
fn is_date_line(line: &str) -> bool {
    line.split_once(" = ").is_some_and(|(_, v)| {
        let v = v.trim().trim_matches('"');
        v.len() == 10 && v.as_bytes()[4] == b'-' && v.as_bytes()[7] == b'-'
    })
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut tail: Option<String> = None;
    for m in mutations {
        if lines.is_empty() {
            break;
        }
        let values = value_lines(&lines);
        match m {
            Mutation::DeleteLine(i) => {
                lines.remove(i.index(lines.len()));
            }
            Mutation::DuplicateLine(i) => {
                let at = i.index(lines.len());
                lines.insert(at, lines[at].clone());
            }
            Mutation::SwapLines(a, b) => {
                let (a, b) = (a.index(lines.len()), b.index(lines.len()));
                lines.swap(a, b);
            }
            Mutation::ReplaceValue(i, value) if !values.is_empty() => {
                let at = values[i.index(values.len())];
                if let Some((key, _)) = lines[at].split_once(" = ") {
                    lines[at] = format!("{key} = {value}");
                }
            }
            Mutation::CrossValue(a, b) if !values.is_empty() => {
                let from = values[a.index(values.len())];
                let to = values[b.index(values.len())];
                if let (Some((_, value)), Some((key, _))) =
                    (lines[from].split_once(" = "), lines[to].split_once(" = "))
                {
                    lines[to] = format!("{key} = {value}");
                }
            }
            Mutation::ReplaceDate(i, date) => {
                let dates: Vec<usize> = values
                    .iter()
                    .copied()
                    .filter(|&l| is_date_line(&lines[l]))
                    .collect();
                if !dates.is_empty() {
                    let at = dates[i.index(dates.len())];
                    if let Some((key, _)) = lines[at].split_once(" = ") {
                        lines[at] = format!("{key} = \"{date}\"");
                    }
                }
            }
            Mutation::ReplaceValue(..) | Mutation::CrossValue(..) => {}
            Mutation::InsertLine(i, line) => {
                let at = i.index(lines.len() + 1);
                lines.insert(at, line.clone());
            }
            Mutation::TruncateAt(i) => {
                let joined = lines.join("\n");
                let mut cut = i.index(joined.len() + 1);
                while !joined.is_char_boundary(cut) {
                    cut -= 1;
                }
                tail = Some(joined[..cut].to_owned());
                break;
            }
            Mutation::ReplaceChar(i, c) => {
                let at = i.index(lines.len());
                let chars: Vec<char> = lines[at].chars().collect();
                if !chars.is_empty() {
                    let k = i.index(chars.len());
                    lines[at] = chars[..k]
                        .iter()
                        .chain(std::iter::once(c))
                        .chain(chars[k + 1..].iter())
                        .collect();
                }
            }
        }
    }
    tail.unwrap_or_else(|| lines.join("\n") + "\n")
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn any_text_is_a_register_or_faults_with_a_line(
        text in prop_oneof![
            any::<String>(),
            "[\\[\\]{}=\"'.,:# a-z0-9_\n-]{0,300}",
        ],
    ) {
        check("random.toml", &text)?;
    }

    #[test]
    fn a_mutated_example_is_a_register_or_faults_with_a_line(
        example in prop::sample::select(EXAMPLES.to_vec()),
        mutations in prop::collection::vec(mutation(), 1..5),
    ) {
        let (file, text) = example;
        check(file, &apply(text, &mutations))?;
    }
}

#[test]
fn the_unmutated_examples_pass_the_same_check() {
    for (file, text) in EXAMPLES {
        assert!(Register::parse(Path::new(file), text).is_ok(), "{file}");
        check(file, &apply(text, &[])).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
}

/// Found by `a_mutated_example_is_a_register_or_faults_with_a_line`: a register reviewed in the
/// year 9999 is valid, and asking when its next review is due panicked (the date a year on does not
/// exist). It has none.
#[test]
fn a_register_reviewed_in_the_last_representable_year_has_no_review_due() {
    let (file, text) = EXAMPLES[0];
    for reviewed in ["9999-01-01", "9999-12-31"] {
        let text = text.replacen(
            "reviewed_on = \"2026-11-01\"",
            &format!("reviewed_on = \"{reviewed}\""),
            1,
        );
        let register = Register::parse(Path::new(file), &text).expect("still a valid register");
        assert_eq!(
            register.review_due(time::macros::date!(2026 - 11 - 22)),
            None
        );
    }
    // An ordinary review is still due a year on.
    let register = Register::parse(Path::new(file), text).expect("valid");
    assert_eq!(
        register.review_due(time::macros::date!(2027 - 10 - 15)),
        Some(time::macros::date!(2027 - 11 - 01))
    );
}
