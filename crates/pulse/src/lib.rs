//! pulse: the controlling process on every LVS router. It heartbeats with
//! its peer routers over UDP, decides which router is active, and on
//! failover moves the VIPs, announces them and starts lvsd.
//!
//! The API is what the `pulse` binary and pulse's integration tests use,
//! and nothing else depends on this crate: [`event_loop`] (the daemon:
//! [`event_loop::Daemon`], its options and the control client),
//! [`settings`] (the run options and the default paths), [`event_stream`]
//! (`--control events`), [`control_server`] (the control socket's
//! connections, which `tests/control_server.rs` drives by hand) and
//! [`wire`] (the heartbeat formats, which the tests forge and replay).
//! The rest is private:
//! - pure: `freshness` (the clock-free proof that a heartbeat is recent),
//!   `machine` (the failover state machine, a pure `step`), `ecmp`
//!   (which VIPs an ECMP director announces), `fos` (the
//!   failover services of `service = fos`), `control` (the control
//!   protocol: requests, status text and JSON), `events` (the event
//!   stream's events and the log of the last few hundred), `stall` (the
//!   stall detector: how late and how long each loop turn is, and whether
//!   a long one was a pause of the machine under the loop), `order`, `operate`, `share`, `snapshot` (the view
//!   each loop turn publishes) and `metrics` (that view in the Prometheus
//!   text format);
//! - IO: `canary` (the threads, one per CPU, whose lateness tells a
//!   pause), `lvsd_link` (lvsd's reports, read on threads of their own),
//!   `http_server` (the read-only HTTP listener's thread), `reload`
//!   (settings read on a thread), `setup` (reading the settings), `host`
//!   (the `Host` trait and the real host, the only place processes are
//!   started), `state_file`, `keyfile`, `notify` (systemd's READY=1,
//!   WATCHDOG=1 and STATUS=) and `sys` (real-time scheduling of the loop
//!   thread and the canaries, pinning; the only `unsafe`); logging to syslog, processes, signals
//!   and detaching are the `lvs-daemon` crate's.
#![deny(unsafe_code)]

mod canary;
mod control;
pub mod control_server;
mod ecmp;
pub mod event_loop;
pub mod event_stream;
mod events;
mod fos;
mod freshness;
mod host;
mod http_server;
mod keyfile;
mod lvsd_link;
mod machine;
mod metrics;
// The only module that talks to systemd (a choke point, `clippy.toml`).
#[allow(clippy::disallowed_methods)]
mod notify;
mod operate;
mod order;
mod reload;
mod schedstat;
pub mod settings;
mod setup;
mod share;
mod snapshot;
mod stall;
mod state_file;
#[allow(unsafe_code)]
mod sys;
pub mod wire;
