//! A pure Server-Sent Events parser: bytes in, events out, no I/O.
//!
//! It implements the WHATWG `EventSource` stream grammar
//! (<https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream>):
//! lines end in CRLF, LF or CR; `:` lines are comments; the fields are `event`, `data`, `id` and
//! `retry`; a blank line dispatches the event. Input may be split at any byte, even inside a
//! UTF-8 character or between the CR and LF of one line end, so raw bytes are buffered per line
//! and only complete lines are decoded. Invalid UTF-8 becomes U+FFFD, as the spec's UTF-8
//! decode does, rather than an error: one bad byte from a proxy should not kill an answer.
//!
//! Memory is bounded: a line, and the data of one event, may hold at most `max_line_bytes`
//! ([`MAX_LINE_BYTES`] unless set); beyond that the parser fails with a typed [`SseError`].
//! Buffers are reused between lines and events, and events are handed out borrowed, so a steady
//! stream costs no allocation per event.

/// The largest line, and the largest `data` of one event, the parser accepts by default.
/// Anthropic's Go SDK raises its scanner buffer to the same 32 MiB.
pub const MAX_LINE_BYTES: usize = 32 * 1024 * 1024;

/// The event name used when a stream gives none (or an empty `event:` field).
pub const DEFAULT_EVENT_NAME: &str = "message";

/// The byte-order mark a stream may begin with; the spec's decoder drops it.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
const LF: u8 = b'\n';
const CR: u8 = b'\r';
const COLON: u8 = b':';
const SPACE: u8 = b' ';
/// An `id` field holding this byte is ignored (spec: "If the field value does not contain U+0000 NULL").
const NUL: u8 = 0;

const FIELD_EVENT: &[u8] = b"event";
const FIELD_DATA: &[u8] = b"data";
const FIELD_ID: &[u8] = b"id";
const FIELD_RETRY: &[u8] = b"retry";

/// One dispatched event. It borrows the parser's buffers, so it is only valid inside the callback;
/// copy out what must outlive it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// The `event:` field, or [`DEFAULT_EVENT_NAME`] when the event had none.
    pub event: &'a str,
    /// The `data:` lines joined with `\n`.
    pub data: &'a str,
    /// The last `id:` seen on the stream so far (it persists across events, per spec).
    pub last_event_id: &'a str,
}

/// Why the parser gave up. Errors are final: once one is returned, every later
/// [`SseParser::feed`] returns it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    /// A line grew beyond the limit without a line end.
    #[error("server-sent event stream has a line longer than {limit} bytes")]
    LineTooLong { limit: usize },
    /// The `data:` lines of one event together grew beyond the limit.
    #[error("server-sent event carries more than {limit} bytes of data")]
    EventTooLarge { limit: usize },
}

/// How the input ended, from [`SseParser::finish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// Everything received was dispatched or was complete lines of comments and `id`/`retry`.
    Clean,
    /// The input stopped inside a line or inside an event (fields seen, no blank line yet).
    /// That partial event was discarded, as the spec requires; a caller can treat this as a
    /// sign that the connection was cut.
    Truncated,
}

