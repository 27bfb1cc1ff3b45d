//! The stall detector's unit tests: turns, canary gaps and waits made up
//! with injected instants, judged a stall, a wait or a pause.

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// No canaries to ask.
fn none(_: Instant, _: Instant) -> Option<Vec<Vec<Gap>>> {
    None
}

#[test]
fn lateness_and_work_add_up_and_only_long_turns_count() {
    let t = Instant::now();
    let mut s = LoopStats::default();
    // Woken early by an event, short work.
    assert_eq!(
        s.record(Some(t + ms(100)), (t, t + ms(2)), Cpus::default(), Waited::default(), none),
        None
    );
    // No deadline, long work.
    let zero = Duration::ZERO;
    assert_eq!(
        s.record(None, (t, t + ms(51)), Cpus::default(), Waited::default(), none),
        Some((
            Kind::Stall,
            Turn {
                overran: zero,
                late: zero,
                work: ms(51),
                paused: zero,
                pause: zero,
                waited: zero,
                own: ms(51)
            }
        ))
    );
    // Late by 30 ms, 30 ms of work: a stall of 60 ms.
    let (kind, turn) = s
        .record(Some(t), (t + ms(30), t + ms(60)), Cpus::default(), Waited::default(), none)
        .unwrap();
    assert_eq!((kind, turn.total()), (Kind::Stall, ms(60)));
    // Exactly the threshold is not a stall.
    assert_eq!(
        s.record(Some(t), (t + ms(50), t + ms(50)), Cpus::default(), Waited::default(), none),
        None
    );
    assert_eq!(s, LoopStats { turns: 4, stalls: 2, worst: ms(60), ..LoopStats::default() });
}

#[test]
fn canaries_are_asked_only_about_long_turns_over_the_whole_turn() {
    let t = Instant::now();
    let mut s = LoopStats::default();
    s.record(Some(t), (t + ms(10), t + ms(20)), Cpus::default(), Waited::default(), |_, _| {
        panic!("asked about a short turn")
    });
    let mut asked = None;
    s.record(Some(t), (t + ms(60), t + ms(61)), Cpus::default(), Waited::default(), |a, b| {
        asked = Some((a, b));
        None
    });
    assert_eq!(asked, Some((t, t + ms(61))));
    // Woken before its deadline: the turn starts at the wake-up.
    s.record(Some(t + ms(500)), (t, t + ms(70)), Cpus::default(), Waited::default(), |a, b| {
        asked = Some((a, b));
        None
    });
    assert_eq!(asked, Some((t, t + ms(70))));
}

#[test]
fn a_late_wake_up_while_every_canary_was_late_too_is_a_pause() {
    // The VM's case: woke 50.8 ms late with 1 ms of work, while both
    // CPUs' canaries were due from 3 ms into it and woke with it.
    let t = Instant::now();
    let us = Duration::from_micros;
    let mut s = LoopStats::default();
    let woke = t + us(50_800);
    let gaps = vec![vec![(t + ms(3), woke + us(100))], vec![(t + ms(1), woke)]];
    let (kind, turn) = s
        .record(Some(t), (woke, woke + ms(1)), Cpus::default(), Waited::default(), |_, _| {
            Some(gaps)
        })
        .unwrap();
    assert_eq!(kind, Kind::Pause);
    assert_eq!(turn.paused, woke - (t + ms(3)));
    assert_eq!(turn.own, ms(4));
    assert_eq!(turn.pause, woke - (t + ms(3)));
    assert_eq!(
        s,
        LoopStats {
            turns: 1,
            pauses: 1,
            worst: ms(4),
            worst_pause: us(47_800),
            ..LoopStats::default()
        }
    );
}

