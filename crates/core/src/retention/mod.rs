//! Retention: what kinds of record are kept, from which event, for how long (issue 17, part 1).
//! The register's `[[retention]]` rules are written in these types
//! ([`RetentionRule`](crate::register::RetentionRule)); the sweep and the review queue (later parts)
//! read them.
//!
//! Guarantees:
//! - A record type, a trigger and a period exist only as one of the values here: the register is
//!   refused, with file and line, when a rule names anything else ([`Period::parse`],
//!   [`RecordType::from_code`], [`Trigger::from_code`]).
//! - [`Period::ends_on`] is pure (no clock) and never ends a period early: years and months are
//!   added on the calendar, and where the month reached has no such day (29 February in a common
//!   year, the 31st of a 30-day month) the period ends on the first day of the next month.
//!   Destroying too early cannot be undone; a day late can.
//! - A moment is turned into the UK calendar date it falls on (`Europe/London`, GMT or BST as in
//!   force then) before a period is counted from it ([`Period::ends_on_from`], [`uk_date`]).
//! - A birthday trigger's date is the birthday itself, on the same rule: someone born on
//!   29 February has their 18th birthday on 1 March of a common year ([`birthday`]).
//!
//! Here: record types and triggers (`class.rs`) and periods and their ends (`period.rs`).

mod class;
mod period;

pub(crate) use class::codes_of;
pub use class::{RecordType, Trigger};
pub use period::{Period, PeriodError, birthday, uk_date};
