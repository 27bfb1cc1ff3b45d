//! Host test of an ECMP director (issue 22), in a network namespace and
//! without IPVS: pulse with a stand-in lvsd (a script that writes the
//! ready file and sleeps) and the test writing lvsd's reports to pulse's
//! report socket. Checked in the kernel's routing table, as BIRD would
//! read it: stale routes of our protocol removed at start and nothing
//! else touched; a VIP announced (a blackhole host route of protocol 76 in
//! the configured table) only while lvsd's table is ready and each of its
//! services has `min_servers` servers up; a VIP short of servers
//! withdrawn alone; everything withdrawn when lvsd's report connection
//! ends and on SIGTERM. The VIPs are on `lo`.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use lvsd_api::{Health, Report, Server, Service};
use testbed::Netns;

const TABLE: &str = "100";

fn routes(ns: &Netns) -> String {
    ns.ip(&["route", "show", "table", TABLE]).unwrap()
}

/// Our VIP routes in the table, sorted.
fn ours(ns: &Netns) -> Vec<String> {
    let mut v: Vec<String> = routes(ns)
        .lines()
        .filter(|l| l.contains("proto 76"))
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_owned))
        .collect();
    v.sort();
    v
}

fn wait(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
    start.elapsed()
}

fn service(name: &str, up: usize, down: usize) -> Service {
    let server = |h| Server {
        server: "10.0.0.11:80".into(),
        health: h,
        reason: String::new(),
        since: 0.0,
        configured_weight: 1,
        weight: None,
        transitions: 0,
        checks: Default::default(),
        counters: None,
        kept_by_threshold: false,
        operator: None,
    };
    let mut servers: Vec<Server> = (0..up).map(|_| server(Health::Up)).collect();
    servers.extend((0..down).map(|_| server(Health::Down)));
    Service { service: name.into(), counters: None, servers }
}

fn report(pid: u32, ready: bool, api_up: usize) -> String {
    let r = Report {
        version: lvsd_api::VERSION,
        pid,
        ready,
        nanny_restarts: 0,
        counters_age: None,
        services: vec![service("tcp:10.0.100.1:80", 2, 0), service("tcp:10.0.100.2:80", api_up, 1)],
    };
    let mut line = lvsd_api::encode(&r);
    if !line.ends_with('\n') {
        line.push('\n');
    }
    line
}

