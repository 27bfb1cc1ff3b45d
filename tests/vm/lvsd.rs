//! In-guest suite of lvsd against the real kernel: lvsd runs in a
//! director namespace of a testbed topology (LVS-NAT), real nannies check
//! real servers in their own namespaces, and the tests watch the kernel's
//! IPVS table: servers leave and return, the sorry server comes and goes,
//! a reload touches only what changed (a long-lived connection survives
//! it), dead and stopped nannies are replaced without the table moving, a
//! bad configuration on SIGHUP changes nothing, and a restarted lvsd
//! adopts the running table.
//!
//! Run with `cargo xtask vm-test --suite lvsd`.

// Helpers of a test file: a failed unwrap is a failed test, with its place.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ipvs::Client;
use lvs_tests::nlmon;
use lvs_tests::table::{view, wait_for, View};
use lvs_tests::traffic::echo_server;
use testbed::{addr, Forwarding, Netns, TcpServer, Topology, TopologyBuilder};

fn bin(name: &str) -> String {
    let dir = std::env::var("LVS_BIN_DIR").expect("LVS_BIN_DIR is set in the test guest");
    format!("{dir}/{name}")
}

fn servers(v: &View, svc: &str) -> Vec<String> {
    v.get(svc).map(|d| d.iter().map(|(a, _)| a.clone()).collect()).unwrap_or_default()
}

const WEB: &str = "TCP 192.0.2.10:80";
const ECHO: &str = "TCP 192.0.2.10:9000";
const SORRY: &str = "10.0.0.250:80";

/// A running lvsd and its log (stderr, `-n`), line by line.
struct Lvsd {
    child: Child,
    lines: Receiver<String>,
    log: Arc<Mutex<Vec<String>>>,
}

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
        let (tx, rx) = channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let keep = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                eprintln!("lvsd| {line}");
                keep.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        Lvsd { child, lines: rx, log }
    }

    /// Waits for a log line containing `text`, and returns it.
    #[track_caller]
    fn expect(&self, text: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(text) => return l,
                Ok(_) => {}
                Err(_) => panic!("no log line with {text:?} within {limit:?}"),
            }
        }
    }

    fn count(&self, text: &str) -> usize {
        self.log.lock().unwrap().iter().filter(|l| l.contains(text)).count()
    }

    fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), sig).unwrap();
    }

    /// The nanny processes (children of lvsd), by pid.
    fn nannies(&self) -> BTreeSet<u32> {
        children(self.child.id())
    }

    fn stop(mut self) -> std::process::ExitStatus {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(start.elapsed() < Duration::from_secs(15), "lvsd did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Lvsd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Pids whose parent is `parent` (from /proc/*/stat).
fn children(parent: u32) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // pid (comm) state ppid ...
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
        let ppid = rest.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) {
            out.insert(pid);
        }
    }
    out
}

fn state_of(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')').and_then(|(_, r)| r.trim().chars().next()).unwrap_or('?')
}

/// A NAT topology with two real servers, the VIP on director 0, and one
/// HTTP server per real server (on port 80) that tests can stop and start.
struct Farm {
    topo: Topology,
    web: Vec<Option<TcpServer>>,
    dir: tempdir::Dir,
}

mod tempdir {
    /// A scratch directory under /tmp, removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new(tag: &str) -> Dir {
            let p = std::path::PathBuf::from(format!("/tmp/lvsd-vm-{}-{tag}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Farm {
    fn new(tag: &str) -> Farm {
        let topo = TopologyBuilder::new(Forwarding::Nat).real_servers(2).build().unwrap();
        topo.directors[0].ns.sysctl("net.ipv4.ip_forward", "1").unwrap();
        let mut f = Farm { topo, web: vec![None, None], dir: tempdir::Dir::new(tag) };
        f.up(0);
        f.up(1);
        f
    }

    fn director(&self) -> &Netns {
        &self.topo.directors[0].ns
    }

    fn rs(&self, j: usize) -> String {
        format!("{}:80", self.topo.real_server_addr(j))
    }

    fn up(&mut self, j: usize) {
        let ns = &self.topo.real_servers[j].ns;
        let any = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 80));
        self.web[j] = Some(TcpServer::http(ns, any, &format!("rs{j}")).unwrap());
    }

