//! The event loop: one thread, one mio `Poll`, timers as poll timeouts.
//! Between checks it sleeps in `epoll_wait` (an idle nanny uses no CPU),
//! waking only for the next check, the liveness line, a probe's readiness
//! or deadline, or a signal. Decisions come from the pure [`Machine`];
//! this module only turns events into its inputs and its actions into
//! [`Table`] calls.

use std::io;
use std::time::{Duration, Instant};

use lvs_daemon::{Signals, SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2};
use mio::{Events, Poll, Token};

use crate::args::Config;
use crate::probe::{Check, Outcome, Probe, DYING};
use crate::protocol::Decision;
use crate::spawn::{Dying, Running};
use crate::state::{Action, Machine, Params, Sig};
use crate::table::{Table, TableError};

const SIGNALS: Token = Token(0);
/// Tokens of the up/down hook program (Turbolinux Up/Down scripts).
const HOOK_OUT: Token = Token(5);
const HOOK_EXIT: Token = Token(6);

/// The event loop failed.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// Setting up or waiting on the poller or signals failed.
    #[error("{what}: {err}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The OS error.
        err: io::Error,
    },
    /// Reporting to lvsd failed (it is gone): nothing left to do.
    #[error(transparent)]
    Table(#[from] TableError),
}

/// What is in flight: a check or a load probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Check,
    Load,
}

struct Inflight {
    probe: Probe,
    kind: Kind,
    /// When it started: its duration is reported to lvsd.
    started: Instant,
    deadline: Instant,
}

/// The loop's mutable state, apart from the poller.
struct Daemon<'a> {
    cfg: &'a Config,
    table: &'a mut dyn Table,
    machine: Machine,
    inflight: Option<Inflight>,
    dying: Vec<Dying>,
    next_check: Option<Instant>,
    load_pending: bool,
    /// The up/down hook running, and its deadline.
    hook: Option<(Running, Instant)>,
}

/// Runs a nanny until SIGTERM/SIGINT (returns `Ok`) or a fatal error.
pub fn run(cfg: &Config, table: &mut dyn Table) -> Result<(), DaemonError> {
    let io_err = |what| move |err| DaemonError::Io { what, err };
    let mut poll = Poll::new().map_err(io_err("create poller"))?;
    let mut signals =
        Signals::new(&[SIGUSR1, SIGUSR2, SIGHUP, SIGTERM, SIGINT], poll.registry(), SIGNALS)
            .map_err(io_err("install signal handlers"))?;
    let mut events = Events::with_capacity(16);
    for note in &cfg.notes {
        log::info!("{note}");
    }
    log::info!("starting LVS client monitor for {} ({})", cfg.server, kind_name(&cfg.check));
    let mut d = Daemon {
        cfg,
        table,
        machine: Machine::new(Params {
            interval: cfg.interval,
            reentry: cfg.reentry,
            retries: cfg.retries,
            weight: cfg.weight,
            scale: cfg.scale,
            quiesce: cfg.quiesce,
            slow_start: cfg.slow_start,
            load_monitor: cfg.load.is_some(),
            adjust: cfg.adjust,
        }),
        inflight: None,
        dying: Vec::new(),
        next_check: Some(Instant::now()),
        load_pending: false,
        hook: None,
    };
    let mut next_alive = Instant::now() + cfg.alive;
    loop {
        if d.start_due(&poll)? {
            return Ok(());
        }
        // Sleep until the earliest timer.
        let mut wake = next_alive;
        if let Some((_, t)) = &d.hook {
            wake = wake.min(*t);
        }
        match &d.inflight {
            Some(f) => wake = wake.min(f.deadline),
            None => {
                if let Some(t) = d.next_check.filter(|_| !d.machine.frozen()) {
                    wake = wake.min(t);
                }
            }
        }
        let timeout = wake.saturating_duration_since(Instant::now());
        match poll.poll(&mut events, Some(timeout)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err("wait for events")(e)),
        }
        let mut done: Option<(Kind, Instant, Outcome)> = None;
        let mut sigs = Vec::new();
        for ev in events.iter() {
            match ev.token() {
                SIGNALS => sigs.extend(signals.pending()),
                DYING => d.dying.retain_mut(|x| !x.try_reap(poll.registry())),
                HOOK_OUT | HOOK_EXIT => d.hook_event(ev.token(), &poll),
                token => {
                    if let Some(f) = d.inflight.as_mut().filter(|_| done.is_none()) {
                        if let Some(o) = f.probe.on_event(token, poll.registry()) {
                            done = Some((f.kind, f.started, o));
                        }
                    }
                }
            }
        }
        if let Some((kind, started, o)) = done {
            d.inflight = None;
            if d.finished(kind, started, o, &poll)? {
                return Ok(());
            }
        }
        let now = Instant::now();
        if d.hook.as_ref().is_some_and(|(_, t)| now >= *t) {
            if let Some((r, _)) = d.hook.take() {
                log::warn!("hook {} timed out: killed", r.pid());
                d.dying.push(r.kill(poll.registry(), DYING));
            }
        }
        if d.inflight.as_ref().is_some_and(|f| now >= f.deadline) {
            if let Some(f) = d.inflight.take() {
                let o = f.probe.time_out(cfg.timeout, poll.registry(), &mut d.dying);
                if d.finished(f.kind, f.started, o, &poll)? {
                    return Ok(());
                }
            }
        }
        for s in sigs {
            let sig = match s {
                SIGUSR1 => Sig::ForceDown,
                SIGUSR2 => Sig::ForceUp,
                SIGHUP => Sig::Normal,
                _ => Sig::Terminate,
            };
            log::info!(
                "{}",
                match sig {
                    Sig::ForceDown => "SIGUSR1: opaque glasses on (forced down)",
                    Sig::ForceUp => "SIGUSR2: rose-colored glasses on (forced up)",
                    Sig::Normal => "SIGHUP: removing glasses",
                    Sig::Terminate => "terminating due to signal",
                }
            );
            let actions = d.machine.on_signal(sig);
            if d.apply(actions, &poll)? {
                return Ok(());
            }
        }
        if now >= next_alive {
            d.table.alive()?;
            next_alive += cfg.alive;
            if next_alive <= now {
                // Late (a stopped process, a slow stdout): no burst of lines.
                next_alive = now + cfg.alive;
            }
        }
    }
}

