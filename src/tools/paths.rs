//! Where a file tool's path leads, and whether it may go there: the one place paths are resolved
//! and the hard limits of SPEC §9 are enforced for every file tool.
//!
//! A path is taken relative to the workspace (absolute paths are allowed), then made real: the
//! longest existing prefix is canonicalised (`..` and symlinks resolved by the kernel's rules), a
//! dangling symlink right after it is followed by hand, and the rest (names that do not exist
//! yet, for `write_file`) is appended as written, with no `..` allowed in it.
//!
//! The hard limits no rule, flag or `--yolo` lifts: nothing under `$PINCER_HOME` is read,
//! listed, searched or written, except `$PINCER_HOME/skills/`, which may be read; nothing of
//! pincer's own process under `/proc` (it holds the credentials in memory and environment), and
//! no process's `environ` or `mem` (another pincer holds them too). Both the path as written
//! (lexically normalised, so `/proc/self/…` spellings are caught before any link is followed)
//! and the real path are checked.
//!
//! A path checked is not yet a file opened: something may swap a folder for a symlink in
//! between. So files are opened here without following a symlink in the last component
//! (`O_NOFOLLOW`), and the opened file's real path is read back from `/proc/self/fd` and must
//! be the one that was checked; writes work through a verified folder handle (see `atomic.rs`).
//! Windows has the same two checks in its own terms: no reparse point (symbolic link, junction)
//! followed in the last component, and the real path read back from the handle (see
//! `paths/windows.rs`).
//! Case-insensitive file systems (macOS) are not handled: on Linux `.PINCER` is another name.

use std::ffi::OsStr;
use std::fmt;
#[cfg(unix)]
use std::fs::OpenOptions;
use std::fs::{self, File};
use std::io;
#[cfg(unix)]
use std::os::fd::AsRawFd;
#[cfg(unix)]
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use super::{Target, ToolContext};

/// The one folder of `$PINCER_HOME` tools may read (SPEC §13).
pub const SKILLS_DIR: &str = "skills";
/// Symlinks followed by hand (dangling ones) before giving up, like the kernel's limit.
const MAX_SYMLINK_HOPS: u32 = 40;
const PROC: &str = "/proc";
/// Entries of any process that may hold credentials: its environment and its memory.
const PROC_SECRET_ENTRIES: [&str; 2] = ["environ", "mem"];
/// Names `/proc` gives the calling process and thread.
const PROC_SELF_NAMES: [&str; 2] = ["self", "thread-self"];

/// What a file tool does with a path: reading covers reading, listing and searching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Read,
    Write,
}

impl Intent {
    fn verb(self) -> &'static str {
        match self {
            Intent::Read => "read",
            Intent::Write => "write",
        }
    }
}

/// Why a path may not be used. The messages are sent to the model: they say what to do.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error("the path is empty\nhint: give a path relative to the workspace, or an absolute one")]
    Empty,
    #[error("the path contains a NUL byte")]
    Nul,
    #[error(
        "{0} is inside pincer's home ($PINCER_HOME: credentials, sessions, history), which no tool may {1}\nhint: only $PINCER_HOME/skills/ may be read; no rule or flag lifts this limit"
    )]
    InHome(String, &'static str),
    #[error("{0} is pincer's skills folder, which tools may read but not write\nhint: edit skills yourself")]
    SkillsReadOnly(String),
    #[error(
        "{0} belongs to pincer's own process, which holds its credentials\nhint: no tool may read it; no rule or flag lifts this limit"
    )]
    OwnProcess(String),
    #[error(
        "{0} is a process's environment or memory, which may hold credentials\nhint: no tool may read it; no rule or flag lifts this limit"
    )]
    ProcessSecret(String),
    #[error(
        "{0} is outside the workspace ({1}): edit tools only write inside it\nhint: work on a copy inside the workspace, or start pincer with --workspace set to a folder that holds it"
    )]
    OutsideWorkspace(String, String),
    #[error("`..` follows a name that does not exist in {0}\nhint: give the path without `..`")]
    DotDotAfterMissing(String),
    #[error("{0} is a file, not a folder, so {1} cannot exist")]
    NotAFolder(String, String),
    #[error("too many symbolic links while resolving {0}")]
    SymlinkLoop(String),
    #[error("{0} does not exist")]
    NotFound(String),
    #[error(
        "{0} changed while it was being opened (a symlink appeared in its path?)\nhint: try again; if it keeps happening, something is swapping links there"
    )]
    Changed(String),
    #[error("cannot open {0}: {1}")]
    Io(String, io::Error),
}

