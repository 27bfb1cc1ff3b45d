//! The stall detector tells a pause of the whole machine from a stall of
//! pulse's loop (issue 15): a real `pulse` (one of a pair in the shared
//! namespace `lab`) is stopped whole with SIGSTOP, which its canaries
//! share, and then only its loop thread is stopped with ptrace while the
//! canaries run. The first is a pause and no stall, the second a stall
//! and no pause. Root is needed; without it they say why and skip, except
//! under `CI`, where they fail.

// Test helpers may unwrap: a failed unwrap is a failed test, with its line.
#![allow(clippy::unwrap_used)]
// Runs the binaries and tools under test: the choke point for starting
// processes (`clippy.toml`) is the library's.
#![allow(clippy::disallowed_methods)]

mod lab;

use std::time::{Duration, Instant};

use lab::{can_run, json_u64, Lab};
use nix::sys::ptrace;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};

/// How long each test keeps pulse (or its loop) stopped.
const STOP: Duration = Duration::from_millis(200);

/// A pair from the shared lab, r0 active, both loops' figures read.
fn started(tag: &str) -> Lab {
    let mut lab = Lab::new(tag, 2, "", 2, false);
    lab.start(0);
    lab.start(1);
    lab.wait(Duration::from_secs(5), "r0 active", |l| l.actives() == vec![0]);
    lab
}

/// r0's stall detector: (stalls, pauses, worst pause in µs), after the
/// loop has had a few turns (its figures lag one turn).
fn figures(lab: &Lab) -> (u64, u64, u64, String) {
    std::thread::sleep(Duration::from_millis(300));
    let s = lab.status(0);
    (
        json_u64(&s, "loop_stalls"),
        json_u64(&s, "loop_pauses"),
        json_u64(&s, "loop_worst_pause_us"),
        format!("{s}\n{}", lab.log(0)),
    )
}

#[test]
fn pulse_stopped_whole_is_a_pause_not_a_stall() {
    if !can_run() {
        return;
    }
    let lab = started("stw");
    let (stalls, pauses, _, s) = figures(&lab);
    assert_eq!((stalls, pauses), (0, 0), "before the stop:\n{s}");
    let pid = lab.pid(0);
    kill(pid, Signal::SIGSTOP).unwrap();
    let t0 = Instant::now();
    std::thread::sleep(STOP);
    kill(pid, Signal::SIGCONT).unwrap();
    let stopped = t0.elapsed();
    let (stalls, pauses, worst_pause, s) = figures(&lab);
    eprintln!(
        "stopped {:.1} ms: {stalls} stalls, {pauses} pauses, worst pause {:.1} ms",
        stopped.as_secs_f64() * 1000.0,
        worst_pause as f64 / 1000.0
    );
    assert_eq!(stalls, 0, "a stop of the whole process counted as a stall:\n{s}");
    assert_eq!(pauses, 1, "{s}");
    // The canaries see the stop from their first due wake-up within it.
    let low = STOP.as_micros() as u64 * 3 / 4;
    assert!(
        (low..=stopped.as_micros() as u64 + 50_000).contains(&worst_pause),
        "worst pause {worst_pause} us for a stop of {stopped:?}:\n{s}"
    );
    assert!(s.contains("loop pause: "), "{s}");
}

#[test]
fn the_loop_thread_stopped_alone_is_a_stall() {
    if !can_run() {
        return;
    }
    let lab = started("lts");
    let (stalls, pauses, _, s) = figures(&lab);
    assert_eq!((stalls, pauses), (0, 0), "before the stop:\n{s}");
    // The loop runs on pulse's main thread, whose id is the pid.
    let tid = lab.pid(0);
    ptrace::seize(tid, ptrace::Options::empty()).unwrap();
    ptrace::interrupt(tid).unwrap();
    match waitpid(tid, Some(WaitPidFlag::__WALL)).unwrap() {
        WaitStatus::PtraceEvent(..) | WaitStatus::Stopped(..) => {}
        other => panic!("the loop thread did not stop: {other:?}"),
    }
    std::thread::sleep(STOP);
    ptrace::detach(tid, None).unwrap();
    let (stalls, pauses, _, s) = figures(&lab);
    eprintln!("loop thread stopped: {stalls} stalls, {pauses} pauses");
    assert_eq!(pauses, 0, "the loop thread stopped alone counted as a pause:\n{s}");
    assert_eq!(stalls, 1, "{s}");
    assert!(s.contains("loop stall: "), "{s}");
}
