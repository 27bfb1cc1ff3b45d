//! Chaos suite: rounds of random faults against a two-router pair and a
//! three-router pool running the whole suite (pulse → lvsd → nannies) on the
//! guest's kernel, with a client requesting the VIP through IPVS every
//! 20 ms. After each fault is healed, exactly one router must be active
//! within dead time + 1 s, holding the VIP, with no other router holding
//! it, and the client must be served again. Every round prints its
//! figures (time to one active, longest client outage); the run ends with
//! a summary, and fails if a pulse that was not stopped on purpose had a
//! loop stall over 50 ms (the stall detector, read before each kill and at
//! the end; listed with pulse's log line splitting the turn into time on
//! the CPU, waiting for one and blocked; pauses of the machine under the
//! loop and waits for a CPU are counted and printed). The faults and their
//! generator are `faults.rs`, the client `client.rs`.
//!
//! The sequence is drawn from a seed, printed first: the same seed and
//! round count replay the same faults (`LVS_CHAOS_SEED`, `LVS_CHAOS_ROUNDS`,
//! forwarded into the guest by `cargo xtask vm-test`). Without a count it
//! runs 20 rounds (`cargo xtask test`); with the FILTER word `bench` (what
//! `cargo xtask bench --only chaos` passes) 100, and prints one
//! `chaos-round:` line per round for the benchmark's table and plot.
//!
//! Clock offsets: a router's pulse is restarted in a time namespace whose
//! monotonic and boot-time clocks run up to four months ahead of the
//! others' (it keeps that offset; a later offset fault replaces it). Wall
//! clocks cannot be offset per process by a namespace (one guest kernel has
//! one): skewed wall clocks are `crates/pulse/tests/freshness.rs`'s, with
//! an `LD_PRELOAD` shim.

// Helpers of a test file: a failed unwrap is a failed test, with its place.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lvs_tests::guest::{bin, ref_ipvsadm, spawn, Running};
use lvs_tests::pulse;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use testbed::TcpServer;
use testbed::{addr, Forwarding, Topology, TopologyBuilder};

mod client;
mod faults;

use client::Client;
use faults::{Fault, Rng, FAULTS};

const KEEPALIVE: Duration = Duration::from_millis(250);
const DEADTIME: Duration = Duration::from_millis(1500);

/// The bound after a heal: dead time + 1 s, as the issue asks. The guest
/// is emulated; where it needs more, [`VM_MARGIN`] is added and said.
const ONE_ACTIVE_WITHIN: Duration = Duration::from_millis(2500);
/// Extra time the software-emulated guest gets on top of the bound (a
/// status request round trip and process starts are slow under TCG).
const VM_MARGIN: Duration = Duration::from_millis(1500);
/// How long the client may take to be served again after a heal (real
/// servers cut off by a private-LAN partition come back after their
/// health check's reentry).
const SERVED_WITHIN: Duration = Duration::from_secs(20);
/// Client request gap.
const GAP: Duration = Duration::from_millis(20);

/// One router's pulse and what the test did to it.
struct Router {
    pulse: Option<Running>,
    generation: u32,
    /// SIGSTOPped by the test since it started: its stall detector counts
    /// the stop, so it is not checked.
    stopped: bool,
    /// Links down and every process killed.
    off: bool,
    /// Its current pulse's stall detector at its last check.
    loops: pulse::LoopFigures,
    /// How far ahead its pulse's monotonic and boot-time clocks run, in
    /// seconds (a time namespace), from its last clock-offset fault on.
    clock_offset: u64,
}

struct Cluster {
    topo: Topology,
    dir: PathBuf,
    config: PathBuf,
    good_yaml: String,
    routers: Vec<Router>,
    _servers: Vec<TcpServer>,
    t0: Instant,
    /// The stall detectors of the pulses that were checked and are gone,
    /// added up (each at its last check).
    loops: pulse::LoopFigures,
    /// Loop turns over 50 ms on pulses that were checked, with where.
    stalls: Vec<String>,
    /// Turns that waited for a CPU (counted, not failed), with where.
    waits: Vec<String>,
}

