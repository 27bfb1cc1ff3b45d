//! Scalar value parsers shared by the two front ends: addresses, netmasks,
//! ports and service names, interface names, scheduler flags, escapes.
//!
//! Every function is pure and returns a plain lowercase message on failure.
//! Host names are never resolved: this crate does no IO.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::model::{ForwardMethod, LoadMonitor, Protocol, SchedulerFlag};

/// Names of the forwarding methods, as both formats spell them.
pub(crate) const FORWARD: &[(&str, ForwardMethod)] = &[
    ("nat", ForwardMethod::Nat),
    ("direct", ForwardMethod::Direct),
    ("tunnel", ForwardMethod::Tunnel),
];
/// Names of the protocols, as both formats spell them.
pub(crate) const PROTOCOLS: &[(&str, Protocol)] =
    &[("tcp", Protocol::Tcp), ("udp", Protocol::Udp), ("sctp", Protocol::Sctp)];
/// Names of the load monitors, as both formats spell them.
pub(crate) const LOAD: &[(&str, LoadMonitor)] = &[
    ("none", LoadMonitor::None),
    ("uptime", LoadMonitor::Uptime),
    ("rup", LoadMonitor::Rup),
    ("ruptime", LoadMonitor::Ruptime),
];

/// ` (did you mean `x`?)` when one of `known` is within two edits of
/// `unknown`, otherwise nothing.
pub(crate) fn did_you_mean<'a>(unknown: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    let best = known
        .into_iter()
        .map(|k| (edit_distance(unknown, k), k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d);
    match best {
        Some((_, k)) => format!(" (did you mean `{k}`?)"),
        None => String::new(),
    }
}

/// Levenshtein distance, for short keys only.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(64).collect();
    let b: Vec<char> = b.chars().take(64).collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != cb);
            cur[j + 1] = subst.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Parses an IPv4 or IPv6 address.
pub(crate) fn ip(text: &str) -> Result<IpAddr, String> {
    text.parse::<IpAddr>().map_err(|_| {
        if text.is_empty() {
            "expected an ip address, found nothing".to_owned()
        } else if text.bytes().any(|b| b.is_ascii_alphabetic()) && !text.contains(':') {
            format!("invalid ip address `{text}` (host names are not resolved: write the address)")
        } else {
            format!("invalid ip address `{text}`")
        }
    })
}

/// Parses an IPv4 dotted-quad netmask into a prefix length.
pub(crate) fn dotted_mask(text: &str) -> Result<u8, String> {
    let mask: Ipv4Addr =
        text.parse().map_err(|_| format!("invalid netmask `{text}` (expected a dotted quad)"))?;
    let bits = u32::from(mask);
    let prefix = bits.leading_ones();
    if bits.checked_shl(prefix).unwrap_or(0) != 0 {
        return Err(format!("netmask `{text}` is not contiguous"));
    }
    // leading_ones is at most 32, so the cast cannot truncate.
    Ok(prefix as u8)
}

/// Parses a netmask given as a prefix length (`24`, `/24`) or, for IPv4, a
/// dotted quad. `v6` says which family the mask applies to, if known.
pub(crate) fn netmask(text: &str, v6: Option<bool>) -> Result<u8, String> {
    let t = text.strip_prefix('/').unwrap_or(text);
    if t.contains('.') {
        if v6 == Some(true) {
            return Err(format!(
                "netmask `{text}` is a dotted quad but the address is ipv6: write a prefix length (1-128)"
            ));
        }
        return dotted_mask(t);
    }
    let max = if v6 == Some(true) {
        128
    } else if v6 == Some(false) {
        32
    } else {
        128
    };
    match t.parse::<u8>() {
        Ok(p) if p <= max => Ok(p),
        _ => Err(format!("invalid netmask `{text}` (expected a prefix length 0-{max})")),
    }
}

/// Well-known service names accepted where piranha reads `/etc/services`.
/// The file itself is not read, so results do not depend on the host.
pub const SERVICE_NAMES: &[(&str, u16)] = &[
    ("ftp-data", 20),
    ("ftp", 21),
    ("ssh", 22),
    ("telnet", 23),
    ("smtp", 25),
    ("domain", 53),
    ("dns", 53),
    ("gopher", 70),
    ("finger", 79),
    ("http", 80),
    ("www", 80),
    ("pop3", 110),
    ("nntp", 119),
    ("ntp", 123),
    ("imap", 143),
    ("imap2", 143),
    ("snmp", 161),
    ("ldap", 389),
    ("https", 443),
    ("smtps", 465),
    ("submission", 587),
    ("ldaps", 636),
    ("pulse", 539),
    ("imaps", 993),
    ("pop3s", 995),
    ("mysql", 3306),
    ("postgresql", 5432),
    ("http-alt", 8080),
];

/// Parses a port number or a well-known service name.
pub(crate) fn port(text: &str) -> Result<u16, String> {
    if let Some(n) = int(text) {
        return u16::try_from(n).map_err(|_| format!("port `{text}` is out of range (0-65535)"));
    }
    SERVICE_NAMES
        .iter()
        .find(|(name, _)| *name == text)
        .map(|(_, p)| *p)
        .ok_or_else(|| format!("invalid port `{text}` (a number, or a well-known service name)"))
}

