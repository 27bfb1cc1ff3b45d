//! In-guest suite of the `ipvs` crate against the real kernel: every
//! command round-trips for IPv4, IPv6 and fwmark services, kernel errors
//! come back typed with ipvsadm's own words, a 10,000-service table dumps
//! back exactly, our requests match the reference ipvsadm's bytes,
//! `/proc/net/ip_vs_conn` parses while traffic really flows, and
//! `ipvs::FakeTable` answers like the kernel (errnos, tables, and a
//! destination's connections kept across an edit).
//!
//! Run with `cargo xtask vm-test --suite ipvs`.

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

#[test]
fn every_command_round_trips_for_ipv4_ipv6_and_fwmark() {
    let _shared = changing();
    let (mut c, _ns) = table("roundtrip");
    for (key, dests) in cases() {
        // -A, then read back one and all.
        let svc = Service::new(key).with_scheduler("wrr");
        c.add_service(&svc).unwrap();
        assert_eq!(sent(c.service(&key).unwrap()), svc, "{key}");
        assert!(c.services().unwrap().into_iter().map(sent).any(|s| s == svc));

        // -E: persistence with the family's netmask, one-packet, scheduler
        // flags, and a persistence engine on the UDP service.
        let netmask = match key.family() {
            Family::Inet => Netmask::V4(Ipv4Addr::new(255, 255, 255, 0)),
            Family::Inet6 => Netmask::V6Prefix(64),
        };
        let mut edited = svc.clone().with_scheduler("sh").with_persistence(600, netmask);
        edited.flags |=
            ServiceFlags::ONEPACKET | SchedFlags::FLAG1.into() | SchedFlags::FLAG2.into();
        if matches!(key, ServiceKey::Addr { protocol: ipvs::Protocol::Udp, .. }) {
            edited.pe_name = Some("sip".to_string());
        }
        c.edit_service(&edited).unwrap();
        assert_eq!(sent(c.service(&key).unwrap()), edited, "{key}");

        // -a for every forwarding method and tunnel kind, read back.
        for d in &dests {
            c.add_dest(&key, d).unwrap();
        }
        let mut want = dests.clone();
        want.sort_by_key(Dest::key);
        assert_eq!(dests_of(&mut c, &key), want, "{key}");

        // -e: new weight, thresholds and method.
        let mut changed = dests[0].clone().with_fwd(ForwardMethod::Route).with_weight(7);
        changed.upper_threshold = 50;
        changed.lower_threshold = 5;
        c.edit_dest(&key, &changed).unwrap();
        let got = dests_of(&mut c, &key);
        assert_eq!(got.iter().find(|d| d.key() == changed.key()), Some(&changed), "{key}");

        // -d, -Z one.
        c.del_dest(&key, &dests[1].key()).unwrap();
        assert_eq!(dests_of(&mut c, &key).len(), dests.len() - 1);
        c.zero(Some(&key)).unwrap();
        assert_eq!(c.service(&key).unwrap().stats64.unwrap_or_default().conns, 0);
    }
    // The router itself as a real server (LOCALNODE).
    let key = ServiceKey::tcp(ip("10.1.0.9"), 22);
    c.add_service(&Service::new(key)).unwrap();
    c.add_dest(&key, &Dest::new(ip("127.0.0.1"), 22).with_fwd(ForwardMethod::Local)).unwrap();
    assert_eq!(c.dests(&key).unwrap()[0].fwd, ForwardMethod::Local);

    // -Z all, -D, -C.
    c.zero(None).unwrap();
    assert_eq!(c.services().unwrap().len(), cases().len() + 1);
    c.del_service(&key).unwrap();
    assert_kernel(c.service(&key), Op::GetService, libc::ESRCH, "No such service");
    c.flush().unwrap();
    assert!(c.services().unwrap().is_empty());
}

#[test]
fn info_and_timeouts() {
    let _shared = changing();
    let (mut c, ns) = table("config");
    let info = c.info().unwrap();
    assert_eq!(info.version_triple(), (1, 2, 1));
    let proc_ip_vs = ns.read_proc_net("ip_vs").unwrap();
    assert!(proc_ip_vs.contains(&format!("(size={})", info.conn_tab_size)), "{proc_ip_vs}");

    assert_eq!(c.timeouts().unwrap(), Timeouts { tcp: 900, tcp_fin: 120, udp: 300 });
    c.set_timeouts(&Timeouts { tcp: 1000, tcp_fin: 0, udp: 200 }).unwrap();
    assert_eq!(c.timeouts().unwrap(), Timeouts { tcp: 1000, tcp_fin: 120, udp: 200 });
    let listing = ns.run(&ref_ipvsadm(), &["-L", "--timeout"]).unwrap();
    assert_eq!(listing, "Timeout (tcp tcpfin udp): 1000 120 200\n");
}

