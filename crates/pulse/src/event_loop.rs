//! The IO shell: one mio loop over the heartbeat UDP sockets, a signal
//! pipe, the root-only control socket and timers. It turns what arrives
//! into `Event`s, calls the pure `Machine::step`, and carries out the
//! returned `Action`s through a `Host` (private modules of the crate).

use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lvs_daemon::{SIGCHLD, SIGHUP, SIGINT, SIGTERM};
use mio::net::UdpSocket;
use mio::{Events, Poll, Token};

use crate::canary::Canaries;
use crate::control::{self, Request};
use crate::control_server::ControlServer;
use crate::event_stream::EventStreams;
use crate::events::{EventLog, Watcher, What};
use crate::host::{CommandKind, Host};
use crate::http_server::HttpServer;
use crate::lvsd_link::{LvsdView, Mailbox};
use crate::machine::{self, Action, Event, Machine, Now};
use crate::notify::Notifier;
use crate::order::Held;
use crate::reload::Reloader;
use crate::schedstat::{Sched, SchedStat};
use crate::snapshot::{Board, Reloads, Snapshot};
use crate::stall::LoopStats;
use crate::state_file::Operator;

pub use crate::setup::{load, local_addresses, test_config, Loaded, Options, RunError};
pub use client::request;
pub use open::random_boot_id;

mod client;
mod ecmp;
mod links;
mod measure;
mod open;

use measure::running_on;

use open::{peer_targets, sharing};

const SIGNALS: Token = Token(0);
const CONTROL: Token = Token(1);
const LINKS: Token = Token(2);
/// The one waker (mio allows one per poll): the reload thread and the
/// host's spawner both wake the loop through it.
const WOKEN: Token = Token(3);
const UDP_BASE: usize = 16;
/// Control connections get tokens from here on.
const CONN_BASE: usize = 1024;

fn now() -> Now {
    Now { mono: Instant::now() }
}

/// The running daemon: machine, host and the fds it waits on.
pub struct Daemon<H: Host> {
    opts: Options,
    machine: Machine,
    host: H,
    poll: Poll,
    sockets: Vec<UdpSocket>,
    peers: Vec<(usize, SocketAddr)>,
    control: ControlServer,
    control_path: PathBuf,
    reloader: Reloader,
    /// Actions waiting for the host's VIP work before them.
    held: Held,
    stats: LoopStats,
    /// The stall detector's canaries, started with the loop.
    canaries: Canaries,
    /// The CPU the loop thread ended its last turn on (where it sleeps).
    cpu_slept: Option<usize>,
    /// The loop thread's schedstat file (opened by the loop's thread).
    sched: Option<SchedStat>,
    /// The loop thread's account just before its last sleep.
    sched_slept: Option<Sched>,
    /// When the last turn ended, and the most of its work that was its own.
    previous: Option<(Instant, Duration)>,
    /// The slowest action of the current turn, named in a stall's warning.
    slowest: Option<(&'static str, Duration)>,
    /// The slowest phase of the current turn (reading heartbeats, control,
    /// the tick...), named in a stall's warning.
    slowest_phase: Option<(&'static str, Duration)>,
    signals: lvs_daemon::Signals,
    links: Vec<(String, bool)>,
    monitor: Option<lvs_net::LinkMonitor>,
    reloads: Reloads,
    /// Where each turn's snapshot goes for the HTTP thread, when `http:`
    /// asked for a listener.
    board: Option<Board>,
    http: Option<HttpServer>,
    /// `http: listen` as configured at start.
    http_listen: Option<SocketAddr>,
    /// The operator's overrides and their file.
    operator: Operator,
    /// Where lvsd's reports arrive, read off the loop.
    lvsd_link: Option<Mailbox>,
    /// lvsd's last report as of this turn.
    lvsd_view: Option<Arc<LvsdView>>,
    /// The last few hundred events, shared with the snapshot's readers.
    events: Arc<EventLog>,
    /// What the last turn saw, to tell this turn's transitions.
    watcher: Watcher,
    /// `--control events` readers, on a thread of their own.
    event_streams: EventStreams,
    /// ECMP directors: the VIP routes this director announces.
    ecmp: Option<ecmp::Ecmp>,
}

impl<H: Host> std::fmt::Debug for Daemon<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon").field("machine", &self.machine).finish_non_exhaustive()
    }
}

fn os(what: &'static str) -> impl FnOnce(io::Error) -> RunError {
    move |source| RunError::Os { what, source }
}

