//! The operator's overrides: real servers drained, disabled or given a
//! weight, and virtual services disabled, by `pulse --control`.
//!
//! This is the one contract between pulse, which owns the state file
//! (`paths.overrides`, written atomically), and lvsd, which reads it at
//! start, at reload and on SIGUSR1 and applies it on top of the nannies'
//! verdicts. Both read and write it only through this module, so the format
//! is defined once.
//!
//! The file is one JSON object (`format`, `generation`, `origin`,
//! `entries`): machine-written, read with `serde_json`, so a bad file is
//! refused whole with a line and column, and nothing is half-applied.
//! `generation` grows by one with every change; with `origin` (the router
//! that made it) it orders two versions without any clock (for sharing
//! between routers). `at` in each entry is the wall-clock time of the
//! change, for the operator only: nothing is decided from it.
//!
//! Pure, apart from [`read`], which goes through [`crate::read_file`].

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::{Config, Millis, Protocol, RealServer, VirtualService};

/// The format number written in the file.
pub const FORMAT: u32 = 1;

/// A virtual service, as IPVS knows it: `tcp:VIP:PORT`, `udp:...`,
/// `sctp:...`, `fwmark:N` (IPv4) or `fwmark6:N` (IPv6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceId {
    /// A TCP service.
    Tcp(SocketAddr),
    /// A UDP service.
    Udp(SocketAddr),
    /// An SCTP service.
    Sctp(SocketAddr),
    /// A firewall-mark service of one address family.
    Fwmark {
        /// The mark.
        mark: u32,
        /// IPv6 rather than IPv4.
        v6: bool,
    },
}

impl ServiceId {
    /// The identity of a configured virtual service (a mark of 0 is none).
    pub fn of(vs: &VirtualService) -> ServiceId {
        match vs.fwmark {
            Some(mark) if mark != 0 => ServiceId::Fwmark { mark, v6: vs.vip.address.is_ipv6() },
            _ => {
                let a = SocketAddr::new(vs.vip.address, vs.port);
                match vs.protocol {
                    Protocol::Tcp => ServiceId::Tcp(a),
                    Protocol::Udp => ServiceId::Udp(a),
                    Protocol::Sctp => ServiceId::Sctp(a),
                }
            }
        }
    }

    /// Whether connections of this service are datagrams (UDP), which a
    /// drain cannot wait for: no connection ever ends.
    pub fn is_udp(self) -> bool {
        matches!(self, ServiceId::Udp(_))
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceId::Tcp(a) => write!(f, "tcp:{a}"),
            ServiceId::Udp(a) => write!(f, "udp:{a}"),
            ServiceId::Sctp(a) => write!(f, "sctp:{a}"),
            ServiceId::Fwmark { mark, v6: false } => write!(f, "fwmark:{mark}"),
            ServiceId::Fwmark { mark, v6: true } => write!(f, "fwmark6:{mark}"),
        }
    }
}

impl FromStr for ServiceId {
    type Err = String;
    fn from_str(s: &str) -> Result<ServiceId, String> {
        let bad = || format!("`{s}` is not tcp:VIP:PORT, udp:VIP:PORT, sctp:VIP:PORT or fwmark:N");
        let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
        let addr = || rest.parse::<SocketAddr>().map_err(|_| bad());
        let mark = || rest.parse::<u32>().map_err(|_| bad());
        match kind {
            "tcp" => Ok(ServiceId::Tcp(addr()?)),
            "udp" => Ok(ServiceId::Udp(addr()?)),
            "sctp" => Ok(ServiceId::Sctp(addr()?)),
            "fwmark" => Ok(ServiceId::Fwmark { mark: mark()?, v6: false }),
            "fwmark6" => Ok(ServiceId::Fwmark { mark: mark()?, v6: true }),
            _ => Err(bad()),
        }
    }
}

