//! Kernel-stamped receive for the failover benchmarks
//! (`tests/vm/bench_failover*.rs`): datagrams and captured frames carry the
//! time the kernel received them, so a benchmark thread that runs late in a
//! busy guest does not move its measurements.

use std::io::IoSliceMut;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use nix::sys::socket::{self, ControlMessageOwned, MsgFlags, SockaddrStorage};
use nix::sys::time::TimeSpec;

/// `sll_pkttype` of a frame this host sent, seen on a packet socket.
pub const PACKET_OUTGOING: u8 = 4;

/// Receives one datagram or frame with its arrival time as the kernel
/// stamped it (`SO_TIMESTAMPNS` must be on), and the packet type for
/// packet sockets. `None` on a timeout or error.
pub fn recv_stamped(fd: &impl AsRawFd, buf: &mut [u8]) -> Option<(usize, Instant, Option<u8>)> {
    let mut iov = [IoSliceMut::new(buf)];
    let mut space = nix::cmsg_space!(TimeSpec);
    let msg = socket::recvmsg::<SockaddrStorage>(
        fd.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .ok()?;
    let stamp = msg.cmsgs().ok()?.find_map(|c| match c {
        ControlMessageOwned::ScmTimestampns(t) => Some(t),
        _ => None,
    });
    let pkttype = msg.address.and_then(|a| a.as_link_addr().map(|l| l.pkttype()));
    Some((msg.bytes, stamp.map_or_else(Instant::now, arrival), pkttype))
}

/// The monotonic time of a kernel stamp (wall clock).
pub fn arrival(t: TimeSpec) -> Instant {
    let stamp = Duration::new(t.tv_sec().unsigned_abs(), t.tv_nsec().unsigned_abs() as u32);
    let now = Instant::now();
    let wall =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    now.checked_sub(wall.saturating_sub(stamp)).unwrap_or(now)
}
