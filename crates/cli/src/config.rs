//! Typed configuration: defaults, then a TOML file (`--config` or `CONFIDANT_CONFIG`), then `CONFIDANT_*`
//! environment variables, then command-line flags. Unknown keys and invalid values stop start-up with a
//! message naming the key. Secrets come from the environment or from `*_FILE` paths, never from the TOML
//! file itself, and `config show` prints them redacted.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Environment variables with the `CONFIDANT_` prefix that are not configuration keys.
const NOT_KEYS: &[&str] = &[
    "master_key",
    "audit_signing_key",
    "config",
    "test_postgres_url",
    "smtp_password",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the SQLite database and (by default) the master key file live.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://…`; default: `confidant.db` in the data directory. May hold a
    /// password, so it can also be read from `database_url_file`.
    pub database_url: Option<String>,
    pub database_url_file: Option<PathBuf>,
    /// The master key file (64 hexadecimal characters, mode 0600); default: `master.key` in the data
    /// directory. `CONFIDANT_MASTER_KEY` takes precedence.
    pub master_key_file: Option<PathBuf>,
    /// The erasure ledger (`erasures.ledger`); default: beside the master key file. A restored copy
    /// that is not to replace the live installation needs one of its own.
    pub erasure_ledger_file: Option<PathBuf>,
    /// The key that signs audit checkpoints (64 hexadecimal characters, mode 0600); default
    /// `audit-signing.key` in the data directory. `CONFIDANT_AUDIT_SIGNING_KEY` takes precedence.
    pub audit_signing_key_file: Option<PathBuf>,
    /// Where `serve` writes a signed checkpoint of the audit chain's head; default `audit-checkpoints`
    /// in the data directory. Point it at storage the database's administrators cannot rewrite.
    pub audit_checkpoint_dir: Option<PathBuf>,
    /// How often `serve` writes one (when the head has moved since the last).
    pub audit_checkpoint_interval_seconds: u64,
    /// How long a batch of audit events may take to commit; past it the requests waiting for it
    /// answer 503, and nothing they read is shown.
    pub audit_deadline_seconds: u64,
    /// The address `serve` listens on.
    pub listen: SocketAddr,
    pub log_format: LogFormat,
    /// A tracing filter, e.g. `info` or `confidant=debug,info`.
    pub log_level: String,
    /// The most database connections one process opens (SQLite uses at most 4).
    pub max_connections: u32,
    /// A session with no activity for this long locks until the password is given again.
    pub session_idle_seconds: u64,
    /// A session ends this long after sign-in, whatever happens.
    pub session_absolute_seconds: u64,
    /// Issuing tokens (and later exports, erasure) needs the password given at most this long ago.
    pub reauthentication_seconds: u64,
    /// How long a break-the-glass access lasts.
    pub break_glass_minutes: u64,
    /// The organisation's own Cedar policies (`*.cedar`), added to the shipped ones; default
    /// `config/policies` in the data directory, if it exists.
    pub policy_dir: Option<PathBuf>,
    /// The organisation's register of processing activities (TOML), checked at start-up: an invalid
    /// one stops Confidant. Default `config/register.toml` in the data directory, if it exists.
    pub register_file: Option<PathBuf>,
    /// The UK's bank holidays, in GOV.UK's `bank-holidays.json` format, for the rights requests'
    /// due dates: the years it covers replace those shipped with this version (2023 to 2030), the
    /// others are kept. Drop in a newer file from GOV.UK when holidays are announced or the years
    /// run out.
    pub bank_holidays_file: Option<PathBuf>,
    /// Serve HTTPS with this certificate chain (PEM) and private key (PEM). Both or neither.
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    /// Mark cookies `Secure` with the `__Host-` prefix. Default: on when serving TLS. Turn it on when a
    /// proxy in front terminates TLS.
    pub secure_cookies: Option<bool>,
    /// The SMTP server the outbox sends through (`[smtp]`); without it messages wait in the outbox.
    /// The password comes from `CONFIDANT_SMTP_PASSWORD` or `smtp.password_file`.
    #[serde(default)]
    pub smtp: Option<confidant_mail::SmtpConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./confidant-data"),
            database_url: None,
            database_url_file: None,
            master_key_file: None,
            erasure_ledger_file: None,
            audit_signing_key_file: None,
            audit_checkpoint_dir: None,
            audit_checkpoint_interval_seconds: 15 * 60,
            audit_deadline_seconds: 10,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            log_format: LogFormat::Text,
            log_level: "info".to_owned(),
            max_connections: 16,
            session_idle_seconds: 15 * 60,
            session_absolute_seconds: 12 * 60 * 60,
            reauthentication_seconds: 5 * 60,
            break_glass_minutes: 60,
            policy_dir: None,
            register_file: None,
            bank_holidays_file: None,
            tls_cert_file: None,
            tls_key_file: None,
            secure_cookies: None,
            smtp: None,
        }
    }
}

