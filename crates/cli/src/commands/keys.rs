//! `confidant keys rotate`: re-wraps every data key under a new master key, written to its file
//! before the database switches to it, so a crash at any point leaves a key that opens the database.

use anyhow::bail;
use confidant_crypto::MasterKey;

use crate::args::KeysCommand;
use crate::config::Config;
use crate::installation::{open, operator};
use crate::keyfile;

pub(crate) async fn run(config: &Config, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Rotate => rotate(config).await,
    }
}

async fn rotate(config: &Config) -> anyhow::Result<()> {
    if std::env::var_os("CONFIDANT_MASTER_KEY").is_some() {
        bail!(
            "the master key comes from CONFIDANT_MASTER_KEY: rotation writes a key file, so unset it and point \
             master_key_file at the current key"
        );
    }
    let mut confidant = open(config).await?;
    let operator = operator(config, &confidant)?;
    let key_path = config.master_key_path();
    let pending = keyfile::pending_path(&key_path);
    if pending.exists() {
        // Left by a rotation that stopped before its database transaction committed: unused.
        std::fs::remove_file(&pending)?;
    }
    let new_key = MasterKey::generate();
    // The new key is on disk before the database switches to it, so a crash at any point leaves a key
    // that opens the database.
    keyfile::write_new(&pending, &new_key)?;
    let rotation = match confidant.rotate_master_key(&operator, new_key).await {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&pending);
            return Err(e.into());
        }
    };
    keyfile::replace(&pending, &key_path)?;
    println!(
        "Rotated the master key: {} data keys re-wrapped; key id {} replaced by {} in {}. The old key opens \
         nothing now; update any copies you keep and restart running servers.",
        rotation.data_keys,
        rotation.old_key_id,
        rotation.new_key_id,
        key_path.display()
    );
    Ok(())
}
