//! Reading a running pulse from a test: its `status json` over the control
//! socket, a number out of it, and the stall detector's verdict, so that
//! every in-guest suite that runs pulse can assert that no loop turn took
//! over 50 ms (issue 15).

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

/// The stall detector of the pulse on `socket`: `Ok(worst turn in µs)`
/// when no turn took over 50 ms, else the status as the error. A pulse
/// that does not answer is `Ok(0)` (it was killed by the test). Either
/// way the figures are printed on the console as a [`LOOP_LINE`] line,
/// named `who`, for `cargo xtask vm-test`'s run-wide worst turn.
///
/// # Errors
/// The status text when the loop stalled.
pub fn stalls(socket: &Path, who: &str) -> Result<u64, String> {
    let Some(s) = status_json(socket, Duration::from_secs(5)) else { return Ok(0) };
    let worst = json_u64(&s, "loop_worst_turn_us").unwrap_or(0);
    let n = json_u64(&s, "loop_stalls");
    print_loop(who, worst, n.unwrap_or(0));
    match n {
        Some(0) => Ok(worst),
        _ => Err(s),
    }
}

/// What a console line with a pulse's stall figures starts with:
/// `pulse-loop: WHO: worst turn US us, N turns over 50 ms`.
pub const LOOP_LINE: &str = "pulse-loop: ";

/// Prints a [`LOOP_LINE`] line on the console (past libtest's capture).
pub fn print_loop(who: &str, worst_us: u64, stalls: u64) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{LOOP_LINE}{who}: worst turn {worst_us} us, {stalls} turns over 50 ms");
    let _ = out.flush();
}

/// The worst turn and the count of a [`LOOP_LINE`] line.
pub fn parse_loop(line: &str) -> Option<(u64, u64)> {
    let rest = &line[line.find(LOOP_LINE)? + LOOP_LINE.len()..];
    let at = rest.find(": worst turn ")? + ": worst turn ".len();
    let mut words = rest[at..].split_whitespace();
    let worst = words.next()?.parse().ok()?;
    let stalls = words.nth(1)?.trim_end_matches(',').parse().ok()?;
    Some((worst, stalls))
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
        assert_eq!(
            parse_loop("pulse-loop: e2e nat router 1: worst turn 12345 us, 2 turns over 50 ms"),
            Some((12345, 2))
        );
    }
}
