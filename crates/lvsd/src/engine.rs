//! Keeps the kernel table true to the configuration and the nannies'
//! reports: full reconciliation at start, the difference at reload, a
//! resync (read the kernel, restore what drifted) after a reload and after
//! a refused command, and per-report changes in between. All table changes
//! go through [`Engine::apply`].
//!
//! No processes here: the supervisor tells the engine what nannies said,
//! and the engine talks to the kernel only through [`ipvs::IpvsTable`], so
//! everything here is tested with [`ipvs::FakeTable`], the in-memory table
//! `tests/vm/ipvs/` holds to the kernel's answers.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use ipvs::{Command, DestKey, ServiceKey};

mod daemons;
mod ops;

use crate::operate::Ops;
use crate::spec::{self, NannyKey, Report, Spec};
use crate::table::{self, describe, Entry, Ownership, Table};
use ipvs::IpvsTable;

/// lvsd's view of the table and what decides it.
#[derive(Debug)]
pub struct Engine<K: IpvsTable> {
    /// The kernel.
    pub kernel: K,
    /// The configuration in force.
    pub spec: Spec,
    /// What each nanny last said.
    pub reports: BTreeMap<NannyKey, Report>,
    /// The kernel table as of the last read plus every command it accepted.
    pub observed: Table,
    /// Whether services the configuration does not name may be removed.
    pub own: Ownership,
    /// IPVS commands sent since start (accepted or not).
    pub commands_sent: u64,
    /// Set when a command failed: the table must be read again.
    pub needs_resync: bool,
    /// The resync in progress, if any.
    pub resync: Option<Resync>,
    /// The operator's layer: overrides, drains, the order of failures.
    pub ops: Ops,
    /// Real servers the depool threshold keeps in, by service, as last
    /// logged.
    pub kept: BTreeMap<ServiceKey, Vec<DestKey>>,
    /// Where the next [`Engine::drain_step`] starts among the services
    /// with a drain in progress.
    pub(crate) drain_cursor: Option<ServiceKey>,
}

/// A read of the kernel table in progress, spread over calls of
/// [`Engine::resync_step`]: first the service list, then one service's
/// destinations at a time. Each step compares what it read with
/// [`Engine::observed`] and sends what restores the difference at once, so
/// commands sent between steps (nanny reports) never meet a stale read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resync {
    /// Why it runs, for the log ("reload", "a refused command").
    pub why: &'static str,
    /// Services whose destinations are still to be read; `None` until the
    /// service list has been read.
    pending: Option<VecDeque<ServiceKey>>,
    /// Services listed by the kernel.
    pub services_read: usize,
    /// Destinations read.
    pub dests_read: usize,
    /// Read requests sent.
    pub reads: usize,
    /// Commands sent to restore what drifted.
    pub commands: usize,
}

impl Resync {
    fn new(why: &'static str) -> Resync {
        Resync { why, pending: None, services_read: 0, dests_read: 0, reads: 0, commands: 0 }
    }
}

/// What a reload did, and how long its parts took.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReloadStats {
    /// Commands sent.
    pub commands: usize,
    /// Working out the commands (desired table and plan).
    pub plan: Duration,
    /// Sending them and recording the accepted ones.
    pub apply: Duration,
}

