//! Announcing that addresses now live at this host's MAC: gratuitous ARP
//! for IPv4 and unsolicited Neighbour Advertisements for IPv6, sent on an
//! `AF_PACKET` socket. This is what makes a takeover visible to clients and
//! the upstream gateway (keepalived's users lose traffic when it is missing:
//! reference `keepalived.md` §3 item 3).

use std::net::IpAddr;

use crate::error::{Error, Result};
use crate::frame::{ArpFrame, NeighborAdvertFrame};
use crate::mac::MacAddr;
use crate::packet::PacketSender;
use crate::rtnl::LinkInfo;

/// Which ARP operation carries a gratuitous ARP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArpForm {
    /// An ARP request (RFC 5227 ARP Announcement), the form Linux itself
    /// and `arping -U` send.
    #[default]
    Request,
    /// An ARP reply (`arping -A`, and piranha's form).
    Reply,
}

/// The frame announcing `addr` at `mac`: gratuitous ARP for IPv4 in the
/// chosen form, an unsolicited NA with the override flag for IPv6
/// (`form` does not apply).
pub fn announcement_frame(mac: MacAddr, addr: IpAddr, form: ArpForm) -> Vec<u8> {
    match addr {
        IpAddr::V4(ip) => match form {
            ArpForm::Request => ArpFrame::announcement(mac, ip).encode(),
            ArpForm::Reply => ArpFrame::gratuitous_reply(mac, ip).encode(),
        },
        IpAddr::V6(ip) => NeighborAdvertFrame::unsolicited(mac, ip).encode(),
    }
}

/// Sends announcements out of one interface, from its own MAC address.
#[derive(Debug)]
pub struct Announcer {
    sender: PacketSender,
    mac: MacAddr,
}

impl Announcer {
    /// Prepares to announce on `link`, checking it can carry announcements.
    ///
    /// # Errors
    /// [`Error::LinkDown`] if the link is not up and running,
    /// [`Error::NoEthernetAddress`] if it has no MAC (or is `NOARP`),
    /// [`Error::Os`] with `EPERM` without `CAP_NET_RAW`.
    pub fn open(link: &LinkInfo) -> Result<Announcer> {
        let mac = match link.mac {
            Some(mac) if !link.flags.noarp() && mac != MacAddr::ZERO => mac,
            _ => return Err(Error::NoEthernetAddress(link.name.clone())),
        };
        if !link.is_up() {
            return Err(Error::LinkDown(link.name.clone()));
        }
        Ok(Announcer { sender: PacketSender::open(link.index, &link.name)?, mac })
    }

    /// The MAC address announced.
    pub fn mac(&self) -> MacAddr {
        self.mac
    }

    /// Announces `addr` once.
    ///
    /// # Errors
    /// The kernel refuses the frame (`ENETDOWN` if the link went down).
    pub fn announce(&self, addr: IpAddr, form: ArpForm) -> Result<()> {
        self.sender.send(&announcement_frame(self.mac, addr, form))
    }

    /// Sends a frame built by the caller (piranha's explicit form).
    ///
    /// # Errors
    /// As [`PacketSender::send`].
    pub fn send_frame(&self, frame: &[u8]) -> Result<()> {
        self.sender.send(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_picks_the_frame() {
        let mac = MacAddr([2, 0, 0, 0, 0, 1]);
        let v4: IpAddr = "192.0.2.1".parse().unwrap();
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let req = announcement_frame(mac, v4, ArpForm::Request);
        assert_eq!(
            ArpFrame::decode(&req).unwrap(),
            ArpFrame::announcement(mac, [192, 0, 2, 1].into())
        );
        let rep = announcement_frame(mac, v4, ArpForm::Reply);
        assert_eq!(
            ArpFrame::decode(&rep).unwrap(),
            ArpFrame::gratuitous_reply(mac, [192, 0, 2, 1].into())
        );
        for form in [ArpForm::Request, ArpForm::Reply] {
            let na = NeighborAdvertFrame::decode(&announcement_frame(mac, v6, form)).unwrap();
            assert_eq!(na, NeighborAdvertFrame::unsolicited(mac, "2001:db8::1".parse().unwrap()));
        }
    }
}
