//! The read-only HTTP listener (`http: { listen: ... }` in the
//! configuration; nothing listens without it): `/metrics` and
//! `/status.json`, served on a thread of its own so that no client can
//! delay a heartbeat. The thread reads only the latest [`Snapshot`] the loop
//! published on the [`Board`]; it never touches the loop's state.
//!
//! Bounded like the control socket: one mio poll, one small state machine
//! per connection, at most [`MAX_OPEN`] open, each closed at [`DEADLINE`]
//! after accept whatever it sent (a slowloris client holds one slot for
//! that long, no more). When all slots are taken, a new connection takes
//! the slot of the oldest one still sending its request, so idle clients
//! cannot lock a scraper out for long; requests read up to
//! [`MAX_REQUEST`] bytes and parsed by `httparse` (hyper's parser). One
//! request per connection (`Connection: close`); GET only, anything else is
//! answered 405.
//!
//! `/events` is the exception to one answer per connection: Server-Sent
//! Events, the kept events after the client's `Last-Event-ID` and then
//! each new one as the loop publishes it (looked for every
//! [`STREAM_TICK`]). At most [`MAX_STREAMS`] stream at once, each for
//! [`STREAM_DEADLINE`] (browsers reconnect with their `Last-Event-ID`),
//! and a reader that lets more than [`MAX_STREAM_BUF`] bytes pile up is
//! dropped: a slow reader costs memory bounded per client, never the loop.
//!
//! Why not a server crate that owns the sockets: `tiny_http` runs a thread
//! per connection without read timeouts, so 1,000 idle clients are 1,000
//! threads and a slowloris client holds one forever; hyper needs an async
//! runtime. The parser is the part worth not writing, and it is a crate.

use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};

use crate::snapshot::{Board, Snapshot};

/// Most connections open at once.
pub const MAX_OPEN: usize = 64;
/// How long a connection may stay open, from accept to close.
pub const DEADLINE: Duration = Duration::from_secs(5);
/// Longest request head read; a longer one is answered 431.
pub const MAX_REQUEST: usize = 8 * 1024;
/// Most bytes dropped per wake-up from a client that keeps writing after
/// its answer.
const MAX_DRAIN: usize = 64 * 1024;

/// Most `/events` streams open at once.
pub const MAX_STREAMS: usize = 16;
/// How long one `/events` stream lasts before it is closed (the browser's
/// `EventSource` reconnects).
pub const STREAM_DEADLINE: Duration = Duration::from_secs(300);
/// Most bytes waiting for a slow `/events` reader before it is dropped.
pub const MAX_STREAM_BUF: usize = 256 * 1024;
/// How often streams look for new events.
pub const STREAM_TICK: Duration = Duration::from_millis(200);

/// The status page at `/`: plain HTML, CSS and JavaScript, no external
/// assets, live from `/events` and `/status.json`.
const PAGE: &str = include_str!("status_page.html");

/// How soon a failed accept (out of descriptors) is tried again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

const LISTENER: Token = Token(0);
const WAKE: Token = Token(1);
const CONN_BASE: usize = 2;

/// What a request gets: status line, content type, body.
#[derive(Debug, PartialEq, Eq)]
pub struct Response {
    /// Status code and reason.
    pub status: (u16, &'static str),
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
    /// `/events`: the body is the start of a stream, whose last event is
    /// this one.
    pub stream: Option<u64>,
}

impl Response {
    fn text(status: (u16, &'static str), body: &str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.to_owned(),
            stream: None,
        }
    }

    /// The bytes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        if self.stream.is_some() {
            // No length: the body runs until the connection closes.
            let mut out = format!(
                "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
                self.status.0, self.status.1, self.content_type
            )
            .into_bytes();
            out.extend_from_slice(self.body.as_bytes());
            return out;
        }
        let allow = if self.status.0 == 405 { "Allow: GET\r\n" } else { "" };
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{allow}Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            self.status.0,
            self.status.1,
            self.content_type,
            self.body.len()
        )
        .into_bytes();
        out.extend_from_slice(self.body.as_bytes());
        out
    }
}

