//! Benchmark, not a test: reloading a 1% change of a 2,284-service /
//! 37,298-real-server configuration (the size of keepalived issue #2318),
//! lvsd (SIGHUP) versus keepalived's checker (SIGHUP), in one guest.
//!
//! The change: 23 services (1%) removed and 23 new services of 16 real
//! servers added (1% of the services, about 2% of the table's objects).
//! Each daemon starts with the first configuration (checks `none` / no
//! checkers, so every real server is in the table), and once the kernel
//! table is complete:
//! - a long-lived TCP connection is opened through an unchanged service
//!   (the VIP of the test bed's LVS-NAT topology, port 9000, whose 16 real
//!   servers are echo servers on the real-server namespace) and exchanges
//!   a line;
//! - a netlink capture starts (nlmon + tcpdump in the director namespace),
//!   the file is replaced with the second configuration and the daemon
//!   gets SIGHUP;
//! - the time runs from the signal until the kernel shows the change
//!   complete: every removed service gone and every new one holding its 16
//!   real servers, polled every 10 ms with 46 small netlink requests (a
//!   read of `/proc/net/ip_vs` with 37,000 lines takes longer than the
//!   reload under TCG); the whole table is then checked once, untimed;
//! - kernel operations are the IPVS requests on the capture, the same
//!   count for both daemons: requests that change the table (new, set,
//!   delete service or destination, set timeouts, zero, flush) and read
//!   requests (get service, destinations, configuration), from SIGHUP until
//!   the daemon is quiet (lvsd: its resync after the reload logged as done;
//!   keepalived: 5 s after the change is complete), less the reads of the
//!   benchmark's own polling (counted as it sends them);
//! - the connection exchanges another line: it survived or not.
//!
//! lvsd's log also gives its own command count and the split of its
//! reload (parse, spec, plan, apply), printed with the results.
//!
//! Run by `cargo xtask bench` (prints a `bench-row:` line for
//! `docs/benchmarks.md`), or `cargo xtask vm-test --suite bench_reload bench`.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark's report is its output

