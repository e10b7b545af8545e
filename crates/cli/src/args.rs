//! The command line as clap reads it: every command, its flags and arguments, and the parsers of
//! their values. What each command does is in `commands/`, one module per command.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use confidant_core::audit::Checkpoint;
use confidant_core::field::{FieldGroup, FieldGroups};
use confidant_core::store::{ReferralPolicy, TokenScope};
use confidant_core::{AccessScope, Role};
use confidant_crypto::audit_key::AuditPublicKey;
use uuid::Uuid;

/// Confidant: the case record system that keeps a care service's privacy promises.
#[derive(Debug, Parser)]
#[command(name = "confidant", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Args)]
pub(crate) struct Global {
    /// A TOML configuration file.
    #[arg(long, global = true, env = "CONFIDANT_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// The data directory (SQLite database and master key file).
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// The database: sqlite://PATH or postgres://USER@HOST/DB (default: SQLite in the data directory).
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create the data directory, the master key file (mode 0600) and the database; safe to re-run.
    Init,
    /// Apply database migrations (needs no key).
    Migrate,
    /// Serve the API and pages.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Run a demonstration: a fictional organisation, two services and 50 synthetic people in
    /// ./confidant-demo (re-used when it exists), served on http://127.0.0.1:8080.
    Demo {
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Show the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Check or checkpoint the tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage encryption keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Organisations (data controllers).
    #[command(subcommand)]
    Org(OrgCommand),
    /// Services of an organisation.
    #[command(subcommand)]
    Service(ServiceCommand),
    /// Staff accounts: add, disable leavers, reset two-factor, set passwords, record training.
    #[command(subcommand, alias = "staff")]
    User(UserCommand),
    /// Teams within a service.
    #[command(subcommand)]
    Team(TeamCommand),
    /// Personal access tokens for the API.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The outbox of emails and texts to people.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// The register of processing activities: privacy notices, the Article 30 record, and what
    /// changes between two register files.
    #[command(subcommand)]
    Register(RegisterCommand),
    /// The task inbox: what waits for staff.
    #[command(subcommand)]
    Tasks(TasksCommand),
    /// Make an encrypted, verifiable backup of the installation while it serves: the data, the key
    /// store and the erasure ledger, each sealed under a key of the backup's own (wrapped by the
    /// master key, which is never in a backup), with a sealed manifest of their SHA-256s.
    Backup {
        /// A new (or empty) directory for the backup.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// What it holds: data (and the ledger: for the long cycle, opening nothing alone), keys
        /// (and the ledger: for the key store's short cycle, so an erased person's data is beyond
        /// use once the last key store backup from before goes), or all (both: keep it only as
        /// long as key store backups).
        #[arg(long, value_enum)]
        part: BackupPart,
    },
    /// Restore a backup into a new data directory (`--data-dir`) or an empty PostgreSQL database
    /// (`--database-url`), with the master key from the configuration as `serve` takes it.
    /// Refuses a backup whose manifest, files or audit chain do not verify; does again, before
    /// anything serves, every erasure on the backup's erasure ledger and on a live installation's.
    Restore {
        /// The backup's directory.
        #[arg(long, value_name = "DIR")]
        from: PathBuf,
        /// A key store backup (`--part keys`) to restore the keys from, as new as the data backup
        /// or newer; without it, the keys come from `--from`.
        #[arg(long, value_name = "DIR")]
        keys_from: Option<PathBuf>,
        /// A live installation's erasure ledger (its file, or the directory holding
        /// `erasures.ledger`), newer than the backup's: its erasures are done again too.
        #[arg(long, value_name = "PATH")]
        erasures_from: Option<PathBuf>,
    },
    /// The person's rights: when a request must be answered.
    #[command(subcommand)]
    Rights(RightsCommand),
    /// Retention: records whose retention period has ended, and their review.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Destroy a person's record: its keys and every row of it, in one transaction with its audit
    /// event, unless a legal hold is in force. Prints the destruction certificate (it names no
    /// one), signed with the audit signing key when there is one.
    Destroy {
        /// The person's id (as the API and the pages show it).
        person_id: uuid::Uuid,
        /// Why, without naming anyone: the certificate keeps it after the record is gone.
        #[arg(long)]
        reason: String,
        /// On what it rests: dpo_decision, retention_ended or erasure (the certificate says so,
        /// with the operator as who decided).
        #[arg(long)]
        basis: String,
        /// Also write the signed certificate to FILE (never overwritten).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TasksCommand {
    /// Open the tasks that have fallen due (training, processors' agreements, and anything waiting
    /// from before the inbox), close those whose reason has gone, then exit. `serve` does this at
    /// start and hourly.
    Sweep,
}

/// What a backup holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum BackupPart {
    All,
    Data,
    Keys,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RightsCommand {
    /// Print the day a rights request is due, and how it was reached: one calendar month from day
    /// one (the corresponding date, or the month's last day), days stopped for clarification
    /// added, moved to the next working day past a weekend or bank holiday; three months when
    /// extended; a service's own shorter limit wins, kept on the working day before when its last
    /// day is not a working day. Needs no database.
    Due {
        /// Day one, written YYYY-MM-DD: the day the request was received, or the day identity was
        /// confirmed.
        received: String,
        /// The service's own limit in days (the register's `respond_within_days`).
        #[arg(long, value_name = "N")]
        limit_days: Option<u32>,
        /// Days the clock was stopped waiting for clarification.
        #[arg(long, value_name = "DAYS", default_value_t = 0)]
        stopped: u32,
        /// The request was extended by two further months.
        #[arg(long)]
        extended: bool,
        /// Whose bank holidays: england-and-wales, scotland or northern-ireland.
        #[arg(long, default_value = "england-and-wales")]
        division: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum RetentionCommand {
    /// Put on the review queue every record whose retention period has ended (by the register's
    /// rules), and destroy those a reviewer decided to destroy, the Data Protection Officer
    /// approved and whose waiting period is over (unless a hold or a newer event keeps them);
    /// count the referrals not taken up whose period has ended (a reviewer erases them from the
    /// Retention page); then exit. Nothing is destroyed without review. `serve` does this once a
    /// day, in one of its processes.
    Sweep,
}

#[derive(Debug, Subcommand)]
pub(crate) enum OutboxCommand {
    /// Try every message that is due now through the configured SMTP server, then exit.
    Send,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Print the effective configuration with secrets redacted.
    Show,
    /// Check the configuration and the register of processing activities (the default one, or
    /// FILE); exits 0 if valid, 2 listing every fault with its file and line if not.
    Check {
        /// A register file to check instead of the configured one.
        #[arg(long, value_name = "FILE")]
        register: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum RegisterCommand {
    /// Print a service's privacy notice, generated from the register (Markdown), or write it as
    /// an accessible PDF with --pdf.
    Notice {
        /// The service's id in the register.
        service: String,
        /// Write the notice as a tagged PDF (A4) to FILE instead of printing Markdown.
        #[arg(long, value_name = "FILE")]
        pdf: Option<PathBuf>,
    },
    /// Put the register in force without serving (as `serve` does when it starts): creates the
    /// organisation and its services the first time, makes services, recipients, processors and
    /// consent forms what the register says, publishes changed notices, and prints the
    /// organisation's and services' ids (for `user add`). Stops, naming the file and line, on a
    /// service the register and Confidant disagree about.
    Apply,
    /// Print the register as the Article 30 record (CSV).
    Csv,
    /// Show a service's latest published notice version and what changed from the one before
    /// (the people who must be told are listed to the service's staff, never to the operator).
    Changes {
        /// The service's id in the register.
        service: String,
    },
    /// Compare two register files: what changes from OLD to NEW, and who must be told.
    ///
    /// Lists the changes to the organisation, services, recipients and processors (with what each
    /// may receive), each service's consent form, retention rules, activities, policy documents
    /// and each service's privacy notice, marking with `!` what would stop start-up or make
    /// Confidant see a new organisation where Confidant holds what OLD says. Reads only the two
    /// files, never the installation's register or database. Exits 0 whether or not anything
    /// changes; 2, listing every fault with its file and line, if either is not a valid register.
    Diff {
        /// The register as it is (for example the one in force).
        old: PathBuf,
        /// The register as it would be.
        new: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Re-walk the hash chain from its first event; exits 0 if intact, 3 naming the first bad event if
    /// not, 4 if the checkpoint given is not one this installation signed.
    Verify {
        /// Also prove the chain still passes through a signed checkpoint file (from `audit checkpoint`
        /// or the folder `serve` writes to): nothing up to it was cut, edited or rebuilt.
        #[arg(long, value_name = "FILE", conflicts_with = "since_checkpoint")]
        against: Option<PathBuf>,
        /// The public key that signed the checkpoint (from `audit public-key`); default: the public
        /// half of the configured audit signing key.
        #[arg(long, value_name = "HEX", requires = "against", value_parser = parse_public_key)]
        public_key: Option<String>,
        /// Also prove the chain still passes through an unsigned checkpoint printed by `audit head`
        /// (SEQUENCE:HASH). The whole chain is walked either way.
        #[arg(long, value_name = "SEQ:HASH")]
        since_checkpoint: Option<Checkpoint>,
    },
    /// Verify the whole chain, record that a checkpoint was taken, and write the head, signed with the
    /// audit signing key, to a new FILE to keep outside the database.
    Checkpoint {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Print the public key that checks this installation's checkpoints (give it to whoever verifies).
    PublicKey,
    /// Record a checkpoint on the chain and print it (SEQUENCE:HASH), unsigned.
    Head,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Re-wrap every data key under a new master key, without re-encrypting data. The old key then opens
    /// nothing. Stop every `confidant serve` first; restart them with the new key.
    Rotate,
}

#[derive(Debug, Subcommand)]
pub(crate) enum OrgCommand {
    /// Create an organisation; prints its id.
    Create { name: String },
    /// List organisations.
    List,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ServiceCommand {
    /// Create a service; prints its id.
    Create {
        #[arg(long)]
        organisation: Uuid,
        name: String,
    },
    /// Rename a service (its id and its id in the register stay): how to make Confidant's name the
    /// register's when start-up stops on a service named differently in the two.
    Rename {
        #[arg(long)]
        service: Uuid,
        name: String,
    },
    /// Set how far the service's staff see: service (everyone), team, or caseload.
    SetScope {
        #[arg(long)]
        service: Uuid,
        #[arg(value_parser = parse_scope)]
        scope: AccessScope,
    },
    /// Set what the service's record collects and whom it takes referrals from.
    Configure {
        #[arg(long)]
        service: Uuid,
        /// Field groups collected, comma-separated (identity is always on): safe_contact,
        /// communication, photo, diversity, health, pregnancy, children, criminal_justice,
        /// employment, housing.
        #[arg(long, value_parser = parse_groups)]
        groups: FieldGroups,
        /// Whom referrals come from: anyone, self, professional, or partner.
        #[arg(long, default_value = "anyone", value_parser = parse_referrals)]
        referrals: ReferralPolicy,
        /// The partner service (with `--referrals partner`).
        #[arg(long)]
        partner: Option<Uuid>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TeamCommand {
    /// Create a team in a service; prints its id.
    Create {
        #[arg(long)]
        service: Uuid,
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Add a member of staff; prints their id, then a strong first password (shown once). A
    /// set-up the role contradicts is refused: practitioners and managers need a service, other
    /// roles take none; a team must be of their service, and only practitioners and team managers
    /// have one.
    Add {
        #[arg(long)]
        organisation: Uuid,
        /// The service they work in (omit for organisation-wide roles).
        #[arg(long)]
        service: Option<Uuid>,
        /// A team of their service (practitioners and team managers; a team manager needs one
        /// where the service opens records by team or caseload).
        #[arg(long)]
        team: Option<Uuid>,
        /// How colleagues see them on the pages ("Sam Patel"); without it, the handle. One line,
        /// at most 100 characters.
        #[arg(long)]
        display_name: Option<String>,
        /// Their job title ("Senior support worker"). One line, at most 100 characters.
        #[arg(long)]
        job_title: Option<String>,
        /// practitioner, team_manager, service_manager, data_protection_officer, caldicott_guardian,
        /// administrator, processor_staff, trustee or auditor.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Their sign-in handle (a-z, 0-9, '.', '-', '_').
        handle: String,
    },
    /// List an organisation's staff: id, handle, role, status.
    List {
        #[arg(long)]
        organisation: Uuid,
    },
    /// Disable a leaver: never deleted; sessions end and tokens are revoked at once.
    Disable { handle: String },
    /// Remove a lost second factor; they enrol again at their next sign-in.
    #[command(name = "reset-2fa")]
    Reset2fa { handle: String },
    /// Set a new strong password (printed once) and end their sessions.
    SetPassword { handle: String },
    /// Put a member of staff in a team of their service.
    SetTeam {
        handle: String,
        #[arg(long)]
        team: Option<Uuid>,
    },
    /// Record training or a policy acknowledgement (needed before personal data can be opened).
    Training {
        handle: String,
        /// data_protection, policy_acknowledgement, or all.
        #[arg(long, default_value = "all")]
        kind: String,
        /// The day it was completed (YYYY-MM-DD); default today.
        #[arg(long, value_parser = parse_date)]
        completed_on: Option<time::Date>,
        /// Days it stays valid.
        #[arg(long, default_value_t = 365)]
        valid_days: i64,
    },
    /// Give a trustee a matter on one person's record: the Data Protection Officer's decision,
    /// made with their own personal access token, read from a file (never on the command line).
    /// Opens only the parts named, for the days given.
    GrantMatter {
        /// A file holding the Data Protection Officer's personal access token (read_write).
        #[arg(long, value_name = "FILE")]
        token_file: PathBuf,
        /// The trustee's handle.
        handle: String,
        /// The person's record id.
        #[arg(long)]
        person: Uuid,
        /// A kind of matter the register names (`[[trustee_matter]]` id).
        #[arg(long)]
        matter: String,
        /// A part of the record to open: a field group code or an entry kind (note, plan, goal,
        /// appointment); repeat for each, within what the kind of matter opens.
        #[arg(long = "part", required = true)]
        parts: Vec<String>,
        /// Days the matter stays open (at most the kind's longest).
        #[arg(long)]
        days: i64,
        /// A file holding why the trustee needs it (`-` for standard input): reasons may name
        /// people, so they are never taken on the command line.
        #[arg(long, value_name = "FILE")]
        reason_file: PathBuf,
        /// A file holding why flagged notes are opened too; without it they stay closed.
        #[arg(long, value_name = "FILE")]
        flagged_reason_file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Issue a personal access token for a member of staff; it is printed once.
    Issue {
        handle: String,
        /// Days until it expires (1–90).
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u16).range(1..=90))]
        days: u16,
        /// read (no changes) or read_write.
        #[arg(long, default_value = "read_write", value_parser = parse_scope_token)]
        scope: TokenScope,
    },
}

pub(crate) fn parse_scope(s: &str) -> Result<AccessScope, String> {
    AccessScope::from_code(s).ok_or_else(|| "one of: service, team, caseload".to_owned())
}

pub(crate) fn parse_groups(s: &str) -> Result<FieldGroups, String> {
    FieldGroups::parse(s).map_err(|unknown| {
        let all: Vec<_> = FieldGroup::ALL.iter().map(|g| g.code()).collect();
        format!(
            "unknown field group {unknown:?}; one of: {}",
            all.join(", ")
        )
    })
}

pub(crate) fn parse_referrals(s: &str) -> Result<ReferralPolicy, String> {
    ReferralPolicy::from_code(s)
        .ok_or_else(|| "one of: anyone, self, professional, partner".to_owned())
}

pub(crate) fn parse_scope_token(s: &str) -> Result<TokenScope, String> {
    TokenScope::from_code(s).ok_or_else(|| "one of: read, read_write".to_owned())
}

pub(crate) fn parse_date(s: &str) -> Result<time::Date, String> {
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| "a date as YYYY-MM-DD".to_owned())
}

// Checked here, kept as text: a parsed public key is large, and clap keeps every variant of the
// command in one enum.
pub(crate) fn parse_public_key(s: &str) -> Result<String, String> {
    AuditPublicKey::from_hex(s)
        .map(|_| s.trim().to_owned())
        .map_err(|_| "64 hexadecimal characters (`audit public-key`)".to_owned())
}

pub(crate) fn parse_role(s: &str) -> Result<Role, String> {
    Role::from_code(s).ok_or_else(|| {
        let all: Vec<_> = Role::ALL.iter().map(|r| r.code()).collect();
        format!("unknown role; one of: {}", all.join(", "))
    })
}
