//! The failover state machine: a pure `step(event, now) -> Vec<Action>`.
//!
//! It owns everything pulse knows (its role, faults, what each peer last
//! said and when) and decides; the IO shell (`event_loop`) only turns the
//! world into [`Event`]s and carries out [`Action`]s. Time is passed in, so
//! every scenario can be replayed in a unit test without sockets or sleeps.
//!
//! # Election
//!
//! Routers are ranked by their position in the router list (piranha's
//! primary first, then backup; Turbolinux's ordered ATM pool). A router is
//! *alive* while its last valid heartbeat is younger than `deadtime`, and
//! *eligible* when alive, standby and free of faults. In native mode a
//! heartbeat is valid only when it proves itself fresh by echoing one of our
//! recent heartbeats (`freshness`), so no wall clock is read anywhere.
//!
//! - A standby router activates when no alive peer is active and no eligible
//!   peer comes before it: the first listed router that is up is active.
//!   Among standbys, one whose lvsd table is complete (the `ready` bit of
//!   its heartbeats) comes before one whose table is not, whatever their
//!   ranks; a router never waits for its own table (an unready table beats
//!   no VIP).
//! - A standby router does not take over from an active peer (no automatic
//!   failback), unless preemption is on and it outranks that peer.
//! - Two active routers: the one that is outranked yields (ranking compares
//!   the take-over epoch first, then the list position), so exactly one
//!   stays. The one that stays re-announces its VIPs when it sees the
//!   conflict and again when the other confirms it stood down.
//! - At start a router waits until it has heard every peer or `deadtime`
//!   has passed, so that it does not grab the VIPs from a live active peer.
//!
//! In piranha compatibility mode a peer's "stopped" says nothing about
//! whether it wants to be active, so, as in piranha, it never counts as
//! eligible; epochs are not carried and ranking is by list position only.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::freshness::SentLog;
use crate::wire::{DropCounters, Faults, Role};
// `machine/tests.rs` names these through `super::*`.
#[cfg(test)]
use crate::wire::Key;

mod fos;
mod heartbeats;
mod types;
mod warn;
use fos::FosState;
pub use fos::FosWatch;
use heartbeats::Peer;
pub use types::{
    Action, ArpPolicy, Child, Command, Config, Event, Now, PeerStatus, Protocol, Router, Signal,
    Status, SyncRole, Vip,
};
use warn::Warnings;

/// The state of one pulse.
#[derive(Debug)]
pub struct Machine {
    cfg: Config,
    role: Role,
    faults: Faults,
    epoch: u32,
    seq: u64,
    peers: Vec<Peer>,
    started: Option<Instant>,
    next_send: Option<Instant>,
    arp_left: u32,
    arp_next: Option<Instant>,
    refresh_next: Option<Instant>,
    /// The time of the last step: deadlines up to it have been acted on.
    last_step: Option<Instant>,
    links_down: BTreeSet<String>,
    lvsd_running: bool,
    /// lvsd says its table is complete.
    lvsd_ready: bool,
    /// When to start lvsd again after it exited on a hot standby.
    lvsd_retry: Option<Instant>,
    reannounce: bool,
    terminating: bool,
    drops: DropCounters,
    config_mismatches: u64,
    /// When each of our recent heartbeats left: what peers' echoes prove.
    sent: SentLog,
    /// Send a heartbeat at the end of this step (an answer to a peer).
    send_now: bool,
    warnings: Warnings,
    /// Heartbeats sent (for metrics).
    heartbeats_sent: u64,
    /// Role changes (for metrics).
    transitions: u64,
    /// The failover services while active (empty on a standby).
    fos_state: Vec<FosState>,
    /// A failed failover service keeps this router ineligible until then.
    service_hold_until: Option<Instant>,
}

/// How long a hot standby waits before starting lvsd again after it exited.
const LVSD_RESTART: Duration = Duration::from_secs(2);

fn outranks(a: (u32, usize), b: (u32, usize)) -> bool {
    a.0 > b.0 || (a.0 == b.0 && a.1 < b.1)
}

