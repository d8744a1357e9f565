//! HTML → readable text in one forward pass: no tree, no recursion, no backtracking, so time is
//! linear in the document and memory a small multiple of it, whatever a hostile page nests or
//! leaves open.
//!
//! What a reader sees is kept: text with its whitespace collapsed (kept inside `<pre>`), blocks
//! on their own lines, links as `text (href)`, images as their `alt` text, character references
//! decoded. What a reader does not see is dropped: `<head>`, scripts, styles, templates, comments.
//! Like a browser, a comment, tag or quoted attribute that never ends takes the rest of the
//! document with it, and an `<a>` ends any link still open (links never nest).

use super::windows_1252::WINDOWS_1252_HIGH;

/// Elements whose content is text up to their end tag, not markup, and that are not shown.
const HIDDEN_RAW_TEXT: &[&str] = &["script", "style", "template", "title", "iframe", "noembed", "noframes"];
/// Separated from their neighbours by a line break.
const LINE_TAGS: &[&str] = &["br", "li", "tr", "td", "th", "option", "ol", "ul", "table", "caption"];
/// Separated from their neighbours by a blank line.
const BLOCK_TAGS: &[&str] = &[
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "div",
    "blockquote",
    "address",
    "dl",
    "dt",
    "dd",
    "article",
    "aside",
    "section",
    "main",
    "header",
    "footer",
    "nav",
    "hr",
    "pre",
    "figure",
    "figcaption",
    "form",
    "fieldset",
];
/// What may stand in a document's `<head>`; any other start tag means its body has begun.
const HEAD_TAGS: &[&str] =
    &["head", "meta", "link", "base", "title", "style", "script", "noscript", "template", "object", "html"];
/// The longest character reference name looked up (`&CounterClockwiseContourIntegral;` is 31).
const MAX_ENTITY_NAME: usize = 32;

/// The text a reader would see in `html`: paragraphs separated by blank lines, lines by `\n`.
pub(crate) fn to_text(html: &str) -> String {
    let mut text = Text::new(html.len());
    let bytes = html.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let Some(lt) = memchr::memchr(b'<', &bytes[i..]) else {
            text.push_raw(&html[i..]);
            break;
        };
        text.push_raw(&html[i..i + lt]);
        i += lt;
        match markup_at(html, i) {
            Markup::Literal => {
                text.push_raw("<");
                i += 1;
            }
            Markup::Skip(end) => i = end,
            Markup::Unterminated => break,
            Markup::Tag(tag) => {
                i = tag.end;
                if let Some(next) = text.tag(html, &tag) {
                    i = next;
                }
            }
        }
    }
    text.finish()
}

/// `text` with its character references (`&amp;`, `&#233;`, `&#x1F980;`) decoded; anything that
/// is not one stays as written.
pub(crate) fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_decoded(&mut out, text);
    out
}

/// A start or end tag: its lower-case name, its attributes' text, where it ends.
struct Tag<'a> {
    name: String,
    closing: bool,
    self_closing: bool,
    attributes: &'a str,
    /// Just past its `>`.
    end: usize,
}

enum Markup<'a> {
    /// A `<` that opens nothing (`5 < 6`): text.
    Literal,
    /// A comment, doctype or processing instruction, ending just before this index.
    Skip(usize),
    /// A comment or tag that never ends: the rest of the document is inside it.
    Unterminated,
    Tag(Tag<'a>),
}

/// What starts at `html[at]`, a `<`.
fn markup_at(html: &str, at: usize) -> Markup<'_> {
    let rest = &html.as_bytes()[at + 1..];
    if rest.starts_with(b"!--") {
        return match memchr::memmem::find(&rest[3..], b"-->") {
            Some(end) => Markup::Skip(at + 1 + 3 + end + 3),
            None => Markup::Unterminated,
        };
    }
    let (closing, name_at) = if rest.first() == Some(&b'/') { (true, 1) } else { (false, 0) };
    match rest.get(name_at) {
        Some(c) if c.is_ascii_alphabetic() => {}
        Some(b'!' | b'?') if !closing => {
            return match memchr::memchr(b'>', rest) {
                Some(end) => Markup::Skip(at + 1 + end + 1),
                None => Markup::Unterminated,
            };
        }
        _ => return Markup::Literal,
    }
    let name_len = rest[name_at..].iter().position(|c| c.is_ascii_whitespace() || matches!(c, b'/' | b'>'));
    let name_end = name_at + name_len.unwrap_or(rest.len() - name_at);
    let Some(close) = tag_end(&rest[name_end..]) else {
        return Markup::Unterminated;
    };
    let inside = &html[at + 1 + name_end..at + 1 + name_end + close];
    // `<br/>`, `<a href="x"/>`; but in `<a href=https://example.test/>` the slash is the value's.
    let self_closing = inside.strip_suffix('/').is_some_and(|before| {
        before.is_empty() || before.ends_with(|c: char| c.is_ascii_whitespace() || c == '"' || c == '\'')
    });
    Markup::Tag(Tag {
        name: html[at + 1 + name_at..at + 1 + name_end].to_ascii_lowercase(),
        closing,
        self_closing,
        attributes: inside,
        end: at + 1 + name_end + close + 1,
    })
}

