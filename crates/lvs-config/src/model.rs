//! The typed model of one cluster: what every daemon of the suite reads.
//!
//! Both front ends (YAML and piranha's `lvs.cf`) produce these types, and the
//! YAML writer prints them. The serde layout of these types *is* the YAML
//! format: field names are the YAML keys. Values that have a unit say so in
//! their type ([`Millis`]) or in their documentation (seconds for the IPVS
//! values, which the kernel keeps in seconds).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration in milliseconds.
///
/// Written in YAML as whole seconds when it is a whole number of seconds
/// (`6`), otherwise as milliseconds with a unit (`"1500ms"`). Read from a
/// number of seconds (`6`, `0.5`) or a string with a unit (`"500ms"`, `"2s"`,
/// `"1.5s"`); see [`Millis::parse`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Millis(pub u64);

impl Millis {
    /// A duration of `s` whole seconds.
    pub const fn from_secs(s: u64) -> Millis {
        Millis(s.saturating_mul(1000))
    }

    /// The duration as a [`std::time::Duration`].
    pub fn to_duration(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0)
    }

    /// Parses `6`, `0.5`, `1.25s`, `500ms`: seconds unless the unit is `ms`.
    ///
    /// At most millisecond precision is accepted; the error is a plain
    /// lowercase message.
    pub fn parse(text: &str) -> Result<Millis, String> {
        let t = text.trim();
        let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
            (n.trim_end(), 1u64)
        } else if let Some(n) = t.strip_suffix('s') {
            (n.trim_end(), 1000u64)
        } else {
            (t, 1000u64)
        };
        let bad =
            || format!("invalid duration `{text}` (use seconds such as `2` or `0.5`, or `500ms`)");
        if num.is_empty() {
            return Err(bad());
        }
        let (int, frac) = match num.split_once('.') {
            Some((i, f)) => (i, f),
            None => (num, ""),
        };
        if int.is_empty() && frac.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || (int.is_empty() && num.starts_with('.') && frac.is_empty())
        {
            return Err(bad());
        }
        let int_val: u64 = if int.is_empty() { 0 } else { int.parse().map_err(|_| bad())? };
        let frac_digits = frac.trim_end_matches('0');
        let allowed = if scale == 1000 { 3 } else { 0 };
        if frac_digits.len() > allowed {
            return Err(format!("duration `{text}` is finer than one millisecond"));
        }
        let mut frac_ms = 0u64;
        if !frac_digits.is_empty() {
            let padded = format!("{frac_digits:0<3}");
            frac_ms = padded.parse().map_err(|_| bad())?;
        }
        int_val
            .checked_mul(scale)
            .and_then(|v| v.checked_add(frac_ms))
            .map(Millis)
            .ok_or_else(|| format!("duration `{text}` is too large"))
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(1000) {
            write!(f, "{}s", self.0 / 1000)
        } else {
            write!(f, "{}ms", self.0)
        }
    }
}