impl Machine {
    /// A machine in standby that has not started yet.
    pub fn new(cfg: Config) -> Machine {
        let peers = vec![Peer::default(); cfg.routers.len()];
        Machine {
            cfg,
            role: Role::Standby,
            faults: Faults::NONE,
            epoch: 0,
            seq: 0,
            peers,
            started: None,
            next_send: None,
            arp_left: 0,
            arp_next: None,
            refresh_next: None,
            last_step: None,
            links_down: BTreeSet::new(),
            lvsd_running: false,
            lvsd_ready: false,
            lvsd_retry: None,
            reannounce: false,
            terminating: false,
            drops: DropCounters::default(),
            config_mismatches: 0,
            sent: SentLog::default(),
            send_now: false,
            warnings: Warnings::default(),
            heartbeats_sent: 0,
            transitions: 0,
            fos_state: Vec::new(),
            service_hold_until: None,
        }
    }

    /// Current role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Current faults.
    #[cfg(test)]
    pub fn faults(&self) -> Faults {
        self.faults
    }

    /// Whether lvsd said its table is complete.
    pub fn lvsd_ready(&self) -> bool {
        self.lvsd_ready
    }

    /// Dropped heartbeat counters.
    #[cfg(test)]
    pub fn drops(&self) -> &DropCounters {
        &self.drops
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    fn me(&self) -> &Router {
        &self.cfg.routers[self.cfg.me]
    }

    /// When the shell must call `step(Event::Tick)` at the latest, seen at
    /// `now`. Deadlines that had passed at the last step were acted on there
    /// (the end of the start-up listening period, a peer's death) and are
    /// left out, so the loop never spins on them; one that passed after the
    /// last step (while the shell was busy) is returned even though it lies
    /// in the past, so the shell steps again at once instead of sleeping
    /// until the next heartbeat is due.
    pub fn next_wakeup(&self, now: Instant) -> Option<Instant> {
        let mut t: Vec<Instant> = Vec::new();
        t.extend(self.next_send);
        t.extend(self.arp_next.filter(|_| self.arp_left > 0));
        t.extend(self.refresh_next);
        t.extend(self.lvsd_retry);
        t.extend(self.fos_wakeup());
        // Not acted on yet: later than the last step.
        let acted = self.last_step.unwrap_or(now);
        let future = |x: Instant| (x > acted).then_some(x);
        if let Some(s) = self.started {
            t.extend(future(s + self.cfg.deadtime));
        }
        for (i, p) in self.peers.iter().enumerate() {
            if i != self.cfg.me {
                t.extend(p.last_heard.and_then(|h| future(h + self.cfg.deadtime)));
            }
        }
        t.into_iter().min()
    }

    /// Handles one event and returns what to do, in order.
    pub fn step(&mut self, event: Event, now: Now) -> Vec<Action> {
        let mut out = Vec::new();
        self.last_step = Some(now.mono);
        if self.terminating {
            return out;
        }
        match event {
            Event::Start => self.on_start(now, &mut out),
            Event::Packet { from, data } => self.on_packet(from, &data, now.mono),
            Event::Tick => {}
            Event::Signal(Signal::Reload) | Event::Control(Command::Reload) => {
                out.push(Action::ReloadConfig);
            }
            Event::Signal(Signal::Terminate) => {
                log::info!("terminating: standing down");
                self.faults.insert(Faults::SHUTDOWN);
                if self.role == Role::Active {
                    self.deactivate(now, &mut out);
                } else {
                    self.send(now, &mut out);
                }
                // A hot standby's lvsd outlives deactivation; not pulse.
                if self.lvsd_running {
                    out.push(Action::StopLvsd);
                    self.lvsd_running = false;
                    self.lvsd_ready = false;
                }
                self.terminating = true;
                out.push(Action::Exit);
                return out;
            }
            Event::ChildExited(Child::Lvsd, code) => {
                let was = self.lvsd_running;
                self.lvsd_running = false;
                self.lvsd_ready = false;
                if was && self.role == Role::Active {
                    log::warn!("lvsd exited ({code:?}): deactivating, childfail set");
                    self.faults.insert(Faults::CHILD_FAIL);
                } else if was && self.cfg.hot_standby {
                    log::error!(
                        "lvsd exited ({code:?}) on a hot standby: its IPVS table is not kept; \
                         starting it again in {} s",
                        LVSD_RESTART.as_secs()
                    );
                } else {
                    log::info!("lvsd exited ({code:?}) while not expected to run");
                }
                // A hot standby runs lvsd again (a takeover would too),
                // after a pause so that an lvsd that cannot start does not
                // spin.
                if was && self.cfg.hot_standby {
                    self.lvsd_retry = Some(now.mono + LVSD_RESTART);
                }
            }
            Event::LinkDown(name) => {
                if self.cfg.monitored_links.contains(&name) && self.links_down.insert(name.clone())
                {
                    log::warn!("local NIC link {name} down: pulse disabled");
                    self.faults.insert(Faults::LINK_FAIL);
                }
            }
            Event::LinkUp(name) => {
                if self.links_down.remove(&name) && self.links_down.is_empty() {
                    log::info!("local NIC link(s) restored: pulse enabled");
                    self.faults.remove(Faults::LINK_FAIL);
                }
            }
            Event::Control(Command::TakeOver) => {
                let top = self.peers.iter().map(|p| p.epoch).max().unwrap_or(0);
                self.epoch = self.epoch.max(top).saturating_add(1);
                self.faults.remove(Faults::ADMIN_DOWN);
                self.faults.remove(Faults::CHILD_FAIL);
                log::info!("operator take-over (epoch {})", self.epoch);
                if self.faults.is_empty() && self.role == Role::Standby {
                    self.activate(now, &mut out);
                } else {
                    self.send(now, &mut out);
                }
            }
            Event::Control(Command::StandDown) => {
                log::info!("operator stand-down: holding down until take-over");
                self.faults.insert(Faults::ADMIN_DOWN);
            }
            Event::Reconfigured(cfg) => self.reconfigure(*cfg, now, &mut out),
            Event::LvsdReady(ready) => {
                if ready != self.lvsd_ready {
                    self.lvsd_ready = ready;
                    log::info!(
                        "lvsd's table {}",
                        if ready { "is complete" } else { "is not complete" }
                    );
                    // The peers choose among standbys by it: tell them now.
                    if self.started.is_some() {
                        self.send(now, &mut out);
                    }
                }
            }
            Event::Service { name, up, reason } => self.on_service(&name, up, &reason, now),
        }
        self.timers(now, &mut out);
        self.evaluate(now, &mut out);
        if self.send_now && self.started.is_some() {
            // An answer to a peer's handshake; `send` clears the flag, so a
            // heartbeat already sent in this step answers too.
            self.send(now, &mut out);
        }
        out
    }

    fn on_start(&mut self, now: Now, out: &mut Vec<Action>) {
        self.started = Some(now.mono);
        log::info!(
            "starting pulse as {} (rank {} of {})",
            self.me().name,
            self.cfg.me + 1,
            self.cfg.routers.len()
        );
        // A previous pulse killed while active may have left the VIPs up.
        if !self.cfg.vips.is_empty() {
            out.push(Action::VipsDown(self.cfg.vips.clone()));
        }
        if !self.cfg.test_start {
            out.push(Action::RunInactiveCmd);
        }
        // piranha's `fos --monitor` stopped the services at start too.
        self.stop_services(out);
        if self.cfg.syncdaemon {
            out.push(Action::SyncDaemon(SyncRole::Backup));
        }
        self.start_hot_lvsd(out);
        if self.cfg.force_active {
            log::info!("forced active on startup: activating lvs");
            self.activate(now, out);
        } else {
            self.send(now, out);
        }
    }

    fn reconfigure(&mut self, cfg: Config, now: Now, out: &mut Vec<Action>) {
        log::info!("configuration reloaded");
        // Carry what we know about peers over by node id.
        let mut peers = vec![Peer::default(); cfg.routers.len()];
        for (i, r) in cfg.routers.iter().enumerate() {
            if let Some(j) = self.cfg.routers.iter().position(|o| o.node_id == r.node_id) {
                peers[i] = self.peers[j].clone();
            }
        }
        let old_vips = std::mem::take(&mut self.cfg.vips);
        let old_fos = std::mem::take(&mut self.cfg.failover);
        let boot_id = self.cfg.boot_id;
        self.cfg = cfg;
        self.cfg.boot_id = boot_id;
        self.peers = peers;
        self.reconfigure_fos(&old_fos);
        self.links_down.retain(|l| self.cfg.monitored_links.contains(l));
        if self.links_down.is_empty() {
            self.faults.remove(Faults::LINK_FAIL);
        }
        if self.role == Role::Active {
            let gone: Vec<Vip> =
                old_vips.iter().filter(|v| !self.cfg.vips.contains(v)).cloned().collect();
            let new: Vec<Vip> =
                self.cfg.vips.iter().filter(|v| !old_vips.contains(v)).cloned().collect();
            if !gone.is_empty() {
                out.push(Action::VipsDown(gone));
            }
            if !new.is_empty() {
                out.push(Action::VipsUp(new.clone()));
                out.push(Action::GratuitousArp(new));
            }
            if self.cfg.arp.refresh.is_none() {
                self.refresh_next = None;
            } else if self.refresh_next.is_none() {
                self.refresh_next = self.cfg.arp.refresh.map(|r| now.mono + r);
            }
        }
        self.reconfigure_lvsd(out);
    }

    fn timers(&mut self, now: Now, out: &mut Vec<Action>) {
        if self.started.is_none() {
            return;
        }
        if self.lvsd_retry.is_some_and(|t| now.mono >= t) {
            self.lvsd_retry = None;
            self.start_hot_lvsd(out);
        }
        self.fos_timers(now);
        for i in 0..self.peers.len() {
            if self.peers[i].reported_alive && !self.alive(i, now.mono) {
                self.peers[i].reported_alive = false;
                self.peers[i].in_conflict = false;
                let name = &self.cfg.routers[i].name;
                let silent = self.peers[i]
                    .last_heard
                    .map_or(Duration::ZERO, |h| now.mono.saturating_duration_since(h));
                log::warn!(
                    "{name} dead (last heartbeat {:.1} ms ago, deadtime {} ms)",
                    silent.as_secs_f64() * 1000.0,
                    self.cfg.deadtime.as_millis()
                );
            }
        }
        if self.arp_left > 0 && self.arp_next.is_some_and(|t| now.mono >= t) {
            self.arp_left -= 1;
            self.arp_next = self.arp_next.map(|t| t + self.cfg.arp.interval);
            out.push(Action::GratuitousArp(self.cfg.vips.clone()));
        }
        if let (Some(t), Some(every)) = (self.refresh_next, self.cfg.arp.refresh) {
            if now.mono >= t {
                self.refresh_next = Some(now.mono + every);
                out.push(Action::GratuitousArp(self.cfg.vips.clone()));
            }
        }
        if self.next_send.is_some_and(|t| now.mono >= t) {
            self.send(now, out);
        }
    }

    fn evaluate(&mut self, now: Now, out: &mut Vec<Action>) {
        if self.started.is_none() {
            return;
        }
        let me = self.cfg.me;
        let mine = (self.epoch, me);
        let native = self.native();
        let rank = |m: &Machine, i: usize| (if native { m.peers[i].epoch } else { m.epoch }, i);
        let alive: Vec<usize> =
            (0..self.peers.len()).filter(|i| self.alive(*i, now.mono)).collect();
        let active: Vec<usize> =
            alive.iter().copied().filter(|i| self.peers[*i].role == Some(Role::Active)).collect();
        match self.role {
            Role::Active => {
                if !self.faults.is_empty() {
                    log::warn!("faults {}: deactivating", self.faults);
                    self.deactivate(now, out);
                    return;
                }
                if let Some(&w) = active.iter().find(|&&i| outranks(rank(self, i), mine)) {
                    let name = &self.cfg.routers[w].name;
                    log::warn!("{name} is active and outranks us: deactivating");
                    self.deactivate(now, out);
                    return;
                }
                let fresh: Vec<usize> =
                    active.iter().copied().filter(|i| !self.peers[*i].in_conflict).collect();
                for i in &fresh {
                    self.peers[*i].in_conflict = true;
                    let name = &self.cfg.routers[*i].name;
                    log::warn!("{name} is also active: we stay, re-announcing VIPs");
                }
                if !fresh.is_empty() || self.reannounce {
                    self.reannounce = false;
                    self.announce(now, out);
                }
                if !fresh.is_empty() {
                    self.send(now, out);
                }
            }
            Role::Standby => {
                if !self.faults.is_empty() {
                    return;
                }
                if !active.is_empty() {
                    if self.cfg.preempt && active.iter().all(|&i| outranks(mine, rank(self, i))) {
                        log::info!("preempting outranked active peer(s): activating lvs");
                        self.activate(now, out);
                    }
                    return;
                }
                if !self.settled(now.mono) {
                    return;
                }
                // Among standbys a ready table comes first, then the rank:
                // wait for an eligible peer before us in that order. An
                // unready router never waits for its own table.
                let ready = self.lvsd_ready;
                let before_us = |m: &Machine, i: usize| {
                    let theirs = m.peers[i].ready;
                    (theirs && !ready) || (theirs == ready && i < me)
                };
                if let Some(&b) =
                    alive.iter().find(|&&i| self.peers[i].eligible && before_us(self, i))
                {
                    log::debug!("waiting for {} to activate", self.cfg.routers[b].name);
                    return;
                }
                if alive.is_empty() {
                    log::info!("no live peer: activating lvs");
                } else {
                    log::info!("no active peer and none ranked before us: activating lvs");
                }
                self.activate(now, out);
            }
        }
    }

    fn announce(&mut self, now: Now, out: &mut Vec<Action>) {
        if self.cfg.vips.is_empty() {
            return;
        }
        out.push(Action::GratuitousArp(self.cfg.vips.clone()));
        self.arp_left = self.cfg.arp.repeat.saturating_sub(1);
        self.arp_next = Some(now.mono + self.cfg.arp.interval);
    }

    /// Becomes active. What clients wait for comes first: the VIPs go up
    /// and are announced, then the peers hear that we are active; only then
    /// does anything that starts a process or may block run (`active_cmd`,
    /// lvsd, the sync daemon's `ipvsadm` calls, which are waited for).
    /// piranha started `active_cmd` and lvsd first and brought the VIPs up
    /// in a background worker, so it gave no order between them either way.
    fn activate(&mut self, now: Now, out: &mut Vec<Action>) {
        self.role = Role::Active;
        self.transitions += 1;
        for p in &mut self.peers {
            p.in_conflict = false;
        }
        if !self.cfg.vips.is_empty() {
            out.push(Action::VipsUp(self.cfg.vips.clone()));
        }
        self.announce(now, out);
        self.refresh_next = self.cfg.arp.refresh.map(|r| now.mono + r);
        self.send(now, out);
        self.start_services(now, out);
        if !self.cfg.test_start {
            out.push(Action::RunActiveCmd);
            // On a hot standby lvsd has been running all along: the table
            // is there already. A failover-service router runs no lvsd.
            if !self.lvsd_running && !self.fos() {
                out.push(Action::StartLvsd);
                self.lvsd_running = true;
                self.lvsd_retry = None;
            }
        }
        if self.cfg.syncdaemon {
            out.push(Action::SyncDaemon(SyncRole::Master));
        }
    }

    /// Starts lvsd on a hot standby that does not run it (at start, after
    /// it exited, after a reload turned hot standby on).
    fn start_hot_lvsd(&mut self, out: &mut Vec<Action>) {
        if self.cfg.hot_standby && !self.cfg.test_start && !self.lvsd_running && !self.fos() {
            out.push(Action::StartLvsd);
            self.lvsd_running = true;
            self.lvsd_retry = None;
        }
    }

    /// After a reload: lvsd re-reads the configuration wherever it runs; a
    /// switch between hot and cold standby starts or stops it on a standby
    /// router.
    fn reconfigure_lvsd(&mut self, out: &mut Vec<Action>) {
        if self.role == Role::Standby && !self.cfg.hot_standby && self.lvsd_running {
            log::info!("cold standby: stopping lvsd until this router is active");
            out.push(Action::StopLvsd);
            self.lvsd_running = false;
            self.lvsd_ready = false;
        } else if self.lvsd_running {
            out.push(Action::ReloadLvsd);
        }
        if !self.cfg.hot_standby {
            self.lvsd_retry = None;
        }
        self.start_hot_lvsd(out);
    }

    fn deactivate(&mut self, now: Now, out: &mut Vec<Action>) {
        self.role = Role::Standby;
        self.transitions += 1;
        self.reannounce = false;
        self.arp_left = 0;
        self.arp_next = None;
        self.refresh_next = None;
        if self.cfg.syncdaemon {
            out.push(Action::SyncDaemon(SyncRole::Backup));
        }
        // A hot standby keeps lvsd: its table stays true while standing by.
        if self.lvsd_running && !self.cfg.hot_standby {
            out.push(Action::StopLvsd);
            self.lvsd_running = false;
            self.lvsd_ready = false;
        }
        self.stop_services(out);
        if !self.cfg.vips.is_empty() {
            out.push(Action::VipsDown(self.cfg.vips.clone()));
        }
        if !self.cfg.test_start {
            out.push(Action::RunInactiveCmd);
        }
        self.send(now, out);
    }
}

#[cfg(test)]
mod tests;
