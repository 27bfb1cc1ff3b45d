//! Benchmark, not a test: the outage a client sees when the active router
//! dies, pulse versus keepalived's VRRP at equivalent timers.
//!
//! Two routers and a client are network namespaces joined by a bridge. The
//! VIP is on the active router, where a UDP echo answers; the client sends a
//! numbered datagram to the VIP every 10 ms and keeps the arrival time of
//! every reply. A capture on router 1's interface timestamps every
//! heartbeat (pulse) or advertisement (VRRP) router 0 sends. A run starts
//! both daemons (router 0 first, so it becomes active), waits until the
//! client is answered, waits for one of router 0's heartbeats and then a
//! set fraction of the interval (the same fractions for both daemons), then
//! kills router 0 the way a power cut would: its bridge port goes down and
//! every process of its daemon gets SIGKILL, in that order. The outage is
//! the gap between the last reply before the kill and the first one after
//! it (the new active router adds the VIP and announces it with gratuitous
//! ARP). The part of it that does not depend on the phase of the kill is
//! also reported: from the last heartbeat router 1 heard, plus the dead
//! interval, to the first reply.
//!
//! Run by `cargo xtask bench` (in the test guest), or alone with
//! `cargo xtask vm-test --suite bench_failover bench`. It also runs on a
//! host with namespaces, `keepalived` and the workspace binaries in
//! `LVS_BIN_DIR`. It prints `bench-row:` lines that `cargo xtask bench`
//! turns into the table of `docs/benchmarks.md`; it asserts nothing on
//! time and fails only when the lab cannot be built.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark's report is its output

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// `Running`: dropping it SIGKILLs the daemon's whole process group
// (keepalived's children, pulse's lvsd), as a power cut would.
use lvs_tests::capture::recv_stamped;
use lvs_tests::failover::{Timers, Watch};
use lvs_tests::guest::Running;
use nix::sys::socket::{self, sockopt};
use testbed::Netns;

const VIP: &str = "10.77.0.100";
const ECHO_PORT: u16 = 7007;
const POLL: Duration = Duration::from_millis(10);
/// A run whose client is not answered again within this is a failed takeover.
const GIVE_UP: Duration = Duration::from_secs(30);
const KEY: &[u8] = b"failover bench key, 32 bytes ok!";

