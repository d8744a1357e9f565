//! Whatever bytes the server (or a proxy) sends, turning them into a message must not panic:
//! it ends in a typed error or in a complete message that can be saved and loaded again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pincer::providers::Message;
use pincer::providers::anthropic_stream::{MessageAccumulator, StreamError};
use pincer::providers::sse::SseParser;

fuzz_target!(|input: &[u8]| {
    let mut parser = SseParser::new();
    let mut accumulator = MessageAccumulator::new();
    let fed = parser.feed(input, |event| {
        accumulator.push(&event)?;
        Ok::<_, StreamError>(())
    });
    if let Err(error) = fed {
        // Error messages reach the terminal: formatting them must not panic either.
        let _ = error.to_string();
        return;
    }
    let _ = parser.finish();

    let complete = accumulator.is_complete();
    match accumulator.finish() {
        Ok(message) => {
            assert!(complete, "finish() gave a message before message_stop");
            // A session saves the message as JSON and sends it back later.
            let json = serde_json::to_string(&message).expect("a finished message serializes");
            if let Err(error) = serde_json::from_str::<Message>(&json) {
                panic!("a finished message does not load back: {error}\n{json}");
            }
        }
        Err(error) => {
            assert!(!complete, "finish() failed after message_stop: {error}");
            let _ = error.to_string();
        }
    }
});
