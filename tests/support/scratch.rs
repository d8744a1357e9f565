//! A scratch folder outside every folder the `bash` sandbox lets commands write.
//!
//! Tests that prove a write *outside* the workspace fails need a place that is neither the
//! workspace nor a temp folder (`/tmp`, `/var/tmp`, `/dev/shm`, `$TMPDIR` are writable inside the
//! sandbox by design). Cargo's per-package temp folder is used, unless the checkout itself lives
//! in a temp folder (a clone in `/tmp`): then the runner's own cache folder is used instead.

use std::path::{Path, PathBuf};

const SANDBOX_TEMP_DIRS: &[&str] = &["/tmp", "/var/tmp", "/dev/shm"];

/// A new, empty folder that sandboxed commands cannot write; removed when dropped.
pub fn outside_temp_dirs() -> tempfile::TempDir {
    let target_tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let base = if in_temp_dir(&target_tmp) {
        let home = std::env::var_os("HOME").expect("HOME is set for the test runner");
        let dir = PathBuf::from(home).join(".cache/pincer/test-scratch");
        std::fs::create_dir_all(&dir).unwrap();
        dir
    } else {
        target_tmp
    };
    tempfile::tempdir_in(base).unwrap()
}

fn in_temp_dir(path: &Path) -> bool {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let tmpdir = std::env::var_os("TMPDIR").map(PathBuf::from);
    SANDBOX_TEMP_DIRS.iter().map(PathBuf::from).chain(tmpdir).any(|temp| {
        let temp = temp.canonicalize().unwrap_or(temp);
        path.starts_with(&temp)
    })
}
