//! nanny: checks one real-server service and decides when it enters and
//! leaves the IPVS table, and with which weight.
//!
//! Pure parts: [`matcher`], [`http`], [`load`], [`state`], [`protocol`],
//! [`args`]. IO parts: [`probe`] (sockets), [`spawn`] (the only place that
//! starts processes), [`table`] (where decisions go), [`daemon`] (the
//! event loop), [`sys`] (raw syscalls).

pub mod args;
pub mod daemon;
pub mod http;
pub mod load;
pub mod matcher;
pub mod probe;
pub mod protocol;
pub mod spawn;
pub mod state;
mod sys;
pub mod table;
pub mod tls;
