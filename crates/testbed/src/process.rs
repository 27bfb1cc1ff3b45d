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

/// What [`run_bounded`] saw of a program that finished in time.
#[derive(Debug)]
pub struct Bounded {
    /// Its status and everything it printed.
    pub output: std::process::Output,
    /// The largest resident size sampled, in KiB.
    pub peak_kib: u64,
    /// How long it ran.
    pub took: Duration,
}

/// Runs `cmd` (on the host, outside any namespace) for at most `limit`,
/// sampling its resident memory (`VmRSS`) every 5 ms: for tests that a
/// program fails fast and small on input that used to make it grow.
///
/// # Errors
/// When it cannot be started, or is still running at `limit` (it is then
/// killed; the error gives the peak resident size).
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Result<Bounded> {
    use std::io::Read;
    let t0 = Instant::now();
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| Error::Spawn { command: what.clone(), source })?;
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    let status = loop {
        if let Some(s) = child
            .try_wait()
            .map_err(|source| Error::Io { what: format!("waiting for {what}"), source })?
        {
            break s;
        }
        let rss = std::fs::read_to_string(&status_path)
            .ok()
            .and_then(|s| {
                let l = s.lines().find(|l| l.starts_with("VmRSS:"))?.to_owned();
                l.split_whitespace().nth(1)?.parse::<u64>().ok()
            })
            .unwrap_or(0);
        peak_kib = peak_kib.max(rss);
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Protocol(format!(
                "still running after {limit:?}, {peak_kib} KiB resident"
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let read = |pipe: Option<&mut dyn Read>| -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        if let Some(p) = pipe {
            p.read_to_end(&mut buf)
                .map_err(|source| Error::Io { what: format!("reading {what}'s output"), source })?;
        }
        Ok(buf)
    };
    let stdout = read(child.stdout.as_mut().map(|p| p as &mut dyn Read))?;
    let stderr = read(child.stderr.as_mut().map(|p| p as &mut dyn Read))?;
    Ok(Bounded {
        output: std::process::Output { status, stdout, stderr },
        peak_kib,
        took: t0.elapsed(),
    })
}
