//! Benchmark, not a test: lvsd at the scale of keepalived issue 2318
//! (2,284 virtual services, 37,298 real servers). It times lvsd's initial
//! sync from an empty table, a reload with a 1% change, a reload with no
//! change, and, for comparison, the reference `ipvsadm -R` restoring the
//! same table into an empty namespace. Nothing asserts on time; it fails
//! only if a table is wrong or a reload sends other than the 1% change.
//!
//! The real servers use `check: none` (always up, no nanny), so what is
//! measured is lvsd's own work: parsing, reading the kernel table,
//! planning and applying.
//!
//! Run: `cargo xtask vm-test --suite bench_lvsd bench` (without the word
//! `bench` it prints how to run it and exits). Figures go to
//! `docs/benchmarks.md`.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark's report is its output

use std::io::{BufRead, BufReader, Write};
use std::net::Ipv4Addr;
use std::process::Stdio;
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use ipvs::Client;
use testbed::Netns;

const SERVICES: usize = 2_284;
const REALS: usize = 37_298;

fn bin(name: &str) -> String {
    let dir = std::env::var("LVS_BIN_DIR").expect("LVS_BIN_DIR is set in the test guest");
    format!("{dir}/{name}")
}

fn vip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 100, (i >> 8) as u8, (i & 0xff) as u8)
}

fn rip(n: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 200, (n >> 8) as u8, (n & 0xff) as u8)
}

/// How many real servers service `i` has: 16 or 17, 37,298 in all.
fn reals_of(i: usize) -> usize {
    let extra = REALS - 16 * SERVICES; // 754 services get a 17th
    16 + usize::from(i < extra)
}

/// Which services and real servers the 1% change touches.
fn changed_service(i: usize) -> bool {
    i % 100 == 7
}

fn changed_real(n: usize) -> bool {
    n % 100 == 42
}

/// The configuration; `changed` applies the 1% change (a new scheduler
/// for 1% of the services, a new weight for 1% of the real servers).
fn config(changed: bool) -> (String, usize) {
    let mut s = String::from(
        "service: lvs\nrouters:\n  primary:\n    address: 192.0.2.1\nheartbeat: { protocol: piranha }\nnetwork: nat\nhard_shutdown: false\nvirtual_services:\n",
    );
    let mut n = 0;
    let mut changes = 0;
    for i in 0..SERVICES {
        let sched = if changed && changed_service(i) { "wlc" } else { "rr" };
        changes += usize::from(changed && changed_service(i));
        s.push_str(&format!(
            "  - name: vs{i}\n    vip: {{ address: {}, interface: eth0 }}\n    port: 80\n    scheduler: {sched}\n    check: {{ type: none }}\n    real_servers:\n",
            vip(i)
        ));
        for k in 0..reals_of(i) {
            let w = if changed && changed_real(n) { 2 } else { 1 };
            changes += usize::from(changed && changed_real(n));
            s.push_str(&format!(
                "      - {{ name: r{k}, address: {}, port: 8080, weight: {w} }}\n",
                rip(n)
            ));
            n += 1;
        }
    }
    assert_eq!(n, REALS);
    (s, changes)
}

/// The same table as `ipvsadm -R` input.
fn restore_text() -> String {
    let mut s = String::new();
    let mut n = 0;
    for i in 0..SERVICES {
        s.push_str(&format!("-A -t {}:80 -s rr\n", vip(i)));
        for _ in 0..reals_of(i) {
            s.push_str(&format!("-a -t {}:80 -r {}:8080 -m -w 1\n", vip(i), rip(n)));
            n += 1;
        }
    }
    s
}

fn table_size(ns: &Netns) -> (usize, usize) {
    let t = ns.enter(|| Client::connect().and_then(|mut c| c.table())).unwrap().unwrap();
    (t.len(), t.iter().map(|(_, d)| d.len()).sum())
}

fn wait_line(rx: &Receiver<String>, text: &str) -> String {
    loop {
        let l = rx.recv_timeout(Duration::from_secs(600)).unwrap();
        if l.contains(text) {
            return l;
        }
    }
}

fn count(line: &str, after: &str) -> usize {
    line.split(after).nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap()
}

fn main() {
    if !std::env::args().skip(1).any(|a| a == "bench") {
        println!("bench_lvsd: not run; run it with `cargo xtask vm-test --suite bench_lvsd bench`");
        return;
    }
    let dir = std::path::PathBuf::from(format!("/tmp/bench-lvsd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("lvs.yaml");
    let (base, _) = config(false);
    let (changed, changes) = config(true);
    std::fs::write(&cfg, &base).unwrap();

    // lvsd: initial sync into an empty table.
    let ns = Netns::new("benchlvsd").unwrap();
    let t0 = Instant::now();
    let mut child = ns
        .command(bin("lvsd"))
        .args(["-n", "-c"])
        .arg(&cfg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = wait_line(&rx, "start: table reconciled");
    let sync = t0.elapsed();
    let sent = count(&line, "real servers in the kernel), ");
    assert_eq!(table_size(&ns), (SERVICES, REALS), "initial table");

    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let hup = |text: &str| {
        std::fs::write(&cfg, text).unwrap();
        let t = Instant::now();
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
        let line = wait_line(&rx, "IPVS commands (total");
        (t.elapsed(), count(&line, "reload: "))
    };
    let (reload_1pct, sent_1pct) = hup(&changed);
    assert_eq!(sent_1pct, changes, "a 1% change sends exactly its commands");
    let (reload_none, sent_none) = hup(&changed);
    assert_eq!(sent_none, 0);
    assert_eq!(table_size(&ns), (SERVICES, REALS), "after the reloads");
    let t = Instant::now();
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    child.wait().unwrap();
    let teardown = t.elapsed();
    assert_eq!(table_size(&ns), (0, 0), "lvsd removed its table");

    // The reference: ipvsadm -R of the same table into an empty namespace.
    let text = restore_text();
    let ref_ns = Netns::new("benchref").unwrap();
    let ipvsadm = std::env::var("LVS_REF_IPVSADM").unwrap();
    let t = Instant::now();
    let mut p = ref_ns.command(&ipvsadm).arg("-R").stdin(Stdio::piped()).spawn().unwrap();
    p.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    assert!(p.wait().unwrap().success());
    let restore = t.elapsed();
    assert_eq!(table_size(&ref_ns), (SERVICES, REALS), "ipvsadm -R table");
    let _ = std::fs::remove_dir_all(&dir);

    println!("bench_lvsd: {SERVICES} services, {REALS} real servers (check: none)");
    println!(
        "bench_lvsd: initial sync (start to table complete): {sync:.3?}, {sent} IPVS commands"
    );
    println!("bench_lvsd: reload, 1% change: {reload_1pct:.3?}, {sent_1pct} IPVS commands");
    println!("bench_lvsd: reload, no change: {reload_none:.3?}, {sent_none} IPVS commands");
    println!("bench_lvsd: SIGTERM teardown: {teardown:.3?}");
    println!("bench_lvsd: reference ipvsadm -R of the same table: {restore:.3?}");
}
