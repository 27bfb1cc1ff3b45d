//! What the configuration asks of lvsd, worked out once per (re)load: the
//! IPVS services, the real servers of each and the nanny that watches each,
//! and the desired table given what the nannies have reported.
//!
//! Pure: no IO, no clocks. Time comes in as an argument.

use std::collections::BTreeMap;
#[cfg(test)]
use std::net::IpAddr;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipvs::{Dest, DestKey, Family, ForwardMethod, Netmask, Service, ServiceFlags, ServiceKey};
use lvs_config::overrides::ServiceId;
use lvs_config::{CheckKind, Config, HealthCheck, MinUp, Protocol, VirtualService};

// The tests below name it through `super::*`.
#[cfg(test)]
use crate::table::Entry;

mod desired;

pub(crate) use desired::report_of;
pub use desired::{desired_service, desired_service_with, desired_table, in_sync, sorry_in};

/// What identifies a nanny: its program and its argv. Real servers of
/// several virtual services whose nanny would be started with the same
/// argv share one nanny.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NannyKey {
    /// The program (`paths.nanny`, or the service's `monitor`).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
}

impl NannyKey {
    /// The command line, for the log.
    pub fn display(&self) -> String {
        let mut s = self.program.display().to_string();
        for a in &self.args {
            s.push(' ');
            s.push_str(a);
        }
        s
    }
}

/// One nanny to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NannySpec {
    /// The real server it checks.
    pub server: SocketAddr,
    /// The liveness period it is started with (`--alive`).
    pub alive: Duration,
    /// How long after its hello a server it never reported up is taken as
    /// down (a nanny says nothing about a server down from the start).
    pub first_verdict: Duration,
    /// The (service, real server) pairs it decides.
    pub members: Vec<(ServiceKey, DestKey)>,
}

/// How a real server's presence is decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Watch {
    /// By this nanny.
    Nanny(NannyKey),
    /// Always up (check `none`): no nanny.
    Always,
}

/// A real server of a service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealSpec {
    /// Its name in the configuration.
    pub name: String,
    /// The destination at its configured weight.
    pub dest: Dest,
    /// Who decides whether it is in.
    pub watch: Watch,
}

/// A virtual service lvsd keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceSpec {
    /// Its name in the configuration.
    pub name: String,
    /// The IPVS service.
    pub service: Service,
    /// Its active real servers.
    pub reals: Vec<RealSpec>,
    /// The sorry server, in when no real server is.
    pub sorry: Option<Dest>,
    /// Its identity in the operator's overrides.
    pub id: ServiceId,
    /// The depool threshold (`min_up`), if any.
    pub min_up: Option<MinUp>,
    /// How long a drained real server may keep connections.
    pub drain_timeout: Duration,
    /// ECMP directors with a consistent scheduler (`mh`, `sh`, `dh`):
    /// every real server is in the table from the start, at weight 0
    /// while its check has not passed, instead of out. The schedulers
    /// build their lookup from the destinations in the order they were
    /// added, so every director, and one that returns, hashes a flow to
    /// the same real server.
    pub hold_at_zero: bool,
}

/// Everything lvsd keeps for one configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Spec {
    /// Connection timeouts (0 = leave the kernel's).
    pub timeouts: ipvs::Timeouts,
    /// The services, by key.
    pub services: BTreeMap<ServiceKey, ServiceSpec>,
    /// The nannies, by key.
    pub nannies: BTreeMap<NannyKey, NannySpec>,
    /// piranha's `hard_shutdown`: a dead nanny makes lvsd exit.
    pub hard_shutdown: bool,
    /// Things of the configuration lvsd cannot do, for the log.
    pub warnings: Vec<String>,
}

/// What a nanny last said about its server: its last
/// [`nanny_api::Decision`] as the table sees it, or nothing yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    /// Nothing yet: keep what the kernel has (adoption at start).
    Unknown,
    /// In the table with this weight.
    Up(u32),
    /// Out of the table.
    Removed,
    /// In the table with weight 0.
    Quiesced,
}

