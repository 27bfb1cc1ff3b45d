//! The piranha `lvs.cf` front end: every key piranha 0.8.6 accepts, its
//! syntax rules and its defaults, read into the model.
//!
//! Syntax (piranha `lvsconfig.c`): one statement per line (`\n`, `\r` or
//! `\r\n`); `#` starts a comment only as the first non-blank character;
//! `key = value...` with `=` as its own token and an exact number of values;
//! `"..."`/`'...'` quote a value with blanks; blocks `virtual NAME {`,
//! `failover NAME {`, nested `server NAME {`, closed by `}` alone on a line.
//!
//! Differences from piranha, each deliberate:
//! - host names are not resolved (this crate does no IO): addresses only;
//! - port names come from a built-in table, not `/etc/services`;
//! - both quote styles are removed (piranha kept single quotes in `send`);
//! - keys piranha parses and ignores (`heartbeat`, `sync`, `debug_level`,
//!   `master`, `dirs`) are accepted with a warning;
//! - IPv6 addresses, prefix-length netmasks, `sctp` and sub-second
//!   `keepalive`/`deadtime`/`timeout`/`reentry` values are accepted.
//!
//! Problems are reported all at once, each at its line and column; every
//! difference from piranha is listed in `docs/lvs-cf.md`.
//!
//! `lex` splits the text into statements, `read` holds the key tables and
//! value readers, and this module turns the sections into the model.

mod lex;
mod read;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use lex::{structure, Block};
use read::{Fields, Reader};

use crate::diag::{Loc, Pos, Sink};
use crate::model::*;
use crate::values;

/// piranha's default check on port 80 when nothing else is configured.
const HTTP_SEND: &str = "GET / HTTP/1.0\r\n\r\n";

