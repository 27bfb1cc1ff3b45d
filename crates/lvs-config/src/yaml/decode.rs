//! Positioned YAML tree → [`Config`], reporting every problem.
//!
//! This decoder follows the serde layout of the model (the same keys, the
//! same defaults) but keeps going after a problem, so that all unknown keys,
//! wrong types and bad values of a file are reported together, each at the
//! node it is about. It records where each model path was read so the
//! validator can point at it too.

use std::net::IpAddr;
use std::path::PathBuf;

use super::tree::{Children, Kind, Node};
use crate::diag::{Loc, Pos, Sink};
use crate::model::*;
use crate::values;

/// A mapping being read: its entries, which of them were used, its path.
struct Map<'n> {
    pos: Pos,
    loc: Loc,
    entries: Vec<(&'n str, Pos, Node<'n>, bool)>,
    /// Every key asked for, present or not: the keys this mapping may hold.
    known: Vec<&'static str>,
}

/// Mappings up to this size find duplicate keys by looking through the
/// keys already read; larger ones use a set, so that a huge mapping in a
/// bad file is not quadratic.
const SMALL_MAP: usize = 32;

impl<'n> Map<'n> {
    /// Reads `node`, recorded at `loc`, as a mapping with scalar keys;
    /// reports duplicate keys.
    fn new(sink: &mut Sink, node: Node<'n>, loc: Loc, what: &str) -> Option<Map<'n>> {
        let Kind::Map(entries) = node.kind() else {
            sink.error(
                node.pos(),
                format!("{what}: expected a mapping, found {}", node.describe()),
            );
            return None;
        };
        let len = entries.len();
        let mut out: Vec<(&'n str, Pos, Node<'n>, bool)> = Vec::with_capacity(len);
        let mut seen = std::collections::HashMap::new();
        for (k, v) in entries {
            let Kind::Scalar { text, .. } = k.kind() else {
                sink.error(
                    k.pos(),
                    format!("{what}: keys must be plain words, found {}", k.describe()),
                );
                continue;
            };
            let first = if len <= SMALL_MAP {
                out.iter().find(|(key, ..)| *key == text).map(|e| e.1)
            } else {
                seen.insert(text, k.pos())
            };
            if let Some(first) = first {
                // A YAML mapping with a repeated key is not valid YAML
                // (unlike lvs.cf, where piranha keeps the last value).
                sink.error(
                    k.pos(),
                    format!(
                        "duplicate key `{text}` (first at line {}, column {})",
                        first.line, first.column
                    ),
                );
                continue;
            }
            out.push((text, k.pos(), v, false));
        }
        // One allocation for the keys asked of most mappings.
        Some(Map { pos: node.pos(), loc, entries: out, known: Vec::with_capacity(24) })
    }

    /// Takes the value of `key`, if present. An empty or null value is an
    /// error: no key gives a meaning to "no value", and a file cut short
    /// (`deadtime:` as its last line) must not load with a default.
    fn get(&mut self, sink: &mut Sink, key: &'static str) -> Option<(Node<'n>, Loc)> {
        self.known.push(key);
        let entry = self.entries.iter_mut().find(|(k, ..)| *k == key)?;
        entry.3 = true;
        let loc = sink.loc(self.loc, key, entry.2.pos());
        if entry.2.is_null() {
            sink.error(entry.2.pos(), format!("`{key}` has no value"));
            return None;
        }
        Some((entry.2, loc))
    }

    /// Takes a required value, reporting its absence at the mapping.
    fn need(&mut self, sink: &mut Sink, key: &'static str, what: &str) -> Option<(Node<'n>, Loc)> {
        let got = self.get(sink, key);
        // An empty value was reported by `get`.
        if got.is_none() && !self.entries.iter().any(|(k, ..)| *k == key) {
            sink.error(self.pos, format!("{what}: missing key `{key}`"));
        }
        got
    }

    /// Reports every key that was not read.
    fn finish(self, sink: &mut Sink, what: &str) {
        for (key, pos, _, used) in self.entries {
            if !used {
                let hint = values::did_you_mean(key, self.known.iter().copied());
                sink.error(pos, format!("unknown key `{key}` in {what}{hint}"));
            }
        }
    }
}

fn scalar<'n>(sink: &mut Sink, n: Node<'n>, key: &str, expected: &str) -> Option<(&'n str, bool)> {
    match n.kind() {
        Kind::Scalar { text, plain } => Some((text, plain)),
        _ => {
            sink.error(n.pos(), format!("`{key}`: expected {expected}, found {}", n.describe()));
            None
        }
    }
}

