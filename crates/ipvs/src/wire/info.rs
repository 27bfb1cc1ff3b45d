//! `IPVS_CMD_GET_INFO` and its reply (version and connection table size),
//! and the timeouts (`IPVS_CMD_GET_CONFIG`), the two global settings.

use super::message::{expect_cmd, Attrs, Cmd, CmdAttr, GenlMessage};
use super::nla::{put_attr, raw, u32_of};
use super::{attr, DecodeError, GENL_VERSION};
use crate::model::{Info, RawAttr, Timeouts};

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

/// `IPVS_CMD_GET_CONFIG` (the timeouts).
pub fn get_timeouts_message() -> GenlMessage {
    GenlMessage::new(Cmd::GetConfig, vec![])
}

/// `IPVS_CMD_GET_INFO`.
pub fn get_info_message() -> GenlMessage {
    GenlMessage {
        cmd: Cmd::GetInfo,
        version: GENL_VERSION,
        reserved: 0,
        attrs: Attrs::Info(vec![]),
    }
}

/// The timeouts in a `SET_CONFIG` reply (to `GET_CONFIG`). A timeout the
/// kernel omits (protocol compiled out) reads as 0, as in ipvsadm.
pub fn timeouts_from_message(msg: &GenlMessage) -> Result<Timeouts, DecodeError> {
    expect_cmd(msg, Cmd::SetConfig)?;
    let mut t = Timeouts::default();
    for a in msg.cmd_attrs() {
        match a {
            CmdAttr::TimeoutTcp(v) => t.tcp = *v,
            CmdAttr::TimeoutTcpFin(v) => t.tcp_fin = *v,
            CmdAttr::TimeoutUdp(v) => t.udp = *v,
            _ => {}
        }
    }
    Ok(t)
}

/// The info in a `SET_INFO` reply (to `GET_INFO`).
pub fn info_from_message(msg: &GenlMessage) -> Result<Info, DecodeError> {
    expect_cmd(msg, Cmd::SetInfo)?;
    let (mut version, mut size) = (None, None);
    if let Attrs::Info(attrs) = &msg.attrs {
        for a in attrs {
            match a {
                InfoAttr::Version(v) => version = Some(*v),
                InfoAttr::ConnTabSize(v) => size = Some(*v),
                InfoAttr::Other(_) => {}
            }
        }
    }
    Ok(Info {
        version: version.ok_or(DecodeError::Missing { what: "IPVS_INFO_ATTR_VERSION" })?,
        conn_tab_size: size.ok_or(DecodeError::Missing { what: "IPVS_INFO_ATTR_CONN_TAB_SIZE" })?,
    })
}
