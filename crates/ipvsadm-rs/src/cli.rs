//! ipvsadm 1.31's command line, from argument vector to an [`Action`] or
//! the exact error ipvsadm gives (text and exit status).
//!
//! It mirrors `parse_options` and `process_options`: the first option must
//! be a command; the other options are read in order into the same record
//! ipvsadm fills (`ipvs_service_t`, `ipvs_dest_t`, ...), so the
//! order-sensitive behaviours are kept (`-r` copies the service port known
//! at that moment, `-6` needs `-f` before it, `-M` reads a mask or a prefix
//! depending on the service seen so far); then the command × option
//! legality table, the tunnel table and the remaining checks run, in
//! ipvsadm's order. Host and service names go through a [`Resolver`], so
//! this module does no IO of its own.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipvs::{
    Command, DaemonConfig, DaemonState, Dest, DestKey, ForwardMethod, Netmask, Protocol, Service,
    ServiceFlags, ServiceKey, Timeouts, Tunnel, TunnelCsum, TunnelType,
};

use crate::popt::{ArgKind, OptSpec, Scanner};
use crate::resolve::Resolver;

/// `MAX_TIMEOUT`: 31 days.
const MAX_TIMEOUT: i64 = 86400 * 31;
/// `IPVS_SVC_PERSISTENT_TIMEOUT`: the `-p` default (the man page's 300 is wrong).
pub const DEFAULT_PERSISTENT_TIMEOUT: u32 = 360;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;
const IPPROTO_TCP: u16 = 6;
const IPPROTO_UDP: u16 = 17;
const IPPROTO_SCTP: u16 = 132;
const SVC_F_PERSISTENT: u32 = 0x1;
const SVC_F_ONEPACKET: u32 = 0x4;
const SVC_F_SCHED1: u32 = 0x8;
const SVC_F_SCHED2: u32 = 0x10;
const SVC_F_SCHED3: u32 = 0x20;
const CONN_F_MASQ: u32 = 0;
const CONN_F_TUNNEL: u32 = 2;
const CONN_F_DROUTE: u32 = 3;

/// ipvsadm's commands, in the order of its `cmdnames` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmd {
    /// `-A`.
    Add,
    /// `-E`.
    Edit,
    /// `-D`.
    Del,
    /// `-C`.
    Flush,
    /// `-L`, `-l`.
    List,
    /// `-a`.
    AddDest,
    /// `-d`.
    DelDest,
    /// `-e`.
    EditDest,
    /// `--set`.
    Timeout,
    /// `--start-daemon`.
    StartDaemon,
    /// `--stop-daemon`.
    StopDaemon,
    /// `-R`.
    Restore,
    /// `-S`.
    Save,
    /// `-Z`.
    Zero,
}

const CMDNAMES: [&str; 14] = [
    "add-service",
    "edit-service",
    "delete-service",
    "flush",
    "list",
    "add-server",
    "delete-server",
    "edit-server",
    "set",
    "start-daemon",
    "stop-daemon",
    "restore",
    "save",
    "zero",
];

/// ipvsadm's option names, indexed by `OPTC_*`.
const OPTNAMES: [&str; 34] = [
    "numeric",
    "connection",
    "service-address",
    "scheduler",
    "persistent",
    "netmask",
    "real-server",
    "forwarding-method",
    "weight",
    "u-threshold",
    "l-threshold",
    "mcast-interface",
    "timeout",
    "daemon",
    "stats",
    "rate",
    "thresholds",
    "persistent-conn",
    "nosort",
    "syncid",
    "exact",
    "ops",
    "pe",
    "sched-flags",
    "mcast-group",
    "mcast-port",
    "mcast-ttl",
    "sync-maxlen",
    "tun-info",
    "tun-type",
    "tun-port",
    "tun-nocsum",
    "tun-csum",
    "tun-remcsum",
];

