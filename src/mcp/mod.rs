//! The MCP client: servers configured under `[mcp.NAME]` lend the agent their tools (SPEC §10).
//!
//! A small client on threads and `ureq` (no async runtime): [`jsonrpc`] frames messages,
//! [`protocol`] knows the two eras (the stateless 2026-07-28 revision, and the `initialize`
//! revisions 2025-11-25, 2025-06-18 and 2025-03-26), [`stdio`] and [`http`] move messages,
//! [`client`] matches answers to requests and answers the server's own questions,
//! [`manager`] starts servers in parallel and offers their tools as [`tool::McpTool`]s, whose
//! results [`content`] maps. [`elicit`] is how a server's questions reach a person. [`oauth`]
//! signs in to remote servers (SPEC §11) and supplies their `Authorization` header.

pub mod client;
pub mod config;
pub mod content;
pub mod elicit;
pub mod http;
pub mod jsonrpc;
pub mod manager;
pub mod oauth;
pub mod protocol;
pub mod stdio;
pub mod tool;

pub use client::{CallOptions, Client, McpError};
pub use elicit::{AcceptDefaults, Decline, ElicitOutcome, ElicitRequest, Elicitor};
pub use manager::{ConnectOptions, McpManager, ServerStatus};
