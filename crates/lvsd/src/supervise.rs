//! lvsd's event loop: one mio poll over the signal pipe (SIGCHLD, SIGHUP,
//! SIGTERM, SIGINT through signal-hook) and every nanny's stdout, plus a
//! one-second tick for liveness, restarts and first verdicts.
//!
//! Nothing in a turn of the loop is allowed to take long: nannies are
//! started a slice at a time between polls (a fork and exec can take a
//! third of a second on a slow machine), a resync runs in slices, and a
//! turn's work is proportional to the events it got, not to the number of
//! nannies. A nanny is judged hung by the time lvsd spent listening to it
//! (the [`Ear`]), never by time lvsd itself was busy or stalled.
//!
//! Nannies are started through [`crate::spawn`] only. What they say is
//! decoded with `nanny_api::protocol` and handed to the [`Engine`], which alone
//! changes the table.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Read};
use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant};

use mio::unix::pipe::Receiver;
use mio::{Events, Interest, Poll, Token};
use nanny_api::protocol::{self, DownMode, Message};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use signal_hook::consts::{SIGCHLD, SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use signal_hook_mio::v1_0::Signals;

use crate::engine::Engine;
use crate::kernel::Kernel;
use crate::spec::{self, NannyKey, NannyOptions, Report};

const SIGNALS: Token = Token(0);
/// The report socket to pulse (writable again); nannies count up from 1.
const REPORT: Token = Token(usize::MAX);
/// Longest line accepted from a nanny; longer ones are dropped.
const MAX_LINE: usize = 8192;
/// Wait between a nanny's death and its restart, doubled per quick death.
const BACKOFF_START: Duration = Duration::from_millis(500);
/// Longest wait before a restart.
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A nanny that lived this long had no quick death: backoff starts over.
const STABLE: Duration = Duration::from_secs(60);
/// How long stopping nannies get to say goodbye at shutdown.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// The longest a turn of the loop spends on a resync before it looks at
/// signals and nanny reports again.
const RESYNC_SLICE: Duration = Duration::from_millis(20);
/// Services whose destinations one resync step reads.
const RESYNC_STEP: usize = 8;
/// Least time between two resyncs after refused commands.
const RESYNC_AFTER_FAILURE: Duration = Duration::from_secs(2);
/// The longest a turn of the loop spends starting nannies (at least one
/// per turn) before it reads their reports again.
const START_SLICE: Duration = Duration::from_millis(20);
/// How often the connection counts of draining real servers are read.
const DRAIN_EVERY: Duration = Duration::from_millis(500);
/// How often the loop looks over every nanny for silence and first
/// verdicts (not at every event: that would make each event cost as much
/// as there are nannies).
const SCAN_EVERY: Duration = Duration::from_millis(250);
/// How often the loop waits for every child even without a SIGCHLD (a
/// safety net; deaths are normally reaped on their SIGCHLD).
const REAP_EVERY: Duration = Duration::from_secs(5);
/// The most of one turn of the loop that counts as listening: a turn
/// waits at most a second in `poll`; anything longer means lvsd was busy
/// or stalled, and nannies are not to blame for lines it did not read.
const MAX_TURN: Duration = Duration::from_secs(2);
/// Events read per `poll` call (mio returns at most this many).
const EVENTS: usize = 1024;

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

/// Why the loop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// SIGTERM or SIGINT: nannies stopped and the table removed.
    Signal(i32),
    /// A nanny died and `hard_shutdown` is set: the table was removed so
    /// that the peer router takes over.
    HardShutdown,
}

/// An error that stops lvsd.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Setting up or waiting on the poller or signals failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The kernel table could not be read at start.
    #[error(transparent)]
    Dump(#[from] crate::engine::DumpError),
}

/// The wait before restarting a nanny after `quick_deaths` deaths in a
/// row that each came less than [`STABLE`] after its start.
pub fn backoff(quick_deaths: u32) -> Duration {
    BACKOFF_START.saturating_mul(1 << quick_deaths.min(6)).min(BACKOFF_MAX)
}

