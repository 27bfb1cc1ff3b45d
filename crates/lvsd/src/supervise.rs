//! lvsd's event loop: one mio poll over the signals (SIGCHLD, SIGHUP,
//! SIGTERM, SIGINT, SIGUSR1 through `lvs_daemon::Signals`) and every
//! nanny's stdout, plus a one-second tick for liveness, restarts and first
//! verdicts. Nannies are stopped through `lvs_daemon::Stopping` (SIGTERM,
//! SIGKILL after [`STOP_GRACE`], reaped on SIGCHLD), never waited for in a
//! turn.
//!
//! Nothing in a turn of the loop is allowed to take long: nannies are
//! started a slice at a time between polls (a fork and exec can take a
//! third of a second on a slow machine), a resync runs in slices, and a
//! turn's work is proportional to the events it got, not to the number of
//! nannies. A nanny is judged hung by the time lvsd spent listening to it
//! (the [`Ear`]), never by time lvsd itself was busy or stalled.
//!
//! Nannies are started through [`crate::spawn`] only. What they say is
//! framed into lines (`supervise/lines.rs`), decoded with
//! `nanny_api::protocol` and handed to the [`Engine`], which alone changes the
//! table. When to restart, kill or give up on a nanny is decided by the
//! pure [`Policy`]; this module only carries its actions out. The reload
//! is in `supervise/reload.rs`, the work done in slices between polls in
//! `supervise/slices.rs`.

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Read};
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use lvs_daemon::{Child, Signals, Stopping, SIGCHLD, SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use mio::unix::pipe::Receiver;
use mio::{Events, Interest, Poll, Token};
use nanny_api::protocol::{self, DownMode, Message};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::engine::Engine;
use crate::policy::{Action, Event, Policy};
use crate::spec::{NannyKey, NannyOptions, Report};
use ipvs::IpvsTable;

mod lines;
mod reload;
mod slices;

use lines::{LineBuf, MAX_LINE};

const SIGNALS: Token = Token(0);
/// The report socket to pulse (writable again); nannies count up from 1.
const REPORT: Token = Token(usize::MAX);
/// How long a nanny being stopped gets to say goodbye before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(3);
/// Services whose destinations one resync step reads.
const RESYNC_STEP: usize = 8;
/// Least time between two resyncs after refused commands.
const RESYNC_AFTER_FAILURE: Duration = Duration::from_secs(2);
/// How often the connection counts of draining real servers are read.
const DRAIN_EVERY: Duration = Duration::from_millis(500);
/// How often the loop looks over every nanny for silence and first
/// verdicts (not at every event: that would make each event cost as much
/// as there are nannies).
const SCAN_EVERY: Duration = Duration::from_millis(250);
/// How often the loop waits for every child even without a SIGCHLD (a
/// safety net; deaths are normally reaped on their SIGCHLD).
const REAP_EVERY: Duration = Duration::from_secs(5);
/// Events read per `poll` call (mio returns at most this many).
const EVENTS: usize = 1024;

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

fn io_err(what: &'static str) -> impl Fn(io::Error) -> Error {
    move |source| Error::Io { what, source }
}

/// A nanny's process: running, or being stopped.
enum Proc {
    Up(Child),
    Stopping(Stopping),
}

impl Proc {
    /// SIGTERM now, SIGKILL after [`STOP_GRACE`].
    fn stop(self, now: Instant) -> Proc {
        match self {
            Proc::Up(c) => Proc::Stopping(Stopping::start(c, STOP_GRACE, now)),
            s @ Proc::Stopping(_) => s,
        }
    }

    /// Its exit status once it has exited (reaped then); never blocks.
    fn poll(&mut self, now: Instant) -> io::Result<Option<ExitStatus>> {
        match self {
            Proc::Up(c) => c.try_wait(),
            Proc::Stopping(s) => s.poll(now),
        }
    }

    fn deadline(&self) -> Option<Instant> {
        match self {
            Proc::Up(_) => None,
            Proc::Stopping(s) => s.deadline(),
        }
    }
}

/// A nanny's process and its pipe (the policy keeps the rest).
struct Running {
    key: NannyKey,
    proc: Proc,
    pid: u32,
    pipe: Option<Receiver>,
    lines: LineBuf,
}

/// The supervisor: the engine plus the nanny processes.
pub struct Supervisor<K: IpvsTable> {
    /// The table keeper.
    pub engine: Engine<K>,
    poll: Poll,
    signals: Signals,
    running: HashMap<Token, Running>,
    /// Restarts, silence and first verdicts.
    policy: Policy,
    next_token: usize,
    config_path: PathBuf,
    nanny_opts: NannyOptions,
    last_resync: Instant,
    /// The resync in progress: when it started and the time spent on it.
    resync_clock: Option<(Instant, Duration)>,
    /// Nannies to start, a slice at a time (`slices.rs`).
    pending: BTreeSet<NannyKey>,
    /// When the current batch of starts began, and how many it started.
    start_clock: Option<(Instant, usize)>,
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
    /// The nannies being stopped (a few, at a reload): their SIGKILL
    /// deadlines are looked at without a walk over every nanny.
    stopping: BTreeSet<Token>,
}

impl<K: IpvsTable> std::fmt::Debug for Supervisor<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor").field("nannies", &self.running.len()).finish()
    }
}

