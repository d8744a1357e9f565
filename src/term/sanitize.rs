//! Moved to [`crate::sanitize`]; kept while callers move.
pub use crate::sanitize::*;
