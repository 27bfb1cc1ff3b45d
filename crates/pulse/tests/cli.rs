//! The `pulse` binary as a user meets it: help, bad options, and refusals
//! of bad settings or key files, all before anything on the host changes.

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
    let o = pulse(&["--fos=/usr/sbin/fos"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("fos"));
}

#[test]
fn refuses_bad_settings_and_keys_before_touching_anything() {
    let d = tmp("bad");
    let cfg = d.join("pulse.yaml");
    let run = |extra: &[&str]| {
        let mut a = vec!["-n", "-c", cfg.to_str().unwrap(), "--node=a"];
        a.extend_from_slice(extra);
        let o = pulse(&a);
        assert_eq!(o.status.code(), Some(1));
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    let e = run(&[]);
    assert!(e.contains("cannot read") && e.contains("pulse.yaml"), "{e}");
    std::fs::write(&cfg, "routers: [{name: a, address: 127.0.0.1}]\nheartbeat: {keepalive_ms: 0, key_file: /nonexistent}\n").unwrap();
    let e = run(&[]);
    assert!(e.contains("keepalive must be above 0 ms"), "{e}");
    let key = d.join("key");
    std::fs::write(&key, "a key that is long enough\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(
        &cfg,
        format!(
            "routers: [{{name: a, address: 127.0.0.1}}]\nheartbeat: {{key_file: {}}}\n",
            key.display()
        ),
    )
    .unwrap();
    let e = run(&[]);
    if nix::unistd::geteuid().is_root() {
        assert!(e.contains("has mode 0644: group and others must have no access"), "{e}");
    } else {
        assert!(e.contains("not root"), "{e}");
    }
    let e = run(&["--node=zz"]);
    assert!(e.contains("no router named zz"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}
