//! Failover services (`service: fos`) on a pair of real pulses in network
//! namespaces (the shared `lab`; no IPVS involved): the active router runs
//! the service and checks it with a real nanny; when the service dies the
//! router stands down, and the peer becomes active and starts its copy.
//!
//! The service is a small TCP server run by this test in the router's
//! namespace: `start_cmd`/`stop_cmd` are a script that appends
//! "ROUTER start|stop" to a log file, and the test starts or stops that
//! router's server when the line appears, as an init script would.
//! Needs root and the workspace's `nanny` binary (`cargo test --workspace`
//! builds it; else `cargo build -p nanny`).

// Runs the binaries and tools under test: the choke point for starting
// processes (`clippy.toml`) is the library's.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used)]

mod lab;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lab::{can_run, Lab, OBSERVER};

const PORT: u16 = 8080;
const VIP: &str = "10.77.0.100";

/// A TCP server in a router's namespace that answers its router's name.
struct Service {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Service {
    fn start(lab: &Lab, i: usize) -> Service {
        let listener = lab.in_ns(i, || TcpListener::bind(("0.0.0.0", PORT)).unwrap());
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let reply = format!("web r{i}\n");
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut c, _)) => {
                        let _ = c.set_nonblocking(false);
                        let _ = c.set_read_timeout(Some(Duration::from_millis(500)));
                        let mut buf = [0u8; 64];
                        let _ = c.read(&mut buf);
                        let _ = c.write_all(reply.as_bytes());
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(_) => return,
                }
            }
        });
        Service { stop, thread: Some(thread) }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn nanny_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let p = exe.parent().unwrap().parent().unwrap().join("nanny");
    assert!(p.is_file(), "{} is missing: build it first (cargo build -p nanny)", p.display());
    p
}

