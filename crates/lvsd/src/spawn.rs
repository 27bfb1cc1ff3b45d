//! The only place lvsd starts processes: nannies, each with its stdout on
//! a pipe lvsd reads and stderr shared with lvsd (their logs), started
//! with the workspace's one policy (`lvs_daemon::Spawn`: no shell, stdin on
//! /dev/null, cwd `/`, a process group of its own, a parent-death signal).

use std::process::Stdio;

use lvs_daemon::{Child, Spawn};

use crate::spec::NannyKey;

/// Starts a nanny with its key's command line plus `extra` arguments.
///
/// # Errors
/// The program cannot be started (missing, not executable...).
pub fn nanny(key: &NannyKey, extra: &[&str]) -> std::io::Result<Child> {
    Spawn::new(&key.program)
        .args(&key.args)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        // Reaped on SIGCHLD: a pidfd would double the descriptors per nanny.
        .reaped_on_sigchld()
        .spawn()
}
