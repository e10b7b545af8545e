//! Confidant's cryptography: envelope encryption, blind indexes and staff credentials, nothing else.
//!
//! Guarantees:
//! - A [`MasterKey`] lives only in a key file or the environment; it wraps every other key and never
//!   leaves this process in the clear (its `Debug` prints `[redacted]`, it is zeroized on drop and it is
//!   intentionally not `Serialize`).
//! - Each person has a [`DataKey`] of their own. A sealed field can be opened only with that key *and* only
//!   at the place it was sealed for: the associated data binds table, column, row id and key version, so a
//!   value copied to another row, column or key version fails to open. Destroying the data key destroys
//!   every value sealed under it (crypto-shredding).
//! - [`IndexKey`] computes blind indexes (keyed HMAC-SHA-256 of a normalised value, domain-separated per
//!   field) for exact look-ups without decrypting.
//!
//! - Bearer secrets ([`new_token`] for API tokens, [`new_session_token`] for sign-in sessions) carry 256
//!   random bits and are stored only as their SHA-256 ([`token_hash`]).
//! - The audit chain's checkpoints are signed with an Ed25519 key that, like the master key, lives only
//!   in a key file or the environment ([`audit_key`]); anyone holding just the public half can check them.
//! - Staff passwords ([`password`]) and second factors ([`totp`]) have modules of their own, which state
//!   their own guarantees.
//!
//! Primitives come from RustCrypto: XChaCha20-Poly1305 (192-bit random nonces, safe without counters),
//! HKDF-SHA-256 for sub-keys, HMAC-SHA-256 for indexes and key identifiers, Argon2id for passwords; Ed25519 (`ed25519-dalek`) for audit
//! checkpoints.

pub mod audit_key;
#[cfg(test)]
mod input_properties;
pub mod password;
pub mod totp;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

/// Length in bytes of every symmetric key Confidant uses.
pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
/// Format byte in front of every sealed value and wrapped key, so the format can evolve.
const FORMAT_V1: u8 = 1;

/// Why a cryptographic operation failed. Carries no key material and no plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("the master key is not valid: {0}")]
    InvalidMasterKey(&'static str),
    #[error("a sealed value could not be opened (wrong key, wrong place, or altered)")]
    Open,
    #[error("a wrapped key could not be unwrapped (wrong master key, or altered)")]
    Unwrap,
    #[error("a sealed value is malformed")]
    Malformed,
    #[error("a TOTP secret must be exactly 20 bytes (160 bits), or their base32 form")]
    InvalidTotpSecret,
    #[error("the audit signing key is not valid: {0}")]
    InvalidAuditKey(&'static str),
    #[error("the signature does not match (altered, or made with another key)")]
    BadSignature,
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::fill(&mut out[..]);
    out
}

/// Secret key bytes that are wiped on drop and never printed.
#[derive(Clone, Zeroize)]
#[zeroize(drop)]
struct KeyBytes([u8; KEY_LEN]);

impl std::fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The key that wraps every data key. Never stored in the database.
#[derive(Debug, Clone)]
pub struct MasterKey {
    bytes: KeyBytes,
    wrap: KeyBytes,
    id: String,
}

impl MasterKey {
    /// A new random master key (from the operating system's CSPRNG via `rand`'s thread RNG).
    pub fn generate() -> Self {
        Self::from_bytes(random_bytes())
    }

    fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(b"confidant/master-key/v1"), &bytes);
        let mut wrap = [0u8; KEY_LEN];
        hk.expand(b"wrap", &mut wrap)
            .expect("32 bytes is a valid HKDF-SHA-256 output length");
        let mut id = [0u8; 8];
        hk.expand(b"key-id", &mut id)
            .expect("8 bytes is a valid HKDF-SHA-256 output length");
        Self {
            bytes: KeyBytes(bytes),
            wrap: KeyBytes(wrap),
            id: hex::encode(id),
        }
    }

    /// Parses the textual form: 64 hexadecimal characters (surrounding white space ignored).
    pub fn from_hex(text: &str) -> Result<Self, CryptoError> {
        let text = text.trim();
        if text.len() != KEY_LEN * 2 {
            return Err(CryptoError::InvalidMasterKey(
                "expected 64 hexadecimal characters",
            ));
        }
        let mut bytes = [0u8; KEY_LEN];
        hex::decode_to_slice(text, &mut bytes)
            .map_err(|_| CryptoError::InvalidMasterKey("expected 64 hexadecimal characters"))?;
        Ok(Self::from_bytes(bytes))
    }

    /// The textual form, for writing a key file. Wiped when dropped.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.bytes.0))
    }

    /// A public identifier of this key (16 hex characters derived one-way from it), stored in the
    /// database so that start-up can tell a wrong key from a right one without trying to decrypt.
    pub fn key_id(&self) -> &str {
        &self.id
    }

    /// Wraps `key` for storage. `context` names what the key belongs to (e.g. a person id and key
    /// version) and must be given again to unwrap it.
    pub fn wrap(&self, key: &DataKey, context: &[u8]) -> Vec<u8> {
        seal_raw(&self.wrap.0, context, &key.bytes.0)
    }

    /// Unwraps a key wrapped by [`MasterKey::wrap`] with the same `context`.
    pub fn unwrap(&self, wrapped: &[u8], context: &[u8]) -> Result<DataKey, CryptoError> {
        let plain = open_raw(&self.wrap.0, context, wrapped).map_err(|_| CryptoError::Unwrap)?;
        let bytes: [u8; KEY_LEN] = plain
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Unwrap)?;
        Ok(DataKey {
            bytes: KeyBytes(bytes),
        })
    }

    /// Unwraps the installation's blind-index key.
    pub fn unwrap_index_key(
        &self,
        wrapped: &[u8],
        context: &[u8],
    ) -> Result<IndexKey, CryptoError> {
        let key = self.unwrap(wrapped, context)?;
        Ok(IndexKey { bytes: key.bytes })
    }

    /// Wraps the installation's blind-index key.
    pub fn wrap_index_key(&self, key: &IndexKey, context: &[u8]) -> Vec<u8> {
        seal_raw(&self.wrap.0, context, &key.bytes.0)
    }
}

