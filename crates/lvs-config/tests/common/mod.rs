//! Shared test helpers: proptest strategies for valid configs (all YAML
//! features, or only what piranha's lvs.cf can say) and a test-only lvs.cf
//! writer used to generate lvs.cf inputs.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use lvs_config::*;
use proptest::prelude::*;
use proptest::sample::select;

/// Parses text and returns the config, failing the test with every
/// diagnostic when there is none.
pub fn parse_ok(text: &str, name: &str, format: Format) -> Config {
    let (c, d) = parse_str(text, name, format);
    match c {
        Some(c) => c,
        None => panic!("{name} rejected:\n{}\n--- text ---\n{text}", Diagnostics(d)),
    }
}

/// A distinct unicast address in family `v6`, number `i`, salted by `salt`.
pub fn addr(v6: bool, i: usize, salt: u8) -> IpAddr {
    let i = i as u16 + 1;
    if v6 {
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, u16::from(salt), 0, 0, 0, 0, i))
    } else {
        IpAddr::V4(Ipv4Addr::new(10, salt, (i >> 8) as u8, i as u8))
    }
}

fn millis(max: u64) -> impl Strategy<Value = Millis> {
    prop_oneof![(1..=max / 1000).prop_map(Millis::from_secs), (1..=max).prop_map(Millis)]
}

/// A name: any string with a non-blank character and no C0 control
/// character or DEL (the rule both front ends share).
fn text() -> impl Strategy<Value = String> {
    any::<String>().prop_filter("blank or control", |s| {
        !s.chars().all(char::is_whitespace) && !s.chars().any(|c| c.is_ascii_control())
    })
}

fn word() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_./%-]{1,12}"
}

fn command() -> impl Strategy<Value = String> {
    "/[a-z]{1,8}( [a-z0-9%._-]{1,6}){0,3}"
}

fn path() -> impl Strategy<Value = PathBuf> {
    "/[a-z]{1,8}(/[a-z0-9._-]{1,8}){0,3}".prop_map(PathBuf::from)
}

fn iface(v6: bool) -> impl Strategy<Value = String> {
    if v6 {
        "[a-z]{1,6}[0-9]{0,2}".boxed()
    } else {
        "[a-z]{1,6}[0-9]{0,2}(:[0-9]{1,3})?".boxed()
    }
}

fn prefix(v6: bool) -> impl Strategy<Value = u8> {
    if v6 {
        1u8..=128
    } else {
        0u8..=32
    }
}

fn vip(v6: bool, i: usize, salt: u8) -> impl Strategy<Value = Vip> {
    (iface(v6), proptest::option::of(prefix(v6))).prop_map(move |(interface, netmask)| Vip {
        address: addr(v6, i, salt),
        interface,
        netmask,
    })
}

const REGEXES: &[&str] = &["^HTTP/1\\.[01] 200", "OK|READY", "[a-z]+", "\\d{3}"];

fn check_kind(any_text: bool) -> impl Strategy<Value = CheckKind> {
    let t = move || if any_text { any::<String>().boxed() } else { "[ -~]{0,20}".boxed() };
    prop_oneof![
        (proptest::option::of(t()), proptest::option::of(t()))
            .prop_map(|(send, expect)| { CheckKind::Connect { send, expect, regex: false } }),
        (proptest::option::of(t()), select(REGEXES)).prop_map(|(send, r)| CheckKind::Connect {
            send,
            expect: Some(r.to_owned()),
            regex: true
        }),
        (command(), proptest::option::of(t()))
            .prop_map(|(command, expect)| CheckKind::Program { command, expect }),
        (command(), proptest::option::of(command()), proptest::option::of(command()))
            .prop_map(|(command, on_up, on_down)| CheckKind::Agent { command, on_up, on_down }),
        (
            "/[a-z0-9/._-]{0,12}",
            proptest::option::of("[a-z0-9.-]{1,20}"),
            proptest::collection::vec(100u16..=599, 1..4),
            proptest::option::of(select(REGEXES)),
            any::<bool>()
        )
            .prop_map(|(path, host, status, body, tls)| CheckKind::Http {
                path,
                host,
                status,
                body_regex: body.map(str::to_owned),
                tls
            }),
        Just(CheckKind::None),
    ]
}

