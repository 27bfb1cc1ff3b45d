//! Test helpers: real servers on loopback whose behaviour a test switches
//! at will, and a running `nanny` binary whose protocol lines are read
//! with their arrival times.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use nanny::protocol::{decode, Message};

/// How the test server behaves for each new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// Listening, replies `reply` at once (HTTP 200 when in HTTP style).
    Ok = 0,
    /// Not listening: connection refused.
    Down = 1,
    /// Accepts, never replies, keeps the connection open.
    Hang = 2,
    /// Replies correctly, one byte every 50 ms.
    Slow = 3,
    /// Replies garbage.
    Garbage = 4,
    /// Accepts and closes at once.
    CloseEarly = 5,
    /// HTTP 500.
    Http500 = 6,
    /// Replies the first half of the expected reply, then closes.
    Short = 7,
}

/// A TCP server on 127.0.0.1 with a switchable [`Mode`].
pub struct Server {
    pub addr: SocketAddr,
    mode: Arc<AtomicU8>,
}

const HTTP_OK: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall healthy\n";
const HTTP_500: &[u8] = b"HTTP/1.0 500 Internal Server Error\r\n\r\nbroken\n";
/// What the server replies in [`Mode::Ok`] (a banner, like SMTP's).
pub const BANNER: &[u8] = b"220 rs1 ESMTP ready\r\n";

impl Server {
    /// Starts a server; `http`: reply like a web server, else send [`BANNER`].
    pub fn start(mode: Mode, http: bool) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(AtomicU8::new(mode as u8));
        let m = mode.clone();
        thread::spawn(move || serve(Some(listener), addr, m, http));
        Server { addr, mode }
    }

    pub fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }
}

fn mode_of(v: u8) -> Mode {
    [
        Mode::Ok,
        Mode::Down,
        Mode::Hang,
        Mode::Slow,
        Mode::Garbage,
        Mode::CloseEarly,
        Mode::Http500,
        Mode::Short,
    ][v as usize]
}

fn serve(mut listener: Option<TcpListener>, addr: SocketAddr, mode: Arc<AtomicU8>, http: bool) {
    loop {
        let m = mode_of(mode.load(Ordering::SeqCst));
        if m == Mode::Down {
            listener = None;
            thread::sleep(Duration::from_millis(5));
            continue;
        }
        let l = match &listener {
            Some(l) => l,
            None => match TcpListener::bind(addr) {
                Ok(l) => {
                    l.set_nonblocking(true).unwrap();
                    listener.insert(l)
                }
                Err(_) => {
                    thread::sleep(Duration::from_millis(5));
                    continue;
                }
            },
        };
        l.set_nonblocking(true).unwrap();
        match l.accept() {
            Ok((s, _)) => {
                thread::spawn(move || handle(s, m, http));
            }
            Err(_) => thread::sleep(Duration::from_millis(2)),
        }
    }
}

fn handle(mut s: TcpStream, m: Mode, http: bool) {
    s.set_nonblocking(false).unwrap();
    if http {
        // Read the request head first.
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    }
    let good = if http { HTTP_OK } else { BANNER };
    match m {
        Mode::Ok => {
            let _ = s.write_all(good);
        }
        Mode::Down => {}
        Mode::Hang => thread::sleep(Duration::from_secs(30)),
        Mode::Slow => {
            for b in good {
                let _ = s.write_all(&[*b]);
                thread::sleep(Duration::from_millis(50));
            }
        }
        Mode::Garbage => {
            let _ = s.write_all(b"\x00\xffxyzzy garbage\r\n");
        }
        Mode::CloseEarly => {}
        Mode::Http500 => {
            let _ = s.write_all(HTTP_500);
        }
        Mode::Short => {
            let _ = s.write_all(&good[..good.len() / 2]);
        }
    }
    // Let the client read before the close.
    thread::sleep(Duration::from_millis(100));
}

