//! The control socket's connections (`control_server`) on a real socket,
//! driven by hand with injected time: bounded, deadlined, never blocking.

// Test helpers may unwrap: a failed unwrap is a failed test, with its line.
#![allow(clippy::unwrap_used)]

use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream as StdStream;
use std::time::Instant;

use mio::Token;
use pulse::control_server::{ControlServer, ACCEPT_PER_TURN, DEADLINE, MAX_OPEN};

#[test]
fn bounded_deadlined_connections_answer_without_blocking() {
    let dir = std::env::temp_dir().join(format!("pulse-ctl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("s.sock");
    let poll = mio::Poll::new().unwrap();
    let mut srv = ControlServer::bind(&path, poll.registry(), Token(1), 100).unwrap();
    let t0 = Instant::now();
    // More idle clients than the bound: every accept returns at once, and
    // a turn takes only a few of a burst, then asks for the next turn at
    // once (a deadline of now) while more wait in the backlog.
    let mut idle: Vec<StdStream> =
        (0..MAX_OPEN + 4).map(|_| StdStream::connect(&path).unwrap()).collect();
    let (mut turns, mut listener) = (0, Some(Token(1)));
    while let Some(token) = listener {
        let before = srv.open() as u64 + srv.refused_busy();
        assert!(srv.ready(token, poll.registry(), t0).is_empty());
        let taken = srv.open() as u64 + srv.refused_busy() - before;
        assert!(taken <= ACCEPT_PER_TURN as u64, "{taken} in one turn");
        turns += 1;
        listener = srv.backlog();
        if listener.is_some() {
            assert!(srv.next_deadline().is_some_and(|d| d <= Instant::now()));
        }
    }
    // The last turn finds the backlog empty.
    assert_eq!(turns, (MAX_OPEN + 4) / ACCEPT_PER_TURN + 1);
    assert_eq!((srv.open(), srv.refused_busy()), (MAX_OPEN, 4));
    let mut busy = String::new();
    idle[MAX_OPEN].read_to_string(&mut busy).unwrap();
    assert_eq!(busy, "error: busy: too many control connections\n");
    // A request on an open one is read when it arrives and answered.
    let mut c = idle.remove(0);
    c.write_all(b"status\n").unwrap();
    let p = srv.ready(Token(100), poll.registry(), t0);
    assert_eq!(p.len(), 1);
    assert_eq!((p[0].token, p[0].line.as_str()), (Token(100), "status\n"));
    srv.reply(p[0].token, "ok\n", poll.registry());
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let _ = srv.ready(Token(100), poll.registry(), t0);
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    assert_eq!(out, "ok\n");
    assert_eq!(srv.open(), MAX_OPEN - 1);
    // At the deadline the idle ones are closed.
    assert_eq!(srv.next_deadline(), Some(t0 + DEADLINE));
    srv.expire(poll.registry(), t0 + DEADLINE);
    assert_eq!(srv.open(), 0);
    let mut rest = String::new();
    idle[0].read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "", "closed without a word");
    std::fs::remove_dir_all(&dir).unwrap();
}