impl Cluster {
    fn new(n: usize, tag: &str) -> Cluster {
        let topo = TopologyBuilder::new(Forwarding::Nat)
            .directors(n)
            .real_servers(2)
            .active(None)
            .build()
            .unwrap();
        let dir = PathBuf::from(format!("/tmp/chaos-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("key");
        std::fs::write(&key, b"chaos suite heartbeat key 32 B!!").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let routers: String = (0..n)
            .map(|i| {
                format!(
                    "    - {{ address: {}, private: {} }}\n",
                    addr::director_public(i),
                    addr::director_private(i)
                )
            })
            .collect();
        let servers: String = (0..2)
            .map(|j| format!("      - {{ name: web{j}, address: {} }}\n", topo.real_server_addr(j)))
            .collect();
        let good_yaml = format!(
            "service: lvs\nrouters:\n  pool:\n{routers}\
             heartbeat: {{ keepalive: {}ms, deadtime: {}ms, auth_key_file: {} }}\n\
             arp: {{ count: 2, interval: 200ms }}\n\
             network: nat\n\
             nat_router: {{ address: {}, interface: eth1, netmask: 24 }}\n\
             paths: {{ lvsd: {}, nanny: {}, send_arp: {}, ipvsadm: {} }}\n\
             virtual_services:\n  - name: web\n    vip: {{ address: {}, interface: eth0, netmask: 24 }}\n    \
             port: 80\n    protocol: tcp\n    scheduler: rr\n    \
             check: {{ type: http, interval: 1, timeout: 1, reentry: 1 }}\n    real_servers:\n{servers}",
            KEEPALIVE.as_millis(),
            DEADTIME.as_millis(),
            key.display(),
            addr::NAT_GATEWAY,
            bin("lvsd").display(),
            bin("nanny").display(),
            bin("send_arp").display(),
            ref_ipvsadm(),
            addr::VIP,
        );
        let config = dir.join("lvs.yaml");
        std::fs::write(&config, &good_yaml).unwrap();
        let _servers = (0..2)
            .map(|j| {
                let a = SocketAddr::from((topo.real_server_addr(j), 80));
                TcpServer::http(&topo.real_servers[j].ns, a, &format!("web{j}")).unwrap()
            })
            .collect();
        let routers = (0..n)
            .map(|_| Router {
                pulse: None,
                generation: 0,
                loops: pulse::LoopFigures::default(),
                stopped: false,
                off: false,
                clock_offset: 0,
            })
            .collect();
        let mut c = Cluster {
            topo,
            dir,
            config,
            good_yaml,
            routers,
            _servers,
            t0: Instant::now(),
            loops: pulse::LoopFigures::default(),
            stalls: Vec::new(),
            waits: Vec::new(),
        };
        for i in 0..n {
            c.start(i);
        }
        c
    }

    fn socket(&self, i: usize) -> PathBuf {
        self.dir.join(format!("pulse{i}.sock"))
    }

    fn log_path(&self, i: usize) -> PathBuf {
        self.dir.join(format!("pulse{i}-{}.log", self.routers[i].generation))
    }

    fn start(&mut self, i: usize) {
        self.routers[i].generation += 1;
        let gone = std::mem::take(&mut self.routers[i].loops);
        self.loops.add(&gone);
        let mut cmd = self.topo.directors[i].ns.command(bin("pulse"));
        cmd.arg("-n")
            .arg("-c")
            .arg(&self.config)
            .arg(format!("--socket={}", self.socket(i).display()));
        let offset = self.routers[i].clock_offset;
        if offset > 0 {
            // This binary enters a time namespace with the offset and
            // execs the command (see `exec_in_time_namespace`).
            let mut timens = Command::new(std::env::current_exe().unwrap());
            timens.args([TIME_NS_ARG, &offset.to_string(), "--"]).arg(cmd.get_program());
            timens.args(cmd.get_args());
            cmd = timens;
        }
        let log = self.log_path(i);
        self.routers[i].pulse = Some(spawn(cmd, &log));
        self.routers[i].stopped = false;
    }

    fn pid(&self, i: usize) -> Option<Pid> {
        self.routers[i].pulse.as_ref().map(|r| Pid::from_raw(r.0.id() as i32))
    }

    fn status(&self, i: usize) -> Option<String> {
        self.routers[i].pulse.as_ref()?;
        pulse::status_json(&self.socket(i), Duration::from_secs(2))
    }

    fn has_vip(&self, i: usize) -> bool {
        let out = self.topo.directors[i].ns.ip(&["-4", "addr", "show", "dev", "eth0"]);
        out.is_ok_and(|o| o.contains(&format!("inet {}/", addr::VIP)))
    }

    /// Routers whose pulse says active.
    fn actives(&self) -> Vec<usize> {
        (0..self.routers.len())
            .filter(|&i| self.status(i).is_some_and(|s| pulse::is_active(&s)))
            .collect()
    }

    /// Exactly one router active, it holds the VIP and no running router
    /// else does (a router powered off or whose pulse was killed -9 cannot
    /// drop its address; its next pulse does at start).
    fn one_active(&self) -> Option<usize> {
        let a = self.actives();
        let [one] = a.as_slice() else { return None };
        let others_clear = (0..self.routers.len())
            .filter(|&i| i != *one && self.routers[i].pulse.is_some())
            .all(|i| !self.has_vip(i));
        (self.has_vip(*one) && others_clear).then_some(*one)
    }

    fn logs(&self) -> String {
        (0..self.routers.len())
            .map(|i| {
                let text = std::fs::read_to_string(self.log_path(i)).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(40).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                format!("---- router {i} ({:?}) ----\n{}\n", self.status(i), tail.join("\n"))
            })
            .collect()
    }

    /// Waits up to `limit` for one active router; returns it and when.
    fn wait_one_active(&self, limit: Duration) -> Option<(usize, Duration)> {
        let start = Instant::now();
        loop {
            if let Some(i) = self.one_active() {
                return Some((i, start.elapsed()));
            }
            if start.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn set_port(&self, port: &str, bridge: Option<&str>) {
        let args: Vec<&str> = match bridge {
            Some(b) => vec!["link", "set", port, "master", b],
            None => vec!["link", "set", port, "nomaster"],
        };
        self.topo.switch.ip(&args).unwrap();
    }

    /// Reads router `i`'s stall detector (unless the test stopped it) and
    /// records its turns over 50 ms, with the log lines that name them;
    /// the run fails on any, after its figures are printed.
    fn check_stalls(&mut self, i: usize) {
        if self.routers[i].stopped || self.routers[i].pulse.is_none() {
            return;
        }
        let Some(s) = self.status(i) else { return };
        let Some(figures) = pulse::LoopFigures::from_status(&s) else { return };
        // A pulse's counts only grow: its last check stands for it.
        let seen = std::mem::replace(&mut self.routers[i].loops, figures).waits;
        if figures.waits > seen {
            let log = std::fs::read_to_string(self.log_path(i)).unwrap_or_default();
            for line in log.lines().filter(|l| l.contains("loop wait")).skip(seen as usize) {
                self.waits
                    .push(format!("router {i} (pulse {}): {line}", self.routers[i].generation));
            }
        }
        if figures.stalls > 0 {
            let log = std::fs::read_to_string(self.log_path(i)).unwrap_or_default();
            for line in log.lines().filter(|l| l.contains("loop stall")) {
                self.stalls
                    .push(format!("router {i} (pulse {}): {line}", self.routers[i].generation));
            }
            // Counted once per pulse: a new pulse starts from zero.
            self.routers[i].stopped = true;
        }
    }

    fn kill_pulse(&mut self, i: usize) {
        self.check_stalls(i);
        if let Some(p) = self.pid(i) {
            let _ = kill(p, Signal::SIGKILL);
        }
        if let Some(mut r) = self.routers[i].pulse.take() {
            // Only pulse: its lvsd and nannies live on, as after a crash.
            let _ = r.0.wait();
            std::mem::forget(r);
        }
    }

    fn power_off(&mut self, i: usize) {
        self.check_stalls(i);
        let ns = &self.topo.directors[i].ns;
        ns.batch("link set eth0 down\nlink set eth1 down\n").unwrap();
        let pids = Command::new("ip")
            .args(["netns", "pids", ns.name()])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        self.routers[i].pulse = None;
        for pid in pids.split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        self.routers[i].off = true;
    }

    fn power_on(&mut self, i: usize) {
        self.topo.directors[i].ns.batch("link set eth0 up\nlink set eth1 up\n").unwrap();
        self.routers[i].off = false;
        self.start(i);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for r in &mut self.routers {
            r.pulse = None;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One round's figures.
struct RoundResult {
    fault: Fault,
    /// From the heal (or the fault, when the fault itself needs a
    /// failover) to exactly one active router holding the VIP.
    to_one_active: Duration,
    /// Longest time the client went unanswered during the round.
    outage: Duration,
}

fn round(c: &mut Cluster, client: &Client, rng: &mut Rng, n: usize) -> RoundResult {
    let n_routers = c.routers.len();
    let fault = FAULTS[rng.below(FAULTS.len())];
    let (active, _) =
        c.wait_one_active(ONE_ACTIVE_WITHIN + VM_MARGIN + DEADTIME).unwrap_or_else(|| {
            panic!("round {n}: no single active router before the fault\n{}", c.logs())
        });
    let victim = if rng.below(2) == 0 { active } else { rng.below(n_routers) };
    let start = c.t0.elapsed();
    let settle = DEADTIME * 2;
    // Inject, hold, heal; `heal_at` is when the system was left alone.
    let heal_at = match fault {
        Fault::Kill9Pulse => {
            c.kill_pulse(victim);
            std::thread::sleep(settle);
            c.start(victim);
            Instant::now()
        }
        Fault::PowerOff => {
            c.power_off(victim);
            std::thread::sleep(settle);
            c.power_on(victim);
            Instant::now()
        }
        Fault::PartitionPublic | Fault::PartitionPrivate | Fault::PartitionBoth => {
            let ports: Vec<(String, &str)> = match fault {
                Fault::PartitionPublic => vec![(format!("pd{victim}"), "public")],
                Fault::PartitionPrivate => vec![(format!("qd{victim}"), "private")],
                _ => vec![(format!("pd{victim}"), "public"), (format!("qd{victim}"), "private")],
            };
            for (p, _) in &ports {
                c.set_port(p, None);
            }
            std::thread::sleep(settle);
            for (p, b) in &ports {
                c.set_port(p, Some(b));
            }
            Instant::now()
        }
        Fault::ReloadValid | Fault::ReloadBroken => {
            let text = if fault == Fault::ReloadValid {
                // A valid change: the ARP count.
                c.good_yaml.replace("count: 2,", &format!("count: {},", 2 + rng.below(2)))
            } else {
                c.good_yaml.replace("deadtime:", "deadtime: [")
            };
            std::fs::write(&c.config, text).unwrap();
            for i in 0..n_routers {
                if let Some(p) = c.pid(i) {
                    let _ = kill(p, Signal::SIGHUP);
                }
            }
            std::thread::sleep(DEADTIME);
            // The next round starts from the good file again.
            std::fs::write(&c.config, &c.good_yaml).unwrap();
            Instant::now()
        }
        Fault::StopShort | Fault::StopLong => {
            let pid = c.pid(active).unwrap();
            c.check_stalls(active);
            c.routers[active].stopped = true;
            kill(pid, Signal::SIGSTOP).unwrap();
            let hold = if fault == Fault::StopShort { DEADTIME / 3 } else { DEADTIME * 2 };
            std::thread::sleep(hold);
            kill(pid, Signal::SIGCONT).unwrap();
            Instant::now()
        }
        Fault::ClockOffset => {
            // pulse stops (SIGTERM: it stands down and exits), then starts
            // again with its monotonic and boot-time clocks some seconds to
            // months ahead of the others', for the rest of the run.
            c.check_stalls(victim);
            let mut p = c.routers[victim].pulse.take().unwrap();
            kill(Pid::from_raw(p.0.id() as i32), Signal::SIGTERM).unwrap();
            let t = Instant::now();
            while p.0.try_wait().unwrap().is_none() {
                assert!(
                    t.elapsed() < Duration::from_secs(15),
                    "round {n}: pulse did not exit on SIGTERM\n{}",
                    c.logs()
                );
                std::thread::sleep(GAP);
            }
            drop(p);
            std::thread::sleep(settle);
            c.routers[victim].clock_offset = 1 + rng.next() % 10_000_000;
            c.start(victim);
            Instant::now()
        }
        Fault::IdleControlBurst => {
            let idle: Vec<UnixStream> =
                (0..100).filter_map(|_| UnixStream::connect(c.socket(active)).ok()).collect();
            std::thread::sleep(settle);
            for s in &idle {
                let _ = s.shutdown(Shutdown::Both);
            }
            drop(idle);
            Instant::now()
        }
    };
    let bound = ONE_ACTIVE_WITHIN + VM_MARGIN;
    let Some((_, took)) = c.wait_one_active(bound) else {
        panic!(
            "round {n} ({}, router {victim}): not exactly one active router holding the VIP \
             within {bound:?} of the heal: active {:?}\n{}",
            fault.name(),
            c.actives(),
            c.logs()
        );
    };
    let healed = c.t0.elapsed() - heal_at.elapsed();
    let t = Instant::now();
    while !client.served_since(healed) {
        assert!(
            t.elapsed() < SERVED_WITHIN,
            "round {n} ({}): the client was not served within {SERVED_WITHIN:?} of the heal\n{}",
            fault.name(),
            c.logs()
        );
        std::thread::sleep(GAP);
    }
    // One more look: still exactly one after the client is back.
    assert!(c.one_active().is_some(), "round {n}: flapped after the heal\n{}", c.logs());
    let outage = client.outage(start, c.t0.elapsed());
    RoundResult { fault, to_one_active: took, outage }
}

fn settings() -> (u64, usize, bool) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bench = args.iter().find_map(|a| match a.strip_prefix("bench") {
        Some("") => Some(100),
        Some(n) => n.strip_prefix(':').and_then(|n| n.parse().ok()),
        None => None,
    });
    let env_rounds = std::env::var("LVS_CHAOS_ROUNDS").ok().and_then(|r| r.parse().ok());
    let rounds = env_rounds.or(bench).unwrap_or(20);
    let seed =
        std::env::var("LVS_CHAOS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    (seed, rounds, bench.is_some())
}

/// The argument that makes this binary a time-namespace launcher:
/// `vm_chaos --in-time-namespace SECONDS -- PROGRAM ARGS...`.
const TIME_NS_ARG: &str = "--in-time-namespace";

/// `CLONE_NEWTIME` (Linux 5.6), which nix does not name.
const CLONE_NEWTIME: i32 = 0x80;

/// Enters a new time namespace whose monotonic and boot-time clocks run
/// `args[0]` seconds ahead, then execs `args[2..]`, so the program keeps
/// this process's pid (the suite signals it). `unshare` makes the
/// namespace for the caller's children only (and, until the caller is in
/// it too, the kernel refuses threads and `vfork`: EINVAL), so the caller
/// joins it with `setns`, which a single-threaded process may: this one is
/// fresh and starts no thread.
fn exec_in_time_namespace(args: &[String]) -> ! {
    use std::os::unix::process::CommandExt;
    let [secs, dash, program, rest @ ..] = args else { panic!("{TIME_NS_ARG} SECONDS -- PROGRAM") };
    assert_eq!(dash, "--");
    let secs: u64 = secs.parse().unwrap();
    let time = nix::sched::CloneFlags::from_bits_retain(CLONE_NEWTIME);
    nix::sched::unshare(time).unwrap();
    std::fs::write("/proc/self/timens_offsets", format!("monotonic {secs} 0\nboottime {secs} 0\n"))
        .unwrap();
    let ns = std::fs::File::open("/proc/self/ns/time_for_children").unwrap();
    nix::sched::setns(ns, time).unwrap();
    let e = Command::new(program).args(rest).exec();
    panic!("cannot run {program}: {e}");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).is_some_and(|a| a == TIME_NS_ARG) {
        exec_in_time_namespace(&args[2..]);
    }
    if !testbed::guest::in_vm() {
        println!("chaos: not run outside the test guest; `cargo xtask vm-test --suite chaos`");
        return;
    }
    let (seed, rounds, bench) = settings();
    println!(
        "chaos: seed {seed}, {rounds} rounds (LVS_CHAOS_SEED={seed} LVS_CHAOS_ROUNDS={rounds})"
    );
    let mut rng = Rng(seed);
    // Three rounds in five on the pair, the rest on the pool.
    let pair_rounds = rounds - rounds * 2 / 5;
    let mut results: Vec<(&str, RoundResult)> = Vec::new();
    let mut loops = pulse::LoopFigures::default();
    let (mut stalls, mut waits) = (Vec::new(), Vec::new());
    for (name, n, count) in [("pair", 2, pair_rounds), ("pool", 3, rounds - pair_rounds)] {
        if count == 0 {
            continue;
        }
        let mut c = Cluster::new(n, name);
        let client = Client::start(&c.topo, c.t0);
        // A pool member starting alone waits a dead time; lvsd and the
        // first health checks take a while in the emulated guest.
        let Some((first, after)) = c.wait_one_active(Duration::from_secs(60)) else {
            panic!("{name}: no single active router after start\n{}", c.logs());
        };
        println!("chaos: {name} of {n} up, router {first} active after {after:.1?}");
        for k in 0..count {
            let r = round(&mut c, &client, &mut rng, results.len() + 1);
            println!(
                "chaos-round: {}|{name}|{}|{}|{}",
                results.len() + 1,
                r.fault.name(),
                r.to_one_active.as_millis(),
                r.outage.as_millis()
            );
            let _ = k;
            results.push((name, r));
        }
        for i in 0..n {
            c.check_stalls(i);
        }
        loops.add(&c.loops);
        for r in &c.routers {
            loops.add(&r.loops);
        }
        stalls.append(&mut c.stalls);
        waits.append(&mut c.waits);
    }
    // Each stall's log line (a pulse is no longer checked after its first).
    loops.stalls = loops.stalls.max(stalls.len() as u64);
    let worst_turn_us = loops.worst_us;
    let worst = results.iter().map(|(_, r)| r.to_one_active).max().unwrap_or_default();
    let mut outages: Vec<u128> = results.iter().map(|(_, r)| r.outage.as_millis()).collect();
    outages.sort_unstable();
    let pct =
        |p: usize| outages.get((outages.len().saturating_sub(1)) * p / 100).copied().unwrap_or(0);
    println!(
        "chaos: {} rounds, 0 ended with two or zero active routers; worst time to one active {} ms; \
         client outage median {} ms, p90 {} ms, max {} ms; worst loop turn {:.1} ms, {} turns over 50 ms, \
         {} pauses of the machine under the loop (worst {:.1} ms), {} turns that waited for a CPU (longest wait {:.1} ms)",
        results.len(),
        worst.as_millis(),
        pct(50),
        pct(90),
        pct(100),
        worst_turn_us as f64 / 1000.0,
        loops.stalls,
        loops.pauses,
        loops.worst_pause_us as f64 / 1000.0,
        loops.waits,
        loops.worst_wait_us as f64 / 1000.0
    );
    if bench {
        println!(
            "chaos-summary: {seed}|{}|{}|{}|{}|{}|{}|{}",
            results.len(),
            worst_turn_us,
            loops.stalls,
            loops.pauses,
            loops.worst_pause_us,
            loops.waits,
            loops.worst_wait_us
        );
        println!(
            "bench-row: Chaos, random faults against a pair and a pool, {} runs|\
             0 rounds ending with two or zero active routers; heal to one active at worst {} ms; \
             client outage median {} ms, max {} ms|-|-|exactly one active within dead time + 1 s \
             (+1.5 s for the VM): met|`cargo xtask bench --only chaos`",
            results.len(),
            worst.as_millis(),
            pct(50),
            pct(100)
        );
    }
    for w in &waits {
        println!("chaos: wait: {w}");
    }
    for s in &stalls {
        println!("chaos: stall: {s}");
    }
    pulse::print_loop("chaos", &loops);
    assert!(stalls.is_empty(), "{} pulse loop stalls over 50 ms (listed above)", stalls.len());
}