impl Serialize for Millis {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_multiple_of(1000) {
            s.serialize_u64(self.0 / 1000)
        } else {
            s.serialize_str(&format!("{}ms", self.0))
        }
    }
}

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Millis, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Millis;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration in seconds or a string such as \"500ms\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Millis, E> {
                v.checked_mul(1000).map(Millis).ok_or_else(|| E::custom("duration too large"))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Millis, E> {
                let v = u64::try_from(v).map_err(|_| E::custom("negative duration"))?;
                self.visit_u64(v)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Millis, E> {
                Millis::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Millis, E> {
                Millis::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

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
    /// The routers of the cluster: a primary/backup pair or an ordered pool.
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

fn yes() -> bool {
    true
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
}

impl Routers {
    /// All routers, in order (primary first for a pair).
    pub fn all(&self) -> Vec<&Router> {
        match self {
            Routers::Pair { primary, backup } => std::iter::once(primary).chain(backup).collect(),
            Routers::Pool { pool } => pool.iter().collect(),
        }
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

/// How IPVS forwards packets to a real server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForwardMethod {
    /// Masquerading, ipvsadm `-m` (piranha `nat`, the default).
    #[default]
    Nat,
    /// Direct routing, ipvsadm `-g` (piranha `direct`).
    Direct,
    /// IP-in-IP tunnelling, ipvsadm `-i` (piranha `tunnel`).
    Tunnel,
}

impl ForwardMethod {
    /// The lowercase name used in both file formats.
    pub fn name(self) -> &'static str {
        match self {
            ForwardMethod::Nat => "nat",
            ForwardMethod::Direct => "direct",
            ForwardMethod::Tunnel => "tunnel",
        }
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
}

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

/// A virtual IP address and the interface that carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vip {
    /// The virtual IP address (IPv4 or IPv6).
    pub address: IpAddr,
    /// Interface or IPv4 alias label (`eth0:1`) to bring it up on.
    pub interface: String,
    /// Prefix length; absent means a host address (/32 or /128)
    /// (piranha `vip_nmask`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netmask: Option<u8>,
}

/// Transport protocol of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// TCP (the default).
    #[default]
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    /// The lowercase name used in both file formats.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// The schedulers of the Linux kernel (`ip_vs_*.ko`).
pub const KNOWN_SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos",
];

/// An IPVS scheduler name. Any name is accepted, since a module may add
/// schedulers; [`Scheduler::is_known`] tells whether the kernel ships it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Scheduler(pub String);

impl Scheduler {
    /// Whether the mainline kernel ships this scheduler.
    pub fn is_known(&self) -> bool {
        KNOWN_SCHEDULERS.contains(&self.0.as_str())
    }
}

impl Default for Scheduler {
    /// `wlc`, the default of piranha and ipvsadm.
    fn default() -> Self {
        Scheduler("wlc".to_owned())
    }
}

/// A scheduler flag (ipvsadm `-b`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SchedulerFlag {
    /// `flag-1`: `sh-fallback` / `mh-fallback`.
    #[serde(rename = "flag-1")]
    Flag1,
    /// `flag-2`: `sh-port` / `mh-port`.
    #[serde(rename = "flag-2")]
    Flag2,
    /// `flag-3`.
    #[serde(rename = "flag-3")]
    Flag3,
}

impl SchedulerFlag {
    /// The generic name (`flag-1`...).
    pub fn name(self) -> &'static str {
        match self {
            SchedulerFlag::Flag1 => "flag-1",
            SchedulerFlag::Flag2 => "flag-2",
            SchedulerFlag::Flag3 => "flag-3",
        }
    }
}

/// Persistence of a virtual service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Persistence {
    /// Persistence timeout in seconds, at least 1 (piranha `persistent`).
    pub timeout: u32,
    /// Client granularity as a prefix length; absent means per client
    /// address (/32 or /128) (piranha `pmask`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netmask: Option<u8>,
}

/// An LVS virtual service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualService {
    /// Name, unique among virtual services.
    pub name: String,
    /// Inactive services are neither loaded nor checked (piranha `active`).
    /// Default: true in YAML; 0 in lvs.cf, as piranha.
    #[serde(default = "yes")]
    pub active: bool,
    /// The virtual IP and its interface (piranha `address`, `vip_nmask`).
    pub vip: Vip,
    /// Virtual port, and the default port of the real servers; with a
    /// firewall mark it is only that default and the check port.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Firewall mark: when set, the service is `-f MARK` instead of
    /// `VIP:port` (piranha `fwmark`, where 0 means none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    /// Transport protocol.
    #[serde(default)]
    pub protocol: Protocol,
    /// Scheduler (default `wlc`).
    #[serde(default)]
    pub scheduler: Scheduler,
    /// Scheduler flags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scheduler_flags: Vec<SchedulerFlag>,
    /// Persistence; absent means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<Persistence>,
    /// One-packet scheduling (ipvsadm `-o`), UDP or fwmark services only.
    #[serde(default)]
    pub one_packet: bool,
    /// Server added with weight 1 when no real server is up
    /// (piranha `sorry_server`; the port defaults to the virtual port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sorry_server: Option<SocketAddr>,
    /// Monitor program for this service, overriding `paths.nanny`
    /// (piranha `client_monitor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<PathBuf>,
    /// How the real servers are checked. Without one, YAML gives a plain
    /// connect check; lvs.cf follows piranha, whose check on virtual port 80
    /// with no `send`/`expect`/`send_program` is an HTTP GET expecting `HTTP`.
    #[serde(default)]
    pub check: HealthCheck,
    /// The real servers, in file order.
    #[serde(default)]
    pub real_servers: Vec<RealServer>,
    /// Depool threshold (PyBal's `depool_threshold`): when failing checks
    /// would leave fewer real servers in than this, `50%` of the active
    /// real servers or a count such as `2`, the servers that failed last
    /// stay in at their weight, marked "kept by threshold" with a warning.
    /// An operator's `disable` or `drain` is not limited by it. Absent
    /// (the default): off. YAML only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_up: Option<MinUp>,
    /// How long a drained real server (`pulse --control drain`, or one a
    /// reload removed) may keep connections before it is deleted anyway
    /// (default 300 s). YAML only.
    #[serde(default = "default_drain_timeout", skip_serializing_if = "is_default_drain_timeout")]
    pub drain_timeout: Millis,
}

