//! The file tools of SPEC §9: `read_file`, `list_dir` (class `read`), `write_file` and
//! `edit_file` (class `edit`).
//!
//! Paths go through `paths.rs` (resolution and the hard limits), writes through `atomic.rs`
//! (locked, atomic, relative to a verified folder). Reads stream: a file of gigabytes costs one
//! buffer, and a call shows at most [`READ_MAX_LINES`] lines or [`READ_MAX_BYTES`], with a note
//! saying where to continue. Replacing or editing a file needs it to have been read in this
//! conversation: the model must have seen what it changes.

use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use serde_json::{Value, json};

use super::atomic::{self, Folder, WriteError};
use super::diff;
use super::paths::{self, HardLimits, Intent, Resolved, display_path, escape_controls};
use super::{Target, Tool, ToolClass, ToolContext, ToolOutput, check_input, human_bytes};
use crate::cancel::CancelToken;

/// The most `read_file` shows in one call (SPEC §9).
pub const READ_MAX_BYTES: usize = 256 * 1024;
pub const READ_MAX_LINES: usize = 2000;
/// Bytes looked at to tell text from binary.
const SNIFF_BYTES: u64 = 8 * 1024;
/// How far `read_file` reads past what it shows to count the file's lines for its note.
const COUNT_SCAN_LIMIT: u64 = 32 * 1024 * 1024;
const READ_BUFFER: usize = 64 * 1024;
/// Width of the line numbers, as `cat -n`.
const LINE_NUMBER_WIDTH: usize = 6;
/// The most entries `list_dir` shows.
pub const LIST_MAX_ENTRIES: usize = 1000;
/// The largest file `edit_file` loads (and `write_file`/`edit_file` diff for approval).
pub const EDIT_MAX_BYTES: u64 = 16 * 1024 * 1024;
/// Lines shown around each change in `edit_file`'s answer.
const EDIT_CONTEXT_LINES: usize = 3;
const EDIT_ANSWER_MAX_LINES: usize = 80;
/// Lines named in the error for an ambiguous `old_string`.
const AMBIGUOUS_LINES_SHOWN: usize = 10;

/// The four file tools, in the order they are offered.
pub fn tools() -> Vec<Box<dyn Tool>> {
    vec![Box::new(ReadFile), Box::new(ListDir), Box::new(WriteFile), Box::new(EditFile)]
}

pub struct ReadFile;
pub struct ListDir;
pub struct WriteFile;
pub struct EditFile;

// ---- input ----

pub(crate) fn str_arg<'a>(input: &'a Value, name: &str) -> Option<&'a str> {
    input.get(name).and_then(Value::as_str)
}

pub(crate) fn bool_arg(input: &Value, name: &str) -> bool {
    input.get(name).and_then(Value::as_bool).unwrap_or(false)
}

/// An optional integer field that must be at least 1.
fn positive_arg(input: &Value, name: &str) -> Result<Option<u64>, String> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Ok(Some(n)),
            _ => Err(format!("field `{name}` must be at least 1")),
        },
    }
}

fn path_property(what: &str) -> Value {
    json!({"type": "string", "description": what})
}

/// Runs a tool body that reports failures as messages.
fn output(result: Result<ToolOutput, String>) -> ToolOutput {
    result.unwrap_or_else(ToolOutput::error)
}

fn mark_read(ctx: &ToolContext<'_>, path: &Path) {
    ctx.read_files.lock().unwrap_or_else(|e| e.into_inner()).insert(path.to_path_buf());
}

fn was_read(ctx: &ToolContext<'_>, path: &Path) -> bool {
    ctx.read_files.lock().unwrap_or_else(|e| e.into_inner()).contains(path)
}

fn not_read(shown: &str) -> String {
    format!(
        "{shown} exists and has not been read in this conversation; nothing was written\nhint: read it with read_file first, then change it (edit_file for a part of it)"
    )
}

/// A reader that stops with an error once the call is cancelled.
pub(crate) struct Cancellable<'a, R> {
    inner: R,
    cancel: &'a CancelToken,
}

impl<'a, R> Cancellable<'a, R> {
    pub(crate) fn new(inner: R, cancel: &'a CancelToken) -> Self {
        Cancellable { inner, cancel }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cancelled")]
pub(crate) struct Cancelled;

impl<R: Read> Read for Cancellable<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cancel.is_cancelled() {
            return Err(io::Error::other(Cancelled));
        }
        self.inner.read(buf)
    }
}

pub(crate) fn is_cancelled(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Cancelled>())
}

// ---- read_file ----

impl Tool for ReadFile {
    fn name(&self) -> &str {
        "read_file"
    }

    fn class(&self) -> ToolClass {
        ToolClass::Read
    }

    fn description(&self) -> &str {
        "Read a text file. Lines are numbered like `cat -n`; one call shows at most 2000 lines or 256 KiB, with a note giving the offset to continue from. Binary files are refused. Read a file before changing it."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "path": path_property("relative to the workspace, or absolute"),
                "offset": {"type": "integer", "description": "first line to show (1-based)"},
                "limit": {"type": "integer", "description": "lines to show (at most 2000)"},
            },
            "required": ["path"],
        })
    }

    fn access(&self, input: &Value, ctx: &ToolContext<'_>) -> Result<Target, String> {
        check_input(&self.input_schema(), input)?;
        positive_arg(input, "offset")?;
        positive_arg(input, "limit")?;
        Ok(paths::resolve(str_arg(input, "path").unwrap_or_default(), ctx, Intent::Read)
            .map_err(|e| e.to_string())?
            .target())
    }

    fn call(&self, input: &Value, ctx: &ToolContext<'_>) -> ToolOutput {
        output(read_file(self, input, ctx))
    }

    fn display(&self, input: &Value) -> String {
        let path = escape_controls(str_arg(input, "path").unwrap_or_default());
        match input.get("offset").and_then(Value::as_u64) {
            Some(offset) => format!("{path} (from line {offset})"),
            None => path,
        }
    }
}

fn read_file(tool: &ReadFile, input: &Value, ctx: &ToolContext<'_>) -> Result<ToolOutput, String> {
    check_input(&tool.input_schema(), input)?;
    let offset = positive_arg(input, "offset")?.unwrap_or(1);
    let limit = positive_arg(input, "limit")?.map_or(READ_MAX_LINES, |l| l.min(READ_MAX_LINES as u64) as usize);
    let resolved =
        paths::resolve(str_arg(input, "path").unwrap_or_default(), ctx, Intent::Read).map_err(|e| e.to_string())?;
    let shown = resolved.shown();
    let file = paths::open_file(&resolved, &HardLimits::new(ctx)).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| format!("cannot read {shown}: {e}"))?;
    if meta.is_dir() {
        return Err(format!("{shown} is a folder\nhint: use list_dir to see what it holds"));
    }
    if !meta.is_file() {
        return Err(format!(
            "{shown} is {}, not a regular file\nhint: read_file reads files; use bash for devices and pipes",
            atomic::kind_name(&meta.file_type())
        ));
    }
    let io_error =
        |e: io::Error| if is_cancelled(&e) { "cancelled".to_string() } else { format!("cannot read {shown}: {e}") };
    let mut head = Vec::new();
    (&file).take(SNIFF_BYTES).read_to_end(&mut head).map_err(io_error)?;
    if let Some(kind) = binary_kind(&head) {
        return Err(format!(
            "{shown} is a binary file ({kind}, {})\nhint: read_file shows text only",
            human_bytes(meta.len() as usize)
        ));
    }
    let reader =
        BufReader::with_capacity(READ_BUFFER, io::Cursor::new(head).chain(Cancellable::new(&file, ctx.cancel)));
    let page = read_page(reader, offset, limit, READ_MAX_BYTES).map_err(io_error)?;
    mark_read(ctx, &resolved.path);
    if page.shown == 0 && page.note.is_empty() {
        return match page.total {
            Some(0) => Ok(ToolOutput::text(format!("[{shown} is empty]"), "empty")),
            total => Err(format!(
                "offset {offset} is past the end of {shown}, which has {} lines\nhint: read from a smaller offset",
                total.map_or("fewer".to_string(), |t| t.to_string())
            )),
        };
    }
    let last = page.first + page.shown - 1;
    let summary = match (page.first, page.note.is_empty()) {
        (1, true) => format!("{} lines", page.shown),
        _ => format!("lines {}–{last}", page.first),
    };
    Ok(ToolOutput::text(page.text + &page.note, summary))
}

