//! ICMP and ICMPv6 echo messages (RFC 792, RFC 4443): a pure encoder and
//! decoder for the `ping` check. The socket side is in [`crate::ping`].
//!
//! What the kernel hands over differs by socket: a raw IPv4 socket delivers
//! the IP header too; raw ICMPv6 and unprivileged (`SOCK_DGRAM`) sockets
//! deliver the ICMP message alone. The ICMPv6 checksum covers a pseudo
//! header only the kernel knows, so the kernel fills it on send and checks
//! it on receive (RFC 3542 §3.1); the ICMPv4 checksum is ours both ways.

/// The address family of an echo exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// ICMP over IPv4.
    V4,
    /// ICMPv6.
    V6,
}

/// The fixed payload of our echo requests: a reply must carry it back,
/// which tells our replies from those to another pinger with the same id.
pub const PAYLOAD: &[u8; 16] = b"lvs-router nanny";

const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;
/// Type, code, checksum, identifier, sequence number.
const HEADER: usize = 8;

/// An echo reply that parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// Identifier (rewritten by the kernel on unprivileged sockets).
    pub id: u16,
    /// Sequence number.
    pub seq: u16,
    /// The payload came back unchanged.
    pub ours: bool,
}

/// Why a received datagram is not an echo reply we can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// Shorter than its headers say.
    #[error("truncated")]
    Truncated,
    /// Not an IPv4 packet carrying ICMP (raw IPv4 sockets).
    #[error("not an IPv4 ICMP packet")]
    NotIcmp,
    /// An ICMP message of another type (an echo request, an error...).
    #[error("ICMP type {0}, not an echo reply")]
    OtherType(u8),
    /// The ICMPv4 checksum does not add up.
    #[error("bad checksum")]
    Checksum,
}

/// The Internet checksum (RFC 1071) of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    // The loop leaves at most 16 bits.
    !(sum as u16)
}

/// An echo request carrying [`PAYLOAD`]. The ICMPv6 checksum is left 0 for
/// the kernel to fill.
pub fn request(family: Family, id: u16, seq: u16) -> Vec<u8> {
    let kind = match family {
        Family::V4 => ECHO_REQUEST_V4,
        Family::V6 => ECHO_REQUEST_V6,
    };
    let mut m = Vec::with_capacity(HEADER + PAYLOAD.len());
    m.extend_from_slice(&[kind, 0, 0, 0]);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(PAYLOAD);
    if family == Family::V4 {
        let c = checksum(&m);
        m[2..4].copy_from_slice(&c.to_be_bytes());
    }
    m
}

