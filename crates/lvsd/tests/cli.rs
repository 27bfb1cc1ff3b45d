//! The `lvsd` binary on the host (which has no IPVS): `-t` prints the plan
//! and the nanny command lines without touching anything, and a daemon
//! run refuses a bad configuration, or a missing IPVS, with a clear error
//! and exit status 1.

// Runs the binaries and tools under test: the choke point for starting
// processes (`clippy.toml`) is the library's.
#![allow(clippy::disallowed_methods)]
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
            "ipvs: add 10.0.0.250:80 to TCP 192.0.2.10:80 weight 1 forwarding nat",
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

/// Issue 17: a start-up failure is said once, on the terminal, with exit
/// status 1, in every mode: the default daemon mode (which exited 0 and
/// said nothing when IPVS was missing), `--nofork` (exit 1, nothing said)
/// and `-n` (the cause printed twice). lvsd validates and opens IPVS before
/// it detaches. This host has no IPVS (the README's host); on a host that
/// has it the same path is shown with a configuration that fails later
/// than parsing (`service = fos`).
#[test]
fn start_up_failures_are_reported_once_on_stderr_with_status_1() {
    let d = scratch("startup");
    let ipvs_here = std::path::Path::new("/proc/net/ip_vs").exists();
    let (cfg, cause) = if ipvs_here {
        let cfg = d.join("lvs.yaml");
        std::fs::write(&cfg, format!("service: fos\n{GOOD}")).unwrap();
        (cfg, "failover services are not run by lvsd")
    } else {
        let cfg = d.join("lvs.yaml");
        std::fs::write(&cfg, GOOD).unwrap();
        (cfg, "generic netlink family IPVS not found")
    };
    let pid = d.join("lvs.pid");
    for mode in [&[][..], &["--nofork"][..], &["-n"][..]] {
        let mut args = mode.to_vec();
        args.extend(["-c", cfg.to_str().unwrap(), "--pid-file", pid.to_str().unwrap()]);
        let out = lvsd(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{mode:?}: {out:?}");
        assert_eq!(err.matches(cause).count(), 1, "{mode:?}: said once: {err}");
        assert_eq!(err.lines().count(), 1, "{mode:?}: one line: {err}");
        assert!(err.contains("lvs.yaml"), "{mode:?}: names the file: {err}");
        assert!(out.stdout.is_empty(), "{mode:?}: {out:?}");
        assert!(!pid.exists(), "{mode:?}: no pid file for a run that never started");
    }
    std::fs::remove_dir_all(d).unwrap();
}

/// Issue 17: `-t` shows everything the table will hold: persistence and its
/// netmask, one-packet and scheduler flags, and each server's forwarding.
#[test]
fn test_start_shows_persistence_flags_and_forwarding() {
    let d = scratch("t-full");
    let cfg = d.join("lvs.cf");
    std::fs::write(
        &cfg,
        "primary = 192.0.2.1\nnetwork = direct\n\
         virtual web {\n address = 192.0.2.10 eth0:1\n active = 1\n port = 443\n\
         scheduler = sh\n persistent = 300\n pmask = 255.255.255.0\n\
         server a {\n  address = 10.0.0.1\n  active = 1\n  weight = 3\n }\n}\n\
         virtual marked {\n address = 192.0.2.11 eth0:2\n active = 1\n fwmark = 7\n protocol = udp\n\
         server b {\n  address = 10.0.0.2\n  active = 1\n }\n}\n",
    )
    .unwrap();
    let out = lvsd(&["-t", "-c", cfg.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "ipvs: add service TCP 192.0.2.10:443 scheduler sh persistent 300s netmask 255.255.255.0\n"
        ),
        "{text}"
    );
    assert!(text.contains("ipvs: add service FWM 7 scheduler wlc\n"), "{text}");
    // Each real server as it will enter the table, with its forwarding.
    assert!(
        text.contains(
            "when up: add 10.0.0.1:443 to TCP 192.0.2.10:443 weight 3 forwarding direct (real server a of `web`)\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("when up: add 10.0.0.2:80 to FWM 7 weight 1 forwarding direct (real server b of `marked`)\n"),
        "{text}"
    );
    std::fs::remove_dir_all(d).unwrap();
}
