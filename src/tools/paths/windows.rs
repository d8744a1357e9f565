//! Opening checked paths on Windows, with the meaning of the Unix checks:
//!
//! - no link followed in the last component: files are opened with
//!   `FILE_FLAG_OPEN_REPARSE_POINT`, and one that turns out to be a symbolic link or a junction
//!   is refused as a swap (like `O_NOFOLLOW`'s `ELOOP`). Other reparse points (cloud
//!   placeholders, deduplicated files) are opened again the ordinary way, and the real-path
//!   check decides;
//! - the real path of an open file comes from its handle (`GetFinalPathNameByHandleW`), in the
//!   `\\?\C:\…` form `fs::canonicalize` gives, so it compares with the checked path as on Linux;
//! - a folder is held open without delete sharing: while it is, Windows lets nobody rename or
//!   remove it, nor a folder above it (a folder with anything open in it cannot be renamed), so
//!   a path inside it keeps leading inside it;
//! - which file a name leads to is told by volume and 128-bit file ID, Windows' device and inode.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::windows::ffi::OsStringExt;
use std::os::windows::fs::{MetadataExt, OpenOptionsExt};
use std::os::windows::io::AsRawHandle;
use std::path::{Path, PathBuf};

use windows_sys::Win32::Foundation::{ERROR_CANT_RESOLVE_FILENAME, ERROR_DIRECTORY, HANDLE};
use windows_sys::Win32::Storage::FileSystem::{
    FILE_ATTRIBUTE_REPARSE_POINT, FILE_FLAG_BACKUP_SEMANTICS, FILE_FLAG_OPEN_REPARSE_POINT, FILE_ID_INFO,
    FILE_NAME_NORMALIZED, FILE_SHARE_DELETE, FILE_SHARE_READ, FILE_SHARE_WRITE, FileIdInfo,
    GetFileInformationByHandleEx, GetFinalPathNameByHandleW, VOLUME_NAME_DOS,
};

/// The error a link in the last component gets: Windows' own "the name cannot be resolved",
/// its counterpart of `ELOOP`.
const LINK_REFUSED: i32 = ERROR_CANT_RESOLVE_FILENAME as i32;
/// UTF-16 units asked for a real path first (longer ones are asked again at their length).
const PATH_UNITS: usize = 512;

/// Opens `path` for reading without following a link in its last component. Readers share
/// delete access, so an edit can still replace the file meanwhile (as on Unix).
pub(crate) fn open_no_follow(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE);
    open_checked(&mut options, path, 0)
}

/// Opens the folder `path` without following a link, and without delete sharing: while the
/// handle lives, the folder cannot be renamed or removed.
pub(crate) fn open_dir_no_follow(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE);
    let dir = open_checked(&mut options, path, FILE_FLAG_BACKUP_SEMANTICS)?;
    if !dir.metadata()?.is_dir() {
        return Err(io::Error::from_raw_os_error(ERROR_DIRECTORY as i32));
    }
    Ok(dir)
}

/// Opens `path` with `options` (and `flags`), refusing a symbolic link or junction.
fn open_checked(options: &mut OpenOptions, path: &Path, flags: u32) -> io::Result<File> {
    let file = options.custom_flags(flags | FILE_FLAG_OPEN_REPARSE_POINT).open(path)?;
    let meta = file.metadata()?;
    if meta.file_type().is_symlink() {
        return Err(io::Error::from_raw_os_error(LINK_REFUSED));
    }
    if meta.file_attributes() & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
        // Not a link: its filter must see the open to give the contents.
        return options.custom_flags(flags).open(path);
    }
    Ok(file)
}

/// Whether an open failed because the last component is a link.
pub(crate) fn is_link_refusal(error: &io::Error) -> bool {
    error.raw_os_error() == Some(LINK_REFUSED)
}

/// The real path of an open file or folder.
pub(crate) fn final_path(file: &File) -> Option<PathBuf> {
    let handle = file.as_raw_handle() as HANDLE;
    let mut units = vec![0u16; PATH_UNITS];
    loop {
        let capacity = u32::try_from(units.len()).ok()?;
        // SAFETY: a valid handle and a buffer of `capacity` units that lives through the call;
        // it returns the length written (without the NUL), or the length needed when too small.
        let n = unsafe {
            GetFinalPathNameByHandleW(handle, units.as_mut_ptr(), capacity, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS)
        } as usize;
        if n == 0 {
            return None;
        }
        if n < units.len() {
            units.truncate(n);
            return Some(PathBuf::from(OsString::from_wide(&units)));
        }
        units.resize(n, 0);
    }
}

/// Which file an open handle is: its volume and file ID.
pub(crate) fn file_id(file: &File) -> io::Result<(u64, [u8; 16])> {
    // SAFETY: an all-zero FILE_ID_INFO is valid; the call fills it for a valid handle.
    let mut info: FILE_ID_INFO = unsafe { std::mem::zeroed() };
    // SAFETY: a valid handle and a buffer of the size given, living through the call.
    let ok = unsafe {
        GetFileInformationByHandleEx(
            file.as_raw_handle() as HANDLE,
            FileIdInfo,
            (&raw mut info).cast(),
            size_of::<FILE_ID_INFO>() as u32,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((info.VolumeSerialNumber, info.FileId.Identifier))
}

/// Which file `path` names now, without following a link and without opening its contents.
pub(crate) fn id_at(path: &Path) -> io::Result<(u64, [u8; 16])> {
    let named = OpenOptions::new()
        .access_mode(0)
        .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)
        .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS)
        .open(path)?;
    file_id(&named)
}
