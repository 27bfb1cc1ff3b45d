//! ECMP announcements as kernel routes: one host route per VIP (`/32`,
//! `/128`) of type blackhole, protocol [`PROTO_LVS`], in a table of its
//! own (`ip route add blackhole VIP/32 table T proto 76`). BIRD's `protocol
//! kernel` learns that table and exports it over BGP (`etc/bird-ecmp.conf`),
//! so the table is the announcement: a route there is a VIP announced.
//!
//! Blackhole, because the route only says "announce this": the VIP is
//! local (on `lo`), and the local table is looked up before any other, so
//! the route never forwards a packet. The protocol number tells our routes
//! from anything else in the table, so that start-up reconciliation
//! removes only what a crashed pulse left. Encoding and decoding are pure
//! ([`route_msg`], [`VipRoute::from_rtmsg`]); the requests are on
//! [`Rtnl`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use neli::consts::nl::NlmF;
use neli::consts::rtnl::{RtAddrFamily, RtScope, RtTable, Rta, Rtm, Rtn, Rtprot};
use neli::rtnl::{RtattrBuilder, Rtmsg, RtmsgBuilder};
use neli::types::{Buffer, RtBuffer};

use crate::error::{Op, Result};
use crate::rtnl::{other, ReqError, Rtnl};
use crate::Outcome;

/// `rtm_protocol` of the VIP routes: not one of the kernel's or a routing
/// daemon's numbers (`/etc/iproute2/rt_protos`: 42 and above are routing
/// daemons'; 76 is free), so `ip route show proto 76` lists ours alone.
pub const PROTO_LVS: u8 = 76;

/// One announced VIP: its address (the route is a host route) and table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VipRoute {
    /// The VIP.
    pub vip: IpAddr,
    /// The kernel table.
    pub table: u32,
}

fn family(a: IpAddr) -> RtAddrFamily {
    if a.is_ipv6() {
        RtAddrFamily::Inet6
    } else {
        RtAddrFamily::Inet
    }
}

fn host_len(a: IpAddr) -> u8 {
    if a.is_ipv6() {
        128
    } else {
        32
    }
}

/// `rtm_table` for `table`: tables above 255 are given by `RTA_TABLE`
/// alone, with `RT_TABLE_COMPAT` in the header, as iproute2 does.
fn header_table(table: u32) -> RtTable {
    u8::try_from(table).map_or(RtTable::Compat, RtTable::from)
}

