//! `confidant backup` and `confidant restore`: an encrypted, verifiable copy of an installation
//! (data, key store and erasure ledger, each sealed, with a sealed manifest; `backup.rs`), taken
//! while it serves, and its restoration into a new place, which does again every erasure on the
//! ledger before anything serves from it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use confidant_core::KeyRing;
use confidant_core::audit::{Checkpoint, verify_chain};
use confidant_core::store::AuditChain;
use confidant_store::{Backend, ErasureLedger, SqlStore, key_store_url};
use zeroize::Zeroizing;

use crate::args::BackupPart;
use crate::backup::{self, BackupKey, FORMAT, MANIFEST, Manifest, ManifestBody, ManifestFile};
use crate::config::Config;
use crate::installation::{self, open_store};
use crate::keyfile;

/// The parts of a backup, in the order they are copied: the data first, then the key store (so
/// every key the data names is in it, or was erased meanwhile and is on the ledger), then the
/// ledger, which every backup carries.
fn parts(which: BackupPart) -> &'static [&'static str] {
    match which {
        BackupPart::All => &["data", "keys", "ledger"],
        BackupPart::Data => &["data", "ledger"],
        BackupPart::Keys => &["keys", "ledger"],
    }
}

fn describe(which: BackupPart) -> &'static str {
    match which {
        BackupPart::All => "data, key store and erasure ledger",
        BackupPart::Data => "data and erasure ledger (no keys: restore it with a key store backup)",
        BackupPart::Keys => {
            "key store and erasure ledger (keep it only for the key store's short cycle)"
        }
    }
}

fn master(config: &Config) -> anyhow::Result<confidant_crypto::MasterKey> {
    let path = config.master_key_path();
    match keyfile::load(&path)? {
        Some((master, _)) => Ok(master),
        None => bail!(
            "no master key: set CONFIDANT_MASTER_KEY or put the key file at {} (nothing was changed)",
            path.display()
        ),
    }
}

