//! The `confidant` binary as an operator and an API client meet it: a real process, a real data directory,
//! real HTTP. Covers keys (missing, wrong, rotated), the audit chain against raw tampering, validation over
//! HTTP, the privacy canary across files and logs, configuration errors, SIGKILL under mixed reads and writes (every answer keeps its audit event),
//! and two `serve` processes on one PostgreSQL database keeping one chain.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Server;
use confidant_testkit::{TestBackend, TestDb};
use serde_json::{Value, json};

use crate::common;

const BIN: &str = env!("CARGO_BIN_EXE_confidant");
const CANARY_NAME: &str = "Zqxcanaryname";
const CANARY_ADDRESS: &str = "Canaryaddressmarker";
const CANARY_NHS: &str = "9434765919";

/// A data directory with its own database (SQLite in the directory, or a fresh PostgreSQL database).
pub(crate) struct Install {
    dir: tempfile::TempDir,
    pg: Option<TestDb>,
}

impl Install {
    pub(crate) async fn new(backend: TestBackend) -> anyhow::Result<Self> {
        let pg = match backend {
            TestBackend::Sqlite => None,
            TestBackend::Postgres => Some(TestDb::new(TestBackend::Postgres).await?),
        };
        let me = Self {
            dir: tempfile::tempdir()?,
            pg,
        };
        let out = me.run(&["init"])?;
        anyhow::ensure!(
            out.status.success(),
            "init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(me)
    }

    pub(crate) fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn db_path(&self) -> PathBuf {
        self.data_dir().join("confidant.db")
    }

    fn key_path(&self) -> PathBuf {
        self.data_dir().join("master.key")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("--data-dir").arg(self.data_dir());
        if let Some(pg) = &self.pg {
            cmd.arg("--database-url").arg(&pg.url);
        }
        cmd.args(args)
            .env_remove("CONFIDANT_MASTER_KEY")
            .env("CONFIDANT_LOG_LEVEL", "debug");
        cmd
    }

    pub(crate) fn run(&self, args: &[&str]) -> anyhow::Result<Output> {
        Ok(self.command(args).stdin(Stdio::null()).output()?)
    }

    pub(crate) fn run_ok(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.run(args)?;
        anyhow::ensure!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8(out.stdout)?.trim().to_owned())
    }

    /// An organisation, a service and a practitioner with a token: (service id, token).
    /// The PostgreSQL database's URL (PostgreSQL only).
    pub(crate) fn database_url(&self) -> Option<String> {
        self.pg.as_ref().map(|pg| pg.url.clone())
    }

    pub(crate) fn staff_with_token(&self) -> anyhow::Result<(String, String)> {
        let org = self.run_ok(&["org", "create", "Test Organisation"])?;
        let service =
            self.run_ok(&["service", "create", "--organisation", &org, "Test Service"])?;
        self.run_ok(&[
            "staff",
            "add",
            "--organisation",
            &org,
            "--service",
            &service,
            "--role",
            "practitioner",
            "tester",
        ])?;
        self.run_ok(&["user", "training", "tester"])?;
        let token = self.run_ok(&["token", "issue", "tester"])?;
        Ok((service, token))
    }

    pub(crate) fn serve(&self) -> anyhow::Result<Server> {
        Server::start(self.command(&["serve", "--listen", "127.0.0.1:0"]))
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn raw_sqlite(path: &Path, sql: &str) -> anyhow::Result<()> {
    // Tamper with the file directly, as someone with disk access would.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        use sqlx::{Connection, Executor};
        sqlx::any::install_default_drivers();
        let mut conn =
            sqlx::AnyConnection::connect(&format!("sqlite://{}", path.display())).await?;
        conn.execute(sqlx::AssertSqlSafe(sql.to_owned())).await?;
        conn.close().await?;
        anyhow::Ok(())
    })
}

fn file_digest(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut all = std::fs::read(path)?;
    for suffix in ["-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", path.display()));
        if p.exists() {
            all.extend(std::fs::read(p)?);
        }
    }
    Ok(all)
}

#[test]
fn a_missing_or_wrong_master_key_stops_start_up_and_changes_nothing() -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let install = rt.block_on(Install::new(TestBackend::Sqlite))?;
    install.staff_with_token()?;
    // A clean open and close checkpoints the WAL into the main file; from here on a refused start must
    // leave the main file byte for byte, and the chain's head, as they are.
    let head_before = install.run_ok(&["audit", "verify"])?;
    let before = std::fs::read(install.db_path())?;
    let key = std::fs::read(install.key_path())?;

    std::fs::remove_file(install.key_path())?;
    let out = install.run(&["serve", "--listen", "127.0.0.1:0"])?;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no master key"), "{err}");

    let wrong = confidant_crypto::MasterKey::generate();
    let out = install
        .command(&["serve", "--listen", "127.0.0.1:0"])
        .env("CONFIDANT_MASTER_KEY", wrong.to_hex().as_str())
        .output()?;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not match this database"), "{err}");
    assert!(
        !err.contains(wrong.to_hex().as_str()),
        "the key is never echoed"
    );

    let out = install
        .command(&["serve"])
        .env("CONFIDANT_MASTER_KEY", "not-a-key")
        .output()?;
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a valid master key"));
    assert!(
        std::fs::read(install.db_path())? == before,
        "the database file is untouched"
    );
    assert_eq!(
        install.run_ok(&["audit", "verify"])?,
        head_before,
        "no event was written"
    );

    // A key file others can read is refused too.
    std::fs::write(install.key_path(), &key)?;
    std::fs::set_permissions(install.key_path(), std::fs::Permissions::from_mode(0o644))?;
    let out = install.run(&["audit", "head"])?;
    assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 600"));
    std::fs::set_permissions(install.key_path(), std::fs::Permissions::from_mode(0o600))?;
    install.run_ok(&["audit", "head"])?;
    Ok(())
}