/// A path that passed the checks: real, absolute, and where it lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub path: PathBuf,
    /// The path relative to the workspace (`.` for the workspace itself), when inside it.
    pub relative: Option<PathBuf>,
}

impl Resolved {
    pub fn target(&self) -> Target {
        Target::Path { resolved: self.path.clone(), relative: self.relative.clone() }
    }

    /// How results name it: relative to the workspace when inside, else absolute.
    pub fn shown(&self) -> String {
        display_path(self.relative.as_deref().unwrap_or(&self.path))
    }
}

/// The hard limits, owned so that a directory walker's filter can carry them.
#[derive(Debug, Clone)]
pub struct HardLimits {
    home: PathBuf,
    skills: PathBuf,
    workspace: PathBuf,
    pid: u32,
}

impl HardLimits {
    pub fn new(ctx: &ToolContext<'_>) -> HardLimits {
        // The context promises a canonical home; a limit this important does not rely on it.
        let home = fs::canonicalize(ctx.home).unwrap_or_else(|_| ctx.home.to_path_buf());
        HardLimits {
            skills: home.join(SKILLS_DIR),
            home,
            workspace: ctx.workspace.to_path_buf(),
            pid: std::process::id(),
        }
    }

    /// Whether a tool may `intent` the (absolute) `path`.
    pub fn check(&self, path: &Path, intent: Intent) -> Result<(), PathError> {
        if path.starts_with(&self.home) {
            let in_skills = path.starts_with(&self.skills);
            return match intent {
                Intent::Read if in_skills => Ok(()),
                Intent::Write if in_skills => Err(PathError::SkillsReadOnly(self.shown(path))),
                _ => Err(PathError::InHome(self.shown(path), intent.verb())),
            };
        }
        self.check_proc(path)
    }

    /// For walkers: whether to keep (and descend into) an entry met on the way.
    pub fn keeps(&self, path: &Path) -> bool {
        self.check(path, Intent::Read).is_ok()
    }

    /// Whether `path` is `$PINCER_HOME` itself (a walker met it and left it out).
    pub fn is_home(&self, path: &Path) -> bool {
        path == self.home
    }

    pub fn skills(&self) -> &Path {
        &self.skills
    }

    fn check_proc(&self, path: &Path) -> Result<(), PathError> {
        let Ok(rest) = path.strip_prefix(PROC) else { return Ok(()) };
        let names: Vec<&OsStr> = rest.iter().collect();
        let Some(first) = names.first().and_then(|n| n.to_str()) else { return Ok(()) };
        let pid: Option<u32> = first.parse().ok();
        if PROC_SELF_NAMES.contains(&first) || pid.is_some_and(|n| is_own_process(n, self.pid)) {
            return Err(PathError::OwnProcess(display_path(path)));
        }
        if pid.is_none() {
            return Ok(());
        }
        // /proc/<pid>/environ and /proc/<pid>/task/<tid>/environ (and mem).
        let entry = match names.get(1).and_then(|n| n.to_str()) {
            Some("task") => names.get(3),
            _ => names.get(1),
        };
        if entry.and_then(|n| n.to_str()).is_some_and(|n| PROC_SECRET_ENTRIES.contains(&n)) {
            return Err(PathError::ProcessSecret(display_path(path)));
        }
        Ok(())
    }

    fn shown(&self, path: &Path) -> String {
        display_path(relative_to(path, &self.workspace).as_deref().unwrap_or(path))
    }
}

/// A `/proc/<n>` of this process: its pid, or one of its threads' ids (each thread has its
/// own, unlisted, `/proc/<tid>` with the same environment and memory).
fn is_own_process(n: u32, pid: u32) -> bool {
    if n == pid {
        return true;
    }
    let Ok(status) = fs::read_to_string(format!("{PROC}/{n}/status")) else { return false };
    status.lines().find_map(|l| l.strip_prefix("Tgid:")).and_then(|v| v.trim().parse::<u32>().ok()) == Some(pid)
}

