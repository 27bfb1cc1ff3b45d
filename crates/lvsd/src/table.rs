//! The IPVS table as lvsd reasons about it, and the pure planner that turns
//! "what the table should be" and "what the kernel has" into the fewest
//! `ipvs` commands.
//!
//! Nothing here does IO. [`plan`] is the heart of "reconcile, not flush":
//! a service whose scheduler, flags or persistence changed is edited in
//! place, a real server whose weight or method changed is edited in place,
//! and only what is missing is added and only what is extra is removed.

use std::collections::BTreeMap;

use ipvs::{
    Command, Dest, DestKey, ForwardMethod, IpvsTable, Service, ServiceFlags, ServiceKey, Timeouts,
};

/// The destinations of one service, by key.
pub type Dests = BTreeMap<DestKey, Dest>;

/// One virtual service and its real servers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The service (scheduler, flags, persistence).
    pub service: Service,
    /// Its destinations.
    pub dests: Dests,
}

impl Entry {
    /// A service with no destination.
    pub fn new(service: Service) -> Entry {
        Entry { service, dests: Dests::new() }
    }
}

/// A whole table: services by key, and the connection timeouts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    /// The services.
    pub services: BTreeMap<ServiceKey, Entry>,
    /// Connection timeouts; `None` when unknown (desired: leave alone).
    pub timeouts: Option<Timeouts>,
}

impl Table {
    /// Builds a table from a kernel dump (`ipvs::Client::table`).
    pub fn from_dump(dump: Vec<(Service, Vec<Dest>)>, timeouts: Option<Timeouts>) -> Table {
        let services = dump
            .into_iter()
            .map(|(s, d)| {
                (s.key, Entry { dests: d.into_iter().map(|d| (d.key(), d)).collect(), service: s })
            })
            .collect();
        Table { services, timeouts }
    }

    /// Number of destinations over all services.
    pub fn dest_count(&self) -> usize {
        self.services.values().map(|e| e.dests.len()).sum()
    }
}

/// Reads the whole kernel table, timeouts included: one request for the
/// timeouts, one for the services, one per service for its destinations.
///
/// # Errors
/// A socket or kernel error.
pub fn read(kernel: &mut impl IpvsTable) -> Result<Table, ipvs::Error> {
    let timeouts = kernel.timeouts()?;
    Ok(Table::from_dump(kernel.table()?, Some(timeouts)))
}

/// What an `ipvs::FakeTable` holds, as lvsd models a table (destinations
/// by key), without counting a read: the tests' look at the kernel.
#[cfg(test)]
pub(crate) fn of_fake(fake: &ipvs::FakeTable) -> Table {
    Table::from_dump(fake.snapshot(), Some(ipvs::FakeTable::timeouts(fake)))
}

/// Whether lvsd may remove services its configuration does not describe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// Only the services the configuration names are lvsd's (the default):
    /// anything else in the kernel table is left alone.
    Configured,
    /// The whole table is lvsd's (`--own-table`): services the
    /// configuration does not describe are removed.
    Whole,
}

/// The service flag bits lvsd sets and compares (the kernel adds `HASHED`).
const FLAG_MASK: u32 = !ServiceFlags::HASHED.0;

/// True when two services agree on everything `edit_service` can change.
pub fn service_matches(want: &Service, have: &Service) -> bool {
    let persistent = want.is_persistent();
    want.scheduler == have.scheduler
        && want.flags.0 & FLAG_MASK == have.flags.0 & FLAG_MASK
        && want.pe_name == have.pe_name
        && (!persistent || (want.timeout == have.timeout && want.netmask == have.netmask))
}

/// True when two destinations agree on everything `edit_dest` can change.
pub fn dest_matches(want: &Dest, have: &Dest) -> bool {
    dest_matches_at(want, want.weight, have)
}

/// [`dest_matches`] for `want` at another weight, without a copy of it.
pub fn dest_matches_at(want: &Dest, weight: u32, have: &Dest) -> bool {
    want.fwd == have.fwd
        && weight == have.weight
        && want.upper_threshold == have.upper_threshold
        && want.lower_threshold == have.lower_threshold
        && (want.fwd != ForwardMethod::Tunnel || want.tunnel == have.tunnel)
}

