//! The staff pages in a real browser: builds an installation with the `confidant` binary (an
//! organisation, two services, a practitioner in each, an administrator and a DPO, one person in
//! service A), serves it with a 20-second idle timeout, and runs the browser-test harness's self-test
//! and then `tests/browser/confidant.mjs` (Debian chromium, Playwright, axe) against it.
//!
//! Never skipped: `scripts/test` runs `scripts/browser-deps` first, which installs what is missing
//! (chromium, the locked node packages); the test itself only checks (`--check`) and fails, saying
//! what is missing, rather than install anything.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Server, collect};
use serde_json::{Value, json};

use crate::common;

const BIN: &str = env!("CARGO_BIN_EXE_confidant");
/// Short, so the idle lock is seen within the test; long enough that a page's own refresh to the
/// lock page (at this limit) never fires while a test is still using the page.
const IDLE_SECONDS: u64 = 20;
/// Both node scripts together; confidant.mjs alone takes about a minute (half of it may be waiting
/// for a new TOTP step).
const NODE_DEADLINE: Duration = Duration::from_secs(300);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A data directory of its own, worked with through the binary.
struct Install {
    dir: tempfile::TempDir,
}

impl Install {
    fn new() -> anyhow::Result<Self> {
        let me = Self {
            dir: tempfile::tempdir()?,
        };
        me.run(&["init"])?;
        Ok(me)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .args(args)
            .env_remove("CONFIDANT_MASTER_KEY")
            .env_remove("CONFIDANT_CONFIG")
            .env_remove("CONFIDANT_DATABASE_URL");
        cmd
    }

    /// Runs a command that must succeed; its standard output, trimmed.
    fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.command(args).stdin(Stdio::null()).output()?;
        anyhow::ensure!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8(out.stdout)?.trim().to_owned())
    }

    /// Adds a member of staff with current training: (id, first password).
    fn user(
        &self,
        org: &str,
        service: Option<&str>,
        role: &str,
        handle: &str,
    ) -> anyhow::Result<(String, String)> {
        let mut args = vec!["user", "add", "--organisation", org, "--role", role];
        if let Some(service) = service {
            args.extend(["--service", service]);
        }
        args.push(handle);
        let out = self.run(&args)?;
        let id = out.lines().next().unwrap_or_default().trim().to_owned();
        let password = out
            .lines()
            .find_map(|l| l.strip_prefix("first password (shown once): "))
            .ok_or_else(|| anyhow::anyhow!("no first password printed for {handle}"))?
            .to_owned();
        uuid::Uuid::parse_str(&id)?;
        self.run(&["user", "training", handle])?;
        Ok((id, password))
    }
}

/// Runs a command to the end (or kills it at the deadline); (success, stdout, stderr).
fn run_with_deadline(
    mut cmd: Command,
    deadline: Duration,
) -> anyhow::Result<(bool, String, String)> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let out = Arc::new(Mutex::new(Vec::new()));
    let err = Arc::new(Mutex::new(Vec::new()));
    collect(
        child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?,
        vec![out.clone()],
    );
    collect(
        child
            .stderr
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stderr"))?,
        vec![err.clone()],
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // Let the readers drain the pipes.
    std::thread::sleep(Duration::from_millis(200));
    let text = |b: &Arc<Mutex<Vec<u8>>>| {
        b.lock()
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default()
    };
    let (stdout, mut stderr) = (text(&out), text(&err));
    if status.is_none() {
        stderr.push_str(&format!("\nkilled after {deadline:?}\n"));
    }
    Ok((status.is_some_and(|s| s.success()), stdout, stderr))
}

