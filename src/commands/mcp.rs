//! `pincer mcp add | list | tools | call | remove` (SPEC §10).
//!
//! `add` and `remove` edit `config.toml` (comments kept). `list`, `tools` and `call` start the
//! servers they need (in parallel for `list`) and end them before returning.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use serde::Serialize;
use serde_json::Value;

use super::Context;
use crate::cancel::CancelToken;
use crate::cli::{McpAddArgs, McpCommand};
use crate::config::Config;
use crate::exit::{Interrupted, UsageError};
use crate::mcp::config::{self as mcp_config, TransportConfig};
use crate::mcp::{AcceptDefaults, CallOptions, ConnectOptions, Decline, Elicitor, McpError, McpManager};
use crate::sanitize::sanitize;
use crate::tools::OutputPart;

/// Version of the `--json` shapes; bumped only on incompatible changes.
pub const JSON_VERSION: u32 = 1;
/// How often `mcp call` looks for Ctrl-C.
const INTERRUPT_POLL: std::time::Duration = std::time::Duration::from_millis(20);

pub fn run(ctx: &Context, command: &McpCommand) -> anyhow::Result<ExitCode> {
    match command {
        McpCommand::Add(args) => add(ctx, args),
        McpCommand::List { json } => list(ctx, *json),
        McpCommand::Tools { name, json } => tools(ctx, name, *json),
        McpCommand::Call { name, tool, args, accept_defaults } => {
            call(ctx, name, tool, args.as_deref(), *accept_defaults)
        }
        McpCommand::Remove { name } => remove(ctx, name),
    }
}

fn add(ctx: &Context, args: &McpAddArgs) -> anyhow::Result<ExitCode> {
    mcp_config::validate_name(&args.name)
        .map_err(|e| UsageError(format!("{e}\nhint: e.g. pincer mcp add files -- COMMAND")))?;
    let transport = match (&args.url, args.command.split_first()) {
        (Some(url), _) => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(UsageError(format!(
                    "--url {url:?} is not an http(s) URL\nhint: e.g. --url https://example.com/mcp"
                ))
                .into());
            }
            let headers =
                args.headers.iter().map(|h| split_pair(h, ':', "--header", "K:V")).collect::<Result<Vec<_>, _>>()?;
            if let Some((k, _)) = headers.iter().find(|(k, _)| mcp_config::is_auth_header(k)) {
                return Err(UsageError(format!(
                    "--header {k}: secrets do not belong in config.toml\nhint: servers that need sign-in use OAuth (pincer auth login --mcp NAME)"
                ))
                .into());
            }
            TransportConfig::Http { url: url.clone(), headers }
        }
        (None, Some((command, rest))) => {
            let env = args.env.iter().map(|e| split_pair(e, '=', "--env", "K=V")).collect::<Result<Vec<_>, _>>()?;
            let cwd = match &args.cwd {
                Some(dir) => Some(
                    dir.canonicalize()
                        .with_context(|| format!("--cwd {}", dir.display()))
                        .map_err(|e| UsageError(format!("{e:#}\nhint: give an existing folder")))?,
                ),
                None => None,
            };
            TransportConfig::Stdio { command: command.clone(), args: rest.to_vec(), env, cwd }
        }
        (None, None) => {
            return Err(UsageError(
                "give the server's command after --, or --url for an HTTP server\nhint: pincer mcp add files -- npx -y @modelcontextprotocol/server-filesystem ~/notes".into(),
            )
            .into());
        }
    };
    let name = args.name.clone();
    Config::update(&ctx.home, |config| mcp_config::add(config, &name, &transport))?
        .map_err(|e| anyhow::anyhow!("{e}\nhint: pincer mcp remove {name} first to replace it"))?;
    let what = match &transport {
        TransportConfig::Stdio { command, args, .. } => format!("stdio: {}", shell_words(command, args)),
        TransportConfig::Http { url, .. } => format!("http: {url}"),
    };
    crate::term::style::note(&format!("Added MCP server {name} ({what}) to {}", Config::path_in(&ctx.home).display()));
    crate::term::style::note(&format!("Next: pincer mcp tools {name}"));
    Ok(ExitCode::SUCCESS)
}

fn split_pair(text: &str, sep: char, flag: &str, shape: &str) -> Result<(String, String), UsageError> {
    match text.split_once(sep) {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim_start().to_string())),
        _ => Err(UsageError(format!(
            "{flag} {text:?} is not {shape}\nhint: e.g. {flag} {}",
            if sep == '=' { "KEY=value" } else { "x-team:blue" }
        ))),
    }
}

fn shell_words(command: &str, args: &[String]) -> String {
    std::iter::once(command).chain(args.iter().map(String::as_str)).collect::<Vec<_>>().join(" ")
}

