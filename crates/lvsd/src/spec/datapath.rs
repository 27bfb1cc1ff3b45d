//! The private services of checks through the data path (`check: { via:
//! vip }`): one firewall-mark service per real server so checked, holding
//! only that server, with a mark of `lvs_config::DATAPATH_MARKS`. nanny
//! sends its probe to the VIP with that mark (`--via-mark`), and IPVS
//! forwards it to exactly that server as it forwards clients. Pure.

use std::time::Duration;

use ipvs::{Dest, Family, ForwardMethod, Service, ServiceKey};
use lvs_config::overrides::ServiceId;
use lvs_config::{CheckVia, Config, DATAPATH_MARKS};

use super::{Marks, PrivateDest, RealSpec, ServiceSpec, Spec, Watch};

/// The private service's view of a real server.
pub(super) fn private_dest(config: &Config, rs: &lvs_config::RealServer) -> PrivateDest {
    (rs.address, rs.port, rs.forwarding.unwrap_or(config.network).name())
}

/// Gives every real server checked through the data path a mark of
/// [`DATAPATH_MARKS`]: the one it had in `previous` if any, else the
/// lowest free one. Servers beyond the range get none (validation refuses
/// such a configuration).
pub(super) fn assign_marks(config: &Config, previous: &Marks) -> Marks {
    let mut wanted = Vec::new();
    for vs in config.virtual_services.iter().filter(|v| v.active && v.check.via == CheckVia::Vip) {
        for rs in vs.real_servers.iter().filter(|r| r.active) {
            let p = private_dest(config, rs);
            if !wanted.contains(&p) {
                wanted.push(p);
            }
        }
    }
    let mut marks = Marks::new();
    let mut taken = std::collections::BTreeSet::new();
    for p in &wanted {
        if let Some(&m) = previous.get(p) {
            if DATAPATH_MARKS.contains(&m) && taken.insert(m) {
                marks.insert(*p, m);
            }
        }
    }
    let mut free = DATAPATH_MARKS.filter(|m| !taken.contains(m));
    for p in wanted {
        if let std::collections::btree_map::Entry::Vacant(v) = marks.entry(p) {
            let Some(m) = free.next() else { break };
            v.insert(m);
        }
    }
    marks
}

