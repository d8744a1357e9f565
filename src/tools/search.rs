//! `glob` and `grep` (SPEC §9), on ripgrep's own crates: `ignore` walks (`.gitignore`,
//! `.ignore` and git's excludes respected, hidden files skipped, no symlinks followed — as `rg`
//! does), `grep-regex` and `grep-searcher` match line by line.
//!
//! Walks are single-threaded and sorted by name, so results come in a stable order and a cap
//! keeps the same first ones every time; past a cap the walk goes on only to count. The hard
//! limits hold during a walk: `$PINCER_HOME` is never entered (a note says it was left out),
//! except its `skills/` folder, which is walked on its own without reading the home's ignore
//! files; `/proc` entries of pincer's process are left out. Every file searched is opened
//! without following a symlink and checked by its real path (`paths::open_walked`).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use globset::{GlobBuilder, GlobMatcher};
use grep_matcher::Matcher;
use grep_regex::{RegexMatcher, RegexMatcherBuilder};
use grep_searcher::{BinaryDetection, Searcher, SearcherBuilder, Sink, SinkMatch};
use ignore::WalkBuilder;
use ignore::overrides::{Override, OverrideBuilder};
use serde_json::{Value, json};

use super::files::{Cancellable, bool_arg, is_cancelled, str_arg};
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
/// A line longer than this makes `grep` skip the file (named in a note) instead of holding it
/// in memory.
const GREP_MAX_LINE: usize = 8 * 1024 * 1024;
/// Files walked between progress updates.
const PROGRESS_EVERY: usize = 1000;
/// Files named in a note about files that could not be searched.
const NAMED_FAILURES: usize = 3;
/// Characters that make a glob component a pattern rather than a name.
const GLOB_SPECIAL: &[char] = &['*', '?', '[', ']', '{', '}', '\\'];

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
}

