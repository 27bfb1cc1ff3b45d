//! Benchmark, not a test: lvsd at the scale of keepalived issue 2318
//! (2,284 virtual services, 37,298 real servers). It times lvsd's initial
//! sync from an empty table, a reload with a 1% change, a reload with no
//! change and the SIGTERM teardown, and, for comparison, the reference
//! `ipvsadm -R` restoring the same table into an empty namespace. Nothing
//! asserts on time; it fails only if a table is wrong or a reload sends
//! other than the 1% change.
//!
//! The configuration is an `lvs.cf` (piranha's format, whose real servers
//! all get a nanny; `bench_reload.rs` covers YAML). Its real servers are drawn
//! from a pool of 64 addresses (a dummy interface of the bench namespace,
//! with a TCP listener), the same farm behind every VIP, so lvsd runs 64
//! real nannies (TCP connect checks) shared by all the services: the
//! initial sync is measured until every nanny has reported its server up.
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

/// How many real servers service `i` has: 16 or 17, 37,298 in all.
fn reals_of(i: usize) -> usize {
    let extra = REALS - 16 * SERVICES; // 754 services get a 17th
    16 + usize::from(i < extra)
}

/// The pool of real-server addresses (distinct within each service).
const POOL: usize = 64;

fn rip(i: usize, k: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 200, 0, ((i * 17 + k) % POOL + 1) as u8)
}

/// The 1% change: a new scheduler for 1% of the services, and 1% of the
/// (service, real server) entries dropped.
fn changed_service(i: usize) -> bool {
    i % 100 == 7
}

fn dropped_entry(n: usize) -> bool {
    n % 100 == 42
}

/// The configuration (lvs.cf) and, with `changed`, how many IPVS
/// commands the change needs.
fn config(changed: bool, nanny: &str) -> (String, usize) {
    let mut s =
        String::from("primary = 192.0.2.1\nservice = lvs\nnetwork = nat\nhard_shutdown = 0\n");
    let mut n = 0;
    let mut changes = 0;
    for i in 0..SERVICES {
        let sched = if changed && changed_service(i) { "wlc" } else { "rr" };
        changes += usize::from(changed && changed_service(i));
        s.push_str(&format!(
            "virtual vs{i} {{\n active = 1\n address = {} eth0\n port = 8080\n scheduler = {sched}\n client_monitor = {nanny}\n timeout = 5\n",
            vip(i)
        ));
        for k in 0..reals_of(i) {
            let drop = changed && dropped_entry(n);
            n += 1;
            if drop {
                changes += 1;
                continue;
            }
            s.push_str(&format!(
                " server r{k} {{\n  address = {}\n  active = 1\n  weight = 1\n }}\n",
                rip(i, k)
            ));
        }
        s.push_str("}\n");
    }
    assert_eq!(n, REALS);
    (s, changes)
}

/// The same table as `ipvsadm -R` input.
fn restore_text() -> String {
    let mut s = String::new();
    for i in 0..SERVICES {
        s.push_str(&format!("-A -t {}:8080 -s rr\n", vip(i)));
        for k in 0..reals_of(i) {
            s.push_str(&format!("-a -t {}:8080 -r {}:8080 -m -w 1\n", vip(i), rip(i, k)));
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
    let cfg = dir.join("lvs.cf");
    let nanny = bin("nanny");
    let (base, _) = config(false, &nanny);
    let (changed, changes) = config(true, &nanny);
    std::fs::write(&cfg, &base).unwrap();

    // The real servers: 64 addresses on a dummy link, one TCP listener.
    let ns = Netns::new("benchlvsd").unwrap();
    let mut script = String::from("link add rs type dummy\nlink set rs up\n");
    for k in 1..=POOL {
        script.push_str(&format!("addr add 10.200.0.{k}/32 dev rs\n"));
    }
    ns.batch(&script).unwrap();
    let _farm = testbed::TcpServer::start(&ns, "0.0.0.0:8080".parse().unwrap(), "ok\n").unwrap();

    // lvsd: initial sync into an empty table.
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
            // Refused commands and resyncs are worth seeing in the report.
            if line.contains("failed") || line.contains("resync") || line.contains(" down") {
                println!("bench_lvsd: lvsd said: {line}");
            }
            let _ = tx.send(line);
        }
    });
    let line = wait_line(&rx, "start: table reconciled");
    let services_in = t0.elapsed();
    let sent = count(&line, "real servers in the kernel), ");
    for _ in 0..POOL {
        wait_line(&rx, "real server 10.200.0.");
    }
    let reported = t0.elapsed();
    // Every nanny said up; a refused command is healed by a resync, so the
    // sync ends when the kernel holds the whole table.
    let limit = Instant::now() + Duration::from_secs(300);
    while table_size(&ns) != (SERVICES, REALS) {
        assert!(Instant::now() < limit, "initial table: {:?}", table_size(&ns));
        std::thread::sleep(Duration::from_millis(500));
    }
    let sync = t0.elapsed();
    println!("bench_lvsd: every nanny reported up after {reported:.3?}");
    println!("bench_lvsd: {SERVICES} services, {REALS} real servers, {POOL} shared nannies");
    println!("bench_lvsd: start to services in: {services_in:.3?}, {sent} IPVS commands");
    println!("bench_lvsd: initial sync (start to every real server in): {sync:.3?}");

    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    // A reload sends its commands at once, then reads the kernel back (the
    // resync, which restores drift): both are timed from SIGHUP.
    let hup = |text: &str| {
        std::fs::write(&cfg, text).unwrap();
        let t = Instant::now();
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
        let line = wait_line(&rx, "IPVS commands (total");
        let applied = t.elapsed();
        println!("bench_lvsd: lvsd said: {line}");
        let resync = wait_line(&rx, "resync after reload");
        println!("bench_lvsd: lvsd said: {resync}");
        (applied, count(&line, "reload: "), t.elapsed(), count(&resync, " requests, "))
    };
    let (reload_1pct, sent_1pct, resynced, restored) = hup(&changed);
    println!("bench_lvsd: reload, 1% change: {reload_1pct:.3?}, {sent_1pct} IPVS commands; resync done after {resynced:.3?}, {restored} commands");
    assert_eq!(sent_1pct, changes, "a 1% change sends exactly its commands");
    assert_eq!(restored, 0, "nothing drifted");
    let (reload_none, sent_none, resynced, restored) = hup(&changed);
    println!("bench_lvsd: reload, no change: {reload_none:.3?}, {sent_none} IPVS commands; resync done after {resynced:.3?}, {restored} commands");
    assert_eq!((sent_none, restored), (0, 0));
    let dropped = (0..REALS).filter(|n| dropped_entry(*n)).count();
    assert_eq!(table_size(&ns), (SERVICES, REALS - dropped), "after the reloads");
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

    println!("bench_lvsd: SIGTERM teardown: {teardown:.3?}");
    println!("bench_lvsd: reference ipvsadm -R of the same table: {restore:.3?}");
}