fn string(sink: &mut Sink, n: Node, key: &str) -> Option<String> {
    scalar(sink, n, key, "a string").map(|(t, _)| t.to_owned())
}

/// A string that is not empty; blank and control characters are the
/// validator's (`values::name_or_command`), the same for both front ends.
fn nonempty(sink: &mut Sink, n: Node, key: &str) -> Option<String> {
    let s = string(sink, n, key)?;
    if s.is_empty() {
        sink.error(n.pos(), format!("`{key}` is empty"));
        return None;
    }
    Some(s)
}

fn boolean(sink: &mut Sink, n: Node, key: &str) -> Option<bool> {
    let (t, plain) = scalar(sink, n, key, "true or false")?;
    match (t, plain) {
        ("true" | "True" | "TRUE", true) => Some(true),
        ("false" | "False" | "FALSE", true) => Some(false),
        _ => {
            sink.error(n.pos(), format!("`{key}`: expected true or false, found {}", n.describe()));
            None
        }
    }
}

fn uint(sink: &mut Sink, n: Node, key: &str, max: u64) -> Option<u64> {
    let (t, plain) = scalar(sink, n, key, "an integer")?;
    match values::int(t) {
        Some(v) if plain && v <= max => Some(v),
        Some(_) if plain => {
            sink.error(n.pos(), format!("`{key}`: {t} is out of range (0-{max})"));
            None
        }
        _ => {
            sink.error(
                n.pos(),
                format!("`{key}`: expected an integer 0-{max}, found {}", n.describe()),
            );
            None
        }
    }
}

fn u32_(sink: &mut Sink, n: Node, key: &str, max: u32) -> Option<u32> {
    uint(sink, n, key, u64::from(max)).and_then(|v| u32::try_from(v).ok())
}

fn millis(sink: &mut Sink, n: Node, key: &str) -> Option<Millis> {
    let (t, _) = scalar(sink, n, key, "a duration")?;
    match Millis::parse(t) {
        Ok(m) => Some(m),
        Err(e) => {
            sink.error(n.pos(), format!("`{key}`: {e}"));
            None
        }
    }
}

fn ip(sink: &mut Sink, n: Node, key: &str) -> Option<IpAddr> {
    let (t, _) = scalar(sink, n, key, "an ip address")?;
    match values::ip(t) {
        Ok(a) => Some(a),
        Err(e) => {
            sink.error(n.pos(), format!("`{key}`: {e}"));
            None
        }
    }
}

fn port(sink: &mut Sink, n: Node, key: &str) -> Option<u16> {
    let (t, plain) = scalar(sink, n, key, "a port")?;
    if !plain && values::int(t).is_some() {
        sink.error(
            n.pos(),
            format!("`{key}`: expected a port number, found the string {}", n.describe()),
        );
        return None;
    }
    match values::port(t) {
        Ok(p) => Some(p),
        Err(e) => {
            sink.error(n.pos(), format!("`{key}`: {e}"));
            None
        }
    }
}

fn netmask(sink: &mut Sink, n: Node, key: &str, v6: Option<bool>) -> Option<u8> {
    let (t, _) = scalar(sink, n, key, "a netmask")?;
    match values::netmask(t, v6) {
        Ok(p) => Some(p),
        Err(e) => {
            sink.error(n.pos(), format!("`{key}`: {e}"));
            None
        }
    }
}

fn choice<T: Copy>(sink: &mut Sink, n: Node, key: &str, table: &[(&str, T)]) -> Option<T> {
    let names: Vec<&str> = table.iter().map(|(k, _)| *k).collect();
    let expected = names.join(", ");
    let (t, _) = scalar(sink, n, key, &format!("one of {expected}"))?;
    match table.iter().find(|(k, _)| *k == t) {
        Some((_, v)) => Some(*v),
        None => {
            sink.error(
                n.pos(),
                format!("`{key}`: expected one of {expected}, found {}", n.describe()),
            );
            None
        }
    }
}

/// The items of a list; none (after reporting) if `n` is not one.
fn seq<'n>(sink: &mut Sink, n: Node<'n>, key: &str) -> Children<'n> {
    match n.kind() {
        Kind::Seq(items) => items,
        _ => {
            sink.error(n.pos(), format!("`{key}`: expected a list, found {}", n.describe()));
            n.no_children()
        }
    }
}

// Stand-ins for values that were missing or invalid, so that decoding and
// validation go on and report every other problem. Their own problem has
// already been reported at their position, where the validator's remarks
// about them are dropped; a file with any error yields no config.
const UNSPECIFIED: IpAddr = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);

