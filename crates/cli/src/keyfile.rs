//! The master key file: created once with mode 0600, never readable by others, replaced atomically by
//! rotation. The key never goes to the database, a log or an error message.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use confidant_crypto::MasterKey;

/// Where the master key came from, for messages.
#[derive(Debug, Clone)]
pub enum KeySource {
    Environment,
    File(PathBuf),
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Environment => f.write_str("CONFIDANT_MASTER_KEY"),
            KeySource::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// The key from `CONFIDANT_MASTER_KEY`, else from `path`. `Ok(None)` when neither exists.
pub fn load(path: &Path) -> anyhow::Result<Option<(MasterKey, KeySource)>> {
    if let Ok(text) = std::env::var("CONFIDANT_MASTER_KEY") {
        let key =
            MasterKey::from_hex(&text).context("CONFIDANT_MASTER_KEY is not a valid master key")?;
        return Ok(Some((key, KeySource::Environment)));
    }
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some((read_file(path)?, KeySource::File(path.to_owned()))))
}

pub fn read_file(path: &Path) -> anyhow::Result<MasterKey> {
    let mode = fs::metadata(path)
        .with_context(|| format!("could not read the master key file {}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        bail!(
            "the master key file {} can be read by other users (mode {:o}); run `chmod 600` on it",
            path.display(),
            mode & 0o777
        );
    }
    let text = fs::read_to_string(path)
        .with_context(|| format!("could not read the master key file {}", path.display()))?;
    MasterKey::from_hex(&text)
        .with_context(|| format!("{} does not hold a valid master key", path.display()))
}

/// Writes a key to a new file (mode 0600) and syncs it to disk; refuses to overwrite.
pub fn write_new(path: &Path, key: &MasterKey) -> anyhow::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("could not create the key file {}", path.display()))?;
    file.write_all(key.to_hex().as_bytes())?;
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

fn sync_dir(path: &Path) -> anyhow::Result<()> {
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
