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

/// Sends `line`: `Ok(false)` when syslogd's queue is full.
fn send(sock: &UnixDatagram, line: &str) -> std::io::Result<bool> {
    match sock.send(line.as_bytes()) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(false),
        Err(e) => Err(e),
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
            match out.sock.as_ref().map(|s| send(s, &note)) {
                Some(Ok(true)) => out.dropped = 0,
                Some(Ok(false)) => {
                    out.dropped += 1;
                    return;
                }
                _ => {}
            }
        }
        let this = line(r.level(), r.args());
        match out.sock.as_ref().map(|s| send(s, &this)) {
            Some(Ok(true)) => {}
            Some(Ok(false)) => out.dropped += 1,
            // syslogd may have restarted: reconnect once.
            _ => {
                out.sock = connect();
                match out.sock.as_ref().map(|s| send(s, &this)) {
                    Some(Ok(true)) => {}
                    Some(Ok(false)) => out.dropped += 1,
                    _ => {
                        // One write: the writer takes each as a whole line.
                        let mut e = crate::nowait::NoWaitStderr::new(self.ident);
                        let _ = e.write_all(format!("{}: {}\n", self.ident, r.args()).as_bytes());
                    }
                }
            }
        }
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    #[test]
    fn priorities() {
        assert_eq!(super::priority(log::Level::Error), 27);
        assert_eq!(super::priority(log::Level::Info), 30);
    }
}
