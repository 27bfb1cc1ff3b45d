//! pulse: the controlling process on every LVS router. It heartbeats with
//! its peer routers over UDP, decides which router is active, and on
//! failover moves the VIPs, announces them and starts lvsd.
//!
//! - [`wire`]: heartbeat wire formats (native, authenticated; piranha's
//!   magics), pure.
//! - [`freshness`]: clock-free proof that a heartbeat is recent (echoes of
//!   our own sequence numbers), pure.
//! - [`machine`]: the failover state machine, a pure `step`.
//! - [`settings`]: pulse's settings file, parsed and validated purely.
//! - [`control`]: the control protocol (requests, status text and JSON).
//! - IO: [`event_loop`] (the mio loop and control socket), [`host`] (the
//!   [`host::Host`] trait and the real host), [`keyfile`], [`notify`]
//!   (systemd's READY=1, WATCHDOG=1 and STATUS=); logging to syslog is the
//!   `lvs-syslog` crate.
#![forbid(unsafe_code)]

pub mod control;
pub mod event_loop;
pub mod freshness;
pub mod host;
pub mod keyfile;
pub mod machine;
pub mod notify;
pub mod settings;
pub mod wire;
