//! Checks on the whole model that no single value can show: duplicates,
//! address families, ranges that depend on other fields.
//!
//! Both front ends run these checks, so a rule is written once. Positions
//! come from the paths the front ends recorded while reading.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::diag::Sink;
use crate::model::*;
use crate::values;

/// Values seen so far, to find repeats: a list while there are few (a
/// service has a few dozen real servers, where looking through a list is
/// cheaper than hashing), a hash set beyond.
struct Seen<T> {
    list: Vec<T>,
    set: HashSet<T>,
}

impl<T: Copy + Eq + std::hash::Hash> Seen<T> {
    const SMALL: usize = 32;

    fn new() -> Seen<T> {
        Seen { list: Vec::new(), set: HashSet::new() }
    }

    /// Adds `v`; false if it was seen before.
    fn insert(&mut self, v: T) -> bool {
        if self.list.len() < Self::SMALL {
            if self.list.contains(&v) {
                return false;
            }
            self.list.push(v);
            return true;
        }
        if self.set.is_empty() {
            self.set.extend(self.list.iter().copied());
        }
        self.set.insert(v)
    }
}

fn fam(a: &IpAddr) -> &'static str {
    if a.is_ipv6() {
        "ipv6"
    } else {
        "ipv4"
    }
}

/// Runs every check, reporting each problem.
pub(crate) fn config(c: &Config, sink: &mut Sink) {
    routers(c, sink);
    let hb = &c.heartbeat;
    if hb.port == 0 {
        sink.error(sink.at("heartbeat.port"), "heartbeat port must not be 0");
    }
    if hb.keepalive.0 == 0 {
        sink.error(sink.at("heartbeat.keepalive"), "keepalive must be greater than 0");
    }
    if hb.deadtime <= hb.keepalive {
        sink.error(
            sink.at("heartbeat.deadtime"),
            format!("deadtime ({}) must be greater than keepalive ({})", hb.deadtime, hb.keepalive),
        );
    }
    let peers = c.routers.all().len() > 1;
    if peers
        && c.backup_active
        && hb.protocol == HeartbeatProtocol::Native
        && hb.auth_key_file.is_none()
    {
        sink.error(
            sink.at("heartbeat"),
            "native heartbeats need `auth_key_file` (or set `protocol: piranha` for unauthenticated piranha heartbeats)",
        );
    }
    if c.arp.interval.0 == 0 && c.arp.count > 1 {
        sink.error(sink.at("arp.interval"), "arp interval must be greater than 0");
    }
    if let Some(r) = c.arp.refresh {
        if r.0 == 0 {
            sink.error(sink.at("arp.refresh"), "arp refresh must be greater than 0");
        }
    }
    if let Some(n) = &c.nat_router {
        iface(sink, "nat_router", &n.address, &n.interface, n.netmask);
    }
    if let Some(s) = &c.sync_daemon {
        if let Err(e) = values::ifname(&s.interface) {
            sink.error(sink.at("sync_daemon.interface"), e);
        }
    }
    let mut names = HashSet::new();
    let mut keys = HashSet::new();
    for (i, v) in c.virtual_services.iter().enumerate() {
        let p = format!("virtual_services[{i}]");
        if !names.insert(v.name.as_str()) {
            sink.error(
                sink.at(&format!("{p}.name")),
                format!("virtual service `{}` is defined twice", v.name),
            );
        }
        let key = match v.fwmark {
            Some(m) => format!("fwmark {m} {}", fam(&v.vip.address)),
            None => format!(
                "{} {}",
                v.protocol.name(),
                std::net::SocketAddr::new(v.vip.address, v.port)
            ),
        };
        if !v.vip.address.is_unspecified() && !keys.insert(key.clone()) {
            sink.error(
                sink.at(&p),
                format!("virtual service `{}` duplicates another service ({key})", v.name),
            );
        }
        virtual_service(c, v, &p, sink);
    }
    let mut names = HashSet::new();
    for (i, f) in c.failover_services.iter().enumerate() {
        let p = format!("failover_services[{i}]");
        if !names.insert(f.name.as_str()) {
            sink.error(
                sink.at(&format!("{p}.name")),
                format!("failover service `{}` is defined twice", f.name),
            );
        }
        iface(sink, &format!("{p}.vip"), &f.vip.address, &f.vip.interface, f.vip.netmask);
        if f.vip.address.is_unspecified() && f.active {
            sink.error(
                sink.at(&format!("{p}.vip.address")),
                "an active failover service needs an address",
            );
        }
        check(&f.check, &format!("{p}.check"), sink);
    }
    match c.service {
        ServiceMode::Lvs if !c.virtual_services.iter().any(|v| v.active) => {
            sink.warn(sink.at("service"), "no active virtual service: pulse will refuse to start")
        }
        ServiceMode::Fos if !c.failover_services.iter().any(|f| f.active) => {
            sink.warn(sink.at("service"), "no active failover service: pulse will refuse to start")
        }
        _ => {}
    }
}

