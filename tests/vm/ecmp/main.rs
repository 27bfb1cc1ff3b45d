//! Active-active directors behind ECMP (issue 22), on the real kernel with
//! real BIRD: an upstream router namespace running BIRD (`etc/bird-
//! upstream.conf`: BGP multipath, BFD; `fib_multipath_hash_policy=1`, so
//! flows are spread by addresses and ports) in front of three directors,
//! each running BIRD (`etc/bird-ecmp.conf`), pulse and lvsd from
//! `etc/ecmp.yaml`, four LVS-DR real servers set up by `lvs-node` (the VIPs
//! on `lo`, `arp_ignore`/`arp_announce`), and a client with many source
//! addresses. Measured and printed:
//!
//! - spread: the share of new flows each director's IPVS counters saw;
//! - director power-off (every process killed, its namespace and links
//!   gone): how long the upstream keeps its routes (BFD's detection time,
//!   200 ms x 5 here instead of the sample's 100 ms x 3: a software-emulated
//!   guest (TCG) cannot keep 100 ms x 3 without false alarms), which new
//!   connections fail (only inside that window), and the share of its
//!   established long-lived TCP connections that keep working through
//!   another director to the same real server (no connection sync: `mh`
//!   with every server in every table, and `sloppy_tcp`);
//! - director return: announced only once lvsd's table is ready; the share
//!   of flows that moved to it, and that the moved connections work;
//! - one director losing the only real server of a VIP withdraws that VIP
//!   alone.
//!
//! Run with `cargo xtask vm-test --suite ecmp`.

// Helpers of a test file: a failed unwrap is a failed test, with its place.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lvs_tests::guest::{bin, ref_ipvsadm, spawn, Running};
use lvs_tests::traffic::{Dir, RealServer, Timeline};
use nix::sched::{setns, CloneFlags};
use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn};
use testbed::Netns;

mod traffic;

use traffic::{get, get_from, ipvs_clients, ipvs_conns, Session};

const CONFIG: &str = include_str!("../../../etc/ecmp.yaml");
const DIRECTOR_BIRD: &str = include_str!("../../../etc/bird-ecmp.conf");
const UPSTREAM_BIRD: &str = include_str!("../../../etc/bird-upstream.conf");

const WEB: Ipv4Addr = Ipv4Addr::new(10, 0, 100, 1);
const API: Ipv4Addr = Ipv4Addr::new(10, 0, 100, 2);
const DIRECTORS: usize = 3;
const SERVERS: [&str; 4] = ["web1", "web2", "web3", "web4"];
/// Source addresses of the client (10.9.1.1 and up).
const SOURCES: u8 = 60;
/// BFD in this test: 200 ms x 5 at both ends.
const BFD: Duration = Duration::from_millis(1000);
/// How often the upstream's table is read (one `ip route` in the guest).
const POLL: Duration = Duration::from_millis(20);
/// Bound for what the cluster does on its own (start, BGP, checks).
const LONG: Duration = Duration::from_secs(60);

fn director_addr(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, 1 + u8::try_from(i).unwrap())
}

fn source(k: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 9, 1, 1 + k)
}

fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The upstream's next hops for `vip`, as director indices.
fn next_hops(up: &Netns, vip: Ipv4Addr) -> BTreeSet<usize> {
    let text = ip(&["-n", up.name(), "route", "show", &vip.to_string()]);
    (0..DIRECTORS).filter(|i| text.contains(&format!("via {} ", director_addr(*i)))).collect()
}

/// The upstream's route changes as `ip monitor route` prints them, each
/// timed when it arrives: polling with `ip route` costs a process per
/// look, which a loaded emulated guest makes slow, so the times come
/// from here.
struct RouteWatch {
    events: Arc<Mutex<Vec<(Instant, String)>>>,
    _child: Running,
}

