//! Scripted event traces for the state machine: an in-memory cluster of
//! machines wired by a lossless zero-latency network, with injected time.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use super::*;
use crate::wire::{encode_native, encode_piranha, ByteOrder, DropReason, Heartbeat};

const KEY: &[u8] = b"test key: thirty-two bytes long!";
const KEEPALIVE: u64 = 200;
const DEADTIME: u64 = 600;

fn ip(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1 + i as u8))
}

fn vip() -> Vip {
    Vip { addr: "10.0.0.100".parse().unwrap(), prefix: 24, dev: "eth0".into() }
}

fn config(n: usize, me: usize) -> Config {
    Config {
        routers: (0..n)
            .map(|i| Router { name: format!("r{i}"), node_id: 100 + i as u32, addrs: vec![ip(i)] })
            .collect(),
        me,
        keepalive: Duration::from_millis(KEEPALIVE),
        deadtime: Duration::from_millis(DEADTIME),
        preempt: false,
        force_active: false,
        test_start: false,
        vips: vec![vip()],
        arp: ArpPolicy { repeat: 3, interval: Duration::from_millis(100), refresh: None },
        syncdaemon: true,
        // piranha's order; hot standby has its own traces below.
        hot_standby: false,
        monitored_links: vec!["eth0".into()],
        protocol: Protocol::Native { key: Key::new(KEY.to_vec()).unwrap() },
        config_digest: [7; 32],
        boot_id: 0xb007_0000 + me as u64,
        failover: vec![],
    }
}

/// One simulated host: its machine plus the host state its actions change.
struct Node {
    m: Machine,
    up: bool,
    vips_up: bool,
    lvsd: bool,
    arps: usize,
    log: Vec<Action>,
    sent: Vec<Vec<u8>>,
    /// Each step that brought the VIPs up, from its `VipsUp` on (payloads
    /// blanked).
    activations: Vec<Vec<Action>>,
}

struct Sim {
    nodes: Vec<Node>,
    t0: Instant,
    ms: u64,
    cut: BTreeSet<(usize, usize)>,
    queue: Vec<(usize, usize, Vec<u8>)>,
}

impl Sim {
    fn new(n: usize, tweak: impl Fn(&mut Config)) -> Sim {
        let nodes = (0..n)
            .map(|i| {
                let mut c = config(n, i);
                tweak(&mut c);
                Node::new(c)
            })
            .collect();
        Sim { nodes, t0: Instant::now(), ms: 0, cut: BTreeSet::new(), queue: Vec::new() }
    }

    fn now(&self) -> Now {
        Now { mono: self.t0 + Duration::from_millis(self.ms) }
    }

    fn step(&mut self, i: usize, ev: Event) -> Vec<Action> {
        let now = self.now();
        let actions = self.nodes[i].m.step(ev, now);
        if let Some(at) = actions.iter().position(|a| matches!(a, Action::VipsUp(_))) {
            self.nodes[i].activations.push(shape(&actions[at..]));
        }
        for a in &actions {
            self.nodes[i].apply(a);
            if let Action::SendHeartbeat(p) = a {
                for j in 0..self.nodes.len() {
                    if j != i && !self.cut.contains(&(i, j)) {
                        self.queue.push((i, j, p.clone()));
                    }
                }
            }
        }
        actions
    }

    fn flush(&mut self) {
        while !self.queue.is_empty() {
            let q = std::mem::take(&mut self.queue);
            for (from, to, data) in q {
                if self.nodes[to].up && self.nodes[from].up {
                    self.step(to, Event::Packet { from: ip(from), data });
                }
            }
        }
    }

    fn start(&mut self, i: usize) {
        self.nodes[i].up = true;
        self.step(i, Event::Start);
        self.flush();
    }

