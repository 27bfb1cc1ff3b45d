//! The control protocol, pure: one request line in, one reply out.
//!
//! Requests: `status`, `status json`, `events` (a stream),
//! `take-over`, `stand-down`, `reload`, and the operator's overrides
//! (`crate::operate`): `drain SERVICE SERVER [TIMEOUT]`, `disable SERVICE
//! [SERVER]`, `enable SERVICE [SERVER]`, `weight SERVICE SERVER
//! N|default`, `overrides`.
//! The socket itself (root only, peer credentials checked) is in
//! `event_loop`.

use std::fmt::Write as _;

use serde::Serialize;

use crate::machine::{Command, Status};
use crate::snapshot::Snapshot;
use crate::stall::LoopStats;
use crate::wire::DropCounters;

/// A parsed control request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Human-readable status.
    StatusText,
    /// Status as one JSON object.
    StatusJson,
    /// The event stream: every kept event, then each new one, one JSON
    /// object per line, until the client closes.
    Events,
    /// A command for the state machine.
    Command(Command),
    /// A change to the operator's overrides.
    Operate(crate::operate::OpRequest),
    /// The list of overrides.
    Overrides,
}

/// Parses one request line.
///
/// # Errors
/// A message for the client naming the request.
pub fn parse_request(line: &str) -> Result<Request, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["status"] => Ok(Request::StatusText),
        ["status", "json"] => Ok(Request::StatusJson),
        ["events"] => Ok(Request::Events),
        ["take-over"] => Ok(Request::Command(Command::TakeOver)),
        ["stand-down"] => Ok(Request::Command(Command::StandDown)),
        ["reload"] => Ok(Request::Command(Command::Reload)),
        ["overrides"] => Ok(Request::Overrides),
        [verb, ..] if crate::operate::VERBS.contains(verb) => {
            crate::operate::parse(&words).map(Request::Operate)
        }
        _ => Err(format!(
            "unknown request {:?}; try status, status json, events, take-over, stand-down, reload, \
             drain, disable, enable, weight, overrides",
            line.trim()
        )),
    }
}

fn ms(d: Option<std::time::Duration>) -> Option<u128> {
    d.map(|d| d.as_millis())
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// Status as text. `ready`: lvsd's table is complete (every nanny gave a
/// first verdict), this router's and, from their heartbeats, each peer's;
/// `loop_stats` are the stall detector's figures.
pub fn render_text(s: &Status, lvsd_pid: Option<u32>, loop_stats: &LoopStats) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "router: {}", s.name);
    let _ = writeln!(o, "role: {}", s.role.as_str());
    let _ = writeln!(o, "faults: {}", s.faults);
    let _ = writeln!(o, "epoch: {}", s.epoch);
    let _ = writeln!(o, "protocol: {}", s.protocol);
    match lvsd_pid {
        Some(p) => {
            let _ = writeln!(o, "lvsd: pid {p}");
        }
        None => {
            let _ = writeln!(o, "lvsd: not running");
        }
    }
    let _ = writeln!(o, "ready: {}", yes_no(s.ready));
    for v in &s.vips {
        let _ = writeln!(o, "vip: {v}");
    }
    for p in &s.peers {
        let heard = match ms(p.last_heard) {
            Some(m) => format!("{m} ms ago"),
            None => "never".to_owned(),
        };
        let _ = writeln!(
            o,
            "peer: {} {} role={} faults={} ready={} heard={}{}",
            p.name,
            if p.alive { "alive" } else { "dead" },
            p.role.map_or("unknown", |r| r.as_str()),
            p.faults,
            yes_no(p.ready),
            heard,
            if p.config_mismatch { " config-mismatch" } else { "" },
        );
    }
    let _ = writeln!(o, "dropped: {}", s.drops.total());
    for (r, n) in s.drops.iter() {
        let _ = writeln!(o, "dropped.{}: {n}", r.as_str());
    }
    let _ = writeln!(o, "config_mismatches: {}", s.config_mismatches);
    let _ = writeln!(o, "loop_turns: {}", loop_stats.turns);
    let _ = writeln!(o, "loop_stalls: {}", loop_stats.stalls);
    let _ = writeln!(o, "loop_worst_turn_ms: {:.1}", loop_stats.worst.as_secs_f64() * 1000.0);
    let _ = writeln!(o, "loop_pauses: {}", loop_stats.pauses);
    let _ =
        writeln!(o, "loop_worst_pause_ms: {:.1}", loop_stats.worst_pause.as_secs_f64() * 1000.0);
    let _ = writeln!(o, "loop_waits: {}", loop_stats.waits);
    let _ = writeln!(o, "loop_worst_wait_ms: {:.1}", loop_stats.worst_wait.as_secs_f64() * 1000.0);
    o
}

