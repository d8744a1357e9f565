//! A full disk and a read-only home: clear errors, nothing lost. Each scenario runs in its own
//! mount namespace (`unshare -rm`) on a tiny tmpfs, which disappears with it.

mod support;

use std::process::Command;

use support::{Sandbox, setup_token};

/// Runs `script` with `$H` (a fresh tmpfs of `size`) and `$P` (pincer) in a private mount
/// namespace; returns its stdout and stderr.
fn in_namespace(sb: &Sandbox, size: &str, script: &str) -> (String, String) {
    std::fs::create_dir_all(sb.home()).unwrap();
    let full = format!(
        "set -u\nmount -t tmpfs -o size={size},mode=0700 tmpfs \"$H\" || exit 99\nexport PINCER_HOME=\"$H\"\n{script}"
    );
    let out = Command::new("unshare")
        .args(["-rm", "sh", "-c", &full])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("H", sb.home())
        .env("P", assert_cmd::cargo::cargo_bin("pincer"))
        .env("TOKEN", setup_token('d'))
        .env("ANTHROPIC_BASE_URL", "http://127.0.0.1:1")
        .output()
        .expect("unshare runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_ne!(out.status.code(), Some(99), "cannot mount a tmpfs here (needs root or user namespaces): {stderr}");
    (stdout, stderr)
}

#[test]
fn a_full_disk_fails_clearly_and_keeps_the_old_file() {
    let sb = Sandbox::new();
    let (out, err) = in_namespace(
        &sb,
        "64k",
        r#"
printf '%s\n' "$TOKEN" | "$P" auth login -p anthropic --setup-token 2>/dev/null; echo "first=$?"
cp "$H/auth.json" "$H/../before.json" 2>/dev/null || cat "$H/auth.json" > /dev/null
dd if=/dev/zero of="$H/filler" bs=4096 2>/dev/null
printf 'sk-local-key-123\n' | "$P" auth login -p openai --api-key; echo "second=$?"
echo "---auth.json"; cat "$H/auth.json"; echo "---files"; ls -A "$H"
"#,
    );
    assert!(out.contains("first=0"), "{out}\n{err}");
    assert!(out.contains("second=1"), "{out}\n{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert!(err.contains("cannot write ") && err.contains("auth.json"), "the error names the file: {err}");
    assert!(err.contains("hint: the disk is full;") && err.contains("is unchanged"), "{err}");
    let auth = out.split("---auth.json\n").nth(1).unwrap().split("---files").next().unwrap();
    let json: serde_json::Value = serde_json::from_str(auth).expect("the old auth.json is intact");
    assert!(json["credentials"].get("anthropic").is_some());
    assert!(json["credentials"].get("openai").is_none());
    let files = out.split("---files\n").nth(1).unwrap();
    assert!(!files.contains(".tmp"), "no temporary file is left behind: {files}");
}

#[test]
fn a_read_only_home_fails_clearly_and_reading_still_works() {
    let sb = Sandbox::new();
    let (out, err) = in_namespace(
        &sb,
        "1m",
        r#"
printf '%s\n' "$TOKEN" | "$P" auth login -p anthropic --setup-token 2>/dev/null; echo "first=$?"
before=$(cat "$H/auth.json")
mount -o remount,ro "$H"
printf 'sk-local-key-123\n' | "$P" auth login -p openai --api-key; echo "login=$?"
"$P" auth logout; echo "logout=$?"
"$P" auth status --no-usage; echo "status=$?"
[ "$before" = "$(cat "$H/auth.json")" ] && echo "unchanged=yes"
"#,
    );
    assert!(out.contains("first=0"), "{out}\n{err}");
    assert!(out.contains("login=1") && out.contains("logout=1"), "{out}\n{err}");
    assert!(err.contains("Read-only file system"), "{err}");
    assert!(err.contains("is not writable; nothing was changed"), "{err}");
    assert!(out.contains("status=0") && out.contains("sk-ant-oat01-ddd"), "{out}");
    assert!(out.contains("unchanged=yes"), "{out}");
}

/// Needs root to give a file away; CI runs as root.
#[test]
fn credentials_owned_by_another_user_are_refused() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: cannot create a file owned by another user here");
        return;
    }
    let sb = Sandbox::new();
    let out = support::run(
        sb.cmd("http://127.0.0.1:1").args(["auth", "login", "-p", "openai", "--api-key"]),
        "sk-local-1234567\n",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let nobody = 65534;
    std::os::unix::fs::chown(sb.file("auth.json"), Some(nobody), Some(nobody)).unwrap();
    let out = support::run(sb.cmd("http://127.0.0.1:1").args(["auth", "status"]), "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("belongs to another user (uid 65534"), "{}", out.stderr);
    let out = support::run(sb.cmd("http://127.0.0.1:1").args(["auth", "logout"]), "");
    assert_eq!(out.code, 1);
    let out = support::run(
        sb.cmd("http://127.0.0.1:1").env("ANTHROPIC_API_KEY", support::api_key('o')).args(["agent", "-m", "x"]),
        "",
    );
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("belongs to another user"), "{}", out.stderr);
}

#[test]
fn a_world_writable_home_and_readable_auth_json_are_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    support::run(
        sb.cmd("http://127.0.0.1:1").args(["auth", "login", "-p", "openai", "--api-key"]),
        "sk-local-1234567\n",
    );
    std::fs::set_permissions(sb.home(), std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(sb.file("auth.json"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = support::run(sb.cmd("http://127.0.0.1:1").args(["auth", "status", "--no-usage"]), "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("can be written by other users"), "{}", out.stderr);
    assert!(out.stderr.contains("is readable by other users (mode 644)"), "{}", out.stderr);
    // The next write makes it private again.
    support::run(sb.cmd("http://127.0.0.1:1").args(["auth", "logout", "-p", "nosuch"]), "");
    support::run(
        sb.cmd("http://127.0.0.1:1").args(["auth", "login", "-p", "openai", "--api-key"]),
        "sk-local-7654321\n",
    );
    assert_eq!(support::mode_of(&sb.file("auth.json")), 0o600);
}
