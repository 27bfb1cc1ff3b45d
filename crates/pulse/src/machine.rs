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
//! *eligible* when alive, standby and free of faults.
//!
//! - A standby router activates when no alive peer is active and no eligible
//!   peer is ranked before it: the first listed router that is up is active.
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
use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::wire::{self, DropCounters, DropReason, Faults, Heartbeat, Key, ReplayGuard, Role};

/// A virtual address this router brings up while active.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vip {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length (e.g. 24 for 255.255.255.0).
    pub prefix: u8,
    /// Interface that carries it (piranha's `eth0:1` alias names allowed).
    pub dev: String,
}

impl fmt::Display for Vip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} dev {}", self.addr, self.prefix, self.dev)
    }
}

/// One router of the pair or pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Router {
    /// Name for logs and status.
    pub name: String,
    /// Node id carried in native heartbeats.
    pub node_id: u32,
    /// Heartbeat addresses (public, then private): valid sources.
    pub addrs: Vec<IpAddr>,
}

/// Which heartbeat format is spoken.
#[derive(Clone, Debug)]
pub enum Protocol {
    /// Authenticated native heartbeats.
    Native {
        /// Shared HMAC key.
        key: Key,
        /// First-contact clock tolerance, ms (0: off).
        max_skew_ms: u64,
    },
    /// piranha's 4-byte magics, unauthenticated.
    Piranha,
}

/// Gratuitous ARP / unsolicited NA policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArpPolicy {
    /// Announcements per burst (piranha: 5).
    pub repeat: u32,
    /// Gap between announcements of a burst (piranha: 1 s).
    pub interval: Duration,
    /// Periodic re-announcement while active (Turbolinux `SendArpDelay`).
    pub refresh: Option<Duration>,
}

impl Default for ArpPolicy {
    fn default() -> Self {
        ArpPolicy { repeat: 5, interval: Duration::from_secs(1), refresh: None }
    }
}

/// Everything the machine needs to decide; built from the settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Routers in rank order.
    pub routers: Vec<Router>,
    /// This router's index in `routers`.
    pub me: usize,
    /// Heartbeat interval.
    pub keepalive: Duration,
    /// Silence after which a peer is dead.
    pub deadtime: Duration,
    /// Take over from an outranked active peer.
    pub preempt: bool,
    /// Activate at start (piranha `--forceactive`).
    pub force_active: bool,
    /// Do not run commands or lvsd (piranha `--test-start`).
    pub test_start: bool,
    /// VIPs and the NAT router address.
    pub vips: Vec<Vip>,
    /// Gratuitous ARP policy.
    pub arp: ArpPolicy,
    /// Switch the IPVS sync daemon between master and backup.
    pub syncdaemon: bool,
    /// Links whose loss makes this router stand down.
    pub monitored_links: Vec<String>,
    /// Heartbeat format.
    pub protocol: Protocol,
    /// Digest of the cluster configuration.
    pub config_digest: [u8; wire::DIGEST_LEN],
    /// Random id of this process start.
    pub boot_id: u64,
}

/// A point in time: monotonic for timers, wall clock for heartbeat stamps.
#[derive(Clone, Copy, Debug)]
pub struct Now {
    /// Monotonic time.
    pub mono: Instant,
    /// Wall clock, ms since the Unix epoch.
    pub wall_ms: u64,
}

/// Signals the shell forwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGHUP: re-read the configuration.
    Reload,
    /// SIGTERM/SIGINT: stand down and exit.
    Terminate,
}

/// Children pulse supervises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Child {
    /// The lvsd started on activation.
    Lvsd,
}

/// Operator commands from the control socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Become active now and win conflicts (raises the epoch).
    TakeOver,
    /// Stand down and stay down until `take-over`.
    StandDown,
    /// Re-read the configuration.
    Reload,
}

