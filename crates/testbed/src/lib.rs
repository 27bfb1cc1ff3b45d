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
//! - [`Netns::spawn`] starts a long-running program in a namespace as a
//!   [`Daemon`], stopped on drop; [`wait_for`] polls for a condition with a
//!   deadline, so tests wait for events rather than sleep.
//! - [`guest`]: where the test guest keeps the reference ipvsadm and our
//!   binaries.
//!
//! # Example: LVS-NAT through the reference ipvsadm (in the test guest)
//!
//! ```no_run
//! use std::net::{Ipv4Addr, SocketAddr};
//! use testbed::{addr, guest, Forwarding, TcpServer, TopologyBuilder};
//!
//! let topo = TopologyBuilder::new(Forwarding::Nat).real_servers(1).build()?;
//! let any = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 80));
//! let _web = TcpServer::http(&topo.real_servers[0].ns, any, "rs0")?;
//! let director = &topo.directors[0].ns;
//! let ipvsadm = guest::ref_ipvsadm()?;
//! let ipvsadm = ipvsadm.to_str().unwrap_or_default();
//! let vip = format!("{}:80", addr::VIP);
//! director.run(ipvsadm, &["-A", "-t", &vip, "-s", "rr"])?;
//! let rs = format!("{}:80", topo.real_server_addr(0));
//! director.run(ipvsadm, &["-a", "-t", &vip, "-r", &rs, "-m"])?;
//! let body = topo.client.ns.http_get(SocketAddr::from((addr::VIP, 80)))?;
//! assert_eq!(body, "rs0");
//! # Ok::<(), testbed::Error>(())
//! ```
//!
//! # IO
//! Everything here does IO: it runs iproute2's `ip` (found on `PATH`, or at
//! `$LVS_IP` if set), writes `/proc/sys` and opens sockets. It needs root.
//! It never touches the namespace it is called from: links are created
//! directly inside the namespaces they belong to.

#![forbid(unsafe_code)]

mod error;
pub mod guest;
mod netns;
mod process;
mod server;
mod topology;

pub use error::Error;
pub use netns::Netns;
pub use process::{run_bounded, wait_for, Bounded, Daemon};
pub use server::{TcpServer, UdpServer};
pub use topology::{addr, Forwarding, Host, Topology, TopologyBuilder};

/// Results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
