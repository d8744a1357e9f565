//! `glob` and `grep` (SPEC §9), with ripgrep's rules: `.gitignore` (inside a git repository),
//! `.ignore` and `.git/info/exclude` respected, hidden files skipped, no symlinks followed,
//! binary files skipped.
//!
//! Walks are depth-first and sorted by name, so results come in a stable order and a cap keeps
//! the same first ones every time; past a cap the walk goes on only to count. The hard limits
//! hold during a walk: `$PINCER_HOME` is never entered (a note says it was left out), except
//! its `skills/` folder, which is walked on its own without reading the home's ignore files;
//! `/proc` entries of pincer's process are left out. Every file read (searched, or an ignore
//! file) is opened without following a symlink and checked by its real path.
//!
//! Why not ripgrep's crates (`ignore`, `grep-regex`, `grep-searcher`), which DESIGN names:
//! measured, they add 1.7 MB to the stripped binary (the `regex-automata` engine alone 674 KB,
//! Unicode tables, `encoding_rs`), past SPEC §8's 4 MiB. Globs and ignore rules are matched by
//! `glob.rs` and `gitignore.rs`, regexes by `regex-lite` (72 KB; linear time, no Unicode
//! classes or case folding beyond ASCII), with a literal prefilter so that most searches only
//! run the regex on lines that can match.

use std::ffi::OsString;
use std::fs::{self, FileType};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use memchr::memmem;
use regex_lite::{Regex, RegexBuilder};
use serde_json::{Value, json};

use super::files::{Cancellable, bool_arg, is_cancelled, str_arg};
use super::gitignore::IgnoreRules;
use super::glob::Glob as GlobPattern;
use super::paths::{self, HardLimits, Intent, Resolved, escape_controls, shown_in};
use super::{Target, Tool, ToolClass, ToolContext, ToolOutput, check_input};
use crate::cancel::CancelToken;

/// The most paths `glob` lists.
pub const GLOB_MAX_RESULTS: usize = 500;
/// The most matching lines `grep` shows.
pub const GREP_MAX_MATCHES: usize = 200;
/// The most bytes of results either tool returns.
pub const SEARCH_MAX_BYTES: usize = 32 * 1024;
/// Bytes of a long matching line shown, around the match.
const GREP_LINE_CLIP: usize = 300;
/// The longest line `grep` holds in memory (its buffer grows from [`READ_BUFFER`] up to this): a
/// longer one is searched in its first this-many bytes only (a note says so).
const GREP_MAX_LINE: usize = 8 * 1024 * 1024;
/// The largest ignore file read.
const MAX_IGNORE_FILE: u64 = 1024 * 1024;
const READ_BUFFER: usize = 64 * 1024;
/// Files walked between progress updates.
const PROGRESS_EVERY: usize = 1000;
/// Files named in a note about files that could not be searched.
const NAMED_FAILURES: usize = 3;
/// Characters that make a glob component a pattern rather than a name.
const GLOB_SPECIAL: &[char] = &['*', '?', '[', ']', '{', '}', '\\'];
/// Ignore files read in every folder, the first taking precedence (as ripgrep).
const IGNORE_FILES: [&str; 2] = [".ignore", ".gitignore"];
const GITIGNORE: &str = ".gitignore";
const GIT_DIR: &str = ".git";
const GIT_EXCLUDE: &str = ".git/info/exclude";
/// A regex prefilter literal shorter than this is not worth it.
const MIN_PREFILTER: usize = 2;

/// `glob` and `grep`, in the order they are offered.
pub fn tools() -> Vec<Box<dyn Tool>> {
    vec![Box::new(Glob), Box::new(Grep)]
}

pub struct Glob;
pub struct Grep;

/// What a walk met besides the files it visited.
#[derive(Debug, Default)]
struct WalkStats {
    unreadable: usize,
    skipped_home: bool,
    walked: usize,
}

struct WalkSpec<'a> {
    root: &'a Path,
    hidden: bool,
}

/// A folder being walked: the entries left, and whether it added a level of ignore rules.
struct Frame {
    dir: PathBuf,
    entries: std::vec::IntoIter<(OsString, FileType)>,
    pushed_level: bool,
}

/// The ignore rules of one folder, in precedence order.
struct IgnoreLevel {
    dir: PathBuf,
    rules: Vec<IgnoreRules>,
}

/// Visits what is not a folder under `spec.root` (real and checked) in sorted order, with
/// whether it is a regular file (not a symlink), until `visit` says stop. `Err` only when
/// cancelled.
fn walk_files(
    spec: &WalkSpec<'_>,
    limits: &HardLimits,
    ctx: &ToolContext<'_>,
    mut visit: impl FnMut(&Path, bool) -> bool,
) -> Result<WalkStats, String> {
    let mut stats = WalkStats::default();
    if !walk_root(spec, spec.root, limits, ctx, &mut visit, &mut stats)? {
        return Ok(stats);
    }
    // The home was met and left out: its skills may still be searched.
    if stats.skipped_home && limits.skills().is_dir() {
        walk_root(spec, limits.skills(), limits, ctx, &mut visit, &mut stats)?;
    }
    Ok(stats)
}

