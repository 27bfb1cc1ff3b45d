//! Talking to systemd (`Type=notify`, `WatchdogSec=`): the only module that
//! does. The unit (`init/pulse.service`) relies on three messages:
//!
//! - `READY=1` once, when the heartbeat and control sockets are bound (the
//!   loop only runs after that) and the start-up listening period is over:
//!   every peer has been heard or `deadtime` has passed
//!   ([`Machine::settled`]), or this router has already activated.
//!   `systemctl start pulse` returns then, so whatever is ordered after
//!   pulse sees a router that has made up its mind.
//! - `WATCHDOG=1` from the loop's turns only: [`Notifier::turn`] is called
//!   once per turn of the main loop and pings when a quarter of
//!   `WATCHDOG_USEC` has passed since the last ping, and
//!   [`Notifier::max_sleep`] caps the loop's poll timeout at that quarter,
//!   so an idle loop still turns often enough. A loop that hangs (or a
//!   stopped process) stops pinging and systemd restarts the unit.
//! - `STATUS=` with the role and what each peer is doing, when it changes
//!   (checked at most once a second once ready).
//!
//! Without `NOTIFY_SOCKET` (not under systemd, or `-n` by hand) nothing is
//! sent. Decisions (when to ping, what the status says) are pure and take
//! the time as an argument; only [`Notifier::turn`] sends.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use sd_notify::NotifyState;

use crate::machine::{Machine, Status};
use crate::wire::Role;

/// How often the status line is rebuilt once pulse is ready.
const STATUS_EVERY: Duration = Duration::from_secs(1);