/// Parses what a socket received. `ip_header`: the datagram starts with
/// the IPv4 header (raw IPv4 sockets).
pub fn parse_reply(family: Family, buf: &[u8], ip_header: bool) -> Result<Reply, Malformed> {
    let msg = if ip_header {
        let first = *buf.first().ok_or(Malformed::Truncated)?;
        let ihl = usize::from(first & 0x0f) * 4;
        if first >> 4 != 4 || ihl < 20 {
            return Err(Malformed::NotIcmp);
        }
        if buf.len() < ihl {
            return Err(Malformed::Truncated);
        }
        if buf[9] != 1 {
            return Err(Malformed::NotIcmp);
        }
        &buf[ihl..]
    } else {
        buf
    };
    if msg.len() < HEADER {
        return Err(Malformed::Truncated);
    }
    let want = match family {
        Family::V4 => ECHO_REPLY_V4,
        Family::V6 => ECHO_REPLY_V6,
    };
    if msg[0] != want {
        return Err(Malformed::OtherType(msg[0]));
    }
    if family == Family::V4 && checksum(msg) != 0 {
        return Err(Malformed::Checksum);
    }
    Ok(Reply {
        id: u16::from_be_bytes([msg[4], msg[5]]),
        seq: u16::from_be_bytes([msg[6], msg[7]]),
        ours: &msg[HEADER..] == PAYLOAD,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The reply a host makes of a request: type changed, checksum fixed.
    fn echo_back(family: Family, req: &[u8]) -> Vec<u8> {
        let mut r = req.to_vec();
        r[0] = if family == Family::V4 { ECHO_REPLY_V4 } else { ECHO_REPLY_V6 };
        r[2] = 0;
        r[3] = 0;
        if family == Family::V4 {
            let c = checksum(&r);
            r[2..4].copy_from_slice(&c.to_be_bytes());
        }
        r
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the one's complement sum of these words is 0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&data), !0xddf2);
        // An odd length pads with a zero byte.
        assert_eq!(checksum(&[0x12]), !0x1200);
        assert_eq!(checksum(&[]), 0xffff);
    }

    #[test]
    fn ipv4_request_bytes() {
        let m = request(Family::V4, 0x1234, 7);
        assert_eq!(&m[..2], &[8, 0]);
        assert_eq!(&m[4..8], &[0x12, 0x34, 0, 7]);
        assert_eq!(&m[8..], PAYLOAD);
        // A correct checksum sums to zero.
        assert_eq!(checksum(&m), 0);
    }

    #[test]
    fn ipv6_request_leaves_the_checksum_to_the_kernel() {
        let m = request(Family::V6, 1, 2);
        assert_eq!(&m[..4], &[128, 0, 0, 0]);
        assert_eq!(&m[4..8], &[0, 1, 0, 2]);
    }

    #[test]
    fn replies_parse_with_and_without_the_ip_header() {
        let reply = echo_back(Family::V4, &request(Family::V4, 99, 3));
        let want = Reply { id: 99, seq: 3, ours: true };
        assert_eq!(parse_reply(Family::V4, &reply, false), Ok(want));
        // A 24-byte IPv4 header (one option word), protocol 1.
        let mut pkt = vec![0x46, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0];
        pkt.extend_from_slice(&[10, 0, 0, 2, 10, 0, 0, 1, 1, 1, 1, 1]);
        pkt.extend_from_slice(&reply);
        assert_eq!(parse_reply(Family::V4, &pkt, true), Ok(want));
        let reply6 = echo_back(Family::V6, &request(Family::V6, 5, 65535));
        assert_eq!(
            parse_reply(Family::V6, &reply6, false),
            Ok(Reply { id: 5, seq: 65535, ours: true })
        );
    }

    #[test]
    fn what_is_not_our_reply() {
        let req = request(Family::V4, 1, 1);
        // Our own request (seen on a raw socket pinging ourselves).
        assert_eq!(parse_reply(Family::V4, &req, false), Err(Malformed::OtherType(8)));
        // Destination unreachable.
        assert_eq!(
            parse_reply(Family::V4, &[3, 1, 0, 0, 0, 0, 0, 0], false),
            Err(Malformed::OtherType(3))
        );
        let mut bad = echo_back(Family::V4, &req);
        bad[9] ^= 0xff;
        assert_eq!(parse_reply(Family::V4, &bad, false), Err(Malformed::Checksum));
        // Another pinger's payload: parses, but is not ours.
        let mut other = request(Family::V6, 1, 1);
        other[0] = ECHO_REPLY_V6;
        other[8] = b'X';
        assert_eq!(parse_reply(Family::V6, &other, false).map(|r| r.ours), Ok(false));
        assert_eq!(parse_reply(Family::V6, &other[..7], false), Err(Malformed::Truncated));
        // Raw IPv4: UDP, IPv6, short headers.
        let mut udp = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17];
        udp.resize(28, 0);
        assert_eq!(parse_reply(Family::V4, &udp, true), Err(Malformed::NotIcmp));
        assert_eq!(parse_reply(Family::V4, &[0x60; 40], true), Err(Malformed::NotIcmp));
        assert_eq!(parse_reply(Family::V4, &[0x4f, 0, 0], true), Err(Malformed::Truncated));
        assert_eq!(parse_reply(Family::V4, &[], true), Err(Malformed::Truncated));
    }

    proptest! {
        /// Any bytes: parsing never panics.
        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..80), v6: bool, hdr: bool) {
            let fam = if v6 { Family::V6 } else { Family::V4 };
            let _ = parse_reply(fam, &b, hdr);
        }

        /// Every request, echoed back, parses to its own id and sequence.
        #[test]
        fn round_trip(id: u16, seq: u16, v6: bool) {
            let fam = if v6 { Family::V6 } else { Family::V4 };
            let r = parse_reply(fam, &echo_back(fam, &request(fam, id, seq)), false);
            prop_assert_eq!(r, Ok(Reply { id, seq, ours: true }));
        }
    }
}
