//! The backup format: a directory of sealed files and a manifest that vouches for them.
//!
//! Guarantees:
//! - Each backup has a random key of its own, kept in the manifest wrapped by the master key (the
//!   master key itself is never in a backup): without the installation's master key, nothing in
//!   it opens.
//! - A file is sealed in chunks of 1 MiB with XChaCha20-Poly1305 (`confidant_crypto::DataKey`),
//!   each chunk bound to the backup, the file, its position and whether it is the last: a chunk
//!   changed, moved, dropped or swapped between files or backups fails to open, as does a file cut
//!   short.
//! - The manifest lists every file with its SHA-256 and is itself sealed (its SHA-256 under the
//!   backup's key): a manifest edited, or a file replaced, is refused before anything is written.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use anyhow::{Context, bail};
use confidant_crypto::{DataKey, FieldAddress, MasterKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub(crate) const FORMAT: &str = "confidant-backup/1";
pub(crate) const MANIFEST: &str = "manifest.json";
const CHUNK: usize = 1 << 20;

/// What the manifest vouches for, in a fixed order (the sealed digest covers these bytes).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct ManifestBody {
    pub format: String,
    pub backup_id: Uuid,
    /// When it was made (UTC, RFC 3339).
    pub made_at: String,
    /// `sqlite` or `postgres`: the form of the data and key store files.
    pub backend: String,
    /// The master key that wraps this backup's key (its public id).
    pub master_key_id: String,
    /// This backup's key, wrapped by the master key.
    pub wrapped_key: String,
    /// The audit chain's head before the data was copied: the restored chain must hold it.
    pub audit_head: Option<String>,
    /// How many erasures the ledger in the backup lists.
    pub erasures: usize,
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct ManifestFile {
    /// `data`, `keys` or `ledger`.
    pub part: String,
    pub file: String,
    /// The plain file's size.
    pub bytes: u64,
    /// SHA-256 of the sealed file, as it is in the backup.
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Manifest {
    #[serde(flatten)]
    pub body: ManifestBody,
    /// The body's SHA-256, sealed under the backup's key.
    pub seal: String,
}

fn key_context(backup_id: Uuid) -> Vec<u8> {
    format!("confidant/backup/{backup_id}").into_bytes()
}

fn body_digest(body: &ManifestBody) -> anyhow::Result<Vec<u8>> {
    Ok(Sha256::digest(serde_json::to_vec(body)?).to_vec())
}

const MANIFEST_ROW: &str = "manifest";

/// A backup being written or read: its id and key.
pub(crate) struct BackupKey {
    pub id: Uuid,
    key: DataKey,
}

impl BackupKey {
    pub(crate) fn generate() -> Self {
        Self {
            id: Uuid::new_v4(),
            key: DataKey::generate(),
        }
    }

    pub(crate) fn wrapped_by(&self, master: &MasterKey) -> String {
        hex::encode(master.wrap(&self.key, &key_context(self.id)))
    }

    fn address<'a>(&self, file: &'a str, row: &'a str) -> FieldAddress<'a> {
        FieldAddress {
            table: "backup",
            column: file,
            row_id: row,
            key_version: 1,
        }
    }

    /// The sealed digest of a manifest's body.
    pub(crate) fn seal_manifest(&self, body: &ManifestBody) -> anyhow::Result<String> {
        let row = format!("{}/{MANIFEST_ROW}", self.id);
        Ok(hex::encode(
            self.key
                .seal(&self.address(MANIFEST, &row), &body_digest(body)?),
        ))
    }

    /// Seals `from` into `to` (a new file); answers the plain size and the sealed file's SHA-256.
    pub(crate) fn seal_file(
        &self,
        name: &str,
        from: &Path,
        to: &Path,
    ) -> anyhow::Result<(u64, String)> {
        let mut input = BufReader::new(
            File::open(from).with_context(|| format!("could not read {}", from.display()))?,
        );
        let mut output = BufWriter::new(
            File::create_new(to).with_context(|| format!("could not create {}", to.display()))?,
        );
        let mut digest = Sha256::new();
        let mut total = 0u64;
        let mut chunk = vec![0u8; CHUNK];
        let mut filled = read_full(&mut input, &mut chunk)?;
        let mut index = 0u64;
        loop {
            let mut next = vec![0u8; CHUNK];
            let next_filled = if filled == CHUNK {
                read_full(&mut input, &mut next)?
            } else {
                0
            };
            let last = next_filled == 0;
            let row = format!("{}/{index}/{last}", self.id);
            let sealed = self.key.seal(&self.address(name, &row), &chunk[..filled]);
            let mut frame = Vec::with_capacity(5 + sealed.len());
            frame.push(u8::from(last));
            frame.extend_from_slice(&u32::try_from(sealed.len())?.to_be_bytes());
            frame.extend_from_slice(&sealed);
            digest.update(&frame);
            output.write_all(&frame)?;
            total += filled as u64;
            if last {
                break;
            }
            (chunk, filled, index) = (next, next_filled, index + 1);
        }
        output.flush()?;
        output.get_ref().sync_all()?;
        Ok((total, hex::encode(digest.finalize())))
    }

    /// Opens a sealed file into `to` (a new file), refusing any chunk that does not open in its
    /// place and a file that ends before its last chunk.
    pub(crate) fn open_file(&self, name: &str, from: &Path, to: &Path) -> anyhow::Result<u64> {
        let mut input = BufReader::new(File::open(from)?);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        // The restored data and key store are their owner's alone.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut output = BufWriter::new(options.open(to)?);
        let mut total = 0u64;
        for index in 0u64.. {
            let mut head = [0u8; 5];
            input
                .read_exact(&mut head)
                .with_context(|| format!("the backup's {name} file ends early"))?;
            let last = match head[0] {
                0 => false,
                1 => true,
                _ => bail!("the backup's {name} file is malformed"),
            };
            let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
            if len > CHUNK + 64 {
                bail!("the backup's {name} file is malformed");
            }
            let mut sealed = vec![0u8; len];
            input
                .read_exact(&mut sealed)
                .with_context(|| format!("the backup's {name} file ends early"))?;
            let row = format!("{}/{index}/{last}", self.id);
            let plain = self
                .key
                .open(&self.address(name, &row), &sealed)
                .map_err(|_| anyhow::anyhow!("the backup's {name} file was altered"))?;
            output.write_all(&plain)?;
            total += plain.len() as u64;
            if last {
                break;
            }
        }
        if input.read(&mut [0u8; 1])? != 0 {
            bail!("the backup's {name} file has more after its last part");
        }
        output.flush()?;
        output.get_ref().sync_all()?;
        Ok(total)
    }
}

fn read_full(input: &mut impl Read, buf: &mut [u8]) -> anyhow::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// SHA-256 of a file, in hex.
pub(crate) fn sha256_of(path: &Path) -> anyhow::Result<String> {
    let mut input = BufReader::new(File::open(path)?);
    let mut digest = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match input.read(&mut buf)? {
            0 => break,
            n => digest.update(&buf[..n]),
        }
    }
    Ok(hex::encode(digest.finalize()))
}

/// Reads a backup's manifest and proves it: made under this master key, its seal opening to its
/// own digest, every file it lists present with its SHA-256, and the `needed` parts among them.
/// Nothing is written.
pub(crate) fn verify(
    dir: &Path,
    master: &MasterKey,
    needed: &[&str],
) -> anyhow::Result<(Manifest, BackupKey)> {
    let text = std::fs::read_to_string(dir.join(MANIFEST))
        .with_context(|| format!("there is no readable {MANIFEST} in {}", dir.display()))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("the backup's {MANIFEST} is malformed"))?;
    let body = &manifest.body;
    if body.format != FORMAT {
        bail!("the backup's format is {:?}, not {FORMAT:?}", body.format);
    }
    if body.master_key_id != master.key_id() {
        bail!(
            "the backup was made under another master key ({}); restore takes the installation's key from its configuration",
            body.master_key_id
        );
    }
    let wrapped = hex::decode(&body.wrapped_key).context("the backup's key is malformed")?;
    let key = BackupKey {
        id: body.backup_id,
        key: master
            .unwrap(&wrapped, &key_context(body.backup_id))
            .map_err(|_| anyhow::anyhow!("the backup's key does not open with the master key"))?,
    };
    let sealed = hex::decode(&manifest.seal).context("the manifest's seal is malformed")?;
    let row = format!("{}/{MANIFEST_ROW}", key.id);
    let digest = key
        .key
        .open(&key.address(MANIFEST, &row), &sealed)
        .map_err(|_| anyhow::anyhow!("the manifest's seal does not verify"))?;
    if digest.as_slice() != body_digest(body)?.as_slice() {
        bail!("the manifest was changed after the backup was made");
    }
    for part in needed {
        if !body.files.iter().any(|f| f.part == *part) {
            bail!(
                "the backup in {} holds no {part} (it was made with --part)",
                dir.display()
            );
        }
    }
    for file in &body.files {
        let part = &file.part;
        if file.file.contains('/') || file.file.contains('\\') || file.file.starts_with('.') {
            bail!("the manifest names a file outside the backup");
        }
        let path = dir.join(&file.file);
        if sha256_of(&path).with_context(|| format!("the backup's {part} file is missing"))?
            != file.sha256
        {
            bail!("the backup's {part} file is not the one the manifest lists");
        }
    }
    Ok((manifest, key))
}
