//! The engine's part of the operator's layer ([`crate::operate`]):
//! pulse's overrides applied, drains driven by reading the servers'
//! connection counts, servers removed by a reload drained, and the depool
//! threshold's log.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use ipvs::ServiceKey;
use lvs_config::overrides::Overrides;

use super::{DumpError, Engine};
use crate::operate::{sa, Drain, ServiceOps};
use crate::spec::{self, Spec};
use crate::table;
use ipvs::IpvsTable;

impl<K: IpvsTable> Engine<K> {
    /// Makes the operator's layer what pulse's state file says and
    /// changes the services it touches (before or after). `now` starts new
    /// drains. Returns the number of commands sent.
    pub fn set_overrides(&mut self, file: &Overrides, now: Instant) -> usize {
        let mut touched: BTreeSet<ServiceKey> = self.ops.services.keys().copied().collect();
        for line in self.ops.sync_overrides(&self.spec, file, now) {
            log::info!("{line}");
        }
        touched.extend(self.ops.services.keys().copied());
        self.replan(&touched)
    }

    /// Plans and sends the given services against the record.
    fn replan(&mut self, keys: &BTreeSet<ServiceKey>) -> usize {
        let before = self.sorry_state();
        let mut cmds = Vec::new();
        for key in keys {
            let Some(s) = self.spec.services.get(key) else { continue };
            let have = self.observed.services.get(key);
            let want = spec::desired_service_with(s, &self.reports, have, &self.ops).0;
            table::plan_service(Some(&want), have, &mut cmds);
        }
        let sent = self.apply(&cmds);
        self.log_sorry_changes(&before);
        self.log_threshold();
        sent
    }

    /// Whether a drain is in progress (then the supervisor calls
    /// [`Engine::drain_step`] now and then).
    pub fn draining(&self) -> bool {
        self.ops.draining().next().is_some()
    }

    /// One step of the drains in progress: reads the destinations (and
    /// their connection counts) of up to `services` services with a drain,
    /// ends each drain whose server has no connection left or whose
    /// timeout passed at `now`, and sends what the read shows must change
    /// (as a resync step does: the repair is planned from this read).
    /// Returns the number of commands sent.
    ///
    /// # Errors
    /// A read failed; [`Engine::needs_resync`] is set.
    pub fn drain_step(&mut self, now: Instant, services: usize) -> Result<usize, DumpError> {
        let mut keys: Vec<ServiceKey> = self.ops.draining().map(|(k, _, _)| k).collect();
        keys.dedup();
        if let Some(c) = self.drain_cursor {
            let i = keys.iter().position(|k| *k > c).unwrap_or(0);
            keys.rotate_left(i);
        }
        keys.truncate(services);
        self.drain_cursor = keys.last().copied();
        let mut sent = 0;
        for key in keys {
            let dests = match self.kernel.dests(&key) {
                Ok(d) => d,
                Err(e) => {
                    self.needs_resync = true;
                    return Err(DumpError(e));
                }
            };
            let read: table::Dests = dests.into_iter().map(|d| (d.key(), d)).collect();
            let name = self.spec.services.get(&key).map_or("?", |s| s.name.as_str()).to_owned();
            if let Some(so) = self.ops.services.get_mut(&key) {
                for (dk, d) in so.drains.iter_mut().filter(|(_, d)| !d.done) {
                    let conns = read.get(dk).map(|x| (x.active_conns, x.inactive_conns));
                    if d.finished(conns, now).is_none() && d.progress_due(now) {
                        let (a, i) = conns.unwrap_or((0, 0));
                        log::info!(
                            "virtual service {name} ({key}): real server {} draining: {a} active, {i} inactive connections left, {:.0}s of {:.0}s",
                            sa(dk),
                            now.saturating_duration_since(d.since).as_secs_f64(),
                            d.timeout.as_secs_f64()
                        );
                    }
                    if let Some(why) = d.finished(conns, now) {
                        let (a, i) = conns.unwrap_or((0, 0));
                        log::info!(
                            "virtual service {name} ({key}): real server {} drained ({why}; {a} active, {i} inactive connections left); out",
                            sa(dk)
                        );
                        d.done = true;
                    }
                }
            }
            if let Some(e) = self.observed.services.get_mut(&key) {
                e.dests = read;
            }
            sent += self.replan(&BTreeSet::from([key]));
            if let Some(so) = self.ops.services.get_mut(&key) {
                so.drains.retain(|_, d| !(d.done && d.removed.is_some()));
            }
        }
        self.ops.services.retain(|_, s| *s != ServiceOps::default());
        Ok(sent)
    }

