//! Starting servers and offering their tools: what the agent holds.
//!
//! [`McpManager::start`] connects every enabled server at once (one thread each), each within
//! its `startup_timeout`; a server that fails is one warning line and the others go on.
//! [`McpManager::tools`] gives every started server's tools as [`Tool`]s, listing a server
//! again when it announced `notifications/tools/list_changed`. Dropping the manager ends every
//! connection (the processes are killed, HTTP sessions deleted).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::client::{CallOptions, Client, Inbox, McpError, ServerRequests, Transport, lock};
use super::config::{BadEntry, ServerConfig, TransportConfig};
use super::elicit::Elicitor;
use super::http::{AuthProvider, HttpSpec, HttpTransport};
use super::stdio::{StdioSpec, StdioTransport};
use super::tool::McpTool;
use crate::tools::Tool;

/// How long a server may stay silent on the `server/discover` probe before it counts as a
/// legacy server that ignores unknown methods (most answer with an error at once). The handshake
/// gives the probe half of `startup_timeout` at most; a process start under load counts too.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);
/// Read timeout of HTTP streams: a tool may work for minutes between two events. Each request
/// still ends at its own deadline.
const STREAM_READ_TIMEOUT: Duration = Duration::from_secs(600);

/// Gives the `Authorization` provider for a server by name and URL (SPEC §11 plugs in here).
pub type AuthLookup = dyn Fn(&str, &str) -> Option<Arc<dyn AuthProvider>> + Send + Sync;

/// What every connection shares.
#[derive(Clone)]
pub struct ConnectOptions {
    /// Offered to servers as the one root, and the working folder of stdio servers without `cwd`.
    pub workspace: PathBuf,
    pub elicitor: Arc<dyn Elicitor>,
    pub connect_timeout: Duration,
    pub auth: Option<Arc<AuthLookup>>,
    /// The environment, for the HTTP client's proxies and CAs.
    pub env: crate::env::Env,
}

/// Connects to one server: starts it (or reaches it), agrees on a revision, within
/// `startup_timeout`.
pub fn connect(server: &ServerConfig, opts: &ConnectOptions) -> Result<Client, McpError> {
    let deadline = Instant::now() + server.startup_timeout;
    let inbox = Inbox::new(
        &server.name,
        ServerRequests { elicitor: Arc::clone(&opts.elicitor), roots: vec![opts.workspace.clone()] },
    );
    let (transport, http): (Arc<dyn Transport>, bool) = match &server.transport {
        TransportConfig::Stdio { command, args, env, cwd } => {
            let spec = StdioSpec {
                command: command.clone(),
                args: args.clone(),
                env: env.clone(),
                cwd: cwd.clone().or_else(|| Some(opts.workspace.clone())),
            };
            (Arc::new(StdioTransport::spawn(&spec, Arc::clone(&inbox)).map_err(McpError::Transport)?), false)
        }
        TransportConfig::Http { url, headers } => {
            let timeouts = crate::http::Timeouts { connect: opts.connect_timeout, read: STREAM_READ_TIMEOUT };
            let agent =
                crate::http::client(&opts.env, timeouts, url).map_err(|e| McpError::Transport(format!("{e:#}")))?;
            let auth = opts.auth.as_ref().and_then(|lookup| lookup(&server.name, url));
            let spec = HttpSpec { url: url.clone(), headers: headers.clone(), auth };
            (Arc::new(HttpTransport::new(spec, agent, Arc::clone(&inbox))), true)
        }
    };
    let client = Client::with_kind(inbox, transport, http);
    client.handshake(deadline, PROBE_TIMEOUT)?;
    Ok(client)
}

/// One server's state, for `pincer mcp list` and the agent's notices.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerStatus {
    pub name: String,
    pub transport: &'static str,
    /// `ok`, `failed`, or `disabled` (`enabled = false`).
    pub state: &'static str,
    pub reason: Option<String>,
    pub protocol_version: Option<String>,
    pub tools: usize,
    pub started_in: Option<Duration>,
}

enum State {
    NotStarted,
    Disabled,
    Ready { client: Arc<Client>, tools: Vec<Value>, took: Duration },
    Failed(String),
}

struct Slot {
    name: String,
    transport: &'static str,
    config: Option<ServerConfig>,
    state: Mutex<State>,
}

pub struct McpManager {
    slots: Vec<Slot>,
    options: ConnectOptions,
}

