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
/// that does not answer is `Ok(0)` (it was killed by the test).
///
/// # Errors
/// The status text when the loop stalled.
pub fn stalls(socket: &Path) -> Result<u64, String> {
    let Some(s) = status_json(socket, Duration::from_secs(5)) else { return Ok(0) };
    match json_u64(&s, "loop_stalls") {
        Some(0) => Ok(json_u64(&s, "loop_worst_turn_us").unwrap_or(0)),
        _ => Err(s),
    }
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
    }
}