/// Parses a decimal integer (no sign, no leading `+`).
pub(crate) fn int(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Parses an integer as C's `strtol(s, 0)` does: decimal, `0x` hex or
/// leading-`0` octal, with an optional sign.
pub(crate) fn c_int(text: &str) -> Option<i64> {
    let (neg, t) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        if h.is_empty() || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        i64::from_str_radix(h, 16).ok()?
    } else if t.len() > 1 && t.starts_with('0') {
        if !t.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            return None;
        }
        i64::from_str_radix(t, 8).ok()?
    } else {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

/// The one rule for names and commands, applied by the validator to what
/// either front end read: a value is not blank (white space only, as
/// Unicode counts it: no-break space, U+2028, vertical tab...) and holds no
/// C0 control character or DEL. An empty value is each front end's own
/// matter (a missing or empty key), so it passes here.
pub(crate) fn name_or_command(what: &str, s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    if s.chars().all(char::is_whitespace) {
        return Err(format!("{what} is blank (only white space)"));
    }
    if let Some(c) = s.chars().find(char::is_ascii_control) {
        return Err(format!("{what} contains the control character U+{:04X}", u32::from(c)));
    }
    Ok(())
}

/// Checks an interface name or IPv4 alias label (`eth0`, `eth0:1`).
pub(crate) fn ifname(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("interface name is empty".to_owned());
    }
    if name.len() > 15 {
        return Err(format!("interface name `{name}` is longer than 15 bytes"));
    }
    if name == "."
        || name == ".."
        || name.chars().any(|c| c == '/' || c.is_whitespace() || c.is_control())
    {
        return Err(format!("invalid interface name `{name}`"));
    }
    Ok(())
}

/// Parses a scheduler flag, generic (`flag-1`) or scheduler-specific
/// (`sh-fallback`), checking the latter against the scheduler.
pub(crate) fn sched_flag(name: &str, scheduler: &str) -> Result<SchedulerFlag, String> {
    let (flag, only) = match name {
        "flag-1" => (SchedulerFlag::Flag1, None),
        "flag-2" => (SchedulerFlag::Flag2, None),
        "flag-3" => (SchedulerFlag::Flag3, None),
        "sh-fallback" => (SchedulerFlag::Flag1, Some("sh")),
        "sh-port" => (SchedulerFlag::Flag2, Some("sh")),
        "mh-fallback" => (SchedulerFlag::Flag1, Some("mh")),
        "mh-port" => (SchedulerFlag::Flag2, Some("mh")),
        _ => {
            return Err(format!(
                "invalid scheduler flag `{name}` (flag-1, flag-2, flag-3, sh-fallback, sh-port, mh-fallback, mh-port)"
            ))
        }
    };
    match only {
        Some(s) if s != scheduler => {
            Err(format!("scheduler flag `{name}` needs scheduler `{s}`, not `{scheduler}`"))
        }
        _ => Ok(flag),
    }
}

/// Parses `ADDR`, `ADDR:PORT` (IPv4) or `[ADDR]:PORT` (IPv6), with
/// `default_port` when no port is given.
pub(crate) fn socket_addr(text: &str, default_port: u16) -> Result<SocketAddr, String> {
    if let Ok(a) = text.parse::<SocketAddr>() {
        return Ok(a);
    }
    if let Ok(a) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(a, default_port));
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        if let Ok(a) = inner.parse::<IpAddr>() {
            return Ok(SocketAddr::new(a, default_port));
        }
    }
    Err(format!("invalid address `{text}` (expected ADDR, ADDR:PORT or [ADDR]:PORT)"))
}

/// Translates nanny's escapes `\n \r \t \\ \' \"`; any other backslash is
/// kept as it is, as nanny does.
pub(crate) fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some('\'') => out.push('\''),
            Some('"') => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(netmask("255.255.255.0", Some(false)), Ok(24));
        assert_eq!(netmask("/64", Some(true)), Ok(64));
        assert!(netmask("255.0.255.0", Some(false)).is_err());
        assert!(netmask("255.255.255.0", Some(true)).unwrap_err().contains("ipv6"));
        assert!(netmask("33", Some(false)).is_err());
    }

    #[test]
    fn c_ints() {
        assert_eq!(c_int("0x10"), Some(16));
        assert_eq!(c_int("010"), Some(8));
        assert_eq!(c_int("-5"), Some(-5));
        assert_eq!(c_int("08"), None);
        assert_eq!(c_int(""), None);
        assert_eq!(c_int("0"), Some(0));
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape(r"GET / HTTP/1.0\r\n\r\n"), "GET / HTTP/1.0\r\n\r\n");
        assert_eq!(unescape(r"a\qb\"), "a\\qb\\");
    }

    #[test]
    fn ports() {
        assert_eq!(port("http"), Ok(80));
        assert_eq!(port("539"), Ok(539));
        assert!(port("65536").is_err());
        assert!(port("nosuch").is_err());
    }
}