impl From<nanny_api::Decision> for Report {
    fn from(d: nanny_api::Decision) -> Report {
        use nanny_api::{Decision, DownMode};
        match d {
            Decision::Up { weight } | Decision::Weight { weight } => Report::Up(weight),
            Decision::Down { mode: DownMode::Remove } => Report::Removed,
            Decision::Down { mode: DownMode::Quiesce } => Report::Quiesced,
        }
    }
}

/// Options of lvsd that shape the nanny command lines (the command line
/// itself is `nanny_api::NannyOptions`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NannyOptions {
    /// Pass `-v`.
    pub verbose: bool,
}

fn forward(m: lvs_config::ForwardMethod) -> ForwardMethod {
    match m {
        lvs_config::ForwardMethod::Nat => ForwardMethod::Masq,
        lvs_config::ForwardMethod::Direct => ForwardMethod::Route,
        lvs_config::ForwardMethod::Tunnel => ForwardMethod::Tunnel,
    }
}

fn netmask(family: Family, prefix: Option<u8>) -> Netmask {
    match (family, prefix) {
        (_, None) => Netmask::full(family),
        (Family::Inet, Some(p)) => {
            let bits = if p >= 32 { u32::MAX } else { !(u32::MAX >> p) };
            Netmask::V4(bits.into())
        }
        (Family::Inet6, Some(p)) => Netmask::V6Prefix(u32::from(p.min(128))),
    }
}

/// The key of a virtual service.
pub fn service_key(vs: &VirtualService) -> ServiceKey {
    match vs.fwmark {
        Some(mark) if mark != 0 => ServiceKey::fwmark(Family::of(&vs.vip.address), mark),
        _ => {
            let addr = vs.vip.address;
            match vs.protocol {
                Protocol::Tcp => ServiceKey::tcp(addr, vs.port),
                Protocol::Udp => ServiceKey::udp(addr, vs.port),
                Protocol::Sctp => ServiceKey::sctp(addr, vs.port),
            }
        }
    }
}

/// The IPVS service of a virtual service.
pub fn service_of(vs: &VirtualService) -> Service {
    let key = service_key(vs);
    let mut s = Service::new(key).with_scheduler(&vs.scheduler.0);
    if let Some(p) = &vs.persistence {
        s = s.with_persistence(p.timeout, netmask(key.family(), p.netmask));
    }
    if vs.one_packet {
        s.flags |= ServiceFlags::ONEPACKET;
    }
    for f in &vs.scheduler_flags {
        s.flags |= ServiceFlags(match f {
            lvs_config::SchedulerFlag::Flag1 => ServiceFlags::SCHED1.0,
            lvs_config::SchedulerFlag::Flag2 => ServiceFlags::SCHED2.0,
            lvs_config::SchedulerFlag::Flag3 => ServiceFlags::SCHED3.0,
        });
    }
    s
}

/// The liveness period asked of nannies: their check interval, at most 5 s,
/// so that a hung nanny is found within 15 s (3 periods).
pub const MAX_ALIVE: Duration = Duration::from_secs(5);

