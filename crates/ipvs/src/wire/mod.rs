//! The IPVS generic netlink wire format, encoded and decoded by hand with
//! no socket: generic netlink header, typed attribute trees, and the
//! mapping between those trees and the `model` types.
//!
//! Two levels:
//! - [`GenlMessage`] is the exact message: every attribute in order, with
//!   unknown or oddly sized ones kept as `Other { kind, payload }`, so
//!   `GenlMessage::decode(b)?.encode() == b` for anything well framed.
//! - `*_message` functions build requests from model values, and
//!   `*_from_message` functions read model values out of kernel replies.
//!
//! Byte orders follow the kernel (`include/uapi/linux/ip_vs.h`,
//! `net/netfilter/ipvs/ip_vs_ctl.c`): ports and tunnel ports are big
//! endian, the IPv4 netmask is network-order mask bytes, the IPv6 netmask
//! is a host-endian prefix length, everything else is host endian.

pub mod nl;

#[cfg(test)]
mod tests;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::model::{
    Command, DaemonConfig, DaemonState, Dest, DestKey, Family, ForwardMethod, Info, Netmask,
    Protocol, RawAttr, Service, ServiceFlags, ServiceKey, Stats, Stats64, Timeouts, TunnelCsum,
    TunnelType,
};

/// The generic netlink family name (`IPVS_GENL_NAME`).
pub const GENL_NAME: &str = "IPVS";
/// The family version (`IPVS_GENL_VERSION`), sent in every `genlmsghdr`.
pub const GENL_VERSION: u8 = 1;
/// `NLA_F_NESTED`.
pub const NLA_F_NESTED: u16 = 0x8000;
/// `NLA_F_NET_BYTEORDER`.
pub const NLA_F_NET_BYTEORDER: u16 = 0x4000;
/// `NLA_TYPE_MASK`.
pub const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

/// Attribute numbers, as in `ip_vs.h`.
#[allow(missing_docs)]
pub mod attr {
    pub const CMD_SERVICE: u16 = 1;
    pub const CMD_DEST: u16 = 2;
    pub const CMD_DAEMON: u16 = 3;
    pub const CMD_TIMEOUT_TCP: u16 = 4;
    pub const CMD_TIMEOUT_TCP_FIN: u16 = 5;
    pub const CMD_TIMEOUT_UDP: u16 = 6;

    pub const SVC_AF: u16 = 1;
    pub const SVC_PROTOCOL: u16 = 2;
    pub const SVC_ADDR: u16 = 3;
    pub const SVC_PORT: u16 = 4;
    pub const SVC_FWMARK: u16 = 5;
    pub const SVC_SCHED_NAME: u16 = 6;
    pub const SVC_FLAGS: u16 = 7;
    pub const SVC_TIMEOUT: u16 = 8;
    pub const SVC_NETMASK: u16 = 9;
    pub const SVC_STATS: u16 = 10;
    pub const SVC_PE_NAME: u16 = 11;
    pub const SVC_STATS64: u16 = 12;

    pub const DEST_ADDR: u16 = 1;
    pub const DEST_PORT: u16 = 2;
    pub const DEST_FWD_METHOD: u16 = 3;
    pub const DEST_WEIGHT: u16 = 4;
    pub const DEST_U_THRESH: u16 = 5;
    pub const DEST_L_THRESH: u16 = 6;
    pub const DEST_ACTIVE_CONNS: u16 = 7;
    pub const DEST_INACT_CONNS: u16 = 8;
    pub const DEST_PERSIST_CONNS: u16 = 9;
    pub const DEST_STATS: u16 = 10;
    pub const DEST_ADDR_FAMILY: u16 = 11;
    pub const DEST_STATS64: u16 = 12;
    pub const DEST_TUN_TYPE: u16 = 13;
    pub const DEST_TUN_PORT: u16 = 14;
    pub const DEST_TUN_FLAGS: u16 = 15;

    pub const DAEMON_STATE: u16 = 1;
    pub const DAEMON_MCAST_IFN: u16 = 2;
    pub const DAEMON_SYNC_ID: u16 = 3;
    pub const DAEMON_SYNC_MAXLEN: u16 = 4;
    pub const DAEMON_MCAST_GROUP: u16 = 5;
    pub const DAEMON_MCAST_GROUP6: u16 = 6;
    pub const DAEMON_MCAST_PORT: u16 = 7;
    pub const DAEMON_MCAST_TTL: u16 = 8;

    pub const STATS_CONNS: u16 = 1;
    pub const STATS_INPKTS: u16 = 2;
    pub const STATS_OUTPKTS: u16 = 3;
    pub const STATS_INBYTES: u16 = 4;
    pub const STATS_OUTBYTES: u16 = 5;
    pub const STATS_CPS: u16 = 6;
    pub const STATS_INPPS: u16 = 7;
    pub const STATS_OUTPPS: u16 = 8;
    pub const STATS_INBPS: u16 = 9;
    pub const STATS_OUTBPS: u16 = 10;
    pub const STATS_PAD: u16 = 11;

    pub const INFO_VERSION: u16 = 1;
    pub const INFO_CONN_TAB_SIZE: u16 = 2;
}

/// Why bytes could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Fewer bytes than a fixed-size header needs.
    #[error("truncated {what}: need {need} bytes, have {have}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// A length field that does not fit the bytes around it.
    #[error("bad {what} length {len} ({available} bytes available)")]
    BadLength {
        /// What was being read.
        what: &'static str,
        /// The length found.
        len: usize,
        /// Bytes available.
        available: usize,
    },
    /// A required attribute is absent (or was not of the expected size).
    #[error("missing attribute {what}")]
    Missing {
        /// Which attribute.
        what: &'static str,
    },
    /// An address family IPVS does not know.
    #[error("unknown address family {0}")]
    UnknownFamily(u16),
    /// An address attribute of the wrong size for its family.
    #[error("bad address length {0}")]
    BadAddress(usize),
    /// A reply with a command we did not expect.
    #[error("unexpected generic netlink command {0}")]
    UnexpectedCommand(u8),
}

/// IPVS generic netlink commands (`enum IPVS_CMD_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Cmd {
    Unspec,
    NewService,
    SetService,
    DelService,
    GetService,
    NewDest,
    SetDest,
    DelDest,
    GetDest,
    NewDaemon,
    DelDaemon,
    GetDaemon,
    /// `IPVS_CMD_SET_CONFIG` (ipvsadm: `IPVS_CMD_SET_TIMEOUT`).
    SetConfig,
    /// `IPVS_CMD_GET_CONFIG` (ipvsadm: `IPVS_CMD_GET_TIMEOUT`).
    GetConfig,
    SetInfo,
    GetInfo,
    Zero,
    Flush,
    /// A command number this code does not know.
    Other(u8),
}

