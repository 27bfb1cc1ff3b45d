//! In-guest suite of nanny's standalone mode: run by hand (no lvsd), nanny
//! puts its real server into the kernel IPVS table when the service
//! answers and takes it out when it stops.
//!
//! Run with `cargo xtask vm-test --suite nanny`.

// Helpers of a test file: a failed unwrap is a failed test, with its place.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use testbed::{Netns, TcpServer};

fn ipvsadm(ns: &Netns, args: &[&str]) -> String {
    let reference = std::env::var("LVS_REF_IPVSADM").expect("LVS_REF_IPVSADM is set in the guest");
    ns.run(&reference, args).unwrap()
}

/// Whether /proc/net/ip_vs in `ns` lists 127.0.0.1:8080 (7F000001:1F90).
fn listed(ns: &Netns) -> bool {
    ns.read_proc_net("ip_vs").unwrap().contains("7F000001:1F90")
}

fn wait_for(ns: &Netns, present: bool, within: Duration) -> bool {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if listed(ns) == present {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn standalone_nanny_adds_and_removes_its_real_server() {
    let ns = Netns::new("nanny").unwrap();
    ipvsadm(&ns, &["-A", "-t", "192.0.2.1:80", "-s", "rr"]);
    let rs: SocketAddr = "127.0.0.1:8080".parse().unwrap();
    let server = TcpServer::http(&ns, rs, "ok").unwrap();
    let mut nanny = ns
        .command("nanny")
        .args(["-h", "127.0.0.1", "-V", "192.0.2.1", "-p", "80", "-r", "8080"])
        .args(["-t", "0.5", "-a", "1", "-M", "m", "--http", "--lvs"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let appeared = wait_for(&ns, true, Duration::from_secs(20));
    drop(server);
    let removed = appeared && wait_for(&ns, false, Duration::from_secs(20));
    // Back up: re-admitted at the 2nd success in a row (reentry 1 s /
    // interval 0.5 s, piranha's countThresh), one interval after the first.
    let server = TcpServer::http(&ns, rs, "ok again").unwrap();
    let t = Instant::now();
    let back = removed && wait_for(&ns, true, Duration::from_secs(20));
    let took = t.elapsed();
    drop(server);
    let _ = nanny.kill();
    let _ = nanny.wait();
    assert!(appeared, "the real server never appeared: {}", ns.read_proc_net("ip_vs").unwrap());
    assert!(removed, "the real server was not removed: {}", ns.read_proc_net("ip_vs").unwrap());
    assert!(back, "the real server did not come back: {}", ns.read_proc_net("ip_vs").unwrap());
    // The first success may have been due a little before `t` (checks run
    // on fixed times; the guest is emulated): half an interval of slack.
    assert!(
        took >= Duration::from_millis(250),
        "re-admitted after {took:?}, before the second success in a row"
    );
}
