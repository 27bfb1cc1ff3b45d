//! Addresses as rtnetlink describes them (`RTM_NEWADDR`): an [`AddrInfo`]
//! decoded from an `ifaddrmsg`, and a [`VipAddress`] checked and encoded
//! into one, with piranha's broadcast and alias labels. Pure; tested byte
//! for byte.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use neli::consts::rtnl::{Ifa, IfaF, RtAddrFamily, RtScope};
use neli::rtnl::{Ifaddrmsg, IfaddrmsgBuilder, RtattrBuilder};
use neli::types::{Buffer, RtBuffer};

use super::{c_string, MAX_NAME_LEN};
use crate::error::{Error, Op, Result};
/// One address as `ip addr show` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrInfo {
    /// Index of the interface carrying the address.
    pub ifindex: u32,
    /// The address (`IFA_LOCAL` for IPv4, `IFA_ADDRESS` for IPv6).
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// IPv4 label (`eth0:1`); the kernel labels every IPv4 address, by
    /// default with the interface name.
    pub label: Option<String>,
    /// IPv4 broadcast address.
    pub broadcast: Option<Ipv4Addr>,
    /// `IFA_F_SECONDARY`: another address of the same subnet is primary.
    pub secondary: bool,
}

impl AddrInfo {
    /// Decodes an `RTM_NEWADDR` payload; `None` for a family other than
    /// IPv4 and IPv6 or a message without an address.
    pub fn from_ifaddrmsg(msg: &Ifaddrmsg) -> Option<AddrInfo> {
        let v4 = match msg.ifa_family() {
            RtAddrFamily::Inet => true,
            RtAddrFamily::Inet6 => false,
            _ => return None,
        };
        let (mut local, mut address, mut label, mut broadcast) = (None, None, None, None);
        for attr in msg.rtattrs().iter() {
            let payload = attr.rta_payload().as_ref();
            match attr.rta_type() {
                Ifa::Local => local = ip_from(payload),
                Ifa::Address => address = ip_from(payload),
                Ifa::Label => label = Some(c_string(payload)),
                Ifa::Broadcast => {
                    if let Some(IpAddr::V4(b)) = ip_from(payload) {
                        broadcast = Some(b);
                    }
                }
                _ => {}
            }
        }
        // For IPv4, IFA_LOCAL is the address and IFA_ADDRESS the peer on
        // point-to-point links; IPv6 sends IFA_LOCAL only for peers.
        let addr = if v4 { local.or(address) } else { address.or(local) }?;
        Some(AddrInfo {
            ifindex: *msg.ifa_index(),
            addr,
            prefix_len: *msg.ifa_prefixlen(),
            label,
            broadcast,
            secondary: msg.ifa_flags().contains(IfaF::SECONDARY),
        })
    }
}

/// A VIP to bring up or down: what piranha did with
/// `ifconfig eth0:1 IP netmask M broadcast B up`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipAddress {
    /// The interface to put the address on (`eth0`, never `eth0:1`).
    pub device: String,
    /// The address.
    pub addr: IpAddr,
    /// Prefix length (0..=32 for IPv4, 0..=128 for IPv6).
    pub prefix_len: u8,
    /// IPv4 broadcast address, if any.
    pub broadcast: Option<Ipv4Addr>,
    /// IPv4 label, such as `eth0:1`; it must start with `device`.
    /// IPv6 addresses have no labels.
    pub label: Option<String>,
}

impl VipAddress {
    /// The piranha form: `dev` may carry an alias (`eth0:1`), which becomes
    /// the label of an IPv4 address on `eth0`; an IPv4 address gets
    /// piranha's broadcast `(IP & M) | !M` (reference `piranha.md` §3.5)
    /// unless the prefix is /31 or /32, where there is no broadcast.
    /// For IPv6 the alias is dropped: the kernel has no IPv6 labels.
    pub fn piranha(dev: &str, addr: IpAddr, prefix_len: u8) -> VipAddress {
        let device = dev.split(':').next().unwrap_or(dev).to_string();
        match addr {
            IpAddr::V4(v4) => VipAddress {
                label: dev.contains(':').then(|| dev.to_string()),
                broadcast: ipv4_broadcast(v4, prefix_len),
                device,
                addr,
                prefix_len,
            },
            IpAddr::V6(_) => VipAddress { device, addr, prefix_len, broadcast: None, label: None },
        }
    }

    /// Checks the request before anything is sent.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the problem.
    pub fn validate(&self) -> Result<()> {
        let invalid = |detail: String| Err(Error::Invalid { iface: self.device.clone(), detail });
        if self.device.is_empty() || self.device.len() > MAX_NAME_LEN || self.device.contains(':') {
            return invalid(format!("bad interface name {:?}", self.device));
        }
        let max = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix_len > max {
            return invalid(format!("prefix length /{} is over {max}", self.prefix_len));
        }
        if self.addr.is_ipv6() && (self.label.is_some() || self.broadcast.is_some()) {
            return invalid(format!("{}: IPv6 addresses have no label or broadcast", self.addr));
        }
        if let Some(label) = &self.label {
            if !label.starts_with(&self.device) || label.len() > MAX_NAME_LEN {
                return invalid(format!(
                    "label {label:?} must start with {:?} and be at most {MAX_NAME_LEN} bytes",
                    self.device
                ));
            }
        }
        Ok(())
    }

