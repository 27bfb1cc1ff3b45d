//! Starting children, with one policy for every daemon of the workspace:
//! no shell, stdin on /dev/null, working directory `/`, the child in a
//! process group of its own (so that it and whatever it forks can be
//! signalled as one, and a terminal's Ctrl-C reaches only the daemon, which
//! stops its children itself), a parent-death signal (SIGTERM when the
//! spawning thread ends, so children never outlive their daemon), and a
//! pidfd where the kernel has one (5.3 and later), so that a loop can wait
//! for the child's exit as a readable fd; without it (or for a parent that
//! reaps on SIGCHLD, [`Spawn::reaped_on_sigchld`]) callers poll
//! [`Child::try_wait`] on SIGCHLD or a timer.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{ChildStdout, Command, ExitStatus, Output, Stdio};

use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::sys;

/// A child to start: a builder over [`std::process::Command`] that
/// applies the policy of this module.
#[derive(Debug)]
pub struct Spawn {
    cmd: Command,
    pidfd: bool,
}

impl Spawn {
    /// `program` (no shell), with stdin on /dev/null, cwd `/`, stdout and
    /// stderr inherited until said otherwise.
    pub fn new(program: impl AsRef<OsStr>) -> Spawn {
        let mut cmd = Command::new(program);
        cmd.stdin(Stdio::null()).current_dir("/");
        Spawn { cmd, pidfd: true }
    }

    /// No pidfd: for a parent that reaps its children on SIGCHLD and runs
    /// thousands of them (lvsd), a descriptor per child is too dear.
    pub fn reaped_on_sigchld(mut self) -> Spawn {
        self.pidfd = false;
        self
    }

    /// Adds one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Spawn {
        self.cmd.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Spawn
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    /// Where the child's stdout goes (inherited by default).
    pub fn stdout(mut self, to: Stdio) -> Spawn {
        self.cmd.stdout(to);
        self
    }

    /// Where the child's stderr goes (inherited by default).
    pub fn stderr(mut self, to: Stdio) -> Spawn {
        self.cmd.stderr(to);
        self
    }

    /// Starts it.
    ///
    /// # Errors
    /// fork or exec failed (program missing, not executable...), or the
    /// parent died meanwhile (`ESRCH`).
    pub fn spawn(mut self) -> io::Result<Child> {
        self.cmd.process_group(0);
        sys::die_with_parent(&mut self.cmd, Signal::SIGTERM);
        let inner = self.cmd.spawn()?;
        // ENOSYS (before Linux 5.3) and the like: poll instead.
        let pidfd = if self.pidfd { sys::pidfd_open(inner.id()).ok() } else { None };
        Ok(Child { inner, pidfd })
    }
}

/// A started child: its pid (also its process group id), its pidfd where
/// the kernel has one, and its standard streams.
#[derive(Debug)]
pub struct Child {
    inner: std::process::Child,
    pidfd: Option<OwnedFd>,
}

impl Child {
    /// Its pid, which is also its process group id.
    pub fn id(&self) -> u32 {
        self.inner.id()
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.inner.id()).unwrap_or(i32::MAX))
    }

    /// A fd that becomes readable when the child exits, where the kernel
    /// has pidfds; register it with a loop (mio's `SourceFd`).
    pub fn pidfd(&self) -> Option<BorrowedFd<'_>> {
        self.pidfd.as_ref().map(AsFd::as_fd)
    }

    /// The raw pidfd, for registration with mio.
    pub fn raw_pidfd(&self) -> Option<std::os::fd::RawFd> {
        self.pidfd.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// Takes its stdout pipe (when it was piped).
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.inner.stdout.take()
    }

    /// Sends `sig` to the child alone.
    ///
    /// # Errors
    /// The kernel's (`ESRCH` once it has been reaped).
    pub fn signal(&self, sig: Signal) -> nix::Result<()> {
        kill(self.pid(), sig)
    }

    /// Sends `sig` to the child's whole process group.
    ///
    /// # Errors
    /// The kernel's (`ESRCH` when no process is left in the group).
    pub fn signal_group(&self, sig: Signal) -> nix::Result<()> {
        killpg(self.pid(), sig)
    }

    /// Whether the child has exited, without reaping it (a zombie leader
    /// keeps its process group id from being reused, so the group can
    /// still be signalled safely).
    pub fn exited(&self) -> bool {
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        !matches!(waitid(Id::Pid(self.pid()), flags), Ok(WaitStatus::StillAlive))
    }

    /// Reaps the child if it has exited; never blocks.
    ///
    /// # Errors
    /// The kernel's (`ECHILD` if someone else reaped it).
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.inner.try_wait()
    }

    /// If the child has exited: SIGKILL to what is left of its process
    /// group (forked children must not linger), then reaps it. `None`
    /// while it runs. Never blocks.
    ///
    /// # Errors
    /// The kernel's (`ECHILD` if someone else reaped it).
    pub fn try_finish(&mut self) -> io::Result<Option<ExitStatus>> {
        if !self.exited() {
            return Ok(None);
        }
        let _ = self.signal_group(Signal::SIGKILL);
        self.inner.try_wait()
    }

    /// Waits for the child's end, reading what it wrote on piped stdout
    /// and stderr. Blocks: for a worker thread, never a loop.
    ///
    /// # Errors
    /// Reading the pipes or waiting failed.
    pub fn wait_with_output(self) -> io::Result<Output> {
        self.inner.wait_with_output()
    }

    /// Waits for the child's exit until `deadline` (for ever without one)
    /// and reaps it; `None` if it still runs at the deadline. Blocks, in
    /// poll(2) on the pidfd (without one, looking every
    /// [`crate::POLL_EVERY`]): for a worker thread, never a loop.
    ///
    /// # Errors
    /// The kernel's (`ECHILD` if someone else reaped it).
    pub fn wait_until(&mut self, deadline: Option<Instant>) -> io::Result<Option<ExitStatus>> {
        loop {
            if let Some(status) = self.inner.try_wait()? {
                return Ok(Some(status));
            }
            let now = Instant::now();
            let left = match deadline {
                Some(t) if now >= t => return Ok(None),
                Some(t) => t - now,
                None if self.pidfd.is_none() => return self.inner.wait().map(Some),
                None => Duration::from_secs(60),
            };
            match &self.pidfd {
                Some(fd) => {
                    let ms = u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX);
                    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
                    // EINTR: look again.
                    let _ = nix::poll::poll(&mut fds, PollTimeout::from(ms));
                }
                None => std::thread::sleep(left.min(crate::POLL_EVERY)),
            }
        }
    }
}
