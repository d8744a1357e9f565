//! Private, crash-safe file writes and inter-process locks.
//!
//! Every file pincer writes goes through [`write_atomic`]: a temporary file in the same folder,
//! created private, written, flushed to disk, then renamed over the target. A crash leaves either
//! the old file or the new one, never a mix. Read-modify-write cycles hold a [`FileLock`].
//!
//! A file that is a symbolic link (a dotfile manager's `config.toml`) is written through to its
//! target, atomically in the target's folder, so the link survives; callers that must not write
//! through a link (`auth.json`) refuse it before calling.
//!
//! File modes are Unix: elsewhere (Windows) they are skipped, and files are as private as the
//! folder's ACL makes them (a user's profile folder is private to that user by default).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
#[cfg(unix)]
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
/// Links followed before giving up, as the kernel does (`ELOOP`).
const MAX_SYMLINK_HOPS: usize = 40;

/// Creates the home folder (and parents) with mode 0700 if it does not exist.
pub fn ensure_private_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(HOME_DIR_MODE);
    builder.create(dir).with_context(|| format!("cannot create folder {}", dir.display()))?;
    // `mode` is filtered by the umask; set it exactly.
    #[cfg(unix)]
    fs::set_permissions(dir, fs::Permissions::from_mode(HOME_DIR_MODE))
        .with_context(|| format!("cannot set permissions of {}", dir.display()))?;
    Ok(())
}

/// Sets a file's mode exactly (the umask may have narrowed it, or a platform widened it).
#[cfg(unix)]
fn set_mode(file: &File, mode: u32) -> std::io::Result<()> {
    file.set_permissions(fs::Permissions::from_mode(mode))
}

/// No Unix modes here: the folder's ACL decides who may read the file.
#[cfg(not(unix))]
fn set_mode(_file: &File, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

/// `OpenOptions` that create files private (0600 on Unix; elsewhere the folder's ACL decides).
pub fn private_open_options() -> OpenOptions {
    #[allow(unused_mut)] // only Unix sets a mode
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    options.mode(PRIVATE_FILE_MODE);
    options
}

/// Makes a file another library wrote private (0600), where the platform has modes.
pub fn set_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    fs::set_permissions(path, fs::Permissions::from_mode(PRIVATE_FILE_MODE))?;
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// The file a write to `path` replaces: `path` itself, or, when it is a symbolic link, the file at
/// the end of the link chain (relative targets resolved against the link's folder). The target
/// need not exist yet: a dangling link gets its target created.
pub fn write_target(path: &Path) -> std::io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_SYMLINK_HOPS {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&current)?;
                current = match current.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(std::io::Error::other(format!("{} is a chain of more than {MAX_SYMLINK_HOPS} symbolic links", path.display())))
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

/// Replaces `path` with `contents` atomically, leaving the file with exactly `mode`. A symbolic
/// link is written through (see [`write_target`]): the link stays, its target is replaced.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> anyhow::Result<()> {
    let target =
        write_target(path).map_err(|e| io_error(e, format!("cannot follow the link {}", path.display()), path))?;
    let path = target.as_path();
    let dir = match path.parent() {
        // A bare relative name: its folder is the current one.
        Some(dir) if dir.as_os_str().is_empty() => Path::new("."),
        Some(dir) => dir,
        None => anyhow::bail!("a file to write has no parent folder"),
    };
    let name = path.file_name().context("a file to write has no name")?.to_string_lossy();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(fs::Permissions::from_mode(PRIVATE_FILE_MODE));
    let mut temp = builder
        .tempfile_in(dir)
        .map_err(|e| io_error(e, format!("cannot create a temporary file in {}", dir.display()), path))?;
    let write = |file: &mut File| -> std::io::Result<()> {
        set_mode(file, mode)?;
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
        let file = private_open_options()
            .create(true)
            .truncate(false)
            .write(true)
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
    #[test]
    fn a_symlink_is_written_through_to_its_target_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let dotfiles = dir.path().join("dotfiles");
        fs::create_dir(&dotfiles).unwrap();
        let real = dotfiles.join("config.toml");
        fs::write(&real, b"old").unwrap();
        let home = dir.path().join("home");
        fs::create_dir(&home).unwrap();
        let link = home.join("config.toml");
        // A relative link, as `stow` makes them.
        std::os::unix::fs::symlink("../dotfiles/config.toml", &link).unwrap();
        write_atomic(&link, b"new", PRIVATE_FILE_MODE).unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link was replaced");
        assert_eq!(fs::read(&real).unwrap(), b"new");
        // The temporary file lived beside the target, and none is left in either folder.
        let names = |d: &Path| fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name()).collect::<Vec<_>>();
        assert_eq!(names(&dotfiles), vec![std::ffi::OsString::from("config.toml")]);
        assert_eq!(names(&home), vec![std::ffi::OsString::from("config.toml")]);
    }

    #[test]
    fn chains_and_dangling_links_are_followed_and_loops_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.toml");
        let middle = dir.path().join("middle.toml");
        let link = dir.path().join("link.toml");
        std::os::unix::fs::symlink(&real, &middle).unwrap();
        std::os::unix::fs::symlink(&middle, &link).unwrap();
        // Dangling: the target is created.
        write_atomic(&link, b"first", PRIVATE_FILE_MODE).unwrap();
        assert_eq!(fs::read(&real).unwrap(), b"first");
        assert!(fs::symlink_metadata(&middle).unwrap().file_type().is_symlink());
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        let err = format!("{:#}", write_atomic(&a, b"x", PRIVATE_FILE_MODE).unwrap_err());
        assert!(err.contains("symbolic links"), "{err}");
    }
}
