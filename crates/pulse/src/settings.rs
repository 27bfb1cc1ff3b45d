//! pulse's view of the cluster configuration: built purely from the shared
//! `lvs-config` model (YAML or piranha's `lvs.cf`) by [`Settings::from_model`],
//! and turned into the state machine's `machine::Config` by
//! [`Settings::machine_config`].
//!
//! Router names: a piranha pair is `primary` and `backup`; a pool is
//! `router1`, `router2`, … in election order. Node ids are the position
//! plus one. The VIPs are the distinct VIPs of the active virtual services,
//! then the NAT router in NAT mode (piranha.md §3.5).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::machine::{self, ArpPolicy, Protocol, Router, Vip};
use crate::wire::{self, Key};

/// Why the configuration cannot run pulse.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// Consistent for lvs-config, but not something pulse can run.
    #[error("{0}")]
    Invalid(String),
}

fn invalid(msg: impl Into<String>) -> SettingsError {
    SettingsError::Invalid(msg.into())
}

/// One router.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouterSettings {
    /// Name: `primary`/`backup` or `routerN`.
    pub name: String,
    /// Public heartbeat address.
    pub address: IpAddr,
    /// Optional second heartbeat address.
    pub private_address: Option<IpAddr>,
}

impl RouterSettings {
    /// Public then private address.
    pub fn addresses(&self) -> Vec<IpAddr> {
        let mut v = vec![self.address];
        v.extend(self.private_address.filter(|p| *p != self.address));
        v
    }
}

/// Heartbeat format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolName {
    /// Authenticated native heartbeats.
    Native,
    /// piranha's magics.
    Piranha,
}

/// Heartbeat settings.
#[derive(Clone, Debug, PartialEq, Eq)]
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
}

/// The root-only control socket.
pub const CONTROL_SOCKET: &str = "/run/pulse.sock";

/// All of pulse's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Routers in rank order.
    pub routers: Vec<RouterSettings>,
    /// Failover enabled (piranha `backup_active`).
    pub backup_active: bool,
    /// Heartbeat.
    pub heartbeat: HeartbeatSettings,
    /// Take over from an outranked active router.
    pub preempt: bool,
    /// VIPs, then the NAT router.
    pub vips: Vec<Vip>,
    /// Run on activation (split on blanks, no shell).
    pub active_cmd: Option<String>,
    /// Run at start and on deactivation.
    pub inactive_cmd: Option<String>,
    /// Gratuitous ARP policy.
    pub arp: ArpPolicy,
    /// lvsd binary.
    pub lvsd: PathBuf,
    /// ipvsadm binary (sync daemon only).
    pub ipvsadm: PathBuf,
    /// Sync daemon interface and id.
    pub syncdaemon: Option<(String, u8)>,
    /// lvsd on standby routers too (hot) or only on the active one (cold).
    pub standby: lvs_config::Standby,
    /// Stand down when a heartbeat interface loses its link.
    pub monitor_links: bool,
    /// Root-only control socket.
    pub control_socket: PathBuf,
    /// The read-only HTTP listener (`/metrics`, `/status.json`); none
    /// when the configuration has no `http:`.
    pub http_listen: Option<std::net::SocketAddr>,
    /// The active failover services (`service: fos`): pulse runs them
    /// instead of lvsd; empty in LVS mode.
    pub failover: Vec<crate::fos::FailoverSettings>,
    /// ECMP directors: every one active, announcing its VIPs as kernel
    /// routes while fit; none for a pair or a pool.
    pub ecmp: Option<crate::ecmp::EcmpSettings>,
}

fn host_prefix(a: IpAddr) -> u8 {
    if a.is_ipv4() {
        32
    } else {
        128
    }
}

