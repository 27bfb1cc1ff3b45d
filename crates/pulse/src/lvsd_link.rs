//! lvsd's view, heard off the heartbeat loop: pulse listens on a Unix
//! socket next to its control socket (root only, `0600`, the peer's uid
//! checked at accept) and lvsd (`--report-socket`) writes one
//! `lvsd_api::Report` per line to it. A thread accepts, and a thread per
//! connection (at most [`MAX_CONNS`]) reads lines, decodes them and
//! publishes the newest in a [`Mailbox`], then wakes the loop so that the
//! status and `/metrics` show it at once.
//!
//! The loop only ever `try_lock`s the mailbox (the reading threads hold it
//! just to swap an `Arc`): when it is busy, the loop keeps the view it
//! had. A line that does not decode, is too long or of another version is
//! counted and dropped; a connection that ends takes its view with it, so a
//! dead lvsd shows no health.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, TryLockError};
use std::time::Instant;

use crate::events::{server_changes, Healths, What};

/// Connections read at once (lvsd has one; a stopping one may linger).
pub const MAX_CONNS: usize = 4;

/// Where pulse listens for lvsd's reports, given its control socket.
pub fn socket_path(control_socket: &Path) -> PathBuf {
    control_socket.with_extension("lvsd-report")
}

/// The last report heard from lvsd, and when.
#[derive(Clone, Debug)]
pub struct LvsdView {
    /// What lvsd said.
    pub report: lvsd_api::Report,
    /// When pulse read it (its ages are as of then).
    pub received: Instant,
    /// Reports dropped so far (undecodable, too long, other version).
    pub dropped: u64,
}

#[derive(Debug, Default)]
struct Slot {
    /// The connection that published the view.
    conn: u64,
    view: Option<Arc<LvsdView>>,
    /// Real-server transitions not yet taken by the loop (the oldest are
    /// dropped beyond [`crate::events::KEEP`]).
    changes: VecDeque<(What, String)>,
}

/// What the loop takes from the mailbox.
pub type Taken = (Option<Arc<LvsdView>>, Vec<(What, String)>);

/// Where the reading threads leave the newest view.
#[derive(Clone, Debug, Default)]
pub struct Mailbox {
    slot: Arc<Mutex<Slot>>,
    dropped: Arc<AtomicU64>,
}

impl Mailbox {
    fn put(&self, conn: u64, view: Option<Arc<LvsdView>>, changes: Vec<(What, String)>) {
        let mut s = match self.slot.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        // A connection that ends clears only its own view.
        if view.is_some() || s.conn == conn {
            s.conn = conn;
            s.view = view;
        }
        s.changes.extend(changes);
        while s.changes.len() > crate::events::KEEP {
            s.changes.pop_front();
        }
    }

    /// The newest view and the real-server transitions since the last
    /// take, or `Err(())` when a reading thread holds the mailbox right
    /// now (keep the previous view; the transitions wait). Never blocks.
    #[allow(clippy::result_unit_err)]
    pub fn try_take(&self) -> Result<Taken, ()> {
        let mut s = match self.slot.try_lock() {
            Ok(s) => s,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return Err(()),
        };
        let changes = s.changes.drain(..).collect();
        Ok((s.view.clone(), changes))
    }
}

/// Binds the socket at `path` (replacing a stale one) and starts the
/// accepting thread; `wake` is called after each new view.
///
/// # Errors
/// The socket cannot be bound, or the thread started.
pub fn listen(path: &Path, wake: impl Fn() + Send + Sync + 'static) -> io::Result<Mailbox> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, "exists and is not a socket"));
        }
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    let mailbox = Mailbox::default();
    let mb = mailbox.clone();
    let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(wake);
    std::thread::Builder::new().name("pulse-lvsd-link".into()).spawn(move || {
        let open = Arc::new(AtomicUsize::new(0));
        let me = nix::unistd::geteuid().as_raw();
        for (n, stream) in (1u64..).zip(listener.incoming()) {
            let Ok(stream) = stream else { continue };
            match peer_uid(&stream) {
                Some(uid) if uid == 0 || uid == me => {}
                uid => {
                    log::warn!("lvsd report socket: connection from uid {uid:?} refused");
                    continue;
                }
            }
            if open.load(Ordering::Relaxed) >= MAX_CONNS {
                log::warn!("lvsd report socket: {MAX_CONNS} connections open; refusing one more");
                continue;
            }
            open.fetch_add(1, Ordering::Relaxed);
            let (mb, wake, open) = (mb.clone(), Arc::clone(&wake), Arc::clone(&open));
            let spawned =
                std::thread::Builder::new().name("pulse-lvsd-read".into()).spawn(move || {
                    read_reports(stream, n, &mb, &*wake);
                    open.fetch_sub(1, Ordering::Relaxed);
                });
            if let Err(e) = spawned {
                log::warn!("lvsd report socket: cannot start a reader: {e}");
            }
        }
    })?;
    Ok(mailbox)
}