struct WalkSpec<'a> {
    root: &'a Path,
    hidden: bool,
    overrides: Option<Override>,
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
    let skipped_home = Arc::new(AtomicBool::new(false));
    let mut stats = WalkStats::default();
    // A root inside the home (its skills) must not read the home's own ignore files.
    let mut roots = vec![(spec.root.to_path_buf(), !spec.root.starts_with(limits.home()))];
    let mut walked = 0usize;
    let mut i = 0;
    while let Some((root, parents)) = roots.get(i).cloned() {
        i += 1;
        let mut builder = WalkBuilder::new(&root);
        builder.standard_filters(true).hidden(!spec.hidden).parents(parents).follow_links(false);
        builder.sort_by_file_name(|a, b| a.cmp(b));
        if let Some(overrides) = &spec.overrides {
            builder.overrides(overrides.clone());
        }
        let (keep, flag) = (limits.clone(), skipped_home.clone());
        builder.filter_entry(move |entry| {
            let kept = keep.keeps(entry.path());
            if !kept && keep.is_home(entry.path()) {
                flag.store(true, Ordering::Relaxed);
            }
            kept
        });
        for entry in builder.build() {
            if ctx.cancel.is_cancelled() {
                return Err("cancelled".to_string());
            }
            let entry = match entry {
                Ok(entry) => entry,
                Err(_) => {
                    stats.unreadable += 1;
                    continue;
                }
            };
            let Some(kind) = entry.file_type().filter(|t| !t.is_dir()) else { continue };
            walked += 1;
            if walked.is_multiple_of(PROGRESS_EVERY) {
                (ctx.progress)(&format!("{walked} files"));
            }
            if !visit(entry.path(), kind.is_file()) {
                stats.skipped_home |= skipped_home.load(Ordering::Relaxed);
                return Ok(stats);
            }
        }
        // The home was met and left out: its skills may still be searched.
        if i == 1 && skipped_home.load(Ordering::Relaxed) && limits.skills().is_dir() {
            roots.push((limits.skills().to_path_buf(), false));
        }
    }
    stats.skipped_home = skipped_home.load(Ordering::Relaxed);
    Ok(stats)
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
    matcher: GlobMatcher,
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
    let matcher = GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| format!("invalid glob pattern: {e}"))?
        .compile_matcher();
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
        let spec = WalkSpec { root: &plan.walk_root.path, hidden: plan.hidden, overrides: None };
        stats = walk_files(&spec, &limits, ctx, |path, _| {
            let Ok(below) = path.strip_prefix(&plan.walk_root.path) else { return true };
            if plan.matcher.is_match(plan.prefix.join(below)) {
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

struct GrepPlan {
    root: Resolved,
    matcher: RegexMatcher,
    overrides: Option<Override>,
}

fn grep_plan(input: &Value, ctx: &ToolContext<'_>) -> Result<GrepPlan, String> {
    let pattern = str_arg(input, "pattern").unwrap_or_default();
    let matcher = RegexMatcherBuilder::new()
        .case_insensitive(bool_arg(input, "case_insensitive"))
        .line_terminator(Some(b'\n'))
        .build(pattern)
        .map_err(|e| {
            format!(
                "invalid regex: {e}\nhint: the syntax is Rust's regex, as in ripgrep; escape special characters with \\"
            )
        })?;
    let root = resolve_folder(input, ctx)?;
    let overrides = match str_arg(input, "glob") {
        Some(glob) => {
            let mut builder = OverrideBuilder::new(&root.path);
            builder.add(glob).map_err(|e| format!("invalid glob `{}`: {e}", escape_controls(glob)))?;
            Some(builder.build().map_err(|e| format!("invalid glob: {e}"))?)
        }
        None => None,
    };
    Ok(GrepPlan { root, matcher, overrides })
}

impl Tool for Grep {
    fn name(&self) -> &str {
        "grep"
    }

    fn class(&self) -> ToolClass {
        ToolClass::Read
    }

    fn description(&self) -> &str {
        "Search file contents with a regex (Rust syntax, as ripgrep) under `path`, a folder or a file. Answers `path:line:text`, sorted by path; .gitignore is respected, hidden and binary files are skipped. `glob` filters files (`*.rs`). At most 200 matches."
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
}

struct Collect<'m> {
    matcher: &'m RegexMatcher,
    keep: usize,
    cancel: &'m CancelToken,
    found: FileMatches,
}

impl Sink for Collect<'_> {
    type Error = io::Error;

    fn matched(&mut self, _: &Searcher, mat: &SinkMatch<'_>) -> Result<bool, io::Error> {
        self.found.count += 1;
        if self.found.lines.len() < self.keep {
            self.found.lines.push((mat.line_number().unwrap_or(0), clip_line(self.matcher, mat.bytes())));
        }
        Ok(!self.cancel.is_cancelled())
    }

    fn binary_data(&mut self, _: &Searcher, _: u64) -> Result<bool, io::Error> {
        self.found.binary = true;
        Ok(false)
    }
}

/// A matching line for the result: without its line end, and cut around the first match
/// when long.
fn clip_line(matcher: &RegexMatcher, line: &[u8]) -> String {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() <= GREP_LINE_CLIP {
        return String::from_utf8_lossy(line).into_owned();
    }
    let at = matcher.find(line).ok().flatten().map_or(0, |m| m.start());
    let mut start = at.saturating_sub(GREP_LINE_CLIP / 3);
    let mut end = (start + GREP_LINE_CLIP).min(line.len());
    // Cut between characters, not inside one.
    let continuation = |b: u8| b & 0b1100_0000 == 0b1000_0000;
    while start > 0 && continuation(line[start]) {
        start -= 1;
    }
    while end < line.len() && continuation(line[end]) {
        end += 1;
    }
    let before = if start > 0 { "…" } else { "" };
    let after = if end < line.len() { "…" } else { "" };
    format!("{before}{}{after}", String::from_utf8_lossy(&line[start..end]))
}

/// Searches one open file, keeping at most `keep` lines.
fn search_one(
    searcher: &mut Searcher,
    matcher: &RegexMatcher,
    file: File,
    keep: usize,
    cancel: &CancelToken,
) -> io::Result<FileMatches> {
    let mut sink = Collect { matcher, keep, cancel, found: FileMatches::default() };
    searcher.search_reader(matcher, Cancellable::new(file, cancel), &mut sink)?;
    Ok(sink.found)
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
    full: bool,
}

impl Tally {
    fn add(&mut self, shown: &str, found: FileMatches) {
        self.files_searched += 1;
        if found.binary {
            self.binary += 1;
            return;
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

fn grep(tool: &Grep, input: &Value, ctx: &ToolContext<'_>) -> Result<ToolOutput, String> {
    check_input(&tool.input_schema(), input)?;
    let plan = grep_plan(input, ctx)?;
    let limits = HardLimits::new(ctx);
    let mut searcher = SearcherBuilder::new()
        .line_number(true)
        .binary_detection(BinaryDetection::quit(0))
        .heap_limit(Some(GREP_MAX_LINE))
        .build();
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
        match search_one(&mut searcher, &plan.matcher, file, tally.keep(), ctx.cancel) {
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
        let spec = WalkSpec { root: &plan.root.path, hidden: false, overrides: plan.overrides.clone() };
        stats = walk_files(&spec, &limits, ctx, |path, is_file| {
            // Symlinks are not followed, as rg does; devices and pipes are not searched.
            if is_file {
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
    if tally.binary > 0 {
        notes.push(format!("[{} binary files skipped]", tally.binary));
    }
    if !tally.failed.is_empty() {
        let named: Vec<&str> = tally.failed.iter().take(NAMED_FAILURES).map(String::as_str).collect();
        notes.push(format!(
            "[{} files could not be searched (unreadable, or a line over {} MB): {}{}]",
            tally.failed.len(),
            GREP_MAX_LINE / (1024 * 1024),
            named.join(", "),
            if tally.failed.len() > NAMED_FAILURES { ", …" } else { "" }
        ));
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
    use std::fs;
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
        assert!(grep.starts_with("no matches") && !grep.contains("could not be searched"), "{grep}");
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
        assert!(
            text.contains("[1 files could not be searched (unreadable, or a line over 8 MB): huge.json]"),
            "{text}"
        );
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
}
