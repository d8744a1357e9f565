//! `sessions/NAME.jsonl`: one conversation, one JSON object per message, append-only.
//!
//! A finished turn (the user's message and the assistant's answer) is appended in one write and
//! flushed to disk, so a crash loses at most the turn in flight and the history always
//! alternates user/assistant; a turn torn by a crash is cut off and kept aside once, for good. Assistant blocks are stored exactly as received — thinking blocks
//! with their signatures, tool blocks — because the API demands them back intact.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::exit::UsageError;
use crate::fsutil::{self, FileLock};
use crate::providers::message::{ChatMessage, Role};

pub const SESSIONS_DIR: &str = "sessions";

/// A line marking a compaction (see [`Session::mark_compaction`]).
#[derive(serde::Serialize, serde::Deserialize)]
struct CompactionLine {
    compaction: CompactionRecord,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CompactionRecord {
    summary: ChatMessage,
    /// How many messages before the marker the conversation keeps after the summary.
    kept: usize,
    at: jiff::Timestamp,
}
const MAX_NAME_LEN: usize = 64;

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
                crate::sanitize::sanitize(name)
            ))
            .into());
        }
        Ok(Session { path: home.join(SESSIONS_DIR).join(format!("{name}.jsonl")) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every stored message, made safe to send (see [`crate::chat::keep::sendable`]). A turn cut
    /// off by a crash mid-write is repaired for good (see [`Session::repair`]); a bad line elsewhere
    /// is an error naming the line, and the file is left alone.
    pub fn load(&self) -> anyhow::Result<Vec<ChatMessage>> {
        let Some(bytes) = fsutil::read_optional(&self.path)? else { return Ok(Vec::new()) };
        let mut scan = self.scan(&bytes)?;
        if scan.needs_repair() {
            let _lock = self.lock()?;
            scan = self.repair()?;
        }
        Ok(crate::chat::keep::sendable(scan.messages))
    }

    /// Moves the conversation aside as `NAME.<unix time>.jsonl` (then `NAME.<unix time>-2.jsonl`, …:
    /// an earlier archive is never replaced) so a new one can start; returns where it went, or
    /// `None` when there was nothing to keep.
    pub fn archive(&self) -> anyhow::Result<Option<PathBuf>> {
        if !self.path.exists() {
            return Ok(None);
        }
        // Every pincer process names archives under this lock, so checking a name and then
        // taking it cannot race.
        let _lock = self.lock()?;
        let stem = self.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let now = jiff::Timestamp::now().as_second();
        let kept = (1..)
            .map(|n| match n {
                1 => self.path.with_file_name(format!("{stem}.{now}.jsonl")),
                n => self.path.with_file_name(format!("{stem}.{now}-{n}.jsonl")),
            })
            .find(|candidate| !candidate.exists())
            .context("no free name for the archive")?;
        std::fs::rename(&self.path, &kept).with_context(|| format!("cannot rename {}", self.path.display()))?;
        Ok(Some(kept))
    }

    /// Appends messages in one write, then flushes them to disk.
    pub fn append(&self, messages: &[ChatMessage]) -> anyhow::Result<()> {
        let dir = self.path.parent().context("session path has no folder")?;
        fsutil::ensure_private_dir(dir)?;
        let _lock = self.lock()?;
        // A torn line from a crash since this conversation was loaded must not swallow the turn.
        if !ends_with_newline(&self.path) {
            self.repair()?;
        }
        let mut buf = Vec::new();
        for m in messages {
            serde_json::to_writer(&mut buf, m)?;
            buf.push(b'\n');
        }
        self.write_locked(&buf)
    }

    /// Appends raw lines (already ending in a newline) under the lock.
    fn append_bytes(&self, buf: &[u8]) -> anyhow::Result<()> {
        let dir = self.path.parent().context("session path has no folder")?;
        fsutil::ensure_private_dir(dir)?;
        let _lock = self.lock()?;
        if !ends_with_newline(&self.path) {
            self.repair()?;
        }
        self.write_locked(buf)
    }

    /// One write and a sync; call with the lock held.
    fn write_locked(&self, buf: &[u8]) -> anyhow::Result<()> {
        let mut file = fsutil::private_open_options()
            .create(true)
            .append(true)
            .open(&self.path)
            .with_context(|| format!("cannot open {}", self.path.display()))?;
        file.write_all(buf).with_context(|| format!("cannot write {}", self.path.display()))?;
        file.sync_data().with_context(|| format!("cannot write {}", self.path.display()))
    }

    /// Records a compaction: from this line on, the conversation is `summary` followed by the
    /// last `kept` messages before it. The messages it replaces stay in the file above it.
    pub fn mark_compaction(&self, summary: &ChatMessage, kept: usize) -> anyhow::Result<()> {
        let line = CompactionLine {
            compaction: CompactionRecord { summary: summary.clone(), kept, at: jiff::Timestamp::now() },
        };
        let mut buf = serde_json::to_vec(&line)?;
        buf.push(b'\n');
        self.append_bytes(&buf)
    }

    /// One lock for the whole `sessions/` folder (`sessions.lock` beside it): turns are appended,
    /// repaired and archived in milliseconds, and no lock file piles up per conversation.
    fn lock(&self) -> anyhow::Result<FileLock> {
        let dir = self.path.parent().context("session path has no folder")?;
        let lock = FileLock::acquire(dir)?;
        // Earlier versions left `NAME.jsonl.lock` beside each conversation; nothing uses it now.
        let mut legacy = self.path.as_os_str().to_os_string();
        legacy.push(".lock");
        let _ = std::fs::remove_file(legacy);
        Ok(lock)
    }

    /// The file's messages, and where its intact part ends.
    fn scan(&self, bytes: &[u8]) -> anyhow::Result<Scan> {
        let mut scan = Scan { messages: Vec::new(), intact_len: bytes.len(), len: bytes.len(), unterminated: false };
        let mut last_user_start = None;
        let mut offset = 0;
        for (i, segment) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
            let start = offset;
            offset += segment.len();
            let line = segment.trim_ascii();
            if line.is_empty() {
                continue;
            }
            let complete = segment.ends_with(b"\n");
            if complete && let Ok(CompactionLine { compaction }) = serde_json::from_slice::<CompactionLine>(line) {
                // From here on the conversation is the summary and the turns it kept.
                let keep_from = scan.messages.len().saturating_sub(compaction.kept);
                let kept = scan.messages.split_off(keep_from);
                scan.messages = std::iter::once(compaction.summary).chain(kept).collect();
                last_user_start = None;
                continue;
            }
            match serde_json::from_slice::<ChatMessage>(line) {
                Ok(m) => {
                    last_user_start = (m.role == Role::User).then_some(start);
                    scan.unterminated = !complete;
                    scan.messages.push(m);
                }
                // Only the very end of the file can be torn: a whole turn is one write.
                Err(_) if !complete => {
                    scan.intact_len = start;
                    break;
                }
                Err(e) => anyhow::bail!(
                    "{} line {}: not a valid message (column {})\nhint: fix or remove that line, or use another --session name",
                    self.path.display(),
                    i + 1,
                    e.column()
                ),
            }
        }
        // A question whose answer was torn is half a turn: it goes with the torn part.
        if scan.intact_len < scan.len
            && let Some(start) = last_user_start
        {
            scan.messages.pop();
            scan.intact_len = start;
        }
        Ok(scan)
    }

    /// Cuts a turn torn by a crash mid-write off the end of the file, once and for good: the torn
    /// bytes (and a question left without its answer) are appended to `NAME.jsonl.torn` for a person
    /// to look at, and the file is truncated to its last whole turn. Call with the lock held.
    fn repair(&self) -> anyhow::Result<Scan> {
        let bytes = fsutil::read_optional(&self.path)?.unwrap_or_default();
        let scan = self.scan(&bytes)?;
        let file = OpenOptions::new().write(true).open(&self.path);
        let mut file = file.with_context(|| format!("cannot open {}", self.path.display()))?;
        if scan.intact_len < scan.len {
            let mut torn_name = self.path.as_os_str().to_os_string();
            torn_name.push(TORN_SUFFIX);
            let torn_path = PathBuf::from(torn_name);
            let mut torn = fsutil::private_open_options()
                .create(true)
                .append(true)
                .open(&torn_path)
                .with_context(|| format!("cannot open {}", torn_path.display()))?;
            let mut kept = bytes[scan.intact_len..].to_vec();
            kept.push(b'\n');
            torn.write_all(&kept)
                .and_then(|()| torn.sync_data())
                .with_context(|| format!("cannot write {}", torn_path.display()))?;
            file.set_len(scan.intact_len as u64).with_context(|| format!("cannot repair {}", self.path.display()))?;
            crate::notice::warn(&format!(
                "{} ended with a turn cut off by an interrupted write; it was moved to {} and the conversation goes on without it",
                self.path.display(),
                torn_path.display()
            ));
        } else if scan.unterminated {
            // A whole message that only lacks its line ending.
            use std::io::Seek;
            file.seek(std::io::SeekFrom::End(0))?;
            file.write_all(b"\n").with_context(|| format!("cannot repair {}", self.path.display()))?;
        }
        file.sync_data().with_context(|| format!("cannot repair {}", self.path.display()))?;
        Ok(Scan { len: scan.intact_len, unterminated: false, ..scan })
    }
}

