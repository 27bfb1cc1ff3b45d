//! The pure decision core: when a server enters and leaves the table, and
//! with which weight. Time is injected; no IO here.
//!
//! Rules (piranha `nanny.c`, made explicit, see docs/nanny-protocol.md):
//! - A server is added after its first successful check, unless a check has
//!   failed since start: then it is re-admitted at the `reentry / interval`th
//!   consecutive success (at least one), counting the first, as piranha's
//!   `currCount >= countThresh`. Successes are counted, not timed: a check
//!   that completes late (a slow connect, a busy host) does not delay
//!   re-admission past the check where piranha's would happen.
//! - It is removed (or quiesced) after `retries + 1` consecutive failures
//!   (`retries` failed checks are tolerated; piranha: 0).
//! - Slow start: it enters with `weight >> 5` (at least 1) and the weight
//!   doubles every adjustment period (20 s, or every check if the interval
//!   is longer) until it reaches `weight`.
//! - Load adjustment (piranha §3.10) once at full weight, if a load probe
//!   is configured.

use std::time::{Duration, Instant};

use crate::protocol::{Decision, DownMode};

/// How often slow start and load adjustment run (piranha: about 20 s).
pub const ADJUST_PERIOD: Duration = Duration::from_secs(20);

/// The fixed parameters of one nanny.
#[derive(Debug, Clone)]
pub struct Params {
    /// Time between checks.
    pub interval: Duration,
    /// Continuous success needed to re-admit a server that failed.
    pub reentry: Duration,
    /// Failed checks tolerated: the server goes out at the `retries + 1`th
    /// consecutive failure (piranha: 0, one failure removes it).
    pub retries: u32,
    /// Base weight.
    pub weight: u32,
    /// Load adjustment ceiling: `scale * weight`.
    pub scale: u32,
    /// Quiesce (weight 0) instead of removing.
    pub quiesce: bool,
    /// Enter at `weight >> 5` and double up to `weight`.
    pub slow_start: bool,
    /// A load probe is configured.
    pub load_monitor: bool,
    /// Slow start and load adjustment period (piranha: [`ADJUST_PERIOD`]);
    /// the interval if that is longer.
    pub adjust: Duration,
}

/// Signals a nanny obeys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig {
    /// SIGUSR1: force down and freeze until SIGHUP.
    ForceDown,
    /// SIGUSR2: force up and freeze until SIGHUP.
    ForceUp,
    /// SIGHUP: back to normal monitoring, check at once.
    Normal,
    /// SIGTERM/SIGINT: withdraw and exit.
    Terminate,
}

/// What the event loop must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Apply a decision about the server: to lvsd's line or the kernel,
    /// through [`crate::table::Table::decide`].
    Decide {
        /// Up, weight or down: nanny_api's one form of a decision.
        decision: Decision,
        /// Why, for the log and lvsd.
        reason: String,
    },
    /// Run the load probe and feed its result to [`Machine::on_load`].
    ProbeLoad,
    /// Run a check now instead of waiting for the next interval.
    CheckNow,
    /// Exit the process.
    Exit {
        /// Why.
        reason: String,
    },
}

impl Action {
    /// A decision with its reason.
    pub fn decide(decision: Decision, reason: impl Into<String>) -> Action {
        Action::Decide { decision, reason: reason.into() }
    }
}

/// Operator override set by USR1/USR2, cleared by HUP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Glasses {
    /// Normal monitoring.
    Off,
    /// Forced down (SIGUSR1, "opaque glasses").
    Opaque,
    /// Forced up (SIGUSR2, "rose-coloured glasses").
    Rose,
}

/// The state of one nanny's server.
#[derive(Debug, Clone)]
pub struct Machine {
    p: Params,
    active: bool,
    weight: u32,
    /// Consecutive successful checks; starts at the threshold, so that the
    /// first success after start adds the server (piranha's `currCount`).
    successes: u32,
    fails: u32,
    last_adjust: Option<Instant>,
    glasses: Glasses,
}

