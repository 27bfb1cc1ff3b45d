//! A minimal `log` backend for the daemons (pulse, lvsd) when they run
//! detached: syslog over `/dev/log` (facility daemon, the daemon's ident,
//! with the pid), falling back to standard error when there is no syslog
//! socket. A line syslogd is not ready for is dropped and counted, never
//! waited for (`nowait.rs`).

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::sync::Mutex;

/// Logs to syslog under one ident (`pulse`, `lvsd`).
#[derive(Debug)]
pub struct Syslog {
    ident: &'static str,
    out: Mutex<Out>,
    level: log::LevelFilter,
}

/// The socket, and the lines dropped since the last one sent.
#[derive(Debug)]
struct Out {
    sock: Option<UnixDatagram>,
    dropped: u64,
}

fn connect() -> Option<UnixDatagram> {
    let s = UnixDatagram::unbound().ok()?;
    s.connect("/dev/log").ok()?;
    // A full queue (syslogd not reading) drops the line instead.
    s.set_nonblocking(true).ok()?;
    Some(s)
}

/// What became of a line sent to syslogd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Yes,
    /// syslogd's queue is full: the line is dropped and counted.
    Full,
    /// No socket, or it failed (syslogd may have restarted).
    Gone,
}

fn send(sock: Option<&UnixDatagram>, line: &str) -> Sent {
    match sock.map(|s| s.send(line.as_bytes())) {
        Some(Ok(_)) => Sent::Yes,
        Some(Err(e)) if e.kind() == std::io::ErrorKind::WouldBlock => Sent::Full,
        _ => Sent::Gone,
    }
}

/// The syslog priority (facility daemon = 3) of a log level.
pub fn priority(level: log::Level) -> u8 {
    let severity = match level {
        log::Level::Error => 3,
        log::Level::Warn => 4,
        log::Level::Info => 6,
        log::Level::Debug | log::Level::Trace => 7,
    };
    (3 << 3) | severity
}

impl Syslog {
    /// The logger, connected to `/dev/log` if it is there.
    pub fn new(ident: &'static str, level: log::LevelFilter) -> Syslog {
        Syslog { ident, out: Mutex::new(Out { sock: connect(), dropped: 0 }), level }
    }
}

impl log::Log for Syslog {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= self.level
    }

    fn log(&self, r: &log::Record<'_>) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let line = |level: log::Level, text: &dyn std::fmt::Display| {
            format!("<{}>{}[{}]: {text}", priority(level), self.ident, std::process::id())
        };
        let Ok(mut out) = self.out.lock() else { return };
        if out.dropped > 0 {
            let note = line(log::Level::Warn, &crate::nowait::dropped_line(out.dropped));
            match send(out.sock.as_ref(), &note) {
                Sent::Yes => out.dropped = 0,
                Sent::Full => {
                    out.dropped += 1;
                    return;
                }
                Sent::Gone => {}
            }
        }
        let this = line(r.level(), r.args());
        let mut sent = send(out.sock.as_ref(), &this);
        if sent == Sent::Gone {
            // syslogd may have restarted: reconnect once.
            out.sock = connect();
            sent = send(out.sock.as_ref(), &this);
        }
        match sent {
            Sent::Yes => {}
            Sent::Full => out.dropped += 1,
            Sent::Gone => {
                // One write: the writer takes each as a whole line.
                let mut e = crate::nowait::NoWaitStderr::new(self.ident);
                let _ = e.write_all(format!("{}: {}\n", self.ident, r.args()).as_bytes());
            }
        }
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use super::{send, Sent};
    use std::os::unix::net::UnixDatagram;

    #[test]
    fn a_full_queue_drops_and_a_gone_reader_reconnects() {
        let (ours, theirs) = UnixDatagram::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        assert_eq!(send(Some(&ours), "<30>t[1]: one"), Sent::Yes);
        // Nobody reads: the queue fills, and a line is dropped, not waited for.
        let full =
            (0..100_000).map(|_| send(Some(&ours), "<30>t[1]: more")).find(|s| *s != Sent::Yes);
        assert_eq!(full, Some(Sent::Full));
        drop(theirs);
        assert_eq!(send(Some(&ours), "<30>t[1]: gone"), Sent::Gone);
        assert_eq!(send(None, "<30>t[1]: none"), Sent::Gone);
    }

    #[test]
    fn priorities() {
        assert_eq!(super::priority(log::Level::Error), 27);
        assert_eq!(super::priority(log::Level::Info), 30);
    }
}
