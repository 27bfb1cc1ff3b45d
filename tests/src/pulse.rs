//! Reading a running pulse from a test: its `status json` over the control
//! socket, a number out of it, and the stall detector's verdict, so that
//! every in-guest suite that runs pulse can assert that no loop turn took
//! over 50 ms through pulse's own fault (issue 15; pauses of the whole
//! guest are counted and printed); its HTTP listener (`/metrics`, `/status.json`) and
//! a sample out of the Prometheus text (issue 19).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// pulse's `status json` on `socket`, if it answers within `timeout`.
pub fn status_json(socket: &Path, timeout: Duration) -> Option<String> {
    let mut s = UnixStream::connect(socket).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    s.write_all(b"status json\n").ok()?;
    s.shutdown(std::net::Shutdown::Write).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.starts_with("{\"router\":").then_some(out)
}

/// The number after `"key":` in a JSON text (the first one).
pub fn json_u64(json: &str, key: &str) -> Option<u64> {
    let at = json.find(&format!("\"{key}\":"))? + key.len() + 3;
    let digits: String = json[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Whether the status says this router is active (the first `role` in it
/// is the router's own; the peers' come later).
pub fn is_active(status: &str) -> bool {
    status.split("\"role\":").nth(1).is_some_and(|r| r.starts_with("\"active\""))
}

/// A pulse's stall detector figures, from its `status json`, or added up
/// over several pulses (the worst of each worst, the sum of each count).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoopFigures {
    /// The longest turn, less any pause of the machine under it, µs.
    pub worst_us: u64,
    /// Turns over 50 ms through pulse's own fault.
    pub stalls: u64,
    /// Turns over 50 ms because the machine under pulse's loop was not
    /// running (the canary of the loop's CPU, or every canary, was late
    /// too).
    pub pauses: u64,
    /// The longest such pause, µs.
    pub worst_pause_us: u64,
    /// Turns over 50 ms because the loop, runnable, waited for a CPU that
    /// threads of equal or higher priority held (the kernel's account).
    pub waits: u64,
    /// The longest such wait, µs.
    pub worst_wait_us: u64,
}

impl LoopFigures {
    /// The figures in a `status json` text (`None` without `loop_stalls`).
    pub fn from_status(json: &str) -> Option<LoopFigures> {
        Some(LoopFigures {
            worst_us: json_u64(json, "loop_worst_turn_us").unwrap_or(0),
            stalls: json_u64(json, "loop_stalls")?,
            pauses: json_u64(json, "loop_pauses").unwrap_or(0),
            worst_pause_us: json_u64(json, "loop_worst_pause_us").unwrap_or(0),
            waits: json_u64(json, "loop_waits").unwrap_or(0),
            worst_wait_us: json_u64(json, "loop_worst_wait_us").unwrap_or(0),
        })
    }

    /// Adds another pulse's figures.
    pub fn add(&mut self, other: &LoopFigures) {
        self.worst_us = self.worst_us.max(other.worst_us);
        self.stalls += other.stalls;
        self.pauses += other.pauses;
        self.worst_pause_us = self.worst_pause_us.max(other.worst_pause_us);
        self.waits += other.waits;
        self.worst_wait_us = self.worst_wait_us.max(other.worst_wait_us);
    }
}

/// The stall detector of the pulse on `socket`: `Ok(figures)` when no
/// turn took over 50 ms through pulse's own fault (pauses of the whole
/// machine are counted, not failed), else the status as the error. A
/// pulse that does not answer is `Ok` with no figures (it was killed by
/// the test). Either way the figures are printed on the console as a
/// [`LOOP_LINE`] line, named `who`, for `cargo xtask vm-test`'s run-wide
/// worst turn.
///
/// # Errors
/// The status text when the loop stalled.
pub fn stalls(socket: &Path, who: &str) -> Result<LoopFigures, String> {
    let Some(s) = status_json(socket, Duration::from_secs(5)) else {
        return Ok(LoopFigures::default());
    };
    let figures = LoopFigures::from_status(&s);
    let shown = figures.unwrap_or_default();
    print_loop(who, &shown);
    match figures {
        Some(f) if f.stalls == 0 => Ok(f),
        _ => Err(s),
    }
}

/// The body of `GET path` from pulse's HTTP listener at `to` (in the
/// caller's network namespace), if it answers 200 within `timeout`.
pub fn http_get(to: std::net::SocketAddr, path: &str, timeout: Duration) -> Option<String> {
    let mut s = std::net::TcpStream::connect_timeout(&to, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: router\r\n\r\n").as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let (head, body) = out.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200 ").then(|| body.to_owned())
}

/// The value of the sample `name{labels}` (`labels` exactly as rendered,
/// empty for none) in a Prometheus text.
pub fn metric(text: &str, name: &str, labels: &str) -> Option<f64> {
    let key = if labels.is_empty() { format!("{name} ") } else { format!("{name}{{{labels}}} ") };
    let line = text.lines().find(|l| l.starts_with(&key))?;
    line[key.len()..].trim().parse().ok()
}

/// Hands `text` to the host as the file `name` of the run's artifacts: one
/// console line per line of text, behind the `@@lvs-vm: file` marker that
/// `cargo xtask vm-test` collects (it checks `*.prom` files with
/// `promtool check metrics`).
pub fn artifact(name: &str, text: &str) {
    let mut out = std::io::stdout().lock();
    for line in text.lines() {
        let _ = writeln!(out, "@@lvs-vm: file {name} {line}");
    }
    let _ = out.flush();
}

/// What a console line with a pulse's stall figures starts with:
/// `pulse-loop: WHO: worst turn US us, N turns over 50 ms, P pauses (worst W us), Q waits (worst X us)`.
pub const LOOP_LINE: &str = "pulse-loop: ";

/// Prints a [`LOOP_LINE`] line on the console (past libtest's capture).
pub fn print_loop(who: &str, f: &LoopFigures) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{LOOP_LINE}{who}: worst turn {} us, {} turns over 50 ms, {} pauses (worst {} us), {} waits (worst {} us)",
        f.worst_us, f.stalls, f.pauses, f.worst_pause_us, f.waits, f.worst_wait_us
    );
    let _ = out.flush();
}

