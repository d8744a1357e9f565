//! The `bash` tool's sandbox: a Landlock domain entered by the command's own process, after the
//! fork and before `exec`, never by pincer (SPEC §9 Sandbox).
//!
//! Policy lives here as data ([`Policy`] → [`rules`]); the supervisor only calls [`enter`] in
//! the child. What the domain allows:
//! - reading and executing everywhere except `$PINCER_HOME` (its `skills/` stays readable) and
//!   `/dev`, where only the ordinary character devices are open (no disks, no terminals);
//! - writing in the workspace, the temp folders and the configured cache folders, never in
//!   `$PINCER_HOME`;
//! - with `network = false`, no TCP connect or bind (Landlock ABI 4);
//! - no signals to processes outside the command (ABI 6), no ptrace of them, no reading their
//!   `/proc/<pid>/environ` or `mem` (every Landlock domain does that).
//!
//! Landlock rules only grant, and a grant covers a whole hierarchy, so "everything but
//! `$PINCER_HOME`" is built by granting every sibling along the path to it ([`cover`]). The
//! folders on that path (`/`, `/home`, `~`…) get no grant themselves: they cannot be listed, and
//! nothing can be created, removed or renamed directly in them, while everything in them can be
//! used as usual. Entries created there after the command starts are out of reach for it.
//!
//! As root, the command also loses the capabilities that reach around a path-based sandbox
//! (loading modules, BPF, raw I/O, ptrace…). With `sandbox = false` a root command still enters
//! a domain that restricts nothing else and loses CAP_SYS_PTRACE, CAP_SYS_ADMIN and
//! CAP_PERFMON, which keeps pincer's process out of its reach: the hard limits of SPEC §9 do not
//! depend on the sandbox setting. (An ordinary user's commands cannot read pincer's memory
//! anyway: pincer is not dumpable, and neither is the supervisor forked from it.)

#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

use std::path::{Path, PathBuf};

/// The Landlock state for this session: what the kernel offers and what the settings ask for.
/// Probed once; [`SandboxState::describe`] is what `pincer tools` shows and
/// [`SandboxState::warning`] what a session prints once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxState {
    /// The kernel's Landlock ABI version; `None` where Landlock is missing or disabled.
    pub abi: Option<i32>,
    /// `[tools.bash] sandbox` (default true).
    pub requested: bool,
    /// `[tools.bash] network` (default true: TCP allowed).
    pub network: bool,
}

/// First ABI with TCP rules (Linux 6.7).
const ABI_NET: i32 = 4;
/// First ABI with signal scoping (Linux 6.12).
const ABI_SCOPE: i32 = 6;

impl SandboxState {
    /// Probes the kernel once.
    pub fn probe(requested: bool, network: bool) -> SandboxState {
        SandboxState { abi: kernel_abi(), requested, network }
    }

    /// True when commands run inside the full sandbox.
    pub fn enforced(&self) -> bool {
        self.requested && self.abi.is_some()
    }

    /// True when `network = false` is actually enforced.
    pub fn network_blocked(&self) -> bool {
        self.enforced() && !self.network && self.abi.is_some_and(|abi| abi >= ABI_NET)
    }

    /// One paragraph for `pincer tools`: the ABI and what is enforced.
    pub fn describe(&self) -> String {
        let Some(abi) = self.abi else {
            return if self.requested {
                format!("not available: {}; {}", ABSENCE.missing, ABSENCE.without)
            } else {
                format!("off ([tools.bash] sandbox = false), and {}{}", ABSENCE.missing, ABSENCE.off_also)
            };
        };
        if !self.requested {
            return format!(
                "off ([tools.bash] sandbox = false; Landlock ABI {abi} available): commands can read and write \
                 whatever you can; pincer's own process and credentials stay out of their reach"
            );
        }
        let network = if self.network {
            "network allowed"
        } else if abi >= ABI_NET {
            "no TCP (network = false)"
        } else {
            "network = false not enforced (TCP rules need Landlock ABI 4, Linux 6.7)"
        };
        let signals = if abi >= ABI_SCOPE { "; no signals to processes outside the command" } else { "" };
        format!(
            "Landlock ABI {abi}: writes only in the workspace, temp folders and [tools.bash] writable; \
             $PINCER_HOME unreadable (skills/ readable); {network}{signals}; no tracing of other processes"
        )
    }

