//! Clock-free heartbeat freshness, pure: is an authentic heartbeat recent,
//! or a replay of any age? Decided without any router's wall clock.
//!
//! Every heartbeat we send carries our random boot id and a new sequence
//! number, and we remember when (monotonic) we sent each one ([`SentLog`]).
//! Every heartbeat also echoes the newest (boot id, sequence) its sender
//! heard from each peer. A peer's heartbeat that echoes our current boot
//! and sequence *s* was sent after it heard *s*, so after we sent *s*: it
//! proves the peer alive at `sent(s)` at least. We credit it as heard at
//! `min(arrival, sent(s) + keepalive)`: a live peer echoes a heartbeat at
//! most about one keepalive old, so honest heartbeats lose nothing (up to
//! the network delay), while a recorded heartbeat, replayed at any speed
//! and any age, cannot count as heard later than one keepalive after the
//! newest of our heartbeats its sender heard before it died. The peer is
//! therefore dead by `death + keepalive + deadtime` at the latest.
//!
//! A heartbeat that proves nothing (its sender has not heard us yet, or
//! only long ago) is *unproven*: it never counts as alive and its role is
//! ignored, but we echo it, and answer it at once ([`Verdict::Unproven`]
//! `answer`), so the handshake at start, after a restart of either side or
//! after a partition heals takes one round trip, not a keepalive.
//!
//! Per peer we echo two heartbeats: the newest of the boot that last proved
//! itself (`confirmed`) and the newest of any other boot (`candidate`: a
//! restarted peer, or a replay of an old boot). Replays of old boots can
//! only ever take the candidate slot, so they cannot stop us answering a
//! live peer; and since the answer leaves in the same step as the packet
//! that asked, nothing can be slipped in between.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::wire::{DropReason, Echo, Heartbeat};

/// Most sends remembered; at one heartbeat per keepalive plus answers this
/// covers far more than `keepalive + deadtime`.
const SENT_CAP: usize = 4096;
/// Recent boots of one peer whose newest sequence (and last answer) we
/// remember beyond the two echo slots.
const RECENT_CAP: usize = 8;

/// When each of our recent heartbeats left (monotonic).
#[derive(Clone, Debug, Default)]
pub struct SentLog {
    sent: VecDeque<(u64, Instant)>,
}

impl SentLog {
    /// Remembers that sequence `seq` left at `at`, forgetting sends older
    /// than `keep` (they could no longer prove anything alive).
    pub fn record(&mut self, seq: u64, at: Instant, keep: Duration) {
        while self.sent.front().is_some_and(|(_, t)| at.saturating_duration_since(*t) > keep)
            || self.sent.len() >= SENT_CAP
        {
            self.sent.pop_front();
        }
        self.sent.push_back((seq, at));
    }

    /// When `seq` left, if it is still remembered.
    pub fn sent_at(&self, seq: u64) -> Option<Instant> {
        let i = self.sent.binary_search_by_key(&seq, |(s, _)| *s).ok()?;
        Some(self.sent[i].1)
    }
}

/// Who we are, as peers echo us.
#[derive(Clone, Copy, Debug)]
pub struct Me {
    /// Our node id.
    pub node_id: u32,
    /// Our boot id.
    pub boot_id: u64,
}

/// The heartbeat timers.
#[derive(Clone, Copy, Debug)]
pub struct Timers {
    /// Our heartbeat interval.
    pub keepalive: Duration,
    /// Silence after which a peer is dead.
    pub deadtime: Duration,
}

/// What an authentic heartbeat that is not a replay within its boot proves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The peer was alive at `heard` (never later than the arrival).
    Proven {
        /// Time to count the peer as last heard.
        heard: Instant,
    },
    /// Nothing about when it was sent: do not count the peer alive.
    Unproven {
        /// Send a heartbeat now so that the peer can prove itself (rate
        /// limited per peer boot).
        answer: bool,
        /// How long this peer's heartbeats have arrived without proof.
        since: Duration,
    },
}