impl Serialize for ServiceId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ServiceId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// Why a server or service is out of the table by the operator's word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Out {
    /// Out at once (`disable`).
    Disabled,
    /// Weight 0, then out once idle or after `timeout` (`drain`).
    Drain {
        /// The longest it keeps connections.
        timeout: Millis,
    },
}

/// The overrides of one virtual service (`server: None`) or one real
/// server of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The virtual service.
    pub service: ServiceId,
    /// The real server, or none for the whole service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<SocketAddr>,
    /// Out of the table (disabled or drained), or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out: Option<Out>,
    /// A weight in place of the configured or load-based one, while the
    /// server's check passes (real servers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    /// Who made the last change (the caller's uid on the control socket).
    pub uid: u32,
    /// When, in seconds since the epoch (for the operator; never decides).
    pub at: u64,
    /// The router that took the request.
    pub router: String,
}

/// The whole set of overrides, with its version.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// [`FORMAT`].
    pub format: u32,
    /// Grows by one with every change; never a clock.
    pub generation: u64,
    /// The router that made the last change: the tie-break between two
    /// versions of one generation.
    pub origin: String,
    /// At most one entry per service and per (service, server).
    pub entries: Vec<Entry>,
}

/// A change asked for on the control socket, resolved to the ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// `disable SERVICE [SERVER]`.
    Disable(ServiceId, Option<SocketAddr>),
    /// `enable SERVICE [SERVER]`: ends a disable or a drain.
    Enable(ServiceId, Option<SocketAddr>),
    /// `drain SERVICE SERVER [TIMEOUT]`.
    Drain(ServiceId, SocketAddr, Millis),
    /// `weight SERVICE SERVER N|default`.
    Weight(ServiceId, SocketAddr, Option<u32>),
}

/// Who asks and when, recorded with a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Author {
    /// The caller's uid.
    pub uid: u32,
    /// Seconds since the epoch.
    pub at: u64,
    /// This router's name.
    pub router: String,
}

impl Overrides {
    /// The entry of a service or server, if any.
    pub fn get(&self, service: ServiceId, server: Option<SocketAddr>) -> Option<&Entry> {
        self.entries.iter().find(|e| e.service == service && e.server == server)
    }

    /// Applies a change; returns what was done, for the reply and the log,
    /// or `None` when it changed nothing (the generation then stays).
    pub fn apply(&mut self, change: &Change, who: &Author) -> Option<String> {
        let (service, server) = match change {
            Change::Disable(s, r) | Change::Enable(s, r) => (*s, *r),
            Change::Drain(s, r, _) | Change::Weight(s, r, _) => (*s, Some(*r)),
        };
        let i = match self.entries.iter().position(|e| e.service == service && e.server == server) {
            Some(i) => i,
            None => {
                self.entries.push(Entry {
                    service,
                    server,
                    out: None,
                    weight: None,
                    uid: who.uid,
                    at: who.at,
                    router: who.router.clone(),
                });
                self.entries.len() - 1
            }
        };
        let e = &mut self.entries[i];
        let before = (e.out, e.weight);
        match change {
            Change::Disable(..) => e.out = Some(Out::Disabled),
            Change::Enable(..) => e.out = None,
            Change::Drain(_, _, timeout) => {
                // A drain of a disabled server changes nothing: it is out.
                if e.out.is_none() {
                    e.out = Some(Out::Drain { timeout: *timeout });
                }
            }
            Change::Weight(_, _, w) => e.weight = *w,
        }
        let changed = before != (e.out, e.weight);
        if changed {
            e.uid = who.uid;
            e.at = who.at;
            e.router = who.router.clone();
        }
        if e.out.is_none() && e.weight.is_none() {
            self.entries.remove(i);
        }
        if !changed {
            return None;
        }
        self.generation += 1;
        self.origin = who.router.clone();
        self.format = FORMAT;
        Some(describe(change))
    }

