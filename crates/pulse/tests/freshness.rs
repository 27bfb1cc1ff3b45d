//! Heartbeat freshness with real `pulse` processes in network namespaces
//! (see `lab`): wall clocks that disagree by minutes or hours change
//! nothing, a slowed replay of captured heartbeats cannot hold off a
//! takeover, and what is unsafe or misconfigured is said at warning level,
//! naming the peer. Root only, as `netns.rs`.
//!
//! Wall clocks are skewed per process by an `LD_PRELOAD` shim this test
//! compiles with the system C compiler: it adds an offset to
//! `CLOCK_REALTIME` (and `gettimeofday`, `time`); time namespaces cannot
//! offset `CLOCK_REALTIME`, and pulse has no test-only switch.

// Runs the binaries and tools under test: the choke point for starting
// processes (`clippy.toml`) is the library's.
#![allow(clippy::disallowed_methods)]
// Test helpers may unwrap: a failed unwrap is a failed test, with its line.
#![allow(clippy::unwrap_used)]

mod lab;

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use lab::*;

const SHIM: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static long long offset(void) {
    const char *e = getenv("SKEW_REALTIME_S");
    return e ? atoll(e) : 0;
}

int clock_gettime(clockid_t c, struct timespec *ts) {
    static int (*real)(clockid_t, struct timespec *);
    if (!real) real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    int r = real(c, ts);
    if (r == 0 && (c == CLOCK_REALTIME || c == CLOCK_REALTIME_COARSE)) ts->tv_sec += offset();
    return r;
}

int gettimeofday(struct timeval *tv, void *tz) {
    struct timespec ts;
    (void)tz;
    int r = clock_gettime(CLOCK_REALTIME, &ts);
    if (r == 0 && tv) { tv->tv_sec = ts.tv_sec; tv->tv_usec = ts.tv_nsec / 1000; }
    return r;
}

time_t time(time_t *t) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (t) *t = ts.tv_sec;
    return ts.tv_sec;
}
"#;

/// Builds the clock shim in `dir`; checks it moves `date`'s clock.
fn build_shim(dir: &Path) -> PathBuf {
    let src = dir.join("skew.c");
    let so = dir.join("skew.so");
    std::fs::write(&src, SHIM).unwrap();
    let out = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&so)
        .arg(&src)
        .arg("-ldl")
        .output()
        .expect("a C compiler (cc) for the clock shim");
    assert!(out.status.success(), "cc: {}", String::from_utf8_lossy(&out.stderr));
    let date = |skew: i64| -> i64 {
        let o = Command::new("date")
            .arg("+%s")
            .env("LD_PRELOAD", &so)
            .env("SKEW_REALTIME_S", skew.to_string())
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
    };
    let d = date(36_000) - date(0);
    assert!((35_990..=36_010).contains(&d), "the shim moves CLOCK_REALTIME: {d}");
    so
}

fn skewed(so: &Path, seconds: i64) -> Vec<String> {
    vec![format!("LD_PRELOAD={}", so.display()), format!("SKEW_REALTIME_S={seconds}")]
}

#[test]
fn wall_clocks_minutes_or_hours_apart_change_nothing() {
    if !can_run() {
        return;
    }
    // (primary, backup) offsets in seconds: the issue's 90 s either way,
    // and half a day apart in both directions.
    for (n, (s0, s1)) in [(0i64, 90i64), (0, -90), (6 * 3600, -6 * 3600), (-6 * 3600, 6 * 3600)]
        .into_iter()
        .enumerate()
    {
        let mut lab = Lab::new(&format!("skew{n}"), 2, "", 2, false);
        let so = build_shim(&lab.dir);
        lab.start_with(0, "pulse.yaml", &skewed(&so, s0));
        lab.start_with(1, "pulse.yaml", &skewed(&so, s1));
        lab.wait(Duration::from_secs(5), "r0 active", |l| l.actives() == vec![0]);
        // Several dead times: the backup keeps hearing the primary.
        std::thread::sleep(Duration::from_millis(DEADTIME_MS * 3));
        lab.assert_actives(&[0], &format!("skew {s0} s / {s1} s: one active"));
        assert!(lab.has_vip(0) && !lab.has_vip(1));
        let st = lab.status(1);
        assert!(json_u64(&st, "stale") <= 2, "only the handshake: {st}");
        // A real failover still happens within the dead time.
        lab.kill9(0);
        let t = lab.wait(Duration::from_secs(5), "r1 active", |l| l.is_active(1));
        println!("skew {s0} s / {s1} s: failover after {} ms", t.as_millis());
        assert!(
            t <= Duration::from_millis(DEADTIME_MS + KEEPALIVE_MS + 1_000),
            "failover took {} ms",
            t.as_millis()
        );
        // The old primary comes back, still skewed: no failback, one active.
        lab.start_with(0, "pulse.yaml", &skewed(&so, s0));
        std::thread::sleep(Duration::from_millis(DEADTIME_MS * 2));
        lab.assert_actives(&[1], "the skewed primary rejoins as standby");
    }
}

