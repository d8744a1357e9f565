//! Runs the `web_fetch` tool once, for measurements (scripts/bench-web-fetch): fetches URL with
//! `allow_private = true` (the bench server is on loopback) and prints one line of JSON with
//! the call's wall time, the result's size and summary, and this process's peak RSS (VmHWM,
//! which belongs to this process's own address space, unlike a parent's ru_maxrss).
//!
//!     cargo run --release --example web_fetch_once -- http://127.0.0.1:PORT/page.html

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use pincer::cancel::CancelToken;
use pincer::tools::web::{WebFetch, WebSettings};
use pincer::tools::{Tool, ToolContext};

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: web_fetch_once URL");
        std::process::exit(2);
    };
    let tool = WebFetch::new(WebSettings { allow_private: true, env: Default::default() });
    let cancel = CancelToken::new();
    let read_files = Mutex::new(HashSet::new());
    let progress = |_: &str| {};
    let ctx = ToolContext {
        workspace: Path::new("/"),
        home: Path::new("/nonexistent"),
        cancel: &cancel,
        read_files: &read_files,
        progress: &progress,
    };
    let input = serde_json::json!({ "url": url });
    let started = Instant::now();
    let output = tool.call(&input, &ctx);
    let elapsed = started.elapsed();
    let line = serde_json::json!({
        "ms": elapsed.as_secs_f64() * 1e3,
        "result_bytes": output.size(),
        "is_error": output.is_error,
        "summary": output.summary,
        "peak_rss_kib": peak_rss_kib(),
    });
    println!("{line}");
}
