//! Positioned YAML tree → [`Config`], reporting every problem.
//!
//! This decoder follows the serde layout of the model (the same keys, the
//! same defaults) but keeps going after a problem, so that all unknown keys,
//! wrong types and bad values of a file are reported together, each at the
//! node it is about. It records where each model path was read so the
//! validator can point at it too.
//!
//! `decode.rs` reads the root and the cluster-wide settings;
//! `decode/read.rs` holds the mapping reader and the scalar readers every
//! part uses, `decode/service.rs` the virtual services and real servers,
//! `decode/check.rs` the health checks and `decode/failover.rs` the
//! failover services, as the model is laid out.

mod check;
mod failover;
mod read;
mod service;

use std::net::IpAddr;
use std::path::PathBuf;

use super::tree::Node;
use crate::diag::{Loc, Sink};
use crate::model::*;
use crate::values;
use failover::failover_service;
use read::*;
use service::virtual_service;

// Stand-ins for values that were missing or invalid, so that decoding and
// validation go on and report every other problem. Their own problem has
// already been reported at their position, where the validator's remarks
// about them are dropped; a file with any error yields no config.
pub(super) const UNSPECIFIED: IpAddr = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);

pub(super) fn placeholder_router() -> Router {
    Router { address: UNSPECIFIED, private: None, shared_disk: None }
}

pub(super) fn placeholder_vip() -> Vip {
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
    let ipvs_sloppy =
        m.get(sink, "ipvs_sloppy").and_then(|(n, p)| sloppy(sink, n, p)).unwrap_or_default();
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
        ipvs_sloppy,
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

pub(super) fn routers(sink: &mut Sink, n: Node, path: Loc) -> Option<Routers> {
    let mut m = Map::new(sink, n, path, "`routers`")?;
    let has_pool = m.entries.iter().any(|(k, ..)| *k == "pool");
    let has_ecmp = m.entries.iter().any(|(k, ..)| *k == "ecmp");
    let out = if has_ecmp {
        if m.entries.iter().any(|(k, ..)| matches!(*k, "pool" | "primary" | "backup")) {
            sink.error(m.pos, "`routers`: use one of `ecmp`, `pool` or `primary`/`backup`");
        }
        let (list, lp) = m.need(sink, "ecmp", "`routers`")?;
        let mut ecmp = Vec::new();
        for (i, item) in seq(sink, list, "ecmp").enumerate() {
            let at = sink.loc(lp, i, item.pos());
            if let Some(r) = ecmp_router(sink, item, at) {
                ecmp.push(r);
            }
        }
        let route_table = m
            .get(sink, "route_table")
            .and_then(|(n, _)| u32_(sink, n, "route_table", u32::MAX))
            .unwrap_or(100);
        let min_servers = m
            .get(sink, "min_servers")
            .and_then(|(n, _)| u32_(sink, n, "min_servers", u32::MAX))
            .unwrap_or(1);
        Some(Routers::Ecmp { ecmp, route_table, min_servers })
    } else if has_pool {
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

fn ecmp_router(sink: &mut Sink, n: Node, path: Loc) -> Option<EcmpRouter> {
    let what = "an ECMP director";
    let mut m = Map::new(sink, n, path, what)?;
    let name = m.need(sink, "name", what).and_then(|(n, _)| nonempty(sink, n, "name"));
    let address = m.need(sink, "address", what).and_then(|(n, _)| ip(sink, n, "address"));
    m.finish(sink, what);
    Some(EcmpRouter { name: name.unwrap_or_default(), address: address.unwrap_or(UNSPECIFIED) })
}

pub(super) fn router(sink: &mut Sink, n: Node, path: Loc, what: &str) -> Option<Router> {
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

pub(super) fn heartbeat(sink: &mut Sink, n: Node, path: Loc) -> Option<Heartbeat> {
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

pub(super) fn arp(sink: &mut Sink, n: Node, path: Loc) -> Option<Arp> {
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

/// The `address`, `interface` and `netmask` of a mapping named `what`
/// (a VIP, the NAT router).
pub(super) fn address_on_interface(
    sink: &mut Sink,
    n: Node,
    path: Loc,
    what: &str,
) -> Option<(IpAddr, String, Option<u8>)> {
    let mut m = Map::new(sink, n, path, what)?;
    let address = m.need(sink, "address", what).and_then(|(n, _)| ip(sink, n, "address"));
    let interface = m.need(sink, "interface", what).and_then(|(n, _)| string(sink, n, "interface"));
    let v6 = address.map(|a| a.is_ipv6());
    let netmask = m.get(sink, "netmask").and_then(|(n, _)| netmask(sink, n, "netmask", v6));
    m.finish(sink, what);
    Some((address.unwrap_or(UNSPECIFIED), interface.unwrap_or_default(), netmask))
}

pub(super) fn nat_router(sink: &mut Sink, n: Node, path: Loc) -> Option<NatRouter> {
    let (address, interface, netmask) = address_on_interface(sink, n, path, "`nat_router`")?;
    Some(NatRouter { address, interface, netmask })
}

pub(super) fn sync_daemon(sink: &mut Sink, n: Node, path: Loc) -> Option<SyncDaemon> {
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
        both: m.get(sink, "both").and_then(|(n, _)| boolean(sink, n, "both")).unwrap_or(false),
    };
    m.finish(sink, "`sync_daemon`");
    Some(s)
}

pub(super) fn timeouts(sink: &mut Sink, n: Node, path: Loc) -> Option<IpvsTimeouts> {
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

pub(super) fn sloppy(sink: &mut Sink, n: Node, path: Loc) -> Option<IpvsSloppy> {
    let mut m = Map::new(sink, n, path, "`ipvs_sloppy`")?;
    let s = IpvsSloppy {
        tcp: m.get(sink, "tcp").and_then(|(n, _)| boolean(sink, n, "tcp")),
        sctp: m.get(sink, "sctp").and_then(|(n, _)| boolean(sink, n, "sctp")),
    };
    m.finish(sink, "`ipvs_sloppy`");
    Some(s)
}

pub(super) fn paths(sink: &mut Sink, n: Node, path: Loc) -> Option<Paths> {
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

pub(super) fn http(sink: &mut Sink, n: Node, path: Loc) -> Option<Http> {
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
