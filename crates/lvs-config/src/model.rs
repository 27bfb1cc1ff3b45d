//! The typed model of one cluster: what every daemon of the suite reads.
//!
//! Both front ends (YAML and piranha's `lvs.cf`) produce these types, and the
//! YAML writer prints them. The serde layout of these types *is* the YAML
//! format: field names are the YAML keys. Values that have a unit say so in
//! their type ([`Millis`]) or in their documentation (seconds for the IPVS
//! values, which the kernel keeps in seconds).
//!
//! `model.rs` holds the root ([`Config`]) and the cluster-wide settings;
//! `model/millis.rs` the duration type, `model/service.rs` the virtual
//! services and their real servers, `model/check.rs` the health checks,
//! `model/failover.rs` the failover services. Everything is re-exported
//! here, so every type is `lvs_config::model::Name`. `cargo xtask man`
//! reads these files as text to write lvs-router.yaml(5).

mod check;
mod failover;
mod millis;
mod service;

pub use check::{CheckKind, CheckVia, Expect, HealthCheck, LoadMonitor, DEFAULT_PING_COUNT};
pub use failover::FailoverService;
pub use millis::Millis;
pub use service::{
    ForwardMethod, MinUp, Persistence, Protocol, RealServer, Scheduler, SchedulerFlag, Vip,
    VirtualService, DEFAULT_DRAIN_TIMEOUT, KNOWN_SCHEDULERS,
};

use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The whole cluster: globals, virtual services and failover services.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Which service set runs: LVS virtual services or failover services
    /// (piranha `service = lvs|fos`).
    #[serde(default)]
    pub service: ServiceMode,
    /// Configuration serial number, informational (piranha `serial_no`).
    #[serde(default)]
    pub serial_no: u64,
    /// The routers of the cluster: a primary/backup pair, an ordered pool
    /// or ECMP directors.
    pub routers: Routers,
    /// Whether the backup routers take over at all (piranha `backup_active`).
    /// When false, no heartbeats are sent and a backup's pulse exits.
    /// Default: true in YAML; 0 in lvs.cf, as piranha.
    #[serde(default = "yes")]
    pub backup_active: bool,
    /// Whether a router higher in the order takes the active role back when
    /// it returns. piranha never fails back; false keeps that behaviour.
    #[serde(default)]
    pub preempt: bool,
    /// Whether standby routers keep lvsd, its nannies and the IPVS table
    /// running (hot, the default in both formats) or start them only when
    /// they take over (cold, piranha's behaviour).
    #[serde(default, skip_serializing_if = "Standby::is_hot")]
    pub standby: Standby,
    /// Heartbeat transport and timing.
    #[serde(default)]
    pub heartbeat: Heartbeat,
    /// Gratuitous ARP / unsolicited neighbour advertisement settings.
    #[serde(default)]
    pub arp: Arp,
    /// Global forwarding method of the real servers (piranha `network`).
    #[serde(default)]
    pub network: ForwardMethod,
    /// Floating gateway address of the real servers in NAT mode
    /// (piranha `nat_router` and `nat_nmask`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nat_router: Option<NatRouter>,
    /// IPVS connection synchronisation daemon; absent means not run
    /// (piranha `syncdaemon`, `syncd_iface`, `syncd_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_daemon: Option<SyncDaemon>,
    /// IPVS connection timeouts (piranha `tcp_timeout` and friends).
    #[serde(default)]
    pub ipvs_timeouts: IpvsTimeouts,
    /// IPVS's sloppy TCP and SCTP state tracking, which lets a router take
    /// a connection over in mid-flow (set by lvsd at start through
    /// `/proc/sys/net/ipv4/vs/sloppy_tcp` and `sloppy_sctp`). YAML only.
    #[serde(default, skip_serializing_if = "IpvsSloppy::is_unset")]
    pub ipvs_sloppy: IpvsSloppy,
    /// Command run when this router becomes active; split on spaces and run
    /// without a shell (piranha `active_cmd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_cmd: Option<String>,
    /// Command run when this router stands down and at start
    /// (piranha `inactive_cmd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactive_cmd: Option<String>,
    /// Stand down when the link of a heartbeat interface goes down
    /// (piranha `monitor_links`).
    #[serde(default)]
    pub monitor_links: bool,
    /// When a monitor dies: true makes lvsd exit so the peer takes over,
    /// false only logs (piranha `hard_shutdown`, default 1).
    #[serde(default = "yes")]
    pub hard_shutdown: bool,
    /// Remote shell used by the `uptime` load monitor (piranha `rsh_command`).
    #[serde(default)]
    pub rsh_command: RemoteShell,
    /// FOS shared-disk action when its reservation is held unexpectedly
    /// (piranha `reservation_conflict_action`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation_conflict_action: Option<ReservationConflictAction>,
    /// Paths of the programs the daemons start.
    #[serde(default)]
    pub paths: Paths,
    /// pulse's read-only HTTP listener (`/metrics`, `/status.json`); absent
    /// means nothing listens. YAML only: lvs.cf has no such key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<Http>,
    /// The LVS virtual services, in file order.
    #[serde(default)]
    pub virtual_services: Vec<VirtualService>,
    /// The failover (FOS) services, in file order, used with `service:
    /// fos`: the active router brings up their VIPs and runs them, and
    /// stands down when one fails its check, so that another router takes
    /// over and starts its copy.
    #[serde(default)]
    pub failover_services: Vec<FailoverService>,
}