/// Parses lvs.cf text into a config; problems go to `sink`.
pub(crate) fn parse(text: &str, sink: &mut Sink) -> Option<Config> {
    let (globals, blocks, saw_statement) = structure(text, sink);
    if !saw_statement {
        sink.error(Pos::new(1, 1), "empty configuration");
        return None;
    }
    sink.record_root(Pos::new(1, 1));
    let g = sink.root();
    let mut f = Fields::new(&globals, sink);
    let mut r = Reader { sink };
    let service = r
        .choice(
            f.take("service"),
            (g, "service"),
            &[("lvs", ServiceMode::Lvs), ("fos", ServiceMode::Fos)],
        )
        .unwrap_or_default();
    let serial_no =
        r.int(f.take("serial_no"), (g, "serial_no"), 0, i64::MAX).map_or(0, |v| v as u64);

    let primary_a = f.take("primary");
    let primary = r.host(primary_a, (g, "routers.primary.address"));
    if primary_a.is_none() {
        r.sink.error(
            Pos::new(1, 1),
            "missing `primary`: the address of the primary router is required",
        );
    }
    let primary_private = r.host(f.take("primary_private"), (g, "routers.primary.private"));
    let primary_shared = r.nonempty(f.take("primary_shared"), (g, "routers.primary.shared_disk"));
    let backup =
        r.host(f.take("backup"), (g, "routers.backup.address")).filter(|a| !a.is_unspecified());
    let backup_private_a = f.take("backup_private");
    let backup_private = r.host(backup_private_a, (g, "routers.backup.private"));
    let backup_shared = r.nonempty(f.take("backup_shared"), (g, "routers.backup.shared_disk"));
    if backup.is_none() {
        if let Some(a) = backup_private_a {
            r.sink.warn(a.key.pos, "`backup_private` has no effect without a `backup` router");
        }
    }
    let backup_active_a = f.take("backup_active");
    let backup_active = r.boolean(backup_active_a, (g, "backup_active")).unwrap_or(false);
    if backup_active && backup.is_none() {
        r.ignored(backup_active_a, "has no effect without a `backup` router (piranha clears it)");
    }
    // Not a piranha key: hot standby is the default here too, and a file
    // that wants piranha's cold standby says `standby = cold`.
    let standby = r
        .choice(
            f.take("standby"),
            (g, "standby"),
            &[("hot", Standby::Hot), ("cold", Standby::Cold)],
        )
        .unwrap_or_default();
    r.unused(f.take("heartbeat"));
    let mut heartbeat = Heartbeat { protocol: HeartbeatProtocol::Piranha, ..Heartbeat::default() };
    if let Some(p) = r.port(f.take("heartbeat_port"), (g, "heartbeat.port")) {
        heartbeat.port = p;
    }
    if let Some(k) = r.secs(f.take("keepalive"), (g, "heartbeat.keepalive")) {
        heartbeat.keepalive = k;
    }
    if let Some(d) = r.secs(f.take("deadtime"), (g, "heartbeat.deadtime")) {
        heartbeat.deadtime = d;
    }
    let reservation_conflict_action = r.choice(
        f.take("reservation_conflict_action"),
        (g, "reservation_conflict_action"),
        &[
            ("nothing", ReservationConflictAction::Nothing),
            ("preempt", ReservationConflictAction::Preempt),
        ],
    );
    let rsh_command = r
        .choice(
            f.take("rsh_command"),
            (g, "rsh_command"),
            &[("rsh", RemoteShell::Rsh), ("ssh", RemoteShell::Ssh)],
        )
        .unwrap_or_default();
    let network = r.choice(f.take("network"), (g, "network"), values::FORWARD).unwrap_or_default();
    let nat_router = f.take("nat_router").and_then(|a| r.address_dev(a, (g, "nat_router")));
    let nat_nmask_a = f.take("nat_nmask");
    let nat_nmask = r.mask(
        nat_nmask_a,
        (g, "nat_router.netmask"),
        nat_router.as_ref().map(|(ip, _)| ip.is_ipv6()),
    );
    if nat_router.is_none() && nat_nmask.is_some() {
        r.ignored(nat_nmask_a, "has no effect without `nat_router`");
    }
    let mut paths = Paths::default();
    if let Some(p) = r.nonempty(f.take("ipvsadm"), (g, "paths.ipvsadm")) {
        paths.ipvsadm = PathBuf::from(p);
    }
    r.unused(f.take("debug_level"));
    r.unused(f.take("sync"));
    let syncdaemon = r.boolean(f.take("syncdaemon"), (g, "sync_daemon")).unwrap_or(false);
    let iface_a = f.take("syncd_iface");
    let syncd_iface = r.string(iface_a, (g, "sync_daemon.interface"));
    let id_a = f.take("syncd_id");
    let syncd_id = r.int(id_a, (g, "sync_daemon.sync_id"), 0, 255).map(|v| v as u8);
    if !syncdaemon {
        r.ignored(iface_a, "has no effect without `syncdaemon = 1`");
        r.ignored(id_a, "has no effect without `syncdaemon = 1`");
    }
    let sync_daemon = syncdaemon.then(|| SyncDaemon {
        interface: syncd_iface.unwrap_or_else(|| "eth0".to_owned()),
        sync_id: syncd_id.unwrap_or(0),
        both: false,
    });
    let monitor_links = r
        .int(f.take("monitor_links"), (g, "monitor_links"), i64::MIN, i64::MAX)
        .is_some_and(|v| v != 0);
    let active_cmd = r.string(f.take("active_cmd"), (g, "active_cmd")).filter(|s| !s.is_empty());
    let inactive_cmd =
        r.string(f.take("inactive_cmd"), (g, "inactive_cmd")).filter(|s| !s.is_empty());
    let hard_shutdown = r.boolean(f.take("hard_shutdown"), (g, "hard_shutdown")).unwrap_or(true);
    let max = i64::from(i32::MAX);
    let ipvs_timeouts = IpvsTimeouts {
        tcp: r.int(f.take("tcp_timeout"), (g, "ipvs_timeouts.tcp"), 0, max).map_or(0, |v| v as u32),
        tcpfin: r
            .int(f.take("tcpfin_timeout"), (g, "ipvs_timeouts.tcpfin"), 0, max)
            .map_or(0, |v| v as u32),
        udp: r.int(f.take("udp_timeout"), (g, "ipvs_timeouts.udp"), 0, max).map_or(0, |v| v as u32),
    };
    f.unknown(r.sink, || "the global section".to_owned());

    let mut virtual_services = Vec::new();
    let mut failover_services = Vec::new();
    for b in &blocks {
        match b.kind {
            "virtual" => {
                let list = r.sink.loc_unread_path(g, "virtual_services");
                let path = r.sink.loc(list, virtual_services.len(), b.pos);
                if let Some(v) = virtual_service(b, path, &mut r) {
                    virtual_services.push(v);
                }
            }
            _ => {
                let list = r.sink.loc_unread_path(g, "failover_services");
                let path = r.sink.loc(list, failover_services.len(), b.pos);
                if let Some(fs) = failover_service(b, path, &mut r) {
                    failover_services.push(fs);
                }
            }
        }
    }

    // Stand-ins keep validation going; their problem is already reported.
    let primary = primary.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let routers = Routers::Pair {
        primary: Router {
            address: primary,
            private: primary_private,
            shared_disk: primary_shared.map(PathBuf::from),
        },
        backup: backup.map(|address| Router {
            address,
            // piranha: backup_private defaults to backup only when
            // primary_private is absent too; otherwise there is none.
            private: backup_private,
            shared_disk: backup_shared.map(PathBuf::from),
        }),
    };
    Some(Config {
        service,
        serial_no,
        routers,
        backup_active,
        preempt: false,
        standby,
        heartbeat,
        arp: Arp::default(),
        network,
        nat_router: nat_router.map(|(address, interface)| NatRouter {
            address,
            interface,
            netmask: nat_nmask,
        }),
        sync_daemon,
        ipvs_timeouts,
        ipvs_sloppy: IpvsSloppy::default(),
        active_cmd,
        inactive_cmd,
        monitor_links,
        hard_shutdown,
        rsh_command,
        reservation_conflict_action,
        paths,
        http: None,
        virtual_services,
        failover_services,
    })
}

