//! `confidant user add` with a display name, job title and team (issue 16), and its refusal of a
//! set-up the role contradicts, by field, adding nobody.

use confidant_testkit::TestBackend;

use crate::cli::Install;

#[test]
fn user_add_takes_a_name_title_and_team_and_refuses_a_contradictory_set_up() -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let install = rt.block_on(Install::new(TestBackend::Sqlite))?;
    let org = install.run_ok(&["org", "create", "Test Organisation"])?;
    let service = install.run_ok(&["service", "create", "--organisation", &org, "Test Service"])?;
    let team = install.run_ok(&["team", "create", "--service", &service, "North"])?;
    let out = install.run_ok(&[
        "user",
        "add",
        "--organisation",
        &org,
        "--service",
        &service,
        "--team",
        &team,
        "--display-name",
        "Sam Patel",
        "--job-title",
        "Senior support worker",
        "--role",
        "practitioner",
        "sam.patel",
    ])?;
    assert!(out.contains("first password (shown once): "), "{out}");

    // A Data Protection Officer in a service is refused by field, and nobody is added.
    let refused = install.run(&[
        "user",
        "add",
        "--organisation",
        &org,
        "--service",
        &service,
        "--role",
        "data_protection_officer",
        "dpo.two",
    ])?;
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("service: must be none"), "{stderr}");
    let list = install.run_ok(&["user", "list", "--organisation", &org])?;
    assert!(
        list.contains("sam.patel") && !list.contains("dpo.two"),
        "{list}"
    );
    // The flags are described in --help.
    let help = install.run_ok(&["user", "add", "--help"])?;
    assert!(
        help.contains("--display-name") && help.contains("--job-title"),
        "{help}"
    );
    Ok(())
}
