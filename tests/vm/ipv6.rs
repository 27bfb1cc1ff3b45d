//! IPv6 end to end, through the guest kernel's IPVS: LVS-DR and LVS-NAT
//! clusters whose VIP, real servers and router heartbeats are all IPv6
//! (the testbed's dual-stack topology, IPv4 unused). Two routers run
//! `pulse` (lvsd, nannies) with routers listed by their IPv6 addresses only,
//! so the heartbeats go over IPv6; the real servers are set up only by
//! `lvs-node` (DR: the VIP on `lo`, which neighbour discovery never answers
//! for on `eth0`; NAT: the default route via the floating `nat_router`). A client in its own namespace checks balancing, the removal
//! of a stopped real server and router failover, and an `AF_PACKET` socket
//! there records every Neighbour Advertisement for the VIP: the new active
//! router's unsolicited ones must be on the wire after the takeover, and no
//! real server may ever advertise the VIP.
//!
//! Run with `cargo xtask vm-test --suite ipv6`.

// A test file: a failed unwrap is a failed test, with its place.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::net::{Ipv6Addr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ipvs::Client;
use lvs_net::frame::NeighborAdvertFrame;
use lvs_net::MacAddr;
use lvs_tests::cluster;
use testbed::{addr::v6, Forwarding, Netns, TcpServer, Topology, TopologyBuilder};

/// Real servers, in order.
const NAMES: [&str; 2] = ["web1", "web2"];
/// Bound for anything the cluster does on its own, generous for a loaded
/// software-emulated guest; figures are printed.
const LONG: Duration = Duration::from_secs(60);

fn bin(name: &str) -> String {
    let dir = std::env::var("LVS_BIN_DIR").expect("LVS_BIN_DIR is set in the test guest");
    format!("{dir}/{name}")
}

fn say(t0: Instant, what: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "[ipv6] {:>7.2}s  {what}", t0.elapsed().as_secs_f64());
    let _ = out.flush();
}

fn config(key: &std::path::Path, method: Forwarding) -> String {
    let rs: String = NAMES
        .iter()
        .enumerate()
        .map(|(j, n)| format!("      - {{ name: {n}, address: {} }}\n", v6::real_server(method, j)))
        .collect();
    let network = match method {
        Forwarding::DirectRouting => "network: direct\n".to_owned(),
        Forwarding::Nat => format!(
            "network: nat\nnat_router: {{ address: {}, interface: eth1, netmask: {} }}\n",
            v6::NAT_GATEWAY,
            v6::PREFIX
        ),
    };
    format!(
        "service: lvs\n\
         routers:\n  primary: {{ address: {} }}\n  backup: {{ address: {} }}\n\
         backup_active: true\n\
         heartbeat: {{ keepalive: 200ms, deadtime: 2s, protocol: native, auth_key_file: {} }}\n\
         arp: {{ count: 3, interval: 200ms }}\n\
         {network}\
         virtual_services:\n  - name: web6\n    vip: {{ address: {}, interface: eth0, netmask: {} }}\n    \
         port: 80\n    scheduler: rr\n    check: {{ type: http, interval: 1, timeout: 1, reentry: 2 }}\n    \
         real_servers:\n{rs}\
         paths: {{ lvsd: {}, nanny: {}, send_arp: {} }}\n",
        v6::director_public(0),
        v6::director_public(1),
        key.display(),
        v6::VIP,
        v6::PREFIX,
        bin("lvsd"),
        bin("nanny"),
        bin("send_arp"),
    )
}

/// Every Neighbour Advertisement for the VIP the client's interface
/// receives: (when, sender MAC, unsolicited).
struct NaCapture {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<(Instant, MacAddr, bool)>>>,
    thread: Option<JoinHandle<()>>,
}

