//! The IPVS table as typed values: services, destinations, statistics,
//! timeouts, sync daemons and the commands that change them.
//!
//! Pure data, no IO. Names follow the kernel's `include/uapi/linux/ip_vs.h`
//! (where the kernel is the specification) and ipvsadm's vocabulary.
//! Everything the kernel may send that we do not model yet is kept, never
//! dropped: enums have `Other(..)`, flag words keep unknown bits, and
//! unknown attributes are carried in `other_attrs` and re-emitted.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// An attribute the model does not know, kept byte for byte.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RawAttr {
    /// The attribute type, flag bits (`NLA_F_NESTED`, `NLA_F_NET_BYTEORDER`) included.
    pub kind: u16,
    /// The payload, without padding.
    pub payload: Vec<u8>,
}

/// Address family of a service or destination (`AF_INET` / `AF_INET6`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4, `AF_INET` (2).
    Inet,
    /// IPv6, `AF_INET6` (10).
    Inet6,
}

impl Family {
    /// The kernel's `AF_*` number.
    pub fn to_raw(self) -> u16 {
        match self {
            Family::Inet => libc::AF_INET as u16,
            Family::Inet6 => libc::AF_INET6 as u16,
        }
    }

    /// `None` for a family IPVS does not balance.
    pub fn from_raw(af: u16) -> Option<Family> {
        match i32::from(af) {
            libc::AF_INET => Some(Family::Inet),
            libc::AF_INET6 => Some(Family::Inet6),
            _ => None,
        }
    }

    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }
}

/// Transport protocol of a virtual service (`IPVS_SVC_ATTR_PROTOCOL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// `IPPROTO_TCP` (6), ipvsadm `-t`.
    Tcp,
    /// `IPPROTO_UDP` (17), ipvsadm `-u`.
    Udp,
    /// `IPPROTO_SCTP` (132), ipvsadm `--sctp-service`.
    Sctp,
    /// Any other protocol number, kept as sent.
    Other(u16),
}

impl Protocol {
    /// The IP protocol number.
    pub fn to_raw(self) -> u16 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
            Protocol::Other(p) => p,
        }
    }

    /// From an IP protocol number; unknown numbers become `Other`.
    pub fn from_raw(p: u16) -> Protocol {
        match p {
            6 => Protocol::Tcp,
            17 => Protocol::Udp,
            132 => Protocol::Sctp,
            p => Protocol::Other(p),
        }
    }
}

/// What identifies a virtual service in the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceKey {
    /// A protocol/address/port service (`-t`, `-u`, `--sctp-service`).
    Addr {
        /// The transport protocol.
        protocol: Protocol,
        /// The virtual address; its family is the service's family.
        addr: IpAddr,
        /// The virtual port (0 for "any port" with persistence).
        port: u16,
    },
    /// A firewall-mark service (`-f MARK`, with `-6` for IPv6).
    Fwmark {
        /// The address family of the marked packets.
        family: Family,
        /// The netfilter mark (non-zero).
        mark: u32,
    },
}

impl ServiceKey {
    /// A TCP service on `addr:port`.
    pub fn tcp(addr: IpAddr, port: u16) -> ServiceKey {
        ServiceKey::Addr { protocol: Protocol::Tcp, addr, port }
    }

    /// A UDP service on `addr:port`.
    pub fn udp(addr: IpAddr, port: u16) -> ServiceKey {
        ServiceKey::Addr { protocol: Protocol::Udp, addr, port }
    }

    /// An SCTP service on `addr:port`.
    pub fn sctp(addr: IpAddr, port: u16) -> ServiceKey {
        ServiceKey::Addr { protocol: Protocol::Sctp, addr, port }
    }

    /// A firewall-mark service.
    pub fn fwmark(family: Family, mark: u32) -> ServiceKey {
        ServiceKey::Fwmark { family, mark }
    }