#[test]
fn audit_verify_names_the_first_edited_deleted_or_reordered_event() -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let install = rt.block_on(Install::new(TestBackend::Sqlite))?;
    install.staff_with_token()?;
    let checkpoint = install.run_ok(&["audit", "head"])?;
    for i in 0..3 {
        install.run_ok(&["org", "create", &format!("Another Organisation {i}")])?;
    }
    let ok = install.run_ok(&["audit", "verify"])?;
    assert!(ok.contains("intact"), "{ok}");
    let ok = install.run_ok(&["audit", "verify", "--since-checkpoint", &checkpoint])?;
    assert!(ok.contains("intact"), "{ok}");

    let db = install.db_path();
    raw_sqlite(
        &db,
        "DROP TRIGGER audit_event_no_update; DROP TRIGGER audit_event_no_delete;",
    )?;
    let verify = |args: &[&str]| -> anyhow::Result<(i32, String)> {
        let out = install.run(args)?;
        Ok((
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    };

    // Reorder: swap the contents of events 5 and 6 while keeping their sequence numbers.
    raw_sqlite(
        &db,
        "UPDATE audit_event SET seq = -5 WHERE seq = 5; UPDATE audit_event SET seq = 5 WHERE seq = 6; UPDATE audit_event SET seq = 6 WHERE seq = -5;",
    )?;
    let (code, err) = verify(&["audit", "verify"])?;
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("BROKEN at event 5"), "{err}");
    raw_sqlite(
        &db,
        "UPDATE audit_event SET seq = -5 WHERE seq = 5; UPDATE audit_event SET seq = 5 WHERE seq = 6; UPDATE audit_event SET seq = 6 WHERE seq = -5;",
    )?;
    assert_eq!(verify(&["audit", "verify"])?.0, 0, "restored");

    // Edit.
    raw_sqlite(
        &db,
        "UPDATE audit_event SET actor = 'someone-else' WHERE seq = 4",
    )?;
    let (code, err) = verify(&["audit", "verify"])?;
    assert_eq!(code, 3);
    assert!(
        err.contains("BROKEN at event 4") && err.contains("edited"),
        "{err}"
    );
    // The checkpoint was taken after event 4: verifying against it still walks from the first event,
    // so the edit before it is named.
    let (code, err) = verify(&["audit", "verify", "--since-checkpoint", &checkpoint])?;
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("BROKEN at event 4"), "{err}");
    raw_sqlite(&db, "UPDATE audit_event SET actor = 'system' WHERE seq = 4")?;
    assert_eq!(verify(&["audit", "verify"])?.0, 0, "restored");

    // Delete one in the middle.
    let last: i64 = checkpoint.split(':').next().unwrap_or("0").parse()?;
    raw_sqlite(
        &db,
        &format!("DELETE FROM audit_event WHERE seq = {}", last + 1),
    )?;
    let (code, err) = verify(&["audit", "verify", "--since-checkpoint", &checkpoint])?;
    assert_eq!(code, 3);
    assert!(
        err.contains(&format!("BROKEN at event {}", last + 1)),
        "{err}"
    );

    // Cut the tail: the recorded head reveals it.
    raw_sqlite(
        &db,
        &format!("DELETE FROM audit_event WHERE seq > {}", last),
    )?;
    let (code, err) = verify(&["audit", "verify", "--since-checkpoint", &checkpoint])?;
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("cut from the end"), "{err}");

    // A deleted head row is a verdict (exit 3), not a database error (exit 1).
    raw_sqlite(&db, "DELETE FROM audit_head")?;
    let (code, err) = verify(&["audit", "verify"])?;
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("head is missing"), "{err}");
    Ok(())
}

/// Runs `sql` on the installation's database with raw access, as someone tampering would.
fn tamper(rt: &tokio::runtime::Runtime, install: &Install, sql: &str) -> anyhow::Result<()> {
    match &install.pg {
        None => raw_sqlite(&install.db_path(), sql),
        Some(pg) => {
            for statement in sql.split(';').filter(|s| !s.trim().is_empty()) {
                rt.block_on(pg.raw_execute(statement))?;
            }
            Ok(())
        }
    }
}

fn drop_audit_triggers(rt: &tokio::runtime::Runtime, install: &Install) -> anyhow::Result<()> {
    let sql = match install.pg {
        None => "DROP TRIGGER audit_event_no_update; DROP TRIGGER audit_event_no_delete;",
        Some(_) => "ALTER TABLE audit_event DISABLE TRIGGER USER",
    };
    tamper(rt, install, sql)
}

/// (exit code, stdout, stderr)
fn outcome(install: &Install, args: &[&str]) -> anyhow::Result<(i32, String, String)> {
    let out = install.run(args)?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

fn a_signed_checkpoint_proves_the_chain_extends_it(backend: TestBackend) -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let install = rt.block_on(Install::new(backend))?;
    assert!(
        std::fs::metadata(install.data_dir().join("audit-signing.key"))?
            .permissions()
            .mode()
            & 0o077
            == 0,
        "init made the signing key, readable by its owner only"
    );
    install.staff_with_token()?;
    let outside = tempfile::tempdir()?;
    let file = outside.path().join("checkpoint.json");
    let file_arg = file.to_str().unwrap_or_default();
    let out = install.run_ok(&["audit", "checkpoint", "--out", file_arg])?;
    assert!(out.contains("written"), "{out}");
    let text = std::fs::read_to_string(&file)?;
    let json: Value = serde_json::from_str(&text)?;
    let seq = json["sequence"].as_i64().unwrap_or(0);
    assert!(seq > 0, "{text}");
    assert!(
        !install.data_dir().join("audit-signing.key").exists()
            || !text.contains(
                std::fs::read_to_string(install.data_dir().join("audit-signing.key"))?.trim()
            ),
        "the secret key is not in the checkpoint"
    );
    // Never overwritten.
    assert!(
        !install
            .run(&["audit", "checkpoint", "--out", file_arg])?
            .status
            .success()
    );

    for i in 0..2 {
        install.run_ok(&["org", "create", &format!("Later Organisation {i}")])?;
    }
    let ok = install.run_ok(&["audit", "verify", "--against", file_arg])?;
    assert!(
        ok.contains(&format!("extends the checkpoint at event {seq}")),
        "{ok}"
    );
    // A verifier with only the public key.
    let public = install.run_ok(&["audit", "public-key"])?;
    let ok = Command::new(BIN)
        .arg("--data-dir")
        .arg(outside.path().join("no-keys-here"))
        .arg("--database-url")
        .arg(match &install.pg {
            Some(pg) => pg.url.clone(),
            None => format!("sqlite://{}", install.db_path().display()),
        })
        .args([
            "audit",
            "verify",
            "--against",
            file_arg,
            "--public-key",
            &public,
        ])
        .env_remove("CONFIDANT_AUDIT_SIGNING_KEY")
        .output()?;
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    // An edited checkpoint file: its signature no longer matches (exit 4).
    let edited = outside.path().join("edited.json");
    std::fs::write(
        &edited,
        text.replace(
            &format!("\"sequence\": {seq}"),
            &format!("\"sequence\": {}", seq - 1),
        ),
    )?;
    let (code, _, err) = outcome(
        &install,
        &[
            "audit",
            "verify",
            "--against",
            edited.to_str().unwrap_or_default(),
        ],
    )?;
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("REJECTED") && err.contains("edited"), "{err}");

    // A checkpoint from another installation (another key) is refused too.
    let other = rt.block_on(Install::new(TestBackend::Sqlite))?;
    let foreign = outside.path().join("foreign.json");
    other.run_ok(&[
        "audit",
        "checkpoint",
        "--out",
        foreign.to_str().unwrap_or_default(),
    ])?;
    let (code, _, err) = outcome(
        &install,
        &[
            "audit",
            "verify",
            "--against",
            foreign.to_str().unwrap_or_default(),
        ],
    )?;
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("another key"), "{err}");

    // Cut the tail below the checkpoint and rewrite the head row to match: plain verify cannot see it,
    // the checkpoint does, naming the first missing event.
    drop_audit_triggers(&rt, &install)?;
    let keep = seq - 2;
    tamper(
        &rt,
        &install,
        &format!("DELETE FROM audit_event WHERE seq > {keep}"),
    )?;
    let hash_of_keep = format!("(SELECT hash FROM audit_event WHERE seq = {keep})");
    tamper(
        &rt,
        &install,
        &format!("UPDATE audit_head SET seq = {keep}, hash = {hash_of_keep} WHERE id = 1"),
    )?;
    let (code, _, err) = outcome(&install, &["audit", "verify"])?;
    assert_eq!(
        code, 0,
        "from inside the database the cut is invisible: {err}"
    );
    let (code, _, err) = outcome(&install, &["audit", "verify", "--against", file_arg])?;
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains(&format!("BROKEN at event {}", keep + 1)) && err.contains("cut"),
        "{err}"
    );
    // And a checkpoint is not signed over a broken chain.
    tamper(
        &rt,
        &install,
        "UPDATE audit_event SET outcome = 'denied' WHERE seq = 2",
    )?;
    let late = outside.path().join("late.json");
    let (code, _, err) = outcome(
        &install,
        &[
            "audit",
            "checkpoint",
            "--out",
            late.to_str().unwrap_or_default(),
        ],
    )?;
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("BROKEN at event 2"), "{err}");
    assert!(!late.exists());
    Ok(())
}