#[test]
fn a_canary_that_ran_makes_it_a_stall() {
    let t = Instant::now();
    let mut s = LoopStats::default();
    // The loop was kept from running for 200 ms while one CPU's canary
    // was late and the other's was not, and where the loop was is not
    // known: laid to every CPU, so a stall.
    let gaps = vec![vec![(t, t + ms(200))], vec![]];
    let (kind, turn) = s
        .record(Some(t), (t + ms(200), t + ms(201)), Cpus::default(), Waited::default(), |_, _| {
            Some(gaps)
        })
        .unwrap();
    assert_eq!((kind, turn.paused), (Kind::Stall, Duration::ZERO));
    // Canaries late in turns, never together: no common gap.
    let gaps = vec![
        vec![(t, t + ms(40)), (t + ms(80), t + ms(120))],
        vec![(t + ms(40), t + ms(80)), (t + ms(120), t + ms(200))],
    ];
    let (kind, _) = s
        .record(Some(t), (t + ms(200), t + ms(201)), Cpus::default(), Waited::default(), |_, _| {
            Some(gaps)
        })
        .unwrap();
    assert_eq!(kind, Kind::Stall);
    assert_eq!((s.stalls, s.pauses, s.worst), (2, 0, ms(201)));
}

#[test]
fn a_pause_that_leaves_over_the_threshold_is_still_a_stall() {
    // 60 ms paused, then 70 ms of pulse's own work.
    let t = Instant::now();
    let mut s = LoopStats::default();
    let gaps = vec![vec![(t, t + ms(60))], vec![(t - ms(5), t + ms(61))]];
    let (kind, turn) = s
        .record(Some(t), (t + ms(60), t + ms(130)), Cpus::default(), Waited::default(), |_, _| {
            Some(gaps)
        })
        .unwrap();
    assert_eq!((kind, turn.paused, turn.own), (Kind::Stall, ms(60), ms(70)));
    assert_eq!(s.worst, ms(130));
    // No canaries at all (an empty list): nothing paused.
    let (kind, _) = s
        .record(Some(t), (t + ms(60), t + ms(61)), Cpus::default(), Waited::default(), |_, _| {
            Some(Vec::new())
        })
        .unwrap();
    assert_eq!(kind, Kind::Stall);
}

#[test]
fn a_pause_of_the_loops_own_cpu_is_a_pause() {
    // The loaded host's case: the host stopped the virtual CPU the loop
    // was working on for 115 ms (its canary late), while the other ran
    // its canary on time.
    let t = Instant::now();
    let mut s = LoopStats::default();
    let gaps = || vec![vec![], vec![(t + ms(1), t + ms(116))]];
    let on = |slept, woke, done| Cpus { slept: Some(slept), woke: Some(woke), done: Some(done) };
    let (kind, turn) = s
        .record(Some(t), (t, t + ms(118)), on(1, 1, 1), Waited::default(), |_, _| Some(gaps()))
        .unwrap();
    assert_eq!((kind, turn.paused, turn.own, turn.pause), (Kind::Pause, ms(115), ms(3), ms(115)));
    // The same gaps, the loop on the CPU whose canary ran: a stall.
    let (kind, turn) = s
        .record(Some(t), (t, t + ms(118)), on(0, 0, 0), Waited::default(), |_, _| Some(gaps()))
        .unwrap();
    assert_eq!((kind, turn.paused), (Kind::Stall, Duration::ZERO));
    // It moved between CPUs within the work: laid to every CPU.
    let (kind, _) = s
        .record(Some(t), (t, t + ms(118)), on(1, 1, 0), Waited::default(), |_, _| Some(gaps()))
        .unwrap();
    assert_eq!(kind, Kind::Stall);
    // A late wake-up: the CPU it slept on was not running, and it woke
    // on the other one; then 2 ms of work.
    let woke = t + ms(116);
    let (kind, turn) = s
        .record(Some(t), (woke, woke + ms(2)), on(1, 0, 0), Waited::default(), |_, _| Some(gaps()))
        .unwrap();
    assert_eq!((kind, turn.own), (Kind::Pause, ms(3)));
    assert_eq!((s.pauses, s.stalls), (2, 2));
}