    /// The `RTM_NEWADDR`/`RTM_DELADDR` payload for this address on
    /// interface `ifindex`. For removal only the address and prefix are
    /// sent, so an address is removed whatever its label.
    ///
    /// # Errors
    /// neli fails to build the message (it does not for valid input).
    pub fn to_ifaddrmsg(&self, ifindex: u32, for_add: bool) -> Result<Ifaddrmsg> {
        let nl_err = |e: &dyn std::fmt::Display| Error::Netlink {
            op: if for_add { Op::AddAddress } else { Op::DelAddress },
            iface: self.device.clone(),
            detail: e.to_string(),
        };
        let attr = |kind: Ifa, bytes: Vec<u8>| {
            RtattrBuilder::default()
                .rta_type(kind)
                .rta_payload(Buffer::from(bytes))
                .build()
                .map_err(|e| nl_err(&e))
        };
        let mut attrs = RtBuffer::new();
        let (family, bytes) = match self.addr {
            IpAddr::V4(a) => (RtAddrFamily::Inet, a.octets().to_vec()),
            IpAddr::V6(a) => (RtAddrFamily::Inet6, a.octets().to_vec()),
        };
        // As iproute2 does: IFA_LOCAL is the address, IFA_ADDRESS the same
        // address (it would be the peer on a point-to-point link).
        attrs.push(attr(Ifa::Local, bytes.clone())?);
        attrs.push(attr(Ifa::Address, bytes)?);
        let mut flags = IfaF::empty();
        if for_add {
            if let Some(b) = self.broadcast {
                attrs.push(attr(Ifa::Broadcast, b.octets().to_vec())?);
            }
            if let Some(label) = &self.label {
                let mut l = label.as_bytes().to_vec();
                l.push(0);
                attrs.push(attr(Ifa::Label, l)?);
            }
            if self.addr.is_ipv6() {
                // A VIP moves between routers: duplicate address detection
                // would keep it tentative (unusable) for a second and fail it
                // if the old owner still answers. keepalived does the same.
                flags |= IfaF::NODAD;
                // Deprecated from the start (preferred lifetime 0, valid
                // forever), as `ip addr add ... preferred_lft 0` does: it
                // still receives and answers neighbour solicitations, but
                // source address selection (RFC 6724 rule 3) never picks it
                // for a new connection. A VIP in the LAN's prefix would
                // otherwise become the source of the router's own
                // connections (a nanny's check of a DR real server, whose
                // reply then goes to the VIP on the real server's own `lo`).
                attrs.push(attr(Ifa::Cacheinfo, ipv6_cacheinfo(0, u32::MAX))?);
            }
        }
        IfaddrmsgBuilder::default()
            .ifa_family(family)
            .ifa_prefixlen(self.prefix_len)
            .ifa_flags(flags)
            .ifa_scope(RtScope::Universe)
            .ifa_index(ifindex)
            .rtattrs(attrs)
            .build()
            .map_err(|e| nl_err(&e))
    }
}

/// `struct ifa_cacheinfo` (host byte order): preferred and valid
/// lifetimes in seconds (`u32::MAX`: forever), the two time stamps zero.
fn ipv6_cacheinfo(preferred: u32, valid: u32) -> Vec<u8> {
    [preferred, valid, 0, 0].iter().flat_map(|v| v.to_ne_bytes()).collect()
}

/// piranha's broadcast for an IPv4 address: `(IP & M) | !M`, none for /31
/// and /32 (RFC 3021), none for a prefix over 32.
pub fn ipv4_broadcast(addr: Ipv4Addr, prefix_len: u8) -> Option<Ipv4Addr> {
    if prefix_len >= 31 {
        return None;
    }
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix_len)).unwrap_or(0);
    Some(Ipv4Addr::from((u32::from(addr) & mask) | !mask))
}