/// Walks one root; false when `visit` said stop.
fn walk_root(
    spec: &WalkSpec<'_>,
    root: &Path,
    limits: &HardLimits,
    ctx: &ToolContext<'_>,
    visit: &mut impl FnMut(&Path, bool) -> bool,
    stats: &mut WalkStats,
) -> Result<bool, String> {
    // The enclosing repository: its root and the folders down to ours lend their ignore files
    // (never a folder the hard limits close, such as the home above its skills).
    let allowed: Vec<&Path> = root.ancestors().take_while(|a| limits.keeps(a)).collect();
    let repo = allowed.iter().position(|a| a.join(GIT_DIR).exists());
    let in_repo = repo.is_some();
    let mut levels: Vec<IgnoreLevel> = Vec::new();
    if let Some(top) = repo {
        for dir in allowed[1..=top].iter().rev() {
            levels.extend(ignore_level(dir, true, *dir == allowed[top], limits));
        }
    }
    let mut frames: Vec<Frame> = Vec::new();
    let enter = |dir: &Path, levels: &mut Vec<IgnoreLevel>, stats: &mut WalkStats| {
        let is_repo_root = repo.is_some_and(|top| allowed[top] == dir);
        let pushed = match ignore_level(dir, in_repo, is_repo_root, limits) {
            Some(level) => {
                levels.push(level);
                true
            }
            None => false,
        };
        Frame { dir: dir.to_path_buf(), entries: read_sorted(dir, stats).into_iter(), pushed_level: pushed }
    };
    frames.push(enter(root, &mut levels, stats));
    while let Some(Frame { dir, entries, .. }) = frames.last_mut() {
        let Some((name, kind)) = entries.next() else {
            if frames.pop().is_some_and(|frame| frame.pushed_level) {
                levels.pop();
            }
            continue;
        };
        if ctx.cancel.is_cancelled() {
            return Err("cancelled".to_string());
        }
        // Hidden names first: a hidden home (`~/.pincer`) is skipped like any hidden folder.
        let hidden = name.as_encoded_bytes().starts_with(b".");
        if name == GIT_DIR || (hidden && !spec.hidden) {
            continue;
        }
        let path = dir.join(&name);
        if !limits.keeps(&path) {
            stats.skipped_home |= limits.is_home(&path);
            continue;
        }
        if ignored(&levels, &path, kind.is_dir()) {
            continue;
        }
        if kind.is_dir() {
            let frame = enter(&path, &mut levels, stats);
            frames.push(frame);
            continue;
        }
        stats.walked += 1;
        if stats.walked.is_multiple_of(PROGRESS_EVERY) {
            (ctx.progress)(&format!("{} files", stats.walked));
        }
        if !visit(&path, kind.is_file()) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A folder's entries, sorted by name (byte order); an unreadable folder counts and is empty.
fn read_sorted(dir: &Path, stats: &mut WalkStats) -> Vec<(OsString, FileType)> {
    let Ok(entries) = fs::read_dir(dir) else {
        stats.unreadable += 1;
        return Vec::new();
    };
    let mut out: Vec<(OsString, FileType)> =
        entries.filter_map(|e| e.ok()).filter_map(|e| Some((e.file_name(), e.file_type().ok()?))).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The ignore files of `dir` (`.gitignore` only inside a repository, as ripgrep; the
/// repository root adds `.git/info/exclude`, last in precedence).
fn ignore_level(dir: &Path, in_repo: bool, repo_root: bool, limits: &HardLimits) -> Option<IgnoreLevel> {
    let mut names: Vec<&str> = IGNORE_FILES.iter().copied().filter(|n| in_repo || *n != GITIGNORE).collect();
    if repo_root {
        names.push(GIT_EXCLUDE);
    }
    let rules: Vec<IgnoreRules> = names
        .into_iter()
        .filter_map(|name| read_ignore_file(&dir.join(name), limits))
        .filter(|r| !r.is_empty())
        .collect();
    (!rules.is_empty()).then(|| IgnoreLevel { dir: dir.to_path_buf(), rules })
}

fn read_ignore_file(path: &Path, limits: &HardLimits) -> Option<IgnoreRules> {
    if !path.is_file() {
        return None;
    }
    let file = paths::open_walked(path, limits).ok()?;
    let mut text = String::new();
    file.take(MAX_IGNORE_FILE).read_to_string(&mut text).ok()?;
    Some(IgnoreRules::parse(&text))
}

/// Whether the rules in force ignore `path`: the deepest folder's rules that say anything win.
fn ignored(levels: &[IgnoreLevel], path: &Path, is_dir: bool) -> bool {
    for level in levels.iter().rev() {
        let Ok(rel) = path.strip_prefix(&level.dir) else { continue };
        let rel = rel.to_string_lossy();
        if let Some(decision) = level.rules.iter().find_map(|rules| rules.decide(&rel, is_dir)) {
            return decision;
        }
    }
    false
}

fn walk_notes(stats: &WalkStats, notes: &mut Vec<String>) {
    if stats.skipped_home {
        notes
            .push("[$PINCER_HOME was left out: off limits to tools (only its skills/ folder is searched)]".to_string());
    }
    if stats.unreadable > 0 {
        notes.push(format!("[{} entries could not be read (permissions?)]", stats.unreadable));
    }
}

fn resolve_folder(input: &Value, ctx: &ToolContext<'_>) -> Result<Resolved, String> {
    paths::resolve(str_arg(input, "path").unwrap_or("."), ctx, Intent::Read).map_err(|e| e.to_string())
}

/// Adds a result line unless the byte budget is spent; false once it is.
fn push_within(out: &mut String, line: &str) -> bool {
    if out.len() + line.len() + 1 > SEARCH_MAX_BYTES {
        return false;
    }
    out.push_str(line);
    out.push('\n');
    true
}

fn finish(mut text: String, notes: &[String], summary: String) -> ToolOutput {
    for note in notes {
        text.push_str(note);
        text.push('\n');
    }
    ToolOutput::text(text, summary)
}

// ---- glob ----

/// What a glob call walks: from the pattern's literal leading folders, matched against the
/// path relative to `path`.
struct GlobPlan {
    root: Resolved,
    walk_root: Resolved,
    /// The literal leading folders of the pattern (the walk starts there).
    prefix: PathBuf,
    matcher: GlobPattern,
    hidden: bool,
}

fn glob_plan(input: &Value, ctx: &ToolContext<'_>) -> Result<GlobPlan, String> {
    let pattern = str_arg(input, "pattern").unwrap_or_default();
    let pattern = pattern.strip_prefix("./").unwrap_or(pattern);
    if pattern.is_empty() {
        return Err("the pattern is empty\nhint: e.g. **/*.rs".to_string());
    }
    if pattern.starts_with('/') {
        return Err(
            "the pattern is matched relative to `path`\nhint: give the folder as `path` and a relative pattern"
                .to_string(),
        );
    }
    let parts: Vec<&str> = pattern.split('/').collect();
    if parts.contains(&"..") {
        return Err("the pattern may not contain `..`\nhint: give the folder to search as `path`".to_string());
    }
    let matcher = GlobPattern::new(pattern).map_err(|e| format!("invalid glob pattern: {e}"))?;
    let root = resolve_folder(input, ctx)?;
    if root.path.exists() && !root.path.is_dir() {
        return Err(format!("{} is a file, not a folder\nhint: give the folder to search as `path`", root.shown()));
    }
    let literal = parts[..parts.len() - 1].iter().take_while(|p| !p.contains(GLOB_SPECIAL)).count();
    let prefix: PathBuf = parts[..literal].iter().filter(|p| !p.is_empty()).collect();
    let walk_root = if prefix.as_os_str().is_empty() {
        root.clone()
    } else {
        paths::resolve(root.path.join(&prefix), ctx, Intent::Read).map_err(|e| e.to_string())?
    };
    // Hidden files are skipped unless the pattern names one (`.github/**`).
    let hidden = parts.iter().any(|p| p.starts_with('.') && *p != ".");
    Ok(GlobPlan { root, walk_root, prefix, matcher, hidden })
}

impl Tool for Glob {
    fn name(&self) -> &str {
        "glob"
    }

    fn class(&self) -> ToolClass {
        ToolClass::Read
    }

    fn description(&self) -> &str {
        "Find files by path pattern under `path`: `*` stays within a folder, `**` crosses folders (`**/*.rs`, `src/*/mod.rs`). .gitignore is respected; hidden files are skipped unless the pattern names them. Sorted; at most 500."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "pattern": {"type": "string", "description": "glob, relative to path"},
                "path": {"type": "string", "description": "folder to search; default: the workspace"},
            },
            "required": ["pattern"],
        })
    }

    fn access(&self, input: &Value, ctx: &ToolContext<'_>) -> Result<Target, String> {
        check_input(&self.input_schema(), input)?;
        Ok(glob_plan(input, ctx)?.walk_root.target())
    }

    fn call(&self, input: &Value, ctx: &ToolContext<'_>) -> ToolOutput {
        glob(self, input, ctx).unwrap_or_else(ToolOutput::error)
    }

    fn display(&self, input: &Value) -> String {
        let pattern = escape_controls(str_arg(input, "pattern").unwrap_or_default());
        match str_arg(input, "path") {
            Some(path) => format!("{pattern} in {}", escape_controls(path)),
            None => pattern,
        }
    }
}

fn glob(tool: &Glob, input: &Value, ctx: &ToolContext<'_>) -> Result<ToolOutput, String> {
    check_input(&tool.input_schema(), input)?;
    let plan = glob_plan(input, ctx)?;
    let pattern = str_arg(input, "pattern").unwrap_or_default();
    let limits = HardLimits::new(ctx);
    let (mut text, mut listed, mut total) = (String::new(), 0usize, 0usize);
    let mut full = false;
    let mut stats = WalkStats::default();
    if plan.walk_root.path.is_dir() {
        let spec = WalkSpec { root: &plan.walk_root.path, hidden: plan.hidden };
        stats = walk_files(&spec, &limits, ctx, |path, _| {
            let Ok(below) = path.strip_prefix(&plan.walk_root.path) else { return true };
            if plan.matcher.is_match(&plan.prefix.join(below).to_string_lossy()) {
                total += 1;
                if !full && listed < GLOB_MAX_RESULTS && push_within(&mut text, &shown_in(path, ctx.workspace)) {
                    listed += 1;
                } else {
                    full = true;
                }
            }
            true
        })?;
    }
    let mut notes = Vec::new();
    if total > listed {
        notes.push(format!("[showing {listed} of {total} files (sorted by path); narrow the pattern or the path]"));
    }
    walk_notes(&stats, &mut notes);
    if total == 0 {
        let mut text = format!("no files match `{}` in {}", escape_controls(pattern), plan.root.shown());
        if !pattern.contains('/') && !pattern.starts_with("**") {
            text.push_str(&format!(
                "\n(a pattern without `/` matches only in that folder itself: **/{} looks in subfolders too)",
                escape_controls(pattern)
            ));
        }
        return Ok(finish(text + "\n", &notes, "no files".to_string()));
    }
    Ok(finish(text, &notes, format!("{total} files")))
}

// ---- grep ----

/// A file filter as ripgrep's `-g`: a glob without `/` matches a file's name at any depth, one
/// with `/` the path below the searched folder; a leading `!` excludes instead.
struct FileFilter {
    glob: GlobPattern,
    exclude: bool,
    name_only: bool,
}

impl FileFilter {
    fn new(text: &str) -> Result<FileFilter, String> {
        let (exclude, pattern) = match text.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let pattern = pattern.strip_prefix("./").unwrap_or(pattern);
        let glob = GlobPattern::new(pattern.trim_start_matches('/'))
            .map_err(|e| format!("invalid glob `{}`: {e}", escape_controls(text)))?;
        Ok(FileFilter { glob, exclude, name_only: !pattern.contains('/') })
    }

    fn admits(&self, below_root: &Path) -> bool {
        let rel = below_root.to_string_lossy();
        let subject = if self.name_only { rel.rsplit('/').next().unwrap_or(&rel) } else { &rel };
        self.glob.is_match(subject) != self.exclude
    }
}

/// A regex, and a literal every match must contain when one can be read off the pattern: a
/// chunk of lines without the literal is skipped at memchr speed, while regex-lite itself runs
/// at some 20–30 MB/s (a line at a time: on long haystacks it leaves its backtracker for its
/// slower PikeVM, so testing whole chunks with it was measured slower).
struct LineMatcher {
    regex: Regex,
    required: Option<memmem::Finder<'static>>,
    /// The literal is lower-case ASCII and the text is compared lower-cased (case-insensitive).
    fold: bool,
}

impl LineMatcher {
    fn new(pattern: &str, case_insensitive: bool) -> Result<LineMatcher, String> {
        if pattern.contains('\n') {
            return Err(
                "the pattern holds a line break, but grep matches one line at a time\nhint: search for text within one line"
                    .to_string(),
            );
        }
        // Multi-line with CRLF: `$` also matches before the `\r` ending a line of a CRLF file.
        let regex = RegexBuilder::new(pattern)
            .case_insensitive(case_insensitive)
            .multi_line(true)
            .crlf(true)
            .build()
            .map_err(|e| {
                format!(
                    "invalid regex: {e}\nhint: the syntax is Rust's regex (as ripgrep, without \\p{{…}} classes); escape special characters with \\"
                )
            })?;
        // regex-lite folds ASCII case only, so an ASCII literal compared lower-cased is exact.
        let literal = required_literal(pattern)
            .filter(|l| l.len() >= MIN_PREFILTER && (!case_insensitive || l.is_ascii()))
            .map(|l| if case_insensitive { l.to_ascii_lowercase() } else { l });
        let required = literal.map(|l| memmem::Finder::new(l.as_bytes()).into_owned());
        Ok(LineMatcher { regex, required, fold: case_insensitive })
    }

    fn has_literal(&self, text: &[u8]) -> bool {
        match &self.required {
            None => true,
            Some(finder) if self.fold => finder.find(&text.to_ascii_lowercase()).is_some(),
            Some(finder) => finder.find(text).is_some(),
        }
    }

    /// False when no line of `chunk` (whole lines) can match.
    fn may_match(&self, chunk: &[u8]) -> bool {
        self.has_literal(chunk)
    }

    /// Where the first match in `line` starts (in the lossy text), if any.
    fn find(&self, line: &[u8]) -> Option<usize> {
        if !self.has_literal(line) {
            return None;
        }
        self.regex.find(&String::from_utf8_lossy(line)).map(|m| m.start())
    }
}

/// The longest run of plain characters that every match of `pattern` contains, found
/// conservatively: none when the pattern has alternation or groups (which may make anything
/// optional); a character followed by `*`, `?` or `{` is optional and ends the run.
fn required_literal(pattern: &str) -> Option<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let (mut best, mut run) = (String::new(), String::new());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '|' | '(' | ')' => return None,
            '*' | '?' | '{' => {
                run.pop();
                take_longer(&mut best, &mut run);
                if c == '{' {
                    while i < chars.len() && chars[i] != '}' {
                        i += 1;
                    }
                }
            }
            '\\' => {
                // An escape may be a class (`\w`) or a literal: either way, the run ends.
                take_longer(&mut best, &mut run);
                i += 1;
            }
            '[' => {
                take_longer(&mut best, &mut run);
                i += 1;
                if chars.get(i) == Some(&'^') {
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    i += 1;
                }
                while i < chars.len() && chars[i] != ']' {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
            }
            '.' | '^' | '$' | '+' | '}' | ']' => take_longer(&mut best, &mut run),
            _ => run.push(c),
        }
        i += 1;
    }
    take_longer(&mut best, &mut run);
    (!best.is_empty()).then_some(best)
}