    /// The service's address family.
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr { protocol, addr, port } => {
                let proto = match protocol {
                    Protocol::Tcp => "TCP".to_string(),
                    Protocol::Udp => "UDP".to_string(),
                    Protocol::Sctp => "SCTP".to_string(),
                    Protocol::Other(p) => format!("proto {p}"),
                };
                match addr {
                    IpAddr::V4(a) => write!(f, "{proto} {a}:{port}"),
                    IpAddr::V6(a) => write!(f, "{proto} [{a}]:{port}"),
                }
            }
            ServiceKey::Fwmark { family: Family::Inet, mark } => write!(f, "FWM {mark}"),
            ServiceKey::Fwmark { family: Family::Inet6, mark } => write!(f, "FWM {mark} IPv6"),
        }
    }
}

/// Service flag word (`struct ip_vs_flags.flags`), unknown bits kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceFlags(pub u32);

impl ServiceFlags {
    /// `IP_VS_SVC_F_PERSISTENT`: persistent port (ipvsadm `-p`).
    pub const PERSISTENT: ServiceFlags = ServiceFlags(0x0001);
    /// `IP_VS_SVC_F_HASHED`: set by the kernel, ignored on add.
    pub const HASHED: ServiceFlags = ServiceFlags(0x0002);
    /// `IP_VS_SVC_F_ONEPACKET`: one-packet scheduling (ipvsadm `-o`).
    pub const ONEPACKET: ServiceFlags = ServiceFlags(0x0004);
    /// `IP_VS_SVC_F_SCHED1`: scheduler flag 1 (`sh-fallback`, `mh-fallback`, `flag-1`).
    pub const SCHED1: ServiceFlags = ServiceFlags(0x0008);
    /// `IP_VS_SVC_F_SCHED2`: scheduler flag 2 (`sh-port`, `mh-port`, `flag-2`).
    pub const SCHED2: ServiceFlags = ServiceFlags(0x0010);
    /// `IP_VS_SVC_F_SCHED3`: scheduler flag 3 (`flag-3`).
    pub const SCHED3: ServiceFlags = ServiceFlags(0x0020);

