//! End-to-end suite: the whole suite as users run it, on the guest's real
//! kernel. Two routers run `pulse` (which starts `lvsd`, which starts the
//! nannies) from the sample configurations `etc/demo.yaml` (LVS-NAT) and
//! `etc/demo-dr.yaml` (LVS-DR); three real HTTP servers sit behind them and
//! a client makes requests continuously through the whole run.
//!
//! Each scenario checks that requests are balanced over every real server,
//! that a stopped real server leaves the table and traffic, and that when
//! the active router dies (links down, every process of it killed) the
//! backup takes over; no request fails outside the measured real-server
//! and failover windows. The samples run hot standby (the default): the
//! backup's own lvsd keeps its kernel table true before the kill (asserted
//! from that table), so the client's outage is the dead time plus moving
//! the VIP (asserted under dead time + 1 s); `standby: cold` (piranha's
//! order, lvsd started at the takeover) still fails over. With the IPVS
//! sync daemon on, an established connection survives the failover.
//!
//! The LVS-NAT scenario is also `cargo xtask demo`: every scenario writes
//! its timeline to the console as it goes (straight to stdout, so libtest
//! does not capture it).
//!
//! Run with `cargo xtask vm-test --suite e2e`.

// Helpers of a test file: a failed unwrap is a failed test, with its place.
#![allow(clippy::unwrap_used)]

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::ops::{Deref, DerefMut};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ipvs::Client;
use lvs_tests::cluster::{Pair, LONG};
use lvs_tests::pulse::metric;
use lvs_tests::traffic::{
    account, serial, show_spread, spread, Dir, Load, Patience, Timeline, Window,
};
use nix::sched::{setns, CloneFlags};
use testbed::{addr, Forwarding, TopologyBuilder};

/// The sample configurations, as shipped.
const NAT_CONFIG: &str = include_str!("../../etc/demo.yaml");
const DR_CONFIG: &str = include_str!("../../etc/demo-dr.yaml");
/// Where the samples expect the heartbeat key.
const KEY_PATH: &str = "/etc/lvs-router/heartbeat.key";
/// Real servers of the samples, in order.
const NAMES: [&str; 3] = ["web1", "web2", "web3"];
/// The samples' heartbeat deadtime.
const DEADTIME: Duration = Duration::from_secs(2);
/// What a hot standby's takeover may add to the dead time before the
/// client is answered again: taking the VIP and announcing it take
/// milliseconds, the rest is room for a loaded software-emulated guest.
const TAKEOVER_MARGIN: Duration = Duration::from_secs(1);
/// Where each router's pulse serves HTTP, in its own namespace.
const HTTP: &str = "127.0.0.1:9539";
/// The samples' check interval.
const CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// A successful request slower than this is reported as slow.
const SLOW: Duration = Duration::from_millis(250);
/// The client's patience: an impatient one (500 ms to connect, since a
/// connect through IPVS takes milliseconds even in the emulated guest, then
/// 1 s for the answer), so that a request sent into the failover fails fast
/// and the measured outage is the cluster's, within one budget.
const PATIENCE: Patience =
    Patience { connect: Duration::from_millis(500), answer: Duration::from_secs(1) };

fn bin(name: &str) -> String {
    let dir = std::env::var("LVS_BIN_DIR").expect("LVS_BIN_DIR is set in the test guest");
    format!("{dir}/{name}")
}

// ---- The cluster ----

/// The sample configuration made runnable here: the key file moved to the
/// scratch directory and a `paths:` section naming this build's binaries
/// (the samples rely on the /usr/sbin defaults of an installed router).
fn runnable_config(sample: &str, key: &Path, standby: Standby) -> String {
    assert!(sample.contains(KEY_PATH) && !sample.contains("\npaths:"));
    assert!(!sample.contains("\nstandby:"), "the samples run the default, hot standby");
    let mut text = sample.replace(KEY_PATH, &key.display().to_string());
    if standby == Standby::Cold {
        text.push_str("\nstandby: cold\n");
    }
    let ipvsadm = std::env::var("LVS_REF_IPVSADM").expect("LVS_REF_IPVSADM is set in the guest");
    // Each router serves /metrics and /status.json on the loopback of its
    // own namespace, where the scenarios read them.
    text.push_str(&format!("\nhttp:\n  listen: \"{HTTP}\"\n"));
    text.push_str(&format!(
        "\npaths:\n  lvsd: {}\n  nanny: {}\n  send_arp: {}\n  ipvsadm: {ipvsadm}\n",
        bin("lvsd"),
        bin("nanny"),
        bin("send_arp"),
    ));
    text
}