/// Everything that can happen to pulse. Closed: the loop handles each.
#[derive(Debug)]
pub enum Event {
    /// pulse has started.
    Start,
    /// A datagram arrived on a heartbeat socket.
    Packet {
        /// Source address.
        from: IpAddr,
        /// Its bytes.
        data: Vec<u8>,
    },
    /// A timer may be due.
    Tick,
    /// A signal arrived.
    Signal(Signal),
    /// A supervised child exited (`code` is None when killed by a signal).
    ChildExited(Child, Option<i32>),
    /// A link went down.
    LinkDown(String),
    /// A link came up.
    LinkUp(String),
    /// An operator command.
    Control(Command),
    /// The configuration was re-read and validated.
    Reconfigured(Box<Config>),
}

/// Sync daemon role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncRole {
    /// On the active router.
    Master,
    /// On standby routers.
    Backup,
}

/// What the shell must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send this payload to every peer address.
    SendHeartbeat(Vec<u8>),
    /// Run `active_cmd` (not waited for). On activation it comes after the
    /// VIPs are up and announced.
    RunActiveCmd,
    /// Run `inactive_cmd` (not waited for).
    RunInactiveCmd,
    /// Bring these VIPs up.
    VipsUp(Vec<Vip>),
    /// Take these VIPs down (absent ones are not an error).
    VipsDown(Vec<Vip>),
    /// One gratuitous ARP / unsolicited NA per VIP, sent by pulse itself.
    /// On activation it follows [`Action::VipsUp`] directly.
    GratuitousArp(Vec<Vip>),
    /// Start lvsd and supervise it.
    StartLvsd,
    /// SIGTERM lvsd and wait for it.
    StopLvsd,
    /// Forward SIGHUP to lvsd.
    ReloadLvsd,
    /// Switch the sync daemon.
    SyncDaemon(SyncRole),
    /// Re-read the configuration, then send [`Event::Reconfigured`].
    ReloadConfig,
    /// Exit the process.
    Exit,
}

#[derive(Clone, Debug, Default)]
struct Peer {
    last_heard: Option<Instant>,
    role: Option<Role>,
    faults: Faults,
    eligible: bool,
    epoch: u32,
    guard: ReplayGuard,
    reported_alive: bool,
    in_conflict: bool,
    digest_mismatch: bool,
    /// Heartbeats accepted from it.
    received: u64,
}

/// A peer as shown by `status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerStatus {
    /// Router name.
    pub name: String,
    /// Heard within deadtime.
    pub alive: bool,
    /// Time since the last valid heartbeat.
    pub last_heard: Option<Duration>,
    /// Last advertised role.
    pub role: Option<Role>,
    /// Last advertised faults.
    pub faults: Faults,
    /// Its configuration digest differs from ours.
    pub config_mismatch: bool,
    /// Heartbeats accepted from it.
    pub received: u64,
}

