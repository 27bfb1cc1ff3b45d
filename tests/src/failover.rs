//! What the two failover benchmarks (`tests/vm/bench_failover.rs`, pulse
//! against keepalived without IPVS, and `tests/vm/bench_failover_ipvs.rs`,
//! through IPVS) share, so that they measure the same way: the equal timers
//! both daemons are given, and [`Watch`], the capture on the standby's link
//! that times heartbeats in and gratuitous ARPs out.

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockProtocol, SockType};
use testbed::Netns;

use crate::capture::{recv_stamped, PACKET_OUTGOING};

/// keepalived's backup priority: its backup declares the master down after
/// 3 adverts plus a skew of (256 - 253) / 256 of an advert (RFC 5798
/// Master_Down_Interval); its timers count microseconds.
pub const BACKUP_PRIORITY: u64 = 253;

/// Timers: the interval between heartbeats/adverts.
#[derive(Clone, Copy, Debug)]
pub struct Timers {
    /// Heartbeat (pulse) and advert (keepalived) interval.
    pub interval_ms: u64,
}

impl Timers {
    /// The silence after which the backup takes over, in microseconds:
    /// keepalived's master-down interval.
    pub fn dead_us(self) -> u64 {
        let advert_us = self.interval_ms * 1000;
        3 * advert_us + (256 - BACKUP_PRIORITY) * advert_us / 256
    }

    /// pulse's deadtime: the same interval to the nearest millisecond (its
    /// setting's unit), so both wait equally long (within 0.5 ms).
    pub fn pulse_deadtime_ms(self) -> u64 {
        (self.dead_us() + 500) / 1000
    }
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
