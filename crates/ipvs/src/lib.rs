//! A complete client of the kernel's IPVS table over generic netlink.
//!
//! lvsd, nanny, pulse and ipvsadm-rs all go through this crate.
//! - [`model`]: typed services, destinations, daemons, timeouts (pure).
//! - [`wire`]: byte-exact encode/decode of IPVS genl messages (pure, no socket).
//! - [`client`]: the only module that opens a netlink socket (neli).
//! - [`conn`]: `/proc/net/ip_vs_conn` parsing (pure) and a root-relative reader.
//! - [`error`]: typed errors keeping the kernel errno, with ipvsadm's messages.
//! - [`fake`]: the [`IpvsTable`] seam and [`FakeTable`], an in-memory table answering like the kernel.

#![forbid(unsafe_code)]

// The one module that opens a socket (`clippy.toml` forbids it elsewhere).
#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
pub mod client;
pub mod conn;
pub mod error;
pub mod fake;
pub mod model;
pub mod wire;

pub use client::Client;
pub use error::{ipvs_strerror, Error};
pub use fake::{FakeTable, IpvsTable};
pub use model::{
    Command, DaemonConfig, DaemonState, Dest, DestKey, Family, ForwardMethod, Info, Netmask, Op,
    Protocol, SchedFlags, Service, ServiceFlags, ServiceKey, Stats, Stats64, Timeouts, Tunnel,
    TunnelCsum, TunnelType,
};
