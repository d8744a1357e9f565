//! Locked, atomic replacement on Windows: the steps of the Unix version, by path inside the
//! checked folder, which [`Folder`] holds open so that it (and every folder above it) cannot be
//! renamed or removed meanwhile (see `paths/windows.rs`). Each file is opened without following
//! a link in its last component and checked by its real path; "the name still leads to the file
//! I locked" compares volume and file ID, Windows' device and inode; `rename` replaces with POSIX
//! semantics, so readers holding the old file keep it; a new file is linked in under its name,
//! which never replaces one (`CreateHardLinkW`, as `linkat`).
//!
//! What Windows has not: permission bits and owners, so a replacement keeps the read-only
//! attribute's meaning (a read-only file is refused) and nothing else; a folder cannot be synced,
//! so the rename is as durable as NTFS's journal makes it.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::windows::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::Ordering;

use windows_sys::Win32::Storage::FileSystem::FILE_FLAG_OPEN_REPARSE_POINT;

use super::{Folder, Locked, MAX_LOCK_ATTEMPTS, MAX_TEMP_ATTEMPTS, TEMP_COUNTER, WriteError, kind_name, wait_for_lock};
use crate::cancel::CancelToken;
use crate::fsutil::LOCK_WAIT;
use crate::tools::paths::windows::{file_id, id_at, is_link_refusal, open_no_follow};
use crate::tools::paths::{self, HardLimits, PathError, display_path, opened_path};

impl Locked {
    /// Whether the file may be changed: not read-only.
    fn writable(&self) -> bool {
        !self.read_only
    }
}

impl Folder {
    /// Opens an existing, resolved folder.
    pub fn open(path: &Path, limits: &HardLimits) -> Result<Folder, PathError> {
        Ok(Folder { dir: paths::open_dir(path, limits)?, path: path.to_path_buf() })
    }

    /// Opens a resolved folder, creating the missing ones below its longest existing ancestor:
    /// each is made inside its parent, held open, then opened and checked like any folder.
    pub fn open_or_create(path: &Path, limits: &HardLimits) -> Result<Folder, PathError> {
        let existing = path.ancestors().find(|a| a.is_dir()).unwrap_or(Path::new("/"));
        let mut dir = paths::open_dir(existing, limits)?;
        let mut current = existing.to_path_buf();
        let missing = path.strip_prefix(existing).unwrap_or(Path::new(""));
        for c in missing.components() {
            let Component::Normal(name) = c else { return Err(PathError::DotDotAfterMissing(display_path(path))) };
            current.push(name);
            match fs::create_dir(&current) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(PathError::Io(display_path(path), e)),
            }
            // The parent is closed only once its child is open: nothing above can move meanwhile.
            dir = paths::open_dir(&current, limits)?;
        }
        Ok(Folder { dir, path: path.to_path_buf() })
    }

    /// The folder held open must still be the one checked, before anything is done by path in it.
    fn check_still_there(&self) -> Result<(), PathError> {
        match opened_path(&self.dir) {
            Some(real) if real == self.path => Ok(()),
            _ => Err(PathError::Changed(display_path(&self.path))),
        }
    }

    fn entry(&self, name: &OsStr) -> PathBuf {
        self.path.join(name)
    }

    fn shown(&self, name: &OsStr) -> String {
        display_path(&self.entry(name))
    }

    /// Locks the file `name` for a read-modify-write; `None` when it does not exist.
    pub fn lock(&self, name: &OsStr, cancel: &CancelToken) -> Result<Option<Locked>, WriteError> {
        let path = self.entry(name);
        let shown = || self.shown(name);
        self.check_still_there()?;
        for _ in 0..MAX_LOCK_ATTEMPTS {
            let file = match open_no_follow(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) if is_link_refusal(&e) => return Err(PathError::Changed(shown()).into()),
                Err(e) => return Err(WriteError::Io(shown(), e)),
            };
            let meta = file.metadata().map_err(|e| WriteError::Io(shown(), e))?;
            if !meta.is_file() {
                return Err(WriteError::NotRegular(shown(), kind_name(&meta.file_type())));
            }
            if opened_path(&file).as_deref() != Some(path.as_path()) {
                return Err(PathError::Changed(shown()).into());
            }
            let locked_id = file_id(&file).map_err(|e| WriteError::Io(shown(), e))?;
            wait_for_lock(&file, cancel, &shown)?;
            match id_at(&path) {
                Ok(id) if id == locked_id => {
                    let size = file.metadata().map(|m| m.len()).unwrap_or(meta.len());
                    let read_only = meta.permissions().readonly();
                    return Ok(Some(Locked { file, name: name.to_os_string(), read_only, size }));
                }
                // Replaced (or removed) while we waited: the lock guards nothing; start again.
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(WriteError::Io(shown(), e)),
            }
        }
        Err(WriteError::Busy(shown(), LOCK_WAIT.as_secs()))
    }

    /// Replaces the locked file with `contents`. Refuses a read-only file.
    pub fn replace(&self, locked: &Locked, contents: &[u8]) -> Result<(), WriteError> {
        let shown = || self.shown(&locked.name);
        if !locked.writable() {
            return Err(WriteError::ReadOnly(shown()));
        }
        self.check_still_there()?;
        let (temp, mut file) = self.temp_file().map_err(|e| WriteError::Io(shown(), e))?;
        let result = (|| {
            file.write_all(contents)?;
            file.sync_all()?;
            drop(file);
            fs::rename(&temp, self.entry(&locked.name))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result.map_err(|e| WriteError::Io(shown(), e))
    }

    /// Creates the file `name`, which must not exist: a file created by someone else since is
    /// never replaced.
    pub fn create(&self, name: &OsStr, contents: &[u8]) -> Result<(), WriteError> {
        let shown = || self.shown(name);
        self.check_still_there()?;
        let (temp, mut file) = self.temp_file().map_err(|e| WriteError::Io(shown(), e))?;
        let result = (|| {
            file.write_all(contents)?;
            file.sync_all()?;
            drop(file);
            self.link_new(&temp, &self.entry(name))
        })();
        // The temporary name goes in every case: on success the file lives on under `name`.
        let _ = fs::remove_file(&temp);
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(WriteError::Exists(shown())),
            Err(e) => Err(WriteError::Io(shown(), e)),
        }
    }

    /// Gives the temporary file its final name, failing if the name exists (a hard link never
    /// replaces). File systems without hard links (FAT) get a check then a rename.
    fn link_new(&self, temp: &Path, target: &Path) -> io::Result<()> {
        match fs::hard_link(temp, target) {
            Err(e) if e.kind() == io::ErrorKind::Unsupported => match fs::symlink_metadata(target) {
                Ok(_) => Err(io::Error::from(io::ErrorKind::AlreadyExists)),
                Err(_) => fs::rename(temp, target),
            },
            other => other,
        }
    }

    /// A new, empty, hidden file beside the target.
    fn temp_file(&self) -> io::Result<(PathBuf, File)> {
        for _ in 0..MAX_TEMP_ATTEMPTS {
            let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = self.entry(OsStr::new(&format!(".pincer-{}-{n}.tmp", std::process::id())));
            // `create_new` fails on any existing name, a link included: nothing is followed.
            match OpenOptions::new().write(true).create_new(true).custom_flags(FILE_FLAG_OPEN_REPARSE_POINT).open(&path)
            {
                Ok(file) => return Ok((path, file)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::from(io::ErrorKind::AlreadyExists))
    }
}
