//! Long-running programs inside a namespace (daemons under test, real
//! servers such as busybox `httpd`), stopped on drop; and polling for a
//! condition with a deadline, so tests wait for events instead of sleeping.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::netns::ip_program;
use crate::{Error, Netns, Result};

/// How long a stopped program gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(2);

/// A program running inside a namespace; SIGTERM (then SIGKILL) on drop.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    what: String,
}

impl Netns {
    /// Starts `program ARGS` inside the namespace and leaves it running.
    /// Its standard input is closed; its output goes where the test's goes.
    ///
    /// `ip netns exec` replaces itself with the program, so the child's pid
    /// is the program's.
    ///
    /// # Errors
    /// When the program cannot be started.
    pub fn spawn(&self, program: &str, args: &[&str]) -> Result<Daemon> {
        let what = format!("{program} {} (in {})", args.join(" "), self.name());
        let child = Command::new(ip_program())
            .args(["netns", "exec", self.name(), program])
            .args(args)
            .stdin(Stdio::null())
            .spawn()
            .map_err(|source| Error::Spawn { command: what.clone(), source })?;
        Ok(Daemon { child, what })
    }
}

impl Daemon {
    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it is still running (an exit is reaped and reported).
    ///
    /// # Errors
    /// When its status cannot be read.
    pub fn running(&mut self) -> Result<bool> {
        let status =
            self.child.try_wait().map_err(Error::io(format!("cannot wait for {}", self.what)))?;
        Ok(status.is_none())
    }

    /// Sends it `signal` (e.g. SIGHUP to reload).
    ///
    /// # Errors
    /// When it has exited.
    pub fn signal(&self, signal: Signal) -> Result<()> {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).unwrap_or(i32::MAX));
        kill(pid, signal).map_err(|e| Error::Io {
            what: format!("cannot signal {}", self.what),
            source: e.into(),
        })
    }

    /// Stops it: SIGTERM, then SIGKILL after 2 s; returns how it exited.
    ///
    /// # Errors
    /// When it cannot be waited for.
    pub fn stop(mut self) -> Result<std::process::ExitStatus> {
        self.terminate()
    }

    fn terminate(&mut self) -> Result<std::process::ExitStatus> {
        let what = self.what.clone();
        if let Some(status) =
            self.child.try_wait().map_err(Error::io(format!("cannot wait for {what}")))?
        {
            return Ok(status);
        }
        let _ = self.signal(Signal::SIGTERM);
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline {
            if let Some(status) =
                self.child.try_wait().map_err(Error::io(format!("cannot wait for {what}")))?
            {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        self.child.wait().map_err(Error::io(format!("cannot wait for {what}")))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Err(err) = self.terminate() {
            log::warn!("{err}");
        }
    }
}

/// Calls `probe` every 20 ms until it returns `Some`, for at most `timeout`.
///
/// # Errors
/// When the deadline passes; the error names `what` was awaited.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            return Err(Error::Protocol(format!("timed out after {timeout:?} waiting for {what}")));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
