//! The key ring held by a running Confidant: the master key and the installation's blind-index key.
//!
//! Guarantees: Confidant opens a database only with the master key that wrapped it (checked by key id,
//! before anything is written); rotation re-wraps every data key and the index key in one transaction
//! without touching sealed data, after which the old master key opens nothing.

use confidant_crypto::{CryptoError, DataKey, IndexKey, MasterKey};
use confidant_policy::{Action, Resource};
use uuid::Uuid;

use crate::access::Principal;
use crate::audit::{AuditDraft, Purpose};
use crate::field::IndexField;
use crate::store::{InstallationKeys, Store, StoreError, WrappedDataKey};
use crate::{Clock, Confidant};

const INDEX_KEY_CONTEXT: &[u8] = b"confidant/index-key";

#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    #[error("this database has not been initialised: run `confidant init` first")]
    NotInitialised,
    #[error(
        "the master key does not match this database (the database expects key id {expected}, the key given has id {given}); nothing was changed"
    )]
    WrongMasterKey { expected: String, given: String },
    #[error(
        "the stored index key could not be opened with the master key: the key store is damaged"
    )]
    Damaged,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("not permitted")]
    Forbidden,
    #[error("the new master key is the same as the current one")]
    SameKey,
    #[error(
        "data key of {0} could not be unwrapped with the current master key; nothing was changed"
    )]
    Unwrap(Uuid),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The keys a running Confidant holds in memory.
#[derive(Debug, Clone)]
pub struct KeyRing {
    master: MasterKey,
    index: IndexKey,
}

fn data_key_context(owner: Uuid, version: i64) -> Vec<u8> {
    format!("confidant/data-key/{owner}/{version}").into_bytes()
}

impl KeyRing {
    /// The key that chains the installation's erasure ledger (`confidant_store::ErasureLedger`):
    /// derived from the index key, which a master key rotation keeps, so the ledger outlives it.
    pub fn erasure_ledger_key(&self) -> [u8; 32] {
        self.index
            .keyed_digest(ERASURE_LEDGER_DOMAIN, b"confidant erasure ledger")
    }

    /// Records a new installation's keys, or opens an existing one (so `init` can be re-run safely).
    pub async fn initialise<S: Store>(store: &S, master: MasterKey) -> Result<Self, KeyRingError> {
        if store.installation_keys().await?.is_some() {
            return Self::open(store, master).await;
        }
        let index = IndexKey::generate();
        let keys = InstallationKeys {
            master_key_id: master.key_id().to_owned(),
            wrapped_index_key: master.wrap_index_key(&index, INDEX_KEY_CONTEXT),
        };
        match store.initialise_keys(&keys).await {
            Ok(()) => Ok(Self { master, index }),
            // Initialised concurrently: open what won.
            Err(StoreError::Conflict(_)) => Self::open(store, master).await,
            Err(e) => Err(e.into()),
        }
    }

    /// Opens an initialised installation; refuses a wrong master key before anything is written.
    pub async fn open<S: Store>(store: &S, master: MasterKey) -> Result<Self, KeyRingError> {
        let keys = store
            .installation_keys()
            .await?
            .ok_or(KeyRingError::NotInitialised)?;
        if keys.master_key_id != master.key_id() {
            return Err(KeyRingError::WrongMasterKey {
                expected: keys.master_key_id,
                given: master.key_id().to_owned(),
            });
        }
        let index = master
            .unwrap_index_key(&keys.wrapped_index_key, INDEX_KEY_CONTEXT)
            .map_err(|_| KeyRingError::Damaged)?;
        Ok(Self { master, index })
    }

    pub fn master_key_id(&self) -> &str {
        self.master.key_id()
    }

    pub(crate) fn new_data_key(&self, owner: Uuid, version: i64) -> (DataKey, WrappedDataKey) {
        let key = DataKey::generate();
        let wrapped = WrappedDataKey {
            owner_id: owner,
            version,
            master_key_id: self.master.key_id().to_owned(),
            wrapped: self.master.wrap(&key, &data_key_context(owner, version)),
        };
        (key, wrapped)
    }

    pub(crate) fn data_key(&self, wrapped: &WrappedDataKey) -> Result<DataKey, CryptoError> {
        self.master.unwrap(
            &wrapped.wrapped,
            &data_key_context(wrapped.owner_id, wrapped.version),
        )
    }

    /// What is stored of a recovery code: a keyed digest of its hash, so a database copy alone does not
    /// let anyone test guesses of its 50 bits.
    pub(crate) fn recovery_code_digest(&self, code_hash: &[u8; 32]) -> [u8; 32] {
        self.index.keyed_digest("staff.recovery_code", code_hash)
    }

    /// An access request's item as it was reviewed: a keyed digest, so a change before release is
    /// seen while a copy of the database alone cannot test guesses of what the item said.
    pub(crate) fn bundle_item_digest(&self, request_id: uuid::Uuid, content: &[u8]) -> [u8; 32] {
        let mut data = request_id.as_bytes().to_vec();
        data.extend_from_slice(content);
        self.index.keyed_digest("rights.bundle_item", &data)
    }

    /// What failed sign-ins under a user name with no account are counted by: a keyed digest, so the
    /// names people typed are not kept.
    pub(crate) fn handle_digest(&self, handle: &str) -> [u8; 32] {
        self.index
            .keyed_digest("staff.sign_in_handle", handle.as_bytes())
    }

