//! The whole generic netlink message of the IPVS family: the command and
//! the top-level attributes, whose numbering depends on the command.

use super::daemon::DaemonAttr;
use super::dest::DestAttr;
use super::info::InfoAttr;
use super::nla::{attrs_of, nest_of, put_attr, put_nest, raw, u32_of, Nest};
use super::service::SvcAttr;
use super::{attr, DecodeError, GENL_VERSION, NLA_TYPE_MASK};
use crate::model::RawAttr;

/// IPVS generic netlink commands (`enum IPVS_CMD_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Cmd {
    Unspec,
    NewService,
    SetService,
    DelService,
    GetService,
    NewDest,
    SetDest,
    DelDest,
    GetDest,
    NewDaemon,
    DelDaemon,
    GetDaemon,
    /// `IPVS_CMD_SET_CONFIG` (ipvsadm: `IPVS_CMD_SET_TIMEOUT`).
    SetConfig,
    /// `IPVS_CMD_GET_CONFIG` (ipvsadm: `IPVS_CMD_GET_TIMEOUT`).
    GetConfig,
    SetInfo,
    GetInfo,
    Zero,
    Flush,
    /// A command number this code does not know.
    Other(u8),
}

impl Cmd {
    /// The command number.
    pub fn to_raw(self) -> u8 {
        match self {
            Cmd::Unspec => 0,
            Cmd::NewService => 1,
            Cmd::SetService => 2,
            Cmd::DelService => 3,
            Cmd::GetService => 4,
            Cmd::NewDest => 5,
            Cmd::SetDest => 6,
            Cmd::DelDest => 7,
            Cmd::GetDest => 8,
            Cmd::NewDaemon => 9,
            Cmd::DelDaemon => 10,
            Cmd::GetDaemon => 11,
            Cmd::SetConfig => 12,
            Cmd::GetConfig => 13,
            Cmd::SetInfo => 14,
            Cmd::GetInfo => 15,
            Cmd::Zero => 16,
            Cmd::Flush => 17,
            Cmd::Other(c) => c,
        }
    }

    /// From the command number.
    pub fn from_raw(c: u8) -> Cmd {
        match c {
            0 => Cmd::Unspec,
            1 => Cmd::NewService,
            2 => Cmd::SetService,
            3 => Cmd::DelService,
            4 => Cmd::GetService,
            5 => Cmd::NewDest,
            6 => Cmd::SetDest,
            7 => Cmd::DelDest,
            8 => Cmd::GetDest,
            9 => Cmd::NewDaemon,
            10 => Cmd::DelDaemon,
            11 => Cmd::GetDaemon,
            12 => Cmd::SetConfig,
            13 => Cmd::GetConfig,
            14 => Cmd::SetInfo,
            15 => Cmd::GetInfo,
            16 => Cmd::Zero,
            17 => Cmd::Flush,
            c => Cmd::Other(c),
        }
    }
}

