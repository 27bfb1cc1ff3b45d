//! Acceptance: the `dns` check against a small test DNS server on loopback
//! that answers, refuses (an RCODE), stays silent, or sends strays first.
//! The check runs the daemon's probe code in-process (`probe::check_once`);
//! the server builds its responses by hand, not with nanny's codec.

#![allow(clippy::unwrap_used)]

use std::net::{SocketAddr, UdpSocket};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nanny::dns_probe::DnsQuery;
use nanny::probe::{check_once, Check, Outcome};

/// How the test server treats each query.
#[derive(Clone, Copy)]
enum Behaviour {
    /// NOERROR with a CNAME and an A record.
    Answer,
    /// REFUSED, question echoed, no records.
    Refuse,
    /// No response at all.
    Silent,
    /// A datagram of garbage and a response with another id, then the answer.
    StraysFirst,
}

/// The response to query `q`: flags QR|RD|RA with `rcode`, then records
/// (type, rdata) whose names point at the question's.
fn response(q: &[u8], rcode: u8, records: &[(u16, &[u8])]) -> Vec<u8> {
    let mut r = q.to_vec();
    r[2] = 0x81;
    r[3] = 0x80 | rcode;
    r[6] = 0;
    r[7] = records.len() as u8;
    for (t, data) in records {
        r.extend_from_slice(&[0xc0, 12]);
        r.extend_from_slice(&t.to_be_bytes());
        r.extend_from_slice(&[0, 1, 0, 0, 1, 0]);
        r.extend_from_slice(&(data.len() as u16).to_be_bytes());
        r.extend_from_slice(data);
    }
    r
}

/// A server answering `queries` queries, then exiting.
fn server(bind: &str, how: Behaviour, queries: usize) -> (SocketAddr, JoinHandle<Vec<Vec<u8>>>) {
    let sock = UdpSocket::bind(bind).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let addr = sock.local_addr().unwrap();
    let h = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..queries {
            let mut buf = [0u8; 512];
            let Ok((n, from)) = sock.recv_from(&mut buf) else { break };
            let q = buf[..n].to_vec();
            let answer = response(&q, 0, &[(5, b"\xc0\x0c"), (1, &[192, 0, 2, 7])]);
            match how {
                Behaviour::Answer => {
                    sock.send_to(&answer, from).unwrap();
                }
                Behaviour::Refuse => {
                    sock.send_to(&response(&q, 5, &[]), from).unwrap();
                }
                Behaviour::Silent => {}
                Behaviour::StraysFirst => {
                    sock.send_to(b"\x00garbage", from).unwrap();
                    let mut other = answer.clone();
                    other[0] ^= 0xff;
                    sock.send_to(&response(&other, 5, &[]), from).unwrap();
                    sock.send_to(&answer, from).unwrap();
                }
            }
            seen.push(q);
        }
        seen
    });
    (addr, h)
}

fn dns(name: &str, record: Option<&str>) -> Check {
    Check::Dns(DnsQuery::new(name, record).unwrap())
}

fn run(check: &Check, addr: SocketAddr, timeout: Duration) -> (Outcome, Duration) {
    let t = Instant::now();
    let o = check_once(check, addr, timeout).unwrap();
    (o, t.elapsed())
}

#[test]
fn answering_server_is_up_when_the_record_type_is_there() {
    let (addr, h) = server("127.0.0.1:0", Behaviour::Answer, 3);
    let (o, _) = run(&dns("www.example.com", Some("A")), addr, Duration::from_secs(2));
    assert!(o.ok, "{}", o.detail);
    assert!(o.detail.contains("A record in the answer"), "{}", o.detail);
    // Any answer will do when no record type is asked.
    let (o, _) = run(&dns("www.example.com", None), addr, Duration::from_secs(2));
    assert!(o.ok, "{}", o.detail);
    assert!(o.detail.contains("2 answer records"), "{}", o.detail);
    let (o, _) = run(&dns("www.example.com", Some("AAAA")), addr, Duration::from_secs(2));
    assert!(!o.ok);
    // (The server answers A-type records whatever was asked: a wrong answer.)
    assert!(o.detail.contains("no AAAA record in the answer (CNAME, A)"), "{}", o.detail);
    let seen = h.join().unwrap();
    // Three queries, each with its own identifier, asking what was set.
    assert_eq!(seen.len(), 3);
    assert_eq!(&seen[0][12..], b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
    assert_eq!(&seen[2][seen[2].len() - 4..], b"\x00\x1c\x00\x01");
    let ids: std::collections::BTreeSet<_> = seen.iter().map(|q| [q[0], q[1]]).collect();
    assert_eq!(ids.len(), 3, "a fresh id per check");
}

#[test]
fn refusing_server_is_down_with_its_rcode() {
    let (addr, h) = server("[::1]:0", Behaviour::Refuse, 1);
    let (o, took) = run(&dns("example.com", Some("A")), addr, Duration::from_secs(2));
    assert!(!o.ok);
    assert!(o.detail.contains("RCODE 5 (REFUSED)"), "{}", o.detail);
    assert!(took < Duration::from_secs(1), "decided on the response: {took:?}");
    h.join().unwrap();
}

#[test]
fn silent_server_is_down_at_the_timeout() {
    let (addr, h) = server("127.0.0.1:0", Behaviour::Silent, 1);
    let (o, took) = run(&dns("example.com", None), addr, Duration::from_millis(500));
    assert!(!o.ok);
    assert!(o.detail.contains("no DNS response from"), "{}", o.detail);
    assert!(took >= Duration::from_millis(500) && took < Duration::from_secs(2), "{took:?}");
    h.join().unwrap();
}

#[test]
fn strays_are_ignored_and_the_real_response_decides() {
    let (addr, h) = server("127.0.0.1:0", Behaviour::StraysFirst, 1);
    let (o, _) = run(&dns("example.com", Some("A")), addr, Duration::from_secs(2));
    assert!(o.ok, "{}", o.detail);
    h.join().unwrap();
}

#[test]
fn closed_port_is_down_at_once() {
    // Bind and drop: a port nobody listens on.
    let addr = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (o, took) = run(&dns("example.com", None), addr, Duration::from_secs(3));
    assert!(!o.ok);
    assert!(o.detail.contains("port unreachable"), "{}", o.detail);
    assert!(took < Duration::from_secs(1), "{took:?}");
}
