//! How a Claude Code turn can fail, each with what to do. Apart from the runner, so the neutral
//! chat errors can carry it without depending on the runner.

/// How to get Claude Code.
pub const INSTALL_HINT: &str =
    "install it with `npm install -g @anthropic-ai/claude-code`, then run `claude` once to log in";

/// A Claude Code failure, with what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error(
        "Claude Code is not installed: `{command}` was not found\nhint: {INSTALL_HINT}; or set `command` in [providers.claude-code] of config.toml to where it is"
    )]
    NotInstalled { command: String },
    #[error(
        "cannot start Claude Code ({program}): {reason}\nhint: check `command` in [providers.claude-code] of config.toml"
    )]
    CannotStart { program: String, reason: String },
    #[error(
        "Claude Code could not authenticate: {message}\nhint: run `claude` and log in (/login); Claude Code uses its own login, and pincer never passes it pincer's credentials"
    )]
    NotLoggedIn { message: String },
    #[error("Claude Code's request failed: {message}\nhint: {hint}")]
    Api { status: Option<u16>, message: String, hint: &'static str },
    #[error("Claude Code stopped: {reason}\nhint: {hint}")]
    Stopped { reason: String, hint: &'static str },
    #[error("Claude Code exited ({status}) without finishing the answer{detail}\nhint: {hint}")]
    Exited { status: String, detail: String, hint: String },
    /// Claude Code does not know the session pincer asked it to resume.
    #[error("Claude Code has no conversation {id}\nhint: run again to start a new one")]
    SessionGone { id: String },
}