/// Whether a service is one of lvsd's private services of checks through
/// the data path: a firewall mark in `lvs_config::DATAPATH_MARKS`, which no
/// configuration may give a service of its own.
pub fn is_private(key: &ServiceKey) -> bool {
    matches!(key, ServiceKey::Fwmark { mark, .. } if lvs_config::DATAPATH_MARKS.contains(mark))
}

/// The commands that make `observed` into `desired`, fewest first-class:
/// - timeouts are set only when a wanted value is non-zero and differs;
/// - services in `observed` only are deleted only under [`Ownership::Whole`],
///   or when they are private services ([`is_private`]) a previous run left;
/// - every other difference is planned by [`plan_service`].
pub fn plan(desired: &Table, observed: &Table, own: Ownership) -> Vec<Command> {
    let mut out = Vec::new();
    if let Some(want) = desired.timeouts {
        out.extend(timeouts_command(&want, observed.timeouts.as_ref()));
    }
    for key in observed.services.keys() {
        if (own == Ownership::Whole || is_private(key)) && !desired.services.contains_key(key) {
            out.push(Command::DelService(*key));
        }
    }
    for (key, want) in &desired.services {
        plan_service(Some(want), observed.services.get(key), &mut out);
    }
    out
}

/// The `--set` command to send, if any: 0 in `want` means "leave the
/// kernel's"; `have` is `None` when the kernel's values are unknown.
pub fn timeouts_command(want: &Timeouts, have: Option<&Timeouts>) -> Option<Command> {
    timeouts_change(want, have).map(Command::SetTimeouts)
}

fn timeouts_change(want: &Timeouts, have: Option<&Timeouts>) -> Option<Timeouts> {
    if *want == Timeouts::default() {
        return None;
    }
    match have {
        Some(h)
            if (want.tcp == 0 || want.tcp == h.tcp)
                && (want.tcp_fin == 0 || want.tcp_fin == h.tcp_fin)
                && (want.udp == 0 || want.udp == h.udp) =>
        {
            None
        }
        _ => Some(*want),
    }
}

/// The commands that make one observed service (or its absence) into the
/// desired one (or its absence), appended to `out`.
///
/// Destinations are removed before others are added, so that a service
/// never holds more servers than either state had.
pub fn plan_service(desired: Option<&Entry>, observed: Option<&Entry>, out: &mut Vec<Command>) {
    match (desired, observed) {
        (None, None) => {}
        (None, Some(have)) => out.push(Command::DelService(have.service.key)),
        (Some(want), None) => {
            let key = want.service.key;
            out.push(Command::AddService(want.service.clone()));
            out.extend(want.dests.values().map(|d| Command::AddDest(key, d.clone())));
        }
        (Some(want), Some(have)) => {
            let key = want.service.key;
            if !service_matches(&want.service, &have.service) {
                out.push(Command::EditService(want.service.clone()));
            }
            for k in have.dests.keys() {
                if !want.dests.contains_key(k) {
                    out.push(Command::DelDest(key, *k));
                }
            }
            for (k, d) in &want.dests {
                match have.dests.get(k) {
                    None => out.push(Command::AddDest(key, d.clone())),
                    Some(h) if !dest_matches(d, h) => out.push(Command::EditDest(key, d.clone())),
                    Some(_) => {}
                }
            }
        }
    }
}