impl<K: IpvsTable> Supervisor<K> {
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
        let signals =
            Signals::new(&[SIGCHLD, SIGHUP, SIGTERM, SIGINT, SIGUSR1], poll.registry(), SIGNALS)
                .map_err(io_err("install signal handlers"))?;
        Ok(Supervisor {
            engine,
            poll,
            signals,
            running: HashMap::new(),
            policy: Policy::new(Instant::now()),
            next_token: 1,
            config_path,
            nanny_opts,
            last_resync: Instant::now(),
            resync_clock: None,
            pending: BTreeSet::new(),
            start_clock: None,
            next_scan: Instant::now(),
            next_reap: Instant::now() + REAP_EVERY,
            child_exited: false,
            ready: None,
            overrides: None,
            next_drain: Instant::now(),
            watch: None,
            stopping: BTreeSet::new(),
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
        // Before the nannies: checks through the data path need
        // `accept_local`.
        crate::host::apply(&self.engine.spec.host, None);
        let both = self.engine.spec.host.sync_both.clone();
        for m in self.engine.sync_daemons(both.as_ref(), None) {
            log::error!("start: {m}");
        }
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
            self.feed(Event::Woke, Instant::now());
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
            let stop_due = self.next_stop().is_some_and(|t| t <= now);
            if self.child_exited || stop_due || now >= self.next_reap {
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

    fn next_timeout(&self) -> Duration {
        let now = Instant::now();
        let drain = self.engine.draining().then_some(self.next_drain);
        let soonest = self
            .policy
            .next_restart()
            .into_iter()
            .chain(drain)
            .chain(self.next_stop())
            .min()
            .map(|t| t.saturating_duration_since(now));
        soonest.unwrap_or(Duration::from_secs(1)).min(Duration::from_secs(1))
    }

    /// When a nanny being stopped is due for SIGKILL.
    fn next_stop(&self) -> Option<Instant> {
        self.stopping.iter().filter_map(|t| self.running.get(t)?.proc.deadline()).min()
    }

    /// Starts (or restarts) the nanny of `key`.
    fn start(&mut self, key: &NannyKey) {
        // A server already in at full weight need not slow-start again
        // (lvsd restart, nanny restart): nothing changes for its clients.
        let extra: &[&str] = if self.engine.all_up(key) { &["--no-slow-start"] } else { &[] };
        let mut child = match crate::spawn::nanny(key, extra) {
            Ok(c) => c,
            Err(e) => {
                log::error!("cannot start nanny {}: {e}", key.display());
                let now = Instant::now();
                self.feed(Event::StartFailed(key), now);
                return;
            }
        };
        let pid = child.id();
        let token = Token(self.next_token);
        self.next_token += 1;
        let pipe = child.take_stdout().map(Receiver::from).and_then(|mut p| {
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
        self.feed(Event::Started { id: token.0, key, pid }, Instant::now());
        self.running.insert(
            token,
            Running {
                key: key.clone(),
                proc: Proc::Up(child),
                pid,
                pipe,
                lines: LineBuf::default(),
            },
        );
    }

    /// Steps the policy and carries out what it says.
    fn feed(&mut self, event: Event<'_>, now: Instant) {
        for a in self.policy.step(event, now) {
            self.carry_out(a, now);
        }
    }

    /// Carries out one of the [`Policy`]'s actions (those of an exit are
    /// the reaper's).
    fn carry_out(&mut self, action: Action, now: Instant) {
        match action {
            // Started by the next slice, with the others due: many deaths
            // at once (an OOM kill, a stopped machine) must not block the
            // loop while they all restart.
            Action::Start(k) => {
                if self.engine.spec.nannies.contains_key(&k) {
                    self.pending.insert(k);
                }
            }
            Action::Restart { key, after, after_death } => {
                log::info!(
                    "restarting nanny for {} in {:.1} s",
                    self.server_of(&key),
                    after.as_secs_f64()
                );
                if after_death {
                    if let Some(w) = &mut self.watch {
                        w.nanny_restarted();
                    }
                }
            }
            Action::Term { id, .. } => {
                if let Some(mut r) = self.running.remove(&Token(id)) {
                    r.proc = r.proc.stop(now);
                    self.running.insert(Token(id), r);
                    self.stopping.insert(Token(id));
                }
            }
            // Lines waiting in its pipe are lvsd's delay, not the nanny's:
            // read them before judging.
            Action::Listen(id) => {
                self.read_nanny(Token(id));
                self.feed(Event::Suspect(id), now);
            }
            Action::Kill { pid, key, silent, since_line, alive } => {
                log::warn!(
                    "nanny {pid} for {} silent for {:.1} s while lvsd listened ({:.1} s since its last line; alive every {:.1} s): killing it",
                    self.server_of(&key),
                    silent.as_secs_f64(),
                    since_line.as_secs_f64(),
                    alive.as_secs_f64()
                );
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
                self.child_exited = true;
            }
            Action::NoVerdict(key) => {
                if self.engine.reports.get(&key) != Some(&Report::Removed) {
                    let server = self.server_of(&key);
                    log::info!(
                        "real server {server} not reported up since its nanny started: down"
                    );
                    if let Some(w) = &mut self.watch {
                        w.verdict(&key, false, "not reported up since its nanny started", now);
                    }
                    self.engine.report(&key, Report::Removed);
                }
            }
            // Only an exit yields these, and the reaper carries them out.
            Action::Stopped { .. } | Action::Died { .. } | Action::HardShutdown { .. } => {}
        }
    }

    fn server_of(&self, key: &NannyKey) -> String {
        self.engine.spec.nannies.get(key).map(|n| n.server.to_string()).unwrap_or_default()
    }

    fn read_nanny(&mut self, token: Token) {
        let Some(r) = self.running.get_mut(&token) else { return };
        let mut eof = false;
        if let Some(pipe) = r.pipe.as_mut() {
            let mut chunk = [0u8; 4096];
            loop {
                match pipe.read(&mut chunk) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(n) => r.lines.push(&chunk[..n]),
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
        let (mut lines, dropped) = r.lines.take();
        if dropped {
            log::warn!("nanny {}: line longer than {MAX_LINE} bytes dropped", r.pid);
        }
        if eof {
            if let Some(mut p) = r.pipe.take() {
                let _ = self.poll.registry().deregister(&mut p);
            }
        }
        if lines.is_empty() || self.policy.stopping(token.0) {
            return;
        }
        let (key, pid) = (r.key.clone(), r.pid);
        self.feed(Event::Heard(token.0), Instant::now());
        // `alive` lines (most of them) need nothing else.
        lines.retain(|l| !l.starts_with("alive "));
        if lines.is_empty() {
            return;
        }
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
                let first_verdict = self.engine.spec.nannies.get(key).map(|n| n.first_verdict);
                self.feed(Event::Hello { id: token.0, alive, first_verdict }, Instant::now());
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
        self.feed(Event::Verdict(token.0), Instant::now());
        self.engine.report(key, report);
    }

    /// Reaps exited nannies; schedules restarts, or ends lvsd under
    /// `hard_shutdown`.
    fn reap(&mut self) -> Option<Exit> {
        let mut dead = Vec::new();
        let now = Instant::now();
        for (t, r) in &mut self.running {
            match r.proc.poll(now) {
                Ok(Some(status)) => dead.push((*t, status.to_string())),
                Ok(None) => {}
                Err(e) => dead.push((*t, format!("cannot be waited for: {e}"))),
            }
        }
        for (t, status) in dead {
            // Read what it said last (a `down` before dying counts).
            self.read_nanny(t);
            self.stopping.remove(&t);
            let Some(mut r) = self.running.remove(&t) else { continue };
            if let Some(mut p) = r.pipe.take() {
                let _ = self.poll.registry().deregister(&mut p);
            }
            let now = Instant::now();
            let exited = Event::Exited {
                id: t.0,
                configured: self.engine.spec.nannies.contains_key(&r.key),
                hard_shutdown: self.engine.spec.hard_shutdown,
            };
            for a in self.policy.step(exited, now) {
                match a {
                    Action::Stopped { pid } => log::debug!("nanny {pid} stopped ({status})"),
                    Action::HardShutdown { pid, key } => {
                        log::error!(
                            "nanny {pid} for {} died ({status}); hard_shutdown is set: shutting down lvs",
                            self.server_of(&key)
                        );
                        self.shutdown();
                        return Some(Exit::HardShutdown);
                    }
                    Action::Died { pid, key } => log::warn!(
                        "nanny {pid} for {} died ({status}); the table keeps its last report",
                        self.server_of(&key)
                    ),
                    other => self.carry_out(other, now),
                }
            }
        }
        None
    }

    fn tick(&mut self) {
        let now = Instant::now();
        if now >= self.next_scan {
            self.next_scan = now + SCAN_EVERY;
            self.scan(now);
        }
        self.feed(Event::Restarts, now);
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
        // reaper restarts them.
        self.feed(Event::Silence, now);
        // Servers whose nanny never reported them up are down.
        self.feed(Event::FirstVerdicts, now);
        if let Some(f) = &mut self.ready {
            f.set(crate::ready::complete(&self.engine.spec.nannies, &self.engine.reports));
        }
    }

    fn stop(&mut self, token: Token) {
        let now = Instant::now();
        self.feed(Event::Stop(token.0), now);
    }

    /// Stops every nanny (SIGTERM, then SIGKILL after a grace period) and
    /// removes the services lvsd keeps. The loop is over: this waits.
    fn shutdown(&mut self) {
        self.pending.clear();
        let tokens: Vec<Token> = self.running.keys().copied().collect();
        for t in tokens {
            self.stop(t);
        }
        let now = Instant::now();
        let mut stops: Vec<Stopping> = self
            .running
            .drain()
            .map(|(_, r)| match r.proc {
                Proc::Up(c) => Stopping::start(c, STOP_GRACE, now),
                Proc::Stopping(s) => s,
            })
            .collect();
        self.stopping.clear();
        // Driven by SIGCHLD and the SIGKILL deadlines, as in the loop.
        let mut events = Events::with_capacity(64);
        loop {
            let now = Instant::now();
            stops.retain_mut(|s| matches!(s.poll(now), Ok(None)));
            if stops.is_empty() {
                break;
            }
            let next = stops.iter().filter_map(Stopping::deadline).min();
            if let Err(e) =
                self.poll.poll(&mut events, next.map(|t| t.saturating_duration_since(now)))
            {
                if e.kind() != io::ErrorKind::Interrupted {
                    log::warn!("shutdown: waiting for nannies: {e}");
                    break;
                }
            }
            // Only SIGCHLD matters now; a second SIGTERM changes nothing.
            let _ = self.signals.pending();
        }
        let n = self.engine.teardown();
        log::info!("shutdown: nannies stopped, {n} services removed");
        let both = self.engine.spec.host.sync_both.clone();
        for m in self.engine.sync_daemons(None, both.as_ref()) {
            log::error!("shutdown: {m}");
        }
    }
}