/// What `read_page` showed, and the note saying what was left out.
#[derive(Debug)]
struct Page {
    text: String,
    first: u64,
    shown: u64,
    /// Lines in the file, when known (counted up to [`COUNT_SCAN_LIMIT`] past what was shown).
    total: Option<u64>,
    note: String,
}

enum LineRead {
    /// The whole line (with its newline, unless it is the last line of the file).
    Whole,
    /// The line did not fit: `out` holds its start.
    Clipped,
}

/// Reads one line into `out`, at most `max` bytes of it; `None` at the end of the input.
fn read_line_capped(r: &mut impl BufRead, max: usize, out: &mut Vec<u8>) -> io::Result<Option<LineRead>> {
    let mut any = false;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(any.then_some(LineRead::Whole));
        }
        any = true;
        let room = max - out.len();
        let (take, done) = match memchr::memchr(b'\n', buf) {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if take > room {
            out.extend_from_slice(&buf[..room]);
            r.consume(room);
            return Ok(Some(LineRead::Clipped));
        }
        out.extend_from_slice(&buf[..take]);
        r.consume(take);
        if done {
            return Ok(Some(LineRead::Whole));
        }
    }
}

/// Skips one line without keeping it; false at the end of the input.
fn skip_line(r: &mut impl BufRead) -> io::Result<bool> {
    let mut any = false;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(any);
        }
        any = true;
        match memchr::memchr(b'\n', buf) {
            Some(i) => {
                r.consume(i + 1);
                return Ok(true);
            }
            None => {
                let n = buf.len();
                r.consume(n);
            }
        }
    }
}

/// Lines starting in the rest of the input, reading at most `limit` bytes (`None` past it).
/// `mid_line`: the input starts inside a line, which is not counted.
fn count_rest(r: &mut impl BufRead, limit: u64, mid_line: bool) -> io::Result<Option<u64>> {
    let (mut newlines, mut read, mut last) = (0u64, 0u64, b'\n');
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        if read >= limit {
            return Ok(None);
        }
        newlines += memchr::memchr_iter(b'\n', buf).count() as u64;
        last = buf[buf.len() - 1];
        read += buf.len() as u64;
        let n = buf.len();
        r.consume(n);
    }
    let lines = newlines + u64::from(last != b'\n');
    Ok(Some(if mid_line && read > 0 { lines.saturating_sub(1) } else { lines }))
}

/// Lines `offset..` of the input, numbered, within `limit` lines and `max_bytes`.
fn read_page(mut r: impl BufRead, offset: u64, limit: usize, max_bytes: usize) -> io::Result<Page> {
    let mut line_no = 1;
    while line_no < offset {
        if !skip_line(&mut r)? {
            return Ok(Page {
                text: String::new(),
                first: offset,
                shown: 0,
                total: Some(line_no - 1),
                note: String::new(),
            });
        }
        line_no += 1;
    }
    let mut text = String::new();
    let mut shown = 0u64;
    let mut line = Vec::new();
    enum End {
        Eof,
        Lines,
        Full { mid_line: bool },
        Clipped,
        Binary,
    }
    let end = loop {
        if shown as usize == limit {
            break End::Lines;
        }
        let number = format!("{:>LINE_NUMBER_WIDTH$}\t", offset + shown);
        let room = max_bytes.saturating_sub(text.len() + number.len() + 1);
        if room == 0 {
            break End::Full { mid_line: false };
        }
        line.clear();
        match read_line_capped(&mut r, room, &mut line)? {
            None => break End::Eof,
            Some(read) => {
                if memchr::memchr(0, &line).is_some() {
                    break End::Binary;
                }
                if matches!(read, LineRead::Clipped) && shown > 0 {
                    break End::Full { mid_line: true };
                }
                let body = line.strip_suffix(b"\n").unwrap_or(&line);
                let body = body.strip_suffix(b"\r").unwrap_or(body);
                text.push_str(&number);
                text.push_str(&String::from_utf8_lossy(body));
                text.push('\n');
                shown += 1;
                if matches!(read, LineRead::Clipped) {
                    break End::Clipped;
                }
            }
        }
    };
    let last = offset + shown - u64::from(shown > 0);
    let next = offset + shown;
    let total = match end {
        End::Eof => Some(offset + shown - 1),
        End::Lines | End::Full { mid_line: false } => count_rest(&mut r, COUNT_SCAN_LIMIT, false)?.map(|n| last + n),
        End::Full { mid_line: true } => count_rest(&mut r, COUNT_SCAN_LIMIT, true)?.map(|n| next + n),
        End::Clipped => count_rest(&mut r, COUNT_SCAN_LIMIT, true)?.map(|n| last + n),
        End::Binary => None,
    };
    let of_total = |t: Option<u64>| match t {
        Some(t) => format!("of {t}"),
        None => "of more".to_string(),
    };
    let note = match end {
        _ if total == Some(last) && !matches!(end, End::Clipped | End::Binary) => String::new(),
        End::Eof => String::new(),
        End::Lines | End::Full { .. } => {
            let cap =
                if matches!(end, End::Lines) { String::new() } else { format!(" ({} KiB limit)", max_bytes / 1024) };
            format!("\n[showing lines {offset}–{last}{cap} {}; continue with offset={next}]", of_total(total))
        }
        End::Clipped => {
            let rest = match total {
                Some(t) if t <= last => "no lines follow".to_string(),
                _ => format!("the next line is offset={next}"),
            };
            format!("\n[line {last} is longer than {} KiB and was cut here; {rest}]", max_bytes / 1024)
        }
        End::Binary => format!("\n[line {next} holds binary data (a NUL byte); stopped there]"),
    };
    Ok(Page { text, first: offset, shown, total, note })
}

/// Why the start of a file says it is not text, naming common formats by their magic bytes.
fn binary_kind(head: &[u8]) -> Option<String> {
    let nul = memchr::memchr(0, head).is_some();
    // A character cut at the end of the sniffed bytes is not an error.
    let invalid = std::str::from_utf8(head).is_err_and(|e| e.error_len().is_some());
    if !nul && !invalid {
        return None;
    }
    Some(magic_name(head).unwrap_or(if nul { "binary data" } else { "not UTF-8 text" }).to_string())
}

