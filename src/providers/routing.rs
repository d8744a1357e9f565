//! Where a model's requests go and which credential they carry — decided here only, for the chat
//! and for `pincer models`.
//!
//! Base URL: the model entry's `base_url`, then the provider's variable (`ANTHROPIC_BASE_URL`,
//! `OPENAI_BASE_URL`) or, for a named provider, `[providers.NAME] base_url`, then the default.
//! Credential: the ordered chain of [`crate::auth::resolve`] (environment, then `auth.json`).

use crate::auth::resolve::{self, ANTHROPIC, OPENAI, ResolvedCredential};
use crate::auth::store::AuthFile;
use crate::config::Config;
use crate::env::Env;
use crate::exit::UsageError;
use crate::providers::model_id::ModelChoice;
use crate::providers::{anthropic, openai};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Anthropic,
    /// OpenAI's `chat/completions`, spoken by most other servers.
    OpenAi,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub protocol: Protocol,
    pub base: String,
    pub credential: Option<ResolvedCredential>,
}

impl Route {
    /// Whether a request could go out as is: Anthropic always needs a credential, OpenAI's own
    /// service too, while other OpenAI-compatible servers (local ones) may need none.
    pub fn credential_required(&self) -> bool {
        match self.protocol {
            Protocol::Anthropic => true,
            Protocol::OpenAi => self.base == openai::DEFAULT_BASE_URL,
        }
    }
}

pub fn route(choice: &ModelChoice, config: &Config, env: &Env, store: &AuthFile) -> anyhow::Result<Route> {
    let entry_base = choice.entry.as_ref().and_then(|e| e.base_url.as_deref());
    let credential = resolve::resolve(&choice.provider, env, store);
    let (protocol, base) = match choice.provider.as_str() {
        ANTHROPIC => (Protocol::Anthropic, anthropic::base_url(entry_base.or(env.anthropic_base_url.as_deref()))),
        OPENAI => (Protocol::OpenAi, openai::base_url(entry_base.or(env.openai_base_url.as_deref()))),
        named => {
            let declared = config.provider(named).base_url.clone();
            let Some(base) = entry_base.map(str::to_string).or(declared) else {
                return Err(UsageError(format!(
                    "unknown provider `{named}`\nhint: declare it in {} as [providers.{named}] with a base_url",
                    config.path().display()
                ))
                .into());
            };
            (Protocol::OpenAi, base.trim_end_matches('/').to_string())
        }
    };
    Ok(Route { protocol, base, credential })
}
