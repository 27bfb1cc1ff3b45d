//! Heartbeat wire formats, pure bytes in and out: pulse's native
//! authenticated heartbeat and piranha's 4-byte magics (compatibility mode).
//!
//! Nothing here touches a socket or a clock. Freshness (is this heartbeat
//! recent, or a replay?) is decided by `freshness` from the echoes a
//! heartbeat carries, never from a timestamp: routers need not agree on
//! the time (docs/heartbeat.md).
//!
//! # Native heartbeat (version 2), integers big-endian
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `LVSP` |
//! | 4 | 1 | version (2) |
//! | 5 | 1 | role: 0 standby, 1 active |
//! | 6 | 1 | fault flags ([`Faults`]) |
//! | 7 | 1 | priority (255 minus the sender's position in the router list) |
//! | 8 | 4 | node id |
//! | 12 | 4 | take-over epoch |
//! | 16 | 8 | boot id (random per process start) |
//! | 24 | 8 | sequence number, starts at 1 per boot, strictly increasing |
//! | 32 | 1 | flags: state bits that are not faults (see below) |
//! | 33 | 1 | echo count *n*, at most [`MAX_ECHOES`] |
//! | 34 | 2 | reserved, sent as zero, ignored |
//! | 36 | 32 | SHA-256 digest of the cluster configuration |
//! | 68 | 20 *n* | echoes ([`Echo`]): node id (4), boot id (8), sequence (8) of the newest heartbeat heard from that peer |
//! | 68 + 20 *n* | 32 | HMAC-SHA256 over every byte before it, with the shared key |
//!
//! The length is exactly 100 + 20 *n* bytes. Flags: bit 0 (`0x01`) is
//! "table ready" ([`FLAG_READY`]: the sender's lvsd has its table complete,
//! issue 16); bits 1–7 are reserved. Senders
//! set unknown bits to zero and receivers ignore them, so a bit can be
//! added without a new version. Version 1 (a wall-clock timestamp instead
//! of echoes) is no longer spoken: it is dropped as `bad_version`.
//!
//! # Piranha heartbeat
//!
//! Exactly 4 bytes: an `unsigned int` magic in the sender's host byte order
//! (piranha.md §3.3). We send in our host order, as piranha does, and accept
//! either order, as the Wireshark dissector does. There is no authentication.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The first four bytes of every native heartbeat.
pub const NATIVE_MAGIC: [u8; 4] = *b"LVSP";
/// The only native version this build speaks.
pub const NATIVE_VERSION: u8 = 2;
/// Length of the fixed part of a native heartbeat, before the echoes.
pub const NATIVE_HEADER_LEN: usize = 68;
/// Length of one echo.
pub const ECHO_LEN: usize = 20;
/// Length of the HMAC that ends a native heartbeat.
pub const MAC_LEN: usize = 32;
/// Length of a native heartbeat without echoes.
pub const NATIVE_MIN_LEN: usize = NATIVE_HEADER_LEN + MAC_LEN;
/// Most echoes one heartbeat carries: two per peer (see `freshness`) in a
/// pool of at most [`MAX_ROUTERS`].
pub const MAX_ECHOES: usize = 2 * (MAX_ROUTERS - 1);
/// Most routers a native pool may list (the heartbeat stays under 1,400
/// bytes, well inside one Ethernet frame).
pub const MAX_ROUTERS: usize = 32;
/// Longest native heartbeat.
pub const NATIVE_MAX_LEN: usize = NATIVE_MIN_LEN + MAX_ECHOES * ECHO_LEN;
/// Length of the configuration digest.
pub const DIGEST_LEN: usize = 32;

/// piranha LVS mode, sender active ("running").
pub const PIRANHA_LVS_RUNNING: u32 = 0xbdad_dbda;
/// piranha LVS mode, sender inactive ("stopped").
pub const PIRANHA_LVS_STOPPED: u32 = 0xadbd_dabd;
/// piranha FOS-mode magics: valid piranha, but not the LVS service set.
const PIRANHA_FOS: [u32; 5] = [0xbeef_babe, 0xdead_beef, 0xdead_dada, 0xdeaf_babe, 0xdeaf_dada];
/// Length of a piranha heartbeat.
pub const PIRANHA_LEN: usize = 4;

/// Whether the sender currently holds the VIPs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Not holding the VIPs (piranha "stopped").
    Standby,
    /// Holding the VIPs and running lvsd (piranha "running").
    Active,
}

