//! Benchmark, not a test: what a client sees through IPVS when the active
//! router loses power, lvs-router (pulse, hot standby) against keepalived
//! 2.2 configured as it is normally deployed, at equal timers.
//!
//! The lab is `testbed`'s topology: a client, two routers and two real
//! servers, for LVS-NAT (real servers behind the routers, their gateway
//! moves with the VIP) and LVS-DR (real servers on the client's LAN, the VIP
//! on their loopback). Both daemons serve the same virtual service with TCP
//! connect checks on both routers: pulse from a YAML configuration (lvsd and
//! its nannies run on the standby too, the default hot standby), keepalived
//! with the same `virtual_server` and a VRRP instance on each router.
//!
//! The client opens a new TCP connection to the VIP every 10 ms and reads
//! the real server's one-line answer, with a budget of 100 ms per request.
//! A run starts router 0 (it becomes active), waits until the client is
//! answered, starts router 1 and waits until router 1's own kernel table
//! holds both real servers; then, at a set phase of router 0's heartbeat or
//! advert timer (the same phases for both daemons), router 0 loses power:
//! its switch ports go down (one netlink request) and every process of it
//! gets SIGKILL. The outage is the gap between the last answer before the
//! cut and the first answer to a request sent after it. Its part after the
//! dead interval (router 1's last heard heartbeat + the dead interval, to
//! the first answer) is what the daemon adds to its timers.
//!
//! Run by `cargo xtask bench --only failover` (in the test guest), which
//! also draws the plots of `docs/`. It prints `bench-row:` lines (the table
//! of `docs/benchmarks.md`) and `bench-data:` lines (each run, and one
//! failover's timeline, for the plots); it asserts nothing on time and
//! fails only when the lab cannot be built.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark's report is its output

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lvs_tests::failover::{Timers, Watch};
use lvs_tests::guest::{bin, ref_ipvsadm, spawn, Running};
use testbed::{addr, Forwarding, Topology, TopologyBuilder};

/// One request every POLL.
const POLL: Duration = Duration::from_millis(10);
/// A request not answered within this counts as unanswered.
const BUDGET: Duration = Duration::from_millis(100);
/// A run whose client is not answered again within this is a failed takeover.
const GIVE_UP: Duration = Duration::from_secs(30);
/// Limit for the lab's own steps (a router starting, a table filling).
const SETTLE: Duration = Duration::from_secs(30);
const KEY: &[u8] = b"failover bench key, 32 bytes ok!";
const REAL_SERVERS: usize = 2;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Daemon {
    Pulse,
    Keepalived,
}

/// One client request: when it was sent and, if it was answered within the
/// budget, when.
#[derive(Clone, Copy, Debug)]
struct Request {
    sent: Instant,
    answered: Option<Instant>,
}

struct Lab {
    topo: Topology,
    /// An rtnetlink socket in the switch and router 0's ports there.
    switch_rtnl: Mutex<(lvs_net::Rtnl, Vec<u32>)>,
    dir: PathBuf,
    requests: Arc<Mutex<Vec<Request>>>,
    /// At router 1: the heartbeats/adverts from router 0 and the
    /// gratuitous ARPs router 1 sends.
    watch: Watch,
    stop: Arc<AtomicBool>,
}

fn nat(f: Forwarding) -> bool {
    f == Forwarding::Nat
}