/// A directory of one's own (mode 0700), new or empty.
fn fresh_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() && dir.read_dir()?.next().is_some() {
        bail!(
            "{} is not empty: a backup goes into a new directory (nothing was written)",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    #[cfg(unix)]
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    Ok(())
}

fn run_tool(mut command: Command) -> anyhow::Result<()> {
    let tool = command.get_program().to_string_lossy().into_owned();
    let out = command.output().with_context(|| {
        format!("could not run {tool} (PostgreSQL's client tools must be installed)")
    })?;
    if !out.status.success() {
        // Its messages name databases and tables, never values.
        bail!(
            "{tool} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// A PostgreSQL URL without its password, and the password (decoded): a tool gets the password in
/// its environment (`PGPASSWORD`), never on its command line, which any user of the machine can
/// read while it runs.
fn without_password(url: &str) -> anyhow::Result<(String, Option<Zeroizing<String>>)> {
    let decoded = |text: &str| -> anyhow::Result<String> {
        Ok(percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .map_err(|_| anyhow::anyhow!("the database URL's password is not UTF-8 once decoded"))?
            .into_owned())
    };
    // The query as written, but for `password=` (libpq reads the rest byte for byte, and a
    // password there wins over one in the user part, as it does for libpq).
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut from_query = None;
    let mut kept = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        match part.strip_prefix("password=") {
            Some(value) => from_query = Some(decoded(value)?),
            None => kept.push(part),
        }
    }
    let mut parsed = url::Url::parse(base)
        .map_err(|_| anyhow::anyhow!("the database URL is not a URL (postgres://…)"))?;
    let from_user = parsed.password().map(decoded).transpose()?;
    let base = if from_user.is_some() {
        parsed.set_password(None).map_err(|()| {
            anyhow::anyhow!("the database URL cannot be given without its password")
        })?;
        parsed.to_string()
    } else {
        base.to_owned()
    };
    let url = if kept.is_empty() {
        base
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, from_query.or(from_user).map(Zeroizing::new)))
}

/// A PostgreSQL client tool aimed at `url`: the URL without its password on the command line,
/// the password in the environment.
fn pg_tool(program: &str, url: &str) -> anyhow::Result<Command> {
    let (url, password) = without_password(url)?;
    let mut command = Command::new(program);
    if let Some(password) = password {
        command.env("PGPASSWORD", password.as_str());
    }
    command.arg("--dbname").arg(url);
    Ok(command)
}

fn pg_dump(url: &str, to: &Path) -> anyhow::Result<()> {
    let mut command = pg_tool("pg_dump", url)?;
    command
        .args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
        .arg(to);
    run_tool(command)
}

fn pg_restore(url: &str, from: &Path, clean: bool) -> anyhow::Result<()> {
    let mut command = pg_tool("pg_restore", url)?;
    command.args([
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
    ]);
    if clean {
        command.args(["--clean", "--if-exists"]);
    }
    command.arg(from);
    run_tool(command)
}

/// The file of a `sqlite://` URL.
fn sqlite_path(url: &str) -> PathBuf {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    PathBuf::from(path.split_once('?').map_or(path, |(p, _)| p))
}

pub(crate) async fn backup(config: &Config, out: &Path, which: BackupPart) -> anyhow::Result<()> {
    let master = master(config)?;
    let (store, keys) = open_store(config).await?;
    fresh_dir(out)?;
    // The plain copies are made beside the installation's own files (where they already are in
    // the clear), never in the backup's directory, which may be off-site storage.
    let plain = config
        .data_dir
        .join(format!(".backup-{}", uuid::Uuid::new_v4()));
    fresh_dir(&plain)?;
    let made = make(config, &store, &keys, &master, out, &plain, which).await;
    // The plain copies go whatever happened; a failed backup leaves nothing that looks whole.
    let _ = std::fs::remove_dir_all(&plain);
    store.close().await;
    let manifest = match made {
        Ok(manifest) => manifest,
        Err(e) => {
            for part in parts(which) {
                let _ = std::fs::remove_file(out.join(format!("{part}.sealed")));
            }
            return Err(e.context("no backup was made"));
        }
    };
    println!(
        "backup {} made in {}: {} ({} erasures) sealed under a key of its own, wrapped by the \
         master key {}; keep the master key apart from it",
        manifest.body.backup_id,
        out.display(),
        describe(which),
        manifest.body.erasures,
        manifest.body.master_key_id
    );
    Ok(())
}

async fn make(
    config: &Config,
    store: &SqlStore,
    keys: &KeyRing,
    master: &confidant_crypto::MasterKey,
    out: &Path,
    plain: &Path,
    which: BackupPart,
) -> anyhow::Result<Manifest> {
    let head = AuditChain::head(store).await?;
    let url = config.database_url()?;
    let (data, keys_to) = (plain.join("data"), plain.join("keys"));
    let wanted = parts(which);
    let data = wanted.contains(&"data").then_some(data.as_path());
    let keys_to = wanted.contains(&"keys").then_some(keys_to.as_path());
    match store.backend() {
        Backend::Sqlite => store.snapshot_sqlite(data, keys_to).await?,
        Backend::Postgres => {
            if let Some(to) = data {
                pg_dump(&url, to)?;
            }
            if let Some(to) = keys_to {
                pg_dump(&key_store_url(&url)?, to)?;
            }
        }
    }
    // The ledger last, and proved as copied (it must be this installation's, whole).
    let erasures = ErasureLedger::new(config.erasure_ledger_path(), keys.erasure_ledger_key())
        .copy_to(&plain.join("ledger"))?;
    let key = BackupKey::generate();
    let mut files = Vec::new();
    for part in wanted {
        let file = format!("{part}.sealed");
        let (bytes, sha256) = key.seal_file(part, &plain.join(part), &out.join(&file))?;
        files.push(ManifestFile {
            part: (*part).to_owned(),
            file,
            bytes,
            sha256,
        });
    }
    let body = ManifestBody {
        format: FORMAT.to_owned(),
        backup_id: key.id,
        made_at: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)?,
        backend: match store.backend() {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
        .to_owned(),
        master_key_id: master.key_id().to_owned(),
        wrapped_key: key.wrapped_by(master),
        audit_head: head.map(|h| h.to_string()),
        erasures,
        files,
    };
    let manifest = Manifest {
        seal: key.seal_manifest(&body)?,
        body,
    };
    // Written last and moved into place: a directory without a manifest is no backup.
    let tmp = out.join(format!("{MANIFEST}.tmp"));
    std::fs::write(&tmp, serde_json::to_vec_pretty(&manifest)?)?;
    std::fs::rename(&tmp, out.join(MANIFEST))?;
    Ok(manifest)
}

/// Where a live installation's ledger is, from `--erasures-from`: the file itself, or a data
/// directory holding `erasures.ledger`.
fn ledger_at(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("erasures.ledger")
    } else {
        path.to_path_buf()
    }
}

/// A verified backup to restore from.
struct Source<'a> {
    dir: &'a Path,
    manifest: Manifest,
    key: BackupKey,
}

