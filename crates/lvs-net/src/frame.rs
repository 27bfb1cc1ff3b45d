//! Announcement frames as pure bytes: Ethernet II, ARP (RFC 826, with the
//! gratuitous forms of RFC 5227 §3 and piranha's `send_arp`), and the IPv6
//! unsolicited Neighbour Advertisement (RFC 4861 §4.4, §7.2.6) with its
//! ICMPv6 checksum (RFC 4443 §2.3).
//!
//! Nothing here does IO: builders return the full frame, decoders take a
//! captured frame and either return every field or say why it was dropped.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::mac::MacAddr;

/// Ethertype of ARP.
pub const ETH_P_ARP: u16 = 0x0806;
/// Ethertype of IPv4.
pub const ETH_P_IP: u16 = 0x0800;
/// Ethertype of IPv6.
pub const ETH_P_IPV6: u16 = 0x86dd;
/// Length of an Ethernet II header.
pub const ETH_HLEN: usize = 14;
/// Minimum Ethernet frame length without the FCS; shorter frames are padded
/// with zeros (piranha's `send_arp` pads its 42-byte ARP frame with 18 zeros).
pub const ETH_ZLEN: usize = 60;
/// ARP hardware type of Ethernet.
const ARPHRD_ETHER: u16 = 1;
/// Length of an Ethernet/IPv4 ARP packet.
const ARP_LEN: usize = 28;
/// Length of a fixed IPv6 header.
const IPV6_HLEN: usize = 40;
/// IPv6 next-header value of ICMPv6.
const IPPROTO_ICMPV6: u8 = 58;
/// ICMPv6 type of a Neighbour Advertisement.
const ND_NEIGHBOR_ADVERT: u8 = 136;
/// Neighbour Discovery option: target link-layer address.
const ND_OPT_TARGET_LINKADDR: u8 = 2;
/// Neighbour Discovery messages must arrive with hop limit 255 (RFC 4861
/// §7.1.2), which proves they were not forwarded by a router.
pub const ND_HOP_LIMIT: u8 = 255;
/// `ff02::1`, the all-nodes link-local multicast group.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// An Ethernet II header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetHeader {
    /// Destination hardware address.
    pub dst: MacAddr,
    /// Source hardware address.
    pub src: MacAddr,
    /// Ethertype, host order.
    pub ethertype: u16,
}

impl EthernetHeader {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.dst.0);
        out.extend_from_slice(&self.src.0);
        out.extend_from_slice(&self.ethertype.to_be_bytes());
    }

    /// Decodes the first 14 bytes of `frame`.
    ///
    /// # Errors
    /// [`FrameError::Truncated`] when the frame is shorter than a header.
    pub fn decode(frame: &[u8]) -> Result<EthernetHeader, FrameError> {
        let h = frame.get(..ETH_HLEN).ok_or(FrameError::Truncated("ethernet header"))?;
        Ok(EthernetHeader {
            dst: MacAddr(six(&h[0..6])),
            src: MacAddr(six(&h[6..12])),
            ethertype: u16::from_be_bytes([h[12], h[13]]),
        })
    }
}

/// The ARP operation code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpOp {
    /// 1: request. RFC 5227's ARP Announcement uses this form.
    Request,
    /// 2: reply. piranha's `send_arp` sends this form.
    Reply,
    /// Anything else, kept so decoding is lossless.
    Other(u16),
}

impl ArpOp {
    fn code(self) -> u16 {
        match self {
            ArpOp::Request => 1,
            ArpOp::Reply => 2,
            ArpOp::Other(c) => c,
        }
    }

    fn from_code(c: u16) -> ArpOp {
        match c {
            1 => ArpOp::Request,
            2 => ArpOp::Reply,
            c => ArpOp::Other(c),
        }
    }
}

/// An Ethernet/IPv4 ARP packet (RFC 826).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpPacket {
    /// Operation.
    pub op: ArpOp,
    /// Sender hardware address.
    pub sender_hw: MacAddr,
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address.
    pub target_hw: MacAddr,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

/// A full ARP frame: Ethernet header and ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpFrame {
    /// The Ethernet header (ethertype [`ETH_P_ARP`]).
    pub eth: EthernetHeader,
    /// The ARP packet.
    pub arp: ArpPacket,
}

