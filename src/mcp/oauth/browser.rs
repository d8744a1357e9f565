//! Opening the sign-in page: the program `BROWSER` names, else the desktop's opener.
//!
//! `BROWSER` follows the convention other tools share: a program (`firefox`), a program with
//! arguments where `%s` stands for the address (`firefox --new-window %s`), or several such
//! separated by `:` (`;` on Windows), tried in order until one starts. The program is run directly with the
//! address as one argument: no shell ever sees it, so nothing in it is interpreted. Its output
//! goes nowhere (the address carries `state` and the PKCE challenge, which stay out of logs).

use std::process::{Command, Stdio};

/// The desktop's own opener, when `BROWSER` is not set. Windows: Explorer opens an address in
/// the default browser, with no shell in between (`start` is a cmd.exe built-in, and cmd.exe
/// would interpret the `&` of an address).
#[cfg(target_os = "macos")]
const DEFAULT_OPENER: &str = "open";
#[cfg(windows)]
const DEFAULT_OPENER: &str = "explorer";
#[cfg(not(any(target_os = "macos", windows)))]
const DEFAULT_OPENER: &str = "xdg-open";
/// What separates the commands of `BROWSER`: the platform's path-list separator, as other tools
/// read it (`:`; `;` on Windows, where `:` is in every absolute path).
#[cfg(not(windows))]
const BROWSER_SEPARATOR: char = ':';
#[cfg(windows)]
const BROWSER_SEPARATOR: char = ';';
const PLACEHOLDER: &str = "%s";

/// The commands to try, each a program and its arguments, the address filled in.
pub fn commands(browser: Option<&str>, url: &str) -> Vec<Vec<String>> {
    let spec = browser.map(str::trim).filter(|b| !b.is_empty()).unwrap_or(DEFAULT_OPENER);
    spec.split(BROWSER_SEPARATOR)
        .map(str::split_whitespace)
        .filter_map(|words| {
            let mut words: Vec<String> = words.map(str::to_string).collect();
            if words.is_empty() {
                return None;
            }
            if words.iter().any(|w| w.contains(PLACEHOLDER)) {
                for w in words.iter_mut().skip(1) {
                    *w = w.replace(PLACEHOLDER, url);
                }
            } else {
                words.push(url.to_string());
            }
            Some(words)
        })
        .collect()
}

/// Starts the first command that can start; returns its program name, or why none could.
pub fn open(browser: Option<&str>, url: &str) -> Result<String, String> {
    let mut problems = Vec::new();
    for words in commands(browser, url) {
        let (program, args) = words.split_first().expect("commands are never empty");
        match Command::new(program).args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn()
        {
            Ok(mut child) => {
                // A browser may stay for the whole session: reap it whenever it ends.
                std::thread::spawn(move || child.wait());
                return Ok(program.clone());
            }
            Err(e) => problems.push(format!("{program}: {e}")),
        }
    }
    Err(problems.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://auth.example.com/authorize?state=a%20b&x=1;rm -rf ~";

    #[test]
    fn the_address_is_one_argument_whatever_it_holds() {
        assert_eq!(commands(Some("firefox"), URL), vec![vec!["firefox".to_string(), URL.to_string()]]);
        assert_eq!(
            commands(Some("chromium --new-window %s --x"), URL),
            vec![vec!["chromium".to_string(), "--new-window".into(), URL.into(), "--x".into()]]
        );
        assert_eq!(
            commands(Some("a:  : b %s"), "u"),
            vec![vec!["a".to_string(), "u".into()], vec!["b".to_string(), "u".into()]]
        );
        assert_eq!(commands(None, "u"), vec![vec![DEFAULT_OPENER.to_string(), "u".into()]]);
        assert_eq!(commands(Some("   "), "u")[0][0], DEFAULT_OPENER);
    }

    #[test]
    fn the_first_program_that_starts_is_used_and_runs_without_a_shell() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("args");
        let script = dir.path().join("browser.sh");
        std::fs::write(&script, format!("#!/bin/sh\nprintf '%s\\n' \"$#\" \"$1\" > {}\n", out.display())).unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let spec = format!("/nonexistent/browser:{}", script.display());
        assert_eq!(open(Some(&spec), URL).unwrap(), script.display().to_string());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !out.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), format!("1\n{URL}\n"));
        let err = open(Some("/nonexistent/a:/nonexistent/b"), URL).unwrap_err();
        assert!(err.contains("/nonexistent/a") && err.contains("/nonexistent/b") && !err.contains("state="), "{err}");
    }
}
