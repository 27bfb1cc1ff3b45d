//! Typed errors of the crate, keeping the operation and the kernel errno,
//! and ipvsadm 1.31's exact message for each (operation, errno) pair.

use std::io;

use crate::model::Op;
use crate::wire::DecodeError;

/// Everything that can go wrong talking to IPVS.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The kernel refused the operation (`NLMSG_ERROR` with a negative code).
    #[error("{op}: {}", ipvs_strerror(*op, *errno))]
    Kernel {
        /// What was attempted.
        op: Op,
        /// The positive errno (`libc::EEXIST`, `libc::ESRCH`, ...).
        errno: i32,
    },
    /// The `IPVS` generic netlink family is not registered (module not loaded, no IPVS).
    #[error("generic netlink family IPVS not found (is the ip_vs module loaded?)")]
    FamilyNotFound,
    /// A socket call failed.
    #[error("{op}: netlink socket: {source}")]
    Io {
        /// What was attempted.
        op: Op,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The kernel's reply could not be decoded.
    #[error("{op}: undecodable reply: {source}")]
    Decode {
        /// What was attempted.
        op: Op,
        /// Why.
        #[source]
        source: DecodeError,
    },
    /// The reply was well formed but not what the protocol promises
    /// (missing ACK, a datagram larger than our buffer, ...).
    #[error("{op}: unexpected reply: {detail}")]
    Protocol {
        /// What was attempted.
        op: Op,
        /// What was wrong.
        detail: String,
    },
}

impl Error {
    /// The kernel errno, if the kernel refused the operation.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Kernel { errno, .. } => Some(*errno),
            Error::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    /// The message ipvsadm 1.31 prints for this error.
    ///
    /// Kernel errors use `ipvs_strerror`; a missing family is what
    /// `ipvs_init` failing reports (EINVAL's text is not used there:
    /// ipvsadm prints `Can't initialize ipvs: ...` around `strerror`).
    pub fn ipvsadm_message(&self) -> String {
        match self {
            Error::Kernel { op, errno } => ipvs_strerror(*op, *errno),
            Error::Io { op, source } => match source.raw_os_error() {
                Some(e) => ipvs_strerror(*op, e),
                None => source.to_string(),
            },
            // libipvs maps any other libnl failure to EINVAL.
            Error::Decode { op, .. } | Error::Protocol { op, .. } => {
                ipvs_strerror(*op, libc::EINVAL)
            }
            Error::FamilyNotFound => strerror(libc::ENOENT),
        }
    }
}

/// `strerror(errno)` as the C library words it (glibc on Linux), without
/// Rust's " (os error N)" suffix.
pub fn strerror(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    let suffix = format!(" (os error {errno})");
    match text.strip_suffix(&suffix) {
        Some(t) => t.to_string(),
        None => text,
    }
}

