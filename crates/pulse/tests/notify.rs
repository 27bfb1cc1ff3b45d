//! pulse under systemd's notification protocol, without systemd: the test
//! is the service manager. It binds a Unix datagram socket, starts pulse
//! with `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` set as systemd
//! does for `Type=notify` with `WatchdogSec=`, and reads what arrives:
//! `READY=1` once the listening period is over, `WATCHDOG=1` while the loop
//! turns, none while the process is stopped (what systemd's watchdog
//! catches), and pings again once it continues.
//!
//! pulse runs in a network namespace of its own (`unshare --net`), so the
//! VIP it brings up on `lo` never reaches the host: the router is 127.0.0.1
//! there, its silent peer 127.0.0.2, and `-t` starts no lvsd. That needs
//! root (CI runs as root); without it the test says why and skips, except
//! under `CI`, where it fails (as `netns.rs` does).

// Runs the binaries and tools under test: the choke point for starting
// processes (`clippy.toml`) is the library's.
#![allow(clippy::disallowed_methods)]
// Test helpers may unwrap: a failed unwrap is a failed test, with its line.
#![allow(clippy::unwrap_used)]

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// The watchdog period given to pulse: it pings every quarter of it.
const WATCHDOG: Duration = Duration::from_millis(400);

struct Pulse(Child);

impl Drop for Pulse {
    fn drop(&mut self) {
        let pid = Pid::from_raw(i32::try_from(self.0.id()).unwrap());
        let _ = kill(pid, Signal::SIGCONT);
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tmp() -> PathBuf {
    let d = std::env::temp_dir().join(format!("pulse-notify-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every datagram that arrives within `window`, split into lines.
fn collect(sock: &UnixDatagram, window: Duration) -> Vec<String> {
    let end = Instant::now() + window;
    let mut lines = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return lines;
        }
        sock.set_read_timeout(Some(left)).unwrap();
        match sock.recv(&mut buf) {
            Ok(n) => lines.extend(
                String::from_utf8_lossy(&buf[..n]).lines().map(str::to_owned).collect::<Vec<_>>(),
            ),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return lines
            }
            Err(e) => panic!("notify socket: {e}"),
        }
    }
}

/// Reads until a line equal to `want` arrives, within `limit`.
fn wait_for(sock: &UnixDatagram, want: &str, limit: Duration) -> (Vec<String>, Duration) {
    let t0 = Instant::now();
    let mut seen = Vec::new();
    while t0.elapsed() < limit {
        let lines = collect(sock, Duration::from_millis(50));
        let found = lines.iter().any(|l| l == want);
        seen.extend(lines);
        if found {
            return (seen, t0.elapsed());
        }
    }
    panic!("no {want} within {limit:?}; got {seen:?}");
}

#[test]
fn ready_then_watchdog_pings_only_while_the_loop_turns() {
    if !nix::unistd::geteuid().is_root() {
        assert!(std::env::var_os("CI").is_none(), "this test needs root (unshare --net)");
        eprintln!("skipped: not root (unshare --net needs it)");
        return;
    }
    let d = tmp();
    let port = 20000 + (std::process::id() % 20000);
    let cfg = d.join("lvs.yaml");
    std::fs::write(
        &cfg,
        format!(
            "routers:\n  primary: {{ address: 127.0.0.1 }}\n  backup: {{ address: 127.0.0.2 }}\n\
             heartbeat: {{ port: {port}, keepalive: 1s, deadtime: 2s, protocol: piranha }}\n\
             virtual_services:\n  \
             - {{ name: web, vip: {{ address: 10.99.0.1, interface: lo }}, port: 80 }}\n"
        ),
    )
    .unwrap();
    let notify_path = d.join("notify.sock");
    let sock = UnixDatagram::bind(&notify_path).unwrap();
    let control = d.join("pulse.sock");
    // unshare and `exec` keep the shell's pid, so WATCHDOG_PID names pulse
    // as systemd would.
    let child = Command::new("unshare")
        .args(["--net", "sh", "-c", "ip link set lo up && WATCHDOG_PID=$$ exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_pulse"))
        .args(["-n", "-t", "--node=primary", "-c"])
        .arg(&cfg)
        .arg("--socket")
        .arg(&control)
        .env("NOTIFY_SOCKET", &notify_path)
        .env("WATCHDOG_USEC", WATCHDOG.as_micros().to_string())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap());
    let _pulse = Pulse(child);

    // READY=1 once the deadtime (2 s) has passed with the backup silent.
    let (before_ready, after) = wait_for(&sock, "READY=1", Duration::from_secs(20));
    assert!(after >= Duration::from_millis(1800), "READY=1 before the listening period: {after:?}");
    assert!(
        before_ready.iter().any(|l| l == "STATUS=active as primary; peers: backup silent"),
        "{before_ready:?}"
    );
    assert!(before_ready.iter().any(|l| l == "WATCHDOG=1"), "{before_ready:?}");

    // The loop turns: pings keep arriving, about every WATCHDOG / 4
    // (100 ms), although heartbeats wake it only every second: the loop's
    // sleep is capped for the watchdog.
    let window = Duration::from_millis(1500);
    let running = collect(&sock, window);
    let pings = running.iter().filter(|l| *l == "WATCHDOG=1").count();
    eprintln!("{pings} WATCHDOG=1 in {window:?} while running");
    assert!(pings >= 8, "{running:?}");
    assert!(!running.iter().any(|l| l == "READY=1"), "READY=1 is sent once: {running:?}");

    // Stopped: nothing arrives (a datagram sent just before the stop is
    // drained first).
    kill(pid, Signal::SIGSTOP).unwrap();
    let _ = collect(&sock, Duration::from_millis(200));
    let stopped = collect(&sock, Duration::from_millis(1500));
    assert!(stopped.is_empty(), "messages while stopped: {stopped:?}");

    // Continued: the pings resume.
    kill(pid, Signal::SIGCONT).unwrap();
    let (_, resumed) = wait_for(&sock, "WATCHDOG=1", Duration::from_secs(10));
    eprintln!("first WATCHDOG=1 {resumed:?} after SIGCONT");
    let again = collect(&sock, Duration::from_secs(1));
    assert!(again.iter().filter(|l| *l == "WATCHDOG=1").count() >= 2, "{again:?}");

    let _ = std::fs::remove_dir_all(&d);
}