/// Top-level attributes (`IPVS_CMD_ATTR_*`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CmdAttr {
    /// `IPVS_CMD_ATTR_SERVICE`.
    Service(Nest<SvcAttr>),
    /// `IPVS_CMD_ATTR_DEST`.
    Dest(Nest<DestAttr>),
    /// `IPVS_CMD_ATTR_DAEMON`.
    Daemon(Nest<DaemonAttr>),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP`.
    TimeoutTcp(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP_FIN`.
    TimeoutTcpFin(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_UDP`.
    TimeoutUdp(u32),
    /// Anything else, byte for byte.
    Other(RawAttr),
}

/// The top-level attributes of a message; their numbering depends on the command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attrs {
    /// `IPVS_CMD_ATTR_*` (every command but the info ones).
    Cmd(Vec<CmdAttr>),
    /// `IPVS_INFO_ATTR_*` (`IPVS_CMD_GET_INFO` / `IPVS_CMD_SET_INFO`).
    Info(Vec<InfoAttr>),
}

/// A whole generic netlink message of the IPVS family (after `nlmsghdr`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenlMessage {
    /// `genlmsghdr.cmd`.
    pub cmd: Cmd,
    /// `genlmsghdr.version` (1).
    pub version: u8,
    /// `genlmsghdr.reserved` (0).
    pub reserved: u16,
    /// The attributes.
    pub attrs: Attrs,
}

impl CmdAttr {
    pub(super) fn decode(kind: u16, p: &[u8]) -> CmdAttr {
        let decoded = match kind {
            attr::CMD_TIMEOUT_TCP => u32_of(p).map(CmdAttr::TimeoutTcp),
            attr::CMD_TIMEOUT_TCP_FIN => u32_of(p).map(CmdAttr::TimeoutTcpFin),
            attr::CMD_TIMEOUT_UDP => u32_of(p).map(CmdAttr::TimeoutUdp),
            // Nests match with or without NLA_F_NESTED (kept in `Nest::flagged`).
            _ => match kind & NLA_TYPE_MASK {
                attr::CMD_SERVICE => nest_of(kind, p, SvcAttr::decode).map(CmdAttr::Service),
                attr::CMD_DEST => nest_of(kind, p, DestAttr::decode).map(CmdAttr::Dest),
                attr::CMD_DAEMON => nest_of(kind, p, DaemonAttr::decode).map(CmdAttr::Daemon),
                _ => None,
            },
        };
        decoded.unwrap_or_else(|| CmdAttr::Other(raw(kind, p)))
    }

    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            CmdAttr::Service(n) => put_nest(out, attr::CMD_SERVICE, n.flagged, |o| {
                n.attrs.iter().for_each(|a| a.encode(o))
            }),
            CmdAttr::Dest(n) => put_nest(out, attr::CMD_DEST, n.flagged, |o| {
                n.attrs.iter().for_each(|a| a.encode(o))
            }),
            CmdAttr::Daemon(n) => put_nest(out, attr::CMD_DAEMON, n.flagged, |o| {
                n.attrs.iter().for_each(|a| a.encode(o))
            }),
            CmdAttr::TimeoutTcp(v) => put_attr(out, attr::CMD_TIMEOUT_TCP, &v.to_ne_bytes()),
            CmdAttr::TimeoutTcpFin(v) => put_attr(out, attr::CMD_TIMEOUT_TCP_FIN, &v.to_ne_bytes()),
            CmdAttr::TimeoutUdp(v) => put_attr(out, attr::CMD_TIMEOUT_UDP, &v.to_ne_bytes()),
            CmdAttr::Other(r) => put_attr(out, r.kind, &r.payload),
        }
    }
}

impl GenlMessage {
    /// A version-1 message with `IPVS_CMD_ATTR_*` attributes.
    pub fn new(cmd: Cmd, attrs: Vec<CmdAttr>) -> GenlMessage {
        GenlMessage { cmd, version: GENL_VERSION, reserved: 0, attrs: Attrs::Cmd(attrs) }
    }

    /// `genlmsghdr` + attributes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.push(self.cmd.to_raw());
        out.push(self.version);
        out.extend_from_slice(&self.reserved.to_ne_bytes());
        match &self.attrs {
            Attrs::Cmd(a) => a.iter().for_each(|a| a.encode(&mut out)),
            Attrs::Info(a) => a.iter().for_each(|a| a.encode(&mut out)),
        }
        out
    }

    /// Parse `genlmsghdr` + attributes (the payload after `nlmsghdr`).
    pub fn decode(b: &[u8]) -> Result<GenlMessage, DecodeError> {
        if b.len() < 4 {
            return Err(DecodeError::Truncated { what: "genlmsghdr", need: 4, have: b.len() });
        }
        let cmd = Cmd::from_raw(b[0]);
        let pairs = attrs_of(&b[4..])?;
        let attrs = match cmd {
            Cmd::GetInfo | Cmd::SetInfo => {
                Attrs::Info(pairs.into_iter().map(|(k, p)| InfoAttr::decode(k, p)).collect())
            }
            _ => Attrs::Cmd(pairs.into_iter().map(|(k, p)| CmdAttr::decode(k, p)).collect()),
        };
        Ok(GenlMessage { cmd, version: b[1], reserved: u16::from_ne_bytes([b[2], b[3]]), attrs })
    }

    pub(super) fn cmd_attrs(&self) -> &[CmdAttr] {
        match &self.attrs {
            Attrs::Cmd(a) => a,
            Attrs::Info(_) => &[],
        }
    }
}
