//! Where the `claude` program is and which version it is, for the chat and for `pincer models`
//! and `auth status`: found on `PATH` (or at the configured path) without running it; the
//! version is asked with `claude --version`, which reads no credential and sends nothing.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{DEFAULT_COMMAND, INSTALL_HINT, PROVIDER};
use crate::config::Config;
use crate::env::Env;

/// The longest `claude --version` may take before it is given up on.
const VERSION_TIMEOUT: Duration = Duration::from_secs(5);
const VERSION_POLL: Duration = Duration::from_millis(5);

/// Whether Claude Code is installed, as `pincer models` and `auth status` report it.
#[derive(Debug, Clone, Serialize)]
pub struct Installation {
    /// The command as configured (`claude` by default).
    pub command: String,
    pub installed: bool,
    /// Where it was found.
    pub path: Option<PathBuf>,
    /// `2.1.332`, when `--version` answered.
    pub version: Option<String>,
    /// Why it cannot be used, with what to do.
    pub problem: Option<String>,
}

impl Installation {
    /// Finds the configured command and, with `ask_version`, runs `--version` (a few ms for a
    /// warm binary; more for a cold one of ~400 MB).
    pub fn check(config: Option<&Config>, env: &Env, ask_version: bool) -> Installation {
        let command = configured_command(config);
        let Some(path) = locate(&command, env) else {
            return Installation {
                problem: Some(format!("`{command}` was not found; {INSTALL_HINT}")),
                command,
                installed: false,
                path: None,
                version: None,
            };
        };
        let (version, problem) = match ask_version.then(|| version(&path)) {
            None => (None, None),
            Some(Ok(v)) => (Some(v), None),
            Some(Err(e)) => (None, Some(format!("`{} --version` failed: {e}", path.display()))),
        };
        Installation { command, installed: true, path: Some(path), version, problem }
    }

    /// One line: `2.1.332 at /usr/local/bin/claude`, or what is wrong.
    pub fn describe(&self) -> String {
        match (&self.path, &self.version, &self.problem) {
            (Some(path), Some(version), _) => format!("Claude Code {version} at {}", path.display()),
            (Some(path), None, Some(problem)) => format!("Claude Code at {} ({problem})", path.display()),
            (Some(path), None, None) => format!("Claude Code at {}", path.display()),
            (_, _, Some(problem)) => format!("Claude Code is not installed: {problem}"),
            _ => "Claude Code: unknown".to_string(),
        }
    }
}

/// `[providers.claude-code] command`, or `claude`.
pub fn configured_command(config: Option<&Config>) -> String {
    config.and_then(|c| c.provider(PROVIDER).command.clone()).unwrap_or_else(|| DEFAULT_COMMAND.to_string())
}

/// The program `command` names: a path (`~/` is the home folder), or a name looked up on `PATH`.
pub fn locate(command: &str, env: &Env) -> Option<PathBuf> {
    if command.contains(std::path::is_separator) {
        let path = match (command.strip_prefix("~/"), &env.home) {
            (Some(rest), Some(home)) => home.join(rest),
            _ => PathBuf::from(command),
        };
        return executable_at(path);
    }
    let search = env.path.as_deref().unwrap_or(OsStr::new(""));
    std::env::split_paths(search)
        .filter(|dir| !dir.as_os_str().is_empty())
        .find_map(|dir| executable_at(dir.join(command)))
}

/// `path`, if it is a program this user may run.
#[cfg(unix)]
fn executable_at(path: PathBuf) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).then_some(path)
}

/// What Windows runs by its name alone: npm installs `claude.cmd` (beside a `claude` shell
/// script Windows cannot run). A fixed list, not `PATHEXT`: std starts these (`.cmd` and `.bat`
/// through cmd.exe), not the `.vbs` or `.js` that `PATHEXT` lists too.
#[cfg(windows)]
const PROGRAM_EXTENSIONS: [&str; 4] = ["exe", "cmd", "bat", "com"];

/// `path` if it names a program, else `path` with the first program extension that exists.
#[cfg(windows)]
fn executable_at(path: PathBuf) -> Option<PathBuf> {
    let is_program = |p: &Path| {
        let extension = p.extension().and_then(OsStr::to_str).map(str::to_ascii_lowercase);
        extension.is_some_and(|e| PROGRAM_EXTENSIONS.contains(&e.as_str())) && p.is_file()
    };
    if is_program(&path) {
        return Some(path);
    }
    PROGRAM_EXTENSIONS
        .iter()
        .map(|extension| {
            let mut name = path.clone().into_os_string();
            name.push(".");
            name.push(extension);
            PathBuf::from(name)
        })
        .find(|candidate| is_program(candidate))
}

/// `claude --version` → `2.1.332` (its output is `2.1.332 (Claude Code)`).
pub fn version(program: &Path) -> Result<String, String> {
    let mut child = Command::new(program)
        .arg("--version")
        .env_clear()
        .envs(super::process::child_environment())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() > VERSION_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no answer within {} s", VERSION_TIMEOUT.as_secs()));
            }
            Ok(None) => std::thread::sleep(VERSION_POLL),
            Err(e) => return Err(e.to_string()),
        }
    }
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    parse_version(&String::from_utf8_lossy(&output.stdout)).ok_or_else(|| {
        format!("it answered {:?}, not a version", crate::sanitize::sanitize(output_head(&output.stdout)))
    })
}

fn output_head(bytes: &[u8]) -> &str {
    let text = std::str::from_utf8(bytes).unwrap_or("");
    text.lines().next().unwrap_or("").trim()
}

/// The first word, when it looks like a version (`2.1.332`).
fn parse_version(stdout: &str) -> Option<String> {
    let word = stdout.split_whitespace().next()?;
    let looks_right =
        word.split('.').count() >= 2 && word.chars().all(|c| c.is_ascii_alphanumeric() || ".-+".contains(c));
    looks_right.then(|| word.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_claudes_answer() {
        assert_eq!(parse_version("2.1.332 (Claude Code)\n").as_deref(), Some("2.1.332"));
        assert_eq!(parse_version("1.0.0-beta.2\n").as_deref(), Some("1.0.0-beta.2"));
        assert_eq!(parse_version(""), None);
        assert_eq!(parse_version("error: unknown option\n"), None);
    }

    #[test]
    fn commands_are_found_on_path_or_at_their_path() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let program = bin.join("claude");
        std::fs::write(&program, "#!/bin/sh\n").unwrap();
        let plain = bin.join("not-executable");
        std::fs::write(&plain, "").unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = std::env::join_paths([Path::new("/nonexistent"), &bin]).unwrap();
        let env = Env { path: Some(path), home: Some(dir.path().to_path_buf()), ..Env::default() };
        assert_eq!(locate("claude", &env), Some(program.clone()));
        assert_eq!(locate("not-executable", &env), None);
        assert_eq!(locate("missing", &env), None);
        assert_eq!(locate("~/bin/claude", &env), Some(program.clone()));
        assert_eq!(locate(program.to_str().unwrap(), &Env::default()), Some(program));
        assert_eq!(locate("claude", &Env::default()), None, "no PATH, nothing found");
    }
}