fn default_port() -> u16 {
    80
}

/// The default of [`VirtualService::drain_timeout`].
pub const DEFAULT_DRAIN_TIMEOUT: Millis = Millis::from_secs(300);

fn default_drain_timeout() -> Millis {
    DEFAULT_DRAIN_TIMEOUT
}

fn is_default_drain_timeout(m: &Millis) -> bool {
    *m == DEFAULT_DRAIN_TIMEOUT
}

/// A depool threshold ([`VirtualService::min_up`]): written `50%` or `2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MinUp {
    /// This percentage (1-100) of the active real servers, rounded up.
    Percent(u8),
    /// This many real servers.
    Count(u32),
}

impl MinUp {
    /// How many of `total` real servers must stay in.
    pub fn of(self, total: usize) -> usize {
        match self {
            MinUp::Percent(p) => (total * usize::from(p)).div_ceil(100),
            MinUp::Count(n) => usize::try_from(n).unwrap_or(usize::MAX).min(total),
        }
    }

    /// Parses `50%` or `2`; the error is a plain lowercase message.
    pub fn parse(text: &str) -> Result<MinUp, String> {
        let t = text.trim();
        let bad = || {
            format!("invalid threshold `{text}` (use a percentage such as `50%` or a count such as `2`)")
        };
        if let Some(p) = t.strip_suffix('%') {
            match p.trim_end().parse::<u8>() {
                Ok(p) if (1..=100).contains(&p) => Ok(MinUp::Percent(p)),
                _ => Err(bad()),
            }
        } else {
            t.parse::<u32>().map(MinUp::Count).map_err(|_| bad())
        }
    }
}

impl fmt::Display for MinUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MinUp::Percent(p) => write!(f, "{p}%"),
            MinUp::Count(n) => write!(f, "{n}"),
        }
    }
}

impl Serialize for MinUp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MinUp::Percent(_) => s.serialize_str(&self.to_string()),
            MinUp::Count(n) => s.serialize_u32(*n),
        }
    }
}

impl<'de> Deserialize<'de> for MinUp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u32),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(MinUp::Count(n)),
            Raw::S(s) => MinUp::parse(&s).map_err(serde::de::Error::custom),
        }
    }
}

/// A real server of a virtual service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealServer {
    /// Name, unique within its virtual service.
    pub name: String,
    /// Address.
    pub address: IpAddr,
    /// Port to forward to and check; the front ends fill in the virtual
    /// port when it is not given.
    pub port: u16,
    /// Base weight, 0-65535 (ipvsadm's range; default 1).
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Forwarding method for this server, overriding the global `network`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarding: Option<ForwardMethod>,
    /// Upper connection threshold; 0 means none.
    #[serde(default)]
    pub upper_threshold: u32,
    /// Lower connection threshold; 0 means none.
    #[serde(default)]
    pub lower_threshold: u32,
    /// Only active servers are monitored and used (piranha `active`).
    /// Default: true in YAML; 0 in lvs.cf, as piranha.
    #[serde(default = "yes")]
    pub active: bool,
}

