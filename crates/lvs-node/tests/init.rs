//! The LSB init script `init/lvs-node.init`, run as an init system would
//! inside a network namespace: `start` backgrounds lvs-node (pid file) and
//! the real server is set up; `status` and `reload` work on the running
//! process; `stop` undoes everything; a bad configuration refuses `start`.
//! Its defaults file comes from `LVS_NODE_DEFAULTS`, so the test touches
//! nothing under /etc, /run or /var/log.
//!
//! Needs root and iproute2 (skips without them, except under `CI`).

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use testbed::Netns;

fn can_run() -> bool {
    Netns::can_run("lvs-node init")
}

#[test]
fn lsb_init_script_starts_reloads_and_stops_lvs_node() {
    if !can_run() {
        return;
    }
    let node = Netns::new("init").unwrap();
    let peer = Netns::new("ipeer").unwrap();
    node.batch(&format!(
        "link add veth0 type veth peer name veth1 netns {}\naddr add 10.95.1.1/24 dev veth0\nlink set veth0 up\n",
        peer.name()
    ))
    .unwrap();
    let dir = std::env::temp_dir().join(format!("lvs-node-init-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("lvs.yaml");
    std::fs::write(
        &config,
        "routers:\n  primary: { address: 10.95.1.254 }\nnetwork: direct\nvirtual_services:\n  \
         - name: web\n    vip: { address: 10.95.0.10, interface: eth0 }\n    check: { type: none }\n    \
         real_servers:\n      - { name: me, address: 10.95.1.1 }\n",
    )
    .unwrap();
    let pidfile = dir.join("lvs-node.pid");
    let defaults = dir.join("defaults");
    std::fs::write(
        &defaults,
        format!(
            "LVS_NODE={}\nLVS_NODE_OPTS=\"-c {} --state {}\"\nPIDFILE={}\nLOGFILE={}\n",
            env!("CARGO_BIN_EXE_lvs-node"),
            config.display(),
            dir.join("journal").display(),
            pidfile.display(),
            dir.join("log").display()
        ),
    )
    .unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../init/lvs-node.init");
    let action = |verb: &str| -> (i32, String) {
        let out = node
            .command("sh")
            .arg(script)
            .arg(verb)
            .env("LVS_NODE_DEFAULTS", &defaults)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    };
    let vip = || node.ip(&["-o", "addr", "show", "dev", "lo"]).unwrap().contains("10.95.0.10/32");
    let arp_ignore = || {
        node.enter(|| std::fs::read_to_string("/proc/sys/net/ipv4/conf/all/arp_ignore").unwrap())
            .unwrap()
    };
    let wait = |what: &str, f: &dyn Fn() -> bool| {
        let end = Instant::now() + Duration::from_secs(10);
        while !f() {
            assert!(Instant::now() < end, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let pid = || std::fs::read_to_string(&pidfile).unwrap_or_default().trim().to_string();

    assert_eq!(action("status").0, 3, "not running yet");
    let (code, out) = action("start");
    assert_eq!(code, 0, "start: {out}");
    wait("the VIP on lo", &vip);
    assert_eq!(arp_ignore().trim(), "1");
    let first = pid();
    let (code, out) = action("status");
    assert_eq!(code, 0, "status: {out}");
    assert!(out.contains(&format!("running (pid {first})")), "{out}");
    let (code, out) = action("reload");
    assert_eq!(code, 0, "reload: {out}");
    assert_eq!(pid(), first, "reload keeps the process");
    let (code, out) = action("stop");
    assert_eq!(code, 0, "stop: {out}");
    assert!(!vip() && arp_ignore().trim() == "0", "stop undid the setup");
    assert_eq!(action("status").0, 3, "stopped");
    assert!(!Path::new(&pidfile).exists());

    // A bad configuration: `start` refuses and changes nothing.
    std::fs::write(&config, "routers: [\n").unwrap();
    let (code, out) = action("start");
    assert_eq!(code, 6, "start with a bad file: {out}");
    assert!(out.contains("configuration check failed"), "{out}");
    assert!(!vip());
    let _ = std::fs::remove_dir_all(&dir);
}
