//! The supervisor's long jobs, done in slices between polls so that no
//! turn of the loop blocks: starting nannies (a fork and exec can take a
//! third of a second on a slow machine) and resyncing the kernel table.

use std::time::{Duration, Instant};

use crate::spec::NannyKey;
use ipvs::IpvsTable;

use super::{Supervisor, RESYNC_STEP};

/// The longest a turn of the loop spends on a resync before it looks at
/// signals and nanny reports again.
const RESYNC_SLICE: Duration = Duration::from_millis(20);
/// The longest a turn of the loop spends starting nannies (at least one
/// per turn) before it reads their reports again.
const START_SLICE: Duration = Duration::from_millis(20);

impl<K: IpvsTable> Supervisor<K> {
    /// Queues nannies to start in [`START_SLICE`]s between polls.
    pub(super) fn queue_starts(&mut self, keys: Vec<NannyKey>) {
        if keys.is_empty() {
            return;
        }
        if self.start_clock.is_none() {
            self.start_clock = Some((Instant::now(), 0));
        }
        self.pending.extend(keys);
    }

    /// Starts queued nannies for at most [`START_SLICE`] (at least one).
    pub(super) fn start_slice(&mut self) {
        let t0 = Instant::now();
        let mut started = 0;
        while let Some(k) = self.pending.pop_first() {
            if self.engine.spec.nannies.contains_key(&k) && self.policy.may_start(&k) {
                self.start(&k);
                started += 1;
                if t0.elapsed() >= START_SLICE {
                    break;
                }
            }
        }
        if let Some((since, n)) = self.start_clock.as_mut() {
            *n += started;
            if self.pending.is_empty() {
                log::info!(
                    "{n} nannies started in {:.1} s, {} running",
                    since.elapsed().as_secs_f64(),
                    self.running.len()
                );
                self.start_clock = None;
            }
        }
    }

    /// Works on the resync in progress for at most [`RESYNC_SLICE`], in
    /// steps of [`RESYNC_STEP`] services; logs a summary when it ends.
    pub(super) fn resync_slice(&mut self) {
        if self.engine.resync.is_none() {
            self.resync_clock = None;
            return;
        }
        let started = Instant::now();
        let (since, busy) = *self.resync_clock.get_or_insert((started, Duration::ZERO));
        let outcome = loop {
            match self.engine.resync_step(RESYNC_STEP) {
                Ok(None) if self.engine.resync.is_some() && started.elapsed() < RESYNC_SLICE => {}
                other => break other,
            }
        };
        let busy = busy + started.elapsed();
        self.resync_clock = Some((since, busy));
        match outcome {
            Ok(None) => {}
            Ok(Some(r)) => {
                self.resync_clock = None;
                let restored = if r.commands > 0 { " (restored what drifted)" } else { "" };
                log::info!(
                    "resync after {}: read {} services and {} real servers in {} requests, {} IPVS commands; {:.3} s of work over {:.3} s{restored}",
                    r.why,
                    r.services_read,
                    r.dests_read,
                    r.reads,
                    r.commands,
                    busy.as_secs_f64(),
                    since.elapsed().as_secs_f64()
                );
            }
            Err(e) => {
                self.resync_clock = None;
                log::error!("resync: {e}; will retry");
            }
        }
    }
}