/// The `RTM_NEWROUTE`/`RTM_DELROUTE` payload for `r`.
///
/// # Errors
/// neli fails to build the message (it does not for valid input).
pub fn route_msg(r: VipRoute) -> std::result::Result<Rtmsg, String> {
    let dst = match r.vip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    let mut attrs = RtBuffer::new();
    for (kind, bytes) in [(Rta::Dst, dst), (Rta::Table, r.table.to_ne_bytes().to_vec())] {
        attrs.push(
            RtattrBuilder::default()
                .rta_type(kind)
                .rta_payload(Buffer::from(bytes))
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    RtmsgBuilder::default()
        .rtm_family(family(r.vip))
        .rtm_dst_len(host_len(r.vip))
        .rtm_src_len(0)
        .rtm_tos(0)
        .rtm_table(header_table(r.table))
        .rtm_protocol(Rtprot::from(PROTO_LVS))
        .rtm_scope(RtScope::Universe)
        .rtm_type(Rtn::Blackhole)
        .rtattrs(attrs)
        .build()
        .map_err(|e| e.to_string())
}

fn ip_of(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => <[u8; 4]>::try_from(b).ok().map(|o| IpAddr::V4(Ipv4Addr::from(o))),
        16 => <[u8; 16]>::try_from(b).ok().map(|o| IpAddr::V6(Ipv6Addr::from(o))),
        _ => None,
    }
}

impl VipRoute {
    /// The VIP route a route message describes, if it is one of ours: a
    /// host route of protocol [`PROTO_LVS`].
    pub fn from_rtmsg(m: &Rtmsg) -> Option<VipRoute> {
        if u8::from(*m.rtm_protocol()) != PROTO_LVS {
            return None;
        }
        let mut table = u32::from(u8::from(*m.rtm_table()));
        let mut vip = None;
        for a in m.rtattrs().iter() {
            let b: &[u8] = a.rta_payload().as_ref();
            match a.rta_type() {
                Rta::Dst => vip = ip_of(b),
                Rta::Table => {
                    table = <[u8; 4]>::try_from(b).map(u32::from_ne_bytes).unwrap_or(table);
                }
                _ => {}
            }
        }
        let vip = vip?;
        (*m.rtm_dst_len() == host_len(vip)).then_some(VipRoute { vip, table })
    }
}

impl Rtnl {
    /// Our VIP routes in `table`, both families (`ip route show table T
    /// proto 76` and `ip -6 …`).
    ///
    /// # Errors
    /// The kernel's errno.
    pub fn vip_routes(&mut self, table: u32) -> Result<Vec<VipRoute>> {
        let mut out = Vec::new();
        for fam in [RtAddrFamily::Inet, RtAddrFamily::Inet6] {
            let routes = self.routes(fam)?;
            out.extend(routes.iter().filter_map(VipRoute::from_rtmsg).filter(|r| r.table == table));
        }
        Ok(out)
    }

    /// Announces: adds the VIP route; one already there is
    /// [`Outcome::Unchanged`].
    ///
    /// # Errors
    /// The kernel's errno (`EPERM` without `CAP_NET_ADMIN`).
    pub fn add_vip_route(&mut self, r: VipRoute) -> Result<Outcome> {
        let msg = route_msg(r).map_err(|e| other(e).into_error(Op::SetRoute, "*"))?;
        match self.request(Rtm::Newroute, NlmF::CREATE | NlmF::EXCL, msg) {
            Ok(_) => Ok(Outcome::Changed),
            Err(ReqError::Errno(libc::EEXIST)) => Ok(Outcome::Unchanged),
            Err(e) => Err(e.into_error(Op::SetRoute, "*")),
        }
    }

    /// Withdraws: removes the VIP route; one that is not there is
    /// [`Outcome::Unchanged`].
    ///
    /// # Errors
    /// The kernel's errno.
    pub fn del_vip_route(&mut self, r: VipRoute) -> Result<Outcome> {
        let msg = route_msg(r).map_err(|e| other(e).into_error(Op::DelRoute, "*"))?;
        match self.request(Rtm::Delroute, NlmF::empty(), msg) {
            Ok(_) => Ok(Outcome::Changed),
            Err(ReqError::Errno(libc::ESRCH)) => Ok(Outcome::Unchanged),
            Err(e) => Err(e.into_error(Op::DelRoute, "*")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtnl::decode;
    use neli::ToBytes;

    fn round_trip(r: VipRoute) -> Option<VipRoute> {
        let m = route_msg(r).unwrap();
        let mut bytes = std::io::Cursor::new(Vec::new());
        m.to_bytes(&mut bytes).unwrap();
        let b = Buffer::from(bytes.into_inner());
        decode::<Rtmsg>(&b).ok().and_then(|m| VipRoute::from_rtmsg(&m))
    }

    #[test]
    fn encoded_routes_decode_as_ours() {
        for r in [
            VipRoute { vip: "10.0.100.1".parse().unwrap(), table: 100 },
            VipRoute { vip: "fd00::1".parse().unwrap(), table: 100_000 },
        ] {
            assert_eq!(round_trip(r), Some(r));
        }
    }

    #[test]
    fn header_of_a_route() {
        let m = route_msg(VipRoute { vip: "10.0.100.1".parse().unwrap(), table: 7 }).unwrap();
        assert_eq!(*m.rtm_dst_len(), 32);
        assert_eq!(*m.rtm_type(), Rtn::Blackhole);
        assert_eq!(u8::from(*m.rtm_table()), 7);
        assert_eq!(u8::from(*m.rtm_protocol()), PROTO_LVS);
        let big = route_msg(VipRoute { vip: "fd00::1".parse().unwrap(), table: 300 }).unwrap();
        assert_eq!(*big.rtm_table(), RtTable::Compat);
        assert_eq!(*big.rtm_dst_len(), 128);
    }
}
