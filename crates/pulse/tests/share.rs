//! Host tests of the operator's overrides shared between routers: real
//! `pulse` processes in network namespaces (the shared `lab`), each with
//! its own overrides file; a change made on one router reaches the other
//! over the authenticated heartbeat channel, in either direction, and
//! survives a restart; with piranha heartbeats (no key) it stays local,
//! with a warning. Needs root, like `netns.rs`.

// Runs the binaries and tools under test: the choke point for starting
// processes (`clippy.toml`) is the library's.
#![allow(clippy::disallowed_methods)]
// Test helpers may unwrap: a failed unwrap is a failed test, with its line.
#![allow(clippy::unwrap_used)]

mod lab;

use std::time::{Duration, Instant};

use lab::*;

/// Gives router `i` its own configuration file with its own overrides file.
fn own_files(lab: &Lab, routers: usize) {
    let base = std::fs::read_to_string(lab.dir.join("pulse.yaml")).unwrap();
    for i in 0..routers {
        let text = base.replace(
            "paths: { ",
            &format!("paths: {{ overrides: {}/overrides-r{i}, ", lab.dir.display()),
        );
        assert_ne!(text, base);
        std::fs::write(lab.dir.join(format!("r{i}.yaml")), text).unwrap();
    }
}

fn overrides(lab: &Lab, i: usize) -> String {
    lab.request(i, "overrides").unwrap_or_default()
}

#[test]
fn a_change_on_either_router_reaches_the_other_and_survives_a_restart() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new("share", 2, "", 2, false);
    own_files(&lab, 2);
    lab.start_with(0, "r0.yaml", &[]);
    lab.start_with(1, "r1.yaml", &[]);
    lab.wait(Duration::from_secs(5), "r0 active", |l| l.actives() == vec![0]);

    // On the active router: the standby has it within a few heartbeats.
    let asked = Instant::now();
    let reply = lab.request(0, "disable web").unwrap();
    assert!(reply.starts_with("ok: disabled tcp:10.77.0.100:80"), "{reply}");
    lab.wait(Duration::from_secs(5), "r1 has it", |l| {
        overrides(l, 1).contains("tcp:10.77.0.100:80 disabled by uid 0 on router1")
    });
    eprintln!("measure: override on r0 reached r1 in {:?}", asked.elapsed());
    // The status shows the adopted set at once; the file follows from the
    // writer thread (the loop never waits for the disk).
    let path = lab.dir.join("overrides-r1");
    lab.wait(Duration::from_secs(5), "r1 wrote its overrides file", |_| {
        std::fs::read_to_string(&path).is_ok_and(|f| f.contains("\"generation\": 1"))
    });
    assert!(lab.log(1).contains("adopted from router1"), "{}", lab.log(1));

    // On the standby: the active one has it too; the newer set wins.
    let reply = lab.request(1, "enable web").unwrap();
    assert!(reply.starts_with("ok: enabled"), "{reply}");
    lab.wait(Duration::from_secs(5), "r0 has the enable", |l| {
        overrides(l, 0).starts_with("generation 2 by router2\nno overrides")
    });

    // A restarted router reads its file and keeps what it had.
    lab.request(0, "disable web").unwrap();
    lab.wait(Duration::from_secs(5), "r1 has generation 3", |l| {
        overrides(l, 1).starts_with("generation 3 by router1")
    });
    // The file follows the status from the writer thread: a kill -9
    // before it is written loses the change on this router, as it
    // should, and this test is about what a written file keeps.
    lab.wait(Duration::from_secs(5), "r1 wrote generation 3", |_| {
        std::fs::read_to_string(&path).is_ok_and(|f| f.contains("\"generation\": 3"))
    });
    lab.kill9(1);
    lab.start_with(1, "r1.yaml", &[]);
    assert!(overrides(&lab, 1).starts_with("generation 3 by router1"), "{}", overrides(&lab, 1));
    // While it was down, the other changed: it catches up.
    lab.kill9(1);
    lab.request(0, "enable web").unwrap();
    lab.start_with(1, "r1.yaml", &[]);
    lab.wait(Duration::from_secs(5), "r1 catches up", |l| {
        overrides(l, 1).starts_with("generation 4 by router1")
    });
}

#[test]
fn piranha_heartbeats_keep_overrides_local_and_say_so() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new("sharepir", 2, "", 2, true);
    own_files(&lab, 2);
    lab.start_with(0, "r0.yaml", &[]);
    lab.start_with(1, "r1.yaml", &[]);
    lab.wait(Duration::from_secs(5), "r0 active", |l| l.actives() == vec![0]);
    let reply = lab.request(0, "disable web").unwrap();
    assert!(reply.starts_with("ok: disabled"), "{reply}");
    std::thread::sleep(Duration::from_millis(DEADTIME_MS));
    assert!(overrides(&lab, 1).contains("no overrides"), "{}", overrides(&lab, 1));
    assert!(lab.log(0).contains("not shared with the other router"), "{}", lab.log(0));
}
