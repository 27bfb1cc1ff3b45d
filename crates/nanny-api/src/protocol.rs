//! The line protocol a nanny speaks on stdout when run under lvsd:
//! a pure encoder and decoder, shared with lvsd, and the [`Decision`] its
//! `up`, `down` and `weight` lines carry. See docs/nanny-protocol.md.
//!
//! Each message is one line: a verb, then `key=value` fields separated by
//! single spaces, and optionally `reason=` last, whose value runs to the end
//! of the line. Unknown verbs and unknown keys are tolerated by the decoder,
//! so that a newer nanny can talk to an older lvsd within one version.

use std::fmt::Write as _;
use std::time::Duration;

/// The protocol version this crate speaks.
pub const VERSION: u32 = 1;

/// How a server leaves the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownMode {
    /// Delete the real server from the virtual service.
    Remove,
    /// Keep it with weight 0 (piranha's `quiesce_server`).
    Quiesce,
}

/// What a nanny decides about its server: the one form of a decision from
/// nanny's state machine to its output (the protocol's `up`, `down` and
/// `weight` lines, or the kernel in standalone mode) and to lvsd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The server enters the table (or comes back from quiesced) with
    /// this weight.
    Up {
        /// Weight to set.
        weight: u32,
    },
    /// The server stays in with a new weight (slow start, load adjustment).
    Weight {
        /// Weight to set.
        weight: u32,
    },
    /// The server leaves the table, or stays with weight 0.
    Down {
        /// Remove or quiesce.
        mode: DownMode,
    },
}

impl Decision {
    /// The weight the server has in the table once this is applied, or
    /// `None` when it is out of it.
    pub fn weight_in_table(self) -> Option<u32> {
        match self {
            Decision::Up { weight } | Decision::Weight { weight } => Some(weight),
            Decision::Down { mode: DownMode::Quiesce } => Some(0),
            Decision::Down { mode: DownMode::Remove } => None,
        }
    }

    /// The line that says it.
    pub fn message(self, reason: &str) -> Message {
        let reason = reason.to_string();
        match self {
            Decision::Up { weight } => Message::Up { weight, reason },
            Decision::Weight { weight } => Message::Weight { weight, reason },
            Decision::Down { mode } => Message::Down { mode, reason },
        }
    }
}

/// One line of the protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// First line: `nanny version=1 pid=P server=ADDR alive=SECS`.
    Hello {
        /// Protocol version; lvsd refuses versions it does not know.
        version: u32,
        /// The nanny's process id.
        pid: u32,
        /// The real server checked, as `IP:PORT` (`[IPv6]:PORT`).
        server: String,
        /// The nanny promises at least one line every `alive` (liveness).
        alive: Duration,
    },
    /// The server is to be in the table with this weight.
    Up {
        /// Weight to set.
        weight: u32,
        /// Why, for the log.
        reason: String,
    },
    /// The server is to leave the table (or be quiesced).
    Down {
        /// Remove or quiesce.
        mode: DownMode,
        /// Why, for the log.
        reason: String,
    },
    /// The server stays up with a new weight (slow start, load adjustment).
    Weight {
        /// Weight to set.
        weight: u32,
        /// Why, for the log.
        reason: String,
    },
    /// A check finished (one per check, whatever the verdict): for lvsd's
    /// report of health reasons and check durations, not for the table.
    Check {
        /// The check passed.
        ok: bool,
        /// How long it took.
        took: Duration,
        /// What it found ("connect to 10.0.0.2:80: Connection refused").
        reason: String,
    },
    /// Liveness: the event loop is turning. `seq` counts alive lines.
    Alive {
        /// Sequence number, from 1.
        seq: u64,
    },
    /// The nanny is exiting (after withdrawing its server if it was up).
    Bye {
        /// Why, for the log.
        reason: String,
    },
    /// A verb this decoder does not know (from a newer nanny): ignore it.
    Unknown {
        /// The verb.
        verb: String,
    },
}

