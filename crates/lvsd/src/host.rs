//! What lvsd sets outside the IPVS table ([`HostSettings`]): IPVS's sloppy
//! state tracking and `accept_local` as sysctls of lvsd's network
//! namespace, written here (the only files lvsd writes besides its pid and
//! ready files); the sync daemons in both roles go through the engine's
//! kernel seam ([`crate::engine::Engine::sync_daemons`]).
//!
//! Nothing is put back at exit: the sysctls are harmless when nothing uses
//! them, and another program may have wanted them set too.

use std::path::Path;

/// What lvsd sets besides the IPVS table (the kernel's other knobs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostSettings {
    /// `sloppy_tcp` to write, `None` to leave alone.
    pub sloppy_tcp: Option<bool>,
    /// `sloppy_sctp` to write, `None` to leave alone.
    pub sloppy_sctp: Option<bool>,
    /// Set `net.ipv4.conf.all.accept_local`: checks through the data path
    /// get their answers from the VIP, which this router may hold.
    pub accept_local: bool,
    /// The sync daemon as master and backup at once (`both: true`):
    /// interface and sync id.
    pub sync_both: Option<(String, u8)>,
}

const SLOPPY_TCP: &str = "/proc/sys/net/ipv4/vs/sloppy_tcp";
const SLOPPY_SCTP: &str = "/proc/sys/net/ipv4/vs/sloppy_sctp";
/// The answers to checks through the data path come from the VIP, which
/// the router holds when it is active (on its interface, or on its
/// loopback behind ECMP): Linux drops an incoming packet whose source is
/// one of its own addresses unless `accept_local` is on. `all` is OR'ed
/// with each interface's value, so one write covers every interface.
const ACCEPT_LOCAL: &str = "/proc/sys/net/ipv4/conf/all/accept_local";

/// The sysctl writes that make `old` (`None`: unknown, at start) into
/// `new`: each setting written when it is to be set and differs from
/// `old`.
pub fn writes(new: &HostSettings, old: Option<&HostSettings>) -> Vec<(&'static str, bool)> {
    let mut out = Vec::new();
    let mut want = |path, v: Option<bool>, was: Option<Option<bool>>| {
        if let Some(v) = v {
            if was != Some(Some(v)) {
                out.push((path, v));
            }
        }
    };
    want(SLOPPY_TCP, new.sloppy_tcp, old.map(|o| o.sloppy_tcp));
    want(SLOPPY_SCTP, new.sloppy_sctp, old.map(|o| o.sloppy_sctp));
    // Only ever turned on: another service of the host may need it.
    want(
        ACCEPT_LOCAL,
        new.accept_local.then_some(true),
        old.map(|o| o.accept_local.then_some(true)),
    );
    out
}

/// Carries out [`writes`], logging each; a failure is logged and the rest
/// still written.
pub fn apply(new: &HostSettings, old: Option<&HostSettings>) {
    for (path, v) in writes(new, old) {
        match write(Path::new(path), v) {
            Ok(()) => log::info!("{path} = {}", u8::from(v)),
            Err(e) => log::error!("cannot set {path} to {}: {e}", u8::from(v)),
        }
    }
}

fn write(path: &Path, v: bool) -> std::io::Result<()> {
    std::fs::write(path, if v { "1\n" } else { "0\n" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_what_is_set_and_changed() {
        let none = HostSettings::default();
        assert!(writes(&none, None).is_empty(), "nothing given: the kernel's values stay");
        let on = HostSettings {
            sloppy_tcp: Some(true),
            sloppy_sctp: Some(false),
            accept_local: true,
            sync_both: None,
        };
        assert_eq!(
            writes(&on, None),
            [(SLOPPY_TCP, true), (SLOPPY_SCTP, false), (ACCEPT_LOCAL, true)]
        );
        assert!(writes(&on, Some(&on)).is_empty(), "a reload that changes nothing writes nothing");
        let off = HostSettings { sloppy_tcp: Some(false), ..HostSettings::default() };
        assert_eq!(writes(&off, Some(&on)), [(SLOPPY_TCP, false)], "accept_local is left on");
    }
}
