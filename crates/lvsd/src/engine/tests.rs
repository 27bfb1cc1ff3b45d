//! The engine's unit tests, on `ipvs::FakeTable`.

use super::*;
use crate::spec::NannyOptions;
use ipvs::FakeTable;
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

fn dests(e: &Engine<FakeTable>, k: ServiceKey) -> Vec<(String, u32)> {
    let kernel = table::of_fake(&e.kernel);
    kernel.services[&k].dests.values().map(|d| (d.addr.to_string(), d.weight)).collect()
}

#[test]
fn start_up_down_and_sorry_server() {
    let s = spec_of(&cf(""));
    let (a, b) = (nanny(&s, "10.0.0.1"), nanny(&s, "10.0.0.2"));
    let mut e = Engine::new(FakeTable::new(), s, Ownership::Configured);
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
    assert!(e.kernel.snapshot().is_empty());
}

#[test]
fn restart_adopts_the_running_table_without_a_single_command() {
    let s = spec_of(&cf(""));
    let a = nanny(&s, "10.0.0.1");
    let mut first = Engine::new(FakeTable::new(), s.clone(), Ownership::Configured);
    first.sync().unwrap();
    first.report(&a, Report::Up(5));
    let mut kernel = first.kernel.clone();
    kernel.reads = 0;
    // A foreign service, made by hand.
    let foreign = ServiceKey::tcp("192.0.2.99".parse().unwrap(), 25);
    kernel.apply(&[Command::AddService(ipvs::Service::new(foreign))]).unwrap();
    kernel.log.clear();
    let mut second = Engine::new(kernel, s, Ownership::Configured);
    assert_eq!(second.sync().unwrap(), 0, "{:?}", second.kernel.log);
    assert!(second.all_up(&a));
    assert!(table::of_fake(&second.kernel).services.contains_key(&foreign));
    // Under --own-table the foreign service goes, and only it.
    second.own = Ownership::Whole;
    assert_eq!(second.sync().unwrap(), 1);
    assert_eq!(second.kernel.log, vec![Command::DelService(foreign)]);
}

/// A table as lvsd records what it sent: without what the kernel adds
/// on its own (the `HASHED` flag, the counters), which lvsd's record
/// of a restored service has not read yet.
fn as_sent(mut t: Table) -> Table {
    for e in t.services.values_mut() {
        e.service.flags = ipvs::ServiceFlags(e.service.flags.0 & !ipvs::ServiceFlags::HASHED.0);
        (e.service.stats, e.service.stats64) = (None, None);
        for d in e.dests.values_mut() {
            (d.stats, d.stats64) = (None, None);
        }
    }
    t
}

/// Runs the resync in progress to its end, in steps of one service.
fn finish_resync(e: &mut Engine<FakeTable>) -> Resync {
    for _ in 0..1000 {
        if let Some(r) = e.resync_step(1).unwrap() {
            return r;
        }
    }
    panic!("the resync does not end")
}