/// The nanny command line for one real server of a virtual service, or
/// `None` for a check that needs no nanny (`none`).
fn nanny_args(
    vs: &VirtualService,
    rs: &lvs_config::RealServer,
    check: &HealthCheck,
    opts: NannyOptions,
) -> Option<Vec<String>> {
    use nanny_api::{CheckOptions, LoadCmd, Secs};
    if check.kind == CheckKind::None {
        return None; // before any allocation: tables of many `none` servers
    }
    let mut o = nanny_api::NannyOptions::new(rs.address);
    o.port = vs.port;
    o.rport = Some(rs.port);
    o.fwmark = vs.fwmark.unwrap_or(0);
    o.udp = vs.protocol == Protocol::Udp;
    o.check = match &check.kind {
        CheckKind::None => return None,
        // The configuration holds decoded bytes: nanny must not decode again.
        CheckKind::Connect { send, expect, regex } => {
            CheckOptions::decoded_stream(send.clone(), expect.clone(), *regex)
        }
        CheckKind::Program { command, expect } => {
            CheckOptions::decoded_program(command.clone(), expect.clone())
        }
        CheckKind::Agent { command, on_up, on_down } => {
            o.agent_up.clone_from(on_up);
            o.agent_down.clone_from(on_down);
            CheckOptions::Agent { command: command.clone() }
        }
        CheckKind::Http { path, host, status, body_regex, tls } => {
            // The Host header defaults to the virtual address.
            o.vip = Some(vs.vip.address);
            let list: Vec<String> = status.iter().map(u16::to_string).collect();
            CheckOptions::Http {
                path: Some(path.clone()),
                host: host.clone(),
                status: Some(list.join(",")),
                body: body_regex.clone(),
                tls: tls.then(nanny_api::TlsOptions::default),
            }
        }
        CheckKind::Ping { count } => CheckOptions::Ping { count: Some(*count) },
        CheckKind::Dns { query, record } => {
            CheckOptions::Dns { name: query.clone(), record: record.clone() }
        }
    };
    o.interval = Some(Secs::new(check.interval.to_duration()));
    o.timeout = Some(Secs::new(check.effective_timeout().to_duration()));
    o.reentry = Some(Secs::new(check.reentry.to_duration()));
    o.retries = Some(check.retries);
    o.weight = Some(rs.weight);
    o.quiesce = check.quiesce;
    o.load = match check.load_monitor {
        lvs_config::LoadMonitor::None => None,
        lvs_config::LoadMonitor::Rup => Some(LoadCmd::Rup),
        lvs_config::LoadMonitor::Ruptime => Some(LoadCmd::Ruptime),
        lvs_config::LoadMonitor::Uptime => Some(LoadCmd::Rsh),
    };
    o.alive = Some(Secs::with_decimals(check.interval.to_duration().min(MAX_ALIVE)));
    o.mode = nanny_api::Mode::Report;
    o.verbose = opts.verbose;
    Some(o.to_args())
}

/// The schedulers that pick the same real server for a flow on every
/// director given the same destinations (Maglev, source and destination
/// hashing).
pub const CONSISTENT_SCHEDULERS: [&str; 3] = ["mh", "sh", "dh"];

/// Works out what lvsd keeps for a configuration.
pub fn build(config: &Config, opts: NannyOptions) -> Spec {
    let mut spec = Spec {
        timeouts: ipvs::Timeouts {
            tcp: config.ipvs_timeouts.tcp,
            tcp_fin: config.ipvs_timeouts.tcpfin,
            udp: config.ipvs_timeouts.udp,
        },
        hard_shutdown: config.hard_shutdown,
        ..Spec::default()
    };
    for vs in config.virtual_services.iter().filter(|v| v.active) {
        let service = service_of(vs);
        let key = service.key;
        if spec.services.contains_key(&key) {
            spec.warnings.push(format!(
                "virtual service {}: {key} is already described by another service; ignored",
                vs.name
            ));
            continue;
        }
        let program = vs.monitor.as_ref().unwrap_or(&config.paths.nanny);
        let mut reals = Vec::with_capacity(vs.real_servers.len());
        for rs in vs.real_servers.iter().filter(|r| r.active) {
            let mut dest = Dest::new(rs.address, rs.port)
                .with_fwd(forward(rs.forwarding.unwrap_or(config.network)))
                .with_weight(rs.weight);
            dest.upper_threshold = rs.upper_threshold;
            dest.lower_threshold = rs.lower_threshold;
            if reals.iter().any(|r: &RealSpec| r.dest.key() == dest.key()) {
                spec.warnings.push(format!(
                    "virtual service {}: real server {} repeats {}:{}; ignored",
                    vs.name, rs.name, rs.address, rs.port
                ));
                continue;
            }
            let watch = match nanny_args(vs, rs, &vs.check, opts) {
                None => Watch::Always,
                Some(args) => {
                    let nk = NannyKey { program: program.clone(), args };
                    let member = (key, dest.key());
                    // A shared nanny (the same farm behind many services)
                    // is found without another copy of its argv.
                    if let Some(n) = spec.nannies.get_mut(&nk) {
                        n.members.push(member);
                    } else {
                        let interval = vs.check.interval.to_duration();
                        let n = NannySpec {
                            server: SocketAddr::new(rs.address, rs.port),
                            alive: interval.min(MAX_ALIVE),
                            first_verdict: vs.check.effective_timeout().to_duration()
                                + interval
                                + Duration::from_secs(2),
                            members: vec![member],
                        };
                        spec.nannies.insert(nk.clone(), n);
                    }
                    Watch::Nanny(nk)
                }
            };
            reals.push(RealSpec { name: rs.name.clone(), dest, watch });
        }
        let sorry = vs.sorry_server.map(|s| {
            let port = if s.port() == 0 { vs.port } else { s.port() };
            Dest::new(s.ip(), port).with_fwd(forward(config.network)).with_weight(1)
        });
        spec.services.insert(
            key,
            ServiceSpec {
                name: vs.name.clone(),
                service,
                reals,
                sorry,
                id: ServiceId::of(vs),
                min_up: vs.min_up,
                drain_timeout: vs.drain_timeout.to_duration(),
                hold_at_zero: config.routers.is_ecmp()
                    && CONSISTENT_SCHEDULERS.contains(&vs.scheduler.0.as_str()),
            },
        );
    }
    spec.warnings.sort();
    spec.warnings.dedup();
    spec
}

