//! The operator's layer on top of the nannies' verdicts, pure: overrides
//! from pulse's state file (`lvs_config::overrides`: disable, drain,
//! weight), drains of real servers a reload removed, and the depool
//! threshold (`min_up`).
//!
//! [`real_servers`] works out a service's real servers from the reports
//! and this layer; [`crate::spec::desired_service_with`] adds the sorry
//! server. Time comes in as an argument ([`Ops::sync_overrides`],
//! [`Drain::finished`]), so drains are unit-tested with injected time.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ipvs::{Dest, DestKey, ServiceKey};
use lvs_config::overrides::{Out, Overrides, ServiceId};

use crate::spec::{NannyKey, Report, ServiceSpec, Spec};
use crate::table::Dests;

/// A real server on its way out: weight 0 until it has no connection left
/// or its timeout passed, then deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drain {
    /// When lvsd started it (its own monotonic clock: a restarted lvsd
    /// starts the timeout again).
    pub since: Instant,
    /// The longest it lasts.
    pub timeout: Duration,
    /// Over: the server is out.
    pub done: bool,
    /// Set for a server a reload removed from the configuration: the
    /// destination as the kernel had it (the spec no longer has it). The
    /// drain is forgotten once it is over.
    pub removed: Option<Dest>,
    /// When its progress was last logged.
    pub said: Option<Instant>,
}

/// How often a drain in progress logs its connection counts.
pub const DRAIN_PROGRESS_EVERY: Duration = Duration::from_secs(10);

impl Drain {
    /// A drain starting at `since`.
    pub fn new(since: Instant, timeout: Duration, removed: Option<Dest>) -> Drain {
        Drain { since, timeout, done: false, removed, said: None }
    }

    /// Whether its progress is due in the log at `now` (then it is noted).
    pub fn progress_due(&mut self, now: Instant) -> bool {
        let due =
            now.saturating_duration_since(self.said.unwrap_or(self.since)) >= DRAIN_PROGRESS_EVERY;
        if due {
            self.said = Some(now);
        }
        due
    }

    /// Whether a drain is over, given the server's connection counts as
    /// last read (`None`: the kernel no longer has it).
    pub fn finished(&self, conns: Option<(u32, u32)>, now: Instant) -> Option<&'static str> {
        match conns {
            None => Some("it is no longer in the kernel table"),
            Some((0, 0)) => Some("it has no connection left"),
            Some(_) if now.saturating_duration_since(self.since) >= self.timeout => {
                Some("its drain timeout passed")
            }
            Some(_) => None,
        }
    }
}

/// The operator's layer of one service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceOps {
    /// `disable SERVICE`: every real server out (the sorry server, if
    /// any, in).
    pub disabled: bool,
    /// `disable SERVICE SERVER`.
    pub disabled_servers: BTreeSet<DestKey>,
    /// `weight SERVICE SERVER N`.
    pub weights: BTreeMap<DestKey, u32>,
    /// Drains, asked for (`drain`) or after a reload.
    pub drains: BTreeMap<DestKey, Drain>,
}

impl ServiceOps {
    fn is_empty(&self) -> bool {
        !self.disabled
            && self.disabled_servers.is_empty()
            && self.weights.is_empty()
            && self.drains.is_empty()
    }
}

/// The operator's layer of the whole table, and the order in which
/// servers failed (for the threshold).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ops {
    /// By service; services without any are absent.
    pub services: BTreeMap<ServiceKey, ServiceOps>,
    /// When each nanny last reported a failure, as a sequence number.
    pub failed_at: BTreeMap<NannyKey, u64>,
    failures: u64,
}

/// A destination as `IP:PORT`, for the log.
pub fn sa(dk: &DestKey) -> SocketAddr {
    SocketAddr::new(dk.addr, dk.port)
}

fn dest_key(a: SocketAddr) -> DestKey {
    DestKey { addr: a.ip(), port: a.port() }
}

impl Ops {
    /// Whether `service` has nothing of the operator's layer (then the
    /// planner's fast path, [`crate::spec::in_sync`], holds).
    pub fn plain(&self, spec: &ServiceSpec) -> bool {
        spec.min_up.is_none() && self.services.get(&spec.service.key).is_none_or(|s| s.is_empty())
    }

