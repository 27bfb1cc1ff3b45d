//! Project automation, run as `cargo xtask <command>` (the cargo-xtask
//! convention: see https://github.com/matklad/cargo-xtask).
//!
//! Commands:
//! - `demo`: boots the test VM with a whole LVS-NAT cluster (two routers,
//!   three real servers, a client) and prints its timeline (`demo.rs`);
//!   `demo --ecmp` the ECMP directors' scenario.
//! - `test`: the whole test suite, exactly what CI runs: `cargo fmt --check`,
//!   `cargo clippy --workspace --all-targets -- -D warnings` (and the same for
//!   the in-guest suites, `--features vm`), host `cargo test --workspace`,
//!   `dist --check`, then `vm-assets`, `vm-selftest` and `vm-test`.
//! - `dist [--check]`: the Debian package `target/dist/lvs-router_*.deb`
//!   (`dist.rs`); `--check` runs lintian, lints the manual pages, checks the
//!   systemd unit and installs the package into an empty root.
//! - `man [--check]`: writes `docs/man/lvs-router.yaml.5` from the doc
//!   comments of the configuration model (`man.rs`).
//! - `vm-assets [--refresh]`: installs what the test VM needs with apt-get
//!   and fetches Debian's cloud kernel (which has IPVS) into `target/`.
//! - `vm-test [--suite AREA]... [--timeout SECS] [FILTER]`: runs the in-guest
//!   suites in one QEMU boot and prints a closing `N passed, N failed` line.
//! - `bench [--only failover|failover-ipvs|detection|table|reload|cost]... [--runs N]`: the router
//!   benchmarks (`tests/vm/bench_*.rs`) in one boot; their rows go into the
//!   summary table of `docs/benchmarks.md`; the failover benchmark's data
//!   go to `docs/failover-ipvs.data` and its plots to `docs/*.svg`. Not
//!   part of `test`.
//! - `plot`: draws the failover plots again from `docs/failover-ipvs.data`.
//! - `vm-selftest`: proves that `vm-test` reports an injected failing test,
//!   a hung guest and a guest kernel panic as failures.
//!
//! # In-guest tests: the convention
//!
//! The host kernel has no IPVS, so every test that touches IPVS runs inside a
//! QEMU guest booted from Debian's cloud kernel and a busybox initramfs.
//!
//! - An in-guest suite is an integration-test target of the `lvs-tests`
//!   crate, in `tests/vm/<area>.rs`, declared in `tests/Cargo.toml` with one
//!   stanza:
//!
//!   ```toml
//!   [[test]]
//!   name = "vm_<area>"
//!   path = "vm/<area>.rs"
//!   required-features = ["vm"]
//!   ```
//!
//!   Host `cargo test --workspace` never builds it (the `vm` feature is off),
//!   so there are no skipped tests on the host.
//! - `cargo xtask vm-test` builds every `vm_*` test target with
//!   `--features vm`, plus every binary of the workspace, packs them into the
//!   initramfs and runs each `vm_*` test binary in the guest, as root, one
//!   after the other, in a single boot. `FILTER` is handed to each binary as
//!   libtest's name filter; `--suite AREA` restricts the run to `vm_AREA`.
//! - In the guest: our workspace binaries are on `PATH` and their directory
//!   is in `LVS_BIN_DIR`; the reference ipvsadm 1.31 is at `LVS_REF_IPVSADM`
//!   (not on `PATH`); `LVS_TEST_VM=1`; iproute2's `ip` (with `netns`) is
//!   first on `PATH`; busybox provides the rest (`nc`, `httpd`, `cat`...);
//!   `tcpdump` and `strace` are there for debugging. `/tmp` is the working
//!   directory and a tmpfs; the source tree is not there, so a suite must not
//!   read files through `CARGO_MANIFEST_DIR` at run time (use
//!   `include_str!` instead).
//! - IPVS tables are per network namespace: each test builds its own
//!   namespaces with the `testbed` crate, so tests of one binary can run in
//!   parallel without disturbing each other.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a CLI reports on the terminal