fn placeholder_router() -> Router {
    Router { address: UNSPECIFIED, private: None, shared_disk: None }
}

fn placeholder_vip() -> Vip {
    Vip { address: UNSPECIFIED, interface: String::new(), netmask: None }
}

/// Decodes the root node. Returns a config whenever the shape allowed one
/// to be built; the caller rejects it if the sink holds errors.
pub(crate) fn config(root: Node<'_>, sink: &mut Sink) -> Option<Config> {
    // About one recorded path per scalar value: 5 of the 9 nodes of a
    // real server written as a flow mapping, fewer elsewhere.
    sink.reserve_locs(root.size() / 8 * 5 + 16);
    sink.record_root(root.pos());
    let at = sink.root();
    let mut m = Map::new(sink, root, at, "the configuration")?;
    let service = m
        .get(sink, "service")
        .and_then(|(n, _)| {
            choice(sink, n, "service", &[("lvs", ServiceMode::Lvs), ("fos", ServiceMode::Fos)])
        })
        .unwrap_or_default();
    let serial_no = m
        .get(sink, "serial_no")
        .and_then(|(n, _)| uint(sink, n, "serial_no", u64::MAX))
        .unwrap_or(0);
    let routers =
        m.need(sink, "routers", "the configuration").and_then(|(n, p)| routers(sink, n, p));
    let backup_active = m
        .get(sink, "backup_active")
        .and_then(|(n, _)| boolean(sink, n, "backup_active"))
        .unwrap_or(true);
    let preempt =
        m.get(sink, "preempt").and_then(|(n, _)| boolean(sink, n, "preempt")).unwrap_or(false);
    let standby = m
        .get(sink, "standby")
        .and_then(|(n, _)| {
            choice(sink, n, "standby", &[("hot", Standby::Hot), ("cold", Standby::Cold)])
        })
        .unwrap_or_default();
    let heartbeat =
        m.get(sink, "heartbeat").and_then(|(n, p)| heartbeat(sink, n, p)).unwrap_or_default();
    let arp = m.get(sink, "arp").and_then(|(n, p)| arp(sink, n, p)).unwrap_or_default();
    let network = m
        .get(sink, "network")
        .and_then(|(n, _)| choice(sink, n, "network", values::FORWARD))
        .unwrap_or_default();
    let nat_router = m.get(sink, "nat_router").and_then(|(n, p)| nat_router(sink, n, p));
    let sync_daemon = m.get(sink, "sync_daemon").and_then(|(n, p)| sync_daemon(sink, n, p));
    let ipvs_timeouts =
        m.get(sink, "ipvs_timeouts").and_then(|(n, p)| timeouts(sink, n, p)).unwrap_or_default();
    let active_cmd = m.get(sink, "active_cmd").and_then(|(n, _)| nonempty(sink, n, "active_cmd"));
    let inactive_cmd =
        m.get(sink, "inactive_cmd").and_then(|(n, _)| nonempty(sink, n, "inactive_cmd"));
    let monitor_links = m
        .get(sink, "monitor_links")
        .and_then(|(n, _)| boolean(sink, n, "monitor_links"))
        .unwrap_or(false);
    let hard_shutdown = m
        .get(sink, "hard_shutdown")
        .and_then(|(n, _)| boolean(sink, n, "hard_shutdown"))
        .unwrap_or(true);
    let rsh_command = m
        .get(sink, "rsh_command")
        .and_then(|(n, _)| {
            choice(sink, n, "rsh_command", &[("rsh", RemoteShell::Rsh), ("ssh", RemoteShell::Ssh)])
        })
        .unwrap_or_default();
    let reservation_conflict_action =
        m.get(sink, "reservation_conflict_action").and_then(|(n, _)| {
            choice(
                sink,
                n,
                "reservation_conflict_action",
                &[
                    ("nothing", ReservationConflictAction::Nothing),
                    ("preempt", ReservationConflictAction::Preempt),
                ],
            )
        });
    let paths = m.get(sink, "paths").and_then(|(n, p)| paths(sink, n, p)).unwrap_or_default();
    let http = m.get(sink, "http").and_then(|(n, p)| http(sink, n, p));
    let mut virtual_services = Vec::new();
    if let Some((n, p)) = m.get(sink, "virtual_services") {
        let items = seq(sink, n, "virtual_services");
        virtual_services.reserve_exact(items.len());
        for (i, item) in items.enumerate() {
            let at = sink.loc(p, i, item.pos());
            if let Some(v) = virtual_service(sink, item, at) {
                virtual_services.push(v);
            }
        }
    }
    let mut failover_services = Vec::new();
    if let Some((n, p)) = m.get(sink, "failover_services") {
        for (i, item) in seq(sink, n, "failover_services").enumerate() {
            let at = sink.loc(p, i, item.pos());
            if let Some(f) = failover_service(sink, item, at) {
                failover_services.push(f);
            }
        }
    }
    m.finish(sink, "the configuration");
    Some(Config {
        service,
        serial_no,
        routers: routers
            .unwrap_or_else(|| Routers::Pair { primary: placeholder_router(), backup: None }),
        backup_active,
        preempt,
        standby,
        heartbeat,
        arp,
        network,
        nat_router,
        sync_daemon,
        ipvs_timeouts,
        active_cmd,
        inactive_cmd,
        monitor_links,
        hard_shutdown,
        rsh_command,
        reservation_conflict_action,
        paths,
        http,
        virtual_services,
        failover_services,
    })
}