impl Message {
    /// The decision this line carries, with its reason; `None` for lines
    /// that decide nothing (hello, check, alive, bye, unknown).
    pub fn decision(&self) -> Option<(Decision, &str)> {
        match self {
            Message::Up { weight, reason } => Some((Decision::Up { weight: *weight }, reason)),
            Message::Weight { weight, reason } => {
                Some((Decision::Weight { weight: *weight }, reason))
            }
            Message::Down { mode, reason } => Some((Decision::Down { mode: *mode }, reason)),
            _ => None,
        }
    }
}

/// A line that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The line is empty.
    #[error("empty line")]
    Empty,
    /// A field the verb requires is absent.
    #[error("{verb}: missing field {field}")]
    Missing {
        /// The verb.
        verb: &'static str,
        /// The missing key.
        field: &'static str,
    },
    /// A field's value is not what the key requires.
    #[error("{verb}: bad value for {field}: {value:?}")]
    BadValue {
        /// The verb.
        verb: &'static str,
        /// The key.
        field: &'static str,
        /// The offending value.
        value: String,
    },
}

/// Makes a reason safe for one line: control characters become spaces.
fn clean(reason: &str) -> String {
    reason.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Encodes a message as one line, with its trailing `\n`.
pub fn encode(m: &Message) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = match m {
        Message::Hello { version, pid, server, alive } => writeln!(
            s,
            "nanny version={version} pid={pid} server={} alive={}",
            clean(server).replace(' ', "_"),
            fmt_secs(*alive)
        ),
        Message::Up { weight, reason } => {
            writeln!(s, "up weight={weight} reason={}", clean(reason))
        }
        Message::Down { mode, reason } => {
            let mode = match mode {
                DownMode::Remove => "remove",
                DownMode::Quiesce => "quiesce",
            };
            writeln!(s, "down mode={mode} reason={}", clean(reason))
        }
        Message::Weight { weight, reason } => {
            writeln!(s, "weight weight={weight} reason={}", clean(reason))
        }
        Message::Check { ok, took, reason } => writeln!(
            s,
            "check result={} took={:.6} reason={}",
            if *ok { "ok" } else { "fail" },
            took.as_secs_f64(),
            clean(reason)
        ),
        Message::Alive { seq } => writeln!(s, "alive seq={seq}"),
        Message::Bye { reason } => writeln!(s, "bye reason={}", clean(reason)),
        Message::Unknown { verb } => writeln!(s, "{}", clean(verb).replace(' ', "_")),
    };
    s
}

fn fmt_secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        d.as_secs().to_string()
    } else {
        format!("{:.3}", d.as_secs_f64())
    }
}

/// The fields of one line: `key=value` pairs and the trailing reason.
struct Fields<'a> {
    pairs: Vec<(&'a str, &'a str)>,
    reason: Option<&'a str>,
}

impl<'a> Fields<'a> {
    fn parse(rest: &'a str) -> Fields<'a> {
        let mut pairs = Vec::new();
        let mut reason = None;
        let mut rest = rest;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("reason=") {
                reason = Some(r);
                break;
            }
            let (tok, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            if let Some((k, v)) = tok.split_once('=') {
                pairs.push((k, v));
            }
            rest = tail;
        }
        Fields { pairs, reason }
    }

    fn get(&self, verb: &'static str, field: &'static str) -> Result<&'a str, DecodeError> {
        self.pairs
            .iter()
            .find(|(k, _)| *k == field)
            .map(|(_, v)| *v)
            .ok_or(DecodeError::Missing { verb, field })
    }

    fn num<T: std::str::FromStr>(
        &self,
        verb: &'static str,
        field: &'static str,
    ) -> Result<T, DecodeError> {
        let v = self.get(verb, field)?;
        v.parse().map_err(|_| DecodeError::BadValue { verb, field, value: v.to_string() })
    }

    fn reason(&self) -> String {
        self.reason.unwrap_or("").to_string()
    }
}