fn take_longer(best: &mut String, run: &mut String) {
    if run.len() > best.len() {
        *best = std::mem::take(run);
    }
    run.clear();
}

struct GrepPlan {
    root: Resolved,
    matcher: LineMatcher,
    filter: Option<FileFilter>,
}

fn grep_plan(input: &Value, ctx: &ToolContext<'_>) -> Result<GrepPlan, String> {
    let pattern = str_arg(input, "pattern").unwrap_or_default();
    let matcher = LineMatcher::new(pattern, bool_arg(input, "case_insensitive"))?;
    let root = resolve_folder(input, ctx)?;
    let filter = str_arg(input, "glob").map(FileFilter::new).transpose()?;
    Ok(GrepPlan { root, matcher, filter })
}

impl Tool for Grep {
    fn name(&self) -> &str {
        "grep"
    }

    fn class(&self) -> ToolClass {
        ToolClass::Read
    }

    fn description(&self) -> &str {
        "Search file contents with a regex (Rust syntax) under `path`, a folder or a file, one line at a time. Answers `path:line:text`, sorted by path; .gitignore is respected, hidden and binary files are skipped. `glob` filters files (`*.rs`). At most 200 matches."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "pattern": {"type": "string", "description": "regex"},
                "path": {"type": "string", "description": "folder or file; default: the workspace"},
                "glob": {"type": "string", "description": "only files matching this glob"},
                "case_insensitive": {"type": "boolean"},
            },
            "required": ["pattern"],
        })
    }

    fn access(&self, input: &Value, ctx: &ToolContext<'_>) -> Result<Target, String> {
        check_input(&self.input_schema(), input)?;
        Ok(grep_plan(input, ctx)?.root.target())
    }

    fn call(&self, input: &Value, ctx: &ToolContext<'_>) -> ToolOutput {
        grep(self, input, ctx).unwrap_or_else(ToolOutput::error)
    }

    fn display(&self, input: &Value) -> String {
        let mut out = escape_controls(str_arg(input, "pattern").unwrap_or_default());
        if let Some(path) = str_arg(input, "path") {
            out.push_str(&format!(" in {}", escape_controls(path)));
        }
        if let Some(glob) = str_arg(input, "glob") {
            out.push_str(&format!(" ({})", escape_controls(glob)));
        }
        out
    }
}

