//! The stall detector, pure (times come in as arguments): how late each
//! turn of pulse's loop woke against the deadline it slept for, plus how
//! long the turn's work took. A turn whose sum is over [`THRESHOLD`] is
//! long: the loop was not there to send or judge heartbeats for that long.
//!
//! A long turn is one of two things, told apart by the canaries
//! (`crate::canary`: a real-time thread pinned to each CPU, which wakes
//! every few milliseconds and publishes when it woke late):
//! - a **pause** of the machine under the loop: the canary of the CPU the
//!   loop was on (or every canary, when that CPU is not known) was kept
//!   from running over the turn too. A canary outranks the loop and is
//!   pinned to its CPU, so nothing the loop does can make it late: a
//!   canary late over the turn means its CPU ran nothing of pulse's (an
//!   emulated guest, a virtual machine whose host did not schedule that
//!   virtual CPU or any, a process stopped by SIGSTOP). Taken out of the
//!   turn, what is left is not over the threshold. The loop could not
//!   have done better; it is counted and logged at info.
//! - a **stall**: anything else, pulse's own fault (a blocking call, work
//!   that took long, the loop thread alone kept from a CPU that ran its
//!   canary); counted, logged at warning, and the tests assert there were
//!   none.
//!
//! A turn can also be long because the loop was runnable but waited for a
//! CPU (the kernel's account of the thread, `crate::schedstat`: another
//! thread of equal or higher priority had the CPU, or the CPU it was queued
//! on was not running). That time is not the loop's either. In the late
//! wake-up the loop slept past its deadline, then waited: the wait comes
//! out, and so does a pause over the sleep (the thread becomes runnable
//! once, so the two are apart in time). In the work the wait and a pause
//! may be the same time: the larger comes out. What is left, the loop's
//! **own** time (on the CPU, or blocked in a call), is what makes a stall. A long turn that
//! only the wait explains is a **wait**, counted and logged at warning
//! apart from stalls: it says that something outranks pulse's loop.
//!
//! Which CPU: the late wake-up is laid to the CPU the loop slept on or
//! the one it woke on (either not running delays the wake-up); the work to
//! the CPU it woke on, if it finished on the same one (a running thread
//! does not move off a CPU that is not running), else to every CPU.
//!
//! Without canaries that can be trusted (none started, or real-time
//! scheduling refused them) every long turn is a stall.

use std::time::{Duration, Instant};

/// A turn longer than this is a stall (or a machine pause).
pub const THRESHOLD: Duration = Duration::from_millis(50);

/// A time a canary was due to run and did not: from when it was due to
/// wake to when it woke (or to now, if it is still overdue).
pub type Gap = (Instant, Instant);

/// The loop's turns so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoopStats {
    /// Turns measured.
    pub turns: u64,
    /// Turns over [`THRESHOLD`] that were pulse's own: stalls.
    pub stalls: u64,
    /// Turns over [`THRESHOLD`] because the machine under the loop (its
    /// CPU, or every CPU) paused.
    pub pauses: u64,
    /// The longest turn, less the time the machine under it was paused in it
    /// (a stall's whole length).
    pub worst: Duration,
    /// The longest machine pause a turn was found in (the pause's whole
    /// length, as the canaries saw it).
    pub worst_pause: Duration,
    /// Turns over [`THRESHOLD`] because the loop, runnable, waited for a
    /// CPU (and not through a pause alone).
    pub waits: u64,
    /// The longest time such a turn waited for a CPU.
    pub worst_wait: Duration,
}

/// What a long turn was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// pulse's own fault.
    Stall,
    /// The machine under the loop (its CPU, or every CPU) was not
    /// running.
    Pause,
    /// The loop was runnable and waited for a CPU.
    Wait,
}

/// One measured turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Turn {
    /// How long after its deadline the loop woke (zero when woken early).
    pub late: Duration,
    /// How long the turn's work took.
    pub work: Duration,
    /// How much of it the loop's CPU (or every CPU) ran no canary
    /// (measured for long turns only).
    pub paused: Duration,
    /// How long the machine pauses it overlapped lasted, whole (they may
    /// have begun before the turn).
    pub pause: Duration,
    /// How much of it the loop was runnable and waited for a CPU (measured
    /// for long turns only).
    pub waited: Duration,
    /// The loop's own share: in each part the larger of the wait and the
    /// pause taken out.
    pub own: Duration,
    /// How much of the late wake-up was the previous turn running past
    /// this turn's deadline.
    pub overran: Duration,
}

/// How long the loop thread waited for a CPU, runnable, in each part of a
/// turn (from the kernel's account; zero when it keeps none), and how the
/// previous turn ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Waited {
    /// From the end of the last turn to the wake-up.
    pub late: Duration,
    /// In the work.
    pub work: Duration,
    /// When the previous turn ended, and the most of its work that can
    /// have been its own (its work less its wait): a deadline that passed
    /// while the previous turn ran makes this turn late by the rest of
    /// that turn, of which no more than this was the loop's own time.
    pub previous: Option<(Instant, Duration)>,
}

