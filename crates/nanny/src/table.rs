//! Where a nanny's decisions go: the narrow seam between the decision loop
//! and the world. Under lvsd it is [`Report`] (the stdout line protocol);
//! run by hand it applies changes to IPVS itself; with `--norun` it only logs.

use std::io::{self, Write};
use std::time::Duration;

use crate::protocol::{encode, Decision, DownMode, Message, VERSION};

/// Applying a decision failed.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// Writing to lvsd failed (it went away: EPIPE).
    #[error("cannot report to lvsd: {0}")]
    Report(io::Error),
    /// The IPVS table refused the change (the kernel errno is kept).
    #[error("IPVS {op}: {err}")]
    Ipvs {
        /// The operation.
        op: &'static str,
        /// The `ipvs` crate's error.
        err: ipvs::Error,
    },
    /// Standalone mode needs the virtual address (`-V`) or a fwmark (`-f`).
    #[error("standalone mode needs the virtual address (-V) or a fwmark (-f)")]
    NoVip,
}

/// The operations a nanny performs on its real server.
pub trait Table {
    /// Apply a decision about the server.
    fn decide(&mut self, d: Decision, reason: &str) -> Result<(), TableError>;
    /// A check finished after `took`: passed (`ok`) or not, and what it
    /// found. Only lvsd hears of it (for reasons and durations).
    fn checked(&mut self, _ok: bool, _took: Duration, _detail: &str) -> Result<(), TableError> {
        Ok(())
    }
    /// The event loop is alive (called every liveness period).
    fn alive(&mut self) -> Result<(), TableError> {
        Ok(())
    }
    /// The nanny is exiting.
    fn bye(&mut self, _reason: &str) -> Result<(), TableError> {
        Ok(())
    }
}

/// Reports to lvsd on a writer (stdout) with the line protocol.
#[derive(Debug)]
pub struct Report<W: Write> {
    out: W,
    seq: u64,
}

impl<W: Write> Report<W> {
    /// Writes the hello line and returns the reporter.
    pub fn new(mut out: W, server: &str, alive: Duration) -> Result<Report<W>, TableError> {
        let hello = Message::Hello {
            version: VERSION,
            pid: std::process::id(),
            server: server.to_string(),
            alive,
        };
        send(&mut out, &hello)?;
        Ok(Report { out, seq: 0 })
    }
}

fn send<W: Write>(out: &mut W, m: &Message) -> Result<(), TableError> {
    out.write_all(encode(m).as_bytes()).and_then(|()| out.flush()).map_err(TableError::Report)
}

impl<W: Write> Table for Report<W> {
    fn decide(&mut self, d: Decision, reason: &str) -> Result<(), TableError> {
        send(&mut self.out, &d.message(reason))
    }
    fn checked(&mut self, ok: bool, took: Duration, detail: &str) -> Result<(), TableError> {
        send(&mut self.out, &Message::Check { ok, took, reason: detail.into() })
    }
    fn alive(&mut self) -> Result<(), TableError> {
        self.seq += 1;
        send(&mut self.out, &Message::Alive { seq: self.seq })
    }
    fn bye(&mut self, reason: &str) -> Result<(), TableError> {
        send(&mut self.out, &Message::Bye { reason: reason.into() })
    }
}

/// `--norun` (piranha `--test-start`): decide and log, change nothing.
#[derive(Debug, Default)]
pub struct LogOnly;

impl Table for LogOnly {
    fn decide(&mut self, d: Decision, reason: &str) -> Result<(), TableError> {
        match d {
            Decision::Up { weight } => {
                log::info!("[ active ] would make server available with weight {weight}: {reason}");
            }
            Decision::Down { mode } => log::info!(
                "[inactive] would {} server: {reason}",
                match mode {
                    DownMode::Remove => "remove",
                    DownMode::Quiesce => "quiesce",
                }
            ),
            Decision::Weight { weight } => log::info!("would set weight {weight}: {reason}"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lines() {
        let mut buf = Vec::new();
        {
            let mut r = Report::new(&mut buf, "10.0.0.2:80", Duration::from_secs(5)).unwrap();
            r.decide(Decision::Up { weight: 2 }, "check ok").unwrap();
            r.alive().unwrap();
            r.decide(Decision::Weight { weight: 4 }, "slow start").unwrap();
            r.decide(Decision::Down { mode: DownMode::Quiesce }, "refused").unwrap();
            r.alive().unwrap();
            r.bye("signal").unwrap();
        }
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            format!("nanny version=1 pid={} server=10.0.0.2:80 alive=5", std::process::id())
        );
        assert_eq!(
            &lines[1..],
            [
                "up weight=2 reason=check ok",
                "alive seq=1",
                "weight weight=4 reason=slow start",
                "down mode=quiesce reason=refused",
                "alive seq=2",
                "bye reason=signal",
            ]
        );
    }
}