fn default_weight() -> u32 {
    1
}

/// How a service is checked, and what a result does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// The probe.
    #[serde(flatten)]
    pub kind: CheckKind,
    /// Time between checks (piranha `timeout`, default 10 s).
    #[serde(default = "default_interval")]
    pub interval: Millis,
    /// Limit on one check; absent means the interval, as piranha does
    /// (see [`HealthCheck::effective_timeout`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Millis>,
    /// How long a failed server must keep succeeding to return: it is
    /// re-admitted at the `reentry / interval`th check in a row that
    /// succeeds (at least one), as piranha counts (`reentry`, default 180 s).
    #[serde(default = "default_reentry")]
    pub reentry: Millis,
    /// Extra failed checks tolerated before a server is declared down;
    /// 0 (the default) is piranha's behaviour: one failure removes it.
    #[serde(default)]
    pub retries: u32,
    /// Set a failed server's weight to 0 instead of removing it
    /// (piranha `quiesce_server`).
    #[serde(default)]
    pub quiesce: bool,
    /// Load source for dynamic weights (piranha `load_monitor`).
    #[serde(default)]
    pub load_monitor: LoadMonitor,
}

fn default_interval() -> Millis {
    Millis::from_secs(10)
}
fn default_reentry() -> Millis {
    Millis::from_secs(180)
}

impl Default for HealthCheck {
    fn default() -> Self {
        HealthCheck {
            kind: CheckKind::default(),
            interval: default_interval(),
            timeout: None,
            reentry: default_reentry(),
            retries: 0,
            quiesce: false,
            load_monitor: LoadMonitor::None,
        }
    }
}

impl HealthCheck {
    /// The limit on one check: `timeout`, or else the interval.
    pub fn effective_timeout(&self) -> Millis {
        self.timeout.unwrap_or(self.interval)
    }
}

/// The probe of a health check, written `type: ...` in YAML.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CheckKind {
    /// Connect (TCP or UDP, as the service), optionally send a string and
    /// compare the reply (piranha `send`, `expect`, `use_regex`).
    Connect {
        /// Bytes to send after connecting; escapes are already decoded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        send: Option<String>,
        /// Expected start of the reply; `*` alone means any reply of at
        /// least one byte; see [`CheckKind::expect_matcher`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expect: Option<String>,
        /// `expect` is an extended regular expression.
        #[serde(default)]
        regex: bool,
    },
    /// piranha `send_program`: run a command (no shell; the tokens `%h` and
    /// `%p` become the server address and port) and compare its output.
    Program {
        /// The command line.
        command: String,
        /// Expected output, compared exactly after dropping its last byte
        /// (the newline). piranha counts a check without it as failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expect: Option<String>,
    },
    /// Turbolinux agent: run `command IP PORT 1|2` (1 = TCP, 2 = UDP); exit
    /// status 0 means up.
    Agent {
        /// The agent's command line, before the three arguments.
        command: String,
        /// Run with the same arguments when the server comes up.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_up: Option<String>,
        /// Run with the same arguments when the server goes down.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_down: Option<String>,
    },
    /// HTTP GET, up when the status is one of `status` (and the body
    /// matches `body_regex` if set).
    Http {
        /// Request path, starting with `/`.
        #[serde(default = "default_http_path")]
        path: String,
        /// Host header; default the server address.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
        /// Accepted status codes (default 200).
        #[serde(default = "default_http_status")]
        status: Vec<u16>,
        /// Regular expression the body must match.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body_regex: Option<String>,
        /// Speak HTTPS (TLS) instead of plain HTTP.
        #[serde(default)]
        tls: bool,
    },
    /// ICMP echo (keepalived PING_CHECK, Turbolinux's server ping): `count`
    /// echo requests sent at once, up at the first reply within the timeout.
    Ping {
        /// Echo requests per check (1-100, default 3).
        #[serde(default = "default_ping_count")]
        count: u16,
    },
    /// DNS (keepalived DNS_CHECK, Seesaw's DNS): one query for `query`
    /// over UDP to the real server's port, up when the response is NOERROR
    /// with a `record` record in its answer (any answer record without
    /// `record`, asking type A).
    Dns {
        /// The name asked.
        query: String,
        /// The record type the answer must hold: A, NS, CNAME, SOA, PTR,
        /// MX, TXT, AAAA or SRV.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        record: Option<String>,
    },
    /// No probe: the server is always up (Turbolinux `none`).
    None,
}

