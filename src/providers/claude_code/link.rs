//! Which Claude Code session a pincer conversation continues.
//!
//! Claude Code keeps the conversation itself (`~/.claude/projects/…`), so pincer keeps only its
//! session id: in memory for the REPL's later turns, and beside `sessions/NAME.jsonl` as
//! `sessions/NAME.claude-code.json` for `--session NAME`. The id is saved as soon as Claude Code
//! names it, so a turn cut short by Ctrl-C is still continued.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::fsutil;

/// Version of the link file's shape.
const LINK_VERSION: u32 = 1;
/// The link file's name beside `NAME.jsonl`: `NAME.claude-code.json`.
const LINK_EXTENSION: &str = "claude-code.json";

#[derive(Debug, Serialize, Deserialize)]
struct LinkFile {
    version: u32,
    session_id: String,
    /// Where Claude Code ran (for people reading the file).
    workspace: PathBuf,
    saved_at: jiff::Timestamp,
}

/// The Claude Code session of one pincer conversation.
#[derive(Debug, Default)]
pub struct Link {
    id: Option<String>,
    file: Option<PathBuf>,
}

/// The link file that belongs to a pincer session file.
pub fn file_for(session: &Path) -> PathBuf {
    session.with_extension(LINK_EXTENSION)
}

impl Link {
    /// The link kept in `file`, if any; without a file, a link held in memory only.
    pub fn load(file: Option<PathBuf>) -> anyhow::Result<Link> {
        let Some(path) = file else { return Ok(Link::default()) };
        let id = match fsutil::read_optional(&path)? {
            None => None,
            Some(bytes) => {
                let link: LinkFile = serde_json::from_slice(&bytes).map_err(|e| {
                    anyhow::anyhow!(
                        "{} is not a Claude Code session link ({e})\nhint: delete it to start a new Claude Code conversation",
                        path.display()
                    )
                })?;
                if link.version != LINK_VERSION || !valid_id(&link.session_id) {
                    anyhow::bail!(
                        "{} holds no usable Claude Code session (version {}, id {:?})\nhint: delete it to start a new Claude Code conversation",
                        path.display(),
                        link.version,
                        crate::sanitize::sanitize(&link.session_id)
                    );
                }
                Some(link.session_id)
            }
        };
        Ok(Link { id, file: Some(path) })
    }

    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// Remembers `id` (and saves it, when there is a file). An id that is not one is ignored: it
    /// would become an argument of the next run.
    pub fn remember(&mut self, id: &str, workspace: &Path) -> anyhow::Result<()> {
        if !valid_id(id) || self.id.as_deref() == Some(id) {
            return Ok(());
        }
        self.id = Some(id.to_string());
        let Some(path) = &self.file else { return Ok(()) };
        if let Some(dir) = path.parent() {
            fsutil::ensure_private_dir(dir)?;
        }
        let link = LinkFile {
            version: LINK_VERSION,
            session_id: id.to_string(),
            workspace: workspace.to_path_buf(),
            saved_at: jiff::Timestamp::now(),
        };
        let mut text = serde_json::to_vec_pretty(&link)?;
        text.push(b'\n');
        fsutil::write_atomic(path, &text, fsutil::PRIVATE_FILE_MODE)
    }

    /// Forgets the session: the next turn starts a new one. The link file goes too.
    pub fn forget(&mut self) -> anyhow::Result<()> {
        self.id = None;
        if let Some(path) = &self.file {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("cannot remove {}", path.display())),
            }
        }
        Ok(())
    }
}

/// Claude Code's session ids are UUIDs; anything else (a corrupt or planted file) is not used.
fn valid_id(id: &str) -> bool {
    id.len() == 36
        && id.char_indices().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3e341030-c3ba-4ae3-9f01-f725ed429bc5";

    #[test]
    fn the_link_is_saved_beside_the_session_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = file_for(&dir.path().join("sessions").join("work.jsonl"));
        assert_eq!(file.file_name().unwrap(), "work.claude-code.json");
        let mut link = Link::load(Some(file.clone())).unwrap();
        assert_eq!(link.id(), None);
        link.remember(ID, Path::new("/w")).unwrap();
        assert_eq!(crate::fsutil::PRIVATE_FILE_MODE, {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777
        });
        assert_eq!(Link::load(Some(file.clone())).unwrap().id(), Some(ID));
        link.forget().unwrap();
        assert!(!file.exists());
        assert_eq!(Link::load(Some(file)).unwrap().id(), None);
    }

    #[test]
    fn ids_that_are_not_uuids_are_never_used() {
        let mut link = Link::default();
        for bad in ["", "--dangerously-skip-permissions", "3e341030-c3ba-4ae3-9f01-f725ed429bc5x", "../../etc"] {
            link.remember(bad, Path::new("/w")).unwrap();
            assert_eq!(link.id(), None, "{bad}");
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.claude-code.json");
        std::fs::write(
            &file,
            r#"{"version":1,"session_id":"--help","workspace":"/w","saved_at":"2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        let err = format!("{:#}", Link::load(Some(file.clone())).unwrap_err());
        assert!(err.contains("no usable Claude Code session") && err.contains("hint: delete it"), "{err}");
        std::fs::write(&file, "{not json").unwrap();
        let err = format!("{:#}", Link::load(Some(file.clone())).unwrap_err());
        assert!(err.contains("is not a Claude Code session link"), "{err}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "{not json", "a bad file is left as it was");
    }
}