    fn down(&mut self, j: usize) {
        self.web[j] = None;
    }

    fn write_config(&self, name: &str, text: &str) -> String {
        let p = self.dir.0.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }
}

/// A YAML configuration: the web service (HTTP checks every second,
/// 2 s re-entry, a sorry server) plus `extra` services.
fn config(web_scheduler: &str, rs1_weight: u32, extra: &str) -> String {
    format!(
        "\
service: lvs
routers:
  primary:
    address: 192.0.2.1
heartbeat: {{ protocol: piranha }}
network: nat
hard_shutdown: false
paths:
  nanny: {nanny}
virtual_services:
  - name: web
    vip: {{ address: {vip}, interface: eth0 }}
    port: 80
    scheduler: {web_scheduler}
    sorry_server: 10.0.0.250
    check: {{ type: http, interval: 1, timeout: 1, reentry: 2 }}
    real_servers:
      - {{ name: rs0, address: {rs0} }}
      - {{ name: rs1, address: {rs1}, weight: {rs1_weight} }}
{extra}",
        nanny = bin("nanny"),
        vip = addr::VIP,
        rs0 = addr::real_server(Forwarding::Nat, 0),
        rs1 = addr::real_server(Forwarding::Nat, 1),
    )
}

fn echo_service() -> String {
    // (No `\` line continuation here: it would eat the leading spaces.)
    format!(
        "  - name: echo
    vip: {{ address: {vip}, interface: eth0 }}
    port: 9000
    scheduler: rr
    check: {{ type: connect, interval: 1, timeout: 1, reentry: 2 }}
    real_servers:
      - {{ name: rs0, address: {rs0} }}
",
        vip = addr::VIP,
        rs0 = addr::real_server(Forwarding::Nat, 0),
    )
}

const LONG: Duration = Duration::from_secs(30);

fn wait_servers(ns: &Netns, svc: &str, want: &[&str]) -> View {
    let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    wait_for(&format!("{svc} to hold {want:?}"), LONG, || {
        let v = view(ns);
        (servers(&v, svc) == want).then_some(v)
    })
}

#[test]
fn table_follows_real_servers_and_the_sorry_server() {
    let mut farm = Farm::new("follow");
    let cfg = farm.write_config("lvs.yaml", &config("rr", 1, ""));
    let lvsd = Lvsd::start(farm.director(), &cfg);
    let (rs0, rs1) = (farm.rs(0), farm.rs(1));
    let v = wait_servers(farm.director(), WEB, &[&rs0, &rs1]);
    assert_eq!(v.len(), 1, "only the configured service: {v:?}");
    let t =
        farm.director().enter(|| Client::connect().and_then(|mut c| c.table())).unwrap().unwrap();
    let (s, d) = &t[0];
    assert_eq!(s.scheduler, "rr");
    assert!(d.iter().all(|d| d.fwd == ipvs::ForwardMethod::Masq && d.weight == 1), "{d:?}");
    // Traffic really flows through the table lvsd built.
    let vip = SocketAddr::from((addr::VIP, 80));
    let body = farm.topo.client.ns.http_get(vip).unwrap();
    assert!(body == "rs0" || body == "rs1", "{body}");

    // rs0's service stops: it leaves at the next check.
    farm.down(0);
    wait_servers(farm.director(), WEB, &[&rs1]);
    lvsd.expect(&format!("real server {rs0} down"), LONG);
    // It returns: re-admitted after the re-entry time.
    farm.up(0);
    wait_servers(farm.director(), WEB, &[&rs0, &rs1]);
    // All down: the sorry server is in, alone.
    farm.down(0);
    farm.down(1);
    wait_servers(farm.director(), WEB, &[SORRY]);
    lvsd.expect("sorry server 10.0.0.250:80 in", LONG);
    // One returns: the sorry server is out again.
    farm.up(1);
    wait_servers(farm.director(), WEB, &[&rs1]);
    lvsd.expect("sorry server 10.0.0.250:80 out", LONG);

    // SIGTERM: nannies stopped, the table lvsd installed removed.
    let nannies = lvsd.nannies();
    assert_eq!(nannies.len(), 2, "one nanny per real-server service");
    let status = lvsd.stop();
    assert!(status.success(), "{status}");
    assert!(view(farm.director()).is_empty());
    for p in nannies {
        assert!(!std::path::Path::new(&format!("/proc/{p}")).exists() || state_of(p) == 'Z');
    }
}

