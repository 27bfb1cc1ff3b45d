//! The stall detector's side of the loop: each turn's phases and actions
//! timed, the loop thread's CPU and scheduler account read at each wake-up
//! and end of turn, and the turn handed to `crate::stall` (pure) to be
//! judged a stall, a wait for a CPU or a pause of the machine under it.

use std::time::{Duration, Instant};

use crate::host::Host;
use crate::schedstat::{Sched, SchedStat};
use crate::stall::{ms, Cpus, Kind, Waited, Why};

use super::Daemon;

/// The CPU this thread runs on, for the stall detector (a vDSO call).
pub(super) fn running_on() -> Option<usize> {
    nix::sched::sched_getcpu().ok()
}

/// The calling thread's CPU time so far.
fn thread_cpu() -> Option<Duration> {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID).ok().map(Duration::from)
}

/// Keeps `what` in `slot` when it took longer than what is there.
fn keep_slowest(slot: &mut Option<(&'static str, Duration)>, what: &'static str, took: Duration) {
    if slot.is_none_or(|(_, d)| took > d) {
        *slot = Some((what, took));
    }
}

impl<H: Host> Daemon<H> {
    /// Runs one phase of a turn, keeping it as the turn's slowest phase
    /// when it took longest so far (the actions inside it are counted as
    /// steps on their own).
    pub(super) fn timed<T>(&mut self, what: &'static str, f: impl FnOnce(&mut Self) -> T) -> T {
        let began = Instant::now();
        let out = f(self);
        keep_slowest(&mut self.slowest_phase, what, began.elapsed());
        out
    }

    /// Keeps the action `what` as the turn's slowest step if it took
    /// longest so far.
    pub(super) fn note_step(&mut self, what: &'static str, took: Duration) {
        keep_slowest(&mut self.slowest, what, took);
    }

    /// The loop thread's time on a CPU and waiting for one so far: from
    /// its schedstat file, else its CPU time alone.
    /// (The CPU time is the thread clock's: schedstat's lags for a
    /// running thread.)
    pub(super) fn account(&self) -> Option<Sched> {
        let ran = thread_cpu()?;
        let waited =
            self.sched.as_ref().and_then(SchedStat::read).map_or(Duration::ZERO, |s| s.waited);
        Some(Sched { ran, waited })
    }

    /// The end of a turn that slept until `deadline` and woke at `woke`,
    /// with the thread's scheduler account `woken` then: the stall
    /// detector measures it here, and a long turn is a machine pause
    /// (info, by the canaries), a wait for a CPU (warning, by the kernel's
    /// account) or a stall (warning). The warnings split the turn into
    /// time on the CPU, time waiting for one and time blocked, and name
    /// its slowest phase and action, so that a turn that was long because
    /// the loop did not run is told from one that worked long.
    pub(super) fn end_turn(
        &mut self,
        deadline: Option<Instant>,
        woke: Instant,
        woken: Option<Sched>,
        woke_on: Option<usize>,
    ) {
        // Published before the turn is measured, so that the copy counts
        // as the turn's work (the snapshot's figures lag by one turn).
        self.timed("snapshot", |d| {
            d.observe();
            d.publish();
        });
        let slowest = self.slowest.take();
        let slowest_phase = self.slowest_phase.take();
        let canaries = &self.canaries;
        let done_on = running_on();
        let on = Cpus {
            slept: canaries.index_of(self.cpu_slept),
            woke: canaries.index_of(woke_on),
            done: canaries.index_of(done_on),
        };
        self.cpu_slept = done_on;
        let done = self.account();
        let slept = self.sched_slept;
        let late = woken.zip(slept).map(|(w, s)| w.since(s));
        let work = done.zip(woken).map(|(d, w)| d.since(w));
        let waited = |a: Option<Sched>| a.map_or(Duration::ZERO, |a| a.waited);
        let waited = Waited { late: waited(late), work: waited(work), previous: self.previous };
        let ended = Instant::now();
        let measured = self
            .stats
            .record(deadline, (woke, ended), on, waited, |from, to| canaries.gaps(from, to));
        self.previous =
            Some((ended, ended.saturating_duration_since(woke).saturating_sub(waited.work)));
        let why = |turn| Why {
            turn,
            late,
            work,
            waits_known: self.sched.is_some(),
            slowest,
            slowest_phase,
        };
        match measured {
            Some((Kind::Stall, t)) => {
                log::warn!("loop stall: {}; heartbeats were neither sent nor read meanwhile", why(t));
            }
            Some((Kind::Wait, t)) => log::warn!(
                "loop wait: {}; the loop was ready but kept from a CPU by threads of equal or higher priority for {:.1} ms of it, not a stall of pulse's",
                why(t),
                ms(t.waited)
            ),
            Some((Kind::Pause, t)) => log::info!(
                "loop pause: a turn took {:.1} ms (woke {:.1} ms late, {:.1} ms of work), {:.1} ms of it in a pause of the machine under the loop of {:.1} ms (the canary of the loop's CPU late too), not a stall of pulse's",
                ms(t.total()),
                ms(t.late),
                ms(t.work),
                ms(t.paused),
                ms(t.pause)
            ),
            None => {}
        }
    }
}
