//! Golden tests of the formatters. Each expected text was written from
//! ipvsadm 1.31's `printf` formats (see the spec, §2); `⏎` marks the end of
//! a line so that the trailing blanks ipvsadm prints stay visible.

use std::net::IpAddr;

use crate::v4;
use ipvs::conn::parse_conns;
use ipvs::{
    DaemonConfig, DaemonState, Dest, ForwardMethod, Info, Netmask, Service, ServiceFlags,
    ServiceKey, Stats64, Timeouts, Tunnel, TunnelCsum, TunnelType,
};

use super::*;
use crate::cli::Format;
use crate::resolve::Resolver;

struct Names;

impl Resolver for Names {
    fn inet_aton(&self, _: &str) -> Option<[u8; 4]> {
        None
    }
    fn inet_pton6(&self, _: &str) -> Option<[u8; 16]> {
        None
    }
    fn host_v4(&self, _: &str) -> Option<[u8; 4]> {
        None
    }
    fn service_port(&self, _: &str, _: &str) -> Option<u16> {
        None
    }
    fn host_name(&self, a: &IpAddr) -> Option<String> {
        match a.to_string().as_str() {
            "207.175.44.110" => Some("www.example.com".into()),
            "192.168.10.1" => Some("a-rather-long-real-server-name.example.com".into()),
            _ => None,
        }
    }
    fn service_name(&self, port: u16, proto: &str) -> Option<String> {
        match (port, proto) {
            (80, "tcp") => Some("http".into()),
            (53, "udp") => Some("domain".into()),
            _ => None,
        }
    }
}

fn g(s: &str) -> String {
    s.replace('⏎', "")
}

fn numeric() -> Format {
    Format { numeric: true, ..Format::default() }
}

fn table() -> Vec<(Service, Vec<Dest>)> {
    let mut web = Service::new(ServiceKey::tcp(v4(207, 175, 44, 110), 80))
        .with_persistence(300, Netmask::V4("255.255.255.0".parse().unwrap()));
    web.scheduler = "wlc".into();
    web.stats64 =
        Some(Stats64 { conns: 12, inpkts: 345, inbytes: 123_456_789_012, ..Stats64::default() });
    let mut d1 = Dest::new(v4(192, 168, 10, 1), 80).with_fwd(ForwardMethod::Masq);
    d1.active_conns = 3;
    d1.inactive_conns = 17;
    d1.stats64 =
        Some(Stats64 { conns: (1 << 32) + 12, inpkts: 345, inbytes: 23456, ..Stats64::default() });
    let mut d2 = Dest::new(v4(192, 168, 10, 2), 8080).with_fwd(ForwardMethod::Masq).with_weight(3);
    d2.upper_threshold = 100;
    d2.lower_threshold = 50;
    d2.persistent_conns = 4;
    let mut dns = Service::new(ServiceKey::udp(v4(10, 0, 0, 1), 53)).with_scheduler("sh");
    dns.flags = ServiceFlags(0x4 | 0x8 | 0x10);
    let mut fw =
        Service::new(ServiceKey::fwmark(ipvs::Family::Inet6, 4_000_000_000)).with_scheduler("rr");
    fw.flags = ServiceFlags(0x1 | 0x20);
    fw.timeout = 360;
    fw.netmask = Netmask::V6Prefix(64);
    fw.pe_name = Some("sip".into());
    let mut t = Dest::new("2001:db8::5".parse().unwrap(), 0).with_fwd(ForwardMethod::Tunnel);
    t.tunnel = Tunnel { kind: TunnelType::Gue, port: 6080, csum: TunnelCsum::RemCsum };
    let mut t2 = Dest::new(v4(10, 1, 0, 1), 0).with_fwd(ForwardMethod::Tunnel);
    t2.tunnel = Tunnel { kind: TunnelType::Gre, port: 0, csum: TunnelCsum::Csum };
    let v6 =
        Service::new(ServiceKey::tcp("2001:db8::1".parse().unwrap(), 443)).with_scheduler("mh");
    vec![
        (web, vec![d2, d1]),
        (dns, vec![Dest::new(v4(10, 0, 1, 1), 53)]),
        (fw, vec![t, t2]),
        (v6, vec![Dest::new("2001:db8::10".parse().unwrap(), 443).with_fwd(ForwardMethod::Local)]),
    ]
}

fn render(f: &Format, r: &dyn Resolver) -> String {
    let mut services: Vec<Service> = table().into_iter().map(|(s, _)| s).collect();
    sort::sort_services(&mut services);
    let all = table();
    let mut out = String::new();
    if !f.rule {
        out.push_str(&version_header(&Info { version: 0x010201, conn_tab_size: 4096 }));
    }
    out.push_str(&title(f));
    for s in &services {
        let d = &all.iter().find(|(x, _)| x.key == s.key).unwrap().1;
        service_entry(&mut out, s, d, f, r);
    }
    out
}