impl Settings {
    /// Builds pulse's settings from the validated cluster model.
    ///
    /// # Errors
    /// No active virtual service (piranha refuses to start too), or no
    /// active failover service in FOS mode, a failover service checked in
    /// a way pulse does not run, or duplicate router addresses.
    pub fn from_model(c: &lvs_config::Config) -> Result<Settings, SettingsError> {
        let fos = c.service == lvs_config::ServiceMode::Fos;
        let failover = if fos { crate::fos::from_model(c).map_err(invalid)? } else { Vec::new() };
        let routers: Vec<RouterSettings> = match &c.routers {
            lvs_config::Routers::Pair { primary, backup } => std::iter::once(("primary", primary))
                .chain(backup.iter().map(|b| ("backup", b)))
                .map(|(n, r)| RouterSettings {
                    name: n.to_owned(),
                    address: r.address,
                    private_address: r.private,
                })
                .collect(),
            lvs_config::Routers::Pool { pool } => pool
                .iter()
                .enumerate()
                .map(|(i, r)| RouterSettings {
                    name: format!("router{}", i + 1),
                    address: r.address,
                    private_address: r.private,
                })
                .collect(),
            lvs_config::Routers::Ecmp { ecmp, .. } => ecmp
                .iter()
                .map(|r| RouterSettings {
                    name: r.name.clone(),
                    address: r.address,
                    private_address: None,
                })
                .collect(),
        };
        let ecmp = crate::ecmp::EcmpSettings::from_model(c);
        let mut vips: Vec<Vip> = Vec::new();
        for v in failover.iter().map(|f| &f.vip) {
            if !vips.iter().any(|o| o.addr == v.addr && o.dev == v.dev) {
                vips.push(v.clone());
            }
        }
        if fos && vips.is_empty() {
            return Err(invalid("no active failover services defined"));
        }
        for vs in c.virtual_services.iter().filter(|v| v.active && !fos) {
            let v = Vip {
                addr: vs.vip.address,
                prefix: vs.vip.netmask.unwrap_or(host_prefix(vs.vip.address)),
                dev: vs.vip.interface.clone(),
            };
            if !vips.iter().any(|o| o.addr == v.addr && o.dev == v.dev) {
                vips.push(v);
            }
        }
        if vips.is_empty() {
            return Err(invalid("no active lvs services defined"));
        }
        if c.network == lvs_config::ForwardMethod::Nat && !fos {
            if let Some(n) = &c.nat_router {
                vips.push(Vip {
                    addr: n.address,
                    prefix: n.netmask.unwrap_or(host_prefix(n.address)),
                    dev: n.interface.clone(),
                });
            }
        }
        let hb = &c.heartbeat;
        let s = Settings {
            routers,
            // ECMP directors are each active alone: no election.
            backup_active: c.backup_active && ecmp.is_none(),
            ecmp,
            heartbeat: HeartbeatSettings {
                port: hb.port,
                keepalive_ms: hb.keepalive.0,
                deadtime_ms: hb.deadtime.0,
                protocol: match hb.protocol {
                    lvs_config::HeartbeatProtocol::Native => ProtocolName::Native,
                    lvs_config::HeartbeatProtocol::Piranha => ProtocolName::Piranha,
                },
                key_file: hb.auth_key_file.clone(),
            },
            preempt: c.preempt,
            vips,
            active_cmd: c.active_cmd.clone(),
            inactive_cmd: c.inactive_cmd.clone(),
            arp: ArpPolicy {
                repeat: c.arp.count.max(1),
                interval: Duration::from_millis(c.arp.interval.0.max(1)),
                refresh: c.arp.refresh.filter(|r| r.0 > 0).map(|r| Duration::from_millis(r.0)),
            },
            lvsd: c.paths.lvsd.clone(),
            ipvsadm: c.paths.ipvsadm.clone(),
            // With `both`, lvsd runs master and backup on every router,
            // whatever the role: pulse has no daemon to follow its role.
            syncdaemon: c
                .sync_daemon
                .as_ref()
                .filter(|y| !y.both)
                .map(|y| (y.interface.clone(), y.sync_id)),
            standby: c.standby,
            monitor_links: c.monitor_links,
            control_socket: CONTROL_SOCKET.into(),
            http_listen: c.http.map(|h| h.listen),
            failover,
        };
        s.validate()?;
        Ok(s)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let mut addrs = BTreeSet::new();
        for r in &self.routers {
            for a in r.addresses() {
                if !addrs.insert(a) {
                    return Err(invalid(format!("router address {a} listed twice")));
                }
            }
        }
        let hb = &self.heartbeat;
        // A router without failover, or alone, sends no heartbeat: piranha
        // runs it whatever its deadtime (lvs-config warns).
        let heartbeats = self.backup_active && self.routers.len() > 1;
        if hb.keepalive_ms == 0 || (heartbeats && hb.deadtime_ms <= hb.keepalive_ms) {
            return Err(invalid("deadtime must exceed keepalive, which must be above 0"));
        }
        match hb.protocol {
            // ECMP directors send no heartbeats, so they need no key.
            _ if self.ecmp.is_some() => Ok(()),
            ProtocolName::Native if hb.key_file.is_none() => {
                Err(invalid("native heartbeats need heartbeat.auth_key_file"))
            }
            ProtocolName::Piranha if self.routers.len() > 2 => {
                Err(invalid("piranha heartbeats support a pair of routers only"))
            }
            ProtocolName::Native if self.routers.len() > wire::MAX_ROUTERS => Err(invalid(
                format!("native heartbeats support at most {} routers", wire::MAX_ROUTERS),
            )),
            _ => Ok(()),
        }
    }

