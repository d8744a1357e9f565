//! Throughput of the streaming hot path, without the network: `cargo bench --bench sse`.
//!
//! The input is the stream scripts/bench_server.py serves: a complete Anthropic Messages stream
//! with 100,000 `text_delta` events (about 12.8 MB, some multi-byte UTF-8), fed in 16 KiB chunks
//! as the real client reads it. Each benchmark reports bytes/s (the SSE bytes), items/s (the
//! events) and, through divan's `AllocProfiler`, heap allocations per whole stream; divide the
//! time and allocation counts by 100,000 for per-event figures.
//!
//! - `parser`: `SseParser` alone.
//! - `parser_accumulator`: `SseParser` + `MessageAccumulator` (JSON decoding, `StreamEvent`s,
//!   the final `Message`).
//! - `parser_accumulator_render`: the above plus `Renderer` (sanitising, buffered output to a
//!   sink, one flush per chunk): the whole per-byte cost of `pincer agent` except the socket.

use std::hint::black_box;
use std::io;

use divan::counter::{BytesCount, ItemsCount};
use divan::{AllocProfiler, Bencher};
use pincer::chat::render::Renderer;
use pincer::providers::StreamEvent;
use pincer::providers::anthropic_stream::{MessageAccumulator, StreamError};
use pincer::providers::sse::{SseError, SseParser};

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

const EVENTS: usize = 100_000;
const CHUNK: usize = 16 * 1024;

/// The same words as scripts/bench_server.py, so both measure the same stream.
const WORDS: &[&str] = &[
    "the",
    " stream",
    " of",
    " tokens",
    " arrives",
    " quickly",
    ",",
    " and",
    " each",
    " delta",
    " is",
    " small",
    ".",
    "\n",
    " café",
    " naïve",
    " Größe",
    " 日本語",
    " 🦀",
    " résumé",
    " — ",
    " ✓",
    " 42",
    " über",
    " Ελληνικά",
    " emoji 👍🏽",
    " \"quoted\"",
    " back\\slash",
    " tab\tsep",
];

fn delta_text(i: usize) -> String {
    let n = 1 + (i * 7) % 3;
    (0..n).map(|k| WORDS[(i * 31 + k * 17) % WORDS.len()]).collect()
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// The stream bytes and the answer text they carry.
fn stream(events: usize) -> (Vec<u8>, String) {
    let mut body = String::new();
    let mut text = String::new();
    let mut event = |name: &str, data: &str| {
        body.push_str("event: ");
        body.push_str(name);
        body.push_str("\ndata: ");
        body.push_str(data);
        body.push_str("\n\n");
    };
    event(
        "message_start",
        r#"{"type":"message_start","message":{"id":"msg_bench0000000000000000000000","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-6","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":11,"output_tokens":1}}}"#,
    );
    event(
        "content_block_start",
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
    );
    event("ping", r#"{"type":"ping"}"#);
    for i in 0..events {
        let delta = delta_text(i);
        let data = format!(
            r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":{}}}}}"#,
            json_string(&delta)
        );
        event("content_block_delta", &data);
        text.push_str(&delta);
    }
    event("content_block_stop", r#"{"type":"content_block_stop","index":0}"#);
    event(
        "message_delta",
        &format!(
            r#"{{"type":"message_delta","delta":{{"stop_reason":"end_turn","stop_sequence":null}},"usage":{{"output_tokens":{events}}}}}"#
        ),
    );
    event("message_stop", r#"{"type":"message_stop"}"#);
    (body.into_bytes(), text)
}

/// Events in the stream: the deltas plus message_start, block start, ping, block stop,
/// message_delta and message_stop.
const TOTAL_EVENTS: usize = EVENTS + 6;

fn main() {
    // Check once, outside the timings, that the pipeline returns the whole text.
    let (body, text) = stream(EVENTS);
    let message = accumulate(&body).expect("the stream is complete");
    let got: String = message
        .content
        .iter()
        .map(|block| match block {
            pincer::providers::ContentBlock::Text { text, .. } => text.as_str(),
            _ => "",
        })
        .collect();
    assert_eq!(got, text, "the accumulated text differs from the streamed text");
    divan::main();
}

fn input() -> &'static [u8] {
    static BODY: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BODY.get_or_init(|| stream(EVENTS).0)
}

fn accumulate(body: &[u8]) -> Result<pincer::providers::Message, StreamError> {
    let mut parser = SseParser::new();
    let mut acc = MessageAccumulator::new();
    for chunk in body.chunks(CHUNK) {
        parser.feed(chunk, |event| {
            black_box(acc.push(&event)?);
            Ok::<_, StreamError>(())
        })?;
    }
    acc.finish()
}

#[divan::bench]
fn parser(bencher: Bencher) {
    let body = input();
    bencher.counter(BytesCount::new(body.len())).counter(ItemsCount::new(TOTAL_EVENTS)).bench(|| {
        let mut parser = SseParser::new();
        let mut events = 0usize;
        for chunk in black_box(body).chunks(CHUNK) {
            parser
                .feed(chunk, |event| {
                    black_box(event.data);
                    events += 1;
                    Ok::<_, SseError>(())
                })
                .expect("valid stream");
        }
        assert_eq!(events, TOTAL_EVENTS);
    });
}

#[divan::bench]
fn parser_accumulator(bencher: Bencher) {
    let body = input();
    bencher
        .counter(BytesCount::new(body.len()))
        .counter(ItemsCount::new(TOTAL_EVENTS))
        .bench(|| accumulate(black_box(body)).expect("complete stream"));
}

#[divan::bench]
fn parser_accumulator_render(bencher: Bencher) {
    let body = input();
    bencher.counter(BytesCount::new(body.len())).counter(ItemsCount::new(TOTAL_EVENTS)).bench(|| {
        let mut parser = SseParser::new();
        let mut acc = MessageAccumulator::new();
        let mut out = Renderer::new(io::sink(), false, false);
        for chunk in black_box(body).chunks(CHUNK) {
            parser
                .feed(chunk, |event| {
                    if let Some(StreamEvent::TextDelta(text)) = acc.push(&event)? {
                        out.text(&text).expect("sink");
                    }
                    Ok::<_, StreamError>(())
                })
                .expect("valid stream");
            out.flush().expect("sink");
        }
        out.finish().expect("sink");
        acc.finish().expect("complete stream")
    });
}