#[test]
fn a_signed_checkpoint_proves_the_chain_extends_it_on_sqlite() -> anyhow::Result<()> {
    a_signed_checkpoint_proves_the_chain_extends_it(TestBackend::Sqlite)
}

#[test]
fn a_signed_checkpoint_proves_the_chain_extends_it_on_postgres() -> anyhow::Result<()> {
    a_signed_checkpoint_proves_the_chain_extends_it(TestBackend::Postgres)
}

#[test]
fn serve_writes_signed_checkpoints_to_the_configured_folder() -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let install = rt.block_on(Install::new(TestBackend::Sqlite))?;
    install.staff_with_token()?;
    let folder = install.dir.path().join("elsewhere");
    let serve = || {
        let mut cmd = install.command(&["serve", "--listen", "127.0.0.1:0"]);
        cmd.env("CONFIDANT_AUDIT_CHECKPOINT_DIR", &folder)
            .env("CONFIDANT_AUDIT_CHECKPOINT_INTERVAL_SECONDS", "1");
        Server::start(cmd)
    };
    let server = serve()?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let first = loop {
        let files: Vec<PathBuf> = std::fs::read_dir(&folder)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        if let Some(f) = files
            .iter()
            .find(|f| f.extension().is_some_and(|e| e == "json"))
        {
            break f.clone();
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "no checkpoint written: {}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // Unchanged head: no second file in the next periods.
    std::thread::sleep(Duration::from_millis(2500));
    let count = std::fs::read_dir(&folder)?.count();
    assert_eq!(count, 1, "one checkpoint while nothing happens");
    let logs = server.stop()?;
    let ok = install.run_ok(&[
        "audit",
        "verify",
        "--against",
        first.to_str().unwrap_or_default(),
    ])?;
    assert!(ok.contains("extends the checkpoint"), "{ok}");

    // A server that finds the chain cut below its last checkpoint signs nothing more, and says why.
    drop_audit_triggers(&rt, &install)?;
    let text = std::fs::read_to_string(&first)?;
    let seq = serde_json::from_str::<Value>(&text)?["sequence"]
        .as_i64()
        .unwrap_or(0);
    raw_sqlite(
        &install.db_path(),
        &format!(
            "DELETE FROM audit_event WHERE seq >= {seq}; UPDATE audit_head SET seq = {}, hash = (SELECT hash FROM audit_event WHERE seq = {}) WHERE id = 1",
            seq - 1,
            seq - 1
        ),
    )?;
    install.run_ok(&["org", "create", "After The Cut"])?;
    let server = serve()?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server.log_text().contains("audit checkpoint not written") {
        anyhow::ensure!(
            Instant::now() < deadline,
            "no error logged: {}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let later = server.stop()?;
    assert_eq!(
        std::fs::read_dir(&folder)?.count(),
        1,
        "nothing signed over the cut"
    );
    let later = String::from_utf8_lossy(&later);
    assert!(
        later.contains("does not extend the last checkpoint"),
        "{later}"
    );
    assert!(!contains(&logs, CANARY_NAME));
    Ok(())
}

#[test]
fn keys_rotate_replaces_the_key_file_and_the_old_key_opens_nothing() -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let install = rt.block_on(Install::new(TestBackend::Sqlite))?;
    let (service, token) = install.staff_with_token()?;
    let server = install.serve()?;
    let created: Value = rt.block_on(async {
        client()
            .post(server.url(&format!("/api/v1/services/{service}/people")))
            .bearer_auth(&token)
            .json(
                &json!({"given_name": "Ada", "family_name": "Lovelace", "nhs_number": CANARY_NHS}),
            )
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
    })?;
    server.stop()?;
    let old_key = std::fs::read_to_string(install.key_path())?;

    let out = install.run_ok(&["keys", "rotate"])?;
    assert!(out.contains("1 data keys re-wrapped"), "{out}");
    let new_key = std::fs::read_to_string(install.key_path())?;
    assert_ne!(old_key, new_key);
    assert!(!install.data_dir().join("master.key.new").exists());

    let out = install
        .command(&["audit", "head"])
        .env("CONFIDANT_MASTER_KEY", old_key.trim())
        .output()?;
    assert!(!out.status.success(), "the old key is refused");

    let server = install.serve()?;
    let read: Value = rt.block_on(async {
        client()
            .get(server.url(&format!(
                "/api/v1/people/{}",
                created["id"].as_str().unwrap_or_default()
            )))
            .bearer_auth(&token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
    })?;
    assert_eq!(read["nhs_number"], CANARY_NHS);
    server.stop()?;
    assert!(install.run_ok(&["audit", "verify"])?.contains("intact"));
    Ok(())
}

#[test]
fn an_interrupted_rotation_is_completed_at_the_next_start() -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let install = rt.block_on(Install::new(TestBackend::Sqlite))?;
    install.staff_with_token()?;
    install.run_ok(&["keys", "rotate"])?;
    // Simulate a crash after the database switched but before the key file was replaced: the new key
    // sits in master.key.new and master.key still holds the old one.
    let new_key = std::fs::read(install.key_path())?;
    let pending = install.data_dir().join("master.key.new");
    std::fs::write(&pending, &new_key)?;
    std::fs::set_permissions(&pending, std::fs::Permissions::from_mode(0o600))?;
    std::fs::write(
        install.key_path(),
        confidant_crypto::MasterKey::generate().to_hex().as_bytes(),
    )?;
    install.run_ok(&["audit", "head"])?;
    assert_eq!(std::fs::read(install.key_path())?, new_key);
    assert!(!pending.exists());
    Ok(())
}

#[test]
fn invalid_identifiers_get_422_naming_the_field_and_nothing_is_stored() -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let install = rt.block_on(Install::new(TestBackend::Sqlite))?;
    let (service, token) = install.staff_with_token()?;
    let server = install.serve()?;
    let people = server.url(&format!("/api/v1/services/{service}/people"));
    let base = json!({"given_name": "Ada", "family_name": CANARY_NAME});
    let cases = [
        ("nhs_number", json!("9434765918")),
        ("ni_number", json!("QQ123456C")),
        ("postcode", json!("QA1 1AA")),
        ("date_of_birth", json!("1980-02-30")),
        ("date_of_birth", json!("2999-01-01")),
        ("email", json!("not an email")),
    ];
    rt.block_on(async {
        for (field, value) in &cases {
            let mut body = base.clone();
            body[*field] = value.clone();
            let res = client()
                .post(&people)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await?;
            assert_eq!(res.status(), 422, "{field}");
            let text = res.text().await?;
            let err: Value = serde_json::from_str(&text)?;
            assert_eq!(err["fields"][0]["field"], *field, "{text}");
            assert!(
                !text.contains(value.as_str().unwrap_or_default()),
                "the value is not echoed: {text}"
            );
        }
        // A field the catalogue does not have: refused by name (`fields`), its value not echoed.
        let res = client()
            .post(&people)
            .bearer_auth(&token)
            .json(&json!({"given_name": "Ada", "surname": CANARY_NAME}))
            .send()
            .await?;
        assert_eq!(res.status(), 422);
        let text = res.text().await?;
        assert!(text.contains(r#""field":"fields""#), "{text}");
        assert!(!text.contains(CANARY_NAME));
        // A value of the wrong type, broken JSON: clear errors, no echo.
        for body in [r#"{"given_name": 7, "family_name": "Zqxcanaryname"}"#, "{"] {
            let res = client()
                .post(&people)
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await?;
            assert_eq!(res.status(), 400);
            assert!(!res.text().await?.contains(CANARY_NAME));
        }
        let res = client()
            .post(&people)
            .bearer_auth(&token)
            .json(&json!({"family_name": "X"}))
            .send()
            .await?;
        assert_eq!(res.status(), 422);
        let list: Value = client()
            .get(&people)
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        assert_eq!(
            list["people"].as_array().map(Vec::len),
            Some(0),
            "nothing stored"
        );
        anyhow::Ok(())
    })?;
    let logs = server.stop()?;
    assert!(contains(&logs, "input refused"), "the rejection is logged");
    assert!(!contains(&logs, CANARY_NAME) && !contains(&logs, "9434765918"));
    Ok(())
}

#[test]
fn the_privacy_canary_reaches_no_file_and_no_log() -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let install = rt.block_on(Install::new(TestBackend::Sqlite))?;
    let (service, token) = install.staff_with_token()?;
    let server = install.serve()?;
    rt.block_on(async {
        let created: Value = client()
            .post(server.url(&format!("/api/v1/services/{service}/people")))
            .bearer_auth(&token)
            .json(&json!({
                "given_name": "Ada", "family_name": CANARY_NAME, "address": format!("1 {CANARY_ADDRESS} Street"),
                "nhs_number": CANARY_NHS, "postcode": "LS1 1BA"
            }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let id = created["id"].as_str().unwrap_or_default().to_owned();
        let read: Value = client().get(server.url(&format!("/api/v1/people/{id}"))).bearer_auth(&token).send().await?.json().await?;
        assert_eq!(read["family_name"], CANARY_NAME);
        let found: Value = client()
            .post(server.url(&format!("/api/v1/services/{service}/people/lookups")))
            .bearer_auth(&token)
            .json(&json!({"field": "nhs_number", "value": CANARY_NHS}))
            .send()
            .await?
            .json()
            .await?;
        assert_eq!(found["person_ids"][0], id.as_str());
        // Adding them again is refused as a possible duplicate, naming the id only.
        let again = client()
            .post(server.url(&format!("/api/v1/services/{service}/people")))
            .bearer_auth(&token)
            .json(&json!({"given_name": "Ada", "family_name": CANARY_NAME, "nhs_number": CANARY_NHS}))
            .send()
            .await?;
        assert_eq!(again.status(), reqwest::StatusCode::CONFLICT);
        let again = again.text().await?;
        assert!(again.contains(&id) && !again.contains(CANARY_NAME) && !again.contains(CANARY_NHS), "{again}");
        // A nosy query string is not logged either.
        client().get(server.url(&format!("/api/v1/people/{id}?name={CANARY_NAME}"))).bearer_auth(&token).send().await?;
        anyhow::Ok(())
    })?;
    // While the server is still running the WAL holds the latest writes.
    let live = file_digest(&install.db_path())?;
    let logs = server.stop()?;
    let closed = file_digest(&install.db_path())?;
    for marker in [CANARY_NAME, CANARY_ADDRESS, CANARY_NHS] {
        assert!(
            !contains(&live, marker),
            "{marker} in the database file or WAL"
        );
        assert!(!contains(&closed, marker), "{marker} in the database file");
        assert!(!contains(&logs, marker), "{marker} in the logs");
    }
    assert!(contains(&logs, "request"), "the logs were captured");
    Ok(())
}

#[test]
fn configuration_errors_name_the_key_and_config_show_redacts_secrets() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("confidant.toml");
    std::fs::write(&file, "data_dir = \"x\"\nlisten = \"not-an-address\"\n")?;
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&file)
        .args(["config", "show"])
        .output()?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("listen"));

    std::fs::write(&file, "data_dir = \"x\"\nmaster_key = \"abc\"\n")?;
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&file)
        .args(["config", "show"])
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("master_key"), "{err}");

    let out = Command::new(BIN)
        .args(["config", "show"])
        .env("CONFIDANT_MAX_CONNECTIONS", "0")
        .output()?;
    assert!(String::from_utf8_lossy(&out.stderr).contains("max_connections"));

    let out = Command::new(BIN)
        .args(["config", "show"])
        .env(
            "CONFIDANT_DATABASE_URL",
            "postgres://app:hunter2@db.example/confidant",
        )
        .env("CONFIDANT_MASTER_KEY", "00".repeat(32))
        .output()?;
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        !shown.contains("hunter2") && shown.contains("[redacted]"),
        "{shown}"
    );
    assert!(!shown.contains(&"00".repeat(32)));
    Ok(())
}