/// What the standby router runs (the configuration's `standby:`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Standby {
    /// The samples as shipped: lvsd and its table on both routers.
    Hot,
    /// `standby: cold`: lvsd only on the active router (piranha).
    Cold,
}

/// Two routers, three real servers and a client, with pulse running on
/// the routers from a sample configuration: the pair `vm_node` has too
/// (`lvs_tests::cluster`), and what only this suite asks of it.
struct Cluster {
    pair: Pair,
}

impl Deref for Cluster {
    type Target = Pair;
    fn deref(&self) -> &Pair {
        &self.pair
    }
}

impl DerefMut for Cluster {
    fn deref_mut(&mut self) -> &mut Pair {
        &mut self.pair
    }
}

impl Cluster {
    fn new(forwarding: Forwarding, tag: &'static str) -> Cluster {
        Cluster::with_standby(forwarding, Standby::Hot, tag)
    }

    fn with_standby(forwarding: Forwarding, standby: Standby, tag: &'static str) -> Cluster {
        let log = Timeline { t0: Instant::now(), tag };
        let topo = TopologyBuilder::new(forwarding)
            .directors(2)
            .real_servers(3)
            .active(None)
            .build()
            .unwrap();
        let dir = Dir::new("e2e", tag);
        let sample = match forwarding {
            Forwarding::Nat => NAT_CONFIG,
            Forwarding::DirectRouting => DR_CONFIG,
        };
        let config = |key: &Path| runnable_config(sample, key, standby);
        let c = Cluster { pair: Pair::new(topo, dir, "e2e", config, &NAMES, log) };
        let mode = match forwarding {
            Forwarding::Nat => "LVS-NAT",
            Forwarding::DirectRouting => "LVS-DR",
        };
        c.log.say(&format!(
            "{mode} cluster built ({standby:?} standby): client {}, routers primary {} and backup {}, real servers {} ({}), VIP {}:80",
            addr::CLIENT,
            addr::director_public(0),
            addr::director_public(1),
            NAMES.join(" "),
            (0..NAMES.len()).map(|j| c.topo.real_server_addr(j).to_string()).collect::<Vec<_>>().join(" "),
            addr::VIP,
        ));
        c
    }

    /// `GET path` from router `i`'s pulse, if it answers 200.
    fn http(&self, i: usize, path: &str) -> Option<String> {
        let to: SocketAddr = HTTP.parse().unwrap();
        let timeout = Duration::from_secs(2);
        self.topo.directors[i].ns.enter(|| lvs_tests::pulse::http_get(to, path, timeout)).ok()?
    }

