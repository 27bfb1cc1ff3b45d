//! In-guest suite of the checks through the data path (`check: { via: vip
//! }`, issue 22) and of what lvsd sets for active-active routers
//! (`ipvs_sloppy`, `sync_daemon: { both: true }`), against the real
//! kernel: an LVS-DR cluster whose director holds the VIP, as the active
//! router does; a real server that loses the VIP on its loopback is taken
//! out by the check through the VIP while the plain check of the same
//! server still finds it up, and comes back when the VIP does; lvsd's
//! private firewall-mark services are in the kernel table while it runs
//! and gone when it stops, with services that are not lvsd's left alone.
//!
//! Run with `cargo xtask vm-test --suite datapath`.

// Helpers of a test file: a failed unwrap is a failed test, with its place.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use ipvs::{Client, Family, Service, ServiceKey};
use testbed::{addr, Forwarding, Netns, TcpServer, Topology, TopologyBuilder};

fn bin(name: &str) -> String {
    let dir = std::env::var("LVS_BIN_DIR").expect("LVS_BIN_DIR is set in the test guest");
    format!("{dir}/{name}")
}

/// The first mark of `lvs_config::DATAPATH_MARKS`.
const FIRST_MARK: u32 = 0x4c56_0000;
/// The service checked through the VIP, and the same servers checked plainly.
const WEB: &str = "TCP 192.0.2.10:80";
const PLAIN: &str = "TCP 192.0.2.10:81";

/// The real servers of each service in the kernel, as `service -> [addr:port]`.
fn table(ns: &Netns) -> Vec<(String, Vec<String>)> {
    let t = ns.enter(|| Client::connect().and_then(|mut c| c.table())).unwrap().unwrap();
    t.into_iter()
        .map(|(s, d)| {
            let mut d: Vec<String> = d.iter().map(|d| format!("{}:{}", d.addr, d.port)).collect();
            d.sort();
            (s.key.to_string(), d)
        })
        .collect()
}

fn servers(ns: &Netns, svc: &str) -> Vec<String> {
    table(ns).into_iter().find(|(k, _)| k == svc).map(|(_, d)| d).unwrap_or_default()
}

