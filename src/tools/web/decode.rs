//! Bytes of a response → text for the model: what kind of content it is, which charset it is
//! in, and HTML made readable (scripts and styles dropped, links kept as `text (url)`).
//!
//! Charsets: a small subset done by hand instead of `encoding_rs` (+185 KB in a release build):
//! UTF-8, Windows-1252 (which is what every Latin-1 / ISO-8859-1 / US-ASCII label means on the
//! web) and UTF-16 LE/BE. The charset comes from a byte-order mark, else the Content-Type
//! header, else an HTML `<meta>` declaration, else UTF-8 when the bytes are valid UTF-8 and
//! Windows-1252 when not. Any other declared charset is decoded as UTF-8 with a note saying so.

use super::windows_1252::WINDOWS_1252_HIGH;

/// How much of an HTML document is searched for `<meta charset>` (browsers look at 1024 bytes;
/// pages with long heads put it later).
const META_SCAN_BYTES: usize = 4096;
/// How much of a document is searched for its `<title>`.
const TITLE_SCAN_BYTES: usize = 64 * 1024;
/// Longest title kept (some sites put paragraphs there).
const MAX_TITLE_CHARS: usize = 200;
/// How many leading bytes decide whether an undeclared body is text.
const SNIFF_BYTES: usize = 1024;

/// What a response holds, from its Content-Type (or a look at the bytes when it has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContentKind {
    Html,
    Text,
    /// Images, PDFs, archives, anything else: described, not shown.
    Binary,
}

/// The media type of a Content-Type value, lower-case, without parameters.
pub(crate) fn media_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// The kind of a declared media type; `None` when nothing useful was declared.
pub(crate) fn kind_of(media_type: &str) -> Option<ContentKind> {
    let (top, sub) = media_type.split_once('/')?;
    let kind = match (top, sub) {
        ("text", "html") | ("application", "xhtml+xml") => ContentKind::Html,
        ("text", _) => ContentKind::Text,
        ("application", sub)
            if matches!(
                sub,
                "json"
                    | "xml"
                    | "javascript"
                    | "x-javascript"
                    | "ecmascript"
                    | "x-sh"
                    | "sql"
                    | "graphql"
                    | "csv"
                    | "yaml"
                    | "x-yaml"
                    | "toml"
                    | "x-ndjson"
                    | "x-www-form-urlencoded"
            ) || sub.ends_with("+json")
                || sub.ends_with("+xml")
                || sub.ends_with("+yaml") =>
        {
            ContentKind::Text
        }
        _ => ContentKind::Binary,
    };
    Some(kind)
}

/// A look at the bytes of a body that declared no type: HTML, text, or binary.
pub(crate) fn sniff(bytes: &[u8]) -> ContentKind {
    let head = &bytes[..bytes.len().min(SNIFF_BYTES)];
    if has_bom(head).is_none() && head.contains(&0) {
        return ContentKind::Binary;
    }
    let start = String::from_utf8_lossy(head).trim_start().to_ascii_lowercase();
    if start.starts_with("<!doctype html") || start.starts_with("<html") {
        ContentKind::Html
    } else {
        ContentKind::Text
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Charset {
    Utf8,
    Windows1252,
    Utf16Le,
    Utf16Be,
}

/// The WHATWG labels of the charsets decoded here; every Latin-1 label means Windows-1252.
fn charset_of_label(label: &str) -> Option<Charset> {
    let label = label.trim().trim_matches(['"', '\'']).to_ascii_lowercase();
    let charset = match label.as_str() {
        "utf-8" | "utf8" | "unicode-1-1-utf-8" | "unicode11utf8" | "unicode20utf8" | "x-unicode20utf8" => Charset::Utf8,
        "windows-1252" | "cp1252" | "x-cp1252" | "iso-8859-1" | "iso8859-1" | "iso88591" | "iso_8859-1"
        | "iso_8859-1:1987" | "iso-ir-100" | "latin1" | "l1" | "csisolatin1" | "ibm819" | "cp819" | "us-ascii"
        | "ascii" | "ansi_x3.4-1968" => Charset::Windows1252,
        "utf-16" | "utf-16le" | "ucs-2" | "unicode" | "csunicode" | "iso-10646-ucs-2" | "unicodefeff" => {
            Charset::Utf16Le
        }
        "utf-16be" | "unicodefffe" => Charset::Utf16Be,
        _ => return None,
    };
    Some(charset)
}

fn has_bom(bytes: &[u8]) -> Option<(Charset, usize)> {
    match bytes {
        [0xEF, 0xBB, 0xBF, ..] => Some((Charset::Utf8, 3)),
        [0xFF, 0xFE, ..] => Some((Charset::Utf16Le, 2)),
        [0xFE, 0xFF, ..] => Some((Charset::Utf16Be, 2)),
        _ => None,
    }
}

/// The value of a `charset=` parameter in `text` (a Content-Type value or a `<meta>` tag).
fn charset_param(text: &str) -> Option<&str> {
    let lower = text.to_ascii_lowercase();
    let at = lower.find("charset")? + "charset".len();
    let rest = text[at..].trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    let rest = rest.trim_start_matches(['"', '\'']);
    let end = rest.find(|c: char| c == '"' || c == '\'' || c == ';' || c == '>' || c.is_whitespace());
    let value = &rest[..end.unwrap_or(rest.len())];
    (!value.is_empty()).then_some(value)
}

/// The charset a `<meta charset>` or `<meta http-equiv content="…; charset=…">` declares.
fn meta_charset(bytes: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(META_SCAN_BYTES)]).into_owned();
    let lower = head.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find("<meta") {
        let start = from + at;
        let end = lower[start..].find('>').map_or(lower.len(), |e| start + e);
        if let Some(value) = charset_param(&head[start..end]) {
            return Some(value.to_string());
        }
        from = end;
    }
    None
}

