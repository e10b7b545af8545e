//! The `confidant` binary as its users run it: the command line, a real server, and the staff pages
//! in a real browser.
//!
//! One test binary for the crate (linking dominates the suite's time), one module per concern.

mod backup;
mod browser;
mod cli;
mod common;
mod retention;
mod rights;
mod staff_names;
