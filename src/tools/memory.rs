//! The `memory` tool: what the person wants remembered across conversations, kept in
//! `$PINCER_HOME/memory/MEMORY.md` (or the workspace's `.pincer/MEMORY.md` with
//! `scope: "project"`). It is the one tool that may write under `$PINCER_HOME`, and only that file.
//!
//! The file is loaded into the system prompt when a conversation starts ([`prompt_section`]).
//! Every change is a read-modify-write under `MEMORY.md.lock`, written atomically, so two agents
//! editing memory at once lose nothing. Memory is persistent model input, so changing it is of
//! class `edit`: asked by default, like any edit.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{Target, Tool, ToolClass, ToolContext, ToolOutput};
use crate::fsutil::{self, FileLock, PRIVATE_FILE_MODE};

pub const MEMORY_DIR: &str = "memory";
pub const MEMORY_FILE: &str = "MEMORY.md";
/// The project's memory, relative to the workspace.
pub const PROJECT_MEMORY: &str = ".pincer/MEMORY.md";
/// Largest memory file; a change that would grow past it is refused.
pub const MAX_MEMORY_BYTES: usize = 16 * 1024;
/// Bytes of memory put into the prompt; the rest stays readable with `view`.
pub const MAX_PROMPT_MEMORY_BYTES: usize = 4 * 1024;
const NAME: &str = "memory";

pub struct Memory;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    User,
    Project,
}

/// Where a scope's memory lives.
fn file_for(scope: Scope, home: &Path, workspace: &Path) -> PathBuf {
    match scope {
        Scope::User => home.join(MEMORY_DIR).join(MEMORY_FILE),
        Scope::Project => workspace.join(PROJECT_MEMORY),
    }
}

fn scope_of(input: &Value) -> Scope {
    match input.get("scope").and_then(Value::as_str) {
        Some("project") => Scope::Project,
        _ => Scope::User,
    }
}

fn text_field<'a>(input: &'a Value, name: &str) -> Option<&'a str> {
    input.get(name).and_then(Value::as_str)
}

impl Tool for Memory {
    fn name(&self) -> &str {
        NAME
    }

    fn class(&self) -> ToolClass {
        ToolClass::Edit
    }

    fn description(&self) -> &str {
        "Long-term memory across conversations (already in your prompt). add: append a fact the person wants kept; replace: old_text -> text; remove: delete the entry with old_text; view: the current file. scope project = this workspace's memory."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "command": {"type": "string", "enum": ["view", "add", "replace", "remove"]},
                "text": {"type": "string"},
                "old_text": {"type": "string"},
                "scope": {"type": "string", "enum": ["user", "project"]},
            },
            "required": ["command"],
        })
    }

    fn access(&self, input: &Value, ctx: &ToolContext<'_>) -> Result<Target, String> {
        let command = text_field(input, "command").unwrap_or_default();
        let needs = |field: &str| -> Result<(), String> {
            match text_field(input, field) {
                Some(t) if !t.trim().is_empty() => Ok(()),
                _ => Err(format!("`{command}` needs a non-empty `{field}`")),
            }
        };
        match command {
            "add" => needs("text")?,
            "replace" => {
                needs("old_text")?;
                needs("text")?;
            }
            "remove" => needs("old_text")?,
            _ => {}
        }
        let path = file_for(scope_of(input), ctx.home, ctx.workspace);
        let relative =
            path.strip_prefix(ctx.workspace).ok().map(Path::to_path_buf).filter(|_| scope_of(input) == Scope::Project);
        Ok(Target::Path { resolved: path, relative })
    }

    fn call(&self, input: &Value, ctx: &ToolContext<'_>) -> ToolOutput {
        let path = file_for(scope_of(input), ctx.home, ctx.workspace);
        let command = text_field(input, "command").unwrap_or_default();
        let result = match command {
            "view" => {
                read(&path).map(|text| if text.trim().is_empty() { "(memory is empty)".to_string() } else { text })
            }
            _ => change(&path, |current| apply(command, current, input)),
        };
        match result {
            Ok(text) => ToolOutput::text(text, command.to_string()),
            Err(message) => ToolOutput::error(message),
        }
    }

    fn display(&self, input: &Value) -> String {
        let command = text_field(input, "command").unwrap_or_default();
        let what = text_field(input, "text").or_else(|| text_field(input, "old_text")).unwrap_or_default();
        let scope = if scope_of(input) == Scope::Project { " (project)" } else { "" };
        format!("{command}{scope} {what}").trim_end().to_string()
    }

    fn approval_detail(&self, input: &Value, _ctx: &ToolContext<'_>) -> String {
        let mut out = format!("memory {}", text_field(input, "command").unwrap_or_default());
        if let Some(old) = text_field(input, "old_text") {
            out.push_str(&format!("\n- {old}"));
        }
        if let Some(new) = text_field(input, "text") {
            out.push_str(&format!("\n+ {new}"));
        }
        out
    }

    fn parallel_safe(&self) -> bool {
        false
    }
}

