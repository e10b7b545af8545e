//! The key files: the master key and the audit signing key, each created once with mode 0600, never
//! readable by others; the master key is replaced atomically by rotation. Neither key ever goes to the
//! database, a log or an error message.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use confidant_crypto::MasterKey;
use confidant_crypto::audit_key::AuditSigningKey;
use zeroize::Zeroizing;

/// Where the master key came from, for messages.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// The environment variable it came from.
    Environment(&'static str),
    File(PathBuf),
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Environment(name) => f.write_str(name),
            KeySource::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// The key from `CONFIDANT_MASTER_KEY`, else from `path`. `Ok(None)` when neither exists.
pub fn load(path: &Path) -> anyhow::Result<Option<(MasterKey, KeySource)>> {
    if let Ok(text) = std::env::var("CONFIDANT_MASTER_KEY") {
        let key =
            MasterKey::from_hex(&text).context("CONFIDANT_MASTER_KEY is not a valid master key")?;
        return Ok(Some((key, KeySource::Environment("CONFIDANT_MASTER_KEY"))));
    }
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some((read_file(path)?, KeySource::File(path.to_owned()))))
}

pub fn read_file(path: &Path) -> anyhow::Result<MasterKey> {
    let text = read_secret(path, "master key")?;
    MasterKey::from_hex(&text)
        .with_context(|| format!("{} does not hold a valid master key", path.display()))
}

/// The audit signing key from `CONFIDANT_AUDIT_SIGNING_KEY`, else from `path`. `Ok(None)` when neither
/// exists.
pub fn load_audit_key(path: &Path) -> anyhow::Result<Option<(AuditSigningKey, KeySource)>> {
    if let Ok(text) = std::env::var("CONFIDANT_AUDIT_SIGNING_KEY") {
        let key = AuditSigningKey::from_hex(&text)
            .context("CONFIDANT_AUDIT_SIGNING_KEY is not a valid audit signing key")?;
        return Ok(Some((
            key,
            KeySource::Environment("CONFIDANT_AUDIT_SIGNING_KEY"),
        )));
    }
    if !path.exists() {
        return Ok(None);
    }
    let text = read_secret(path, "audit signing key")?;
    let key = AuditSigningKey::from_hex(&text)
        .with_context(|| format!("{} does not hold a valid audit signing key", path.display()))?;
    Ok(Some((key, KeySource::File(path.to_owned()))))
}

/// Reads a key file that only its owner may read.
fn read_secret(path: &Path, what: &str) -> anyhow::Result<Zeroizing<String>> {
    let mode = fs::metadata(path)
        .with_context(|| format!("could not read the {what} file {}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        bail!(
            "the {what} file {} can be read by other users (mode {:o}); run `chmod 600` on it",
            path.display(),
            mode & 0o777
        );
    }
    Ok(Zeroizing::new(fs::read_to_string(path).with_context(
        || format!("could not read the {what} file {}", path.display()),
    )?))
}

/// Writes a key to a new file (mode 0600) and syncs it to disk; refuses to overwrite.
pub fn write_new(path: &Path, key: &MasterKey) -> anyhow::Result<()> {
    write_secret(path, &key.to_hex())
}

/// Writes a new audit signing key file (mode 0600); refuses to overwrite.
pub fn write_new_audit_key(path: &Path, key: &AuditSigningKey) -> anyhow::Result<()> {
    write_secret(path, &key.to_hex())
}

fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("could not create the key file {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    sync_dir(path)
}

/// Moves `from` over `to` atomically and makes the rename durable.
pub fn replace(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::rename(from, to)
        .with_context(|| format!("could not move {} to {}", from.display(), to.display()))?;
    sync_dir(to)
}

pub fn sync_dir(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The file a rotation writes the new key to before the database switches over.
pub fn pending_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".new");
    PathBuf::from(name)
}