/// The service log: (router, "start"|"stop") in the order the commands ran.
fn commands(lab: &Lab) -> Vec<(String, String)> {
    std::fs::read_to_string(lab.dir.join("fos.log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(a, b)| (a.to_owned(), b.to_owned())))
        .collect()
}

fn of(cmds: &[(String, String)], router: &str) -> Vec<String> {
    cmds.iter().filter(|(r, _)| r == router).map(|(_, c)| c.clone()).collect()
}

/// Keeps each router's server in the state its last command asked for.
fn follow(lab: &Lab, servers: &mut [Option<Service>], seen: &mut usize) {
    let cmds = commands(lab);
    for (router, cmd) in &cmds[*seen..] {
        let i: usize = router.trim_start_matches('r').parse().unwrap();
        servers[i] = None;
        if cmd == "start" {
            servers[i] = Some(Service::start(lab, i));
        }
    }
    *seen = cmds.len();
}

/// What a client on the LAN gets from the service's VIP.
fn client(lab: &Lab) -> Option<String> {
    lab.in_ns(OBSERVER, || {
        let to: SocketAddr = format!("{VIP}:{PORT}").parse().unwrap();
        let mut c = TcpStream::connect_timeout(&to, Duration::from_millis(300)).ok()?;
        c.set_read_timeout(Some(Duration::from_millis(500))).ok()?;
        c.write_all(b"hello\n").ok()?;
        let mut s = String::new();
        c.read_to_string(&mut s).ok()?;
        Some(s)
    })
}

#[test]
fn a_dead_service_moves_to_the_peer_with_stop_and_start_in_order() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new("fos", 2, "", 2, false);
    let dir = lab.dir.clone();
    let script = dir.join("svc");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$FOS_ROUTER $1\" >> {}/fos.log\n", dir.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let yaml = format!(
        "service: fos\n\
         routers:\n  pool:\n    - {{ address: 10.77.0.1 }}\n    - {{ address: 10.77.0.2 }}\n\
         heartbeat: {{ keepalive: {}ms, deadtime: {}ms, auth_key_file: {}/key }}\n\
         arp: {{ count: 2, interval: 100ms }}\n\
         paths: {{ nanny: {}, lvsd: /nonexistent/lvsd }}\n\
         failover_services:\n  - name: web\n    vip: {{ address: {VIP}, interface: eth0, netmask: 24 }}\n    \
         port: {PORT}\n    check: {{ type: connect, send: \"hello\\n\", expect: web, interval: 1s }}\n    \
         start_cmd: {script} start\n    stop_cmd: {script} stop\n",
        lab::KEEPALIVE_MS,
        lab::DEADTIME_MS,
        dir.display(),
        nanny_bin().display(),
        script = script.display(),
    );
    std::fs::write(dir.join("fos.yaml"), yaml).unwrap();
    lab.start_with(0, "fos.yaml", &["FOS_ROUTER=r0".into()]);
    lab.start_with(1, "fos.yaml", &["FOS_ROUTER=r1".into()]);

    let mut servers: Vec<Option<Service>> = vec![None, None];
    let mut seen = 0;
    // Runs the lab until `pred`, following the commands and checking that
    // never two routers are active.
    let mut run = |lab: &Lab,
                   servers: &mut Vec<Option<Service>>,
                   limit: Duration,
                   what: &str,
                   pred: &dyn Fn(&Lab) -> bool| {
        let t0 = Instant::now();
        loop {
            follow(lab, servers, &mut seen);
            let actives = lab.actives();
            assert!(actives.len() <= 1, "two active routers: {actives:?}");
            if pred(lab) {
                return t0.elapsed();
            }
            if t0.elapsed() > limit {
                panic!(
                    "timed out waiting for {what}\n--- r0\n{}\n--- r1\n{}",
                    lab.log(0),
                    lab.log(1)
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    };

    run(&lab, &mut servers, Duration::from_secs(10), "r0 serving", &|l| {
        l.actives() == vec![0] && client(l).as_deref() == Some("web r0\n")
    });
    // Past the grace time (two intervals and a timeout: 3 s): the check
    // holds the router active.
    std::thread::sleep(Duration::from_secs(4));
    run(&lab, &mut servers, Duration::from_secs(1), "r0 still active", &|l| l.actives() == vec![0]);
    assert!(lab.log(0).contains("failover service web is up"), "{}", lab.log(0));

    // The service dies on the active router (not through stop_cmd).
    servers[0] = None;
    let took = run(&lab, &mut servers, Duration::from_secs(10), "r1 serving", &|l| {
        l.actives() == vec![1] && client(l).as_deref() == Some("web r1\n")
    });
    eprintln!("service moved to r1 in {took:?}");
    let log0 = lab.log(0);
    assert!(log0.contains("failover service web failed"), "{log0}");
    // The old router is held ineligible, then eligible again: no failback.
    std::thread::sleep(Duration::from_millis(3 * lab::DEADTIME_MS));
    run(&lab, &mut servers, Duration::from_secs(1), "r1 still active", &|l| l.actives() == vec![1]);
    assert!(lab.log(0).contains("eligible again"), "{}", lab.log(0));
    assert_eq!(client(&lab).as_deref(), Some("web r1\n"));

    let cmds = commands(&lab);
    assert_eq!(
        of(&cmds, "r0"),
        ["stop", "stop", "start", "stop"],
        "r0: at start, activation (stop then start), stand-down: {cmds:?}"
    );
    assert_eq!(
        of(&cmds, "r1"),
        ["stop", "stop", "start"],
        "r1: at start, then activation: {cmds:?}"
    );
    // SIGTERM on the active router: pulse stops the service before it exits.
    nix::sys::signal::kill(lab.pid(1), nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = lab.pulses[1].take().unwrap().wait().unwrap();
    assert!(status.success(), "{status}\n{}", lab.log(1));
    let cmds = commands(&lab);
    assert_eq!(of(&cmds, "r1"), ["stop", "stop", "start", "stop"], "r1 at exit: {cmds:?}");
    lab.kill9(0);
}
