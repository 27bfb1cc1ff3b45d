//! The port of ipvsadm's `parse_options`: the options read in order into
//! the records ipvsadm fills (`ipvs_service_t`, `ipvs_dest_t`, ...), which
//! keeps its order-sensitive behaviours.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipvs::{Family, ForwardMethod, Protocol, SchedFlags, ServiceFlags, Timeouts};

use super::build::process;
use super::record::{Entry, RawDaemon, RawDest, RawSvc};
use super::table::*;
use super::values::*;
use super::{fail, CliError, Cmd, Format, Parsed, MAX_TIMEOUT};
use crate::popt::Scanner;
use crate::resolve::Resolver;

/// Parse one command line (`argv[0]` included). `posix_me_harder` is true
/// when `POSIXLY_CORRECT` or `POSIX_ME_HARDER` is set, as popt checks.
///
/// # Errors
///
/// The [`CliError`] ipvsadm would report, with its exact text.
pub fn parse(argv: &[String], r: &dyn Resolver, posix_me_harder: bool) -> Result<Parsed, CliError> {
    let mut ce = Entry {
        cmd: Cmd::List,
        svc: RawSvc { netmask: 0xffff_ffff, ..RawSvc::default() },
        dest: RawDest::default(),
        timeout: Timeouts::default(),
        daemon: RawDaemon::default(),
        options: 0,
        format: Format::default(),
    };
    let mut sc = Scanner::new(argv, TABLE, posix_me_harder);
    let (first, arg) = match sc.next_opt() {
        Ok(Some(x)) => x,
        _ => return Err(CliError::TryHelp),
    };
    match first {
        Tag::Cmd(c) => {
            ce.cmd = c;
            if matches!(c, Cmd::StartDaemon | Cmd::StopDaemon) {
                ce.daemon.state = match arg.as_deref() {
                    Some("master") => 1,
                    Some("backup") => 2,
                    _ if c == Cmd::StartDaemon => {
                        return fail("illegal start-daemon parameter specified")
                    }
                    _ => return fail("illegal start_daemon specified"),
                };
            }
        }
        Tag::Help => return Ok(Parsed::Help),
        Tag::Version => return Ok(Parsed::Version),
        _ => return Err(CliError::TryHelp),
    }

    let mut sched_flags_arg = String::new();
    let mut json = false;
    loop {
        let (tag, arg) = match sc.next_opt() {
            Ok(Some(x)) => x,
            Ok(None) => break,
            Err(e) => return Err(CliError::Popt(format!("{}: {}", sc.bad_option(), e.text()))),
        };
        let a = arg.as_deref().unwrap_or("");
        let opts = &mut ce.options;
        match tag {
            Tag::Tcp | Tag::Udp | Tag::Sctp => {
                set_option(opts, OPTC_SERVICE)?;
                ce.svc.protocol = match tag {
                    Tag::Tcp => Protocol::Tcp.to_raw(),
                    Tag::Udp => Protocol::Udp.to_raw(),
                    _ => Protocol::Sctp.to_raw(),
                };
                if parse_service(a, &mut ce.svc, r) & SERVICE_ADDR == 0 {
                    return fail("illegal virtual server address[:port] specified");
                }
            }
            Tag::Fwmark => {
                set_option(opts, OPTC_SERVICE)?;
                ce.svc.af = Family::Inet.to_raw();
                ce.svc.protocol = Protocol::Tcp.to_raw();
                ce.svc.fwmark = parse_fwmark(a)?;
            }
            Tag::Scheduler => {
                set_option(opts, OPTC_SCHEDULER)?;
                ce.svc.sched_name = truncated(a, 15);
            }
            Tag::Persistent => {
                set_option(opts, OPTC_PERSISTENT)?;
                ce.svc.flags |= ServiceFlags::PERSISTENT.0;
                ce.svc.timeout = parse_timeout(arg.as_deref(), 1, MAX_TIMEOUT)?;
            }
            Tag::Netmask => {
                set_option(opts, OPTC_NETMASK)?;
                if ce.svc.af != Family::Inet6.to_raw() {
                    match r.inet_aton(a).or_else(|| r.host_v4(a)) {
                        Some(m) => ce.svc.netmask = u32::from_ne_bytes(m),
                        None => return fail("illegal virtual server persistent mask specified"),
                    }
                } else {
                    ce.svc.netmask = atoi(a) as u32;
                    if ce.svc.netmask < 1 || ce.svc.netmask > 128 {
                        return fail("illegal ipv6 netmask specified");
                    }
                }
            }
            Tag::Real => {
                set_option(opts, OPTC_SERVER)?;
                let mut t = ce.svc.clone();
                let parse = parse_service(a, &mut t, r);
                ce.dest.af = t.af;
                ce.dest.addr = t.addr;
                ce.dest.port = t.port;
                if parse & SERVICE_ADDR == 0 {
                    return fail("illegal real server address[:port] specified");
                }
                if parse == SERVICE_ADDR {
                    ce.dest.port = ce.svc.port;
                }
            }
            Tag::Ipip | Tag::Gate | Tag::Masq => {
                set_option(opts, OPTC_FORWARD)?;
                ce.dest.fwd = match tag {
                    Tag::Ipip => ForwardMethod::Tunnel,
                    Tag::Gate => ForwardMethod::Route,
                    _ => ForwardMethod::Masq,
                };
            }
            Tag::Weight => {
                set_option(opts, OPTC_WEIGHT)?;
                // Debian's 1.31 binary checks 0..=INT_MAX (upstream later
                // narrowed it to 65535); the binary is the reference.
                match string_to_number(a, 0, i64::from(i32::MAX)) {
                    Some(n) => ce.dest.weight = n as u32,
                    None => return fail("illegal weight specified"),
                }
            }
            Tag::UThreshold => {
                set_option(opts, OPTC_UTHRESHOLD)?;
                match string_to_number(a, 0, i64::from(i32::MAX)) {
                    Some(n) => ce.dest.u_threshold = n as u32,
                    None => return fail("illegal u_threshold specified"),
                }
            }
            Tag::LThreshold => {
                set_option(opts, OPTC_LTHRESHOLD)?;
                match string_to_number(a, 0, i64::from(i32::MAX)) {
                    Some(n) => ce.dest.l_threshold = n as u32,
                    None => return fail("illegal l_threshold specified"),
                }
            }
            Tag::Connection => set_option(opts, OPTC_CONNECTION)?,
            Tag::Numeric => {
                set_option(opts, OPTC_NUMERIC)?;
                ce.format.numeric = true;
            }
            Tag::McastInterface => {
                set_option(opts, OPTC_MCAST)?;
                ce.daemon.mcast_ifn = truncated(a, 15);
            }
            Tag::SyncId => {
                set_option(opts, OPTC_SYNCID)?;
                match string_to_number(a, 0, 255) {
                    Some(n) => ce.daemon.syncid = n as u32,
                    None => return fail("illegal syncid specified"),
                }
            }
            Tag::Timeout => set_option(opts, OPTC_TIMEOUT)?,
            Tag::Daemon => set_option(opts, OPTC_DAEMON)?,
            Tag::Stats => {
                set_option(opts, OPTC_STATS)?;
                ce.format.stats = true;
            }
            Tag::Rate => {
                set_option(opts, OPTC_RATE)?;
                ce.format.rate = true;
            }
            Tag::Thresholds => {
                set_option(opts, OPTC_THRESHOLDS)?;
                ce.format.thresholds = true;
            }
            Tag::PersistentConn => {
                set_option(opts, OPTC_PERSISTENTCONN)?;
                ce.format.persistent_conn = true;
            }
            Tag::NoSort => {
                set_option(opts, OPTC_NOSORT)?;
                ce.format.nosort = true;
            }
            Tag::Sort => {}
            Tag::Exact => {
                set_option(opts, OPTC_EXACT)?;
                ce.format.exact = true;
            }
            Tag::Ipv6 => {
                if ce.svc.fwmark != 0 {
                    ce.svc.af = Family::Inet6.to_raw();
                    ce.svc.netmask = 128;
                } else {
                    return fail("-6 used before -f\n");
                }
            }
            Tag::Ops => {
                set_option(opts, OPTC_ONEPACKET)?;
                ce.svc.flags |= ServiceFlags::ONEPACKET.0;
            }
            Tag::Pe => {
                set_option(opts, OPTC_PE)?;
                ce.svc.pe_name = truncated(a, 16);
            }
            Tag::SchedFlags => {
                set_option(opts, OPTC_SCHED_FLAGS)?;
                sched_flags_arg = truncated(a, 127);
            }
            Tag::McastGroup => {
                set_option(opts, OPTC_MCAST_GROUP)?;
                if a.contains(':') {
                    match r.inet_pton6(a) {
                        Some(g) if g[0] == 0xff => {
                            ce.daemon.mcast_group = Some(IpAddr::V6(Ipv6Addr::from(g)))
                        }
                        _ => return fail(format!("invalid IPv6 mcast-group `{a}'")),
                    }
                } else {
                    match a.parse::<Ipv4Addr>() {
                        Ok(g) if g.is_multicast() => ce.daemon.mcast_group = Some(IpAddr::V4(g)),
                        _ => return fail(format!("invalid IPv4 mcast-group `{a}'")),
                    }
                }
            }
            Tag::McastPort => {
                set_option(opts, OPTC_MCAST_PORT)?;
                match string_to_number(a, 1, 65535) {
                    Some(n) => ce.daemon.mcast_port = n as u16,
                    None => return fail("illegal mcast-port specified"),
                }
            }
            Tag::McastTtl => {
                set_option(opts, OPTC_MCAST_TTL)?;
                match string_to_number(a, 1, 255) {
                    Some(n) => ce.daemon.mcast_ttl = n as u8,
                    None => return fail("illegal mcast-ttl specified"),
                }
            }
            Tag::SyncMaxlen => {
                set_option(opts, OPTC_SYNC_MAXLEN)?;
                match string_to_number(a, 1, 65535 - 20 - 8) {
                    Some(n) => ce.daemon.sync_maxlen = n as u16,
                    None => return fail("illegal sync-maxlen specified"),
                }
            }
            Tag::TunInfo => {
                set_option(opts, OPTC_TUN_INFO)?;
                ce.format.tun_info = true;
            }
            Tag::TunType => {
                set_option(opts, OPTC_TUN_TYPE)?;
                match TUNNAMES.iter().position(|n| *n == a) {
                    Some(i) => ce.dest.tun_type = i as u8,
                    None => return fail("illegal tunnel type specified"),
                }
            }
            Tag::TunPort => {
                set_option(opts, OPTC_TUN_PORT)?;
                match string_to_number(a, 1, 65535) {
                    Some(n) => ce.dest.tun_port = n as u16,
                    None => return fail("illegal tunnel port specified"),
                }
            }
            Tag::TunNoCsum => set_option(opts, OPTC_TUN_NOCSUM)?,
            Tag::TunCsum => {
                set_option(opts, OPTC_TUN_CSUM)?;
                ce.dest.tun_flags |= 1;
            }
            Tag::TunRemCsum => {
                set_option(opts, OPTC_TUN_REMCSUM)?;
                ce.dest.tun_flags |= 2;
            }
            Tag::Json => json = true,
            Tag::Cmd(_) | Tag::Help | Tag::Version => {
                return fail(format!("invalid option `{}'", sc.bad_option()));
            }
        }
    }

    if ce.cmd == Cmd::Timeout {
        let a = sc.next_leftover();
        let b = sc.next_leftover();
        let c = sc.next_leftover();
        match (a, b, c) {
            (Some(a), Some(b), Some(c)) => {
                ce.timeout.tcp = parse_timeout(Some(&a), 0, MAX_TIMEOUT)?;
                ce.timeout.tcp_fin = parse_timeout(Some(&b), 0, MAX_TIMEOUT)?;
                ce.timeout.udp = parse_timeout(Some(&c), 0, MAX_TIMEOUT)?;
            }
            _ => return fail("--set option requires 3 timeout values"),
        }
    }
    if let Some(extra) = sc.next_leftover() {
        return fail(format!("unexpected argument {extra}"));
    }
    if !sched_flags_arg.is_empty() {
        ce.svc.flags &= !SchedFlags::ALL.0;
        ce.svc.flags |= parse_sched_flags(&ce.svc.sched_name, &sched_flags_arg)?;
    }
    ce.format.json = json;
    process(ce).map(Parsed::Run)
}
