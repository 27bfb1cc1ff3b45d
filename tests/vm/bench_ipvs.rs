//! Benchmark, not a test: applies a table of 1,000 services x 10
//! destinations with `ipvs::Client::apply` (batched) and with the
//! reference `ipvsadm -R`, each in a fresh namespace of the test guest,
//! and prints both times and their ratio (target: at most 0.5).
//! Nothing here asserts on time; it fails only if a table is not built.
//!
//! It takes minutes under TCG, so it runs only when asked, with the FILTER
//! word `bench`: `cargo xtask vm-test --suite bench_ipvs bench`. In a plain
//! `cargo xtask vm-test` it prints that line and exits. Figures go to
//! `docs/benchmarks.md`.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark's report is its output

use std::io::Write;
use std::net::IpAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use ipvs::{Client, Command, Dest, Service, ServiceKey};
use testbed::Netns;

const SERVICES: u32 = 1_000;
const DESTS: u8 = 10;
const ROUNDS: usize = 3;

fn vip(i: u32) -> ServiceKey {
    ServiceKey::tcp(IpAddr::from([10, 100, (i >> 8) as u8, (i & 0xff) as u8]), 80)
}

fn rip(k: u8) -> IpAddr {
    IpAddr::from([172, 16, 0, k])
}

/// The table as commands for our client.
fn commands() -> Vec<Command> {
    let mut cmds = Vec::new();
    for i in 0..SERVICES {
        cmds.push(Command::AddService(Service::new(vip(i)).with_scheduler("wlc")));
        for k in 1..=DESTS {
            cmds.push(Command::AddDest(vip(i), Dest::new(rip(k), 80).with_weight(1)));
        }
    }
    cmds
}

/// The same table as `ipvsadm -R` input (what `ipvsadm -S -n` would print).
fn restore_text() -> String {
    let mut s = String::new();
    for i in 0..SERVICES {
        let ServiceKey::Addr { addr, port, .. } = vip(i) else { unreachable!() };
        s.push_str(&format!("-A -t {addr}:{port} -s wlc\n"));
        for k in 1..=DESTS {
            s.push_str(&format!("-a -t {addr}:{port} -r {}:80 -g -w 1\n", rip(k)));
        }
    }
    s
}

fn table_size(c: &mut Client) -> (usize, usize) {
    let t = c.table().unwrap();
    (t.len(), t.iter().map(|(_, d)| d.len()).sum())
}

fn ours(ns: &Netns, cmds: &[Command]) -> Duration {
    let mut check = ns.enter(Client::connect).unwrap().unwrap();
    check.flush().unwrap();
    let started = Instant::now();
    let results = ns
        .enter(|| {
            let mut c = Client::connect().unwrap();
            c.apply(cmds).unwrap()
        })
        .unwrap();
    let took = started.elapsed();
    assert!(results.iter().all(Result::is_ok), "a command failed");
    assert_eq!(table_size(&mut check), (SERVICES as usize, SERVICES as usize * DESTS as usize));
    took
}

fn unbatched(ns: &Netns, cmds: &[Command]) -> Duration {
    let mut c = ns.enter(Client::connect).unwrap().unwrap();
    c.flush().unwrap();
    let started = Instant::now();
    for cmd in cmds {
        c.apply(std::slice::from_ref(cmd)).unwrap().pop().unwrap().unwrap();
    }
    started.elapsed()
}

fn reference(ns: &Netns, text: &str) -> Duration {
    let ipvsadm =
        std::env::var("LVS_REF_IPVSADM").expect("LVS_REF_IPVSADM is set in the test guest");
    let mut check = ns.enter(Client::connect).unwrap().unwrap();
    check.flush().unwrap();
    let started = Instant::now();
    let mut child =
        ns.command(&ipvsadm).arg("-R").stdin(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let status = child.wait().unwrap();
    let took = started.elapsed();
    assert!(status.success(), "ipvsadm -R: {status}");
    assert_eq!(table_size(&mut check), (SERVICES as usize, SERVICES as usize * DESTS as usize));
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // xtask hands every suite its FILTER as an argument (after `--color never`).
    if !std::env::args().skip(1).any(|a| a == "bench") {
        println!("bench_ipvs: not run; run it with `cargo xtask vm-test --suite bench_ipvs bench`");
        return;
    }
    let ns = Netns::new("bench").unwrap();
    let cmds = commands();
    let text = restore_text();
    let mut ours_t = Vec::new();
    let mut ref_t = Vec::new();
    for _ in 0..ROUNDS {
        ours_t.push(ours(&ns, &cmds));
        ref_t.push(reference(&ns, &text));
    }
    let single = unbatched(&ns, &cmds);
    let (a, b) = (median(ours_t.clone()), median(ref_t.clone()));
    let ratio = a.as_secs_f64() / b.as_secs_f64();
    println!("bench_ipvs: {SERVICES} services x {DESTS} destinations ({} commands)", cmds.len());
    println!("bench_ipvs: ipvs::Client::apply (batched): median {a:.3?} of {ours_t:.3?}");
    println!("bench_ipvs: reference ipvsadm -R:          median {b:.3?} of {ref_t:.3?}");
    println!("bench_ipvs: ipvs::Client, one command per round trip: {single:.3?}");
    println!(
        "bench_ipvs: ratio apply / ipvsadm -R = {ratio:.3} (target <= 0.5: {})",
        if ratio <= 0.5 { "met" } else { "MISSED" }
    );
}