const OPTC_NUMERIC: usize = 0;
const OPTC_CONNECTION: usize = 1;
const OPTC_SERVICE: usize = 2;
const OPTC_SCHEDULER: usize = 3;
const OPTC_PERSISTENT: usize = 4;
const OPTC_NETMASK: usize = 5;
const OPTC_SERVER: usize = 6;
const OPTC_FORWARD: usize = 7;
const OPTC_WEIGHT: usize = 8;
const OPTC_UTHRESHOLD: usize = 9;
const OPTC_LTHRESHOLD: usize = 10;
const OPTC_MCAST: usize = 11;
const OPTC_TIMEOUT: usize = 12;
const OPTC_DAEMON: usize = 13;
const OPTC_STATS: usize = 14;
const OPTC_RATE: usize = 15;
const OPTC_THRESHOLDS: usize = 16;
const OPTC_PERSISTENTCONN: usize = 17;
const OPTC_NOSORT: usize = 18;
const OPTC_SYNCID: usize = 19;
const OPTC_EXACT: usize = 20;
const OPTC_ONEPACKET: usize = 21;
const OPTC_PE: usize = 22;
const OPTC_SCHED_FLAGS: usize = 23;
const OPTC_MCAST_GROUP: usize = 24;
const OPTC_MCAST_PORT: usize = 25;
const OPTC_MCAST_TTL: usize = 26;
const OPTC_SYNC_MAXLEN: usize = 27;
const OPTC_TUN_INFO: usize = 28;
const OPTC_TUN_TYPE: usize = 29;
const OPTC_TUN_PORT: usize = 30;
const OPTC_TUN_NOCSUM: usize = 31;
const OPTC_TUN_CSUM: usize = 32;
const OPTC_TUN_REMCSUM: usize = 33;

/// `commands_v_options`: per command, per option: `+` required, `x`
/// illegal, `1` at most one of the `1`s, blank optional.
const LEGAL: [&str; 14] = [
    "xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx", // add-service
    "xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx", // edit-service
    "xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // delete-service
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // flush
    " 11xxxxxxxxx11       xxxxxxx xxxxx", // list
    "xx+xxx+    xxxxxxxxxxxxxxxxxx     ", // add-server
    "xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx", // delete-server
    "xx+xxx+    xxxxxxxxxxxxxxxxxx     ", // edit-server
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // set
    "xxxxxxxxxxx xxxxxxx xxxx    xxxxxx", // start-daemon
    "xxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxx", // stop-daemon
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // restore
    " xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // save
    "xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // zero
];

const TUNNAMES: [&str; 3] = ["ipip", "gue", "gre"];
/// `tunnel_types_v_options`, columns tun-port, tun-nocsum, tun-csum, tun-remcsum.
const TUN_LEGAL: [&str; 3] = ["xxxx", "+111", "x11x"];
const TUNOPTS: [usize; 4] = [OPTC_TUN_PORT, OPTC_TUN_NOCSUM, OPTC_TUN_CSUM, OPTC_TUN_REMCSUM];

/// What popt returns for each option (ipvsadm's `val` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tag {
    Cmd(Cmd),
    Help,
    Version,
    Tcp,
    Udp,
    Sctp,
    Fwmark,
    Scheduler,
    Persistent,
    Netmask,
    Real,
    Masq,
    Ipip,
    Gate,
    Weight,
    UThreshold,
    LThreshold,
    Numeric,
    Connection,
    McastInterface,
    SyncId,
    Timeout,
    Daemon,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    NoSort,
    Sort,
    Exact,
    Ipv6,
    Ops,
    Pe,
    SchedFlags,
    McastGroup,
    McastPort,
    McastTtl,
    SyncMaxlen,
    TunInfo,
    TunType,
    TunPort,
    TunNoCsum,
    TunCsum,
    TunRemCsum,
    Json,
}

const fn o(long: &'static str, short: Option<char>, arg: ArgKind, tag: Tag) -> OptSpec<Tag> {
    OptSpec { long: Some(long), short, arg, tag }
}

use ArgKind::{None as N, Optional as Opt, Required as Req};

