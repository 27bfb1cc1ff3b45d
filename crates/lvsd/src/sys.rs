//! The only `unsafe` of lvsd: a `pre_exec` hook that gives each nanny a
//! parent-death signal, so nannies never outlive lvsd (piranha did the
//! same with `prctl(PR_SET_PDEATHSIG, SIGTERM)`).

use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::sys::signal::Signal;
use nix::unistd::{getppid, Pid};

/// Makes the child get SIGTERM when lvsd dies, and exit at once if lvsd
/// died between `fork` and the hook.
pub fn die_with_parent(cmd: &mut Command) {
    let parent: Pid = nix::unistd::getpid();
    // SAFETY: the closure runs in the child between fork and exec, where
    // only async-signal-safe calls are allowed: it calls prctl(2) and
    // getppid(2) through nix (plain system calls, no allocation, no locks)
    // and builds an io::Error from an errno (no allocation for raw errors).
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGTERM)
                .map_err(|e| std::io::Error::from_raw_os_error(e as i32))?;
            if getppid() != parent {
                // lvsd is already gone: the signal will never come.
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}