fn routers(sink: &mut Sink, n: Node, path: Loc) -> Option<Routers> {
    let mut m = Map::new(sink, n, path, "`routers`")?;
    let has_pool = m.entries.iter().any(|(k, ..)| *k == "pool");
    let out = if has_pool {
        if m.entries.iter().any(|(k, ..)| *k == "primary" || *k == "backup") {
            sink.error(m.pos, "`routers`: use either `pool` or `primary`/`backup`, not both");
        }
        let (list, lp) = m.need(sink, "pool", "`routers`")?;
        let mut pool = Vec::new();
        for (i, item) in seq(sink, list, "pool").enumerate() {
            let at = sink.loc(lp, i, item.pos());
            if let Some(r) = router(sink, item, at, "a pool router") {
                pool.push(r);
            }
        }
        Some(Routers::Pool { pool })
    } else {
        let primary =
            m.need(sink, "primary", "`routers`").and_then(|(n, p)| router(sink, n, p, "`primary`"));
        let backup = m.get(sink, "backup").and_then(|(n, p)| router(sink, n, p, "`backup`"));
        primary.map(|primary| Routers::Pair { primary, backup })
    };
    m.finish(sink, "`routers`");
    out
}

fn router(sink: &mut Sink, n: Node, path: Loc, what: &str) -> Option<Router> {
    let mut m = Map::new(sink, n, path, what)?;
    let address = m.need(sink, "address", what).and_then(|(n, _)| ip(sink, n, "address"));
    let private = m.get(sink, "private").and_then(|(n, _)| ip(sink, n, "private"));
    let shared_disk = m
        .get(sink, "shared_disk")
        .and_then(|(n, _)| nonempty(sink, n, "shared_disk"))
        .map(PathBuf::from);
    m.finish(sink, what);
    Some(Router { address: address.unwrap_or(UNSPECIFIED), private, shared_disk })
}

fn heartbeat(sink: &mut Sink, n: Node, path: Loc) -> Option<Heartbeat> {
    let mut m = Map::new(sink, n, path, "`heartbeat`")?;
    let d = Heartbeat::default();
    let hb = Heartbeat {
        port: m.get(sink, "port").and_then(|(n, _)| port(sink, n, "port")).unwrap_or(d.port),
        keepalive: m
            .get(sink, "keepalive")
            .and_then(|(n, _)| millis(sink, n, "keepalive"))
            .unwrap_or(d.keepalive),
        deadtime: m
            .get(sink, "deadtime")
            .and_then(|(n, _)| millis(sink, n, "deadtime"))
            .unwrap_or(d.deadtime),
        protocol: m
            .get(sink, "protocol")
            .and_then(|(n, _)| {
                choice(
                    sink,
                    n,
                    "protocol",
                    &[
                        ("native", HeartbeatProtocol::Native),
                        ("piranha", HeartbeatProtocol::Piranha),
                    ],
                )
            })
            .unwrap_or_default(),
        auth_key_file: m
            .get(sink, "auth_key_file")
            .and_then(|(n, _)| nonempty(sink, n, "auth_key_file"))
            .map(PathBuf::from),
    };
    m.finish(sink, "`heartbeat`");
    Some(hb)
}

