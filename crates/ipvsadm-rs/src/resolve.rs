//! Name and number conversions the way ipvsadm 1.31 does them with the C
//! library: `inet_aton`, `inet_pton`, `gethostbyname` (IPv4 only),
//! `getservbyname`, and for listings `gethostbyaddr`, `getservbyport` and
//! glibc's `inet_ntop` text.
//!
//! The parser and the formatters take a [`Resolver`], so they stay pure and
//! testable; [`SystemResolver`] is the real one (it calls the C library in
//! `sys`), and tests use fakes.

use std::net::{IpAddr, Ipv6Addr};

/// The look-ups ipvsadm makes. Numeric conversions are here too because
/// glibc's `inet_aton` accepts forms (`10.1`, `0x7f.1`, trailing blanks)
/// that Rust's parsers do not.
pub trait Resolver {
    /// `inet_aton`: the four address bytes, or `None`.
    fn inet_aton(&self, s: &str) -> Option<[u8; 4]>;
    /// `inet_pton(AF_INET6, ..)`.
    fn inet_pton6(&self, s: &str) -> Option<[u8; 16]>;
    /// `gethostbyname`, accepted only when it yields an IPv4 address.
    fn host_v4(&self, name: &str) -> Option<[u8; 4]>;
    /// `getservbyname(name, proto)` as a host-order port.
    fn service_port(&self, name: &str, proto: &str) -> Option<u16>;
    /// `gethostbyaddr`'s `h_name`.
    fn host_name(&self, addr: &IpAddr) -> Option<String>;
    /// `getservbyport(htons(port), proto)`'s `s_name`.
    fn service_name(&self, port: u16, proto: &str) -> Option<String>;
}

/// The C library's resolver (files, DNS, whatever NSS is configured for).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn inet_aton(&self, s: &str) -> Option<[u8; 4]> {
        crate::sys::inet_aton(s)
    }
    fn inet_pton6(&self, s: &str) -> Option<[u8; 16]> {
        crate::sys::inet_pton6(s)
    }
    fn host_v4(&self, name: &str) -> Option<[u8; 4]> {
        crate::sys::gethostbyname_v4(name)
    }
    fn service_port(&self, name: &str, proto: &str) -> Option<u16> {
        crate::sys::getservbyname(name, proto)
    }
    fn host_name(&self, addr: &IpAddr) -> Option<String> {
        crate::sys::gethostbyaddr(addr)
    }
    fn service_name(&self, port: u16, proto: &str) -> Option<String> {
        crate::sys::getservbyport(port, proto)
    }
}

/// glibc's `inet_ntop` for IPv6: the longest run (first on ties) of two or
/// more zero groups becomes `::`, and `::a.b.c.d` / `::ffff:a.b.c.d` keep
/// the dotted tail. Rust's `Display` differs for `::a.b.c.d`.
pub fn ntop6(a: &Ipv6Addr) -> String {
    let w = a.segments();
    let (mut best, mut best_len) = (None, 0usize);
    let mut i = 0;
    while i < 8 {
        if w[i] == 0 {
            let start = i;
            while i < 8 && w[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                best = Some(start);
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    if best_len < 2 {
        best = None;
    }
    let in_best = |i: usize| best.is_some_and(|b| i >= b && i < b + best_len);
    let mut out = String::new();
    for i in 0..8 {
        if in_best(i) {
            if best == Some(i) {
                out.push(':');
            }
            continue;
        }
        if i != 0 {
            out.push(':');
        }
        if i == 6 && best == Some(0) && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)) {
            let o = a.octets();
            out.push_str(&format!("{}.{}.{}.{}", o[12], o[13], o[14], o[15]));
            return out;
        }
        out.push_str(&format!("{:x}", w[i]));
    }
    if best.is_some_and(|b| b + best_len == 8) {
        out.push(':');
    }
    out
}

/// `inet_ntop` for either family.
pub fn ntop(a: &IpAddr) -> String {
    match a {
        IpAddr::V4(v) => v.to_string(),
        IpAddr::V6(v) => ntop6(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntop6_matches_glibc() {
        let cases = [
            ("::", "::"),
            ("::1", "::1"),
            ("::1.2.3.4", "::1.2.3.4"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("2001:db8::1", "2001:db8::1"),
            ("2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"),
            ("2001:0:0:1:0:0:1:1", "2001::1:0:0:1:1"),
            ("1:0:2:0:3:0:4:0", "1:0:2:0:3:0:4:0"),
            ("fe80::", "fe80::"),
            ("::2", "::2"),
            ("0:0:0:0:0:1:0:0", "::1:0:0"),
        ];
        for (input, want) in cases {
            let a: Ipv6Addr = input.parse().unwrap();
            assert_eq!(ntop6(&a), want, "{input}");
        }
    }
}
