//! The interactive chat: line editing and history (rustyline), slash commands, Ctrl-C cancelling
//! the turn in flight (not the REPL), Ctrl-D or `/exit` to quit.

use std::path::Path;
use std::process::ExitCode;

use rustyline::error::ReadlineError;

use super::conversation::Conversation;
use super::events::CancelToken;
use super::render::report_end;
use super::turn::{ModelSettings, TurnEnd};
use crate::chat::explain::explain;
use crate::providers::message::ChatMessage;
use crate::term::interrupt;
use crate::term::output::{EditorOnTerminal, OutputError};
use crate::term::style::{note, warn};

const HISTORY_FILE: &str = "history.txt";
const PROMPT: &str = "> ";
const HELP: &str = "\
/new          start a new conversation (a --session file is kept under a new name)
/model NAME   switch model (a name from config.toml, an alias, or provider/model-id)
/compact      summarise the older turns now, keeping the last ones whole
/exit         quit (Ctrl-D works too); Ctrl-C cancels an answer or a tool in flight";

/// Runs the REPL; `reprepare` resolves a `/model` name into the settings of that model.
pub fn run(
    home: &Path,
    conversation: &mut Conversation,
    reprepare: &dyn Fn(&str) -> anyhow::Result<ModelSettings>,
) -> anyhow::Result<ExitCode> {
    // Before the editor exists: it checks descriptor 1 once, when it is created.
    let _editor_on_terminal = EditorOnTerminal::take();
    let mut editor = rustyline::DefaultEditor::new()?;
    let history_path = home.join(HISTORY_FILE);
    let _ = editor.load_history(&history_path);
    note(&format!("pincer chat with {} — /help for commands, Ctrl-D to quit", conversation.settings.model));
    if !conversation.history.is_empty() {
        note(&format!("(continuing a conversation of {} messages)", conversation.history.len()));
    }
    let mut ended_by = None;
    loop {
        let line = match editor.readline(PROMPT) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(kind) = crate::secret_scan::find_credential(line) {
            warn(&format!(
                "this line looks like it contains {kind}: it was not sent and not saved in the history\nhint: keep credentials out of the chat; `pincer auth login` stores them safely"
            ));
            continue;
        }
        let _ = editor.add_history_entry(line);
        if let Some(command) = line.strip_prefix('/') {
            let (name, arg) = command.split_once(char::is_whitespace).unwrap_or((command, ""));
            match name {
                "exit" | "quit" => break,
                "help" => note(HELP),
                "new" => {
                    if let Some(kept) = conversation.start_over()? {
                        note(&format!("(the previous conversation is kept in {})", kept.display()));
                    }
                    note("new conversation");
                }
                "model" => match reprepare(arg.trim()) {
                    Ok(next) => {
                        note(&format!("model: {} ({})", next.model, next.endpoint.provider));
                        let system = conversation.settings.system.take();
                        let max_steps = conversation.settings.max_steps;
                        conversation.settings = ModelSettings { system, max_steps, ..next };
                    }
                    Err(e) => warn(&format!("{e:#}")),
                },
                "compact" => compact(conversation),
                _ => warn(&format!("unknown command /{name}; /help lists them")),
            }
            continue;
        }
        let cancel = CancelToken::new();
        let report = {
            let _watch = interrupt::cancel_on_ctrl_c(&cancel);
            conversation.send(ChatMessage::user_text(line), cancel)
        };
        match report.end {
            TurnEnd::Cancelled => note("(answer cancelled)"),
            TurnEnd::Failed(error) => {
                let error = explain(&conversation.settings.endpoint, error);
                // Answers have nowhere to go: end like the rest of the pipeline.
                if error.is::<OutputError>() {
                    ended_by = Some(error);
                    break;
                }
                note(&format!("pincer: {error:#}"));
            }
            TurnEnd::NoAnswer(not_kept) => {
                report_end(&report, conversation.settings.max_steps);
                note(&format!("({})", not_kept.notice()));
            }
            _ => {
                report_end(&report, conversation.settings.max_steps);
                if conversation.near_context_limit(&report) {
                    note("(the conversation is near the model's context window: compacting)");
                    compact(conversation);
                }
            }
        }
    }
    // The home folder may not exist yet when nothing else was written.
    if crate::fsutil::ensure_private_dir(home).is_ok() && editor.save_history(&history_path).is_ok() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&history_path, std::fs::Permissions::from_mode(0o600));
        }
    }
    match ended_by {
        Some(e) => Err(e),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// `/compact`, or the automatic one near the context window.
fn compact(conversation: &mut Conversation) {
    if conversation.settings.endpoint.keeps_history() {
        note("(Claude Code keeps and compacts its own conversation)");
        return;
    }
    let cancel = CancelToken::new();
    let result = {
        let _watch = interrupt::cancel_on_ctrl_c(&cancel);
        conversation.compact(cancel)
    };
    match result {
        Ok(0) => note("(nothing to compact yet: the conversation is only its last turns)"),
        Ok(n) => {
            note(&format!("(compacted: {n} earlier messages are now one summary; the session file keeps them all)"))
        }
        Err(e) => warn(&format!("compaction failed: {:#}", explain(&conversation.settings.endpoint, e))),
    }
}
