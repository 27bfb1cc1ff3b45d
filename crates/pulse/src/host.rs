//! The host operations pulse performs, behind the [`Host`] trait: running
//! `active_cmd`/`inactive_cmd`, VIPs up and down, gratuitous ARP through
//! `send_arp`, the sync daemon through `ipvsadm`, and starting, stopping and
//! reaping lvsd. [`RealHost`] is the only place pulse spawns processes, and
//! it never goes through a shell.
//!
//! VIPs are handled by running iproute2's `ip addr add/del` until the
//! `lvs-net` crate (netlink) is merged; only [`RealHost::vips_up`] and
//! [`RealHost::vips_down`] need to change then.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child as Proc, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::machine::{Child, SyncRole, Vip};

/// A failed host operation.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// A program could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A program ran and failed.
    #[error("{what} failed ({status}): {stderr}")]
    Failed {
        /// What was being done, e.g. `ip addr add 10.0.0.1/24 dev eth0`.
        what: String,
        /// Exit status.
        status: String,
        /// Its standard error, trimmed.
        stderr: String,
    },
    /// An interface's hardware address could not be read.
    #[error("cannot read the hardware address of {dev}: {source}")]
    HwAddr {
        /// The interface.
        dev: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Which configured command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandKind {
    /// `active_cmd`.
    Active,
    /// `inactive_cmd`.
    Inactive,
}

/// The host operations pulse's actions need.
pub trait Host {
    /// Starts `active_cmd`/`inactive_cmd` (not waited for).
    fn run_command(&mut self, which: CommandKind) -> Result<(), HostError>;
    /// Adds the VIPs; an address already present is not an error.
    fn vips_up(&mut self, vips: &[Vip]) -> Result<(), HostError>;
    /// Removes the VIPs; an address already absent is not an error.
    fn vips_down(&mut self, vips: &[Vip]) -> Result<(), HostError>;
    /// Sends one gratuitous ARP / unsolicited NA per VIP.
    fn gratuitous_arp(&mut self, vips: &[Vip]) -> Result<(), HostError>;
    /// Starts lvsd.
    fn start_lvsd(&mut self) -> Result<(), HostError>;
    /// Stops lvsd (SIGTERM, then SIGKILL after a grace period) and reaps it.
    fn stop_lvsd(&mut self);
    /// Forwards SIGHUP to lvsd.
    fn reload_lvsd(&mut self);
    /// Switches the IPVS sync daemon.
    fn sync_daemon(&mut self, role: SyncRole) -> Result<(), HostError>;
    /// Reaps exited children; returns supervised ones that exited.
    fn reap(&mut self) -> Vec<(Child, Option<i32>)>;
    /// lvsd's pid while it runs.
    fn lvsd_pid(&self) -> Option<u32>;
    /// Takes new paths and commands after a reload.
    fn reconfigure(&mut self, cfg: HostConfig);
}

/// Paths and arguments the real host needs.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// `active_cmd`, split on blanks.
    pub active_cmd: Option<Vec<String>>,
    /// `inactive_cmd`, split on blanks.
    pub inactive_cmd: Option<Vec<String>>,
    /// lvsd binary.
    pub lvsd: PathBuf,
    /// Arguments for lvsd (`--nofork|--nodaemon -c CFG [-v]`).
    pub lvsd_args: Vec<String>,
    /// send_arp binary.
    pub send_arp: PathBuf,
    /// ipvsadm binary.
    pub ipvsadm: PathBuf,
    /// iproute2 `ip` binary.
    pub ip: PathBuf,
    /// Sync daemon interface and id.
    pub sync: Option<(String, u8)>,
    /// Root of sysfs (`/sys`), a parameter so tests can use fixtures.
    pub sysfs: PathBuf,
}

/// Splits a piranha command line on blanks (no shell, no quoting).
pub fn split_command(cmd: &str) -> Option<Vec<String>> {
    let v: Vec<String> = cmd.split_whitespace().map(str::to_owned).collect();
    (!v.is_empty()).then_some(v)
}

/// The interface a piranha alias name lives on: `eth0:1` -> `eth0`.
pub fn base_dev(dev: &str) -> &str {
    dev.split(':').next().unwrap_or(dev)
}

/// `ip addr add` arguments for a VIP.
pub fn ip_addr_args(op: &str, vip: &Vip) -> Vec<String> {
    let mut v = vec![
        "addr".to_owned(),
        op.to_owned(),
        format!("{}/{}", vip.addr, vip.prefix),
        "dev".to_owned(),
        base_dev(&vip.dev).to_owned(),
    ];
    if op == "add" {
        if vip.addr.is_ipv4() {
            v.extend(["broadcast".to_owned(), "+".to_owned()]);
            if vip.dev.contains(':') {
                v.extend(["label".to_owned(), vip.dev.clone()]);
            }
        } else {
            v.push("nodad".to_owned());
        }
    }
    v
}