/// The incremental parser. Feed it chunks as they arrive, then call [`SseParser::finish`].
#[derive(Debug)]
pub struct SseParser {
    max_line_bytes: usize,
    /// Bytes of the current line that arrived without their line end yet.
    /// Before the BOM check is done, it holds the BOM bytes matched so far.
    partial_line: Vec<u8>,
    /// The previous chunk ended in CR, so an LF starting the next chunk is part of that line end.
    skip_leading_lf: bool,
    bom_checked: bool,
    event_type: String,
    data: String,
    /// Whether a `data` field was seen: `data:` with an empty value still dispatches an event.
    has_data: bool,
    last_event_id: String,
    retry_ms: Option<u64>,
    failed: Option<SseError>,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl SseParser {
    pub fn new() -> Self {
        Self::with_max_line_bytes(MAX_LINE_BYTES)
    }

    /// A parser with a smaller (or larger) bound on a line and on one event's data.
    pub fn with_max_line_bytes(max_line_bytes: usize) -> Self {
        Self {
            max_line_bytes,
            partial_line: Vec::new(),
            skip_leading_lf: false,
            bom_checked: false,
            event_type: String::new(),
            data: String::new(),
            has_data: false,
            last_event_id: String::new(),
            retry_ms: None,
            failed: None,
        }
    }

    /// The reconnection time from the last valid `retry:` field, in milliseconds.
    pub fn retry_ms(&self) -> Option<u64> {
        self.retry_ms
    }

    /// The last `id:` seen (empty if none).
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// Parses `chunk` and calls `on_event` for each event it completes.
    ///
    /// The callback may fail; its error stops parsing and is returned as is. Parser errors are
    /// converted with `From<SseError>`, so one error type can carry both (use `SseError` itself
    /// when the callback cannot fail). After any error, drop the parser: the rest of the chunk
    /// was not read.
    pub fn feed<E>(&mut self, chunk: &[u8], mut on_event: impl FnMut(SseEvent<'_>) -> Result<(), E>) -> Result<(), E>
    where
        E: From<SseError>,
    {
        if let Some(error) = self.failed {
            return Err(error.into());
        }
        let mut rest = chunk;
        if self.skip_leading_lf && !rest.is_empty() {
            self.skip_leading_lf = false;
            if rest[0] == LF {
                rest = &rest[1..];
            }
        }
        if !self.bom_checked {
            rest = self.skip_bom(rest);
        }
        while !rest.is_empty() {
            let Some(end) = memchr::memchr2(LF, CR, rest) else {
                self.keep_partial_line(rest)?;
                break;
            };
            let terminator_len = if rest[end] == CR {
                match rest.get(end + 1) {
                    Some(&LF) => 2,
                    Some(_) => 1,
                    None => {
                        self.skip_leading_lf = true;
                        1
                    }
                }
            } else {
                1
            };
            let tail = &rest[..end];
            if self.partial_line.is_empty() {
                self.check_line_len(tail.len())?;
                self.process_line(tail, &mut on_event)?;
            } else {
                self.check_line_len(self.partial_line.len() + tail.len())?;
                // Taken out for the call and put back, so its capacity is reused.
                let mut line = std::mem::take(&mut self.partial_line);
                line.extend_from_slice(tail);
                let result = self.process_line(&line, &mut on_event);
                line.clear();
                self.partial_line = line;
                result?;
            }
            rest = &rest[end + terminator_len..];
        }
        Ok(())
    }

    /// Ends the input. A trailing event without its blank line is not dispatched (spec: "If the
    /// file ends in the middle of an event, before the final empty line, the incomplete event is
    /// not dispatched"); the result says whether there was one.
    pub fn finish(self) -> StreamEnd {
        if self.partial_line.is_empty() && !self.has_data && self.event_type.is_empty() {
            StreamEnd::Clean
        } else {
            StreamEnd::Truncated
        }
    }

    /// Drops a leading byte-order mark, which may itself arrive split across chunks.
    fn skip_bom<'c>(&mut self, chunk: &'c [u8]) -> &'c [u8] {
        for (consumed, &byte) in chunk.iter().enumerate() {
            if byte != UTF8_BOM[self.partial_line.len()] {
                // Not a BOM: the bytes matched so far stay in `partial_line` as ordinary data.
                self.bom_checked = true;
                return &chunk[consumed..];
            }
            self.partial_line.push(byte);
            if self.partial_line.len() == UTF8_BOM.len() {
                self.partial_line.clear();
                self.bom_checked = true;
                return &chunk[consumed + 1..];
            }
        }
        &[]
    }

    fn keep_partial_line(&mut self, bytes: &[u8]) -> Result<(), SseError> {
        self.check_line_len(self.partial_line.len() + bytes.len())?;
        self.partial_line.extend_from_slice(bytes);
        Ok(())
    }

    fn check_line_len(&mut self, len: usize) -> Result<(), SseError> {
        if len > self.max_line_bytes {
            return Err(self.fail(SseError::LineTooLong { limit: self.max_line_bytes }));
        }
        Ok(())
    }

    fn fail(&mut self, error: SseError) -> SseError {
        self.failed = Some(error);
        error
    }

    fn process_line<E>(
        &mut self,
        line: &[u8],
        on_event: &mut impl FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<SseError>,
    {
        if line.is_empty() {
            return self.dispatch(on_event);
        }
        if line[0] == COLON {
            return Ok(());
        }
        let (name, value) = match memchr::memchr(COLON, line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(&[SPACE]).unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match name {
            FIELD_DATA => {
                let value = decode_utf8(value);
                let separator_len = usize::from(self.has_data);
                if self.data.len() + separator_len + value.len() > self.max_line_bytes {
                    return Err(self.fail(SseError::EventTooLarge { limit: self.max_line_bytes }).into());
                }
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&value);
                self.has_data = true;
            }
            FIELD_EVENT => {
                self.event_type.clear();
                self.event_type.push_str(&decode_utf8(value));
            }
            FIELD_ID if !value.contains(&NUL) => {
                self.last_event_id.clear();
                self.last_event_id.push_str(&decode_utf8(value));
            }
            FIELD_RETRY => {
                if let Some(ms) = parse_retry(value) {
                    self.retry_ms = Some(ms);
                }
            }
            // Unknown fields, and an `id` holding NUL, are ignored.
            _ => {}
        }
        Ok(())
    }

    fn dispatch<E>(&mut self, on_event: &mut impl FnMut(SseEvent<'_>) -> Result<(), E>) -> Result<(), E> {
        if !self.has_data {
            // Spec: with an empty data buffer, reset the event type and dispatch nothing.
            self.event_type.clear();
            return Ok(());
        }
        let event = SseEvent {
            event: if self.event_type.is_empty() { DEFAULT_EVENT_NAME } else { &self.event_type },
            data: &self.data,
            last_event_id: &self.last_event_id,
        };
        let result = on_event(event);
        self.event_type.clear();
        self.data.clear();
        self.has_data = false;
        result
    }
}

/// UTF-8 as is (validated with SIMD, the same verdict as std's), else the spec's lossy decode.
fn decode_utf8(value: &[u8]) -> std::borrow::Cow<'_, str> {
    match simdutf8::basic::from_utf8(value) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(value),
    }
}

/// A `retry` value counts only if it is all ASCII digits (and fits in a `u64`).
fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An event copied out of the parser, for comparisons.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Owned {
        event: String,
        data: String,
        id: String,
    }