    fn start_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.start(i);
        }
    }

    /// Advances time to `until` ms in 5 ms ticks.
    fn run_to(&mut self, until: u64) {
        while self.ms < until {
            self.ms += 5;
            for i in 0..self.nodes.len() {
                if self.nodes[i].up {
                    self.step(i, Event::Tick);
                }
            }
            self.flush();
        }
    }

    /// Runs until `pred` holds; returns the time it first held.
    fn run_until(&mut self, limit: u64, pred: impl Fn(&Sim) -> bool) -> Option<u64> {
        while self.ms < limit {
            if pred(self) {
                return Some(self.ms);
            }
            self.run_to(self.ms + 5);
        }
        pred(self).then_some(self.ms)
    }

    /// `kill -9`: the node vanishes, leaving its host state.
    fn kill(&mut self, i: usize) {
        self.nodes[i].up = false;
    }

    /// A fresh pulse process on node `i` (new boot id).
    fn restart(&mut self, i: usize, tweak: impl Fn(&mut Config)) {
        let mut c = config(self.nodes.len(), i);
        c.boot_id += 0x1000;
        tweak(&mut c);
        let old = std::mem::replace(&mut self.nodes[i], Node::new(c));
        self.nodes[i].vips_up = old.vips_up;
        self.start(i);
    }

    fn partition(&mut self, a: usize, b: usize) {
        self.cut.insert((a, b));
        self.cut.insert((b, a));
    }

    fn heal(&mut self) {
        self.cut.clear();
    }

    fn active(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|i| self.nodes[*i].up && self.nodes[*i].m.role() == Role::Active)
            .collect()
    }

    fn holding_vip(&self) -> Vec<usize> {
        (0..self.nodes.len()).filter(|i| self.nodes[*i].up && self.nodes[*i].vips_up).collect()
    }
}

impl Node {
    fn new(c: Config) -> Node {
        Node {
            m: Machine::new(c),
            up: false,
            vips_up: false,
            lvsd: false,
            arps: 0,
            log: Vec::new(),
            sent: Vec::new(),
            activations: Vec::new(),
        }
    }

    fn apply(&mut self, a: &Action) {
        match a {
            Action::VipsUp(_) => self.vips_up = true,
            Action::VipsDown(_) => self.vips_up = false,
            Action::StartLvsd => self.lvsd = true,
            Action::StopLvsd => self.lvsd = false,
            Action::GratuitousArp(_) => self.arps += 1,
            Action::SendHeartbeat(p) => self.sent.push(p.clone()),
            _ => {}
        }
        if !matches!(a, Action::SendHeartbeat(_)) {
            self.log.push(a.clone());
        }
    }
}

fn hb() -> Action {
    Action::SendHeartbeat(Vec::new())
}

/// Actions with heartbeat payloads blanked, for golden comparison.
fn shape(actions: &[Action]) -> Vec<Action> {
    actions
        .iter()
        .map(|a| match a {
            Action::SendHeartbeat(_) => hb(),
            o => o.clone(),
        })
        .collect()
}

#[test]
fn pair_starts_with_the_primary_active_and_exact_activation_order() {
    let mut s = Sim::new(2, |_| {});
    s.start(0);
    let now = s.now();
    let log0 = shape(&s.nodes[0].m.step(Event::Tick, now));
    assert!(log0.is_empty(), "primary alone waits for its peer or deadtime");
    s.start(1);
    assert_eq!(s.active(), vec![0], "the primary activates as soon as it hears the backup");
    assert_eq!(
        s.nodes[0].log,
        vec![
            Action::VipsDown(vec![vip()]),
            Action::RunInactiveCmd,
            Action::SyncDaemon(SyncRole::Backup),
            Action::VipsUp(vec![vip()]),
            Action::GratuitousArp(vec![vip()]),
            Action::RunActiveCmd,
            Action::StartLvsd,
            Action::SyncDaemon(SyncRole::Master),
        ]
    );
    s.run_to(5_000);
    assert_eq!(s.active(), vec![0]);
    assert_eq!(s.nodes[0].arps, 3, "one burst of `repeat` announcements");
    assert_eq!(
        s.nodes[1].log,
        vec![
            Action::VipsDown(vec![vip()]),
            Action::RunInactiveCmd,
            Action::SyncDaemon(SyncRole::Backup)
        ],
        "the backup does nothing while the primary is up"
    );
}

