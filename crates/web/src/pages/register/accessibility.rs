//! The accessibility statement (`/accessibility`): public, like the privacy notices, and naming the
//! organisation's contact from the register where there is one.

use askama::Template;
use axum::response::Response;
use confidant_core::Clock;
use confidant_core::store::Store;

use crate::pages::{Chrome, PageError, St, render};

#[derive(Template)]
#[template(path = "accessibility.html")]
struct AccessibilityPage {
    chrome: Chrome,
    /// The controller's name, or "" without a register.
    controller: String,
    /// How to reach the organisation, or "" without a register.
    contact: String,
    /// The idle limit in words ("15 minutes"), after which an open page is hidden.
    idle: String,
}

pub async fn page<S: Store, C: Clock>(state: St<S, C>) -> Result<Response, PageError> {
    let (controller, contact) = match state.confidant.register() {
        Some(r) => {
            let o = &r.organisation;
            let mut contact = format!("{} by email at {}", o.controller.trim(), o.email.trim());
            if let Some(phone) = o.phone.as_deref().filter(|p| !p.trim().is_empty()) {
                contact.push_str(&format!(", by phone on {}", phone.trim()));
            }
            contact.push_str(&format!(", or by post at {}", o.address.trim()));
            (o.controller.trim().to_owned(), contact)
        }
        None => (String::new(), String::new()),
    };
    render(&AccessibilityPage {
        chrome: Chrome::anonymous(),
        controller,
        contact,
        idle: crate::pages::staff::sign_in::in_words(state.confidant.settings().session.idle),
    })
}
