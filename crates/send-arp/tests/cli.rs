//! Tests of the `send_arp` binary: its help and argument errors, and, as
//! root inside a private network namespace, the frames it puts on one end
//! of a veth pair as captured on the other, and its errors for an unknown
//! interface, a down link and missing privileges.
// Helpers outside #[test] fns unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

#[path = "../../lvs-net/tests/common/mod.rs"]
mod common;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::unix::process::CommandExt;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use lvs_net::frame::{ArpFrame, ArpOp, NeighborAdvertFrame, ETH_P_ARP};
use lvs_net::packet::PacketCapture;
use lvs_net::{MacAddr, Rtnl};

use common::Netns;

fn send_arp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_send_arp")).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts exit status 1 and one stderr line naming `needle`.
fn fails_with(o: &Output, needle: &str) {
    assert_eq!(o.status.code(), Some(1), "stderr: {}", stderr(o));
    assert!(stderr(o).starts_with("send_arp: "), "{}", stderr(o));
    assert!(stderr(o).contains(needle), "want {needle:?} in {:?}", stderr(o));
    assert!(o.stdout.is_empty());
}

#[test]
fn help_and_version() {
    let o = send_arp(&["--help"]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("send_arp [-i DEV] SRC_IP SRC_HW TARG_IP TARG_HW"), "{text}");
    assert!(text.contains("--request|--reply"));
    let o = send_arp(&["-V"]);
    assert!(o.status.success());
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        format!("send_arp {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn malformed_arguments_exit_1_before_touching_anything() {
    fails_with(
        &send_arp(&[
            "-i",
            "nosuch0",
            "10.0.0.1",
            "00:11:22:33:44:5g",
            "10.0.0.255",
            "ffffffffffff",
        ]),
        "malformed MAC address \"00:11:22:33:44:5g\"",
    );
    fails_with(
        &send_arp(&["-i", "nosuch0", "10.0.0.1", "001122334455", "10.0.0.255", "ffff"]),
        "malformed MAC address \"ffff\"",
    );
    fails_with(&send_arp(&["-i", "nosuch0", "10.0.0.300"]), "malformed address \"10.0.0.300\"");
    fails_with(&send_arp(&["-i", "nosuch0", "2001:db8::g"]), "malformed address \"2001:db8::g\"");
    fails_with(
        &send_arp(&["10.0.0.256", "001122334455", "10.0.0.255", "ffffffffffff"]),
        "malformed address \"10.0.0.256\"",
    );
    fails_with(&send_arp(&["10.0.0.1"]), "missing -i DEV");
    fails_with(&send_arp(&[]), "missing -i DEV");
}

/// Runs the binary inside `ns`, optionally as an unprivileged user.
fn send_arp_in(ns: &Netns, uid: Option<u32>, args: &[&str]) -> Output {
    ns.run(|| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_send_arp"));
        cmd.args(args);
        if let Some(uid) = uid {
            cmd.uid(uid).gid(uid);
        }
        cmd.output().unwrap()
    })
}

#[test]
fn system_errors_exit_1_naming_the_interface() {
    let ns = Netns::new("arperr");
    ns.veth("va", "vb");
    fails_with(
        &send_arp_in(&ns, None, &["-i", "nosuch0", "10.0.0.1"]),
        "interface nosuch0 not found",
    );
    fails_with(
        &send_arp_in(
            &ns,
            None,
            &["-i", "nosuch0", "10.0.0.1", "001122334455", "10.0.0.255", "ffffffffffff"],
        ),
        "interface nosuch0 not found",
    );
    // Without CAP_NET_RAW the packet socket is refused with EPERM.
    let o = send_arp_in(&ns, Some(65534), &["-i", "va", "10.0.0.1"]);
    fails_with(&o, "announcing 10.0.0.1 on va (needs CAP_NET_RAW: run as root)");
    fails_with(&o, "opening packet socket on va");
    fails_with(&o, "not permitted");
    ns.ip(&["link", "set", "va", "down"]);
    fails_with(&send_arp_in(&ns, None, &["-i", "va", "10.0.0.1"]), "interface va is down");
    // Up, but the peer is down: no carrier, nothing would arrive.
    ns.ip(&["link", "set", "va", "up"]);
    ns.ip(&["link", "set", "vb", "down"]);
    fails_with(&send_arp_in(&ns, None, &["-i", "va", "10.0.0.1"]), "interface va is down");
}