    /// What is unsafe in these settings, said loudly by pulse at start and
    /// by `--test-config`.
    pub fn unsafe_warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.heartbeat.protocol == ProtocolName::Piranha && self.backup_active {
            w.push(format!(
                "heartbeats are NOT authenticated (protocol: piranha): any host that can send \
                 one UDP packet to port {} can make a router stand down or take the VIPs; \
                 use protocol: native with auth_key_file unless a piranha router is in the pair",
                self.heartbeat.port
            ));
        }
        w
    }

    fn node_id(i: usize) -> u32 {
        u32::try_from(i + 1).unwrap_or(u32::MAX)
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
    /// Native heartbeats without a key.
    pub fn machine_config(
        &self,
        me: usize,
        key: Option<Key>,
        digest: [u8; 32],
        boot_id: u64,
        opts: &RunOptions,
    ) -> Result<machine::Config, SettingsError> {
        let protocol = match (self.heartbeat.protocol, key) {
            // Alone, an ECMP director sends no heartbeat in any format.
            _ if self.ecmp.is_some() => Protocol::Piranha,
            (ProtocolName::Piranha, _) => Protocol::Piranha,
            (ProtocolName::Native, Some(key)) => Protocol::Native { key },
            (ProtocolName::Native, None) => return Err(invalid("no heartbeat key loaded")),
        };
        // Without failover (piranha backup_active = 0) the primary runs
        // alone: it sends no heartbeats and waits for nobody.
        let routers: Vec<Router> = self
            .routers
            .iter()
            .enumerate()
            .filter(|(i, _)| self.backup_active || *i == me)
            .map(|(i, r)| Router {
                name: r.name.clone(),
                node_id: Self::node_id(i),
                addrs: r.addresses(),
            })
            .collect();
        let me = if self.backup_active { me } else { 0 };
        // An ECMP director is a router alone (its own name and node id):
        // active at start, with nobody to elect.
        Ok(machine::Config {
            routers,
            me,
            keepalive: Duration::from_millis(self.heartbeat.keepalive_ms),
            deadtime: Duration::from_millis(self.heartbeat.deadtime_ms),
            preempt: self.preempt,
            force_active: opts.force_active,
            test_start: opts.test_start,
            vips: self.vips.clone(),
            arp: self.arp.clone(),
            syncdaemon: self.syncdaemon.is_some(),
            // A failover-service router runs no lvsd at all.
            hot_standby: self.standby == lvs_config::Standby::Hot && self.failover.is_empty(),
            monitored_links: Vec::new(),
            protocol,
            config_digest: digest,
            boot_id,
            failover: crate::fos::watches(&self.failover),
        })
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

/// SHA-256 of the normalized configuration: routers whose files differ
/// only in layout, comments or format (YAML or lvs.cf) agree.
pub fn digest(config: &lvs_config::Config) -> [u8; 32] {
    Sha256::digest(lvs_config::to_yaml(config).as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(text: &str) -> lvs_config::Config {
        let (c, diags) = lvs_config::parse_str(text, "test.yaml", lvs_config::Format::Yaml);
        c.unwrap_or_else(|| panic!("{diags:?}"))
    }

    const POOL: &str = "
routers:
  pool:
    - { address: 10.0.0.1, private: 10.1.0.1 }
    - { address: 10.0.0.2, private: 10.1.0.2 }
    - { address: 10.0.0.3, private: 10.1.0.3 }
heartbeat: { keepalive: 100ms, deadtime: 300ms, auth_key_file: /k }
arp: { count: 3, interval: 200ms, refresh: 20 }
network: nat
nat_router: { address: 10.2.0.254, interface: 'eth1:1', netmask: 16 }
virtual_services:
  - { name: web, vip: { address: 10.0.0.100, interface: 'eth0:1', netmask: 24 }, port: 80 }
  - { name: tls, vip: { address: 10.0.0.100, interface: 'eth0:1', netmask: 24 }, port: 443 }
  - { name: v6, vip: { address: 'fd00::1', interface: eth0 }, port: 80 }
  - { name: off, active: false, vip: { address: 10.0.0.200, interface: eth0 }, port: 80 }
";

    #[test]
    fn pool_from_the_model() {
        let s = Settings::from_model(&model(POOL)).unwrap();
        let names: Vec<&str> = s.routers.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["router1", "router2", "router3"]);
        assert_eq!(s.router_owning(&["10.1.0.1".parse().unwrap()]), Some(0));
        assert_eq!(s.router_named("router3"), Some(2));
        let vips: Vec<String> = s.vips.iter().map(ToString::to_string).collect();
        assert_eq!(
            vips,
            ["10.0.0.100/24 dev eth0:1", "fd00::1/128 dev eth0", "10.2.0.254/16 dev eth1:1"]
        );
        assert_eq!(s.arp.repeat, 3);
        assert_eq!(s.arp.refresh, Some(Duration::from_secs(20)));
        let c =
            s.machine_config(1, Key::new(vec![1; 16]), [0; 32], 9, &RunOptions::default()).unwrap();
        assert_eq!(c.routers[0].addrs.len(), 2);
        assert_eq!(c.routers[2].node_id, 3);
        assert_eq!(c.keepalive, Duration::from_millis(100));
        assert_eq!(c.deadtime, Duration::from_millis(300));
    }

    #[test]
    fn piranha_pair_from_lvs_cf() {
        let cf = "primary = 10.0.0.1\nbackup = 10.0.0.2\nbackup_active = 1\nkeepalive = 2\ndeadtime = 5\n\
                  virtual web {\n address = 10.0.0.100 eth0:1\n active = 1\n}\n";
        let (c, d) = lvs_config::parse_str(cf, "lvs.cf", lvs_config::Format::LvsCf);
        let s = Settings::from_model(&c.unwrap_or_else(|| panic!("{d:?}"))).unwrap();
        assert_eq!(s.heartbeat.protocol, ProtocolName::Piranha);
        assert_eq!(s.heartbeat.port, 539);
        assert_eq!((s.heartbeat.keepalive_ms, s.heartbeat.deadtime_ms), (2000, 5000));
        let names: Vec<&str> = s.routers.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["primary", "backup"]);
        assert_eq!(s.arp.repeat, 5);
    }

    /// Issue 17: a published single-router file (no backup, failover off,
    /// keepalive 30 > deadtime 18) runs, as under piranha; with a backup
    /// that heartbeats the same timing is refused.
    #[test]
    fn a_lone_router_runs_whatever_its_heartbeat_timing() {
        let cf = "primary = 10.0.0.1\nbackup = 0.0.0.0\nbackup_active = 0\nkeepalive = 30\ndeadtime = 18\n\
                  virtual web {\n address = 10.0.0.100 eth0:1\n active = 1\n}\n";
        let (c, d) = lvs_config::parse_str(cf, "lvs.cf", lvs_config::Format::LvsCf);
        let s = Settings::from_model(&c.unwrap_or_else(|| panic!("{d:?}"))).unwrap();
        assert_eq!((s.heartbeat.keepalive_ms, s.heartbeat.deadtime_ms), (30_000, 18_000));
        let idle_backup = cf.replace("backup = 0.0.0.0", "backup = 10.0.0.2");
        let (c, d) = lvs_config::parse_str(&idle_backup, "lvs.cf", lvs_config::Format::LvsCf);
        assert!(Settings::from_model(&c.unwrap_or_else(|| panic!("{d:?}"))).is_ok());
        // With failover on, lvs-config refuses it first; pulse's own check
        // agrees on the same model.
        let mut pair = Settings::from_model(&model(POOL)).unwrap();
        pair.heartbeat.deadtime_ms = pair.heartbeat.keepalive_ms;
        assert!(pair.validate().is_err());
    }

    #[test]
    fn refusals() {
        let fos = POOL.replace("routers:", "service: fos\nrouters:");
        let no_vs = POOL.split("virtual_services:").next().unwrap().to_owned();
        for (text, want) in [
            (fos.as_str(), "no active failover services"),
            (no_vs.as_str(), "no active lvs services"),
        ] {
            let e = Settings::from_model(&model(text)).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
        let three_piranha = POOL.replace("auth_key_file: /k", "protocol: piranha");
        let e = Settings::from_model(&model(&three_piranha)).unwrap_err().to_string();
        assert!(e.contains("pair of routers only"), "{e}");
        let pool: String = (1..=wire::MAX_ROUTERS + 1)
            .map(|i| format!("    - {{ address: 10.0.1.{i}, private: 10.1.1.{i} }}\n"))
            .collect();
        let big = POOL.replace(
            "    - { address: 10.0.0.1, private: 10.1.0.1 }\n",
            &format!("    - {{ address: 10.0.0.1, private: 10.1.0.1 }}\n{pool}"),
        );
        let e = Settings::from_model(&model(&big)).unwrap_err().to_string();
        assert!(e.contains("at most 32 routers"), "{e}");
    }

    /// piranha's sample `failover` block: its VIP is the one pulse moves,
    /// its check is the nanny command line, and no lvsd runs.
    #[test]
    fn failover_services_from_piranhas_sample() {
        let cf = "service = fos\nprimary = 10.0.0.1\nbackup = 10.0.0.2\nbackup_active = 1\n\
                  heartbeat_port = 539\nkeepalive = 2\ndeadtime = 6\n\
                  virtual web {\n address = 10.0.0.100 eth0:1\n active = 1\n}\n\
                  failover web1 {\n active = 1\n address = 207.175.44.242 eth0:1\n\
                  vip_nmask = 255.255.255.255\n port = 1010\n send = \"GET / HTTP/1.0\\r\\n\\r\\n\"\n\
                  expect = \"HTTP\"\n timeout = 10\n\
                  start_cmd = \"/etc/rc.d/init.d/httpd start\"\n\
                  stop_cmd = \"/etc/rc.d/init.d/httpd stop\"\n}\n";
        let (c, d) = lvs_config::parse_str(cf, "lvs.cf", lvs_config::Format::LvsCf);
        let s = Settings::from_model(&c.unwrap_or_else(|| panic!("{d:?}"))).unwrap();
        assert_eq!(s.vips.len(), 1, "only the failover service's VIP: {:?}", s.vips);
        assert_eq!(s.vips[0].to_string(), "207.175.44.242/32 dev eth0:1");
        let f = &s.failover[0];
        assert_eq!(f.grace, Duration::from_secs(30), "two intervals and a timeout");
        let (nanny, args) = f.nanny.clone().unwrap();
        assert_eq!(nanny, PathBuf::from("/usr/sbin/nanny"));
        assert_eq!(
            args.join(" "),
            "-h 207.175.44.242 -p 1010 -r 1010 -T -s GET / HTTP/1.0\r\n\r\n -x HTTP \
             -t 10.000 --timeout 10.000 -a 10.000 --retries 0 -w 1 --no-slow-start \
             --alive 5.000 --report"
        );
        let m = s.machine_config(0, None, [0; 32], 1, &RunOptions::default()).unwrap();
        assert!(!m.hot_standby, "a failover-service router runs no lvsd");
        assert_eq!(m.failover.len(), 1);
        let host = crate::fos::host_services(&s.failover, true);
        assert_eq!(host[0].start, ["/etc/rc.d/init.d/httpd", "start"]);
        assert_eq!(host[0].stop, ["/etc/rc.d/init.d/httpd", "stop"]);
        assert_eq!(host[0].nanny.as_ref().unwrap().1.last().unwrap(), "-v");
    }

    #[test]
    fn piranha_heartbeats_are_called_unsafe() {
        assert_eq!(
            Settings::from_model(&model(POOL)).unwrap().unsafe_warnings(),
            Vec::<String>::new()
        );
        let pair = POOL.replace("    - { address: 10.0.0.3, private: 10.1.0.3 }\n", "");
        let s =
            Settings::from_model(&model(&pair.replace("auth_key_file: /k", "protocol: piranha")))
                .unwrap();
        let w = s.unsafe_warnings();
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("NOT authenticated") && w[0].contains("port 539"), "{w:?}");
    }

    #[test]
    fn without_failover_the_primary_runs_alone() {
        let text = POOL.replace("routers:", "backup_active: false\nrouters:");
        let s = Settings::from_model(&model(&text)).unwrap();
        let c =
            s.machine_config(0, Key::new(vec![1; 16]), [0; 32], 9, &RunOptions::default()).unwrap();
        assert_eq!(c.routers.len(), 1);
        assert_eq!(c.me, 0);
    }

    #[test]
    fn ecmp_directors_each_run_alone() {
        let text = "routers:\n  ecmp:\n    - { name: lvs1, address: 10.0.0.1 }\n    - { name: lvs2, address: 10.0.0.2 }\n\
                    network: direct\n\
                    virtual_services:\n  - { name: web, vip: { address: 10.0.100.1, interface: lo }, scheduler: mh, \
                    real_servers: [{ name: w, address: 10.0.0.11 }] }\n";
        let s = Settings::from_model(&model(text)).unwrap();
        assert!(!s.backup_active && s.ecmp.is_some());
        assert_eq!(s.router_owning(&["10.0.0.2".parse().unwrap()]), Some(1));
        // No key: no heartbeats.
        let c = s.machine_config(1, None, [0; 32], 9, &RunOptions::default()).unwrap();
        assert_eq!((c.routers.len(), c.me, c.routers[0].name.as_str()), (1, 0, "lvs2"));
        assert_eq!(c.routers[0].node_id, 2);
    }

    #[test]
    fn digest_ignores_layout() {
        let a = model(POOL);
        let b = model(&POOL.replace("network: nat", "# a comment\nnetwork:   nat"));
        assert_eq!(digest(&a), digest(&b));
        assert_ne!(digest(&a), digest(&model(&POOL.replace("port: 443", "port: 444"))));
    }
}
