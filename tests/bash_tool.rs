//! The `bash` tool run for real, as an attacker would use it: the sandbox (Landlock on these
//! machines), the supervisor that kills what a command leaves behind, caps, timeouts, Ctrl-C,
//! and the hard limits of SPEC §9 (no credentials in the environment, no reading pincer's
//! process), as root and as an ordinary user.
#![cfg(target_os = "linux")]

#[path = "support/scratch.rs"]
mod scratch;

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pincer::cancel::CancelToken;
use pincer::tools::shell::{BashSettings, BashTool, DEFAULT_TIMEOUT, default_writable};
use pincer::tools::{Tool, ToolContext, ToolOutput};
use serde_json::json;

/// A workspace and a home with a credential file and a skill, both canonical.
struct Dirs {
    _tmp: tempfile::TempDir,
    workspace: PathBuf,
    home: PathBuf,
}

const SECRET_FILE_CONTENT: &str = "sk-ant-api03-SECRET-IN-AUTH-JSON";
const SKILL_CONTENT: &str = "name: demo-skill";

fn dirs_in(home_inside_workspace: bool) -> Dirs {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let workspace = root.join("workspace");
    let home = if home_inside_workspace { workspace.join(".pincer") } else { root.join("pincer-home") };
    std::fs::create_dir_all(&workspace).unwrap();
    std::fs::create_dir_all(home.join("skills/demo")).unwrap();
    std::fs::write(home.join("auth.json"), SECRET_FILE_CONTENT).unwrap();
    std::fs::write(home.join("skills/demo/SKILL.md"), SKILL_CONTENT).unwrap();
    Dirs { _tmp: tmp, workspace, home }
}

fn dirs() -> Dirs {
    dirs_in(false)
}

fn settings(sandbox: bool) -> BashSettings {
    BashSettings { sandbox, network: true, writable: vec![], default_timeout: DEFAULT_TIMEOUT }
}

fn base_env() -> Vec<(OsString, OsString)> {
    vec![("PATH".into(), "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin".into())]
}

fn tool(sandbox: bool) -> BashTool {
    BashTool::new(settings(sandbox), base_env())
}

fn run_with(tool: &BashTool, dirs: &Dirs, cancel: &CancelToken, input: serde_json::Value) -> ToolOutput {
    let read_files = Mutex::new(HashSet::new());
    let progress = |_: &str| {};
    let ctx = ToolContext {
        workspace: &dirs.workspace,
        home: &dirs.home,
        cancel,
        read_files: &read_files,
        progress: &progress,
    };
    tool.call(&input, &ctx)
}

fn run(tool: &BashTool, dirs: &Dirs, command: &str) -> ToolOutput {
    run_with(tool, dirs, &CancelToken::new(), json!({ "command": command }))
}

fn alive(pid: i32) -> bool {
    // Signal 0 checks existence; a zombie counts as gone (it runs nothing).
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = state.rsplit(')').next().unwrap_or_default().trim_start().chars().next();
    // SAFETY: signal 0 sends nothing.
    let exists = unsafe { libc::kill(pid, 0) } == 0;
    exists && state.is_some_and(|s| s != 'Z')
}

fn is_root() -> bool {
    // SAFETY: cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn output_is_interleaved_and_the_exit_code_reported() {
    let d = dirs();
    let out = run(&tool(true), &d, "echo one; echo two >&2; echo three; exit 3");
    assert_eq!(out.summary, "exit 3");
    assert!(out.is_error);
    let text = out.joined_text();
    assert!(text.starts_with("one\ntwo\nthree\n[exit 3 · "), "{text}");

    let ok = run(&tool(true), &d, "pwd");
    assert_eq!((ok.summary.as_str(), ok.is_error), ("exit 0", false));
    assert!(ok.joined_text().starts_with(&format!("{}\n", d.workspace.display())), "runs in the workspace");
}

#[test]
fn stdin_is_empty_and_invalid_utf8_is_converted() {
    let d = dirs();
    let out = run(&tool(true), &d, "cat; echo cat=$?; printf 'ok\\377\\376ok\\n'");
    let text = out.joined_text();
    assert!(text.starts_with("cat=0\nok\u{FFFD}\u{FFFD}ok\n"), "{text}");
}

