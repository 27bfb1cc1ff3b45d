//! The network layer of the LVS router, used by pulse and `send_arp`.
//!
//! - [`rtnl`]: read links, add and remove VIP addresses idempotently over
//!   rtnetlink (`ip link` / `ip addr`, never `ifconfig`).
//! - [`route`]: default routes (lvs-node's NAT real servers).
//! - [`vip_route`]: ECMP announcements, one blackhole host route per VIP
//!   in a table of its own that BIRD exports.
//! - [`monitor`]: link up/down events for `monitor_links`, as a pollable fd.
//! - [`frame`]: gratuitous ARP and unsolicited Neighbour Advertisement
//!   frames, built and decoded as pure bytes.
//! - [`announce`] and [`packet`]: sending (and capturing) those frames on
//!   `AF_PACKET` sockets.
//!
//! Errors are one [`Error`] type that keeps the kernel errno and names the
//! interface. IO happens only in [`rtnl::Rtnl`], [`monitor::LinkMonitor`]
//! and [`packet`]; the raw system calls are in the private `sys` module.
//! Sockets live in the network namespace of the thread that opens them.

pub mod announce;
pub mod error;
pub mod frame;
pub mod mac;
pub mod monitor;
pub mod packet;
pub mod route;
pub mod rtnl;
mod sys;
pub mod vip_route;

pub use announce::{announcement_frame, Announcer, ArpForm};
pub use error::{Error, Op, Result};
pub use mac::{MacAddr, ParseMacError};
pub use monitor::{LinkEvent, LinkMonitor, LinkState};
pub use rtnl::{AddrInfo, LinkFlags, LinkInfo, OperState, Outcome, Rtnl, VipAddress};
pub use vip_route::{VipRoute, PROTO_LVS};
