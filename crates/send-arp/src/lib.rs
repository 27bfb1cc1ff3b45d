//! `send_arp`: announce that addresses live at an interface's MAC address,
//! with gratuitous ARP (IPv4) or unsolicited Neighbour Advertisements (IPv6).
//!
//! Two command-line forms are accepted:
//! - piranha's `send_arp [-i DEV] SRC_IP SRC_HW TARG_IP TARG_HW` (reference
//!   `piranha.md` §2.5), which sends exactly the frame piranha sent;
//! - `send_arp -i DEV [-c COUNT] [-w SECONDS] [--request|--reply] ADDR...`,
//!   which reads the MAC from the interface and handles IPv6.
//!
//! [`parse_args`] validates the command line without touching the system;
//! [`run`] does the IO (through `lvs-net`).
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};
use std::time::Duration;

use lvs_net::frame::ArpFrame;
use lvs_net::{Announcer, ArpForm, MacAddr, Rtnl};

/// The full `--help` text.
pub const USAGE: &str = "\
send_arp: announce addresses with gratuitous ARP (IPv4) or unsolicited
Neighbour Advertisements (IPv6), so neighbours update their caches at once.

Usage:
  send_arp -i DEV [-c COUNT] [-w SECONDS] [--request|--reply] ADDR...
  send_arp [-i DEV] SRC_IP SRC_HW TARG_IP TARG_HW

The first form announces each ADDR from DEV's own MAC address: an IPv4
address gets a gratuitous ARP, an IPv6 address an unsolicited Neighbour
Advertisement to ff02::1 with the override flag.

The second is piranha's form: one ARP reply from SRC_HW to the Ethernet
address TARG_HW, with sender and target both SRC_HW/SRC_IP. TARG_IP is
accepted and ignored, as piranha did. DEV defaults to eth0; an alias
(eth0:1) sends on its base device. MAC addresses
are 12 hex digits, bare or as xx:xx:xx:xx:xx:xx; SRC_IP may be a host name.

Options:
  -i, --interface DEV    interface to send on
  -c, --count COUNT      send COUNT rounds (default 1)
  -w, --interval SECONDS wait between rounds (default 1, fractions allowed)
      --request          gratuitous ARP as a request (RFC 5227; default)
      --reply            gratuitous ARP as a reply
  -h, --help             show this help
  -V, --version          show the version

Exit status: 0 when every frame was sent, 1 on any error.
Needs CAP_NET_RAW (root).
";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `-h`/`--help`.
    Help,
    /// `-V`/`--version`.
    Version,
    /// Send announcements.
    Send(Request),
}

/// A validated sending request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// piranha's `send_arp [-i DEV] SRC_IP SRC_HW TARG_IP TARG_HW`.
    Piranha {
        /// Interface (default `eth0`).
        dev: String,
        /// Sender IPv4 address, or a host name resolved by [`run`].
        src_ip: String,
        /// Sender hardware address (Ethernet source, ARP sender and target).
        src_hw: MacAddr,
        /// Ethernet destination.
        targ_hw: MacAddr,
    },
    /// `send_arp -i DEV [-c COUNT] [-w SECONDS] [--request|--reply] ADDR...`.
    Modern {
        /// Interface.
        dev: String,
        /// Rounds to send (each round announces every address once).
        count: u32,
        /// Wait between rounds.
        interval: Duration,
        /// ARP form for IPv4 addresses.
        form: ArpForm,
        /// Addresses to announce.
        addrs: Vec<IpAddr>,
    },
}

impl Request {
    /// The interface the request sends on.
    pub fn dev(&self) -> &str {
        match self {
            Request::Piranha { dev, .. } | Request::Modern { dev, .. } => dev,
        }
    }
}

/// A command line that cannot be obeyed; nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    /// An address that is not an IP address (or, where allowed, a name).
    #[error("malformed address {0:?}")]
    Address(String),
    /// A MAC address that is not 12 hex digits.
    #[error(transparent)]
    Mac(#[from] lvs_net::ParseMacError),
    /// Anything else wrong with the arguments.
    #[error("{0}")]
    Other(String),
}

fn other(msg: impl Into<String>) -> UsageError {
    UsageError::Other(msg.into())
}

