//! The replies: the model values read out of the kernel's messages.

use super::daemon::daemon_from_attrs;
use super::dest::dest_from_attrs;
use super::info::InfoAttr;
use super::message::{Attrs, Cmd, CmdAttr, GenlMessage};
use super::service::service_from_attrs;
use super::DecodeError;
use crate::model::{DaemonConfig, Dest, Family, Info, Service, Timeouts};

fn expect_cmd(msg: &GenlMessage, want: Cmd) -> Result<(), DecodeError> {
    if msg.cmd == want {
        Ok(())
    } else {
        Err(DecodeError::UnexpectedCommand(msg.cmd.to_raw()))
    }
}

/// The service in a `NEW_SERVICE` reply (dump or get).
pub fn service_from_message(msg: &GenlMessage) -> Result<Service, DecodeError> {
    expect_cmd(msg, Cmd::NewService)?;
    msg.cmd_attrs()
        .iter()
        .find_map(|a| match a {
            CmdAttr::Service(n) => Some(service_from_attrs(&n.attrs)),
            _ => None,
        })
        .unwrap_or(Err(DecodeError::Missing { what: "IPVS_CMD_ATTR_SERVICE" }))
}

/// The destination in a `NEW_DEST` dump reply.
pub fn dest_from_message(msg: &GenlMessage, service_family: Family) -> Result<Dest, DecodeError> {
    expect_cmd(msg, Cmd::NewDest)?;
    msg.cmd_attrs()
        .iter()
        .find_map(|a| match a {
            CmdAttr::Dest(n) => Some(dest_from_attrs(&n.attrs, service_family)),
            _ => None,
        })
        .unwrap_or(Err(DecodeError::Missing { what: "IPVS_CMD_ATTR_DEST" }))
}

/// The daemon in a `NEW_DAEMON` dump reply.
pub fn daemon_from_message(msg: &GenlMessage) -> Result<DaemonConfig, DecodeError> {
    expect_cmd(msg, Cmd::NewDaemon)?;
    msg.cmd_attrs()
        .iter()
        .find_map(|a| match a {
            CmdAttr::Daemon(n) => Some(daemon_from_attrs(&n.attrs)),
            _ => None,
        })
        .unwrap_or(Err(DecodeError::Missing { what: "IPVS_CMD_ATTR_DAEMON" }))
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
