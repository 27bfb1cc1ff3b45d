//! Acceptance on the host: a real `lvs-node` in a network namespace sets
//! up direct routing for the real server it finds itself to be (IPv4 and
//! IPv6), the dry run changes nothing, SIGHUP reconciles to an edited file
//! (and keeps the running setup on a bad one), and SIGTERM leaves the
//! namespace exactly as it was found. (The host kernel has no `ipip`:
//! tunnelling is covered by the plan's unit tests only.)
//!
//! Needs root and iproute2; without them it says why and skips, except
//! under `CI`, where it fails.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use testbed::Netns;

fn can_run() -> bool {
    Netns::can_run("lvs-node")
}

fn config(vip4: &str) -> String {
    format!(
        "routers:\n  primary: {{ address: 10.97.1.254 }}\nnetwork: direct\n\
         virtual_services:\n\
         \x20 - name: web\n    vip: {{ address: {vip4}, interface: eth0 }}\n    check: {{ type: none }}\n    \
         real_servers:\n      - {{ name: me, address: 10.97.1.1 }}\n      - {{ name: other, address: 10.97.1.2 }}\n\
         \x20 - name: web6\n    vip: {{ address: \"2001:db8:97:ff::10\", interface: eth0 }}\n    check: {{ type: none }}\n    \
         real_servers:\n      - {{ name: me6, address: \"2001:db8:97::1\" }}\n"
    )
}

/// Everything lvs-node may touch, as text.
fn snapshot(ns: &Netns) -> String {
    // Link-local addresses leave DAD on their own (`tentative`): not ours.
    let mut s = ns.ip(&["-o", "addr", "show"]).unwrap().replace(" tentative", "");
    for dev in ["all", "veth0", "lo"] {
        for k in ["arp_ignore", "arp_announce", "rp_filter"] {
            let v = ns
                .enter(|| std::fs::read_to_string(format!("/proc/sys/net/ipv4/conf/{dev}/{k}")))
                .unwrap()
                .unwrap();
            s.push_str(&format!("{dev}.{k}={v}"));
        }
    }
    s
}

fn node_ns() -> (Netns, Netns) {
    let node = Netns::new("node").unwrap();
    let peer = Netns::new("npeer").unwrap();
    node.batch(&format!(
        "link add veth0 type veth peer name veth1 netns {}\n\
         addr add 10.97.1.1/24 dev veth0\n\
         addr add 2001:db8:97::1/64 dev veth0 nodad\n\
         link set veth0 up\n",
        peer.name()
    ))
    .unwrap();
    // The LAN neighbour: routes the VIPs on-link, as a router would.
    peer.batch(
        "addr add 10.97.1.2/24 dev veth1\n\
         addr add 2001:db8:97::2/64 dev veth1 nodad\n\
         link set veth1 up\n\
         route add 10.97.0.0/24 dev veth1\n\
         route add 2001:db8:97:ff::/64 dev veth1\n",
    )
    .unwrap();
    (node, peer)
}

