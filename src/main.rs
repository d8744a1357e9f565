//! The thin binary: run, print the error chain once, map it to an exit code.

use std::io::Write;
use std::process::ExitCode;

use pincer::term::output::OutputError;

fn main() -> ExitCode {
    match pincer::run() {
        Ok(code) => code,
        Err(error) => {
            if is_broken_pipe(&error) {
                // `pincer … | head` closing early is not a failure.
                return ExitCode::SUCCESS;
            }
            // A closed stderr must not turn into a panic.
            let _ = writeln!(std::io::stderr(), "pincer: {}", render_chain(&error));
            pincer::commands::exit_code(&error)
        }
    }
}

/// `a: b: c`, with any `hint:` lines moved to the end so the hint is the last thing read.
fn render_chain(error: &anyhow::Error) -> String {
    let mut message = Vec::new();
    let mut extra = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if text.starts_with("hint:") {
            extra.push(text);
            continue;
        }
        let mut lines = text.lines();
        if let Some(first) = lines.next() {
            message.push(first.to_string());
        }
        extra.extend(lines.map(str::to_string));
    }
    let mut out = message.join(": ");
    for line in extra {
        out.push('\n');
        out.push_str(&line);
    }
    out
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|c| {
        matches!(c.downcast_ref::<OutputError>(), Some(OutputError::Closed))
            || c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
