//! Sharing: the recipient register, services' consent forms, a person's consents and restrictions,
//! second-person approvals, the share itself (checked against every rule when it is made) and the
//! disclosure log. A share the rules refuse answers 403 `sharing_refused` with each rule broken.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use confidant_core::Clock;
use confidant_core::sharing::{
    ConsentLine, Disclosure, EntrySelection, RecipientInput, RecipientView, Refusal, ShareError,
    ShareRequest,
};
use confidant_core::store::{
    ApprovalRecord, ConsentPurposeRecord, ConsentRecord, DisclosedItem, DisclosureRecord,
    RecipientRecord, RestrictionRecord, Store,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::api::{invalid, organisation_of};
use crate::http::bearer::{
    AccessPurpose, Authenticated, ChangeJson, MayChange, Trained, TrainedJson, WritableJson,
};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::api::Path;
use crate::http::routing::{Routes, get, post, put};

mod approval;
mod consent;
mod recipient;
mod share;
pub use approval::*;
pub use consent::*;
pub use recipient::*;
pub use share::*;

use super::rfc3339_micros as at;

fn date(micros: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .date()
        .to_string()
}

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new()
        .route("/sharing/categories", get(categories))
        .route(
            "/recipients",
            get(recipients::<S, C>).post(add_recipient::<S, C>),
        )
        .route("/recipients/{recipient_id}", put(update_recipient::<S, C>))
        .route(
            "/recipients/{recipient_id}/staff",
            post(assign_staff::<S, C>),
        )
        .route(
            "/recipients/{recipient_id}/disclosures",
            get(recipient_disclosures::<S, C>),
        )
        .route(
            "/services/{service_id}/consent-purposes",
            get(consent_purposes::<S, C>).post(add_consent_purpose::<S, C>),
        )
        .route(
            "/people/{person_id}/consents",
            get(consents::<S, C>).post(record_consent::<S, C>),
        )
        .route("/people/{person_id}/restrictions", post(restrict::<S, C>))
        .route(
            "/people/{person_id}/restrictions/{restriction_id}/lift",
            post(lift::<S, C>),
        )
        .route("/people/{person_id}/shares/check", post(check::<S, C>))
        .route("/people/{person_id}/shares", post(share::<S, C>))
        .route("/people/{person_id}/disclosures", get(disclosures::<S, C>))
        .route(
            "/people/{person_id}/disclosures/{disclosure_id}",
            get(disclosure::<S, C>),
        )
        .route(
            "/people/{person_id}/disclosures/{disclosure_id}/end",
            post(end_referral::<S, C>),
        )
        .route(
            "/people/{person_id}/approvals",
            get(approvals::<S, C>).post(request_approval::<S, C>),
        )
        .route(
            "/people/{person_id}/approvals/{approval_id}",
            post(decide::<S, C>),
        )
        .route("/disclosures/review", get(review_queue::<S, C>))
        .route("/disclosures/{disclosure_id}/review", post(review::<S, C>))
}
