//! In-guest suite of the test bed itself: the guest kernel has IPVS, the
//! reference ipvsadm programs it, and a testbed topology really forwards
//! through it (LVS-NAT and LVS-DR), end to end.
//!
//! Run with `cargo xtask vm-test --suite testbed`.

// Helpers of a test file: a failed unwrap is a failed test, with its place.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};

use testbed::{addr, Forwarding, Netns, TcpServer, Topology, TopologyBuilder, UdpServer};

/// The reference ipvsadm 1.31 (`LVS_REF_IPVSADM`, set by the guest's init).
fn ref_ipvsadm() -> String {
    testbed::guest::ref_ipvsadm().unwrap().to_str().unwrap().to_string()
}

fn ipvsadm(ns: &Netns, args: &[&str]) -> String {
    ns.run(&ref_ipvsadm(), args).unwrap()
}

/// One virtual service of `/proc/net/ip_vs`.
#[derive(Debug, PartialEq, Eq)]
struct ProcService {
    proto: String,
    addr: SocketAddr,
    scheduler: String,
    /// (address, forwarding method, weight)
    dests: Vec<(SocketAddr, String, u32)>,
}

/// `C000020A:0050` -> 192.0.2.10:80 (IPv4 entries of /proc/net/ip_vs).
fn hex_addr(text: &str) -> SocketAddr {
    let (ip, port) = text.split_once(':').unwrap();
    let ip = Ipv4Addr::from(u32::from_str_radix(ip, 16).unwrap());
    SocketAddr::from((ip, u16::from_str_radix(port, 16).unwrap()))
}

fn parse_proc_ip_vs(text: &str) -> Vec<ProcService> {
    let mut services: Vec<ProcService> = Vec::new();
    for line in text.lines().skip(3) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["->", dest, method, weight, ..] => services.last_mut().unwrap().dests.push((
                hex_addr(dest),
                method.to_string(),
                weight.parse().unwrap(),
            )),
            [proto, vaddr, scheduler, ..] => services.push(ProcService {
                proto: proto.to_string(),
                addr: hex_addr(vaddr),
                scheduler: scheduler.to_string(),
                dests: Vec::new(),
            }),
            _ => panic!("unexpected /proc/net/ip_vs line {line:?}"),
        }
    }
    services
}

/// A topology whose real servers each run a TCP (HTTP) server on port 80
/// and a UDP server on port 53, both answering with the server's name.
struct Farm {
    topo: Topology,
    servers: Vec<(TcpServer, UdpServer)>,
}

fn farm(forwarding: Forwarding) -> Farm {
    let topo = TopologyBuilder::new(forwarding).real_servers(2).build().unwrap();
    let servers = (0..2)
        .map(|j| {
            let ns = &topo.real_servers[j].ns;
            let name = format!("rs{j}");
            let any = Ipv4Addr::UNSPECIFIED;
            let tcp = TcpServer::http(ns, SocketAddr::from((any, 80)), &name).unwrap();
            // A UDP reply must come from the address the request went to:
            // with LVS-DR that is the VIP (on lo), not the server's own.
            let udp_addr = match forwarding {
                Forwarding::Nat => topo.real_server_addr(j),
                Forwarding::DirectRouting => addr::VIP,
            };
            let udp = UdpServer::start(ns, SocketAddr::from((udp_addr, 53)), name).unwrap();
            (tcp, udp)
        })
        .collect();
    Farm { topo, servers }
}

/// Creates a TCP service VIP:80 and a UDP service VIP:53, round robin, with
/// both real servers, through the reference ipvsadm on director 0.
fn program_director(farm: &Farm, method: &str) {
    let d0 = &farm.topo.directors[0].ns;
    let vip = addr::VIP;
    ipvsadm(d0, &["-A", "-t", &format!("{vip}:80"), "-s", "rr"]);
    ipvsadm(d0, &["-A", "-u", &format!("{vip}:53"), "-s", "rr"]);
    for j in 0..2 {
        let rs = farm.topo.real_server_addr(j);
        ipvsadm(d0, &["-a", "-t", &format!("{vip}:80"), "-r", &format!("{rs}:80"), method]);
        ipvsadm(d0, &["-a", "-u", &format!("{vip}:53"), "-r", &format!("{rs}:53"), method]);
    }
}

