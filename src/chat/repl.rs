//! The interactive chat: line editing and history (rustyline), slash commands, Ctrl-C cancelling
//! the answer in flight (not the REPL), Ctrl-D or `/exit` to quit.

use std::process::ExitCode;

use rustyline::error::ReadlineError;

use crate::chat::session::{ChatMessage, Role, Session};
use crate::commands::Context;
use crate::commands::agent::{Turn, prepare, report_stop, run_turn};
use crate::config::Config;
use crate::exit::Interrupted;
use crate::providers::model_id;
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
    let mut editor = rustyline::DefaultEditor::new()?;
    let history_path = ctx.home.join(HISTORY_FILE);
    let _ = editor.load_history(&history_path);
    note(&format!("pincer chat with {} — /help for commands, Ctrl-D to quit", turn.choice.model));
    if !history.is_empty() {
        note(&format!("(continuing a conversation of {} messages)", history.len()));
    }
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
                let assistant = ChatMessage { role: Role::Assistant, content: answer.content };
                if let Some(s) = &session
                    && let Err(e) = s.append(&[user.clone(), assistant.clone()])
                {
                    warn(&format!("{e:#}"));
                }
                history.push(user);
                history.push(assistant);
            }
            Err(e) if e.is::<Interrupted>() => note("(answer cancelled)"),
            Err(e) => eprintln!("pincer: {e:#}"),
        }
    }
    if editor.save_history(&history_path).is_ok() {
        let _ = crate::fsutil::set_private(&history_path);
    }
    Ok(ExitCode::SUCCESS)
}
