//! Golden outputs of `--json`, captured from the hand-written encoder it
//! replaced, and a property test holding serde_json's string escaping to
//! that encoder's on any string.

use std::fmt::Write as _;

use proptest::prelude::*;

use super::*;
use crate::v4;

#[test]
fn escapes_and_shape() {
    assert_eq!(string("a\"b\\\n\u{1}"), "\"a\\\"b\\\\\\n\\u0001\"");
    let s = Service::new(ServiceKey::tcp(v4(10, 0, 0, 1), 80));
    let d = Dest::new(v4(192, 168, 0, 1), 80);
    let j = services(&[(s, vec![d])]);
    assert_eq!(
        j,
        "{\"services\":[{\"protocol\":\"tcp\",\"address\":\"10.0.0.1\",\"port\":80,\"fwmark\":null,\"family\":\"inet\",\"scheduler\":\"wlc\",\"flags\":[],\"persistence\":null,\"pe\":null,\"stats\":{\"conns\":0,\"inpkts\":0,\"outpkts\":0,\"inbytes\":0,\"outbytes\":0,\"cps\":0,\"inpps\":0,\"outpps\":0,\"inbps\":0,\"outbps\":0},\"destinations\":[{\"address\":\"192.168.0.1\",\"port\":80,\"forward\":\"route\",\"weight\":1,\"upper_threshold\":0,\"lower_threshold\":0,\"active_conns\":0,\"inactive_conns\":0,\"persistent_conns\":0,\"tunnel\":null,\"stats\":{\"conns\":0,\"inpkts\":0,\"outpkts\":0,\"inbytes\":0,\"outbytes\":0,\"cps\":0,\"inpps\":0,\"outpps\":0,\"inbps\":0,\"outbps\":0}}]}]}\n"
    );
}

