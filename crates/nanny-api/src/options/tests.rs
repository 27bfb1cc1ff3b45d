//! The command line's contract: every value round-trips through argv,
//! piranha's argv forms read as nanny has always read them, and the
//! command lines lvsd and pulse write are written back unchanged.

use super::*;
use proptest::prelude::*;

fn run(args: &[&str]) -> NannyOptions {
    match NannyOptions::from_args(args.iter().copied()).unwrap() {
        Invocation::Run(o) => *o,
        other => panic!("{other:?}"),
    }
}

fn secs(s: u64) -> Secs {
    Secs::new(Duration::from_secs(s))
}

#[test]
fn the_argv_piranha_lvsd_builds() {
    let o = run(PIRANHA_LVSD_ARGV);
    let mut want = NannyOptions::new("192.168.1.10".parse().unwrap());
    want.rport = Some(8080);
    want.check = CheckOptions::Stream {
        send: Some("GET / HTTP/1.0\\r\\n\\r\\n".into()),
        expect: Some("HTTP".into()),
        regex: false,
        suppress: false,
        tls: None,
    };
    want.quiesce = true;
    want.reentry = Some(secs(15));
    want.interval = Some(secs(6));
    want.weight = Some(5);
    want.vip = Some("192.168.1.1".parse().unwrap());
    want.method = Method::Gatewaying;
    assert_eq!(o, want);
    // Long forms, `=` values, and what piranha reads as `-m`.
    let o = run(&["--server=10.0.0.2", "--port=443", "--reentrytime=0", "--interval=2.5", "-Mt"]);
    assert_eq!((o.port, o.reentry, o.method), (443, Some(secs(0)), Method::Masquerade));
    assert_eq!(o.interval.map(Secs::duration), Some(Duration::from_millis(2500)));
    assert_eq!(run(&["-h", "10.0.0.2", "-M", "-i"]).method, Method::Tunnel);
}

#[test]
fn errors() {
    let err = |a: &[&str]| NannyOptions::from_args(a.iter().copied()).unwrap_err();
    assert!(matches!(err(&["-p", "80"]), ArgsError::NoAddress));
    assert_eq!(err(&["-h", "www.example.com"]).to_string(), "bad IP address -- www.example.com");
    assert!(matches!(err(&["-h", "10.0.0.1", "--fos"]), ArgsError::Fos));
    for bad in [
        &["-h", "10.0.0.1", "-t", "0"][..],
        &["-h", "10.0.0.1", "-t", "1e99"],
        &["-h", "10.0.0.1", "-t", "-1"],
        &["-h", "10.0.0.1", "--bogus"],
        &["-h", "10.0.0.1", "-U", "finger"],
        &["-h", "10.0.0.1", "--http", "-e", "x"],
        &["-h", "10.0.0.1", "--http", "-u"],
        &["-h", "10.0.0.1", "--tls", "-u"],
        &["-h", "10.0.0.1", "--ping", "-x", "HTTP"],
        &["-h", "10.0.0.1", "--ping-count", "0"],
        &["-h", "10.0.0.1", "--dns-record", "A"],
        &["-h", "10.0.0.1", "stray"],
        &["-h", "10.0.0.1", "--via-mark", "5"],
        &["-h", "10.0.0.1", "-V", "192.0.2.10", "--via-mark", "5", "--ping"],
        &["-h", "10.0.0.1", "-V", "192.0.2.10", "--via-mark", "5", "-e", "x"],
        &["-h", "10.0.0.1", "-V", "192.0.2.10", "--via-mark", "-1"],
    ] {
        assert!(NannyOptions::from_args(bad.iter().copied()).is_err(), "{bad:?}");
    }
    assert_eq!(NannyOptions::from_args(["--version"]).unwrap(), Invocation::Version);
    assert_eq!(NannyOptions::from_args(["-h", "10.0.0.1", "--help"]).unwrap(), Invocation::Help);
}

