//! The `dns` check's exchange: one query over UDP to the real server, the
//! first datagram that is a response to it decides; strays (another id,
//! another question, garbage) are dropped and counted. The messages are
//! built and judged by the pure [`crate::dns`]. The wait is bounded by the
//! check's deadline, which the event loop enforces.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use mio::net::UdpSocket;
use mio::{Interest, Registry};

use crate::dns;
use crate::probe::{Outcome, SOCKET};
use crate::route::Route;

/// What a `dns` check asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsQuery {
    /// The name as given, for logs.
    pub name: String,
    /// The name in wire form.
    pub qname: Vec<u8>,
    /// The type asked.
    pub qtype: u16,
    /// The record type the answer must hold; `None`: any answer record.
    pub want: Option<u16>,
}

impl DnsQuery {
    /// A query for `name`, wanting a record of type `record` (a name from
    /// [`dns::RECORD_TYPES`]) or, without one, any answer to an `A` query.
    pub fn new(name: &str, record: Option<&str>) -> Result<DnsQuery, String> {
        let qname = dns::encode_name(name).map_err(|e| e.to_string())?;
        let want = match record {
            None => None,
            Some(r) => Some(dns::record_type(r).ok_or_else(|| {
                let known: Vec<&str> = dns::RECORD_TYPES.iter().map(|(n, _)| *n).collect();
                format!("unknown record type {r:?} (known: {})", known.join(", "))
            })?),
        };
        Ok(DnsQuery {
            name: name.to_owned(),
            qname,
            qtype: want.unwrap_or(dns::DEFAULT_QTYPE),
            want,
        })
    }
}

/// A DNS check in flight.
#[derive(Debug)]
pub struct DnsProbe {
    addr: SocketAddr,
    sock: UdpSocket,
    id: u16,
    query: DnsQuery,
    started: Instant,
    ignored: u32,
}

/// A fresh transaction identifier: std's randomly keyed SipHash, so that
/// an off-path sender cannot guess it (no RNG crate needed for 16 bits).
fn fresh_id() -> u16 {
    (RandomState::new().hash_one(Instant::now()) & 0xffff) as u16
}

impl DnsProbe {
    /// Sends the query. `Err`: known at once.
    pub fn start(
        q: &DnsQuery,
        addr: SocketAddr,
        route: &Route,
        registry: &Registry,
    ) -> Result<DnsProbe, Outcome> {
        let fail = |e: io::Error| Outcome::down(format!("DNS to {addr}: {e}"));
        let mut sock = route.udp(addr).map_err(fail)?;
        registry.register(&mut sock, SOCKET, Interest::READABLE).map_err(fail)?;
        let id = fresh_id();
        match sock.send(&dns::query(id, &q.qname, q.qtype)) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                return Err(Outcome::down(format!("DNS to {addr}: port unreachable")))
            }
            Err(e) => return Err(fail(e)),
        }
        Ok(DnsProbe { addr, sock, id, query: q.clone(), started: Instant::now(), ignored: 0 })
    }

    /// Reads what arrived; `Some` once a response to our query came.
    pub fn advance(&mut self) -> Option<Outcome> {
        let addr = self.addr;
        let name = &self.query.name;
        let mut buf = [0u8; 4096];
        loop {
            match self.sock.recv(&mut buf) {
                Ok(n) => {
                    let q = &self.query;
                    let Ok(a) = dns::parse_response(&buf[..n], self.id, &q.qname, q.qtype) else {
                        self.ignored = self.ignored.saturating_add(1);
                        continue;
                    };
                    let ms = self.started.elapsed().as_secs_f64() * 1000.0;
                    return Some(match dns::judge(&a, q.want) {
                        Ok(why) => {
                            Outcome::up(format!("{addr} answered {name}: {why} ({ms:.1} ms)"))
                        }
                        Err(why) => Outcome::down(format!("{addr} answered {name}: {why}")),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    return Some(Outcome::down(format!("DNS to {addr}: port unreachable (ICMP)")))
                }
                Err(e) => return Some(Outcome::down(format!("DNS from {addr}: {e}"))),
            }
        }
    }

    /// The deadline passed without a response.
    pub fn time_out(mut self, secs: f64, registry: &Registry) -> Outcome {
        let _ = registry.deregister(&mut self.sock);
        let other = if self.ignored > 0 {
            format!(" ({} other datagrams ignored)", self.ignored)
        } else {
            String::new()
        };
        Outcome::down(format!(
            "no DNS response from {} for {} within {secs}s{other}",
            self.addr, self.query.name
        ))
    }
}
