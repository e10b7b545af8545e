//! The erasure ledger file: appended once per erasure, verified on every read.

use confidant_store::{Erasure, ErasureKind, ErasureLedger, LedgerError};
use uuid::Uuid;

fn entry(kind: ErasureKind) -> Erasure {
    Erasure {
        kind,
        id: Uuid::new_v4(),
        at_micros: 1_700_000_000_000_000,
        certificate_id: (kind == ErasureKind::Person).then(Uuid::new_v4),
    }
}

#[test]
fn appends_once_and_verifies() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let ledger = ErasureLedger::new(dir.path().join("erasures.ledger"), [7; 32]);
    assert!(ledger.read()?.is_empty());
    let (a, b) = (entry(ErasureKind::Person), entry(ErasureKind::Record));
    assert_eq!(ledger.append_missing(&[a.clone(), a.clone()])?, 1);
    assert_eq!(ledger.append_missing(&[a.clone(), b.clone()])?, 1);
    assert_eq!(ledger.read()?, vec![a, b]);
    Ok(())
}

#[test]
fn a_removed_or_changed_line_or_another_key_fails() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("erasures.ledger");
    let ledger = ErasureLedger::new(&path, [7; 32]);
    let all: Vec<Erasure> = (0..3).map(|_| entry(ErasureKind::Person)).collect();
    ledger.append_missing(&all)?;
    let text = std::fs::read_to_string(&path)?;
    let lines: Vec<&str> = text.lines().collect();

    let without_second = [lines[0], lines[1], lines[3]].join("\n") + "\n";
    std::fs::write(&path, without_second)?;
    assert!(matches!(
        ledger.read(),
        Err(LedgerError::Tampered { line: 3, .. })
    ));

    let changed = text.replacen("1700000000000000", "1700000000000001", 1);
    std::fs::write(&path, changed)?;
    assert!(matches!(
        ledger.read(),
        Err(LedgerError::Tampered { line: 2, .. })
    ));

    std::fs::write(&path, &text)?;
    assert!(ErasureLedger::new(&path, [8; 32]).read().is_err());
    assert_eq!(ledger.read()?, all);
    Ok(())
}

#[test]
fn a_half_written_last_line_is_not_read_and_is_written_over() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("erasures.ledger");
    let ledger = ErasureLedger::new(&path, [7; 32]);
    let (a, b) = (entry(ErasureKind::Person), entry(ErasureKind::Record));
    ledger.append_missing(std::slice::from_ref(&a))?;
    // A crash mid-write: part of a line, no newline.
    let mut text = std::fs::read_to_string(&path)?;
    text.push_str("person 0000");
    std::fs::write(&path, &text)?;
    assert_eq!(ledger.read()?, vec![a.clone()]);
    assert_eq!(ledger.append_missing(&[a.clone(), b.clone()])?, 1);
    assert_eq!(ledger.read()?, vec![a, b]);
    assert!(!std::fs::read_to_string(&path)?.contains("person 0000"));
    Ok(())
}

#[test]
fn nothing_to_add_writes_nothing_and_a_copy_holds_whole_lines() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("erasures.ledger");
    let ledger = ErasureLedger::new(&path, [7; 32]);
    assert_eq!(ledger.append_missing(&[])?, 0);
    assert!(!path.exists(), "no file made for nothing");
    let a = entry(ErasureKind::Person);
    ledger.append_missing(std::slice::from_ref(&a))?;
    let copy = dir.path().join("copy");
    assert_eq!(ledger.copy_to(&copy)?, 1);
    assert_eq!(ErasureLedger::new(&copy, [7; 32]).read()?, vec![a]);
    Ok(())
}
