//! The one spawn policy and the non-blocking stop, against real processes:
//! a child is in a process group of its own, dies with the thread that
//! started it, is seen exiting through its pidfd; `Stopping` ends a child
//! that ignores SIGTERM with SIGKILL after the grace without ever blocking
//! its caller, and kills what the child forked; the pid file is exclusive.
#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.

use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use lvs_daemon::{PidFile, PidFileError, Spawn, Stopping};
use nix::sys::signal::{kill, Signal};
use nix::unistd::{getpgid, Pid};

fn pid(n: u32) -> Pid {
    Pid::from_raw(i32::try_from(n).unwrap())
}

fn alive(p: Pid) -> bool {
    // A zombie still answers kill(0); /proc tells it apart.
    match std::fs::read_to_string(format!("/proc/{p}/stat")) {
        Ok(s) => !s.split(") ").nth(1).is_some_and(|r| r.starts_with('Z')),
        Err(_) => false,
    }
}

fn eventually(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < end, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lvs-daemon-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_child_leads_a_process_group_of_its_own() {
    let mut c = Spawn::new("sleep").arg("5").spawn().unwrap();
    let p = pid(c.id());
    assert_eq!(getpgid(Some(p)).unwrap(), p, "its own group");
    assert_ne!(getpgid(Some(p)).unwrap(), getpgid(None).unwrap(), "not ours");
    c.signal_group(Signal::SIGKILL).unwrap();
    assert!(c.wait_until(None).unwrap().is_some());
}

#[test]
fn a_child_starts_in_root_with_stdin_on_dev_null() {
    let c =
        Spawn::new("sh").args(["-c", "pwd; cat; echo end"]).stdout(Stdio::piped()).spawn().unwrap();
    let out = c.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "/\nend\n");
}

#[test]
fn a_child_dies_with_the_thread_that_started_it() {
    // The parent-death signal follows the spawning thread.
    let child =
        std::thread::spawn(|| Spawn::new("sleep").arg("30").spawn().unwrap()).join().unwrap();
    let mut child = child;
    let status = child.wait_until(Some(Instant::now() + Duration::from_secs(10))).unwrap();
    let status = status.expect("SIGTERM from the parent-death signal");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(Signal::SIGTERM as i32), "{status}");
}

#[test]
fn a_missing_program_is_an_error() {
    let e = Spawn::new("/nonexistent/lvs-daemon-test").spawn().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
}

#[test]
fn the_pidfd_becomes_readable_at_exit() {
    let mut c = Spawn::new("sleep").arg("0.2").spawn().unwrap();
    let fd = c.raw_pidfd().expect("Linux 5.3 and later have pidfds");
    let mut poll = mio::Poll::new().unwrap();
    poll.registry()
        .register(&mut mio::unix::SourceFd(&fd), mio::Token(7), mio::Interest::READABLE)
        .unwrap();
    let mut events = mio::Events::with_capacity(4);
    poll.poll(&mut events, Some(Duration::from_secs(10))).unwrap();
    assert_eq!(events.iter().next().map(|e| e.token()), Some(mio::Token(7)));
    assert!(c.pidfd().unwrap().as_raw_fd() == fd);
    assert!(c.try_wait().unwrap().is_some_and(|s| s.success()));
}

#[test]
fn stopping_a_child_that_exits_on_sigterm_needs_no_sigkill() {
    let c = Spawn::new("sleep").arg("30").spawn().unwrap();
    let now = Instant::now();
    let mut s = Stopping::start(c, Duration::from_secs(5), now);
    eventually("the SIGTERMed child to be reaped", Duration::from_secs(5), || {
        s.poll(Instant::now()).unwrap().is_some()
    });
    assert!(!s.killed());
}

/// The heart of it: a child that ignores SIGTERM is SIGKILLed at the end
/// of its grace, and no call the caller makes takes long meanwhile.
#[test]
fn stopping_kills_a_child_ignoring_sigterm_after_the_grace_without_blocking() {
    let c = Spawn::new("sh")
        .args(["-c", "trap '' TERM; echo ready; while :; do sleep 1; done"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut c = c;
    // Wait until the trap is set.
    let mut out = c.take_stdout().unwrap();
    let mut buf = [0u8; 6];
    std::io::Read::read_exact(&mut out, &mut buf).unwrap();
    let grace = Duration::from_millis(400);
    let began = Instant::now();
    let mut s = Stopping::start(c, grace, began);
    assert_eq!(s.deadline(), Some(began + grace));
    let mut slowest = Duration::ZERO;
    let status = loop {
        let t = Instant::now();
        let r = s.poll(t).unwrap();
        slowest = slowest.max(t.elapsed());
        if let Some(status) = r {
            break status;
        }
        assert!(began.elapsed() < Duration::from_secs(10), "never reaped");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(began.elapsed() >= grace, "not before the grace: {:?}", began.elapsed());
    assert!(s.killed(), "SIGKILL was needed");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(Signal::SIGKILL as i32), "{status}");
    assert!(slowest < Duration::from_millis(50), "a poll took {slowest:?}");
}

#[test]
fn stopping_kills_what_the_child_forked() {
    let mut c = Spawn::new("sh")
        .args(["-c", "sleep 30 & echo $!; wait"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = c.take_stdout().unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(&mut out), &mut line).unwrap();
    let grandchild = Pid::from_raw(line.trim().parse().unwrap());
    assert!(alive(grandchild));
    let s = Stopping::start(c, Duration::from_secs(2), Instant::now());
    let done = lvs_daemon::wait_all(vec![s]);
    assert_eq!(done.len(), 1);
    // Not our child: init reaps it once the group SIGTERM reached it.
    eventually("the grandchild to be gone", Duration::from_secs(5), || !alive(grandchild));
}

#[test]
fn wait_all_ends_every_child_at_its_deadline() {
    let stubborn = Spawn::new("sh").args(["-c", "trap '' TERM; sleep 30"]).spawn().unwrap();
    let meek = Spawn::new("sleep").arg("30").spawn().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let began = Instant::now();
    let now = Instant::now();
    let done = lvs_daemon::wait_all(vec![
        Stopping::start(stubborn, Duration::from_millis(300), now),
        Stopping::start(meek, Duration::from_secs(5), now),
    ]);
    assert_eq!(done.len(), 2);
    assert!(done.iter().all(|(_, r)| r.is_ok()));
    assert!(began.elapsed() < Duration::from_secs(3), "{:?}", began.elapsed());
    for (p, _) in done {
        assert!(kill(pid(p), None).is_err(), "{p} reaped");
    }
}

#[test]
fn a_pid_file_is_exclusive_and_removed_on_drop() {
    let d = scratch("pid");
    let path = d.join("x.pid");
    // A file left by a crash is taken over.
    std::fs::write(&path, "999999\n").unwrap();
    let held = PidFile::create(&path).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{}\n", std::process::id()));
    // A second daemon (another open file description) is refused.
    match PidFile::create(&path) {
        Err(PidFileError::Held { pid: Some(p), .. }) => assert_eq!(p, std::process::id()),
        other => panic!("{other:?}"),
    }
    drop(held);
    assert!(!path.exists());
    let again = PidFile::create(&path).unwrap();
    assert_eq!(again.path(), path);
    drop(again);
    std::fs::remove_dir_all(d).unwrap();
}