    /// True when every bit of `other` is set.
    pub fn contains(self, other: ServiceFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The scheduler flags (`-b`) part of this word.
    pub fn sched(self) -> SchedFlags {
        SchedFlags(self.0 & SchedFlags::ALL.0)
    }
}

impl std::ops::BitOr for ServiceFlags {
    type Output = ServiceFlags;
    fn bitor(self, rhs: ServiceFlags) -> ServiceFlags {
        ServiceFlags(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for ServiceFlags {
    fn bitor_assign(&mut self, rhs: ServiceFlags) {
        self.0 |= rhs.0;
    }
}

/// The scheduler flags of a service (ipvsadm `-b`), as bits of the service flag word.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SchedFlags(pub u32);

impl SchedFlags {
    /// `flag-1`; `sh-fallback` for `sh`, `mh-fallback` for `mh`.
    pub const FLAG1: SchedFlags = SchedFlags(0x0008);
    /// `flag-2`; `sh-port` for `sh`, `mh-port` for `mh`.
    pub const FLAG2: SchedFlags = SchedFlags(0x0010);
    /// `flag-3`.
    pub const FLAG3: SchedFlags = SchedFlags(0x0020);
    /// All three scheduler flags.
    pub const ALL: SchedFlags = SchedFlags(0x0038);

    /// The bit for one of ipvsadm's `-b` names.
    pub fn from_name(name: &str) -> Option<SchedFlags> {
        match name {
            "flag-1" | "sh-fallback" | "mh-fallback" => Some(SchedFlags::FLAG1),
            "flag-2" | "sh-port" | "mh-port" => Some(SchedFlags::FLAG2),
            "flag-3" => Some(SchedFlags::FLAG3),
            _ => None,
        }
    }
}

impl From<SchedFlags> for ServiceFlags {
    fn from(f: SchedFlags) -> ServiceFlags {
        ServiceFlags(f.0)
    }
}

/// Persistence granularity (`IPVS_SVC_ATTR_NETMASK`).
///
/// The kernel reads the attribute with `nla_get_be32` for both families:
/// an IPv4 service carries the mask bytes in network order, an IPv6
/// service carries the prefix length as a host-endian u32 (1..=128).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Netmask {
    /// IPv4 mask, e.g. 255.255.255.255 (ipvsadm's default).
    V4(Ipv4Addr),
    /// IPv6 prefix length, 128 by default.
    V6Prefix(u32),
}

impl Netmask {
    /// ipvsadm's default for a family: /32 as a mask, or prefix 128.
    pub fn full(family: Family) -> Netmask {
        match family {
            Family::Inet => Netmask::V4(Ipv4Addr::BROADCAST),
            Family::Inet6 => Netmask::V6Prefix(128),
        }
    }

    /// The four payload bytes as the kernel expects them.
    pub fn to_wire(self) -> [u8; 4] {
        match self {
            Netmask::V4(m) => m.octets(),
            Netmask::V6Prefix(p) => p.to_ne_bytes(),
        }
    }

    /// Read the four payload bytes for a service of `family`.
    pub fn from_wire(family: Family, bytes: [u8; 4]) -> Netmask {
        match family {
            Family::Inet => Netmask::V4(Ipv4Addr::from(bytes)),
            Family::Inet6 => Netmask::V6Prefix(u32::from_ne_bytes(bytes)),
        }
    }
}

/// Kernel statistics in the 32-bit layout (`IPVS_SVC_ATTR_STATS`): counters
/// and rates are truncated to u32, only the byte counters are u64.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub struct Stats {
    pub conns: u32,
    pub inpkts: u32,
    pub outpkts: u32,
    pub inbytes: u64,
    pub outbytes: u64,
    pub cps: u32,
    pub inpps: u32,
    pub outpps: u32,
    pub inbps: u32,
    pub outbps: u32,
}

/// Kernel statistics, all 64-bit (`IPVS_SVC_ATTR_STATS64`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub struct Stats64 {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

/// A virtual service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// What identifies it.
    pub key: ServiceKey,
    /// Scheduler module name without the `ip_vs_` prefix (`wlc`, `rr`,
    /// `twos`, ...); the kernel reports `none` when there is none.
    pub scheduler: String,
    /// Flags: persistence, one-packet, scheduler flags, unknown bits.
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (meaningful with `PERSISTENT`).
    pub timeout: u32,
    /// Persistence netmask.
    pub netmask: Netmask,
    /// Persistence engine (`sip`), if any.
    pub pe_name: Option<String>,
    /// 32-bit statistics, present in kernel replies.
    pub stats: Option<Stats>,
    /// 64-bit statistics, present in kernel replies.
    pub stats64: Option<Stats64>,
    /// Attributes this model does not know, re-emitted as they came.
    pub other_attrs: Vec<RawAttr>,
}

impl Service {
    /// A service as `ipvsadm -A` builds it by default: scheduler `wlc`, no
    /// flags, timeout 0 and the full netmask of its family.
    pub fn new(key: ServiceKey) -> Service {
        Service {
            key,
            scheduler: "wlc".to_string(),
            flags: ServiceFlags::default(),
            timeout: 0,
            netmask: Netmask::full(key.family()),
            pe_name: None,
            stats: None,
            stats64: None,
            other_attrs: Vec::new(),
        }
    }

    /// Set the scheduler.
    pub fn with_scheduler(mut self, name: &str) -> Service {
        self.scheduler = name.to_string();
        self
    }

    /// Make it persistent (`-p timeout`), setting `PERSISTENT`.
    pub fn with_persistence(mut self, timeout: u32, netmask: Netmask) -> Service {
        self.flags |= ServiceFlags::PERSISTENT;
        self.timeout = timeout;
        self.netmask = netmask;
        self
    }

    /// True when the `PERSISTENT` flag is set.
    pub fn is_persistent(&self) -> bool {
        self.flags.contains(ServiceFlags::PERSISTENT)
    }

    /// True when one-packet scheduling (`-o`) is on.
    pub fn is_one_packet(&self) -> bool {
        self.flags.contains(ServiceFlags::ONEPACKET)
    }
}

/// How packets reach a real server (`IPVS_DEST_ATTR_FWD_METHOD`, the
/// `IP_VS_CONN_F_FWD_MASK` part of the connection flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ForwardMethod {
    /// `IP_VS_CONN_F_MASQ` (0): NAT, ipvsadm `-m`.
    Masq,
    /// `IP_VS_CONN_F_LOCALNODE` (1): the router itself.
    Local,
    /// `IP_VS_CONN_F_TUNNEL` (2): IP-in-IP/GUE/GRE, ipvsadm `-i`.
    Tunnel,
    /// `IP_VS_CONN_F_DROUTE` (3): direct routing, ipvsadm `-g`.
    Route,
    /// `IP_VS_CONN_F_BYPASS` (4): cache bypass.
    Bypass,
    /// Any other value, kept as sent.
    Other(u32),
}