/// ipvsadm's popt table, in its order (the order decides which entry a
/// duplicated long name such as `list` finds), plus `--json`.
const TABLE: &[OptSpec<Tag>] = &[
    o("add-service", Some('A'), N, Tag::Cmd(Cmd::Add)),
    o("edit-service", Some('E'), N, Tag::Cmd(Cmd::Edit)),
    o("delete-service", Some('D'), N, Tag::Cmd(Cmd::Del)),
    o("clear", Some('C'), N, Tag::Cmd(Cmd::Flush)),
    o("list", Some('L'), N, Tag::Cmd(Cmd::List)),
    o("list", Some('l'), N, Tag::Cmd(Cmd::List)),
    o("zero", Some('Z'), N, Tag::Cmd(Cmd::Zero)),
    o("add-server", Some('a'), N, Tag::Cmd(Cmd::AddDest)),
    o("edit-server", Some('e'), N, Tag::Cmd(Cmd::EditDest)),
    o("delete-server", Some('d'), N, Tag::Cmd(Cmd::DelDest)),
    o("set", None, N, Tag::Cmd(Cmd::Timeout)),
    o("help", Some('h'), N, Tag::Help),
    o("version", Some('v'), N, Tag::Version),
    o("restore", Some('R'), N, Tag::Cmd(Cmd::Restore)),
    o("save", Some('S'), N, Tag::Cmd(Cmd::Save)),
    o("start-daemon", None, Req, Tag::Cmd(Cmd::StartDaemon)),
    o("stop-daemon", None, Req, Tag::Cmd(Cmd::StopDaemon)),
    o("tcp-service", Some('t'), Req, Tag::Tcp),
    o("udp-service", Some('u'), Req, Tag::Udp),
    o("sctp-service", None, Req, Tag::Sctp),
    o("fwmark-service", Some('f'), Req, Tag::Fwmark),
    o("scheduler", Some('s'), Req, Tag::Scheduler),
    o("persistent", Some('p'), Opt, Tag::Persistent),
    o("netmask", Some('M'), Req, Tag::Netmask),
    o("real-server", Some('r'), Req, Tag::Real),
    o("masquerading", Some('m'), N, Tag::Masq),
    o("ipip", Some('i'), N, Tag::Ipip),
    o("gatewaying", Some('g'), N, Tag::Gate),
    o("weight", Some('w'), Req, Tag::Weight),
    o("u-threshold", Some('x'), Req, Tag::UThreshold),
    o("l-threshold", Some('y'), Req, Tag::LThreshold),
    o("numeric", Some('n'), N, Tag::Numeric),
    o("connection", Some('c'), N, Tag::Connection),
    o("mcast-interface", None, Req, Tag::McastInterface),
    o("syncid", None, Req, Tag::SyncId),
    o("timeout", None, N, Tag::Timeout),
    o("daemon", None, N, Tag::Daemon),
    o("stats", None, N, Tag::Stats),
    o("rate", None, N, Tag::Rate),
    o("thresholds", None, N, Tag::Thresholds),
    o("persistent-conn", None, N, Tag::PersistentConn),
    o("nosort", None, N, Tag::NoSort),
    o("sort", None, N, Tag::Sort),
    o("exact", Some('X'), N, Tag::Exact),
    o("ipv6", Some('6'), N, Tag::Ipv6),
    o("ops", Some('o'), N, Tag::Ops),
    o("pe", None, Req, Tag::Pe),
    o("sched-flags", Some('b'), Req, Tag::SchedFlags),
    o("mcast-group", None, Req, Tag::McastGroup),
    o("mcast-port", None, Req, Tag::McastPort),
    o("mcast-ttl", None, Req, Tag::McastTtl),
    o("sync-maxlen", None, Req, Tag::SyncMaxlen),
    o("tun-info", None, N, Tag::TunInfo),
    o("tun-type", None, Req, Tag::TunType),
    o("tun-port", None, Req, Tag::TunPort),
    o("tun-nocsum", None, N, Tag::TunNoCsum),
    o("tun-csum", None, N, Tag::TunCsum),
    o("tun-remcsum", None, N, Tag::TunRemCsum),
    o("json", None, N, Tag::Json),
];

