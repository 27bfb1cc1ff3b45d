//! DNS messages for the `dns` check (RFC 1035 §4): a pure encoder for one
//! query and a decoder that judges the response. The socket side is in
//! [`crate::dns_probe`]. No resolver library, no state between checks: each
//! check builds its query from the name, the type and a fresh identifier.

/// Record types the check can ask for, by name: the contract's list
/// (`nanny_api`), which `lvs-config` accepts too.
pub use nanny_api::DNS_RECORD_TYPES as RECORD_TYPES;

/// The type asked when the check names none (any answer then does).
pub const DEFAULT_QTYPE: u16 = 1;

const CLASS_IN: u16 = 1;
const HEADER: usize = 12;
/// Flags of our query: a standard query, recursion desired (a recursive
/// server answers names it is not authoritative for).
const FLAGS_RD: u16 = 0x0100;
const FLAG_QR: u16 = 0x8000;
const FLAG_TC: u16 = 0x0200;

/// The type number of a record type name (case-insensitive).
pub fn record_type(name: &str) -> Option<u16> {
    RECORD_TYPES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, t)| *t)
}

/// The name of a type number, for logs.
pub fn type_name(t: u16) -> String {
    RECORD_TYPES
        .iter()
        .find(|(_, n)| *n == t)
        .map_or_else(|| format!("TYPE{t}"), |(n, _)| (*n).to_owned())
}

/// Why a name cannot be queried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// An empty label (`a..b`, or a leading dot).
    #[error("empty label in {0:?}")]
    EmptyLabel(String),
    /// A label longer than 63 bytes.
    #[error("label longer than 63 bytes in {0:?}")]
    LongLabel(String),
    /// More than 255 bytes on the wire.
    #[error("name longer than 255 bytes: {0:?}")]
    LongName(String),
}

/// `name` in wire form (labels, then the root). `"."` is the root itself;
/// a trailing dot is optional.
pub fn encode_name(name: &str) -> Result<Vec<u8>, NameError> {
    let mut out = Vec::with_capacity(name.len() + 2);
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if !trimmed.is_empty() {
        for label in trimmed.split('.') {
            if label.is_empty() {
                return Err(NameError::EmptyLabel(name.to_owned()));
            }
            let len = u8::try_from(label.len())
                .ok()
                .filter(|l| *l <= 63)
                .ok_or_else(|| NameError::LongLabel(name.to_owned()))?;
            out.push(len);
            out.extend_from_slice(label.as_bytes());
        }
    }
    out.push(0);
    if out.len() > 255 {
        return Err(NameError::LongName(name.to_owned()));
    }
    Ok(out)
}

/// One query: header, then the question (`qname` in wire form).
pub fn query(id: u16, qname: &[u8], qtype: u16) -> Vec<u8> {
    let mut m = Vec::with_capacity(HEADER + qname.len() + 4);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&FLAGS_RD.to_be_bytes());
    m.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // one question
    m.extend_from_slice(qname);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&CLASS_IN.to_be_bytes());
    m
}

/// What a response to our query says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Response code (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED...).
    pub rcode: u8,
    /// The server cut the answer short (TC).
    pub truncated: bool,
    /// Types of the answer records that parsed, in order.
    pub types: Vec<u16>,
}

/// A datagram that is not a response to our query: ignored by the probe
/// (a stray, late or forged packet), never judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotOurs {
    /// Shorter than its header or its sections.
    #[error("truncated message")]
    Truncated,
    /// A query, not a response.
    #[error("not a response")]
    NotResponse,
    /// Another transaction's identifier.
    #[error("other identifier")]
    OtherId,
    /// The question is not ours.
    #[error("other question")]
    OtherQuestion,
    /// A compression pointer loop or a bad label.
    #[error("bad name")]
    BadName,
}

fn u16_at(b: &[u8], i: usize) -> Result<u16, NotOurs> {
    match b.get(i..i + 2) {
        Some(&[x, y]) => Ok(u16::from_be_bytes([x, y])),
        _ => Err(NotOurs::Truncated),
    }
}

/// The offset just past the (possibly compressed) name at `i`.
fn skip_name(b: &[u8], mut i: usize) -> Result<usize, NotOurs> {
    // A name has at most 127 labels; a pointer ends it.
    for _ in 0..128 {
        let len = *b.get(i).ok_or(NotOurs::Truncated)?;
        match len >> 6 {
            0 if len == 0 => return Ok(i + 1),
            0 => i += 1 + usize::from(len),
            3 => {
                b.get(i + 1).ok_or(NotOurs::Truncated)?;
                return Ok(i + 2);
            }
            _ => return Err(NotOurs::BadName),
        }
    }
    Err(NotOurs::BadName)
}

