//! Every command round-trips against the kernel (IPv4, IPv6, fwmark),
//! info, timeouts and sync daemons; a 10,000-service table dumps back
//! exactly.

use super::*;

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
