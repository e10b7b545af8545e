//! The person's rights (issue 18): requests to be informed, of access, rectification, erasure,
//! restriction, objection, portability and about automated decisions, each on its legal clock.
//!
//! Built so far: the clock ([`clock`]) on the UK's bank holidays ([`calendar`]), which the command
//! line's `confidant rights due` prints so anyone can check it; and the requests themselves
//! ([`request`]): logged, moved on step by step, each with its due date and its task; a complaint
//! about the use of the person's data is one kind, acknowledged within 30 days, then answered.
//! An access request's copy is searched, reviewed, checked and released ([`bundle`]); a request
//! for erasure is weighed and, approved, destroys the record ([`erasure`]); each step the person
//! must be told of has its letter ([`letter`]).

mod bundle;
pub mod calendar;
pub mod clock;
mod erasure;
mod gather;
mod letter;
pub mod redaction;
mod request;
mod review;
pub mod supplementary;

pub use bundle::{BUNDLE_SCHEMA, BundleItem, BundleView, DecisionInput};
pub use calendar::{BankHolidays, CalendarError, Division};
pub use clock::{
    Due, DueBy, DueRule, complaint_acknowledgement_due, due, may_extend_on, months_after,
};
pub use erasure::{
    ErasureDecision, ErasureExemption, ErasureFacts, ErasureGround, ErasureInput, ErasureOutcome,
    ErasurePreview, NO_GROUND, assess as assess_erasure, erasure_rows, outcome_of, refusal_text,
};
pub use gather::ManifestLine;
pub use letter::{ICO_ROUTE, Letter, letter, reference};
pub use request::{RefusalGround, RequestInput, RequestView, StepInput};
pub use review::ReleasedCopy;
