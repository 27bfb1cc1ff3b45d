//! The connection-synchronization daemon's configuration.

use std::net::IpAddr;

use super::RawAttr;

/// Sync daemon role (`IPVS_DAEMON_ATTR_STATE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DaemonState {
    /// `IP_VS_STATE_MASTER` (1).
    Master,
    /// `IP_VS_STATE_BACKUP` (2).
    Backup,
    /// Any other value.
    Other(u32),
}

impl DaemonState {
    /// The wire value.
    pub fn to_raw(self) -> u32 {
        match self {
            DaemonState::Master => 1,
            DaemonState::Backup => 2,
            DaemonState::Other(v) => v,
        }
    }

    /// From the wire value.
    pub fn from_raw(v: u32) -> DaemonState {
        match v {
            1 => DaemonState::Master,
            2 => DaemonState::Backup,
            v => DaemonState::Other(v),
        }
    }
}

/// A connection-synchronisation daemon, as started (`--start-daemon`) or
/// reported (`--list --daemon`). Optional fields are left to the kernel's
/// defaults when `None` (group 224.0.0.81, port 8848, ttl 1, maxlen from the MTU).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaemonConfig {
    /// Master or backup.
    pub state: DaemonState,
    /// Multicast interface name (`--mcast-interface`).
    pub mcast_ifn: String,
    /// Sync id (`--syncid`).
    pub syncid: u32,
    /// Maximum sync message length (`--sync-maxlen`).
    pub maxlen: Option<u16>,
    /// Multicast group (`--mcast-group`), IPv4 or IPv6.
    pub group: Option<IpAddr>,
    /// Multicast port (`--mcast-port`); host byte order on the wire.
    pub port: Option<u16>,
    /// Multicast TTL (`--mcast-ttl`).
    pub ttl: Option<u8>,
    /// Attributes this model does not know.
    pub other_attrs: Vec<RawAttr>,
}

impl DaemonConfig {
    /// A daemon with only the mandatory fields.
    pub fn new(state: DaemonState, mcast_ifn: &str, syncid: u32) -> DaemonConfig {
        DaemonConfig {
            state,
            mcast_ifn: mcast_ifn.to_string(),
            syncid,
            maxlen: None,
            group: None,
            port: None,
            ttl: None,
            other_attrs: Vec::new(),
        }
    }
}