/// The status line follows the output while the command runs.
#[test]
fn progress_shows_the_last_line_while_the_command_runs() {
    let d = dirs();
    let seen = Mutex::new(Vec::<String>::new());
    let progress = |line: &str| seen.lock().unwrap().push(line.to_string());
    let (cancel, read_files) = (CancelToken::new(), Mutex::new(HashSet::new()));
    let ctx = ToolContext {
        workspace: &d.workspace,
        home: &d.home,
        cancel: &cancel,
        read_files: &read_files,
        progress: &progress,
    };
    let out = tool(true).call(&json!({"command": "echo one; sleep 0.3; printf 'two\\n'; sleep 0.3"}), &ctx);
    assert_eq!(out.summary, "exit 0");
    assert_eq!(*seen.lock().unwrap(), ["one", "two"]);
}

#[test]
fn a_timeout_kills_the_command() {
    let d = dirs();
    let started = Instant::now();
    let out = run_with(
        &tool(true),
        &d,
        &CancelToken::new(),
        json!({"command": "echo started; sleep 30; echo never", "timeout": 1}),
    );
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert_eq!(out.summary, "timed out after 1 s");
    let text = out.joined_text();
    assert!(text.contains("started\n") && !text.contains("never"), "{text}");
    assert!(text.contains("[killed by SIGKILL (timeout 1 s) · "), "{text}");
}

#[test]
fn cancelling_kills_the_whole_group_promptly() {
    let d = dirs();
    let cancel = CancelToken::new();
    let pid_file = d.workspace.join("sleep.pid");
    let started = Instant::now();
    let out = std::thread::scope(|s| {
        s.spawn(|| {
            // Cancel once the command has started its child.
            while !pid_file.exists() && started.elapsed() < Duration::from_secs(20) {
                std::thread::sleep(Duration::from_millis(10));
            }
            std::thread::sleep(Duration::from_millis(100));
            cancel.cancel();
        });
        run_with(&tool(true), &d, &cancel, json!({"command": "sleep 60 & echo $! > sleep.pid; wait"}))
    });
    let took = started.elapsed();
    assert_eq!(out.summary, "cancelled");
    assert!(out.joined_text().contains("killed by SIGKILL (cancelled by the user)"));
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    assert!(!alive(pid), "the command's background child {pid} survived Ctrl-C");
}

/// Every way of leaving something behind: a subshell's background job (holding the output
/// pipe), a new session, a double fork, nohup, a quiet daemon. None may survive the call, and
/// the call must not wait for them.
#[test]
fn nothing_a_command_leaves_in_the_background_survives_it() {
    let d = dirs();
    let command = r#"
        (sleep 301 & echo $! > a.pid)
        setsid sh -c 'echo $$ > b.pid; exec sleep 302' &
        sh -c 'sh -c "echo \$\$ > c.pid; exec sleep 303" &'
        nohup sleep 304 > /dev/null 2>&1 & echo $! > d.pid
        sleep 305 > /dev/null 2>&1 & echo $! > e.pid
        while [ ! -s b.pid ] || [ ! -s c.pid ]; do sleep 0.05; done
        echo started
    "#;
    let started = Instant::now();
    for sandbox in [true, false] {
        let out = run(&tool(sandbox), &d, command);
        let text = out.joined_text();
        assert_eq!(out.summary, "exit 0", "{text}");
        assert!(text.contains("started\n"), "{text}");
        assert!(text.contains("background processes still running when the command ended were killed"), "{text}");
        for name in ["a", "b", "c", "d", "e"] {
            let pid: i32 =
                std::fs::read_to_string(d.workspace.join(format!("{name}.pid"))).unwrap().trim().parse().unwrap();
            assert!(!alive(pid), "{name}.pid ({pid}) survived (sandbox {sandbox})");
        }
    }
    assert!(started.elapsed() < Duration::from_secs(30), "the call waited for its background processes");
}

#[test]
fn a_flood_of_output_is_capped_keeping_head_and_tail() {
    let d = dirs();
    let out = run(&tool(true), &d, "echo first-line; yes | head -c 50000000; echo; echo last-line");
    let text = out.joined_text();
    assert_eq!(out.summary, "exit 0");
    assert!(text.len() < 40_000, "{} bytes kept", text.len());
    assert!(text.starts_with("first-line\ny\ny\n"), "{}", &text[..100]);
    assert!(text.contains("cut from the middle; 50.0 MB in all"), "{}", &text[16_000..17_000]);
    assert!(text.ends_with(&format!("last-line\n[exit 0 · {}", text.rsplit("[exit 0 · ").next().unwrap())));
}

