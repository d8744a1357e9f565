//! Moved to [`crate::secret`]; kept while callers move.
pub use crate::secret::*;
