//! The supervision policy with injected time: the listening clock,
//! backoff, silence, first verdicts, hard shutdown and reloads.

use super::*;

const S: fn(u64) -> Duration = Duration::from_secs;

fn key(n: u32) -> NannyKey {
    NannyKey { program: "/usr/sbin/nanny".into(), args: vec![format!("--server=10.0.0.{n}")] }
}

fn spec_of(keys: &[NannyKey]) -> BTreeMap<NannyKey, NannySpec> {
    keys.iter()
        .map(|k| {
            let s = NannySpec {
                server: "10.0.0.1:80".parse().expect("address"),
                alive: S(5),
                first_verdict: S(10),
                members: Vec::new(),
            };
            (k.clone(), s)
        })
        .collect()
}

/// A policy with one nanny (id 1, pid 100) for `key(1)`, started at `t0`.
fn one(t0: Instant) -> Policy {
    let mut p = Policy::new(t0);
    assert!(p.step(Event::Started { id: 1, key: &key(1), pid: 100 }, t0).is_empty());
    p
}

/// Advances the loop second by second from `from` to `to`.
fn listen(p: &mut Policy, t0: Instant, from: u64, to: u64) {
    for i in from..=to {
        p.step(Event::Woke, t0 + S(i));
    }
}

#[test]
fn a_stalled_loop_does_not_count_as_listening() {
    let t0 = Instant::now();
    let mut ear = Ear::new(t0);
    // Turns of a second each: all of it counts.
    for i in 1..=10 {
        assert_eq!(ear.turn(t0 + S(i)), S(i));
    }
    // The loop stalls for five minutes (starting nannies, a slow
    // kernel): only MAX_TURN of it counts.
    assert_eq!(ear.turn(t0 + S(310)), S(10) + MAX_TURN);
    // A nanny that wrote its last line at 9 s with alive lines every
    // 5 s is not hung now, though 301 s of wall time passed...
    let last = S(9);
    assert!(ear.now() - last <= hung_after(S(5)));
    // ...but is once lvsd has listened for 16 s more without a line.
    for i in 311..=323 {
        ear.turn(t0 + S(i));
    }
    assert_eq!(ear.now() - last, hung_after(S(5)));
    ear.turn(t0 + S(325));
    assert!(ear.now() - last > hung_after(S(5)));
    // A clock that goes back is ignored.
    let before = ear.now();
    assert_eq!(ear.turn(t0 + S(100)), before);
}

