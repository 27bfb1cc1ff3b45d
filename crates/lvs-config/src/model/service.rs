//! A virtual service (piranha's `virtual` block), its real servers and
//! how IPVS forwards to them.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{yes, HealthCheck, Millis};

/// How IPVS forwards packets to a real server, as the configuration says it.
///
/// An edge type: `ipvs::ForwardMethod` is the workspace's one forwarding
/// method, but this crate knows nothing of netlink and pulse, which reads
/// the configuration, may not build `ipvs` (`tests/tests/deps.rs`). lvsd
/// turns it into `ipvs::ForwardMethod` in one place (`spec::forward`);
/// besides this crate, only pulse (the NAT router check) and lvs-node (a
/// real server's set-up) read it, and neither programs IPVS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForwardMethod {
    /// Masquerading, ipvsadm `-m` (piranha `nat`, the default).
    #[default]
    Nat,
    /// Direct routing, ipvsadm `-g` (piranha `direct`).
    Direct,
    /// IP-in-IP tunnelling, ipvsadm `-i` (piranha `tunnel`).
    Tunnel,
}

impl ForwardMethod {
    /// The lowercase name used in both file formats.
    pub fn name(self) -> &'static str {
        match self {
            ForwardMethod::Nat => "nat",
            ForwardMethod::Direct => "direct",
            ForwardMethod::Tunnel => "tunnel",
        }
    }
}

/// A virtual IP address and the interface that carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vip {
    /// The virtual IP address (IPv4 or IPv6).
    pub address: IpAddr,
    /// Interface or IPv4 alias label (`eth0:1`) to bring it up on.
    pub interface: String,
    /// Prefix length; absent means a host address (/32 or /128)
    /// (piranha `vip_nmask`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netmask: Option<u8>,
}

/// Transport protocol of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// TCP (the default).
    #[default]
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    /// The lowercase name used in both file formats.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// The schedulers of the Linux kernel (`ip_vs_*.ko`).
pub const KNOWN_SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos",
];

/// An IPVS scheduler name. Any name is accepted, since a module may add
/// schedulers; [`Scheduler::is_known`] tells whether the kernel ships it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Scheduler(pub String);

impl Scheduler {
    /// Whether the mainline kernel ships this scheduler.
    pub fn is_known(&self) -> bool {
        KNOWN_SCHEDULERS.contains(&self.0.as_str())
    }
}

impl Default for Scheduler {
    /// `wlc`, the default of piranha and ipvsadm.
    fn default() -> Self {
        Scheduler("wlc".to_owned())
    }
}

/// A scheduler flag (ipvsadm `-b`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SchedulerFlag {
    /// `flag-1`: `sh-fallback` / `mh-fallback`.
    #[serde(rename = "flag-1")]
    Flag1,
    /// `flag-2`: `sh-port` / `mh-port`.
    #[serde(rename = "flag-2")]
    Flag2,
    /// `flag-3`.
    #[serde(rename = "flag-3")]
    Flag3,
}

impl SchedulerFlag {
    /// The generic name (`flag-1`...).
    pub fn name(self) -> &'static str {
        match self {
            SchedulerFlag::Flag1 => "flag-1",
            SchedulerFlag::Flag2 => "flag-2",
            SchedulerFlag::Flag3 => "flag-3",
        }
    }
}

/// Persistence of a virtual service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Persistence {
    /// Persistence timeout in seconds, at least 1 (piranha `persistent`).
    pub timeout: u32,
    /// Client granularity as a prefix length; absent means per client
    /// address (/32 or /128) (piranha `pmask`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netmask: Option<u8>,
}

