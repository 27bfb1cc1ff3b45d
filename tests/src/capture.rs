//! Kernel-stamped receive for the failover benchmarks
//! (`tests/vm/bench_failover*.rs`): datagrams and captured frames carry the
//! time the kernel received them, so a benchmark thread that runs late in a
//! busy guest does not move its measurements. [`Watch`] is the capture both
//! benchmarks run on the standby's link (heartbeats in, gratuitous ARPs out).

use std::io::IoSliceMut;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockProtocol, SockType};
use nix::sys::socket::{ControlMessageOwned, MsgFlags, SockaddrStorage};
use nix::sys::time::TimeSpec;
use testbed::Netns;

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

/// What the failover benchmarks time on the standby router's link, with the
/// kernel's arrival times: every heartbeat (UDP to pulse's port 539) or VRRP
/// advertisement (IP protocol 112) from the active router that arrives, and
/// every gratuitous ARP for the VIP that the standby sends.
#[derive(Debug, Default)]
pub struct Watch {
    heartbeats: Arc<Mutex<Vec<Instant>>>,
    arps: Arc<Mutex<Vec<Instant>>>,
}

impl Watch {
    /// Captures on every link of `ns` (the standby) until the process ends:
    /// heartbeats from `from` (the active router), ARPs for `vip`. Panics
    /// when the packet socket cannot be opened: a benchmark without its
    /// capture has nothing to measure.
    pub fn start(&self, ns: &Netns, from: Ipv4Addr, vip: Ipv4Addr) {
        let fd = ns
            .enter(|| {
                socket::socket(
                    AddressFamily::Packet,
                    SockType::Raw,
                    SockFlag::SOCK_CLOEXEC,
                    SockProtocol::EthAll,
                )
            })
            .unwrap_or_else(|e| panic!("cannot enter {}: {e}", ns.name()))
            .unwrap_or_else(|e| panic!("no packet socket in {}: {e}", ns.name()));
        socket::setsockopt(&fd, sockopt::ReceiveTimestampns, &true)
            .unwrap_or_else(|e| panic!("no SO_TIMESTAMPNS: {e}"));
        let (heartbeats, arps) = (Arc::clone(&self.heartbeats), Arc::clone(&self.arps));
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            loop {
                let Some((n, at, pkttype)) = recv_stamped(&fd, &mut buf) else { continue };
                let f = &buf[..n];
                if f.len() < 42 {
                    continue;
                }
                let outgoing = pkttype == Some(PACKET_OUTGOING);
                // A gratuitous ARP the standby sends: sender and target the VIP.
                if outgoing && f[12..14] == [8, 6] && f[28..32] == vip.octets() {
                    if f[38..42] == vip.octets() {
                        lock(&arps).push(at);
                    }
                    continue;
                }
                // IPv4 from the active router.
                if outgoing || f[12..14] != [8, 0] || f[26..30] != from.octets() {
                    continue;
                }
                let ip = &f[14..];
                let udp = &ip[usize::from(ip[0] & 0xf) * 4..];
                let heartbeat = match ip[9] {
                    112 => true,
                    17 => udp.len() >= 4 && u16::from_be_bytes([udp[2], udp[3]]) == 539,
                    _ => false,
                };
                if heartbeat {
                    lock(&heartbeats).push(at);
                }
            }
        });
    }

    /// The first gratuitous ARP the standby sent after `t`.
    pub fn arp_after(&self, t: Instant) -> Option<Instant> {
        lock(&self.arps).iter().find(|a| **a > t).copied()
    }

    /// The first heartbeat that arrives after `t`, waiting up to `limit`.
    pub fn heartbeat_after(&self, t: Instant, limit: Duration) -> Option<Instant> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(h) = lock(&self.heartbeats).iter().find(|h| **h > t) {
                return Some(*h);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The last heartbeat that arrived before `t`.
    pub fn heartbeat_before(&self, t: Instant) -> Option<Instant> {
        lock(&self.heartbeats).iter().rev().find(|h| **h <= t).copied()
    }

    /// Every heartbeat so far.
    pub fn heartbeats(&self) -> Vec<Instant> {
        lock(&self.heartbeats).clone()
    }

    /// Forgets what was captured, so that the next run's searches are short.
    pub fn clear(&self) {
        lock(&self.heartbeats).clear();
        lock(&self.arps).clear();
    }
}

/// A list the capture thread may have left poisoned by a panic: its
/// entries are still the arrivals it recorded.
fn lock(m: &Mutex<Vec<Instant>>) -> MutexGuard<'_, Vec<Instant>> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
