//! Acceptance: external check programs that hang, fork children, exit
//! non-zero or print megabytes are bounded: killed (with their whole
//! process group) at the timeout, reaped, and judged correctly. These run
//! the daemon's probe code in-process through `probe::check_once`.

// Runs the binaries and tools under test: the choke point for starting
// processes (`clippy.toml`) is the library's.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used)]

use std::ffi::OsString;
use std::fs;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use nanny::probe::{check_once, Check};

fn addr() -> SocketAddr {
    "127.0.0.1:1".parse().unwrap()
}

fn prog(argv: &[&str], expect: Option<&str>) -> Check {
    Check::Program {
        argv: argv.iter().map(OsString::from).collect(),
        expect: expect.map(|e| e.as_bytes().to_vec()),
    }
}

/// Pids of live processes whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<u32> {
    let mut v = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        if let Ok(cmd) = fs::read(format!("/proc/{pid}/cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(marker) && !cmd.contains("cargo") {
                // Exclude zombies already waiting for init and us.
                let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                if !stat.contains(") Z ") {
                    v.push(pid);
                }
            }
        }
    }
    v
}

#[test]
fn hanging_program_is_killed_at_the_timeout() {
    let t = Instant::now();
    let o =
        check_once(&prog(&["sleep", "1001.5"], None), addr(), Duration::from_millis(300)).unwrap();
    let took = t.elapsed();
    assert!(!o.ok);
    assert!(o.detail.contains("timed out after 0.3s"), "{}", o.detail);
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(3), "{took:?}");
    assert!(processes_with("sleep 1001.5").is_empty());
}

#[test]
fn forked_children_die_with_the_check() {
    // The program forks two long sleepers (one in the background holding
    // stdout), prints OK and exits: it is up at once, and the sleepers are
    // killed with its process group.
    let t = Instant::now();
    let o = check_once(
        &prog(&["sh", "-c", "sleep 1002.5 & sleep 1002.5 & echo OK"], Some("OK")),
        addr(),
        Duration::from_secs(5),
    )
    .unwrap();
    assert!(o.ok, "{}", o.detail);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    // The kill is asynchronous; give the kernel a moment.
    let end = Instant::now() + Duration::from_secs(2);
    while !processes_with("sleep 1002.5").is_empty() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(processes_with("sleep 1002.5").is_empty());
    // A program that hangs in a child after its own exit is no problem
    // either, nor one that forks and hangs.
    let o = check_once(
        &prog(&["sh", "-c", "sleep 1003.5 & sleep 1003.5"], None),
        addr(),
        Duration::from_millis(200),
    )
    .unwrap();
    assert!(!o.ok);
    let end = Instant::now() + Duration::from_secs(2);
    while !processes_with("sleep 1003.5").is_empty() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(processes_with("sleep 1003.5").is_empty());
}

#[test]
fn exit_status_decides_for_agents() {
    let o =
        check_once(&prog(&["sh", "-c", "exit 3"], None), addr(), Duration::from_secs(5)).unwrap();
    assert!(!o.ok);
    assert!(o.detail.contains("exit status: 3"), "{}", o.detail);
    let o = check_once(&prog(&["true"], None), addr(), Duration::from_secs(5)).unwrap();
    assert!(o.ok);
    // Killed by a signal.
    let o = check_once(&prog(&["sh", "-c", "kill -9 $$"], None), addr(), Duration::from_secs(5))
        .unwrap();
    assert!(!o.ok);
    assert!(o.detail.contains("signal"), "{}", o.detail);
    // A non-zero exit is down even if the output matches (piranha said up).
    let o = check_once(
        &prog(&["sh", "-c", "echo OK; exit 1"], Some("OK")),
        addr(),
        Duration::from_secs(5),
    )
    .unwrap();
    assert!(!o.ok);
    // Missing program.
    let o =
        check_once(&prog(&["/nonexistent/check"], None), addr(), Duration::from_secs(5)).unwrap();
    assert!(!o.ok);
    assert!(o.detail.contains("cannot run"), "{}", o.detail);
}

