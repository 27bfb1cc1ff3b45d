//! The attributes of `IPVS_CMD_GET_INFO`'s reply (version and connection
//! table size).

use super::attr;
use super::nla::{put_attr, raw, u32_of};
use crate::model::RawAttr;

/// Info attributes (`IPVS_INFO_ATTR_*`), the top level of GET_INFO replies.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InfoAttr {
    /// `VERSION`.
    Version(u32),
    /// `CONN_TAB_SIZE`.
    ConnTabSize(u32),
    /// Anything else, byte for byte.
    Other(RawAttr),
}

impl InfoAttr {
    pub(super) fn decode(kind: u16, p: &[u8]) -> InfoAttr {
        let decoded = match kind {
            attr::INFO_VERSION => u32_of(p).map(InfoAttr::Version),
            attr::INFO_CONN_TAB_SIZE => u32_of(p).map(InfoAttr::ConnTabSize),
            _ => None,
        };
        decoded.unwrap_or_else(|| InfoAttr::Other(raw(kind, p)))
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            InfoAttr::Version(v) => put_attr(out, attr::INFO_VERSION, &v.to_ne_bytes()),
            InfoAttr::ConnTabSize(v) => put_attr(out, attr::INFO_CONN_TAB_SIZE, &v.to_ne_bytes()),
            InfoAttr::Other(r) => put_attr(out, r.kind, &r.payload),
        }
    }
}