#[test]
fn a_turn_that_waited_for_a_cpu_is_a_wait_and_only_its_own_share_stalls() {
    let t = Instant::now();
    let mut s = LoopStats::default();
    let on = Cpus { slept: Some(0), woke: Some(0), done: Some(0) };
    // The loaded guest's case: 101 ms of work, 75 of them waiting for
    // a CPU, the loop's CPU paused for 48 of them (the same time, in
    // part): 26 ms of its own.
    let gaps = || Some(vec![vec![(t + ms(10), t + ms(58))], vec![]]);
    let waited = Waited { late: ms(0), work: ms(75), previous: None };
    let (kind, turn) = s.record(Some(t), (t, t + ms(101)), on, waited, |_, _| gaps()).unwrap();
    assert_eq!((kind, turn.paused, turn.waited, turn.own), (Kind::Wait, ms(48), ms(75), ms(26)));
    // A late wake-up spent waiting: a wait counted at the wake-up may
    // have begun before the deadline, and counts only after it.
    let waited = Waited { late: ms(99), work: ms(0), previous: None };
    let (kind, turn) =
        s.record(Some(t), (t + ms(90), t + ms(92)), on, waited, |_, _| Some(vec![])).unwrap();
    assert_eq!((kind, turn.waited, turn.own), (Kind::Wait, ms(90), ms(2)));
    // 70 ms of its own besides 60 of waiting: a stall.
    let waited = Waited { late: ms(0), work: ms(60), previous: None };
    let (kind, turn) =
        s.record(Some(t), (t, t + ms(130)), on, waited, |_, _| Some(vec![])).unwrap();
    assert_eq!((kind, turn.own), (Kind::Stall, ms(70)));
    // Waiting and a pause over the same 60 ms are taken out once.
    let gaps = || Some(vec![vec![(t, t + ms(60))], vec![]]);
    let (kind, turn) = s.record(Some(t), (t, t + ms(120)), on, waited, |_, _| gaps()).unwrap();
    assert_eq!((kind, turn.own), (Kind::Stall, ms(60)));
    assert_eq!((s.stalls, s.pauses, s.waits, s.worst_wait, s.worst), (2, 0, 2, ms(90), ms(130)));
}

#[test]
fn a_late_wake_up_is_a_sleep_then_a_wait_and_a_pause_explains_only_the_sleep() {
    let t = Instant::now();
    let mut s = LoopStats::default();
    let on = Cpus { slept: Some(0), woke: Some(0), done: Some(0) };
    let waited = Waited { late: ms(57), work: ms(0), previous: None };
    // The chaos run's case: woke 88 ms late, 57 of them waiting for a
    // CPU; its CPU paused 31 ms from the deadline, so its timer fired
    // then: none of the 88 is the loop's own, and 25 ms of work are.
    let gaps = || Some(vec![vec![(t, t + ms(31))], vec![]]);
    let (kind, turn) =
        s.record(Some(t), (t + ms(88), t + ms(113)), on, waited, |_, _| gaps()).unwrap();
    assert_eq!((kind, turn.waited, turn.own), (Kind::Wait, ms(57), ms(25)));
    // The same pause while it waited (t+31 to t+88) says nothing of the
    // 31 ms it slept past its deadline: those are the loop's own.
    let gaps = || Some(vec![vec![(t + ms(40), t + ms(80))], vec![]]);
    let (kind, turn) =
        s.record(Some(t), (t + ms(88), t + ms(113)), on, waited, |_, _| gaps()).unwrap();
    assert_eq!((kind, turn.own), (Kind::Stall, ms(56)));
    assert_eq!((s.stalls, s.waits), (1, 1));
}

