//! The desired table given the nannies' reports: per service, the real
//! servers as reported, the operator's layer and the sorry server; and
//! whether a kernel entry already is that, without building it. Pure.

use std::collections::BTreeMap;

use ipvs::Dest;

use super::{NannyKey, RealSpec, Report, ServiceSpec, Spec, Watch};
use crate::operate::Ops;
use crate::table::{Entry, Table};

/// The report that decides a real server, given every nanny's report.
pub(crate) fn report_of(real: &RealSpec, reports: &BTreeMap<NannyKey, Report>) -> Report {
    match &real.watch {
        Watch::Always => Report::Up(real.dest.weight),
        Watch::Nanny(k) => reports.get(k).copied().unwrap_or(Report::Unknown),
    }
}

/// The desired entry of one service: real servers as reported (an
/// unreported one keeps what the kernel has, `observed`), and the sorry
/// server when no real server is in with a weight above 0. Without the
/// operator's layer: [`desired_service_with`]. For the tests.
#[cfg(test)]
pub fn desired_service(
    spec: &ServiceSpec,
    reports: &BTreeMap<NannyKey, Report>,
    observed: Option<&Entry>,
) -> Entry {
    desired_service_with(spec, reports, observed, &Ops::default()).0
}

/// `desired_service` with the operator's layer ([`crate::operate`]):
/// also returns the real servers kept in by the depool threshold.
pub fn desired_service_with(
    spec: &ServiceSpec,
    reports: &BTreeMap<NannyKey, Report>,
    observed: Option<&Entry>,
    ops: &Ops,
) -> (Entry, Vec<ipvs::DestKey>) {
    let mut e = Entry::new(spec.service.clone());
    let kept =
        crate::operate::real_servers(spec, reports, observed.map(|o| &o.dests), ops, &mut e.dests);
    let serving = e.dests.values().any(|d| d.weight > 0);
    if let Some(sorry) = &spec.sorry {
        // A sorry server that is also a real server is left to its nanny.
        if !serving && !e.dests.contains_key(&sorry.key()) {
            e.dests.insert(sorry.key(), sorry.clone());
        }
    }
    (e, kept)
}

/// Whether `have` already is what `desired_service` makes of it, that
/// is whether planning the service would send nothing; checked without
/// building the desired entry, so that a reload of a large table pays
/// only for the services that changed.
pub fn in_sync(spec: &ServiceSpec, reports: &BTreeMap<NannyKey, Report>, have: &Entry) -> bool {
    if !crate::table::service_matches(&spec.service, &have.service) {
        return false;
    }
    let sorry_key = spec.sorry.as_ref().map(Dest::key);
    let (mut wanted, mut serving, mut sorry_taken) = (0usize, false, false);
    for real in &spec.reals {
        let k = real.dest.key();
        let found = have.dests.get(&k);
        let weight = match report_of(real, reports) {
            Report::Up(w) => Some(w),
            Report::Quiesced => Some(0),
            Report::Removed => None,
            Report::Unknown => found.map(|d| d.weight),
        };
        // ECMP with a consistent scheduler: never out, at 0 when not up.
        let weight = if spec.hold_at_zero { weight.or(Some(0)) } else { weight };
        // Every wanted destination must be there as wanted; one that is
        // there unwanted makes the count below differ (unless it is the
        // sorry server, counted there).
        match (weight, found) {
            (None, _) => continue,
            (Some(w), Some(h)) if crate::table::dest_matches_at(&real.dest, w, h) => {
                wanted += 1;
                serving |= w > 0;
                sorry_taken |= sorry_key == Some(k);
            }
            _ => return false,
        }
    }
    if let Some(sorry) = &spec.sorry {
        if !serving && !sorry_taken {
            match have.dests.get(&sorry.key()) {
                Some(h) if crate::table::dest_matches(sorry, h) => wanted += 1,
                _ => return false,
            }
        }
    }
    have.dests.len() == wanted
}

/// The desired table: every service of the spec.
pub fn desired_table(
    spec: &Spec,
    reports: &BTreeMap<NannyKey, Report>,
    observed: &Table,
    ops: &Ops,
) -> Table {
    Table {
        services: spec
            .services
            .iter()
            .map(|(k, s)| (*k, desired_service_with(s, reports, observed.services.get(k), ops).0))
            .collect(),
        timeouts: Some(spec.timeouts),
    }
}

/// Whether a service's sorry server is in, for the log.
pub fn sorry_in(spec: &ServiceSpec, e: &Entry) -> bool {
    spec.sorry.as_ref().is_some_and(|s| {
        e.dests.contains_key(&s.key()) && !spec.reals.iter().any(|r| r.dest.key() == s.key())
    })
}