/// ipvsadm 1.31's `ipvs_strerror`: the message for `errno` after `op`,
/// falling back to `strerror(errno)`.
pub fn ipvs_strerror(op: Op, errno: i32) -> String {
    let specific = match (op, errno) {
        (Op::AddService, libc::EEXIST) => Some("Service already exists"),
        (Op::AddService, libc::ENOENT) => Some("Scheduler or persistence engine not found"),
        (Op::EditService, libc::ESRCH) => Some("No such service"),
        (Op::EditService, libc::ENOENT) => Some("Scheduler or persistence engine not found"),
        (Op::DelService, libc::ESRCH) => Some("No such service"),
        (Op::Zero, libc::ESRCH) => Some("No such service"),
        (Op::AddDest, libc::ESRCH) => Some("Service not defined"),
        (Op::AddDest, libc::EEXIST) => Some("Destination already exists"),
        (Op::EditDest, libc::ESRCH) => Some("Service not defined"),
        (Op::EditDest, libc::ENOENT) => Some("No such destination"),
        (Op::DelDest, libc::ESRCH) => Some("Service not defined"),
        (Op::DelDest, libc::ENOENT) => Some("No such destination"),
        (Op::StartDaemon, libc::EEXIST) => Some("Daemon has already run"),
        (Op::StopDaemon, libc::ESRCH) => Some("No daemon is running"),
        (Op::GetServices | Op::GetDests | Op::GetService, libc::ESRCH) => Some("No such service"),
        (_, libc::EPERM) => Some("Permission denied (you must be root)"),
        (_, libc::EINVAL) => {
            Some("Invalid operation.  Possibly wrong module version, address not unicast, ...")
        }
        (_, libc::ENOPROTOOPT) => Some("Protocol not available"),
        (_, libc::ENOMEM) => Some("Memory allocation problem"),
        (_, libc::EOPNOTSUPP) => Some("Operation not supported with IPv6"),
        (_, libc::EAFNOSUPPORT) => Some("Operation not supported with specified address family"),
        (_, libc::EMSGSIZE) => Some("Module is wrong version"),
        _ => None,
    };
    match specific {
        Some(s) => s.to_string(),
        None => strerror(errno),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_of_ipvsadm_messages() {
        let cases = [
            (Op::AddService, libc::EEXIST, "Service already exists"),
            (Op::AddService, libc::ENOENT, "Scheduler or persistence engine not found"),
            (Op::EditService, libc::ESRCH, "No such service"),
            (Op::EditService, libc::ENOENT, "Scheduler or persistence engine not found"),
            (Op::DelService, libc::ESRCH, "No such service"),
            (Op::Zero, libc::ESRCH, "No such service"),
            (Op::AddDest, libc::ESRCH, "Service not defined"),
            (Op::AddDest, libc::EEXIST, "Destination already exists"),
            (Op::EditDest, libc::ESRCH, "Service not defined"),
            (Op::EditDest, libc::ENOENT, "No such destination"),
            (Op::DelDest, libc::ESRCH, "Service not defined"),
            (Op::DelDest, libc::ENOENT, "No such destination"),
            (Op::StartDaemon, libc::EEXIST, "Daemon has already run"),
            (Op::StopDaemon, libc::ESRCH, "No daemon is running"),
            (Op::GetServices, libc::ESRCH, "No such service"),
            (Op::GetDests, libc::ESRCH, "No such service"),
            (Op::GetService, libc::ESRCH, "No such service"),
            (Op::Flush, libc::EPERM, "Permission denied (you must be root)"),
            (
                Op::AddDest,
                libc::EINVAL,
                "Invalid operation.  Possibly wrong module version, address not unicast, ...",
            ),
            (Op::Flush, libc::ENOPROTOOPT, "Protocol not available"),
            (Op::AddService, libc::ENOMEM, "Memory allocation problem"),
            (Op::AddService, libc::EOPNOTSUPP, "Operation not supported with IPv6"),
            (
                Op::AddService,
                libc::EAFNOSUPPORT,
                "Operation not supported with specified address family",
            ),
            (Op::GetInfo, libc::EMSGSIZE, "Module is wrong version"),
            // Pairs the table does not list fall through to strerror.
            (Op::AddDest, libc::ERANGE, "Numerical result out of range"),
            (Op::StartDaemon, libc::ENODEV, "No such device"),
            (Op::DelService, libc::EEXIST, "File exists"),
            (Op::StopDaemon, libc::EEXIST, "File exists"),
            (Op::AddService, libc::ESRCH, "No such process"),
        ];
        for (op, errno, want) in cases {
            assert_eq!(ipvs_strerror(op, errno), want, "{op:?} errno {errno}");
        }
    }

    #[test]
    fn kernel_error_keeps_op_and_errno() {
        let e = Error::Kernel { op: Op::AddService, errno: libc::EEXIST };
        assert_eq!(e.errno(), Some(libc::EEXIST));
        assert_eq!(e.ipvsadm_message(), "Service already exists");
        assert_eq!(e.to_string(), "add service: Service already exists");
    }
}