/// An LVS virtual service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualService {
    /// Name, unique among virtual services.
    pub name: String,
    /// Inactive services are neither loaded nor checked (piranha `active`).
    /// Default: true in YAML; 0 in lvs.cf, as piranha.
    #[serde(default = "yes")]
    pub active: bool,
    /// The virtual IP and its interface (piranha `address`, `vip_nmask`).
    pub vip: Vip,
    /// Virtual port, and the default port of the real servers; with a
    /// firewall mark it is only that default and the check port.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Firewall mark: when set, the service is `-f MARK` instead of
    /// `VIP:port` (piranha `fwmark`, where 0 means none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    /// Transport protocol.
    #[serde(default)]
    pub protocol: Protocol,
    /// Scheduler (default `wlc`).
    #[serde(default)]
    pub scheduler: Scheduler,
    /// Scheduler flags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scheduler_flags: Vec<SchedulerFlag>,
    /// Persistence; absent means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<Persistence>,
    /// One-packet scheduling (ipvsadm `-o`), UDP or fwmark services only.
    #[serde(default)]
    pub one_packet: bool,
    /// Server added with weight 1 when no real server is up
    /// (piranha `sorry_server`; the port defaults to the virtual port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sorry_server: Option<SocketAddr>,
    /// Monitor program for this service, overriding `paths.nanny`
    /// (piranha `client_monitor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<PathBuf>,
    /// How the real servers are checked. Without one, YAML gives a plain
    /// connect check; lvs.cf follows piranha, whose check on virtual port 80
    /// with no `send`/`expect`/`send_program` is an HTTP GET expecting `HTTP`.
    #[serde(default)]
    pub check: HealthCheck,
    /// The real servers, in file order.
    #[serde(default)]
    pub real_servers: Vec<RealServer>,
    /// Depool threshold (PyBal's `depool_threshold`): when failing checks
    /// would leave fewer real servers in than this, `50%` of the active
    /// real servers or a count such as `2`, the servers that failed last
    /// stay in at their weight, marked "kept by threshold" with a warning.
    /// An operator's `disable` or `drain` is not limited by it. Absent
    /// (the default): off. YAML only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_up: Option<MinUp>,
    /// How long a drained real server (`pulse --control drain`, or one a
    /// reload removed) may keep connections before it is deleted anyway
    /// (default 300 s). YAML only.
    #[serde(default = "default_drain_timeout", skip_serializing_if = "is_default_drain_timeout")]
    pub drain_timeout: Millis,
}

pub(super) fn default_port() -> u16 {
    80
}

/// The default of [`VirtualService::drain_timeout`].
pub const DEFAULT_DRAIN_TIMEOUT: Millis = Millis::from_secs(300);

fn default_drain_timeout() -> Millis {
    DEFAULT_DRAIN_TIMEOUT
}

fn is_default_drain_timeout(m: &Millis) -> bool {
    *m == DEFAULT_DRAIN_TIMEOUT
}

/// A depool threshold ([`VirtualService::min_up`]): written `50%` or `2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MinUp {
    /// This percentage (1-100) of the active real servers, rounded up.
    Percent(u8),
    /// This many real servers.
    Count(u32),
}

impl MinUp {
    /// How many of `total` real servers must stay in.
    pub fn of(self, total: usize) -> usize {
        match self {
            MinUp::Percent(p) => (total * usize::from(p)).div_ceil(100),
            MinUp::Count(n) => usize::try_from(n).unwrap_or(usize::MAX).min(total),
        }
    }

    /// Parses `50%` or `2`; the error is a plain lowercase message.
    pub fn parse(text: &str) -> Result<MinUp, String> {
        let t = text.trim();
        let bad = || {
            format!("invalid threshold `{text}` (use a percentage such as `50%` or a count such as `2`)")
        };
        if let Some(p) = t.strip_suffix('%') {
            match p.trim_end().parse::<u8>() {
                Ok(p) if (1..=100).contains(&p) => Ok(MinUp::Percent(p)),
                _ => Err(bad()),
            }
        } else {
            t.parse::<u32>().map(MinUp::Count).map_err(|_| bad())
        }
    }
}

impl fmt::Display for MinUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MinUp::Percent(p) => write!(f, "{p}%"),
            MinUp::Count(n) => write!(f, "{n}"),
        }
    }
}

impl Serialize for MinUp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MinUp::Percent(_) => s.serialize_str(&self.to_string()),
            MinUp::Count(n) => s.serialize_u32(*n),
        }
    }
}

impl<'de> Deserialize<'de> for MinUp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u32),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(MinUp::Count(n)),
            Raw::S(s) => MinUp::parse(&s).map_err(serde::de::Error::custom),
        }
    }
}

/// A real server of a virtual service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealServer {
    /// Name, unique within its virtual service.
    pub name: String,
    /// Address.
    pub address: IpAddr,
    /// Port to forward to and check; the front ends fill in the virtual
    /// port when it is not given.
    pub port: u16,
    /// Base weight, 0-65535 (ipvsadm's range; default 1).
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Forwarding method for this server, overriding the global `network`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarding: Option<ForwardMethod>,
    /// Upper connection threshold; 0 means none.
    #[serde(default)]
    pub upper_threshold: u32,
    /// Lower connection threshold; 0 means none.
    #[serde(default)]
    pub lower_threshold: u32,
    /// Only active servers are monitored and used (piranha `active`).
    /// Default: true in YAML; 0 in lvs.cf, as piranha.
    #[serde(default = "yes")]
    pub active: bool,
}

fn default_weight() -> u32 {
    1
}
