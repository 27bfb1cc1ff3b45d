//! The network layer of the LVS router, used by pulse and `send_arp`.
//!
//! - [`rtnl`]: read links, add and remove VIP addresses idempotently over
//!   rtnetlink (`ip link` / `ip addr`, never `ifconfig`).
//! - [`route`]: default routes (lvs-node's NAT real servers).
//! - [`LinkMonitor`]: link up/down events for `monitor_links`, as a
//!   pollable fd.
//! - [`vip_route`]: ECMP announcements, one blackhole host route per VIP
//!   in a table of its own that BIRD exports.
//! - [`frame`]: gratuitous ARP and unsolicited Neighbour Advertisement
//!   frames, built and decoded as pure bytes.
//! - [`Announcer`] and [`packet`]: sending (and capturing) those frames on
//!   `AF_PACKET` sockets.
//!
//! Errors are one [`Error`] type that keeps the kernel errno and names the
//! interface. IO happens only in [`rtnl::Rtnl`], [`LinkMonitor`] and
//! [`packet`]; the raw system calls are in the private `sys` module. The
//! modules pulse, `send_arp`, lvs-node and the tests name are public; the
//! announcer, the errors, MAC addresses and the link monitor are used
//! through their re-exports here.
//!
//! Sockets live in the network namespace of the thread that opens them.

mod announce;
mod error;
pub mod frame;
mod mac;
// The link-event subscription's netlink socket (a choke point, `clippy.toml`).
#[allow(clippy::disallowed_types)]
mod monitor;
pub mod packet;
pub mod route;
// The rtnetlink requests' socket (a choke point, `clippy.toml`).
#[allow(clippy::disallowed_types)]
pub mod rtnl;
// The raw system calls, `AF_PACKET` sockets among them (a choke point).
#[allow(clippy::disallowed_methods)]
mod sys;
pub mod vip_route;

pub use announce::{announcement_frame, Announcer, ArpForm};
pub use error::{Error, Op, Result};
pub use mac::{MacAddr, ParseMacError};
pub use monitor::{LinkEvent, LinkMonitor, LinkState};
pub use rtnl::{AddrInfo, LinkFlags, LinkInfo, OperState, Outcome, Rtnl, VipAddress};
pub use vip_route::{VipRoute, PROTO_LVS};