fn remove(ctx: &Context, name: &str) -> anyhow::Result<ExitCode> {
    let removed = Config::update(&ctx.home, |config| mcp_config::remove(config, name))?;
    if !removed {
        let config = Config::load(&ctx.home)?;
        let names: Vec<String> =
            mcp_config::servers(&config).into_iter().map(|s| s.map(|c| c.name).unwrap_or_else(|b| b.name)).collect();
        anyhow::bail!(
            "no MCP server named {name:?} in config.toml\nhint: configured: {}",
            if names.is_empty() { "none".into() } else { names.join(", ") }
        );
    }
    crate::term::style::note(&format!("Removed MCP server {name} from {}", Config::path_in(&ctx.home).display()));
    Ok(ExitCode::SUCCESS)
}

fn manager(ctx: &Context, elicitor: Arc<dyn Elicitor>) -> anyhow::Result<McpManager> {
    let config = Config::load(&ctx.home)?;
    let workspace = std::env::current_dir().context("cannot read the current folder")?;
    let auth = Some(super::auth_mcp::auth_lookup(ctx));
    let options =
        ConnectOptions { workspace, elicitor, connect_timeout: ctx.timeouts.connect, auth, env: ctx.env.clone() };
    Ok(McpManager::new(mcp_config::servers(&config), options))
}

#[derive(Serialize)]
struct ListReport {
    version: u32,
    servers: Vec<ServerReport>,
}

#[derive(Serialize)]
struct ServerReport {
    name: String,
    transport: &'static str,
    state: &'static str,
    reason: Option<String>,
    protocol_version: Option<String>,
    tools: usize,
}