impl ArpFrame {
    /// A gratuitous ARP request (RFC 5227 §2.3 "ARP Announcement"): to the
    /// broadcast address, sender and target protocol address both `ip`,
    /// target hardware address zero.
    pub fn announcement(mac: MacAddr, ip: Ipv4Addr) -> ArpFrame {
        ArpFrame {
            eth: EthernetHeader { dst: MacAddr::BROADCAST, src: mac, ethertype: ETH_P_ARP },
            arp: ArpPacket {
                op: ArpOp::Request,
                sender_hw: mac,
                sender_ip: ip,
                target_hw: MacAddr::ZERO,
                target_ip: ip,
            },
        }
    }

    /// A gratuitous ARP reply to the broadcast address: sender and target
    /// both `mac`/`ip` (the RFC 2002 §4.6 form, which older stacks that
    /// ignore gratuitous requests still learn from).
    pub fn gratuitous_reply(mac: MacAddr, ip: Ipv4Addr) -> ArpFrame {
        ArpFrame::piranha(mac, ip, MacAddr::BROADCAST)
    }

    /// Exactly what piranha's `send_arp src_ip src_hw targ_ip targ_hw` sends
    /// (reference `piranha.md` §2.5): an ARP reply from `src_hw` to the
    /// Ethernet destination `targ_hw`, with sender and target both
    /// `src_hw`/`src_ip`. piranha never reads `targ_ip`.
    pub fn piranha(src_hw: MacAddr, src_ip: Ipv4Addr, targ_hw: MacAddr) -> ArpFrame {
        ArpFrame {
            eth: EthernetHeader { dst: targ_hw, src: src_hw, ethertype: ETH_P_ARP },
            arp: ArpPacket {
                op: ArpOp::Reply,
                sender_hw: src_hw,
                sender_ip: src_ip,
                target_hw: src_hw,
                target_ip: src_ip,
            },
        }
    }

    /// The frame bytes, zero-padded to [`ETH_ZLEN`].
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ETH_ZLEN);
        self.eth.encode(&mut out);
        let a = &self.arp;
        out.extend_from_slice(&ARPHRD_ETHER.to_be_bytes());
        out.extend_from_slice(&ETH_P_IP.to_be_bytes());
        out.push(6); // hardware address length
        out.push(4); // protocol address length
        out.extend_from_slice(&a.op.code().to_be_bytes());
        out.extend_from_slice(&a.sender_hw.0);
        out.extend_from_slice(&a.sender_ip.octets());
        out.extend_from_slice(&a.target_hw.0);
        out.extend_from_slice(&a.target_ip.octets());
        out.resize(ETH_ZLEN, 0);
        out
    }

    /// Decodes an Ethernet/IPv4 ARP frame; trailing padding is ignored.
    ///
    /// # Errors
    /// The frame is short, not ARP, or not Ethernet/IPv4 ARP.
    pub fn decode(frame: &[u8]) -> Result<ArpFrame, FrameError> {
        let eth = EthernetHeader::decode(frame)?;
        if eth.ethertype != ETH_P_ARP {
            return Err(FrameError::Ethertype(eth.ethertype));
        }
        let p = frame.get(ETH_HLEN..ETH_HLEN + ARP_LEN).ok_or(FrameError::Truncated("arp"))?;
        let htype = u16::from_be_bytes([p[0], p[1]]);
        let ptype = u16::from_be_bytes([p[2], p[3]]);
        if htype != ARPHRD_ETHER || ptype != ETH_P_IP || p[4] != 6 || p[5] != 4 {
            return Err(FrameError::ArpFormat { htype, ptype, hlen: p[4], plen: p[5] });
        }
        Ok(ArpFrame {
            eth,
            arp: ArpPacket {
                op: ArpOp::from_code(u16::from_be_bytes([p[6], p[7]])),
                sender_hw: MacAddr(six(&p[8..14])),
                sender_ip: Ipv4Addr::new(p[14], p[15], p[16], p[17]),
                target_hw: MacAddr(six(&p[18..24])),
                target_ip: Ipv4Addr::new(p[24], p[25], p[26], p[27]),
            },
        })
    }
}

