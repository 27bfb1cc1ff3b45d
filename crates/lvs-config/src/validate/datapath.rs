//! Rules of the checks through the data path (`check: { via: vip }`) and
//! of the firewall marks lvsd keeps for them ([`DATAPATH_MARKS`]).

use std::collections::HashSet;

use super::Path;
use crate::diag::Sink;
use crate::model::*;

/// Real servers that may have a private service: as many as there are
/// marks in [`DATAPATH_MARKS`].
const MAX_PRIVATE: usize = 0x1_0000;

/// The rules of one virtual service at `p`.
pub(super) fn virtual_service(c: &Config, v: &VirtualService, p: Path, sink: &mut Sink) {
    if let Some(m) = v.fwmark {
        if DATAPATH_MARKS.contains(&m) {
            sink.error(
                p.field("fwmark").at(sink),
                format!(
                    "fwmark {m} ({m:#x}) is in {:#x}-{:#x}, which lvsd keeps for the private services of checks through the data path (`via: vip`)",
                    DATAPATH_MARKS.start(),
                    DATAPATH_MARKS.end()
                ),
            );
        }
    }
    if v.check.via != CheckVia::Vip {
        return;
    }
    let at = p.field("check.via");
    if !matches!(
        v.check.kind,
        CheckKind::Connect { .. } | CheckKind::Http { .. } | CheckKind::Dns { .. }
    ) {
        sink.error(
            at.at(sink),
            format!(
                "`via: vip` needs a `connect`, `http` or `dns` check: a `{}` check cannot be sent through IPVS",
                v.check.kind.type_name()
            ),
        );
    }
    let active = v.real_servers.iter().filter(|r| r.active);
    if let Some(r) =
        active.clone().find(|r| r.forwarding.unwrap_or(c.network) == ForwardMethod::Nat)
    {
        // A NAT real server answers the router, which rewrites the
        // address back: nothing on the real server holds the VIP, so
        // there is nothing for the check to find missing.
        sink.error(
            at.at(sink),
            format!(
                "`via: vip` checks through the data path of direct routing and tunnel services only: real server `{}` is forwarded with nat",
                r.name
            ),
        );
    }
    if let Some(r) = active.clone().find(|r| r.address.is_ipv6() != v.vip.address.is_ipv6()) {
        sink.error(
            at.at(sink),
            format!(
                "`via: vip` needs real servers of the virtual ip's family: real server `{}` is not",
                r.name
            ),
        );
    }
}

/// The rules over every virtual service: the private services must fit
/// in [`DATAPATH_MARKS`]; and a failover service has no data path.
pub(super) fn config(c: &Config, sink: &mut Sink) {
    let mut private = HashSet::new();
    let list = Path::Key("virtual_services");
    for (i, v) in c.virtual_services.iter().enumerate() {
        if !v.active || v.check.via != CheckVia::Vip {
            continue;
        }
        for r in v.real_servers.iter().filter(|r| r.active) {
            private.insert((r.address, r.port, r.forwarding.unwrap_or(c.network)));
        }
        if private.len() > MAX_PRIVATE {
            sink.error(
                list.item(i).field("check.via").at(sink),
                format!(
                    "more than {MAX_PRIVATE} real servers are checked with `via: vip`: lvsd has no firewall mark left for them"
                ),
            );
            break;
        }
    }
    let list = Path::Key("failover_services");
    for (i, f) in c.failover_services.iter().enumerate() {
        if f.check.via == CheckVia::Vip {
            sink.error(
                list.item(i).field("check.via").at(sink),
                "`via: vip` is for the real servers of virtual services: a failover service has no data path through IPVS",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{parse_str, Config, Diagnostic, Format};

    fn parse(network: &str, check: &str, extra: &str) -> (Option<Config>, Vec<Diagnostic>) {
        let text = [
            "routers:".to_owned(),
            "  primary: { address: 192.0.2.1 }".to_owned(),
            "heartbeat: { protocol: piranha }".to_owned(),
            format!("network: {network}"),
            "virtual_services:".to_owned(),
            "  - name: web".to_owned(),
            "    vip: { address: 192.0.2.10, interface: eth0 }".to_owned(),
            format!("    check: {check}"),
            format!("{extra}    real_servers:"),
            "      - { name: a, address: 10.0.0.1 }\n".to_owned(),
        ]
        .join("\n");
        parse_str(&text, "t.yaml", Format::Yaml)
    }

    fn errors(d: &[Diagnostic]) -> Vec<String> {
        d.iter()
            .filter(|d| d.is_error())
            .map(|d| format!("{}:{} {}", d.line, d.column, d.message))
            .collect()
    }

    #[test]
    fn via_vip_reads_and_writes_back_for_direct_and_tunnel() {
        for network in ["direct", "tunnel"] {
            for check in
                ["{ via: vip }", "{ type: http, via: vip }", "{ type: dns, query: a., via: vip }"]
            {
                let (c, d) = parse(network, check, "");
                let c = c.unwrap_or_else(|| panic!("{network} {check}: {d:?}"));
                assert_eq!(c.virtual_services[0].check.via, crate::CheckVia::Vip);
                let again = parse_str(&crate::to_yaml(&c), "w.yaml", Format::Yaml).0;
                assert_eq!(again.as_ref(), Some(&c));
            }
        }
        let (c, _) = parse("direct", "{ via: server }", "");
        assert!(!crate::to_yaml(&c.unwrap()).contains("via"), "the default is left out");
    }

    #[test]
    fn via_vip_is_refused_for_nat_with_its_position() {
        let (c, d) = parse("nat", "{ via: vip }", "");
        assert!(c.is_none());
        assert_eq!(
            errors(&d),
            ["8:19 `via: vip` checks through the data path of direct routing and tunnel services only: real server `a` is forwarded with nat"]
        );
        let (c, d) = parse("direct", "{ type: ping, via: vip }", "");
        assert!(c.is_none());
        assert!(errors(&d)[0].starts_with("8:31 `via: vip` needs a `connect`"), "{d:?}");
    }

    #[test]
    fn user_fwmarks_stay_out_of_the_reserved_range() {
        let (c, d) = parse("direct", "{ via: vip }", "    fwmark: 1280704519\n");
        assert!(c.is_none());
        assert!(
            errors(&d)[0]
                .starts_with("9:13 fwmark 1280704519 (0x4c560007) is in 0x4c560000-0x4c56ffff"),
            "{d:?}"
        );
        let (c, d) = parse("direct", "{ via: vip }", "    fwmark: 1280638975\n");
        assert!(c.is_some(), "0x4c55ffff is below the range: {d:?}");
    }
}
