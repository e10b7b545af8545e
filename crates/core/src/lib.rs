//! The domain of Confidant and its use-case services. No IO: storage is the [`store::Store`] port, time
//! is the [`clock::Clock`] port.
//!
//! Guarantees (each has tests):
//! - Every read or write of personal data goes through a [`Confidant`] method that asks the policy for a
//!   `Permit` and hands the store an audit draft made from it, so the change and its audit event are
//!   written in one transaction; refusals are audited too.
//! - Personal data reaches the store only sealed with the person's own data key, and identifiers only as
//!   blind indexes.
//! - Invalid input is refused, naming each field, before anything is written.

pub mod audit;
pub mod clock;
pub mod field;
pub mod identifier;
pub mod keyring;
pub mod organisation;
pub mod person;
pub mod store;
#[cfg(feature = "synthetic")]
pub mod synthetic;

use confidant_policy::Authorizer;

pub use audit::Purpose;
pub use clock::{Clock, SystemClock};
pub use confidant_policy::{Actor, Role, StaffActor};
pub use keyring::KeyRing;

/// The use-case services over one store, one key ring and one clock.
#[derive(Debug)]
pub struct Confidant<S, C = SystemClock> {
    store: S,
    keys: KeyRing,
    authorizer: Authorizer,
    clock: C,
}

impl<S: store::Store, C: Clock> Confidant<S, C> {
    pub fn new(store: S, keys: KeyRing, clock: C) -> Self {
        Self {
            store,
            keys,
            authorizer: Authorizer::new(),
            clock,
        }
    }

    /// Read-only access to the store for operations that touch no personal data (audit verification,
    /// health checks). Personal data is reachable only through the use-case methods.
    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn clock(&self) -> &C {
        &self.clock
    }
}