/// Resolves a path the model gave and checks the hard limits (and, for writes, that it lies
/// in the workspace). Changes nothing on disk.
pub fn resolve(raw: impl AsRef<Path>, ctx: &ToolContext<'_>, intent: Intent) -> Result<Resolved, PathError> {
    let raw_path = raw.as_ref();
    if raw_path.as_os_str().is_empty() {
        return Err(PathError::Empty);
    }
    if raw_path.as_os_str().as_encoded_bytes().contains(&0) {
        return Err(PathError::Nul);
    }
    let raw = &display_path(raw_path);
    let limits = HardLimits::new(ctx);
    let joined = ctx.workspace.join(raw_path);
    // The spelling first: `/proc/self/cwd/…` is refused even where it would lead somewhere safe.
    limits.check(&lexical(&joined), intent)?;
    let path = real_path(&joined, raw, 0)?;
    limits.check(&path, intent)?;
    let relative = relative_to(&path, ctx.workspace);
    if intent == Intent::Write && relative.is_none() {
        return Err(PathError::OutsideWorkspace(display_path(&path), display_path(ctx.workspace)));
    }
    Ok(Resolved { path, relative })
}

/// `path` relative to `base` (`.` for `base` itself), if inside it.
fn relative_to(path: &Path, base: &Path) -> Option<PathBuf> {
    let rest = path.strip_prefix(base).ok()?;
    Some(if rest.as_os_str().is_empty() { PathBuf::from(".") } else { rest.to_path_buf() })
}

/// `..` and `.` removed without looking at the disk (only ever used to refuse more).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The real path of an absolute `path`: the longest existing prefix canonicalised, then the
/// names that do not exist yet.
fn real_path(path: &Path, raw: &str, hops: u32) -> Result<PathBuf, PathError> {
    let components: Vec<Component> = path.components().collect();
    for k in (1..=components.len()).rev() {
        let prefix: PathBuf = components[..k].iter().collect();
        match fs::canonicalize(&prefix) {
            Ok(real) => return append_missing(real, &components[k..], raw, hops),
            Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR) => continue,
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(PathError::SymlinkLoop(raw.to_string())),
            Err(e) => return Err(PathError::Io(raw.to_string(), e)),
        }
    }
    // Only reached for an empty path: `/` always canonicalises.
    Err(PathError::Empty)
}

fn append_missing(real: PathBuf, rest: &[Component], raw: &str, hops: u32) -> Result<PathBuf, PathError> {
    let Some((first, after)) = rest.split_first() else { return Ok(real) };
    if !real.is_dir() {
        return Err(PathError::NotAFolder(display_path(&real), raw.to_string()));
    }
    let Component::Normal(name) = first else { return Err(PathError::DotDotAfterMissing(raw.to_string())) };
    let candidate = real.join(name);
    // A dangling symlink: writing through it would create its target, wherever that is.
    if fs::symlink_metadata(&candidate).is_ok_and(|m| m.file_type().is_symlink()) {
        if hops >= MAX_SYMLINK_HOPS {
            return Err(PathError::SymlinkLoop(raw.to_string()));
        }
        let target = fs::read_link(&candidate).map_err(|e| PathError::Io(raw.to_string(), e))?;
        let mut next = real.join(target);
        next.extend(after.iter());
        return real_path(&next, raw, hops + 1);
    }
    let mut out = candidate;
    for c in after {
        match c {
            Component::Normal(name) => out.push(name),
            Component::CurDir => {}
            _ => return Err(PathError::DotDotAfterMissing(raw.to_string())),
        }
    }
    Ok(out)
}

/// How results name a real path: relative to the workspace when inside, else absolute.
pub fn shown_in(path: &Path, workspace: &Path) -> String {
    display_path(path.strip_prefix(workspace).ok().filter(|r| !r.as_os_str().is_empty()).unwrap_or(path))
}

/// Shows a path in results: control characters (a newline in a file name) are escaped so a
/// name cannot break the lines of a result.
pub fn display_path(path: &Path) -> String {
    escape_controls(&path.to_string_lossy())
}

pub fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

/// Opens a resolved file for reading: no symlink followed in the last component, no blocking on
/// a FIFO or device, and the file opened must be the one resolved (see the module notes).
pub fn open_file(resolved: &Resolved, limits: &HardLimits) -> Result<File, PathError> {
    let file = open_no_follow(&resolved.path).map_err(|e| open_error(e, resolved))?;
    verify_opened(&file, &resolved.path, limits)?;
    Ok(file)
}