/// What every activation must look like: the VIPs up and announced first,
/// then the heartbeat that tells the peers, and only then what starts a
/// process or waits for one.
fn activation(test_start: bool) -> Vec<Action> {
    let mut v = vec![Action::VipsUp(vec![vip()]), Action::GratuitousArp(vec![vip()]), hb()];
    if !test_start {
        v.extend([Action::RunActiveCmd, Action::StartLvsd]);
    }
    v.push(Action::SyncDaemon(SyncRole::Master));
    v
}

#[test]
fn every_activation_announces_the_vips_before_anything_that_forks_or_blocks() {
    // The backup when the primary dies (dead timer, at the tick it expires).
    let mut s = Sim::new(2, |_| {});
    s.start_all();
    s.run_to(1_000);
    assert_eq!(s.nodes[0].activations, vec![activation(false)], "primary at start");
    s.kill(0);
    s.run_to(2_000);
    assert_eq!(s.nodes[1].activations, vec![activation(false)], "backup on the dead timer");
    // The primary after the backup stood down (lvsd died there): at once.
    let mut s = Sim::new(2, |_| {});
    s.start_all();
    s.run_to(1_000);
    s.step(0, Event::ChildExited(Child::Lvsd, Some(1)));
    s.flush();
    assert_eq!(s.nodes[1].activations, vec![activation(false)], "peer's childfail");
    // --forceactive at start, after the start-up actions.
    let mut s = Sim::new(1, |c| c.force_active = true);
    s.start(0);
    assert_eq!(s.nodes[0].activations, vec![activation(false)], "forceactive");
    // Operator take-over and preemption.
    let mut s = Sim::new(2, |c| c.preempt = true);
    s.start_all();
    s.run_to(1_000);
    s.step(1, Event::Control(Command::TakeOver));
    s.run_to(2_000);
    // (The same step then sees the other active router and re-announces.)
    let took = &s.nodes[1].activations;
    assert!(took.len() == 1 && took[0].starts_with(&activation(false)), "take-over: {took:?}");
    let mut s = Sim::new(2, |c| c.preempt = true);
    s.start(1);
    s.run_to(1_000);
    assert_eq!(s.active(), vec![1]);
    s.start(0);
    s.run_to(2_000);
    assert_eq!(s.active(), vec![0]);
    assert_eq!(s.nodes[0].activations, vec![activation(false)], "preemption");
    // --test-start: no commands, same order for the rest.
    let mut s = Sim::new(1, |c| c.test_start = true);
    s.start(0);
    assert_eq!(s.nodes[0].activations, vec![activation(true)], "test-start");
}

#[test]
fn the_backup_takes_over_exactly_deadtime_after_the_last_heartbeat() {
    // Ticks every millisecond: the takeover is decided at the first tick at
    // or after the last heartbeat plus deadtime, never a keepalive later.
    let mut s = Sim::new(2, |_| {});
    s.start_all();
    s.run_to(1_000);
    s.kill(0);
    let last = s.nodes[1].m.status(s.now().mono).peers[0].last_heard.unwrap();
    let heard_at = s.ms - u64::try_from(last.as_millis()).unwrap();
    let deadline = s.nodes[1].m.next_wakeup(s.now().mono).unwrap();
    let dead_at = s.t0 + Duration::from_millis(heard_at + DEADTIME);
    assert!(deadline <= dead_at, "the loop is woken at the dead time at the latest");
    while s.active() != vec![1] {
        s.ms += 1;
        s.step(1, Event::Tick);
        assert!(s.ms <= heard_at + DEADTIME, "not active at the dead time");
    }
    assert_eq!(s.ms, heard_at + DEADTIME, "active exactly deadtime after the last heartbeat");
}