#[test]
fn a_slowed_replay_to_a_restarted_backup_does_not_hold_off_its_takeover() {
    if !can_run() {
        return;
    }
    // The observer is listed as a third router that never runs pulse, so
    // the real routers send it genuine heartbeats to capture.
    let mut lab = Lab::new("replay", 2, "", 3, false);
    lab.start(0);
    lab.start(1);
    lab.wait(Duration::from_secs(5), "r0 active", |l| l.actives() == vec![0]);
    let observer: UdpSocket = lab.in_ns(OBSERVER, || {
        let s = UdpSocket::bind((addr(OBSERVER).parse::<IpAddr>().unwrap(), PORT)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        s
    });
    // Three seconds of the active primary's heartbeats.
    let mut capture = Vec::new();
    let mut buf = [0u8; 2048];
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(3) {
        let (n, from) = observer.recv_from(&mut buf).unwrap();
        if from.ip().to_string() == addr(0) {
            capture.push(buf[..n].to_vec());
        }
    }
    assert!(capture.len() >= 20, "captured {}", capture.len());
    lab.kill9(0);
    lab.kill9(1);
    // A fresh backup; the capture is replayed to it slowly (one heartbeat
    // every 400 ms, under the dead time) with the primary's address.
    let as_r0 = lab.in_ns(OBSERVER, || spoofing_socket(addr(0).parse().unwrap()));
    let to = SocketAddr::new(addr(1).parse().unwrap(), PORT);
    let gap = Duration::from_millis(400);
    let replay_for = gap * u32::try_from(capture.len()).unwrap();
    let replayer = std::thread::spawn(move || {
        for p in capture {
            let _ = as_r0.send_to(&p, to);
            std::thread::sleep(gap);
        }
    });
    let started = Instant::now();
    lab.start(1);
    lab.wait(replay_for + Duration::from_secs(5), "r1 active", |l| l.is_active(1));
    let t = started.elapsed();
    println!(
        "replay of {} ms: the restarted backup took over after {} ms",
        replay_for.as_millis(),
        t.as_millis()
    );
    let bound = Duration::from_millis(DEADTIME_MS + KEEPALIVE_MS + 1_000);
    assert!(t <= bound, "held off for {} ms by the replay", t.as_millis());
    assert!(replay_for > bound * 3, "the replay outlasts the bound");
    let st = lab.status(1);
    assert!(json_u64(&st, "stale") > 0, "the replay proved nothing: {st}");
    replayer.join().unwrap();
}

#[test]
fn heartbeats_with_the_wrong_key_are_named_at_warning_level() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new("wkey", 2, "", 2, false);
    let key2 = lab.dir.join("key2");
    std::fs::write(&key2, b"another key that is long enough!").unwrap();
    std::fs::set_permissions(&key2, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let yaml = std::fs::read_to_string(lab.dir.join("pulse.yaml")).unwrap();
    let key = lab.dir.join("key").display().to_string();
    std::fs::write(lab.dir.join("wrong.yaml"), yaml.replace(&key, &key2.display().to_string()))
        .unwrap();
    lab.start(0);
    lab.start_with(1, "wrong.yaml", &[]);
    let want = format!("dropping heartbeats from router2 ({}) (bad_mac)", addr(1));
    lab.wait(Duration::from_secs(5), "the warning", |l| l.log(0).contains(&want));
    // Rate-limited: one line, however many heartbeats arrived.
    std::thread::sleep(Duration::from_millis(DEADTIME_MS * 2));
    let log = lab.log(0);
    assert_eq!(log.matches(&want).count(), 1, "{log}");
    assert!(json_u64(&lab.status(0), "bad_mac") >= 10);
}

#[test]
fn piranha_mode_warns_at_start_that_heartbeats_are_unauthenticated() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new("pirw", 1, "", 2, true);
    lab.start(0);
    let log = lab.log(0);
    assert!(log.contains("heartbeats are NOT authenticated (protocol: piranha)"), "{log}");
}

#[test]
fn a_peer_that_does_not_hear_us_is_named_and_the_pair_settles_when_the_link_is_back() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new("oneway", 2, "", 2, false);
    lab.start(0);
    lab.start(1);
    lab.wait(Duration::from_secs(5), "r0 active", |l| l.actives() == vec![0]);
    // r1 can no longer send to r0; it still hears r0. r0's heartbeats then
    // echo nothing recent of r1's: r1 cannot tell them from a replay.
    let route = ["route", "add", "blackhole", "10.77.0.1/32"];
    sh(&[&["-n", &lab.ns(1)][..], &route[..]].concat());
    let want = "router1: its heartbeats have arrived for";
    lab.wait(Duration::from_secs(5), "the warning", |l| l.log(1).contains(want));
    assert!(lab.log(1).contains("does not hear us (one-way link"), "{}", lab.log(1));
    lab.assert_actives(&[0, 1], "a one-way link is a partition");
    sh(&["-n", &lab.ns(1), "route", "del", "blackhole", "10.77.0.1/32"]);
    let t = lab.wait(Duration::from_secs(5), "one active", |l| l.actives() == vec![0]);
    println!("one-way link repaired: one active after {} ms", t.as_millis());
    assert!(lab.has_vip(0) && !lab.has_vip(1));
}