impl<H: Host> Daemon<H> {
    /// Runs until SIGTERM/SIGINT has been handled, then waits for the
    /// processes being stopped.
    ///
    /// # Errors
    /// Only if the poller itself fails.
    pub fn run(mut self) -> Result<(), RunError> {
        let r = self.serve();
        if let Some(e) = &mut self.ecmp {
            e.withdraw_all(&mut self.host);
        }
        self.host.finish();
        r
    }

    /// The loop's figures so far (the stall detector's).
    pub fn loop_stats(&self) -> LoopStats {
        self.stats
    }

    /// pulse's view now.
    fn snapshot(&self) -> Snapshot {
        let taken = Instant::now();
        Snapshot {
            status: self.machine.status(taken),
            taken,
            lvsd_pid: self.host.lvsd_pid(),
            loop_stats: self.stats,
            reloads: self.reloads,
            lvsd: self.lvsd_view.clone(),
            events: Arc::clone(&self.events),
        }
    }

    /// Takes lvsd's newest report and its real-server transitions if the
    /// mailbox is free (never waits).
    fn refresh_lvsd(&mut self) {
        if let Some(Ok((view, changes))) = self.lvsd_link.as_ref().map(Mailbox::try_take) {
            self.lvsd_view = view;
            self.record(changes);
        }
    }

    /// Adds events to the log (copied first if a reader holds it).
    fn record(&mut self, events: Vec<(What, String)>) {
        if events.is_empty() {
            return;
        }
        let log = Arc::make_mut(&mut self.events);
        let now = std::time::SystemTime::now();
        for (what, reason) in events {
            log.push(what, reason, now);
        }
    }

    /// This turn's own transitions: role, peers, nanny restarts.
    fn observe(&mut self) {
        let status = self.machine.status(Instant::now());
        let lvsd = self.lvsd_view.as_ref().map(|v| (v.report.pid, v.report.nanny_restarts));
        let events = self.watcher.observe(&status, lvsd);
        self.record(events);
    }

    /// Hands the HTTP thread this turn's view (never waits for it).
    fn publish(&self) {
        if let Some(b) = &self.board {
            b.publish(self.snapshot());
        }
    }

