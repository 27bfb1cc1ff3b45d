//! Freshness in the simulated cluster: replays of any speed, restarts,
//! handshakes in pairs and pools, lost heartbeats.

use super::*;

/// The primary's heartbeats from `from` on (a capture of the wire).
fn capture(s: &Sim, i: usize, from: usize) -> Vec<Vec<u8>> {
    s.nodes[i].sent[from..].to_vec()
}

#[test]
fn a_slowed_replay_never_holds_off_the_takeover_beyond_deadtime_plus_keepalive() {
    // A capture of 2 s of the primary's heartbeats, replayed with its source
    // address at several speeds, (a) to the backup that saw the primary die
    // and (b) to a backup restarted after the death (the old code accepted
    // any newer sequence there, holding the takeover off for the whole
    // capture). No wall clock is involved, so ages do not matter either.
    for restart in [false, true] {
        for gap in [5, 50, 150, 400] {
            let mut s = Sim::new(2, |_| {});
            s.start_all();
            s.run_to(1_000);
            let from = s.nodes[0].sent.len();
            s.run_to(3_000);
            let cap = capture(&s, 0, from);
            assert!(cap.len() >= 9);
            s.kill(0);
            let died = s.ms;
            if restart {
                s.restart(1, |_| {});
            }
            let mut replay = cap.into_iter();
            let mut next = s.ms;
            let at = loop {
                if s.active() == vec![1] {
                    break Some(s.ms);
                }
                if s.ms > died + 20_000 {
                    break None;
                }
                if s.ms >= next {
                    if let Some(p) = replay.next() {
                        s.step(1, Event::Packet { from: ip(0), data: p });
                        s.flush();
                    }
                    next += gap;
                }
                s.run_to(s.ms + 5);
            };
            let at = at.expect("took over");
            assert!(
                at - died <= DEADTIME + KEEPALIVE + 5,
                "restart {restart}, gap {gap}: active {} ms after the death",
                at - died
            );
            assert!(s.nodes[1].m.drops().total() > 0, "the replay was dropped or proved nothing");
        }
    }
}

#[test]
fn a_restarted_backup_hears_the_active_primary_in_one_round_trip() {
    // Including while replays of the primary's and its own earlier boots
    // arrive: they take no slot that the live primary needs.
    let mut s = Sim::new(2, |_| {});
    s.start_all();
    s.run_to(1_000);
    let old1 = capture(&s, 1, 0);
    let old0 = capture(&s, 0, 0);
    s.restart(1, |_| {});
    s.run_to(1_000 + DEADTIME * 3);
    assert_eq!(s.active(), vec![0], "the restarted backup never grabbed the VIPs");
    assert_eq!(s.holding_vip(), vec![0]);
    // Restart again, with replays before every step.
    s.restart(1, |c| c.boot_id += 0x2000);
    for k in 0..(DEADTIME * 3 / 5) as usize {
        let p = old0[k % old0.len()].clone();
        s.step(1, Event::Packet { from: ip(0), data: p });
        let p = old1[k % old1.len()].clone();
        s.step(0, Event::Packet { from: ip(1), data: p });
        s.run_to(s.ms + 5);
        assert_eq!(s.active(), vec![0]);
    }
    assert!(s.nodes[0].m.status(s.now().mono).peers[0].alive);
    assert!(s.nodes[1].m.status(s.now().mono).peers[0].alive);
}

#[test]
fn the_handshake_at_start_is_one_round_trip_in_pairs_and_pools() {
    for n in [2, 3, 4] {
        let mut s = Sim::new(n, |_| {});
        s.start_all();
        // Zero latency: every pair has proven itself by the end of the
        // starts, well before the first keepalive.
        for i in 0..n {
            let st = s.nodes[i].m.status(s.now().mono);
            assert!(st.peers.iter().all(|p| p.alive), "n={n}, node {i}: {:?}", st.peers);
        }
        assert_eq!(s.active(), vec![0]);
        s.run_to(3_000);
        assert_eq!(s.active(), vec![0]);
        // The active router dies: the next in rank takes over; a restarted
        // router rejoins as standby.
        s.kill(0);
        s.run_to(3_000 + DEADTIME + KEEPALIVE);
        assert_eq!(s.active(), vec![1], "n={n}");
        s.restart(0, |_| {});
        s.run_to(6_000);
        assert_eq!(s.active(), vec![1], "n={n}: no automatic failback");
    }
}

#[test]
fn live_peers_stay_alive_when_heartbeats_are_lost_up_to_deadtime() {
    // Echoes lag by up to a keepalive; with 600 ms dead time and 200 ms
    // keepalive, losing every other heartbeat of the primary must not kill
    // it in the backup's eyes.
    let mut s = Sim::new(2, |_| {});
    s.start_all();
    s.run_to(1_000);
    let mut drop = false;
    while s.ms < 6_000 {
        s.ms += 5;
        for i in 0..2 {
            let now = s.now();
            let acts = s.nodes[i].m.step(Event::Tick, now);
            for a in acts {
                s.nodes[i].apply(&a);
                if let Action::SendHeartbeat(p) = a {
                    if i == 0 {
                        drop = !drop;
                        if drop {
                            continue;
                        }
                    }
                    s.queue.push((i, 1 - i, p));
                }
            }
        }
        s.flush();
        assert_eq!(s.active(), vec![0], "at {} ms", s.ms);
    }
}
