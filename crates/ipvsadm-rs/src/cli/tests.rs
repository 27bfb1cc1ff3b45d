//! Tests of the command line parser: ipvsadm's error texts and statuses,
//! and what each accepted command line becomes. Messages and statuses are
//! those of ipvsadm 1.31 (`ipvsadm.c`, `popt.c`).

use std::net::IpAddr;

use crate::v4;
use ipvs::{
    Command, ForwardMethod, Netmask, Protocol, ServiceFlags, ServiceKey, TunnelCsum, TunnelType,
};

use super::*;
use crate::resolve::Resolver;

/// Numbers as the C library reads them; a few fixed names.
struct Fake;

impl Resolver for Fake {
    fn inet_aton(&self, s: &str) -> Option<[u8; 4]> {
        crate::sys::inet_aton(s)
    }
    fn inet_pton6(&self, s: &str) -> Option<[u8; 16]> {
        crate::sys::inet_pton6(s)
    }
    fn host_v4(&self, name: &str) -> Option<[u8; 4]> {
        (name == "www").then_some([10, 0, 0, 9])
    }
    fn service_port(&self, name: &str, proto: &str) -> Option<u16> {
        match (name, proto) {
            ("http", "tcp") => Some(80),
            ("domain", "udp" | "tcp") => Some(53),
            _ => None,
        }
    }
    fn host_name(&self, _: &IpAddr) -> Option<String> {
        None
    }
    fn service_name(&self, _: u16, _: &str) -> Option<String> {
        None
    }
}

fn argv(line: &str) -> Vec<String> {
    std::iter::once("ipvsadm")
        .chain(line.split(' ').filter(|w| !w.is_empty()))
        .map(String::from)
        .collect()
}

fn p(line: &str) -> Result<Parsed, CliError> {
    parse(&argv(line), &Fake, false)
}

fn action(line: &str) -> Action {
    match p(line) {
        Ok(Parsed::Run(a)) => a,
        other => panic!("{line}: {other:?}"),
    }
}

fn command(line: &str) -> Command {
    match action(line) {
        Action::Apply(c) => c,
        other => panic!("{line}: {other:?}"),
    }
}

/// What ipvsadm prints on standard error and its exit status.
fn error(line: &str) -> (String, i32) {
    match p(line) {
        Err(CliError::TryHelp) => (crate::help::try_help("ipvsadm"), 255),
        Err(CliError::Popt(m)) => (format!("{m}\n"), 255),
        Err(CliError::Fail(m)) => (format!("{m}\n"), 2),
        Ok(x) => panic!("{line}: accepted as {x:?}"),
    }
}

#[test]
fn legality_tables_have_a_column_per_option() {
    for row in LEGAL {
        assert_eq!(row.len(), OPTNAMES.len(), "{row:?}");
    }
}