/// A stand-in for a missing or invalid `address`, already reported.
fn placeholder_vip() -> Vip {
    Vip {
        address: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        interface: String::new(),
        netmask: None,
    }
}

/// The check keys shared by `virtual` and `failover` blocks.
fn check(f: &mut Fields, path: Loc, vport: u16, r: &mut Reader) -> HealthCheck {
    let mut h = HealthCheck::default();
    if let Some(t) = r.secs(f.take("timeout"), (path, "interval")) {
        // piranha's `timeout` is both the interval and the limit of a check.
        h.interval = t;
    }
    if let Some(t) = r.secs(f.take("reentry"), (path, "reentry")) {
        h.reentry = t;
    }
    let send_a = f.take("send");
    let send = r.string(send_a, (path, "send")).map(|s| values::unescape(&s));
    // nanny translates the escapes of `expect` in every mode.
    let expect = r.string(f.take("expect"), (path, "expect")).map(|e| values::unescape(&e));
    let regex = r.boolean(f.take("use_regex"), (path, "regex")).unwrap_or(false);
    let program = r.string(f.take("send_program"), (path, "command"));
    h.kind = match program {
        Some(command) => {
            r.ignored(send_a, "is ignored because `send_program` is set");
            CheckKind::Program { command, expect }
        }
        None if send.is_none() && expect.is_none() && vport == 80 => CheckKind::Connect {
            send: Some(HTTP_SEND.to_owned()),
            expect: Some("HTTP".to_owned()),
            regex: false,
        },
        None => CheckKind::Connect { send, expect, regex },
    };
    h
}

fn vip(b: &Block, f: &mut Fields, path: Loc, r: &mut Reader) -> Option<Vip> {
    let a = f.take("address");
    let Some(a) = a else {
        r.sink.error(b.pos, format!("`{} {}` has no `address = IP DEVICE`", b.kind, b.name.text));
        return None;
    };
    let addr = r.address_dev(a, (path, "vip"));
    let v6 = addr.as_ref().map(|(ip, _)| ip.is_ipv6());
    let netmask = r.mask(f.take("vip_nmask"), (path, "vip.netmask"), v6);
    let (address, interface) = addr?;
    Some(Vip { address, interface, netmask })
}

fn virtual_service(b: &Block, path: Loc, r: &mut Reader) -> Option<VirtualService> {
    r.sink.loc(path, "name", b.name.pos);
    r.name(b);
    let mut f = Fields::new(&b.assigns, r.sink);
    let vip = vip(b, &mut f, path, r);
    let active = r.boolean(f.take("active"), (path, "active")).unwrap_or(false);
    let port_a = f.take("port");
    let vport = r.port(port_a, (path, "port")).unwrap_or(80);
    let fwmark = r
        .int(f.take("fwmark"), (path, "fwmark"), 0, i64::from(u32::MAX))
        .filter(|m| *m != 0)
        .map(|m| m as u32);
    let protocol =
        r.choice(f.take("protocol"), (path, "protocol"), values::PROTOCOLS).unwrap_or_default();
    let scheduler =
        r.string(f.take("scheduler"), (path, "scheduler")).map(Scheduler).unwrap_or_default();
    let v6 = vip.as_ref().map(|v| v.address.is_ipv6());
    let persistent =
        r.int(f.take("persistent"), (path, "persistence.timeout"), 0, i64::from(u32::MAX));
    let pmask_a = f.take("pmask");
    let pmask = r.mask(pmask_a, (path, "persistence.netmask"), v6);
    let persistence = match persistent {
        Some(t) if t > 0 => Some(Persistence { timeout: t as u32, netmask: pmask }),
        _ => {
            r.ignored(pmask_a, "has no effect without `persistent`");
            None
        }
    };
    let check_at = r.sink.loc_unread_path(path, "check");
    let mut check = check(&mut f, check_at, vport, r);
    check.load_monitor = r
        .choice(f.take("load_monitor"), (path, "check.load_monitor"), values::LOAD)
        .unwrap_or_default();
    check.quiesce = r.boolean(f.take("quiesce_server"), (path, "check.quiesce")).unwrap_or(false);
    let sorry_server = r
        .host(f.take("sorry_server"), (path, "sorry_server"))
        .filter(|a| !a.is_unspecified())
        .map(|a| SocketAddr::new(a, vport));
    let monitor = r.nonempty(f.take("client_monitor"), (path, "monitor")).map(PathBuf::from);
    r.unused(f.take("master"));
    r.unused(f.take("dirs"));
    r.unused_because(f.take("start_cmd"), "has no effect in a virtual service");
    r.unused_because(f.take("stop_cmd"), "has no effect in a virtual service");
    f.unknown(r.sink, || format!("`virtual {}`", b.name.text));

    // piranha: a server's port defaults to the virtual port as it was when
    // the `server` line was read.
    let port_line = port_a.map(|a| a.key.pos.line);
    let mut real_servers = Vec::new();
    let list = r.sink.loc_unread_path(path, "real_servers");
    for (j, s) in b.servers.iter().enumerate() {
        let rp = r.sink.loc(list, j, s.pos);
        let default_port = match port_line {
            Some(l) if l < s.pos.line => vport,
            _ => 80,
        };
        if let Some(rs) = real_server(s, rp, default_port, r) {
            real_servers.push(rs);
        }
    }
    Some(VirtualService {
        name: b.name.text.to_owned(),
        active,
        vip: vip.unwrap_or_else(placeholder_vip),
        port: vport,
        fwmark,
        protocol,
        scheduler,
        scheduler_flags: Vec::new(),
        persistence,
        one_packet: false,
        sorry_server,
        monitor,
        check,
        real_servers,
        min_up: None,
        drain_timeout: DEFAULT_DRAIN_TIMEOUT,
    })
}

