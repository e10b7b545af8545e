//! Sharing (F4): a person's consents, restrictions and approvals, sharing a record and its
//! disclosures, and the register of recipients with its consent purposes and disclosure review.

pub mod consent;
pub mod disclosure;
pub mod recipient;
pub mod share;
pub mod steps;

use confidant_core::Clock;
use confidant_core::store::Store;

use crate::AppState;
use crate::http::routing::{Routes, get, post};

pub fn routes<S: Store, C: Clock>() -> Routes<AppState<S, C>> {
    let p = "/people/{person_id}";
    let routes = Routes::new();
    // The package as a PDF only where typst is built in (the binary): see `confidant-pdf`.
    #[cfg(feature = "pdf")]
    let routes = routes.route(
        &format!("{p}/disclosures/{{disclosure_id}}/package.pdf"),
        get(disclosure::package_pdf::<S, C>),
    );
    routes
        .route(&format!("{p}/sharing"), get(consent::show::<S, C>))
        .route(
            &format!("{p}/sharing/consent"),
            post(consent::record::<S, C>),
        )
        .route(
            &format!("{p}/sharing/restrictions"),
            post(consent::restrict::<S, C>),
        )
        .route(
            &format!("{p}/sharing/restrictions/{{restriction_id}}/lift"),
            post(consent::lift::<S, C>),
        )
        .route(
            &format!("{p}/sharing/approvals/{{approval_id}}"),
            post(consent::decide::<S, C>),
        )
        .route(
            &format!("{p}/share"),
            get(steps::recipient::<S, C>).post(share::submit::<S, C>),
        )
        .route(&format!("{p}/share/purpose"), get(steps::purpose::<S, C>))
        .route(&format!("{p}/share/data"), get(steps::data::<S, C>))
        .route(&format!("{p}/share/check"), get(steps::check::<S, C>))
        .route(&format!("{p}/share/confirm"), get(steps::confirm::<S, C>))
        .route(
            &format!("{p}/share/approval"),
            get(share::approval_form::<S, C>).post(share::approval_submit::<S, C>),
        )
        .route(
            &format!("{p}/disclosures/{{disclosure_id}}"),
            get(disclosure::show::<S, C>),
        )
        .route(
            &format!("{p}/disclosures/{{disclosure_id}}/package.json"),
            get(disclosure::package::<S, C>),
        )
        .route(
            &format!("{p}/disclosures/{{disclosure_id}}/end"),
            post(disclosure::end_referral::<S, C>),
        )
        .route("/admin/recipients", get(recipient::list::<S, C>))
        .route(
            "/admin/recipients/new",
            get(recipient::new_form::<S, C>).post(recipient::create::<S, C>),
        )
        .route(
            "/admin/recipients/{recipient_id}",
            get(recipient::show::<S, C>),
        )
        .route(
            "/admin/recipients/{recipient_id}/edit",
            get(recipient::edit_form::<S, C>).post(recipient::edit_submit::<S, C>),
        )
        .route(
            "/admin/recipients/{recipient_id}/workers",
            post(recipient::assign::<S, C>),
        )
        .route(
            "/admin/consent-purposes/new",
            get(recipient::purpose_form::<S, C>).post(recipient::purpose_create::<S, C>),
        )
        .route(
            "/admin/disclosures/review",
            get(recipient::review_queue::<S, C>),
        )
        .route(
            "/admin/disclosures/review/{disclosure_id}",
            post(recipient::review_decide::<S, C>),
        )
        .route(
            "/services/{service_id}/consent-form",
            get(recipient::consent_form::<S, C>),
        )
}