    /// At a reload: a real server the new configuration no longer has, in
    /// a service it keeps, is drained rather than deleted (UDP ones are
    /// deleted at once: a datagram service has no connection to wait
    /// for); one it has again stops draining.
    pub(super) fn drain_removed(&mut self, new: &Spec, now: Instant) {
        for (k, so) in &mut self.ops.services {
            let Some(ns) = new.services.get(k) else { continue };
            so.drains.retain(|dk, d| {
                d.removed.is_none() || !ns.reals.iter().any(|r| r.dest.key() == *dk)
            });
        }
        for (k, have) in &self.observed.services {
            let (Some(old), Some(ns)) = (self.spec.services.get(k), new.services.get(k)) else {
                continue;
            };
            for (dk, dest) in &have.dests {
                let was_real = old.reals.iter().any(|r| r.dest.key() == *dk);
                let is_real = ns.reals.iter().any(|r| r.dest.key() == *dk);
                if !was_real || is_real || ns.sorry.as_ref().is_some_and(|s| s.key() == *dk) {
                    continue;
                }
                if ns.id.is_udp() || ns.drain_timeout.is_zero() {
                    log::info!(
                        "virtual service {} ({k}): real server {} removed from the configuration; deleted at once{}",
                        ns.name,
                        sa(dk),
                        if ns.id.is_udp() { " (udp: no connection to wait for)" } else { "" }
                    );
                    continue;
                }
                log::info!(
                    "virtual service {} ({k}): real server {} removed from the configuration; draining it (at most {}s)",
                    ns.name,
                    sa(dk),
                    ns.drain_timeout.as_secs_f64()
                );
                self.ops
                    .services
                    .entry(*k)
                    .or_default()
                    .drains
                    .insert(*dk, Drain::new(now, ns.drain_timeout, Some(dest.clone())));
            }
        }
        self.ops.services.retain(|k, _| new.services.contains_key(k));
    }