impl RouteWatch {
    fn start(up: &Netns, log: &std::path::Path) -> RouteWatch {
        let mut child = Command::new("ip")
            .args(["-n", up.name(), "monitor", "route"])
            .stdout(std::process::Stdio::piped())
            .stderr(File::create(log).unwrap())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let events: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
        let ev = events.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                let mut ev = ev.lock().unwrap();
                // A multipath route's next hops come on lines of their own.
                match ev.last_mut() {
                    Some((_, text)) if line.starts_with([' ', '\t']) => {
                        text.push_str(&line);
                        text.push(' ');
                    }
                    _ => ev.push((Instant::now(), format!("{line} "))),
                }
            }
        });
        // `ip monitor` is listening once it runs; give it that moment.
        std::thread::sleep(Duration::from_millis(200));
        RouteWatch { events, _child: Running(child) }
    }

    /// When the first change to `vip`'s route after `after` satisfied
    /// `ok` (deletions of the old route are skipped).
    fn first(&self, vip: Ipv4Addr, after: Instant, ok: impl Fn(&str) -> bool) -> Option<Instant> {
        let v = format!("{vip} ");
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, e)| *t >= after && e.starts_with(&v))
            .find(|(_, e)| ok(e))
            .map(|(t, _)| *t)
    }
}

fn via(i: usize) -> String {
    format!("via {} ", director_addr(i))
}

/// The director's BIRD configuration: the sample with its address, and
/// the test's BFD timers (200 ms x 5).
fn director_bird(i: usize) -> String {
    let me = director_addr(i).to_string();
    let text = DIRECTOR_BIRD
        .replace("router id 10.0.0.1;", &format!("router id {me};"))
        .replace("local 10.0.0.1 as", &format!("local {me} as"))
        .replace("min rx interval 100 ms;", "min rx interval 200 ms;")
        .replace("min tx interval 100 ms;", "min tx interval 200 ms;")
        .replace("multiplier 3;", "multiplier 5;");
    assert!(text.contains(&format!("router id {me};")) && text.contains("multiplier 5;"));
    text
}

struct Lab {
    dir: Dir,
    config: PathBuf,
    sw: Netns,
    up: Netns,
    client: Netns,
    directors: Vec<Option<Netns>>,
    servers: Vec<Netns>,
    upstream_bird: Option<Running>,
    /// BIRD and pulse per director.
    running: Vec<Vec<Running>>,
    nodes: Vec<Running>,
    apps: Vec<RealServer>,
    log: Timeline,
}

impl Lab {
    fn new() -> Lab {
        let log = Timeline { t0: Instant::now(), tag: "ecmp" };
        let dir = Dir::new("ecmp", "lab");
        let sw = Netns::new("sw").unwrap();
        sw.batch("link add br0 type bridge ageing_time 0\nlink set br0 up\n").unwrap();
        let up = Netns::new("up").unwrap();
        let client = Netns::new("client").unwrap();
        up.batch(&format!(
            "link add eth0 type veth peer name pup netns {sw}\n\
             addr add 10.0.0.254/24 dev eth0\nlink set eth0 up\n\
             link add eth1 type veth peer name eth0 netns {cl}\n\
             addr add 10.9.255.254/16 dev eth1\nlink set eth1 up\n",
            sw = sw.name(),
            cl = client.name()
        ))
        .unwrap();
        sw.batch("link set pup master br0 up\n").unwrap();
        up.sysctl("net.ipv4.ip_forward", "1").unwrap();
        up.sysctl("net.ipv4.fib_multipath_hash_policy", "1").unwrap();
        let mut script = String::from("addr add 10.9.0.1/16 dev eth0\n");
        for k in 0..SOURCES {
            script.push_str(&format!("addr add {}/16 dev eth0\n", source(k)));
        }
        script.push_str("link set eth0 up\nroute add default via 10.9.255.254\n");
        client.batch(&script).unwrap();
        let mut servers = Vec::new();
        for (j, _) in SERVERS.iter().enumerate() {
            let ns = Netns::new(&format!("rs{j}")).unwrap();
            ns.batch(&format!(
                "link add eth0 type veth peer name pr{j} netns {sw}\n\
                 addr add 10.0.0.{}/24 dev eth0\nlink set eth0 up\n\
                 route add default via 10.0.0.254\n",
                11 + j,
                sw = sw.name()
            ))
            .unwrap();
            sw.batch(&format!("link set pr{j} master br0 up\n")).unwrap();
            servers.push(ns);
        }
        let ipvsadm = ref_ipvsadm();
        let config = dir.0.join("ecmp.yaml");
        std::fs::write(
            &config,
            format!(
                "{CONFIG}\npaths:\n  lvsd: {}\n  nanny: {}\n  ipvsadm: {ipvsadm}\n  overrides: {}\n",
                bin("lvsd").display(),
                bin("nanny").display(),
                dir.0.join("overrides").display()
            ),
        )
        .unwrap();
        let upstream_conf = dir.0.join("bird-upstream.conf");
        std::fs::write(&upstream_conf, UPSTREAM_BIRD).unwrap();
        let mut lab = Lab {
            config,
            sw,
            up,
            client,
            directors: (0..DIRECTORS).map(|_| None).collect(),
            servers,
            upstream_bird: None,
            running: (0..DIRECTORS).map(|_| Vec::new()).collect(),
            nodes: Vec::new(),
            apps: Vec::new(),
            log,
            dir,
        };
        lab.upstream_bird = Some(lab.bird(&lab.up, &upstream_conf, "up"));
        for (j, ns) in lab.servers.iter().enumerate() {
            let mut cmd = Command::new("ip");
            cmd.args(["netns", "exec", ns.name()]).arg(bin("lvs-node")).arg("-c").arg(&lab.config);
            cmd.arg(format!("--state={}", lab.dir.0.join(format!("node{j}.journal")).display()));
            lab.nodes.push(spawn(cmd, &lab.dir.0.join(format!("node{j}.log"))));
            lab.apps.push(RealServer::start(ns, SERVERS[j]));
        }
        for i in 0..DIRECTORS {
            lab.power_on(i);
        }
        lab
    }