#[test]
fn the_openapi_document_describes_the_api() -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let install = rt.block_on(Install::new(TestBackend::Sqlite))?;
    let server = install.serve()?;
    let doc: Value = rt.block_on(async {
        client()
            .get(server.url("/api/v1/openapi.json"))
            .send()
            .await?
            .json()
            .await
    })?;
    assert!(
        doc["openapi"]
            .as_str()
            .unwrap_or_default()
            .starts_with("3.")
    );
    for path in [
        "/api/v1/people/{person_id}",
        "/api/v1/services/{service_id}/people",
        "/api/v1/services/{service_id}/people/lookups",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    let health = rt.block_on(async { client().get(server.url("/healthz")).send().await })?;
    assert_eq!(health.status(), 200);
    assert_eq!(health.headers()["cache-control"], "no-store");
    assert!(
        health.headers()["content-security-policy"]
            .to_str()?
            .contains("frame-ancestors 'none'")
    );
    server.stop()?;
    Ok(())
}

/// What clients were answered with a 2xx while a load ran: the people created (201) and the
/// people read (200), each once per answer.
#[derive(Debug, Default)]
struct Answered {
    created: Vec<String>,
    read: Vec<String>,
    /// Answers per server, in the order the servers were given.
    per_server: Vec<usize>,
}

