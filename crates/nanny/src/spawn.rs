//! The one place that starts processes (check programs, Turbolinux agents,
//! load probes), through `lvs_daemon::Spawn`: no shell, its own process
//! group, a parent-death signal, stdin on /dev/null, cwd `/`; here stderr
//! goes to /dev/null and stdout is captured up to a cap (the rest is read
//! and thrown away, so the program never blocks on a full pipe). At its
//! end, normal or not, the whole process group is SIGKILLed before the
//! leader is reaped (the zombie leader keeps the group id from being
//! reused), so forked children cannot linger. Nothing blocks: exit is seen
//! through a pidfd, stdout is non-blocking, a timed-out program is an
//! `lvs_daemon::Stopping` reaped when its pidfd says so.

use std::ffi::OsString;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::process::{ChildStdout, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use lvs_daemon::{Child, Spawn, Stopping};
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use nix::fcntl::{fcntl, FcntlArg, OFlag};

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
    pidfd: RawFd,
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
        let mut child = Spawn::new(program)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|err| SpawnError::Exec { program: program.clone(), err })?;
        let watch = |child: &mut Child| -> io::Result<(RawFd, Option<ChildStdout>)> {
            // The loop learns of the exit from the pidfd only.
            let pidfd =
                child.raw_pidfd().ok_or_else(|| io::Error::from_raw_os_error(libc::ENOSYS))?;
            let stdout = child.take_stdout();
            if let Some(s) = &stdout {
                nonblocking(s)?;
                registry.register(&mut SourceFd(&s.as_raw_fd()), out_token, Interest::READABLE)?;
            }
            registry.register(&mut SourceFd(&pidfd), exit_token, Interest::READABLE)?;
            Ok((pidfd, stdout))
        };
        match watch(&mut child) {
            Ok((pidfd, stdout)) => {
                Ok(Running { child, pidfd, stdout, out: Vec::new(), truncated: false })
            }
            Err(err) => {
                // SIGKILL now; it is reaped in the background of this
                // error, at most one short wait on a killed child.
                lvs_daemon::wait_all(vec![Stopping::start(child, Duration::ZERO, Instant::now())]);
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
        if !self.child.exited() {
            return Err(self);
        }
        self.drain();
        self.close_stdout();
        let _ = registry.deregister(&mut SourceFd(&self.pidfd));
        // The leader is a zombie: its group is SIGKILLed, then it is reaped.
        match self.child.try_finish() {
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
        self.close_stdout();
        let fd = self.pidfd;
        let _ = registry.reregister(&mut SourceFd(&fd), exit_token, Interest::READABLE);
        Dying { stop: Stopping::start(self.child, Duration::ZERO, Instant::now()), pidfd: fd }
    }
}

/// A program killed at its timeout (its group SIGKILLed), not yet reaped.
#[derive(Debug)]
pub struct Dying {
    stop: Stopping,
    pidfd: RawFd,
}

impl Dying {
    /// The leader's pid.
    pub fn pid(&self) -> u32 {
        self.stop.id()
    }

    /// Reaps it if it has died; `true` when gone.
    pub fn try_reap(&mut self, registry: &Registry) -> bool {
        match self.stop.poll(Instant::now()) {
            Ok(None) => false,
            Ok(Some(_)) | Err(_) => {
                let _ = registry.deregister(&mut SourceFd(&self.pidfd));
                true
            }
        }
    }

    /// At exit: waits for every one to be reaped (they were SIGKILLed),
    /// on their pidfds.
    pub fn reap_all(dying: Vec<Dying>, registry: &Registry) {
        let stops = dying
            .into_iter()
            .map(|d| {
                let _ = registry.deregister(&mut SourceFd(&d.pidfd));
                d.stop
            })
            .collect();
        lvs_daemon::wait_all(stops);
    }
}
