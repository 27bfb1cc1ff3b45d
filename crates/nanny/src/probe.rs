//! The checks themselves: non-blocking probes driven by the event loop's
//! readiness events, each bounded by a deadline the loop enforces.
//! Socket IO for checks happens here; process IO in `crate::spawn`.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpStream, UdpSocket};
use mio::{Events, Interest, Poll, Registry, Token};
use regex::bytes::Regex;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

use crate::dns_probe::DnsProbe;
use crate::http;
use crate::load::parse_load;
use crate::matcher::{Expect, Verdict};
use crate::ping::PingProbe;
use crate::route::Route;
use crate::spawn::{Dying, Running};

/// Token of a check's socket.
pub const SOCKET: Token = Token(1);
/// Token of a program's stdout.
pub const STDOUT: Token = Token(2);
/// Token of a program's pidfd.
pub const EXIT: Token = Token(3);
/// Token of killed programs not yet reaped.
pub const DYING: Token = Token(4);

/// How long [`check_once`] waits for a SIGKILLed program to be reapable.
pub const REAP_WAIT: Duration = Duration::from_secs(5);

/// Largest reply read from a TCP server.
const READ_CAP: usize = 1024 * 1024;

/// TLS settings for a TCP check.
#[derive(Debug, Clone)]
pub struct Tls {
    /// The client configuration.
    pub config: Arc<ClientConfig>,
    /// SNI name; `None` sends no SNI (the server is addressed by IP).
    pub name: Option<String>,
}

/// What to check.
#[derive(Debug, Clone)]
pub enum Check {
    /// TCP connect (then the TLS handshake, with `tls`).
    Connect {
        /// TLS on top.
        tls: Option<Tls>,
    },
    /// TCP: send bytes, then expect a reply (none: up once sent).
    SendExpect {
        /// Bytes to send (may be empty).
        send: Vec<u8>,
        /// What the reply must start with or match.
        expect: Option<Expect>,
        /// TLS on top.
        tls: Option<Tls>,
    },
    /// HTTP GET.
    Http {
        /// Request path.
        path: String,
        /// Host header.
        host: String,
        /// Accepted status ranges.
        statuses: Vec<(u16, u16)>,
        /// Body regex.
        body: Option<Regex>,
        /// HTTPS.
        tls: Option<Tls>,
    },
    /// UDP: send a datagram, expect a reply datagram; ICMP port unreachable
    /// (seen as ECONNREFUSED on the connected socket) is down.
    Udp {
        /// Datagram to send.
        send: Vec<u8>,
        /// What the reply must look like (`None`: any reply).
        expect: Option<Expect>,
    },
    /// External program.
    Program {
        /// argv, already substituted.
        argv: Vec<OsString>,
        /// piranha: stdout (one trailing newline removed) must equal this.
        /// `None`: exit status 0 means up (Turbolinux agents).
        expect: Option<Vec<u8>>,
    },
    /// piranha's `send_program` without an expect string (`-e` without
    /// `-x`): the program runs at every check, as piranha ran it, and the
    /// check never counts as up, as in piranha's nanny (no output and no
    /// expect, or output and no expect, are both "down" there). The
    /// validator warns about such a configuration; `--agent` judges by the
    /// exit status instead.
    ProgramNoExpect {
        /// argv, already substituted.
        argv: Vec<OsString>,
    },
    /// ICMP echo: `count` requests at once, up at the first reply.
    Ping {
        /// Requests per check.
        count: u16,
        /// The nanny's one ICMP socket, kept between checks.
        socket: crate::ping::Shared,
    },
    /// DNS: one query over UDP, judged on its response.
    Dns(crate::dns_probe::DnsQuery),
    /// No check: always up (Turbolinux `none`).
    None,
    /// Load probe: a program whose stdout holds a load average.
    Load {
        /// argv.
        argv: Vec<OsString>,
    },
}

/// The result of a probe.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Up or down.
    pub ok: bool,
    /// Human-readable detail for logs and protocol reasons.
    pub detail: String,
    /// For load probes: the load average found.
    pub load: Option<f64>,
}

impl Outcome {
    pub(crate) fn up(detail: impl Into<String>) -> Outcome {
        Outcome { ok: true, detail: detail.into(), load: None }
    }
    pub(crate) fn down(detail: impl Into<String>) -> Outcome {
        Outcome { ok: false, detail: detail.into(), load: None }
    }
}

