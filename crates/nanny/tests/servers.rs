//! Acceptance: a real `nanny --report` against real servers on loopback
//! that go up, go down, hang after accept, reply slowly, reply garbage,
//! close early or return a wrong HTTP status. Each test asserts the
//! protocol lines and when they arrive (generous bounds: the machine is
//! shared).

// Runs the binaries and tools under test: the choke point for starting
// processes (`clippy.toml`) is the library's.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{down, up, Mode, Nanny, Server, UdpServer};
use nanny::protocol::Message;
use nix::sys::signal::Signal;

const S: Duration = Duration::from_secs(1);

fn port(s: &Server) -> String {
    s.addr.port().to_string()
}

/// Starts a nanny on a server in `Mode::Ok`, waits for `up`, switches the
/// server to `bad`, and asserts `down` with `why`, at least `min` after
/// the switch. Returns the nanny and server for more.
fn up_then_down(
    http: bool,
    extra: &[&str],
    bad: Mode,
    why: &str,
    min: Duration,
) -> (Nanny, Server) {
    let srv = Server::start(Mode::Ok, http);
    let p = port(&srv);
    let mut args = vec!["-h", "127.0.0.1", "-p", &p, "-t", "0.3", "-a", "1", "--lvs"];
    args.extend_from_slice(extra);
    let mut n = Nanny::start(&args);
    let (_, m) = n.next(5 * S);
    up(&m);
    let t = Instant::now();
    srv.set(bad);
    let (at, m) = n.next(5 * S);
    down(&m, why);
    let took = at - t;
    assert!(took >= min, "down after {took:?}, before {min:?}");
    (n, srv)
}

#[test]
fn tcp_connect_goes_down_and_reentry_is_honoured() {
    let (mut n, srv) = up_then_down(false, &["-a", "1.5"], Mode::Down, "refused", Duration::ZERO);
    // Each check says how it went and how long it took, before the verdict.
    let (ok, took, reason) = n.last_check.clone().expect("a check line before the down");
    assert!(
        !ok && reason.contains("refused") && took < Duration::from_secs(1),
        "{reason} {took:?}"
    );
    let t = Instant::now();
    srv.set(Mode::Ok);
    let (at, m) = n.next(6 * S);
    assert_eq!(up(&m), 1);
    // reentry 1.5 s / interval 0.3 s: the 5th success in a row, counting
    // the first (piranha's countThresh), 4 intervals after the first.
    let took = at - t;
    // Checks run on a schedule of fixed times, so the 5th success completes
    // 4 intervals after the first was due; that one may have been due a
    // little before `t` and run after it (a busy host): 1.1 s, not 1.2.
    assert!(took >= Duration::from_millis(1100), "re-admitted after {took:?}");
    assert!(took < Duration::from_millis(4500), "re-admitted only after {took:?}");
    if let Message::Up { reason, .. } = m {
        assert!(reason.contains("check ok 5 times in a row"), "{reason}");
    }
}

#[test]
fn server_that_hangs_after_accept_is_down_at_the_timeout() {
    let (mut n, _srv) = up_then_down(
        false,
        &["-x", "220 "],
        Mode::Hang,
        "timed out after 0.3s",
        Duration::from_millis(250),
    );
    n.quiet_for(S / 2);
}

#[test]
fn garbage_reply_is_down() {
    up_then_down(false, &["-x", "220 "], Mode::Garbage, "unexpected reply", Duration::ZERO);
}

#[test]
fn early_close_and_short_reply_are_down() {
    up_then_down(
        false,
        &["-x", "220 "],
        Mode::CloseEarly,
        "closed without replying",
        Duration::ZERO,
    );
    up_then_down(false, &["-x", "220 rs1 ESMTP ready"], Mode::Short, "too short", Duration::ZERO);
}

