//! ECMP directors (`routers: { ecmp: [...] }`): which VIPs this director
//! announces, pure. Every director of the group is active at once and
//! announces a VIP (a host route in the kernel table BIRD exports, written
//! by the network worker through `lvs_net::vip_route`) only while it is
//! fit for it: it holds the active role, lvsd runs and says its table is
//! complete, and every virtual service of the VIP has at least
//! `min_servers` real servers up in lvsd's last report. A VIP short of
//! servers is withdrawn alone; the others stay announced.
//!
//! The IO is in `event_loop/ecmp.rs`.

use std::collections::BTreeSet;
use std::net::IpAddr;

use lvs_config::overrides::ServiceId;

/// One announced VIP and the virtual services it carries (as lvsd's
/// report names them: `tcp:VIP:PORT`, `fwmark:N`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EcmpVip {
    /// The VIP.
    pub addr: IpAddr,
    /// Its active virtual services.
    pub services: Vec<String>,
}

/// The ECMP part of pulse's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EcmpSettings {
    /// The kernel table of the VIP routes.
    pub table: u32,
    /// Real servers up per virtual service for its VIP to be announced.
    pub min_servers: u32,
    /// The VIPs, in configuration order.
    pub vips: Vec<EcmpVip>,
}

impl EcmpSettings {
    /// From the model, when its routers are ECMP directors.
    pub fn from_model(c: &lvs_config::Config) -> Option<EcmpSettings> {
        let lvs_config::Routers::Ecmp { route_table, min_servers, .. } = &c.routers else {
            return None;
        };
        let mut vips: Vec<EcmpVip> = Vec::new();
        for vs in c.virtual_services.iter().filter(|v| v.active) {
            let id = ServiceId::of(vs).to_string();
            match vips.iter_mut().find(|v| v.addr == vs.vip.address) {
                Some(v) => v.services.push(id),
                None => vips.push(EcmpVip { addr: vs.vip.address, services: vec![id] }),
            }
        }
        Some(EcmpSettings { table: *route_table, min_servers: *min_servers, vips })
    }

    /// The VIPs to announce now. `fit`: active, lvsd running with its
    /// table complete; `report`: lvsd's last report (none: nothing known,
    /// nothing announced).
    pub fn wanted(&self, fit: bool, report: Option<&lvsd_api::Report>) -> BTreeSet<IpAddr> {
        let Some(report) = report.filter(|r| fit && r.ready) else {
            return BTreeSet::new();
        };
        let up = |service: &str| {
            report.services.iter().find(|s| s.service == service).map_or(0, |s| {
                s.servers.iter().filter(|r| r.health == lvsd_api::Health::Up).count()
            })
        };
        let min = usize::try_from(self.min_servers).unwrap_or(usize::MAX);
        self.vips
            .iter()
            .filter(|v| v.services.iter().all(|s| up(s) >= min))
            .map(|v| v.addr)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lvsd_api::{Health, Report, Server, Service};

    fn settings() -> EcmpSettings {
        let text = "routers:\n  ecmp: [{ name: a, address: 10.0.0.1 }]\n  min_servers: 2\n\
                    network: direct\n\
                    virtual_services:\n\
                    - { name: web, scheduler: mh, vip: { address: 10.0.100.1, interface: lo }, port: 80, \
                        real_servers: [{ name: w, address: 10.0.0.11 }] }\n\
                    - { name: tls, scheduler: mh, vip: { address: 10.0.100.1, interface: lo }, port: 443, \
                        real_servers: [{ name: w, address: 10.0.0.11 }] }\n\
                    - { name: api, scheduler: mh, vip: { address: 10.0.100.2, interface: lo }, port: 80, \
                        real_servers: [{ name: w, address: 10.0.0.11 }] }\n";
        let (c, d) = lvs_config::parse_str(text, "t", lvs_config::Format::Yaml);
        EcmpSettings::from_model(&c.unwrap_or_else(|| panic!("{d:?}"))).unwrap()
    }

    fn service(name: &str, up: usize, down: usize) -> Service {
        let server = |h| Server {
            server: "10.0.0.11:80".into(),
            health: h,
            reason: String::new(),
            since: 0.0,
            configured_weight: 1,
            weight: None,
            transitions: 0,
            checks: Default::default(),
            counters: None,
            kept_by_threshold: false,
            operator: None,
        };
        let mut servers: Vec<Server> = (0..up).map(|_| server(Health::Up)).collect();
        servers.extend((0..down).map(|_| server(Health::Down)));
        Service { service: name.into(), counters: None, servers }
    }

    fn report(ready: bool, services: Vec<Service>) -> Report {
        Report {
            version: lvsd_api::VERSION,
            pid: 1,
            ready,
            nanny_restarts: 0,
            counters_age: None,
            services,
        }
    }

    fn ips(list: &[&str]) -> BTreeSet<IpAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn services_grouped_by_vip() {
        let s = settings();
        assert_eq!(s.table, 100);
        assert_eq!(s.vips.len(), 2);
        assert_eq!(s.vips[0].services, ["tcp:10.0.100.1:80", "tcp:10.0.100.1:443"]);
    }

    #[test]
    fn announced_only_while_fit() {
        let s = settings();
        let all = vec![
            service("tcp:10.0.100.1:80", 2, 0),
            service("tcp:10.0.100.1:443", 3, 1),
            service("tcp:10.0.100.2:80", 2, 2),
        ];
        let r = report(true, all.clone());
        assert_eq!(s.wanted(true, Some(&r)), ips(&["10.0.100.1", "10.0.100.2"]));
        assert_eq!(s.wanted(false, Some(&r)), ips(&[]), "standing down withdraws all");
        assert_eq!(s.wanted(true, None), ips(&[]), "no lvsd, nothing announced");
        assert_eq!(s.wanted(true, Some(&report(false, all))), ips(&[]), "table not ready");
    }

    #[test]
    fn a_vip_short_of_servers_is_withdrawn_alone() {
        let s = settings();
        let r = report(
            true,
            vec![
                service("tcp:10.0.100.1:80", 2, 0),
                service("tcp:10.0.100.1:443", 1, 3),
                service("tcp:10.0.100.2:80", 2, 0),
            ],
        );
        assert_eq!(s.wanted(true, Some(&r)), ips(&["10.0.100.2"]));
        // A service lvsd does not report has no server up.
        let r = report(true, vec![service("tcp:10.0.100.1:80", 2, 0)]);
        assert_eq!(s.wanted(true, Some(&r)), ips(&[]));
    }
}
