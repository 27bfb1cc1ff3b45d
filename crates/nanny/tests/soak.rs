//! Acceptance: 10,000 program checks (fast, failing, forking, chatty and
//! hanging ones) leave no zombie and no leaked file descriptor. Alone in
//! its test binary so that nothing else opens fds or children meanwhile.

#![allow(clippy::unwrap_used)]

use std::ffi::OsString;
use std::fs;
use std::net::SocketAddr;
use std::time::Duration;

use nanny::probe::{check_once, Check};

fn fds() -> usize {
    fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Our children (any state), from /proc.
fn children() -> Vec<String> {
    let me = std::process::id().to_string();
    let mut v = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.parse::<u32>().is_err() {
            continue;
        }
        if let Ok(stat) = fs::read_to_string(format!("/proc/{name}/stat")) {
            // Fields after the command: state, ppid.
            let after = stat.rsplit_once(')').map(|(_, a)| a).unwrap_or("");
            let f: Vec<&str> = after.split_whitespace().collect();
            if f.get(1) == Some(&me.as_str()) {
                v.push(format!("{name} {}", f[0]));
            }
        }
    }
    v
}

fn prog(argv: &[&str], expect: Option<&str>) -> Check {
    Check::Program {
        argv: argv.iter().map(OsString::from).collect(),
        expect: expect.map(|e| e.as_bytes().to_vec()),
    }
}

#[test]
fn ten_thousand_checks_leak_nothing() {
    let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let checks = [
        (prog(&["true"], None), true, Duration::from_secs(5)),
        (prog(&["false"], None), false, Duration::from_secs(5)),
        (prog(&["echo", "OK"], Some("OK")), true, Duration::from_secs(5)),
        (prog(&["sh", "-c", "sleep 1005.5 & echo OK"], Some("OK")), true, Duration::from_secs(5)),
        (prog(&["head", "-c", "1000000", "/dev/zero"], Some("OK")), false, Duration::from_secs(5)),
        (prog(&["sleep", "1005.5"], None), false, Duration::from_millis(10)),
        (prog(&["/nonexistent"], None), false, Duration::from_secs(5)),
    ];
    // Warm up (lazy allocations, e.g. std's first spawn).
    for (c, _, t) in &checks {
        check_once(c, addr, *t).unwrap();
    }
    let before = fds();
    assert!(children().is_empty(), "{:?}", children());
    for i in 0..10_000 {
        let (c, ok, t) = &checks[i % checks.len()];
        let o = check_once(c, addr, *t).unwrap();
        assert_eq!(o.ok, *ok, "check {i}: {}", o.detail);
    }
    assert_eq!(fds(), before, "fd count changed");
    let left = children();
    assert!(left.is_empty(), "children left: {left:?}");
}
