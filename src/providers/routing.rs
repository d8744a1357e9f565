//! Where a model's requests go and which credential they carry — decided here only, for the chat
//! and for `pincer models`.
//!
//! Base URL: the model entry's `base_url`, then the provider's variable (`ANTHROPIC_BASE_URL`,
//! `OPENAI_BASE_URL`) or, for a named provider, `[providers.NAME] base_url`, then the default;
//! validated here, before anything is sent, and kept with its origin for messages.
//! Credential: the ordered chain of [`crate::auth::resolve`] (environment, then `auth.json`); one
//! from the environment is checked against the token rules here, before any request is built.
//! The `claude-code` provider is a local program, not an address: it gets no base URL and no
//! credential — Claude Code uses its own login.

use crate::auth::resolve::{self, ANTHROPIC, OPENAI, ResolvedCredential};
use crate::auth::store::AuthFile;
use crate::config::Config;
use crate::env::{self, Env};
use crate::exit::UsageError;
use crate::providers::anthropic_stream::MessageAccumulator;
use crate::providers::base_url::{self, Origin};
use crate::providers::chat::{self, ChatError, ChatRequest, Limits, Sink};
use crate::providers::claude_code::{self, ClaudeCode};
use crate::providers::message::Message;
use crate::providers::model_id::ModelChoice;
use crate::providers::openai_stream::OpenAiAccumulator;
use crate::providers::{anthropic, openai};

pub use super::Protocol;

#[derive(Debug, Clone)]
pub struct Route {
    pub protocol: Protocol,
    pub base: String,
    pub credential: Option<ResolvedCredential>,
    /// Where `base` came from, for messages.
    pub base_origin: Origin,
}

impl Route {
    /// Whether a request could go out as is: Anthropic always needs a credential, OpenAI's own
    /// service too, while other OpenAI-compatible servers (local ones) may need none.
    pub fn credential_required(&self) -> bool {
        match self.protocol {
            Protocol::Anthropic => true,
            Protocol::OpenAi => self.base == openai::DEFAULT_BASE_URL,
            Protocol::ClaudeCode => false,
        }
    }
}

pub fn route(choice: &ModelChoice, config: &Config, env: &Env, store: &AuthFile) -> anyhow::Result<Route> {
    if choice.provider == claude_code::PROVIDER {
        // `base` is the program: no URL, and no credential of pincer's goes to it.
        let command = claude_code::install::configured_command(Some(config));
        return Ok(Route {
            protocol: Protocol::ClaudeCode,
            base: command,
            credential: None,
            base_origin: Origin::Default,
        });
    }
    let entry_base = choice.entry.as_ref().and_then(|e| e.base_url.as_deref());
    let credential = resolve::resolve(&choice.provider, env, store);
    if let Some(credential) = &credential {
        credential.check_before_sending()?;
    }
    let from_entry = |base: &str| {
        let model = choice.entry.as_ref().map(|e| e.name.clone()).unwrap_or_default();
        (base.to_string(), Origin::ModelEntry { model, file: config.path().to_path_buf() })
    };
    let from_variable =
        |value: &Option<String>, var: &'static str| value.as_ref().map(|v| (v.clone(), Origin::Variable(var)));
    let (protocol, configured) = match choice.provider.as_str() {
        ANTHROPIC => (
            Protocol::Anthropic,
            entry_base.map(from_entry).or_else(|| from_variable(&env.anthropic_base_url, env::ANTHROPIC_BASE_URL)),
        ),
        OPENAI => (
            Protocol::OpenAi,
            entry_base.map(from_entry).or_else(|| from_variable(&env.openai_base_url, env::OPENAI_BASE_URL)),
        ),
        named => {
            let declared = config.provider(named).base_url.clone().map(|base| {
                (base, Origin::ProviderEntry { provider: named.to_string(), file: config.path().to_path_buf() })
            });
            let Some(configured) = entry_base.map(from_entry).or(declared) else {
                return Err(UsageError(format!(
                    "unknown provider `{named}`\nhint: declare it in {} as [providers.{named}] with a base_url",
                    config.path().display()
                ))
                .into());
            };
            (Protocol::OpenAi, Some(configured))
        }
    };
    let (base, base_origin) = match (protocol, configured) {
        (_, Some((base, origin))) => {
            base_url::validate(&base, &origin)?;
            (base.trim_end_matches('/').to_string(), origin)
        }
        (Protocol::Anthropic, None) => (anthropic::base_url(None), Origin::Default),
        (Protocol::OpenAi, None) => (openai::base_url(None), Origin::Default),
        // Returned above: a program has no base URL.
        (Protocol::ClaudeCode, None) => (String::new(), Origin::Default),
    };
    Ok(Route { protocol, base, credential, base_origin })
}