/// An IPv6 Neighbour Advertisement in its Ethernet frame, with the fields
/// of every layer a receiver checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighborAdvertFrame {
    /// The Ethernet header (ethertype [`ETH_P_IPV6`]).
    pub eth: EthernetHeader,
    /// IPv6 source address.
    pub src_ip: Ipv6Addr,
    /// IPv6 destination address.
    pub dst_ip: Ipv6Addr,
    /// IPv6 hop limit; receivers drop NAs without [`ND_HOP_LIMIT`].
    pub hop_limit: u8,
    /// R flag: the sender is a router.
    pub router: bool,
    /// S flag: sent in response to a solicitation.
    pub solicited: bool,
    /// O flag: the advertisement overrides an existing cache entry.
    pub override_flag: bool,
    /// The address being advertised.
    pub target: Ipv6Addr,
    /// The target link-layer address option, if present.
    pub target_ll: Option<MacAddr>,
}

impl NeighborAdvertFrame {
    /// An unsolicited Neighbour Advertisement for `target` at `mac`
    /// (RFC 4861 §7.2.6): from `target` to all-nodes `ff02::1`, hop limit
    /// 255, override flag set, solicited and router flags clear, with the
    /// target link-layer address option.
    pub fn unsolicited(mac: MacAddr, target: Ipv6Addr) -> NeighborAdvertFrame {
        NeighborAdvertFrame {
            eth: EthernetHeader {
                dst: MacAddr::ipv6_multicast(ALL_NODES),
                src: mac,
                ethertype: ETH_P_IPV6,
            },
            src_ip: target,
            dst_ip: ALL_NODES,
            hop_limit: ND_HOP_LIMIT,
            router: false,
            solicited: false,
            override_flag: true,
            target,
            target_ll: Some(mac),
        }
    }

    /// The frame bytes, with the ICMPv6 checksum filled in.
    pub fn encode(&self) -> Vec<u8> {
        let mut icmp = Vec::with_capacity(32);
        icmp.push(ND_NEIGHBOR_ADVERT);
        icmp.push(0); // code
        icmp.extend_from_slice(&[0, 0]); // checksum, filled below
        let flags = (u8::from(self.router) << 7)
            | (u8::from(self.solicited) << 6)
            | (u8::from(self.override_flag) << 5);
        icmp.extend_from_slice(&[flags, 0, 0, 0]);
        icmp.extend_from_slice(&self.target.octets());
        if let Some(mac) = self.target_ll {
            icmp.push(ND_OPT_TARGET_LINKADDR);
            icmp.push(1); // option length in units of 8 bytes
            icmp.extend_from_slice(&mac.0);
        }
        let sum = icmpv6_checksum(self.src_ip, self.dst_ip, &icmp);
        icmp[2..4].copy_from_slice(&sum.to_be_bytes());

        let mut out = Vec::with_capacity(ETH_HLEN + IPV6_HLEN + icmp.len());
        self.eth.encode(&mut out);
        out.extend_from_slice(&[0x60, 0, 0, 0]); // version 6, traffic class 0, flow 0
                                                 // The ICMPv6 body is at most 32 bytes, so it always fits a u16.
        out.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
        out.push(IPPROTO_ICMPV6);
        out.push(self.hop_limit);
        out.extend_from_slice(&self.src_ip.octets());
        out.extend_from_slice(&self.dst_ip.octets());
        out.extend_from_slice(&icmp);
        out
    }

