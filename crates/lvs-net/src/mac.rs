//! The Ethernet (MAC) address type, with the parsing piranha's `send_arp`
//! accepted: 12 hex digits, either bare or as six colon-separated pairs.

use std::fmt;
use std::str::FromStr;

/// A 48-bit Ethernet hardware address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// `ff:ff:ff:ff:ff:ff`, the Ethernet broadcast address.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    /// `00:00:00:00:00:00`, the "unknown" target hardware address of an ARP
    /// request (RFC 5227 §2.3).
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    /// The bytes in wire order.
    pub fn octets(self) -> [u8; 6] {
        self.0
    }

    /// The Ethernet address an IPv6 multicast group maps to (RFC 2464 §7):
    /// `33:33` followed by the low 32 bits of the group.
    pub fn ipv6_multicast(group: std::net::Ipv6Addr) -> MacAddr {
        let o = group.octets();
        MacAddr([0x33, 0x33, o[12], o[13], o[14], o[15]])
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5])
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A string that is not a MAC address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed MAC address {0:?}: expected 12 hex digits, bare or as xx:xx:xx:xx:xx:xx")]
pub struct ParseMacError(pub String);

impl FromStr for MacAddr {
    type Err = ParseMacError;

    /// Parses `001122aabbcc` or `00:11:22:aa:bb:cc` (either case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseMacError(s.to_string());
        let digits: String = if s.contains(':') {
            let groups: Vec<&str> = s.split(':').collect();
            if groups.len() != 6 || groups.iter().any(|g| g.len() != 2) {
                return Err(err());
            }
            groups.concat()
        } else {
            s.to_string()
        };
        if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(err());
        }
        let mut out = [0u8; 6];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).map_err(|_| err())?;
        }
        Ok(MacAddr(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_piranha_spellings() {
        let want = MacAddr([0x00, 0x11, 0x22, 0xaa, 0xbb, 0xcc]);
        assert_eq!("001122aabbcc".parse::<MacAddr>().unwrap(), want);
        assert_eq!("00:11:22:AA:BB:CC".parse::<MacAddr>().unwrap(), want);
        assert_eq!("ffffffffffff".parse::<MacAddr>().unwrap(), MacAddr::BROADCAST);
        assert_eq!(want.to_string(), "00:11:22:aa:bb:cc");
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "00112233445",
            "0011223344556",
            "00:11:22:33:44",
            "00:11:22:33:44:55:66",
            "0:11:22:33:44:55",
            "00:11:22:33:44:5g",
            "00-11-22-33-44-55",
            "+0112233445",
            "00:1122:33:44:55",
        ] {
            assert_eq!(bad.parse::<MacAddr>(), Err(ParseMacError(bad.to_string())), "{bad}");
        }
    }

    #[test]
    fn ipv6_multicast_mapping() {
        let all_nodes: std::net::Ipv6Addr = "ff02::1".parse().unwrap();
        assert_eq!(MacAddr::ipv6_multicast(all_nodes), MacAddr([0x33, 0x33, 0, 0, 0, 1]));
    }
}