fn io_err(what: &'static str) -> impl Fn(io::Error) -> Error {
    move |source| Error::Io { what, source }
}

struct Running {
    key: NannyKey,
    child: Child,
    pid: u32,
    pipe: Option<Receiver>,
    buf: Vec<u8>,
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

/// The supervisor: the engine plus the nanny processes.
pub struct Supervisor<K: Kernel> {
    /// The table keeper.
    pub engine: Engine<K>,
    poll: Poll,
    signals: Signals,
    running: HashMap<Token, Running>,
    by_key: BTreeMap<NannyKey, Token>,
    restarts: BTreeMap<NannyKey, Instant>,
    failures: BTreeMap<NannyKey, u32>,
    next_token: usize,
    config_path: PathBuf,
    nanny_opts: NannyOptions,
    last_resync: Instant,
    /// The resync in progress: when it started and the time spent on it.
    resync_clock: Option<(Instant, Duration)>,
    /// Nannies to start, a [`START_SLICE`] at a time.
    pending: BTreeSet<NannyKey>,
    /// When the current batch of starts began, and how many it started.
    start_clock: Option<(Instant, usize)>,
    /// Time spent listening, for silence.
    ear: Ear,
    next_scan: Instant,
    next_reap: Instant,
    /// A SIGCHLD came: wait for the children.
    child_exited: bool,
    /// Where readiness is told to pulse (`--ready-file`), judged at each scan.
    pub ready: Option<crate::ready::ReadyFile>,
    /// pulse's overrides file (`paths.overrides`): read at start, at
    /// reload and on SIGUSR1.
    pub overrides: Option<PathBuf>,
    /// When the drains in progress are next looked at.
    next_drain: Instant,
    /// What is told to pulse over `--report-socket`.
    watch: Option<crate::report::Watch>,
}

impl<K: Kernel> std::fmt::Debug for Supervisor<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor").field("nannies", &self.running.len()).finish()
    }
}

impl<K: Kernel> Supervisor<K> {
    /// Sets up signals and the poller; starts nothing yet.
    ///
    /// # Errors
    /// The poller or the signal handlers cannot be set up.
    pub fn new(
        engine: Engine<K>,
        config_path: PathBuf,
        nanny_opts: NannyOptions,
    ) -> Result<Self, Error> {
        let poll = Poll::new().map_err(io_err("create the poller"))?;
        let mut signals = Signals::new([SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGUSR1])
            .map_err(io_err("install signal handlers"))?;
        poll.registry()
            .register(&mut signals, SIGNALS, Interest::READABLE)
            .map_err(io_err("watch signals"))?;
        Ok(Supervisor {
            engine,
            poll,
            signals,
            running: HashMap::new(),
            by_key: BTreeMap::new(),
            restarts: BTreeMap::new(),
            failures: BTreeMap::new(),
            next_token: 1,
            config_path,
            nanny_opts,
            last_resync: Instant::now(),
            resync_clock: None,
            pending: BTreeSet::new(),
            start_clock: None,
            ear: Ear::new(Instant::now()),
            next_scan: Instant::now(),
            next_reap: Instant::now() + REAP_EVERY,
            child_exited: false,
            ready: None,
            overrides: None,
            next_drain: Instant::now(),
            watch: None,
        })
    }

    /// Reports health, reasons and counters to pulse's socket at `path`.
    pub fn report_to(&mut self, path: PathBuf) {
        self.watch = Some(crate::report::Watch::new(path, REPORT, Instant::now()));
    }

