//! Contact preferences and the messages sent by them.

pub mod message;
pub mod preferences;

pub use preferences::*;
