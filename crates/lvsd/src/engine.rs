//! Keeps the kernel table true to the configuration and the nannies'
//! reports: full reconciliation at start and reload, and per-report
//! changes in between. All table changes go through [`Engine::apply`].
//!
//! No processes here: the supervisor tells the engine what nannies said,
//! and the engine talks to the kernel only through the [`Kernel`] seam,
//! so everything here is tested with [`crate::kernel::FakeKernel`].

use std::collections::{BTreeMap, BTreeSet};

use ipvs::{Command, ServiceKey};

use crate::kernel::Kernel;
use crate::spec::{self, NannyKey, Report, Spec};
use crate::table::{self, describe, Ownership, Table};

/// lvsd's view of the table and what decides it.
#[derive(Debug)]
pub struct Engine<K: Kernel> {
    /// The kernel.
    pub kernel: K,
    /// The configuration in force.
    pub spec: Spec,
    /// What each nanny last said.
    pub reports: BTreeMap<NannyKey, Report>,
    /// The kernel table as of the last dump plus every command it accepted.
    pub observed: Table,
    /// Whether services the configuration does not name may be removed.
    pub own: Ownership,
    /// IPVS commands sent since start (accepted or not).
    pub commands_sent: u64,
    /// Set when a command failed: the table must be read again.
    pub needs_resync: bool,
}