/// The broadcast address of a VIP's subnet (IPv4), the ARP target piranha
/// passes to send_arp; for IPv6 the all-nodes group.
pub fn broadcast(vip: &Vip) -> IpAddr {
    match vip.addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let mask = if vip.prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(vip.prefix)) };
            IpAddr::V4((bits | !mask).into())
        }
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)),
    }
}

/// `send_arp` arguments, piranha's form:
/// `send_arp -i DEV IP MAC TARGET ffffffffffff`.
pub fn send_arp_args(vip: &Vip, mac: &str) -> Vec<String> {
    vec![
        "-i".to_owned(),
        base_dev(&vip.dev).to_owned(),
        vip.addr.to_string(),
        mac.replace(':', ""),
        broadcast(vip).to_string(),
        "ffffffffffff".to_owned(),
    ]
}

/// The host pulse runs on.
#[derive(Debug)]
pub struct RealHost {
    cfg: HostConfig,
    lvsd: Option<Proc>,
    helpers: Vec<(String, Proc)>,
}

impl RealHost {
    /// A host with nothing running.
    pub fn new(cfg: HostConfig) -> RealHost {
        RealHost { cfg, lvsd: None, helpers: Vec::new() }
    }

    fn spawn_detached(&mut self, program: &Path, args: &[String]) -> Result<(), HostError> {
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .current_dir("/")
            .spawn()
            .map_err(|source| HostError::Spawn { program: program.into(), source })?;
        self.helpers.push((program.display().to_string(), child));
        Ok(())
    }