    /// Decodes an Ethernet/IPv6/ICMPv6 Neighbour Advertisement and checks
    /// its checksum. Extension headers are not followed: an announcement
    /// never carries them.
    ///
    /// # Errors
    /// Any layer is short or of another kind, or the checksum is wrong.
    pub fn decode(frame: &[u8]) -> Result<NeighborAdvertFrame, FrameError> {
        let eth = EthernetHeader::decode(frame)?;
        if eth.ethertype != ETH_P_IPV6 {
            return Err(FrameError::Ethertype(eth.ethertype));
        }
        let ip = frame.get(ETH_HLEN..ETH_HLEN + IPV6_HLEN).ok_or(FrameError::Truncated("ipv6"))?;
        if ip[0] >> 4 != 6 {
            return Err(FrameError::IpVersion(ip[0] >> 4));
        }
        if ip[6] != IPPROTO_ICMPV6 {
            return Err(FrameError::NextHeader(ip[6]));
        }
        let payload_len = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
        let hop_limit = ip[7];
        let src_ip = Ipv6Addr::from(sixteen(&ip[8..24]));
        let dst_ip = Ipv6Addr::from(sixteen(&ip[24..40]));
        let start = ETH_HLEN + IPV6_HLEN;
        let icmp = frame.get(start..start + payload_len).ok_or(FrameError::Truncated("icmpv6"))?;
        if icmp.len() < 24 {
            return Err(FrameError::Truncated("neighbour advertisement"));
        }
        if icmp[0] != ND_NEIGHBOR_ADVERT || icmp[1] != 0 {
            return Err(FrameError::IcmpType { icmp_type: icmp[0], code: icmp[1] });
        }
        if icmpv6_checksum(src_ip, dst_ip, icmp) != 0 {
            return Err(FrameError::Checksum);
        }
        let mut target_ll = None;
        let mut opts = &icmp[24..];
        while !opts.is_empty() {
            let len = usize::from(*opts.get(1).ok_or(FrameError::Truncated("nd option"))?) * 8;
            if len == 0 || len > opts.len() {
                return Err(FrameError::NdOption);
            }
            if opts[0] == ND_OPT_TARGET_LINKADDR && len == 8 {
                target_ll = Some(MacAddr(six(&opts[2..8])));
            }
            opts = &opts[len..];
        }
        Ok(NeighborAdvertFrame {
            eth,
            src_ip,
            dst_ip,
            hop_limit,
            router: icmp[4] & 0x80 != 0,
            solicited: icmp[4] & 0x40 != 0,
            override_flag: icmp[4] & 0x20 != 0,
            target: Ipv6Addr::from(sixteen(&icmp[8..24])),
            target_ll,
        })
    }
}

/// Why a captured frame was not decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The frame ends inside the named part.
    #[error("frame truncated in the {0}")]
    Truncated(&'static str),
    /// The ethertype is not the one asked for.
    #[error("unexpected ethertype {0:#06x}")]
    Ethertype(u16),
    /// ARP for something other than Ethernet/IPv4.
    #[error("not Ethernet/IPv4 ARP (htype {htype}, ptype {ptype:#06x}, hlen {hlen}, plen {plen})")]
    ArpFormat {
        /// Hardware type.
        htype: u16,
        /// Protocol type.
        ptype: u16,
        /// Hardware address length.
        hlen: u8,
        /// Protocol address length.
        plen: u8,
    },
    /// The IP version nibble is not 6.
    #[error("IP version {0}, not 6")]
    IpVersion(u8),
    /// The IPv6 next header is not ICMPv6.
    #[error("IPv6 next header {0}, not ICMPv6")]
    NextHeader(u8),
    /// ICMPv6 of another type or code.
    #[error("ICMPv6 type {icmp_type} code {code}, not a neighbour advertisement")]
    IcmpType {
        /// ICMPv6 type.
        icmp_type: u8,
        /// ICMPv6 code.
        code: u8,
    },
    /// The ICMPv6 checksum does not verify.
    #[error("bad ICMPv6 checksum")]
    Checksum,
    /// A Neighbour Discovery option has length zero or overruns the packet.
    #[error("malformed neighbour discovery option")]
    NdOption,
}

/// The ICMPv6 checksum (RFC 4443 §2.3) of `icmp` sent from `src` to `dst`:
/// the Internet checksum over the IPv6 pseudo-header (RFC 8200 §8.1) and the
/// message. Computed over a message whose checksum field is filled in, it is
/// zero when the checksum is right.
pub fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, icmp: &[u8]) -> u16 {
    let mut sum = 0u32;
    sum = add_words(sum, &src.octets());
    sum = add_words(sum, &dst.octets());
    // A slice taken from a frame is far shorter than 4 GiB.
    sum = add_words(sum, &(icmp.len() as u32).to_be_bytes());
    sum = add_words(sum, &[0, 0, 0, IPPROTO_ICMPV6]);
    sum = add_words(sum, icmp);
    fold(sum)
}

