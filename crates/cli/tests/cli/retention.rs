//! `confidant retention sweep` as an operator runs it: it says when no register gives it rules,
//! queues nothing early, and may be run again (the queue and its rules are tested on both backends
//! in the store's tests).

use confidant_testkit::TestBackend;

use crate::cli::Install;

#[test]
fn retention_sweep_runs_with_and_without_a_register_and_says_what_it_did() -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let install = rt.block_on(Install::new(TestBackend::Sqlite))?;
    install.run_ok(&["org", "create", "Test Organisation"])?;
    let out = install.run_ok(&["retention", "sweep"])?;
    assert!(
        out.contains("no register of processing activities"),
        "{out}"
    );
    assert!(out.contains("0 put on the review queue"), "{out}");
    assert!(
        out.contains("0 referrals not taken up waiting to be erased by a reviewer"),
        "{out}"
    );

    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/examples/recovery.toml"
    );
    let config_dir = install.data_dir().join("config");
    std::fs::create_dir_all(&config_dir)?;
    std::fs::write(config_dir.join("register.toml"), std::fs::read(example)?)?;
    for _ in 0..2 {
        let out = install.run_ok(&["retention", "sweep"])?;
        assert!(!out.contains("no register"), "{out}");
        assert!(
            out.contains("0 put on the review queue, 0 destroyed after review"),
            "{out}"
        );
    }
    let help = install.run_ok(&["retention", "sweep", "--help"])?;
    assert!(
        help.contains("Nothing is destroyed without review"),
        "{help}"
    );
    Ok(())
}
