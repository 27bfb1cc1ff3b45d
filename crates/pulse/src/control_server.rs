//! The control socket's IO: a non-blocking listener and one small state
//! machine per connection, all driven by pulse's mio loop, so no client can
//! hold the loop: a connection never costs more than the bytes already
//! queued on it, lives at most [`DEADLINE`], and at most [`MAX_OPEN`] are
//! open at once (more are answered `error: busy` and closed).
//!
//! Peer credentials are read at accept, before any byte of the request: a
//! client that is not root gets its refusal at once. Every connection ends
//! the same way: the reply is written, our side is shut down for writing,
//! and what the client still sends is read and dropped until it closes
//! (closing a Unix socket with unread data would reset it, and the client
//! would lose the reply), or the deadline passes.
//!
//! The protocol (what a request means, how status is rendered) is in
//! `crate::control`; this module only moves bytes.

use std::io::{self, ErrorKind, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Registry, Token};

/// How long a connection may stay open, from accept to close.
pub const DEADLINE: Duration = Duration::from_secs(1);
/// Most connections open at once.
pub const MAX_OPEN: usize = 16;
/// Longest request line read; a longer one is answered as it is cut.
const MAX_REQUEST: usize = 256;
/// Most bytes dropped from one connection per wake-up while draining, so a
/// client writing without end cannot keep the loop reading.
const MAX_DRAIN: usize = 64 * 1024;
/// Most connections accepted (or refused) per turn of the loop: a burst
/// waits in the listener's backlog for the next turns, which come at once,
/// instead of making one long turn (100 at once took 30 to 70 ms of the
/// loop in the emulated test guest).
pub const ACCEPT_PER_TURN: usize = 8;

/// Where a connection is.
#[derive(Debug)]
enum State {
    /// Root: reading the request line.
    Reading,
    /// The request has been handed to the daemon; waiting for its reply.
    Answering,
    /// Writing the reply from `out[written..]`.
    Writing,
    /// Reply sent, write side shut: reading and dropping until EOF.
    Draining,
}

#[derive(Debug)]
struct Conn {
    stream: UnixStream,
    /// The peer's uid, read at accept (always 0: others are refused).
    uid: u32,
    deadline: Instant,
    state: State,
    request: Vec<u8>,
    out: Vec<u8>,
    written: usize,
}

/// A request line read in full from a root client.
#[derive(Debug)]
pub struct Pending {
    /// Which connection, for [`ControlServer::reply`].
    pub token: Token,
    /// The request line (lossy UTF-8, at most 256 bytes).
    pub line: String,
    /// The caller's uid (from its credentials at accept), for the log.
    pub uid: u32,
}

/// The listener and its open connections.
#[derive(Debug)]
pub struct ControlServer {
    listener: UnixListener,
    listener_token: Token,
    first: usize,
    conns: Vec<Option<Conn>>,
    refused_busy: u64,
    /// The last accept stopped at [`ACCEPT_PER_TURN`], not at an empty
    /// backlog: the next turn accepts again without waiting for an event.
    backlog: bool,
    /// Connections refused busy in the burst under way (one warning each).
    busy_in_burst: u64,
}

