//! The `lvsd` binary end to end: `--check-config -c FILE` on good and bad
//! files (exit status, normalized YAML on stdout, every error with
//! file:line:col on stderr), and the help and usage texts.

// Runs the binaries and tools under test: the choke point for starting
// processes (`clippy.toml`) is the library's.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lvsd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lvsd")).args(args).output().unwrap()
}

fn etc(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../etc").join(name).display().to_string()
}

/// A fresh file in a per-test temporary directory.
fn temp_file(test: &str, name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lvsd-cli-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

#[test]
fn check_config_on_a_good_file_prints_yaml_and_exits_0() {
    for name in ["lvs.yaml", "lvs.cf"] {
        let path = etc(name);
        let out = lvsd(&["--check-config", "-c", &path]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out.stderr));
        let yaml = text(&out.stdout);
        // The output is the normalized config: it reads back to the model.
        let (back, diags) = lvs_config::parse_str(&yaml, "stdout", lvs_config::Format::Yaml);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(back.unwrap(), lvs_config::load(Path::new(&path)).unwrap());
        assert!(yaml.contains("name: server1\n"));
    }
    // The two samples print the same YAML: lvs.cf converts to YAML. They
    // differ in one thing on purpose: the YAML sample authenticates its
    // heartbeats (issue 15), lvs.cf can only speak piranha's.
    let a = lvsd(&["--check-config", "-c", &etc("lvs.cf")]);
    let b = lvsd(&["--check-config", "--configfile", &etc("lvs.yaml")]);
    assert_eq!(
        text(&a.stdout).replace(
            "  protocol: piranha\n",
            "  protocol: native\n  auth_key_file: /etc/lvs-router/heartbeat.key\n"
        ),
        text(&b.stdout)
    );
    // piranha's ignored keys are reported as warnings, on stderr only.
    assert_eq!(
        text(&a.stderr),
        format!(
            "{0}:11:1: warning: `heartbeat` is parsed but has no effect, as in piranha 0.8.6\n\
             {0}:19:1: warning: `debug_level` is parsed but has no effect, as in piranha 0.8.6\n",
            etc("lvs.cf")
        )
    );
}

#[test]
fn check_config_on_a_bad_file_prints_every_error_and_exits_1() {
    let bad = "\
primary = 10.0.0.1
keepalive = fast
virtual web {
     address = 10.0.0.9 eth0:1
     weight = 2
     server a {
         address = 10.0.1.1
         weight = 70000
     }
}
";
    let path = temp_file("bad", "lvs.cf", bad);
    let p = path.display().to_string();
    let out = lvsd(&["--check-config", "-c", &p]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        format!(
            "{p}:1:1: warning: no active virtual service: pulse will refuse to start\n\
             {p}:2:13: error: `keepalive`: invalid duration `fast` (use seconds such as `2` or `0.5`, or `500ms`)\n\
             {p}:5:6: error: unknown command `weight` in `virtual web`\n\
             {p}:8:19: error: `weight`: 70000 is out of range (0-65535)\n"
        )
    );

    let yaml = "routers:\n  primary: { address: 10.0.0.1 }\nvirtual_services:\n  - name: web\n    vip: { address: 10.0.0.9, interface: eth0 }\n    protocol: icmp\n    real_servers:\n      - { name: a, address: 10.0.1.1 }\n      - { name: a, address: 10.0.1.1 }\n";
    let path = temp_file("bad", "lvs.yaml", yaml);
    let p = path.display().to_string();
    let out = lvsd(&["--check-config", "-c", &p]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "{p}:6:15: error: `protocol`: expected one of tcp, udp, sctp, found `icmp`\n\
             {p}:9:17: error: real server `a` is defined twice in `web`\n\
             {p}:9:29: error: real server 10.0.1.1:80 is listed twice in `web`\n"
        )
    );
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

#[test]
fn check_config_on_a_missing_file_exits_1() {
    let out = lvsd(&["--check-config", "-c", "/nonexistent/lvs.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "/nonexistent/lvs.yaml: error: cannot read the file: no such file or directory (os error 2)\n"
    );
}

#[test]
fn help_version_and_usage_errors() {
    let out = lvsd(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("--check-config"));
    let out = lvsd(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("lvsd "));
    let out = lvsd(&["--frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("lvsd: error: invalid option '--frobnicate'"));
}

/// `--check-config -c /dev/zero` used to read until memory ran out (its
/// `st_size` is 0): now it fails at once, naming what the path is.
#[test]
fn check_config_of_a_device_fails_fast_with_bounded_memory() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lvsd"));
    cmd.args(["--check-config", "-c", "/dev/zero"]);
    let testbed::Bounded { output: o, peak_kib, took } =
        testbed::run_bounded(cmd, std::time::Duration::from_secs(10)).unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "/dev/zero: error: not a regular file (a character device); only regular files are read\n"
    );
    assert!(peak_kib < 64 * 1024, "{peak_kib} KiB resident");
    assert!(took < std::time::Duration::from_secs(2), "took {took:?}");
}
