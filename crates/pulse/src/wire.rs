//! Heartbeat wire formats, pure bytes in and out: pulse's native
//! authenticated heartbeat and piranha's 4-byte magics (compatibility mode).
//!
//! Nothing here touches a socket or a clock: the caller passes the bytes it
//! received and, for replay checks, the wall-clock time it read.
//!
//! # Native heartbeat (version 1), 104 bytes, integers big-endian
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `LVSP` |
//! | 4 | 1 | version (1) |
//! | 5 | 1 | role: 0 standby, 1 active |
//! | 6 | 1 | fault flags ([`Faults`], bits 0-6); bit 7: the sender's lvsd table is complete ([`Heartbeat::ready`]) |
//! | 7 | 1 | priority (255 minus the sender's position in the router list) |
//! | 8 | 4 | node id |
//! | 12 | 4 | take-over epoch |
//! | 16 | 8 | boot id (random per process start) |
//! | 24 | 8 | sequence number, starts at 1 per boot, strictly increasing |
//! | 32 | 8 | sender's wall clock, ms since the Unix epoch |
//! | 40 | 32 | SHA-256 digest of the cluster configuration |
//! | 72 | 32 | HMAC-SHA256 over bytes 0..72 with the shared key |
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
pub const NATIVE_VERSION: u8 = 1;
/// Length of a native heartbeat; any other length is dropped.
pub const NATIVE_LEN: usize = 104;
/// Length of the configuration digest.
pub const DIGEST_LEN: usize = 32;
const MAC_OFFSET: usize = 72;

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
        let unknown = self.0 & !15;
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

/// One decoded native heartbeat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    /// Sender's node id (its `node_id` in the router list).
    pub node_id: u32,
    /// Sender's role.
    pub role: Role,
    /// Sender's faults.
    pub faults: Faults,
    /// The sender's lvsd has its table complete (every nanny gave a first
    /// verdict): a standby that can take over with the table ready.
    pub ready: bool,
    /// 255 minus the sender's position in its router list.
    pub priority: u8,
    /// Sender's take-over epoch (raised by an operator take-over).
    pub epoch: u32,
    /// Random id of the sender's process start.
    pub boot_id: u64,
    /// Per-boot sequence number.
    pub seq: u64,
    /// Sender's wall clock in ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// SHA-256 of the sender's cluster configuration.
    pub config_digest: [u8; DIGEST_LEN],
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
    /// Authenticated first contact whose timestamp is too far from our clock.
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
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({} bytes)", self.len)
    }
}

