//! `cargo xtask vm-test` and `vm-selftest`: build the guest binaries, pack
//! them, boot QEMU once, stream the console and judge the run.
//!
//! The verdict comes from the console alone: libtest's `test result:` lines
//! give the counts, `/init`'s markers tell which suite ran and whether the
//! guest reached the end. A guest that never powers off is killed at the
//! hard timeout; one that panics stops without the `all-done` marker. Both
//! count as failures, with the console tail printed.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::assets::{self, Assets};
use crate::cargo_json;
use crate::console::ConsoleLog;
use crate::initramfs;
use crate::proc;

/// How long one boot may take unless `--timeout` or `LVS_VM_TIMEOUT` says.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// What `vm-test` was asked to run.
#[derive(Debug, Default)]
pub struct TestOptions {
    /// Suite target names (`vm_<area>`); empty means all `vm_*` suites.
    pub suites: Vec<String>,
    pub timeout: Option<Duration>,
    /// libtest name filter handed to every suite.
    pub filter: Option<String>,
}

/// The verdict on one boot.
#[derive(Debug, Default)]
pub struct Report {
    pub passed: u64,
    pub failed: u64,
    /// The guest printed `all-done`.
    pub completed: bool,
    /// The host killed the guest at the timeout.
    pub timed_out: bool,
    /// `/init` printed its `booted` marker.
    pub booted: bool,
    /// The host killed the guest at the boot deadline, before `booted`.
    pub hung_at_boot: bool,
    /// The console showed a kernel panic.
    pub kernel_panic: bool,
    /// Suites that started, in order, with their own counts.
    pub suites: Vec<Suite>,
    /// Why the run is not a success, beyond failed tests.
    pub problems: Vec<String>,
    /// The last lines of the console.
    pub tail: Vec<String>,
    /// Files the guest handed over (`@@lvs-vm: file NAME LINE`), by name.
    pub files: std::collections::BTreeMap<String, String>,
    /// pulse's stall detector over the run: the worst loop turn any suite
    /// printed (µs, and whose), and each pulse's last figures.
    pub pulse_loop: Option<(u64, String)>,
    /// Each pulse's figures as last printed (a pulse's counts only grow,
    /// and a suite may print them more than once), by who.
    pub pulses: std::collections::BTreeMap<String, LoopLine>,
}

/// The figures of one `pulse-loop:` line (`lvs_tests::pulse::print_loop`:
/// `pulse-loop: WHO: worst turn US us, N turns over 50 ms, P pauses (worst
/// W us), Q waits (worst X us)`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoopLine {
    /// The worst turn, µs.
    pub worst: u64,
    /// Turns over 50 ms through pulse's own fault.
    pub stalls: u64,
    /// Pauses of the machine under the loop, and the worst (µs).
    pub pauses: (u64, u64),
    /// Turns over 50 ms that waited for a CPU, and the longest wait (µs).
    pub waits: (u64, u64),
}

impl Report {
    /// The figures added up over every pulse: stalls, pauses and waits
    /// summed, their worsts the worst.
    pub fn loop_totals(&self) -> LoopLine {
        let mut t = LoopLine::default();
        for l in self.pulses.values() {
            t.worst = t.worst.max(l.worst);
            t.stalls += l.stalls;
            t.pauses = (t.pauses.0 + l.pauses.0, t.pauses.1.max(l.pauses.1));
            t.waits = (t.waits.0 + l.waits.0, t.waits.1.max(l.waits.1));
        }
        t
    }
}

/// One suite's part of a run.
#[derive(Debug, Default)]
pub struct Suite {
    pub name: String,
    pub passed: u64,
    pub failed: u64,
    /// Its exit status, once it ended.
    pub exit: Option<String>,
}

impl Report {
    pub fn success(&self) -> bool {
        self.failed == 0 && self.completed && self.problems.is_empty()
    }

    /// The closing line CI reads.
    pub fn summary(&self) -> String {
        format!("{} passed, {} failed", self.passed, self.failed)
    }
}

