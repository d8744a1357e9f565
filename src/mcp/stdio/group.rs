//! A server and every process it starts, as one thing to stop: a process group on Unix, a job
//! object on Windows.
//!
//! - Linux: the server also dies with pincer (`PR_SET_PDEATHSIG`, SIGKILL).
//! - macOS has no parent-death signal: a server outlives a pincer that was killed outright
//!   (SIGKILL), until it sees its stdin close, which ends an MCP server.
//! - Windows: a job object ([`crate::job`]), which also ends the server when pincer ends. There
//!   is no polite stop for a program without a console window, so [`Group::terminate`] ends the
//!   job like [`Group::kill`].

use std::process::{Child, Command};

pub(crate) use imp::Group;
use imp::prepare;

#[cfg(unix)]
mod imp {
    use std::os::unix::process::CommandExt;
    use std::process::{Child, Command};

    /// Puts the program in a process group of its own (and, on Linux, ties it to pincer).
    pub(crate) fn prepare(cmd: &mut Command) {
        cmd.process_group(0);
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe; it only sets this child's parent-death signal.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                Ok(())
            });
        }
    }

    /// The server's process group: its id is the leader's pid.
    #[derive(Debug, Clone)]
    pub(crate) struct Group(libc::pid_t);

    impl Group {
        pub(crate) fn of(child: &Child) -> std::io::Result<Group> {
            Ok(Group(child.id() as libc::pid_t))
        }

        /// Asks everything in the group to stop (SIGTERM).
        pub(crate) fn terminate(&self) {
            self.signal(libc::SIGTERM);
        }

        /// Ends everything in the group (SIGKILL).
        pub(crate) fn kill(&self) {
            self.signal(libc::SIGKILL);
        }

        fn signal(&self, signal: libc::c_int) {
            // SAFETY: a plain signal to a group id. Callers signal while the leader is unreaped
            // (so the id is still this server's), or after, when an empty group answers ESRCH.
            unsafe { libc::killpg(self.0, signal) };
        }
    }
}

#[cfg(windows)]
mod imp {
    use std::os::windows::process::CommandExt;
    use std::process::{Child, Command};
    use std::sync::Arc;

    use windows_sys::Win32::System::Threading::CREATE_NEW_PROCESS_GROUP;

    use crate::job::Job;

    /// A console process group of its own: the terminal's Ctrl-C reaches pincer, not the server.
    pub(crate) fn prepare(cmd: &mut Command) {
        cmd.creation_flags(CREATE_NEW_PROCESS_GROUP);
    }

    /// The job holding the server and what it starts; shared by the reader thread and the
    /// transport, closed (ending them all) when the last holder drops it.
    #[derive(Debug, Clone)]
    pub(crate) struct Group(Arc<Job>);

    impl Group {
        pub(crate) fn of(child: &Child) -> std::io::Result<Group> {
            Ok(Group(Arc::new(Job::holding(child)?)))
        }

        /// Windows has no polite stop for a program without a console window: the same as
        /// [`Group::kill`].
        pub(crate) fn terminate(&self) {
            self.kill();
        }

        pub(crate) fn kill(&self) {
            self.0.terminate();
        }
    }
}

/// Starts `cmd` as the leader of a new group through `spawn`, then (Windows) puts it in its
/// job; a program that cannot join is ended at once rather than left running outside it.
pub(crate) fn spawn_grouped(
    mut cmd: Command,
    spawn: impl FnOnce(Command) -> std::io::Result<Child>,
) -> std::io::Result<(Child, Group)> {
    prepare(&mut cmd);
    let mut child = spawn(cmd)?;
    match Group::of(&child) {
        Ok(group) => Ok((child, group)),
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(e)
        }
    }
}