fn arp(sink: &mut Sink, n: Node, path: Loc) -> Option<Arp> {
    let mut m = Map::new(sink, n, path, "`arp`")?;
    let d = Arp::default();
    let a = Arp {
        count: m
            .get(sink, "count")
            .and_then(|(n, _)| u32_(sink, n, "count", 1000))
            .unwrap_or(d.count),
        interval: m
            .get(sink, "interval")
            .and_then(|(n, _)| millis(sink, n, "interval"))
            .unwrap_or(d.interval),
        refresh: m.get(sink, "refresh").and_then(|(n, _)| millis(sink, n, "refresh")),
    };
    m.finish(sink, "`arp`");
    Some(a)
}

fn nat_router(sink: &mut Sink, n: Node, path: Loc) -> Option<NatRouter> {
    let mut m = Map::new(sink, n, path, "`nat_router`")?;
    let address = m.need(sink, "address", "`nat_router`").and_then(|(n, _)| ip(sink, n, "address"));
    let interface =
        m.need(sink, "interface", "`nat_router`").and_then(|(n, _)| string(sink, n, "interface"));
    let v6 = address.map(|a| a.is_ipv6());
    let netmask = m.get(sink, "netmask").and_then(|(n, _)| netmask(sink, n, "netmask", v6));
    m.finish(sink, "`nat_router`");
    Some(NatRouter {
        address: address.unwrap_or(UNSPECIFIED),
        interface: interface.unwrap_or_default(),
        netmask,
    })
}

fn sync_daemon(sink: &mut Sink, n: Node, path: Loc) -> Option<SyncDaemon> {
    let mut m = Map::new(sink, n, path, "`sync_daemon`")?;
    let s = SyncDaemon {
        interface: m
            .get(sink, "interface")
            .and_then(|(n, _)| string(sink, n, "interface"))
            .unwrap_or_else(|| "eth0".to_owned()),
        sync_id: m
            .get(sink, "sync_id")
            .and_then(|(n, _)| uint(sink, n, "sync_id", 255))
            .map_or(0, |v| v as u8),
    };
    m.finish(sink, "`sync_daemon`");
    Some(s)
}

fn timeouts(sink: &mut Sink, n: Node, path: Loc) -> Option<IpvsTimeouts> {
    let mut m = Map::new(sink, n, path, "`ipvs_timeouts`")?;
    let max = i32::MAX as u32;
    let t = IpvsTimeouts {
        tcp: m.get(sink, "tcp").and_then(|(n, _)| u32_(sink, n, "tcp", max)).unwrap_or(0),
        tcpfin: m.get(sink, "tcpfin").and_then(|(n, _)| u32_(sink, n, "tcpfin", max)).unwrap_or(0),
        udp: m.get(sink, "udp").and_then(|(n, _)| u32_(sink, n, "udp", max)).unwrap_or(0),
    };
    m.finish(sink, "`ipvs_timeouts`");
    Some(t)
}

fn paths(sink: &mut Sink, n: Node, path: Loc) -> Option<Paths> {
    let mut m = Map::new(sink, n, path, "`paths`")?;
    let d = Paths::default();
    let mut one = |m: &mut Map, key: &'static str, default: PathBuf| {
        m.get(sink, key).and_then(|(n, _)| nonempty(sink, n, key)).map_or(default, PathBuf::from)
    };
    let p = Paths {
        lvsd: one(&mut m, "lvsd", d.lvsd),
        nanny: one(&mut m, "nanny", d.nanny),
        ipvsadm: one(&mut m, "ipvsadm", d.ipvsadm),
        fos: one(&mut m, "fos", d.fos),
        send_arp: one(&mut m, "send_arp", d.send_arp),
        overrides: one(&mut m, "overrides", d.overrides),
    };
    m.finish(sink, "`paths`");
    Some(p)
}

fn http(sink: &mut Sink, n: Node, path: Loc) -> Option<Http> {
    let mut m = Map::new(sink, n, path, "`http`")?;
    let listen = m.need(sink, "listen", "`http`").and_then(|(n, _)| {
        let (t, _) = scalar(sink, n, "listen", "an address and port")?;
        match t.parse::<std::net::SocketAddr>() {
            Ok(a) if a.port() == 0 => {
                sink.error(n.pos(), "`listen`: port 0 is not a port to scrape".to_owned());
                None
            }
            Ok(a) => {
                if !a.ip().is_loopback() {
                    // The pages are unauthenticated and read-only; what they
                    // show (roles, addresses, health) is still worth hiding.
                    sink.warn(
                        n.pos(),
                        format!(
                            "`listen`: {a} is not a loopback address: anyone who can reach it \
                             reads the router's metrics and status (no authentication)"
                        ),
                    );
                }
                Some(a)
            }
            Err(_) => {
                sink.error(
                    n.pos(),
                    format!(
                        "`listen`: expected an address and port such as 127.0.0.1:9539 or \
                         [::1]:9539, found {}",
                        n.describe()
                    ),
                );
                None
            }
        }
    });
    m.finish(sink, "`http`");
    Some(Http { listen: listen? })
}

