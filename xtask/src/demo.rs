//! `cargo xtask demo`: one QEMU boot that runs a whole LVS-NAT cluster
//! (client, two routers running pulse -> lvsd -> nannies from
//! `etc/demo.yaml`, three HTTP real servers) and prints its timeline.
//!
//! The cluster is the end-to-end suite's LVS-NAT scenario
//! (`tests/vm/e2e.rs`, test `nat_cluster_balances_removes_and_fails_over`):
//! the demo boots the same guest as `vm-test` with only that test selected,
//! so what the demo shows is exactly what CI asserts. The scenario writes
//! its timeline straight to the guest console, which this command streams.

use anyhow::bail;

use crate::{assets, initramfs, vm};

/// The in-guest suite and test the demo runs.
const SUITE: &str = "vm_e2e";
const SCENARIO: &str = "nat_cluster_balances_removes_and_fails_over";

/// `cargo xtask demo`.
pub fn run() -> anyhow::Result<()> {
    let assets = assets::ensure(false)?;
    let bins = vm::build_workspace_bins()?;
    let suites = vm::build_suites("vm", &[SUITE.to_string()])?;
    if suites.is_empty() {
        bail!("the {SUITE} suite (tests/vm/e2e.rs) did not build");
    }
    let timeout = vm::timeout_from_env()?;
    let spec =
        initramfs::Spec { assets: &assets, bins, suites, filter: Some(SCENARIO.to_string()) };
    let report = vm::boot(&spec, timeout, "vm-demo", vm::Console::Stream)?;
    if !report.success() || report.passed != 1 {
        bail!("the demo did not complete: {}", report.summary());
    }
    eprintln!("xtask: demo complete: the timeline above is from the guest's real kernel");
    Ok(())
}
