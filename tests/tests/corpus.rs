//! lvs.cf files in the shapes real deployments run (`tests/corpus/`, issue
//! 17): piranha's own sample with a repeated key, a lone router whose
//! `keepalive` exceeds its `deadtime`, a GUI-edited file with keys repeated
//! at every level, a guide's LVS-DR pair with the sync daemon, a pair
//! running failover services (`service = fos`). Each loads
//! without an error, warns where piranha silently did something, converts
//! to YAML, and the YAML loads to the same model.

use std::fs;
use std::path::{Path, PathBuf};

use lvs_config::{CheckKind, Config, Format, ForwardMethod, Protocol, ServiceMode};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// Loads a corpus file: its model and its warnings (`line: message`).
fn load(name: &str) -> (Config, Vec<String>) {
    let path = corpus().join(name);
    let (config, diags) = lvs_config::load_file(&path);
    let errors: Vec<String> =
        diags.iter().filter(|d| d.is_error()).map(ToString::to_string).collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}");
    let config = config.expect("a configuration without errors");
    // lvs.cf -> model -> YAML -> model.
    let yaml = lvs_config::to_yaml(&config);
    let (back, ydiags) = lvs_config::parse_str(&yaml, "converted.yaml", Format::Yaml);
    let yerrors: Vec<String> = ydiags.iter().map(ToString::to_string).collect();
    assert_eq!(back.as_ref(), Some(&config), "{name}: the YAML loads back: {yerrors:#?}\n{yaml}");
    let warnings = diags.iter().map(|d| format!("{}: {}", d.line, d.message)).collect();
    (config, warnings)
}

#[track_caller]
fn warned(warnings: &[String], line: u32, part: &str) {
    let prefix = format!("{line}: ");
    assert!(
        warnings.iter().any(|w| w.starts_with(&prefix) && w.contains(part)),
        "no warning at line {line} with {part:?}: {warnings:#?}"
    );
}

#[test]
fn every_corpus_file_loads_and_converts_to_the_same_yaml_model() {
    let mut names: Vec<String> = fs::read_dir(corpus())
        .expect("tests/corpus/")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".cf"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "fos-pair.cf",
            "gui-edited.cf",
            "openstack-guide.cf",
            "sample-0.8.6.cf",
            "single-router.cf"
        ],
        "each corpus file has its own test below"
    );
    for name in &names {
        load(name);
    }
}

#[test]
fn piranhas_sample_keeps_the_last_backup_active() {
    let (c, w) = load("sample-0.8.6.cf");
    assert!(c.backup_active);
    warned(&w, 10, "`backup_active` is set again (first on line 5)");
    warned(&w, 11, "`heartbeat` is parsed but has no effect");
    warned(&w, 19, "`debug_level` is parsed but has no effect");
    assert_eq!(c.network, ForwardMethod::Nat);
    assert_eq!(c.rsh_command, lvs_config::RemoteShell::Ssh);
    let nat = c.nat_router.as_ref().expect("nat_router");
    assert_eq!((nat.interface.as_str(), nat.netmask), ("eth1:1", Some(24)));
    let web = &c.virtual_services[0];
    let per = web.persistence.as_ref().expect("persistence");
    assert_eq!((per.timeout, per.netmask), (60, Some(24)));
    assert_eq!(web.sorry_server.map(|s| s.to_string()).as_deref(), Some("192.168.10.9:80"));
    let dns = &c.virtual_services[1];
    assert_eq!(dns.protocol, Protocol::Udp);
    assert!(matches!(
        &dns.check.kind,
        lvs_config::CheckKind::Program { command, expect: Some(x) }
            if command == "/usr/local/bin/dnscheck %h" && x == "OK"
    ));
}

#[test]
fn a_lone_router_runs_whatever_its_heartbeat_timing() {
    let (c, w) = load("single-router.cf");
    assert!(!c.backup_active);
    assert_eq!(c.routers.all().len(), 1);
    warned(&w, 10, "deadtime (18s) must be greater than keepalive (30s) (not an error here");
    assert_eq!(c.network, ForwardMethod::Direct);
    let web = &c.virtual_services[0];
    assert_eq!(web.fwmark, Some(80));
    let per = web.persistence.as_ref().expect("persistence");
    assert_eq!((per.timeout, per.netmask), (1800, Some(24)));
    assert_eq!(web.real_servers.len(), 2);
    assert_eq!(web.real_servers[0].weight, 10);
}

#[test]
fn a_gui_edited_file_keeps_the_last_value_at_every_level() {
    let (c, w) = load("gui-edited.cf");
    warned(&w, 7, "`service` is set again (first on line 5)");
    warned(&w, 12, "`deadtime` is set again (first on line 11)");
    warned(&w, 23, "`scheduler` is set again (first on line 21)");
    warned(&w, 30, "`weight` is set again (first on line 29)");
    assert_eq!(c.heartbeat.deadtime, lvs_config::Millis::from_secs(10));
    assert_eq!(c.network, ForwardMethod::Tunnel);
    let mail = &c.virtual_services[0];
    assert_eq!(mail.scheduler.0, "lc");
    assert_eq!(mail.real_servers[0].weight, 3);
    // A send_program without expect: piranha never counts it as up, and
    // neither does nanny; the validator says so.
    let ntp = &c.virtual_services[1];
    assert!(matches!(&ntp.check.kind, lvs_config::CheckKind::Program { expect: None, .. }));
    assert!(w.iter().any(|x| x.contains("never succeeds (as in piranha)")), "{w:#?}");
}

#[test]
fn a_guides_dr_pair_with_the_sync_daemon() {
    let (c, w) = load("openstack-guide.cf");
    warned(&w, 7, "`service` is set again (first on line 6)");
    assert_eq!(c.network, ForwardMethod::Direct);
    let sync = c.sync_daemon.as_ref().expect("sync daemon");
    assert_eq!((sync.interface.as_str(), sync.sync_id), ("eth1", 7));
    assert!(c.monitor_links && !c.hard_shutdown);
    assert_eq!(c.active_cmd.as_deref(), Some("/etc/sysconfig/ha/active.sh"));
    let ks = &c.virtual_services[0];
    let per = ks.persistence.as_ref().expect("persistence");
    assert_eq!((per.timeout, per.netmask), (3600, Some(32)));
    assert!(ks.sorry_server.is_some());
    assert_eq!(c.virtual_services[1].port, 443);
}

#[test]
fn a_failover_services_pair() {
    let (c, _) = load("fos-pair.cf");
    assert_eq!(c.service, ServiceMode::Fos);
    let names: Vec<&str> = c.failover_services.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["web1", "ftp"]);
    assert!(c.failover_services.iter().all(|f| f.active));
    let web = &c.failover_services[0];
    assert_eq!(web.vip.address.to_string(), "192.168.10.200");
    assert_eq!(web.start_cmd, "/etc/rc.d/init.d/httpd start");
    let CheckKind::Connect { send, expect, .. } = &web.check.kind else {
        panic!("send/expect is a connect check: {:?}", web.check.kind)
    };
    assert_eq!(send.as_deref(), Some("GET / HTTP/1.0\r\n\r\n"));
    assert_eq!(expect.as_deref(), Some("HTTP"));
    let ftp = &c.failover_services[1];
    assert_eq!((ftp.port, ftp.check.interval.0), (21, 6000));
}