#[test]
fn sync_daemons_start_list_and_stop() {
    let _shared = changing();
    let (mut c, ns) = table("daemon");
    ns.ip(&["link", "add", "sync0", "type", "dummy"]).unwrap();
    ns.ip(&["addr", "add", "10.9.0.1/24", "dev", "sync0"]).unwrap();
    ns.ip(&["link", "set", "sync0", "up"]).unwrap();
    assert!(c.daemons().unwrap().is_empty());

    let mut master = DaemonConfig::new(DaemonState::Master, "sync0", 7);
    master.maxlen = Some(1200);
    master.group = Some(ip("239.1.1.1"));
    master.port = Some(8850);
    master.ttl = Some(3);
    c.start_daemon(&master).unwrap();
    // The backup takes the kernel's defaults for what we leave out.
    c.start_daemon(&DaemonConfig::new(DaemonState::Backup, "sync0", 8)).unwrap();
    let mut got = c.daemons().unwrap();
    got.sort_by_key(|d| d.state);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0], master);
    assert_eq!(got[1].state, DaemonState::Backup);
    assert_eq!((got[1].mcast_ifn.as_str(), got[1].syncid), ("sync0", 8));
    assert_eq!(
        (got[1].group, got[1].port, got[1].ttl),
        (Some(ip("224.0.0.81")), Some(8848), Some(1))
    );
    let listing = ns.run(&ref_ipvsadm(), &["-L", "--daemon"]).unwrap();
    assert!(
        listing.contains("master sync daemon (mcast=sync0, syncid=7, maxlen=1200, group=239.1.1.1, port=8850, ttl=3)"),
        "{listing}"
    );

    assert_kernel(c.start_daemon(&master), Op::StartDaemon, libc::EEXIST, "Daemon has already run");
    c.stop_daemon(DaemonState::Master).unwrap();
    c.stop_daemon(DaemonState::Backup).unwrap();
    assert_kernel(
        c.stop_daemon(DaemonState::Master),
        Op::StopDaemon,
        libc::ESRCH,
        "No daemon is running",
    );
    assert!(c.daemons().unwrap().is_empty());
    let nodev = DaemonConfig::new(DaemonState::Master, "nosuch0", 1);
    assert_kernel(c.start_daemon(&nodev), Op::StartDaemon, libc::ENODEV, "No such device");
}

/// Runs the reference ipvsadm in `ns`, returning its output whatever the status.
fn ipvsadm_output(ns: &Netns, args: &[&str]) -> Output {
    ns.command(ref_ipvsadm()).args(args).output().unwrap()
}

#[test]
fn kernel_errors_are_typed_and_worded_like_ipvsadm() {
    let _shared = changing();
    let (mut c, ns) = table("errors");
    let key = ServiceKey::tcp(ip("10.3.0.1"), 80);
    let missing = ServiceKey::tcp(ip("10.3.0.2"), 80);
    let dest = Dest::new(ip("10.4.0.1"), 80);
    c.add_service(&Service::new(key)).unwrap();

    // Each case: our typed error, then ipvsadm's stderr for the same mistake.
    assert_kernel(
        c.add_service(&Service::new(key)),
        Op::AddService,
        libc::EEXIST,
        "Service already exists",
    );
    let out = ipvsadm_output(&ns, &["-A", "-t", "10.3.0.1:80"]);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "Service already exists\n");

    assert_kernel(c.del_service(&missing), Op::DelService, libc::ESRCH, "No such service");
    let out = ipvsadm_output(&ns, &["-D", "-t", "10.3.0.2:80"]);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "No such service\n");

    let bad_sched = Service::new(missing).with_scheduler("nosuchsched");
    assert_kernel(
        c.add_service(&bad_sched),
        Op::AddService,
        libc::ENOENT,
        "Scheduler or persistence engine not found",
    );
    let out = ipvsadm_output(&ns, &["-A", "-t", "10.3.0.2:80", "-s", "nosuchsched"]);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "Scheduler or persistence engine not found\n");

    assert_kernel(c.add_dest(&missing, &dest), Op::AddDest, libc::ESRCH, "Service not defined");
    let out = ipvsadm_output(&ns, &["-a", "-t", "10.3.0.2:80", "-r", "10.4.0.1:80"]);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "Service not defined\n");

    c.add_dest(&key, &dest).unwrap();
    assert_kernel(c.add_dest(&key, &dest), Op::AddDest, libc::EEXIST, "Destination already exists");
    let other = DestKey { addr: ip("10.4.0.9"), port: 80 };
    assert_kernel(
        c.edit_dest(&key, &Dest::new(other.addr, 80)),
        Op::EditDest,
        libc::ENOENT,
        "No such destination",
    );
    assert_kernel(c.del_dest(&key, &other), Op::DelDest, libc::ENOENT, "No such destination");
    assert_kernel(
        c.edit_service(&Service::new(missing)),
        Op::EditService,
        libc::ESRCH,
        "No such service",
    );
    assert_kernel(c.zero(Some(&missing)), Op::Zero, libc::ESRCH, "No such service");
    assert_kernel(c.service(&missing), Op::GetService, libc::ESRCH, "No such service");
    // Like the kernel, the destinations of a missing service are just none.
    assert!(c.dests(&missing).unwrap().is_empty());
    let heavy = Dest::new(ip("10.4.0.2"), 80).with_weight(u32::MAX);
    assert_kernel(
        c.add_dest(&key, &heavy),
        Op::AddDest,
        libc::ERANGE,
        "Numerical result out of range",
    );

    // A batch goes on after a failure and says which command failed.
    let other_svc = ServiceKey::udp(ip("10.3.0.3"), 53);
    let results = c
        .apply(&[
            Command::AddService(Service::new(other_svc)),
            Command::AddService(Service::new(key)),
            Command::AddDest(missing, dest.clone()),
            Command::AddDest(other_svc, dest.clone()),
        ])
        .unwrap();
    assert!(results[0].is_ok() && results[3].is_ok(), "{results:?}");
    assert_kernel(
        results.into_iter().nth(1).unwrap(),
        Op::AddService,
        libc::EEXIST,
        "Service already exists",
    );
    assert_eq!(dests_of(&mut c, &other_svc), vec![dest]);
}

