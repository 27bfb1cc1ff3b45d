//! pulse's own settings and their validation, until the shared `lvs-config`
//! model is merged: a small YAML file, parsed purely by [`parse`] and turned
//! into the state machine's [`machine::Config`] by [`Settings::machine_config`].
//!
//! ```yaml
//! routers:                       # rank order: the first listed live router is active
//!   - { name: lvs1, address: 192.168.1.1, private_address: 10.1.0.1 }
//!   - { name: lvs2, address: 192.168.1.2, private_address: 10.1.0.2 }
//! heartbeat:
//!   port: 539
//!   keepalive_ms: 2000
//!   deadtime_ms: 5000
//!   protocol: native             # or piranha (4-byte magics, no authentication)
//!   key_file: /etc/lvs/heartbeat.key
//! preempt: false
//! vips: [ { address: 192.168.1.100/24, dev: "eth0:1" } ]
//! nat_router: { address: 10.2.0.254/24, dev: "eth1:1" }
//! active_cmd: /usr/local/sbin/became-active
//! inactive_cmd: /usr/local/sbin/became-standby
//! arp: { repeat: 5, interval_ms: 1000, refresh_ms: 0 }
//! syncdaemon: { iface: eth1, id: 0 }
//! monitor_links: true
//! ```

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::machine::{self, ArpPolicy, Protocol, Router, Vip};
use crate::wire::Key;

/// Why settings were refused.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// Not valid YAML or not the expected shape.
    #[error("{0}")]
    Syntax(String),
    /// Parsed, but inconsistent.
    #[error("{0}")]
    Invalid(String),
}

fn invalid(msg: impl Into<String>) -> SettingsError {
    SettingsError::Invalid(msg.into())
}

/// One router.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterSettings {
    /// Name, unique.
    pub name: String,
    /// Public heartbeat address.
    pub address: IpAddr,
    /// Optional second heartbeat address.
    pub private_address: Option<IpAddr>,
    /// Node id in native heartbeats; defaults to the position plus one.
    pub node_id: Option<u32>,
}

/// Heartbeat format.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolName {
    /// Authenticated native heartbeats.
    #[default]
    Native,
    /// piranha's magics.
    Piranha,
}

/// Heartbeat settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HeartbeatSettings {
    /// UDP port (piranha default 539).
    pub port: u16,
    /// Heartbeat interval, ms.
    pub keepalive_ms: u64,
    /// Silence before a peer is dead, ms.
    pub deadtime_ms: u64,
    /// Format.
    pub protocol: ProtocolName,
    /// Shared key (native protocol).
    pub key_file: Option<PathBuf>,
    /// First-contact clock tolerance, ms (0: off).
    pub max_clock_skew_ms: u64,
}

impl Default for HeartbeatSettings {
    fn default() -> Self {
        HeartbeatSettings {
            port: 539,
            keepalive_ms: 2000,
            deadtime_ms: 5000,
            protocol: ProtocolName::Native,
            key_file: None,
            max_clock_skew_ms: 60_000,
        }
    }
}

/// A VIP as written: `address: 10.0.0.1/24`, `dev: eth0:1`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VipSettings {
    /// Address with an optional `/prefix`.
    pub address: String,
    /// Interface (alias) name.
    pub dev: String,
}

/// Gratuitous ARP policy as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArpSettings {
    /// Announcements per burst.
    pub repeat: u32,
    /// Gap inside a burst, ms.
    pub interval_ms: u64,
    /// Periodic refresh while active, ms (0: off).
    pub refresh_ms: u64,
}

impl Default for ArpSettings {
    fn default() -> Self {
        ArpSettings { repeat: 5, interval_ms: 1000, refresh_ms: 0 }
    }
}

/// IPVS sync daemon settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSettings {
    /// Multicast interface (piranha default eth0).
    #[serde(default = "default_sync_iface")]
    pub iface: String,
    /// Sync id, 0-255.
    #[serde(default)]
    pub id: u8,
}

fn default_sync_iface() -> String {
    "eth0".into()
}

/// All of pulse's settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Routers in rank order.
    pub routers: Vec<RouterSettings>,
    /// Heartbeat.
    #[serde(default)]
    pub heartbeat: HeartbeatSettings,
    /// Take over from an outranked active router.
    #[serde(default)]
    pub preempt: bool,
    /// VIPs.
    #[serde(default)]
    pub vips: Vec<VipSettings>,
    /// NAT router address, brought up like a VIP.
    pub nat_router: Option<VipSettings>,
    /// Run on activation (split on blanks, no shell).
    pub active_cmd: Option<String>,
    /// Run at start and on deactivation.
    pub inactive_cmd: Option<String>,
    /// Gratuitous ARP policy.
    #[serde(default)]
    pub arp: ArpSettings,
    /// send_arp binary.
    #[serde(default = "default_send_arp")]
    pub send_arp: PathBuf,
    /// ipvsadm binary (sync daemon only).
    #[serde(default = "default_ipvsadm")]
    pub ipvsadm: PathBuf,
    /// Switch the IPVS sync daemon.
    pub syncdaemon: Option<SyncSettings>,
    /// Stand down when a heartbeat interface loses its link.
    #[serde(default)]
    pub monitor_links: bool,
    /// Root-only control socket.
    #[serde(default = "default_control_socket")]
    pub control_socket: PathBuf,
}