impl Machine {
    /// A fresh machine: server not in the table.
    pub fn new(p: Params) -> Machine {
        Machine {
            p,
            active: false,
            weight: 0,
            successes: u32::MAX,
            fails: 0,
            last_adjust: None,
            glasses: Glasses::Off,
        }
    }

    /// Whether the server is in the table (with a non-zero weight intent).
    pub fn active(&self) -> bool {
        self.active
    }

    /// The weight last asked for.
    pub fn weight(&self) -> u32 {
        self.weight
    }

    /// Whether checks are suspended by USR1/USR2.
    pub fn frozen(&self) -> bool {
        self.glasses != Glasses::Off
    }

    fn down_mode(&self) -> DownMode {
        if self.p.quiesce {
            DownMode::Quiesce
        } else {
            DownMode::Remove
        }
    }

    fn entry_weight(&self) -> u32 {
        if self.p.slow_start && self.p.weight > 0 {
            (self.p.weight >> 5).max(1)
        } else {
            self.p.weight
        }
    }

    fn adjust_period(&self) -> Duration {
        self.p.interval.max(self.p.adjust)
    }

    /// Consecutive successes that re-admit a server after a failure:
    /// piranha's `countThresh = reentry / interval` (integer division), at
    /// least one.
    fn reentry_checks(&self) -> u32 {
        let interval = self.p.interval.as_nanos().max(1);
        u32::try_from(self.p.reentry.as_nanos() / interval).unwrap_or(u32::MAX).max(1)
    }

    /// Feeds the result of one check.
    pub fn on_check(&mut self, now: Instant, ok: bool, detail: &str) -> Vec<Action> {
        if self.frozen() {
            return Vec::new();
        }
        if !ok {
            self.successes = 0;
            self.fails = self.fails.saturating_add(1);
            if self.active && self.fails > self.p.retries {
                self.active = false;
                self.weight = 0;
                let reason = if self.fails == 1 {
                    format!("check failed: {detail}")
                } else {
                    format!("{} consecutive checks failed: {detail}", self.fails)
                };
                return vec![Action::decide(Decision::Down { mode: self.down_mode() }, reason)];
            }
            return Vec::new();
        }
        self.fails = 0;
        let fresh = self.successes == u32::MAX;
        self.successes = self.successes.saturating_add(1);
        if !self.active {
            if self.successes < self.reentry_checks() {
                return Vec::new();
            }
            self.active = true;
            self.weight = self.entry_weight();
            self.last_adjust = Some(now);
            let reason = if fresh {
                format!("check ok: {detail}")
            } else {
                format!("check ok {} times in a row: {detail}", self.successes)
            };
            return vec![Action::decide(Decision::Up { weight: self.weight }, reason)];
        }
        let due = self
            .last_adjust
            .is_none_or(|t| now.saturating_duration_since(t) >= self.adjust_period());
        if !due {
            return Vec::new();
        }
        self.last_adjust = Some(now);
        if self.weight < self.p.weight {
            let new = self.weight.saturating_mul(2).clamp(1, self.p.weight);
            self.weight = new;
            return vec![Action::decide(Decision::Weight { weight: new }, "slow start")];
        }
        if self.p.load_monitor {
            return vec![Action::ProbeLoad];
        }
        Vec::new()
    }

    /// Feeds the result of a load probe (`None`: unknown).
    pub fn on_load(&mut self, load: Option<f64>) -> Vec<Action> {
        if !self.active || self.frozen() {
            return Vec::new();
        }
        let Some(load) = load else {
            return Vec::new();
        };
        match adjusted_weight(self.weight, self.p.weight, self.p.scale, load) {
            Some(w) => {
                self.weight = w;
                vec![Action::decide(Decision::Weight { weight: w }, format!("load average {load}"))]
            }
            None => Vec::new(),
        }
    }

