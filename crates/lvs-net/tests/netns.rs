//! Privileged tests of lvs-net against the real kernel, each in its own
//! network namespace with a veth pair: announcements sent on one end are
//! captured on the other and decoded field by field; VIPs are added and
//! removed idempotently and checked against `ip -o addr show`; a link set
//! down is reported by the monitor within 100 ms.
//! They need root, as CI has.
// Helpers outside #[test] fns unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::time::{Duration, Instant};

use lvs_net::frame::{ArpFrame, ArpOp, EthernetHeader, NeighborAdvertFrame, ETH_P_ARP};
use lvs_net::packet::PacketCapture;
use lvs_net::{
    Announcer, ArpForm, Error, LinkMonitor, LinkState, MacAddr, OperState, Outcome, Rtnl,
    VipAddress,
};

use common::Netns;

/// Reads frames on `cap` until `pick` accepts one, for at most 2 s. Other
/// traffic (the kernel's own IPv6 router solicitations, MLD reports) is
/// skipped.
fn capture<T>(cap: &PacketCapture, mut pick: impl FnMut(&[u8]) -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(2);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        if let Some(frame) = cap.recv(left).unwrap() {
            if let Some(t) = pick(&frame) {
                return t;
            }
        }
    }
    panic!("expected frame not captured within 2 s");
}

fn mac_from_ip_link(ns: &Netns, dev: &str) -> MacAddr {
    let out = ns.ip(&["-o", "link", "show", "dev", dev]);
    let mac = out.split("link/ether ").nth(1).unwrap().split_whitespace().next().unwrap();
    mac.parse().unwrap()
}

#[test]
fn link_info_matches_ip_link() {
    let ns = Netns::new("info");
    ns.veth("va", "vb");
    let want_mac = mac_from_ip_link(&ns, "va");
    let (a, all) = ns.run(|| {
        let mut rtnl = Rtnl::open().unwrap();
        (rtnl.link("va").unwrap(), rtnl.links().unwrap())
    });
    let ip_out = ns.ip(&["-o", "link", "show", "dev", "va"]);
    assert!(ip_out.starts_with(&format!("{}: va@vb:", a.index)), "{ip_out}");
    assert_eq!(a.name, "va");
    assert_eq!(a.mac, Some(want_mac));
    assert!(a.flags.up() && a.flags.running() && a.flags.lower_up() && !a.flags.loopback());
    assert_eq!(a.oper_state, OperState::Up);
    assert!(a.is_up());
    let lo = all.iter().find(|l| l.name == "lo").unwrap();
    assert!(lo.flags.loopback());
    assert_eq!(all.len(), 3, "{all:?}");
    // By index, and a down interface.
    ns.ip(&["link", "set", "vb", "down"]);
    let (by_index, missing, missing_index) = ns.run(|| {
        let mut rtnl = Rtnl::open().unwrap();
        (rtnl.link_by_index(a.index).unwrap(), rtnl.link("nosuch0"), rtnl.link_by_index(9999))
    });
    assert_eq!(by_index.name, "va");
    assert!(by_index.flags.up() && !by_index.flags.running(), "peer down: no carrier");
    assert_eq!(by_index.oper_state, OperState::LowerLayerDown);
    assert!(!by_index.is_up());
    assert!(matches!(missing, Err(Error::NoSuchInterface(n)) if n == "nosuch0"));
    assert!(matches!(missing_index, Err(Error::NoSuchIndex(9999))));
}

#[test]
fn gratuitous_arp_request_and_reply_forms_cross_the_veth() {
    let ns = Netns::new("garp");
    ns.veth("va", "vb");
    let vip = Ipv4Addr::new(192, 0, 2, 10);
    let (mac, request, reply) = ns.run(|| {
        let mut rtnl = Rtnl::open().unwrap();
        let a = rtnl.link("va").unwrap();
        let b = rtnl.link("vb").unwrap();
        let cap = PacketCapture::open(b.index, &b.name).unwrap();
        let ann = Announcer::open(&a).unwrap();
        let arp = |f: &[u8]| ArpFrame::decode(f).ok().filter(|a| a.arp.sender_ip == vip);
        ann.announce(IpAddr::V4(vip), ArpForm::Request).unwrap();
        let request = capture(&cap, arp);
        ann.announce(IpAddr::V4(vip), ArpForm::Reply).unwrap();
        let reply = capture(&cap, arp);
        (ann.mac(), request, reply)
    });
    assert_eq!(mac, mac_from_ip_link(&ns, "va"));
    let eth = EthernetHeader { dst: MacAddr::BROADCAST, src: mac, ethertype: ETH_P_ARP };
    assert_eq!(request.eth, eth);
    assert_eq!(request.arp.op, ArpOp::Request);
    assert_eq!(request.arp.sender_hw, mac);
    assert_eq!(request.arp.sender_ip, vip);
    assert_eq!(request.arp.target_hw, MacAddr::ZERO);
    assert_eq!(request.arp.target_ip, vip);
    assert_eq!(reply.eth, eth);
    assert_eq!(reply.arp.op, ArpOp::Reply);
    assert_eq!(reply.arp.sender_hw, mac);
    assert_eq!(reply.arp.sender_ip, vip);
    assert_eq!(reply.arp.target_hw, mac);
    assert_eq!(reply.arp.target_ip, vip);
}

