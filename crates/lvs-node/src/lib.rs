//! lvs-node: the cluster-node role (Turbolinux's clusterserverd "configures
//! the system as a cluster node"; piranha left real servers to the
//! operator). Run on a real server with the routers' configuration file,
//! it finds which real servers it is by its own addresses and sets up
//! what their forwarding method needs, undoing exactly its own changes on
//! stop.
//!
//! The API is what the binary uses, and nothing else depends on this
//! crate: [`args`] (the command line) and [`run`], which ties the private
//! modules to it and to signals: `plan` is pure (`desired(config,
//! observed)`, `plan(desired, observed, journal) -> actions`); `host` is
//! the IO edge (rtnetlink through `lvs-net`, `/proc/sys`); `journal` keeps
//! the record of what was changed on disk across restarts.

pub mod args;
mod host;
mod journal;
mod plan;
pub mod run;
