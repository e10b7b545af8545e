//! The store's port on SQLite and PostgreSQL: every operation on both.
//!
//! One test binary for the crate (linking dominates the suite's time), one module per concern.

mod access;
mod audit_tamper;
mod audit_writer;
mod bundle;
mod caseloads;
mod conformance;
mod contact;
mod corrections;
mod erasure;
mod keeping;
mod keys_apart;
mod ledger;
mod merges;
mod notices;
mod paper;
mod query_holds;
mod records;
mod records_store;
mod referrals_kept;
mod register;
mod register_examples;
mod retention;
mod rights;
mod secure_send;
mod sessions;
mod sharing;
mod staff_setup;
mod tasks;
mod trustees;
