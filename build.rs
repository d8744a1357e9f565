//! Link settings for the `pincer` binary that Cargo's profiles cannot express.
//!
//! On Linux with glibc 2.36 or later, relative relocations are packed (`-z pack-relative-relocs`,
//! DT_RELR): the 8,000-odd pointers a position-independent binary fixes up at start-up take a few
//! KB instead of 200 KB (24 bytes each), so the binary is smaller and the loader reads less. The
//! binary stays position-independent (ASLR is kept). Older glibc cannot load such a binary, so the
//! flag is only given when building natively on a glibc that can: lld (Rust's default linker on
//! x86_64 Linux), GNU ld 2.38+ and mold all understand it.

/// The first glibc whose loader applies DT_RELR relocations.
const RELR_GLIBC: (u32, u32) = (2, 36);

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let native = std::env::var("TARGET").ok() == std::env::var("HOST").ok();
    if target_os == "linux" && target_env == "gnu" && native && host_glibc().is_some_and(|v| v >= RELR_GLIBC) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
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
