//! Loud, rate-limited warnings about heartbeats that are dropped (or count
//! for less) for a reason an operator can fix: a wrong key, another pulse
//! version, router lists or configurations that differ, a peer that does
//! not hear us. Each kind is logged at once, then at most once a minute
//! per peer, with how many were held back.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::wire::DropReason;

/// Shortest gap between two warnings of one kind about one peer.
pub(super) const EVERY: Duration = Duration::from_secs(60);

/// What a warning is about: one slot each in the rate limiter. Peers are
/// router indices (`None`: a source that is not a listed router), so the
/// number of slots is bounded whatever the network sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Warn {
    /// Heartbeats dropped for this reason.
    Drop(DropReason, Option<usize>),
    /// Authentic heartbeats that have proven nothing for a dead time.
    Stale(usize),
    /// A peer with another configuration digest.
    Digest(usize),
}

/// The rate limiter.
#[derive(Clone, Debug, Default)]
pub(super) struct Warnings {
    /// Per kind: when it was last logged and how many were held back since.
    last: Vec<(Warn, Instant, u64)>,
}

impl Warnings {
    /// Logs `msg()` at warning level unless this kind was logged within
    /// [`EVERY`]; says whether it did.
    pub(super) fn warn(&mut self, w: Warn, now: Instant, msg: impl FnOnce() -> String) -> bool {
        match self.last.iter_mut().find(|(k, _, _)| *k == w) {
            Some((_, t, n)) if now.saturating_duration_since(*t) < EVERY => {
                *n += 1;
                false
            }
            Some((_, t, n)) => {
                let m = msg();
                log::warn!("{m} ({n} more since the last such warning)");
                *t = now;
                *n = 0;
                true
            }
            None => {
                log::warn!("{}", msg());
                self.last.push((w, now, 0));
                true
            }
        }
    }

    /// A heartbeat from `from` (router `owner`, named `name`) was dropped
    /// for `reason`: warns when an operator can fix the cause.
    pub(super) fn dropped(
        &mut self,
        reason: DropReason,
        from: IpAddr,
        owner: Option<usize>,
        name: Option<&str>,
        now: Instant,
    ) -> bool {
        let why = match reason {
            DropReason::BadMac => "its HMAC does not verify: another auth_key_file, or forged",
            DropReason::BadVersion => {
                "another native heartbeat version: run the same pulse release on every router"
            }
            DropReason::UnknownPeer => "its node id is not in our router list: the lists differ",
            DropReason::WrongSource => "its source address is not one listed for its node id",
            DropReason::Incompatible => "a piranha failover-services (fos) heartbeat, not LVS",
            DropReason::BadMagic if owner.is_some() => {
                "not our heartbeat format: is one router on protocol: piranha, the other native?"
            }
            _ => return false,
        };
        let who = match name {
            Some(n) => format!("{n} ({from})"),
            None => from.to_string(),
        };
        self.warn(Warn::Drop(reason, owner), now, || {
            format!("dropping heartbeats from {who} ({}): {why}", reason.as_str())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_and_peer_is_said_at_once_then_once_a_minute() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let a: IpAddr = "10.0.0.2".parse().unwrap();
        let mut w = Warnings::default();
        assert!(w.dropped(DropReason::BadMac, a, Some(1), Some("backup"), at(0)));
        assert!(!w.dropped(DropReason::BadMac, a, Some(1), Some("backup"), at(59)));
        assert!(w.dropped(DropReason::BadVersion, a, Some(1), Some("backup"), at(59)));
        assert!(w.dropped(DropReason::BadMac, a, Some(2), None, at(59)), "another peer");
        assert!(w.dropped(DropReason::BadMac, a, Some(1), Some("backup"), at(60)));
        // Noise is never a warning; a bad magic only from a listed router.
        assert!(!w.dropped(DropReason::Truncated, a, Some(1), Some("backup"), at(0)));
        assert!(!w.dropped(DropReason::Replay, a, Some(1), Some("backup"), at(0)));
        assert!(!w.dropped(DropReason::BadMagic, a, None, None, at(0)));
        assert!(w.dropped(DropReason::BadMagic, a, Some(1), Some("backup"), at(0)));
        assert!(w.warn(Warn::Stale(1), at(0), String::new));
        assert!(!w.warn(Warn::Stale(1), at(1), String::new));
    }
}
