//! Keys apart from data (issue 17, part 6), on SQLite and PostgreSQL: the data database holds no
//! wrapped key, so a copy of it without the key store opens nothing; a destroyed person's key
//! leaves the key store; every erasure goes onto the ledger; a copy of the data and its key store
//! taken before a destruction, opened with the installation's ledger, loses the person again
//! while everyone else stays whole, and its audit chain verifies.

use confidant_core::audit::verify_chain;
use confidant_core::clock::FixedClock;
use confidant_core::field::PersonField;
use confidant_core::record::RecordInput;
use confidant_core::store::prelude::*;
use confidant_core::store::{MergeConfirmation, Relationship};
use confidant_core::{Confidant, KeyRing};
use confidant_core::{Purpose, Role};
use confidant_store::{ConnectOptions, ErasureKind, SqlStore};
use confidant_testkit::{TestApp, TestBackend, both_backends, postgres_admin_url, test_time};
use sqlx::{AnyConnection, Connection, Executor};

const P: Purpose = Purpose::Support;
const A: Purpose = Purpose::Administration;
const REASON: &str = "Retention period ended and reviewed";

/// A copy of the installation's data and key store as they are now, and how to drop it.
struct Copy {
    url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<String>,
}

impl Copy {
    async fn take(app: &TestApp) -> anyhow::Result<Copy> {
        match app.db.backend {
            TestBackend::Sqlite => {
                let dir = tempfile::tempdir()?;
                let data = dir.path().join("confidant.db");
                for (mut conn, to) in [
                    (app.db.raw().await?, data.clone()),
                    (
                        app.db.raw_keys().await?,
                        dir.path().join("confidant-keys.db"),
                    ),
                ] {
                    sqlx::query("VACUUM INTO $1")
                        .bind(to.to_str().expect("a UTF-8 temporary path"))
                        .execute(&mut conn)
                        .await?;
                }
                Ok(Copy {
                    url: confidant_store::sqlite_url(&data),
                    _dir: Some(dir),
                    pg: None,
                })
            }
            TestBackend::Postgres => {
                // A template copy needs no one connected to the original: the store steps away.
                let source = app.db.url.rsplit_once('/').expect("a named database").1;
                let name = format!("{source}_copy");
                app.confidant.store().close().await;
                let mut admin = AnyConnection::connect(&postgres_admin_url()).await?;
                for (to, from) in [
                    (name.clone(), source.to_owned()),
                    (format!("{name}_keys"), format!("{source}_keys")),
                ] {
                    admin
                        .execute(sqlx::AssertSqlSafe(format!(
                            "CREATE DATABASE {to} TEMPLATE {from}"
                        )))
                        .await?;
                }
                admin.close().await?;
                let base = app.db.url.rsplit_once('/').expect("a named database").0;
                Ok(Copy {
                    url: format!("{base}/{name}"),
                    _dir: None,
                    pg: Some(name),
                })
            }
        }
    }

    async fn drop_databases(&self) -> anyhow::Result<()> {
        if let Some(name) = &self.pg {
            let mut admin = AnyConnection::connect(&postgres_admin_url()).await?;
            for db in [name.clone(), format!("{name}_keys")] {
                admin
                    .execute(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
                    )))
                    .await?;
            }
            admin.close().await?;
        }
        Ok(())
    }
}

/// The installation opened again on `url` with its master key (the store of the original having
/// stepped away, on PostgreSQL).
async fn open(app: &TestApp, url: &str) -> anyhow::Result<Confidant<SqlStore, FixedClock>> {
    let store = SqlStore::connect(url, &ConnectOptions::default()).await?;
    store.migrate().await?;
    let keys = KeyRing::open(&store, app.master.clone()).await?;
    Ok(Confidant::new(store, keys, FixedClock::at(test_time())))
}

async fn person(
    app: &TestApp,
    c: &Confidant<SqlStore, FixedClock>,
    marker: &str,
) -> anyhow::Result<uuid::Uuid> {
    let mut input = confidant_core::person::PersonInput::new();
    input.set_code("given_name", format!("{marker}given"));
    input.set_code("family_name", format!("{marker}family"));
    Ok(c.create_person(&app.worker_a, P, app.service_a, &input)
        .await?
        .id)
}