fn load_monitor() -> impl Strategy<Value = LoadMonitor> {
    select(vec![LoadMonitor::None, LoadMonitor::Uptime, LoadMonitor::Rup, LoadMonitor::Ruptime])
}

fn health_check() -> impl Strategy<Value = HealthCheck> {
    (
        check_kind(true),
        millis(10_000_000),
        proptest::option::of(millis(10_000_000)),
        prop_oneof![Just(Millis(0)), millis(10_000_000)],
        0u32..=1000,
        any::<bool>(),
        load_monitor(),
    )
        .prop_map(|(kind, interval, timeout, reentry, retries, quiesce, load_monitor)| {
            HealthCheck {
                kind,
                interval,
                timeout,
                reentry,
                retries,
                quiesce,
                load_monitor,
                via: CheckVia::Server,
            }
        })
}

fn forward() -> impl Strategy<Value = ForwardMethod> {
    select(vec![ForwardMethod::Nat, ForwardMethod::Direct, ForwardMethod::Tunnel])
}

fn protocol() -> impl Strategy<Value = Protocol> {
    select(vec![Protocol::Tcp, Protocol::Udp, Protocol::Sctp])
}

fn real_server(v6: bool, j: usize, salt: u8) -> impl Strategy<Value = RealServer> {
    (
        word(),
        any::<u16>(),
        0u32..=65535,
        proptest::option::of(forward()),
        0u32..=i32::MAX as u32,
        any::<u32>(),
        any::<bool>(),
    )
        .prop_map(move |(name, port, weight, forwarding, upper, lower, active)| RealServer {
            name: format!("r{j}{name}"),
            address: addr(v6, j, salt),
            port,
            weight,
            forwarding,
            upper_threshold: upper,
            lower_threshold: if upper == 0 {
                lower % (i32::MAX as u32)
            } else {
                lower % (upper + 1)
            },
            active,
        })
}

/// A virtual service's firewall mark: never one lvsd keeps for checks
/// through the data path (the validator refuses those).
fn fwmark() -> impl Strategy<Value = u32> {
    (1u32..).prop_filter("a mark lvsd keeps", |m| !model::DATAPATH_MARKS.contains(m))
}

fn virtual_service(i: usize) -> impl Strategy<Value = VirtualService> {
    (any::<bool>(), any::<u8>()).prop_flat_map(move |(v6, salt)| {
        let servers = (0usize..4).prop_flat_map(move |n| {
            (0..n).map(|j| real_server(v6, j, salt.wrapping_add(1))).collect::<Vec<_>>()
        });
        (
            (text(), any::<bool>(), vip(v6, i, salt), 1u16..=65535, proptest::option::of(fwmark())),
            (
                protocol(),
                select(KNOWN_SCHEDULERS),
                proptest::sample::subsequence(vec![0u8, 1, 2], 0..=3),
            ),
            (proptest::option::of((1u32.., proptest::option::of(prefix(v6)))), any::<bool>()),
            (
                proptest::option::of(any::<u16>()),
                proptest::option::of(path()),
                health_check(),
                servers,
            ),
        )
            .prop_map(
                move |(
                    (name, active, vip, port, fwmark),
                    (protocol, scheduler, flags),
                    (persistence, one_packet),
                    (sorry_port, monitor, check, real_servers),
                )| {
                    let scheduler_flags = flags
                        .into_iter()
                        .map(|f| match f {
                            0 => SchedulerFlag::Flag1,
                            1 => SchedulerFlag::Flag2,
                            _ => SchedulerFlag::Flag3,
                        })
                        .collect();
                    VirtualService {
                        name: format!("v{i}{name}"),
                        active,
                        vip,
                        port,
                        fwmark,
                        protocol,
                        scheduler: Scheduler(scheduler.to_owned()),
                        scheduler_flags,
                        persistence: persistence
                            .map(|(timeout, netmask)| Persistence { timeout, netmask }),
                        one_packet: one_packet && (protocol == Protocol::Udp || fwmark.is_some()),
                        sorry_server: sorry_port
                            .map(|p| SocketAddr::new(addr(v6, 200, salt.wrapping_add(2)), p)),
                        monitor,
                        check,
                        real_servers,
                        min_up: None,
                        drain_timeout: DEFAULT_DRAIN_TIMEOUT,
                    }
                },
            )
    })
}

