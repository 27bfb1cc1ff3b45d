//! pulse: the controlling process on every LVS router. It heartbeats with
//! its peer routers over UDP, decides which router is active, and on
//! failover moves the VIPs, announces them and starts lvsd.
//!
//! - [`wire`]: heartbeat wire formats (native, authenticated; piranha's
//!   magics), pure.
//! - [`machine`]: the failover state machine, a pure `step`.
#![forbid(unsafe_code)]

pub mod machine;
pub mod wire;
