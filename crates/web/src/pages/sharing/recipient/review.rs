//! Emergency disclosures waiting for the DPO's or Caldicott Guardian's review.

use super::*;
use crate::pages::PostForm;
use crate::pages::form::FormData;

#[derive(Template)]
#[template(path = "disclosure_review.html")]
pub(super) struct ReviewPage {
    chrome: Chrome,
    csrf: String,
    lines: Vec<(String, Vec<String>)>,
}

pub(super) async fn require_reviewer<S: Store, C: Clock>(
    state: &St<S, C>,
    signed: &Signed,
) -> Result<(), PageError> {
    signed
        .require(
            state,
            Action::BreakGlassReview,
            signed.organisation(),
            "Only the Caldicott Guardian and the Data Protection Officer review emergency disclosures.",
        )
        .await
}

pub async fn review_queue<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
) -> Result<Response, PageError> {
    require_reviewer(&state, &signed).await?;
    let c = &state.confidant;
    let actor = signed.actor();
    let org = signed.staff().organisation_id;
    let names: HashMap<Uuid, String> = c
        .recipients(actor, org)
        .await?
        .into_iter()
        .map(|r| (r.record.id, r.record.name))
        .collect();
    let handles = c.colleague_names(actor).await?;
    let lines = c
        .disclosures_to_review(actor, org)
        .await?
        .into_iter()
        .map(|d| {
            (
                d.id.to_string(),
                vec![
                    date_time(at(d.shared_at_micros)),
                    names.get(&d.recipient_id).cloned().unwrap_or_default(),
                    d.person_id.to_string(),
                    category_labels(&d.categories),
                    who(&handles, &d.requested_by),
                ],
            )
        })
        .collect();
    render(&ReviewPage {
        chrome: signed.chrome("/admin/recipients"),
        csrf: signed.csrf().to_owned(),
        lines,
    })
}

pub async fn review_decide<S: Store, C: Clock>(
    state: St<S, C>,
    signed: Signed,
    Path(disclosure_id): Path<Uuid>,
    PostForm(form): PostForm<FormData>,
) -> Result<Response, PageError> {
    require_reviewer(&state, &signed).await?;
    let escalate = match form.get("decision") {
        "signed_off" => false,
        "escalated" => true,
        _ => {
            return Err(PageError::Invalid(vec![(
                "decision".to_owned(),
                "Choose to sign off or to escalate".to_owned(),
            )]));
        }
    };
    // Reviewed already (by a racing reviewer, say): 409, this decision was not recorded.
    state
        .confidant
        .review_disclosure(signed.actor(), disclosure_id, escalate)
        .await?;
    Ok(Redirect::to("/admin/disclosures/review").into_response())
}