fn failover_service(i: usize) -> impl Strategy<Value = FailoverService> {
    (any::<bool>(), any::<u8>()).prop_flat_map(move |(v6, salt)| {
        (
            text(),
            any::<bool>(),
            vip(v6, i, salt),
            any::<u16>(),
            protocol(),
            health_check(),
            proptest::option::of(path()),
            command(),
            command(),
        )
            .prop_map(
                move |(name, active, vip, port, protocol, check, monitor, start_cmd, stop_cmd)| {
                    FailoverService {
                        name: format!("f{i}{name}"),
                        active,
                        vip,
                        port,
                        protocol,
                        // pulse checks failover services with these only.
                        check: match check.kind {
                            CheckKind::Connect { .. }
                            | CheckKind::Program { .. }
                            | CheckKind::None => check,
                            _ => HealthCheck { kind: CheckKind::None, ..check },
                        },
                        monitor,
                        start_cmd,
                        stop_cmd,
                    }
                },
            )
    })
}

fn router(v6: bool, i: usize, private: bool) -> impl Strategy<Value = Router> {
    proptest::option::of(path()).prop_map(move |shared_disk| Router {
        address: addr(v6, i, 1),
        private: private.then(|| addr(v6, i, 2)),
        shared_disk,
    })
}

fn routers() -> impl Strategy<Value = Routers> {
    (any::<bool>(), any::<bool>()).prop_flat_map(|(v6, private)| {
        prop_oneof![
            (router(v6, 0, private), proptest::option::of(router(v6, 1, private)))
                .prop_map(|(primary, backup)| Routers::Pair { primary, backup }),
            (1usize..5)
                .prop_flat_map(move |n| (0..n).map(|i| router(v6, i, private)).collect::<Vec<_>>())
                .prop_map(|pool| Routers::Pool { pool }),
        ]
    })
}

fn list<T: std::fmt::Debug + 'static, S: Strategy<Value = T> + 'static>(
    max: usize,
    f: fn(usize) -> S,
) -> impl Strategy<Value = Vec<T>> {
    (0..=max).prop_flat_map(move |n| (0..n).map(f).collect::<Vec<_>>())
}

/// Any valid config, every feature of the YAML format.
pub fn config() -> impl Strategy<Value = Config> {
    (
        (
            select(vec![ServiceMode::Lvs, ServiceMode::Fos]),
            any::<u64>(),
            routers(),
            any::<bool>(),
            any::<bool>(),
        ),
        (
            1u16..,
            millis(100_000),
            1u64..100_000,
            select(vec![HeartbeatProtocol::Native, HeartbeatProtocol::Piranha]),
            proptest::option::of(path()),
        ),
        (0u32..=1000, millis(100_000), proptest::option::of(millis(10_000_000))),
        (
            forward(),
            proptest::option::of((iface(false), proptest::option::of(0u8..=32))),
            proptest::option::of((iface(true), any::<u8>())),
            (0u32..=i32::MAX as u32, 0u32..=i32::MAX as u32, 0u32..=i32::MAX as u32),
        ),
        (
            proptest::option::of(command()),
            proptest::option::of(command()),
            any::<bool>(),
            any::<bool>(),
            select(vec![RemoteShell::Rsh, RemoteShell::Ssh]),
            proptest::option::of(select(vec![
                ReservationConflictAction::Nothing,
                ReservationConflictAction::Preempt,
            ])),
            (path(), path(), path(), path(), path()),
            select(vec![Standby::Hot, Standby::Cold]),
        ),
        list(4, virtual_service),
        list(3, failover_service),
    )
        .prop_map(
            |(
                (service, serial_no, routers, backup_active, preempt),
                (port, keepalive, extra, protocol, auth),
                (count, interval, refresh),
                (network, nat, sync, (tcp, tcpfin, udp)),
                (
                    active_cmd,
                    inactive_cmd,
                    monitor_links,
                    hard_shutdown,
                    rsh_command,
                    rca,
                    p,
                    standby,
                ),
                virtual_services,
                failover_services,
            )| {
                let auth_key_file = match (protocol, auth) {
                    (HeartbeatProtocol::Native, None) => Some(PathBuf::from("/etc/lvs-router/key")),
                    (_, a) => a,
                };
                Config {
                    service,
                    serial_no,
                    routers,
                    backup_active,
                    preempt,
                    standby,
                    heartbeat: Heartbeat {
                        port,
                        keepalive,
                        deadtime: Millis(keepalive.0 + extra),
                        protocol,
                        auth_key_file,
                    },
                    arp: Arp { count, interval, refresh },
                    network,
                    nat_router: nat.map(|(interface, netmask)| NatRouter {
                        address: addr(false, 300, 3),
                        interface,
                        netmask,
                    }),
                    sync_daemon: sync.map(|(interface, sync_id)| SyncDaemon {
                        interface,
                        sync_id,
                        both: false,
                    }),
                    ipvs_timeouts: IpvsTimeouts { tcp, tcpfin, udp },
                    ipvs_sloppy: IpvsSloppy::default(),
                    active_cmd,
                    inactive_cmd,
                    monitor_links,
                    hard_shutdown,
                    rsh_command,
                    reservation_conflict_action: rca,
                    http: None,
                    paths: Paths {
                        lvsd: p.0,
                        nanny: p.1,
                        ipvsadm: p.2,
                        fos: p.3,
                        send_arp: p.4,
                        ..Paths::default()
                    },
                    virtual_services,
                    failover_services,
                }
            },
        )
}