/// The service and destinations of entry `i` of the big table.
fn big_entry(i: u32) -> (Service, Vec<Dest>) {
    let hi = (i >> 8) as u8;
    let lo = (i & 0xff) as u8;
    let (key, dest_addr): (ServiceKey, Box<dyn Fn(u8) -> IpAddr>) = match i % 10 {
        0 => (ServiceKey::fwmark(Family::Inet, i + 1), Box::new(|k| IpAddr::from([172, 16, 0, k]))),
        1 => (
            ServiceKey::udp(
                IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, u16::from(hi), u16::from(lo)]),
                53,
            ),
            Box::new(|k| IpAddr::from([0x2001, 0xdb8, 1, 0, 0, 0, 0, u16::from(k)])),
        ),
        _ => (
            ServiceKey::tcp(IpAddr::from([10, 100, hi, lo]), 80),
            Box::new(|k| IpAddr::from([172, 16, 0, k])),
        ),
    };
    let svc = Service::new(key).with_scheduler(["rr", "wlc", "sh"][(i % 3) as usize]);
    let dests = (1..=5u8)
        .map(|k| Dest::new(dest_addr(k), 8000 + u16::from(k)).with_weight(i % 50 + u32::from(k)))
        .collect();
    (svc, dests)
}

#[test]
fn ten_thousand_services_and_fifty_thousand_dests_dump_exactly() {
    let _alone = KERNEL_TABLE.write().unwrap_or_else(|e| e.into_inner());
    let (mut c, _ns) = table("big");
    let entries: Vec<(Service, Vec<Dest>)> = (0..10_000).map(big_entry).collect();
    let mut cmds = Vec::with_capacity(60_000);
    for (s, ds) in &entries {
        cmds.push(Command::AddService(s.clone()));
        cmds.extend(ds.iter().map(|d| Command::AddDest(s.key, d.clone())));
    }
    let results = c.apply(&cmds).unwrap();
    assert_eq!(results.len(), 60_000);
    let failures: Vec<_> = results.iter().enumerate().filter(|(_, r)| r.is_err()).take(5).collect();
    assert!(failures.is_empty(), "{failures:?}");

    let dumped: BTreeMap<ServiceKey, (Service, Vec<Dest>)> = c
        .table()
        .unwrap()
        .into_iter()
        .map(|(s, ds)| {
            let mut ds: Vec<Dest> = ds.into_iter().map(sent_dest).collect();
            ds.sort_by_key(Dest::key);
            (s.key, (sent(s), ds))
        })
        .collect();
    let written: BTreeMap<ServiceKey, (Service, Vec<Dest>)> = entries
        .into_iter()
        .map(|(s, mut ds)| {
            ds.sort_by_key(Dest::key);
            (s.key, (s, ds))
        })
        .collect();
    assert_eq!(dumped.len(), 10_000);
    assert_eq!(dumped.values().map(|(_, d)| d.len()).sum::<usize>(), 50_000);
    assert!(dumped == written, "the dumped table differs from the written one");
}

// ---------------------------------------------------------------------------
// Our requests against the reference ipvsadm's, captured with strace.

