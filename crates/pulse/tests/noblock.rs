//! The HA loop never blocks (issue 15): idle control connections, a FIFO at
//! the configuration path on SIGHUP, an lvsd that ignores SIGTERM and a log
//! reader that stopped reading each used to stall pulse past the dead time, so that the backup took over
//! while the primary still held the VIP. Two real `pulse` processes run in
//! their own network namespaces (the shared `lab`); each test watches the
//! backup's view of the primary the whole time and ends by reading both
//! stall detectors. Root is needed; without it they say why and skip,
//! except under `CI`, where they fail.

// Runs the binaries and tools under test: the choke point for starting
// processes (`clippy.toml`) is the library's.
#![allow(clippy::disallowed_methods)]
// Test helpers may unwrap: a failed unwrap is a failed test, with its line.
#![allow(clippy::unwrap_used)]

mod lab;

use std::os::unix::net::UnixStream;
use std::process::Command;
use std::time::{Duration, Instant};

use lab::{can_run, Lab};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const DEADTIME_MS: u64 = 1000;

/// The text status of router `i`, when it answers.
fn text_status(lab: &Lab, i: usize) -> Option<String> {
    lab.request(i, "status").filter(|s| s.starts_with("router: "))
}

fn dump(lab: &Lab) -> String {
    (0..2).map(|i| format!("--- r{i} {:?}\n{}", text_status(lab, i), lab.log(i))).collect()
}