    /// Feeds a signal.
    pub fn on_signal(&mut self, sig: Sig) -> Vec<Action> {
        match sig {
            Sig::ForceDown => {
                self.glasses = Glasses::Opaque;
                if self.active {
                    self.active = false;
                    self.weight = 0;
                    return vec![Action::decide(
                        Decision::Down { mode: self.down_mode() },
                        "forced down by SIGUSR1 (frozen until SIGHUP)",
                    )];
                }
                Vec::new()
            }
            Sig::ForceUp => {
                self.glasses = Glasses::Rose;
                if !self.active {
                    self.active = true;
                    self.weight = self.p.weight;
                    return vec![Action::decide(
                        Decision::Up { weight: self.weight },
                        "forced up by SIGUSR2 (frozen until SIGHUP)",
                    )];
                }
                Vec::new()
            }
            Sig::Normal => {
                // Back to normal as if just started, but keeping what is in
                // the table: the next check decides.
                self.glasses = Glasses::Off;
                self.successes = u32::MAX;
                self.fails = 0;
                vec![Action::CheckNow]
            }
            Sig::Terminate => {
                let mut v = Vec::new();
                if self.active {
                    self.active = false;
                    v.push(Action::decide(
                        Decision::Down { mode: DownMode::Remove },
                        "nanny terminating",
                    ));
                }
                v.push(Action::Exit { reason: "terminated by signal".into() });
                v
            }
        }
    }
}

