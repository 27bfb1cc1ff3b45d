//! The host operations pulse performs, behind the [`Host`] trait: running
//! `active_cmd`/`inactive_cmd`, VIPs up and down, gratuitous ARP, the sync
//! daemon through `ipvsadm`, and starting, stopping and reaping lvsd.
//! [`RealHost`] is the only place pulse spawns processes, and it never goes
//! through a shell.
//!
//! VIPs go up and down over rtnetlink through `lvs-net` (idempotent: an
//! address already present or absent is not an error). Announcements
//! (gratuitous ARP for IPv4, unsolicited Neighbour Advertisements for IPv6)
//! are sent by pulse itself on packet sockets through `lvs-net`, one round
//! per [`Host::gratuitous_arp`], paced by the state machine: no process is
//! started between a VIP going up and its announcement. The `send_arp`
//! binary stays for operators and piranha's scripts; pulse does not run it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::machine::{Child, SyncRole, Vip};

mod fos;
mod procs;

pub use fos::{FosService, ServiceReport, COMMAND_LIMIT};
use procs::Procs;
pub use procs::LVSD_GRACE;

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
    /// An announcement could not be sent (the interface is gone or down,
    /// no `CAP_NET_RAW`, the kernel refused the frame).
    #[error("announcing {addrs} on {dev}: {source}")]
    Announce {
        /// The interface.
        dev: String,
        /// The addresses not announced on it, comma-separated.
        addrs: String,
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
    /// Sends one gratuitous ARP / unsolicited NA per VIP, in-process. A
    /// failure on one interface does not keep the others from being
    /// announced.
    fn gratuitous_arp(&mut self, vips: &[Vip]) -> Result<(), HostError>;
    /// Gets ready to announce `vips` (best effort, nothing is sent), so
    /// that a later takeover's first announcement needs no set-up.
    fn prepare_announcements(&mut self, vips: &[Vip]);
    /// Starts lvsd (once the previous one, if it is still stopping, has
    /// exited).
    fn start_lvsd(&mut self) -> Result<(), HostError>;
    /// Stops lvsd without waiting: SIGTERM now, SIGKILL from
    /// [`Host::on_deadline`] after the grace period, reaped by
    /// [`Host::reap`].
    fn stop_lvsd(&mut self);
    /// Forwards SIGHUP to lvsd.
    fn reload_lvsd(&mut self);
    /// Tells lvsd (SIGUSR1) that the overrides file changed.
    fn overrides_changed(&mut self) {}
    /// Switches the IPVS sync daemon.
    fn sync_daemon(&mut self, role: SyncRole) -> Result<(), HostError>;
    /// Reaps exited children; returns supervised ones that exited.
    fn reap(&mut self) -> Vec<(Child, Option<i32>)>;
    /// lvsd's pid while it runs.
    fn lvsd_pid(&self) -> Option<u32>;
    /// Whether the running lvsd says its table is complete (its ready file
    /// holds its pid). Cheap: read at every turn of the loop.
    fn lvsd_ready(&self) -> bool;
    /// Takes new paths and commands after a reload.
    fn reconfigure(&mut self, cfg: HostConfig);
    /// When [`Host::on_deadline`] next has something to do.
    fn next_deadline(&self) -> Option<Instant> {
        None
    }
    /// Does what is due by `now` (SIGKILL to a process past its grace
    /// period); never blocks.
    fn on_deadline(&mut self, _now: Instant) {}
    /// Hands over the waker the host wakes the loop with when something
    /// it started off the loop (a process) is ready; then
    /// [`Host::on_wake`] is called from the loop.
    fn attach(&mut self, _waker: std::sync::Arc<mio::Waker>) {}
    /// The loop was woken by the host's waker; returns supervised
    /// children that exited (one may have exited before it was handed
    /// over, its SIGCHLD already handled).
    fn on_wake(&mut self) -> Vec<(Child, Option<i32>)> {
        Vec::new()
    }
    /// At exit, after the loop: waits for the processes being stopped
    /// (SIGKILL at their deadlines). The only place the host may block.
    fn finish(&mut self) {}
    /// Starts the failover services off the loop: each `stop_cmd` then
    /// `start_cmd`, in order, then their nannies.
    fn start_services(&mut self) {}
    /// Stops the failover services' nannies, then runs each `stop_cmd`,
    /// off the loop.
    fn stop_services(&mut self) {}
    /// The nannies' verdicts since the last call (after a wake).
    fn service_reports(&mut self) -> Vec<ServiceReport> {
        Vec::new()
    }
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
    /// Arguments for lvsd (`--nofork|--nodaemon -c CFG [-v]
    /// [--ready-file=FILE]`).
    pub lvsd_args: Vec<String>,
    /// Where lvsd says its table is complete (`--ready-file`).
    pub lvsd_ready_file: Option<PathBuf>,
    /// ipvsadm binary.
    pub ipvsadm: PathBuf,
    /// Sync daemon interface and id.
    pub sync: Option<(String, u8)>,
    /// Failover services (FOS), in configuration order.
    pub failover: Vec<FosService>,
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

/// What a round could not announce: the addresses and the first error
/// (`None`: all sent).
type Unsent = Option<(Vec<IpAddr>, lvs_net::Error)>;

/// Announces each of `addrs` once (gratuitous ARP as an RFC 5227
/// announcement, the form `send_arp` sends by default); returns the
/// addresses that could not be announced and the first error.
fn announce_all(a: &lvs_net::Announcer, addrs: &[IpAddr]) -> Unsent {
    let mut failed = Vec::new();
    let mut first = None;
    for addr in addrs {
        if let Err(e) = a.announce(*addr, lvs_net::ArpForm::Request) {
            failed.push(*addr);
            first.get_or_insert(e);
        }
    }
    first.map(|e| (failed, e))
}

fn vip_address(v: &Vip) -> lvs_net::VipAddress {
    lvs_net::VipAddress::piranha(&v.dev, v.addr, v.prefix)
}

/// The host pulse runs on.
#[derive(Debug)]
pub struct RealHost {
    cfg: HostConfig,
    rtnl: Option<lvs_net::Rtnl>,
    /// Packet sockets for announcements, by interface: name, index, sender.
    announcers: Vec<(String, u32, lvs_net::Announcer)>,
    procs: Procs,
    fos: fos::Fos,
    waker: Option<std::sync::Arc<mio::Waker>>,
    /// Interfaces announced on with a kept socket whose link is still to
    /// be checked, with the addresses announced.
    unchecked: Vec<(String, Vec<IpAddr>)>,
}

impl RealHost {
    /// A host with nothing running.
    pub fn new(cfg: HostConfig) -> RealHost {
        RealHost {
            cfg,
            rtnl: None,
            announcers: Vec::new(),
            procs: Procs::default(),
            fos: fos::Fos::default(),
            waker: None,
            unchecked: Vec::new(),
        }
    }
}

impl RealHost {
    /// The rtnetlink socket, opened on first use (and again after an error
    /// dropped it, so that a broken socket does not stick).
    fn rtnl(&mut self) -> Result<&mut lvs_net::Rtnl, lvs_net::Error> {
        let r = match self.rtnl.take() {
            Some(r) => r,
            None => lvs_net::Rtnl::open()?,
        };
        Ok(self.rtnl.insert(r))
    }

    /// The announcer for interface `dev`, checked against the link as it is
    /// now, and whether it was (re)opened by this call. The link is read
    /// every round (its MAC or index may have changed: a re-created
    /// interface); the packet socket is kept between rounds, because closing
    /// one waits for an RCU grace period in the kernel (`synchronize_net`),
    /// tens of milliseconds on a busy host, which would stall the loop after
    /// every announcement.
    fn announcer(&mut self, dev: &str) -> Result<(&lvs_net::Announcer, bool), lvs_net::Error> {
        let link = match self.rtnl().and_then(|r| r.link(dev)) {
            Ok(l) => l,
            Err(e) => {
                if !matches!(e, lvs_net::Error::NoSuchInterface(_)) {
                    self.rtnl = None;
                }
                return Err(e);
            }
        };
        let at = self.announcers.iter().position(|(d, _, _)| d == dev);
        let fresh = at.filter(|&i| {
            let (_, index, a) = &self.announcers[i];
            *index == link.index && Some(a.mac()) == link.mac
        });
        let (i, opened) = match fresh {
            Some(i) if link.is_up() => (i, false),
            // Down or changed: `open` says which, or opens a new socket.
            _ => {
                let entry = (dev.to_owned(), link.index, lvs_net::Announcer::open(&link)?);
                match at {
                    Some(i) => {
                        self.announcers[i] = entry;
                        (i, true)
                    }
                    None => {
                        self.announcers.push(entry);
                        (self.announcers.len() - 1, true)
                    }
                }
            }
        };
        Ok((&self.announcers[i].2, opened))
    }

    /// Checks the links announced on at once by [`Host::gratuitous_arp`]:
    /// if one changed under its socket (a re-created interface), the round
    /// is sent again on a new socket.
    fn check_announced(&mut self) {
        for (dev, addrs) in std::mem::take(&mut self.unchecked) {
            let failed = match self.announcer(&dev) {
                Ok((_, false)) => None,
                Ok((a, true)) => announce_all(a, &addrs),
                Err(e) => Some((addrs, e)),
            };
            if let Some((addrs, source)) = failed {
                let addrs = addrs.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
                log::error!("{}", HostError::Announce { dev, addrs, source });
            }
        }
    }

    /// Adds or removes VIPs over rtnetlink.
    fn change_vips(&mut self, vips: &[Vip], up: bool) -> Result<(), HostError> {
        let mut first_err = None;
        for vip in vips {
            // The index the announcement socket was opened for (at start)
            // saves the name lookup on a takeover; an interface re-created
            // since has a new index, and the name is looked up again.
            let index = self
                .announcers
                .iter()
                .find(|(d, _, _)| d == base_dev(&vip.dev))
                .map(|(_, i, _)| *i);
            let r = self.rtnl().and_then(|r| {
                let a = vip_address(vip);
                match (up, index) {
                    (true, Some(i)) => match r.add_address_at(i, &a) {
                        Err(lvs_net::Error::NoSuchIndex(_)) => r.add_address(&a),
                        other => other,
                    },
                    (true, None) => r.add_address(&a),
                    (false, _) => r.del_address(&a),
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
        self.procs.run_helper(Path::new(&argv[0]), &argv[1..])
    }

    fn vips_up(&mut self, vips: &[Vip]) -> Result<(), HostError> {
        self.change_vips(vips, true)
    }

    fn vips_down(&mut self, vips: &[Vip]) -> Result<(), HostError> {
        self.change_vips(vips, false)
    }

    fn gratuitous_arp(&mut self, vips: &[Vip]) -> Result<(), HostError> {
        let mut first_err = None;
        let groups = by_base_dev(vips);
        // A socket opened before (at start, or a previous round) sends at
        // once, with no netlink exchange between the VIP going up and the
        // frame: every interface's frames go first (the NAT gateway's too,
        // which the real servers' answers wait for).
        let early: Vec<Option<Unsent>> = groups
            .iter()
            .map(|(dev, addrs)| {
                self.announcers
                    .iter()
                    .find(|(d, _, _)| d == dev)
                    .map(|(_, _, a)| announce_all(a, addrs))
            })
            .collect();
        for ((dev, addrs), early) in groups.into_iter().zip(early) {
            if matches!(early, Some(None)) {
                // Sent: the link check (a netlink exchange, slow on a
                // loaded host) waits for the loop's next turn, which
                // reads the heartbeats first; if the link changed under
                // the socket, the round is sent again on a new one.
                self.unchecked.push((dev, addrs));
                continue;
            }
            let failed = match (self.announcer(&dev), early) {
                (Ok((_, false)), Some(sent)) => sent,
                (Ok((a, _)), _) => announce_all(a, &addrs),
                (Err(e), _) => Some((addrs, e)),
            };
            if let Some((addrs, source)) = failed {
                let addrs = addrs.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
                let e = HostError::Announce { dev, addrs, source };
                // The first error is logged by the caller; later ones here.
                if first_err.is_some() {
                    log::error!("{e}");
                } else {
                    first_err = Some(e);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn prepare_announcements(&mut self, vips: &[Vip]) {
        for (dev, _) in by_base_dev(vips) {
            // An interface that is absent or down now is set up at the
            // first announcement instead.
            if let Err(e) = self.announcer(&dev) {
                log::debug!("not ready to announce on {dev} yet: {e}");
            }
        }
    }

    fn start_lvsd(&mut self) -> Result<(), HostError> {
        self.procs.start_lvsd(&self.cfg.lvsd, &self.cfg.lvsd_args)
    }

    fn stop_lvsd(&mut self) {
        self.procs.stop_lvsd();
    }

    fn reload_lvsd(&mut self) {
        self.procs.reload_lvsd();
    }

    fn overrides_changed(&mut self) {
        self.procs.signal_lvsd(nix::sys::signal::Signal::SIGUSR1);
    }

    fn sync_daemon(&mut self, role: SyncRole) -> Result<(), HostError> {
        let Some((iface, id)) = self.cfg.sync.clone() else { return Ok(()) };
        let role = match role {
            SyncRole::Master => "master",
            SyncRole::Backup => "backup",
        };
        let mut runs: Vec<Vec<String>> = ["backup", "master"]
            .iter()
            .map(|stop| vec!["--stop-daemon".to_owned(), (*stop).to_owned()])
            .collect();
        runs.push(vec![
            "--start-daemon".to_owned(),
            role.to_owned(),
            "--mcast-interface".to_owned(),
            iface,
            "--syncid".to_owned(),
            id.to_string(),
        ]);
        self.procs.run_ipvsadm(&self.cfg.ipvsadm, runs)
    }

    fn reap(&mut self) -> Vec<(Child, Option<i32>)> {
        let out = self.procs.reap();
        self.procs.start_waiting(&self.cfg.lvsd, &self.cfg.lvsd_args);
        out
    }

    fn lvsd_pid(&self) -> Option<u32> {
        self.procs.lvsd_pid()
    }

    fn lvsd_ready(&self) -> bool {
        let (Some(pid), Some(path)) = (self.lvsd_pid(), &self.cfg.lvsd_ready_file) else {
            return false;
        };
        // A file left by a killed lvsd holds another pid.
        std::fs::read_to_string(path).is_ok_and(|t| t.trim() == pid.to_string())
    }

    fn reconfigure(&mut self, cfg: HostConfig) {
        self.cfg = cfg;
    }

    fn next_deadline(&self) -> Option<Instant> {
        let now = (!self.unchecked.is_empty()).then(Instant::now);
        [self.procs.next_deadline(), now].into_iter().flatten().min()
    }

    fn on_deadline(&mut self, now: Instant) {
        self.procs.on_deadline(now);
        self.check_announced();
    }

    fn attach(&mut self, waker: std::sync::Arc<mio::Waker>) {
        self.waker = Some(waker.clone());
        self.procs.attach(waker);
    }

    fn on_wake(&mut self) -> Vec<(Child, Option<i32>)> {
        self.procs.on_wake();
        self.reap()
    }

    fn finish(&mut self) {
        self.procs.finish();
        self.fos.finish();
    }

    fn start_services(&mut self) {
        self.fos.start(&self.cfg.failover, self.waker.as_ref());
    }

    fn stop_services(&mut self) {
        self.fos.stop(&self.cfg.failover, self.waker.as_ref());
    }

    fn service_reports(&mut self) -> Vec<ServiceReport> {
        self.fos.reports()
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
        let ip = |a: &str| a.parse::<IpAddr>().unwrap();
        assert_eq!(
            groups,
            vec![
                ("eth0".to_owned(), vec![ip("192.168.1.100"), ip("192.168.1.101")]),
                ("eth1".to_owned(), vec![ip("fd00::1")]),
            ],
            "one round per base interface, each address once"
        );
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