fn peer_uid(s: &UnixStream) -> Option<u32> {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    getsockopt(s, PeerCredentials).ok().map(|c| c.uid())
}

/// Reads reports from one connection until it ends.
fn read_reports(stream: UnixStream, conn: u64, mb: &Mailbox, wake: &dyn Fn()) {
    let mut r = BufReader::new(stream);
    let mut line = Vec::new();
    // Health as of this connection's previous report: none before its
    // first, whose verdicts are the starting point, not transitions.
    let mut healths: Option<Healths> = None;
    loop {
        line.clear();
        // One byte over the limit tells a long line from one at the limit.
        let limit = lvsd_api::MAX_LINE as u64 + 1;
        match r.by_ref().take(limit).read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) if !line.ends_with(b"\n") => {
                if line.len() as u64 >= limit {
                    mb.dropped.fetch_add(1, Ordering::Relaxed);
                    log::warn!("lvsd report longer than {} bytes: dropped", lvsd_api::MAX_LINE);
                    if skip_line(&mut r).is_err() {
                        break;
                    }
                    continue;
                }
                // The end of the stream in the middle of a line.
                break;
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                log::warn!("lvsd report socket: {e}");
                break;
            }
        }
        match lvsd_api::decode(&line) {
            Ok(report) => {
                let (changes, now) =
                    server_changes(healths.as_ref().unwrap_or(&Healths::new()), &report);
                let changes = if healths.is_some() { changes } else { Vec::new() };
                healths = Some(now);
                let view = LvsdView {
                    report,
                    received: Instant::now(),
                    dropped: mb.dropped.load(Ordering::Relaxed),
                };
                mb.put(conn, Some(Arc::new(view)), changes);
                wake();
            }
            Err(e) => {
                let n = mb.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                // The first few, then every hundredth: garbage must not
                // flood the log.
                if n <= 3 || n.is_multiple_of(100) {
                    log::warn!("lvsd report dropped ({n} so far): {e}");
                }
            }
        }
    }
    mb.put(conn, None, Vec::new());
    wake();
}

/// Reads and discards up to the next newline.
fn skip_line(r: &mut BufReader<UnixStream>) -> io::Result<()> {
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if let Some(i) = buf.iter().position(|&b| b == b'\n') {
            r.consume(i + 1);
            return Ok(());
        }
        let n = buf.len();
        r.consume(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::mpsc::channel;
    use std::time::Duration;

    fn report(pid: u32) -> lvsd_api::Report {
        lvsd_api::Report {
            version: lvsd_api::VERSION,
            pid,
            ready: true,
            nanny_restarts: 0,
            counters_age: None,
            services: Vec::new(),
        }
    }

    #[test]
    fn garbage_is_dropped_and_a_closed_connection_clears_its_view() {
        let dir = std::env::temp_dir().join(format!("pulse-link-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("s.lvsd-report");
        let (tx, rx) = channel();
        let tx = Mutex::new(tx);
        let mb = listen(&path, move || {
            let _ = tx.lock().map(|t| t.send(()));
        })
        .unwrap();
        let latest = || loop {
            if let Ok((v, _)) = mb.try_take() {
                return v;
            }
        };
        let mut c = UnixStream::connect(&path).unwrap();
        c.write_all(b"not json\n{\"version\":9}\n\xff\n").unwrap();
        c.write_all(lvsd_api::encode(&report(42)).as_bytes()).unwrap();
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        let v = latest().unwrap();
        assert_eq!(v.report.pid, 42);
        assert_eq!(v.dropped, 3);
        // A second connection (a restarted lvsd) takes over...
        let mut c2 = UnixStream::connect(&path).unwrap();
        c2.write_all(lvsd_api::encode(&report(43)).as_bytes()).unwrap();
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(latest().unwrap().report.pid, 43);
        // ...and the first one ending does not clear its view.
        drop(c);
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(latest().unwrap().report.pid, 43);
        drop(c2);
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(latest().is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
