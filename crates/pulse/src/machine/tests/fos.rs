//! Failover-service traces (piranha's `service = fos`): the active router
//! runs the services and stands down when one fails its local check, so
//! that the peer takes over and starts its copy.

use super::*;

const GRACE: u64 = 1_000;

fn fos(c: &mut Config) {
    c.failover =
        vec![FosWatch { name: "web".into(), grace: Duration::from_millis(GRACE), checked: true }];
    c.syncdaemon = false;
    c.monitored_links = vec![];
}

fn service(s: &mut Sim, i: usize, up: bool) {
    let ev = Event::Service { name: "web".into(), up, reason: "test".into() };
    s.step(i, ev);
    s.flush();
}

/// The service actions of node `i`, in order.
fn services(s: &Sim, i: usize) -> Vec<Action> {
    s.nodes[i]
        .log
        .iter()
        .filter(|a| matches!(a, Action::StartServices | Action::StopServices))
        .cloned()
        .collect()
}

/// Runs to `until`, checking at every tick that at most one router is
/// active and holds the VIP.
fn run_checked(s: &mut Sim, until: u64) {
    while s.ms < until {
        s.run_to(s.ms + 5);
        assert!(s.active().len() <= 1, "two active routers at {} ms", s.ms);
        assert!(s.holding_vip().len() <= 1, "two routers hold the VIP at {} ms", s.ms);
    }
}

#[test]
fn services_start_after_the_vips_and_stop_at_start_on_every_router() {
    let mut s = Sim::new(2, fos);
    s.start_all();
    run_checked(&mut s, 500);
    assert_eq!(s.active(), vec![0]);
    assert_eq!(
        s.nodes[0].log,
        vec![
            Action::VipsDown(vec![vip()]),
            Action::RunInactiveCmd,
            Action::StopServices,
            Action::VipsUp(vec![vip()]),
            Action::GratuitousArp(vec![vip()]),
            Action::StartServices,
            Action::RunActiveCmd,
            Action::GratuitousArp(vec![vip()]),
            Action::GratuitousArp(vec![vip()]),
        ],
        "services start once the VIP is up and announced; no lvsd in FOS mode"
    );
    assert_eq!(
        s.nodes[1].log,
        vec![Action::VipsDown(vec![vip()]), Action::RunInactiveCmd, Action::StopServices]
    );
}

#[test]
fn a_failed_service_hands_over_to_the_peer_which_starts_its_copy() {
    let mut s = Sim::new(2, fos);
    s.start_all();
    run_checked(&mut s, 300);
    service(&mut s, 0, true);
    run_checked(&mut s, 3_000);
    assert_eq!(s.active(), vec![0], "an up service keeps the router active past its grace");
    let t = s.ms;
    service(&mut s, 0, false);
    assert_eq!(s.active(), vec![1], "the peer takes over at the heartbeat saying why");
    assert_eq!(s.ms, t, "at once: no deadtime waited");
    assert!(s.nodes[0].m.faults().contains(Faults::SERVICE_FAIL));
    assert_eq!(
        services(&s, 0),
        vec![Action::StopServices, Action::StartServices, Action::StopServices]
    );
    assert_eq!(services(&s, 1), vec![Action::StopServices, Action::StartServices]);
    // The old router's stop comes before its VIP goes down, and the new
    // one's start after its VIP is up.
    let log0 = &s.nodes[0].log;
    let stop = log0.iter().rposition(|a| *a == Action::StopServices).unwrap();
    assert_eq!(log0[stop + 1], Action::VipsDown(vec![vip()]));
    service(&mut s, 1, true);
    run_checked(&mut s, t + 2 * DEADTIME + 100);
    assert!(s.nodes[0].m.faults().is_empty(), "the hold is over");
    run_checked(&mut s, 10_000);
    assert_eq!(s.active(), vec![1], "no failback");
}

#[test]
fn a_service_that_never_comes_up_is_a_failure_after_its_grace() {
    let mut s = Sim::new(2, fos);
    s.start_all();
    let t = s.run_until(5_000, |s| s.active() == vec![1]).unwrap();
    assert!((GRACE..GRACE + 50).contains(&t), "stood down {t} ms in, grace {GRACE}");
    assert!(s.nodes[0].m.faults().contains(Faults::SERVICE_FAIL));
    // The peer's copy does not come up either: they take turns, one at a
    // time, each standing down for its hold.
    run_checked(&mut s, 20_000);
    let starts = |i: usize| services(&s, i).iter().filter(|a| **a == Action::StartServices).count();
    assert!(starts(0) >= 2 && starts(1) >= 2, "{} {}", starts(0), starts(1));
    assert!(starts(0) + starts(1) <= 20, "bounded pace: {} {}", starts(0), starts(1));
}

#[test]
fn a_lone_router_restarts_its_services_after_the_hold() {
    let mut s = Sim::new(2, fos);
    s.start(0);
    run_checked(&mut s, DEADTIME + 10);
    assert_eq!(s.active(), vec![0]);
    service(&mut s, 0, true);
    let t = s.ms;
    service(&mut s, 0, false);
    assert!(s.active().is_empty(), "it stands down, even alone");
    let back = s.run_until(10_000, |s| s.active() == vec![0]).unwrap();
    let hold = 2 * DEADTIME;
    assert!((t + hold..t + hold + 50).contains(&back), "back at {back}, failed at {t}");
    assert_eq!(
        services(&s, 0),
        vec![
            Action::StopServices,
            Action::StartServices,
            Action::StopServices,
            Action::StartServices
        ]
    );
}

#[test]
fn reports_on_a_standby_and_stale_names_change_nothing() {
    let mut s = Sim::new(2, fos);
    s.start_all();
    run_checked(&mut s, 300);
    service(&mut s, 1, false);
    let ev = Event::Service { name: "nope".into(), up: false, reason: "x".into() };
    s.step(0, ev);
    s.flush();
    run_checked(&mut s, 900);
    assert_eq!(s.active(), vec![0]);
    assert!(s.nodes[1].m.faults().is_empty());
}

#[test]
fn test_start_runs_no_service_command() {
    let mut s = Sim::new(2, |c| {
        fos(c);
        c.test_start = true;
    });
    s.start_all();
    run_checked(&mut s, 3_000);
    assert_eq!(s.active(), vec![0], "nothing checks, so nothing fails");
    assert!(services(&s, 0).is_empty() && services(&s, 1).is_empty());
}
