//! `cargo xtask demo`: one QEMU boot that runs a whole LVS-NAT cluster
//! (client, two routers running pulse -> lvsd -> nannies from
//! `etc/demo.yaml`, three HTTP real servers) and prints its timeline.
//!
//! The cluster is the end-to-end suite's LVS-NAT scenario
//! (`tests/vm/e2e.rs`, test `nat_cluster_balances_removes_and_fails_over`):
//! the demo boots the same guest as `vm-test` with only that test selected,
//! so what the demo shows is exactly what CI asserts. The scenario writes
//! its timeline straight to the guest console, which this command streams.
//!
//! `cargo xtask demo --ecmp` runs the ECMP suite's scenario instead
//! (`tests/vm/ecmp/`): three active-active directors behind an upstream
//! router running BIRD with BGP multipath and BFD, a director's power
//! loss and return, a VIP withdrawn alone.

use anyhow::bail;

use crate::{assets, initramfs, vm};

/// The in-guest suite and test each demo runs.
const NAT: (&str, &str) = ("vm_e2e", "nat_cluster_balances_removes_and_fails_over");
const ECMP: (&str, &str) = ("vm_ecmp", "ecmp_directors_spread_survive_and_return");

/// `cargo xtask demo [--ecmp]`.
pub fn run(ecmp: bool) -> anyhow::Result<()> {
    let (suite, scenario) = if ecmp { ECMP } else { NAT };
    let assets = assets::ensure(false)?;
    let bins = vm::build_workspace_bins()?;
    let suites = vm::build_suites("vm", &[suite.to_string()])?;
    if suites.is_empty() {
        bail!("the {suite} suite did not build");
    }
    let timeout = vm::timeout_from_env()?;
    let spec =
        initramfs::Spec { assets: &assets, bins, suites, filter: Some(scenario.to_string()) };
    let report = vm::boot(&spec, timeout, "vm-demo", vm::Console::Stream)?;
    if !report.success() || report.passed != 1 {
        bail!("the demo did not complete: {}", report.summary());
    }
    eprintln!("xtask: demo complete: the timeline above is from the guest's real kernel");
    Ok(())
}
