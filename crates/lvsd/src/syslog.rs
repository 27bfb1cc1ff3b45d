//! A small `log` backend for daemon runs: syslog over `/dev/log`
//! (facility daemon, ident `lvsd`, with the pid), falling back to standard
//! error when there is no syslog socket.

use std::os::unix::net::UnixDatagram;
use std::sync::Mutex;

/// Logs to syslog.
#[derive(Debug)]
pub struct Syslog {
    sock: Mutex<Option<UnixDatagram>>,
    level: log::LevelFilter,
}

fn connect() -> Option<UnixDatagram> {
    let s = UnixDatagram::unbound().ok()?;
    s.connect("/dev/log").ok()?;
    Some(s)
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
    /// Installs the logger.
    ///
    /// # Errors
    /// When a logger is already installed.
    pub fn install(level: log::LevelFilter) -> Result<(), log::SetLoggerError> {
        log::set_boxed_logger(Box::new(Syslog { sock: Mutex::new(connect()), level }))?;
        log::set_max_level(level);
        Ok(())
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
        let line = format!("<{}>lvsd[{}]: {}", priority(r.level()), std::process::id(), r.args());
        let Ok(mut guard) = self.sock.lock() else { return };
        if guard.as_ref().is_none_or(|s| s.send(line.as_bytes()).is_err()) {
            // syslogd may have restarted: reconnect once.
            *guard = connect();
            if let Some(s) = guard.as_ref() {
                let _ = s.send(line.as_bytes());
            }
        }
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    #[test]
    fn priorities_are_daemon_facility() {
        assert_eq!(super::priority(log::Level::Info), 30);
        assert_eq!(super::priority(log::Level::Error), 27);
    }
}