#[test]
fn list_numeric() {
    // The fwmark 4e9 service comes first: libipvs computes `0 - 4e9` into
    // an int, which is positive.
    let want = g("\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
FWM  -294967296 IPv6 rr (flag-3) persistent 360 mask 64 pe sip
  -> 10.1.0.1:0                   Tunnel  1      0          0         ⏎
  -> [2001:db8::5]:0              Tunnel  1      0          0         ⏎
TCP  207.175.44.110:80 wlc persistent 300 mask 255.255.255.0
  -> 192.168.10.1:80              Masq    1      3          17        ⏎
  -> 192.168.10.2:8080            Masq    3      0          0         ⏎
UDP  10.0.0.1:53 sh (sh-fallback,sh-port) ops
  -> 10.0.1.1:53                  Route   1      0          0         ⏎
TCP  [2001:db8::1]:443 mh
  -> [2001:db8::10]:443           Local   1      0          0         ⏎
");
    assert_eq!(render(&numeric(), &Names), want);
}

#[test]
fn list_with_names_truncates() {
    let out = render(&Format::default(), &Names);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[6], "TCP  www.example.com:http wlc persistent 300 mask 255.255.255.0");
    // Destination names are cut to 28 bytes, then padded.
    assert_eq!(lines[7], "  -> a-rather-long-real-server-na Masq    1      3          17        ");
    assert_eq!(lines[9], "UDP  10.0.0.1:domain sh (sh-fallback,sh-port) ops");
}

#[test]
fn stats_rate_exact() {
    let f = Format { stats: true, ..numeric() };
    let out = render(&f, &Names);
    let want_head = "\
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  207.175.44.110:80                  12      345        0     123G        0
  -> 192.168.10.1:80                    12      345        0    23456        0
  -> 192.168.10.2:8080                   0        0        0        0        0
";
    let got: Vec<&str> = out.lines().skip(1).take(2).chain(out.lines().skip(6).take(3)).collect();
    assert_eq!(got.join("\n"), want_head.trim_end());
    let f = Format { stats: true, exact: true, ..numeric() };
    let out = render(&f, &Names);
    assert_eq!(
        out.lines().nth(6).unwrap(),
        "TCP  207.175.44.110:80                  12      345        0 123456789012        0"
    );
    let f = Format { rate: true, ..numeric() };
    let out = render(&f, &Names);
    assert_eq!(
        out.lines().nth(1).unwrap(),
        "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS"
    );
    assert_eq!(
        out.lines().nth(7).unwrap(),
        "  -> 192.168.10.1:80                     0        0        0        0        0"
    );
}

#[test]
fn largenum_suffixes() {
    let cases: &[(u64, &str, &str)] = &[
        (0, "        0", "        0"),
        (99_999_999, " 99999999", " 99999999"),
        (100_000_000, "  100000K", " 100000000"),
        (999_999_999, "  999999K", " 999999999"),
        (1_000_000_000, "    1000M", " 1000000000"),
        (99_999_999_999, "   99999M", " 99999999999"),
        (100_000_000_000, "     100G", " 100000000000"),
        (100_000_000_000_000, "     100T", " 100000000000000"),
        (u64::MAX, "18446744T", " 18446744073709551615"),
    ];
    for (n, short, exact) in cases {
        let mut s = String::new();
        largenum(&mut s, *n, false);
        assert_eq!(&s, short, "{n}");
        let mut s = String::new();
        largenum(&mut s, *n, true);
        assert_eq!(&s, exact, "{n} exact");
    }
}

#[test]
fn thresholds_persistent_tun_info() {
    let out = render(&Format { thresholds: true, ..numeric() }, &Names);
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(
        l[1],
        "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn "
    );
    assert_eq!(l[2], "  -> RemoteAddress:Port");
    assert_eq!(l[6], "TCP  207.175.44.110:80 wlc persistent 300 mask 255.255.255.0");
    assert_eq!(
        l[8],
        "  -> 192.168.10.2:8080            100        50         0          0         "
    );
    let out = render(&Format { persistent_conn: true, ..numeric() }, &Names);
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(
        l[1],
        "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn "
    );
    assert_eq!(
        l[8],
        "  -> 192.168.10.2:8080            3         4           0          0         "
    );
    let out = render(&Format { tun_info: true, ..numeric() }, &Names);
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(
        l[2],
        "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn"
    );
    assert_eq!(
        l[7],
        "  -> 192.168.10.1:80              Masq    n/a           1      3          17        "
    );
    assert_eq!(
        l[4],
        "  -> 10.1.0.1:0                   Tunnel  gre:+c        1      0          0         "
    );
    assert_eq!(
        l[5],
        "  -> [2001:db8::5]:0              Tunnel  gue:6080:r+c  1      0          0         "
    );
}

