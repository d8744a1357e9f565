//! Locked, atomic replacement of files inside a verified folder: the mechanism under
//! `write_file` and `edit_file`.
//!
//! Everything goes through a handle on the folder that was checked (`paths::open_dir`) with the
//! `*at` system calls, so a folder swapped for a symlink after the check changes nothing. A
//! replacement writes a temporary file beside the target, syncs it and renames it over the
//! target: readers see the old file or the new one, never a mix, and a crash leaves one of them.
//! A read-modify-write holds an exclusive `flock` on the file; since the rename puts a new inode
//! under the name, whoever waited on the old one checks, once it has the lock, that the name
//! still leads to the inode it locked, and starts again if not. Two agents editing one file
//! therefore never corrupt it and never lose an edit. (Windows: the same steps by path inside
//! a folder held open, see `atomic/windows.rs`.)

#[cfg(unix)]
use std::ffi::{CStr, CString, OsStr};
#[cfg(unix)]
use std::fs::Permissions;
use std::fs::{File, TryLockError};
#[cfg(unix)]
use std::io::Write;
use std::io::{self, Read};
#[cfg(unix)]
use std::mem::MaybeUninit;
#[cfg(unix)]
use std::os::fd::{AsRawFd, FromRawFd};
#[cfg(unix)]
use std::os::unix::ffi::OsStrExt;
#[cfg(unix)]
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
#[cfg(unix)]
use std::path::{Component, Path};
use std::sync::atomic::AtomicU64;
#[cfg(unix)]
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::cancel::CancelToken;
use crate::fsutil::LOCK_WAIT;

use super::paths::PathError;
#[cfg(unix)]
use super::paths::{self, HardLimits, display_path};

/// Mode of a new file before the umask (SPEC: like any editor's new file).
#[cfg(unix)]
pub const NEW_FILE_MODE: u32 = 0o644;
/// Mode of a new folder before the umask (like `mkdir -p`).
#[cfg(unix)]
const NEW_DIR_MODE: u32 = 0o777;
/// Mode of the temporary file until it takes the target's mode.
#[cfg(unix)]
const TEMP_FILE_MODE: u32 = 0o600;
/// The permission bits a replacement keeps (set-id and sticky bits are dropped, as the kernel
/// drops them when a file is written by someone else).
#[cfg(unix)]
const KEPT_MODE_BITS: u32 = 0o777;
const LOCK_POLL: Duration = Duration::from_millis(5);
/// How often a locker starts again because the file was replaced while it waited.
const MAX_LOCK_ATTEMPTS: usize = 1000;
const MAX_TEMP_ATTEMPTS: usize = 100;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Path(#[from] PathError),
    #[error("{0} stayed locked by another edit for {1}s\nhint: try again once the other edit is done")]
    Busy(String, u64),
    #[error("cancelled")]
    Cancelled,
    #[error("{0} was created by someone else meanwhile; nothing was written\nhint: read it first, then write")]
    Exists(String),
    #[error("{0} is {1}, not a regular file; nothing was written")]
    NotRegular(String, &'static str),
    #[error("{0} is read-only; nothing was written\nhint: ask the person to make it writable if it should change")]
    ReadOnly(String),
    #[error(
        "{0} is too large to edit ({1} bytes, the limit is {2})\nhint: use bash (sed, a script) for files this size"
    )]
    TooLarge(String, u64, u64),
    #[error("cannot write {0}: {1}{hint}", hint = io_hint(.1))]
    Io(String, io::Error),
}

fn io_hint(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
            "\nhint: the disk is full; the file is unchanged. Free some space and retry"
        }
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            "\nhint: the folder is not writable; the file is unchanged"
        }
        _ => "",
    }
}

/// A checked folder, held open: every file operation is relative to this handle.
#[derive(Debug)]
pub struct Folder {
    dir: File,
    path: PathBuf,
}

