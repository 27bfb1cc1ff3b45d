//! The netlink attribute (`nlattr`) primitives every object is built
//! from: put and split typed, padded, nested attributes, and the address
//! layout IPVS uses (a 16-byte `union nf_inet_addr`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{nl, DecodeError, NLA_F_NESTED};
use crate::model::{Family, RawAttr};

/// A nested attribute's children, and whether its type carried `NLA_F_NESTED`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nest<T> {
    /// True if the sender set `NLA_F_NESTED` (libnl may; the kernel does not).
    pub flagged: bool,
    /// The children in order.
    pub attrs: Vec<T>,
}

impl<T> Nest<T> {
    /// A nest without `NLA_F_NESTED`, as the kernel emits them.
    pub fn new(attrs: Vec<T>) -> Nest<T> {
        Nest { flagged: false, attrs }
    }

    /// A nest with `NLA_F_NESTED`, as ipvsadm sends them (libnl >= 3.5's
    /// `nla_nest_start` sets it; the kernel accepts either).
    pub fn request(attrs: Vec<T>) -> Nest<T> {
        Nest { flagged: true, attrs }
    }
}

pub(super) fn put_attr(out: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    out.extend_from_slice(&(len as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(payload);
    out.resize(out.len() + (nl::align(len) - len), 0);
}

pub(super) fn put_nest(
    out: &mut Vec<u8>,
    kind: u16,
    flagged: bool,
    fill: impl FnOnce(&mut Vec<u8>),
) {
    let start = out.len();
    let kind = if flagged { kind | NLA_F_NESTED } else { kind };
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&kind.to_ne_bytes());
    fill(out);
    let len = (out.len() - start) as u16;
    out[start..start + 2].copy_from_slice(&len.to_ne_bytes());
}

pub(super) fn put_str(out: &mut Vec<u8>, kind: u16, s: &str) {
    let mut b = Vec::with_capacity(s.len() + 1);
    b.extend_from_slice(s.as_bytes());
    b.push(0);
    put_attr(out, kind, &b);
}

/// Split an attribute stream into (raw type, payload) pairs.
pub(super) fn attrs_of(mut b: &[u8]) -> Result<Vec<(u16, &[u8])>, DecodeError> {
    let mut out = Vec::new();
    while !b.is_empty() {
        if b.len() < 4 {
            return Err(DecodeError::Truncated { what: "nlattr", need: 4, have: b.len() });
        }
        let len = u16::from_ne_bytes([b[0], b[1]]) as usize;
        let kind = u16::from_ne_bytes([b[2], b[3]]);
        if len < 4 || len > b.len() {
            return Err(DecodeError::BadLength { what: "nlattr", len, available: b.len() });
        }
        out.push((kind, &b[4..len]));
        b = &b[nl::align(len).min(b.len())..];
    }
    Ok(out)
}

pub(super) fn raw(kind: u16, p: &[u8]) -> RawAttr {
    RawAttr { kind, payload: p.to_vec() }
}

pub(super) fn u8_of(p: &[u8]) -> Option<u8> {
    <[u8; 1]>::try_from(p).ok().map(|b| b[0])
}
pub(super) fn u16_of(p: &[u8]) -> Option<u16> {
    <[u8; 2]>::try_from(p).ok().map(u16::from_ne_bytes)
}
pub(super) fn be16_of(p: &[u8]) -> Option<u16> {
    <[u8; 2]>::try_from(p).ok().map(u16::from_be_bytes)
}
pub(super) fn u32_of(p: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(p).ok().map(u32::from_ne_bytes)
}
pub(super) fn u64_of(p: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(p).ok().map(u64::from_ne_bytes)
}
/// A NUL-terminated string that re-encodes to exactly `p`.
pub(super) fn str_of(p: &[u8]) -> Option<String> {
    let (last, body) = p.split_last()?;
    if *last != 0 || body.contains(&0) {
        return None;
    }
    String::from_utf8(body.to_vec()).ok()
}

pub(super) fn nest_of<T>(kind: u16, p: &[u8], child: impl Fn(u16, &[u8]) -> T) -> Option<Nest<T>> {
    let children = attrs_of(p).ok()?;
    // Re-encoding must reproduce `p`: the kernel pads every child, so a
    // stream whose total is not aligned is kept raw.
    if !p.len().is_multiple_of(4) {
        return None;
    }
    Some(Nest {
        flagged: kind & NLA_F_NESTED != 0,
        attrs: children.into_iter().map(|(k, v)| child(k, v)).collect(),
    })
}

pub(super) fn addr_bytes(addr: &IpAddr) -> Vec<u8> {
    // ipvsadm sends the whole `union nf_inet_addr` (16 bytes), IPv4 in the
    // first four; the kernel emits the same.
    let mut b = vec![0u8; 16];
    match addr {
        IpAddr::V4(a) => b[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => b.copy_from_slice(&a.octets()),
    }
    b
}

pub(super) fn addr_from(family: Family, b: &[u8]) -> Result<IpAddr, DecodeError> {
    match family {
        Family::Inet if b.len() >= 4 => Ok(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))),
        Family::Inet6 if b.len() == 16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            Ok(IpAddr::V6(Ipv6Addr::from(a)))
        }
        _ => Err(DecodeError::BadAddress(b.len())),
    }
}
