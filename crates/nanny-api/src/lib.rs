//! The nanny contract, one typed value per boundary, shared by whoever
//! starts a nanny (lvsd, pulse for failover services) and by nanny itself:
//!
//! - [`NannyOptions`]: the command line, with [`NannyOptions::to_args`] for
//!   the callers and [`NannyOptions::from_args`] for nanny (piranha's argv
//!   forms included);
//! - [`protocol`]: the line protocol a nanny speaks on stdout under lvsd;
//! - [`Decision`]: what a nanny decides about its server, the one type its
//!   output and lvsd's reading of it share.
//!
//! Pure and small on purpose: lvsd depends on this crate, not on `nanny`,
//! so the probes and their crates (rustls, ring, regex) stay out of lvsd.

#![deny(missing_docs)]

mod load;
mod options;
pub mod protocol;

pub use load::LoadCmd;
pub use options::{
    ArgsError, CheckOptions, Invocation, Method, Mode, NannyOptions, Secs, TlsOptions,
    DEFAULT_PING_COUNT, MAX_PING_COUNT, PIRANHA_LVSD_ARGV,
};
pub use protocol::{Decision, DownMode};

/// Record types the DNS check can ask for, by name (RFC 1035 §3.2.2, RFC
/// 3596, RFC 2782). The same list is accepted by `lvs-config` (a test in
/// lvsd keeps them equal).
pub const DNS_RECORD_TYPES: &[(&str, u16)] = &[
    ("A", 1),
    ("NS", 2),
    ("CNAME", 5),
    ("SOA", 6),
    ("PTR", 12),
    ("MX", 15),
    ("TXT", 16),
    ("AAAA", 28),
    ("SRV", 33),
];
