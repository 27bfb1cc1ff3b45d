//! Being a daemon, written once for every program of the workspace (pulse,
//! lvsd, nanny, lvs-node):
//!
//! - [`Spawn`] and [`Child`]: children started with one policy (no shell,
//!   own process group, parent-death signal, a pidfd where the kernel has
//!   one);
//! - [`Stopping`]: a child stopped without blocking (SIGTERM to its group,
//!   SIGKILL after a grace period, reaped), driven from the caller's loop;
//!   [`wait_all`] at exit;
//! - [`Signals`]: signals as a mio source, one style for every loop;
//! - [`detach`] and [`PidFile`]: leaving the terminal, saying which
//!   process the daemon is;
//! - [`init_logging`] and [`Syslog`]: syslog when detached, standard error
//!   in the foreground; a line the reader is not ready for is dropped and
//!   counted, never waited for.
//!
//! Its only `unsafe` is in `sys.rs` (the parent-death hook, `pidfd_open`).
#![deny(unsafe_code)]

mod detach;
mod logging;
mod nowait;
mod queued;
mod signals;
mod spawn;
mod stop;
#[allow(unsafe_code)]
mod sys;
mod syslog;

pub use detach::{detach, Detach, PidFile, PidFileError};
pub use logging::{init_logging, init_queued_logging};
pub use queued::start_log_writer;
pub use signals::{defer, Signals, SIGCHLD, SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2};
pub use spawn::{Child, Spawn};
pub use stop::{wait_all, Stopping, POLL_EVERY};
pub use syslog::{priority, Syslog};