/// A probe in flight.
#[derive(Debug)]
pub enum Probe {
    /// TCP (plain or TLS).
    Stream(Box<StreamProbe>),
    /// UDP.
    Udp(UdpProbe),
    /// Program.
    Program(ProgramProbe),
    /// ICMP echo.
    Ping(PingProbe),
    /// DNS query.
    Dns(DnsProbe),
}

/// A TCP/TLS probe.
#[derive(Debug)]
pub struct StreamProbe {
    addr: SocketAddr,
    sock: TcpStream,
    tls: Option<ClientConnection>,
    connected: bool,
    send: Vec<u8>,
    sent: usize,
    got: Vec<u8>,
    reply: Reply,
}

#[derive(Debug)]
enum Reply {
    /// Up once connected (and TLS handshake done) and `send` written.
    None,
    Expect(Expect),
    Http {
        statuses: Vec<(u16, u16)>,
        body: Option<Regex>,
    },
}

/// A UDP probe.
#[derive(Debug)]
pub struct UdpProbe {
    addr: SocketAddr,
    sock: UdpSocket,
    expect: Option<Expect>,
}

/// A program probe.
#[derive(Debug)]
pub struct ProgramProbe {
    running: Option<Running>,
    expect: Option<Vec<u8>>,
    load: bool,
    /// piranha's `send_program` without `expect`: never up.
    never_up: bool,
    program: String,
}

impl Probe {
    /// Starts `check` against `addr`. `Err` is an outcome known at once (a
    /// failure to start, or [`Check::None`]'s success).
    pub fn start(
        check: &Check,
        addr: SocketAddr,
        route: &Route,
        registry: &Registry,
    ) -> Result<Probe, Outcome> {
        match check {
            Check::Connect { tls } => {
                StreamProbe::start(addr, route, tls, Vec::new(), Reply::None, registry)
            }
            Check::SendExpect { send, expect, tls } => {
                let reply = expect.clone().map_or(Reply::None, Reply::Expect);
                StreamProbe::start(addr, route, tls, send.clone(), reply, registry)
            }
            Check::Http { path, host, statuses, body, tls } => StreamProbe::start(
                addr,
                route,
                tls,
                http::request(path, host),
                Reply::Http { statuses: statuses.clone(), body: body.clone() },
                registry,
            ),
            Check::Udp { send, expect } => {
                UdpProbe::start(addr, route, send, expect.clone(), registry)
            }
            Check::Program { argv, expect } => {
                ProgramProbe::start(argv, expect.clone(), false, registry)
            }
            Check::ProgramNoExpect { argv } => ProgramProbe::start(argv, None, false, registry)
                .map(|p| match p {
                    Probe::Program(mut p) => {
                        p.never_up = true;
                        Probe::Program(p)
                    }
                    other => other,
                }),
            Check::Load { argv } => ProgramProbe::start(argv, None, true, registry),
            Check::Ping { count, socket } => {
                PingProbe::start(socket, addr.ip(), *count, registry).map(Probe::Ping)
            }
            Check::Dns(q) => DnsProbe::start(q, addr, route, registry).map(Probe::Dns),
            Check::None => Err(Outcome::up("no check configured: always up")),
        }
    }

    /// Handles a readiness event; `Some` when the probe is finished.
    pub fn on_event(&mut self, token: Token, registry: &Registry) -> Option<Outcome> {
        match self {
            Probe::Stream(p) if token == SOCKET => p.step(),
            Probe::Udp(p) if token == SOCKET => p.advance(),
            Probe::Ping(p) if token == SOCKET => p.advance(registry),
            Probe::Dns(p) if token == SOCKET => p.advance(),
            Probe::Program(p) if token == STDOUT || token == EXIT => p.advance(token, registry),
            _ => None,
        }
    }

