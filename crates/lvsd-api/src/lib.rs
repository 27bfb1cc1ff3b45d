//! The report link from lvsd to pulse, defined once for both: lvsd writes
//! one [`Report`] per line as JSON on a Unix stream socket that pulse
//! listens on (`lvsd --report-socket PATH`), and pulse reads it on a thread
//! of its own. pulse depends on this crate, never on `ipvs` or `lvsd`.
//!
//! Times are ages measured on lvsd's own monotonic clock at the moment the
//! report was written ("up for 12.5 s"), never wall-clock instants, so that
//! nothing compares clocks between processes or machines. Counters count
//! since lvsd started (the kernel's since the service was created): a
//! restarted lvsd starts its own counters over, which Prometheus reads as a
//! counter reset.
//!
//! Pure: encoding and decoding only; a line that does not decode is an
//! error the reader counts and drops, never a panic.
#![forbid(unsafe_code)]

use serde::{Deserialize, Serialize};

/// The version of this contract; pulse ignores reports of another one.
pub const VERSION: u32 = 1;

/// The longest report line pulse accepts (a table of 40,000 real servers
/// is about 16 MiB): longer ones are dropped whole.
pub const MAX_LINE: usize = 64 << 20;

/// Upper bounds, in seconds, of the check-duration histogram's buckets
/// (the last bucket, `+Inf`, is implied).
pub const CHECK_BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

/// One line lvsd sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`VERSION`].
    pub version: u32,
    /// lvsd's pid.
    pub pid: u32,
    /// Every nanny has given a first verdict (the table is complete).
    pub ready: bool,
    /// Nannies restarted since lvsd started (died, or killed when hung).
    pub nanny_restarts: u64,
    /// Seconds since the kernel's counters below were read (none yet: null).
    pub counters_age: Option<f64>,
    /// The virtual services of the configuration, in lvsd's order.
    pub services: Vec<Service>,
}

/// A virtual service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Service {
    /// `tcp:VIP:PORT`, `udp:VIP:PORT` (`tcp:[V6]:PORT`) or `fwmark:N`.
    pub service: String,
    /// The kernel's counters for the whole service (active and inactive
    /// connections summed over its real servers); none until read, or
    /// when the service is not in the kernel.
    pub counters: Option<Counters>,
    /// Its real servers (the sorry server is not one).
    pub servers: Vec<Server>,
}

/// The health verdict of a real server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// No verdict yet (its nanny has just started).
    Unknown,
    /// In the table.
    Up,
    /// Out of the table, or quiesced to weight 0.
    Down,
}

/// A real server of a virtual service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Server {
    /// `IP:PORT` (`[IPv6]:PORT`).
    pub server: String,
    /// The verdict of its nanny.
    pub health: Health,
    /// Why, in the nanny's words ("check failed: connect to 10.0.0.2:80:
    /// Connection refused").
    pub reason: String,
    /// Seconds since the verdict last changed (since lvsd started the
    /// nanny while it is unknown).
    pub since: f64,
    /// The weight the configuration gives it.
    pub configured_weight: u32,
    /// Its weight in the kernel table now (none: not in the table).
    pub weight: Option<u32>,
    /// Changes of verdict (up to down and back) since lvsd started.
    pub transitions: u64,
    /// Its checks' durations.
    pub checks: Checks,
    /// The kernel's counters for it; none until read, or when it is not in
    /// the table.
    pub counters: Option<Counters>,
    /// In the table although its check fails: kept by the service's depool
    /// threshold (`min_up`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub kept_by_threshold: bool,
    /// What the operator's overrides do to it: `disabled`, `service
    /// disabled`, `draining`, `drained`, `weight N` (comma-separated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
}

/// The checks of one real server: a histogram of their durations
/// ([`CHECK_BUCKETS`]) and the last one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Checks {
    /// Checks finished.
    pub count: u64,
    /// Their durations summed, in seconds.
    pub sum: f64,
    /// Checks per bucket (not cumulative), one more than
    /// [`CHECK_BUCKETS`]: the last counts those over the last bound.
    pub buckets: Vec<u64>,
    /// The last check: passed or not.
    pub last_ok: Option<bool>,
    /// How long the last check took, in seconds.
    pub last_duration: Option<f64>,
    /// What the last check found.
    pub last_reason: String,
}