    fn ev(event: &str, data: &str) -> Owned {
        Owned { event: event.into(), data: data.into(), id: String::new() }
    }

    fn ev_id(event: &str, data: &str, id: &str) -> Owned {
        Owned { id: id.into(), ..ev(event, data) }
    }

    fn feed_into(parser: &mut SseParser, chunk: &[u8], out: &mut Vec<Owned>) -> Result<(), SseError> {
        parser.feed(chunk, |e| {
            out.push(Owned { event: e.event.into(), data: e.data.into(), id: e.last_event_id.into() });
            Ok::<_, SseError>(())
        })
    }

    /// Parses the chunks in order and returns the events and how the input ended.
    fn parse_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> (Vec<Owned>, StreamEnd) {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        for chunk in chunks {
            feed_into(&mut parser, chunk, &mut out).expect("no parse error");
        }
        (out, parser.finish())
    }

    fn parse(input: &[u8]) -> Vec<Owned> {
        parse_chunks([input]).0
    }

    fn one_byte_chunks(input: &[u8]) -> (Vec<Owned>, StreamEnd) {
        parse_chunks(input.chunks(1))
    }

    /// Asserts that every split into two chunks, and 1-byte chunks, gives the one-shot result.
    fn assert_split_invariant(input: &[u8]) {
        let whole = parse_chunks([input]);
        for cut in 0..=input.len() {
            let (a, b) = input.split_at(cut);
            assert_eq!(parse_chunks([a, b]), whole, "split at byte {cut}");
        }
        assert_eq!(one_byte_chunks(input), whole, "1-byte chunks");
    }

