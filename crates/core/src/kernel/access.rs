//! Capabilities: values only the kernel makes, which use cases and the storage port ask for instead
//! of trusting what they are handed.
//!
//! A [`Principal`] is who is acting, as authentication established it: a member of staff signed in
//! or holding a personal access token ([`crate::Confidant::authenticate_token`]), or the operator
//! holding the installation's master key ([`crate::Confidant::operator`]). Every use case takes one;
//! nothing outside core can make one up:
//!
//! ```compile_fail
//! # use confidant_core::access::Principal;
//! let forged = Principal { actor: confidant_core::Actor::System };
//! ```
//!
//! ```compile_fail
//! # use confidant_core::access::Principal;
//! let forged = Principal::authenticated(confidant_core::Actor::System);
//! ```
//!
//! ```compile_fail
//! # use confidant_core::access::Principal;
//! fn forge(actor: confidant_core::Actor) -> Principal {
//!     actor.into()
//! }
//! ```
//!
//! and a use case given a bare actor does not compile:
//!
//! ```compile_fail
//! # use confidant_core::{Actor, Confidant, clock::SystemClock, store::Store};
//! async fn create<S: Store>(c: &Confidant<S, SystemClock>) {
//!     let _ = c.create_organisation(&Actor::System, "Forged Trust").await;
//! }
//! ```
//!
//! while the operator's principal does:
//!
//! ```
//! # use confidant_core::{Confidant, access::Principal, clock::SystemClock, store::Store};
//! async fn create<S: Store>(c: &Confidant<S, SystemClock>, operator: &Principal) {
//!     let _ = c.create_organisation(operator, "Northgate Recovery Trust").await;
//! }
//! ```
//!
//! A [`PersonAccess`] is the proof that a use case was permitted to reach one person. Every
//! person-scoped port method takes one and reads the person's id from it, so a store call cannot be
//! written for a person the permit was not decided for, and cannot be written at all without a
//! decision. A crate outside core cannot make one:
//!
//! ```compile_fail
//! # use confidant_core::access::PersonAccess;
//! let forged = PersonAccess { person_id: uuid::Uuid::nil() };
//! ```
//!
//! ```compile_fail
//! # use confidant_core::access::PersonAccess;
//! fn forge(permit: &confidant_policy::Permit) -> Option<PersonAccess> {
//!     PersonAccess::granted(permit)
//! }
//! ```
//!
//! nor reach a person's record by id alone:
//!
//! ```compile_fail
//! # use confidant_core::audit::AuditDraft;
//! # use confidant_core::store::PersonStore;
//! async fn by_id(store: &impl PersonStore, id: uuid::Uuid, draft: AuditDraft) {
//!     let _ = store.read_person(id, draft).await;
//! }
//! ```
//!
//! Given an access, the same call compiles:
//!
//! ```
//! # use confidant_core::access::PersonAccess;
//! # use confidant_core::audit::AuditDraft;
//! # use confidant_core::store::PersonStore;
//! async fn with_access(store: &impl PersonStore, access: &PersonAccess, draft: AuditDraft) {
//!     let _ = store.read_person(access, draft).await;
//! }
//! ```

use std::ops::Deref;

use confidant_policy::{Actor, Permit, Resource};
use uuid::Uuid;

/// Who is acting, as authentication established it. Only core makes one: at sign-in and with each
/// request's session, from a personal access token, or for the operator from the master key. It
/// reads as the [`Actor`] the policy decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    actor: Actor,
}

impl Principal {
    /// The principal authentication established (a session, a token, the master key).
    pub(crate) fn authenticated(actor: Actor) -> Self {
        Self { actor }
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }
}

impl Deref for Principal {
    type Target = Actor;

    fn deref(&self) -> &Actor {
        &self.actor
    }
}

/// Proof that the holder may reach this person's data: made in core from a permit decided on the
/// person (or for the outbox, from a message staff queued under one). Not `Clone`: a use case
/// lends it to the port calls it makes.
#[derive(Debug)]
pub struct PersonAccess {
    person_id: Uuid,
}

impl PersonAccess {
    /// The access a permit on a person gives; `None` if the permit is on anything else.
    pub(crate) fn granted(permit: &Permit) -> Option<Self> {
        match permit.resource() {
            Resource::Person { id, .. } => Some(Self { person_id: *id }),
            _ => None,
        }
    }

    /// The access to the person a record names, when the permit covered the record rather than the
    /// person: a grant on the break-glass review queue, a disclosure opened under a permit, a message
    /// staff queued under a permit that the outbox now sends.
    pub(crate) fn named_by_permitted_record(person_id: Uuid) -> Self {
        Self { person_id }
    }

    /// The access of a rule deciding something about this person before there is a permit, or
    /// within one already audited: it reads codes and ids (restrictions, refused channels, live
    /// referrals, who received what), never a sealed value.
    pub(crate) fn deciding(person_id: Uuid) -> Self {
        Self { person_id }
    }

    /// The access of the safety check that keeps a victim's data from someone they named as an
    /// alleged perpetrator: it opens the victim's names and contact details only to search for
    /// them in what would go to that person, never to show them, and the read is audited on the
    /// victim's record.
    pub(crate) fn shielding(person_id: Uuid) -> Self {
        Self { person_id }
    }

    /// The person this access reaches.
    pub fn person_id(&self) -> Uuid {
        self.person_id
    }
}

#[cfg(feature = "testing")]
impl Principal {
    /// A principal made without authentication, for tests and benchmarks that set up a world
    /// directly. The `testing` feature is enabled only by tests; the binary is built without it.
    pub fn for_tests(actor: Actor) -> Self {
        Self { actor }
    }
}

#[cfg(feature = "testing")]
impl PersonAccess {
    /// An access made without a permit, for tests that call the store's ports directly. The
    /// `testing` feature is enabled only by tests; the binary is built without it.
    pub fn for_tests(person_id: Uuid) -> Self {
        Self { person_id }
    }
}
