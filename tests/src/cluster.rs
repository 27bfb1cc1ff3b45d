//! The two-router cluster of `vm_e2e` and `vm_node`, written once: a
//! testbed topology, pulse on both routers with one configuration, HTTP
//! real servers, and what both suites ask of it (pulse's status and role,
//! the VIP, the IPVS table against the live real servers, a takeover's
//! phases, a router's death, SIGTERM at the end). Each suite wraps a
//! [`Pair`] in its own `Cluster` for what only it does.

// Helpers of the test suites: a failed unwrap is a failed test, with its place.
#![allow(clippy::unwrap_used)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use ipvs::Client;
use testbed::{addr, Forwarding, Netns, Topology};

use crate::guest::bin;
use crate::traffic::{Dir, RealServer, Timeline};

/// Upper bound for anything the cluster does on its own (start, a check
/// noticing a server, a takeover), generous for a loaded software-emulated
/// guest. Figures are printed; this bound only catches a stuck cluster.
pub const LONG: Duration = Duration::from_secs(60);

/// Two routers running pulse in front of HTTP real servers.
#[derive(Debug)]
pub struct Pair {
    /// The namespaces and links.
    pub topo: Topology,
    /// Scratch directory: key, configuration, sockets, logs.
    pub dir: Dir,
    /// The configuration both routers run.
    pub config: PathBuf,
    /// The real servers' HTTP services, by index; `None` once stopped.
    pub servers: Vec<Option<RealServer>>,
    /// pulse on each router, while it runs.
    pub pulses: Vec<Option<Child>>,
    /// Routers killed by [`Pair::kill_router`].
    pub dead: Vec<bool>,
    /// Each router's pulse control socket.
    pub sockets: Vec<PathBuf>,
    /// The scenario's timeline.
    pub log: Timeline,
    /// Names the suite in the stall detector's lines (`e2e`, `node`).
    pub suite: &'static str,
}

impl Pair {
    /// Writes the heartbeat key and the configuration (`config` is given
    /// the key's path) into `dir`, and starts an HTTP real server named
    /// `names[j]` on real server `j`. pulse is not started.
    pub fn new(
        topo: Topology,
        dir: Dir,
        suite: &'static str,
        config: impl FnOnce(&Path) -> String,
        names: &[&str],
        log: Timeline,
    ) -> Pair {
        let key = dir.0.join("heartbeat.key");
        std::fs::write(&key, b"end-to-end test key, 32 bytes!!!").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let path = dir.0.join("lvs.yaml");
        std::fs::write(&path, config(&key)).unwrap();
        let sockets = (0..2).map(|i| dir.0.join(format!("pulse{i}.sock"))).collect();
        let mut c = Pair {
            topo,
            dir,
            config: path,
            servers: Vec::new(),
            pulses: vec![None, None],
            dead: vec![false, false],
            sockets,
            log,
            suite,
        };
        for (name, host) in names.iter().zip(&c.topo.real_servers) {
            c.servers.push(Some(RealServer::start(&host.ns, name)));
        }
        c
    }

    /// Router `i`'s pulse control socket.
    pub fn socket(&self, i: usize) -> PathBuf {
        self.sockets[i].clone()
    }

    /// Router `i`'s log file (pulse and lvsd).
    pub fn log_path(&self, i: usize) -> PathBuf {
        self.dir.0.join(format!("router{i}.log"))
    }

    /// Starts pulse on router `i` (`-n`: foreground; pulse and lvsd log to
    /// the router's log file).
    pub fn start_pulse(&mut self, i: usize) {
        let ns = &self.topo.directors[i].ns;
        self.pulses[i] = Some(start_pulse(ns, &self.config, &self.socket(i), &self.log_path(i)));
    }

    /// Both routers' logs, for a failure message.
    pub fn logs(&self) -> String {
        (0..2)
            .map(|i| {
                let text = std::fs::read_to_string(self.log_path(i)).unwrap_or_default();
                format!("---- router {i} log ----\n{text}")
            })
            .collect()
    }

    /// pulse's `status json` on router `i`, if it answers.
    pub fn status(&self, i: usize) -> Option<String> {
        status(&self.socket(i))
    }

