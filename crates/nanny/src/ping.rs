//! The `ping` check's socket: one ICMP (or ICMPv6) socket per nanny, opened
//! at the first check and kept, unprivileged where the kernel allows it.
//! The messages themselves are built and parsed by the pure [`crate::icmp`].
//!
//! An unprivileged "ping socket" (`SOCK_DGRAM`, `IPPROTO_ICMP[V6]`) needs
//! the process's group in `net.ipv4.ping_group_range` (which also governs
//! IPv6); it needs no capability, and the kernel sets the identifier and
//! hands it only the replies to it. Otherwise a raw socket (needs
//! `CAP_NET_RAW`, as piranha's nanny did), which sees every echo reply to
//! the host: ours are told apart by identifier, sequence, source and
//! payload. nanny never runs `ping(8)`.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use mio::unix::SourceFd;
use mio::{Interest, Registry};
use nix::errno::Errno;
use nix::sys::socket::{
    recvfrom, sendto, socket, AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType,
    SockaddrStorage,
};

use crate::icmp::{self, Family};
use crate::probe::{Outcome, SOCKET};

/// An open echo socket and the sequence numbers it has used.
#[derive(Debug)]
pub struct EchoSocket {
    fd: OwnedFd,
    family: Family,
    /// Raw (privileged) rather than a ping socket.
    raw: bool,
    /// Our identifier on a raw socket (the kernel picks it on a ping socket).
    id: u16,
    next_seq: u16,
}

impl EchoSocket {
    /// Opens a ping socket, or a raw one where ping sockets are not allowed.
    pub fn open(family: Family) -> io::Result<EchoSocket> {
        let (af, proto) = match family {
            Family::V4 => (AddressFamily::Inet, SockProtocol::Icmp),
            Family::V6 => (AddressFamily::Inet6, SockProtocol::IcmpV6),
        };
        let flags = SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC;
        let (fd, raw) = match socket(af, SockType::Datagram, flags, proto) {
            Ok(fd) => (fd, false),
            // Not in ping_group_range (EACCES), or no ping sockets at all.
            Err(Errno::EACCES | Errno::EPERM | Errno::EPROTONOSUPPORT | Errno::ESOCKTNOSUPPORT) => {
                (socket(af, SockType::Raw, flags, proto).map_err(io::Error::from)?, true)
            }
            Err(e) => return Err(e.into()),
        };
        // One nanny per process: the pid tells its raw-socket replies apart.
        let id = (std::process::id() & 0xffff) as u16;
        Ok(EchoSocket { fd, family, raw, id, next_seq: 0 })
    }

    /// "ping" or "raw", for logs.
    pub fn kind(&self) -> &'static str {
        if self.raw {
            "raw"
        } else {
            "ping"
        }
    }
}

/// The socket a nanny's `ping` check keeps between checks (opened lazily,
/// shared by the check's clones).
#[derive(Debug, Clone, Default)]
pub struct Shared(Arc<Mutex<Option<EchoSocket>>>);

/// An echo check in flight.
#[derive(Debug)]
pub struct PingProbe {
    shared: Shared,
    addr: IpAddr,
    /// Sequence numbers sent by this check.
    first_seq: u16,
    count: u16,
    started: Instant,
    /// Datagrams received that were not our replies.
    ignored: u32,
}

fn family_of(a: IpAddr) -> Family {
    match a {
        IpAddr::V4(_) => Family::V4,
        IpAddr::V6(_) => Family::V6,
    }
}