    /// The deadline passed: abandons the probe. A killed program that is
    /// not yet reaped is pushed on `dying`.
    pub fn time_out(self, after: Duration, registry: &Registry, dying: &mut Vec<Dying>) -> Outcome {
        let secs = after.as_secs_f64();
        match self {
            Probe::Stream(mut p) => {
                let _ = registry.deregister(&mut p.sock);
                let what = if !p.connected {
                    "connect"
                } else if p.tls.as_ref().is_some_and(|t| t.is_handshaking()) {
                    "TLS handshake"
                } else if p.sent < p.send.len() {
                    "send"
                } else {
                    "read"
                };
                Outcome::down(format!("{what} to {} timed out after {secs}s", p.addr))
            }
            Probe::Udp(mut p) => {
                let _ = registry.deregister(&mut p.sock);
                Outcome::down(format!("no UDP reply from {} within {secs}s", p.addr))
            }
            Probe::Ping(p) => p.time_out(secs, registry),
            Probe::Dns(p) => p.time_out(secs, registry),
            Probe::Program(mut p) => {
                if let Some(r) = p.running.take() {
                    dying.push(r.kill(registry, DYING));
                }
                Outcome::down(format!("{} timed out after {secs}s: killed", p.program))
            }
        }
    }
}

fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

impl StreamProbe {
    fn start(
        addr: SocketAddr,
        route: &Route,
        tls: &Option<Tls>,
        send: Vec<u8>,
        reply: Reply,
        registry: &Registry,
    ) -> Result<Probe, Outcome> {
        let mut sock =
            route.tcp(addr).map_err(|e| Outcome::down(format!("connect to {addr}: {e}")))?;
        registry
            .register(&mut sock, SOCKET, Interest::READABLE | Interest::WRITABLE)
            .map_err(|e| Outcome::down(format!("register socket: {e}")))?;
        let tls = match tls {
            None => None,
            Some(t) => {
                let name = match &t.name {
                    Some(n) => ServerName::try_from(n.clone())
                        .map_err(|e| Outcome::down(format!("bad TLS name {n:?}: {e}")))?,
                    None => ServerName::IpAddress(addr.ip().into()),
                };
                Some(
                    ClientConnection::new(t.config.clone(), name)
                        .map_err(|e| Outcome::down(format!("TLS setup: {e}")))?,
                )
            }
        };
        Ok(Probe::Stream(Box::new(StreamProbe {
            addr,
            sock,
            tls,
            connected: false,
            send,
            sent: 0,
            got: Vec::new(),
            reply,
        })))
    }