#[derive(Clone, Copy, Debug)]
struct Recent {
    boot: u64,
    seq: u64,
    answered: Option<Instant>,
}

/// Per-peer freshness state.
#[derive(Clone, Debug, Default)]
pub struct PeerFreshness {
    /// Newest (boot, seq) of the boot that last proved itself.
    confirmed: Option<(u64, u64)>,
    /// Newest (boot, seq) of another boot, unproven.
    candidate: Option<(u64, u64)>,
    /// Recent boots of this peer: newest sequence accepted, and when we
    /// last answered it. Replays of a boot's older heartbeats stay replays
    /// even after another boot took the candidate slot, so they cannot use
    /// up the answers that boot's new heartbeats are owed.
    recent: Vec<Recent>,
    /// First unproven heartbeat since the last proven one.
    unproven_since: Option<Instant>,
}

impl PeerFreshness {
    /// Checks one authentic heartbeat of this peer, received at `now`.
    ///
    /// # Errors
    /// [`DropReason::Replay`] when it is not newer than what this boot of
    /// the peer already sent.
    pub fn check(
        &mut self,
        hb: &Heartbeat,
        me: Me,
        sent: &SentLog,
        t: Timers,
        now: Instant,
    ) -> Result<Verdict, DropReason> {
        let newest = [self.confirmed, self.candidate]
            .into_iter()
            .flatten()
            .chain(self.recent.iter().map(|r| (r.boot, r.seq)))
            .filter(|(boot, _)| *boot == hb.boot_id)
            .map(|(_, seq)| seq)
            .max();
        if newest.is_some_and(|seq| hb.seq <= seq) {
            return Err(DropReason::Replay);
        }
        let at = match self.recent.iter().position(|r| r.boot == hb.boot_id) {
            Some(at) => at,
            None => {
                if self.recent.len() >= RECENT_CAP {
                    self.recent.remove(0);
                }
                self.recent.push(Recent { boot: hb.boot_id, seq: hb.seq, answered: None });
                self.recent.len() - 1
            }
        };
        self.recent[at].seq = hb.seq;
        let echoed = hb
            .echoes
            .iter()
            .filter(|e| e.node_id == me.node_id && e.boot_id == me.boot_id)
            .map(|e| e.seq)
            .max();
        let proof = echoed
            .and_then(|s| sent.sent_at(s))
            .filter(|at| now.saturating_duration_since(*at) < t.keepalive + t.deadtime);
        if let Some(at) = proof {
            self.confirmed = Some((hb.boot_id, hb.seq));
            if self.candidate.is_some_and(|(b, _)| b == hb.boot_id) {
                self.candidate = None;
            }
            self.unproven_since = None;
            return Ok(Verdict::Proven { heard: now.min(at + t.keepalive) });
        }
        if self.confirmed.is_some_and(|(b, _)| b == hb.boot_id) {
            self.confirmed = Some((hb.boot_id, hb.seq));
        } else {
            self.candidate = Some((hb.boot_id, hb.seq));
        }
        let since = *self.unproven_since.get_or_insert(now);
        let recent = &mut self.recent[at];
        let answer =
            recent.answered.is_none_or(|a| now.saturating_duration_since(a) >= t.keepalive / 4);
        if answer {
            recent.answered = Some(now);
        }
        Ok(Verdict::Unproven { answer, since: now.saturating_duration_since(since) })
    }