/// Decoded text, and a note when the declared charset is not one decoded here.
pub(crate) struct Decoded {
    pub text: String,
    pub charset: &'static str,
    pub note: Option<String>,
}

/// Decodes a body by the rules in the module comment.
pub(crate) fn decode(bytes: &[u8], content_type: Option<&str>, kind: ContentKind) -> Decoded {
    let mut note = None;
    let (charset, body) = if let Some((charset, len)) = has_bom(bytes) {
        (charset, &bytes[len..])
    } else {
        let declared = content_type.and_then(charset_param).map(str::to_string).or_else(|| {
            // A `<meta>` that could be read as ASCII cannot be UTF-16 (WHATWG: treat as UTF-8).
            (kind == ContentKind::Html).then(|| meta_charset(bytes)).flatten()
        });
        let charset = match declared {
            Some(label) => match charset_of_label(&label) {
                Some(Charset::Utf16Le | Charset::Utf16Be) if content_type.and_then(charset_param).is_none() => {
                    Some(Charset::Utf8)
                }
                Some(charset) => Some(charset),
                None => {
                    note = Some(format!(
                        "the page declares charset {label}, which web_fetch does not decode (it reads UTF-8, \
                         Latin-1/Windows-1252 and UTF-16); decoded as UTF-8, some characters may be wrong"
                    ));
                    Some(Charset::Utf8)
                }
            },
            None => None,
        };
        let charset =
            charset.unwrap_or(if std::str::from_utf8(bytes).is_ok() { Charset::Utf8 } else { Charset::Windows1252 });
        (charset, bytes)
    };
    let (text, name) = match charset {
        Charset::Utf8 => (String::from_utf8_lossy(body).into_owned(), "utf-8"),
        Charset::Windows1252 => (decode_windows_1252(body), "windows-1252"),
        Charset::Utf16Le => (decode_utf16(body, u16::from_le_bytes), "utf-16le"),
        Charset::Utf16Be => (decode_utf16(body, u16::from_be_bytes), "utf-16be"),
    };
    Decoded { text, charset: name, note }
}

fn decode_windows_1252(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => WINDOWS_1252_HIGH[usize::from(b - 0x80)],
            _ => char::from(b),
        })
        .collect()
}

fn decode_utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    let units = bytes.chunks(2).map(|pair| match pair {
        [a, b] => unit([*a, *b]),
        // An odd last byte is half a code unit.
        _ => 0xFFFD,
    });
    char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect()
}

