//! The sort order of ipvsadm's listings, reproduced exactly.
//!
//! libipvs sorts with `qsort` and comparators that subtract unsigned
//! values into an `int` (`ntohl(a) - ntohl(b)`), so addresses 2^31 or more
//! apart compare "backwards" and the order is not even transitive. glibc's
//! `qsort` is a top-down merge sort; running the same merge sort with the
//! same comparator gives the same order whatever the comparator does.

use std::net::IpAddr;

use ipvs::{Dest, Service, ServiceKey};

/// glibc's `msort_with_tmp`: split at `n / 2`, sort both halves, merge
/// taking from the left while `cmp(left, right) <= 0`.
pub fn glibc_msort<T: Clone>(v: &mut [T], cmp: &dyn Fn(&T, &T) -> i32) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    glibc_msort(&mut v[..n1], cmp);
    glibc_msort(&mut v[n1..], cmp);
    let mut tmp = Vec::with_capacity(n);
    let (mut i, mut j) = (0, n1);
    while i < n1 && j < n {
        if cmp(&v[i], &v[j]) <= 0 {
            tmp.push(v[i].clone());
            i += 1;
        } else {
            tmp.push(v[j].clone());
            j += 1;
        }
    }
    tmp.extend_from_slice(&v[i..n1]);
    tmp.extend_from_slice(&v[j..n]);
    v.clone_from_slice(&tmp);
}

/// An address as the four host-order words of `union nf_inet_addr`
/// (an IPv4 address fills the first word, the rest is zero).
fn words(a: &IpAddr) -> [u32; 4] {
    match a {
        IpAddr::V4(v) => [u32::from(*v), 0, 0, 0],
        IpAddr::V6(v) => {
            let o = v.octets();
            let w = |i: usize| u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]]);
            [w(0), w(4), w(8), w(12)]
        }
    }
}

/// `int` difference of two unsigned values, as C computes it.
fn diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// libipvs `ipvs_cmp_dests`-style address comparison: four words when the
/// left one is IPv6, else the first word only.
fn cmp_addr(a: &IpAddr, b: &IpAddr) -> i32 {
    let (wa, wb) = (words(a), words(b));
    if a.is_ipv6() {
        let mut r = 0;
        for i in 0..4 {
            r = diff(wa[i], wb[i]);
            if r != 0 {
                break;
            }
        }
        r
    } else {
        diff(wa[0], wb[0])
    }
}

/// The fields libipvs compares: fwmark, af, protocol, address, port.
fn service_fields(k: &ServiceKey) -> (u32, u16, u16, IpAddr, u16) {
    let af = k.family().to_raw();
    match k {
        ServiceKey::Fwmark { mark, family } => {
            let zero = match family {
                ipvs::Family::Inet => IpAddr::from([0u8; 4]),
                ipvs::Family::Inet6 => IpAddr::from([0u8; 16]),
            };
            (*mark, af, 0, zero, 0)
        }
        ServiceKey::Addr { protocol, addr, port } => (0, af, protocol.to_raw(), *addr, *port),
    }
}

/// `ipvs_cmp_services`.
pub fn cmp_services(a: &Service, b: &Service) -> i32 {
    let (fa, afa, pa, aa, porta) = service_fields(&a.key);
    let (fb, afb, pb, ab, portb) = service_fields(&b.key);
    let r = diff(fa, fb);
    if r != 0 {
        return r;
    }
    let r = i32::from(afa) - i32::from(afb);
    if r != 0 {
        return r;
    }
    let r = i32::from(pa) - i32::from(pb);
    if r != 0 {
        return r;
    }
    // The service's own family decides how many words are compared.
    let r = if afa == ipvs::Family::Inet6.to_raw() {
        let (wa, wb) = (words(&aa), words(&ab));
        (0..4).map(|i| diff(wa[i], wb[i])).find(|&d| d != 0).unwrap_or(0)
    } else {
        diff(words(&aa)[0], words(&ab)[0])
    };
    if r != 0 {
        return r;
    }
    i32::from(porta) - i32::from(portb)
}

/// `ipvs_cmp_dests`.
pub fn cmp_dests(a: &Dest, b: &Dest) -> i32 {
    let r = cmp_addr(&a.addr, &b.addr);
    if r != 0 {
        return r;
    }
    i32::from(a.port) - i32::from(b.port)
}

/// The order glibc's `qsort` leaves `v` in under `cmp`, as indices (the
/// elements themselves are not moved while sorting).
pub fn glibc_order<T>(v: &[T], cmp: &dyn Fn(&T, &T) -> i32) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    glibc_msort(&mut idx, &|a: &usize, b: &usize| cmp(&v[*a], &v[*b]));
    idx
}

fn permute<T>(v: &mut Vec<T>, idx: &[usize]) {
    let mut slots: Vec<Option<T>> = v.drain(..).map(Some).collect();
    v.extend(idx.iter().filter_map(|&i| slots[i].take()));
}

/// Sort services as `ipvsadm -L` does.
pub fn sort_services(v: &mut Vec<Service>) {
    let idx = glibc_order(v, &cmp_services);
    permute(v, &idx);
}

/// Sort a service's destinations as `ipvsadm -L` does.
#[cfg(test)]
pub fn sort_dests(v: &mut Vec<Dest>) {
    let idx = glibc_order(v, &cmp_dests);
    permute(v, &idx);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v4;

    #[test]
    fn msort_is_stable_and_sorts() {
        let mut v = vec![(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e')];
        glibc_msort(&mut v, &|a: &(i32, char), b: &(i32, char)| a.0 - b.0);
        assert_eq!(v, [(1, 'b'), (1, 'e'), (2, 'd'), (3, 'a'), (3, 'c')]);
    }

    #[test]
    fn wrapping_comparison_like_libipvs() {
        // 200.0.0.1 - 10.0.0.1 overflows int: libipvs puts 200.0.0.1 first.
        let mut d = vec![Dest::new(v4(10, 0, 0, 1), 80), Dest::new(v4(200, 0, 0, 1), 80)];
        sort_dests(&mut d);
        assert_eq!(d[0].addr, v4(200, 0, 0, 1));
        let mut d = vec![
            Dest::new(v4(10, 0, 0, 2), 80),
            Dest::new(v4(10, 0, 0, 1), 81),
            Dest::new(v4(10, 0, 0, 1), 80),
        ];
        sort_dests(&mut d);
        let got: Vec<_> = d.iter().map(|d| (d.addr, d.port)).collect();
        assert_eq!(got, [(v4(10, 0, 0, 1), 80), (v4(10, 0, 0, 1), 81), (v4(10, 0, 0, 2), 80)]);
    }

    #[test]
    fn services_by_fwmark_af_protocol_address_port() {
        let mut s = vec![
            Service::new(ServiceKey::fwmark(ipvs::Family::Inet, 5)),
            Service::new(ServiceKey::udp(v4(1, 1, 1, 1), 53)),
            Service::new(ServiceKey::tcp("::1".parse().unwrap(), 80)),
            Service::new(ServiceKey::tcp(v4(1, 1, 1, 1), 80)),
            Service::new(ServiceKey::tcp(v4(1, 1, 1, 1), 22)),
        ];
        sort_services(&mut s);
        let keys: Vec<String> = s.iter().map(|s| s.key.to_string()).collect();
        assert_eq!(
            keys,
            ["TCP 1.1.1.1:22", "TCP 1.1.1.1:80", "UDP 1.1.1.1:53", "TCP [::1]:80", "FWM 5"]
        );
    }
}
