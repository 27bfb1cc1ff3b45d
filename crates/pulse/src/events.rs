//! The event stream (`pulse --control events`, `/events`): one [`Event`]
//! per transition, role changes, peers heard and lost, real servers up and
//! down, reloads accepted and refused, nannies restarted, with this
//! router's wall-clock time (for people reading it; nothing compares it)
//! and a reason. The loop keeps the last [`KEEP`] in an [`EventLog`]
//! published with its snapshot, so late readers get the recent past and
//! readers never touch the loop.
//!
//! [`Watcher`] finds the loop's own transitions by comparing statuses
//! turn to turn; [`server_changes`] finds real-server transitions between
//! two of lvsd's reports (run on the report link's thread). Pure.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;

use crate::machine::Status;
use crate::wire::{Faults, Role};

/// Events kept for late readers.
pub const KEEP: usize = 500;

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum What {
    /// This router's role changed.
    Role {
        /// The role before.
        from: &'static str,
        /// The role now.
        to: &'static str,
    },
    /// A peer was heard again, or declared dead.
    Peer {
        /// The peer's name.
        peer: String,
        /// Heard within deadtime.
        alive: bool,
    },
    /// A real server's health verdict changed (lvsd's report).
    RealServer {
        /// `tcp:VIP:PORT`...
        service: String,
        /// `IP:PORT`.
        server: String,
        /// `up`, `down` or `unknown`.
        health: lvsd_api::Health,
    },
    /// A configuration reload.
    Reload {
        /// Applied (else refused, the running configuration kept).
        accepted: bool,
    },
    /// lvsd restarted a nanny (it died or hung).
    NannyRestarted {
        /// lvsd's count of restarts so far.
        restarts: u64,
    },
}

/// One transition.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    /// Its number, from 1, counting every event of this pulse.
    pub seq: u64,
    /// When, on this router's wall clock (RFC 3339, UTC).
    pub time: String,
    /// What happened.
    #[serde(flatten)]
    pub what: What,
    /// Why, in words.
    pub reason: String,
}

