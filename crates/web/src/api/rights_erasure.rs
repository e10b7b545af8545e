//! A request for erasure through the API: what bears on deciding it, and the decision (refused
//! under its exemptions, or the record destroyed with its certificate).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use confidant_core::Clock;
use confidant_core::rights::{ErasureDecision, ErasureInput};
use confidant_core::store::Store;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::api::keeping::{CertificateResponse, certificate_response};
use crate::api::organisation_of;
use crate::api::rights::{RightsRequestResponse, response_for};
use crate::http::bearer::{Authenticated, ChangeJson, Trained};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::api::Path;
use crate::http::routing::{Routes, get};

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    Routes::new().route(
        "/rights-requests/{request_id}/erasure",
        get(preview::<S, C>).post(decide::<S, C>),
    )
}

/// A recipient the disclosure log shows received the person's data.
#[derive(Serialize, ToSchema)]
pub struct ErasureRecipient {
    pub id: Uuid,
    pub name: String,
    /// The disclosures it received: their ids are on the packages it holds.
    pub disclosures: Vec<Uuid>,
}

/// What bears on erasing: for the Data Protection Officer (`may_erase`), what the record holds;
/// for a service's manager, who may only refuse, nothing of it.
#[derive(Serialize, ToSchema)]
pub struct ErasurePreviewResponse {
    pub request: RightsRequestResponse,
    /// The caller may erase (the Data Protection Officer).
    pub may_erase: bool,
    /// Legal holds in force and open requests that need the data: while any, erasing is refused
    /// (absent unless `may_erase`, as are the three below).
    pub kept: Option<i64>,
    /// Processing is restricted: lift the restriction before erasing.
    pub restricted: Option<bool>,
    /// Open cases: the person must have been told they cannot continue.
    pub open_cases: Option<i64>,
    /// Who must be told of the erasure (Art. 19), with the disclosures each received.
    pub recipients: Option<Vec<ErasureRecipient>>,
}

/// An erasure decision.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureRequest {
    /// The grounds of Art. 17(1) that apply: `no_longer_needed`, `consent_withdrawn`,
    /// `objected`, `unlawful`, `legal_duty`, `child_online`. None: refused, no ground applying.
    #[serde(default)]
    pub grounds: Vec<String>,
    /// The exemptions that apply (required, so that none weighed is never read as none
    /// applying): `expression`, `legal_obligation`, `safeguarding`, `public_task`,
    /// `public_health`, `archiving`, `legal_claims`. Any: refused under them.
    pub exemptions: Vec<String>,
    /// The person was told an open case cannot continue without their record.
    #[serde(default)]
    pub case_told: bool,
    /// To erase: why, without naming anyone (kept on the certificate).
    #[serde(default)]
    pub reason: String,
}

/// What the decision did: `refused` (the request as it now stands) or `erased` (the certificate).
#[derive(Serialize, ToSchema)]
pub struct ErasureResponse {
    /// `refused` or `erased`.
    pub outcome: &'static str,
    pub request: Option<RightsRequestResponse>,
    pub certificate: Option<CertificateResponse>,
}

#[utoipa::path(get, path = "/api/v1/rights-requests/{request_id}/erasure", tag = "rights",
    params(("request_id" = Uuid, Path)),
    responses((status = 200, body = ErasurePreviewResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "no such request for erasure, or not the Data Protection Officer or the service's manager", body = ErrorBody), (status = 409, description = "the request is not open: identity unconfirmed, the clock stopped, or closed", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn preview<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Trained(actor): Trained,
    Path(request_id): Path<Uuid>,
) -> Result<Json<ErasurePreviewResponse>, ApiError> {
    let organisation = organisation_of(actor.actor())?;
    let p = state
        .confidant
        .erasure_preview(&actor, organisation, request_id)
        .await?;
    let erases = p.may_erase;
    Ok(Json(ErasurePreviewResponse {
        request: response_for(&state, &actor, p.request),
        may_erase: erases,
        kept: erases.then_some(p.facts.kept),
        restricted: erases.then_some(p.facts.restricted),
        open_cases: erases.then_some(p.facts.open_cases),
        recipients: erases.then(|| {
            p.recipients
                .into_iter()
                .map(|r| ErasureRecipient {
                    id: r.id,
                    name: r.name,
                    disclosures: r.disclosures,
                })
                .collect()
        }),
    }))
}

#[utoipa::path(post, path = "/api/v1/rights-requests/{request_id}/erasure", tag = "rights",
    params(("request_id" = Uuid, Path)),
    request_body = ErasureRequest,
    responses((status = 200, description = "refused: an exemption applies, or no ground does", body = ErasureResponse), (status = 201, description = "erased: the record, its keys and every row of it are gone; its certificate", body = ErasureResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "no such request for erasure, not the Data Protection Officer or the service's manager, or (to erase) not the Data Protection Officer", body = ErrorBody), (status = 409, description = "the request is not open, a legal hold keeps the record, or it changed meanwhile", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn decide<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    _: Authenticated,
    Path(request_id): Path<Uuid>,
    ChangeJson(actor, body): ChangeJson<ErasureRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let organisation = organisation_of(actor.actor())?;
    let grounds: Vec<&str> = body.grounds.iter().map(String::as_str).collect();
    let exemptions: Vec<&str> = body.exemptions.iter().map(String::as_str).collect();
    let decided = state
        .confidant
        .decide_erasure(
            &actor,
            organisation,
            request_id,
            ErasureInput {
                grounds: &grounds,
                exemptions: &exemptions,
                case_told: body.case_told,
                reason: &body.reason,
            },
        )
        .await?;
    Ok(match decided {
        ErasureDecision::Refused(request) => (
            StatusCode::OK,
            Json(ErasureResponse {
                outcome: "refused",
                request: Some(response_for(&state, &actor, *request)),
                certificate: None,
            }),
        ),
        ErasureDecision::Erased(done) => (
            StatusCode::CREATED,
            Json(ErasureResponse {
                outcome: "erased",
                request: None,
                certificate: Some(certificate_response(done.record)),
            }),
        ),
    })
}
