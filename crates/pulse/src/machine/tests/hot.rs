//! Hot standby traces: lvsd runs on every router from start, and a
//! takeover only moves the VIPs and switches the sync daemon.

use super::*;

fn hot(c: &mut Config) {
    c.hot_standby = true;
}

#[test]
fn both_routers_run_lvsd_from_start_and_a_takeover_starts_nothing() {
    let mut s = Sim::new(2, hot);
    s.start_all();
    s.run_to(1_000);
    assert_eq!(s.active(), vec![0]);
    assert!(s.nodes[0].lvsd && s.nodes[1].lvsd, "lvsd on the standby too");
    assert_eq!(
        s.nodes[1].log,
        vec![
            Action::VipsDown(vec![vip()]),
            Action::RunInactiveCmd,
            Action::SyncDaemon(SyncRole::Backup),
            Action::StartLvsd,
        ],
        "the standby builds its table without the VIPs"
    );
    s.kill(0);
    s.run_to(2_000);
    assert_eq!(s.active(), vec![1]);
    assert_eq!(
        s.nodes[1].activations,
        vec![vec![
            Action::VipsUp(vec![vip()]),
            Action::GratuitousArp(vec![vip()]),
            hb(),
            Action::RunActiveCmd,
            Action::SyncDaemon(SyncRole::Master),
        ]],
        "the takeover moves the VIPs, runs active_cmd and switches the sync daemon; lvsd runs already"
    );
    assert_eq!(
        s.nodes[1].log.iter().filter(|a| **a == Action::StartLvsd).count(),
        1,
        "lvsd was started once, at start"
    );
}

#[test]
fn standing_down_keeps_lvsd_and_terminating_stops_it() {
    let mut s = Sim::new(2, |c| {
        hot(c);
        c.preempt = true;
    });
    s.start(1);
    s.run_to(1_000);
    assert_eq!(s.active(), vec![1], "alone, the backup activates");
    s.start(0);
    s.run_to(2_000);
    assert_eq!(s.active(), vec![0], "the primary preempts");
    assert!(s.nodes[1].lvsd, "the router that stood down keeps its table");
    assert!(!s.nodes[1].log.contains(&Action::StopLvsd));
    let acts = shape(&s.step(1, Event::Signal(Signal::Terminate)));
    assert_eq!(acts, vec![hb(), Action::StopLvsd, Action::Exit], "pulse stops lvsd when it exits");
    let acts = shape(&s.step(0, Event::Signal(Signal::Terminate)));
    assert_eq!(
        acts,
        vec![
            Action::SyncDaemon(SyncRole::Backup),
            Action::VipsDown(vec![vip()]),
            Action::RunInactiveCmd,
            hb(),
            Action::StopLvsd,
            Action::Exit,
        ],
        "the active router takes its VIPs down first"
    );
}

#[test]
fn an_lvsd_that_exits_on_a_hot_standby_is_started_again_after_a_pause() {
    let mut s = Sim::new(2, hot);
    s.start_all();
    s.run_to(1_000);
    s.step(1, Event::ChildExited(Child::Lvsd, Some(1)));
    s.nodes[1].lvsd = false;
    assert_eq!(s.active(), vec![0], "a standby's lvsd is no reason to move the VIPs");
    assert!(s.nodes[1].m.faults().is_empty(), "nor a fault: a takeover still beats no VIP");
    let back = s.run_until(10_000, |s| s.nodes[1].lvsd).expect("lvsd is started again");
    assert!((2_900..=3_100).contains(&back), "after {LVSD_RESTART:?}, at {back} ms");
    // On the active router an exit is still a childfail: the peer takes
    // over, and this router becomes a hot standby again.
    s.step(0, Event::ChildExited(Child::Lvsd, Some(1)));
    s.nodes[0].lvsd = false;
    s.flush();
    assert_eq!(s.active(), vec![1]);
    assert!(s.run_until(10_000, |s| s.nodes[0].lvsd).is_some(), "lvsd again on the old active");
}

#[test]
fn a_reload_switches_between_hot_and_cold_standby() {
    let mut s = Sim::new(2, |_| {});
    s.start_all();
    s.run_to(1_000);
    assert!(!s.nodes[1].lvsd, "cold: no lvsd on the standby");
    let mut c = config(2, 1);
    hot(&mut c);
    let acts = s.step(1, Event::Reconfigured(Box::new(c)));
    assert_eq!(acts, vec![Action::StartLvsd], "hot: the standby starts lvsd");
    let mut c = config(2, 1);
    c.hot_standby = false;
    let acts = s.step(1, Event::Reconfigured(Box::new(c)));
    assert_eq!(acts, vec![Action::StopLvsd], "cold again: it stops it");
    let acts = s.step(0, Event::Reconfigured(Box::new(config(2, 0))));
    assert_eq!(acts, vec![Action::ReloadLvsd], "the active router's lvsd re-reads");
}

#[test]
fn test_start_runs_no_lvsd_even_hot() {
    let mut s = Sim::new(2, |c| {
        hot(c);
        c.test_start = true;
    });
    s.start_all();
    s.run_to(1_000);
    assert!(!s.nodes[0].lvsd && !s.nodes[1].lvsd);
}

#[test]
fn in_a_pool_a_ready_standby_is_preferred_over_an_unready_one_of_better_rank() {
    let mut s = Sim::new(3, hot);
    s.start_all();
    s.run_to(1_000);
    assert_eq!(s.active(), vec![0]);
    // r2's table is complete, r1's is not (its nannies have not all spoken).
    let acts = s.step(2, Event::LvsdReady(true));
    assert_eq!(shape(&acts), vec![hb()], "readiness is told to the peers at once");
    s.flush();
    assert!(s.nodes[1].m.status(s.now().mono).peers[1].ready, "r1 heard that r2 is ready");
    s.kill(0);
    s.run_to(2_000);
    assert_eq!(s.active(), vec![2], "the ready standby takes over, not r1");
    assert!(s.nodes[1].activations.is_empty(), "r1 waited for r2");
    assert!(s.nodes[2].m.status(s.now().mono).ready);
}

#[test]
fn readiness_never_holds_a_takeover_back() {
    // No standby is ready: the rank decides, as without readiness.
    let mut s = Sim::new(3, hot);
    s.start_all();
    s.run_to(1_000);
    s.kill(0);
    s.run_to(2_000);
    assert_eq!(s.active(), vec![1], "unready, but an unready table beats no VIP");
    // Both ready: the rank decides again.
    let mut s = Sim::new(3, hot);
    s.start_all();
    s.run_to(1_000);
    for i in 0..3 {
        s.step(i, Event::LvsdReady(true));
    }
    s.flush();
    s.kill(0);
    s.run_to(2_000);
    assert_eq!(s.active(), vec![1]);
    // A lone standby whose table is not ready takes over at the dead time.
    let mut s = Sim::new(2, hot);
    s.start_all();
    s.run_to(1_000);
    s.kill(0);
    let at = s.run_until(3_000, |s| s.active() == vec![1]).expect("takes over");
    assert!(at <= 1_000 + DEADTIME + 10, "at {at} ms: no wait for readiness");
}

#[test]
fn an_lvsd_that_exits_is_no_longer_ready() {
    let mut s = Sim::new(2, hot);
    s.start_all();
    s.run_to(1_000);
    s.step(1, Event::LvsdReady(true));
    assert!(s.nodes[1].m.lvsd_ready());
    s.step(1, Event::ChildExited(Child::Lvsd, Some(1)));
    assert!(!s.nodes[1].m.lvsd_ready());
}