    /// pulse on router `i` says it is the active router (the status also
    /// lists the peers' roles: only the leading `router` entry counts).
    pub fn is_active(&self, i: usize) -> bool {
        let me = format!("{{\"router\":\"{}\",\"role\":\"active\",", ["primary", "backup"][i]);
        self.status(i).is_some_and(|s| s.starts_with(&me))
    }

    /// pulse on router `i` answers and says it is not active.
    pub fn is_standby(&self, i: usize) -> bool {
        self.status(i).is_some_and(|s| s.starts_with('{')) && !self.is_active(i)
    }

    /// Waits for router `i` to take over, and tells the phases: when pulse
    /// said active, when the VIP was up, when the table was complete.
    #[track_caller]
    pub fn wait_takeover(&self, i: usize, since: Duration) -> Duration {
        let (mut active, mut vip) = (None, None);
        let ready = self.wait_until("the backup to take over", || {
            if active.is_none() && self.is_active(i) {
                active = Some(self.log.at());
            }
            if active.is_some() && vip.is_none() && self.has_vip(i) {
                vip = Some(self.log.at());
            }
            vip.is_some() && self.table(i) == self.live()
        });
        let rel = |t: Option<Duration>| t.map_or("?".into(), |t| format!("{:.1?}", t - since));
        self.log.say(&format!(
            "takeover phases after the kill: pulse active at {}, VIP up at {}, table complete at {}",
            rel(active),
            rel(vip),
            rel(Some(ready))
        ));
        ready
    }

    /// Real servers (by address) in router `i`'s IPVS table with a weight
    /// above 0, for the VIP's port 80 service.
    pub fn table(&self, i: usize) -> Vec<Ipv4Addr> {
        let t = self.topo.directors[i]
            .ns
            .enter(|| Client::connect().and_then(|mut c| c.table()))
            .unwrap();
        let Ok(t) = t else { return Vec::new() };
        let mut out: Vec<Ipv4Addr> = t
            .into_iter()
            .filter(|(s, _)| s.key.to_string() == format!("TCP {}:80", addr::VIP))
            .flat_map(|(_, d)| d)
            .filter(|d| d.weight > 0)
            .filter_map(|d| match d.addr {
                std::net::IpAddr::V4(a) => Some(a),
                std::net::IpAddr::V6(_) => None,
            })
            .collect();
        out.sort();
        out
    }

    /// Router `i` holds the VIP on `eth0`.
    pub fn has_vip(&self, i: usize) -> bool {
        let out = self.topo.directors[i].ns.ip(&["-4", "addr", "show", "dev", "eth0"]);
        out.is_ok_and(|o| o.contains(&format!("inet {}/", addr::VIP)))
    }

    /// Live real servers' addresses.
    pub fn live(&self) -> Vec<Ipv4Addr> {
        let mut v: Vec<Ipv4Addr> = (0..self.servers.len())
            .filter(|j| self.servers[*j].is_some())
            .map(|j| self.topo.real_server_addr(j))
            .collect();
        v.sort();
        v
    }

    /// Router `i` serves: pulse says active, it holds the VIP and its
    /// table has exactly the live real servers.
    pub fn ready(&self, i: usize) -> bool {
        !self.dead[i] && self.is_active(i) && self.has_vip(i) && self.table(i) == self.live()
    }