#[test]
fn routes_follow_fitness_from_reconciliation_to_sigterm() {
    if !Netns::can_run("pulse ecmp") {
        return;
    }
    let ns = Netns::new("ecmp").unwrap();
    let dir = std::env::temp_dir().join(format!("pulse-ecmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    ns.batch(
        "link set lo up\n\
         link add d0 type veth peer name d1\n\
         addr add 10.0.0.1/24 dev d0\n\
         link set d0 up\n\
         route add blackhole 10.0.100.9/32 table 100 proto 76\n\
         route add blackhole 10.0.100.8/32 table 100 proto static\n",
    )
    .unwrap();
    let config = dir.join("lvs.yaml");
    std::fs::write(
        &config,
        format!(
            "routers:\n  ecmp: [{{ name: lvs1, address: 10.0.0.1 }}, {{ name: lvs2, address: 10.0.0.2 }}]\n\
             network: direct\n\
             paths: {{ overrides: {dir}/overrides }}\n\
             virtual_services:\n\
             - {{ name: web, vip: {{ address: 10.0.100.1, interface: lo }}, scheduler: mh, \
                  real_servers: [{{ name: w, address: 10.0.0.11 }}] }}\n\
             - {{ name: api, vip: {{ address: 10.0.100.2, interface: lo }}, scheduler: mh, \
                  real_servers: [{{ name: w, address: 10.0.0.11 }}] }}\n",
            dir = dir.display()
        ),
    )
    .unwrap();
    let lvsd = dir.join("lvsd");
    std::fs::write(
        &lvsd,
        "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in --ready-file=*) f=\"${a#--ready-file=}\";; esac; done\n\
         echo $$ > \"$f\"\nexec sleep 1000\n",
    )
    .unwrap();
    std::fs::set_permissions(&lvsd, std::fs::Permissions::from_mode(0o755)).unwrap();
    let sock = dir.join("pulse.sock");
    let pulse = env!("CARGO_BIN_EXE_pulse");
    let args = [
        "-n".to_owned(),
        format!("--socket={}", sock.display()),
        format!("--lvsd={}", lvsd.display()),
        format!("-c{}", config.display()),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let started = Instant::now();
    let daemon = ns.spawn(pulse, &args).unwrap();

    // Reconciliation: the stale route of our protocol goes, the other stays,
    // and nothing is announced before lvsd's table is ready.
    wait("the stale route removed", Duration::from_secs(5), || ours(&ns).is_empty());
    assert!(routes(&ns).contains("10.0.100.8 proto static"), "{}", routes(&ns));
    eprintln!("stale route removed {:.0} ms after start", started.elapsed().as_secs_f64() * 1e3);
    wait("VIPs on lo", Duration::from_secs(5), || {
        let a = ns.ip(&["addr", "show", "dev", "lo"]).unwrap();
        a.contains("10.0.100.1/32") && a.contains("10.0.100.2/32")
    });
    let ready = dir.join("pulse.lvsd-ready");
    wait("lvsd's ready file", Duration::from_secs(5), || std::fs::metadata(&ready).is_ok());
    let pid: u32 = std::fs::read_to_string(&ready).unwrap().trim().parse().unwrap();

    let link = dir.join("pulse.lvsd-report");
    let mut conn = UnixStream::connect(&link).unwrap();
    conn.write_all(report(pid, false, 1).as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(ours(&ns), Vec::<String>::new(), "not announced before the table is ready");

    let sent = Instant::now();
    conn.write_all(report(pid, true, 1).as_bytes()).unwrap();
    wait("both VIPs announced", Duration::from_secs(5), || {
        ours(&ns) == ["10.0.100.1", "10.0.100.2"]
    });
    eprintln!("announced {:.1} ms after the ready report", sent.elapsed().as_secs_f64() * 1e3);
    assert!(routes(&ns).contains("blackhole 10.0.100.1 proto 76"), "{}", routes(&ns));

    // The api service loses its last server: only its VIP is withdrawn.
    let sent = Instant::now();
    conn.write_all(report(pid, true, 0).as_bytes()).unwrap();
    wait("api withdrawn alone", Duration::from_secs(5), || ours(&ns) == ["10.0.100.1"]);
    eprintln!("per-VIP withdraw {:.1} ms after the report", sent.elapsed().as_secs_f64() * 1e3);
    conn.write_all(report(pid, true, 1).as_bytes()).unwrap();
    wait("api back", Duration::from_secs(5), || ours(&ns).len() == 2);

    // lvsd's report connection ends (lvsd died): everything withdrawn.
    let sent = Instant::now();
    drop(conn);
    wait("all withdrawn when lvsd's link ends", Duration::from_secs(5), || ours(&ns).is_empty());
    eprintln!("withdrawn {:.1} ms after lvsd's link ended", sent.elapsed().as_secs_f64() * 1e3);
    let mut conn = UnixStream::connect(&link).unwrap();
    conn.write_all(report(pid, true, 1).as_bytes()).unwrap();
    wait("announced again", Duration::from_secs(5), || ours(&ns).len() == 2);

    // SIGTERM: pulse withdraws before it exits.
    let status = daemon.stop().unwrap();
    assert!(status.success(), "pulse exit: {status:?}");
    assert_eq!(ours(&ns), Vec::<String>::new(), "withdrawn on SIGTERM:\n{}", routes(&ns));
    assert!(routes(&ns).contains("10.0.100.8"), "a foreign route is never touched");
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);
}