/// The IPVS requests `ipvsadm ARGS` sends, from `strace -e write=all`'s
/// hex dumps of every sendmsg/sendto (the control-family lookups dropped).
fn captured_requests(ns: &Netns, family: u16, args: &[&str]) -> Vec<Vec<u8>> {
    let log =
        format!("/tmp/strace-{}-{}.txt", std::process::id(), args.join("_").replace('/', "_"));
    ns.command("strace")
        .args(["-f", "-e", "trace=sendmsg,sendto", "-e", "write=all", "-o", &log, &ref_ipvsadm()])
        .args(args)
        .output()
        .unwrap();
    // ipvsadm may well fail (no such service, no eth0): the request went out all the same.
    let text = std::fs::read_to_string(&log).unwrap();
    let bufs = hex_dumps(&text);
    bufs.into_iter()
        .filter(|b| b.len() >= 16 && u16::from_ne_bytes([b[4], b[5]]) == family)
        .map(|b| {
            let len = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize;
            b[..len.min(b.len())].to_vec()
        })
        .collect()
}

/// The buffers of strace's `-e write=`/`-e read=` hex dumps, in order.
fn hex_dumps(text: &str) -> Vec<Vec<u8>> {
    let mut bufs: Vec<Vec<u8>> = Vec::new();
    let mut in_dump = false;
    for line in text.lines() {
        let Some(hex) = line.trim_start().strip_prefix("| ") else {
            in_dump = false;
            continue;
        };
        if !in_dump {
            bufs.push(Vec::new());
            in_dump = true;
        }
        // " 00000  30 00 00 00 ... 00  ascii |": offset, 16 hex bytes, text.
        let bytes = hex.get(7..7 + 16 * 3 + 1).unwrap_or(&hex[7.min(hex.len())..]);
        if let Some(buf) = bufs.last_mut() {
            buf.extend(bytes.split_whitespace().filter_map(|b| u8::from_str_radix(b, 16).ok()));
        }
    }
    bufs
}

fn masked(b: &[u8]) -> Vec<u8> {
    let mut v = b.to_vec();
    v[4..6].fill(0);
    v[8..16].fill(0);
    v
}

