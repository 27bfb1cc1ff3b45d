//! A complete client of the kernel's IPVS table over generic netlink.
//!
//! lvsd, nanny, pulse and ipvsadm-rs all go through this crate.
//! - [`model`]: typed services, destinations, daemons, timeouts (pure).
//! - [`wire`]: byte-exact encode/decode of IPVS genl messages (pure, no socket).
//! - [`client`]: the only module that opens a netlink socket (neli).
//! - [`conn`]: `/proc/net/ip_vs_conn` parsing (pure) and a root-relative reader.
//! - [`error`]: typed errors keeping the kernel errno, with ipvsadm's messages.
//! - [`fake`]: the [`IpvsTable`] seam and [`FakeTable`], an in-memory table answering like the kernel.

#![forbid(unsafe_code)]

pub mod client;
pub mod conn;
pub mod error;
pub mod fake;
pub mod model;
pub mod wire;

pub use client::Client;
pub use error::{ipvs_strerror, Error};
pub use fake::{FakeTable, IpvsTable};
pub use model::{
    Command, DaemonConfig, DaemonState, Dest, DestKey, Family, ForwardMethod, Info, Netmask, Op,
    Protocol, SchedFlags, Service, ServiceFlags, ServiceKey, Stats, Stats64, Timeouts, Tunnel,
    TunnelCsum, TunnelType,
};

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                sources(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// Architecture invariant: only `client` touches neli (and so sockets).
    #[test]
    fn only_the_client_module_uses_neli() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&root, &mut files);
        let offenders: Vec<_> = files
            .into_iter()
            .filter(|p| !p.ends_with("client.rs") && !p.ends_with("lib.rs"))
            .filter(|p| std::fs::read_to_string(p).unwrap().contains(concat!("neli", "::")))
            .collect();
        assert!(offenders.is_empty(), "neli used outside client.rs: {offenders:?}");
    }
}