mod assets;
mod bench;
mod cargo_json;
mod console;
mod demo;
mod dist;
mod initramfs;
mod man;
mod plot;
mod proc;
mod reliability;
mod vm;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  demo [--ecmp]             boot a whole LVS-NAT cluster (or three ECMP directors behind
                            BIRD) in the VM and print its timeline
  test                      everything CI runs (fmt, clippy, host tests, package, VM tests)
  dist [--check]            build the Debian package (release binaries) into target/dist/;
                            --check: lintian, man page lint, unit checks, install test
  man [--check]             generate docs/man/lvs-router.yaml.5 from the config model
  vm-assets [--refresh]     install the VM's host packages and fetch the guest kernel
  vm-test [--suite AREA]... [--timeout SECS] [FILTER]
                            run the in-guest suites (tests/vm/*.rs) in one QEMU boot
  vm-selftest               check that vm-test reports failures, hangs and panics
  bench [--only NAME]... [--runs N]
                            router benchmarks against keepalived in the VM; writes docs/benchmarks.md
  plot                      draw the failover plots of docs/ again from docs/failover-ipvs.data

environment:
  LVS_VM_KVM=1              boot with KVM instead of TCG software emulation
  LVS_VM_TIMEOUT=SECS       hard timeout of one boot (default 600)
  LVS_VM_MEMORY_MIB=MIB     the guest's memory (default 1024; bench sets 2048)
";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let mut args = std::env::args().skip(1);
    let command = args.next();
    let rest: Vec<String> = args.collect();
    match command.as_deref() {
        Some("test") => {
            no_args(&rest)?;
            test()?;
            Ok(ExitCode::SUCCESS)
        }
        Some("demo") => {
            let ecmp = match rest.as_slice() {
                [] => false,
                [flag] if flag == "--ecmp" => true,
                _ => bail!("usage: cargo xtask demo [--ecmp]"),
            };
            demo::run(ecmp)?;
            Ok(ExitCode::SUCCESS)
        }
        Some("vm-assets") => {
            let refresh = match rest.as_slice() {
                [] => false,
                [flag] if flag == "--refresh" => true,
                _ => bail!("usage: cargo xtask vm-assets [--refresh]"),
            };
            let assets = assets::ensure(refresh)?;
            println!("vm-assets: kernel {} at {}", assets.kernel_version, assets.vmlinuz.display());
            Ok(ExitCode::SUCCESS)
        }
        Some("vm-test") => {
            let opts = parse_vm_test(&rest)?;
            let report = vm::test(&opts)?;
            Ok(if report.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Some("vm-selftest") => {
            no_args(&rest)?;
            vm::selftest()?;
            Ok(ExitCode::SUCCESS)
        }
        Some("bench") => bench::run(&rest).map(|()| ExitCode::SUCCESS),
        Some("plot") => plot::redraw(&project_root().join("docs")).map(|()| ExitCode::SUCCESS),
        Some("man") => man::run(&rest).map(|()| ExitCode::SUCCESS),
        Some("dist") => dist::run(&rest).map(|()| ExitCode::SUCCESS),
        Some("help" | "-h" | "--help") | None => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => bail!("unknown command {other:?}; try `cargo xtask help`"),
    }
}

fn no_args(rest: &[String]) -> anyhow::Result<()> {
    if let Some(arg) = rest.first() {
        bail!("unexpected argument {arg:?}; try `cargo xtask help`");
    }
    Ok(())
}

fn parse_vm_test(args: &[String]) -> anyhow::Result<vm::TestOptions> {
    let mut opts = vm::TestOptions::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--suite" => {
                let area = it.next().context("--suite needs an AREA (tests/vm/AREA.rs)")?;
                let name =
                    if area.starts_with("vm_") { area.clone() } else { format!("vm_{area}") };
                opts.suites.push(name);
            }
            "--timeout" => {
                let secs = it.next().context("--timeout needs a number of seconds")?;
                let secs: u64 =
                    secs.parse().with_context(|| format!("bad --timeout value {secs:?}"))?;
                opts.timeout = Some(Duration::from_secs(secs));
            }
            flag if flag.starts_with('-') => bail!("unknown option {flag:?}\n\n{USAGE}"),
            filter => {
                if opts.filter.is_some() {
                    bail!("only one FILTER is allowed, got {filter:?} too");
                }
                opts.filter = Some(filter.to_string());
            }
        }
    }
    Ok(opts)
}

/// The project root: xtask lives one folder below it.
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Cargo's target directory, where the VM assets and images are cached.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => project_root().join(dir),
        None => project_root().join("target"),
    }
}

fn test() -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    proc::cargo(&["fmt", "--all", "--", "--check"])?;
    proc::cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    proc::cargo(&[
        "clippy",
        "-p",
        "lvs-tests",
        "--features",
        "vm,vm-selftest",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    // Host tests use host packages too (promtool for pulse's /metrics).
    assets::ensure_host_packages()?;
    proc::cargo(&["test", "--workspace"])?;
    dist::run(&["--check".to_owned()])?;
    assets::ensure(false)?;
    // The self-test first: the last `N passed, N failed` line printed must
    // be the real run's, which CI reads.
    vm::selftest()?;
    let report = vm::test(&vm::TestOptions::default())?;
    if !report.success() {
        bail!("in-guest tests failed: {}", report.summary());
    }
    eprintln!("xtask: all tests passed in {:.0?}", started.elapsed());
    Ok(())
}