fn hex(b: &[u8]) -> String {
    b.chunks(16)
        .map(|c| c.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether every attribute of `ours` (recursively) is in `theirs`, which
/// may carry more: ipvsadm sends full service/destination attributes where
/// the kernel reads only the identifying ones.
fn subset(ours: &GenlMessage, theirs: &GenlMessage) -> bool {
    let (Attrs::Cmd(a), Attrs::Cmd(b)) = (&ours.attrs, &theirs.attrs) else {
        return ours == theirs;
    };
    ours.cmd == theirs.cmd
        && a.iter().all(|x| match x {
            CmdAttr::Service(n) => b.iter().any(
                |y| matches!(y, CmdAttr::Service(m) if n.attrs.iter().all(|z| m.attrs.contains(z))),
            ),
            CmdAttr::Dest(n) => b.iter().any(
                |y| matches!(y, CmdAttr::Dest(m) if n.attrs.iter().all(|z| m.attrs.contains(z))),
            ),
            CmdAttr::Daemon(n) => b.iter().any(
                |y| matches!(y, CmdAttr::Daemon(m) if n.attrs.iter().all(|z| m.attrs.contains(z))),
            ),
            other => b.contains(other),
        })
}

/// The golden request fixtures of the `ipvs` crate (compiled in: the
/// source tree is not in the guest).
#[allow(dead_code)]
#[path = "../../crates/ipvs/src/wire/tests/requests.rs"]
mod fixtures;

#[test]
fn requests_match_the_reference_ipvsadm() {
    let _shared = changing();
    let (c, ns) = table("capture");
    let family = c.family_id();
    // (the ipvsadm command each fixture documents, the fixture, exact)
    // Not exact: ipvsadm sends the whole service (and destination) where
    // the kernel reads only the identifying attributes, which are ours.
    let cases: Vec<(&str, &[u8], bool)> = vec![
        ("-A -t 192.168.1.10:80 -s wlc", fixtures::NEW_SERVICE_TCP4, true),
        (
            "-A -u [2001:db8::1]:53 -s sh -b sh-fallback,sh-port -o -p 360 -M 64 --pe sip",
            fixtures::NEW_SERVICE_UDP6_PERSISTENT,
            true,
        ),
        ("-A -f 42 -s rr -p 300 -M 255.255.255.0", fixtures::NEW_SERVICE_FWMARK, true),
        ("-E -t 192.168.1.10:80 -s rr", fixtures::SET_SERVICE_TCP4, true),
        ("-D -f 7 -6", fixtures::DEL_SERVICE_FWMARK6, false),
        ("-a -t 192.168.1.10:80 -r 10.0.0.2:8080 -m -w 5 -x 100 -y 10", fixtures::NEW_DEST_TCP4_MASQ, false),
        (
            "-e -u [2001:db8::1]:53 -r [2001:db8::10]:53 -i --tun-type gue --tun-port 6080 --tun-csum",
            fixtures::SET_DEST_UDP6_GUE,
            false,
        ),
        ("-d -f 42 -r 10.0.0.3", fixtures::DEL_DEST_FWMARK, false),
        ("-Z -t 192.168.1.10:80", fixtures::ZERO_ONE, false),
        ("-Z", fixtures::ZERO_ALL, true),
        ("--set 900 0 300", fixtures::SET_CONFIG, true),
        (
            "--start-daemon master --mcast-interface eth0 --syncid 9 --sync-maxlen 1400 --mcast-port 8849 --mcast-ttl 2 --mcast-group 239.1.2.3",
            fixtures::NEW_DAEMON_MASTER4,
            true,
        ),
        ("--start-daemon backup --mcast-interface eth1 --mcast-group ff02::81", fixtures::NEW_DAEMON_BACKUP6, true),
        ("--stop-daemon master", fixtures::DEL_DAEMON, false),
        ("-L -n -t 192.168.1.10:80", fixtures::GET_SERVICE_ONE, false),
        ("-L -n", fixtures::GET_SERVICE_DUMP, true),
        ("-L -n -f 42", fixtures::GET_DEST_DUMP, true),
        ("-L --timeout", fixtures::GET_CONFIG, true),
        ("-L --daemon", fixtures::GET_DAEMON_DUMP, true),
        ("-C", fixtures::FLUSH, true),
    ];
    let mut report = String::new();
    let mut mismatches = Vec::new();
    for (args, fixture, exact) in cases {
        let args: Vec<&str> = args.split(' ').collect();
        let caps = captured_requests(&ns, family, &args);
        // ipvsadm first asks for the version (GET_INFO), then sends the
        // command; a listing then also dumps destinations.
        let info = caps.first().unwrap_or_else(|| panic!("nothing captured for {args:?}"));
        assert_eq!(masked(info), masked(fixtures::GET_INFO), "GET_INFO of {args:?}");
        let (cmd, flags) = (fixture[16], &fixture[6..8]);
        let theirs = caps[1..]
            .iter()
            .find(|b| b[16] == cmd && &b[6..8] == flags)
            .unwrap_or_else(|| panic!("no command {cmd} captured for {args:?}"));
        report.push_str(&format!("ipvsadm {}:\n{}\n", args.join(" "), hex(theirs)));
        let theirs_msg = GenlMessage::decode(&theirs[16..]).unwrap();
        assert_eq!(theirs_msg.encode(), theirs[16..], "lossless decode of {args:?}");
        let same = masked(theirs) == masked(fixture);
        let ours_msg = GenlMessage::decode(&fixture[16..]).unwrap();
        let ok = same || (!exact && flags == &theirs[6..8] && subset(&ours_msg, &theirs_msg));
        if !ok {
            mismatches.push(format!("{args:?}\n theirs {}\n ours   {}", hex(theirs), hex(fixture)));
        }
    }
    // The captures go to the console as fixture provenance.
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "---- ipvsadm captures ----\n{report}---- end ----");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// The golden kernel-reply fixtures of the `ipvs` crate.
#[allow(dead_code)]
#[path = "../../crates/ipvs/src/wire/tests/replies.rs"]
mod reply_fixtures;

/// The IPVS messages the kernel sent to `ipvsadm ARGS`, from strace's
/// `-e read=all` dumps of every recvmsg (full messages, header included).
fn captured_replies(ns: &Netns, family: u16, args: &[&str]) -> Vec<Vec<u8>> {
    let log =
        format!("/tmp/strace-r-{}-{}.txt", std::process::id(), args.join("_").replace('/', "_"));
    ns.command("strace")
        .args(["-f", "-e", "trace=recvmsg,recvfrom", "-e", "read=all", "-o", &log, &ref_ipvsadm()])
        .args(args)
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let mut out = Vec::new();
    for buf in hex_dumps(&text) {
        // libnl peeks before it reads: a truncated peek does not parse.
        let Ok(replies) = nl::parse_replies(&buf) else { continue };
        for r in replies {
            if let nl::Reply::Data { header, payload } = r {
                if header.kind == family {
                    out.push([&header.to_bytes()[..], payload].concat());
                }
            }
        }
    }
    out
}

/// What a fresh kernel reports where the fixtures show made-up values:
/// counters and rates are zero, and the fixture's "attribute from a future
/// kernel" is not there.
fn as_fresh(msg: &mut GenlMessage) {
    let zero = |n: &mut wire::Nest<StatsAttr>| {
        for a in &mut n.attrs {
            match a {
                StatsAttr::U32(_, v) => *v = 0,
                StatsAttr::U64(_, v) => *v = 0,
                _ => {}
            }
        }
    };
    let Attrs::Cmd(attrs) = &mut msg.attrs else { return };
    for a in attrs {
        match a {
            CmdAttr::Service(n) => {
                n.attrs.retain(|a| !matches!(a, SvcAttr::Other(_)));
                for a in &mut n.attrs {
                    if let SvcAttr::Stats(s) | SvcAttr::Stats64(s) = a {
                        zero(s);
                    }
                }
            }
            CmdAttr::Dest(n) => {
                for a in &mut n.attrs {
                    match a {
                        DestAttr::Stats(s) | DestAttr::Stats64(s) => zero(s),
                        DestAttr::ActiveConns(v)
                        | DestAttr::InactConns(v)
                        | DestAttr::PersistConns(v) => *v = 0,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}

#[test]
fn replies_match_the_kernel() {
    let _shared = changing();
    let (c, ns) = table("replies");
    let family = c.family_id();
    for (link, addr) in [("eth0", "10.9.0.1/24"), ("eth1", "10.9.1.1/24")] {
        ns.ip(&["link", "add", link, "type", "dummy"]).unwrap();
        ns.ip(&["addr", "add", addr, "dev", link]).unwrap();
        ns.ip(&["link", "set", link, "up"]).unwrap();
    }
    let run = |args: &str| {
        let out = ipvsadm_output(&ns, &args.split(' ').collect::<Vec<_>>());
        assert!(out.status.success(), "ipvsadm {args}: {}", String::from_utf8_lossy(&out.stderr));
    };
    // (set-up commands, the listing captured, the fixture, which reply of that kind)
    let cases: Vec<(Vec<&str>, &str, &[u8], usize)> = vec![
        (vec![], "-L --timeout", reply_fixtures::REPLY_CONFIG, 0),
        (vec![], "-L --timeout", reply_fixtures::REPLY_INFO, 0),
        (
            vec!["-A -t 192.168.1.10:80 -s wlc", "-a -t 192.168.1.10:80 -r 10.0.0.2:8080 -m -w 5"],
            "-L -n",
            reply_fixtures::REPLY_SERVICE_TCP4,
            0,
        ),
        (vec![], "-L -n", reply_fixtures::REPLY_DEST_TCP4_MASQ, 0),
        (
            vec![
                "-A -u [2001:db8::1]:53 -s sh -b sh-fallback,sh-port -o -p 360 -M 64 --pe sip",
                "-a -u [2001:db8::1]:53 -r [2001:db8::10]:53 -i --tun-type gue --tun-port 6080 --tun-remcsum -w 1",
            ],
            "-L -n -u [2001:db8::1]:53",
            reply_fixtures::REPLY_SERVICE_UDP6_PE,
            0,
        ),
        (vec![], "-L -n -u [2001:db8::1]:53", reply_fixtures::REPLY_DEST_V6_GUE, 0),
        (vec!["-C", "-A -f 42 -s none"], "-L -n", reply_fixtures::REPLY_SERVICE_FWMARK, 0),
        (
            vec![
                "--start-daemon master --mcast-interface eth0 --syncid 9",
                "--start-daemon backup --mcast-interface eth1 --syncid 0 --mcast-group ff02::81",
            ],
            "-L --daemon",
            reply_fixtures::REPLY_DAEMON_MASTER,
            0,
        ),
        (vec![], "-L --daemon", reply_fixtures::REPLY_DAEMON_BACKUP6, 1),
    ];
    let mut report = String::new();
    let mut mismatches = Vec::new();
    for (setup, listing, fixture, nth) in cases {
        setup.into_iter().for_each(&run);
        let args: Vec<&str> = listing.split(' ').collect();
        let caps = captured_replies(&ns, family, &args);
        let (cmd, flags) = (fixture[16], &fixture[6..8]);
        let Some(theirs) = caps.iter().filter(|b| b[16] == cmd && &b[6..8] == flags).nth(nth)
        else {
            mismatches.push(format!(
                "{listing}: no reply {nth} of command {cmd} in {} captured",
                caps.len()
            ));
            continue;
        };
        report.push_str(&format!("kernel reply to ipvsadm {listing}:\n{}\n", hex(theirs)));
        let theirs_msg = GenlMessage::decode(&theirs[16..]).unwrap();
        assert_eq!(theirs_msg.encode(), theirs[16..], "lossless decode of the reply to {listing}");
        let mut want = GenlMessage::decode(&fixture[16..]).unwrap();
        as_fresh(&mut want);
        if theirs_msg != want {
            mismatches.push(format!("{listing}\n theirs {theirs_msg:?}\n fixture {want:?}"));
        }
    }
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "---- kernel reply captures ----\n{report}---- end ----");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

// ---------------------------------------------------------------------------
// The fake table answers like the kernel.

struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.next(items.len())].clone()
    }
}

/// The few services the random sequences touch.
fn keys() -> [ServiceKey; 4] {
    [
        ServiceKey::tcp(ip("10.7.0.100"), 80),
        ServiceKey::udp(ip("2001:db8:7::100"), 53),
        ServiceKey::fwmark(Family::Inet, 7),
        ServiceKey::fwmark(Family::Inet6, 8),
    ]
}

/// A long random sequence over a few keys, so that most mistakes happen.
fn random_commands(seed: u64, n: usize) -> Vec<Command> {
    let mut r = Lcg(seed);
    let keys = keys();
    let addrs = ["10.7.0.1", "10.7.0.2", "10.7.0.3", "2001:db8:7::1", "2001:db8:7::2"];
    let service = |r: &mut Lcg, key: ServiceKey| {
        let mut s = Service::new(key).with_scheduler(r.pick(&["wlc", "rr", "sh", "nosuch"]));
        s.flags = ServiceFlags(r.pick(&[0, 0x1, 0x4 | 0x8, 0x1 | 0x10 | 0x20]));
        s.timeout = r.pick(&[0, 300, 1000]);
        s.netmask = match key.family() {
            Family::Inet => {
                Netmask::V4(r.pick(&[Ipv4Addr::BROADCAST, Ipv4Addr::new(255, 255, 0, 0)]))
            }
            Family::Inet6 => Netmask::V6Prefix(r.pick(&[128, 64, 0, 200])),
        };
        s.pe_name = r.pick(&[None, None, Some("sip".to_string()), Some("nope".to_string())]);
        s
    };
    let dest = |r: &mut Lcg| {
        let mut d = Dest::new(ip(r.pick(&addrs)), r.pick(&[80, 81]));
        d.fwd = r.pick(&[ForwardMethod::Masq, ForwardMethod::Route, ForwardMethod::Tunnel]);
        d.tunnel.kind = r.pick(&[TunnelType::Ipip, TunnelType::Gue, TunnelType::Gre]);
        d.tunnel.port = r.pick(&[0, 6080]);
        d.tunnel.csum = r.pick(&[TunnelCsum::NoCsum, TunnelCsum::Csum]);
        d.weight = r.pick(&[0, 1, 5, u32::MAX]);
        (d.upper_threshold, d.lower_threshold) = r.pick(&[(0, 0), (10, 5), (5, 10)]);
        d
    };
    (0..n)
        .map(|_| {
            let key = r.pick(&keys);
            match r.next(40) {
                0..=5 => Command::AddService(service(&mut r, key)),
                6..=8 => Command::EditService(service(&mut r, key)),
                9..=10 => Command::DelService(key),
                11..=24 => Command::AddDest(key, dest(&mut r)),
                25..=29 => Command::EditDest(key, dest(&mut r)),
                30..=34 => Command::DelDest(key, dest(&mut r).key()),
                35..=36 => Command::Zero(Some(key)),
                37 => Command::Zero(None),
                38 => Command::SetTimeouts(Timeouts {
                    tcp: r.pick(&[0, 100]),
                    tcp_fin: 0,
                    udp: r.pick(&[0, 50]),
                }),
                _ => {
                    if r.next(4) == 0 {
                        Command::Flush
                    } else {
                        Command::AddService(service(&mut r, key))
                    }
                }
            }
        })
        .collect()
}

#[test]
fn the_fake_table_answers_like_the_kernel() {
    let _shared = changing();
    let (mut c, _ns) = table("fake");
    for seed in 1..=4 {
        let cmds = random_commands(seed, 500);
        let mut fake = FakeTable::new();
        c.flush().unwrap();
        let errno = |r: &Result<(), Error>| r.as_ref().err().map(|e| e.errno());
        let kernel: Vec<_> = c.apply(&cmds).unwrap().iter().map(errno).collect();
        let faked: Vec<_> = IpvsTable::apply(&mut fake, &cmds).unwrap().iter().map(errno).collect();
        let differ: Vec<_> = (0..cmds.len())
            .filter(|&i| kernel[i] != faked[i])
            .take(5)
            .map(|i| format!("#{i} {:?}: kernel {:?}, fake {:?}", cmds[i], kernel[i], faked[i]))
            .collect();
        assert!(differ.is_empty(), "seed {seed}:\n{}", differ.join("\n"));
        // Same table, destinations in the kernel's order.
        let mut ours = c.table().unwrap();
        let mut theirs = IpvsTable::table(&mut fake).unwrap();
        ours.sort_by_key(|(s, _)| s.key);
        theirs.sort_by_key(|(s, _)| s.key);
        assert_eq!(ours, theirs, "seed {seed}");
        assert_eq!(c.timeouts().unwrap(), fake.timeouts(), "seed {seed}");
        // The reads ipvsadm-rs makes through `IpvsTable` agree too.
        let reads = |t: &mut dyn IpvsTable| {
            let mut services = t.services().unwrap();
            services.sort_by_key(|s| s.key);
            let one = |t: &mut dyn IpvsTable, k| t.service(&k).map_err(|e| e.errno());
            let by_key: Vec<_> =
                keys().into_iter().map(|k| (one(t, k), t.dests(&k).unwrap())).collect();
            (services, by_key, t.timeouts().unwrap(), t.daemons().unwrap(), t.info().unwrap())
        };
        assert_eq!(reads(&mut c), reads(&mut fake), "seed {seed}");
        assert!(
            kernel.iter().filter(|e| e.is_some()).count() > 100,
            "seed {seed}: too few mistakes"
        );
    }
}

// ---------------------------------------------------------------------------
// The connection table while traffic flows through a director we program.

/// A NAT director with one service on the VIP's port 80 (`rr`) to its one
/// real server, after one HTTP request went through it.
struct Live {
    topo: Topology,
    _server: TcpServer,
    c: Client,
    key: ServiceKey,
    dest: Dest,
    /// The commands that made the table.
    setup: [Command; 2],
}

fn one_request_through_a_director() -> Live {
    let topo = TopologyBuilder::new(Forwarding::Nat).real_servers(1).build().unwrap();
    let rs_ns = &topo.real_servers[0].ns;
    let _server =
        TcpServer::http(rs_ns, SocketAddr::from((Ipv4Addr::UNSPECIFIED, 80)), "rs0").unwrap();
    let mut c = topo.directors[0].ns.enter(Client::connect).unwrap().unwrap();
    let key = ServiceKey::tcp(IpAddr::V4(addr::VIP), 80);
    let dest = Dest::new(IpAddr::V4(topo.real_server_addr(0)), 80).with_fwd(ForwardMethod::Masq);
    let setup = [
        Command::AddService(Service::new(key).with_scheduler("rr")),
        Command::AddDest(key, dest.clone()),
    ];
    let results = c.apply(&setup).unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(topo.client.ns.http_get(SocketAddr::from((addr::VIP, 80))).unwrap(), "rs0");
    Live { topo, _server, c, key, dest, setup }
}

#[test]
fn proc_ip_vs_conn_parses_live_connections() {
    let _shared = changing();
    // Bound whole: the topology and the server live to the end.
    let mut live = one_request_through_a_director();
    let (c, key) = (&mut live.c, live.key);
    let director = &live.topo.directors[0].ns;
    let rs = live.dest.addr;

    let conns = parse_conns(&director.read_proc_net("ip_vs_conn").unwrap()).unwrap();
    let conn = conns.iter().find(|c| c.protocol == "TCP").unwrap_or_else(|| panic!("{conns:?}"));
    assert_eq!(conn.client_addr, IpAddr::V4(addr::CLIENT));
    assert_eq!((conn.virtual_addr, conn.virtual_port), (IpAddr::V4(addr::VIP), 80));
    assert_eq!((conn.dest_addr, conn.dest_port), (rs, 80));
    assert!(conn.expires > 0);
    // The service's counters saw it too, once the kernel's estimator (every
    // 2 s) has summed its per-CPU counters: poll with a generous bound.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let stats = c.service(&key).unwrap().stats64.unwrap();
        if stats.conns >= 1 && stats.inpkts >= 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "counters still zero: {stats:?}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// `FakeTable` keeps a destination's connection counts when the
/// destination is edited (its stand-in for traffic, `set_conns`, is only
/// worth what this holds to): the kernel does, for a connection that
/// really went through it.
#[test]
fn an_edit_keeps_a_destinations_connections_in_the_kernel_and_the_fake() {
    let _shared = changing();
    // Bound whole: the topology and the server live to the end.
    let mut live = one_request_through_a_director();
    let (c, key, dest, setup) = (&mut live.c, live.key, live.dest.clone(), live.setup.clone());
    let conns = |d: &[Dest]| {
        let [d] = d else { panic!("one destination expected: {d:?}") };
        (d.weight, d.active_conns, d.inactive_conns, d.persistent_conns)
    };
    let before = conns(&c.dests(&key).unwrap());
    assert!(before.1 + before.2 >= 1, "the request's connection is counted: {before:?}");

    let edit = Command::EditDest(key, dest.clone().with_weight(0));
    assert!(c.apply_one(&edit).is_ok());
    let kernel = conns(&c.dests(&key).unwrap());
    assert_eq!(kernel, (0, before.1, before.2, before.3), "the kernel keeps them");

    let mut fake = FakeTable::new();
    let results = IpvsTable::apply(&mut fake, &setup).unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert!(fake.set_conns(&key, &dest.key(), before.1, before.2));
    let results = IpvsTable::apply(&mut fake, &[edit]).unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(conns(&IpvsTable::dests(&mut fake, &key).unwrap()), kernel);
}
