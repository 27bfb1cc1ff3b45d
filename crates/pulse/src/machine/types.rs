//! What the machine is given and what it says: its configuration (the
//! routers, VIPs, ARP policy, protocol), the events it steps on, the
//! actions it returns and the status it shows. Plain data; the decisions
//! are in [`super::Machine`].

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::wire::{self, DropCounters, Faults, Key, Role};

use super::FosWatch;

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
    /// Hot standby: lvsd (and so the IPVS table and the nannies) runs from
    /// start on every router, and a takeover only moves the VIPs. Off:
    /// piranha's cold standby, lvsd runs only while active.
    pub hot_standby: bool,
    /// Links whose loss makes this router stand down.
    pub monitored_links: Vec<String>,
    /// Heartbeat format.
    pub protocol: Protocol,
    /// Digest of the cluster configuration.
    pub config_digest: [u8; wire::DIGEST_LEN],
    /// Random id of this process start.
    pub boot_id: u64,
    /// Failover services (piranha's `service = fos`), in configuration
    /// order; when there are any, pulse runs them instead of lvsd.
    pub failover: Vec<FosWatch>,
}

/// A point in time: monotonic only. No wall clock enters any decision, so
/// routers need not agree on the time.
#[derive(Clone, Copy, Debug)]
pub struct Now {
    /// Monotonic time.
    pub mono: Instant,
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
    /// lvsd says its table is complete (true) or no longer (false).
    LvsdReady(bool),
    /// A nanny's verdict on a local failover service.
    Service {
        /// The failover service.
        name: String,
        /// Up or down.
        up: bool,
        /// Why, for the log.
        reason: String,
    },
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
    /// Start the failover services (`stop_cmd`, then `start_cmd`, of each
    /// in order, then a nanny per checked service). On activation it comes
    /// after the VIPs are up and announced.
    StartServices,
    /// Stop the failover services' nannies, then run each `stop_cmd`.
    StopServices,
    /// Re-read the configuration, then send [`Event::Reconfigured`].
    ReloadConfig,
    /// Exit the process.
    Exit,
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
    /// Its last heartbeat said its lvsd table is complete.
    pub ready: bool,
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
    /// This router's lvsd has its table complete.
    pub ready: bool,
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