both_backends!(
    a_copy_of_the_data_without_its_key_store_opens_nothing,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let p = app.person_named("Zqapartgiven", "Zqapartfamily").await?;
        assert!(app.confidant.store().key_store_holds(p).await?);
        let wrapped: Vec<u8> =
            sqlx::query_scalar("SELECT wrapped FROM vault_key WHERE owner_id = $1")
                .bind(p.to_string())
                .fetch_one(&mut app.db.raw_keys().await?)
                .await?;
        assert!(
            !app.db
                .raw_bytes()?
                .windows(wrapped.len())
                .any(|w| w == wrapped.as_slice()),
            "a wrapped key is in the data database"
        );

        // The data alone, beside an empty key store: refused at the start, and nothing opens.
        let copy = Copy::take(&app).await?;
        let mut keys = AnyConnection::connect(&confidant_store::key_store_url(&copy.url)?).await?;
        keys.execute("DELETE FROM vault_key").await?;
        keys.close().await?;
        let copied = open(&app, &copy.url).await?;
        let refused = copied.store().check_key_store().await;
        assert!(refused.is_err(), "{refused:?}");
        // Past the refusal (a test opens the store itself), the record is left out as if gone.
        assert!(matches!(
            copied.read_person(&app.worker_a, P, p).await,
            Err(confidant_core::person::PersonError::NotFound)
        ));
        copied.close().await;
        copy.drop_databases().await
    }
);

both_backends!(
    an_installation_from_before_the_key_store_moves_its_keys_there_at_its_first_start,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let p = app.person_named("Zqmovedgiven", "Zqmovedfamily").await?;
        // As it was: the wrapped keys in the registry's own column, an empty key store.
        let column = match backend {
            TestBackend::Sqlite => "ALTER TABLE data_key ADD COLUMN wrapped BLOB",
            TestBackend::Postgres => "ALTER TABLE data_key ADD COLUMN wrapped BYTEA",
        };
        app.db.raw_execute(column).await?;
        let mut keys = app.db.raw_keys().await?;
        let stored: Vec<(String, i64, Vec<u8>)> =
            sqlx::query_as("SELECT owner_id, version, wrapped FROM vault_key")
                .fetch_all(&mut keys)
                .await?;
        assert!(stored.iter().any(|(owner, _, _)| *owner == p.to_string()));
        let mut data = app.db.raw().await?;
        for (owner, version, wrapped) in &stored {
            sqlx::query("UPDATE data_key SET wrapped = $1 WHERE owner_id = $2 AND version = $3")
                .bind(wrapped)
                .bind(owner)
                .bind(version)
                .execute(&mut data)
                .await?;
        }
        keys.execute("DELETE FROM vault_key").await?;
        let store = app.confidant.store();
        assert!(store.check_key_store().await.is_err());

        store.migrate().await?;
        store.check_key_store().await?;
        assert!(store.key_store_holds(p).await?);
        let read = app.confidant.read_person(&app.worker_a, P, p).await?;
        assert_eq!(read.get(PersonField::GivenName), Some("Zqmovedgiven"));
        Ok(())
    }
);