#[test]
fn a_dead_time_that_passes_while_the_shell_is_busy_wakes_it_at_once() {
    // The shell steps just before the peer's dead time (its own heartbeat
    // was due then), and asks for the next wake-up just after it: the dead
    // time must come back (in the past), not the next heartbeat a
    // keepalive later. This cost one takeover a whole keepalive in the VM.
    let mut s = Sim::new(2, |_| {});
    s.start_all();
    s.run_to(1_000);
    s.kill(0);
    let last = s.nodes[1].m.status(s.now().mono).peers[0].last_heard.unwrap();
    let heard_at = s.ms - u64::try_from(last.as_millis()).unwrap();
    s.ms = heard_at + DEADTIME - 1;
    s.step(1, Event::Tick);
    assert_eq!(s.active(), Vec::<usize>::new(), "not dead yet");
    let after = s.t0 + Duration::from_millis(heard_at + DEADTIME + 2);
    let w = s.nodes[1].m.next_wakeup(after).unwrap();
    assert_eq!(w, s.t0 + Duration::from_millis(heard_at + DEADTIME), "the dead time, not later");
    s.ms = heard_at + DEADTIME + 2;
    s.step(1, Event::Tick);
    assert_eq!(s.active(), vec![1]);
    let now = s.now().mono;
    assert!(s.nodes[1].m.next_wakeup(now).unwrap() > now, "and once acted on, never again");
}

#[test]
fn pair_failover_within_deadtime_and_no_automatic_failback() {
    let mut s = Sim::new(2, |_| {});
    s.start_all();
    s.run_to(3_000);
    assert_eq!(s.active(), vec![0]);
    s.kill(0);
    let killed = s.ms;
    let at = s.run_until(10_000, |s| s.active() == vec![1]).unwrap();
    let took = at - killed;
    assert!(took <= DEADTIME + 5, "backup took over after {took} ms");
    assert!(took + KEEPALIVE + 5 >= DEADTIME, "backup took over too early: {took} ms");
    assert!(s.nodes[1].vips_up && s.nodes[1].lvsd);
    // The primary returns (a new process): it stays standby.
    s.restart(0, |_| {});
    s.run_to(at + 5_000);
    assert_eq!(s.active(), vec![1]);
    assert_eq!(s.holding_vip(), vec![1], "the restarted primary dropped its stale VIPs");
}

#[test]
fn pair_failback_with_preempt_or_forceactive() {
    for (preempt, force) in [(true, false), (false, true)] {
        let mut s = Sim::new(2, |c| c.preempt = preempt);
        s.start_all();
        s.run_to(1_000);
        s.kill(0);
        s.run_to(3_000);
        assert_eq!(s.active(), vec![1]);
        s.restart(0, |c| {
            c.preempt = preempt;
            c.force_active = force;
        });
        s.run_to(6_000);
        assert_eq!(s.active(), vec![0], "preempt={preempt} force={force}");
        assert_eq!(s.holding_vip(), vec![0]);
        assert!(!s.nodes[1].lvsd);
    }
}

#[test]
fn forceactive_on_the_backup_is_undone_by_the_primary() {
    let mut s = Sim::new(2, |_| {});
    s.start(0);
    s.run_to(2_000);
    assert_eq!(s.active(), vec![0]);
    s.restart(1, |c| c.force_active = true);
    s.run_to(4_000);
    assert_eq!(s.active(), vec![0]);
    assert_eq!(s.holding_vip(), vec![0]);
}

#[test]
fn pool_of_three_first_live_router_is_active() {
    for preempt in [false, true] {
        let mut s = Sim::new(3, |c| c.preempt = preempt);
        // Start in reverse order: the first listed still wins.
        s.start(2);
        s.start(1);
        s.start(0);
        s.run_to(2_000);
        assert_eq!(s.active(), vec![0]);
        s.kill(0);
        s.run_to(4_000);
        assert_eq!(s.active(), vec![1], "the second listed, not the third");
        assert_eq!(s.holding_vip(), vec![1]);
        s.restart(0, |c| c.preempt = preempt);
        s.run_to(7_000);
        if preempt {
            assert_eq!(s.active(), vec![0], "preempt: the first listed takes back over");
        } else {
            assert_eq!(s.active(), vec![1], "no preempt: the second keeps the VIPs");
        }
        assert_eq!(s.holding_vip().len(), 1);
        let now_active = s.active()[0];
        s.kill(now_active);
        s.run_to(9_000);
        let expect = if now_active == 0 { 1 } else { 0 };
        assert_eq!(s.active(), vec![expect]);
        s.kill(expect);
        s.run_to(11_000);
        assert_eq!(s.active(), vec![2], "the last one left");
    }
}

