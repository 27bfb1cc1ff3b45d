//! The nanny supervision policy, pure: which nanny runs, when a dead one
//! is restarted (backoff doubling per quick death), when a silent one is
//! hung, and when a server its nanny never reported is taken as down.
//!
//! Like pulse's `machine`, it is a state machine driven by
//! [`Policy::step`]`(event, now) -> actions`: it owns no process, pipe or
//! clock, so every decision is unit-tested with injected time. The loop in
//! [`crate::supervise`] feeds it what it saw (a start, a line, an exit, a
//! scan) and carries out the [`Action`]s (signals, restarts, reports).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::spec::{self, NannyKey, NannySpec};

/// Wait between a nanny's death and its restart, doubled per quick death.
const BACKOFF_START: Duration = Duration::from_millis(500);
/// Longest wait before a restart.
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A nanny that lived this long had no quick death: backoff starts over.
const STABLE: Duration = Duration::from_secs(60);
/// The most of one turn of the loop that counts as listening: a turn
/// waits at most a second in `poll`; anything longer means lvsd was busy
/// or stalled, and nannies are not to blame for lines it did not read.
pub const MAX_TURN: Duration = Duration::from_secs(2);

/// The time lvsd spent listening to its nannies: wall time, except that
/// no turn of the loop counts for more than [`MAX_TURN`]. A nanny's
/// silence is measured on this clock, so a loop blocked (by a slow
/// kernel, a swapping machine, a debugger) never makes healthy nannies
/// look hung.
#[derive(Clone, Copy, Debug)]
pub struct Ear {
    heard: Duration,
    last: Instant,
}

impl Ear {
    /// A clock at zero.
    pub fn new(now: Instant) -> Self {
        Ear { heard: Duration::ZERO, last: now }
    }

    /// A turn of the loop came back from `poll` at `now`: counts the time
    /// since the previous turn, up to [`MAX_TURN`]. Returns the clock.
    pub fn turn(&mut self, now: Instant) -> Duration {
        let gap = now.saturating_duration_since(self.last);
        self.heard += gap.min(MAX_TURN);
        self.last = self.last.max(now);
        self.heard
    }

    /// The clock as of the last turn.
    pub fn now(&self) -> Duration {
        self.heard
    }
}

/// How long a nanny promising an `alive` line every `alive` may stay
/// silent (on the [`Ear`]'s clock) before it is taken as hung.
pub fn hung_after(alive: Duration) -> Duration {
    alive * 3 + Duration::from_secs(1)
}

/// The wait before restarting a nanny after `quick_deaths` deaths in a
/// row that each came less than a minute (`STABLE`) after its start.
pub fn backoff(quick_deaths: u32) -> Duration {
    BACKOFF_START.saturating_mul(1 << quick_deaths.min(6)).min(BACKOFF_MAX)
}

/// A running nanny, as the loop names it (its poll token's number).
pub type Id = usize;

/// What the policy knows of a running nanny.
#[derive(Clone, Debug)]
struct Nanny {
    key: NannyKey,
    pid: u32,
    started: Instant,
    last_line: Instant,
    /// The [`Ear`]'s clock at its last line (or its start).
    heard_at: Duration,
    /// Liveness period promised in the hello line.
    alive: Option<Duration>,
    /// When a server never reported is taken as down.
    verdict_by: Option<Instant>,
    /// We asked it to stop: its lines and its exit mean nothing.
    stopping: bool,
    /// We killed it for silence.
    hung: bool,
}