    /// Logs, with a warning, each change of the servers the depool
    /// threshold keeps in.
    pub(super) fn log_threshold(&mut self) {
        let mut now_kept = BTreeMap::new();
        for (k, s) in &self.spec.services {
            if s.min_up.is_none() {
                continue;
            }
            let have = self.observed.services.get(k);
            let (_, kept) = spec::desired_service_with(s, &self.reports, have, &self.ops);
            if !kept.is_empty() {
                now_kept.insert(*k, kept);
            }
        }
        for (k, kept) in &now_kept {
            if self.kept.get(k) != Some(kept) {
                let s = &self.spec.services[k];
                let list: Vec<String> = kept.iter().map(|k| sa(k).to_string()).collect();
                log::warn!(
                    "virtual service {} ({k}): kept by threshold (min_up {}): {} stay in although their checks fail",
                    s.name,
                    s.min_up.map(|m| m.to_string()).unwrap_or_default(),
                    list.join(", ")
                );
            }
        }
        for k in self.kept.keys() {
            if !now_kept.contains_key(k) {
                if let Some(s) = self.spec.services.get(k) {
                    log::info!(
                        "virtual service {} ({k}): no server kept by threshold any more",
                        s.name
                    );
                }
            }
        }
        self.kept = now_kept;
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::Duration;

    use ipvs::Command;
    use lvs_config::overrides::{Author, Change, Overrides};
    use lvs_config::Millis;

    use crate::engine::Engine;
    use crate::spec::{self, NannyKey, NannyOptions, Report, Spec};
    use crate::table::Ownership;
    use ipvs::FakeTable;

    fn spec_of(servers: &[&str], protocol: &str) -> Spec {
        let mut lines = vec![
            "routers: { primary: { address: 192.0.2.1 } }".to_owned(),
            "virtual_services:".to_owned(),
            "  - name: web".to_owned(),
            "    vip: { address: 192.0.2.10, interface: eth0 }".to_owned(),
            "    port: 80".to_owned(),
            format!("    protocol: {protocol}"),
            "    drain_timeout: 30".to_owned(),
            "    real_servers:".to_owned(),
        ];
        for (i, ip) in servers.iter().enumerate() {
            lines.push(format!("      - {{ name: r{i}, address: {ip} }}"));
        }
        let (c, d) = lvs_config::parse_str(&lines.join("\n"), "t.yaml", lvs_config::Format::Yaml);
        spec::build(&c.unwrap_or_else(|| panic!("{d:?}")), NannyOptions::default())
    }

    fn key(s: &Spec) -> ipvs::ServiceKey {
        *s.services.keys().next().unwrap()
    }

    fn all_up(e: &mut Engine<FakeTable>) {
        let ks: Vec<NannyKey> = e.spec.nannies.keys().cloned().collect();
        for k in ks {
            e.report(&k, Report::Up(1));
        }
    }

    fn weights(e: &Engine<FakeTable>) -> Vec<(String, u32)> {
        let k = key(&e.spec);
        let kernel = crate::table::of_fake(&e.kernel);
        kernel.services[&k].dests.values().map(|d| (d.addr.to_string(), d.weight)).collect()
    }

    fn set_conns(e: &mut Engine<FakeTable>, ip: &str, active: u32, inactive: u32) {
        let k = key(&e.spec);
        let dest = ipvs::DestKey { addr: ip.parse().unwrap(), port: 80 };
        assert!(e.kernel.set_conns(&k, &dest, active, inactive), "{ip} not in the table");
    }

    fn file(change: Change) -> Overrides {
        let mut o = Overrides::default();
        o.apply(&change, &Author { uid: 0, at: 0, router: "lvs1".into() });
        o
    }

    fn web() -> lvs_config::overrides::ServiceId {
        "tcp:192.0.2.10:80".parse().unwrap()
    }

    fn a1() -> SocketAddr {
        "10.0.0.1:80".parse().unwrap()
    }

    #[test]
    fn a_drain_waits_for_the_connections_then_deletes() {
        let s = spec_of(&["10.0.0.1", "10.0.0.2"], "tcp");
        let mut e = Engine::new(FakeTable::new(), s, Ownership::Configured);
        e.sync().unwrap();
        all_up(&mut e);
        let t0 = std::time::Instant::now();
        let f = file(Change::Drain(web(), a1(), Millis(30_000)));
        assert_eq!(e.set_overrides(&f, t0), 1);
        assert_eq!(weights(&e), [("10.0.0.1".into(), 0), ("10.0.0.2".into(), 1)]);
        assert!(e.draining());
        set_conns(&mut e, "10.0.0.1", 1, 2);
        assert_eq!(e.drain_step(t0 + Duration::from_secs(1), 4).unwrap(), 0, "busy: stays");
        set_conns(&mut e, "10.0.0.1", 0, 0);
        assert_eq!(e.drain_step(t0 + Duration::from_secs(2), 4).unwrap(), 1);
        assert_eq!(weights(&e), [("10.0.0.2".into(), 1)]);
        assert!(!e.draining());
        // The nanny's verdicts do not bring it back; `enable` does.
        let a = e.spec.nannies.keys().next().unwrap().clone();
        e.report(&a, Report::Removed);
        e.report(&a, Report::Up(1));
        assert_eq!(weights(&e).len(), 1);
        e.set_overrides(&Overrides::default(), t0);
        assert_eq!(weights(&e).len(), 2);
    }

    #[test]
    fn the_drain_timeout_removes_a_server_that_never_goes_idle() {
        let s = spec_of(&["10.0.0.1", "10.0.0.2"], "tcp");
        let mut e = Engine::new(FakeTable::new(), s, Ownership::Configured);
        e.sync().unwrap();
        all_up(&mut e);
        let t0 = std::time::Instant::now();
        e.set_overrides(&file(Change::Drain(web(), a1(), Millis(30_000))), t0);
        set_conns(&mut e, "10.0.0.1", 5, 5);
        e.drain_step(t0 + Duration::from_secs(29), 4).unwrap();
        assert_eq!(weights(&e).len(), 2);
        e.drain_step(t0 + Duration::from_secs(30), 4).unwrap();
        assert_eq!(weights(&e), [("10.0.0.2".into(), 1)]);
    }

    #[test]
    fn a_reload_drains_a_removed_tcp_server_and_deletes_a_udp_one() {
        for (proto, drained) in [("tcp", true), ("udp", false)] {
            let s = spec_of(&["10.0.0.1", "10.0.0.2"], proto);
            let mut e = Engine::new(FakeTable::new(), s, Ownership::Configured);
            e.sync().unwrap();
            all_up(&mut e);
            set_conns(&mut e, "10.0.0.1", 1, 0);
            e.kernel.log.clear();
            e.reload(spec_of(&["10.0.0.2"], proto));
            if drained {
                assert_eq!(weights(&e), [("10.0.0.1".into(), 0), ("10.0.0.2".into(), 1)]);
                assert!(matches!(e.kernel.log[..], [Command::EditDest(..)]), "{:?}", e.kernel.log);
                set_conns(&mut e, "10.0.0.1", 0, 0);
                e.drain_step(std::time::Instant::now(), 4).unwrap();
                assert!(e.ops.services.is_empty(), "forgotten once over");
            } else {
                assert!(matches!(e.kernel.log[..], [Command::DelDest(..)]), "{:?}", e.kernel.log);
            }
            assert_eq!(weights(&e), [("10.0.0.2".into(), 1)]);
            // A resync leaves the result alone.
            e.start_resync("test");
            while e.resync_step(1).unwrap().is_none() {}
            assert_eq!(weights(&e), [("10.0.0.2".into(), 1)]);
        }
    }

    #[test]
    fn a_server_back_in_the_configuration_stops_draining() {
        let s = spec_of(&["10.0.0.1", "10.0.0.2"], "tcp");
        let mut e = Engine::new(FakeTable::new(), s.clone(), Ownership::Configured);
        e.sync().unwrap();
        all_up(&mut e);
        set_conns(&mut e, "10.0.0.1", 1, 0);
        e.reload(spec_of(&["10.0.0.2"], "tcp"));
        assert!(e.draining());
        e.reload(s);
        assert!(!e.draining());
    }
}
