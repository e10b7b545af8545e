//! `confidant init`: creates what is missing (data directory, key files, database, schema,
//! installation keys); safe to re-run. `demo` starts with it too.

use std::os::unix::fs::PermissionsExt;

use anyhow::Context;
use confidant_core::KeyRing;
use confidant_crypto::MasterKey;
use confidant_crypto::audit_key::AuditSigningKey;

use crate::config::Config;
use crate::installation::connect;
use crate::keyfile::{self, KeySource};

/// Creates what is missing: data directory, key files, database, schema, installation keys.
pub(crate) async fn run(config: &Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "could not create the data directory {}",
            config.data_dir.display()
        )
    })?;
    std::fs::set_permissions(&config.data_dir, std::fs::Permissions::from_mode(0o700))?;
    let key_path = config.master_key_path();
    let (master, source) = match keyfile::load(&key_path)? {
        Some(found) => found,
        None => {
            let key = MasterKey::generate();
            keyfile::write_new(&key_path, &key)?;
            println!(
                "Created a new master key in {} (mode 0600). Keep a copy somewhere safe and separate from \
                 database backups: without it the data cannot be read.",
                key_path.display()
            );
            (key, KeySource::File(key_path.clone()))
        }
    };
    let audit_key_path = config.audit_signing_key_path();
    if keyfile::load_audit_key(&audit_key_path)?.is_none() {
        let key = AuditSigningKey::generate();
        keyfile::write_new_audit_key(&audit_key_path, &key)?;
        println!(
            "Created a new audit signing key in {} (mode 0600). Keep a copy with the master key. Whoever \
             checks audit checkpoints needs only its public key: {}",
            audit_key_path.display(),
            key.public_key().to_hex()
        );
    }
    let store = connect(config, true).await?;
    store.migrate().await?;
    restrict_sqlite_file(config)?;
    KeyRing::initialise(&store, master)
        .await
        .with_context(|| format!("the master key from {source} cannot open this database"))?;
    println!(
        "Confidant is initialised (data directory {}).",
        config.data_dir.display()
    );
    store.close().await;
    Ok(())
}

fn restrict_sqlite_file(config: &Config) -> anyhow::Result<()> {
    if config.database_url.is_none() && config.database_url_file.is_none() {
        let db = config.data_dir.join("confidant.db");
        if db.exists() {
            std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}
