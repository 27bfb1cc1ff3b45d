//! Benchmark, not a test: how long a dead real server stays in the IPVS
//! table, nanny (started by lvsd, which applies its reports; nanny's
//! standalone mode is not in this build) versus keepalived's TCP_CHECK,
//! both checking every second with a 1 s connect timeout and removing the
//! server on the first failed check (nanny's default, one failure;
//! keepalived `retry 0`).
//!
//! A director and a real server are namespaces joined by a veth pair. The
//! real server is a TCP server; its death is the listener closing (the
//! next connect is refused, as when the service process dies). A run waits
//! until the server is in the table, waits a pseudo-random part of the
//! interval (so kills fall at every phase of the check timer), kills it and
//! times until the destination leaves the kernel table (read every 20 ms),
//! then restarts it for the next run (re-admission after 1 s of success).
//!
//! Run by `cargo xtask bench` (prints `bench-row:` lines for
//! `docs/benchmarks.md`), or `cargo xtask vm-test --suite bench_detect bench`.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark's report is its output

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ipvs::Client;
use lvs_tests::guest::{bin, spawn, Running};
use testbed::{Netns, TcpServer};

const VIP: &str = "10.99.0.1";
const RS: &str = "10.88.0.2";
/// Not 80: there nanny's connect check turns into an HTTP exchange.
const PORT: u16 = 9000;
const GIVE_UP: Duration = Duration::from_secs(30);

fn in_table(ns: &Netns) -> bool {
    // /proc shows the destination as hex address:port.
    let hex =
        format!("-> {:08X}:{:04X}", u32::from(RS.parse::<std::net::Ipv4Addr>().unwrap()), PORT);
    ns.read_proc_net("ip_vs").unwrap_or_default().contains(&hex)
}

fn wait_for(limit: Duration, step: Duration, mut pred: impl FnMut() -> bool) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if pred() {
            return Some(started.elapsed());
        }
        std::thread::sleep(step);
    }
    None
}

/// A small deterministic spread of kill phases over one interval.
fn phase(n: usize) -> Duration {
    Duration::from_millis(((n * 377) % 1000) as u64)
}

struct Lab {
    director: Netns,
    rs: Netns,
    dir: PathBuf,
}