/// How listings are printed (ipvsadm's `FMT_*` bits, plus `--json`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Format {
    /// `-n`.
    pub numeric: bool,
    /// `-S`: rules instead of a table.
    pub rule: bool,
    /// `--stats`.
    pub stats: bool,
    /// `--rate`.
    pub rate: bool,
    /// `--thresholds`.
    pub thresholds: bool,
    /// `--persistent-conn`.
    pub persistent_conn: bool,
    /// `--nosort`.
    pub nosort: bool,
    /// `--exact`.
    pub exact: bool,
    /// `--tun-info`.
    pub tun_info: bool,
    /// `--json` (ipvsadm-rs only).
    pub json: bool,
}

/// What to do once the command line is understood.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // one per command line, never stored in bulk
pub enum Action {
    /// `-L -c`: the connection table.
    ListConns(Format),
    /// `-L -t|-u|-f service`.
    ListService(ServiceKey, Format),
    /// `-L --timeout`.
    ListTimeout(Format),
    /// `-L --daemon`.
    ListDaemon(Format),
    /// `-L` (or no argument at all).
    ListAll(Format),
    /// `-R`: run the lines of standard input.
    Restore,
    /// `-S`: the table as `-R` lines.
    Save(Format),
    /// A change to the table.
    Apply(Command),
}

/// The result of a successful parse.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // one per command line, never stored in bulk
pub enum Parsed {
    /// `-h` first: usage on standard output, exit 0.
    Help,
    /// `-v` first: the version line, exit 0.
    Version,
    /// Something to run.
    Run(Action),
}

/// How ipvsadm reacts to a bad command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CliError {
    /// No command first: `` Try `%s -h' or '%s --help' for more information.``,
    /// exit 255, even in the middle of `-R`.
    TryHelp,
    /// A popt error after the command: `"%s: %s"` (the word, popt's text).
    /// ipvsadm returns -1: exit 255, but `-R` goes on with the next line.
    Popt(String),
    /// `fail(2, ...)`: the message, exit 2, even in the middle of `-R`.
    Fail(String),
}

fn fail<T>(msg: impl Into<String>) -> Result<T, CliError> {
    Err(CliError::Fail(msg.into()))
}

/// ipvsadm's `ipvs_service_t` while it is being filled.
#[derive(Clone, Debug, Default)]
struct RawSvc {
    af: u16,
    protocol: u16,
    addr: [u8; 16],
    /// Host order.
    port: u16,
    fwmark: u32,
    sched_name: String,
    flags: u32,
    timeout: u32,
    /// IPv4: the mask bytes as they lie in memory; IPv6: the prefix length.
    netmask: u32,
    pe_name: String,
}

#[derive(Clone, Debug, Default)]
struct RawDest {
    af: u16,
    addr: [u8; 16],
    port: u16,
    conn_flags: u32,
    weight: u32,
    u_threshold: u32,
    l_threshold: u32,
    tun_type: u8,
    tun_port: u16,
    tun_flags: u16,
}

#[derive(Clone, Debug, Default)]
struct RawDaemon {
    state: u32,
    mcast_ifn: String,
    syncid: u32,
    sync_maxlen: u16,
    mcast_group: Option<IpAddr>,
    mcast_port: u16,
    mcast_ttl: u8,
}

#[derive(Debug)]
struct Entry {
    cmd: Cmd,
    svc: RawSvc,
    dest: RawDest,
    timeout: Timeouts,
    daemon: RawDaemon,
    options: u64,
    format: Format,
}

/// `strtol(s, &end, 10)` as ipvsadm's callers check it: the whole string
/// must be one number (leading blanks and a sign allowed); `None` otherwise
/// or on overflow.
fn strtol_strict(s: &str) -> Option<i64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v: i64 = 0;
    for b in digits.bytes() {
        v = v.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    Some(if neg { -v } else { v })
}