#[test]
fn unsolicited_neighbour_advertisement_crosses_the_veth() {
    let ns = Netns::new("na");
    ns.veth("va", "vb");
    let vip: Ipv6Addr = "2001:db8:5::10".parse().unwrap();
    let (mac, na) = ns.run(|| {
        let mut rtnl = Rtnl::open().unwrap();
        let a = rtnl.link("va").unwrap();
        let b = rtnl.link("vb").unwrap();
        let cap = PacketCapture::open(b.index, &b.name).unwrap();
        let ann = Announcer::open(&a).unwrap();
        ann.announce(IpAddr::V6(vip), ArpForm::Request).unwrap();
        let na = capture(&cap, |f| NeighborAdvertFrame::decode(f).ok().filter(|n| n.target == vip));
        (ann.mac(), na)
    });
    assert_eq!(mac, mac_from_ip_link(&ns, "va"));
    assert_eq!(na.eth.dst, MacAddr([0x33, 0x33, 0, 0, 0, 1]));
    assert_eq!(na.eth.src, mac);
    assert_eq!(na.src_ip, vip);
    assert_eq!(na.dst_ip, "ff02::1".parse::<Ipv6Addr>().unwrap());
    assert_eq!(na.hop_limit, 255);
    assert!(na.override_flag, "override flag");
    assert!(!na.solicited && !na.router);
    assert_eq!(na.target, vip);
    assert_eq!(na.target_ll, Some(mac));
    // decode() verified the ICMPv6 checksum.
}

#[test]
fn announcer_refuses_a_down_link() {
    let ns = Netns::new("down");
    ns.veth("va", "vb");
    ns.ip(&["link", "set", "va", "down"]);
    let r = ns.run(|| {
        let a = Rtnl::open().unwrap().link("va").unwrap();
        Announcer::open(&a).map(|_| ())
    });
    assert!(matches!(r, Err(Error::LinkDown(ref n)) if n == "va"), "{r:?}");
}

#[test]
fn vips_are_added_and_removed_idempotently() {
    let ns = Netns::new("vip");
    ns.veth("va", "vb");
    ns.ip(&["addr", "add", "10.9.0.1/24", "dev", "va"]);
    ns.ip(&["addr", "add", "2001:db8:9::1/64", "dev", "va", "nodad"]);
    let v4 = VipAddress::piranha("va:1", "10.9.0.5".parse().unwrap(), 24);
    let v6 = VipAddress::piranha("va:2", "2001:db8:9::5".parse().unwrap(), 64);

    let (added, listed) = ns.run(|| {
        let mut rtnl = Rtnl::open().unwrap();
        let added = [
            rtnl.add_address(&v4).unwrap(),
            rtnl.add_address(&v4).unwrap(),
            rtnl.add_address(&v6).unwrap(),
            rtnl.add_address(&v6).unwrap(),
        ];
        let idx = rtnl.link("va").unwrap().index;
        (added, (idx, rtnl.addresses(Some(idx)).unwrap(), rtnl.addresses(None).unwrap()))
    });
    assert_eq!(added, [Outcome::Changed, Outcome::Unchanged, Outcome::Changed, Outcome::Unchanged]);
    let (idx, on_va, everywhere) = listed;
    let a4 = on_va.iter().find(|a| a.addr == v4.addr).expect("v4 VIP in our dump");
    assert_eq!((a4.ifindex, a4.prefix_len), (idx, 24));
    assert_eq!(a4.label.as_deref(), Some("va:1"));
    assert_eq!(a4.broadcast, Some("10.9.0.255".parse().unwrap()));
    assert!(a4.secondary, "10.9.0.1/24 is primary");
    let a6 = on_va.iter().find(|a| a.addr == v6.addr).expect("v6 VIP in our dump");
    assert_eq!(a6.prefix_len, 64);
    assert_eq!(on_va.iter().filter(|a| a.addr == v4.addr || a.addr == v6.addr).count(), 2);
    assert!(everywhere.iter().any(|a| a.addr == IpAddr::V4(Ipv4Addr::LOCALHOST)));
    let shown = ns.ip(&["-o", "addr", "show", "dev", "va"]);
    assert!(
        shown.contains("inet 10.9.0.5/24 brd 10.9.0.255 scope global secondary va:1"),
        "{shown}"
    );
    let line6 = shown.lines().find(|l| l.contains("inet6 2001:db8:9::5/64 scope global"));
    let line6 = line6.unwrap_or_else(|| panic!("v6 VIP not in ip addr: {shown}"));
    assert!(line6.contains("nodad") && !line6.contains("tentative"), "VIPs skip DAD: {line6}");
    // Deprecated: never the source of the router's own new connections
    // into the VIP's prefix (a nanny's check of a DR real server).
    assert!(line6.contains("deprecated"), "{line6}");
    let route = ns.ip(&["-6", "route", "get", "2001:db8:9::101"]);
    assert!(route.contains("src 2001:db8:9::1 "), "the router's own address, not the VIP: {route}");

    let (removed, after) = ns.run(|| {
        let mut rtnl = Rtnl::open().unwrap();
        let removed = [
            rtnl.del_address(&v4).unwrap(),
            rtnl.del_address(&v4).unwrap(),
            rtnl.del_address(&v6).unwrap(),
            rtnl.del_address(&v6).unwrap(),
        ];
        (removed, rtnl.addresses(Some(idx)).unwrap())
    });
    assert_eq!(
        removed,
        [Outcome::Changed, Outcome::Unchanged, Outcome::Changed, Outcome::Unchanged]
    );
    assert!(!after.iter().any(|a| a.addr == v4.addr || a.addr == v6.addr), "{after:?}");
    assert!(after.iter().any(|a| a.addr == IpAddr::V4(Ipv4Addr::new(10, 9, 0, 1))));
    let shown = ns.ip(&["-o", "addr", "show", "dev", "va"]);
    assert!(!shown.contains("10.9.0.5") && !shown.contains("2001:db8:9::5"), "{shown}");
    assert!(shown.contains("inet 10.9.0.1/24"), "the primary stays: {shown}");
}

