//! The one error type of the network layer. It keeps the kernel's errno and
//! names the operation and the interface, so pulse can log a useful line and
//! tell "already there" from "not allowed".

use std::fmt;
use std::io;

/// What the library was doing when something failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Opening the rtnetlink socket.
    Connect,
    /// `RTM_GETLINK` (`ip link show`).
    GetLink,
    /// `RTM_NEWLINK` changing flags (`ip link set up|down`).
    SetLink,
    /// `RTM_NEWLINK` creating a link (`ip link add NAME type KIND`).
    CreateLink,
    /// `RTM_GETROUTE` dump (`ip route show`).
    ListRoutes,
    /// `RTM_NEWROUTE` (`ip route replace default`).
    SetRoute,
    /// `RTM_DELROUTE` (`ip route del default`).
    DelRoute,
    /// `RTM_GETADDR` dump (`ip addr show`).
    ListAddresses,
    /// `RTM_NEWADDR` (`ip addr add`).
    AddAddress,
    /// `RTM_DELADDR` (`ip addr del`).
    DelAddress,
    /// Joining `RTMGRP_LINK` or reading its notifications.
    MonitorLinks,
    /// Opening an `AF_PACKET` socket.
    OpenPacketSocket,
    /// Sending a frame on an `AF_PACKET` socket.
    SendFrame,
    /// Receiving a frame on an `AF_PACKET` socket.
    ReceiveFrame,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Connect => "opening rtnetlink socket",
            Op::GetLink => "reading link",
            Op::SetLink => "setting link state",
            Op::CreateLink => "creating link",
            Op::ListRoutes => "listing routes",
            Op::SetRoute => "setting route",
            Op::DelRoute => "removing route",
            Op::ListAddresses => "listing addresses",
            Op::AddAddress => "adding address",
            Op::DelAddress => "removing address",
            Op::MonitorLinks => "watching link events",
            Op::OpenPacketSocket => "opening packet socket",
            Op::SendFrame => "sending frame",
            Op::ReceiveFrame => "receiving frame",
        })
    }
}

/// An error of the network layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No interface has this name.
    #[error("interface {0} not found")]
    NoSuchInterface(String),
    /// No interface has this index.
    #[error("interface index {0} not found")]
    NoSuchIndex(u32),
    /// The interface is administratively down or has no carrier.
    #[error("interface {0} is down")]
    LinkDown(String),
    /// The interface has no 6-byte hardware address (a tunnel, `lo`) or is
    /// `NOARP`: announcements would mean nothing there.
    #[error("interface {0} has no Ethernet address or does not do ARP")]
    NoEthernetAddress(String),
    /// The kernel refused with an errno.
    #[error("{op} on {iface}: {}", io::Error::from_raw_os_error(*.errno))]
    Os {
        /// The operation.
        op: Op,
        /// The interface (or `*` for all).
        iface: String,
        /// The positive errno value.
        errno: i32,
    },
    /// The netlink exchange failed without an errno (a message the library
    /// could not encode or decode).
    #[error("{op} on {iface}: netlink: {detail}")]
    Netlink {
        /// The operation.
        op: Op,
        /// The interface (or `*` for all).
        iface: String,
        /// What went wrong.
        detail: String,
    },
    /// The request itself is invalid; nothing was sent.
    #[error("invalid request for {iface}: {detail}")]
    Invalid {
        /// The interface.
        iface: String,
        /// Why.
        detail: String,
    },
    /// The kernel dropped link notifications because the socket's receive
    /// buffer overran (`ENOBUFS`): the caller must re-read link state.
    #[error("link events were lost (receive buffer overrun); link state must be re-read")]
    EventsLost,
}

impl Error {
    /// The kernel errno, if the kernel gave one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Os { errno, .. } => Some(*errno),
            Error::EventsLost => Some(libc::ENOBUFS),
            _ => None,
        }
    }

    /// True when the process lacks the privilege (`EPERM`/`EACCES`): it needs
    /// `CAP_NET_ADMIN` for addresses and `CAP_NET_RAW` for packet sockets.
    pub fn is_permission_denied(&self) -> bool {
        matches!(self.errno(), Some(libc::EPERM | libc::EACCES))
    }

    pub(crate) fn os(op: Op, iface: &str, err: &io::Error) -> Error {
        match err.raw_os_error() {
            Some(errno) => Error::Os { op, iface: iface.to_string(), errno },
            None => Error::Netlink { op, iface: iface.to_string(), detail: err.to_string() },
        }
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