/// `atoi`: leading number, garbage after it ignored, 0 if none; glibc
/// computes it with `strtol` (saturating) and truncates to `int`.
fn atoi(s: &str) -> i32 {
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: i64 = 0;
    let mut saturated = false;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        match v.checked_mul(10).and_then(|x| x.checked_add(i64::from(b - b'0'))) {
            Some(x) => v = x,
            None => {
                saturated = true;
                break;
            }
        }
    }
    let v = match (saturated, neg) {
        (true, false) => i64::MAX,
        (true, true) => i64::MIN,
        (false, true) => -v,
        (false, false) => v,
    };
    v as i32
}

/// ipvsadm's `string_to_number`.
fn string_to_number(s: &str, min: i64, max: i64) -> Option<i64> {
    strtol_strict(s).filter(|n| (min..=max).contains(n))
}

fn parse_timeout(s: Option<&str>, min: i64, max: i64) -> Result<u32, CliError> {
    match s {
        None => Ok(DEFAULT_PERSISTENT_TIMEOUT),
        Some(s) => match string_to_number(s, min, max) {
            Some(n) => Ok(n as u32),
            None => fail(format!("invalid timeout value `{s}' specified")),
        },
    }
}

fn proto_name(p: u16) -> Option<&'static str> {
    match p {
        IPPROTO_TCP => Some("tcp"),
        IPPROTO_UDP => Some("udp"),
        IPPROTO_SCTP => Some("sctp"),
        _ => None,
    }
}

const SERVICE_ADDR: u8 = 1;
const SERVICE_PORT: u8 = 2;

/// ipvsadm's `parse_service`: `host[:port]`, `[v6]:port` or a bare IPv6
/// address; the port by number or by service name for `svc.protocol`.
fn parse_service(buf: &str, svc: &mut RawSvc, r: &dyn Resolver) -> u8 {
    if buf.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    let mut host = buf;
    let mut port: Option<&str> = None;
    if let Some(inner) = buf.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            return 0;
        };
        match inner[close + 1..].strip_prefix(':') {
            Some(p) => port = Some(p),
            None => return 0,
        }
        host = &inner[..close];
    }
    if let Some(a6) = r.inet_pton6(host) {
        svc.addr = a6;
        svc.af = AF_INET6;
        svc.netmask = 128;
    } else {
        // As in C, the last ':' splits host and port, and a bracketed
        // IPv4 address loses its port here.
        match host.rfind(':') {
            Some(i) => {
                port = Some(&host[i + 1..]);
                host = &host[..i];
            }
            None => port = None,
        }
        let v4 = r.inet_aton(host).or_else(|| r.host_v4(host));
        match v4 {
            Some(a) => {
                svc.addr = [0; 16];
                svc.addr[..4].copy_from_slice(&a);
                svc.af = AF_INET;
            }
            None => return 0,
        }
    }
    let mut result = SERVICE_ADDR;
    if let Some(p) = port {
        result |= SERVICE_PORT;
        if let Some(n) = string_to_number(p, 0, 65535) {
            svc.port = n as u16;
        } else if let Some(n) = proto_name(svc.protocol).and_then(|pr| r.service_port(p, pr)) {
            svc.port = n;
        } else {
            return 0;
        }
    }
    result
}

fn parse_fwmark(s: &str) -> Result<u32, CliError> {
    match strtol_strict(s) {
        Some(n) if n > 0 && n <= i64::from(u32::MAX) => Ok(n as u32),
        _ => fail(format!("invalid fwmark value `{s}' specified")),
    }
}

fn parse_sched_flags(sched: &str, arg: &str) -> Result<u32, CliError> {
    let sched = if sched.is_empty() { "wlc" } else { sched };
    let mut flags = 0;
    for flag in arg.split(',').filter(|f| !f.is_empty()) {
        let (bit, only_for) = match flag {
            "flag-1" => (SVC_F_SCHED1, None),
            "flag-2" => (SVC_F_SCHED2, None),
            "flag-3" => (SVC_F_SCHED3, None),
            "sh-fallback" => (SVC_F_SCHED1, Some("sh")),
            "sh-port" => (SVC_F_SCHED2, Some("sh")),
            "mh-fallback" => (SVC_F_SCHED1, Some("mh")),
            "mh-port" => (SVC_F_SCHED2, Some("mh")),
            _ => return fail(format!("invalid scheduler flag `{flag}'")),
        };
        flags |= bit;
        if only_for.is_some_and(|s| s != sched) {
            return fail(format!("incompatible scheduler flag `{flag}'"));
        }
    }
    Ok(flags)
}