pub(super) fn yes() -> bool {
    true
}

/// The schedulers that pick the same real server for a flow on every
/// director given the same destinations (Maglev, source and destination
/// hashing): the ones active-active routers may use.
pub const CONSISTENT_SCHEDULERS: [&str; 3] = ["mh", "sh", "dh"];

impl Config {
    /// Whether the routers are active-active behind ECMP (`routers: {
    /// ecmp: [...] }`); the rules of `validate/ecmp.rs` hold then.
    pub fn ecmp(&self) -> bool {
        self.routers.is_ecmp()
    }

    /// Whether lvsd sets `sloppy_tcp`, and to what: `None` leaves the
    /// kernel's value alone ([`IpvsSloppy`]).
    pub fn sloppy_tcp(&self) -> Option<bool> {
        self.ipvs_sloppy.tcp.or(self.ecmp().then_some(true))
    }

    /// [`Config::sloppy_tcp`] for `sloppy_sctp`.
    pub fn sloppy_sctp(&self) -> Option<bool> {
        self.ipvs_sloppy.sctp.or(self.ecmp().then_some(true))
    }
}

/// Which set of services runs (piranha `service`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceMode {
    /// LVS virtual services (the default).
    #[default]
    Lvs,
    /// Failover services (FOS).
    Fos,
}

/// What a standby router runs (`standby:`; lvs.cf `standby =`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standby {
    /// lvsd, its nannies and the IPVS table run on every router, without
    /// the VIPs on standby routers, so a takeover only moves the addresses.
    #[default]
    Hot,
    /// lvsd runs only on the active router (piranha): a takeover starts it,
    /// and the table is complete only after every nanny's first check.
    Cold,
}

impl Standby {
    /// The default, which the YAML writer leaves out.
    pub fn is_hot(&self) -> bool {
        *self == Standby::Hot
    }
}

/// The routers and how the active one is chosen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum Routers {
    /// piranha's pair: the router owning `primary.address` is the master.
    Pair {
        /// The primary router.
        primary: Router,
        /// The backup router; absent for a lone router.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        backup: Option<Router>,
    },
    /// Turbolinux's ATM pool: the first listed router that is up is active.
    Pool {
        /// Routers in election order.
        pool: Vec<Router>,
    },
    /// Active-active directors behind the upstream router's ECMP: every
    /// director that is fit serves at once. Each keeps the VIPs on a
    /// local interface that does not answer ARP (`lo` or a dummy; never
    /// gratuitously ARPed) and announces a host route per VIP in a kernel
    /// table that BIRD exports over BGP, only while lvsd's table is ready
    /// and each virtual service of the VIP has `min_servers` real servers
    /// up (`etc/bird-ecmp.conf`). No heartbeats. YAML only.
    Ecmp {
        /// The directors; each finds itself by owning its address.
        ecmp: Vec<EcmpRouter>,
        /// The kernel routing table pulse writes the VIP routes to and
        /// BIRD's `protocol kernel` learns them from (default 100; not
        /// 0, 253, 254 or 255, the kernel's own).
        #[serde(default = "default_route_table")]
        route_table: u32,
        /// Real servers up, in every virtual service of a VIP, for the
        /// VIP to be announced (default 1): a VIP below it is withdrawn,
        /// alone, so the upstream sends its flows to other directors.
        #[serde(default = "default_min_servers")]
        min_servers: u32,
    },
}

fn default_route_table() -> u32 {
    100
}

fn default_min_servers() -> u32 {
    1
}

/// One director of an ECMP group (`routers.ecmp[]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcmpRouter {
    /// Its name, unique in the group (`pulse --node NAME`, logs, status).
    pub name: String,
    /// Its own address: owning it identifies the director.
    pub address: IpAddr,
}