/// `cargo xtask vm-test`.
pub fn test(opts: &TestOptions) -> anyhow::Result<Report> {
    let assets = assets::ensure(false)?;
    let bins = build_workspace_bins()?;
    let patterns: Vec<String> =
        if opts.suites.is_empty() { vec!["vm_*".into()] } else { opts.suites.clone() };
    let suites = build_suites("vm", &patterns)?;
    if suites.is_empty() {
        bail!("no in-guest suite matched {patterns:?} (tests/vm/*.rs, see xtask/src/main.rs)");
    }
    let timeout = opts.timeout.map_or_else(timeout_from_env, Ok)?;
    let spec = initramfs::Spec { assets: &assets, bins, suites, filter: opts.filter.clone() };
    let mut report = boot(&spec, timeout, "vm", Console::Stream)?;
    check_files(&mut report)?;
    println!("{}", report.summary());
    Ok(report)
}

/// Writes the files the guest handed over under `target/vm-artifacts/`
/// (paths printed) and checks each `*.prom` scrape with `promtool check
/// metrics` (Debian's `prometheus`, a host package of `vm-assets`): a
/// scrape promtool refuses fails the run.
fn check_files(report: &mut Report) -> anyhow::Result<()> {
    if report.files.is_empty() {
        return Ok(());
    }
    let dir = crate::target_dir().join("vm-artifacts");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, text) in &report.files {
        // Names come from the guest: no directories.
        let name = name.replace('/', "_");
        let path = dir.join(&name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        println!("artifact: {}", path.display());
        if !name.ends_with(".prom") {
            continue;
        }
        let out = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::fs::File::open(&path)?)
            .output()
            .context("running promtool (cargo xtask vm-assets installs it)")?;
        let said = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            println!("promtool check metrics {name}: ok");
        } else {
            let problem = format!("promtool check metrics {name}: {}", said.trim());
            eprintln!("xtask: FAILURE: {problem}");
            report.failed += 1;
            report.problems.push(problem);
        }
    }
    Ok(())
}

pub(crate) fn timeout_from_env() -> anyhow::Result<Duration> {
    match std::env::var("LVS_VM_TIMEOUT") {
        Ok(secs) => Ok(Duration::from_secs(
            secs.parse().with_context(|| format!("bad LVS_VM_TIMEOUT {secs:?}"))?,
        )),
        Err(_) => Ok(DEFAULT_TIMEOUT),
    }
}

/// `cargo xtask vm-selftest`: boots the deliberately broken suite of
/// `tests/vm/selftest/inject.rs` three times and checks each breakage is
/// reported as a failure.
pub fn selftest() -> anyhow::Result<()> {
    let started = Instant::now();
    let assets = assets::ensure(false)?;
    let suites = build_suites("vm-selftest", &["selftest_inject".into()])?;
    let run = |filter: &str, timeout: Duration| -> anyhow::Result<Report> {
        eprintln!("vm-selftest: booting with injected `{filter}`");
        let spec = initramfs::Spec {
            assets: &assets,
            bins: Vec::new(),
            suites: suites.clone(),
            filter: Some(filter.into()),
        };
        // Quiet: the failures are expected, the console would only confuse
        // a reader of the log. It is printed when a verdict is wrong.
        let report = boot(&spec, timeout, "vm-selftest", Console::Quiet)?;
        // Not the bare closing line: CI reads that one from vm-test only.
        let why = report.problems.iter().map(|p| format!(": {p}")).collect::<String>();
        eprintln!("vm-selftest: `{filter}` gave {}{why}", report.summary());
        Ok(report)
    };

    let mut wrong = Vec::new();
    let mut check = |ok: bool, what: &str, report: &Report| {
        if !ok {
            eprintln!("vm-selftest: ---- console tail of the wrong verdict ----");
            for line in &report.tail {
                eprintln!("{line}");
            }
            wrong.push(format!("{what}: {report:?}"));
        }
    };
    let boot_started = Instant::now();
    let failing = run("deliberate_failure", DEFAULT_TIMEOUT)?;
    check(
        !failing.success() && failing.failed == 1 && failing.completed,
        "a failing test was not reported as exactly one failure",
        &failing,
    );
    // A whole boot just took this long: twice that is ample for the hung
    // guest to reach its test, and keeps the check cheap on a quiet host.
    let hang_timeout = Duration::from_secs((boot_started.elapsed() * 2).as_secs().max(20));
    let hang = run("hang_forever", hang_timeout)?;
    check(
        !hang.success()
            && hang.timed_out
            && hang.suites.iter().any(|s| s.name == "selftest_inject"),
        "a hung guest was not reported as a timeout failure",
        &hang,
    );
    let panic = run("kernel_panic", DEFAULT_TIMEOUT)?;
    check(
        !panic.success() && !panic.timed_out && panic.kernel_panic,
        "a guest kernel panic was not reported as a failure",
        &panic,
    );
    if !wrong.is_empty() {
        bail!("vm-selftest: vm-test does not catch breakage:\n{}", wrong.join("\n"));
    }
    eprintln!(
        "vm-selftest: ok: failure, hang and panic all reported as failures ({:.0?})",
        started.elapsed()
    );
    Ok(())
}

