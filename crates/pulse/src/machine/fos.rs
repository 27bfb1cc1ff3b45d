//! Failover services (piranha's `service = fos`): the decision half.
//!
//! The active router runs every failover service (`start_cmd`) and a nanny
//! per service checks it locally; a standby router keeps them stopped
//! (`stop_cmd`). A service that fails its check on the active router, or
//! that does not come up within its grace time after `start_cmd`, sets
//! [`Faults::SERVICE_FAIL`]: the router stands down (its heartbeat says so
//! at once, so an eligible peer takes over and starts its copy) and stays
//! ineligible for [`Machine::service_hold`], so that two routers whose
//! copies both fail take turns at a bounded pace instead of ping-ponging.
//! A router left alone activates again when the hold is over, which
//! restarts its services (`stop_cmd`, `start_cmd`).
//!
//! piranha decided the other way round: the backup checked the active
//! router's service through the VIP and, when it failed and the backup
//! could still ping its gateway, sent "STOPME" heartbeats and took over.
//! Here the router that runs the service judges it and the election stays
//! the only way to become active, so exactly one router is active whatever
//! the checks say (`docs/lvs-cf.md`).

use std::time::{Duration, Instant};

use super::{Action, Machine, Now};
use crate::wire::{Faults, Role};

/// One failover service as the machine sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FosWatch {
    /// The service name (the `failover NAME` block).
    pub name: String,
    /// How long after `start_cmd` the check must first succeed.
    pub grace: Duration,
    /// Whether a nanny checks it (a `none` check: never judged).
    pub checked: bool,
}

/// What the machine knows of one failover service while active.
#[derive(Clone, Debug, Default)]
pub(super) struct FosState {
    /// Its check succeeded since it was started.
    up: bool,
    /// It must be up by then (set at start, cleared when up).
    deadline: Option<Instant>,
}

impl Machine {
    /// Whether this router runs failover services instead of lvsd.
    pub(super) fn fos(&self) -> bool {
        !self.cfg.failover.is_empty()
    }

    /// How long a router whose service failed stays ineligible: long
    /// enough for a live peer to hear the fault and take over (it does at
    /// the next heartbeat, sent at once), short enough that a router left
    /// alone restarts its services soon.
    pub fn service_hold(&self) -> Duration {
        self.cfg.deadtime * 2
    }

    /// On activation, after the VIPs and the heartbeat: start the services
    /// and their checks.
    pub(super) fn start_services(&mut self, now: Now, out: &mut Vec<Action>) {
        if !self.fos() || self.cfg.test_start {
            return;
        }
        self.fos_state = self
            .cfg
            .failover
            .iter()
            .map(|w| FosState { up: false, deadline: w.checked.then(|| now.mono + w.grace) })
            .collect();
        out.push(Action::StartServices);
    }

    /// At start and on deactivation: stop the checks and the services.
    pub(super) fn stop_services(&mut self, out: &mut Vec<Action>) {
        self.fos_state.clear();
        if self.fos() && !self.cfg.test_start {
            out.push(Action::StopServices);
        }
    }

    /// A nanny's verdict on a local service.
    pub(super) fn on_service(&mut self, name: &str, up: bool, reason: &str, now: Now) {
        let Some(i) = self.cfg.failover.iter().position(|w| w.name == name) else {
            log::debug!("report for unknown failover service {name}: ignored");
            return;
        };
        if self.role != Role::Active || i >= self.fos_state.len() {
            log::debug!("failover service {name} {}: not active, ignored", updown(up));
            return;
        }
        let st = &mut self.fos_state[i];
        if up {
            if !st.up {
                log::info!("failover service {name} is up: {reason}");
            }
            st.up = true;
            st.deadline = None;
        } else {
            self.service_failed(name, &format!("its check failed: {reason}"), now);
        }
    }

    fn service_failed(&mut self, name: &str, why: &str, now: Now) {
        let hold = self.service_hold();
        log::warn!(
            "failover service {name} failed ({why}): standing down, not eligible for {} ms",
            hold.as_millis()
        );
        self.faults.insert(Faults::SERVICE_FAIL);
        self.service_hold_until = Some(now.mono + hold);
        for st in &mut self.fos_state {
            st.deadline = None;
        }
    }

    /// Deadlines: a service that did not come up in time, the end of a
    /// hold.
    pub(super) fn fos_timers(&mut self, now: Now) {
        if self.service_hold_until.is_some_and(|t| now.mono >= t) {
            self.service_hold_until = None;
            if self.faults.contains(Faults::SERVICE_FAIL) {
                log::info!("failover service hold over: eligible again");
                self.faults.remove(Faults::SERVICE_FAIL);
            }
        }
        if self.role != Role::Active {
            return;
        }
        let late = self
            .fos_state
            .iter()
            .position(|st| !st.up && st.deadline.is_some_and(|d| now.mono >= d));
        if let Some(i) = late {
            let w = &self.cfg.failover[i];
            let (name, grace) = (w.name.clone(), w.grace);
            let why = format!("not up {} ms after start_cmd", grace.as_millis());
            self.service_failed(&name, &why, now);
        }
    }

    /// The machine's next FOS deadline.
    pub(super) fn fos_wakeup(&self) -> Option<Instant> {
        let checks = self.fos_state.iter().filter(|st| !st.up).filter_map(|st| st.deadline);
        checks.chain(self.service_hold_until).min()
    }

    /// After a reload: what is known of services that are still there is
    /// kept; a new one is started at the next activation.
    pub(super) fn reconfigure_fos(&mut self, old: &[FosWatch]) {
        if self.fos_state.is_empty() {
            return;
        }
        let mut kept = Vec::with_capacity(self.cfg.failover.len());
        for w in &self.cfg.failover {
            match old.iter().position(|o| o.name == w.name) {
                Some(j) if j < self.fos_state.len() => kept.push(self.fos_state[j].clone()),
                _ => {
                    log::warn!("new failover service {}: it starts at the next activation", w.name);
                    kept.push(FosState { up: true, deadline: None });
                }
            }
        }
        self.fos_state = kept;
    }
}

fn updown(up: bool) -> &'static str {
    if up {
        "up"
    } else {
        "down"
    }
}