#[test]
fn pool_members_starting_alone_wait_for_deadtime() {
    let mut s = Sim::new(3, |_| {});
    s.start(2);
    let at = s.run_until(5_000, |s| s.active() == vec![2]).unwrap();
    assert!((DEADTIME..=DEADTIME + 10).contains(&at), "activated at {at} ms");
}

#[test]
fn partition_then_heal_leaves_one_active_that_reannounces() {
    for n in [2, 3] {
        let mut s = Sim::new(n, |_| {});
        s.start_all();
        s.run_to(2_000);
        assert_eq!(s.active(), vec![0]);
        for j in 1..n {
            s.partition(0, j);
        }
        s.run_to(4_000);
        assert_eq!(s.active(), vec![0, 1], "split brain during the partition");
        let arps_before = s.nodes[0].arps;
        let log_len = s.nodes[1].log.len();
        s.heal();
        s.run_to(4_000 + KEEPALIVE + 10);
        assert_eq!(s.active(), vec![0], "exactly one after the heal (n={n})");
        assert_eq!(s.holding_vip(), vec![0]);
        assert!(s.nodes[0].arps > arps_before, "the survivor re-announced its VIPs");
        assert_eq!(
            &s.nodes[1].log[log_len..log_len + 4],
            &[
                Action::SyncDaemon(SyncRole::Backup),
                Action::StopLvsd,
                Action::VipsDown(vec![vip()]),
                Action::RunInactiveCmd,
            ],
            "the loser stands down in reverse order"
        );
        s.run_to(8_000);
        assert_eq!(s.active(), vec![0]);
    }
}

#[test]
fn survivor_reannounces_after_the_loser_confirms() {
    let mut s = Sim::new(2, |_| {});
    s.start_all();
    s.run_to(1_000);
    s.partition(0, 1);
    s.run_to(3_000);
    // One direction heals first: 1 hears 0, but 0's heartbeats cannot echo
    // anything recent of 1's, so they prove nothing (they could be a
    // replay) and 1 stays active, saying why.
    s.cut.remove(&(0, 1));
    s.run_to(3_300);
    assert_eq!(s.active(), vec![0, 1], "a one-way link is a partition");
    let a0 = s.nodes[0].arps;
    s.cut.clear();
    let at = s.run_until(3_300 + KEEPALIVE + 5, |s| s.active() == vec![0]);
    assert!(at.is_some(), "both ways: settled by the next heartbeat's round trip");
    // One announcement on seeing the conflict, one when 1 confirmed it
    // stood down (the burst's repeats come 100 ms later).
    assert_eq!(s.nodes[0].arps, a0 + 2, "re-announced once the loser stood down");
}

#[test]
fn lvsd_exit_stands_down_and_the_peer_takes_over_at_once() {
    let mut s = Sim::new(2, |_| {});
    s.start_all();
    s.run_to(1_000);
    let acts = shape(&s.step(0, Event::ChildExited(Child::Lvsd, Some(1))));
    assert_eq!(
        acts,
        vec![
            Action::SyncDaemon(SyncRole::Backup),
            Action::VipsDown(vec![vip()]),
            Action::RunInactiveCmd,
            hb(),
        ],
        "no StopLvsd: it is already gone"
    );
    s.flush();
    assert_eq!(s.active(), vec![1], "the backup saw the childfail heartbeat");
    s.run_to(3_000);
    assert_eq!(s.active(), vec![1]);
    assert!(s.nodes[0].m.faults().is_empty(), "childfail clears on hearing an active peer");
    s.kill(1);
    s.run_to(5_000);
    assert_eq!(s.active(), vec![0], "and it can take over again later");
}

#[test]
fn monitored_link_down_stands_down() {
    let mut s = Sim::new(2, |_| {});
    s.start_all();
    s.run_to(1_000);
    s.step(0, Event::LinkDown("eth9".into()));
    s.flush();
    assert_eq!(s.active(), vec![0], "unwatched link");
    s.step(0, Event::LinkDown("eth0".into()));
    s.flush();
    assert_eq!(s.active(), vec![1]);
    s.run_to(2_000);
    s.step(0, Event::LinkUp("eth0".into()));
    s.run_to(4_000);
    assert_eq!(s.active(), vec![1], "restored, but no failback");
    assert!(s.nodes[0].m.faults().is_empty());
}