/// Runs writers (creating people) and readers (reading people created so far) against `servers`,
/// the clients spread over them, until `stop` is set or each has made `cap` calls; a client stops
/// at its first failed call (the server was killed). Every 2xx answer is recorded.
fn mixed_load(
    rt: &tokio::runtime::Runtime,
    servers: &[&Server],
    service: &str,
    token: &str,
    stop: &Arc<std::sync::atomic::AtomicBool>,
    cap: usize,
) -> (Arc<Mutex<Answered>>, Vec<tokio::task::JoinHandle<()>>) {
    use std::sync::atomic::Ordering::Relaxed;
    let answered = Arc::new(Mutex::new(Answered {
        per_server: vec![0; servers.len()],
        ..Answered::default()
    }));
    let mut clients = Vec::new();
    for c in 0..8usize {
        let which = c % servers.len();
        let base = servers[which].url("");
        let create = format!("{base}/api/v1/services/{service}/people");
        let (token, answered, stop) = (token.to_owned(), answered.clone(), stop.clone());
        let writer = (c / 2) % 2 == 0;
        clients.push(rt.spawn(async move {
            let client = client();
            for n in 0..cap {
                if stop.load(Relaxed) {
                    break;
                }
                if writer {
                    let res = client
                        .post(&create)
                        .bearer_auth(&token)
                        .json(&json!({"given_name": format!("Writer{c}"), "family_name": format!("Number{n}")}))
                        .send()
                        .await;
                    let Ok(r) = res else { break };
                    if r.status() != 201 {
                        break;
                    }
                    let Ok(v) = r.json::<Value>().await else { break };
                    if let (Some(id), Ok(mut a)) = (v["id"].as_str(), answered.lock()) {
                        a.created.push(id.to_owned());
                        a.per_server[which] += 1;
                    }
                } else {
                    let pick = answered
                        .lock()
                        .ok()
                        .and_then(|a| (!a.created.is_empty()).then(|| a.created[(n * 7 + c) % a.created.len()].clone()));
                    let Some(id) = pick else {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    };
                    let res = client
                        .get(format!("{base}/api/v1/people/{id}"))
                        .bearer_auth(&token)
                        .send()
                        .await;
                    let Ok(r) = res else { break };
                    if r.status() != 200 {
                        break;
                    }
                    // Answered only once the whole body has arrived.
                    if r.bytes().await.is_err() {
                        break;
                    }
                    if let Ok(mut a) = answered.lock() {
                        a.read.push(id);
                        a.per_server[which] += 1;
                    }
                }
            }
        }));
    }
    (answered, clients)
}

/// How many events of `action` name each person (by subject), read straight from the database.
fn events_by_subject(
    install: &Install,
    action: &str,
) -> anyhow::Result<std::collections::HashMap<String, usize>> {
    let url = match &install.pg {
        Some(pg) => pg.url.clone(),
        None => format!("sqlite://{}?mode=rw", install.db_path().display()),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&url).await?;
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT subject_id FROM audit_event WHERE action = $1 AND outcome = 'ok' AND subject_id IS NOT NULL",
        )
        .bind(action)
        .fetch_all(&mut conn)
        .await?;
        conn.close().await?;
        let mut counts = std::collections::HashMap::new();
        for (subject,) in rows {
            *counts.entry(subject).or_insert(0) += 1;
        }
        anyhow::Ok(counts)
    })
}

/// Every answered create has its `person.create` event and every answered read its `person.read`
/// event (a person answered k times has at least k read events), counted straight from the
/// database before anything else reads it; then `audit verify` passes.
fn every_answer_has_its_event(install: &Install, answered: &Answered) -> anyhow::Result<()> {
    let created = events_by_subject(install, "person.create")?;
    for id in &answered.created {
        assert!(
            created.contains_key(id),
            "the answered create of {id} has its event"
        );
    }
    let read = events_by_subject(install, "person.read")?;
    let mut answers = std::collections::HashMap::<&str, usize>::new();
    for id in &answered.read {
        *answers.entry(id).or_insert(0) += 1;
    }
    for (id, n) in answers {
        let events = read.get(id).copied().unwrap_or(0);
        assert!(
            events >= n,
            "{id} was answered {n} time(s) but has {events} read event(s)"
        );
    }
    let verified = install.run_ok(&["audit", "verify"])?;
    assert!(verified.contains("intact"), "{verified}");
    Ok(())
}

