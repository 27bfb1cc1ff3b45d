//! In-guest suite of the `ipvs` crate against the real kernel: every
//! command round-trips for IPv4, IPv6 and fwmark services, kernel errors
//! come back typed with ipvsadm's own words, a 10,000-service table dumps
//! back exactly, our requests match the reference ipvsadm's bytes,
//! `/proc/net/ip_vs_conn` parses while traffic really flows, and
//! `ipvs::FakeTable` answers like the kernel (errnos, tables, and a
//! destination's connections kept across an edit).
//!
//! Run with `cargo xtask vm-test --suite ipvs`. This file holds what the
//! parts share; each part is a module of its own.

// Helpers of a test file: a failed unwrap is a failed test, with its place.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Output;
use std::sync::{RwLock, RwLockReadGuard};

use ipvs::conn::parse_conns;
use ipvs::wire::{self, nl, Attrs, CmdAttr, DestAttr, GenlMessage, StatsAttr, SvcAttr};
use ipvs::{
    Client, Command, DaemonConfig, DaemonState, Dest, DestKey, Error, FakeTable, Family,
    ForwardMethod, IpvsTable, Netmask, Op, SchedFlags, Service, ServiceFlags, ServiceKey, Timeouts,
    Tunnel, TunnelCsum, TunnelType,
};
use testbed::{addr, Forwarding, Netns, TcpServer, Topology, TopologyBuilder};

fn ref_ipvsadm() -> String {
    std::env::var("LVS_REF_IPVSADM").expect("LVS_REF_IPVSADM is set in the test guest")
}

/// The kernel resumes a service dump by position in one hash table shared
/// by every namespace, so a change in another namespace between two parts
/// of a dump can make it skip or repeat entries (IPVS sets no
/// `NLM_F_DUMP_INTR`). Tests that change tables hold this shared; the test
/// that checks a whole large dump holds it exclusively.
static KERNEL_TABLE: RwLock<()> = RwLock::new(());

fn changing() -> RwLockReadGuard<'static, ()> {
    KERNEL_TABLE.read().unwrap_or_else(|e| e.into_inner())
}

/// A fresh namespace (its own IPVS table) and a client inside it.
fn table(role: &str) -> (Client, Netns) {
    let ns = Netns::new(role).unwrap();
    let client = ns.enter(Client::connect).unwrap().unwrap();
    (client, ns)
}

/// What the kernel adds on its own is dropped, to compare with what was sent.
fn sent(mut s: Service) -> Service {
    s.stats = None;
    s.stats64 = None;
    s.flags = ServiceFlags(s.flags.0 & !ServiceFlags::HASHED.0);
    s
}

fn sent_dest(mut d: Dest) -> Dest {
    d.stats = None;
    d.stats64 = None;
    d.active_conns = 0;
    d.inactive_conns = 0;
    d.persistent_conns = 0;
    d
}

fn dests_of(c: &mut Client, key: &ServiceKey) -> Vec<Dest> {
    let mut d: Vec<Dest> = c.dests(key).unwrap().into_iter().map(sent_dest).collect();
    d.sort_by_key(Dest::key);
    d
}

#[track_caller]
fn assert_kernel(r: Result<impl std::fmt::Debug, Error>, op: Op, errno: i32, message: &str) {
    match r {
        Err(e @ Error::Kernel { .. }) => {
            assert_eq!((e.errno(), e.ipvsadm_message().as_str()), (Some(errno), message), "{e}");
            let Error::Kernel { op: got, .. } = e else { unreachable!() };
            assert_eq!(got, op);
        }
        other => panic!("expected {op:?} errno {errno}, got {other:?}"),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The three kinds of service, each with destinations fitting its family.
fn cases() -> Vec<(ServiceKey, Vec<Dest>)> {
    let tunnel = |addr: IpAddr, kind, port, csum| {
        let mut d = Dest::new(addr, 0).with_fwd(ForwardMethod::Tunnel);
        d.tunnel = Tunnel { kind, port, csum };
        d
    };
    let v4_dests = || {
        let mut masq = Dest::new(ip("10.2.0.1"), 8080).with_fwd(ForwardMethod::Masq).with_weight(3);
        masq.upper_threshold = 100;
        masq.lower_threshold = 10;
        vec![
            masq,
            Dest::new(ip("10.2.0.2"), 80),
            tunnel(ip("10.2.0.3"), TunnelType::Ipip, 0, TunnelCsum::NoCsum),
            tunnel(ip("10.2.0.4"), TunnelType::Gue, 6080, TunnelCsum::Csum),
            tunnel(ip("10.2.0.5"), TunnelType::Gre, 0, TunnelCsum::RemCsum),
        ]
    };
    let v6_dests = || {
        vec![
            Dest::new(ip("2001:db8:2::1"), 53).with_fwd(ForwardMethod::Masq),
            Dest::new(ip("2001:db8:2::2"), 53).with_weight(0),
            tunnel(ip("2001:db8:2::3"), TunnelType::Ipip, 0, TunnelCsum::NoCsum),
        ]
    };
    let port0 = |ds: Vec<Dest>| {
        ds.into_iter().map(|mut d| {
            d.port = 0;
            d
        })
    };
    vec![
        (ServiceKey::tcp(ip("10.1.0.1"), 80), v4_dests()),
        (ServiceKey::udp(ip("2001:db8:1::1"), 53), v6_dests()),
        (ServiceKey::sctp(ip("10.1.0.2"), 9000), v4_dests()),
        (ServiceKey::fwmark(Family::Inet, 1), port0(v4_dests()).collect()),
        (ServiceKey::fwmark(Family::Inet6, 2), port0(v6_dests()).collect()),
    ]
}

/// Runs the reference ipvsadm in `ns`, returning its output whatever the status.
fn ipvsadm_output(ns: &Netns, args: &[&str]) -> Output {
    ns.command(ref_ipvsadm()).args(args).output().unwrap()
}

mod bytes;
mod commands;
mod conns;
mod errors;
mod fake;
