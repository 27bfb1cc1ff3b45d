//! Benchmark (not a test): N nanny processes checking local TCP servers
//! every second. Reports the nannies' total CPU use and their private
//! memory (USS: Private_Clean + Private_Dirty from /proc/PID/smaps_rollup).
//!
//! `cargo build --release -p nanny && cargo run --release -p nanny --example many_nannies -- 1000 30`
//! (N nannies, measured over 30 s after a warm-up). Add `http` as a third
//! argument for HTTP GET checks instead of TCP connects.

// Runs nanny binaries: the choke point for starting processes
// (`clippy.toml`) is the library's.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used)]

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

static ACCEPTED: AtomicU64 = AtomicU64::new(0);

/// CPU time of `pid` in nanoseconds (/proc/PID/schedstat: exact, unlike
/// the tick-rounded utime/stime, which reads 0 for processes this idle).
fn cpu_ns(pid: u32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Private memory of `pid` in KiB (USS).
fn uss_kib(pid: u32) -> u64 {
    let text = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with("Private_"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

fn rss_kib(pid: u32) -> u64 {
    let text = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with("Rss:"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().map_or(1000, |a| a.parse().unwrap());
    let window: u64 = args.get(1).map_or(30, |a| a.parse().unwrap());
    let http = args.get(2).is_some_and(|a| a == "http");
    let exe: PathBuf =
        std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("nanny");
    assert!(exe.exists(), "build the nanny binary first: {}", exe.display());

    // Ten servers, each accepting (and answering HTTP) on its own thread.
    let mut ports = Vec::new();
    for _ in 0..10 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        ports.push(l.local_addr().unwrap().port());
        thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                ACCEPTED.fetch_add(1, Ordering::Relaxed);
                if http {
                    let mut buf = [0u8; 1024];
                    let _ = s.read(&mut buf);
                    let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\nok\n");
                }
            }
        });
    }
    let mut kids: Vec<Child> = Vec::with_capacity(n);
    let t0 = Instant::now();
    for i in 0..n {
        let port = ports[i % ports.len()].to_string();
        let mut cmd = Command::new(&exe);
        cmd.args(["-h", "127.0.0.1", "-p", &port, "-t", "1", "--report", "--lvs"]);
        if http {
            cmd.arg("--http");
        }
        kids.push(
            cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap(),
        );
    }
    eprintln!("started {n} nannies in {:?}", t0.elapsed());
    thread::sleep(Duration::from_secs(5));
    let before: Vec<u64> = kids.iter().map(|k| cpu_ns(k.id())).collect();
    let accepted0 = ACCEPTED.load(Ordering::Relaxed);
    let host_before = fs::read_to_string("/proc/stat").unwrap();
    let t = Instant::now();
    thread::sleep(Duration::from_secs(window));
    let secs = t.elapsed().as_secs_f64();
    let after: Vec<u64> = kids.iter().map(|k| cpu_ns(k.id())).collect();
    let checks = ACCEPTED.load(Ordering::Relaxed) - accepted0;
    let host_after = fs::read_to_string("/proc/stat").unwrap();
    let used: u64 = after.iter().zip(&before).map(|(a, b)| a - b).sum();
    let mut uss: Vec<u64> = kids.iter().map(|k| uss_kib(k.id())).collect();
    let rss: u64 = kids.iter().map(|k| rss_kib(k.id())).sum::<u64>() / n as u64;
    uss.sort_unstable();
    let alive = kids.iter_mut().map(|k| k.try_wait()).filter(|r| matches!(r, Ok(None))).count();
    let busy = |s: &str| -> (u64, u64) {
        let f: Vec<u64> = s
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        let idle = f[3] + f[4];
        (f.iter().sum::<u64>() - idle, f.iter().sum())
    };
    let (b0, t0s) = busy(&host_before);
    let (b1, t1s) = busy(&host_after);
    println!(
        "nannies: {n} ({alive} alive), check: {}, interval 1 s, window {secs:.1} s",
        if http { "HTTP GET" } else { "TCP connect" }
    );
    let used = used as f64 / 1e9;
    println!("checks answered by the servers: {checks} ({:.1} per second)", checks as f64 / secs);
    println!(
        "nanny CPU: {used:.3} s total = {:.2}% of one core ({:.1} us per nanny per second, {:.1} us per check)",
        used / secs * 100.0,
        used / secs / n as f64 * 1e6,
        used / checks.max(1) as f64 * 1e6
    );
    println!(
        "host CPU busy during the window (all processes, 2 cores = 200%): {:.1}%",
        (b1 - b0) as f64 / (t1s - t0s) as f64 * 200.0
    );
    println!(
        "USS per nanny: min {} KiB, median {} KiB, max {} KiB, mean {} KiB; RSS mean {rss} KiB",
        uss[0],
        uss[n / 2],
        uss[n - 1],
        uss.iter().sum::<u64>() / n as u64
    );
    for k in &kids {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(k.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    for k in &mut kids {
        let _ = k.wait();
    }
}