use std::fmt::Write as _;
use std::io::{BufRead, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use ipvs::{Client, ServiceKey};
use lvs_tests::guest::{bin, ref_ipvsadm, spawn};
use lvs_tests::nlmon;
use lvs_tests::traffic::echo_server;
use testbed::{addr, Forwarding, Netns, TopologyBuilder};

const SERVICES: u32 = 2_284;
const SERVERS: u32 = 37_298;
const CHANGED: u32 = 23;
const GIVE_UP: Duration = Duration::from_secs(300);
/// The port of the service that carries the long-lived connection.
const HELD_PORT: u16 = 9000;

/// One service of a configuration.
struct Svc {
    vip: Ipv4Addr,
    port: u16,
    reals: Vec<(Ipv4Addr, u16)>,
}

impl Svc {
    fn key(&self) -> ServiceKey {
        ServiceKey::tcp(IpAddr::V4(self.vip), self.port)
    }
}

fn vip(i: u32) -> Ipv4Addr {
    Ipv4Addr::new(10, 100, (i >> 8) as u8, (i & 0xff) as u8)
}

fn new_vip(i: u32) -> Ipv4Addr {
    Ipv4Addr::new(10, 102, 0, i as u8)
}

fn bogus_reals(n: u32) -> Vec<(Ipv4Addr, u16)> {
    (1..=n).map(|k| (Ipv4Addr::new(172, 16, 0, k as u8), 80)).collect()
}

/// The services before (`after = false`) or after the change. 37,298 =
/// 2,284 x 16 + 754: the first 754 services have 17 real servers. The
/// last service (unchanged, 16 real servers) is the VIP of the topology on
/// port 9000, its real servers the echo servers of real server 0 on ports
/// 9000 to 9015.
fn services(after: bool, rs: Ipv4Addr) -> Vec<Svc> {
    let mut v = Vec::new();
    for i in 0..SERVICES {
        if after && i < CHANGED {
            continue; // removed
        }
        let n = if i < SERVERS - SERVICES * 16 { 17 } else { 16 };
        if i == SERVICES - 1 {
            let reals = (0..16).map(|k| (rs, HELD_PORT + k)).collect();
            v.push(Svc { vip: addr::VIP, port: HELD_PORT, reals });
        } else {
            v.push(Svc { vip: vip(i), port: 80, reals: bogus_reals(n) });
        }
    }
    if after {
        for i in 0..CHANGED {
            v.push(Svc { vip: new_vip(i), port: 80, reals: bogus_reals(16) });
        }
    }
    v
}

fn lvsd_yaml(svcs: &[Svc]) -> String {
    let mut s = String::from(
        "service: lvs\nrouters:\n  primary:\n    address: 192.0.2.1\n\
         heartbeat: { protocol: piranha }\nnetwork: nat\nhard_shutdown: false\nvirtual_services:\n",
    );
    for (n, svc) in svcs.iter().enumerate() {
        let _ = write!(
            s,
            "  - name: s{n}\n    vip: {{ address: {}, interface: eth0 }}\n    port: {}\n    scheduler: wlc\n    check: {{ type: none }}\n    real_servers:\n",
            svc.vip, svc.port
        );
        for (k, (a, p)) in svc.reals.iter().enumerate() {
            let _ = writeln!(s, "      - {{ name: r{k}, address: {a}, port: {p}, weight: 1 }}");
        }
    }
    s
}

fn keepalived_conf(svcs: &[Svc]) -> String {
    let mut s = String::from("global_defs {\n  router_id bench\n}\n");
    for svc in svcs {
        let _ = write!(
            s,
            "virtual_server {} {} {{\n  lvs_sched wlc\n  lvs_method NAT\n  protocol TCP\n",
            svc.vip, svc.port
        );
        for (a, p) in &svc.reals {
            let _ = writeln!(s, "  real_server {a} {p} {{\n    weight 1\n  }}");
        }
        s.push_str("}\n");
    }
    s
}

/// Services and real servers in the kernel table (`/proc/net/ip_vs`).
fn totals(ns: &Netns) -> (usize, usize) {
    let text = ns.read_proc_net("ip_vs").unwrap_or_default();
    let services = text.lines().filter(|l| l.starts_with("TCP ")).count();
    let dests =
        text.lines().filter(|l| l.starts_with("  -> ") && !l.contains("RemoteAddress")).count();
    (services, dests)
}

fn expected(svcs: &[Svc]) -> (usize, usize) {
    (svcs.len(), svcs.iter().map(|s| s.reals.len()).sum())
}

/// Whether the kernel shows the change complete: the removed services
/// gone, the new ones each with their 16 real servers. A few small
/// requests, cheap enough to poll often.
/// `asked` counts the requests sent: they are on the netlink capture too,
/// and are taken off the daemon's reads.
fn change_complete(
    c: &mut Client,
    removed: &[ServiceKey],
    added: &[ServiceKey],
    asked: &mut usize,
) -> bool {
    removed.iter().all(|k| {
        *asked += 1;
        c.service(k).is_err()
    }) && added.iter().all(|k| {
        *asked += 1;
        c.dests(k).is_ok_and(|d| d.len() == 16)
    })
}

/// One line there and back; false on any failure.
fn echo(conn: &mut TcpStream, text: &str) -> bool {
    let mut buf = vec![0u8; text.len()];
    conn.write_all(text.as_bytes()).is_ok()
        && conn.read_exact(&mut buf).is_ok()
        && buf == text.as_bytes()
}

/// A netlink capture (nlmon + tcpdump) in a namespace: the IPVS requests
/// that reach the kernel, counted the same way for both daemons.
struct NlCapture {
    tcpdump: Child,
    file: PathBuf,
    err: std::sync::mpsc::Receiver<String>,
}

impl NlCapture {
    fn start(ns: &Netns, file: PathBuf) -> NlCapture {
        let (tcpdump, err) = nlmon::start(ns, &file, &["-B", "16384"]);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in err.lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        NlCapture { tcpdump, file, err: rx }
    }

    /// Stops the capture once its file stops growing; returns the counts
    /// and what tcpdump said about drops.
    fn stop_and_count(mut self, family: u16) -> (Counts, String) {
        let limit = Instant::now() + Duration::from_secs(60);
        let mut last = 0;
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let len = std::fs::metadata(&self.file).map(|m| m.len()).unwrap_or(0);
            if len == last || Instant::now() > limit {
                break;
            }
            last = len;
        }
        let pid = nix::unistd::Pid::from_raw(self.tcpdump.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
        self.tcpdump.wait().unwrap();
        let mut said = Vec::new();
        while let Ok(l) = self.err.recv_timeout(Duration::from_secs(2)) {
            said.push(l);
        }
        let drops =
            said.iter().filter(|l| l.contains("dropped")).cloned().collect::<Vec<_>>().join("; ");
        let pcap = std::fs::read(&self.file).unwrap();
        let _ = std::fs::remove_file(&self.file);
        (count_ipvs_requests(&pcap, family), drops)
    }
}

/// IPVS requests on a capture.
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    /// Requests that change the table.
    changes: usize,
    /// Read requests.
    reads: usize,
    /// Packets (sends) that carried IPVS requests.
    sends: usize,
}

