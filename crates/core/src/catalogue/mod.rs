//! What a record may hold: the field catalogue, identifiers and their checks, and the name index.

pub mod field;
pub mod identifier;
pub mod name_index;