impl Cmd {
    /// The command number.
    pub fn to_raw(self) -> u8 {
        match self {
            Cmd::Unspec => 0,
            Cmd::NewService => 1,
            Cmd::SetService => 2,
            Cmd::DelService => 3,
            Cmd::GetService => 4,
            Cmd::NewDest => 5,
            Cmd::SetDest => 6,
            Cmd::DelDest => 7,
            Cmd::GetDest => 8,
            Cmd::NewDaemon => 9,
            Cmd::DelDaemon => 10,
            Cmd::GetDaemon => 11,
            Cmd::SetConfig => 12,
            Cmd::GetConfig => 13,
            Cmd::SetInfo => 14,
            Cmd::GetInfo => 15,
            Cmd::Zero => 16,
            Cmd::Flush => 17,
            Cmd::Other(c) => c,
        }
    }

    /// From the command number.
    pub fn from_raw(c: u8) -> Cmd {
        match c {
            0 => Cmd::Unspec,
            1 => Cmd::NewService,
            2 => Cmd::SetService,
            3 => Cmd::DelService,
            4 => Cmd::GetService,
            5 => Cmd::NewDest,
            6 => Cmd::SetDest,
            7 => Cmd::DelDest,
            8 => Cmd::GetDest,
            9 => Cmd::NewDaemon,
            10 => Cmd::DelDaemon,
            11 => Cmd::GetDaemon,
            12 => Cmd::SetConfig,
            13 => Cmd::GetConfig,
            14 => Cmd::SetInfo,
            15 => Cmd::GetInfo,
            16 => Cmd::Zero,
            17 => Cmd::Flush,
            c => Cmd::Other(c),
        }
    }
}

/// A nested attribute's children, and whether its type carried `NLA_F_NESTED`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nest<T> {
    /// True if the sender set `NLA_F_NESTED` (libnl may; the kernel does not).
    pub flagged: bool,
    /// The children in order.
    pub attrs: Vec<T>,
}

impl<T> Nest<T> {
    /// A nest without `NLA_F_NESTED`, as the kernel emits them.
    pub fn new(attrs: Vec<T>) -> Nest<T> {
        Nest { flagged: false, attrs }
    }

    /// A nest with `NLA_F_NESTED`, as ipvsadm sends them (libnl >= 3.5's
    /// `nla_nest_start` sets it; the kernel accepts either).
    pub fn request(attrs: Vec<T>) -> Nest<T> {
        Nest { flagged: true, attrs }
    }
}

