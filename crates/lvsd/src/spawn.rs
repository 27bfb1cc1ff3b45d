//! The only place lvsd starts processes: nannies, each with its stdout on
//! a pipe lvsd reads, stdin on /dev/null, stderr shared with lvsd (their
//! logs), no shell, a clean working directory, and a parent-death signal.

use std::process::{Child, Command, Stdio};

use crate::spec::NannyKey;
use crate::sys;

/// Starts a nanny with its key's command line plus `extra` arguments.
///
/// # Errors
/// The program cannot be started (missing, not executable...).
pub fn nanny(key: &NannyKey, extra: &[&str]) -> std::io::Result<Child> {
    let mut cmd = Command::new(&key.program);
    cmd.args(&key.args)
        .args(extra)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    sys::die_with_parent(&mut cmd);
    cmd.spawn()
}
