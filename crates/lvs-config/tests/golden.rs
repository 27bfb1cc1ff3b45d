//! Golden tests: piranha's sample lvs.cf (every key of the reference
//! example, shipped as `etc/lvs.cf`) parses to exactly the expected model,
//! and the same cluster written in YAML (`etc/lvs.yaml`) gives the same
//! model but for its authenticated heartbeat. The shipped samples are parsed here so they cannot rot.

// Reads the sample files of etc/: the choke point for reading files
// (`clippy.toml`) is the library's.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use common::parse_ok;
use lvs_config::*;

fn etc(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../etc").join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(etc(name)).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const HTTP_SEND: &str = "GET / HTTP/1.0\r\n\r\n";

/// The cluster of reference §1.7, field by field.
fn expected() -> Config {
    Config {
        service: ServiceMode::Lvs,
        serial_no: 48,
        routers: Routers::Pair {
            primary: Router {
                address: ip("207.175.44.150"),
                private: Some(ip("10.11.12.1")),
                shared_disk: None,
            },
            backup: Some(Router {
                address: ip("207.175.44.196"),
                private: Some(ip("10.11.12.2")),
                shared_disk: None,
            }),
        },
        backup_active: true,
        preempt: false,
        standby: Standby::Hot,
        heartbeat: Heartbeat {
            port: 539,
            keepalive: Millis(6000),
            deadtime: Millis(18000),
            protocol: HeartbeatProtocol::Piranha,
            auth_key_file: None,
        },
        arp: Arp { count: 5, interval: Millis(1000), refresh: None },
        network: ForwardMethod::Nat,
        nat_router: Some(NatRouter {
            address: ip("192.168.10.100"),
            interface: "eth1:1".into(),
            netmask: Some(32),
        }),
        sync_daemon: Some(SyncDaemon { interface: "eth0".into(), sync_id: 0, both: false }),
        ipvs_timeouts: IpvsTimeouts { tcp: 0, tcpfin: 0, udp: 0 },
        ipvs_sloppy: IpvsSloppy::default(),
        active_cmd: Some("/etc/sysconfig/ha/active.sh".into()),
        inactive_cmd: Some("/etc/sysconfig/ha/inactive.sh".into()),
        monitor_links: false,
        hard_shutdown: true,
        rsh_command: RemoteShell::Ssh,
        reservation_conflict_action: None,
        http: None,
        paths: Paths {
            lvsd: "/usr/sbin/lvsd".into(),
            nanny: "/usr/sbin/nanny".into(),
            ipvsadm: "/sbin/ipvsadm".into(),
            fos: "/usr/sbin/fos".into(),
            send_arp: "/usr/sbin/send_arp".into(),
            overrides: "/var/lib/lvs-router/overrides".into(),
        },
        virtual_services: vec![
            VirtualService {
                name: "server1".into(),
                active: true,
                vip: Vip {
                    address: ip("207.175.44.252"),
                    interface: "eth0:1".into(),
                    netmask: Some(32),
                },
                port: 80,
                fwmark: None,
                protocol: Protocol::Tcp,
                scheduler: Scheduler("wlc".into()),
                scheduler_flags: vec![],
                persistence: Some(Persistence { timeout: 60, netmask: Some(24) }),
                one_packet: false,
                sorry_server: Some(SocketAddr::new(ip("192.168.10.9"), 80)),
                monitor: None,
                check: HealthCheck {
                    kind: CheckKind::Connect {
                        send: Some(HTTP_SEND.into()),
                        expect: Some("HTTP".into()),
                        regex: false,
                    },
                    interval: Millis(6000),
                    timeout: None,
                    reentry: Millis(15000),
                    retries: 0,
                    quiesce: true,
                    load_monitor: LoadMonitor::Uptime,
                    via: CheckVia::Server,
                },
                real_servers: vec![
                    RealServer {
                        name: "Real1".into(),
                        address: ip("192.168.10.2"),
                        port: 80,
                        weight: 1,
                        forwarding: None,
                        upper_threshold: 0,
                        lower_threshold: 0,
                        active: true,
                    },
                    RealServer {
                        name: "Real2".into(),
                        address: ip("192.168.10.3"),
                        port: 80,
                        weight: 2,
                        forwarding: None,
                        upper_threshold: 0,
                        lower_threshold: 0,
                        active: true,
                    },
                ],
                min_up: None,
                drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            },
            VirtualService {
                name: "dns".into(),
                active: true,
                vip: Vip {
                    address: ip("207.175.44.253"),
                    interface: "eth0:2".into(),
                    netmask: None,
                },
                port: 53,
                fwmark: None,
                protocol: Protocol::Udp,
                scheduler: Scheduler("rr".into()),
                scheduler_flags: vec![],
                persistence: None,
                one_packet: false,
                sorry_server: None,
                monitor: None,
                check: HealthCheck {
                    kind: CheckKind::Program {
                        command: "/usr/local/bin/dnscheck %h".into(),
                        expect: Some("OK".into()),
                    },
                    interval: Millis(10000),
                    timeout: None,
                    reentry: Millis(30000),
                    retries: 0,
                    quiesce: false,
                    load_monitor: LoadMonitor::None,
                    via: CheckVia::Server,
                },
                real_servers: vec![RealServer {
                    name: "ns1".into(),
                    address: ip("192.168.10.2"),
                    port: 53,
                    weight: 1,
                    forwarding: None,
                    upper_threshold: 0,
                    lower_threshold: 0,
                    active: true,
                }],
                min_up: None,
                drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            },
        ],
        failover_services: vec![FailoverService {
            name: "web1".into(),
            active: true,
            vip: Vip {
                address: ip("207.175.44.242"),
                interface: "eth0:1".into(),
                netmask: Some(32),
            },
            port: 1010,
            protocol: Protocol::Tcp,
            check: HealthCheck {
                kind: CheckKind::Connect {
                    send: Some(HTTP_SEND.into()),
                    expect: Some("HTTP".into()),
                    regex: false,
                },
                interval: Millis(10000),
                timeout: None,
                reentry: Millis(180000),
                retries: 0,
                quiesce: false,
                load_monitor: LoadMonitor::None,
                via: CheckVia::Server,
            },
            monitor: None,
            start_cmd: "/etc/rc.d/init.d/httpd start".into(),
            stop_cmd: "/etc/rc.d/init.d/httpd stop".into(),
        }],
    }
}

#[test]
fn piranha_sample_lvs_cf_parses_to_the_expected_model() {
    let (config, diags) = parse_str(&read("lvs.cf"), "etc/lvs.cf", Format::LvsCf);
    let messages: Vec<String> = diags.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "etc/lvs.cf:11:1: warning: `heartbeat` is parsed but has no effect, as in piranha 0.8.6",
            "etc/lvs.cf:19:1: warning: `debug_level` is parsed but has no effect, as in piranha 0.8.6",
        ]
    );
    assert_eq!(config, Some(expected()));
}

