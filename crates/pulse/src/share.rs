//! Sharing the operator's overrides between routers, pure: a message
//! format on the heartbeat sockets, authenticated with the heartbeat key,
//! and what to do with a message.
//!
//! Every router sends its version (generation and origin) to its peers
//! with a heartbeat, at most every [`SHARE_EVERY`]; a router that hears an
//! older version from a peer answers with its whole set, which the peer
//! adopts if it is newer than its own. Versions are ordered by generation,
//! then by the name of the router that made the change
//! ([`Overrides::newer_than`]): no clock is involved, and a replayed
//! message can never take a router back to an older set. The heartbeat
//! packets themselves are unchanged: these messages have their own magic.
//!
//! # Message, integers big-endian
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `LVSO` |
//! | 4 | 1 | version (1) |
//! | 5 | 1 | kind: 0 version only, 1 the whole set |
//! | 6 | 1 | origin length *o* |
//! | 7 | 1 | reserved, zero |
//! | 8 | 8 | generation |
//! | 16 | 4 | body length *b* (0 for kind 0) |
//! | 20 | *o* | origin (the router that made the last change) |
//! | 20 + *o* | *b* | the overrides file's text (kind 1) |
//! | 20 + *o* + *b* | 32 | HMAC-SHA256 over every byte before it |
//!
//! piranha heartbeats have no key: in that mode overrides stay on the
//! router that took the request (pulse warns).

use std::time::Duration;

use lvs_config::overrides::Overrides;

use crate::wire::{DropReason, Key, MAC_LEN};

/// The first four bytes of a sharing message.
pub const SHARE_MAGIC: [u8; 4] = *b"LVSO";
/// The only version of the format.
pub const SHARE_VERSION: u8 = 1;
/// Longest message: one UDP datagram that IPv4 fragments carry.
pub const MAX_SHARE_LEN: usize = 60_000;
/// How often a router tells its peers its version.
pub const SHARE_EVERY: Duration = Duration::from_secs(1);
const HEADER_LEN: usize = 20;

/// What a message says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// The sender's version.
    Version {
        /// Its generation.
        generation: u64,
        /// Who made it.
        origin: String,
    },
    /// The sender's whole set.
    Full(Overrides),
}

/// Whether a datagram is a sharing message (rather than a heartbeat).
pub fn is_share(buf: &[u8]) -> bool {
    buf.starts_with(&SHARE_MAGIC)
}

/// Encodes and signs a message; `None` when the set is too large for one
/// datagram.
pub fn encode(msg: &Message, key: &Key) -> Option<Vec<u8>> {
    let (kind, generation, origin, body) = match msg {
        Message::Version { generation, origin } => (0u8, *generation, origin.as_str(), Vec::new()),
        Message::Full(o) => (1u8, o.generation, o.origin.as_str(), o.to_text().into_bytes()),
    };
    let origin = &origin.as_bytes()[..origin.len().min(255)];
    let mut b = Vec::with_capacity(HEADER_LEN + origin.len() + body.len() + MAC_LEN);
    b.extend_from_slice(&SHARE_MAGIC);
    b.push(SHARE_VERSION);
    b.push(kind);
    b.push(u8::try_from(origin.len()).unwrap_or(u8::MAX));
    b.push(0);
    b.extend_from_slice(&generation.to_be_bytes());
    b.extend_from_slice(&u32::try_from(body.len()).ok()?.to_be_bytes());
    b.extend_from_slice(origin);
    b.extend_from_slice(&body);
    b.extend_from_slice(&key.sign(&b));
    (b.len() <= MAX_SHARE_LEN).then_some(b)
}

/// Checks and decodes a message: the MAC first (in constant time), then
/// the fields; a set must agree with the version in its header.
///
/// # Errors
/// Why it is dropped.
pub fn decode(buf: &[u8], key: &Key) -> Result<Message, DropReason> {
    if buf.len() < HEADER_LEN + MAC_LEN {
        return Err(DropReason::Truncated);
    }
    if buf.len() > MAX_SHARE_LEN {
        return Err(DropReason::Oversized);
    }
    if !is_share(buf) {
        return Err(DropReason::BadMagic);
    }
    let (signed, tag) = buf.split_at(buf.len() - MAC_LEN);
    if !key.verify(signed, tag) {
        return Err(DropReason::BadMac);
    }
    if buf[4] != SHARE_VERSION {
        return Err(DropReason::BadVersion);
    }
    let o = usize::from(buf[6]);
    let mut g = [0u8; 8];
    g.copy_from_slice(&buf[8..16]);
    let generation = u64::from_be_bytes(g);
    let mut l = [0u8; 4];
    l.copy_from_slice(&buf[16..20]);
    let body_len = usize::try_from(u32::from_be_bytes(l)).map_err(|_| DropReason::Truncated)?;
    if HEADER_LEN + o + body_len != signed.len() {
        return Err(DropReason::Truncated);
    }
    let origin = String::from_utf8_lossy(&buf[HEADER_LEN..HEADER_LEN + o]).into_owned();
    let body = &buf[HEADER_LEN + o..HEADER_LEN + o + body_len];
    match buf[5] {
        0 => Ok(Message::Version { generation, origin }),
        1 => {
            let set = lvs_config::overrides::parse(body).map_err(|_| DropReason::BadVersion)?;
            if set.generation != generation || set.origin != origin {
                return Err(DropReason::BadVersion);
            }
            Ok(Message::Full(set))
        }
        _ => Err(DropReason::BadVersion),
    }
}

