//! The manual pages in `docs/man/` cannot drift from the code:
//! lvs-router.yaml(5) names every key of the configuration model (a model
//! with every field set and every check type, written out by lvs-config's
//! own YAML writer, gives the keys: a new field does not compile here until
//! it is added, and then fails until the page documents it), and each
//! binary's page names every long option of its usage text.
//!
//! The page itself is generated from the model's doc comments by
//! `cargo xtask man` (the xtask unit test checks the committed page is the
//! generated one); `cargo xtask dist --check` lints the pages with
//! `mandoc -T lint` and `groff -ww`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use lvs_config::{
    Arp, CheckKind, CheckVia, Config, FailoverService, ForwardMethod, HealthCheck, Heartbeat,
    HeartbeatProtocol, IpvsSloppy, IpvsTimeouts, LoadMonitor, Millis, MinUp, NatRouter, Paths,
    Persistence, Protocol, RealServer, RemoteShell, ReservationConflictAction, Router, Routers,
    Scheduler, SchedulerFlag, ServiceMode, SyncDaemon, Vip, VirtualService,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// The page's text with roff escapes for `-` and fonts removed.
fn page(name: &str) -> String {
    let text = fs::read_to_string(root().join("docs/man").join(name))
        .unwrap_or_else(|e| panic!("docs/man/{name}: {e}"));
    text.replace("\\-", "-").replace("\\fB", "").replace("\\fR", "").replace("\\fI", "")
}

/// One of each check type; the match makes a new type fail to compile.
fn every_check_kind() -> Vec<CheckKind> {
    let all = vec![
        CheckKind::Connect { send: Some("x".into()), expect: Some("y".into()), regex: true },
        CheckKind::Program { command: "c".into(), expect: Some("OK".into()) },
        CheckKind::Agent {
            command: "a".into(),
            on_up: Some("u".into()),
            on_down: Some("d".into()),
        },
        CheckKind::Http {
            path: "/".into(),
            host: Some("h".into()),
            status: vec![200],
            body_regex: Some("b".into()),
            tls: true,
        },
        CheckKind::Ping { count: 3 },
        CheckKind::Dns { query: "q".into(), record: Some("A".into()) },
        CheckKind::None,
    ];
    for k in &all {
        match k {
            CheckKind::Connect { .. }
            | CheckKind::Program { .. }
            | CheckKind::Agent { .. }
            | CheckKind::Http { .. }
            | CheckKind::Ping { .. }
            | CheckKind::Dns { .. }
            | CheckKind::None => {}
        }
    }
    all
}

fn check(kind: CheckKind) -> HealthCheck {
    HealthCheck {
        kind,
        interval: Millis(1500),
        timeout: Some(Millis(1000)),
        reentry: Millis(2000),
        retries: 1,
        quiesce: true,
        load_monitor: LoadMonitor::Uptime,
        via: CheckVia::Vip,
    }
}

fn vip() -> Vip {
    Vip { address: "192.0.2.10".parse().expect("ip"), interface: "eth0".into(), netmask: Some(24) }
}

fn router(last: u8) -> Router {
    Router {
        address: format!("192.0.2.{last}").parse().expect("ip"),
        private: Some(format!("198.51.100.{last}").parse().expect("ip")),
        shared_disk: Some("/dev/sdb".into()),
    }
}

