//! Cluster-node suite: the LVS-DR and LVS-TUN clusters of the end-to-end
//! suite, with real servers set up only by `lvs-node` (the test gives them
//! a link and their own address, nothing else: no VIP, no sysctl). Two
//! routers run `pulse` from the DR sample (`etc/demo-dr.yaml`, with
//! `network: tunnel` for TUN); `lvs-node` runs on each real server with the
//! same file. Each scenario checks balancing, the removal of a stopped real
//! server and router failover with a client making requests all along, and
//! then that stopping `lvs-node` leaves every real server exactly as it was
//! found (addresses, links, ARP and rp_filter sysctls).
//!
//! The scenario follows `tests/vm/e2e.rs`; the real servers, the client and
//! the timeline are the ones it uses (`lvs_tests::traffic`).
//!
//! Run with `cargo xtask vm-test --suite node`.

// Helpers of a test file: a failed unwrap is a failed test, with its place.
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
use lvs_tests::traffic::{
    serial, show_spread, spread, Dir, Load, Patience, RealServer, Sample, Timeline,
};
use testbed::{addr, Forwarding, Netns, Topology, TopologyBuilder};

/// The DR sample, as shipped.
const DR_CONFIG: &str = include_str!("../../etc/demo-dr.yaml");
/// Where the samples expect the heartbeat key.
const KEY_PATH: &str = "/etc/lvs-router/heartbeat.key";
/// Real servers of the samples, in order.
const NAMES: [&str; 3] = ["web1", "web2", "web3"];
/// The samples' heartbeat deadtime.
const DEADTIME: Duration = Duration::from_secs(2);
/// Upper bound for anything the cluster does on its own (start, a check
/// noticing a server, a takeover), generous for a loaded software-emulated
/// guest. Figures are printed; this bound only catches a stuck cluster.
const LONG: Duration = Duration::from_secs(60);
/// A successful request slower than this is reported as slow.
const SLOW: Duration = Duration::from_secs(1);
/// The client's patience: 3 s to connect (one lost SYN is retransmitted
/// after 1 s and still makes it), 3 s for the answer, so a request fails
/// within about 6 s rather than riding out an outage on TCP retransmissions.
const PATIENCE: Patience =
    Patience { connect: Duration::from_secs(3), answer: Duration::from_secs(3) };

fn bin(name: &str) -> String {
    let dir = std::env::var("LVS_BIN_DIR").expect("LVS_BIN_DIR is set in the test guest");
    format!("{dir}/{name}")
}

/// How the routers forward to the real servers (both on one LAN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Direct,
    Tunnel,
}

// ---- The cluster ----

/// The sample configuration made runnable here: the key file moved to the
/// scratch directory, a `paths:` section naming this build's binaries, and
/// the forwarding method.
fn runnable_config(method: Method, key: &Path) -> String {
    assert!(DR_CONFIG.contains(KEY_PATH) && DR_CONFIG.contains("\nnetwork: direct"));
    let mut text = DR_CONFIG.replace(KEY_PATH, &key.display().to_string());
    if method == Method::Tunnel {
        text = text.replace("\nnetwork: direct", "\nnetwork: tunnel");
    }
    let ipvsadm = std::env::var("LVS_REF_IPVSADM").expect("LVS_REF_IPVSADM is set in the guest");
    text.push_str(&format!(
        "\npaths:\n  lvsd: {}\n  nanny: {}\n  send_arp: {}\n  ipvsadm: {ipvsadm}\n",
        bin("lvsd"),
        bin("nanny"),
        bin("send_arp"),
    ));
    text
}

/// Everything `lvs-node` may touch on a real server, as text.
fn snapshot(ns: &Netns) -> String {
    // Link-local addresses leave DAD on their own (`tentative`): not ours.
    let mut s = ns.ip(&["-o", "addr", "show"]).unwrap().replace(" tentative", "");
    // Link flags (tunl0 up or down), without counters or qdisc details.
    for line in ns.ip(&["-o", "link", "show"]).unwrap().lines() {
        s.push_str(line.split(" mtu ").next().unwrap_or(line));
        s.push('\n');
    }
    for dev in ["all", "eth0", "lo", "tunl0"] {
        for k in ["arp_ignore", "arp_announce", "rp_filter"] {
            let path = format!("/proc/sys/net/ipv4/conf/{dev}/{k}");
            let v = ns.enter(|| std::fs::read_to_string(&path).unwrap_or_default()).unwrap();
            s.push_str(&format!("{dev}.{k}={v}"));
        }
    }
    s
}