/// Runs cargo with JSON messages on stdout (diagnostics still rendered on
/// stderr) and returns the executables it reports.
fn cargo_artifacts(args: &[&str]) -> anyhow::Result<Vec<cargo_json::Artifact>> {
    eprintln!("xtask: cargo {}", args.join(" "));
    let out = Command::new(proc::cargo_bin())
        .args(args)
        .arg("--message-format=json-render-diagnostics")
        .current_dir(crate::project_root())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo")?;
    if !out.status.success() {
        bail!("cargo {} failed ({})", args.join(" "), out.status);
    }
    Ok(cargo_json::artifacts(&String::from_utf8_lossy(&out.stdout)))
}

/// Every binary of the workspace except xtask's, built as operators run
/// them: the release profile, with the package's own `cargo build`
/// arguments (the same packages, so the same features), so that `cargo
/// xtask test`, which builds the package first (`dist --check`), builds
/// them once. The daemons' timing is part of what the guest tests (pulse's
/// stall detector); the suites themselves stay in the dev profile.
pub(crate) fn build_workspace_bins() -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut args = vec!["build", "--release", "--locked"];
    for package in crate::dist::PACKAGES {
        args.extend(["-p", package]);
    }
    args.push("--bins");
    let artifacts = cargo_artifacts(&args)?;
    Ok(artifacts.into_iter().filter(|a| a.kind == "bin").map(|a| (a.name, a.executable)).collect())
}

/// The `lvs-tests` test targets matching `patterns`, built with `feature`.
pub(crate) fn build_suites(
    feature: &str,
    patterns: &[String],
) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut args = vec!["test", "--no-run", "-p", "lvs-tests", "--features", feature];
    for p in patterns {
        args.push("--test");
        args.push(p);
    }
    let artifacts = cargo_artifacts(&args)?;
    let mut suites: Vec<(String, PathBuf)> = artifacts
        .into_iter()
        .filter(|a| a.kind == "test")
        .map(|a| (a.name, a.executable))
        .collect();
    suites.sort();
    suites.dedup();
    Ok(suites)
}

/// The guest's memory unless `LVS_VM_MEMORY_MIB` says (`cargo xtask bench`
/// sets it: 1,000 nanny processes need more than the tests do).
const DEFAULT_MEMORY_MIB: u32 = 1024;

fn memory_mib_from_env() -> anyhow::Result<u32> {
    match std::env::var("LVS_VM_MEMORY_MIB") {
        Ok(mib) => match mib.parse() {
            Ok(n) if n >= 256 => Ok(n),
            _ => bail!("bad LVS_VM_MEMORY_MIB {mib:?} (MiB, at least 256)"),
        },
        Err(_) => Ok(DEFAULT_MEMORY_MIB),
    }
}

