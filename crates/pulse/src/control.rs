//! The control protocol, pure: one request line in, one reply out.
//!
//! Requests: `status`, `status json`, `take-over`, `stand-down`, `reload`.
//! The socket itself (root only, peer credentials checked) is in
//! `event_loop`.

use std::fmt::Write as _;

use crate::machine::{Command, Status};
use crate::stall::LoopStats;

/// A parsed control request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// Human-readable status.
    StatusText,
    /// Status as one JSON object.
    StatusJson,
    /// A command for the state machine.
    Command(Command),
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
        ["take-over"] => Ok(Request::Command(Command::TakeOver)),
        ["stand-down"] => Ok(Request::Command(Command::StandDown)),
        ["reload"] => Ok(Request::Command(Command::Reload)),
        _ => Err(format!(
            "unknown request {:?}; try status, status json, take-over, stand-down, reload",
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
    o
}

fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Status as one line of JSON; `loop_stats` are the stall detector's
/// figures.
pub fn render_json(s: &Status, lvsd_pid: Option<u32>, loop_stats: &LoopStats) -> String {
    let peers: Vec<String> = s
        .peers
        .iter()
        .map(|p| {
            format!(
                "{{\"name\":{},\"alive\":{},\"role\":{},\"faults\":{},\"ready\":{},\"last_heard_ms\":{},\"config_mismatch\":{}}}",
                json_str(&p.name),
                p.alive,
                p.role.map_or("null".to_owned(), |r| json_str(r.as_str())),
                json_str(&p.faults.to_string()),
                p.ready,
                ms(p.last_heard).map_or("null".to_owned(), |m| m.to_string()),
                p.config_mismatch,
            )
        })
        .collect();
    let vips: Vec<String> = s
        .vips
        .iter()
        .map(|v| {
            format!(
                "{{\"address\":{},\"prefix\":{},\"dev\":{}}}",
                json_str(&v.addr.to_string()),
                v.prefix,
                json_str(&v.dev)
            )
        })
        .collect();
    let drops: Vec<String> =
        s.drops.iter().map(|(r, n)| format!("{}:{n}", json_str(r.as_str()))).collect();
    format!(
        "{{\"router\":{},\"role\":{},\"faults\":{},\"epoch\":{},\"protocol\":{},\"lvsd_pid\":{},\"ready\":{},\"vips\":[{}],\"peers\":[{}],\"dropped\":{{\"total\":{},{}}},\"config_mismatches\":{},\"loop_turns\":{},\"loop_stalls\":{},\"loop_worst_turn_us\":{}}}\n",
        json_str(&s.name),
        json_str(s.role.as_str()),
        json_str(&s.faults.to_string()),
        s.epoch,
        json_str(s.protocol),
        lvsd_pid.map_or("null".to_owned(), |p| p.to_string()),
        s.ready,
        vips.join(","),
        peers.join(","),
        s.drops.total(),
        drops.join(","),
        s.config_mismatches,
        loop_stats.turns,
        loop_stats.stalls,
        loop_stats.worst.as_micros(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::{PeerStatus, Vip};
    use crate::wire::{DropCounters, DropReason, Faults, Role};
    use std::time::Duration;

    fn status() -> Status {
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
            }],
            vips: vec![Vip {
                addr: "10.0.0.100".parse().unwrap(),
                prefix: 24,
                dev: "eth0:1".into(),
            }],
            drops,
            config_mismatches: 0,
            protocol: "native",
        }
    }

    #[test]
    fn requests() {
        assert_eq!(parse_request("status\n"), Ok(Request::StatusText));
        assert_eq!(parse_request(" status  json "), Ok(Request::StatusJson));
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
        assert!(t.ends_with("loop_turns: 0\nloop_stalls: 0\nloop_worst_turn_ms: 0.0\n"), "{t}");
    }

    #[test]
    fn json() {
        let j = render_json(
            &status(),
            None,
            &LoopStats { turns: 7, stalls: 1, worst: Duration::from_micros(51_200) },
        );
        assert!(j.starts_with("{\"router\":\"lvs1\",\"role\":\"active\",\"faults\":\"none\",\"epoch\":0,\"protocol\":\"native\",\"lvsd_pid\":null,\"ready\":true,\"vips\":[{\"address\":\"10.0.0.100\",\"prefix\":24,\"dev\":\"eth0:1\"}],\"peers\":[{\"name\":\"lvs\\\"2\",\"alive\":true,\"role\":\"standby\",\"faults\":\"linkfail\",\"ready\":false,\"last_heard_ms\":1234,\"config_mismatch\":false}],\"dropped\":{\"total\":1,\"truncated\":0,"), "{j}");
        assert!(j.contains("\"bad_mac\":1,"));
        assert!(j.ends_with(
            "\"config_mismatches\":0,\"loop_turns\":7,\"loop_stalls\":1,\"loop_worst_turn_us\":51200}\n"
        ));
    }
}