#[test]
fn the_same_cluster_in_yaml_gives_the_same_model() {
    // Except the heartbeat: the YAML example authenticates it.
    let (config, diags) = parse_str(&read("lvs.yaml"), "etc/lvs.yaml", Format::Yaml);
    assert_eq!(diags, []);
    let mut want = expected();
    want.heartbeat.protocol = HeartbeatProtocol::Native;
    want.heartbeat.auth_key_file = Some("/etc/lvs-router/heartbeat.key".into());
    assert_eq!(config, Some(want));
}

#[test]
fn the_sample_converts_to_yaml_and_back() {
    let yaml = to_yaml(&expected());
    assert_eq!(parse_ok(&yaml, "converted.yaml", Format::Yaml), expected());
}

#[test]
fn every_sample_in_etc_loads() {
    for entry in std::fs::read_dir(etc("")).unwrap() {
        let path = entry.unwrap().path();
        if matches!(path.extension().and_then(|e| e.to_str()), Some("cf" | "yaml" | "yml")) {
            let (config, diags) = load_file(&path);
            assert!(config.is_some(), "{}: {}", path.display(), Diagnostics(diags));
        }
    }
}

#[test]
fn format_is_chosen_by_extension_then_content() {
    assert_eq!(Format::detect("x.yaml", "a = b"), Format::Yaml);
    assert_eq!(Format::detect("x.yml", ""), Format::Yaml);
    assert_eq!(Format::detect("x.cf", "a: b"), Format::LvsCf);
    assert_eq!(Format::detect("lvs.conf", "# c\n\nprimary = 1.2.3.4\n"), Format::LvsCf);
    assert_eq!(Format::detect("lvs.conf", "virtual web {\n}\n"), Format::LvsCf);
    assert_eq!(Format::detect("lvs.conf", "# c\nrouters:\n"), Format::Yaml);
    // The samples load without a format hint through their extension, and
    // by content when the name says nothing.
    let cf = read("lvs.cf");
    assert_eq!(Format::detect("config", &cf), Format::LvsCf);
    assert_eq!(Format::detect("config", &read("lvs.yaml")), Format::Yaml);
    let (c, _) = parse_bytes(cf.as_bytes(), "config", None);
    assert_eq!(c, Some(expected()));
}

