//! The only `unsafe` of pulse: real-time scheduling for the loop thread.
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
