//! The only `unsafe` of the workspace's daemons: what neither std (stable)
//! nor nix wraps for them. A `pre_exec` hook giving a child a parent-death
//! signal (piranha did the same with `prctl(PR_SET_PDEATHSIG, SIGTERM)`) and
//! `pidfd_open(2)` (a child's exit as a readable fd for a mio loop, without
//! a SIGCHLD handler).

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::sys::signal::Signal;
use nix::unistd::{getpid, getppid};

/// Makes the child get `signal` when the thread that starts it ends (the
/// kernel ties the parent-death signal to the forking thread, so spawn from
/// a thread that lives as long as its children should), and refuse to run
/// if its parent process died between `fork` and the hook.
pub fn die_with_parent(cmd: &mut Command, signal: Signal) {
    let parent = getpid();
    // SAFETY: the closure runs in the child between fork and exec, where
    // only async-signal-safe calls are allowed: it calls prctl(2) and
    // getppid(2) through nix (plain system calls, no allocation, no locks)
    // and builds an io::Error from an errno (no allocation for raw errors).
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(signal)
                .map_err(|e| io::Error::from_raw_os_error(e as i32))?;
            if getppid() != parent {
                // The parent is already gone: the signal will never come.
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// Opens a pidfd for `pid`, which must be our own unreaped child (so the
/// pid cannot be recycled underneath). The fd is close-on-exec. `ENOSYS`
/// on kernels before 5.3.
pub fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
    // SAFETY: pidfd_open takes two integers and passes no memory; it returns
    // a new fd or -1 with errno set.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0 as libc::c_uint) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = RawFd::try_from(r).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: `fd` was just returned by the kernel, is open, and nothing
    // else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
