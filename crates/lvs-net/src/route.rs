//! Default routes of the main table over rtnetlink (`ip route show
//! default`, `ip route replace default via GW`, `ip route del default via
//! GW`): what lvs-node needs for a NAT real server, whose default gateway
//! must be the routers' floating `nat_router` address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use neli::consts::nl::NlmF;
use neli::consts::rtnl::{RtAddrFamily, RtScope, RtTable, Rta, Rtm, Rtn, Rtprot};
use neli::rtnl::{RtattrBuilder, Rtmsg, RtmsgBuilder};
use neli::types::{Buffer, RtBuffer};

use crate::error::{Op, Result};
use crate::rtnl::{decode, other, ReqError, Rtnl};

/// A default route: its gateway and who made it (`rtm_protocol`: 3 boot,
/// 4 static, 16 dhcp...), kept so that a route put back is the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DefaultRoute {
    /// The gateway.
    pub gateway: IpAddr,
    /// `rtm_protocol`.
    pub protocol: u8,
}

/// `RTPROT_STATIC`: routes lvs-node adds.
pub const PROTO_STATIC: u8 = 4;

fn family(v6: bool) -> RtAddrFamily {
    if v6 {
        RtAddrFamily::Inet6
    } else {
        RtAddrFamily::Inet
    }
}

/// The route of a route message, if it is a default route of the main
/// table with a gateway.
pub fn default_route(m: &Rtmsg) -> Option<DefaultRoute> {
    if *m.rtm_dst_len() != 0 || *m.rtm_table() != RtTable::Main {
        return None;
    }
    let attr = m.rtattrs().iter().find(|a| *a.rta_type() == Rta::Gateway)?;
    let b: &[u8] = attr.rta_payload().as_ref();
    let gateway = match b.len() {
        4 => <[u8; 4]>::try_from(b).ok().map(|o| IpAddr::V4(Ipv4Addr::from(o))),
        16 => <[u8; 16]>::try_from(b).ok().map(|o| IpAddr::V6(Ipv6Addr::from(o))),
        _ => None,
    }?;
    Some(DefaultRoute { gateway, protocol: u8::from(*m.rtm_protocol()) })
}

fn route_msg(gateway: IpAddr, protocol: u8) -> std::result::Result<Rtmsg, ReqError> {
    let bytes = match gateway {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    let mut attrs = RtBuffer::new();
    attrs.push(
        RtattrBuilder::default()
            .rta_type(Rta::Gateway)
            .rta_payload(Buffer::from(bytes))
            .build()
            .map_err(other)?,
    );
    RtmsgBuilder::default()
        .rtm_family(family(gateway.is_ipv6()))
        .rtm_dst_len(0)
        .rtm_src_len(0)
        .rtm_tos(0)
        .rtm_table(RtTable::Main)
        .rtm_protocol(Rtprot::from(protocol))
        .rtm_scope(RtScope::Universe)
        .rtm_type(Rtn::Unicast)
        .rtattrs(attrs)
        .build()
        .map_err(other)
}

impl Rtnl {
    /// The main table's default routes of one family (`ip [-6] route show
    /// default`), in the kernel's order.
    ///
    /// # Errors
    /// The kernel's errno.
    pub fn default_routes(&mut self, v6: bool) -> Result<Vec<DefaultRoute>> {
        Ok(self.routes(family(v6))?.iter().filter_map(default_route).collect())
    }

    /// Every route of one family, all tables (`ip [-6] route show table
    /// all`), in the kernel's order.
    ///
    /// # Errors
    /// The kernel's errno.
    pub(crate) fn routes(&mut self, fam: RtAddrFamily) -> Result<Vec<Rtmsg>> {
        let msg = RtmsgBuilder::default()
            .rtm_family(fam)
            .rtm_dst_len(0)
            .rtm_src_len(0)
            .rtm_tos(0)
            .rtm_table(RtTable::Unspec)
            .rtm_protocol(Rtprot::Unspec)
            .rtm_scope(RtScope::Universe)
            .rtm_type(Rtn::Unspec)
            .build()
            .map_err(|e| other(e).into_error(Op::ListRoutes, "*"))?;
        let bufs = self
            .request(Rtm::Getroute, NlmF::DUMP, msg)
            .map_err(|e| e.into_error(Op::ListRoutes, "*"))?;
        bufs.iter()
            .map(|b| decode::<Rtmsg>(b).map_err(|e| e.into_error(Op::ListRoutes, "*")))
            .collect()
    }

    /// Makes `route` the default route of its family (`ip route replace
    /// default via GW proto P`): the kernel finds the interface.
    ///
    /// # Errors
    /// The kernel's errno (`ENETUNREACH` when no interface reaches it).
    pub fn replace_default_route(&mut self, route: DefaultRoute) -> Result<()> {
        let msg = route_msg(route.gateway, route.protocol)
            .map_err(|e| e.into_error(Op::SetRoute, "*"))?;
        self.request(Rtm::Newroute, NlmF::CREATE | NlmF::REPLACE, msg)
            .map(|_| ())
            .map_err(|e| e.into_error(Op::SetRoute, "*"))
    }

    /// Removes the default route via `gateway`; one that is not there is
    /// no error.
    ///
    /// # Errors
    /// The kernel's errno.
    pub fn del_default_route(&mut self, gateway: IpAddr) -> Result<()> {
        let msg = route_msg(gateway, 0).map_err(|e| e.into_error(Op::DelRoute, "*"))?;
        match self.request(Rtm::Delroute, NlmF::empty(), msg) {
            Ok(_) | Err(ReqError::Errno(libc::ESRCH)) => Ok(()),
            Err(e) => Err(e.into_error(Op::DelRoute, "*")),
        }
    }
}