fn real_server(b: &Block, path: Loc, default_port: u16, r: &mut Reader) -> Option<RealServer> {
    r.sink.loc(path, "name", b.name.pos);
    r.name(b);
    let mut f = Fields::new(&b.assigns, r.sink);
    let addr_a = f.take("address");
    let address = r.host(addr_a, (path, "address"));
    if addr_a.is_none() {
        r.sink.error(b.pos, format!("`server {}` has no `address`", b.name.text));
    }
    let active = r.boolean(f.take("active"), (path, "active")).unwrap_or(false);
    let weight = r.int(f.take("weight"), (path, "weight"), 0, 65535).map_or(1, |w| w as u32);
    let port = r.port(f.take("port"), (path, "port")).unwrap_or(default_port);
    f.unknown(r.sink, || format!("`server {}`", b.name.text));
    for nested in &b.servers {
        r.sink.error(nested.pos, "`server` block inside a `server` block");
    }
    Some(RealServer {
        name: b.name.text.to_owned(),
        address: address.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
        port,
        weight,
        forwarding: None,
        upper_threshold: 0,
        lower_threshold: 0,
        active,
    })
}

fn failover_service(b: &Block, path: Loc, r: &mut Reader) -> Option<FailoverService> {
    r.sink.loc(path, "name", b.name.pos);
    r.name(b);
    let mut f = Fields::new(&b.assigns, r.sink);
    let vip = vip(b, &mut f, path, r);
    let active = r.boolean(f.take("active"), (path, "active")).unwrap_or(false);
    let port = r.port(f.take("port"), (path, "port")).unwrap_or(80);
    let protocol =
        r.choice(f.take("protocol"), (path, "protocol"), values::PROTOCOLS).unwrap_or_default();
    let check_at = r.sink.loc_unread_path(path, "check");
    let check = check(&mut f, check_at, port, r);
    let monitor = r.nonempty(f.take("client_monitor"), (path, "monitor")).map(PathBuf::from);
    let start_a = f.take("start_cmd");
    let stop_a = f.take("stop_cmd");
    let start_cmd = r.string(start_a, (path, "start_cmd")).filter(|s| !s.is_empty());
    let stop_cmd = r.string(stop_a, (path, "stop_cmd")).filter(|s| !s.is_empty());
    for (a, key) in [(start_a, "start_cmd"), (stop_a, "stop_cmd")] {
        match a {
            None => r.sink.error(b.pos, format!("`failover {}` has no `{key}`", b.name.text)),
            Some(a) if a.values.len() == 1 && a.values[0].text.is_empty() => {
                r.sink.error(a.values[0].pos, format!("`{key}` is empty"))
            }
            _ => {}
        }
    }
    for key in [
        "fwmark",
        "scheduler",
        "persistent",
        "pmask",
        "load_monitor",
        "quiesce_server",
        "sorry_server",
        "master",
        "dirs",
    ] {
        r.unused_because(f.take(key), "has no effect in a failover service");
    }
    f.unknown(r.sink, || format!("`failover {}`", b.name.text));
    for s in &b.servers {
        r.sink.warn(s.pos, "`server` blocks have no effect in a failover service");
    }
    Some(FailoverService {
        name: b.name.text.to_owned(),
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