/// Where the torn end of `NAME.jsonl` is kept: `NAME.jsonl.torn`.
const TORN_SUFFIX: &str = ".torn";

/// A session file read line by line.
struct Scan {
    /// The messages of whole turns.
    messages: Vec<ChatMessage>,
    /// Bytes up to the end of the last whole turn.
    intact_len: usize,
    len: usize,
    /// The last line is a whole message without its line ending.
    unterminated: bool,
}

impl Scan {
    fn needs_repair(&self) -> bool {
        self.intact_len < self.len || self.unterminated
    }
}

fn ends_with_newline(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else { return true };
    let mut last = [0u8; 1];
    match f.seek(SeekFrom::End(-1)) {
        Ok(_) => f.read_exact(&mut last).is_ok() && last[0] == b'\n',
        // An empty file.
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ContentBlock;

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
    fn a_torn_turn_is_moved_aside_once_and_the_session_keeps_working() {
        let dir = tempfile::tempdir().unwrap();
        let s = Session::open(dir.path(), "t").unwrap();
        let answer = ChatMessage {
            role: Role::Assistant,
            content: vec![ContentBlock::Text { text: "A".into(), citations: vec![] }],
        };
        s.append(&[ChatMessage::user_text("a"), answer.clone()]).unwrap();
        // A crash mid-write: the question made it, half the answer did not.
        let torn = br#"{"role":"assistant","content":[{"ty"#;
        let mut f = OpenOptions::new().append(true).open(s.path()).unwrap();
        f.write_all(b"{\"role\":\"user\",\"content\":[]}\n").unwrap();
        f.write_all(torn).unwrap();
        assert_eq!(s.load().unwrap(), vec![ChatMessage::user_text("a"), answer.clone()]);
        let kept = std::fs::read(dir.path().join("sessions/t.jsonl.torn")).unwrap();
        assert!(kept.ends_with(&[&torn[..], b"\n"].concat()), "{}", String::from_utf8_lossy(&kept));
        // Every later run works, and the history alternates.
        for round in 0..3 {
            s.append(&[ChatMessage::user_text("b"), answer.clone()]).unwrap();
            let loaded = s.load().unwrap();
            assert_eq!(loaded.len(), 4 + 2 * round, "round {round}");
            assert!(
                loaded.iter().enumerate().all(|(i, m)| m.role == if i % 2 == 0 { Role::User } else { Role::Assistant })
            );
        }
        // A torn line written after loading is repaired by the next append, not glued to it.
        let mut f = OpenOptions::new().append(true).open(s.path()).unwrap();
        f.write_all(torn).unwrap();
        s.append(&[ChatMessage::user_text("c"), answer.clone()]).unwrap();
        assert_eq!(s.load().unwrap().len(), 10);
        // A bad line in the middle is still an error naming it.
        std::fs::write(s.path(), [&b"{}\n"[..], b"{\"role\":\"user\",\"content\":[]}\n"].concat()).unwrap();
        assert!(format!("{:#}", s.load().unwrap_err()).contains("line 1"));
    }

    #[test]
    fn archives_never_replace_each_other_and_no_lock_files_pile_up() {
        let dir = tempfile::tempdir().unwrap();
        let s = Session::open(dir.path(), "t").unwrap();
        let mut archives = Vec::new();
        for i in 0..3 {
            s.append(&[ChatMessage::user_text(&format!("q{i}"))]).unwrap();
            archives.push(s.archive().unwrap().unwrap());
        }
        for (i, archive) in archives.iter().enumerate() {
            assert!(std::fs::read_to_string(archive).unwrap().contains(&format!("q{i}")), "{}", archive.display());
        }
        let sessions = dir.path().join(SESSIONS_DIR);
        let mut names: Vec<_> = std::fs::read_dir(&sessions).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(names.iter().all(|n| !n.to_string_lossy().ends_with(".lock")), "{names:?}");
    }
}
