//! The `lvsd` binary on the host (which has no IPVS): `-t` prints the plan
//! and the nanny command lines without touching anything, and a daemon
//! run refuses a bad configuration, or a missing IPVS, with a clear error
//! and exit status 1.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lvsd-cli-test-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

const GOOD: &str = "\
routers:
  primary:
    address: 192.0.2.1
heartbeat: { protocol: piranha }
hard_shutdown: false
paths:
  nanny: /usr/sbin/nanny
virtual_services:
  - name: web
    vip: { address: 192.0.2.10, interface: eth0 }
    port: 80
    scheduler: rr
    sorry_server: 10.0.0.250
    check: { type: connect, interval: 2 }
    real_servers:
      - { name: a, address: 10.0.0.1 }
  - name: web2
    vip: { address: 192.0.2.11, interface: eth0 }
    port: 80
    check: { type: connect, interval: 2 }
    real_servers:
      - { name: a, address: 10.0.0.1 }
";

fn lvsd(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lvsd")).args(args).output().unwrap()
}

#[test]
fn test_start_prints_the_plan_and_shares_nannies() {
    let d = scratch("t");
    let cfg = d.join("lvs.yaml");
    std::fs::write(&cfg, GOOD).unwrap();
    let out = lvsd(&["-t", "-c", cfg.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let ipvs: Vec<&str> = text.lines().filter(|l| l.starts_with("ipvs: ")).collect();
    assert_eq!(
        ipvs,
        vec![
            "ipvs: add service TCP 192.0.2.10:80 scheduler rr",
            "ipvs: add 10.0.0.250:80 to TCP 192.0.2.10:80 weight 1",
            "ipvs: add service TCP 192.0.2.11:80 scheduler wlc",
        ],
        "{text}"
    );
    // The same server, port and check behind two VIPs: one nanny.
    let nannies: Vec<&str> = text.lines().filter(|l| l.starts_with("nanny: ")).collect();
    assert_eq!(nannies.len(), 1, "{text}");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn a_bad_configuration_is_refused_with_every_error() {
    let d = scratch("bad");
    let cfg = d.join("lvs.yaml");
    std::fs::write(
        &cfg,
        GOOD.replace("scheduler: rr", "scheduler: [").replace("port: 80", "port: x"),
    )
    .unwrap();
    let out = lvsd(&["-n", "-c", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid configuration"), "{err}");
    assert!(err.contains("lvs.yaml:"), "diagnostics name the file and line: {err}");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn options() {
    assert!(lvsd(&["--version"]).status.success());
    let help = lvsd(&["--help"]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("--own-table"));
    assert_eq!(lvsd(&["--bogus"]).status.code(), Some(2));
}
