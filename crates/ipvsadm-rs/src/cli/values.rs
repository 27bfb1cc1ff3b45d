//! The value readers of ipvsadm's command line, with the C library's
//! number rules (`strtol`, `atoi`) and ipvsadm's service, mark, timeout
//! and scheduler-flag parsers.

use ipvs::{Family, Protocol, ServiceFlags};

use super::record::RawSvc;
use super::{fail, CliError, DEFAULT_PERSISTENT_TIMEOUT};
use crate::resolve::Resolver;

/// `strtol(s, &end, 10)` as ipvsadm's callers check it: the whole string
/// must be one number (leading blanks and a sign allowed); `None` otherwise
/// or on overflow.
pub(super) fn strtol_strict(s: &str) -> Option<i64> {
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
pub(super) fn atoi(s: &str) -> i32 {
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
pub(super) fn string_to_number(s: &str, min: i64, max: i64) -> Option<i64> {
    strtol_strict(s).filter(|n| (min..=max).contains(n))
}

pub(super) fn parse_timeout(s: Option<&str>, min: i64, max: i64) -> Result<u32, CliError> {
    match s {
        None => Ok(DEFAULT_PERSISTENT_TIMEOUT),
        Some(s) => match string_to_number(s, min, max) {
            Some(n) => Ok(n as u32),
            None => fail(format!("invalid timeout value `{s}' specified")),
        },
    }
}

pub(super) fn proto_name(p: u16) -> Option<&'static str> {
    match Protocol::from_raw(p) {
        Protocol::Tcp => Some("tcp"),
        Protocol::Udp => Some("udp"),
        Protocol::Sctp => Some("sctp"),
        Protocol::Other(_) => None,
    }
}

pub(super) const SERVICE_ADDR: u8 = 1;
pub(super) const SERVICE_PORT: u8 = 2;

/// ipvsadm's `parse_service`: `host[:port]`, `[v6]:port` or a bare IPv6
/// address; the port by number or by service name for `svc.protocol`.
pub(super) fn parse_service(buf: &str, svc: &mut RawSvc, r: &dyn Resolver) -> u8 {
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
        svc.af = Family::Inet6.to_raw();
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
                svc.af = Family::Inet.to_raw();
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

pub(super) fn parse_fwmark(s: &str) -> Result<u32, CliError> {
    match strtol_strict(s) {
        Some(n) if n > 0 && n <= i64::from(u32::MAX) => Ok(n as u32),
        _ => fail(format!("invalid fwmark value `{s}' specified")),
    }
}

pub(super) fn parse_sched_flags(sched: &str, arg: &str) -> Result<u32, CliError> {
    let sched = if sched.is_empty() { "wlc" } else { sched };
    let mut flags = 0;
    for flag in arg.split(',').filter(|f| !f.is_empty()) {
        let (bit, only_for) = match flag {
            "flag-1" => (ServiceFlags::SCHED1.0, None),
            "flag-2" => (ServiceFlags::SCHED2.0, None),
            "flag-3" => (ServiceFlags::SCHED3.0, None),
            "sh-fallback" => (ServiceFlags::SCHED1.0, Some("sh")),
            "sh-port" => (ServiceFlags::SCHED2.0, Some("sh")),
            "mh-fallback" => (ServiceFlags::SCHED1.0, Some("mh")),
            "mh-port" => (ServiceFlags::SCHED2.0, Some("mh")),
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
pub(super) fn truncated(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    String::from_utf8_lossy(&s.as_bytes()[..max]).into_owned()
}
