//! The one place that starts processes (check programs, Turbolinux agents,
//! load probes). Every program runs without a shell, in its own process
//! group, with stdin and stderr on /dev/null, cwd `/`, and stdout captured
//! up to a cap (the rest is read and thrown away, so the program never
//! blocks on a full pipe). At its end, normal or not, the whole process
//! group is SIGKILLed before the leader is reaped (the zombie leader keeps
//! the group id from being reused), so forked children cannot linger.
//! Nothing blocks: exit is seen through a pidfd, stdout is non-blocking.

use std::ffi::OsString;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use crate::sys;

/// piranha captured at most 4095 bytes of a check program's output.
pub const STDOUT_CAP: usize = 4096;

/// Starting a program failed.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// No program given.
    #[error("empty command line")]
    Empty,
    /// fork/exec failed (program missing, not executable...).
    #[error("cannot run {program:?}: {err}")]
    Exec {
        /// The program (`argv[0]`).
        program: OsString,
        /// The OS error.
        err: io::Error,
    },
    /// Setting up the pipe or pidfd failed.
    #[error("cannot watch {program:?}: {err}")]
    Watch {
        /// The program (`argv[0]`).
        program: OsString,
        /// The OS error.
        err: io::Error,
    },
}

/// How a program ended.
#[derive(Debug)]
pub struct Finished {
    /// Its exit status.
    pub status: ExitStatus,
    /// The first [`STDOUT_CAP`] bytes of its stdout.
    pub stdout: Vec<u8>,
    /// Whether stdout was longer than the cap.
    pub truncated: bool,
}

/// A program that is running.
#[derive(Debug)]
pub struct Running {
    child: Child,
    pidfd: OwnedFd,
    stdout: Option<ChildStdout>,
    out: Vec<u8>,
    truncated: bool,
}

fn nonblocking(fd: &impl AsFd) -> io::Result<()> {
    let flags = fcntl(fd.as_fd(), FcntlArg::F_GETFL)?;
    let flags = OFlag::from_bits_retain(flags) | OFlag::O_NONBLOCK;
    fcntl(fd.as_fd(), FcntlArg::F_SETFL(flags))?;
    Ok(())
}

impl Running {
    /// Starts `argv` and registers its stdout and exit with `registry`.
    pub fn spawn(
        argv: &[OsString],
        registry: &Registry,
        out_token: Token,
        exit_token: Token,
    ) -> Result<Running, SpawnError> {
        let (program, args) = argv.split_first().ok_or(SpawnError::Empty)?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .current_dir("/")
            .process_group(0)
            .spawn()
            .map_err(|err| SpawnError::Exec { program: program.clone(), err })?;
        let watch = |child: &mut Child| -> io::Result<(OwnedFd, Option<ChildStdout>)> {
            let pidfd = sys::pidfd_open(child.id())?;
            let stdout = child.stdout.take();
            if let Some(s) = &stdout {
                nonblocking(s)?;
                registry.register(&mut SourceFd(&s.as_raw_fd()), out_token, Interest::READABLE)?;
            }
            registry.register(&mut SourceFd(&pidfd.as_raw_fd()), exit_token, Interest::READABLE)?;
            Ok((pidfd, stdout))
        };
        match watch(&mut child) {
            Ok((pidfd, stdout)) => {
                Ok(Running { child, pidfd, stdout, out: Vec::new(), truncated: false })
            }
            Err(err) => {
                kill_group(&child);
                // Blocking is fine here: SIGKILL was just sent to our child.
                let _ = child.wait();
                Err(SpawnError::Watch { program: program.clone(), err })
            }
        }
    }

    /// The leader's pid (also the process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Reads what stdout has (call on its readiness event).
    pub fn drain(&mut self) {
        let Some(s) = self.stdout.as_mut() else {
            return;
        };
        let mut buf = [0u8; 8192];
        loop {
            match s.read(&mut buf) {
                Ok(0) => {
                    self.close_stdout();
                    return;
                }
                Ok(n) => {
                    let room = STDOUT_CAP - self.out.len();
                    if n > room {
                        self.truncated = true;
                    }
                    self.out.extend_from_slice(&buf[..n.min(room)]);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    self.close_stdout();
                    return;
                }
            }
        }
    }

    fn close_stdout(&mut self) {
        // Dropping the ChildStdout closes the fd, which also removes it
        // from the epoll set.
        self.stdout = None;
    }

    /// Call on the exit token's readiness: if the leader has exited, kills
    /// what is left of its group, reaps it and returns how it ended.
    /// Returns `Err(self)` if it is still running (spurious wakeup).
    pub fn try_finish(mut self, registry: &Registry) -> Result<Finished, Running> {
        use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        let pid = Pid::from_raw(i32::try_from(self.child.id()).unwrap_or(i32::MAX));
        if let Ok(WaitStatus::StillAlive) = waitid(Id::Pid(pid), flags) {
            return Err(self);
        }
        // The leader is a zombie: its group id cannot be reused yet.
        kill_group(&self.child);
        self.drain();
        self.close_stdout();
        let _ = registry.deregister(&mut SourceFd(&self.pidfd.as_raw_fd()));
        match self.child.try_wait() {
            Ok(Some(status)) => Ok(Finished {
                status,
                stdout: std::mem::take(&mut self.out),
                truncated: self.truncated,
            }),
            // Cannot happen after waitid said it exited; keep it reapable.
            Ok(None) | Err(_) => Err(self),
        }
    }

    /// Timeout: SIGKILLs the whole group. The result must be kept (and
    /// polled with [`Dying::try_reap`]) until it is reaped.
    pub fn kill(mut self, registry: &Registry, exit_token: Token) -> Dying {
        kill_group(&self.child);
        self.close_stdout();
        let fd = self.pidfd.as_raw_fd();
        let _ = registry.reregister(&mut SourceFd(&fd), exit_token, Interest::READABLE);
        Dying { child: self.child, pidfd: self.pidfd }
    }
}

fn kill_group(child: &Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// A program killed at its timeout, not yet reaped.
#[derive(Debug)]
pub struct Dying {
    child: Child,
    pidfd: OwnedFd,
}

impl Dying {
    /// The leader's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Reaps it if it has died; `true` when gone.
    pub fn try_reap(&mut self, registry: &Registry) -> bool {
        match self.child.try_wait() {
            Ok(None) => false,
            Ok(Some(_)) | Err(_) => {
                let _ = registry.deregister(&mut SourceFd(&self.pidfd.as_raw_fd()));
                true
            }
        }
    }
}