/// What the loop saw.
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    /// A turn of the loop came back from `poll`.
    Woke,
    /// The nanny of `key` was started as `pid`.
    Started {
        /// Its id.
        id: Id,
        /// What it runs.
        key: &'a NannyKey,
        /// Its process.
        pid: u32,
    },
    /// The nanny of `key` could not be started.
    StartFailed(&'a NannyKey),
    /// A nanny wrote lines.
    Heard(Id),
    /// A nanny said hello (in the protocol version lvsd speaks).
    Hello {
        /// Its id.
        id: Id,
        /// The liveness period it promises.
        alive: Duration,
        /// How long after the hello its server, never reported, is down.
        first_verdict: Option<Duration>,
    },
    /// A nanny gave a verdict on its server.
    Verdict(Id),
    /// A nanny's process ended (reaped).
    Exited {
        /// Its id.
        id: Id,
        /// Its key is still in the configuration.
        configured: bool,
        /// `hard_shutdown` is set.
        hard_shutdown: bool,
    },
    /// lvsd stops a nanny (reload, shutdown).
    Stop(Id),
    /// Time to look for silent nannies.
    Silence,
    /// A suspect's pipe was read once more: judge its silence.
    Suspect(Id),
    /// Time to look for servers whose first verdict is overdue.
    FirstVerdicts,
    /// Time to restart the nannies whose backoff is over.
    Restarts,
    /// A new configuration with these nannies.
    Reload(&'a BTreeMap<NannyKey, NannySpec>),
}

/// What the loop is to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start the nanny of this key (between polls).
    Start(NannyKey),
    /// Start it again after this wait; `after_death` when it died (not a
    /// failed start).
    Restart {
        /// Its key.
        key: NannyKey,
        /// The backoff.
        after: Duration,
        /// It died, rather than failed to start.
        after_death: bool,
    },
    /// Ask it to end (SIGTERM): it is no longer wanted.
    Term {
        /// Its id.
        id: Id,
        /// Its process.
        pid: u32,
        /// What it ran.
        key: NannyKey,
    },
    /// Read its pipe once more, then send [`Event::Suspect`]: it has been
    /// silent for longer than it promised.
    Listen(Id),
    /// Kill it (SIGKILL): silent while lvsd listened. The reaper restarts it.
    Kill {
        /// Its process.
        pid: u32,
        /// What it ran.
        key: NannyKey,
        /// How long lvsd listened to its silence.
        silent: Duration,
        /// Wall time since its last line.
        since_line: Duration,
        /// Its promised liveness period.
        alive: Duration,
    },
    /// Its server was not reported up in time since its hello: down.
    NoVerdict(NannyKey),
    /// A nanny lvsd asked to stop is gone.
    Stopped {
        /// Its process.
        pid: u32,
    },
    /// A nanny died on its own: the table keeps its last report.
    Died {
        /// Its process.
        pid: u32,
        /// What it ran.
        key: NannyKey,
    },
    /// A nanny died and `hard_shutdown` is set: stop everything so that
    /// the peer router takes over.
    HardShutdown {
        /// Its process.
        pid: u32,
        /// What it ran.
        key: NannyKey,
    },
}

/// The nannies' supervision state.
#[derive(Debug)]
pub struct Policy {
    ear: Ear,
    running: HashMap<Id, Nanny>,
    by_key: BTreeMap<NannyKey, Id>,
    restarts: BTreeMap<NannyKey, Instant>,
    failures: BTreeMap<NannyKey, u32>,
}

impl Policy {
    /// No nanny yet; the [`Ear`] starts at `now`.
    pub fn new(now: Instant) -> Self {
        Policy {
            ear: Ear::new(now),
            running: HashMap::new(),
            by_key: BTreeMap::new(),
            restarts: BTreeMap::new(),
            failures: BTreeMap::new(),
        }
    }

    /// Whether the nanny of `key` may be started now: none runs for it and
    /// no restart of it is waiting for its backoff.
    pub fn may_start(&self, key: &NannyKey) -> bool {
        !self.by_key.contains_key(key) && !self.restarts.contains_key(key)
    }

    /// Whether its lines are to be ignored: lvsd asked it to stop.
    pub fn stopping(&self, id: Id) -> bool {
        self.running.get(&id).is_none_or(|n| n.stopping)
    }

    /// The earliest restart waiting for its backoff.
    pub fn next_restart(&self) -> Option<Instant> {
        self.restarts.values().copied().min()
    }

