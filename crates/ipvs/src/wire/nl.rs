//! Netlink framing around the IPVS generic netlink payload: the 16-byte
//! `nlmsghdr`, request building (one or many messages back to back) and
//! splitting a received datagram into replies (data, ACK/error, DONE).
//!
//! Pure bytes in, bytes out; `client` owns the socket.

use super::DecodeError;

/// Size of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;
/// `NLMSG_NOOP`.
pub const NLMSG_NOOP: u16 = 1;
/// `NLMSG_ERROR`: an ACK (error 0) or a failure.
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: end of a dump.
pub const NLMSG_DONE: u16 = 3;
/// `NLMSG_OVERRUN`.
pub const NLMSG_OVERRUN: u16 = 4;

/// `NLM_F_REQUEST`.
pub const NLM_F_REQUEST: u16 = 0x1;
/// `NLM_F_MULTI`: part of a multi-part reply.
pub const NLM_F_MULTI: u16 = 0x2;
/// `NLM_F_ACK`: ask for an ACK even on success.
pub const NLM_F_ACK: u16 = 0x4;
/// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`).
pub const NLM_F_DUMP: u16 = 0x300;

/// A `struct nlmsghdr`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NlHeader {
    /// Length of the message including this header.
    pub len: u32,
    /// Message type: a control type or the generic netlink family id.
    pub kind: u16,
    /// `NLM_F_*` flags.
    pub flags: u16,
    /// Sequence number.
    pub seq: u32,
    /// Port id of the sender (requests) or of the receiver (replies).
    pub pid: u32,
}

impl NlHeader {
    /// The 16 bytes, host endian as the kernel expects.
    pub fn to_bytes(&self) -> [u8; NLMSG_HDRLEN] {
        let mut b = [0u8; NLMSG_HDRLEN];
        b[0..4].copy_from_slice(&self.len.to_ne_bytes());
        b[4..6].copy_from_slice(&self.kind.to_ne_bytes());
        b[6..8].copy_from_slice(&self.flags.to_ne_bytes());
        b[8..12].copy_from_slice(&self.seq.to_ne_bytes());
        b[12..16].copy_from_slice(&self.pid.to_ne_bytes());
        b
    }

    /// Read a header from the first 16 bytes of `b`.
    pub fn from_bytes(b: &[u8]) -> Result<NlHeader, DecodeError> {
        if b.len() < NLMSG_HDRLEN {
            return Err(DecodeError::Truncated {
                what: "nlmsghdr",
                need: NLMSG_HDRLEN,
                have: b.len(),
            });
        }
        Ok(NlHeader {
            len: u32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
            kind: u16::from_ne_bytes([b[4], b[5]]),
            flags: u16::from_ne_bytes([b[6], b[7]]),
            seq: u32::from_ne_bytes([b[8], b[9], b[10], b[11]]),
            pid: u32::from_ne_bytes([b[12], b[13], b[14], b[15]]),
        })
    }
}

/// Round up to the 4-byte netlink alignment.
pub fn align(len: usize) -> usize {
    (len + 3) & !3
}

/// Append one request message (`nlmsghdr` + `payload`) to `out`, padded.
pub fn append_message(
    out: &mut Vec<u8>,
    kind: u16,
    flags: u16,
    seq: u32,
    pid: u32,
    payload: &[u8],
) {
    let len = NLMSG_HDRLEN + payload.len();
    let header = NlHeader { len: len as u32, kind, flags, seq, pid };
    out.extend_from_slice(&header.to_bytes());
    out.extend_from_slice(payload);
    out.resize(out.len() + (align(len) - len), 0);
}

/// One message received from the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply<'a> {
    /// A data message of the family: its generic netlink payload.
    Data {
        /// The header.
        header: NlHeader,
        /// `genlmsghdr` + attributes.
        payload: &'a [u8],
    },
    /// `NLMSG_ERROR`: `errno` is 0 for an ACK, else the positive errno.
    Ack {
        /// The header (its `seq` is the request's).
        header: NlHeader,
        /// 0 for success, else the positive errno.
        errno: i32,
        /// The header of the request it answers, echoed by the kernel.
        request: Option<NlHeader>,
    },
    /// `NLMSG_DONE`: end of a dump; `status` is 0 or a negative errno.
    Done {
        /// The header.
        header: NlHeader,
        /// The dump's final status (`0`, or `-errno` when it failed).
        status: i32,
    },
    /// Any other control message (`NLMSG_NOOP`, `NLMSG_OVERRUN`, ...).
    Control {
        /// The header.
        header: NlHeader,
    },
}