/// A file locked for a read-modify-write; [`Folder::replace`] needs one.
#[derive(Debug)]
pub struct Locked {
    file: File,
    #[cfg(unix)]
    name: CString,
    #[cfg(unix)]
    mode: u32,
    #[cfg(unix)]
    uid: u32,
    #[cfg(unix)]
    gid: u32,
    #[cfg(windows)]
    name: std::ffi::OsString,
    #[cfg(windows)]
    read_only: bool,
    size: u64,
}

impl Locked {
    /// The locked file's bytes, refused past `max` bytes.
    pub fn read_all(&self, max: u64, shown: &str) -> Result<Vec<u8>, WriteError> {
        if self.size > max {
            return Err(WriteError::TooLarge(shown.to_string(), self.size, max));
        }
        let mut bytes = Vec::with_capacity(self.size as usize);
        (&self.file).take(max + 1).read_to_end(&mut bytes).map_err(|e| WriteError::Io(shown.to_string(), e))?;
        if bytes.len() as u64 > max {
            return Err(WriteError::TooLarge(shown.to_string(), bytes.len() as u64, max));
        }
        Ok(bytes)
    }
}

#[cfg(unix)]
impl Locked {
    /// Whether the file may be changed: writable by us, and not without write bits for anyone
    /// (which says "do not change me" even to root).
    fn writable(&self, folder: &Folder) -> bool {
        // SAFETY: valid descriptor and C string; faccessat only reads them.
        let ok =
            unsafe { libc::faccessat(folder.dir.as_raw_fd(), self.name.as_ptr(), libc::W_OK, libc::AT_EACCESS) == 0 };
        ok && self.mode & 0o222 != 0
    }
}

#[cfg(unix)]
impl Folder {
    /// Opens an existing, resolved folder.
    pub fn open(path: &Path, limits: &HardLimits) -> Result<Folder, PathError> {
        Ok(Folder { dir: paths::open_dir(path, limits)?, path: path.to_path_buf() })
    }