    /// What a session should say once, if anything: the sandbox is asked for but not there.
    pub fn warning(&self) -> Option<String> {
        if !self.requested {
            return None;
        }
        match self.abi {
            None => Some(format!(
                "warning: {}: {}\n\
                 hint: `pincer tools` shows the sandbox state; [tools.bash] sandbox = false silences this",
                ABSENCE.warning, ABSENCE.missing
            )),
            Some(abi) if !self.network && abi < ABI_NET => Some(format!(
                "warning: [tools.bash] network = false is not enforced: this kernel's Landlock ABI is {abi}, TCP \
                 rules need ABI 4 (Linux 6.7)"
            )),
            Some(_) => None,
        }
    }
}

/// What this platform says without a sandbox: why there is none, what `bash` does then, what
/// `pincer tools` adds when the sandbox is off anyway, and the session's warning.
struct Absence {
    missing: &'static str,
    without: &'static str,
    off_also: &'static str,
    warning: &'static str,
}

/// Without Landlock (macOS, older kernels) commands run unsandboxed, as SPEC §9 says.
#[cfg(not(windows))]
const ABSENCE: Absence = Absence {
    missing: "this system has no Landlock (Linux 5.13 or later with landlock among the enabled LSMs)",
    without: "bash commands run unsandboxed",
    off_also: "",
    warning: "bash commands run without a sandbox",
};

/// Windows has no `/bin/sh` either: the `bash` tool is not offered at all, rather than a
/// stand-in that pretends.
#[cfg(windows)]
const ABSENCE: Absence = Absence {
    missing: "Windows has neither Landlock nor /bin/sh",
    without: "the bash tool is not offered (the file, search and web tools are)",
    off_also: "; the bash tool is not offered",
    warning: "the bash tool is not available",
};

/// What a command may touch. Paths are absolute; `home` and `workspace` canonical.
#[derive(Debug, Clone)]
pub(crate) struct Policy<'a> {
    pub workspace: &'a Path,
    pub home: &'a Path,
    /// Temp folders and caches: writable like the workspace.
    pub writable: Vec<PathBuf>,
    pub network: bool,
}

/// The folders commands may write as temp space, when they exist (plus `$TMPDIR`).
pub(crate) const TEMP_DIRS: &[&str] = &["/tmp", "/var/tmp", "/dev/shm"];

/// `$PINCER_HOME/skills`: readable by commands (SPEC §13).
pub(crate) const SKILLS_DIR: &str = "skills";

/// Character devices commands may open, read, write and control. `/dev/tty` is the command's
/// controlling terminal, and it has none (its own session). Pseudo-terminals (`/dev/ptmx`,
/// `/dev/pts/*`) are left out on purpose: the person's own terminal is one of them, and a
/// command writing there would bypass pincer's sanitising (a forged approval prompt), reading
/// there would take their keystrokes. Programs that need a pty (`script`, `expect`) fail.
const DEVICES: &[&str] = &["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"];

/// What one rule grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Grant {
    /// Read files, list folders, execute.
    Read,
    /// Everything: create, write, remove, rename, truncate.
    ReadWrite,
    /// Open a device to read, write and ioctl.
    Device,
    /// List a folder (`/dev`).
    List,
}

/// The rules of a policy: paths and what each grants, hierarchically.
pub(crate) fn rules(policy: &Policy<'_>) -> Vec<(PathBuf, Grant)> {
    let home = policy.home;
    let mut out = Vec::new();
    cover(Path::new("/"), Grant::Read, &[home, Path::new("/dev")], &mut out);
    out.push((PathBuf::from("/dev"), Grant::List));
    for device in DEVICES {
        out.push((PathBuf::from(device), Grant::Device));
    }
    let writable = std::iter::once(policy.workspace).chain(policy.writable.iter().map(PathBuf::as_path));
    for root in writable {
        // Nothing inside the home is ever writable, whatever the settings say.
        if !root.starts_with(home) {
            cover(root, Grant::ReadWrite, &[home], &mut out);
        }
    }
    out.push((home.join(SKILLS_DIR), Grant::Read));
    out
}

/// Grants `grant` on `dir` and everything beneath it except the `excluded` paths: where `dir`
/// holds an excluded path, each of its entries is covered on its own (symbolic links are
/// skipped: their targets are covered where they really are, and following one could grant
/// the excluded path itself).
fn cover(dir: &Path, grant: Grant, excluded: &[&Path], out: &mut Vec<(PathBuf, Grant)>) {
    if excluded.contains(&dir) {
        return;
    }
    if !excluded.iter().any(|x| x.starts_with(dir)) {
        out.push((dir.to_path_buf(), grant));
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_symlink()) {
            continue;
        }
        cover(&entry.path(), grant, excluded, out);
    }
}

