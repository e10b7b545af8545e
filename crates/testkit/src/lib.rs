//! Test support: a fresh database per test on either backend, a ready-made organisation with two
//! services and their staff, and raw access to the database for tamper and canary tests.
//!
//! PostgreSQL tests never skip: if the server at `CONFIDANT_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) cannot be reached, they fail.

use confidant_core::access::Principal;
use confidant_core::store::prelude::*;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Once;

use confidant_core::clock::FixedClock;
use confidant_core::store::{StaffRecord, TokenScope};
use confidant_core::{Actor, Clock, Confidant, KeyRing, Role};
use confidant_crypto::MasterKey;
use confidant_crypto::totp::TotpSecret;
use confidant_store::{ConnectOptions, ErasureLedger, SqlStore, sqlite_url};
use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, Connection, Executor};
use tempfile::TempDir;
use time::OffsetDateTime;
use uuid::Uuid;

pub use confidant_core::synthetic::Synthetic;

pub mod bench;
pub mod smtp;
#[cfg(feature = "web")]
pub mod web;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("CONFIDANT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

static DRIVERS: Once = Once::new();

/// A fresh, migrated database that is removed when dropped.
#[derive(Debug)]
pub struct TestDb {
    pub backend: TestBackend,
    pub url: String,
    /// The SQLite file (SQLite only).
    pub path: Option<PathBuf>,
    pg_database: Option<String>,
    _dir: Option<TempDir>,
}

impl TestDb {
    pub async fn new(backend: TestBackend) -> anyhow::Result<Self> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        match backend {
            TestBackend::Sqlite => {
                let dir = tempfile::tempdir()?;
                let path = dir.path().join("confidant.db");
                Ok(Self {
                    backend,
                    url: sqlite_url(&path),
                    path: Some(path),
                    pg_database: None,
                    _dir: Some(dir),
                })
            }
            TestBackend::Postgres => {
                let name = format!("confidant_test_{}", Uuid::new_v4().simple());
                let mut admin = AnyConnection::connect(&postgres_admin_url()).await.map_err(|e| {
                    anyhow::anyhow!("PostgreSQL is required for these tests and was not reachable at {}: {e}", postgres_admin_url())
                })?;
                admin
                    .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await?;
                admin.close().await?;
                let base = postgres_admin_url();
                let url = match base.rfind('/') {
                    Some(i) if i > "postgres://".len() => format!("{}/{name}", &base[..i]),
                    _ => format!("{base}/{name}"),
                };
                Ok(Self {
                    backend,
                    url,
                    path: None,
                    pg_database: Some(name),
                    _dir: None,
                })
            }
        }
    }

    /// A migrated store on this database.
    pub async fn store(&self) -> anyhow::Result<SqlStore> {
        self.store_with(ConnectOptions::default()).await
    }

    /// A migrated store on this database, with `options` (the file is created if missing).
    pub async fn store_with(&self, options: ConnectOptions) -> anyhow::Result<SqlStore> {
        let store = SqlStore::connect(
            &self.url,
            &ConnectOptions {
                create_if_missing: true,
                ..options
            },
        )
        .await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Runs raw SQL on the database, outside Confidant (for tampering in tests).
    pub async fn raw_execute(&self, sql: &str) -> anyhow::Result<u64> {
        let mut conn = self.raw().await?;
        let done = conn.execute(sqlx::AssertSqlSafe(sql.to_owned())).await?;
        conn.close().await?;
        Ok(done.rows_affected())
    }

    /// Holds the audit chain's head from outside Confidant, as a long transaction, a stuck process
    /// or a failover would, until [`HeldHead::release`]: on SQLite the write lock, on PostgreSQL the
    /// head row's lock.
    pub async fn hold_audit_head(&self) -> anyhow::Result<HeldHead> {
        let mut conn = self.raw().await?;
        match self.backend {
            TestBackend::Sqlite => {
                conn.execute("BEGIN IMMEDIATE").await?;
            }
            TestBackend::Postgres => {
                conn.execute("BEGIN").await?;
                conn.execute("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE")
                    .await?;
            }
        }
        Ok(HeldHead(conn))
    }

    /// A raw connection to the database.
    pub async fn raw(&self) -> anyhow::Result<AnyConnection> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        Ok(AnyConnection::connect_with(&AnyConnectOptions::from_str(&self.url)?).await?)
    }

    /// A connection to the installation's key store, outside Confidant.
    pub async fn raw_keys(&self) -> anyhow::Result<AnyConnection> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let url = confidant_store::key_store_url(&self.url)?;
        Ok(AnyConnection::connect_with(&AnyConnectOptions::from_str(&url)?).await?)
    }

    /// Every byte the database keeps on disk or would put in a dump: the SQLite file with its WAL
    /// and shared memory, or a `pg_dump` of the PostgreSQL database.
    pub fn raw_bytes(&self) -> anyhow::Result<Vec<u8>> {
        Self::bytes_of(self.path.clone(), &self.url, self.pg_database.is_some())
    }

    /// As [`Self::raw_bytes`], of the key store.
    pub fn raw_key_bytes(&self) -> anyhow::Result<Vec<u8>> {
        Self::bytes_of(
            self.path
                .as_ref()
                .map(|p| p.with_file_name("confidant-keys.db")),
            &confidant_store::key_store_url(&self.url)?,
            self.pg_database.is_some(),
        )
    }

    fn bytes_of(path: Option<PathBuf>, url: &str, postgres: bool) -> anyhow::Result<Vec<u8>> {
        match (path, postgres) {
            (Some(path), _) => {
                let mut all = Vec::new();
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let p = PathBuf::from(format!("{}{suffix}", path.display()));
                    if p.exists() {
                        all.extend(std::fs::read(p)?);
                    }
                }
                Ok(all)
            }
            (None, true) => {
                let out = std::process::Command::new("pg_dump")
                    .arg("--dbname")
                    .arg(url)
                    .output()?;
                anyhow::ensure!(
                    out.status.success(),
                    "pg_dump failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                Ok(out.stdout)
            }
            (None, false) => anyhow::bail!("no database"),
        }
    }

    /// How many rows each of these tables holds (for "nothing else changed" checks).
    pub async fn row_counts(
        &self,
        tables: &[&'static str],
    ) -> anyhow::Result<std::collections::BTreeMap<&'static str, i64>> {
        let mut conn = self.raw().await?;
        let mut out = std::collections::BTreeMap::new();
        for table in tables {
            let n: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                    .fetch_one(&mut conn)
                    .await?;
            out.insert(*table, n);
        }
        conn.close().await?;
        Ok(out)
    }
}

