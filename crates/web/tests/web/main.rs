//! The web edge through the real router, in-process, on SQLite and PostgreSQL.
//!
//! One test binary for the crate (linking dominates the suite's time), one module per concern.

mod admin_pages;
mod answered_after_audit;
mod assignment_pages;
mod authorization_matrix;
mod caseload_pages;
mod contact_api;
mod contact_pages;
mod correction_pages;
mod diary_pages;
mod duplicate_warning;
mod hardening;
mod lock_and_error_pages;
mod merge_pages;
mod record_api;
mod record_pages;
mod register_pages;
mod retention_pages;
mod rights_bundle_pages;
mod rights_erasure_pages;
mod rights_pages;
mod route_matrix;
mod secure_send;
mod sharing_api;
mod sharing_pages;
mod task_pages;

use std::sync::Arc;

use confidant_core::Confidant;
use confidant_core::clock::FixedClock;
use confidant_store::SqlStore;

/// The router as `confidant serve` builds it, with the default configuration (for
/// `TestApp::serve`).
fn router(confidant: Arc<Confidant<SqlStore, FixedClock>>) -> axum::Router {
    confidant_web::router(confidant, confidant_web::WebConfig::default())
}
