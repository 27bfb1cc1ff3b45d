//! What the in-guest cluster suites (`tests/vm/e2e.rs`, `tests/vm/node.rs`)
//! put around a cluster: real servers that answer with their name, a
//! client that keeps asking the VIP and records every answer, a timeline
//! on the console and a scratch directory. One copy, so that both suites
//! measure clients the same way.

// Helpers of the test suites: a failed unwrap is a failed test, with its place.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sched::{setns, CloneFlags};
use testbed::{addr, Netns};

/// Pause between two client requests.
pub const REQUEST_GAP: Duration = Duration::from_millis(50);

/// The scenarios move whole clusters; under software emulation two at once
/// would measure the emulator, so they run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Holds the one-cluster-at-a-time lock until dropped (a scenario that
/// panicked does not poison it for the next).
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Writes one line of the timeline to the console, uncaptured.
#[derive(Debug)]
pub struct Timeline {
    /// The scenario's start: every line and sample is timed from it.
    pub t0: Instant,
    /// Names the scenario on each line.
    pub tag: &'static str,
}

impl Timeline {
    /// Writes `what` with the time since [`Timeline::t0`], straight to
    /// stdout so that libtest does not capture it.
    pub fn say(&self, what: &str) {
        let t = self.t0.elapsed().as_secs_f64();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "[{:>6}] {:>7.2}s  {what}", self.tag, t);
        let _ = out.flush();
    }

    /// The time since the scenario's start.
    pub fn at(&self) -> Duration {
        self.t0.elapsed()
    }
}

// ---- Real servers ----

/// A real server: HTTP `GET` gets a page naming the server and the
/// connection is closed; any other first line starts an echo session that
/// answers every line with `<name> <line>` until the client closes (the
/// long-lived connection of the sync-daemon test).
#[derive(Debug)]
pub struct RealServer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl RealServer {
    /// Listens on port 80 of every address of `ns` until dropped.
    pub fn start(ns: &Netns, name: &str) -> RealServer {
        let any = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 80));
        let listener = ns.enter(|| TcpListener::bind(any)).unwrap().unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, name) = (stop.clone(), name.to_string());
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let name = name.clone();
                        std::thread::spawn(move || serve(stream, &name));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        RealServer { stop, thread: Some(thread) }
    }
}

impl Drop for RealServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(stream: TcpStream, name: &str) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    let mut first = String::new();
    if reader.read_line(&mut first).unwrap_or(0) == 0 {
        return;
    }
    if first.starts_with("GET ") {
        // Read the rest of the header, then answer and close.
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 && line.trim() != "" {
            line.clear();
        }
        let reply = format!(
            "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{name}",
            name.len()
        );
        let _ = writer.write_all(reply.as_bytes());
        return;
    }
    let mut line = first;
    loop {
        if writer.write_all(format!("{name} {}", line).as_bytes()).is_err() {
            return;
        }
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
    }
}

// ---- The client ----

/// How long one client request may take: a suite that measures the outage
/// wants an impatient client, one that only checks for failures a patient
/// one (see each suite's constant).
#[derive(Clone, Copy, Debug)]
pub struct Patience {
    /// To connect.
    pub connect: Duration,
    /// Then for the answer (read and write timeouts).
    pub answer: Duration,
}

/// One client request: when it started and ended (since the scenario's
/// start) and which real server answered, or why it failed.
#[derive(Debug, Clone)]
pub struct Sample {
    /// When it was sent.
    pub start: Duration,
    /// When it was answered or failed.
    pub end: Duration,
    /// The answering real server's name, or the error.
    pub result: Result<String, String>,
}

/// A thread in the client's namespace making one HTTP request to the VIP
/// after another (a new connection each), recording every outcome.
#[derive(Debug)]
pub struct Load {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
    thread: Option<JoinHandle<()>>,
}

impl Load {
    /// Starts the requests from `client` to the VIP's port 80, timed from
    /// `t0`, each with `patience`.
    pub fn start(client: &Netns, t0: Instant, patience: Patience) -> Load {
        let path = format!("/run/netns/{}", client.name());
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (flag, out) = (stop.clone(), samples.clone());
        let thread = std::thread::spawn(move || {
            setns(File::open(&path).unwrap(), CloneFlags::CLONE_NEWNET).unwrap();
            let vip = SocketAddr::from((addr::VIP, 80));
            while !flag.load(Ordering::Relaxed) {
                let start = t0.elapsed();
                let result = http_get(vip, patience).map_err(|e| e.to_string());
                out.lock().unwrap().push(Sample { start, end: t0.elapsed(), result });
                std::thread::sleep(REQUEST_GAP);
            }
        });
        Load { stop, samples, thread: Some(thread) }
    }

    /// Every outcome so far.
    pub fn samples(&self) -> Vec<Sample> {
        self.samples.lock().unwrap().clone()
    }