/// Reads and writes from several clients, kills the server with SIGKILL mid-load, restarts it, and
/// checks that every acknowledged write is there, every answered read and write has its audit
/// event, and the audit chain verifies.
fn killing_the_server_mid_load_loses_no_acknowledged_write_or_event(
    backend: TestBackend,
) -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let install = rt.block_on(Install::new(backend))?;
    let (service, token) = install.staff_with_token()?;
    let server = install.serve()?;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (answered, clients) = mixed_load(&rt, &[&server], &service, &token, &stop, 2000);
    let started = Instant::now();
    let enough = || {
        answered
            .lock()
            .map(|a| a.created.len() >= 40 && a.read.len() >= 40)
            .unwrap_or(false)
    };
    while !enough() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill()?;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for c in clients {
        rt.block_on(c)?;
    }
    let answered = std::mem::take(&mut *answered.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    assert!(
        answered.created.len() >= 40 && answered.read.len() >= 40,
        "enough calls were answered before the kill ({} writes, {} reads)",
        answered.created.len(),
        answered.read.len()
    );

    // Counted before the restart: the checks below read every person again, and those reads
    // would otherwise stand in for events the kill lost.
    every_answer_has_its_event(&install, &answered)?;
    let server = install.serve()?;
    rt.block_on(async {
        for id in &answered.created {
            let res = client()
                .get(server.url(&format!("/api/v1/people/{id}")))
                .bearer_auth(&token)
                .send()
                .await?;
            assert_eq!(res.status(), 200, "acknowledged write {id} survived");
        }
        anyhow::Ok(())
    })?;
    server.stop()?;
    let verified = install.run_ok(&["audit", "verify"])?;
    assert!(verified.contains("intact"), "{verified}");
    Ok(())
}

#[test]
fn killing_the_server_mid_load_loses_no_acknowledged_write_or_event_on_sqlite() -> anyhow::Result<()>
{
    killing_the_server_mid_load_loses_no_acknowledged_write_or_event(TestBackend::Sqlite)
}

#[test]
fn killing_the_server_mid_load_loses_no_acknowledged_write_or_event_on_postgres()
-> anyhow::Result<()> {
    killing_the_server_mid_load_loses_no_acknowledged_write_or_event(TestBackend::Postgres)
}

/// Two `serve` processes on one PostgreSQL database (the way Confidant scales out), each under
/// mixed load at once: both answer, every answer has its event, and the chain is one unbroken
/// sequence (`audit verify`).
#[test]
fn two_serve_processes_on_one_postgres_database_keep_one_chain() -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let install = rt.block_on(Install::new(TestBackend::Postgres))?;
    let (service, token) = install.staff_with_token()?;
    let (first, second) = (install.serve()?, install.serve()?);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (answered, clients) = mixed_load(&rt, &[&first, &second], &service, &token, &stop, 150);
    for c in clients {
        rt.block_on(c)?;
    }
    first.stop()?;
    second.stop()?;
    let answered = std::mem::take(&mut *answered.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    assert!(
        answered.per_server.iter().all(|n| *n >= 100),
        "both processes answered under load: {:?}",
        answered.per_server
    );
    every_answer_has_its_event(&install, &answered)
}

#[test]
fn an_invalid_organisation_policy_stops_start_up_naming_its_file_and_line() -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let install = rt.block_on(Install::new(TestBackend::Sqlite))?;
    let dir = install.data_dir().join("config").join("policies");
    std::fs::create_dir_all(&dir)?;
    // Line 3 names an attribute the schema does not have.
    std::fs::write(
        dir.join("local.cedar"),
        "// Our own rule.\nforbid(principal, action, resource)\nwhen { principal.shoe_size > 40 };\n",
    )?;
    let out = install.run(&["serve", "--listen", "127.0.0.1:0"])?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "it started: {err}");
    assert!(err.contains("local.cedar:3:"), "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("serving"));

    // A syntax error is refused the same way.
    std::fs::write(dir.join("local.cedar"), "permit(principal, action\n")?;
    let out = install.run(&["serve", "--listen", "127.0.0.1:0"])?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("local.cedar:"),
        "{err}"
    );

    // A valid policy that tightens access: nobody reads people any more, and it starts.
    std::fs::write(
        dir.join("local.cedar"),
        "forbid(principal, action == Confidant::Action::\"person.read\", resource);\n",
    )?;
    let (_, token) = install.staff_with_token()?;
    let server = install.serve()?;
    let me = server.url("/api/v1/me");
    rt.block_on(async {
        let res = client().get(&me).bearer_auth(&token).send().await?;
        assert_eq!(res.status(), 200);
        anyhow::Ok(())
    })?;
    server.stop()?;
    Ok(())
}

#[test]
fn a_disabled_user_and_a_revoked_token_are_refused_at_once() -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let install = rt.block_on(Install::new(TestBackend::Sqlite))?;
    let (service, token) = install.staff_with_token()?;
    let read_only = install.run_ok(&["token", "issue", "tester", "--scope", "read"])?;
    let server = install.serve()?;
    let people = server.url(&format!("/api/v1/services/{service}/people"));
    rt.block_on(async {
        let res = client().get(&people).bearer_auth(&read_only).send().await?;
        assert_eq!(res.status(), 200);
        // A read-only token may not change anything.
        let res = client()
            .post(&people)
            .bearer_auth(&read_only)
            .json(&json!({"given_name": "Ada", "family_name": "Lovelace"}))
            .send()
            .await?;
        assert_eq!(res.status(), 403);
        assert!(res.text().await?.contains("read_only_token"));
        let res = client().get(&people).bearer_auth(&token).send().await?;
        assert_eq!(res.status(), 200);
        anyhow::Ok(())
    })?;
    let out = install.run_ok(&["user", "disable", "tester"])?;
    assert!(out.contains("disabled"), "{out}");
    rt.block_on(async {
        for t in [&token, &read_only] {
            let res = client().get(&people).bearer_auth(t).send().await?;
            assert_eq!(res.status(), 401);
        }
        anyhow::Ok(())
    })?;
    server.stop()?;
    // Disabled, never deleted: the account is still listed.
    let org_line = install.run_ok(&["org", "list"])?;
    let org = org_line
        .split('\t')
        .next()
        .ok_or_else(|| anyhow::anyhow!("no organisation"))?;
    let users = install.run_ok(&["user", "list", "--organisation", org])?;
    assert!(
        users.contains("tester") && users.contains("disabled"),
        "{users}"
    );
    Ok(())
}