    /// Waits until `pred` holds; returns when it was first seen. After
    /// [`LONG`], panics with both routers' status, tables and logs.
    #[track_caller]
    pub fn wait_until(&self, what: &str, mut pred: impl FnMut() -> bool) -> Duration {
        let start = Instant::now();
        loop {
            if pred() {
                return self.log.at();
            }
            if start.elapsed() > LONG {
                let status: Vec<Option<String>> = (0..2).map(|i| self.status(i)).collect();
                panic!(
                    "timed out after {LONG:?} waiting for {what}; status {status:?}; tables {:?} {:?}\n{}",
                    self.table(0),
                    self.table(1),
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops real server `j`'s HTTP service (its listener closes).
    pub fn stop_server(&mut self, j: usize) {
        self.servers[j] = None;
    }

    /// No running pulse had a loop stall over 50 ms (issue 15's stall
    /// detector; pauses of the machine under the loop, which its canaries
    /// tell, and turns that waited for a CPU are counted and printed): each one's
    /// worst turn is printed, and a stall fails the test with pulse's log
    /// lines, which split the turn into time on the CPU, waiting for one
    /// and blocked, and name its slowest step.
    pub fn assert_no_stalls(&self) {
        for i in (0..2).filter(|&i| !self.dead[i] && self.pulses[i].is_some()) {
            let who = format!("{} {} router {i}", self.suite, self.log.tag);
            match crate::pulse::stalls(&self.socket(i), &who) {
                Ok(f) => {
                    self.log.say(&format!(
                        "router {i}: no loop stall over 50 ms (worst turn {:.1} ms; {} pauses of the machine under the loop, worst {:.1} ms; {} waits for a CPU, longest {:.1} ms)",
                        f.worst_us as f64 / 1000.0,
                        f.pauses,
                        f.worst_pause_us as f64 / 1000.0,
                        f.waits,
                        f.worst_wait_us as f64 / 1000.0
                    ));
                    if f.waits > 0 {
                        let log = std::fs::read_to_string(self.log_path(i)).unwrap_or_default();
                        crate::pulse::print_long_turns(&who, &log);
                    }
                }
                Err(status) => {
                    let log = std::fs::read_to_string(self.log_path(i)).unwrap_or_default();
                    crate::pulse::print_long_turns(&who, &log);
                    panic!(
                        "router {i}: pulse's loop stalled over 50 ms:\n{status}\n{}",
                        self.logs()
                    );
                }
            }
        }
    }

    /// Router `i` dies: its links go down, then every process in its
    /// namespace (pulse, lvsd, nannies, the sync daemon's owner) is killed.
    pub fn kill_router(&mut self, i: usize) {
        self.assert_no_stalls();
        let pulse = self.pulses[i].take();
        kill_router(&self.topo, i, pulse);
        self.dead[i] = true;
    }

    /// SIGTERM to each running pulse, which stops lvsd, which stops its
    /// nannies (see [`terminate`]).
    pub fn stop_pulses(&mut self) {
        for slot in &mut self.pulses {
            if let Some(c) = slot.take() {
                terminate(c);
            }
        }
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        self.stop_pulses();
    }
}

/// Starts pulse in `ns` in the foreground (`-n`) with `config` and the
/// control `socket`; pulse and lvsd log to the file `log`.
pub fn start_pulse(ns: &Netns, config: &Path, socket: &Path, log: &Path) -> Child {
    let log = File::create(log).unwrap();
    ns.command(bin("pulse"))
        .arg("-n")
        .arg("-c")
        .arg(config)
        .arg(format!("--socket={}", socket.display()))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// pulse's `status json` on `socket`, whatever it answers, if it answers
/// within 2 s.
pub fn status(socket: &Path) -> Option<String> {
    let mut s = UnixStream::connect(socket).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"status json\n").ok()?;
    s.shutdown(Shutdown::Write).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// Router `i` of `topo` dies: its links go down, then its `pulse` and
/// every process in its namespace (lvsd, nannies, the sync daemon's owner)
/// are killed.
pub fn kill_router(topo: &Topology, i: usize, pulse: Option<Child>) {
    let ns = &topo.directors[i].ns;
    let links = if topo.forwarding == Forwarding::Nat {
        "link set eth0 down\nlink set eth1 down\n"
    } else {
        "link set eth0 down\n"
    };
    ns.batch(links).unwrap();
    let pids = std::process::Command::new(bin_ip())
        .args(["netns", "pids", ns.name()])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if let Some(mut child) = pulse {
        let _ = child.kill();
        let _ = child.wait();
    }
    for pid in pids.split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// SIGTERM to `lvs-node` on real server `j`: it must exit, and with 0,
/// within [`LONG`].
pub fn stop_node(mut child: Child, j: usize) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < LONG, "lvs-node on real server {j} did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "lvs-node on real server {j}: {status}");
}

/// SIGTERM to `c`, up to 15 s for it to exit, then SIGKILL.
pub fn terminate(mut c: Child) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(c.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(15) {
        if c.try_wait().ok().flatten().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = c.kill();
    let _ = c.wait();
}

/// iproute2's `ip` (first on `PATH` in the guest).
fn bin_ip() -> String {
    std::env::var("LVS_IP").unwrap_or_else(|_| "ip".into())
}