/// Adds a private service to `spec` per mark of `marks`.
pub(super) fn private_services(spec: &mut Spec, marks: &Marks) {
    for (&(addr, port, method), &mark) in marks {
        let key = ServiceKey::fwmark(Family::of(&addr), mark);
        let fwd = match method {
            "tunnel" => ForwardMethod::Tunnel,
            "nat" => ForwardMethod::Masq,
            _ => ForwardMethod::Route,
        };
        let dest = Dest::new(addr, port).with_fwd(fwd).with_weight(1);
        // Always in: the probe must reach a server that is down, to see it
        // come back.
        let real = RealSpec { name: format!("{addr}:{port}"), dest, watch: Watch::Always };
        spec.services.insert(
            key,
            ServiceSpec {
                name: format!("data-path check of {addr}:{port}"),
                service: Service::new(key).with_scheduler("rr"),
                reals: vec![real],
                sorry: None,
                id: ServiceId::Fwmark { mark, v6: addr.is_ipv6() },
                min_up: None,
                drain_timeout: Duration::ZERO,
                datapath: true,
                hold_at_zero: false,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::{build, build_keeping, NannyOptions};
    use super::*;
    use crate::table::Ownership;
    use ipvs::{Command, FakeTable, IpvsTable};

    fn config(servers: &[&str], network: &str) -> Config {
        let mut text = [
            "routers:",
            "  primary: { address: 192.0.2.1 }",
            "heartbeat: { protocol: piranha }",
            &format!("network: {network}"),
            "virtual_services:",
            "  - name: web",
            "    vip: { address: 192.0.2.10, interface: eth0 }",
            "    check: { type: http, via: vip, interval: 1 }",
            "    real_servers:\n",
        ]
        .join("\n");
        if servers.is_empty() {
            text.push_str("      []\n");
        }
        for (i, s) in servers.iter().enumerate() {
            text.push_str(&format!("      - {{ name: r{i}, address: {s} }}\n"));
        }
        text.push_str("  - name: plain\n    vip: { address: 192.0.2.11, interface: eth0 }\n");
        text.push_str("    real_servers:\n      - { name: p, address: 10.0.0.1 }\n");
        let (c, d) = lvs_config::parse_str(&text, "t.yaml", lvs_config::Format::Yaml);
        c.unwrap_or_else(|| panic!("{d:?}\n{text}"))
    }

    const FIRST: u32 = 0x4c56_0000;

    #[test]
    fn one_private_service_per_server_and_a_marked_nanny() {
        let s = build(&config(&["10.0.0.1", "10.0.0.2"], "direct"), NannyOptions::default());
        let private: Vec<_> = s.services.iter().filter(|(_, x)| x.datapath).collect();
        assert_eq!(private.len(), 2);
        let (key, p) = private[0];
        assert_eq!(*key, ServiceKey::fwmark(Family::Inet, FIRST));
        assert_eq!(p.reals.len(), 1);
        assert_eq!(p.reals[0].dest.addr.to_string(), "10.0.0.1");
        assert_eq!(p.reals[0].dest.fwd, ForwardMethod::Route);
        assert_eq!(p.reals[0].watch, Watch::Always, "in even while its server is down");
        // The nanny of r0 probes the VIP with r0's mark; the plain
        // service's nanny of the same address is another one.
        let args: Vec<String> = s.nannies.keys().map(|k| k.args.join(" ")).collect();
        assert_eq!(args.len(), 3, "{args:?}");
        let via = format!("-V 192.0.2.10 --via-mark {FIRST} ");
        assert!(args.iter().any(|a| a.starts_with("-h 10.0.0.1 ") && a.contains(&via)), "{args:?}");
        assert!(args.iter().any(|a| a.contains(&format!("--via-mark {}", FIRST + 1))));
        assert!(s.host.accept_local);
        let plain = build(&config(&[], "direct"), NannyOptions::default());
        assert!(!plain.host.accept_local && plain.marks.is_empty());
    }

    #[test]
    fn a_reload_keeps_the_marks_of_the_servers_it_keeps() {
        let old = build(
            &config(&["10.0.0.1", "10.0.0.2", "10.0.0.3"], "direct"),
            NannyOptions::default(),
        );
        let new = build_keeping(
            &config(&["10.0.0.4", "10.0.0.3", "10.0.0.1"], "direct"),
            NannyOptions::default(),
            &old.marks,
        );
        let mark = |s: &Spec, ip: &str| s.marks[&(ip.parse().unwrap(), 80, "direct")];
        assert_eq!(mark(&new, "10.0.0.1"), FIRST);
        assert_eq!(mark(&new, "10.0.0.3"), FIRST + 2);
        assert_eq!(mark(&new, "10.0.0.4"), FIRST + 1, "the lowest free mark");
        // A tunnel server is another private service than a direct one.
        let t = build(&config(&["10.0.0.1"], "tunnel"), NannyOptions::default());
        let p = t.services.values().find(|x| x.datapath).unwrap();
        assert_eq!(p.reals[0].dest.fwd, ForwardMethod::Tunnel);
    }

    #[test]
    fn private_services_come_and_go_with_the_table_and_leftovers_are_removed() {
        let spec = build(&config(&["10.0.0.1"], "direct"), NannyOptions::default());
        let key = ServiceKey::fwmark(Family::Inet, FIRST);
        let leftover = ServiceKey::fwmark(Family::Inet, FIRST + 9);
        let foreign = ServiceKey::fwmark(Family::Inet, 5);
        let mut k = FakeTable::new();
        for f in [leftover, foreign] {
            k.apply(&[Command::AddService(Service::new(f))]).unwrap();
        }
        let mut e = crate::engine::Engine::new(k, spec, Ownership::Configured);
        e.sync().unwrap();
        let t = e.kernel.snapshot();
        let has = |k: &ServiceKey| t.iter().find(|(s, _)| s.key == *k);
        assert!(has(&key).is_some_and(|(_, d)| d.len() == 1), "in at once, without a report");
        assert!(has(&leftover).is_none(), "a private service of an earlier run is lvsd's");
        assert!(has(&foreign).is_some(), "another service is not");
        // Not an operator's service: absent from the report.
        let w = crate::report::Watch::new(
            "/nonexistent".into(),
            mio::Token(1),
            std::time::Instant::now(),
        );
        let r = w.build(&e, std::time::Instant::now());
        assert_eq!(r.services.len(), 2, "{:?}", r.services);
        assert!(r.services.iter().all(|s| !s.service.starts_with("fwmark:")));
        // A reload without `via: vip` removes it; SIGTERM removes the rest.
        e.reload(build_keeping(&config(&[], "direct"), NannyOptions::default(), &e.spec.marks));
        assert!(e.kernel.snapshot().iter().all(|(s, _)| s.key != key));
        e.teardown();
        let left: Vec<ServiceKey> = e.kernel.snapshot().iter().map(|(s, _)| s.key).collect();
        assert_eq!(left, [foreign]);
    }
}
