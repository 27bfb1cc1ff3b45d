//! The HA loop never blocks (issue 15): idle control connections, a FIFO at
//! the configuration path on SIGHUP, and an lvsd that ignores SIGTERM each
//! used to stall pulse past the dead time, so that the backup took over
//! while the primary still held the VIP. Two real `pulse` processes run in
//! their own network namespaces (as in `netns.rs`); each test watches the
//! backup's view of the primary the whole time and ends by reading both
//! stall detectors. Root is needed; without it they say why and skip,
//! except under `CI`, where they fail.

// Test helpers may unwrap: a failed unwrap is a failed test, with its line.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const KEEPALIVE_MS: u64 = 100;
const DEADTIME_MS: u64 = 1000;
const KEY: &[u8] = b"noblock test key, 32 bytes long!";

fn ip_bin() -> &'static str {
    if Path::new("/usr/sbin/ip").exists() {
        "/usr/sbin/ip"
    } else {
        "/sbin/ip"
    }
}

fn sh(args: &[&str]) {
    let out = Command::new(ip_bin()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn can_run() -> bool {
    let why = if !nix::unistd::geteuid().is_root() {
        Some("not root")
    } else if !Path::new(ip_bin()).exists() {
        Some("no iproute2 `ip`")
    } else {
        None
    };
    match why {
        None => true,
        Some(w) if std::env::var_os("CI").is_some() => panic!("noblock tests must run in CI: {w}"),
        Some(w) => {
            eprintln!("skipping noblock test: {w}");
            false
        }
    }
}

/// Two routers on a bridge, each in its own namespace.
struct Pair {
    prefix: String,
    dir: PathBuf,
    pulses: [Option<Child>; 2],
}

impl Pair {
    /// `lvsd_setup` runs first in the shell script pulse runs as lvsd,
    /// which then writes its pid to `lvsd.pids` and sleeps.
    fn new(tag: &str, lvsd_setup: &str) -> Pair {
        let prefix = format!("pn{}{tag}", std::process::id());
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
            sh(&["-n", &ns, "addr", "add", &format!("10.79.0.{}/24", i + 1), "dev", "eth0"]);
            sh(&["-n", &ns, "link", "set", "eth0", "up"]);
            sh(&["-n", &ns, "link", "set", "lo", "up"]);
        }
        let key = dir.join("key");
        std::fs::write(&key, KEY).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let script = dir.join("lvsd");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\n{lvsd_setup}\necho $$ >> {}/lvsd.pids\nexec sleep 600\n",
                dir.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(pair.config(), pair.yaml("10.79.0.100")).unwrap();
        pair
    }

    fn yaml(&self, vip: &str) -> String {
        format!(
            "routers:\n  pool:\n    - {{ address: 10.79.0.1 }}\n    - {{ address: 10.79.0.2 }}\n\
             heartbeat: {{ keepalive: {KEEPALIVE_MS}ms, deadtime: {DEADTIME_MS}ms, auth_key_file: {} }}\n\
             paths: {{ lvsd: /nonexistent/lvsd }}\n\
             virtual_services:\n  - {{ name: web, vip: {{ address: {vip}, interface: eth0, netmask: 24 }}, port: 80 }}\n",
            self.dir.join("key").display()
        )
    }

    fn config(&self) -> PathBuf {
        self.dir.join("pulse.yaml")
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
        let child = Command::new(ip_bin())
            .args(["netns", "exec", &self.ns(i), env!("CARGO_BIN_EXE_pulse"), "-n", "-c"])
            .arg(self.config())
            .arg(format!("--lvsd={}/lvsd", self.dir.display()))
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

    fn pid(&self, i: usize) -> Pid {
        Pid::from_raw(i32::try_from(self.pulses[i].as_ref().unwrap().id()).unwrap())
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

    /// Text status, when pulse answers.
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
        if let Ok(pids) = std::fs::read_to_string(self.dir.join("lvsd.pids")) {
            for p in pids.lines().filter_map(|p| p.parse().ok()) {
                let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
            }
        }
        for ns in [self.ns(0), self.ns(1), format!("{}-hub", self.prefix)] {
            let _ = Command::new(ip_bin()).args(["netns", "del", &ns]).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn started(tag: &str, lvsd_setup: &str) -> Pair {
    let mut p = Pair::new(tag, lvsd_setup);
    p.start(0);
    p.start(1);
    p.wait(Duration::from_secs(5), "r0 active", |p| p.is_active(0) && !p.is_active(1));
    p
}

#[test]
fn idle_control_connections_do_not_delay_heartbeats() {
    if !can_run() {
        return;
    }
    let p = started("idle", "");
    for n in [8, 100] {
        // Root clients that connect and never write (a stuck agent, an
        // `nc -U` left open), held for three dead times.
        let idle: Vec<UnixStream> =
            (0..n).filter_map(|_| UnixStream::connect(p.socket(0)).ok()).collect();
        assert_eq!(idle.len(), n);
        p.backup_stays_standby(Duration::from_millis(DEADTIME_MS * 3), &format!("{n} idle"));
        drop(idle);
        p.wait(Duration::from_secs(3), "r0 answers again", |p| p.is_active(0));
    }
    let log = p.log(0);
    assert!(log.contains("control connection refused: 16 already open"), "{log}");
    eprintln!("idle control connections: {:?}", p.no_stalls());
}

#[test]
fn a_fifo_at_the_config_path_on_sighup_keeps_the_loop_and_the_config() {
    if !can_run() {
        return;
    }
    let p = started("fifo", "");
    // A FIFO nobody ever writes replaces the file, then SIGHUP.
    let cfg = p.config();
    std::fs::remove_file(&cfg).unwrap();
    assert!(Command::new("mkfifo").arg(&cfg).status().unwrap().success());
    kill(p.pid(0), Signal::SIGHUP).unwrap();
    p.backup_stays_standby(Duration::from_millis(DEADTIME_MS * 3), "FIFO on SIGHUP");
    let log = p.log(0);
    assert!(
        log.contains("reload refused, keeping the running configuration")
            && log.contains("not a regular file (a fifo)"),
        "{log}"
    );
    assert!(p.status(0).unwrap().contains("vip: 10.79.0.100/24 dev eth0\n"));
    // A good file again: the reload applies.
    std::fs::remove_file(&cfg).unwrap();
    std::fs::write(&cfg, p.yaml("10.79.0.101")).unwrap();
    kill(p.pid(0), Signal::SIGHUP).unwrap();
    p.wait(Duration::from_secs(5), "the new VIP", |p| {
        p.status(0).is_some_and(|s| s.contains("vip: 10.79.0.101/24 dev eth0\n"))
    });
    eprintln!("FIFO on SIGHUP: {:?}", p.no_stalls());
}

#[test]
fn stopping_an_lvsd_that_ignores_sigterm_does_not_stall_heartbeats() {
    if !can_run() {
        return;
    }
    // The ignored SIGTERM is inherited through exec.
    let p = started("term", "trap '' TERM HUP");
    let lvsd_pid = |p: &Pair| {
        p.status(0).and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("lvsd: pid ").and_then(|x| x.parse::<i32>().ok()))
        })
    };
    p.wait(Duration::from_secs(3), "lvsd on r0", |p| lvsd_pid(p).is_some());
    let lvsd = Pid::from_raw(lvsd_pid(&p).unwrap());
    // Its pid written: the trap is set.
    p.wait(Duration::from_secs(3), "lvsd's trap", |p| {
        std::fs::read_to_string(p.dir.join("lvsd.pids"))
            .is_ok_and(|s| s.lines().any(|l| l == lvsd.to_string()))
    });
    // Stand r0 down: lvsd gets SIGTERM, ignores it, and is killed after
    // the 5 s grace period; meanwhile r0 heartbeats (as standby) and
    // answers at once.
    let answer = p.request(0, "stand-down");
    assert_eq!(answer.as_deref(), Some("ok\n"), "r0 did not answer stand-down within 2 s");
    p.wait(Duration::from_secs(3), "r1 active", |p| p.is_active(1));
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(4) {
        let asked = Instant::now();
        let s = p.status(1).unwrap();
        assert!(s.contains("peer: router1 alive "), "r1 judged r0 dead:\n{s}\n{}", p.dump());
        assert!(p.status(0).is_some(), "r0 silent\n{}", p.dump());
        assert!(
            asked.elapsed() < Duration::from_millis(500),
            "r0 answered in {:?}",
            asked.elapsed()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Past the grace period it is killed, from the loop.
    p.wait(Duration::from_secs(4), "lvsd killed", |_| kill(lvsd, None).is_err());
    let log = p.log(0);
    assert!(log.contains("ignored SIGTERM for 5 s: killing it"), "{log}");
    assert!(p.is_active(1) && !p.is_active(0));
    eprintln!("lvsd ignoring SIGTERM: {:?}", p.no_stalls());
}
