//! nanny: checks one real-server service and decides when it enters and
//! leaves the IPVS table, and with which weight.
//!
//! The API is what the `nanny` binary, lvsd and the tests use: [`args`]
//! (the command line), [`daemon`] (the event loop), [`table`] (where
//! decisions go), [`kernel`] (IPVS, standalone mode), [`protocol`] (the
//! lines nanny writes to lvsd), [`probe`], [`dns_probe`] and [`matcher`]
//! (the checks, which the tests drive against real servers), [`route`]
//! (a probe straight to the server or through IPVS with a mark) and [`dns`]
//! (the query and answer codec lvsd shares), and [`state`], the pure
//! machine that turns check results into up/down and weight decisions. The
//! rest is private: pure parts `http`, `icmp` and `load`; IO parts `ping`
//! (the ICMP socket), `tls` and `spawn` (the only place that starts
//! processes, through `lvs_daemon::Spawn`).
//!
//! Where this nanny knowingly differs from piranha 0.8.6 (reference §3.10):
//! - `send_program` with an expect string: a non-zero exit or a timeout is
//!   DOWN (piranha said UP, "didn't get anything back", a bug); without an
//!   expect string it is never up, as in piranha (`--agent` judges by the
//!   exit status). Only one trailing newline is removed before comparing (piranha chopped
//!   the last byte, whatever it was).
//! - `%h`/`%p` are replaced inside tokens too, not only as whole tokens.
//! - Regex and literal expects read until they can decide (or the timeout),
//!   instead of one fixed-size read: slow and partial replies are fine.
//! - No ICMP echo before TCP checks (piranha sent one and ignored the
//!   answer), so nanny needs no raw socket and no root for checking. The
//!   ICMP echo is a check of its own (`--ping`, keepalived's PING_CHECK),
//!   whose reply decides; it uses an unprivileged ping socket where
//!   `net.ipv4.ping_group_range` allows, else a raw one.
//! - `-n`/`-c` are accepted but nanny never forks; `-I` is accepted and
//!   unused; `--fos` is refused; `--lvs` is the default.
//! - Initial slow start and the ~20 s adjustment cadence follow piranha;
//!   the cadence is settable (`--adjust`).
#![forbid(unsafe_code)]

pub mod args;
pub mod daemon;
pub mod dns;
pub mod dns_probe;
mod http;
mod icmp;
pub mod kernel;
mod load;
pub mod matcher;
mod ping;
pub mod probe;
mod route;
// The only module that starts processes (a choke point, `clippy.toml`).
#[allow(clippy::disallowed_methods)]
mod spawn;
pub mod state;
/// The line protocol, from the nanny contract crate (shared with lvsd).
pub use nanny_api::protocol;
pub mod table;
mod tls;
