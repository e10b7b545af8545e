//! Schema parity (issue 12): the SQLite and PostgreSQL migrations give the same schema.
//!
//! Both backends are migrated on fresh databases and read back by introspection (SQLite's
//! `sqlite_master` and `pragma_*` functions; PostgreSQL's `information_schema` and `pg_catalog`),
//! into one backend-neutral description, then compared:
//! - the same tables, with the same columns, each of a comparable type ([`compatible`]) and the same
//!   nullability, and the same primary key;
//! - the same indexes: those created by name with the same name, columns, uniqueness and partial
//!   predicate; those a `UNIQUE` constraint makes (named differently by each backend) by columns;
//! - the same append-only triggers: for each table, the same set of (timing, event) for row inserts,
//!   updates and deletes. On PostgreSQL, `TRUNCATE` skips row triggers (SQLite has no `TRUNCATE`, and
//!   its whole-table `DELETE` fires them), so every table that refuses deletes must refuse truncation
//!   too.
//!
//! One SQLite quirk is mapped rather than compared: SQLite lets a non-integer `PRIMARY KEY` column
//! hold NULL unless it is declared `NOT NULL` (a documented legacy bug), where PostgreSQL makes every
//! primary-key column NOT NULL. Primary-key columns are compared as NOT NULL on both; docs/security.md
//! lists this among what is not guaranteed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use confidant_testkit::{TestBackend, TestDb};
use sqlx::{Connection, PgConnection, Row, SqliteConnection};

/// A column as both backends can describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    /// As declared (SQLite) or as `information_schema.columns.data_type` gives it (PostgreSQL).
    declared: String,
    not_null: bool,
}

/// An index. Indexes a `UNIQUE` constraint makes are named by each backend its own way, so they
/// are compared without their name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Index {
    name: Option<String>,
    columns: Vec<String>,
    unique: bool,
    /// The `WHERE` of a partial index, normalised (lower case, no brackets or spaces).
    predicate: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Insert,
    Update,
    Delete,
    Truncate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timing {
    Before,
    After,
    InsteadOf,
}

#[derive(Debug, Default)]
struct Table {
    columns: BTreeMap<String, Column>,
    primary_key: Vec<String>,
    indexes: BTreeSet<Index>,
    triggers: BTreeSet<(Timing, Event)>,
}

#[derive(Debug, Default)]
struct Schema {
    tables: BTreeMap<String, Table>,
}

/// The migrations' own bookkeeping table, not part of the schema.
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// Whether a SQLite declared type and a PostgreSQL type hold the same values. A SQLite `BIGINT`
/// must be a PostgreSQL `bigint` (never a narrower `integer`); a SQLite `INTEGER` (64 bits there)
/// may be either, as a `BIGSERIAL` key or a one-row table's `CHECK (id = 1)` key.
fn compatible(sqlite: &str, postgres: &str) -> bool {
    const MAP: &[(&str, &str)] = &[
        ("TEXT", "text"),
        ("TEXT", "uuid"),
        ("BLOB", "bytea"),
        ("BIGINT", "bigint"),
        ("INTEGER", "integer"),
        ("INTEGER", "bigint"),
        ("BOOLEAN", "boolean"),
        ("REAL", "double precision"),
    ];
    MAP.iter()
        .any(|(s, p)| sqlite.eq_ignore_ascii_case(s) && postgres == *p)
}

/// A partial index's predicate as both backends would print it: no spaces or parentheses, lower
/// case, and without the cast PostgreSQL prints on a string literal (`'open'::text`).
fn normalise_predicate(text: &str) -> String {
    text.replace("::text", "")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '(' && *c != ')')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The timing and events of a SQLite `CREATE TRIGGER` statement.
