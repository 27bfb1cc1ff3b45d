//! pulse: the controlling process on every LVS router. It heartbeats with
//! its peer routers over UDP, decides which router is active, and on
//! failover moves the VIPs, announces them and starts lvsd.
//!
//! - [`wire`]: heartbeat wire formats (native, authenticated; piranha's
//!   magics), pure.
//! - [`freshness`]: clock-free proof that a heartbeat is recent (echoes of
//!   our own sequence numbers), pure.
//! - [`machine`]: the failover state machine, a pure `step`.
//! - [`ecmp`]: which VIPs an ECMP director announces, pure.
//! - [`settings`]: pulse's settings file, parsed and validated purely;
//!   [`fos`]: the failover services (`service = fos`) within them.
//! - [`control`]: the control protocol (requests, status text and JSON).
//! - [`events`]: the event stream's events and the log of the last few
//!   hundred, pure.
//! - [`stall`]: the stall detector (how late and how long each loop turn
//!   is), pure.
//! - [`snapshot`]: the view each loop turn publishes for the HTTP thread;
//!   [`metrics`]: that view in the Prometheus text format, pure.
//! - IO: [`event_loop`] (the mio loop), [`lvsd_link`] (lvsd's reports,
//!   read on threads of their own), [`event_stream`] (`--control events`
//!   on a thread), [`control_server`] (the control
//!   socket's non-blocking connections), [`http_server`] (the read-only
//!   HTTP listener's thread), [`reload`] (settings read on a
//!   thread), [`setup`] (reading the settings), [`host`] (the
//!   [`host::Host`] trait and the real host), [`keyfile`], [`notify`]
//!   (systemd's READY=1, WATCHDOG=1 and STATUS=), `sys` (real-time
//!   scheduling of the loop thread, the only `unsafe`); logging to syslog
//!   is the `lvs-syslog` crate.
#![deny(unsafe_code)]

pub mod control;
pub mod control_server;
pub mod ecmp;
pub mod event_loop;
pub mod event_stream;
pub mod events;
pub mod fos;
pub mod freshness;
pub mod host;
pub mod http_server;
pub mod keyfile;
pub mod lvsd_link;
pub mod machine;
pub mod metrics;
pub mod notify;
pub mod operate;
pub mod order;
pub mod reload;
pub mod settings;
pub mod setup;
pub mod share;
pub mod snapshot;
pub mod stall;
pub mod state_file;
#[allow(unsafe_code)]
mod sys;
pub mod wire;
