//! Checks on the whole model that no single value can show: duplicates,
//! address families, ranges that depend on other fields.
//!
//! Both front ends run these checks, so a rule is written once. Positions
//! come from the paths the front ends recorded while reading.

use std::collections::HashSet;
use std::net::IpAddr;

mod datapath;
mod ecmp;

use crate::diag::Sink;
use crate::model::*;
use crate::values;

mod pattern;

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

/// Reports a name or command that breaks the shared rule
/// ([`values::name_or_command`]) at `path`.
fn text(sink: &mut Sink, path: Path, what: &str, value: &str) {
    if let Err(e) = values::name_or_command(what, value) {
        sink.error(path.at(sink), e);
    }
}

/// [`text`] for a file path, as the text it was written with.
fn path_text(sink: &mut Sink, path: Path, what: &str, value: &std::path::Path) {
    text(sink, path, what, &value.to_string_lossy());
}

fn fam(a: &IpAddr) -> &'static str {
    if a.is_ipv6() {
        "ipv6"
    } else {
        "ipv4"
    }
}

/// What identifies a virtual service in the kernel.
#[derive(PartialEq, Eq, Hash)]
enum ServiceKey {
    /// A firewall mark, and whether the service is IPv6.
    Fwmark(u32, bool),
    /// A protocol and an address with its port.
    Addr(Protocol, std::net::SocketAddr),
}

/// A model path (`virtual_services[3].vip`), formatted only when a
/// problem is reported at it: a large cluster has thousands of services
/// and few problems, and formatting a path for each took a tenth of a load.
#[derive(Clone, Copy, Debug)]
enum Path<'a> {
    /// A path of keys: `virtual_services`, `routers.pool`.
    Key(&'static str),
    /// An item of a list.
    Item(&'a Path<'a>, usize),
    /// A field (or dotted fields) below a path.
    Field(&'a Path<'a>, &'static str),
}

impl<'a> Path<'a> {
    /// The field `key` (such as `vip.address`) below this path.
    fn field(&'a self, key: &'static str) -> Path<'a> {
        Path::Field(self, key)
    }

    /// Item `i` of this list.
    fn item(&'a self, i: usize) -> Path<'a> {
        Path::Item(self, i)
    }

    /// Where this path was read.
    fn at(&self, sink: &Sink) -> crate::diag::Pos {
        sink.at(&self.to_string())
    }
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Key(k) => f.write_str(k),
            Path::Item(p, i) => write!(f, "{p}[{i}]"),
            Path::Field(p, k) => write!(f, "{p}.{k}"),
        }
    }
}

/// Runs every check, reporting each problem.
pub(crate) fn config(c: &Config, sink: &mut Sink) {
    config_as(c, sink, c.ecmp());
}

