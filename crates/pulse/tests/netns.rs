//! Host tests with real `pulse` processes, each in its own network
//! namespace, joined by veth pairs to a bridge in a hub namespace. They need
//! root (CI runs as root); without it they say why and skip, except under
//! `CI`, where they fail. Namespaces get unique names (pid and test) and are
//! deleted on drop; host interfaces are never touched.
//!
//! Timing figures are printed (`cargo test -- --nocapture` shows them).

// Runs the binaries and tools under test: the choke point for starting
// processes (`clippy.toml`) is the library's.
#![allow(clippy::disallowed_methods)]
// Test helpers may unwrap: a failed unwrap is a failed test, with its line.
#![allow(clippy::unwrap_used)]

mod lab;

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

use lab::*;
use pulse::wire::{self, Faults, Heartbeat, Key, Role};

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
    // Capture genuine heartbeats from r0 (not its overrides messages).
    let mut genuine = Vec::new();
    let mut buf = [0u8; 256];
    while genuine.len() < 2 {
        let (n, from) = observer.recv_from(&mut buf).unwrap();
        if from.ip().to_string() == addr(0) && buf[..n].starts_with(&wire::NATIVE_MAGIC) {
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
        priority: 255,
        epoch,
        boot_id: 7,
        seq: 1 << 40,
        flags: 0,
        config_digest: [0; 32],
        echoes: Vec::new(),
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
        let len = if n % 2 == 0 { wire::NATIVE_MIN_LEN } else { (seed % 300) as usize };
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
    // lvsd is started off the loop: its pid shows once it runs.
    lab.wait(Duration::from_secs(2), "lvsd on r0", |l| !l.status(0).contains("\"lvsd_pid\":null"));
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
