//! Shared test support: a scriptable HTTP server on loopback and a hermetic way to run pincer.
#![allow(dead_code)] // each test binary uses a different part

pub mod fake_server;
pub mod scratch;
pub mod tls_server;

use std::time::Duration;

use fake_server::{Body, Response};

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A 108-character setup token, as `claude setup-token` prints them.
pub fn setup_token(tag: char) -> String {
    format!("sk-ant-oat01-{}{}AA", tag.to_string().repeat(10), "x_Y-z".repeat(17))
}

/// A 108-character API key.
pub fn api_key(tag: char) -> String {
    format!("sk-ant-api03-{}{}AA", tag.to_string().repeat(10), "Q-r_S".repeat(17))
}

/// A temporary home and the binary, run with a cleared environment.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox { dir: tempfile::tempdir().unwrap() }
    }

    /// `$PINCER_HOME` (inside the sandbox, not yet created: pincer must create it 0700).
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("pincer-home")
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.home().join(name)
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.file(name)).unwrap_or_default()
    }

    /// pincer with only the variables a test sets: no ambient credentials, proxies or colours.
    pub fn cmd(&self, base_url: &str) -> Command {
        let mut cmd = Command::cargo_bin("pincer").unwrap();
        cmd.env_clear()
            .env("PINCER_HOME", self.home())
            .env("HOME", self.dir.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("ANTHROPIC_BASE_URL", base_url)
            .env("TZ", "UTC")
            // The default workspace is the current folder: never the repository's.
            .current_dir(self.dir.path());
        cmd
    }

    /// The same hermetic environment as [`Sandbox::cmd`], as a `std::process::Command`, for tests
    /// that drive the process themselves (signals, pipes read while it runs, `wait4`).
    pub fn process(&self, base_url: &str) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("pincer"));
        cmd.env_clear()
            .env("PINCER_HOME", self.home())
            .env("HOME", self.dir.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("ANTHROPIC_BASE_URL", base_url)
            .env("TZ", "UTC")
            // The default workspace is the current folder: never the repository's.
            .current_dir(self.dir.path());
        cmd
    }

    /// Every file under the home folder except auth.json, with its contents.
    pub fn files_except_auth(&self) -> Vec<(PathBuf, String)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
            let Ok(entries) = std::fs::read_dir(dir) else { return };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.file_name().is_some_and(|n| n != "auth.json") {
                    out.push((p.clone(), String::from_utf8_lossy(&std::fs::read(&p).unwrap_or_default()).into_owned()));
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.home(), &mut out);
        out
    }
}

/// The output of a finished command, as text.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command, stdin: &str) -> Output {
    let out = cmd.write_stdin(stdin.as_bytes().to_vec()).output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A loopback address where nothing listens.
pub fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// A complete Anthropic stream answering `text` and ending with `stop_reason`.
pub fn text_stream(text: &str, stop_reason: &str) -> String {
    let delta =
        serde_json::json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}});
    format!(
        "event: message_start\ndata: {{\"type\":\"message_start\",\"message\":{{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"m\",\"stop_reason\":null,\"usage\":{{\"input_tokens\":3,\"output_tokens\":1}}}}}}\n\n\
         event: content_block_start\ndata: {{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{{\"type\":\"text\",\"text\":\"\"}}}}\n\n\
         event: content_block_delta\ndata: {delta}\n\n\
         event: content_block_stop\ndata: {{\"type\":\"content_block_stop\",\"index\":0}}\n\n\
         event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"{stop_reason}\"}},\"usage\":{{\"output_tokens\":5}}}}\n\n\
         event: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n"
    )
}

/// An event-stream response sent `chunk` bytes at a time.
pub fn sse(body: &str, chunk: usize) -> Response {
    Response {
        status: 200,
        headers: vec![("content-type".into(), "text/event-stream".into())],
        body: Body::Chunks {
            pieces: body.as_bytes().chunks(chunk).map(<[u8]>::to_vec).collect(),
            pause: Duration::ZERO,
        },
    }
}

/// Reads a child's stdout until `needle` appears (the text is visible before the stream ends).
pub fn read_until(stdout: &mut impl std::io::Read, needle: &str) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains(needle) {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "stdout closed before {needle:?} appeared");
        seen.extend_from_slice(&buf[..n]);
    }
}
pub mod strict_model;
