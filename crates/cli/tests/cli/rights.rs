//! `confidant rights due` as anyone checking a due date runs it: no database, the law's rule in its
//! answer, a newer bank holidays file from the configuration, and clear refusals.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_confidant");

fn due(args: &[&str], config: Option<&std::path::Path>) -> anyhow::Result<(bool, String)> {
    let dir = tempfile::tempdir()?;
    let mut cmd = Command::new(BIN);
    // A data directory that does not exist: the command must not need one.
    cmd.arg("--data-dir").arg(dir.path().join("absent"));
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    let out = cmd.arg("rights").arg("due").args(args).output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}

#[test]
fn rights_due_prints_the_day_and_how_it_was_reached() -> anyhow::Result<()> {
    let (ok, out) = due(&["2026-09-03"], None)?;
    assert!(ok, "{out}");
    assert!(
        out.contains("due: 2026-10-05 (Monday 5 October 2026)"),
        "{out}"
    );
    assert!(
        out.contains("by: one calendar month, moved from Saturday 3 October 2026"),
        "{out}"
    );
    assert!(
        out.contains("bank holidays: England and Wales (2023 to 2030)"),
        "{out}"
    );

    // 31 January in a leap year: 29 February.
    let (_, out) = due(&["2028-01-31"], None)?;
    assert!(out.contains("due: 2028-02-29"), "{out}");
    // A service's shorter limit, kept on the Friday before a Sunday.
    let (_, out) = due(&["2026-06-01", "--limit-days", "20"], None)?;
    assert!(out.contains("due: 2026-06-19"), "{out}");
    assert!(out.contains("the service's own limit"), "{out}");
    // Scotland's St Andrew's Day; three days stopped; an extension.
    let (_, out) = due(&["2026-10-30", "--division", "scotland"], None)?;
    assert!(out.contains("due: 2026-12-01"), "{out}");
    let (_, out) = due(&["2026-09-03", "--stopped", "10"], None)?;
    assert!(out.contains("due: 2026-10-13"), "{out}");
    assert!(out.contains("10 days stopped"), "{out}");
    let (_, out) = due(&["2026-11-30", "--extended"], None)?;
    assert!(out.contains("due: 2027-03-01"), "{out}");
    Ok(())
}

#[test]
fn rights_due_refuses_what_it_cannot_answer_and_takes_a_newer_calendar() -> anyhow::Result<()> {
    let (ok, out) = due(&["3/9/2026"], None)?;
    assert!(
        !ok && out.contains("RECEIVED must be a date written YYYY-MM-DD"),
        "{out}"
    );
    let (ok, out) = due(&["2026-09-03", "--division", "wales"], None)?;
    assert!(!ok && out.contains("--division must be"), "{out}");
    let (ok, out) = due(&["2026-09-03", "--limit-days", "0"], None)?;
    assert!(
        !ok && out.contains("--limit-days must be at least 1"),
        "{out}"
    );
    // Past the shipped calendar: an error naming the year, not a guess.
    let (ok, out) = due(&["2030-12-15"], None)?;
    assert!(!ok, "{out}");
    assert!(
        out.contains("no bank holidays are known for England and Wales in 2031"),
        "{out}"
    );

    // A newer file in GOV.UK's format: 15 January 2031 falls on a Wednesday; with a one-off
    // holiday that day, Thursday.
    let dir = tempfile::tempdir()?;
    let holidays = dir.path().join("bank-holidays.json");
    let division = |d: &str, day: &str| {
        format!(
            r#""{d}": {{"division": "{d}", "events": [{{"title": "x", "date": "{day}"}}, {{"title": "y", "date": "2031-12-25"}}]}}"#
        )
    };
    std::fs::write(
        &holidays,
        format!(
            "{{{}, {}, {}}}",
            division("england-and-wales", "2031-01-15"),
            division("scotland", "2031-01-02"),
            division("northern-ireland", "2031-03-17")
        ),
    )?;
    let config = dir.path().join("confidant.toml");
    std::fs::write(
        &config,
        format!(
            "bank_holidays_file = {:?}\n",
            holidays.display().to_string()
        ),
    )?;
    let (ok, out) = due(&["2030-12-15"], Some(&config))?;
    assert!(ok, "{out}");
    assert!(
        out.contains("due: 2031-01-16 (Thursday 16 January 2031)"),
        "{out}"
    );
    assert!(
        out.contains("bank holidays: England and Wales (2023 to 2031)"),
        "{out}"
    );
    // A file that is not in the format: refused, naming the key.
    std::fs::write(&holidays, "not json")?;
    let (ok, out) = due(&["2030-12-15"], Some(&config))?;
    assert!(!ok && out.contains("bank_holidays_file"), "{out}");
    Ok(())
}