#[cfg(test)]
mod tests {
    use super::*;

    const CF: &str = "\
serial_no = 1
primary = 192.0.2.1
service = lvs
network = nat
tcp_timeout = 900
virtual web {
     active = 1
     address = 192.0.2.10 eth0:1
     port = 80
     scheduler = rr
     persistent = 300
     sorry_server = 10.0.0.250
     timeout = 2
     reentry = 4
     server a {
         address = 10.0.0.1
         active = 1
         weight = 5
     }
     server b {
         address = 10.0.0.2
         active = 1
         weight = 1
     }
     server c {
         address = 10.0.0.3
         active = 0
     }
}
virtual web2 {
     active = 1
     address = 192.0.2.11 eth0:2
     port = 80
     timeout = 2
     reentry = 4
     server a {
         address = 10.0.0.1
         active = 1
         weight = 5
     }
}
virtual off {
     active = 0
     address = 192.0.2.12 eth0:3
     port = 80
}
";

    fn spec() -> Spec {
        let (c, d) = lvs_config::parse_str(CF, "lvs.cf", lvs_config::Format::LvsCf);
        build(&c.unwrap_or_else(|| panic!("{d:?}")), NannyOptions::default())
    }

    #[test]
    fn services_servers_and_shared_nannies() {
        let s = spec();
        assert_eq!(s.timeouts.tcp, 900);
        assert_eq!(s.services.len(), 2, "inactive services are not kept");
        let web = &s.services[&ServiceKey::tcp("192.0.2.10".parse().unwrap(), 80)];
        assert_eq!(web.service.scheduler, "rr");
        assert!(web.service.is_persistent());
        assert_eq!(web.service.timeout, 300);
        assert_eq!(web.reals.len(), 2, "inactive servers are not kept");
        assert_eq!(web.reals[0].dest.fwd, ForwardMethod::Masq);
        assert_eq!(web.sorry.as_ref().unwrap().port, 80);
        // a:80 with the same check in both services: one nanny, two members.
        assert_eq!(s.nannies.len(), 2);
        let shared = s.nannies.values().find(|n| n.members.len() == 2).unwrap();
        assert_eq!(shared.server, "10.0.0.1:80".parse().unwrap());
        let args = &s.nannies.keys().next().unwrap().args;
        assert!(args.contains(&"--report".to_string()));
        assert!(args.windows(2).any(|w| w == ["--retries", "0"]));
    }

    fn nanny_of(s: &Spec, ip: &str) -> NannyKey {
        s.nannies.iter().find(|(_, n)| n.server.ip().to_string() == ip).unwrap().0.clone()
    }

