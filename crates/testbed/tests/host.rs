//! The test bed on the host (root, network namespaces, no IPVS): names are
//! unique, namespaces go away on drop, and both topologies are wired and
//! addressed as documented, proven by traffic between their machines.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use testbed::{addr, Forwarding, Netns, TcpServer, TopologyBuilder, UdpServer};

fn exists(ns: &str) -> bool {
    Path::new("/run/netns").join(ns).exists()
}

#[test]
fn namespaces_are_unique_and_deleted_on_drop() {
    let a = Netns::new("x").unwrap();
    let b = Netns::new("x").unwrap();
    assert_ne!(a.name(), b.name());
    assert!(a.name().contains(&std::process::id().to_string()));
    let name = a.name().to_string();
    assert!(exists(&name));
    assert!(a.ip(&["link", "show", "lo"]).unwrap().contains("UP"));
    drop(a);
    assert!(!exists(&name), "{name} still exists after drop");
}

#[test]
fn commands_and_sysctls_apply_inside_the_namespace() {
    let ns = Netns::new("cmd").unwrap();
    ns.sysctl("net.ipv4.ip_forward", "1").unwrap();
    let forward = ns.run("cat", &["/proc/sys/net/ipv4/ip_forward"]).unwrap();
    assert_eq!(forward.trim(), "1");
    // Only lo exists in a fresh namespace: the host's links are not visible.
    let links = ns.run("ip", &["-o", "link", "show"]).unwrap();
    assert_eq!(links.lines().count(), 1, "{links}");
    let err = ns.run("false", &[]).unwrap_err();
    assert!(matches!(err, testbed::Error::Command { .. }), "{err}");
}

#[test]
fn nat_topology_links_client_directors_and_real_servers() {
    let topo = TopologyBuilder::new(Forwarding::Nat).directors(2).real_servers(2).build().unwrap();
    let names: Vec<String> = std::iter::once(&topo.client)
        .chain(&topo.directors)
        .chain(&topo.real_servers)
        .map(|h| h.ns.name().to_string())
        .chain([topo.switch.name().to_string()])
        .collect();

    // Director 0 is active: it holds the VIP and the NAT gateway.
    let d0 = &topo.directors[0];
    let d0_addrs = d0.ns.ip(&["-4", "-o", "addr", "show"]).unwrap();
    assert!(d0_addrs.contains(&format!("{}/24", addr::VIP)), "{d0_addrs}");
    assert!(d0_addrs.contains(&format!("{}/24", addr::NAT_GATEWAY)), "{d0_addrs}");
    let d1_addrs = topo.directors[1].ns.ip(&["-4", "-o", "addr", "show"]).unwrap();
    assert!(!d1_addrs.contains(&addr::VIP.to_string()), "{d1_addrs}");

    // Client -> director's public side, over the public LAN.
    let web = TcpServer::http(&d0.ns, SocketAddr::from((addr::VIP, 8080)), "director0").unwrap();
    assert_eq!(topo.client.ns.http_get(web.addr()).unwrap(), "director0");
    // Real servers answer the directors on the private LAN, by UDP and TCP.
    for (j, rs) in topo.real_servers.iter().enumerate() {
        let own = topo.real_server_addr(j);
        assert_eq!(rs.private, Some(own));
        let udp =
            UdpServer::start(&rs.ns, SocketAddr::from((own, 5353)), format!("rs{j}")).unwrap();
        let tcp =
            TcpServer::start(&rs.ns, SocketAddr::from((own, 7000)), format!("rs{j}\n")).unwrap();
        for d in &topo.directors {
            assert_eq!(d.ns.udp_request(udp.addr(), b"who").unwrap(), format!("rs{j}").as_bytes());
            assert_eq!(
                d.ns.tcp_request(tcp.addr(), b"who\n").unwrap(),
                format!("rs{j}\n").as_bytes()
            );
        }
        assert_eq!((udp.served(), tcp.served()), (2, 2));
        // Its default route goes through the NAT gateway.
        let routes = rs.ns.ip(&["route", "show", "default"]).unwrap();
        assert!(routes.contains(&format!("via {}", addr::NAT_GATEWAY)), "{routes}");
    }
    // Without IPVS nothing forwards the client to the private LAN.
    let rs0 = SocketAddr::from((topo.real_server_addr(0), 7000));
    assert!(topo.client.ns.tcp_request(rs0, b"x\n").is_err());

    // Failover moves the VIP.
    topo.deactivate(0).unwrap();
    topo.activate(1).unwrap();
    let d1_addrs = topo.directors[1].ns.ip(&["-4", "-o", "addr", "show"]).unwrap();
    assert!(d1_addrs.contains(&format!("{}/24", addr::VIP)), "{d1_addrs}");

    drop(web);
    drop(topo);
    let left: Vec<&String> = names.iter().filter(|n| exists(n)).collect();
    assert!(left.is_empty(), "namespaces left behind: {left:?}");
}

#[test]
fn dr_topology_puts_the_vip_on_real_servers_loopback() {
    let topo = TopologyBuilder::new(Forwarding::DirectRouting).real_servers(1).build().unwrap();
    let rs = &topo.real_servers[0];
    assert_eq!(rs.public, Some(topo.real_server_addr(0)));
    let lo = rs.ns.ip(&["-4", "-o", "addr", "show", "dev", "lo"]).unwrap();
    assert!(lo.contains(&format!("{}/32", addr::VIP)), "{lo}");
    let ignore = rs.ns.run("cat", &["/proc/sys/net/ipv4/conf/eth0/arp_ignore"]).unwrap();
    assert_eq!(ignore.trim(), "1");

    // The client reaches the real server directly on the shared LAN...
    let own = topo.real_server_addr(0);
    let web =
        TcpServer::http(&rs.ns, SocketAddr::from((Ipv4Addr::UNSPECIFIED, 80)), "rs0").unwrap();
    assert_eq!(topo.client.ns.http_get(SocketAddr::from((own, 80))).unwrap(), "rs0");
    // ...and the VIP at the director, which holds it on eth0 and answers ARP.
    let d0 = &topo.directors[0];
    let udp = UdpServer::start(&d0.ns, SocketAddr::from((addr::VIP, 53)), "director").unwrap();
    assert_eq!(topo.client.ns.udp_request(udp.addr(), b"q").unwrap(), b"director");
    assert_eq!(web.served(), 1);
}

#[test]
fn daemons_run_inside_the_namespace_and_stop_on_drop() {
    let ns = Netns::new("daemon").unwrap();
    let mut daemon = ns.spawn("sleep", &["600"]).unwrap();
    assert!(daemon.running().unwrap());
    // The daemon's network namespace is the test namespace, not ours.
    let pid = daemon.pid();
    let own = std::fs::read_link("/proc/self/ns/net").unwrap();
    let theirs =
        testbed::wait_for("the daemon to enter the namespace", Duration::from_secs(5), || {
            let link = std::fs::read_link(format!("/proc/{pid}/ns/net")).ok()?;
            (link != own).then_some(link)
        })
        .unwrap();
    assert_ne!(theirs, own);
    let status = daemon.stop().unwrap();
    assert!(!status.success(), "sleep was terminated: {status}");
    // Reaped: the process is gone.
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    let err = testbed::wait_for("nothing", Duration::from_millis(50), || None::<()>).unwrap_err();
    assert!(err.to_string().contains("waiting for nothing"), "{err}");
}
