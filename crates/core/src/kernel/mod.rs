//! The kernel every area stands on: capabilities, the audit chain's drafts and events, the codes of
//! code enums, time (UTC, and UK local time), and the keys.

pub mod access;
pub mod audit;
pub mod clock;
pub mod codes;
pub mod keyring;
pub mod uk_time;