fn vip(sink: &mut Sink, n: Node, path: Loc) -> Option<Vip> {
    let mut m = Map::new(sink, n, path, "`vip`")?;
    let address = m.need(sink, "address", "`vip`").and_then(|(n, _)| ip(sink, n, "address"));
    let interface =
        m.need(sink, "interface", "`vip`").and_then(|(n, _)| string(sink, n, "interface"));
    let v6 = address.map(|a| a.is_ipv6());
    let netmask = m.get(sink, "netmask").and_then(|(n, _)| netmask(sink, n, "netmask", v6));
    m.finish(sink, "`vip`");
    Some(Vip {
        address: address.unwrap_or(UNSPECIFIED),
        interface: interface.unwrap_or_default(),
        netmask,
    })
}

fn name(sink: &mut Sink, m: &mut Map, what: &str) -> Option<String> {
    m.need(sink, "name", what).and_then(|(n, _)| nonempty(sink, n, "name"))
}

fn virtual_service(sink: &mut Sink, n: Node, path: Loc) -> Option<VirtualService> {
    let what = "a virtual service";
    let mut m = Map::new(sink, n, path, what)?;
    let name = name(sink, &mut m, what);
    let active =
        m.get(sink, "active").and_then(|(n, _)| boolean(sink, n, "active")).unwrap_or(true);
    let vip = m.need(sink, "vip", what).and_then(|(n, p)| vip(sink, n, p));
    let vport = m.get(sink, "port").and_then(|(n, _)| port(sink, n, "port")).unwrap_or(80);
    let fwmark = m.get(sink, "fwmark").and_then(|(n, _)| u32_(sink, n, "fwmark", u32::MAX));
    let protocol = m
        .get(sink, "protocol")
        .and_then(|(n, _)| choice(sink, n, "protocol", values::PROTOCOLS))
        .unwrap_or_default();
    let scheduler = m
        .get(sink, "scheduler")
        .and_then(|(n, _)| nonempty(sink, n, "scheduler"))
        .map(Scheduler)
        .unwrap_or_default();
    let mut scheduler_flags = Vec::new();
    if let Some((list, _)) = m.get(sink, "scheduler_flags") {
        for item in seq(sink, list, "scheduler_flags") {
            let Some(t) = string(sink, item, "scheduler_flags") else { continue };
            match values::sched_flag(&t, &scheduler.0) {
                Ok(f) if scheduler_flags.contains(&f) => {
                    sink.error(item.pos(), format!("scheduler flag `{t}` is given twice"))
                }
                Ok(f) => scheduler_flags.push(f),
                Err(e) => sink.error(item.pos(), e),
            }
        }
    }
    let v6 = vip.as_ref().map(|v| v.address.is_ipv6());
    let persistence = m.get(sink, "persistence").and_then(|(n, p)| {
        let mut pm = Map::new(sink, n, p, "`persistence`")?;
        let timeout = pm
            .need(sink, "timeout", "`persistence`")
            .and_then(|(n, _)| u32_(sink, n, "timeout", u32::MAX));
        let netmask = pm.get(sink, "netmask").and_then(|(n, _)| netmask(sink, n, "netmask", v6));
        pm.finish(sink, "`persistence`");
        Some(Persistence { timeout: timeout.unwrap_or(1), netmask })
    });
    let one_packet = m
        .get(sink, "one_packet")
        .and_then(|(n, _)| boolean(sink, n, "one_packet"))
        .unwrap_or(false);
    let sorry_server = m.get(sink, "sorry_server").and_then(|(n, _)| {
        let (t, _) = scalar(sink, n, "sorry_server", "an address")?;
        values::socket_addr(t, vport)
            .map_err(|e| sink.error(n.pos(), format!("`sorry_server`: {e}")))
            .ok()
    });
    let monitor =
        m.get(sink, "monitor").and_then(|(n, _)| nonempty(sink, n, "monitor")).map(PathBuf::from);
    let check = m.get(sink, "check").and_then(|(n, p)| check(sink, n, p)).unwrap_or_default();
    let min_up = m.get(sink, "min_up").and_then(|(n, _)| {
        let (t, _) = scalar(sink, n, "min_up", "a percentage or a count")?;
        MinUp::parse(t).map_err(|e| sink.error(n.pos(), format!("`min_up`: {e}"))).ok()
    });
    let drain_timeout = m
        .get(sink, "drain_timeout")
        .and_then(|(n, _)| millis(sink, n, "drain_timeout"))
        .unwrap_or(DEFAULT_DRAIN_TIMEOUT);
    let mut real_servers = Vec::new();
    if let Some((list, lp)) = m.get(sink, "real_servers") {
        let items = seq(sink, list, "real_servers");
        real_servers.reserve_exact(items.len());
        for (i, item) in items.enumerate() {
            let at = sink.loc(lp, i, item.pos());
            if let Some(r) = real_server(sink, item, at, vport) {
                real_servers.push(r);
            }
        }
    }
    m.finish(sink, what);
    Some(VirtualService {
        name: name.unwrap_or_default(),
        active,
        vip: vip.unwrap_or_else(placeholder_vip),
        port: vport,
        fwmark,
        protocol,
        scheduler,
        scheduler_flags,
        persistence,
        one_packet,
        sorry_server,
        monitor,
        check,
        real_servers,
        min_up,
        drain_timeout,
    })
}

