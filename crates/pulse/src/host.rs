//! The host operations pulse performs, behind the [`Host`] trait: running
//! `active_cmd`/`inactive_cmd`, VIPs up and down, gratuitous ARP through
//! `send_arp`, the sync daemon through `ipvsadm`, and starting, stopping and
//! reaping lvsd. [`RealHost`] is the only place pulse spawns processes, and
//! it never goes through a shell.
//!
//! VIPs go up and down over rtnetlink through `lvs-net` (idempotent: an
//! address already present or absent is not an error); announcements are
//! `send_arp -i DEV ADDR...` runs, one round each, paced by the state
//! machine.

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
    /// The network layer refused a VIP change.
    #[error("VIP {vip}: {source}")]
    Net {
        /// The VIP.
        vip: String,
        /// The lvs-net error (kernel errno kept).
        source: lvs_net::Error,
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
    /// Sync daemon interface and id.
    pub sync: Option<(String, u8)>,
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

/// `send_arp` arguments for one round of announcements of `addrs` on
/// `dev` (send_arp's modern form; IPv6 addresses get an unsolicited NA).
pub fn send_arp_args(dev: &str, addrs: &[IpAddr]) -> Vec<String> {
    let mut v = vec!["-i".to_owned(), dev.to_owned()];
    v.extend(addrs.iter().map(ToString::to_string));
    v
}

/// Groups VIPs by the interface they are announced on, in first-seen order.
pub fn by_base_dev(vips: &[Vip]) -> Vec<(String, Vec<IpAddr>)> {
    let mut out: Vec<(String, Vec<IpAddr>)> = Vec::new();
    for v in vips {
        let dev = base_dev(&v.dev);
        match out.iter_mut().find(|(d, _)| d == dev) {
            Some((_, a)) if !a.contains(&v.addr) => a.push(v.addr),
            Some(_) => {}
            None => out.push((dev.to_owned(), vec![v.addr])),
        }
    }
    out
}

fn vip_address(v: &Vip) -> lvs_net::VipAddress {
    lvs_net::VipAddress::piranha(&v.dev, v.addr, v.prefix)
}

/// The host pulse runs on.
#[derive(Debug)]
pub struct RealHost {
    cfg: HostConfig,
    rtnl: Option<lvs_net::Rtnl>,
    lvsd: Option<Proc>,
    helpers: Vec<(String, Proc)>,
}

impl RealHost {
    /// A host with nothing running.
    pub fn new(cfg: HostConfig) -> RealHost {
        RealHost { cfg, rtnl: None, lvsd: None, helpers: Vec::new() }
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

    /// Adds or removes VIPs over rtnetlink, reopening the socket after an
    /// error so that a broken socket does not stick.
    fn change_vips(&mut self, vips: &[Vip], up: bool) -> Result<(), HostError> {
        let mut first_err = None;
        for vip in vips {
            let r = match &mut self.rtnl {
                Some(r) => Ok(r),
                None => lvs_net::Rtnl::open().map(|r| self.rtnl.insert(r)),
            }
            .and_then(|r| {
                let a = vip_address(vip);
                if up {
                    r.add_address(&a)
                } else {
                    r.del_address(&a)
                }
            });
            match r {
                Ok(lvs_net::Outcome::Changed) => {
                    log::info!("VIP {vip} {}", if up { "up" } else { "down" });
                }
                Ok(lvs_net::Outcome::Unchanged) => {}
                Err(source) => {
                    self.rtnl = None;
                    let e = HostError::Net { vip: vip.to_string(), source };
                    log::error!("{e}");
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
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
        self.change_vips(vips, true)
    }

    fn vips_down(&mut self, vips: &[Vip]) -> Result<(), HostError> {
        self.change_vips(vips, false)
    }

    fn gratuitous_arp(&mut self, vips: &[Vip]) -> Result<(), HostError> {
        let mut first_err = None;
        let program = self.cfg.send_arp.clone();
        for (dev, addrs) in by_base_dev(vips) {
            if let Err(e) = self.spawn_detached(&program, &send_arp_args(&dev, &addrs)) {
                log::error!("gratuitous ARP on {dev}: {e}");
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
        let vips = [
            vip("192.168.1.100", 24, "eth0:1"),
            vip("192.168.1.101", 24, "eth0"),
            vip("fd00::1", 64, "eth1"),
            vip("192.168.1.100", 24, "eth0:2"),
        ];
        let groups = by_base_dev(&vips);
        assert_eq!(groups.len(), 2);
        assert_eq!(
            send_arp_args(&groups[0].0, &groups[0].1).join(" "),
            "-i eth0 192.168.1.100 192.168.1.101"
        );
        assert_eq!(send_arp_args(&groups[1].0, &groups[1].1).join(" "), "-i eth1 fd00::1");
        let a = vip_address(&vips[0]);
        assert_eq!((a.device.as_str(), a.label.as_deref()), ("eth0", Some("eth0:1")));
        assert_eq!(a.broadcast, Some("192.168.1.255".parse().unwrap()));
        assert_eq!(
            split_command("  /bin/echo  a b "),
            Some(vec!["/bin/echo".into(), "a".into(), "b".into()])
        );
        assert_eq!(split_command("   "), None);
    }
}