/// Status JSON: one typed layout for `status json` and `/status.json`.
#[derive(Serialize)]
struct StatusJson<'a> {
    router: &'a str,
    role: &'static str,
    faults: String,
    epoch: u32,
    protocol: &'static str,
    lvsd_pid: Option<u32>,
    ready: bool,
    vips: Vec<VipJson<'a>>,
    peers: Vec<PeerJson<'a>>,
    dropped: Drops<'a>,
    config_mismatches: u64,
    heartbeats_sent: u64,
    transitions: u64,
    reloads: ReloadsJson,
    loop_turns: u64,
    loop_stalls: u64,
    loop_worst_turn_us: u128,
    loop_pauses: u64,
    loop_worst_pause_us: u128,
    loop_waits: u64,
    loop_worst_wait_us: u128,
    /// lvsd's last report: every virtual service and real server.
    lvsd: Option<LvsdJson>,
}

/// lvsd's report as of the status: its ages grown by the report's own.
#[derive(Serialize)]
struct LvsdJson {
    report_age_ms: u128,
    reports_dropped: u64,
    #[serde(flatten)]
    report: lvsd_api::Report,
}

fn lvsd_json(v: &crate::lvsd_link::LvsdView, now: std::time::Instant) -> LvsdJson {
    let age = now.saturating_duration_since(v.received);
    let mut report = v.report.clone();
    let grow = |x: f64| ((x + age.as_secs_f64()) * 1000.0).round() / 1000.0;
    report.counters_age = report.counters_age.map(grow);
    for srv in report.services.iter_mut().flat_map(|s| s.servers.iter_mut()) {
        srv.since = grow(srv.since);
    }
    LvsdJson { report_age_ms: age.as_millis(), reports_dropped: v.dropped, report }
}

#[derive(Serialize)]
struct VipJson<'a> {
    address: String,
    prefix: u8,
    dev: &'a str,
}

#[derive(Serialize)]
struct PeerJson<'a> {
    name: &'a str,
    alive: bool,
    role: Option<&'static str>,
    faults: String,
    ready: bool,
    last_heard_ms: Option<u128>,
    config_mismatch: bool,
    heartbeats_received: u64,
}

#[derive(Serialize)]
struct ReloadsJson {
    accepted: u64,
    refused: u64,
}

/// `{"total": n, "<reason>": n, ...}`, total first.
struct Drops<'a>(&'a DropCounters);

impl Serialize for Drops<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let total = std::iter::once(("total", self.0.total()));
        ser.collect_map(total.chain(self.0.iter().map(|(r, n)| (r.as_str(), n))))
    }
}

