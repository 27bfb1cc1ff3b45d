//! The reading primitives of the decoder: a mapping read key by key
//! (unknown and duplicate keys reported, the keys it may hold recorded)
//! and the scalar readers, each reporting a bad value at its node.

use std::net::IpAddr;

use super::super::tree::{Children, Kind, Node};
use crate::diag::{Loc, Pos, Sink};
use crate::model::Millis;
use crate::values;

/// A mapping being read: its entries, which of them were used, its path.
pub(super) struct Map<'n> {
    pub(super) pos: Pos,
    pub(super) loc: Loc,
    pub(super) entries: Vec<(&'n str, Pos, Node<'n>, bool)>,
    /// Every key asked for, present or not: the keys this mapping may hold.
    pub(super) known: Vec<&'static str>,
}

/// Mappings up to this size find duplicate keys by looking through the
/// keys already read; larger ones use a set, so that a huge mapping in a
/// bad file is not quadratic.
pub(super) const SMALL_MAP: usize = 32;

impl<'n> Map<'n> {
    /// Reads `node`, recorded at `loc`, as a mapping with scalar keys;
    /// reports duplicate keys.
    pub(super) fn new(sink: &mut Sink, node: Node<'n>, loc: Loc, what: &str) -> Option<Map<'n>> {
        let Kind::Map(entries) = node.kind() else {
            sink.error(
                node.pos(),
                format!("{what}: expected a mapping, found {}", node.describe()),
            );
            return None;
        };
        let len = entries.len();
        let mut out: Vec<(&'n str, Pos, Node<'n>, bool)> = Vec::with_capacity(len);
        let mut seen = std::collections::HashMap::new();
        for (k, v) in entries {
            let Kind::Scalar { text, .. } = k.kind() else {
                sink.error(
                    k.pos(),
                    format!("{what}: keys must be plain words, found {}", k.describe()),
                );
                continue;
            };
            let first = if len <= SMALL_MAP {
                out.iter().find(|(key, ..)| *key == text).map(|e| e.1)
            } else {
                seen.insert(text, k.pos())
            };
            if let Some(first) = first {
                // A YAML mapping with a repeated key is not valid YAML
                // (unlike lvs.cf, where piranha keeps the last value).
                sink.error(
                    k.pos(),
                    format!(
                        "duplicate key `{text}` (first at line {}, column {})",
                        first.line, first.column
                    ),
                );
                continue;
            }
            out.push((text, k.pos(), v, false));
        }
        // One allocation for the keys asked of most mappings.
        Some(Map { pos: node.pos(), loc, entries: out, known: Vec::with_capacity(24) })
    }

    /// Takes the value of `key`, if present. An empty or null value is an
    /// error: no key gives a meaning to "no value", and a file cut short
    /// (`deadtime:` as its last line) must not load with a default.
    pub(super) fn get(&mut self, sink: &mut Sink, key: &'static str) -> Option<(Node<'n>, Loc)> {
        self.known.push(key);
        let entry = self.entries.iter_mut().find(|(k, ..)| *k == key)?;
        entry.3 = true;
        let loc = sink.loc(self.loc, key, entry.2.pos());
        if entry.2.is_null() {
            sink.error(entry.2.pos(), format!("`{key}` has no value"));
            return None;
        }
        Some((entry.2, loc))
    }

    /// Takes a required value, reporting its absence at the mapping.
    pub(super) fn need(
        &mut self,
        sink: &mut Sink,
        key: &'static str,
        what: &str,
    ) -> Option<(Node<'n>, Loc)> {
        let got = self.get(sink, key);
        // An empty value was reported by `get`.
        if got.is_none() && !self.entries.iter().any(|(k, ..)| *k == key) {
            sink.error(self.pos, format!("{what}: missing key `{key}`"));
        }
        got
    }

    /// Reports every key that was not read.
    pub(super) fn finish(self, sink: &mut Sink, what: &str) {
        for (key, pos, _, used) in self.entries {
            if !used {
                let hint = values::did_you_mean(key, self.known.iter().copied());
                sink.error(pos, format!("unknown key `{key}` in {what}{hint}"));
            }
        }
    }
}

pub(super) fn scalar<'n>(
    sink: &mut Sink,
    n: Node<'n>,
    key: &str,
    expected: &str,
) -> Option<(&'n str, bool)> {
    match n.kind() {
        Kind::Scalar { text, plain } => Some((text, plain)),
        _ => {
            sink.error(n.pos(), format!("`{key}`: expected {expected}, found {}", n.describe()));
            None
        }
    }
}

