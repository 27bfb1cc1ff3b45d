//! Benchmark, not a test: programming a table of 1,000 TCP services x 10
//! direct-routing real servers from empty, three ways, in one guest:
//! - lvsd at start-up (`lvsd -n -c lvs.yaml`, checks `type: none`, so every
//!   real server goes in at once),
//! - the reference `ipvsadm -R` (the process run to its exit),
//! - keepalived's checker at start-up (`keepalived -C`, real servers with
//!   no checker, which keepalived counts as up).
//!
//! The daemons are timed from their spawn until the kernel table (read from
//! `/proc/net/ip_vs` every 200 ms) holds all 11,000 entries; `ipvsadm -R`
//! from its spawn to its exit. Rounds alternate between the three, each in
//! the same namespace from an empty table; medians are reported with the
//! ratio lvsd / ipvsadm -R (target at most 0.5).
//!
//! Run by `cargo xtask bench` (prints a `bench-row:` line for
//! `docs/benchmarks.md`), or `cargo xtask vm-test --suite bench_table bench`.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark's report is its output

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use lvs_tests::guest::{bin, ref_ipvsadm, spawn};
use testbed::Netns;

const SERVICES: u32 = 1_000;
const DESTS: u32 = 10;
const ROUNDS: usize = 3;
const GIVE_UP: Duration = Duration::from_secs(300);

fn vip(i: u32) -> String {
    format!("10.100.{}.{}", i >> 8, i & 0xff)
}

fn rip(k: u32) -> String {
    format!("172.16.0.{k}")
}

fn lvsd_yaml() -> String {
    let mut s = String::from(
        "service: lvs\nrouters:\n  primary:\n    address: 192.0.2.1\n\
         heartbeat: { protocol: piranha }\nnetwork: direct\nhard_shutdown: false\nvirtual_services:\n",
    );
    for i in 0..SERVICES {
        let _ = write!(
            s,
            "  - name: s{i}\n    vip: {{ address: {}, interface: eth0 }}\n    port: 80\n    scheduler: wlc\n    check: {{ type: none }}\n    real_servers:\n",
            vip(i)
        );
        for k in 1..=DESTS {
            let _ = writeln!(s, "      - {{ name: r{k}, address: {}, weight: 1 }}", rip(k));
        }
    }
    s
}

fn restore_text() -> String {
    let mut s = String::new();
    for i in 0..SERVICES {
        let _ = writeln!(s, "-A -t {}:80 -s wlc", vip(i));
        for k in 1..=DESTS {
            let _ = writeln!(s, "-a -t {}:80 -r {}:80 -g -w 1", vip(i), rip(k));
        }
    }
    s
}

fn keepalived_conf() -> String {
    let mut s = String::from("global_defs {\n  router_id bench\n}\n");
    for i in 0..SERVICES {
        let _ = write!(
            s,
            "virtual_server {} 80 {{\n  lvs_sched wlc\n  lvs_method DR\n  protocol TCP\n",
            vip(i)
        );
        for k in 1..=DESTS {
            let _ = writeln!(s, "  real_server {} 80 {{\n    weight 1\n  }}", rip(k));
        }
        s.push_str("}\n");
    }
    s
}

/// (services, real servers) in the namespace's kernel table.
fn count(ns: &Netns) -> (usize, usize) {
    let text = ns.read_proc_net("ip_vs").unwrap_or_default();
    let services = text.lines().filter(|l| l.starts_with("TCP ")).count();
    let dests =
        text.lines().filter(|l| l.starts_with("  -> ") && !l.contains("RemoteAddress")).count();
    (services, dests)
}

const FULL: (usize, usize) = (SERVICES as usize, (SERVICES * DESTS) as usize);

fn flush(ns: &Netns) {
    ns.run(&ref_ipvsadm(), &["-C"]).unwrap();
    assert_eq!(count(ns), (0, 0));
}