/// Two routers, three bare real servers set up by `lvs-node`, a client.
struct Cluster {
    topo: Topology,
    dir: Dir,
    config: PathBuf,
    method: Method,
    servers: Vec<Option<RealServer>>,
    /// `lvs-node` per real server.
    nodes: Vec<Option<Child>>,
    /// Each real server as built, before `lvs-node` ran.
    found: Vec<String>,
    pulses: Vec<Option<Child>>,
    /// Routers whose links are down and processes killed.
    dead: Vec<bool>,
    /// pulse's control socket per router.
    sockets: Vec<PathBuf>,
    log: Timeline,
}

impl Cluster {
    fn new(method: Method, tag: &'static str) -> Cluster {
        let log = Timeline { t0: Instant::now(), tag };
        let topo = TopologyBuilder::new(Forwarding::DirectRouting)
            .directors(2)
            .real_servers(3)
            .active(None)
            .bare_real_servers()
            .build()
            .unwrap();
        let dir = Dir::new("node", tag);
        let key = dir.0.join("heartbeat.key");
        std::fs::write(&key, b"end-to-end test key, 32 bytes!!!").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let config = dir.0.join("lvs.yaml");
        std::fs::write(&config, runnable_config(method, &key)).unwrap();
        let found = topo.real_servers.iter().map(|h| snapshot(&h.ns)).collect();
        let mut c = Cluster {
            topo,
            dir,
            config,
            method,
            servers: Vec::new(),
            nodes: Vec::new(),
            found,
            pulses: vec![None, None],
            dead: vec![false, false],
            sockets: Vec::new(),
            log,
        };
        c.sockets = (0..2).map(|i| c.dir.0.join(format!("pulse{i}.sock"))).collect();
        for (name, host) in NAMES.iter().zip(&c.topo.real_servers) {
            c.servers.push(Some(RealServer::start(&host.ns, name)));
        }
        c.start_nodes();
        c.log.say(&format!(
            "LVS-{} cluster built: routers {} and {}, real servers {} set up by lvs-node, VIP {}:80",
            if method == Method::Direct { "DR" } else { "TUN" },
            addr::director_public(0),
            addr::director_public(1),
            NAMES.join(" "),
            addr::VIP,
        ));
        c
    }