/// Values given as command-line flags; only those present override.
#[derive(Debug, Default, Serialize)]
pub struct Flags {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
}

impl Config {
    /// Loads and validates. `defaults` lets a command change a default (the demo's data directory).
    pub fn load(file: Option<&Path>, defaults: Config, flags: &Flags) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(defaults));
        if let Some(file) = file {
            anyhow::ensure!(
                file.is_file(),
                "the configuration file {} does not exist",
                file.display()
            );
            figment = figment.merge(Toml::file_exact(file));
        }
        let figment = figment
            .merge(Env::prefixed("CONFIDANT_").ignore(NOT_KEYS))
            .merge(Serialized::defaults(flags));
        let config: Config = figment.extract().map_err(|e| {
            // figment names the key and where its value came from; it quotes values only for type
            // errors, and no secret is a configuration key.
            anyhow::anyhow!("invalid configuration: {e}")
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.database_url.is_some() && self.database_url_file.is_some() {
            bail!("invalid configuration: set database_url or database_url_file, not both");
        }
        if let Some(url) = &self.database_url
            && confidant_store::Backend::from_url(url).is_none()
        {
            bail!("invalid configuration: database_url must start with sqlite:// or postgres://");
        }
        if !(1..=256).contains(&self.max_connections) {
            bail!("invalid configuration: max_connections must be between 1 and 256");
        }
        if !(1..=24 * 60 * 60).contains(&self.session_idle_seconds) {
            bail!("invalid configuration: session_idle_seconds must be between 1 and 86400");
        }
        if !(60..=7 * 24 * 60 * 60).contains(&self.session_absolute_seconds) {
            bail!("invalid configuration: session_absolute_seconds must be between 60 and 604800");
        }
        if !(1..=60 * 60).contains(&self.reauthentication_seconds) {
            bail!("invalid configuration: reauthentication_seconds must be between 1 and 3600");
        }
        if !(1..=24 * 60).contains(&self.break_glass_minutes) {
            bail!("invalid configuration: break_glass_minutes must be between 1 and 1440");
        }
        if !(1..=24 * 60 * 60).contains(&self.audit_checkpoint_interval_seconds) {
            bail!(
                "invalid configuration: audit_checkpoint_interval_seconds must be between 1 and 86400"
            );
        }
        if !(1..=300).contains(&self.audit_deadline_seconds) {
            bail!("invalid configuration: audit_deadline_seconds must be between 1 and 300");
        }
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            bail!("invalid configuration: set both tls_cert_file and tls_key_file, or neither");
        }
        if let Some(smtp) = &self.smtp {
            let mut checked = smtp.clone();
            checked.password = std::env::var("CONFIDANT_SMTP_PASSWORD").ok();
            checked
                .check()
                .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        }
        tracing_subscriber::EnvFilter::try_new(&self.log_level).map_err(|_| {
            anyhow::anyhow!("invalid configuration: log_level is not a valid filter")
        })?;
        Ok(())
    }

    /// The database URL, reading `database_url_file` if that is how it was given.
    pub fn database_url(&self) -> anyhow::Result<String> {
        if let Some(url) = &self.database_url {
            return Ok(url.clone());
        }
        if let Some(file) = &self.database_url_file {
            let url = std::fs::read_to_string(file)
                .with_context(|| format!("could not read database_url_file {}", file.display()))?;
            let url = url.trim().to_owned();
            if confidant_store::Backend::from_url(&url).is_none() {
                bail!(
                    "invalid configuration: the URL in database_url_file must start with sqlite:// or postgres://"
                );
            }
            return Ok(url);
        }
        Ok(confidant_store::sqlite_url(
            &self.data_dir.join("confidant.db"),
        ))
    }

    /// Where the organisation's own policies are, if anywhere.
    pub fn policy_dir(&self) -> Option<PathBuf> {
        match &self.policy_dir {
            Some(dir) => Some(dir.clone()),
            None => {
                let dir = self.data_dir.join("config").join("policies");
                dir.is_dir().then_some(dir)
            }
        }
    }

    /// Where the register of processing activities is, if anywhere.
    pub fn register_file(&self) -> Option<PathBuf> {
        match &self.register_file {
            Some(file) => Some(file.clone()),
            None => {
                let file = self.data_dir.join("config").join("register.toml");
                file.is_file().then_some(file)
            }
        }
    }

    /// The UK's bank holidays: those shipped with this version, the years a configured file covers
    /// taken from it.
    pub fn bank_holidays(&self) -> anyhow::Result<confidant_core::rights::BankHolidays> {
        use confidant_core::rights::BankHolidays;
        match &self.bank_holidays_file {
            None => Ok(BankHolidays::shipped().clone()),
            Some(file) => {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("reading bank_holidays_file {}", file.display()))?;
                let newer = BankHolidays::from_json(&text)
                    .with_context(|| format!("bank_holidays_file {}", file.display()))?;
                Ok(BankHolidays::shipped().updated_with(&newer))
            }
        }
    }

    pub fn tls(&self) -> bool {
        self.tls_cert_file.is_some()
    }

    pub fn settings(&self) -> confidant_core::Settings {
        let secs = |s: u64| time::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX));
        confidant_core::Settings {
            session: confidant_core::SessionPolicy {
                idle: secs(self.session_idle_seconds),
                absolute: secs(self.session_absolute_seconds),
                reauthentication: secs(self.reauthentication_seconds),
            },
            break_glass: secs(self.break_glass_minutes * 60),
        }
    }

    pub fn web(&self) -> confidant_web::WebConfig {
        confidant_web::WebConfig {
            secure_cookies: self.secure_cookies.unwrap_or(self.tls()),
            hsts: self.tls(),
        }
    }

    /// The SMTP configuration with its password (from `CONFIDANT_SMTP_PASSWORD` or
    /// `smtp.password_file`), if an SMTP server is configured.
    pub fn smtp(&self) -> anyhow::Result<Option<confidant_mail::SmtpConfig>> {
        let Some(smtp) = &self.smtp else {
            return Ok(None);
        };
        let mut smtp = smtp.clone();
        smtp.password = match (
            std::env::var("CONFIDANT_SMTP_PASSWORD").ok(),
            &smtp.password_file,
        ) {
            (Some(p), _) => Some(p),
            (None, Some(file)) => Some(
                std::fs::read_to_string(file)
                    .with_context(|| {
                        format!("could not read smtp.password_file {}", file.display())
                    })?
                    .trim()
                    .to_owned(),
            ),
            (None, None) => None,
        };
        Ok(Some(smtp))
    }

    pub fn master_key_path(&self) -> PathBuf {
        self.master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }

    /// The erasure ledger: beside the master key file (in the data directory when the key comes
    /// from `CONFIDANT_MASTER_KEY` and no key file is set), never inside the database.
    pub fn erasure_ledger_path(&self) -> PathBuf {
        if let Some(file) = &self.erasure_ledger_file {
            return file.clone();
        }
        let key = self.master_key_path();
        key.parent()
            .map_or_else(|| self.data_dir.clone(), Path::to_path_buf)
            .join("erasures.ledger")
    }

    pub fn audit_signing_key_path(&self) -> PathBuf {
        self.audit_signing_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit-signing.key"))
    }

    pub fn audit_checkpoint_dir(&self) -> PathBuf {
        self.audit_checkpoint_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit-checkpoints"))
    }

    /// The configuration as TOML with secrets redacted.
    pub fn redacted_toml(&self) -> anyhow::Result<String> {
        let mut shown = self.clone();
        shown.database_url = match self.database_url() {
            Ok(url) => Some(redact_url(&url)),
            Err(_) => Some("[unreadable]".to_owned()),
        };
        let mut text = toml::to_string(&shown)?;
        let key_source = if std::env::var_os("CONFIDANT_MASTER_KEY").is_some() {
            "CONFIDANT_MASTER_KEY (environment) = [redacted]".to_owned()
        } else {
            format!("file {} = [redacted]", self.master_key_path().display())
        };
        text.push_str(&format!("# master key: {key_source}\n"));
        let audit_source = if std::env::var_os("CONFIDANT_AUDIT_SIGNING_KEY").is_some() {
            "CONFIDANT_AUDIT_SIGNING_KEY (environment) = [redacted]".to_owned()
        } else {
            format!(
                "file {} = [redacted]",
                self.audit_signing_key_path().display()
            )
        };
        text.push_str(&format!("# audit signing key: {audit_source}\n"));
        Ok(text)
    }
}

/// Hides the password of a URL (`postgres://user:secret@host/db` → `postgres://user:[redacted]@host/db`).
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:[redacted]@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_deadline_is_between_one_second_and_five_minutes() {
        for (seconds, ok) in [(0, false), (1, true), (10, true), (300, true), (301, false)] {
            let config = Config {
                audit_deadline_seconds: seconds,
                ..Config::default()
            };
            let checked = config.validate();
            assert_eq!(checked.is_ok(), ok, "{seconds}: {checked:?}");
            if let Err(e) = checked {
                assert!(e.to_string().contains("audit_deadline_seconds"), "{e}");
            }
        }
    }

    #[test]
    fn passwords_in_urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:hunter2@db.example/confidant"),
            "postgres://app:[redacted]@db.example/confidant"
        );
        assert_eq!(redact_url("postgres://app@db/c"), "postgres://app@db/c");
        assert_eq!(redact_url("sqlite://./x.db"), "sqlite://./x.db");
    }
}
