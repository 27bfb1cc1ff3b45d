//! The open-file limit: lvsd holds one pipe per nanny, so a large site
//! needs more descriptors than the usual soft limit of 1,024. lvsd raises
//! its soft limit to the hard one at start and says, naming the counts,
//! when a configuration needs more than it is allowed.

use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// Descriptors lvsd holds besides the nannies' pipes: standard streams,
/// the poller, the signal pipe, the netlink and syslog sockets, the
/// pipes of a spawn in progress, files being read; with room to spare.
pub const BASE_DESCRIPTORS: u64 = 32;

/// Descriptors lvsd needs to run `nannies` nannies (one stdout pipe each).
pub fn needed(nannies: usize) -> u64 {
    BASE_DESCRIPTORS.saturating_add(nannies as u64)
}

/// The complaint to log when `nannies` nannies need more descriptors than
/// `limit`, or `None` when they fit.
pub fn shortfall(nannies: usize, limit: u64) -> Option<String> {
    let need = needed(nannies);
    (need > limit).then(|| {
        format!(
            "{nannies} nannies need about {need} open files but lvsd may open only {limit} \
             (RLIMIT_NOFILE): nannies beyond that will fail to start with \"too many open files\"; \
             raise the hard limit (ulimit -Hn, LimitNOFILE= in a systemd unit) or use fewer nannies"
        )
    })
}

/// What [`raise_nofile`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Raised {
    /// The soft limit found at start.
    pub before: u64,
    /// The soft limit now (the hard limit, unless raising failed).
    pub soft: u64,
    /// The hard limit.
    pub hard: u64,
}

/// Raises the soft RLIMIT_NOFILE to the hard limit.
///
/// # Errors
/// The limit cannot be read or set (the errno).
pub fn raise_nofile() -> nix::Result<Raised> {
    let (before, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if before < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard)?;
    }
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    Ok(Raised { before, soft, hard })
}

/// The soft RLIMIT_NOFILE now, if it can be read.
pub fn nofile() -> Option<u64> {
    getrlimit(Resource::RLIMIT_NOFILE).ok().map(|(soft, _)| soft)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thousand_nannies_do_not_fit_the_usual_soft_limit() {
        assert_eq!(shortfall(900, 1024), None);
        let m = shortfall(1000, 1024).unwrap();
        assert!(m.contains("1000 nannies"), "{m}");
        assert!(m.contains("1032 open files"), "{m}");
        assert!(m.contains("only 1024"), "{m}");
        assert_eq!(shortfall(1000, 524_288), None);
    }

    #[test]
    fn raising_keeps_the_hard_limit() {
        let r = raise_nofile().unwrap();
        assert!(r.soft >= r.before);
        assert_eq!(nofile(), Some(r.soft));
    }
}
