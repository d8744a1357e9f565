//! The real shells as the judge of the splitter: random lines built from an attacker's pieces are
//! run by `sh -c` and `bash -c` in a scratch folder, with a fake `rm` first on `PATH` that only
//! leaves a mark. Whenever the mark appears, `--yolo --deny 'bash(rm:*)'` must have denied the
//! line, and `--allow 'bash(echo:*)'` must not have allowed it. (The other way round is not
//! checked: refusing a line that would not run `rm` is the safe side.)

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::{Decision, Effect, Policy, Source};
use crate::tools::{Target, ToolClass};

/// Words of simple commands: `rm` in disguise, and harmless ones.
const WORDS: &[&str] =
    &["rm", "rm -rf y", "r''m", "\\rm", "\"rm\"", "./rm", "r\\m", "rm*", "echo", "true", "x", "-rf", "y", "*", "$X"];

/// What may stand before a command and run it.
const WRAPPERS: &[&str] =
    &["", "", "env ", "env X=1 ", "X=1 ", "nice ", "command ", "exec ", "timeout 5 ", "time ", "! ", "xargs "];

/// Between two commands.
const SEPARATORS: &[&str] = &["; ", " && ", " || ", " | ", " & ", "\n"];

/// Around a script: substitutions, subshells, groups, shells, keywords, `find -exec`.
const NESTINGS: &[(&str, &str)] = &[
    ("$(", ")"),
    ("`", "`"),
    ("echo `", "`"),
    ("X=`", "` true"),
    ("(", ")"),
    ("{ ", "; }"),
    ("sh -c '", "'"),
    ("bash -c \"", "\""),
    ("echo \"$(", ")\""),
    ("echo ${X:-$(", ")}"),
    ("cat <(", ")"),
    ("if true; then ", "; fi"),
    ("for i in 1; do ", "; done"),
    ("find . -maxdepth 0 -exec ", " \\;"),
    ("eval '", "'"),
    ("env -S '", "'"),
    ("timeout 5 sh -c '", "'"),
    ("echo x | sh -c '", "'"),
];

/// Inserted anywhere, to break lines in the ways an attacker (or a typo) would.
const NOISE: &[&str] = &[
    "'", "\"", "\\", "#", "\n", ";", " ", "$'", "<<", ">", "<", "2>&1", "&", "|", "\\\n", "`", ")", "(", "*", "{", "}",
];

/// Random lines from those pieces; no loops or functions (a line must not recurse or fork without
/// end) and no absolute paths (only the fake `rm` can run).
fn line() -> impl Strategy<Value = String> {
    use proptest::sample::{Index, select};
    let command = (select(WRAPPERS), proptest::collection::vec(select(WORDS), 1..4))
        .prop_map(|(wrapper, words)| format!("{wrapper}{}", words.join(" ")));
    command.prop_recursive(3, 24, 3, |inner| {
        prop_oneof![
            (inner.clone(), select(SEPARATORS), inner.clone()).prop_map(|(a, sep, b)| format!("{a}{sep}{b}")),
            (select(NESTINGS), inner.clone()).prop_map(|((open, close), s)| format!("{open}{s}{close}")),
            (inner, select(NOISE), any::<Index>()).prop_map(|(s, noise, at)| {
                let cuts: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
                let at = cuts[at.index(cuts.len())];
                format!("{}{noise}{}", &s[..at], &s[at..])
            }),
        ]
    })
}

/// A shell line that would run the fake `rm`, as seen by running it.
fn runs_rm(shell: &str, line: &str, dir: &Path) -> bool {
    let mark = dir.join("mark");
    let _ = std::fs::remove_file(&mark);
    let mut child = Command::new(shell)
        .arg("-c")
        .arg(line)
        .current_dir(dir.join("work"))
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", dir.join("bin").display()))
        .env("MARK", &mark)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the shell starts");
    let deadline = Instant::now() + Duration::from_secs(5);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    // Background jobs (`rm &`) may still be starting.
    std::thread::sleep(Duration::from_millis(5));
    mark.exists()
}

fn scratch() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("bin")).unwrap();
    std::fs::create_dir(dir.path().join("work")).unwrap();
    let fake = "#!/bin/sh\necho ran >> \"$MARK\"\n";
    for path in [dir.path().join("bin/rm"), dir.path().join("work/rm")] {
        std::fs::write(&path, fake).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

fn denied(line: &str) -> bool {
    let mut policy = Policy::new(true);
    policy.add(Effect::Deny, "bash(rm:*)", Source::CommandLine).unwrap();
    policy.decide("bash", ToolClass::Bash, &Target::Command(line.to_string())).decision == Decision::Deny
}

/// Allowed by `--allow 'bash(echo:*)'`: such a line must run nothing but `echo`.
fn allowed_as_echo(line: &str) -> bool {
    let mut policy = Policy::new(false);
    policy.add(Effect::Allow, "bash(echo:*)", Source::CommandLine).unwrap();
    policy.decide("bash", ToolClass::Bash, &Target::Command(line.to_string())).decision == Decision::Allow
}

#[test]
fn the_oracle_sees_the_fake_rm() {
    let dir = scratch();
    for shell in ["sh", "bash"] {
        assert!(runs_rm(shell, "x; rm -rf y", dir.path()), "{shell}");
        assert!(runs_rm(shell, "r''m", dir.path()), "{shell}");
        assert!(!runs_rm(shell, "echo rm", dir.path()), "{shell}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn no_line_that_runs_rm_gets_past_a_deny_rule(line in line()) {
        let dir = scratch();
        for shell in ["sh", "bash"] {
            if runs_rm(shell, &line, dir.path()) {
                prop_assert!(denied(&line), "{shell} -c {line:?} ran rm, and the policy let it through");
                prop_assert!(!allowed_as_echo(&line), "{shell} -c {line:?} ran rm, and `bash(echo:*)` allowed it");
            }
        }
    }
}