/// The Internet checksum (RFC 1071) of `data`.
pub fn internet_checksum(data: &[u8]) -> u16 {
    fold(add_words(0, data))
}

fn add_words(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for w in &mut chunks {
        sum = ones_add(sum, u32::from(u16::from_be_bytes([w[0], w[1]])));
    }
    if let [last] = chunks.remainder() {
        sum = ones_add(sum, u32::from(*last) << 8);
    }
    sum
}

fn ones_add(sum: u32, word: u32) -> u32 {
    let s = sum + word;
    (s & 0xffff) + (s >> 16)
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    // The loop leaves at most 16 bits.
    !(sum as u16)
}

fn six(b: &[u8]) -> [u8; 6] {
    let mut out = [0; 6];
    out.copy_from_slice(b);
    out
}

fn sixteen(b: &[u8]) -> [u8; 16] {
    let mut out = [0; 16];
    out.copy_from_slice(b);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr([0x02, 0x00, 0x5e, 0x10, 0x20, 0x30]);
    const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 10, 200);

    #[test]
    fn rfc1071_checksum_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (one's
        // complement), so the checksum is its complement 220d.
        assert_eq!(internet_checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), 0x220d);
        // An odd byte is padded with a zero on the right.
        assert_eq!(internet_checksum(&[0x01]), !0x0100);
    }

    #[test]
    fn announcement_bytes() {
        let raw: Vec<u8> = [
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff][..], // eth dst: broadcast
            &[0x02, 0x00, 0x5e, 0x10, 0x20, 0x30],     // eth src: MAC
            &[0x08, 0x06],                             // ethertype ARP
            &[0x00, 0x01],                             // htype Ethernet
            &[0x08, 0x00],                             // ptype IPv4
            &[0x06, 0x04],                             // hlen 6, plen 4
            &[0x00, 0x01],                             // op 1: request
            &[0x02, 0x00, 0x5e, 0x10, 0x20, 0x30],     // sender hw: MAC
            &[192, 168, 10, 200],                      // sender ip: VIP
            &[0, 0, 0, 0, 0, 0],                       // target hw: zero
            &[192, 168, 10, 200],                      // target ip: VIP
            &[0; 18],                                  // padding to 60 bytes
        ]
        .concat();
        let frame = ArpFrame::announcement(MAC, VIP);
        assert_eq!(frame.encode(), raw);
        assert_eq!(ArpFrame::decode(&raw).unwrap(), frame);
    }

    #[test]
    fn gratuitous_reply_bytes() {
        let raw: Vec<u8> = [
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff][..], // eth dst: broadcast
            &[0x02, 0x00, 0x5e, 0x10, 0x20, 0x30],     // eth src: MAC
            &[0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04],
            &[0x00, 0x02],                         // op 2: reply
            &[0x02, 0x00, 0x5e, 0x10, 0x20, 0x30], // sender hw: MAC
            &[192, 168, 10, 200],                  // sender ip: VIP
            &[0x02, 0x00, 0x5e, 0x10, 0x20, 0x30], // target hw: MAC
            &[192, 168, 10, 200],                  // target ip: VIP
            &[0; 18],
        ]
        .concat();
        let frame = ArpFrame::gratuitous_reply(MAC, VIP);
        assert_eq!(frame.encode(), raw);
        assert_eq!(ArpFrame::decode(&raw).unwrap(), frame);
    }

    #[test]
    fn piranha_frame_goes_to_the_given_hardware_address() {
        let dst = MacAddr([0x00, 0x11, 0x22, 0x33, 0x44, 0x55]);
        let bytes = ArpFrame::piranha(MAC, VIP, dst).encode();
        assert_eq!(&bytes[0..6], &dst.0);
        assert_eq!(&bytes[6..12], &MAC.0);
        assert_eq!(&bytes[20..22], &[0, 2]);
        assert_eq!(&bytes[32..38], &MAC.0, "target hw is the source MAC, as piranha");
        assert_eq!(bytes.len(), 60);
    }

    #[test]
    fn arp_decode_rejects() {
        let good = ArpFrame::announcement(MAC, VIP).encode();
        assert_eq!(ArpFrame::decode(&good[..13]), Err(FrameError::Truncated("ethernet header")));
        assert_eq!(ArpFrame::decode(&good[..41]), Err(FrameError::Truncated("arp")));
        let mut ipv6 = good.clone();
        ipv6[12..14].copy_from_slice(&[0x86, 0xdd]);
        assert_eq!(ArpFrame::decode(&ipv6), Err(FrameError::Ethertype(0x86dd)));
        let mut tr = good.clone();
        tr[15] = 6; // htype 6 (IEEE 802)
        assert!(matches!(ArpFrame::decode(&tr), Err(FrameError::ArpFormat { htype: 6, .. })));
        // Unknown opcodes decode losslessly.
        let mut odd = good;
        odd[21] = 9;
        assert_eq!(ArpFrame::decode(&odd).unwrap().arp.op, ArpOp::Other(9));
    }

    /// The checksum 0xf90c below was computed independently (a few lines of
    /// Python summing the pseudo-header and message as 16-bit words), not
    /// with this module.
    fn na_bytes() -> Vec<u8> {
        [
            &[0x33, 0x33, 0x00, 0x00, 0x00, 0x01][..], // eth dst: all-nodes multicast
            &[0x02, 0x00, 0x00, 0x00, 0x00, 0x01],     // eth src: MAC
            &[0x86, 0xdd],                             // ethertype IPv6
            &[0x60, 0x00, 0x00, 0x00],                 // version 6, tc 0, flow 0
            &[0x00, 0x20],                             // payload length 32
            &[58],                                     // next header ICMPv6
            &[255],                                    // hop limit 255
            &[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10], // src 2001:db8::10
            &[0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01], // dst ff02::1
            &[136, 0],                                 // type NA, code 0
            &[0xf9, 0x0c],                             // checksum
            &[0x20, 0, 0, 0],                          // flags: O only
            &[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10], // target
            &[2, 1],                                   // option: target ll addr, 8 bytes
            &[0x02, 0x00, 0x00, 0x00, 0x00, 0x01],     // MAC
        ]
        .concat()
    }

    #[test]
    fn unsolicited_na_bytes() {
        let mac = MacAddr([0x02, 0, 0, 0, 0, 1]);
        let target: Ipv6Addr = "2001:db8::10".parse().unwrap();
        let frame = NeighborAdvertFrame::unsolicited(mac, target);
        assert_eq!(frame.encode(), na_bytes());
        let decoded = NeighborAdvertFrame::decode(&na_bytes()).unwrap();
        assert_eq!(decoded, frame);
        assert!(decoded.override_flag && !decoded.solicited && !decoded.router);
        assert_eq!(decoded.hop_limit, 255);
    }

    #[test]
    fn na_decode_rejects() {
        let good = na_bytes();
        let mut bad_sum = good.clone();
        bad_sum[56] ^= 1;
        assert_eq!(NeighborAdvertFrame::decode(&bad_sum), Err(FrameError::Checksum));
        let mut flipped_payload = good.clone();
        flipped_payload[58] ^= 0x40; // set S flag without fixing the checksum
        assert_eq!(NeighborAdvertFrame::decode(&flipped_payload), Err(FrameError::Checksum));
        assert_eq!(NeighborAdvertFrame::decode(&good[..70]), Err(FrameError::Truncated("icmpv6")));
        let mut ns = good.clone();
        ns[54] = 135;
        assert_eq!(
            NeighborAdvertFrame::decode(&ns),
            Err(FrameError::IcmpType { icmp_type: 135, code: 0 })
        );
        let mut udp = good.clone();
        udp[20] = 17;
        assert_eq!(NeighborAdvertFrame::decode(&udp), Err(FrameError::NextHeader(17)));
        let mut v4 = good.clone();
        v4[14] = 0x45;
        assert_eq!(NeighborAdvertFrame::decode(&v4), Err(FrameError::IpVersion(4)));
        let mut zero_opt = good;
        zero_opt[79] = 0; // option length 0 would loop forever
        let sum = icmpv6_checksum("2001:db8::10".parse().unwrap(), ALL_NODES, &{
            let mut m = zero_opt[54..].to_vec();
            m[2] = 0;
            m[3] = 0;
            m
        });
        zero_opt[56..58].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(NeighborAdvertFrame::decode(&zero_opt), Err(FrameError::NdOption));
    }
}
