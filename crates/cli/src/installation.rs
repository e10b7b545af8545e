//! Opening an installation: the database (refusing a SQLite file `init` has not made), the master
//! key (proved right before anything is written, finishing an interrupted rotation), migrations,
//! the organisation's policies and the register of processing activities. Every command that
//! touches data starts here.

use anyhow::{Context, bail};
use confidant_core::access::Principal;
use confidant_core::register::Register;
use confidant_core::{Confidant, KeyRing, SystemClock};
use confidant_store::{Backend, ConnectOptions, ErasureLedger, SqlStore};

use crate::config::{self, Config};
use crate::keyfile::{self, KeySource};

pub(crate) async fn connect(config: &Config, create: bool) -> anyhow::Result<SqlStore> {
    let url = config.database_url()?;
    if Backend::from_url(&url) == Some(Backend::Sqlite) && !create {
        let path = config.data_dir.join("confidant.db");
        if config.database_url.is_none() && config.database_url_file.is_none() && !path.exists() {
            bail!(
                "there is no database at {}: run `confidant init` first (or `confidant demo`)",
                path.display()
            );
        }
    }
    SqlStore::connect(
        &url,
        &ConnectOptions {
            max_connections: config.max_connections,
            create_if_missing: create,
            audit_deadline: std::time::Duration::from_secs(config.audit_deadline_seconds),
        },
    )
    .await
    .with_context(|| format!("could not open the database {}", config::redact_url(&url)))
}

pub(crate) async fn require_schema(store: &SqlStore) -> anyhow::Result<()> {
    if !store.has_schema().await? {
        bail!("the database has not been initialised: run `confidant init` first");
    }
    Ok(())
}

/// The operator's principal on an open installation: proved by holding its master key (read again
/// from where [`open`] found it, which after a finished rotation is the new key).
pub(crate) fn operator(
    config: &Config,
    confidant: &Confidant<SqlStore, SystemClock>,
) -> anyhow::Result<Principal> {
    let Some((master, source)) = keyfile::load(&config.master_key_path())? else {
        bail!("no master key: set CONFIDANT_MASTER_KEY or put the key file in place");
    };
    confidant
        .operator(&master)
        .with_context(|| format!("the key from {source} is not this installation's master key"))
}

/// Opens an initialised installation. A missing or wrong key stops here, before anything is written;
/// migrations run only after the key is proved right.
pub(crate) async fn open(config: &Config) -> anyhow::Result<Confidant<SqlStore, SystemClock>> {
    let (store, keys) = open_store(config).await?;
    let authorizer = match config.policy_dir() {
        Some(dir) => confidant_policy::Authorizer::with_policy_dir(&dir).map_err(|e| {
            anyhow::anyhow!(
                "the organisation's policies are not valid, so Confidant will not start: {e}"
            )
        })?,
        None => confidant_policy::Authorizer::new(),
    };
    let confidant = Confidant::new(store, keys, SystemClock)
        .with_authorizer(authorizer)
        .with_settings(config.settings())
        .with_bank_holidays(config.bank_holidays()?);
    Ok(match load_register(config)? {
        Some(register) => confidant.with_register(register),
        None => confidant,
    })
}

/// The store and keys of an initialised installation, opened as [`open`] opens them (the key
/// proved, migrations run, erasures settled), for the commands that work on the store as a whole
/// (backup).
pub(crate) async fn open_store(config: &Config) -> anyhow::Result<(SqlStore, KeyRing)> {
    let key_path = config.master_key_path();
    let Some((master, source)) = keyfile::load(&key_path)? else {
        bail!(
            "no master key: set CONFIDANT_MASTER_KEY or put the key file at {} (nothing was changed)",
            key_path.display()
        );
    };
    let store = connect(config, false).await?;
    require_schema(&store).await?;
    let keys = match KeyRing::open(&store, master).await {
        Ok(keys) => keys,
        Err(confidant_core::keyring::KeyRingError::WrongMasterKey { expected, .. })
            if matches!(source, KeySource::File(_)) =>
        {
            finish_interrupted_rotation(&store, &key_path, &expected).await?
        }
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!(
                "cannot open the database with the key from {source}"
            )));
        }
    };
    store.migrate().await?;
    settle_erasures(config, &store, &keys).await?;
    Ok((store, keys))
}

/// Before anything serves: the key store must be this data's, and every erasure on the
/// installation's ledger is done again here if this database does not know it (a copy or backup
/// from before it); erasures the ledger lacks are appended to it. The store keeps the ledger in
/// step from then on.
async fn settle_erasures(config: &Config, store: &SqlStore, keys: &KeyRing) -> anyhow::Result<()> {
    store.check_key_store().await?;
    let ledger = ErasureLedger::new(config.erasure_ledger_path(), keys.erasure_ledger_key());
    let done = store.reconcile_erasures(&ledger).await?;
    if done.replayed > 0 {
        tracing::warn!(
            replayed = done.replayed,
            "erasures on the ledger that this database did not know were done again before it serves"
        );
    }
    store.keep_erasure_ledger(ledger);
    Ok(())
}

/// The register of processing activities, checked; an invalid one stops Confidant with every fault
/// (file, line, what is missing).
pub(crate) fn load_register(config: &Config) -> anyhow::Result<Option<Register>> {
    let Some(file) = config.register_file() else {
        return Ok(None);
    };
    match Register::load(&file) {
        Ok(register) => Ok(Some(register)),
        Err(errors) => bail!(
            "the register of processing activities is not valid, so Confidant will not start:\n{errors}"
        ),
    }
}

/// A rotation that committed in the database but stopped before its new key file replaced the old one
/// leaves the new key at `<key file>.new`: finish the switch, or refuse.
async fn finish_interrupted_rotation(
    store: &SqlStore,
    key_path: &std::path::Path,
    expected: &str,
) -> anyhow::Result<KeyRing> {
    let pending = keyfile::pending_path(key_path);
    if pending.exists() {
        let key = keyfile::read_file(&pending)?;
        if key.key_id() == expected {
            let keys = KeyRing::open(store, key).await?;
            keyfile::replace(&pending, key_path)?;
            tracing::warn!(
                "completed an interrupted key rotation: the new master key file is now in place"
            );
            return Ok(keys);
        }
    }
    bail!(
        "the master key in {} does not match this database (it expects key id {expected}); nothing was changed",
        key_path.display()
    )
}