// ---------------------------------------------------------------------------
// The piranha-expressible subset, and a test-only lvs.cf writer.

/// A value lvs.cf can carry in one quoted token: no quotes, no backslash,
/// no line breaks.
fn cf_plain() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 /%._:-]{0,20}"
}

/// A value that goes through nanny's escapes: any printable ASCII plus tab,
/// CR and LF.
fn cf_escaped() -> impl Strategy<Value = String> {
    "[ -~\t\r\n]{0,24}"
}

fn cf_name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_.-]{1,10}"
}

fn cf_check(vport: u16, with_load: bool) -> impl Strategy<Value = HealthCheck> {
    let kind = prop_oneof![
        (proptest::option::of(cf_escaped()), proptest::option::of(cf_escaped()))
            .prop_map(|(send, expect)| CheckKind::Connect { send, expect, regex: false }),
        (proptest::option::of(cf_escaped()), select(REGEXES)).prop_map(|(send, r)| {
            CheckKind::Connect { send, expect: Some(r.to_owned()), regex: true }
        }),
        (command(), proptest::option::of(cf_escaped()))
            .prop_map(|(command, expect)| CheckKind::Program { command, expect }),
    ];
    (kind, 1u64..100_000, 0u64..1_000_000, any::<bool>(), load_monitor()).prop_map(
        move |(mut kind, interval, reentry, quiesce, load)| {
            if vport == 80 {
                // piranha turns an empty check on port 80 into an HTTP check.
                if let CheckKind::Connect { send: None, expect: e @ None, .. } = &mut kind {
                    *e = Some("HTTP".to_owned());
                }
            }
            HealthCheck {
                kind,
                interval: Millis(interval),
                timeout: None,
                reentry: Millis(reentry),
                retries: 0,
                quiesce: quiesce && with_load,
                load_monitor: if with_load { load } else { LoadMonitor::None },
                via: CheckVia::Server,
            }
        },
    )
}

fn cf_virtual(i: usize) -> impl Strategy<Value = VirtualService> {
    (any::<bool>(), any::<u8>(), 1u16..=65535).prop_flat_map(move |(v6, salt, port)| {
        let servers = (0usize..4).prop_flat_map(move |n| {
            (0..n)
                .map(|j| {
                    (cf_name(), any::<u16>(), 0u32..=65535, any::<bool>()).prop_map(
                        move |(name, port, weight, active)| RealServer {
                            name: format!("r{j}{name}"),
                            address: addr(v6, j, salt.wrapping_add(1)),
                            port,
                            weight,
                            forwarding: None,
                            upper_threshold: 0,
                            lower_threshold: 0,
                            active,
                        },
                    )
                })
                .collect::<Vec<_>>()
        });
        (
            (cf_name(), any::<bool>(), vip(v6, i, salt), proptest::option::of(fwmark())),
            (protocol(), select(KNOWN_SCHEDULERS)),
            proptest::option::of((1u32..=i32::MAX as u32, proptest::option::of(prefix(v6)))),
            (any::<bool>(), proptest::option::of(path()), cf_check(port, true), servers),
        )
            .prop_map(
                move |(
                    (name, active, vip, fwmark),
                    (protocol, scheduler),
                    persistence,
                    (sorry, monitor, check, real_servers),
                )| {
                    VirtualService {
                        name: format!("v{i}{name}"),
                        active,
                        vip,
                        port,
                        fwmark,
                        protocol,
                        scheduler: Scheduler(scheduler.to_owned()),
                        scheduler_flags: Vec::new(),
                        persistence: persistence
                            .map(|(timeout, netmask)| Persistence { timeout, netmask }),
                        one_packet: false,
                        sorry_server: sorry
                            .then(|| SocketAddr::new(addr(v6, 200, salt.wrapping_add(2)), port)),
                        monitor,
                        check,
                        real_servers,
                        min_up: None,
                        drain_timeout: DEFAULT_DRAIN_TIMEOUT,
                    }
                },
            )
    })
}

