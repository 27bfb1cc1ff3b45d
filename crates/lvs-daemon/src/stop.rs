//! Stopping a child without blocking: SIGTERM to its process group now,
//! SIGKILL to the group once a grace period has passed, the leader reaped
//! when it has exited (its group SIGKILLed first, so nothing it forked
//! lingers). [`Stopping`] is a state machine the caller drives from its own
//! loop: call [`Stopping::poll`] when the child's pidfd is readable, on
//! SIGCHLD, or at [`Stopping::deadline`]. Only [`wait_all`], for the end of
//! a daemon's life, blocks, and it waits on the pidfds, not in a sleeping
//! loop.

use std::io;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;

use crate::Child;

/// How often a child without a pidfd is looked at again once it has been
/// SIGKILLed (kernels before 5.3 only).
pub const POLL_EVERY: Duration = Duration::from_millis(20);

/// A child being stopped.
#[derive(Debug)]
pub struct Stopping {
    child: Child,
    /// When it gets SIGKILL; `None` once sent.
    kill_at: Option<Instant>,
    /// Whether it needed SIGKILL.
    killed: bool,
    /// When to look again, for a child without a pidfd, once killed.
    look_at: Option<Instant>,
}

impl Stopping {
    /// Starts stopping `child`: SIGTERM to its group now, SIGKILL after
    /// `grace` (at once when `grace` is zero, with no SIGTERM).
    pub fn start(child: Child, grace: Duration, now: Instant) -> Stopping {
        let mut s = Stopping { child, kill_at: Some(now + grace), killed: false, look_at: None };
        if grace.is_zero() {
            s.kill(now);
        } else {
            // ESRCH: it has exited already; `poll` reaps it.
            let _ = s.child.signal_group(Signal::SIGTERM);
        }
        s
    }

    fn kill(&mut self, now: Instant) {
        let _ = self.child.signal_group(Signal::SIGKILL);
        self.kill_at = None;
        self.killed = true;
        if self.child.pidfd().is_none() {
            self.look_at = Some(now + POLL_EVERY);
        }
    }

    /// The child's pid.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The child (its pidfd, to register with a loop).
    pub fn child(&self) -> &Child {
        &self.child
    }

    /// Whether it ignored SIGTERM for the whole grace period.
    pub fn killed(&self) -> bool {
        self.killed
    }

    /// When [`Stopping::poll`] must be called even if nothing else says
    /// so: the end of the grace period, or the next look at a killed child
    /// that has no pidfd.
    pub fn deadline(&self) -> Option<Instant> {
        self.kill_at.or(self.look_at)
    }

    /// Moves the stop on by `now`: SIGKILL to the group once the grace
    /// period is over; the exit status once the child is reaped. Never
    /// blocks.
    ///
    /// # Errors
    /// The child cannot be waited for (reaped by someone else): it is gone.
    pub fn poll(&mut self, now: Instant) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.child.try_finish()? {
            return Ok(Some(status));
        }
        match self.kill_at {
            Some(at) if now >= at => self.kill(now),
            Some(_) => {}
            None => {
                if self.look_at.is_some() {
                    self.look_at = Some(now + POLL_EVERY);
                }
            }
        }
        Ok(None)
    }
}

/// Waits until every child in `stops` is reaped, SIGKILLing each at its
/// deadline: for a daemon's exit, when there is no loop left to drive
/// them. Sleeps in poll(2) on the pidfds (or [`POLL_EVERY`] without them).
/// Returns each pid with how it ended.
pub fn wait_all(mut stops: Vec<Stopping>) -> Vec<(u32, io::Result<ExitStatus>)> {
    let mut out = Vec::new();
    loop {
        let now = Instant::now();
        let mut i = 0;
        while i < stops.len() {
            match stops[i].poll(now) {
                Ok(None) => i += 1,
                Ok(Some(status)) => out.push((stops.swap_remove(i).id(), Ok(status))),
                Err(e) => out.push((stops.swap_remove(i).id(), Err(e))),
            }
        }
        if stops.is_empty() {
            return out;
        }
        let next = stops.iter().filter_map(Stopping::deadline).min();
        let all_fds = stops.iter().all(|s| s.child.pidfd().is_some());
        let wait = match next {
            Some(t) => t.saturating_duration_since(now),
            None if all_fds => Duration::from_secs(1),
            None => POLL_EVERY,
        };
        let wait = if all_fds { wait } else { wait.min(POLL_EVERY) };
        let mut fds: Vec<PollFd<'_>> = stops
            .iter()
            .filter_map(|s| s.child.pidfd())
            .map(|fd| PollFd::new(fd, PollFlags::POLLIN))
            .collect();
        let ms = u16::try_from(wait.as_millis().max(1)).unwrap_or(u16::MAX);
        // EINTR and the like: look again.
        let _ = nix::poll::poll(&mut fds, PollTimeout::from(ms));
    }
}