/// Every listing, with every kind of value (unknown numbers, odd strings,
/// absent fields), as the hand-written encoder wrote it (`{:?}` of the
/// output, so control characters show).
#[test]
fn every_listing_as_before() {
    let mut s = Service::new(ServiceKey::fwmark(ipvs::Family::Inet6, 3_000_000_000))
        .with_scheduler("sh\u{8}\u{c}\"é\u{2028}");
    s.flags = ipvs::ServiceFlags(0x1 | 0x4 | 0x8 | 0x10 | 0x20 | 0x2);
    s.timeout = 360;
    s.netmask = Netmask::V6Prefix(64);
    s.pe_name = Some("sip".into());
    let mut d = Dest::new("2001:db8::2".parse().unwrap(), 0).with_fwd(ForwardMethod::Tunnel);
    d.tunnel.kind = TunnelType::Gue;
    d.tunnel.port = 6080;
    d.tunnel.csum = TunnelCsum::RemCsum;
    d.stats = Some(ipvs::Stats {
        conns: 1,
        inpkts: 2,
        outpkts: 3,
        inbytes: u64::MAX,
        outbytes: 5,
        cps: 6,
        inpps: 7,
        outpps: 8,
        inbps: 9,
        outbps: 10,
    });
    let mut d2 = Dest::new(v4(1, 2, 3, 4), 80).with_fwd(ForwardMethod::Other(7));
    d2.tunnel.kind = TunnelType::Other(9);
    let mut d3 = Dest::new(v4(1, 2, 3, 5), 80).with_fwd(ForwardMethod::Tunnel);
    d3.tunnel.kind = TunnelType::Other(9);
    d3.tunnel.csum = TunnelCsum::Other(77);
    let mut s2 = Service::new(ServiceKey::Addr {
        protocol: Protocol::Other(99),
        addr: v4(10, 0, 0, 1),
        port: 0,
    });
    s2.flags = ipvs::ServiceFlags(0x1);
    s2.netmask = Netmask::V4("255.255.0.0".parse().unwrap());
    let mut s3 = Service::new(ServiceKey::udp("2001:db8::1".parse().unwrap(), 53));
    s3.stats64 = Some(Stats64 { conns: u64::MAX, ..Stats64::default() });
    let s4 =
        Service::new(ServiceKey::Addr { protocol: Protocol::Sctp, addr: v4(10, 0, 0, 2), port: 1 });
    let table = [(s, vec![d, d2, d3]), (s2, vec![]), (s3, vec![]), (s4, vec![])];
    let golden = |got: String, want: &str| assert_eq!(format!("{got:?}"), want);
    golden(
        services(&table),
        r#""{\"services\":[{\"protocol\":null,\"address\":null,\"port\":null,\"fwmark\":3000000000,\"family\":\"inet6\",\"scheduler\":\"sh\\u0008\\u000c\\\"é\u{2028}\",\"flags\":[\"persistent\",\"ops\",\"sched1\",\"sched2\",\"sched3\"],\"persistence\":{\"timeout\":360,\"netmask\":64},\"pe\":\"sip\",\"stats\":{\"conns\":0,\"inpkts\":0,\"outpkts\":0,\"inbytes\":0,\"outbytes\":0,\"cps\":0,\"inpps\":0,\"outpps\":0,\"inbps\":0,\"outbps\":0},\"destinations\":[{\"address\":\"2001:db8::2\",\"port\":0,\"forward\":\"tunnel\",\"weight\":1,\"upper_threshold\":0,\"lower_threshold\":0,\"active_conns\":0,\"inactive_conns\":0,\"persistent_conns\":0,\"tunnel\":{\"type\":\"gue\",\"port\":6080,\"csum\":\"remcsum\"},\"stats\":{\"conns\":1,\"inpkts\":2,\"outpkts\":3,\"inbytes\":18446744073709551615,\"outbytes\":5,\"cps\":6,\"inpps\":7,\"outpps\":8,\"inbps\":9,\"outbps\":10}},{\"address\":\"1.2.3.4\",\"port\":80,\"forward\":7,\"weight\":1,\"upper_threshold\":0,\"lower_threshold\":0,\"active_conns\":0,\"inactive_conns\":0,\"persistent_conns\":0,\"tunnel\":null,\"stats\":{\"conns\":0,\"inpkts\":0,\"outpkts\":0,\"inbytes\":0,\"outbytes\":0,\"cps\":0,\"inpps\":0,\"outpps\":0,\"inbps\":0,\"outbps\":0}},{\"address\":\"1.2.3.5\",\"port\":80,\"forward\":\"tunnel\",\"weight\":1,\"upper_threshold\":0,\"lower_threshold\":0,\"active_conns\":0,\"inactive_conns\":0,\"persistent_conns\":0,\"tunnel\":{\"type\":9,\"port\":0,\"csum\":77},\"stats\":{\"conns\":0,\"inpkts\":0,\"outpkts\":0,\"inbytes\":0,\"outbytes\":0,\"cps\":0,\"inpps\":0,\"outpps\":0,\"inbps\":0,\"outbps\":0}}]},{\"protocol\":99,\"address\":\"10.0.0.1\",\"port\":0,\"fwmark\":null,\"family\":\"inet\",\"scheduler\":\"wlc\",\"flags\":[\"persistent\"],\"persistence\":{\"timeout\":0,\"netmask\":\"255.255.0.0\"},\"pe\":null,\"stats\":{\"conns\":0,\"inpkts\":0,\"outpkts\":0,\"inbytes\":0,\"outbytes\":0,\"cps\":0,\"inpps\":0,\"outpps\":0,\"inbps\":0,\"outbps\":0},\"destinations\":[]},{\"protocol\":\"udp\",\"address\":\"2001:db8::1\",\"port\":53,\"fwmark\":null,\"family\":\"inet6\",\"scheduler\":\"wlc\",\"flags\":[],\"persistence\":null,\"pe\":null,\"stats\":{\"conns\":18446744073709551615,\"inpkts\":0,\"outpkts\":0,\"inbytes\":0,\"outbytes\":0,\"cps\":0,\"inpps\":0,\"outpps\":0,\"inbps\":0,\"outbps\":0},\"destinations\":[]},{\"protocol\":\"sctp\",\"address\":\"10.0.0.2\",\"port\":1,\"fwmark\":null,\"family\":\"inet\",\"scheduler\":\"wlc\",\"flags\":[],\"persistence\":null,\"pe\":null,\"stats\":{\"conns\":0,\"inpkts\":0,\"outpkts\":0,\"inbytes\":0,\"outbytes\":0,\"cps\":0,\"inpps\":0,\"outpps\":0,\"inbps\":0,\"outbps\":0},\"destinations\":[]}]}\n""#,
    );
    golden(services(&[]), r#""{\"services\":[]}\n""#);
    golden(
        timeouts(&Timeouts { tcp: 1, tcp_fin: 2, udp: u32::MAX }),
        r#""{\"timeouts\":{\"tcp\":1,\"tcpfin\":2,\"udp\":4294967295}}\n""#,
    );
    let mut dm = DaemonConfig::new(ipvs::DaemonState::Master, "eth\u{1}\u{7f}x", 7);
    dm.maxlen = Some(1500);
    dm.group = Some("ff02::1".parse().unwrap());
    dm.port = Some(8848);
    dm.ttl = Some(3);
    let db = DaemonConfig::new(ipvs::DaemonState::Backup, "eth0", 0);
    let mut dothers = DaemonConfig::new(ipvs::DaemonState::Other(12), "", 0);
    dothers.group = Some(v4(224, 0, 0, 81));
    golden(
        daemons(&[dm, db, dothers]),
        r#""{\"daemons\":[{\"state\":\"master\",\"mcast_interface\":\"eth\\u0001\u{7f}x\",\"syncid\":7,\"maxlen\":1500,\"group\":\"ff02::1\",\"port\":8848,\"ttl\":3},{\"state\":\"backup\",\"mcast_interface\":\"eth0\",\"syncid\":0,\"maxlen\":null,\"group\":null,\"port\":null,\"ttl\":null},{\"state\":12,\"mcast_interface\":\"\",\"syncid\":0,\"maxlen\":null,\"group\":\"224.0.0.81\",\"port\":null,\"ttl\":null}]}\n""#,
    );
    golden(daemons(&[]), r#""{\"daemons\":[]}\n""#);
    let c = Conn {
        protocol: "TCP".into(),
        client_addr: v4(1, 1, 1, 1),
        client_port: 1,
        virtual_addr: "::1".parse().unwrap(),
        virtual_port: 2,
        dest_addr: v4(3, 3, 3, 3),
        dest_port: 3,
        state: "ESTABLISHED".into(),
        expires: 899,
        pe: Some(("sip".into(), "call\\id\t\r\n\u{0}".into())),
    };
    let c2 = Conn { pe: None, ..c.clone() };
    golden(
        conns(&[c, c2]),
        r#""{\"connections\":[{\"protocol\":\"TCP\",\"client\":\"1.1.1.1\",\"client_port\":1,\"virtual\":\"::1\",\"virtual_port\":2,\"destination\":\"3.3.3.3\",\"destination_port\":3,\"state\":\"ESTABLISHED\",\"expires\":899,\"pe\":{\"name\":\"sip\",\"data\":\"call\\\\id\\t\\r\\n\\u0000\"}},{\"protocol\":\"TCP\",\"client\":\"1.1.1.1\",\"client_port\":1,\"virtual\":\"::1\",\"virtual_port\":2,\"destination\":\"3.3.3.3\",\"destination_port\":3,\"state\":\"ESTABLISHED\",\"expires\":899,\"pe\":null}]}\n""#,
    );
    golden(conns(&[]), r#""{\"connections\":[]}\n""#);
}

/// The escaper `--json` had before serde_json.
fn hand_escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

proptest! {
    #[test]
    fn strings_are_escaped_as_before(s in "(?s).{0,40}", ctl in proptest::collection::vec(0u8..0x20, 0..8)) {
        let odd: String = s.chars().chain(ctl.iter().map(|&b| char::from(b))).collect();
        for text in [s, odd] {
            prop_assert_eq!(string(&text), hand_escaped(&text));
        }
    }
}