#[test]
fn slow_partial_replies_within_the_timeout_are_up() {
    // One byte every 50 ms: "220 rs1 ESMTP" arrives in about 0.65 s, in
    // many partial reads.
    let srv = Server::start(Mode::Slow, false);
    let p = port(&srv);
    let mut n = Nanny::start(&[
        "-h",
        "127.0.0.1",
        "-p",
        &p,
        "-t",
        "0.5",
        "--timeout",
        "2",
        "-x",
        "220 rs1 ESMTP",
    ]);
    let (_, m) = n.next(5 * S);
    up(&m);
    n.quiet_for(3 * S);
    // The same in regex mode.
    let mut r = Nanny::start(&[
        "-h",
        "127.0.0.1",
        "-p",
        &p,
        "-t",
        "0.5",
        "--timeout",
        "2",
        "--regex",
        "-x",
        "^220 .* ESMTP r",
    ]);
    let (_, m) = r.next(5 * S);
    up(&m);
    // Too slow for a 0.3 s timeout: never up.
    let mut slow = Nanny::start(&["-h", "127.0.0.1", "-p", &p, "-t", "0.3", "-x", "220 rs1 ESMTP"]);
    slow.quiet_for(2 * S);
}

#[test]
fn http_wrong_status_is_down_and_back_after_reentry() {
    let (mut n, srv) = up_then_down(
        true,
        &["--http", "--http-path=/health"],
        Mode::Http500,
        "HTTP status 500",
        Duration::ZERO,
    );
    let t = Instant::now();
    srv.set(Mode::Ok);
    let (at, m) = n.next(6 * S);
    up(&m);
    // reentry 1 s / interval 0.3 s: the 3rd success in a row.
    // (Two intervals after the first success was due, less a busy host's delay.)
    assert!(at - t >= Duration::from_millis(500), "re-admitted after {:?}", at - t);
}

#[test]
fn http_body_regex_and_piranha_default_web_check() {
    let srv = Server::start(Mode::Ok, true);
    let p = port(&srv);
    let mut good =
        Nanny::start(&["-h", "127.0.0.1", "-p", &p, "-t", "0.3", "--http-body", "all h[a-z]+y"]);
    up(&good.next(5 * S).1);
    let mut bad =
        Nanny::start(&["-h", "127.0.0.1", "-p", &p, "-t", "0.3", "--http-body", "unicorns"]);
    bad.quiet_for(2 * S);
    // Without a monitor, piranha checks port-80 services with
    // "GET / HTTP/1.0" expecting "HTTP": -p 80 is the virtual port.
    let mut dflt = Nanny::start(&["-h", "127.0.0.1", "-p", "80", "-r", &p, "-t", "0.3"]);
    up(&dflt.next(5 * S).1);
}

#[test]
fn udp_port_unreachable_is_down() {
    let srv = UdpServer::start();
    let p = srv.addr.port().to_string();
    let mut n = Nanny::start(&[
        "-h",
        "127.0.0.1",
        "-p",
        &p,
        "-u",
        "-s",
        "ping",
        "-x",
        "pong",
        "-t",
        "0.3",
        "-a",
        "1",
    ]);
    up(&n.next(5 * S).1);
    let t = Instant::now();
    srv.stop();
    let (at, m) = n.next(5 * S);
    down(&m, "port unreachable");
    // ICMP answers at once: well before the 0.3 s timeout plus interval.
    assert!(at - t < S, "{:?}", at - t);
}

#[test]
fn udp_wrong_reply_or_silence_is_not_up() {
    let srv = UdpServer::start();
    let p = srv.addr.port().to_string();
    // The server only answers "ping": silence, then the timeout.
    let mut n = Nanny::start(&["-h", "127.0.0.1", "-p", &p, "-u", "-s", "hello", "-t", "0.3"]);
    n.quiet_for(S);
    let mut w =
        Nanny::start(&["-h", "127.0.0.1", "-p", &p, "-u", "-s", "ping", "-x", "pang", "-t", "0.3"]);
    w.quiet_for(S);
}