/// For `hold`, every 20 ms: r1 stays standby and sees r0 alive.
fn backup_stays_standby(lab: &Lab, hold: Duration, what: &str) {
    let t0 = Instant::now();
    while t0.elapsed() < hold {
        let s = text_status(lab, 1).unwrap_or_else(|| panic!("r1 silent\n{}", dump(lab)));
        assert!(
            s.contains("\nrole: standby\n") && s.contains("peer: router1 alive "),
            "{what}: after {:?} the backup took over or judged the primary dead\n{s}\n{}",
            t0.elapsed(),
            dump(lab)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts that neither loop had a turn over 50 ms; returns the worst.
fn no_stalls(lab: &Lab) -> Vec<String> {
    (0..2)
        .map(|i| {
            let s = text_status(lab, i).unwrap();
            let field =
                |k: &str| s.lines().find_map(|l| l.strip_prefix(k)).unwrap_or_default().to_owned();
            assert_eq!(field("loop_stalls: "), "0", "r{i} stalled:\n{s}\n{}", lab.log(i));
            format!("r{i} worst turn {} ms", field("loop_worst_turn_ms: "))
        })
        .collect()
}

/// A pair from the shared lab, r0 active; `lvsd_setup` runs first in the
/// script pulse runs as lvsd.
fn started(tag: &str, lvsd_setup: &str, yaml_extra: &str) -> Lab {
    let mut lab = unstarted(tag, lvsd_setup, yaml_extra);
    lab.start(0);
    lab.start(1);
    lab.wait(Duration::from_secs(5), "r0 active", |l| l.actives() == vec![0]);
    lab
}

/// The lab of [`started`], neither router started yet.
fn unstarted(tag: &str, lvsd_setup: &str, yaml_extra: &str) -> Lab {
    let lab = Lab::new(tag, 2, yaml_extra, 2, false);
    let script = lab.dir.join("lvsd");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n{lvsd_setup}\necho $$ >> {}/lvsd.pids\nexec sleep 600\n",
            lab.dir.display()
        ),
    )
    .unwrap();
    lab
}

#[test]
fn idle_control_connections_do_not_delay_heartbeats() {
    if !can_run() {
        return;
    }
    let p = started("idle", "", "");
    for n in [8, 100] {
        // Root clients that connect and never write (a stuck agent, an
        // `nc -U` left open), held for three dead times.
        let idle: Vec<UnixStream> =
            (0..n).filter_map(|_| UnixStream::connect(p.socket(0)).ok()).collect();
        assert_eq!(idle.len(), n);
        backup_stays_standby(&p, Duration::from_millis(DEADTIME_MS * 3), &format!("{n} idle"));
        drop(idle);
        p.wait(Duration::from_secs(3), "r0 answers again", |p| p.is_active(0));
    }
    let log = p.log(0);
    assert!(log.contains("control connections refused, 16 already open: "), "{log}");
    eprintln!("idle control connections: {:?}", no_stalls(&p));
}

#[test]
fn a_fifo_at_the_config_path_on_sighup_keeps_the_loop_and_the_config() {
    if !can_run() {
        return;
    }
    let p = started("fifo", "", "");
    // A FIFO nobody ever writes replaces the file, then SIGHUP.
    let cfg = p.dir.join("pulse.yaml");
    let good = std::fs::read_to_string(&cfg).unwrap();
    std::fs::remove_file(&cfg).unwrap();
    assert!(Command::new("mkfifo").arg(&cfg).status().unwrap().success());
    kill(p.pid(0), Signal::SIGHUP).unwrap();
    backup_stays_standby(&p, Duration::from_millis(DEADTIME_MS * 3), "FIFO on SIGHUP");
    let log = p.log(0);
    assert!(
        log.contains("reload refused, keeping the running configuration")
            && log.contains("not a regular file (a fifo)"),
        "{log}"
    );
    assert!(text_status(&p, 0).unwrap().contains("vip: 10.77.0.100/24 dev eth0\n"));
    // A good file again: the reload applies.
    std::fs::remove_file(&cfg).unwrap();
    std::fs::write(&cfg, good.replace("address: 10.77.0.100,", "address: 10.77.0.101,")).unwrap();
    kill(p.pid(0), Signal::SIGHUP).unwrap();
    p.wait(Duration::from_secs(5), "the new VIP", |p| {
        text_status(p, 0).is_some_and(|s| s.contains("vip: 10.77.0.101/24 dev eth0\n"))
    });
    eprintln!("FIFO on SIGHUP: {:?}", no_stalls(&p));
}

#[test]
fn stopping_an_lvsd_that_ignores_sigterm_does_not_stall_heartbeats() {
    if !can_run() {
        return;
    }
    // The ignored SIGTERM is inherited through exec.
    // Cold standby: a stand-down stops lvsd (a hot standby keeps it).
    let p = started("term", "trap '' TERM HUP", "standby: cold\n");
    let lvsd_pid = |p: &Lab| {
        text_status(p, 0).and_then(|s| {
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
        let s = text_status(&p, 1).unwrap();
        assert!(s.contains("peer: router1 alive "), "r1 judged r0 dead:\n{s}\n{}", dump(&p));
        assert!(text_status(&p, 0).is_some(), "r0 silent\n{}", dump(&p));
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
    eprintln!("lvsd ignoring SIGTERM: {:?}", no_stalls(&p));
}

#[test]
fn a_log_reader_that_stopped_reading_does_not_stall_the_loop() {
    if !can_run() {
        return;
    }
    // r0 logs to a stream socket nobody reads, with the smallest buffer:
    // journald stuck behind a systemd unit's standard error.
    // (A reload signals lvsd, which must live on.)
    let mut p = unstarted("logs", "trap '' HUP", "");
    let (ours, theirs) = UnixStream::pair().unwrap();
    nix::sys::socket::setsockopt(&ours, nix::sys::socket::sockopt::SndBuf, &1).unwrap();
    p.start_logging_to(0, ours.into());
    p.start(1);
    p.wait(Duration::from_secs(5), "r0 active", |l| l.actives() == vec![0]);
    // Each reload logs a few lines: far more than the buffer holds.
    for _ in 0..100 {
        assert_eq!(p.request(0, "reload").as_deref(), Some("ok\n"), "r0 did not answer");
    }
    backup_stays_standby(&p, Duration::from_millis(DEADTIME_MS * 3), "log reader stopped");
    // Reading again: pulse says how many lines it dropped.
    let mut theirs = theirs;
    theirs.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let mut text = Vec::new();
    let mut buf = [0u8; 65536];
    let t0 = Instant::now();
    while !String::from_utf8_lossy(&text).contains("log lines dropped") {
        assert!(t0.elapsed() < Duration::from_secs(5), "{}", String::from_utf8_lossy(&text));
        assert_eq!(p.request(0, "reload").as_deref(), Some("ok\n"));
        if let Ok(n) = std::io::Read::read(&mut theirs, &mut buf) {
            text.extend_from_slice(&buf[..n]);
        }
    }
    eprintln!("log reader stopped: {:?}", no_stalls(&p));
}
