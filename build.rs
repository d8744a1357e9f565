//! Link settings for the `pincer` binary that Cargo's profiles cannot express.
//!
//! On Linux with glibc 2.36 or later, relative relocations are packed (`-z pack-relative-relocs`,
//! DT_RELR): the 8,000-odd pointers a position-independent binary fixes up at start-up take a few
//! KB instead of 200 KB (24 bytes each), so the binary is smaller and the loader reads less. The
//! binary stays position-independent (ASLR is kept). Older glibc cannot load such a binary, so the
//! flag is only given when building natively on a glibc that can, and when the linker takes it
//! (lld, GNU ld 2.38+ and mold do; each flag set is tried on an empty program first).
//!
//! In release builds linked by Rust's own lld, the functions a typical run executes
//! ([`LINK_ORDER_FILE`], written by `scripts/link-order`) are placed first and together. The kernel
//! maps a binary's code 64 KiB around each page a run touches, so with those 1 MB of functions
//! scattered over 3.2 MB of code nearly all of it became resident; together, about a third is
//! (README, Footprint). A name the file lists that no longer exists (after a compiler,
//! dependency or version change: names carry hashes of those) is skipped; the order then only
//! helps less, which `scripts/bench` shows, until `scripts/link-order` is run again.
//!
//! Release binaries linked by Rust's lld also carry no unwind tables (`.eh_frame`, 385 KB, 9 % of
//! the binary; [`NO_UNWIND_TABLES_SCRIPT`]). With `panic = "abort"` nothing unwinds: a panic still
//! prints its message and source location and aborts; only `RUST_BACKTRACE` shows no frames, where
//! a stripped binary showed bare addresses before.

use std::path::Path;

/// The first glibc whose loader applies DT_RELR relocations.
const RELR_GLIBC: (u32, u32) = (2, 36);
/// Executed functions, one symbol a line.
const LINK_ORDER_FILE: &str = "link-order.txt";
/// When set, the release link also writes a map of every function's address there (for
/// `scripts/link-order`).
const LINK_MAP_VAR: &str = "PINCER_LINK_MAP";
/// The first rustc that links x86_64 Linux binaries with its own lld by default; lld knows
/// `--symbol-ordering-file`, GNU ld does not.
const RUST_LLD_BY_DEFAULT: (u32, u32) = (1, 90);
const RUST_LLD_TARGET: &str = "x86_64-unknown-linux-gnu";
/// A linker script that only drops the unwind tables; the default layout stays (`INSERT`).
const NO_UNWIND_TABLES_SCRIPT: &str =
    "SECTIONS { /DISCARD/ : { *(.eh_frame) *(.eh_frame_hdr) } } INSERT AFTER .text;\n";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Watching a file that does not exist would rerun this script (and relink) on every build.
    if Path::new(LINK_ORDER_FILE).is_file() {
        println!("cargo:rerun-if-changed={LINK_ORDER_FILE}");
    }
    println!("cargo:rerun-if-env-changed={LINK_MAP_VAR}");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let native = std::env::var("TARGET").ok() == std::env::var("HOST").ok();
    let relr = ["-Wl,-z,pack-relative-relocs".to_string()];
    if target_os == "linux"
        && target_env == "gnu"
        && native
        && host_glibc().is_some_and(|v| v >= RELR_GLIBC)
        && linker_accepts(&relr)
    {
        link_args(&relr);
    }
    if std::env::var("PROFILE").as_deref() == Ok("release") && links_with_rust_lld() {
        let mut args = Vec::new();
        let order = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join(LINK_ORDER_FILE);
        if order.is_file() {
            args.push(format!("-Wl,--symbol-ordering-file={}", order.display()));
            args.push("-Wl,--no-warn-symbol-ordering".to_string());
        }
        let script = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("no-unwind-tables.ld");
        if std::fs::write(&script, NO_UNWIND_TABLES_SCRIPT).is_ok() {
            args.push(format!("-Wl,-T,{}", script.display()));
        }
        if let Ok(map) = std::env::var(LINK_MAP_VAR)
            && !map.is_empty()
        {
            args.push(format!("-Wl,-Map={map}"));
        }
        // A rustc built to link with cc and GNU ld (some distributions' packages) would fail
        // every release link on these lld options: they are only given when a probe links.
        if linker_accepts(&args) {
            link_args(&args);
        }
    }
}

fn link_args(args: &[String]) {
    for arg in args {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}

/// True when an empty program links for the target with `args` added, through the same rustc
/// and flags as the real build: whether the linker really takes them, whatever it is.
fn linker_accepts(args: &[String]) -> bool {
    let (Some(rustc), Some(out), Ok(target)) =
        (std::env::var_os("RUSTC"), std::env::var_os("OUT_DIR"), std::env::var("TARGET"))
    else {
        return false;
    };
    let out = Path::new(&out);
    let source = out.join("link-probe.rs");
    if std::fs::write(&source, "fn main() {}\n").is_err() {
        return false;
    }
    let mut probe = std::process::Command::new(rustc);
    probe.arg("--target").arg(&target).arg("-o").arg(out.join("link-probe")).arg(&source);
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    probe.args(flags.split('\x1f').filter(|f| !f.is_empty()));
    for arg in args {
        probe.arg("-C").arg(format!("link-arg={arg}"));
    }
    probe.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    probe.status().is_ok_and(|status| status.success())
}

/// True when the binary is linked by the lld rustc brings along: the default on x86_64 Linux
/// since 1.90, unless a linker was chosen (`target.*.linker`, `-C linker`, `-fuse-ld`, …).
fn links_with_rust_lld() -> bool {
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let chosen = std::env::var_os("RUSTC_LINKER").is_some()
        || ["linker", "link-self-contained", "fuse-ld"].iter().any(|flag| flags.contains(flag));
    std::env::var("TARGET").as_deref() == Ok(RUST_LLD_TARGET)
        && !chosen
        && rustc_version().is_some_and(|v| v >= RUST_LLD_BY_DEFAULT)
}

/// `(1, 95)` for `rustc 1.95.0 (…)`.
fn rustc_version() -> Option<(u32, u32)> {
    let rustc = std::env::var_os("RUSTC")?;
    let out = std::process::Command::new(rustc).arg("--version").output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let mut parts = text.split_whitespace().nth(1)?.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??))
}

/// The glibc this build script runs on (the target's, since the build is native).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn host_glibc() -> Option<(u32, u32)> {
    unsafe extern "C" {
        fn gnu_get_libc_version() -> *const std::ffi::c_char;
    }
    // SAFETY: glibc returns a pointer to a static, NUL-terminated version string such as "2.36".
    let version = unsafe { std::ffi::CStr::from_ptr(gnu_get_libc_version()) }.to_str().ok()?;
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??))
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn host_glibc() -> Option<(u32, u32)> {
    None
}