/// Where a sealed value belongs. All four parts are authenticated, none is secret.
#[derive(Debug, Clone, Copy)]
pub struct FieldAddress<'a> {
    pub table: &'a str,
    pub column: &'a str,
    pub row_id: &'a str,
    pub key_version: u32,
}

impl FieldAddress<'_> {
    /// Unambiguous associated data: each part length-prefixed, so ("ab","c") and ("a","bc") differ.
    fn associated_data(&self) -> Vec<u8> {
        const PREFIX: &[u8] = b"confidant/field/v1";
        let mut ad = Vec::with_capacity(
            PREFIX.len() + self.table.len() + self.column.len() + self.row_id.len() + 4 * 4,
        );
        ad.extend_from_slice(PREFIX);
        for part in [self.table, self.column, self.row_id] {
            ad.extend_from_slice(&(part.len() as u32).to_be_bytes());
            ad.extend_from_slice(part.as_bytes());
        }
        ad.extend_from_slice(&self.key_version.to_be_bytes());
        ad
    }
}

/// A person's (or third party's) own key. Destroying its wrapped copy destroys their sealed data.
#[derive(Debug, Clone)]
pub struct DataKey {
    bytes: KeyBytes,
}

impl DataKey {
    pub fn generate() -> Self {
        Self {
            bytes: KeyBytes(random_bytes()),
        }
    }

    /// Seals `plaintext` for one place. Output: format byte, 24-byte random nonce, ciphertext and tag.
    pub fn seal(&self, address: &FieldAddress<'_>, plaintext: &[u8]) -> Vec<u8> {
        seal_raw(&self.bytes.0, &address.associated_data(), plaintext)
    }

    /// Opens a value sealed for exactly this place; the plaintext is wiped when dropped.
    pub fn open(
        &self,
        address: &FieldAddress<'_>,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        open_raw(&self.bytes.0, &address.associated_data(), sealed)
    }
}

fn seal_raw(key: &[u8; KEY_LEN], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let nonce: [u8; NONCE_LEN] = random_bytes();
    let ciphertext = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
    let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
    out.push(FORMAT_V1);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    out
}

fn open_raw(
    key: &[u8; KEY_LEN],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != FORMAT_V1 {
        return Err(CryptoError::Malformed);
    }
    let (nonce, ciphertext) = sealed[1..].split_at(NONCE_LEN);
    let nonce = XNonce::try_from(nonce).map_err(|_| CryptoError::Malformed)?;
    let cipher = XChaCha20Poly1305::new(key.into());
    cipher
        .decrypt(
            &nonce,
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Open)
}

/// The installation's key for blind indexes. Stored wrapped by the master key, so that rotating the
/// master key leaves every index valid.
#[derive(Debug, Clone)]
pub struct IndexKey {
    bytes: KeyBytes,
}

/// Length of a stored blind index: 128 bits is ample for exact matching and leaks less than 256.
pub const BLIND_INDEX_LEN: usize = 16;

impl IndexKey {
    pub fn generate() -> Self {
        Self {
            bytes: KeyBytes(random_bytes()),
        }
    }