fn sqlite_trigger_kind(sql: &str) -> anyhow::Result<Vec<(Timing, Event)>> {
    let upper = sql.to_ascii_uppercase();
    let words: Vec<&str> = upper.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| matches!(*w, "BEFORE" | "AFTER" | "INSTEAD"))
        .ok_or_else(|| anyhow::anyhow!("a trigger without timing: {sql}"))?;
    let (timing, event_at) = match words[at] {
        "BEFORE" => (Timing::Before, at + 1),
        "AFTER" => (Timing::After, at + 1),
        _ => (Timing::InsteadOf, at + 2),
    };
    let event = match words.get(event_at).copied() {
        Some("INSERT") => Event::Insert,
        Some("UPDATE") => Event::Update,
        Some("DELETE") => Event::Delete,
        _ => anyhow::bail!("a trigger without an event: {sql}"),
    };
    Ok(vec![(timing, event)])
}

async fn sqlite_schema(url: &str) -> anyhow::Result<Schema> {
    let mut conn = SqliteConnection::connect(url).await?;
    let mut schema = Schema::default();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> ?",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(&mut conn)
    .await?;
    for name in tables {
        let mut table = Table::default();
        let mut key: Vec<(i64, String)> = Vec::new();
        for row in sqlx::query("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)")
            .bind(&name)
            .fetch_all(&mut conn)
            .await?
        {
            let column: String = row.try_get("name")?;
            let pk: i64 = row.try_get("pk")?;
            let not_null: bool = row.try_get::<i64, _>("notnull")? != 0;
            if pk > 0 {
                key.push((pk, column.clone()));
            }
            table.columns.insert(
                column,
                Column {
                    declared: row.try_get("type")?,
                    // See the module's note on SQLite's primary keys.
                    not_null: not_null || pk > 0,
                },
            );
        }
        key.sort();
        table.primary_key = key.into_iter().map(|(_, c)| c).collect();

        for row in sqlx::query("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?)")
            .bind(&name)
            .fetch_all(&mut conn)
            .await?
        {
            let index: String = row.try_get("name")?;
            let origin: String = row.try_get("origin")?;
            if origin == "pk" {
                continue;
            }
            let columns: Vec<String> =
                sqlx::query_scalar("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
                    .bind(&index)
                    .fetch_all(&mut conn)
                    .await?;
            let predicate = if row.try_get::<i64, _>("partial")? != 0 {
                let sql: String = sqlx::query_scalar(
                    "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
                )
                .bind(&index)
                .fetch_one(&mut conn)
                .await?;
                let upper = sql.to_ascii_uppercase();
                let at = upper
                    .rfind(" WHERE ")
                    .ok_or_else(|| anyhow::anyhow!("a partial index without WHERE: {sql}"))?;
                Some(normalise_predicate(&sql[at + " WHERE ".len()..]))
            } else {
                None
            };
            table.indexes.insert(Index {
                name: (origin == "c").then_some(index),
                columns,
                unique: row.try_get::<i64, _>("unique")? != 0,
                predicate,
            });
        }

        for sql in sqlx::query_scalar::<_, String>(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
        )
        .bind(&name)
        .fetch_all(&mut conn)
        .await?
        {
            table.triggers.extend(sqlite_trigger_kind(&sql)?);
        }
        schema.tables.insert(name, table);
    }
    conn.close().await?;
    Ok(schema)
}

async fn postgres_schema(url: &str) -> anyhow::Result<Schema> {
    let mut conn = PgConnection::connect(url).await?;
    let mut schema = Schema::default();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> $1",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(&mut conn)
    .await?;
    for name in tables {
        schema.tables.insert(name, Table::default());
    }

    for row in sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty, is_nullable::text AS n \
         FROM information_schema.columns WHERE table_schema = 'public'",
    )
    .fetch_all(&mut conn)
    .await?
    {
        let t: String = row.try_get("t")?;
        if let Some(table) = schema.tables.get_mut(&t) {
            table.columns.insert(
                row.try_get("c")?,
                Column {
                    declared: row.try_get("ty")?,
                    not_null: row.try_get::<String, _>("n")? == "NO",
                },
            );
        }
    }

    // Every index of a table in `public`, with its columns in order, whether a constraint made it
    // (primary key or UNIQUE) and its predicate if partial.
    for row in sqlx::query(
        "SELECT t.relname::text AS t, i.relname::text AS i, ix.indisunique AS u, ix.indisprimary AS p, \
                EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid) AS from_constraint, \
                pg_get_expr(ix.indpred, ix.indrelid) AS predicate, \
                ARRAY(SELECT a.attname::text \
                      FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) \
                      JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum \
                      ORDER BY k.n) AS columns \
         FROM pg_index ix \
         JOIN pg_class t ON t.oid = ix.indrelid \
         JOIN pg_class i ON i.oid = ix.indexrelid \
         JOIN pg_namespace s ON s.oid = t.relnamespace \
         WHERE s.nspname = 'public'",
    )
    .fetch_all(&mut conn)
    .await?
    {
        let t: String = row.try_get("t")?;
        let Some(table) = schema.tables.get_mut(&t) else {
            continue;
        };
        let columns: Vec<String> = row.try_get("columns")?;
        if row.try_get::<bool, _>("p")? {
            table.primary_key = columns;
            continue;
        }
        let from_constraint: bool = row.try_get("from_constraint")?;
        let predicate: Option<String> = row.try_get("predicate")?;
        table.indexes.insert(Index {
            name: if from_constraint {
                None
            } else {
                Some(row.try_get("i")?)
            },
            columns,
            unique: row.try_get("u")?,
            predicate: predicate.as_deref().map(normalise_predicate),
        });
    }

    // `tgtype` bits: 2 BEFORE, 4 INSERT, 8 DELETE, 16 UPDATE, 32 TRUNCATE, 64 INSTEAD OF.
    for row in sqlx::query(
        "SELECT c.relname::text AS t, tg.tgtype::int4 AS kind \
         FROM pg_trigger tg \
         JOIN pg_class c ON c.oid = tg.tgrelid \
         JOIN pg_namespace s ON s.oid = c.relnamespace \
         WHERE s.nspname = 'public' AND NOT tg.tgisinternal",
    )
    .fetch_all(&mut conn)
    .await?
    {
        let t: String = row.try_get("t")?;
        let kind: i32 = row.try_get("kind")?;
        let Some(table) = schema.tables.get_mut(&t) else {
            continue;
        };
        let timing = if kind & 64 != 0 {
            Timing::InsteadOf
        } else if kind & 2 != 0 {
            Timing::Before
        } else {
            Timing::After
        };
        for (bit, event) in [
            (4, Event::Insert),
            (8, Event::Delete),
            (16, Event::Update),
            (32, Event::Truncate),
        ] {
            if kind & bit != 0 {
                table.triggers.insert((timing, event));
            }
        }
    }
    conn.close().await?;
    Ok(schema)
}

