//! The message from a pipe (`git diff | pincer agent`): read to the end, bounded, and stopped by
//! Ctrl-C (exit 130, nothing sent) even while the writer is silent.

use crate::exit::UsageError;
use crate::term::interrupt;

/// Larger than any model's context window (1M tokens is about 4 MiB of text): more is refused
/// before it fills memory.
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;
const CHUNK_BYTES: usize = 64 * 1024;

/// Reads stdin to its end as the message. Empty (or blank) input, input past
/// [`MAX_MESSAGE_BYTES`] and bytes that are not UTF-8 are usage errors.
pub fn read() -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; CHUNK_BYTES];
    loop {
        let n = match interrupt::read_stdin(&mut chunk) {
            // A closed stdin (`<&-`) reads as an empty one, as the standard library treats it.
            Err(e) if is_closed_descriptor(&e) => 0,
            other => other?,
        };
        if n == 0 {
            break;
        }
        if bytes.len() + n > MAX_MESSAGE_BYTES {
            return Err(UsageError(format!(
                "the message on stdin is larger than {} MiB; nothing was sent\nhint: send a smaller part, e.g. `head -c 1000000 FILE | pincer agent`",
                MAX_MESSAGE_BYTES / (1024 * 1024)
            ))
            .into());
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
    message_from_bytes(bytes)
}

fn is_closed_descriptor(error: &anyhow::Error) -> bool {
    error.downcast_ref::<std::io::Error>().and_then(std::io::Error::raw_os_error) == Some(libc::EBADF)
}

fn message_from_bytes(bytes: Vec<u8>) -> anyhow::Result<String> {
    let message = String::from_utf8(bytes).map_err(|e| {
        UsageError(format!(
            "the message on stdin is not UTF-8 text (byte {} is not); nothing was sent\nhint: convert it first, e.g. `iconv -f latin1 -t utf-8 FILE | pincer agent`",
            e.utf8_error().valid_up_to() + 1
        ))
    })?;
    if message.trim().is_empty() {
        return Err(UsageError("no message: stdin was empty\nhint: pass -m MESSAGE or pipe text in".into()).into());
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_passes_and_blank_or_binary_input_is_a_usage_error() {
        assert_eq!(message_from_bytes(b"What is SSE?\n".to_vec()).unwrap(), "What is SSE?\n");
        for bad in [&b""[..], b" \n\t", b"ok \xff"] {
            let err = message_from_bytes(bad.to_vec()).unwrap_err();
            assert!(err.is::<UsageError>(), "{bad:?}: {err}");
        }
        let err = message_from_bytes(b"ab\xffc".to_vec()).unwrap_err().to_string();
        assert!(err.contains("byte 3 is not") && err.contains("hint: convert"), "{err}");
    }
}