fn routers(c: &Config, sink: &mut Sink) {
    let list: Vec<(String, &Router)> = match &c.routers {
        Routers::Pair { primary, backup } => {
            let mut l = vec![("routers.primary".to_owned(), primary)];
            if let Some(b) = backup {
                l.push(("routers.backup".to_owned(), b));
            }
            l
        }
        Routers::Pool { pool } => {
            if pool.is_empty() {
                sink.error(sink.at("routers.pool"), "the router pool is empty");
            }
            pool.iter().enumerate().map(|(i, r)| (format!("routers.pool[{i}]"), r)).collect()
        }
    };
    let mut seen = HashSet::new();
    let first_fam = list.first().map(|(_, r)| r.address.is_ipv6());
    let first_private = list.first().map(|(_, r)| r.private.is_some());
    for (p, r) in &list {
        if r.address.is_unspecified() || r.address.is_multicast() {
            sink.error(
                sink.at(&format!("{p}.address")),
                format!("router address {} is not a unicast address", r.address),
            );
        }
        if !seen.insert(r.address) {
            sink.error(
                sink.at(&format!("{p}.address")),
                format!("router address {} is listed twice", r.address),
            );
        }
        if Some(r.address.is_ipv6()) != first_fam {
            sink.error(
                sink.at(&format!("{p}.address")),
                "all routers must use the same address family",
            );
        }
        if let Some(private) = r.private {
            if private.is_ipv6() != r.address.is_ipv6() {
                sink.error(
                    sink.at(&format!("{p}.private")),
                    "private address family differs from the public address",
                );
            }
            if private.is_unspecified() || private.is_multicast() {
                sink.error(
                    sink.at(&format!("{p}.private")),
                    format!("private address {private} is not a unicast address"),
                );
            }
        }
        if Some(r.private.is_some()) != first_private {
            sink.error(
                sink.at(p),
                "either every router has a private heartbeat address or none has",
            );
        }
    }
}

/// Checks a VIP-like address, its interface and prefix.
fn iface(sink: &mut Sink, p: &str, addr: &IpAddr, name: &str, netmask: Option<u8>) {
    let ip = format!("{p}.interface");
    if let Err(e) = values::ifname(name) {
        sink.error(sink.at(&ip), e);
    } else if addr.is_ipv6() && name.contains(':') {
        sink.error(
            sink.at(&ip),
            format!("{addr} is ipv6 but `{name}` is an ipv4 alias label: ipv6 addresses go on the interface itself"),
        );
    }
    if let Some(m) = netmask {
        let max = if addr.is_ipv6() { 128 } else { 32 };
        if m > max {
            sink.error(
                sink.at(&format!("{p}.netmask")),
                format!("prefix length {m} is too long for {addr}"),
            );
        }
    }
    if addr.is_multicast() {
        sink.error(sink.at(&format!("{p}.address")), format!("{addr} is a multicast address"));
    }
}