#[test]
fn guest_environment_follows_the_convention() {
    assert!(testbed::guest::in_vm());
    let bin_dir = std::env::var("LVS_BIN_DIR").unwrap();
    assert!(std::path::Path::new(&bin_dir).is_dir(), "{bin_dir}");
    assert!(std::env::var("PATH").unwrap().split(':').any(|p| p == bin_dir));
    // Every workspace binary is there (send_arp is the first one the
    // workspace had), and runs: its shared libraries came along.
    let send_arp = testbed::guest::workspace_bin("send_arp").unwrap();
    let out = std::process::Command::new(&send_arp).arg("--help").output().unwrap();
    assert!(!out.stdout.is_empty() || !out.stderr.is_empty(), "{out:?}");
    let version = std::process::Command::new(ref_ipvsadm()).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).contains("v1.31"), "{version:?}");
    // iproute2's ip (not busybox's) comes first on PATH: it knows netns.
    let ns = Netns::new("env").unwrap();
    assert!(ns.run("ip", &["netns", "identify"]).is_ok());
}

#[test]
fn reference_ipvsadm_services_read_back_from_proc_net_ip_vs() {
    let farm = farm(Forwarding::Nat);
    program_director(&farm, "-m");
    let d0 = &farm.topo.directors[0].ns;
    let services = parse_proc_ip_vs(&d0.read_proc_net("ip_vs").unwrap());
    let vip = addr::VIP;
    let dests = |port| {
        (0..2)
            .map(|j| (SocketAddr::from((farm.topo.real_server_addr(j), port)), "Masq".into(), 1))
            .collect::<Vec<_>>()
    };
    let mut expected = vec![
        ProcService {
            proto: "TCP".into(),
            addr: SocketAddr::from((vip, 80)),
            scheduler: "rr".into(),
            dests: dests(80),
        },
        ProcService {
            proto: "UDP".into(),
            addr: SocketAddr::from((vip, 53)),
            scheduler: "rr".into(),
            dests: dests(53),
        },
    ];
    let mut services = services;
    for s in services.iter_mut().chain(expected.iter_mut()) {
        s.dests.sort();
    }
    services.sort_by_key(|s| s.proto.clone());
    assert_eq!(services, expected);

    // The table is per namespace: the client's is empty.
    let client = parse_proc_ip_vs(&farm.topo.client.ns.read_proc_net("ip_vs").unwrap());
    assert_eq!(client, Vec::new());
    // And ipvsadm's own listing agrees.
    let listing = ipvsadm(d0, &["-Ln"]);
    assert!(listing.contains("TCP  192.0.2.10:80 rr"), "{listing}");
    assert!(listing.contains("-> 10.0.0.101:53"), "{listing}");
}

/// Sends `n` requests from the client to the VIP by TCP and UDP and
/// returns which servers answered each.
fn answers(farm: &Farm, n: usize) -> (BTreeSet<String>, BTreeSet<String>) {
    let client = &farm.topo.client.ns;
    let mut tcp = BTreeSet::new();
    let mut udp = BTreeSet::new();
    for _ in 0..n {
        tcp.insert(client.http_get(SocketAddr::from((addr::VIP, 80))).unwrap());
        let reply = client.udp_request(SocketAddr::from((addr::VIP, 53)), b"who").unwrap();
        udp.insert(String::from_utf8(reply).unwrap());
    }
    (tcp, udp)
}

#[test]
fn lvs_nat_forwards_client_to_every_real_server() {
    let farm = farm(Forwarding::Nat);
    // Before IPVS knows the service, nothing answers on the VIP.
    let vip80 = SocketAddr::from((addr::VIP, 80));
    assert!(farm.topo.client.ns.http_get(vip80).is_err());
    program_director(&farm, "-m");
    let (tcp, udp) = answers(&farm, 4);
    let both: BTreeSet<String> = ["rs0".into(), "rs1".into()].into();
    assert_eq!((tcp, udp), (both.clone(), both));
    for (tcp, udp) in &farm.servers {
        assert_eq!((tcp.served(), udp.served()), (2, 2), "round robin spreads evenly");
    }
    // The connections went through IPVS, masqueraded.
    let conns = farm.topo.directors[0].ns.read_proc_net("ip_vs_conn").unwrap();
    assert!(conns.lines().any(|l| l.starts_with("TCP")), "{conns}");
    assert!(conns.lines().any(|l| l.starts_with("UDP")), "{conns}");
}

#[test]
fn lvs_dr_forwards_client_to_every_real_server() {
    let farm = farm(Forwarding::DirectRouting);
    program_director(&farm, "-g");
    let (tcp, udp) = answers(&farm, 4);
    let both: BTreeSet<String> = ["rs0".into(), "rs1".into()].into();
    assert_eq!((tcp, udp), (both.clone(), both));
}