#[test]
fn golden_errors() {
    let cases: &[(&str, &str, i32)] = &[
        // No command first.
        ("", "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n", 255),
        ("-n -L", "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n", 255),
        ("-q", "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n", 255),
        ("--start-daemon", "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n", 255),
        // popt errors after the command.
        ("-L -q", "-q: unknown option\n", 255),
        ("-Lq", "-Lq: unknown option\n", 255),
        ("-L --foo", "--foo: unknown option\n", 255),
        ("-A -t", "-t: missing argument\n", 255),
        ("-L --numeric=1", "--numeric=1: option does not take an argument\n", 255),
        // A second command.
        ("-L -A", "invalid option `-A'\n", 2),
        ("-LA", "invalid option `-LA'\n", 2),
        ("-L --start-daemon master", "invalid option `master'\n", 2),
        ("-A -t 1.2.3.4:80 -h", "invalid option `-h'\n", 2),
        // Daemon states.
        ("--start-daemon foo", "illegal start-daemon parameter specified\n", 2),
        ("--stop-daemon foo", "illegal start_daemon specified\n", 2),
        // Addresses and ports.
        ("-A -t 1.2.3.4:99999", "illegal virtual server address[:port] specified\n", 2),
        ("-A -t 1.2.3.4:", "illegal virtual server address[:port] specified\n", 2),
        ("-A -t 80", "illegal virtual server address[:port] specified\n", 2),
        ("-A -t nosuchhost:80", "illegal virtual server address[:port] specified\n", 2),
        ("-A -t 1.2.3.4:nosuchservice", "illegal virtual server address[:port] specified\n", 2),
        ("-A -u 1.2.3.4:http", "illegal virtual server address[:port] specified\n", 2),
        ("-A -t [::1]", "illegal virtual server address[:port] specified\n", 2),
        ("-A -t [::1", "illegal virtual server address[:port] specified\n", 2),
        ("-A -t 1.2.3.4.5:80", "illegal virtual server address[:port] specified\n", 2),
        ("-a -t 1.2.3.4:80 -r 300", "illegal real server address[:port] specified\n", 2),
        ("-a -t 1.2.3.4:80 -r 10.0.0.1:-1", "illegal real server address[:port] specified\n", 2),
        ("-A -f 0", "invalid fwmark value `0' specified\n", 2),
        ("-A -f 4294967296", "invalid fwmark value `4294967296' specified\n", 2),
        ("-A -f x", "invalid fwmark value `x' specified\n", 2),
        // Numbers.
        ("-a -t 1.2.3.4:80 -r 10.0.0.1 -w 2147483648", "illegal weight specified\n", 2),
        ("-a -t 1.2.3.4:80 -r 10.0.0.1 -w -1", "illegal weight specified\n", 2),
        ("-a -t 1.2.3.4:80 -r 10.0.0.1 -w 1x", "illegal weight specified\n", 2),
        ("-a -t 1.2.3.4:80 -r 10.0.0.1 -x 2147483648", "illegal u_threshold specified\n", 2),
        ("-a -t 1.2.3.4:80 -r 10.0.0.1 -y z", "illegal l_threshold specified\n", 2),
        ("-A -t 1.2.3.4:80 -p 0", "invalid timeout value `0' specified\n", 2),
        ("-A -t 1.2.3.4:80 -p 2678401", "invalid timeout value `2678401' specified\n", 2),
        ("-A -t 1.2.3.4:80 -p -M 1.2.3.", "illegal virtual server persistent mask specified\n", 2),
        ("-A -t [::1]:80 -p -M 129", "illegal ipv6 netmask specified\n", 2),
        ("-A -t [::1]:80 -p -M x", "illegal ipv6 netmask specified\n", 2),
        ("--set 1 2", "--set option requires 3 timeout values\n", 2),
        ("--set 1 2 x", "invalid timeout value `x' specified\n", 2),
        ("--set 1 2 3 4", "unexpected argument 4\n", 2),
        ("--set 2678401 2 3", "invalid timeout value `2678401' specified\n", 2),
        ("-L extra", "unexpected argument extra\n", 2),
        ("--start-daemon master --syncid 256", "illegal syncid specified\n", 2),
        ("--start-daemon master --mcast-port 0", "illegal mcast-port specified\n", 2),
        ("--start-daemon master --mcast-ttl 256", "illegal mcast-ttl specified\n", 2),
        ("--start-daemon master --sync-maxlen 65508", "illegal sync-maxlen specified\n", 2),
        ("--start-daemon master --mcast-group 10.0.0.1", "invalid IPv4 mcast-group `10.0.0.1'\n", 2),
        ("--start-daemon master --mcast-group ::1", "invalid IPv6 mcast-group `::1'\n", 2),
        // Repeats and order.
        ("-A -t 1.2.3.4:80 -t 1.2.3.4:81", "multiple 'service-address' options specified\n", 2),
        ("-L -n -n", "multiple 'numeric' options specified\n", 2),
        ("-a -t 1.2.3.4:80 -r 10.0.0.1 -m -g", "multiple 'forwarding-method' options specified\n", 2),
        ("-A -6 -f 1", "-6 used before -f\n\n", 2),
        // Scheduler flags.
        ("-A -t 1.2.3.4:80 -b sh-port", "incompatible scheduler flag `sh-port'\n", 2),
        ("-A -t 1.2.3.4:80 -s mh -b mh-port,sh-port", "incompatible scheduler flag `sh-port'\n", 2),
        ("-A -t 1.2.3.4:80 -b foo", "invalid scheduler flag `foo'\n", 2),
        ("-L -b foo", "invalid scheduler flag `foo'\n", 2),
        // The legality table.
        ("-A", "You need to supply the 'service-address' option for the 'add-service' command\n", 2),
        ("-D -t 1.2.3.4:80 -s rr", "Illegal 'scheduler' option with the 'delete-service' command\n", 2),
        ("-a -t 1.2.3.4:80", "You need to supply the 'real-server' option for the 'add-server' command\n", 2),
        ("-d -t 1.2.3.4:80 -r 10.0.0.1 -w 2", "Illegal 'weight' option with the 'delete-server' command\n", 2),
        ("-C -n", "Illegal 'numeric' option with the 'flush' command\n", 2),
        ("-R -n", "Illegal 'numeric' option with the 'restore' command\n", 2),
        ("-S -c", "Illegal 'connection' option with the 'save' command\n", 2),
        ("-Z -n", "Illegal 'numeric' option with the 'zero' command\n", 2),
        ("-A -t 1.2.3.4:80 -w 2", "Illegal 'weight' option with the 'add-service' command\n", 2),
        ("-L -c --timeout", "The option 'timeout' conflicts with the 'connection' option in the 'list' command\n", 2),
        ("-L -t 1.2.3.4:80 --daemon", "The option 'daemon' conflicts with the 'service-address' option in the 'list' command\n", 2),
        ("-L -s rr", "Illegal 'scheduler' option with the 'list' command\n", 2),
        ("--stop-daemon master --mcast-interface eth0", "Illegal 'mcast-interface' option with the 'stop-daemon' command\n", 2),
        ("--set 1 2 3 -n", "Illegal 'numeric' option with the 'set' command\n", 2),
        ("-L -c --stats", "options conflicts in the list command\n", 2),
        ("-L --timeout --persistent-conn", "options conflicts in the list command\n", 2),
        // Service and server checks.
        ("-A -t 1.2.3.4", "Zero port specified for non-persistent service\n", 2),
        ("-E -t 1.2.3.4:0", "Zero port specified for non-persistent service\n", 2),
        ("-A -t 1.2.3.4:80 -o", "One-Packet Scheduling is only for UDP virtual services\n", 2),
        ("-a -t 1.2.3.4:80 -r [::1]:80", "Different address family is allowed only for tunneling servers\n", 2),
        ("-a -t 1.2.3.4:80 -r 10.0.0.1 --tun-type gue", "Tunnel options conflict with forward method\n", 2),
        ("-a -t 1.2.3.4:80 -r 10.0.0.1 -i --tun-type gue", "You need to supply the 'tun-port' option for the 'gue' tunnel type\n", 2),
        ("-a -t 1.2.3.4:80 -r 10.0.0.1 -i --tun-port 9", "Illegal 'tun-port' option with the 'ipip' tunnel type\n", 2),
        ("-a -t 1.2.3.4:80 -r 10.0.0.1 -i --tun-type gre --tun-remcsum", "Illegal 'tun-remcsum' option with the 'gre' tunnel type\n", 2),
        ("-a -t 1.2.3.4:80 -r 10.0.0.1 -i --tun-type gue --tun-port 6080 --tun-csum --tun-nocsum", "The option 'tun-csum' conflicts with the 'tun-nocsum' option in the 'gue' tunnel type\n", 2),
        ("-a -t 1.2.3.4:80 -r 10.0.0.1 -i --tun-type foo", "illegal tunnel type specified\n", 2),
        ("-a -t 1.2.3.4:80 -r 10.0.0.1 -i --tun-type gue --tun-port 0", "illegal tunnel port specified\n", 2),
        // The extension is only for listings.
        ("-C --json", "Illegal 'json' option with the 'flush' command\n", 2),
    ];
    let mut bad = Vec::new();
    for (line, msg, code) in cases {
        let got = error(line);
        if got != (msg.to_string(), *code) {
            bad.push(format!("{line:?}: got {got:?}, want {:?}", (msg, code)));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn help_and_version_first() {
    assert_eq!(p("-h"), Ok(Parsed::Help));
    assert_eq!(p("--help -q"), Ok(Parsed::Help));
    assert_eq!(p("-v"), Ok(Parsed::Version));
    assert_eq!(p("--version"), Ok(Parsed::Version));
}

#[test]
fn add_service_defaults_and_persistence() {
    let Command::AddService(s) = command("-A -t 1.2.3.4:80") else { panic!() };
    assert_eq!(s.key, ServiceKey::tcp(v4(1, 2, 3, 4), 80));
    assert_eq!(s.scheduler, "wlc");
    assert_eq!(s.flags, ServiceFlags(0));
    assert_eq!(s.netmask, Netmask::V4(std::net::Ipv4Addr::BROADCAST));

    let Command::AddService(s) = command("-A -t 1.2.3.4:0 -p") else { panic!() };
    assert_eq!((s.flags, s.timeout), (ServiceFlags::PERSISTENT, DEFAULT_PERSISTENT_TIMEOUT));
    let Command::AddService(s) = command("-A -t 1.2.3.4:80 -p 300 -M 255.255.255.0 -s rr") else {
        panic!()
    };
    assert_eq!((s.timeout, s.scheduler.as_str()), (300, "rr"));
    assert_eq!(s.netmask, Netmask::V4("255.255.255.0".parse().unwrap()));
    // -p's optional argument is only a following word without a dash.
    let Command::AddService(s) = command("-A -t 1.2.3.4:80 -p -s rr") else { panic!() };
    assert_eq!((s.timeout, s.scheduler.as_str()), (360, "rr"));
    // -E without -s resets the scheduler to wlc.
    let Command::EditService(s) = command("-E -t 1.2.3.4:80") else { panic!() };
    assert_eq!(s.scheduler, "wlc");
    // IPv6 with a prefix, fwmark with -6.
    let Command::AddService(s) = command("-A -t [2001:db8::1]:443 -p 60 -M 64") else { panic!() };
    assert_eq!(s.netmask, Netmask::V6Prefix(64));
    let Command::AddService(s) = command("-A -f 7 -6 -s sh -b sh-port,sh-fallback -o") else {
        panic!()
    };
    assert_eq!(s.key, ServiceKey::fwmark(ipvs::Family::Inet6, 7));
    assert_eq!(s.flags, ServiceFlags(0x4 | 0x8 | 0x10));
    assert_eq!(s.netmask, Netmask::V6Prefix(128));
    // -M before an IPv6 service reads a mask; the service then resets it.
    let Command::AddService(s) = command("-A -M 64 -p -t [::1]:80") else { panic!() };
    assert_eq!(s.netmask, Netmask::V6Prefix(128));
    let Command::AddService(s) = command("-A -u 1.2.3.4:domain --pe sip -p") else { panic!() };
    assert_eq!(s.key, ServiceKey::udp(v4(1, 2, 3, 4), 53));
    assert_eq!(s.pe_name.as_deref(), Some("sip"));
    let Command::AddService(s) = command("-A --sctp-service www:1 -s twos") else { panic!() };
    assert_eq!(s.key, ServiceKey::sctp(v4(10, 0, 0, 9), 1));
    // A bracketed IPv4 address loses its port, as in ipvsadm.
    let Command::AddService(s) = command("-A -t [1.2.3.4]:80 -p") else { panic!() };
    assert_eq!(s.key, ServiceKey::tcp(v4(1, 2, 3, 4), 0));
    // glibc's inet_aton forms.
    let Command::AddService(s) = command("-A -t 10.1:80") else { panic!() };
    assert_eq!(s.key, ServiceKey::tcp(v4(10, 0, 0, 1), 80));
    let Command::AddService(s) =
        command("--add-service --tcp-service=1.2.3.4:+80 --scheduler=0123456789abcdefgh")
    else {
        panic!()
    };
    assert_eq!(
        (s.key, s.scheduler.as_str()),
        (ServiceKey::tcp(v4(1, 2, 3, 4), 80), "0123456789abcde")
    );
}

#[test]
fn real_servers() {
    let Command::AddDest(k, d) = command("-a -t 1.2.3.4:80 -r 10.0.0.1") else { panic!() };
    assert_eq!(k, ServiceKey::tcp(v4(1, 2, 3, 4), 80));
    assert_eq!((d.addr, d.port, d.fwd, d.weight), (v4(10, 0, 0, 1), 80, ForwardMethod::Route, 1));
    // Direct routing forces the service port.
    let Command::AddDest(_, d) = command("-a -t 1.2.3.4:80 -r 10.0.0.1:8080 -g") else { panic!() };
    assert_eq!(d.port, 80);
    let Command::AddDest(_, d) = command("-a -t 1.2.3.4:80 -r 10.0.0.1:8080 -m -w 0 -x 10 -y 5")
    else {
        panic!()
    };
    assert_eq!(
        (d.port, d.fwd, d.weight, d.upper_threshold, d.lower_threshold),
        (8080, ForwardMethod::Masq, 0, 10, 5)
    );
    // -r before -t copies the service port known then (none).
    let Command::AddDest(_, d) = command("-a -r 10.0.0.1 -m -t 1.2.3.4:80") else { panic!() };
    assert_eq!(d.port, 0);
    let Command::EditDest(_, d) =
        command("-e -t 1.2.3.4:80 -r 2001:db8::2 -i --tun-type gue --tun-port 6080 --tun-remcsum")
    else {
        panic!()
    };
    assert_eq!(d.addr, "2001:db8::2".parse::<IpAddr>().unwrap());
    assert_eq!(
        (d.fwd, d.tunnel.kind, d.tunnel.port, d.tunnel.csum),
        (ForwardMethod::Tunnel, TunnelType::Gue, 6080, TunnelCsum::RemCsum)
    );
    let Command::DelDest(k, d) = command("-d -f 3 -r 10.0.0.2:81") else { panic!() };
    assert_eq!(k, ServiceKey::fwmark(ipvs::Family::Inet, 3));
    assert_eq!((d.addr, d.port), (v4(10, 0, 0, 2), 81));
    let Command::AddDest(_, d) = command("-a -f 3 -r 10.0.0.2:http") else { panic!() };
    assert_eq!(d.port, 80);
}

#[test]
fn other_commands() {
    assert_eq!(command("-C"), Command::Flush);
    assert_eq!(command("-Z"), Command::Zero(None));
    assert_eq!(
        command("-Z -u 1.2.3.4:53"),
        Command::Zero(Some(ServiceKey::udp(v4(1, 2, 3, 4), 53)))
    );
    assert_eq!(
        command("-D -t 1.2.3.4:80"),
        Command::DelService(ServiceKey::tcp(v4(1, 2, 3, 4), 80))
    );
    assert_eq!(
        command("--set 10 0 30"),
        Command::SetTimeouts(ipvs::Timeouts { tcp: 10, tcp_fin: 0, udp: 30 })
    );
    let Command::StartDaemon(d) = command("--start-daemon=backup --syncid 5 --mcast-group 239.1.1.1 --mcast-port 9000 --mcast-ttl 2 --sync-maxlen 1400") else {
        panic!()
    };
    assert_eq!((d.state, d.mcast_ifn.as_str(), d.syncid), (ipvs::DaemonState::Backup, "eth0", 5));
    assert_eq!(
        (d.group, d.port, d.ttl, d.maxlen),
        (Some(v4(239, 1, 1, 1)), Some(9000), Some(2), Some(1400))
    );
    assert_eq!(command("--stop-daemon master"), Command::StopDaemon(ipvs::DaemonState::Master));
    assert_eq!(action("-R"), Action::Restore);
    assert_eq!(
        action("-S -n"),
        Action::Save(Format { rule: true, numeric: true, ..Format::default() })
    );
}

#[test]
fn listings() {
    let f = Format::default();
    assert_eq!(action("-L"), Action::ListAll(f));
    assert_eq!(action("-l"), Action::ListAll(f));
    assert_eq!(action("--list"), Action::ListAll(f));
    assert_eq!(action("-Ln --sort"), Action::ListAll(Format { numeric: true, ..f }));
    assert_eq!(
        action("-L -n --stats --exact --nosort"),
        Action::ListAll(Format { numeric: true, stats: true, exact: true, nosort: true, ..f })
    );
    assert_eq!(action("-L -c -n"), Action::ListConns(Format { numeric: true, ..f }));
    assert_eq!(action("-L --timeout"), Action::ListTimeout(f));
    assert_eq!(action("-L --daemon"), Action::ListDaemon(f));
    assert_eq!(
        action("-L -t 1.2.3.4:80 --rate"),
        Action::ListService(ServiceKey::tcp(v4(1, 2, 3, 4), 80), Format { rate: true, ..f })
    );
    assert_eq!(
        action("-L -f 1 -6 --tun-info --persistent-conn --thresholds"),
        Action::ListService(
            ServiceKey::fwmark(ipvs::Family::Inet6, 1),
            Format { tun_info: true, persistent_conn: true, thresholds: true, ..f }
        )
    );
    assert_eq!(action("-L -n --json"), Action::ListAll(Format { numeric: true, json: true, ..f }));
    // Leftovers before the command are "unexpected" too.
    assert_eq!(error("foo -L"), ("unexpected argument foo\n".to_string(), 2));
    let _ = Protocol::Tcp;
}

#[test]
fn helpers_follow_libc() {
    assert_eq!(strtol_strict(" +12"), Some(12));
    assert_eq!(strtol_strict("12 "), None);
    assert_eq!(strtol_strict(""), None);
    assert_eq!(strtol_strict("-"), None);
    assert_eq!(strtol_strict("99999999999999999999"), None);
    assert_eq!(atoi("64abc"), 64);
    assert_eq!(atoi("x"), 0);
    assert_eq!(atoi("4294967360"), 64);
    assert_eq!(atoi("-1"), -1);
}