    /// Opens a resolved folder, creating the missing ones below its longest existing ancestor:
    /// each is made and entered through its parent's handle, never by path.
    pub fn open_or_create(path: &Path, limits: &HardLimits) -> Result<Folder, PathError> {
        let existing = path.ancestors().find(|a| a.is_dir()).unwrap_or(Path::new("/"));
        let mut dir = paths::open_dir(existing, limits)?;
        let missing = path.strip_prefix(existing).unwrap_or(Path::new(""));
        for c in missing.components() {
            let Component::Normal(name) = c else { return Err(PathError::DotDotAfterMissing(display_path(path))) };
            let io = |e| PathError::Io(display_path(path), e);
            let name = c_name(name).map_err(io)?;
            // SAFETY: valid descriptor and C string.
            let made = unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), NEW_DIR_MODE as libc::mode_t) };
            if made != 0 {
                let e = io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::EEXIST) {
                    return Err(io(e));
                }
            }
            dir =
                open_at(&dir, &name, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW, 0).map_err(|e| match e
                    .raw_os_error()
                {
                    Some(libc::ELOOP) | Some(libc::ENOTDIR) => PathError::Changed(display_path(path)),
                    _ => io(e),
                })?;
        }
        Ok(Folder { dir, path: path.to_path_buf() })
    }

    fn shown(&self, name: &CStr) -> String {
        display_path(&self.path.join(OsStr::from_bytes(name.to_bytes())))
    }

    /// Locks the file `name` for a read-modify-write; `None` when it does not exist.
    pub fn lock(&self, name: &OsStr, cancel: &CancelToken) -> Result<Option<Locked>, WriteError> {
        let name = c_name(name).map_err(|e| WriteError::Io(display_path(&self.path), e))?;
        let shown = || self.shown(&name);
        for _ in 0..MAX_LOCK_ATTEMPTS {
            let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY;
            let file = match open_at(&self.dir, &name, flags, 0) {
                Ok(file) => file,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
                Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(PathError::Changed(shown()).into()),
                Err(e) => return Err(WriteError::Io(shown(), e)),
            };
            let meta = file.metadata().map_err(|e| WriteError::Io(shown(), e))?;
            if !meta.is_file() {
                return Err(WriteError::NotRegular(shown(), kind_name(&meta.file_type())));
            }
            wait_for_lock(&file, cancel, &shown)?;
            match stat_at(&self.dir, &name) {
                Ok((dev, ino)) if (dev, ino) == (meta.dev(), meta.ino()) => {
                    let size = file.metadata().map(|m| m.len()).unwrap_or(meta.len());
                    return Ok(Some(Locked { file, name, mode: meta.mode(), uid: meta.uid(), gid: meta.gid(), size }));
                }
                // Replaced (or removed) while we waited: the lock guards nothing; start again.
                Ok(_) => continue,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
                Err(e) => return Err(WriteError::Io(shown(), e)),
            }
        }
        Err(WriteError::Busy(shown(), LOCK_WAIT.as_secs()))
    }

    /// Replaces the locked file with `contents`, keeping its permission bits (and owner, where
    /// allowed). Refuses a read-only file.
    pub fn replace(&self, locked: &Locked, contents: &[u8]) -> Result<(), WriteError> {
        let shown = || self.shown(&locked.name);
        if !locked.writable(self) {
            return Err(WriteError::ReadOnly(shown()));
        }
        let (temp_name, mut temp) = self.temp_file(TEMP_FILE_MODE).map_err(|e| WriteError::Io(shown(), e))?;
        let result = (|| {
            temp.write_all(contents)?;
            temp.set_permissions(Permissions::from_mode(locked.mode & KEPT_MODE_BITS))?;
            // SAFETY: plain system calls on descriptors we own.
            unsafe {
                if (locked.uid, locked.gid) != (libc::geteuid(), libc::getegid()) {
                    // Best effort: a group we are in is allowed, another owner is not.
                    libc::fchown(temp.as_raw_fd(), locked.uid, locked.gid);
                }
            }
            temp.sync_all()?;
            self.rename(&temp_name, &locked.name)
        })();
        self.finish(&temp_name, result.is_err());
        result.map_err(|e| WriteError::Io(shown(), e))
    }

    /// Creates the file `name`, which must not exist: a file created by someone else since is
    /// never replaced.
    pub fn create(&self, name: &OsStr, contents: &[u8]) -> Result<(), WriteError> {
        let name = c_name(name).map_err(|e| WriteError::Io(display_path(&self.path), e))?;
        let shown = || self.shown(&name);
        let (temp_name, mut temp) = self.temp_file(NEW_FILE_MODE).map_err(|e| WriteError::Io(shown(), e))?;
        let result = (|| {
            temp.write_all(contents)?;
            temp.sync_all()?;
            self.link_new(&temp_name, &name)
        })();
        // The temporary name goes in every case: on success the file lives on under `name`.
        self.finish(&temp_name, true);
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Err(WriteError::Exists(shown())),
            Err(e) => Err(WriteError::Io(shown(), e)),
        }
    }

    /// Gives the temporary file its final name, failing if the name exists (`linkat` never
    /// replaces). File systems without hard links get a check then a rename.
    fn link_new(&self, temp: &CStr, name: &CStr) -> io::Result<()> {
        let fd = self.dir.as_raw_fd();
        // SAFETY: valid descriptor and C strings.
        if unsafe { libc::linkat(fd, temp.as_ptr(), fd, name.as_ptr(), 0) } == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EPERM) | Some(libc::EOPNOTSUPP) | Some(libc::EMLINK) => match stat_at(&self.dir, name) {
                Ok(_) => Err(io::Error::from_raw_os_error(libc::EEXIST)),
                Err(_) => self.rename(temp, name),
            },
            _ => Err(e),
        }
    }

    fn rename(&self, from: &CStr, to: &CStr) -> io::Result<()> {
        let fd = self.dir.as_raw_fd();
        // SAFETY: valid descriptor and C strings.
        cvt(unsafe { libc::renameat(fd, from.as_ptr(), fd, to.as_ptr()) })
    }

    /// Removes the temporary name if asked, and makes the folder's change durable.
    fn finish(&self, temp: &CStr, remove: bool) {
        if remove {
            // SAFETY: valid descriptor and C string; a failure leaves a hidden temporary file.
            unsafe { libc::unlinkat(self.dir.as_raw_fd(), temp.as_ptr(), 0) };
        }
        let _ = self.dir.sync_all();
    }

    /// A new, empty, hidden file beside the target.
    fn temp_file(&self, mode: u32) -> io::Result<(CString, File)> {
        for _ in 0..MAX_TEMP_ATTEMPTS {
            let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
            let name = CString::new(format!(".pincer-{}-{n}.tmp", std::process::id())).map_err(io::Error::other)?;
            let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
            match open_at(&self.dir, &name, flags, mode) {
                Ok(file) => return Ok((name, file)),
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::from_raw_os_error(libc::EEXIST))
    }
}

