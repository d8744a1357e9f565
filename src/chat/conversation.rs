//! A conversation: one model, its tools and permissions, the history and where it is kept. It
//! runs turns through the turn engine and owns what lives across them — the session file, the
//! approvals given "for this session", the MCP servers, the files read so far.
//!
//! The front ends (`-m`, stdin, the REPL, `--json`) build one and call [`Conversation::send`];
//! none of them runs the engine directly.

use std::sync::{Arc, Mutex};

use super::compact;
use super::events::{CancelToken, TurnEvents};
use super::session::Session;
use super::turn::{ModelSettings, NoTranscript, SaveRule, Transcript, Turn, TurnReport, Workbench};
use crate::mcp::McpManager;
use crate::providers::chat::ChatError;
use crate::providers::message::ChatMessage;
use crate::tools::approve::Approver;
use crate::tools::policy::Policy;

/// Servers started in the background when the conversation opens; the first turn waits for them.
enum McpState {
    None,
    Starting(std::thread::JoinHandle<(Arc<McpManager>, Vec<String>)>),
    Ready(Arc<McpManager>),
}

pub struct Conversation {
    pub settings: ModelSettings,
    pub http: crate::http::Client,
    pub workbench: Option<Workbench>,
    pub policy: Policy,
    pub approver: Box<dyn Approver>,
    /// Saves a rule the person chose to keep.
    pub save_rule: Box<SaveRule>,
    pub history: Vec<ChatMessage>,
    pub session: Option<Session>,
    pub events: Arc<Mutex<dyn TurnEvents>>,
    /// Keep the model's text in each report (`--json` prints it at the end).
    pub collect_text: bool,
    mcp: McpState,
}

impl Transcript for Session {
    fn append(&mut self, messages: &[ChatMessage]) -> anyhow::Result<()> {
        Session::append(self, messages)
    }
}

impl Conversation {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        settings: ModelSettings,
        http: crate::http::Client,
        workbench: Option<Workbench>,
        policy: Policy,
        approver: Box<dyn Approver>,
        save_rule: Box<SaveRule>,
        session: Option<Session>,
        events: Arc<Mutex<dyn TurnEvents>>,
    ) -> anyhow::Result<Conversation> {
        let history = match &session {
            Some(s) => s.load()?,
            None => Vec::new(),
        };
        Ok(Conversation {
            settings,
            http,
            workbench,
            policy,
            approver,
            save_rule,
            history,
            session,
            events,
            collect_text: false,
            mcp: McpState::None,
        })
    }

    /// Starts the MCP servers in the background (in parallel, each within its own time limit);
    /// their tools join before the first turn.
    pub fn start_mcp(&mut self, manager: McpManager) {
        if manager.is_empty() || self.workbench.is_none() {
            return;
        }
        let manager = Arc::new(manager);
        self.mcp = McpState::Starting(std::thread::spawn(move || {
            let warnings = manager.start();
            (manager, warnings)
        }));
    }

    /// Waits for the MCP servers, warns about those that failed, and (re)lists their tools.
    fn refresh_mcp_tools(&mut self) {
        if let McpState::Starting(_) = self.mcp {
            let McpState::Starting(handle) = std::mem::replace(&mut self.mcp, McpState::None) else { return };
            match handle.join() {
                Ok((manager, warnings)) => {
                    for warning in warnings {
                        self.notice(&warning);
                    }
                    self.install_mcp_tools(&manager);
                    self.mcp = McpState::Ready(manager);
                }
                Err(_) => self.notice("the MCP servers could not be started"),
            }
            return;
        }
        if let McpState::Ready(manager) = &self.mcp
            && manager.tools_changed()
        {
            let manager = manager.clone();
            self.install_mcp_tools(&manager);
        }
    }

    fn install_mcp_tools(&mut self, manager: &McpManager) {
        let Some(workbench) = &mut self.workbench else { return };
        workbench.registry.retain(|t| t.class() != crate::tools::ToolClass::Mcp);
        for tool in manager.tools() {
            workbench.registry.add(tool);
        }
    }

    fn notice(&self, text: &str) {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).notice(text);
    }

    /// Runs the turn that `text` starts; completed steps are in the history (and the session).
    pub fn send(&mut self, user: ChatMessage, cancel: CancelToken) -> TurnReport {
        self.refresh_mcp_tools();
        let save_rule = &self.save_rule;
        let mut turn = Turn {
            settings: &self.settings,
            http: &self.http,
            workbench: self.workbench.as_ref(),
            policy: &mut self.policy,
            approver: self.approver.as_mut(),
            save_rule: save_rule.as_ref(),
            events: self.events.clone(),
            cancel,
            collect_text: self.collect_text,
        };
        let mut no_transcript = NoTranscript;
        let transcript: &mut dyn Transcript = match &mut self.session {
            Some(session) => session,
            None => &mut no_transcript,
        };
        turn.run(&mut self.history, user, transcript)
    }

    /// Whether the last turn brought the conversation near the model's context window.
    pub fn near_context_limit(&self, report: &TurnReport) -> bool {
        let Some(window) = self.settings.context_window else { return false };
        let last = report.last.as_ref().map(|m| m.usage).unwrap_or_default();
        let used = last.input_tokens.unwrap_or(0)
            + last.cache_read_input_tokens.unwrap_or(0)
            + last.cache_creation_input_tokens.unwrap_or(0)
            + last.output_tokens.unwrap_or(0);
        compact::needs_compaction(used, window)
    }

    /// Summarises the older turns into one message and keeps the recent ones whole. Returns
    /// how many messages the summary replaced (0: nothing old enough to summarise).
    pub fn compact(&mut self, cancel: CancelToken) -> Result<usize, ChatError> {
        let Some(split) = compact::split_point(&self.history, compact::KEEP_RECENT_TURNS) else { return Ok(0) };
        let older = compact::summary_request(&self.history[..split]);
        let turn = Turn {
            settings: &self.settings,
            http: &self.http,
            workbench: self.workbench.as_ref(),
            policy: &mut self.policy,
            approver: self.approver.as_mut(),
            save_rule: self.save_rule.as_ref(),
            events: Arc::new(Mutex::new(Silent)),
            cancel,
            collect_text: false,
        };
        let summary = turn.summarize(older)?;
        let kept: Vec<ChatMessage> = self.history[split..].to_vec();
        let compacted = compact::compacted(&summary, &kept);
        if let Some(session) = &self.session
            && let Err(e) = session.mark_compaction(&compacted[0], kept.len())
        {
            self.notice(&format!("{e:#}"));
        }
        self.history = compacted;
        Ok(split)
    }

    /// Starts afresh: the history is cleared and a session file kept under a new name.
    pub fn start_over(&mut self) -> anyhow::Result<Option<std::path::PathBuf>> {
        self.history.clear();
        self.settings.endpoint.start_over()?;
        match &self.session {
            Some(s) => s.archive(),
            None => Ok(None),
        }
    }
}

/// Events nobody sees (a summary is not shown while it is written).
struct Silent;

impl TurnEvents for Silent {
    fn text(&mut self, _: &str) -> std::io::Result<()> {
        Ok(())
    }
    fn thinking(&mut self, _: &str) {}
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn step_end(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn tool_start(&mut self, _: &super::events::ToolCallView<'_>) {}
    fn tool_progress(&mut self, _: &super::events::ToolCallView<'_>, _: &str) {}
    fn tool_end(&mut self, _: &super::events::ToolCallView<'_>, _: &super::events::ToolResultView<'_>) {}
    fn notice(&mut self, _: &str) {}
}