#[test]
fn a_vip_is_added_by_interface_index_in_one_exchange() {
    let ns = Netns::new("vipidx");
    ns.veth("va", "vb");
    let v4 = VipAddress::piranha("va", "10.9.0.6".parse().unwrap(), 24);
    let (outcomes, gone, shown_idx) = ns.run(|| {
        let mut rtnl = Rtnl::open().unwrap();
        let idx = rtnl.link("va").unwrap().index;
        let outcomes = [rtnl.add_address_at(idx, &v4).unwrap(), rtnl.add_address(&v4).unwrap()];
        // An index no interface has (the interface was deleted).
        let gone = rtnl.add_address_at(idx + 1000, &v4);
        (outcomes, gone, idx)
    });
    assert_eq!(outcomes, [Outcome::Changed, Outcome::Unchanged]);
    assert!(matches!(gone, Err(Error::NoSuchIndex(i)) if i == shown_idx + 1000), "{gone:?}");
    let shown = ns.ip(&["-o", "addr", "show", "dev", "va"]);
    assert!(shown.contains("inet 10.9.0.6/24 brd 10.9.0.255"), "{shown}");
}

#[test]
fn vip_errors_name_the_interface() {
    let ns = Netns::new("viperr");
    let r = ns.run(|| {
        let mut rtnl = Rtnl::open().unwrap();
        let v = VipAddress::piranha("eth9:1", "10.9.0.5".parse().unwrap(), 24);
        (rtnl.add_address(&v), rtnl.del_address(&v))
    });
    assert!(matches!(r.0, Err(Error::NoSuchInterface(ref n)) if n == "eth9"), "{:?}", r.0);
    assert!(matches!(r.1, Err(Error::NoSuchInterface(ref n)) if n == "eth9"), "{:?}", r.1);
    assert_eq!(r.0.unwrap_err().to_string(), "interface eth9 not found");
}

/// Waits on the monitor's fd with mio (as pulse will) until an event for
/// `ifindex` in `state` arrives; returns how long that took from `start`.
fn wait_for(
    poll: &mut mio::Poll,
    mon: &mut LinkMonitor,
    ifindex: u32,
    state: LinkState,
    start: Instant,
) -> Duration {
    let mut events = mio::Events::with_capacity(4);
    loop {
        let left =
            Duration::from_secs(2).checked_sub(start.elapsed()).expect("no link event in 2 s");
        poll.poll(&mut events, Some(left)).unwrap();
        for ev in mon.read_events().unwrap() {
            if ev.ifindex == ifindex && ev.state == state {
                return start.elapsed();
            }
        }
    }
}