/// The answer to `method path` given the latest snapshot (pure).
pub fn route(method: &str, path: &str, snap: Option<&Snapshot>, now: Instant) -> Response {
    if method != "GET" {
        return Response::text((405, "Method Not Allowed"), "read-only: GET only\n");
    }
    let path = path.split(['?', '#']).next().unwrap_or("");
    match (path, snap) {
        ("/", _) => Response {
            status: (200, "OK"),
            content_type: "text/html; charset=utf-8",
            body: PAGE.to_owned(),
            stream: None,
        },
        ("/metrics" | "/status.json" | "/events", None) => {
            Response::text((503, "Service Unavailable"), "pulse has not finished a loop turn yet\n")
        }
        ("/metrics", Some(s)) => Response {
            status: (200, "OK"),
            content_type: crate::metrics::CONTENT_TYPE,
            body: crate::metrics::render(&s.aged(now)),
            stream: None,
        },
        ("/events", Some(s)) => {
            let (body, last) = sse(s, 0);
            Response {
                status: (200, "OK"),
                content_type: "text/event-stream",
                body,
                stream: Some(last),
            }
        }
        ("/status.json", Some(s)) => Response {
            status: (200, "OK"),
            content_type: "application/json",
            body: crate::control::render_json(&s.aged(now)),
            stream: None,
        },
        _ => Response::text(
            (404, "Not Found"),
            "not found; try /, /metrics, /status.json or /events\n",
        ),
    }
}

/// The kept events after `after` as Server-Sent Events, and the number of
/// the last one (`after` when there is none).
pub fn sse(s: &Snapshot, after: u64) -> (String, u64) {
    let mut out = String::new();
    let mut last = after;
    for e in s.events.after(after) {
        out.push_str(&format!("id: {}\ndata: {}\n\n", e.seq, e.to_json()));
        last = e.seq;
    }
    (out, last)
}

/// The answer to the request head in `buf`, or `None` while it is
/// incomplete and may still grow (pure).
pub fn answer(buf: &[u8], eof: bool, snap: Option<&Snapshot>, now: Instant) -> Option<Response> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(_)) => {
            let mut r = route(req.method.unwrap_or(""), req.path.unwrap_or(""), snap, now);
            // A reconnecting `EventSource` says what it has seen.
            let seen = req.headers.iter().find(|h| h.name.eq_ignore_ascii_case("Last-Event-ID"));
            let seen = seen.and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok());
            if let (Some(_), Some(seen), Some(s)) = (r.stream, seen, snap) {
                let (body, last) = sse(s, seen);
                r.body = body;
                r.stream = Some(last);
            }
            Some(r)
        }
        Ok(httparse::Status::Partial) if buf.len() >= MAX_REQUEST => {
            Some(Response::text((431, "Request Header Fields Too Large"), "request too large\n"))
        }
        Ok(httparse::Status::Partial) if eof => {
            Some(Response::text((400, "Bad Request"), "incomplete request\n"))
        }
        Ok(httparse::Status::Partial) => None,
        Err(httparse::Error::TooManyHeaders) => {
            Some(Response::text((431, "Request Header Fields Too Large"), "too many headers\n"))
        }
        Err(_) => Some(Response::text((400, "Bad Request"), "malformed request\n")),
    }
}

#[derive(Debug)]
enum State {
    Reading,
    Writing,
    Draining,
    /// An `/events` stream with nothing to write now.
    Streaming,
}

#[derive(Debug)]
struct Conn {
    stream: TcpStream,
    deadline: Instant,
    state: State,
    buf: Vec<u8>,
    out: Vec<u8>,
    written: usize,
    /// `/events`: the number of the last event queued.
    events: Option<u64>,
}

