//! Property tests: any model value survives model -> message -> bytes ->
//! message -> model, and any decoded message re-encodes to its bytes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::super::*;
use crate::model::*;

fn addr_of(family: Family) -> BoxedStrategy<IpAddr> {
    match family {
        Family::Inet => any::<[u8; 4]>().prop_map(|b| IpAddr::V4(Ipv4Addr::from(b))).boxed(),
        Family::Inet6 => any::<[u8; 16]>().prop_map(|b| IpAddr::V6(Ipv6Addr::from(b))).boxed(),
    }
}

fn family() -> impl Strategy<Value = Family> {
    prop_oneof![Just(Family::Inet), Just(Family::Inet6)]
}

fn key() -> impl Strategy<Value = ServiceKey> {
    prop_oneof![
        (family(), 1u32..).prop_map(|(family, mark)| ServiceKey::Fwmark { family, mark }),
        (family(), any::<u16>(), any::<u16>()).prop_flat_map(|(f, p, port)| {
            addr_of(f).prop_map(move |addr| ServiceKey::Addr {
                protocol: Protocol::from_raw(p),
                addr,
                port,
            })
        }),
    ]
}

fn raw_attr() -> impl Strategy<Value = RawAttr> {
    // Kinds the service/dest/daemon nests do not use.
    (16u16..0x4000, proptest::collection::vec(any::<u8>(), 0..12))
        .prop_map(|(kind, payload)| RawAttr { kind, payload })
}

fn service() -> impl Strategy<Value = Service> {
    (
        key(),
        "[a-z]{1,15}",
        any::<u32>(),
        any::<u32>(),
        any::<[u8; 4]>(),
        proptest::option::of("[a-z]{1,15}"),
        proptest::collection::vec(raw_attr(), 0..2),
    )
        .prop_map(|(key, sched, flags, timeout, nm, pe, other)| {
            let mut s = Service::new(key).with_scheduler(&sched);
            s.flags = ServiceFlags(flags);
            s.timeout = timeout;
            s.netmask = Netmask::from_wire(key.family(), nm);
            s.pe_name = pe;
            s.other_attrs = other;
            s
        })
}

fn dest(f: Family) -> impl Strategy<Value = Dest> {
    (
        addr_of(f),
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u8>(),
        any::<u16>(),
        any::<u16>(),
        proptest::collection::vec(raw_attr(), 0..2),
    )
        .prop_map(|(addr, port, fwd, w, u, l, tt, tp, tf, other)| {
            let mut d = Dest::new(addr, port).with_fwd(ForwardMethod::from_raw(fwd)).with_weight(w);
            d.upper_threshold = u;
            d.lower_threshold = l;
            d.tunnel =
                Tunnel { kind: TunnelType::from_raw(tt), port: tp, csum: TunnelCsum::from_raw(tf) };
            d.other_attrs = other;
            d
        })
}

fn first_nest(msg: &GenlMessage) -> (Option<&Nest<SvcAttr>>, Option<&Nest<DestAttr>>) {
    let Attrs::Cmd(attrs) = &msg.attrs else { return (None, None) };
    let s = attrs.iter().find_map(|a| if let CmdAttr::Service(n) = a { Some(n) } else { None });
    let d = attrs.iter().find_map(|a| if let CmdAttr::Dest(n) = a { Some(n) } else { None });
    (s, d)
}

proptest! {
    #[test]
    fn services_round_trip(s in service()) {
        let msg = command_message(&Command::AddService(s.clone()));
        let bytes = msg.encode();
        let back = GenlMessage::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &msg);
        prop_assert_eq!(back.encode(), bytes);
        let (nest, _) = first_nest(&back);
        prop_assert_eq!(service_from_attrs(&nest.unwrap().attrs).unwrap(), s);
    }

    #[test]
    fn dests_round_trip(d in family().prop_flat_map(dest)) {
        let key = ServiceKey::fwmark(Family::Inet, 1);
        let msg = command_message(&Command::EditDest(key, d.clone()));
        let bytes = msg.encode();
        let back = GenlMessage::decode(&bytes).unwrap();
        prop_assert_eq!(back.encode(), bytes);
        let (_, nest) = first_nest(&back);
        // The dest's own ADDR_FAMILY wins over the service's family.
        prop_assert_eq!(dest_from_attrs(&nest.unwrap().attrs, Family::Inet).unwrap(), d);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_reencode(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(msg) = GenlMessage::decode(&bytes) {
            let _ = service_from_message(&msg);
            let _ = dest_from_message(&msg, Family::Inet);
            let _ = daemon_from_message(&msg);
            let again = msg.encode();
            // Exact unless the input had non-zero or missing padding.
            prop_assert!(again.len() >= bytes.len().min(4));
        }
        let _ = nl::parse_replies(&bytes);
    }
}