fn real_server(sink: &mut Sink, n: Node, path: Loc, vport: u16) -> Option<RealServer> {
    let what = "a real server";
    let mut m = Map::new(sink, n, path, what)?;
    let name = name(sink, &mut m, what);
    let address = m.need(sink, "address", what).and_then(|(n, _)| ip(sink, n, "address"));
    let port = m.get(sink, "port").and_then(|(n, _)| port(sink, n, "port")).unwrap_or(vport);
    let weight =
        m.get(sink, "weight").and_then(|(n, _)| u32_(sink, n, "weight", 65535)).unwrap_or(1);
    let forwarding =
        m.get(sink, "forwarding").and_then(|(n, _)| choice(sink, n, "forwarding", values::FORWARD));
    let max = i32::MAX as u32;
    let upper_threshold = m
        .get(sink, "upper_threshold")
        .and_then(|(n, _)| u32_(sink, n, "upper_threshold", max))
        .unwrap_or(0);
    let lower_threshold = m
        .get(sink, "lower_threshold")
        .and_then(|(n, _)| u32_(sink, n, "lower_threshold", max))
        .unwrap_or(0);
    let active =
        m.get(sink, "active").and_then(|(n, _)| boolean(sink, n, "active")).unwrap_or(true);
    m.finish(sink, what);
    Some(RealServer {
        name: name.unwrap_or_default(),
        address: address.unwrap_or(UNSPECIFIED),
        port,
        weight,
        forwarding,
        upper_threshold,
        lower_threshold,
        active,
    })
}

