//! The erasure ledger: a file beside the master key listing everyone and every record destroyed,
//! by pseudonymous id and time only, so that a copy or backup of the data taken before an erasure
//! loses them again before it serves (`erasure.rs`, `confidant restore`).
//!
//! Guarantees:
//! - Each line is chained to the one before by an HMAC-SHA-256 under a key derived from the
//!   installation's index key: an entry removed from the middle, changed or reordered, or a line
//!   forged without the key, fails verification, and a ledger that does not verify stops
//!   Confidant. Lines cut from the end are not detected by the chain alone (the database's own
//!   list puts them back at the next start; a backup restored with only a cut ledger lacks them).
//! - Appending takes an exclusive lock on the file, so processes sharing it append in turn; what
//!   is appended is written and synced before the call returns. A last line left half-written by
//!   a crash was never acknowledged: it is not read, and the next append writes over it.
//! - It holds no personal data: ids, a kind, a time and the certificate's id.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
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
        Ok(self.read_text(&self.text()?)?.entries)
    }

    /// The file's text (empty if it is not there yet).
    fn text(&self) -> Result<String, LedgerError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(self.io(e)),
        }
    }

    /// The entries, the chain's last tag and how many bytes hold whole lines. A last line without
    /// its newline was being written when the writer stopped (a crash, a full disk): it was never
    /// acknowledged, so it is not read, and the next append writes over it.
    fn read_text(&self, text: &str) -> Result<Chained, LedgerError> {
        let whole = text.rfind('\n').map_or(0, |i| i + 1);
        let mut chained = Chained {
            entries: Vec::new(),
            last_tag: Vec::new(),
            whole,
        };
        for (i, line) in text[..whole].lines().enumerate() {
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
            mac.update(&chained.last_tag);
            mac.update(body.as_bytes());
            mac.verify_slice(&tag).map_err(|_| bad())?;
            chained.last_tag = tag;
            chained.entries.push(entry);
        }
        Ok(chained)
    }

    /// The erasures not on the ledger, each once, in order.
    fn missing<'a>(known: &[Erasure], erasures: &'a [Erasure]) -> Vec<&'a Erasure> {
        let mut seen: HashSet<(ErasureKind, Uuid)> = known.iter().map(|e| (e.kind, e.id)).collect();
        erasures
            .iter()
            .filter(|e| seen.insert((e.kind, e.id)))
            .collect()
    }

    /// Appends the erasures not already on the ledger (by kind and id); answers how many. The file
    /// is created (mode 0600) only when there is something to write, so a ledger in a directory
    /// Confidant may only read serves as long as nothing new is erased.
    pub fn append_missing(&self, erasures: &[Erasure]) -> Result<usize, LedgerError> {
        if Self::missing(&self.read()?, erasures).is_empty() {
            return Ok(0);
        }
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&self.path).map_err(|e| self.io(e))?;
        file.lock().map_err(|e| self.io(e))?;
        let appended = self.append_locked(&mut file, erasures);
        let _ = file.unlock();
        appended
    }

    /// Under the file's lock: read it again (another process may have appended), then write the
    /// missing entries after its last whole line.
    fn append_locked(&self, file: &mut File, erasures: &[Erasure]) -> Result<usize, LedgerError> {
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(|e| self.io(e))?;
        let chained = self.read_text(&text)?;
        let missing = Self::missing(&chained.entries, erasures);
        if missing.is_empty() {
            return Ok(0);
        }
        let mut out = String::new();
        if chained.whole == 0 {
            out.push_str(HEADER);
            out.push('\n');
        }
        let mut previous = chained.last_tag;
        for erasure in &missing {
            let body = erasure.body();
            let tag = self.tag(&previous, &body);
            out.push_str(&format!("{body} {}\n", hex::encode(&tag)));
            previous = tag;
        }
        file.set_len(chained.whole as u64).map_err(|e| self.io(e))?;
        file.seek(SeekFrom::Start(chained.whole as u64))
            .map_err(|e| self.io(e))?;
        file.write_all(out.as_bytes()).map_err(|e| self.io(e))?;
        file.sync_all().map_err(|e| self.io(e))?;
        Ok(missing.len())
    }

    /// Copies the ledger, whole lines only, to `to` (a new file), under the file's lock.
    pub fn copy_to(&self, to: &Path) -> Result<usize, LedgerError> {
        let text = match File::open(&self.path) {
            Ok(mut file) => {
                file.lock_shared().map_err(|e| self.io(e))?;
                let mut text = String::new();
                let read = file.read_to_string(&mut text).map_err(|e| self.io(e));
                let _ = file.unlock();
                read?;
                text
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(self.io(e)),
        };
        let chained = self.read_text(&text)?;
        std::fs::write(to, &text[..chained.whole]).map_err(|e| self.io(e))?;
        Ok(chained.entries.len())
    }
}

/// A ledger as read: its entries, the chain's last tag, and the length of its whole lines.
struct Chained {
    entries: Vec<Erasure>,
    last_tag: Vec<u8>,
    whole: usize,
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