/// The kernel's Landlock ABI, or `None` without Landlock.
pub fn kernel_abi() -> Option<i32> {
    #[cfg(target_os = "linux")]
    {
        linux::kernel_abi()
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

#[cfg(target_os = "linux")]
pub(crate) use linux::{ChildSandbox, Prepared, enter, prepare};

#[cfg(target_os = "linux")]
mod linux {
    use std::os::fd::{AsRawFd, OwnedFd};

    use landlock::{
        ABI, Access, AccessFs, AccessNet, BitFlags, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr,
        Scope,
    };

    use super::{ABI_NET, ABI_SCOPE, Grant, Policy, SandboxState, rules};

    /// The file-system rights pincer asks for: ABI 5 has every one there is (ABI 6–8 add none).
    /// The crate leaves out what an older kernel lacks.
    const FS_ABI: ABI = ABI::V5;

    #[derive(Debug, thiserror::Error)]
    pub(crate) enum SandboxError {
        #[error(
            "could not set up the sandbox for this command: {0}\n\
             hint: `pincer tools` shows the sandbox state; [tools.bash] sandbox = false runs commands without it"
        )]
        Ruleset(#[from] landlock::RulesetError),
        #[error(
            "could not set up the sandbox for this command: the kernel created no Landlock ruleset\n\
             hint: `pincer tools` shows the sandbox state; [tools.bash] sandbox = false runs commands without it"
        )]
        NoRuleset,
    }

    /// A ruleset built in pincer, entered by the command's process after the fork.
    pub(crate) struct Prepared {
        ruleset: OwnedFd,
        /// `PR_SET_NO_NEW_PRIVS` first (required for an unprivileged domain; set for every full
        /// sandbox, so set-uid programs such as sudo gain nothing inside).
        no_new_privs: bool,
        /// Capabilities the command loses (only root has them to lose).
        dropped_capabilities: &'static [libc::c_int],
    }

    /// What the forked child needs: plain values, no allocation.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct ChildSandbox {
        pub ruleset: libc::c_int,
        pub no_new_privs: bool,
        pub dropped_capabilities: &'static [libc::c_int],
    }

    impl Prepared {
        pub(crate) fn child(&self) -> ChildSandbox {
            ChildSandbox {
                ruleset: self.ruleset.as_raw_fd(),
                no_new_privs: self.no_new_privs,
                dropped_capabilities: self.dropped_capabilities,
            }
        }
    }

    pub(super) fn kernel_abi() -> Option<i32> {
        // SAFETY: the documented version query: no pointer is read, nothing is created.
        let v = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                std::ptr::null::<libc::c_void>(),
                0usize,
                LANDLOCK_CREATE_RULESET_VERSION,
            )
        };
        (v > 0).then_some(v as i32)
    }

    const LANDLOCK_CREATE_RULESET_VERSION: u32 = 1;

    /// Builds the domain a command enters: the full sandbox when it is asked for and there, the
    /// shield that keeps pincer's process out of a root command's reach when it is off, and
    /// nothing where Landlock is missing or an ordinary user runs with `sandbox = false`.
    pub(crate) fn prepare(state: &SandboxState, policy: &Policy<'_>) -> Result<Option<Prepared>, SandboxError> {
        let Some(abi) = state.abi else { return Ok(None) };
        let root = is_root();
        if !state.requested {
            return if root { shield().map(Some) } else { Ok(None) };
        }
        let mut ruleset = Ruleset::default().handle_access(AccessFs::from_all(FS_ABI))?;
        if !policy.network && abi >= ABI_NET {
            ruleset = ruleset.handle_access(AccessNet::from_all(ABI::V4))?;
        }
        if abi >= ABI_SCOPE {
            ruleset = ruleset.scope(Scope::Signal)?;
        }
        let mut created = ruleset.create()?;
        for (path, grant) in rules(policy) {
            // A path that cannot be opened (gone, unreadable) simply gets no grant: the
            // sandbox only ever errs towards less access.
            let Ok(fd) = PathFd::new(&path) else { continue };
            let mut access = access_of(grant);
            if !path.is_dir() {
                access &= AccessFs::from_file(FS_ABI);
            }
            if let Err(error) = (&mut created).add_rule(PathBeneath::new(fd, access)) {
                tracing::debug!(path = %path.display(), %error, "sandbox rule skipped");
            }
        }
        let dropped_capabilities = if root { DROPPED_CAPABILITIES } else { &[] };
        Ok(Some(Prepared { ruleset: ruleset_fd(created)?, no_new_privs: true, dropped_capabilities }))
    }

    /// For a root command with the sandbox off: a domain that restricts nothing a command needs
    /// (only creating block devices) but, like every Landlock domain, keeps processes outside
    /// it from being traced or their `/proc/<pid>/mem` opened, and the capabilities with which
    /// `/proc/<pid>/environ` stays readable all the same ([`SHIELD_CAPABILITIES`]).
    fn shield() -> Result<Prepared, SandboxError> {
        let created = Ruleset::default().handle_access(AccessFs::MakeBlock)?.create()?;
        // Root may enter a domain without no_new_privs (it has CAP_SYS_ADMIN); `enter` sets it
        // only if the kernel insists.
        Ok(Prepared { ruleset: ruleset_fd(created)?, no_new_privs: false, dropped_capabilities: SHIELD_CAPABILITIES })
    }

    fn ruleset_fd(created: landlock::RulesetCreated) -> Result<OwnedFd, SandboxError> {
        let fd: Option<OwnedFd> = created.into();
        // The kernel answered the ABI query, so the crate should have created a real ruleset.
        fd.ok_or(SandboxError::NoRuleset)
    }

    fn access_of(grant: Grant) -> BitFlags<AccessFs> {
        match grant {
            Grant::Read => AccessFs::from_read(FS_ABI),
            Grant::ReadWrite => AccessFs::from_all(FS_ABI),
            Grant::Device => AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate | AccessFs::IoctlDev,
            Grant::List => AccessFs::ReadDir.into(),
        }
    }

    fn is_root() -> bool {
        // SAFETY: no arguments, cannot fail.
        unsafe { libc::geteuid() == 0 }
    }

    /// Capabilities a root command loses in the full sandbox: each reaches around a path-based
    /// sandbox or into other processes' memory (open_by_handle_at, modules, raw I/O and
    /// /proc/kcore, ptrace, most of CAP_SYS_ADMIN's BPF and mounts, kexec, LSM policy, perf
    /// and BPF, checkpoint/restore).
    const DROPPED_CAPABILITIES: &[libc::c_int] = &[
        2,  // CAP_DAC_READ_SEARCH
        16, // CAP_SYS_MODULE
        17, // CAP_SYS_RAWIO
        CAP_SYS_PTRACE,
        CAP_SYS_ADMIN,
        22, // CAP_SYS_BOOT
        32, // CAP_MAC_OVERRIDE
        33, // CAP_MAC_ADMIN
        CAP_PERFMON,
        39, // CAP_BPF
        40, // CAP_CHECKPOINT_RESTORE
    ];

    /// A Landlock domain stops ptrace and `/proc/<pid>/mem` of processes outside it, but a
    /// process holding any of these still reads their `/proc/<pid>/environ` (measured on Linux
    /// 6.18: each one alone is enough). Root commands never keep them.
    const SHIELD_CAPABILITIES: &[libc::c_int] = &[CAP_SYS_PTRACE, CAP_SYS_ADMIN, CAP_PERFMON];
    const CAP_SYS_PTRACE: libc::c_int = 19;
    const CAP_SYS_ADMIN: libc::c_int = 21;
    const CAP_PERFMON: libc::c_int = 38;
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

    #[repr(C)]
    struct CapHeader {
        version: u32,
        pid: libc::c_int,
    }

    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct CapData {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }

    /// Enters the domain. Runs in the forked child between `fork` and `exec`: system calls only,
    /// no allocation. Returns the errno of what failed; the caller must then not exec.
    ///
    /// # Safety
    /// `sandbox.ruleset` must be an open Landlock ruleset descriptor in this process.
    pub(crate) unsafe fn enter(sandbox: &ChildSandbox) -> Result<(), libc::c_int> {
        // SAFETY: plain system calls on this (single-threaded, forked) process.
        unsafe {
            if !sandbox.dropped_capabilities.is_empty() {
                for &cap in sandbox.dropped_capabilities {
                    // EINVAL (a capability this kernel does not know) is fine to ignore.
                    libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0);
                }
                // The bounding set limits what exec grants; the inheritable and ambient sets
                // could carry the same capabilities past it.
                libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
                let mut header = CapHeader { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
                let mut data = [CapData::default(); 2];
                if libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) == 0 {
                    for &cap in sandbox.dropped_capabilities {
                        let bit = 1u32 << (cap % 32);
                        let word = &mut data[(cap / 32) as usize];
                        word.inheritable &= !bit;
                        word.effective &= !bit;
                        word.permitted &= !bit;
                    }
                    libc::syscall(libc::SYS_capset, &mut header, data.as_ptr());
                }
            }
            if sandbox.no_new_privs && libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(errno());
            }
            if libc::syscall(libc::SYS_landlock_restrict_self, sandbox.ruleset, 0u32) == 0 {
                return Ok(());
            }
            // Without CAP_SYS_ADMIN (root in a container) the kernel insists on no_new_privs.
            if !sandbox.no_new_privs && errno() == libc::EPERM {
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                    return Err(errno());
                }
                if libc::syscall(libc::SYS_landlock_restrict_self, sandbox.ruleset, 0u32) == 0 {
                    return Ok(());
                }
            }
            Err(errno())
        }
    }

    fn errno() -> libc::c_int {
        // SAFETY: reads this thread's errno.
        unsafe { *libc::__errno_location() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(abi: Option<i32>, requested: bool, network: bool) -> SandboxState {
        SandboxState { abi, requested, network }
    }

    #[test]
    fn the_state_says_what_is_enforced() {
        let full = state(Some(7), true, false);
        assert!(full.enforced() && full.network_blocked() && full.warning().is_none());
        assert!(full.describe().contains("ABI 7") && full.describe().contains("no TCP"), "{}", full.describe());
        let old = state(Some(3), true, false);
        assert!(!old.network_blocked());
        assert!(old.warning().unwrap().contains("network = false is not enforced"));
        assert!(old.describe().contains("not enforced"));
        let missing = state(None, true, true);
        assert!(!missing.enforced());
        assert!(missing.warning().unwrap().contains("without a sandbox"));
        assert!(missing.describe().starts_with("not available"));
        let off = state(Some(7), false, true);
        assert!(!off.enforced() && off.warning().is_none());
        assert!(off.describe().starts_with("off"));
        assert!(state(None, false, true).warning().is_none(), "asked off: nothing to warn about");
    }

    /// Builds `root/{a/{home/{auth.json,skills/},x,y},b,link→a/home}` and the policy's rules.
    #[test]
    fn everything_but_the_home_is_covered_by_siblings() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let home = root.join("a/home");
        std::fs::create_dir_all(home.join("skills")).unwrap();
        std::fs::write(home.join("auth.json"), "{}").unwrap();
        std::fs::create_dir(root.join("a/x")).unwrap();
        std::fs::write(root.join("a/y"), "").unwrap();
        std::fs::create_dir(root.join("b")).unwrap();
        std::os::unix::fs::symlink(&home, root.join("link")).unwrap();

        let mut out = Vec::new();
        cover(&root, Grant::ReadWrite, &[&home], &mut out);
        out.sort();
        let expected: Vec<(PathBuf, Grant)> =
            ["a/x", "a/y", "b"].iter().map(|p| (root.join(p), Grant::ReadWrite)).collect();
        assert_eq!(out, expected, "siblings along the path, no symlink, not the home, not its parents");

        // A workspace that holds the home, a cache inside the home (refused), a plain cache.
        let cache = tempfile::tempdir().unwrap();
        let policy = Policy {
            workspace: &root,
            home: &home,
            writable: vec![home.join("cache"), cache.path().to_path_buf()],
            network: true,
        };
        let rules = rules(&policy);
        let granted = |p: &Path| rules.iter().filter(|(r, _)| p.starts_with(r)).map(|(_, g)| *g).collect::<Vec<_>>();
        assert!(granted(&home.join("auth.json")).is_empty(), "{rules:?}");
        assert!(granted(&home.join("cache/x")).is_empty());
        assert_eq!(granted(&home.join("skills/s/SKILL.md")), [Grant::Read]);
        assert!(granted(&root.join("a/x/f")).contains(&Grant::ReadWrite));
        assert!(granted(&cache.path().join("f")).contains(&Grant::ReadWrite));
        assert_eq!(granted(Path::new("/usr/bin/env")), [Grant::Read]);
        assert_eq!(granted(Path::new("/dev/sda")), [Grant::List], "block devices stay closed");
        assert_eq!(granted(Path::new("/dev/null")), [Grant::List, Grant::Device]);
        assert!(granted(&root).is_empty() && granted(Path::new("/")).is_empty(), "parents of the home get nothing");
    }
}
