//! The loop thread's account with the scheduler, from
//! `/proc/thread-self/schedstat`: how long it has run on a CPU and how
//! long it has waited, runnable, for one. A long turn's time splits three
//! ways with it: on the CPU (work), waiting for a CPU (another thread of
//! equal or higher priority had it), and neither (blocked in a call, or a
//! page fault: pulse's own). The stall warning says which.
//!
//! The file is opened once, by the loop's thread (`thread-self` is the
//! opener's), and read again from its start at each wake-up and each end of
//! turn: one `pread`, about what `clock_gettime` of the thread's CPU time
//! costs, which it replaces.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::Duration;

/// The scheduler's figures for one thread, since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sched {
    /// Time on a CPU.
    pub ran: Duration,
    /// Time runnable, waiting for a CPU.
    pub waited: Duration,
}

impl Sched {
    /// What passed between `earlier` and `self`.
    pub fn since(self, earlier: Sched) -> Sched {
        Sched {
            ran: self.ran.saturating_sub(earlier.ran),
            waited: self.waited.saturating_sub(earlier.waited),
        }
    }
}

/// Parses the file's one line: nanoseconds run, nanoseconds waited, time
/// slices.
pub fn parse(text: &[u8]) -> Option<Sched> {
    let text = std::str::from_utf8(text).ok()?;
    let mut fields = text.split_ascii_whitespace().map(str::parse::<u64>);
    let ran = fields.next()?.ok()?;
    let waited = fields.next()?.ok()?;
    Some(Sched { ran: Duration::from_nanos(ran), waited: Duration::from_nanos(waited) })
}

/// The calling thread's schedstat file, open.
#[derive(Debug)]
pub struct SchedStat(File);

impl SchedStat {
    /// Opens the calling thread's file; `None` on a kernel without
    /// `CONFIG_SCHED_INFO` or one that keeps no account (a sandbox's zeros:
    /// a thread that runs this has run), and the warning then gives the CPU
    /// time alone.
    pub fn open() -> Option<SchedStat> {
        let file = File::open("/proc/thread-self/schedstat").ok()?;
        let s = SchedStat(file);
        s.read().filter(|a| !a.ran.is_zero()).map(|_| s)
    }

    /// The figures now.
    pub fn read(&self) -> Option<Sched> {
        let mut buf = [0u8; 96];
        let n = self.0.read_at(&mut buf, 0).ok()?;
        parse(buf.get(..n)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_parses_and_differences_never_go_negative() {
        let a = parse(b"1500000 250000 12\n").unwrap();
        assert_eq!(
            a,
            Sched { ran: Duration::from_micros(1500), waited: Duration::from_micros(250) }
        );
        let b = parse(b"4500000 1250000 14\n").unwrap();
        assert_eq!(
            b.since(a),
            Sched { ran: Duration::from_millis(3), waited: Duration::from_millis(1) }
        );
        assert_eq!(a.since(b), Sched::default());
        assert_eq!(parse(b""), None);
        assert_eq!(parse(b"12 x 1"), None);
        assert_eq!(parse(&[0xff, b' ']), None);
    }

    #[test]
    fn this_threads_file_reads_again_from_its_start() {
        // Debian's kernels and this workspace's hosts have the file (a
        // sandboxed host's may hold zeros, which `open` refuses: only the
        // VM's figures are real).
        let s = SchedStat(File::open("/proc/thread-self/schedstat").unwrap());
        let a = s.read().unwrap();
        assert_eq!(SchedStat::open().is_some(), !a.ran.is_zero());
        let t = std::time::Instant::now();
        while t.elapsed() < Duration::from_millis(5) {}
        let b = s.read().unwrap();
        assert!(b.ran >= a.ran && b.waited >= a.waited, "{a:?} then {b:?}");
    }
}
