//! The interactive chat: line editing and history (rustyline), slash commands, Ctrl-C cancelling
//! the answer in flight (not the REPL), Ctrl-D or `/exit` to quit.

use std::os::unix::fs::PermissionsExt;
use std::process::ExitCode;

use rustyline::error::ReadlineError;

use crate::chat::keep;
use crate::chat::session::{ChatMessage, Session};
use crate::commands::Context;
use crate::commands::agent::{Turn, prepare, report_stop, run_turn};
use crate::config::Config;
use crate::exit::Interrupted;
use crate::providers::model_id;
use crate::term::output::{EditorOnTerminal, OutputError};
use crate::term::style::{note, warn};

const HISTORY_FILE: &str = "history.txt";
const PROMPT: &str = "> ";
const HELP: &str = "\
/new          start a new conversation (a --session file is kept under a new name)
/model NAME   switch model (a name from config.toml, an alias, or provider/model-id)
/exit         quit (Ctrl-D works too); Ctrl-C cancels an answer in flight";

pub fn run(ctx: &Context, mut turn: Turn, session: Option<Session>, config: &Config) -> anyhow::Result<ExitCode> {
    let mut history: Vec<ChatMessage> = match &session {
        Some(s) => s.load()?,
        None => Vec::new(),
    };
    // Before the editor exists: it checks descriptor 1 once, when it is created.
    let _editor_on_terminal = EditorOnTerminal::take();
    let mut editor = rustyline::DefaultEditor::new()?;
    let history_path = ctx.home.join(HISTORY_FILE);
    let _ = editor.load_history(&history_path);
    note(&format!("pincer chat with {} — /help for commands, Ctrl-D to quit", turn.choice.model));
    if !history.is_empty() {
        note(&format!("(continuing a conversation of {} messages)", history.len()));
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
                    history.clear();
                    if let Some(s) = &session
                        && let Some(kept) = s.archive()?
                    {
                        note(&format!("(the previous conversation is kept in {})", kept.display()));
                    }
                    note("new conversation");
                }
                "model" => match model_id::resolve(arg, config.models(), config.aliases())
                    .map_err(anyhow::Error::from)
                    .and_then(|choice| prepare(ctx, config, choice, false))
                {
                    Ok(next) => {
                        note(&format!("model: {} ({})", next.choice.model, next.choice.provider));
                        turn = Turn { system: turn.system.take(), ..next };
                    }
                    Err(e) => warn(&format!("{e:#}")),
                },
                _ => warn(&format!("unknown command /{name}; /help lists them")),
            }
            continue;
        }
        let user = ChatMessage::user_text(line);
        let mut request = history.clone();
        request.push(user.clone());
        match run_turn(&turn, request) {
            Ok(answer) => {
                report_stop(&answer);
                let assistant = match keep::answer_to_keep(&answer) {
                    Ok(assistant) => assistant,
                    Err(not_kept) => {
                        note(&format!("({})", not_kept.notice()));
                        continue;
                    }
                };
                if let Some(s) = &session
                    && let Err(e) = s.append(&[user.clone(), assistant.clone()])
                {
                    warn(&format!("{e:#}"));
                }
                history.push(user);
                history.push(assistant);
            }
            Err(e) if e.is::<Interrupted>() => note("(answer cancelled)"),
            // Answers have nowhere to go: end like the rest of the pipeline.
            Err(e) if e.is::<OutputError>() => {
                ended_by = Some(e);
                break;
            }
            Err(e) => note(&format!("pincer: {e:#}")),
        }
    }
    // The home folder may not exist yet when nothing else was written.
    if crate::fsutil::ensure_private_dir(&ctx.home).is_ok() && editor.save_history(&history_path).is_ok() {
        let _ = std::fs::set_permissions(&history_path, std::fs::Permissions::from_mode(0o600));
    }
    match ended_by {
        Some(e) => Err(e),
        None => Ok(ExitCode::SUCCESS),
    }
}
