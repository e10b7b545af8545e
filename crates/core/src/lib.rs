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

pub mod catalogue;
pub mod contact;
#[cfg(test)]
mod input_properties;
pub mod keeping;
pub mod kernel;
pub mod record;
pub mod referral;
pub mod register;
pub mod retention;
pub mod rights;
pub mod sharing;
pub mod staff;
pub mod store;
#[cfg(feature = "synthetic")]
pub mod synthetic;
pub mod task;

// The modules' paths from before the areas, kept while their callers move to the areas' own paths.
pub use catalogue::{field, identifier, name_index};
pub use contact::message;
pub use kernel::{access, audit, clock, keyring, uk_time};
pub use record::{document, grant, person, related};
pub use register::notice;
pub use staff::{account, organisation, setup, training};

use confidant_policy::Authorizer;

pub use account::SessionPolicy;
pub use audit::Purpose;
pub use clock::{Clock, SystemClock};
pub use confidant_policy::{AccessScope, Action, Actor, Grant, Resource, Role, StaffActor};
pub use kernel::codes::{Code, Labelled};
pub use keyring::KeyRing;

/// The organisation-wide settings the use cases follow.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub session: SessionPolicy,
    /// How long a break-the-glass grant lasts.
    pub break_glass: time::Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            session: SessionPolicy::default(),
            break_glass: time::Duration::hours(1),
        }
    }
}

/// The use-case services over one store, one key ring and one clock.
#[derive(Debug)]
pub struct Confidant<S, C = SystemClock> {
    store: S,
    keys: KeyRing,
    authorizer: Authorizer,
    clock: C,
    settings: Settings,
    register: Option<std::sync::Arc<register::Register>>,
    /// The installation's audit signing key, where it is at hand (`serve`, `destroy`): it signs
    /// destruction certificates as they are handed out.
    signer: Option<confidant_crypto::audit_key::AuditSigningKey>,
    /// The UK's bank holidays the rights requests' clocks skip (the shipped ones unless the
    /// configuration names a newer file).
    holidays: Option<std::sync::Arc<rights::BankHolidays>>,
}

impl<S: store::Store, C: Clock> Confidant<S, C> {
    pub fn new(store: S, keys: KeyRing, clock: C) -> Self {
        Self {
            store,
            keys,
            authorizer: Authorizer::new(),
            clock,
            settings: Settings::default(),
            register: None,
            signer: None,
            holidays: None,
        }
    }

    /// Signs destruction certificates with the installation's audit signing key
    /// ([`keeping::CertificateSignature`]).
    pub fn with_signing_key(mut self, key: confidant_crypto::audit_key::AuditSigningKey) -> Self {
        self.signer = Some(key);
        self
    }

    /// Runs on this processing register (checked when it was loaded): the privacy notices are
    /// made from it.
    pub fn with_register(mut self, register: register::Register) -> Self {
        self.register = Some(std::sync::Arc::new(register));
        self
    }

    /// Keeps the rights requests' clocks on these bank holidays instead of the shipped ones.
    pub fn with_bank_holidays(mut self, holidays: rights::BankHolidays) -> Self {
        self.holidays = Some(std::sync::Arc::new(holidays));
        self
    }

    /// The UK's bank holidays in use.
    pub fn bank_holidays(&self) -> &rights::BankHolidays {
        self.holidays
            .as_deref()
            .unwrap_or_else(|| rights::BankHolidays::shipped())
    }

    /// The processing register, if the installation has one.
    pub fn register(&self) -> Option<&register::Register> {
        self.register.as_deref()
    }

    /// Decides with these policies (the shipped ones plus the organisation's own).
    pub fn with_authorizer(mut self, authorizer: Authorizer) -> Self {
        self.authorizer = authorizer;
        self
    }

    pub fn with_settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The audit chain's port alone, for verifying the chain and checking health: no personal data
    /// is reachable through it. Everything else goes through the use cases.
    pub fn audit_log(&self) -> store::AuditLog<'_, S> {
        store::AuditLog(&self.store)
    }

    /// Runs one request's work so that every access it recorded is appended, in one batch, before
    /// its answer is handed back: the web layer wraps every route in this, so no read is shown
    /// without its durable audit event. An error means the events could not be appended and the
    /// answer must not be given.
    pub async fn answer_when_audited<F>(&self, work: F) -> Result<F::Output, store::StoreError>
    where
        F: std::future::Future + Send,
        F::Output: Send,
    {
        self.store.answer_when_audited(work).await
    }

    /// Closes the store's connections (at shutdown).
    pub async fn close(&self)
    where
        S: store::Closing,
    {
        self.store.close().await;
    }

    /// The whole storage port, for tests that inspect what was stored (the `testing` feature,
    /// enabled only by tests: the binary cannot reach personal data around the use cases).
    #[cfg(feature = "testing")]
    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn clock(&self) -> &C {
        &self.clock
    }
}