    /// The loop: each turn sleeps until the earliest deadline (the
    /// machine's, a control connection's, the host's) or an event, and
    /// ends at [`Daemon::end_turn`].
    fn serve(&mut self) -> Result<(), RunError> {
        let mut events = Events::with_capacity(64);
        let vips = self.machine.config().vips.clone();
        // ECMP VIPs sit on a non-ARPing interface and are never announced.
        if self.ecmp.is_none() {
            self.host.prepare_announcements(&vips);
        }
        if let Some(h) = &mut self.http {
            // Here, not at bind: `prepare` runs before pulse daemonizes.
            h.serve().map_err(|source| RunError::Http { addr: h.local_addr(), source })?;
        }
        // Here, in the loop's thread, after pulse daemonized.
        match crate::sys::realtime_here(crate::sys::PRIORITY) {
            Ok(()) => log::info!("the loop runs at real-time priority (SCHED_RR {})", crate::sys::PRIORITY),
            Err(e) => log::warn!(
                "the loop runs at normal priority, so a busy router may delay heartbeats: real-time scheduling refused: {e}"
            ),
        }
        // pulse's own threads start here, before the first measured turn,
        // so that no turn pays for their start-up: the canaries, the
        // network worker (started by `prepare_announcements` above), the
        // spawner, the overrides' writer and the log's writer (at the
        // loop's priority, so that no lower one holds up a line).
        if let Err(e) = lvs_daemon::start_log_writer() {
            eprintln!("pulse: the log's writer did not start ({e}): the log is written at exit");
        }
        self.canaries = Canaries::start();
        self.sched = SchedStat::open();
        self.host.start_workers();
        self.operator.begin();
        if self.handle(Event::Start) || self.reread_links() {
            return Ok(());
        }
        // systemd: READY=1, WATCHDOG=1 and STATUS= from this loop's turns.
        let mut notifier = Notifier::from_env();
        notifier.turn(&self.machine);
        self.publish();
        loop {
            let t = Instant::now();
            let deadline = [
                self.machine.next_wakeup(t),
                self.control.next_deadline(),
                self.host.next_deadline(),
                // systemd's watchdog: the loop never sleeps past its ping.
                notifier.max_sleep().map(|d| t + d),
            ]
            .into_iter()
            .flatten()
            .min();
            let timeout = deadline.map(|w| w.saturating_duration_since(t));
            // Read last thing before the sleep, so that a wait for a CPU
            // counted at the wake-up is the wait after it (`crate::stall`).
            self.sched_slept = self.account();
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(source) => return Err(RunError::Os { what: "polling", source }),
            }
            let (woke, account, on) = (Instant::now(), self.account(), running_on());
            if self.turn(&events, woke) {
                return Ok(());
            }
            self.end_turn(deadline, woke, account, on);
            // The turn has ended: systemd hears of it.
            notifier.turn(&self.machine);
        }
    }

    /// One turn's work after a wake-up; true when the process must exit.
    /// Each phase is timed like an action, so that a stall's warning
    /// names the slowest of them all.
    fn turn(&mut self, events: &Events, now: Instant) -> bool {
        // What the host left for a later turn (the link check after a
        // takeover's announcement, SIGKILL at a grace deadline) runs
        // first, so it never shares a turn with the work that queued it.
        self.timed("host deadlines", |d| d.host.on_deadline(Instant::now()));
        self.timed("lvsd's report", Self::refresh_lvsd);
        // Heartbeats that queued up while this process was not scheduled
        // are read before anything else can judge a peer dead: a stall
        // of ours must not look like a silent peer.
        for k in 0..self.sockets.len() {
            if self.timed("reading heartbeats", |d| d.on_udp(k)) {
                return true;
            }
        }
        for ev in events.iter() {
            let exit = match ev.token() {
                SIGNALS => self.timed("signals", Self::on_signals),
                LINKS => self.timed("link events", Self::on_link_events),
                WOKEN => {
                    if self.operator.written() {
                        self.host.overrides_changed();
                    }
                    self.timed("a reload", Self::on_reloaded)
                        || self.timed("a worker's wake-up", Self::on_host_wake)
                }
                t if self.control.owns(t) => self.timed("control", |d| d.on_control(t, now)),
                Token(n) if n >= UDP_BASE && n - UDP_BASE < self.sockets.len() => false,
                Token(n) => {
                    log::warn!("event for unknown token {n}");
                    false
                }
            };
            if exit {
                return true;
            }
        }
        // Connections a burst left in the listener's backlog: a few more
        // each turn (`ControlServer::ready`), with no event to wait for.
        if let Some(listener) = self.control.backlog() {
            if self.timed("control", |d| d.on_control(listener, now)) {
                return true;
            }
        }
        self.timed("control deadlines", |d| d.control.expire(d.poll.registry(), Instant::now()));
        // What waited for VIP work that is done now.
        if self.release_held() {
            return true;
        }
        // lvsd's word on its table (a small file next to the control
        // socket): at every turn, so at least once per keepalive.
        let ready = self.timed("lvsd's ready file", |d| d.host.lvsd_ready());
        if ready != self.machine.lvsd_ready() && self.handle(Event::LvsdReady(ready)) {
            return true;
        }
        let exit = self.timed("tick", |d| d.handle(Event::Tick));
        self.timed("ECMP routes", Self::ecmp_turn);
        exit
    }

    /// ECMP: the VIP routes as fitness is now (`event_loop/ecmp.rs`).
    fn ecmp_turn(&mut self) {
        if let Some(e) = &mut self.ecmp {
            let role = self.machine.status(Instant::now()).role;
            let report = self.lvsd_view.as_ref().map(|v| &v.report);
            e.turn(&mut self.host, role, report, Instant::now());
        }
    }

    fn handle(&mut self, ev: Event) -> bool {
        let actions = self.machine.step(ev, now());
        self.execute(actions)
    }

    /// Carries out actions in the machine's order, some of them later
    /// (`crate::order`); true when the process must exit.
    fn execute(&mut self, actions: Vec<Action>) -> bool {
        let now = self.held.admit(actions, self.host.busy());
        let exit = self.carry_out(now);
        self.release_held() || exit
    }

    /// Runs what was held and may run now; true when the process must exit.
    fn release_held(&mut self) -> bool {
        let mut exit = false;
        while !self.held.is_empty() {
            let now = self.held.release(self.host.busy());
            if now.is_empty() {
                break;
            }
            exit |= self.carry_out(now);
        }
        exit
    }

    /// Carries out actions now (VIP work may be handed to the host's
    /// worker); true when the process must exit.
    fn carry_out(&mut self, actions: Vec<Action>) -> bool {
        let mut exit = false;
        for a in actions {
            let (what, began) = (crate::order::name(&a), Instant::now());
            let r = match a {
                Action::SendHeartbeat(p) => {
                    self.send(&p);
                    if let Some(v) = self.operator.due_version(Instant::now()) {
                        self.send(&v);
                    }
                    Ok(())
                }
                Action::RunActiveCmd => self.host.run_command(CommandKind::Active),
                Action::RunInactiveCmd => self.host.run_command(CommandKind::Inactive),
                Action::VipsUp(v) => self.host.vips_up(&v),
                Action::VipsDown(v) => {
                    // ECMP: the routes go first (the worker keeps the
                    // order), so the upstream stops sending before the
                    // VIPs leave `lo`.
                    if let Some(e) = &mut self.ecmp {
                        e.withdraw_all(&mut self.host);
                    }
                    self.host.vips_down(&v)
                }
                // ECMP directors never ARP for their VIPs (on `lo`).
                Action::GratuitousArp(_) if self.ecmp.is_some() => Ok(()),
                Action::GratuitousArp(v) => self.host.gratuitous_arp(&v),
                Action::StartLvsd => self.host.start_lvsd(),
                Action::StopLvsd => {
                    self.host.stop_lvsd();
                    Ok(())
                }
                Action::ReloadLvsd => {
                    self.host.reload_lvsd();
                    Ok(())
                }
                Action::SyncDaemon(role) => self.host.sync_daemon(role),
                Action::StartServices => {
                    self.host.start_services();
                    Ok(())
                }
                Action::StopServices => {
                    self.host.stop_services();
                    Ok(())
                }
                Action::ReloadConfig => {
                    let boot_id = self.machine.config().boot_id;
                    self.reloader.request(&self.opts, boot_id);
                    Ok(())
                }
                Action::Exit => {
                    exit = true;
                    Ok(())
                }
            };
            if let Err(e) = r {
                log::error!("{e}");
            }
            self.note_step(what, began.elapsed());
        }
        exit
    }

    fn send(&mut self, payload: &[u8]) {
        for (k, to) in &self.peers {
            let Some(sock) = self.sockets.get(*k) else { continue };
            if let Err(e) = sock.send_to(payload, *to) {
                log::debug!("heartbeat to {to}: {e}");
            }
        }
    }

    /// A reload read finished on its thread: apply it, or keep the
    /// running configuration.
    fn on_reloaded(&mut self) -> bool {
        let boot_id = self.machine.config().boot_id;
        match self.reloader.take(&self.opts, boot_id) {
            Some(Ok(l)) => {
                self.reloads.accepted += 1;
                self.record(vec![(
                    What::Reload { accepted: true },
                    "configuration applied".into(),
                )]);
                self.apply(l)
            }
            Some(Err(e)) => {
                self.reloads.refused += 1;
                self.record(vec![(What::Reload { accepted: false }, e.to_string())]);
                log::error!("reload refused, keeping the running configuration: {e}");
                false
            }
            None => false,
        }
    }

    fn apply(&mut self, l: Loaded) -> bool {
        let port_now = self.peers.first().map(|(_, a)| a.port());
        let bound: Vec<SocketAddr> =
            self.sockets.iter().filter_map(|s| s.local_addr().ok()).collect();
        if (Some(l.settings.heartbeat.port) != port_now && !self.peers.is_empty())
            || bound != l.bind
        {
            log::warn!("new heartbeat addresses or port take effect only after a restart");
        }
        if l.settings.http_listen != self.http_listen {
            log::warn!("a new `http: listen` takes effect only after a restart");
        }
        self.peers = peer_targets(&l.machine, port_now.unwrap_or(539), self.sockets.len());
        let mut links: Vec<(String, bool)> =
            l.machine.monitored_links.iter().map(|n| (n.clone(), true)).collect();
        for (n, up) in &mut links {
            if let Some((_, old)) = self.links.iter().find(|(o, _)| o == n) {
                *up = *old;
            }
        }
        self.links = links;
        self.host.reconfigure(l.host);
        match (&mut self.ecmp, l.settings.ecmp) {
            (Some(e), Some(s)) => e.reconfigure(s, &mut self.host),
            (None, None) => {}
            _ => log::warn!(
                "a change between ECMP and a pair or pool takes effect only after a restart"
            ),
        }
        let sharing = sharing(&l.machine);
        self.operator.reconfigure(l.catalog, l.overrides, l.me, sharing);
        if self.ecmp.is_none() {
            self.host.prepare_announcements(&l.machine.vips);
        }
        self.handle(Event::Reconfigured(Box::new(l.machine)))
    }

    fn on_host_wake(&mut self) -> bool {
        let mut exit = false;
        for (child, code) in self.host.on_wake() {
            exit |= self.handle(Event::ChildExited(child, code));
        }
        for r in self.host.service_reports() {
            exit |= self.handle(Event::Service { name: r.name, up: r.up, reason: r.reason });
        }
        exit
    }

    fn on_signals(&mut self) -> bool {
        let mut exit = false;
        // Handled in this order whatever order they came in.
        let pending = self.signals.pending();
        let fired = [SIGHUP, SIGTERM, SIGINT, SIGCHLD].into_iter().filter(|s| pending.contains(s));
        for sig in fired {
            match sig {
                SIGCHLD => {
                    for (child, code) in self.host.reap() {
                        exit |= self.handle(Event::ChildExited(child, code));
                    }
                }
                SIGHUP => {
                    exit |= self.handle(Event::Signal(machine::Signal::Reload));
                }
                s => {
                    log::info!("terminating due to signal {s}");
                    exit |= self.handle(Event::Signal(machine::Signal::Terminate));
                }
            }
        }
        exit
    }

    fn on_udp(&mut self, k: usize) -> bool {
        let mut buf = [0u8; 2048];
        loop {
            let r = self.sockets[k].recv_from(&mut buf);
            match r {
                Ok((n, from)) if crate::share::is_share(&buf[..n]) => {
                    self.on_share(k, from, &buf[..n]);
                }
                Ok((n, from)) => {
                    let data = buf[..n].to_vec();
                    if self.handle(Event::Packet { from: from.ip(), data }) {
                        return true;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    log::warn!("heartbeat socket: {e}");
                    return false;
                }
            }
        }
    }

    /// An overrides message on heartbeat socket `k`: only from a peer's
    /// address; a reply (our whole set) goes back where it came from.
    fn on_share(&mut self, k: usize, from: SocketAddr, data: &[u8]) {
        let cfg = self.machine.config();
        let peer = cfg
            .routers
            .iter()
            .enumerate()
            .find(|(i, r)| *i != cfg.me && r.addrs.contains(&from.ip()))
            .map(|(_, r)| r.name.clone());
        let Some(peer) = peer else {
            log::debug!("overrides message from {from}, not a peer: dropped");
            return;
        };
        match self.operator.on_share(data, &peer) {
            Ok(Some(reply)) => {
                if let Err(e) = self.sockets[k].send_to(&reply, from) {
                    log::debug!("overrides to {from}: {e}");
                }
            }
            Ok(None) => {}
            // A wrong key already shows in the heartbeats' rate-limited warnings.
            Err(e) => log::debug!("overrides message from {peer} ({from}) dropped: {e}"),
        }
    }

    /// Readiness on the control socket or a connection: answers every
    /// request that is complete.
    fn on_control(&mut self, token: Token, now: Instant) -> bool {
        let mut exit = false;
        for p in self.control.ready(token, self.poll.registry(), now) {
            let reply = match control::parse_request(&p.line) {
                Ok(Request::StatusText) => control::render_text(
                    &self.machine.status(Instant::now()),
                    self.host.lvsd_pid(),
                    &self.stats,
                ),
                Ok(Request::StatusJson) => control::render_json(&self.snapshot()),
                Ok(Request::Operate(r)) => self.operator.request(&r, p.uid),
                Ok(Request::Overrides) => self.operator.list(),
                Ok(Request::Events) => {
                    // Served by a thread from the board, made now if no
                    // `http:` made it at start.
                    if let Some(stream) = self.control.take(p.token, self.poll.registry()) {
                        let board = self.board.get_or_insert_with(Board::new).clone();
                        self.event_streams.add(stream, &board);
                        self.publish();
                    }
                    continue;
                }
                Ok(Request::Command(c)) => {
                    log::info!("control (uid {}): {}", p.uid, p.line.trim());
                    exit |= self.handle(Event::Control(c));
                    "ok\n".to_owned()
                }
                Err(e) => format!("error: {e}\n"),
            };
            self.control.reply(p.token, &reply, self.poll.registry());
        }
        exit
    }
}

impl<H: Host> Drop for Daemon<H> {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.control_path);
    }
}