    /// HMAC-SHA-256 of a normalised value, separated per `domain` (e.g. `"person.nhs_number"`), so the
    /// same value in two fields gives unrelated indexes.
    pub fn blind_index(&self, domain: &str, normalised: &str) -> [u8; BLIND_INDEX_LEN] {
        let mut mac = <Hmac<Sha256>>::new_from_slice(&self.bytes.0)
            .expect("HMAC accepts a key of any length");
        mac.update(&(domain.len() as u32).to_be_bytes());
        mac.update(domain.as_bytes());
        mac.update(normalised.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; BLIND_INDEX_LEN];
        out.copy_from_slice(&full[..BLIND_INDEX_LEN]);
        out
    }

    /// The full HMAC-SHA-256 of `data` in `domain`: for short secrets stored only as a digest (staff
    /// recovery codes), so that a copy of the database alone is not enough to try guesses offline.
    pub fn keyed_digest(&self, domain: &str, data: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256>>::new_from_slice(&self.bytes.0)
            .expect("HMAC accepts a key of any length");
        mac.update(&(domain.len() as u32).to_be_bytes());
        mac.update(domain.as_bytes());
        mac.update(data);
        mac.finalize().into_bytes().into()
    }
}

impl IndexKey {
    /// Whether `tag` is the [`IndexKey::keyed_digest`] of `data` in `domain`, compared in constant
    /// time (for tokens the server issued and gets back, such as the sign-in form's).
    pub fn verify_keyed_digest(&self, domain: &str, data: &[u8], tag: &[u8]) -> bool {
        let mut mac = <Hmac<Sha256>>::new_from_slice(&self.bytes.0)
            .expect("HMAC accepts a key of any length");
        mac.update(&(domain.len() as u32).to_be_bytes());
        mac.update(domain.as_bytes());
        mac.update(data);
        mac.verify_slice(tag).is_ok()
    }
}

/// A new bearer token (`cft_` and 64 hexadecimal characters, 256 random bits), shown once to its owner.
pub fn new_token() -> Zeroizing<String> {
    let bytes: [u8; 32] = random_bytes();
    Zeroizing::new(format!("cft_{}", hex::encode(bytes)))
}

/// A new session token (`cfs_` and 64 hexadecimal characters, 256 random bits), set in the sign-in
/// cookie. The prefix tells it apart from an API token (`cft_`); store only its [`token_hash`].
pub fn new_session_token() -> Zeroizing<String> {
    let bytes = Zeroizing::new(random_bytes::<32>());
    // Encoded straight into a buffer that is wiped, so no copy of the token is left behind.
    let mut text = Zeroizing::new([0u8; 64]);
    hex::encode_to_slice(bytes.as_slice(), text.as_mut_slice())
        .expect("64 bytes hold 32 bytes in hexadecimal");
    let mut token = Zeroizing::new(String::with_capacity(4 + 64));
    token.push_str("cfs_");
    token.push_str(std::str::from_utf8(text.as_slice()).expect("hexadecimal is ASCII"));
    token
}