impl Role {
    /// Lower-case name used in logs and status output.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Standby => "standby",
            Role::Active => "active",
        }
    }
}

/// Reasons a router must not be (or become) active, as advertised to peers.
///
/// A router with any fault set is not eligible in the election.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults(pub u8);

impl Faults {
    /// lvsd exited while active (piranha CHILDFAIL).
    pub const CHILD_FAIL: Faults = Faults(1);
    /// A watched link is down (piranha LINKFAIL).
    pub const LINK_FAIL: Faults = Faults(2);
    /// The operator asked this router to stand down.
    pub const ADMIN_DOWN: Faults = Faults(4);
    /// pulse is exiting (SIGTERM).
    pub const SHUTDOWN: Faults = Faults(8);
    /// A local failover service failed its check while this router was
    /// active (FOS): held for a while so that a peer takes over.
    pub const SERVICE_FAIL: Faults = Faults(16);

    /// No fault.
    pub const NONE: Faults = Faults(0);

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: Faults) -> bool {
        self.0 & other.0 == other.0
    }
    /// Sets the bits of `other`.
    pub fn insert(&mut self, other: Faults) {
        self.0 |= other.0;
    }
    /// Clears the bits of `other`.
    pub fn remove(&mut self, other: Faults) {
        self.0 &= !other.0;
    }
    /// Whether no bit is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names = Vec::new();
        if self.contains(Faults::CHILD_FAIL) {
            names.push("childfail");
        }
        if self.contains(Faults::LINK_FAIL) {
            names.push("linkfail");
        }
        if self.contains(Faults::ADMIN_DOWN) {
            names.push("admin-down");
        }
        if self.contains(Faults::SHUTDOWN) {
            names.push("shutdown");
        }
        if self.contains(Faults::SERVICE_FAIL) {
            names.push("servicefail");
        }
        let unknown = self.0 & !31;
        if unknown != 0 {
            return write!(f, "{}unknown({unknown:#x})", names.join(",") + ",");
        }
        if names.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&names.join(","))
        }
    }
}

/// "I heard this heartbeat of that router": the newest (boot id, sequence)
/// the sender accepted from one peer. A router that finds its own current
/// boot id and a recent sequence of its own echoed knows the heartbeat was
/// sent after that sequence was, whatever the clocks say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Echo {
    /// The peer whose heartbeat is echoed.
    pub node_id: u32,
    /// That heartbeat's boot id.
    pub boot_id: u64,
    /// That heartbeat's sequence number.
    pub seq: u64,
}

/// Flag bit: the sender's lvsd has its table complete (every nanny gave a
/// first verdict): a standby that can take over with the table ready.
pub const FLAG_READY: u8 = 0x01;

/// One decoded native heartbeat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    /// Sender's node id (its `node_id` in the router list).
    pub node_id: u32,
    /// Sender's role.
    pub role: Role,
    /// Sender's faults.
    pub faults: Faults,
    /// 255 minus the sender's position in its router list.
    pub priority: u8,
    /// Sender's take-over epoch (raised by an operator take-over).
    pub epoch: u32,
    /// Random id of the sender's process start.
    pub boot_id: u64,
    /// Per-boot sequence number.
    pub seq: u64,
    /// State bits that are not faults ([`FLAG_READY`]).
    pub flags: u8,
    /// SHA-256 of the sender's cluster configuration.
    pub config_digest: [u8; DIGEST_LEN],
    /// What the sender last heard from each peer (at most [`MAX_ECHOES`]).
    pub echoes: Vec<Echo>,
}

/// Why a received heartbeat was dropped. Every drop is counted by reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// Shorter than the format's length.
    Truncated,
    /// Longer than the format's length.
    Oversized,
    /// Unknown magic (or, in piranha mode, an unknown 4-byte value).
    BadMagic,
    /// Native magic with a version we do not speak.
    BadVersion,
    /// The HMAC does not verify: forged, corrupted, or a different key.
    BadMac,
    /// Authenticated, but a field holds an impossible value.
    BadField,
    /// A piranha FOS-mode magic: the peer runs failover services, not LVS.
    Incompatible,
    /// Authenticated, but not newer than what this peer already sent.
    Replay,
    /// Authenticated and new, but it echoes no recent heartbeat of ours, so
    /// nothing shows it was sent recently: a replay, or a peer that does
    /// not hear us (normal for the first heartbeat of a handshake).
    Stale,
    /// The node id is not in our router list.
    UnknownPeer,
    /// The source address is not one of that peer's configured addresses.
    WrongSource,
    /// Our own node id: a loop or a copy of our own packet.
    SelfEcho,
}

