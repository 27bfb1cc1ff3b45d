//! Tiny TCP and UDP servers living in a namespace: each answers every
//! request with a fixed reply, typically the name of the real server, so a
//! test sees which server the director picked.
//!
//! A server runs on its own thread until dropped; it counts the requests
//! it answered.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::{Error, Netns, Result};

/// How often the server threads look at their stop flag.
const POLL: Duration = Duration::from_millis(20);
/// How long a TCP server waits for the end of a request before answering.
const REQUEST_WAIT: Duration = Duration::from_millis(500);

#[derive(Debug)]
struct Running {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    served: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl Running {
    fn spawn(
        addr: SocketAddr,
        body: impl FnOnce(Arc<AtomicBool>, Arc<AtomicUsize>) + Send + 'static,
    ) -> Running {
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicUsize::new(0));
        let (s, c) = (stop.clone(), served.clone());
        let thread = Some(std::thread::spawn(move || body(s, c)));
        Running { addr, stop, served, thread }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A TCP server answering each connection with a fixed reply.
#[derive(Debug)]
pub struct TcpServer(Running);

impl TcpServer {
    /// Listens on `addr` in `ns`; for each connection it reads the request
    /// (until a newline, the end of the stream or 0.5 s of silence), sends
    /// `reply` and closes.
    ///
    /// # Errors
    /// When the address cannot be bound in the namespace.
    pub fn start(ns: &Netns, addr: SocketAddr, reply: impl Into<Vec<u8>>) -> Result<TcpServer> {
        let reply = reply.into();
        Self::spawn(
            ns,
            addr,
            move |request: &[u8]| request.is_empty() || request.ends_with(b"\n"),
            reply,
        )
    }

    /// Listens on `addr` in `ns` as an HTTP/1.0 server whose every page is
    /// `body`, answered with `200 OK` once the request's header is read.
    ///
    /// # Errors
    /// When the address cannot be bound in the namespace.
    pub fn http(ns: &Netns, addr: SocketAddr, body: &str) -> Result<TcpServer> {
        let reply = format!(
            "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        Self::spawn(
            ns,
            addr,
            |request: &[u8]| {
                request.windows(4).any(|w| w == b"\r\n\r\n")
                    || request.windows(2).any(|w| w == b"\n\n")
            },
            reply.into_bytes(),
        )
    }

    fn spawn(
        ns: &Netns,
        addr: SocketAddr,
        complete: fn(&[u8]) -> bool,
        reply: Vec<u8>,
    ) -> Result<TcpServer> {
        let listener = ns
            .enter(|| TcpListener::bind(addr))?
            .map_err(Error::io(format!("cannot listen on TCP {addr} in {}", ns.name())))?;
        let addr = listener.local_addr().map_err(Error::io("cannot read a listener's address"))?;
        listener.set_nonblocking(true).map_err(Error::io("cannot make a listener non-blocking"))?;
        Ok(TcpServer(Running::spawn(addr, move |stop, served| {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if let Err(e) = answer(stream, complete, &reply, &served) {
                            log::warn!("test TCP server on {addr}: {e}");
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(POLL),
                    Err(e) => log::warn!("test TCP server on {addr}: accept: {e}"),
                }
            }
        })))
    }

    /// The address it listens on (with the port the kernel chose for 0).
    pub fn addr(&self) -> SocketAddr {
        self.0.addr
    }

    /// How many connections it answered (counted before each is closed).
    pub fn served(&self) -> usize {
        self.0.served.load(Ordering::Relaxed)
    }
}

/// Reads one request from `stream`, answers it and counts it in `served`
/// before closing: a client that saw the end of the reply sees the count.
fn answer(
    mut stream: TcpStream,
    complete: fn(&[u8]) -> bool,
    reply: &[u8],
    served: &AtomicUsize,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(POLL))?;
    let started = Instant::now();
    let mut request = Vec::new();
    let mut buf = [0; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                request.extend_from_slice(&buf[..n]);
                if complete(&request) {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return Err(e),
        }
        if started.elapsed() >= REQUEST_WAIT {
            break;
        }
    }
    stream.write_all(reply)?;
    stream.flush()?;
    served.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// A UDP server answering each datagram with a fixed reply.
#[derive(Debug)]
pub struct UdpServer(Running);

impl UdpServer {
    /// Binds `addr` in `ns` and answers every datagram with `reply`.
    ///
    /// # Errors
    /// When the address cannot be bound in the namespace.
    pub fn start(ns: &Netns, addr: SocketAddr, reply: impl Into<Vec<u8>>) -> Result<UdpServer> {
        let reply = reply.into();
        let socket = ns
            .enter(|| UdpSocket::bind(addr))?
            .map_err(Error::io(format!("cannot bind UDP {addr} in {}", ns.name())))?;
        let addr = socket.local_addr().map_err(Error::io("cannot read a socket's address"))?;
        socket.set_read_timeout(Some(POLL)).map_err(Error::io("cannot set a read timeout"))?;
        Ok(UdpServer(Running::spawn(addr, move |stop, served| {
            let mut buf = vec![0; 65536];
            while !stop.load(Ordering::Relaxed) {
                match socket.recv_from(&mut buf) {
                    Ok((_, from)) => {
                        // Counted first: a client that got the reply sees
                        // the count.
                        served.fetch_add(1, Ordering::Relaxed);
                        if let Err(e) = socket.send_to(&reply, from) {
                            log::warn!("test UDP server on {addr}: reply to {from}: {e}");
                        }
                    }
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    Err(e) => log::warn!("test UDP server on {addr}: {e}"),
                }
            }
        })))
    }

    /// The address it is bound to.
    pub fn addr(&self) -> SocketAddr {
        self.0.addr
    }

    /// How many datagrams it answered (counted before each reply is sent).
    pub fn served(&self) -> usize {
        self.0.served.load(Ordering::Relaxed)
    }
}
