//! Contact preferences and the messages sent by them.

pub mod message;
pub mod preferences;
mod sending;
pub(crate) use sending::package_message;
mod template;
pub mod window;

pub(crate) use preferences::SafeTimes;
pub use preferences::*;
pub use window::MessageWindow;
