//! In-guest suite of the operator's overrides against the real kernel:
//! pulse runs one router of a testbed topology (LVS-NAT) and starts lvsd
//! and the nannies; the tests send `pulse --control` requests (drain,
//! disable, enable, weight) and watch the kernel's IPVS table and what a
//! client gets through the VIP: a drained server takes no new connection,
//! keeps its live one and leaves once it is closed (or at its timeout);
//! disables and weights survive a reload and a restart of pulse and lvsd;
//! a reload that drops a server drains it; the depool threshold keeps half
//! of four servers in when three fail.
//!
//! Run with `cargo xtask vm-test --suite operate`.

// Helpers of a test file: a failed unwrap is a failed test, with its place.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use lvs_tests::guest::bin;
use lvs_tests::table::{view, wait_for};
use testbed::{addr, Forwarding, Netns, TcpServer, Topology, TopologyBuilder};

const WEB: &str = "TCP 192.0.2.10:80";
const ECHO: &str = "TCP 192.0.2.10:9000";
const LONG: Duration = Duration::from_secs(40);

/// Waits for `svc` to hold exactly `want` (server, weight).
#[track_caller]
fn wait_table(ns: &Netns, svc: &str, want: &[(&str, u32)]) -> Duration {
    let start = Instant::now();
    let mut want: Vec<(String, u32)> = want.iter().map(|(a, w)| (a.to_string(), *w)).collect();
    want.sort();
    wait_for(&format!("{svc} to hold {want:?}"), LONG, || {
        (view(ns).get(svc).cloned().unwrap_or_default() == want).then_some(())
    });
    start.elapsed()
}

/// A figure for the report: straight to stdout, past libtest's capture.
fn measure(what: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "measure: {what}");
    let _ = out.flush();
}