/// The QEMU command line for one boot.
fn qemu_command(assets: &Assets, initrd: &std::path::Path, memory_mib: u32) -> Command {
    let mut cmd = Command::new("qemu-system-x86_64");
    if std::env::var("LVS_VM_KVM").is_ok_and(|v| v == "1") {
        cmd.args(["-accel", "kvm", "-cpu", "host"]);
    } else {
        // KVM hangs on these hosts (see vm-notes): software emulation.
        // Without the features TCG emulates slowest: the guest kernel's
        // `rep stosb` memset was a tenth of pulse's loop thread's CPU time
        // (perf in the guest, 2026-12-03), and glibc's AVX2 string
        // functions run on helpers.
        cmd.args(["-accel", "tcg", "-cpu", "max,-erms,-fsrm,-avx,-avx2"]);
    }
    // A diagnostic: QEMU's monitor on a Unix socket the caller names, to
    // ask it `info jit` (the translation cache's size and flushes) while
    // a run goes on. Nothing listens unless asked.
    if let Ok(m) = std::env::var("LVS_VM_MONITOR") {
        cmd.args(["-monitor", &format!("unix:{m},server=on,wait=off")]);
    }
    cmd.args(["-smp", "2", "-m", &memory_mib.to_string()])
        .args(["-nodefaults", "-display", "none", "-no-reboot"])
        .args(["-serial", "stdio", "-nic", "none"])
        .arg("-kernel")
        .arg(&assets.vmlinuz)
        .arg("-initrd")
        .arg(initrd)
        // panic=-1: a panic reboots at once, and -no-reboot turns that into
        // QEMU exiting; oops=panic: a kernel oops ends the run, loudly.
        // clocksource=tsc: the guest picks the HPET under TCG, and then
        // every clock read is a system call and an emulated device read
        // under QEMU's global lock (`read_hpet` was 13% of pulse's loop
        // thread); the TSC, one clock for every virtual CPU under TCG,
        // is read in the vDSO.
        // norandmaps: QEMU 7.2's TCG finds translated code by virtual
        // address, so with randomized maps every new process's code was
        // translated anew: the chaos suite wrote 10 MB/s of host code, the
        // 1 GiB cache filled every 1.5 minutes, and after each flush every
        // virtual CPU ran slowly while it translated again, slow but never
        // stopped, which no canary sees (`info jit`, 2026-12-03). Without
        // randomization: 0.1 MB/s and no flush in a 100-round run, whose
        // worst loop turn fell from 49.7 to 23.7 ms.
        .args([
            "-append",
            "console=ttyS0 quiet panic=-1 oops=panic mitigations=off clocksource=tsc tsc=reliable norandmaps lvs.vm=1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    cmd
}

/// Whether a boot shows its console as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Console {
    /// Stream every line, and the tail and problems on failure.
    Stream,
    /// Show nothing; the tail is in the report.
    Quiet,
}

/// Packs `spec`, boots it, streams the console and judges the run.
pub(crate) fn boot(
    spec: &initramfs::Spec<'_>,
    timeout: Duration,
    tag: &str,
    show: Console,
) -> anyhow::Result<Report> {
    let stream = show == Console::Stream;
    let dir = crate::target_dir().join(tag);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Two runs in one target directory would pack over each other's image.
    let lock_path = dir.join("lock");
    let lock = std::fs::File::create(&lock_path)
        .with_context(|| format!("cannot create {}", lock_path.display()))?;
    if lock.try_lock().is_err() {
        eprintln!("xtask: waiting for another run using {}", dir.display());
        lock.lock().with_context(|| format!("cannot lock {}", lock_path.display()))?;
    }
    let started = Instant::now();
    let initrd = initramfs::build(spec, &dir)?;
    let size = std::fs::metadata(&initrd).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "xtask: initramfs {} ({} MiB, packed in {:.1?}); booting kernel {} (timeout {:?})",
        initrd.display(),
        size >> 20,
        started.elapsed(),
        spec.assets.kernel_version,
        timeout
    );

    let started = Instant::now();
    let mut retried = false;
    let (mut console, status) = loop {
        let (console, status) = run_qemu(spec.assets, &initrd, timeout, stream)?;
        // A guest silent until the boot deadline hung before `/init` ran
        // anything of ours (the kernel or the emulator; seen once in
        // about 45 boots on 2026-12-03): booted again, once, and said so.
        if console.report.hung_at_boot && !retried {
            retried = true;
            eprintln!(
                "xtask: the guest printed no `booted` line within {BOOT_TIMEOUT:?}: it hung before any test ran (the kernel or the emulator); booting once more"
            );
            continue;
        }
        break (console, status);
    };
    let mut report = console.finish(timeout);
    if !report.timed_out && !status.success() {
        report.problems.push(format!("qemu exited with {status}"));
    }
    eprintln!("xtask: guest ran for {:.1?}", started.elapsed());
    report.tail = console.tail.iter().cloned().collect();
    if !stream {
        return Ok(report);
    }
    for suite in &report.suites {
        let exit = suite.exit.as_deref().map_or("did not finish".into(), |c| format!("exit {c}"));
        eprintln!(
            "xtask: {}: {} passed, {} failed ({exit})",
            suite.name, suite.passed, suite.failed
        );
    }
    if let Some((worst, who)) = &report.pulse_loop {
        let t = report.loop_totals();
        eprintln!(
            "xtask: pulse's stall detector over the run ({} pulses): worst loop turn {:.1} ms ({who}), \
             {} stalls; {} pauses of the machine under the loop (worst {:.1} ms); {} turns that waited for a CPU (longest wait {:.1} ms)",
            report.pulses.len(),
            *worst as f64 / 1000.0,
            t.stalls,
            t.pauses.0,
            t.pauses.1 as f64 / 1000.0,
            t.waits.0,
            t.waits.1 as f64 / 1000.0
        );
    }
    if !report.success() {
        eprintln!("xtask: ---- last {} console lines ----", console.tail.len());
        for line in &console.tail {
            eprintln!("{line}");
        }
        eprintln!("xtask: ---- end of console ----");
        for problem in &report.problems {
            eprintln!("xtask: FAILURE: {problem}");
        }
    }
    Ok(report)
}