    /// Sends a control request to router `i`'s pulse; its answer.
    fn control(&self, i: usize, request: &str) -> String {
        let mut s = UnixStream::connect(self.socket(i)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        s.write_all(format!("{request}\n").as_bytes()).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    /// The IPVS sync daemons running in router `i`'s namespace.
    fn sync_daemons(&self, i: usize) -> Vec<ipvs::DaemonState> {
        let d = self.topo.directors[i].ns.enter(|| Client::connect().and_then(|mut c| c.daemons()));
        d.ok().and_then(Result::ok).unwrap_or_default().into_iter().map(|d| d.state).collect()
    }

    /// Waits until `pred` holds; returns when it was first seen.
    #[track_caller]
    fn wait(&self, what: &str, mut pred: impl FnMut(&Cluster) -> bool) -> Duration {
        self.pair.wait_until(what, || pred(self))
    }
}

// ---- The scenario ----

/// Balancing, real-server removal and router failover with a client
/// making requests all along; returns the client-visible outage of the
/// failover.
fn balance_remove_failover(
    forwarding: Forwarding,
    standby: Standby,
    tag: &'static str,
) -> Duration {
    let mut c = Cluster::with_standby(forwarding, standby, tag);
    let live = c.live();

    // Start: both routers; the primary wins and serves all three servers.
    c.start_pulse(0);
    c.start_pulse(1);
    let up = c.wait("the primary to serve all three real servers, the backup standing by", |c| {
        c.ready(0) && c.is_standby(1)
    });
    c.log.say(&format!(
        "pulse on both routers; primary active, VIP up, lvsd's IPVS table holds {} real servers ({up:.1?} after start)",
        live.len()
    ));
    assert!(!c.is_active(1), "the backup is active too:\n{}", c.logs());
    if standby == Standby::Hot {
        let hot = c.wait("the backup's own lvsd to build its table", |c| c.table(1) == c.live());
        c.log.say(&format!(
            "hot standby: the backup's IPVS table holds the same {} real servers, without the VIP ({hot:.1?} after start)",
            live.len()
        ));
        assert!(!c.has_vip(1), "the standby holds the VIP:\n{}", c.logs());
        // lvsd -> pulse: the standby's status says its table is complete,
        // and the active router heard it in the standby's heartbeats.
        let told = c.wait("the standby's pulse to report its table ready", |c| {
            c.status(1).is_some_and(|s| s.contains("\"ready\":true,\"vips\""))
                && c.status(0).is_some_and(|s| {
                    s.contains("\"name\":\"backup\"")
                        && s.contains("\"ready\":true,\"last_heard_ms\"")
                })
        });
        c.log.say(&format!(
            "status: the standby's pulse reports its table ready, and the primary sees it in its heartbeats ({told:.1?} after start)"
        ));
    } else {
        assert!(c.table(1).is_empty(), "cold standby: no table on the backup:\n{}", c.logs());
        let status = c.status(1).unwrap_or_default();
        assert!(status.contains("\"lvsd_pid\":null,\"ready\":false,"), "{status}");
        c.log.say("cold standby: the backup runs no lvsd and has no IPVS table");
    }

    // Balancing.
    let load = Load::start(&c.topo.client.ns, c.log.t0, PATIENCE);
    let before = load.samples().len();
    while load.samples().len() < before + 30 {
        std::thread::sleep(Duration::from_millis(50));
    }
    let first = load.samples();
    let m = spread(&first[before..]);
    c.log.say(&format!(
        "client: {} requests, answered by {}",
        first.len() - before,
        show_spread(&m)
    ));
    assert_eq!(m.len(), 3, "every real server answers: {m:?}");
    assert!(m.values().all(|n| *n >= 5), "round robin spreads the requests: {m:?}");

    // A real server stops: it leaves the table.
    c.log.say("stopping web3's HTTP server");
    let stop_at = c.log.at();
    c.stop_server(2);
    let gone = c.wait("web3 to leave the table", |c| c.table(0) == c.live());
    c.log.say(&format!(
        "web3 left the IPVS table {:.1?} after it stopped (nanny's HTTP check)",
        gone - stop_at
    ));
    if standby == Standby::Hot {
        let there = c.wait("web3 to leave the standby's table", |c| c.table(1) == c.live());
        c.log.say(&format!(
            "web3 left the standby's table too, {:.1?} after it stopped (the standby's own nanny)",
            there - stop_at
        ));
    }
    let mark = load.samples().len();
    while load.samples().len() < mark + 20 {
        std::thread::sleep(Duration::from_millis(50));
    }
    let m = spread(&load.samples()[mark..]);
    c.log.say(&format!("client: next 20 requests answered by {}", show_spread(&m)));
    assert!(!m.contains_key("web3") && m.len() == 2, "web3 is out of the rotation: {m:?}");

    // The active router dies: the backup takes over.
    if standby == Standby::Hot {
        // Read from the standby's kernel table just before the kill.
        let table = c.table(1);
        assert_eq!(
            table,
            c.live(),
            "the standby's table holds every live real server before the kill:\n{}",
            c.logs()
        );
        c.log.say(&format!(
            "before the kill: the standby's kernel table holds {}",
            table.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        ));
    }
    c.log.say("killing the active router (primary): links down, pulse, lvsd and nannies killed");
    let kill_at = c.log.at();
    c.kill_router(0);
    let ready = c.wait_takeover(1, kill_at);
    c.log.say(&format!(
        "backup active: VIP moved, its lvsd's table holds web1 and web2 ({:.1?} after the kill; deadtime {DEADTIME:?})",
        ready - kill_at
    ));
    let mark = load.samples().len();
    while load.samples().len() < mark + 20 {
        std::thread::sleep(Duration::from_millis(50));
    }
    let samples = load.finish();
    let m = spread(&samples[mark..]);
    c.log.say(&format!("client: 20 requests after the takeover answered by {}", show_spread(&m)));
    assert_eq!(m.len(), 2, "web1 and web2 serve again: {m:?}");

    // Every failure falls in a window, and the outage is measured.
    let windows = [
        Window { what: "web3 stopped, not yet out of the table", from: stop_at, to: gone },
        Window { what: "router failover", from: kill_at, to: ready },
    ];
    let (outside, outage) = account(&c.log, &samples, &windows, SLOW);
    assert!(outside.is_empty(), "requests failed outside the windows: {outside:#?}\n{}", c.logs());
    assert!(outage < LONG, "outage {outage:?}");
    c.assert_no_stalls();
    if standby == Standby::Hot {
        // The backup counts the dead time from the last heartbeat it heard,
        // before the kill: dead time + margin bounds the whole outage.
        assert!(
            outage < DEADTIME + TAKEOVER_MARGIN,
            "hot standby: outage {outage:?} is not under dead time {DEADTIME:?} + {TAKEOVER_MARGIN:?}\n{}",
            c.logs()
        );
    }
    outage
}

#[test]
fn nat_cluster_balances_removes_and_fails_over() {
    let _one = serial();
    balance_remove_failover(Forwarding::Nat, Standby::Hot, "nat");
}

#[test]
fn dr_cluster_balances_removes_and_fails_over() {
    let _one = serial();
    balance_remove_failover(Forwarding::DirectRouting, Standby::Hot, "dr");
}

/// `standby: cold` keeps piranha's order: the backup runs no lvsd until it
/// takes over, then builds its table from its nannies' first checks.
#[test]
fn nat_cold_standby_starts_lvsd_at_takeover() {
    let _one = serial();
    balance_remove_failover(Forwarding::Nat, Standby::Cold, "cold");
}

/// An established connection survives a router failover when the IPVS
/// sync daemon is on (both samples turn it on): the backup learned the
/// connection from the master's sync messages and keeps sending it to the
/// same real server.
fn connection_survives_failover(forwarding: Forwarding, tag: &'static str) {
    let mut c = Cluster::new(forwarding, tag);
    c.start_pulse(0);
    c.start_pulse(1);
    // The backup's pulse runs the sync daemon's backup side.
    c.wait("the primary to serve, the backup standing by", |c| c.ready(0) && c.is_standby(1));
    // pulse starts the sync daemons with `ipvsadm` off its loop, so they
    // may come after readiness; a connection synced before the backup's
    // daemon listens is synced again only 50 packets later.
    c.wait("the master sync daemon on the primary, the backup one on the backup", |c| {
        c.sync_daemons(0) == [ipvs::DaemonState::Master]
            && c.sync_daemons(1) == [ipvs::DaemonState::Backup]
    });

    // A long-lived connection from the client, a few exchanges on it.
    let path = format!("/run/netns/{}", c.topo.client.ns.name());
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let (back_tx, back_rx) = std::sync::mpsc::channel::<Result<String, String>>();
    let session = std::thread::spawn(move || {
        setns(File::open(&path).unwrap(), CloneFlags::CLONE_NEWNET).unwrap();
        let s =
            TcpStream::connect_timeout(&SocketAddr::from((addr::VIP, 80)), Duration::from_secs(5))
                .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut w = s.try_clone().unwrap();
        let local = s.local_addr().unwrap();
        let mut r = BufReader::new(s);
        back_tx.send(Ok(local.to_string())).unwrap();
        for line in rx {
            let mut reply = String::new();
            let res = w
                .write_all(format!("{line}\n").as_bytes())
                .and_then(|()| r.read_line(&mut reply).map(|_| reply.trim_end().to_string()))
                .map_err(|e| e.to_string());
            back_tx.send(res).unwrap();
        }
    });
    let local = back_rx.recv().unwrap().unwrap();
    let ask = |line: &str| -> Result<String, String> {
        tx.send(line.to_string()).unwrap();
        back_rx.recv().unwrap()
    };
    let mut server = String::new();
    for n in 0..6 {
        let reply = ask(&format!("ping {n}")).unwrap();
        let (name, rest) = reply.split_once(' ').unwrap();
        assert_eq!(rest, format!("ping {n}"));
        if n > 0 {
            assert_eq!(name, server, "one connection, one real server");
        }
        server = name.to_string();
    }
    c.log.say(&format!("long-lived connection {local} -> {}:80 served by {server}", addr::VIP));

    // The backup learns it from the sync daemon.
    // /proc/net/ip_vs_conn: `Pro FromIP FPrt ToIP TPrt ...` in hex.
    let port: u16 = local.rsplit_once(':').unwrap().1.parse().unwrap();
    let from = format!("{:08X} {port:04X}", u32::from(addr::CLIENT));
    let synced = c.wait("the backup to hold the synced connection", |c| {
        let conns = c.topo.directors[1].ns.read_proc_net("ip_vs_conn").unwrap_or_default();
        conns.lines().any(|l| l.contains(&from))
    });
    c.log
        .say(&format!("the backup's IPVS table has the connection (sync daemon), at {synced:.1?}"));

    c.log.say("killing the active router (primary)");
    let kill_at = c.log.at();
    c.kill_router(0);
    let ready = c.wait_takeover(1, kill_at);
    c.log.say(&format!("backup active {:.1?} after the kill", ready - kill_at));
    let reply = ask("after failover").unwrap_or_else(|e| {
        panic!("the established connection broke at failover: {e}\n{}", c.logs())
    });
    c.log.say(&format!("the same connection answers after the failover: {reply:?}"));
    assert_eq!(reply, format!("{server} after failover"), "same real server, same connection");
    drop(tx);
    session.join().unwrap();
    c.assert_no_stalls();
}

#[test]
fn nat_connection_survives_failover_with_sync_daemon() {
    let _one = serial();
    connection_survives_failover(Forwarding::Nat, "nat-sync");
}

#[test]
fn dr_connection_survives_failover_with_sync_daemon() {
    let _one = serial();
    connection_survives_failover(Forwarding::DirectRouting, "dr-sync");
}

/// The LSB init script `init/pulse.init`, run as an init system would in
/// the primary router's namespace: `start` brings up pulse (as a daemon,
/// with its pid file), which starts lvsd and the nannies; `status`,
/// `reload` and `restart` work on the running daemon; `stop` stands it
/// down and leaves no VIP and no table behind.
#[test]
fn lsb_init_script_runs_pulse() {
    let _one = serial();
    let mut c = Cluster::new(Forwarding::Nat, "init");
    let script = c.dir.0.join("pulse.init");
    std::fs::write(&script, include_str!("../../init/pulse.init")).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The guest is this test's machine: install the defaults file there.
    std::fs::create_dir_all("/etc/default").unwrap();
    std::fs::write(
        "/etc/default/pulse",
        format!("PULSE={}\nPULSE_OPTS=\"-c {}\"\n", bin("pulse"), c.config.display()),
    )
    .unwrap();
    // A daemonized pulse uses the default control socket.
    c.sockets[0] = PathBuf::from("/run/pulse.sock");
    let action = |verb: &str| -> (i32, String) {
        let out = c.topo.directors[0].ns.command("sh").arg(&script).arg(verb).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    };
    let pid = || std::fs::read_to_string("/run/pulse.pid").unwrap_or_default().trim().to_string();

    assert_eq!(action("status").0, 3, "not running yet");
    let (code, out) = action("start");
    assert_eq!(code, 0, "start: {out}");
    // Alone (the backup is not started), the primary activates after the
    // deadtime and serves every real server.
    let up = c.wait("pulse started by the init script to serve", |c| c.ready(0));
    let first = pid();
    c.log.say(&format!("init script: `start` -> pulse {first} active, table full at {up:.1?}"));
    let (code, out) = action("status");
    assert_eq!(code, 0, "status: {out}");
    assert!(out.contains(&format!("running (pid {first})")) && out.contains("active"), "{out}");

    let (code, out) = action("reload");
    assert_eq!(code, 0, "reload: {out}");
    assert_eq!(pid(), first, "reload keeps the daemon");
    c.wait("pulse to serve after the reload", |c| c.ready(0));

    let (code, out) = action("restart");
    assert_eq!(code, 0, "restart: {out}");
    assert_ne!(pid(), first, "restart starts a new daemon");
    c.wait("pulse to serve after the restart", |c| c.ready(0));
    c.log.say("init script: `status`, `reload` and `restart` work on the daemon");
    // The daemon logs to syslog: its status says enough.
    if let Err(status) = lvs_tests::pulse::stalls(&c.sockets[0], "e2e init router 0") {
        panic!("pulse's loop stalled over 50 ms:\n{status}");
    }

    let (code, out) = action("stop");
    assert_eq!(code, 0, "stop: {out}");
    c.wait("the VIP and the table to go", |c| !c.has_vip(0) && c.table(0).is_empty());
    assert_eq!(action("status").0, 3, "stopped");
    assert!(!Path::new("/run/pulse.pid").exists());
    c.log.say("init script: `stop` stood pulse down: no VIP, no IPVS service left");
    let _ = std::fs::remove_file("/etc/default/pulse");
}

// ---- Watching the cluster (issue 19) ----

/// A sample of router `i`'s `/metrics`, if it answers and has it.
fn sample(c: &Cluster, i: usize, name: &str, labels: &str) -> Option<f64> {
    lvs_tests::pulse::metric(&c.http(i, "/metrics")?, name, labels)
}

/// The real server `server` (`IP:PORT`) in a status JSON, as JSON.
fn real_server(status: &str, server: &str) -> Option<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(status).ok()?;
    v["lvsd"]["services"]
        .as_array()?
        .iter()
        .flat_map(|s| s["servers"].as_array().cloned().unwrap_or_default())
        .find(|s| s["server"] == server)
}

/// The demo cluster watched from outside, as an operator's Prometheus
/// would: each router's `/metrics` and `/status.json` say which router is
/// active, a stopped real server goes to `lvs_real_server_up 0` within a
/// check interval (plus the emulated guest's slack) with its reason in the
/// status, the kernel's connection counters grow with the client's
/// traffic, and a failover (the primary stands down) flips
/// `lvs_router_active` on both routers. Each router's scrape goes to the
/// host as an artifact, where `cargo xtask vm-test` runs `promtool check
/// metrics` on it.
#[test]
fn nat_cluster_is_watched_through_metrics_and_status() {
    let _one = serial();
    let mut c = Cluster::new(Forwarding::Nat, "watch");
    c.start_pulse(0);
    c.start_pulse(1);
    c.wait("the primary to serve, the backup's table to be complete", |c| {
        c.ready(0) && c.is_standby(1) && c.table(1) == c.live()
    });
    let svc = format!("service=\"tcp:{}:80\"", addr::VIP);
    let label = |j: usize| format!("{svc},server=\"{}:80\"", c.topo.real_server_addr(j));
    let labels: Vec<String> = (0..NAMES.len()).map(label).collect();
    // One scrape per router per look: scrapes cost the emulated guest CPU.
    let heard = c.wait("both routers' metrics to show every real server up", |c| {
        (0..2).all(|i| {
            let m = c.http(i, "/metrics").unwrap_or_default();
            labels.iter().all(|l| metric(&m, "lvs_real_server_up", l) == Some(1.0))
        })
    });
    c.log.say(&format!(
        "metrics: lvs_real_server_up 1 for web1..3 on both routers ({heard:.1?} after start)"
    ));
    assert_eq!(sample(&c, 0, "lvs_router_active", ""), Some(1.0));
    assert_eq!(sample(&c, 1, "lvs_router_active", ""), Some(0.0));
    assert_eq!(sample(&c, 0, "lvs_real_server_weight", &labels[0]), Some(1.0));

    // Traffic: the kernel's counters, per service and per real server.
    let conns = |c: &Cluster, l: &str| sample(c, 0, "lvs_ipvs_connections_total", l);
    let before = c.wait("the first read of the IPVS counters", |c| conns(c, &svc).is_some());
    let (svc0, web1) = (conns(&c, &svc).unwrap(), conns(&c, &labels[0]).unwrap_or(0.0));
    let load = Load::start(&c.topo.client.ns, c.log.t0, PATIENCE);
    let mark = load.samples().len();
    while load.samples().len() < mark + 30 {
        std::thread::sleep(Duration::from_millis(50));
    }
    let grown = c.wait("the connection counters to count the client's requests", |c| {
        let m = c.http(0, "/metrics").unwrap_or_default();
        metric(&m, "lvs_ipvs_connections_total", &svc).is_some_and(|n| n >= svc0 + 30.0)
            && metric(&m, "lvs_ipvs_connections_total", &labels[0]).is_some_and(|n| n >= web1 + 5.0)
    });
    let m = c.http(0, "/metrics").unwrap();
    c.log.say(&format!(
        "metrics: lvs_ipvs_connections_total {} -> {} for the service, web1 {} -> {} ({:.1?} after the counters' first read)",
        svc0,
        conns(&c, &svc).unwrap(),
        web1,
        conns(&c, &labels[0]).unwrap(),
        grown - before
    ));
    let bytes_out =
        lvs_tests::pulse::metric(&m, "lvs_ipvs_bytes_total", &format!("{svc},direction=\"out\""));
    assert!(bytes_out.is_some_and(|b| b > 0.0), "{m}");
    lvs_tests::pulse::artifact("e2e-metrics-primary.prom", &m);

    // A real server stops: its health goes to 0, with the reason.
    let stop_at = c.log.at();
    c.stop_server(2);
    let down = c.wait("web3's lvs_real_server_up to go to 0", |c| {
        sample(c, 0, "lvs_real_server_up", &labels[2]) == Some(0.0)
    });
    let took = down - stop_at;
    let status = c.http(0, "/status.json").unwrap();
    let web3 = real_server(&status, &format!("{}:80", c.topo.real_server_addr(2)));
    c.log.say(&format!(
        "metrics: web3's lvs_real_server_up went to 0 {took:.2?} after it stopped (check interval {CHECK_INTERVAL:?}); status: {}",
        web3.as_ref().map_or("?".to_owned(), ToString::to_string)
    ));
    let web3 = web3.expect("web3 in /status.json");
    assert_eq!(web3["health"], "down", "{status}");
    assert!(web3["reason"].as_str().is_some_and(|r| r.contains("refused")), "{status}");
    assert_eq!(web3["weight"], serde_json::Value::Null, "{status}");
    assert_eq!(web3["configured_weight"], 1, "{status}");
    // The control socket's status is the same document.
    let json = c.status(0).unwrap();
    assert!(real_server(&json, &format!("{}:80", c.topo.real_server_addr(2)))
        .is_some_and(|s| s["health"] == "down"));
    // One interval until the next check, the check itself (a refused
    // connect: at once), and one second for the report to cross lvsd,
    // pulse and the scrape on the loaded emulated guest.
    assert!(
        took <= CHECK_INTERVAL + Duration::from_secs(1),
        "web3 down in the metrics {took:?} after it stopped\n{}",
        c.logs()
    );
    assert_eq!(sample(&c, 0, "lvs_real_server_transitions_total", &labels[2]), Some(1.0));

    // A failover: the primary stands down, the backup takes over.
    assert_eq!(c.control(0, "stand-down"), "ok\n");
    let over = c.wait("lvs_router_active to flip on both routers", |c| {
        sample(c, 0, "lvs_router_active", "") == Some(0.0)
            && sample(c, 1, "lvs_router_active", "") == Some(1.0)
    });
    c.log.say(&format!(
        "metrics: after the primary stood down, lvs_router_active is 0 on it and 1 on the backup ({:.1?} after the stop)",
        over - down
    ));
    let m1 = c.http(1, "/metrics").unwrap();
    assert!(
        lvs_tests::pulse::metric(&m1, "lvs_router_transitions_total", "").is_some_and(|n| n >= 1.0),
        "{m1}"
    );
    lvs_tests::pulse::artifact("e2e-metrics-backup.prom", &m1);
    drop(load.finish());
    c.assert_no_stalls();
}

/// The stall detector tells a loop kept from every CPU from a loop that
/// stalled: a real-time hog above pulse's loop (`SCHED_FIFO` 15, one busy
/// shell pinned to each CPU, stopped after 400 ms) keeps both routers' loops runnable
/// but off the CPUs, while their canaries (priority 20) still run. Each
/// router counts a wait for a CPU, not a stall and not a pause of the
/// machine, and nobody takes over.
#[test]
fn a_real_time_hog_is_a_wait_for_a_cpu_not_a_stall() {
    let _one = serial();
    let mut c = Cluster::new(Forwarding::Nat, "hog");
    c.start_pulse(0);
    c.start_pulse(1);
    c.wait("the primary to serve, the backup to stand by", |c| c.ready(0) && c.is_standby(1));
    let figures = |c: &Cluster, i| {
        let s = c.status(i).unwrap();
        (lvs_tests::pulse::LoopFigures::from_status(&s).unwrap(), s)
    };
    let before: Vec<u64> = (0..2).map(|i| figures(&c, i).0.waits).collect();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let hogs: Vec<std::process::Child> = (0..cpus)
        .map(|cpu| {
            // The spinning shell runs at 15; the one that stops it at 16,
            // above it on the same CPU (a FIFO thread never yields to
            // its equal), and both below the canaries' 20.
            std::process::Command::new("chrt")
                .args(["-f", "16", "taskset", "-c", &cpu.to_string(), "sh", "-c"])
                .arg("chrt -f 15 sh -c 'while :; do :; done' & p=$!; sleep 0.4; kill $p")
                .spawn()
                .unwrap()
        })
        .collect();
    for mut h in hogs {
        assert!(h.wait().unwrap().success(), "a hog failed");
    }
    c.log.say(&format!("{cpus} real-time hogs (SCHED_FIFO 15, one per CPU) ran 400 ms"));
    // Each loop turns again at its next keepalive at the latest.
    c.wait("both routers to count a wait for a CPU", |c| {
        (0..2).all(|i| figures(c, i).0.waits > before[i])
    });
    for i in 0..2 {
        let (f, s) = figures(&c, i);
        c.log.say(&format!(
            "router {i}: {} waits for a CPU (longest {:.1} ms), {} stalls, {} pauses",
            f.waits,
            f.worst_wait_us as f64 / 1000.0,
            f.stalls,
            f.pauses
        ));
        assert_eq!(f.stalls, 0, "router {i} counted a stall:\n{s}\n{}", c.logs());
        assert!(f.worst_wait_us >= 200_000, "router {i}'s longest wait:\n{s}");
        let log = std::fs::read_to_string(c.log_path(i)).unwrap_or_default();
        assert!(
            log.lines().any(|l| l.contains("loop wait:") && l.contains("waiting for a CPU")),
            "router {i} logged no wait:\n{log}"
        );
    }
    assert!(c.is_active(0) && c.is_standby(1), "a router changed role:\n{}", c.logs());
    c.assert_no_stalls();
    c.stop_pulses();
}