/// Parses `msg` as the response to query `id` for `qname`/`qtype`.
pub fn parse_response(msg: &[u8], id: u16, qname: &[u8], qtype: u16) -> Result<Answer, NotOurs> {
    if msg.len() < HEADER {
        return Err(NotOurs::Truncated);
    }
    let flags = u16_at(msg, 2)?;
    if flags & FLAG_QR == 0 {
        return Err(NotOurs::NotResponse);
    }
    if u16_at(msg, 0)? != id {
        return Err(NotOurs::OtherId);
    }
    let rcode = (flags & 0x000f) as u8;
    let truncated = flags & FLAG_TC != 0;
    let qdcount = u16_at(msg, 4)?;
    let ancount = u16_at(msg, 6)?;
    // The question must be ours (servers echo it; a REFUSED may omit it).
    let mut i = HEADER;
    if qdcount > 1 {
        return Err(NotOurs::OtherQuestion);
    }
    if qdcount == 1 {
        let end = i + qname.len();
        let same = msg.get(i..end).is_some_and(|q| q.eq_ignore_ascii_case(qname));
        if !same || u16_at(msg, end)? != qtype || u16_at(msg, end + 2)? != CLASS_IN {
            return Err(NotOurs::OtherQuestion);
        }
        i = end + 4;
    } else if rcode == 0 {
        return Err(NotOurs::OtherQuestion);
    }
    let mut types = Vec::new();
    for _ in 0..ancount {
        let record = |i: usize| -> Result<(u16, u16, usize), NotOurs> {
            let at = skip_name(msg, i)?;
            let end = at + 10 + usize::from(u16_at(msg, at + 8)?);
            if end > msg.len() {
                return Err(NotOurs::Truncated);
            }
            Ok((u16_at(msg, at)?, u16_at(msg, at + 2)?, end))
        };
        match record(i) {
            Ok((rtype, class, end)) => {
                if class == CLASS_IN {
                    types.push(rtype);
                }
                i = end;
            }
            // TC: the records that fit are kept.
            Err(NotOurs::Truncated) if truncated => break,
            Err(e) => return Err(e),
        }
    }
    Ok(Answer { rcode, truncated, types })
}

/// The name of a response code, for logs.
pub fn rcode_name(rcode: u8) -> &'static str {
    match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        _ => "other",
    }
}