/// Magic bytes of common formats: (offset, bytes, name).
const MAGIC: &[(usize, &[u8], &str)] = &[
    (0, b"\x89PNG\r\n\x1a\n", "PNG image"),
    (0, b"\xff\xd8\xff", "JPEG image"),
    (0, b"GIF87a", "GIF image"),
    (0, b"GIF89a", "GIF image"),
    (0, b"%PDF-", "PDF document"),
    (0, b"\x7fELF", "ELF executable"),
    (0, b"PK\x03\x04", "zip archive"),
    (0, b"PK\x05\x06", "zip archive"),
    (0, b"\x1f\x8b", "gzip data"),
    (0, b"BZh", "bzip2 data"),
    (0, b"\xfd7zXZ\x00", "xz data"),
    (0, b"\x28\xb5\x2f\xfd", "zstd data"),
    (0, b"7z\xbc\xaf\x27\x1c", "7z archive"),
    (257, b"ustar", "tar archive"),
    (0, b"SQLite format 3\x00", "SQLite database"),
    (0, b"\x00asm", "WebAssembly module"),
    (0, b"\xca\xfe\xba\xbe", "Java class or Mach-O binary"),
    (0, b"\xcf\xfa\xed\xfe", "Mach-O binary"),
    (0, b"MZ", "Windows executable"),
    (8, b"WEBP", "WebP image"),
    (8, b"WAVE", "WAV audio"),
    (0, b"OggS", "Ogg media"),
    (0, b"ID3", "MP3 audio"),
    (0, b"fLaC", "FLAC audio"),
    (4, b"ftyp", "MP4/QuickTime media"),
    (0, b"\x1a\x45\xdf\xa3", "Matroska/WebM media"),
    (0, b"\xff\xfe", "UTF-16 text"),
    (0, b"\xfe\xff", "UTF-16 text"),
];

fn magic_name(head: &[u8]) -> Option<&'static str> {
    MAGIC.iter().find(|(at, magic, _)| head.get(*at..at + magic.len()) == Some(magic)).map(|(_, _, name)| *name)
}

// ---- list_dir ----

impl Tool for ListDir {
    fn name(&self) -> &str {
        "list_dir"
    }

    fn class(&self) -> ToolClass {
        ToolClass::Read
    }

    fn description(&self) -> &str {
        "List a folder: kind, size and name of each entry, sorted by name, hidden ones included; symlinks show their target. At most 1000 entries."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {"path": path_property("folder; default: the workspace")},
        })
    }

    fn access(&self, input: &Value, ctx: &ToolContext<'_>) -> Result<Target, String> {
        check_input(&self.input_schema(), input)?;
        Ok(paths::resolve(str_arg(input, "path").unwrap_or("."), ctx, Intent::Read)
            .map_err(|e| e.to_string())?
            .target())
    }

    fn call(&self, input: &Value, ctx: &ToolContext<'_>) -> ToolOutput {
        output(list_dir(self, input, ctx))
    }

    fn display(&self, input: &Value) -> String {
        escape_controls(str_arg(input, "path").unwrap_or("."))
    }
}

fn list_dir(tool: &ListDir, input: &Value, ctx: &ToolContext<'_>) -> Result<ToolOutput, String> {
    check_input(&tool.input_schema(), input)?;
    let resolved =
        paths::resolve(str_arg(input, "path").unwrap_or("."), ctx, Intent::Read).map_err(|e| e.to_string())?;
    let shown = resolved.shown();
    if resolved.path.exists() && !resolved.path.is_dir() {
        return Err(format!("{shown} is a file, not a folder\nhint: use read_file to read it"));
    }
    let dir = paths::open_dir(&resolved.path, &HardLimits::new(ctx)).map_err(|e| e.to_string())?;
    // Entries are read through the verified handle, not the path (see `paths.rs`).
    let base = paths::listing_path(&dir, &resolved.path);
    let cannot = |e: io::Error| format!("cannot list {shown}: {e}");
    let mut names = Vec::new();
    for entry in fs::read_dir(&base).map_err(cannot)? {
        if ctx.cancel.is_cancelled() {
            return Err("cancelled".to_string());
        }
        names.push(entry.map_err(cannot)?.file_name());
    }
    names.sort();
    let total = names.len();
    if total == 0 {
        return Ok(ToolOutput::text(format!("{shown}: empty folder"), "empty"));
    }
    let mut text = format!("{shown}: {total} entries\n");
    for name in names.iter().take(LIST_MAX_ENTRIES) {
        let entry = base.join(name);
        let shown_name = display_path(Path::new(name));
        let (kind, size, suffix) = match fs::symlink_metadata(&entry) {
            Ok(meta) => describe_entry(&meta, &entry),
            Err(_) => ("?", "-".to_string(), String::new()),
        };
        let home = if resolved.path.join(name) == ctx.home { "  (pincer's home: off limits to tools)" } else { "" };
        let slash = if kind == "dir" { "/" } else { "" };
        text.push_str(&format!("{kind:<6} {size:>9}  {shown_name}{slash}{suffix}{home}\n"));
    }
    if total > LIST_MAX_ENTRIES {
        text.push_str(&format!(
            "[showing the first {LIST_MAX_ENTRIES} of {total} entries (by name); list a subfolder, or use glob with a pattern, to narrow]\n"
        ));
    }
    Ok(ToolOutput::text(text, format!("{total} entries")))
}

fn describe_entry(meta: &fs::Metadata, path: &Path) -> (&'static str, String, String) {
    let t = meta.file_type();
    if t.is_symlink() {
        let target = fs::read_link(path).map(|t| display_path(&t)).unwrap_or_else(|_| "?".to_string());
        ("link", "-".to_string(), format!(" -> {target}"))
    } else if t.is_dir() {
        ("dir", "-".to_string(), String::new())
    } else if t.is_file() {
        ("file", human_bytes(meta.len() as usize), String::new())
    } else {
        (special_kind(&t), "-".to_string(), String::new())
    }
}

/// What an entry that is no file, folder or link is, in a word.
#[cfg(unix)]
fn special_kind(t: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        "fifo"
    } else if t.is_socket() {
        "socket"
    } else {
        "device"
    }
}

/// Windows keeps no pipes, sockets or devices among a folder's entries.
#[cfg(windows)]
fn special_kind(_: &fs::FileType) -> &'static str {
    "special"
}

// ---- write_file ----

impl Tool for WriteFile {
    fn name(&self) -> &str {
        "write_file"
    }

    fn class(&self) -> ToolClass {
        ToolClass::Edit
    }

    fn description(&self) -> &str {
        "Create a file, or replace one read in this conversation, with `content` (the whole file). Missing folders are created. Workspace only. To change part of a file use edit_file."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "path": path_property("file in the workspace"),
                "content": {"type": "string", "description": "the whole new content"},
            },
            "required": ["path", "content"],
        })
    }

    fn access(&self, input: &Value, ctx: &ToolContext<'_>) -> Result<Target, String> {
        check_input(&self.input_schema(), input)?;
        let resolved = paths::resolve(str_arg(input, "path").unwrap_or_default(), ctx, Intent::Write)
            .map_err(|e| e.to_string())?;
        // Refused before anyone is asked to approve it (`call` checks again, under the lock).
        if resolved.path.is_file() && !was_read(ctx, &resolved.path) {
            return Err(not_read(&resolved.shown()));
        }
        Ok(resolved.target())
    }

    fn call(&self, input: &Value, ctx: &ToolContext<'_>) -> ToolOutput {
        output(write_file(self, input, ctx))
    }

    fn display(&self, input: &Value) -> String {
        let lines = str_arg(input, "content").map_or(0, count_lines);
        format!("{} ({lines} lines)", escape_controls(str_arg(input, "path").unwrap_or_default()))
    }

    fn approval_detail(&self, input: &Value, ctx: &ToolContext<'_>) -> String {
        let (Some(path), Some(content)) = (str_arg(input, "path"), str_arg(input, "content")) else {
            return serde_json::to_string_pretty(input).unwrap_or_default();
        };
        let Ok(resolved) = paths::resolve(path, ctx, Intent::Write) else {
            return serde_json::to_string_pretty(input).unwrap_or_default();
        };
        let shown = resolved.shown();
        match current_text(&resolved, ctx) {
            Ok(None) => diff::unified("", content, "/dev/null", &shown),
            Ok(Some(old)) if old == content => format!("{shown}: no change (the content is what the file holds)"),
            Ok(Some(old)) => diff::unified(&old, content, &shown, &shown),
            Err(why) => format!("replaces {shown} ({why}) with:\n{}", diff::unified("", content, "/dev/null", &shown)),
        }
    }
}

