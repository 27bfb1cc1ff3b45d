//! What the loop shows the world: a [`Snapshot`] of pulse's view, taken at
//! the end of a loop turn and published through a [`Board`], where the HTTP
//! thread picks it up. The loop never waits on the board: it swaps in a
//! fresh `Arc` with `try_lock` (a reader holds the lock only to clone an
//! `Arc`), and if a reader happens to hold it, the next turn publishes
//! instead. Pure data, no IO.

use std::sync::{Arc, Mutex, TryLockError};
use std::time::Instant;

use crate::events::EventLog;
use crate::lvsd_link::LvsdView;
use crate::machine::Status;
use crate::stall::LoopStats;

/// Reloads of the configuration, by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reloads {
    /// Read, valid and applied.
    pub accepted: u64,
    /// Refused (the running configuration was kept).
    pub refused: u64,
}

/// pulse's view at the end of one loop turn.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The state machine's status, taken at `taken`.
    pub status: Status,
    /// When the status was taken: readers add the snapshot's age to the
    /// peers' silence.
    pub taken: Instant,
    /// lvsd's pid while it runs.
    pub lvsd_pid: Option<u32>,
    /// The stall detector's figures.
    pub loop_stats: LoopStats,
    /// Reloads so far.
    pub reloads: Reloads,
    /// lvsd's last report (health, reasons, counters), while it reports.
    pub lvsd: Option<Arc<LvsdView>>,
    /// The last few hundred events.
    pub events: Arc<EventLog>,
}

impl Snapshot {
    /// The snapshot as it would have been taken at `now`: the peers'
    /// silences grow by the snapshot's age (their liveness stays as the
    /// loop last judged it).
    pub fn aged(&self, now: Instant) -> Snapshot {
        let age = now.saturating_duration_since(self.taken);
        let mut s = self.clone();
        for p in &mut s.status.peers {
            p.last_heard = p.last_heard.map(|d| d + age);
        }
        s.taken = s.taken.max(now);
        s
    }
}

/// Where the loop publishes its latest snapshot for other threads.
#[derive(Clone, Debug, Default)]
pub struct Board(Arc<Mutex<Option<Arc<Snapshot>>>>);

impl Board {
    /// A board with nothing published yet.
    pub fn new() -> Board {
        Board::default()
    }

    /// Publishes `s` unless a reader holds the board right now (then the
    /// next turn's snapshot replaces it). Never blocks.
    pub fn publish(&self, s: Snapshot) -> bool {
        match self.0.try_lock() {
            Ok(mut slot) => {
                *slot = Some(Arc::new(s));
                true
            }
            Err(TryLockError::Poisoned(p)) => {
                *p.into_inner() = Some(Arc::new(s));
                true
            }
            Err(TryLockError::WouldBlock) => false,
        }
    }

    /// The latest snapshot; the lock is held only to clone the `Arc`.
    pub fn latest(&self) -> Option<Arc<Snapshot>> {
        match self.0.lock() {
            Ok(slot) => slot.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}