fn default_send_arp() -> PathBuf {
    "/usr/sbin/send_arp".into()
}
fn default_ipvsadm() -> PathBuf {
    "/sbin/ipvsadm".into()
}
fn default_control_socket() -> PathBuf {
    "/run/pulse.sock".into()
}

/// Parses a VIP written as `ADDR[/PREFIX]`.
///
/// # Errors
/// [`SettingsError::Invalid`] naming the text.
pub fn parse_vip(v: &VipSettings) -> Result<Vip, SettingsError> {
    let (a, p) = match v.address.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (v.address.as_str(), None),
    };
    let addr: IpAddr =
        a.parse().map_err(|_| invalid(format!("bad VIP address {:?}", v.address)))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match p {
        Some(p) => p
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| invalid(format!("bad prefix in {:?}", v.address)))?,
        None => max,
    };
    if v.dev.is_empty() || v.dev.contains(char::is_whitespace) {
        return Err(invalid(format!("bad interface name {:?} for VIP {addr}", v.dev)));
    }
    Ok(Vip { addr, prefix, dev: v.dev.clone() })
}

/// Parses and validates settings text. Pure.
///
/// # Errors
/// [`SettingsError`] describing the first problem.
pub fn parse(text: &str) -> Result<Settings, SettingsError> {
    let s: Settings =
        serde_yaml::from_str(text).map_err(|e| SettingsError::Syntax(e.to_string()))?;
    s.validate()?;
    Ok(s)
}

impl Settings {
    fn validate(&self) -> Result<(), SettingsError> {
        if self.routers.is_empty() {
            return Err(invalid("no routers listed"));
        }
        let mut names = BTreeSet::new();
        let mut ids = BTreeSet::new();
        let mut addrs = BTreeSet::new();
        for (i, r) in self.routers.iter().enumerate() {
            if !names.insert(r.name.as_str()) {
                return Err(invalid(format!("router name {} listed twice", r.name)));
            }
            if !ids.insert(self.node_id(i)) {
                return Err(invalid(format!("node id of {} is not unique", r.name)));
            }
            for a in r.addresses() {
                if !addrs.insert(a) {
                    return Err(invalid(format!("address {a} listed twice")));
                }
            }
        }
        let hb = &self.heartbeat;
        if hb.port == 0 {
            return Err(invalid("heartbeat port 0"));
        }
        if hb.keepalive_ms == 0 {
            return Err(invalid("keepalive must be above 0 ms"));
        }
        if hb.deadtime_ms <= hb.keepalive_ms {
            return Err(invalid(format!(
                "deadtime ({} ms) must exceed keepalive ({} ms)",
                hb.deadtime_ms, hb.keepalive_ms
            )));
        }
        match hb.protocol {
            ProtocolName::Native if hb.key_file.is_none() => {
                return Err(invalid("the native heartbeat needs heartbeat.key_file"));
            }
            ProtocolName::Piranha if self.routers.len() > 2 => {
                return Err(invalid("piranha heartbeats support a pair of routers only"));
            }
            _ => {}
        }
        if self.arp.repeat == 0 || self.arp.interval_ms == 0 {
            return Err(invalid("arp repeat and interval_ms must be above 0"));
        }
        self.vips()?;
        Ok(())
    }

    fn node_id(&self, i: usize) -> u32 {
        self.routers[i].node_id.unwrap_or(u32::try_from(i + 1).unwrap_or(u32::MAX))
    }

    /// VIPs then the NAT router.
    ///
    /// # Errors
    /// A VIP that does not parse.
    pub fn vips(&self) -> Result<Vec<Vip>, SettingsError> {
        self.vips.iter().chain(self.nat_router.as_ref()).map(parse_vip).collect()
    }

    /// Index of the router named `name`.
    pub fn router_named(&self, name: &str) -> Option<usize> {
        self.routers.iter().position(|r| r.name == name)
    }

    /// Index of the first router that owns one of `local` addresses
    /// (piranha decides master/backup the same way).
    pub fn router_owning(&self, local: &[IpAddr]) -> Option<usize> {
        self.routers.iter().position(|r| r.addresses().iter().any(|a| local.contains(a)))
    }

