//! A failed model call as the message a person needs: what happened, with whom, and what to do.

use jiff::Timestamp;

use crate::exit::Interrupted;
use crate::providers::chat::ChatError;
use crate::providers::routing::{Endpoint, Protocol};
use crate::providers::{base_url, retry};
use crate::term::output::OutputError;

/// Turns a chat failure into an error whose last line is the hint.
pub fn explain(endpoint: &Endpoint, error: ChatError) -> anyhow::Error {
    let anthropic = endpoint.protocol == Protocol::Anthropic;
    let who = if anthropic { "Anthropic".to_string() } else { format!("the {} server", endpoint.provider) };
    match error {
        ChatError::Cancelled => Interrupted.into(),
        // The reader of stdout went away (`| head`): the answer stops there and is not stored.
        ChatError::Output(e) => OutputError::from(e).into(),
        ChatError::Api { error, headers, retries } => {
            let header =
                |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
            let after = retries_note(retries);
            if error.status == 429 && retry::window_exhausted(&header) {
                let reset = header("anthropic-ratelimit-unified-reset")
                    .and_then(|v| v.parse::<i64>().ok())
                    .and_then(|s| Timestamp::from_second(s).ok())
                    .map(|t| {
                        format!(
                            "; it resets {}",
                            crate::usage::render::when(t, Timestamp::now(), &jiff::tz::TimeZone::system())
                        )
                    })
                    .unwrap_or_default();
                let window = header("anthropic-ratelimit-unified-representative-claim")
                    .map_or_else(|| "subscription".to_string(), crate::usage::claim_label);
                return anyhow::anyhow!(
                    "the {window} usage limit is reached{reset}\nhint: `pincer auth status` shows every window"
                );
            }
            match error.status {
                401 => anyhow::anyhow!(
                    "{who} rejected the credential ({}){after}\nhint: log in again with `pincer auth login --provider {}`",
                    error.summary(),
                    endpoint.provider
                ),
                // Refusals of the token's kind arrive as ChatError::Refused; any other status is itself.
                404 => match base_url::not_found_hint(endpoint.protocol, &endpoint.base, &endpoint.base_origin) {
                    Some(hint) => anyhow::anyhow!("{who} answered {}{after}\nhint: {hint}", error.summary()),
                    None => anyhow::anyhow!("{who} answered {}{after}", error.summary()),
                },
                _ => anyhow::anyhow!("{who} answered {}{after}", error.summary()),
            }
        }
        ChatError::Network { reason, hint, retries } => {
            let hint = hint.unwrap_or_else(|| format!("check your network, or {}", endpoint.base_origin.describe()));
            anyhow::anyhow!("cannot reach {who} at {}: {reason}{}\nhint: {hint}", endpoint.base, retries_note(retries))
        }
        other => anyhow::Error::new(other),
    }
}

fn retries_note(retries: u32) -> String {
    match retries {
        0 => String::new(),
        1 => " (after 1 retry)".into(),
        n => format!(" (after {n} retries)"),
    }
}