fn read(path: &Path) -> Result<String, String> {
    match fsutil::read_optional(path) {
        Ok(Some(bytes)) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Ok(None) => Ok(String::new()),
        Err(e) => Err(format!("{e:#}")),
    }
}

/// Read-modify-write under the lock; `edit` returns the new text and a message.
fn change(path: &Path, edit: impl FnOnce(&str) -> Result<(String, String), String>) -> Result<String, String> {
    let dir = path.parent().ok_or("the memory file has no folder")?;
    fsutil::ensure_private_dir(dir).map_err(|e| format!("{e:#}"))?;
    let _lock = FileLock::acquire(path).map_err(|e| format!("{e:#}"))?;
    let current = read(path)?;
    let (next, message) = edit(&current)?;
    if next.len() > MAX_MEMORY_BYTES {
        return Err(format!(
            "memory would grow past {} KiB; remove or shorten entries first (nothing was changed)",
            MAX_MEMORY_BYTES / 1024
        ));
    }
    fsutil::write_atomic(path, next.as_bytes(), PRIVATE_FILE_MODE).map_err(|e| format!("{e:#}"))?;
    Ok(message)
}

/// The change a command makes to the memory text.
fn apply(command: &str, current: &str, input: &Value) -> Result<(String, String), String> {
    let text = text_field(input, "text").unwrap_or_default().trim();
    let old = text_field(input, "old_text").unwrap_or_default().trim();
    let count = |needle: &str| current.matches(needle).count();
    match command {
        "add" => {
            let mut next = current.trim_end().to_string();
            if !next.is_empty() {
                next.push('\n');
            }
            // One entry per line keeps replace and remove exact.
            next.push_str(&format!("- {}\n", text.split_whitespace().collect::<Vec<_>>().join(" ")));
            Ok((next, "added".into()))
        }
        "replace" | "remove" => {
            match count(old) {
                0 => return Err(format!("`old_text` was not found in memory: {old:?} (view shows the current text)")),
                1 => {}
                n => return Err(format!("`old_text` appears {n} times; give more of the entry so it matches once")),
            }
            if command == "replace" {
                return Ok((current.replacen(old, text, 1), "replaced".into()));
            }
            // Remove the whole line (entry) holding the text.
            let next: Vec<&str> = current.lines().filter(|line| !line.contains(old)).collect();
            let mut next = next.join("\n");
            if !next.is_empty() {
                next.push('\n');
            }
            Ok((next, "removed".into()))
        }
        other => Err(format!("unknown command `{other}`")),
    }
}

