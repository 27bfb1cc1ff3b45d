//! The changes to the table (`Command`) and the operations that name
//! them in errors (`Op`).

use std::fmt;

use super::{DaemonConfig, DaemonState, Dest, DestKey, Service, ServiceKey, Timeouts};

/// One change to the IPVS table, as a batch element (see `Client::apply`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `ipvsadm -A`.
    AddService(Service),
    /// `ipvsadm -E`.
    EditService(Service),
    /// `ipvsadm -D`.
    DelService(ServiceKey),
    /// `ipvsadm -a`.
    AddDest(ServiceKey, Dest),
    /// `ipvsadm -e`.
    EditDest(ServiceKey, Dest),
    /// `ipvsadm -d`.
    DelDest(ServiceKey, DestKey),
    /// `ipvsadm -C`.
    Flush,
    /// `ipvsadm -Z [service]`: one service, or all services and the totals.
    Zero(Option<ServiceKey>),
    /// `ipvsadm --set tcp tcpfin udp`.
    SetTimeouts(Timeouts),
    /// `ipvsadm --start-daemon`.
    StartDaemon(DaemonConfig),
    /// `ipvsadm --stop-daemon`.
    StopDaemon(DaemonState),
}

/// Which operation a result or error is about; the key into ipvsadm's
/// `ipvs_strerror` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// Resolving the `IPVS` generic netlink family (ipvsadm's `ipvs_init`).
    Init,
    /// `-A`.
    AddService,
    /// `-E`.
    EditService,
    /// `-D`.
    DelService,
    /// `-Z`.
    Zero,
    /// `-a`.
    AddDest,
    /// `-e`.
    EditDest,
    /// `-d`.
    DelDest,
    /// `-C`.
    Flush,
    /// Dump of all services.
    GetServices,
    /// Get of one service.
    GetService,
    /// Dump of one service's destinations.
    GetDests,
    /// `--timeout` listing.
    GetTimeouts,
    /// `--set`.
    SetTimeouts,
    /// `--start-daemon`.
    StartDaemon,
    /// `--stop-daemon`.
    StopDaemon,
    /// `--daemon` listing.
    GetDaemons,
    /// Version and table size.
    GetInfo,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Init => "resolve the IPVS family",
            Op::AddService => "add service",
            Op::EditService => "edit service",
            Op::DelService => "delete service",
            Op::Zero => "zero counters",
            Op::AddDest => "add destination",
            Op::EditDest => "edit destination",
            Op::DelDest => "delete destination",
            Op::Flush => "flush",
            Op::GetServices => "list services",
            Op::GetService => "get service",
            Op::GetDests => "list destinations",
            Op::GetTimeouts => "get timeouts",
            Op::SetTimeouts => "set timeouts",
            Op::StartDaemon => "start sync daemon",
            Op::StopDaemon => "stop sync daemon",
            Op::GetDaemons => "list sync daemons",
            Op::GetInfo => "get IPVS info",
        })
    }
}

impl Command {
    /// The operation this command performs.
    pub fn op(&self) -> Op {
        match self {
            Command::AddService(_) => Op::AddService,
            Command::EditService(_) => Op::EditService,
            Command::DelService(_) => Op::DelService,
            Command::AddDest(..) => Op::AddDest,
            Command::EditDest(..) => Op::EditDest,
            Command::DelDest(..) => Op::DelDest,
            Command::Flush => Op::Flush,
            Command::Zero(_) => Op::Zero,
            Command::SetTimeouts(_) => Op::SetTimeouts,
            Command::StartDaemon(_) => Op::StartDaemon,
            Command::StopDaemon(_) => Op::StopDaemon,
        }
    }
}