    /// BIRD in `ns`, in the foreground, with its own control socket.
    fn bird(&self, ns: &Netns, conf: &std::path::Path, tag: &str) -> Running {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns.name(), "bird", "-f", "-c"]).arg(conf);
        cmd.arg("-s").arg(self.dir.0.join(format!("bird-{tag}.ctl")));
        spawn(cmd, &self.dir.0.join(format!("bird-{tag}.log")))
    }

    fn socket(&self, i: usize) -> PathBuf {
        self.dir.0.join(format!("pulse{i}.sock"))
    }

    fn ready_file(&self, i: usize) -> PathBuf {
        self.socket(i).with_extension("lvsd-ready")
    }

    /// A new director namespace (the same MAC every time, as a machine
    /// that reboots), then BIRD and pulse in it.
    fn power_on(&mut self, i: usize) {
        let ns = Netns::new(&format!("lvs{}", i + 1)).unwrap();
        ns.batch(&format!(
            "link add eth0 address 02:00:00:00:00:0{} type veth peer name pd{i} netns {sw}\n\
             addr add {}/24 dev eth0\nlink set eth0 up\nroute add default via 10.0.0.254\n",
            i + 1,
            director_addr(i),
            sw = self.sw.name()
        ))
        .unwrap();
        self.sw.batch(&format!("link set pd{i} master br0 up\n")).unwrap();
        let conf = self.dir.0.join(format!("bird-lvs{}.conf", i + 1));
        std::fs::write(&conf, director_bird(i)).unwrap();
        let _ = std::fs::remove_file(self.ready_file(i));
        let bird = self.bird(&ns, &conf, &format!("lvs{}", i + 1));
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns.name()]).arg(bin("pulse")).arg("-n");
        cmd.arg(format!("--socket={}", self.socket(i).display())).arg("-c").arg(&self.config);
        let pulse = spawn(cmd, &self.dir.0.join(format!("pulse{i}.log")));
        self.running[i] = vec![bird, pulse];
        self.directors[i] = Some(ns);
    }

    /// Power loss: its link cut, then every process of the director
    /// killed and its namespace (with its IPVS connections) gone.
    fn power_off(&mut self, i: usize) {
        let ns = self.directors[i].take().unwrap();
        // The cable first: nothing may leave the director once it is off
        // (a killed BIRD's socket would otherwise send a FIN, and the
        // upstream would close the session at once instead of by BFD).
        self.sw.ip(&["link", "del", &format!("pd{i}")]).unwrap();
        let pids = ip(&["netns", "pids", ns.name()]);
        for pid in pids.split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
            let _ =
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL);
        }
        self.running[i].clear();
        drop(ns);
    }

    fn director(&self, i: usize) -> &Netns {
        self.directors[i].as_ref().unwrap()
    }

    fn wait(&self, what: &str, mut ok: impl FnMut() -> bool) -> Duration {
        let start = Instant::now();
        while !ok() {
            assert!(start.elapsed() < LONG, "timed out waiting for {what}\n{}", self.logs());
            std::thread::sleep(POLL);
        }
        start.elapsed()
    }

    fn logs(&self) -> String {
        let mut out = String::new();
        for e in std::fs::read_dir(&self.dir.0).unwrap().flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "log") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(30).collect();
                out.push_str(&format!("---- {} ----\n", p.display()));
                for l in tail.iter().rev() {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
        out
    }

    /// Runs `f` on a thread in the client's namespace.
    fn in_client<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> std::thread::JoinHandle<R> {
        let path = format!("/run/netns/{}", self.client.name());
        std::thread::spawn(move || {
            setns(File::open(&path).unwrap(), CloneFlags::CLONE_NEWNET).unwrap();
            f()
        })
    }
}

