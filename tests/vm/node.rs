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
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use lvs_tests::cluster::{stop_node, terminate, Pair, LONG};
use lvs_tests::traffic::{
    account, serial, show_spread, spread, Dir, Load, Patience, Timeline, Window,
};
use testbed::{addr, Forwarding, Netns, TopologyBuilder};

/// The DR sample, as shipped.
const DR_CONFIG: &str = include_str!("../../etc/demo-dr.yaml");
/// Where the samples expect the heartbeat key.
const KEY_PATH: &str = "/etc/lvs-router/heartbeat.key";
/// Real servers of the samples, in order.
const NAMES: [&str; 3] = ["web1", "web2", "web3"];
/// The samples' heartbeat deadtime.
const DEADTIME: Duration = Duration::from_secs(2);
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

/// Two routers, three bare real servers set up by `lvs-node`, a client:
/// the pair of `vm_e2e` (`lvs_tests::cluster`) and the `lvs-node`s.
struct Cluster {
    pair: Pair,
    method: Method,
    /// `lvs-node` per real server.
    nodes: Vec<Option<Child>>,
    /// Each real server as built, before `lvs-node` ran.
    found: Vec<String>,
}

impl Deref for Cluster {
    type Target = Pair;
    fn deref(&self) -> &Pair {
        &self.pair
    }
}

impl DerefMut for Cluster {
    fn deref_mut(&mut self) -> &mut Pair {
        &mut self.pair
    }
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
        let found = topo.real_servers.iter().map(|h| snapshot(&h.ns)).collect();
        let config = |key: &Path| runnable_config(method, key);
        let pair = Pair::new(topo, dir, "node", config, &NAMES, log);
        let mut c = Cluster { pair, method, nodes: Vec::new(), found };
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
        let pair = &self.pair;
        for (j, host) in pair.topo.real_servers.iter().enumerate() {
            let log = File::create(pair.dir.0.join(format!("node{j}.log"))).unwrap();
            let child = host
                .ns
                .command(bin("lvs-node"))
                .arg("-c")
                .arg(&pair.config)
                // One journal per real server (they share the guest's /run).
                .arg(format!("--state={}", pair.dir.0.join(format!("node{j}.journal")).display()))
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
            if let Some(child) = slot.take() {
                stop_node(child, j);
            }
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

    /// Waits until `pred` holds; returns when it was first seen.
    #[track_caller]
    fn wait(&self, what: &str, mut pred: impl FnMut(&Cluster) -> bool) -> Duration {
        self.pair.wait_until(what, || pred(self))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // SIGTERM: pulse stops lvsd; lvs-node undoes its setup.
        self.pair.stop_pulses();
        for slot in &mut self.nodes {
            if let Some(c) = slot.take() {
                terminate(c);
            }
        }
    }
}

// ---- The scenario ----

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
    let (outside, outage) = account(&c.log, &samples, &windows, SLOW);
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