fn count_lines(text: &str) -> usize {
    text.lines().count()
}

fn write_file(tool: &WriteFile, input: &Value, ctx: &ToolContext<'_>) -> Result<ToolOutput, String> {
    check_input(&tool.input_schema(), input)?;
    let content = str_arg(input, "content").unwrap_or_default();
    let resolved =
        paths::resolve(str_arg(input, "path").unwrap_or_default(), ctx, Intent::Write).map_err(|e| e.to_string())?;
    let shown = resolved.shown();
    let (Some(parent), Some(name)) = (resolved.path.parent(), resolved.path.file_name()) else {
        return Err(format!("{shown} is a folder\nhint: give the path of a file"));
    };
    let limits = HardLimits::new(ctx);
    let folder = Folder::open_or_create(parent, &limits).map_err(|e| e.to_string())?;
    let err = |e: WriteError| e.to_string();
    let verb = match folder.lock(name, ctx.cancel).map_err(err)? {
        Some(locked) => {
            if !was_read(ctx, &resolved.path) {
                return Err(not_read(&shown));
            }
            folder.replace(&locked, content.as_bytes()).map_err(err)?;
            "Replaced"
        }
        None => {
            folder.create(name, content.as_bytes()).map_err(err)?;
            "Created"
        }
    };
    mark_read(ctx, &resolved.path);
    let lines = count_lines(content);
    Ok(ToolOutput::text(
        format!("{verb} {shown} ({lines} lines, {})", human_bytes(content.len())),
        format!("{} · {lines} lines", verb.to_lowercase()),
    ))
}

/// The file's text as it is now, for a diff: `None` when it does not exist.
fn current_text(resolved: &Resolved, ctx: &ToolContext<'_>) -> Result<Option<String>, String> {
    if fs::symlink_metadata(&resolved.path).is_err() {
        return Ok(None);
    }
    let file = paths::open_file(resolved, &HardLimits::new(ctx)).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err(atomic::kind_name(&meta.file_type()).to_string());
    }
    if meta.len() > EDIT_MAX_BYTES {
        return Err(human_bytes(meta.len() as usize));
    }
    let mut bytes = Vec::new();
    (&file).take(EDIT_MAX_BYTES).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map(Some).map_err(|_| "binary or not UTF-8".to_string())
}

// ---- edit_file ----

impl Tool for EditFile {
    fn name(&self) -> &str {
        "edit_file"
    }

    fn class(&self) -> ToolClass {
        ToolClass::Edit
    }

    fn description(&self) -> &str {
        "Replace `old_string` with `new_string` in a file read in this conversation. `old_string` must match exactly once, with its indentation and without line numbers, unless `replace_all` is true. Answers with the changed lines."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "path": path_property("file in the workspace"),
                "old_string": {"type": "string", "description": "exact text to replace"},
                "new_string": {"type": "string", "description": "replacement text"},
                "replace_all": {"type": "boolean", "description": "replace every match"},
            },
            "required": ["path", "old_string", "new_string"],
        })
    }

    fn access(&self, input: &Value, ctx: &ToolContext<'_>) -> Result<Target, String> {
        check_input(&self.input_schema(), input)?;
        let edit = EditArgs::from(input).ok_or("missing field")?;
        // What can be refused before anyone is asked to approve it (`call` checks it all again).
        Ok(check_edit(&edit, ctx)?.target())
    }

    fn call(&self, input: &Value, ctx: &ToolContext<'_>) -> ToolOutput {
        output(edit_file(self, input, ctx))
    }

    fn display(&self, input: &Value) -> String {
        escape_controls(str_arg(input, "path").unwrap_or_default())
    }

    fn approval_detail(&self, input: &Value, ctx: &ToolContext<'_>) -> String {
        let args = || serde_json::to_string_pretty(input).unwrap_or_default();
        let Some(edit) = EditArgs::from(input) else { return args() };
        let Ok(resolved) = paths::resolve(edit.path, ctx, Intent::Write) else { return args() };
        let shown = resolved.shown();
        match current_text(&resolved, ctx) {
            Ok(Some(old)) => match apply_edit(&old, &edit, &shown) {
                Ok(edited) => diff::unified(&old, &edited.text, &shown, &shown),
                Err(why) => format!("this edit would fail: {why}\n{}", args()),
            },
            Ok(None) => format!("this edit would fail: {shown} does not exist\n{}", args()),
            Err(why) => format!("this edit would fail: {shown} is {why}\n{}", args()),
        }
    }
}

struct EditArgs<'a> {
    path: &'a str,
    old: &'a str,
    new: &'a str,
    replace_all: bool,
}

impl<'a> EditArgs<'a> {
    fn from(input: &'a Value) -> Option<EditArgs<'a>> {
        Some(EditArgs {
            path: str_arg(input, "path")?,
            old: str_arg(input, "old_string")?,
            new: str_arg(input, "new_string")?,
            replace_all: bool_arg(input, "replace_all"),
        })
    }
}

/// The checks of an edit that need no lock: the input, the path, the file exists and was read.
fn check_edit(edit: &EditArgs<'_>, ctx: &ToolContext<'_>) -> Result<Resolved, String> {
    let resolved = paths::resolve(edit.path, ctx, Intent::Write).map_err(|e| e.to_string())?;
    let shown = resolved.shown();
    if edit.old.is_empty() {
        return Err("`old_string` is empty\nhint: to create a file or replace all of it, use write_file".to_string());
    }
    if edit.old == edit.new {
        return Err("`old_string` and `new_string` are the same: nothing would change".to_string());
    }
    if fs::symlink_metadata(&resolved.path).is_err() {
        return Err(missing(&shown));
    }
    if resolved.path.is_dir() {
        return Err(format!("{shown} is a folder\nhint: give the path of a file"));
    }
    if !was_read(ctx, &resolved.path) {
        return Err(not_read(&shown));
    }
    Ok(resolved)
}

fn missing(shown: &str) -> String {
    format!("{shown} does not exist\nhint: create it with write_file")
}

fn edit_file(tool: &EditFile, input: &Value, ctx: &ToolContext<'_>) -> Result<ToolOutput, String> {
    check_input(&tool.input_schema(), input)?;
    let edit = EditArgs::from(input).ok_or("missing field")?;
    let resolved = check_edit(&edit, ctx)?;
    let shown = resolved.shown();
    let missing = || missing(&shown);
    let (Some(parent), Some(name)) = (resolved.path.parent(), resolved.path.file_name()) else {
        return Err(format!("{shown} is a folder\nhint: give the path of a file"));
    };
    let folder = Folder::open(parent, &HardLimits::new(ctx)).map_err(|e| e.to_string())?;
    let err = |e: WriteError| e.to_string();
    let locked = folder.lock(name, ctx.cancel).map_err(err)?.ok_or_else(missing)?;
    let bytes = locked.read_all(EDIT_MAX_BYTES, &shown).map_err(err)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        format!("{shown} is not UTF-8 text, so edit_file cannot keep its bytes\nhint: use bash (sed, a script) for it")
    })?;
    let edited = apply_edit(&text, &edit, &shown)?;
    folder.replace(&locked, edited.text.as_bytes()).map_err(err)?;
    drop(locked);
    mark_read(ctx, &resolved.path);
    let n = edited.spans.len();
    let plural = if n == 1 { "replacement" } else { "replacements" };
    let body = changed_lines(&edited.text, &edited.spans);
    Ok(ToolOutput::text(format!("Edited {shown}: {n} {plural}\n{body}"), format!("{n} {plural}")))
}