#[test]
fn reload_applies_the_difference_at_once_and_the_resync_restores_hand_removed_entries() {
    let s = spec_of(&cf(""));
    let a = nanny(&s, "10.0.0.1");
    let mut e = Engine::new(FakeTable::new(), s, Ownership::Configured);
    e.sync().unwrap();
    e.report(&a, Report::Up(5));
    // Someone deletes a real server by hand.
    let dk = Dest::new("10.0.0.1".parse().unwrap(), 80).key();
    e.kernel.apply(&[Command::DelDest(web(), dk)]).unwrap();
    e.kernel.log.clear();
    let reads = e.kernel.reads;
    // New: a second service; scheduler of web changed.
    let text = cf("virtual mail {\n active = 1\n address = 192.0.2.10 eth0:1\n port = 25\n server m {\n active = 1\n address = 10.0.0.5\n }\n}\n")
        .replace("port = 80\n", "port = 80\n scheduler = rr\n");
    let stats = e.reload(spec_of(&text));
    // The reload's commands went out without reading the kernel.
    assert_eq!(e.kernel.reads, reads, "no read before the reload's commands");
    assert_eq!(e.kernel.log.len(), stats.commands);
    let mail = ServiceKey::tcp("192.0.2.10".parse().unwrap(), 25);
    // mail's real server has no report yet and no sorry server: the
    // service alone goes in.
    assert!(
        matches!(&e.kernel.log[..], [
            Command::AddService(m),
            Command::EditService(s),
        ] if s.scheduler == "rr" && m.key == mail),
        "{:?}",
        e.kernel.log
    );
    assert!(dests(&e, web()).is_empty(), "not restored yet");
    // The resync that follows reads the kernel and restores the entry.
    assert!(e.resync.is_some());
    e.kernel.log.clear();
    let r = finish_resync(&mut e);
    assert_eq!((r.why, r.services_read, r.commands), ("reload", 2, 1));
    assert_eq!(r.reads, 2 + 2, "timeouts, the service list, then one read per service");
    assert!(
        matches!(&e.kernel.log[..], [Command::AddDest(k, d)] if *k == web() && d.key() == dk),
        "{:?}",
        e.kernel.log
    );
    assert_eq!(dests(&e, web()), vec![("10.0.0.1".into(), 5)]);
    assert!(e.resync.is_none() && !e.needs_resync);
    // Reloading the same again is free, and so is its resync.
    e.kernel.log.clear();
    assert_eq!(e.reload(spec_of(&text)).commands, 0);
    assert_eq!(finish_resync(&mut e).commands, 0);
    // Dropping the service removes it.
    assert_eq!(e.reload(spec_of(&cf(""))).commands, 2, "{:?}", e.kernel.log);
    assert!(!table::of_fake(&e.kernel).services.contains_key(&mail));
}

#[test]
fn a_reload_under_own_table_deletes_dropped_and_foreign_services_once() {
    let mail = "virtual mail {\n active = 1\n address = 192.0.2.10 eth0:1\n port = 25\n server m {\n active = 1\n address = 10.0.0.5\n }\n}\n";
    let mut e = Engine::new(FakeTable::new(), spec_of(&cf(mail)), Ownership::Whole);
    e.sync().unwrap();
    let foreign = ServiceKey::tcp("192.0.2.99".parse().unwrap(), 25);
    e.kernel.apply(&[Command::AddService(ipvs::Service::new(foreign))]).unwrap();
    e.start_resync("test");
    finish_resync(&mut e);
    assert!(!table::of_fake(&e.kernel).services.contains_key(&foreign), "the resync removed it");
    e.kernel.apply(&[Command::AddService(ipvs::Service::new(foreign))]).unwrap();
    // Known to lvsd's record only after a read: read it, then reload.
    e.observed = table::read(&mut e.kernel).unwrap();
    e.kernel.log.clear();
    let mail_key = ServiceKey::tcp("192.0.2.10".parse().unwrap(), 25);
    assert_eq!(e.reload(spec_of(&cf(""))).commands, 2, "{:?}", e.kernel.log);
    assert_eq!(e.kernel.log, vec![Command::DelService(mail_key), Command::DelService(foreign)]);
    assert!(!e.needs_resync, "nothing refused");
    let left: Vec<ServiceKey> = table::of_fake(&e.kernel).services.into_keys().collect();
    assert_eq!(left, vec![web()]);
}

