//! The C library calls ipvsadm makes for names and numbers, so that
//! ipvsadm-rs accepts and prints exactly what ipvsadm does with the same
//! NSS configuration (`/etc/hosts`, `/etc/services`, DNS).
//!
//! The only `unsafe` of the crate. These functions use the C library's
//! static result buffers, so callers must not use them from several threads
//! at once; ipvsadm-rs is single-threaded.

use std::ffi::{CStr, CString};
use std::net::IpAddr;

/// `inet_aton(3)`.
pub fn inet_aton(s: &str) -> Option<[u8; 4]> {
    let c = CString::new(s).ok()?;
    let mut out = libc::in_addr { s_addr: 0 };
    // SAFETY: `c` is a valid NUL-terminated string and `out` a valid
    // `in_addr` that inet_aton writes into.
    let ok = unsafe { inet_aton_c(c.as_ptr(), &mut out) };
    (ok != 0).then(|| out.s_addr.to_ne_bytes())
}

extern "C" {
    #[link_name = "inet_aton"]
    fn inet_aton_c(cp: *const libc::c_char, inp: *mut libc::in_addr) -> libc::c_int;
}

/// `inet_pton(AF_INET6, ..)`.
pub fn inet_pton6(s: &str) -> Option<[u8; 16]> {
    let c = CString::new(s).ok()?;
    let mut out = [0u8; 16];
    // SAFETY: `c` is NUL-terminated and `out` has room for an in6_addr (16 bytes).
    let rc = unsafe { inet_pton(libc::AF_INET6, c.as_ptr(), out.as_mut_ptr().cast()) };
    (rc > 0).then_some(out)
}

/// `gethostbyname(3)`, keeping only an IPv4 answer (ipvsadm's `host_to_addr`).
pub fn gethostbyname_v4(name: &str) -> Option<[u8; 4]> {
    let c = CString::new(name).ok()?;
    // SAFETY: `c` is NUL-terminated; the result points into libc's static
    // storage, which we read at once, before any other resolver call.
    unsafe {
        let h = gethostbyname(c.as_ptr());
        if h.is_null() {
            return None;
        }
        let h = &*h;
        if h.h_addrtype != libc::AF_INET || h.h_length != 4 || h.h_addr_list.is_null() {
            return None;
        }
        let first = *h.h_addr_list;
        if first.is_null() {
            return None;
        }
        let mut out = [0u8; 4];
        std::ptr::copy_nonoverlapping(first.cast::<u8>(), out.as_mut_ptr(), 4);
        Some(out)
    }
}

/// `gethostbyaddr(3)`'s official name.
pub fn gethostbyaddr(addr: &IpAddr) -> Option<String> {
    let (bytes, af): (Vec<u8>, libc::c_int) = match addr {
        IpAddr::V4(a) => (a.octets().to_vec(), libc::AF_INET),
        IpAddr::V6(a) => (a.octets().to_vec(), libc::AF_INET6),
    };
    // SAFETY: `bytes` is a valid buffer of the given length; the result is
    // read at once from libc's static storage.
    unsafe {
        let h = gethostbyaddr_c(bytes.as_ptr().cast(), bytes.len() as libc::socklen_t, af);
        if h.is_null() || (*h).h_name.is_null() {
            return None;
        }
        Some(CStr::from_ptr((*h).h_name).to_string_lossy().into_owned())
    }
}

/// `getservbyname(3)` as a host-order port.
pub fn getservbyname(name: &str, proto: &str) -> Option<u16> {
    let n = CString::new(name).ok()?;
    let p = CString::new(proto).ok()?;
    // SAFETY: both strings are NUL-terminated; the result is read at once.
    unsafe {
        let s = libc::getservbyname(n.as_ptr(), p.as_ptr());
        if s.is_null() {
            return None;
        }
        Some(u16::from_be((*s).s_port as u16))
    }
}

/// `getservbyport(3)`'s name for a host-order port.
pub fn getservbyport(port: u16, proto: &str) -> Option<String> {
    let p = CString::new(proto).ok()?;
    // SAFETY: `p` is NUL-terminated; the result is read at once.
    unsafe {
        let s = libc::getservbyport(i32::from(port.to_be()), p.as_ptr());
        if s.is_null() || (*s).s_name.is_null() {
            return None;
        }
        Some(CStr::from_ptr((*s).s_name).to_string_lossy().into_owned())
    }
}

extern "C" {
    fn inet_pton(af: libc::c_int, src: *const libc::c_char, dst: *mut libc::c_void) -> libc::c_int;
    fn gethostbyname(name: *const libc::c_char) -> *mut libc::hostent;
    #[link_name = "gethostbyaddr"]
    fn gethostbyaddr_c(
        addr: *const libc::c_void,
        len: libc::socklen_t,
        af: libc::c_int,
    ) -> *mut libc::hostent;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_conversions_follow_glibc() {
        assert_eq!(inet_aton("1.2.3.4"), Some([1, 2, 3, 4]));
        assert_eq!(inet_aton("10.1"), Some([10, 0, 0, 1]));
        assert_eq!(inet_aton("0x7f.1"), Some([127, 0, 0, 1]));
        assert_eq!(inet_aton("1.2.3.4.5"), None);
        assert_eq!(inet_aton("a.b"), None);
        assert_eq!(inet_pton6("::1").map(|a| a[15]), Some(1));
        assert_eq!(inet_pton6("1.2.3.4"), None);
        assert_eq!(getservbyname("http", "tcp").or(Some(80)), Some(80));
    }
}
