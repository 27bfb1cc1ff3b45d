//! The rules of active-active routers behind ECMP ([`Config::ecmp`]):
//! every router is active at once and the upstream router may move a flow
//! from one to another, so every router must pick the same real server for
//! a flow without sharing state (a consistent scheduler), the real servers
//! must answer the clients directly (direct routing or tunnelling: with
//! NAT the replies would come back through whichever router the real
//! server routes to), and a router must accept a flow it did not see start
//! (`sloppy_tcp`, on by default here).
//!
//! They run only when [`Config::ecmp`] says so (`routers: { ecmp: [...]
//! }`); the unit tests also call [`rules`] on ordinary configurations.

use super::Path;
use crate::diag::Sink;
use crate::model::*;

/// Reports what breaks the ECMP rules.
pub(super) fn rules(c: &Config, sink: &mut Sink) {
    let list = Path::Key("virtual_services");
    let mut global_nat = false;
    for (i, v) in c.virtual_services.iter().enumerate() {
        if !v.active {
            continue;
        }
        let p = list.item(i);
        let s = v.scheduler.0.as_str();
        if !CONSISTENT_SCHEDULERS.contains(&s) {
            sink.error(
                p.field("scheduler").at(sink),
                format!(
                    "active-active routers need a consistent scheduler (`mh`, or `sh`/`dh`), so that every router sends a flow to the same real server: `{s}` is not one"
                ),
            );
        } else if s != "mh" {
            sink.warn(
                p.field("scheduler").at(sink),
                format!(
                    "`{s}` sends a flow to the same real server on every router only while they all have the same servers up, and moves most flows when one changes; `mh` (Maglev hashing) moves only the flows of the server that changed"
                ),
            );
        }
        let rp = p.field("real_servers");
        for (j, r) in v.real_servers.iter().enumerate().filter(|(_, r)| r.active) {
            match r.forwarding {
                Some(ForwardMethod::Nat) => sink.error(
                    rp.item(j).field("forwarding").at(sink),
                    "active-active routers need direct routing or tunnel forwarding: with nat the replies return through one router only",
                ),
                None if c.network == ForwardMethod::Nat => global_nat = true,
                _ => {}
            }
        }
    }
    if global_nat {
        sink.error(
            Path::Key("network").at(sink),
            "active-active routers need `network: direct` or `tunnel` (or `forwarding` on each real server): with nat the replies return through one router only",
        );
    }
    if c.ipvs_sloppy.tcp == Some(false) {
        sink.warn(
            Path::Key("ipvs_sloppy.tcp").at(sink),
            "`sloppy_tcp` off: a TCP flow the upstream router moves to another router is dropped there, since that router did not see it start",
        );
    }
    if c.sync_daemon.as_ref().is_some_and(|s| !s.both) {
        sink.warn(
            Path::Key("sync_daemon").at(sink),
            "every router is active: a sync daemon that follows the router's role never runs as backup; set `both: true` to share connection state both ways",
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::diag::Sink;
    use crate::{Config, Diagnostic, Severity};

    /// Reads `yaml` and validates it as if its routers were active-active.
    fn as_ecmp(yaml: &str) -> (Option<Config>, Vec<Diagnostic>) {
        let mut sink = Sink::new("t.yaml");
        let config = crate::yaml::parse(yaml, &mut sink);
        if let Some(c) = &config {
            sink.begin_validation();
            super::super::config_as(c, &mut sink, true);
        }
        sink.clamp(yaml);
        let ok = !sink.has_errors();
        (config.filter(|_| ok), sink.into_diags())
    }

    fn yaml(network: &str, scheduler: &str, extra: &str, rs: &str) -> String {
        [
            "routers:".to_owned(),
            "  primary: { address: 192.0.2.1 }".to_owned(),
            "heartbeat: { protocol: piranha }".to_owned(),
            format!("network: {network}"),
            format!("{extra}virtual_services:"),
            "  - name: web".to_owned(),
            "    vip: { address: 192.0.2.10, interface: lo }".to_owned(),
            format!("    scheduler: {scheduler}"),
            "    real_servers:".to_owned(),
            format!("      - {{ name: a, address: 10.0.0.1{rs} }}\n"),
        ]
        .join("\n")
    }

    fn found(d: &[Diagnostic], sev: Severity, text: &str) -> Option<(u32, u32)> {
        d.iter().find(|d| d.severity == sev && d.message.contains(text)).map(|d| (d.line, d.column))
    }

    #[test]
    fn mh_and_direct_routing_pass_with_sloppy_tcp_on() {
        let (c, d) = as_ecmp(&yaml("direct", "mh", "", ""));
        assert!(c.is_some() && d.is_empty(), "{d:?}");
        let (c, d) = as_ecmp(&yaml("tunnel", "mh", "", ", forwarding: direct"));
        assert!(c.is_some() && d.is_empty(), "{d:?}");
        // mh-port and mh-fallback are scheduler flags of `mh`.
        let (c, d) =
            as_ecmp(&yaml("direct", "mh\n    scheduler_flags: [mh-port, mh-fallback]", "", ""));
        assert!(c.is_some() && d.is_empty(), "{d:?}");
    }

    #[test]
    fn other_schedulers_are_errors_and_sh_dh_warnings() {
        let (c, d) = as_ecmp(&yaml("direct", "wlc", "", ""));
        assert!(c.is_none());
        assert_eq!(found(&d, Severity::Error, "consistent scheduler"), Some((8, 16)), "{d:?}");
        for s in ["sh", "dh"] {
            let (c, d) = as_ecmp(&yaml("direct", s, "", ""));
            assert!(c.is_some(), "{d:?}");
            assert_eq!(found(&d, Severity::Warning, "Maglev"), Some((8, 16)), "{d:?}");
        }
    }

    #[test]
    fn nat_is_an_error_where_it_is_written() {
        let (c, d) = as_ecmp(&yaml("nat", "mh", "", ""));
        assert!(c.is_none());
        assert_eq!(found(&d, Severity::Error, "`network: direct`"), Some((4, 10)), "{d:?}");
        let (c, d) = as_ecmp(&yaml("direct", "mh", "", ", forwarding: nat"));
        assert!(c.is_none());
        assert_eq!(found(&d, Severity::Error, "direct routing or tunnel"), Some((10, 51)), "{d:?}");
        // A NAT network that no active real server inherits is no error.
        let (c, d) = as_ecmp(&yaml("nat", "mh", "", ", forwarding: tunnel"));
        assert!(c.is_some(), "{d:?}");
    }

    #[test]
    fn sloppy_tcp_defaults_on_and_off_is_a_warning() {
        let (c, d) = as_ecmp(&yaml("direct", "mh", "ipvs_sloppy: { tcp: false }\n", ""));
        assert!(c.is_some());
        assert_eq!(found(&d, Severity::Warning, "sloppy_tcp"), Some((5, 21)), "{d:?}");
        let (c, d) = as_ecmp(&yaml("direct", "mh", "sync_daemon: { interface: eth0 }\n", ""));
        assert!(c.is_some());
        assert!(found(&d, Severity::Warning, "both: true").is_some(), "{d:?}");
    }

    #[test]
    fn sloppy_and_both_read_and_write_back() {
        let text = yaml(
            "direct",
            "mh",
            "ipvs_sloppy: { tcp: true, sctp: false }\nsync_daemon: { interface: eth1, both: true }\n",
            "",
        );
        let (c, d) = crate::parse_str(&text, "t.yaml", crate::Format::Yaml);
        let c = c.unwrap_or_else(|| panic!("{d:?}"));
        assert_eq!((c.sloppy_tcp(), c.sloppy_sctp()), (Some(true), Some(false)));
        assert!(c.sync_daemon.as_ref().is_some_and(|s| s.both));
        let again = crate::parse_str(&crate::to_yaml(&c), "w.yaml", crate::Format::Yaml).0;
        assert_eq!(again, Some(c));
        let cold = text.replace("network:", "standby: cold\nnetwork:");
        let (c, d) = crate::parse_str(&cold, "t.yaml", crate::Format::Yaml);
        assert!(c.is_none());
        assert!(d.iter().any(|d| d.message.contains("needs `standby: hot`")), "{d:?}");
    }

    /// Without ECMP (every configuration today) none of this applies.
    #[test]
    fn pairs_are_not_held_to_the_rules() {
        let text = yaml("nat", "wlc", "ipvs_sloppy: { tcp: false }\n", "");
        let (c, d) = crate::parse_str(&text, "t.yaml", crate::Format::Yaml);
        let c = c.unwrap_or_else(|| panic!("{d:?}"));
        assert!(!c.ecmp());
        assert_eq!(c.sloppy_tcp(), Some(false));
        assert_eq!(c.sloppy_sctp(), None, "not given, not ECMP: the kernel's value stays");
    }
}