fn ip_from(payload: &[u8]) -> Option<IpAddr> {
    match payload.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::new(payload[0], payload[1], payload[2], payload[3]))),
        16 => {
            let mut b = [0; 16];
            b.copy_from_slice(payload);
            Some(IpAddr::V6(Ipv6Addr::from(b)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use neli::ToBytes;

    use super::*;

    #[test]
    fn piranha_broadcast() {
        let b = |a: &str, p| ipv4_broadcast(a.parse().unwrap(), p);
        assert_eq!(b("192.168.10.200", 24), Some("192.168.10.255".parse().unwrap()));
        assert_eq!(b("10.1.2.3", 8), Some("10.255.255.255".parse().unwrap()));
        assert_eq!(b("10.1.2.3", 0), Some("255.255.255.255".parse().unwrap()));
        assert_eq!(b("10.1.2.3", 30), Some("10.1.2.3".parse().unwrap()));
        assert_eq!(b("10.1.2.3", 31), None);
        assert_eq!(b("10.1.2.3", 32), None);
    }

    #[test]
    fn piranha_device_alias_becomes_label() {
        let v = VipAddress::piranha("eth0:1", "192.168.10.200".parse().unwrap(), 24);
        assert_eq!(v.device, "eth0");
        assert_eq!(v.label.as_deref(), Some("eth0:1"));
        assert_eq!(v.broadcast, Some("192.168.10.255".parse().unwrap()));
        v.validate().unwrap();
        let plain = VipAddress::piranha("eth0", "192.168.10.200".parse().unwrap(), 32);
        assert_eq!((plain.label, plain.broadcast), (None, None));
        let v6 = VipAddress::piranha("eth0:2", "2001:db8::10".parse().unwrap(), 64);
        assert_eq!((v6.device.as_str(), v6.label.as_deref(), v6.broadcast), ("eth0", None, None));
        v6.validate().unwrap();
    }

    #[test]
    fn validate_rejects_before_sending() {
        let ok = VipAddress::piranha("eth0:1", "10.0.0.1".parse().unwrap(), 24);
        let bad = |f: &dyn Fn(&mut VipAddress)| {
            let mut v = ok.clone();
            f(&mut v);
            assert!(matches!(v.validate(), Err(Error::Invalid { .. })), "{v:?}");
        };
        bad(&|v| v.prefix_len = 33);
        bad(&|v| v.label = Some("eth1:1".into()));
        bad(&|v| v.label = Some("eth0:0123456789ab".into()));
        bad(&|v| v.device = "eth0:1".into());
        bad(&|v| v.device = String::new());
        bad(&|v| {
            v.addr = "2001:db8::1".parse().unwrap();
            v.broadcast = None;
        });
        let mut v6 = VipAddress::piranha("eth0", "2001:db8::1".parse().unwrap(), 129);
        assert!(v6.validate().is_err());
        v6.prefix_len = 128;
        v6.validate().unwrap();
    }

    #[test]
    fn add_message_bytes() {
        let v = VipAddress::piranha("eth0:1", "192.168.10.200".parse().unwrap(), 24);
        let msg = v.to_ifaddrmsg(7, true).unwrap();
        let mut c = Cursor::new(Vec::new());
        msg.to_bytes(&mut c).unwrap();
        let raw: Vec<u8> = [
            &[2u8, 24, 0, 0][..], // AF_INET, /24, flags 0, scope universe
            &7u32.to_ne_bytes(),  // ifindex 7
            &8u16.to_ne_bytes(),  // rta_len 8
            &2u16.to_ne_bytes(),  // IFA_LOCAL
            &[192, 168, 10, 200], //
            &8u16.to_ne_bytes(),  // rta_len 8
            &1u16.to_ne_bytes(),  // IFA_ADDRESS
            &[192, 168, 10, 200], //
            &8u16.to_ne_bytes(),  // rta_len 8
            &4u16.to_ne_bytes(),  // IFA_BROADCAST
            &[192, 168, 10, 255], //
            &11u16.to_ne_bytes(), // rta_len 4 + "eth0:1\0"
            &3u16.to_ne_bytes(),  // IFA_LABEL
            b"eth0:1\0",          //
            &[0],                 // padding to 4 bytes
        ]
        .concat();
        assert_eq!(c.into_inner(), raw);

        let v6 = VipAddress::piranha("eth0", "2001:db8::10".parse().unwrap(), 64);
        let msg = v6.to_ifaddrmsg(3, true).unwrap();
        assert_eq!(*msg.ifa_family(), RtAddrFamily::Inet6);
        assert!(msg.ifa_flags().contains(IfaF::NODAD));
        let mut c = Cursor::new(Vec::new());
        msg.to_bytes(&mut c).unwrap();
        let bytes = c.into_inner();
        let cacheinfo: Vec<u8> = [
            &20u16.to_ne_bytes()[..], // rta_len 4 + 16
            &6u16.to_ne_bytes(),      // IFA_CACHEINFO
            &0u32.to_ne_bytes(),      // preferred lifetime 0: deprecated
            &u32::MAX.to_ne_bytes(),  // valid forever
            &[0; 8],                  // time stamps
        ]
        .concat();
        assert!(bytes.ends_with(&cacheinfo), "{bytes:?}");
        let del = v6.to_ifaddrmsg(3, false).unwrap();
        assert!(del.ifa_flags().is_empty());
    }

    #[test]
    fn decodes_its_own_add_message_as_an_address() {
        let v = VipAddress::piranha("eth0:1", "192.168.10.200".parse().unwrap(), 24);
        let msg = v.to_ifaddrmsg(7, true).unwrap();
        let a = AddrInfo::from_ifaddrmsg(&msg).unwrap();
        assert_eq!(a.ifindex, 7);
        assert_eq!(a.addr, v.addr);
        assert_eq!(a.prefix_len, 24);
        assert_eq!(a.label.as_deref(), Some("eth0:1"));
        assert_eq!(a.broadcast, v.broadcast);
    }
}
