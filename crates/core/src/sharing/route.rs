//! What the register of processing activities gives a share, where a register governs the
//! organisation: the activities of the person's service that name the recipient decide the lawful
//! bases, the categories and the conditions a share may go under (issue 15).

use std::collections::BTreeSet;

use crate::store::LawfulBasis;

/// What the register gives a share: from the activities of the person's service that name the
/// recipient (or processor).
#[derive(Debug, Clone, Default)]
pub(super) struct Route {
    /// Some activity of the service names the recipient.
    pub(super) named: bool,
    /// The bases of those activities.
    pub(super) bases: Vec<LawfulBasis>,
    /// Of the activities with the share's basis (and, on consent, asking for the share's
    /// purpose): their categories and conditions.
    pub(super) categories: BTreeSet<String>,
    pub(super) article9: BTreeSet<String>,
    pub(super) schedule1: BTreeSet<String>,
}

impl Route {
    pub(super) fn of(
        register: &crate::register::Register,
        service: &str,
        recipient: &str,
        basis: LawfulBasis,
        purpose: Option<&str>,
    ) -> Route {
        let mut route = Route::default();
        for a in register.activities_of(service).filter(|a| {
            a.recipients.iter().any(|r| r == recipient)
                || a.processors.iter().any(|p| p == recipient)
        }) {
            route.named = true;
            let Some(b) = LawfulBasis::from_code(&a.basis) else {
                continue;
            };
            if !route.bases.contains(&b) {
                route.bases.push(b);
            }
            let purpose_fits = basis != LawfulBasis::Consent
                || purpose.is_none_or(|p| a.consent_purpose.as_deref() == Some(p));
            if b == basis && purpose_fits {
                route.categories.extend(a.categories.iter().cloned());
                route.article9.extend(a.article9.iter().cloned());
                route.schedule1.extend(a.schedule1.iter().cloned());
            }
        }
        route
    }
}
