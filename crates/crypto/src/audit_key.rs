//! The key that signs the audit chain's checkpoints: Ed25519, so that whoever checks a checkpoint needs
//! only the public half and cannot make one.
//!
//! Guarantees:
//! - An [`AuditSigningKey`] lives only in a key file or the environment, like the master key: it is never
//!   given to the store, its `Debug` prints `[redacted]`, and its secret half is wiped on drop
//!   (`ed25519-dalek`'s `zeroize` feature; the textual form is handed out in a [`Zeroizing`] string).
//! - [`AuditPublicKey::verify`] accepts a signature only for the exact bytes that were signed, and only
//!   under the public key of the key that signed them; it uses `verify_strict`, which also refuses weak
//!   public keys and malleable signatures, so one checkpoint cannot be turned into another valid one.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::{CryptoError, KEY_LEN, random_bytes};

/// Length in bytes of a signature.
pub const SIGNATURE_LEN: usize = 64;

/// The secret key that signs checkpoints.
#[derive(Clone)]
pub struct AuditSigningKey(SigningKey);

impl std::fmt::Debug for AuditSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditSigningKey([redacted])")
    }
}

impl AuditSigningKey {
    /// A new random key (from the operating system's CSPRNG via `rand`'s thread RNG).
    pub fn generate() -> Self {
        let seed = Zeroizing::new(random_bytes::<KEY_LEN>());
        Self(SigningKey::from_bytes(&seed))
    }

    /// Parses the textual form: 64 hexadecimal characters (the 32-byte seed; white space around ignored).
    pub fn from_hex(text: &str) -> Result<Self, CryptoError> {
        let mut seed = Zeroizing::new([0u8; KEY_LEN]);
        decode_hex(text, &mut seed[..])?;
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    /// The textual form, for writing a key file. Wiped when dropped.
    pub fn to_hex(&self) -> Zeroizing<String> {
        let seed = Zeroizing::new(self.0.to_bytes());
        Zeroizing::new(hex::encode(&seed[..]))
    }

    /// The public half, which checks this key's signatures.
    pub fn public_key(&self) -> AuditPublicKey {
        AuditPublicKey(self.0.verifying_key())
    }

    /// Signs `message` (deterministic, as Ed25519 is: the same bytes give the same signature).
    pub fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.0.sign(message).to_bytes()
    }
}

/// The public key that checks checkpoint signatures. Not secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditPublicKey(VerifyingKey);

impl AuditPublicKey {
    /// Parses the textual form: 64 hexadecimal characters.
    pub fn from_hex(text: &str) -> Result<Self, CryptoError> {
        let mut bytes = [0u8; KEY_LEN];
        decode_hex(text, &mut bytes)?;
        Self::from_bytes(&bytes)
    }

    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> Result<Self, CryptoError> {
        VerifyingKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| CryptoError::InvalidAuditKey("not an Ed25519 public key"))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    pub fn to_bytes(&self) -> [u8; KEY_LEN] {
        self.0.to_bytes()
    }

    /// Checks that `signature` was made over exactly `message` by this key's secret half.
    pub fn verify(
        &self,
        message: &[u8],
        signature: &[u8; SIGNATURE_LEN],
    ) -> Result<(), CryptoError> {
        self.0
            .verify_strict(message, &Signature::from_bytes(signature))
            .map_err(|_| CryptoError::BadSignature)
    }
}

fn decode_hex(text: &str, out: &mut [u8]) -> Result<(), CryptoError> {
    let text = text.trim();
    if text.len() != out.len() * 2 {
        return Err(CryptoError::InvalidAuditKey(
            "expected 64 hexadecimal characters",
        ));
    }
    hex::decode_to_slice(text, out)
        .map_err(|_| CryptoError::InvalidAuditKey("expected 64 hexadecimal characters"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_message_and_its_key() {
        let key = AuditSigningKey::generate();
        let sig = key.sign(b"checkpoint 7");
        let public = key.public_key();
        assert_eq!(public.verify(b"checkpoint 7", &sig), Ok(()));
        assert_eq!(
            public.verify(b"checkpoint 8", &sig),
            Err(CryptoError::BadSignature)
        );
        let mut flipped = sig;
        flipped[10] ^= 1;
        assert_eq!(
            public.verify(b"checkpoint 7", &flipped),
            Err(CryptoError::BadSignature)
        );
        let other = AuditSigningKey::generate().public_key();
        assert_eq!(
            other.verify(b"checkpoint 7", &sig),
            Err(CryptoError::BadSignature)
        );
    }

    #[test]
    fn keys_round_trip_through_their_text_and_never_print() {
        let key = AuditSigningKey::generate();
        let again = AuditSigningKey::from_hex(&key.to_hex()).expect("valid");
        assert_eq!(again.public_key(), key.public_key());
        assert_eq!(
            AuditPublicKey::from_hex(&key.public_key().to_hex()),
            Ok(key.public_key())
        );
        assert!(!format!("{key:?}").contains(key.to_hex().as_str()));
        for bad in ["", "zz", &"0".repeat(63), &"g".repeat(64)] {
            assert!(AuditSigningKey::from_hex(bad).is_err(), "{bad}");
            assert!(AuditPublicKey::from_hex(bad).is_err(), "{bad}");
        }
    }
}