#[test]
fn default_path_falls_back_to_piranha() {
    assert_eq!(default_path(|_| true), Path::new(DEFAULT_PATH));
    assert_eq!(default_path(|_| false), Path::new(DEFAULT_PATH));
    assert_eq!(default_path(|p| p == Path::new(PIRANHA_PATH)), Path::new(PIRANHA_PATH));
}

#[test]
fn pool_routers_and_every_check_kind_in_yaml() {
    let text = r#"
routers:
  pool:
    - address: 10.0.0.1
    - address: 10.0.0.2
    - address: 10.0.0.3
heartbeat: { keepalive: 500ms, deadtime: 1.5, auth_key_file: /etc/lvs-router/key }
virtual_services:
  - name: web
    vip: { address: "2001:db8::10", interface: eth0, netmask: 64 }
    port: https
    scheduler: mh
    scheduler_flags: [mh-port, flag-1]
    persistence: { timeout: 300, netmask: 48 }
    check: { type: http, path: /health, status: [200, 204], tls: true, retries: 2 }
    real_servers:
      - { name: a, address: "2001:db8::1", weight: 0, forwarding: direct, upper_threshold: 100, lower_threshold: 50 }
  - name: agent
    vip: { address: 10.1.0.1, interface: eth0 }
    fwmark: 7
    protocol: udp
    one_packet: true
    check: { type: agent, command: /usr/bin/ftpAgent, on_down: /usr/local/bin/ftp-down }
  - name: none
    vip: { address: 10.1.0.2, interface: eth0 }
    port: 0
    persistence: { timeout: 60 }
    check: { type: none }
"#;
    let c = parse_ok(text, "pool.yaml", Format::Yaml);
    assert_eq!(c.routers.all().len(), 3);
    assert_eq!(c.heartbeat.keepalive, Millis(500));
    assert_eq!(c.heartbeat.deadtime, Millis(1500));
    let web = &c.virtual_services[0];
    assert_eq!(web.port, 443);
    assert_eq!(web.scheduler_flags, [SchedulerFlag::Flag2, SchedulerFlag::Flag1]);
    assert_eq!(web.real_servers[0].port, 443);
    assert_eq!(web.real_servers[0].forwarding, Some(ForwardMethod::Direct));
    assert_eq!(web.check.retries, 2);
    assert!(
        matches!(&web.check.kind, CheckKind::Http { status, tls: true, .. } if status == &[200, 204])
    );
    assert_eq!(c.virtual_services[1].fwmark, Some(7));
    assert!(matches!(c.virtual_services[1].check.kind, CheckKind::Agent { .. }));
    assert_eq!(c.virtual_services[2].check.kind, CheckKind::None);
    assert_eq!(parse_ok(&to_yaml(&c), "again.yaml", Format::Yaml), c);
}

#[test]
fn piranha_defaults_and_quirks() {
    // Defaults of lvsconfig.c; the default HTTP check on port 80; a
    // server's port is the virtual port as it was when the server was read.
    let text = "primary = 10.0.0.1\nvirtual v {\n address = 10.0.0.9 eth0:1\n server early {\n  address = 10.0.1.1\n }\n port = 8080\n server late {\n  address = 10.0.1.2\n }\n}\nvirtual w {\n address = 10.0.0.8 eth0:2\n active = 1\n}\n";
    let c = parse_ok(text, "d.cf", Format::LvsCf);
    assert_eq!(c.heartbeat.keepalive, Millis(2000));
    assert_eq!(c.heartbeat.deadtime, Millis(5000));
    assert_eq!(c.heartbeat.port, 539);
    assert!(!c.backup_active && c.hard_shutdown);
    assert_eq!(c.standby, Standby::Hot, "hot standby, unlike piranha: see README");
    assert_eq!(c.paths.ipvsadm, Path::new("/sbin/ipvsadm"));
    let v = &c.virtual_services[0];
    assert!(!v.active && !v.real_servers[0].active);
    assert_eq!(v.scheduler.0, "wlc");
    assert_eq!((v.real_servers[0].port, v.real_servers[1].port), (80, 8080));
    assert_eq!(v.real_servers[0].weight, 1);
    assert_eq!((v.check.interval, v.check.reentry), (Millis(10000), Millis(180000)));
    assert_eq!(v.check.kind, CheckKind::Connect { send: None, expect: None, regex: false });
    let w = &c.virtual_services[1];
    assert_eq!(
        w.check.kind,
        CheckKind::Connect {
            send: Some(HTTP_SEND.into()),
            expect: Some("HTTP".into()),
            regex: false
        }
    );
}

