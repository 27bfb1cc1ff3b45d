//! What lvsd tells pulse (`--report-socket`): per virtual service and real
//! server the health verdict with its reason and age, configured and
//! effective weight, check durations, and the kernel's counters, as
//! `lvsd_api::Report` lines on a Unix stream socket pulse listens on.
//!
//! The supervisor feeds [`Watch`] what the nannies say ([`Watch::verdict`],
//! [`Watch::check`]) and calls [`Watch::turn`] once per turn of its loop.
//! A turn never takes long: the kernel's counters are read a few services
//! at a time within [`SWEEP_SLICE`] (as the resync reads the table), the
//! socket is non-blocking and what it cannot take now waits in a buffer;
//! while a report is still being written no newer one is built, and the
//! one sent next is the newest. pulse gone or restarted: the write fails,
//! lvsd connects again a second later.
//!
//! [`Watch::build`] (the report from the engine's state) is pure.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ipvs::{DestKey, ServiceKey};
use lvsd_api::{Checks, Counters, Health, Report, Server, Service};
use mio::{Interest, Registry, Token};

use crate::engine::Engine;
use crate::spec::{self, NannyKey, Watch as Decider};
use ipvs::IpvsTable;

/// How often the kernel's counters are read.
pub const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// The longest a turn spends reading counters.
pub const SWEEP_SLICE: Duration = Duration::from_millis(10);
/// Services whose real servers one sweep step reads.
const SWEEP_STEP: usize = 8;
/// Least time between two reports (verdicts come in bursts).
const MIN_GAP: Duration = Duration::from_millis(100);
/// Wait before connecting again to pulse.
const RECONNECT: Duration = Duration::from_secs(1);

/// What lvsd remembers of one nanny's verdicts and checks.
#[derive(Clone, Debug)]
struct Seen {
    health: Health,
    reason: String,
    since: Instant,
    transitions: u64,
    checks: Checks,
}

/// Counters of one service and its real servers, from one sweep.
#[derive(Clone, Debug, Default)]
struct Read {
    service: Option<Counters>,
    dests: BTreeMap<DestKey, (Counters, u32)>,
}

/// A read of the kernel's counters in progress.
#[derive(Debug)]
struct Sweep {
    /// Services whose real servers are still to be read (`None` until the
    /// service list has been read).
    pending: Option<VecDeque<ServiceKey>>,
    read: BTreeMap<ServiceKey, Read>,
}

/// The report link and what it tells.
#[derive(Debug)]
pub struct Watch {
    path: PathBuf,
    token: Token,
    conn: Option<mio::net::UnixStream>,
    next_connect: Instant,
    out: Vec<u8>,
    sent: usize,
    seen: HashMap<NannyKey, Seen>,
    started: Instant,
    nanny_restarts: u64,
    counters: BTreeMap<ServiceKey, Read>,
    counters_at: Option<Instant>,
    sweep: Option<Sweep>,
    next_sweep: Instant,
    dirty: bool,
    last_send: Option<Instant>,
}

fn counters(s: Option<&ipvs::Stats64>, small: Option<&ipvs::Stats>) -> Counters {
    match (s, small) {
        (Some(s), _) => Counters {
            connections: s.conns,
            packets_in: s.inpkts,
            packets_out: s.outpkts,
            bytes_in: s.inbytes,
            bytes_out: s.outbytes,
            ..Counters::default()
        },
        (None, Some(s)) => Counters {
            connections: s.conns.into(),
            packets_in: s.inpkts.into(),
            packets_out: s.outpkts.into(),
            bytes_in: s.inbytes,
            bytes_out: s.outbytes,
            ..Counters::default()
        },
        (None, None) => Counters::default(),
    }
}

/// `tcp:VIP:PORT`, `udp:…`, `sctp:…` or `fwmark:N` (`fwmark6:N` for IPv6).
pub fn service_label(k: &ServiceKey) -> String {
    match k {
        ServiceKey::Addr { protocol, addr, port } => {
            let p = match protocol {
                ipvs::Protocol::Tcp => "tcp".to_owned(),
                ipvs::Protocol::Udp => "udp".to_owned(),
                ipvs::Protocol::Sctp => "sctp".to_owned(),
                ipvs::Protocol::Other(n) => format!("proto{n}"),
            };
            format!("{p}:{}", std::net::SocketAddr::new(*addr, *port))
        }
        ServiceKey::Fwmark { family: ipvs::Family::Inet, mark } => format!("fwmark:{mark}"),
        ServiceKey::Fwmark { family: ipvs::Family::Inet6, mark } => format!("fwmark6:{mark}"),
    }
}