#[test]
fn save_rules() {
    let want = "\
-A -f -294967296 -6 -s rr -p 360 -M 64 --pe sip -b flag-3
-a -f -294967296 -6 -r 10.1.0.1:0 -i -w 1 --tun-type gre --tun-csum
-a -f -294967296 -6 -r [2001:db8::5]:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum
-A -t 207.175.44.110:80 -s wlc -p 300 -M 255.255.255.0
-a -t 207.175.44.110:80 -r 192.168.10.1:80 -m -w 1
-a -t 207.175.44.110:80 -r 192.168.10.2:8080 -m -w 3
-A -u 10.0.0.1:53 -s sh -o -b sh-fallback,sh-port
-a -u 10.0.0.1:53 -r 10.0.1.1:53 -g -w 1
-A -t [2001:db8::1]:443 -s mh
-a -t [2001:db8::1]:443 -r [2001:db8::10]:443 -g -w 1
";
    assert_eq!(render(&Format { rule: true, numeric: true, ..Format::default() }, &Names), want);
    let named = render(&Format { rule: true, ..Format::default() }, &Names);
    assert!(named.contains("\n-A -t www.example.com:http -s wlc -p 300 -M 255.255.255.0\n-a -t www.example.com:http -r a-rather-long-real-server-name.example.com:http -m -w 1\n"));
}

#[test]
fn nosort_keeps_kernel_order() {
    let (s, d) = table().remove(0);
    let mut out = String::new();
    service_entry(&mut out, &s, &d, &Format { nosort: true, ..numeric() }, &Names);
    assert!(
        out.contains("8080            Masq    3      0          0         \n  -> 192.168.10.1:80")
    );
}

#[test]
fn timeouts_and_daemons() {
    assert_eq!(
        timeouts(&Timeouts { tcp: 900, tcp_fin: 120, udp: 300 }),
        "Timeout (tcp tcpfin udp): 900 120 300\n"
    );
    let mut m = DaemonConfig::new(DaemonState::Master, "eth0", 0);
    m.maxlen = Some(1472);
    m.group = Some(v4(224, 0, 0, 81));
    m.port = Some(8848);
    m.ttl = Some(1);
    let mut b = DaemonConfig::new(DaemonState::Backup, "eth1", 9);
    b.group = Some("ff02::1:2".parse().unwrap());
    assert_eq!(
        daemons(&[m, b]),
        "master sync daemon (mcast=eth0, syncid=0, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\nbackup sync daemon (mcast=eth1, syncid=9, group=ff02::1:2)\n"
    );
    assert_eq!(daemons(&[]), "");
}

#[test]
fn connections() {
    let text = "\
Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP 0A000005 C822 CFAF2C6E 0050 C0A80A01 0050 ESTABLISHED     899
UDP 2001:0db8:0000:0000:0000:0000:0000:0005 1F90 2001:0db8:0000:0000:0000:0000:0000:0001 0035 2001:0db8:0000:0000:0000:0000:0001:0001 0035 UDP             299
UDP 0A000006 13C4 CFAF2C6E 13C4 C0A80A02 13C4 NONE           6001 sip 1234@example.org
";
    let conns = parse_conns(text).unwrap();
    let f = numeric();
    let mut out = conn_header(&f);
    for c in &conns {
        conn_row(&mut out, c, &f, &Names);
    }
    let want = g("\
IPVS connection entries
pro expire state       source             virtual            destination
TCP 14:59  ESTABLISHED 10.0.0.5:51234     207.175.44.110:80  192.168.10.1:80
UDP 04:59  UDP         [2001:db8::5]:8080 [2001:db8::1]:53   [2001:db8::1:1]:53
UDP 100:01 NONE        10.0.0.6:5060      207.175.44.110:5060 192.168.10.2:5060
");
    assert_eq!(out, want);
    let f = Format { persistent_conn: true, ..numeric() };
    let mut out = conn_header(&f);
    conn_row(&mut out, &conns[2], &f, &Names);
    let want = g("\
IPVS connection entries
pro expire state       source             virtual            destination        pe name          pe_data
UDP 100:01 NONE        10.0.0.6:5060      207.175.44.110:5060 192.168.10.2:5060 sip                1234@example.org
");
    assert_eq!(out, want);
    let mut out = String::new();
    conn_row(&mut out, &conns[0], &Format::default(), &Names);
    assert_eq!(out, "TCP 14:59  ESTABLISHED 10.0.0.5:51234     www.example.com:http a-rather-long-real-server-name.example.com:http\n");
}