/// C's `strncpy` into a buffer of `max` bytes plus NUL: at most `max` bytes.
fn truncated(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    String::from_utf8_lossy(&s.as_bytes()[..max]).into_owned()
}

fn set_option(options: &mut u64, optc: usize) -> Result<(), CliError> {
    let bit = 1u64 << optc;
    if *options & bit != 0 {
        return fail(format!("multiple '{}' options specified", OPTNAMES[optc]));
    }
    *options |= bit;
    Ok(())
}

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
        dest: RawDest { weight: 1, conn_flags: CONN_F_DROUTE, ..RawDest::default() },
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
                    Tag::Tcp => IPPROTO_TCP,
                    Tag::Udp => IPPROTO_UDP,
                    _ => IPPROTO_SCTP,
                };
                if parse_service(a, &mut ce.svc, r) & SERVICE_ADDR == 0 {
                    return fail("illegal virtual server address[:port] specified");
                }
            }
            Tag::Fwmark => {
                set_option(opts, OPTC_SERVICE)?;
                ce.svc.af = AF_INET;
                ce.svc.protocol = IPPROTO_TCP;
                ce.svc.fwmark = parse_fwmark(a)?;
            }
            Tag::Scheduler => {
                set_option(opts, OPTC_SCHEDULER)?;
                ce.svc.sched_name = truncated(a, 15);
            }
            Tag::Persistent => {
                set_option(opts, OPTC_PERSISTENT)?;
                ce.svc.flags |= SVC_F_PERSISTENT;
                ce.svc.timeout = parse_timeout(arg.as_deref(), 1, MAX_TIMEOUT)?;
            }
            Tag::Netmask => {
                set_option(opts, OPTC_NETMASK)?;
                if ce.svc.af != AF_INET6 {
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
                ce.dest.conn_flags = match tag {
                    Tag::Ipip => CONN_F_TUNNEL,
                    Tag::Gate => CONN_F_DROUTE,
                    _ => CONN_F_MASQ,
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
                    ce.svc.af = AF_INET6;
                    ce.svc.netmask = 128;
                } else {
                    return fail("-6 used before -f\n");
                }
            }
            Tag::Ops => {
                set_option(opts, OPTC_ONEPACKET)?;
                ce.svc.flags |= SVC_F_ONEPACKET;
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
        ce.svc.flags &= !(SVC_F_SCHED1 | SVC_F_SCHED2 | SVC_F_SCHED3);
        ce.svc.flags |= parse_sched_flags(&ce.svc.sched_name, &sched_flags_arg)?;
    }
    ce.format.json = json;
    process(ce).map(Parsed::Run)
}

fn generic_opt_check(cmd: Cmd, options: u64) -> Result<(), CliError> {
    let i = cmd as usize;
    let row = LEGAL[i].as_bytes();
    let mut last = 0;
    let mut count = 0;
    for (j, &rule) in row.iter().enumerate() {
        if options & (1u64 << j) == 0 {
            if rule == b'+' {
                return fail(format!(
                    "You need to supply the '{}' option for the '{}' command",
                    OPTNAMES[j], CMDNAMES[i]
                ));
            }
        } else {
            if rule == b'x' {
                return fail(format!(
                    "Illegal '{}' option with the '{}' command",
                    OPTNAMES[j], CMDNAMES[i]
                ));
            }
            if rule == b'1' {
                count += 1;
                if count == 1 {
                    last = j;
                    continue;
                }
                return fail(format!(
                    "The option '{}' conflicts with the '{}' option in the '{}' command",
                    OPTNAMES[j], OPTNAMES[last], CMDNAMES[i]
                ));
            }
        }
    }
    Ok(())
}