#[test]
fn user_add_prints_a_strong_password_once_and_training_is_needed_for_personal_data()
-> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let install = rt.block_on(Install::new(TestBackend::Sqlite))?;
    let org = install.run_ok(&["org", "create", "Test Organisation"])?;
    let service = install.run_ok(&["service", "create", "--organisation", &org, "Test Service"])?;
    let out = install.run_ok(&[
        "user",
        "add",
        "--organisation",
        &org,
        "--service",
        &service,
        "--role",
        "practitioner",
        "newcomer",
    ])?;
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("first password (shown once): "))
        .ok_or_else(|| anyhow::anyhow!("no password printed: {out}"))?;
    assert!(password.chars().count() >= 12);
    // The password is stored only as an Argon2id hash.
    assert!(!contains(&std::fs::read(install.db_path())?, password));
    let token = install.run_ok(&["token", "issue", "newcomer"])?;
    let server = install.serve()?;
    let people = server.url(&format!("/api/v1/services/{service}/people"));
    rt.block_on(async {
        let res = client().get(&people).bearer_auth(&token).send().await?;
        assert_eq!(res.status(), 403);
        assert!(res.text().await?.contains("training_lapsed"));
        anyhow::Ok(())
    })?;
    install.run_ok(&["user", "training", "newcomer"])?;
    rt.block_on(async {
        let res = client().get(&people).bearer_auth(&token).send().await?;
        assert_eq!(res.status(), 200);
        anyhow::Ok(())
    })?;
    server.stop()?;
    let bad = install.run(&["user", "training", "newcomer", "--kind", "juggling"])?;
    assert!(!bad.status.success());
    Ok(())
}

#[test]
fn serving_tls_sends_hsts_and_secure_host_cookies() -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let install = rt.block_on(Install::new(TestBackend::Sqlite))?;
    let cert = install.dir.path().join("cert.pem");
    let key = install.dir.path().join("key.pem");
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()?;
    anyhow::ensure!(made.status.success(), "openssl failed");
    let mut cmd = install.command(&["serve", "--listen", "127.0.0.1:0"]);
    cmd.env("CONFIDANT_TLS_CERT_FILE", &cert)
        .env("CONFIDANT_TLS_KEY_FILE", &key);
    let server = Server::start(cmd)?;
    assert!(server.base.starts_with("https://"), "{}", server.base);
    let out = Command::new("curl")
        .args(["-ksS", "-D", "-", "-o", "/dev/null"])
        .arg(server.url("/sign-in"))
        .output()?;
    let headers = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(headers.starts_with("http/"), "{headers}");
    assert!(headers.contains(" 200"), "{headers}");
    assert!(
        headers.contains("strict-transport-security: max-age=31536000; includesubdomains"),
        "{headers}"
    );
    assert!(
        headers.contains("set-cookie: __host-confidant-csrf="),
        "{headers}"
    );
    assert!(headers.contains("secure"), "{headers}");
    assert!(headers.contains("httponly") && headers.contains("samesite=strict"));
    server.stop()?;
    Ok(())
}

#[test]
fn service_configure_sets_the_field_groups_the_api_then_enforces() -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let install = rt.block_on(Install::new(TestBackend::Sqlite))?;
    let (service, token) = install.staff_with_token()?;
    // An unknown group is refused, naming it and the known ones; nothing changes.
    let bad = install.run(&[
        "service",
        "configure",
        "--service",
        &service,
        "--groups",
        "health,astrology",
    ])?;
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("astrology") && stderr.contains("criminal_justice"),
        "{stderr}"
    );
    // A partner policy needs a partner service.
    let bad = install.run(&[
        "service",
        "configure",
        "--service",
        &service,
        "--groups",
        "health",
        "--referrals",
        "partner",
    ])?;
    assert!(!bad.status.success());
    let out = install.run_ok(&[
        "service",
        "configure",
        "--service",
        &service,
        "--groups",
        "health",
    ])?;
    assert!(out.contains("identity,health"), "{out}");
    let server = install.serve()?;
    rt.block_on(async {
        let people = server.url(&format!("/api/v1/services/{service}/people"));
        let res = client()
            .post(&people)
            .bearer_auth(&token)
            .json(&serde_json::json!({
                "given_name": "Ada",
                "family_name": "Lovelace",
                "mental_health": "well",
                "convictions": "none"
            }))
            .send()
            .await?;
        assert_eq!(res.status(), 422);
        let body: serde_json::Value = res.json().await?;
        let fields: Vec<&str> = body["fields"]
            .as_array()
            .map(|a| a.iter().filter_map(|f| f["field"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(fields, vec!["convictions"]);
        let res = client()
            .get(server.url(&format!("/api/v1/services/{service}/configuration")))
            .bearer_auth(&token)
            .send()
            .await?;
        let config: serde_json::Value = res.json().await?;
        let collected: Vec<&str> = config["field_groups"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|g| g["collected"] == true)
                    .filter_map(|g| g["code"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(collected, vec!["identity", "health"]);
        anyhow::Ok(())
    })?;
    server.stop()?;
    Ok(())
}

/// The register of processing activities (F5): each example passes `config check`; a register
/// with a fault is refused naming its file, line and the fault, and Confidant does not start on
/// it; a valid one publishes each service's notice, public at `/privacy/<service>`.
#[test]
fn the_register_is_checked_and_an_invalid_one_stops_start_up() -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let install = rt.block_on(Install::new(TestBackend::Sqlite))?;
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&examples)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            let path_text = path.to_string_lossy().into_owned();
            let out = install.run_ok(&["config", "check", "--register", &path_text])?;
            assert!(out.contains("valid: "), "{out}");
            checked += 1;
        }
    }
    assert!(checked >= 3, "{checked} examples");

    // A fault: an activity names a retention rule the register does not have.
    let text = std::fs::read_to_string(examples.join("recovery.toml"))?;
    let at = text
        .find("\nretention = \"")
        .ok_or_else(|| anyhow::anyhow!("no activity retention"))?;
    let header = text[..at]
        .rfind("[[activity]]")
        .ok_or_else(|| anyhow::anyhow!("no activity"))?;
    let line = text[..header].matches('\n').count() + 1;
    let end = text[at + 1..].find('\n').map_or(text.len(), |e| at + 1 + e);
    let faulty = format!("{}\nretention = \"nowhere\"{}", &text[..at], &text[end..]);
    let config_dir = install.data_dir().join("config");
    std::fs::create_dir_all(&config_dir)?;
    let file = config_dir.join("register.toml");
    std::fs::write(&file, &faulty)?;
    let out = install.run(&["config", "check"])?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("register.toml:{line}:")) && err.contains("`nowhere`"),
        "{err}"
    );
    let out = install.run(&["serve", "--listen", "127.0.0.1:0"])?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "it started: {err}");
    assert!(err.contains(&format!("register.toml:{line}:")), "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("serving"));

    // `register diff` reads only its two files (the installation's register is the faulty one
    // here): a fault in either is named with its file and line, and a change is listed.
    let example = examples
        .join("recovery.toml")
        .to_string_lossy()
        .into_owned();
    let faulty_path = file.to_string_lossy().into_owned();
    let out = install.run(&["register", "diff", &example, &faulty_path])?;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("register.toml:{line}:")), "{err}");
    let shorter = install.data_dir().join("shorter.toml");
    std::fs::write(
        &shorter,
        text.replacen("period = \"10 years\"", "period = \"8 years\"", 1),
    )?;
    let shorter = shorter.to_string_lossy().into_owned();
    let out = install.run_ok(&["register", "diff", &example, &shorter])?;
    assert!(
        out.contains("~ `case_records`: period from \"10 years\" to \"8 years\"")
            && out.contains("The people of `recovery`:"),
        "{out}"
    );

    // The valid register: Confidant starts and publishes the notices, with no sign-in needed.
    std::fs::write(&file, &text)?;
    let csv = install.run_ok(&["register", "csv"])?;
    assert!(csv.starts_with("controller,"), "{csv}");
    let pdf_file = install.data_dir().join("notice.pdf");
    let pdf_path = pdf_file.to_string_lossy().into_owned();
    install.run_ok(&["register", "notice", "recovery", "--pdf", &pdf_path])?;
    assert!(std::fs::read(&pdf_file)?.starts_with(b"%PDF-"));
    let server = install.serve()?;
    let pdf = server.url("/privacy/recovery/notice.pdf");
    let page = server.url("/privacy/recovery");
    let markdown = server.url("/privacy/recovery/notice.md");
    let missing = server.url("/privacy/nowhere");
    rt.block_on(async {
        let res = client().get(&page).send().await?;
        assert_eq!(res.status(), 200);
        let body = res.text().await?;
        assert!(body.contains("Version 1, published on"), "{body}");
        assert!(body.contains("We make no decisions about you by automated means"));
        assert!(
            body.contains("/privacy/recovery/notice.pdf"),
            "no link to the PDF"
        );
        let res = client().get(&markdown).send().await?;
        assert_eq!(res.status(), 200);
        assert!(
            res.headers()[reqwest::header::CONTENT_TYPE]
                .to_str()?
                .starts_with("text/markdown")
        );
        assert!(res.text().await?.starts_with("# Privacy notice: "));
        let res = client().get(&pdf).send().await?;
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()[reqwest::header::CONTENT_TYPE],
            "application/pdf"
        );
        assert_eq!(
            res.headers()[reqwest::header::CONTENT_DISPOSITION],
            "inline; filename=notice.pdf"
        );
        assert!(res.bytes().await?.starts_with(b"%PDF-"));
        assert_eq!(client().get(&missing).send().await?.status(), 404);
        anyhow::Ok(())
    })?;
    server.stop()?;
    let changes = install.run_ok(&["register", "changes", "recovery"])?;
    assert!(changes.contains("version 1"), "{changes}");
    Ok(())
}