    /// Stops the requests and gives every outcome.
    pub fn finish(mut self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        self.samples()
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `GET /` within `patience`, so that a request sent into an outage fails
/// and the next one finds the new router, rather than riding the outage
/// out on TCP's retransmissions (a lost SYN is sent again only after 1 s,
/// then 3 s). The body is the answering server's name.
fn http_get(to: SocketAddr, patience: Patience) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&to, patience.connect)?;
    s.set_read_timeout(Some(patience.answer))?;
    s.set_write_timeout(Some(patience.answer))?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")?;
    let mut reply = String::new();
    s.read_to_string(&mut reply)?;
    match reply.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.0 200") => Ok(body.to_string()),
        _ => Err(std::io::Error::other(format!("bad reply {reply:?}"))),
    }
}

/// A TCP echo server on `at` in `ns`, serving each connection until its
/// client closes (the long-lived connection a reload must not cut).
pub fn echo_server(ns: &Netns, at: SocketAddr) {
    let listener = ns.enter(|| TcpListener::bind(at)).unwrap().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                let mut s = stream;
                let mut buf = [0u8; 256];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 || s.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
}

/// A stretch of the run in which requests may fail, with why.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// What happens in it.
    pub what: &'static str,
    /// From (since the scenario's start).
    pub from: Duration,
    /// To.
    pub to: Duration,
}

impl Window {
    /// Whether the request was in flight during the window: one that
    /// started just before a server was stopped or a router killed, and was
    /// cut off by it, is that event's casualty too.
    pub fn overlaps(&self, s: &Sample) -> bool {
        s.start <= self.to && s.end >= self.from
    }
}

/// The client's run read against the windows in which requests may fail,
/// the last of them a router failover starting at the kill: tells on `log`
/// the failures per window, the outage, the first answer after the
/// failover and the answers slower than `slow`. Returns the failed
/// requests outside every window and the outage the client saw: from the
/// last answer before the first failure of the failover window to the
/// first answer after its last.
pub fn account<'a>(
    log: &Timeline,
    samples: &'a [Sample],
    windows: &[Window],
    slow: Duration,
) -> (Vec<&'a Sample>, Duration) {
    let failover = windows.last().expect("the last window is the failover");
    let kill_at = failover.from;
    let failed: Vec<&Sample> = samples.iter().filter(|s| s.result.is_err()).collect();
    let outside: Vec<&Sample> =
        failed.iter().filter(|s| !windows.iter().any(|w| w.overlaps(s))).copied().collect();
    let in_failover: Vec<&&Sample> = failed.iter().filter(|s| failover.overlaps(s)).collect();
    let outage = match (in_failover.first(), in_failover.last()) {
        (Some(first), Some(last)) => {
            let before = samples
                .iter()
                .filter(|s| s.result.is_ok() && s.end <= first.start)
                .map(|s| s.end)
                .max()
                .unwrap_or(first.start);
            let after = samples
                .iter()
                .filter(|s| s.result.is_ok() && s.start >= last.end)
                .map(|s| s.end)
                .min()
                .expect("a request succeeded after the failover");
            after - before
        }
        _ => Duration::ZERO,
    };
    let per_window: Vec<String> = windows
        .iter()
        .map(|w| {
            let n = failed.iter().filter(|s| w.overlaps(s)).count();
            format!("{n} in \"{}\" ({:.1?})", w.what, w.to - w.from)
        })
        .collect();
    log.say(&format!(
        "timeline: {} requests, {} failed: {}, {} outside any window",
        samples.len(),
        failed.len(),
        per_window.join(", "),
        outside.len()
    ));
    log.say(&format!(
        "client-visible outage at failover: {outage:.2?} (last answer before the first failed request to the first answer after the last)"
    ));
    if let Some(first) = in_failover.last().and_then(|last| {
        samples.iter().filter(|s| s.result.is_ok() && s.start >= last.end).min_by_key(|s| s.end)
    }) {
        log.say(&format!(
            "first answered request after the failover: sent {:.2?} after the kill, answered {:.2?} after it",
            first.start - kill_at,
            first.end - kill_at
        ));
    }
    let slow_ones: Vec<String> = samples
        .iter()
        .filter(|s| s.result.is_ok() && s.end - s.start > slow)
        .map(|s| format!("{:.1?} at {:.1?}", s.end - s.start, s.start))
        .collect();
    log.say(&format!(
        "{} answered requests took over {slow:?}{}{}",
        slow_ones.len(),
        if slow_ones.is_empty() { "" } else { ": " },
        slow_ones.join(", ")
    ));
    (outside, outage)
}

/// Answers per real server among successful samples.
pub fn spread(samples: &[Sample]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for s in samples {
        if let Ok(name) = &s.result {
            *m.entry(name.clone()).or_insert(0) += 1;
        }
    }
    m
}

/// A spread for the timeline: `web1 12, web2 11`.
pub fn show_spread(m: &BTreeMap<String, usize>) -> String {
    m.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
}

/// A scratch directory under /tmp, removed on drop.
#[derive(Debug)]
pub struct Dir(pub PathBuf);

impl Dir {
    /// `/tmp/SUITE-PID-TAG`, emptied.
    pub fn new(suite: &str, tag: &str) -> Dir {
        let p = PathBuf::from(format!("/tmp/{suite}-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
