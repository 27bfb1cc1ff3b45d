//! Test topologies built from network namespaces and veth pairs.
//!
//! The suite's tests need several machines: a client, one or more LVS
//! routers (directors) and real servers. Here each machine is a network
//! namespace, and each LAN is a bridge in a "switch" namespace that every
//! member joins with a veth pair. This works the same on the host (no IPVS:
//! heartbeat, ARP and health-check tests) and in the QEMU guest of
//! `cargo xtask vm-test` (with IPVS).
//!
//! # Pieces
//! - [`Netns`]: one namespace with a unique name, deleted on drop; run a
//!   command inside it ([`Netns::command`]), or run Rust code inside it
//!   ([`Netns::enter`]), which is how sockets are made in a namespace.
//! - [`Topology`] (from [`TopologyBuilder`]): client, directors and real
//!   servers wired and addressed for LVS-NAT or LVS-DR; see [`addr`] for the
//!   addresses.
//! - [`TcpServer`], [`UdpServer`]: tiny servers in a namespace that answer
//!   every request with a fixed reply (typically the server's name), and
//!   the matching client calls [`Netns::tcp_request`], [`Netns::http_get`],
//!   [`Netns::udp_request`].
//!
//! # IO
//! Everything here does IO: it runs iproute2's `ip` (found on `PATH`, or at
//! `$LVS_IP` if set), writes `/proc/sys` and opens sockets. It needs root.
//! It never touches the namespace it is called from: links are created
//! directly inside the namespaces they belong to.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod netns;
mod server;
mod topology;

pub use error::Error;
pub use netns::Netns;
pub use server::{TcpServer, UdpServer};
pub use topology::{addr, Forwarding, Host, Topology, TopologyBuilder};

/// Results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