    /// A name gram's digest, separated by service so equal names in two services do not link.
    pub(crate) fn name_gram(
        &self,
        service_id: uuid::Uuid,
        gram: &str,
    ) -> crate::name_index::GramDigest {
        let mut data = service_id.as_bytes().to_vec();
        data.extend_from_slice(gram.as_bytes());
        let full = self.index.keyed_digest("person.name_gram", &data);
        let mut out = [0u8; 8];
        out.copy_from_slice(&full[..8]);
        out
    }

    pub(crate) fn blind_index(&self, field: IndexField, normalised: &str) -> [u8; 16] {
        self.index.blind_index(field.domain(), normalised)
    }

    /// A sign-in form token that expires at `expires_at` (Unix seconds):
    /// `<expires_at>.<nonce>.<tag>`, the tag an HMAC of the rest under the installation's index
    /// key in a domain of its own, so only this installation can make one.
    pub(crate) fn sign_in_form_token(&self, expires_at: i64) -> String {
        let token = confidant_crypto::new_token();
        // 128 random bits of the new token's 256 make the nonce.
        let body = format!("{expires_at}.{}", &token[4..36]);
        let tag = self
            .index
            .keyed_digest(SIGN_IN_FORM_DOMAIN, body.as_bytes());
        format!("{body}.{}", hex::encode(tag))
    }

    /// When a sign-in form token this installation issued expires (Unix seconds), or `None` if it
    /// is not one (forged, altered, or made by another installation). Expiry is the caller's check.
    pub(crate) fn sign_in_form_expiry(&self, token: &str) -> Option<i64> {
        let (body, tag) = token.rsplit_once('.')?;
        let (expires_at, nonce) = body.split_once('.')?;
        let well_formed = nonce.len() == 32
            && nonce.bytes().all(|b| b.is_ascii_hexdigit())
            && tag.len() == 64
            && expires_at.len() <= 12
            && expires_at.bytes().all(|b| b.is_ascii_digit());
        if !well_formed {
            return None;
        }
        let tag = hex::decode(tag).ok()?;
        self.index
            .verify_keyed_digest(SIGN_IN_FORM_DOMAIN, body.as_bytes(), &tag)
            .then(|| expires_at.parse().ok())
            .flatten()
    }
}

/// The domain of the erasure ledger's key (separate from every blind index and digest).
const ERASURE_LEDGER_DOMAIN: &str = "keeping.erasure_ledger";

/// The domain of the sign-in form's token tags (separate from every blind index and digest).
const SIGN_IN_FORM_DOMAIN: &str = "web.sign_in_form";

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub old_key_id: String,
    pub new_key_id: String,
    pub data_keys: usize,
}

impl<S: Store, C: Clock> Confidant<S, C> {
    /// Re-wraps every data key and the index key under `new_master`, in one transaction, without
    /// re-encrypting any sealed value. Afterwards this process holds the new key.
    pub async fn rotate_master_key(
        &mut self,
        actor: &Principal,
        new_master: MasterKey,
    ) -> Result<Rotation, RotationError> {
        let permit = self
            .authorizer
            .authorize(actor, Action::KeysRotate, Resource::Installation)
            .map_err(|_| RotationError::Forbidden)?;
        if new_master.key_id() == self.keys.master.key_id() {
            return Err(RotationError::SameKey);
        }
        let stored = self.store.wrapped_data_keys().await?;
        let mut rewrapped = Vec::with_capacity(stored.len());
        for w in &stored {
            let key = self
                .keys
                .data_key(w)
                .map_err(|_| RotationError::Unwrap(w.owner_id))?;
            rewrapped.push(WrappedDataKey {
                wrapped: new_master.wrap(&key, &data_key_context(w.owner_id, w.version)),
                master_key_id: new_master.key_id().to_owned(),
                ..w.clone()
            });
        }
        let keys = InstallationKeys {
            master_key_id: new_master.key_id().to_owned(),
            wrapped_index_key: new_master.wrap_index_key(&self.keys.index, INDEX_KEY_CONTEXT),
        };
        let audit = AuditDraft::permitted(&permit, Purpose::Administration, self.clock.now());
        let old_key_id = self.keys.master.key_id().to_owned();
        self.store
            .rotate_master_key(&old_key_id, &keys, &rewrapped, audit)
            .await?;
        self.keys.master = new_master;
        Ok(Rotation {
            old_key_id,
            new_key_id: keys.master_key_id,
            data_keys: rewrapped.len(),
        })
    }
}

#[cfg(test)]
mod sign_in_form_tests {
    use super::*;

    fn new_ring() -> KeyRing {
        KeyRing {
            master: MasterKey::generate(),
            index: IndexKey::generate(),
        }
    }

    #[test]
    fn only_a_sign_in_form_token_this_installation_made_is_recognised() {
        let ring = new_ring();
        let token = ring.sign_in_form_token(1_900_000_000);
        assert_eq!(ring.sign_in_form_expiry(&token), Some(1_900_000_000));
        // Another installation's key, a later expiry written in, a changed nonce or tag, and
        // made-up or malformed tokens are not recognised.
        assert_eq!(new_ring().sign_in_form_expiry(&token), None);
        let later = token.replacen("1900000000", "1999999999", 1);
        assert_eq!(ring.sign_in_form_expiry(&later), None);
        let mut flipped = token.clone().into_bytes();
        let at = 12;
        flipped[at] = if flipped[at] == b'a' { b'b' } else { b'a' };
        assert_eq!(
            ring.sign_in_form_expiry(&String::from_utf8(flipped).unwrap_or_default()),
            None
        );
        for made_up in [
            "a".repeat(64),
            format!("1900000000.{}.{}", "0".repeat(32), "0".repeat(64)),
            String::new(),
            "..".to_owned(),
        ] {
            assert_eq!(ring.sign_in_form_expiry(&made_up), None, "{made_up}");
        }
    }
}