/// Where the loop thread was in a turn, as indexes into the canaries'
/// list (`None`: not known, or a CPU without a canary).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cpus {
    /// The CPU it went to sleep on (where the previous turn ended).
    pub slept: Option<usize>,
    /// The CPU it woke on.
    pub woke: Option<usize>,
    /// The CPU it finished the turn's work on.
    pub done: Option<usize>,
}

impl Turn {
    /// Lateness plus work.
    pub fn total(&self) -> Duration {
        self.late + self.work
    }
}

/// When every canary was in a gap at once, up to `to`: the intersection of
/// their gaps (not cut on the left, so a pause that began before a turn
/// shows whole). No canaries: none.
pub fn common_gaps(to: Instant, canaries: &[Vec<Gap>]) -> Vec<Gap> {
    let earliest = canaries.iter().flatten().map(|g| g.0).min().unwrap_or(to);
    let mut common: Option<Vec<Gap>> = None;
    for gaps in canaries {
        let mine = merged(earliest, to, gaps);
        common = Some(match common {
            None => mine,
            Some(c) => intersect(&c, &mine),
        });
    }
    common.unwrap_or_default()
}

/// How long, within `from..to`, every canary was in a gap at once.
#[cfg(test)]
fn paused_within(from: Instant, to: Instant, canaries: &[Vec<Gap>]) -> Duration {
    covered(from, to, &common_gaps(to, canaries))
}

/// How long the machine pauses that overlap `from..to` lasted, whole.
#[cfg(test)]
fn pauses_over(from: Instant, to: Instant, canaries: &[Vec<Gap>]) -> Duration {
    whole_over(from, to, &common_gaps(to, canaries))
}

/// How long the (joined) `gaps` that overlap `from..to` lasted, whole.
fn whole_over(from: Instant, to: Instant, gaps: &[Gap]) -> Duration {
    let earliest = gaps.iter().map(|g| g.0).min().unwrap_or(to);
    merged(earliest, to, gaps)
        .iter()
        .filter(|(_, b)| *b > from)
        .map(|(a, b)| b.saturating_duration_since(*a))
        .sum()
}

/// How long, within `from..to`, one of `gaps` was under way.
fn covered(from: Instant, to: Instant, gaps: &[Gap]) -> Duration {
    merged(from, to, gaps).iter().map(|(a, b)| b.saturating_duration_since(*a)).sum()
}

/// The gaps that held the loop back over a turn that woke at `woke`: in
/// its late wake-up (from its start to `woke`) those of the CPU it slept
/// on and of the one it woke on, in its work those of the CPU it worked
/// on when it stayed on one; every CPU's common gaps in both. Returns the
/// late wake-up's and the work's.
fn holding(on: Cpus, done: Instant, canaries: &[Vec<Gap>]) -> (Vec<Gap>, Vec<Gap>) {
    let common = common_gaps(done, canaries);
    let of = |i: Option<usize>| i.and_then(|i| canaries.get(i)).map_or(&[][..], |g| &g[..]);
    let mut late = common.clone();
    late.extend_from_slice(of(on.slept));
    late.extend_from_slice(of(on.woke));
    let mut work = common;
    if on.woke == on.done {
        work.extend_from_slice(of(on.woke));
    }
    (late, work)
}