impl DropReason {
    /// Every reason, in the order status output lists them.
    pub const ALL: [DropReason; 12] = [
        DropReason::Truncated,
        DropReason::Oversized,
        DropReason::BadMagic,
        DropReason::BadVersion,
        DropReason::BadMac,
        DropReason::BadField,
        DropReason::Incompatible,
        DropReason::Replay,
        DropReason::Stale,
        DropReason::UnknownPeer,
        DropReason::WrongSource,
        DropReason::SelfEcho,
    ];

    /// Stable snake_case name for status output.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Truncated => "truncated",
            DropReason::Oversized => "oversized",
            DropReason::BadMagic => "bad_magic",
            DropReason::BadVersion => "bad_version",
            DropReason::BadMac => "bad_mac",
            DropReason::BadField => "bad_field",
            DropReason::Incompatible => "incompatible",
            DropReason::Replay => "replay",
            DropReason::Stale => "stale",
            DropReason::UnknownPeer => "unknown_peer",
            DropReason::WrongSource => "wrong_source",
            DropReason::SelfEcho => "self_echo",
        }
    }

    fn index(self) -> usize {
        DropReason::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

/// Counters of dropped heartbeats, one per [`DropReason`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DropCounters([u64; 12]);

impl DropCounters {
    /// Counts one drop.
    pub fn count(&mut self, reason: DropReason) {
        let slot = &mut self.0[reason.index()];
        *slot = slot.saturating_add(1);
    }
    /// Drops counted for `reason`.
    pub fn get(&self, reason: DropReason) -> u64 {
        self.0[reason.index()]
    }
    /// All drops.
    pub fn total(&self) -> u64 {
        self.0.iter().fold(0u64, |a, b| a.saturating_add(*b))
    }
    /// `(reason, count)` pairs in [`DropReason::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL.iter().map(|r| (*r, self.get(*r)))
    }
}

/// The shared heartbeat key, kept as a keyed HMAC state. `Debug` never
/// shows it.
#[derive(Clone)]
pub struct Key {
    mac: HmacSha256,
    len: usize,
}

/// Shortest key we accept, in bytes.
pub const MIN_KEY_LEN: usize = 16;

impl Key {
    /// Wraps key bytes; `None` when shorter than [`MIN_KEY_LEN`].
    pub fn new(bytes: Vec<u8>) -> Option<Key> {
        if bytes.len() < MIN_KEY_LEN {
            return None;
        }
        let mac = <HmacSha256 as Mac>::new_from_slice(&bytes).ok()?;
        Some(Key { mac, len: bytes.len() })
    }

    fn mac(&self) -> HmacSha256 {
        self.mac.clone()
    }

    /// The HMAC-SHA256 of `bytes` (for other authenticated messages on the
    /// heartbeat sockets, `share`).
    pub fn sign(&self, bytes: &[u8]) -> [u8; MAC_LEN] {
        let mut m = self.mac();
        m.update(bytes);
        m.finalize().into_bytes().into()
    }

    /// Whether `tag` is the HMAC of `bytes`, compared in constant time.
    pub fn verify(&self, bytes: &[u8], tag: &[u8]) -> bool {
        let mut m = self.mac();
        m.update(bytes);
        m.verify_slice(tag).is_ok()
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({} bytes)", self.len)
    }
}