/// Polls `f` every 20 ms until it is true; the time it took, or a failure
/// after `limit`.
#[track_caller]
fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if f() {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A DR cluster: director 0 holds the VIP, two real servers hold it on
/// their loopback and serve HTTP on port 80 of every address.
struct Cluster {
    topo: Topology,
    _web: Vec<TcpServer>,
    dir: std::path::PathBuf,
}

impl Cluster {
    fn new(tag: &str) -> Cluster {
        let topo = TopologyBuilder::new(Forwarding::DirectRouting).real_servers(2).build().unwrap();
        let web = topo
            .real_servers
            .iter()
            .enumerate()
            .map(|(j, h)| {
                let any: SocketAddr = "0.0.0.0:80".parse().unwrap();
                TcpServer::http(&h.ns, any, &format!("rs{j}\n")).unwrap()
            })
            .collect();
        let dir = std::path::PathBuf::from(format!("/tmp/datapath-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Cluster { topo, _web: web, dir }
    }

    fn director(&self) -> &Netns {
        &self.topo.directors[0].ns
    }

    fn rs(&self, j: usize) -> String {
        format!("{}:80", self.topo.real_server_addr(j))
    }

    /// Writes the configuration: `web` on port 80 checked with `web_check`,
    /// `plain` on port 81 checked at the servers' own address, both over
    /// the same two real servers (port 80), by direct routing.
    fn config(&self, web_check: &str, extra: &str) -> String {
        let rs = (0..2)
            .map(|j| {
                format!(
                    "      - {{ name: rs{j}, address: {}, port: 80 }}",
                    self.topo.real_server_addr(j)
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        let text = [
            "routers:".to_owned(),
            format!("  primary: {{ address: {} }}", addr::director_public(0)),
            "heartbeat: { protocol: piranha }".to_owned(),
            "network: direct".to_owned(),
            format!(
                "paths: {{ nanny: {}, overrides: {}/overrides }}",
                bin("nanny"),
                self.dir.display()
            ),
            extra.to_owned(),
            "virtual_services:".to_owned(),
            "  - name: web".to_owned(),
            format!("    vip: {{ address: {}, interface: eth0 }}", addr::VIP),
            "    port: 80".to_owned(),
            "    scheduler: rr".to_owned(),
            format!("    check: {web_check}"),
            "    real_servers:".to_owned(),
            rs.clone(),
            "  - name: plain".to_owned(),
            format!("    vip: {{ address: {}, interface: eth0 }}", addr::VIP),
            "    port: 81".to_owned(),
            "    scheduler: rr".to_owned(),
            "    check: { type: http, interval: 1, timeout: 1, reentry: 1 }".to_owned(),
            "    real_servers:".to_owned(),
            rs,
            String::new(),
        ]
        .join("\n");
        let path = self.dir.join("lvs.yaml");
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const VIA_VIP: &str = "{ type: http, via: vip, interval: 1, timeout: 1, reentry: 1 }";

/// lvsd in the foreground in the director's namespace, its log echoed.
struct Lvsd(Child);

impl Lvsd {
    fn start(ns: &Netns, config: &str) -> Lvsd {
        let mut child = ns
            .command(bin("lvsd"))
            .args(["-n", "-c", config])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                eprintln!("lvsd| {line}");
            }
        });
        Lvsd(child)
    }

    fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.0.id() as i32), sig).unwrap();
    }

    fn stop(mut self) {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        let start = Instant::now();
        while self.0.try_wait().unwrap().is_none() {
            assert!(start.elapsed() < Duration::from_secs(15), "lvsd did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Lvsd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Prints a measured figure on the console, past libtest's capture.
fn figure(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "datapath: {text}");
    let _ = out.flush();
}

fn sysctl(ns: &Netns, path: &str) -> String {
    ns.run("cat", &[path]).unwrap().trim().to_owned()
}

fn ipvsadm(ns: &Netns, args: &[&str]) -> String {
    let reference = testbed::guest::ref_ipvsadm().unwrap();
    ns.run(reference.to_str().unwrap(), args).unwrap()
}

/// The heart of it: a real server without the VIP on its loopback is down
/// through the data path and up at its own address, and back when the VIP
/// is; the private services are in the kernel (one per real server, with
/// only that server) and leave with lvsd, which leaves a service it does
/// not own alone.
#[test]
fn a_real_server_without_the_vip_is_down_through_the_vip_and_up_at_its_address() {
    let c = Cluster::new("vip");
    let d = c.director();
    let foreign = ServiceKey::fwmark(Family::Inet, 5);
    d.enter(|| Client::connect().and_then(|mut k| k.add_service(&Service::new(foreign))))
        .unwrap()
        .unwrap();
    let lvsd = Lvsd::start(d, &c.config(VIA_VIP, ""));
    let both = vec![c.rs(0), c.rs(1)];
    wait_until("both servers in both services", Duration::from_secs(20), || {
        servers(d, WEB) == both && servers(d, PLAIN) == both
    });
    // The answers come from the VIP, which this director holds.
    assert_eq!(sysctl(d, "/proc/sys/net/ipv4/conf/all/accept_local"), "1");
    let listing = ipvsadm(d, &["-L", "-n"]);
    eprintln!("{listing}");
    for (j, mark) in [(0, FIRST_MARK), (1, FIRST_MARK + 1)] {
        let key = format!("FWM {mark}");
        assert_eq!(servers(d, &key), vec![c.rs(j)], "{listing}");
        assert!(listing.contains(&format!("FWM  {mark} rr")), "{listing}");
    }

    let rs0 = &c.topo.real_servers[0].ns;
    rs0.ip(&["addr", "del", &format!("{}/32", addr::VIP), "dev", "lo"]).unwrap();
    let down = wait_until("rs0 out of `web`", Duration::from_secs(10), || {
        servers(d, WEB) == vec![c.rs(1)]
    });
    figure(&format!("time to down through the VIP {:.2} s", down.as_secs_f64()));
    // Two more checks of the plain nanny: still up at its own address.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(servers(d, PLAIN), both, "the plain check still finds rs0 up");
    assert_eq!(servers(d, WEB), vec![c.rs(1)]);
    assert_eq!(servers(d, &format!("FWM {FIRST_MARK}")), vec![c.rs(0)], "the probe's way stays");

    rs0.ip(&["addr", "add", &format!("{}/32", addr::VIP), "dev", "lo"]).unwrap();
    let up = wait_until("rs0 back in `web`", Duration::from_secs(10), || servers(d, WEB) == both);
    figure(&format!("time to up through the VIP {:.2} s", up.as_secs_f64()));

    lvsd.stop();
    let left: Vec<String> = table(d).into_iter().map(|(k, _)| k).collect();
    assert_eq!(left, vec![foreign.to_string()], "lvsd's services gone, the foreign one kept");
}

/// The plain check alone (the default `via: server`) keeps a server that
/// lost the VIP: what the data path check is for. And a reload that drops
/// `via: vip` removes the private services while lvsd runs.
#[test]
fn the_plain_check_misses_it_and_a_reload_drops_the_private_services() {
    let c = Cluster::new("plain");
    let d = c.director();
    let config = c.config(VIA_VIP, "");
    let lvsd = Lvsd::start(d, &config);
    let both = vec![c.rs(0), c.rs(1)];
    wait_until("both servers in", Duration::from_secs(20), || servers(d, WEB) == both);
    assert_eq!(servers(d, &format!("FWM {}", FIRST_MARK + 1)), vec![c.rs(1)]);
    c.config("{ type: http, interval: 1, timeout: 1, reentry: 1 }", "");
    lvsd.signal(nix::sys::signal::Signal::SIGHUP);
    wait_until("the private services gone", Duration::from_secs(10), || {
        table(d).iter().all(|(k, _)| !k.starts_with("FWM"))
    });
    let rs1 = &c.topo.real_servers[1].ns;
    rs1.ip(&["addr", "del", &format!("{}/32", addr::VIP), "dev", "lo"]).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(servers(d, WEB), both, "checked at its address, rs1 stays in");
    lvsd.stop();
    assert!(table(d).is_empty());
}

/// `ipvs_sloppy` and `sync_daemon: { both: true }`: lvsd sets the sysctls
/// and runs the sync daemon as master and backup at once, and stops both
/// daemons when it stops.
#[test]
fn sloppy_tracking_and_the_sync_daemon_both_ways() {
    let c = Cluster::new("sloppy");
    let d = c.director();
    for f in ["sloppy_tcp", "sloppy_sctp"] {
        // lvsd opens IPVS, which loads the module that makes these.
        let path = format!("/proc/sys/net/ipv4/vs/{f}");
        if std::path::Path::new(&path).exists() {
            assert_eq!(sysctl(d, &path), "0", "{f} is off before lvsd");
        }
    }
    let extra = "ipvs_sloppy: { tcp: true, sctp: true }\nsync_daemon: { interface: eth0, sync_id: 7, both: true }";
    let lvsd = Lvsd::start(d, &c.config("{ type: http, interval: 1 }", extra));
    wait_until("sloppy_tcp on", Duration::from_secs(10), || {
        sysctl(d, "/proc/sys/net/ipv4/vs/sloppy_tcp") == "1"
    });
    assert_eq!(sysctl(d, "/proc/sys/net/ipv4/vs/sloppy_sctp"), "1");
    let daemons = ipvsadm(d, &["--list", "--daemon"]);
    eprintln!("{daemons}");
    assert!(daemons.contains("master sync daemon (mcast=eth0, syncid=7"), "{daemons}");
    assert!(daemons.contains("backup sync daemon (mcast=eth0, syncid=7"), "{daemons}");
    assert_eq!(sysctl(d, "/proc/sys/net/ipv4/conf/all/accept_local"), "0", "no check via the VIP");
    lvsd.stop();
    let daemons = ipvsadm(d, &["--list", "--daemon"]);
    assert!(!daemons.contains("sync daemon"), "{daemons}");
}

/// lvsd refuses `via: vip` on a NAT service, pointing at the key.
#[test]
fn via_vip_with_nat_is_refused_with_its_position() {
    let c = Cluster::new("nat");
    let path = c.config(VIA_VIP, "");
    let text = std::fs::read_to_string(&path).unwrap().replace("network: direct", "network: nat");
    std::fs::write(&path, text).unwrap();
    let out = c.director().command(bin("lvsd")).args(["-t", "-c", &path]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("{path}:12:31: error: `via: vip` checks through the data path of direct routing and tunnel services only")),
        "{err}"
    );
}