#[test]
fn sigterm_stands_down_cleanly_and_the_peer_takes_over_at_once() {
    let mut s = Sim::new(2, |_| {});
    s.start_all();
    s.run_to(1_000);
    let acts = shape(&s.step(0, Event::Signal(Signal::Terminate)));
    assert_eq!(
        acts,
        vec![
            Action::SyncDaemon(SyncRole::Backup),
            Action::StopLvsd,
            Action::VipsDown(vec![vip()]),
            Action::RunInactiveCmd,
            hb(),
            Action::Exit,
        ]
    );
    s.flush();
    s.kill(0);
    assert_eq!(s.active(), vec![1], "a standby heartbeat from the primary: no deadtime wait");
}

#[test]
fn test_start_runs_no_commands_and_no_lvsd() {
    let mut s = Sim::new(1, |c| c.test_start = true);
    s.start(0);
    s.run_to(1_000);
    assert_eq!(s.active(), vec![0]);
    assert!(!s.nodes[0]
        .log
        .iter()
        .any(|a| matches!(a, Action::RunActiveCmd | Action::RunInactiveCmd | Action::StartLvsd)));
    assert!(s.nodes[0].vips_up);
}

#[test]
fn arp_repeat_and_periodic_refresh() {
    let mut s = Sim::new(1, |c| {
        c.arp = ArpPolicy {
            repeat: 2,
            interval: Duration::from_millis(50),
            refresh: Some(Duration::from_millis(1_000)),
        }
    });
    s.start(0);
    assert_eq!(s.active(), vec![0], "a lone router has nobody to wait for");
    assert_eq!(s.nodes[0].arps, 1);
    s.run_to(45);
    assert_eq!(s.nodes[0].arps, 1);
    s.run_to(50);
    assert_eq!(s.nodes[0].arps, 2, "second of the burst");
    s.run_to(5_000);
    assert_eq!(s.nodes[0].arps, 2 + 5, "one refresh per second");
}

#[test]
fn operator_take_over_and_stand_down() {
    let mut s = Sim::new(2, |c| c.preempt = true);
    s.start_all();
    s.run_to(1_000);
    assert_eq!(s.active(), vec![0]);
    s.step(1, Event::Control(Command::TakeOver));
    s.run_to(3_000);
    assert_eq!(s.active(), vec![1], "take-over wins even against a preempting primary");
    s.step(1, Event::Control(Command::StandDown));
    s.run_to(5_000);
    assert_eq!(s.active(), vec![0]);
    s.run_to(8_000);
    assert_eq!(s.active(), vec![0], "held down");
    assert!(s.nodes[1].m.faults().contains(Faults::ADMIN_DOWN));
}

#[test]
fn reload_changes_vips_while_active() {
    let mut s = Sim::new(1, |_| {});
    s.start(0);
    s.run_to(1_000);
    let mut c = s.nodes[0].m.config().clone();
    let extra = Vip { addr: "10.0.0.101".parse().unwrap(), prefix: 24, dev: "eth0".into() };
    c.vips = vec![extra.clone()];
    let acts = s.step(0, Event::Signal(Signal::Reload));
    assert_eq!(acts, vec![Action::ReloadConfig]);
    let acts = s.step(0, Event::Reconfigured(Box::new(c)));
    assert_eq!(
        acts,
        vec![
            Action::VipsDown(vec![vip()]),
            Action::VipsUp(vec![extra.clone()]),
            Action::GratuitousArp(vec![extra]),
            Action::ReloadLvsd,
        ]
    );
}