impl Routers {
    /// The routers that heartbeat, in order (primary first for a pair);
    /// none for ECMP directors, which do not.
    pub fn all(&self) -> Vec<&Router> {
        match self {
            Routers::Pair { primary, backup } => std::iter::once(primary).chain(backup).collect(),
            Routers::Pool { pool } => pool.iter().collect(),
            Routers::Ecmp { .. } => Vec::new(),
        }
    }

    /// Whether these are ECMP directors (active-active).
    pub fn is_ecmp(&self) -> bool {
        matches!(self, Routers::Ecmp { .. })
    }
}

/// One router of the cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Router {
    /// Public address: heartbeats are sent to it, and owning it identifies
    /// the router (piranha `primary` / `backup`).
    pub address: IpAddr,
    /// Private heartbeat address, a second channel; absent when there is
    /// only the public one (piranha `primary_private` / `backup_private`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<IpAddr>,
    /// Shared SCSI disk device as seen by this router, FOS only
    /// (piranha `primary_shared` / `backup_shared`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_disk: Option<PathBuf>,
}

/// Heartbeat transport and timing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// UDP port (piranha `heartbeat_port`, default 539).
    #[serde(default = "default_hb_port")]
    pub port: u16,
    /// Interval between heartbeats (piranha `keepalive`, default 2 s).
    #[serde(default = "default_keepalive")]
    pub keepalive: Millis,
    /// Silence after which a peer is declared dead (piranha `deadtime`,
    /// default 5 s).
    #[serde(default = "default_deadtime")]
    pub deadtime: Millis,
    /// Wire format of the heartbeats.
    #[serde(default)]
    pub protocol: HeartbeatProtocol,
    /// File holding the shared key that authenticates native heartbeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_key_file: Option<PathBuf>,
}

fn default_hb_port() -> u16 {
    539
}
fn default_keepalive() -> Millis {
    Millis::from_secs(2)
}
fn default_deadtime() -> Millis {
    Millis::from_secs(5)
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat {
            port: default_hb_port(),
            keepalive: default_keepalive(),
            deadtime: default_deadtime(),
            protocol: HeartbeatProtocol::default(),
            auth_key_file: None,
        }
    }
}

/// Heartbeat wire format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeartbeatProtocol {
    /// Authenticated heartbeats (HMAC-SHA256 with `auth_key_file`); the
    /// default for YAML files.
    #[default]
    Native,
    /// piranha's unauthenticated 4-byte magics, to pair with a running
    /// piranha pulse; the default for `lvs.cf` files.
    Piranha,
}

/// Gratuitous ARP (IPv4) / unsolicited neighbour advertisement (IPv6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arp {
    /// Announcements sent per address at takeover (piranha sends 5).
    #[serde(default = "default_arp_count")]
    pub count: u32,
    /// Time between those announcements (piranha: 1 s).
    #[serde(default = "default_arp_interval")]
    pub interval: Millis,
    /// Re-announce every this long while active; absent means never
    /// (Turbolinux `SendArpDelay`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<Millis>,
}

fn default_arp_count() -> u32 {
    5
}
fn default_arp_interval() -> Millis {
    Millis::from_secs(1)
}

impl Default for Arp {
    fn default() -> Self {
        Arp { count: default_arp_count(), interval: default_arp_interval(), refresh: None }
    }
}

/// The floating NAT gateway of the real servers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatRouter {
    /// The gateway address.
    pub address: IpAddr,
    /// Interface (or alias label such as `eth1:1`) that carries it.
    pub interface: String,
    /// Prefix length; absent means a host address (/32 or /128).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netmask: Option<u8>,
}

/// The IPVS connection synchronisation daemon.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncDaemon {
    /// Multicast interface (piranha `syncd_iface`, default `eth0`).
    #[serde(default = "default_sync_iface")]
    pub interface: String,
    /// Sync id 0-255 (piranha `syncd_id`, default 0).
    #[serde(default)]
    pub sync_id: u8,
    /// Run the daemon as master and backup at once on every router
    /// (default false: the active router is master, the others backup).
    /// Active-active routers share connection state both ways this way:
    /// each sends the connections it creates and receives the others'.
    /// lvsd then starts both daemons (and stops them when it stops), on
    /// every router, whatever its role; pulse leaves them alone. Needs
    /// `standby: hot`, where lvsd runs on every router. YAML only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub both: bool,
}

