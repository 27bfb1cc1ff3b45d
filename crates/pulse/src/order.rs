//! The machine's order of actions, kept when VIP changes and announcements
//! run off the loop (on the host's network worker, `Host::busy` until they
//! are done): what follows them in the machine's order waits, so that a
//! takeover is still VIPs up, announced, the heartbeat saying "active",
//! and only then anything that starts a process; a deactivation is still
//! VIPs down before `inactive_cmd`. Pure: the loop asks what to run now.
//!
//! Heartbeats are the one exception: a heartbeat of a later turn, which
//! nothing of its own turn holds back, is sent at once (the peers must keep
//! hearing us while a VIP change is slow), and replaces any older one still
//! held, which would only repeat an older state.

use std::collections::VecDeque;

use crate::machine::Action;

/// Whether the host may run `a` off the loop.
fn off_loop(a: &Action) -> bool {
    matches!(a, Action::VipsUp(_) | Action::VipsDown(_) | Action::GratuitousArp(_))
}

/// Actions held back, in the machine's order.
#[derive(Debug, Default)]
pub struct Held {
    queue: VecDeque<Action>,
}

impl Held {
    /// What of a turn's `actions` runs now, in order; the rest is held.
    /// `busy`: whether off-loop work handed over earlier is not done.
    pub fn admit(&mut self, actions: Vec<Action>, mut busy: bool) -> Vec<Action> {
        let mut now = Vec::new();
        // Once one action of this turn is held, all that follow are.
        let mut holding = false;
        for a in actions {
            let heartbeat = matches!(a, Action::SendHeartbeat(_));
            let hold = holding
                || if heartbeat {
                    // Held only behind off-loop work of its own turn.
                    busy && now.iter().any(off_loop)
                } else {
                    !self.queue.is_empty() || (busy && !off_loop(&a))
                };
            if hold {
                holding = true;
                self.queue.push_back(a);
                continue;
            }
            if heartbeat {
                self.queue.retain(|h| !matches!(h, Action::SendHeartbeat(_)));
            }
            busy |= off_loop(&a);
            now.push(a);
        }
        now
    }

    /// What is held and may run now that the host is `busy` or not.
    pub fn release(&mut self, mut busy: bool) -> Vec<Action> {
        let mut now = Vec::new();
        while let Some(a) = self.queue.front() {
            if off_loop(a) {
                busy = true;
            } else if busy {
                break;
            }
            now.extend(self.queue.pop_front());
        }
        now
    }

    /// Whether anything is held.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

/// An action's name for the stall warning.
pub fn name(a: &Action) -> &'static str {
    match a {
        Action::SendHeartbeat(_) => "heartbeat",
        Action::RunActiveCmd => "active_cmd",
        Action::RunInactiveCmd => "inactive_cmd",
        Action::VipsUp(_) => "VIPs up",
        Action::VipsDown(_) => "VIPs down",
        Action::GratuitousArp(_) => "announcement",
        Action::StartLvsd => "starting lvsd",
        Action::StopLvsd => "stopping lvsd",
        Action::ReloadLvsd => "reloading lvsd",
        Action::SyncDaemon(_) => "sync daemon",
        Action::StartServices => "starting failover services",
        Action::StopServices => "stopping failover services",
        Action::ReloadConfig => "reload",
        Action::Exit => "exit",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::Vip;

    fn vips() -> Vec<Vip> {
        vec![Vip { addr: "10.0.0.1".parse().unwrap(), prefix: 24, dev: "eth0".into() }]
    }

    fn names(v: &[Action]) -> Vec<String> {
        v.iter()
            .map(|a| match a {
                Action::SendHeartbeat(p) => format!("hb{}", p.first().copied().unwrap_or(0)),
                other => format!("{other:?}").split('(').next().unwrap_or("").to_owned(),
            })
            .collect()
    }

    fn takeover() -> Vec<Action> {
        vec![
            Action::VipsUp(vips()),
            Action::GratuitousArp(vips()),
            Action::SendHeartbeat(vec![1]),
            Action::RunActiveCmd,
            Action::SyncDaemon(crate::machine::SyncRole::Master),
        ]
    }

    #[test]
    fn a_takeover_waits_for_its_vips_then_runs_in_order() {
        let mut h = Held::default();
        let now = h.admit(takeover(), false);
        assert_eq!(names(&now), ["VipsUp", "GratuitousArp"]);
        // Still busy: nothing more.
        assert!(h.release(true).is_empty());
        let later = h.release(false);
        assert_eq!(names(&later), ["hb1", "RunActiveCmd", "SyncDaemon"]);
        assert!(h.is_empty());
    }

    #[test]
    fn with_the_work_done_in_place_everything_runs_in_one_go() {
        let mut h = Held::default();
        let mut ran = h.admit(takeover(), false);
        // The host ran the VIP work in place: never busy.
        ran.extend(h.release(false));
        assert_eq!(names(&ran), ["VipsUp", "GratuitousArp", "hb1", "RunActiveCmd", "SyncDaemon"]);
    }

    #[test]
    fn later_turns_queue_behind_except_their_heartbeats() {
        let mut h = Held::default();
        h.admit(takeover(), false);
        // A later turn: a heartbeat (sent now, replacing the held one) and
        // a deactivation (held behind the takeover's commands).
        let now = h.admit(
            vec![
                Action::SendHeartbeat(vec![2]),
                Action::VipsDown(vips()),
                Action::RunInactiveCmd,
                Action::SendHeartbeat(vec![3]),
            ],
            true,
        );
        assert_eq!(names(&now), ["hb2"]);
        let later = h.release(false);
        // VipsDown goes to the worker and makes it busy again.
        assert_eq!(names(&later), ["RunActiveCmd", "SyncDaemon", "VipsDown"]);
        assert_eq!(names(&h.release(false)), ["RunInactiveCmd", "hb3"]);
    }

    #[test]
    fn a_busy_worker_holds_commands_but_not_a_lone_heartbeat_or_more_vip_work() {
        let mut h = Held::default();
        let now =
            h.admit(vec![Action::SendHeartbeat(vec![1]), Action::GratuitousArp(vips())], true);
        assert_eq!(names(&now), ["hb1", "GratuitousArp"]);
        let now = h.admit(vec![Action::StopLvsd, Action::Exit], true);
        assert!(now.is_empty());
        assert_eq!(names(&h.release(false)), ["StopLvsd", "Exit"]);
    }
}
