//! A minimal `log` backend for the daemons (pulse, lvsd) when they run
//! detached: syslog over `/dev/log` (facility daemon, the daemon's ident,
//! with the pid), falling back to standard error when there is no syslog
//! socket.

use std::os::unix::net::UnixDatagram;
use std::sync::Mutex;

/// Logs to syslog under one ident (`pulse`, `lvsd`).
#[derive(Debug)]
pub struct Syslog {
    ident: &'static str,
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
    pub fn install(
        ident: &'static str,
        level: log::LevelFilter,
    ) -> Result<(), log::SetLoggerError> {
        let logger = Syslog { ident, sock: Mutex::new(connect()), level };
        log::set_boxed_logger(Box::new(logger))?;
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
        let line = format!(
            "<{}>{}[{}]: {}",
            priority(r.level()),
            self.ident,
            std::process::id(),
            r.args()
        );
        let Ok(mut guard) = self.sock.lock() else { return };
        if guard.as_ref().is_none_or(|s| s.send(line.as_bytes()).is_err()) {
            // syslogd may have restarted: reconnect once.
            *guard = connect();
            if guard.as_ref().is_none_or(|s| s.send(line.as_bytes()).is_err()) {
                eprintln!("{}: {}", self.ident, r.args());
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