/// An error reading the kernel table.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the IPVS table: {0}")]
pub struct DumpError(#[from] pub ipvs::Error);

impl<K: Kernel> Engine<K> {
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
        }
    }

    /// Reads the kernel table and makes it what the configuration and the
    /// reports say (adopting what already matches). Returns the number of
    /// commands sent.
    ///
    /// # Errors
    /// The table cannot be read; nothing was changed.
    pub fn sync(&mut self) -> Result<usize, DumpError> {
        self.observed = self.kernel.dump()?;
        self.needs_resync = false;
        let desired = spec::desired_table(&self.spec, &self.reports, &self.observed);
        let before = self.sorry_state();
        let cmds = table::plan(&desired, &self.observed, self.own);
        let n = self.apply(&cmds);
        self.log_sorry_changes(&before);
        Ok(n)
    }

    /// Replaces the configuration: forgets reports of nannies that no
    /// longer exist, removes services the new configuration dropped, and
    /// reconciles with a fresh read of the kernel (which also restores
    /// entries removed by hand). Returns the number of commands sent.
    ///
    /// # Errors
    /// The table cannot be read; the new configuration is in force but
    /// nothing was changed (the caller retries with [`Engine::sync`]).
    pub fn reload(&mut self, new: Spec) -> Result<usize, DumpError> {
        let retired: Vec<ServiceKey> =
            self.spec.services.keys().filter(|k| !new.services.contains_key(k)).copied().collect();
        self.reports.retain(|k, _| new.nannies.contains_key(k));
        self.spec = new;
        self.observed = self.kernel.dump()?;
        self.needs_resync = false;
        let mut cmds = Vec::new();
        for k in &retired {
            if let Some(have) = self.observed.services.get(k) {
                table::plan_service(None, Some(have), &mut cmds);
            }
        }
        let desired = spec::desired_table(&self.spec, &self.reports, &self.observed);
        let before = self.sorry_state();
        cmds.extend(table::plan(&desired, &self.observed, self.own));
        let n = self.apply(&cmds);
        self.log_sorry_changes(&before);
        Ok(n)
    }

    /// Records what a nanny said and changes the services it decides.
    /// Returns the number of commands sent.
    pub fn report(&mut self, nanny: &NannyKey, report: Report) -> usize {
        let Some(n) = self.spec.nannies.get(nanny) else { return 0 };
        let old = self.reports.insert(nanny.clone(), report);
        if old == Some(report) {
            return 0;
        }
        let services: BTreeSet<ServiceKey> = n.members.iter().map(|(s, _)| *s).collect();
        let before = self.sorry_state();
        let mut cmds = Vec::new();
        for key in services {
            let Some(s) = self.spec.services.get(&key) else { continue };
            let want = spec::desired_service(s, &self.reports, self.observed.services.get(&key));
            table::plan_service(Some(&want), self.observed.services.get(&key), &mut cmds);
        }
        let sent = self.apply(&cmds);
        self.log_sorry_changes(&before);
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
mod tests {
    use super::*;
    use crate::kernel::FakeKernel;
    use crate::spec::NannyOptions;
    use ipvs::{Dest, ForwardMethod};

    fn cf(extra: &str) -> String {
        format!(
            "\
primary = 192.0.2.1
service = lvs
network = nat
hard_shutdown = 0
virtual web {{
     active = 1
     address = 192.0.2.10 eth0:1
     port = 80
     sorry_server = 10.0.0.250
     timeout = 2
     server a {{
         address = 10.0.0.1
         active = 1
         weight = 5
     }}
     server b {{
         address = 10.0.0.2
         active = 1
         weight = 1
     }}
}}
{extra}"
        )
    }

    fn spec_of(text: &str) -> Spec {
        let (c, d) = lvs_config::parse_str(text, "lvs.cf", lvs_config::Format::LvsCf);
        spec::build(&c.unwrap_or_else(|| panic!("{d:?}")), NannyOptions::default())
    }

    fn web() -> ServiceKey {
        ServiceKey::tcp("192.0.2.10".parse().unwrap(), 80)
    }

    fn nanny(s: &Spec, ip: &str) -> NannyKey {
        s.nannies.iter().find(|(_, n)| n.server.ip().to_string() == ip).unwrap().0.clone()
    }

    fn dests(e: &Engine<FakeKernel>, k: ServiceKey) -> Vec<(String, u32)> {
        e.kernel.table.services[&k].dests.values().map(|d| (d.addr.to_string(), d.weight)).collect()
    }

    #[test]
    fn start_up_down_and_sorry_server() {
        let s = spec_of(&cf(""));
        let (a, b) = (nanny(&s, "10.0.0.1"), nanny(&s, "10.0.0.2"));
        let mut e = Engine::new(FakeKernel::default(), s, Ownership::Configured);
        assert_eq!(e.sync().unwrap(), 2, "service and sorry server");
        assert_eq!(dests(&e, web()), vec![("10.0.0.250".into(), 1)]);
        assert_eq!(e.report(&a, Report::Up(1)), 2, "a in, sorry out");
        assert_eq!(dests(&e, web()), vec![("10.0.0.1".into(), 1)]);
        assert_eq!(e.report(&a, Report::Up(1)), 0, "repeats change nothing");
        assert_eq!(e.report(&a, Report::Up(5)), 1, "weight edited in place");
        assert!(matches!(e.kernel.log.last(), Some(Command::EditDest(..))));
        e.report(&b, Report::Up(1));
        e.report(&a, Report::Removed);
        assert_eq!(dests(&e, web()), vec![("10.0.0.2".into(), 1)]);
        e.report(&b, Report::Removed);
        assert_eq!(dests(&e, web()), vec![("10.0.0.250".into(), 1)]);
        e.report(&b, Report::Quiesced);
        assert_eq!(dests(&e, web()), vec![("10.0.0.2".into(), 0), ("10.0.0.250".into(), 1)]);
        assert!(!e.needs_resync);
        assert_eq!(e.teardown(), 1);
        assert!(e.kernel.table.services.is_empty());
    }

    #[test]
    fn restart_adopts_the_running_table_without_a_single_command() {
        let s = spec_of(&cf(""));
        let a = nanny(&s, "10.0.0.1");
        let mut first = Engine::new(FakeKernel::default(), s.clone(), Ownership::Configured);
        first.sync().unwrap();
        first.report(&a, Report::Up(5));
        let kernel = FakeKernel { table: first.kernel.table.clone(), log: Vec::new() };
        // A foreign service, made by hand.
        let mut kernel = kernel;
        let foreign = ServiceKey::tcp("192.0.2.99".parse().unwrap(), 25);
        kernel.apply(&[Command::AddService(ipvs::Service::new(foreign))]).unwrap();
        kernel.log.clear();
        let mut second = Engine::new(kernel, s, Ownership::Configured);
        assert_eq!(second.sync().unwrap(), 0, "{:?}", second.kernel.log);
        assert!(second.all_up(&a));
        assert!(second.kernel.table.services.contains_key(&foreign));
        // Under --own-table the foreign service goes, and only it.
        second.own = Ownership::Whole;
        assert_eq!(second.sync().unwrap(), 1);
        assert_eq!(second.kernel.log, vec![Command::DelService(foreign)]);
    }

    #[test]
    fn reload_applies_only_the_difference_and_restores_hand_removed_entries() {
        let s = spec_of(&cf(""));
        let a = nanny(&s, "10.0.0.1");
        let mut e = Engine::new(FakeKernel::default(), s, Ownership::Configured);
        e.sync().unwrap();
        e.report(&a, Report::Up(5));
        // Someone deletes a real server by hand.
        let dk = Dest::new("10.0.0.1".parse().unwrap(), 80).key();
        e.kernel.table.services.get_mut(&web()).unwrap().dests.remove(&dk);
        e.kernel.log.clear();
        // New: a second service; scheduler of web changed.
        let text = cf("virtual mail {\n active = 1\n address = 192.0.2.10 eth0:1\n port = 25\n server m {\n active = 1\n address = 10.0.0.5\n }\n}\n")
            .replace("port = 80\n", "port = 80\n scheduler = rr\n");
        let n = e.reload(spec_of(&text)).unwrap();
        assert_eq!(e.kernel.log.len(), n);
        let mail = ServiceKey::tcp("192.0.2.10".parse().unwrap(), 25);
        // mail's real server has no report yet and no sorry server: the
        // service alone goes in.
        assert_eq!(n, 3, "{:?}", e.kernel.log);
        assert!(
            matches!(&e.kernel.log[..], [
                Command::AddService(m),
                Command::EditService(s),
                Command::AddDest(k, d),
            ] if s.scheduler == "rr" && *k == web() && d.key() == dk && m.key == mail),
            "{:?}",
            e.kernel.log
        );
        assert_eq!(dests(&e, web()), vec![("10.0.0.1".into(), 5)]);
        // Reloading the same again is free.
        let again = spec_of(&text);
        e.kernel.log.clear();
        assert_eq!(e.reload(again).unwrap(), 0);
        // Dropping the service removes it.
        assert_eq!(e.reload(spec_of(&cf(""))).unwrap(), 2, "{:?}", e.kernel.log);
        assert!(!e.kernel.table.services.contains_key(&mail));
    }

    #[test]
    fn failed_commands_ask_for_a_resync_and_the_resync_heals() {
        let s = spec_of(&cf(""));
        let a = nanny(&s, "10.0.0.1");
        let mut e = Engine::new(FakeKernel::default(), s, Ownership::Configured);
        e.sync().unwrap();
        // The service vanishes behind lvsd's back (ipvsadm -C).
        e.kernel.table.services.clear();
        e.report(&a, Report::Up(5));
        assert!(e.needs_resync);
        e.sync().unwrap();
        assert!(!e.needs_resync);
        assert_eq!(dests(&e, web()), vec![("10.0.0.1".into(), 5)]);
        let d = &e.kernel.table.services[&web()].dests.values().next().unwrap();
        assert_eq!(d.fwd, ForwardMethod::Masq);
    }
}