/// A tiny deterministic generator for random packets.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn forged_replayed_truncated_and_random_packets_change_nothing_and_are_counted() {
    let mut s = Sim::new(2, |_| {});
    s.start_all();
    s.run_to(2_000);
    assert_eq!(s.active(), vec![0]);
    let genuine = s.nodes[0].sent[s.nodes[0].sent.len() - 3].clone();
    // The start-up handshake: the backup's first heartbeat could not echo
    // the primary yet, so it proved nothing and was counted as stale.
    let handshake: u64 = (0..2).map(|i| s.nodes[i].m.drops().total()).sum();
    assert_eq!(handshake, 1);
    assert_eq!(s.nodes[0].m.drops().get(DropReason::Stale), 1);
    let key = Key::new(KEY.to_vec()).unwrap();
    let wrong_key = Key::new(b"not the cluster key at all......".to_vec()).unwrap();
    let forged_hb = |node_id: u32, role: Role, epoch: u32| Heartbeat {
        node_id,
        role,
        faults: Faults::NONE,
        priority: 255,
        epoch,
        boot_id: 1,
        seq: 1_000_000,
        flags: 0,
        config_digest: [7; 32],
        echoes: Vec::new(),
    };
    let mut attacks: Vec<(usize, IpAddr, Vec<u8>, DropReason)> = vec![
        // A replay of the active router's own earlier heartbeat, to the backup.
        (1, ip(0), genuine.clone(), DropReason::Replay),
        // Truncated and oversized copies.
        (1, ip(0), genuine[..50].to_vec(), DropReason::Truncated),
        (1, ip(0), [genuine.clone(), vec![0; 10]].concat(), DropReason::Oversized),
        // "The backup is active with a huge epoch", signed with the wrong key:
        // would make the primary yield if believed.
        (
            0,
            ip(1),
            encode_native(&forged_hb(101, Role::Active, 99), &wrong_key).clone(),
            DropReason::BadMac,
        ),
        // Valid key, but from an address that is not the backup's.
        (
            0,
            "10.9.9.9".parse().unwrap(),
            encode_native(&forged_hb(101, Role::Active, 99), &key).to_vec(),
            DropReason::WrongSource,
        ),
        (0, ip(1), encode_native(&forged_hb(555, Role::Active, 99), &key).to_vec(), {
            DropReason::UnknownPeer
        }),
        (0, ip(0), encode_native(&forged_hb(100, Role::Active, 99), &key).to_vec(), {
            DropReason::SelfEcho
        }),
        // A piranha "running" magic to a native pulse.
        (0, ip(1), encode_piranha(Role::Active, ByteOrder::Little).to_vec(), DropReason::BadMagic),
    ];
    // A bit-flipped copy of a fresh genuine heartbeat: "standby" -> "active".
    let mut flipped = s.nodes[1].sent.last().unwrap().clone();
    flipped[5] ^= 1;
    attacks.push((0, ip(1), flipped, DropReason::BadMac));
    for (to, from, data, reason) in attacks {
        let before = s.nodes[to].m.drops().get(reason);
        let now = s.now();
        let acts = s.nodes[to].m.step(Event::Packet { from, data }, now);
        assert_eq!(acts, vec![], "{reason:?}");
        assert_eq!(s.nodes[to].m.drops().get(reason), before + 1, "{reason:?}");
    }
    // Random garbage, including 104-byte packets with the right magic.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for n in 0..2_000 {
        let len = (xorshift(&mut seed) % 200) as usize;
        let len = if n % 4 == 0 { crate::wire::NATIVE_MIN_LEN } else { len };
        let mut data: Vec<u8> = (0..len).map(|_| xorshift(&mut seed) as u8).collect();
        if n % 2 == 0 && len >= 4 {
            data[..4].copy_from_slice(b"LVSP");
            if len > 4 {
                data[4] = 1;
            }
        }
        for to in 0..2 {
            let now = s.now();
            let ev = Event::Packet { from: ip(1 - to), data: data.clone() };
            let acts = s.nodes[to].m.step(ev, now);
            assert_eq!(acts, vec![]);
        }
    }
    let total: u64 = (0..2).map(|i| s.nodes[i].m.drops().total()).sum();
    assert_eq!(total, handshake + 9 + 4_000);
    s.run_to(6_000);
    assert_eq!(s.active(), vec![0], "nothing changed");
    assert_eq!(s.holding_vip(), vec![0]);
}