    /// Moves the exchange on as far as the socket allows: connect, TLS
    /// handshake, send, read; then judges. `Some` when decided. Called on
    /// every readiness event (edge-triggered: each step runs to WouldBlock).
    fn step(&mut self) -> Option<Outcome> {
        let addr = self.addr;
        if !self.connected {
            if let Ok(Some(e)) | Err(e) = self.sock.take_error() {
                return Some(Outcome::down(format!("connect to {addr}: {e}")));
            }
            match self.sock.peer_addr() {
                Ok(_) => self.connected = true,
                Err(e) if e.kind() == io::ErrorKind::NotConnected || would_block(&e) => {
                    return None
                }
                Err(e) => return Some(Outcome::down(format!("connect to {addr}: {e}"))),
            }
        }
        // Queue the request (rustls buffers it until the handshake is done).
        if let Some(tls) = self.tls.as_mut() {
            if self.sent < self.send.len() {
                match tls.writer().write(&self.send[self.sent..]) {
                    Ok(n) => self.sent += n,
                    Err(e) => return Some(Outcome::down(format!("TLS write to {addr}: {e}"))),
                }
            }
        }
        let mut eof = false;
        if let Some(tls) = self.tls.as_mut() {
            // Write what TLS has to say, read what the server said.
            while tls.wants_write() {
                match tls.write_tls(&mut self.sock) {
                    Ok(_) => {}
                    Err(e) if would_block(&e) => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Some(Outcome::down(format!("send to {addr}: {e}"))),
                }
            }
            loop {
                match tls.read_tls(&mut self.sock) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(_) => {
                        if let Err(e) = tls.process_new_packets() {
                            // Tell the server why, best effort.
                            let _ = tls.write_tls(&mut self.sock);
                            return Some(Outcome::down(format!("TLS with {addr}: {e}")));
                        }
                    }
                    Err(e) if would_block(&e) => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Some(Outcome::down(format!("read from {addr}: {e}"))),
                }
            }
            while tls.wants_write() {
                match tls.write_tls(&mut self.sock) {
                    Ok(_) => {}
                    Err(e) if would_block(&e) => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Some(Outcome::down(format!("send to {addr}: {e}"))),
                }
            }
            if tls.is_handshaking() {
                if eof {
                    return Some(Outcome::down(format!("{addr} closed during the TLS handshake")));
                }
                return None;
            }
            // Plaintext that arrived.
            let mut buf = [0u8; 4096];
            loop {
                match tls.reader().read(&mut buf) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(n) => {
                        if self.got.len() < READ_CAP {
                            self.got.extend_from_slice(&buf[..n]);
                        }
                    }
                    Err(e) if would_block(&e) => break,
                    // Closed without close_notify: treat as the end.
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                        eof = true;
                        break;
                    }
                    Err(e) => return Some(Outcome::down(format!("TLS read from {addr}: {e}"))),
                }
            }
            if tls.wants_write() && matches!(self.reply, Reply::None) {
                // The request is not on the wire yet.
                return None;
            }
        } else {
            while self.sent < self.send.len() {
                match self.sock.write(&self.send[self.sent..]) {
                    Ok(n) => self.sent += n,
                    Err(e) if would_block(&e) => return None,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Some(Outcome::down(format!("send to {addr}: {e}"))),
                }
            }
            if !matches!(self.reply, Reply::None) {
                let mut buf = [0u8; 4096];
                loop {
                    match self.sock.read(&mut buf) {
                        Ok(0) => {
                            eof = true;
                            break;
                        }
                        Ok(n) => {
                            if self.got.len() < READ_CAP {
                                self.got.extend_from_slice(&buf[..n]);
                            } else {
                                eof = true;
                                break;
                            }
                        }
                        Err(e) if would_block(&e) => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Some(Outcome::down(format!("read from {addr}: {e}"))),
                    }
                }
            }
        }
        match &self.reply {
            Reply::None => {
                if self.sent < self.send.len() {
                    return None;
                }
                Some(Outcome::up(match (&self.tls, self.send.is_empty()) {
                    (Some(t), _) => format!(
                        "TLS handshake with {addr} ok ({})",
                        t.protocol_version().map_or("?".into(), |v| format!("{v:?}"))
                    ),
                    (None, true) => format!("connected to {addr}"),
                    (None, false) => format!("connected to {addr}, sent {} bytes", self.send.len()),
                }))
            }
            Reply::Expect(e) => match e.judge(&self.got, eof) {
                Verdict::Match => Some(Outcome::up(format!("{addr} replied as expected"))),
                Verdict::NeedMore => None,
                Verdict::Mismatch => Some(Outcome::down(if self.got.is_empty() {
                    format!("{addr} closed without replying")
                } else if eof
                    && !matches!(e, Expect::Regex(_))
                    && e.judge(&self.got, false) == Verdict::NeedMore
                {
                    format!("reply from {addr} was too short ({} bytes)", self.got.len())
                } else {
                    format!("unexpected reply from {addr}: {}", shown(&self.got))
                })),
            },
            Reply::Http { statuses, body } => {
                match http::judge(&self.got, eof, statuses, body.as_ref()) {
                    (Verdict::Match, why) => Some(Outcome::up(format!("{addr}: {why}"))),
                    (Verdict::NeedMore, _) => None,
                    (Verdict::Mismatch, why) => Some(Outcome::down(if self.got.is_empty() {
                        format!("{addr} closed without replying")
                    } else {
                        format!("{addr}: {why}")
                    })),
                }
            }
        }
    }
}

/// The start of a reply, printable, for a log line.
fn shown(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(40)]);
    format!("{s:?}")
}

impl UdpProbe {
    fn start(
        addr: SocketAddr,
        route: &Route,
        send: &[u8],
        expect: Option<Expect>,
        registry: &Registry,
    ) -> Result<Probe, Outcome> {
        let fail = |e: io::Error| Outcome::down(format!("UDP to {addr}: {e}"));
        let mut sock = route.udp(addr).map_err(fail)?;
        registry.register(&mut sock, SOCKET, Interest::READABLE).map_err(fail)?;
        match sock.send(send) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                return Err(Outcome::down(format!("{addr}: port unreachable")))
            }
            Err(e) => return Err(fail(e)),
        }
        Ok(Probe::Udp(UdpProbe { addr, sock, expect }))
    }

    fn advance(&mut self) -> Option<Outcome> {
        let addr = self.addr;
        let mut buf = vec![0u8; 65536];
        loop {
            match self.sock.recv(&mut buf) {
                Ok(n) => {
                    let got = &buf[..n];
                    return Some(match &self.expect {
                        None => Outcome::up(format!("{addr} replied ({n} bytes)")),
                        Some(e) => match e.judge(got, true) {
                            Verdict::Match => Outcome::up(format!("{addr} replied as expected")),
                            _ => Outcome::down(format!(
                                "unexpected UDP reply from {addr}: {}",
                                shown(got)
                            )),
                        },
                    });
                }
                Err(e) if would_block(&e) => return None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    return Some(Outcome::down(format!("{addr}: port unreachable (ICMP)")))
                }
                Err(e) => return Some(Outcome::down(format!("UDP from {addr}: {e}"))),
            }
        }
    }
}