/// Runs a node script of tests/browser; fails unless it passes with the runner's summary line.
fn node(root: &Path, script: &str, fixture: Option<&str>) -> anyhow::Result<String> {
    let mut cmd = Command::new("node");
    cmd.arg(format!("tests/browser/{script}")).current_dir(root);
    match fixture {
        Some(f) => cmd.env("CONFIDANT_BROWSER_FIXTURE", f),
        None => cmd.env_remove("CONFIDANT_BROWSER_FIXTURE"),
    };
    let started = Instant::now();
    let (ok, stdout, stderr) = run_with_deadline(cmd, NODE_DEADLINE)?;
    println!(
        "--- node {script} ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    print!("{stdout}");
    eprint!("{stderr}");
    let summary = stdout
        .lines()
        .filter(|l| l.starts_with("browser: "))
        .collect::<Vec<_>>();
    anyhow::ensure!(
        ok && summary.len() == 1 && summary[0].ends_with(" 0 failed"),
        "{script} failed (summary {summary:?}); its output is above"
    );
    Ok(stdout)
}

#[test]
fn the_staff_pages_work_and_are_accessible_in_a_real_browser() -> anyhow::Result<()> {
    let root = repo_root();
    // Installs nothing: scripts/test (and .ci/run) install what is missing before `cargo test`.
    let deps = Command::new(root.join("scripts/browser-deps"))
        .arg("--check")
        .current_dir(&root)
        .stdin(Stdio::null())
        .output()?;
    anyhow::ensure!(
        deps.status.success(),
        "scripts/browser-deps failed ({}):\n{}{}",
        deps.status,
        String::from_utf8_lossy(&deps.stdout),
        String::from_utf8_lossy(&deps.stderr)
    );
    // The harness itself first: chromium starts, axe and TOTP work, the runner counts failures.
    node(&root, "selftest.mjs", None)?;

    let install = Install::new()?;
    let org = install.run(&["org", "create", "Browser Test Organisation"])?;
    let service_a = install.run(&["service", "create", "--organisation", &org, "Service A"])?;
    let service_b = install.run(&["service", "create", "--organisation", &org, "Service B"])?;
    let (_, password_a) = install.user(&org, Some(&service_a), "practitioner", "worker.a")?;
    let (_, password_b) = install.user(&org, Some(&service_b), "practitioner", "worker.b")?;
    let (_, password_admin) = install.user(&org, None, "administrator", "admin.one")?;
    let (_, password_dpo) = install.user(&org, None, "data_protection_officer", "dpo.one")?;
    let (_, password_manager) =
        install.user(&org, Some(&service_a), "service_manager", "manager.a")?;
    let token = install.run(&["token", "issue", "worker.a", "--scope", "read_write"])?;

    let server = Server::start({
        let mut cmd = install.command(&["serve", "--listen", "127.0.0.1:0"]);
        cmd.env("CONFIDANT_SESSION_IDLE_SECONDS", IDLE_SECONDS.to_string());
        cmd
    })?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let person: Value = rt.block_on(async {
        reqwest::Client::new()
            .post(format!(
                "{}/api/v1/services/{service_a}/people",
                server.base
            ))
            .bearer_auth(&token)
            .json(&json!({
                "given_name": "Ada", "family_name": "Lovelace", "nhs_number": "9434765919",
                "postcode": "LS1 1BA"
            }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
    })?;
    let person_id = person["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no id in {person}"))?;
    // A record on the retention review queue, as the sweep would put it there had its period
    // ended (the sweep itself is tested with real dates in the store's tests).
    let review_id = uuid::Uuid::now_v7().to_string();
    rt.block_on(async {
        use sqlx::Connection as _;
        sqlx::any::install_default_drivers();
        let db = install.dir.path().join("data").join("confidant.db");
        let mut conn = sqlx::AnyConnection::connect(&format!("sqlite://{}", db.display())).await?;
        sqlx::query(
            "INSERT INTO retention_review (id, organisation_id, service_id, person_id, rules, due_on, found_at, state) \
             VALUES ($1, $2, $3, $4, 'case_records', '2026-11-01', 0, 'to_review')",
        )
        .bind(&review_id)
        .bind(&org)
        .bind(&service_a)
        .bind(person_id)
        .execute(&mut conn)
        .await?;
        conn.close().await?;
        anyhow::Ok(())
    })?;

    let fixture = json!({
        "baseUrl": server.base,
        "idleSeconds": IDLE_SECONDS,
        "accounts": {
            "practitionerA": {"handle": "worker.a", "password": password_a},
            "practitionerB": {"handle": "worker.b", "password": password_b},
            "administrator": {"handle": "admin.one", "password": password_admin},
            "dpo": {"handle": "dpo.one", "password": password_dpo},
            "managerA": {"handle": "manager.a", "password": password_manager},
        },
        "personId": person_id,
        "reviewId": review_id,
    });
    let result = node(&root, "confidant.mjs", Some(&fixture.to_string()));
    if result.is_err() {
        eprintln!("--- server log\n{}", server.log_text());
    }
    result?;
    drop(server);
    let verified = install.run(&["audit", "verify"])?;
    assert!(verified.contains("intact"), "{verified}");
    Ok(())
}