impl Source<'_> {
    fn made_at(&self) -> anyhow::Result<time::OffsetDateTime> {
        time::OffsetDateTime::parse(
            &self.manifest.body.made_at,
            &time::format_description::well_known::Rfc3339,
        )
        .context("the manifest's time is malformed")
    }

    /// Opens one part into `to`, checking its size against the manifest.
    fn open(&self, part: &str, to: &Path) -> anyhow::Result<()> {
        let file = self
            .manifest
            .body
            .files
            .iter()
            .find(|f| f.part == part)
            .with_context(|| format!("the backup holds no {part}"))?;
        let bytes = self.key.open_file(part, &self.dir.join(&file.file), to)?;
        if bytes != file.bytes {
            bail!("the backup's {part} file is not the size the manifest says");
        }
        Ok(())
    }
}

pub(crate) async fn restore(
    config: &Config,
    from: &Path,
    keys_from: Option<&Path>,
    erasures_from: Option<&Path>,
) -> anyhow::Result<()> {
    let master = master(config)?;
    let needed: &[&str] = match keys_from {
        Some(_) => &["data", "ledger"],
        None => &["data", "keys", "ledger"],
    };
    let (manifest, key) = backup::verify(from, &master, needed)?;
    let data = Source {
        dir: from,
        manifest,
        key,
    };
    let keys_source = match keys_from {
        Some(dir) => {
            let (manifest, key) = backup::verify(dir, &master, &["keys", "ledger"])?;
            Some(Source { dir, manifest, key })
        }
        None => None,
    };
    let body = &data.manifest.body;
    let url = config.database_url()?;
    let backend = Backend::from_url(&url).context("the database URL is not one Confidant knows")?;
    let expected = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    for source in std::iter::once(&data).chain(keys_source.as_ref()) {
        if source.manifest.body.backend != expected {
            bail!(
                "the backup in {} is of a {} installation and the configured database is {expected} (nothing was changed)",
                source.dir.display(),
                source.manifest.body.backend
            );
        }
    }
    if let Some(keys) = &keys_source
        && keys.made_at()? < data.made_at()?
    {
        bail!(
            "the key store backup (made {}) is older than the data backup (made {}): records made between would not open (nothing was changed)",
            keys.manifest.body.made_at,
            body.made_at
        );
    }
    let against: Option<Checkpoint> = match &body.audit_head {
        Some(text) => Some(
            text.parse()
                .map_err(|_| anyhow::anyhow!("the manifest's audit head is malformed"))?,
        ),
        None => None,
    };
    let erasures_from = erasures_from.map(ledger_at);
    if let Some(live) = &erasures_from
        && !live.is_file()
    {
        bail!(
            "there is no erasure ledger at {} (nothing was changed)",
            live.display()
        );
    }
    let open_all = |work: &Path| -> anyhow::Result<Vec<PathBuf>> {
        data.open("data", &work.join("data"))?;
        keys_source
            .as_ref()
            .unwrap_or(&data)
            .open("keys", &work.join("keys"))?;
        let mut ledgers = vec![work.join("ledger")];
        data.open("ledger", &ledgers[0])?;
        if let Some(keys) = &keys_source {
            ledgers.push(work.join("ledger-keys"));
            keys.open("ledger", &ledgers[1])?;
        }
        ledgers.extend(erasures_from.clone());
        Ok(ledgers)
    };

    // The target must be empty; the plain files are opened beside it, then put in place.
    let work = config.data_dir.join(".restore");
    let ledgers = match backend {
        Backend::Sqlite => {
            let data = sqlite_path(&url);
            let keys = sqlite_path(&key_store_url(&url)?);
            for existing in [&data, &keys] {
                if existing.exists() {
                    bail!(
                        "{} exists: restore goes into a new data directory (nothing was changed)",
                        existing.display()
                    );
                }
            }
            if let Some(parent) = data.parent() {
                std::fs::create_dir_all(parent)?;
                #[cfg(unix)]
                std::fs::set_permissions(
                    parent,
                    std::os::unix::fs::PermissionsExt::from_mode(0o700),
                )?;
            }
            fresh_dir(&work)?;
            let placed = open_all(&work).and_then(|ledgers| {
                std::fs::rename(work.join("data"), &data)?;
                std::fs::rename(work.join("keys"), &keys)?;
                Ok(ledgers)
            });
            match placed {
                Ok(ledgers) => ledgers,
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&work);
                    let _ = std::fs::remove_file(&data);
                    let _ = std::fs::remove_file(&keys);
                    return Err(e.context("nothing was restored"));
                }
            }
        }
        Backend::Postgres => {
            let store = installation::connect(config, false).await?;
            let taken = store.has_schema().await?;
            store.close().await;
            if taken {
                bail!(
                    "the configured database is not empty: restore goes into a new database (nothing was changed)"
                );
            }
            fresh_dir(&work)?;
            let restored = open_all(&work).and_then(|ledgers| {
                pg_restore(&url, &work.join("data"), false)?;
                pg_restore(&key_store_url(&url)?, &work.join("keys"), true)?;
                Ok(ledgers)
            });
            match restored {
                Ok(ledgers) => ledgers,
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&work);
                    return Err(e.context(
                        "the restore did not complete; drop the target database and its _keys database before trying again",
                    ));
                }
            }
        }
    };

    let result = settle(config, &master, against, &ledgers).await;
    let _ = std::fs::remove_dir_all(&work);
    if result.is_err() && backend == Backend::Sqlite {
        let _ = std::fs::remove_file(sqlite_path(&url));
        let _ = std::fs::remove_file(sqlite_path(&key_store_url(&url)?));
    }
    let (events, replayed) = result?;
    println!(
        "backup {} (made {}) restored: the audit chain verifies ({events} events, holding the head \
         recorded at the backup); {replayed} erasures on the ledger done again before it serves. \
         Serve it with the same master key. Its erasure ledger is {}: if this copy is not to \
         replace the live installation (a drill, say), give it a ledger of its own \
         (`erasure_ledger_file`), or erasures made in it will be done again in the live one.",
        body.backup_id,
        body.made_at,
        config.erasure_ledger_path().display()
    );
    Ok(())
}