/// Whether `peer` resolves `ip` on its LAN (ARP or neighbour discovery)
/// after sending it a datagram.
fn resolves(peer: &Netns, ip: &str) -> bool {
    let to: std::net::SocketAddr = (ip.parse::<std::net::IpAddr>().unwrap(), 9).into();
    peer.enter(|| {
        let any: std::net::SocketAddr =
            if to.is_ipv4() { "0.0.0.0:0".parse().unwrap() } else { "[::]:0".parse().unwrap() };
        let s = std::net::UdpSocket::bind(any).unwrap();
        let _ = s.send_to(b"x", to);
    })
    .unwrap();
    let end = Instant::now() + Duration::from_secs(4);
    while Instant::now() < end {
        let n = peer.ip(&["neigh", "show", ip]).unwrap();
        if n.contains("lladdr") {
            return true;
        }
        if n.contains("FAILED") {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_lvs-node")
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Node {
    /// `ip netns exec` execs the program: the child's pid is lvs-node's.
    fn signal(&self, sig: Signal) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.0.id()).unwrap());
        nix::sys::signal::kill(pid, sig).unwrap();
    }

    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(s) = self.0.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < end, "lvs-node did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The `--state` file of a test's lvs-node, next to its configuration.
fn state_of(file: &Path) -> PathBuf {
    file.with_extension("journal")
}

fn start(node: &Netns, file: &Path) -> Node {
    let child = node
        .command(bin())
        .arg("-c")
        .arg(file)
        .arg("--state")
        .arg(state_of(file))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Node(child)
}

#[test]
fn direct_routing_set_up_reloaded_and_undone_exactly() {
    if !can_run() {
        return;
    }
    let (node, peer) = node_ns();
    let dir = std::env::temp_dir().join(format!("lvs-node-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file: PathBuf = dir.join("lvs.yaml");
    write(&file, &config("10.97.0.10"));
    let before = snapshot(&node);

    // --check-config and the dry run change nothing.
    let out = Command::new(bin()).args(["--check-config", "-c"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = node
        .command(bin())
        .args(["-t", "-c"])
        .arg(&file)
        .arg("--state")
        .arg(state_of(&file))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let plan = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{plan}");
    assert!(plan.contains("# real server web/me (direct)"), "{plan}");
    assert!(plan.contains("# real server web6/me6 (direct)"), "{plan}");
    assert!(!plan.contains("other"), "{plan}");
    for line in [
        "sysctl -w net.ipv4.conf.all.arp_ignore=1 (was 0)",
        "sysctl -w net.ipv4.conf.veth0.arp_announce=2 (was 0)",
        "ip addr add 10.97.0.10/32 dev lo",
        "ip addr add 2001:db8:97:ff::10/128 dev lo",
    ] {
        assert!(plan.lines().any(|l| l == line), "missing {line:?} in\n{plan}");
    }
    assert_eq!(snapshot(&node), before, "the dry run changed something");

    // Run: set up.
    let mut n = start(&node, &file);
    let has = |a: &str| node.ip(&["-o", "addr", "show", "dev", "lo"]).unwrap().contains(a);
    wait_for("the VIPs on lo", || has("10.97.0.10/32") && has("2001:db8:97:ff::10/128"));
    let s = snapshot(&node);
    for kv in
        ["all.arp_ignore=1", "all.arp_announce=2", "veth0.arp_ignore=1", "veth0.arp_announce=2"]
    {
        assert!(s.contains(kv), "{kv} in\n{s}");
    }
    assert!(s.contains("lo.arp_ignore=0"), "lo is left alone:\n{s}");
    // The LAN cannot resolve the VIPs to this host (no ARP reply, no
    // neighbour advertisement), but does resolve its own addresses.
    assert!(resolves(&peer, "10.97.1.1") && resolves(&peer, "2001:db8:97::1"));
    assert!(!resolves(&peer, "10.97.0.10"), "the real server answered ARP for the VIP");
    assert!(!resolves(&peer, "2001:db8:97:ff::10"), "the real server advertised the IPv6 VIP");

    // Reload with another IPv4 VIP: it moves.
    write(&file, &config("10.97.0.11"));
    n.signal(Signal::SIGHUP);
    wait_for("the VIP to move", || has("10.97.0.11/32") && !has("10.97.0.10/32"));
    // A bad file on reload changes nothing.
    write(&file, "routers: [\n");
    n.signal(Signal::SIGHUP);
    std::thread::sleep(Duration::from_millis(500));
    assert!(n.0.try_wait().unwrap().is_none(), "still running");
    assert!(has("10.97.0.11/32") && has("2001:db8:97:ff::10/128"));

    // Stop: exactly as found.
    n.signal(Signal::SIGTERM);
    let status = n.wait_exit();
    assert!(status.success(), "{status}");
    assert_eq!(snapshot(&node), before);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn what_was_set_by_hand_stays_after_stop() {
    if !can_run() {
        return;
    }
    let (node, _peer) = node_ns();
    node.ip(&["addr", "add", "10.97.0.10/32", "dev", "lo"]).unwrap();
    node.sysctl("net.ipv4.conf.all.arp_ignore", "1").unwrap();
    let before = snapshot(&node);
    let file = std::env::temp_dir().join(format!("lvs-node-hand-{}.yaml", std::process::id()));
    write(&file, &config("10.97.0.10"));
    let mut n = start(&node, &file);
    let has = |a: &str| node.ip(&["-o", "addr", "show", "dev", "lo"]).unwrap().contains(a);
    wait_for("the IPv6 VIP", || has("2001:db8:97:ff::10/128"));
    n.signal(Signal::SIGTERM);
    assert!(n.wait_exit().success());
    assert_eq!(snapshot(&node), before, "the hand-made VIP and arp_ignore stay");
    let _ = std::fs::remove_file(&file);
}

#[test]
fn nat_default_route_replaced_and_put_back() {
    if !can_run() {
        return;
    }
    let (node, _peer) = node_ns();
    node.ip(&["route", "add", "default", "via", "10.97.1.100"]).unwrap();
    let routes = || node.ip(&["route", "show", "default"]).unwrap();
    let before = (snapshot(&node), routes());
    let file = std::env::temp_dir().join(format!("lvs-node-nat-{}.yaml", std::process::id()));
    write(
        &file,
        "routers:\n  primary: { address: 10.97.0.1 }\nnetwork: nat\n\
         nat_router: { address: 10.97.1.254, interface: eth1 }\n\
         virtual_services:\n  - name: web\n    vip: { address: 192.0.2.10, interface: eth0 }\n    \
         check: { type: none }\n    real_servers:\n      - { name: me, address: 10.97.1.1 }\n",
    );
    let out = node
        .command(bin())
        .args(["-t", "-c"])
        .arg(&file)
        .arg("--state")
        .arg(state_of(&file))
        .output()
        .unwrap();
    let plan = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        plan.lines().any(|l| l == "ip route replace default via 10.97.1.254 (was 10.97.1.100)"),
        "{plan}"
    );
    let mut n = start(&node, &file);
    wait_for("the default route via the nat_router", || routes().contains("via 10.97.1.254"));
    assert!(!routes().contains("10.97.1.100"), "{}", routes());
    n.signal(Signal::SIGTERM);
    assert!(n.wait_exit().success());
    assert_eq!((snapshot(&node), routes()), before);
    let _ = std::fs::remove_file(&file);
}

#[test]
fn a_restarted_lvs_node_adopts_and_undoes_what_the_crashed_one_did() {
    if !can_run() {
        return;
    }
    let (node, _peer) = node_ns();
    let before = snapshot(&node);
    let file = std::env::temp_dir().join(format!("lvs-node-crash-{}.yaml", std::process::id()));
    write(&file, &config("10.97.0.10"));
    let has = |a: &str| node.ip(&["-o", "addr", "show", "dev", "lo"]).unwrap().contains(a);
    let mut n = start(&node, &file);
    wait_for("the VIPs", || has("10.97.0.10/32") && has("2001:db8:97:ff::10/128"));
    // Give it a moment to write the journal after the last change.
    std::thread::sleep(Duration::from_millis(200));
    n.signal(Signal::SIGKILL);
    let _ = n.wait_exit();
    let journal = std::fs::read_to_string(state_of(&file)).unwrap();
    assert!(journal.contains("addr lo 10.97.0.10/32"), "{journal}");
    // A new instance: nothing to do, then its stop undoes the first one's work.
    let mut n = start(&node, &file);
    std::thread::sleep(Duration::from_millis(500));
    n.signal(Signal::SIGTERM);
    assert!(n.wait_exit().success());
    assert_eq!(snapshot(&node), before);
    assert!(!state_of(&file).exists(), "nothing left to undo: the journal is gone");
    let _ = std::fs::remove_file(&file);
}