/// Records a command the kernel accepted in our picture of the kernel table.
pub fn record(table: &mut Table, cmd: &Command) {
    match cmd {
        Command::AddService(s) | Command::EditService(s) => {
            let e = table.services.entry(s.key).or_insert_with(|| Entry::new(s.clone()));
            e.service = s.clone();
        }
        Command::DelService(k) => {
            table.services.remove(k);
        }
        Command::AddDest(k, d) | Command::EditDest(k, d) => {
            if let Some(e) = table.services.get_mut(k) {
                e.dests.insert(d.key(), d.clone());
            }
        }
        Command::DelDest(k, d) => {
            if let Some(e) = table.services.get_mut(k) {
                e.dests.remove(d);
            }
        }
        Command::Flush => table.services.clear(),
        Command::SetTimeouts(t) => {
            let old = table.timeouts.unwrap_or_default();
            let pick = |new: u32, old: u32| if new == 0 { old } else { new };
            table.timeouts = Some(Timeouts {
                tcp: pick(t.tcp, old.tcp),
                tcp_fin: pick(t.tcp_fin, old.tcp_fin),
                udp: pick(t.udp, old.udp),
            });
        }
        Command::Zero(_) | Command::StartDaemon(_) | Command::StopDaemon(_) => {}
    }
}

/// One line describing a command, for the log.
pub fn describe(cmd: &Command) -> String {
    let dest = |d: &Dest| match d.addr {
        std::net::IpAddr::V6(a) => format!("[{a}]:{}", d.port),
        a => format!("{a}:{}", d.port),
    };
    let key = |d: &DestKey| match d.addr {
        std::net::IpAddr::V6(a) => format!("[{a}]:{}", d.port),
        a => format!("{a}:{}", d.port),
    };
    match cmd {
        Command::AddService(s) => format!("add service {}{}", s.key, service_settings(s)),
        Command::EditService(s) => format!("edit service {}{}", s.key, service_settings(s)),
        Command::DelService(k) => format!("delete service {k}"),
        Command::AddDest(k, d) => {
            format!("add {} to {k} weight {}{}", dest(d), d.weight, dest_settings(d))
        }
        Command::EditDest(k, d) => {
            format!("set {} in {k} to weight {}{}", dest(d), d.weight, dest_settings(d))
        }
        Command::DelDest(k, d) => format!("remove {} from {k}", key(d)),
        Command::SetTimeouts(t) => {
            format!("set timeouts tcp {} tcpfin {} udp {}", t.tcp, t.tcp_fin, t.udp)
        }
        other => format!("{:?}", other.op()),
    }
}

/// What a service holds besides its key, for `-t` and the logs: the
/// scheduler, persistence with its netmask, and any other flag.
fn service_settings(s: &Service) -> String {
    let mut out = format!(" scheduler {}", s.scheduler);
    if s.flags.contains(ServiceFlags::PERSISTENT) {
        out.push_str(&format!(" persistent {}s", s.timeout));
        match s.netmask {
            ipvs::Netmask::V4(m) => out.push_str(&format!(" netmask {m}")),
            ipvs::Netmask::V6Prefix(p) => out.push_str(&format!(" netmask /{p}")),
        }
    }
    let named = [
        (ServiceFlags::ONEPACKET, "one-packet"),
        (ServiceFlags::SCHED1, "flag-1"),
        (ServiceFlags::SCHED2, "flag-2"),
        (ServiceFlags::SCHED3, "flag-3"),
    ];
    let mut flags: Vec<String> =
        named.iter().filter(|(f, _)| s.flags.contains(*f)).map(|(_, n)| (*n).to_owned()).collect();
    let known = named
        .iter()
        .fold(ServiceFlags::PERSISTENT.0 | ServiceFlags::HASHED.0, |acc, (f, _)| acc | f.0);
    if s.flags.0 & !known != 0 {
        flags.push(format!("{:#x}", s.flags.0 & !known));
    }
    if !flags.is_empty() {
        out.push_str(&format!(" flags {}", flags.join(",")));
    }
    if let Some(pe) = &s.pe_name {
        out.push_str(&format!(" pe {pe}"));
    }
    out
}

