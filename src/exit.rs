//! Exit codes and the errors that choose them.

use std::process::ExitCode;

pub const SUCCESS: u8 = 0;
pub const FAILURE: u8 = 1;
pub const USAGE: u8 = 2;
pub const INTERRUPTED: u8 = 130;

/// A mistake in how pincer was called or what was typed: exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The user pressed Ctrl-C: exit 130.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// Maps an error chain to its exit code.
pub fn code_for(error: &anyhow::Error) -> ExitCode {
    for cause in error.chain() {
        if cause.is::<Interrupted>() {
            return ExitCode::from(INTERRUPTED);
        }
        if cause.is::<UsageError>()
            || cause.is::<crate::auth::credential::TokenError>()
            || cause.is::<crate::auth::resolve::EnvCredentialError>()
            || cause.is::<crate::http::SetupError>()
            || cause.is::<crate::term::prompt::EndOfInput>()
        {
            return ExitCode::from(USAGE);
        }
    }
    ExitCode::from(FAILURE)
}