    #[test]
    fn lf_crlf_cr_and_mixed_line_endings_give_the_same_events() {
        let expected = vec![ev("a", "1"), ev("message", "2\n3")];
        for input in [
            "event: a\ndata: 1\n\ndata: 2\ndata: 3\n\n",
            "event: a\r\ndata: 1\r\n\r\ndata: 2\r\ndata: 3\r\n\r\n",
            "event: a\rdata: 1\r\rdata: 2\rdata: 3\r\r",
            "event: a\r\ndata: 1\r\r\ndata: 2\rdata: 3\n\r",
        ] {
            assert_eq!(parse(input.as_bytes()), expected, "{input:?}");
            assert_split_invariant(input.as_bytes());
        }
    }

    #[test]
    fn cr_and_lf_split_across_chunks_are_one_line_end() {
        // If "\r" + "\n" were two line ends, the blank line would dispatch "x" early and the
        // second data line would become a separate event.
        let (events, end) = parse_chunks([&b"data: x\r"[..], b"\ndata: y\r", b"\n\r", b"\n"]);
        assert_eq!(events, vec![ev("message", "x\ny")]);
        assert_eq!(end, StreamEnd::Clean);
        // An empty chunk between CR and LF must not forget the pending CR.
        let (events, _) = parse_chunks([&b"data: x\r"[..], b"", b"\n", b"\n"]);
        assert_eq!(events, vec![ev("message", "x")]);
        // A CR at a chunk end followed by something else: the CR alone ends the line.
        let (events, _) = parse_chunks([&b"data: x\r"[..], b"\r"]);
        assert_eq!(events, vec![ev("message", "x")]);
    }

    #[test]
    fn comments_are_ignored() {
        let input = b": hello\n:\ndata: a\n: in the middle\ndata: b\n\n: trailing\n";
        assert_eq!(parse(input), vec![ev("message", "a\nb")]);
        // A comment line alone never dispatches.
        assert_eq!(parse(b": only a comment\n\n"), vec![]);
    }

    #[test]
    fn multi_line_data_is_joined_with_lf_and_keeps_empty_lines() {
        let input = b"data: first\ndata:\ndata\ndata: last\n\n";
        assert_eq!(parse(input), vec![ev("message", "first\n\n\nlast")]);
    }

    #[test]
    fn one_space_after_the_colon_is_stripped_and_no_more() {
        let input = b"data:no-space\n\ndata:  two spaces\n\ndata:\tTab\n\ndata: a: b\n\n";
        assert_eq!(
            parse(input),
            vec![
                ev("message", "no-space"),
                ev("message", " two spaces"),
                ev("message", "\tTab"),
                ev("message", "a: b"),
            ]
        );
    }

    #[test]
    fn a_line_without_colon_is_a_field_with_empty_value() {
        // "data" alone → data field with empty value → an event with empty data.
        assert_eq!(parse(b"data\n\n"), vec![ev("message", "")]);
        // "event" alone → empty event type → default name.
        assert_eq!(parse(b"event\ndata: x\n\n"), vec![ev("message", "x")]);
    }

    #[test]
    fn event_name_defaults_to_message_and_resets_after_each_dispatch() {
        let input = b"event: ping\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\n";
        assert_eq!(parse(input), vec![ev("ping", "1"), ev("message", "2"), ev("message", "3")]);
    }

