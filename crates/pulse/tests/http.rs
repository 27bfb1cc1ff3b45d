//! The read-only HTTP listener (issue 19): two real `pulse` processes in
//! their own network namespaces (as in `noblock.rs`), scraped over TCP from a
//! thread that has entered a router's namespace. `/metrics` passes
//! `promtool check metrics` (Debian's `prometheus`; `cargo xtask test`
//! installs it), `/status.json` is pulse's view, nothing listens without
//! `http:`, and a slowloris client plus 1,000 idle connections neither
//! delay a heartbeat (no takeover, no stall) nor keep the listener from
//! closing them. Root is needed; without it they say why and skip, except
//! under `CI`, where they fail.

// Runs the binaries and tools under test: the choke point for starting
// processes (`clippy.toml`) is the library's.
#![allow(clippy::disallowed_methods)]
// Test helpers may unwrap: a failed unwrap is a failed test, with its line.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod lab;
use lab::{can_run, ip_bin, sh};

const KEEPALIVE_MS: u64 = 100;
const DEADTIME_MS: u64 = 1000;
const KEY: &[u8] = b"http test key, 32 bytes long!!!!";
const LISTEN: &str = "127.0.0.1:9539";

/// Two routers on a bridge, each in its own namespace; `http` is the YAML
/// line added to the configuration (empty: no listener).
struct Pair {
    prefix: String,
    dir: PathBuf,
    pulses: [Option<Child>; 2],
}

impl Pair {
    fn new(tag: &str, http: &str) -> Pair {
        let prefix = format!("ph{}{tag}", std::process::id());
        let dir = std::env::temp_dir().join(&prefix);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let pair = Pair { prefix: prefix.clone(), dir: dir.clone(), pulses: [None, None] };
        let hub = format!("{prefix}-hub");
        sh(&["netns", "add", &hub]);
        sh(&["-n", &hub, "link", "add", "br0", "type", "bridge", "ageing_time", "0"]);
        sh(&["-n", &hub, "link", "set", "br0", "up"]);
        for i in 0..2 {
            let ns = pair.ns(i);
            sh(&["netns", "add", &ns]);
            let port = format!("p{i}");
            sh(&[
                "-n", &ns, "link", "add", "eth0", "type", "veth", "peer", "name", &port, "netns",
                &hub,
            ]);
            sh(&["-n", &hub, "link", "set", &port, "master", "br0", "up"]);
            sh(&["-n", &ns, "addr", "add", &format!("10.78.0.{}/24", i + 1), "dev", "eth0"]);
            sh(&["-n", &ns, "link", "set", "eth0", "up"]);
            sh(&["-n", &ns, "link", "set", "lo", "up"]);
        }
        let key = dir.join("key");
        std::fs::write(&key, KEY).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let yaml = format!(
            "routers:\n  pool:\n    - {{ address: 10.78.0.1 }}\n    - {{ address: 10.78.0.2 }}\n\
             heartbeat: {{ keepalive: {KEEPALIVE_MS}ms, deadtime: {DEADTIME_MS}ms, auth_key_file: {} }}\n\
             {http}\
             virtual_services:\n  - {{ name: web, vip: {{ address: 10.78.0.100, interface: eth0, netmask: 24 }}, port: 80 }}\n",
            key.display()
        );
        std::fs::write(dir.join("pulse.yaml"), yaml).unwrap();
        pair
    }

    fn ns(&self, i: usize) -> String {
        format!("{}-r{i}", self.prefix)
    }

    fn socket(&self, i: usize) -> PathBuf {
        self.dir.join(format!("r{i}.sock"))
    }

    fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.join(format!("r{i}.log"))).unwrap_or_default()
    }

    fn start(&mut self, i: usize) {
        let log = std::fs::File::create(self.dir.join(format!("r{i}.log"))).unwrap();
        // `-t`: no lvsd, no commands; heartbeats and VIPs only.
        let child = Command::new(ip_bin())
            .args(["netns", "exec", &self.ns(i), env!("CARGO_BIN_EXE_pulse"), "-n", "-t", "-c"])
            .arg(self.dir.join("pulse.yaml"))
            .arg(format!("--socket={}", self.socket(i).display()))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        self.pulses[i] = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.status(i).is_none() {
            assert!(Instant::now() < deadline, "r{i} did not come up:\n{}", self.log(i));
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.pulses[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn request(&self, i: usize, req: &str) -> Option<String> {
        let mut s = UnixStream::connect(self.socket(i)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(format!("{req}\n").as_bytes()).ok()?;
        s.shutdown(std::net::Shutdown::Write).ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    }

    fn status(&self, i: usize) -> Option<String> {
        self.request(i, "status").filter(|s| s.starts_with("router: "))
    }

    fn is_active(&self, i: usize) -> bool {
        self.status(i).is_some_and(|s| s.contains("\nrole: active\n"))
    }

    fn dump(&self) -> String {
        (0..2).map(|i| format!("--- r{i} {:?}\n{}", self.status(i), self.log(i))).collect()
    }

    fn wait(&self, limit: Duration, what: &str, pred: impl Fn(&Pair) -> bool) {
        let t0 = Instant::now();
        while !pred(self) {
            assert!(t0.elapsed() < limit, "timed out waiting for {what}\n{}", self.dump());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Runs `f` on a thread inside router `i`'s network namespace.
    fn in_ns<T: Send + 'static>(&self, i: usize, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/var/run/netns/{}", self.ns(i));
        std::thread::spawn(move || {
            let ns = std::fs::File::open(path).unwrap();
            nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            f()
        })
        .join()
        .unwrap()
    }

    /// `GET path` (or another method) on router `i`'s listener: status code
    /// and body.
    fn http(&self, i: usize, method: &str, path: &str) -> (u16, String) {
        let req = format!("{method} {path} HTTP/1.1\r\nHost: {LISTEN}\r\n\r\n");
        self.in_ns(i, move || {
            let mut s = TcpStream::connect(LISTEN).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            s.write_all(req.as_bytes()).unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            let code = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
            let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
            (code, body)
        })
    }

    /// TCP sockets in LISTEN state in pulse `i`'s namespace, as local ports
    /// (from `/proc/PID/net/tcp` and `tcp6`; `ip netns exec` execs pulse,
    /// so the child's pid is pulse's).
    fn tcp_listeners(&self, i: usize) -> Vec<u16> {
        let pid = self.pulses[i].as_ref().unwrap().id();
        let mut ports = Vec::new();
        for f in ["tcp", "tcp6"] {
            let text = std::fs::read_to_string(format!("/proc/{pid}/net/{f}")).unwrap();
            for l in text.lines().skip(1) {
                let cols: Vec<&str> = l.split_whitespace().collect();
                if cols.get(3) == Some(&"0A") {
                    let port = cols[1].rsplit(':').next().unwrap();
                    ports.push(u16::from_str_radix(port, 16).unwrap());
                }
            }
        }
        ports
    }

    /// For `hold`, every 20 ms: r1 stays standby and sees r0 alive.
    fn backup_stays_standby(&self, hold: Duration, what: &str) {
        let t0 = Instant::now();
        while t0.elapsed() < hold {
            let s = self.status(1).unwrap_or_else(|| panic!("r1 silent\n{}", self.dump()));
            assert!(
                s.contains("\nrole: standby\n") && s.contains("peer: router1 alive "),
                "{what}: after {:?} the backup took over or judged the primary dead\n{s}\n{}",
                t0.elapsed(),
                self.dump()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Asserts that neither loop had a turn over 50 ms; returns the worst.
    fn no_stalls(&self) -> Vec<String> {
        (0..2)
            .map(|i| {
                let s = self.status(i).unwrap();
                let field = |k: &str| {
                    s.lines().find_map(|l| l.strip_prefix(k)).unwrap_or_default().to_owned()
                };
                assert_eq!(field("loop_stalls: "), "0", "r{i} stalled:\n{s}\n{}", self.log(i));
                format!("r{i} worst turn {} ms", field("loop_worst_turn_ms: "))
            })
            .collect()
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for c in self.pulses.iter_mut().flatten() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in [self.ns(0), self.ns(1), format!("{}-hub", self.prefix)] {
            let _ = Command::new(ip_bin()).args(["netns", "del", &ns]).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn started(tag: &str, http: &str) -> Pair {
    let mut p = Pair::new(tag, http);
    p.start(0);
    p.start(1);
    p.wait(Duration::from_secs(5), "r0 active", |p| p.is_active(0) && !p.is_active(1));
    p
}

const HTTP: &str = "http: { listen: \"127.0.0.1:9539\" }\n";

/// The value of the sample `name` (with its labels) in Prometheus text.
fn sample(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

fn promtool_check(metrics: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = child.unwrap_or_else(|e| {
        panic!("promtool: {e} (Debian's `prometheus` package; `cargo xtask test` installs it)")
    });
    child.stdin.take().unwrap().write_all(metrics.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {}{}\n{metrics}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn metrics_and_status_json_are_served_promtool_accepts_them_and_failover_shows() {
    if !can_run() {
        return;
    }
    let mut p = started("serve", HTTP);
    std::thread::sleep(Duration::from_millis(KEEPALIVE_MS * 3));
    let (code, m0) = p.http(0, "GET", "/metrics");
    assert_eq!(code, 200, "{m0}");
    promtool_check(&m0);
    assert_eq!(sample(&m0, "lvs_router_active"), Some(1.0), "{m0}");
    assert_eq!(sample(&m0, "lvs_router_transitions_total"), Some(1.0), "{m0}");
    assert!(sample(&m0, "lvs_heartbeats_sent_total").unwrap() > 0.0, "{m0}");
    assert!(sample(&m0, "lvs_heartbeats_received_total{peer=\"router2\"}").unwrap() > 0.0, "{m0}");
    assert_eq!(sample(&m0, "lvs_config_digest_match{peer=\"router2\"}"), Some(1.0), "{m0}");
    let heard = sample(&m0, "lvs_peer_last_heard_seconds{peer=\"router2\"}").unwrap();
    assert!(heard < 1.0, "{m0}");
    assert_eq!(sample(&m0, "lvs_heartbeats_dropped_total{reason=\"bad_mac\"}"), Some(0.0));
    assert_eq!(sample(&m0, "lvs_reloads_total{result=\"accepted\"}"), Some(0.0));
    assert!(sample(&m0, "lvs_loop_stall_seconds").is_some(), "{m0}");
    let (_, m1) = p.http(1, "GET", "/metrics");
    assert_eq!(sample(&m1, "lvs_router_active"), Some(0.0), "{m1}");
    // A reload is counted.
    assert_eq!(p.request(0, "reload").as_deref(), Some("ok\n"));
    p.wait(Duration::from_secs(5), "the reload counted", |p| {
        sample(&p.http(0, "GET", "/metrics").1, "lvs_reloads_total{result=\"accepted\"}")
            == Some(1.0)
    });

    let (code, j) = p.http(0, "GET", "/status.json");
    assert_eq!(code, 200, "{j}");
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    assert_eq!(v["router"], "router1");
    assert_eq!(v["role"], "active");
    assert_eq!(v["vips"][0]["address"], "10.78.0.100");
    assert_eq!(v["peers"][0]["name"], "router2");
    assert_eq!(v["peers"][0]["alive"], true);
    // The control socket gives the same document.
    let c: serde_json::Value = serde_json::from_str(&p.request(0, "status json").unwrap()).unwrap();
    assert_eq!(c["role"], v["role"]);
    assert_eq!(c["peers"][0]["name"], v["peers"][0]["name"]);

    assert_eq!(p.http(0, "POST", "/metrics").0, 405);
    assert_eq!(p.http(0, "DELETE", "/status.json").0, 405);
    assert_eq!(p.http(0, "GET", "/etc/passwd").0, 404);

    // A failover shows on both routers' metrics.
    assert_eq!(p.request(0, "stand-down").as_deref(), Some("ok\n"));
    p.wait(Duration::from_secs(5), "r1 active", |p| p.is_active(1) && !p.is_active(0));
    let (_, m0) = p.http(0, "GET", "/metrics");
    let (_, m1) = p.http(1, "GET", "/metrics");
    assert_eq!(sample(&m0, "lvs_router_active"), Some(0.0), "{m0}");
    assert_eq!(sample(&m0, "lvs_router_transitions_total"), Some(2.0), "{m0}");
    assert_eq!(sample(&m1, "lvs_router_active"), Some(1.0), "{m1}");
    assert_eq!(sample(&m1, "lvs_router_transitions_total"), Some(1.0), "{m1}");
    promtool_check(&m1);
    // And a router that is gone shows on its peer.
    p.kill(0);
    p.wait(Duration::from_secs(5), "r0 judged dead", |p| {
        sample(&p.http(1, "GET", "/metrics").1, "lvs_peer_alive{peer=\"router1\"}") == Some(0.0)
    });
}

#[test]
fn nothing_listens_without_http() {
    if !can_run() {
        return;
    }
    let p = started("quiet", "");
    for i in 0..2 {
        assert_eq!(p.tcp_listeners(i), Vec::<u16>::new(), "r{i}\n{}", p.log(i));
    }
    drop(p);
    let p = started("loud", HTTP);
    for i in 0..2 {
        assert_eq!(p.tcp_listeners(i), vec![9539], "r{i}\n{}", p.log(i));
    }
}

#[test]
fn slowloris_and_a_thousand_idle_connections_do_not_delay_heartbeats() {
    if !can_run() {
        return;
    }
    let p = started("flood", HTTP);
    let hold = Duration::from_secs(7);
    // In r0's namespace: 1,000 connections that never write, and 8
    // slowloris clients that send a byte of an endless header every 100 ms;
    // held past the listener's 5 s deadline.
    let path = format!("/var/run/netns/{}", p.ns(0));
    let attack = std::thread::spawn(move || {
        let ns = std::fs::File::open(path).unwrap();
        nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let to: SocketAddr = LISTEN.parse().unwrap();
        // The slow ones first, so that they get slots (the listener closes
        // what is over 64 at accept).
        let mut slow: Vec<TcpStream> = (0..8).map(|_| TcpStream::connect(to).unwrap()).collect();
        for s in &mut slow {
            s.write_all(b"GET /metrics HTTP/1.1\r\nX-Slow: ").unwrap();
        }
        let idle: Vec<TcpStream> = (0..1000)
            .filter_map(|_| TcpStream::connect_timeout(&to, Duration::from_secs(2)).ok())
            .collect();
        let t0 = Instant::now();
        let mut slow_closed = 0;
        while t0.elapsed() < hold {
            for s in &mut slow {
                if s.write_all(b"a").is_err() {
                    slow_closed += 1;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // Every idle connection was closed by the listener: for a newer one
        // (over 64 open) or at its deadline.
        let mut closed = 0;
        for mut s in idle.iter() {
            s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
            let mut b = [0u8; 1];
            let open = match s.read(&mut b) {
                Ok(0) => false,
                Ok(_) => true,
                Err(e) => matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
            };
            if !open {
                closed += 1;
            }
        }
        (idle.len(), closed, slow_closed)
    });
    let what = "1,000 idle connections and slowloris on the listener";
    p.backup_stays_standby(Duration::from_secs(2), what);
    // Idle clients hold every slot: a scrape still gets its answer (it takes
    // the slot of the oldest idle connection).
    let (code, _) = p.http(0, "GET", "/metrics");
    assert_eq!(code, 200, "a scrape during the flood");
    p.backup_stays_standby(hold - Duration::from_secs(2), what);
    let (opened, closed, slow_closed) = attack.join().unwrap();
    assert_eq!(opened, 1000);
    assert_eq!(closed, 1000, "the listener holds no connection past its deadline");
    assert!(slow_closed > 0, "the slowloris clients were cut");
    // The listener serves again once the attack is over.
    let (code, m) = p.http(0, "GET", "/metrics");
    assert_eq!(code, 200);
    assert_eq!(sample(&m, "lvs_loop_stalls_total"), Some(0.0), "{m}\n{}", p.dump());
    eprintln!("http flood: {:?}", p.no_stalls());
}

/// Kills a daemonized pulse when the test ends, even on a failure.
struct KillOnDrop(Vec<i32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for &pid in &self.0 {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

#[test]
fn a_daemonized_pulse_serves_http() {
    if !can_run() {
        return;
    }
    let p = Pair::new("daemon", HTTP);
    // A thread does not survive pulse's fork into the background: the
    // listener must be served from after it. pulse then writes
    // /run/pulse.pid; a private /run keeps the host's untouched.
    let out = Command::new(ip_bin())
        .args(["netns", "exec", &p.ns(0), "unshare", "-m", "sh", "-c"])
        .arg("mount -t tmpfs none /run && exec \"$0\" -t -c \"$1\" --socket=\"$2\"")
        .arg(env!("CARGO_BIN_EXE_pulse"))
        .arg(p.dir.join("pulse.yaml"))
        .arg(p.socket(0))
        .output()
        .unwrap();
    let pids = String::from_utf8(
        Command::new(ip_bin()).args(["netns", "pids", &p.ns(0)]).output().unwrap().stdout,
    )
    .unwrap();
    let _guard = KillOnDrop(pids.split_whitespace().filter_map(|p| p.parse().ok()).collect());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(_guard.0.len(), 1, "one pulse in the background: {pids}");
    p.wait(Duration::from_secs(5), "the daemon active", |p| p.is_active(0));
    let (code, m) = p.http(0, "GET", "/metrics");
    assert_eq!(code, 200, "{m}");
    assert_eq!(sample(&m, "lvs_router_active"), Some(1.0), "{m}");
}

/// Reads from `s` until `pred` holds for all that was read, or `limit`.
fn read_until(s: &mut dyn Read, limit: Duration, pred: impl Fn(&str) -> bool) -> String {
    let t0 = Instant::now();
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    while !pred(&text) && t0.elapsed() < limit {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(_) => {}
        }
    }
    text
}

/// The event stream (issue 19): `/events` (Server-Sent Events) and
/// `pulse --control events` both start with the kept past (the peer heard,
/// the role taken) and then carry each transition as it happens (the peer
/// lost, a reload accepted), one JSON object each with its time and reason.
#[test]
fn events_stream_over_sse_and_the_control_socket() {
    if !can_run() {
        return;
    }
    let mut p = Pair::new("ev", &format!("http: {{ listen: \"{LISTEN}\" }}\n"));
    p.start(0);
    p.start(1);
    p.wait(Duration::from_secs(10), "r0 active", |p| p.is_active(0));
    let mut sse = p.in_ns(0, || {
        let mut s = TcpStream::connect(LISTEN).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        s.write_all(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        s
    });
    let mut ctl = UnixStream::connect(p.socket(0)).unwrap();
    ctl.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    ctl.write_all(b"events\n").unwrap();
    let limit = Duration::from_secs(10);
    let past = |t: &str| {
        t.contains("\"kind\":\"peer\",\"peer\":\"router2\",\"alive\":true")
            && t.contains("\"kind\":\"role\",\"from\":\"standby\",\"to\":\"active\"")
    };
    let head = read_until(&mut sse, limit, past);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"), "{head}");
    assert!(past(&head) && head.contains("\nid: 1\ndata: {\"seq\":1,\"time\":\"20"), "{head}");
    let lines = read_until(&mut ctl, limit, past);
    assert!(past(&lines), "{lines}\n{}", p.dump());
    for l in lines.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(v["seq"].as_u64().is_some() && v["reason"].is_string(), "{l}");
    }
    // New transitions reach both readers.
    p.kill(1);
    let lost = |t: &str| t.contains("\"peer\":\"router2\",\"alive\":false");
    assert!(lost(&read_until(&mut sse, limit, lost)), "{}", p.dump());
    assert!(lost(&read_until(&mut ctl, limit, lost)), "{}", p.dump());
    assert_eq!(p.request(0, "reload").as_deref(), Some("ok\n"));
    let reload = |t: &str| t.contains("\"kind\":\"reload\",\"accepted\":true");
    assert!(reload(&read_until(&mut sse, limit, reload)), "{}", p.dump());
    assert!(reload(&read_until(&mut ctl, limit, reload)), "{}", p.dump());
    // The status page is served, with nothing to fetch from elsewhere.
    let (code, page) = p.http(0, "GET", "/");
    assert_eq!(code, 200);
    assert!(page.contains("new EventSource(\"/events\")"), "{page}");
}