    /// Feeds one event; returns what to do, in order.
    pub fn step(&mut self, event: Event<'_>, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        match event {
            Event::Woke => {
                self.ear.turn(now);
            }
            Event::Started { id, key, pid } => {
                self.restarts.remove(key);
                self.by_key.insert(key.clone(), id);
                self.running.insert(
                    id,
                    Nanny {
                        key: key.clone(),
                        pid,
                        started: now,
                        last_line: now,
                        heard_at: self.ear.now(),
                        alive: None,
                        verdict_by: None,
                        stopping: false,
                        hung: false,
                    },
                );
            }
            Event::StartFailed(key) => {
                self.restarts.remove(key);
                out.push(self.schedule_restart(key, None, now));
            }
            Event::Heard(id) => {
                let heard = self.ear.now();
                if let Some(n) = self.running.get_mut(&id).filter(|n| !n.stopping) {
                    n.last_line = now;
                    n.heard_at = heard;
                }
            }
            Event::Hello { id, alive, first_verdict } => {
                if let Some(n) = self.running.get_mut(&id) {
                    n.alive = Some(alive);
                    n.verdict_by = first_verdict.map(|f| now + f);
                }
            }
            Event::Verdict(id) => {
                if let Some(n) = self.running.get_mut(&id) {
                    n.verdict_by = None;
                }
            }
            Event::Exited { id, configured, hard_shutdown } => {
                let Some(n) = self.running.remove(&id) else { return out };
                if self.by_key.get(&n.key) == Some(&id) {
                    self.by_key.remove(&n.key);
                }
                if n.stopping {
                    out.push(Action::Stopped { pid: n.pid });
                } else if hard_shutdown && !n.hung {
                    out.push(Action::HardShutdown { pid: n.pid, key: n.key });
                } else {
                    out.push(Action::Died { pid: n.pid, key: n.key.clone() });
                    if configured {
                        let lived = now.saturating_duration_since(n.started);
                        out.push(self.schedule_restart(&n.key, Some(lived), now));
                    }
                }
            }
            Event::Stop(id) => {
                if let Some(n) = self.running.get_mut(&id) {
                    n.stopping = true;
                    out.push(Action::Term { id, pid: n.pid, key: n.key.clone() });
                }
            }
            Event::Silence => {
                let heard = self.ear.now();
                out.extend(
                    self.running
                        .iter()
                        .filter(|(_, n)| n.silent(heard).is_some())
                        .map(|(id, _)| Action::Listen(*id)),
                );
            }
            Event::Suspect(id) => {
                let heard = self.ear.now();
                if let Some(n) = self.running.get_mut(&id) {
                    if let Some(silent) = n.silent(heard) {
                        n.hung = true;
                        out.push(Action::Kill {
                            pid: n.pid,
                            key: n.key.clone(),
                            silent,
                            since_line: now.saturating_duration_since(n.last_line),
                            alive: n.alive.unwrap_or(spec::MAX_ALIVE),
                        });
                    }
                }
            }
            Event::FirstVerdicts => {
                for n in self.running.values_mut() {
                    if n.verdict_by.is_some_and(|t| t <= now) {
                        n.verdict_by = None;
                        out.push(Action::NoVerdict(n.key.clone()));
                    }
                }
            }
            Event::Restarts => {
                let due: Vec<NannyKey> = self
                    .restarts
                    .iter()
                    .filter(|(_, t)| **t <= now)
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in due {
                    self.restarts.remove(&k);
                    if !self.by_key.contains_key(&k) {
                        out.push(Action::Start(k));
                    }
                }
            }
            Event::Reload(nannies) => {
                let gone: Vec<(NannyKey, Id)> = self
                    .by_key
                    .iter()
                    .filter(|(k, _)| !nannies.contains_key(*k))
                    .map(|(k, id)| (k.clone(), *id))
                    .collect();
                for (k, id) in gone {
                    out.extend(self.step(Event::Stop(id), now));
                    self.by_key.remove(&k);
                }
                self.restarts.retain(|k, _| nannies.contains_key(k));
                self.failures.retain(|k, _| nannies.contains_key(k));
                out.extend(
                    nannies.keys().filter(|k| self.may_start(k)).cloned().map(Action::Start),
                );
            }
        }
        out
    }

    fn schedule_restart(
        &mut self,
        key: &NannyKey,
        lived: Option<Duration>,
        now: Instant,
    ) -> Action {
        let f = self.failures.entry(key.clone()).or_insert(0);
        if lived.is_some_and(|l| l >= STABLE) {
            *f = 0;
        }
        let after = backoff(*f);
        *f = f.saturating_add(1);
        self.restarts.insert(key.clone(), now + after);
        Action::Restart { key: key.clone(), after, after_death: lived.is_some() }
    }
}

impl Nanny {
    /// How long it has been silent on the [`Ear`]'s clock at `heard`, if
    /// longer than its promise allows and it is neither stopping nor
    /// already killed.
    fn silent(&self, heard: Duration) -> Option<Duration> {
        let silent = heard.saturating_sub(self.heard_at);
        (!self.stopping && !self.hung && silent > hung_after(self.alive.unwrap_or(spec::MAX_ALIVE)))
            .then_some(silent)
    }
}

#[cfg(test)]
mod tests;