/// New connections made every 20 ms from rotating sources while a thread
/// runs: (start, ok) of each.
struct Load {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<(Instant, Duration, bool)>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(lab: &Lab) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (s, v) = (stop.clone(), seen.clone());
        let thread = lab.in_client(move || {
            let mut k = 0u8;
            while !s.load(Ordering::Relaxed) {
                let t = Instant::now();
                let ok = get(source(k % SOURCES), Duration::from_secs(3)).is_some();
                v.lock().unwrap().push((t, t.elapsed(), ok));
                k = k.wrapping_add(7);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Load { stop, seen, thread: Some(thread) }
    }

    fn finish(mut self) -> Vec<(Instant, Duration, bool)> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

#[test]
fn ecmp_directors_spread_survive_and_return() {
    if !Netns::can_run("ecmp") {
        return;
    }
    let mut lab = Lab::new();
    lab.log.say("topology built: upstream (BIRD, BGP multipath), 3 directors (BIRD, pulse, lvsd), 4 DR real servers (lvs-node), client with 60 sources");
    let all: BTreeSet<usize> = (0..DIRECTORS).collect();
    let t = lab.wait("every director announcing both VIPs", || {
        next_hops(&lab.up, WEB) == all && next_hops(&lab.up, API) == all
    });
    lab.log.say(&format!(
        "both VIPs reach the upstream through the 3 directors ({:.1?} after start)",
        t
    ));
    for i in 0..DIRECTORS {
        // ECMP mode: lvsd turns sloppy TCP on by itself (nothing set here).
        assert_eq!(
            lab.director(i).run("cat", &["/proc/sys/net/ipv4/vs/sloppy_tcp"]).unwrap().trim(),
            "1",
            "lvsd set sloppy_tcp on director {i}"
        );
        assert!(
            lab.director(i).ip(&["addr", "show", "dev", "lo"]).unwrap().contains("10.0.100.1/32"),
            "the VIP is on lo"
        );
    }

    // ---- Spread of new flows ----
    let before: Vec<u64> = (0..DIRECTORS).map(|i| ipvs_conns(lab.director(i))).collect();
    let flows = 300u32;
    let answers = lab
        .in_client(move || {
            // A source port of its own per flow, below the ephemeral range:
            // no flow can meet the IPVS entry of an earlier one with the
            // same addresses and ports, which IPVS may take over without
            // counting a new connection.
            (0..flows)
                .filter_map(|n| {
                    let ip = source(u8::try_from(n % u32::from(SOURCES)).unwrap());
                    let port = 20_000 + u16::try_from(n).unwrap();
                    get_from(SocketAddrV4::new(ip, port), Duration::from_secs(5))
                })
                .count()
        })
        .join()
        .unwrap();
    assert_eq!(answers, flows as usize, "every request answered");
    // The kernel sums its per-CPU counters into /proc/net/ip_vs_stats
    // every 2 s (the rate estimator): wait for the sum.
    let counts = |lab: &Lab| -> Vec<u64> {
        (0..DIRECTORS).map(|i| ipvs_conns(lab.director(i)) - before[i]).collect()
    };
    let settle = Instant::now();
    while counts(&lab).iter().sum::<u64>() < u64::from(flows)
        && settle.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    let counts = counts(&lab);
    let total: u64 = counts.iter().sum();
    let shares: Vec<f64> = counts.iter().map(|c| *c as f64 / total as f64).collect();
    lab.log.say(&format!(
        "spread of {total} new flows over the directors (IPVS counters): {}",
        shares.iter().map(|s| format!("{:.1} %", s * 100.0)).collect::<Vec<_>>().join(" / ")
    ));
    println!(
        "bench-data: ecmp spread {}",
        shares.iter().map(|s| format!("{:.3}", s)).collect::<Vec<_>>().join(",")
    );
    assert_eq!(total, u64::from(flows), "each flow scheduled once, by one director");
    for s in &shares {
        assert!((s - 1.0 / 3.0).abs() <= 0.10, "each director carries 1/3 ± 10 %: {shares:?}");
    }

    // ---- Long-lived connections, then a director loses power ----
    let sessions: Vec<Session> =
        lab.in_client(|| (0..SOURCES).map(|k| Session::open(source(k))).collect()).join().unwrap();
    let mut by_director: BTreeMap<SocketAddrV4, usize> = BTreeMap::new();
    for i in 0..DIRECTORS {
        for c in ipvs_clients(lab.director(i)) {
            by_director.insert(c, i);
        }
    }
    let victim = 0;
    let through: Vec<usize> = sessions
        .iter()
        .enumerate()
        .filter(|(_, s)| by_director.get(&s.client) == Some(&victim))
        .map(|(k, _)| k)
        .collect();
    lab.log.say(&format!(
        "{} long-lived connections open, {} of them through lvs{}",
        sessions.len(),
        through.len(),
        victim + 1
    ));
    assert!(!through.is_empty());
    let watch = RouteWatch::start(&lab.up, &lab.dir.0.join("monitor.log"));
    let load = Load::start(&lab);
    std::thread::sleep(Duration::from_millis(500));
    let killed = Instant::now();
    lab.power_off(victim);
    lab.wait("the upstream to drop the dead director", || {
        !next_hops(&lab.up, WEB).contains(&victim)
    });
    let gone = watch.first(WEB, killed, |e| !e.contains(&via(victim))).unwrap_or_else(Instant::now);
    let detect = gone - killed;
    lab.log.say(&format!(
        "lvs{} powered off: its routes gone from the upstream after {:.0} ms (BFD 200 ms x 5 = {} ms)",
        victim + 1,
        detect.as_secs_f64() * 1e3,
        BFD.as_millis()
    ));
    assert!(!next_hops(&lab.up, API).contains(&victim));
    assert!(
        detect <= BFD + Duration::from_millis(200),
        "withdrawn within BFD's detection time: {detect:?}"
    );
    std::thread::sleep(Duration::from_secs(2));
    let seen = load.finish();
    // A request is disturbed if it failed or took long; each must have
    // been under way inside the window from the power-off to the routes'
    // removal.
    let ms = |t: Instant| {
        if t >= killed {
            (t - killed).as_secs_f64() * 1e3
        } else {
            -(killed - t).as_secs_f64() * 1e3
        }
    };
    let disturbed: Vec<(f64, f64)> = seen
        .iter()
        .filter(|(_, took, ok)| !ok || *took > Duration::from_millis(900))
        .map(|(t, took, _)| (ms(*t), ms(*t + *took)))
        .collect();
    lab.log.say(&format!(
        "new connections during the loss: {} made, {} failed or slow (started, ended ms after the power-off: {:?})",
        seen.len(),
        disturbed.len(),
        disturbed.iter().map(|(a, b)| (a.round(), b.round())).collect::<Vec<_>>()
    ));
    let window = ms(gone);
    for (begun, ended) in &disturbed {
        assert!(
            *ended >= 0.0 && *begun <= window + 100.0,
            "a new connection failed outside the window (0 to {window:.0} ms): {begun:.0} to {ended:.0} ms"
        );
    }
    let (sessions, survived) = lab
        .in_client(move || {
            let mut sessions = sessions;
            let survived = through.iter().filter(|k| sessions[**k].works(1)).count();
            let others =
                (0..sessions.len()).filter(|k| !through.contains(k)).all(|k| sessions[k].works(1));
            assert!(others, "connections through the other directors keep working");
            (sessions, (survived, through.len()))
        })
        .join()
        .unwrap();
    let share = survived.0 as f64 / survived.1 as f64;
    lab.log.say(&format!(
        "established connections through the lost director still working, same real server: {}/{} ({:.0} %)",
        survived.0,
        survived.1,
        share * 100.0
    ));
    println!(
        "bench-data: ecmp withdraw_ms={:.0} survival={:.3}",
        detect.as_secs_f64() * 1e3,
        share
    );
    assert!(share >= 0.95, "≥ 95 % survive: {survived:?}");

    // ---- The director returns ----
    let started = Instant::now();
    lab.power_on(victim);
    lab.wait("the returned director announced", || next_hops(&lab.up, WEB).contains(&victim));
    let route_at = watch
        .first(WEB, started, |e| e.contains(&via(victim)))
        .map_or_else(|| started.elapsed(), |t| t - started);
    // When lvsd wrote its ready file (its table complete), from the
    // file's time on this same machine.
    let ready_at =
        std::fs::metadata(lab.ready_file(victim)).and_then(|m| m.modified()).ok().map(|m| {
            let ago = std::time::SystemTime::now().duration_since(m).unwrap_or_default();
            (Instant::now() - ago).saturating_duration_since(started)
        });
    lab.log.say(&format!(
        "lvs{} back: lvsd's table ready {:.2} s, announced at the upstream {:.2} s after power-on",
        victim + 1,
        ready_at.map_or(f64::NAN, |r| r.as_secs_f64()),
        route_at.as_secs_f64()
    ));
    assert!(ready_at.is_some_and(|r| r <= route_at), "announced only once its table is ready");
    std::thread::sleep(Duration::from_millis(500));
    let mut sessions = lab
        .in_client(move || {
            let mut sessions = sessions;
            let bad: Vec<usize> = (0..sessions.len()).filter(|k| !sessions[*k].works(2)).collect();
            assert!(bad.is_empty(), "every established connection keeps working: {bad:?} failed");
            sessions
        })
        .join()
        .unwrap();
    let on_returned = ipvs_clients(lab.director(victim));
    let moved = sessions.iter().filter(|s| on_returned.contains(&s.client)).count();
    let moved_share = moved as f64 / sessions.len() as f64;
    lab.log.say(&format!(
        "after the return {moved}/{} established connections ({:.0} %) moved to lvs{}, all still working with the same real server",
        sessions.len(),
        moved_share * 100.0,
        victim + 1
    ));
    println!("bench-data: ecmp return_s={:.2} moved={:.3}", route_at.as_secs_f64(), moved_share);
    assert!((0.15..=0.55).contains(&moved_share), "about 1/N of flows move: {moved_share}");

    // ---- One director loses the only real server of a VIP ----
    let lonely = 2;
    let t0 = Instant::now();
    lab.director(lonely).ip(&["route", "add", "blackhole", "10.0.0.14/32"]).unwrap();
    lab.wait("lvs3 to withdraw the api VIP", || !next_hops(&lab.up, API).contains(&lonely));
    let took = watch
        .first(API, t0, |e| !e.contains(&via(lonely)))
        .map_or_else(|| t0.elapsed(), |t| t - t0);
    assert_eq!(next_hops(&lab.up, WEB), all, "the web VIP stays announced by every director");
    assert_eq!(next_hops(&lab.up, API).len(), DIRECTORS - 1);
    lab.log.say(&format!(
        "lvs{} lost api's only real server: api withdrawn after {:.0} ms, web still through all 3",
        lonely + 1,
        took.as_secs_f64() * 1e3
    ));
    println!("bench-data: ecmp per_vip_withdraw_ms={:.0}", took.as_secs_f64() * 1e3);
    lab.director(lonely).ip(&["route", "del", "blackhole", "10.0.0.14/32"]).unwrap();
    lab.wait("api announced again", || next_hops(&lab.up, API).contains(&lonely));
    for s in &mut sessions {
        s.close();
    }
    drop(watch);
    lab.log.say("done");
}