    /// Reconciles the table, starts the nannies and runs until a signal
    /// (or a nanny death under `hard_shutdown`) ends it.
    ///
    /// # Errors
    /// The kernel table cannot be read at start, or the poller fails.
    pub fn run(&mut self) -> Result<Exit, Error> {
        if let Some(file) = self.read_overrides() {
            for line in self.engine.ops.sync_overrides(&self.engine.spec, &file, Instant::now()) {
                log::info!("start: {line}");
            }
        }
        let n = self.engine.sync()?;
        log::info!(
            "start: table reconciled with {} ({} services, {} real servers in the kernel), {n} IPVS commands",
            self.config_path.display(),
            self.engine.observed.services.len(),
            self.engine.observed.dest_count()
        );
        self.queue_starts(self.engine.spec.nannies.keys().cloned().collect());
        let mut events = Events::with_capacity(EVENTS);
        let mut readable = Vec::new();
        loop {
            // Starts and a resync in progress get the loop's idle time:
            // look at what is ready, but do not wait.
            let timeout = if self.engine.resync.is_some() || !self.pending.is_empty() {
                Duration::ZERO
            } else {
                self.next_timeout()
            };
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(Error::Io { what: "wait for events", source: e });
            }
            self.ear.turn(Instant::now());
            let mut sigs = Vec::new();
            readable.clear();
            for ev in events.iter() {
                match ev.token() {
                    SIGNALS => sigs.extend(self.signals.pending()),
                    // The report socket is written at the end of the turn.
                    REPORT => {}
                    t => readable.push(t),
                }
            }
            for &t in &readable {
                self.read_nanny(t);
            }
            for s in sigs {
                match s {
                    SIGHUP => self.reload(),
                    SIGUSR1 => self.apply_overrides("SIGUSR1"),
                    SIGTERM | SIGINT => {
                        log::info!("shutting down due to signal {s}");
                        self.shutdown();
                        return Ok(Exit::Signal(s));
                    }
                    SIGCHLD => self.child_exited = true,
                    _ => {}
                }
            }
            let now = Instant::now();
            if self.child_exited || now >= self.next_reap {
                self.child_exited = false;
                self.next_reap = now + REAP_EVERY;
                if let Some(exit) = self.reap() {
                    return Ok(exit);
                }
            }
            self.tick();
            self.start_slice();
            self.resync_slice();
            if let Some(w) = &mut self.watch {
                w.turn(&mut self.engine, self.poll.registry());
            }
        }
    }

    /// Queues nannies to start in [`START_SLICE`]s between polls.
    fn queue_starts(&mut self, keys: Vec<NannyKey>) {
        if keys.is_empty() {
            return;
        }
        if self.start_clock.is_none() {
            self.start_clock = Some((Instant::now(), 0));
        }
        self.pending.extend(keys);
    }

    /// Starts queued nannies for at most [`START_SLICE`] (at least one).
    fn start_slice(&mut self) {
        let t0 = Instant::now();
        let mut started = 0;
        while let Some(k) = self.pending.pop_first() {
            if self.engine.spec.nannies.contains_key(&k)
                && !self.by_key.contains_key(&k)
                && !self.restarts.contains_key(&k)
            {
                self.start(&k);
                started += 1;
                if t0.elapsed() >= START_SLICE {
                    break;
                }
            }
        }
        if let Some((since, n)) = self.start_clock.as_mut() {
            *n += started;
            if self.pending.is_empty() {
                log::info!(
                    "{n} nannies started in {:.1} s, {} running",
                    since.elapsed().as_secs_f64(),
                    self.running.len()
                );
                self.start_clock = None;
            }
        }
    }

    /// Works on the resync in progress for at most [`RESYNC_SLICE`], in
    /// steps of [`RESYNC_STEP`] services; logs a summary when it ends.
    fn resync_slice(&mut self) {
        if self.engine.resync.is_none() {
            self.resync_clock = None;
            return;
        }
        let started = Instant::now();
        let (since, busy) = *self.resync_clock.get_or_insert((started, Duration::ZERO));
        let outcome = loop {
            match self.engine.resync_step(RESYNC_STEP) {
                Ok(None) if self.engine.resync.is_some() && started.elapsed() < RESYNC_SLICE => {}
                other => break other,
            }
        };
        let busy = busy + started.elapsed();
        self.resync_clock = Some((since, busy));
        match outcome {
            Ok(None) => {}
            Ok(Some(r)) => {
                self.resync_clock = None;
                let restored = if r.commands > 0 { " (restored what drifted)" } else { "" };
                log::info!(
                    "resync after {}: read {} services and {} real servers in {} requests, {} IPVS commands; {:.3} s of work over {:.3} s{restored}",
                    r.why,
                    r.services_read,
                    r.dests_read,
                    r.reads,
                    r.commands,
                    busy.as_secs_f64(),
                    since.elapsed().as_secs_f64()
                );
            }
            Err(e) => {
                self.resync_clock = None;
                log::error!("resync: {e}; will retry");
            }
        }
    }

    fn next_timeout(&self) -> Duration {
        let now = Instant::now();
        let drain = self.engine.draining().then_some(self.next_drain);
        let soonest = self
            .restarts
            .values()
            .copied()
            .chain(drain)
            .min()
            .map(|t| t.saturating_duration_since(now));
        soonest.unwrap_or(Duration::from_secs(1)).min(Duration::from_secs(1))
    }

    /// Starts (or restarts) the nanny of `key`.
    fn start(&mut self, key: &NannyKey) {
        self.restarts.remove(key);
        // A server already in at full weight need not slow-start again
        // (lvsd restart, nanny restart): nothing changes for its clients.
        let extra: &[&str] = if self.engine.all_up(key) { &["--no-slow-start"] } else { &[] };
        let mut child = match crate::spawn::nanny(key, extra) {
            Ok(c) => c,
            Err(e) => {
                log::error!("cannot start nanny {}: {e}", key.display());
                self.schedule_restart(key, None);
                return;
            }
        };
        let pid = child.id();
        let token = Token(self.next_token);
        self.next_token += 1;
        let pipe = child.stdout.take().map(Receiver::from).and_then(|mut p| {
            let ok = p
                .set_nonblocking(true)
                .and_then(|()| self.poll.registry().register(&mut p, token, Interest::READABLE));
            match ok {
                Ok(()) => Some(p),
                Err(e) => {
                    log::error!("cannot watch nanny {pid}'s output: {e}");
                    None
                }
            }
        });
        let server = self.engine.spec.nannies.get(key).map(|n| n.server.to_string());
        log::info!(
            "started nanny for {} as pid {pid}{}",
            server.unwrap_or_default(),
            if extra.is_empty() { "" } else { " (server already in: no slow start)" }
        );
        log::debug!("nanny {pid}: {}", key.display());
        let now = Instant::now();
        self.by_key.insert(key.clone(), token);
        self.running.insert(
            token,
            Running {
                key: key.clone(),
                child,
                pid,
                pipe,
                buf: Vec::new(),
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

    fn schedule_restart(&mut self, key: &NannyKey, lived: Option<Duration>) {
        let f = self.failures.entry(key.clone()).or_insert(0);
        if lived.is_some_and(|l| l >= STABLE) {
            *f = 0;
        }
        let delay = backoff(*f);
        *f = f.saturating_add(1);
        log::info!("restarting nanny for {} in {:.1} s", self.server_of(key), delay.as_secs_f64());
        self.restarts.insert(key.clone(), Instant::now() + delay);
    }

    fn server_of(&self, key: &NannyKey) -> String {
        self.engine.spec.nannies.get(key).map(|n| n.server.to_string()).unwrap_or_default()
    }

    fn read_nanny(&mut self, token: Token) {
        let Some(r) = self.running.get_mut(&token) else { return };
        let mut lines = Vec::new();
        let mut eof = false;
        if let Some(pipe) = r.pipe.as_mut() {
            let mut chunk = [0u8; 4096];
            loop {
                match pipe.read(&mut chunk) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(n) => r.buf.extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        log::warn!("nanny {}: reading its output: {e}", r.pid);
                        eof = true;
                        break;
                    }
                }
            }
        }
        while let Some(i) = r.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = r.buf.drain(..=i).collect();
            lines.push(String::from_utf8_lossy(&line[..i]).into_owned());
        }
        if r.buf.len() > MAX_LINE {
            log::warn!("nanny {}: line longer than {MAX_LINE} bytes dropped", r.pid);
            r.buf.clear();
        }
        if eof {
            if let Some(mut p) = r.pipe.take() {
                let _ = self.poll.registry().deregister(&mut p);
            }
        }
        if lines.is_empty() || r.stopping {
            return;
        }
        r.last_line = Instant::now();
        r.heard_at = self.ear.now();
        // `alive` lines (most of them) need nothing else.
        lines.retain(|l| !l.starts_with("alive "));
        if lines.is_empty() {
            return;
        }
        let (key, pid) = (r.key.clone(), r.pid);
        for line in lines {
            self.handle_line(token, &key, pid, &line);
        }
    }

    fn handle_line(&mut self, token: Token, key: &NannyKey, pid: u32, line: &str) {
        let msg = match protocol::decode(line) {
            Ok(m) => m,
            Err(e) => {
                log::warn!("nanny {pid}: undecodable line {line:?}: {e}");
                return;
            }
        };
        let verdict = match &msg {
            Message::Up { reason, .. } | Message::Weight { reason, .. } => Some((true, reason)),
            Message::Down { reason, .. } => Some((false, reason)),
            _ => None,
        };
        if let Some(w) = &mut self.watch {
            match (&msg, verdict) {
                (Message::Check { ok, took, reason }, _) => {
                    w.check(key, *ok, *took, reason, Instant::now());
                }
                (_, Some((up, reason))) => w.verdict(key, up, reason, Instant::now()),
                _ => {}
            }
        }
        let server = || self.server_of(key);
        let report = match msg {
            Message::Hello { version, alive, .. } => {
                if version != protocol::VERSION {
                    log::error!(
                        "nanny {pid} speaks protocol version {version}, not {}: killing it",
                        protocol::VERSION
                    );
                    let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
                    return;
                }
                let first = self.engine.spec.nannies.get(key).map(|n| n.first_verdict);
                if let Some(r) = self.running.get_mut(&token) {
                    r.alive = Some(alive);
                    r.verdict_by = first.map(|f| Instant::now() + f);
                }
                return;
            }
            Message::Up { weight, reason } | Message::Weight { weight, reason } => {
                log::info!("real server {} up, weight {weight}: {reason}", server());
                Report::Up(weight)
            }
            Message::Down { mode: DownMode::Remove, reason } => {
                log::info!("real server {} down, removed: {reason}", server());
                Report::Removed
            }
            Message::Down { mode: DownMode::Quiesce, reason } => {
                log::info!("real server {} down, quiesced (weight 0): {reason}", server());
                Report::Quiesced
            }
            Message::Bye { reason } => {
                log::debug!("nanny {pid} for {} says bye: {reason}", server());
                return;
            }
            Message::Alive { .. } | Message::Check { .. } | Message::Unknown { .. } => return,
        };
        if let Some(r) = self.running.get_mut(&token) {
            r.verdict_by = None;
        }
        self.engine.report(key, report);
    }

    /// Reaps exited nannies; schedules restarts, or ends lvsd under
    /// `hard_shutdown`.
    fn reap(&mut self) -> Option<Exit> {
        let mut dead = Vec::new();
        for (t, r) in &mut self.running {
            match r.child.try_wait() {
                Ok(Some(status)) => dead.push((*t, status.to_string())),
                Ok(None) => {}
                Err(e) => dead.push((*t, format!("cannot be waited for: {e}"))),
            }
        }
        for (t, status) in dead {
            // Read what it said last (a `down` before dying counts).
            self.read_nanny(t);
            let Some(mut r) = self.running.remove(&t) else { continue };
            if let Some(mut p) = r.pipe.take() {
                let _ = self.poll.registry().deregister(&mut p);
            }
            if self.by_key.get(&r.key) == Some(&t) {
                self.by_key.remove(&r.key);
            }
            if r.stopping {
                log::debug!("nanny {} stopped ({status})", r.pid);
                continue;
            }
            let server = self.server_of(&r.key);
            if self.engine.spec.hard_shutdown && !r.hung {
                log::error!(
                    "nanny {} for {server} died ({status}); hard_shutdown is set: shutting down lvs",
                    r.pid
                );
                self.shutdown();
                return Some(Exit::HardShutdown);
            }
            log::warn!(
                "nanny {} for {server} died ({status}); the table keeps its last report",
                r.pid
            );
            if self.engine.spec.nannies.contains_key(&r.key) {
                self.schedule_restart(&r.key, Some(r.started.elapsed()));
                if let Some(w) = &mut self.watch {
                    w.nanny_restarted();
                }
            }
        }
        None
    }

    /// The nannies silent for longer than their promise allows, on the
    /// [`Ear`]'s clock.
    fn silent_ones(&self) -> Vec<Token> {
        let heard = self.ear.now();
        self.running
            .iter()
            .filter(|(_, r)| {
                !r.stopping
                    && !r.hung
                    && heard.saturating_sub(r.heard_at)
                        > hung_after(r.alive.unwrap_or(spec::MAX_ALIVE))
            })
            .map(|(t, _)| *t)
            .collect()
    }

    fn tick(&mut self) {
        let now = Instant::now();
        if now >= self.next_scan {
            self.next_scan = now + SCAN_EVERY;
            self.scan(now);
        }
        let due: Vec<NannyKey> =
            self.restarts.iter().filter(|(_, t)| **t <= now).map(|(k, _)| k.clone()).collect();
        for k in due {
            self.restarts.remove(&k);
            // Started by the next slice, with the others due: many deaths
            // at once (an OOM kill, a stopped machine) must not block the
            // loop while they all restart.
            if self.engine.spec.nannies.contains_key(&k) && !self.by_key.contains_key(&k) {
                self.pending.insert(k);
            }
        }
        if now >= self.next_drain && self.engine.draining() {
            self.next_drain = now + DRAIN_EVERY;
            if let Err(e) = self.engine.drain_step(now, RESYNC_STEP) {
                log::warn!("drain: {e}");
            }
        }
        if self.engine.needs_resync
            && self.engine.resync.is_none()
            && now.duration_since(self.last_resync) > RESYNC_AFTER_FAILURE
        {
            self.last_resync = now;
            self.engine.start_resync("a refused command");
        }
    }

    /// Looks over every nanny: kills the hung ones, gives first verdicts.
    fn scan(&mut self, now: Instant) {
        // Silent nannies are hung (SIGSTOP, a stuck loop): kill them; the
        // reaper restarts them. Read what each has written first: lines
        // waiting in its pipe are lvsd's delay, not the nanny's.
        for t in self.silent_ones() {
            self.read_nanny(t);
            let heard = self.ear.now();
            let server = match self.running.get(&t) {
                Some(r) if !r.stopping && !r.hung => self.server_of(&r.key),
                _ => continue,
            };
            let Some(r) = self.running.get_mut(&t) else { continue };
            let alive = r.alive.unwrap_or(spec::MAX_ALIVE);
            let silent = heard.saturating_sub(r.heard_at);
            if silent <= hung_after(alive) {
                continue;
            }
            log::warn!(
                "nanny {} for {server} silent for {:.1} s while lvsd listened ({:.1} s since its last line; alive every {:.1} s): killing it",
                r.pid,
                silent.as_secs_f64(),
                now.saturating_duration_since(r.last_line).as_secs_f64(),
                alive.as_secs_f64()
            );
            let _ = kill(Pid::from_raw(r.pid as i32), Signal::SIGKILL);
            r.hung = true;
            self.child_exited = true;
        }
        // Servers whose nanny never reported them up are down.
        let mut verdicts = Vec::new();
        for r in self.running.values_mut() {
            if r.verdict_by.is_some_and(|t| t <= now) {
                r.verdict_by = None;
                verdicts.push(r.key.clone());
            }
        }
        for key in verdicts {
            if self.engine.reports.get(&key) != Some(&Report::Removed) {
                let server = self.server_of(&key);
                log::info!("real server {server} not reported up since its nanny started: down");
                if let Some(w) = &mut self.watch {
                    w.verdict(&key, false, "not reported up since its nanny started", now);
                }
                self.engine.report(&key, Report::Removed);
            }
        }
        if let Some(f) = &mut self.ready {
            f.set(crate::ready::complete(&self.engine.spec.nannies, &self.engine.reports));
        }
    }

    fn stop(&mut self, token: Token) {
        if let Some(r) = self.running.get_mut(&token) {
            r.stopping = true;
            let _ = kill(Pid::from_raw(r.pid as i32), Signal::SIGTERM);
        }
    }

    /// SIGHUP: read and validate the configuration; on any error keep the
    /// running one. Otherwise apply the difference, restart only the
    /// nannies whose command line changed.
    fn reload(&mut self) {
        let path = self.config_path.clone();
        log::info!("reload: reading {}", path.display());
        let t0 = Instant::now();
        let faults_before = minor_faults();
        let (config, diags) = lvs_config::load_file(&path);
        let parse = t0.elapsed();
        // Pages the parse had to get from the kernel: what makes it slow
        // in a VM when freed memory is not reused (see `sys`).
        let faults = match (faults_before, minor_faults()) {
            (Some(a), Some(b)) => b.saturating_sub(a).to_string(),
            _ => "?".to_owned(),
        };
        let Some(config) = config else {
            log::error!("reload: {} has errors; keeping the running configuration", path.display());
            for d in &diags {
                log::error!("reload: {d}");
            }
            return;
        };
        for d in &diags {
            log::warn!("reload: {d}");
        }
        if config.service == lvs_config::ServiceMode::Fos {
            log::error!("reload: {} asks for service = fos; lvsd runs LVS only; keeping the running configuration", path.display());
            return;
        }
        let t1 = Instant::now();
        let new = spec::build(&config, self.nanny_opts);
        let build = t1.elapsed();
        for w in &new.warnings {
            log::warn!("{w}");
        }
        let gone: Vec<(NannyKey, Token)> = self
            .by_key
            .iter()
            .filter(|(k, _)| !new.nannies.contains_key(*k))
            .map(|(k, t)| (k.clone(), *t))
            .collect();
        for (k, t) in &gone {
            log::info!("reload: stopping nanny for {}", self.server_of(k));
            self.stop(*t);
            self.by_key.remove(k);
        }
        self.restarts.retain(|k, _| new.nannies.contains_key(k));
        self.failures.retain(|k, _| new.nannies.contains_key(k));
        self.pending.retain(|k| new.nannies.contains_key(k));
        let fresh: Vec<NannyKey> = new
            .nannies
            .keys()
            .filter(|k| !self.by_key.contains_key(*k) && !self.restarts.contains_key(*k))
            .cloned()
            .collect();
        let kept = new.nannies.len() - fresh.len();
        if let Some(limit) = crate::limits::nofile() {
            if let Some(m) = crate::limits::shortfall(new.nannies.len(), limit) {
                log::error!("reload: {m}");
            }
        }
        let stats = self.engine.reload(new);
        let t2 = Instant::now();
        if self.overrides.is_some() {
            self.overrides = Some(config.paths.overrides.clone());
        }
        self.apply_overrides("reload");
        let n_fresh = fresh.len();
        // Started between polls, so that the running nannies are heard.
        self.queue_starts(fresh);
        drop(config); // after the commands: freeing a large model takes a while
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        log::info!(
            "reload: {} IPVS commands (total {}); nannies: {} stopped, {n_fresh} started, {kept} kept; \
             commands sent {:.1} ms after reading began (read and parse {:.1} ms with {faults} page faults, spec {:.1} ms, plan {:.1} ms, apply {:.1} ms); \
             a resync of the kernel table follows",
            stats.commands,
            self.engine.commands_sent,
            gone.len(),
            ms(t2 - t0),
            ms(parse),
            ms(build),
            ms(stats.plan),
            ms(stats.apply),
        );
        self.last_resync = Instant::now();
        self.resync_clock = None;
    }

    /// Reads pulse's overrides file, bounded and never blocking
    /// (`lvs_config::read_file`); `None` (logged) when there is none to
    /// read or it is bad: the overrides in force stay, nothing is half
    /// applied.
    fn read_overrides(&self) -> Option<lvs_config::overrides::Overrides> {
        let path = self.overrides.as_ref()?;
        match lvs_config::overrides::read(path) {
            Ok(o) => Some(o),
            Err(e) => {
                log::error!("overrides: {e}; keeping the overrides in force");
                None
            }
        }
    }

    /// Re-reads the overrides and changes what they touch.
    fn apply_overrides(&mut self, why: &str) {
        if let Some(file) = self.read_overrides() {
            let n = self.engine.set_overrides(&file, Instant::now());
            log::info!(
                "overrides ({why}): generation {} from {}, {} entries, {n} IPVS commands",
                file.generation,
                if file.origin.is_empty() { "nobody" } else { &file.origin },
                file.entries.len()
            );
            self.next_drain = Instant::now();
        }
    }

    /// Stops every nanny (SIGTERM, then SIGKILL after a grace period) and
    /// removes the services lvsd keeps.
    fn shutdown(&mut self) {
        self.pending.clear();
        let tokens: Vec<Token> = self.running.keys().copied().collect();
        for t in tokens {
            self.stop(t);
        }
        let deadline = Instant::now() + STOP_GRACE;
        while !self.running.is_empty() && Instant::now() < deadline {
            self.running.retain(|_, r| !matches!(r.child.try_wait(), Ok(Some(_)) | Err(_)));
            std::thread::sleep(Duration::from_millis(20));
        }
        for r in self.running.values_mut() {
            let _ = r.child.kill();
            let _ = r.child.wait();
        }
        self.running.clear();
        let n = self.engine.teardown();
        log::info!("shutdown: nannies stopped, {n} services removed");
    }
}