    #[test]
    fn no_dispatch_without_a_data_field_and_the_event_type_is_reset() {
        // "event: a" without data: nothing, and "a" must not leak into the next event.
        let input = b"event: a\n\ndata: x\n\nid: 7\n\nretry: 10\n\n";
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        feed_into(&mut parser, input, &mut out).unwrap();
        assert_eq!(out, vec![ev("message", "x")]);
        assert_eq!(parser.last_event_id(), "7");
        assert_eq!(parser.retry_ms(), Some(10));
        assert_eq!(parser.finish(), StreamEnd::Clean);
    }

    #[test]
    fn id_persists_across_events_and_an_id_with_nul_is_ignored() {
        let input = b"id: 1\ndata: a\n\ndata: b\n\nid: 2\0x\ndata: c\n\nid\ndata: d\n\n";
        assert_eq!(
            parse(input),
            vec![
                ev_id("message", "a", "1"),
                ev_id("message", "b", "1"),
                ev_id("message", "c", "1"),
                ev_id("message", "d", ""),
            ]
        );
    }

    #[test]
    fn retry_is_taken_only_when_all_ascii_digits() {
        let retry_after = |input: &[u8]| {
            let mut parser = SseParser::new();
            feed_into(&mut parser, input, &mut Vec::new()).unwrap();
            parser.retry_ms()
        };
        assert_eq!(retry_after(b"retry: 1500\n"), Some(1500));
        assert_eq!(retry_after(b"retry: 1500\nretry: 15a\n"), Some(1500));
        assert_eq!(retry_after(b"retry: -1\n"), None);
        assert_eq!(retry_after(b"retry: +15\n"), None, "Rust's integer parse would take this");
        assert_eq!(retry_after(b"retry: 1.5\n"), None);
        assert_eq!(retry_after(b"retry:\n"), None);
        assert_eq!(retry_after(b"retry:  15\n"), None, "a second space is not a digit");
        assert_eq!(retry_after(b"retry: 99999999999999999999999\n"), None);
        assert_eq!(retry_after("retry: １２\n".as_bytes()), None, "non-ASCII digits");
    }

    #[test]
    fn unknown_fields_are_ignored_and_field_names_are_case_sensitive() {
        let input = b"foo: bar\nDATA: no\nEvent: no\ndata: yes\n\n";
        assert_eq!(parse(input), vec![ev("message", "yes")]);
    }