/// The listener: bound by [`HttpServer::bind`], served on its thread from
/// [`HttpServer::serve`] on; the thread is stopped and joined on drop.
#[derive(Debug)]
pub struct HttpServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    /// Until [`HttpServer::serve`]: the thread's work, not started yet.
    worker: Option<Worker>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Binds `addr` (so a bad address stops pulse at start, before it
    /// daemonizes) for `board`'s snapshots; nothing is answered before
    /// [`HttpServer::serve`].
    ///
    /// # Errors
    /// The OS error.
    pub fn bind(addr: SocketAddr, board: Board) -> io::Result<HttpServer> {
        let mut listener = TcpListener::bind(addr)?;
        let local = listener.local_addr()?;
        let poll = Poll::new()?;
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKE)?);
        let worker = Worker {
            poll,
            listener,
            board,
            conns: (0..MAX_OPEN).map(|_| None).collect(),
            accept_failed: false,
        };
        Ok(HttpServer {
            addr: local,
            stop: Arc::new(AtomicBool::new(false)),
            waker,
            worker: Some(worker),
            thread: None,
        })
    }

    /// Starts answering on a thread of its own. Called from the loop, after
    /// pulse has daemonized: a thread does not survive `fork`.
    ///
    /// # Errors
    /// The OS error from starting the thread.
    pub fn serve(&mut self) -> io::Result<()> {
        let Some(mut worker) = self.worker.take() else { return Ok(()) };
        let flag = Arc::clone(&self.stop);
        let thread = std::thread::Builder::new()
            .name("pulse-http".into())
            .spawn(move || worker.run(&flag))?;
        self.thread = Some(thread);
        log::info!("serving /metrics and /status.json on http://{}", self.addr);
        Ok(())
    }

    /// The address bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[derive(Debug)]
struct Worker {
    poll: Poll,
    listener: TcpListener,
    board: Board,
    conns: Vec<Option<Conn>>,
    /// The last accept failed (not for lack of connections).
    accept_failed: bool,
}