/// A model with every field set (every `Option` is `Some`, every list has
/// an item), once as a pair and once as a pool.
fn full_models() -> Vec<Config> {
    let services = every_check_kind()
        .into_iter()
        .enumerate()
        .map(|(i, kind)| VirtualService {
            name: format!("vs{i}"),
            active: true,
            vip: vip(),
            port: 80,
            fwmark: Some(7),
            protocol: Protocol::Tcp,
            scheduler: Scheduler("wlc".into()),
            scheduler_flags: vec![SchedulerFlag::Flag1],
            persistence: Some(Persistence { timeout: 60, netmask: Some(24) }),
            one_packet: true,
            sorry_server: Some("192.0.2.99:80".parse().expect("socket address")),
            monitor: Some("/usr/sbin/nanny".into()),
            check: check(kind.clone()),
            real_servers: vec![RealServer {
                name: "r".into(),
                address: "192.0.2.50".parse().expect("ip"),
                port: 80,
                weight: 2,
                forwarding: Some(ForwardMethod::Direct),
                upper_threshold: 10,
                lower_threshold: 5,
                active: true,
            }],
            min_up: Some(MinUp::Percent(50)),
            drain_timeout: Millis(30_000),
        })
        .collect();
    let config = Config {
        service: ServiceMode::Lvs,
        serial_no: 1,
        routers: Routers::Pair { primary: router(1), backup: Some(router(2)) },
        backup_active: true,
        preempt: true,
        // Cold, so that the writer prints the key (hot is the default, left out).
        standby: lvs_config::Standby::Cold,
        http: Some(lvs_config::Http { listen: std::net::SocketAddr::from(([127, 0, 0, 1], 9539)) }),
        heartbeat: Heartbeat {
            port: 539,
            keepalive: Millis(2000),
            deadtime: Millis(5000),
            protocol: HeartbeatProtocol::Native,
            auth_key_file: Some("/etc/lvs-router/heartbeat.key".into()),
        },
        arp: Arp { count: 5, interval: Millis(1000), refresh: Some(Millis(60000)) },
        network: ForwardMethod::Nat,
        nat_router: Some(NatRouter {
            address: "192.0.2.254".parse().expect("ip"),
            interface: "eth1".into(),
            netmask: Some(24),
        }),
        sync_daemon: Some(SyncDaemon { interface: "eth0".into(), sync_id: 1, both: true }),
        ipvs_timeouts: IpvsTimeouts { tcp: 1, tcpfin: 2, udp: 3 },
        ipvs_sloppy: IpvsSloppy { tcp: Some(true), sctp: Some(true) },
        active_cmd: Some("/bin/true".into()),
        inactive_cmd: Some("/bin/true".into()),
        monitor_links: true,
        hard_shutdown: true,
        rsh_command: RemoteShell::Ssh,
        reservation_conflict_action: Some(ReservationConflictAction::Preempt),
        paths: Paths::default(),
        virtual_services: services,
        failover_services: every_check_kind()
            .into_iter()
            .enumerate()
            .map(|(i, kind)| FailoverService {
                name: format!("fos{i}"),
                active: true,
                vip: vip(),
                port: 80,
                protocol: Protocol::Udp,
                check: check(kind),
                monitor: Some("/usr/sbin/nanny".into()),
                start_cmd: "/bin/true".into(),
                stop_cmd: "/bin/true".into(),
            })
            .collect(),
    };
    let mut pool = config.clone();
    pool.routers = Routers::Pool { pool: vec![router(1), router(2)] };
    let mut ecmp = config.clone();
    ecmp.routers = Routers::Ecmp {
        ecmp: vec![lvs_config::EcmpRouter {
            name: "lvs1".into(),
            address: "192.0.2.1".parse().expect("ip"),
        }],
        route_table: 100,
        min_servers: 1,
    };
    vec![config, pool, ecmp]
}

/// Every key path of a YAML value: `a.b`, `a[].b`.
fn paths(value: &serde_yaml::Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        serde_yaml::Value::Mapping(m) => {
            for (k, v) in m {
                let key = k.as_str().expect("string keys");
                let path = format!("{prefix}{key}");
                let path = if v.is_sequence() { format!("{path}[]") } else { path };
                out.insert(path.clone());
                paths(v, &format!("{path}."), out);
            }
        }
        serde_yaml::Value::Sequence(items) => {
            for item in items {
                paths(item, prefix, out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_configuration_page_names_every_key_of_the_model() {
    let mut keys = BTreeSet::new();
    for model in full_models() {
        let yaml = lvs_config::to_yaml(&model);
        let value: serde_yaml::Value = serde_yaml::from_str(&yaml).expect("the writer's YAML");
        paths(&value, "", &mut keys);
    }
    assert!(keys.len() > 80, "the walk found the keys: {keys:?}");
    let text = page("lvs-router.yaml.5");
    let missing: Vec<&String> =
        keys.iter().filter(|k| !text.contains(&format!("\n.B {k}\n"))).collect();
    assert!(missing.is_empty(), "lvs-router.yaml(5) lacks {missing:?}: run `cargo xtask man`");
}

/// The long options (`--name`) of a usage text found in a source file,
/// between `start` and the next line that is `end`.
fn long_options(file: &str, start: &str, end: &str) -> BTreeSet<String> {
    let text = fs::read_to_string(root().join(file)).expect("source file");
    let at = text.find(start).unwrap_or_else(|| panic!("{file}: no {start:?}"));
    let body = &text[at..];
    let body = &body[..body.find(end).unwrap_or(body.len())];
    let mut out = BTreeSet::new();
    let mut rest = body;
    while let Some(i) = rest.find("--") {
        rest = &rest[i + 2..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        if name.len() > 1 {
            out.insert(format!("--{name}"));
        }
    }
    out
}

#[test]
fn each_binary_page_names_every_option_of_its_usage() {
    let cases = [
        ("pulse.8", "crates/pulse/src/main.rs", "const USAGE", "\";"),
        ("lvsd.8", "crates/lvsd/src/lib.rs", "pub const USAGE", "\";"),
        ("nanny.8", "crates/nanny/src/args.rs", "pub const USAGE", "\";"),
        ("send_arp.8", "crates/send-arp/src/lib.rs", "pub const USAGE", "\";"),
        ("ipvsadm-rs.8", "crates/ipvsadm-rs/src/help.rs", "const USAGE_BODY", "\";"),
        ("lvs-node.8", "crates/lvs-node/src/args.rs", "pub const USAGE", "\";"),
    ];
    for (name, file, start, end) in cases {
        let options = long_options(file, start, end);
        assert!(options.len() >= 4, "{file}: found {options:?}");
        let text = page(name);
        let missing: Vec<&String> = options.iter().filter(|o| !text.contains(o.as_str())).collect();
        assert!(missing.is_empty(), "{name} lacks {missing:?} of {file}");
        // Each page has the sections a manual page needs.
        for section in [".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH SEE ALSO"] {
            assert!(text.contains(section), "{name} lacks {section}");
        }
    }
}