    /// What to echo of this peer (`node_id`) in our heartbeats.
    pub fn echoes(&self, node_id: u32) -> impl Iterator<Item = Echo> + '_ {
        [self.confirmed, self.candidate].into_iter().flatten().map(move |(boot_id, seq)| Echo {
            node_id,
            boot_id,
            seq,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Faults, Role};

    const K: Duration = Duration::from_millis(100);
    const D: Duration = Duration::from_millis(1000);
    const T: Timers = Timers { keepalive: K, deadtime: D };
    const ME: Me = Me { node_id: 1, boot_id: 0xaaaa };

    fn hb(boot: u64, seq: u64, echoes: &[(u64, u64)]) -> Heartbeat {
        Heartbeat {
            node_id: 2,
            role: Role::Active,
            faults: Faults::NONE,
            priority: 254,
            epoch: 0,
            boot_id: boot,
            seq,
            flags: 0,
            config_digest: [0; 32],
            echoes: echoes.iter().map(|&(b, s)| Echo { node_id: 1, boot_id: b, seq: s }).collect(),
        }
    }

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    #[test]
    fn sent_log_forgets_old_sends() {
        let t0 = Instant::now();
        let mut l = SentLog::default();
        for s in 1..=30 {
            l.record(s, ms(t0, s * 100), K + D);
        }
        assert_eq!(l.sent_at(30), Some(ms(t0, 3000)));
        assert_eq!(l.sent_at(19), Some(ms(t0, 1900)));
        assert_eq!(l.sent_at(18), None, "older than keepalive + deadtime");
        assert_eq!(l.sent_at(31), None);
    }

    #[test]
    fn an_echo_of_a_recent_send_proves_the_peer_alive_then() {
        let t0 = Instant::now();
        let mut l = SentLog::default();
        l.record(7, ms(t0, 0), K + D);
        let mut p = PeerFreshness::default();
        // Echoed promptly: heard at arrival.
        let v = p.check(&hb(5, 1, &[(ME.boot_id, 7)]), ME, &l, T, ms(t0, 30));
        assert_eq!(v, Ok(Verdict::Proven { heard: ms(t0, 30) }));
        // The same echo much later: credited one keepalive after our send.
        let v = p.check(&hb(5, 2, &[(ME.boot_id, 7)]), ME, &l, T, ms(t0, 900));
        assert_eq!(v, Ok(Verdict::Proven { heard: ms(t0, 100) }));
        // Once that credit is dead, the echo proves nothing.
        let v = p.check(&hb(5, 3, &[(ME.boot_id, 7)]), ME, &l, T, ms(t0, 1100));
        assert!(matches!(v, Ok(Verdict::Unproven { .. })), "{v:?}");
        // Not newer within its boot: a replay.
        let v = p.check(&hb(5, 3, &[(ME.boot_id, 7)]), ME, &l, T, ms(t0, 1100));
        assert_eq!(v, Err(DropReason::Replay));
        assert_eq!(p.check(&hb(5, 1, &[]), ME, &l, T, ms(t0, 1100)), Err(DropReason::Replay));
    }

    #[test]
    fn echoes_of_another_boot_or_peer_or_unknown_seq_prove_nothing() {
        let t0 = Instant::now();
        let mut l = SentLog::default();
        l.record(7, ms(t0, 0), K + D);
        let mut p = PeerFreshness::default();
        for (seq, e) in [(1, (0xbbbb, 7)), (2, (ME.boot_id, 8)), (3, (ME.boot_id, 6))] {
            let v = p.check(&hb(5, seq, &[e]), ME, &l, T, ms(t0, 10));
            assert!(matches!(v, Ok(Verdict::Unproven { .. })), "{e:?}");
        }
        let mut other = hb(5, 4, &[(ME.boot_id, 7)]);
        other.echoes[0].node_id = 3;
        assert!(matches!(p.check(&other, ME, &l, T, ms(t0, 10)), Ok(Verdict::Unproven { .. })));
    }

    #[test]
    fn a_replay_of_any_age_and_speed_is_never_heard_after_death_plus_keepalive() {
        // The peer lived while we sent seq 1..=20 (one per 100 ms) and echoed
        // each; it died at 2,000 ms. Its heartbeats are replayed from then on
        // at every speed; none may count as heard after 2,000 + K.
        let t0 = Instant::now();
        let capture: Vec<Heartbeat> = (1..=20).map(|s| hb(5, s, &[(ME.boot_id, s)])).collect();
        for gap_ms in [1, 50, 100, 400, 5_000] {
            let mut l = SentLog::default();
            let mut p = PeerFreshness::default();
            for s in 1..=20u64 {
                l.record(s, ms(t0, s * 100 - 100), K + D);
            }
            let mut latest = None;
            for (n, c) in capture.iter().enumerate() {
                let at = ms(t0, 2_000 + gap_ms * n as u64);
                if let Ok(Verdict::Proven { heard }) = p.check(c, ME, &l, T, at) {
                    latest = latest.max(Some(heard));
                }
            }
            if let Some(h) = latest {
                assert!(h <= ms(t0, 2_000) + K, "gap {gap_ms}: heard at {:?}", h - t0);
            }
        }
    }

    #[test]
    fn unproven_heartbeats_are_echoed_and_answered_at_a_bounded_rate() {
        let t0 = Instant::now();
        let l = SentLog::default();
        let mut p = PeerFreshness::default();
        let v = p.check(&hb(5, 1, &[]), ME, &l, T, ms(t0, 0));
        assert_eq!(v, Ok(Verdict::Unproven { answer: true, since: Duration::ZERO }));
        let v = p.check(&hb(5, 2, &[]), ME, &l, T, ms(t0, 10));
        assert_eq!(v, Ok(Verdict::Unproven { answer: false, since: Duration::from_millis(10) }));
        // Another boot (a restart, or a replay of an old one) has its own
        // budget, so replays cannot use up the answers a live peer needs.
        let v = p.check(&hb(6, 1, &[]), ME, &l, T, ms(t0, 11));
        assert!(matches!(v, Ok(Verdict::Unproven { answer: true, .. })));
        let v = p.check(&hb(5, 3, &[]), ME, &l, T, ms(t0, 30));
        assert!(matches!(v, Ok(Verdict::Unproven { answer: true, .. })), "after K/4");
        // Older heartbeats of a boot that lost the candidate slot are still
        // replays: they cannot spend that boot's answers.
        assert_eq!(p.check(&hb(6, 2, &[]), ME, &l, T, ms(t0, 31)).map(|_| ()), Ok(()));
        assert_eq!(p.check(&hb(5, 2, &[]), ME, &l, T, ms(t0, 60)), Err(DropReason::Replay));
        let v = p.check(&hb(5, 4, &[]), ME, &l, T, ms(t0, 61));
        assert!(matches!(v, Ok(Verdict::Unproven { answer: true, .. })), "{v:?}");
        // Only the newest candidate is echoed while nothing is confirmed.
        assert_eq!(p.echoes(2).collect::<Vec<_>>(), vec![Echo { node_id: 2, boot_id: 5, seq: 4 }]);
    }

    #[test]
    fn replays_of_old_boots_never_displace_the_confirmed_boot() {
        let t0 = Instant::now();
        let mut l = SentLog::default();
        l.record(1, ms(t0, 0), K + D);
        let mut p = PeerFreshness::default();
        assert!(matches!(
            p.check(&hb(5, 10, &[(ME.boot_id, 1)]), ME, &l, T, ms(t0, 5)),
            Ok(Verdict::Proven { .. })
        ));
        // An old boot's heartbeats: accepted as a candidate, proving nothing.
        for s in 1..5 {
            let v = p.check(&hb(4, s, &[(0x1234, 9)]), ME, &l, T, ms(t0, 10));
            assert!(matches!(v, Ok(Verdict::Unproven { .. })));
        }
        let e: Vec<Echo> = p.echoes(2).collect();
        assert_eq!(
            e,
            vec![Echo { node_id: 2, boot_id: 5, seq: 10 }, Echo { node_id: 2, boot_id: 4, seq: 4 }]
        );
        // The live boot goes on, and a restarted one that proves itself
        // takes over the confirmed slot.
        assert!(matches!(
            p.check(&hb(5, 11, &[(ME.boot_id, 1)]), ME, &l, T, ms(t0, 20)),
            Ok(Verdict::Proven { .. })
        ));
        assert!(matches!(
            p.check(&hb(9, 1, &[(ME.boot_id, 1)]), ME, &l, T, ms(t0, 30)),
            Ok(Verdict::Proven { .. })
        ));
        assert_eq!(p.echoes(2).next(), Some(Echo { node_id: 2, boot_id: 9, seq: 1 }));
    }
}