/// The audit chain's head held from outside ([`TestDb::hold_audit_head`]).
#[derive(Debug)]
pub struct HeldHead(AnyConnection);

impl HeldHead {
    /// Lets the head go (the holding transaction rolls back).
    pub async fn release(mut self) -> anyhow::Result<()> {
        self.0.execute("ROLLBACK").await?;
        self.0.close().await?;
        Ok(())
    }
}

/// Runs `n` calls at once, each on a task of its own, held at a barrier until all are spawned so
/// that they overlap (on a multi-thread runtime, truly in parallel); gives back their outputs in
/// the order they were made. For exactly-once tests: `call(i)` makes the `i`th caller's future.
pub async fn race<T, Fut>(n: usize, mut call: impl FnMut(usize) -> Fut) -> anyhow::Result<Vec<T>>
where
    T: Send + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let fut = call(i);
        let start = std::sync::Arc::clone(&start);
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            fut.await
        }));
    }
    let mut out = Vec::with_capacity(n);
    for task in tasks {
        out.push(task.await?);
    }
    Ok(out)
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_database.take() {
            // Drop the database from a thread of its own: Drop cannot await.
            let admin = postgres_admin_url();
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    if let Ok(mut conn) = AnyConnection::connect(&admin).await {
                        // The key store's database beside it too (`confidant_store::key_store_url`).
                        for db in [name.clone(), format!("{name}_keys")] {
                            let _ = conn
                                .execute(sqlx::AssertSqlSafe(format!(
                                    "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
                                )))
                                .await;
                        }
                        let _ = conn.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// A fixed moment for deterministic tests.
pub fn test_time() -> OffsetDateTime {
    time::macros::datetime!(2026-11-22 10:00 UTC)
}

/// A small register for tests that need what only a register names (trustees' matters): one
/// service, `testkit`, that no test's organisation has, so it configures nothing and publishes no
/// notice a test looks for. Matters: `complaint` (identity details and notes, up to 60 days) and
/// `incident` (identity and health details, notes and plans, up to 30 days).
pub fn test_register() -> confidant_core::register::Register {
    match confidant_core::register::Register::parse(
        std::path::Path::new("testkit.toml"),
        TEST_REGISTER,
    ) {
        Ok(r) => r,
        Err(e) => panic!("the test register is not valid: {e}"),
    }
}

/// The text of [`test_register`], for tests that change it (a new notice version).
pub const TEST_REGISTER: &str = r#"
[organisation]
id = "testkit"
controller = "Testkit Trust"
registration_number = "ZX000000"
address = "1 Test Street, Testford TE1 1AA"
email = "info@testkit.example"
complaints = "Write to us."
regulator = "https://ico.org.uk/make-a-complaint/"
reviewed_on = "2026-06-01"

[organisation.dpo]
name = "Test Officer"
email = "dpo@testkit.example"

[[policy_document]]
id = "retention_schedule"
title = "Testkit Trust Records Retention Schedule"
version = "1"

[[retention]]
id = "records"
records = "Your record"
trigger = "case_closed"
period = "7 years"
source = "retention_schedule"
destruction = "securely destroyed"

[[trustee_matter]]
id = "complaint"
label = "A complaint put to the trustees"
parts = ["identity", "note"]
max_days = 60

[[trustee_matter]]
id = "incident"
label = "A serious incident reviewed by the trustees"
parts = ["identity", "health", "note", "plan"]
max_days = 30

[[service]]
id = "testkit"
name = "Testkit Service"
funder = "Testshire Council"
area = "Testshire"
referrals = "anyone"
field_groups = []
respond_within_days = 30

[[activity]]
id = "support"
services = ["testkit"]
purpose = "To support you."
basis = "public_task"
categories = ["identity"]
people = ["people we support"]
retention = "records"
security = ["Need to know."]
"#;

/// A trustee's matter for tests: a complaint, opening the person's identity details and notes.
pub fn complaint_matter(days: i64) -> confidant_core::grant::TrusteeGrant {
    confidant_core::grant::TrusteeGrant {
        matter: "complaint".to_owned(),
        parts: vec!["identity".to_owned(), "note".to_owned()],
        days,
        reason: "matrix test matter: a complaint".to_owned(),
        flagged_reason: None,
    }
}

/// The operator's principal, for setting up a test's world (made without the master key: tests
/// only, through core's `testing` feature).
pub fn operator() -> Principal {
    Principal::for_tests(Actor::System)
}

/// A running Confidant on a fresh database, with an organisation, two services and staff.
pub struct TestApp {
    pub db: TestDb,
    pub master: MasterKey,
    /// The installation's erasure ledger, kept in step by the store as `serve` keeps it.
    pub ledger: ErasureLedger,
    _ledger_dir: TempDir,
    pub confidant: Confidant<SqlStore, FixedClock>,
    pub organisation: Uuid,
    pub service_a: Uuid,
    pub service_b: Uuid,
    /// A practitioner of service A.
    pub worker_a: Principal,
    /// A practitioner of service B.
    pub worker_b: Principal,
    /// The organisation's Data Protection Officer.
    pub dpo: Principal,
    pub admin: Principal,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl TestApp {
    pub async fn new(backend: TestBackend) -> anyhow::Result<Self> {
        Self::with_options(backend, ConnectOptions::default()).await
    }

    /// As [`Self::new`], with an audit deadline of 300 ms: a held chain head refuses requests
    /// quickly.
    pub async fn with_short_audit_deadline(backend: TestBackend) -> anyhow::Result<Self> {
        Self::with_options(
            backend,
            ConnectOptions {
                audit_deadline: std::time::Duration::from_millis(300),
                ..ConnectOptions::default()
            },
        )
        .await
    }

    /// A person in service A with this name, recorded by its practitioner (`worker_a`).
    pub async fn person_named(&self, given: &str, family: &str) -> anyhow::Result<Uuid> {
        let mut input = confidant_core::person::PersonInput::new();
        input.set_code("given_name", given.to_owned());
        input.set_code("family_name", family.to_owned());
        Ok(self
            .confidant
            .create_person(
                &self.worker_a,
                confidant_core::Purpose::Support,
                self.service_a,
                &input,
            )
            .await?
            .id)
    }

    /// As [`Self::new`], with the store connected with `options` (a short audit deadline, say).
    pub async fn with_options(
        backend: TestBackend,
        options: ConnectOptions,
    ) -> anyhow::Result<Self> {
        let db = TestDb::new(backend).await?;
        let store = db.store_with(options).await?;
        let master = MasterKey::generate();
        let keys = KeyRing::initialise(&store, master.clone()).await?;
        let ledger_dir = tempfile::tempdir()?;
        let ledger = ErasureLedger::new(
            ledger_dir.path().join("erasures.ledger"),
            keys.erasure_ledger_key(),
        );
        store.keep_erasure_ledger(ledger.clone());
        let confidant = Confidant::new(store, keys, FixedClock::at(test_time()));
        let org = confidant
            .create_organisation(&operator(), "Northgate Recovery Trust")
            .await?;
        let a = confidant
            .create_service(&operator(), org.id, "Recovery Service")
            .await?;
        let b = confidant
            .create_service(&operator(), org.id, "Employment Support")
            .await?;
        let mut staff = Vec::new();
        for (handle, service, role) in [
            ("worker.a", Some(a.id), Role::Practitioner),
            ("worker.b", Some(b.id), Role::Practitioner),
            ("dpo", None, Role::DataProtectionOfficer),
            ("admin", None, Role::Administrator),
        ] {
            let s = confidant
                .create_staff(&operator(), org.id, service, role, handle)
                .await?;
            train(&confidant, s.id).await?;
            staff.push(confidant.acting_as(&operator(), &s).await?);
        }
        let mut staff = staff.into_iter();
        let mut next = || staff.next().ok_or_else(|| anyhow::anyhow!("staff missing"));
        Ok(Self {
            worker_a: next()?,
            worker_b: next()?,
            dpo: next()?,
            admin: next()?,
            db,
            master,
            ledger,
            _ledger_dir: ledger_dir,
            confidant,
            organisation: org.id,
            service_a: a.id,
            service_b: b.id,
        })
    }
}

impl TestApp {
    /// The same installation with a register of processing activities in hand (as `serve` has the
    /// configured one): what it names decides the shares of the organisation it governs. Putting it
    /// in force is the test's to do.
    pub fn governed_by(self, register: confidant_core::register::Register) -> Self {
        Self {
            confidant: self.confidant.with_register(register),
            ..self
        }
    }

    /// Adds a member of staff with `role` (in `service`, if given), with current training of every
    /// kind if `trained`; gives back their record and the actor they act as now.
    pub async fn add_staff(
        &self,
        role: Role,
        service: Option<Uuid>,
        handle: &str,
        trained: bool,
    ) -> anyhow::Result<(StaffRecord, Principal)> {
        let staff = self
            .confidant
            .create_staff(&operator(), self.organisation, service, role, handle)
            .await?;
        if trained {
            train(&self.confidant, staff.id).await?;
        }
        let actor = self.confidant.acting_as(&operator(), &staff).await?;
        Ok((staff, actor))
    }

    /// The stored record of a member of staff.
    pub async fn staff_record(&self, staff_id: Uuid) -> anyhow::Result<StaffRecord> {
        self.confidant
            .store()
            .staff(staff_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no member of staff {staff_id}"))
    }

    /// The actor a member of staff acts as now (training, team and role as stored at this moment).
    pub async fn actor_of(&self, staff_id: Uuid) -> anyhow::Result<Principal> {
        let staff = self.staff_record(staff_id).await?;
        Ok(self.confidant.acting_as(&operator(), &staff).await?)
    }
}

/// A strong password the tests give staff (passes the new-password rules for any test handle).
pub const TEST_PASSWORD: &str = "correct horse battery staple tuesday";

/// What a complete first sign-in leaves behind: the full session's token, the enrolled TOTP secret
/// (to compute later codes) and the recovery codes.
pub struct FullSignIn {
    pub token: String,
    pub secret: TotpSecret,
    pub recovery_codes: Vec<String>,
}

impl std::fmt::Debug for FullSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FullSignIn([redacted])")
    }
}

/// The six-digit code of `secret` at the clock's current moment.
pub fn current_code(confidant: &Confidant<SqlStore, FixedClock>, secret: &TotpSecret) -> String {
    let now = u64::try_from(confidant.clock().now().unix_timestamp()).unwrap_or(0);
    confidant_crypto::totp::code_at(secret, now)
}

/// Sets `password` for a member of staff (as the operator), signs in with it, enrols two-factor and
/// confirms it with the current code: a full session, as a browser would end up with.
pub async fn sign_in_fully(
    confidant: &Confidant<SqlStore, FixedClock>,
    staff: &StaffRecord,
    password: &str,
) -> anyhow::Result<FullSignIn> {
    confidant
        .set_password(&operator(), staff.id, password, &[])
        .await?;
    let signed = confidant.sign_in(&staff.handle, password).await?;
    let half = confidant
        .session(signed.token.expose())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no session after the password"))?;
    let enrolment = confidant.two_factor_enrolment(&half, "Confidant").await?;
    let secret = TotpSecret::from_base32(enrolment.manual_key.expose())?;
    let (token, codes) = confidant
        .confirm_two_factor(&half, &current_code(confidant, &secret))
        .await?;
    Ok(FullSignIn {
        token: token.expose().to_owned(),
        secret,
        recovery_codes: codes.iter().map(|c| c.expose().to_owned()).collect(),
    })
}

/// Signs in again as a member of staff who has enrolled: moves the clock on one TOTP step (a code is
/// single-use), gives the password, then the current code. Returns the full session's token.
pub async fn sign_in_again(
    confidant: &Confidant<SqlStore, FixedClock>,
    handle: &str,
    password: &str,
    secret: &TotpSecret,
) -> anyhow::Result<String> {
    confidant.clock().advance(time::Duration::seconds(30));
    let signed = confidant.sign_in(handle, password).await?;
    anyhow::ensure!(
        signed.next == confidant_core::account::NextStep::SecondFactor,
        "expected the second-factor step, got {:?}",
        signed.next
    );
    let half = confidant
        .session(signed.token.expose())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no session after the password"))?;
    let token = confidant
        .second_factor(&half, &current_code(confidant, secret))
        .await?;
    Ok(token.expose().to_owned())
}

/// A member of staff by handle; an error if there is none.
pub async fn staff_by_handle(
    confidant: &Confidant<SqlStore, FixedClock>,
    handle: &str,
) -> anyhow::Result<StaffRecord> {
    confidant
        .staff_by_handle(handle)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no {handle}"))
}

/// A personal access token (valid a day) of the member of staff with `handle`.
pub async fn issue_token(
    confidant: &Confidant<SqlStore, FixedClock>,
    handle: &str,
    scope: TokenScope,
) -> anyhow::Result<String> {
    let staff = staff_by_handle(confidant, handle).await?;
    token_for(confidant, &staff, scope).await
}

/// A personal access token (valid a day) of a member of staff.
pub async fn token_for(
    confidant: &Confidant<SqlStore, FixedClock>,
    staff: &StaffRecord,
    scope: TokenScope,
) -> anyhow::Result<String> {
    Ok(confidant
        .issue_token(&operator(), staff, time::Duration::days(1), scope)
        .await?
        .expose()
        .to_owned())
}

/// Signs a member of staff in fully with `password` ([`sign_in_fully`]); gives back the full
/// session's token and its CSRF token.
pub async fn sign_in_with_csrf(
    confidant: &Confidant<SqlStore, FixedClock>,
    staff: &StaffRecord,
    password: &str,
) -> anyhow::Result<(String, String)> {
    let signed = sign_in_fully(confidant, staff, password).await?;
    let full = confidant
        .session(&signed.token)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no session after the second factor"))?;
    Ok((signed.token, full.record.csrf_token))
}

/// Records current training of every kind for a member of staff (done a day ago, valid a year), so
/// the training gate lets them through.
pub async fn train(
    confidant: &Confidant<SqlStore, FixedClock>,
    staff_id: Uuid,
) -> anyhow::Result<()> {
    let done = confidant
        .clock()
        .now()
        .date()
        .previous_day()
        .unwrap_or(test_time().date());
    for kind in confidant_core::store::TrainingKind::ALL {
        confidant
            .record_training(&operator(), staff_id, kind, done, 365)
            .await?;
    }
    Ok(())
}

/// Declares one async test per backend: `both_backends!(name, |backend| async { ... })`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() -> anyhow::Result<()> {
                ($body)($crate::TestBackend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() -> anyhow::Result<()> {
                ($body)($crate::TestBackend::Postgres).await
            }
        }
    };
}

/// Declares one async test per backend under names of its own (for tests the docs name):
/// `each_backend!(run => run_on_sqlite, run_on_postgres)` calls `run(TestBackend::…)`.
#[macro_export]
macro_rules! each_backend {
    ($run:ident => $sqlite:ident, $postgres:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $sqlite() -> anyhow::Result<()> {
            $run($crate::TestBackend::Sqlite).await
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $postgres() -> anyhow::Result<()> {
            $run($crate::TestBackend::Postgres).await
        }
    };
}
