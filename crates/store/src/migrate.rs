//! The schema: the migrations of each backend, embedded in the binary.

use super::*;

/// The schema, embedded in the binary: one list per backend, same version numbers on both.
pub(crate) const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../migrations/sqlite/0001_foundation.sql"),
    ),
    (
        2,
        "staff access",
        include_str!("../migrations/sqlite/0002_staff_access.sql"),
    ),
    (
        3,
        "records",
        include_str!("../migrations/sqlite/0003_records.sql"),
    ),
    (
        4,
        "sharing",
        include_str!("../migrations/sqlite/0004_sharing.sql"),
    ),
    (
        5,
        "contact",
        include_str!("../migrations/sqlite/0005_contact.sql"),
    ),
    (
        6,
        "notices",
        include_str!("../migrations/sqlite/0006_notices.sql"),
    ),
    (
        8,
        "exactly once",
        include_str!("../migrations/sqlite/0008_exactly_once.sql"),
    ),
    (
        9,
        "schema parity",
        include_str!("../migrations/sqlite/0009_schema_parity.sql"),
    ),
    (
        10,
        "register source",
        include_str!("../migrations/sqlite/0010_register_source.sql"),
    ),
    (
        11,
        "tasks",
        include_str!("../migrations/sqlite/0011_tasks.sql"),
    ),
    (
        12,
        "corrections",
        include_str!("../migrations/sqlite/0012_corrections.sql"),
    ),
    (
        13,
        "caseloads",
        include_str!("../migrations/sqlite/0013_caseloads.sql"),
    ),
    (
        14,
        "staff names",
        include_str!("../migrations/sqlite/0014_staff_names.sql"),
    ),
    (
        15,
        "case reopening",
        include_str!("../migrations/sqlite/0015_case_reopening.sql"),
    ),
    (
        16,
        "message expiry",
        include_str!("../migrations/sqlite/0016_message_expiry.sql"),
    ),
    (
        18,
        "person merge",
        include_str!("../migrations/sqlite/0018_person_merge.sql"),
    ),
    (
        19,
        "secure send",
        include_str!("../migrations/sqlite/0019_secure_send.sql"),
    ),
    (
        20,
        "keeping",
        include_str!("../migrations/sqlite/0020_keeping.sql"),
    ),
    (
        21,
        "retention review",
        include_str!("../migrations/sqlite/0021_retention_review.sql"),
    ),
    (
        22,
        "keys apart",
        include_str!("../migrations/sqlite/0022_keys_apart.sql"),
    ),
    (
        23,
        "paper destruction",
        include_str!("../migrations/sqlite/0023_paper_destruction.sql"),
    ),
    (
        24,
        "query holds",
        include_str!("../migrations/sqlite/0024_query_hold.sql"),
    ),
    (
        25,
        "certificate signature",
        include_str!("../migrations/sqlite/0025_certificate_signature.sql"),
    ),
    (
        26,
        "rights requests",
        include_str!("../migrations/sqlite/0026_rights_request.sql"),
    ),
    (
        27,
        "complaint acknowledged",
        include_str!("../migrations/sqlite/0027_complaint_acknowledged.sql"),
    ),
    (
        28,
        "access bundle",
        include_str!("../migrations/sqlite/0028_access_bundle.sql"),
    ),
];

pub(crate) const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../migrations/postgres/0001_foundation.sql"),
    ),
    (
        2,
        "staff access",
        include_str!("../migrations/postgres/0002_staff_access.sql"),
    ),
    (
        3,
        "records",
        include_str!("../migrations/postgres/0003_records.sql"),
    ),
    (
        4,
        "sharing",
        include_str!("../migrations/postgres/0004_sharing.sql"),
    ),
    (
        5,
        "contact",
        include_str!("../migrations/postgres/0005_contact.sql"),
    ),
    (
        6,
        "notices",
        include_str!("../migrations/postgres/0006_notices.sql"),
    ),
    (
        8,
        "exactly once",
        include_str!("../migrations/postgres/0008_exactly_once.sql"),
    ),
    (
        9,
        "schema parity",
        include_str!("../migrations/postgres/0009_schema_parity.sql"),
    ),
    (
        10,
        "register source",
        include_str!("../migrations/postgres/0010_register_source.sql"),
    ),
    (
        11,
        "tasks",
        include_str!("../migrations/postgres/0011_tasks.sql"),
    ),
    (
        12,
        "corrections",
        include_str!("../migrations/postgres/0012_corrections.sql"),
    ),
    (
        13,
        "caseloads",
        include_str!("../migrations/postgres/0013_caseloads.sql"),
    ),
    (
        14,
        "staff names",
        include_str!("../migrations/postgres/0014_staff_names.sql"),
    ),
    (
        15,
        "case reopening",
        include_str!("../migrations/postgres/0015_case_reopening.sql"),
    ),
    (
        16,
        "message expiry",
        include_str!("../migrations/postgres/0016_message_expiry.sql"),
    ),
    (
        18,
        "person merge",
        include_str!("../migrations/postgres/0018_person_merge.sql"),
    ),
    (
        19,
        "secure send",
        include_str!("../migrations/postgres/0019_secure_send.sql"),
    ),
    (
        20,
        "keeping",
        include_str!("../migrations/postgres/0020_keeping.sql"),
    ),
    (
        21,
        "retention review",
        include_str!("../migrations/postgres/0021_retention_review.sql"),
    ),
    (
        22,
        "keys apart",
        include_str!("../migrations/postgres/0022_keys_apart.sql"),
    ),
    (
        23,
        "paper destruction",
        include_str!("../migrations/postgres/0023_paper_destruction.sql"),
    ),
    (
        24,
        "query holds",
        include_str!("../migrations/postgres/0024_query_hold.sql"),
    ),
    (
        25,
        "certificate signature",
        include_str!("../migrations/postgres/0025_certificate_signature.sql"),
    ),
    (
        26,
        "rights requests",
        include_str!("../migrations/postgres/0026_rights_request.sql"),
    ),
    (
        27,
        "complaint acknowledged",
        include_str!("../migrations/postgres/0027_complaint_acknowledged.sql"),
    ),
    (
        28,
        "access bundle",
        include_str!("../migrations/postgres/0028_access_bundle.sql"),
    ),
];

pub(crate) fn migrator(backend: Backend) -> Migrator {
    let list = match backend {
        Backend::Sqlite => SQLITE_MIGRATIONS,
        Backend::Postgres => POSTGRES_MIGRATIONS,
    };
    Migrator::with_migrations(
        list.iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    sqlx::AssertSqlSafe(*sql).into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}
