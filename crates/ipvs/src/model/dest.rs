//! A real server (destination): its key, forwarding method and tunnel.

use std::net::IpAddr;

use super::{RawAttr, Stats, Stats64};

/// How packets reach a real server (`IPVS_DEST_ATTR_FWD_METHOD`, the
/// `IP_VS_CONN_F_FWD_MASK` part of the connection flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ForwardMethod {
    /// `IP_VS_CONN_F_MASQ` (0): NAT, ipvsadm `-m`.
    Masq,
    /// `IP_VS_CONN_F_LOCALNODE` (1): the router itself.
    Local,
    /// `IP_VS_CONN_F_TUNNEL` (2): IP-in-IP/GUE/GRE, ipvsadm `-i`.
    Tunnel,
    /// `IP_VS_CONN_F_DROUTE` (3): direct routing, ipvsadm `-g`.
    Route,
    /// `IP_VS_CONN_F_BYPASS` (4): cache bypass.
    Bypass,
    /// Any other value, kept as sent.
    Other(u32),
}

impl ForwardMethod {
    /// The wire value.
    pub fn to_raw(self) -> u32 {
        match self {
            ForwardMethod::Masq => 0,
            ForwardMethod::Local => 1,
            ForwardMethod::Tunnel => 2,
            ForwardMethod::Route => 3,
            ForwardMethod::Bypass => 4,
            ForwardMethod::Other(v) => v,
        }
    }

    /// From the wire value.
    pub fn from_raw(v: u32) -> ForwardMethod {
        match v {
            0 => ForwardMethod::Masq,
            1 => ForwardMethod::Local,
            2 => ForwardMethod::Tunnel,
            3 => ForwardMethod::Route,
            4 => ForwardMethod::Bypass,
            v => ForwardMethod::Other(v),
        }
    }
}

/// Tunnel encapsulation (`IPVS_DEST_ATTR_TUN_TYPE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TunnelType {
    /// `IP_VS_CONN_F_TUNNEL_TYPE_IPIP` (0).
    #[default]
    Ipip,
    /// `IP_VS_CONN_F_TUNNEL_TYPE_GUE` (1), needs a port.
    Gue,
    /// `IP_VS_CONN_F_TUNNEL_TYPE_GRE` (2).
    Gre,
    /// Any other value.
    Other(u8),
}

impl TunnelType {
    /// The wire value.
    pub fn to_raw(self) -> u8 {
        match self {
            TunnelType::Ipip => 0,
            TunnelType::Gue => 1,
            TunnelType::Gre => 2,
            TunnelType::Other(v) => v,
        }
    }

    /// From the wire value.
    pub fn from_raw(v: u8) -> TunnelType {
        match v {
            0 => TunnelType::Ipip,
            1 => TunnelType::Gue,
            2 => TunnelType::Gre,
            v => TunnelType::Other(v),
        }
    }
}

/// Tunnel checksum mode (`IPVS_DEST_ATTR_TUN_FLAGS`; a value, not a bit set).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TunnelCsum {
    /// `IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM` (0), `--tun-nocsum`.
    #[default]
    NoCsum,
    /// `IP_VS_TUNNEL_ENCAP_FLAG_CSUM` (1), `--tun-csum`.
    Csum,
    /// `IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM` (2), `--tun-remcsum`.
    RemCsum,
    /// Any other value.
    Other(u16),
}

impl TunnelCsum {
    /// The wire value.
    pub fn to_raw(self) -> u16 {
        match self {
            TunnelCsum::NoCsum => 0,
            TunnelCsum::Csum => 1,
            TunnelCsum::RemCsum => 2,
            TunnelCsum::Other(v) => v,
        }
    }

    /// From the wire value.
    pub fn from_raw(v: u16) -> TunnelCsum {
        match v {
            0 => TunnelCsum::NoCsum,
            1 => TunnelCsum::Csum,
            2 => TunnelCsum::RemCsum,
            v => TunnelCsum::Other(v),
        }
    }
}

/// Tunnel parameters of a destination (used with `ForwardMethod::Tunnel`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tunnel {
    /// Encapsulation.
    pub kind: TunnelType,
    /// UDP port for GUE (0 otherwise).
    pub port: u16,
    /// Checksum mode.
    pub csum: TunnelCsum,
}

/// What identifies a destination inside its service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DestKey {
    /// Real server address (its family may differ from the service's only for tunnels).
    pub addr: IpAddr,
    /// Real server port.
    pub port: u16,
}

/// A real server (destination) of a service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dest {
    /// Address.
    pub addr: IpAddr,
    /// Port.
    pub port: u16,
    /// Forwarding method.
    pub fwd: ForwardMethod,
    /// Weight (the kernel rejects values above `i32::MAX` with ERANGE).
    pub weight: u32,
    /// Upper connection threshold (`-x`), 0 = none.
    pub upper_threshold: u32,
    /// Lower connection threshold (`-y`), 0 = none.
    pub lower_threshold: u32,
    /// Tunnel parameters.
    pub tunnel: Tunnel,
    /// Active connections (replies only).
    pub active_conns: u32,
    /// Inactive connections (replies only).
    pub inactive_conns: u32,
    /// Persistent connection templates (replies only).
    pub persistent_conns: u32,
    /// 32-bit statistics (replies only).
    pub stats: Option<Stats>,
    /// 64-bit statistics (replies only).
    pub stats64: Option<Stats64>,
    /// Attributes this model does not know, re-emitted as they came.
    pub other_attrs: Vec<RawAttr>,
}

impl Dest {
    /// A destination as `ipvsadm -a` builds it by default: direct
    /// routing (`-g`), weight 1, no thresholds.
    pub fn new(addr: IpAddr, port: u16) -> Dest {
        Dest {
            addr,
            port,
            fwd: ForwardMethod::Route,
            weight: 1,
            upper_threshold: 0,
            lower_threshold: 0,
            tunnel: Tunnel::default(),
            active_conns: 0,
            inactive_conns: 0,
            persistent_conns: 0,
            stats: None,
            stats64: None,
            other_attrs: Vec::new(),
        }
    }

    /// Set the forwarding method.
    pub fn with_fwd(mut self, fwd: ForwardMethod) -> Dest {
        self.fwd = fwd;
        self
    }

    /// Set the weight.
    pub fn with_weight(mut self, weight: u32) -> Dest {
        self.weight = weight;
        self
    }

    /// The key identifying this destination.
    pub fn key(&self) -> DestKey {
        DestKey { addr: self.addr, port: self.port }
    }
}
