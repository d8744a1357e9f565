//! Runs the `bash` tool outside the agent, for measurements (`scripts/bench-bash`).
//!
//!     bash_run [--no-sandbox | --direct] [--repeat N] COMMAND
//!
//! Prints, one `name value` per line, the median wall time of the calls, the CPU time per call
//! (this process and everything it started), this process's peak RSS (`ru_maxrss`), the last
//! call's summary and the sandbox state. `--direct` runs `sh -c COMMAND` with `std::process::Command` instead:
//! the floor the tool's start-up cost is measured against.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pincer::cancel::CancelToken;
use pincer::tools::shell::{BashSettings, BashTool, DEFAULT_TIMEOUT};
use pincer::tools::{Tool, ToolContext};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut take_flag = |name: &str| args.iter().position(|a| a == name).map(|i| args.remove(i)).is_some();
    let no_sandbox = take_flag("--no-sandbox");
    let direct = take_flag("--direct");
    let repeat = match args.iter().position(|a| a == "--repeat") {
        Some(i) => {
            args.remove(i);
            args.remove(i).parse::<usize>().expect("--repeat N")
        }
        None => 1,
    };
    let command = args.join(" ");
    assert!(!command.is_empty(), "usage: bash_run [--no-sandbox | --direct] [--repeat N] COMMAND");

    let dir = tempfile::tempdir().expect("temp dir");
    let workspace = dir.path().join("workspace");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&workspace).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    let (workspace, home) = (workspace.canonicalize().unwrap(), home.canonicalize().unwrap());

    let settings =
        BashSettings { sandbox: !no_sandbox, network: true, writable: vec![], default_timeout: DEFAULT_TIMEOUT };
    let tool = BashTool::new(settings, pincer::env::vars_for_commands());
    let cancel = CancelToken::new();
    let read_files = Mutex::new(HashSet::new());
    let progress = |_: &str| {};
    let ctx = ToolContext {
        workspace: &workspace,
        home: &home,
        cancel: &cancel,
        read_files: &read_files,
        progress: &progress,
    };

    let mut times = Vec::with_capacity(repeat);
    let mut summary = String::new();
    let mut text = String::new();
    let mut last_started_ns = 0;
    let mut last_ended_ns = 0;
    for _ in 0..repeat {
        last_started_ns = unix_ns();
        let started = Instant::now();
        if direct {
            let out = std::process::Command::new("/bin/sh").args(["-c", &command]).output().expect("sh");
            summary = format!("{}", out.status);
            text = String::from_utf8_lossy(&out.stdout).into_owned();
        } else {
            let out = tool.call(&serde_json::json!({ "command": command }), &ctx);
            summary = out.summary.clone();
            text = out.joined_text();
        }
        times.push(started.elapsed());
        last_ended_ns = unix_ns();
    }
    times.sort();
    let median: Duration = times[times.len() / 2];
    let usage = |who| {
        // SAFETY: getrusage fills a local struct.
        unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            libc::getrusage(who, &mut usage);
            usage
        }
    };
    let cpu_us = |u: &libc::rusage| {
        (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1_000_000 + u.ru_utime.tv_usec + u.ru_stime.tv_usec
    };
    let (me, children) = (usage(libc::RUSAGE_SELF), usage(libc::RUSAGE_CHILDREN));
    let peak_kib = me.ru_maxrss;
    println!("median_us {}", median.as_micros());
    // CPU time of everything the runs did (this process, the supervisors, the commands), per run.
    println!("cpu_us_per_run {}", (cpu_us(&me) + cpu_us(&children)) / repeat as i64);
    println!("peak_rss_kib {peak_kib}");
    println!("runs {repeat}");
    // Wall-clock nanoseconds around the last call: `date +%s%N` as the command shows where
    // the time goes (before the command runs, after it ends).
    println!("last_call_started_ns {last_started_ns}");
    println!("last_call_ended_ns {last_ended_ns}");
    println!("summary {summary}");
    println!("sandbox {}", tool.sandbox().describe());
    // The last call's output, last, as the model reads it.
    println!("{text}");
}

fn unix_ns() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default()
}
