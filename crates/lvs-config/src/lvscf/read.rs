//! lvs.cf's key tables and value readers: the assignments of one section by
//! key (a repeated key keeps its last value, as in piranha, with a warning
//! naming both lines), and the readers that turn a key's tokens into typed
//! values, recording where each model path was read.

use std::collections::HashMap;
use std::net::IpAddr;

use super::lex::{Assign, Block, Tok};
use crate::diag::{Loc, Sink};
use crate::model::Millis;
use crate::values;

/// Where a value is recorded: a path below a recorded one, such as the
/// block of a virtual service and `vip.address` (`""` for that path itself).
pub(super) type At = (Loc, &'static str);

/// The assignments of one section by key, with duplicate keys reported.
pub(super) struct Fields<'a, 'b> {
    /// The first assignment of each key, in file order, and whether it
    /// has been taken. A section has a few keys: a list beats a hash map.
    entries: Vec<(&'a str, &'b Assign<'a>, bool)>,
    /// Every key asked for: the keys this section may hold.
    known: Vec<&'static str>,
}

/// Sections up to this size find duplicate keys by looking through the
/// keys already read; larger ones use a set, so that a huge section in a
/// bad file is not quadratic.
pub(super) const SMALL_SECTION: usize = 32;

impl<'a, 'b> Fields<'a, 'b> {
    /// piranha assigns each line as it reads it, so a key set twice keeps
    /// its last value (its own `sample.cf` sets `backup_active` twice): the
    /// later line replaces the earlier one, with a warning naming both.
    pub(super) fn new(assigns: &'b [Assign<'a>], sink: &mut Sink) -> Fields<'a, 'b> {
        let mut entries: Vec<(&'a str, &'b Assign<'a>, bool)> = Vec::with_capacity(assigns.len());
        let mut seen: HashMap<&'a str, usize> = HashMap::new();
        for a in assigns {
            let k = a.key.text;
            let earlier = if assigns.len() <= SMALL_SECTION {
                entries.iter().position(|(key, ..)| *key == k)
            } else {
                seen.get(k).copied()
            };
            if let Some(i) = earlier {
                let first = entries[i].1.key.pos.line;
                sink.warn(
                    a.key.pos,
                    format!(
                        "`{k}` is set again (first on line {first}): the value on line {} is used, as in piranha",
                        a.key.pos.line
                    ),
                );
                entries[i].1 = a;
                continue;
            }
            if assigns.len() > SMALL_SECTION {
                seen.insert(k, entries.len());
            }
            entries.push((k, a, false));
        }
        Fields { entries, known: Vec::with_capacity(24) }
    }

    pub(super) fn take(&mut self, key: &'static str) -> Option<&'b Assign<'a>> {
        self.known.push(key);
        let entry = self.entries.iter_mut().find(|(k, _, taken)| *k == key && !taken)?;
        entry.2 = true;
        Some(entry.1)
    }

    /// Reports the keys not taken; `section` names the section, formatted
    /// only if there is one (most sections have none).
    pub(super) fn unknown(self, sink: &mut Sink, section: impl FnOnce() -> String) {
        let mut section = Some(section);
        let mut name = String::new();
        for (k, a, taken) in self.entries {
            if !taken {
                if let Some(f) = section.take() {
                    name = f();
                }
                let section = &name;
                let hint = values::did_you_mean(k, self.known.iter().copied());
                sink.error(a.key.pos, format!("unknown command `{k}` in {section}{hint}"));
            }
        }
    }
}

/// The value tokens of `a`, checking there are exactly `n`.
pub(super) fn args<'a, 'b>(a: &'b Assign<'a>, n: usize, sink: &mut Sink) -> Option<&'b [Tok<'a>]> {
    if a.values.len() < n {
        let at = a.values.last().map_or(a.key.pos, |t| t.pos);
        sink.error(at, format!("missing arguments for `{}`", a.key.text));
        return None;
    }
    if a.values.len() > n {
        sink.error(a.values[n].pos, format!("unexpected arguments after `{}`", a.key.text));
        return None;
    }
    Some(&a.values)
}

pub(super) fn one<'a, 'b>(a: &'b Assign<'a>, sink: &mut Sink) -> Option<&'b Tok<'a>> {
    args(a, 1, sink).and_then(|t| t.first())
}

pub(super) struct Reader<'s> {
    pub(super) sink: &'s mut Sink,
}

