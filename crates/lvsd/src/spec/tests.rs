//! The spec's unit tests: what a configuration asks for, and the desired
//! table given the nannies' reports.

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
/// in the same order; on a pair, a server that is not up is out as
/// before.
#[test]
fn ecmp_consistent_schedulers_hold_servers_at_zero() {
    let text = |routers: &str, sched: &str| {
        format!(
                "routers:\n{routers}\nnetwork: direct\nvirtual_services:\n  - name: v\n    vip: {{ address: 10.0.100.1, interface: lo }}\n\
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
    // ECMP with another scheduler is refused by the configuration's rules
    // (`lvs_config::CONSISTENT_SCHEDULERS`); a pair never holds at zero.
    for (routers, sched) in [(pair, "mh"), (pair, "wlc")] {
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

    let a = args_of(&yaml_spec("{ type: program, command: \"/bin/check %h\", expect: OK }", ""));
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
    let real = |l: u8, w: u32| Dest::new(ip(l), 80).with_fwd(ForwardMethod::Masq).with_weight(w);
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
            datapath: false,
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
                                let mut have = Entry::new(Service::new(key).with_scheduler(sched));
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
