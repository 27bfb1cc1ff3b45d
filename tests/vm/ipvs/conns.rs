//! The connection table while traffic flows through a director we
//! program.

use super::*;

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