    /// Builds the state machine's configuration.
    ///
    /// # Errors
    /// A VIP that does not parse.
    pub fn machine_config(
        &self,
        me: usize,
        key: Option<Key>,
        digest: [u8; 32],
        boot_id: u64,
        opts: &RunOptions,
    ) -> Result<machine::Config, SettingsError> {
        let protocol = match (self.heartbeat.protocol, key) {
            (ProtocolName::Piranha, _) => Protocol::Piranha,
            (ProtocolName::Native, Some(key)) => {
                Protocol::Native { key, max_skew_ms: self.heartbeat.max_clock_skew_ms }
            }
            (ProtocolName::Native, None) => return Err(invalid("no heartbeat key loaded")),
        };
        Ok(machine::Config {
            routers: self
                .routers
                .iter()
                .enumerate()
                .map(|(i, r)| Router {
                    name: r.name.clone(),
                    node_id: self.node_id(i),
                    addrs: r.addresses(),
                })
                .collect(),
            me,
            keepalive: Duration::from_millis(self.heartbeat.keepalive_ms),
            deadtime: Duration::from_millis(self.heartbeat.deadtime_ms),
            preempt: self.preempt,
            force_active: opts.force_active,
            test_start: opts.test_start,
            vips: self.vips()?,
            arp: ArpPolicy {
                repeat: self.arp.repeat,
                interval: Duration::from_millis(self.arp.interval_ms),
                refresh: (self.arp.refresh_ms > 0)
                    .then(|| Duration::from_millis(self.arp.refresh_ms)),
            },
            syncdaemon: self.syncdaemon.is_some(),
            monitored_links: Vec::new(),
            protocol,
            config_digest: digest,
            boot_id,
        })
    }
}

impl RouterSettings {
    /// Public then private address.
    pub fn addresses(&self) -> Vec<IpAddr> {
        let mut v = vec![self.address];
        v.extend(self.private_address.filter(|p| *p != self.address));
        v
    }
}

/// Command-line choices that shape the machine.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// `--forceactive`.
    pub force_active: bool,
    /// `-t`/`--test-start`/`--norun`.
    pub test_start: bool,
}

/// SHA-256 of the configuration text: routers running different files
/// notice and say so.
pub fn digest(text: &[u8]) -> [u8; 32] {
    Sha256::digest(text).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "
routers:
  - { name: a, address: 10.0.0.1, private_address: 10.1.0.1 }
  - { name: b, address: 10.0.0.2 }
heartbeat: { keepalive_ms: 100, deadtime_ms: 300, key_file: /k }
vips: [ { address: 10.0.0.100/24, dev: 'eth0:1' }, { address: 'fd00::1', dev: eth0 } ]
nat_router: { address: 10.2.0.254/16, dev: eth1 }
";

    #[test]
    fn parses_and_builds_the_machine_config() {
        let s = parse(GOOD).unwrap();
        assert_eq!(s.heartbeat.port, 539);
        assert_eq!(s.router_owning(&["10.1.0.1".parse().unwrap()]), Some(0));
        assert_eq!(s.router_named("b"), Some(1));
        let key = Key::new(vec![1; 16]);
        let c = s.machine_config(1, key, [0; 32], 9, &RunOptions::default()).unwrap();
        assert_eq!(c.routers[0].addrs.len(), 2);
        assert_eq!(c.routers[1].node_id, 2);
        assert_eq!(c.vips.len(), 3);
        assert_eq!(c.vips[1].prefix, 128);
        assert_eq!(c.vips[2].to_string(), "10.2.0.254/16 dev eth1");
        assert_eq!(c.keepalive, Duration::from_millis(100));
    }

    #[test]
    fn refuses_bad_settings() {
        let cases = [
            ("routers: []", "no routers"),
            ("routers: [{name: a, address: 1.1.1.1}]\nheartbeat: {key_file: /k}\nbogus: 1", "unknown field"),
            ("routers: [{name: a, address: 1.1.1.1}, {name: a, address: 1.1.1.2}]\nheartbeat: {key_file: /k}", "twice"),
            ("routers: [{name: a, address: 1.1.1.1}, {name: b, address: 1.1.1.1}]\nheartbeat: {key_file: /k}", "twice"),
            ("routers: [{name: a, address: 1.1.1.1}]", "key_file"),
            ("routers: [{name: a, address: 1.1.1.1}]\nheartbeat: {key_file: /k, keepalive_ms: 500, deadtime_ms: 500}", "deadtime"),
            ("routers: [{name: a, address: 1.1.1.1}, {name: b, address: 1.1.1.2}, {name: c, address: 1.1.1.3}]\nheartbeat: {protocol: piranha}", "pair"),
            ("routers: [{name: a, address: 1.1.1.1}]\nheartbeat: {key_file: /k}\nvips: [{address: 1.2.3.4/33, dev: eth0}]", "prefix"),
            ("routers: [{name: a, address: 1.1.1.1}]\nheartbeat: {key_file: /k}\nvips: [{address: nope, dev: eth0}]", "VIP address"),
        ];
        for (text, want) in cases {
            let e = parse(text).map(|_| ()).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }
}