impl Lab {
    fn new(forwarding: Forwarding) -> Lab {
        let topo = TopologyBuilder::new(forwarding)
            .directors(2)
            .real_servers(REAL_SERVERS)
            .active(None)
            .build()
            .unwrap();
        for (j, rs) in topo.real_servers.iter().enumerate() {
            real_server(&rs.ns, j);
        }
        let ports: Vec<&str> = if nat(forwarding) { vec!["pd0", "qd0"] } else { vec!["pd0"] };
        let switch_rtnl = topo
            .switch
            .enter(|| {
                let mut r = lvs_net::Rtnl::open().unwrap();
                let idx = ports.iter().map(|p| r.link(p).unwrap().index).collect();
                (r, idx)
            })
            .unwrap();
        let tag = if nat(forwarding) { "nat" } else { "dr" };
        let dir =
            std::env::temp_dir().join(format!("bench-failover-ipvs-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("key");
        std::fs::write(&key, KEY).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let lab = Lab {
            topo,
            switch_rtnl: Mutex::new(switch_rtnl),
            dir,
            requests: Arc::new(Mutex::new(Vec::new())),
            watch: Watch::default(),
            stop: Arc::new(AtomicBool::new(false)),
        };
        lab.start_client();
        lab.start_capture();
        lab
    }

    fn forwarding(&self) -> Forwarding {
        self.topo.forwarding
    }

    /// The client: a request every [`POLL`], each with [`BUDGET`], so up
    /// to BUDGET / POLL are in flight when the VIP does not answer: as many
    /// worker threads, each sending every BUDGET at its own offset (no
    /// thread is started per request: that would load the guest).
    fn start_client(&self) {
        let path = format!("/run/netns/{}", self.topo.client.ns.name());
        let workers = (BUDGET.as_millis() / POLL.as_millis()).max(1) as u32;
        let t0 = Instant::now();
        for k in 0..workers {
            let (requests, stop, path) =
                (Arc::clone(&self.requests), Arc::clone(&self.stop), path.clone());
            std::thread::spawn(move || {
                let ns = std::fs::File::open(&path).unwrap();
                nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
                let to = SocketAddr::from((addr::VIP, 80));
                let mut next = t0 + POLL * k;
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(next.saturating_duration_since(Instant::now()));
                    let sent = Instant::now();
                    let answered = ask(to, sent).then(Instant::now);
                    requests.lock().unwrap().push(Request { sent, answered });
                    // The next turn; one missed by more than a poll is
                    // skipped, to keep this worker's phase. (A request that
                    // used its whole budget ends a hair after the next turn
                    // began: that turn is sent at once, not skipped, or
                    // every worker would send only every other turn during
                    // an outage, all in the same turns, and the first
                    // request after a takeover could wait up to a budget.)
                    next += BUDGET;
                    while next + POLL <= Instant::now() {
                        next += BUDGET;
                    }
                }
            });
        }
    }

    /// On router 1's public link: router 0's heartbeats/adverts and router
    /// 1's gratuitous ARPs.
    fn start_capture(&self) {
        self.watch.start(&self.topo.directors[1].ns, addr::director_public(0), addr::VIP);
    }

    fn answered_recently(&self) -> bool {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .rev()
            .take(20)
            .any(|r| r.answered.is_some_and(|a| a.elapsed() < Duration::from_millis(300)))
    }

    /// The first answer to a request sent after `t`.
    fn first_answer_after(&self, t: Instant) -> Option<Instant> {
        self.requests.lock().unwrap().iter().filter(|r| r.sent > t).filter_map(|r| r.answered).min()
    }

    /// The last answer that came at or before `t`.
    fn last_answer_before(&self, t: Instant) -> Option<Instant> {
        self.requests.lock().unwrap().iter().filter_map(|r| r.answered).filter(|a| *a <= t).max()
    }

    fn holds_vip(&self, i: usize) -> bool {
        self.topo.directors[i]
            .ns
            .ip(&["-o", "-4", "addr", "show", "dev", "eth0"])
            .is_ok_and(|o| o.contains(&format!("{}/", addr::VIP)))
    }

    /// Real servers with a weight above 0 in router `i`'s kernel table.
    fn table_size(&self, i: usize) -> usize {
        let t = self.topo.directors[i]
            .ns
            .enter(|| ipvs::Client::connect().and_then(|mut c| c.table()))
            .unwrap();
        let Ok(t) = t else { return 0 };
        t.into_iter()
            .filter(|(s, _)| s.key.to_string() == format!("TCP {}:80", addr::VIP))
            .flat_map(|(_, d)| d)
            .filter(|d| d.weight > 0)
            .count()
    }

    fn write_configs(&self, daemon: Daemon, t: Timers) {
        let rs: Vec<Ipv4Addr> = (0..REAL_SERVERS).map(|j| self.topo.real_server_addr(j)).collect();
        match daemon {
            Daemon::Pulse => {
                let network = if nat(self.forwarding()) {
                    format!(
                        "network: nat\nnat_router: {{ address: {}, interface: eth1, netmask: 24 }}\n",
                        addr::NAT_GATEWAY
                    )
                } else {
                    "network: direct\n".to_string()
                };
                let servers: String = rs
                    .iter()
                    .enumerate()
                    .map(|(j, a)| format!("      - {{ name: rs{j}, address: {a} }}\n"))
                    .collect();
                let yaml = format!(
                    "routers:\n  primary: {{ address: {} }}\n  backup: {{ address: {} }}\n\
                     backup_active: true\n\
                     heartbeat: {{ keepalive: {}ms, deadtime: {}ms, auth_key_file: {} }}\n\
                     arp: {{ count: 2, interval: 100ms }}\n{network}\
                     paths: {{ lvsd: {}, nanny: {}, send_arp: {}, ipvsadm: {} }}\n\
                     virtual_services:\n  - name: web\n    vip: {{ address: {}, interface: eth0, netmask: 24 }}\n    \
                     port: 80\n    scheduler: rr\n    check: {{ type: connect, interval: 1, timeout: 1 }}\n    \
                     real_servers:\n{servers}",
                    addr::director_public(0),
                    addr::director_public(1),
                    t.interval_ms,
                    t.pulse_deadtime_ms(),
                    self.dir.join("key").display(),
                    bin("lvsd").display(),
                    bin("nanny").display(),
                    bin("send_arp").display(),
                    ref_ipvsadm(),
                    addr::VIP,
                );
                std::fs::write(self.dir.join("pulse.yaml"), yaml).unwrap();
            }
            Daemon::Keepalived => {
                let (kind, gateway) = if nat(self.forwarding()) {
                    ("NAT", format!("    {}/24 dev eth1\n", addr::NAT_GATEWAY))
                } else {
                    ("DR", String::new())
                };
                let servers: String = rs
                    .iter()
                    .map(|a| {
                        format!(
                            "  real_server {a} 80 {{\n    weight 1\n    TCP_CHECK {{\n      connect_timeout 1\n    }}\n  }}\n"
                        )
                    })
                    .collect();
                for i in 0..2 {
                    let advert = t.interval_ms as f64 / 1000.0;
                    let conf = format!(
                        "global_defs {{\n  router_id r{i}\n  vrrp_version 3\n}}\n\
                         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
                         priority {}\n  advert_int {advert}\n  virtual_ipaddress {{\n    {}/24 dev eth0\n{gateway}  }}\n}}\n\
                         virtual_server {} 80 {{\n  delay_loop 1\n  lb_algo rr\n  lb_kind {kind}\n  protocol TCP\n{servers}}}\n",
                        254 - i,
                        addr::VIP,
                        addr::VIP,
                    );
                    std::fs::write(self.dir.join(format!("keepalived{i}.conf")), conf).unwrap();
                }
            }
        }
    }

    fn start(&self, daemon: Daemon, i: usize) -> Running {
        let log = self.dir.join(format!("{daemon:?}{i}.log"));
        let ns = &self.topo.directors[i].ns;
        let d = &self.dir;
        let cmd = match daemon {
            Daemon::Pulse => {
                let mut c = ns.command(bin("pulse"));
                c.arg("-n")
                    .arg("-c")
                    .arg(d.join("pulse.yaml"))
                    .arg(format!("--socket={}", d.join(format!("pulse{i}.sock")).display()));
                c
            }
            Daemon::Keepalived => {
                let mut c = ns.command(find_keepalived());
                for f in ["", "-vrrp", "-check"] {
                    let _ = std::fs::remove_file(d.join(format!("ka{i}{f}.pid")));
                }
                c.args(["-n", "-l", "-G", "-f"])
                    .arg(d.join(format!("keepalived{i}.conf")))
                    .arg("-p")
                    .arg(d.join(format!("ka{i}.pid")))
                    .arg("-r")
                    .arg(d.join(format!("ka{i}-vrrp.pid")))
                    .arg("-c")
                    .arg(d.join(format!("ka{i}-check.pid")));
                c
            }
        };
        spawn(cmd, &log)
    }

    fn log(&self, daemon: Daemon, i: usize) -> String {
        std::fs::read_to_string(self.dir.join(format!("{daemon:?}{i}.log"))).unwrap_or_default()
    }

    fn wait_for(&self, limit: Duration, pred: impl Fn() -> bool) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if pred() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// One power cut of the active router. `Err(())`: router 1 took the VIP
    /// before the cut (a spurious takeover); the run is void.
    fn run_once(&self, daemon: Daemon, t: Timers, n: usize) -> Result<Run, ()> {
        let r0 = self.start(daemon, 0);
        let up = self.wait_for(SETTLE, || {
            self.holds_vip(0) && self.table_size(0) == REAL_SERVERS && self.answered_recently()
        });
        assert!(up, "router 0 never served through the VIP:\n{}", self.log(daemon, 0));
        let r1 = self.start(daemon, 1);
        let hot = self.wait_for(SETTLE, || self.table_size(1) == REAL_SERVERS);
        assert!(hot, "router 1 never built its table:\n{}", self.log(daemon, 1));
        // Let router 1 settle as backup (it has heard router 0 for a while).
        std::thread::sleep(Duration::from_millis(
            (t.pulse_deadtime_ms() + 2 * t.interval_ms).max(1500),
        ));
        let answered = self.wait_for(Duration::from_secs(10), || self.answered_recently());
        if !answered {
            let recent: Vec<Request> =
                self.requests.lock().unwrap().iter().rev().take(10).copied().collect();
            panic!(
                "the client is not answered before the cut: VIP on 0 {} / 1 {}, tables {} / {}, last requests {recent:?}\n{}\n{}",
                self.holds_vip(0),
                self.holds_vip(1),
                self.table_size(0),
                self.table_size(1),
                self.log(daemon, 0),
                self.log(daemon, 1)
            );
        }
        if self.holds_vip(1) {
            println!(
                "bench_failover_ipvs: {daemon:?}: spurious takeover before the cut:\n{}",
                self.log(daemon, 1)
            );
            drop((r0, r1));
            self.kill_all(0);
            self.kill_all(1);
            self.reset();
            return Err(());
        }
        let standby_table = self.table_size(1);

        // The same phases of the timer for both daemons (see bench_failover).
        let phase = Duration::from_micros(t.interval_ms * (100 + 8 * ((n * 37) % 100) as u64));
        let Some(hb) = self.watch.heartbeat_after(Instant::now(), Duration::from_secs(5)) else {
            panic!("no heartbeat from router 0 seen on router 1's link");
        };
        let mut cut_at = hb + phase;
        while cut_at < Instant::now() + Duration::from_millis(2) {
            cut_at += Duration::from_millis(t.interval_ms);
        }
        std::thread::sleep(cut_at.saturating_duration_since(Instant::now()));
        let cut_at = Instant::now();
        {
            let (rtnl, ports) = &mut *self.switch_rtnl.lock().unwrap();
            for p in ports.iter() {
                rtnl.set_link_up(*p, false).unwrap();
            }
        }
        drop(r0);
        self.kill_all(0);
        let first = self
            .wait_for(GIVE_UP, || self.first_answer_after(cut_at).is_some())
            .then(|| self.first_answer_after(cut_at).unwrap());
        // Let answers to requests in flight land before reading.
        std::thread::sleep(BUDGET * 2);
        let last = self.last_answer_before(cut_at);
        let dead_over =
            self.watch.heartbeat_before(cut_at).map(|h| h + Duration::from_micros(t.dead_us()));
        let arp = self.watch.arp_after(cut_at);
        let timeline = Timeline {
            heartbeats: self
                .watch
                .heartbeats()
                .into_iter()
                .filter(|h| *h + Duration::from_millis(4 * t.interval_ms) > cut_at && *h <= cut_at)
                .collect(),
            cut: cut_at,
            dead_over,
            arp,
            last_answer: last,
            first_answer: first,
        };
        drop(r1);
        self.kill_all(1);
        if daemon == Daemon::Pulse {
            let log = self.log(daemon, 1);
            for line in log.lines().filter(|l| l.contains(" dead (") || l.contains("VIPs up in ")) {
                println!("bench_failover_ipvs: router 1 {line}");
            }
        }
        self.reset();
        // Router 1 cannot notice the cut sooner than the dead interval less
        // one heartbeat interval after it: an answer before that came from
        // a router 1 that had already taken the VIP (it missed heartbeats
        // or adverts after the check above). The run is void.
        let earliest = cut_at + Duration::from_micros(t.dead_us() - t.interval_ms * 1000);
        if first.is_some_and(|f| f < earliest) {
            println!(
                "bench_failover_ipvs: {daemon:?}: router 1 answered {:?} after the cut, before it could notice it: void",
                first.map(|f| f - cut_at)
            );
            return Err(());
        }
        let outage = first.zip(last).map(|(f, l)| f.saturating_duration_since(l));
        let after_dead = first.zip(dead_over).map(|(f, d)| f.saturating_duration_since(d));
        Ok(Run { outage, after_dead, standby_table, timeline })
    }

    /// Every process of router `i` gets SIGKILL: the daemon's process group
    /// is gone already, but lvsd (`--nofork`) runs in a session of its own.
    fn kill_all(&self, i: usize) {
        let ns = &self.topo.directors[i].ns;
        let pids = std::process::Command::new("ip")
            .args(["netns", "pids", ns.name()])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        for pid in pids.split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }

    /// After a run: both routers as new (no VIP, no IPVS table, no leftover
    /// process), router 0's ports up, neighbour caches flushed.
    fn reset(&self) {
        let ipvsadm = ref_ipvsadm();
        for d in &self.topo.directors {
            let _ = d.ns.ip(&["addr", "del", &format!("{}/24", addr::VIP), "dev", "eth0"]);
            if nat(self.forwarding()) {
                let gw = format!("{}/24", addr::NAT_GATEWAY);
                let _ = d.ns.ip(&["addr", "del", &gw, "dev", "eth1"]);
            }
            let _ = d.ns.run(&ipvsadm, &["-C"]);
        }
        {
            let (rtnl, ports) = &mut *self.switch_rtnl.lock().unwrap();
            for p in ports.iter() {
                rtnl.set_link_up(*p, true).unwrap();
            }
        }
        let _ = self.topo.client.ns.ip(&["neigh", "flush", "dev", "eth0"]);
        // Only the next run's events matter: keep the searches short.
        self.requests.lock().unwrap().clear();
        self.watch.clear();
        for rs in &self.topo.real_servers {
            let _ = rs.ns.ip(&["neigh", "flush", "dev", "eth0"]);
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A real server: an HTTP/1.0 answer naming it (`rs<j>`) to each request,
/// each connection on its own thread. (pulse's connect check on port 80
/// sends a `GET` and expects `HTTP`, as piranha's did; keepalived's
/// TCP_CHECK only connects.)
fn real_server(ns: &testbed::Netns, j: usize) {
    let listener = ns.enter(|| TcpListener::bind(("0.0.0.0", 80))).unwrap().unwrap();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = s;
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let mut got = Vec::new();
                let mut buf = [0u8; 512];
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = s.write_all(format!("HTTP/1.0 200 OK\r\n\r\nrs{j}\n").as_bytes());
            });
        }
    });
}

