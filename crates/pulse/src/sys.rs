//! The only `unsafe` of pulse: real-time scheduling for the loop thread
//! (and the threads that must run before it), and pinning a thread to a
//! CPU.
//!
//! A heartbeat loop must run when its deadline comes, whatever else the
//! router does: on a busy router (health checks, lvsd's resyncs, an
//! operator's scripts) a normal-priority thread can wait tens of
//! milliseconds for a CPU, which the stall detector counts and the peer may
//! take for a death. So the loop runs `SCHED_RR`, as corosync runs its
//! totem loop and keepalived (`vrrp_rt_priority`) its VRRP one; its turns
//! are short (VIP work and processes are on other threads, `host`), so
//! it takes the CPU from nothing else for long, and the kernel's real-time
//! throttling keeps 5% for the rest should it ever spin.
//! `SCHED_RESET_ON_FORK` keeps it to the threads that ask: the threads the
//! loop starts (spawner, reload, HTTP) and every process run at the normal
//! priority. The network worker, which brings a takeover's VIPs up and
//! announces them, asks for a lower real-time priority than the loop's: it
//! goes before every normal task, and the loop goes before it.

/// The loop's real-time priority: above any normal task, below the
/// kernel's own real-time threads (priority 50 for threaded interrupts).
pub const PRIORITY: i32 = 10;

/// The network worker's: below the loop's.
pub const NET_PRIORITY: i32 = 5;

/// The stall detector's canaries' (`crate::canary`): above the loop's, so
/// that a canary is late only when nothing of pulse's could run on its
/// CPU, never because the loop itself kept it waiting.
pub const CANARY_PRIORITY: i32 = 20;

/// The CPUs this process may run on (an empty list if the kernel does not
/// say).
pub fn allowed_cpus() -> Vec<usize> {
    use nix::sched::{sched_getaffinity, CpuSet};
    let Ok(set) = sched_getaffinity(nix::unistd::Pid::from_raw(0)) else { return Vec::new() };
    (0..CpuSet::count()).filter(|&c| set.is_set(c).unwrap_or(false)).collect()
}

/// Keeps the calling thread on CPU `cpu` only.
///
/// # Errors
/// The OS error (`EINVAL` for a CPU that is offline or not allowed).
pub fn pin_here(cpu: usize) -> nix::Result<()> {
    let mut set = nix::sched::CpuSet::new();
    set.set(cpu)?;
    // nix's wrapper is safe: it passes its own `cpu_set_t` and its size.
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
}

/// Puts the calling thread under `SCHED_RR` at `priority`, its children
/// and new threads reset to normal scheduling.
///
/// # Errors
/// The OS error (`EPERM` without `CAP_SYS_NICE` or under a real-time
/// limit of 0).
pub fn realtime_here(priority: i32) -> std::io::Result<()> {
    let param = libc::sched_param { sched_priority: priority };
    // SAFETY: sched_setscheduler(2) only reads the `sched_param` passed by
    // reference, which lives across the call; pid 0 is the calling thread.
    let r =
        unsafe { libc::sched_setscheduler(0, libc::SCHED_RR | libc::SCHED_RESET_ON_FORK, &param) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
