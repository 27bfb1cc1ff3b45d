//! Durations as the configuration writes them: whole seconds, or
//! milliseconds with a unit.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration in milliseconds.
///
/// Written in YAML as whole seconds when it is a whole number of seconds
/// (`6`), otherwise as milliseconds with a unit (`"1500ms"`). Read from a
/// number of seconds (`6`, `0.5`) or a string with a unit (`"500ms"`, `"2s"`,
/// `"1.5s"`); see [`Millis::parse`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Millis(pub u64);

impl Millis {
    /// A duration of `s` whole seconds.
    pub const fn from_secs(s: u64) -> Millis {
        Millis(s.saturating_mul(1000))
    }

    /// The duration as a [`std::time::Duration`].
    pub fn to_duration(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0)
    }

    /// Parses `6`, `0.5`, `1.25s`, `500ms`: seconds unless the unit is `ms`.
    ///
    /// At most millisecond precision is accepted; the error is a plain
    /// lowercase message.
    pub fn parse(text: &str) -> Result<Millis, String> {
        let t = text.trim();
        let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
            (n.trim_end(), 1u64)
        } else if let Some(n) = t.strip_suffix('s') {
            (n.trim_end(), 1000u64)
        } else {
            (t, 1000u64)
        };
        let bad =
            || format!("invalid duration `{text}` (use seconds such as `2` or `0.5`, or `500ms`)");
        if num.is_empty() {
            return Err(bad());
        }
        let (int, frac) = match num.split_once('.') {
            Some((i, f)) => (i, f),
            None => (num, ""),
        };
        if int.is_empty() && frac.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || (int.is_empty() && num.starts_with('.') && frac.is_empty())
        {
            return Err(bad());
        }
        let int_val: u64 = if int.is_empty() { 0 } else { int.parse().map_err(|_| bad())? };
        let frac_digits = frac.trim_end_matches('0');
        let allowed = if scale == 1000 { 3 } else { 0 };
        if frac_digits.len() > allowed {
            return Err(format!("duration `{text}` is finer than one millisecond"));
        }
        let mut frac_ms = 0u64;
        if !frac_digits.is_empty() {
            let padded = format!("{frac_digits:0<3}");
            frac_ms = padded.parse().map_err(|_| bad())?;
        }
        int_val
            .checked_mul(scale)
            .and_then(|v| v.checked_add(frac_ms))
            .map(Millis)
            .ok_or_else(|| format!("duration `{text}` is too large"))
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(1000) {
            write!(f, "{}s", self.0 / 1000)
        } else {
            write!(f, "{}ms", self.0)
        }
    }
}

impl Serialize for Millis {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_multiple_of(1000) {
            s.serialize_u64(self.0 / 1000)
        } else {
            s.serialize_str(&format!("{}ms", self.0))
        }
    }
}

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Millis, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Millis;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration in seconds or a string such as \"500ms\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Millis, E> {
                v.checked_mul(1000).map(Millis).ok_or_else(|| E::custom("duration too large"))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Millis, E> {
                let v = u64::try_from(v).map_err(|_| E::custom("negative duration"))?;
                self.visit_u64(v)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Millis, E> {
                Millis::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Millis, E> {
                Millis::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}
