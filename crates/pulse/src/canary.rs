//! The stall detector's canaries: one thread per CPU pulse may run on,
//! pinned to it at `SCHED_RR` above the loop (`crate::sys`), each sleeping
//! [`PERIOD`] on `CLOCK_MONOTONIC` and publishing, through atomics, when it
//! last woke late and by how much: a ring of its recent gaps (from when it
//! was due to when it woke) and the start of its current sleep.
//!
//! A canary can be late only when its CPU ran nothing of pulse's: being
//! above the loop and pinned, nothing pulse does delays it. So when the
//! loop's turn is long and the canary of the CPU the loop was on (or every
//! canary) was late over the same time, that CPU was not running (a
//! virtual CPU its host did not schedule, a stopped process): a pause of
//! the machine under the loop, not a stall of pulse's (`crate::stall`).
//!
//! Each canary writes its figures under a sequence lock (odd while it
//! writes); the loop reads them without waiting, only after a turn over
//! the threshold, and treats a torn read it cannot repeat as no evidence
//! (a stall).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::time::{clock_nanosleep, ClockId, ClockNanosleepFlags};

use crate::stall::Gap;

/// How long a canary sleeps between wake-ups.
pub const PERIOD: Duration = Duration::from_millis(5);

/// A wake-up later than this is recorded as a gap; shorter ones are the
/// timer's ordinary latency.
pub const MIN_GAP: Duration = Duration::from_millis(1);

/// Gaps kept per canary: the newest, enough for any turn read right after
/// it ends.
const RING: usize = 32;

/// No sleep published yet.
const NEVER: u64 = u64::MAX;

/// One canary's figures, in nanoseconds since [`Canaries`]' epoch.
#[derive(Debug)]
struct Shared {
    /// The sequence lock: odd while the canary writes.
    seq: AtomicU64,
    /// When its current sleep began.
    since: AtomicU64,
    /// Gaps recorded so far; the newest is at `(count - 1) % RING`.
    count: AtomicU64,
    gaps: [[AtomicU64; 2]; RING],
}

impl Shared {
    fn new() -> Shared {
        Shared {
            seq: AtomicU64::new(0),
            since: AtomicU64::new(NEVER),
            count: AtomicU64::new(0),
            gaps: std::array::from_fn(|_| [AtomicU64::new(0), AtomicU64::new(0)]),
        }
    }

    /// The canary woke at `now` (a gap if `late` says so) and sleeps again.
    fn publish(&self, late: Option<(u64, u64)>, now: u64) {
        self.seq.fetch_add(1, SeqCst);
        if let Some((from, to)) = late {
            let n = self.count.load(SeqCst);
            let slot = &self.gaps[(n % RING as u64) as usize];
            slot[0].store(from, SeqCst);
            slot[1].store(to, SeqCst);
            self.count.store(n + 1, SeqCst);
        }
        self.since.store(now, SeqCst);
        self.seq.fetch_add(1, SeqCst);
    }

    /// A consistent copy: the start of the current sleep and the gaps
    /// kept, or `None` if the canary was writing every time it was tried.
    fn read(&self) -> Option<(u64, Vec<(u64, u64)>)> {
        for _ in 0..64 {
            let before = self.seq.load(SeqCst);
            if before % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let since = self.since.load(SeqCst);
            let n = self.count.load(SeqCst);
            let kept = n.min(RING as u64);
            let gaps = (n - kept..n)
                .map(|k| {
                    let slot = &self.gaps[(k % RING as u64) as usize];
                    (slot[0].load(SeqCst), slot[1].load(SeqCst))
                })
                .collect();
            if self.seq.load(SeqCst) == before {
                return Some((since, gaps));
            }
        }
        None
    }
}

/// The running canaries, as the loop sees them.
#[derive(Debug)]
pub struct Canaries {
    epoch: Instant,
    shared: Vec<Arc<Shared>>,
    /// The CPU of each canary in `shared`.
    cpus: Vec<usize>,
    /// Every canary is pinned and real-time: their gaps can be trusted.
    trusted: bool,
    stop: Arc<AtomicBool>,
}

impl Default for Canaries {
    fn default() -> Canaries {
        Canaries::none()
    }
}