/// A model endpoint ready to call: the route, the credential, and what every request to it
/// carries. The one place that picks a protocol's request builder and decoder.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The provider's name (`anthropic`, `openai`, a named provider), for messages.
    pub provider: String,
    pub protocol: Protocol,
    pub base: String,
    /// Where `base` came from, for hints.
    pub base_origin: Origin,
    pub credential: Option<ResolvedCredential>,
    /// Extra `anthropic-beta` flags from config.
    pub extra_betas: Vec<String>,
    /// Extra headers from `[providers.NAME.headers]`.
    pub extra_headers: Vec<(String, String)>,
    /// The Claude Code a `claude-code` endpoint runs (`None` for the others).
    pub claude_code: Option<ClaudeCode>,
}

impl Endpoint {
    /// Sends one request and streams its answer into `sink`.
    pub fn stream(
        &self,
        agent: &crate::http::Client,
        request: &ChatRequest<'_>,
        limits: Limits,
        sink: &mut dyn Sink,
    ) -> Result<Message, ChatError> {
        match self.protocol {
            Protocol::Anthropic => {
                let credential = self.credential.as_ref().ok_or(ChatError::MissingCredential)?;
                let http = anthropic::chat_request(
                    &self.base,
                    credential.method,
                    &credential.secret,
                    &self.extra_betas,
                    &self.extra_headers,
                    request,
                )?;
                chat::stream(agent, &http, MessageAccumulator::new, limits, sink)
            }
            Protocol::OpenAi => {
                let key = self.credential.as_ref().map(|c| &c.secret);
                let http = openai::chat_request(&self.base, key, &self.extra_headers, request)?;
                chat::stream(agent, &http, OpenAiAccumulator::new, limits, sink)
            }
            Protocol::ClaudeCode => {
                let program = self.claude_code.as_ref().ok_or_else(|| {
                    ChatError::ClaudeCode(claude_code::Failure::NotInstalled { command: self.base.clone() })
                })?;
                program.stream(request, limits, sink)
            }
        }
    }

    /// After Ctrl-C, how long the turn waits for the stream to stop: a local program must be
    /// stopped (group and all) before pincer goes on, while an HTTP read can be left behind.
    pub fn cancel_wait(&self) -> Option<std::time::Duration> {
        match self.protocol {
            Protocol::ClaudeCode => Some(claude_code::CANCEL_WAIT),
            Protocol::Anthropic | Protocol::OpenAi => None,
        }
    }

    /// Whether the other side keeps (and compacts) the conversation itself, so pincer sends
    /// only the new message and never summarises.
    pub fn keeps_history(&self) -> bool {
        match self.protocol {
            Protocol::ClaudeCode => true,
            Protocol::Anthropic | Protocol::OpenAi => false,
        }
    }

    /// A new conversation (`/new`): the other side's too, where it keeps one.
    pub fn start_over(&self) -> anyhow::Result<()> {
        match &self.claude_code {
            Some(program) => program.start_over(),
            None => Ok(()),
        }
    }
}
