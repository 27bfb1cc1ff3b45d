//! The `pulse` binary as a user meets it: help, bad options, and refusals
//! of bad settings or key files, all before anything on the host changes.

// Runs the binaries and tools under test: the choke point for starting
// processes (`clippy.toml`) is the library's.
#![allow(clippy::disallowed_methods)]
// Test helpers may unwrap: a failed unwrap is a failed test, with its line.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};

fn pulse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pulse")).args(args).output().unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pulse-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn help_and_version() {
    for flag in ["--help", "-?", "--usage"] {
        let o = pulse(&[flag]);
        assert!(o.status.success());
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.starts_with("Usage: pulse [OPTION...]\n"), "{out}");
        for opt in
            ["--configfile", "--nodaemon", "--test-start", "--norun", "--forceactive", "--lvsd"]
        {
            assert!(out.contains(opt), "{opt} missing");
        }
    }
    let o = pulse(&["--version"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("pulse {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_options_exit_2() {
    let o = pulse(&["--bogus"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("pulse: invalid option '--bogus'"));
    // piranha's path to its fos daemon: pulse runs failover services itself.
    let o = pulse(&["--fos=/usr/sbin/fos", "--bogus"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--fos is ignored"));
}

const GOOD: &str = "routers: { pool: [ { address: 127.0.0.1 } ] }
heartbeat: { keepalive: 100ms, deadtime: 1s, auth_key_file: KEY }
virtual_services:
  - { name: web, vip: { address: 10.99.0.1, interface: lo }, port: 80 }
";

#[test]
fn refuses_bad_settings_and_keys_before_touching_anything() {
    let d = tmp("bad");
    let cfg = d.join("lvs.yaml");
    let run = |extra: &[&str]| {
        let mut a = vec!["-n", "-c", cfg.to_str().unwrap(), "--node=router1"];
        a.extend_from_slice(extra);
        let o = pulse(&a);
        assert_eq!(o.status.code(), Some(1));
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    let e = run(&[]);
    assert!(e.contains("cannot read the file"), "{e}");
    let key = d.join("key");
    std::fs::write(
        &cfg,
        GOOD.replace("keepalive: 100ms", "keepalive: 0").replace("KEY", key.to_str().unwrap()),
    )
    .unwrap();
    let e = run(&[]);
    assert!(e.contains("lvs.yaml:2:") && e.contains("keepalive must be greater than 0"), "{e}");
    std::fs::write(&key, "a key that is long enough\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&cfg, GOOD.replace("KEY", key.to_str().unwrap())).unwrap();
    let e = run(&[]);
    let want = if nix::unistd::geteuid().is_root() {
        "has mode 0644: group and others must have no access"
    } else {
        "not root"
    };
    assert!(e.contains(want), "{e}");
    // --test-config says the same and exits 1, printing no YAML.
    let o = pulse(&["--test-config", "-c", cfg.to_str().unwrap(), "--node=router1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).contains(want));
    let e = run(&["--node=zz"]);
    assert!(e.contains("no router named zz"), "{e}");
    std::fs::write(
        &cfg,
        GOOD.replace("routers:", "service: fos\nrouters:").replace("KEY", key.to_str().unwrap()),
    )
    .unwrap();
    let e = run(&[]);
    assert!(e.contains("no active failover services"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn test_config_prints_the_normalized_config_and_which_router_this_is() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping: the key file must be root-owned");
        return;
    }
    let d = tmp("good");
    let cfg = d.join("lvs.yaml");
    let key = d.join("key");
    std::fs::write(&key, "a key that is long enough\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&cfg, GOOD.replace("KEY", key.to_str().unwrap())).unwrap();
    // 127.0.0.1 is on every host's lo, so the router is found by address.
    let o = pulse(&["--test-config", "-c", cfg.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.ends_with("pulse: this host is router router1\n"), "{err}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("10.99.0.1") && out.contains("keepalive"), "{out}");
    std::fs::remove_dir_all(&d).unwrap();
}

/// `--test-config -c /dev/zero` used to read until memory ran out (its
/// `st_size` is 0): now it fails at once, naming what the path is.
#[test]
fn test_config_of_a_device_fails_fast_with_bounded_memory() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pulse"));
    cmd.args(["--test-config", "-c", "/dev/zero"]);
    let testbed::Bounded { output: o, peak_kib, took } =
        testbed::run_bounded(cmd, std::time::Duration::from_secs(10)).unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "/dev/zero: error: not a regular file (a character device); only regular files are read\n"
    );
    assert!(peak_kib < 64 * 1024, "{peak_kib} KiB resident");
    assert!(took < std::time::Duration::from_secs(2), "took {took:?}");
}

#[test]
fn test_config_warns_that_piranha_heartbeats_are_unauthenticated() {
    let d = tmp("piranha");
    let cfg = d.join("lvs.yaml");
    let pair = "routers: { primary: { address: 127.0.0.1 }, backup: { address: 127.0.0.2 } }
heartbeat: { keepalive: 100ms, deadtime: 1s, protocol: piranha }
virtual_services:
  - { name: web, vip: { address: 10.99.0.1, interface: lo }, port: 80 }
";
    std::fs::write(&cfg, pair).unwrap();
    let o = pulse(&["--test-config", "-c", cfg.to_str().unwrap(), "--node=primary"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "a warning, not a refusal: {err}");
    assert!(
        err.contains("pulse: warning: heartbeats are NOT authenticated (protocol: piranha)"),
        "{err}"
    );
    // Native heartbeats: no such warning (here the missing key file is the
    // only complaint).
    std::fs::write(&cfg, pair.replace("protocol: piranha", "auth_key_file: /nonexistent/key"))
        .unwrap();
    let o = pulse(&["--test-config", "-c", cfg.to_str().unwrap(), "--node=primary"]);
    assert!(!String::from_utf8_lossy(&o.stderr).contains("NOT authenticated"));
    std::fs::remove_dir_all(&d).unwrap();
}

/// Issue 17: a heartbeat port already taken is said once ("Address already
/// in use" was printed twice on one line, and again by the logger), on
/// stderr, with exit status 1, in the foreground and in daemon mode (where
/// the sockets are bound before pulse detaches).
#[test]
fn a_taken_heartbeat_port_is_reported_once() {
    let d = tmp("inuse");
    let cfg = d.join("lvs.yaml");
    let key = d.join("key");
    std::fs::write(&key, "a key that is long enough\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    std::fs::write(
        &cfg,
        GOOD.replace("KEY", key.to_str().unwrap())
            .replace("heartbeat: {", &format!("heartbeat: {{ port: {port},")),
    )
    .unwrap();
    let sock = d.join("sock");
    for mode in [&["-n"][..], &[][..]] {
        let mut a = mode.to_vec();
        a.extend(["-c", cfg.to_str().unwrap(), "--socket", sock.to_str().unwrap()]);
        let o = pulse(&a);
        let err = String::from_utf8_lossy(&o.stderr);
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(1), "{mode:?}: {err}{out}");
        let both = format!("{out}{err}");
        if nix::unistd::geteuid().is_root() {
            assert_eq!(both.matches("Address already in use").count(), 1, "{mode:?}: {both}");
            assert!(err.contains(&format!("cannot create heartbeat socket on 127.0.0.1:{port}")));
        }
        assert_eq!(both.matches("pulse: ").count(), 1, "{mode:?}: one line: {both}");
    }
    drop(taken);
    std::fs::remove_dir_all(&d).unwrap();
}