impl ProgramProbe {
    fn start(
        argv: &[OsString],
        expect: Option<Vec<u8>>,
        load: bool,
        registry: &Registry,
    ) -> Result<Probe, Outcome> {
        let program = argv.first().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
        let running = Running::spawn(argv, registry, STDOUT, EXIT)
            .map_err(|e| Outcome::down(e.to_string()))?;
        Ok(Probe::Program(ProgramProbe {
            running: Some(running),
            expect,
            load,
            never_up: false,
            program,
        }))
    }

    fn advance(&mut self, token: Token, registry: &Registry) -> Option<Outcome> {
        let running = self.running.as_mut()?;
        if token == STDOUT {
            running.drain();
            return None;
        }
        let running = self.running.take()?;
        let f = match running.try_finish(registry) {
            Ok(f) => f,
            Err(still) => {
                self.running = Some(still);
                return None;
            }
        };
        let prog = &self.program;
        let status = f.status;
        if self.load {
            let load = parse_load(&f.stdout);
            return Some(Outcome {
                ok: load.is_some(),
                detail: match load {
                    Some(l) => format!("{prog}: load {l}"),
                    None => format!("{prog}: no load average in its output ({status})"),
                },
                load,
            });
        }
        if self.never_up {
            return Some(Outcome::down(format!(
                "{prog} ({status}): a send_program check without an expect string never counts as up, as in piranha"
            )));
        }
        Some(match &self.expect {
            None if status.success() => Outcome::up(format!("{prog} exited 0")),
            None => Outcome::down(format!("{prog}: {status}")),
            Some(_) if !status.success() => Outcome::down(format!("{prog}: {status}")),
            Some(_) if f.truncated => Outcome::down(format!("{prog}: output longer than expected")),
            Some(want) => {
                let mut got: &[u8] = &f.stdout;
                if let Some(g) = got.strip_suffix(b"\n") {
                    got = g;
                }
                if got == want.as_slice() {
                    Outcome::up(format!("{prog} printed the expected output"))
                } else {
                    Outcome::down(format!(
                        "{prog} printed {} instead of the expected output",
                        shown(got)
                    ))
                }
            }
        })
    }
}

/// Runs one check to the end on its own event loop (for tools and tests):
/// the same probe code as the daemon, bounded by `timeout`. Killed programs
/// are reaped before returning (waiting at most [`REAP_WAIT`] more).
pub fn check_once(check: &Check, addr: SocketAddr, timeout: Duration) -> io::Result<Outcome> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(16);
    let start = Instant::now();
    let deadline = start + timeout;
    let mut dying = Vec::new();
    let outcome = match Probe::start(check, addr, &Route::Direct, poll.registry()) {
        Err(o) => o,
        Ok(mut probe) => loop {
            let now = Instant::now();
            if now >= deadline {
                break probe.time_out(timeout, poll.registry(), &mut dying);
            }
            match poll.poll(&mut events, Some(deadline - now)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let mut done = None;
            for ev in events.iter() {
                if let Some(o) = probe.on_event(ev.token(), poll.registry()) {
                    done = Some(o);
                    break;
                }
            }
            if let Some(o) = done {
                break o;
            }
        },
    };
    let reap_deadline = Instant::now() + REAP_WAIT;
    while !dying.is_empty() {
        dying.retain_mut(|d| !d.try_reap(poll.registry()));
        let now = Instant::now();
        if dying.is_empty() || now >= reap_deadline {
            break;
        }
        let _ = poll.poll(&mut events, Some(reap_deadline - now));
    }
    if !dying.is_empty() {
        return Err(io::Error::other("a killed check program could not be reaped"));
    }
    Ok(outcome)
}