/// What is stored of a token: its SHA-256. Tokens carry 256 random bits, so a fast hash suffices.
pub fn token_hash(token: &str) -> [u8; 32] {
    use sha2::Digest as _;
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(row: &str) -> FieldAddress<'_> {
        FieldAddress {
            table: "person",
            column: "given_name",
            row_id: row,
            key_version: 1,
        }
    }

    #[test]
    fn a_sealed_value_opens_at_its_own_place() {
        let key = DataKey::generate();
        let sealed = key.seal(&place("r1"), b"Ada");
        assert_eq!(
            key.open(&place("r1"), &sealed).expect("opens").as_slice(),
            b"Ada"
        );
    }

    #[test]
    fn a_value_copied_to_another_row_column_or_key_version_fails_to_open() {
        let key = DataKey::generate();
        let sealed = key.seal(&place("r1"), b"Ada");
        assert_eq!(key.open(&place("r2"), &sealed), Err(CryptoError::Open));
        let other_column = FieldAddress {
            column: "family_name",
            ..place("r1")
        };
        assert_eq!(key.open(&other_column, &sealed), Err(CryptoError::Open));
        let other_version = FieldAddress {
            key_version: 2,
            ..place("r1")
        };
        assert_eq!(key.open(&other_version, &sealed), Err(CryptoError::Open));
        let other_table = FieldAddress {
            table: "third_party",
            ..place("r1")
        };
        assert_eq!(key.open(&other_table, &sealed), Err(CryptoError::Open));
    }

    #[test]
    fn another_persons_key_cannot_open_a_value() {
        let sealed = DataKey::generate().seal(&place("r1"), b"Ada");
        assert_eq!(
            DataKey::generate().open(&place("r1"), &sealed),
            Err(CryptoError::Open)
        );
    }

    #[test]
    fn an_altered_value_fails_to_open() {
        let key = DataKey::generate();
        let mut sealed = key.seal(&place("r1"), b"Ada");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(key.open(&place("r1"), &sealed), Err(CryptoError::Open));
        assert_eq!(
            key.open(&place("r1"), &sealed[..10]),
            Err(CryptoError::Malformed)
        );
    }

    #[test]
    fn sealing_the_same_value_twice_gives_different_ciphertexts() {
        let key = DataKey::generate();
        assert_ne!(
            key.seal(&place("r1"), b"Ada"),
            key.seal(&place("r1"), b"Ada")
        );
    }

    #[test]
    fn a_wrapped_key_unwraps_only_with_its_master_key_and_context() {
        let master = MasterKey::generate();
        let data = DataKey::generate();
        let wrapped = master.wrap(&data, b"person:p1:1");
        let back = master.unwrap(&wrapped, b"person:p1:1").expect("unwraps");
        let sealed = data.seal(&place("r1"), b"x");
        assert_eq!(
            back.open(&place("r1"), &sealed).expect("opens").as_slice(),
            b"x"
        );
        assert_eq!(
            master.unwrap(&wrapped, b"person:p2:1").err(),
            Some(CryptoError::Unwrap)
        );
        assert_eq!(
            MasterKey::generate().unwrap(&wrapped, b"person:p1:1").err(),
            Some(CryptoError::Unwrap)
        );
    }

    #[test]
    fn master_key_round_trips_through_hex_with_the_same_id() {
        let key = MasterKey::generate();
        let again = MasterKey::from_hex(&key.to_hex()).expect("parses");
        assert_eq!(key.key_id(), again.key_id());
        assert_ne!(key.key_id(), MasterKey::generate().key_id());
        assert_eq!(key.key_id().len(), 16);
    }

    #[test]
    fn a_malformed_master_key_is_refused_without_echoing_it() {
        let (g64, a66) = ("g".repeat(64), "a".repeat(66));
        for bad in ["", "abc", g64.as_str(), a66.as_str()] {
            let err = MasterKey::from_hex(bad).expect_err("refused");
            assert!(matches!(err, CryptoError::InvalidMasterKey(_)));
        }
    }

    #[test]
    fn keys_never_print_their_bytes() {
        let master = MasterKey::generate();
        let printed = format!(
            "{master:?} {:?} {:?}",
            DataKey::generate(),
            IndexKey::generate()
        );
        assert!(printed.contains("[redacted]"));
        assert!(!printed.contains(master.to_hex().as_str()));
    }

    #[test]
    fn blind_indexes_are_stable_per_key_and_separated_per_field() {
        let key = IndexKey::generate();
        let a = key.blind_index("person.nhs_number", "9434765919");
        assert_eq!(a, key.blind_index("person.nhs_number", "9434765919"));
        assert_ne!(a, key.blind_index("person.phone", "9434765919"));
        assert_ne!(
            a,
            IndexKey::generate().blind_index("person.nhs_number", "9434765919")
        );
    }

    #[test]
    fn tokens_are_unique_and_only_their_hash_matches() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(*a, *b);
        assert!(a.starts_with("cft_") && a.len() == 68);
        assert_eq!(token_hash(&a), token_hash(&a.clone()));
        assert_ne!(token_hash(&a), token_hash(&b));
    }

    #[test]
    fn session_tokens_are_unique_and_distinguishable_from_api_tokens() {
        let (a, b) = (new_session_token(), new_session_token());
        assert_ne!(*a, *b);
        assert!(a.starts_with("cfs_") && a.len() == 68);
        assert!(a[4..].bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(!new_token().starts_with("cfs_"));
        assert_ne!(token_hash(&a), token_hash(&b));
    }

    #[test]
    fn index_key_survives_wrapping() {
        let master = MasterKey::generate();
        let key = IndexKey::generate();
        let wrapped = master.wrap_index_key(&key, b"index");
        let back = master
            .unwrap_index_key(&wrapped, b"index")
            .expect("unwraps");
        assert_eq!(back.blind_index("d", "v"), key.blind_index("d", "v"));
    }

    proptest::proptest! {
        #[test]
        fn any_plaintext_round_trips(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048), row in "[a-z0-9-]{1,40}") {
            let key = DataKey::generate();
            let addr = place(&row);
            let sealed = key.seal(&addr, &bytes);
            let opened = key.open(&addr, &sealed).expect("opens");
            proptest::prop_assert_eq!(opened.as_slice(), bytes.as_slice());
        }
    }
}