/// An error reading the kernel table.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the IPVS table: {0}")]
pub struct DumpError(#[from] pub ipvs::Error);

impl<K: IpvsTable> Engine<K> {
    /// An engine with nothing reported yet.
    pub fn new(kernel: K, spec: Spec, own: Ownership) -> Engine<K> {
        Engine {
            kernel,
            spec,
            reports: BTreeMap::new(),
            observed: Table::default(),
            own,
            commands_sent: 0,
            needs_resync: false,
            resync: None,
            ops: Ops::default(),
            kept: BTreeMap::new(),
            drain_cursor: None,
        }
    }

    /// Reads the whole kernel table and makes it what the configuration
    /// and the reports say (adopting what already matches). Returns the
    /// number of commands sent. Used at start, before any nanny runs.
    ///
    /// # Errors
    /// The table cannot be read; nothing was changed.
    pub fn sync(&mut self) -> Result<usize, DumpError> {
        self.observed = table::read(&mut self.kernel)?;
        self.needs_resync = false;
        self.resync = None;
        let desired = spec::desired_table(&self.spec, &self.reports, &self.observed, &self.ops);
        let before = self.sorry_state();
        let cmds = table::plan(&desired, &self.observed, self.own);
        let n = self.apply(&cmds);
        self.log_sorry_changes(&before);
        self.log_threshold();
        Ok(n)
    }

    /// Replaces the configuration and applies the difference at once,
    /// planned against [`Engine::observed`] (lvsd's record of the kernel
    /// table) without reading the kernel first: reports of nannies that no
    /// longer exist are forgotten, services the new configuration dropped
    /// are removed, the others are brought to the new configuration.
    ///
    /// Then a [`Resync`] is started (driven by [`Engine::resync_step`]),
    /// which reads the kernel and restores entries changed by hand.
    ///
    /// The commands are those of [`table::plan`] of the desired table
    /// against the record (plus the removal of dropped services), worked
    /// out service by service: a service [`spec::in_sync`] with the record
    /// costs a comparison, no copy. The old configuration is freed after
    /// the commands are sent.
    pub fn reload(&mut self, new: Spec) -> ReloadStats {
        let t0 = Instant::now();
        let mut cmds = Vec::new();
        for (k, have) in &self.observed.services {
            if self.spec.services.contains_key(k) && !new.services.contains_key(k) {
                table::plan_service(None, Some(have), &mut cmds);
            }
        }
        self.reports.retain(|k, _| new.nannies.contains_key(k));
        self.ops.failed_at.retain(|k, _| new.nannies.contains_key(k));
        self.drain_removed(&new, Instant::now());
        let old = std::mem::replace(&mut self.spec, new);
        let before = self.sorry_state();
        cmds.extend(table::timeouts_command(&self.spec.timeouts, self.observed.timeouts.as_ref()));
        if self.own == Ownership::Whole {
            cmds.extend(
                self.observed
                    .services
                    .keys()
                    .filter(|k| !self.spec.services.contains_key(k))
                    .filter(|k| !old.services.contains_key(k)) // dropped: deleted above
                    .map(|k| Command::DelService(*k)),
            );
        }
        for (k, s) in &self.spec.services {
            let have = self.observed.services.get(k);
            if have.is_some_and(|h| self.ops.plain(s) && spec::in_sync(s, &self.reports, h)) {
                continue;
            }
            let want = spec::desired_service_with(s, &self.reports, have, &self.ops).0;
            table::plan_service(Some(&want), have, &mut cmds);
        }
        let t1 = Instant::now();
        let n = self.apply(&cmds);
        self.log_sorry_changes(&before);
        self.log_threshold();
        let t2 = Instant::now();
        drop(old);
        self.start_resync("reload");
        ReloadStats { commands: n, plan: t1 - t0, apply: t2 - t1 }
    }

    /// Starts a resync (replacing one in progress); clears
    /// [`Engine::needs_resync`].
    pub fn start_resync(&mut self, why: &'static str) {
        self.needs_resync = false;
        self.resync = Some(Resync::new(why));
    }

    /// One step of the resync in progress: the service list (and
    /// timeouts) if not read yet, else the destinations of up to
    /// `services` services. Sends what restores any difference found.
    /// Returns the finished resync after its last step, `None` otherwise
    /// (and when none is in progress).
    ///
    /// # Errors
    /// A read failed: the resync is abandoned and [`Engine::needs_resync`]
    /// set, so that it is tried again.
    pub fn resync_step(&mut self, services: usize) -> Result<Option<Resync>, DumpError> {
        let Some(mut r) = self.resync.take() else { return Ok(None) };
        let done = match self.resync_work(&mut r, services) {
            Ok(done) => done,
            Err(e) => {
                self.needs_resync = true;
                return Err(e);
            }
        };
        if done {
            return Ok(Some(r));
        }
        self.resync = Some(r);
        Ok(None)
    }

    fn resync_work(&mut self, r: &mut Resync, services: usize) -> Result<bool, DumpError> {
        let Some(pending) = r.pending.as_mut() else {
            r.pending = Some(self.resync_services(r)?);
            return Ok(false);
        };
        let mut cmds = Vec::new();
        for _ in 0..services {
            let Some(key) = pending.pop_front() else { break };
            let Some(s) = self.spec.services.get(&key) else { continue };
            r.reads += 1;
            let dests = self.kernel.dests(&key)?;
            r.dests_read += dests.len();
            let Some(e) = self.observed.services.get_mut(&key) else { continue };
            e.dests = dests.into_iter().map(|d| (d.key(), d)).collect();
            let want = spec::desired_service_with(s, &self.reports, Some(e), &self.ops).0;
            table::plan_service(Some(&want), Some(e), &mut cmds);
        }
        let done = pending.is_empty();
        let before = self.sorry_state();
        r.commands += self.apply(&cmds);
        self.log_sorry_changes(&before);
        Ok(done)
    }

    /// The service-level part of a resync: reads the service list and the
    /// timeouts, makes [`Engine::observed`] agree with them (keeping its
    /// destinations of services still there, to be read next), restores
    /// missing or edited services and returns the services whose
    /// destinations are to be read.
    fn resync_services(&mut self, r: &mut Resync) -> Result<VecDeque<ServiceKey>, DumpError> {
        let timeouts = self.kernel.timeouts()?;
        let listed = self.kernel.services()?;
        r.reads += 2;
        r.services_read = listed.len();
        let listed: BTreeMap<ServiceKey, ipvs::Service> =
            listed.into_iter().map(|s| (s.key, s)).collect();
        self.observed.services.retain(|k, _| listed.contains_key(k));
        for (k, s) in &listed {
            match self.observed.services.get_mut(k) {
                Some(e) => e.service = s.clone(),
                None => {
                    self.observed.services.insert(*k, Entry::new(s.clone()));
                }
            }
        }
        self.observed.timeouts = Some(timeouts);
        let pending: VecDeque<ServiceKey> =
            self.spec.services.keys().filter(|k| listed.contains_key(k)).copied().collect();
        // The service level only: destinations are restored as they are read.
        let mut cmds: Vec<Command> =
            table::timeouts_command(&self.spec.timeouts, self.observed.timeouts.as_ref())
                .into_iter()
                .collect();
        if self.own == Ownership::Whole {
            cmds.extend(
                self.observed
                    .services
                    .keys()
                    .filter(|k| !self.spec.services.contains_key(k))
                    .map(|k| Command::DelService(*k)),
            );
        }
        for (k, s) in &self.spec.services {
            match self.observed.services.get(k) {
                None => {
                    let want = spec::desired_service_with(s, &self.reports, None, &self.ops).0;
                    table::plan_service(Some(&want), None, &mut cmds);
                }
                Some(have) if !table::service_matches(&s.service, &have.service) => {
                    cmds.push(Command::EditService(s.service.clone()));
                }
                Some(_) => {}
            }
        }
        let before = self.sorry_state();
        r.commands += self.apply(&cmds);
        self.log_sorry_changes(&before);
        Ok(pending)
    }

    /// Records what a nanny said and changes the services it decides.
    /// Returns the number of commands sent.
    pub fn report(&mut self, nanny: &NannyKey, report: Report) -> usize {
        let Some(n) = self.spec.nannies.get(nanny) else { return 0 };
        let old = self.reports.insert(nanny.clone(), report);
        if old == Some(report) {
            return 0;
        }
        self.ops.note_report(nanny, report);
        let services: BTreeSet<ServiceKey> = n.members.iter().map(|(s, _)| *s).collect();
        let before = self.sorry_state();
        let mut cmds = Vec::new();
        for key in services {
            let Some(s) = self.spec.services.get(&key) else { continue };
            let have = self.observed.services.get(&key);
            let want = spec::desired_service_with(s, &self.reports, have, &self.ops).0;
            table::plan_service(Some(&want), have, &mut cmds);
        }
        let sent = self.apply(&cmds);
        self.log_sorry_changes(&before);
        self.log_threshold();
        sent
    }

    /// Whether the servers a nanny decides are all in the kernel with a
    /// weight above 0 (then a restarted nanny need not slow-start them).
    pub fn all_up(&self, nanny: &NannyKey) -> bool {
        self.spec.nannies.get(nanny).is_some_and(|n| {
            n.members.iter().all(|(s, d)| {
                self.observed
                    .services
                    .get(s)
                    .and_then(|e| e.dests.get(d))
                    .is_some_and(|d| d.weight > 0)
            })
        })
    }

    /// Removes every service of the configuration (SIGTERM). Returns the
    /// number of commands sent.
    pub fn teardown(&mut self) -> usize {
        let cmds: Vec<Command> = self
            .spec
            .services
            .keys()
            .filter(|k| self.observed.services.contains_key(k))
            .map(|k| Command::DelService(*k))
            .collect();
        self.apply(&cmds)
    }

    /// Sends commands, records those the kernel accepted, logs each, and
    /// asks for a resync when any failed. Returns how many were sent.
    pub fn apply(&mut self, cmds: &[Command]) -> usize {
        if cmds.is_empty() {
            return 0;
        }
        self.commands_sent += cmds.len() as u64;
        match self.kernel.apply(cmds) {
            Ok(results) => {
                for (cmd, r) in cmds.iter().zip(results) {
                    match r {
                        Ok(()) => {
                            log::debug!("ipvs: {}", describe(cmd));
                            table::record(&mut self.observed, cmd);
                        }
                        Err(e) => {
                            log::warn!("ipvs: {} failed: {e}", describe(cmd));
                            self.needs_resync = true;
                        }
                    }
                }
            }
            Err(e) => {
                log::error!("ipvs: {} commands not applied: {e}", cmds.len());
                self.needs_resync = true;
            }
        }
        cmds.len()
    }

    fn sorry_state(&self) -> BTreeMap<ServiceKey, bool> {
        self.spec
            .services
            .iter()
            .filter(|(_, s)| s.sorry.is_some())
            .map(|(k, s)| (*k, self.observed.services.get(k).is_some_and(|e| spec::sorry_in(s, e))))
            .collect()
    }

    fn log_sorry_changes(&self, before: &BTreeMap<ServiceKey, bool>) {
        for (k, now) in self.sorry_state() {
            if before.get(&k).copied().unwrap_or(false) == now {
                continue;
            }
            let Some(s) = self.spec.services.get(&k) else { continue };
            let sorry =
                s.sorry.as_ref().map(|d| format!("{}:{}", d.addr, d.port)).unwrap_or_default();
            if now {
                log::info!(
                    "virtual service {} ({k}): no real server up; sorry server {sorry} in",
                    s.name
                );
            } else {
                log::info!(
                    "virtual service {} ({k}): a real server is up; sorry server {sorry} out",
                    s.name
                );
            }
        }
    }
}

#[cfg(test)]
mod tests;