/// What a destination holds besides its address and weight: how packets
/// reach it (piranha's `network` names) and its connection thresholds.
fn dest_settings(d: &Dest) -> String {
    let fwd = match d.fwd {
        ipvs::ForwardMethod::Masq => "nat".to_owned(),
        ipvs::ForwardMethod::Route => "direct".to_owned(),
        ipvs::ForwardMethod::Tunnel => "tunnel".to_owned(),
        ipvs::ForwardMethod::Local => "local".to_owned(),
        ipvs::ForwardMethod::Bypass => "bypass".to_owned(),
        ipvs::ForwardMethod::Other(n) => format!("method {n}"),
    };
    let mut out = format!(" forwarding {fwd}");
    if d.upper_threshold > 0 || d.lower_threshold > 0 {
        out.push_str(&format!(
            " thresholds upper {} lower {}",
            d.upper_threshold, d.lower_threshold
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: u8, b: u8, c: u8, d: u8) -> std::net::IpAddr {
        std::net::IpAddr::from([a, b, c, d])
    }
    use ipvs::Netmask;

    fn svc(port: u16) -> Service {
        Service::new(ServiceKey::tcp(v4(192, 0, 2, 10), port)).with_scheduler("wlc")
    }

    fn dest(last: u8, weight: u32) -> Dest {
        Dest::new(v4(10, 0, 0, last), 80).with_fwd(ForwardMethod::Masq).with_weight(weight)
    }

    fn entry(port: u16, dests: &[(u8, u32)]) -> Entry {
        Entry {
            service: svc(port),
            dests: dests.iter().map(|&(l, w)| dest(l, w)).map(|d| (d.key(), d)).collect(),
        }
    }

    fn table(entries: Vec<Entry>) -> Table {
        Table {
            services: entries.into_iter().map(|e| (e.service.key, e)).collect(),
            timeouts: None,
        }
    }

    /// Applying a plan to the observed table gives the desired table, and
    /// planning again gives nothing (the plan is complete and idempotent).
    fn check(desired: &Table, observed: &Table, own: Ownership) -> Vec<Command> {
        let ops = plan(desired, observed, own);
        let mut after = observed.clone();
        for op in &ops {
            record(&mut after, op);
        }
        assert!(plan(desired, &after, own).is_empty(), "plan not complete: {ops:?}");
        ops
    }

    #[test]
    fn identical_tables_need_nothing() {
        let t = table(vec![entry(80, &[(1, 5), (2, 5)]), entry(443, &[(1, 1)])]);
        assert!(check(&t, &t, Ownership::Whole).is_empty());
    }

    #[test]
    fn empty_kernel_gets_everything_in_order() {
        let want = table(vec![entry(80, &[(1, 5), (2, 3)])]);
        let ops = check(&want, &Table::default(), Ownership::Configured);
        let k = svc(80).key;
        assert_eq!(
            ops,
            vec![
                Command::AddService(svc(80)),
                Command::AddDest(k, dest(1, 5)),
                Command::AddDest(k, dest(2, 3)),
            ]
        );
    }

    #[test]
    fn weights_are_edited_in_place() {
        let want = table(vec![entry(80, &[(1, 5), (2, 7)])]);
        let have = table(vec![entry(80, &[(1, 5), (2, 3)])]);
        assert_eq!(
            check(&want, &have, Ownership::Whole),
            vec![Command::EditDest(svc(80).key, dest(2, 7))]
        );
    }

    #[test]
    fn forwarding_and_thresholds_are_edited_in_place() {
        let want = table(vec![entry(80, &[(1, 5)])]);
        let mut have = want.clone();
        let e = have.services.values_mut().next().unwrap();
        let d = e.dests.values_mut().next().unwrap();
        d.fwd = ForwardMethod::Route;
        d.upper_threshold = 9;
        assert_eq!(
            check(&want, &have, Ownership::Whole),
            vec![Command::EditDest(svc(80).key, dest(1, 5))]
        );
    }

    #[test]
    fn scheduler_and_persistence_are_edited_not_recreated() {
        let mut want = table(vec![entry(80, &[(1, 5)])]);
        let have = want.clone();
        let e = want.services.values_mut().next().unwrap();
        e.service =
            svc(80).with_scheduler("rr").with_persistence(300, Netmask::full(ipvs::Family::Inet));
        let edited = e.service.clone();
        let ops = check(&want, &have, Ownership::Whole);
        assert_eq!(ops, vec![Command::EditService(edited)]);
    }

    #[test]
    fn kernel_flags_and_unused_persistence_fields_do_not_count() {
        let want = table(vec![entry(80, &[])]);
        let mut have = want.clone();
        let s = &mut have.services.values_mut().next().unwrap().service;
        s.flags |= ServiceFlags::HASHED;
        s.timeout = 7; // meaningless without PERSISTENT
        s.stats = Some(ipvs::Stats::default());
        assert!(check(&want, &have, Ownership::Whole).is_empty());
    }

    #[test]
    fn only_changed_servers_are_added_and_removed() {
        let want = table(vec![entry(80, &[(1, 5), (3, 5)])]);
        let have = table(vec![entry(80, &[(1, 5), (2, 5)])]);
        let k = svc(80).key;
        assert_eq!(
            check(&want, &have, Ownership::Configured),
            vec![Command::DelDest(k, dest(2, 5).key()), Command::AddDest(k, dest(3, 5))]
        );
    }

    #[test]
    fn foreign_services_stay_unless_the_table_is_ours() {
        let want = table(vec![entry(80, &[(1, 5)])]);
        let have = table(vec![entry(80, &[(1, 5)]), entry(8080, &[(9, 1)])]);
        assert!(plan(&want, &have, Ownership::Configured).is_empty());
        assert_eq!(check(&want, &have, Ownership::Whole), vec![Command::DelService(svc(8080).key)]);
    }

    #[test]
    fn a_removed_service_is_deleted_whole() {
        let mut out = Vec::new();
        plan_service(None, Some(&entry(80, &[(1, 1), (2, 1)])), &mut out);
        assert_eq!(out, vec![Command::DelService(svc(80).key)]);
    }

    #[test]
    fn timeouts_zero_means_leave_alone() {
        let mut want = Table::default();
        let have = Table {
            timeouts: Some(Timeouts { tcp: 900, tcp_fin: 120, udp: 300 }),
            ..Table::default()
        };
        want.timeouts = Some(Timeouts::default());
        assert!(check(&want, &have, Ownership::Whole).is_empty());
        want.timeouts = Some(Timeouts { tcp: 900, tcp_fin: 0, udp: 0 });
        assert!(check(&want, &have, Ownership::Whole).is_empty());
        want.timeouts = Some(Timeouts { tcp: 0, tcp_fin: 60, udp: 0 });
        assert_eq!(
            check(&want, &have, Ownership::Whole),
            vec![Command::SetTimeouts(Timeouts { tcp: 0, tcp_fin: 60, udp: 0 })]
        );
    }

    #[test]
    fn a_one_percent_change_of_a_large_table_plans_one_percent() {
        let entries = |bump: bool| {
            (0..1000u16)
                .map(|p| {
                    let mut e = entry(1000 + p, &[(1, 1), (2, 1), (3, 1)]);
                    if bump && p % 100 == 0 {
                        e.service = e.service.clone().with_scheduler("rr");
                    }
                    e
                })
                .collect()
        };
        let ops = check(&table(entries(true)), &table(entries(false)), Ownership::Whole);
        assert_eq!(ops.len(), 10);
        assert!(ops.iter().all(|c| matches!(c, Command::EditService(_))));
    }

    #[test]
    fn record_tracks_every_table_command() {
        let mut t = Table::default();
        let k = svc(80).key;
        record(&mut t, &Command::AddService(svc(80)));
        record(&mut t, &Command::AddDest(k, dest(1, 1)));
        record(&mut t, &Command::EditDest(k, dest(1, 4)));
        assert_eq!(t, table(vec![entry(80, &[(1, 4)])]));
        record(&mut t, &Command::DelDest(k, dest(1, 4).key()));
        assert_eq!(t, table(vec![entry(80, &[])]));
        record(&mut t, &Command::DelService(k));
        assert_eq!(t, Table::default());
        // A destination for an unknown service is not invented.
        record(&mut t, &Command::AddDest(k, dest(1, 1)));
        assert_eq!(t, Table::default());
    }
}
