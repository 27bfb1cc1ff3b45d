//! Log output that never makes the caller wait. pulse logs from its
//! heartbeat loop, which must never block (issue 15), and a daemon's log
//! reader can stop reading: journald stuck or restarting behind the
//! stream socket of a systemd unit's standard error, syslogd behind
//! `/dev/log`, a pipe into a pager. A blocking write would then stop the
//! loop, the peer would take over, and both routers would hold the VIPs.
//!
//! So a line that cannot be written at once is dropped and counted, and the
//! next line that can be written is preceded by a count of those dropped.
//! The kernel's socket or pipe buffer (hundreds of lines) takes bursts; only
//! a reader that has stopped loses lines.

use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{send, MsgFlags};

/// What a pipe takes in one write without waiting, once it polls
/// writable (Linux's `PIPE_BUF`).
const PIPE_BUF: usize = 4096;

/// The line that says how many lines were dropped.
pub fn dropped_line(dropped: u64) -> String {
    format!(
        "{dropped} log line{} dropped: the log was not taking them",
        if dropped == 1 { "" } else { "s" }
    )
}

/// What a descriptor is, for [`write_now`] (found once: one system call
/// per line after that).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sink {
    /// A socket (journald's stream, a syslog socket): sent to with
    /// `MSG_DONTWAIT`.
    Socket,
    /// A regular file: written (a local file does not wait for a reader).
    File,
    /// A pipe, a terminal, anything else: written only when `poll` says it
    /// takes data, at most `PIPE_BUF` at once.
    Other,
}

impl Sink {
    /// What `fd` is.
    pub fn of(fd: BorrowedFd<'_>) -> Sink {
        let Ok(st) = nix::sys::stat::fstat(fd) else { return Sink::Other };
        match nix::sys::stat::SFlag::from_bits_truncate(st.st_mode) & nix::sys::stat::SFlag::S_IFMT
        {
            nix::sys::stat::SFlag::S_IFSOCK => Sink::Socket,
            nix::sys::stat::SFlag::S_IFREG => Sink::File,
            _ => Sink::Other,
        }
    }
}

/// Writes `buf` to `fd`, which is a `sink`, if that can be done now.
/// `Ok(None)`: it would have waited.
///
/// # Errors
/// The write's error, other than that it would wait.
pub fn write_now(fd: BorrowedFd<'_>, sink: Sink, buf: &[u8]) -> io::Result<Option<usize>> {
    let wrote = |r: nix::Result<usize>| match r {
        Ok(n) => Ok(Some(n)),
        Err(Errno::EAGAIN) => Ok(None),
        Err(e) => Err(io::Error::from(e)),
    };
    match sink {
        Sink::Socket => {
            wrote(send(fd.as_raw_fd(), buf, MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL))
        }
        Sink::File => wrote(nix::unistd::write(fd, buf)),
        Sink::Other => {
            let mut fds = [PollFd::new(fd, PollFlags::POLLOUT)];
            match poll(&mut fds, PollTimeout::ZERO) {
                Ok(0) => Ok(None),
                // A pipe that polls writable takes up to PIPE_BUF bytes at
                // once; a longer write may wait for the rest, so it is cut
                // there.
                Ok(_) => wrote(nix::unistd::write(fd, &buf[..buf.len().min(PIPE_BUF)])),
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// A daemon's standard error that drops what it cannot write at once
/// (the foreground logger's target).
#[derive(Debug)]
pub struct NoWaitStderr {
    name: &'static str,
    /// What standard error is, found at the first line (a foreground
    /// daemon's standard error stays what it was given).
    sink: Option<Sink>,
    /// Lines dropped since the last one written.
    dropped: u64,
    /// A line was cut short: the next starts on a new line.
    cut: bool,
}

impl NoWaitStderr {
    /// Standard error, lines prefixed `name: ` (as the logger's).
    pub fn new(name: &'static str) -> NoWaitStderr {
        NoWaitStderr { name, sink: None, dropped: 0, cut: false }
    }

    /// Writes one whole line (the logger hands one record per call), with
    /// what was dropped before it; never waits.
    fn line(&mut self, fd: BorrowedFd<'_>, line: &[u8]) -> io::Result<()> {
        let mut out = Vec::with_capacity(line.len() + 80);
        if std::mem::take(&mut self.cut) {
            out.push(b'\n');
        }
        if self.dropped > 0 {
            out.extend_from_slice(
                format!("{}: {}\n", self.name, dropped_line(self.dropped)).as_bytes(),
            );
        }
        out.extend_from_slice(line);
        let sink = *self.sink.get_or_insert_with(|| Sink::of(fd));
        match write_now(fd, sink, &out)? {
            Some(n) if n == out.len() => self.dropped = 0,
            Some(n) => {
                // Cut short: the rest is dropped, the line counted.
                self.dropped = u64::from(n == 0);
                self.cut = n > 0;
            }
            None => self.dropped += 1,
        }
        Ok(())
    }
}

impl Write for NoWaitStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let stderr = io::stderr();
        self.line(stderr.as_fd(), buf)?;
        // Written or dropped, it is done with: the logger must not retry.
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::net::UnixStream;
    use std::time::{Duration, Instant};

    #[test]
    fn a_reader_that_stopped_costs_lines_not_time_and_the_count_follows() {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        nix::sys::socket::setsockopt(&ours, nix::sys::socket::sockopt::SndBuf, &1).unwrap();
        let mut w = NoWaitStderr::new("pulse");
        let line = [b'x'; 99].iter().chain(b"\n").copied().collect::<Vec<u8>>();
        let t = Instant::now();
        for _ in 0..2000 {
            w.line(ours.as_fd(), &line).unwrap();
        }
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        assert!(w.dropped > 1000, "{}", w.dropped);
        // The reader reads again: the next line says what was lost.
        theirs.set_nonblocking(true).unwrap();
        let mut sink = vec![0; 1 << 20];
        while theirs.read(&mut sink).is_ok_and(|n| n > 0) {}
        let lost = w.dropped;
        w.line(ours.as_fd(), b"back\n").unwrap();
        let n = theirs.read(&mut sink).unwrap();
        let text = String::from_utf8_lossy(&sink[..n]).into_owned();
        assert!(
            text.ends_with(&format!(
                "pulse: {lost} log lines dropped: the log was not taking them\nback\n"
            )),
            "{text}"
        );
        assert_eq!(w.dropped, 0);
    }

    #[test]
    fn a_full_pipe_drops_and_a_file_takes_everything() {
        let (r, wr) = nix::unistd::pipe().unwrap();
        let mut w = NoWaitStderr::new("lvsd");
        let t = Instant::now();
        for _ in 0..5000 {
            w.line(wr.as_fd(), &[b'y'; 100]).unwrap();
        }
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        assert!(w.dropped > 0);
        drop(r);
        let f = tempfile_in_tmp();
        let mut w = NoWaitStderr::new("lvsd");
        for _ in 0..100 {
            w.line(f.as_fd(), b"z\n").unwrap();
        }
        assert_eq!(w.dropped, 0);
    }

    #[test]
    fn what_a_descriptor_is() {
        let (a, _b) = UnixStream::pair().unwrap();
        let (r, _w) = nix::unistd::pipe().unwrap();
        let f = tempfile_in_tmp();
        assert_eq!(
            (Sink::of(a.as_fd()), Sink::of(r.as_fd()), Sink::of(f.as_fd())),
            (Sink::Socket, Sink::Other, Sink::File)
        );
    }

    fn tempfile_in_tmp() -> std::fs::File {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("nowait-{}-{n}", std::process::id()));
        let f = std::fs::File::create(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        f
    }
}