#[test]
fn config_digest_mismatch_is_reported_but_heartbeats_still_count() {
    let mut s = Sim::new(2, |_| {});
    s.nodes[1] = Node::new({
        let mut c = config(2, 1);
        c.config_digest = [8; 32];
        c
    });
    s.start_all();
    s.run_to(2_000);
    assert_eq!(s.active(), vec![0], "liveness still works, so no split brain");
    let st = s.nodes[0].m.status(s.now().mono);
    assert!(st.config_mismatches > 0);
    assert!(st.peers[0].config_mismatch);
}

#[test]
fn piranha_mode_pair_failover_uses_the_magics() {
    let mut s = Sim::new(2, |c| c.protocol = Protocol::Piranha);
    s.start_all();
    s.run_to(2_000);
    assert_eq!(s.active(), vec![0]);
    for p in s.nodes[0].sent.iter().chain(&s.nodes[1].sent) {
        assert_eq!(p.len(), 4);
        let magic = u32::from_ne_bytes([p[0], p[1], p[2], p[3]]);
        assert!(magic == 0xbdaddbda || magic == 0xadbddabd, "{magic:#x}");
    }
    assert_eq!(
        s.nodes[0].sent.last().unwrap(),
        &encode_piranha(Role::Active, ByteOrder::host()).to_vec()
    );
    s.kill(0);
    let killed = s.ms;
    let at = s.run_until(10_000, |s| s.active() == vec![1]).unwrap();
    assert!(at - killed <= DEADTIME + 5);
    // Partition and heal: the primary wins, as in piranha.
    s.restart(0, |c| c.protocol = Protocol::Piranha);
    s.run_to(at + 3_000);
    assert_eq!(s.active(), vec![1], "no failback in piranha mode either");
    s.step(1, Event::ChildExited(Child::Lvsd, None));
    s.flush();
    assert_eq!(s.active(), vec![0], "a piranha 'stopped' makes the partner activate");
}

#[test]
fn status_reports_peers_and_ages() {
    let mut s = Sim::new(3, |_| {});
    s.start_all();
    s.run_to(1_000);
    s.kill(2);
    s.run_to(2_000);
    let st = s.nodes[0].m.status(s.now().mono);
    assert_eq!(st.name, "r0");
    assert_eq!(st.role, Role::Active);
    assert_eq!(st.peers.len(), 2);
    assert!(st.peers[0].alive);
    assert!(st.peers[0].last_heard.unwrap() <= Duration::from_millis(KEEPALIVE));
    assert!(!st.peers[1].alive);
    assert!(st.peers[1].last_heard.unwrap() >= Duration::from_millis(1_000));
    assert_eq!(st.protocol, "native");
}

#[test]
fn status_counts_heartbeats_and_role_changes() {
    let mut s = Sim::new(2, |_| {});
    s.start_all();
    s.run_to(2_000);
    let st = s.nodes[0].m.status(s.now().mono);
    assert_eq!(st.sent, s.nodes[0].sent.len() as u64);
    assert_eq!(st.transitions, 1, "standby to active once");
    let heard = s.nodes[1].m.status(s.now().mono);
    assert_eq!(heard.transitions, 0);
    assert!(heard.peers[0].received > 0 && heard.peers[0].received <= st.sent);
    s.step(0, Event::Control(Command::StandDown));
    s.flush();
    assert_eq!(s.nodes[0].m.status(s.now().mono).transitions, 2);
}

#[test]
fn next_wakeup_covers_send_and_dead_timers_and_never_lies_in_the_past() {
    let mut s = Sim::new(2, |_| {});
    s.start_all();
    let now = s.now().mono;
    let w = s.nodes[0].m.next_wakeup(now).unwrap();
    assert!(w > now && w <= now + Duration::from_millis(KEEPALIVE));
    // Long after the start and after the peer died, nothing already handled
    // comes back as a deadline in the past (which would spin the loop).
    s.kill(1);
    s.run_to(10_000);
    let now = s.now().mono;
    let w = s.nodes[0].m.next_wakeup(now).unwrap();
    assert!(w > now, "a wake-up in the past would spin the loop");
}

mod fos;
mod freshness;
mod hot;
