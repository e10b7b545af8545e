//! The HTTP edge, shared by the pages and the API: routing with its table, the extractors that read
//! a request with the site's own refusals, who the caller is (a session or a bearer token), the
//! checks about the caller made by type, the one error mapping of each output kind, and the static
//! assets.

pub mod assets;
pub mod bearer;
pub mod error;
pub mod error_page;
pub mod extract;
pub mod guard;
pub mod return_path;
pub mod routing;
pub mod session;
