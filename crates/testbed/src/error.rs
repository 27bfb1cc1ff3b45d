//! The one error type of the crate: which command or operation failed, with
//! the OS error (and so the kernel errno) kept as the source.

use std::io;

/// What went wrong while building or using a topology.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A command ran and exited unsuccessfully.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// How it exited.
        status: String,
        /// What it printed on standard error.
        stderr: String,
    },
    /// A command could not be started.
    #[error("cannot run `{command}`")]
    Spawn {
        /// The command line.
        command: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A file or socket operation failed.
    #[error("{what}")]
    Io {
        /// What was being done, naming the object.
        what: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A thread could not move into a namespace.
    #[error("cannot enter network namespace {ns}")]
    Setns {
        /// The namespace.
        ns: String,
        /// The kernel's answer.
        #[source]
        source: nix::Error,
    },
    /// A reply did not come or did not look right.
    #[error("{0}")]
    Protocol(String),
}

impl Error {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }
}
