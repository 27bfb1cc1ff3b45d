//! `pulse --control events`: the control connection of an `events` request
//! is handed to a thread of its own, which writes every kept event and then
//! each new one, one JSON object per line, as the loop publishes them on
//! the `Board`. The loop only hands the socket over; the thread writes
//! without blocking, keeps at most [`MAX_BUF`] bytes per reader and drops
//! a reader that lets more pile up, and serves at most [`MAX_READERS`].

use std::io::{ErrorKind, Read, Write};
use std::path::Path;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use mio::net::UnixStream;

use crate::snapshot::Board;

/// Most `events` readers at once.
pub const MAX_READERS: usize = 16;
/// Most bytes waiting for one reader before it is dropped.
pub const MAX_BUF: usize = 256 * 1024;
/// How often the thread looks for new events.
const TICK: Duration = Duration::from_millis(200);

struct Reader {
    stream: UnixStream,
    last: u64,
    out: Vec<u8>,
}

/// The streaming thread's door: started at the first reader.
#[derive(Debug, Default)]
pub struct EventStreams {
    tx: Option<Sender<UnixStream>>,
}

impl EventStreams {
    /// Hands `stream` to the thread (started now if need be), which streams
    /// `board`'s events to it.
    pub fn add(&mut self, stream: UnixStream, board: &Board) {
        if self.tx.is_none() {
            let (tx, rx) = channel();
            let board = board.clone();
            let spawned = std::thread::Builder::new()
                .name("pulse-events".into())
                .spawn(move || run(&rx, &board));
            if let Err(e) = spawned {
                log::warn!("cannot start the events thread: {e}");
                return;
            }
            self.tx = Some(tx);
        }
        if let Some(tx) = &self.tx {
            let _ = tx.send(stream);
        }
    }
}

fn run(rx: &Receiver<UnixStream>, board: &Board) {
    let mut readers: Vec<Reader> = Vec::new();
    loop {
        match rx.recv_timeout(TICK) {
            Ok(stream) if readers.len() < MAX_READERS => {
                readers.push(Reader { stream, last: 0, out: Vec::new() });
            }
            Ok(mut stream) => {
                let _ = stream.write_all(b"error: too many event readers\n");
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let snap = board.latest();
        readers.retain_mut(|r| {
            if let Some(s) = &snap {
                for e in s.events.after(r.last) {
                    r.out.extend_from_slice(e.to_json().as_bytes());
                    r.out.push(b'\n');
                    r.last = e.seq;
                }
            }
            if r.out.len() > MAX_BUF {
                log::debug!("an events reader too slow: dropped");
                return false;
            }
            // What the client sends is dropped; its end ends the stream.
            let mut sink = [0u8; 512];
            match r.stream.read(&mut sink) {
                Ok(0) => return false,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => return false,
            }
            while !r.out.is_empty() {
                match r.stream.write(&r.out) {
                    Ok(0) => return false,
                    Ok(n) => {
                        r.out.drain(..n);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => return false,
                }
            }
            true
        });
    }
}

/// The client side: sends `events` on `socket` and copies the stream to
/// `out` until pulse closes it.
///
/// # Errors
/// The socket's or `out`'s error.
pub fn follow(socket: &Path, out: &mut dyn Write) -> std::io::Result<()> {
    let mut s = std::os::unix::net::UnixStream::connect(socket)?;
    s.write_all(b"events\n")?;
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                out.write_all(&buf[..n])?;
                out.flush()?;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}
