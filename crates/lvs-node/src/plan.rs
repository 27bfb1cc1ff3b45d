//! What a real server needs for its forwarding method, and the steps from
//! what the host has to that: pure, no IO. [`desired`] reads the
//! configuration and the host's own addresses; [`plan`] compares the
//! desired state with the observed one and with the [`Journal`] of what
//! lvs-node changed, so that it only ever undoes its own changes and puts
//! back the values it found.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use lvs_config::{Config, ForwardMethod};
use lvs_net::route::{DefaultRoute, PROTO_STATIC};

/// An address on an interface.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Addr {
    /// Interface name.
    pub dev: String,
    /// The address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix: u8,
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} dev {}", self.addr, self.prefix, self.dev)
    }
}

/// The IPv4 fallback tunnel device of the `ipip` module, which IPVS
/// tunnelling (`-i`) sends to.
pub const TUNNEL_DEV: &str = "tunl0";
/// Its link kind.
pub const TUNNEL_KIND: &str = "ipip";

/// What this host must have.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    /// Which real servers this host is, for logs: `service/server (method)`.
    pub roles: Vec<String>,
    /// Tunnel devices that must exist (name, kind).
    pub tunnels: BTreeSet<(String, String)>,
    /// Links that must be up.
    pub links_up: BTreeSet<String>,
    /// sysctl keys (dotted) and their values.
    pub sysctls: BTreeMap<String, String>,
    /// Addresses that must be present.
    pub addresses: BTreeSet<Addr>,
    /// The default gateway per family (`false` IPv4, `true` IPv6): NAT.
    pub gateways: BTreeMap<bool, IpAddr>,
    /// What lvs-node cannot do for this configuration, for the log.
    pub warnings: Vec<String>,
}

/// What the host has, as far as the plan needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// Links by name, and whether they are up.
    pub links: BTreeMap<String, bool>,
    /// Addresses present.
    pub addresses: BTreeSet<Addr>,
    /// Current values of the sysctls the plan asks about (missing: the
    /// key does not exist).
    pub sysctls: BTreeMap<String, String>,
    /// Default routes per family (`true`: IPv6), in the kernel's order.
    pub gateways: BTreeMap<bool, Vec<DefaultRoute>>,
}

impl Observed {
    /// The host's own addresses (any interface): how it finds which real
    /// servers it is.
    pub fn own_addresses(&self) -> BTreeSet<IpAddr> {
        self.addresses.iter().map(|a| a.addr).collect()
    }
}

/// What lvs-node changed, so that it can be undone exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Journal {
    /// Addresses it added (not those that were there before).
    pub addresses: BTreeSet<Addr>,
    /// sysctls it changed, with the value found before.
    pub sysctls: BTreeMap<String, String>,
    /// Links it brought up.
    pub links_up: BTreeSet<String>,
    /// Default routes it replaced, per family, with the one found
    /// (`None`: there was none).
    pub gateways: BTreeMap<bool, Option<DefaultRoute>>,
}

impl Journal {
    /// Nothing to undo.
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty()
            && self.sysctls.is_empty()
            && self.links_up.is_empty()
            && self.gateways.is_empty()
    }

    /// Records that `a` was carried out.
    pub fn note(&mut self, a: &Action) {
        match a {
            Action::CreateTunnel { .. } => {}
            Action::LinkUp { dev, up: true } => {
                self.links_up.insert(dev.clone());
            }
            Action::LinkUp { dev, up: false } => {
                self.links_up.remove(dev);
            }
            Action::AddAddress(x) => {
                self.addresses.insert(x.clone());
            }
            Action::DelAddress(x) => {
                self.addresses.remove(x);
            }
            Action::Gateway { v6, to, was } => match self.gateways.get(v6) {
                Some(original) if original == to => {
                    self.gateways.remove(v6);
                }
                Some(_) => {}
                None => {
                    self.gateways.insert(*v6, *was);
                }
            },
            Action::Sysctl { key, value, was } => match self.sysctls.get(key) {
                Some(original) if original == value => {
                    self.sysctls.remove(key);
                }
                Some(_) => {}
                None => {
                    self.sysctls.insert(key.clone(), was.clone());
                }
            },
        }
    }
}