#[test]
fn commands_get_no_credentials() {
    let d = dirs();
    let mut env = base_env();
    let secrets = [
        ("ANTHROPIC_API_KEY", "sk-ant-api03-env-secret-1"),
        ("CLAUDE_CODE_OAUTH_TOKEN", "sk-ant-oat01-env-secret-2"),
        ("OPENAI_API_KEY", "sk-openai-env-secret-3"),
        ("PINCER_SOMETHING", "pincer-env-secret-4"),
        ("GEMINI_API_KEY", "gemini-env-secret-5"),
        ("ANTHROPIC_AUTH_TOKEN", "env-secret-6"),
    ];
    env.extend(secrets.iter().map(|(k, v)| (OsString::from(k), OsString::from(v))));
    env.push(("KEEP_ME".into(), "visible-value".into()));
    let tool = BashTool::new(settings(true), env);
    let out = run(&tool, &d, "env");
    let text = out.joined_text();
    assert!(text.contains("KEEP_ME=visible-value"), "{text}");
    for (name, value) in secrets {
        assert!(!text.contains(name) && !text.contains(value), "{name} reached the command");
    }
}

#[test]
fn writes_outside_the_workspace_fail_only_in_the_sandbox() {
    let d = dirs();
    // Outside the workspace and outside every temp folder.
    let outside = scratch::outside_temp_dirs();
    let target = outside.path().join("written");
    let command = format!("echo hi > '{}' && echo WROTE", target.display());
    let out = run(&tool(true), &d, &command);
    assert!(!target.exists(), "the sandbox let a write through: {}", out.joined_text());
    assert!(out.joined_text().contains("Permission denied"), "{}", out.joined_text());
    // The same command without the sandbox works, so the test can fail.
    let out = run(&tool(false), &d, &command);
    assert!(target.exists() && out.joined_text().contains("WROTE"), "{}", out.joined_text());

    // No terminal either: the person's terminal is a pseudo-terminal like any other.
    let pty = "exec 3<>/dev/ptmx && echo OPENED-PTY";
    assert!(!run(&tool(true), &d, pty).joined_text().contains("OPENED-PTY"));
    assert!(run(&tool(false), &d, pty).joined_text().contains("OPENED-PTY"), "the test can fail");

    // Inside the workspace and the temp folders, writing works.
    let out = run(
        &tool(true),
        &d,
        "mkdir -p sub && echo x > sub/f && t=$(mktemp) && echo y > \"$t\" && rm \"$t\" && echo OK",
    );
    assert!(out.joined_text().starts_with("OK\n"), "{}", out.joined_text());
}

/// `$PINCER_HOME` is neither readable, listable nor writable, whether the workspace holds it or
/// not, and whatever path leads there; `skills/` is readable.
#[test]
fn the_home_is_out_of_reach_and_its_skills_readable() {
    for inside in [false, true] {
        let d = dirs_in(inside);
        let home = d.home.display().to_string();
        std::os::unix::fs::symlink(&d.home, d.workspace.join("link-to-home")).unwrap();
        let t = tool(true);
        let attempts = [
            format!("cat '{home}/auth.json'"),
            "cat link-to-home/auth.json".to_string(),
            format!("cd '{home}' && cat auth.json"),
            format!("ls -a '{home}'"),
            format!("grep -r sk-ant '{home}'"),
            format!("cp '{home}/auth.json' copy.json && cat copy.json"),
            format!("ln '{home}/auth.json' hard.json && cat hard.json"),
            format!("echo x > '{home}/planted' && echo PLANTED"),
            format!("echo x > '{home}/skills/planted' && echo PLANTED"),
            format!("mv '{home}/auth.json' moved.json && cat moved.json"),
        ];
        for attempt in &attempts {
            let text = run(&t, &d, attempt).joined_text();
            assert!(!text.contains(SECRET_FILE_CONTENT) && !text.contains("PLANTED\n"), "{attempt}: {text}");
            assert!(!text.contains("auth.json\n"), "{attempt} listed the home: {text}");
        }
        assert!(!d.home.join("planted").exists() && d.home.join("auth.json").exists());
        let skill = run(&t, &d, &format!("cat '{home}/skills/demo/SKILL.md'"));
        assert!(skill.joined_text().starts_with(SKILL_CONTENT), "{}", skill.joined_text());
        // Without the sandbox the first attempt works: the test can fail.
        let text = run(&tool(false), &d, &attempts[0]).joined_text();
        assert!(text.contains(SECRET_FILE_CONTENT), "{text}");
    }
}