pub(super) fn string(sink: &mut Sink, n: Node, key: &str) -> Option<String> {
    scalar(sink, n, key, "a string").map(|(t, _)| t.to_owned())
}

/// A string that is not empty; blank and control characters are the
/// validator's (`values::name_or_command`), the same for both front ends.
pub(super) fn nonempty(sink: &mut Sink, n: Node, key: &str) -> Option<String> {
    let s = string(sink, n, key)?;
    if s.is_empty() {
        sink.error(n.pos(), format!("`{key}` is empty"));
        return None;
    }
    Some(s)
}

pub(super) fn boolean(sink: &mut Sink, n: Node, key: &str) -> Option<bool> {
    let (t, plain) = scalar(sink, n, key, "true or false")?;
    match (t, plain) {
        ("true" | "True" | "TRUE", true) => Some(true),
        ("false" | "False" | "FALSE", true) => Some(false),
        _ => {
            sink.error(n.pos(), format!("`{key}`: expected true or false, found {}", n.describe()));
            None
        }
    }
}

pub(super) fn uint(sink: &mut Sink, n: Node, key: &str, max: u64) -> Option<u64> {
    let (t, plain) = scalar(sink, n, key, "an integer")?;
    match values::int(t) {
        Some(v) if plain && v <= max => Some(v),
        Some(_) if plain => {
            sink.error(n.pos(), format!("`{key}`: {t} is out of range (0-{max})"));
            None
        }
        _ => {
            sink.error(
                n.pos(),
                format!("`{key}`: expected an integer 0-{max}, found {}", n.describe()),
            );
            None
        }
    }
}

pub(super) fn u32_(sink: &mut Sink, n: Node, key: &str, max: u32) -> Option<u32> {
    uint(sink, n, key, u64::from(max)).and_then(|v| u32::try_from(v).ok())
}

pub(super) fn millis(sink: &mut Sink, n: Node, key: &str) -> Option<Millis> {
    let (t, _) = scalar(sink, n, key, "a duration")?;
    match Millis::parse(t) {
        Ok(m) => Some(m),
        Err(e) => {
            sink.error(n.pos(), format!("`{key}`: {e}"));
            None
        }
    }
}

pub(super) fn ip(sink: &mut Sink, n: Node, key: &str) -> Option<IpAddr> {
    let (t, _) = scalar(sink, n, key, "an ip address")?;
    match values::ip(t) {
        Ok(a) => Some(a),
        Err(e) => {
            sink.error(n.pos(), format!("`{key}`: {e}"));
            None
        }
    }
}

pub(super) fn port(sink: &mut Sink, n: Node, key: &str) -> Option<u16> {
    let (t, plain) = scalar(sink, n, key, "a port")?;
    if !plain && values::int(t).is_some() {
        sink.error(
            n.pos(),
            format!("`{key}`: expected a port number, found the string {}", n.describe()),
        );
        return None;
    }
    match values::port(t) {
        Ok(p) => Some(p),
        Err(e) => {
            sink.error(n.pos(), format!("`{key}`: {e}"));
            None
        }
    }
}

pub(super) fn netmask(sink: &mut Sink, n: Node, key: &str, v6: Option<bool>) -> Option<u8> {
    let (t, _) = scalar(sink, n, key, "a netmask")?;
    match values::netmask(t, v6) {
        Ok(p) => Some(p),
        Err(e) => {
            sink.error(n.pos(), format!("`{key}`: {e}"));
            None
        }
    }
}

pub(super) fn choice<T: Copy>(
    sink: &mut Sink,
    n: Node,
    key: &str,
    table: &[(&str, T)],
) -> Option<T> {
    let names: Vec<&str> = table.iter().map(|(k, _)| *k).collect();
    let expected = names.join(", ");
    let (t, _) = scalar(sink, n, key, &format!("one of {expected}"))?;
    match table.iter().find(|(k, _)| *k == t) {
        Some((_, v)) => Some(*v),
        None => {
            sink.error(
                n.pos(),
                format!("`{key}`: expected one of {expected}, found {}", n.describe()),
            );
            None
        }
    }
}

/// The items of a list; none (after reporting) if `n` is not one.
pub(super) fn seq<'n>(sink: &mut Sink, n: Node<'n>, key: &str) -> Children<'n> {
    match n.kind() {
        Kind::Seq(items) => items,
        _ => {
            sink.error(n.pos(), format!("`{key}`: expected a list, found {}", n.describe()));
            n.no_children()
        }
    }
}

pub(super) fn name(sink: &mut Sink, m: &mut Map, what: &str) -> Option<String> {
    m.need(sink, "name", what).and_then(|(n, _)| nonempty(sink, n, "name"))
}