fn secs(d: Duration) -> f64 {
    // Milliseconds are enough, and keep the lines short.
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

impl Watch {
    /// A link to pulse's socket at `path`; `token` is the mio token its
    /// writability wakes the loop with.
    pub fn new(path: PathBuf, token: Token, now: Instant) -> Watch {
        Watch {
            path,
            token,
            conn: None,
            next_connect: now,
            out: Vec::new(),
            sent: 0,
            seen: HashMap::new(),
            started: now,
            nanny_restarts: 0,
            counters: BTreeMap::new(),
            counters_at: None,
            sweep: None,
            next_sweep: now,
            dirty: true,
            last_send: None,
        }
    }

    /// A nanny's verdict on its server (`up`, `weight`, `down`, or lvsd's
    /// own when it never reported), with its reason.
    pub fn verdict(&mut self, key: &NannyKey, up: bool, reason: &str, now: Instant) {
        let health = if up { Health::Up } else { Health::Down };
        let s = self.seen_mut(key, now);
        if s.health != health {
            if s.health != Health::Unknown {
                s.transitions += 1;
            }
            s.health = health;
            s.since = now;
        }
        reason.clone_into(&mut s.reason);
        self.dirty = true;
    }

    /// A check a nanny finished.
    pub fn check(&mut self, key: &NannyKey, ok: bool, took: Duration, reason: &str, now: Instant) {
        self.seen_mut(key, now).checks.observe(ok, took.as_secs_f64(), reason);
    }

    /// A nanny died or was killed for silence, and will be started again.
    pub fn nanny_restarted(&mut self) {
        self.nanny_restarts += 1;
        self.dirty = true;
    }

    fn seen_mut(&mut self, key: &NannyKey, now: Instant) -> &mut Seen {
        self.seen.entry(key.clone()).or_insert_with(|| Seen {
            health: Health::Unknown,
            reason: String::new(),
            since: now,
            transitions: 0,
            checks: Checks::default(),
        })
    }

    /// One turn of lvsd's loop: connect if due, read counters for at most
    /// [`SWEEP_SLICE`], send a report if something changed, write what
    /// the socket takes.
    pub fn turn<K: IpvsTable>(&mut self, engine: &mut Engine<K>, registry: &Registry) {
        let now = Instant::now();
        if self.conn.is_none() && now >= self.next_connect {
            self.connect(registry, now);
        }
        self.sweep_slice(&mut engine.kernel, &engine.spec, now);
        let gap_ok = self.last_send.is_none_or(|t| now.duration_since(t) >= MIN_GAP);
        if self.conn.is_some() && self.dirty && self.sent >= self.out.len() && gap_ok {
            self.dirty = false;
            self.last_send = Some(now);
            // Nannies a reload removed are forgotten here, where the work
            // is proportional to the table anyway, not at every turn.
            self.seen.retain(|k, _| engine.spec.nannies.contains_key(k));
            let r = self.build(engine, now);
            self.out.clear();
            self.sent = 0;
            self.out.extend_from_slice(lvsd_api::encode(&r).as_bytes());
        }
        self.flush(registry, now);
    }

    fn connect(&mut self, registry: &Registry, now: Instant) {
        self.next_connect = now + RECONNECT;
        match mio::net::UnixStream::connect(&self.path) {
            Ok(mut c) => {
                if let Err(e) = registry.register(&mut c, self.token, Interest::WRITABLE) {
                    log::warn!("report socket {}: {e}", self.path.display());
                    return;
                }
                log::debug!("reporting to pulse on {}", self.path.display());
                self.conn = Some(c);
                self.out.clear();
                self.sent = 0;
                self.dirty = true;
            }
            Err(e) => log::debug!("report socket {}: {e}", self.path.display()),
        }
    }

    fn flush(&mut self, registry: &Registry, now: Instant) {
        let Some(c) = self.conn.as_mut() else { return };
        while self.sent < self.out.len() {
            match c.write(&self.out[self.sent..]) {
                Ok(0) => break,
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::info!("report socket {}: {e}; connecting again", self.path.display());
                    let _ = registry.deregister(c);
                    self.conn = None;
                    self.next_connect = now + RECONNECT;
                    return;
                }
            }
        }
        if self.sent >= self.out.len() {
            self.out.clear();
            self.sent = 0;
        }
    }

    /// Reads the kernel's counters, a few services per step, for at most
    /// [`SWEEP_SLICE`]; a finished sweep replaces the counters and makes
    /// the next report due.
    fn sweep_slice<K: IpvsTable>(&mut self, kernel: &mut K, spec: &spec::Spec, now: Instant) {
        if self.sweep.is_none() {
            if now < self.next_sweep || self.conn.is_none() {
                return;
            }
            self.sweep = Some(Sweep { pending: None, read: BTreeMap::new() });
        }
        let t0 = Instant::now();
        while let Some(sw) = self.sweep.as_mut() {
            let r = match sw.pending.as_mut() {
                None => kernel.services().map(|list| {
                    let mut pending = VecDeque::new();
                    for s in list {
                        if spec.services.get(&s.key).is_some_and(|x| !x.datapath) {
                            pending.push_back(s.key);
                            sw.read.insert(
                                s.key,
                                Read {
                                    service: Some(counters(s.stats64.as_ref(), s.stats.as_ref())),
                                    dests: BTreeMap::new(),
                                },
                            );
                        }
                    }
                    sw.pending = Some(pending);
                }),
                Some(pending) => {
                    let mut r = Ok(());
                    for _ in 0..SWEEP_STEP {
                        let Some(key) = pending.pop_front() else { break };
                        match kernel.dests(&key) {
                            Ok(dests) => {
                                let e = sw.read.entry(key).or_default();
                                let (mut active, mut inactive) = (0u64, 0u64);
                                for d in dests {
                                    let mut c = counters(d.stats64.as_ref(), d.stats.as_ref());
                                    c.active_connections = d.active_conns.into();
                                    c.inactive_connections = d.inactive_conns.into();
                                    active += c.active_connections;
                                    inactive += c.inactive_connections;
                                    e.dests.insert(d.key(), (c, d.weight));
                                }
                                if let Some(s) = e.service.as_mut() {
                                    s.active_connections = active;
                                    s.inactive_connections = inactive;
                                }
                            }
                            Err(e) => {
                                r = Err(e);
                                break;
                            }
                        }
                    }
                    r
                }
            };
            if let Err(e) = r {
                log::warn!("reading the IPVS counters: {e}");
                self.sweep = None;
                self.next_sweep = now + SWEEP_EVERY;
                return;
            }
            if sw.pending.as_ref().is_some_and(VecDeque::is_empty) {
                if let Some(done) = self.sweep.take() {
                    self.counters = done.read;
                }
                self.counters_at = Some(Instant::now());
                self.next_sweep = now + SWEEP_EVERY;
                self.dirty = true;
                return;
            }
            if t0.elapsed() >= SWEEP_SLICE {
                return;
            }
        }
    }

    /// The report as of `now` (pure but for the engine's state).
    pub fn build<K: IpvsTable>(&self, engine: &Engine<K>, now: Instant) -> Report {
        let spec = &engine.spec;
        // The private services of checks through the data path are lvsd's
        // means, not services an operator runs.
        let services = spec
            .services
            .iter()
            .filter(|(_, s)| !s.datapath)
            .map(|(key, s)| {
                let read = self.counters.get(key);
                let observed = engine.observed.services.get(key);
                let servers = s
                    .reals
                    .iter()
                    .map(|r| {
                        let dk = r.dest.key();
                        let (health, reason, since, transitions, checks) = match &r.watch {
                            Decider::Always => (
                                Health::Up,
                                "no check: always in the table".to_owned(),
                                self.started,
                                0,
                                Checks::default(),
                            ),
                            Decider::Nanny(n) => match self.seen.get(n) {
                                Some(x) => (
                                    x.health,
                                    x.reason.clone(),
                                    x.since,
                                    x.transitions,
                                    x.checks.clone(),
                                ),
                                None => (
                                    Health::Unknown,
                                    "no verdict yet".to_owned(),
                                    self.started,
                                    0,
                                    Checks::default(),
                                ),
                            },
                        };
                        let weight = observed.and_then(|e| e.dests.get(&dk)).map(|d| d.weight);
                        Server {
                            server: std::net::SocketAddr::new(dk.addr, dk.port).to_string(),
                            health,
                            reason,
                            since: secs(now.saturating_duration_since(since)),
                            configured_weight: r.dest.weight,
                            weight,
                            transitions,
                            checks,
                            counters: read.and_then(|x| x.dests.get(&dk)).map(|(c, _)| *c),
                            kept_by_threshold: engine
                                .kept
                                .get(key)
                                .is_some_and(|k| k.contains(&dk)),
                            operator: crate::operate::describe(engine.ops.services.get(key), dk),
                        }
                    })
                    .collect();
                Service {
                    service: service_label(key),
                    counters: read.and_then(|x| x.service),
                    servers,
                }
            })
            .collect();
        Report {
            version: lvsd_api::VERSION,
            pid: std::process::id(),
            ready: crate::ready::complete(&spec.nannies, &engine.reports),
            nanny_restarts: self.nanny_restarts,
            counters_age: self.counters_at.map(|t| secs(now.saturating_duration_since(t))),
            services,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Ownership;
    use ipvs::FakeTable;

    fn engine() -> Engine<FakeTable> {
        let text = "\
primary = 10.0.0.1
service = lvs
network = nat
virtual web {
     active = 1
     address = 10.0.0.100 eth0:1
     port = 80
     protocol = tcp
     server a {
         address = 192.168.10.2
         active = 1
         weight = 3
     }
}
";
        let (c, d) = lvs_config::parse_str(text, "lvs.cf", lvs_config::Format::LvsCf);
        let c = c.unwrap_or_else(|| panic!("{d:?}"));
        let spec = spec::build(&c, spec::NannyOptions::default());
        Engine::new(FakeTable::new(), spec, Ownership::Configured)
    }

    #[test]
    fn verdicts_reasons_and_transitions() {
        let mut e = engine();
        let t0 = Instant::now();
        let mut w = Watch::new("/nonexistent".into(), Token(0), t0);
        let key = e.spec.nannies.keys().next().cloned().unwrap();
        let r = w.build(&e, t0);
        assert_eq!(r.services[0].service, "tcp:10.0.0.100:80");
        let s = &r.services[0].servers[0];
        assert_eq!(
            (s.server.as_str(), s.health, s.configured_weight),
            ("192.168.10.2:80", Health::Unknown, 3)
        );
        assert!(!r.ready);
        w.check(&key, true, Duration::from_millis(3), "HTTP status 200", t0);
        w.verdict(&key, true, "check ok: HTTP status 200", t0);
        e.report(&key, spec::Report::Up(3));
        w.check(&key, false, Duration::from_secs(2), "timed out after 2s", t0);
        w.verdict(&key, false, "check failed: timed out after 2s", t0 + Duration::from_secs(1));
        e.report(&key, spec::Report::Removed);
        let r = w.build(&e, t0 + Duration::from_millis(3500));
        let s = &r.services[0].servers[0];
        assert_eq!(s.health, Health::Down);
        assert_eq!(s.reason, "check failed: timed out after 2s");
        assert_eq!(s.since, 2.5);
        assert_eq!(s.transitions, 1);
        assert_eq!(s.checks.count, 2);
        assert_eq!(s.checks.last_ok, Some(false));
        assert_eq!(s.weight, None);
        assert!(r.ready);
    }

    #[test]
    fn labels() {
        let k = ServiceKey::Addr {
            protocol: ipvs::Protocol::Udp,
            addr: "fd00::1".parse().unwrap(),
            port: 53,
        };
        assert_eq!(service_label(&k), "udp:[fd00::1]:53");
        assert_eq!(
            service_label(&ServiceKey::Fwmark { family: ipvs::Family::Inet, mark: 7 }),
            "fwmark:7"
        );
    }
}
