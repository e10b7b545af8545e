//! The erasure ledger: a file beside the master key listing everyone and every record destroyed,
//! by pseudonymous id and time only, so that a copy or backup of the data taken before an erasure
//! loses them again before it serves (`erasure.rs`, `confidant restore`).
//!
//! Guarantees:
//! - Each line is chained to the one before by an HMAC-SHA-256 under a key derived from the
//!   installation's index key: an entry removed, changed or reordered, or a line forged without
//!   the key, fails verification, and a ledger that does not verify stops Confidant.
//! - Appending takes an exclusive lock on the file, so processes sharing it append in turn; what
//!   is appended is written and synced before the call returns.
//! - It holds no personal data: ids, a kind, a time and the certificate's id.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use uuid::Uuid;

const HEADER: &str = "confidant-erasure-ledger v1";

/// What was erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErasureKind {
    /// A person's whole record (a destruction, or a record merged into one destroyed).
    Person,
    /// One record erased on its own: a declined referral, a related person removed.
    Record,
}

impl ErasureKind {
    pub fn code(self) -> &'static str {
        match self {
            ErasureKind::Person => "person",
            ErasureKind::Record => "record",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "person" => Some(ErasureKind::Person),
            "record" => Some(ErasureKind::Record),
            _ => None,
        }
    }
}

/// One erasure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    pub kind: ErasureKind,
    pub id: Uuid,
    pub at_micros: i64,
    /// The destruction certificate (a person's erasure).
    pub certificate_id: Option<Uuid>,
}

impl Erasure {
    fn body(&self) -> String {
        format!(
            "{} {} {} {}",
            self.kind.code(),
            self.id,
            self.at_micros,
            self.certificate_id
                .map_or_else(|| "-".to_owned(), |c| c.to_string())
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("the erasure ledger {path} could not be read or written: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the erasure ledger {path} does not verify at line {line}: it was changed, truncated in the middle or belongs to another installation"
    )]
    Tampered { path: PathBuf, line: usize },
}

/// The ledger file and the key that chains it.
#[derive(Clone)]
pub struct ErasureLedger {
    path: PathBuf,
    key: Arc<[u8; 32]>,
}

impl std::fmt::Debug for ErasureLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ErasureLedger")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

type Chain = Hmac<Sha256>;

impl ErasureLedger {
    pub fn new(path: impl Into<PathBuf>, key: [u8; 32]) -> Self {
        Self {
            path: path.into(),
            key: Arc::new(key),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn tag(&self, previous: &[u8], body: &str) -> Vec<u8> {
        let mut mac =
            Chain::new_from_slice(self.key.as_slice()).expect("HMAC takes a key of any length");
        mac.update(previous);
        mac.update(body.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    fn io(&self, source: std::io::Error) -> LedgerError {
        LedgerError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Every entry, verified; a ledger not yet written is empty.
    pub fn read(&self) -> Result<Vec<Erasure>, LedgerError> {
        match File::open(&self.path) {
            Ok(file) => Ok(self.read_from(&file)?.0),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(self.io(e)),
        }
    }

    /// The entries and the last tag of the chain.
    fn read_from(&self, file: &File) -> Result<(Vec<Erasure>, Vec<u8>), LedgerError> {
        let mut entries = Vec::new();
        let mut previous = Vec::new();
        for (i, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| self.io(e))?;
            let bad = || LedgerError::Tampered {
                path: self.path.clone(),
                line: i + 1,
            };
            if i == 0 {
                if line != HEADER {
                    return Err(bad());
                }
                continue;
            }
            let (body, tag) = line.rsplit_once(' ').ok_or_else(bad)?;
            let entry = parse(body).ok_or_else(bad)?;
            if entry.body() != body {
                return Err(bad());
            }
            let tag = hex::decode(tag).map_err(|_| bad())?;
            let mut mac =
                Chain::new_from_slice(self.key.as_slice()).expect("HMAC takes a key of any length");
            mac.update(&previous);
            mac.update(body.as_bytes());
            mac.verify_slice(&tag).map_err(|_| bad())?;
            previous = tag;
            entries.push(entry);
        }
        Ok((entries, previous))
    }

    /// Appends the erasures not already on the ledger (by kind and id); answers how many. The file
    /// is created (mode 0600) if missing.
    pub fn append_missing(&self, erasures: &[Erasure]) -> Result<usize, LedgerError> {
        let mut options = OpenOptions::new();
        options.read(true).append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&self.path).map_err(|e| self.io(e))?;
        file.lock().map_err(|e| self.io(e))?;
        let appended = self.append_locked(&mut file, erasures);
        let _ = file.unlock();
        appended
    }

    fn append_locked(&self, file: &mut File, erasures: &[Erasure]) -> Result<usize, LedgerError> {
        let empty = file.metadata().map_err(|e| self.io(e))?.len() == 0;
        let (known, mut previous) = if empty {
            (Vec::new(), Vec::new())
        } else {
            self.read_from(file)?
        };
        let known: std::collections::HashSet<(ErasureKind, Uuid)> =
            known.iter().map(|e| (e.kind, e.id)).collect();
        let mut text = String::new();
        if empty {
            text.push_str(HEADER);
            text.push('\n');
        }
        let mut added = std::collections::HashSet::new();
        for erasure in erasures {
            if known.contains(&(erasure.kind, erasure.id))
                || !added.insert((erasure.kind, erasure.id))
            {
                continue;
            }
            let body = erasure.body();
            let tag = self.tag(&previous, &body);
            text.push_str(&format!("{body} {}\n", hex::encode(&tag)));
            previous = tag;
        }
        if added.is_empty() && !empty {
            return Ok(0);
        }
        file.write_all(text.as_bytes()).map_err(|e| self.io(e))?;
        file.sync_all().map_err(|e| self.io(e))?;
        Ok(added.len())
    }
}

fn parse(body: &str) -> Option<Erasure> {
    let mut parts = body.split(' ');
    let kind = ErasureKind::from_code(parts.next()?)?;
    let id = Uuid::parse_str(parts.next()?).ok()?;
    let at_micros = parts.next()?.parse().ok()?;
    let certificate_id = match parts.next()? {
        "-" => None,
        c => Some(Uuid::parse_str(c).ok()?),
    };
    if parts.next().is_some() {
        return None;
    }
    Some(Erasure {
        kind,
        id,
        at_micros,
        certificate_id,
    })
}