/// The memory section of the system prompt: both scopes' files, capped.
pub fn prompt_section(home: &Path, workspace: &Path) -> String {
    let mut out = String::new();
    for (scope, title) in
        [(Scope::User, "Memory (things the person asked you to remember)"), (Scope::Project, "Project memory")]
    {
        let Ok(text) = read(&file_for(scope, home, workspace)) else { continue };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let mut end = text.len().min(MAX_PROMPT_MEMORY_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        out.push_str(&format!("{title}:\n{}\n", &text[..end]));
        if end < text.len() {
            out.push_str("[memory continues: use the memory tool's view to read it all]\n");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cancel::CancelToken;
    use std::collections::HashSet;
    use std::sync::Mutex;

    fn call(home: &Path, workspace: &Path, input: Value) -> ToolOutput {
        let cancel = CancelToken::new();
        let read = Mutex::new(HashSet::new());
        let progress = |_: &str| {};
        let ctx = ToolContext { workspace, home, cancel: &cancel, read_files: &read, progress: &progress };
        if let Err(e) = Memory.access(&input, &ctx) {
            return ToolOutput::error(e);
        }
        Memory.call(&input, &ctx)
    }

    #[test]
    fn add_replace_remove_view() {
        let dir = tempfile::tempdir().unwrap();
        let (home, ws) = (dir.path().join("home"), dir.path().join("ws"));
        assert_eq!(call(&home, &ws, json!({"command": "view"})).joined_text(), "(memory is empty)");
        assert!(!call(&home, &ws, json!({"command": "add", "text": "prefers tabs\nover spaces"})).is_error);
        assert!(!call(&home, &ws, json!({"command": "add", "text": "name is Ada"})).is_error);
        let file = home.join("memory/MEMORY.md");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "- prefers tabs over spaces\n- name is Ada\n");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(!call(&home, &ws, json!({"command": "replace", "old_text": "Ada", "text": "Ada L."})).is_error);
        assert!(!call(&home, &ws, json!({"command": "remove", "old_text": "tabs"})).is_error);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "- name is Ada L.\n");
        let missing = call(&home, &ws, json!({"command": "remove", "old_text": "nothing like this"}));
        assert!(missing.is_error && missing.joined_text().contains("not found"));
        assert!(call(&home, &ws, json!({"command": "add"})).joined_text().contains("needs a non-empty `text`"));
        // The project scope writes into the workspace, nowhere else.
        assert!(!call(&home, &ws, json!({"command": "add", "text": "uses cargo", "scope": "project"})).is_error);
        assert_eq!(std::fs::read_to_string(ws.join(PROJECT_MEMORY)).unwrap(), "- uses cargo\n");
        let section = prompt_section(&home, &ws);
        assert!(section.contains("- name is Ada L.") && section.contains("Project memory:\n- uses cargo"), "{section}");
    }

    #[test]
    fn ambiguous_and_oversized_changes_are_refused_and_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (home, ws) = (dir.path().join("home"), dir.path().join("ws"));
        call(&home, &ws, json!({"command": "add", "text": "likes tea"}));
        call(&home, &ws, json!({"command": "add", "text": "likes tea with milk"}));
        let file = home.join("memory/MEMORY.md");
        let before = std::fs::read_to_string(&file).unwrap();
        assert!(
            call(&home, &ws, json!({"command": "remove", "old_text": "likes tea"})).joined_text().contains("2 times")
        );
        let huge = "x".repeat(MAX_MEMORY_BYTES);
        assert!(call(&home, &ws, json!({"command": "add", "text": huge})).joined_text().contains("grow past"));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    }

    #[test]
    fn two_writers_at_once_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (home, ws) = (dir.path().join("home"), dir.path().join("ws"));
        std::thread::scope(|scope| {
            for t in 0..4 {
                let (home, ws) = (&home, &ws);
                scope.spawn(move || {
                    for i in 0..25 {
                        let out = call(home, ws, json!({"command": "add", "text": format!("fact {t}-{i}")}));
                        assert!(!out.is_error, "{}", out.joined_text());
                    }
                });
            }
        });
        let text = std::fs::read_to_string(home.join("memory/MEMORY.md")).unwrap();
        assert_eq!(text.lines().count(), 100);
        for t in 0..4 {
            for i in 0..25 {
                assert!(text.contains(&format!("- fact {t}-{i}\n")), "fact {t}-{i} lost");
            }
        }
    }
}