impl Lab {
    fn new() -> Lab {
        let director = Netns::new("detdir").unwrap();
        let rs = Netns::new("detrs").unwrap();
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
        director.batch("addr add 10.88.0.1/24 dev eth1\nlink set eth1 up\n").unwrap();
        rs.batch(&format!("addr add {RS}/24 dev eth0\nlink set eth0 up\n")).unwrap();
        let dir = std::env::temp_dir().join(format!("bench-detect-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Lab { director, rs, dir }
    }

    fn server(&self) -> TcpServer {
        let addr = SocketAddr::new(RS.parse().unwrap(), PORT);
        // The old listener's port may linger briefly; retry the bind.
        let mut tries = 0;
        loop {
            match TcpServer::start(&self.rs, addr, "rs\n") {
                Ok(s) => return s,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("cannot restart the real server: {e}"),
            }
        }
    }

    fn logs(&self) -> String {
        ["lvsd.log", "keepalived.log"]
            .iter()
            .map(|f| {
                format!(
                    "--- {f}\n{}",
                    std::fs::read_to_string(self.dir.join(f)).unwrap_or_default()
                )
            })
            .collect()
    }

    fn flush(&self) {
        let mut c = self.director.enter(Client::connect).unwrap().unwrap();
        c.flush().unwrap();
    }

    /// Kill-to-removal times over `runs` kills, with `daemon` checking.
    fn measure(
        &self,
        runs: usize,
        what: &str,
        daemon: impl Fn() -> Running,
    ) -> Vec<Option<Duration>> {
        self.flush();
        let mut server = Some(self.server());
        let _d = daemon();
        let mut out = Vec::new();
        for n in 0..runs {
            if server.is_none() {
                server = Some(self.server());
            }
            let admitted =
                wait_for(GIVE_UP, Duration::from_millis(50), || in_table(&self.director));
            assert!(
                admitted.is_some(),
                "{what}: the real server never entered the table; logs:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(500) + phase(n));
            let killed = Instant::now();
            drop(server.take()); // the listener closes: connects are refused
            let gone = wait_for(GIVE_UP, Duration::from_millis(20), || !in_table(&self.director))
                .map(|_| killed.elapsed());
            println!("bench_detect: {what} run {n}: {gone:?}");
            out.push(gone);
        }
        out
    }

    /// lvsd with one service: it starts one nanny (`--report`) and
    /// applies what it says. (nanny's standalone mode, changing the table
    /// itself, is not in this build.)
    fn lvsd(&self) -> Running {
        let yaml = format!(
            "service: lvs\nrouters:\n  primary:\n    address: 192.0.2.1\n\
             heartbeat: {{ protocol: piranha }}\nnetwork: direct\nhard_shutdown: false\n\
             paths:\n  nanny: {}\n\
             virtual_services:\n  - name: web\n    vip: {{ address: {VIP}, interface: eth0 }}\n    port: {PORT}\n    \
             scheduler: rr\n    check: {{ type: connect, interval: 1, timeout: 1, reentry: 1 }}\n    \
             real_servers:\n      - {{ name: rs, address: {RS} }}\n",
            bin("nanny").display()
        );
        std::fs::write(self.dir.join("lvs.yaml"), yaml).unwrap();
        let mut cmd = self.director.command(bin("lvsd"));
        cmd.args(["-n", "-c"]).arg(self.dir.join("lvs.yaml"));
        spawn(cmd, &self.dir.join("lvsd.log"))
    }

    fn keepalived(&self) -> Running {
        let conf = format!(
            "global_defs {{\n  router_id detect\n}}\n\
             virtual_server {VIP} {PORT} {{\n  delay_loop 1\n  lvs_sched rr\n  lvs_method DR\n  protocol TCP\n  \
             real_server {RS} {PORT} {{\n    weight 1\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 0\n      delay_before_retry 1\n    }}\n  }}\n}}\n"
        );
        let d = &self.dir;
        std::fs::write(d.join("keepalived.conf"), conf).unwrap();
        for f in ["ka.pid", "ka-vrrp.pid", "ka-check.pid"] {
            let _ = std::fs::remove_file(d.join(f));
        }
        let mut cmd = self.director.command("keepalived");
        cmd.args(["-n", "-l", "-G", "-C", "-f"])
            .arg(d.join("keepalived.conf"))
            .arg("-p")
            .arg(d.join("ka.pid"))
            .arg("-r")
            .arg(d.join("ka-vrrp.pid"))
            .arg("-c")
            .arg(d.join("ka-check.pid"));
        spawn(cmd, &d.join("keepalived.log"))
    }
}

fn stats(v: &[Option<Duration>]) -> (Option<Duration>, Option<Duration>, usize) {
    let mut ok: Vec<Duration> = v.iter().flatten().copied().collect();
    ok.sort();
    (ok.get(ok.len() / 2).copied(), ok.last().copied(), v.len() - ok.len())
}

fn show((m, w, f): (Option<Duration>, Option<Duration>, usize)) -> String {
    match (m, w) {
        (Some(m), Some(w)) => {
            let missed = if f > 0 { format!(" ({f} never removed)") } else { String::new() };
            format!(
                "median {:.0} ms / worst {:.0} ms{missed}",
                m.as_secs_f64() * 1e3,
                w.as_secs_f64() * 1e3
            )
        }
        _ => "never removed".into(),
    }
}

/// `bench` runs 10 times; `bench:N` N times.
fn runs_from_args() -> Option<usize> {
    std::env::args().skip(1).find_map(|a| match a.strip_prefix("bench") {
        Some("") => Some(10),
        Some(n) => n.strip_prefix(':').and_then(|n| n.parse().ok()),
        None => None,
    })
}

fn main() {
    let Some(runs) = runs_from_args() else {
        println!("bench_detect: not run; run it with `cargo xtask bench`");
        return;
    };
    let lab = Lab::new();
    let ours = lab.measure(runs, "lvsd+nanny", || lab.lvsd());
    let theirs = lab.measure(runs, "keepalived", || lab.keepalived());
    lab.flush();
    let (o, t) = (stats(&ours), stats(&theirs));
    let ratio = match (o.0, t.0) {
        (Some(a), Some(b)) => format!("{:.2}", a.as_secs_f64() / b.as_secs_f64()),
        _ => "-".into(),
    };
    println!(
        "bench-row: Detection, real server's service dies to removal from the table, 1 s checks, {runs} runs\
         |nanny under lvsd: {}|keepalived TCP_CHECK: {}|{ratio}|none set (reported)|`cargo xtask bench --only detection`",
        show(o),
        show(t)
    );
}