    /// Records a report, for the order of failures.
    pub fn note_report(&mut self, nanny: &NannyKey, report: Report) {
        match report {
            Report::Removed | Report::Quiesced => {
                self.failures += 1;
                self.failed_at.insert(nanny.clone(), self.failures);
            }
            Report::Up(_) | Report::Unknown => {
                self.failed_at.remove(nanny);
            }
        }
    }

    /// Makes the layer what the state file says: disables and weights as
    /// given; a drain already running keeps its start, a new one starts
    /// at `now`, one the file no longer has ends (drains after a reload
    /// are kept). Entries naming what the spec does not have are ignored.
    /// Returns a log line per change.
    pub fn sync_overrides(&mut self, spec: &Spec, file: &Overrides, now: Instant) -> Vec<String> {
        let ids: BTreeMap<ServiceId, ServiceKey> =
            spec.services.iter().filter(|(_, s)| !s.datapath).map(|(k, s)| (s.id, *k)).collect();
        let mut next: BTreeMap<ServiceKey, ServiceOps> = BTreeMap::new();
        let mut log = Vec::new();
        for e in &file.entries {
            let Some(key) = ids.get(&e.service) else { continue };
            let o = next.entry(*key).or_default();
            let Some(server) = e.server else {
                o.disabled |= e.out.is_some();
                continue;
            };
            let dk = dest_key(server);
            if let Some(w) = e.weight {
                o.weights.insert(dk, w);
            }
            match e.out {
                Some(Out::Disabled) => {
                    o.disabled_servers.insert(dk);
                }
                Some(Out::Drain { timeout }) => {
                    let old = self.services.get(key).and_then(|s| s.drains.get(&dk));
                    let d = match old {
                        Some(d) if d.removed.is_none() => d.clone(),
                        _ => Drain::new(now, timeout.to_duration(), None),
                    };
                    o.drains.insert(dk, d);
                }
                None => {}
            }
        }
        // Drains of removed servers outlive the file's changes.
        for (k, s) in &self.services {
            for (dk, d) in &s.drains {
                if d.removed.is_some() {
                    next.entry(*k).or_default().drains.entry(*dk).or_insert_with(|| d.clone());
                }
            }
        }
        for (k, s) in &next {
            let name = spec.services.get(k).map_or("?", |s| s.name.as_str());
            let old = self.services.get(k).cloned().unwrap_or_default();
            if s.disabled != old.disabled {
                log.push(format!(
                    "virtual service {name} ({k}): {} by the operator",
                    if s.disabled { "disabled" } else { "enabled" }
                ));
            }
            for dk in s.disabled_servers.difference(&old.disabled_servers) {
                log.push(format!(
                    "virtual service {name} ({k}): real server {} disabled by the operator",
                    sa(dk)
                ));
            }
            for (dk, w) in &s.weights {
                if old.weights.get(dk) != Some(w) {
                    log.push(format!(
                        "virtual service {name} ({k}): real server {} weight {w} by the operator",
                        sa(dk)
                    ));
                }
            }
            for dk in s.drains.keys().filter(|dk| !old.drains.contains_key(dk)) {
                log.push(format!(
                    "virtual service {name} ({k}): draining real server {} by the operator",
                    sa(dk)
                ));
            }
        }
        for (k, old) in &self.services {
            let s = next.get(k).cloned().unwrap_or_default();
            let name = spec.services.get(k).map_or("?", |s| s.name.as_str());
            if old.disabled && !s.disabled {
                log.push(format!("virtual service {name} ({k}): enabled by the operator"));
            }
            for dk in old.disabled_servers.difference(&s.disabled_servers) {
                log.push(format!(
                    "virtual service {name} ({k}): real server {} enabled by the operator",
                    sa(dk)
                ));
            }
            for dk in old.weights.keys().filter(|dk| !s.weights.contains_key(dk)) {
                log.push(format!(
                    "virtual service {name} ({k}): real server {} back to its own weight",
                    sa(dk)
                ));
            }
            for dk in old.drains.keys().filter(|dk| !s.drains.contains_key(dk)) {
                log.push(format!(
                    "virtual service {name} ({k}): real server {} no longer drained",
                    sa(dk)
                ));
            }
        }
        next.retain(|_, s| !s.is_empty());
        self.services = next;
        log
    }

