//! Private, crash-safe file writes and inter-process locks.
//!
//! Every file pincer writes goes through [`write_atomic`]: a temporary file in the same folder,
//! created private, written, flushed to disk, then renamed over the target. A crash leaves either
//! the old file or the new one, never a mix. Read-modify-write cycles hold a [`FileLock`].

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

/// Mode of the home folder: only its owner may list or enter it.
pub const HOME_DIR_MODE: u32 = 0o700;
/// Mode of files holding secrets.
pub const PRIVATE_FILE_MODE: u32 = 0o600;
/// How long a command waits for another pincer process to release a lock.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);
const LOCK_POLL: Duration = Duration::from_millis(20);

/// Creates the home folder (and parents) with mode 0700 if it does not exist.
pub fn ensure_private_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(HOME_DIR_MODE)
        .create(dir)
        .with_context(|| format!("cannot create folder {}", dir.display()))?;
    // `mode` is filtered by the umask; set it exactly.
    fs::set_permissions(dir, fs::Permissions::from_mode(HOME_DIR_MODE))
        .with_context(|| format!("cannot set permissions of {}", dir.display()))
}

/// Wraps an I/O error with what was being done, plus a hint for the failures a person can fix.
fn io_error(error: std::io::Error, what: String, path: &Path) -> anyhow::Error {
    let hint = match error.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            Some(format!("the disk is full; {} is unchanged. Free some space and retry", path.display()))
        }
        std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied => Some(format!(
            "{} is not writable; nothing was changed. Set PINCER_HOME to a writable folder or fix the permissions",
            path.parent().unwrap_or(path).display()
        )),
        _ => None,
    };
    let error = anyhow::Error::new(error).context(what);
    match hint {
        Some(hint) => error.context(format!("hint: {hint}")),
        None => error,
    }
}

/// Replaces `path` with `contents` atomically, leaving the file with exactly `mode`.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> anyhow::Result<()> {
    let dir = path.parent().context("a file to write has no parent folder")?;
    let name = path.file_name().context("a file to write has no name")?.to_string_lossy();
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(PRIVATE_FILE_MODE))
        .tempfile_in(dir)
        .map_err(|e| io_error(e, format!("cannot create a temporary file in {}", dir.display()), path))?;
    let write = |file: &mut File| -> std::io::Result<()> {
        // The umask may have narrowed (or a platform widened) the creation mode: set it exactly.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.write_all(contents)?;
        file.sync_all()
    };
    write(temp.as_file_mut()).map_err(|e| io_error(e, format!("cannot write {}", path.display()), path))?;
    // On error the temporary file is removed when `temp` drops.
    temp.persist(path).map_err(|e| io_error(e.error, format!("cannot replace {}", path.display()), path))?;
    // Make the rename itself durable.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// An exclusive lock on `<file>.lock`, held until dropped. Other pincer processes wait for it.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
    path: PathBuf,
}

impl FileLock {
    /// Takes the lock that guards `target`, waiting at most [`LOCK_WAIT`].
    pub fn acquire(target: &Path) -> anyhow::Result<FileLock> {
        Self::acquire_within(target, LOCK_WAIT)
    }

    pub fn acquire_within(target: &Path, wait: Duration) -> anyhow::Result<FileLock> {
        let mut name = target.file_name().context("lock target has no name")?.to_os_string();
        name.push(".lock");
        let path = target.with_file_name(name);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(PRIVATE_FILE_MODE)
            .open(&path)
            .map_err(|e| io_error(e, format!("cannot open lock file {}", path.display()), target))?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(FileLock { _file: file, path }),
                Err(fs::TryLockError::WouldBlock) if started.elapsed() < wait => std::thread::sleep(LOCK_POLL),
                Err(fs::TryLockError::WouldBlock) => anyhow::bail!(
                    "another pincer process has held {} for {}s\nhint: wait for it to finish; if no pincer is running, the lock is released already and retrying works",
                    path.display(),
                    wait.as_secs()
                ),
                Err(fs::TryLockError::Error(e)) => {
                    return Err(e).with_context(|| format!("cannot lock {}", path.display()));
                }
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads a file that may not exist yet.
pub fn read_optional(path: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_sets_exact_mode_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        fs::write(&path, b"old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&path, b"new", PRIVATE_FILE_MODE).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("f.json")]);
    }

    #[test]
    fn private_dir_is_0700() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("a/b");
        ensure_private_dir(&home).unwrap();
        assert_eq!(fs::metadata(&home).unwrap().permissions().mode() & 0o777, 0o700);
    }

    #[test]
    fn a_held_lock_makes_others_wait_then_fail_with_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("auth.json");
        let held = FileLock::acquire(&target).unwrap();
        assert!(held.path().ends_with("auth.json.lock"));
        let err = FileLock::acquire_within(&target, Duration::from_millis(100)).unwrap_err();
        assert!(err.to_string().contains("another pincer process"), "{err}");
        drop(held);
        FileLock::acquire_within(&target, Duration::from_millis(100)).unwrap();
    }
}
