//! The only raw system calls of this crate: `pidfd_open(2)`, which neither
//! std (stable) nor nix wraps. A pidfd turns "child exited" into a readable
//! fd for the mio event loop, without a SIGCHLD handler.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// Turns a `-1` return into the `errno` error, in one place.
fn check(r: libc::c_long) -> io::Result<libc::c_long> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Opens a pidfd for `pid`, which must be our own unreaped child (so the
/// pid cannot be recycled underneath). The fd is close-on-exec.
pub fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
    // SAFETY: pidfd_open takes two integers and passes no memory; it returns
    // a new fd or -1 with errno set.
    let r = check(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0 as libc::c_uint) })?;
    let fd = RawFd::try_from(r).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: `fd` was just returned by the kernel, is open, and nothing
    // else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