impl ForwardMethod {
    /// The wire value.
    pub fn to_raw(self) -> u32 {
        match self {
            ForwardMethod::Masq => 0,
            ForwardMethod::Local => 1,
            ForwardMethod::Tunnel => 2,
            ForwardMethod::Route => 3,
            ForwardMethod::Bypass => 4,
            ForwardMethod::Other(v) => v,
        }
    }

    /// From the wire value.
    pub fn from_raw(v: u32) -> ForwardMethod {
        match v {
            0 => ForwardMethod::Masq,
            1 => ForwardMethod::Local,
            2 => ForwardMethod::Tunnel,
            3 => ForwardMethod::Route,
            4 => ForwardMethod::Bypass,
            v => ForwardMethod::Other(v),
        }
    }
}

/// Tunnel encapsulation (`IPVS_DEST_ATTR_TUN_TYPE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TunnelType {
    /// `IP_VS_CONN_F_TUNNEL_TYPE_IPIP` (0).
    #[default]
    Ipip,
    /// `IP_VS_CONN_F_TUNNEL_TYPE_GUE` (1), needs a port.
    Gue,
    /// `IP_VS_CONN_F_TUNNEL_TYPE_GRE` (2).
    Gre,
    /// Any other value.
    Other(u8),
}

impl TunnelType {
    /// The wire value.
    pub fn to_raw(self) -> u8 {
        match self {
            TunnelType::Ipip => 0,
            TunnelType::Gue => 1,
            TunnelType::Gre => 2,
            TunnelType::Other(v) => v,
        }
    }

    /// From the wire value.
    pub fn from_raw(v: u8) -> TunnelType {
        match v {
            0 => TunnelType::Ipip,
            1 => TunnelType::Gue,
            2 => TunnelType::Gre,
            v => TunnelType::Other(v),
        }
    }
}

/// Tunnel checksum mode (`IPVS_DEST_ATTR_TUN_FLAGS`; a value, not a bit set).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TunnelCsum {
    /// `IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM` (0), `--tun-nocsum`.
    #[default]
    NoCsum,
    /// `IP_VS_TUNNEL_ENCAP_FLAG_CSUM` (1), `--tun-csum`.
    Csum,
    /// `IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM` (2), `--tun-remcsum`.
    RemCsum,
    /// Any other value.
    Other(u16),
}

impl TunnelCsum {
    /// The wire value.
    pub fn to_raw(self) -> u16 {
        match self {
            TunnelCsum::NoCsum => 0,
            TunnelCsum::Csum => 1,
            TunnelCsum::RemCsum => 2,
            TunnelCsum::Other(v) => v,
        }
    }

    /// From the wire value.
    pub fn from_raw(v: u16) -> TunnelCsum {
        match v {
            0 => TunnelCsum::NoCsum,
            1 => TunnelCsum::Csum,
            2 => TunnelCsum::RemCsum,
            v => TunnelCsum::Other(v),
        }
    }
}

/// Tunnel parameters of a destination (used with `ForwardMethod::Tunnel`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tunnel {
    /// Encapsulation.
    pub kind: TunnelType,
    /// UDP port for GUE (0 otherwise).
    pub port: u16,
    /// Checksum mode.
    pub csum: TunnelCsum,
}

/// What identifies a destination inside its service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DestKey {
    /// Real server address (its family may differ from the service's only for tunnels).
    pub addr: IpAddr,
    /// Real server port.
    pub port: u16,
}

/// A real server (destination) of a service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dest {
    /// Address.
    pub addr: IpAddr,
    /// Port.
    pub port: u16,
    /// Forwarding method.
    pub fwd: ForwardMethod,
    /// Weight (the kernel rejects values above `i32::MAX` with ERANGE).
    pub weight: u32,
    /// Upper connection threshold (`-x`), 0 = none.
    pub upper_threshold: u32,
    /// Lower connection threshold (`-y`), 0 = none.
    pub lower_threshold: u32,
    /// Tunnel parameters.
    pub tunnel: Tunnel,
    /// Active connections (replies only).
    pub active_conns: u32,
    /// Inactive connections (replies only).
    pub inactive_conns: u32,
    /// Persistent connection templates (replies only).
    pub persistent_conns: u32,
    /// 32-bit statistics (replies only).
    pub stats: Option<Stats>,
    /// 64-bit statistics (replies only).
    pub stats64: Option<Stats64>,
    /// Attributes this model does not know, re-emitted as they came.
    pub other_attrs: Vec<RawAttr>,
}

