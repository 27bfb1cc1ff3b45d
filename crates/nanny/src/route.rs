//! Where a probe's packets go: straight to the real server, or through the
//! data path (`--via-mark`): to the virtual address and port, carrying a
//! firewall mark (`SO_MARK`) that selects lvsd's private IPVS service
//! holding only this real server. IPVS forwards such a probe as it forwards
//! a client's packets (direct routing or tunnelling), so the real server
//! answers only if it holds the VIP on its loopback or tunnel endpoint, as
//! Seesaw and Katran check.
//!
//! The marked socket is bound to the router's own address toward the real
//! server, not left to the routing table: on the router that holds the VIP,
//! a socket connected to the VIP would take the VIP as its source, and the
//! real server would answer itself. The real server's answer comes from
//! the VIP, a local address of that router: lvsd sets `accept_local` so the
//! router takes it.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};

use mio::net::{TcpStream, UdpSocket};
use nix::errno::Errno;
use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockType, SockaddrStorage};

/// How a probe reaches its server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// To the real server's address and port.
    Direct,
    /// To `vip` with firewall mark `mark`, through IPVS.
    Via {
        /// The virtual address and port.
        vip: SocketAddr,
        /// The mark of the private service.
        mark: u32,
    },
}

impl Route {
    /// A non-blocking TCP socket connecting to `server` by this route.
    ///
    /// # Errors
    /// The socket cannot be made, marked, bound or connected.
    pub fn tcp(&self, server: SocketAddr) -> io::Result<TcpStream> {
        match *self {
            Route::Direct => TcpStream::connect(server),
            Route::Via { vip, mark } => {
                let fd = marked(vip, SockType::Stream, mark, server.ip())?;
                match socket::connect(fd.as_raw_fd(), &SockaddrStorage::from(vip)) {
                    Ok(()) | Err(Errno::EINPROGRESS) => {}
                    Err(e) => return Err(e.into()),
                }
                Ok(TcpStream::from_std(std::net::TcpStream::from(fd)))
            }
        }
    }

    /// A non-blocking UDP socket connected to `server` by this route.
    ///
    /// # Errors
    /// The socket cannot be made, marked, bound or connected.
    pub fn udp(&self, server: SocketAddr) -> io::Result<UdpSocket> {
        match *self {
            Route::Direct => {
                let sock = UdpSocket::bind(SocketAddr::new(unspecified(server.ip()), 0))?;
                sock.connect(server)?;
                Ok(sock)
            }
            Route::Via { vip, mark } => {
                let fd = marked(vip, SockType::Datagram, mark, server.ip())?;
                socket::connect(fd.as_raw_fd(), &SockaddrStorage::from(vip))?;
                Ok(UdpSocket::from_std(std::net::UdpSocket::from(fd)))
            }
        }
    }

    /// What a check result adds about the route, for the log and lvsd.
    pub fn note(&self) -> String {
        match self {
            Route::Direct => String::new(),
            Route::Via { vip, mark } => format!(" (through {vip}, mark {mark:#x})"),
        }
    }
}

fn unspecified(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        IpAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    }
}

/// The address this host sends from toward `ip`, as the routing table
/// chooses it: a UDP socket's `connect` sends nothing.
fn source_toward(ip: IpAddr) -> io::Result<IpAddr> {
    let s = std::net::UdpSocket::bind(SocketAddr::new(unspecified(ip), 0))?;
    s.connect(SocketAddr::new(ip, 9))?;
    Ok(s.local_addr()?.ip())
}

/// A non-blocking socket for `to`'s family, marked, and bound to this
/// host's address toward `server`.
fn marked(to: SocketAddr, ty: SockType, mark: u32, server: IpAddr) -> io::Result<OwnedFd> {
    let family = if to.is_ipv6() { AddressFamily::Inet6 } else { AddressFamily::Inet };
    let fd = socket::socket(family, ty, SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC, None)?;
    socket::setsockopt(&fd, sockopt::Mark, &mark)?;
    let source = source_toward(server)?;
    socket::bind(fd.as_raw_fd(), &SockaddrStorage::from(SocketAddr::new(source, 0)))?;
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// A marked probe reaches a listener at the "virtual" address, from
    /// the address toward the "server", and carries its mark. (Without
    /// IPVS the mark steers nothing; the VM suite `vm_datapath` proves the
    /// steering.) Needs CAP_NET_ADMIN for `SO_MARK`.
    #[test]
    fn a_marked_socket_connects_to_the_vip_from_the_source_toward_the_server() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let vip = l.local_addr().unwrap();
        let route = Route::Via { vip, mark: 0x4c56_0001 };
        let s = route.tcp("127.0.0.2:80".parse().unwrap()).unwrap();
        let (mut accepted, peer) = l.accept().unwrap();
        assert_eq!(peer.ip(), "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(socket::getsockopt(&s, sockopt::Mark).unwrap(), 0x4c56_0001);
        drop(s);
        let mut buf = [0u8; 1];
        assert_eq!(accepted.read(&mut buf).unwrap(), 0, "closed");
        assert_eq!(route.note(), format!(" (through {vip}, mark 0x4c560001)"));

        let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let route = Route::Via { vip: u.local_addr().unwrap(), mark: 7 };
        let s = route.udp("127.0.0.1:53".parse().unwrap()).unwrap();
        s.send(b"x").unwrap();
        let mut buf = [0u8; 4];
        let (n, from) = u.recv_from(&mut buf).unwrap();
        assert_eq!((n, from), (1, s.local_addr().unwrap()));
        assert_eq!(socket::getsockopt(&s, sockopt::Mark).unwrap(), 7);
    }
}
