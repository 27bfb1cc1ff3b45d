//! System tests of the lvs-router suite live in this crate's `tests/`
//! folder; this library holds helpers they share.
#![forbid(unsafe_code)]

pub mod capture;
pub mod cluster;
pub mod failover;
pub mod guest;
pub mod nlmon;
pub mod pulse;
pub mod table;
pub mod traffic;
