//! `confidant serve`: the API and pages, over TLS when a certificate is configured, with the audit
//! checkpoint writer and the outbox's sender beside them. `demo` serves the same way.

use std::sync::Arc;

use anyhow::{Context, bail};
use confidant_core::access::Principal;
use confidant_core::{Confidant, SystemClock};
use confidant_crypto::audit_key::AuditSigningKey;
use confidant_store::SqlStore;

use super::outbox;
use crate::checkpoints;
use crate::config::Config;
use crate::installation::{open, operator};
use crate::keyfile;

pub(crate) async fn run(config: &Config) -> anyhow::Result<()> {
    let audit_key = serving_audit_key(config)?;
    // Certificates are handed out signed with it (page, PDF and API).
    let confidant = open(config).await?.with_signing_key(audit_key.clone());
    let operator = operator(config, &confidant)?;
    put_register_in_force(&confidant, &operator).await?;
    serve(config, Arc::new(confidant), audit_key).await
}

/// The audit signing key a server needs: it does not serve without writing checkpoints.
pub(crate) fn serving_audit_key(config: &Config) -> anyhow::Result<AuditSigningKey> {
    match keyfile::load_audit_key(&config.audit_signing_key_path())? {
        Some((key, _)) => Ok(key),
        None => bail!(
            "no audit signing key: set CONFIDANT_AUDIT_SIGNING_KEY or put the key file at {} \
             (`confidant init` creates it); Confidant does not serve without writing audit checkpoints",
            config.audit_signing_key_path().display()
        ),
    }
}

/// For a server starting: the organisation, its services, recipients, processors and consent forms
/// become what the register says (a mismatch stops start-up, naming the file and line), and each
/// notice the register changed is published as a new version.
pub(crate) async fn put_register_in_force(
    confidant: &Confidant<SqlStore, SystemClock>,
    operator: &Principal,
) -> anyhow::Result<Option<confidant_core::register::InForce>> {
    let Some(register) = confidant.register() else {
        tracing::warn!(
            "no register of processing activities: recipients, processors and consent forms are managed through the API until one is configured"
        );
        return Ok(None);
    };
    let in_force = confidant
        .put_register_in_force(operator, register)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if in_force.changes > 0 {
        tracing::info!(
            organisation = %in_force.organisation_id,
            changes = in_force.changes,
            created = in_force.created,
            "register put in force"
        );
    }
    {
        for p in confidant.publish_notices(operator, register).await? {
            if p.new {
                tracing::info!(service = %p.service_code, version = p.version, "privacy notice published");
            }
        }
    }
    Ok(Some(in_force))
}

pub(crate) async fn bind(config: &Config) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("could not listen on {}", config.listen))
}

async fn serve(
    config: &Config,
    confidant: Arc<Confidant<SqlStore, SystemClock>>,
    audit_key: AuditSigningKey,
) -> anyhow::Result<()> {
    let listener = bind(config).await?;
    let scheme = if config.tls() { "https" } else { "http" };
    println!(
        "Confidant is serving on {scheme}://{}",
        listener.local_addr()?
    );
    serve_on(config, listener, confidant, audit_key).await
}

pub(crate) async fn serve_on(
    config: &Config,
    listener: tokio::net::TcpListener,
    confidant: Arc<Confidant<SqlStore, SystemClock>>,
    audit_key: AuditSigningKey,
) -> anyhow::Result<()> {
    tracing::info!(address = %listener.local_addr()?, tls = config.tls(), "serving");
    let checkpoint_writer = checkpoints::spawn_writer(
        confidant.clone(),
        audit_key,
        config.audit_checkpoint_dir(),
        std::time::Duration::from_secs(config.audit_checkpoint_interval_seconds),
    );
    let sender = outbox::spawn_sender(config, confidant.clone())?;
    let sweeper = super::tasks::spawn_sweeper(confidant.clone(), operator(config, &confidant)?);
    let retention =
        super::retention::spawn_sweeper(confidant.clone(), operator(config, &confidant)?);
    let app = confidant_web::router(confidant.clone(), config.web());
    match (&config.tls_cert_file, &config.tls_key_file) {
        (Some(cert), Some(key)) => {
            // One process-wide crypto provider for rustls: ring, no C toolchain beyond ring's own.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .with_context(|| {
                    format!(
                        "could not load the TLS certificate {} and key {}",
                        cert.display(),
                        key.display()
                    )
                })?;
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                stopper.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
            });
            axum_server::from_tcp_rustls(listener.into_std()?, tls)?
                .handle(handle)
                .serve(app.into_make_service())
                .await?;
        }
        _ => {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown_signal())
                .await?;
        }
    }
    if let Some(sender) = sender {
        sender.abort();
    }
    checkpoint_writer.abort();
    sweeper.abort();
    retention.abort();
    confidant.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = ctrl_c.await;
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
}