both_backends!(
    each_erasure_leaves_the_key_store_and_goes_onto_the_ledger,
    |backend| async move {
        let app = TestApp::new(backend).await?;
        let c = &app.confidant;
        let p = app.person_named("Zqgonegiven", "Zqgonefamily").await?;
        let other = app.person_named("Zqstaygiven", "Zqstayfamily").await?;
        let related = c
            .add_related(
                &app.worker_a,
                P,
                other,
                Relationship::Family,
                None,
                &RecordInput::new().with("given_name", "Zqrelated"),
            )
            .await?
            .id;
        c.remove_related(&app.worker_a, P, other, related).await?;
        let done = c
            .destroy_person(&app.dpo, A, p, "retention_ended", REASON)
            .await?;

        let store = c.store();
        assert!(!store.key_store_holds(p).await?);
        assert!(!store.key_store_holds(related).await?);
        assert!(store.key_store_holds(other).await?);
        let ledger = app.ledger.read()?;
        let of = |id| ledger.iter().find(|e| e.id == id).cloned();
        let gone = of(p).expect("the destroyed person is on the ledger");
        assert_eq!(gone.kind, ErasureKind::Person);
        assert_eq!(gone.certificate_id, Some(done.record.id));
        assert_eq!(of(related).map(|e| e.kind), Some(ErasureKind::Record));
        assert!(of(other).is_none());
        // The ledger names no one: ids, kinds, times.
        let text = std::fs::read_to_string(app.ledger.path())?.to_lowercase();
        for marker in ["zqgone", "zqstay", "zqrelated"] {
            assert!(!text.contains(marker), "{marker} on the ledger");
        }
        Ok(())
    }
);

both_backends!(
    a_copy_from_before_a_destruction_loses_the_person_again_before_it_serves,
    |backend| async move {
        let mut app = TestApp::new(backend).await?;
        // A duplicate made first (its id sorts first on the ledger), merged into the record.
        let dup = app.person_named("Zqearlierdup", "Zqearlierfamily").await?;
        let p = app
            .person_named("Zqearliergiven", "Zqearlierfamily")
            .await?;
        let (_, manager) = app
            .add_staff(Role::ServiceManager, Some(app.service_a), "manager", true)
            .await?;
        app.confidant
            .merge_people(&manager, P, p, dup, MergeConfirmation::WithPerson)
            .await?;
        let other = app.person_named("Zqintactgiven", "Zqintactfamily").await?;
        let copy = Copy::take(&app).await?;
        if backend == TestBackend::Postgres {
            let reopened = open(&app, &app.db.url).await?;
            reopened.store().keep_erasure_ledger(app.ledger.clone());
            app.confidant = reopened;
        }
        app.confidant
            .destroy_person(&app.dpo, A, p, "retention_ended", REASON)
            .await?;

        // The copy, opened with the installation's key and ledger: the person goes again (row and
        // key), before anything reads it; everyone else is whole.
        let copied = open(&app, &copy.url).await?;
        let store = copied.store();
        assert!(store.key_store_holds(p).await?, "the copy held the key");
        let done = store.reconcile_erasures(&app.ledger).await?;
        // The record and the one merged into it (the merged one first: no event is refused for
        // being about a merged record).
        assert_eq!(done.replayed, 2);
        assert!(store.destroyed(dup).await?);
        // Each done again as an audit event of its own, by the system, naming the record by id.
        let replays: Vec<_> = store
            .audit_events(0, 100_000)
            .await?
            .into_iter()
            .filter(|e| e.action == "erasure.replay")
            .collect();
        assert_eq!(replays.len(), 2, "{replays:?}");
        assert!(
            replays
                .iter()
                .all(|e| e.actor == "system" && e.subject_id.is_none())
        );
        let mut replayed: Vec<_> = replays
            .iter()
            .filter_map(|e| e.resource_id.clone())
            .collect();
        replayed.sort();
        let mut both = vec![p.to_string(), dup.to_string()];
        both.sort();
        assert_eq!(replayed, both);
        assert!(!store.key_store_holds(p).await?);
        assert!(store.destroyed(p).await?);
        assert!(copied.read_person(&app.worker_a, P, p).await.is_err());
        let kept = copied.read_person(&app.worker_a, P, other).await?;
        assert_eq!(kept.get(PersonField::GivenName), Some("Zqintactgiven"));
        // Once is enough: a second start replays nothing.
        assert_eq!(store.reconcile_erasures(&app.ledger).await?.replayed, 0);
        let verified = verify_chain(store, None).await?;
        assert!(verified.is_ok(), "{verified:?}");
        // The copy serves: a new record in it reads back.
        let after = person(&app, &copied, "Zqafter").await?;
        assert!(copied.read_person(&app.worker_a, P, after).await.is_ok());
        copied.close().await;
        copy.drop_databases().await
    }
);
