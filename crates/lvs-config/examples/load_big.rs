//! Benchmark of loading a very large configuration: the 2,284-service /
//! 37,298-real-server cluster of keepalived issue #2318, the size lvsd must
//! reload within a second (issue 11 item 4). It generates the file in YAML
//! and in lvs.cf, then times parsing and validation (`lvs_config::parse_str`,
//! what lvsd does on SIGHUP after reading the file) over several rounds.
//!
//! Run: `cargo run --release -p lvs-config --example load_big -- [yaml|cf|both] [ROUNDS]`
//! (default: both formats, 15 rounds). It prints the minimum and median of
//! each phase and of the whole load, per format, the first (cold) round's
//! times, and the minor page faults of each round, each parsed while the
//! previous round's model is still alive, as in a reload; figures go to
//! `docs/benchmarks.md`. Pass `--write DIR` to also leave the two files in DIR.

// Reads /proc for its figures: the choke point for reading files
// (`clippy.toml`) is the library's.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark's report is its output

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use lvs_config::{parse_str_observed, Format};

const SERVICES: usize = 2_284;
const REALS: usize = 37_298;
/// Distinct real-server addresses, shared by every service as in
/// `tests/vm/bench_lvsd.rs`.
const POOL: usize = 64;

fn vip(i: usize) -> String {
    format!("10.100.{}.{}", i >> 8, i & 0xff)
}

/// 16 or 17 real servers: the first 754 services have a 17th.
fn reals_of(i: usize) -> usize {
    16 + usize::from(i < REALS - 16 * SERVICES)
}

fn rip(i: usize, k: usize) -> String {
    format!("10.200.0.{}", (i * 17 + k) % POOL + 1)
}

/// The lvs.cf of `tests/vm/bench_lvsd.rs`: TCP services on port 8080,
/// round robin, NAT real servers of weight 1.
fn lvs_cf() -> String {
    let mut s =
        String::from("primary = 192.0.2.1\nservice = lvs\nnetwork = nat\nhard_shutdown = 0\n");
    for i in 0..SERVICES {
        let _ = write!(
            s,
            "virtual vs{i} {{\n active = 1\n address = {} eth0\n port = 8080\n scheduler = rr\n client_monitor = /usr/sbin/nanny\n timeout = 5\n",
            vip(i)
        );
        for k in 0..reals_of(i) {
            let _ = write!(
                s,
                " server r{k} {{\n  address = {}\n  active = 1\n  weight = 1\n }}\n",
                rip(i, k)
            );
        }
        s.push_str("}\n");
    }
    s
}

/// The same cluster in YAML, shaped as `tests/vm/bench_reload.rs` writes
/// it: block mappings for services, one flow mapping per real server.
fn yaml() -> String {
    let mut s = String::from(
        "service: lvs\nrouters:\n  primary:\n    address: 192.0.2.1\n\
         heartbeat: { protocol: piranha }\nnetwork: nat\nhard_shutdown: false\nvirtual_services:\n",
    );
    for i in 0..SERVICES {
        let _ = write!(
            s,
            "  - name: vs{i}\n    vip: {{ address: {}, interface: eth0 }}\n    port: 8080\n    scheduler: rr\n    monitor: /usr/sbin/nanny\n    check: {{ type: connect, interval: 5 }}\n    real_servers:\n",
            vip(i)
        );
        for k in 0..reals_of(i) {
            let _ = writeln!(s, "      - {{ name: r{k}, address: {}, weight: 1 }}", rip(i, k));
        }
    }
    s
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `min / median` of some durations, in milliseconds.
fn stats(mut times: Vec<Duration>) -> String {
    times.sort();
    format!("{:6.1} / {:6.1}", ms(times[0]), ms(times[times.len() / 2]))
}

/// CPU time this thread has run, from `/proc/thread-self/schedstat`
/// (nanoseconds): on a shared host it moves much less than wall time,
/// which counts the time other processes hold the cores.
fn cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Minor page faults of this process so far (`/proc/self/stat`, field
/// 10): each is a page the kernel had to give the process, which is what
/// makes a first (cold) parse slower than the next ones, and very slow
/// under software emulation.
fn minor_faults() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold blanks: count from after it.
    let after = &text[text.rfind(')')? + 1..];
    after.split_whitespace().nth(7)?.parse().ok()
}

fn run(name: &str, text: &str, format: Format, rounds: usize) {
    let (mut parse, mut validate, mut total, mut cpu) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut faults = Vec::new();
    // The previous round's model stays alive during the next parse, as
    // the running configuration does during a daemon's reload.
    let mut previous = None;
    for _ in 0..rounds {
        let cpu_start = cpu_time();
        let faults_start = minor_faults();
        let start = Instant::now();
        let mut parsed_at = None;
        let (config, diags) =
            parse_str_observed(text, name, format, || parsed_at = Some(Instant::now()));
        let end = Instant::now();
        total.push(end - start);
        let parsed_at = parsed_at.unwrap_or(end);
        if let (Some(a), Some(b)) = (cpu_start, cpu_time()) {
            cpu.push(b.saturating_sub(a));
        }
        if let (Some(a), Some(b)) = (faults_start, minor_faults()) {
            faults.push(b.saturating_sub(a));
        }
        parse.push(parsed_at - start);
        validate.push(end - parsed_at);
        let Some(config) = config else {
            for d in diags.iter().take(10) {
                eprintln!("{d}");
            }
            eprintln!("{name}: rejected ({} diagnostics)", diags.len());
            std::process::exit(1);
        };
        let reals: usize = config.virtual_services.iter().map(|v| v.real_servers.len()).sum();
        assert_eq!((config.virtual_services.len(), reals), (SERVICES, REALS));
        previous = Some(config);
    }
    drop(previous);
    let cpu = if cpu.is_empty() { "n/a".to_owned() } else { stats(cpu) };
    let first = |v: &[Duration]| ms(v[0]);
    println!(
        "{name:<8} {:>5} KiB | parse {} | validate {} | total {} | cpu {cpu}",
        text.len() / 1024,
        stats(parse.clone()),
        stats(validate.clone()),
        stats(total.clone()),
    );
    println!(
        "{:<8} first round (cold): parse {:.1}, validate {:.1}, total {:.1}; minor page faults per round: {faults:?}",
        "",
        first(&parse),
        first(&validate),
        first(&total),
    );
}

fn main() {
    let mut which = "both".to_owned();
    let mut rounds = 15usize;
    let mut write_dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "yaml" | "cf" | "both" => which = a,
            "--write" => write_dir = args.next(),
            n => match n.parse() {
                Ok(r) if r > 0 => rounds = r,
                _ => {
                    eprintln!("usage: load_big [yaml|cf|both] [ROUNDS] [--write DIR]");
                    std::process::exit(2);
                }
            },
        }
    }
    let cf = lvs_cf();
    let yml = yaml();
    if let Some(dir) = write_dir {
        for (file, text) in [("big.yaml", &yml), ("big.cf", &cf)] {
            let path = std::path::Path::new(&dir).join(file);
            if let Err(e) = std::fs::write(&path, text) {
                eprintln!("{}: {e}", path.display());
                std::process::exit(1);
            }
        }
    }
    println!(
        "milliseconds, min / median of {rounds} rounds (wall time; cpu: this thread's cpu time)"
    );
    if which != "cf" {
        run("big.yaml", &yml, Format::Yaml, rounds);
    }
    if which != "yaml" {
        run("big.cf", &cf, Format::LvsCf, rounds);
    }
}