/// What to do with a peer's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// Nothing: the peer is as new as we are, or newer (it will send).
    Nothing,
    /// Send the peer our whole set: it is behind.
    SendFull,
    /// Take the peer's set: it is newer.
    Adopt(Overrides),
}

/// Decides what a message asks for, given our set.
pub fn respond(ours: &Overrides, msg: Message) -> Response {
    match msg {
        Message::Version { generation, origin } => {
            let theirs = Overrides { generation, origin, ..Overrides::default() };
            if ours.newer_than(&theirs) {
                Response::SendFull
            } else {
                Response::Nothing
            }
        }
        Message::Full(set) if set.newer_than(ours) => Response::Adopt(set),
        Message::Full(_) => Response::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lvs_config::overrides::{Author, Change};

    fn key() -> Key {
        Key::new(b"a test key of thirty-two bytes!!".to_vec()).unwrap()
    }

    fn set(generation_changes: usize, router: &str) -> Overrides {
        let mut o = Overrides::default();
        let who = Author { uid: 0, at: 1, router: router.into() };
        for i in 0..generation_changes {
            let w = u32::try_from(i).unwrap() + 1;
            o.apply(
                &Change::Weight(
                    "tcp:192.0.2.10:80".parse().unwrap(),
                    "10.0.0.1:80".parse().unwrap(),
                    Some(w),
                ),
                &who,
            );
        }
        o
    }

    #[test]
    fn messages_round_trip_and_forgeries_are_dropped() {
        let full = Message::Full(set(3, "lvs1"));
        let b = encode(&full, &key()).unwrap();
        assert!(is_share(&b));
        assert_eq!(decode(&b, &key()).unwrap(), full);
        let v = Message::Version { generation: 3, origin: "lvs1".into() };
        assert_eq!(decode(&encode(&v, &key()).unwrap(), &key()).unwrap(), v);
        let other = Key::new(b"another key of thirty-two bytes!".to_vec()).unwrap();
        assert_eq!(decode(&b, &other), Err(DropReason::BadMac));
        let mut flipped = b.clone();
        flipped[10] ^= 1;
        assert_eq!(decode(&flipped, &key()), Err(DropReason::BadMac));
        assert_eq!(decode(&b[..10], &key()), Err(DropReason::Truncated));
        // A set whose header lies about its version is refused.
        let mut lie = set(3, "lvs1");
        lie.generation = 9;
        let mut b = encode(&Message::Full(lie), &key()).unwrap();
        b[15] = 3;
        let n = b.len() - MAC_LEN;
        let tag = key().sign(&b[..n]);
        b[n..].copy_from_slice(&tag);
        assert_eq!(decode(&b, &key()), Err(DropReason::BadVersion));
    }

    #[test]
    fn the_newer_set_wins_whoever_sends_first() {
        let (old, new) = (set(2, "lvs1"), set(3, "lvs2"));
        let v =
            |o: &Overrides| Message::Version { generation: o.generation, origin: o.origin.clone() };
        assert_eq!(respond(&new, v(&old)), Response::SendFull);
        assert_eq!(respond(&old, v(&new)), Response::Nothing);
        assert_eq!(respond(&old, Message::Full(new.clone())), Response::Adopt(new.clone()));
        assert_eq!(respond(&new, Message::Full(old.clone())), Response::Nothing, "no going back");
        assert_eq!(respond(&new, v(&new)), Response::Nothing);
        // Same generation: the router name breaks the tie, alike everywhere.
        let (a, b) = (set(2, "lvs1"), set(2, "lvs2"));
        assert_eq!(respond(&a, Message::Full(b.clone())), Response::Adopt(b.clone()));
        assert_eq!(respond(&b, Message::Full(a)), Response::Nothing);
    }
}