impl PingProbe {
    /// Sends `count` echo requests to `addr` at once; the first reply
    /// decides. `Err`: known at once (no socket, no route).
    pub fn start(
        shared: &Shared,
        addr: IpAddr,
        count: u16,
        registry: &Registry,
    ) -> Result<PingProbe, Outcome> {
        let family = family_of(addr);
        let mut guard = shared.0.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.as_ref().is_some_and(|s| s.family != family) {
            *guard = None;
        }
        if guard.is_none() {
            let s = EchoSocket::open(family)
                .map_err(|e| Outcome::down(format!("cannot open an ICMP socket: {e}")))?;
            log::info!("ping check: opened a {} ICMP socket", s.kind());
            *guard = Some(s);
        }
        let Some(sock) = guard.as_mut() else {
            return Err(Outcome::down("ICMP socket vanished"));
        };
        let raw_fd = sock.fd.as_raw_fd();
        // Replies still queued from an earlier, timed-out check are read
        // and ignored (their sequence numbers are old).
        registry
            .register(&mut SourceFd(&raw_fd), SOCKET, Interest::READABLE)
            .map_err(|e| Outcome::down(format!("register ICMP socket: {e}")))?;
        let dest = SockaddrStorage::from(SocketAddr::new(addr, 0));
        let first_seq = sock.next_seq;
        let count = count.max(1);
        for i in 0..count {
            let msg = icmp::request(family, sock.id, first_seq.wrapping_add(i));
            if let Err(e) = sendto(raw_fd, &msg, &dest, MsgFlags::empty()) {
                let _ = registry.deregister(&mut SourceFd(&raw_fd));
                return Err(Outcome::down(format!(
                    "echo request to {addr}: {}",
                    io::Error::from(e)
                )));
            }
        }
        sock.next_seq = first_seq.wrapping_add(count);
        Ok(PingProbe {
            shared: shared.clone(),
            addr,
            first_seq,
            count,
            started: Instant::now(),
            ignored: 0,
        })
    }

    /// Reads what arrived; `Some` at our first reply (or a socket error).
    pub fn advance(&mut self, registry: &Registry) -> Option<Outcome> {
        let guard = self.shared.0.lock().unwrap_or_else(PoisonError::into_inner);
        let sock = guard.as_ref()?;
        let raw_fd = sock.fd.as_raw_fd();
        let mut buf = [0u8; 1500];
        let outcome = loop {
            let (n, from) = match recvfrom::<SockaddrStorage>(raw_fd, &mut buf) {
                Ok(r) => r,
                Err(Errno::EAGAIN) => return None,
                Err(Errno::EINTR) => continue,
                Err(e) => {
                    break Outcome::down(format!("ICMP from {}: {}", self.addr, io::Error::from(e)))
                }
            };
            let from_ip = from.as_ref().and_then(source_ip);
            let ip_header = sock.raw && sock.family == Family::V4;
            match icmp::parse_reply(sock.family, &buf[..n], ip_header) {
                Ok(r)
                    if from_ip == Some(self.addr)
                        && r.ours
                        && (!sock.raw || r.id == sock.id)
                        && r.seq.wrapping_sub(self.first_seq) < self.count =>
                {
                    let ms = self.started.elapsed().as_secs_f64() * 1000.0;
                    break Outcome::up(format!(
                        "echo reply from {} (seq {}) in {ms:.1} ms",
                        self.addr, r.seq
                    ));
                }
                // Another host's reply, an old one, our own request seen
                // on a raw socket, or garbage: dropped and counted.
                _ => self.ignored = self.ignored.saturating_add(1),
            }
        };
        let _ = registry.deregister(&mut SourceFd(&raw_fd));
        Some(outcome)
    }

    /// The deadline passed without a reply.
    pub fn time_out(self, secs: f64, registry: &Registry) -> Outcome {
        let guard = self.shared.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sock) = guard.as_ref() {
            let _ = registry.deregister(&mut SourceFd(&sock.fd.as_raw_fd()));
        }
        let n = self.count;
        let other = if self.ignored > 0 {
            format!(" ({} other ICMP messages ignored)", self.ignored)
        } else {
            String::new()
        };
        Outcome::down(format!(
            "no echo reply from {} to {n} request{} within {secs}s{other}",
            self.addr,
            if n == 1 { "" } else { "s" }
        ))
    }
}

fn source_ip(s: &SockaddrStorage) -> Option<IpAddr> {
    if let Some(a) = s.as_sockaddr_in() {
        return Some(IpAddr::V4(a.ip()));
    }
    s.as_sockaddr_in6().map(|a| IpAddr::V6(a.ip()))
}