impl NaCapture {
    fn start(client: &Netns) -> NaCapture {
        let cap = client
            .enter(|| {
                let link = lvs_net::Rtnl::open().unwrap().link("eth0").unwrap();
                lvs_net::packet::PacketCapture::open(link.index, "eth0").unwrap()
            })
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (flag, out) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let Ok(Some(frame)) = cap.recv(Duration::from_millis(50)) else { continue };
                if let Ok(na) = NeighborAdvertFrame::decode(&frame) {
                    if na.target == v6::VIP {
                        out.lock().unwrap().push((Instant::now(), na.eth.src, !na.solicited));
                    }
                }
            }
        });
        NaCapture { stop, seen, thread: Some(thread) }
    }

    fn seen(&self) -> Vec<(Instant, MacAddr, bool)> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for NaCapture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn mac(ns: &Netns) -> MacAddr {
    ns.enter(|| lvs_net::Rtnl::open().unwrap().link("eth0").unwrap().mac.unwrap()).unwrap()
}

/// IPv6 addresses and the link list of a real server, as text.
fn snapshot(ns: &Netns) -> String {
    let s = ns.ip(&["-6", "-o", "addr", "show"]).unwrap().replace(" tentative", "");
    s + &ns.ip(&["-o", "link", "show"]).unwrap()
        + &ns.ip(&["-6", "route", "show", "default"]).unwrap()
}

struct Cluster {
    topo: Topology,
    dir: PathBuf,
    config: PathBuf,
    servers: Vec<Option<TcpServer>>,
    nodes: Vec<Option<Child>>,
    pulses: Vec<Option<Child>>,
    t0: Instant,
}

impl Cluster {
    fn socket(&self, i: usize) -> PathBuf {
        self.dir.join(format!("pulse{i}.sock"))
    }

    fn status(&self, i: usize) -> Option<String> {
        cluster::status(&self.socket(i))
    }

    fn is_active(&self, i: usize) -> bool {
        let me = format!("{{\"router\":\"{}\",\"role\":\"active\",", ["primary", "backup"][i]);
        self.status(i).is_some_and(|s| s.starts_with(&me))
    }

    fn has_vip(&self, i: usize) -> bool {
        let out = self.topo.directors[i].ns.ip(&["-6", "addr", "show", "dev", "eth0"]);
        out.is_ok_and(|o| o.contains(&format!("inet6 {}/", v6::VIP)))
    }

    /// Real servers in router `i`'s table for the VIP's port 80, weight > 0.
    fn table(&self, i: usize) -> Vec<Ipv6Addr> {
        let t = self.topo.directors[i].ns.enter(|| Client::connect().and_then(|mut c| c.table()));
        let Ok(Ok(t)) = t else { return Vec::new() };
        let key = format!("TCP [{}]:80", v6::VIP);
        let mut out: Vec<Ipv6Addr> = t
            .into_iter()
            .filter(|(s, _)| s.key.to_string() == key)
            .flat_map(|(_, d)| d)
            .filter(|d| d.weight > 0)
            .filter_map(|d| match d.addr {
                std::net::IpAddr::V6(a) => Some(a),
                std::net::IpAddr::V4(_) => None,
            })
            .collect();
        out.sort();
        out
    }

    fn live(&self) -> Vec<Ipv6Addr> {
        let method = self.topo.forwarding;
        let mut v: Vec<Ipv6Addr> = (0..NAMES.len())
            .filter(|j| self.servers[*j].is_some())
            .map(|j| v6::real_server(method, j))
            .collect();
        v.sort();
        v
    }

    fn serves(&self, i: usize) -> bool {
        self.is_active(i) && self.has_vip(i) && self.table(i) == self.live()
    }

    fn logs(&self) -> String {
        let mut out = String::new();
        for name in ["router0", "router1", "node0", "node1"] {
            let text = std::fs::read_to_string(self.dir.join(format!("{name}.log")));
            out.push_str(&format!("---- {name} ----\n{}\n", text.unwrap_or_default()));
        }
        out
    }