/// The index of the `>` that ends a tag, skipping any inside quoted attribute values.
fn tag_end(bytes: &[u8]) -> Option<usize> {
    let mut quote = None;
    let mut after_equals = false;
    for (i, &c) in bytes.iter().enumerate() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'>' => return Some(i),
                b'"' | b'\'' if after_equals => {
                    quote = Some(c);
                    after_equals = false;
                }
                b'=' => after_equals = true,
                c if !c.is_ascii_whitespace() => after_equals = false,
                _ => {}
            },
        }
    }
    None
}

/// The value of the attribute `name` (lower-case) in a tag's attribute text, entities decoded.
fn attribute(attributes: &str, name: &str) -> Option<String> {
    let bytes = attributes.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        let key_start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && !matches!(bytes[i], b'=' | b'/') {
            i += 1;
        }
        let key = &attributes[key_start..i];
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = None;
        if bytes.get(i) == Some(&b'=') {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            let start;
            match bytes.get(i) {
                Some(&q @ (b'"' | b'\'')) => {
                    start = i + 1;
                    i = start + memchr::memchr(q, &bytes[start..]).unwrap_or(bytes.len() - start);
                    value = Some(&attributes[start..i]);
                    i += 1;
                }
                _ => {
                    start = i;
                    while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                        i += 1;
                    }
                    value = Some(&attributes[start..i]);
                }
            }
        }
        if key.eq_ignore_ascii_case(name) {
            return Some(decode_entities(value.unwrap_or_default()));
        }
        if i == key_start {
            i += 1; // a stray `=` or `/`: step over it
        }
    }
    None
}

/// `javascript:` links carry no text a reader could follow. Browsers drop tabs and line breaks
/// inside a URL, so those cannot hide the scheme.
fn is_javascript(href: &str) -> bool {
    let scheme: String = href
        .trim_start_matches(|c: char| c.is_whitespace() || c.is_control())
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .take("javascript:".len())
        .collect();
    scheme.eq_ignore_ascii_case("javascript:")
}

/// The end of the raw text of element `name` that starts at `from`: (where its content ends,
/// just past its end tag), or `None` when it is never closed.
fn raw_text_end(html: &str, from: usize, name: &str) -> Option<(usize, usize)> {
    let bytes = html.as_bytes();
    let mut at = from;
    while let Some(found) = memchr::memmem::find(&bytes[at..], b"</") {
        let start = at + found;
        let name_end = start + 2 + name.len();
        if bytes.get(start + 2..name_end).is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
            && bytes.get(name_end).is_none_or(|c| c.is_ascii_whitespace() || matches!(c, b'/' | b'>'))
        {
            let end = memchr::memchr(b'>', &bytes[name_end..]).map_or(bytes.len(), |e| name_end + e + 1);
            return Some((start, end));
        }
        at = start + 2;
    }
    None
}

/// The text being built, with what is open.
struct Text {
    out: String,
    /// Whitespace seen since the last character: one space, written before the next one.
    space: bool,
    /// Inside `<pre>` (nested counts): whitespace is kept.
    pre: usize,
    /// Between `<head>` and the start of the body: text is not shown.
    in_head: bool,
    /// The open link: its href (when worth showing) and where its text starts in `out`.
    link: Option<(Option<String>, usize)>,
}

impl Text {
    fn new(capacity: usize) -> Text {
        Text { out: String::with_capacity(capacity), space: false, pre: 0, in_head: false, link: None }
    }