/// Encodes and signs a native heartbeat. Echoes beyond [`MAX_ECHOES`] are
/// left out (settings refuse pools that would need more).
pub fn encode_native(hb: &Heartbeat, key: &Key) -> Vec<u8> {
    let echoes = &hb.echoes[..hb.echoes.len().min(MAX_ECHOES)];
    let mut b = vec![0u8; NATIVE_HEADER_LEN];
    b[0..4].copy_from_slice(&NATIVE_MAGIC);
    b[4] = NATIVE_VERSION;
    b[5] = match hb.role {
        Role::Standby => 0,
        Role::Active => 1,
    };
    b[6] = hb.faults.0;
    b[7] = hb.priority;
    b[8..12].copy_from_slice(&hb.node_id.to_be_bytes());
    b[12..16].copy_from_slice(&hb.epoch.to_be_bytes());
    b[16..24].copy_from_slice(&hb.boot_id.to_be_bytes());
    b[24..32].copy_from_slice(&hb.seq.to_be_bytes());
    b[32] = hb.flags;
    b[33] = u8::try_from(echoes.len()).unwrap_or(u8::MAX);
    b[36..68].copy_from_slice(&hb.config_digest);
    for e in echoes {
        b.extend_from_slice(&e.node_id.to_be_bytes());
        b.extend_from_slice(&e.boot_id.to_be_bytes());
        b.extend_from_slice(&e.seq.to_be_bytes());
    }
    let mut mac = key.mac();
    mac.update(&b);
    let tag = mac.finalize().into_bytes();
    b.extend_from_slice(&tag);
    b
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_be_bytes(a)
}

fn be_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(a)
}

/// Checks and decodes a native heartbeat. The MAC is verified (in constant
/// time) before any field is trusted, except the echo count, which only
/// decides where the MAC lies.
///
/// # Errors
/// The [`DropReason`] for anything that is not a well-formed, authentic
/// native heartbeat. Replay and freshness checks are `freshness`'s job.
pub fn decode_native(buf: &[u8], key: &Key) -> Result<Heartbeat, DropReason> {
    if buf.len() >= 4 && buf[0..4] != NATIVE_MAGIC {
        return Err(DropReason::BadMagic);
    }
    if buf.len() >= 5 && buf[4] != NATIVE_VERSION {
        return Err(DropReason::BadVersion);
    }
    if buf.len() < NATIVE_MIN_LEN {
        return Err(DropReason::Truncated);
    }
    let n = usize::from(buf[33]);
    if n > MAX_ECHOES {
        return Err(DropReason::BadField);
    }
    let len = NATIVE_MIN_LEN + n * ECHO_LEN;
    if buf.len() < len {
        return Err(DropReason::Truncated);
    }
    if buf.len() > len {
        return Err(DropReason::Oversized);
    }
    let mac_at = len - MAC_LEN;
    let mut mac = key.mac();
    mac.update(&buf[..mac_at]);
    if mac.verify_slice(&buf[mac_at..]).is_err() {
        return Err(DropReason::BadMac);
    }
    let role = match buf[5] {
        0 => Role::Standby,
        1 => Role::Active,
        _ => return Err(DropReason::BadField),
    };
    let seq = be_u64(buf, 24);
    if seq == 0 {
        return Err(DropReason::BadField);
    }
    let mut config_digest = [0u8; DIGEST_LEN];
    config_digest.copy_from_slice(&buf[36..68]);
    let echoes = (0..n)
        .map(|k| {
            let at = NATIVE_HEADER_LEN + k * ECHO_LEN;
            Echo {
                node_id: be_u32(buf, at),
                boot_id: be_u64(buf, at + 4),
                seq: be_u64(buf, at + 12),
            }
        })
        .collect();
    Ok(Heartbeat {
        node_id: be_u32(buf, 8),
        role,
        faults: Faults(buf[6]),
        priority: buf[7],
        epoch: be_u32(buf, 12),
        boot_id: be_u64(buf, 16),
        seq,
        flags: buf[32],
        config_digest,
        echoes,
    })
}

/// Byte order of a piranha magic on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteOrder {
    /// x86 and most piranha installations.
    Little,
    /// Big-endian hosts.
    Big,
}

impl ByteOrder {
    /// This host's order, which piranha uses when sending.
    pub fn host() -> ByteOrder {
        if cfg!(target_endian = "big") {
            ByteOrder::Big
        } else {
            ByteOrder::Little
        }
    }
}

/// Encodes a piranha LVS-mode heartbeat.
pub fn encode_piranha(role: Role, order: ByteOrder) -> [u8; PIRANHA_LEN] {
    let magic = match role {
        Role::Active => PIRANHA_LVS_RUNNING,
        Role::Standby => PIRANHA_LVS_STOPPED,
    };
    match order {
        ByteOrder::Little => magic.to_le_bytes(),
        ByteOrder::Big => magic.to_be_bytes(),
    }
}