    #[track_caller]
    fn wait(&self, what: &str, pred: impl Fn(&Cluster) -> bool) -> Duration {
        let start = Instant::now();
        while !pred(self) {
            if start.elapsed() > LONG {
                let st: Vec<Option<String>> = (0..2).map(|i| self.status(i)).collect();
                panic!(
                    "timed out waiting for {what}; status {st:?}; tables {:?} {:?}\n{}",
                    self.table(0),
                    self.table(1),
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        start.elapsed()
    }

    /// `n` requests from the client to the VIP; answers by server.
    fn requests(&self, n: usize) -> BTreeMap<String, usize> {
        let vip = SocketAddr::from((v6::VIP, 80));
        let mut m = BTreeMap::new();
        for _ in 0..n {
            let r = self.topo.client.ns.http_get(vip).unwrap_or_else(|e| format!("error: {e}"));
            *m.entry(r).or_insert(0) += 1;
        }
        m
    }

    fn start_pulse(&mut self, i: usize) {
        let log = self.dir.join(format!("router{i}.log"));
        let ns = &self.topo.directors[i].ns;
        self.pulses[i] = Some(cluster::start_pulse(ns, &self.config, &self.socket(i), &log));
    }

    /// No running pulse had a loop stall over 50 ms (issue 15's stall
    /// detector; pauses of the whole guest, which its canaries tell, are
    /// counted and printed); each one's worst turn is printed.
    fn assert_no_stalls(&self, tag: &str) {
        for i in (0..2).filter(|&i| self.pulses[i].is_some()) {
            let who = format!("ipv6 {tag} router {i}");
            if let Err(status) = lvs_tests::pulse::stalls(&self.socket(i), &who) {
                let log = std::fs::read_to_string(self.dir.join(format!("router{i}.log")));
                lvs_tests::pulse::print_long_turns(&who, &log.unwrap_or_default());
                panic!("router {i}: pulse's loop stalled over 50 ms:\n{status}\n{}", self.logs());
            }
        }
    }

    /// Router `i` dies: its link goes down, then everything in its
    /// namespace is killed.
    fn kill_router(&mut self, i: usize) {
        let pulse = self.pulses[i].take();
        cluster::kill_router(&self.topo, i, pulse);
    }

    fn stop_nodes(&mut self) {
        for (j, slot) in self.nodes.iter_mut().enumerate() {
            if let Some(child) = slot.take() {
                cluster::stop_node(child, j);
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for slot in self.pulses.iter_mut().chain(self.nodes.iter_mut()) {
            if let Some(c) = slot.take() {
                cluster::terminate(c);
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn ipv6_dr_cluster_balances_removes_and_fails_over_with_unsolicited_nas() {
    scenario(Forwarding::DirectRouting, "dr");
}

#[test]
fn ipv6_nat_cluster_balances_removes_and_fails_over_with_unsolicited_nas() {
    scenario(Forwarding::Nat, "nat");
}

/// One cluster at a time: under software emulation two would measure the
/// emulator.
static SERIAL: Mutex<()> = Mutex::new(());

fn scenario(method: Forwarding, tag: &str) {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let t0 = Instant::now();
    let topo = TopologyBuilder::new(method)
        .directors(2)
        .real_servers(NAMES.len())
        .active(None)
        .bare_real_servers()
        .ipv6()
        .build()
        .unwrap();
    let dir = PathBuf::from(format!("/tmp/ipv6-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("heartbeat.key");
    std::fs::write(&key, b"end-to-end test key, 32 bytes!!!").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = dir.join("lvs.yaml");
    std::fs::write(&config, self::config(&key, method)).unwrap();
    let found: Vec<String> = topo.real_servers.iter().map(|h| snapshot(&h.ns)).collect();
    let any = SocketAddr::from((Ipv6Addr::UNSPECIFIED, 80));
    let servers = NAMES
        .iter()
        .zip(&topo.real_servers)
        .map(|(n, h)| Some(TcpServer::http(&h.ns, any, n).unwrap()))
        .collect();
    let mut c =
        Cluster { topo, dir, config, servers, nodes: Vec::new(), pulses: vec![None, None], t0 };

    // lvs-node puts the VIP on each real server's lo.
    for (j, host) in c.topo.real_servers.iter().enumerate() {
        let log = File::create(c.dir.join(format!("node{j}.log"))).unwrap();
        let child = host
            .ns
            .command(bin("lvs-node"))
            .arg("-c")
            .arg(&c.config)
            .arg(format!("--state={}", c.dir.join(format!("node{j}.journal")).display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        c.nodes.push(Some(child));
    }
    c.wait("lvs-node to set up the real servers", |c| {
        c.topo.real_servers.iter().all(|h| match method {
            Forwarding::DirectRouting => {
                h.ns.ip(&["-6", "-o", "addr", "show", "dev", "lo"])
                    .unwrap_or_default()
                    .contains(&format!("inet6 {}/128", v6::VIP))
            }
            Forwarding::Nat => {
                h.ns.ip(&["-6", "route", "show", "default"])
                    .unwrap_or_default()
                    .contains(&format!("via {}", v6::NAT_GATEWAY))
            }
        })
    });
    say(c.t0, &format!("{tag}: lvs-node set up both real servers"));
    let rs_macs: Vec<MacAddr> = c.topo.real_servers.iter().map(|h| mac(&h.ns)).collect();
    let backup_mac = mac(&c.topo.directors[1].ns);
    let nas = NaCapture::start(&c.topo.client.ns);

    c.start_pulse(0);
    c.start_pulse(1);
    let took = c.wait("the primary to serve", |c| c.serves(0));
    say(c.t0, &format!("primary active with both real servers in {took:.1?}"));
    // Heartbeats over IPv6 (the routers have no other address in the
    // configuration): each pulse hears the other.
    c.wait("each router to hear the other", |c| {
        (0..2).all(|i| c.status(i).is_some_and(|s| s.contains("\"alive\":true")))
    });
    assert!(!c.is_active(1), "exactly one active router");

    let spread = c.requests(20);
    say(c.t0, &format!("balancing: {spread:?}"));
    assert_eq!(spread.get("web1"), Some(&10), "{spread:?}");
    assert_eq!(spread.get("web2"), Some(&10), "{spread:?}");

    // Removal: web2 stops answering; its nanny takes it out.
    c.servers[1] = None;
    let took = c.wait("web2 to leave the table", |c| c.table(0) == c.live());
    say(c.t0, &format!("web2 removed in {took:.1?}"));
    let spread = c.requests(10);
    assert_eq!(spread, BTreeMap::from([("web1".to_owned(), 10)]), "{spread:?}");

    // Failover: the primary dies; the backup takes over and announces the
    // VIP with unsolicited Neighbour Advertisements.
    let killed = Instant::now();
    c.assert_no_stalls(tag);
    c.kill_router(0);
    let took = c.wait("the backup to serve", |c| c.serves(1));
    say(c.t0, &format!("backup active, VIP up, table complete {took:.1?} after the kill"));
    let took = c.wait("the client to reach the VIP again", |c| {
        c.topo.client.ns.http_get(SocketAddr::from((v6::VIP, 80))).is_ok_and(|b| b == "web1")
    });
    say(c.t0, &format!("client served through the backup {took:.1?} later"));
    let from_backup = |seen: &[(Instant, MacAddr, bool)]| -> Vec<Duration> {
        seen.iter()
            .filter(|(t, m, u)| *t >= killed && *m == backup_mac && *u)
            .map(|(t, _, _)| *t - killed)
            .collect()
    };
    // The burst (count: 3, every 200 ms) may still be going on.
    c.wait("the backup's burst of NAs", |_| from_backup(&nas.seen()).len() >= 3);
    let seen = nas.seen();
    let unsolicited = from_backup(&seen);
    say(
        c.t0,
        &format!("unsolicited NAs for the VIP from the backup, after the kill: {unsolicited:.2?}"),
    );
    assert!(unsolicited.len() >= 3, "the backup's burst of NAs (count: 3): {seen:?}\n{}", c.logs());
    assert!(
        !seen.iter().any(|(_, m, _)| rs_macs.contains(m)),
        "a real server advertised the VIP: {seen:?}"
    );

    c.assert_no_stalls(tag);

    // lvs-node stopped: the real servers are as they were found.
    c.stop_nodes();
    for (j, host) in c.topo.real_servers.iter().enumerate() {
        assert_eq!(snapshot(&host.ns), found[j], "real server {j} after lvs-node stopped");
    }
    say(c.t0, "lvs-node stopped: both real servers as found");
}