/// Encodes and signs a native heartbeat.
pub fn encode_native(hb: &Heartbeat, key: &Key) -> [u8; NATIVE_LEN] {
    let mut b = [0u8; NATIVE_LEN];
    b[0..4].copy_from_slice(&NATIVE_MAGIC);
    b[4] = NATIVE_VERSION;
    b[5] = match hb.role {
        Role::Standby => 0,
        Role::Active => 1,
    };
    b[6] = (hb.faults.0 & !READY_BIT) | if hb.ready { READY_BIT } else { 0 };
    b[7] = hb.priority;
    b[8..12].copy_from_slice(&hb.node_id.to_be_bytes());
    b[12..16].copy_from_slice(&hb.epoch.to_be_bytes());
    b[16..24].copy_from_slice(&hb.boot_id.to_be_bytes());
    b[24..32].copy_from_slice(&hb.seq.to_be_bytes());
    b[32..40].copy_from_slice(&hb.timestamp_ms.to_be_bytes());
    b[40..72].copy_from_slice(&hb.config_digest);
    let mut mac = key.mac();
    mac.update(&b[..MAC_OFFSET]);
    b[MAC_OFFSET..].copy_from_slice(&mac.finalize().into_bytes());
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
/// time) before any field is trusted.
///
/// # Errors
/// The [`DropReason`] for anything that is not a well-formed, authentic
/// native heartbeat. Replay checks are [`ReplayGuard`]'s job.
pub fn decode_native(buf: &[u8], key: &Key) -> Result<Heartbeat, DropReason> {
    if buf.len() >= 4 && buf[0..4] != NATIVE_MAGIC {
        return Err(DropReason::BadMagic);
    }
    if buf.len() < NATIVE_LEN {
        return Err(DropReason::Truncated);
    }
    if buf.len() > NATIVE_LEN {
        return Err(DropReason::Oversized);
    }
    if buf[4] != NATIVE_VERSION {
        return Err(DropReason::BadVersion);
    }
    let mut mac = key.mac();
    mac.update(&buf[..MAC_OFFSET]);
    if mac.verify_slice(&buf[MAC_OFFSET..]).is_err() {
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
    config_digest.copy_from_slice(&buf[40..72]);
    Ok(Heartbeat {
        node_id: be_u32(buf, 8),
        role,
        faults: Faults(buf[6] & !READY_BIT),
        ready: buf[6] & READY_BIT != 0,
        priority: buf[7],
        epoch: be_u32(buf, 12),
        boot_id: be_u64(buf, 16),
        seq,
        timestamp_ms: be_u64(buf, 32),
        config_digest,
    })
}

/// Bit 7 of the fault byte: the table is ready. (A pulse from before it
/// sees the bit as an unknown fault, so during a rolling upgrade of a pool
/// an old router takes a ready new one for faulted: not eligible.)
const READY_BIT: u8 = 0x80;

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

/// Per-peer replay state: the newest (boot, seq, timestamp) accepted.
///
/// Within one boot the sequence must strictly increase. A new boot id is
/// accepted only with a timestamp newer than the last accepted one, so that
/// packets recorded before a peer restarted cannot be replayed after it.
/// On first contact the timestamp must lie within `max_skew_ms` of our own
/// clock (0 disables that check), which bounds how old a replayed recording
/// can be right after we restart.
#[derive(Clone, Debug, Default)]
pub struct ReplayGuard {
    last: Option<(u64, u64, u64)>,
}

impl ReplayGuard {
    /// Accepts `hb` and remembers it, or says why it is dropped.
    ///
    /// # Errors
    /// [`DropReason::Replay`] or [`DropReason::Stale`].
    pub fn accept(
        &mut self,
        hb: &Heartbeat,
        now_wall_ms: u64,
        max_skew_ms: u64,
    ) -> Result<(), DropReason> {
        match self.last {
            None => {
                if max_skew_ms > 0 && hb.timestamp_ms.abs_diff(now_wall_ms) > max_skew_ms {
                    return Err(DropReason::Stale);
                }
            }
            Some((boot, seq, _)) if boot == hb.boot_id => {
                if hb.seq <= seq {
                    return Err(DropReason::Replay);
                }
            }
            Some((_, _, ts)) => {
                if hb.timestamp_ms <= ts {
                    return Err(DropReason::Replay);
                }
            }
        }
        self.last = Some((hb.boot_id, hb.seq, hb.timestamp_ms));
        Ok(())
    }
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
            ready: true,
            priority: 254,
            epoch: 7,
            boot_id: 0x1122_3344_5566_7788,
            seq: 42,
            timestamp_ms: 1_700_000_000_123,
            config_digest: [0xab; 32],
        }
    }

    #[test]
    fn native_layout_is_exact() {
        let b = encode_native(&sample(), &key());
        #[rustfmt::skip]
        let head: [u8; 40] = [
            b'L', b'V', b'S', b'P', // magic
            1,                      // version
            1,                      // role: active
            0x82,                   // faults: linkfail; bit 7: ready
            254,                    // priority
            0x01, 0x02, 0x03, 0x04, // node id
            0, 0, 0, 7,             // epoch
            0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, // boot id
            0, 0, 0, 0, 0, 0, 0, 42, // seq
            0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x7b, // timestamp 1700000000123
        ];
        assert_eq!(&b[..40], &head);
        assert_eq!(&b[40..72], &[0xab; 32]);
        // The MAC is HMAC-SHA256(key, bytes 0..72), computed independently.
        let mut m =
            <HmacSha256 as Mac>::new_from_slice(b"0123456789abcdef0123456789abcdef").unwrap();
        m.update(&b[..72]);
        assert_eq!(&b[72..], m.finalize().into_bytes().as_slice());
        assert_eq!(decode_native(&b, &key()), Ok(sample()));
    }

    #[test]
    fn native_drops_have_typed_reasons() {
        let good = encode_native(&sample(), &key());
        assert_eq!(decode_native(&good[..NATIVE_LEN - 1], &key()), Err(DropReason::Truncated));
        assert_eq!(decode_native(&good[..2], &key()), Err(DropReason::Truncated));
        assert_eq!(decode_native(&[], &key()), Err(DropReason::Truncated));
        let mut long = good.to_vec();
        long.push(0);
        assert_eq!(decode_native(&long, &key()), Err(DropReason::Oversized));
        let mut v = good;
        v[4] = 2;
        assert_eq!(decode_native(&v, &key()), Err(DropReason::BadVersion));
        assert_eq!(decode_native(b"\xda\xdb\xad\xbd", &key()), Err(DropReason::BadMagic));
        // Any flipped bit in the body or the MAC is a forgery.
        for i in 5..NATIVE_LEN {
            let mut f = good;
            f[i] ^= 0x01;
            assert_eq!(decode_native(&f, &key()), Err(DropReason::BadMac), "byte {i}");
        }
        let other = Key::new(b"another key, sixteen or more".to_vec()).unwrap();
        assert_eq!(decode_native(&good, &other), Err(DropReason::BadMac));
    }

    #[test]
    fn authenticated_but_impossible_fields_are_dropped() {
        let mut hb = sample();
        hb.seq = 0;
        assert_eq!(decode_native(&encode_native(&hb, &key()), &key()), Err(DropReason::BadField));
        let mut b = encode_native(&sample(), &key());
        b[5] = 9;
        let mut m = key().mac();
        m.update(&b[..72]);
        b[72..].copy_from_slice(&m.finalize().into_bytes());
        assert_eq!(decode_native(&b, &key()), Err(DropReason::BadField));
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
    fn replay_guard() {
        let now = 1_700_000_000_000;
        let mut g = ReplayGuard::default();
        let mut hb = sample();
        hb.timestamp_ms = now;
        // First contact far from our clock is stale.
        let mut old = hb.clone();
        old.timestamp_ms = now - 120_000;
        assert_eq!(g.accept(&old, now, 60_000), Err(DropReason::Stale));
        assert_eq!(g.accept(&hb, now, 60_000), Ok(()));
        assert_eq!(g.accept(&hb, now, 60_000), Err(DropReason::Replay));
        let mut earlier = hb.clone();
        earlier.seq -= 1;
        assert_eq!(g.accept(&earlier, now, 60_000), Err(DropReason::Replay));
        let mut next = hb.clone();
        next.seq += 1;
        next.timestamp_ms += 1000;
        assert_eq!(g.accept(&next, now, 60_000), Ok(()));
        // A restarted peer: new boot id, newer clock, seq from 1.
        let mut reboot = next.clone();
        reboot.boot_id ^= 1;
        reboot.seq = 1;
        reboot.timestamp_ms += 5000;
        // The previous boot's packets replayed after the restart.
        assert_eq!(g.accept(&reboot, now, 60_000), Ok(()));
        let mut replayed = next.clone();
        replayed.seq += 100;
        assert_eq!(g.accept(&replayed, now, 60_000), Err(DropReason::Replay));
        // Skew 0 disables the first-contact check.
        assert_eq!(ReplayGuard::default().accept(&old, now, 0), Ok(()));
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