fn cf_failover(i: usize) -> impl Strategy<Value = FailoverService> {
    (any::<bool>(), any::<u8>(), any::<u16>()).prop_flat_map(move |(v6, salt, port)| {
        (
            cf_name(),
            any::<bool>(),
            vip(v6, i, salt),
            protocol(),
            cf_check(port, false),
            proptest::option::of(path()),
            command(),
            command(),
        )
            .prop_map(
                move |(name, active, vip, protocol, check, monitor, start_cmd, stop_cmd)| {
                    FailoverService {
                        name: format!("f{i}{name}"),
                        active,
                        vip,
                        port,
                        protocol,
                        check,
                        monitor,
                        start_cmd,
                        stop_cmd,
                    }
                },
            )
    })
}

/// Any valid config that piranha's lvs.cf can express.
pub fn cf_config() -> impl Strategy<Value = Config> {
    (
        (
            select(vec![ServiceMode::Lvs, ServiceMode::Fos]),
            0u64..=i64::MAX as u64,
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
        (proptest::option::of(path()), proptest::option::of(path())),
        (1u16.., 1u64..100_000, 1u64..100_000),
        (
            forward(),
            proptest::option::of((iface(false), proptest::option::of(0u8..=32))),
            proptest::option::of((iface(false), any::<u8>())),
            (0u32..=i32::MAX as u32, 0u32..=i32::MAX as u32, 0u32..=i32::MAX as u32),
        ),
        (
            proptest::option::of(command()),
            proptest::option::of(command()),
            any::<bool>(),
            any::<bool>(),
            select(vec![RemoteShell::Rsh, RemoteShell::Ssh]),
            proptest::option::of(select(vec![
                ReservationConflictAction::Nothing,
                ReservationConflictAction::Preempt,
            ])),
            path(),
            select(vec![Standby::Hot, Standby::Cold]),
        ),
        list(4, cf_virtual),
        list(3, cf_failover),
    )
        .prop_map(
            |(
                (service, serial_no, has_backup, private, backup_active),
                (pshared, bshared),
                (port, keepalive, extra),
                (network, nat, sync, (tcp, tcpfin, udp)),
                (
                    active_cmd,
                    inactive_cmd,
                    monitor_links,
                    hard_shutdown,
                    rsh_command,
                    rca,
                    ipvsadm,
                    standby,
                ),
                virtual_services,
                failover_services,
            )| Config {
                service,
                serial_no,
                routers: Routers::Pair {
                    primary: Router {
                        address: addr(false, 0, 1),
                        private: private.then(|| addr(false, 0, 2)),
                        shared_disk: pshared,
                    },
                    backup: has_backup.then(|| Router {
                        address: addr(false, 1, 1),
                        private: private.then(|| addr(false, 1, 2)),
                        shared_disk: bshared,
                    }),
                },
                backup_active,
                preempt: false,
                standby,
                heartbeat: Heartbeat {
                    port,
                    keepalive: Millis(keepalive),
                    deadtime: Millis(keepalive + extra),
                    protocol: HeartbeatProtocol::Piranha,
                    auth_key_file: None,
                },
                arp: Arp::default(),
                network,
                nat_router: nat.map(|(interface, netmask)| NatRouter {
                    address: addr(false, 300, 3),
                    interface,
                    netmask,
                }),
                sync_daemon: sync.map(|(interface, sync_id)| SyncDaemon {
                    interface,
                    sync_id,
                    both: false,
                }),
                ipvs_timeouts: IpvsTimeouts { tcp, tcpfin, udp },
                ipvs_sloppy: IpvsSloppy::default(),
                active_cmd,
                inactive_cmd,
                monitor_links,
                hard_shutdown,
                rsh_command,
                reservation_conflict_action: rca,
                http: None,
                paths: Paths { ipvsadm, ..Paths::default() },
                virtual_services,
                failover_services,
            },
        )
}

fn secs(m: Millis) -> String {
    if m.0.is_multiple_of(1000) {
        (m.0 / 1000).to_string()
    } else {
        format!("{}.{:03}", m.0 / 1000, m.0 % 1000)
    }
}

fn escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\'' => out.push_str("\\'"),
            c => out.push(c),
        }
    }
    out
}