    #[test]
    fn sorry_server_in_when_no_real_server_is_up() {
        let s = spec();
        let web = &s.services[&ServiceKey::tcp("192.0.2.10".parse().unwrap(), 80)];
        let sorry = web.sorry.as_ref().unwrap().key();
        let (a, b) = (nanny_of(&s, "10.0.0.1"), nanny_of(&s, "10.0.0.2"));
        let mut r = BTreeMap::new();
        // Nothing reported, nothing in the kernel: sorry.
        let e = desired_service(web, &r, None);
        assert_eq!(e.dests.keys().copied().collect::<Vec<_>>(), vec![sorry]);
        assert!(sorry_in(web, &e));
        r.insert(a.clone(), Report::Up(3));
        let e = desired_service(web, &r, None);
        assert_eq!(e.dests.len(), 1);
        assert_eq!(e.dests.values().next().unwrap().weight, 3);
        assert!(!sorry_in(web, &e));
        // Quiesced servers do not serve: sorry again.
        r.insert(a.clone(), Report::Quiesced);
        r.insert(b, Report::Removed);
        let e = desired_service(web, &r, None);
        assert_eq!(e.dests.len(), 2);
        assert!(sorry_in(web, &e));
    }

    #[test]
    fn unreported_servers_keep_what_the_kernel_has() {
        let s = spec();
        let web = &s.services[&ServiceKey::tcp("192.0.2.10".parse().unwrap(), 80)];
        let mut have = Entry::new(web.service.clone());
        let mut d = web.reals[0].dest.clone();
        d.weight = 4;
        have.dests.insert(d.key(), d);
        let e = desired_service(web, &BTreeMap::new(), Some(&have));
        assert_eq!(e.dests.len(), 1, "adopted, and no sorry server: {e:?}");
        assert_eq!(e.dests.values().next().unwrap().weight, 4);
    }

    /// Issue 22: ECMP directors with `mh` keep every real server in the
    /// table from the start, at weight 0 until its check passes, so that
    /// every director's Maglev table is built from the same destinations
    /// in the same order; with another scheduler, or a pair, a server that
    /// is not up is out as before.
    #[test]
    fn ecmp_consistent_schedulers_hold_servers_at_zero() {
        let text = |routers: &str, sched: &str| {
            format!(
                "routers:\n{routers}\nvirtual_services:\n  - name: v\n    vip: {{ address: 10.0.100.1, interface: lo }}\n\
                 scheduler: {sched}\n    real_servers:\n      - {{ name: a, address: 10.0.0.11, weight: 3 }}\n\
                 - {{ name: b, address: 10.0.0.12 }}\n"
            )
            .replace("\nscheduler", "\n    scheduler")
            .replace("\n- {", "\n      - {")
        };
        let ecmp = "  ecmp: [{ name: d1, address: 10.0.0.1 }]";
        let pair = "  primary: { address: 10.0.0.1 }\nheartbeat: { protocol: piranha }";
        let spec_of = |t: String| {
            let (c, d) = lvs_config::parse_str(&t, "t.yaml", lvs_config::Format::Yaml);
            build(&c.unwrap_or_else(|| panic!("{d:?}")), NannyOptions::default())
        };
        let s = spec_of(text(ecmp, "mh"));
        let v = s.services.values().next().unwrap();
        assert!(v.hold_at_zero);
        let (a, b) = (nanny_of(&s, "10.0.0.11"), nanny_of(&s, "10.0.0.12"));
        let mut r = BTreeMap::new();
        let weights = |r: &BTreeMap<NannyKey, Report>| {
            let e = desired_service(v, r, None);
            assert!(in_sync(v, r, &e), "the planner and in_sync agree");
            e.dests.values().map(|d| d.weight).collect::<Vec<_>>()
        };
        assert_eq!(weights(&r), [0, 0], "unknown: in at 0");
        r.insert(a.clone(), Report::Up(3));
        r.insert(b, Report::Removed);
        assert_eq!(weights(&r), [3, 0], "a failed server stays in at 0");
        for (routers, sched) in [(ecmp, "wlc"), (pair, "mh")] {
            let s = spec_of(text(routers, sched));
            assert!(!s.services.values().next().unwrap().hold_at_zero, "{routers} {sched}");
        }
    }