    #[test]
    fn a_leading_bom_is_skipped_even_when_split() {
        let input = b"\xEF\xBB\xBFdata: x\n\n";
        assert_eq!(parse(input), vec![ev("message", "x")]);
        assert_split_invariant(input);
        // Only one BOM, and only at the very start: a second one is part of the field name,
        // which makes the first line an unknown field.
        assert_eq!(parse(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\ndata: y\n\n"), vec![ev("message", "y")]);
        assert_eq!(parse(b"data: x\n\n\xEF\xBB\xBFdata: y\n\n"), vec![ev("message", "x")]);
        // A prefix of a BOM that turns out not to be one stays as (invalid UTF-8) data.
        assert_eq!(parse_chunks([&b"\xEF"[..], b"\xBBdata: x\n\n"]).0, parse(b"\xEF\xBBdata: x\n\n"));
        assert_eq!(parse(b"\xEF\xBB: comment?\ndata: x\n\n"), vec![ev("message", "x")]);
    }

    #[test]
    fn multibyte_characters_split_anywhere_decode_intact() {
        let input = "event: é\ndata: héllo 🦀\n\n".as_bytes();
        assert_eq!(parse(input), vec![ev("é", "héllo 🦀")]);
        assert_split_invariant(input);
        // Split inside the crab's four bytes, in every way, over three chunks.
        let crab = input.iter().position(|&b| b == 0xF0).unwrap();
        for first in crab..crab + 4 {
            for second in first..crab + 4 {
                let (events, end) = parse_chunks([&input[..first], &input[first..second], &input[second..]]);
                assert_eq!(events, vec![ev("é", "héllo 🦀")]);
                assert_eq!(end, StreamEnd::Clean);
            }
        }
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        assert_eq!(parse(b"data: a\xFFb\xE2\x82\n\n"), vec![ev("message", "a\u{FFFD}b\u{FFFD}")]);
    }

    #[test]
    fn finish_reports_a_trailing_event_without_its_blank_line() {
        let (events, end) = parse_chunks([&b"data: a\n\ndata: b\n"[..]]);
        assert_eq!(events, vec![ev("message", "a")]);
        assert_eq!(end, StreamEnd::Truncated);
        assert_eq!(parse_chunks([&b"data: a\n\ndata: b"[..]]).1, StreamEnd::Truncated);
        assert_eq!(parse_chunks([&b"data: a\n\nevent: x\n"[..]]).1, StreamEnd::Truncated);
        assert_eq!(parse_chunks([&b"data: a\n\n: partial comm"[..]]).1, StreamEnd::Truncated);
        assert_eq!(parse_chunks([&b"data: a\n\n: comment\n"[..]]).1, StreamEnd::Clean);
        assert_eq!(parse_chunks([&b"data: a\r\n\r"[..]]).1, StreamEnd::Clean);
        assert_eq!(parse_chunks([&b""[..]]).1, StreamEnd::Clean);
    }

    #[test]
    fn a_line_over_the_limit_fails_whether_it_arrives_whole_or_in_pieces() {
        const LIMIT: usize = 16;
        let at_limit = format!("data: {}\n\n", "x".repeat(LIMIT - "data: ".len()));
        let over_limit = format!("data: {}\n\n", "x".repeat(LIMIT - "data: ".len() + 1));

        let mut parser = SseParser::with_max_line_bytes(LIMIT);
        let mut out = Vec::new();
        feed_into(&mut parser, at_limit.as_bytes(), &mut out).unwrap();
        assert_eq!(out.len(), 1);
        for chunk_len in [1, 3, over_limit.len()] {
            let mut parser = SseParser::with_max_line_bytes(LIMIT);
            let result = over_limit
                .as_bytes()
                .chunks(chunk_len)
                .try_for_each(|chunk| feed_into(&mut parser, chunk, &mut Vec::new()));
            assert_eq!(result, Err(SseError::LineTooLong { limit: LIMIT }));
            // Memory stayed bounded, and the error is final.
            assert!(parser.partial_line.len() <= LIMIT);
            assert_eq!(
                feed_into(&mut parser, b"data: ok\n\n", &mut Vec::new()),
                Err(SseError::LineTooLong { limit: LIMIT })
            );
        }
        // An endless line without any line end fails too, instead of growing.
        let mut parser = SseParser::with_max_line_bytes(LIMIT);
        let mut result = Ok(());
        for _ in 0..100 {
            result = feed_into(&mut parser, b"xxxxx", &mut Vec::new());
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(SseError::LineTooLong { limit: LIMIT }));
        assert!(parser.partial_line.capacity() <= 2 * LIMIT);
    }

    #[test]
    fn event_data_over_the_limit_fails() {
        const LIMIT: usize = 16;
        let mut parser = SseParser::with_max_line_bytes(LIMIT);
        let input = "data: 0123456789\n".repeat(3);
        assert_eq!(
            feed_into(&mut parser, input.as_bytes(), &mut Vec::new()),
            Err(SseError::EventTooLarge { limit: LIMIT })
        );
        // Exactly at the limit is fine: "0123456" + "\n" + "01234567" = 16 bytes.
        let mut parser = SseParser::with_max_line_bytes(LIMIT);
        let mut out = Vec::new();
        feed_into(&mut parser, b"data: 0123456\ndata: 01234567\n\n", &mut out).unwrap();
        assert_eq!(out, vec![ev("message", "0123456\n01234567")]);
    }

    #[test]
    fn a_callback_error_stops_parsing_and_is_returned() {
        #[derive(Debug, PartialEq)]
        enum Stop {
            Sse(SseError),
            Enough,
        }
        impl From<SseError> for Stop {
            fn from(error: SseError) -> Self {
                Self::Sse(error)
            }
        }
        let mut parser = SseParser::new();
        let mut seen = 0;
        let result = parser.feed(b"data: 1\n\ndata: 2\n\ndata: 3\n\n", |_| {
            seen += 1;
            if seen == 2 { Err(Stop::Enough) } else { Ok(()) }
        });
        assert_eq!(result, Err(Stop::Enough));
        assert_eq!(seen, 2);
    }

    #[test]
    fn events_are_handed_out_without_allocating_per_event() {
        // The buffers are reused: after a first event of some size, later ones do not grow them.
        let mut parser = SseParser::new();
        let event = "event: content_block_delta\ndata: {\"text\":\"hello\"}\n\n";
        parser.feed(event.as_bytes(), |_| Ok::<_, SseError>(())).unwrap();
        let capacity = (parser.data.capacity(), parser.event_type.capacity());
        for _ in 0..1000 {
            parser.feed(event.as_bytes(), |_| Ok::<_, SseError>(())).unwrap();
        }
        assert_eq!((parser.data.capacity(), parser.event_type.capacity()), capacity);
    }

    // ---- Anthropic's recorded streams --------------------------------------------------------

    macro_rules! fixture {
        ($name:literal) => {
            ($name, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/anthropic-sdk/", $name)))
        };
    }

    /// Every vendored fixture, with the final blank line the recordings lack.
    fn fixtures() -> Vec<(&'static str, String)> {
        [
            fixture!("basic_response.txt"),
            fixture!("compaction_response.txt"),
            fixture!("context_management_response.txt"),
            fixture!("fallback_credit_response.txt"),
            fixture!("fallback_response.txt"),
            fixture!("incomplete_partial_json_response.txt"),
            fixture!("input_transformations_delta_response.txt"),
            fixture!("input_transformations_empty_delta_response.txt"),
            fixture!("input_transformations_start_only_response.txt"),
            fixture!("message_delta_fields_response.txt"),
            fixture!("message_delta_omitted_usage_response.txt"),
            fixture!("refusal_response.txt"),
            fixture!("server_tool_use_response.txt"),
            fixture!("tool_use_invalid_json_response.txt"),
            fixture!("tool_use_response.txt"),
            fixture!("unknown_events_response.txt"),
        ]
        .into_iter()
        .map(|(name, text)| (name, format!("{text}\n\n")))
        .collect()
    }

    #[test]
    fn fixtures_parse_into_one_event_per_data_line() {
        for (name, text) in fixtures() {
            let (events, end) = parse_chunks([text.as_bytes()]);
            assert_eq!(end, StreamEnd::Clean, "{name}");
            let data_lines: Vec<&str> = text.lines().filter_map(|line| line.strip_prefix("data: ")).collect();
            let names: Vec<&str> = text.lines().filter_map(|line| line.strip_prefix("event: ")).collect();
            assert_eq!(events.iter().map(|e| e.data.as_str()).collect::<Vec<_>>(), data_lines, "{name}");
            assert_eq!(events.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(), names, "{name}");
        }
    }

    #[test]
    fn fixtures_split_at_every_byte_give_identical_events() {
        for (_, text) in fixtures() {
            assert_split_invariant(text.as_bytes());
            // And the same with CRLF and CR line ends.
            assert_split_invariant(text.replace('\n', "\r\n").as_bytes());
            assert_split_invariant(text.replace('\n', "\r").as_bytes());
        }
    }

    #[test]
    fn a_recording_without_its_final_blank_line_loses_the_last_event() {
        let (_, text) = fixture!("basic_response.txt");
        let (events, end) = parse_chunks([text.as_bytes()]);
        assert_eq!(end, StreamEnd::Truncated);
        assert_eq!(events.last().unwrap().event, "message_delta");
    }

    // ---- Property: random streams, random chunkings ----------------------------------------

    const LINE_ENDS: [&str; 3] = ["\n", "\r\n", "\r"];

    /// One event of a generated stream: the lines that make it up and what it should dispatch.
    #[derive(Debug, Clone)]
    struct GenEvent {
        name: Option<String>,
        data: Vec<String>,
        id: Option<String>,
        comment: Option<String>,
    }

    fn field_value() -> impl Strategy<Value = String> {
        // No CR/LF (they end lines) and no NUL (an id with NUL is ignored); includes ':',
        // spaces and multi-byte characters so splits land inside them.
        proptest::string::string_regex("[a-z0-9 :{}\"é🦀ü\\t]{0,12}").unwrap()
    }

    fn gen_event() -> impl Strategy<Value = GenEvent> {
        (
            proptest::option::of(proptest::string::string_regex("[a-z_]{1,10}").unwrap()),
            proptest::collection::vec(field_value(), 0..4),
            proptest::option::of(field_value()),
            proptest::option::of(field_value()),
        )
            .prop_map(|(name, data, id, comment)| GenEvent { name, data, id, comment })
    }

    /// Renders events with the chosen line ends and computes the events the spec dispatches.
    fn render(events: &[GenEvent], ends: &[usize], bom: bool) -> (Vec<u8>, Vec<Owned>) {
        let mut out = String::new();
        let mut expected = Vec::new();
        let mut id = String::new();
        let mut ends = ends.iter().cycle();
        let mut previous_end = "";
        let mut line = |out: &mut String, text: &str| {
            let mut end = LINE_ENDS[*ends.next().unwrap()];
            // CR followed by a line starting with LF would merge into one CRLF line end.
            if previous_end == "\r" && text.is_empty() && end == "\n" {
                end = "\r\n";
            }
            out.push_str(text);
            out.push_str(end);
            previous_end = end;
        };
        if bom {
            out.push('\u{FEFF}');
        }
        for event in events {
            if let Some(comment) = &event.comment {
                line(&mut out, &format!(":{comment}"));
            }
            if let Some(name) = &event.name {
                line(&mut out, &format!("event: {name}"));
            }
            if let Some(value) = &event.id {
                line(&mut out, &format!("id: {value}"));
                id.clone_from(value);
            }
            for data in &event.data {
                line(&mut out, &format!("data: {data}"));
            }
            line(&mut out, "");
            if !event.data.is_empty() {
                expected.push(Owned {
                    event: event.name.clone().unwrap_or_else(|| "message".into()),
                    data: event.data.join("\n"),
                    id: id.clone(),
                });
            }
        }
        (out.into_bytes(), expected)
    }

    proptest! {
        #[test]
        fn random_chunkings_of_random_streams_give_the_expected_events(
            events in proptest::collection::vec(gen_event(), 0..8),
            ends in proptest::collection::vec(0..LINE_ENDS.len(), 1..8),
            bom in any::<bool>(),
            cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..12),
        ) {
            let (bytes, expected) = render(&events, &ends, bom);
            let (whole, end) = parse_chunks([bytes.as_slice()]);
            prop_assert_eq!(&whole, &expected);
            prop_assert_eq!(end, StreamEnd::Clean);

            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut start = 0;
            for cut in cuts {
                chunks.push(&bytes[start..cut]);
                start = cut;
            }
            chunks.push(&bytes[start..]);
            prop_assert_eq!(parse_chunks(chunks), (whole, end));
        }

        /// The SIMD validator decides as std does: long valid runs (its vector path) with
        /// anything, valid or not, spliced in.
        #[test]
        fn lines_decode_as_std_decodes_them(
            text in "[a-zé日🦀\"{}]{0,200}",
            junk in proptest::collection::vec(any::<u8>(), 0..8),
            at in any::<proptest::sample::Index>(),
        ) {
            let mut bytes = text.into_bytes();
            let at = at.index(bytes.len() + 1);
            bytes.splice(at..at, junk);
            prop_assert_eq!(decode_utf8(&bytes), String::from_utf8_lossy(&bytes));
        }
    }
}
