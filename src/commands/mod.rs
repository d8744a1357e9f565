//! One file per command. Each takes parsed arguments and the [`Context`] and returns the exit code.

pub mod agent;
pub mod auth_login;
pub mod auth_logout;
pub mod auth_mcp;
pub mod auth_status;
pub mod mcp;
pub mod models;
pub mod skills;

use std::path::PathBuf;

use crate::env::Env;
use crate::http::Timeouts;

/// What every command needs: the environment snapshot and where pincer's files live.
pub struct Context {
    pub env: Env,
    pub home: PathBuf,
    pub timeouts: Timeouts,
}

impl Context {
    /// The Anthropic base URL of `auth` calls: `ANTHROPIC_BASE_URL` (validated) or the default.
    pub fn anthropic_base_url(&self) -> Result<String, crate::exit::UsageError> {
        use crate::providers::base_url::{Origin, validate};
        if let Some(url) = &self.env.anthropic_base_url {
            validate(url, &Origin::Variable(crate::env::ANTHROPIC_BASE_URL))?;
        }
        Ok(crate::providers::anthropic::base_url(self.env.anthropic_base_url.as_deref()))
    }

    /// The HTTP client for requests to `base`: its proxy, trusted CAs and timeouts.
    pub fn client(&self, base: &str) -> Result<crate::http::Client, crate::http::SetupError> {
        crate::http::client(&self.env, self.timeouts, base)
    }
}
