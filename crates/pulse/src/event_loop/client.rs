//! The control client (`pulse --control`): one request to a running
//! pulse over its control socket, and its reply.

use std::io::{self, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// Sends one request to a running pulse and returns its reply.
///
/// # Errors
/// The socket error.
pub fn request(socket: &Path, line: &str) -> io::Result<String> {
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    // A refused client is answered and closed before it has written, so a
    // failed write is not the end: the reply says why.
    let sent = s.write_all(format!("{line}\n").as_bytes());
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = String::new();
    io::Read::read_to_string(&mut s, &mut out)?;
    if out.is_empty() {
        sent?;
    }
    Ok(out)
}
