//! The `ping` health check in YAML: its keys, defaults, errors with their
//! positions, and a round trip through the writer. (piranha's lvs.cf has no
//! way to ask for one: its only ICMP echo was sent before TCP checks and
//! its answer ignored.)

#![allow(clippy::unwrap_used)]

use lvs_config::*;

fn yaml(check: &str) -> String {
    format!(
        "routers:\n  primary: {{ address: 10.0.0.1 }}\nvirtual_services:\n  - name: web\n    \
         vip: {{ address: 10.0.0.9, interface: eth0 }}\n    check: {check}\n    \
         real_servers:\n      - {{ name: a, address: 10.0.1.1 }}\n"
    )
}

fn errors(text: &str) -> Vec<String> {
    let (c, d) = parse_str(text, "t.yaml", Format::Yaml);
    let errs: Vec<String> = d
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
        .collect();
    assert_eq!(c.is_some(), errs.is_empty(), "{errs:?}");
    errs
}

#[test]
fn ping_check() {
    let (c, d) = parse_str(&yaml("{ type: ping, timeout: 1 }"), "t.yaml", Format::Yaml);
    let c = c.unwrap_or_else(|| panic!("{d:?}"));
    let h = &c.virtual_services[0].check;
    assert_eq!(h.kind, CheckKind::Ping { count: DEFAULT_PING_COUNT });
    assert_eq!(h.kind.type_name(), "ping");
    assert_eq!(h.effective_timeout(), Millis(1000));

    let (c, _) = parse_str(&yaml("{ type: ping, count: 1 }"), "t.yaml", Format::Yaml);
    let c = c.unwrap();
    assert_eq!(c.virtual_services[0].check.kind, CheckKind::Ping { count: 1 });
    let again = to_yaml(&c);
    let (back, d) = parse_str(&again, "again.yaml", Format::Yaml);
    assert_eq!(back.as_ref(), Some(&c), "{d:?}\n{again}");

    assert_eq!(errors(&yaml("{ type: ping, count: 0 }")), ["6:33: ping count must be 1-100"]);
    assert_eq!(
        errors(&yaml("{ type: ping, count: 101 }")),
        ["6:33: `count`: 101 is out of range (0-100)"]
    );
    assert_eq!(
        errors(&yaml("{ type: ping, send: x }")),
        ["6:26: unknown key `send` in a `ping` check"]
    );
}

#[test]
fn dns_check() {
    let (c, d) = parse_str(
        &yaml("{ type: dns, query: www.example.com, record: AAAA, timeout: 1 }"),
        "t.yaml",
        Format::Yaml,
    );
    let c = c.unwrap_or_else(|| panic!("{d:?}"));
    let kind = &c.virtual_services[0].check.kind;
    assert_eq!(
        kind,
        &CheckKind::Dns { query: "www.example.com".into(), record: Some("AAAA".into()) }
    );
    assert_eq!(kind.type_name(), "dns");
    let again = to_yaml(&c);
    let (back, d) = parse_str(&again, "again.yaml", Format::Yaml);
    assert_eq!(back.as_ref(), Some(&c), "{d:?}\n{again}");
    let (c, _) = parse_str(&yaml("{ type: dns, query: . }"), "t.yaml", Format::Yaml);
    assert_eq!(
        c.unwrap().virtual_services[0].check.kind,
        CheckKind::Dns { query: ".".into(), record: None }
    );

    assert_eq!(errors(&yaml("{ type: dns }")), ["6:12: a dns check: missing key `query`"]);
    assert_eq!(
        errors(&yaml("{ type: dns, query: a..b }")),
        ["6:32: dns query `a..b`: empty label"]
    );
    assert_eq!(
        errors(&yaml("{ type: dns, query: x, record: AXFR }")),
        ["6:43: `record`: expected one of A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV, found `AXFR`"]
    );
}