fn router_addr(i: usize) -> String {
    format!("10.77.0.{}", i + 1)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Daemon {
    Pulse,
    Keepalived,
}

struct Lab {
    hub: Netns,
    /// An rtnetlink socket in the hub and router 0's port there: the cut is
    /// one netlink request from this process, not an `ip` process whose
    /// start-up (tens to hundreds of ms in a busy guest) would move it.
    hub_rtnl: Mutex<(lvs_net::Rtnl, u32)>,
    routers: Vec<Netns>,
    client: Netns,
    dir: PathBuf,
    bin_dir: PathBuf,
    keepalived: PathBuf,
    /// Arrival time of each reply and the router (0, 1) that sent it.
    replies: Arc<Mutex<Vec<(Instant, u8)>>>,
    /// At router 1: the heartbeats/adverts from router 0 and the
    /// gratuitous ARPs router 1 sends.
    watch: Watch,
}

fn bin_dir() -> PathBuf {
    std::env::var_os("LVS_BIN_DIR").map(PathBuf::from).unwrap_or_else(|| {
        let exe = std::env::current_exe().unwrap();
        // target/debug/deps/bench_failover-HASH -> target/debug
        exe.parent().unwrap().parent().unwrap().to_path_buf()
    })
}

fn find_keepalived() -> PathBuf {
    ["/usr/sbin/keepalived", "/sbin/keepalived", "/usr/local/sbin/keepalived"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("keepalived is installed (cargo xtask vm-assets)")
}

impl Lab {
    fn new() -> Lab {
        let hub = Netns::new("fohub").unwrap();
        hub.batch("link add br0 type bridge ageing_time 0\nlink set br0 up\n").unwrap();
        let routers = vec![Netns::new("for0").unwrap(), Netns::new("for1").unwrap()];
        let client = Netns::new("focli").unwrap();
        let ends: Vec<(&Netns, String, String)> = vec![
            (&routers[0], "p0".into(), router_addr(0)),
            (&routers[1], "p1".into(), router_addr(1)),
            (&client, "pc".into(), "10.77.0.50".into()),
        ];
        for (ns, port, addr) in ends {
            ns.ip(&[
                "link",
                "add",
                "eth0",
                "type",
                "veth",
                "peer",
                "name",
                &port,
                "netns",
                hub.name(),
            ])
            .unwrap();
            hub.ip(&["link", "set", &port, "master", "br0", "up"]).unwrap();
            ns.batch(&format!("addr add {addr}/24 dev eth0\nlink set eth0 up\n")).unwrap();
        }
        let dir = std::env::temp_dir().join(format!("bench-failover-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("key");
        std::fs::write(&key, KEY).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let lvsd = dir.join("lvsd");
        std::fs::write(&lvsd, "#!/bin/sh\ntrap '' HUP\nexec sleep 3600\n").unwrap();
        std::fs::set_permissions(&lvsd, std::fs::Permissions::from_mode(0o755)).unwrap();
        for (i, ns) in routers.iter().enumerate() {
            echo_server(ns, i as u8);
        }
        let replies = Arc::new(Mutex::new(Vec::new()));
        let hub_rtnl = hub
            .enter(|| {
                let mut r = lvs_net::Rtnl::open().unwrap();
                let p0 = r.link("p0").unwrap().index;
                (r, p0)
            })
            .unwrap();
        let lab = Lab {
            hub_rtnl: Mutex::new(hub_rtnl),
            hub,
            routers,
            client,
            dir,
            bin_dir: bin_dir(),
            keepalived: find_keepalived(),
            replies,
            watch: Watch::default(),
        };
        lab.start_client();
        lab.start_capture();
        lab
    }

    /// On router 1's link: router 0's heartbeats/adverts and router 1's
    /// gratuitous ARPs.
    fn start_capture(&self) {
        let from: Ipv4Addr = router_addr(0).parse().unwrap();
        let vip: Ipv4Addr = VIP.parse().unwrap();
        self.watch.start(&self.routers[1], from, vip);
    }

    /// The client: one datagram to the VIP every [`POLL`], replies timed.
    fn start_client(&self) {
        let sock = self.client.enter(|| UdpSocket::bind("10.77.0.50:0")).unwrap().unwrap();
        // Replies are timed by the kernel on arrival: a client thread that
        // runs late in a busy guest does not move them.
        socket::setsockopt(&sock, sockopt::ReceiveTimestampns, &true).unwrap();
        let to: SocketAddr = format!("{VIP}:{ECHO_PORT}").parse().unwrap();
        let replies = Arc::clone(&self.replies);
        std::thread::spawn(move || {
            let mut next = Instant::now();
            let mut seq: u64 = 0;
            let mut buf = [0u8; 64];
            loop {
                if Instant::now() >= next {
                    seq += 1;
                    // A send may fail while no router answers ARP; keep going.
                    let _ = sock.send_to(&seq.to_be_bytes(), to);
                    next += POLL;
                    if next < Instant::now() {
                        next = Instant::now() + POLL;
                    }
                }
                // Wait for replies until the next send is due.
                let wait = next.saturating_duration_since(Instant::now());
                sock.set_read_timeout(Some(wait.max(Duration::from_micros(100)))).unwrap();
                if let Some((n, at, _)) = recv_stamped(&sock, &mut buf) {
                    if n == 9 {
                        replies.lock().unwrap().push((at, buf[8]));
                    }
                }
            }
        });
    }

    fn last_reply(&self) -> Option<Instant> {
        self.replies.lock().unwrap().last().map(|r| r.0)
    }

    /// The first reply router 1 sent after `t`.
    fn takeover_after(&self, t: Instant) -> Option<Instant> {
        self.replies.lock().unwrap().iter().find(|r| r.0 > t && r.1 == 1).map(|r| r.0)
    }

    fn holds_vip(&self, i: usize) -> bool {
        self.routers[i]
            .ip(&["-o", "-4", "addr", "show", "dev", "eth0"])
            .is_ok_and(|o| o.contains(&format!("{VIP}/")))
    }

    fn write_configs(&self, daemon: Daemon, t: Timers) {
        match daemon {
            Daemon::Pulse => {
                let yaml = format!(
                    "routers:\n  pool:\n    - {{ address: {} }}\n    - {{ address: {} }}\n\
                     heartbeat: {{ keepalive: {}ms, deadtime: {}ms, auth_key_file: {} }}\n\
                     arp: {{ count: 2, interval: 100ms }}\n\
                     paths: {{ send_arp: {}/send_arp, lvsd: {} }}\n\
                     virtual_services:\n  - {{ name: web, vip: {{ address: {VIP}, interface: eth0, netmask: 24 }}, port: 80 }}\n",
                    router_addr(0),
                    router_addr(1),
                    t.interval_ms,
                    t.pulse_deadtime_ms(),
                    self.dir.join("key").display(),
                    self.bin_dir.display(),
                    self.dir.join("lvsd").display(),
                );
                std::fs::write(self.dir.join("pulse.yaml"), yaml).unwrap();
            }
            Daemon::Keepalived => {
                for i in 0..2 {
                    let advert = t.interval_ms as f64 / 1000.0;
                    let conf = format!(
                        "global_defs {{\n  router_id r{i}\n  vrrp_version 3\n}}\n\
                         vrrp_instance VI_1 {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
                         priority {}\n  advert_int {advert}\n  virtual_ipaddress {{\n    {VIP}/24 dev eth0\n  }}\n}}\n",
                        254 - i,
                    );
                    std::fs::write(self.dir.join(format!("keepalived{i}.conf")), conf).unwrap();
                }
            }
        }
    }

    fn start(&self, daemon: Daemon, i: usize) -> Running {
        let log = std::fs::File::create(self.dir.join(format!("{daemon:?}{i}.log"))).unwrap();
        let mut cmd = match daemon {
            Daemon::Pulse => {
                let mut c = self.routers[i].command(self.bin_dir.join("pulse"));
                c.arg("-n")
                    .arg("-c")
                    .arg(self.dir.join("pulse.yaml"))
                    .arg(format!("--lvsd={}", self.dir.join("lvsd").display()))
                    .arg(format!("--socket={}", self.dir.join(format!("pulse{i}.sock")).display()));
                c
            }
            Daemon::Keepalived => {
                let mut c = self.routers[i].command(&self.keepalived);
                let d = &self.dir;
                // A SIGKILLed keepalived leaves its pid files; a reused pid
                // would make the next one think it is already running.
                for f in ["", "-vrrp", "-check"] {
                    let _ = std::fs::remove_file(d.join(format!("ka{i}{f}.pid")));
                }
                c.args(["-n", "-l", "-G", "-P", "-f"])
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
        Running(
            cmd.process_group(0)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap(),
        )
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

    /// One kill of the active router; the client-observed outage, or `None`
    /// when the backup never took over.
    /// `Err(())`: router 1 took the VIP while router 0 was still alive (a
    /// spurious takeover: it missed adverts or heartbeats); the run is void.
    fn run_once(&self, daemon: Daemon, t: Timers, n: usize) -> Result<Option<Outage>, ()> {
        let r0 = self.start(daemon, 0);
        // keepalived starts in BACKUP and waits a master-down interval first.
        let up = self.wait_for(Duration::from_secs(20), || self.holds_vip(0));
        assert!(up, "router 0 never took the VIP:\n{}", self.log(daemon, 0));
        let r1 = self.start(daemon, 1);
        // Let router 1 hear router 0 and settle as backup, and the client be answered.
        std::thread::sleep(Duration::from_millis(
            (t.pulse_deadtime_ms() + 2 * t.interval_ms).max(1500),
        ));
        let answered = self.wait_for(Duration::from_secs(10), || {
            self.last_reply().is_some_and(|r| r.elapsed() < Duration::from_millis(200))
        });
        assert!(answered, "the client is not answered before the kill");
        if self.holds_vip(1) {
            println!(
                "bench_failover: {daemon:?}: spurious takeover, router 1 holds the VIP before the kill:\n{}",
                self.log(daemon, 1)
            );
            drop(r0);
            drop(r1);
            self.reset();
            return Err(());
        }

        // The kill falls at a different phase of the heartbeat/advert timer
        // in each run (the outage depends on it: the backup counts from the
        // last heartbeat it heard), the same phases for both daemons: a set
        // fraction of the interval after one of router 0's heartbeats,
        // between 0.1 and 0.9: at the edges a few ms of timer jitter decide
        // whether one more heartbeat gets through, a whole interval.
        let phase = Duration::from_micros(t.interval_ms * (100 + 8 * ((n * 37) % 100) as u64));
        let Some(hb) = self.watch.heartbeat_after(Instant::now(), Duration::from_secs(5)) else {
            panic!("no heartbeat from router 0 seen on router 1's link");
        };
        // If this thread learnt of the heartbeat late (a busy guest), aim at
        // the same phase of the next one.
        let mut kill_at = hb + phase;
        while kill_at < Instant::now() + Duration::from_millis(2) {
            kill_at += Duration::from_millis(t.interval_ms);
        }
        std::thread::sleep(kill_at.saturating_duration_since(Instant::now()));
        let kill_at = Instant::now();
        {
            let (rtnl, p0) = &mut *self.hub_rtnl.lock().unwrap();
            rtnl.set_link_up(*p0, false).unwrap();
        }
        // Nothing from router 0 reaches anyone after this.
        let cut_at = Instant::now();
        drop(r0);
        // The first reply router 1 sends (router 0's replies in flight are
        // ignored). The times are the kernel's, so they are read once the
        // takeover is over.
        let first = self
            .wait_for(GIVE_UP, || self.takeover_after(kill_at).is_some())
            .then(|| self.takeover_after(kill_at).unwrap());
        std::thread::sleep(Duration::from_millis(100));
        let last_before =
            self.replies.lock().unwrap().iter().rev().find(|r| r.0 <= cut_at && r.1 == 0).copied();
        assert!(last_before.is_some(), "router 0 never answered before the kill");
        // From the cut (the request that took the port down began): a
        // client thread that stalled before it (a busy
        // guest) would otherwise add its own gap; it is at most one poll
        // after the last reply when the client keeps its pace.
        let outage = first.map(|f| f.saturating_duration_since(kill_at));
        // Split at router 1's first gratuitous ARP: from the end of the dead
        // interval after the last heartbeat it heard to the ARP (detection
        // beyond the timer, taking the VIP, announcing it), and from the
        // ARP to the first answer (the client switching over).
        let dead = Duration::from_micros(t.dead_us());
        let dead_over = self.watch.heartbeat_before(cut_at).map(|h| h + dead);
        let arp = self.watch.arp_after(kill_at);
        let after_dead = first.zip(dead_over).map(|(f, d)| f.saturating_duration_since(d));
        let reaction = arp.zip(dead_over).map(|(a, d)| a.saturating_duration_since(d));
        let announce = first.zip(arp).map(|(f, a)| f.saturating_duration_since(a));
        drop(r1);
        if daemon == Daemon::Pulse {
            // pulse's own account: how late the peer was declared dead, and
            // how long taking the VIP and announcing it took.
            let log = self.log(daemon, 1);
            for line in log.lines().filter(|l| l.contains(" dead (") || l.contains("VIPs up in ")) {
                println!("bench_failover: router 1 {line}");
            }
        }
        self.reset();
        Ok(outage.map(|total| Outage { total, reaction, announce, after_dead }))
    }

    /// After a run: VIP off both routers, port up, client's ARP entry gone.
    fn reset(&self) {
        for ns in &self.routers {
            let _ = ns.ip(&["addr", "del", &format!("{VIP}/24"), "dev", "eth0"]);
        }
        self.hub.ip(&["link", "set", "p0", "up"]).unwrap();
        let _ = self.client.ip(&["neigh", "flush", "dev", "eth0"]);
        // Let the routers' links come back before the next start.
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// One run's outage, and its parts after the dead interval ran out (last
/// heartbeat heard + dead interval): to router 1's first gratuitous ARP
/// (`reaction`), from that ARP to the first reply (`announce`), and the
/// two together (`after_dead`).
#[derive(Clone, Copy, Debug)]
struct Outage {
    total: Duration,
    reaction: Option<Duration>,
    announce: Option<Duration>,
    after_dead: Option<Duration>,
}

/// Answers every datagram on the echo port, from whichever address the
/// router holds (the VIP only while it is active).
/// The reply is the request's 8 bytes and the router's number.
fn echo_server(ns: &Netns, id: u8) {
    let sock = ns.enter(|| UdpSocket::bind(("0.0.0.0", ECHO_PORT))).unwrap().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            if n == 8 {
                buf[8] = id;
                let _ = sock.send_to(&buf[..9], from);
            }
        }
    });
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// Median and worst of the runs; failed takeovers count as worst.
fn summary(runs: &[Option<Duration>]) -> (Option<Duration>, Option<Duration>, usize) {
    let mut ok: Vec<Duration> = runs.iter().flatten().copied().collect();
    ok.sort();
    let failed = runs.len() - ok.len();
    let median = ok.get(ok.len() / 2).copied();
    (median, ok.last().copied(), failed)
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
    // xtask hands every suite its FILTER as an argument (after `--color never`).
    let Some(runs) = runs_from_args() else {
        println!("bench_failover: not run; run it with `cargo xtask bench`");
        return;
    };
    let lab = Lab::new();
    let settings = [
        ("1 s / 3 s", Timers { interval_ms: 1000 }),
        ("100 ms / 300 ms", Timers { interval_ms: 100 }),
    ];
    for (label, t) in settings {
        let mut results = Vec::new();
        let mut reactions = Vec::new();
        let mut announces = Vec::new();
        let mut afters = Vec::new();
        let mut spurious: Vec<usize> = Vec::new();
        for daemon in [Daemon::Pulse, Daemon::Keepalived] {
            spurious.push(0);
            lab.write_configs(daemon, t);
            let outages: Vec<Option<Outage>> = (0..runs)
                .map(|n| loop {
                    match lab.run_once(daemon, t, n) {
                        Ok(o) => {
                            println!("bench_failover: {daemon:?} {label} run {n}: {o:?}");
                            break o;
                        }
                        // Void: counted and reported, the run is repeated.
                        Err(()) if spurious[spurious.len() - 1] < runs => {
                            *spurious.last_mut().unwrap() += 1;
                        }
                        Err(()) => break None,
                    }
                })
                .collect();
            let totals: Vec<Option<Duration>> =
                outages.iter().map(|o| o.map(|o| o.total)).collect();
            let announce: Vec<Option<Duration>> =
                outages.iter().map(|o| o.and_then(|o| o.announce)).collect();
            let reaction: Vec<Option<Duration>> =
                outages.iter().map(|o| o.and_then(|o| o.reaction)).collect();
            results.push(summary(&totals));
            announces.push(summary(&announce).0);
            reactions.push(summary(&reaction).0);
            let after: Vec<Option<Duration>> =
                outages.iter().map(|o| o.and_then(|o| o.after_dead)).collect();
            afters.push(summary(&after).0);
        }
        let [(pm, pw, pf), (km, kw, kf)] = [results[0], results[1]];
        let gap = |i: usize, spurious: usize| {
            let part = |what: &str, d: Option<Duration>| {
                d.map_or(String::new(), |d| format!("; {what}: median {}", ms(d)))
            };
            let a = part("end of dead interval to gratuitous ARP", reactions[i])
                + &part("ARP to answered", announces[i])
                + &part("end of dead interval to answered", afters[i]);
            if spurious > 0 {
                format!("{a}; {spurious} spurious takeover(s) before the kill (runs repeated)")
            } else {
                a
            }
        };
        let show = |m: Option<Duration>, w: Option<Duration>, f: usize| match (m, w) {
            (Some(m), Some(w)) if f == 0 => format!("median {} / worst {}", ms(m), ms(w)),
            (Some(m), Some(w)) => {
                format!("median {} / worst {} ({f} of {runs} never taken over)", ms(m), ms(w))
            }
            _ => format!("no takeover in {runs} runs"),
        };
        let ratio = match (pm, km) {
            (Some(p), Some(k)) => format!("{:.2}", p.as_secs_f64() / k.as_secs_f64()),
            _ => "-".into(),
        };
        let fast = t.interval_ms < 1000;
        // Within the client's resolution (two polls) counts as equal.
        let no_worse = pf == 0 && matches!((pm, km), (Some(p), Some(k)) if p <= k + POLL * 2);
        let sub_second = pf == 0 && pw.is_some_and(|w| w < Duration::from_secs(1));
        let met = match (fast, no_worse, sub_second) {
            (false, true, _) => "met",
            (false, false, _) => "MISSED (median above keepalived's)",
            (true, true, true) => "met",
            (true, false, true) => "MISSED (median above keepalived's; sub-second met)",
            (true, true, false) => "MISSED (worst not sub-second)",
            (true, false, false) => "MISSED (median above keepalived's, worst not sub-second)",
        };
        let target = if fast {
            "no worse than keepalived, worst under 1 s"
        } else {
            "median no worse than keepalived (± 20 ms)"
        };
        println!(
            "bench-row: Failover outage, timers {label}, {runs} runs|pulse: {}|keepalived VRRPv3: {}|{ratio}|{target}: {met}|`cargo xtask bench --only failover`",
            show(pm, pw, pf) + &gap(0, spurious[0]),
            show(km, kw, kf) + &gap(1, spurious[1])
        );
    }
    drop(lab);
}