fn virtual_service(c: &Config, v: &VirtualService, p: &str, sink: &mut Sink) {
    iface(sink, &format!("{p}.vip"), &v.vip.address, &v.vip.interface, v.vip.netmask);
    if v.vip.address.is_unspecified() && v.active {
        sink.error(
            sink.at(&format!("{p}.vip.address")),
            "an active virtual service needs an address",
        );
    }
    if v.fwmark == Some(0) {
        sink.error(
            sink.at(&format!("{p}.fwmark")),
            "fwmark must not be 0 (leave it out for an address service)",
        );
    }
    if v.port == 0 && v.fwmark.is_none() && v.persistence.is_none() {
        sink.error(
            sink.at(&format!("{p}.port")),
            "port 0 is only allowed with persistence or a fwmark",
        );
    }
    let s = &v.scheduler.0;
    if s.is_empty()
        || s.len() > 15
        || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        sink.error(sink.at(&format!("{p}.scheduler")), format!("invalid scheduler name `{s}`"));
    } else if !v.scheduler.is_known() {
        sink.warn(
            sink.at(&format!("{p}.scheduler")),
            format!("scheduler `{s}` is not one the kernel ships ({})", KNOWN_SCHEDULERS.join(" ")),
        );
    }
    if let Some(per) = &v.persistence {
        if per.timeout == 0 {
            sink.error(
                sink.at(&format!("{p}.persistence.timeout")),
                "persistence timeout must be at least 1 second",
            );
        }
        if let Some(m) = per.netmask {
            let max = if v.vip.address.is_ipv6() { 128 } else { 32 };
            if m > max || (v.vip.address.is_ipv6() && m == 0) {
                sink.error(
                    sink.at(&format!("{p}.persistence.netmask")),
                    format!(
                        "persistence netmask /{m} is out of range for an {} service",
                        fam(&v.vip.address)
                    ),
                );
            }
        }
    }
    if v.one_packet && v.protocol != Protocol::Udp && v.fwmark.is_none() {
        sink.error(
            sink.at(&format!("{p}.one_packet")),
            "one-packet scheduling is only for udp or fwmark services",
        );
    }
    if let Some(sorry) = v.sorry_server {
        if sorry.ip().is_ipv6() != v.vip.address.is_ipv6() {
            sink.error(
                sink.at(&format!("{p}.sorry_server")),
                "sorry server address family differs from the virtual ip",
            );
        }
        if sorry.ip().is_unspecified() {
            sink.error(
                sink.at(&format!("{p}.sorry_server")),
                "sorry server address is unspecified",
            );
        }
    }
    check(&v.check, &format!("{p}.check"), sink);
    let mut names = Seen::new();
    let mut dests = Seen::new();
    for (j, r) in v.real_servers.iter().enumerate() {
        // Formatted only for a problem: a large cluster has tens of
        // thousands of real servers and few problems.
        let rp = |field: &str| format!("{p}.real_servers[{j}].{field}");
        if !names.insert(r.name.as_str()) {
            sink.error(
                sink.at(&rp("name")),
                format!("real server `{}` is defined twice in `{}`", r.name, v.name),
            );
        }
        let dest = std::net::SocketAddr::new(r.address, r.port);
        if !dests.insert(dest) {
            sink.error(
                sink.at(&rp("address")),
                format!("real server {dest} is listed twice in `{}`", v.name),
            );
        }
        if r.address.is_unspecified() || r.address.is_multicast() {
            sink.error(
                sink.at(&rp("address")),
                format!("real server address {} is not a unicast address", r.address),
            );
        }
        let method = r.forwarding.unwrap_or(c.network);
        if r.address.is_ipv6() != v.vip.address.is_ipv6() && method != ForwardMethod::Tunnel {
            sink.error(
                sink.at(&rp("address")),
                format!(
                    "real server {} is {} but the virtual ip is {}: mixed families need tunnel forwarding",
                    r.address,
                    fam(&r.address),
                    fam(&v.vip.address)
                ),
            );
        }
        if r.weight > 65535 {
            sink.error(
                sink.at(&rp("weight")),
                format!("weight {} is out of range (0-65535)", r.weight),
            );
        }
        if r.upper_threshold > 0 && r.lower_threshold > r.upper_threshold {
            sink.error(
                sink.at(&rp("lower_threshold")),
                format!(
                    "lower threshold {} is above the upper threshold {}",
                    r.lower_threshold, r.upper_threshold
                ),
            );
        }
    }
}

fn check(h: &HealthCheck, p: &str, sink: &mut Sink) {
    if h.interval.0 == 0 {
        sink.error(sink.at(&format!("{p}.interval")), "check interval must be greater than 0");
    }
    if h.timeout == Some(Millis(0)) {
        sink.error(sink.at(&format!("{p}.timeout")), "check timeout must be greater than 0");
    }
    match &h.kind {
        CheckKind::Connect { expect, regex, .. } => {
            if *regex {
                match expect {
                    None => sink.error(
                        sink.at(&format!("{p}.regex")),
                        "`regex` is set but there is no `expect`",
                    ),
                    Some(e) => regex_ok(e, &format!("{p}.expect"), sink),
                }
            }
        }
        CheckKind::Program { command, expect } => {
            if command.trim().is_empty() {
                sink.error(sink.at(&format!("{p}.command")), "check command is empty");
            }
            if expect.is_none() {
                sink.warn(
                    sink.at(p),
                    "a program check without `expect` never succeeds (as in piranha); use `type: agent` to judge by exit status",
                );
            }
        }
        CheckKind::Agent { command, .. } => {
            if command.trim().is_empty() {
                sink.error(sink.at(&format!("{p}.command")), "check command is empty");
            }
        }
        CheckKind::Http { path, status, body_regex, .. } => {
            if !path.starts_with('/') || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
                sink.error(
                    sink.at(&format!("{p}.path")),
                    format!("http path `{path}` must start with `/` and contain no spaces"),
                );
            }
            if status.is_empty() {
                sink.error(
                    sink.at(&format!("{p}.status")),
                    "http check needs at least one status code",
                );
            }
            for s in status {
                if !(100..=599).contains(s) {
                    sink.error(
                        sink.at(&format!("{p}.status")),
                        format!("http status {s} is out of range (100-599)"),
                    );
                }
            }
            if let Some(r) = body_regex {
                regex_ok(r, &format!("{p}.body_regex"), sink);
            }
        }
        CheckKind::None => {}
    }
}

fn regex_ok(r: &str, path: &str, sink: &mut Sink) {
    if let Err(e) = regex::Regex::new(r) {
        let text = e.to_string();
        let last = text.lines().last().unwrap_or("invalid").trim();
        let first = last.strip_prefix("error:").unwrap_or(last).trim().to_lowercase();
        sink.error(sink.at(path), format!("invalid regular expression `{r}`: {first}"));
    }
}