    /// The drains not over yet, by service.
    pub fn draining(&self) -> impl Iterator<Item = (ServiceKey, DestKey, &Drain)> {
        self.services
            .iter()
            .flat_map(|(k, s)| s.drains.iter().filter(|(_, d)| !d.done).map(|(dk, d)| (*k, *dk, d)))
    }
}

/// What the operator's layer does to one real server, for the report to
/// pulse (`disabled`, `service disabled`, `draining`, `drained`,
/// `weight N`), or `None`.
pub fn describe(ops: Option<&ServiceOps>, dk: DestKey) -> Option<String> {
    let o = ops?;
    let mut what = Vec::new();
    if o.disabled {
        what.push("service disabled".to_owned());
    }
    if o.disabled_servers.contains(&dk) {
        what.push("disabled".to_owned());
    }
    if let Some(d) = o.drains.get(&dk) {
        what.push(if d.done { "drained" } else { "draining" }.to_owned());
    }
    if let Some(w) = o.weights.get(&dk) {
        what.push(format!("weight {w}"));
    }
    (!what.is_empty()).then(|| what.join(", "))
}

/// The real servers of one service and the weight of each, from the
/// nannies' reports (`base`: `None` = out, `Some(w)` = in at `w`; an
/// unreported one keeps what the kernel has, `observed`) and the
/// operator's layer, in this order:
/// - `disable` (of the server or the whole service) and a finished drain
///   take it out; a drain in progress sets weight 0 (if the kernel still
///   has the server; one it has not stays out);
/// - a weight override replaces the weight of a server its nanny has in
///   with a weight above 0;
/// - the depool threshold: when fewer than `min_up` of the real servers
///   would be in with a weight above 0, failing ones (reported down or
///   quiesced, not taken out by the operator) stay in at their weight,
///   those that failed last first; they are returned, to be marked.
pub fn real_servers(
    spec: &ServiceSpec,
    reports: &BTreeMap<NannyKey, Report>,
    observed: Option<&Dests>,
    ops: &Ops,
    out: &mut Dests,
) -> Vec<DestKey> {
    let sops = ops.services.get(&spec.service.key);
    let empty = ServiceOps::default();
    let so = sops.unwrap_or(&empty);
    let mut failing: Vec<(u64, usize)> = Vec::new();
    let mut up = 0usize;
    for (i, real) in spec.reals.iter().enumerate() {
        let k = real.dest.key();
        let report = crate::spec::report_of(real, reports);
        let mut weight = match report {
            Report::Up(w) => Some(w),
            Report::Quiesced => Some(0),
            Report::Removed => None,
            Report::Unknown => observed.and_then(|o| o.get(&k)).map(|d| d.weight),
        };
        if spec.hold_at_zero {
            weight = weight.or(Some(0));
        }
        let operator_out = so.disabled || so.disabled_servers.contains(&k);
        if operator_out {
            continue;
        }
        if let Some(d) = so.drains.get(&k) {
            if !d.done && observed.is_some_and(|o| o.contains_key(&k)) {
                let mut dest = real.dest.clone();
                dest.weight = 0;
                out.insert(k, dest);
            }
            continue;
        }
        if let (Some(w), Some(ow)) = (weight, so.weights.get(&k)) {
            if w > 0 || matches!(report, Report::Up(_)) {
                weight = Some(*ow);
            }
        }
        match (report, weight) {
            (Report::Removed | Report::Quiesced, _) => {
                let seq = match &real.watch {
                    crate::spec::Watch::Nanny(n) => ops.failed_at.get(n).copied().unwrap_or(0),
                    crate::spec::Watch::Always => 0,
                };
                failing.push((seq, i));
            }
            (_, Some(w)) if w > 0 => up += 1,
            _ => {}
        }
        if let Some(w) = weight {
            let mut d = real.dest.clone();
            d.weight = w;
            out.insert(k, d);
        }
    }
    // Servers a reload removed, still draining.
    for (dk, d) in &so.drains {
        if let (Some(dest), false) = (&d.removed, d.done) {
            if observed.is_some_and(|o| o.contains_key(dk)) && !out.contains_key(dk) {
                let mut dest = dest.clone();
                dest.weight = 0;
                out.insert(*dk, dest);
            }
        }
    }
    let mut kept = Vec::new();
    if let (Some(min), false) = (spec.min_up, so.disabled) {
        let need = min.of(spec.reals.len());
        if up < need {
            // The last to fail would have been the last to go out.
            failing.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            for &(_, i) in failing.iter().take(need - up) {
                let real = &spec.reals[i];
                let k = real.dest.key();
                let mut d = real.dest.clone();
                d.weight = so.weights.get(&k).copied().unwrap_or(real.dest.weight).max(1);
                out.insert(k, d);
                kept.push(k);
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{build, desired_service_with, NannyOptions};
    use lvs_config::overrides::{Author, Change};
    use lvs_config::Millis;

    fn spec(min_up: &str) -> Spec {
        let text = [
            "routers: { primary: { address: 192.0.2.1 } }",
            "virtual_services:",
            "  - name: web",
            "    vip: { address: 192.0.2.10, interface: eth0 }",
            "    port: 80",
            min_up,
            "    sorry_server: 10.0.0.250",
            "    real_servers:",
            "      - { name: a, address: 10.0.0.1, weight: 5 }",
            "      - { name: b, address: 10.0.0.2 }",
            "      - { name: c, address: 10.0.0.3 }",
            "      - { name: d, address: 10.0.0.4 }",
        ]
        .join("\n");
        let (c, d) = lvs_config::parse_str(&text, "t.yaml", lvs_config::Format::Yaml);
        build(&c.unwrap_or_else(|| panic!("{d:?}")), NannyOptions::default())
    }

    fn nanny(s: &Spec, ip: &str) -> NannyKey {
        s.nannies.iter().find(|(_, n)| n.server.ip().to_string() == ip).unwrap().0.clone()
    }

    fn svc(s: &Spec) -> &ServiceSpec {
        s.services.values().next().unwrap()
    }

    fn all_up(s: &Spec) -> BTreeMap<NannyKey, Report> {
        s.nannies.keys().map(|k| (k.clone(), Report::Up(1))).collect()
    }

    fn weights(e: &crate::table::Entry) -> Vec<(String, u32)> {
        e.dests.values().map(|d| (d.addr.to_string(), d.weight)).collect()
    }

    fn file(changes: &[Change]) -> Overrides {
        let mut o = Overrides::default();
        let who = Author { uid: 0, at: 0, router: "lvs1".into() };
        for c in changes {
            o.apply(c, &who);
        }
        o
    }

    const WEB: &str = "tcp:192.0.2.10:80";

    fn addr(ip: &str) -> SocketAddr {
        format!("{ip}:80").parse().unwrap()
    }

    #[test]
    fn disable_weight_and_service_disable() {
        let s = spec("");
        let t0 = Instant::now();
        let web = WEB.parse().unwrap();
        let mut ops = Ops::default();
        let log = ops.sync_overrides(
            &s,
            &file(&[
                Change::Disable(web, Some(addr("10.0.0.2"))),
                Change::Weight(web, addr("10.0.0.3"), Some(9)),
            ]),
            t0,
        );
        assert_eq!(log.len(), 2, "{log:?}");
        let (e, kept) = desired_service_with(svc(&s), &all_up(&s), None, &ops);
        assert!(kept.is_empty());
        let so = ops.services.values().next();
        let dk = |ip: &str| DestKey { addr: ip.parse().unwrap(), port: 80 };
        assert_eq!(describe(so, dk("10.0.0.2")).as_deref(), Some("disabled"));
        assert_eq!(describe(so, dk("10.0.0.3")).as_deref(), Some("weight 9"));
        assert_eq!(describe(so, dk("10.0.0.1")), None);
        assert_eq!(
            weights(&e),
            [("10.0.0.1".into(), 1), ("10.0.0.3".into(), 9), ("10.0.0.4".into(), 1)]
        );
        // A server its nanny took out stays out, whatever its weight override.
        let mut r = all_up(&s);
        r.insert(nanny(&s, "10.0.0.3"), Report::Removed);
        let (e, _) = desired_service_with(svc(&s), &r, None, &ops);
        assert_eq!(weights(&e).len(), 2);
        // The whole service: every real server out, the sorry server in.
        ops.sync_overrides(&s, &file(&[Change::Disable(web, None)]), t0);
        let (e, _) = desired_service_with(svc(&s), &all_up(&s), None, &ops);
        assert_eq!(weights(&e), [("10.0.0.250".into(), 1)]);
        // Enabled again: as the nannies say.
        let log = ops.sync_overrides(&s, &Overrides::default(), t0);
        assert!(log.iter().any(|l| l.contains("enabled by the operator")), "{log:?}");
        assert!(ops.services.is_empty());
    }

    #[test]
    fn a_drain_is_weight_zero_then_out_and_keeps_its_start() {
        let s = spec("");
        let t0 = Instant::now();
        let web = WEB.parse().unwrap();
        let mut ops = Ops::default();
        let f = file(&[Change::Drain(web, addr("10.0.0.1"), Millis(30_000))]);
        ops.sync_overrides(&s, &f, t0);
        let have = crate::spec::desired_service(svc(&s), &all_up(&s), None);
        let (e, _) = desired_service_with(svc(&s), &all_up(&s), Some(&have), &ops);
        assert_eq!(weights(&e)[0], ("10.0.0.1".into(), 0));
        let (key, dk, d) = ops.draining().next().unwrap();
        assert_eq!(d.finished(Some((1, 3)), t0 + Duration::from_secs(29)), None);
        assert!(d.finished(Some((0, 0)), t0).is_some());
        assert!(d.finished(Some((1, 0)), t0 + Duration::from_secs(30)).is_some());
        let mut d = d.clone();
        assert!(!d.progress_due(t0 + Duration::from_secs(9)));
        assert!(d.progress_due(t0 + Duration::from_secs(10)));
        assert!(!d.progress_due(t0 + Duration::from_secs(15)), "every 10 s");
        // Re-reading the file does not restart it.
        ops.sync_overrides(&s, &f, t0 + Duration::from_secs(10));
        assert_eq!(ops.services[&key].drains[&dk].since, t0);
        ops.services.get_mut(&key).unwrap().drains.get_mut(&dk).unwrap().done = true;
        let (e, _) = desired_service_with(svc(&s), &all_up(&s), Some(&have), &ops);
        assert_eq!(weights(&e).len(), 3, "out once drained");
        // Not in the kernel: nothing to drain, it stays out.
        let mut ops = Ops::default();
        ops.sync_overrides(&s, &f, t0);
        let (e, _) = desired_service_with(svc(&s), &all_up(&s), None, &ops);
        assert_eq!(weights(&e).len(), 3);
    }

    #[test]
    fn the_threshold_keeps_the_last_to_fail() {
        let s = spec("    min_up: 50%");
        let mut ops = Ops::default();
        let mut r = all_up(&s);
        // b, then c, then d fail: with 4 servers and 50%, 2 stay: a and d.
        for ip in ["10.0.0.2", "10.0.0.3", "10.0.0.4"] {
            r.insert(nanny(&s, ip), Report::Removed);
            ops.note_report(&nanny(&s, ip), Report::Removed);
        }
        let (e, kept) = desired_service_with(svc(&s), &r, None, &ops);
        assert_eq!(weights(&e), [("10.0.0.1".into(), 1), ("10.0.0.4".into(), 1)]);
        assert_eq!(kept.len(), 1);
        // b recovers: two are up, none kept.
        r.insert(nanny(&s, "10.0.0.2"), Report::Up(1));
        ops.note_report(&nanny(&s, "10.0.0.2"), Report::Up(1));
        let (e, kept) = desired_service_with(svc(&s), &r, None, &ops);
        assert!(kept.is_empty());
        assert_eq!(weights(&e), [("10.0.0.1".into(), 1), ("10.0.0.2".into(), 1)]);
        // The operator is not limited by it: a disabled server is not kept.
        let web = WEB.parse().unwrap();
        ops.sync_overrides(
            &s,
            &file(&[Change::Disable(web, Some(addr("10.0.0.1")))]),
            Instant::now(),
        );
        let (e, kept) = desired_service_with(svc(&s), &r, None, &ops);
        assert_eq!(kept.len(), 1, "d, the last failed, is kept beside b");
        assert_eq!(weights(&e), [("10.0.0.2".into(), 1), ("10.0.0.4".into(), 1)]);
        // Quiesced servers count as failing and are kept at their weight.
        let mut r = all_up(&s);
        for ip in ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"] {
            r.insert(nanny(&s, ip), Report::Quiesced);
        }
        let (e, kept) = desired_service_with(svc(&s), &r, None, &Ops::default());
        assert_eq!(kept.len(), 2);
        assert_eq!(e.dests.values().filter(|d| d.weight > 0).count(), 2);
        assert!(!crate::spec::sorry_in(svc(&s), &e), "kept servers serve: no sorry server");
    }
}