impl Daemon<'_> {
    /// Starts the load probe or the check if one is due; `Ok(true)`: exit.
    fn start_due(&mut self, poll: &Poll) -> Result<bool, DaemonError> {
        if self.inflight.is_some() {
            return Ok(false);
        }
        let now = Instant::now();
        let cfg = self.cfg;
        if self.load_pending {
            self.load_pending = false;
            if let Some(cmd) = &cfg.load {
                let check = Check::Load { argv: cmd.argv(cfg.server.ip()) };
                match self.start(&check, poll) {
                    Ok(probe) => {
                        self.inflight = Some(Inflight {
                            probe,
                            kind: Kind::Load,
                            started: now,
                            deadline: now + cfg.timeout,
                        })
                    }
                    Err(o) => log::warn!("load probe: {}", o.detail),
                }
            }
            return Ok(false);
        }
        let Some(t) = self.next_check.filter(|t| now >= *t && !self.machine.frozen()) else {
            return Ok(false);
        };
        self.next_check = Some((t + cfg.interval).max(now));
        match self.start(&cfg.check, poll) {
            Ok(probe) => {
                self.inflight = Some(Inflight {
                    probe,
                    kind: Kind::Check,
                    started: now,
                    deadline: now + cfg.timeout,
                });
                Ok(false)
            }
            Err(o) => self.finished(Kind::Check, now, o, poll),
        }
    }

    /// Starts a probe; a program is not started while a killed one is
    /// still unreaped (no pile-up of stuck checks).
    fn start(&self, check: &Check, poll: &Poll) -> Result<Probe, Outcome> {
        if let (
            Check::Program { .. } | Check::ProgramNoExpect { .. } | Check::Load { .. },
            Some(d),
        ) = (check, self.dying.first())
        {
            return Err(Outcome {
                ok: false,
                detail: format!("previous check program (pid {}) has not died yet", d.pid()),
                load: None,
            });
        }
        Probe::start(check, self.cfg.server, &self.cfg.route, poll.registry())
    }

    /// Feeds a finished probe to the machine; `Ok(true)`: exit.
    /// A probe that started at `started` finished with `o`.
    fn finished(
        &mut self,
        kind: Kind,
        started: Instant,
        o: Outcome,
        poll: &Poll,
    ) -> Result<bool, DaemonError> {
        let now = Instant::now();
        let actions = match kind {
            Kind::Check => {
                let mut o = o;
                o.detail.push_str(&self.cfg.route.note());
                log::debug!("check {}: {}", if o.ok { "ok" } else { "failed" }, o.detail);
                // Before the verdict, so that lvsd has the reason with it.
                self.table.checked(o.ok, now.saturating_duration_since(started), &o.detail)?;
                self.machine.on_check(now, o.ok, &o.detail)
            }
            Kind::Load => {
                log::debug!("load probe: {}", o.detail);
                self.machine.on_load(o.load)
            }
        };
        self.apply(actions, poll)
    }

    /// Starts the up or down hook, killing one still running.
    fn run_hook(&mut self, argv: &[std::ffi::OsString], poll: &Poll) {
        if let Some((r, _)) = self.hook.take() {
            log::warn!("hook {} still running: killed", r.pid());
            self.dying.push(r.kill(poll.registry(), DYING));
        }
        match Running::spawn(argv, poll.registry(), HOOK_OUT, HOOK_EXIT) {
            Ok(r) => self.hook = Some((r, Instant::now() + self.cfg.timeout)),
            Err(e) => log::warn!("hook: {e}"),
        }
    }

    /// Readiness of the hook's stdout or pidfd.
    fn hook_event(&mut self, token: Token, poll: &Poll) {
        let Some((mut r, deadline)) = self.hook.take() else {
            return;
        };
        if token == HOOK_OUT {
            // Its output is not used, only drained.
            r.drain();
            self.hook = Some((r, deadline));
            return;
        }
        match r.try_finish(poll.registry()) {
            Ok(f) => log::info!("hook finished: {}", f.status),
            Err(r) => self.hook = Some((r, deadline)),
        }
    }

    /// Carries out the machine's actions; `Ok(true)` means exit now.
    fn apply(&mut self, actions: Vec<Action>, poll: &Poll) -> Result<bool, DaemonError> {
        let server = self.cfg.server;
        // Hooks follow the server's health, not the nanny's own exit.
        let exiting = actions.iter().any(|a| matches!(a, Action::Exit { .. }));
        for a in actions {
            let r = match a {
                Action::Decide { decision, reason } => {
                    let cfg = self.cfg;
                    let hook = match decision {
                        Decision::Up { weight } => {
                            log::info!(
                                "[ active ] making {server} available (weight {weight}): {reason}"
                            );
                            &cfg.on_up
                        }
                        Decision::Down { mode } => {
                            log::info!("[inactive] shutting down {server} ({mode:?}): {reason}");
                            &cfg.on_down
                        }
                        Decision::Weight { weight } => {
                            log::info!("{server}: weight {weight}: {reason}");
                            &None
                        }
                    };
                    if let (Some(argv), false) = (hook, exiting) {
                        self.run_hook(argv, poll);
                    }
                    self.table.decide(decision, &reason)
                }
                Action::ProbeLoad => {
                    self.load_pending = true;
                    Ok(())
                }
                Action::CheckNow => {
                    self.next_check = Some(Instant::now());
                    Ok(())
                }
                Action::Exit { reason } => {
                    if let Some((r, _)) = self.hook.take() {
                        self.dying.push(r.kill(poll.registry(), DYING));
                    }
                    if let Some(f) = self.inflight.take() {
                        f.probe.time_out(Duration::ZERO, poll.registry(), &mut self.dying);
                    }
                    Dying::reap_all(std::mem::take(&mut self.dying), poll.registry());
                    self.table.bye(&reason)?;
                    return Ok(true);
                }
            };
            match r {
                Ok(()) => {}
                Err(e @ TableError::Report(_)) => return Err(e.into()),
                Err(e) => log::error!("{server}: {e}"),
            }
        }
        Ok(false)
    }
}

fn kind_name(c: &Check) -> &'static str {
    match c {
        Check::Connect { tls: None } => "TCP connect",
        Check::Connect { tls: Some(_) } => "TLS handshake",
        Check::SendExpect { .. } => "send/expect",
        Check::Http { tls: None, .. } => "HTTP GET",
        Check::Http { tls: Some(_), .. } => "HTTPS GET",
        Check::Udp { .. } => "UDP send/expect",
        Check::Program { expect: Some(_), .. } => "send_program",
        Check::Program { expect: None, .. } => "agent program",
        Check::ProgramNoExpect { .. } => "send_program without expect (never up)",
        Check::Load { .. } => "load probe",
        Check::Ping { .. } => "ICMP echo",
        Check::Dns(_) => "DNS query",
        Check::None => "no check (always up)",
    }
}
