//! The register of processing activities, putting it in force, and the privacy notices made from
//! it.

pub mod activities;
mod in_force;
pub mod notice;

pub use activities::*;
pub use in_force::{InForce, InForceError};