/// Prints pulse's `loop stall` and `loop wait` warnings from its log text
/// `log` on the console (past libtest's capture, so that a passing test
/// shows them too), each behind `pulse-stall: WHO: `.
pub fn print_long_turns(who: &str, log: &str) {
    let mut out = std::io::stdout().lock();
    for line in log.lines().filter(|l| l.contains("loop stall") || l.contains("loop wait")) {
        let _ = writeln!(out, "pulse-stall: {who}: {line}");
    }
    let _ = out.flush();
}

/// The figures of a [`LOOP_LINE`] line.
pub fn parse_loop(line: &str) -> Option<LoopFigures> {
    let rest = &line[line.find(LOOP_LINE)? + LOOP_LINE.len()..];
    let at = rest.find(": worst turn ")? + ": worst turn ".len();
    let num = |w: Option<&str>| -> Option<u64> {
        w?.trim_matches(|c: char| !c.is_ascii_digit()).parse().ok()
    };
    // US us, N turns over 50 ms, P pauses (worst W us), Q waits (worst X us)
    let words: Vec<&str> = rest[at..].split_whitespace().collect();
    Some(LoopFigures {
        worst_us: num(words.first().copied())?,
        stalls: num(words.get(2).copied())?,
        pauses: num(words.get(7).copied()).unwrap_or(0),
        worst_pause_us: num(words.get(10).copied()).unwrap_or(0),
        waits: num(words.get(12).copied()).unwrap_or(0),
        worst_wait_us: num(words.get(15).copied()).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        let s = "{\"router\":\"a\",\"role\":\"active\",\"peers\":[{\"role\":\"standby\"}],\"loop_stalls\":0,\"loop_worst_turn_us\":1234}";
        assert!(is_active(s));
        assert!(!is_active(&s.replace("\"active\"", "\"standby\"")));
        assert_eq!(json_u64(s, "loop_stalls"), Some(0));
        assert_eq!(json_u64(s, "loop_worst_turn_us"), Some(1234));
        assert_eq!(json_u64(s, "nope"), None);
        let m = "# TYPE a gauge\na 1\nb{x=\"1\"} 2.5\n";
        assert_eq!(metric(m, "a", ""), Some(1.0));
        assert_eq!(metric(m, "b", "x=\"1\""), Some(2.5));
        assert_eq!(metric(m, "b", ""), None);
        let f = LoopFigures {
            worst_us: 12345,
            stalls: 2,
            pauses: 3,
            worst_pause_us: 201_000,
            waits: 1,
            worst_wait_us: 74_600,
        };
        assert_eq!(
            parse_loop(
                "pulse-loop: e2e nat router 1: worst turn 12345 us, 2 turns over 50 ms, 3 pauses (worst 201000 us), 1 waits (worst 74600 us)"
            ),
            Some(f)
        );
        let s = "{\"loop_turns\":7,\"loop_stalls\":2,\"loop_worst_turn_us\":12345,\"loop_pauses\":3,\"loop_worst_pause_us\":201000,\"loop_waits\":1,\"loop_worst_wait_us\":74600,\"lvsd\":null}";
        assert_eq!(LoopFigures::from_status(s), Some(f));
        let mut sum = LoopFigures {
            worst_us: 20_000,
            pauses: 1,
            worst_pause_us: 90_000,
            waits: 2,
            worst_wait_us: 60_000,
            ..LoopFigures::default()
        };
        sum.add(&f);
        assert_eq!(
            sum,
            LoopFigures {
                worst_us: 20_000,
                stalls: 2,
                pauses: 4,
                worst_pause_us: 201_000,
                waits: 3,
                worst_wait_us: 74_600
            }
        );
    }
}
