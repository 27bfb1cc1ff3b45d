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

pub(super) fn stats_from(n: &Nest<StatsAttr>) -> Stats {
    let mut s = Stats::default();
    for a in &n.attrs {
        let (k, v) = match a {
            StatsAttr::U32(k, v) => (*k, u64::from(*v)),
            StatsAttr::U64(k, v) => (*k, *v),
            _ => continue,
        };
        // Counters other than the byte counts are u32 in this layout.
        let t = v as u32;
        match k {
            attr::STATS_CONNS => s.conns = t,
            attr::STATS_INPKTS => s.inpkts = t,
            attr::STATS_OUTPKTS => s.outpkts = t,
            attr::STATS_INBYTES => s.inbytes = v,
            attr::STATS_OUTBYTES => s.outbytes = v,
            attr::STATS_CPS => s.cps = t,
            attr::STATS_INPPS => s.inpps = t,
            attr::STATS_OUTPPS => s.outpps = t,
            attr::STATS_INBPS => s.inbps = t,
            attr::STATS_OUTBPS => s.outbps = t,
            _ => {}
        }
    }
    s
}

pub(super) fn stats64_from(n: &Nest<StatsAttr>) -> Stats64 {
    let mut s = Stats64::default();
    for a in &n.attrs {
        let (k, v) = match a {
            StatsAttr::U32(k, v) => (*k, u64::from(*v)),
            StatsAttr::U64(k, v) => (*k, *v),
            _ => continue,
        };
        match k {
            attr::STATS_CONNS => s.conns = v,
            attr::STATS_INPKTS => s.inpkts = v,
            attr::STATS_OUTPKTS => s.outpkts = v,
            attr::STATS_INBYTES => s.inbytes = v,
            attr::STATS_OUTBYTES => s.outbytes = v,
            attr::STATS_CPS => s.cps = v,
            attr::STATS_INPPS => s.inpps = v,
            attr::STATS_OUTPPS => s.outpps = v,
            attr::STATS_INBPS => s.inbps = v,
            attr::STATS_OUTBPS => s.outbps = v,
            _ => {}
        }
    }
    s
}
