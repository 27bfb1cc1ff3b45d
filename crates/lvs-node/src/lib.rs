//! lvs-node: the cluster-node role (Turbolinux's clusterserverd "configures
//! the system as a cluster node"; piranha left real servers to the
//! operator). Run on a real server with the routers' configuration file,
//! it finds which real servers it is by its own addresses and sets up
//! what their forwarding method needs, undoing exactly its own changes on
//! stop.
//!
//! [`plan`] is pure (`desired(config, observed)`, `plan(desired, observed,
//! journal) -> actions`); [`host`] is the IO edge (rtnetlink through
//! `lvs-net`, `/proc/sys`); [`journal`] keeps the record of what was
//! changed on disk across restarts; [`run`] ties them to the command line
//! and signals.

pub mod args;
pub mod host;
pub mod journal;
pub mod plan;
pub mod run;