impl Event {
    /// The event as one line of JSON, without a newline.
    pub fn to_json(&self) -> String {
        // Strings and numbers always serialize.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The last [`KEEP`] events.
#[derive(Clone, Debug, Default)]
pub struct EventLog {
    next: u64,
    kept: VecDeque<Arc<Event>>,
}

impl EventLog {
    /// Adds an event happening at `at`.
    pub fn push(&mut self, what: What, reason: String, at: SystemTime) {
        self.next += 1;
        if self.kept.len() == KEEP {
            self.kept.pop_front();
        }
        let e = Event { seq: self.next, time: rfc3339(at), what, reason };
        log::debug!("event {}", e.to_json());
        self.kept.push_back(Arc::new(e));
    }

    /// The kept events numbered above `seq`, oldest first.
    pub fn after(&self, seq: u64) -> impl Iterator<Item = &Arc<Event>> {
        self.kept.iter().filter(move |e| e.seq > seq)
    }

    /// The number of the last event (0: none yet).
    pub fn last_seq(&self) -> u64 {
        self.next
    }
}

/// `at` as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn rfc3339(at: SystemTime) -> String {
    let d = at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// What the loop saw last turn, to tell its transitions.
#[derive(Debug, Default)]
pub struct Watcher {
    role: Option<Role>,
    peers: HashMap<String, bool>,
    nanny_restarts: Option<(u32, u64)>,
}

impl Watcher {
    /// The transitions between the last status seen and `s`, with the
    /// restarts lvsd (pid `lvsd`) counted so far; the first call only
    /// records.
    pub fn observe(&mut self, s: &Status, lvsd: Option<(u32, u64)>) -> Vec<(What, String)> {
        let mut out = Vec::new();
        let mut lost = Vec::new();
        for p in &s.peers {
            let was = self.peers.insert(p.name.clone(), p.alive);
            if was.is_some_and(|w| w != p.alive) || (was.is_none() && p.alive) {
                let reason = if p.alive {
                    "heartbeats heard again".to_owned()
                } else {
                    lost.push(p.name.clone());
                    "no heartbeat within deadtime".to_owned()
                };
                out.push((What::Peer { peer: p.name.clone(), alive: p.alive }, reason));
            }
        }
        if let Some(was) = self.role.replace(s.role) {
            if was != s.role {
                let reason = if s.faults != Faults::NONE {
                    format!("faults: {}", s.faults)
                } else if !lost.is_empty() {
                    format!("peer {} lost", lost.join(", "))
                } else {
                    "election".to_owned()
                };
                out.push((What::Role { from: was.as_str(), to: s.role.as_str() }, reason));
            }
        }
        if let Some((pid, n)) = lvsd {
            if let Some((was_pid, was)) = self.nanny_restarts.replace((pid, n)) {
                if was_pid == pid && n > was {
                    let reason = format!("{} nanny restart(s) since the last report", n - was);
                    out.push((What::NannyRestarted { restarts: n }, reason));
                }
            }
        }
        out
    }
}

/// Real-server health by `(service, server)`, from one of lvsd's reports.
pub type Healths = HashMap<(String, String), lvsd_api::Health>;

/// The real servers whose health differs in `r` from `before` (all of
/// them against an empty map), and the new map.
pub fn server_changes(before: &Healths, r: &lvsd_api::Report) -> (Vec<(What, String)>, Healths) {
    let mut now = Healths::new();
    let mut out = Vec::new();
    for svc in &r.services {
        for srv in &svc.servers {
            let key = (svc.service.clone(), srv.server.clone());
            if before.get(&key) != Some(&srv.health) {
                out.push((
                    What::RealServer {
                        service: svc.service.clone(),
                        server: srv.server.clone(),
                        health: srv.health,
                    },
                    srv.reason.clone(),
                ));
            }
            now.insert(key, srv.health);
        }
    }
    (out, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times() {
        let t = |s: u64, ms: u64| {
            rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(s) + Duration::from_millis(ms))
        };
        assert_eq!(t(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(t(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(t(1_796_212_934, 120), "2026-12-02T12:02:14.120Z");
    }

    #[test]
    fn the_log_keeps_the_last_few_hundred() {
        let mut log = EventLog::default();
        for _ in 0..KEEP + 10 {
            log.push(What::Reload { accepted: true }, String::new(), SystemTime::UNIX_EPOCH);
        }
        assert_eq!(log.last_seq(), (KEEP + 10) as u64);
        assert_eq!(log.after(0).count(), KEEP);
        assert_eq!(log.after(0).next().map(|e| e.seq), Some(11));
        assert_eq!(log.after(KEEP as u64 + 8).count(), 2);
        let j = log.after(0).next().unwrap().to_json();
        assert_eq!(j, "{\"seq\":11,\"time\":\"1970-01-01T00:00:00.000Z\",\"kind\":\"reload\",\"accepted\":true,\"reason\":\"\"}");
    }

    #[test]
    fn role_and_peer_transitions() {
        let mut s = crate::control::tests::status();
        s.role = Role::Standby;
        s.faults = Faults::NONE;
        let mut w = Watcher::default();
        // First sight: the live peer is heard; no role change yet.
        let first = w.observe(&s, Some((9, 0)));
        assert_eq!(first.len(), 1);
        assert!(matches!(&first[0].0, What::Peer { alive: true, .. }));
        assert!(w.observe(&s, Some((9, 0))).is_empty());
        s.peers[0].alive = false;
        s.role = Role::Active;
        let ev = w.observe(&s, Some((9, 2)));
        let whats: Vec<&What> = ev.iter().map(|(w, _)| w).collect();
        assert_eq!(
            whats,
            [
                &What::Peer { peer: "lvs\"2".into(), alive: false },
                &What::Role { from: "standby", to: "active" },
                &What::NannyRestarted { restarts: 2 },
            ]
        );
        assert_eq!(ev[1].1, "peer lvs\"2 lost");
        // A new lvsd starts its count over: no event.
        assert!(w.observe(&s, Some((10, 0))).is_empty());
    }

    #[test]
    fn real_server_changes() {
        let v = crate::metrics::tests::lvsd_view();
        let (first, seen) = server_changes(&Healths::new(), &v.report);
        assert_eq!(first.len(), 2);
        let (again, _) = server_changes(&seen, &v.report);
        assert!(again.is_empty());
        let mut r = v.report.clone();
        r.services[0].servers[0].health = lvsd_api::Health::Down;
        r.services[0].servers[0].reason = "check failed: HTTP 503".into();
        let (ev, _) = server_changes(&seen, &r);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].1, "check failed: HTTP 503");
    }
}
