//! The kernel every area stands on: the audit chain's drafts and events, time, and the keys.

pub mod audit;
pub mod clock;
pub mod keyring;