/// Minor page faults of lvsd so far (`/proc/self/stat`, field 10).
fn minor_faults() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold blanks: count from after it.
    let after = &text[text.rfind(')')? + 1..];
    after.split_whitespace().nth(7)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stalled_loop_does_not_count_as_listening() {
        let t0 = Instant::now();
        let mut ear = Ear::new(t0);
        let s = Duration::from_secs;
        // Turns of a second each: all of it counts.
        for i in 1..=10 {
            assert_eq!(ear.turn(t0 + s(i)), s(i));
        }
        // The loop stalls for five minutes (starting nannies, a slow
        // kernel): only MAX_TURN of it counts.
        assert_eq!(ear.turn(t0 + s(310)), s(10) + MAX_TURN);
        // A nanny that wrote its last line at 9 s with alive lines every
        // 5 s is not hung now, though 301 s of wall time passed...
        let last = s(9);
        assert!(ear.now() - last <= hung_after(s(5)));
        // ...but is once lvsd has listened for 16 s more without a line.
        for i in 311..=323 {
            ear.turn(t0 + s(i));
        }
        assert_eq!(ear.now() - last, hung_after(s(5)));
        ear.turn(t0 + s(325));
        assert!(ear.now() - last > hung_after(s(5)));
        // A clock that goes back is ignored.
        let before = ear.now();
        assert_eq!(ear.turn(t0 + s(100)), before);
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let waits: Vec<u64> = (0..9).map(|n| backoff(n).as_millis() as u64).collect();
        assert_eq!(waits, vec![500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    }
}
