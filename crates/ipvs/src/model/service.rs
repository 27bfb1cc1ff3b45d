//! A virtual service: its key (protocol, address and port, or firewall
//! mark), flags, netmask, and the service itself.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use super::{Family, RawAttr, Stats, Stats64};

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