impl McpManager {
    pub fn new(entries: Vec<Result<ServerConfig, BadEntry>>, options: ConnectOptions) -> McpManager {
        let slots = entries
            .into_iter()
            .map(|entry| match entry {
                Ok(config) => Slot {
                    name: config.name.clone(),
                    transport: config.transport.kind(),
                    state: Mutex::new(if config.enabled { State::NotStarted } else { State::Disabled }),
                    config: Some(config),
                },
                Err(bad) => Slot {
                    name: bad.name,
                    transport: bad.transport,
                    config: None,
                    state: Mutex::new(State::Failed(bad.reason)),
                },
            })
            .collect();
        McpManager { slots, options }
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn names(&self) -> Vec<&str> {
        self.slots.iter().map(|s| s.name.as_str()).collect()
    }

    /// Keeps only the server named `name` (for commands about one server).
    pub fn only(mut self, name: &str) -> McpManager {
        self.slots.retain(|s| s.name == name);
        self
    }

    /// Starts every enabled server not started yet, all at once; returns one line per server
    /// that failed (`mcp server NAME: why`), for the caller to show as warnings.
    pub fn start(&self) -> Vec<String> {
        std::thread::scope(|scope| {
            for slot in &self.slots {
                let Some(config) = &slot.config else { continue };
                if !matches!(*lock(&slot.state), State::NotStarted) {
                    continue;
                }
                scope.spawn(move || {
                    let began = Instant::now();
                    let state = match start_one(config, &self.options) {
                        Ok((client, tools)) => State::Ready { client, tools, took: began.elapsed() },
                        Err(e) => State::Failed(e.to_string()),
                    };
                    *lock(&slot.state) = state;
                });
            }
        });
        self.slots
            .iter()
            .filter_map(|s| match &*lock(&s.state) {
                State::Failed(why) => Some(format!("mcp server {}: {why}", s.name)),
                _ => None,
            })
            .collect()
    }

    /// Every started server's tools, in configuration order then the server's order. A server
    /// that announced a changed list is listed again first.
    pub fn tools(&self) -> Vec<Box<dyn Tool>> {
        let mut out: Vec<Box<dyn Tool>> = Vec::new();
        for slot in &self.slots {
            let Some(config) = &slot.config else { continue };
            let mut state = lock(&slot.state);
            let State::Ready { client, tools, .. } = &mut *state else { continue };
            if client.tools_changed() {
                match client.list_tools(&CallOptions::timeout(config.startup_timeout)) {
                    Ok(fresh) => *tools = fresh,
                    Err(e) => tracing::warn!(server = %slot.name, "could not list the changed tools: {e}"),
                }
            }
            for listing in tools.iter() {
                let Some(tool) = McpTool::from_listing(client, listing, config.tool_timeout) else { continue };
                if out.iter().any(|t| t.name() == tool.name()) {
                    tracing::warn!(server = %slot.name, "two tools are both named {} once cleaned; the second is left out", tool.name());
                    continue;
                }
                out.push(Box::new(tool));
            }
        }
        out
    }

    /// True when a started server announced a changed tool list since [`McpManager::tools`].
    pub fn tools_changed(&self) -> bool {
        self.slots.iter().any(|s| {
            matches!(&*lock(&s.state), State::Ready { client, .. } if {
                let changed = client.tools_changed();
                if changed {
                    // Put the flag back for `tools` to act on.
                    client.inbox.mark_tools_changed();
                }
                changed
            })
        })
    }

    pub fn client(&self, name: &str) -> Option<Arc<Client>> {
        self.slots.iter().find(|s| s.name == name).and_then(|s| match &*lock(&s.state) {
            State::Ready { client, .. } => Some(Arc::clone(client)),
            _ => None,
        })
    }

    /// The tools as the server listed them (names unchanged), for `pincer mcp tools`.
    pub fn listings(&self, name: &str) -> Option<Vec<Value>> {
        self.slots.iter().find(|s| s.name == name).and_then(|s| match &*lock(&s.state) {
            State::Ready { tools, .. } => Some(tools.clone()),
            _ => None,
        })
    }

    pub fn statuses(&self) -> Vec<ServerStatus> {
        self.slots
            .iter()
            .map(|s| {
                let base = ServerStatus {
                    name: s.name.clone(),
                    transport: s.transport,
                    state: "failed",
                    reason: None,
                    protocol_version: None,
                    tools: 0,
                    started_in: None,
                };
                match &*lock(&s.state) {
                    State::Ready { client, tools, took } => match client.closed_reason() {
                        Some(why) => {
                            ServerStatus { reason: Some(why), protocol_version: Some(client.revision()), ..base }
                        }
                        None => ServerStatus {
                            state: "ok",
                            protocol_version: Some(client.revision()),
                            tools: tools.len(),
                            started_in: Some(*took),
                            ..base
                        },
                    },
                    State::Failed(why) => ServerStatus { reason: Some(why.clone()), ..base },
                    State::Disabled => {
                        ServerStatus { state: "disabled", reason: Some("enabled = false".into()), ..base }
                    }
                    State::NotStarted => ServerStatus { reason: Some("not started".into()), ..base },
                }
            })
            .collect()
    }
}

impl Drop for McpManager {
    /// Ends every connection at once: each may take a grace period to exit.
    fn drop(&mut self) {
        let clients: Vec<Arc<Client>> = self
            .slots
            .iter()
            .filter_map(|s| match std::mem::replace(&mut *lock(&s.state), State::NotStarted) {
                State::Ready { client, .. } => Some(client),
                _ => None,
            })
            .collect();
        std::thread::scope(|scope| {
            for client in clients {
                scope.spawn(move || drop(client));
            }
        });
    }
}

fn start_one(config: &ServerConfig, options: &ConnectOptions) -> Result<(Arc<Client>, Vec<Value>), McpError> {
    let began = Instant::now();
    let client = Arc::new(connect(config, options)?);
    let left = config.startup_timeout.saturating_sub(began.elapsed());
    let tools = client.list_tools(&CallOptions::timeout(left))?;
    client.listen_for_changes();
    Ok((client, tools))
}