fn wait_for_lock(file: &File, cancel: &CancelToken, shown: &dyn Fn() -> String) -> Result<(), WriteError> {
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) => {
                if cancel.is_cancelled() {
                    return Err(WriteError::Cancelled);
                }
                if started.elapsed() >= LOCK_WAIT {
                    return Err(WriteError::Busy(shown(), LOCK_WAIT.as_secs()));
                }
                std::thread::sleep(LOCK_POLL);
            }
            Err(TryLockError::Error(e)) => return Err(WriteError::Io(shown(), e)),
        }
    }
}

/// What a non-regular file is, in words.
pub fn kind_name(kind: &std::fs::FileType) -> &'static str {
    if kind.is_dir() {
        "a folder"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else if let Some(special) = special_name(kind) {
        special
    } else if kind.is_file() {
        "a file"
    } else {
        "a special file"
    }
}

/// A named pipe, a socket or a device, in words.
#[cfg(unix)]
fn special_name(kind: &std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        Some("a named pipe")
    } else if kind.is_socket() {
        Some("a socket")
    } else if kind.is_char_device() || kind.is_block_device() {
        Some("a device")
    } else {
        None
    }
}

/// Windows keeps no pipes, sockets or devices among a folder's entries.
#[cfg(windows)]
fn special_name(_: &std::fs::FileType) -> Option<&'static str> {
    None
}

#[cfg(unix)]
fn c_name(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(io::Error::other)
}