/// Top-level attributes (`IPVS_CMD_ATTR_*`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CmdAttr {
    /// `IPVS_CMD_ATTR_SERVICE`.
    Service(Nest<SvcAttr>),
    /// `IPVS_CMD_ATTR_DEST`.
    Dest(Nest<DestAttr>),
    /// `IPVS_CMD_ATTR_DAEMON`.
    Daemon(Nest<DaemonAttr>),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP`.
    TimeoutTcp(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP_FIN`.
    TimeoutTcpFin(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_UDP`.
    TimeoutUdp(u32),
    /// Anything else, byte for byte.
    Other(RawAttr),
}

/// Service attributes (`IPVS_SVC_ATTR_*`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SvcAttr {
    /// `AF`, u16.
    Af(u16),
    /// `PROTOCOL`, u16.
    Protocol(u16),
    /// `ADDR`, raw bytes (16 from the kernel; 4 accepted for IPv4).
    Addr(Vec<u8>),
    /// `PORT`, big endian on the wire; the value here is the port number.
    Port(u16),
    /// `FWMARK`, u32.
    Fwmark(u32),
    /// `SCHED_NAME`, NUL-terminated on the wire.
    SchedName(String),
    /// `FLAGS`: `struct ip_vs_flags { flags, mask }`.
    Flags {
        /// Flag bits.
        flags: u32,
        /// Which bits to change (~0 from ipvsadm and in kernel replies).
        mask: u32,
    },
    /// `TIMEOUT`, persistence seconds.
    Timeout(u32),
    /// `NETMASK`: the four payload bytes (see `model::Netmask`).
    Netmask([u8; 4]),
    /// `STATS`.
    Stats(Nest<StatsAttr>),
    /// `PE_NAME`, NUL-terminated on the wire.
    PeName(String),
    /// `STATS64`.
    Stats64(Nest<StatsAttr>),
    /// Anything else, byte for byte.
    Other(RawAttr),
}

/// Destination attributes (`IPVS_DEST_ATTR_*`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum DestAttr {
    /// `ADDR`, raw bytes.
    Addr(Vec<u8>),
    /// `PORT`, big endian on the wire.
    Port(u16),
    FwdMethod(u32),
    Weight(u32),
    UThresh(u32),
    LThresh(u32),
    ActiveConns(u32),
    InactConns(u32),
    PersistConns(u32),
    Stats(Nest<StatsAttr>),
    AddrFamily(u16),
    Stats64(Nest<StatsAttr>),
    TunType(u8),
    /// `TUN_PORT`, big endian on the wire.
    TunPort(u16),
    TunFlags(u16),
    /// Anything else, byte for byte.
    Other(RawAttr),
}

/// Sync daemon attributes (`IPVS_DAEMON_ATTR_*`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum DaemonAttr {
    State(u32),
    /// `MCAST_IFN`, NUL-terminated on the wire.
    McastIfn(String),
    SyncId(u32),
    SyncMaxlen(u16),
    /// `MCAST_GROUP`, an IPv4 address in network order.
    McastGroup(Ipv4Addr),
    McastGroup6(Ipv6Addr),
    /// `MCAST_PORT`, host endian (unlike service ports).
    McastPort(u16),
    McastTtl(u8),
    /// Anything else, byte for byte.
    Other(RawAttr),
}

/// Statistics attributes (`IPVS_STATS_ATTR_*`); width as found on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatsAttr {
    /// A 4-byte counter of the given kind.
    U32(u16, u32),
    /// An 8-byte counter of the given kind.
    U64(u16, u64),
    /// `IPVS_STATS_ATTR_PAD` alignment padding (payload kept).
    Pad(Vec<u8>),
    /// Anything else, byte for byte.
    Other(RawAttr),
}

/// Info attributes (`IPVS_INFO_ATTR_*`), the top level of GET_INFO replies.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InfoAttr {
    /// `VERSION`.
    Version(u32),
    /// `CONN_TAB_SIZE`.
    ConnTabSize(u32),
    /// Anything else, byte for byte.
    Other(RawAttr),
}

/// The top-level attributes of a message; their numbering depends on the command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attrs {
    /// `IPVS_CMD_ATTR_*` (every command but the info ones).
    Cmd(Vec<CmdAttr>),
    /// `IPVS_INFO_ATTR_*` (`IPVS_CMD_GET_INFO` / `IPVS_CMD_SET_INFO`).
    Info(Vec<InfoAttr>),
}

/// A whole generic netlink message of the IPVS family (after `nlmsghdr`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenlMessage {
    /// `genlmsghdr.cmd`.
    pub cmd: Cmd,
    /// `genlmsghdr.version` (1).
    pub version: u8,
    /// `genlmsghdr.reserved` (0).
    pub reserved: u16,
    /// The attributes.
    pub attrs: Attrs,
}

// ---------------------------------------------------------------------------
// Attribute primitives.

fn put_attr(out: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    out.extend_from_slice(&(len as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(payload);
    out.resize(out.len() + (nl::align(len) - len), 0);
}

fn put_nest(out: &mut Vec<u8>, kind: u16, flagged: bool, fill: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    let kind = if flagged { kind | NLA_F_NESTED } else { kind };
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&kind.to_ne_bytes());
    fill(out);
    let len = (out.len() - start) as u16;
    out[start..start + 2].copy_from_slice(&len.to_ne_bytes());
}

fn put_str(out: &mut Vec<u8>, kind: u16, s: &str) {
    let mut b = Vec::with_capacity(s.len() + 1);
    b.extend_from_slice(s.as_bytes());
    b.push(0);
    put_attr(out, kind, &b);
}

/// Split an attribute stream into (raw type, payload) pairs.
fn attrs_of(mut b: &[u8]) -> Result<Vec<(u16, &[u8])>, DecodeError> {
    let mut out = Vec::new();
    while !b.is_empty() {
        if b.len() < 4 {
            return Err(DecodeError::Truncated { what: "nlattr", need: 4, have: b.len() });
        }
        let len = u16::from_ne_bytes([b[0], b[1]]) as usize;
        let kind = u16::from_ne_bytes([b[2], b[3]]);
        if len < 4 || len > b.len() {
            return Err(DecodeError::BadLength { what: "nlattr", len, available: b.len() });
        }
        out.push((kind, &b[4..len]));
        b = &b[nl::align(len).min(b.len())..];
    }
    Ok(out)
}

fn raw(kind: u16, p: &[u8]) -> RawAttr {
    RawAttr { kind, payload: p.to_vec() }
}

fn u8_of(p: &[u8]) -> Option<u8> {
    <[u8; 1]>::try_from(p).ok().map(|b| b[0])
}
fn u16_of(p: &[u8]) -> Option<u16> {
    <[u8; 2]>::try_from(p).ok().map(u16::from_ne_bytes)
}
fn be16_of(p: &[u8]) -> Option<u16> {
    <[u8; 2]>::try_from(p).ok().map(u16::from_be_bytes)
}
fn u32_of(p: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(p).ok().map(u32::from_ne_bytes)
}
fn u64_of(p: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(p).ok().map(u64::from_ne_bytes)
}
/// A NUL-terminated string that re-encodes to exactly `p`.
fn str_of(p: &[u8]) -> Option<String> {
    let (last, body) = p.split_last()?;
    if *last != 0 || body.contains(&0) {
        return None;
    }
    String::from_utf8(body.to_vec()).ok()
}

fn nest_of<T>(kind: u16, p: &[u8], child: impl Fn(u16, &[u8]) -> T) -> Option<Nest<T>> {
    let children = attrs_of(p).ok()?;
    // Re-encoding must reproduce `p`: the kernel pads every child, so a
    // stream whose total is not aligned is kept raw.
    if !p.len().is_multiple_of(4) {
        return None;
    }
    Some(Nest {
        flagged: kind & NLA_F_NESTED != 0,
        attrs: children.into_iter().map(|(k, v)| child(k, v)).collect(),
    })
}

// ---------------------------------------------------------------------------
// Typed attributes <-> bytes.

impl CmdAttr {
    fn decode(kind: u16, p: &[u8]) -> CmdAttr {
        let decoded = match kind {
            attr::CMD_TIMEOUT_TCP => u32_of(p).map(CmdAttr::TimeoutTcp),
            attr::CMD_TIMEOUT_TCP_FIN => u32_of(p).map(CmdAttr::TimeoutTcpFin),
            attr::CMD_TIMEOUT_UDP => u32_of(p).map(CmdAttr::TimeoutUdp),
            // Nests match with or without NLA_F_NESTED (kept in `Nest::flagged`).
            _ => match kind & NLA_TYPE_MASK {
                attr::CMD_SERVICE => nest_of(kind, p, SvcAttr::decode).map(CmdAttr::Service),
                attr::CMD_DEST => nest_of(kind, p, DestAttr::decode).map(CmdAttr::Dest),
                attr::CMD_DAEMON => nest_of(kind, p, DaemonAttr::decode).map(CmdAttr::Daemon),
                _ => None,
            },
        };
        decoded.unwrap_or_else(|| CmdAttr::Other(raw(kind, p)))
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            CmdAttr::Service(n) => put_nest(out, attr::CMD_SERVICE, n.flagged, |o| {
                n.attrs.iter().for_each(|a| a.encode(o))
            }),
            CmdAttr::Dest(n) => put_nest(out, attr::CMD_DEST, n.flagged, |o| {
                n.attrs.iter().for_each(|a| a.encode(o))
            }),
            CmdAttr::Daemon(n) => put_nest(out, attr::CMD_DAEMON, n.flagged, |o| {
                n.attrs.iter().for_each(|a| a.encode(o))
            }),
            CmdAttr::TimeoutTcp(v) => put_attr(out, attr::CMD_TIMEOUT_TCP, &v.to_ne_bytes()),
            CmdAttr::TimeoutTcpFin(v) => put_attr(out, attr::CMD_TIMEOUT_TCP_FIN, &v.to_ne_bytes()),
            CmdAttr::TimeoutUdp(v) => put_attr(out, attr::CMD_TIMEOUT_UDP, &v.to_ne_bytes()),
            CmdAttr::Other(r) => put_attr(out, r.kind, &r.payload),
        }
    }
}

impl SvcAttr {
    fn decode(kind: u16, p: &[u8]) -> SvcAttr {
        let decoded = match kind {
            attr::SVC_AF => u16_of(p).map(SvcAttr::Af),
            attr::SVC_PROTOCOL => u16_of(p).map(SvcAttr::Protocol),
            attr::SVC_ADDR if p.len() <= 16 => Some(SvcAttr::Addr(p.to_vec())),
            attr::SVC_PORT => be16_of(p).map(SvcAttr::Port),
            attr::SVC_FWMARK => u32_of(p).map(SvcAttr::Fwmark),
            attr::SVC_SCHED_NAME => str_of(p).map(SvcAttr::SchedName),
            attr::SVC_FLAGS if p.len() == 8 => Some(SvcAttr::Flags {
                flags: u32::from_ne_bytes([p[0], p[1], p[2], p[3]]),
                mask: u32::from_ne_bytes([p[4], p[5], p[6], p[7]]),
            }),
            attr::SVC_TIMEOUT => u32_of(p).map(SvcAttr::Timeout),
            attr::SVC_NETMASK => <[u8; 4]>::try_from(p).ok().map(SvcAttr::Netmask),
            attr::SVC_PE_NAME => str_of(p).map(SvcAttr::PeName),
            _ => match kind & NLA_TYPE_MASK {
                attr::SVC_STATS => nest_of(kind, p, StatsAttr::decode).map(SvcAttr::Stats),
                attr::SVC_STATS64 => nest_of(kind, p, StatsAttr::decode).map(SvcAttr::Stats64),
                _ => None,
            },
        };
        decoded.unwrap_or_else(|| SvcAttr::Other(raw(kind, p)))
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            SvcAttr::Af(v) => put_attr(out, attr::SVC_AF, &v.to_ne_bytes()),
            SvcAttr::Protocol(v) => put_attr(out, attr::SVC_PROTOCOL, &v.to_ne_bytes()),
            SvcAttr::Addr(b) => put_attr(out, attr::SVC_ADDR, b),
            SvcAttr::Port(v) => put_attr(out, attr::SVC_PORT, &v.to_be_bytes()),
            SvcAttr::Fwmark(v) => put_attr(out, attr::SVC_FWMARK, &v.to_ne_bytes()),
            SvcAttr::SchedName(s) => put_str(out, attr::SVC_SCHED_NAME, s),
            SvcAttr::Flags { flags, mask } => {
                let mut b = flags.to_ne_bytes().to_vec();
                b.extend_from_slice(&mask.to_ne_bytes());
                put_attr(out, attr::SVC_FLAGS, &b)
            }
            SvcAttr::Timeout(v) => put_attr(out, attr::SVC_TIMEOUT, &v.to_ne_bytes()),
            SvcAttr::Netmask(b) => put_attr(out, attr::SVC_NETMASK, b),
            SvcAttr::Stats(n) => put_nest(out, attr::SVC_STATS, n.flagged, |o| {
                n.attrs.iter().for_each(|a| a.encode(o))
            }),
            SvcAttr::PeName(s) => put_str(out, attr::SVC_PE_NAME, s),
            SvcAttr::Stats64(n) => put_nest(out, attr::SVC_STATS64, n.flagged, |o| {
                n.attrs.iter().for_each(|a| a.encode(o))
            }),
            SvcAttr::Other(r) => put_attr(out, r.kind, &r.payload),
        }
    }
}

impl DestAttr {
    fn decode(kind: u16, p: &[u8]) -> DestAttr {
        let decoded = match kind {
            attr::DEST_ADDR if p.len() <= 16 => Some(DestAttr::Addr(p.to_vec())),
            attr::DEST_PORT => be16_of(p).map(DestAttr::Port),
            attr::DEST_FWD_METHOD => u32_of(p).map(DestAttr::FwdMethod),
            attr::DEST_WEIGHT => u32_of(p).map(DestAttr::Weight),
            attr::DEST_U_THRESH => u32_of(p).map(DestAttr::UThresh),
            attr::DEST_L_THRESH => u32_of(p).map(DestAttr::LThresh),
            attr::DEST_ACTIVE_CONNS => u32_of(p).map(DestAttr::ActiveConns),
            attr::DEST_INACT_CONNS => u32_of(p).map(DestAttr::InactConns),
            attr::DEST_PERSIST_CONNS => u32_of(p).map(DestAttr::PersistConns),
            attr::DEST_ADDR_FAMILY => u16_of(p).map(DestAttr::AddrFamily),
            attr::DEST_TUN_TYPE => u8_of(p).map(DestAttr::TunType),
            attr::DEST_TUN_PORT => be16_of(p).map(DestAttr::TunPort),
            attr::DEST_TUN_FLAGS => u16_of(p).map(DestAttr::TunFlags),
            _ => match kind & NLA_TYPE_MASK {
                attr::DEST_STATS => nest_of(kind, p, StatsAttr::decode).map(DestAttr::Stats),
                attr::DEST_STATS64 => nest_of(kind, p, StatsAttr::decode).map(DestAttr::Stats64),
                _ => None,
            },
        };
        decoded.unwrap_or_else(|| DestAttr::Other(raw(kind, p)))
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            DestAttr::Addr(b) => put_attr(out, attr::DEST_ADDR, b),
            DestAttr::Port(v) => put_attr(out, attr::DEST_PORT, &v.to_be_bytes()),
            DestAttr::FwdMethod(v) => put_attr(out, attr::DEST_FWD_METHOD, &v.to_ne_bytes()),
            DestAttr::Weight(v) => put_attr(out, attr::DEST_WEIGHT, &v.to_ne_bytes()),
            DestAttr::UThresh(v) => put_attr(out, attr::DEST_U_THRESH, &v.to_ne_bytes()),
            DestAttr::LThresh(v) => put_attr(out, attr::DEST_L_THRESH, &v.to_ne_bytes()),
            DestAttr::ActiveConns(v) => put_attr(out, attr::DEST_ACTIVE_CONNS, &v.to_ne_bytes()),
            DestAttr::InactConns(v) => put_attr(out, attr::DEST_INACT_CONNS, &v.to_ne_bytes()),
            DestAttr::PersistConns(v) => put_attr(out, attr::DEST_PERSIST_CONNS, &v.to_ne_bytes()),
            DestAttr::Stats(n) => put_nest(out, attr::DEST_STATS, n.flagged, |o| {
                n.attrs.iter().for_each(|a| a.encode(o))
            }),
            DestAttr::AddrFamily(v) => put_attr(out, attr::DEST_ADDR_FAMILY, &v.to_ne_bytes()),
            DestAttr::Stats64(n) => put_nest(out, attr::DEST_STATS64, n.flagged, |o| {
                n.attrs.iter().for_each(|a| a.encode(o))
            }),
            DestAttr::TunType(v) => put_attr(out, attr::DEST_TUN_TYPE, &[*v]),
            DestAttr::TunPort(v) => put_attr(out, attr::DEST_TUN_PORT, &v.to_be_bytes()),
            DestAttr::TunFlags(v) => put_attr(out, attr::DEST_TUN_FLAGS, &v.to_ne_bytes()),
            DestAttr::Other(r) => put_attr(out, r.kind, &r.payload),
        }
    }
}

impl DaemonAttr {
    fn decode(kind: u16, p: &[u8]) -> DaemonAttr {
        let decoded = match kind {
            attr::DAEMON_STATE => u32_of(p).map(DaemonAttr::State),
            attr::DAEMON_MCAST_IFN => str_of(p).map(DaemonAttr::McastIfn),
            attr::DAEMON_SYNC_ID => u32_of(p).map(DaemonAttr::SyncId),
            attr::DAEMON_SYNC_MAXLEN => u16_of(p).map(DaemonAttr::SyncMaxlen),
            attr::DAEMON_MCAST_GROUP => {
                <[u8; 4]>::try_from(p).ok().map(|b| DaemonAttr::McastGroup(b.into()))
            }
            attr::DAEMON_MCAST_GROUP6 => {
                <[u8; 16]>::try_from(p).ok().map(|b| DaemonAttr::McastGroup6(b.into()))
            }
            attr::DAEMON_MCAST_PORT => u16_of(p).map(DaemonAttr::McastPort),
            attr::DAEMON_MCAST_TTL => u8_of(p).map(DaemonAttr::McastTtl),
            _ => None,
        };
        decoded.unwrap_or_else(|| DaemonAttr::Other(raw(kind, p)))
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            DaemonAttr::State(v) => put_attr(out, attr::DAEMON_STATE, &v.to_ne_bytes()),
            DaemonAttr::McastIfn(s) => put_str(out, attr::DAEMON_MCAST_IFN, s),
            DaemonAttr::SyncId(v) => put_attr(out, attr::DAEMON_SYNC_ID, &v.to_ne_bytes()),
            DaemonAttr::SyncMaxlen(v) => put_attr(out, attr::DAEMON_SYNC_MAXLEN, &v.to_ne_bytes()),
            DaemonAttr::McastGroup(a) => put_attr(out, attr::DAEMON_MCAST_GROUP, &a.octets()),
            DaemonAttr::McastGroup6(a) => put_attr(out, attr::DAEMON_MCAST_GROUP6, &a.octets()),
            DaemonAttr::McastPort(v) => put_attr(out, attr::DAEMON_MCAST_PORT, &v.to_ne_bytes()),
            DaemonAttr::McastTtl(v) => put_attr(out, attr::DAEMON_MCAST_TTL, &[*v]),
            DaemonAttr::Other(r) => put_attr(out, r.kind, &r.payload),
        }
    }
}

impl StatsAttr {
    fn decode(kind: u16, p: &[u8]) -> StatsAttr {
        match kind {
            attr::STATS_PAD => StatsAttr::Pad(p.to_vec()),
            attr::STATS_CONNS..=attr::STATS_OUTBPS => match (u32_of(p), u64_of(p)) {
                (Some(v), _) => StatsAttr::U32(kind, v),
                (_, Some(v)) => StatsAttr::U64(kind, v),
                _ => StatsAttr::Other(raw(kind, p)),
            },
            _ => StatsAttr::Other(raw(kind, p)),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            StatsAttr::U32(k, v) => put_attr(out, *k, &v.to_ne_bytes()),
            StatsAttr::U64(k, v) => put_attr(out, *k, &v.to_ne_bytes()),
            StatsAttr::Pad(p) => put_attr(out, attr::STATS_PAD, p),
            StatsAttr::Other(r) => put_attr(out, r.kind, &r.payload),
        }
    }
}

impl InfoAttr {
    fn decode(kind: u16, p: &[u8]) -> InfoAttr {
        let decoded = match kind {
            attr::INFO_VERSION => u32_of(p).map(InfoAttr::Version),
            attr::INFO_CONN_TAB_SIZE => u32_of(p).map(InfoAttr::ConnTabSize),
            _ => None,
        };
        decoded.unwrap_or_else(|| InfoAttr::Other(raw(kind, p)))
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            InfoAttr::Version(v) => put_attr(out, attr::INFO_VERSION, &v.to_ne_bytes()),
            InfoAttr::ConnTabSize(v) => put_attr(out, attr::INFO_CONN_TAB_SIZE, &v.to_ne_bytes()),
            InfoAttr::Other(r) => put_attr(out, r.kind, &r.payload),
        }
    }
}

impl GenlMessage {
    /// A version-1 message with `IPVS_CMD_ATTR_*` attributes.
    pub fn new(cmd: Cmd, attrs: Vec<CmdAttr>) -> GenlMessage {
        GenlMessage { cmd, version: GENL_VERSION, reserved: 0, attrs: Attrs::Cmd(attrs) }
    }

    /// `genlmsghdr` + attributes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.push(self.cmd.to_raw());
        out.push(self.version);
        out.extend_from_slice(&self.reserved.to_ne_bytes());
        match &self.attrs {
            Attrs::Cmd(a) => a.iter().for_each(|a| a.encode(&mut out)),
            Attrs::Info(a) => a.iter().for_each(|a| a.encode(&mut out)),
        }
        out
    }

    /// Parse `genlmsghdr` + attributes (the payload after `nlmsghdr`).
    pub fn decode(b: &[u8]) -> Result<GenlMessage, DecodeError> {
        if b.len() < 4 {
            return Err(DecodeError::Truncated { what: "genlmsghdr", need: 4, have: b.len() });
        }
        let cmd = Cmd::from_raw(b[0]);
        let pairs = attrs_of(&b[4..])?;
        let attrs = match cmd {
            Cmd::GetInfo | Cmd::SetInfo => {
                Attrs::Info(pairs.into_iter().map(|(k, p)| InfoAttr::decode(k, p)).collect())
            }
            _ => Attrs::Cmd(pairs.into_iter().map(|(k, p)| CmdAttr::decode(k, p)).collect()),
        };
        Ok(GenlMessage { cmd, version: b[1], reserved: u16::from_ne_bytes([b[2], b[3]]), attrs })
    }

    fn cmd_attrs(&self) -> &[CmdAttr] {
        match &self.attrs {
            Attrs::Cmd(a) => a,
            Attrs::Info(_) => &[],
        }
    }
}

// ---------------------------------------------------------------------------
// Model -> request messages.

fn addr_bytes(addr: &IpAddr) -> Vec<u8> {
    // ipvsadm sends the whole `union nf_inet_addr` (16 bytes), IPv4 in the
    // first four; the kernel emits the same.
    let mut b = vec![0u8; 16];
    match addr {
        IpAddr::V4(a) => b[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => b.copy_from_slice(&a.octets()),
    }
    b
}

/// The identifying attributes of a service: AF, then FWMARK or
/// PROTOCOL/ADDR/PORT (what the kernel reads when `full_entry` is false).
pub fn service_key_attrs(key: &ServiceKey) -> Vec<SvcAttr> {
    let mut v = vec![SvcAttr::Af(key.family().to_raw())];
    match key {
        ServiceKey::Fwmark { mark, .. } => v.push(SvcAttr::Fwmark(*mark)),
        ServiceKey::Addr { protocol, addr, port } => {
            v.push(SvcAttr::Protocol(protocol.to_raw()));
            v.push(SvcAttr::Addr(addr_bytes(addr)));
            v.push(SvcAttr::Port(*port));
        }
    }
    v
}

/// A full service in libipvs order: key, SCHED_NAME, PE_NAME (if any),
/// FLAGS with mask ~0, TIMEOUT, NETMASK, then attributes we do not know.
pub fn service_attrs(svc: &Service) -> Vec<SvcAttr> {
    let mut v = service_key_attrs(&svc.key);
    v.push(SvcAttr::SchedName(svc.scheduler.clone()));
    if let Some(pe) = &svc.pe_name {
        v.push(SvcAttr::PeName(pe.clone()));
    }
    v.push(SvcAttr::Flags { flags: svc.flags.0, mask: u32::MAX });
    v.push(SvcAttr::Timeout(svc.timeout));
    v.push(SvcAttr::Netmask(svc.netmask.to_wire()));
    v.extend(svc.other_attrs.iter().cloned().map(SvcAttr::Other));
    v
}

/// A full destination in libipvs order.
pub fn dest_attrs(d: &Dest) -> Vec<DestAttr> {
    let mut v = vec![
        DestAttr::AddrFamily(Family::of(&d.addr).to_raw()),
        DestAttr::Addr(addr_bytes(&d.addr)),
        DestAttr::Port(d.port),
        DestAttr::FwdMethod(d.fwd.to_raw()),
        DestAttr::Weight(d.weight),
        DestAttr::TunType(d.tunnel.kind.to_raw()),
        DestAttr::TunPort(d.tunnel.port),
        DestAttr::TunFlags(d.tunnel.csum.to_raw()),
        DestAttr::UThresh(d.upper_threshold),
        DestAttr::LThresh(d.lower_threshold),
    ];
    v.extend(d.other_attrs.iter().cloned().map(DestAttr::Other));
    v
}

/// The identifying attributes of a destination (what `DEL_DEST` needs).
pub fn dest_key_attrs(k: &DestKey) -> Vec<DestAttr> {
    vec![
        DestAttr::AddrFamily(Family::of(&k.addr).to_raw()),
        DestAttr::Addr(addr_bytes(&k.addr)),
        DestAttr::Port(k.port),
    ]
}

fn daemon_attrs(d: &DaemonConfig) -> Vec<DaemonAttr> {
    let mut v = vec![
        DaemonAttr::State(d.state.to_raw()),
        DaemonAttr::McastIfn(d.mcast_ifn.clone()),
        DaemonAttr::SyncId(d.syncid),
    ];
    if let Some(m) = d.maxlen {
        v.push(DaemonAttr::SyncMaxlen(m));
    }
    if let Some(p) = d.port {
        v.push(DaemonAttr::McastPort(p));
    }
    if let Some(t) = d.ttl {
        v.push(DaemonAttr::McastTtl(t));
    }
    match d.group {
        Some(IpAddr::V6(a)) => v.push(DaemonAttr::McastGroup6(a)),
        Some(IpAddr::V4(a)) => v.push(DaemonAttr::McastGroup(a)),
        None => {}
    }
    v.extend(d.other_attrs.iter().cloned().map(DaemonAttr::Other));
    v
}

/// The message for one table change.
pub fn command_message(c: &Command) -> GenlMessage {
    let svc_key = |k: &ServiceKey| CmdAttr::Service(Nest::request(service_key_attrs(k)));
    match c {
        Command::AddService(s) => GenlMessage::new(
            Cmd::NewService,
            vec![CmdAttr::Service(Nest::request(service_attrs(s)))],
        ),
        Command::EditService(s) => GenlMessage::new(
            Cmd::SetService,
            vec![CmdAttr::Service(Nest::request(service_attrs(s)))],
        ),
        Command::DelService(k) => GenlMessage::new(Cmd::DelService, vec![svc_key(k)]),
        Command::AddDest(k, d) => GenlMessage::new(
            Cmd::NewDest,
            vec![svc_key(k), CmdAttr::Dest(Nest::request(dest_attrs(d)))],
        ),
        Command::EditDest(k, d) => GenlMessage::new(
            Cmd::SetDest,
            vec![svc_key(k), CmdAttr::Dest(Nest::request(dest_attrs(d)))],
        ),
        Command::DelDest(k, d) => GenlMessage::new(
            Cmd::DelDest,
            vec![svc_key(k), CmdAttr::Dest(Nest::request(dest_key_attrs(d)))],
        ),
        Command::Flush => GenlMessage::new(Cmd::Flush, vec![]),
        Command::Zero(None) => GenlMessage::new(Cmd::Zero, vec![]),
        Command::Zero(Some(k)) => GenlMessage::new(Cmd::Zero, vec![svc_key(k)]),
        Command::SetTimeouts(t) => GenlMessage::new(
            Cmd::SetConfig,
            vec![
                CmdAttr::TimeoutTcp(t.tcp),
                CmdAttr::TimeoutTcpFin(t.tcp_fin),
                CmdAttr::TimeoutUdp(t.udp),
            ],
        ),
        Command::StartDaemon(d) => {
            GenlMessage::new(Cmd::NewDaemon, vec![CmdAttr::Daemon(Nest::request(daemon_attrs(d)))])
        }
        Command::StopDaemon(state) => GenlMessage::new(
            Cmd::DelDaemon,
            vec![CmdAttr::Daemon(Nest::request(vec![DaemonAttr::State(state.to_raw())]))],
        ),
    }
}

/// `IPVS_CMD_GET_SERVICE` for one service (a doit, no `NLM_F_DUMP`).
pub fn get_service_message(key: &ServiceKey) -> GenlMessage {
    GenlMessage::new(Cmd::GetService, vec![CmdAttr::Service(Nest::request(service_key_attrs(key)))])
}

/// `IPVS_CMD_GET_SERVICE` as a dump of every service (send with `NLM_F_DUMP`).
pub fn dump_services_message() -> GenlMessage {
    GenlMessage::new(Cmd::GetService, vec![])
}

/// `IPVS_CMD_GET_DEST` for a service (dump only: send with `NLM_F_DUMP`).
pub fn dump_dests_message(key: &ServiceKey) -> GenlMessage {
    GenlMessage::new(Cmd::GetDest, vec![CmdAttr::Service(Nest::request(service_key_attrs(key)))])
}

/// `IPVS_CMD_GET_CONFIG` (the timeouts).
pub fn get_timeouts_message() -> GenlMessage {
    GenlMessage::new(Cmd::GetConfig, vec![])
}

/// `IPVS_CMD_GET_DAEMON` (dump only).
pub fn dump_daemons_message() -> GenlMessage {
    GenlMessage::new(Cmd::GetDaemon, vec![])
}

/// `IPVS_CMD_GET_INFO`.
pub fn get_info_message() -> GenlMessage {
    GenlMessage {
        cmd: Cmd::GetInfo,
        version: GENL_VERSION,
        reserved: 0,
        attrs: Attrs::Info(vec![]),
    }
}

// ---------------------------------------------------------------------------
// Reply messages -> model.

fn addr_from(family: Family, b: &[u8]) -> Result<IpAddr, DecodeError> {
    match family {
        Family::Inet if b.len() >= 4 => Ok(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))),
        Family::Inet6 if b.len() == 16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            Ok(IpAddr::V6(Ipv6Addr::from(a)))
        }
        _ => Err(DecodeError::BadAddress(b.len())),
    }
}

fn stats_from(n: &Nest<StatsAttr>) -> Stats {
    let mut s = Stats::default();
    for a in &n.attrs {
        let (k, v) = match a {
            StatsAttr::U32(k, v) => (*k, u64::from(*v)),
            StatsAttr::U64(k, v) => (*k, *v),
            _ => continue,
        };
        // Counters other than the byte counts are u32 in this layout.
        let t = v as u32;
        match k {
            attr::STATS_CONNS => s.conns = t,
            attr::STATS_INPKTS => s.inpkts = t,
            attr::STATS_OUTPKTS => s.outpkts = t,
            attr::STATS_INBYTES => s.inbytes = v,
            attr::STATS_OUTBYTES => s.outbytes = v,
            attr::STATS_CPS => s.cps = t,
            attr::STATS_INPPS => s.inpps = t,
            attr::STATS_OUTPPS => s.outpps = t,
            attr::STATS_INBPS => s.inbps = t,
            attr::STATS_OUTBPS => s.outbps = t,
            _ => {}
        }
    }
    s
}

fn stats64_from(n: &Nest<StatsAttr>) -> Stats64 {
    let mut s = Stats64::default();
    for a in &n.attrs {
        let (k, v) = match a {
            StatsAttr::U32(k, v) => (*k, u64::from(*v)),
            StatsAttr::U64(k, v) => (*k, *v),
            _ => continue,
        };
        match k {
            attr::STATS_CONNS => s.conns = v,
            attr::STATS_INPKTS => s.inpkts = v,
            attr::STATS_OUTPKTS => s.outpkts = v,
            attr::STATS_INBYTES => s.inbytes = v,
            attr::STATS_OUTBYTES => s.outbytes = v,
            attr::STATS_CPS => s.cps = v,
            attr::STATS_INPPS => s.inpps = v,
            attr::STATS_OUTPPS => s.outpps = v,
            attr::STATS_INBPS => s.inbps = v,
            attr::STATS_OUTBPS => s.outbps = v,
            _ => {}
        }
    }
    s
}

/// Read a service from its `IPVS_SVC_ATTR_*` list (a kernel reply, or a
/// full add/edit request).
pub fn service_from_attrs(attrs: &[SvcAttr]) -> Result<Service, DecodeError> {
    let (mut af, mut proto, mut addr, mut port, mut fwmark) = (None, None, None, None, None);
    let (mut sched, mut flags, mut timeout, mut netmask) = (None, None, None, None);
    let (mut pe, mut stats, mut stats64, mut other) = (None, None, None, Vec::new());
    for a in attrs {
        match a {
            SvcAttr::Af(v) => af = Some(*v),
            SvcAttr::Protocol(v) => proto = Some(*v),
            SvcAttr::Addr(b) => addr = Some(b.as_slice()),
            SvcAttr::Port(v) => port = Some(*v),
            SvcAttr::Fwmark(v) => fwmark = Some(*v),
            SvcAttr::SchedName(s) => sched = Some(s.clone()),
            SvcAttr::Flags { flags: f, mask } => flags = Some(f & mask),
            SvcAttr::Timeout(v) => timeout = Some(*v),
            SvcAttr::Netmask(b) => netmask = Some(*b),
            SvcAttr::Stats(n) => stats = Some(stats_from(n)),
            SvcAttr::PeName(s) => pe = Some(s.clone()),
            SvcAttr::Stats64(n) => stats64 = Some(stats64_from(n)),
            SvcAttr::Other(r) => other.push(r.clone()),
        }
    }
    let af = af.ok_or(DecodeError::Missing { what: "IPVS_SVC_ATTR_AF" })?;
    let family = Family::from_raw(af).ok_or(DecodeError::UnknownFamily(af))?;
    let key = match (fwmark, proto, addr, port) {
        (Some(mark), ..) if mark != 0 => ServiceKey::Fwmark { family, mark },
        (_, Some(p), Some(a), Some(port)) => {
            ServiceKey::Addr { protocol: Protocol::from_raw(p), addr: addr_from(family, a)?, port }
        }
        _ => {
            return Err(DecodeError::Missing { what: "IPVS_SVC_ATTR_FWMARK or PROTOCOL/ADDR/PORT" })
        }
    };
    Ok(Service {
        key,
        scheduler: sched.ok_or(DecodeError::Missing { what: "IPVS_SVC_ATTR_SCHED_NAME" })?,
        flags: ServiceFlags(flags.ok_or(DecodeError::Missing { what: "IPVS_SVC_ATTR_FLAGS" })?),
        timeout: timeout.ok_or(DecodeError::Missing { what: "IPVS_SVC_ATTR_TIMEOUT" })?,
        netmask: Netmask::from_wire(
            family,
            netmask.ok_or(DecodeError::Missing { what: "IPVS_SVC_ATTR_NETMASK" })?,
        ),
        pe_name: pe,
        stats,
        stats64,
        other_attrs: other,
    })
}

/// Read a destination from its `IPVS_DEST_ATTR_*` list; `service_family`
/// is used when the kernel predates `ADDR_FAMILY` (before 3.18).
pub fn dest_from_attrs(attrs: &[DestAttr], service_family: Family) -> Result<Dest, DecodeError> {
    let mut af = None;
    let (mut addr, mut port, mut fwd, mut weight, mut u, mut l) =
        (None, None, None, None, None, None);
    let mut d = Dest::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
    for a in attrs {
        match a {
            DestAttr::Addr(b) => addr = Some(b.as_slice()),
            DestAttr::Port(v) => port = Some(*v),
            DestAttr::FwdMethod(v) => fwd = Some(*v),
            DestAttr::Weight(v) => weight = Some(*v),
            DestAttr::UThresh(v) => u = Some(*v),
            DestAttr::LThresh(v) => l = Some(*v),
            DestAttr::ActiveConns(v) => d.active_conns = *v,
            DestAttr::InactConns(v) => d.inactive_conns = *v,
            DestAttr::PersistConns(v) => d.persistent_conns = *v,
            DestAttr::Stats(n) => d.stats = Some(stats_from(n)),
            DestAttr::AddrFamily(v) => af = Some(*v),
            DestAttr::Stats64(n) => d.stats64 = Some(stats64_from(n)),
            DestAttr::TunType(v) => d.tunnel.kind = TunnelType::from_raw(*v),
            DestAttr::TunPort(v) => d.tunnel.port = *v,
            DestAttr::TunFlags(v) => d.tunnel.csum = TunnelCsum::from_raw(*v),
            DestAttr::Other(r) => d.other_attrs.push(r.clone()),
        }
    }
    let family = match af {
        Some(af) => Family::from_raw(af).ok_or(DecodeError::UnknownFamily(af))?,
        None => service_family,
    };
    d.addr = addr_from(family, addr.ok_or(DecodeError::Missing { what: "IPVS_DEST_ATTR_ADDR" })?)?;
    d.port = port.ok_or(DecodeError::Missing { what: "IPVS_DEST_ATTR_PORT" })?;
    d.fwd = ForwardMethod::from_raw(
        fwd.ok_or(DecodeError::Missing { what: "IPVS_DEST_ATTR_FWD_METHOD" })?,
    );
    d.weight = weight.ok_or(DecodeError::Missing { what: "IPVS_DEST_ATTR_WEIGHT" })?;
    d.upper_threshold = u.ok_or(DecodeError::Missing { what: "IPVS_DEST_ATTR_U_THRESH" })?;
    d.lower_threshold = l.ok_or(DecodeError::Missing { what: "IPVS_DEST_ATTR_L_THRESH" })?;
    Ok(d)
}

fn daemon_from_attrs(attrs: &[DaemonAttr]) -> Result<DaemonConfig, DecodeError> {
    let (mut state, mut ifn, mut syncid) = (None, None, None);
    let mut d = DaemonConfig::new(DaemonState::Master, "", 0);
    for a in attrs {
        match a {
            DaemonAttr::State(v) => state = Some(*v),
            DaemonAttr::McastIfn(s) => ifn = Some(s.clone()),
            DaemonAttr::SyncId(v) => syncid = Some(*v),
            DaemonAttr::SyncMaxlen(v) => d.maxlen = Some(*v),
            DaemonAttr::McastGroup(a) => d.group = Some(IpAddr::V4(*a)),
            DaemonAttr::McastGroup6(a) => d.group = Some(IpAddr::V6(*a)),
            DaemonAttr::McastPort(v) => d.port = Some(*v),
            DaemonAttr::McastTtl(v) => d.ttl = Some(*v),
            DaemonAttr::Other(r) => d.other_attrs.push(r.clone()),
        }
    }
    d.state = DaemonState::from_raw(
        state.ok_or(DecodeError::Missing { what: "IPVS_DAEMON_ATTR_STATE" })?,
    );
    d.mcast_ifn = ifn.ok_or(DecodeError::Missing { what: "IPVS_DAEMON_ATTR_MCAST_IFN" })?;
    d.syncid = syncid.ok_or(DecodeError::Missing { what: "IPVS_DAEMON_ATTR_SYNC_ID" })?;
    Ok(d)
}

fn expect_cmd(msg: &GenlMessage, want: Cmd) -> Result<(), DecodeError> {
    if msg.cmd == want {
        Ok(())
    } else {
        Err(DecodeError::UnexpectedCommand(msg.cmd.to_raw()))
    }
}

/// The service in a `NEW_SERVICE` reply (dump or get).
pub fn service_from_message(msg: &GenlMessage) -> Result<Service, DecodeError> {
    expect_cmd(msg, Cmd::NewService)?;
    msg.cmd_attrs()
        .iter()
        .find_map(|a| match a {
            CmdAttr::Service(n) => Some(service_from_attrs(&n.attrs)),
            _ => None,
        })
        .unwrap_or(Err(DecodeError::Missing { what: "IPVS_CMD_ATTR_SERVICE" }))
}

/// The destination in a `NEW_DEST` dump reply.
pub fn dest_from_message(msg: &GenlMessage, service_family: Family) -> Result<Dest, DecodeError> {
    expect_cmd(msg, Cmd::NewDest)?;
    msg.cmd_attrs()
        .iter()
        .find_map(|a| match a {
            CmdAttr::Dest(n) => Some(dest_from_attrs(&n.attrs, service_family)),
            _ => None,
        })
        .unwrap_or(Err(DecodeError::Missing { what: "IPVS_CMD_ATTR_DEST" }))
}

/// The daemon in a `NEW_DAEMON` dump reply.
pub fn daemon_from_message(msg: &GenlMessage) -> Result<DaemonConfig, DecodeError> {
    expect_cmd(msg, Cmd::NewDaemon)?;
    msg.cmd_attrs()
        .iter()
        .find_map(|a| match a {
            CmdAttr::Daemon(n) => Some(daemon_from_attrs(&n.attrs)),
            _ => None,
        })
        .unwrap_or(Err(DecodeError::Missing { what: "IPVS_CMD_ATTR_DAEMON" }))
}

/// The timeouts in a `SET_CONFIG` reply (to `GET_CONFIG`). A timeout the
/// kernel omits (protocol compiled out) reads as 0, as in ipvsadm.
pub fn timeouts_from_message(msg: &GenlMessage) -> Result<Timeouts, DecodeError> {
    expect_cmd(msg, Cmd::SetConfig)?;
    let mut t = Timeouts::default();
    for a in msg.cmd_attrs() {
        match a {
            CmdAttr::TimeoutTcp(v) => t.tcp = *v,
            CmdAttr::TimeoutTcpFin(v) => t.tcp_fin = *v,
            CmdAttr::TimeoutUdp(v) => t.udp = *v,
            _ => {}
        }
    }
    Ok(t)
}

/// The info in a `SET_INFO` reply (to `GET_INFO`).
pub fn info_from_message(msg: &GenlMessage) -> Result<Info, DecodeError> {
    expect_cmd(msg, Cmd::SetInfo)?;
    let (mut version, mut size) = (None, None);
    if let Attrs::Info(attrs) = &msg.attrs {
        for a in attrs {
            match a {
                InfoAttr::Version(v) => version = Some(*v),
                InfoAttr::ConnTabSize(v) => size = Some(*v),
                InfoAttr::Other(_) => {}
            }
        }
    }
    Ok(Info {
        version: version.ok_or(DecodeError::Missing { what: "IPVS_INFO_ATTR_VERSION" })?,
        conn_tab_size: size.ok_or(DecodeError::Missing { what: "IPVS_INFO_ATTR_CONN_TAB_SIZE" })?,
    })
}