    /// Drops the entries whose service or real server the configuration no
    /// longer has; returns a log line for each. The generation grows when
    /// any is dropped.
    pub fn prune(&mut self, catalog: &Catalog) -> Vec<String> {
        let mut dropped = Vec::new();
        self.entries.retain(|e| {
            let keep = catalog.has(e.service, e.server);
            if !keep {
                dropped.push(format!(
                    "override of {} dropped: the configuration no longer has it",
                    target(e.service, e.server)
                ));
            }
            keep
        });
        if !dropped.is_empty() {
            self.generation += 1;
        }
        dropped
    }

    /// The file's text: pretty JSON and a newline.
    pub fn to_text(&self) -> String {
        let mut o = self.clone();
        o.format = FORMAT;
        // Strings, numbers and addresses always serialize.
        let mut s = serde_json::to_string_pretty(&o).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Whether `self` is a newer version than `other`: a higher generation,
    /// or the same one from a router whose name sorts after (a tie-break
    /// every router computes alike, with no clock).
    pub fn newer_than(&self, other: &Overrides) -> bool {
        (self.generation, &self.origin) > (other.generation, &other.origin)
    }

    /// The listing of `pulse --control overrides`: one line per entry.
    pub fn render(&self) -> String {
        let mut o = format!("generation {} by {}\n", self.generation, self.origin);
        if self.entries.is_empty() {
            o.push_str("no overrides\n");
        }
        for e in &self.entries {
            let mut what = Vec::new();
            match e.out {
                Some(Out::Disabled) => what.push("disabled".to_owned()),
                Some(Out::Drain { timeout }) => {
                    what.push(format!("drained (timeout {}s)", timeout.0 as f64 / 1000.0))
                }
                None => {}
            }
            if let Some(w) = e.weight {
                what.push(format!("weight {w}"));
            }
            o.push_str(&format!(
                "{} {} by uid {} on {} at {}\n",
                target(e.service, e.server),
                what.join(", "),
                e.uid,
                e.router,
                utc(e.at)
            ));
        }
        o
    }
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (the proleptic
/// Gregorian calendar, Howard Hinnant's `civil_from_days`).
pub fn utc(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The real server's address as IPVS has it.
pub fn server_addr(r: &RealServer) -> SocketAddr {
    SocketAddr::new(r.address, r.port)
}

/// `SERVICE` or `SERVICE SERVER`, for messages.
pub fn target(service: ServiceId, server: Option<SocketAddr>) -> String {
    match server {
        Some(s) => format!("{service} {s}"),
        None => service.to_string(),
    }
}

fn describe(c: &Change) -> String {
    match c {
        Change::Disable(s, r) => format!("disabled {}", target(*s, *r)),
        Change::Enable(s, r) => format!("enabled {}", target(*s, *r)),
        Change::Drain(s, r, t) => {
            format!("draining {} (timeout {}s)", target(*s, Some(*r)), t.0 as f64 / 1000.0)
        }
        Change::Weight(s, r, Some(w)) => format!("weight of {} set to {w}", target(*s, Some(*r))),
        Change::Weight(s, r, None) => {
            format!("weight of {} back to its default", target(*s, Some(*r)))
        }
    }
}

/// What a control request may name: each active virtual service with its
/// identity, drain timeout and active real servers. Small (no checks, no
/// commands), so pulse keeps it instead of the whole configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Catalog {
    /// The active virtual services, in file order.
    pub services: Vec<CatalogService>,
}

/// A virtual service of a [`Catalog`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogService {
    /// Its name.
    pub name: String,
    /// Its identity.
    pub id: ServiceId,
    /// Its `drain_timeout`.
    pub drain_timeout: Millis,
    /// Its active real servers: name and address.
    pub servers: Vec<(String, SocketAddr)>,
}

impl Catalog {
    /// The catalog of a configuration.
    pub fn of(config: &Config) -> Catalog {
        Catalog {
            services: config
                .virtual_services
                .iter()
                .filter(|v| v.active)
                .map(|v| CatalogService {
                    name: v.name.clone(),
                    id: ServiceId::of(v),
                    drain_timeout: v.drain_timeout,
                    servers: v
                        .real_servers
                        .iter()
                        .filter(|r| r.active)
                        .map(|r| (r.name.clone(), server_addr(r)))
                        .collect(),
                })
                .collect(),
        }
    }

    /// Finds a virtual service by `tcp:VIP:PORT`, `udp:...`, `sctp:...`,
    /// `fwmark:N` or its name.
    ///
    /// # Errors
    /// A message naming what was not found.
    pub fn service(&self, word: &str) -> Result<&CatalogService, String> {
        let found = match word.parse::<ServiceId>() {
            Ok(id) => self.services.iter().find(|v| v.id == id),
            Err(_) => self.services.iter().find(|v| v.name == word),
        };
        found.ok_or_else(|| format!("no active virtual service {word:?} in the configuration"))
    }

    /// Whether the catalog has this service (and real server).
    pub fn has(&self, service: ServiceId, server: Option<SocketAddr>) -> bool {
        self.services.iter().any(|v| {
            v.id == service && server.is_none_or(|a| v.servers.iter().any(|(_, s)| *s == a))
        })
    }
}

impl CatalogService {
    /// Finds an active real server by `IP`, `IP:PORT` or name.
    ///
    /// # Errors
    /// A message naming what was not found (or an ambiguous bare IP).
    pub fn server(&self, word: &str) -> Result<SocketAddr, String> {
        let not_found =
            || format!("virtual service {} has no active real server {word:?}", self.name);
        if let Ok(a) = word.parse::<SocketAddr>() {
            return self
                .servers
                .iter()
                .find(|(_, s)| *s == a)
                .map(|(_, s)| *s)
                .ok_or_else(not_found);
        }
        if let Ok(ip) = word.parse::<std::net::IpAddr>() {
            let mut m = self.servers.iter().filter(|(_, s)| s.ip() == ip);
            return match (m.next(), m.next()) {
                (Some((_, s)), None) => Ok(*s),
                (None, _) => Err(not_found()),
                (Some(_), Some(_)) => Err(format!(
                    "virtual service {} has several real servers at {ip}; give IP:PORT",
                    self.name
                )),
            };
        }
        self.servers.iter().find(|(n, _)| n == word).map(|(_, s)| *s).ok_or_else(not_found)
    }
}

/// Reads the state file: [`crate::read_file`] (bounded, never blocking),
/// then [`parse`]. A missing file is no overrides.
///
/// # Errors
/// A message with the path (and the line and column of a syntax error).
pub fn read(path: &Path) -> Result<Overrides, String> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Overrides::default()),
        _ => {}
    }
    let bytes = crate::read_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&bytes).map_err(|e| format!("{}:{e}", path.display()))
}

