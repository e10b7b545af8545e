//! `confidant`: the composition root (configuration → keys → store → services → web) and the operator's
//! commands. Every command that touches data goes through the core services.

mod args;
mod audit;
mod checkpoints;
mod config;
mod demo;
mod keyfile;
mod outbox;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Parser;
use confidant_core::register::Register;
use confidant_core::store::{ServiceConfig, StaffRecord, TrainingKind};
use confidant_core::{Actor, Confidant, KeyRing, SystemClock};
use confidant_crypto::MasterKey;
use confidant_crypto::audit_key::AuditSigningKey;
use confidant_store::{Backend, ConnectOptions, SqlStore};

use crate::args::*;
use crate::config::{Config, Flags, LogFormat};
use crate::keyfile::KeySource;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn load_config(global: &Global, command: &Command) -> anyhow::Result<Config> {
    let mut defaults = Config::default();
    if matches!(command, Command::Demo { .. }) {
        defaults.data_dir = PathBuf::from("./confidant-demo");
    }
    let listen = match command {
        Command::Serve { listen } | Command::Demo { listen } => *listen,
        _ => None,
    };
    let flags = Flags {
        data_dir: global.data_dir.clone(),
        database_url: global.database_url.clone(),
        listen,
    };
    Config::load(global.config.as_deref(), defaults, &flags)
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = load_config(&cli.global, &cli.command)?;
    init_logging(&config);
    match cli.command {
        Command::Init => {
            init(&config).await?;
        }
        Command::Migrate => {
            let store = connect(&config, true).await?;
            store.migrate().await?;
            store.close().await;
            println!("migrations applied");
        }
        Command::Serve { .. } => {
            let audit_key = serving_audit_key(&config)?;
            let confidant = open(&config).await?;
            put_register_in_force(&confidant).await?;
            serve(&config, Arc::new(confidant), audit_key).await?;
        }
        Command::Demo { .. } => {
            init(&config).await?;
            // The demo runs on the recovery service's example register (its notice is public at
            // /privacy/recovery), unless a register is configured already.
            if config.register_file().is_none() {
                let dir = config.data_dir.join("config");
                std::fs::create_dir_all(&dir)?;
                std::fs::write(dir.join("register.toml"), demo::REGISTER)?;
            }
            let confidant = open(&config).await?;
            let guide = demo::prepare(&confidant, &config).await?;
            // The demo's services exist only now (on a new demo): put the register in force.
            put_register_in_force(&confidant).await?;
            let confidant = Arc::new(confidant);
            let audit_key = serving_audit_key(&config)?;
            let listener = bind(&config).await?;
            println!("{guide}");
            serve_on(&config, listener, confidant, audit_key).await?;
        }
        Command::Config(ConfigCommand::Show) => print!("{}", config.redacted_toml()?),
        Command::Config(ConfigCommand::Check { register }) => {
            let file = register.or_else(|| config.register_file());
            match file {
                None => println!(
                    "configuration valid; no register of processing activities (expected at {})",
                    config
                        .data_dir
                        .join("config")
                        .join("register.toml")
                        .display()
                ),
                Some(file) => match Register::load(&file) {
                    Ok(r) => println!(
                        "configuration valid; register {} valid: {} services, {} activities, {} recipients, {} processors",
                        file.display(),
                        r.services.len(),
                        r.activities.len(),
                        r.recipients.len(),
                        r.processors.len()
                    ),
                    Err(errors) => {
                        eprintln!("{errors}");
                        std::process::exit(2);
                    }
                },
            }
        }
        Command::Register(command) => {
            let Some(register) = load_register(&config)? else {
                bail!(
                    "there is no register of processing activities: put it at {} or set register_file",
                    config
                        .data_dir
                        .join("config")
                        .join("register.toml")
                        .display()
                );
            };
            match command {
                RegisterCommand::Notice { service, pdf } => {
                    let notice = confidant_core::notice::notice(&register, &service)?;
                    match pdf {
                        None => print!("{}", notice.markdown()),
                        Some(file) => {
                            let bytes = confidant_pdf::notice_pdf(&notice)?;
                            std::fs::write(&file, bytes)
                                .with_context(|| format!("cannot write {}", file.display()))?;
                            println!("notice of {service} written to {}", file.display());
                        }
                    }
                }
                RegisterCommand::Csv => {
                    print!("{}", confidant_core::notice::article30_csv(&register))
                }
                RegisterCommand::Changes { service } => {
                    let confidant = open(&config).await?;
                    let Some(change) = confidant.notice_change(&register, &service, true).await?
                    else {
                        bail!("no notice of `{service}` has been published yet");
                    };
                    println!("notice of {service}: version {}", change.version);
                    match change.previous {
                        None => println!("the first version: nothing to compare with"),
                        Some(p) => {
                            println!("changed since version {p}:");
                            for (sign, line) in &change.changes {
                                println!("{sign} {line}");
                            }
                            println!(
                                "people to tell: {} (record ids below)",
                                change.people_to_tell.len()
                            );
                            for id in &change.people_to_tell {
                                println!("  {id}");
                            }
                        }
                    }
                    confidant.store().close().await;
                }
            }
        }
        Command::Outbox(OutboxCommand::Send) => {
            let Some(smtp) = config.smtp()? else {
                bail!("no SMTP server is configured ([smtp] in the configuration file)");
            };
            let mailer = confidant_mail::SmtpMailer::new(&smtp)?;
            let confidant = open(&config).await?;
            let total = outbox::drain(&confidant, &mailer, smtp.retry_policy()).await?;
            println!(
                "outbox: {} sent, {} to retry later, {} given up, {} texts waiting (no text transport configured)",
                total.sent, total.retrying, total.failed, total.waiting_for_transport
            );
            confidant.store().close().await;
        }
        Command::Audit(command) => return audit::run(&config, command).await,
        Command::Keys(KeysCommand::Rotate) => rotate(&config).await?,
        Command::Org(OrgCommand::Create { name }) => {
            let confidant = open(&config).await?;
            let org = confidant
                .create_organisation(&Actor::System, &name)
                .await
                .map_err(describe)?;
            println!("{}", org.id);
        }
        Command::Org(OrgCommand::List) => {
            let confidant = open(&config).await?;
            for org in confidant.organisations().await.map_err(describe)? {
                println!("{}\t{}", org.id, org.name);
            }
        }
        Command::Service(ServiceCommand::Create { organisation, name }) => {
            let confidant = open(&config).await?;
            let service = confidant
                .create_service(&Actor::System, organisation, &name)
                .await
                .map_err(describe)?;
            println!("{}", service.id);
        }
        Command::Service(ServiceCommand::SetScope { service, scope }) => {
            let confidant = open(&config).await?;
            confidant
                .set_service_scope(&Actor::System, service, scope)
                .await
                .map_err(describe)?;
            println!("scope set to {}", scope.code());
        }
        Command::Service(ServiceCommand::Configure {
            service,
            groups,
            referrals,
            partner,
        }) => {
            let confidant = open(&config).await?;
            let configuration = ServiceConfig {
                service_id: service,
                field_groups: groups,
                referrals,
                partner_service_id: partner,
            };
            confidant
                .configure_service(&Actor::System, &configuration)
                .await
                .map_err(describe)?;
            println!(
                "service configured: groups {}; referrals from {}",
                configuration.field_groups.codes(),
                referrals.code()
            );
        }
        Command::Team(TeamCommand::Create { service, name }) => {
            let confidant = open(&config).await?;
            let team = confidant
                .create_team(&Actor::System, service, &name)
                .await
                .map_err(describe)?;
            println!("{}", team.id);
        }
        Command::User(command) => user(&config, command).await?,
        Command::Token(TokenCommand::Issue {
            handle,
            days,
            scope,
        }) => {
            let confidant = open(&config).await?;
            let staff = find_staff(&confidant, &handle).await?;
            let token = confidant
                .issue_token(
                    &Actor::System,
                    &staff,
                    time::Duration::days(i64::from(days)),
                    scope,
                )
                .await
                .map_err(describe)?;
            println!("{}", token.expose());
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn find_staff(
    confidant: &Confidant<SqlStore, SystemClock>,
    handle: &str,
) -> anyhow::Result<StaffRecord> {
    confidant
        .staff_by_handle(handle)
        .await
        .map_err(describe)?
        .context("no member of staff has that handle")
}

async fn user(config: &Config, command: UserCommand) -> anyhow::Result<()> {
    let confidant = open(config).await?;
    let system = Actor::System;
    match command {
        UserCommand::Add {
            organisation,
            service,
            role,
            handle,
        } => {
            let staff = confidant
                .create_staff(&system, organisation, service, role, &handle)
                .await
                .map_err(describe)?;
            let password = confidant_core::account::generated_password();
            confidant
                .set_password(&system, staff.id, password.expose(), &[])
                .await
                .map_err(describe)?;
            println!("{}", staff.id);
            println!("first password (shown once): {}", password.expose());
        }
        UserCommand::List { organisation } => {
            for s in confidant
                .staff_of(&system, organisation)
                .await
                .map_err(describe)?
            {
                let status = if s.disabled_at_micros.is_some() {
                    "disabled"
                } else {
                    "active"
                };
                println!("{}\t{}\t{}\t{status}", s.id, s.handle, s.role.code());
            }
        }
        UserCommand::Disable { handle } => {
            let staff = find_staff(&confidant, &handle).await?;
            if confidant
                .disable_staff(&system, staff.id)
                .await
                .map_err(describe)?
            {
                println!("disabled; sessions ended and tokens revoked");
            } else {
                println!("already disabled");
            }
        }
        UserCommand::Reset2fa { handle } => {
            let staff = find_staff(&confidant, &handle).await?;
            confidant
                .reset_two_factor(&system, staff.id)
                .await
                .map_err(describe)?;
            println!("two-factor sign-in removed; they enrol again at their next sign-in");
        }
        UserCommand::SetPassword { handle } => {
            let staff = find_staff(&confidant, &handle).await?;
            let password = confidant_core::account::generated_password();
            confidant
                .set_password(&system, staff.id, password.expose(), &[])
                .await
                .map_err(describe)?;
            println!("new password (shown once): {}", password.expose());
        }
        UserCommand::SetTeam { handle, team } => {
            let staff = find_staff(&confidant, &handle).await?;
            confidant
                .set_staff_team(&system, staff.id, team)
                .await
                .map_err(describe)?;
            println!("team set");
        }
        UserCommand::Training {
            handle,
            kind,
            completed_on,
            valid_days,
        } => {
            let staff = find_staff(&confidant, &handle).await?;
            let kinds: Vec<TrainingKind> = if kind == "all" {
                TrainingKind::ALL.to_vec()
            } else {
                vec![TrainingKind::from_code(&kind).context(
                    "unknown kind; one of: data_protection, policy_acknowledgement, all",
                )?]
            };
            let on = completed_on.unwrap_or_else(|| time::OffsetDateTime::now_utc().date());
            for k in kinds {
                let record = confidant
                    .record_training(&system, staff.id, k, on, valid_days)
                    .await
                    .map_err(describe)?;
                println!("{} recorded, valid until {}", k.code(), {
                    let t = time::OffsetDateTime::from_unix_timestamp_nanos(
                        i128::from(record.expires_at_micros) * 1000,
                    )
                    .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
                    t.date()
                });
            }
        }
    }
    Ok(())
}

/// Turns a core error into a message for the operator (it names fields, never values).
fn describe(e: confidant_core::organisation::OrganisationError) -> anyhow::Error {
    use confidant_core::organisation::OrganisationError as E;
    match e {
        E::Invalid(v) => {
            let parts: Vec<_> =
                v.0.iter()
                    .map(|v| format!("{}: {}", v.field, v.message))
                    .collect();
            anyhow::anyhow!("invalid input: {}", parts.join("; "))
        }
        E::NotFound => anyhow::anyhow!("not found"),
        E::Conflict(what) => anyhow::anyhow!("{what}"),
        E::Store(s) => anyhow::anyhow!("{s}"),
    }
}

async fn connect(config: &Config, create: bool) -> anyhow::Result<SqlStore> {
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
        },
    )
    .await
    .with_context(|| format!("could not open the database {}", config::redact_url(&url)))
}

async fn require_schema(store: &SqlStore) -> anyhow::Result<()> {
    if !store.has_schema().await? {
        bail!("the database has not been initialised: run `confidant init` first");
    }
    Ok(())
}

/// The audit signing key a server needs: it does not serve without writing checkpoints.
fn serving_audit_key(config: &Config) -> anyhow::Result<AuditSigningKey> {
    match keyfile::load_audit_key(&config.audit_signing_key_path())? {
        Some((key, _)) => Ok(key),
        None => bail!(
            "no audit signing key: set CONFIDANT_AUDIT_SIGNING_KEY or put the key file at {} \
             (`confidant init` creates it); Confidant does not serve without writing audit checkpoints",
            config.audit_signing_key_path().display()
        ),
    }
}

/// Creates what is missing: data directory, key files, database, schema, installation keys.
async fn init(config: &Config) -> anyhow::Result<()> {
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

/// Opens an initialised installation. A missing or wrong key stops here, before anything is written;
/// migrations run only after the key is proved right.
async fn open(config: &Config) -> anyhow::Result<Confidant<SqlStore, SystemClock>> {
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
        .with_settings(config.settings());
    Ok(match load_register(config)? {
        Some(register) => confidant.with_register(register),
        None => confidant,
    })
}

/// For a server starting: the services collect what the register covers and take referrals as it
/// says, and each notice the register changed is published as a new version.
async fn put_register_in_force(confidant: &Confidant<SqlStore, SystemClock>) -> anyhow::Result<()> {
    if let Some(register) = confidant.register() {
        confidant.apply_register(register).await?;
        for p in confidant.publish_notices(register).await? {
            if p.new {
                tracing::info!(service = %p.service_code, version = p.version, "privacy notice published");
            }
        }
    }
    Ok(())
}
/// The register of processing activities, checked; an invalid one stops Confidant with every fault
/// (file, line, what is missing).
fn load_register(config: &Config) -> anyhow::Result<Option<Register>> {
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

async fn rotate(config: &Config) -> anyhow::Result<()> {
    if std::env::var_os("CONFIDANT_MASTER_KEY").is_some() {
        bail!(
            "the master key comes from CONFIDANT_MASTER_KEY: rotation writes a key file, so unset it and point \
             master_key_file at the current key"
        );
    }
    let mut confidant = open(config).await?;
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
    let rotation = match confidant.rotate_master_key(&Actor::System, new_key).await {
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

async fn bind(config: &Config) -> anyhow::Result<tokio::net::TcpListener> {
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

async fn serve_on(
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
    confidant.store().close().await;
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