    /// Starts `lvs-node` on every real server and waits for the VIP on
    /// `lo` (DR) or `tunl0` (TUN).
    fn start_nodes(&mut self) {
        let dev = if self.method == Method::Direct { "lo" } else { "tunl0" };
        for (j, host) in self.topo.real_servers.iter().enumerate() {
            let log = File::create(self.dir.0.join(format!("node{j}.log"))).unwrap();
            let child = host
                .ns
                .command(bin("lvs-node"))
                .arg("-c")
                .arg(&self.config)
                // One journal per real server (they share the guest's /run).
                .arg(format!("--state={}", self.dir.0.join(format!("node{j}.journal")).display()))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap();
            self.nodes.push(Some(child));
        }
        let start = Instant::now();
        for (j, host) in self.topo.real_servers.iter().enumerate() {
            let want = format!("inet {}/32", addr::VIP);
            while !host
                .ns
                .ip(&["-o", "addr", "show", "dev", dev])
                .unwrap_or_default()
                .contains(&want)
            {
                assert!(
                    start.elapsed() < LONG,
                    "lvs-node did not set up real server {j}:\n{}",
                    self.node_logs()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        self.log.say(&format!("lvs-node set up the three real servers in {:.1?}", start.elapsed()));
        let after = snapshot(&self.topo.real_servers[0].ns);
        self.log.say(&format!("real server web1 after lvs-node:\n{after}"));
    }

    /// SIGTERM to every `lvs-node`: each exits 0 and its real server is
    /// as it was found.
    fn stop_nodes(&mut self) {
        for (j, slot) in self.nodes.iter_mut().enumerate() {
            let Some(mut child) = slot.take() else { continue };
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
        for (j, host) in self.topo.real_servers.iter().enumerate() {
            assert_eq!(
                snapshot(&host.ns),
                self.found[j],
                "real server {j} after lvs-node stopped:\n{}",
                self.node_logs()
            );
        }
        self.log.say("lvs-node stopped on the three real servers: each is exactly as it was found");
    }

    /// Router `i`'s IPVS services and connections (reference ipvsadm), for
    /// a failure message: which real server a refused request went to.
    fn ipvs_state(&self, i: usize) -> String {
        let ipvsadm = std::env::var("LVS_REF_IPVSADM").unwrap_or_else(|_| "ipvsadm".into());
        let ns = &self.topo.directors[i].ns;
        let mut out = format!("---- router {i} IPVS ----\n");
        for args in [&["-L", "-n"][..], &["-L", "-n", "-c"][..]] {
            match ns.command(&ipvsadm).args(args).output() {
                Ok(o) => out.push_str(&String::from_utf8_lossy(&o.stdout)),
                Err(e) => out.push_str(&format!("{ipvsadm}: {e}\n")),
            }
        }
        out
    }

    fn node_logs(&self) -> String {
        (0..NAMES.len())
            .map(|j| {
                let text = std::fs::read_to_string(self.dir.0.join(format!("node{j}.log")))
                    .unwrap_or_default();
                format!("---- lvs-node {j} log ----\n{text}")
            })
            .collect()
    }

    fn socket(&self, i: usize) -> PathBuf {
        self.sockets[i].clone()
    }

    fn log_path(&self, i: usize) -> PathBuf {
        self.dir.0.join(format!("router{i}.log"))
    }

    /// Starts pulse on router `i` (`-n`: foreground; pulse and lvsd log to
    /// the router's log file).
    fn start_pulse(&mut self, i: usize) {
        let log = File::create(self.log_path(i)).unwrap();
        let child = self.topo.directors[i]
            .ns
            .command(bin("pulse"))
            .arg("-n")
            .arg("-c")
            .arg(&self.config)
            .arg(format!("--socket={}", self.socket(i).display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.pulses[i] = Some(child);
    }

    fn logs(&self) -> String {
        (0..2)
            .map(|i| {
                let text = std::fs::read_to_string(self.log_path(i)).unwrap_or_default();
                format!("---- router {i} log ----\n{text}")
            })
            .collect()
    }

    /// pulse's `status json` on router `i`, if it answers.
    fn status(&self, i: usize) -> Option<String> {
        let mut s = UnixStream::connect(self.socket(i)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(b"status json\n").ok()?;
        s.shutdown(Shutdown::Write).ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    }

    /// pulse on router `i` says it is the active router (the status also
    /// lists the peers' roles: only the leading `router` entry counts).
    fn is_active(&self, i: usize) -> bool {
        let me = format!("{{\"router\":\"{}\",\"role\":\"active\",", ["primary", "backup"][i]);
        self.status(i).is_some_and(|s| s.starts_with(&me))
    }

    /// pulse on router `i` answers and says it is not active.
    fn is_standby(&self, i: usize) -> bool {
        self.status(i).is_some_and(|s| s.starts_with('{')) && !self.is_active(i)
    }

    /// Waits for router `i` to take over, and tells the phases: when pulse
    /// said active, when the VIP was up, when the table was complete.
    #[track_caller]
    fn wait_takeover(&self, i: usize, since: Duration) -> Duration {
        let (mut active, mut vip) = (None, None);
        let ready = self.wait("the backup to take over", |c| {
            if active.is_none() && c.is_active(i) {
                active = Some(c.log.at());
            }
            if active.is_some() && vip.is_none() && c.has_vip(i) {
                vip = Some(c.log.at());
            }
            vip.is_some() && c.table(i) == c.live()
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
    fn table(&self, i: usize) -> Vec<Ipv4Addr> {
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

    fn has_vip(&self, i: usize) -> bool {
        let out = self.topo.directors[i].ns.ip(&["-4", "addr", "show", "dev", "eth0"]);
        out.is_ok_and(|o| o.contains(&format!("inet {}/", addr::VIP)))
    }

    /// Live real servers' addresses.
    fn live(&self) -> Vec<Ipv4Addr> {
        let mut v: Vec<Ipv4Addr> = (0..NAMES.len())
            .filter(|j| self.servers[*j].is_some())
            .map(|j| self.topo.real_server_addr(j))
            .collect();
        v.sort();
        v
    }

    /// Router `i` serves: pulse says active, it holds the VIP and its
    /// table has exactly the live real servers.
    fn ready(&self, i: usize) -> bool {
        !self.dead[i] && self.is_active(i) && self.has_vip(i) && self.table(i) == self.live()
    }

    /// Waits until `pred` holds; returns when it was first seen.
    #[track_caller]
    fn wait(&self, what: &str, mut pred: impl FnMut(&Cluster) -> bool) -> Duration {
        let start = Instant::now();
        loop {
            if pred(self) {
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
    fn stop_server(&mut self, j: usize) {
        self.servers[j] = None;
    }

    /// Router `i` dies: its links go down, then every process in its
    /// namespace (pulse, lvsd, nannies, the sync daemon's owner) is killed.
    /// No running pulse had a loop stall over 50 ms (issue 15's stall
    /// detector; pauses of the whole guest, which its canaries tell, are
    /// counted and printed); each one's worst turn is printed.
    fn assert_no_stalls(&self) {
        for i in (0..2).filter(|&i| !self.dead[i] && self.pulses[i].is_some()) {
            let who = format!("node {} router {i}", self.log.tag);
            if let Err(status) = lvs_tests::pulse::stalls(&self.sockets[i], &who) {
                let log = std::fs::read_to_string(self.log_path(i)).unwrap_or_default();
                let lines: Vec<&str> = log.lines().filter(|l| l.contains("loop stall")).collect();
                panic!(
                    "router {i}: pulse's loop stalled over 50 ms:\n{}\n{status}\n{}",
                    lines.join("\n"),
                    self.logs()
                );
            }
        }
    }

    fn kill_router(&mut self, i: usize) {
        self.assert_no_stalls();
        let ns = &self.topo.directors[i].ns;
        let links = if self.topo.forwarding == Forwarding::Nat {
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
        if let Some(mut child) = self.pulses[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        for pid in pids.split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        self.dead[i] = true;
    }
}

/// iproute2's `ip` (first on `PATH` in the guest).
fn bin_ip() -> String {
    std::env::var("LVS_IP").unwrap_or_else(|_| "ip".into())
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let children = self.pulses.iter_mut().chain(self.nodes.iter_mut());
        for slot in children {
            if let Some(mut c) = slot.take() {
                // SIGTERM: pulse stops lvsd; lvs-node undoes its setup.
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
        }
    }
}

// ---- The scenario ----

/// A stretch of the run in which requests may fail, with why.
struct Window {
    what: &'static str,
    from: Duration,
    to: Duration,
}

impl Window {
    /// Whether the request was in flight during the window: one that
    /// started just before a server was stopped or a router killed, and was
    /// cut off by it, is that event's casualty too.
    fn overlaps(&self, s: &Sample) -> bool {
        s.start <= self.to && s.end >= self.from
    }
}

/// Balancing, real-server removal and router failover with a client
/// making requests all along; returns the client-visible outage of the
/// failover.
fn balance_remove_failover(method: Method, tag: &'static str) -> Duration {
    let mut c = Cluster::new(method, tag);
    let live = c.live();

    // Start: both routers; the primary wins and serves all three servers.
    c.start_pulse(0);
    c.start_pulse(1);
    let up = c.wait("the primary to serve all three real servers, the backup standing by", |c| {
        c.ready(0) && c.is_standby(1)
    });
    c.log.say(&format!(
        "pulse on both routers; primary active, VIP up, lvsd's IPVS table holds {} real servers ({up:.1?} after start)",
        live.len()
    ));
    assert!(!c.is_active(1), "the backup is active too:\n{}", c.logs());

    // Balancing.
    let load = Load::start(&c.topo.client.ns, c.log.t0, PATIENCE);
    let before = load.samples().len();
    while load.samples().len() < before + 30 {
        std::thread::sleep(Duration::from_millis(50));
    }
    let first = load.samples();
    let m = spread(&first[before..]);
    c.log.say(&format!(
        "client: {} requests, answered by {}",
        first.len() - before,
        show_spread(&m)
    ));
    assert_eq!(m.len(), 3, "every real server answers: {m:?}");
    assert!(m.values().all(|n| *n >= 5), "round robin spreads the requests: {m:?}");

    // A real server stops: it leaves the table.
    c.log.say("stopping web3's HTTP server");
    let stop_at = c.log.at();
    c.stop_server(2);
    let gone = c.wait("web3 to leave the table", |c| c.table(0) == c.live());
    c.log.say(&format!(
        "web3 left the IPVS table {:.1?} after it stopped (nanny's HTTP check)",
        gone - stop_at
    ));
    let mark = load.samples().len();
    while load.samples().len() < mark + 20 {
        std::thread::sleep(Duration::from_millis(50));
    }
    let m = spread(&load.samples()[mark..]);
    c.log.say(&format!("client: next 20 requests answered by {}", show_spread(&m)));
    assert!(!m.contains_key("web3") && m.len() == 2, "web3 is out of the rotation: {m:?}");

    // The active router dies: the backup takes over.
    c.log.say("killing the active router (primary): links down, pulse, lvsd and nannies killed");
    let kill_at = c.log.at();
    c.kill_router(0);
    let ready = c.wait_takeover(1, kill_at);
    c.log.say(&format!(
        "backup active: VIP moved, its lvsd's table holds web1 and web2 ({:.1?} after the kill; deadtime {DEADTIME:?})",
        ready - kill_at
    ));
    let mark = load.samples().len();
    while load.samples().len() < mark + 20 {
        std::thread::sleep(Duration::from_millis(50));
    }
    let samples = load.finish();
    let m = spread(&samples[mark..]);
    c.log.say(&format!("client: 20 requests after the takeover answered by {}", show_spread(&m)));
    assert_eq!(m.len(), 2, "web1 and web2 serve again: {m:?}");

    // Every failure falls in a window, and the outage is measured.
    let windows = [
        Window { what: "web3 stopped, not yet out of the table", from: stop_at, to: gone },
        Window { what: "router failover", from: kill_at, to: ready },
    ];
    let failed: Vec<&Sample> = samples.iter().filter(|s| s.result.is_err()).collect();
    let outside: Vec<&&Sample> =
        failed.iter().filter(|s| !windows.iter().any(|w| w.overlaps(s))).collect();
    // The outage the client saw: from the last answer before the first
    // failure of the failover window to the first answer after its last.
    let in_failover: Vec<&&Sample> = failed.iter().filter(|s| windows[1].overlaps(s)).collect();
    let outage = match (in_failover.first(), in_failover.last()) {
        (Some(first), Some(last)) => {
            let before = samples
                .iter()
                .filter(|s| s.result.is_ok() && s.end <= first.start)
                .map(|s| s.end)
                .max()
                .unwrap_or(first.start);
            let after = samples
                .iter()
                .filter(|s| s.result.is_ok() && s.start >= last.end)
                .map(|s| s.end)
                .min()
                .expect("a request succeeded after the failover");
            after - before
        }
        _ => Duration::ZERO,
    };
    let per_window: Vec<String> = windows
        .iter()
        .map(|w| {
            let n = failed.iter().filter(|s| w.overlaps(s)).count();
            format!("{n} in \"{}\" ({:.1?})", w.what, w.to - w.from)
        })
        .collect();
    c.log.say(&format!(
        "timeline: {} requests, {} failed: {}, {} outside any window",
        samples.len(),
        failed.len(),
        per_window.join(", "),
        outside.len()
    ));
    c.log.say(&format!(
        "client-visible outage at failover: {outage:.2?} (last answer before the first failed request to the first answer after the last)"
    ));
    let slow: Vec<String> = samples
        .iter()
        .filter(|s| s.result.is_ok() && s.end - s.start > SLOW)
        .map(|s| format!("{:.1?} at {:.1?}", s.end - s.start, s.start))
        .collect();
    c.log.say(&format!(
        "{} answered requests took over {SLOW:?}{}{}",
        slow.len(),
        if slow.is_empty() { "" } else { ": " },
        slow.join(", ")
    ));
    assert!(
        outside.is_empty(),
        "requests failed outside the windows: {outside:#?}\n{}\n{}",
        c.ipvs_state(1),
        c.logs()
    );
    assert!(outage < LONG, "outage {outage:?}");
    c.assert_no_stalls();

    // lvs-node stops on every real server: each is back as it was found.
    c.stop_nodes();
    outage
}

#[test]
fn dr_cluster_set_up_by_lvs_node_balances_removes_and_fails_over() {
    let _one = serial();
    balance_remove_failover(Method::Direct, "node-dr");
}

#[test]
fn tun_cluster_set_up_by_lvs_node_balances_removes_and_fails_over() {
    let _one = serial();
    balance_remove_failover(Method::Tunnel, "node-tun");
}