/// Opens a resolved folder (for listing or as the base of writes), verified like [`open_file`].
pub fn open_dir(path: &Path, limits: &HardLimits) -> Result<File, PathError> {
    let shown = || display_path(path);
    #[cfg(unix)]
    let dir = OpenOptions::new().read(true).custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW).open(path).map_err(
        |e| match e.raw_os_error() {
            // O_NOFOLLOW with O_DIRECTORY answers ENOTDIR for a symlink.
            Some(libc::ELOOP | libc::ENOTDIR) if fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink()) => {
                PathError::Changed(shown())
            }
            Some(libc::ENOENT) => PathError::NotFound(shown()),
            _ => PathError::Io(shown(), e),
        },
    )?;
    #[cfg(windows)]
    let dir = windows::open_dir_no_follow(path).map_err(|e| match e {
        _ if windows::is_link_refusal(&e) => PathError::Changed(shown()),
        _ if e.kind() == io::ErrorKind::NotFound => PathError::NotFound(shown()),
        _ => PathError::Io(shown(), e),
    })?;
    verify_opened(&dir, path, limits)?;
    Ok(dir)
}

/// Opens a file met by a walker (its path is real: the root is, and walkers follow no links),
/// checking the opened file's real path like [`open_file`].
pub fn open_walked(path: &Path, limits: &HardLimits) -> Result<File, PathError> {
    limits.check(path, Intent::Read)?;
    let file = open_no_follow(path).map_err(|e| PathError::Io(display_path(path), e))?;
    verify_opened(&file, path, limits)?;
    Ok(file)
}

/// Opens `path` for reading: no symlink followed in its last component, no blocking on a FIFO
/// or device, no terminal taken as the controlling one.
#[cfg(unix)]
fn open_no_follow(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY).open(path)
}

#[cfg(windows)]
use windows::open_no_follow;

#[cfg(unix)]
fn open_error(e: io::Error, resolved: &Resolved) -> PathError {
    match e.raw_os_error() {
        Some(libc::ELOOP) => PathError::Changed(resolved.shown()),
        Some(libc::ENOENT) => PathError::NotFound(resolved.shown()),
        _ => PathError::Io(resolved.shown(), e),
    }
}

#[cfg(windows)]
fn open_error(e: io::Error, resolved: &Resolved) -> PathError {
    match e {
        _ if windows::is_link_refusal(&e) => PathError::Changed(resolved.shown()),
        _ if e.kind() == io::ErrorKind::NotFound => PathError::NotFound(resolved.shown()),
        _ => PathError::Io(resolved.shown(), e),
    }
}

/// The real path of an open file, from the kernel (`None` without `/proc`).
#[cfg(unix)]
pub fn opened_path(file: &File) -> Option<PathBuf> {
    fs::read_link(format!("{PROC}/self/fd/{}", file.as_raw_fd())).ok()
}

/// The real path of an open file, from its handle, in the form `fs::canonicalize` gives.
#[cfg(windows)]
pub fn opened_path(file: &File) -> Option<PathBuf> {
    windows::final_path(file)
}

/// Where a folder opened by [`open_dir`] is listed from: through its handle where the kernel
/// offers that (`/proc/self/fd/N`), else by its path.
#[cfg(unix)]
pub fn listing_path(dir: &File, path: &Path) -> PathBuf {
    match opened_path(dir) {
        Some(_) => PathBuf::from(format!("{PROC}/self/fd/{}", dir.as_raw_fd())),
        None => path.to_path_buf(),
    }
}

/// Windows lists a folder by its path: while `dir` is open, nobody can rename or remove the
/// folder or one above it, so the path still leads to the folder that was checked.
#[cfg(windows)]
pub fn listing_path(_dir: &File, path: &Path) -> PathBuf {
    path.to_path_buf()
}

