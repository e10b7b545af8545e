//! `confidant backup` and `confidant restore` as an operator runs them, on SQLite and PostgreSQL:
//! a backup taken while serving, before a destruction, restored with the installation's keys and
//! its newer erasure ledger, serves everyone but the destroyed person (whose key is nowhere in the
//! restored files); its audit chain verifies; a backup altered in any file or in its manifest, or
//! opened with another master key, is refused and nothing is written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use confidant_testkit::{TestBackend, TestDb};
use serde_json::{Value, json};

use crate::cli::Install;
use crate::common::Server;

const BIN: &str = env!("CARGO_BIN_EXE_confidant");

/// The restored place: a data directory, and on PostgreSQL an empty database.
struct Target {
    dir: PathBuf,
    pg: Option<TestDb>,
    master: String,
    audit_key: String,
}

impl Target {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("--data-dir").arg(&self.dir);
        if let Some(pg) = &self.pg {
            cmd.arg("--database-url").arg(&pg.url);
        }
        cmd.args(args)
            .env("CONFIDANT_MASTER_KEY", &self.master)
            .env("CONFIDANT_AUDIT_SIGNING_KEY", &self.audit_key)
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> anyhow::Result<Output> {
        Ok(self.command(args).output()?)
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Whether the bytes hold the key, as stored (SQLite) or as `pg_dump` writes a bytea (hex).
fn bytes_hold(haystack: &[u8], needle: &[u8]) -> bool {
    let hex: String = needle.iter().map(|b| format!("{b:02x}")).collect();
    haystack.windows(needle.len()).any(|w| w == needle)
        || haystack.windows(hex.len()).any(|w| w == hex.as_bytes())
}

/// Every byte of the restored data and key store, as files or `pg_dump`s.
fn restored_bytes(target: &Target) -> anyhow::Result<Vec<u8>> {
    match &target.pg {
        None => {
            let mut all = Vec::new();
            for file in ["confidant.db", "confidant-keys.db"] {
                for suffix in ["", "-wal"] {
                    let path = target.dir.join(format!("{file}{suffix}"));
                    if path.exists() {
                        all.extend(std::fs::read(path)?);
                    }
                }
            }
            Ok(all)
        }
        Some(pg) => {
            let mut all = pg.raw_bytes()?;
            all.extend(pg.raw_key_bytes()?);
            Ok(all)
        }
    }
}

async fn wrapped_key(install_keys: &str, person: &str) -> anyhow::Result<Vec<u8>> {
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(install_keys).await?;
    let wrapped: Vec<u8> = sqlx::query_scalar("SELECT wrapped FROM vault_key WHERE owner_id = $1")
        .bind(person)
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    Ok(wrapped)
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        std::fs::copy(entry.path(), to.join(entry.file_name()))?;
    }
    Ok(())
}

async fn target(
    backend: TestBackend,
    install: &Install,
    root: &Path,
    name: &str,
) -> anyhow::Result<Target> {
    let data = install.data_dir();
    Ok(Target {
        dir: root.join(name),
        pg: match backend {
            TestBackend::Sqlite => None,
            TestBackend::Postgres => Some(TestDb::new(TestBackend::Postgres).await?),
        },
        master: std::fs::read_to_string(data.join("master.key"))?
            .trim()
            .to_owned(),
        audit_key: std::fs::read_to_string(data.join("audit-signing.key"))?
            .trim()
            .to_owned(),
    })
}

fn a_backup_from_before_a_destruction_restores_without_the_person(
    backend: TestBackend,
) -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    let install = rt.block_on(Install::new(backend))?;
    let root = tempfile::tempdir()?;
    let (service, token) = install.staff_with_token()?;
    let server = install.serve()?;
    let client = reqwest::Client::new();
    let create = |family: &'static str| {
        let (client, server, service, token) = (&client, &server, &service, &token);
        async move {
            let person: Value = client
                .post(server.url(&format!("/api/v1/services/{service}/people")))
                .bearer_auth(token)
                .json(&json!({"given_name": "Ada", "family_name": family}))
                .send()
                .await?
                .json()
                .await?;
            anyhow::Ok(person["id"].as_str().unwrap_or_default().to_owned())
        }
    };
    let gone = rt.block_on(create("Zqbackupgone"))?;
    let kept = rt.block_on(create("Zqbackupkept"))?;
    assert!(!gone.is_empty() && !kept.is_empty());

    // Taken while the server serves.
    let backup = root.path().join("backup");
    let whole = [
        "backup",
        "--out",
        backup.to_str().unwrap_or_default(),
        "--part",
        "all",
    ];
    let out = install.run_ok(&whole)?;
    assert!(out.contains("backup") && out.contains("sealed"), "{out}");
    server.stop()?;
    let manifest = std::fs::read_to_string(backup.join("manifest.json"))?;
    assert!(!manifest.contains("Zqbackup"));
    let again = install.run(&whole)?;
    assert!(!again.status.success(), "a backup never overwrites another");
    // The key store on a cycle of its own: a key store backup, then a data backup, from before the
    // destruction (and another key store backup from after it, below).
    let dir = |name: &str| {
        root.path()
            .join(name)
            .to_str()
            .unwrap_or_default()
            .to_owned()
    };
    install.run_ok(&["backup", "--out", &dir("keys-before"), "--part", "keys"])?;
    install.run_ok(&["backup", "--out", &dir("data-only"), "--part", "data"])?;

    let keys_url = confidant_store::key_store_url(&match backend {
        TestBackend::Sqlite => {
            confidant_store::sqlite_url(&install.data_dir().join("confidant.db"))
        }
        TestBackend::Postgres => install.database_url().unwrap_or_default(),
    })?;
    let gone_key = rt.block_on(wrapped_key(&keys_url, &gone))?;
    let kept_key = rt.block_on(wrapped_key(&keys_url, &kept))?;
    install.run_ok(&[
        "destroy",
        &gone,
        "--basis",
        "dpo_decision",
        "--reason",
        "Retention period ended and reviewed",
    ])?;

    install.run_ok(&["backup", "--out", &dir("keys-after"), "--part", "keys"])?;

    // Refused, writing nothing: a file altered, the manifest altered, another master key; a data
    // backup without keys; keys older than the data.
    let altered = root.path().join("altered");
    copy_dir(&backup, &altered)?;
    let mut data = std::fs::read(altered.join("data.sealed"))?;
    let middle = data.len() / 2;
    data[middle] ^= 1;
    std::fs::write(altered.join("data.sealed"), data)?;
    let edited = root.path().join("edited");
    copy_dir(&backup, &edited)?;
    std::fs::write(
        edited.join("manifest.json"),
        manifest.replace("\"erasures\": 0", "\"erasures\": 1"),
    )?;
    for (from, why) in [(&altered, "not the one"), (&edited, "changed")] {
        let t = rt.block_on(target(backend, &install, root.path(), "refused"))?;
        let out = t.run(&["restore", "--from", from.to_str().unwrap_or_default()])?;
        assert!(!out.status.success(), "{}", text(&out));
        assert!(text(&out).contains(why), "{}", text(&out));
        assert!(!t.dir.join("confidant.db").exists());
    }
    for (args, why) in [
        (vec!["--from", &dir("data-only")], "holds no keys"),
        (
            vec![
                "--from",
                &dir("data-only"),
                "--keys-from",
                &dir("keys-before"),
            ],
            "older than the data backup",
        ),
    ] {
        let t = rt.block_on(target(backend, &install, root.path(), "refused"))?;
        let out = t.run(&[&["restore"][..], &args].concat())?;
        assert!(!out.status.success(), "{}", text(&out));
        assert!(text(&out).contains(why), "{}", text(&out));
        assert!(!t.dir.join("confidant.db").exists());
    }
    let mut stranger = rt.block_on(target(backend, &install, root.path(), "stranger"))?;
    stranger.master = "ab".repeat(32);
    let out = stranger.run(&["restore", "--from", backup.to_str().unwrap_or_default()])?;
    assert!(text(&out).contains("another master key"), "{}", text(&out));

    // Restored with the live installation's newer ledger: the person is gone again, everyone else
    // is there, the chain verifies, and it serves.
    let t = rt.block_on(target(backend, &install, root.path(), "restored"))?;
    let live = install.data_dir();
    restores_without(
        &t,
        &[
            "--from",
            backup.to_str().unwrap_or_default(),
            "--erasures-from",
            live.to_str().unwrap_or_default(),
        ],
        &gone_key,
        &kept_key,
    )?;
    // The restored files are their owner's alone, and no plain copy was left by the backups.
    if t.pg.is_none() {
        use std::os::unix::fs::PermissionsExt;
        for file in ["confidant.db", "confidant-keys.db"] {
            let mode = std::fs::metadata(t.dir.join(file))?.permissions().mode();
            assert_eq!(mode & 0o077, 0, "{file} mode {mode:o}");
        }
    }
    for entry in std::fs::read_dir(install.data_dir())? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with(".backup-"), "{name} left behind");
    }
    let verify = t.run(&["audit", "verify"])?;
    assert!(verify.status.success(), "{}", text(&verify));

    let restored = Server::start(t.command(&["serve", "--listen", "127.0.0.1:0"]))?;
    let (gone_status, kept_read) = rt.block_on(async {
        let gone = client
            .get(restored.url(&format!("/api/v1/people/{gone}")))
            .bearer_auth(&token)
            .send()
            .await?
            .status();
        let kept: Value = client
            .get(restored.url(&format!("/api/v1/people/{kept}")))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        anyhow::Ok((gone, kept))
    })?;
    restored.stop()?;
    assert_eq!(gone_status, reqwest::StatusCode::NOT_FOUND);
    assert_eq!(kept_read["family_name"], "Zqbackupkept", "{kept_read}");

    // The data backup from before with the key store backup from after: the destroyed person's key
    // was never in it, and its ledger takes their rows again.
    let t = rt.block_on(target(backend, &install, root.path(), "from-parts"))?;
    restores_without(
        &t,
        &[
            "--from",
            &dir("data-only"),
            "--keys-from",
            &dir("keys-after"),
        ],
        &gone_key,
        &kept_key,
    )
}

/// Restores with `args`, which must succeed having done the one erasure again: the destroyed
/// person's key is in no byte of the result, everyone else's is.
fn restores_without(
    target: &Target,
    args: &[&str],
    gone: &[u8],
    kept: &[u8],
) -> anyhow::Result<()> {
    let out = target.run(&[&["restore"][..], args].concat())?;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("1 erasures on the ledger done again"),
        "{}",
        text(&out)
    );
    let at_rest = restored_bytes(target)?;
    assert!(!bytes_hold(&at_rest, gone), "the destroyed key came back");
    assert!(bytes_hold(&at_rest, kept), "everyone else's key is there");
    Ok(())
}

#[test]
fn a_sqlite_backup_restores_without_a_person_destroyed_since_and_refuses_tampering()
-> anyhow::Result<()> {
    a_backup_from_before_a_destruction_restores_without_the_person(TestBackend::Sqlite)
}

#[test]
fn a_postgres_backup_restores_without_a_person_destroyed_since_and_refuses_tampering()
-> anyhow::Result<()> {
    a_backup_from_before_a_destruction_restores_without_the_person(TestBackend::Postgres)
}