impl Dest {
    /// A destination as `ipvsadm -a` builds it by default: direct
    /// routing (`-g`), weight 1, no thresholds.
    pub fn new(addr: IpAddr, port: u16) -> Dest {
        Dest {
            addr,
            port,
            fwd: ForwardMethod::Route,
            weight: 1,
            upper_threshold: 0,
            lower_threshold: 0,
            tunnel: Tunnel::default(),
            active_conns: 0,
            inactive_conns: 0,
            persistent_conns: 0,
            stats: None,
            stats64: None,
            other_attrs: Vec::new(),
        }
    }

    /// Set the forwarding method.
    pub fn with_fwd(mut self, fwd: ForwardMethod) -> Dest {
        self.fwd = fwd;
        self
    }

    /// Set the weight.
    pub fn with_weight(mut self, weight: u32) -> Dest {
        self.weight = weight;
        self
    }

    /// The key identifying this destination.
    pub fn key(&self) -> DestKey {
        DestKey { addr: self.addr, port: self.port }
    }
}

/// Sync daemon role (`IPVS_DAEMON_ATTR_STATE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DaemonState {
    /// `IP_VS_STATE_MASTER` (1).
    Master,
    /// `IP_VS_STATE_BACKUP` (2).
    Backup,
    /// Any other value.
    Other(u32),
}

impl DaemonState {
    /// The wire value.
    pub fn to_raw(self) -> u32 {
        match self {
            DaemonState::Master => 1,
            DaemonState::Backup => 2,
            DaemonState::Other(v) => v,
        }
    }

    /// From the wire value.
    pub fn from_raw(v: u32) -> DaemonState {
        match v {
            1 => DaemonState::Master,
            2 => DaemonState::Backup,
            v => DaemonState::Other(v),
        }
    }
}

/// A connection-synchronisation daemon, as started (`--start-daemon`) or
/// reported (`--list --daemon`). Optional fields are left to the kernel's
/// defaults when `None` (group 224.0.0.81, port 8848, ttl 1, maxlen from the MTU).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaemonConfig {
    /// Master or backup.
    pub state: DaemonState,
    /// Multicast interface name (`--mcast-interface`).
    pub mcast_ifn: String,
    /// Sync id (`--syncid`).
    pub syncid: u32,
    /// Maximum sync message length (`--sync-maxlen`).
    pub maxlen: Option<u16>,
    /// Multicast group (`--mcast-group`), IPv4 or IPv6.
    pub group: Option<IpAddr>,
    /// Multicast port (`--mcast-port`); host byte order on the wire.
    pub port: Option<u16>,
    /// Multicast TTL (`--mcast-ttl`).
    pub ttl: Option<u8>,
    /// Attributes this model does not know.
    pub other_attrs: Vec<RawAttr>,
}

impl DaemonConfig {
    /// A daemon with only the mandatory fields.
    pub fn new(state: DaemonState, mcast_ifn: &str, syncid: u32) -> DaemonConfig {
        DaemonConfig {
            state,
            mcast_ifn: mcast_ifn.to_string(),
            syncid,
            maxlen: None,
            group: None,
            port: None,
            ttl: None,
            other_attrs: Vec::new(),
        }
    }
}

/// Connection timeouts in seconds (`--set tcp tcpfin udp`); 0 on a set
/// means "leave unchanged".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Timeouts {
    /// TCP ESTABLISHED timeout.
    pub tcp: u32,
    /// TCP FIN_WAIT timeout.
    pub tcp_fin: u32,
    /// UDP timeout.
    pub udp: u32,
}