/// The restored installation opened with the master key: its chain verified against the head the
/// manifest recorded, every erasure on the `ledgers` (the backups', and a live installation's)
/// done again, the chain verified again. Answers the events checked and the erasures replayed.
async fn settle(
    config: &Config,
    master: &confidant_crypto::MasterKey,
    against: Option<Checkpoint>,
    ledgers: &[PathBuf],
) -> anyhow::Result<(u64, usize)> {
    let store = installation::connect(config, false).await?;
    let keys = KeyRing::open(&store, master.clone())
        .await
        .context("the restored database does not open with the master key")?;
    store.migrate().await?;
    store.check_key_store().await?;
    if let Err(broken) = verify_chain(&store, against).await? {
        store.close().await;
        bail!(
            "the restored audit chain does not verify ({broken}): it was removed, nothing serves from it"
        );
    }
    let ledger_key = keys.erasure_ledger_key();
    let ledger = ErasureLedger::new(config.erasure_ledger_path(), ledger_key);
    for source in ledgers {
        let entries = ErasureLedger::new(source, ledger_key).read()?;
        ledger.append_missing(&entries)?;
    }
    let done = store.reconcile_erasures(&ledger).await?;
    let verified = verify_chain(&store, None).await?;
    store.close().await;
    match verified {
        Ok(v) => Ok((v.checked, done.replayed)),
        Err(broken) => bail!("the audit chain does not verify after the erasures ({broken})"),
    }
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn a_password_leaves_the_url_for_the_environment_decoded() -> anyhow::Result<()> {
        let (url, password) =
            without_password("postgres://confidant:s%40cret%2Fpw@db.example:5432/confidant")?;
        assert_eq!(url, "postgres://confidant@db.example:5432/confidant");
        assert_eq!(password.as_deref().map(String::as_str), Some("s@cret/pw"));
        let (url, password) =
            without_password("postgres://postgres@127.0.0.1:5432/data?sslmode=require")?;
        assert_eq!(
            url,
            "postgres://postgres@127.0.0.1:5432/data?sslmode=require"
        );
        assert!(password.is_none());
        let (url, password) = without_password(
            "postgres://confidant@db.example/data?password=p%26w&sslmode=require",
        )?;
        assert_eq!(url, "postgres://confidant@db.example/data?sslmode=require");
        assert_eq!(password.as_deref().map(String::as_str), Some("p&w"));
        let (url, _) = without_password("postgres://confidant@db.example/data?password=x")?;
        assert_eq!(url, "postgres://confidant@db.example/data");
        // The rest of the query stays byte for byte; the query's password wins.
        let (url, password) = without_password(
            "postgres://u:inuser@db.example/data?options=-c%20search_path%3Dx&password=inquery",
        )?;
        assert_eq!(
            url,
            "postgres://u@db.example/data?options=-c%20search_path%3Dx"
        );
        assert_eq!(password.as_deref().map(String::as_str), Some("inquery"));
        assert!(without_password("not a url").is_err());
        Ok(())
    }
}
