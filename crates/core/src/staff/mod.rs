//! Organisations, services and staff: accounts, signing in, sessions, tokens and training.

pub mod account;
pub mod organisation;
pub mod setup;
pub mod training;
