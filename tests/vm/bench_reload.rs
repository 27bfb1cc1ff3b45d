//! Benchmark, not a test: reloading a 1% change of a 2,284-service /
//! 37,298-real-server configuration (the size of keepalived issue #2318),
//! lvsd (SIGHUP) versus keepalived's checker (SIGHUP), in one guest.
//!
//! The change: 23 services (1%) removed and 23 new services of 16 real
//! servers added (1% of the services, about 2% of the table's objects). Each daemon starts with the first configuration (checks
//! `none` / no checkers, so every real server is in the table), is given
//! the second one and SIGHUP, and is timed from the signal until the
//! kernel table shows the change complete (`/proc/net/ip_vs` read every
//! 100 ms). lvsd's kernel commands come from its `reload: N IPVS commands`
//! log line; keepalived logs no such count, so its column says so.
//!
//! Run by `cargo xtask bench` (prints a `bench-row:` line for
//! `docs/benchmarks.md`), or `cargo xtask vm-test --suite bench_reload bench`.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark's report is its output

use std::fmt::Write as _;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use testbed::Netns;

const SERVICES: u32 = 2_284;
const SERVERS: u32 = 37_298;
const CHANGED: u32 = 23;
const GIVE_UP: Duration = Duration::from_secs(300);

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(pgid) = i32::try_from(self.0.id()) {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid),
                nix::sys::signal::SIGKILL,
            );
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(mut cmd: Command, log: &Path) -> Running {
    let log = std::fs::File::create(log).unwrap();
    Running(
        cmd.process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

fn bin(name: &str) -> PathBuf {
    PathBuf::from(std::env::var("LVS_BIN_DIR").unwrap_or_else(|_| "/lvs/bin".into())).join(name)
}

/// One service of a configuration: (VIP, real servers, weight).
struct Svc {
    vip: String,
    reals: u32,
    weight: u32,
}

/// The services before (`after = false`) or after the change. 37,298 =
/// 2,284 x 16 + 754: the first 754 services have 17 real servers.
fn services(after: bool) -> Vec<Svc> {
    let mut v = Vec::new();
    for i in 0..SERVICES {
        if after && i < CHANGED {
            continue; // removed
        }
        let reals = if i < SERVERS - SERVICES * 16 { 17 } else { 16 };
        v.push(Svc { vip: format!("10.100.{}.{}", i >> 8, i & 0xff), reals, weight: 1 });
    }
    if after {
        for i in 0..CHANGED {
            v.push(Svc { vip: format!("10.102.0.{i}"), reals: 16, weight: 1 });
        }
    }
    v
}

fn rip(k: u32) -> String {
    format!("172.16.0.{k}")
}

fn lvsd_yaml(svcs: &[Svc]) -> String {
    let mut s = String::from(
        "service: lvs\nrouters:\n  primary:\n    address: 192.0.2.1\n\
         heartbeat: { protocol: piranha }\nnetwork: direct\nhard_shutdown: false\nvirtual_services:\n",
    );
    for (n, svc) in svcs.iter().enumerate() {
        let _ = write!(
            s,
            "  - name: s{n}\n    vip: {{ address: {}, interface: eth0 }}\n    port: 80\n    scheduler: wlc\n    check: {{ type: none }}\n    real_servers:\n",
            svc.vip
        );
        for k in 1..=svc.reals {
            let _ = writeln!(
                s,
                "      - {{ name: r{k}, address: {}, weight: {} }}",
                rip(k),
                svc.weight
            );
        }
    }
    s
}

fn keepalived_conf(svcs: &[Svc]) -> String {
    let mut s = String::from("global_defs {\n  router_id bench\n}\n");
    for svc in svcs {
        let _ = write!(
            s,
            "virtual_server {} 80 {{\n  lvs_sched wlc\n  lvs_method DR\n  protocol TCP\n",
            svc.vip
        );
        for k in 1..=svc.reals {
            let _ = writeln!(s, "  real_server {} 80 {{\n    weight {}\n  }}", rip(k), svc.weight);
        }
        s.push_str("}\n");
    }
    s
}

/// What the table shows: services, real servers, and whether the change
/// is in (a new service present, a removed one gone).
fn state(ns: &Netns) -> (usize, usize, bool) {
    let text = ns.read_proc_net("ip_vs").unwrap_or_default();
    let services = text.lines().filter(|l| l.starts_with("TCP ")).count();
    let dests =
        text.lines().filter(|l| l.starts_with("  -> ") && !l.contains("RemoteAddress")).count();
    // 10.102.0.0 is 0A660000 in /proc; 10.100.0.0 (removed) is 0A640000.
    let changed = text.contains("TCP  0A660000:0050") && !text.contains("TCP  0A640000:0050");
    (services, dests, changed)
}

fn totals(svcs: &[Svc]) -> (usize, usize) {
    (svcs.len(), svcs.iter().map(|s| s.reals as usize).sum())
}

/// Waits until `pred` holds; false after `limit`.
fn wait(ns: &Netns, limit: Duration, pred: impl Fn((usize, usize, bool)) -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if pred(state(ns)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Runs one daemon through start, full table, SIGHUP with the change, and
/// returns the reload time (`None`: not applied within [`GIVE_UP`]).
fn measure(
    ns: &Netns,
    dir: &Path,
    name: &str,
    cmd: Command,
    config: &Path,
    after: &str,
) -> Result<Option<Duration>, String> {
    ns.run(&std::env::var("LVS_REF_IPVSADM").unwrap_or_else(|_| "ipvsadm".into()), &["-C"])
        .unwrap();
    let log = dir.join(format!("{name}.log"));
    let started = Instant::now();
    let mut daemon = spawn(cmd, &log);
    let before = totals(&services(false));
    // Watch for an early exit too (a refused configuration).
    let mut full = false;
    let first = Instant::now();
    while first.elapsed() < GIVE_UP && daemon.0.try_wait().unwrap().is_none() {
        let st = state(ns);
        if (st.0, st.1) == before {
            full = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    if !full && daemon.0.try_wait().unwrap().is_some() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        println!("bench_reload: {name} exited at start-up:\n{text}");
        let why = text.lines().rev().find(|l| l.contains("error")).unwrap_or("exited").trim();
        return Err(why.replace('|', "/"));
    }
    assert!(
        full,
        "{name}: first table incomplete: {:?}\n{}",
        state(ns),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    println!("bench_reload: {name}: first table in {:?}", started.elapsed());
    std::fs::write(config, after).unwrap();
    let after_totals = totals(&services(true));
    let pid = nix::unistd::Pid::from_raw(i32::try_from(daemon.0.id()).unwrap());
    let hup = Instant::now();
    nix::sys::signal::kill(pid, nix::sys::signal::SIGHUP).unwrap();
    let done = wait(ns, GIVE_UP, |s| (s.0, s.1) == after_totals && s.2);
    let took = done.then(|| hup.elapsed());
    println!("bench_reload: {name}: reload applied in {took:?} ({:?})", state(ns));
    drop(daemon);
    Ok(took)
}

fn main() {
    if !std::env::args().skip(1).any(|a| a == "bench" || a.starts_with("bench:")) {
        println!("bench_reload: not run; run it with `cargo xtask bench`");
        return;
    }
    let ns = Netns::new("reload").unwrap();
    let dir = std::env::temp_dir().join(format!("bench-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (services(false), services(true));

    let yaml = dir.join("lvs.yaml");
    std::fs::write(&yaml, lvsd_yaml(&a)).unwrap();
    let mut cmd = ns.command(bin("lvsd"));
    cmd.args(["-n", "-c"]).arg(&yaml);
    let ours = measure(&ns, &dir, "lvsd", cmd, &yaml, &lvsd_yaml(&b));
    let log = std::fs::read_to_string(dir.join("lvsd.log")).unwrap_or_default();
    let ops = log
        .lines()
        .find_map(|l| {
            l.split("reload: ").nth(1)?.split(" IPVS commands").next()?.parse::<u64>().ok()
        })
        .map_or("?".to_string(), |n| n.to_string());

    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, keepalived_conf(&a)).unwrap();
    let mut cmd = ns.command("keepalived");
    cmd.args(["-n", "-l", "-G", "-C", "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(dir.join("ka.pid"))
        .arg("-r")
        .arg(dir.join("ka-vrrp.pid"))
        .arg("-c")
        .arg(dir.join("ka-check.pid"));
    let theirs = measure(&ns, &dir, "keepalived", cmd, &conf, &keepalived_conf(&b));
    ns.run(&std::env::var("LVS_REF_IPVSADM").unwrap_or_else(|_| "ipvsadm".into()), &["-C"])
        .unwrap();

    let show = |d: &Result<Option<Duration>, String>| match d {
        Ok(Some(d)) => format!("{:.2} s", d.as_secs_f64()),
        Ok(None) => format!("not applied within {GIVE_UP:?}"),
        Err(why) => format!("refused the configuration: {why}"),
    };
    let ratio = match (&ours, &theirs) {
        (Ok(Some(o)), Ok(Some(t))) => format!("{:.2}", o.as_secs_f64() / t.as_secs_f64()),
        (Ok(Some(o)), Ok(None)) => format!("< {:.3}", o.as_secs_f64() / GIVE_UP.as_secs_f64()),
        _ => "-".into(),
    };
    let met =
        if matches!(ours, Ok(Some(o)) if o < Duration::from_secs(1)) { "met" } else { "MISSED" };
    println!(
        "bench-row: Reload of a 1% change, 2,284 services / 37,298 real servers\
         |lvsd SIGHUP: {}, {ops} IPVS commands|keepalived 2.2.7 SIGHUP: {} (kernel commands not counted)\
         |{ratio}|under 1 s: {met}; long-lived connection survival not measured here\
         |`cargo xtask bench --only reload`",
        show(&ours),
        show(&theirs)
    );
}