/// Parses the file's bytes.
///
/// # Errors
/// `LINE:COL: message`.
pub fn parse(bytes: &[u8]) -> Result<Overrides, String> {
    let o: Overrides = serde_json::from_slice(bytes)
        .map_err(|e| format!("{}:{}: {}", e.line(), e.column(), strip_position(&e.to_string())))?;
    if o.format != FORMAT {
        return Err(format!("1:1: unknown format {} (this version reads {FORMAT})", o.format));
    }
    Ok(o)
}

fn strip_position(msg: &str) -> &str {
    msg.rfind(" at line ").map_or(msg, |i| &msg[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let yaml = "\
routers: { primary: { address: 192.0.2.1 } }
virtual_services:
  - name: web
    vip: { address: 192.0.2.10, interface: eth0 }
    port: 80
    real_servers:
      - { name: a, address: 10.0.0.1 }
      - { name: b, address: 10.0.0.2, port: 8080 }
      - { name: b2, address: 10.0.0.2, port: 8081 }
  - name: dns
    vip: { address: 192.0.2.10, interface: eth0 }
    port: 53
    protocol: udp
    real_servers:
      - { name: a, address: 10.0.0.1 }
";
        let (c, d) = crate::parse_str(yaml, "t.yaml", crate::Format::Yaml);
        c.unwrap_or_else(|| panic!("{d:?}"))
    }

    fn who(router: &str) -> Author {
        Author { uid: 0, at: 1_700_000_000, router: router.into() }
    }

    #[test]
    fn ids_read_and_print_alike() {
        for s in
            ["tcp:192.0.2.10:80", "udp:[2001:db8::1]:53", "sctp:1.2.3.4:9", "fwmark:7", "fwmark6:8"]
        {
            assert_eq!(s.parse::<ServiceId>().unwrap().to_string(), s);
        }
        assert!("tcp:192.0.2.10".parse::<ServiceId>().unwrap_err().contains("not tcp:VIP:PORT"));
        assert!("web".parse::<ServiceId>().is_err());
    }

    #[test]
    fn services_and_servers_are_found_by_id_or_name() {
        let c = Catalog::of(&config());
        assert_eq!(c.service("web").unwrap().name, "web");
        assert_eq!(c.service("udp:192.0.2.10:53").unwrap().name, "dns");
        assert!(c.service("tcp:192.0.2.10:53").unwrap_err().contains("\"tcp:192.0.2.10:53\""));
        let web = c.service("web").unwrap();
        let at = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert_eq!(web.server("a").unwrap(), at("10.0.0.1:80"));
        assert_eq!(web.server("10.0.0.1").unwrap(), at("10.0.0.1:80"));
        assert_eq!(web.server("10.0.0.2:8081").unwrap(), at("10.0.0.2:8081"));
        assert!(web.server("10.0.0.2").unwrap_err().contains("give IP:PORT"));
        assert!(web.server("zz").unwrap_err().contains("no active real server \"zz\""));
    }

    #[test]
    fn changes_bump_the_generation_and_enable_clears() {
        let mut o = Overrides::default();
        let web: ServiceId = "tcp:192.0.2.10:80".parse().unwrap();
        let a: SocketAddr = "10.0.0.1:80".parse().unwrap();
        assert_eq!(
            o.apply(&Change::Disable(web, Some(a)), &who("lvs1")).as_deref(),
            Some("disabled tcp:192.0.2.10:80 10.0.0.1:80")
        );
        assert_eq!(o.generation, 1);
        assert_eq!(o.apply(&Change::Disable(web, Some(a)), &who("lvs1")), None);
        assert_eq!(o.generation, 1);
        o.apply(&Change::Weight(web, a, Some(7)), &who("lvs2"));
        assert_eq!(o.get(web, Some(a)).unwrap().weight, Some(7));
        assert_eq!(o.origin, "lvs2");
        o.apply(&Change::Enable(web, Some(a)), &who("lvs1"));
        assert_eq!(o.get(web, Some(a)).unwrap().out, None);
        o.apply(&Change::Weight(web, a, None), &who("lvs1"));
        assert!(o.entries.is_empty());
        assert_eq!(o.generation, 4);
        o.apply(&Change::Disable(web, Some(a)), &who("lvs1"));
        o.apply(&Change::Drain(web, a, Millis(5)), &who("lvs1"));
        assert_eq!(
            o.get(web, Some(a)).unwrap().out,
            Some(Out::Disabled),
            "a drain does not undo a disable"
        );
    }

    #[test]
    fn the_file_round_trips_and_a_bad_one_is_refused_whole() {
        let mut o = Overrides::default();
        let web: ServiceId = "tcp:192.0.2.10:80".parse().unwrap();
        o.apply(&Change::Drain(web, "10.0.0.1:80".parse().unwrap(), Millis(30_000)), &who("lvs1"));
        o.apply(&Change::Disable(web, None), &who("lvs1"));
        let text = o.to_text();
        assert_eq!(parse(text.as_bytes()).unwrap(), o);
        let cut = &text[..text.len() / 2];
        assert!(parse(cut.as_bytes()).unwrap_err().contains(':'), "truncated");
        let e = parse(text.replace("\"drain\"", "\"dran\"").as_bytes()).unwrap_err();
        assert!(e.contains("unknown variant"), "{e}");
        let e = parse(text.replace("\"format\": 1", "\"format\": 9").as_bytes()).unwrap_err();
        assert!(e.contains("unknown format 9"), "{e}");
    }

    #[test]
    fn a_missing_file_is_no_overrides_and_a_fifo_is_refused() {
        let dir = std::env::temp_dir().join(format!("lvs-ovr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(read(&dir.join("none")).unwrap(), Overrides::default());
        assert!(read(&dir).unwrap_err().contains("not a regular file"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn prune_drops_what_the_configuration_lost() {
        let c = config();
        let mut o = Overrides::default();
        let web: ServiceId = "tcp:192.0.2.10:80".parse().unwrap();
        o.apply(&Change::Disable(web, Some("10.0.0.1:80".parse().unwrap())), &who("l"));
        o.apply(&Change::Disable(web, Some("10.0.0.9:80".parse().unwrap())), &who("l"));
        o.apply(&Change::Disable("tcp:192.0.2.99:80".parse().unwrap(), None), &who("l"));
        let g = o.generation;
        let lines = o.prune(&Catalog::of(&c));
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].contains("10.0.0.9:80"));
        assert_eq!(o.entries.len(), 1);
        assert_eq!(o.generation, g + 1);
    }

    #[test]
    fn versions_order_by_generation_then_router() {
        let a = Overrides { generation: 3, origin: "lvs1".into(), ..Overrides::default() };
        let b = Overrides { generation: 3, origin: "lvs2".into(), ..Overrides::default() };
        let c = Overrides { generation: 4, origin: "lvs1".into(), ..Overrides::default() };
        assert!(b.newer_than(&a) && !a.newer_than(&b) && c.newer_than(&b) && !a.newer_than(&a));
    }

    #[test]
    fn min_up_and_drain_timeout_round_trip_through_yaml() {
        use crate::model::MinUp;
        let mut c = config();
        c.virtual_services[0].min_up = Some(MinUp::Percent(50));
        c.virtual_services[0].drain_timeout = Millis(1500);
        c.virtual_services[1].min_up = Some(MinUp::Count(2));
        let yaml = crate::to_yaml(&c);
        assert!(yaml.contains("min_up: 50%") || yaml.contains("min_up: '50%'"), "{yaml}");
        let (back, d) = crate::parse_str(&yaml, "back.yaml", crate::Format::Yaml);
        assert_eq!(back, Some(c), "{d:?}");
        // A count above the servers is a warning; a bad value an error with its place.
        let text = "routers: { primary: { address: 192.0.2.1 } }\nvirtual_services:\n  - name: w\n    vip: { address: 192.0.2.10, interface: eth0 }\n    min_up: 3\n    real_servers: [{ name: a, address: 10.0.0.1 }]\n";
        let (c, d) = crate::parse_str(text, "t.yaml", crate::Format::Yaml);
        assert!(
            c.is_some() && d.iter().any(|d| d.message.contains("more than the 1 active")),
            "{d:?}"
        );
        let (c, d) = crate::parse_str(
            &text.replace("min_up: 3", "min_up: 0%"),
            "t.yaml",
            crate::Format::Yaml,
        );
        assert!(c.is_none());
        assert_eq!((d[0].line, d[0].column), (5, 13), "{d:?}");
    }

    #[test]
    fn times_print_as_utc() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_796_223_978), "2026-12-02T15:06:18Z");
    }

    #[test]
    fn min_up_counts() {
        use crate::model::MinUp;
        assert_eq!(MinUp::parse("50%").unwrap().of(4), 2);
        assert_eq!(MinUp::parse("50%").unwrap().of(3), 2);
        assert_eq!(MinUp::parse("2").unwrap().of(1), 1);
        assert!(
            MinUp::parse("0%").is_err()
                && MinUp::parse("101%").is_err()
                && MinUp::parse("x").is_err()
        );
    }
}