/// The home reached through a symbolic link (a `ToolContext` built from `~/.pincer` where `~`
/// is a link) is protected all the same.
#[test]
fn a_home_given_through_a_symlink_is_protected() {
    let real = dirs();
    let link = real.workspace.parent().unwrap().join("home-link");
    std::os::unix::fs::symlink(&real.home, &link).unwrap();
    let d = Dirs { _tmp: tempfile::tempdir().unwrap(), workspace: real.workspace.clone(), home: link.clone() };
    let text = run(&tool(true), &d, &format!("cat '{}/auth.json'", real.home.display())).joined_text();
    assert!(!text.contains(SECRET_FILE_CONTENT), "{text}");
}

/// A workspace that holds `$PINCER_HOME` (a workspace of `~`) still works inside: its folders
/// and files can be read and written, and only the workspace folder itself loses entries
/// created, removed or listed directly in it.
#[test]
fn a_workspace_holding_the_home_still_works_inside() {
    let d = dirs_in(true);
    std::fs::create_dir(d.workspace.join("src")).unwrap();
    std::fs::write(d.workspace.join("notes.txt"), "old\n").unwrap();
    let out = run(
        &tool(true),
        &d,
        "echo new >> notes.txt && cat notes.txt && echo x > src/new.rs && ls src && cat src/new.rs",
    );
    assert_eq!(out.summary, "exit 0", "{}", out.joined_text());
    assert!(out.joined_text().starts_with("old\nnew\nnew.rs\nx\n"), "{}", out.joined_text());
    let out = run(&tool(true), &d, "touch direct-child");
    assert!(out.is_error && !d.workspace.join("direct-child").exists(), "{}", out.joined_text());
}

/// pincer's own process (here: this test process) and the supervisor cannot be read or traced
/// through /proc or ptrace, with the sandbox on and off.
#[test]
fn the_process_running_the_tool_is_out_of_reach_as_root() {
    if !is_root() {
        eprintln!("skipped: not root here; the ordinary-user case runs in the next test");
        return;
    }
    check_process_out_of_reach("root");
}

