//! The statistics nests (`IPVS_SVC_ATTR_STATS`/`STATS64` and the
//! destination's): counters as found on the wire, read into the model.

use super::attr;
use super::nla::{put_attr, raw, u32_of, u64_of, Nest};
use crate::model::{RawAttr, Stats, Stats64};

/// Statistics attributes (`IPVS_STATS_ATTR_*`); width as found on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatsAttr {
    /// A 4-byte counter of the given kind.
    U32(u16, u32),
    /// An 8-byte counter of the given kind.
    U64(u16, u64),
    /// `IPVS_STATS_ATTR_PAD` alignment padding (payload kept).
    Pad(Vec<u8>),
    /// Anything else, byte for byte.
    Other(RawAttr),
}

impl StatsAttr {
    pub(super) fn decode(kind: u16, p: &[u8]) -> StatsAttr {
        match kind {
            attr::STATS_PAD => StatsAttr::Pad(p.to_vec()),
            attr::STATS_CONNS..=attr::STATS_OUTBPS => match (u32_of(p), u64_of(p)) {
                (Some(v), _) => StatsAttr::U32(kind, v),
                (_, Some(v)) => StatsAttr::U64(kind, v),
                _ => StatsAttr::Other(raw(kind, p)),
            },
            _ => StatsAttr::Other(raw(kind, p)),
        }
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            StatsAttr::U32(k, v) => put_attr(out, *k, &v.to_ne_bytes()),
            StatsAttr::U64(k, v) => put_attr(out, *k, &v.to_ne_bytes()),
            StatsAttr::Pad(p) => put_attr(out, attr::STATS_PAD, p),
            StatsAttr::Other(r) => put_attr(out, r.kind, &r.payload),
        }
    }
}

/// The ten counters (`IPVS_STATS_ATTR_CONNS` to `OUTBPS`, in that order)
/// of a statistics nest, whatever their width on the wire; 0 if absent.
fn counters(n: &Nest<StatsAttr>) -> [u64; 10] {
    let mut c = [0; 10];
    for a in &n.attrs {
        let (k, v) = match a {
            StatsAttr::U32(k, v) => (*k, u64::from(*v)),
            StatsAttr::U64(k, v) => (*k, *v),
            _ => continue,
        };
        if (attr::STATS_CONNS..=attr::STATS_OUTBPS).contains(&k) {
            c[usize::from(k - attr::STATS_CONNS)] = v;
        }
    }
    c
}

pub(super) fn stats_from(n: &Nest<StatsAttr>) -> Stats {
    let [conns, inpkts, outpkts, inbytes, outbytes, cps, inpps, outpps, inbps, outbps] =
        counters(n);
    // Counters other than the byte counts are u32 in this layout.
    let t = |v: u64| v as u32;
    Stats {
        conns: t(conns),
        inpkts: t(inpkts),
        outpkts: t(outpkts),
        inbytes,
        outbytes,
        cps: t(cps),
        inpps: t(inpps),
        outpps: t(outpps),
        inbps: t(inbps),
        outbps: t(outbps),
    }
}

pub(super) fn stats64_from(n: &Nest<StatsAttr>) -> Stats64 {
    let [conns, inpkts, outpkts, inbytes, outbytes, cps, inpps, outpps, inbps, outbps] =
        counters(n);
    Stats64 { conns, inpkts, outpkts, inbytes, outbytes, cps, inpps, outpps, inbps, outbps }
}