#[cfg(unix)]
fn cvt(ret: libc::c_int) -> io::Result<()> {
    if ret == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

#[cfg(unix)]
fn open_at(dir: &File, name: &CStr, flags: libc::c_int, mode: u32) -> io::Result<File> {
    // SAFETY: valid descriptor and C string; the descriptor returned is ours alone.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags | libc::O_CLOEXEC, mode as libc::c_uint) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and is owned by nobody else.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// Device and inode of `name` in `dir`, without following a symlink.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
fn stat_at(dir: &File, name: &CStr) -> io::Result<(u64, u64)> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: valid descriptor, C string and buffer; fstatat fills the buffer on success.
    cvt(unsafe { libc::fstatat(dir.as_raw_fd(), name.as_ptr(), st.as_mut_ptr(), libc::AT_SYMLINK_NOFOLLOW) })?;
    // SAFETY: initialised by the successful call above.
    let st = unsafe { st.assume_init() };
    Ok((st.st_dev as u64, st.st_ino as u64))
}

#[cfg(windows)]
mod windows;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::paths::tests::Fixture;
    use std::fs;
    use std::os::unix::fs::symlink;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        v.sort();
        v
    }

    #[test]
    fn replace_keeps_the_mode_and_leaves_no_temporary_file() {
        let f = Fixture::new();
        let limits = HardLimits::new(&f.ctx());
        fs::write(f.ws("run.sh"), "old").unwrap();
        fs::set_permissions(f.ws("run.sh"), Permissions::from_mode(0o4751)).unwrap();
        let folder = Folder::open(&f.workspace, &limits).unwrap();
        let locked = folder.lock(OsStr::new("run.sh"), &f.cancel).unwrap().unwrap();
        assert_eq!(locked.read_all(100, "run.sh").unwrap(), b"old");
        folder.replace(&locked, b"new").unwrap();
        assert_eq!(fs::read(f.ws("run.sh")).unwrap(), b"new");
        assert_eq!(fs::metadata(f.ws("run.sh")).unwrap().permissions().mode() & 0o7777, 0o751);
        assert_eq!(names(&f.workspace), ["run.sh"]);
        assert!(matches!(locked.read_all(2, "run.sh"), Err(WriteError::TooLarge(..))));
    }

    #[test]
    fn read_only_files_are_not_replaced() {
        let f = Fixture::new();
        let limits = HardLimits::new(&f.ctx());
        fs::write(f.ws("ro"), "keep").unwrap();
        fs::set_permissions(f.ws("ro"), Permissions::from_mode(0o444)).unwrap();
        let folder = Folder::open(&f.workspace, &limits).unwrap();
        let locked = folder.lock(OsStr::new("ro"), &f.cancel).unwrap().unwrap();
        assert!(matches!(folder.replace(&locked, b"x"), Err(WriteError::ReadOnly(_))));
        assert_eq!(fs::read(f.ws("ro")).unwrap(), b"keep");
    }

    #[test]
    fn create_never_replaces_and_respects_the_umask() {
        let f = Fixture::new();
        let limits = HardLimits::new(&f.ctx());
        let folder = Folder::open_or_create(&f.ws("a/b"), &limits).unwrap();
        folder.create(OsStr::new("new.txt"), b"one").unwrap();
        let err = folder.create(OsStr::new("new.txt"), b"two").unwrap_err();
        assert!(matches!(err, WriteError::Exists(_)), "{err}");
        assert_eq!(fs::read(f.ws("a/b/new.txt")).unwrap(), b"one");
        assert_eq!(names(&f.ws("a/b")), ["new.txt"]);
        // SAFETY: reads and restores the process umask.
        let umask = unsafe {
            let m = libc::umask(0);
            libc::umask(m);
            m as u32
        };
        assert_eq!(fs::metadata(f.ws("a/b/new.txt")).unwrap().permissions().mode() & 0o777, NEW_FILE_MODE & !umask);
    }

    #[test]
    fn a_folder_swapped_for_a_symlink_is_not_followed_when_creating() {
        let f = Fixture::home_inside();
        let limits = HardLimits::new(&f.ctx());
        // The path was resolved inside the workspace; then `sub` became a link into the home.
        symlink(&f.home, f.ws("sub")).unwrap();
        let err = Folder::open_or_create(&f.ws("sub/deeper"), &limits).unwrap_err();
        assert!(matches!(err, PathError::Changed(_) | PathError::InHome(..)), "{err}");
        assert!(!f.home.join("deeper").exists());
    }

    #[test]
    fn lock_starts_again_when_the_file_was_replaced_while_waiting() {
        let f = Fixture::new();
        let limits = HardLimits::new(&f.ctx());
        fs::write(f.ws("x"), "v1").unwrap();
        let folder = Folder::open(&f.workspace, &limits).unwrap();
        let first = folder.lock(OsStr::new("x"), &f.cancel).unwrap().unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                let folder = Folder::open(&f.workspace, &limits).unwrap();
                let locked = folder.lock(OsStr::new("x"), &f.cancel).unwrap().unwrap();
                String::from_utf8(locked.read_all(100, "x").unwrap()).unwrap()
            });
            std::thread::sleep(Duration::from_millis(50));
            folder.replace(&first, b"v2").unwrap();
            drop(first);
            // The waiter locked the old inode first, then saw the name moved on.
            assert_eq!(waiter.join().unwrap(), "v2");
        });
    }

    #[test]
    fn a_cancelled_wait_gives_up() {
        let f = Fixture::new();
        let limits = HardLimits::new(&f.ctx());
        fs::write(f.ws("x"), "v1").unwrap();
        let folder = Folder::open(&f.workspace, &limits).unwrap();
        let _held = folder.lock(OsStr::new("x"), &f.cancel).unwrap().unwrap();
        let cancel = CancelToken::new();
        cancel.cancel();
        assert!(matches!(folder.lock(OsStr::new("x"), &cancel), Err(WriteError::Cancelled)));
        assert!(folder.lock(OsStr::new("absent"), &cancel).unwrap().is_none());
    }
}
