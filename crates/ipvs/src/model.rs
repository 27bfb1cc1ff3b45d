//! The IPVS table as typed values: services, destinations, statistics,
//! timeouts, sync daemons and the commands that change them.
//!
//! Pure data, no IO. Names follow the kernel's `include/uapi/linux/ip_vs.h`
//! (where the kernel is the specification) and ipvsadm's vocabulary.
//! Everything the kernel may send that we do not model yet is kept, never
//! dropped: enums have `Other(..)`, flag words keep unknown bits, and
//! unknown attributes are carried in `other_attrs` and re-emitted.
//!
//! This file holds what every part shares (families, statistics, raw
//! attributes, timeouts and info); `model/service.rs`, `model/dest.rs`,
//! `model/daemon.rs` and `model/command.rs` the rest, re-exported here.

mod command;
mod daemon;
mod dest;
mod service;

pub use command::{Command, Op};
pub use daemon::{DaemonConfig, DaemonState};
pub use dest::{Dest, DestKey, ForwardMethod, Tunnel, TunnelCsum, TunnelType};
pub use service::{Netmask, Protocol, SchedFlags, Service, ServiceFlags, ServiceKey};

use std::net::IpAddr;

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

/// The 32-bit layout widened, so that readers print one type whether or not
/// the kernel sent `STATS64`.
impl From<Stats> for Stats64 {
    fn from(s: Stats) -> Stats64 {
        Stats64 {
            conns: s.conns.into(),
            inpkts: s.inpkts.into(),
            outpkts: s.outpkts.into(),
            inbytes: s.inbytes,
            outbytes: s.outbytes,
            cps: s.cps.into(),
            inpps: s.inpps.into(),
            outpps: s.outpps.into(),
            inbps: s.inbps.into(),
            outbps: s.outbps.into(),
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
