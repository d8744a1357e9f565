//! `sessions/NAME.jsonl`: one conversation, one JSON object per message, append-only.
//!
//! A finished turn (the user's message and the assistant's answer) is appended in one write and
//! flushed to disk, so a crash loses at most the turn in flight and the history always
//! alternates user/assistant. Assistant blocks are stored exactly as received — thinking blocks
//! with their signatures, tool blocks — because the API demands them back intact.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::exit::UsageError;
use crate::fsutil::{self, FileLock};
use crate::providers::ContentBlock;

pub const SESSIONS_DIR: &str = "sessions";
const MAX_NAME_LEN: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

/// One message of a conversation, in the shape the Messages API takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: Vec<ContentBlock>,
}

impl ChatMessage {
    pub fn user_text(text: &str) -> ChatMessage {
        ChatMessage {
            role: Role::User,
            content: vec![ContentBlock::Text { text: text.to_string(), citations: Vec::new() }],
        }
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    path: PathBuf,
}

impl Session {
    /// A session by name: letters, digits, `-`, `_` and `.`, not starting with a dot.
    pub fn open(home: &Path, name: &str) -> anyhow::Result<Session> {
        let valid = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && !name.starts_with('.')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid {
            return Err(UsageError(format!(
                "invalid session name `{}`\nhint: use up to {MAX_NAME_LEN} letters, digits, `-`, `_` or `.`",
                crate::term::sanitize::sanitize(name)
            ))
            .into());
        }
        Ok(Session { path: home.join(SESSIONS_DIR).join(format!("{name}.jsonl")) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every stored message. A torn last line (a crash mid-write) is skipped with a warning; a
    /// bad line elsewhere is an error naming the line, and the file is left alone.
    pub fn load(&self) -> anyhow::Result<Vec<ChatMessage>> {
        let Some(bytes) = fsutil::read_optional(&self.path)? else { return Ok(Vec::new()) };
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.split('\n').collect();
        let mut messages = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<ChatMessage>(line) {
                Ok(m) => messages.push(m),
                Err(_) if i + 1 == lines.len() => {
                    crate::term::style::warn(&format!(
                        "{}: the last line is incomplete (an interrupted write) and is ignored",
                        self.path.display()
                    ));
                }
                Err(e) => anyhow::bail!(
                    "{} line {}: not a valid message (column {})\nhint: fix or remove that line, or use another --session name",
                    self.path.display(),
                    i + 1,
                    e.column()
                ),
            }
        }
        Ok(messages)
    }

    /// Moves the conversation aside as `NAME.<unix time>.jsonl` so a new one can start; returns
    /// where it went, or `None` when there was nothing to keep.
    pub fn archive(&self) -> anyhow::Result<Option<PathBuf>> {
        if !self.path.exists() {
            return Ok(None);
        }
        let _lock = FileLock::acquire(&self.path)?;
        let stem = self.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let kept = self.path.with_file_name(format!("{stem}.{}.jsonl", jiff::Timestamp::now().as_second()));
        std::fs::rename(&self.path, &kept).with_context(|| format!("cannot rename {}", self.path.display()))?;
        Ok(Some(kept))
    }

    /// Appends messages in one write, then flushes them to disk.
    pub fn append(&self, messages: &[ChatMessage]) -> anyhow::Result<()> {
        let dir = self.path.parent().context("session path has no folder")?;
        fsutil::ensure_private_dir(dir)?;
        let _lock = FileLock::acquire(&self.path)?;
        let mut buf = Vec::new();
        // A torn line from an earlier crash must not glue itself to the next message.
        if let Ok(meta) = std::fs::metadata(&self.path)
            && meta.len() > 0
            && !ends_with_newline(&self.path)
        {
            buf.push(b'\n');
        }
        for m in messages {
            serde_json::to_writer(&mut buf, m)?;
            buf.push(b'\n');
        }
        let mut file = fsutil::private_open_options()
            .create(true)
            .append(true)
            .open(&self.path)
            .with_context(|| format!("cannot open {}", self.path.display()))?;
        file.write_all(&buf).with_context(|| format!("cannot write {}", self.path.display()))?;
        file.sync_data().with_context(|| format!("cannot write {}", self.path.display()))
    }
}

fn ends_with_newline(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else { return true };
    let mut last = [0u8; 1];
    f.seek(SeekFrom::End(-1)).is_ok() && f.read_exact(&mut last).is_ok() && last[0] == b'\n'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        let home = Path::new("/h");
        assert!(Session::open(home, "work-1.2_x").is_ok());
        for bad in ["", "../x", ".hidden", "a/b", "a b", &"x".repeat(65)] {
            assert!(Session::open(home, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn round_trip_keeps_thinking_signatures_and_tools() {
        let dir = tempfile::tempdir().unwrap();
        let s = Session::open(dir.path(), "t").unwrap();
        let assistant = ChatMessage {
            role: Role::Assistant,
            content: vec![
                ContentBlock::Thinking { thinking: "hmm".into(), signature: "sig==".into() },
                ContentBlock::ToolUse { id: "toolu_1".into(), name: "f".into(), input: serde_json::json!({"a": 1}) },
                ContentBlock::Text { text: "hi".into(), citations: vec![] },
            ],
        };
        s.append(&[ChatMessage::user_text("q"), assistant.clone()]).unwrap();
        s.append(&[ChatMessage::user_text("q2")]).unwrap();
        let loaded = s.load().unwrap();
        assert_eq!(loaded.len(), 3);
        assert_eq!(loaded[1], assistant);
        let line = std::fs::read_to_string(s.path()).unwrap().lines().nth(1).unwrap().to_string();
        assert!(line.contains(r#""type":"thinking""#) && line.contains(r#""signature":"sig==""#), "{line}");
    }

    #[test]
    fn torn_last_line_is_skipped_and_healed() {
        let dir = tempfile::tempdir().unwrap();
        let s = Session::open(dir.path(), "t").unwrap();
        s.append(&[ChatMessage::user_text("a")]).unwrap();
        let mut f = std::fs::OpenOptions::new().append(true).open(s.path()).unwrap();
        f.write_all(br#"{"role":"assistant","content":[{"ty"#).unwrap();
        assert_eq!(s.load().unwrap().len(), 1);
        s.append(&[ChatMessage::user_text("b")]).unwrap();
        // The torn line is now in the middle: reported, not silently dropped.
        assert!(format!("{:#}", s.load().unwrap_err()).contains("line 2"));
    }
}
