//! Process helpers shared by the in-guest benchmark suites
//! (`tests/vm/bench_*.rs`): our binaries and the reference ipvsadm by
//! `testbed::guest`'s rules, and a child whose whole process group dies
//! with it, so a benchmark that panics leaves no daemon behind to disturb
//! the next one.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// One of our binaries in the guest; [`testbed::guest::workspace_bin`]
/// knows where, this panics with its message when it is missing.
pub fn bin(name: &str) -> PathBuf {
    testbed::guest::workspace_bin(name).unwrap_or_else(|e| panic!("{e}"))
}

/// The reference ipvsadm 1.31, from [`testbed::guest::ref_ipvsadm`].
pub fn ref_ipvsadm() -> String {
    testbed::guest::ref_ipvsadm().map_or_else(|e| panic!("{e}"), |p| p.display().to_string())
}

/// A child in its own process group; the whole group gets SIGKILL on drop.
#[derive(Debug)]
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(pgid) = i32::try_from(self.0.id()) {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid),
                nix::sys::signal::SIGKILL,
            );
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd` in a process group of its own, stdin from /dev/null,
/// stdout and stderr to the file `log`. Panics on failure: a benchmark
/// that cannot start its daemon has nothing to measure.
pub fn spawn(mut cmd: Command, log: &Path) -> Running {
    let out = std::fs::File::create(log)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
    let err = out.try_clone().unwrap_or_else(|e| panic!("cannot dup {}: {e}", log.display()));
    let child = cmd
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", cmd.get_program()));
    Running(child)
}

/// Runs `prog ARGS < input` in `ns` with `ipvsadm` as its argv[0] (the
/// reference and ipvsadm-rs alike) and times it: what `vm_ipvsadm`
/// compares and `vm_bench_ipvsadm` measures. Panics when it cannot run.
pub fn ipvsadm_in(
    ns: &testbed::Netns,
    prog: &str,
    args: &[&str],
    input: &str,
) -> (std::time::Duration, std::process::Output) {
    let prog = prog.to_string();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let input = input.to_string();
    ns.enter(move || {
        let start = std::time::Instant::now();
        let mut child = Command::new(&prog)
            .arg0("ipvsadm")
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {prog}: {e}"));
        let mut sink = child.stdin.take().expect("piped stdin");
        let writer = std::thread::spawn(move || {
            let _ = std::io::Write::write_all(&mut sink, input.as_bytes());
        });
        let out = child.wait_with_output().unwrap_or_else(|e| panic!("{prog}: {e}"));
        let _ = writer.join();
        (start.elapsed(), out)
    })
    .unwrap_or_else(|e| panic!("cannot enter {}: {e}", ns.name()))
}