/// A UDP echo server answering `pong` to `ping`; [`UdpServer::stop`] closes
/// the socket (the port then answers ICMP port unreachable).
pub struct UdpServer {
    pub addr: SocketAddr,
    stop: Arc<AtomicU8>,
}

impl UdpServer {
    pub fn start() -> UdpServer {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = sock.local_addr().unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let stop = Arc::new(AtomicU8::new(0));
        let st = stop.clone();
        thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while st.load(Ordering::SeqCst) == 0 {
                if let Ok((n, peer)) = sock.recv_from(&mut buf) {
                    if &buf[..n] == b"ping" {
                        let _ = sock.send_to(b"pong", peer);
                    }
                }
            }
        });
        UdpServer { addr, stop }
    }

    pub fn stop(&self) {
        self.stop.store(1, Ordering::SeqCst);
        // Wait for the thread to drop the socket.
        thread::sleep(Duration::from_millis(100));
    }
}

/// A running `nanny --report` and its protocol lines.
pub struct Nanny {
    pub child: Child,
    lines: Receiver<(Instant, String)>,
    pub started: Instant,
    /// The last `check` line (passed, duration, reason), skipped by
    /// [`Nanny::next`] like `alive` lines: they report, they decide nothing.
    pub last_check: Option<(bool, Duration, String)>,
}

impl Nanny {
    pub fn start(args: &[&str]) -> Nanny {
        Self::start_env(args, &[])
    }

    pub fn start_env(args: &[&str], env: &[(&str, &str)]) -> Nanny {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_nanny"));
        cmd.args(args)
            .arg("--report")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .env("RUST_LOG", "warn");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        let mut n = Nanny { child, lines: rx, started: Instant::now(), last_check: None };
        let (_, hello) = n.next_any(Duration::from_secs(10)).expect("hello line");
        assert!(matches!(hello, Message::Hello { version: 1, .. }), "{hello:?}");
        n
    }

    /// Next line of any kind, decoded.
    pub fn next_any(&mut self, within: Duration) -> Option<(Instant, Message)> {
        match self.lines.recv_timeout(within) {
            Ok((t, line)) => {
                Some((t, decode(&line).unwrap_or_else(|e| panic!("bad line {line:?}: {e}"))))
            }
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Next line that is not an `alive` or a `check`, within `within`;
    /// panics if none.
    pub fn next(&mut self, within: Duration) -> (Instant, Message) {
        let end = Instant::now() + within;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.next_any(left) {
                Some((_, Message::Alive { .. })) => continue,
                Some((_, Message::Check { ok, took, reason })) => {
                    self.last_check = Some((ok, took, reason));
                }
                Some(x) => return x,
                None => panic!("no message within {within:?}"),
            }
        }
    }

    /// Asserts nothing but `alive` lines arrive during `d`.
    pub fn quiet_for(&mut self, d: Duration) {
        let end = Instant::now() + d;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            match self.next_any(left) {
                Some((_, Message::Alive { .. } | Message::Check { .. })) => {}
                Some((_, m)) => panic!("unexpected {m:?}"),
                None => return,
            }
        }
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), sig).unwrap();
    }
}

impl Drop for Nanny {
    fn drop(&mut self) {
        // SIGTERM first: the nanny kills its check in flight and exits.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let end = Instant::now() + Duration::from_secs(3);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts `m` is `up` and returns its weight.
#[track_caller]
pub fn up(m: &Message) -> u32 {
    match m {
        Message::Up { weight, .. } => *weight,
        other => panic!("expected up, got {other:?}"),
    }
}

/// Asserts `m` is `down` with a reason containing `why`.
#[track_caller]
pub fn down(m: &Message, why: &str) {
    match m {
        Message::Down { reason, .. } => {
            assert!(reason.contains(why), "reason {reason:?} lacks {why:?}")
        }
        other => panic!("expected down ({why}), got {other:?}"),
    }
}
