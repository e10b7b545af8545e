//! The field catalogue and a service's configuration of its record: what fields exist, how each is
//! classified and checked, and which of them (and which referrals) a service takes. No personal data.

use axum::Json;
use axum::extract::State;
use confidant_core::Clock;
use confidant_core::field::{
    Article9Category, Classification, FieldGroup, FieldSpec, ValueKind, catalogue as fields,
};
use confidant_core::store::{ReferralPolicy, Store};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::http::bearer::Authenticated;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::api::Path;

/// One choice of a `choice` field.
#[derive(Serialize, ToSchema)]
pub struct ChoiceResponse {
    pub code: &'static str,
    pub label: &'static str,
}

/// One field of the catalogue, with its classification.
#[derive(Serialize, ToSchema)]
pub struct FieldResponse {
    /// The kind of record: `person`, `related`, `referral`, `note`, `plan`, `goal`,
    /// `appointment`, `paper_note`, `paper_file` or `document`.
    pub record: &'static str,
    /// The field's code within its record (the key in request and response bodies).
    pub code: &'static str,
    pub label: &'static str,
    /// `personal`, `special_category`, `criminal_offence` or `third_party`.
    pub classification: &'static str,
    /// For special category data: `racial_or_ethnic_origin`, `religious_or_philosophical_beliefs`,
    /// `health`, `sex_life` or `sexual_orientation` (UK GDPR Article 9).
    pub article9_category: Option<&'static str>,
    /// The field group a service switches on or off (a person's fields; `identity` otherwise).
    pub group: &'static str,
    /// How a value is checked: `identifier` (its own rules: names, NHS number, postcode…), `line`,
    /// `text` (line breaks allowed), `date` (`YYYY-MM-DD`), `choice` (one of `choices`) or `document`
    /// (uploaded, never set as a value).
    pub kind: &'static str,
    /// The most characters a `line` or `text` value may have.
    pub max_length: Option<usize>,
    /// The codes a `choice` field takes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<ChoiceResponse>,
    /// Has a blind index, so the record can be found by it.
    pub blind_index: bool,
    /// Provided by the person themselves (counts for data portability).
    pub provided_by_person: bool,
    /// May leave the record in a share or an export (a victim's safe contact details never do).
    pub may_leave: bool,
    /// The retention class whose rules apply: `case_record`, `referral`, `paper_note`,
    /// `archived_paper` or `document` (a document's, a paper note's and an archived paper file's
    /// follow the case record's where the service has no rule for them).
    pub record_type: &'static str,
}

fn classification(c: Classification) -> (&'static str, Option<&'static str>) {
    match c {
        Classification::Personal => ("personal", None),
        Classification::SpecialCategory(a) => (
            "special_category",
            Some(match a {
                Article9Category::RacialOrEthnicOrigin => "racial_or_ethnic_origin",
                Article9Category::ReligiousOrPhilosophicalBeliefs => {
                    "religious_or_philosophical_beliefs"
                }
                Article9Category::Health => "health",
                Article9Category::SexLife => "sex_life",
                Article9Category::SexualOrientation => "sexual_orientation",
            }),
        ),
        Classification::CriminalOffence => ("criminal_offence", None),
        Classification::ThirdParty => ("third_party", None),
    }
}

impl From<FieldSpec> for FieldResponse {
    fn from(f: FieldSpec) -> Self {
        let (class, article9_category) = classification(f.classification);
        let (kind, max_length, choices) = match f.kind {
            ValueKind::Identifier => ("identifier", None, Vec::new()),
            ValueKind::Line(max) => ("line", Some(max), Vec::new()),
            ValueKind::Text(max) => ("text", Some(max), Vec::new()),
            ValueKind::Date => ("date", None, Vec::new()),
            ValueKind::Choice(options) => (
                "choice",
                None,
                options
                    .iter()
                    .map(|(code, label)| ChoiceResponse { code, label })
                    .collect(),
            ),
            ValueKind::Document => ("document", None, Vec::new()),
        };
        FieldResponse {
            record: f.record.code(),
            code: f.code,
            label: f.label,
            classification: class,
            article9_category,
            group: f.group.code(),
            kind,
            max_length,
            choices,
            blind_index: f.blind_index,
            provided_by_person: f.provided_by_person,
            may_leave: f.may_leave,
            record_type: f.record_type.code(),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/catalogue", tag = "catalogue",
    responses((status = 200, body = [FieldResponse]), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn catalogue(_auth: Authenticated) -> Json<Vec<FieldResponse>> {
    Json(fields().into_iter().map(FieldResponse::from).collect())
}

/// A field group and whether the service collects it.
#[derive(Serialize, ToSchema)]
pub struct FieldGroupResponse {
    pub code: &'static str,
    pub label: &'static str,
    /// `identity` is always collected.
    pub collected: bool,
}

/// A code and what it means.
#[derive(Serialize, ToSchema)]
pub struct CodeResponse {
    pub code: &'static str,
    pub label: &'static str,
}

/// How a service has configured its record.
#[derive(Serialize, ToSchema)]
pub struct ConfigurationResponse {
    pub service_id: Uuid,
    /// Every field group, each with whether the service collects it. A person's field of a group
    /// not collected is refused.
    pub field_groups: Vec<FieldGroupResponse>,
    /// Whom the service takes referrals from: `anyone`, `self`, `professional` or `partner`.
    pub referral_policy: CodeResponse,
    /// The referral sources (`source` of a new referral) the policy accepts.
    pub referral_sources: Vec<CodeResponse>,
    /// For the `partner` policy: the partner service whose open cases may be referred.
    pub partner_service_id: Option<Uuid>,
}

#[utoipa::path(get, path = "/api/v1/services/{service_id}/configuration", tag = "services",
    params(("service_id" = Uuid, Path)),
    responses((status = 200, body = ConfigurationResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn configuration<S: Store, C: Clock>(
    State(state): State<AppState<S, C>>,
    auth: Authenticated,
    Path(service_id): Path<Uuid>,
) -> Result<Json<ConfigurationResponse>, ApiError> {
    let config = state
        .confidant
        .service_configuration(&auth.0, service_id)
        .await?;
    let policy: ReferralPolicy = config.referrals;
    Ok(Json(ConfigurationResponse {
        service_id: config.service_id,
        field_groups: FieldGroup::ALL
            .into_iter()
            .map(|g| FieldGroupResponse {
                code: g.code(),
                label: g.label(),
                collected: config.field_groups.contains(g),
            })
            .collect(),
        referral_policy: CodeResponse {
            code: policy.code(),
            label: policy.label(),
        },
        referral_sources: confidant_core::store::ReferralSource::ALL
            .iter()
            .filter(|s| policy.accepts(**s))
            .map(|s| CodeResponse {
                code: s.code(),
                label: s.label(),
            })
            .collect(),
        partner_service_id: config.partner_service_id,
    }))
}