    /// Text as it stands in the document: references decoded, whitespace collapsed.
    fn push_raw(&mut self, raw: &str) {
        if self.in_head {
            // Words in the head mean its end tag was left out and the body has begun.
            if raw.bytes().all(|c| c.is_ascii_whitespace()) {
                return;
            }
            self.in_head = false;
        }
        if raw.is_empty() {
            return;
        }
        if !raw.contains('&') {
            return self.push_text(raw);
        }
        let decoded = decode_entities(raw);
        self.push_text(&decoded);
    }

    fn push_text(&mut self, text: &str) {
        if self.pre > 0 {
            self.flush_space();
            self.out.push_str(text);
            return;
        }
        // Between two pieces there was whitespace: one space, written before the next word.
        for (i, word) in text.split(|c: char| c.is_ascii_whitespace()).enumerate() {
            if i > 0 {
                self.space = true;
            }
            if !word.is_empty() {
                self.flush_space();
                self.out.push_str(word);
            }
        }
    }

    fn flush_space(&mut self) {
        if self.space && !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push(' ');
        }
        self.space = false;
    }

    /// Ends the line, and makes it `count` line breaks in a row (a blank line for 2).
    fn breaks(&mut self, count: usize) {
        self.space = false;
        while self.out.ends_with([' ', '\t']) {
            self.out.pop();
        }
        if self.out.is_empty() {
            return;
        }
        let have = self.out.len() - self.out.trim_end_matches('\n').len();
        for _ in have..count {
            self.out.push('\n');
        }
    }

    /// Acts on a tag; `Some(index)` when the document resumes elsewhere (after raw text).
    fn tag(&mut self, html: &str, tag: &Tag<'_>) -> Option<usize> {
        let name = tag.name.as_str();
        if self.in_head {
            if tag.closing && name == "head" || !tag.closing && !HEAD_TAGS.contains(&name) {
                self.in_head = false;
            } else if !HIDDEN_RAW_TEXT.contains(&name) {
                return None;
            }
        }
        if tag.closing {
            match name {
                "a" => self.end_link(),
                "pre" => {
                    self.pre = self.pre.saturating_sub(1);
                    self.breaks(2);
                }
                _ if BLOCK_TAGS.contains(&name) => self.breaks(2),
                _ if LINE_TAGS.contains(&name) => self.breaks(1),
                _ => {}
            }
            return None;
        }
        match name {
            _ if HIDDEN_RAW_TEXT.contains(&name) => {
                if tag.self_closing {
                    return None;
                }
                return Some(raw_text_end(html, tag.end, name).map_or(html.len(), |(_, end)| end));
            }
            "textarea" | "xmp" if !tag.self_closing => {
                let (content_end, end) = raw_text_end(html, tag.end, name).unwrap_or((html.len(), html.len()));
                let content = &html[tag.end..content_end];
                self.flush_space();
                if name == "textarea" {
                    self.out.push_str(&decode_entities(content));
                } else {
                    self.out.push_str(content);
                }
                return Some(end);
            }
            "plaintext" => {
                self.flush_space();
                self.out.push_str(&html[tag.end..]);
                return Some(html.len());
            }
            "head" => self.in_head = true,
            "a" if !tag.self_closing => {
                self.end_link();
                let href = attribute(tag.attributes, "href").filter(|h| !h.is_empty() && !is_javascript(h));
                self.flush_space();
                self.link = Some((href, self.out.len()));
            }
            "img" => {
                if let Some(alt) = attribute(tag.attributes, "alt") {
                    self.push_text(&alt);
                }
            }
            "pre" => {
                self.breaks(2);
                self.pre += 1;
                // HTML drops the line break straight after `<pre>`.
                let after = &html[tag.end..];
                let newline = if after.starts_with("\r\n") { 2 } else { usize::from(after.starts_with('\n')) };
                return Some(tag.end + newline);
            }
            _ if BLOCK_TAGS.contains(&name) => self.breaks(2),
            _ if LINE_TAGS.contains(&name) => self.breaks(1),
            _ => {}
        }
        None
    }

    /// Closes the open link: ` (href)` after its text, or the href alone when it has none.
    fn end_link(&mut self) {
        let Some((href, start)) = self.link.take() else {
            return;
        };
        let Some(href) = href else {
            return;
        };
        let text = self.out[start..].trim();
        if text.is_empty() {
            self.out.truncate(start);
            self.flush_space();
            self.out.push_str(&href);
        } else if text != href {
            // Right after the text, before any line breaks a block inside the link ended with.
            let text_end = start + self.out[start..].trim_end().len();
            let breaks = self.out[text_end..].matches('\n').count();
            self.out.truncate(text_end);
            self.out.push_str(" (");
            self.out.push_str(&href);
            self.out.push(')');
            self.out.extend(std::iter::repeat_n('\n', breaks));
        }
    }

    fn finish(mut self) -> String {
        self.end_link();
        while self.out.ends_with([' ', '\t']) {
            self.out.pop();
        }
        self.out
    }
}