impl ControlServer {
    /// Binds `path` (mode 0600; a stale socket is replaced, a live one or
    /// any other file is an error) and registers it as `listener_token`;
    /// connections get tokens `first..first + MAX_OPEN`.
    ///
    /// # Errors
    /// The OS error.
    pub fn bind(
        path: &Path,
        registry: &Registry,
        listener_token: Token,
        first: usize,
    ) -> io::Result<ControlServer> {
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if !meta.file_type().is_socket() {
                return Err(io::Error::new(ErrorKind::AlreadyExists, "exists and is not a socket"));
            }
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(io::Error::new(ErrorKind::AddrInUse, "another pulse is running"));
            }
            std::fs::remove_file(path)?;
        }
        let mut listener = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        registry.register(&mut listener, listener_token, Interest::READABLE)?;
        Ok(ControlServer {
            listener,
            listener_token,
            first,
            conns: (0..MAX_OPEN).map(|_| None).collect(),
            refused_busy: 0,
            backlog: false,
            busy_in_burst: 0,
        })
    }

    /// Whether `token` is one of ours (the listener or a connection).
    pub fn owns(&self, token: Token) -> bool {
        token == self.listener_token || (self.first..self.first + MAX_OPEN).contains(&token.0)
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.conns.iter().flatten().count()
    }

    /// Connections refused because [`MAX_OPEN`] were open.
    pub fn refused_busy(&self) -> u64 {
        self.refused_busy
    }

    /// The earliest connection deadline; now, when connections wait in
    /// the backlog.
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.backlog {
            return Some(Instant::now());
        }
        self.conns.iter().flatten().map(|c| c.deadline).min()
    }

    /// The listener's token, when connections wait in its backlog (the
    /// loop hands it to [`ControlServer::ready`] as if it were an event).
    pub fn backlog(&self) -> Option<Token> {
        self.backlog.then_some(self.listener_token)
    }

    /// Handles readiness of `token`; returns the requests that are now
    /// complete, to be answered with [`ControlServer::reply`].
    pub fn ready(&mut self, token: Token, registry: &Registry, now: Instant) -> Vec<Pending> {
        if token == self.listener_token {
            return self.accept(registry, now);
        }
        let slot = token.0 - self.first;
        let mut out = Vec::new();
        let uid = self.conns.get(slot).and_then(Option::as_ref).map_or(0, |c| c.uid);
        if let Some(line) = self.advance(slot, registry) {
            out.push(Pending { token, line, uid });
        }
        out
    }

    /// Sends the daemon's reply to a request from [`ControlServer::ready`].
    pub fn reply(&mut self, token: Token, text: &str, registry: &Registry) {
        let Some(slot) = token.0.checked_sub(self.first) else { return };
        let Some(Some(c)) = self.conns.get_mut(slot) else { return };
        c.out = text.as_bytes().to_vec();
        c.written = 0;
        c.state = State::Writing;
        let _ = self.advance(slot, registry);
    }

    /// Takes a connection out of the server (a request answered by a
    /// stream, `events`): it is deregistered and handed over as it is.
    pub fn take(&mut self, token: Token, registry: &Registry) -> Option<UnixStream> {
        let slot = token.0.checked_sub(self.first)?;
        let mut c = self.conns.get_mut(slot)?.take()?;
        let _ = registry.deregister(&mut c.stream);
        Some(c.stream)
    }

    /// Closes every connection whose deadline has passed.
    pub fn expire(&mut self, registry: &Registry, now: Instant) {
        for slot in 0..self.conns.len() {
            if self.conns[slot].as_ref().is_some_and(|c| c.deadline <= now) {
                log::debug!("control connection closed at its deadline");
                self.close(slot, registry);
            }
        }
    }

    fn accept(&mut self, registry: &Registry, now: Instant) -> Vec<Pending> {
        let mut complete = Vec::new();
        // One warning per burst (over as many turns as it takes), not one
        // per connection.
        let warn_busy = |n: &mut u64| {
            if *n > 0 {
                log::warn!("control connections refused, {MAX_OPEN} already open: {n}");
            }
            *n = 0;
        };
        self.backlog = false;
        let mut taken = 0;
        loop {
            if taken == ACCEPT_PER_TURN {
                self.backlog = true;
                return complete;
            }
            taken += 1;
            let stream = match self.listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    warn_busy(&mut self.busy_in_burst);
                    return complete;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    warn_busy(&mut self.busy_in_burst);
                    log::warn!("control socket: {e}");
                    return complete;
                }
            };
            let uid =
                nix::sys::socket::getsockopt(&stream, nix::sys::socket::sockopt::PeerCredentials)
                    .map(|c| c.uid());
            let refusal = match uid {
                Ok(0) => None,
                Ok(uid) => {
                    log::warn!("control request from uid {uid} refused");
                    Some("error: permission denied: root only\n")
                }
                Err(e) => {
                    log::warn!("control socket peer credentials: {e}");
                    continue;
                }
            };
            let Some(slot) = self.conns.iter().position(Option::is_none) else {
                // Best effort: the socket buffer takes a short line without
                // blocking, and the stream is closed right after.
                self.refused_busy += 1;
                self.busy_in_burst += 1;
                let _ = (&stream).write(b"error: busy: too many control connections\n");
                continue;
            };
            let mut conn = Conn {
                stream,
                uid: uid.unwrap_or(0),
                deadline: now + DEADLINE,
                state: State::Reading,
                request: Vec::new(),
                out: Vec::new(),
                written: 0,
            };
            if let Some(r) = refusal {
                conn.out = r.as_bytes().to_vec();
                conn.state = State::Writing;
            }
            let token = Token(self.first + slot);
            if let Err(e) =
                registry.register(&mut conn.stream, token, Interest::READABLE | Interest::WRITABLE)
            {
                log::warn!("control socket: registering a connection: {e}");
                continue;
            }
            self.conns[slot] = Some(conn);
            // Edge-triggered: whatever is already there is read now.
            if let Some(line) = self.advance(slot, registry) {
                complete.push(Pending { token, line, uid: uid.unwrap_or(0) });
            }
        }
    }

    /// Moves connection `slot` as far as it goes without blocking; returns
    /// the request line when it has just been read in full.
    fn advance(&mut self, slot: usize, registry: &Registry) -> Option<String> {
        let Some(Some(c)) = self.conns.get_mut(slot) else { return None };
        let mut close = false;
        let mut line = None;
        loop {
            match c.state {
                State::Reading => {
                    let mut buf = [0u8; MAX_REQUEST];
                    let room = MAX_REQUEST - c.request.len();
                    match c.stream.read(&mut buf[..room]) {
                        Ok(n) => {
                            c.request.extend_from_slice(&buf[..n]);
                            let nl = c.request.iter().position(|&b| b == b'\n');
                            if n == 0 || nl.is_some() || c.request.len() >= MAX_REQUEST {
                                let end = nl.map_or(c.request.len(), |i| i + 1);
                                line =
                                    Some(String::from_utf8_lossy(&c.request[..end]).into_owned());
                                c.state = State::Answering;
                            }
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(_) => {
                            close = true;
                            break;
                        }
                    }
                }
                State::Answering => break,
                State::Writing => match c.stream.write(&c.out[c.written..]) {
                    Ok(n) => {
                        c.written += n;
                        if c.written >= c.out.len() {
                            let _ = c.stream.shutdown(std::net::Shutdown::Write);
                            c.state = State::Draining;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => {
                        close = true;
                        break;
                    }
                },
                State::Draining => {
                    let mut buf = [0u8; 4096];
                    let mut dropped = 0;
                    loop {
                        match c.stream.read(&mut buf) {
                            Ok(0) => {
                                close = true;
                                break;
                            }
                            Ok(n) => {
                                dropped += n;
                                if dropped > MAX_DRAIN {
                                    close = true;
                                    break;
                                }
                            }
                            Err(e) if e.kind() == ErrorKind::Interrupted => {}
                            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                            Err(_) => {
                                close = true;
                                break;
                            }
                        }
                    }
                    break;
                }
            }
        }
        if close {
            self.close(slot, registry);
        }
        line
    }

    fn close(&mut self, slot: usize, registry: &Registry) {
        if let Some(mut c) = self.conns[slot].take() {
            let _ = registry.deregister(&mut c.stream);
        }
    }
}