/// One step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Create a tunnel device (loads its module); never undone: the
    /// fallback device cannot be deleted, only left down.
    CreateTunnel {
        /// Device name.
        dev: String,
        /// Link kind.
        kind: String,
    },
    /// Bring a link up or down.
    LinkUp {
        /// Device name.
        dev: String,
        /// Up or down.
        up: bool,
    },
    /// Add an address.
    AddAddress(Addr),
    /// Remove an address.
    DelAddress(Addr),
    /// Set the default gateway of a family (`None`: remove the default
    /// route via `was`).
    Gateway {
        /// IPv6 or IPv4.
        v6: bool,
        /// The route wanted.
        to: Option<DefaultRoute>,
        /// The route found (the first default route).
        was: Option<DefaultRoute>,
    },
    /// Write a sysctl.
    Sysctl {
        /// Dotted key.
        key: String,
        /// Value to write.
        value: String,
        /// Value found before (for the journal and the log).
        was: String,
    },
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::CreateTunnel { dev, kind } => write!(f, "ip link add {dev} type {kind}"),
            Action::LinkUp { dev, up } => {
                write!(f, "ip link set {dev} {}", if *up { "up" } else { "down" })
            }
            Action::AddAddress(a) => write!(f, "ip addr add {a}"),
            Action::DelAddress(a) => write!(f, "ip addr del {a}"),
            Action::Gateway { v6, to, was } => {
                let ip = if *v6 { "ip -6" } else { "ip" };
                let was = was.map_or("none".to_owned(), |w| w.gateway.to_string());
                match to {
                    Some(g) => {
                        write!(f, "{ip} route replace default via {} (was {was})", g.gateway)
                    }
                    None => write!(f, "{ip} route del default via {was}"),
                }
            }
            Action::Sysctl { key, value, was } => write!(f, "sysctl -w {key}={value} (was {was})"),
        }
    }
}

fn host_prefix(a: IpAddr) -> u8 {
    if a.is_ipv4() {
        32
    } else {
        128
    }
}

/// The interface that carries `addr` on this host.
fn dev_of(observed: &Observed, addr: IpAddr) -> Option<&str> {
    observed.addresses.iter().find(|a| a.addr == addr).map(|a| a.dev.as_str())
}

/// The sysctl key of `net.ipv4.conf.DEV.NAME`, written as sysctl(8)
/// does: with `/` separators when the device name has a dot (a VLAN such
/// as `eth0.100`), so that the key still names one file.
pub fn conf_key(dev: &str, name: &str) -> String {
    if dev.contains('.') {
        format!("net/ipv4/conf/{dev}/{name}")
    } else {
        format!("net.ipv4.conf.{dev}.{name}")
    }
}

fn no_arp_for_vips(d: &mut Desired, rip_dev: Option<&str>) {
    // The kernel uses the larger of `all` and the device's value: setting
    // both makes the device's own setting irrelevant. arp_ignore=1: answer
    // ARP only for addresses of the receiving interface (not the VIP on lo
    // or tunl0); arp_announce=2: never use the VIP as an ARP source.
    let mut devs = vec!["all"];
    devs.extend(rip_dev.filter(|d| *d != "lo"));
    for dev in devs {
        d.sysctls.insert(conf_key(dev, "arp_ignore"), "1".into());
        d.sysctls.insert(conf_key(dev, "arp_announce"), "2".into());
    }
}

/// What the real servers of `config` that are this host (by `observed`'s
/// own addresses) need.
///
/// - Direct routing: the VIP on `lo` as a host address; for IPv4,
///   `arp_ignore=1` and `arp_announce=2` (all and the real server's
///   interface). An IPv6 address on `lo` is never advertised by neighbour
///   discovery on other links, so IPv6 needs no sysctl.
/// - Tunnelling (IPv4): `tunl0` created and up with the VIP, the same ARP
///   settings, and `rp_filter=0` on `all` and `tunl0` (decapsulated
///   packets come in on `tunl0` but their replies leave elsewhere).
/// - NAT: the default route via the `nat_router` address (replacing the
///   one found, which comes back at stop).
pub fn desired(config: &Config, observed: &Observed) -> Desired {
    let own = observed.own_addresses();
    let mut d = Desired::default();
    for vs in &config.virtual_services {
        for rs in vs.real_servers.iter().filter(|r| own.contains(&r.address)) {
            let method = rs.forwarding.unwrap_or(config.network);
            d.roles.push(format!("{}/{} ({})", vs.name, rs.name, method.name()));
            let vip = vs.vip.address;
            let rip_dev = dev_of(observed, rs.address);
            match method {
                ForwardMethod::Direct => {
                    d.addresses.insert(Addr {
                        dev: "lo".into(),
                        addr: vip,
                        prefix: host_prefix(vip),
                    });
                    if vip.is_ipv4() {
                        no_arp_for_vips(&mut d, rip_dev);
                    }
                }
                ForwardMethod::Tunnel if vip.is_ipv4() => {
                    d.tunnels.insert((TUNNEL_DEV.into(), TUNNEL_KIND.into()));
                    d.links_up.insert(TUNNEL_DEV.into());
                    d.addresses.insert(Addr { dev: TUNNEL_DEV.into(), addr: vip, prefix: 32 });
                    no_arp_for_vips(&mut d, rip_dev);
                    for dev in ["all", TUNNEL_DEV] {
                        d.sysctls.insert(conf_key(dev, "rp_filter"), "0".into());
                    }
                }
                ForwardMethod::Tunnel => d.warnings.push(format!(
                    "{}/{}: IPv6 tunnelling is not set up by lvs-node; configure ip6tnl0 by hand",
                    vs.name, rs.name
                )),
                ForwardMethod::Nat => match config.nat_router.as_ref().map(|n| n.address) {
                    Some(gw) if gw.is_ipv6() == rs.address.is_ipv6() => {
                        d.gateways.insert(gw.is_ipv6(), gw);
                    }
                    Some(gw) => d.warnings.push(format!(
                        "{}/{}: NAT: the nat_router {gw} is not of the real server's family",
                        vs.name, rs.name
                    )),
                    None => d.warnings.push(format!(
                        "{}/{}: NAT needs `nat_router` (the real servers' default gateway)",
                        vs.name, rs.name
                    )),
                },
            }
        }
    }
    d
}