#[test]
fn seconds_as_written() {
    let text = |s: Secs| s.text();
    assert_eq!(text(secs(3)), "3");
    assert_eq!(text(Secs::with_decimals(Duration::from_secs(3))), "3.000");
    assert_eq!(text(Secs::new(Duration::from_millis(2500))), "2.500");
    assert_eq!(text(Secs::with_decimals(Duration::from_millis(2500))), "2.500");
    assert_eq!(text(Secs::new(Duration::from_nanos(1_000_000_001))), "1.000000001");
    let read = |v: &str| Secs::parse("-t", v).unwrap();
    assert_eq!(read("0.0005").duration(), Duration::from_micros(500));
    assert_eq!(read("1e1").duration(), Duration::from_secs(10));
    assert_eq!(read(" 7 "), secs(7));
    assert_eq!(read("5."), Secs::with_decimals(Duration::from_secs(5)));
}

/// The command lines lvsd and pulse write (their goldens) read back to
/// options that write them again, byte for byte.
#[test]
fn the_command_lines_lvsd_and_pulse_write_are_fixed_points() {
    for line in [
        "-h 10.0.0.1 -p 53 -r 53 -u -T -s hi -x ok --regex -t 3 --timeout 3 -a 180 --retries 2 \
         -w 7 -q -U rsh --alive 3.000 --report -v",
        "-h 10.0.0.1 -p 53 -r 53 -e /bin/check -T -x OK -t 10 --timeout 10 -a 180 --retries 0 \
         -w 7 --alive 5.000 --report",
        "-h 10.0.0.1 -p 80 -r 80 -f 5 --http-path /health --http-status 200,204 --tls \
         -V 192.0.2.10 -t 30 --timeout 30 -a 180 --retries 0 -w 7 --alive 5.000 --report",
        "-h 10.0.0.1 -p 53 -r 53 --agent /bin/agent --agent-up /bin/up -t 2.500 --timeout 1 \
         -a 180 --retries 0 -w 7 --alive 2.500 --report",
        "-h 10.0.0.1 -p 53 -r 53 --ping-count 2 -t 10 --timeout 1 -a 180 --retries 0 -w 7 \
         --alive 5.000 --report",
        "-h 10.0.0.1 -p 53 -r 53 --dns www.example.com --dns-record AAAA -t 10 --timeout 10 \
         -a 180 --retries 0 -w 7 --alive 5.000 --report",
        "-h 10.0.0.1 -p 80 -r 80 --http-path / --http-status 200 -V 192.0.2.10 \
         --via-mark 1280704512 -t 1 --timeout 1 -a 180 --retries 0 -w 1 --alive 1 --report",
        "-h 207.175.44.242 -p 1010 -r 1010 -T -s GET -x HTTP -t 10.000 --timeout 10.000 \
         -a 10.000 --retries 0 -w 1 --no-slow-start --alive 5.000 --report",
    ] {
        let args: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(run(&args).to_args(), args, "{line}");
    }
}

fn text() -> impl Strategy<Value = String> {
    // Any text at all: values are separate arguments, so dashes, `=`,
    // spaces and empty strings are fine.
    prop_oneof!["\\PC{0,12}", "-[a-z-]{0,6}", Just(String::new())]
}

fn secs_any(positive: bool) -> impl Strategy<Value = Secs> {
    (u64::from(positive)..86_400 * 365, 0u32..1_000_000_000, any::<bool>(), any::<bool>()).prop_map(
        |(s, ns, ms, dec)| {
            let ns = if ms { ns / 1_000_000 * 1_000_000 } else { ns };
            let d = Duration::new(s, ns);
            if dec {
                Secs::with_decimals(d)
            } else {
                Secs::new(d)
            }
        },
    )
}

fn tls() -> impl Strategy<Value = Option<TlsOptions>> {
    proptest::option::of(proptest::option::of(text()).prop_map(|name| TlsOptions { name }))
}