/// Parses the arguments (without the program name). Pure: no name
/// resolution, no interface lookup.
///
/// # Errors
/// [`UsageError`] naming the bad argument.
pub fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Command, UsageError> {
    use lexopt::prelude::*;

    let mut parser = lexopt::Parser::from_args(args);
    let (mut dev, mut count, mut interval, mut form) = (None, None, None, None);
    let mut positional = Vec::new();
    let text =
        |v: OsString| v.into_string().map_err(|v| other(format!("argument {v:?} is not UTF-8")));
    while let Some(arg) = parser.next().map_err(|e| other(e.to_string()))? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help),
            Short('V') | Long("version") => return Ok(Command::Version),
            Short('i') | Long("interface") => {
                let v = text(parser.value().map_err(|e| other(e.to_string()))?)?;
                if v.is_empty() || v.len() > lvs_net::rtnl::MAX_NAME_LEN || v.contains(['/', ' ']) {
                    return Err(other(format!("bad interface name {v:?}")));
                }
                // piranha's VIP devices carry an alias (eth0:1); frames go
                // out of the base device, as pulse arranged before exec.
                dev = Some(v.split(':').next().unwrap_or(&v).to_string());
            }
            Short('c') | Long("count") => {
                let v = text(parser.value().map_err(|e| other(e.to_string()))?)?;
                let n: u32 = v.parse().map_err(|_| other(format!("bad count {v:?}")))?;
                if n == 0 {
                    return Err(other("count must be at least 1"));
                }
                count = Some(n);
            }
            Short('w') | Long("interval") => {
                let v = text(parser.value().map_err(|e| other(e.to_string()))?)?;
                interval = Some(parse_interval(&v)?);
            }
            Long("request") | Long("reply") => {
                let f =
                    if matches!(arg, Long("reply")) { ArpForm::Reply } else { ArpForm::Request };
                if form.is_some_and(|old| old != f) {
                    return Err(other("--request and --reply exclude each other"));
                }
                form = Some(f);
            }
            Value(v) => positional.push(text(v)?),
            _ => return Err(other(arg.unexpected().to_string())),
        }
    }

    let modern_only = count.is_some() || interval.is_some() || form.is_some();
    let piranha = positional.len() == 4 && !modern_only && positional[1].parse::<IpAddr>().is_err();
    if piranha {
        let src_ip = positional[0].clone();
        check_ipv4_or_name(&src_ip)?;
        let src_hw = positional[1].parse()?;
        // piranha never reads TARG_IP; it is still checked for sanity.
        check_ipv4_or_name(&positional[2])?;
        let targ_hw = positional[3].parse()?;
        return Ok(Command::Send(Request::Piranha {
            dev: dev.unwrap_or_else(|| "eth0".to_string()),
            src_ip,
            src_hw,
            targ_hw,
        }));
    }
    let dev =
        dev.ok_or_else(|| other("missing -i DEV (needed unless using piranha's 4-argument form)"))?;
    if positional.is_empty() {
        return Err(other("no address to announce"));
    }
    let addrs = positional
        .iter()
        .map(|a| a.parse::<IpAddr>().map_err(|_| UsageError::Address(a.clone())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Command::Send(Request::Modern {
        dev,
        count: count.unwrap_or(1),
        interval: interval.unwrap_or(Duration::from_secs(1)),
        form: form.unwrap_or_default(),
        addrs,
    }))
}

fn parse_interval(v: &str) -> Result<Duration, UsageError> {
    let secs: f64 = v.parse().map_err(|_| other(format!("bad interval {v:?}")))?;
    if !(0.0..=3600.0).contains(&secs) {
        return Err(other(format!("interval {v:?} must be between 0 and 3600 seconds")));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// piranha accepted an IPv4 address or a host name. Something made only of
/// digits and dots must be a valid IPv4 address.
fn check_ipv4_or_name(s: &str) -> Result<(), UsageError> {
    if s.parse::<Ipv4Addr>().is_ok() {
        return Ok(());
    }
    let numeric = s.chars().all(|c| c.is_ascii_digit() || c == '.');
    let hostname = !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if numeric || !hostname {
        return Err(UsageError::Address(s.to_string()));
    }
    Ok(())
}

/// What went wrong while sending.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The interface, socket or kernel refused.
    #[error(transparent)]
    Net(#[from] lvs_net::Error),
    /// piranha's SRC_IP was a name that does not resolve to IPv4.
    #[error("cannot resolve {name} to an IPv4 address{detail}")]
    Resolve {
        /// The name.
        name: String,
        /// The resolver's reason, if any.
        detail: String,
    },
}

impl Error {
    /// True when the process lacks `CAP_NET_RAW`.
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, Error::Net(e) if e.is_permission_denied())
    }
}

/// Sends what `req` asks for; returns the number of frames sent.
///
/// # Errors
/// The interface is unknown or down, the process lacks privilege, a name
/// does not resolve, or the kernel refuses a frame.
pub fn run(req: &Request) -> Result<usize, Error> {
    let link = Rtnl::open()?.link(req.dev())?;
    match req {
        Request::Piranha { src_ip, src_hw, targ_hw, .. } => {
            let ip = resolve_ipv4(src_ip)?;
            let ann = Announcer::open(&link)?;
            ann.send_frame(&ArpFrame::piranha(*src_hw, ip, *targ_hw).encode())?;
            Ok(1)
        }
        Request::Modern { count, interval, form, addrs, .. } => {
            let ann = Announcer::open(&link)?;
            let mut sent = 0;
            for round in 0..*count {
                if round > 0 {
                    std::thread::sleep(*interval);
                }
                for addr in addrs {
                    ann.announce(*addr, *form)?;
                    sent += 1;
                }
            }
            Ok(sent)
        }
    }
}

