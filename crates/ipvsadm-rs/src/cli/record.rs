//! The records ipvsadm fills while it reads a command line
//! (`ipvs_service_t`, `ipvs_dest_t`, `ipvs_daemon_t` and the command
//! entry), kept in its raw forms so that its order-sensitive behaviours
//! stay what they are.

use std::net::IpAddr;

use ipvs::{ForwardMethod, Timeouts};

use super::{Cmd, Format};

/// ipvsadm's `ipvs_service_t` while it is being filled.
#[derive(Clone, Debug, Default)]
pub(super) struct RawSvc {
    pub(super) af: u16,
    pub(super) protocol: u16,
    pub(super) addr: [u8; 16],
    /// Host order.
    pub(super) port: u16,
    pub(super) fwmark: u32,
    pub(super) sched_name: String,
    pub(super) flags: u32,
    pub(super) timeout: u32,
    /// IPv4: the mask bytes as they lie in memory; IPv6: the prefix length.
    pub(super) netmask: u32,
    pub(super) pe_name: String,
}

/// ipvsadm's `ipvs_dest_t` while it is being filled (`-g` and weight 1
/// until an option says otherwise, as ipvsadm starts).
#[derive(Clone, Debug)]
pub(super) struct RawDest {
    pub(super) af: u16,
    pub(super) addr: [u8; 16],
    pub(super) port: u16,
    pub(super) fwd: ForwardMethod,
    pub(super) weight: u32,
    pub(super) u_threshold: u32,
    pub(super) l_threshold: u32,
    pub(super) tun_type: u8,
    pub(super) tun_port: u16,
    pub(super) tun_flags: u16,
}

impl Default for RawDest {
    fn default() -> RawDest {
        RawDest {
            af: 0,
            addr: [0; 16],
            port: 0,
            fwd: ForwardMethod::Route,
            weight: 1,
            u_threshold: 0,
            l_threshold: 0,
            tun_type: 0,
            tun_port: 0,
            tun_flags: 0,
        }
    }
}

/// ipvsadm's `ipvs_daemon_t` while it is being filled.
#[derive(Clone, Debug, Default)]
pub(super) struct RawDaemon {
    pub(super) state: u32,
    pub(super) mcast_ifn: String,
    pub(super) syncid: u32,
    pub(super) sync_maxlen: u16,
    pub(super) mcast_group: Option<IpAddr>,
    pub(super) mcast_port: u16,
    pub(super) mcast_ttl: u8,
}

/// ipvsadm's `ipvs_command_entry_t`: the command, the records and the
/// options seen so far (one bit per `OPTC_*`).
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) cmd: Cmd,
    pub(super) svc: RawSvc,
    pub(super) dest: RawDest,
    pub(super) timeout: Timeouts,
    pub(super) daemon: RawDaemon,
    pub(super) options: u64,
    pub(super) format: Format,
}
