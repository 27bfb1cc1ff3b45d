//! The kernel's IPVS table of a namespace as the suites that drive lvsd
//! (`vm_lvsd`) and pulse's overrides (`vm_operate`) compare it, and the
//! polling they wait for it with.

// Helpers of the test suites: a failed unwrap is a failed test, with its place.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ipvs::Client;
use testbed::Netns;

/// The table as `service -> [(real server, weight)]`, from the kernel.
pub type View = BTreeMap<String, Vec<(String, u32)>>;

/// The IPVS table of `ns` now: services as `TCP VIP:PORT`, their real
/// servers as `ADDR:PORT` in order.
pub fn view(ns: &Netns) -> View {
    let t = ns.enter(|| Client::connect().and_then(|mut c| c.table())).unwrap().unwrap();
    t.into_iter()
        .map(|(s, d)| {
            let mut d: Vec<(String, u32)> =
                d.into_iter().map(|d| (format!("{}:{}", d.addr, d.port), d.weight)).collect();
            d.sort();
            (format!("{}", s.key), d)
        })
        .collect()
}

/// Polls `f` until it returns `Some`, or fails after `limit`.
#[track_caller]
pub fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