/// Judges a response: up with NOERROR and a record of type `want` in the
/// answer (any record when `want` is `None`). `Ok` is up, `Err` down; both
/// say why.
pub fn judge(a: &Answer, want: Option<u16>) -> Result<String, String> {
    if a.rcode != 0 {
        return Err(format!("RCODE {} ({})", a.rcode, rcode_name(a.rcode)));
    }
    let n = a.types.len();
    match want {
        None if n > 0 => Ok(format!("{n} answer record{}", if n == 1 { "" } else { "s" })),
        None => Err(format!("no answer record{}", if a.truncated { " (truncated)" } else { "" })),
        Some(t) if a.types.contains(&t) => Ok(format!("{} record in the answer", type_name(t))),
        Some(t) => Err(format!(
            "no {} record in the answer ({}){}",
            type_name(t),
            if n == 0 {
                "empty".to_owned()
            } else {
                a.types.iter().map(|t| type_name(*t)).collect::<Vec<_>>().join(", ")
            },
            if a.truncated { ", truncated" } else { "" }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A server's response to `q`: the header flipped to a response, the
    /// question echoed, then `answers` as (type, rdata) with a pointer to
    /// the question's name.
    fn respond(q: &[u8], rcode: u8, answers: &[(u16, &[u8])]) -> Vec<u8> {
        let mut r = q.to_vec();
        r[2] = 0x81; // QR, RD
        r[3] = 0x80 | rcode; // RA
        r[6..8].copy_from_slice(&(answers.len() as u16).to_be_bytes());
        for (t, data) in answers {
            r.extend_from_slice(&[0xc0, 12]);
            r.extend_from_slice(&t.to_be_bytes());
            r.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
            r.extend_from_slice(&(data.len() as u16).to_be_bytes());
            r.extend_from_slice(data);
        }
        r
    }

    #[test]
    fn names() {
        assert_eq!(encode_name("www.example.com").unwrap(), b"\x03www\x07example\x03com\x00");
        assert_eq!(encode_name("example.com.").unwrap(), b"\x07example\x03com\x00");
        assert_eq!(encode_name(".").unwrap(), b"\x00");
        assert_eq!(encode_name("").unwrap(), b"\x00");
        assert!(matches!(encode_name("a..b"), Err(NameError::EmptyLabel(_))));
        assert!(matches!(encode_name(".a"), Err(NameError::EmptyLabel(_))));
        assert!(matches!(encode_name(&"x".repeat(64)), Err(NameError::LongLabel(_))));
        let long = vec!["x".repeat(60); 5].join(".");
        assert!(matches!(encode_name(&long), Err(NameError::LongName(_))));
    }

    #[test]
    fn query_bytes() {
        let q = query(0xbeef, &encode_name("a.b").unwrap(), 28);
        assert_eq!(q, [0xbe, 0xef, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'a', 1, b'b', 0, 0, 28, 0, 1]);
    }

    #[test]
    fn record_type_names() {
        assert_eq!(record_type("aaaa"), Some(28));
        assert_eq!(record_type("A"), Some(1));
        assert_eq!(record_type("AXFR"), None);
        assert_eq!(type_name(33), "SRV");
        assert_eq!(type_name(99), "TYPE99");
    }

    #[test]
    fn answers_refusals_and_strays() {
        let name = encode_name("www.example.com").unwrap();
        let q = query(7, &name, 1);
        let ok = respond(&q, 0, &[(5, b"\xc0\x10"), (1, &[192, 0, 2, 1])]);
        let a = parse_response(&ok, 7, &name, 1).unwrap();
        assert_eq!(a.types, [5, 1]);
        assert_eq!(judge(&a, Some(1)), Ok("A record in the answer".into()));
        assert!(judge(&a, Some(28))
            .unwrap_err()
            .contains("no AAAA record in the answer (CNAME, A)"));
        assert!(judge(&a, None).is_ok());

        let refused = respond(&q, 5, &[]);
        let a = parse_response(&refused, 7, &name, 1).unwrap();
        assert_eq!(judge(&a, None), Err("RCODE 5 (REFUSED)".into()));
        // A refusal without the question is still the answer to us.
        let mut bare = refused[..12].to_vec();
        bare[5] = 0;
        assert_eq!(parse_response(&bare, 7, &name, 1).map(|a| a.rcode), Ok(5));

        let empty = respond(&q, 0, &[]);
        let a = parse_response(&empty, 7, &name, 1).unwrap();
        assert_eq!(judge(&a, None), Err("no answer record".into()));
        assert!(judge(&a, Some(1)).unwrap_err().contains("(empty)"));

        // Case differs in the echoed question: still ours (RFC 4343).
        let mut upper = ok.clone();
        upper[13] = b'W';
        assert!(parse_response(&upper, 7, &name, 1).is_ok());

        // Not ours: our own query, another id, another question, cut short.
        assert_eq!(parse_response(&q, 7, &name, 1), Err(NotOurs::NotResponse));
        assert_eq!(parse_response(&ok, 8, &name, 1), Err(NotOurs::OtherId));
        assert_eq!(parse_response(&ok, 7, &name, 28), Err(NotOurs::OtherQuestion));
        let other = encode_name("www.example.org").unwrap();
        assert_eq!(parse_response(&ok, 7, &other, 1), Err(NotOurs::OtherQuestion));
        assert_eq!(parse_response(&ok[..ok.len() - 1], 7, &name, 1), Err(NotOurs::Truncated));
        assert_eq!(parse_response(&ok[..5], 7, &name, 1), Err(NotOurs::Truncated));
        // With TC, the records that fit count.
        let mut tc = ok.clone();
        tc[2] |= 0x02;
        let a = parse_response(&tc[..tc.len() - 1], 7, &name, 1).unwrap();
        assert!(a.truncated);
        assert_eq!(a.types, [5]);
        // A label of the reserved kinds (0b01, 0b10) in an answer name.
        let mut bad = ok.clone();
        let at = q.len();
        bad[at] = 0x40;
        assert_eq!(parse_response(&bad, 7, &name, 1), Err(NotOurs::BadName));
    }

    proptest! {
        /// Any bytes: parsing never panics.
        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..120), id: u16) {
            let name = encode_name("a.b").unwrap_or_default();
            let _ = parse_response(&b, id, &name, 1);
        }

        /// Any suffix after a valid header and question: never panics.
        #[test]
        fn arbitrary_answers_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..80), an: u16) {
            let name = encode_name("a.b").unwrap_or_default();
            let mut r = respond(&query(1, &name, 1), 0, &[]);
            r[6..8].copy_from_slice(&an.to_be_bytes());
            r.extend_from_slice(&tail);
            let _ = parse_response(&r, 1, &name, 1);
        }
    }
}
