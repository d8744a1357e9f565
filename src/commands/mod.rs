//! One file per command. Each takes parsed arguments and the [`Context`] and returns the exit code.

pub mod agent;
pub mod auth_login;
pub mod auth_logout;
pub mod auth_status;
pub mod mcp;
pub mod models;

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
    pub fn anthropic_base_url(&self) -> String {
        crate::providers::anthropic::base_url(self.env.anthropic_base_url.as_deref())
    }

    pub fn agent(&self) -> ureq::Agent {
        crate::http::agent(self.timeouts)
    }
}