mod tempdir {
    /// A scratch directory under /tmp, removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new(tag: &str) -> Dir {
            let p =
                std::path::PathBuf::from(format!("/tmp/operate-vm-{}-{tag}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// One router running pulse (which runs lvsd and the nannies) in front of
/// `n` real servers.
struct Router {
    topo: Topology,
    dir: tempdir::Dir,
    config: PathBuf,
    pulse: Option<Child>,
    starts: usize,
}

impl Router {
    fn new(tag: &str, n: usize) -> Router {
        let topo =
            TopologyBuilder::new(Forwarding::Nat).real_servers(n).active(None).build().unwrap();
        topo.directors[0].ns.sysctl("net.ipv4.ip_forward", "1").unwrap();
        let dir = tempdir::Dir::new(tag);
        let config = dir.0.join("lvs.yaml");
        Router { topo, dir, config, pulse: None, starts: 0 }
    }

    fn ns(&self) -> &Netns {
        &self.topo.directors[0].ns
    }

    fn rs(&self, j: usize, port: u16) -> String {
        format!("{}:{port}", self.topo.real_server_addr(j))
    }

    fn socket(&self) -> PathBuf {
        self.dir.0.join("pulse.sock")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.0.join("router.log")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Writes the configuration: `services` is the `virtual_services:` list.
    fn configure(&self, services: &str) {
        let text = format!(
            "service: lvs
routers:
  primary:
    address: {me}
heartbeat: {{ protocol: piranha, keepalive: 200ms, deadtime: 1s }}
network: nat
nat_router: {{ address: {gw}, interface: eth1, netmask: 24 }}
hard_shutdown: false
paths:
  lvsd: {lvsd}
  nanny: {nanny}
  overrides: {overrides}
virtual_services:
{services}",
            me = addr::director_public(0),
            gw = addr::NAT_GATEWAY,
            lvsd = bin("lvsd").display(),
            nanny = bin("nanny").display(),
            overrides = self.dir.0.join("state/overrides").display(),
        );
        std::fs::write(&self.config, text).unwrap();
    }

    /// Starts pulse (`-n`; pulse and lvsd log to the router's log file,
    /// appended to across restarts).
    fn start(&mut self) {
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(self.log_path()).unwrap();
        let child = self
            .ns()
            .command(bin("pulse"))
            .arg("-n")
            .arg("-c")
            .arg(&self.config)
            .arg(format!("--socket={}", self.socket().display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.pulse = Some(child);
        self.starts += 1;
    }

    fn signal(&self, sig: nix::sys::signal::Signal) {
        let pid = self.pulse.as_ref().unwrap().id();
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig).unwrap();
    }

    /// Stops pulse (SIGTERM: it stops lvsd, which removes its services).
    fn stop(&mut self) {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        let mut child = self.pulse.take().unwrap();
        let start = Instant::now();
        while child.try_wait().unwrap().is_none() {
            assert!(start.elapsed() < Duration::from_secs(20), "pulse did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `pulse --control REQUEST`: its output and whether it exited 0.
    fn control(&self, request: &str) -> (String, bool) {
        let out = std::process::Command::new(bin("pulse"))
            .arg(format!("--socket={}", self.socket().display()))
            .arg("--control")
            .arg(request)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("control {request:?} -> {:?}: {}", out.status.code(), text.trim());
        (text, out.status.success())
    }

    /// A request that must succeed; returns when it was answered.
    #[track_caller]
    fn ok(&self, request: &str) -> Instant {
        let (text, ok) = self.control(request);
        assert!(ok && text.starts_with("ok:"), "{request}: {text}\n{}", self.log());
        Instant::now()
    }

    /// Waits for the log to contain `text` (count beyond `after`).
    #[track_caller]
    fn expect_log(&self, text: &str, after: usize) {
        wait_for(&format!("log line {text:?}"), LONG, || {
            (self.log().matches(text).count() > after).then_some(())
        });
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        if let Some(mut c) = self.pulse.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            eprintln!("---- router log ----\n{}", self.log());
        }
    }
}

/// A TCP server on `port` in `ns` that answers every read with
/// `NAME:` and what it read, serving each connection until it closes.
fn named_echo(ns: &Netns, port: u16, name: &str) {
    let at = SocketAddr::from((Ipv4Addr::UNSPECIFIED, port));
    let listener = ns.enter(|| TcpListener::bind(at)).unwrap().unwrap();
    let name = name.to_owned();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let name = name.clone();
            std::thread::spawn(move || {
                let mut s = stream;
                let mut buf = [0u8; 256];
                while let Ok(n) = s.read(&mut buf) {
                    let mut out = format!("{name}:").into_bytes();
                    out.extend_from_slice(&buf[..n]);
                    if n == 0 || s.write_all(&out).is_err() {
                        break;
                    }
                }
            });
        }
    });
}

/// A client connection through the VIP to `port`.
fn connect(r: &Router, port: u16) -> TcpStream {
    let vip = SocketAddr::from((addr::VIP, port));
    let c = r
        .topo
        .client
        .ns
        .enter(|| TcpStream::connect_timeout(&vip, Duration::from_secs(5)))
        .unwrap()
        .unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c
}

/// Sends `text` and returns the name of the real server that echoed it.
fn echo(c: &mut TcpStream, text: &str) -> String {
    c.write_all(text.as_bytes()).unwrap();
    let mut buf = [0u8; 256];
    let n = c.read(&mut buf).unwrap();
    let got = String::from_utf8_lossy(&buf[..n]).into_owned();
    let (name, echoed) = got.split_once(':').unwrap_or_else(|| panic!("reply {got:?}"));
    assert_eq!(echoed, text);
    name.to_owned()
}

/// Closes with a reset (SO_LINGER 0): IPVS forgets the connection within
/// its CLOSE timeout (10 s), where a FIN would leave it in TIME_WAIT for
/// two minutes (counted as inactive, which a drain waits for).
fn reset(c: TcpStream) {
    let l = libc::linger { l_onoff: 1, l_linger: 0 };
    nix::sys::socket::setsockopt(&c, nix::sys::socket::sockopt::Linger, &l).unwrap();
    drop(c);
}

/// A connection that reached the real server `name` (those that reached
/// another are reset).
fn connect_to(r: &Router, port: u16, name: &str) -> TcpStream {
    loop {
        let mut c = connect(r, port);
        if echo(&mut c, "which") == name {
            return c;
        }
        reset(c);
    }
}

fn echo_service(servers: &[usize]) -> String {
    let mut s = format!(
        "  - name: echo
    vip: {{ address: {vip}, interface: eth0, netmask: 24 }}
    port: 9000
    scheduler: rr
    drain_timeout: 60
    check: {{ type: connect, interval: 1, timeout: 1, reentry: 1 }}
    real_servers:
",
        vip = addr::VIP
    );
    for j in servers {
        s.push_str(&format!(
            "      - {{ name: rs{j}, address: {} }}\n",
            addr::real_server(Forwarding::Nat, *j)
        ));
    }
    s
}

fn web_service(n: usize, extra: &str) -> String {
    let mut s = format!(
        "  - name: web
    vip: {{ address: {vip}, interface: eth0, netmask: 24 }}
    port: 80
    scheduler: rr
{extra}    check: {{ type: connect, interval: 1, timeout: 1, reentry: 1 }}
    real_servers:
",
        vip = addr::VIP
    );
    for j in 0..n {
        s.push_str(&format!(
            "      - {{ name: rs{j}, address: {} }}\n",
            addr::real_server(Forwarding::Nat, j)
        ));
    }
    s
}

fn http(r: &Router, j: usize) -> TcpServer {
    let any = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 80));
    TcpServer::http(&r.topo.real_servers[j].ns, any, &format!("rs{j}")).unwrap()
}

#[test]
fn drain_keeps_the_live_connection_then_removes_and_a_reload_drains_a_dropped_server() {
    let mut r = Router::new("drain", 2);
    for j in 0..2 {
        named_echo(&r.topo.real_servers[j].ns, 9000, &format!("rs{j}"));
    }
    r.configure(&echo_service(&[0, 1]));
    r.start();
    let (rs0, rs1) = (r.rs(0, 9000), r.rs(1, 9000));
    wait_table(r.ns(), ECHO, &[(&rs0, 1), (&rs1, 1)]);

    // A live connection to rs0 (which server the scheduler picks first
    // varies with the nannies' first verdicts); rs0 is drained.
    let mut live = connect_to(&r, 9000, "rs0");
    let asked = r.ok("drain echo rs0");
    wait_table(r.ns(), ECHO, &[(&rs0, 0), (&rs1, 1)]);
    let took = asked.elapsed();
    measure(&format!("drain request to weight 0 in the kernel: {took:?}"));
    // No new connection reaches it; the live one still works.
    for i in 0..6 {
        let mut c = connect(&r, 9000);
        assert_eq!(echo(&mut c, &format!("new{i}")), "rs1", "new connections avoid it");
        reset(c);
    }
    assert_eq!(echo(&mut live, "still there"), "rs0");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(echo(&mut live, "after 2 s"), "rs0", "the drained server keeps its connection");
    assert!(view(r.ns())[ECHO].iter().any(|(a, _)| *a == rs0), "still in while busy");
    // The live connection ends: the server leaves the table.
    let closed = Instant::now();
    reset(live);
    wait_table(r.ns(), ECHO, &[(&rs1, 1)]);
    measure(&format!("drained server out {:?} after its last connection closed", closed.elapsed()));
    r.expect_log("drained (it has no connection left", 0);
    let (list, ok) = r.control("overrides");
    assert!(
        ok && list.contains(&format!("{rs0} drained (timeout 60s) by uid 0 on primary")),
        "{list}"
    );

    // A server that never goes idle leaves at its drain timeout.
    let mut busy = connect(&r, 9000);
    assert_eq!(echo(&mut busy, "busy"), "rs1");
    let asked = r.ok(&format!("drain echo {rs1} 3"));
    let keep_busy = std::thread::spawn(move || {
        for i in 0..10 {
            if busy.write_all(format!("{i}").as_bytes()).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        busy
    });
    wait_table(r.ns(), ECHO, &[]);
    let took = asked.elapsed();
    measure(&format!("drain with timeout 3 s of a busy server: out after {took:?}"));
    assert!(took >= Duration::from_secs(3), "not before its timeout: {took:?}");
    r.expect_log("drained (its drain timeout passed", 0);
    reset(keep_busy.join().unwrap());

    // Errors name what was not found, with exit status 1.
    let (text, ok) = r.control("drain nosuch rs0");
    assert!(!ok && text.contains("no active virtual service \"nosuch\""), "{text}");
    let (text, ok) = r.control("disable echo rs7");
    assert!(!ok && text.contains("has no active real server \"rs7\""), "{text}");

    // Enabled again: both back.
    r.ok("enable echo rs0");
    r.ok(&format!("enable tcp:{}:9000 rs1", addr::VIP));
    wait_table(r.ns(), ECHO, &[(&rs0, 1), (&rs1, 1)]);

    // A reload that drops a server drains it: weight 0 while a connection
    // lives, out once it is closed. The server dropped is rs0, whose
    // connection closed cleanly above: the busy server's (rs1's) connection
    // outlived its drain timeout, and once a server is deleted the kernel
    // drops its connections' packets unseen (`expire_nodest_conn` 0), the
    // reset too, so the entry stays established and counted as active;
    // enabled again, the server comes back from the kernel's trash with
    // that count, and a drain of it would wait on it.
    let mut on = connect_to(&r, 9000, "rs0");
    r.configure(&echo_service(&[1]));
    r.signal(nix::sys::signal::Signal::SIGHUP);
    wait_table(r.ns(), ECHO, &[(&rs1, 1), (&rs0, 0)]);
    r.expect_log(&format!("real server {rs0} removed from the configuration; draining it"), 0);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(echo(&mut on, "through the reload"), "rs0");
    reset(on);
    wait_table(r.ns(), ECHO, &[(&rs1, 1)]);
}

#[test]
fn disable_and_weight_survive_a_reload_and_a_restart() {
    let mut r = Router::new("persist", 2);
    let _servers: Vec<TcpServer> = (0..2).map(|j| http(&r, j)).collect();
    r.configure(&web_service(2, ""));
    r.start();
    let (rs0, rs1) = (r.rs(0, 80), r.rs(1, 80));
    wait_table(r.ns(), WEB, &[(&rs0, 1), (&rs1, 1)]);

    let asked = r.ok("disable web rs1");
    wait_table(r.ns(), WEB, &[(&rs0, 1)]);
    measure(&format!("disable to the kernel table: {:?}", asked.elapsed()));
    let asked = r.ok(&format!("weight web {} 7", addr::real_server(Forwarding::Nat, 0)));
    wait_table(r.ns(), WEB, &[(&rs0, 7)]);
    measure(&format!("weight to the kernel table: {:?}", asked.elapsed()));
    let (list, ok) = r.control("overrides");
    assert!(ok, "{list}");
    assert!(list.contains(&format!("{rs1} disabled by uid 0 on primary")), "{list}");
    assert!(list.contains(&format!("{rs0} weight 7 by uid 0 on primary")), "{list}");
    let (again, ok) = r.control("disable web rs1");
    assert!(ok && again.starts_with("ok: nothing to change"), "{again}");

    // Watches the table for `d`: it must stay as the overrides say.
    let steady = |r: &Router, d: Duration| {
        let start = Instant::now();
        while start.elapsed() < d {
            let v = view(r.ns()).get(WEB).cloned().unwrap_or_default();
            assert!(v.iter().all(|(a, _)| *a != rs1), "rs1 came back: {v:?}");
            assert!(v.iter().all(|(_, w)| *w == 7), "the weight went: {v:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    // A reload (pulse passes SIGHUP on to lvsd, which reads the file again).
    r.signal(nix::sys::signal::Signal::SIGHUP);
    r.expect_log("overrides (reload)", 0);
    steady(&r, Duration::from_secs(3));
    // pulse and lvsd restarted: the table is rebuilt with the overrides
    // from the first command on (rs1 never comes in).
    r.stop();
    r.start();
    let start = Instant::now();
    wait_for("rs0 back after the restart", LONG, || {
        let v = view(r.ns()).get(WEB).cloned().unwrap_or_default();
        assert!(v.iter().all(|(a, _)| *a != rs1), "rs1 came back after the restart: {v:?}");
        (v == vec![(rs0.clone(), 7)]).then_some(())
    });
    measure(&format!("after the restart, rs0 at weight 7 in {:?}", start.elapsed()));
    steady(&r, Duration::from_secs(3));
    let (list, _) = r.control("overrides");
    assert!(list.contains("disabled by uid 0"), "{list}");

    r.ok("enable web rs1");
    r.ok("weight web rs0 default");
    wait_table(r.ns(), WEB, &[(&rs0, 1), (&rs1, 1)]);
    let (list, _) = r.control("overrides");
    assert!(list.contains("no overrides"), "{list}");
}

#[test]
fn the_depool_threshold_keeps_half_of_four_servers() {
    let mut r = Router::new("depool", 4);
    let mut servers: Vec<Option<TcpServer>> = (0..4).map(|j| Some(http(&r, j))).collect();
    r.configure(&web_service(4, "    min_up: 50%\n"));
    r.start();
    let rs: Vec<String> = (0..4).map(|j| r.rs(j, 80)).collect();
    let all: Vec<(&str, u32)> = rs.iter().map(|a| (a.as_str(), 1)).collect();
    wait_table(r.ns(), WEB, &all);
    // rs1, then rs2, then rs3 fail: the last to fail stays, with rs0.
    servers[1] = None;
    wait_table(r.ns(), WEB, &[(&rs[0], 1), (&rs[2], 1), (&rs[3], 1)]);
    servers[2] = None;
    wait_table(r.ns(), WEB, &[(&rs[0], 1), (&rs[3], 1)]);
    servers[3] = None;
    r.expect_log("kept by threshold (min_up 50%)", 0);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(view(r.ns())[WEB], vec![(rs[0].clone(), 1), (rs[3].clone(), 1)], "2 stay in");
    assert!(r.log().contains(&format!("{} stay in although their checks fail", rs[3])));
    // Marked in pulse's status (from lvsd's report).
    let kept = format!("\"server\":\"{}\",", rs[3]);
    wait_for("the kept server marked in the status", LONG, || {
        let (j, _) = r.control("status json");
        let at = j.find(&kept)?;
        let rest = &j[at..];
        // Up to the next server (its fields come after nested objects).
        let end = rest[1..].find("\"server\":").map_or(rest.len(), |i| i + 1);
        rest[..end].contains("\"kept_by_threshold\":true").then_some(())
    });
    // The client still gets answers from the server that is up (and tries
    // on the kept one fail, as they would anyway: that is the trade).
    let vip = SocketAddr::from((addr::VIP, 80));
    let answered =
        (0..6).filter(|_| r.topo.client.ns.http_get(vip).is_ok_and(|b| b == "rs0")).count();
    assert!(answered >= 2, "{answered}");
    // They recover: everything back, nothing kept.
    for (j, s) in servers.iter_mut().enumerate().skip(1) {
        *s = Some(http(&r, j));
    }
    wait_table(r.ns(), WEB, &all);
    r.expect_log("no server kept by threshold any more", 0);
}

/// Two routers (native heartbeats, hot standby), each with its own
/// overrides file, in front of two real servers.
struct Pair {
    topo: Topology,
    dir: tempdir::Dir,
    pulses: Vec<Child>,
}

impl Pair {
    fn start() -> Pair {
        let topo = TopologyBuilder::new(Forwarding::Nat)
            .directors(2)
            .real_servers(2)
            .active(None)
            .build()
            .unwrap();
        let dir = tempdir::Dir::new("pair");
        let key = dir.0.join("heartbeat.key");
        std::fs::write(&key, b"operate test key, 32 bytes long!").unwrap();
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        let mut pulses = Vec::new();
        for i in 0..2 {
            topo.directors[i].ns.sysctl("net.ipv4.ip_forward", "1").unwrap();
            let text = format!(
                "service: lvs
routers:
  primary: {{ address: {p} }}
  backup: {{ address: {b} }}
backup_active: true
heartbeat: {{ keepalive: 200ms, deadtime: 2s, auth_key_file: {key} }}
network: nat
nat_router: {{ address: {gw}, interface: eth1, netmask: 24 }}
hard_shutdown: false
paths:
  lvsd: {lvsd}
  nanny: {nanny}
  overrides: {overrides}
virtual_services:
{web}",
                p = addr::director_public(0),
                b = addr::director_public(1),
                key = key.display(),
                gw = addr::NAT_GATEWAY,
                lvsd = bin("lvsd").display(),
                nanny = bin("nanny").display(),
                overrides = dir.0.join(format!("state{i}/overrides")).display(),
                web = web_service(2, ""),
            );
            let config = dir.0.join(format!("lvs{i}.yaml"));
            std::fs::write(&config, text).unwrap();
            let log = std::fs::File::create(dir.0.join(format!("router{i}.log"))).unwrap();
            let child = topo.directors[i]
                .ns
                .command(bin("pulse"))
                .arg("-n")
                .arg("-c")
                .arg(&config)
                .arg(format!("--socket={}", dir.0.join(format!("pulse{i}.sock")).display()))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap();
            pulses.push(child);
        }
        Pair { topo, dir, pulses }
    }

    fn ns(&self, i: usize) -> &Netns {
        &self.topo.directors[i].ns
    }

    fn request(&self, i: usize, req: &str) -> String {
        let sock = self.dir.0.join(format!("pulse{i}.sock"));
        let out = std::process::Command::new(bin("pulse"))
            .arg(format!("--socket={}", sock.display()))
            .arg("--control")
            .arg(req)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn active(&self, i: usize) -> bool {
        lvs_tests::pulse::is_active(&self.request(i, "status json"))
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for c in &mut self.pulses {
            let _ = c.kill();
            let _ = c.wait();
        }
        if std::thread::panicking() {
            for i in 0..2 {
                let log = std::fs::read_to_string(self.dir.0.join(format!("router{i}.log")))
                    .unwrap_or_default();
                eprintln!("---- router {i} log ----\n{log}");
            }
        }
    }
}

#[test]
fn overrides_reach_the_standby_table_and_survive_a_failover() {
    let p = Pair::start();
    let _servers: Vec<TcpServer> = (0..2)
        .map(|j| {
            let any = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 80));
            TcpServer::http(&p.topo.real_servers[j].ns, any, &format!("rs{j}")).unwrap()
        })
        .collect();
    let rs: Vec<String> = (0..2).map(|j| format!("{}:80", p.topo.real_server_addr(j))).collect();
    wait_for("the primary active", LONG, || p.active(0).then_some(()));
    for i in 0..2 {
        wait_table(p.ns(i), WEB, &[(&rs[0], 1), (&rs[1], 1)]);
    }
    // Given on the active router: the standby's own table follows.
    let asked = Instant::now();
    for req in ["disable web rs1", "weight web rs0 5"] {
        let reply = p.request(0, req);
        assert!(reply.starts_with("ok:"), "{req}: {reply}");
    }
    wait_table(p.ns(1), WEB, &[(&rs[0], 5)]);
    measure(&format!(
        "overrides on the active router in the standby's kernel table after {:?}",
        asked.elapsed()
    ));
    wait_table(p.ns(0), WEB, &[(&rs[0], 5)]);
    assert!(p.request(1, "overrides").contains("disabled by uid 0 on primary"));
    // Failover: the backup serves with the overrides in force.
    assert!(p.request(0, "stand-down").starts_with("ok"));
    wait_for("the backup active", LONG, || p.active(1).then_some(()));
    let vip = SocketAddr::from((addr::VIP, 80));
    let answers: Vec<String> = (0..6)
        .filter_map(|_| {
            wait_for("an answer through the backup", LONG, || p.topo.client.ns.http_get(vip).ok())
                .into()
        })
        .collect();
    assert!(answers.iter().all(|a| a == "rs0"), "rs1 is disabled: {answers:?}");
    assert_eq!(view(p.ns(1))[WEB], vec![(rs[0].clone(), 5)]);
    // A change on the new active router reaches the other one.
    assert!(p.request(1, "enable web rs1").starts_with("ok:"));
    wait_table(p.ns(0), WEB, &[(&rs[0], 5), (&rs[1], 1)]);
    wait_table(p.ns(1), WEB, &[(&rs[0], 5), (&rs[1], 1)]);
}