    fn yaml_spec(check: &str, extra: &str) -> Spec {
        let text = format!(
            "routers:\n  primary:\n    address: 192.0.2.1\nheartbeat: {{ protocol: piranha }}\n\
virtual_services:\n  - name: v\n    vip: {{ address: 192.0.2.10, interface: eth0 }}\n    port: 53\n\
{extra}    check: {check}\n    real_servers:\n      - {{ name: r, address: 10.0.0.1, weight: 7 }}\n"
        );
        let (c, d) = lvs_config::parse_str(&text, "t.yaml", lvs_config::Format::Yaml);
        build(&c.unwrap_or_else(|| panic!("{d:?}")), NannyOptions { verbose: true })
    }

    fn args_of(s: &Spec) -> Vec<String> {
        s.nannies.keys().next().unwrap().args.clone()
    }

    #[test]
    fn nanny_command_lines_per_check_kind() {
        let a = args_of(&yaml_spec(
            "{ type: connect, send: \"hi\\n\", expect: \"ok\", interval: 3, quiesce: true, retries: 2 }",
            "    protocol: udp\n",
        ));
        let joined = a.join(" ");
        assert!(joined.starts_with("-h 10.0.0.1 -p 53 -r 53 -u -T -s hi\n -x ok"), "{joined}");
        assert!(joined.contains("-t 3 --timeout 3 -a 180 --retries 2 -w 7 -q"), "{joined}");
        assert!(joined.ends_with("--alive 3.000 --report -v"), "{joined}");

        let a =
            args_of(&yaml_spec("{ type: program, command: \"/bin/check %h\", expect: OK }", ""));
        assert!(a.windows(2).any(|w| w == ["-e", "/bin/check %h"]), "{a:?}");
        assert!(a.windows(3).any(|w| w == ["-T", "-x", "OK"]), "{a:?}");

        let s = yaml_spec("{ type: agent, command: /bin/agent, on_up: /bin/up }", "");
        assert!(args_of(&s)
            .windows(4)
            .any(|w| w == ["--agent", "/bin/agent", "--agent-up", "/bin/up"]));
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);

        let a = args_of(&yaml_spec(
            "{ type: http, path: /health, status: [200, 204], tls: true, interval: 30 }",
            "    fwmark: 5\n",
        ));
        let joined = a.join(" ");
        assert!(joined.contains("-f 5"), "{joined}");
        assert!(joined.contains("--http-path /health --http-status 200,204 --tls -V 192.0.2.10"));
        assert!(joined.contains("--alive 5.000"), "liveness at most every 5 s: {joined}");

        let a = args_of(&yaml_spec("{ type: ping, count: 2, timeout: 1 }", ""));
        let joined = a.join(" ");
        assert!(joined.starts_with("-h 10.0.0.1 -p 53 -r 53 --ping-count 2 -t 10 --timeout 1"));

        let a = args_of(&yaml_spec("{ type: dns, query: www.example.com, record: AAAA }", ""));
        assert!(a.join(" ").contains("--dns www.example.com --dns-record AAAA -t 10"), "{a:?}");

