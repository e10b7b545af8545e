//! `confidant destroy`: the operator destroys a person's record (the same use case as the Data
//! Protection Officer's page and API), and gets its certificate, signed with the audit signing key
//! when the installation has one.

use std::path::Path;

use anyhow::{Context, bail};
use confidant_core::Purpose;
use confidant_core::person::PersonError;
use serde::Serialize;
use uuid::Uuid;

use crate::config::Config;
use crate::installation::{open, operator};
use crate::keyfile;

/// A certificate as handed out: its canonical body (the bytes the hash and signature cover), and
/// the Ed25519 signature by the installation's audit key with that key's public half.
#[derive(Serialize)]
struct Signed<'a> {
    body: &'a str,
    sha256: &'a str,
    signature: Option<String>,
    public_key: Option<String>,
}

pub(crate) async fn run(
    config: &Config,
    person_id: Uuid,
    reason: &str,
    basis: &str,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    if let Some(out) = out
        && out.exists()
    {
        bail!(
            "{} exists already: certificates are never overwritten (nothing was destroyed)",
            out.display()
        );
    }
    let key = keyfile::load_audit_key(&config.audit_signing_key_path())?;
    let mut confidant = open(config).await?;
    if let Some((key, _)) = &key {
        confidant = confidant.with_signing_key(key.clone());
    }
    let operator = operator(config, &confidant)?;
    let done = confidant
        .destroy_person(&operator, Purpose::Administration, person_id, basis, reason)
        .await
        .map_err(|e| match e {
            PersonError::Invalid(v) => anyhow::anyhow!(
                "nothing was destroyed: {}",
                v.0.iter()
                    .map(|v| format!("{}: {}", v.field, v.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            PersonError::NotFound => {
                anyhow::anyhow!("nothing was destroyed: no record with that id")
            }
            PersonError::Conflict(why) => anyhow::anyhow!("nothing was destroyed: {why}"),
            other => anyhow::anyhow!("nothing was destroyed: {other}"),
        })?;
    let signature = done.record.signed();
    confidant.close().await;
    let signed = Signed {
        body: &done.record.body,
        sha256: &done.record.body_sha256,
        signature: signature.as_ref().map(|s| s.signature.clone()),
        public_key: signature.as_ref().map(|s| s.public_key.clone()),
    };
    if signature.is_none() {
        eprintln!(
            "no audit signing key: the certificate is not signed (its sha256 is; `confidant init` creates the key)"
        );
    }
    let text = serde_json::to_string_pretty(&signed)?;
    if let Some(out) = out {
        std::fs::write(out, format!("{text}\n"))
            .with_context(|| format!("could not write {}", out.display()))?;
    }
    println!("{text}");
    eprintln!(
        "destroyed: record {person_id}, certificate {}",
        done.record.id
    );
    Ok(())
}