impl Canaries {
    /// No canaries: every long turn is a stall.
    pub fn none() -> Canaries {
        Canaries {
            epoch: Instant::now(),
            shared: Vec::new(),
            cpus: Vec::new(),
            trusted: false,
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Starts one canary per CPU this process may run on and waits until
    /// each has been placed and has begun its first sleep; logs how they
    /// run. Call after pulse has daemonized (threads do not survive the
    /// fork) and before the loop's first measured turn.
    pub fn start() -> Canaries {
        let mut c = Canaries::none();
        let cpus = crate::sys::allowed_cpus();
        let (tx, rx) = mpsc::channel::<Result<(), String>>();
        for &cpu in &cpus {
            let shared = Arc::new(Shared::new());
            let (me, stop, tx, epoch) =
                (Arc::clone(&shared), Arc::clone(&c.stop), tx.clone(), c.epoch);
            let spawned = std::thread::Builder::new()
                .name(format!("pulse-canary{cpu}"))
                .spawn(move || run(cpu, &me, &stop, &tx, epoch));
            match spawned {
                Ok(_) => {
                    c.shared.push(shared);
                    c.cpus.push(cpu);
                }
                Err(e) => log::warn!("cannot start the stall detector's canary on CPU {cpu}: {e}"),
            }
        }
        drop(tx);
        let mut refused = Vec::new();
        for r in rx.iter().take(c.shared.len()) {
            if let Err(e) = r {
                refused.push(e);
            }
        }
        c.trusted = !c.shared.is_empty() && c.shared.len() == cpus.len() && refused.is_empty();
        if c.trusted {
            log::info!(
                "stall detector: {} canaries (one per CPU, SCHED_RR {}) tell a pause of the machine under the loop from a stall of the loop",
                c.shared.len(),
                crate::sys::CANARY_PRIORITY
            );
        } else {
            let why = if refused.is_empty() {
                "not every CPU has one".to_owned()
            } else {
                refused.join("; ")
            };
            log::warn!(
                "stall detector: the canaries run at normal priority ({why}), so it cannot tell a pause of the machine under the loop from a stall of the loop: every turn over 50 ms counts as a stall"
            );
        }
        c
    }

    /// Where the canary of `cpu` is in the lists [`Canaries::gaps`]
    /// returns (`None`: no CPU, or none of ours).
    pub fn index_of(&self, cpu: Option<usize>) -> Option<usize> {
        self.cpus.iter().position(|&c| Some(c) == cpu)
    }

    /// Each canary's gaps that end after `from`, its current sleep as a
    /// gap up to `now` if it is overdue; `None` when the canaries cannot
    /// be trusted (then every long turn is a stall). A canary whose
    /// figures could not be read consistently has no gaps.
    pub fn gaps(&self, from: Instant, now: Instant) -> Option<Vec<Vec<Gap>>> {
        if !self.trusted {
            return None;
        }
        let at = |ns: u64| self.epoch + Duration::from_nanos(ns);
        let out = self
            .shared
            .iter()
            .map(|s| {
                let Some((since, kept)) = s.read() else { return Vec::new() };
                let mut gaps: Vec<Gap> = kept
                    .into_iter()
                    .map(|(a, b)| (at(a), at(b)))
                    .filter(|&(_, b)| b > from)
                    .collect();
                if since != NEVER {
                    let due = at(since) + PERIOD;
                    if now > due + MIN_GAP {
                        gaps.push((due, now));
                    }
                }
                gaps
            })
            .collect();
        Some(out)
    }
}

impl Drop for Canaries {
    fn drop(&mut self) {
        self.stop.store(true, SeqCst);
    }
}

/// Nanoseconds from `epoch` to `t`.
fn ns(epoch: Instant, t: Instant) -> u64 {
    u64::try_from(t.saturating_duration_since(epoch).as_nanos()).unwrap_or(NEVER - 1)
}

/// A canary's life: placed on `cpu` at real-time priority (or why not,
/// told through `placed`), then wake-ups every [`PERIOD`] until `stop`.
fn run(
    cpu: usize,
    me: &Shared,
    stop: &AtomicBool,
    placed: &mpsc::Sender<Result<(), String>>,
    epoch: Instant,
) {
    let pinned = crate::sys::pin_here(cpu).map_err(|e| format!("CPU {cpu}: pinning refused: {e}"));
    let rt = crate::sys::realtime_here(crate::sys::CANARY_PRIORITY)
        .map_err(|e| format!("CPU {cpu}: real-time scheduling refused: {e}"));
    let mut slept = Instant::now();
    me.publish(None, ns(epoch, slept));
    let _ = placed.send(pinned.and(rt));
    let period = nix::sys::time::TimeSpec::from_duration(PERIOD);
    while !stop.load(SeqCst) {
        // Relative to now; an early return (EINTR) is simply not late.
        let _ = clock_nanosleep(ClockId::CLOCK_MONOTONIC, ClockNanosleepFlags::empty(), &period);
        let woke = Instant::now();
        let due = slept + PERIOD;
        let late = (woke > due + MIN_GAP).then(|| (ns(epoch, due), ns(epoch, woke)));
        me.publish(late, ns(epoch, woke));
        slept = woke;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_the_newest_gaps_and_the_current_sleep() {
        let s = Shared::new();
        assert_eq!(s.read(), Some((NEVER, vec![])));
        s.publish(None, 5);
        for k in 0..40u64 {
            s.publish(Some((k * 10, k * 10 + 3)), k * 10 + 3);
        }
        let (since, gaps) = s.read().unwrap();
        assert_eq!(since, 393);
        assert_eq!(gaps.len(), RING);
        assert_eq!(gaps.first(), Some(&(80, 83)));
        assert_eq!(gaps.last(), Some(&(390, 393)));
    }

    #[test]
    fn an_overdue_canary_is_a_gap_up_to_now_and_untrusted_ones_say_nothing() {
        let mut c = Canaries::none();
        assert_eq!(c.gaps(c.epoch, Instant::now()), None);
        let s = Arc::new(Shared::new());
        s.publish(Some((1_000_000, 9_000_000)), 9_000_000);
        c.shared.push(Arc::clone(&s));
        c.trusted = true;
        let e = c.epoch;
        let ms = Duration::from_millis;
        // Read 100 ms after its last wake-up: due at 14 ms, overdue since.
        let g = c.gaps(e, e + ms(109)).unwrap();
        assert_eq!(g, vec![vec![(e + ms(1), e + ms(9)), (e + ms(14), e + ms(109))]]);
        // Read while it sleeps: no open gap; gaps ended before `from` left out.
        assert_eq!(c.gaps(e + ms(10), e + ms(12)).unwrap(), vec![Vec::<Gap>::new()]);
    }

    #[test]
    fn running_canaries_wake_on_time_on_an_idle_machine() {
        let c = Canaries::start();
        std::thread::sleep(Duration::from_millis(30));
        // Whether trusted depends on the test's privileges; the figures
        // are there either way.
        for s in &c.shared {
            let (since, _) = s.read().unwrap();
            assert_ne!(since, NEVER);
        }
        assert_eq!(c.shared.len(), crate::sys::allowed_cpus().len());
    }
}
