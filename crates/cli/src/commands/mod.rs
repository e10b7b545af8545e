//! What each command does, one module per command (or family of subcommands) of `args.rs`; `main.rs`
//! dispatches to their `run`. Helpers the staff commands share are here.

use anyhow::Context;
use confidant_core::store::StaffRecord;
use confidant_core::{Confidant, SystemClock};
use confidant_store::SqlStore;

pub(crate) mod audit;
pub(crate) mod backup;
pub(crate) mod config;
pub(crate) mod demo;
pub(crate) mod destroy;
pub(crate) mod init;
pub(crate) mod keys;
pub(crate) mod migrate;
pub(crate) mod org;
pub(crate) mod outbox;
pub(crate) mod register;
pub(crate) mod retention;
pub(crate) mod rights;
pub(crate) mod serve;
pub(crate) mod service;
pub(crate) mod tasks;
pub(crate) mod team;
pub(crate) mod token;
pub(crate) mod user;

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
