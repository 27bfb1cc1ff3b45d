//! Benchmark, not a test: what 1,000 health checks cost, in CPU and
//! memory, with lvs-router (lvsd and one nanny process per real server, as
//! shipped) and with keepalived's checker (one event loop doing 1,000
//! `TCP_CHECK`s), in one guest on the same kernel.
//!
//! Each side gets a fresh pair of namespaces: a director and a real-server
//! namespace joined by a veth pair. The real-server namespace holds 1,000
//! addresses on its link and one TCP listener on the wildcard address,
//! which accepts, counts (per address) and closes every connection. The
//! configuration is 100 virtual services (a VIP each) of 10 real servers,
//! port 9000 (not 80: there nanny's connect check turns into HTTP), TCP
//! connect checks every [`INTERVAL_S`] seconds with a 1 s timeout on both
//! sides (why not every second: see [`INTERVAL_S`]). Both get all 1,000
//! checks from one configuration: lvsd starts its 1,000 nannies itself,
//! and the row compares per check and per checked server.
//!
//! Once every real server is in the kernel table and a warm-up has passed,
//! it measures over a window: the CPU time of the daemon's whole process
//! tree (every thread's `/proc/PID/task/TID/schedstat`, exact nanoseconds),
//! its memory at the end of the window (USS = `Private_Clean +
//! Private_Dirty`, PSS and RSS from `/proc/PID/smaps_rollup`, page tables
//! from `VmPTE`), the drop in the guest's `MemAvailable` since before the
//! daemon started, and the connections the servers accepted (checks/s, and
//! the least and most any one of the 1,000 addresses got).
//!
//! Run by `cargo xtask bench` (prints a `bench-row:` line for
//! `docs/benchmarks.md`), or `cargo xtask vm-test --suite bench_cost bench`.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark's report is its output

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lvs_tests::guest::{bin, spawn, Running};
use testbed::Netns;

const SERVICES: usize = 100;
const PER_SERVICE: usize = 10;
const SERVERS: usize = SERVICES * PER_SERVICE;
const PORT: u16 = 9000;
/// The check interval of both sides, in seconds. Not 1 s: under the test
/// guest's software emulation on a shared host, 1,000 nannies checking
/// every second overload the guest (in the first run, connects timed out
/// from about 400 nannies on and lvsd had not started all 1,000 after
/// 15 min), which would measure the emulator, not the checkers. Memory
/// does not depend on the interval; CPU is also reported per check.
const INTERVAL_S: u64 = 10;
/// From the table being complete to the start of the window.
const WARM_UP: Duration = Duration::from_secs(2 * INTERVAL_S);
const WINDOW: Duration = Duration::from_secs(6 * INTERVAL_S);
/// Starting 1,000 processes under TCG takes a while.
const GIVE_UP: Duration = Duration::from_secs(1200);
/// How long to wait for the table once every process is there.
const TABLE_WAIT: Duration = Duration::from_secs(180);
/// Accept queue of the real servers' listener.
const BACKLOG: i32 = 4096;
/// Threads accepting on the real servers' listener.
const ACCEPTORS: usize = 2;

fn vip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 99, 0, u8::try_from(i + 1).unwrap())
}

/// Real server `k` (0..1,000): 10.88.1.10 to 10.88.5.209.
fn rip(k: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 88, u8::try_from(1 + k / 200).unwrap(), u8::try_from(10 + k % 200).unwrap())
}

fn rip_index(a: Ipv4Addr) -> Option<usize> {
    let [o1, o2, o3, o4] = a.octets();
    ((o1, o2) == (10, 88) && (1..=5).contains(&o3) && (10..210).contains(&o4))
        .then(|| usize::from(o3 - 1) * 200 + usize::from(o4 - 10))
}

/// The real servers: one listener on the wildcard address of the
/// real-server namespace, accepting and closing every connection, counting
/// them per real-server address.
struct Servers {
    counts: Arc<Vec<AtomicU64>>,
    other: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    ns_name: String,
}