fn tunnel_opt_check(tun_type: u8, options: u64) -> Result<(), CliError> {
    let i = usize::from(tun_type);
    let row = TUN_LEGAL[i].as_bytes();
    let mut last = 0;
    let mut count = 0;
    for (j, &k) in TUNOPTS.iter().enumerate() {
        if options & (1u64 << k) == 0 {
            if row[j] == b'+' {
                return fail(format!(
                    "You need to supply the '{}' option for the '{}' tunnel type",
                    OPTNAMES[k], TUNNAMES[i]
                ));
            }
        } else {
            if row[j] == b'x' {
                return fail(format!(
                    "Illegal '{}' option with the '{}' tunnel type",
                    OPTNAMES[k], TUNNAMES[i]
                ));
            }
            if row[j] == b'1' {
                count += 1;
                if count == 1 {
                    last = k;
                    continue;
                }
                return fail(format!(
                    "The option '{}' conflicts with the '{}' option in the '{}' tunnel type",
                    OPTNAMES[k], OPTNAMES[last], TUNNAMES[i]
                ));
            }
        }
    }
    Ok(())
}

fn addr_of(af: u16, bytes: &[u8; 16]) -> IpAddr {
    if af == AF_INET6 {
        IpAddr::V6(Ipv6Addr::from(*bytes))
    } else {
        IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))
    }
}

fn service_key(s: &RawSvc) -> ServiceKey {
    if s.fwmark != 0 {
        let family = if s.af == AF_INET6 { ipvs::Family::Inet6 } else { ipvs::Family::Inet };
        return ServiceKey::Fwmark { family, mark: s.fwmark };
    }
    ServiceKey::Addr {
        protocol: Protocol::from_raw(s.protocol),
        addr: addr_of(s.af, &s.addr),
        port: s.port,
    }
}

fn service(s: &RawSvc) -> Service {
    let key = service_key(s);
    let netmask = if s.af == AF_INET6 {
        Netmask::V6Prefix(s.netmask)
    } else {
        Netmask::V4(Ipv4Addr::from(s.netmask.to_ne_bytes()))
    };
    let mut svc = Service::new(key);
    svc.scheduler = s.sched_name.clone();
    svc.flags = ServiceFlags(s.flags);
    svc.timeout = s.timeout;
    svc.netmask = netmask;
    svc.pe_name = (!s.pe_name.is_empty()).then(|| s.pe_name.clone());
    svc
}

fn dest(d: &RawDest) -> Dest {
    let mut out = Dest::new(addr_of(d.af, &d.addr), d.port);
    out.fwd = ForwardMethod::from_raw(d.conn_flags & 0x7);
    out.weight = d.weight;
    out.upper_threshold = d.u_threshold;
    out.lower_threshold = d.l_threshold;
    out.tunnel = Tunnel {
        kind: TunnelType::from_raw(d.tun_type),
        port: d.tun_port,
        csum: TunnelCsum::from_raw(d.tun_flags),
    };
    out
}