/// One difference between the two schemas, said plainly.
struct Difference(String);

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Every difference between the SQLite and the PostgreSQL schema (empty: the same schema).
fn differences(sqlite: &Schema, postgres: &Schema) -> Vec<Difference> {
    let mut found = Vec::new();
    let mut say = |text: String| found.push(Difference(text));
    for name in sqlite.tables.keys() {
        if !postgres.tables.contains_key(name) {
            say(format!("table {name} exists on SQLite only"));
        }
    }
    for name in postgres.tables.keys() {
        if !sqlite.tables.contains_key(name) {
            say(format!("table {name} exists on PostgreSQL only"));
        }
    }
    for (name, s) in &sqlite.tables {
        let Some(p) = postgres.tables.get(name) else {
            continue;
        };
        for (column, sc) in &s.columns {
            match p.columns.get(column) {
                None => say(format!("column {name}.{column} exists on SQLite only")),
                Some(pc) => {
                    if !compatible(&sc.declared, &pc.declared) {
                        say(format!(
                            "column {name}.{column} is {} on SQLite but {} on PostgreSQL",
                            sc.declared, pc.declared
                        ));
                    }
                    if sc.not_null != pc.not_null {
                        say(format!(
                            "column {name}.{column} is {} on SQLite but {} on PostgreSQL",
                            nullability(sc.not_null),
                            nullability(pc.not_null)
                        ));
                    }
                }
            }
        }
        for column in p.columns.keys() {
            if !s.columns.contains_key(column) {
                say(format!("column {name}.{column} exists on PostgreSQL only"));
            }
        }
        if s.primary_key != p.primary_key {
            say(format!(
                "the primary key of {name} is ({}) on SQLite but ({}) on PostgreSQL",
                s.primary_key.join(", "),
                p.primary_key.join(", ")
            ));
        }
        for index in s.indexes.difference(&p.indexes) {
            say(format!(
                "{} of {name} exists on SQLite only",
                describe(index)
            ));
        }
        for index in p.indexes.difference(&s.indexes) {
            say(format!(
                "{} of {name} exists on PostgreSQL only",
                describe(index)
            ));
        }
        let row_events = |t: &BTreeSet<(Timing, Event)>| -> BTreeSet<(Timing, Event)> {
            t.iter()
                .copied()
                .filter(|(_, e)| *e != Event::Truncate)
                .collect()
        };
        for (timing, event) in row_events(&s.triggers).difference(&row_events(&p.triggers)) {
            say(format!(
                "a {timing:?} {event:?} trigger on {name} exists on SQLite only"
            ));
        }
        for (timing, event) in row_events(&p.triggers).difference(&row_events(&s.triggers)) {
            say(format!(
                "a {timing:?} {event:?} trigger on {name} exists on PostgreSQL only"
            ));
        }
        let refuses_delete = p.triggers.contains(&(Timing::Before, Event::Delete));
        let refuses_truncate = p.triggers.contains(&(Timing::Before, Event::Truncate));
        if refuses_delete && !refuses_truncate {
            say(format!(
                "{name} refuses DELETE but not TRUNCATE on PostgreSQL (SQLite's whole-table DELETE \
                 fires its delete trigger)"
            ));
        }
    }
    found
}