/// HTML → readable text: scripts, styles and the head dropped, links kept as `text (url)`,
/// blocks on their own lines, at most one blank line in a row.
pub(crate) fn html_to_text(html: &str) -> String {
    let text = super::html::to_text(html);
    let mut out = String::with_capacity(text.len());
    let mut blank_lines = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_lines += 1;
            if blank_lines > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank_lines = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// The document's `<title>`, as text, when it has one.
pub(crate) fn html_title(html: &str) -> Option<String> {
    let end = floor_boundary(html, TITLE_SCAN_BYTES);
    let lower = html[..end].to_ascii_lowercase();
    let open = lower.find("<title")?;
    let content_start = open + lower[open..].find('>')? + 1;
    let content_end = content_start + lower[content_start..].find("</title")?;
    // The title's text is plain (RCDATA): only its entities need decoding.
    let title = super::html::decode_entities(&html[content_start..content_end]);
    let title: String = title.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(MAX_TITLE_CHARS).collect();
    (!title.is_empty()).then_some(title)
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_media_type() {
        assert_eq!(kind_of(&media_type("text/html; charset=utf-8")), Some(ContentKind::Html));
        assert_eq!(kind_of(&media_type("Application/XHTML+XML")), Some(ContentKind::Html));
        assert_eq!(kind_of("text/plain"), Some(ContentKind::Text));
        assert_eq!(kind_of("application/json"), Some(ContentKind::Text));
        assert_eq!(kind_of("application/ld+json"), Some(ContentKind::Text));
        assert_eq!(kind_of("application/rss+xml"), Some(ContentKind::Text));
        assert_eq!(kind_of("image/png"), Some(ContentKind::Binary));
        assert_eq!(kind_of("application/pdf"), Some(ContentKind::Binary));
        assert_eq!(kind_of("application/octet-stream"), Some(ContentKind::Binary));
        assert_eq!(kind_of(""), None);
        assert_eq!(kind_of("nonsense"), None);
        assert_eq!(sniff(b"  <!DOCTYPE html><p>x"), ContentKind::Html);
        assert_eq!(sniff(b"plain words"), ContentKind::Text);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), ContentKind::Binary);
    }

    #[test]
    fn charset_from_header_meta_bom_or_bytes() {
        let latin1 = b"caf\xe9 \x80";
        let d = decode(latin1, Some("text/plain; charset=ISO-8859-1"), ContentKind::Text);
        assert_eq!((d.text.as_str(), d.charset), ("café €", "windows-1252"));
        let d = decode(latin1, Some("text/plain; charset=\"latin1\""), ContentKind::Text);
        assert_eq!(d.text, "café €");

        let page = b"<html><head><meta charset=\"iso-8859-1\"></head><body>na\xefve</body></html>";
        let d = decode(page, Some("text/html"), ContentKind::Html);
        assert!(d.text.contains("naïve"), "{}", d.text);
        let page = b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1252\">\x93q\x94";
        assert!(decode(page, None, ContentKind::Html).text.ends_with("\u{201C}q\u{201D}"));
        // The header wins over the meta tag.
        let page = "<meta charset=iso-8859-1>é".as_bytes();
        assert!(decode(page, Some("text/html; charset=utf-8"), ContentKind::Html).text.ends_with('é'));

        // BOMs win over everything.
        let d = decode(b"\xef\xbb\xbfhi", Some("text/plain; charset=latin1"), ContentKind::Text);
        assert_eq!((d.text.as_str(), d.charset), ("hi", "utf-8"));
        let d = decode(b"\xff\xfeh\0i\0", None, ContentKind::Text);
        assert_eq!((d.text.as_str(), d.charset), ("hi", "utf-16le"));
        let d = decode(b"\xfe\xff\0h\0i\xd8", None, ContentKind::Text);
        assert_eq!((d.text.as_str(), d.charset), ("hi\u{FFFD}", "utf-16be"));
        let d = decode(b"h\0i\0", Some("text/plain; charset=utf-16le"), ContentKind::Text);
        assert_eq!(d.text, "hi");

        // Undeclared: UTF-8 when valid, else Windows-1252.
        assert_eq!(decode("é".as_bytes(), None, ContentKind::Text).text, "é");
        assert_eq!(decode(b"\xe9t\xe9", None, ContentKind::Text).text, "été");

        // Unknown charsets are said, not guessed.
        let d = decode(b"abc", Some("text/plain; charset=shift_jis"), ContentKind::Text);
        assert_eq!(d.text, "abc");
        assert!(d.note.unwrap().contains("shift_jis"));
    }

    #[test]
    fn html_becomes_readable_text() {
        let html = r#"<html><head><title>The &amp; Title</title><style>p { color: red }</style>
            <script>alert("x")</script></head><body><h1>Heading</h1><p>Read <a href="https://docs.rs/x">the docs</a>.</p>
            <script>var secret = 1;</script><noscript></noscript><p>Two</p></body></html>"#;
        let text = html_to_text(html);
        assert_eq!(text, "Heading\n\nRead the docs (https://docs.rs/x).\n\nTwo\n");
        assert_eq!(html_title(html).as_deref(), Some("The & Title"));
        assert_eq!(html_title("<p>no title</p>"), None);
    }
}