#[test]
fn a_deadline_that_passed_in_the_previous_turn_counts_only_its_own_share() {
    let t = Instant::now();
    let mut s = LoopStats::default();
    let on = Cpus { slept: Some(0), woke: Some(0), done: Some(0) };
    // The previous turn ran 40 ms past this turn's deadline, at most
    // 5 ms of it its own (the rest it waited for a CPU); this turn woke
    // 1 ms after it ended and worked 20 ms: 26 ms of the loop's own.
    let waited = Waited { previous: Some((t + ms(40), ms(5))), ..Waited::default() };
    let (kind, turn) =
        s.record(Some(t), (t + ms(41), t + ms(61)), on, waited, |_, _| Some(vec![])).unwrap();
    assert_eq!((kind, turn.overran, turn.own), (Kind::Wait, ms(40), ms(26)));
    // Had the previous turn worked all 40 ms itself: a stall.
    let waited = Waited { previous: Some((t + ms(40), ms(40))), ..Waited::default() };
    let (kind, turn) =
        s.record(Some(t), (t + ms(41), t + ms(61)), on, waited, |_, _| Some(vec![])).unwrap();
    assert_eq!((kind, turn.own), (Kind::Stall, ms(61)));
    // A previous turn that ended before the deadline changes nothing.
    let waited = Waited { previous: Some((t - ms(1), ms(30))), ..Waited::default() };
    let (kind, turn) =
        s.record(Some(t), (t + ms(41), t + ms(61)), on, waited, |_, _| Some(vec![])).unwrap();
    assert_eq!((kind, turn.overran, turn.own), (Kind::Stall, ms(0), ms(61)));
}

#[test]
fn a_stalls_warning_splits_the_turn() {
    use crate::schedstat::Sched;
    let turn = Turn {
        late: ms(54),
        work: ms(20),
        paused: ms(3),
        pause: ms(3),
        waited: ms(54),
        own: ms(20),
        overran: ms(0),
    };
    let why = Why {
        turn,
        late: Some(Sched { ran: ms(1), waited: ms(50) }),
        work: Some(Sched { ran: ms(6), waited: ms(4) }),
        waits_known: true,
        slowest: Some(("sync daemon", ms(5))),
        slowest_phase: Some(("tick", ms(6))),
    };
    assert_eq!(
        why.to_string(),
        "a turn took 74.0 ms (woke 54.0 ms late, 50.0 ms of it waiting for a CPU, 20.0 ms of work: 6.0 ms on the CPU, 4.0 ms waiting for a CPU, 10.0 ms blocked; slowest phase tick 6.0 ms; slowest step sync daemon 5.0 ms; the loop's CPU paused 3.0 ms of it)"
    );
    let why = Why {
        waits_known: false,
        slowest: None,
        slowest_phase: None,
        turn: Turn { paused: ms(0), ..turn },
        ..why
    };
    assert_eq!(
        why.to_string(),
        "a turn took 74.0 ms (woke 54.0 ms late, 20.0 ms of work: 6.0 ms on the CPU)"
    );
}

#[test]
fn common_gaps_are_the_intersection_cut_to_the_turn() {
    let t = Instant::now();
    let a = vec![(t + ms(30), t + ms(50)), (t, t + ms(20)), (t + ms(10), t + ms(25))];
    let b = vec![(t + ms(15), t + ms(40))];
    let c = vec![(t - ms(100), t + ms(100))];
    // a = [0,25) ∪ [30,50); with b: [15,25) ∪ [30,40); cut to 18..35.
    assert_eq!(paused_within(t + ms(18), t + ms(35), &[a, b, c]), ms(12));
    assert_eq!(paused_within(t, t + ms(10), &[]), Duration::ZERO);
    // A pause that began before the turn shows whole.
    let a = vec![(t - ms(150), t + ms(60))];
    let b = vec![(t - ms(148), t + ms(61))];
    assert_eq!(pauses_over(t, t + ms(70), &[a.clone(), b.clone()]), ms(208));
    assert_eq!(paused_within(t, t + ms(70), &[a, b]), ms(60));
}
