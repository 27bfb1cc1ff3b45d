//! Host tests with real `pulse` processes, each in its own network
//! namespace, joined by veth pairs to a bridge in a hub namespace. They need
//! root (CI runs as root); without it they say why and skip, except under
//! `CI`, where they fail. Namespaces get unique names (pid and test) and are
//! deleted on drop; host interfaces are never touched.
//!
//! Timing figures are printed (`cargo test -- --nocapture` shows them).

// Test helpers may unwrap: a failed unwrap is a failed test, with its line.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn};
use pulse::wire::{self, Faults, Heartbeat, Key, Role};

const PORT: u16 = 539;
const KEEPALIVE_MS: u64 = 100;
const DEADTIME_MS: u64 = 1000;
const KEY: &[u8] = b"netns test key, 32 bytes long!!!";

fn ip_bin() -> &'static str {
    if Path::new("/usr/sbin/ip").exists() {
        "/usr/sbin/ip"
    } else {
        "/sbin/ip"
    }
}

fn sh(args: &[&str]) {
    let out = Command::new(ip_bin()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn can_run() -> bool {
    let why = if !nix::unistd::geteuid().is_root() {
        Some("not root")
    } else if !Path::new(ip_bin()).exists() {
        Some("no iproute2 `ip`")
    } else {
        None
    };
    match why {
        None => true,
        Some(w) if std::env::var_os("CI").is_some() => panic!("netns tests must run in CI: {w}"),
        Some(w) => {
            eprintln!("skipping netns test: {w}");
            false
        }
    }
}

fn addr(i: usize) -> String {
    format!("10.77.0.{}", i + 1)
}

const OBSERVER: usize = 9;

/// A bridge hub plus router namespaces and one observer namespace.
struct Lab {
    prefix: String,
    dir: PathBuf,
    namespaces: Vec<String>,
    pulses: Vec<Option<Child>>,
    generation: Vec<u32>,
    piranha: bool,
}

impl Lab {
    fn new(tag: &str, routers: usize, yaml_extra: &str, listed: usize, piranha: bool) -> Lab {
        Lab::build(tag, routers, yaml_extra, listed, piranha, false)
    }

    /// Routers 0 and 1 also get a private heartbeat link between them.
    fn with_private(tag: &str) -> Lab {
        Lab::build(tag, 2, "", 2, false, true)
    }

    fn build(
        tag: &str,
        routers: usize,
        yaml_extra: &str,
        listed: usize,
        piranha: bool,
        private: bool,
    ) -> Lab {
        let prefix = format!("pt{}{}", std::process::id(), tag);
        let dir = std::env::temp_dir().join(&prefix);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut lab = Lab {
            prefix: prefix.clone(),
            dir: dir.clone(),
            namespaces: Vec::new(),
            pulses: (0..routers).map(|_| None).collect(),
            generation: vec![0; routers],
            piranha,
        };
        let hub = format!("{prefix}-hub");
        sh(&["netns", "add", &hub]);
        lab.namespaces.push(hub.clone());
        sh(&["-n", &hub, "link", "add", "br0", "type", "bridge", "ageing_time", "0"]);
        sh(&["-n", &hub, "link", "set", "br0", "up"]);
        for i in (0..routers).chain([OBSERVER]) {
            let ns = lab.ns(i);
            sh(&["netns", "add", &ns]);
            lab.namespaces.push(ns.clone());
            let port = format!("p{i}");
            sh(&[
                "-n", &ns, "link", "add", "eth0", "type", "veth", "peer", "name", &port, "netns",
                &hub,
            ]);
            sh(&["-n", &hub, "link", "set", &port, "master", "br0", "up"]);
            sh(&["-n", &ns, "addr", "add", &format!("{}/24", addr(i)), "dev", "eth0"]);
            sh(&["-n", &ns, "link", "set", "eth0", "up"]);
            sh(&["-n", &ns, "link", "set", "lo", "up"]);
        }
        if private {
            let (a, b) = (lab.ns(0), lab.ns(1));
            sh(&[
                "-n", &a, "link", "add", "eth1", "type", "veth", "peer", "name", "eth1", "netns",
                &b,
            ]);
            for (ns, ip) in [(&a, "10.78.0.1/24"), (&b, "10.78.0.2/24")] {
                sh(&["-n", ns, "addr", "add", ip, "dev", "eth1"]);
                sh(&["-n", ns, "link", "set", "eth1", "up"]);
            }
        }
        let key = dir.join("key");
        std::fs::write(&key, KEY).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let script = |name: &str, body: String| {
            let p = dir.join(name);
            std::fs::write(&p, body).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        script(
            "lvsd",
            format!(
                "#!/bin/sh\necho $$ >> {0}/lvsd.pids\ntrap '' HUP\nexec sleep 600\n",
                dir.display()
            ),
        );
        let router = |i: usize| if i < routers { addr(i) } else { addr(OBSERVER) };
        let routers_yaml = if piranha {
            format!(
                "routers:\n  primary: {{ address: {} }}\n  backup: {{ address: {} }}\n",
                router(0),
                router(1)
            )
        } else {
            let list: String = (0..listed)
                .map(|i| {
                    let p = if private {
                        format!(", private: 10.78.0.{}", i + 1)
                    } else {
                        String::new()
                    };
                    format!("    - {{ address: {}{p} }}\n", router(i))
                })
                .collect();
            format!("routers:\n  pool:\n{list}")
        };
        let auth = if piranha {
            "protocol: piranha".to_owned()
        } else {
            format!("auth_key_file: {}", key.display())
        };
        let yaml = format!(
            "{routers_yaml}heartbeat: {{ keepalive: {KEEPALIVE_MS}ms, deadtime: {DEADTIME_MS}ms, {auth} }}\n\
             arp: {{ count: 2, interval: 100ms }}\n\
             paths: {{ send_arp: /nonexistent/send_arp, lvsd: /nonexistent/lvsd }}\n\
             virtual_services:\n  - {{ name: web, vip: {{ address: 10.77.0.100, interface: eth0, netmask: 24 }}, port: 80 }}\n\
             {yaml_extra}",
        );
        std::fs::write(dir.join("pulse.yaml"), yaml).unwrap();
        lab
    }

    /// The router's name in pulse's status.
    fn name(&self, i: usize) -> String {
        if self.piranha {
            ["primary", "backup"][i].to_owned()
        } else {
            format!("router{}", i + 1)
        }
    }

    fn ns(&self, i: usize) -> String {
        format!("{}-r{i}", self.prefix)
    }

    fn socket(&self, i: usize) -> PathBuf {
        self.dir.join(format!("r{i}-{}.sock", self.generation[i]))
    }

    fn start(&mut self, i: usize) {
        self.generation[i] += 1;
        let log = std::fs::File::create(self.dir.join(format!("r{i}-{}.log", self.generation[i])))
            .unwrap();
        let child = Command::new(ip_bin())
            .args(["netns", "exec", &self.ns(i), env!("CARGO_BIN_EXE_pulse"), "-n", "-c"])
            .arg(self.dir.join("pulse.yaml"))
            .arg(format!("--lvsd={}/lvsd", self.dir.display()))
            .arg(format!("--socket={}", self.socket(i).display()))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        self.pulses[i] = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.try_status(i).is_none() {
            assert!(Instant::now() < deadline, "r{i} did not come up:\n{}", self.log(i));
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.join(format!("r{i}-{}.log", self.generation[i])))
            .unwrap_or_default()
    }

    fn kill9(&mut self, i: usize) {
        if let Some(mut c) = self.pulses[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn request(&self, i: usize, req: &str) -> Option<String> {
        let mut s = UnixStream::connect(self.socket(i)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(format!("{req}\n").as_bytes()).ok()?;
        s.shutdown(std::net::Shutdown::Write).ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    }

    fn try_status(&self, i: usize) -> Option<String> {
        self.request(i, "status json").filter(|s| s.starts_with('{'))
    }

    fn status(&self, i: usize) -> String {
        self.try_status(i).unwrap_or_else(|| panic!("no status from r{i}:\n{}", self.log(i)))
    }

    fn is_active(&self, i: usize) -> bool {
        let me = format!("{{\"router\":\"{}\",\"role\":\"active\",", self.name(i));
        self.try_status(i).is_some_and(|s| s.starts_with(&me))
    }

    fn actives(&self) -> Vec<usize> {
        (0..self.pulses.len()).filter(|i| self.pulses[*i].is_some() && self.is_active(*i)).collect()
    }

    /// Waits until `pred`; returns how long it took.
    fn wait(&self, limit: Duration, what: &str, pred: impl Fn(&Lab) -> bool) -> Duration {
        let t0 = Instant::now();
        while !pred(self) {
            if t0.elapsed() > limit {
                let logs: String = (0..self.pulses.len())
                    .map(|i| format!("--- r{i} {:?}\n{}", self.request(i, "status"), self.log(i)))
                    .collect();
                panic!("timed out waiting for {what}\n{logs}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        t0.elapsed()
    }

    /// Asserts which routers are active, with every log on failure.
    #[track_caller]
    fn assert_actives(&self, want: &[usize], what: &str) {
        let got = self.actives();
        if got != want {
            let logs: String = (0..self.pulses.len())
                .map(|i| format!("--- r{i} {:?}\n{}", self.request(i, "status"), self.log(i)))
                .collect();
            panic!("{what}: active {got:?}, expected {want:?}\n{logs}");
        }
    }

    fn has_vip(&self, i: usize) -> bool {
        let out = Command::new(ip_bin())
            .args(["-n", &self.ns(i), "-o", "addr", "show", "dev", "eth0"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("10.77.0.100/24")
    }

    /// Runs `f` on a thread inside namespace `i` (sockets it makes stay there).
    fn in_ns<T: Send + 'static>(&self, i: usize, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/run/netns/{}", self.ns(i));
        std::thread::spawn(move || {
            let fd = std::fs::File::open(path).unwrap();
            nix::sched::setns(fd, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            f()
        })
        .join()
        .unwrap()
    }
}

impl Lab {
    fn pid(&self, i: usize) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.pulses[i].as_ref().unwrap().id() as i32)
    }

    fn mac(&self, i: usize) -> lvs_net::MacAddr {
        self.in_ns(i, || lvs_net::Rtnl::open().unwrap().link("eth0").unwrap().mac.unwrap())
    }

    /// Starts capturing every frame the observer's interface receives.
    fn capture(&self) -> lvs_net::packet::PacketCapture {
        self.in_ns(OBSERVER, || {
            let link = lvs_net::Rtnl::open().unwrap().link("eth0").unwrap();
            lvs_net::packet::PacketCapture::open(link.index, "eth0").unwrap()
        })
    }

    fn set_hub_port(&self, i: usize, args: &[&str]) {
        let hub = format!("{}-hub", self.prefix);
        let port = format!("p{i}");
        let mut a = vec!["-n", &hub, "link", "set", &port];
        a.extend_from_slice(args);
        sh(&a);
    }
}

/// Waits for a gratuitous ARP for the VIP from `mac`; returns how many such
/// frames arrived before `limit` ran out or `want` were seen.
fn arps_seen(
    cap: &lvs_net::packet::PacketCapture,
    mac: lvs_net::MacAddr,
    want: usize,
    limit: Duration,
) -> usize {
    let vip: std::net::Ipv4Addr = "10.77.0.100".parse().unwrap();
    let t0 = Instant::now();
    let mut n = 0;
    while n < want && t0.elapsed() < limit {
        let Some(frame) = cap.recv(Duration::from_millis(50)).unwrap() else { continue };
        if let Ok(f) = lvs_net::frame::ArpFrame::decode(&frame) {
            if f.arp.sender_ip == vip && f.arp.sender_hw == mac && f.eth.src == mac {
                n += 1;
            }
        }
    }
    n
}

impl Drop for Lab {
    fn drop(&mut self) {
        for i in 0..self.pulses.len() {
            self.kill9(i);
        }
        if let Ok(pids) = std::fs::read_to_string(self.dir.join("lvsd.pids")) {
            for pid in pids.split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new(ip_bin()).args(["netns", "del", ns]).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn json_u64(s: &str, key: &str) -> u64 {
    let pat = format!("\"{key}\":");
    let at = s.find(&pat).unwrap_or_else(|| panic!("{key} not in {s}")) + pat.len();
    s[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap()
}

/// What the observer saw from `mac` in the order it arrived: `Arp` for a
/// gratuitous ARP for the VIP, `Active` for a native heartbeat saying
/// "active", with the time each arrived. Stops once both were seen, `arps`
/// gratuitous ARPs were seen, or `limit` ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Arp,
    Active,
}

fn announcements(
    cap: &lvs_net::packet::PacketCapture,
    mac: lvs_net::MacAddr,
    arps: usize,
    limit: Duration,
) -> Vec<(Seen, Instant)> {
    let vip: std::net::Ipv4Addr = "10.77.0.100".parse().unwrap();
    let key = Key::new(KEY.to_vec()).unwrap();
    let t0 = Instant::now();
    let mut seen: Vec<(Seen, Instant)> = Vec::new();
    let count = |seen: &[(Seen, Instant)], k| seen.iter().filter(|(s, _)| *s == k).count();
    while t0.elapsed() < limit
        && (count(&seen, Seen::Arp) < arps || count(&seen, Seen::Active) == 0)
    {
        let Some(frame) = cap.recv(Duration::from_millis(50)).unwrap() else { continue };
        if frame.len() < 14 || frame[6..12] != mac.0 {
            continue;
        }
        if let Ok(f) = lvs_net::frame::ArpFrame::decode(&frame) {
            if f.arp.sender_ip == vip && f.arp.target_ip == vip && f.arp.sender_hw == mac {
                seen.push((Seen::Arp, Instant::now()));
            }
            continue;
        }
        // IPv4 / UDP to the heartbeat port: a native heartbeat?
        let ip = &frame[14..];
        if frame[12..14] != [8, 0] || ip.len() < 20 || ip[9] != 17 {
            continue;
        }
        let udp = &ip[usize::from(ip[0] & 0xf) * 4..];
        if udp.len() < 8 || u16::from_be_bytes([udp[2], udp[3]]) != PORT {
            continue;
        }
        if wire::decode_native(&udp[8..], &key).is_ok_and(|hb| hb.role == Role::Active) {
            seen.push((Seen::Active, Instant::now()));
        }
    }
    seen
}

#[test]
fn two_routers_kill9_of_the_active_fails_over_within_deadtime() {
    if !can_run() {
        return;
    }
    // `paths.send_arp` names a file that does not exist: every announcement
    // below comes from pulse itself.
    let mut lab = Lab::new("kill", 2, "", 2, false);
    let cap = lab.capture();
    lab.start(0);
    lab.start(1);
    lab.wait(Duration::from_secs(5), "r0 active", |l| l.actives() == vec![0]);
    lab.wait(Duration::from_secs(2), "VIP on r0", |l| l.has_vip(0));
    assert!(!lab.has_vip(1));
    let seen = arps_seen(&cap, lab.mac(0), 2, Duration::from_secs(3));
    assert_eq!(seen, 2, "r0's burst of gratuitous ARPs on the wire, without send_arp");
    drop(cap);
    let mut figures = Vec::new();
    let mut active = 0;
    for _round in 0..3 {
        // Let heartbeats settle, then kill -9 the active one.
        std::thread::sleep(Duration::from_millis(300));
        let backup = 1 - active;
        let mac = lab.mac(backup);
        let cap = lab.capture();
        let killed = Instant::now();
        lab.kill9(active);
        let took = lab.wait(Duration::from_secs(5), "backup active", |l| l.is_active(backup));
        let vip_at = lab.wait(Duration::from_secs(2), "VIP on backup", |l| l.has_vip(backup));
        assert!(
            took <= Duration::from_millis(DEADTIME_MS + 1000),
            "failover took {took:?} (deadtime {DEADTIME_MS} ms)"
        );
        // Both announcements of the burst are on the wire, from the
        // backup's MAC, and the first one before the heartbeat that tells
        // the peers it is active.
        let seen = announcements(&cap, mac, 2, Duration::from_secs(3));
        let arps: Vec<Instant> =
            seen.iter().filter(|(s, _)| *s == Seen::Arp).map(|(_, t)| *t).collect();
        assert_eq!(arps.len(), 2, "gratuitous ARPs from the new active router: {seen:?}");
        assert_eq!(seen[0].0, Seen::Arp, "announced before saying it is active: {seen:?}");
        figures.push((
            took.as_millis(),
            (took + vip_at).as_millis(),
            (arps[0] - killed).as_millis(),
        ));
        // The killed router comes back: no automatic failback.
        lab.start(active);
        std::thread::sleep(Duration::from_millis(DEADTIME_MS * 2));
        lab.assert_actives(&[backup], "no failback");
        active = backup;
    }
    eprintln!(
        "failover after kill -9 (deadtime {DEADTIME_MS} ms, keepalive {KEEPALIVE_MS} ms): \
         active after / VIP up after / first ARP on the wire after, ms: {figures:?}"
    );
    let log = lab.log(active);
    assert!(log.contains("VIPs up in "), "the takeover's timing is logged:\n{log}");
    for line in log.lines().filter(|l| l.contains("VIPs up in ") || l.contains(" dead (")) {
        eprintln!("r{active}: {line}");
    }
    assert!(!log.contains("send_arp"), "pulse did not try to run send_arp:\n{log}");
}

#[test]
fn three_routers_in_a_pool_first_live_is_active_and_return_follows_preempt() {
    if !can_run() {
        return;
    }
    for preempt in [false, true] {
        let mut lab = Lab::new(
            if preempt { "pp" } else { "pn" },
            3,
            &format!("preempt: {preempt}\n"),
            3,
            false,
        );
        for i in [2, 1, 0] {
            lab.start(i);
        }
        lab.wait(Duration::from_secs(5), "r0 active", |l| l.actives() == vec![0]);
        lab.kill9(0);
        lab.wait(Duration::from_secs(5), "r1 active", |l| l.actives() == vec![1]);
        std::thread::sleep(Duration::from_millis(DEADTIME_MS));
        lab.assert_actives(&[1], "the second listed, not the third");
        lab.start(0);
        if preempt {
            lab.wait(Duration::from_secs(5), "r0 back", |l| l.actives() == vec![0]);
        } else {
            std::thread::sleep(Duration::from_millis(DEADTIME_MS * 3));
            lab.assert_actives(&[1], "no preempt: r1 keeps the VIPs");
        }
        let holder = lab.actives()[0];
        assert!(lab.has_vip(holder));
        for i in (0..3).filter(|i| *i != holder) {
            assert!(!lab.has_vip(i), "r{i} still has the VIP:\n{}", lab.log(i));
        }
    }
}

/// A UDP socket in the observer namespace that may send from any address.
fn spoofing_socket(from: IpAddr) -> UdpSocket {
    let fd: OwnedFd =
        socket::socket(AddressFamily::Inet, SockType::Datagram, SockFlag::empty(), None).unwrap();
    socket::setsockopt(&fd, sockopt::IpTransparent, &true).unwrap();
    let IpAddr::V4(v4) = from else { panic!("IPv4 only") };
    socket::bind(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &SockaddrIn::from(std::net::SocketAddrV4::new(v4, 40539)),
    )
    .unwrap();
    UdpSocket::from(fd)
}

#[test]
fn forged_replayed_truncated_and_random_packets_on_the_wire_change_nothing() {
    if !can_run() {
        return;
    }
    // The observer is listed as a third router that never runs pulse, so
    // the real routers send it genuine heartbeats to replay.
    let mut lab = Lab::new("forge", 2, "", 3, false);
    lab.start(0);
    lab.start(1);
    lab.wait(Duration::from_secs(5), "r0 active", |l| l.actives() == vec![0]);
    let observer: UdpSocket = lab.in_ns(OBSERVER, || {
        let s = UdpSocket::bind((addr(OBSERVER).parse::<IpAddr>().unwrap(), PORT)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        s
    });
    // Capture genuine heartbeats from r0.
    let mut genuine = Vec::new();
    let mut buf = [0u8; 256];
    while genuine.len() < 2 {
        let (n, from) = observer.recv_from(&mut buf).unwrap();
        if from.ip().to_string() == addr(0) {
            genuine.push(buf[..n].to_vec());
        }
    }
    let as_r0 = lab.in_ns(OBSERVER, || spoofing_socket(addr(0).parse().unwrap()));
    let as_r1 = lab.in_ns(OBSERVER, || spoofing_socket(addr(1).parse().unwrap()));
    let to = |i: usize| SocketAddr::new(addr(i).parse().unwrap(), PORT);
    let before0 = lab.status(0);
    let before1 = lab.status(1);
    let key = Key::new(KEY.to_vec()).unwrap();
    let wrong = Key::new(b"some other key of enough length".to_vec()).unwrap();
    let forged = |node_id, role, epoch| Heartbeat {
        node_id,
        role,
        faults: Faults::NONE,
        ready: false,
        priority: 255,
        epoch,
        boot_id: 7,
        seq: 1 << 40,
        timestamp_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
        config_digest: [0; 32],
    };
    // To the backup, as if from the active router: replays, truncation,
    // oversize, a "standby" bit flip that would make the backup take over.
    for g in &genuine {
        as_r0.send_to(g, to(1)).unwrap();
    }
    as_r0.send_to(&genuine[1][..60], to(1)).unwrap();
    as_r0.send_to(&[genuine[1].clone(), vec![0; 40]].concat(), to(1)).unwrap();
    let mut flipped = genuine[1].clone();
    flipped[5] = 0;
    flipped[6] = Faults::CHILD_FAIL.0;
    as_r0.send_to(&flipped, to(1)).unwrap();
    // To the active router, as if from the backup: "active, epoch 99",
    // which would make it yield if believed (wrong key); a validly signed
    // packet for an unknown node; random bytes.
    as_r1.send_to(&wire::encode_native(&forged(2, Role::Active, 99), &wrong), to(0)).unwrap();
    as_r1.send_to(&wire::encode_native(&forged(77, Role::Active, 99), &key), to(0)).unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut randoms = 0;
    for n in 0..200usize {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = if n % 2 == 0 { wire::NATIVE_LEN } else { (seed % 300) as usize };
        let mut p: Vec<u8> = (0..len).map(|k| (seed >> (k % 56)) as u8 ^ k as u8).collect();
        if n % 4 == 0 && len >= 5 {
            p[..4].copy_from_slice(&wire::NATIVE_MAGIC);
            p[4] = 1;
        }
        as_r1.send_to(&p, to(0)).unwrap();
        randoms += 1;
    }
    // Nothing changes for several deadtimes.
    std::thread::sleep(Duration::from_millis(DEADTIME_MS * 3));
    lab.assert_actives(&[0], "forged packets changed nothing");
    assert!(lab.has_vip(0) && !lab.has_vip(1));
    let after0 = lab.status(0);
    let after1 = lab.status(1);
    assert_eq!(json_u64(&after0, "epoch"), json_u64(&before0, "epoch"));
    let d = |a: &str, b: &str, k: &str| json_u64(a, k) - json_u64(b, k);
    assert_eq!(d(&after1, &before1, "replay"), 2, "{after1}");
    assert_eq!(d(&after1, &before1, "truncated"), 1);
    assert_eq!(d(&after1, &before1, "oversized"), 1);
    assert_eq!(d(&after1, &before1, "bad_mac"), 1);
    assert_eq!(d(&after0, &before0, "unknown_peer"), 1);
    assert!(d(&after0, &before0, "bad_mac") >= 1);
    assert_eq!(d(&after0, &before0, "total"), 2 + randoms, "{after0}");
    let text = lab.request(0, "status").unwrap();
    assert!(text.contains("dropped.unknown_peer: 1\n"), "{text}");
}

#[test]
fn piranha_mode_puts_the_documented_magics_on_the_wire() {
    if !can_run() {
        return;
    }
    // r0 is a real pulse in piranha mode; its partner r1 is the observer.
    let mut lab = Lab::new("pir", 1, "", 2, true);
    let observer: UdpSocket = lab.in_ns(OBSERVER, || {
        let s = UdpSocket::bind((addr(OBSERVER).parse::<IpAddr>().unwrap(), PORT)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        s
    });
    lab.start(0);
    let mut buf = [0u8; 64];
    let mut seen = Vec::new();
    // First "stopped" while r0 waits, then "running" once it is active.
    while !seen.contains(&[0xda, 0xdb, 0xad, 0xbd].to_vec()) {
        let (n, from) = observer.recv_from(&mut buf).unwrap();
        assert_eq!(from.ip().to_string(), addr(0));
        assert_eq!(from.port(), PORT, "sent from the heartbeat port, as piranha does");
        seen.push(buf[..n].to_vec());
        assert!(seen.len() < 100);
    }
    assert_eq!(seen[0], vec![0xbd, 0xda, 0xbd, 0xad], "LVS stopped, 0xadbddabd little-endian");
    for p in &seen {
        assert!(
            p == &[0xbd, 0xda, 0xbd, 0xad] || p == &[0xda, 0xdb, 0xad, 0xbd],
            "only the two LVS magics: {p:x?}"
        );
    }
    assert!(lab.is_active(0));
    // A piranha partner's "running" does not make the primary yield, and a
    // FOS magic is refused as incompatible.
    observer.send_to(&0xbdad_dbdau32.to_le_bytes(), (addr(0).as_str(), PORT)).unwrap();
    observer.send_to(&0xdead_beefu32.to_le_bytes(), (addr(0).as_str(), PORT)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(lab.is_active(0));
    let st = lab.status(0);
    assert_eq!(json_u64(&st, "incompatible"), 1, "{st}");
    assert!(st.contains("\"protocol\":\"piranha\""));
}

#[test]
fn partition_then_heal_leaves_one_active_that_reannounces() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new("part", 2, "", 2, false);
    lab.start(0);
    lab.start(1);
    lab.wait(Duration::from_secs(5), "r0 active", |l| l.actives() == vec![0]);
    // Cut r1 off the bridge (its link stays up): both become active.
    lab.set_hub_port(1, &["nomaster"]);
    lab.wait(Duration::from_secs(5), "split brain", |l| l.actives() == vec![0, 1]);
    assert!(lab.has_vip(0) && lab.has_vip(1));
    let cap = lab.capture();
    let mac0 = lab.mac(0);
    lab.set_hub_port(1, &["master", "br0"]);
    let healed =
        lab.wait(Duration::from_secs(5), "one active after the heal", |l| l.actives() == vec![0]);
    assert!(lab.has_vip(0) && !lab.has_vip(1), "the loser dropped the VIP");
    let seen = arps_seen(&cap, mac0, 1, Duration::from_secs(3));
    assert!(seen >= 1, "the survivor re-announced its VIP after the heal");
    std::thread::sleep(Duration::from_millis(DEADTIME_MS * 2));
    lab.assert_actives(&[0], "and it stays that way");
    eprintln!("partition healed: one active after {} ms", healed.as_millis());
}

#[test]
fn lvsd_exit_sigterm_and_control_commands() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new("ctl", 2, "", 2, false);
    lab.start(0);
    lab.start(1);
    lab.wait(Duration::from_secs(5), "r0 active", |l| l.actives() == vec![0]);
    // lvsd dies on the active router: it stands down at once (CHILDFAIL)
    // and the backup takes over without waiting for deadtime.
    let lvsd = json_u64(&lab.status(0), "lvsd_pid") as i32;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(lvsd), nix::sys::signal::Signal::SIGKILL)
        .unwrap();
    let took = lab.wait(Duration::from_secs(5), "r1 after lvsd died", |l| l.actives() == vec![1]);
    assert!(took < Duration::from_millis(DEADTIME_MS), "took {took:?}");
    lab.wait(Duration::from_secs(2), "VIP gone from r0", |l| !l.has_vip(0));
    // Operator commands.
    assert_eq!(lab.request(0, "take-over").unwrap(), "ok\n");
    lab.wait(Duration::from_secs(5), "r0 after take-over", |l| l.actives() == vec![0]);
    assert_eq!(lab.request(0, "stand-down").unwrap(), "ok\n");
    lab.wait(Duration::from_secs(5), "r1 after stand-down", |l| l.actives() == vec![1]);
    assert!(lab.request(0, "status").unwrap().contains("faults: admin-down\n"));
    assert!(lab.request(0, "bogus").unwrap().starts_with("error: unknown request"));
    // Only root may talk to the control socket, even if its mode allows.
    let sock = lab.socket(1);
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pulse"))
        .arg("--control=take-over")
        .arg(format!("--socket={}", sock.display()))
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "error: permission denied: root only\n",
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lab.actives(), vec![1]);
    // SIGTERM: the active router stands down cleanly and exits; the other
    // takes over at once.
    assert_eq!(lab.request(0, "take-over").unwrap(), "ok\n");
    lab.wait(Duration::from_secs(5), "r0 again", |l| l.actives() == vec![0]);
    let t0 = Instant::now();
    nix::sys::signal::kill(lab.pid(0), nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = lab.pulses[0].as_mut().unwrap().wait().unwrap();
    assert!(status.success(), "{status}");
    lab.pulses[0] = None;
    assert!(!lab.has_vip(0), "VIP removed before exit");
    assert!(!lab.socket(0).exists(), "control socket removed");
    lab.wait(Duration::from_secs(5), "r1 after SIGTERM", |l| l.actives() == vec![1]);
    assert!(t0.elapsed() < Duration::from_millis(DEADTIME_MS), "took {:?}", t0.elapsed());
}

#[test]
fn monitored_link_down_stands_down_and_sighup_reloads() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new("link", 2, "monitor_links: true\n", 2, false);
    lab.start(0);
    lab.start(1);
    lab.wait(Duration::from_secs(5), "r0 active", |l| l.actives() == vec![0]);
    // SIGHUP with a changed VIP: the active router swaps it live.
    let yaml = lab.dir.join("pulse.yaml");
    let text = std::fs::read_to_string(&yaml)
        .unwrap()
        .replace("address: 10.77.0.100,", "address: 10.77.0.101,");
    std::fs::write(&yaml, text).unwrap();
    nix::sys::signal::kill(lab.pid(0), nix::sys::signal::Signal::SIGHUP).unwrap();
    lab.wait(Duration::from_secs(5), "new VIP on r0", |l| {
        let out = Command::new(ip_bin())
            .args(["-n", &l.ns(0), "-o", "addr", "show", "dev", "eth0"])
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&out.stdout).to_string();
        out.contains("10.77.0.101/24") && !out.contains("10.77.0.100/24")
    });
    // r0's link loses carrier (its peer end on the bridge goes down).
    lab.set_hub_port(0, &["down"]);
    lab.wait(Duration::from_secs(5), "r0 stands down", |l| {
        l.request(0, "status").is_some_and(|s| s.contains("role: standby\nfaults: linkfail\n"))
    });
    lab.set_hub_port(0, &["up"]);
    lab.wait(Duration::from_secs(5), "linkfail cleared", |l| {
        l.request(0, "status").is_some_and(|s| s.contains("faults: none\n"))
    });
    lab.wait(Duration::from_secs(5), "one active", |l| l.actives().len() == 1);
}

#[test]
fn the_private_channel_keeps_the_pair_together_when_the_public_one_fails() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::with_private("priv");
    lab.start(0);
    lab.start(1);
    lab.wait(Duration::from_secs(5), "router1 active", |l| l.actives() == vec![0]);
    // The public network fails for the backup: heartbeats still flow on
    // the private link, so it does not take over.
    lab.set_hub_port(1, &["nomaster"]);
    std::thread::sleep(Duration::from_millis(DEADTIME_MS * 3));
    lab.assert_actives(&[0], "private heartbeats keep the backup standby");
    // Both channels gone: now the backup takes over.
    sh(&["-n", &lab.ns(1), "link", "set", "eth1", "down"]);
    lab.wait(Duration::from_secs(5), "split brain", |l| l.actives() == vec![0, 1]);
    sh(&["-n", &lab.ns(1), "link", "set", "eth1", "up"]);
    lab.wait(Duration::from_secs(5), "one active again", |l| l.actives() == vec![0]);
    assert!(lab.has_vip(0) && !lab.has_vip(1));
}