fn nullability(not_null: bool) -> &'static str {
    if not_null { "NOT NULL" } else { "nullable" }
}

fn describe(index: &Index) -> String {
    format!(
        "{}{} index {}on ({}){}",
        if index.unique { "a unique" } else { "an" },
        if index.predicate.is_some() {
            " partial"
        } else {
            ""
        },
        index
            .name
            .as_deref()
            .map_or_else(|| "of a UNIQUE constraint ".to_owned(), |n| format!("{n} ")),
        index.columns.join(", "),
        index
            .predicate
            .as_deref()
            .map_or_else(String::new, |p| format!(" where {p}")),
    )
}

/// Fresh, migrated databases on both backends.
async fn migrated() -> anyhow::Result<(TestDb, TestDb)> {
    let sqlite = TestDb::new(TestBackend::Sqlite).await?;
    sqlite.store().await?;
    let postgres = TestDb::new(TestBackend::Postgres).await?;
    postgres.store().await?;
    Ok((sqlite, postgres))
}

async fn compare(sqlite: &TestDb, postgres: &TestDb) -> anyhow::Result<Vec<String>> {
    let s = sqlite_schema(&sqlite.url).await?;
    let p = postgres_schema(&postgres.url).await?;
    anyhow::ensure!(
        s.tables.len() > 20 && s.tables.values().all(|t| !t.columns.is_empty()),
        "introspection found too little of the SQLite schema: {s:?}"
    );
    anyhow::ensure!(
        p.tables.len() > 20 && p.tables.values().all(|t| !t.columns.is_empty()),
        "introspection found too little of the PostgreSQL schema: {p:?}"
    );
    Ok(differences(&s, &p)
        .into_iter()
        .map(|d| d.to_string())
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_and_postgresql_migrations_give_the_same_schema() -> anyhow::Result<()> {
    let (sqlite, postgres) = migrated().await?;
    let found = compare(&sqlite, &postgres).await?;
    assert!(
        found.is_empty(),
        "the schemas differ:\n  {}",
        found.join("\n  ")
    );

    // The introspection sees what it compares: the audit log's triggers and a partial unique index.
    let s = sqlite_schema(&sqlite.url).await?;
    let audit = &s.tables["audit_event"];
    assert!(audit.triggers.contains(&(Timing::Before, Event::Update)));
    assert!(audit.triggers.contains(&(Timing::Before, Event::Delete)));
    assert!(s.tables["case_episode"].indexes.iter().any(|i| {
        i.name.as_deref() == Some("case_episode_one_open")
            && i.unique
            && i.predicate.as_deref() == Some("closed_atisnull")
    }));
    Ok(())
}

/// The comparison is not vacuous: a difference of each kind, made on one backend only, is found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_column_nullability_index_or_trigger_on_one_backend_only_is_a_difference()
-> anyhow::Result<()> {
    let (sqlite, postgres) = migrated().await?;
    sqlite
        .raw_execute("CREATE TABLE parity_extra (id TEXT PRIMARY KEY)")
        .await?;
    sqlite
        .raw_execute("ALTER TABLE person ADD COLUMN parity_note TEXT")
        .await?;
    sqlite
        .raw_execute("CREATE INDEX parity_person_created ON person (created_at)")
        .await?;
    sqlite
        .raw_execute("DROP TRIGGER audit_event_no_delete")
        .await?;
    postgres
        .raw_execute("ALTER TABLE staff ALTER COLUMN disabled_at SET NOT NULL")
        .await?;
    postgres
        .raw_execute("ALTER TABLE service ADD CONSTRAINT parity_unique UNIQUE (name)")
        .await?;
    postgres
        .raw_execute("ALTER TABLE person ALTER COLUMN key_version TYPE integer")
        .await?;
    postgres
        .raw_execute("DROP TRIGGER audit_event_no_truncate ON audit_event")
        .await?;

    let found = compare(&sqlite, &postgres).await?;
    for expected in [
        "table parity_extra exists on SQLite only",
        "column person.parity_note exists on SQLite only",
        "an index parity_person_created on (created_at) of person exists on SQLite only",
        "a Before Delete trigger on audit_event exists on PostgreSQL only",
        "column staff.disabled_at is nullable on SQLite but NOT NULL on PostgreSQL",
        "a unique index of a UNIQUE constraint on (name) of service exists on PostgreSQL only",
        "column person.key_version is BIGINT on SQLite but integer on PostgreSQL",
        "audit_event refuses DELETE but not TRUNCATE on PostgreSQL",
    ] {
        assert!(
            found.iter().any(|f| f.starts_with(expected)),
            "not found: {expected}\nfound:\n  {}",
            found.join("\n  ")
        );
    }
    assert_eq!(found.len(), 8, "{found:#?}");
    Ok(())
}

/// What the trigger comparison stands for, in behaviour: on PostgreSQL every table that refuses
/// deletes refuses `TRUNCATE` too (which skips row triggers), even when empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_append_only_table_refuses_truncate_on_postgresql() -> anyhow::Result<()> {
    let (_sqlite, postgres) = migrated().await?;
    let schema = postgres_schema(&postgres.url).await?;
    let append_only: Vec<&String> = schema
        .tables
        .iter()
        .filter(|(_, t)| t.triggers.contains(&(Timing::Before, Event::Delete)))
        .map(|(name, _)| name)
        .collect();
    for expected in ["audit_event", "consent", "disclosure", "disclosure_item"] {
        assert!(
            append_only.iter().any(|t| *t == expected),
            "{expected} refuses no deletes: {append_only:?}"
        );
    }
    for table in append_only {
        let refused = postgres
            .raw_execute(&format!("TRUNCATE {table} CASCADE"))
            .await
            .expect_err("TRUNCATE of an append-only table is refused");
        assert!(
            refused.to_string().contains("append-only"),
            "{table}: {refused}"
        );
    }
    Ok(())
}