        let s = yaml_spec("{ type: none }", "");
        assert!(s.nannies.is_empty());
        let v = s.services.values().next().unwrap();
        assert_eq!(v.reals[0].watch, Watch::Always);
        let e = desired_service(v, &BTreeMap::new(), None);
        assert_eq!(e.dests.values().next().unwrap().weight, 7, "always up, at its weight");
    }

    #[test]
    fn a_nannys_decision_is_a_report() {
        use nanny_api::{Decision, DownMode};
        assert_eq!(Report::from(Decision::Up { weight: 3 }), Report::Up(3));
        assert_eq!(Report::from(Decision::Weight { weight: 0 }), Report::Up(0));
        assert_eq!(Report::from(Decision::Down { mode: DownMode::Remove }), Report::Removed);
        assert_eq!(Report::from(Decision::Down { mode: DownMode::Quiesce }), Report::Quiesced);
    }

    /// The record types the configuration accepts are those nanny knows.
    #[test]
    fn dns_record_types_agree_with_nanny() {
        let ours: Vec<&str> = lvs_config::DNS_RECORD_TYPES.iter().map(|(n, _)| *n).collect();
        let nannys: Vec<&str> = nanny_api::DNS_RECORD_TYPES.iter().map(|(n, _)| *n).collect();
        assert_eq!(ours, nannys);
    }

    #[test]
    fn netmasks() {
        assert_eq!(netmask(Family::Inet, Some(24)), Netmask::V4("255.255.255.0".parse().unwrap()));
        assert_eq!(netmask(Family::Inet, Some(0)), Netmask::V4("0.0.0.0".parse().unwrap()));
        assert_eq!(netmask(Family::Inet6, Some(64)), Netmask::V6Prefix(64));
        assert_eq!(netmask(Family::Inet, None), Netmask::full(Family::Inet));
    }

    /// `in_sync` says "nothing to send" exactly when planning the desired
    /// service would send nothing, over every combination of reports and
    /// kernel states of a small service (a sorry server apart from the
    /// real servers, or the same as one of them).
    #[test]
    fn in_sync_agrees_with_the_planner_everywhere() {
        use crate::table::plan_service;
        let ip = |l: u8| IpAddr::from([10, 0, 0, l]);
        let real =
            |l: u8, w: u32| Dest::new(ip(l), 80).with_fwd(ForwardMethod::Masq).with_weight(w);
        let nk = |l: u8| NannyKey { program: "nanny".into(), args: vec![l.to_string()] };
        let key = ServiceKey::tcp(IpAddr::from([192, 0, 2, 10]), 80);
        let reports =
            [Report::Unknown, Report::Up(1), Report::Up(5), Report::Quiesced, Report::Removed];
        // What the kernel may hold for one key: absent, a weight, or another forwarding.
        let states: [Option<(u32, ForwardMethod)>; 5] = [
            None,
            Some((0, ForwardMethod::Masq)),
            Some((1, ForwardMethod::Masq)),
            Some((5, ForwardMethod::Masq)),
            Some((1, ForwardMethod::Route)),
        ];
        let mut checked = 0;
        for sorry_last in [3u8, 2] {
            let spec = ServiceSpec {
                name: "web".into(),
                service: Service::new(key).with_scheduler("wlc"),
                reals: vec![
                    RealSpec { name: "a".into(), dest: real(1, 5), watch: Watch::Nanny(nk(1)) },
                    RealSpec { name: "b".into(), dest: real(2, 1), watch: Watch::Nanny(nk(2)) },
                ],
                sorry: Some(real(sorry_last, 1)),
                id: ServiceId::Tcp("192.0.2.10:80".parse().unwrap()),
                min_up: None,
                drain_timeout: Duration::from_secs(300),
                hold_at_zero: false,
            };
            for sched in ["wlc", "rr"] {
                for ra in reports {
                    for rb in reports {
                        let rep: BTreeMap<NannyKey, Report> =
                            [(nk(1), ra), (nk(2), rb)].into_iter().collect();
                        for s1 in states {
                            for s2 in states {
                                for s3 in states {
                                    let mut have =
                                        Entry::new(Service::new(key).with_scheduler(sched));
                                    for (l, st) in [(1, s1), (2, s2), (3, s3)] {
                                        if let Some((w, f)) = st {
                                            let d = real(l, w).with_fwd(f);
                                            have.dests.insert(d.key(), d);
                                        }
                                    }
                                    let want = desired_service(&spec, &rep, Some(&have));
                                    let mut cmds = Vec::new();
                                    plan_service(Some(&want), Some(&have), &mut cmds);
                                    assert_eq!(
                                        in_sync(&spec, &rep, &have),
                                        cmds.is_empty(),
                                        "reports {ra:?} {rb:?}, kernel {have:?}, plan {cmds:?}"
                                    );
                                    checked += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 2 * 2 * 25 * 125);
    }
}