impl Worker {
    fn run(&mut self, stop: &AtomicBool) {
        let mut events = Events::with_capacity(256);
        while !stop.load(Ordering::SeqCst) {
            let now = Instant::now();
            let mut timeout = self
                .conns
                .iter()
                .flatten()
                .map(|c| c.deadline)
                .min()
                .map(|d| d.saturating_duration_since(now));
            if self.accept_failed {
                timeout = Some(timeout.map_or(ACCEPT_RETRY, |t| t.min(ACCEPT_RETRY)));
            }
            if self.conns.iter().flatten().any(|c| c.events.is_some()) {
                timeout = Some(timeout.map_or(STREAM_TICK, |t| t.min(STREAM_TICK)));
            }
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != ErrorKind::Interrupted {
                    log::error!("http listener stopped: polling: {e}");
                    return;
                }
            }
            for ev in events.iter() {
                match ev.token() {
                    LISTENER => self.accept(),
                    WAKE => {}
                    Token(n) => self.advance(n - CONN_BASE),
                }
            }
            if self.accept_failed {
                self.accept();
            }
            self.feed_streams();
            let now = Instant::now();
            for slot in 0..self.conns.len() {
                if self.conns[slot].as_ref().is_some_and(|c| c.deadline <= now) {
                    self.close(slot);
                }
            }
        }
    }

    fn accept(&mut self) {
        self.accept_failed = false;
        loop {
            let mut stream = match self.listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    // EMFILE and the like: the pending connections stay
                    // queued, and no new readiness edge may come for them.
                    log::warn!("http listener: {e}; accepting again in {ACCEPT_RETRY:?}");
                    self.accept_failed = true;
                    return;
                }
            };
            let Some(slot) = self.free_slot() else {
                log::debug!("http connection closed at accept: {MAX_OPEN} answering");
                continue;
            };
            let token = Token(CONN_BASE + slot);
            if let Err(e) = self.poll.registry().register(
                &mut stream,
                token,
                Interest::READABLE | Interest::WRITABLE,
            ) {
                log::warn!("http listener: registering a connection: {e}");
                continue;
            }
            self.conns[slot] = Some(Conn {
                stream,
                deadline: Instant::now() + DEADLINE,
                state: State::Reading,
                buf: Vec::new(),
                out: Vec::new(),
                written: 0,
                events: None,
            });
            // Edge-triggered: whatever is already there is read now.
            self.advance(slot);
        }
    }

    /// A free slot, else the slot of the oldest connection still reading
    /// its request (closed here), else none (all are being answered).
    fn free_slot(&mut self) -> Option<usize> {
        if let Some(free) = self.conns.iter().position(Option::is_none) {
            return Some(free);
        }
        let oldest = (0..self.conns.len())
            .filter(|&i| self.conns[i].as_ref().is_some_and(|c| matches!(c.state, State::Reading)))
            .min_by_key(|&i| self.conns[i].as_ref().map(|c| c.deadline))?;
        log::debug!("http connection closed for a newer one: {MAX_OPEN} open");
        self.close(oldest);
        Some(oldest)
    }

    /// Queues the events published since each stream's last one, and drops
    /// the streams whose reader is too slow.
    fn feed_streams(&mut self) {
        let Some(snap) = self.board.latest() else { return };
        for slot in 0..self.conns.len() {
            let Some(Some(c)) = self.conns.get_mut(slot) else { continue };
            let Some(last) = c.events else { continue };
            if snap.events.last_seq() <= last {
                continue;
            }
            let (more, last) = sse(&snap, last);
            c.events = Some(last);
            if c.out.len() - c.written + more.len() > MAX_STREAM_BUF {
                log::debug!("http: an /events reader too slow: dropped");
                self.close(slot);
                continue;
            }
            c.out.extend_from_slice(more.as_bytes());
            if matches!(c.state, State::Streaming) {
                c.state = State::Writing;
            }
            self.advance(slot);
        }
    }

    /// Moves connection `slot` as far as it goes without blocking.
    fn advance(&mut self, slot: usize) {
        let streams = self.conns.iter().flatten().filter(|c| c.events.is_some()).count();
        let Some(Some(c)) = self.conns.get_mut(slot) else { return };
        let close = loop {
            match c.state {
                State::Reading => {
                    let mut chunk = [0u8; 2048];
                    let room = (MAX_REQUEST - c.buf.len()).min(chunk.len());
                    let (n, eof) = match c.stream.read(&mut chunk[..room]) {
                        Ok(0) => (0, true),
                        Ok(n) => (n, false),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break false,
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        Err(_) => break true,
                    };
                    c.buf.extend_from_slice(&chunk[..n]);
                    let snap = self.board.latest();
                    match answer(&c.buf, eof, snap.as_deref(), Instant::now()) {
                        Some(mut r) => {
                            if r.stream.is_some() && streams >= MAX_STREAMS {
                                r = Response::text(
                                    (503, "Service Unavailable"),
                                    "too many event streams\n",
                                );
                            }
                            if r.stream.is_some() {
                                c.deadline = Instant::now() + STREAM_DEADLINE;
                            }
                            c.events = r.stream;
                            c.out = r.to_bytes();
                            c.state = State::Writing;
                        }
                        None if eof => break true,
                        None => {}
                    }
                }
                State::Writing => match c.stream.write(&c.out[c.written..]) {
                    Ok(n) => {
                        c.written += n;
                        if c.written >= c.out.len() && c.events.is_some() {
                            c.out.clear();
                            c.written = 0;
                            c.state = State::Streaming;
                        } else if c.written >= c.out.len() {
                            let _ = c.stream.shutdown(std::net::Shutdown::Write);
                            c.state = State::Draining;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break false,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => break true,
                },
                // Closing with unread bytes would reset the connection and
                // the client could lose the answer: read until it closes.
                // A stream's reader says nothing: its bytes are dropped too.
                State::Draining | State::Streaming => {
                    let mut chunk = [0u8; 4096];
                    let mut dropped = 0;
                    break loop {
                        match c.stream.read(&mut chunk) {
                            Ok(0) => break true,
                            Ok(n) => {
                                dropped += n;
                                if dropped > MAX_DRAIN {
                                    break true;
                                }
                            }
                            Err(e) if e.kind() == ErrorKind::Interrupted => {}
                            Err(e) if e.kind() == ErrorKind::WouldBlock => break false,
                            Err(_) => break true,
                        }
                    };
                }
            }
        };
        if close {
            self.close(slot);
        }
    }

    fn close(&mut self, slot: usize) {
        if let Some(mut c) = self.conns[slot].take() {
            let _ = self.poll.registry().deregister(&mut c.stream);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::tests::status;
    use crate::snapshot::Reloads;
    use crate::stall::LoopStats;

    fn snap() -> Snapshot {
        Snapshot {
            status: status(),
            taken: Instant::now(),
            lvsd_pid: None,
            loop_stats: LoopStats::default(),
            reloads: Reloads::default(),
            lvsd: None,
            events: Default::default(),
        }
    }

    #[test]
    fn requests_are_routed_and_bounded() {
        let s = snap();
        let now = Instant::now();
        let a = |req: &str| answer(req.as_bytes(), false, Some(&s), now).map(|r| r.status.0);
        assert_eq!(a("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), Some(200));
        assert_eq!(a("GET /status.json?x=1 HTTP/1.0\r\n\r\n"), Some(200));
        assert_eq!(a("GET /nope HTTP/1.1\r\n\r\n"), Some(404));
        assert_eq!(a("POST /metrics HTTP/1.1\r\n\r\n"), Some(405));
        assert_eq!(a("HEAD /metrics HTTP/1.1\r\n\r\n"), Some(405));
        assert_eq!(a("GET /metrics HTTP/1.1\r\nHost: x\r\n"), None, "head not finished");
        assert_eq!(a("GET /metr\0ics HTTP/1.1\r\n\r\n"), Some(400));
        let big = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(MAX_REQUEST));
        assert_eq!(a(&big[..MAX_REQUEST]), Some(431));
        assert_eq!(
            answer(b"GET / HTTP/1.1\r\n", true, Some(&s), now).map(|r| r.status.0),
            Some(400),
            "a head cut by EOF"
        );
        assert_eq!(
            answer(b"GET /metrics HTTP/1.1\r\n\r\n", false, None, now).unwrap().status.0,
            503
        );
        let r = route("POST", "/", Some(&s), now).to_bytes();
        let r = String::from_utf8(r).unwrap();
        assert!(r.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"), "{r}");
        assert!(r.contains("\r\nAllow: GET\r\n") && r.contains("\r\nConnection: close\r\n"));
    }

    #[test]
    fn status_json_ages_the_peers_silence() {
        let s = snap();
        let r = route("GET", "/status.json", Some(&s), s.taken + Duration::from_millis(500));
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["peers"][0]["last_heard_ms"], 1734);
    }

    #[test]
    fn events_stream_from_the_last_seen_one() {
        let mut s = snap();
        let mut log = crate::events::EventLog::default();
        for accepted in [true, false, true] {
            log.push(
                crate::events::What::Reload { accepted },
                "r".into(),
                std::time::SystemTime::UNIX_EPOCH,
            );
        }
        s.events = std::sync::Arc::new(log);
        let now = Instant::now();
        let r = answer(b"GET /events HTTP/1.1\r\n\r\n", false, Some(&s), now).unwrap();
        assert_eq!(r.stream, Some(3));
        assert!(r.body.starts_with("id: 1\ndata: {\"seq\":1,"), "{}", r.body);
        assert_eq!(r.body.matches("\n\n").count(), 3);
        let head = String::from_utf8(r.to_bytes()).unwrap();
        assert!(head.contains("Content-Type: text/event-stream\r\n"), "{head}");
        assert!(!head.contains("Content-Length"), "{head}");
        let r = answer(b"GET /events HTTP/1.1\r\nLast-Event-ID: 2\r\n\r\n", false, Some(&s), now)
            .unwrap();
        assert_eq!((r.stream, r.body.matches("id: ").count()), (Some(3), 1));
        let page = route("GET", "/", Some(&s), now);
        assert!(page.content_type.starts_with("text/html") && page.body.contains("EventSource"));
        // No external assets: nothing is fetched but pulse's own paths.
        for external in [" src=", "href=\"http", "url(", "@import"] {
            assert!(!page.body.contains(external), "external asset: {external}");
        }
    }
}