fn count_ipvs_requests(pcap: &[u8], family: u16) -> Counts {
    // IPVS_CMD_{NEW,SET,DEL}_SERVICE = 1..=3, {NEW,SET,DEL}_DEST = 5..=7,
    // SET_CONFIG = 12, ZERO = 16, FLUSH = 17; GET_SERVICE = 4, GET_DEST
    // = 8, GET_DAEMON = 11, GET_CONFIG = 13, GET_INFO = 15.
    let changing = |cmd: u8| matches!(cmd, 1..=3 | 5..=7 | 12 | 16 | 17);
    let reading = |cmd: u8| matches!(cmd, 4 | 8 | 11 | 13 | 15);
    let mut c = Counts::default();
    for pkt in nlmon::packets(pcap) {
        let mut any = false;
        for m in nlmon::messages(pkt) {
            if m.kind == family && m.flags & nlmon::NLM_F_REQUEST != 0 {
                if changing(m.cmd) {
                    c.changes += 1;
                    any = true;
                } else if reading(m.cmd) {
                    c.reads += 1;
                    any = true;
                }
            }
        }
        c.sends += usize::from(any);
    }
    c
}

/// What one daemon did.
struct Outcome {
    /// SIGHUP to the change complete in the kernel.
    took: Option<Duration>,
    /// IPVS requests on the wire from SIGHUP until quiet.
    wire: Counts,
    /// tcpdump's word on dropped packets.
    drops: String,
    /// The long-lived connection still echoes after the reload.
    survived: bool,
    /// The daemon's log.
    log: String,
}

/// The test bed: an LVS-NAT topology whose real server 0 runs the echo
/// servers, and the two configurations in both formats.
struct Bed {
    topo: testbed::Topology,
    dir: PathBuf,
    before: Vec<Svc>,
    after: Vec<Svc>,
    family: u16,
}

impl Bed {
    fn director(&self) -> &Netns {
        &self.topo.directors[0].ns
    }