/// [`config`], with the rules of active-active routers (`validate/ecmp.rs`)
/// when `ecmp`: the tests ask for them on any configuration.
pub(crate) fn config_as(c: &Config, sink: &mut Sink, ecmp: bool) {
    // Heartbeat rules matter only when heartbeats are sent: with failover
    // on and another router to hear them. piranha runs a lone router
    // (`backup_active = 0` or no backup) whatever its `keepalive`,
    // `deadtime` and second channel, so there these rules are warnings.
    let heartbeats = c.backup_active && c.routers.all().len() > 1;
    let report = |sink: &mut Sink, path: &str, message: String| {
        if heartbeats {
            sink.error(sink.at(path), message);
        } else {
            sink.warn(
                sink.at(path),
                format!("{message} (not an error here: this router sends no heartbeats)"),
            );
        }
    };
    routers(c, sink, &report);
    let hb = &c.heartbeat;
    // Kept as errors even for a lone router: pulse still opens its port and
    // paces its loop by `keepalive` (docs/lvs-cf.md).
    if hb.port == 0 {
        sink.error(sink.at("heartbeat.port"), "heartbeat port must not be 0");
    }
    if hb.keepalive.0 == 0 {
        sink.error(sink.at("heartbeat.keepalive"), "keepalive must be greater than 0");
    }
    if hb.deadtime <= hb.keepalive {
        report(
            sink,
            "heartbeat.deadtime",
            format!("deadtime ({}) must be greater than keepalive ({})", hb.deadtime, hb.keepalive),
        );
    }
    if heartbeats && hb.protocol == HeartbeatProtocol::Native && hb.auth_key_file.is_none() {
        sink.error(
            sink.at("heartbeat"),
            "native heartbeats need `auth_key_file` (or set `protocol: piranha` for unauthenticated piranha heartbeats)",
        );
    }
    if let Some(cmd) = &c.active_cmd {
        text(sink, Path::Key("active_cmd"), "`active_cmd`", cmd);
    }
    if let Some(cmd) = &c.inactive_cmd {
        text(sink, Path::Key("inactive_cmd"), "`inactive_cmd`", cmd);
    }
    if let Some(k) = &hb.auth_key_file {
        path_text(sink, Path::Key("heartbeat.auth_key_file"), "`auth_key_file`", k);
    }
    let p = &c.paths;
    for (key, what, value) in [
        ("paths.lvsd", "`lvsd`", &p.lvsd),
        ("paths.nanny", "`nanny`", &p.nanny),
        ("paths.ipvsadm", "`ipvsadm`", &p.ipvsadm),
        ("paths.fos", "`fos`", &p.fos),
        ("paths.send_arp", "`send_arp`", &p.send_arp),
    ] {
        path_text(sink, Path::Key(key), what, value);
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
        iface(sink, Path::Key("nat_router"), &n.address, &n.interface, n.netmask);
    }
    if let Some(s) = &c.sync_daemon {
        if let Err(e) = values::ifname(&s.interface) {
            sink.error(sink.at("sync_daemon.interface"), e);
        }
        if s.both && c.standby == Standby::Cold {
            // lvsd runs the two daemons, and a cold standby has no lvsd.
            sink.error(
                sink.at("sync_daemon.both"),
                "`both: true` needs `standby: hot`: lvsd runs both daemons, and a cold standby router runs no lvsd",
            );
        }
    }
    let mut names = HashSet::new();
    let mut keys = HashSet::new();
    let list = Path::Key("virtual_services");
    for (i, v) in c.virtual_services.iter().enumerate() {
        let p = list.item(i);
        text(sink, p.field("name"), "the virtual service name", &v.name);
        if !names.insert(v.name.as_str()) {
            sink.error(
                p.field("name").at(sink),
                format!("virtual service `{}` is defined twice", v.name),
            );
        }
        // What identifies the service in the kernel; as text only for a
        // message.
        let key = match v.fwmark {
            Some(m) => ServiceKey::Fwmark(m, v.vip.address.is_ipv6()),
            None => ServiceKey::Addr(v.protocol, std::net::SocketAddr::new(v.vip.address, v.port)),
        };
        if !v.vip.address.is_unspecified() && !keys.insert(key) {
            let key = match v.fwmark {
                Some(m) => format!("fwmark {m} {}", fam(&v.vip.address)),
                None => format!(
                    "{} {}",
                    v.protocol.name(),
                    std::net::SocketAddr::new(v.vip.address, v.port)
                ),
            };
            sink.error(
                p.at(sink),
                format!("virtual service `{}` duplicates another service ({key})", v.name),
            );
        }
        virtual_service(c, v, p, sink);
    }
    let mut names = HashSet::new();
    let list = Path::Key("failover_services");
    for (i, f) in c.failover_services.iter().enumerate() {
        let p = list.item(i);
        text(sink, p.field("name"), "the failover service name", &f.name);
        if !names.insert(f.name.as_str()) {
            sink.error(
                p.field("name").at(sink),
                format!("failover service `{}` is defined twice", f.name),
            );
        }
        text(sink, p.field("start_cmd"), "`start_cmd`", &f.start_cmd);
        text(sink, p.field("stop_cmd"), "`stop_cmd`", &f.stop_cmd);
        if let Some(m) = &f.monitor {
            path_text(sink, p.field("monitor"), "`monitor`", m);
        }
        iface(sink, p.field("vip"), &f.vip.address, &f.vip.interface, f.vip.netmask);
        if f.vip.address.is_unspecified() && f.active {
            sink.error(
                p.field("vip.address").at(sink),
                "an active failover service needs an address",
            );
        }
        check(&f.check, p.field("check"), sink);
        // Only where pulse runs it: piranha files keep unused blocks.
        if c.service == ServiceMode::Fos
            && f.active
            && !matches!(
                f.check.kind,
                CheckKind::Connect { .. } | CheckKind::Program { .. } | CheckKind::None
            )
        {
            sink.error(
                p.field("check").at(sink),
                "a failover service is checked by `connect`, `program` or `none` only",
            );
        }
    }
    datapath::config(c, sink);
    if ecmp {
        ecmp::rules(c, sink);
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

/// Router rules; `heartbeat_rule` reports those that matter only when
/// heartbeats are sent (an error then, else a warning).
fn routers(c: &Config, sink: &mut Sink, heartbeat_rule: &dyn Fn(&mut Sink, &str, String)) {
    let pool_path = Path::Key("routers.pool");
    let list: Vec<(Path, &Router)> = match &c.routers {
        Routers::Pair { primary, backup } => {
            let mut l = vec![(Path::Key("routers.primary"), primary)];
            if let Some(b) = backup {
                l.push((Path::Key("routers.backup"), b));
            }
            l
        }
        Routers::Pool { pool } => {
            if pool.is_empty() {
                sink.error(pool_path.at(sink), "the router pool is empty");
            }
            pool.iter().enumerate().map(|(i, r)| (pool_path.item(i), r)).collect()
        }
        Routers::Ecmp { ecmp, route_table, min_servers } => {
            return ecmp_routers(c, sink, ecmp, *route_table, *min_servers);
        }
    };
    let mut seen = HashSet::new();
    let first_fam = list.first().map(|(_, r)| r.address.is_ipv6());
    let first_private = list.first().map(|(_, r)| r.private.is_some());
    for (p, r) in &list {
        if r.address.is_unspecified() || r.address.is_multicast() {
            sink.error(
                p.field("address").at(sink),
                format!("router address {} is not a unicast address", r.address),
            );
        }
        if let Some(d) = &r.shared_disk {
            path_text(sink, p.field("shared_disk"), "`shared_disk`", d);
        }
        if !seen.insert(r.address) {
            sink.error(
                p.field("address").at(sink),
                format!("router address {} is listed twice", r.address),
            );
        }
        if Some(r.address.is_ipv6()) != first_fam {
            heartbeat_rule(
                sink,
                &p.field("address").to_string(),
                "all routers must use the same address family".to_owned(),
            );
        }
        if let Some(private) = r.private {
            if private.is_ipv6() != r.address.is_ipv6() {
                heartbeat_rule(
                    sink,
                    &p.field("private").to_string(),
                    "private address family differs from the public address".to_owned(),
                );
            }
            if private.is_unspecified() || private.is_multicast() {
                heartbeat_rule(
                    sink,
                    &p.field("private").to_string(),
                    format!("private address {private} is not a unicast address"),
                );
            }
        }
        if Some(r.private.is_some()) != first_private {
            heartbeat_rule(
                sink,
                &p.to_string(),
                "either every router has a private heartbeat address or none has".to_owned(),
            );
        }
    }
}

/// Kernel tables pulse must not write VIP routes to: unspecified,
/// default, main and local.
const RESERVED_TABLES: [u32; 4] = [0, 253, 254, 255];

/// The ECMP directors: names and addresses unique, a table of our own, a
/// threshold of at least one server, and VIPs that are host addresses
/// (each announced as a /32 or /128).
fn ecmp_routers(c: &Config, sink: &mut Sink, list: &[EcmpRouter], table: u32, min: u32) {
    let path = Path::Key("routers.ecmp");
    if list.is_empty() {
        sink.error(path.at(sink), "the ECMP group has no director");
    }
    let (mut names, mut addrs) = (HashSet::new(), HashSet::new());
    for (i, r) in list.iter().enumerate() {
        let p = path.item(i);
        text(sink, p.field("name"), "`name`", &r.name);
        if !names.insert(r.name.as_str()) {
            sink.error(p.field("name").at(sink), format!("director {} is listed twice", r.name));
        }
        if r.address.is_unspecified() || r.address.is_multicast() {
            sink.error(
                p.field("address").at(sink),
                format!("director address {} is not a unicast address", r.address),
            );
        } else if !addrs.insert(r.address) {
            sink.error(
                p.field("address").at(sink),
                format!("director address {} is listed twice", r.address),
            );
        }
    }
    if RESERVED_TABLES.contains(&table) {
        sink.error(
            Path::Key("routers.route_table").at(sink),
            format!("route table {table} is the kernel's own: pick one for the VIP routes alone (1-252)"),
        );
    }
    if min == 0 {
        sink.error(
            Path::Key("routers.min_servers").at(sink),
            "min_servers must be at least 1: a VIP with no real server up must be withdrawn",
        );
    }
    if c.service == ServiceMode::Fos {
        sink.error(
            Path::Key("routers.ecmp").at(sink),
            "ECMP directors run virtual services, not failover services",
        );
    }
    let vs_path = Path::Key("virtual_services");
    for (i, vs) in c.virtual_services.iter().enumerate().filter(|(_, v)| v.active) {
        let max = if vs.vip.address.is_ipv6() { 128 } else { 32 };
        if vs.vip.netmask.is_some_and(|m| m != max) {
            sink.error(
                vs_path.item(i).field("vip.netmask").at(sink),
                format!("an ECMP VIP is a host address announced as /{max}: leave out netmask or make it {max}"),
            );
        }
    }
}

/// Checks a VIP-like address, its interface and prefix.
fn iface(sink: &mut Sink, p: Path, addr: &IpAddr, name: &str, netmask: Option<u8>) {
    let ip = p.field("interface");
    if let Err(e) = values::ifname(name) {
        sink.error(ip.at(sink), e);
    } else if addr.is_ipv6() && name.contains(':') {
        sink.error(
            ip.at(sink),
            format!("{addr} is ipv6 but `{name}` is an ipv4 alias label: ipv6 addresses go on the interface itself"),
        );
    }
    if let Some(m) = netmask {
        let max = if addr.is_ipv6() { 128 } else { 32 };
        if m > max {
            sink.error(
                p.field("netmask").at(sink),
                format!("prefix length {m} is too long for {addr}"),
            );
        }
    }
    if addr.is_multicast() {
        sink.error(p.field("address").at(sink), format!("{addr} is a multicast address"));
    }
}

fn virtual_service(c: &Config, v: &VirtualService, p: Path, sink: &mut Sink) {
    iface(sink, p.field("vip"), &v.vip.address, &v.vip.interface, v.vip.netmask);
    if v.vip.address.is_unspecified() && v.active {
        sink.error(p.field("vip.address").at(sink), "an active virtual service needs an address");
    }
    if let Some(m) = &v.monitor {
        path_text(sink, p.field("monitor"), "`monitor`", m);
    }
    if v.fwmark == Some(0) {
        sink.error(
            p.field("fwmark").at(sink),
            "fwmark must not be 0 (leave it out for an address service)",
        );
    }
    if v.port == 0 && v.fwmark.is_none() && v.persistence.is_none() {
        sink.error(p.field("port").at(sink), "port 0 is only allowed with persistence or a fwmark");
    }
    let s = &v.scheduler.0;
    if s.is_empty()
        || s.len() > 15
        || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        sink.error(p.field("scheduler").at(sink), format!("invalid scheduler name `{s}`"));
    } else if !v.scheduler.is_known() {
        sink.warn(
            p.field("scheduler").at(sink),
            format!("scheduler `{s}` is not one the kernel ships ({})", KNOWN_SCHEDULERS.join(" ")),
        );
    }
    if let Some(per) = &v.persistence {
        if per.timeout == 0 {
            sink.error(
                p.field("persistence.timeout").at(sink),
                "persistence timeout must be at least 1 second",
            );
        }
        if let Some(m) = per.netmask {
            let max = if v.vip.address.is_ipv6() { 128 } else { 32 };
            if m > max || (v.vip.address.is_ipv6() && m == 0) {
                sink.error(
                    p.field("persistence.netmask").at(sink),
                    format!(
                        "persistence netmask /{m} is out of range for an {} service",
                        fam(&v.vip.address)
                    ),
                );
            }
        }
    }
    if let Some(MinUp::Count(n)) = v.min_up {
        let active = v.real_servers.iter().filter(|r| r.active).count();
        if usize::try_from(n).unwrap_or(usize::MAX) > active {
            sink.warn(
                p.field("min_up").at(sink),
                format!("`min_up: {n}` is more than the {active} active real servers: no failing server will leave"),
            );
        }
    }
    if v.one_packet && v.protocol != Protocol::Udp && v.fwmark.is_none() {
        sink.error(
            p.field("one_packet").at(sink),
            "one-packet scheduling is only for udp or fwmark services",
        );
    }
    if let Some(sorry) = v.sorry_server {
        if sorry.ip().is_ipv6() != v.vip.address.is_ipv6() {
            sink.error(
                p.field("sorry_server").at(sink),
                "sorry server address family differs from the virtual ip",
            );
        }
        if sorry.ip().is_unspecified() {
            sink.error(p.field("sorry_server").at(sink), "sorry server address is unspecified");
        }
    }
    check(&v.check, p.field("check"), sink);
    datapath::virtual_service(c, v, p, sink);
    let mut names = Seen::new();
    let mut dests = Seen::new();
    let list = p.field("real_servers");
    for (j, r) in v.real_servers.iter().enumerate() {
        let rp = list.item(j);
        text(sink, rp.field("name"), "the real server name", &r.name);
        if !names.insert(r.name.as_str()) {
            sink.error(
                rp.field("name").at(sink),
                format!("real server `{}` is defined twice in `{}`", r.name, v.name),
            );
        }
        let dest = std::net::SocketAddr::new(r.address, r.port);
        if !dests.insert(dest) {
            sink.error(
                rp.field("address").at(sink),
                format!("real server {dest} is listed twice in `{}`", v.name),
            );
        }
        if r.address.is_unspecified() || r.address.is_multicast() {
            sink.error(
                rp.field("address").at(sink),
                format!("real server address {} is not a unicast address", r.address),
            );
        }
        let method = r.forwarding.unwrap_or(c.network);
        if r.address.is_ipv6() != v.vip.address.is_ipv6() && method != ForwardMethod::Tunnel {
            sink.error(
                rp.field("address").at(sink),
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
                rp.field("weight").at(sink),
                format!("weight {} is out of range (0-65535)", r.weight),
            );
        }
        if r.upper_threshold > 0 && r.lower_threshold > r.upper_threshold {
            sink.error(
                rp.field("lower_threshold").at(sink),
                format!(
                    "lower threshold {} is above the upper threshold {}",
                    r.lower_threshold, r.upper_threshold
                ),
            );
        }
    }
}

fn check(h: &HealthCheck, p: Path, sink: &mut Sink) {
    if h.interval.0 == 0 {
        sink.error(p.field("interval").at(sink), "check interval must be greater than 0");
    }
    if h.timeout == Some(Millis(0)) {
        sink.error(p.field("timeout").at(sink), "check timeout must be greater than 0");
    }
    match &h.kind {
        CheckKind::Connect { expect, regex, .. } => {
            if *regex {
                // piranha's nanny matches a regex only against an expect
                // string; without one, `use_regex = 1` does nothing.
                match expect {
                    None => sink
                        .warn(p.field("regex").at(sink), "`regex` has no effect without `expect`"),
                    Some(e) => regex_ok(e, p.field("expect"), sink),
                }
            }
        }
        CheckKind::Program { command, expect } => {
            if command.is_empty() {
                sink.error(p.field("command").at(sink), "check command is empty");
            }
            text(sink, p.field("command"), "the check command", command);
            if expect.is_none() {
                sink.warn(
                    p.at(sink),
                    "a program check without `expect` never succeeds (as in piranha); use `type: agent` to judge by exit status",
                );
            }
        }
        CheckKind::Agent { command, on_up, on_down } => {
            if command.is_empty() {
                sink.error(p.field("command").at(sink), "check command is empty");
            }
            text(sink, p.field("command"), "the check command", command);
            if let Some(c) = on_up {
                text(sink, p.field("on_up"), "`on_up`", c);
            }
            if let Some(c) = on_down {
                text(sink, p.field("on_down"), "`on_down`", c);
            }
        }
        CheckKind::Http { path, host, status, body_regex, .. } => {
            if let Some(h) = host {
                text(sink, p.field("host"), "the http host", h);
            }
            if !path.starts_with('/') || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
                sink.error(
                    p.field("path").at(sink),
                    format!("http path `{path}` must start with `/` and contain no spaces"),
                );
            }
            if status.is_empty() {
                sink.error(p.field("status").at(sink), "http check needs at least one status code");
            }
            for s in status {
                if !(100..=599).contains(s) {
                    sink.error(
                        p.field("status").at(sink),
                        format!("http status {s} is out of range (100-599)"),
                    );
                }
            }
            if let Some(r) = body_regex {
                regex_ok(r, p.field("body_regex"), sink);
            }
        }
        CheckKind::Ping { count } => {
            if !(1..=100).contains(count) {
                sink.error(p.field("count").at(sink), "ping count must be 1-100");
            }
        }
        CheckKind::Dns { query, .. } => {
            if let Err(why) = dns_name_ok(query) {
                sink.error(p.field("query").at(sink), format!("dns query `{query}`: {why}"));
            }
        }
        CheckKind::None => {}
    }
}

/// Whether `name` can be put in a DNS question (RFC 1035 §2.3.4): labels
/// of 1-63 bytes, at most 255 bytes on the wire; `.` is the root.
fn dns_name_ok(name: &str) -> Result<(), &'static str> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return if name.is_empty() { Err("empty name") } else { Ok(()) };
    }
    let mut wire = 1;
    for label in trimmed.split('.') {
        if label.is_empty() {
            return Err("empty label");
        }
        if label.len() > 63 {
            return Err("label longer than 63 bytes");
        }
        wire += 1 + label.len();
    }
    if wire > 255 {
        return Err("name longer than 255 bytes");
    }
    Ok(())
}

fn regex_ok(r: &str, path: Path, sink: &mut Sink) {
    if let Some(why) = pattern::problem(r) {
        sink.error(path.at(sink), format!("invalid regular expression `{r}`: {why}"));
    }
}