fn echo(conn: &mut TcpStream, text: &str) {
    conn.write_all(text.as_bytes()).unwrap();
    let mut buf = vec![0u8; text.len()];
    conn.read_exact(&mut buf).unwrap();
    assert_eq!(String::from_utf8_lossy(&buf), text);
}

/// A netlink capture (nlmon + tcpdump) in a namespace: an independent
/// count of the IPVS commands that reach the kernel.
struct NlCapture {
    tcpdump: Child,
    file: std::path::PathBuf,
}

impl NlCapture {
    fn start(ns: &Netns, file: std::path::PathBuf) -> NlCapture {
        let (tcpdump, mut err) = nlmon::start(ns, &file, &[]);
        std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
        NlCapture { tcpdump, file }
    }

    /// Stops the capture and counts the requests that change the IPVS
    /// table (new/set/del service and destination, set timeouts).
    fn stop_and_count(mut self, family: u16, expected: usize) -> (usize, String) {
        // tcpdump drops what it has not read yet when interrupted: under a
        // loaded emulator it lags, so wait (bounded) until the file holds
        // what is expected, then a little more for anything extra.
        let limit = Instant::now() + Duration::from_secs(20);
        while Instant::now() < limit {
            let pcap = std::fs::read(&self.file).unwrap_or_default();
            if pcap.len() >= 24 && count_ipvs_changes(&pcap, family).0 >= expected {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        std::thread::sleep(Duration::from_secs(1));
        let pid = nix::unistd::Pid::from_raw(self.tcpdump.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
        self.tcpdump.wait().unwrap();
        let pcap = std::fs::read(&self.file).unwrap();
        count_ipvs_changes(&pcap, family)
    }
}

/// Counts IPVS requests that change the table in a pcap of netlink;
/// also returns a description of the capture for failure messages.
fn count_ipvs_changes(pcap: &[u8], family: u16) -> (usize, String) {
    // IPVS_CMD_{NEW,SET,DEL}_SERVICE = 1..=3, {NEW,SET,DEL}_DEST = 5..=7,
    // SET_CONFIG = 12, ZERO = 16, FLUSH = 17 (GET_CONFIG is 13).
    let changing = |cmd: u8| matches!(cmd, 1..=3 | 5..=7 | 12 | 16 | 17);
    let linktype = nlmon::link_type(pcap).unwrap_or_else(|| panic!("no pcap header"));
    let (mut n, mut packets, mut ipvs) = (0, 0, 0);
    let mut first = String::new();
    for pkt in nlmon::packets(pcap) {
        packets += 1;
        if first.is_empty() {
            first = format!("{:02x?}", &pkt[..pkt.len().min(40)]);
        }
        for m in nlmon::messages(pkt) {
            if m.kind == family {
                ipvs += 1;
                if m.flags & nlmon::NLM_F_REQUEST != 0 && changing(m.cmd) {
                    n += 1;
                }
            }
        }
    }
    let about = format!(
        "link type {linktype}, {packets} packets, {ipvs} IPVS messages, first packet {first}"
    );
    (n, about)
}

fn reload_count(line: &str) -> usize {
    let after = line.split("reload: ").nth(1).unwrap();
    after.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn reload_changes_only_what_changed_and_keeps_connections() {
    let farm = Farm::new("reload");
    echo_server(&farm.topo.real_servers[0].ns, SocketAddr::from((Ipv4Addr::UNSPECIFIED, 9000)));
    let cfg = farm.write_config("lvs.yaml", &config("rr", 1, &echo_service()));
    let lvsd = Lvsd::start(farm.director(), &cfg);
    let (rs0, rs1) = (farm.rs(0), farm.rs(1));
    wait_servers(farm.director(), WEB, &[&rs0, &rs1]);
    let echo_rs = format!("{}:9000", farm.topo.real_server_addr(0));
    wait_servers(farm.director(), ECHO, &[&echo_rs]);

    // A long-lived connection through the echo service.
    let vip = SocketAddr::from((addr::VIP, 9000));
    let mut conn = farm
        .topo
        .client
        .ns
        .enter(|| TcpStream::connect_timeout(&vip, Duration::from_secs(5)))
        .unwrap()
        .unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    echo(&mut conn, "before");

    // Someone removes rs1 from web by hand.
    let web_key = ipvs::ServiceKey::tcp(addr::VIP.into(), 80);
    let rs1_key = ipvs::DestKey { addr: farm.topo.real_server_addr(1).into(), port: 80 };
    farm.director()
        .enter(|| Client::connect().and_then(|mut c| c.del_dest(&web_key, &rs1_key)))
        .unwrap()
        .unwrap();
    let nannies_before = lvsd.nannies();
    let family =
        farm.director().enter(|| Client::connect().map(|c| c.family_id())).unwrap().unwrap();
    let capture = NlCapture::start(farm.director(), farm.dir.0.join("reload.pcap"));

    // Reload: web's scheduler changes (edited in place, at once, planned
    // from lvsd's record of the table), and the resync that follows reads
    // the kernel and brings the removed entry back; echo is untouched.
    std::fs::write(&cfg, config("wlc", 1, &echo_service())).unwrap();
    lvsd.signal(nix::sys::signal::Signal::SIGHUP);
    let line = lvsd.expect("IPVS commands (total", LONG);
    assert_eq!(reload_count(&line), 1, "one edit: {line}");
    let resync = lvsd.expect("resync after reload", LONG);
    assert!(resync.contains(", 1 IPVS commands;"), "{resync}");
    assert!(resync.ends_with("(restored what drifted)"), "{resync}");
    // The kernel saw exactly those two changes, counted on the wire.
    let (on_wire, about) = capture.stop_and_count(family, 2);
    assert_eq!(on_wire, 2, "netlink requests that change the table ({about})");
    assert!(line.contains("0 stopped, 0 started"), "no check changed: {line}");
    let v = wait_servers(farm.director(), WEB, &[&rs0, &rs1]);
    assert_eq!(lvsd.nannies(), nannies_before, "no nanny restarted");
    let t = farm
        .director()
        .enter(|| Client::connect().and_then(|mut c| c.service(&web_key)))
        .unwrap()
        .unwrap();
    assert_eq!(t.scheduler, "wlc");
    assert_eq!(servers(&v, ECHO), vec![echo_rs.clone()]);
    echo(&mut conn, "after the reload");

    // Reload with a new weight for rs1: only its nanny is restarted (its
    // command line changed); the new one enters at full weight at once.
    std::fs::write(&cfg, config("wlc", 3, &echo_service())).unwrap();
    lvsd.signal(nix::sys::signal::Signal::SIGHUP);
    let line = lvsd.expect("IPVS commands (total", LONG);
    assert_eq!(reload_count(&line), 0, "{line}");
    assert!(line.contains("1 stopped, 1 started"), "{line}");
    wait_for("rs1 at weight 3", LONG, || {
        let v = view(farm.director());
        v.get(WEB)
            .and_then(|d| d.iter().find(|(a, _)| *a == rs1))
            .is_some_and(|(_, w)| *w == 3)
            .then_some(())
    });
    echo(&mut conn, "after the second reload");
    drop(lvsd);
}

#[test]
fn dead_and_stopped_nannies_are_replaced_without_touching_the_table() {
    let farm = Farm::new("nanny");
    let cfg = farm.write_config("lvs.yaml", &config("rr", 1, ""));
    let lvsd = Lvsd::start(farm.director(), &cfg);
    let (rs0, rs1) = (farm.rs(0), farm.rs(1));
    let before = wait_servers(farm.director(), WEB, &[&rs0, &rs1]);
    let nannies = wait_for("two nannies", LONG, || {
        let n = lvsd.nannies();
        (n.len() == 2).then_some(n)
    });

    // kill -9: restarted; the table never moves meanwhile.
    let victim = *nannies.iter().next().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(victim as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let replaced = wait_for("a new nanny after kill -9", LONG, || {
        assert_eq!(view(farm.director()), before, "the table moved while a nanny was dead");
        let n = lvsd.nannies();
        (n.len() == 2 && !n.contains(&victim)).then_some(n)
    });
    lvsd.expect("died", LONG);
    // The new nanny confirms its server; still nothing moves.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(view(farm.director()), before);

    // kill -STOP: its liveness lines stop; it is killed and restarted.
    let stopped = *replaced.iter().next().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(stopped as i32),
        nix::sys::signal::Signal::SIGSTOP,
    )
    .unwrap();
    wait_for("the stopped nanny to be replaced", LONG, || {
        let n = lvsd.nannies();
        (n.len() == 2 && !n.contains(&stopped)).then_some(())
    });
    lvsd.expect("silent for", LONG);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(view(farm.director()), before);
    assert!(lvsd.stop().success());
}

#[test]
fn a_bad_configuration_on_sighup_changes_nothing() {
    let farm = Farm::new("bad");
    let cfg = farm.write_config("lvs.yaml", &config("rr", 1, ""));
    let lvsd = Lvsd::start(farm.director(), &cfg);
    let (rs0, rs1) = (farm.rs(0), farm.rs(1));
    let before = wait_servers(farm.director(), WEB, &[&rs0, &rs1]);
    let nannies = lvsd.nannies();
    let sent_before = lvsd.count("IPVS commands");
    std::fs::write(&cfg, config("rr", 1, "  - name: broken\n    vip: nowhere\n")).unwrap();
    lvsd.signal(nix::sys::signal::Signal::SIGHUP);
    lvsd.expect("keeping the running configuration", LONG);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(view(farm.director()), before);
    assert_eq!(lvsd.nannies(), nannies);
    assert_eq!(lvsd.count("IPVS commands"), sent_before);
    // And it still works: a good reload afterwards is applied.
    std::fs::write(&cfg, config("wlc", 1, "")).unwrap();
    lvsd.signal(nix::sys::signal::Signal::SIGHUP);
    let line = lvsd.expect("IPVS commands (total", LONG);
    assert_eq!(reload_count(&line), 1, "{line}");
    assert!(lvsd.stop().success());
}

#[test]
fn a_restarted_lvsd_adopts_the_table_and_keeps_connections() {
    let farm = Farm::new("adopt");
    echo_server(&farm.topo.real_servers[0].ns, SocketAddr::from((Ipv4Addr::UNSPECIFIED, 9000)));
    let cfg = farm.write_config("lvs.yaml", &config("rr", 1, &echo_service()));
    let first = Lvsd::start(farm.director(), &cfg);
    let (rs0, rs1) = (farm.rs(0), farm.rs(1));
    wait_servers(farm.director(), WEB, &[&rs0, &rs1]);
    let echo_rs = format!("{}:9000", farm.topo.real_server_addr(0));
    let before = wait_servers(farm.director(), ECHO, &[&echo_rs]);
    // A foreign service lvsd's configuration does not describe.
    let foreign = ipvs::ServiceKey::tcp(addr::VIP.into(), 25);
    farm.director()
        .enter(|| Client::connect().and_then(|mut c| c.add_service(&ipvs::Service::new(foreign))))
        .unwrap()
        .unwrap();
    let vip = SocketAddr::from((addr::VIP, 9000));
    let mut conn = farm
        .topo
        .client
        .ns
        .enter(|| TcpStream::connect_timeout(&vip, Duration::from_secs(5)))
        .unwrap()
        .unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    echo(&mut conn, "one");
    // lvsd dies hard; its nannies follow (parent-death signal).
    let nannies = first.nannies();
    drop(first);
    wait_for("the nannies to die with lvsd", LONG, || {
        nannies.iter().all(|p| !std::path::Path::new(&format!("/proc/{p}")).exists()).then_some(())
    });
    let second = Lvsd::start(farm.director(), &cfg);
    let line = second.expect("start: table reconciled", LONG);
    assert!(line.ends_with(" 0 IPVS commands"), "adopted as it was: {line}");
    std::thread::sleep(Duration::from_secs(3));
    let mut now = view(farm.director());
    assert!(now.remove("TCP 192.0.2.10:25").is_some(), "foreign services are left alone");
    let mut was = before.clone();
    was.remove("TCP 192.0.2.10:25");
    assert_eq!(now, was);
    echo(&mut conn, "two");
    assert!(second.stop().success());
    // The foreign service is still not lvsd's to remove.
    assert_eq!(view(farm.director()).keys().collect::<Vec<_>>(), vec!["TCP 192.0.2.10:25"]);
}