/// Captures incoming frames on `dev` while `send` runs, for at most 2 s
/// after it, keeping those `pick` accepts, until `want` of them arrived.
fn capture_while<T: Send>(
    ns: &Netns,
    dev: &str,
    want: usize,
    send: impl FnOnce() -> Output + Send,
    pick: impl Fn(&[u8]) -> Option<T> + Send + Sync,
) -> (Output, Vec<T>) {
    ns.run(|| {
        let link = Rtnl::open().unwrap().link(dev).unwrap();
        let cap = PacketCapture::open(link.index, &link.name).unwrap();
        let out = send();
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(2);
        while got.len() < want {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else { break };
            if let Some(frame) = cap.recv(left).unwrap() {
                got.extend(pick(&frame));
            }
        }
        (out, got)
    })
}

fn mac_of(ns: &Netns, dev: &str) -> MacAddr {
    ns.run(|| Rtnl::open().unwrap().link(dev).unwrap().mac.unwrap())
}

#[test]
fn piranha_form_sends_piranhas_frame() {
    let ns = Netns::new("arppir");
    ns.veth("va", "vb");
    let vb_mac = mac_of(&ns, "vb");
    let vip = Ipv4Addr::new(192, 0, 2, 10);
    let src_hw: MacAddr = "02:00:00:00:00:aa".parse().unwrap();
    let vb = vb_mac.to_string().replace(':', "");
    let args = ["-i", "va", "192.0.2.10", "02:00:00:00:00:aa", "192.0.2.255", vb.as_str()];
    let (out, frames) = capture_while(
        &ns,
        "vb",
        1,
        || Command::new(env!("CARGO_BIN_EXE_send_arp")).args(args).output().unwrap(),
        |f| ArpFrame::decode(f).ok().filter(|a| a.arp.sender_ip == vip),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    assert_eq!(frames.len(), 1);
    let f = frames[0];
    assert_eq!(f.eth.dst, vb_mac, "Ethernet destination is TARG_HW");
    assert_eq!(f.eth.src, src_hw, "Ethernet source is SRC_HW");
    assert_eq!(f.eth.ethertype, ETH_P_ARP);
    assert_eq!(f.arp.op, ArpOp::Reply);
    assert_eq!((f.arp.sender_hw, f.arp.sender_ip), (src_hw, vip));
    assert_eq!((f.arp.target_hw, f.arp.target_ip), (src_hw, vip));
}

#[test]
fn modern_form_sends_arp_and_na_from_the_interface_mac() {
    let ns = Netns::new("arpmod");
    ns.veth("va", "vb");
    let mac = mac_of(&ns, "va");
    let v4 = Ipv4Addr::new(192, 0, 2, 20);
    let v6: Ipv6Addr = "2001:db8:7::20".parse().unwrap();
    #[derive(Debug)]
    enum Got {
        Arp(ArpFrame),
        Na(NeighborAdvertFrame),
    }
    let pick = |f: &[u8]| {
        if let Ok(a) = ArpFrame::decode(f) {
            return (a.arp.sender_ip == v4).then_some(Got::Arp(a));
        }
        NeighborAdvertFrame::decode(f).ok().filter(|n| n.target == v6).map(Got::Na)
    };
    for (form, op, target_hw) in
        [("--request", ArpOp::Request, MacAddr::ZERO), ("--reply", ArpOp::Reply, mac)]
    {
        let args = ["-i", "va", "-c", "2", "-w", "0.05", form, "192.0.2.20", "2001:db8:7::20"];
        let started = Instant::now();
        let (out, frames) = capture_while(
            &ns,
            "vb",
            4,
            || Command::new(env!("CARGO_BIN_EXE_send_arp")).args(args).output().unwrap(),
            pick,
        );
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(started.elapsed() >= Duration::from_millis(50), "-w 0.05 waits between rounds");
        assert_eq!(frames.len(), 4, "{frames:?}");
        let mut arps = 0;
        for f in &frames {
            match f {
                Got::Arp(a) => {
                    arps += 1;
                    assert_eq!(a.eth.dst, MacAddr::BROADCAST);
                    assert_eq!(a.eth.src, mac);
                    assert_eq!(a.arp.op, op);
                    assert_eq!((a.arp.sender_hw, a.arp.sender_ip), (mac, v4));
                    assert_eq!((a.arp.target_hw, a.arp.target_ip), (target_hw, v4));
                }
                Got::Na(n) => {
                    assert_eq!(n.eth.dst, MacAddr([0x33, 0x33, 0, 0, 0, 1]));
                    assert_eq!(n.eth.src, mac);
                    assert_eq!((n.src_ip, n.dst_ip), (v6, "ff02::1".parse().unwrap()));
                    assert_eq!(n.hop_limit, 255);
                    assert!(n.override_flag && !n.solicited && !n.router);
                    assert_eq!((n.target, n.target_ll), (v6, Some(mac)));
                }
            }
        }
        assert_eq!(arps, 2, "two rounds of one ARP and one NA");
    }
}