fn check() -> impl Strategy<Value = CheckOptions> {
    prop_oneof![
        (
            proptest::option::of(text()),
            proptest::option::of(text()),
            any::<bool>(),
            any::<bool>(),
            tls()
        )
            .prop_map(|(send, expect, regex, suppress, tls)| CheckOptions::Stream {
                send,
                expect,
                regex,
                suppress,
                tls
            }),
        (text(), proptest::option::of(text()), any::<bool>()).prop_map(
            |(command, expect, suppress)| CheckOptions::Program { command, expect, suppress }
        ),
        text().prop_map(|command| CheckOptions::Agent { command }),
        (
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(text()),
            tls()
        )
            .prop_map(|(path, host, status, body, tls)| CheckOptions::Http {
                path,
                host,
                status,
                body,
                tls
            }),
        Just(CheckOptions::AlwaysUp),
        proptest::option::of(1..=MAX_PING_COUNT).prop_map(|count| CheckOptions::Ping { count }),
        (text(), proptest::option::of(text()))
            .prop_map(|(name, record)| CheckOptions::Dns { name, record }),
    ]
}

fn load() -> impl Strategy<Value = Option<LoadCmd>> {
    proptest::option::of(prop_oneof![
        Just(LoadCmd::Rup),
        Just(LoadCmd::Ruptime),
        Just(LoadCmd::Rsh),
        Just(LoadCmd::Ssh),
        text().prop_map(LoadCmd::Program),
    ])
}

fn options() -> impl Strategy<Value = NannyOptions> {
    let head = (
        any::<IpAddr>(),
        any::<u16>(),
        proptest::option::of(any::<u16>()),
        any::<u32>(),
        any::<bool>(),
        check(),
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::option::of(any::<IpAddr>()),
        prop_oneof![Just(Method::Masquerade), Just(Method::Gatewaying), Just(Method::Tunnel)],
    );
    let times = (
        proptest::option::of(secs_any(true)),
        proptest::option::of(secs_any(true)),
        proptest::option::of(secs_any(false)),
        proptest::option::of(secs_any(true)),
        proptest::option::of(secs_any(true)),
    );
    let via = proptest::option::of(any::<u32>());
    let rest = (
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        any::<bool>(),
        any::<bool>(),
        load(),
        prop_oneof![Just(Mode::Ipvs), Just(Mode::Report), Just(Mode::NoRun)],
        any::<bool>(),
    );
    (head, times, rest, via).prop_map(|(h, t, r, via)| {
        let mut o = NannyOptions::new(h.0);
        (o.port, o.rport, o.fwmark, o.udp, o.check) = (h.1, h.2, h.3, h.4, h.5);
        (o.agent_up, o.agent_down, o.vip, o.method) = (h.6, h.7, h.8, h.9);
        (o.interval, o.timeout, o.reentry, o.adjust, o.alive) = t;
        (o.retries, o.weight, o.scale, o.quiesce, o.no_slow_start) = (r.0, r.1, r.2, r.3, r.4);
        (o.load, o.mode, o.verbose) = (r.5, r.6, r.7);
        // A mark goes with a virtual address and a check that sends
        // something through IPVS; other values have no command line.
        o.via_mark = via.filter(|_| {
            o.vip.is_some()
                && !matches!(
                    o.check,
                    CheckOptions::Program { .. }
                        | CheckOptions::Agent { .. }
                        | CheckOptions::AlwaysUp
                        | CheckOptions::Ping { .. }
                )
        });
        // UDP excludes TLS and HTTP: such values have no command line.
        if o.udp {
            match &mut o.check {
                CheckOptions::Stream { tls, .. } => *tls = None,
                CheckOptions::Http { .. } => o.udp = false,
                _ => {}
            }
        }
        o
    })
}

proptest! {
    #[test]
    fn every_options_value_round_trips(o in options()) {
        let args = o.to_args();
        prop_assert_eq!(NannyOptions::from_args(&args).unwrap(), Invocation::Run(Box::new(o)), "{:?}", args);
    }

    #[test]
    fn reading_any_argv_never_panics(args in proptest::collection::vec(text(), 0..12)) {
        let _ = NannyOptions::from_args(args);
    }
}