/// ipvsadm's `process_options` after parsing: the legality table and the
/// per-command checks, then the action.
fn process(mut ce: Entry) -> Result<Action, CliError> {
    generic_opt_check(ce.cmd, ce.options)?;
    let has = |optc: usize| ce.options & (1u64 << optc) != 0;
    if ce.format.json && ce.cmd != Cmd::List {
        return fail(format!(
            "Illegal 'json' option with the '{}' command",
            CMDNAMES[ce.cmd as usize]
        ));
    }
    if matches!(ce.cmd, Cmd::Add | Cmd::Edit) {
        if ce.svc.fwmark == 0 && ce.svc.port == 0 && ce.svc.flags & SVC_F_PERSISTENT == 0 {
            return fail("Zero port specified for non-persistent service");
        }
        if ce.svc.flags & SVC_F_ONEPACKET != 0
            && ce.svc.fwmark == 0
            && ce.svc.protocol != IPPROTO_UDP
        {
            return fail("One-Packet Scheduling is only for UDP virtual services");
        }
        if ce.svc.sched_name.is_empty() {
            ce.svc.sched_name = "wlc".to_string();
        }
    }
    if ce.cmd == Cmd::StartDaemon && ce.daemon.mcast_ifn.is_empty() {
        ce.daemon.mcast_ifn = "eth0".to_string();
    }
    let fwd = ce.dest.conn_flags & 0x7;
    if matches!(ce.cmd, Cmd::AddDest | Cmd::EditDest) {
        if ce.svc.fwmark == 0 && (fwd == CONN_F_TUNNEL || fwd == CONN_F_DROUTE) {
            ce.dest.port = ce.svc.port;
        }
        if ce.dest.af != ce.svc.af && fwd != CONN_F_TUNNEL {
            return fail("Different address family is allowed only for tunneling servers");
        }
        let tun_opts =
            [OPTC_TUN_TYPE, OPTC_TUN_PORT, OPTC_TUN_NOCSUM, OPTC_TUN_CSUM, OPTC_TUN_REMCSUM];
        if tun_opts.iter().any(|&o| has(o)) && fwd != CONN_F_TUNNEL {
            return fail("Tunnel options conflict with forward method");
        }
        tunnel_opt_check(ce.dest.tun_type, ce.options)?;
    }
    let key = service_key(&ce.svc);
    let action = match ce.cmd {
        Cmd::List => {
            if ((has(OPTC_CONNECTION) || has(OPTC_TIMEOUT) || has(OPTC_DAEMON))
                && (has(OPTC_STATS) || has(OPTC_RATE) || has(OPTC_THRESHOLDS)))
                || ((has(OPTC_TIMEOUT) || has(OPTC_DAEMON)) && has(OPTC_PERSISTENTCONN))
            {
                return fail("options conflicts in the list command");
            }
            if has(OPTC_CONNECTION) {
                Action::ListConns(ce.format)
            } else if has(OPTC_SERVICE) {
                Action::ListService(key, ce.format)
            } else if has(OPTC_TIMEOUT) {
                Action::ListTimeout(ce.format)
            } else if has(OPTC_DAEMON) {
                Action::ListDaemon(ce.format)
            } else {
                Action::ListAll(ce.format)
            }
        }
        Cmd::Restore => Action::Restore,
        Cmd::Save => Action::Save(Format { rule: true, ..ce.format }),
        Cmd::Flush => Action::Apply(Command::Flush),
        Cmd::Add => Action::Apply(Command::AddService(service(&ce.svc))),
        Cmd::Edit => Action::Apply(Command::EditService(service(&ce.svc))),
        Cmd::Del => Action::Apply(Command::DelService(key)),
        Cmd::Zero => {
            // libipvs sends no service (zero everything) when none was named.
            let none = ce.svc.fwmark == 0 && ce.svc.addr == [0; 16] && ce.svc.port == 0;
            Action::Apply(Command::Zero((!none).then_some(key)))
        }
        Cmd::AddDest => Action::Apply(Command::AddDest(key, dest(&ce.dest))),
        Cmd::EditDest => Action::Apply(Command::EditDest(key, dest(&ce.dest))),
        Cmd::DelDest => {
            let d = dest(&ce.dest);
            Action::Apply(Command::DelDest(key, DestKey { addr: d.addr, port: d.port }))
        }
        Cmd::Timeout => Action::Apply(Command::SetTimeouts(ce.timeout)),
        Cmd::StartDaemon => {
            let d = &ce.daemon;
            let mut cfg = DaemonConfig::new(DaemonState::from_raw(d.state), &d.mcast_ifn, d.syncid);
            cfg.maxlen = (d.sync_maxlen != 0).then_some(d.sync_maxlen);
            cfg.group = d.mcast_group;
            cfg.port = (d.mcast_port != 0).then_some(d.mcast_port);
            cfg.ttl = (d.mcast_ttl != 0).then_some(d.mcast_ttl);
            Action::Apply(Command::StartDaemon(cfg))
        }
        Cmd::StopDaemon => {
            Action::Apply(Command::StopDaemon(DaemonState::from_raw(ce.daemon.state)))
        }
    };
    Ok(action)
}

#[cfg(test)]
mod tests;
