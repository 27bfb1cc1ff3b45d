//! The stall detector, pure (times come in as arguments): how late each
//! turn of pulse's loop woke against the deadline it slept for, plus how
//! long the turn's work took. A turn whose sum is over [`THRESHOLD`] is a
//! stall: the loop was not there to send or judge heartbeats for that long.
//! The daemon logs each stall and reports the count and the worst turn in
//! its status, and the tests assert there were none.

use std::time::{Duration, Instant};

/// A turn longer than this is a stall.
pub const THRESHOLD: Duration = Duration::from_millis(50);

/// The loop's turns so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoopStats {
    /// Turns measured.
    pub turns: u64,
    /// Turns over [`THRESHOLD`].
    pub stalls: u64,
    /// The longest turn (lateness plus work).
    pub worst: Duration,
}

/// One measured turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Turn {
    /// How long after its deadline the loop woke (zero when woken early).
    pub late: Duration,
    /// How long the turn's work took.
    pub work: Duration,
}

impl Turn {
    /// Lateness plus work.
    pub fn total(&self) -> Duration {
        self.late + self.work
    }
}

impl LoopStats {
    /// Records a turn that slept until `deadline` (if any), woke at `woke`
    /// and finished its work at `done`; returns it when it was a stall.
    pub fn record(
        &mut self,
        deadline: Option<Instant>,
        woke: Instant,
        done: Instant,
    ) -> Option<Turn> {
        let late = deadline.map_or(Duration::ZERO, |d| woke.saturating_duration_since(d));
        let turn = Turn { late, work: done.saturating_duration_since(woke) };
        self.turns += 1;
        self.worst = self.worst.max(turn.total());
        (turn.total() > THRESHOLD).then(|| {
            self.stalls += 1;
            turn
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_and_work_add_up_and_only_long_turns_count() {
        let t = Instant::now();
        let ms = Duration::from_millis;
        let mut s = LoopStats::default();
        // Woken early by an event, short work.
        assert_eq!(s.record(Some(t + ms(100)), t, t + ms(2)), None);
        // No deadline, long work.
        assert_eq!(s.record(None, t, t + ms(51)), Some(Turn { late: ms(0), work: ms(51) }));
        // Late by 30 ms, 30 ms of work: a stall of 60 ms.
        let turn = s.record(Some(t), t + ms(30), t + ms(60)).unwrap();
        assert_eq!(turn.total(), ms(60));
        // Exactly the threshold is not a stall.
        assert_eq!(s.record(Some(t), t + ms(50), t + ms(50)), None);
        assert_eq!(s, LoopStats { turns: 4, stalls: 2, worst: ms(60) });
    }
}
