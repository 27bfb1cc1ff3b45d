//! Link events for pulse's `monitor_links` (reference `piranha.md` §3.12):
//! a non-blocking rtnetlink socket subscribed to `RTMGRP_LINK`, so an event
//! loop (mio, poll) learns at once that a link went down instead of
//! polling ethtool as piranha did.
//!
//! [`LinkMonitor`] is the IO; [`parse_link_events`] turns the bytes of one
//! datagram into typed events and is pure.

use std::io::{self, Cursor};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use neli::consts::rtnl::Rtm;
use neli::consts::socket::{Msg, NlFamily};
use neli::nl::{NlPayload, Nlmsghdr};
use neli::rtnl::Ifinfomsg;
use neli::socket::NlSocket;
use neli::types::Buffer;
use neli::utils::Groups;
use neli::{FromBytes, FromBytesWithInput};

use crate::error::{Error, Op, Result};
use crate::rtnl::LinkInfo;

/// The state a link event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Administratively up and running (carrier).
    Up,
    /// Down: set down, or lost its carrier.
    Down,
    /// The interface was deleted (`RTM_DELLINK`).
    Removed,
}

/// One link notification from the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkEvent {
    /// Interface index.
    pub ifindex: u32,
    /// Interface name.
    pub name: String,
    /// The state after the change.
    pub state: LinkState,
}

/// Decodes the link notifications in one netlink datagram. Messages that
/// are not link messages are skipped; a message that does not decode ends
/// the datagram (netlink messages cannot be resynchronised) and is logged.
pub fn parse_link_events(datagram: &[u8]) -> Vec<LinkEvent> {
    let mut out = Vec::new();
    let mut cursor = Cursor::new(datagram);
    while (cursor.position() as usize) < datagram.len() {
        let msg = match Nlmsghdr::<u16, Buffer>::from_bytes(&mut cursor) {
            Ok(m) => m,
            Err(e) => {
                log::warn!("dropping undecodable link notification: {e}");
                break;
            }
        };
        let kind = Rtm::from(*msg.nl_type());
        let removed = match kind {
            Rtm::Newlink => false,
            Rtm::Dellink => true,
            _ => continue,
        };
        let NlPayload::Payload(p) = msg.nl_payload() else { continue };
        let info = Ifinfomsg::from_bytes_with_input(&mut Cursor::new(p.as_ref()), p.len())
            .map_err(|e| e.to_string())
            .and_then(|m| LinkInfo::from_ifinfomsg(&m));
        match info {
            Ok(info) => out.push(LinkEvent {
                ifindex: info.index,
                state: if removed {
                    LinkState::Removed
                } else if info.is_up() {
                    LinkState::Up
                } else {
                    LinkState::Down
                },
                name: info.name,
            }),
            Err(e) => log::warn!("dropping malformed link notification: {e}"),
        }
    }
    out
}

/// A non-blocking subscription to link events (`ip monitor link`).
///
/// Register its fd ([`AsRawFd`] for mio's `SourceFd`, [`AsFd`] for `poll`) for
/// readability, then call [`LinkMonitor::read_events`] until it returns an
/// empty list. The kernel repeats `RTM_NEWLINK` for changes that do not
/// touch the state (MTU, statistics), so callers compare with the last
/// state they saw. The socket lives in the network namespace of the thread
/// that opened it.
pub struct LinkMonitor {
    sock: NlSocket,
    buf: Vec<u8>,
}

impl std::fmt::Debug for LinkMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkMonitor").field("fd", &self.sock.as_raw_fd()).finish()
    }
}

impl LinkMonitor {
    /// Subscribes to `RTMGRP_LINK`. Needs no privilege.
    ///
    /// # Errors
    /// The socket cannot be created, bound or made non-blocking.
    pub fn open() -> Result<LinkMonitor> {
        let err = |e: io::Error| Error::os(Op::MonitorLinks, "*", &e);
        // RTMGRP_LINK is the bit 1.
        let groups = Groups::new_bitmask(libc::RTMGRP_LINK as u32);
        let sock = NlSocket::connect(NlFamily::Route, None, groups).map_err(err)?;
        sock.nonblock().map_err(err)?;
        Ok(LinkMonitor { sock, buf: vec![0; 64 * 1024] })
    }