    fn run_waited(&self, program: &Path, args: &[String]) -> Result<(), HostError> {
        let out = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .current_dir("/")
            .output()
            .map_err(|source| HostError::Spawn { program: program.into(), source })?;
        if out.status.success() {
            return Ok(());
        }
        Err(HostError::Failed {
            what: format!("{} {}", program.display(), args.join(" ")),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }

    fn hwaddr(&self, dev: &str) -> Result<String, HostError> {
        let p = self.cfg.sysfs.join("class/net").join(dev).join("address");
        std::fs::read_to_string(p)
            .map(|s| s.trim().to_owned())
            .map_err(|source| HostError::HwAddr { dev: dev.to_owned(), source })
    }
}

impl Host for RealHost {
    fn run_command(&mut self, which: CommandKind) -> Result<(), HostError> {
        let cmd = match which {
            CommandKind::Active => self.cfg.active_cmd.clone(),
            CommandKind::Inactive => self.cfg.inactive_cmd.clone(),
        };
        let Some(argv) = cmd else { return Ok(()) };
        self.spawn_detached(Path::new(&argv[0]), &argv[1..])
    }

    fn vips_up(&mut self, vips: &[Vip]) -> Result<(), HostError> {
        let mut first_err = None;
        for vip in vips {
            match self.run_waited(&self.cfg.ip, &ip_addr_args("add", vip)) {
                Err(HostError::Failed { stderr, .. }) if stderr.contains("File exists") => {}
                Err(e) => {
                    log::error!("VIP {vip} up: {e}");
                    first_err.get_or_insert(e);
                }
                Ok(()) => log::info!("VIP {vip} up"),
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn vips_down(&mut self, vips: &[Vip]) -> Result<(), HostError> {
        let mut first_err = None;
        for vip in vips {
            match self.run_waited(&self.cfg.ip, &ip_addr_args("del", vip)) {
                Err(HostError::Failed { stderr, .. })
                    if stderr.contains("Cannot assign requested address")
                        || stderr.contains("Address not found")
                        || stderr.contains("does not exist") => {}
                Err(e) => {
                    log::error!("VIP {vip} down: {e}");
                    first_err.get_or_insert(e);
                }
                Ok(()) => log::info!("VIP {vip} down"),
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn gratuitous_arp(&mut self, vips: &[Vip]) -> Result<(), HostError> {
        let mut first_err = None;
        for vip in vips {
            let r = self.hwaddr(base_dev(&vip.dev)).and_then(|mac| {
                let program = self.cfg.send_arp.clone();
                self.spawn_detached(&program, &send_arp_args(vip, &mac))
            });
            if let Err(e) = r {
                log::error!("gratuitous ARP for {vip}: {e}");
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn start_lvsd(&mut self) -> Result<(), HostError> {
        if self.lvsd.is_some() {
            return Ok(());
        }
        let child = Command::new(&self.cfg.lvsd)
            .args(&self.cfg.lvsd_args)
            .stdin(Stdio::null())
            .current_dir("/")
            .spawn()
            .map_err(|source| HostError::Spawn { program: self.cfg.lvsd.clone(), source })?;
        log::info!("started lvsd (pid {})", child.id());
        self.lvsd = Some(child);
        Ok(())
    }

    fn stop_lvsd(&mut self) {
        let Some(mut child) = self.lvsd.take() else { return };
        let pid = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
        if let Err(e) = kill(pid, Signal::SIGTERM) {
            log::warn!("SIGTERM to lvsd ({pid}): {e}");
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    log::info!("lvsd stopped ({status})");
                    return;
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(None) => {
                    log::warn!("lvsd ({pid}) ignored SIGTERM for 5 s: killing it");
                    let _ = child.kill();
                    let _ = child.wait();
                    return;
                }
                Err(e) => {
                    log::warn!("waiting for lvsd ({pid}): {e}");
                    return;
                }
            }
        }
    }

    fn reload_lvsd(&mut self) {
        if let Some(child) = &self.lvsd {
            let pid = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
            if let Err(e) = kill(pid, Signal::SIGHUP) {
                log::warn!("SIGHUP to lvsd ({pid}): {e}");
            }
        }
    }

    fn sync_daemon(&mut self, role: SyncRole) -> Result<(), HostError> {
        let Some((iface, id)) = self.cfg.sync.clone() else { return Ok(()) };
        let ipvsadm = self.cfg.ipvsadm.clone();
        for stop in ["backup", "master"] {
            // Stopping a daemon that is not running fails; that is fine.
            let _ = self.run_waited(&ipvsadm, &["--stop-daemon".to_owned(), stop.to_owned()]);
        }
        let role = match role {
            SyncRole::Master => "master",
            SyncRole::Backup => "backup",
        };
        self.run_waited(
            &ipvsadm,
            &[
                "--start-daemon".to_owned(),
                role.to_owned(),
                "--mcast-interface".to_owned(),
                iface,
                "--syncid".to_owned(),
                id.to_string(),
            ],
        )
    }

    fn reap(&mut self) -> Vec<(Child, Option<i32>)> {
        let mut out = Vec::new();
        if let Some(child) = &mut self.lvsd {
            if let Ok(Some(status)) = child.try_wait() {
                out.push((Child::Lvsd, status.code()));
                self.lvsd = None;
            }
        }
        self.helpers.retain_mut(|(name, child)| match child.try_wait() {
            Ok(Some(status)) => {
                if !status.success() {
                    log::warn!("{name} exited: {status}");
                }
                false
            }
            Ok(None) => true,
            Err(_) => false,
        });
        out
    }

    fn lvsd_pid(&self) -> Option<u32> {
        self.lvsd.as_ref().map(Proc::id)
    }

    fn reconfigure(&mut self, cfg: HostConfig) {
        self.cfg = cfg;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vip(a: &str, p: u8, dev: &str) -> Vip {
        Vip { addr: a.parse().unwrap(), prefix: p, dev: dev.into() }
    }

    #[test]
    fn argv_shapes() {
        let v = vip("192.168.1.100", 24, "eth0:1");
        assert_eq!(
            ip_addr_args("add", &v).join(" "),
            "addr add 192.168.1.100/24 dev eth0 broadcast + label eth0:1"
        );
        assert_eq!(ip_addr_args("del", &v).join(" "), "addr del 192.168.1.100/24 dev eth0");
        assert_eq!(
            send_arp_args(&v, "02:00:00:aa:bb:cc").join(" "),
            "-i eth0 192.168.1.100 020000aabbcc 192.168.1.255 ffffffffffff"
        );
        let v6 = vip("fd00::1", 64, "eth1");
        assert_eq!(ip_addr_args("add", &v6).join(" "), "addr add fd00::1/64 dev eth1 nodad");
        assert_eq!(broadcast(&vip("10.1.2.3", 32, "x")).to_string(), "10.1.2.3");
        assert_eq!(broadcast(&vip("10.1.2.3", 0, "x")).to_string(), "255.255.255.255");
        assert_eq!(
            split_command("  /bin/echo  a b "),
            Some(vec!["/bin/echo".into(), "a".into(), "b".into()])
        );
        assert_eq!(split_command("   "), None);
    }

    #[test]
    fn hwaddr_comes_from_the_sysfs_root() {
        let dir = std::env::temp_dir().join(format!("pulse-sysfs-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("class/net/eth7")).unwrap();
        std::fs::write(dir.join("class/net/eth7/address"), "02:00:00:00:00:07\n").unwrap();
        let h = RealHost::new(HostConfig {
            active_cmd: None,
            inactive_cmd: None,
            lvsd: "/bin/false".into(),
            lvsd_args: vec![],
            send_arp: "/bin/true".into(),
            ipvsadm: "/bin/true".into(),
            ip: "/bin/true".into(),
            sync: None,
            sysfs: dir.clone(),
        });
        assert_eq!(h.hwaddr("eth7").unwrap(), "02:00:00:00:00:07");
        assert!(matches!(h.hwaddr("eth8"), Err(HostError::HwAddr { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