/// Decodes a piranha heartbeat in either byte order.
///
/// # Errors
/// [`DropReason::Truncated`]/[`DropReason::Oversized`] for a length other
/// than 4, [`DropReason::Incompatible`] for FOS-mode magics and
/// [`DropReason::BadMagic`] for anything else.
pub fn decode_piranha(buf: &[u8]) -> Result<Role, DropReason> {
    if buf.len() < PIRANHA_LEN {
        return Err(DropReason::Truncated);
    }
    if buf.len() > PIRANHA_LEN {
        return Err(DropReason::Oversized);
    }
    let mut a = [0u8; 4];
    a.copy_from_slice(buf);
    for magic in [u32::from_le_bytes(a), u32::from_be_bytes(a)] {
        match magic {
            PIRANHA_LVS_RUNNING => return Ok(Role::Active),
            PIRANHA_LVS_STOPPED => return Ok(Role::Standby),
            m if PIRANHA_FOS.contains(&m) => return Err(DropReason::Incompatible),
            _ => {}
        }
    }
    Err(DropReason::BadMagic)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        Key::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap()
    }

    fn sample() -> Heartbeat {
        Heartbeat {
            node_id: 0x0102_0304,
            role: Role::Active,
            faults: Faults::LINK_FAIL,
            priority: 254,
            epoch: 7,
            boot_id: 0x1122_3344_5566_7788,
            seq: 42,
            flags: 0x01,
            config_digest: [0xab; 32],
            echoes: vec![
                Echo { node_id: 2, boot_id: 0x99, seq: 5 },
                Echo { node_id: 3, boot_id: u64::MAX, seq: 1 },
            ],
        }
    }

    fn resign(b: &mut [u8]) {
        let at = b.len() - MAC_LEN;
        let mut m = key().mac();
        m.update(&b[..at]);
        b[at..].copy_from_slice(&m.finalize().into_bytes());
    }

    #[test]
    fn native_layout_is_exact() {
        let b = encode_native(&sample(), &key());
        assert_eq!(b.len(), 100 + 2 * 20);
        #[rustfmt::skip]
        let head: [u8; 36] = [
            b'L', b'V', b'S', b'P', // magic
            2,                      // version
            1,                      // role: active
            2,                      // faults: linkfail
            254,                    // priority
            0x01, 0x02, 0x03, 0x04, // node id
            0, 0, 0, 7,             // epoch
            0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, // boot id
            0, 0, 0, 0, 0, 0, 0, 42, // seq
            0x01,                   // flags
            2,                      // echo count
            0, 0,                   // reserved
        ];
        assert_eq!(&b[..36], &head);
        assert_eq!(&b[36..68], &[0xab; 32]);
        #[rustfmt::skip]
        let echoes: [u8; 40] = [
            0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 5,
            0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1,
        ];
        assert_eq!(&b[68..108], &echoes);
        // The MAC is HMAC-SHA256(key, every byte before it), computed
        // independently.
        let mut m =
            <HmacSha256 as Mac>::new_from_slice(b"0123456789abcdef0123456789abcdef").unwrap();
        m.update(&b[..108]);
        assert_eq!(&b[108..], m.finalize().into_bytes().as_slice());
        assert_eq!(decode_native(&b, &key()), Ok(sample()));
        // No echoes: the shortest heartbeat.
        let mut bare = sample();
        bare.echoes.clear();
        let b = encode_native(&bare, &key());
        assert_eq!(b.len(), NATIVE_MIN_LEN);
        assert_eq!(decode_native(&b, &key()), Ok(bare));
    }

    #[test]
    fn native_drops_have_typed_reasons() {
        let good = encode_native(&sample(), &key());
        let n = good.len();
        assert_eq!(decode_native(&good[..n - 1], &key()), Err(DropReason::Truncated));
        assert_eq!(decode_native(&good[..NATIVE_MIN_LEN], &key()), Err(DropReason::Truncated));
        assert_eq!(decode_native(&good[..2], &key()), Err(DropReason::Truncated));
        assert_eq!(decode_native(&[], &key()), Err(DropReason::Truncated));
        let mut long = good.clone();
        long.push(0);
        assert_eq!(decode_native(&long, &key()), Err(DropReason::Oversized));
        let mut v = good.clone();
        v[4] = 1;
        assert_eq!(decode_native(&v, &key()), Err(DropReason::BadVersion), "version 1 is gone");
        assert_eq!(decode_native(&v[..5], &key()), Err(DropReason::BadVersion));
        assert_eq!(decode_native(b"\xda\xdb\xad\xbd", &key()), Err(DropReason::BadMagic));
        // Any flipped bit in the body or the MAC is a forgery (the echo
        // count moves the MAC, so it reads as a length error).
        for i in 5..n {
            let mut f = good.clone();
            f[i] ^= 0x01;
            let want = if i == 33 { DropReason::Truncated } else { DropReason::BadMac };
            assert_eq!(decode_native(&f, &key()), Err(want), "byte {i}");
        }
        let other = Key::new(b"another key, sixteen or more".to_vec()).unwrap();
        assert_eq!(decode_native(&good, &other), Err(DropReason::BadMac));
        // A count beyond the limit is refused before any length arithmetic.
        let mut big = good.clone();
        big[33] = u8::try_from(MAX_ECHOES + 1).unwrap();
        assert_eq!(decode_native(&big, &key()), Err(DropReason::BadField));
    }

    #[test]
    fn authenticated_but_impossible_fields_are_dropped() {
        let mut hb = sample();
        hb.seq = 0;
        assert_eq!(decode_native(&encode_native(&hb, &key()), &key()), Err(DropReason::BadField));
        let mut b = encode_native(&sample(), &key());
        b[5] = 9;
        resign(&mut b);
        assert_eq!(decode_native(&b, &key()), Err(DropReason::BadField));
        // Unknown flag bits and reserved bytes are carried, not refused.
        let mut b = encode_native(&sample(), &key());
        b[32] = 0xfe;
        b[34] = 1;
        resign(&mut b);
        assert_eq!(decode_native(&b, &key()).map(|h| h.flags), Ok(0xfe));
    }

    #[test]
    fn the_largest_heartbeat_fits_one_frame() {
        let mut hb = sample();
        hb.echoes = vec![Echo { node_id: 1, boot_id: 2, seq: 3 }; MAX_ECHOES + 5];
        let b = encode_native(&hb, &key());
        assert_eq!(b.len(), NATIVE_MAX_LEN);
        const { assert!(NATIVE_MAX_LEN <= 1400) };
        assert_eq!(decode_native(&b, &key()).map(|h| h.echoes.len()), Ok(MAX_ECHOES));
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(Key::new(vec![1; MIN_KEY_LEN - 1]).is_none());
        assert!(Key::new(vec![1; MIN_KEY_LEN]).is_some());
        assert_eq!(format!("{:?}", key()), "Key(32 bytes)");
    }

    #[test]
    fn piranha_magics_are_exact() {
        assert_eq!(encode_piranha(Role::Active, ByteOrder::Little), [0xda, 0xdb, 0xad, 0xbd]);
        assert_eq!(encode_piranha(Role::Standby, ByteOrder::Little), [0xbd, 0xda, 0xbd, 0xad]);
        assert_eq!(encode_piranha(Role::Active, ByteOrder::Big), [0xbd, 0xad, 0xdb, 0xda]);
        assert_eq!(encode_piranha(Role::Standby, ByteOrder::Big), [0xad, 0xbd, 0xda, 0xbd]);
        for order in [ByteOrder::Little, ByteOrder::Big] {
            for role in [Role::Active, Role::Standby] {
                assert_eq!(decode_piranha(&encode_piranha(role, order)), Ok(role));
            }
        }
    }

    #[test]
    fn piranha_drops() {
        assert_eq!(decode_piranha(&[0xda, 0xdb, 0xad]), Err(DropReason::Truncated));
        assert_eq!(decode_piranha(&[0xda, 0xdb, 0xad, 0xbd, 0]), Err(DropReason::Oversized));
        assert_eq!(decode_piranha(&0xdead_beefu32.to_le_bytes()), Err(DropReason::Incompatible));
        assert_eq!(decode_piranha(&0xdead_dadau32.to_be_bytes()), Err(DropReason::Incompatible));
        assert_eq!(decode_piranha(b"LVSP"), Err(DropReason::BadMagic));
    }

    #[test]
    fn counters() {
        let mut c = DropCounters::default();
        c.count(DropReason::BadMac);
        c.count(DropReason::BadMac);
        c.count(DropReason::SelfEcho);
        assert_eq!(c.get(DropReason::BadMac), 2);
        assert_eq!(c.total(), 3);
        assert_eq!(c.iter().count(), DropReason::ALL.len());
    }
}
