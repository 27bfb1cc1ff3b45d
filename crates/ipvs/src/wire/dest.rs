//! A real server (`IPVS_CMD_ATTR_DEST`): its attributes, those of a
//! request built from `model::Dest`, and the destination read back.

use std::net::{IpAddr, Ipv4Addr};

use super::nla::{
    addr_bytes, addr_from, be16_of, nest_of, put_attr, put_nest, raw, u16_of, u32_of, u8_of,
};
use super::stats::{stats64_from, stats_from, StatsAttr};
use super::{attr, DecodeError, Nest, NLA_TYPE_MASK};
use crate::model::{Dest, DestKey, Family, ForwardMethod, RawAttr, TunnelCsum, TunnelType};

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

impl DestAttr {
    pub(super) fn decode(kind: u16, p: &[u8]) -> DestAttr {
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

    pub(super) fn encode(&self, out: &mut Vec<u8>) {
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