#[test]
fn the_resync_restores_services_deleted_or_edited_by_hand() {
    let s = spec_of(&cf(""));
    let (a, b) = (nanny(&s, "10.0.0.1"), nanny(&s, "10.0.0.2"));
    let mut e = Engine::new(FakeTable::new(), s.clone(), Ownership::Configured);
    e.sync().unwrap();
    e.report(&a, Report::Up(5));
    e.report(&b, Report::Up(1));
    let full = table::of_fake(&e.kernel);
    // ipvsadm -D, then ipvsadm -A with another scheduler and no servers.
    let edited = full.services[&web()].service.clone().with_scheduler("lc");
    e.kernel.apply(&[Command::DelService(web()), Command::AddService(edited)]).unwrap();
    e.kernel.log.clear();
    // An unchanged reload sends nothing; its resync puts everything back.
    assert_eq!(e.reload(s.clone()).commands, 0);
    let r = finish_resync(&mut e);
    assert_eq!(r.commands, 3, "{:?}", e.kernel.log);
    assert!(matches!(e.kernel.log[0], Command::EditService(_)), "{:?}", e.kernel.log);
    assert_eq!(table::of_fake(&e.kernel), full);
    // Deleted whole: restored whole at the service level, with its
    // servers at their reported weights.
    e.kernel.apply(&[Command::Flush]).unwrap();
    e.start_resync("test");
    finish_resync(&mut e);
    assert_eq!(table::of_fake(&e.kernel), full);
    assert_eq!(e.observed.services, as_sent(full).services);
}

#[test]
fn reports_between_resync_steps_meet_no_stale_read() {
    let s = spec_of(&cf(""));
    let (a, b) = (nanny(&s, "10.0.0.1"), nanny(&s, "10.0.0.2"));
    let mut e = Engine::new(FakeTable::new(), s, Ownership::Configured);
    e.sync().unwrap();
    e.report(&a, Report::Up(5));
    e.start_resync("test");
    // The service list is read...
    assert!(e.resync_step(1).unwrap().is_none());
    // ...then a nanny reports before the destinations are read.
    e.kernel.log.clear();
    assert_eq!(e.report(&b, Report::Up(1)), 1, "b in");
    e.report(&a, Report::Up(3));
    let r = finish_resync(&mut e);
    assert_eq!(r.commands, 0, "the read shows what lvsd sent: {:?}", e.kernel.log);
    assert_eq!(dests(&e, web()), vec![("10.0.0.1".into(), 3), ("10.0.0.2".into(), 1)]);
}

#[test]
fn a_resync_is_spread_over_steps() {
    let mut text = String::new();
    for i in 0..10 {
        text.push_str(&format!(
            "virtual v{i} {{\n active = 1\n address = 192.0.2.{} eth0:1\n port = 80\n server m {{\n active = 1\n address = 10.0.0.5\n }}\n}}\n",
            20 + i
        ));
    }
    let mut e = Engine::new(FakeTable::new(), spec_of(&cf(&text)), Ownership::Configured);
    e.sync().unwrap();
    e.start_resync("test");
    let reads = e.kernel.reads;
    assert!(e.resync_step(4).unwrap().is_none());
    assert_eq!(e.kernel.reads - reads, 2, "first step: timeouts and the service list");
    assert!(e.resync_step(4).unwrap().is_none());
    assert!(e.resync_step(4).unwrap().is_none());
    assert_eq!(e.kernel.reads - reads, 2 + 8);
    let r = e.resync_step(4).unwrap().expect("11 services in steps of 4");
    assert_eq!((r.services_read, r.reads, r.commands), (11, 2 + 11, 0));
    assert!(e.resync_step(4).unwrap().is_none(), "nothing in progress");
}

#[test]
fn failed_commands_ask_for_a_resync_and_the_resync_heals() {
    let s = spec_of(&cf(""));
    let a = nanny(&s, "10.0.0.1");
    let mut e = Engine::new(FakeTable::new(), s, Ownership::Configured);
    e.sync().unwrap();
    // The service vanishes behind lvsd's back (ipvsadm -C).
    e.kernel.apply(&[Command::Flush]).unwrap();
    e.report(&a, Report::Up(5));
    assert!(e.needs_resync);
    e.start_resync("a refused command");
    assert!(!e.needs_resync);
    let r = finish_resync(&mut e);
    assert!(!e.needs_resync);
    assert_eq!(r.commands, 2, "the service and its server");
    assert_eq!(dests(&e, web()), vec![("10.0.0.1".into(), 5)]);
    let kernel = table::of_fake(&e.kernel);
    let d = kernel.services[&web()].dests.values().next().unwrap();
    assert_eq!(d.fwd, ForwardMethod::Masq);
}