/// How long a guest may take to print `/init`'s `booted` marker: a few
/// seconds even under TCG; far longer is a hang before any test ran.
const BOOT_TIMEOUT: Duration = Duration::from_secs(180);

/// One boot of `initrd`: the console read until the guest powers off, or
/// killed at `timeout` (or at [`BOOT_TIMEOUT`] if it has not booted).
fn run_qemu(
    assets: &Assets,
    initrd: &std::path::Path,
    timeout: Duration,
    stream: bool,
) -> anyhow::Result<(ConsoleLog, std::process::ExitStatus)> {
    let started = Instant::now();
    let mut cmd = qemu_command(assets, initrd, memory_mib_from_env()?);
    let mut child =
        cmd.spawn().context("cannot start qemu-system-x86_64 (run `cargo xtask vm-assets`)")?;
    let stdout = child.stdout.take().context("qemu has no stdout")?;
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        let mut buf = Vec::new();
        while matches!(stdout.read_until(b'\n', &mut buf), Ok(n) if n > 0) {
            let line = String::from_utf8_lossy(&buf).trim_end_matches(['\r', '\n']).to_string();
            buf.clear();
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let deadline = started + timeout;
    let boot_deadline = started + BOOT_TIMEOUT;
    let mut console = ConsoleLog::default();
    loop {
        let booting = !console.report.booted && boot_deadline < deadline;
        let until = if booting { boot_deadline } else { deadline };
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if stream {
                    println!("{line}");
                }
                console.line(line);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                console.report.timed_out = true;
                console.report.hung_at_boot = booting;
                let _ = child.kill();
                break;
            }
        }
    }
    let status = child.wait().context("cannot wait for qemu")?;
    let _ = reader.join();
    // Lines still queued after a kill are part of the story.
    while let Ok(line) = rx.try_recv() {
        if stream {
            println!("{line}");
        }
        console.line(line);
    }
    Ok((console, status))
}
