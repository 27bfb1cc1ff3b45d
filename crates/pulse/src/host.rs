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
//! started between a VIP going up and its announcement. Both run on the
//! network worker thread (`net`), in order; [`Host::busy`] tells the loop
//! when they are not done yet. The `send_arp` binary stays for operators
//! and piranha's scripts; pulse does not run it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::machine::{Child, SyncRole, Vip};

// Starts the failover services and their nannies (a choke point of
// processes, `clippy.toml`).
#[allow(clippy::disallowed_methods)]
mod fos;
mod net;
// Starts the commands, lvsd and ipvsadm (a choke point of processes,
// `clippy.toml`).
#[allow(clippy::disallowed_methods)]
mod procs;

pub use fos::{FosService, ServiceReport};
use net::{Job, Net};
use procs::Procs;

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
    /// An ECMP VIP route could not be listed, added or removed.
    #[error("VIP routes in table {table}: {source}")]
    Routes {
        /// The kernel table.
        table: u32,
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
    /// Adds the VIPs; an address already present is not an error. This and
    /// the next two may be done on a worker, in the order asked: then
    /// [`Host::busy`] is true until they are done, and errors are logged.
    fn vips_up(&mut self, vips: &[Vip]) -> Result<(), HostError>;
    /// Removes the VIPs; an address already absent is not an error.
    fn vips_down(&mut self, vips: &[Vip]) -> Result<(), HostError>;
    /// Sends one gratuitous ARP / unsolicited NA per VIP, in-process. A
    /// failure on one interface does not keep the others from being
    /// announced.
    fn gratuitous_arp(&mut self, vips: &[Vip]) -> Result<(), HostError>;
    /// ECMP: makes our VIP routes in kernel table `table` exactly `vips`
    /// (adds the missing, removes the others of our protocol, stale ones
    /// from a crashed run included). Done on the network worker like the
    /// VIP changes; errors are logged there.
    fn vip_routes(&mut self, _table: u32, _vips: &[IpAddr]) -> Result<(), HostError> {
        Ok(())
    }
    /// Gets ready to announce `vips` (best effort, nothing is sent), so
    /// that a later takeover's first announcement needs no set-up.
    fn prepare_announcements(&mut self, vips: &[Vip]);
    /// Whether VIP changes or announcements handed to a worker are not
    /// done yet: the loop holds back what must follow them.
    fn busy(&self) -> bool {
        false
    }
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
    /// Starts the host's worker threads now (after [`Host::attach`], in
    /// the loop's thread before its first measured turn), so that no turn
    /// pays for a thread's start-up.
    fn start_workers(&mut self) {}
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

/// The host pulse runs on.
#[derive(Debug)]
pub struct RealHost {
    cfg: HostConfig,
    net: Net,
    procs: Procs,
    fos: fos::Fos,
    waker: Option<std::sync::Arc<mio::Waker>>,
}

impl RealHost {
    /// A host with nothing running.
    pub fn new(cfg: HostConfig) -> RealHost {
        RealHost {
            cfg,
            net: Net::default(),
            procs: Procs::default(),
            fos: fos::Fos::default(),
            waker: None,
        }
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
        self.net.submit(Job::Up(vips.to_vec(), Instant::now()))
    }

    fn vips_down(&mut self, vips: &[Vip]) -> Result<(), HostError> {
        self.net.submit(Job::Down(vips.to_vec()))
    }

    fn gratuitous_arp(&mut self, vips: &[Vip]) -> Result<(), HostError> {
        self.net.submit(Job::Announce(vips.to_vec()))
    }

    fn vip_routes(&mut self, table: u32, vips: &[IpAddr]) -> Result<(), HostError> {
        self.net.submit(Job::Routes(table, vips.to_vec()))
    }

    fn prepare_announcements(&mut self, vips: &[Vip]) {
        if let Err(e) = self.net.submit(Job::Prepare(vips.to_vec())) {
            log::debug!("not ready to announce yet: {e}");
        }
    }

    fn busy(&self) -> bool {
        self.net.busy()
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
        self.procs.next_deadline()
    }

    fn on_deadline(&mut self, now: Instant) {
        self.procs.on_deadline(now);
    }

    fn attach(&mut self, waker: std::sync::Arc<mio::Waker>) {
        self.net.attach(std::sync::Arc::clone(&waker));
        self.waker = Some(std::sync::Arc::clone(&waker));
        self.procs.attach(waker);
    }

    fn start_workers(&mut self) {
        self.net.start();
        self.procs.start();
        if !self.cfg.failover.is_empty() {
            self.fos.start_worker(self.waker.as_ref());
        }
    }

    fn on_wake(&mut self) -> Vec<(Child, Option<i32>)> {
        self.net.on_wake();
        self.procs.on_wake();
        self.reap()
    }

    fn finish(&mut self) {
        self.net.finish();
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
        let a = net::vip_address(&vips[0]);
        assert_eq!((a.device.as_str(), a.label.as_deref()), ("eth0", Some("eth0:1")));
        assert_eq!(a.broadcast, Some("192.168.1.255".parse().unwrap()));
        assert_eq!(
            split_command("  /bin/echo  a b "),
            Some(vec!["/bin/echo".into(), "a".into(), "b".into()])
        );
        assert_eq!(split_command("   "), None);
    }
}