/// IPVS's sloppy state tracking ([`Config::ipvs_sloppy`]). A value that is
/// not given is off for a pair or a pool, whose one active router sees
/// every packet of a flow, and on for an ECMP cluster, where a flow may
/// move to another router in mid-flow; lvsd leaves the kernel's value
/// alone when it is off without being given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpvsSloppy {
    /// `sloppy_tcp`: a TCP connection is created from any packet, not
    /// only a SYN. Default: off for a pair or a pool (lvsd then leaves the
    /// kernel's value alone), on for active-active routers behind ECMP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<bool>,
    /// `sloppy_sctp`: an SCTP association is created from any chunk, not
    /// only an INIT. Default as `tcp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sctp: Option<bool>,
}

impl IpvsSloppy {
    /// Neither is given, which the YAML writer leaves out.
    pub fn is_unset(&self) -> bool {
        *self == IpvsSloppy::default()
    }
}

/// The firewall marks lvsd gives its private per-real-server services for
/// checks through the data path (`check: { via: vip }`): 0x4c560000 to
/// 0x4c56ffff (`LV` in the high half). A virtual service may not use one.
pub const DATAPATH_MARKS: std::ops::RangeInclusive<u32> = 0x4c56_0000..=0x4c56_ffff;

fn default_sync_iface() -> String {
    "eth0".to_owned()
}

/// IPVS connection timeouts in seconds; 0 leaves the kernel's value
/// unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpvsTimeouts {
    /// Established TCP sessions, seconds.
    #[serde(default)]
    pub tcp: u32,
    /// TCP sessions after a FIN, seconds.
    #[serde(default)]
    pub tcpfin: u32,
    /// UDP, seconds.
    #[serde(default)]
    pub udp: u32,
}

/// Remote shell for the `uptime` load monitor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoteShell {
    /// `rsh` (piranha's default).
    #[default]
    Rsh,
    /// `ssh`.
    Ssh,
}

/// FOS shared-disk reservation conflict action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReservationConflictAction {
    /// Do nothing.
    Nothing,
    /// Take the reservation over.
    Preempt,
}

/// pulse's HTTP listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Http {
    /// Address and port to listen on, e.g. `127.0.0.1:9539`.
    pub listen: std::net::SocketAddr,
}

/// Paths of the programs the daemons start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paths {
    /// lvsd, started by pulse (default `/usr/sbin/lvsd`).
    #[serde(default = "default_lvsd")]
    pub lvsd: PathBuf,
    /// nanny, started by lvsd (default `/usr/sbin/nanny`).
    #[serde(default = "default_nanny")]
    pub nanny: PathBuf,
    /// ipvsadm (piranha `ipvsadm`, default `/sbin/ipvsadm`).
    #[serde(default = "default_ipvsadm")]
    pub ipvsadm: PathBuf,
    /// fos, started by pulse in FOS mode (default `/usr/sbin/fos`).
    #[serde(default = "default_fos")]
    pub fos: PathBuf,
    /// send_arp (default `/usr/sbin/send_arp`): accepted for piranha
    /// compatibility; pulse announces VIPs itself and does not run it.
    #[serde(default = "default_send_arp")]
    pub send_arp: PathBuf,
    /// The operator's overrides (drain, disable, weights), written by pulse
    /// and read by lvsd (default `/var/lib/lvs-router/overrides`).
    #[serde(default = "default_overrides")]
    pub overrides: PathBuf,
}

fn default_overrides() -> PathBuf {
    "/var/lib/lvs-router/overrides".into()
}

fn default_lvsd() -> PathBuf {
    "/usr/sbin/lvsd".into()
}
fn default_nanny() -> PathBuf {
    "/usr/sbin/nanny".into()
}
fn default_ipvsadm() -> PathBuf {
    "/sbin/ipvsadm".into()
}
fn default_fos() -> PathBuf {
    "/usr/sbin/fos".into()
}
fn default_send_arp() -> PathBuf {
    "/usr/sbin/send_arp".into()
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            lvsd: default_lvsd(),
            nanny: default_nanny(),
            ipvsadm: default_ipvsadm(),
            fos: default_fos(),
            send_arp: default_send_arp(),
            overrides: default_overrides(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (text, ms) in [
            ("6", 6000),
            ("0.5", 500),
            (".25", 250),
            ("1.", 1000),
            ("1.250s", 1250),
            ("2s", 2000),
            ("500ms", 500),
            (" 7 ", 7000),
        ] {
            assert_eq!(Millis::parse(text), Ok(Millis(ms)), "{text}");
        }
        for text in ["", ".", "-1", "1e3", "0.0001", "1.5ms", "s", "ms", "99999999999999999999"] {
            assert!(Millis::parse(text).is_err(), "{text}");
        }
        assert_eq!(Millis(1500).to_string(), "1500ms");
        assert_eq!(Millis(2000).to_string(), "2s");
    }
}