/// One request (`GET /`): connect, send, read the answer, all within
/// [`BUDGET`] of `sent`.
fn ask(to: SocketAddr, sent: Instant) -> bool {
    let left = || BUDGET.checked_sub(sent.elapsed()).filter(|d| !d.is_zero());
    let Some(budget) = left() else { return false };
    let Ok(mut s) = TcpStream::connect_timeout(&to, budget) else { return false };
    let Some(budget) = left() else { return false };
    if s.set_read_timeout(Some(budget)).is_err() || s.set_write_timeout(Some(budget)).is_err() {
        return false;
    }
    if s.write_all(b"GET / HTTP/1.0\r\n\r\n").is_err() {
        return false;
    }
    let mut answer = String::new();
    s.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.0 200")
        && answer.contains("\r\n\r\nrs")
        && left().is_some()
}

fn find_keepalived() -> PathBuf {
    ["/usr/sbin/keepalived", "/sbin/keepalived", "/usr/local/sbin/keepalived"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("keepalived is installed (cargo xtask vm-assets)")
}

/// One failover's events, for the timeline plot.
#[derive(Clone, Debug)]
struct Timeline {
    heartbeats: Vec<Instant>,
    cut: Instant,
    dead_over: Option<Instant>,
    arp: Option<Instant>,
    last_answer: Option<Instant>,
    first_answer: Option<Instant>,
}

impl Timeline {
    /// `bench-data:` fields, in ms relative to the cut.
    fn fields(&self) -> String {
        let rel = |t: Instant| {
            let (a, b) = (t.max(self.cut), t.min(self.cut));
            let ms = (a - b).as_secs_f64() * 1000.0;
            if t >= self.cut {
                ms
            } else {
                -ms
            }
        };
        let opt = |t: Option<Instant>| t.map_or("-".into(), |t| format!("{:.1}", rel(t)));
        let hbs: Vec<String> = self.heartbeats.iter().map(|h| format!("{:.1}", rel(*h))).collect();
        format!(
            "heartbeats={} dead_over={} arp={} last_answer={} first_answer={}",
            if hbs.is_empty() { "-".into() } else { hbs.join(",") },
            opt(self.dead_over),
            opt(self.arp),
            opt(self.last_answer),
            opt(self.first_answer)
        )
    }
}

struct Run {
    outage: Option<Duration>,
    after_dead: Option<Duration>,
    standby_table: usize,
    timeline: Timeline,
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// Median and worst of the runs; failed takeovers count as worst.
fn summary(runs: &[Option<Duration>]) -> (Option<Duration>, Option<Duration>, usize) {
    let mut ok: Vec<Duration> = runs.iter().flatten().copied().collect();
    ok.sort();
    let failed = runs.len() - ok.len();
    (ok.get(ok.len() / 2).copied(), ok.last().copied(), failed)
}

/// `bench` runs 10 times; `bench:N` N times.
fn runs_from_args() -> Option<usize> {
    std::env::args().skip(1).find_map(|a| match a.strip_prefix("bench") {
        Some("") => Some(10),
        Some(n) => n.strip_prefix(':').and_then(|n| n.parse().ok()),
        None => None,
    })
}

fn main() {
    let Some(runs) = runs_from_args() else {
        println!("bench_failover_ipvs: not run; run it with `cargo xtask bench`");
        return;
    };
    let settings = [
        ("1 s / 3 s", "1s", Timers { interval_ms: 1000 }),
        ("100 ms / 300 ms", "100ms", Timers { interval_ms: 100 }),
    ];
    for forwarding in [Forwarding::Nat, Forwarding::DirectRouting] {
        let lab = Lab::new(forwarding);
        let method = if nat(forwarding) { "LVS-NAT" } else { "LVS-DR" };
        let tag = if nat(forwarding) { "nat" } else { "dr" };
        for (label, short, t) in settings {
            let mut totals = Vec::new();
            let mut afters = Vec::new();
            let mut spurious = Vec::new();
            for daemon in [Daemon::Pulse, Daemon::Keepalived] {
                lab.write_configs(daemon, t);
                let mut void = 0;
                let mut got = Vec::new();
                for n in 0..runs {
                    let run = loop {
                        match lab.run_once(daemon, t, n) {
                            Ok(r) => break Some(r),
                            Err(()) if void < runs => void += 1,
                            Err(()) => break None,
                        }
                    };
                    let Some(run) = run else {
                        got.push((None, None));
                        continue;
                    };
                    let name = format!("{daemon:?}").to_lowercase();
                    println!(
                        "bench_failover_ipvs: {daemon:?} {method} {label} run {n}: outage {:?}, after the dead interval {:?}, standby table {} of {REAL_SERVERS}",
                        run.outage, run.after_dead, run.standby_table
                    );
                    if let Some(o) = run.outage {
                        println!(
                            "bench-data: failover-ipvs {tag} {short} {name} outage_ms={:.1}",
                            o.as_secs_f64() * 1000.0
                        );
                    }
                    if n == 0 {
                        println!(
                            "bench-data: failover-timeline {tag} {short} {name} {}",
                            run.timeline.fields()
                        );
                    }
                    got.push((run.outage, run.after_dead));
                }
                spurious.push(void);
                totals.push(summary(&got.iter().map(|g| g.0).collect::<Vec<_>>()));
                afters.push(summary(&got.iter().map(|g| g.1).collect::<Vec<_>>()));
            }
            let show = |i: usize| {
                let (m, w, f) = totals[i];
                let (am, aw, _) = afters[i];
                let mut s = match (m, w) {
                    (Some(m), Some(w)) => format!("median {} / worst {}", ms(m), ms(w)),
                    _ => format!("no takeover in {runs} runs"),
                };
                if f > 0 {
                    s += &format!(" ({f} of {runs} never answered again)");
                }
                if let (Some(am), Some(aw)) = (am, aw) {
                    s +=
                        &format!("; after the dead interval: median {} / worst {}", ms(am), ms(aw));
                }
                if spurious[i] > 0 {
                    s += &format!(
                        "; {} spurious takeover(s) before the cut (runs repeated)",
                        spurious[i]
                    );
                }
                s
            };
            let (pm, km) = (totals[0].0, totals[1].0);
            let ratio = match (pm, km) {
                (Some(p), Some(k)) => format!("{:.2}", p.as_secs_f64() / k.as_secs_f64()),
                _ => "-".into(),
            };
            // Within the client's resolution (two polls) counts as equal.
            let no_worse =
                totals[0].2 == 0 && matches!((pm, km), (Some(p), Some(k)) if p <= k + POLL * 2);
            let quick = afters[0].0.is_some_and(|a| a <= Duration::from_millis(50));
            let met = match (no_worse, quick) {
                (true, true) => "met",
                (false, true) => "MISSED (median above keepalived's)",
                (true, false) => "MISSED (after the dead interval over 50 ms)",
                (false, false) => {
                    "MISSED (median above keepalived's; after the dead interval over 50 ms)"
                }
            };
            println!(
                "bench-row: Failover through IPVS, {method}, timers {label}, {runs} runs|pulse, hot standby: {}|keepalived 2.2.7, VRRPv3 + checkers: {}|{ratio}|median no worse than keepalived's, after the dead interval ≤ 50 ms median: {met}|`cargo xtask bench --only failover`",
                show(0),
                show(1)
            );
        }
        drop(lab);
    }
}
