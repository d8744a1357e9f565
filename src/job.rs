//! Windows job objects: a program pincer starts and every process it starts in turn, held as one
//! thing that ends together — Windows' counterpart of a Unix process group that is also killed
//! when pincer dies (`PR_SET_PDEATHSIG` on Linux).
//!
//! The job ends its processes when [`Job::terminate`] is called and when its handle closes, which
//! Windows does however pincer's process ends. A process the program starts in the instant
//! between its own start and joining the job would be outside it (std cannot start a program
//! suspended and resume it).

use std::os::windows::io::AsRawHandle;
use std::process::Child;

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectExtendedLimitInformation, SetInformationJobObject,
    TerminateJobObject,
};

/// The exit code the job's processes get when pincer ends them.
const ENDED_EXIT_CODE: u32 = 1;

#[derive(Debug)]
pub(crate) struct Job(HANDLE);

// SAFETY: a job handle is a reference to a kernel object, usable from any thread.
unsafe impl Send for Job {}
// SAFETY: as above; the calls made on it (terminate, close) are thread-safe.
unsafe impl Sync for Job {}

impl Job {
    /// A new job holding `child` (which then takes everything it starts into it too).
    pub(crate) fn holding(child: &Child) -> std::io::Result<Job> {
        // SAFETY: no security attributes, no name: a new, unnamed job whose handle no child inherits.
        let handle = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        if handle.is_null() {
            return Err(std::io::Error::last_os_error());
        }
        let job = Job(handle);
        // SAFETY: an all-zero limits struct is valid (no limits); one flag is set below.
        let mut limits: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
        limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        // SAFETY: a valid job handle, and a struct of the size given that lives through the call;
        // the child's process handle stays open while `child` lives.
        let ok = unsafe {
            SetInformationJobObject(
                job.0,
                JobObjectExtendedLimitInformation,
                (&raw const limits).cast(),
                size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
            ) != 0
                && AssignProcessToJobObject(job.0, child.as_raw_handle() as HANDLE) != 0
        };
        if !ok {
            return Err(std::io::Error::last_os_error());
        }
        Ok(job)
    }

    /// Ends every process in the job (harmless when none is left).
    pub(crate) fn terminate(&self) {
        // SAFETY: a valid job handle.
        unsafe { TerminateJobObject(self.0, ENDED_EXIT_CODE) };
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        // SAFETY: the handle is ours and closed once; closing it ends what is left in the job.
        unsafe { CloseHandle(self.0) };
    }
}