impl Reply<'_> {
    /// The message header.
    pub fn header(&self) -> &NlHeader {
        match self {
            Reply::Data { header, .. }
            | Reply::Ack { header, .. }
            | Reply::Done { header, .. }
            | Reply::Control { header } => header,
        }
    }
}

/// Split a received datagram into its messages. A malformed length is an
/// error; nothing in it is trusted beyond the bytes received.
pub fn parse_replies(buf: &[u8]) -> Result<Vec<Reply<'_>>, DecodeError> {
    let mut out = Vec::new();
    let mut rest = buf;
    while !rest.is_empty() {
        let header = NlHeader::from_bytes(rest)?;
        let len = header.len as usize;
        if len < NLMSG_HDRLEN || len > rest.len() {
            return Err(DecodeError::BadLength { what: "nlmsghdr", len, available: rest.len() });
        }
        let body = &rest[NLMSG_HDRLEN..len];
        out.push(match header.kind {
            NLMSG_ERROR => {
                let code = read_i32(body, "nlmsgerr")?;
                let request = NlHeader::from_bytes(&body[4..]).ok();
                Reply::Ack { header, errno: code.saturating_neg(), request }
            }
            NLMSG_DONE => {
                // The kernel always writes the status int; older ones may not.
                let status = if body.len() >= 4 { read_i32(body, "NLMSG_DONE")? } else { 0 };
                Reply::Done { header, status }
            }
            k if k < 0x10 => Reply::Control { header },
            _ => Reply::Data { header, payload: body },
        });
        rest = &rest[align(len).min(rest.len())..];
    }
    Ok(out)
}

fn read_i32(b: &[u8], what: &'static str) -> Result<i32, DecodeError> {
    match b.get(0..4) {
        Some(s) => Ok(i32::from_ne_bytes([s[0], s[1], s[2], s[3]])),
        None => Err(DecodeError::Truncated { what, need: 4, have: b.len() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_and_error_and_done_are_told_apart() {
        let mut buf = Vec::new();
        // An error for seq 7 (-EEXIST), echoing the request header.
        let mut body = (-17i32).to_ne_bytes().to_vec();
        body.extend_from_slice(
            &NlHeader { len: 20, kind: 0x24, flags: 5, seq: 7, pid: 99 }.to_bytes(),
        );
        append_message(&mut buf, NLMSG_ERROR, 0, 7, 99, &body);
        append_message(&mut buf, NLMSG_DONE, NLM_F_MULTI, 8, 99, &0i32.to_ne_bytes());
        append_message(&mut buf, 0x24, NLM_F_MULTI, 8, 99, &[1, 1, 0, 0, 0]);
        let replies = parse_replies(&buf).unwrap();
        assert_eq!(replies.len(), 3);
        match &replies[0] {
            Reply::Ack { errno, request, header } => {
                assert_eq!(*errno, 17);
                assert_eq!(header.seq, 7);
                assert_eq!(request.unwrap().kind, 0x24);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(replies[1], Reply::Done { status: 0, .. }));
        match &replies[2] {
            Reply::Data { payload, .. } => assert_eq!(*payload, &[1, 1, 0, 0, 0]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_lengths_are_errors_not_panics() {
        for len in [0u32, 3, 15, 18, 1000, u32::MAX] {
            let mut b = NlHeader { len, kind: 0x24, flags: 0, seq: 0, pid: 0 }.to_bytes().to_vec();
            b.push(0);
            assert!(parse_replies(&b).is_err(), "len {len}");
        }
        assert!(parse_replies(&[1, 2, 3]).is_err());
        // A truncated error body.
        let mut b = Vec::new();
        append_message(&mut b, NLMSG_ERROR, 0, 1, 1, &[1, 2]);
        assert!(parse_replies(&b).is_err());
    }
}
