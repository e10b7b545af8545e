//! Shutting a store down.

use std::future::Future;

/// A store that holds connections to close at shutdown.
pub trait Closing {
    fn close(&self) -> impl Future<Output = ()> + Send;
}