fn resolve_ipv4(name: &str) -> Result<Ipv4Addr, Error> {
    if let Ok(ip) = name.parse() {
        return Ok(ip);
    }
    let fail = |detail: String| Error::Resolve { name: name.to_string(), detail };
    let addrs = (name, 0).to_socket_addrs().map_err(|e| fail(format!(": {e}")))?;
    addrs
        .filter_map(|a| match a.ip() {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        })
        .next()
        .ok_or_else(|| fail(String::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, UsageError> {
        parse_args(args.iter().map(OsString::from))
    }

    fn send(args: &[&str]) -> Request {
        match parse(args) {
            Ok(Command::Send(r)) => r,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn piranha_form() {
        let want = Request::Piranha {
            dev: "eth1".into(),
            src_ip: "192.168.10.200".into(),
            src_hw: "00:11:22:33:44:55".parse().unwrap(),
            targ_hw: MacAddr::BROADCAST,
        };
        // Exactly what pulse runs (piranha.md §3.5).
        let argv =
            ["-i", "eth1", "192.168.10.200", "001122334455", "192.168.10.255", "ffffffffffff"];
        assert_eq!(send(&argv), want);
        let colons =
            ["-i", "eth1:1", "192.168.10.200", "00:11:22:33:44:55", "x", "ff:ff:ff:ff:ff:ff"];
        assert_eq!(send(&colons), want);
        // -i defaults to eth0; names are allowed for SRC_IP.
        let r = send(&["vip.example", "001122334455", "10.0.0.255", "ffffffffffff"]);
        assert!(matches!(r, Request::Piranha { ref dev, ref src_ip, .. }
            if dev == "eth0" && src_ip == "vip.example"));
    }

    #[test]
    fn modern_form() {
        let r =
            send(&["-i", "eth0", "-c", "3", "-w", "0.25", "--reply", "10.0.0.1", "2001:db8::1"]);
        assert_eq!(
            r,
            Request::Modern {
                dev: "eth0".into(),
                count: 3,
                interval: Duration::from_millis(250),
                form: ArpForm::Reply,
                addrs: vec!["10.0.0.1".parse().unwrap(), "2001:db8::1".parse().unwrap()],
            }
        );
        let r = send(&["--interface=eth0", "10.0.0.1"]);
        assert!(matches!(r, Request::Modern { count: 1, form: ArpForm::Request, .. }));
        // Four IP addresses are the modern form, not piranha's.
        let r = send(&["-i", "eth0", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]);
        assert!(matches!(r, Request::Modern { ref addrs, .. } if addrs.len() == 4));
    }

    #[test]
    fn help_and_version_win() {
        assert_eq!(parse(&["-h"]), Ok(Command::Help));
        assert_eq!(parse(&["-i", "eth0", "--help", "bogus"]), Ok(Command::Help));
        assert_eq!(parse(&["--version"]), Ok(Command::Version));
    }

    #[test]
    fn errors_name_the_offending_value() {
        let err = |args: &[&str]| parse(args).unwrap_err().to_string();
        assert_eq!(err(&["-i", "eth0", "10.0.0.300"]), "malformed address \"10.0.0.300\"");
        assert_eq!(err(&["-i", "eth0", "10.0.0.1", "vip"]), "malformed address \"vip\"");
        assert!(err(&[
            "-i",
            "eth0",
            "10.0.0.1",
            "00:11:22:33:44:5g",
            "10.0.0.255",
            "ffffffffffff"
        ])
        .contains("malformed MAC address \"00:11:22:33:44:5g\""));
        assert!(err(&["10.0.0.1", "001122334455", "10.0.0.255", "fffffffffff"])
            .contains("\"fffffffffff\""));
        assert_eq!(
            err(&["10.0.0.300", "001122334455", "10.0.0.255", "ffffffffffff"]),
            "malformed address \"10.0.0.300\""
        );
        assert_eq!(
            err(&["2001:db8::1", "001122334455", "10.0.0.255", "ffffffffffff"]),
            "malformed address \"2001:db8::1\""
        );
        assert!(err(&["10.0.0.1"]).contains("missing -i DEV"));
        assert_eq!(err(&["-i", "eth0"]), "no address to announce");
        assert_eq!(err(&["-i", "eth0", "-c", "0", "10.0.0.1"]), "count must be at least 1");
        assert!(err(&["-i", "eth0", "-c", "x", "10.0.0.1"]).contains("bad count \"x\""));
        assert!(err(&["-i", "eth0", "-w", "-1", "10.0.0.1"]).contains("between 0 and 3600"));
        assert!(err(&["-i", "eth0", "-w", "nan", "10.0.0.1"]).contains("\"nan\""));
        assert!(err(&["-i", "eth0", "--request", "--reply", "10.0.0.1"]).contains("exclude"));
        assert!(err(&["-i", "eth0", "--bogus", "10.0.0.1"]).contains("--bogus"));
        assert!(err(&["-i", "a/b", "10.0.0.1"]).contains("bad interface name"));
        assert!(err(&["-i"]).contains("-i"));
    }
}
