//! One file per command. Each takes parsed arguments and the [`Context`] and returns the exit code.

pub mod agent;
pub mod auth_login;
pub mod auth_logout;
pub mod auth_mcp;
pub mod auth_status;
pub mod mcp;
pub mod models;
pub mod skills;
pub mod tools;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Config;

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

/// The folder tools work in: `dir`, else the current folder, absolute and with symlinks resolved.
pub fn workspace(dir: Option<&std::path::Path>) -> anyhow::Result<PathBuf> {
    let given = match dir {
        Some(d) => d.to_path_buf(),
        None => std::env::current_dir().map_err(|e| anyhow::anyhow!("cannot tell the current folder: {e}"))?,
    };
    match std::fs::canonicalize(&given) {
        Ok(path) if path.is_dir() => Ok(path),
        Ok(_) => Err(crate::exit::UsageError(format!(
            "the workspace {} is not a folder\nhint: pass --workspace DIR with a folder",
            given.display()
        ))
        .into()),
        Err(e) => Err(crate::exit::UsageError(format!(
            "the workspace {} cannot be used: {e}\nhint: pass --workspace DIR with an existing folder",
            given.display()
        ))
        .into()),
    }
}

/// `$PINCER_HOME`, absolute and with symlinks resolved (created if it does not exist yet), as
/// the hard limits of every tool compare against it.
pub fn canonical_home(ctx: &Context) -> anyhow::Result<PathBuf> {
    crate::fsutil::ensure_private_dir(&ctx.home)?;
    std::fs::canonicalize(&ctx.home).map_err(|e| anyhow::anyhow!("cannot resolve {}: {e}", ctx.home.display()))
}

/// The built-in tools, in their stable order (it is part of the prompt cache key), and the
/// sandbox state the `bash` tool found.
pub fn builtin_tools(
    ctx: &Context,
    config: &crate::config::Config,
) -> (crate::tools::Registry, crate::tools::sandbox::SandboxState) {
    use crate::tools::{Registry, memory, web};
    let mut registry = Registry::new();
    let (bash, sandbox) = bash_tool(ctx, config);
    for tool in crate::tools::files::tools() {
        registry.add(tool);
    }
    for tool in crate::tools::search::tools() {
        registry.add(tool);
    }
    if let Some(bash) = bash {
        registry.add(bash);
    }
    registry.add(Box::new(web::WebFetch::new(web::WebSettings {
        allow_private: config.tools().web_fetch.allow_private,
        env: ctx.env.clone(),
    })));
    registry.add(Box::new(memory::Memory));
    (registry, sandbox)
}

/// The `bash` tool as `[tools.bash]` sets it up, and the sandbox state it found.
#[cfg(unix)]
fn bash_tool(
    ctx: &Context,
    config: &crate::config::Config,
) -> (Option<Box<dyn crate::tools::Tool>>, crate::tools::sandbox::SandboxState) {
    use crate::tools::shell;
    let vars = crate::env::vars_for_commands();
    let mut bash_settings = shell::BashSettings::defaults(ctx.env.home.as_deref(), &vars);
    let configured = &config.tools().bash;
    bash_settings.sandbox = configured.sandbox;
    bash_settings.network = configured.network;
    bash_settings.default_timeout = configured.timeout;
    bash_settings.writable.extend(configured.writable.iter().map(|w| expand_home(w, ctx.env.home.as_deref())));
    let bash = shell::BashTool::new(bash_settings, vars);
    let sandbox = bash.sandbox().clone();
    (Some(Box::new(bash)), sandbox)
}

/// Windows has no `/bin/sh` (and no sandbox for one): no `bash` tool, and the sandbox state
/// says so (`pincer tools`, the session's warning).
#[cfg(windows)]
fn bash_tool(
    _ctx: &Context,
    config: &crate::config::Config,
) -> (Option<Box<dyn crate::tools::Tool>>, crate::tools::sandbox::SandboxState) {
    let configured = &config.tools().bash;
    (None, crate::tools::sandbox::SandboxState::probe(configured.sandbox, configured.network))
}

/// The MCP servers of config.toml; they start in the background and join before the first turn.
pub fn agent_mcp_manager(ctx: &Context, config: &Config, workspace: &Path) -> crate::mcp::McpManager {
    let elicitor: Arc<dyn crate::mcp::elicit::Elicitor> = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        Arc::new(crate::term::elicit::TerminalElicitor)
    } else {
        Arc::new(crate::mcp::Decline)
    };
    let options = crate::mcp::ConnectOptions {
        workspace: workspace.to_path_buf(),
        elicitor,
        connect_timeout: ctx.timeouts.connect,
        auth: Some(auth_mcp::auth_lookup(ctx)),
        env: ctx.env.clone(),
    };
    crate::mcp::McpManager::new(crate::mcp::config::servers(config), options)
}

/// `~/x` as the person's home folder joined with `x`; other paths as written.
#[cfg(unix)]
fn expand_home(path: &str, user_home: Option<&std::path::Path>) -> PathBuf {
    match (path.strip_prefix("~/"), user_home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}

/// Maps an error chain to its exit code.
pub fn exit_code(error: &anyhow::Error) -> std::process::ExitCode {
    for cause in error.chain() {
        if cause.is::<crate::exit::Interrupted>() {
            return std::process::ExitCode::from(crate::exit::INTERRUPTED);
        }
        if cause.is::<crate::exit::UsageError>()
            || cause.is::<crate::auth::credential::TokenError>()
            || cause.is::<crate::auth::resolve::EnvCredentialError>()
            || cause.is::<crate::http::SetupError>()
            || cause.is::<crate::term::prompt::EndOfInput>()
        {
            return std::process::ExitCode::from(crate::exit::USAGE);
        }
    }
    std::process::ExitCode::from(crate::exit::FAILURE)
}
