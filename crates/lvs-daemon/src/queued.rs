//! A log written by a thread of its own, for pulse, whose heartbeat loop
//! must never block (issue 15).
//!
//! `nowait.rs` keeps a stopped reader from blocking a writer. A write can
//! still wait for a lock: the file's (every child of pulse, lvsd and each
//! nanny, writes to the same standard error) or the logger's own. When the
//! holder is a process or thread of lower priority than the loop, the loop
//! waits until that one gets a CPU again: tens of milliseconds on a busy
//! router. So the loop only hands the line to a bounded channel
//! (`try_send`: a line that does not fit is dropped and counted) and the
//! writer thread writes it with the daemon's logger, as before.
//!
//! The writer starts when the daemon says ([`start_log_writer`]), after it
//! has detached (a fork keeps no threads); lines logged before wait in the
//! channel. [`log::Log::flush`] at exit writes or waits for what is left.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Most lines waiting for the writer; more are dropped and counted.
const QUEUED: usize = 1024;

/// How long a flush at exit waits for the writer.
const FLUSH_WAIT: Duration = Duration::from_secs(1);

/// One record, owned, for the writer.
#[derive(Debug)]
struct Line {
    level: log::Level,
    target: String,
    text: String,
    /// Lines dropped between the one queued before this and this.
    dropped_before: u64,
}

/// The installed logger.
struct Queued {
    /// Writes a record (syslog or standard error); asked in the caller's
    /// thread only whether a record is enabled.
    inner: Box<dyn log::Log>,
    tx: SyncSender<Line>,
    /// The channel's other end, until the writer takes it.
    rx: Mutex<Option<Receiver<Line>>>,
    /// Lines queued and not yet written.
    pending: AtomicU64,
    /// Lines dropped since the last one queued.
    dropped: AtomicU64,
}

static QUEUED_LOGGER: OnceLock<&'static Queued> = OnceLock::new();

/// Installs `inner` behind the queue, with `level` as the most verbose
/// level any record may have.
///
/// # Errors
/// When a logger is already installed.
pub fn install(
    inner: Box<dyn log::Log>,
    level: log::LevelFilter,
) -> Result<(), log::SetLoggerError> {
    let q: &'static Queued = Box::leak(Box::new(Queued::new(inner, QUEUED)));
    log::set_logger(q)?;
    log::set_max_level(level);
    let _ = QUEUED_LOGGER.set(q);
    Ok(())
}

/// Starts the writer thread of the queued logger, if that is the one
/// installed and its writer has not started. A thread inherits its
/// creator's scheduling: pulse starts it from its real-time loop, so that
/// no thread of lower priority holds it up.
///
/// # Errors
/// When the thread cannot start (lines then wait, and are written at
/// exit).
pub fn start_log_writer() -> std::io::Result<()> {
    let Some(q) = QUEUED_LOGGER.get().copied() else { return Ok(()) };
    if q.rx.lock().map_or(true, |r| r.is_none()) {
        return Ok(());
    }
    // The thread takes the channel's end itself: if it does not start,
    // the end stays for the flush at exit.
    std::thread::Builder::new().name("log-writer".into()).spawn(move || {
        let Some(rx) = q.rx.lock().ok().and_then(|mut r| r.take()) else { return };
        while let Ok(line) = rx.recv() {
            q.write(&line);
        }
    })?;
    Ok(())
}

impl Queued {
    fn new(inner: Box<dyn log::Log>, room: usize) -> Queued {
        let (tx, rx) = sync_channel(room);
        Queued {
            inner,
            tx,
            rx: Mutex::new(Some(rx)),
            pending: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// Writes one line, after the count of those dropped before it.
    fn write(&self, line: &Line) {
        if line.dropped_before > 0 {
            let note = crate::nowait::dropped_line(line.dropped_before);
            self.emit(log::Level::Warn, &line.target, &note);
        }
        self.emit(line.level, &line.target, &line.text);
        self.pending.fetch_sub(1, Ordering::Release);
    }

    fn emit(&self, level: log::Level, target: &str, text: &str) {
        self.inner.log(
            &log::Record::builder()
                .level(level)
                .target(target)
                .args(format_args!("{text}"))
                .build(),
        );
    }
}

impl log::Log for Queued {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        self.inner.enabled(m)
    }

    fn log(&self, r: &log::Record<'_>) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let dropped_before = self.dropped.swap(0, Ordering::Relaxed);
        let line = Line {
            level: r.level(),
            target: r.target().to_owned(),
            text: r.args().to_string(),
            dropped_before,
        };
        self.pending.fetch_add(1, Ordering::Release);
        if self.tx.try_send(line).is_err() {
            self.pending.fetch_sub(1, Ordering::Release);
            self.dropped.fetch_add(dropped_before + 1, Ordering::Relaxed);
        }
    }

    /// At exit: writes what waits when no writer started, else waits for
    /// the writer, at most [`FLUSH_WAIT`].
    fn flush(&self) {
        if let Some(rx) = self.rx.lock().ok().and_then(|mut r| r.take()) {
            while let Ok(line) = rx.try_recv() {
                self.write(&line);
            }
        }
        let t0 = Instant::now();
        while self.pending.load(Ordering::Acquire) > 0 && t0.elapsed() < FLUSH_WAIT {
            std::thread::sleep(Duration::from_millis(1));
        }
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            self.emit(log::Level::Warn, "", &crate::nowait::dropped_line(dropped));
        }
        self.inner.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use log::Log as _;
    use std::sync::Arc;

    /// Keeps what it is asked to write.
    #[derive(Clone, Default)]
    struct Kept(Arc<Mutex<Vec<String>>>);

    impl log::Log for Kept {
        fn enabled(&self, m: &log::Metadata<'_>) -> bool {
            m.level() <= log::Level::Info
        }
        fn log(&self, r: &log::Record<'_>) {
            self.0.lock().unwrap().push(format!("{} {}", r.level(), r.args()));
        }
        fn flush(&self) {}
    }

    fn info(q: &Queued, text: &str) {
        q.log(&log::Record::builder().level(log::Level::Info).args(format_args!("{text}")).build());
    }

    #[test]
    fn the_caller_only_queues_a_full_queue_drops_and_the_writer_says_so() {
        let kept = Kept::default();
        let q = Queued::new(Box::new(kept.clone()), 4);
        q.log(&log::Record::builder().level(log::Level::Debug).args(format_args!("no")).build());
        for i in 0..10 {
            info(&q, &format!("line {i}"));
        }
        assert!(kept.0.lock().unwrap().is_empty(), "written by the caller");
        assert_eq!((q.pending.load(Ordering::Relaxed), q.dropped.load(Ordering::Relaxed)), (4, 6));
        // The writer's turn.
        let rx = q.rx.lock().unwrap().take().unwrap();
        while let Ok(line) = rx.try_recv() {
            q.write(&line);
        }
        info(&q, "later");
        q.write(&rx.try_recv().unwrap());
        assert_eq!(
            *kept.0.lock().unwrap(),
            [
                "INFO line 0",
                "INFO line 1",
                "INFO line 2",
                "INFO line 3",
                "WARN 6 log lines dropped: the log was not taking them",
                "INFO later",
            ]
        );
        assert_eq!(q.pending.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_flush_without_a_writer_writes_what_waits() {
        let kept = Kept::default();
        let q = Queued::new(Box::new(kept.clone()), 8);
        info(&q, "before the writer");
        q.flush();
        assert_eq!(*kept.0.lock().unwrap(), ["INFO before the writer"]);
    }
}