fn dotted(prefix: u8) -> String {
    let bits = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
    Ipv4Addr::from(bits).to_string()
}

fn mask(prefix: u8, v6: bool) -> String {
    if v6 {
        prefix.to_string()
    } else {
        dotted(prefix)
    }
}

fn cf_check_lines(out: &mut String, h: &HealthCheck) {
    let _ = writeln!(out, "    timeout = {}", secs(h.interval));
    let _ = writeln!(out, "    reentry = {}", secs(h.reentry));
    match &h.kind {
        CheckKind::Connect { send, expect, regex } => {
            if let Some(s) = send {
                let _ = writeln!(out, "    send = \"{}\"", escape(s));
            }
            if let Some(e) = expect {
                let _ = writeln!(out, "    expect = \"{}\"", escape(e));
            }
            let _ = writeln!(out, "    use_regex = {}", u8::from(*regex));
        }
        CheckKind::Program { command, expect } => {
            let _ = writeln!(out, "    send_program = \"{command}\"");
            if let Some(e) = expect {
                let _ = writeln!(out, "    expect = \"{}\"", escape(e));
            }
        }
        other => panic!("not expressible in lvs.cf: {other:?}"),
    }
}

/// Writes a piranha-expressible config as lvs.cf, as the piranha GUI would
/// (keys in a shuffled-but-fixed order are not needed: order is free).
pub fn to_lvscf(c: &Config) -> String {
    let mut o = String::from("# generated\n");
    let b = |v: bool| u8::from(v);
    let _ = writeln!(o, "serial_no = {}", c.serial_no);
    let _ = writeln!(o, "service = {}", if c.service == ServiceMode::Fos { "fos" } else { "lvs" });
    let Routers::Pair { primary, backup } = &c.routers else { panic!("pool in lvs.cf") };
    let _ = writeln!(o, "primary = {}", primary.address);
    if let Some(p) = primary.private {
        let _ = writeln!(o, "primary_private = {p}");
    }
    if let Some(d) = &primary.shared_disk {
        let _ = writeln!(o, "primary_shared = {}", d.display());
    }
    if let Some(bk) = backup {
        let _ = writeln!(o, "backup = {}", bk.address);
        if let Some(p) = bk.private {
            let _ = writeln!(o, "backup_private = {p}");
        }
        if let Some(d) = &bk.shared_disk {
            let _ = writeln!(o, "backup_shared = {}", d.display());
        }
    } else {
        o.push_str("backup = 0.0.0.0\n");
    }
    let _ = writeln!(o, "backup_active = {}", b(c.backup_active));
    let _ = writeln!(o, "heartbeat_port = {}", c.heartbeat.port);
    let _ = writeln!(o, "keepalive = {}", secs(c.heartbeat.keepalive));
    let _ = writeln!(o, "deadtime\t=\t{}", secs(c.heartbeat.deadtime));
    let _ = writeln!(o, "network = {}", c.network.name());
    if let Some(n) = &c.nat_router {
        let _ = writeln!(o, "nat_router = {} {}", n.address, n.interface);
        if let Some(m) = n.netmask {
            let _ = writeln!(o, "nat_nmask = {}", dotted(m));
        }
    }
    let _ = writeln!(
        o,
        "rsh_command = {}",
        if c.rsh_command == RemoteShell::Ssh { "ssh" } else { "rsh" }
    );
    if let Some(a) = c.reservation_conflict_action {
        let _ = writeln!(
            o,
            "reservation_conflict_action = {}",
            if a == ReservationConflictAction::Preempt { "preempt" } else { "nothing" }
        );
    }
    let _ = writeln!(o, "ipvsadm = {}", c.paths.ipvsadm.display());
    if let Some(s) = &c.sync_daemon {
        let _ =
            writeln!(o, "syncdaemon = 1\nsyncd_iface = {}\nsyncd_id = {}", s.interface, s.sync_id);
    }
    let _ = writeln!(o, "monitor_links = {}", b(c.monitor_links));
    let _ = writeln!(o, "hard_shutdown = {}", b(c.hard_shutdown));
    if c.standby == Standby::Cold {
        let _ = writeln!(o, "standby = cold");
    }
    let t = c.ipvs_timeouts;
    let _ = writeln!(
        o,
        "tcp_timeout = {}\ntcpfin_timeout = {}\nudp_timeout = {}",
        t.tcp, t.tcpfin, t.udp
    );
    if let Some(a) = &c.active_cmd {
        let _ = writeln!(o, "active_cmd = \"{a}\"");
    }
    if let Some(a) = &c.inactive_cmd {
        let _ = writeln!(o, "inactive_cmd = '{a}'");
    }
    for v in &c.virtual_services {
        let v6 = v.vip.address.is_ipv6();
        let _ = writeln!(o, "\nvirtual {} {{", v.name);
        // The port comes first so that the servers inherit it, as in piranha.
        let _ = writeln!(o, "    port = {}", v.port);
        let _ = writeln!(o, "    address = {} {}", v.vip.address, v.vip.interface);
        if let Some(m) = v.vip.netmask {
            let _ = writeln!(o, "    vip_nmask = {}", mask(m, v6));
        }
        let _ = writeln!(o, "    active = {}", b(v.active));
        let _ = writeln!(o, "    protocol = {}", v.protocol.name());
        if let Some(m) = v.fwmark {
            let _ = writeln!(o, "    fwmark = {m}");
        }
        let _ = writeln!(o, "    scheduler = {}", v.scheduler.0);
        if let Some(p) = &v.persistence {
            let _ = writeln!(o, "    persistent = {}", p.timeout);
            if let Some(m) = p.netmask {
                let _ = writeln!(o, "    pmask = {}", mask(m, v6));
            }
        }
        if let Some(s) = v.sorry_server {
            let _ = writeln!(o, "    sorry_server = {}", s.ip());
        }
        if let Some(m) = &v.monitor {
            let _ = writeln!(o, "    client_monitor = {}", m.display());
        }
        cf_check_lines(&mut o, &v.check);
        let lm = match v.check.load_monitor {
            LoadMonitor::None => "none",
            LoadMonitor::Uptime => "uptime",
            LoadMonitor::Rup => "rup",
            LoadMonitor::Ruptime => "ruptime",
        };
        let _ = writeln!(o, "    load_monitor = {lm}\n    quiesce_server = {}", b(v.check.quiesce));
        for r in &v.real_servers {
            let _ = writeln!(
                o,
                "    server {} {{\n        address = {}\n        port = {}\n        weight = {}\n        active = {}\n    }}",
                r.name,
                r.address,
                r.port,
                r.weight,
                b(r.active)
            );
        }
        o.push_str("}\n");
    }
    for f in &c.failover_services {
        let v6 = f.vip.address.is_ipv6();
        let _ = writeln!(o, "\r\nfailover {} {{\r", f.name);
        let _ = writeln!(o, "    address = {} {}", f.vip.address, f.vip.interface);
        if let Some(m) = f.vip.netmask {
            let _ = writeln!(o, "    vip_nmask = {}", mask(m, v6));
        }
        let _ = writeln!(o, "    active = {}", b(f.active));
        let _ = writeln!(o, "    port = {}", f.port);
        let _ = writeln!(o, "    protocol = {}", f.protocol.name());
        if let Some(m) = &f.monitor {
            let _ = writeln!(o, "    client_monitor = {}", m.display());
        }
        cf_check_lines(&mut o, &f.check);
        let _ =
            writeln!(o, "    start_cmd = \"{}\"\n    stop_cmd = \"{}\"", f.start_cmd, f.stop_cmd);
        o.push_str("}\n");
    }
    o
}