/// Status as one line of JSON.
pub fn render_json(snap: &Snapshot) -> String {
    let s = &snap.status;
    let j = StatusJson {
        router: &s.name,
        role: s.role.as_str(),
        faults: s.faults.to_string(),
        epoch: s.epoch,
        protocol: s.protocol,
        lvsd_pid: snap.lvsd_pid,
        ready: s.ready,
        vips: s
            .vips
            .iter()
            .map(|v| VipJson { address: v.addr.to_string(), prefix: v.prefix, dev: &v.dev })
            .collect(),
        peers: s
            .peers
            .iter()
            .map(|p| PeerJson {
                name: &p.name,
                alive: p.alive,
                role: p.role.map(|r| r.as_str()),
                faults: p.faults.to_string(),
                ready: p.ready,
                last_heard_ms: ms(p.last_heard),
                config_mismatch: p.config_mismatch,
                heartbeats_received: p.received,
            })
            .collect(),
        dropped: Drops(&s.drops),
        config_mismatches: s.config_mismatches,
        heartbeats_sent: s.sent,
        transitions: s.transitions,
        reloads: ReloadsJson { accepted: snap.reloads.accepted, refused: snap.reloads.refused },
        loop_turns: snap.loop_stats.turns,
        loop_stalls: snap.loop_stats.stalls,
        loop_worst_turn_us: snap.loop_stats.worst.as_micros(),
        loop_pauses: snap.loop_stats.pauses,
        loop_worst_pause_us: snap.loop_stats.worst_pause.as_micros(),
        loop_waits: snap.loop_stats.waits,
        loop_worst_wait_us: snap.loop_stats.worst_wait.as_micros(),
        lvsd: snap.lvsd.as_deref().map(|v| lvsd_json(v, snap.taken)),
    };
    // Plain structs of strings and numbers always serialize.
    let mut out = serde_json::to_string(&j).unwrap_or_default();
    out.push('\n');
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::machine::{PeerStatus, Vip};
    use crate::snapshot::Reloads;
    use crate::wire::{DropReason, Faults, Role};
    use std::time::{Duration, Instant};

    pub(crate) fn status() -> Status {
        let mut drops = DropCounters::default();
        drops.count(DropReason::BadMac);
        Status {
            name: "lvs1".into(),
            role: Role::Active,
            faults: Faults::NONE,
            epoch: 0,
            ready: true,
            peers: vec![PeerStatus {
                name: "lvs\"2".into(),
                alive: true,
                last_heard: Some(Duration::from_millis(1234)),
                role: Some(Role::Standby),
                faults: Faults::LINK_FAIL,
                ready: false,
                config_mismatch: false,
                received: 5,
            }],
            vips: vec![Vip {
                addr: "10.0.0.100".parse().unwrap(),
                prefix: 24,
                dev: "eth0:1".into(),
            }],
            drops,
            config_mismatches: 0,
            protocol: "native",
            sent: 12,
            transitions: 3,
        }
    }

    #[test]
    fn requests() {
        assert_eq!(parse_request("status\n"), Ok(Request::StatusText));
        assert_eq!(parse_request(" status  json "), Ok(Request::StatusJson));
        assert_eq!(parse_request("events"), Ok(Request::Events));
        assert_eq!(parse_request("take-over"), Ok(Request::Command(Command::TakeOver)));
        assert_eq!(parse_request("stand-down"), Ok(Request::Command(Command::StandDown)));
        assert_eq!(parse_request("reload"), Ok(Request::Command(Command::Reload)));
        assert!(parse_request("rm -rf /").unwrap_err().contains("unknown request \"rm -rf /\""));
    }

    #[test]
    fn text() {
        let t = render_text(&status(), Some(42), &LoopStats::default());
        assert!(t.starts_with("router: lvs1\nrole: active\nfaults: none\nepoch: 0\nprotocol: native\nlvsd: pid 42\nready: yes\nvip: 10.0.0.100/24 dev eth0:1\n"), "{t}");
        assert!(t.contains(
            "peer: lvs\"2 alive role=standby faults=linkfail ready=no heard=1234 ms ago\n"
        ));
        assert!(t.contains("dropped: 1\n"));
        assert!(t.contains("dropped.bad_mac: 1\n"));
        assert!(
            t.ends_with("loop_turns: 0\nloop_stalls: 0\nloop_worst_turn_ms: 0.0\nloop_pauses: 0\nloop_worst_pause_ms: 0.0\nloop_waits: 0\nloop_worst_wait_ms: 0.0\n"),
            "{t}"
        );
    }

    #[test]
    fn json() {
        let j = render_json(&Snapshot {
            status: status(),
            taken: Instant::now(),
            lvsd_pid: None,
            loop_stats: LoopStats {
                turns: 7,
                stalls: 1,
                worst: Duration::from_micros(51_200),
                pauses: 2,
                worst_pause: Duration::from_micros(203_400),
                waits: 4,
                worst_wait: Duration::from_micros(74_600),
            },
            reloads: Reloads { accepted: 1, refused: 2 },
            lvsd: None,
            events: Default::default(),
        });
        assert!(j.starts_with("{\"router\":\"lvs1\",\"role\":\"active\",\"faults\":\"none\",\"epoch\":0,\"protocol\":\"native\",\"lvsd_pid\":null,\"ready\":true,\"vips\":[{\"address\":\"10.0.0.100\",\"prefix\":24,\"dev\":\"eth0:1\"}],\"peers\":[{\"name\":\"lvs\\\"2\",\"alive\":true,\"role\":\"standby\",\"faults\":\"linkfail\",\"ready\":false,\"last_heard_ms\":1234,\"config_mismatch\":false,\"heartbeats_received\":5}],\"dropped\":{\"total\":1,\"truncated\":0,"), "{j}");
        assert!(j.contains("\"bad_mac\":1,"));
        assert!(j.ends_with(
            "\"config_mismatches\":0,\"heartbeats_sent\":12,\"transitions\":3,\"reloads\":{\"accepted\":1,\"refused\":2},\"loop_turns\":7,\"loop_stalls\":1,\"loop_worst_turn_us\":51200,\"loop_pauses\":2,\"loop_worst_pause_us\":203400,\"loop_waits\":4,\"loop_worst_wait_us\":74600,\"lvsd\":null}\n"
        ), "{j}");
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["peers"][0]["name"], "lvs\"2");
    }
}
