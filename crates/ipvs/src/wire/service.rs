//! A virtual service (`IPVS_CMD_ATTR_SERVICE`): its attributes, those of
//! a request built from `model::Service`, and the service read back.

use super::nla::{
    addr_bytes, addr_from, be16_of, nest_of, put_attr, put_nest, put_str, raw, str_of, u16_of,
    u32_of,
};
use super::stats::{stats64_from, stats_from, StatsAttr};
use super::{attr, DecodeError, Nest, NLA_TYPE_MASK};
use crate::model::{Family, Netmask, Protocol, RawAttr, Service, ServiceFlags, ServiceKey};

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

impl SvcAttr {
    pub(super) fn decode(kind: u16, p: &[u8]) -> SvcAttr {
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

    pub(super) fn encode(&self, out: &mut Vec<u8>) {
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