/// The steps from `observed` to `desired`, given what lvs-node changed
/// before (`journal`). Its own changes no longer desired are undone first
/// (addresses, then sysctls back to the values found, then links down);
/// then, in an order that never exposes a VIP to ARP: tunnels, links,
/// sysctls, addresses. What was already there is left alone, and never
/// removed later. `plan(&Desired::default(), ..)` undoes everything.
pub fn plan(desired: &Desired, observed: &Observed, journal: &Journal) -> Vec<Action> {
    let mut out = Vec::new();
    for a in journal.addresses.iter().filter(|a| !desired.addresses.contains(a)) {
        if observed.addresses.contains(a) {
            out.push(Action::DelAddress(a.clone()));
        }
    }
    for (key, original) in journal.sysctls.iter().filter(|(k, _)| !desired.sysctls.contains_key(*k))
    {
        if let Some(now) = observed.sysctls.get(key) {
            out.push(Action::Sysctl {
                key: key.clone(),
                value: original.clone(),
                was: now.clone(),
            });
        }
    }
    for (v6, original) in
        journal.gateways.iter().filter(|(f, _)| !desired.gateways.contains_key(*f))
    {
        let now = observed.gateways.get(v6).and_then(|g| g.first().copied());
        if now != *original {
            out.push(Action::Gateway { v6: *v6, to: *original, was: now });
        }
    }
    for dev in journal.links_up.iter().filter(|d| !desired.links_up.contains(*d)) {
        if observed.links.get(dev) == Some(&true) {
            out.push(Action::LinkUp { dev: dev.clone(), up: false });
        }
    }
    for (dev, kind) in &desired.tunnels {
        if !observed.links.contains_key(dev) {
            out.push(Action::CreateTunnel { dev: dev.clone(), kind: kind.clone() });
        }
    }
    for dev in &desired.links_up {
        if observed.links.get(dev) != Some(&true) {
            out.push(Action::LinkUp { dev: dev.clone(), up: true });
        }
    }
    for (key, value) in &desired.sysctls {
        // A key the kernel lacks (a tunnel not created yet) reads as "".
        let now = observed.sysctls.get(key).cloned().unwrap_or_default();
        if &now != value {
            out.push(Action::Sysctl { key: key.clone(), value: value.clone(), was: now });
        }
    }
    for a in &desired.addresses {
        if !observed.addresses.contains(a) {
            out.push(Action::AddAddress(a.clone()));
        }
    }
    for (v6, gw) in &desired.gateways {
        let now = observed.gateways.get(v6).and_then(|g| g.first().copied());
        if now.map(|r| r.gateway) != Some(*gw) {
            let to = DefaultRoute { gateway: *gw, protocol: PROTO_STATIC };
            out.push(Action::Gateway { v6: *v6, to: Some(to), was: now });
        }
    }
    out
}

/// The sysctl keys whose values [`plan`] needs.
pub fn sysctl_keys(desired: &Desired, journal: &Journal) -> BTreeSet<String> {
    desired.sysctls.keys().chain(journal.sysctls.keys()).cloned().collect()
}

