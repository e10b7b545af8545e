//! The register of processing activities, putting it in force, what changes between two registers,
//! and the privacy notices made from it.

pub mod activities;
mod diff;
mod in_force;
pub mod notice;

pub use activities::*;
pub use diff::{Audience, Change, Mark, RegisterDiff, Tell, Topic, diff};
pub use in_force::{InForce, InForceError};