#[test]
fn link_down_is_reported_within_100ms() {
    let ns = Netns::new("mon");
    ns.veth("va", "vb");
    let figures = ns.run(|| {
        let mut rtnl = Rtnl::open().unwrap();
        let a = rtnl.link("va").unwrap();
        let b = rtnl.link("vb").unwrap();
        let mut mon = LinkMonitor::open().unwrap();
        let mut poll = mio::Poll::new().unwrap();
        let fd = mon.as_raw_fd();
        poll.registry()
            .register(&mut mio::unix::SourceFd(&fd), mio::Token(0), mio::Interest::READABLE)
            .unwrap();
        let mut admin_down = Vec::new();
        let mut carrier_lost = Vec::new();
        for _ in 0..10 {
            // Administratively down on the watched link.
            let t = Instant::now();
            rtnl.set_link_up(a.index, false).unwrap();
            admin_down.push(wait_for(&mut poll, &mut mon, a.index, LinkState::Down, t));
            rtnl.set_link_up(a.index, true).unwrap();
            wait_for(&mut poll, &mut mon, a.index, LinkState::Up, Instant::now());
            // The peer goes down: the watched link loses its carrier.
            let t = Instant::now();
            rtnl.set_link_up(b.index, false).unwrap();
            carrier_lost.push(wait_for(&mut poll, &mut mon, a.index, LinkState::Down, t));
            rtnl.set_link_up(b.index, true).unwrap();
            wait_for(&mut poll, &mut mon, a.index, LinkState::Up, Instant::now());
        }
        (admin_down, carrier_lost)
    });
    let (admin_down, carrier_lost) = figures;
    eprintln!("link down -> event: admin down {admin_down:?}; carrier lost {carrier_lost:?}");
    for d in admin_down.iter().chain(&carrier_lost) {
        assert!(*d < Duration::from_millis(100), "reported after {d:?}");
    }
}

#[test]
fn monitor_reports_a_deleted_link() {
    let ns = Netns::new("del");
    ns.veth("va", "vb");
    let idx = ns.run(|| Rtnl::open().unwrap().link("va").unwrap().index);
    let path = format!("/run/netns/{}", ns.name);
    let ev = ns.run(|| {
        let mut mon = LinkMonitor::open().unwrap();
        let out = std::process::Command::new("ip").args(["link", "del", "va"]).status().unwrap();
        assert!(out.success(), "{path}");
        let start = Instant::now();
        loop {
            let evs = mon.read_events().unwrap();
            if let Some(e) = evs.into_iter().find(|e| e.state == LinkState::Removed) {
                return e;
            }
            assert!(start.elapsed() < Duration::from_secs(2), "no RTM_DELLINK");
            // Plain poll(2) through AsFd, as a non-mio caller would.
            let mut fds = [PollFd::new(mon.as_fd(), PollFlags::POLLIN)];
            poll(&mut fds, PollTimeout::from(100u16)).unwrap();
        }
    });
    assert!(ev.ifindex == idx || ev.name == "vb", "{ev:?}");
}

/// The receiving kernel is an independent oracle: a neighbour entry that
/// points at a stale MAC must move to the announcer's MAC once the
/// announcement arrives. This fails if the kernel drops the frame (bad
/// checksum, hop limit, format) or, for IPv6, if the override flag is off.
#[test]
fn receiving_kernel_updates_its_neighbour_cache() {
    let ns = Netns::new("neigh");
    ns.veth("va", "vb");
    // Let an announcement override an entry however recently it changed.
    let run = |args: &[&str]| {
        let mut all = vec!["netns", "exec", &ns.name];
        all.extend_from_slice(args);
        let out = std::process::Command::new("ip").args(&all).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    run(&["sysctl", "-qw", "net.ipv4.neigh.vb.locktime=0"]);
    run(&["sysctl", "-qw", "net.ipv6.neigh.vb.locktime=0"]);
    let stale = "02:11:11:11:11:11";
    let vips = ["192.0.2.31", "192.0.2.32", "2001:db8:8::33"];
    for vip in vips {
        ns.ip(&["neigh", "add", vip, "lladdr", stale, "dev", "vb", "nud", "stale"]);
    }
    let mac = ns.run(|| {
        let a = Rtnl::open().unwrap().link("va").unwrap();
        let ann = Announcer::open(&a).unwrap();
        ann.announce(vips[0].parse().unwrap(), ArpForm::Request).unwrap();
        ann.announce(vips[1].parse().unwrap(), ArpForm::Reply).unwrap();
        ann.announce(vips[2].parse().unwrap(), ArpForm::Request).unwrap();
        ann.mac()
    });
    let deadline = Instant::now() + Duration::from_secs(2);
    for vip in vips {
        loop {
            let shown = ns.ip(&["neigh", "show", vip, "dev", "vb"]);
            if shown.contains(&format!("lladdr {mac}")) {
                break;
            }
            assert!(Instant::now() < deadline, "{vip}: cache still says {shown:?}, want {mac}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
