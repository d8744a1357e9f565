//! Feeding a stream in chunks must give exactly what feeding it whole gives: the same events,
//! the same error, the same end. Chunk boundaries are where CR/LF pairs, a BOM or a UTF-8
//! character can be split, and where the line limit is checked on a partial line.
//!
//! Input layout: byte 0's low nibble is how many chunk sizes follow (one byte each, used in
//! turn, cycling; 0 is an empty chunk); its high nibble picks the line limit (0: 4096, n: 2^n),
//! so small inputs reach the limit checks too. The rest is the stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pincer::providers::sse::{SseError, SseEvent, SseParser, StreamEnd};

const DEFAULT_LIMIT: usize = 4096;
/// Invalid UTF-8 turns into U+FFFD: one byte can grow to three.
const LOSSY_GROWTH: usize = 3;

#[derive(Debug, PartialEq, Eq)]
struct Owned {
    event: String,
    data: String,
    last_event_id: String,
}

/// What one run saw: the events, then either the error or how the input ended.
type Outcome = (Vec<Owned>, Result<StreamEnd, SseError>);

fuzz_target!(|input: &[u8]| {
    let Some((&header, rest)) = input.split_first() else { return };
    let size_count = usize::from(header & 0x0F).min(rest.len());
    let (sizes, stream) = rest.split_at(size_count);
    let limit = match header >> 4 {
        0 => DEFAULT_LIMIT,
        n => 1 << n,
    };

    let whole = run(limit, [stream]);
    let chunked = run(limit, chunks(stream, sizes));
    assert_eq!(chunked, whole, "chunked (sizes {sizes:?}) and whole input disagree, limit {limit}");
});

fn run<'a>(limit: usize, chunks: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    let mut parser = SseParser::with_max_line_bytes(limit);
    let mut events = Vec::new();
    for chunk in chunks {
        let fed = parser.feed(chunk, |event: SseEvent<'_>| {
            // Memory stays bounded by the limit, whatever arrives.
            assert!(event.data.len() <= limit, "data of {} bytes over limit {limit}", event.data.len());
            assert!(event.event.len() <= LOSSY_GROWTH * limit && !event.event.is_empty());
            assert!(event.last_event_id.len() <= LOSSY_GROWTH * limit);
            events.push(Owned {
                event: event.event.to_owned(),
                data: event.data.to_owned(),
                last_event_id: event.last_event_id.to_owned(),
            });
            Ok::<_, SseError>(())
        });
        if let Err(error) = fed {
            // Errors are final: the next feed must repeat it and dispatch nothing.
            let again = parser.feed(b"data: x\n\n", |_| panic!("event dispatched after {error:?}"));
            assert_eq!(again, Err(error));
            return (events, Err(error));
        }
    }
    (events, Ok(parser.finish()))
}

/// Cuts `stream` by `sizes`, cycling; no sizes means one chunk. An empty chunk is always
/// followed by a non-empty one (so the loop ends), and a last empty chunk checks that a
/// pending CR survives a feed of nothing.
fn chunks<'a>(stream: &'a [u8], sizes: &[u8]) -> Vec<&'a [u8]> {
    if sizes.is_empty() {
        return vec![stream];
    }
    let mut out: Vec<&[u8]> = Vec::new();
    let mut rest = stream;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let previous_was_empty = out.last().is_some_and(|chunk| chunk.is_empty());
        let len = if size == 0 && !previous_was_empty { 0 } else { usize::from(size).clamp(1, rest.len()) };
        let (chunk, tail) = rest.split_at(len);
        out.push(chunk);
        rest = tail;
    }
    out.push(&[]);
    out
}