#[test]
fn megabytes_of_output_are_capped() {
    // 20 MB then exit: read and thrown away, the program is not blocked.
    let t = Instant::now();
    let o = check_once(
        &prog(&["head", "-c", "20000000", "/dev/zero"], Some("OK")),
        addr(),
        Duration::from_secs(10),
    )
    .unwrap();
    assert!(!o.ok);
    assert!(o.detail.contains("output longer"), "{}", o.detail);
    assert!(t.elapsed() < Duration::from_secs(8));
    // Endless output: killed at the timeout.
    let o = check_once(&prog(&["yes", "1004.5"], Some("y")), addr(), Duration::from_millis(300))
        .unwrap();
    assert!(!o.ok);
    assert!(o.detail.contains("timed out"), "{}", o.detail);
    assert!(processes_with("yes 1004.5").is_empty());
    // Lots of output with exit 0 is fine for an agent (no expect).
    let o = check_once(
        &prog(&["head", "-c", "3000000", "/dev/zero"], None),
        addr(),
        Duration::from_secs(10),
    )
    .unwrap();
    assert!(o.ok, "{}", o.detail);
}

#[test]
fn output_comparison_follows_piranha() {
    // One trailing newline is dropped; the rest must be equal.
    let o = check_once(&prog(&["echo", "OK"], Some("OK")), addr(), Duration::from_secs(5)).unwrap();
    assert!(o.ok, "{}", o.detail);
    let o =
        check_once(&prog(&["printf", "OK"], Some("OK")), addr(), Duration::from_secs(5)).unwrap();
    assert!(o.ok, "{}", o.detail);
    let o = check_once(&prog(&["echo", "OK then"], Some("OK")), addr(), Duration::from_secs(5))
        .unwrap();
    assert!(!o.ok);
    // No shell: metacharacters are plain arguments.
    let o = check_once(
        &prog(&["echo", "$HOME;", "|x"], Some("$HOME; |x")),
        addr(),
        Duration::from_secs(5),
    )
    .unwrap();
    assert!(o.ok, "{}", o.detail);
}

/// Children of `pid` and its open fd count, from /proc.
fn fd_count_and_children(pid: u32) -> (usize, Vec<String>) {
    let fds = fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count();
    let mut kids = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Ok(stat) = fs::read_to_string(format!("/proc/{name}/stat")) {
            let after = stat.rsplit_once(')').map(|(_, a)| a).unwrap_or("");
            let f: Vec<&str> = after.split_whitespace().collect();
            if f.get(1) == Some(&pid.to_string().as_str()) {
                kids.push(format!("{name} {}", f[0]));
            }
        }
    }
    (fds, kids)
}

/// Kills and reaps a spawned nanny even if the test fails.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        // SIGTERM: the nanny kills its check in flight and exits.
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let end = Instant::now() + Duration::from_secs(3);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Over `d`: the fewest fds seen (a check in flight holds two more) and
/// the most children seen.
fn sample(pid: u32, d: Duration) -> (usize, usize) {
    let end = Instant::now() + d;
    let (mut fds, mut kids) = (usize::MAX, 0);
    while Instant::now() < end {
        let (f, k) = fd_count_and_children(pid);
        fds = fds.min(f);
        kids = kids.max(k.len());
        std::thread::sleep(Duration::from_millis(3));
    }
    (fds, kids)
}

#[test]
fn the_daemon_loop_leaks_nothing_either() {
    use std::process::{Command, Stdio};
    let nanny = |check: &[&str]| {
        Reaped(
            Command::new(env!("CARGO_BIN_EXE_nanny"))
                .args(["-h", "127.0.0.1", "-p", "9", "-t", "0.02", "--timeout", "0.01", "--report"])
                .args(check)
                .env("RUST_LOG", "off")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    };
    // Every 20 ms: a program that fails at once, and one that forks a
    // sleeper and hangs past its 10 ms timeout (every check is a kill).
    let fail = nanny(&["--agent", "/bin/false"]);
    let hang = nanny(&["-e", "sh -c sleep${IFS}1006.5&sleep${IFS}1006.5"]);
    std::thread::sleep(Duration::from_millis(500));
    let f1 = sample(fail.0.id(), Duration::from_millis(500));
    let h1 = sample(hang.0.id(), Duration::from_millis(500));
    std::thread::sleep(Duration::from_secs(3));
    let f2 = sample(fail.0.id(), Duration::from_millis(500));
    let h2 = sample(hang.0.id(), Duration::from_millis(500));
    assert_eq!(f1.0, f2.0, "fds of the failing-program nanny");
    assert_eq!(h1.0, h2.0, "fds of the hanging-program nanny");
    // Never more than the one check in flight (or being killed).
    assert!(f1.1 <= 1 && f2.1 <= 1 && h1.1 <= 1 && h2.1 <= 1, "{f1:?} {f2:?} {h1:?} {h2:?}");
    drop(fail);
    drop(hang);
    // SIGTERM killed the check in flight with its group.
    let end = Instant::now() + Duration::from_secs(2);
    while !processes_with("sleep 1006.5").is_empty() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(processes_with("sleep 1006.5").is_empty());
}