/// piranha's load formula (§3.10): returns the new weight, or `None` when
/// no change is due. `last` is the current weight, `base` the configured one.
pub fn adjusted_weight(last: u32, base: u32, scale: u32, load: f64) -> Option<u32> {
    if !load.is_finite() || load < 0.0 || load == 1.0 {
        return None;
    }
    let s = f64::from(base / 2);
    let last_f = f64::from(last);
    let new = if load < 1.0 {
        let ceiling = f64::from(scale.saturating_mul(base));
        (last_f + s * (1.0 - load).cbrt()).trunc().min(ceiling)
    } else {
        (last_f - s * (load - 1.0).cbrt()).trunc().max(f64::from(base))
    };
    // Both bounds keep `new` within u32.
    let new = new.clamp(0.0, f64::from(u32::MAX)) as u32;
    if new == last || new.abs_diff(last) < base / 4 {
        return None;
    }
    Some(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params {
            interval: Duration::from_secs(10),
            reentry: Duration::from_secs(180),
            retries: 0,
            weight: 64,
            scale: 10,
            quiesce: false,
            slow_start: true,
            load_monitor: false,
            adjust: ADJUST_PERIOD,
        }
    }

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn first_success_adds_at_once_with_slow_start_weight() {
        let t = Instant::now();
        let mut m = Machine::new(params());
        let a = m.on_check(t, true, "connected");
        assert_eq!(a, vec![Action::decide(Decision::Up { weight: 2 }, "check ok: connected")]);
        // Slow start doubles every 20 s of checks.
        assert_eq!(m.on_check(t + s(10), true, ""), vec![]);
        let a = m.on_check(t + s(20), true, "");
        assert_eq!(a, vec![Action::decide(Decision::Weight { weight: 4 }, "slow start")]);
        let mut w = 4;
        let mut k = 40;
        while w < 64 {
            let a = m.on_check(t + s(k), true, "");
            w *= 2;
            assert_eq!(a, vec![Action::decide(Decision::Weight { weight: w }, "slow start")]);
            k += 20;
        }
        assert_eq!(m.on_check(t + s(k), true, ""), vec![]);
    }

    #[test]
    fn one_failure_removes_and_reentry_is_timed() {
        let t = Instant::now();
        let mut m = Machine::new(params());
        m.on_check(t, true, "");
        let a = m.on_check(t + s(10), false, "refused");
        assert_eq!(
            a,
            vec![Action::decide(
                Decision::Down { mode: DownMode::Remove },
                "check failed: refused"
            )]
        );
        // reentry 180 s / interval 10 s: back at the 18th success in a row
        // (piranha's countThresh), counting the first.
        for k in (20..190).step_by(10) {
            assert_eq!(m.on_check(t + s(k), true, ""), vec![], "at {k}");
        }
        let a = m.on_check(t + s(190), true, "ok");
        assert!(
            matches!(&a[..], [Action::Decide { decision: Decision::Up { weight: 2 }, reason }] if reason.contains("18 times")),
            "{a:?}"
        );
    }

    /// Issue 17: reentry 4 s, interval 1 s. piranha re-admits at the 4th
    /// consecutive success; timing the streak from the first completion
    /// made jitter (a first check that completed 0.995 s late, later ones
    /// on time, up to 3.995 s of spread) delay it to the 5th or 6th.
    #[test]
    fn reentry_counts_successes_whatever_the_jitter() {
        let ms = Duration::from_millis;
        let mut p = params();
        p.interval = s(1);
        p.reentry = s(4);
        for completions in [
            // On time.
            [ms(1000), ms(2000), ms(3000), ms(4000)],
            // The first success completes late, the next ones early.
            [ms(1995), ms(2000), ms(3000), ms(4000)],
            // 3.995 s between the first and the fourth completion.
            [ms(1005), ms(2000), ms(3000), ms(5000)],
            // Bunched up: the loop was busy.
            [ms(3995), ms(3996), ms(3997), ms(3998)],
        ] {
            let t = Instant::now();
            let mut m = Machine::new(p.clone());
            m.on_check(t, true, "");
            assert!(matches!(
                &m.on_check(t + ms(500), false, "x")[..],
                [Action::Decide { decision: Decision::Down { .. }, .. }]
            ));
            for (i, at) in completions.iter().enumerate() {
                let a = m.on_check(t + *at, true, "ok");
                if i < 3 {
                    assert_eq!(a, vec![], "success {} at {at:?} of {completions:?}", i + 1);
                } else {
                    assert!(
                        matches!(&a[..], [Action::Decide { decision: Decision::Up { .. }, reason }] if reason.contains("4 times")),
                        "4th success of {completions:?}: {a:?}"
                    );
                }
            }
        }
        // A threshold below one check (reentry < interval) re-admits at once.
        let mut q = params();
        q.reentry = s(5);
        let t = Instant::now();
        let mut m = Machine::new(q);
        m.on_check(t, false, "x");
        assert!(matches!(
            &m.on_check(t + s(10), true, "")[..],
            [Action::Decide { decision: Decision::Up { .. }, .. }]
        ));
    }

    #[test]
    fn a_failure_during_reentry_restarts_the_clock() {
        let t = Instant::now();
        let mut p = params();
        p.reentry = s(30);
        let mut m = Machine::new(p);
        m.on_check(t, false, "x"); // failed from the start: reentry applies
        assert_eq!(m.on_check(t + s(10), true, ""), vec![]);
        assert_eq!(m.on_check(t + s(20), true, ""), vec![]);
        m.on_check(t + s(30), false, "");
        // 30 s / 10 s: the 3rd success in a row re-admits.
        assert_eq!(m.on_check(t + s(40), true, ""), vec![]);
        assert_eq!(m.on_check(t + s(50), true, ""), vec![]);
        assert_eq!(m.on_check(t + s(60), true, "").len(), 1);
        assert!(m.active());
    }

    #[test]
    fn retries_and_quiesce() {
        let t = Instant::now();
        let mut p = params();
        p.retries = 2;
        p.quiesce = true;
        p.slow_start = false;
        let mut m = Machine::new(p);
        assert!(matches!(
            &m.on_check(t, true, "")[..],
            [Action::Decide { decision: Decision::Up { weight: 64 }, .. }]
        ));
        assert_eq!(m.on_check(t + s(1), false, ""), vec![]);
        assert_eq!(m.on_check(t + s(2), false, ""), vec![]);
        // A success in between resets the count.
        m.on_check(t + s(3), true, "");
        assert_eq!(m.on_check(t + s(4), false, ""), vec![]);
        assert_eq!(m.on_check(t + s(5), false, ""), vec![]);
        let a = m.on_check(t + s(6), false, "timeout");
        assert_eq!(
            a,
            vec![Action::decide(
                Decision::Down { mode: DownMode::Quiesce },
                "3 consecutive checks failed: timeout"
            )]
        );
    }

    #[test]
    fn load_formula_matches_piranha() {
        // weight 10: s = 5, threshold 10/4 = 2.
        // load 0: 10 + 5*1 = 15.
        assert_eq!(adjusted_weight(10, 10, 10, 0.0), Some(15));
        // load 0.9: cbrt(0.1)=0.464 -> 10 + 2.32 = 12 -> diff 2 >= 2.
        assert_eq!(adjusted_weight(10, 10, 10, 0.9), Some(12));
        // load 0.99: cbrt(0.01)=0.215 -> 11, diff 1 < 2: no change.
        assert_eq!(adjusted_weight(10, 10, 10, 0.99), None);
        // Ceiling scale*weight.
        assert_eq!(adjusted_weight(98, 10, 10, 0.0), Some(100));
        assert_eq!(adjusted_weight(100, 10, 10, 0.0), None);
        // load 9: cbrt(8)=2 -> 30 - 10 = 20.
        assert_eq!(adjusted_weight(30, 10, 10, 9.0), Some(20));
        // Floor at the base weight.
        assert_eq!(adjusted_weight(12, 10, 10, 28.0), Some(10));
        assert_eq!(adjusted_weight(10, 10, 10, 28.0), None);
        assert_eq!(adjusted_weight(10, 10, 10, 1.0), None);
        assert_eq!(adjusted_weight(10, 10, 10, f64::NAN), None);
    }

    #[test]
    fn load_probe_runs_once_at_full_weight() {
        let t = Instant::now();
        let mut p = params();
        p.slow_start = false;
        p.load_monitor = true;
        p.weight = 10;
        let mut m = Machine::new(p);
        m.on_check(t, true, "");
        assert_eq!(m.on_check(t + s(10), true, ""), vec![]);
        assert_eq!(m.on_check(t + s(20), true, ""), vec![Action::ProbeLoad]);
        assert!(matches!(
            &m.on_load(Some(0.0))[..],
            [Action::Decide { decision: Decision::Weight { weight: 15 }, .. }]
        ));
        assert_eq!(m.on_load(None), vec![]);
        assert_eq!(m.weight(), 15);
    }

    #[test]
    fn signals() {
        let t = Instant::now();
        let mut m = Machine::new(params());
        m.on_check(t, true, "");
        assert!(matches!(
            &m.on_signal(Sig::ForceDown)[..],
            [Action::Decide { decision: Decision::Down { .. }, .. }]
        ));
        assert!(m.frozen());
        assert_eq!(m.on_check(t + s(10), true, ""), vec![]);
        assert!(matches!(
            &m.on_signal(Sig::ForceUp)[..],
            [Action::Decide { decision: Decision::Up { weight: 64 }, .. }]
        ));
        assert_eq!(m.on_check(t + s(20), false, ""), vec![]);
        assert!(m.active());
        assert_eq!(m.on_signal(Sig::Normal), vec![Action::CheckNow]);
        assert!(matches!(
            &m.on_check(t + s(30), false, "")[..],
            [Action::Decide { decision: Decision::Down { .. }, .. }]
        ));
        // After HUP the first success re-admits at once (fresh start).
        m.on_signal(Sig::Normal);
        assert!(matches!(
            &m.on_check(t + s(40), true, "")[..],
            [Action::Decide { decision: Decision::Up { .. }, .. }]
        ));
        let a = m.on_signal(Sig::Terminate);
        assert!(matches!(
            &a[..],
            [
                Action::Decide { decision: Decision::Down { mode: DownMode::Remove }, .. },
                Action::Exit { .. }
            ]
        ));
    }
}
