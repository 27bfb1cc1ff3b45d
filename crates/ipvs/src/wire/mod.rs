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

mod daemon;
mod dest;
mod info;
mod message;
mod nla;
mod reply;
mod request;
mod service;
mod stats;
#[cfg(test)]
mod tests;

pub use daemon::DaemonAttr;
pub use dest::{dest_attrs, dest_from_attrs, dest_key_attrs, DestAttr};
pub use info::InfoAttr;
pub use message::{Attrs, Cmd, CmdAttr, GenlMessage};
pub use nla::Nest;
pub use reply::{
    daemon_from_message, dest_from_message, info_from_message, service_from_message,
    timeouts_from_message,
};
pub use request::{
    command_message, dump_daemons_message, dump_dests_message, dump_services_message,
    get_info_message, get_service_message, get_timeouts_message,
};
pub use service::{service_attrs, service_from_attrs, service_key_attrs, SvcAttr};
pub use stats::StatsAttr;

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