/// The matches of one file, held until the file is known not to be binary.
#[derive(Debug, Default)]
struct FileMatches {
    lines: Vec<(u64, String)>,
    count: usize,
    binary: bool,
    /// A line longer than [`GREP_MAX_LINE`] was searched in its start only.
    long_line: Option<u64>,
}

/// A matching line for the result: without its line end, and cut around the match when long.
fn clip_line(line: &[u8], at: usize) -> String {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = String::from_utf8_lossy(line);
    if text.len() <= GREP_LINE_CLIP {
        return text.into_owned();
    }
    let mut start = at.min(text.len()).saturating_sub(GREP_LINE_CLIP / 3);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (start + GREP_LINE_CLIP).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    let before = if start > 0 { "…" } else { "" };
    let after = if end < text.len() { "…" } else { "" };
    format!("{before}{}{after}", &text[start..end])
}

/// Searches one open file, keeping at most `keep` lines. The file is read in chunks of whole
/// lines; a chunk the matcher rules out costs one test, the others are tested line by line. A
/// NUL byte anywhere makes the file binary (its matches are dropped), as ripgrep does.
fn search_one(matcher: &LineMatcher, file: fs::File, keep: usize, cancel: &CancelToken) -> io::Result<FileMatches> {
    search_reader(matcher, Cancellable::new(file, cancel), keep, READ_BUFFER, GREP_MAX_LINE)
}

