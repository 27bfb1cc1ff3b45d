//! Reading a running pulse from a test: its `status json` over the control
//! socket, a number out of it, and the stall detector's verdict, so that
//! every in-guest suite that runs pulse can assert that no loop turn took
//! over 50 ms (issue 15); its HTTP listener (`/metrics`, `/status.json`) and
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
    }
}