/// Applies `actions` to `observed` as the kernel would (for the tests).
#[cfg(test)]
pub fn simulate(observed: &mut Observed, actions: &[Action]) {
    for a in actions {
        match a {
            Action::CreateTunnel { dev, .. } => {
                observed.links.entry(dev.clone()).or_insert(false);
            }
            Action::LinkUp { dev, up } => {
                observed.links.insert(dev.clone(), *up);
            }
            Action::AddAddress(x) => {
                observed.addresses.insert(x.clone());
            }
            Action::DelAddress(x) => {
                observed.addresses.remove(x);
            }
            Action::Sysctl { key, value, .. } => {
                observed.sysctls.insert(key.clone(), value.clone());
            }
            Action::Gateway { v6, to, .. } => {
                observed.gateways.insert(*v6, to.iter().copied().collect());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(network: &str, vip: &str, rip: &str) -> Config {
        let other = if vip.contains(':') { "2001:db8:1::99" } else { "10.0.1.99" };
        let text = format!(
            "routers:\n  primary: {{ address: 192.0.2.1 }}\nnetwork: {network}\n\
             nat_router: {{ address: 10.0.1.254, interface: eth1 }}\n\
             virtual_services:\n  - name: web\n    vip: {{ address: \"{vip}\", interface: eth0 }}\n    \
             real_servers:\n      - {{ name: r1, address: \"{rip}\" }}\n      \
             - {{ name: r2, address: \"{other}\" }}\n"
        );
        let (c, d) = lvs_config::parse_str(&text, "t.yaml", lvs_config::Format::Yaml);
        c.unwrap_or_else(|| panic!("{d:?}"))
    }

    fn host(rip: &str) -> Observed {
        let mut o = Observed::default();
        o.links.insert("lo".into(), true);
        o.links.insert("eth0".into(), true);
        o.addresses.insert(Addr {
            dev: "lo".into(),
            addr: "127.0.0.1".parse().unwrap(),
            prefix: 8,
        });
        o.addresses.insert(Addr { dev: "eth0".into(), addr: rip.parse().unwrap(), prefix: 24 });
        for k in ["all", "eth0", "tunl0"] {
            for (s, v) in [("arp_ignore", "0"), ("arp_announce", "0"), ("rp_filter", "2")] {
                o.sysctls.insert(format!("net.ipv4.conf.{k}.{s}"), v.into());
            }
        }
        o.sysctls.remove("net.ipv4.conf.tunl0.arp_ignore");
        o
    }

    /// Plans, simulates, and plans again: the second plan is empty.
    fn converge(d: &Desired, o: &mut Observed, j: &mut Journal) -> Vec<Action> {
        let actions = plan(d, o, j);
        for a in &actions {
            j.note(a);
        }
        simulate(o, &actions);
        assert_eq!(plan(d, o, j), [], "idempotent");
        actions
    }

    #[test]
    fn direct_routing_ipv4_then_undo_leaves_the_host_as_found() {
        let c = config("direct", "10.0.0.10", "10.0.1.1");
        let before = host("10.0.1.1");
        let mut o = before.clone();
        let d = desired(&c, &o);
        assert_eq!(d.roles, ["web/r1 (direct)"]);
        let mut j = Journal::default();
        let actions = converge(&d, &mut o, &mut j);
        let text: Vec<String> = actions.iter().map(|a| a.to_string()).collect();
        assert_eq!(
            text,
            [
                "sysctl -w net.ipv4.conf.all.arp_announce=2 (was 0)",
                "sysctl -w net.ipv4.conf.all.arp_ignore=1 (was 0)",
                "sysctl -w net.ipv4.conf.eth0.arp_announce=2 (was 0)",
                "sysctl -w net.ipv4.conf.eth0.arp_ignore=1 (was 0)",
                "ip addr add 10.0.0.10/32 dev lo",
            ]
        );
        // Stop: everything back as found, and nothing left to undo.
        let undo = converge(&Desired::default(), &mut o, &mut j);
        assert_eq!(undo.len(), 5);
        assert!(matches!(undo[0], Action::DelAddress(_)), "the VIP goes first: {undo:?}");
        assert_eq!(o, before);
        assert!(j.is_empty());
    }

    #[test]
    fn what_was_there_before_is_never_undone() {
        let c = config("direct", "10.0.0.10", "10.0.1.1");
        let mut o = host("10.0.1.1");
        // Set up by hand before: the VIP on lo and arp_ignore.
        o.addresses.insert(Addr {
            dev: "lo".into(),
            addr: "10.0.0.10".parse().unwrap(),
            prefix: 32,
        });
        o.sysctls.insert("net.ipv4.conf.all.arp_ignore".into(), "1".into());
        let before = o.clone();
        let d = desired(&c, &o);
        let mut j = Journal::default();
        let actions = converge(&d, &mut o, &mut j);
        assert_eq!(actions.len(), 3, "{actions:?}");
        converge(&Desired::default(), &mut o, &mut j);
        assert_eq!(o, before, "the hand-made VIP and sysctl stay");
    }

    #[test]
    fn direct_routing_ipv6_is_the_vip_on_lo_only() {
        let c = config("direct", "2001:db8::10", "2001:db8:1::1");
        let mut o = host("2001:db8:1::1");
        let d = desired(&c, &o);
        let mut j = Journal::default();
        let actions = converge(&d, &mut o, &mut j);
        assert_eq!(
            actions.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            ["ip addr add 2001:db8::10/128 dev lo"]
        );
    }

    #[test]
    fn tunnel_creates_tunl0_relaxes_rp_filter_and_reload_moves_the_vip() {
        let c = config("tunnel", "10.0.0.10", "10.0.1.1");
        let before = host("10.0.1.1");
        let mut o = before.clone();
        let d = desired(&c, &o);
        let mut j = Journal::default();
        let actions = converge(&d, &mut o, &mut j);
        let text: Vec<String> = actions.iter().map(|a| a.to_string()).collect();
        assert_eq!(text[0], "ip link add tunl0 type ipip");
        assert_eq!(text[1], "ip link set tunl0 up");
        assert!(text.contains(&"sysctl -w net.ipv4.conf.tunl0.rp_filter=0 (was 2)".to_string()));
        assert!(text.contains(&"sysctl -w net.ipv4.conf.all.rp_filter=0 (was 2)".to_string()));
        assert_eq!(text.last().map(String::as_str), Some("ip addr add 10.0.0.10/32 dev tunl0"));

        // Reload with another VIP: the old one goes, the new one comes,
        // the sysctls stay as they are.
        let c2 = config("tunnel", "10.0.0.11", "10.0.1.1");
        let d2 = desired(&c2, &o);
        let actions = converge(&d2, &mut o, &mut j);
        assert_eq!(
            actions.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            ["ip addr del 10.0.0.10/32 dev tunl0", "ip addr add 10.0.0.11/32 dev tunl0"]
        );
        // Stop: tunl0 stays (it cannot be deleted) but down, as found...
        converge(&Desired::default(), &mut o, &mut j);
        assert_eq!(o.links.get("tunl0"), Some(&false));
        o.links.remove("tunl0");
        assert_eq!(o, before);
    }

    #[test]
    fn sysctl_keys_of_devices_with_dots() {
        assert_eq!(conf_key("eth0", "arp_ignore"), "net.ipv4.conf.eth0.arp_ignore");
        assert_eq!(conf_key("eth0.100", "arp_ignore"), "net/ipv4/conf/eth0.100/arp_ignore");
    }

    #[test]
    fn not_a_real_server_and_nat_change_nothing() {
        let c = config("direct", "10.0.0.10", "10.0.1.1");
        let o = host("10.0.1.50");
        let d = desired(&c, &o);
        assert!(d.roles.is_empty());
        assert_eq!(plan(&d, &o, &Journal::default()), []);
    }

    #[test]
    fn nat_replaces_the_default_route_and_puts_the_old_one_back() {
        let c = config("nat", "10.0.0.10", "10.0.1.1");
        let mut o = host("10.0.1.1");
        let boot = DefaultRoute { gateway: "10.0.1.1".parse().unwrap(), protocol: 3 };
        o.gateways.insert(false, vec![boot]);
        let before = o.clone();
        let d = desired(&c, &o);
        assert_eq!(d.roles, ["web/r1 (nat)"]);
        let mut j = Journal::default();
        let actions = converge(&d, &mut o, &mut j);
        assert_eq!(
            actions.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            ["ip route replace default via 10.0.1.254 (was 10.0.1.1)"]
        );
        converge(&Desired::default(), &mut o, &mut j);
        assert_eq!(o, before);
        assert!(j.is_empty());
        // No default route before: none after.
        let mut o = host("10.0.1.1");
        let before = o.clone();
        converge(&d, &mut o, &mut j);
        let undo = converge(&Desired::default(), &mut o, &mut j);
        assert_eq!(undo[0].to_string(), "ip route del default via 10.0.1.254");
        o.gateways.retain(|_, g| !g.is_empty());
        assert_eq!(o, before);
    }
}