/// Time from `started` until the table is complete.
fn until_full(ns: &Netns, started: Instant, what: &str, log: &std::path::Path) -> Duration {
    loop {
        if count(ns) == FULL {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < GIVE_UP,
            "{what}: table incomplete after {GIVE_UP:?}: {:?}\n{}",
            count(ns),
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn lvsd(ns: &Netns, dir: &std::path::Path) -> Duration {
    flush(ns);
    let log = dir.join("lvsd.log");
    let mut cmd = ns.command(bin("lvsd"));
    cmd.args(["-n", "-c"]).arg(dir.join("lvs.yaml"));
    let started = Instant::now();
    let daemon = spawn(cmd, &log);
    let took = until_full(ns, started, "lvsd", &log);
    drop(daemon);
    took
}

fn keepalived(ns: &Netns, dir: &std::path::Path) -> Duration {
    flush(ns);
    let log = dir.join("keepalived.log");
    for f in ["ka.pid", "ka-vrrp.pid", "ka-check.pid"] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    let mut cmd = ns.command("keepalived");
    cmd.args(["-n", "-l", "-G", "-C", "-f"])
        .arg(dir.join("keepalived.conf"))
        .arg("-p")
        .arg(dir.join("ka.pid"))
        .arg("-r")
        .arg(dir.join("ka-vrrp.pid"))
        .arg("-c")
        .arg(dir.join("ka-check.pid"));
    let started = Instant::now();
    let daemon = spawn(cmd, &log);
    let took = until_full(ns, started, "keepalived", &log);
    drop(daemon);
    took
}

fn ipvsadm_restore(ns: &Netns, text: &str) -> Duration {
    flush(ns);
    let started = Instant::now();
    let mut child = ns
        .command(ref_ipvsadm())
        .arg("-R")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let status = child.wait().unwrap();
    let took = started.elapsed();
    assert!(status.success(), "ipvsadm -R: {status}");
    assert_eq!(count(ns), FULL);
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn list(v: &[Duration]) -> String {
    v.iter().map(|d| format!("{:.2}", d.as_secs_f64())).collect::<Vec<_>>().join(", ")
}

fn main() {
    if !std::env::args().skip(1).any(|a| a == "bench" || a.starts_with("bench:")) {
        println!("bench_table: not run; run it with `cargo xtask bench`");
        return;
    }
    let ns = Netns::new("table").unwrap();
    let dir = std::env::temp_dir().join(format!("bench-table-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("lvs.yaml"), lvsd_yaml()).unwrap();
    std::fs::write(dir.join("keepalived.conf"), keepalived_conf()).unwrap();
    let text = restore_text();
    let (mut ours, mut refs, mut kas) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        ours.push(lvsd(&ns, &dir));
        refs.push(ipvsadm_restore(&ns, &text));
        kas.push(keepalived(&ns, &dir));
        println!(
            "bench_table: round {round}: lvsd {:?}, ipvsadm -R {:?}, keepalived {:?}",
            ours[round], refs[round], kas[round]
        );
    }
    flush(&ns);
    let (o, r, k) = (median(ours.clone()), median(refs.clone()), median(kas.clone()));
    let ratio = o.as_secs_f64() / r.as_secs_f64();
    let met = if ratio <= 0.5 { "met" } else { "MISSED" };
    println!(
        "bench-row: Table programming, 1,000 services x 10 real servers from empty, median of {ROUNDS}\
         |lvsd start-up: {} ({})\
         |`ipvsadm -R`: {} ({}); keepalived start-up: {} ({})\
         |{ratio:.2} vs `ipvsadm -R`; {:.2} vs keepalived\
         |at most 0.5 x `ipvsadm -R`: {met}\
         |`cargo xtask bench --only table`",
        secs(o),
        list(&ours),
        secs(r),
        list(&refs),
        secs(k),
        list(&kas),
        o.as_secs_f64() / k.as_secs_f64(),
    );
}