/// A TLS server with the fixture certificate; mode 0 = TLS (answers HTTP
/// 200 to a request), 1 = plaintext garbage.
fn tls_server() -> (u16, Arc<AtomicU8>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");
    let certs = vec![CertificateDer::from_pem_file(format!("{dir}cert.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(format!("{dir}key.pem")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
    );
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let mode = Arc::new(AtomicU8::new(0));
    let m = mode.clone();
    thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let config = config.clone();
            let plain = m.load(Ordering::SeqCst) == 1;
            thread::spawn(move || {
                s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
                if plain {
                    let _ = s.write_all(b"hello, I am not TLS\r\n");
                    thread::sleep(Duration::from_millis(200));
                    return;
                }
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, s);
                let mut buf = [0u8; 2048];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tls.write_all(b"HTTP/1.0 200 OK\r\n\r\nsecure and healthy\n");
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    (port, mode)
}

#[test]
fn tls_handshake_and_https_checks() {
    let (port, mode) = tls_server();
    let p = port.to_string();
    let mut hs = Nanny::start(&["-h", "127.0.0.1", "-p", &p, "-t", "0.3", "--tls", "-a", "1"]);
    let (_, m) = hs.next(5 * S);
    match &m {
        Message::Up { reason, .. } => assert!(reason.contains("TLS handshake"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let mut https = Nanny::start(&[
        "-h",
        "127.0.0.1",
        "-p",
        &p,
        "-t",
        "0.3",
        "--tls",
        "--http",
        "--http-body",
        "secure",
        "--tls-name",
        "rs1.test",
    ]);
    up(&https.next(5 * S).1);
    mode.store(1, Ordering::SeqCst);
    down(&hs.next(5 * S).1, "TLS");
    down(&https.next(5 * S).1, "TLS");
}

#[test]
fn signals_force_down_force_up_back_to_normal_and_terminate() {
    let srv = Server::start(Mode::Ok, false);
    let p = port(&srv);
    let mut n = Nanny::start(&["-h", "127.0.0.1", "-p", &p, "-t", "0.2", "-a", "30"]);
    up(&n.next(5 * S).1);
    n.signal(Signal::SIGUSR1);
    down(&n.next(5 * S).1, "SIGUSR1");
    // Frozen: the server is fine but stays out.
    n.quiet_for(S);
    n.signal(Signal::SIGUSR2);
    let (_, m) = n.next(5 * S);
    assert!(matches!(&m, Message::Up { reason, .. } if reason.contains("SIGUSR2")), "{m:?}");
    // Frozen up: the server fails but stays in.
    srv.set(Mode::Down);
    n.quiet_for(S);
    // HUP: normal again, checked at once.
    let t = Instant::now();
    n.signal(Signal::SIGHUP);
    let (at, m) = n.next(5 * S);
    down(&m, "refused");
    assert!(at - t < S / 2, "HUP check took {:?}", at - t);
    srv.set(Mode::Ok);
    // Reentry is 30 s: still out.
    n.quiet_for(S);
    n.signal(Signal::SIGUSR2);
    up(&n.next(5 * S).1);
    n.signal(Signal::SIGTERM);
    down(&n.next(5 * S).1, "terminating");
    assert!(matches!(n.next(5 * S).1, Message::Bye { .. }));
    let status = n.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

fn script(name: &str, body: &str) -> String {
    let dir = std::env::temp_dir().join(format!("nanny-test-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn slow_start_doubles_up_to_the_weight() {
    let srv = Server::start(Mode::Ok, false);
    let p = port(&srv);
    let mut n =
        Nanny::start(&["-h", "127.0.0.1", "-p", &p, "-t", "0.1", "-w", "64", "--adjust", "0.3"]);
    assert_eq!(up(&n.next(5 * S).1), 2);
    for w in [4, 8, 16, 32, 64] {
        let (_, m) = n.next(5 * S);
        assert!(matches!(m, Message::Weight { weight, .. } if weight == w), "{m:?}");
    }
    n.quiet_for(S);
}

#[test]
fn load_probe_adjusts_weight_with_piranhas_formula() {
    let srv = Server::start(Mode::Ok, false);
    let p = port(&srv);
    let idle =
        script("idle-uptime", "echo \" 10:00:00 up 1 day,  load average: 0.00, 0.00, 0.00\"");
    let mut n = Nanny::start(&[
        "-h",
        "127.0.0.1",
        "-p",
        &p,
        "-t",
        "0.1",
        "-w",
        "10",
        "--no-slow-start",
        "--adjust",
        "0.3",
        "--load-program",
        &idle,
    ]);
    assert_eq!(up(&n.next(5 * S).1), 10);
    // s = 5, load 0: +5 each period, up to 10 * 10.
    for w in [15, 20, 25] {
        let (_, m) = n.next(5 * S);
        assert!(matches!(m, Message::Weight { weight, .. } if weight == w), "{m:?}");
    }
    // A loaded server (load 9: -5*cbrt(8) = -10) comes down to the base.
    let busy = script("busy-uptime", "echo 'load average: 9.00, 1.0, 1.0'");
    let mut b = Nanny::start(&[
        "-h",
        "127.0.0.1",
        "-p",
        &p,
        "-t",
        "0.1",
        "-w",
        "10",
        "--no-slow-start",
        "--adjust",
        "0.3",
        "--load-program",
        &busy,
    ]);
    assert_eq!(up(&b.next(5 * S).1), 10);
    b.quiet_for(S);
}

#[test]
fn agent_and_send_program_checks() {
    let flag = std::env::temp_dir().join(format!("nanny-test-flag-{}", std::process::id()));
    let flag = flag.to_string_lossy().into_owned();
    // Turbolinux agent: `prog IP PORT 1`, exit 0 means up.
    let agent = script(
        "agent",
        &format!("[ \"$1\" = 127.0.0.1 ] && [ \"$2\" = 4242 ] && [ \"$3\" = 1 ] || exit 2\n[ -e {flag} ] && exit 1\nexit 0"),
    );
    let mut n = Nanny::start(&["-h", "127.0.0.1", "-p", "4242", "-t", "0.2", "--agent", &agent]);
    up(&n.next(5 * S).1);
    fs::write(&flag, "").unwrap();
    down(&n.next(5 * S).1, "exit status: 1");
    fs::remove_file(&flag).unwrap();
    // piranha send_program with %h/%p: stdout compared to expect.
    let prog = script("says", "echo \"OK $1:$2\"");
    let cmd = format!("{prog} %h %p");
    let mut s = Nanny::start(&[
        "-h",
        "127.0.0.1",
        "-p",
        "4242",
        "-t",
        "0.2",
        "-e",
        &cmd,
        "-x",
        "OK 127.0.0.1:4242",
    ]);
    up(&s.next(5 * S).1);
    let mut w =
        Nanny::start(&["-h", "127.0.0.1", "-p", "4242", "-t", "0.2", "-e", &cmd, "-x", "FAIL"]);
    w.quiet_for(S);
    // Issue 17: piranha's nanny never counts a send_program without an
    // expect string as up, whatever the program prints or exits with; the
    // validator warns about it, and nanny agrees (`--agent` is the way to
    // judge by the exit status).
    let mut never =
        Nanny::start(&["-h", "127.0.0.1", "-p", "4242", "-t", "0.2", "-e", "/bin/true"]);
    never.quiet_for(S);
    let mut never = Nanny::start(&["-h", "127.0.0.1", "-p", "4242", "-t", "0.2", "-e", &cmd]);
    never.quiet_for(S);
}

#[test]
fn liveness_lines_keep_coming_while_checks_hang() {
    let srv = Server::start(Mode::Hang, false);
    let p = port(&srv);
    let mut n = Nanny::start(&[
        "-h",
        "127.0.0.1",
        "-p",
        &p,
        "-t",
        "1",
        "--timeout",
        "5",
        "-x",
        "220",
        "--alive",
        "0.2",
    ]);
    let t = Instant::now();
    let mut seqs = Vec::new();
    while seqs.len() < 5 {
        match n.next_any(2 * S) {
            Some((_, Message::Alive { seq })) => seqs.push(seq),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    assert!(t.elapsed() < 3 * S);
}

#[test]
fn unanswered_syn_is_a_connect_timeout() {
    use nix::sys::socket::{
        bind, listen, socket, AddressFamily, Backlog, SockFlag, SockType, SockaddrIn,
    };
    // A listener with a full accept queue that never accepts: further SYNs
    // are dropped, as for a dead host or a vanished address.
    let fd = socket(AddressFamily::Inet, SockType::Stream, SockFlag::empty(), None).unwrap();
    bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrIn::new(127, 0, 0, 1, 0)).unwrap();
    listen(&fd, Backlog::new(0).unwrap()).unwrap();
    let addr =
        nix::sys::socket::getsockname::<SockaddrIn>(std::os::fd::AsRawFd::as_raw_fd(&fd)).unwrap();
    let target = std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, addr.port()));
    // Fill the queue.
    let mut fillers = Vec::new();
    for _ in 0..3 {
        if let Ok(s) = std::net::TcpStream::connect_timeout(&target, Duration::from_millis(200)) {
            fillers.push(s);
        }
    }
    let o = nanny::probe::check_once(
        &nanny::probe::Check::Connect { tls: None },
        target,
        Duration::from_millis(500),
    )
    .unwrap();
    assert!(!o.ok);
    assert!(o.detail.contains("connect to 127.0.0.1"), "{}", o.detail);
    assert!(o.detail.contains("timed out after 0.5s"), "{}", o.detail);
    drop(fd);
}

#[test]
fn ipv6_tcp_and_udp() {
    use nanny::matcher::Expect;
    use nanny::probe::{check_once, Check};
    let l = TcpListener::bind("[::1]:0").unwrap();
    let addr = l.local_addr().unwrap();
    let o = check_once(&Check::Connect { tls: None }, addr, 2 * S).unwrap();
    assert!(o.ok, "{}", o.detail);
    drop(l);
    let o = check_once(&Check::Connect { tls: None }, addr, 2 * S).unwrap();
    assert!(!o.ok && o.detail.contains("refused"), "{}", o.detail);
    let u = std::net::UdpSocket::bind("[::1]:0").unwrap();
    let uaddr = u.local_addr().unwrap();
    drop(u);
    let o = check_once(
        &Check::Udp { send: b"ping".to_vec(), expect: Some(Expect::literal(b"pong")) },
        uaddr,
        2 * S,
    )
    .unwrap();
    assert!(!o.ok && o.detail.contains("port unreachable"), "{}", o.detail);
}

#[test]
fn nanny_exits_when_lvsd_goes_away() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let srv = Server::start(Mode::Ok, false);
    let mut child = Command::new(env!("CARGO_BIN_EXE_nanny"))
        .args(["-h", "127.0.0.1", "-p", &port(&srv), "-t", "0.1", "--report"])
        .env("RUST_LOG", "off")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut hello = String::new();
    out.read_line(&mut hello).unwrap();
    assert!(hello.starts_with("nanny version=1 "), "{hello}");
    drop(out);
    let end = Instant::now() + 5 * S;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < end, "nanny still running without its reader");
        thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success(), "{status:?}");
}

#[test]
fn server_down_at_start_comes_up_after_reentry() {
    // Down from the start: nothing is said (the server was never in the
    // table); once it answers, piranha's rule applies: a failure was seen,
    // so it enters at the `reentry / interval`th success in a row (1 s /
    // 0.2 s: the 5th, four intervals after the first).
    let srv = Server::start(Mode::Down, false);
    let p = port(&srv);
    // The server thread drops its listener within 5 ms of starting; a
    // connection accepted by the kernel before that would count as up.
    std::thread::sleep(Duration::from_millis(100));
    let mut n = Nanny::start(&["-h", "127.0.0.1", "-p", &p, "-t", "0.2", "-a", "1"]);
    n.quiet_for(S);
    let t = Instant::now();
    srv.set(Mode::Ok);
    let (at, m) = n.next(5 * S);
    up(&m);
    // 4 intervals after the first success was due, less a busy host's delay.
    assert!(at - t >= Duration::from_millis(700), "up after {:?}", at - t);
    assert!(at - t < 3 * S, "up only after {:?}", at - t);
    // And a server up from the start enters at the first check.
    let srv2 = Server::start(Mode::Ok, false);
    let p2 = port(&srv2);
    let mut n2 = Nanny::start(&["-h", "127.0.0.1", "-p", &p2, "-t", "0.2", "-a", "30"]);
    let (at, m) = n2.next(5 * S);
    up(&m);
    assert!(at - n2.started < S, "first up after {:?}", at - n2.started);
}

#[test]
fn retries_take_that_many_consecutive_failures() {
    let (_n, _srv) = up_then_down(
        false,
        &["--retries", "2"],
        Mode::Down,
        "3 consecutive checks failed",
        // Failures at the checks at t+a, t+a+0.3, t+a+0.6: at least 0.6 s.
        Duration::from_millis(550),
    );
}

#[test]
fn quiesce_reports_weight_zero_mode() {
    let (_n, _srv) = up_then_down(false, &["-q"], Mode::Down, "refused", Duration::ZERO);
    // up_then_down checked the reason; check the mode on a fresh pair.
    let srv = Server::start(Mode::Ok, false);
    let p = port(&srv);
    let mut n = Nanny::start(&["-h", "127.0.0.1", "-p", &p, "-t", "0.2", "-q"]);
    up(&n.next(5 * S).1);
    srv.set(Mode::Down);
    let (_, m) = n.next(5 * S);
    assert!(matches!(m, Message::Down { mode: nanny::protocol::DownMode::Quiesce, .. }), "{m:?}");
}

#[test]
fn up_and_down_hooks_run_with_the_agent_arguments() {
    let dir = std::env::temp_dir().join(format!("nanny-hooks-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let log = dir.join("log");
    let hook = script("hook", &format!("echo \"$0 $*\" >> {}", log.display()));
    let srv = Server::start(Mode::Ok, false);
    let p = port(&srv);
    let up_cmd = format!("{hook} up");
    let down_cmd = format!("{hook} down");
    let mut n = Nanny::start(&[
        "-h",
        "127.0.0.1",
        "-p",
        &p,
        "-t",
        "0.2",
        "--agent-up",
        &up_cmd,
        "--agent-down",
        &down_cmd,
    ]);
    up(&n.next(5 * S).1);
    srv.set(Mode::Down);
    down(&n.next(5 * S).1, "refused");
    let end = Instant::now() + 3 * S;
    let want = format!("{hook} up 127.0.0.1 {p} 1\n{hook} down 127.0.0.1 {p} 1\n");
    while fs::read_to_string(&log).unwrap_or_default() != want && Instant::now() < end {
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(fs::read_to_string(&log).unwrap_or_default(), want);
    // Terminating the nanny is not the server going down: no hook.
    drop(n);
    thread::sleep(Duration::from_millis(200));
    assert_eq!(fs::read_to_string(&log).unwrap(), want);
}

#[test]
fn always_up_needs_no_server() {
    let mut n = Nanny::start(&["-h", "127.0.0.1", "-p", "9", "-t", "0.2", "--always-up"]);
    let (_, m) = n.next(5 * S);
    assert!(matches!(&m, Message::Up { reason, .. } if reason.contains("always up")), "{m:?}");
    n.quiet_for(S);
}