/// Appends `text` to `out` with its character references decoded.
fn push_decoded(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        match reference(after) {
            Some((decoded, len)) => {
                out.push(decoded);
                rest = &after[len..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

/// The character a reference (the text after its `&`) stands for, and the bytes it takes (its
/// `;` included when present, as HTML lets the common ones go without).
fn reference(after: &str) -> Option<(char, usize)> {
    let bytes = after.as_bytes();
    let (value, len) = if let Some(number) = after.strip_prefix('#') {
        let (digits, radix, skip) = match number.strip_prefix(['x', 'X']) {
            Some(hex) => (hex, 16, 2),
            None => (number, 10, 1),
        };
        let count = digits.bytes().take_while(|c| (*c as char).is_digit(radix)).count();
        // Eight digits already exceed the last code point; more are refused, not overflowed.
        if count == 0 || count > 8 {
            return None;
        }
        let code = u32::from_str_radix(&digits[..count], radix).ok()?;
        (numeric_char(code)?, skip + count)
    } else {
        let count = bytes.iter().take(MAX_ENTITY_NAME + 1).take_while(|c| c.is_ascii_alphanumeric()).count();
        if count == 0 || count > MAX_ENTITY_NAME {
            return None;
        }
        let name = &after[..count];
        let at = ENTITIES.binary_search_by(|(n, _)| n.cmp(&name)).ok()?;
        (ENTITIES[at].1, count)
    };
    let len = if bytes.get(len) == Some(&b';') { len + 1 } else { len };
    Some((value, len))
}

/// A numeric reference's character. Control characters (other than tab and line breaks), which
/// could drive a terminal, stay as written; 0x80–0x9F mean Windows-1252, as HTML says.
fn numeric_char(code: u32) -> Option<char> {
    match code {
        0x09 | 0x0A | 0x0D | 0x20..=0x7E => char::from_u32(code),
        0x80..=0x9F => Some(WINDOWS_1252_HIGH[(code - 0x80) as usize]).filter(|c| !c.is_control()),
        0xA0.. => char::from_u32(code),
        _ => None,
    }
}

/// HTML 4's named character references (the ones pages use), `&apos;`, and HTML's upper-case
/// spellings of the commonest; sorted by name for binary search.
#[rustfmt::skip]
const ENTITIES: &[(&str, char)] = &[
    ("AElig", '\u{00C6}'), ("AMP", '&'), ("Aacute", '\u{00C1}'), ("Acirc", '\u{00C2}'),
    ("Agrave", '\u{00C0}'), ("Alpha", '\u{0391}'), ("Aring", '\u{00C5}'), ("Atilde", '\u{00C3}'),
    ("Auml", '\u{00C4}'), ("Beta", '\u{0392}'), ("COPY", '\u{00A9}'), ("Ccedil", '\u{00C7}'),
    ("Chi", '\u{03A7}'), ("Dagger", '\u{2021}'), ("Delta", '\u{0394}'), ("ETH", '\u{00D0}'),
    ("Eacute", '\u{00C9}'), ("Ecirc", '\u{00CA}'), ("Egrave", '\u{00C8}'), ("Epsilon", '\u{0395}'),
    ("Eta", '\u{0397}'), ("Euml", '\u{00CB}'), ("GT", '>'), ("Gamma", '\u{0393}'), ("Iacute", '\u{00CD}'),
    ("Icirc", '\u{00CE}'), ("Igrave", '\u{00CC}'), ("Iota", '\u{0399}'), ("Iuml", '\u{00CF}'),
    ("Kappa", '\u{039A}'), ("LT", '<'), ("Lambda", '\u{039B}'), ("Mu", '\u{039C}'),
    ("NewLine", '\u{000A}'), ("Ntilde", '\u{00D1}'), ("Nu", '\u{039D}'), ("OElig", '\u{0152}'),
    ("Oacute", '\u{00D3}'), ("Ocirc", '\u{00D4}'), ("Ograve", '\u{00D2}'), ("Omega", '\u{03A9}'),
    ("Omicron", '\u{039F}'), ("Oslash", '\u{00D8}'), ("Otilde", '\u{00D5}'), ("Ouml", '\u{00D6}'),
    ("Phi", '\u{03A6}'), ("Pi", '\u{03A0}'), ("Prime", '\u{2033}'), ("Psi", '\u{03A8}'), ("QUOT", '"'),
    ("REG", '\u{00AE}'), ("Rho", '\u{03A1}'), ("Scaron", '\u{0160}'), ("Sigma", '\u{03A3}'),
    ("THORN", '\u{00DE}'), ("Tab", '\u{0009}'), ("Tau", '\u{03A4}'), ("Theta", '\u{0398}'),
    ("Uacute", '\u{00DA}'), ("Ucirc", '\u{00DB}'), ("Ugrave", '\u{00D9}'), ("Upsilon", '\u{03A5}'),
    ("Uuml", '\u{00DC}'), ("Xi", '\u{039E}'), ("Yacute", '\u{00DD}'), ("Yuml", '\u{0178}'),
    ("Zeta", '\u{0396}'), ("aacute", '\u{00E1}'), ("acirc", '\u{00E2}'), ("acute", '\u{00B4}'),
    ("aelig", '\u{00E6}'), ("agrave", '\u{00E0}'), ("alefsym", '\u{2135}'), ("alpha", '\u{03B1}'),
    ("amp", '&'), ("and", '\u{2227}'), ("ang", '\u{2220}'), ("apos", '\''), ("aring", '\u{00E5}'),
    ("asymp", '\u{2248}'), ("atilde", '\u{00E3}'), ("auml", '\u{00E4}'), ("bdquo", '\u{201E}'),
    ("beta", '\u{03B2}'), ("brvbar", '\u{00A6}'), ("bull", '\u{2022}'), ("cap", '\u{2229}'),
    ("ccedil", '\u{00E7}'), ("cedil", '\u{00B8}'), ("cent", '\u{00A2}'), ("chi", '\u{03C7}'),
    ("circ", '\u{02C6}'), ("clubs", '\u{2663}'), ("cong", '\u{2245}'), ("copy", '\u{00A9}'),
    ("crarr", '\u{21B5}'), ("cup", '\u{222A}'), ("curren", '\u{00A4}'), ("dArr", '\u{21D3}'),
    ("dagger", '\u{2020}'), ("darr", '\u{2193}'), ("deg", '\u{00B0}'), ("delta", '\u{03B4}'),
    ("diams", '\u{2666}'), ("divide", '\u{00F7}'), ("eacute", '\u{00E9}'), ("ecirc", '\u{00EA}'),
    ("egrave", '\u{00E8}'), ("empty", '\u{2205}'), ("emsp", '\u{2003}'), ("ensp", '\u{2002}'),
    ("epsilon", '\u{03B5}'), ("equiv", '\u{2261}'), ("eta", '\u{03B7}'), ("eth", '\u{00F0}'),
    ("euml", '\u{00EB}'), ("euro", '\u{20AC}'), ("exist", '\u{2203}'), ("fnof", '\u{0192}'),
    ("forall", '\u{2200}'), ("frac12", '\u{00BD}'), ("frac14", '\u{00BC}'), ("frac34", '\u{00BE}'),
    ("frasl", '\u{2044}'), ("gamma", '\u{03B3}'), ("ge", '\u{2265}'), ("gt", '>'), ("hArr", '\u{21D4}'),
    ("harr", '\u{2194}'), ("hearts", '\u{2665}'), ("hellip", '\u{2026}'), ("iacute", '\u{00ED}'),
    ("icirc", '\u{00EE}'), ("iexcl", '\u{00A1}'), ("igrave", '\u{00EC}'), ("image", '\u{2111}'),
    ("infin", '\u{221E}'), ("int", '\u{222B}'), ("iota", '\u{03B9}'), ("iquest", '\u{00BF}'),
    ("isin", '\u{2208}'), ("iuml", '\u{00EF}'), ("kappa", '\u{03BA}'), ("lArr", '\u{21D0}'),
    ("lambda", '\u{03BB}'), ("lang", '\u{2329}'), ("laquo", '\u{00AB}'), ("larr", '\u{2190}'),
    ("lceil", '\u{2308}'), ("ldquo", '\u{201C}'), ("le", '\u{2264}'), ("lfloor", '\u{230A}'),
    ("lowast", '\u{2217}'), ("loz", '\u{25CA}'), ("lrm", '\u{200E}'), ("lsaquo", '\u{2039}'),
    ("lsquo", '\u{2018}'), ("lt", '<'), ("macr", '\u{00AF}'), ("mdash", '\u{2014}'), ("micro", '\u{00B5}'),
    ("middot", '\u{00B7}'), ("minus", '\u{2212}'), ("mu", '\u{03BC}'), ("nabla", '\u{2207}'),
    ("nbsp", '\u{00A0}'), ("ndash", '\u{2013}'), ("ne", '\u{2260}'), ("ni", '\u{220B}'),
    ("not", '\u{00AC}'), ("notin", '\u{2209}'), ("nsub", '\u{2284}'), ("ntilde", '\u{00F1}'),
    ("nu", '\u{03BD}'), ("oacute", '\u{00F3}'), ("ocirc", '\u{00F4}'), ("oelig", '\u{0153}'),
    ("ograve", '\u{00F2}'), ("oline", '\u{203E}'), ("omega", '\u{03C9}'), ("omicron", '\u{03BF}'),
    ("oplus", '\u{2295}'), ("or", '\u{2228}'), ("ordf", '\u{00AA}'), ("ordm", '\u{00BA}'),
    ("oslash", '\u{00F8}'), ("otilde", '\u{00F5}'), ("otimes", '\u{2297}'), ("ouml", '\u{00F6}'),
    ("para", '\u{00B6}'), ("part", '\u{2202}'), ("permil", '\u{2030}'), ("perp", '\u{22A5}'),
    ("phi", '\u{03C6}'), ("pi", '\u{03C0}'), ("piv", '\u{03D6}'), ("plusmn", '\u{00B1}'),
    ("pound", '\u{00A3}'), ("prime", '\u{2032}'), ("prod", '\u{220F}'), ("prop", '\u{221D}'),
    ("psi", '\u{03C8}'), ("quot", '"'), ("rArr", '\u{21D2}'), ("radic", '\u{221A}'), ("rang", '\u{232A}'),
    ("raquo", '\u{00BB}'), ("rarr", '\u{2192}'), ("rceil", '\u{2309}'), ("rdquo", '\u{201D}'),
    ("real", '\u{211C}'), ("reg", '\u{00AE}'), ("rfloor", '\u{230B}'), ("rho", '\u{03C1}'),
    ("rlm", '\u{200F}'), ("rsaquo", '\u{203A}'), ("rsquo", '\u{2019}'), ("sbquo", '\u{201A}'),
    ("scaron", '\u{0161}'), ("sdot", '\u{22C5}'), ("sect", '\u{00A7}'), ("shy", '\u{00AD}'),
    ("sigma", '\u{03C3}'), ("sigmaf", '\u{03C2}'), ("sim", '\u{223C}'), ("spades", '\u{2660}'),
    ("sub", '\u{2282}'), ("sube", '\u{2286}'), ("sum", '\u{2211}'), ("sup", '\u{2283}'),
    ("sup1", '\u{00B9}'), ("sup2", '\u{00B2}'), ("sup3", '\u{00B3}'), ("supe", '\u{2287}'),
    ("szlig", '\u{00DF}'), ("tau", '\u{03C4}'), ("there4", '\u{2234}'), ("theta", '\u{03B8}'),
    ("thetasym", '\u{03D1}'), ("thinsp", '\u{2009}'), ("thorn", '\u{00FE}'), ("tilde", '\u{02DC}'),
    ("times", '\u{00D7}'), ("trade", '\u{2122}'), ("uArr", '\u{21D1}'), ("uacute", '\u{00FA}'),
    ("uarr", '\u{2191}'), ("ucirc", '\u{00FB}'), ("ugrave", '\u{00F9}'), ("uml", '\u{00A8}'),
    ("upsih", '\u{03D2}'), ("upsilon", '\u{03C5}'), ("uuml", '\u{00FC}'), ("weierp", '\u{2118}'),
    ("xi", '\u{03BE}'), ("yacute", '\u{00FD}'), ("yen", '\u{00A5}'), ("yuml", '\u{00FF}'),
    ("zeta", '\u{03B6}'), ("zwj", '\u{200D}'), ("zwnj", '\u{200C}'),
];

#[cfg(test)]
mod tests;
