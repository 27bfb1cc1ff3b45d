//! ipvsadm's option tables: popt's table (names, short letters,
//! arguments), the option and command names of its messages, and the
//! command × option and tunnel × option legality tables with their checks
//! (`generic_opt_check`, `tunnel_opt_check`).

use crate::popt::{ArgKind, OptSpec};

use super::{fail, CliError, Cmd};

pub(super) const CMDNAMES: [&str; 14] = [
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
pub(super) const OPTNAMES: [&str; 34] = [
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

pub(super) const OPTC_NUMERIC: usize = 0;
pub(super) const OPTC_CONNECTION: usize = 1;
pub(super) const OPTC_SERVICE: usize = 2;
pub(super) const OPTC_SCHEDULER: usize = 3;
pub(super) const OPTC_PERSISTENT: usize = 4;
pub(super) const OPTC_NETMASK: usize = 5;
pub(super) const OPTC_SERVER: usize = 6;
pub(super) const OPTC_FORWARD: usize = 7;
pub(super) const OPTC_WEIGHT: usize = 8;
pub(super) const OPTC_UTHRESHOLD: usize = 9;
pub(super) const OPTC_LTHRESHOLD: usize = 10;
pub(super) const OPTC_MCAST: usize = 11;
pub(super) const OPTC_TIMEOUT: usize = 12;
pub(super) const OPTC_DAEMON: usize = 13;
pub(super) const OPTC_STATS: usize = 14;
pub(super) const OPTC_RATE: usize = 15;
pub(super) const OPTC_THRESHOLDS: usize = 16;
pub(super) const OPTC_PERSISTENTCONN: usize = 17;
pub(super) const OPTC_NOSORT: usize = 18;
pub(super) const OPTC_SYNCID: usize = 19;
pub(super) const OPTC_EXACT: usize = 20;
pub(super) const OPTC_ONEPACKET: usize = 21;
pub(super) const OPTC_PE: usize = 22;
pub(super) const OPTC_SCHED_FLAGS: usize = 23;
pub(super) const OPTC_MCAST_GROUP: usize = 24;
pub(super) const OPTC_MCAST_PORT: usize = 25;
pub(super) const OPTC_MCAST_TTL: usize = 26;
pub(super) const OPTC_SYNC_MAXLEN: usize = 27;
pub(super) const OPTC_TUN_INFO: usize = 28;
pub(super) const OPTC_TUN_TYPE: usize = 29;
pub(super) const OPTC_TUN_PORT: usize = 30;
pub(super) const OPTC_TUN_NOCSUM: usize = 31;
pub(super) const OPTC_TUN_CSUM: usize = 32;
pub(super) const OPTC_TUN_REMCSUM: usize = 33;

/// `commands_v_options`: per command, per option: `+` required, `x`
/// illegal, `1` at most one of the `1`s, blank optional.
pub(super) const LEGAL: [&str; 14] = [
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

pub(super) const TUNNAMES: [&str; 3] = ["ipip", "gue", "gre"];
/// `tunnel_types_v_options`, columns tun-port, tun-nocsum, tun-csum, tun-remcsum.
pub(super) const TUN_LEGAL: [&str; 3] = ["xxxx", "+111", "x11x"];
pub(super) const TUNOPTS: [usize; 4] =
    [OPTC_TUN_PORT, OPTC_TUN_NOCSUM, OPTC_TUN_CSUM, OPTC_TUN_REMCSUM];

/// What popt returns for each option (ipvsadm's `val` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tag {
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

pub(super) const fn o(
    long: &'static str,
    short: Option<char>,
    arg: ArgKind,
    tag: Tag,
) -> OptSpec<Tag> {
    OptSpec { long: Some(long), short, arg, tag }
}

use ArgKind::{None as N, Optional as Opt, Required as Req};

/// ipvsadm's popt table, in its order (the order decides which entry a
/// duplicated long name such as `list` finds), plus `--json`.
pub(super) const TABLE: &[OptSpec<Tag>] = &[
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

pub(super) fn set_option(options: &mut u64, optc: usize) -> Result<(), CliError> {
    let bit = 1u64 << optc;
    if *options & bit != 0 {
        return fail(format!("multiple '{}' options specified", OPTNAMES[optc]));
    }
    *options |= bit;
    Ok(())
}

/// One row of a legality table against the options given: `rules` pairs
/// each rule (`+` required, `x` illegal, `1` at most one of the `1`s) with
/// its `OPTC_*`; `what` names the row in the message ("the 'list'
/// command", "the 'gue' tunnel type").
fn check_row(
    rules: impl Iterator<Item = (u8, usize)>,
    options: u64,
    what: &str,
) -> Result<(), CliError> {
    let mut last = 0;
    let mut count = 0;
    for (rule, optc) in rules {
        if options & (1u64 << optc) == 0 {
            if rule == b'+' {
                return fail(format!(
                    "You need to supply the '{}' option for the {what}",
                    OPTNAMES[optc]
                ));
            }
        } else {
            if rule == b'x' {
                return fail(format!("Illegal '{}' option with the {what}", OPTNAMES[optc]));
            }
            if rule == b'1' {
                count += 1;
                if count == 1 {
                    last = optc;
                    continue;
                }
                return fail(format!(
                    "The option '{}' conflicts with the '{}' option in the {what}",
                    OPTNAMES[optc], OPTNAMES[last]
                ));
            }
        }
    }
    Ok(())
}

/// ipvsadm's `generic_opt_check`: the command × option table.
pub(super) fn generic_opt_check(cmd: Cmd, options: u64) -> Result<(), CliError> {
    let i = cmd as usize;
    let rules = LEGAL[i].bytes().zip(0..);
    check_row(rules, options, &format!("'{}' command", CMDNAMES[i]))
}

/// ipvsadm's `tunnel_opt_check`: the tunnel type × tunnel option table.
pub(super) fn tunnel_opt_check(tun_type: u8, options: u64) -> Result<(), CliError> {
    let i = usize::from(tun_type);
    let rules = TUN_LEGAL[i].bytes().zip(TUNOPTS);
    check_row(rules, options, &format!("'{}' tunnel type", TUNNAMES[i]))
}