/// The same as an ordinary user: run this test binary again as `nobody`, with only this test.
#[test]
fn the_process_running_the_tool_is_out_of_reach_as_an_ordinary_user() {
    if !is_root() {
        check_process_out_of_reach("ordinary user");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    const NOBODY: u32 = 65534;
    // A copy the other user can run wherever the checkout lives (a root-only home, say).
    let bin = tempfile::tempdir().unwrap();
    std::fs::set_permissions(bin.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = bin.path().join("bash_tool_test");
    std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run_as_nobody = || {
        std::process::Command::new(&exe)
            .args(["--exact", "the_process_running_the_tool_is_out_of_reach_as_an_ordinary_user", "--nocapture"])
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", "/tmp")
            .current_dir("/tmp")
            .uid(NOBODY)
            // std drops the supplementary groups when root sets a uid.
            .gid(NOBODY)
            .output()
    };
    // A process forked by another test while the copy was open for writing may hold it a moment.
    let mut out = run_as_nobody();
    for _ in 0..20 {
        match &out {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => std::thread::sleep(Duration::from_millis(50)),
            _ => break,
        }
        out = run_as_nobody();
    }
    let out = out.unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "as uid {NOBODY}:\n{text}");
    assert!(text.contains("checked as ordinary user") && text.contains("1 passed"), "{text}");
}

fn check_process_out_of_reach(who: &str) {
    let pid = std::process::id();
    let d = dirs();
    let environ = format!("cat /proc/{pid}/environ > /dev/null && echo READ-ENVIRON");
    // Control: outside the tool, the same read works (this process is dumpable), so a denial
    // below is the tool's doing.
    let control = std::process::Command::new("sh").args(["-c", &environ]).output().unwrap();
    assert!(String::from_utf8_lossy(&control.stdout).contains("READ-ENVIRON"), "control read failed for {who}");

    let attacks = [
        environ.clone(),
        format!("exec 3< /proc/{pid}/mem && echo OPENED-MEM"),
        "cat /proc/$PPID/environ > /dev/null && echo READ-SUPERVISOR".to_string(),
        "exec 3< /proc/$PPID/mem && echo OPENED-SUPERVISOR".to_string(),
        format!("readlink /proc/{pid}/fd/0 && echo READ-FD"),
        format!("ls /proc/{pid}/cwd/ > /dev/null && echo READ-CWD"),
    ];
    let strace = Path::new("/usr/bin/strace").exists();
    for sandbox in [true, false] {
        if !sandbox && !is_root() {
            // pincer marks itself non-dumpable at start-up (lib.rs); for an ordinary user that
            // is the protection when the sandbox is off.
            // SAFETY: a flag on this process.
            unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
        }
        let t = tool(sandbox);
        for attack in &attacks {
            let text = run(&t, &d, attack).joined_text();
            for tell in ["READ-", "OPENED-"] {
                assert!(!text.contains(tell), "{who}, sandbox {sandbox}: {attack}: {text}");
            }
        }
        if strace {
            let text = run(&t, &d, &format!("timeout 5 strace -p {pid} -o /dev/null; echo strace=$?")).joined_text();
            assert!(text.contains("Operation not permitted") && !text.contains("strace=0"), "{who}: {text}");
        } else {
            eprintln!("ptrace not tried: strace is not installed");
        }
    }
    // Inside the command, its own processes stay readable (the domain is not a blanket ban).
    let own = run(&tool(true), &d, "sleep 5 & cat /proc/$!/environ > /dev/null && echo OWN-OK; kill $!");
    assert!(own.joined_text().contains("OWN-OK"), "{}", own.joined_text());
    println!("checked as {who}");
}

#[test]
fn network_false_blocks_tcp_and_true_allows_it() {
    let abi = pincer::tools::sandbox::kernel_abi().unwrap_or(0);
    if abi < 4 {
        eprintln!("skipped: Landlock ABI {abi} has no TCP rules (needs 4)");
        return;
    }
    let d = dirs();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let command = format!("bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}' && echo CONNECTED");
    for network in [false, true] {
        let tool = BashTool::new(BashSettings { network, ..settings(true) }, base_env());
        assert_eq!(tool.sandbox().network_blocked(), !network);
        let text = run(&tool, &d, &command).joined_text();
        let accepted = listener.accept().is_ok();
        assert_eq!(text.contains("CONNECTED"), network, "network {network}: {text}");
        assert_eq!(accepted, network, "network {network}: the listener saw {accepted}");
    }
}

/// The sandbox is the command's, never pincer's: after 50 sandboxed commands this process
/// still writes in its home.
#[test]
fn pincer_keeps_its_rights_after_many_sandboxed_commands() {
    let d = dirs();
    let t = tool(true);
    for _ in 0..50 {
        assert_eq!(run(&t, &d, "true").summary, "exit 0");
    }
    std::fs::write(d.home.join("after.json"), "{}").unwrap();
    std::fs::create_dir(d.home.join("sessions")).unwrap();
    assert_eq!(std::fs::read_to_string(d.home.join("auth.json")).unwrap(), SECRET_FILE_CONTENT);
    // And a command still cannot.
    assert!(run(&t, &d, &format!("cat '{}/after.json'", d.home.display())).is_error);
}

/// A real toolchain under the sandbox with the default caches: `cargo build` of a tiny crate.
#[test]
fn cargo_builds_a_tiny_crate_in_the_sandbox() {
    let d = dirs();
    std::fs::create_dir(d.workspace.join("src")).unwrap();
    std::fs::write(
        d.workspace.join("Cargo.toml"),
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(d.workspace.join("src/main.rs"), "fn main() { println!(\"tiny says hi\"); }\n").unwrap();
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut env = base_env();
    for name in ["PATH", "HOME", "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN"] {
        if let Some(value) = std::env::var_os(name) {
            env.retain(|(k, _)| k != name);
            env.push((name.into(), value));
        }
    }
    let writable = default_writable(home.as_deref(), &env);
    let tool = BashTool::new(BashSettings { writable, ..settings(true) }, env);
    let out = run_with(
        &tool,
        &d,
        &CancelToken::new(),
        json!({"command": "cargo build --offline && ./target/debug/tiny", "timeout": 600}),
    );
    let text = out.joined_text();
    assert_eq!(out.summary, "exit 0", "{text}");
    assert!(text.contains("tiny says hi"), "{text}");
}

/// A cache folder a command could not create itself (its parent is not writable) is created
/// for it when its toolchain is there; nothing is created directly in the user's home.
#[test]
fn missing_caches_of_installed_toolchains_are_created() {
    let d = dirs();
    // A home outside the temp folders, which are writable whatever the caches.
    let user = scratch::outside_temp_dirs();
    let user = user.path().canonicalize().unwrap();
    std::fs::create_dir(user.join(".cargo")).unwrap();
    let mut env = base_env();
    env.push(("HOME".into(), user.clone().into()));
    let writable = default_writable(Some(&user), &env);
    let tool = BashTool::new(BashSettings { writable, ..settings(true) }, env);
    let out = run(&tool, &d, "echo x > ~/.cargo/registry/probe && : > ~/.cargo/.package-cache && echo OK");
    assert!(out.joined_text().starts_with("OK\n"), "{}", out.joined_text());
    assert!(user.join(".cargo/registry/probe").is_file() && user.join(".cargo/.global-cache").is_file());
    assert!(!user.join(".npm").exists() && !user.join(".cache").exists() && !user.join("go").exists());
    let out = run(&tool, &d, "echo x > ~/.cargo/config.toml");
    assert!(out.is_error && !user.join(".cargo/config.toml").exists(), "cargo's config is not a cache");
}

#[test]
fn the_sandbox_state_is_reported() {
    let t = tool(true);
    let abi = t.sandbox().abi.expect("these machines have Landlock (ABI 7)");
    assert!(t.sandbox().enforced());
    assert!(t.sandbox().describe().contains(&format!("Landlock ABI {abi}")));
    assert!(t.description().contains("Sandboxed"));
    assert!(!tool(false).description().contains("Sandboxed"));
}

/// `/proc/<pid>/environ` shows the environment a process was started with, whatever it unset
/// since; `scrub_credentials_from_process` overwrites the credentials there too. Run in a
/// child process of its own: it changes the environment.
#[test]
fn scrubbing_wipes_credentials_from_the_initial_environment() {
    const CHILD: &str = "BASH_TOOL_TEST_SCRUB_CHILD";
    const SECRET: &str = "sk-ant-api03-scrub-me-please";
    if std::env::var_os(CHILD).is_none() {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "scrubbing_wipes_credentials_from_the_initial_environment", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(CHILD, "1")
            .env("ANTHROPIC_API_KEY", SECRET)
            .env("PINCER_TEST_VALUE", SECRET)
            .env("KEEP_ME", "kept")
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && text.contains("scrubbed, checked"), "{text}");
        return;
    }
    let contains = |haystack: &[u8], needle: &str| haystack.windows(needle.len()).any(|w| w == needle.as_bytes());
    let before = std::fs::read("/proc/self/environ").unwrap();
    assert!(contains(&before, SECRET), "the test can fail: the secret is there first");
    pincer::env::scrub_credentials_from_process();
    let after = std::fs::read("/proc/self/environ").unwrap();
    assert!(!contains(&after, SECRET) && !contains(&after, "ANTHROPIC_API_KEY"));
    assert!(contains(&after, "KEEP_ME=kept"));
    assert!(std::env::var_os("ANTHROPIC_API_KEY").is_none() && std::env::var_os("PINCER_TEST_VALUE").is_none());
    assert_eq!(std::env::var("KEEP_ME").unwrap(), "kept");
    let inherited = std::process::Command::new("env").output().unwrap().stdout;
    assert!(!contains(&inherited, SECRET) && contains(&inherited, "KEEP_ME=kept"));
    println!("scrubbed, checked");
}

/// When pincer itself dies (SIGKILL, no chance to clean up), the supervisor sees its control
/// pipe close and kills the command: run the tool in a child process of its own and kill that.
#[test]
fn a_command_dies_when_pincer_is_killed() {
    const CHILD: &str = "BASH_TOOL_TEST_KILLED_PARENT_DIR";
    if let Some(dir) = std::env::var_os(CHILD) {
        let dir = PathBuf::from(dir);
        let d = Dirs {
            _tmp: tempfile::tempdir().unwrap(),
            workspace: dir.join("workspace"),
            home: dir.join("pincer-home"),
        };
        run(&tool(true), &d, "setsid sleep 300 & echo $! > sleep.pid; wait");
        unreachable!("the test kills this process first");
    }
    let d = dirs();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "a_command_dies_when_pincer_is_killed", "--nocapture"])
        .env(CHILD, d.workspace.parent().unwrap())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid_file = d.workspace.join("sleep.pid");
    let started = Instant::now();
    while std::fs::read_to_string(&pid_file).map_or(true, |s| s.trim().is_empty()) {
        assert!(started.elapsed() < Duration::from_secs(30), "the command never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let sleep: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    assert!(alive(sleep));
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = Instant::now();
    while alive(sleep) {
        assert!(killed.elapsed() < Duration::from_secs(10), "the command outlived pincer");
        std::thread::sleep(Duration::from_millis(20));
    }
}
