//! The namespace lab shared by the host tests of real `pulse` processes
//! (`netns.rs`, `freshness.rs`, `noblock.rs`, `http.rs`): router namespaces joined by veth pairs to
//! a bridge in a hub namespace, an observer namespace, and helpers to start,
//! kill, query and watch pulses. Each test binary uses a part of it.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{IpAddr, UdpSocket};
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn};
use pulse::wire::{self, Key, Role};

pub const PORT: u16 = 539;
pub const KEEPALIVE_MS: u64 = 100;
pub const DEADTIME_MS: u64 = 1000;
pub const KEY: &[u8] = b"netns test key, 32 bytes long!!!";

pub fn ip_bin() -> &'static str {
    if Path::new("/usr/sbin/ip").exists() {
        "/usr/sbin/ip"
    } else {
        "/sbin/ip"
    }
}

pub fn sh(args: &[&str]) {
    let out = Command::new(ip_bin()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn can_run() -> bool {
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

pub fn addr(i: usize) -> String {
    format!("10.77.0.{}", i + 1)
}

pub const OBSERVER: usize = 9;

/// A bridge hub plus router namespaces and one observer namespace.
pub struct Lab {
    pub prefix: String,
    pub dir: PathBuf,
    pub namespaces: Vec<String>,
    pub pulses: Vec<Option<Child>>,
    pub generation: Vec<u32>,
    pub piranha: bool,
}

impl Lab {
    pub fn new(tag: &str, routers: usize, yaml_extra: &str, listed: usize, piranha: bool) -> Lab {
        Lab::build(tag, routers, yaml_extra, listed, piranha, false)
    }

    /// Routers 0 and 1 also get a private heartbeat link between them.
    pub fn with_private(tag: &str) -> Lab {
        Lab::build(tag, 2, "", 2, false, true)
    }

    pub fn build(
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
    pub fn name(&self, i: usize) -> String {
        if self.piranha {
            ["primary", "backup"][i].to_owned()
        } else {
            format!("router{}", i + 1)
        }
    }

    pub fn ns(&self, i: usize) -> String {
        format!("{}-r{i}", self.prefix)
    }

    pub fn socket(&self, i: usize) -> PathBuf {
        self.dir.join(format!("r{i}-{}.sock", self.generation[i]))
    }

    pub fn start(&mut self, i: usize) {
        self.start_with(i, "pulse.yaml", &[]);
    }

    /// Starts router `i` with the lab's file `config`, run under `env` with
    /// these `NAME=value` settings (e.g. an `LD_PRELOAD` clock shim).
    pub fn start_with(&mut self, i: usize, config: &str, env: &[String]) {
        self.generation[i] += 1;
        let log = std::fs::File::create(self.dir.join(format!("r{i}-{}.log", self.generation[i])))
            .unwrap();
        self.spawn(i, config, env, log.try_clone().unwrap().into(), log.into());
    }

    /// Starts router `i` with its standard error (its log) to `stderr`.
    pub fn start_logging_to(&mut self, i: usize, stderr: std::os::fd::OwnedFd) {
        self.generation[i] += 1;
        self.spawn(i, "pulse.yaml", &[], Stdio::null(), stderr.into());
    }

    fn spawn(&mut self, i: usize, config: &str, env: &[String], stdout: Stdio, stderr: Stdio) {
        let child = Command::new(ip_bin())
            .args(["netns", "exec", &self.ns(i), "env"])
            .args(env)
            .args([env!("CARGO_BIN_EXE_pulse"), "-n", "-c"])
            .arg(self.dir.join(config))
            .arg(format!("--lvsd={}/lvsd", self.dir.display()))
            .arg(format!("--socket={}", self.socket(i).display()))
            .stdout(stdout)
            .stderr(stderr)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        self.pulses[i] = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.try_status(i).is_none() {
            assert!(
                Instant::now() < deadline,
                "r{i} did not come up:\n{}\nUDP sockets in its namespace:\n{}",
                self.log(i),
                self.udp_sockets(i)
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `ss`'s list of the UDP sockets in router `i`'s namespace and their
    /// processes, for a start that found its port taken.
    fn udp_sockets(&self, i: usize) -> String {
        self.ss(i, &["-uanp"])
    }

    /// `ss`'s UDP sockets bound to `port` in router `i`'s namespace, with
    /// their processes; empty when there is none.
    fn udp_sockets_on(&self, i: usize, port: u16) -> String {
        self.ss(i, &["-Huanp", "sport", "=", &format!(":{port}")])
    }

    fn ss(&self, i: usize, args: &[&str]) -> String {
        Command::new(ip_bin())
            .args(["netns", "exec", &self.ns(i), "ss"])
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_else(|e| format!("ss: {e}"))
    }

    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.join(format!("r{i}-{}.log", self.generation[i])))
            .unwrap_or_default()
    }

    pub fn kill9(&mut self, i: usize) {
        if let Some(mut c) = self.pulses[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // A restart right after found the heartbeat port taken twice (on
        // 2026-12-03), though `ss` saw it free 10 s later: something of
        // the killed process's outlived it briefly. The restart waits for
        // the port, as systemd's restart delay would, and says who held it.
        let killed = Instant::now();
        let mut held = String::new();
        while killed.elapsed() < Duration::from_secs(5) {
            let now = self.udp_sockets_on(i, PORT);
            if now.trim().is_empty() {
                break;
            }
            held = now;
            std::thread::sleep(Duration::from_millis(10));
        }
        if !held.is_empty() {
            eprintln!(
                "measure: r{i}'s heartbeat port was held {:?} after kill -9, by:\n{held}",
                killed.elapsed()
            );
        }
    }

    pub fn request(&self, i: usize, req: &str) -> Option<String> {
        let mut s = UnixStream::connect(self.socket(i)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(format!("{req}\n").as_bytes()).ok()?;
        s.shutdown(std::net::Shutdown::Write).ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    }

    pub fn try_status(&self, i: usize) -> Option<String> {
        self.request(i, "status json").filter(|s| s.starts_with('{'))
    }

    pub fn status(&self, i: usize) -> String {
        self.try_status(i).unwrap_or_else(|| panic!("no status from r{i}:\n{}", self.log(i)))
    }

    pub fn is_active(&self, i: usize) -> bool {
        let me = format!("{{\"router\":\"{}\",\"role\":\"active\",", self.name(i));
        self.try_status(i).is_some_and(|s| s.starts_with(&me))
    }

    pub fn actives(&self) -> Vec<usize> {
        (0..self.pulses.len()).filter(|i| self.pulses[*i].is_some() && self.is_active(*i)).collect()
    }

    /// Waits until `pred`; returns how long it took.
    pub fn wait(&self, limit: Duration, what: &str, pred: impl Fn(&Lab) -> bool) -> Duration {
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
    pub fn assert_actives(&self, want: &[usize], what: &str) {
        let got = self.actives();
        if got != want {
            let logs: String = (0..self.pulses.len())
                .map(|i| format!("--- r{i} {:?}\n{}", self.request(i, "status"), self.log(i)))
                .collect();
            panic!("{what}: active {got:?}, expected {want:?}\n{logs}");
        }
    }

    pub fn has_vip(&self, i: usize) -> bool {
        let out = Command::new(ip_bin())
            .args(["-n", &self.ns(i), "-o", "addr", "show", "dev", "eth0"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("10.77.0.100/24")
    }

    /// Runs `f` on a thread inside namespace `i` (sockets it makes stay there).
    pub fn in_ns<T: Send + 'static>(&self, i: usize, f: impl FnOnce() -> T + Send + 'static) -> T {
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
    pub fn pid(&self, i: usize) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.pulses[i].as_ref().unwrap().id() as i32)
    }

    pub fn mac(&self, i: usize) -> lvs_net::MacAddr {
        self.in_ns(i, || lvs_net::Rtnl::open().unwrap().link("eth0").unwrap().mac.unwrap())
    }

    /// Starts capturing every frame the observer's interface receives.
    pub fn capture(&self) -> lvs_net::packet::PacketCapture {
        self.in_ns(OBSERVER, || {
            let link = lvs_net::Rtnl::open().unwrap().link("eth0").unwrap();
            lvs_net::packet::PacketCapture::open(link.index, "eth0").unwrap()
        })
    }

    pub fn set_hub_port(&self, i: usize, args: &[&str]) {
        let hub = format!("{}-hub", self.prefix);
        let port = format!("p{i}");
        let mut a = vec!["-n", &hub, "link", "set", &port];
        a.extend_from_slice(args);
        sh(&a);
    }
}

/// Waits for a gratuitous ARP for the VIP from `mac`; returns how many such
/// frames arrived before `limit` ran out or `want` were seen.
pub fn arps_seen(
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

pub fn json_u64(s: &str, key: &str) -> u64 {
    let pat = format!("\"{key}\":");
    let at = s.find(&pat).unwrap_or_else(|| panic!("{key} not in {s}")) + pat.len();
    s[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap()
}

/// What the observer saw from `mac` in the order it arrived: `Arp` for a
/// gratuitous ARP for the VIP, `Active` for a native heartbeat saying
/// "active", with the time each arrived. Stops once both were seen, `arps`
/// gratuitous ARPs were seen, or `limit` ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    Arp,
    Active,
}

pub fn announcements(
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

/// A UDP socket in the observer namespace that may send from any address.
pub fn spoofing_socket(from: IpAddr) -> UdpSocket {
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