fn check(sink: &mut Sink, n: Node, path: Loc) -> Option<HealthCheck> {
    let what = "`check`";
    let mut m = Map::new(sink, n, path, what)?;
    let kind_name = m.get(sink, "type").and_then(|(n, _)| {
        choice(
            sink,
            n,
            "type",
            &[
                ("connect", "connect"),
                ("program", "program"),
                ("agent", "agent"),
                ("http", "http"),
                ("ping", "ping"),
                ("dns", "dns"),
                ("none", "none"),
            ],
        )
    });
    let d = HealthCheck::default();
    let interval = m
        .get(sink, "interval")
        .and_then(|(n, _)| millis(sink, n, "interval"))
        .unwrap_or(d.interval);
    let timeout = m.get(sink, "timeout").and_then(|(n, _)| millis(sink, n, "timeout"));
    let reentry =
        m.get(sink, "reentry").and_then(|(n, _)| millis(sink, n, "reentry")).unwrap_or(d.reentry);
    let retries =
        m.get(sink, "retries").and_then(|(n, _)| u32_(sink, n, "retries", 1000)).unwrap_or(0);
    let quiesce =
        m.get(sink, "quiesce").and_then(|(n, _)| boolean(sink, n, "quiesce")).unwrap_or(false);
    let load_monitor = m
        .get(sink, "load_monitor")
        .and_then(|(n, _)| choice(sink, n, "load_monitor", values::LOAD))
        .unwrap_or_default();
    let opt_str = |m: &mut Map, sink: &mut Sink, key: &'static str| {
        m.get(sink, key).and_then(|(n, _)| string(sink, n, key))
    };
    let kind = match kind_name.unwrap_or("connect") {
        "connect" => CheckKind::Connect {
            send: opt_str(&mut m, sink, "send"),
            expect: opt_str(&mut m, sink, "expect"),
            regex: m
                .get(sink, "regex")
                .and_then(|(n, _)| boolean(sink, n, "regex"))
                .unwrap_or(false),
        },
        "program" => CheckKind::Program {
            command: m
                .need(sink, "command", "a program check")
                .and_then(|(n, _)| nonempty(sink, n, "command"))
                .unwrap_or_default(),
            expect: opt_str(&mut m, sink, "expect"),
        },
        "agent" => CheckKind::Agent {
            command: m
                .need(sink, "command", "an agent check")
                .and_then(|(n, _)| nonempty(sink, n, "command"))
                .unwrap_or_default(),
            on_up: m.get(sink, "on_up").and_then(|(n, _)| nonempty(sink, n, "on_up")),
            on_down: m.get(sink, "on_down").and_then(|(n, _)| nonempty(sink, n, "on_down")),
        },
        "http" => {
            let mut status = Vec::new();
            if let Some((list, _)) = m.get(sink, "status") {
                for item in seq(sink, list, "status") {
                    if let Some(code) = uint(sink, item, "status", 999) {
                        status.push(code as u16);
                    }
                }
            } else {
                status.push(200);
            }
            CheckKind::Http {
                path: opt_str(&mut m, sink, "path").unwrap_or_else(|| "/".to_owned()),
                host: m.get(sink, "host").and_then(|(n, _)| nonempty(sink, n, "host")),
                status,
                body_regex: opt_str(&mut m, sink, "body_regex"),
                tls: m.get(sink, "tls").and_then(|(n, _)| boolean(sink, n, "tls")).unwrap_or(false),
            }
        }
        "ping" => CheckKind::Ping {
            count: m
                .get(sink, "count")
                .and_then(|(n, _)| uint(sink, n, "count", 100))
                .map_or(crate::model::DEFAULT_PING_COUNT, |c| c as u16),
        },
        "dns" => CheckKind::Dns {
            query: m
                .need(sink, "query", "a dns check")
                .and_then(|(n, _)| nonempty(sink, n, "query"))
                .unwrap_or_default(),
            record: m
                .get(sink, "record")
                .and_then(|(n, _)| choice(sink, n, "record", values::DNS_RECORD_TYPES))
                .map(str::to_owned),
        },
        _ => CheckKind::None,
    };
    let kind_what = match kind {
        CheckKind::Connect { .. } => "a `connect` check",
        CheckKind::Program { .. } => "a `program` check",
        CheckKind::Agent { .. } => "a `agent` check",
        CheckKind::Http { .. } => "a `http` check",
        CheckKind::Ping { .. } => "a `ping` check",
        CheckKind::Dns { .. } => "a `dns` check",
        CheckKind::None => "a `none` check",
    };
    m.finish(sink, kind_what);
    Some(HealthCheck { kind, interval, timeout, reentry, retries, quiesce, load_monitor })
}

fn failover_service(sink: &mut Sink, n: Node, path: Loc) -> Option<FailoverService> {
    let what = "a failover service";
    let mut m = Map::new(sink, n, path, what)?;
    let name = name(sink, &mut m, what);
    let active =
        m.get(sink, "active").and_then(|(n, _)| boolean(sink, n, "active")).unwrap_or(true);
    let vip = m.need(sink, "vip", what).and_then(|(n, p)| vip(sink, n, p));
    let port = m.get(sink, "port").and_then(|(n, _)| port(sink, n, "port")).unwrap_or(80);
    let protocol = m
        .get(sink, "protocol")
        .and_then(|(n, _)| choice(sink, n, "protocol", values::PROTOCOLS))
        .unwrap_or_default();
    let check = m.get(sink, "check").and_then(|(n, p)| check(sink, n, p)).unwrap_or_default();
    let monitor =
        m.get(sink, "monitor").and_then(|(n, _)| nonempty(sink, n, "monitor")).map(PathBuf::from);
    let start_cmd =
        m.need(sink, "start_cmd", what).and_then(|(n, _)| nonempty(sink, n, "start_cmd"));
    let stop_cmd = m.need(sink, "stop_cmd", what).and_then(|(n, _)| nonempty(sink, n, "stop_cmd"));
    m.finish(sink, what);
    Some(FailoverService {
        name: name.unwrap_or_default(),
        active,
        vip: vip.unwrap_or_else(placeholder_vip),
        port,
        protocol,
        check,
        monitor,
        start_cmd: start_cmd.unwrap_or_default(),
        stop_cmd: stop_cmd.unwrap_or_default(),
    })
}