impl Servers {
    fn start(ns: &Netns) -> Servers {
        let addr = SocketAddr::from((Ipv4Addr::UNSPECIFIED, PORT));
        let listener = ns.enter(|| listen(addr)).unwrap().unwrap();
        let counts: Arc<Vec<AtomicU64>> =
            Arc::new((0..SERVERS).map(|_| AtomicU64::new(0)).collect());
        let other = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..ACCEPTORS)
            .map(|_| {
                let listener = listener.try_clone().unwrap();
                let (counts, other, stop) = (counts.clone(), other.clone(), stop.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let Ok((stream, _)) = listener.accept() else { continue };
                        let local = stream.local_addr().ok().and_then(|a| match a {
                            SocketAddr::V4(a) => rip_index(*a.ip()),
                            SocketAddr::V6(_) => None,
                        });
                        match local {
                            Some(k) => counts[k].fetch_add(1, Ordering::Relaxed),
                            None => other.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                })
            })
            .collect();
        Servers { counts, other, stop, threads, ns_name: ns.name().to_string() }
    }

    fn snapshot(&self) -> Vec<u64> {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).collect()
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the blocked acceptors with a connection each, from inside
        // the namespace (it still exists: the lab drops it after us).
        let path = format!("/run/netns/{}", self.ns_name);
        if let Ok(file) = std::fs::File::open(&path) {
            let _ = std::thread::scope(|s| {
                s.spawn(|| {
                    if nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).is_ok() {
                        for _ in 0..ACCEPTORS {
                            let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, PORT));
                        }
                    }
                })
                .join()
            });
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// lvsd's configuration with the first `services` virtual services.
fn lvsd_yaml(services: usize) -> String {
    let mut yaml = format!(
        "service: lvs\nrouters:\n  primary:\n    address: 192.0.2.1\n\
         heartbeat: {{ protocol: piranha }}\nnetwork: direct\nhard_shutdown: false\n\
         paths:\n  nanny: {}\nvirtual_services:\n",
        bin("nanny").display()
    );
    for i in 0..services {
        let _ = write!(
            yaml,
            "  - name: s{i}\n    vip: {{ address: {}, interface: eth0 }}\n    port: {PORT}\n    \
             scheduler: wlc\n    check: {{ type: connect, interval: {INTERVAL_S}, timeout: 1, reentry: {INTERVAL_S} }}\n    \
             real_servers:\n",
            vip(i)
        );
        for j in 0..PER_SERVICE {
            let _ =
                writeln!(yaml, "      - {{ name: r{j}, address: {} }}", rip(i * PER_SERVICE + j));
        }
    }
    yaml
}

/// A listener with a deep accept queue (std's is 128), so that a burst of
/// checks while the acceptors wait for a CPU is not dropped.
fn listen(addr: SocketAddr) -> nix::Result<TcpListener> {
    use nix::sys::socket::{
        bind, listen, setsockopt, socket, sockopt, AddressFamily, Backlog, SockFlag, SockType,
        SockaddrIn,
    };
    let fd = socket(AddressFamily::Inet, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    let SocketAddr::V4(v4) = addr else { return Err(nix::Error::EAFNOSUPPORT) };
    bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrIn::from(v4))?;
    listen(&fd, Backlog::new(BACKLOG)?)?;
    Ok(TcpListener::from(fd))
}

/// A director and a real-server namespace with 1,000 real-server addresses.
struct Lab {
    director: Netns,
    rs: Netns,
    dir: PathBuf,
}

