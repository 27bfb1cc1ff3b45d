//! The requests: the message for each table change (`model::Command`) and
//! for each read, in the attribute order libipvs sends.

use super::daemon::{daemon_attrs, DaemonAttr};
use super::dest::{dest_attrs, dest_key_attrs};
use super::message::{Attrs, Cmd, CmdAttr, GenlMessage};
use super::service::{service_attrs, service_key_attrs};
use super::{Nest, GENL_VERSION};
use crate::model::{Command, ServiceKey};

/// The message for one table change.
pub fn command_message(c: &Command) -> GenlMessage {
    let svc_key = |k: &ServiceKey| CmdAttr::Service(Nest::request(service_key_attrs(k)));
    match c {
        Command::AddService(s) => GenlMessage::new(
            Cmd::NewService,
            vec![CmdAttr::Service(Nest::request(service_attrs(s)))],
        ),
        Command::EditService(s) => GenlMessage::new(
            Cmd::SetService,
            vec![CmdAttr::Service(Nest::request(service_attrs(s)))],
        ),
        Command::DelService(k) => GenlMessage::new(Cmd::DelService, vec![svc_key(k)]),
        Command::AddDest(k, d) => GenlMessage::new(
            Cmd::NewDest,
            vec![svc_key(k), CmdAttr::Dest(Nest::request(dest_attrs(d)))],
        ),
        Command::EditDest(k, d) => GenlMessage::new(
            Cmd::SetDest,
            vec![svc_key(k), CmdAttr::Dest(Nest::request(dest_attrs(d)))],
        ),
        Command::DelDest(k, d) => GenlMessage::new(
            Cmd::DelDest,
            vec![svc_key(k), CmdAttr::Dest(Nest::request(dest_key_attrs(d)))],
        ),
        Command::Flush => GenlMessage::new(Cmd::Flush, vec![]),
        Command::Zero(None) => GenlMessage::new(Cmd::Zero, vec![]),
        Command::Zero(Some(k)) => GenlMessage::new(Cmd::Zero, vec![svc_key(k)]),
        Command::SetTimeouts(t) => GenlMessage::new(
            Cmd::SetConfig,
            vec![
                CmdAttr::TimeoutTcp(t.tcp),
                CmdAttr::TimeoutTcpFin(t.tcp_fin),
                CmdAttr::TimeoutUdp(t.udp),
            ],
        ),
        Command::StartDaemon(d) => {
            GenlMessage::new(Cmd::NewDaemon, vec![CmdAttr::Daemon(Nest::request(daemon_attrs(d)))])
        }
        Command::StopDaemon(state) => GenlMessage::new(
            Cmd::DelDaemon,
            vec![CmdAttr::Daemon(Nest::request(vec![DaemonAttr::State(state.to_raw())]))],
        ),
    }
}

/// `IPVS_CMD_GET_SERVICE` for one service (a doit, no `NLM_F_DUMP`).
pub fn get_service_message(key: &ServiceKey) -> GenlMessage {
    GenlMessage::new(Cmd::GetService, vec![CmdAttr::Service(Nest::request(service_key_attrs(key)))])
}

/// `IPVS_CMD_GET_SERVICE` as a dump of every service (send with `NLM_F_DUMP`).
pub fn dump_services_message() -> GenlMessage {
    GenlMessage::new(Cmd::GetService, vec![])
}

/// `IPVS_CMD_GET_DEST` for a service (dump only: send with `NLM_F_DUMP`).
pub fn dump_dests_message(key: &ServiceKey) -> GenlMessage {
    GenlMessage::new(Cmd::GetDest, vec![CmdAttr::Service(Nest::request(service_key_attrs(key)))])
}

/// `IPVS_CMD_GET_CONFIG` (the timeouts).
pub fn get_timeouts_message() -> GenlMessage {
    GenlMessage::new(Cmd::GetConfig, vec![])
}

/// `IPVS_CMD_GET_DAEMON` (dump only).
pub fn dump_daemons_message() -> GenlMessage {
    GenlMessage::new(Cmd::GetDaemon, vec![])
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
