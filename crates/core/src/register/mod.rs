//! The register of processing activities and the privacy notices made from it.

pub mod activities;
pub mod notice;

pub use activities::*;