    /// Runs one daemon through start, full table, connection, SIGHUP with
    /// the change; `Err` when it refused the first configuration.
    fn measure(
        &self,
        name: &str,
        cmd: Command,
        config: &Path,
        after: &str,
        quiet: impl Fn(&str) -> bool,
    ) -> Result<Outcome, String> {
        let ns = self.director();
        ns.run(&ref_ipvsadm(), &["-C"]).unwrap();
        let log = self.dir.join(format!("{name}.log"));
        let started = Instant::now();
        let mut daemon = spawn(cmd, &log);
        let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
        let before = expected(&self.before);
        let mut full = false;
        while started.elapsed() < GIVE_UP && daemon.0.try_wait().unwrap().is_none() {
            if totals(ns) == before {
                full = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        if !full && daemon.0.try_wait().unwrap().is_some() {
            let text = read_log();
            println!("bench_reload: {name} exited at start-up:\n{text}");
            let why = text.lines().rev().find(|l| l.contains("error")).unwrap_or("exited").trim();
            return Err(why.replace('|', "/"));
        }
        assert!(full, "{name}: first table incomplete: {:?}\n{}", totals(ns), read_log());
        println!("bench_reload: {name}: first table in {:.2?}", started.elapsed());
        // Let a start-up settle (lvsd logs its reconciliation at the end).
        std::thread::sleep(Duration::from_secs(2));

        let vip = SocketAddr::from((addr::VIP, HELD_PORT));
        let mut conn = self
            .topo
            .client
            .ns
            .enter(|| TcpStream::connect_timeout(&vip, Duration::from_secs(5)))
            .unwrap()
            .unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert!(echo(&mut conn, "before the reload\n"), "{name}: no echo through the VIP");

        let removed: Vec<ServiceKey> = self
            .before
            .iter()
            .filter(|s| s.vip.octets()[1] == 100)
            .take(CHANGED as usize)
            .map(Svc::key)
            .collect();
        let added: Vec<ServiceKey> =
            self.after.iter().filter(|s| s.vip.octets()[1] == 102).map(Svc::key).collect();
        assert_eq!((removed.len(), added.len()), (CHANGED as usize, CHANGED as usize));
        let mut client = ns.enter(Client::connect).unwrap().unwrap();

        std::fs::write(config, after).unwrap();
        let capture = NlCapture::start(ns, self.dir.join(format!("{name}.pcap")));
        let pid = nix::unistd::Pid::from_raw(i32::try_from(daemon.0.id()).unwrap());
        let hup = Instant::now();
        nix::sys::signal::kill(pid, nix::sys::signal::SIGHUP).unwrap();
        let mut took = None;
        let mut asked = 0;
        while hup.elapsed() < GIVE_UP {
            if change_complete(&mut client, &removed, &added, &mut asked) {
                took = Some(hup.elapsed());
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        println!("bench_reload: {name}: change complete after {took:?}");
        // Quiet: the daemon's own sign, else 5 s.
        let settle = Instant::now();
        while !quiet(&read_log()) && settle.elapsed() < GIVE_UP {
            std::thread::sleep(Duration::from_millis(200));
        }
        let (mut wire, drops) = capture.stop_and_count(self.family);
        println!(
            "bench_reload: {name}: IPVS requests on the wire: {wire:?}, of which {asked} reads by this benchmark's polling; {drops}"
        );
        wire.reads = wire.reads.saturating_sub(asked);
        wire.sends = wire.sends.saturating_sub(asked);
        let now = totals(ns);
        println!(
            "bench_reload: {name}: table after the reload {now:?} (expected {:?})",
            expected(&self.after)
        );
        let survived = echo(&mut conn, "after the reload\n");
        println!("bench_reload: {name}: long-lived connection survived: {survived}");
        let took = took.filter(|_| now == expected(&self.after));
        drop(daemon);
        Ok(Outcome { took, wire, drops, survived, log: read_log() })
    }
}

/// The figure after `after` up to the next space, in lvsd's reload line.
fn figure<'a>(line: &'a str, after: &str) -> &'a str {
    line.split(after).nth(1).and_then(|t| t.split([' ', ',', ')']).next()).unwrap_or("?")
}

fn main() {
    if !std::env::args().skip(1).any(|a| a == "bench" || a.starts_with("bench:")) {
        println!("bench_reload: not run; run it with `cargo xtask bench`");
        return;
    }
    let topo = TopologyBuilder::new(Forwarding::Nat).real_servers(1).build().unwrap();
    topo.directors[0].ns.sysctl("net.ipv4.ip_forward", "1").unwrap();
    let rs = topo.real_server_addr(0);
    for k in 0..16 {
        echo_server(
            &topo.real_servers[0].ns,
            SocketAddr::from((Ipv4Addr::UNSPECIFIED, HELD_PORT + k)),
        );
    }
    let family =
        topo.directors[0].ns.enter(|| Client::connect().map(|c| c.family_id())).unwrap().unwrap();
    let dir = std::env::temp_dir().join(format!("bench-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bed = Bed { topo, dir, before: services(false, rs), after: services(true, rs), family };
    assert_eq!(expected(&bed.before), (SERVICES as usize, SERVERS as usize));

    let yaml = bed.dir.join("lvs.yaml");
    std::fs::write(&yaml, lvsd_yaml(&bed.before)).unwrap();
    let mut cmd = bed.director().command(bin("lvsd"));
    cmd.args(["-n", "-c"]).arg(&yaml);
    let ours = bed.measure("lvsd", cmd, &yaml, &lvsd_yaml(&bed.after), |log| {
        log.contains("resync after reload")
    });

    let conf = bed.dir.join("keepalived.conf");
    std::fs::write(&conf, keepalived_conf(&bed.before)).unwrap();
    let mut cmd = bed.director().command("keepalived");
    cmd.args(["-n", "-l", "-G", "-C", "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(bed.dir.join("ka.pid"))
        .arg("-r")
        .arg(bed.dir.join("ka-vrrp.pid"))
        .arg("-c")
        .arg(bed.dir.join("ka-check.pid"));
    let settle = std::cell::Cell::new(None::<Instant>);
    let theirs = bed.measure("keepalived", cmd, &conf, &keepalived_conf(&bed.after), |_| {
        let since = settle.get().unwrap_or_else(|| {
            let now = Instant::now();
            settle.set(Some(now));
            now
        });
        since.elapsed() > Duration::from_secs(5)
    });
    bed.director().run(&ref_ipvsadm(), &["-C"]).unwrap();

    // lvsd's own account: the reload line and the resync line.
    let (split, resync) = match &ours {
        Ok(o) => {
            let reload = o.log.lines().find(|l| l.contains("IPVS commands (total")).unwrap_or("");
            let resync = o.log.lines().find(|l| l.contains("resync after reload")).unwrap_or("");
            println!("bench_reload: lvsd said: {}", reload.trim());
            println!("bench_reload: lvsd said: {}", resync.trim());
            let split = format!(
                "{} IPVS commands by its count, sent {} ms after it began reading: parse {} ms, spec {} ms, plan {} ms, apply {} ms",
                figure(reload, "reload: "),
                figure(reload, "commands sent "),
                figure(reload, "read and parse "),
                figure(reload, "spec "),
                figure(reload, "plan "),
                figure(reload, "apply "),
            );
            let resync = format!(
                "then a resync: {} reads, {} commands, {} s of work",
                figure(resync, " real servers in "),
                figure(resync, " requests, "),
                figure(resync, "IPVS commands; ").trim_end_matches(" s"),
            );
            (split, resync)
        }
        Err(_) => (String::new(), String::new()),
    };
    let show = |d: &Result<Outcome, String>| match d {
        Ok(o) => {
            let time = o.took.map_or_else(
                || format!("not applied within {GIVE_UP:?}"),
                |t| format!("{:.2} s", t.as_secs_f64()),
            );
            let drops = if o.drops.is_empty() || o.drops.starts_with("0 packets dropped") {
                String::new()
            } else {
                format!(" (capture: {})", o.drops.replace('|', "/"))
            };
            format!(
                "{time}; on the wire {} changes + {} reads in {} sends{drops}; long-lived connection {}",
                o.wire.changes,
                o.wire.reads,
                o.wire.sends,
                if o.survived { "survived" } else { "LOST" }
            )
        }
        Err(why) => format!("refused the configuration: {why}"),
    };
    let ratio = match (&ours, &theirs) {
        (Ok(Outcome { took: Some(o), .. }), Ok(Outcome { took: Some(t), .. })) => {
            format!("{:.2}", o.as_secs_f64() / t.as_secs_f64())
        }
        _ => "-".into(),
    };
    let met = if matches!(&ours, Ok(Outcome { took: Some(o), .. }) if *o < Duration::from_secs(1)) {
        "met"
    } else {
        "MISSED"
    };
    println!(
        "bench-row: Reload of a 1% change, 2,284 services / 37,298 real servers\
         |lvsd SIGHUP: {} ({split}; {resync})|keepalived 2.2.7 SIGHUP: {}\
         |{ratio}|under 1 s: {met}\
         |`cargo xtask bench --only reload`",
        show(&ours),
        show(&theirs)
    );
    let _ = std::fs::remove_dir_all(&bed.dir);
}