/// [`search_one`] with the buffer sizes as parameters (tests use tiny ones).
fn search_reader(
    matcher: &LineMatcher,
    mut reader: impl Read,
    keep: usize,
    first_buffer: usize,
    max_line: usize,
) -> io::Result<FileMatches> {
    let mut found = FileMatches::default();
    let mut buf = vec![0u8; first_buffer];
    let (mut filled, mut number, mut eof, mut skipping) = (0usize, 0u64, false, false);
    loop {
        while !eof && filled < buf.len() {
            match reader.read(&mut buf[filled..]) {
                Ok(0) => eof = true,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if filled == 0 {
            break;
        }
        if skipping {
            // The rest of a line too long to hold: dropped up to its end.
            match memchr::memchr(b'\n', &buf[..filled]) {
                Some(i) => {
                    buf.copy_within(i + 1..filled, 0);
                    filled -= i + 1;
                    skipping = false;
                }
                None => filled = 0,
            }
            continue;
        }
        let end = match memchr::memrchr(b'\n', &buf[..filled]) {
            Some(i) => i + 1,
            None if eof => filled,
            None if buf.len() < max_line => {
                let grown = (buf.len() * 2).min(max_line);
                buf.resize(grown, 0);
                continue;
            }
            None => {
                // One line fills the largest buffer: search its start, skip the rest.
                found.long_line.get_or_insert(number + 1);
                skipping = true;
                filled
            }
        };
        if !search_chunk(matcher, &buf[..end], &mut number, &mut found, keep) {
            break;
        }
        buf.copy_within(end..filled, 0);
        filled -= end;
    }
    Ok(found)
}

/// Searches whole lines; false when they hold binary data.
fn search_chunk(matcher: &LineMatcher, chunk: &[u8], number: &mut u64, found: &mut FileMatches, keep: usize) -> bool {
    if memchr::memchr(0, chunk).is_some() {
        found.binary = true;
        return false;
    }
    if !matcher.may_match(chunk) {
        *number += memchr::memchr_iter(b'\n', chunk).count() as u64 + u64::from(!chunk.ends_with(b"\n"));
        return true;
    }
    for line in chunk.split_inclusive(|&b| b == b'\n') {
        *number += 1;
        if let Some(at) = matcher.find(line.strip_suffix(b"\n").unwrap_or(line)) {
            found.count += 1;
            if found.lines.len() < keep {
                found.lines.push((*number, clip_line(line, at)));
            }
        }
    }
    true
}

/// The tallies of a grep call.
#[derive(Default)]
struct Tally {
    text: String,
    listed: usize,
    total: usize,
    files_matched: usize,
    files_searched: usize,
    binary: usize,
    failed: Vec<String>,
    long_lines: Vec<String>,
    full: bool,
}

impl Tally {
    fn add(&mut self, shown: &str, found: FileMatches) {
        self.files_searched += 1;
        if found.binary {
            self.binary += 1;
            return;
        }
        if let Some(line) = found.long_line {
            self.long_lines.push(format!("{shown}:{line}"));
        }
        if found.count == 0 {
            return;
        }
        self.files_matched += 1;
        self.total += found.count;
        for (line, body) in found.lines {
            if self.full
                || self.listed >= GREP_MAX_MATCHES
                || !push_within(&mut self.text, &format!("{shown}:{line}:{body}"))
            {
                self.full = true;
                break;
            }
            self.listed += 1;
        }
    }

    fn keep(&self) -> usize {
        if self.full { 0 } else { GREP_MAX_MATCHES - self.listed }
    }
}

fn named(list: &[String]) -> String {
    let names: Vec<&str> = list.iter().take(NAMED_FAILURES).map(String::as_str).collect();
    format!("{}{}", names.join(", "), if list.len() > NAMED_FAILURES { ", …" } else { "" })
}

fn grep(tool: &Grep, input: &Value, ctx: &ToolContext<'_>) -> Result<ToolOutput, String> {
    check_input(&tool.input_schema(), input)?;
    let plan = grep_plan(input, ctx)?;
    let limits = HardLimits::new(ctx);
    let mut tally = Tally::default();
    let mut cancelled = false;
    let mut search = |path: &Path, tally: &mut Tally| {
        let shown = shown_in(path, ctx.workspace);
        let file = match paths::open_walked(path, &limits) {
            Ok(file) => file,
            Err(_) => {
                tally.failed.push(shown);
                return;
            }
        };
        match search_one(&plan.matcher, file, tally.keep(), ctx.cancel) {
            Ok(found) => tally.add(&shown, found),
            Err(e) if is_cancelled(&e) => cancelled = true,
            Err(_) => tally.failed.push(shown),
        }
    };
    let mut stats = WalkStats::default();
    if plan.root.path.is_file() {
        search(&plan.root.path, &mut tally);
        if tally.binary > 0 {
            return Ok(ToolOutput::text(format!("{} is a binary file; not searched", plan.root.shown()), "binary"));
        }
    } else if plan.root.path.is_dir() {
        let spec = WalkSpec { root: &plan.root.path, hidden: false };
        stats = walk_files(&spec, &limits, ctx, |path, is_file| {
            let admitted = plan
                .filter
                .as_ref()
                .is_none_or(|f| path.strip_prefix(&plan.root.path).is_ok_and(|below| f.admits(below)));
            // Symlinks are not followed, as ripgrep does; devices and pipes are not searched.
            if is_file && admitted {
                search(path, &mut tally);
            }
            !ctx.cancel.is_cancelled()
        })?;
    } else if plan.root.path.exists() {
        return Err(format!("{} is not a regular file or a folder", plan.root.shown()));
    } else {
        return Err(format!("{} does not exist", plan.root.shown()));
    }
    if cancelled || ctx.cancel.is_cancelled() {
        return Err("cancelled".to_string());
    }
    let mut notes = Vec::new();
    if tally.total > tally.listed {
        notes.push(format!(
            "[showing {} of {} matches, in {} files; narrow with path, glob or a more specific pattern]",
            tally.listed, tally.total, tally.files_matched
        ));
    }
    if !tally.long_lines.is_empty() {
        notes.push(format!(
            "[only the first {} MB of very long lines were searched: {}]",
            GREP_MAX_LINE / (1024 * 1024),
            named(&tally.long_lines)
        ));
    }
    if tally.binary > 0 {
        notes.push(format!("[{} binary files skipped]", tally.binary));
    }
    if !tally.failed.is_empty() {
        notes.push(format!("[{} files could not be read: {}]", tally.failed.len(), named(&tally.failed)));
    }
    walk_notes(&stats, &mut notes);
    if tally.total == 0 {
        let pattern = escape_controls(str_arg(input, "pattern").unwrap_or_default());
        let text = format!(
            "no matches for `{pattern}` in {} ({} files searched; hidden and ignored files are skipped)\n",
            plan.root.shown(),
            tally.files_searched
        );
        return Ok(finish(text, &notes, "no matches".to_string()));
    }
    let summary = format!("{} matches in {} files", tally.total, tally.files_matched);
    Ok(finish(tally.text, &notes, summary))
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::files::ListDir;
    use crate::tools::paths::tests::Fixture;
    use std::fs::{self, File};
    use std::io::Write;
    use std::os::unix::fs::symlink;

    fn run(tool: &dyn Tool, f: &Fixture, input: Value) -> ToolOutput {
        match tool.access(&input, &f.ctx()) {
            Ok(_) => tool.call(&input, &f.ctx()),
            Err(e) => ToolOutput::error(e),
        }
    }

    fn ok(out: ToolOutput) -> String {
        assert!(!out.is_error, "unexpected error: {}", out.joined_text());
        out.joined_text()
    }

    fn lines(text: &str) -> Vec<&str> {
        text.lines().collect()
    }

    fn put(f: &Fixture, rel: &str, content: &str) {
        let path = f.ws(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    /// A small repository: sources, an ignored build folder, hidden files.
    fn project(f: &Fixture) {
        fs::create_dir(f.ws(".git")).unwrap();
        put(f, ".gitignore", "target/\n*.log\n");
        put(f, "src/main.rs", "fn main() {\n    println!(\"Hello\");\n}\n");
        put(f, "src/lib/mod.rs", "pub fn hello() {}\n");
        put(f, "build.rs", "fn main() {} // hello\n");
        put(f, "target/debug/out.rs", "hello from build output\n");
        put(f, "debug.log", "hello log\n");
        put(f, ".github/ci.yml", "hello: ci\n");
        put(f, "README.md", "Say HELLO\n");
    }

    #[test]
    fn glob_matches_sorted_paths_and_respects_gitignore_and_hidden() {
        let f = Fixture::new();
        project(&f);
        assert_eq!(
            lines(&ok(run(&Glob, &f, json!({"pattern": "**/*.rs"})))),
            ["build.rs", "src/lib/mod.rs", "src/main.rs"]
        );
        assert_eq!(lines(&ok(run(&Glob, &f, json!({"pattern": "*.rs"})))), ["build.rs"]);
        assert_eq!(lines(&ok(run(&Glob, &f, json!({"pattern": "src/*/mod.rs"})))), ["src/lib/mod.rs"]);
        assert_eq!(lines(&ok(run(&Glob, &f, json!({"pattern": "*.rs", "path": "src"})))), ["src/main.rs"]);
        assert_eq!(lines(&ok(run(&Glob, &f, json!({"pattern": ".github/*"})))), [".github/ci.yml"]);
        assert_eq!(lines(&ok(run(&Glob, &f, json!({"pattern": "**/*.{md,yml}"})))), ["README.md"]);
        let none = ok(run(&Glob, &f, json!({"pattern": "*.py"})));
        assert!(none.starts_with("no files match `*.py` in .") && none.contains("**/*.py"), "{none}");
        let out = run(&Glob, &f, json!({"pattern": "**/*.rs"}));
        assert_eq!(out.summary, "3 files");
    }

    #[test]
    fn glob_refuses_bad_patterns_and_reports_where_it_walks() {
        let f = Fixture::new();
        project(&f);
        for (pattern, why) in [("", "empty"), ("/etc/*", "relative to `path`"), ("../*", "`..`"), ("[", "invalid glob")]
        {
            let out = run(&Glob, &f, json!({"pattern": pattern}));
            assert!(out.is_error && out.joined_text().contains(why), "{pattern}: {}", out.joined_text());
        }
        // The walk starts at the pattern's literal folders: that is the target to allow.
        let Target::Path { resolved, relative } = Glob.access(&json!({"pattern": "src/**/*.rs"}), &f.ctx()).unwrap()
        else {
            panic!()
        };
        assert_eq!((resolved, relative), (f.ws("src"), Some(PathBuf::from("src"))));
        let outside = Glob.access(&json!({"pattern": "*", "path": "/etc"}), &f.ctx()).unwrap();
        assert!(!outside.in_workspace());
        // A symlink to a folder outside: the target is where it leads.
        symlink("/usr", f.ws("usr-link")).unwrap();
        let via = Glob.access(&json!({"pattern": "usr-link/**/*.h"}), &f.ctx()).unwrap();
        assert_eq!(via, Target::Path { resolved: PathBuf::from("/usr"), relative: None });
    }

    #[test]
    fn walks_leave_the_home_out_but_search_its_skills() {
        for f in [Fixture::home_inside(), Fixture::visible_home_inside()] {
            let home_name = f.home.file_name().unwrap().to_str().unwrap().to_string();
            put(&f, "notes.md", "sk-SECRET is not here\n");
            let text = ok(run(&Glob, &f, json!({"pattern": "**/*"})));
            assert!(!text.contains("auth.json"), "{text}");
            let grep = ok(run(&Grep, &f, json!({"pattern": "SECRET|secret"})));
            assert!(!grep.contains("auth.json"), "{grep}");
            assert!(grep.contains("notes.md:1:"), "{grep}");
            if home_name == "pincer-home" {
                // A visible home is met by the walk: left out with a note, its skills searched.
                assert!(
                    text.contains("pincer-home/skills/s/SKILL.md") && text.contains("$PINCER_HOME was left out"),
                    "{text}"
                );
                assert!(grep.contains("pincer-home/skills/s/SKILL.md:4:secret-free skill"), "{grep}");
            }
            // Named explicitly: refused, except the skills.
            let e = run(&Grep, &f, json!({"pattern": "SECRET", "path": home_name.clone()}));
            assert!(e.is_error && e.joined_text().contains("pincer's home"), "{}", e.joined_text());
            let e = run(&Glob, &f, json!({"pattern": format!("{home_name}/*.json")}));
            assert!(e.is_error && e.joined_text().contains("pincer's home"));
            let skills = ok(run(&Grep, &f, json!({"pattern": "skill", "path": format!("{home_name}/skills")})));
            assert!(skills.contains("SKILL.md:4:secret-free skill"), "{skills}");
            let skills = ok(run(&Glob, &f, json!({"pattern": format!("{home_name}/skills/**/*.md")})));
            assert_eq!(lines(&skills), [format!("{home_name}/skills/s/SKILL.md")]);
        }
    }

    #[test]
    fn symlinks_into_the_home_are_not_followed() {
        let f = Fixture::home_inside();
        symlink(f.home.join("auth.json"), f.ws("innocent.txt")).unwrap();
        symlink(&f.home, f.ws("h")).unwrap();
        let grep = ok(run(&Grep, &f, json!({"pattern": "SECRET"})));
        assert!(grep.starts_with("no matches") && !grep.contains("could not be read"), "{grep}");
        let e = run(&Grep, &f, json!({"pattern": "SECRET", "path": "innocent.txt"}));
        assert!(e.is_error && !e.joined_text().contains("sk-SECRET"));
        let e = run(&Grep, &f, json!({"pattern": "SECRET", "path": "h"}));
        assert!(e.is_error && e.joined_text().contains("pincer's home"));
        let glob = ok(run(&Glob, &f, json!({"pattern": "**/*"})));
        assert_eq!(lines(&glob), ["h", "innocent.txt"], "links are listed, never entered");
        let e = run(&Glob, &f, json!({"pattern": "h/**/*"}));
        assert!(e.is_error && e.joined_text().contains("pincer's home"), "{}", e.joined_text());
    }

    #[test]
    fn grep_reports_path_line_text_sorted_with_filters() {
        let f = Fixture::new();
        project(&f);
        let out = run(&Grep, &f, json!({"pattern": "hello"}));
        assert_eq!(lines(&ok(out.clone())), ["build.rs:1:fn main() {} // hello", "src/lib/mod.rs:1:pub fn hello() {}"]);
        assert_eq!(out.summary, "2 matches in 2 files");
        let ci = ok(run(&Grep, &f, json!({"pattern": "hello", "case_insensitive": true, "glob": "*.md"})));
        assert_eq!(lines(&ci), ["README.md:1:Say HELLO"]);
        let one = ok(run(&Grep, &f, json!({"pattern": "print", "path": "src/main.rs"})));
        assert_eq!(lines(&one), ["src/main.rs:2:    println!(\"Hello\");"]);
        // An explicit file is searched even when ignored.
        assert_eq!(
            lines(&ok(run(&Grep, &f, json!({"pattern": "log", "path": "debug.log"})))),
            ["debug.log:1:hello log"]
        );
        let none = ok(run(&Grep, &f, json!({"pattern": "absent"})));
        assert!(none.starts_with("no matches for `absent` in . (4 files searched"), "{none}");
        put(&f, "crlf.txt", "ends here\r\nnot here x\r\n");
        assert_eq!(lines(&ok(run(&Grep, &f, json!({"pattern": "here$"})))), ["crlf.txt:1:ends here"]);
        let bad = run(&Grep, &f, json!({"pattern": "(unclosed"}));
        assert!(bad.is_error && bad.joined_text().contains("invalid regex"));
        let bad = run(&Grep, &f, json!({"pattern": "x", "glob": "{"}));
        assert!(bad.is_error && bad.joined_text().contains("invalid glob"));
        let bad = run(&Grep, &f, json!({"pattern": "x", "case_insensitive": "yes"}));
        assert_eq!(bad.joined_text(), "field `case_insensitive` must be a boolean, not a string");
    }

    #[test]
    fn grep_skips_binary_files_and_clips_long_lines() {
        let f = Fixture::new();
        put(&f, "a.bin", "needle\0binary");
        let long = format!("{}needle{}\n", "x".repeat(5000), "é".repeat(3000));
        put(&f, "b.min.js", &long);
        let text = ok(run(&Grep, &f, json!({"pattern": "needle"})));
        let found = lines(&text);
        assert_eq!(found.len(), 2, "{text}");
        assert!(
            found[0].starts_with("b.min.js:1:…xxx") && found[0].contains("needle") && found[0].ends_with("é…"),
            "{}",
            found[0]
        );
        assert!(found[0].len() < GREP_LINE_CLIP + 40);
        assert_eq!(found[1], "[1 binary files skipped]");
        let single = ok(run(&Grep, &f, json!({"pattern": "needle", "path": "a.bin"})));
        assert_eq!(single, "a.bin is a binary file; not searched");
    }

    #[test]
    fn grep_caps_matches_and_bytes_and_counts_the_rest() {
        let f = Fixture::new();
        for n in 0..3 {
            put(&f, &format!("f{n}.txt"), &"match here\n".repeat(150));
        }
        let text = ok(run(&Grep, &f, json!({"pattern": "match"})));
        assert_eq!(text.lines().filter(|l| l.contains(":match here")).count(), GREP_MAX_MATCHES);
        assert!(
            text.ends_with(
                "[showing 200 of 450 matches, in 3 files; narrow with path, glob or a more specific pattern]\n"
            ),
            "{text}"
        );
        put(&f, "wide.txt", &format!("{}\n", "match ".repeat(40)).repeat(400));
        let text = ok(run(&Grep, &f, json!({"pattern": "match", "path": "wide.txt"})));
        assert!(text.len() <= SEARCH_MAX_BYTES + 200, "{}", text.len());
        assert!(text.contains("of 400 matches"), "{}", text.lines().last().unwrap());
    }

    fn peak_memory_kib() -> u64 {
        let status = fs::read_to_string("/proc/self/status").unwrap();
        status.lines().find_map(|l| l.strip_prefix("VmHWM:")).unwrap().trim().trim_end_matches(" kB").parse().unwrap()
    }

    #[test]
    fn a_100_mb_single_line_file_is_skipped_with_a_note_not_loaded() {
        let f = Fixture::new();
        let mut file = File::create(f.ws("huge.json")).unwrap();
        let chunk = "a".repeat(1 << 20);
        for _ in 0..100 {
            file.write_all(chunk.as_bytes()).unwrap();
        }
        file.write_all(b"needle\n").unwrap();
        drop(file);
        put(&f, "small.txt", "needle\n");
        let before = peak_memory_kib();
        let text = ok(run(&Grep, &f, json!({"pattern": "needle"})));
        let grown = peak_memory_kib().saturating_sub(before);
        assert!(text.starts_with("small.txt:1:needle\n"), "{text}");
        assert!(text.contains("[only the first 8 MB of very long lines were searched: huge.json:1]"), "{text}");
        assert!(grown < 64 * 1024, "peak memory grew by {grown} KiB");
    }

    #[test]
    fn a_folder_of_100k_entries_is_listed_and_globbed_within_the_caps() {
        const ENTRIES: usize = 100_000;
        let f = Fixture::new();
        let dir = f.ws("many");
        fs::create_dir(&dir).unwrap();
        for i in 0..ENTRIES {
            File::create(dir.join(format!("f{i:06}.txt"))).unwrap();
        }
        let listed = ok(run(&ListDir, &f, json!({"path": "many"})));
        assert_eq!(listed.lines().filter(|l| l.starts_with("file")).count(), crate::tools::files::LIST_MAX_ENTRIES);
        assert!(listed.contains("f000000.txt") && !listed.contains("f001000.txt"));
        assert!(listed.contains("[showing the first 1000 of 100000 entries"), "{}", listed.lines().last().unwrap());
        let globbed = ok(run(&Glob, &f, json!({"pattern": "many/*.txt"})));
        assert_eq!(globbed.lines().filter(|l| l.starts_with("many/")).count(), GLOB_MAX_RESULTS);
        assert!(globbed.starts_with("many/f000000.txt\nmany/f000001.txt\n"));
        assert!(globbed.contains("[showing 500 of 100000 files"), "{}", globbed.lines().last().unwrap());
    }

    #[test]
    fn a_cancelled_walk_stops() {
        let f = Fixture::new();
        project(&f);
        f.cancel.cancel();
        for out in [run(&Glob, &f, json!({"pattern": "**/*"})), run(&Grep, &f, json!({"pattern": "x"}))] {
            assert!(out.is_error && out.joined_text() == "cancelled", "{}", out.joined_text());
        }
    }

    #[test]
    fn walks_under_proc_leave_pincers_process_out() {
        let f = Fixture::new();
        let pid = std::process::id();
        let text = ok(run(&Glob, &f, json!({"pattern": "*/status", "path": "/proc"})));
        assert!(text.contains("1/status"), "{}", &text[..200.min(text.len())]);
        assert!(!text.lines().any(|l| l == format!("/proc/{pid}/status")), "our own process was listed");
        let e = run(&Glob, &f, json!({"pattern": "*", "path": "/proc/self"}));
        assert!(e.is_error && e.joined_text().contains("own process"));
    }

    #[test]
    fn ignore_files_stack_like_ripgreps() {
        let f = Fixture::new();
        put(&f, "outside-repo/.gitignore", "*.txt\n");
        put(&f, "outside-repo/a.txt", "x\n");
        put(&f, "outside-repo/.ignore", "*.tmp\n");
        put(&f, "outside-repo/b.tmp", "x\n");
        // Outside a repository only `.ignore` counts.
        assert_eq!(lines(&ok(run(&Glob, &f, json!({"pattern": "outside-repo/*"})))), ["outside-repo/a.txt"]);
        fs::create_dir_all(f.ws("repo/.git/info")).unwrap();
        put(&f, "repo/.git/info/exclude", "*.excluded\n");
        put(&f, "repo/.gitignore", "*.log\nbuild/\n");
        put(&f, "repo/sub/.gitignore", "!keep.log\n");
        put(&f, "repo/sub/.ignore", "keep.log\n");
        put(&f, "repo/sub/other/.gitignore", "!keep.log\n");
        for name in
            ["a.log", "x.excluded", "build/out.rs", "src.rs", "sub/keep.log", "sub/other/keep.log", "sub/other/z.log"]
        {
            put(&f, &format!("repo/{name}"), "x\n");
        }
        // `.ignore` beats `.gitignore` in one folder; a deeper folder beats both.
        let found = ok(run(&Glob, &f, json!({"pattern": "**/*", "path": "repo"})));
        assert_eq!(lines(&found), ["repo/src.rs", "repo/sub/other/keep.log"]);
        // Searching a subfolder still applies the repository's ignore files above it.
        let found = ok(run(&Grep, &f, json!({"pattern": "x", "path": "repo/sub/other"})));
        assert_eq!(lines(&found), ["repo/sub/other/keep.log:1:x"]);
    }

    #[test]
    fn an_ignore_file_linked_into_the_home_is_not_read() {
        let f = Fixture::home_inside();
        fs::create_dir(f.ws(".git")).unwrap();
        // If the link were followed, the rules would be the credentials file's "lines".
        fs::write(f.home.join("rules"), "*.rs\n").unwrap();
        symlink(f.home.join("rules"), f.ws(".gitignore")).unwrap();
        put(&f, "main.rs", "fn main() {}\n");
        assert_eq!(lines(&ok(run(&Glob, &f, json!({"pattern": "*.rs"})))), ["main.rs"]);
    }

    #[test]
    fn grep_file_filters_work_like_rg_g() {
        let f = Fixture::new();
        project(&f);
        let names = |glob: &str| {
            let text = ok(run(&Grep, &f, json!({"pattern": "hello", "case_insensitive": true, "glob": glob})));
            lines(&text).iter().map(|l| l.split(':').next().unwrap().to_string()).collect::<Vec<_>>()
        };
        assert_eq!(names("*.rs"), ["build.rs", "src/lib/mod.rs", "src/main.rs"]);
        assert_eq!(names("src/**"), ["src/lib/mod.rs", "src/main.rs"]);
        assert_eq!(names("!*.rs"), ["README.md"]);
        assert_eq!(names("src/*.rs"), ["src/main.rs"]);
    }

    #[test]
    fn grep_refuses_patterns_that_cannot_match_within_a_line() {
        let f = Fixture::new();
        let out = run(&Grep, &f, json!({"pattern": "a\nb"}));
        assert!(out.is_error && out.joined_text().contains("one line at a time"), "{}", out.joined_text());
    }

    #[test]
    fn required_literals_are_read_off_conservatively() {
        let lit = |p: &str| required_literal(p);
        assert_eq!(lit("needle").as_deref(), Some("needle"));
        assert_eq!(lit("fn \\w+_test").as_deref(), Some("_test"));
        assert_eq!(lit("colou?r").as_deref(), Some("colo"));
        assert_eq!(lit("ab*c").as_deref(), Some("a"));
        assert_eq!(lit("x{2}yz").as_deref(), Some("yz"));
        assert_eq!(lit("[abc]def").as_deref(), Some("def"));
        assert_eq!(lit("foo|bar"), None);
        assert_eq!(lit("fn \\w+_test\\(").as_deref(), Some("_test"));
        assert_eq!(lit("(?i)needle"), None);
        assert_eq!(lit(".*"), None);
    }

    proptest::proptest! {
        /// Whatever the pattern, a line the regex matches contains the prefilter's literal:
        /// the prefilter never hides a match.
        #[test]
        fn the_prefilter_never_hides_a_match(
            atoms in proptest::collection::vec(
                (
                    proptest::sample::select(vec!["a", "b", "ab", "ba", ".", "[ab]", "[^a]", "\\w", "\\.", "^", "$"]),
                    proptest::sample::select(vec!["", "", "", "*", "?", "+", "{2}", "{0,1}", "*?"]),
                ),
                0..6,
            ),
            hay in "[ab.]{0,12}",
        ) {
            let pattern: String = atoms.iter().map(|(atom, quantifier)| format!("{atom}{quantifier}")).collect();
            let Ok(regex) = Regex::new(&pattern) else { return Ok(()) };
            if let (Some(literal), true) = (required_literal(&pattern), regex.is_match(&hay)) {
                proptest::prop_assert!(hay.contains(&literal), "{pattern:?} matched {hay:?} without {literal:?}");
            }
        }
    }

    fn matched_lines(
        matcher: &LineMatcher,
        text: &str,
        first_buffer: usize,
        max_line: usize,
    ) -> (Vec<u64>, Option<u64>) {
        let found = search_reader(matcher, text.as_bytes(), usize::MAX, first_buffer, max_line).unwrap();
        (found.lines.iter().map(|(n, _)| *n).collect(), found.long_line)
    }

    #[test]
    fn a_line_longer_than_the_buffer_is_searched_in_its_start_then_skipped() {
        let matcher = LineMatcher::new("needle", false).unwrap();
        let text = format!("{}needle\nneedle\n{}needle", "a".repeat(40), "b".repeat(3));
        assert_eq!(matched_lines(&matcher, &text, 4, 16), (vec![2, 3], Some(1)));
        assert_eq!(matched_lines(&matcher, &text, 4, 64), (vec![1, 2, 3], None));
    }

    proptest::proptest! {
        /// Chunked search with prefilters finds exactly the lines a plain per-line match finds,
        /// whatever the buffer sizes.
        #[test]
        fn chunked_search_equals_line_by_line(
            atoms in proptest::collection::vec(
                (
                    proptest::sample::select(vec!["a", "b", "ab", ".", "[ab]", "[^a]", "\\w", "\\b", "^", "$", "A"]),
                    proptest::sample::select(vec!["", "", "*", "?", "+", "{2}"]),
                ),
                1..5,
            ),
            text in "[abA. \r\n]{0,60}",
            case_insensitive in proptest::bool::ANY,
            first_buffer in 1usize..9,
        ) {
            let pattern: String = atoms.iter().map(|(atom, quantifier)| format!("{atom}{quantifier}")).collect();
            let Ok(matcher) = LineMatcher::new(&pattern, case_insensitive) else { return Ok(()) };
            let reference = RegexBuilder::new(&pattern).case_insensitive(case_insensitive).multi_line(true).crlf(true).build().unwrap();
            let expected: Vec<u64> = text
                .split_inclusive('\n')
                .enumerate()
                .filter(|(_, line)| reference.is_match(line.strip_suffix('\n').unwrap_or(line)))
                .map(|(i, _)| i as u64 + 1)
                .collect();
            proptest::prop_assert_eq!(matched_lines(&matcher, &text, first_buffer, 1 << 20).0, expected, "{:?} in {:?}", pattern, text);
        }
    }
}
