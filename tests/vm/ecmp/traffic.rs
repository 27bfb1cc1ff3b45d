//! The client's side: connections and requests through the VIP from a
//! chosen source, long-lived sessions, and what each director's IPVS
//! connection table holds.

use super::*;

/// A TCP connection from the client namespace, from `src`, to `to`.
pub(super) fn connect_from(
    src: SocketAddrV4,
    to: SocketAddrV4,
    limit: Duration,
) -> std::io::Result<TcpStream> {
    let fd: OwnedFd =
        socket::socket(AddressFamily::Inet, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)?;
    socket::bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrIn::from(src))?;
    // A blocking connect gives up after SO_SNDTIMEO.
    socket::setsockopt(
        &fd,
        sockopt::SendTimeout,
        &nix::sys::time::TimeVal::new(
            i64::try_from(limit.as_secs()).unwrap(),
            i64::from(limit.subsec_micros()),
        ),
    )?;
    socket::connect(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrIn::from(to))?;
    let s = TcpStream::from(fd);
    s.set_read_timeout(Some(limit))?;
    s.set_write_timeout(Some(limit))?;
    Ok(s)
}

/// One HTTP request through the VIP: the real server's name.
pub(super) fn get(src: Ipv4Addr, limit: Duration) -> Option<String> {
    get_from(SocketAddrV4::new(src, 0), limit)
}

/// [`get`] from a given source port (0: the kernel's choice).
pub(super) fn get_from(src: SocketAddrV4, limit: Duration) -> Option<String> {
    let mut s = connect_from(src, SocketAddrV4::new(WEB, 80), limit).ok()?;
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
    let mut reply = String::new();
    s.read_to_string(&mut reply).ok()?;
    reply.split("\r\n\r\n").nth(1).map(str::to_owned)
}

/// A long-lived connection: the echo session of [`RealServer`].
pub(super) struct Session {
    reader: BufReader<TcpStream>,
    /// Client address and port, as IPVS lists it.
    pub(super) client: SocketAddrV4,
    pub(super) server: String,
}

impl Session {
    pub(super) fn open(src: Ipv4Addr) -> Session {
        let s = connect_from(
            SocketAddrV4::new(src, 0),
            SocketAddrV4::new(WEB, 80),
            Duration::from_secs(5),
        )
        .unwrap();
        let client = match s.local_addr().unwrap() {
            SocketAddr::V4(a) => a,
            SocketAddr::V6(_) => unreachable!(),
        };
        let mut sess = Session { reader: BufReader::new(s), client, server: String::new() };
        sess.server = sess.ask("hello").unwrap();
        sess
    }

    /// Sends a line; the name of the real server that echoed it.
    pub(super) fn ask(&mut self, line: &str) -> Option<String> {
        self.reader.get_mut().write_all(format!("{line}\n").as_bytes()).ok()?;
        let mut reply = String::new();
        if self.reader.read_line(&mut reply).ok()? == 0 {
            return None;
        }
        let (name, rest) = reply.trim_end().split_once(' ')?;
        (rest == line).then(|| name.to_owned())
    }

    /// Ends the connection both ways.
    pub(super) fn close(&mut self) {
        let _ = self.reader.get_mut().shutdown(std::net::Shutdown::Both);
    }

    /// Whether it still works, with the same real server.
    pub(super) fn works(&mut self, n: usize) -> bool {
        self.ask(&format!("ping{n}")).is_some_and(|s| s == self.server)
    }
}

/// `/proc/net/ip_vs_conn` of a director: the client address and port of
/// each connection.
pub(super) fn ipvs_clients(ns: &Netns) -> BTreeSet<SocketAddrV4> {
    let text = ns.read_proc_net("ip_vs_conn").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let a = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let p = u16::from_str_radix(f.get(2)?, 16).ok()?;
            Some(SocketAddrV4::new(Ipv4Addr::from(a), p))
        })
        .collect()
}

/// Connections scheduled by a director so far (`/proc/net/ip_vs_stats`).
pub(super) fn ipvs_conns(ns: &Netns) -> u64 {
    let text = ns.read_proc_net("ip_vs_stats").unwrap_or_default();
    text.lines()
        .nth(2)
        .and_then(|l| l.split_whitespace().next())
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or(0)
}