/// Decodes one line (with or without its trailing newline).
pub fn decode(line: &str) -> Result<Message, DecodeError> {
    let line = line.trim_end_matches(['\n', '\r']);
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    if verb.is_empty() {
        return Err(DecodeError::Empty);
    }
    let f = Fields::parse(rest);
    Ok(match verb {
        "nanny" => {
            let alive: f64 = f.num("nanny", "alive")?;
            if !(alive.is_finite() && alive > 0.0) {
                return Err(DecodeError::BadValue {
                    verb: "nanny",
                    field: "alive",
                    value: alive.to_string(),
                });
            }
            Message::Hello {
                version: f.num("nanny", "version")?,
                pid: f.num("nanny", "pid")?,
                server: f.get("nanny", "server")?.to_string(),
                alive: Duration::from_secs_f64(alive),
            }
        }
        "up" => Message::Up { weight: f.num("up", "weight")?, reason: f.reason() },
        "down" => Message::Down {
            mode: match f.get("down", "mode")? {
                "remove" => DownMode::Remove,
                "quiesce" => DownMode::Quiesce,
                v => {
                    return Err(DecodeError::BadValue {
                        verb: "down",
                        field: "mode",
                        value: v.to_string(),
                    })
                }
            },
            reason: f.reason(),
        },
        "weight" => Message::Weight { weight: f.num("weight", "weight")?, reason: f.reason() },
        "check" => {
            let took: f64 = f.num("check", "took")?;
            if !(0.0..1e9).contains(&took) {
                return Err(DecodeError::BadValue {
                    verb: "check",
                    field: "took",
                    value: took.to_string(),
                });
            }
            Message::Check {
                ok: match f.get("check", "result")? {
                    "ok" => true,
                    "fail" => false,
                    v => {
                        return Err(DecodeError::BadValue {
                            verb: "check",
                            field: "result",
                            value: v.to_string(),
                        })
                    }
                },
                took: Duration::from_secs_f64(took),
                reason: f.reason(),
            }
        }
        "alive" => Message::Alive { seq: f.num("alive", "seq")? },
        "bye" => Message::Bye { reason: f.reason() },
        other => Message::Unknown { verb: other.to_string() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(m: Message, line: &str) {
        assert_eq!(encode(&m), format!("{line}\n"));
        assert_eq!(decode(line).unwrap(), m);
    }

    #[test]
    fn goldens_both_ways() {
        round(
            Message::Hello {
                version: 1,
                pid: 42,
                server: "10.0.0.2:80".into(),
                alive: Duration::from_secs(10),
            },
            "nanny version=1 pid=42 server=10.0.0.2:80 alive=10",
        );
        round(
            Message::Hello {
                version: 1,
                pid: 7,
                server: "[fd00::2]:443".into(),
                alive: Duration::from_millis(500),
            },
            "nanny version=1 pid=7 server=[fd00::2]:443 alive=0.500",
        );
        round(
            Message::Up { weight: 3, reason: "check ok: connected".into() },
            "up weight=3 reason=check ok: connected",
        );
        round(
            Message::Down {
                mode: DownMode::Quiesce,
                reason: "read timed out after 10s, weight=9".into(),
            },
            "down mode=quiesce reason=read timed out after 10s, weight=9",
        );
        round(
            Message::Down { mode: DownMode::Remove, reason: String::new() },
            "down mode=remove reason=",
        );
        round(
            Message::Weight { weight: 16, reason: "slow start".into() },
            "weight weight=16 reason=slow start",
        );
        round(Message::Alive { seq: 9 }, "alive seq=9");
        round(
            Message::Check {
                ok: false,
                took: Duration::from_micros(2_000_125),
                reason: "connect to 10.0.0.2:80 timed out after 2s".into(),
            },
            "check result=fail took=2.000125 reason=connect to 10.0.0.2:80 timed out after 2s",
        );
        round(
            Message::Check { ok: true, took: Duration::ZERO, reason: "HTTP status 200".into() },
            "check result=ok took=0.000000 reason=HTTP status 200",
        );
        round(Message::Bye { reason: "signal TERM".into() }, "bye reason=signal TERM");
    }

    #[test]
    fn decisions_are_the_up_down_and_weight_lines() {
        for d in [
            Decision::Up { weight: 3 },
            Decision::Weight { weight: 0 },
            Decision::Down { mode: DownMode::Quiesce },
            Decision::Down { mode: DownMode::Remove },
        ] {
            let m = decode(&encode(&d.message("why"))).unwrap();
            assert_eq!(m.decision(), Some((d, "why")));
        }
        assert_eq!(Decision::Down { mode: DownMode::Quiesce }.weight_in_table(), Some(0));
        assert_eq!(Decision::Down { mode: DownMode::Remove }.weight_in_table(), None);
        assert_eq!(Message::Alive { seq: 1 }.decision(), None);
    }

    #[test]
    fn reasons_stay_on_one_line() {
        let m = Message::Bye { reason: "a\nb\rc".into() };
        assert_eq!(encode(&m), "bye reason=a b c\n");
    }

    #[test]
    fn tolerant_and_strict_where_it_matters() {
        assert_eq!(
            decode("frobnicate x=1").unwrap(),
            Message::Unknown { verb: "frobnicate".into() }
        );
        // Unknown keys are skipped; order does not matter.
        assert_eq!(
            decode("up extra=1 weight=5 reason=r\n").unwrap(),
            Message::Up { weight: 5, reason: "r".into() }
        );
        assert_eq!(decode(""), Err(DecodeError::Empty));
        assert!(matches!(decode("up weight=-1"), Err(DecodeError::BadValue { .. })));
        assert!(matches!(decode("down reason=x"), Err(DecodeError::Missing { .. })));
        assert!(decode("nanny version=1 pid=1 server=x alive=0").is_err());
        assert!(decode("nanny version=1 pid=1 server=x alive=nan").is_err());
        assert!(decode("check result=ok took=-1").is_err());
        assert!(decode("check result=ok took=inf").is_err());
        assert!(decode("check result=maybe took=1").is_err());
        assert!(decode("check took=1").is_err());
    }

    #[test]
    fn decoding_garbage_never_panics() {
        for s in ["=", " ", "up =", "up weight=", "reason=", "nanny alive=1e400", "\u{0}"] {
            let _ = decode(s);
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn reason() -> impl Strategy<Value = String> {
            // Reasons survive as long as they have no control characters.
            "[^\\p{Cc}]{0,40}"
        }

        fn message() -> impl Strategy<Value = Message> {
            prop_oneof![
                (any::<u32>(), any::<u32>(), "[0-9a-f:.\\[\\]]{1,30}", 1u64..100_000).prop_map(
                    |(version, pid, server, ms)| Message::Hello {
                        version,
                        pid,
                        server,
                        alive: Duration::from_millis(ms),
                    }
                ),
                (any::<u32>(), reason())
                    .prop_map(|(weight, reason)| Message::Up { weight, reason }),
                (any::<bool>(), reason()).prop_map(|(q, reason)| Message::Down {
                    mode: if q { DownMode::Quiesce } else { DownMode::Remove },
                    reason
                }),
                (any::<u32>(), reason())
                    .prop_map(|(weight, reason)| Message::Weight { weight, reason }),
                any::<u64>().prop_map(|seq| Message::Alive { seq }),
                (any::<bool>(), 0u64..100_000_000, reason()).prop_map(|(ok, us, reason)| {
                    Message::Check { ok, took: Duration::from_micros(us), reason }
                }),
                reason().prop_map(|reason| Message::Bye { reason }),
            ]
        }

        proptest! {
            #[test]
            fn encode_then_decode_is_identity(m in message()) {
                let line = encode(&m);
                prop_assert!(line.ends_with('\n'));
                prop_assert_eq!(line.matches('\n').count(), 1);
                prop_assert_eq!(decode(&line).unwrap(), m);
            }

            #[test]
            fn decode_never_panics(s in "\\PC{0,80}") {
                let _ = decode(&s);
            }
        }
    }
}