#[test]
fn backoff_doubles_up_to_its_cap() {
    let waits: Vec<u64> = (0..9).map(|n| backoff(n).as_millis() as u64).collect();
    assert_eq!(waits, vec![500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
}

#[test]
fn quick_deaths_back_off_and_a_stable_life_starts_over() {
    let t0 = Instant::now();
    let mut p = Policy::new(t0);
    let k = key(1);
    let mut now = t0;
    let mut waits = Vec::new();
    for id in 1..=4 {
        p.step(Event::Started { id, key: &k, pid: id as u32 }, now);
        assert!(!p.may_start(&k), "running");
        now += S(1);
        let acts = p.step(Event::Exited { id, configured: true, hard_shutdown: false }, now);
        assert_eq!(acts[0], Action::Died { pid: id as u32, key: k.clone() });
        let Action::Restart { after, after_death: true, .. } = acts[1] else {
            panic!("no restart: {acts:?}")
        };
        waits.push(after.as_millis());
        // Not before its backoff is over.
        assert!(!p.may_start(&k));
        assert!(p.step(Event::Restarts, now + after - Duration::from_millis(1)).is_empty());
        assert_eq!(p.next_restart(), Some(now + after));
        now += after;
        assert_eq!(p.step(Event::Restarts, now), vec![Action::Start(k.clone())]);
        assert!(p.may_start(&k));
    }
    assert_eq!(waits, vec![500, 1000, 2000, 4000]);
    // A life of a minute or more: the next wait is the first again.
    p.step(Event::Started { id: 5, key: &k, pid: 5 }, now);
    let acts = p.step(Event::Exited { id: 5, configured: true, hard_shutdown: false }, now + S(60));
    assert!(matches!(acts[1], Action::Restart { after, .. } if after == backoff(0)));
}

#[test]
fn a_failed_start_is_retried_but_not_counted_as_a_death() {
    let t0 = Instant::now();
    let mut p = Policy::new(t0);
    let acts = p.step(Event::StartFailed(&key(1)), t0);
    assert_eq!(acts, vec![Action::Restart { key: key(1), after: backoff(0), after_death: false }]);
    assert!(!p.may_start(&key(1)));
}

#[test]
fn a_nanny_gone_from_the_configuration_is_not_restarted() {
    let t0 = Instant::now();
    let mut p = one(t0);
    let acts = p.step(Event::Exited { id: 1, configured: false, hard_shutdown: false }, t0 + S(1));
    assert_eq!(acts, vec![Action::Died { pid: 100, key: key(1) }]);
    assert!(p.may_start(&key(1)));
    assert_eq!(p.next_restart(), None);
}

#[test]
fn a_silent_nanny_is_killed_only_after_lvsd_listened_long_enough() {
    let t0 = Instant::now();
    let mut p = one(t0);
    p.step(Event::Hello { id: 1, alive: S(2), first_verdict: None }, t0);
    // hung_after(2 s) = 7 s of listening.
    listen(&mut p, t0, 1, 4);
    assert!(p.step(Event::Silence, t0 + S(4)).is_empty());
    // A stall of the loop counts for MAX_TURN only.
    p.step(Event::Woke, t0 + S(100));
    assert!(p.step(Event::Silence, t0 + S(100)).is_empty());
    listen(&mut p, t0, 101, 101);
    assert!(p.step(Event::Silence, t0 + S(101)).is_empty());
    listen(&mut p, t0, 102, 102);
    assert_eq!(p.step(Event::Silence, t0 + S(102)), vec![Action::Listen(1)]);
    // Its pipe, read once more, held a line: not hung.
    p.step(Event::Heard(1), t0 + S(102));
    assert!(p.step(Event::Suspect(1), t0 + S(102)).is_empty());
    // Silent again for long enough: killed, once.
    listen(&mut p, t0, 103, 109);
    assert!(p.step(Event::Silence, t0 + S(109)).is_empty());
    listen(&mut p, t0, 110, 110);
    assert_eq!(p.step(Event::Silence, t0 + S(110)), vec![Action::Listen(1)]);
    let acts = p.step(Event::Suspect(1), t0 + S(110));
    assert_eq!(
        acts,
        vec![Action::Kill { pid: 100, key: key(1), silent: S(8), since_line: S(8), alive: S(2) }]
    );
    listen(&mut p, t0, 111, 120);
    assert!(p.step(Event::Silence, t0 + S(120)).is_empty());
    // A hung nanny's death is restarted even under hard_shutdown.
    let acts = p.step(Event::Exited { id: 1, configured: true, hard_shutdown: true }, t0 + S(121));
    assert_eq!(acts[0], Action::Died { pid: 100, key: key(1) });
    assert!(matches!(acts[1], Action::Restart { .. }));
}

#[test]
fn a_nanny_without_hello_is_held_to_the_longest_liveness_period() {
    let t0 = Instant::now();
    let mut p = one(t0);
    let limit = hung_after(spec::MAX_ALIVE).as_secs();
    listen(&mut p, t0, 1, limit);
    assert!(p.step(Event::Silence, t0 + S(limit)).is_empty());
    listen(&mut p, t0, limit + 1, limit + 1);
    assert_eq!(p.step(Event::Silence, t0 + S(limit + 1)), vec![Action::Listen(1)]);
}

#[test]
fn a_server_never_reported_is_down_after_its_first_verdict_time() {
    let t0 = Instant::now();
    let mut p = one(t0);
    p.step(Event::Started { id: 2, key: &key(2), pid: 200 }, t0);
    p.step(Event::Hello { id: 1, alive: S(1), first_verdict: Some(S(3)) }, t0 + S(1));
    p.step(Event::Hello { id: 2, alive: S(1), first_verdict: Some(S(3)) }, t0 + S(1));
    // Nanny 2 reports in time; nanny 1 does not.
    p.step(Event::Verdict(2), t0 + S(2));
    assert!(p.step(Event::FirstVerdicts, t0 + S(3)).is_empty());
    assert_eq!(p.step(Event::FirstVerdicts, t0 + S(4)), vec![Action::NoVerdict(key(1))]);
    // Judged once.
    assert!(p.step(Event::FirstVerdicts, t0 + S(5)).is_empty());
}

#[test]
fn a_death_under_hard_shutdown_ends_lvsd_and_a_stopped_one_means_nothing() {
    let t0 = Instant::now();
    let mut p = one(t0);
    p.step(Event::Started { id: 2, key: &key(2), pid: 200 }, t0);
    assert_eq!(p.step(Event::Stop(2), t0), vec![Action::Term { id: 2, pid: 200, key: key(2) }]);
    assert!(p.stopping(2));
    let acts = p.step(Event::Exited { id: 2, configured: true, hard_shutdown: true }, t0 + S(1));
    assert_eq!(acts, vec![Action::Stopped { pid: 200 }]);
    let acts = p.step(Event::Exited { id: 1, configured: true, hard_shutdown: true }, t0 + S(1));
    assert_eq!(acts, vec![Action::HardShutdown { pid: 100, key: key(1) }]);
}

#[test]
fn a_reload_stops_the_nannies_it_drops_and_starts_only_new_ones() {
    let t0 = Instant::now();
    let mut p = one(t0);
    p.step(Event::Started { id: 2, key: &key(2), pid: 200 }, t0);
    // key(3) died and waits for its backoff; key(4) waits too but is dropped.
    p.step(Event::StartFailed(&key(3)), t0);
    p.step(Event::StartFailed(&key(4)), t0);
    let new = spec_of(&[key(1), key(3), key(5)]);
    let acts = p.step(Event::Reload(&new), t0 + S(1));
    assert_eq!(acts, vec![Action::Term { id: 2, pid: 200, key: key(2) }, Action::Start(key(5))]);
    // The stopped nanny's key is free at once; its exit restarts nothing.
    assert!(p.may_start(&key(2)));
    let acts = p.step(Event::Exited { id: 2, configured: false, hard_shutdown: false }, t0 + S(2));
    assert_eq!(acts, vec![Action::Stopped { pid: 200 }]);
    // key(4)'s restart is forgotten, key(3)'s kept.
    assert_eq!(p.step(Event::Restarts, t0 + S(10)), vec![Action::Start(key(3))]);
}
