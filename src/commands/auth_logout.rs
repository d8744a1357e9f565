//! `pincer auth logout`: remove stored credentials.

use std::process::ExitCode;

use super::Context;
use crate::auth::store::Store;
use crate::term::style::{note, warn};

pub fn run(ctx: &Context, provider: Option<&str>) -> anyhow::Result<ExitCode> {
    let store = Store::in_home(&ctx.home);
    if !store.path().exists() {
        note("No stored credentials.");
        return Ok(ExitCode::SUCCESS);
    }
    let (mut file, guard) = store.lock()?;
    // MCP sign-ins go too when everything goes; their servers are told after the save.
    let mcp_sign_ins = if provider.is_none() { crate::mcp::oauth::entry::all(&file) } else { Vec::new() };
    let removed: Vec<String> = match provider.map(|p| p.trim().to_ascii_lowercase()) {
        Some(p) => file.credentials.remove(&p).map(|_| vec![p]).unwrap_or_default(),
        None => std::mem::take(&mut file.credentials).into_keys().collect(),
    };
    if removed.is_empty() {
        note(&match provider {
            Some(p) => format!("No stored credential for {p}."),
            None => "No stored credentials.".to_string(),
        });
        return Ok(ExitCode::SUCCESS);
    }
    store.save(&file, &guard)?;
    drop(guard);
    for p in &removed {
        note(&format!("Removed the stored {p} credential from {}", store.path().display()));
    }
    for (name, sign_in) in &mcp_sign_ins {
        super::auth_mcp::revoke(ctx, name, sign_in);
    }
    let env_still_set = [
        ("anthropic", crate::env::ANTHROPIC_API_KEY, ctx.env.anthropic_api_key.is_some()),
        ("anthropic", crate::env::CLAUDE_CODE_OAUTH_TOKEN, ctx.env.claude_code_oauth_token.is_some()),
        ("openai", crate::env::OPENAI_API_KEY, ctx.env.openai_api_key.is_some()),
    ];
    for (p, var, set) in env_still_set {
        if set && removed.iter().any(|r| r == p) {
            warn(&format!("{var} is still set in the environment, so {p} still has a credential"));
        }
    }
    Ok(ExitCode::SUCCESS)
}