#[test]
fn every_key_piranha_accepts_is_accepted() {
    // Reference §1.2-1.5: the keys beyond the sample, each in its section.
    let text = "\
serial_no = 0x10
service = fos
primary = 10.0.0.1
primary_shared = /dev/sdb
backup = 10.0.0.2
backup_shared = /dev/sdc
backup_active = 1
reservation_conflict_action = preempt
ipvsadm = /usr/sbin/ipvsadm
sync = 0
virtual web {
    address = 10.0.0.9 eth0:1
    fwmark = 010
    client_monitor = /usr/local/sbin/nanny
    master = 10.0.0.1
    dirs = [ a:b c:d ]
    start_cmd = /bin/true
    stop_cmd = /bin/true
    server a {
        address = 10.0.1.1
        port = 8080
    }
}
failover f {
    address = 10.0.0.8 eth0:2
    active = 1
    use_regex = 1
    expect = \"^OK\"
    reentry = 5
    client_monitor = /usr/local/sbin/nanny
    start_cmd = /bin/true
    stop_cmd = /bin/true
}
";
    let (config, diags) = parse_str(text, "all.cf", Format::LvsCf);
    let warnings: Vec<String> =
        diags.iter().map(|d| format!("{}:{} {}", d.line, d.column, d.message)).collect();
    assert_eq!(
        warnings,
        [
            "10:1 `sync` is parsed but has no effect, as in piranha 0.8.6",
            "15:5 `master` is parsed but has no effect, as in piranha 0.8.6",
            "16:5 `dirs` is parsed but has no effect, as in piranha 0.8.6",
            "17:5 `start_cmd` has no effect in a virtual service",
            "18:5 `stop_cmd` has no effect in a virtual service",
        ]
    );
    let c = config.unwrap();
    assert_eq!(c.serial_no, 16);
    assert_eq!(c.service, ServiceMode::Fos);
    let Routers::Pair { primary, backup: Some(backup) } = &c.routers else { panic!("a pair") };
    assert_eq!(primary.shared_disk.as_deref(), Some(Path::new("/dev/sdb")));
    assert_eq!(backup.shared_disk.as_deref(), Some(Path::new("/dev/sdc")));
    assert_eq!(c.reservation_conflict_action, Some(ReservationConflictAction::Preempt));
    assert_eq!(c.paths.ipvsadm, Path::new("/usr/sbin/ipvsadm"));
    let v = &c.virtual_services[0];
    assert_eq!(v.fwmark, Some(8));
    assert_eq!(v.monitor.as_deref(), Some(Path::new("/usr/local/sbin/nanny")));
    assert_eq!(v.real_servers[0].port, 8080);
    let f = &c.failover_services[0];
    assert_eq!(f.check.kind.expect_matcher(), Some(Expect::Regex("^OK")));
    assert_eq!(f.check.reentry, Millis(5000));
    assert_eq!(f.monitor.as_deref(), Some(Path::new("/usr/local/sbin/nanny")));
}

#[test]
fn standby_cold_in_both_formats_and_a_bad_value_is_named() {
    let cf = parse_ok("primary = 10.0.0.1\nstandby = cold\n", "c.cf", Format::LvsCf);
    assert_eq!(cf.standby, Standby::Cold);
    let yaml = parse_ok(
        "routers: { primary: { address: 10.0.0.1 } }\nstandby: cold\n",
        "c.yaml",
        Format::Yaml,
    );
    assert_eq!(yaml.standby, Standby::Cold);
    assert!(to_yaml(&yaml).contains("standby: cold"), "written when not the default");
    assert!(!to_yaml(&cf_default()).contains("standby"), "the default is left out");
    let (config, diags) = parse_str("primary = 10.0.0.1\nstandby = warm\n", "w.cf", Format::LvsCf);
    assert!(config.is_none());
    let text = Diagnostics(diags).to_string();
    assert!(text.contains("w.cf:2:") && text.contains("warm"), "{text}");
}

fn cf_default() -> Config {
    parse_ok("primary = 10.0.0.1\n", "d.cf", Format::LvsCf)
}