/// Echo requests per `ping` check by default: one lost datagram alone does
/// not fail a check.
pub const DEFAULT_PING_COUNT: u16 = 3;
fn default_ping_count() -> u16 {
    DEFAULT_PING_COUNT
}

fn default_http_path() -> String {
    "/".to_owned()
}
fn default_http_status() -> Vec<u16> {
    vec![200]
}

impl Default for CheckKind {
    /// A plain connect check.
    fn default() -> Self {
        CheckKind::Connect { send: None, expect: None, regex: false }
    }
}

/// How a connect check's reply is judged, as nanny does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect<'a> {
    /// `*`: any reply of at least one byte.
    Any,
    /// The reply starts with these bytes.
    Prefix(&'a str),
    /// The reply matches this extended regular expression.
    Regex(&'a str),
}

impl CheckKind {
    /// The reply matcher of a connect check, if it expects anything.
    pub fn expect_matcher(&self) -> Option<Expect<'_>> {
        match self {
            CheckKind::Connect { expect: Some(e), regex, .. } => Some(if *regex {
                Expect::Regex(e)
            } else if e == "*" {
                Expect::Any
            } else {
                Expect::Prefix(e)
            }),
            _ => None,
        }
    }

    /// The YAML `type` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            CheckKind::Connect { .. } => "connect",
            CheckKind::Program { .. } => "program",
            CheckKind::Agent { .. } => "agent",
            CheckKind::Http { .. } => "http",
            CheckKind::Ping { .. } => "ping",
            CheckKind::Dns { .. } => "dns",
            CheckKind::None => "none",
        }
    }
}

/// Load source for dynamic weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadMonitor {
    /// No load adjustment (piranha's code default).
    #[default]
    None,
    /// `rsh|ssh SERVER uptime`, with the global `rsh_command`.
    Uptime,
    /// `rup SERVER` (needs rstatd).
    Rup,
    /// `ruptime SERVER` (needs rwhod).
    Ruptime,
}

/// A failover (FOS) service: a service moved between the routers by
/// running its start and stop commands. pulse runs it on the active router
/// (`stop_cmd`, then `start_cmd`) with a nanny that checks it there, and
/// keeps it stopped on the others (`stop_cmd` at start and on standing
/// down). piranha's backup checked the active router's copy instead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailoverService {
    /// Name, unique among failover services.
    pub name: String,
    /// Only active failover services are used.
    /// Default: true in YAML; 0 in lvs.cf, as piranha.
    #[serde(default = "yes")]
    pub active: bool,
    /// The service address and its interface.
    pub vip: Vip,
    /// Port checked on the active router, at the VIP (default 80).
    #[serde(default = "default_port")]
    pub port: u16,
    /// Transport protocol.
    #[serde(default)]
    pub protocol: Protocol,
    /// How the service is checked on the active router: `connect`
    /// (piranha's `send`/`expect`), `program` (`send_program`) or `none`.
    /// A failed check, or none passed within two intervals and a timeout
    /// of `start_cmd`, makes the router stand down; `reentry` is not used
    /// (one good check is up).
    #[serde(default)]
    pub check: HealthCheck,
    /// Monitor program, overriding `paths.nanny` (piranha `client_monitor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<PathBuf>,
    /// Starts the service on the router becoming active; split on spaces,
    /// no shell; waited for (at most 60 s) before the check starts.
    pub start_cmd: String,
    /// Stops the service: before `start_cmd`, at pulse's start and when
    /// the router stands down; split on spaces, no shell; must be
    /// repeatable (piranha).
    pub stop_cmd: String,
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