/// The new text and where the replacements are in it (byte ranges).
#[derive(Debug)]
struct Edited {
    text: String,
    spans: Vec<(usize, usize)>,
}

fn apply_edit(text: &str, edit: &EditArgs<'_>, shown: &str) -> Result<Edited, String> {
    let (mut old, mut new) = (edit.old.to_string(), edit.new.to_string());
    // A file with CRLF line ends, and a model that wrote LF: match as the file is written.
    if !text.contains(&old) && old.contains('\n') && !old.contains('\r') && text.contains("\r\n") {
        let crlf = old.replace('\n', "\r\n");
        if text.contains(&crlf) {
            (old, new) = (crlf, new.replace('\n', "\r\n"));
        }
    }
    let starts: Vec<usize> = text.match_indices(&old).map(|(i, _)| i).collect();
    let line_of = |i: usize| text[..i].matches('\n').count() + 1;
    let first_char = old.chars().next().map_or(1, char::len_utf8);
    match starts.len() {
        0 => return Err(not_found(text, &old, shown)),
        1 if !edit.replace_all => {
            // Overlapping matches (`aa` in `aaa`) make it ambiguous too.
            if let Some(second) = text[starts[0] + first_char..].find(&old) {
                let lines = [line_of(starts[0]), line_of(starts[0] + first_char + second)];
                return Err(ambiguous(2, &lines, shown));
            }
        }
        n if !edit.replace_all => {
            let lines: Vec<usize> = starts.iter().take(AMBIGUOUS_LINES_SHOWN).map(|&i| line_of(i)).collect();
            return Err(ambiguous(n, &lines, shown));
        }
        _ => {}
    }
    let mut out = String::with_capacity(text.len() + starts.len() * new.len());
    let mut spans = Vec::with_capacity(starts.len());
    let mut copied = 0;
    for &start in &starts {
        out.push_str(&text[copied..start]);
        spans.push((out.len(), out.len() + new.len()));
        out.push_str(&new);
        copied = start + old.len();
    }
    out.push_str(&text[copied..]);
    Ok(Edited { text: out, spans })
}

fn ambiguous(n: usize, lines: &[usize], shown: &str) -> String {
    let mut lines: Vec<String> = lines.iter().map(usize::to_string).collect();
    lines.dedup();
    if n > lines.len() {
        lines.push("…".to_string());
    }
    format!(
        "`old_string` matches {n} times in {shown} (at lines {})\nhint: include more of the surrounding lines to make it unique, or set replace_all to change every one",
        lines.join(", ")
    )
}

fn not_found(text: &str, old: &str, shown: &str) -> String {
    let numbered = old.lines().filter(|l| !l.trim().is_empty()).all(|l| {
        let l = l.trim_start();
        let digits = l.len() - l.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        digits > 0 && l[digits..].starts_with('\t')
    });
    let hint = if numbered {
        "hint: leave out the line numbers read_file shows (the number and the tab after it)".to_string()
    } else {
        let first = old.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
        let near: Vec<String> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !first.is_empty() && l.trim() == first)
            .map(|(i, _)| (i + 1).to_string())
            .take(5)
            .collect();
        if near.is_empty() {
            "hint: copy it exactly from read_file's output; the file may have changed, so read it again".to_string()
        } else {
            format!(
                "hint: its first line appears at line {} with other whitespace, or followed by other lines: copy the text exactly as read_file shows it",
                near.join(", ")
            )
        }
    };
    format!("`old_string` was not found in {shown}\n{hint}")
}