fn list(ctx: &Context, json: bool) -> anyhow::Result<ExitCode> {
    let manager = manager(ctx, Arc::new(Decline))?;
    manager.start();
    let servers: Vec<ServerReport> = manager
        .statuses()
        .into_iter()
        .map(|s| ServerReport {
            name: s.name,
            transport: s.transport,
            state: s.state,
            reason: s.reason,
            protocol_version: s.protocol_version,
            tools: s.tools,
        })
        .collect();
    let mut out = crate::term::output::data();
    if json {
        serde_json::to_writer_pretty(&mut out, &ListReport { version: JSON_VERSION, servers })?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if servers.is_empty() {
        writeln!(out, "No MCP servers configured.")?;
        writeln!(out, "hint: pincer mcp add NAME -- COMMAND [ARGS...]   or   pincer mcp add NAME --url URL")?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![["NAME".to_string(), "TRANSPORT".into(), "STATE".into(), "REVISION".into(), "TOOLS".into()]];
    for s in &servers {
        let ok = s.state == "ok";
        rows.push([
            s.name.clone(),
            s.transport.to_string(),
            s.state.to_string(),
            s.protocol_version.clone().filter(|_| ok).unwrap_or_else(|| "-".into()),
            if ok { s.tools.to_string() } else { "-".into() },
        ]);
    }
    let widths: Vec<usize> = (0..5).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
    for (i, r) in rows.iter().enumerate() {
        let line: Vec<String> = (0..5).map(|c| format!("{:<w$}", r[c], w = widths[c])).collect();
        let mut line = line.join("  ").trim_end().to_string();
        if i > 0
            && let Some(reason) = servers[i - 1].reason.as_deref().filter(|_| servers[i - 1].state != "ok")
        {
            line.push_str(&format!("  {}", sanitize(reason)));
        }
        writeln!(out, "{line}")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Starts the one server `name`, or says why it cannot be used.
fn start_one(ctx: &Context, name: &str, elicitor: Arc<dyn Elicitor>) -> anyhow::Result<McpManager> {
    let all = manager(ctx, elicitor)?;
    if !all.names().contains(&name) {
        let names = all.names().join(", ");
        anyhow::bail!(
            "no MCP server named {name:?} in config.toml\nhint: configured: {}",
            if names.is_empty() { "none (pincer mcp add NAME -- COMMAND)".into() } else { names }
        );
    }
    let manager = all.only(name);
    manager.start();
    let status = manager.statuses().remove(0);
    if status.state != "ok" {
        let reason = sanitize(status.reason.as_deref().unwrap_or("unknown")).into_owned();
        let hint = if status.state == "disabled" {
            format!("set enabled = true in [mcp.{name}]")
        } else if reason.contains(&format!("pincer auth login --mcp {name}")) {
            format!("sign in with `pincer auth login --mcp {name}`, then try again")
        } else {
            format!("PINCER_LOG=debug pincer mcp tools {name} shows the server's own log")
        };
        anyhow::bail!("mcp server {name}: {reason}\nhint: {hint}");
    }
    Ok(manager)
}

#[derive(Serialize)]
struct ToolsReport {
    version: u32,
    server: String,
    protocol_version: Option<String>,
    tools: Vec<ToolReport>,
}

#[derive(Serialize)]
struct ToolReport {
    name: String,
    /// The name the agent's model calls it by.
    agent_name: String,
    description: String,
    input_schema: Value,
}

fn tools(ctx: &Context, name: &str, json: bool) -> anyhow::Result<ExitCode> {
    let manager = start_one(ctx, name, Arc::new(Decline))?;
    let listings = manager.listings(name).unwrap_or_default();
    let tools: Vec<ToolReport> = listings
        .iter()
        .map(|t| {
            let tool = t.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
            ToolReport {
                agent_name: crate::mcp::tool::full_name(name, &tool),
                name: tool,
                description: t.get("description").and_then(Value::as_str).unwrap_or_default().to_string(),
                input_schema: t.get("inputSchema").cloned().unwrap_or(Value::Null),
            }
        })
        .collect();
    let revision = manager.statuses().remove(0).protocol_version;
    let mut out = crate::term::output::data();
    if json {
        serde_json::to_writer_pretty(
            &mut out,
            &ToolsReport { version: JSON_VERSION, server: name.to_string(), protocol_version: revision, tools },
        )?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if tools.is_empty() {
        writeln!(out, "{name} offers no tools.")?;
    }
    for t in &tools {
        writeln!(out, "{}  ({})", sanitize(&t.name), t.agent_name)?;
        for line in t.description.lines().filter(|l| !l.trim().is_empty()) {
            writeln!(out, "    {}", sanitize(line.trim_end()))?;
        }
        let args = argument_summary(&t.input_schema);
        if !args.is_empty() {
            writeln!(out, "    arguments: {}", sanitize(&args))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `path: string (required), depth: integer`.
fn argument_summary(schema: &Value) -> String {
    let required = crate::mcp::elicit::required(schema);
    let Some(props) = schema.get("properties").and_then(Value::as_object) else { return String::new() };
    props
        .iter()
        .map(|(k, v)| {
            let kind = v.get("type").and_then(Value::as_str).unwrap_or("any");
            if required.contains(&k.as_str()) { format!("{k}: {kind} (required)") } else { format!("{k}: {kind}") }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn call(ctx: &Context, name: &str, tool: &str, args: Option<&str>, accept_defaults: bool) -> anyhow::Result<ExitCode> {
    let arguments: Value = match args {
        None => Value::Object(Default::default()),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                return Err(
                    UsageError("--args must be a JSON object\nhint: e.g. --args '{\"path\": \".\"}'".into()).into()
                );
            }
            Err(e) => {
                return Err(UsageError(format!(
                    "--args is not valid JSON: {e}\nhint: e.g. --args '{{\"path\": \".\"}}'"
                ))
                .into());
            }
        },
    };
    // A terminal asks the person; a script declines, or takes the defaults when told to.
    let on_terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let elicitor: Arc<dyn Elicitor> = if on_terminal {
        Arc::new(crate::term::elicit::TerminalElicitor)
    } else if accept_defaults {
        Arc::new(AcceptDefaults)
    } else {
        Arc::new(Decline)
    };
    let manager = start_one(ctx, name, elicitor)?;
    let client = manager.client(name).context("the server stopped")?;
    let listings = manager.listings(name).unwrap_or_default();
    let Some(listing) = listings.iter().find(|t| t.get("name").and_then(Value::as_str) == Some(tool)) else {
        let names: Vec<&str> = listings.iter().filter_map(|t| t.get("name").and_then(Value::as_str)).collect();
        anyhow::bail!(
            "mcp server {name} has no tool {:?}\nhint: its tools: {}",
            sanitize(tool),
            if names.is_empty() { "none".to_string() } else { sanitize(&names.join(", ")).into_owned() }
        );
    };
    let timeout = crate::mcp::config::servers(&Config::load(&ctx.home)?)
        .into_iter()
        .find_map(|s| s.ok().filter(|c| c.name == name))
        .map(|c| c.tool_timeout)
        .unwrap_or(crate::mcp::config::DEFAULT_TOOL_TIMEOUT);
    let _ = listing;
    crate::term::interrupt::install();
    let cancel = CancelToken::new();
    let done = CancelToken::new();
    let watcher = {
        let (cancel, done) = (cancel.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.is_cancelled() {
                if crate::term::interrupt::interrupted() {
                    cancel.cancel();
                    return;
                }
                std::thread::sleep(INTERRUPT_POLL);
            }
        })
    };
    let progress = |text: &str| crate::term::style::note(&format!("… {}", sanitize(text)));
    let opts = CallOptions { timeout, cancel: Some(&cancel), progress: Some(&progress) };
    let result = client.call_tool(tool, &arguments, &opts);
    done.cancel();
    let _ = watcher.join();
    let result = match result {
        Ok(r) => r,
        Err(McpError::Cancelled) => return Err(Interrupted.into()),
        Err(e) => anyhow::bail!(
            "mcp server {name}: {}\nhint: PINCER_LOG=debug shows the server's own log",
            sanitize(&e.to_string())
        ),
    };
    let output = crate::mcp::content::to_output(&result);
    let mut out = crate::term::output::data();
    for part in &output.parts {
        match part {
            OutputPart::Text(text) => writeln!(out, "{}", sanitize(text))?,
            OutputPart::Image { media_type, data } => {
                crate::term::style::note(&format!(
                    "[image: {media_type}, {} of base64, not shown]",
                    crate::tools::human_bytes(data.len())
                ));
            }
        }
    }
    out.flush()?;
    if output.is_error {
        anyhow::bail!("the tool {tool} reported an error (printed above)");
    }
    Ok(ExitCode::SUCCESS)
}