    /// Reads every notification queued now, without blocking.
    ///
    /// # Errors
    /// [`Error::EventsLost`] when the kernel dropped notifications (socket
    /// receive buffer overrun): the caller must re-read the links it
    /// watches. Other kernel errors as [`Error::Os`].
    pub fn read_events(&mut self) -> Result<Vec<LinkEvent>> {
        let mut out = Vec::new();
        loop {
            match self.sock.recv(&mut self.buf[..], Msg::empty()) {
                Ok((0, _)) => return Ok(out),
                Ok((n, _)) => out.extend(parse_link_events(&self.buf[..n.min(self.buf.len())])),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(out),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => return Err(Error::EventsLost),
                Err(e) => return Err(Error::os(Op::MonitorLinks, "*", &e)),
            }
        }
    }
}

impl AsRawFd for LinkMonitor {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsFd for LinkMonitor {
    fn as_fd(&self) -> BorrowedFd<'_> {
        crate::sys::borrow_fd(&self.sock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An RTM_NEWLINK as the kernel sends it for `ip link set veth0 down`,
    /// reduced to the attributes that matter (native-endian fields).
    fn newlink(kind: u16, index: i32, flags: u32, name: &[u8]) -> Vec<u8> {
        let mut attr = Vec::new();
        attr.extend_from_slice(&((4 + name.len()) as u16).to_ne_bytes());
        attr.extend_from_slice(&3u16.to_ne_bytes()); // IFLA_IFNAME
        attr.extend_from_slice(name);
        while attr.len() % 4 != 0 {
            attr.push(0);
        }
        let mut body = vec![0u8, 0]; // AF_UNSPEC, pad
        body.extend_from_slice(&1u16.to_ne_bytes()); // ARPHRD_ETHER
        body.extend_from_slice(&index.to_ne_bytes());
        body.extend_from_slice(&flags.to_ne_bytes());
        body.extend_from_slice(&0u32.to_ne_bytes()); // change mask
        body.extend_from_slice(&attr);
        let mut msg = Vec::new();
        msg.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(&0u16.to_ne_bytes()); // flags
        msg.extend_from_slice(&0u32.to_ne_bytes()); // seq
        msg.extend_from_slice(&0u32.to_ne_bytes()); // pid
        msg.extend_from_slice(&body);
        msg
    }

    const IFF_UP: u32 = 0x1;
    const IFF_RUNNING: u32 = 0x40;

    #[test]
    fn decodes_up_down_and_removed() {
        let mut datagram = newlink(16, 4, IFF_UP | IFF_RUNNING, b"veth0\0");
        datagram.extend(newlink(16, 4, 0x1002, b"veth0\0")); // broadcast|multicast only
        datagram.extend(newlink(16, 5, IFF_UP, b"eth1\0")); // up, no carrier
        datagram.extend(newlink(17, 5, 0, b"eth1\0")); // RTM_DELLINK
        let ev = |ifindex, name: &str, state| LinkEvent { ifindex, name: name.into(), state };
        assert_eq!(
            parse_link_events(&datagram),
            vec![
                ev(4, "veth0", LinkState::Up),
                ev(4, "veth0", LinkState::Down),
                ev(5, "eth1", LinkState::Down),
                ev(5, "eth1", LinkState::Removed),
            ]
        );
    }

    #[test]
    fn skips_other_messages_and_stops_at_garbage() {
        let mut datagram = newlink(20, 4, 0, b"veth0\0"); // RTM_NEWADDR: not a link
        datagram.extend(newlink(16, 4, 0, b"veth0\0"));
        datagram.extend([0xde, 0xad, 0xbe]); // a truncated header
        let events = parse_link_events(&datagram);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].state, LinkState::Down);
        // A message cut short is dropped, not panicked on.
        assert!(parse_link_events(&newlink(16, 4, 0, b"veth0\0")[..30]).is_empty());
    }
}