/// The lines around each replacement, numbered like read_file, within a line budget.
fn changed_lines(text: &str, spans: &[(usize, usize)]) -> String {
    let starts: Vec<usize> =
        std::iter::once(0).chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1)).collect();
    let line_count = if text.ends_with('\n') { starts.len() - 1 } else { starts.len() };
    let line_of = |i: usize| starts.partition_point(|&s| s <= i) - 1;
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for &(from, to) in spans {
        let final_line = line_count.saturating_sub(1);
        let first = line_of(from).min(final_line);
        let last = line_of(to.saturating_sub(1).max(from)).min(final_line);
        let range = (first.saturating_sub(EDIT_CONTEXT_LINES), (last + EDIT_CONTEXT_LINES).min(final_line));
        match ranges.last_mut() {
            Some(prev) if range.0 <= prev.1 + 1 => prev.1 = prev.1.max(range.1),
            _ => ranges.push(range),
        }
    }
    if line_count == 0 {
        return "[the file is now empty]\n".to_string();
    }
    let mut out = String::new();
    let mut printed = 0;
    for (n, &(first, last)) in ranges.iter().enumerate() {
        if printed >= EDIT_ANSWER_MAX_LINES {
            out.push_str(&format!("[… {} more changed places not shown]\n", ranges.len() - n));
            break;
        }
        if n > 0 {
            out.push_str("     …\n");
        }
        for line in first..=last {
            if printed >= EDIT_ANSWER_MAX_LINES {
                break;
            }
            let end = starts.get(line + 1).copied().unwrap_or(text.len());
            let body = text[starts[line].min(text.len())..end].trim_end_matches('\n').trim_end_matches('\r');
            out.push_str(&format!("{:>LINE_NUMBER_WIDTH$}\t{body}\n", line + 1));
            printed += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::paths::tests::Fixture;
    use std::fs::File;
    use std::os::unix::fs::{PermissionsExt, symlink};

    /// Runs a call as the turn does: `access` first, then `call`.
    pub(crate) fn run(tool: &dyn Tool, f: &Fixture, input: Value) -> ToolOutput {
        match tool.access(&input, &f.ctx()) {
            Ok(_) => tool.call(&input, &f.ctx()),
            Err(e) => ToolOutput::error(e),
        }
    }

    fn ok(out: ToolOutput) -> String {
        assert!(!out.is_error, "unexpected error: {}", out.joined_text());
        out.joined_text()
    }

    fn err(out: ToolOutput) -> String {
        assert!(out.is_error, "expected an error, got: {}", out.joined_text());
        out.joined_text()
    }

    fn numbered(range: std::ops::RangeInclusive<usize>) -> String {
        range.map(|i| format!("line {i}\n")).collect()
    }

    #[test]
    fn read_file_numbers_lines_and_pages_with_offset_and_limit() {
        let f = Fixture::new();
        fs::write(f.ws("a.txt"), numbered(1..=10)).unwrap();
        let all = ok(run(&ReadFile, &f, json!({"path": "a.txt"})));
        assert!(all.starts_with("     1\tline 1\n     2\tline 2\n"), "{all}");
        assert!(all.ends_with("    10\tline 10\n"), "{all}");
        assert!(f.read_files.lock().unwrap().contains(&f.ws("a.txt")));
        let page = ok(run(&ReadFile, &f, json!({"path": "a.txt", "offset": 4, "limit": 2})));
        assert_eq!(page, "     4\tline 4\n     5\tline 5\n\n[showing lines 4–5 of 10; continue with offset=6]");
        let tail = ok(run(&ReadFile, &f, json!({"path": "a.txt", "offset": 9, "limit": 5})));
        assert_eq!(tail, "     9\tline 9\n    10\tline 10\n");
        let past = err(run(&ReadFile, &f, json!({"path": "a.txt", "offset": 11})));
        assert!(past.contains("past the end") && past.contains("has 10 lines"), "{past}");
        fs::write(f.ws("empty"), "").unwrap();
        assert_eq!(ok(run(&ReadFile, &f, json!({"path": "empty"}))), "[empty is empty]");
        // CRLF line ends are not shown; the last line needs no newline.
        fs::write(f.ws("crlf"), "a\r\nb").unwrap();
        assert_eq!(ok(run(&ReadFile, &f, json!({"path": "crlf"}))), "     1\ta\n     2\tb\n");
    }

    #[test]
    fn read_file_caps_lines_and_bytes_with_a_note_to_continue() {
        let f = Fixture::new();
        fs::write(f.ws("long"), numbered(1..=3000)).unwrap();
        let out = run(&ReadFile, &f, json!({"path": "long"}));
        let text = ok(out.clone());
        assert_eq!(text.lines().filter(|l| l.contains("\tline ")).count(), READ_MAX_LINES);
        assert!(
            text.ends_with("[showing lines 1–2000 of 3000; continue with offset=2001]"),
            "{}",
            &text[text.len() - 80..]
        );
        assert_eq!(out.summary, "lines 1–2000");
        let wide: String = (1..=400).map(|i| format!("{i:04}{}\n", "x".repeat(1020))).collect();
        fs::write(f.ws("wide"), &wide).unwrap();
        let text = ok(run(&ReadFile, &f, json!({"path": "wide"})));
        assert!(text.len() <= READ_MAX_BYTES + 200, "{}", text.len());
        let note = text.lines().last().unwrap();
        assert!(
            note.starts_with("[showing lines 1–") && note.contains("256 KiB limit") && note.contains("of 400"),
            "{note}"
        );
        // One line longer than the cap: its start, and where the next line is.
        fs::write(f.ws("one-line"), format!("{}\nafter\n", "y".repeat(READ_MAX_BYTES * 2))).unwrap();
        let text = ok(run(&ReadFile, &f, json!({"path": "one-line"})));
        assert!(
            text.ends_with("[line 1 is longer than 256 KiB and was cut here; the next line is offset=2]"),
            "{}",
            &text[text.len() - 100..]
        );
        assert_eq!(ok(run(&ReadFile, &f, json!({"path": "one-line", "offset": 2}))), "     2\tafter\n");
    }

    #[test]
    fn read_file_returns_escape_sequences_intact() {
        let f = Fixture::new();
        let nasty = "\x1b[2J\x1b]0;owned\x07 \u{202e}evil\r\n[showing lines 1–1 of 1]\n";
        fs::write(f.ws("nasty"), nasty).unwrap();
        let text = ok(run(&ReadFile, &f, json!({"path": "nasty"})));
        assert_eq!(text, "     1\t\x1b[2J\x1b]0;owned\x07 \u{202e}evil\n     2\t[showing lines 1–1 of 1]\n");
    }

    #[test]
    fn binary_files_are_refused_with_their_size_and_type() {
        let f = Fixture::new();
        let cases: [(&str, &[u8], &str); 6] = [
            ("img.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "PNG image"),
            ("a.out", b"\x7fELF\x02\x01\x01\0\0\0", "ELF executable"),
            ("x.gz", b"\x1f\x8b\x08\0\0\0\0\0", "gzip data"),
            ("doc.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF document"),
            ("blob", b"abc\0def", "binary data"),
            ("latin1.txt", b"caf\xe9 cr\xe8me\n", "not UTF-8 text"),
        ];
        for (name, bytes, kind) in cases {
            fs::write(f.ws(name), bytes).unwrap();
            let e = err(run(&ReadFile, &f, json!({"path": name})));
            assert!(e.contains(kind) && e.contains(&format!("{} bytes", bytes.len())), "{name}: {e}");
        }
        assert!(!f.read_files.lock().unwrap().contains(&f.ws("blob")));
    }

    #[test]
    fn folders_pipes_and_missing_files_get_clear_errors() {
        let f = Fixture::new();
        fs::create_dir(f.ws("dir")).unwrap();
        assert!(err(run(&ReadFile, &f, json!({"path": "dir"}))).contains("use list_dir"));
        let fifo = std::ffi::CString::new(f.ws("fifo").to_str().unwrap()).unwrap();
        // SAFETY: a valid C string.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        // Opening a FIFO without a writer would block for ever: it must not.
        assert!(err(run(&ReadFile, &f, json!({"path": "fifo"}))).contains("a named pipe, not a regular file"));
        assert!(err(run(&ReadFile, &f, json!({"path": "nope"}))).contains("nope does not exist"));
        assert!(err(run(&ReadFile, &f, json!({"path": "/dev/zero"}))).contains("a device"));
    }

    /// An endless reader that counts what was taken from it.
    struct Endless {
        byte: u8,
        taken: u64,
    }

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            buf.fill(self.byte);
            self.taken += buf.len() as u64;
            Ok(buf.len())
        }
    }

    #[test]
    fn reading_never_takes_more_than_the_caps_from_an_endless_file() {
        for byte in [b'a', 0] {
            let mut source = Endless { byte, taken: 0 };
            let page = read_page(BufReader::new(&mut source), 1, READ_MAX_LINES, READ_MAX_BYTES).unwrap();
            assert!(page.text.len() <= READ_MAX_BYTES);
            assert!(
                source.taken <= READ_MAX_BYTES as u64 + COUNT_SCAN_LIMIT + 2 * READ_BUFFER as u64,
                "{}",
                source.taken
            );
        }
    }

    fn peak_memory_kib() -> u64 {
        let status = fs::read_to_string("/proc/self/status").unwrap();
        status.lines().find_map(|l| l.strip_prefix("VmHWM:")).unwrap().trim().trim_end_matches(" kB").parse().unwrap()
    }

    #[test]
    fn a_sparse_4_gb_file_is_not_read_whole() {
        let f = Fixture::new();
        const SIZE: u64 = 4 << 30;
        let before = peak_memory_kib();
        let sparse = File::create(f.ws("sparse")).unwrap();
        sparse.set_len(SIZE).unwrap();
        assert!(err(run(&ReadFile, &f, json!({"path": "sparse"}))).contains("binary data, 4295.0 MB"));
        // Text first, then gigabytes of holes: the text, then a stop at the binary part.
        let mut text = File::create(f.ws("text-then-holes")).unwrap();
        std::io::Write::write_all(&mut text, numbered(1..=2000).as_bytes()).unwrap();
        text.set_len(SIZE).unwrap();
        let out = ok(run(&ReadFile, &f, json!({"path": "text-then-holes", "limit": 10})));
        assert!(out.ends_with("[showing lines 1–10 of more; continue with offset=11]"), "{out}");
        let out = ok(run(&ReadFile, &f, json!({"path": "text-then-holes", "offset": 1990})));
        assert!(out.ends_with("[line 2001 holds binary data (a NUL byte); stopped there]"), "{out}");
        let grown = peak_memory_kib().saturating_sub(before);
        assert!(grown < 256 * 1024, "peak memory grew by {grown} KiB");
    }

    #[test]
    fn inputs_of_the_wrong_shape_name_the_field() {
        let f = Fixture::new();
        assert_eq!(err(run(&ReadFile, &f, json!({"path": 3}))), "field `path` must be a string, not a number");
        assert_eq!(err(run(&ReadFile, &f, json!({}))), "missing field `path`");
        assert_eq!(err(run(&ReadFile, &f, json!({"path": "a", "offset": 0}))), "field `offset` must be at least 1");
        assert_eq!(err(run(&ReadFile, &f, json!({"path": "a", "limit": -5}))), "field `limit` must be at least 1");
        assert!(err(run(&ReadFile, &f, json!({"path": "a", "lines": 5}))).starts_with("unknown field `lines`"));
        assert_eq!(err(run(&EditFile, &f, json!({"path": "a", "new_string": ""}))), "missing field `old_string`");
        assert_eq!(
            err(run(&EditFile, &f, json!({"path": "a", "old_string": "x", "new_string": "y", "replace_all": "yes"}))),
            "field `replace_all` must be a boolean, not a string"
        );
        assert_eq!(
            err(run(&WriteFile, &f, json!({"path": "a", "content": ["x"]}))),
            "field `content` must be a string, not an array"
        );
        assert_eq!(err(run(&ListDir, &f, json!("."))), "the input must be a JSON object, not a string");
        // `call` checks too, even without `access` before it.
        assert!(WriteFile.call(&json!({"path": "a"}), &f.ctx()).is_error);
        assert!(!f.ws("a").exists());
    }

    #[test]
    fn list_dir_shows_kinds_sizes_links_and_sorts_by_name() {
        let f = Fixture::new();
        fs::create_dir(f.ws("src")).unwrap();
        fs::write(f.ws("b.txt"), "12345").unwrap();
        fs::write(f.ws(".hidden"), "").unwrap();
        symlink("b.txt", f.ws("a-link")).unwrap();
        fs::write(f.ws("new\nline"), "").unwrap();
        let text = ok(run(&ListDir, &f, json!({})));
        let expected = [
            ".: 5 entries",
            "file     0 bytes  .hidden",
            "link           -  a-link -> b.txt",
            "file     5 bytes  b.txt",
            "file     0 bytes  new\\nline",
            "dir            -  src/",
        ];
        assert_eq!(text.lines().collect::<Vec<_>>(), expected, "{text}");
        assert_eq!(ok(run(&ListDir, &f, json!({"path": "src"}))), "src: empty folder");
        assert!(err(run(&ListDir, &f, json!({"path": "b.txt"}))).contains("use read_file"));
        assert!(err(run(&ListDir, &f, json!({"path": "nope"}))).contains("does not exist"));
    }

    #[test]
    fn list_dir_marks_the_home_and_refuses_to_enter_it() {
        let f = Fixture::home_inside();
        let text = ok(run(&ListDir, &f, json!({"path": "."})));
        assert!(text.contains(".pincer/  (pincer's home: off limits to tools)"), "{text}");
        let e = err(run(&ListDir, &f, json!({"path": ".pincer"})));
        assert!(e.contains("inside pincer's home"), "{e}");
        let skills = ok(run(&ListDir, &f, json!({"path": ".pincer/skills"})));
        assert!(skills.contains("s/"), "{skills}");
    }

    #[test]
    fn write_file_creates_with_folders_and_the_umask_mode() {
        let f = Fixture::new();
        let out = run(&WriteFile, &f, json!({"path": "new/deep/x.md", "content": "one\ntwo\n"}));
        assert_eq!(ok(out.clone()), "Created new/deep/x.md (2 lines, 8 bytes)");
        assert_eq!(out.summary, "created · 2 lines");
        assert_eq!(fs::read_to_string(f.ws("new/deep/x.md")).unwrap(), "one\ntwo\n");
        let mode = fs::metadata(f.ws("new/deep/x.md")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & !0o644, 0, "{mode:o}");
        // Written counts as read: it may be replaced now.
        assert!(ok(run(&WriteFile, &f, json!({"path": "new/deep/x.md", "content": "three"}))).starts_with("Replaced"));
        assert_eq!(fs::read_to_string(f.ws("new/deep/x.md")).unwrap(), "three");
        let e = err(run(&WriteFile, &f, json!({"path": "new", "content": "x"})));
        assert!(e.contains("a folder"), "{e}");
    }

    #[test]
    fn write_file_refuses_to_replace_a_file_not_read_first() {
        let f = Fixture::new();
        fs::write(f.ws("keep.rs"), "precious").unwrap();
        fs::set_permissions(f.ws("keep.rs"), fs::Permissions::from_mode(0o640)).unwrap();
        let e = err(run(&WriteFile, &f, json!({"path": "keep.rs", "content": "clobbered"})));
        assert!(e.contains("has not been read") && e.contains("hint: read it with read_file first"), "{e}");
        // `call` refuses too, under the lock, when `access` was not asked first.
        assert!(
            err(WriteFile.call(&json!({"path": "keep.rs", "content": "x"}), &f.ctx())).contains("has not been read")
        );
        let edit = json!({"path": "keep.rs", "old_string": "precious", "new_string": "x"});
        assert!(err(EditFile.call(&edit, &f.ctx())).contains("has not been read"));
        assert_eq!(fs::read_to_string(f.ws("keep.rs")).unwrap(), "precious");
        ok(run(&ReadFile, &f, json!({"path": "keep.rs"})));
        ok(run(&WriteFile, &f, json!({"path": "keep.rs", "content": "replaced"})));
        assert_eq!(fs::read_to_string(f.ws("keep.rs")).unwrap(), "replaced");
        assert_eq!(fs::metadata(f.ws("keep.rs")).unwrap().permissions().mode() & 0o777, 0o640);
        // Read through a symlink: the real file counts as read.
        symlink("keep.rs", f.ws("alias")).unwrap();
        ok(run(&WriteFile, &f, json!({"path": "alias", "content": "via link"})));
        assert_eq!(fs::read_to_string(f.ws("keep.rs")).unwrap(), "via link");
        assert!(fs::symlink_metadata(f.ws("alias")).unwrap().file_type().is_symlink());
    }

    #[test]
    fn write_and_edit_are_refused_outside_the_workspace_and_in_the_home() {
        let f = Fixture::home_inside();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("x");
        fs::write(&target, "outside").unwrap();
        symlink(&target, f.ws("out-link")).unwrap();
        symlink(f.home.join("auth.json"), f.ws("auth-link")).unwrap();
        f.read_files.lock().unwrap().insert(fs::canonicalize(&target).unwrap());
        for path in [
            target.to_str().unwrap(),
            "out-link",
            "../x",
            ".pincer/auth.json",
            "auth-link",
            ".pincer/skills/s/SKILL.md",
            ".pincer/new",
        ] {
            let w = err(run(&WriteFile, &f, json!({"path": path, "content": "pwned"})));
            let e = err(run(&EditFile, &f, json!({"path": path, "old_string": "o", "new_string": "0"})));
            for msg in [&w, &e] {
                assert!(
                    msg.contains("outside the workspace")
                        || msg.contains("pincer's home")
                        || msg.contains("may read but not write")
                        || msg.contains("does not exist"),
                    "{path}: {msg}"
                );
            }
            // Refused in `call` too, without `access` before it.
            assert!(WriteFile.call(&json!({"path": path, "content": "pwned"}), &f.ctx()).is_error);
        }
        assert_eq!(fs::read_to_string(&target).unwrap(), "outside");
        assert!(fs::read_to_string(f.home.join("auth.json")).unwrap().contains("sk-SECRET"));
        assert!(!f.home.join("new").exists());
    }

    #[test]
    fn no_file_tool_reads_the_home_or_pincers_process() {
        let f = Fixture::home_inside();
        symlink(f.home.join("auth.json"), f.ws("innocent")).unwrap();
        symlink(&f.home, f.ws("h")).unwrap();
        let pid = std::process::id();
        for path in [
            ".pincer/auth.json",
            "innocent",
            "h/auth.json",
            "h/../.pincer/auth.json",
            "/proc/self/environ",
            &format!("/proc/{pid}/mem"),
            "/proc/self/root/proc/self/environ",
        ] {
            for out in [run(&ReadFile, &f, json!({"path": path})), run(&ListDir, &f, json!({"path": path}))] {
                let text = err(out);
                assert!(!text.contains("sk-SECRET"), "{text}");
                assert!(text.contains("pincer's home") || text.contains("own process"), "{path}: {text}");
            }
        }
    }

    fn read(f: &Fixture, path: &str) {
        ok(run(&ReadFile, f, json!({"path": path})));
    }

    #[test]
    fn edit_file_replaces_one_exact_match_and_shows_the_changed_lines() {
        let f = Fixture::new();
        fs::write(f.ws("m.rs"), numbered(1..=20)).unwrap();
        let input = json!({"path": "m.rs", "old_string": "line 10\n", "new_string": "ten\nTEN\n"});
        assert!(err(run(&EditFile, &f, input.clone())).contains("has not been read"));
        read(&f, "m.rs");
        let detail = EditFile.approval_detail(&input, &f.ctx());
        assert_eq!(
            detail,
            "--- m.rs\n+++ m.rs\n@@ -7,7 +7,8 @@\n line 7\n line 8\n line 9\n-line 10\n+ten\n+TEN\n line 11\n line 12\n line 13\n"
        );
        let out = run(&EditFile, &f, input);
        assert_eq!(
            ok(out.clone()),
            "Edited m.rs: 1 replacement\n     7\tline 7\n     8\tline 8\n     9\tline 9\n    10\tten\n    11\tTEN\n    12\tline 11\n    13\tline 12\n    14\tline 13\n"
        );
        assert_eq!(out.summary, "1 replacement");
        assert_eq!(fs::read_to_string(f.ws("m.rs")).unwrap(), numbered(1..=20).replace("line 10\n", "ten\nTEN\n"));
    }

    #[test]
    fn edit_file_refuses_ambiguous_absent_empty_and_no_op_edits() {
        let f = Fixture::new();
        let original = "fn a() {\n    let x = 1;\n}\nfn b() {\n    let x = 1;\n}\n";
        fs::write(f.ws("m.rs"), original).unwrap();
        read(&f, "m.rs");
        let edit =
            |old: &str, new: &str| run(&EditFile, &f, json!({"path": "m.rs", "old_string": old, "new_string": new}));
        let e = err(edit("let x = 1;", "let x = 2;"));
        assert!(e.contains("matches 2 times") && e.contains("at lines 2, 5") && e.contains("replace_all"), "{e}");
        let e = err(edit("let y = 1;", "z"));
        assert!(e.contains("not found") && e.contains("read it again"), "{e}");
        let e = err(edit("let x = 1;\n  }", "z"));
        assert!(e.contains("its first line appears at line 2, 5"), "{e}");
        let e = err(edit("     2\t    let x = 1;", "z"));
        assert!(e.contains("leave out the line numbers"), "{e}");
        assert!(err(edit("", "z")).contains("use write_file"));
        assert!(err(edit("fn a", "fn a")).contains("the same"));
        // Overlapping matches are ambiguous too.
        fs::write(f.ws("aaa"), "aaa").unwrap();
        read(&f, "aaa");
        assert!(
            err(run(&EditFile, &f, json!({"path": "aaa", "old_string": "aa", "new_string": "b"})))
                .contains("matches 2 times")
        );
        assert_eq!(fs::read_to_string(f.ws("m.rs")).unwrap(), original);
        let all =
            run(&EditFile, &f, json!({"path": "m.rs", "old_string": "x", "new_string": "y", "replace_all": true}));
        assert_eq!(all.summary, "2 replacements");
        assert_eq!(fs::read_to_string(f.ws("m.rs")).unwrap(), original.replace('x', "y"));
        assert!(
            err(run(&EditFile, &f, json!({"path": "gone", "old_string": "a", "new_string": "b"})))
                .contains("does not exist")
        );
    }

    #[test]
    fn edit_file_matches_lf_text_in_a_crlf_file_and_refuses_non_utf8() {
        let f = Fixture::new();
        fs::write(f.ws("w.txt"), "one\r\ntwo\r\nthree\r\n").unwrap();
        read(&f, "w.txt");
        ok(run(&EditFile, &f, json!({"path": "w.txt", "old_string": "one\ntwo", "new_string": "1\n2"})));
        assert_eq!(fs::read_to_string(f.ws("w.txt")).unwrap(), "1\r\n2\r\nthree\r\n");
        fs::write(f.ws("l1"), b"caf\xe9\n").unwrap();
        f.read_files.lock().unwrap().insert(f.ws("l1"));
        assert!(
            err(run(&EditFile, &f, json!({"path": "l1", "old_string": "caf", "new_string": "tea"})))
                .contains("not UTF-8")
        );
        assert_eq!(fs::read(f.ws("l1")).unwrap(), b"caf\xe9\n");
    }

    #[test]
    fn write_file_approval_shows_a_diff() {
        let f = Fixture::new();
        let new = WriteFile.approval_detail(&json!({"path": "n.txt", "content": "a\nb\n"}), &f.ctx());
        assert_eq!(new, "--- /dev/null\n+++ n.txt\n@@ -0,0 +1,2 @@\n+a\n+b\n");
        fs::write(f.ws("n.txt"), "a\nb\n").unwrap();
        let changed = WriteFile.approval_detail(&json!({"path": "n.txt", "content": "a\nc\n"}), &f.ctx());
        assert_eq!(changed, "--- n.txt\n+++ n.txt\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n");
        let same = WriteFile.approval_detail(&json!({"path": "n.txt", "content": "a\nb\n"}), &f.ctx());
        assert!(same.contains("no change"), "{same}");
    }

    #[test]
    fn concurrent_edits_of_one_file_all_land() {
        const EDITS: usize = 40;
        let f = Fixture::new();
        let agents = ["a", "b", "c"];
        let original: String = agents.iter().flat_map(|a| (0..EDITS).map(move |i| format!("todo-{a}-{i}\n"))).collect();
        fs::write(f.ws("shared.txt"), &original).unwrap();
        std::thread::scope(|s| {
            for agent in agents {
                let f = &f;
                s.spawn(move || {
                    // Each agent has its own conversation, so its own record of reads.
                    let read_files = std::sync::Mutex::new(std::collections::HashSet::new());
                    let ctx = ToolContext { read_files: &read_files, ..f.ctx() };
                    assert!(!ReadFile.call(&json!({"path": "shared.txt"}), &ctx).is_error);
                    for i in 0..EDITS {
                        let input = json!({"path": "shared.txt", "old_string": format!("todo-{agent}-{i}\n"), "new_string": format!("done-{agent}-{i}\n")});
                        let out = EditFile.call(&input, &ctx);
                        assert!(!out.is_error, "{}", out.joined_text());
                    }
                });
            }
        });
        let end = fs::read_to_string(f.ws("shared.txt")).unwrap();
        assert_eq!(end, original.replace("todo-", "done-"));
        let leftovers: Vec<_> = fs::read_dir(&f.workspace).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers, [std::ffi::OsString::from("shared.txt")]);
    }

    #[test]
    fn tool_definitions_stay_small() {
        let mut total = 0;
        for tool in tools().iter().chain(crate::tools::search::tools().iter()) {
            let size = tool.name().len() + tool.description().len() + tool.input_schema().to_string().len();
            assert!(size <= 600, "{} takes {size} bytes", tool.name());
            total += size;
        }
        assert!(total <= 3300, "{total}");
    }
}