/// `gaps` cut to `from..to`, sorted, overlaps joined.
fn merged(from: Instant, to: Instant, gaps: &[Gap]) -> Vec<Gap> {
    let mut v: Vec<Gap> =
        gaps.iter().map(|&(a, b)| (a.max(from), b.min(to))).filter(|(a, b)| a < b).collect();
    v.sort_unstable();
    let mut out: Vec<Gap> = Vec::with_capacity(v.len());
    for (a, b) in v {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// The intersection of two sorted lists of disjoint intervals.
fn intersect(x: &[Gap], y: &[Gap]) -> Vec<Gap> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while let (Some(&(a0, a1)), Some(&(b0, b1))) = (x.get(i), y.get(j)) {
        let (lo, hi) = (a0.max(b0), a1.min(b1));
        if lo < hi {
            out.push((lo, hi));
        }
        if a1 < b1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Milliseconds, for the log.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A stall as the warning tells it: the turn, split by the loop thread's
/// scheduler account into time on the CPU, time runnable but waiting for
/// a CPU (a thread of equal or higher priority had it) and time blocked
/// (neither: a blocking call or a page fault), with its slowest step.
#[derive(Clone, Copy, Debug)]
pub struct Why {
    /// The turn.
    pub turn: Turn,
    /// The account over the sleep and the late wake-up (end of the last
    /// turn to this wake-up).
    pub late: Option<crate::schedstat::Sched>,
    /// The account over the work.
    pub work: Option<crate::schedstat::Sched>,
    /// Whether the account has the waits (schedstat), not the CPU time
    /// alone.
    pub waits_known: bool,
    /// The turn's slowest action and how long it took.
    pub slowest: Option<(&'static str, Duration)>,
    /// The turn's slowest phase and how long it took.
    pub slowest_phase: Option<(&'static str, Duration)>,
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = &self.turn;
        write!(f, "a turn took {:.1} ms (woke {:.1} ms late", ms(t.total()), ms(t.late))?;
        if !t.overran.is_zero() {
            write!(
                f,
                ", {:.1} ms of it the previous turn running past the deadline",
                ms(t.overran)
            )?;
        }
        if let (Some(a), true) = (self.late, self.waits_known) {
            write!(f, ", {:.1} ms of it waiting for a CPU", ms(a.waited.min(t.late)))?;
        }
        write!(f, ", {:.1} ms of work", ms(t.work))?;
        if let Some(a) = self.work {
            write!(f, ": {:.1} ms on the CPU", ms(a.ran))?;
            if self.waits_known {
                let blocked = t.work.saturating_sub(a.ran + a.waited);
                write!(
                    f,
                    ", {:.1} ms waiting for a CPU, {:.1} ms blocked",
                    ms(a.waited),
                    ms(blocked)
                )?;
            }
        }
        if let Some((what, d)) = self.slowest_phase {
            write!(f, "; slowest phase {what} {:.1} ms", ms(d))?;
        }
        if let Some((what, d)) = self.slowest {
            write!(f, "; slowest step {what} {:.1} ms", ms(d))?;
        }
        if !t.paused.is_zero() {
            write!(f, "; the loop's CPU paused {:.1} ms of it", ms(t.paused))?;
        }
        f.write_str(")")
    }
}

impl LoopStats {
    /// Records a turn that slept until `deadline` (if any), woke at `woke`
    /// and finished its work at `done`, on the CPUs `on`, having waited
    /// `waited` for a CPU; returns it, with what it was, when it was over
    /// [`THRESHOLD`]. Only then is `canaries` asked for each canary's gaps
    /// over the turn (from its deadline, or its wake-up if earlier, to
    /// `done`); `None` when there are no canaries to trust.
    pub fn record(
        &mut self,
        deadline: Option<Instant>,
        (woke, done): (Instant, Instant),
        on: Cpus,
        waited: Waited,
        canaries: impl FnOnce(Instant, Instant) -> Option<Vec<Vec<Gap>>>,
    ) -> Option<(Kind, Turn)> {
        let late = deadline.map_or(Duration::ZERO, |d| woke.saturating_duration_since(d));
        let work = done.saturating_duration_since(woke);
        let zero = Duration::ZERO;
        let mut turn =
            Turn { late, work, paused: zero, pause: zero, waited: zero, own: zero, overran: zero };
        self.turns += 1;
        if turn.total() <= THRESHOLD {
            self.worst = self.worst.max(turn.total());
            return None;
        }
        let from = deadline.map_or(woke, |d| d.min(woke));
        // The part of the late wake-up the previous turn was still running:
        // its wait was counted in that turn's account, and no more of it
        // than that turn's own bound was the loop's own.
        let overran = waited.previous.map_or(zero, |(end, _)| end.saturating_duration_since(from));
        turn.overran = overran.min(late);
        let carried = waited.previous.map_or(zero, |(_, own)| own).min(turn.overran);
        let slept = from + turn.overran;
        // A wait counted at the wake-up may have begun before the
        // deadline (woken early, then kept from a CPU): cut to the part.
        let fresh = late - turn.overran;
        let (waited_late, waited_work) = (waited.late.min(fresh), waited.work.min(work));
        turn.waited = waited_late + waited_work;
        // A sleeping thread becomes runnable once and then waits for a
        // CPU until it wakes: before that it was asleep past its deadline,
        // which only a pause of the CPU its timer was on explains.
        let runnable = woke.checked_sub(waited_late).unwrap_or(woke).max(slept);
        let (mut paused_late, mut paused_asleep, mut paused_work) = (zero, zero, zero);
        if let Some(gaps) = canaries(from, done) {
            let (late, work) = holding(on, done, &gaps);
            paused_late = covered(from, woke, &late);
            paused_asleep = covered(slept, runnable, &late);
            paused_work = covered(woke, done, &work);
            let mut all = late;
            all.extend(work);
            turn.pause = whole_over(from, done, &all);
        }
        turn.paused = paused_late + paused_work;
        // In the late wake-up the sleep and the wait are apart in time, so
        // both come out; in the work the wait and the pause may be the
        // same time (queued on a CPU that was not running): only the larger
        // is taken out.
        turn.own = carried
            + fresh.saturating_sub(waited_late + paused_asleep)
            + work.saturating_sub(waited_work.max(paused_work));
        let kind = if turn.own > THRESHOLD {
            self.stalls += 1;
            self.worst = self.worst.max(turn.total());
            Kind::Stall
        } else if turn.paused > zero && turn.total().saturating_sub(turn.paused) <= THRESHOLD {
            self.pauses += 1;
            self.worst_pause = self.worst_pause.max(turn.pause);
            self.worst = self.worst.max(turn.own);
            Kind::Pause
        } else {
            self.waits += 1;
            self.worst_wait = self.worst_wait.max(turn.waited);
            self.worst = self.worst.max(turn.own);
            Kind::Wait
        };
        Some((kind, turn))
    }
}

#[cfg(test)]
mod tests;
