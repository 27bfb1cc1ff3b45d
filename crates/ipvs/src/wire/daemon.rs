//! The connection-synchronization daemon (`IPVS_CMD_ATTR_DAEMON`): its
//! attributes, those of a request built from `model::DaemonConfig`, and
//! the daemon read back.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::nla::{put_attr, put_str, raw, str_of, u16_of, u32_of, u8_of};
use super::{attr, DecodeError};
use crate::model::{DaemonConfig, DaemonState, RawAttr};

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

impl DaemonAttr {
    pub(super) fn decode(kind: u16, p: &[u8]) -> DaemonAttr {
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

    pub(super) fn encode(&self, out: &mut Vec<u8>) {
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

pub(super) fn daemon_attrs(d: &DaemonConfig) -> Vec<DaemonAttr> {
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

pub(super) fn daemon_from_attrs(attrs: &[DaemonAttr]) -> Result<DaemonConfig, DecodeError> {
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