impl Reader<'_> {
    pub(super) fn rec(&mut self, (loc, path): At, t: &Tok) {
        self.sink.loc_path(loc, path, t.pos);
    }

    pub(super) fn string(&mut self, a: Option<&Assign>, path: At) -> Option<String> {
        let t = one(a?, self.sink)?;
        self.rec(path, t);
        Some(t.text.to_owned())
    }

    /// A string that must not be empty (a path): the YAML front end
    /// refuses an empty one too. Blank and control characters are the
    /// validator's, for both formats.
    pub(super) fn nonempty(&mut self, a: Option<&Assign>, path: At) -> Option<String> {
        let s = self.string(a, path)?;
        if s.is_empty() {
            if let Some(a) = a {
                let at = a.values.first().map_or(a.key.pos, |t| t.pos);
                self.sink.error(at, format!("`{}` is empty", a.key.text));
            }
            return None;
        }
        Some(s)
    }

    /// A block's name (`virtual ""` is refused, as YAML's `name: ""`).
    pub(super) fn name(&mut self, b: &Block) {
        if b.name.text.is_empty() {
            self.sink.error(b.name.pos, format!("`{}` name is empty", b.kind));
        }
    }

    pub(super) fn int(&mut self, a: Option<&Assign>, path: At, min: i64, max: i64) -> Option<i64> {
        let a = a?;
        let t = one(a, self.sink)?;
        self.rec(path, t);
        match values::c_int(t.text) {
            Some(v) if (min..=max).contains(&v) => Some(v),
            Some(_) => {
                self.sink.error(
                    t.pos,
                    format!("`{}`: {} is out of range ({min}-{max})", a.key.text, t.text),
                );
                None
            }
            None => {
                self.sink.error(
                    t.pos,
                    format!("`{}`: integer expected, found `{}`", a.key.text, t.text),
                );
                None
            }
        }
    }

    pub(super) fn boolean(&mut self, a: Option<&Assign>, path: At) -> Option<bool> {
        let a = a?;
        let t = one(a, self.sink)?;
        self.rec(path, t);
        match t.text {
            "0" => Some(false),
            "1" => Some(true),
            _ => {
                self.sink.error(
                    t.pos,
                    format!("`{}`: boolean expected (0 or 1), found `{}`", a.key.text, t.text),
                );
                None
            }
        }
    }

    pub(super) fn secs(&mut self, a: Option<&Assign>, path: At) -> Option<Millis> {
        let a = a?;
        let t = one(a, self.sink)?;
        self.rec(path, t);
        match Millis::parse(t.text) {
            Ok(m) => Some(m),
            Err(e) => {
                self.sink.error(t.pos, format!("`{}`: {e}", a.key.text));
                None
            }
        }
    }

    pub(super) fn host_tok(&mut self, a: &Assign, t: &Tok) -> Option<IpAddr> {
        match values::ip(t.text) {
            Ok(ip) => Some(ip),
            Err(e) => {
                self.sink.error(
                    t.pos,
                    format!("`{}`: invalid host name or ip address: {e}", a.key.text),
                );
                None
            }
        }
    }

    pub(super) fn host(&mut self, a: Option<&Assign>, path: At) -> Option<IpAddr> {
        let a = a?;
        let t = one(a, self.sink)?;
        self.rec(path, t);
        self.host_tok(a, t)
    }

    pub(super) fn port(&mut self, a: Option<&Assign>, path: At) -> Option<u16> {
        let a = a?;
        let t = one(a, self.sink)?;
        self.rec(path, t);
        let parsed = match values::c_int(t.text) {
            Some(n) => u16::try_from(n).map_err(|_| format!("port {n} is out of range (0-65535)")),
            None => values::port(t.text),
        };
        parsed.map_err(|e| self.sink.error(t.pos, format!("`{}`: {e}", a.key.text))).ok()
    }

    pub(super) fn mask(&mut self, a: Option<&Assign>, path: At, v6: Option<bool>) -> Option<u8> {
        let a = a?;
        let t = one(a, self.sink)?;
        self.rec(path, t);
        match values::netmask(t.text, v6) {
            Ok(m) => Some(m),
            Err(e) => {
                self.sink.error(t.pos, format!("`{}`: bad subnet mask specified: {e}", a.key.text));
                None
            }
        }
    }

    pub(super) fn choice<T: Copy>(
        &mut self,
        a: Option<&Assign>,
        path: At,
        table: &[(&str, T)],
    ) -> Option<T> {
        let a = a?;
        let t = one(a, self.sink)?;
        self.rec(path, t);
        match table.iter().find(|(k, _)| *k == t.text) {
            Some((_, v)) => Some(*v),
            None => {
                let names: Vec<&str> = table.iter().map(|(k, _)| *k).collect();
                self.sink.error(
                    t.pos,
                    format!(
                        "`{}`: invalid argument `{}` (expected {})",
                        a.key.text,
                        t.text,
                        names.join(", ")
                    ),
                );
                None
            }
        }
    }

    /// `address = IP DEVICE`.
    pub(super) fn address_dev(&mut self, a: &Assign, (loc, path): At) -> Option<(IpAddr, String)> {
        if a.values.len() != 2 {
            let at = a.values.get(2).or(a.values.last()).map_or(a.key.pos, |t| t.pos);
            self.sink.error(
                at,
                format!(
                    "`{}` expects an address and a device (`{} = IP DEVICE`)",
                    a.key.text, a.key.text
                ),
            );
            self.sink.loc_path(loc, path, at);
            return None;
        }
        // Recorded below `path` without formatting a path per service.
        let at = self.sink.loc_unread_path(loc, path);
        self.rec((at, "address"), &a.values[0]);
        self.rec((at, "interface"), &a.values[1]);
        let ip = self.host_tok(a, &a.values[0])?;
        Some((ip, a.values[1].text.to_owned()))
    }

    pub(super) fn ignored(&mut self, a: Option<&Assign>, why: &str) {
        if let Some(a) = a {
            self.sink.warn(a.key.pos, format!("`{}` {why}", a.key.text));
        }
    }

    /// A key piranha parses and then ignores: its syntax is still checked.
    pub(super) fn unused(&mut self, a: Option<&Assign>) {
        self.unused_because(a, "is parsed but has no effect, as in piranha 0.8.6");
    }

    /// A key accepted but without effect here: syntax checked, then a warning.
    pub(super) fn unused_because(&mut self, a: Option<&Assign>, why: &str) {
        let Some(a) = a else { return };
        let ok = if a.key.text == "dirs" {
            let v = &a.values;
            let list = v.len() >= 2 && v[0].text == "[" && v[v.len() - 1].text == "]";
            if !list {
                self.sink.error(
                    a.values.first().map_or(a.key.pos, |t| t.pos),
                    "`dirs`: list expected (`dirs = [ a:b c:d ]`)",
                );
            }
            list
        } else {
            let root = self.sink.root();
            match (a.key.text, one(a, self.sink)) {
                (_, None) => false,
                ("heartbeat" | "sync", Some(_)) => self.boolean(Some(a), (root, "")).is_some(),
                ("master", Some(_)) => self.host(Some(a), (root, "")).is_some(),
                (_, Some(_)) => true,
            }
        };
        if ok {
            self.ignored(Some(a), why);
        }
    }
}