/// What systemd asked for, and what has been told so far.
#[derive(Debug)]
pub struct Notifier {
    /// A notification socket is set: messages are sent at all.
    enabled: bool,
    /// The ping period: a quarter of `WATCHDOG_USEC`, if a watchdog is on.
    ping_every: Option<Duration>,
    last_ping: Option<Instant>,
    last_status_check: Option<Instant>,
    ready_sent: bool,
    last_status: String,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET` and `WATCHDOG_USEC`/`WATCHDOG_PID` (the
    /// watchdog is ours only if `WATCHDOG_PID` is unset or our pid).
    pub fn from_env() -> Notifier {
        let enabled = std::env::var_os("NOTIFY_SOCKET").is_some();
        let mut usec = 0;
        let watchdog = sd_notify::watchdog_enabled(false, &mut usec)
            .then(|| Duration::from_micros(usec))
            .or_else(|| {
                // sd_notify requires WATCHDOG_PID; systemd always sets it, a
                // hand-made listener may not.
                if std::env::var_os("WATCHDOG_PID").is_some() {
                    return None;
                }
                let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
                Some(Duration::from_micros(usec))
            });
        Notifier::new(enabled, watchdog)
    }

    /// A notifier for a given environment (tests).
    pub fn new(enabled: bool, watchdog: Option<Duration>) -> Notifier {
        let ping_every =
            watchdog.filter(|w| !w.is_zero()).map(|w| (w / 4).max(Duration::from_millis(1)));
        Notifier {
            enabled,
            ping_every,
            last_ping: None,
            last_status_check: None,
            ready_sent: false,
            last_status: String::new(),
        }
    }

    /// The longest the loop may sleep so that the next turn pings in time.
    pub fn max_sleep(&self) -> Option<Duration> {
        if self.enabled {
            self.ping_every
        } else {
            None
        }
    }

    /// What this turn must tell systemd, and remembers it as told (pure:
    /// `now` is injected).
    pub fn plan(&mut self, machine: &Machine, now: Instant) -> Vec<Message> {
        let mut out = Vec::new();
        if !self.enabled {
            return out;
        }
        let ping_due = match (self.ping_every, self.last_ping) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(every), Some(last)) => now.saturating_duration_since(last) >= every,
        };
        // The status is rebuilt at most once a second once ready (a flood
        // of packets turns the loop often), and on every turn before.
        let status_due = !self.ready_sent
            || ping_due
            || self
                .last_status_check
                .is_none_or(|t| now.saturating_duration_since(t) >= STATUS_EVERY);
        if status_due {
            self.last_status_check = Some(now);
            let line = status_line(&machine.status(now));
            if line != self.last_status {
                self.last_status.clone_from(&line);
                out.push(Message::Status(line));
            }
        }
        if !self.ready_sent && (machine.settled(now) || machine.role() == Role::Active) {
            self.ready_sent = true;
            out.push(Message::Ready);
        }
        if ping_due {
            self.last_ping = Some(now);
            out.push(Message::Watchdog);
        }
        out
    }

    /// Called once per turn of the main loop: sends what [`Self::plan`]
    /// decided. A failed send is logged at debug level only: systemd
    /// restarting pulse for a missed ping is the watchdog doing its job.
    pub fn turn(&mut self, machine: &Machine) {
        let messages = self.plan(machine, Instant::now());
        if messages.is_empty() {
            return;
        }
        let states: Vec<NotifyState<'_>> = messages.iter().map(Message::state).collect();
        if let Err(e) = sd_notify::notify(false, &states) {
            log::debug!("sd_notify: {e}");
        }
    }
}

/// One notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// `READY=1`.
    Ready,
    /// `WATCHDOG=1`.
    Watchdog,
    /// `STATUS=...`.
    Status(String),
}

impl Message {
    fn state(&self) -> NotifyState<'_> {
        match self {
            Message::Ready => NotifyState::Ready,
            Message::Watchdog => NotifyState::Watchdog,
            Message::Status(s) => NotifyState::Status(s),
        }
    }
}

/// The one-line `STATUS=`: role, faults, and each peer's state, e.g.
/// `active as primary; peers: backup standby` or
/// `standby as backup, faults childfail; peers: primary silent`.
pub fn status_line(s: &Status) -> String {
    let mut o = format!("{} as {}", s.role.as_str(), s.name);
    if !s.faults.is_empty() {
        let _ = write!(o, ", faults {}", s.faults);
    }
    if s.peers.is_empty() {
        o.push_str("; no peers");
        return o;
    }
    o.push_str("; peers:");
    for (i, p) in s.peers.iter().enumerate() {
        let state = match (p.alive, p.role) {
            (true, Some(r)) => r.as_str(),
            (true, None) => "heard",
            (false, _) if p.last_heard.is_some() => "dead",
            (false, _) => "silent",
        };
        let _ = write!(o, "{} {} {state}", if i == 0 { "" } else { "," }, p.name);
        if p.config_mismatch {
            o.push_str(" (configuration differs)");
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::machine::{self, Config, Event, Now, Router};

    fn machine(deadtime: Duration) -> Machine {
        let r = |n: &str, a: &str| Router {
            name: n.into(),
            node_id: 1,
            addrs: vec![a.parse::<IpAddr>().unwrap()],
        };
        Machine::new(Config {
            routers: vec![r("primary", "10.0.0.1"), r("backup", "10.0.0.2")],
            me: 1,
            keepalive: Duration::from_secs(1),
            deadtime,
            preempt: false,
            force_active: false,
            test_start: true,
            vips: vec![],
            arp: machine::ArpPolicy::default(),
            syncdaemon: false,
            hot_standby: false,
            monitored_links: vec![],
            protocol: machine::Protocol::Piranha,
            config_digest: [0; 32],
            boot_id: 1,
            failover: vec![],
        })
    }

    #[test]
    fn ready_waits_for_the_listening_period_and_pings_follow_the_period() {
        let t0 = Instant::now();
        let mut m = machine(Duration::from_secs(5));
        let _ = m.step(Event::Start, Now { mono: t0 });
        let mut n = Notifier::new(true, Some(Duration::from_secs(4)));
        assert_eq!(n.max_sleep(), Some(Duration::from_secs(1)));
        let first = n.plan(&m, t0);
        assert_eq!(
            first,
            vec![
                Message::Status("standby as backup; peers: primary silent".into()),
                Message::Watchdog
            ]
        );
        // Not a second ping within the period, and not ready yet.
        assert!(n.plan(&m, t0 + Duration::from_millis(500)).is_empty());
        assert_eq!(n.plan(&m, t0 + Duration::from_secs(1)), vec![Message::Watchdog]);
        // Deadtime passed with nobody heard: the router activates (no live
        // peer), and READY=1 goes with the new status.
        let t = t0 + Duration::from_secs(5);
        let _ = m.step(Event::Tick, Now { mono: t });
        let msgs = n.plan(&m, t);
        assert_eq!(
            msgs,
            vec![
                Message::Status("active as backup; peers: primary silent".into()),
                Message::Ready,
                Message::Watchdog
            ]
        );
        // READY=1 is sent once.
        let later = n.plan(&m, t + Duration::from_secs(2));
        assert_eq!(later, vec![Message::Watchdog]);
    }

    #[test]
    fn without_a_socket_nothing_is_sent_and_the_loop_is_not_woken() {
        let t0 = Instant::now();
        let mut m = machine(Duration::from_secs(5));
        let _ = m.step(Event::Start, Now { mono: t0 });
        let mut n = Notifier::new(false, Some(Duration::from_secs(4)));
        assert_eq!(n.max_sleep(), None);
        assert!(n.plan(&m, t0 + Duration::from_secs(10)).is_empty());
        // A socket without a watchdog: status and READY=1 only.
        let mut n = Notifier::new(true, None);
        assert_eq!(n.max_sleep(), None);
        let msgs = n.plan(&m, t0 + Duration::from_secs(6));
        assert!(msgs.contains(&Message::Ready) && !msgs.contains(&Message::Watchdog), "{msgs:?}");
    }
}