impl Lab {
    fn new(side: &str) -> Lab {
        let director = Netns::new("costdir").unwrap();
        let rs = Netns::new("costrs").unwrap();
        director
            .ip(&[
                "link",
                "add",
                "eth1",
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                rs.name(),
            ])
            .unwrap();
        director.batch("addr add 10.88.0.1/16 dev eth1\nlink set eth1 up\n").unwrap();
        let mut script = String::new();
        for k in 0..SERVERS {
            let _ = writeln!(script, "addr add {}/16 dev eth0", rip(k));
        }
        script.push_str("link set eth0 up\n");
        rs.batch(&script).unwrap();
        let dir = std::env::temp_dir().join(format!("bench-cost-{}-{side}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Lab { director, rs, dir }
    }

    fn destinations(&self) -> usize {
        let text = self.director.read_proc_net("ip_vs").unwrap_or_default();
        text.lines().filter(|l| l.starts_with("  -> ") && !l.contains("RemoteAddress")).count()
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    /// lvsd with all 100 services (1,000 nannies) from one
    /// configuration.
    fn lvsd(&self) -> Result<Running, String> {
        let path = self.dir.join("lvs.yaml");
        std::fs::write(&path, lvsd_yaml(SERVICES)).unwrap();
        let mut cmd = self.director.command(bin("lvsd"));
        cmd.args(["-n", "-c"]).arg(&path);
        Ok(spawn(cmd, &self.dir.join("lvsd.log")))
    }

    fn keepalived(&self) -> Result<Running, String> {
        let mut conf = String::from("global_defs {\n  router_id cost\n}\n");
        for i in 0..SERVICES {
            let _ = write!(
                conf,
                "virtual_server {} {PORT} {{\n  delay_loop {INTERVAL_S}\n  lvs_sched wlc\n  lvs_method DR\n  protocol TCP\n",
                vip(i)
            );
            for j in 0..PER_SERVICE {
                let _ = write!(
                    conf,
                    "  real_server {} {PORT} {{\n    weight 1\n    TCP_CHECK {{\n      connect_timeout 1\n      \
                     retry 0\n      delay_before_retry {INTERVAL_S}\n    }}\n  }}\n",
                    rip(i * PER_SERVICE + j)
                );
            }
            conf.push_str("}\n");
        }
        let d = &self.dir;
        std::fs::write(d.join("keepalived.conf"), conf).unwrap();
        let mut cmd = self.director.command("keepalived");
        // -C: the checker only, no VRRP child (this benchmark is about checks).
        cmd.args(["-n", "-l", "-G", "-C", "-f"])
            .arg(d.join("keepalived.conf"))
            .arg("-p")
            .arg(d.join("ka.pid"))
            .arg("-r")
            .arg(d.join("ka-vrrp.pid"))
            .arg("-c")
            .arg(d.join("ka-check.pid"));
        Ok(spawn(cmd, &d.join("keepalived.log")))
    }
}

/// The process tree under `root`: every process whose chain of parents
/// reaches it, by reading `/proc/*/stat`.
fn tree(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // The fields after the command name, which is in parentheses.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else { continue };
        let Some(ppid) = rest.split(' ').nth(1).and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        children.entry(ppid).or_default().push(pid);
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        if let Some(c) = children.get(&out[i]) {
            out.extend_from_slice(c);
        }
        i += 1;
    }
    out.sort_unstable();
    out
}

/// CPU time of every thread of `pid`, in ns (`schedstat`'s first field).
fn cpu_ns(pid: u32) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut sum = 0;
    for t in tasks.flatten() {
        let s = std::fs::read_to_string(t.path().join("schedstat")).ok()?;
        sum += s.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(sum)
}

/// A `Key:   N kB` field of a /proc file, in KiB.
fn kib(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[derive(Clone, Copy, Default, Debug)]
struct Mem {
    uss: u64,
    pss: u64,
    rss: u64,
    pte: u64,
}

impl std::ops::AddAssign for Mem {
    fn add_assign(&mut self, o: Mem) {
        self.uss += o.uss;
        self.pss += o.pss;
        self.rss += o.rss;
        self.pte += o.pte;
    }
}

fn mem(pid: u32) -> Mem {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    Mem {
        uss: kib(&rollup, "Private_Clean") + kib(&rollup, "Private_Dirty"),
        pss: kib(&rollup, "Pss"),
        rss: kib(&rollup, "Rss"),
        pte: kib(&status, "VmPTE"),
    }
}

fn mem_available_kib() -> u64 {
    kib(&std::fs::read_to_string("/proc/meminfo").unwrap_or_default(), "MemAvailable")
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim().to_string()
}

/// One side's figures.
struct Figures {
    label: String,
    processes: usize,
    cpu_ns: u64,
    window: Duration,
    mem: Mem,
    /// (role, processes, memory) per role, for the detail lines.
    roles: BTreeMap<String, (usize, Mem, u64)>,
    mem_available_drop_kib: u64,
    checks: u64,
    least: u64,
    most: u64,
    silent: usize,
    other: u64,
    ready_after: Duration,
    /// Real servers checked.
    servers: usize,
    /// Processes at the start of the window, when the tree changed.
    changed_from: Option<usize>,
}

impl Figures {
    fn cpu_percent(&self) -> f64 {
        self.cpu_ns as f64 / self.window.as_nanos() as f64 * 100.0
    }

    fn checks_per_s(&self) -> f64 {
        self.checks as f64 / self.window.as_secs_f64()
    }

    fn us_per_check(&self) -> f64 {
        self.cpu_ns as f64 / 1e3 / self.checks.max(1) as f64
    }

    fn cell(&self) -> String {
        format!(
            "{}: CPU {:.1}% of one core ({:.0} µs per check); USS {:.1} MiB ({:.0} KiB per check), \
             PSS {:.1} MiB, RSS {:.1} MiB; {:.1} checks/s answered",
            self.label,
            self.cpu_percent(),
            self.us_per_check(),
            self.mem.uss as f64 / 1024.0,
            self.mem.uss as f64 / self.servers as f64,
            self.mem.pss as f64 / 1024.0,
            self.mem.rss as f64 / 1024.0,
            self.checks_per_s()
        ) + &self.changed_from.map_or(String::new(), |n| {
            format!(
                " (process tree changed during the window: {n} -> {} processes)",
                self.processes
            )
        })
    }

    fn details(&self, tag: &str) {
        println!(
            "bench_cost: {tag}: {} processes, ready {:.1} s after spawn; CPU {:.3} s in {:.1} s = {:.2}% of one core, {:.1} µs per check",
            self.processes,
            self.ready_after.as_secs_f64(),
            self.cpu_ns as f64 / 1e9,
            self.window.as_secs_f64(),
            self.cpu_percent(),
            self.us_per_check()
        );
        println!(
            "bench_cost: {tag}: memory USS {} KiB, PSS {} KiB, RSS {} KiB, page tables {} KiB; guest MemAvailable dropped {} KiB since before the start",
            self.mem.uss, self.mem.pss, self.mem.rss, self.mem.pte, self.mem_available_drop_kib
        );
        for (role, (n, m, cpu)) in &self.roles {
            println!(
                "bench_cost: {tag}:   {role} x{n}: CPU {:.3} s; USS {} KiB ({} KiB each), PSS {} KiB, RSS {} KiB ({} KiB each), page tables {} KiB",
                *cpu as f64 / 1e9,
                m.uss,
                m.uss / *n as u64,
                m.pss,
                m.rss,
                m.rss / *n as u64,
                m.pte
            );
        }
        println!(
            "bench_cost: {tag}: {} connections accepted = {:.1} checks/s; per real server {}..{} in the window, {} never checked, {} to other addresses",
            self.checks,
            self.checks_per_s(),
            self.least,
            self.most,
            self.silent,
            self.other
        );
    }
}

/// Starts `daemon` in a fresh lab, waits until it has `processes`
/// processes and all 1,000 real servers are in the table, warms up, and
/// measures over [`WINDOW`]. `role` names a process of the tree.
fn measure(
    side: &str,
    label: &str,
    servers_n: usize,
    daemon: impl Fn(&Lab) -> Result<Running, String>,
    role: impl Fn(&Lab, u32, u32) -> String,
    log: &str,
) -> Result<Figures, String> {
    // lvsd's tree: lvsd and a nanny per server; keepalived's: its parent
    // and the checker.
    let processes = if side == "lvsd" { servers_n + 1 } else { 2 };
    let lab = Lab::new(side);
    let servers = Servers::start(&lab.rs);
    // Let the page cache and the guest settle before the baseline.
    std::thread::sleep(Duration::from_secs(2));
    let available_before = mem_available_kib();
    let started = Instant::now();
    let running = daemon(&lab)?;
    let root = running.0.id();
    let mut shown = Instant::now();
    let mut all_since: Option<Instant> = None;
    loop {
        let n = tree(root).len();
        let dests = lab.destinations();
        if n == processes && dests == servers_n {
            break;
        }
        if n == processes {
            let since = *all_since.get_or_insert_with(Instant::now);
            if since.elapsed() > TABLE_WAIT {
                println!(
                    "bench_cost: {side}: all {n} processes up, but only {dests} of {servers_n} destinations after {TABLE_WAIT:?}; measuring anyway"
                );
                break;
            }
        }
        assert!(
            started.elapsed() < GIVE_UP,
            "{side}: not ready after {GIVE_UP:?}: {n} processes (want {processes}), {dests} destinations; log:\n{}",
            tail(&lab.log(log), 60)
        );
        if shown.elapsed() >= Duration::from_secs(30) {
            shown = Instant::now();
            println!(
                "bench_cost: {side}: {:.0} s: {n} processes, {dests} destinations, {} connections so far, MemAvailable {} KiB",
                started.elapsed().as_secs_f64(),
                servers.snapshot().iter().sum::<u64>(),
                mem_available_kib()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let ready_after = started.elapsed();
    println!("bench_cost: {side}: ready after {:.1} s", ready_after.as_secs_f64());
    std::thread::sleep(WARM_UP);
    let dests_at_start = lab.destinations();

    let pids = tree(root);
    let cpu0: HashMap<u32, u64> = pids.iter().filter_map(|&p| Some((p, cpu_ns(p)?))).collect();
    let served0 = servers.snapshot();
    let other0 = servers.other.load(Ordering::Relaxed);
    let t0 = Instant::now();
    std::thread::sleep(WINDOW);
    let served1 = servers.snapshot();
    let other1 = servers.other.load(Ordering::Relaxed);
    let pids1 = tree(root);
    // CPU first, then the window's end, then memory: reading 1,000
    // processes' smaps under emulation takes seconds, which must count
    // neither in the window nor in the CPU.
    let cpu1: Vec<(u32, u64)> = pids1
        .iter()
        .filter_map(|&p| Some((p, cpu_ns(p)? - cpu0.get(&p).copied().unwrap_or(0))))
        .collect();
    let window = t0.elapsed();
    let mut cpu = 0;
    let mut roles: BTreeMap<String, (usize, Mem, u64)> = BTreeMap::new();
    let mut total = Mem::default();
    for &(p, used) in &cpu1 {
        cpu += used;
        let m = mem(p);
        total += m;
        let r = roles.entry(role(&lab, root, p)).or_default();
        r.0 += 1;
        r.1 += m;
        r.2 += used;
    }
    let dests_at_end = lab.destinations();
    println!(
        "bench_cost: {side}: destinations in the table: {dests_at_start} at the window's start, {dests_at_end} at its end"
    );
    let available_during = mem_available_kib();
    if pids1 != pids {
        // A nanny restarted, or the checker re-forked: the figures lose
        // the CPU of what exited, so the row says so.
        println!(
            "bench_cost: {side}: the process tree changed during the window ({} -> {} processes); log:\n{}",
            pids.len(),
            pids1.len(),
            tail(&lab.log(log), 60)
        );
    }
    let per: Vec<u64> = served1.iter().zip(&served0).take(servers_n).map(|(b, a)| b - a).collect();
    let figures = Figures {
        label: label.to_string(),
        processes: pids1.len(),
        cpu_ns: cpu,
        window,
        mem: total,
        roles,
        mem_available_drop_kib: available_before.saturating_sub(available_during),
        checks: per.iter().sum(),
        least: per.iter().copied().min().unwrap_or(0),
        most: per.iter().copied().max().unwrap_or(0),
        silent: per.iter().filter(|&&n| n == 0).count(),
        other: other1 - other0,
        ready_after,
        servers: servers_n,
        changed_from: (pids1 != pids).then_some(pids.len()),
    };
    if side == "lvsd" {
        // lvsd holds one pipe per nanny: show how close it is to its limit.
        let fds = std::fs::read_dir(format!("/proc/{root}/fd")).map(|d| d.count()).unwrap_or(0);
        let limits = std::fs::read_to_string(format!("/proc/{root}/limits")).unwrap_or_default();
        let nofile = limits.lines().find(|l| l.starts_with("Max open files")).unwrap_or("");
        println!("bench_cost: lvsd: {fds} open file descriptors; {nofile}");
        let text = lab.log(log);
        let started = text.lines().find(|l| l.contains("nannies started in")).unwrap_or("");
        println!(
            "bench_cost: lvsd: {} nannies killed as silent; {started}",
            text.matches("silent for").count()
        );
    }
    drop(running);
    drop(servers);
    let _ = std::fs::remove_dir_all(&lab.dir);
    Ok(figures)
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn lvsd_role(_: &Lab, root: u32, pid: u32) -> String {
    if pid == root {
        "lvsd".into()
    } else {
        comm(pid)
    }
}

fn keepalived_role(lab: &Lab, root: u32, pid: u32) -> String {
    let pidfile = |f: &str| {
        std::fs::read_to_string(lab.dir.join(f)).ok().and_then(|s| s.trim().parse::<u32>().ok())
    };
    if pid == root {
        "keepalived parent".into()
    } else if pidfile("ka-check.pid") == Some(pid) {
        "keepalived checker".into()
    } else if pidfile("ka-vrrp.pid") == Some(pid) {
        "keepalived VRRP".into()
    } else {
        format!("other ({})", comm(pid))
    }
}

fn main() {
    if !std::env::args().skip(1).any(|a| a.starts_with("bench")) {
        println!("bench_cost: not run; run it with `cargo xtask bench`");
        return;
    }
    // The neighbour table is shared by all namespaces; the director needs
    // 1,000 entries, beyond the default thresholds (garbage collection
    // above 512, none allowed above 1,024).
    let gc = "/proc/sys/net/ipv4/neigh/default/gc_thresh";
    let saved: Vec<String> =
        (1..=3).map(|i| std::fs::read_to_string(format!("{gc}{i}")).unwrap()).collect();
    for (i, v) in [(1, "4096"), (2, "8192"), (3, "16384")] {
        std::fs::write(format!("{gc}{i}"), v).unwrap();
    }
    let mem_total = kib(&std::fs::read_to_string("/proc/meminfo").unwrap(), "MemTotal");
    println!("bench_cost: guest MemTotal {mem_total} KiB, {} CPUs", num_cpus());

    // keepalived first: it comes up in seconds, so its figures are there
    // even if lvsd cannot be brought to 1,000 nannies in this guest.
    let theirs = measure(
        "keepalived",
        "keepalived checker (-C: parent + checker, no VRRP child), 1,000 checks",
        SERVERS,
        Lab::keepalived,
        keepalived_role,
        "keepalived.log",
    );
    match &theirs {
        Ok(f) => f.details("keepalived"),
        Err(e) => println!("bench_cost: keepalived: {e}"),
    }
    let ours = measure("lvsd", "lvsd + 1,000 nannies", SERVERS, Lab::lvsd, lvsd_role, "lvsd.log");
    match &ours {
        Ok(f) => f.details("lvsd"),
        Err(e) => println!("bench_cost: lvsd: {e}"),
    }
    for (i, v) in saved.iter().enumerate() {
        let _ = std::fs::write(format!("{gc}{}", i + 1), v.trim());
    }

    let ratio = |a: f64, b: f64| if b > 0.0 { format!("{:.1}", a / b) } else { "-".into() };
    let ratios = match (&ours, &theirs) {
        (Ok(o), Ok(t)) => format!(
            "CPU per check {}; USS per server {}; PSS per server {}",
            ratio(o.us_per_check(), t.us_per_check()),
            ratio(o.mem.uss as f64 / o.servers as f64, t.mem.uss as f64 / t.servers as f64),
            ratio(o.mem.pss as f64 / o.servers as f64, t.mem.pss as f64 / t.servers as f64)
        ),
        _ => "-".into(),
    };
    let cell = |side: &Result<Figures, String>, label: &str| match side {
        Ok(f) => f.cell(),
        Err(e) => format!("{label}: {e}"),
    };
    println!(
        "bench-row: Cost of health checks, TCP connect every {INTERVAL_S} s to real servers of 10 per service, {} s window (ratios per check)\
         |{}|{}|{ratios}|none set (reported)|`cargo xtask bench --only cost`",
        WINDOW.as_secs(),
        cell(&ours, "lvsd"),
        cell(&theirs, "keepalived checker"),
    );
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get)
}