#[test]
fn destroy_removes_a_record_and_prints_a_signed_certificate_that_names_no_one() -> anyhow::Result<()>
{
    let rt = tokio::runtime::Runtime::new()?;
    let install = rt.block_on(Install::new(TestBackend::Sqlite))?;
    let (service, token) = install.staff_with_token()?;
    let server = install.serve()?;
    let person: Value = rt.block_on(async {
        client()
            .post(server.url(&format!("/api/v1/services/{service}/people")))
            .bearer_auth(&token)
            .json(
                &json!({"given_name": "Ada", "family_name": CANARY_NAME, "nhs_number": CANARY_NHS}),
            )
            .send()
            .await?
            .json()
            .await
    })?;
    server.stop()?;
    let id = person["id"].as_str().unwrap_or_default().to_owned();
    assert!(!id.is_empty(), "{person}");

    // A reason naming the person is refused, and nothing is destroyed.
    let (code, _, err) = outcome(
        &install,
        &[
            "destroy",
            &id,
            "--basis",
            "dpo_decision",
            "--reason",
            &format!("Duplicate of {CANARY_NAME}"),
        ],
    )?;
    assert_ne!(code, 0);
    assert!(err.contains("nothing was destroyed"), "{err}");
    assert!(!err.contains(CANARY_NAME), "the value is not echoed: {err}");

    let out = install.data_dir().join("certificate.json");
    let (code, stdout, err) = outcome(
        &install,
        &[
            "destroy",
            &id,
            "--basis",
            "dpo_decision",
            "--reason",
            "Created in error and reviewed",
            "--out",
            out.to_str().unwrap_or_default(),
        ],
    )?;
    assert_eq!(code, 0, "{err}");
    let printed: Value = serde_json::from_str(&stdout)?;
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&out)?)?;
    assert_eq!(printed, written);
    let body = printed["body"].as_str().unwrap_or_default();
    assert!(
        body.contains(&id),
        "the certificate names the record by its id"
    );
    assert!(!body.contains(CANARY_NAME) && !body.contains(CANARY_NHS) && !body.contains("Ada"));
    // The signature is the installation's audit key's, over the body's bytes.
    let (code, public, _) = outcome(&install, &["audit", "public-key"])?;
    assert_eq!(code, 0);
    assert_eq!(printed["public_key"].as_str(), Some(public.trim()));
    let key = confidant_crypto::audit_key::AuditPublicKey::from_hex(public.trim())?;
    let signature: [u8; 64] = hex::decode(printed["signature"].as_str().unwrap_or_default())?
        .try_into()
        .map_err(|_| anyhow::anyhow!("a signature is 64 bytes"))?;
    assert!(key.verify(body.as_bytes(), &signature).is_ok());
    assert!(
        key.verify(body.replace("reviewed", "reviewer").as_bytes(), &signature)
            .is_err()
    );
    // Never overwritten; destroying again finds nothing; the chain verifies.
    let (code, _, err) = outcome(
        &install,
        &[
            "destroy",
            &id,
            "--reason",
            "Created in error",
            "--out",
            out.to_str().unwrap_or_default(),
        ],
    )?;
    assert_ne!(code, 0, "{err}");
    let (code, _, err) = outcome(
        &install,
        &[
            "destroy",
            &id,
            "--basis",
            "erasure",
            "--reason",
            "Created in error",
        ],
    )?;
    assert_ne!(code, 0);
    assert!(err.contains("no record with that id"), "{err}");
    let (code, _, err) = outcome(&install, &["audit", "verify"])?;
    assert_eq!(code, 0, "{err}");
    Ok(())
}