impl Timeouts {
    /// What a fresh network namespace's IPVS reports (`ip_vs_proto_tcp.c`
    /// ESTABLISHED 15 min, FIN_WAIT 2 min; `ip_vs_proto_udp.c` 5 min):
    /// `ipvsadm -L --timeout` prints `900 120 300`.
    pub const KERNEL_DEFAULT: Timeouts = Timeouts { tcp: 900, tcp_fin: 120, udp: 300 };
}

/// IPVS version and connection hash table size (`IPVS_CMD_GET_INFO`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Info {
    /// `IP_VS_VERSION_CODE`, e.g. 0x010201 for 1.2.1.
    pub version: u32,
    /// Connection table size (`conn_tab_size`).
    pub conn_tab_size: u32,
}

impl Info {
    /// The version as (major, minor, patch), as ipvsadm's `NVERSION` splits it.
    pub fn version_triple(&self) -> (u8, u8, u8) {
        let [_, major, minor, patch] = self.version.to_be_bytes();
        (major, minor, patch)
    }
}

/// One change to the IPVS table, as a batch element (see `Client::apply`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `ipvsadm -A`.
    AddService(Service),
    /// `ipvsadm -E`.
    EditService(Service),
    /// `ipvsadm -D`.
    DelService(ServiceKey),
    /// `ipvsadm -a`.
    AddDest(ServiceKey, Dest),
    /// `ipvsadm -e`.
    EditDest(ServiceKey, Dest),
    /// `ipvsadm -d`.
    DelDest(ServiceKey, DestKey),
    /// `ipvsadm -C`.
    Flush,
    /// `ipvsadm -Z [service]`: one service, or all services and the totals.
    Zero(Option<ServiceKey>),
    /// `ipvsadm --set tcp tcpfin udp`.
    SetTimeouts(Timeouts),
    /// `ipvsadm --start-daemon`.
    StartDaemon(DaemonConfig),
    /// `ipvsadm --stop-daemon`.
    StopDaemon(DaemonState),
}

/// Which operation a result or error is about; the key into ipvsadm's
/// `ipvs_strerror` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// Resolving the `IPVS` generic netlink family (ipvsadm's `ipvs_init`).
    Init,
    /// `-A`.
    AddService,
    /// `-E`.
    EditService,
    /// `-D`.
    DelService,
    /// `-Z`.
    Zero,
    /// `-a`.
    AddDest,
    /// `-e`.
    EditDest,
    /// `-d`.
    DelDest,
    /// `-C`.
    Flush,
    /// Dump of all services.
    GetServices,
    /// Get of one service.
    GetService,
    /// Dump of one service's destinations.
    GetDests,
    /// `--timeout` listing.
    GetTimeouts,
    /// `--set`.
    SetTimeouts,
    /// `--start-daemon`.
    StartDaemon,
    /// `--stop-daemon`.
    StopDaemon,
    /// `--daemon` listing.
    GetDaemons,
    /// Version and table size.
    GetInfo,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Init => "resolve the IPVS family",
            Op::AddService => "add service",
            Op::EditService => "edit service",
            Op::DelService => "delete service",
            Op::Zero => "zero counters",
            Op::AddDest => "add destination",
            Op::EditDest => "edit destination",
            Op::DelDest => "delete destination",
            Op::Flush => "flush",
            Op::GetServices => "list services",
            Op::GetService => "get service",
            Op::GetDests => "list destinations",
            Op::GetTimeouts => "get timeouts",
            Op::SetTimeouts => "set timeouts",
            Op::StartDaemon => "start sync daemon",
            Op::StopDaemon => "stop sync daemon",
            Op::GetDaemons => "list sync daemons",
            Op::GetInfo => "get IPVS info",
        })
    }
}

impl Command {
    /// The operation this command performs.
    pub fn op(&self) -> Op {
        match self {
            Command::AddService(_) => Op::AddService,
            Command::EditService(_) => Op::EditService,
            Command::DelService(_) => Op::DelService,
            Command::AddDest(..) => Op::AddDest,
            Command::EditDest(..) => Op::EditDest,
            Command::DelDest(..) => Op::DelDest,
            Command::Flush => Op::Flush,
            Command::Zero(_) => Op::Zero,
            Command::SetTimeouts(_) => Op::SetTimeouts,
            Command::StartDaemon(_) => Op::StartDaemon,
            Command::StopDaemon(_) => Op::StopDaemon,
        }
    }
}