impl Checks {
    /// Counts one check of `seconds` that passed (`ok`) or not.
    pub fn observe(&mut self, ok: bool, seconds: f64, reason: &str) {
        if self.buckets.len() != CHECK_BUCKETS.len() + 1 {
            self.buckets = vec![0; CHECK_BUCKETS.len() + 1];
        }
        let i = CHECK_BUCKETS.iter().position(|b| seconds <= *b).unwrap_or(CHECK_BUCKETS.len());
        self.buckets[i] += 1;
        self.count += 1;
        self.sum += seconds;
        self.last_ok = Some(ok);
        self.last_duration = Some(seconds);
        reason.clone_into(&mut self.last_reason);
    }
}

/// The kernel's counters (IPVS's 64-bit statistics and connection counts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Connections scheduled.
    pub connections: u64,
    /// Packets from clients.
    pub packets_in: u64,
    /// Packets to clients.
    pub packets_out: u64,
    /// Bytes from clients.
    pub bytes_in: u64,
    /// Bytes to clients.
    pub bytes_out: u64,
    /// Active connections now (established TCP).
    pub active_connections: u64,
    /// Inactive connections now (other states).
    pub inactive_connections: u64,
}

/// A report as one line, with its trailing `\n`.
pub fn encode(r: &Report) -> String {
    // Plain structs of strings and numbers always serialize; a NaN or an
    // infinity (which JSON has not) becomes null and fails to decode,
    // counted by the reader.
    let mut s = serde_json::to_string(r).unwrap_or_default();
    s.push('\n');
    s
}

/// Why a line was not a report.
#[derive(Debug)]
pub enum DecodeError {
    /// Not JSON of this layout.
    Json(serde_json::Error),
    /// A report of another [`VERSION`].
    Version(u32),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Json(e) => write!(f, "not a report: {e}"),
            DecodeError::Version(v) => write!(f, "report version {v}, not {VERSION}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decodes one line (with or without its newline).
///
/// # Errors
/// The line is not a report of this version.
pub fn decode(line: &[u8]) -> Result<Report, DecodeError> {
    let r: Report = serde_json::from_slice(line).map_err(DecodeError::Json)?;
    if r.version != VERSION {
        return Err(DecodeError::Version(r.version));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut checks = Checks::default();
        checks.observe(false, 0.003, "connect: Connection refused");
        Report {
            version: VERSION,
            pid: 7,
            ready: true,
            nanny_restarts: 1,
            counters_age: Some(0.5),
            services: vec![Service {
                service: "tcp:10.0.0.100:80".into(),
                counters: Some(Counters { connections: 3, ..Counters::default() }),
                servers: vec![Server {
                    server: "192.168.10.2:80".into(),
                    health: Health::Down,
                    reason: "check failed: connect: Connection refused".into(),
                    since: 1.5,
                    configured_weight: 2,
                    weight: None,
                    transitions: 2,
                    checks,
                    counters: None,
                    kept_by_threshold: false,
                    operator: None,
                }],
            }],
        }
    }

    #[test]
    fn round_trip_on_one_line() {
        let r = sample();
        let line = encode(&r);
        assert!(line.ends_with('\n'));
        assert_eq!(line.matches('\n').count(), 1);
        assert_eq!(decode(line.as_bytes()).unwrap(), r);
        assert!(line.contains("\"health\":\"down\""), "{line}");
    }

    #[test]
    fn histogram_buckets() {
        let mut c = Checks::default();
        c.observe(true, 0.001, "");
        c.observe(true, 0.002, "");
        c.observe(true, 60.0, "");
        assert_eq!(c.buckets.len(), CHECK_BUCKETS.len() + 1);
        assert_eq!(c.buckets[0], 1);
        assert_eq!(c.buckets[1], 1);
        assert_eq!(c.buckets[CHECK_BUCKETS.len()], 1);
        assert_eq!(c.count, 3);
    }

    #[test]
    fn garbage_and_other_versions_are_errors() {
        for bad in [&b""[..], b"{", b"null", b"\xff\xfe", b"{\"version\":1}"] {
            assert!(decode(bad).is_err());
        }
        let mut r = sample();
        r.version = 2;
        assert!(matches!(decode(encode(&r).as_bytes()), Err(DecodeError::Version(2))));
    }
}