/// The opened file must be the checked one: by its real path where `/proc` tells it, else by
/// device and inode.
fn verify_opened(file: &File, expected: &Path, limits: &HardLimits) -> Result<(), PathError> {
    let shown = || display_path(expected);
    match opened_path(file) {
        Some(actual) if actual == expected => Ok(()),
        Some(actual) => {
            // Say the real reason when the swap led somewhere forbidden.
            limits.check(&actual, Intent::Read)?;
            Err(PathError::Changed(shown()))
        }
        #[cfg(unix)]
        None => {
            let opened = file.metadata().map_err(|e| PathError::Io(shown(), e))?;
            let named = fs::symlink_metadata(expected).map_err(|e| PathError::Io(shown(), e))?;
            if (opened.dev(), opened.ino()) == (named.dev(), named.ino()) {
                Ok(())
            } else {
                Err(PathError::Changed(shown()))
            }
        }
        // Windows always says; when it cannot, the file is not used.
        #[cfg(windows)]
        None => Err(PathError::Io(shown(), io::Error::other("Windows cannot tell which file was opened"))),
    }
}

#[cfg(windows)]
pub(crate) mod windows;

impl fmt::Display for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::cancel::CancelToken;
    use std::collections::HashSet;
    use std::os::unix::fs::symlink;
    use std::sync::Mutex;

    /// A workspace and a home in one temporary folder, and what a `ToolContext` borrows.
    pub(crate) struct Fixture {
        pub _dir: tempfile::TempDir,
        pub workspace: PathBuf,
        pub home: PathBuf,
        pub cancel: CancelToken,
        pub read_files: Mutex<HashSet<PathBuf>>,
    }

    impl Fixture {
        /// `root/ws` and `root/home` (with `home/skills/s/SKILL.md` and `home/auth.json`).
        pub(crate) fn new() -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let root = fs::canonicalize(dir.path()).unwrap();
            Fixture::with(dir, root.join("ws"), root.join("home"))
        }

        /// The workspace is the parent of the home (`~` and `~/.pincer`).
        pub(crate) fn home_inside() -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let root = fs::canonicalize(dir.path()).unwrap();
            Fixture::with(dir, root.clone(), root.join(".pincer"))
        }

        /// Like [`Fixture::home_inside`], with a home folder that is not hidden.
        pub(crate) fn visible_home_inside() -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let root = fs::canonicalize(dir.path()).unwrap();
            Fixture::with(dir, root.clone(), root.join("pincer-home"))
        }

        fn with(dir: tempfile::TempDir, workspace: PathBuf, home: PathBuf) -> Fixture {
            fs::create_dir_all(&workspace).unwrap();
            fs::create_dir_all(home.join("skills/s")).unwrap();
            fs::write(home.join("skills/s/SKILL.md"), "---\nname: s\n---\nsecret-free skill\n").unwrap();
            fs::write(home.join("auth.json"), "{\"token\": \"sk-SECRET\"}\n").unwrap();
            Fixture { _dir: dir, workspace, home, cancel: CancelToken::new(), read_files: Mutex::new(HashSet::new()) }
        }

        pub(crate) fn ctx(&self) -> ToolContext<'_> {
            ToolContext {
                workspace: &self.workspace,
                home: &self.home,
                cancel: &self.cancel,
                read_files: &self.read_files,
                progress: &|_| {},
            }
        }

        pub(crate) fn ws(&self, rel: &str) -> PathBuf {
            self.workspace.join(rel)
        }
    }

    fn refused(f: &Fixture, raw: &str, intent: Intent) -> String {
        match resolve(raw, &f.ctx(), intent) {
            Ok(r) => panic!("{raw} resolved to {r:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn relative_absolute_and_dot_dot_resolve_to_real_paths() {
        let f = Fixture::new();
        fs::create_dir_all(f.ws("src/a")).unwrap();
        fs::write(f.ws("src/main.rs"), "").unwrap();
        let r = resolve("src/a/../main.rs", &f.ctx(), Intent::Read).unwrap();
        assert_eq!(r.path, f.ws("src/main.rs"));
        assert_eq!(r.relative.as_deref(), Some(Path::new("src/main.rs")));
        let abs = resolve(f.ws("src//main.rs/").to_str().unwrap(), &f.ctx(), Intent::Read).unwrap();
        assert_eq!(abs, r);
        assert_eq!(resolve(".", &f.ctx(), Intent::Read).unwrap().relative.as_deref(), Some(Path::new(".")));
        // Outside the workspace: reported, not refused, for reads (the policy asks).
        let out = resolve("../", &f.ctx(), Intent::Read).unwrap();
        assert_eq!(out.relative, None);
        assert!(!out.target().in_workspace());
        // A file that does not exist yet, in folders that do not exist yet.
        let new = resolve("new/dir/file.txt", &f.ctx(), Intent::Write).unwrap();
        assert_eq!(new.path, f.ws("new/dir/file.txt"));
        assert!(refused(&f, "new/../../x", Intent::Write).contains("`..` follows a name that does not exist"));
        assert!(refused(&f, "src/main.rs/x", Intent::Write).contains("is a file, not a folder"));
        assert!(refused(&f, "", Intent::Read).contains("empty"));
        assert!(refused(&f, "a\0b", Intent::Read).contains("NUL"));
    }

    #[test]
    fn edits_outside_the_workspace_are_refused() {
        let f = Fixture::new();
        let outside = f.workspace.parent().unwrap().join("outside.txt");
        fs::write(&outside, "x").unwrap();
        for raw in ["../outside.txt", outside.to_str().unwrap(), "/etc/passwd"] {
            assert!(refused(&f, raw, Intent::Write).contains("outside the workspace"), "{raw}");
        }
        // Through a symlink inside the workspace, and through a dangling one.
        symlink(&outside, f.ws("link")).unwrap();
        assert!(refused(&f, "link", Intent::Write).contains("outside the workspace"));
        symlink(f.workspace.parent().unwrap().join("not-yet"), f.ws("dangling")).unwrap();
        assert!(refused(&f, "dangling", Intent::Write).contains("outside the workspace"));
        symlink("dangling", f.ws("chain")).unwrap();
        assert!(refused(&f, "chain", Intent::Write).contains("outside the workspace"));
        symlink("loop", f.ws("loop")).unwrap();
        assert!(refused(&f, "loop", Intent::Write).contains("too many symbolic links"));
    }

    #[test]
    fn the_home_is_off_limits_whatever_the_spelling() {
        let f = Fixture::home_inside();
        let auth = f.home.join("auth.json");
        let spellings = [
            ".pincer",
            ".pincer/",
            ".pincer/auth.json",
            "./.pincer//auth.json",
            "x/../.pincer/auth.json",
            auth.to_str().unwrap(),
            ".pincer/skills/../auth.json",
            ".pincer/sessions/new.jsonl",
        ];
        for raw in spellings {
            for intent in [Intent::Read, Intent::Write] {
                assert!(refused(&f, raw, intent).contains("inside pincer's home"), "{raw} {intent:?}");
            }
        }
        // A symlink in the workspace pointing into the home, and one to the home itself.
        symlink(&auth, f.ws("innocent.txt")).unwrap();
        symlink(&f.home, f.ws("h")).unwrap();
        assert!(refused(&f, "innocent.txt", Intent::Read).contains("inside pincer's home"));
        assert!(refused(&f, "h/auth.json", Intent::Read).contains("inside pincer's home"));
        assert!(refused(&f, "h/new-file", Intent::Write).contains("inside pincer's home"));
        // A dangling symlink into the home: writing through it would create a file there.
        symlink(f.home.join("planted"), f.ws("plant")).unwrap();
        assert!(refused(&f, "plant", Intent::Write).contains("inside pincer's home"));
        // `/proc/self/root/…` leads to the real path, which is checked.
        let via_root = format!("/proc/self/root{}", auth.display());
        assert!(refused(&f, &via_root, Intent::Read).contains("own process"));
        symlink(&via_root, f.ws("via-root")).unwrap();
        assert!(refused(&f, "via-root", Intent::Read).contains("inside pincer's home"));
        // Skills: readable, not writable.
        let skill = resolve(".pincer/skills/s/SKILL.md", &f.ctx(), Intent::Read).unwrap();
        assert_eq!(skill.path, f.home.join("skills/s/SKILL.md"));
        assert!(resolve("h/skills", &f.ctx(), Intent::Read).is_ok());
        assert!(refused(&f, ".pincer/skills/s/SKILL.md", Intent::Write).contains("may read but not write"));
    }

    #[test]
    fn a_home_given_through_a_symlink_is_still_off_limits() {
        let f = Fixture::new();
        let alias = f.workspace.parent().unwrap().join("home-alias");
        symlink(&f.home, &alias).unwrap();
        let ctx = ToolContext { home: &alias, ..f.ctx() };
        let e = resolve(f.home.join("auth.json").to_str().unwrap(), &ctx, Intent::Read).unwrap_err();
        assert!(matches!(e, PathError::InHome(..)), "{e}");
    }

    #[test]
    fn the_workspace_inside_the_home_is_off_limits_too() {
        let f = Fixture::new();
        let ctx = ToolContext { workspace: &f.home, ..f.ctx() };
        let e = resolve(".", &ctx, Intent::Read).unwrap_err().to_string();
        assert!(e.contains("inside pincer's home"), "{e}");
    }

    #[test]
    fn pincers_own_process_is_off_limits() {
        let f = Fixture::new();
        let pid = std::process::id();
        let tid = unsafe { libc::gettid() };
        let own = [
            "/proc/self".to_string(),
            "/proc/self/environ".to_string(),
            "/proc/thread-self/environ".to_string(),
            format!("/proc/{pid}/mem"),
            format!("/proc/{pid}/cmdline"),
            format!("/proc/{pid}/task/{tid}/environ"),
            format!("/proc/{tid}/environ"),
            "/proc/self/cwd/x".to_string(),
            "/proc/self/root/proc/self/environ".to_string(),
            "/proc/./self/../self/fd/0".to_string(),
            // A symlink to /proc/self/fd, resolved to /proc/<pid>/fd.
            "/dev/fd".to_string(),
        ];
        for raw in &own {
            let e = resolve(raw, &f.ctx(), Intent::Read);
            assert!(matches!(e, Err(PathError::OwnProcess(_))), "{raw}: {e:?}");
        }
        symlink("/proc/self/environ", f.ws("env")).unwrap();
        assert!(matches!(resolve("env", &f.ctx(), Intent::Read), Err(PathError::OwnProcess(_))));
        // Any process's environment and memory; other /proc files are fine.
        assert!(matches!(resolve("/proc/1/environ", &f.ctx(), Intent::Read), Err(PathError::ProcessSecret(_))));
        assert!(matches!(resolve("/proc/1/task/1/mem", &f.ctx(), Intent::Read), Err(PathError::ProcessSecret(_))));
        assert!(resolve("/proc/cpuinfo", &f.ctx(), Intent::Read).is_ok());
        assert!(resolve("/proc/1/status", &f.ctx(), Intent::Read).is_ok());
    }

    #[test]
    fn a_symlink_swapped_after_the_check_is_caught_on_open() {
        let f = Fixture::home_inside();
        let limits = HardLimits::new(&f.ctx());
        fs::create_dir(f.ws("dir")).unwrap();
        fs::write(f.ws("dir/auth.json"), "harmless").unwrap();
        let checked = resolve("dir/auth.json", &f.ctx(), Intent::Read).unwrap();
        // Swap the folder for a symlink into the home after the check.
        fs::rename(f.ws("dir"), f.ws("old")).unwrap();
        symlink(&f.home, f.ws("dir")).unwrap();
        let e = open_file(&checked, &limits).unwrap_err();
        assert!(matches!(e, PathError::InHome(..)), "{e}");
        // Swap the file itself for a symlink: O_NOFOLLOW refuses it.
        fs::remove_file(f.ws("dir")).unwrap();
        fs::rename(f.ws("old"), f.ws("dir")).unwrap();
        let checked = resolve("dir/auth.json", &f.ctx(), Intent::Read).unwrap();
        fs::rename(f.ws("dir/auth.json"), f.ws("dir/was")).unwrap();
        symlink(f.home.join("auth.json"), f.ws("dir/auth.json")).unwrap();
        assert!(matches!(open_file(&checked, &limits), Err(PathError::Changed(_))));
        // The folder handle of writes is checked the same way.
        fs::rename(f.ws("dir"), f.ws("old2")).unwrap();
        symlink(&f.home, f.ws("dir")).unwrap();
        assert!(open_dir(&f.ws("dir"), &limits).is_err());
    }

    #[test]
    fn names_cannot_break_result_lines() {
        assert_eq!(display_path(Path::new("a\nb\x1b[2J")), "a\\nb\\u{1b}[2J");
        assert_eq!(display_path(Path::new("plain/é")), "plain/é");
    }
}