/// A snapshot for `status`.
#[derive(Clone, Debug)]
pub struct Status {
    /// This router's name.
    pub name: String,
    /// Current role.
    pub role: Role,
    /// Current faults.
    pub faults: Faults,
    /// Take-over epoch.
    pub epoch: u32,
    /// Peers in rank order.
    pub peers: Vec<PeerStatus>,
    /// Configured VIPs.
    pub vips: Vec<Vip>,
    /// Dropped heartbeats by reason.
    pub drops: DropCounters,
    /// Accepted heartbeats whose configuration digest differs from ours.
    pub config_mismatches: u64,
    /// Protocol name.
    pub protocol: &'static str,
    /// Heartbeats sent (one count per heartbeat, whatever the number of
    /// peer addresses it goes to).
    pub sent: u64,
    /// Changes of role (standby to active and back).
    pub transitions: u64,
}

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
    reannounce: bool,
    terminating: bool,
    drops: DropCounters,
    config_mismatches: u64,
    sent: u64,
    transitions: u64,
}

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
            reannounce: false,
            terminating: false,
            drops: DropCounters::default(),
            config_mismatches: 0,
            sent: 0,
            transitions: 0,
        }
    }

    /// Current role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Current faults.
    pub fn faults(&self) -> Faults {
        self.faults
    }

    /// Dropped heartbeat counters.
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

    fn alive(&self, i: usize, now: Instant) -> bool {
        i != self.cfg.me
            && self.peers[i]
                .last_heard
                .is_some_and(|t| now.saturating_duration_since(t) < self.cfg.deadtime)
    }

    fn native(&self) -> bool {
        matches!(self.cfg.protocol, Protocol::Native { .. })
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

    /// A snapshot for the control socket.
    pub fn status(&self, now: Instant) -> Status {
        let peers = self
            .cfg
            .routers
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != self.cfg.me)
            .map(|(i, r)| {
                let p = &self.peers[i];
                PeerStatus {
                    name: r.name.clone(),
                    alive: self.alive(i, now),
                    last_heard: p.last_heard.map(|h| now.saturating_duration_since(h)),
                    role: p.role,
                    faults: p.faults,
                    config_mismatch: p.digest_mismatch,
                    received: p.received,
                }
            })
            .collect();
        Status {
            name: self.me().name.clone(),
            role: self.role,
            faults: self.faults,
            epoch: self.epoch,
            peers,
            vips: self.cfg.vips.clone(),
            drops: self.drops.clone(),
            config_mismatches: self.config_mismatches,
            protocol: if self.native() { "native" } else { "piranha" },
            sent: self.sent,
            transitions: self.transitions,
        }
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
            Event::Packet { from, data } => self.on_packet(from, &data, now),
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
                self.terminating = true;
                out.push(Action::Exit);
                return out;
            }
            Event::ChildExited(Child::Lvsd, code) => {
                let was = self.lvsd_running;
                self.lvsd_running = false;
                if was && self.role == Role::Active {
                    log::warn!("lvsd exited ({code:?}): deactivating, childfail set");
                    self.faults.insert(Faults::CHILD_FAIL);
                } else {
                    log::info!("lvsd exited ({code:?}) while not expected to run");
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
        }
        self.timers(now, &mut out);
        self.evaluate(now, &mut out);
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
        if self.cfg.syncdaemon {
            out.push(Action::SyncDaemon(SyncRole::Backup));
        }
        if self.cfg.force_active {
            log::info!("forced active on startup: activating lvs");
            self.activate(now, out);
        } else {
            self.send(now, out);
        }
    }

    fn on_packet(&mut self, from: IpAddr, data: &[u8], now: Now) {
        let me = self.cfg.me;
        let accepted = match &self.cfg.protocol {
            Protocol::Native { key, max_skew_ms } => {
                let skew = *max_skew_ms;
                match wire::decode_native(data, &key.clone()).and_then(|hb| {
                    let i = self.check_native(&hb, from)?;
                    self.peers[i].guard.accept(&hb, now.wall_ms, skew)?;
                    Ok((i, hb))
                }) {
                    Ok((i, hb)) => {
                        let mismatch = hb.config_digest != self.cfg.config_digest;
                        if mismatch {
                            self.config_mismatches += 1;
                            if !self.peers[i].digest_mismatch {
                                log::warn!(
                                    "{} runs a different cluster configuration",
                                    self.cfg.routers[i].name
                                );
                            }
                        }
                        self.peers[i].digest_mismatch = mismatch;
                        Ok((i, hb.role, hb.faults, hb.epoch))
                    }
                    Err(e) => Err(e),
                }
            }
            Protocol::Piranha => wire::decode_piranha(data).and_then(|role| {
                if self.cfg.routers[me].addrs.contains(&from) {
                    return Err(DropReason::SelfEcho);
                }
                let i = (0..self.cfg.routers.len())
                    .find(|i| *i != me && self.cfg.routers[*i].addrs.contains(&from))
                    .ok_or(DropReason::WrongSource)?;
                Ok((i, role, Faults::NONE, self.epoch))
            }),
        };
        let (i, role, faults, epoch) = match accepted {
            Ok(v) => v,
            Err(reason) => {
                self.drops.count(reason);
                log::debug!("dropped heartbeat from {from}: {}", reason.as_str());
                return;
            }
        };
        let native = self.native();
        let p = &mut self.peers[i];
        let was_active = p.role == Some(Role::Active);
        p.last_heard = Some(now.mono);
        p.received += 1;
        p.role = Some(role);
        p.faults = faults;
        p.epoch = epoch;
        p.eligible = native && role == Role::Standby && faults.is_empty();
        let back = !p.reported_alive;
        p.reported_alive = true;
        if back {
            log::info!("heard {} ({})", self.cfg.routers[i].name, role.as_str());
            // It may have held our VIPs while we could not hear it (an
            // asymmetric partition): make sure the network points at us.
            if self.role == Role::Active && self.started.is_some() {
                log::info!("{} is back: re-announcing VIPs", self.cfg.routers[i].name);
                self.reannounce = true;
            }
        }
        if role == Role::Active && self.faults.contains(Faults::CHILD_FAIL) {
            log::info!("{} is active: clearing childfail", self.cfg.routers[i].name);
            self.faults.remove(Faults::CHILD_FAIL);
        }
        let yielded = was_active && role == Role::Standby && self.peers[i].in_conflict;
        if yielded && self.role == Role::Active {
            log::info!("{} stood down: re-announcing VIPs", self.cfg.routers[i].name);
            self.reannounce = true;
        }
        if role == Role::Standby {
            self.peers[i].in_conflict = false;
        }
    }

    fn check_native(&self, hb: &Heartbeat, from: IpAddr) -> Result<usize, DropReason> {
        let me = self.cfg.me;
        if hb.node_id == self.cfg.routers[me].node_id {
            return Err(DropReason::SelfEcho);
        }
        let i = self
            .cfg
            .routers
            .iter()
            .position(|r| r.node_id == hb.node_id)
            .ok_or(DropReason::UnknownPeer)?;
        if !self.cfg.routers[i].addrs.contains(&from) {
            return Err(DropReason::WrongSource);
        }
        Ok(i)
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
        let boot_id = self.cfg.boot_id;
        self.cfg = cfg;
        self.cfg.boot_id = boot_id;
        self.peers = peers;
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
            if self.lvsd_running {
                out.push(Action::ReloadLvsd);
            }
            if self.cfg.arp.refresh.is_none() {
                self.refresh_next = None;
            } else if self.refresh_next.is_none() {
                self.refresh_next = self.cfg.arp.refresh.map(|r| now.mono + r);
            }
        }
    }

    fn timers(&mut self, now: Now, out: &mut Vec<Action>) {
        if self.started.is_none() {
            return;
        }
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
        let Some(started) = self.started else { return };
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
                let settled = now.mono >= started + self.cfg.deadtime
                    || (0..self.peers.len()).all(|i| i == me || self.peers[i].last_heard.is_some());
                if !settled {
                    return;
                }
                if let Some(&b) = alive.iter().find(|&&i| i < me && self.peers[i].eligible) {
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

    fn send(&mut self, now: Now, out: &mut Vec<Action>) {
        self.seq += 1;
        let payload = match &self.cfg.protocol {
            Protocol::Native { key, .. } => {
                let hb = Heartbeat {
                    node_id: self.me().node_id,
                    role: self.role,
                    faults: self.faults,
                    priority: u8::try_from(255usize.saturating_sub(self.cfg.me)).unwrap_or(0),
                    epoch: self.epoch,
                    boot_id: self.cfg.boot_id,
                    seq: self.seq,
                    timestamp_ms: now.wall_ms,
                    config_digest: self.cfg.config_digest,
                };
                wire::encode_native(&hb, key).to_vec()
            }
            Protocol::Piranha => wire::encode_piranha(self.role, wire::ByteOrder::host()).to_vec(),
        };
        out.push(Action::SendHeartbeat(payload));
        self.sent += 1;
        self.next_send = Some(now.mono + self.cfg.keepalive);
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
        if !self.cfg.test_start {
            out.push(Action::RunActiveCmd);
            out.push(Action::StartLvsd);
            self.lvsd_running = true;
        }
        if self.cfg.syncdaemon {
            out.push(Action::SyncDaemon(SyncRole::Master));
        }
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
        if self.lvsd_running {
            out.push(Action::StopLvsd);
            self.lvsd_running = false;
        }
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
