//! The piranha `lvs.cf` front end: every key piranha 0.8.6 accepts, its
//! syntax rules and its defaults, read into the model.
//!
//! Syntax (piranha `lvsconfig.c`): one statement per line (`\n`, `\r` or
//! `\r\n`); `#` starts a comment only as the first non-blank character;
//! `key = value...` with `=` as its own token and an exact number of values;
//! `"..."`/`'...'` quote a value with blanks; blocks `virtual NAME {`,
//! `failover NAME {`, nested `server NAME {`, closed by `}` alone on a line.
//!
//! Differences from piranha, each deliberate:
//! - host names are not resolved (this crate does no IO): addresses only;
//! - port names come from a built-in table, not `/etc/services`;
//! - both quote styles are removed (piranha kept single quotes in `send`);
//! - a key given twice is an error (piranha kept the last one);
//! - keys piranha parses and ignores (`heartbeat`, `sync`, `debug_level`,
//!   `master`, `dirs`) are accepted with a warning;
//! - IPv6 addresses, prefix-length netmasks, `sctp` and sub-second
//!   `keepalive`/`deadtime`/`timeout`/`reentry` values are accepted.
//!
//! Problems are reported all at once, each at its line and column.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use crate::diag::{Loc, Pos, Sink};
use crate::model::*;
use crate::values;

/// A token and where it starts. The text borrows from the input: a
/// quoted token is the text between its quotes, exactly.
#[derive(Clone, Copy, Debug)]
struct Tok<'a> {
    text: &'a str,
    quoted: bool,
    pos: Pos,
}

/// `key = values...` on one line.
#[derive(Debug)]
struct Assign<'a> {
    key: Tok<'a>,
    values: Values<'a>,
}

/// The values of an assignment. There are one or two nearly always: they
/// are kept inline, which saves an allocation per line of a large file.
#[derive(Debug)]
enum Values<'a> {
    Inline { toks: [Tok<'a>; 2], len: usize },
    Heap(Vec<Tok<'a>>),
}

impl<'a> Values<'a> {
    fn new(toks: &[Tok<'a>]) -> Values<'a> {
        match *toks {
            [] => Values::Inline { toks: [NO_TOK; 2], len: 0 },
            [a] => Values::Inline { toks: [a, NO_TOK], len: 1 },
            [a, b] => Values::Inline { toks: [a, b], len: 2 },
            _ => Values::Heap(toks.to_vec()),
        }
    }
}

impl<'a> std::ops::Deref for Values<'a> {
    type Target = [Tok<'a>];

    fn deref(&self) -> &[Tok<'a>] {
        match self {
            Values::Inline { toks, len } => toks.get(..*len).unwrap_or(&[]),
            Values::Heap(toks) => toks,
        }
    }
}

/// Filler for the unused places of [`Values::Inline`].
const NO_TOK: Tok<'static> = Tok { text: "", quoted: false, pos: Pos { line: 0, column: 0 } };

/// A `virtual`, `failover` or `server` block.
#[derive(Debug)]
struct Block<'a> {
    kind: &'a str,
    name: Tok<'a>,
    pos: Pos,
    assigns: Vec<Assign<'a>>,
    servers: Vec<Block<'a>>,
}

/// Where a value is recorded: a path below a recorded one, such as the
/// block of a virtual service and `vip.address` (`""` for that path itself).
type At = (Loc, &'static str);

/// Splits text into lines: `\n`, `\r\n` and a lone `\r` all end a line.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some(end) = rest.bytes().position(|b| b == b'\n' || b == b'\r') else {
            return Some(std::mem::take(&mut rest));
        };
        let line = &rest[..end];
        let next = if rest[end..].starts_with("\r\n") { end + 2 } else { end + 1 };
        rest = &rest[next..];
        Some(line)
    })
}

/// Splits one line into tokens, into `out`; false after reporting a bad
/// quote.
///
/// One pass over the bytes: every byte that matters is ASCII, and a
/// column (a character, not a byte) is counted at each byte that starts a
/// character. Tokens are slices of the line.
fn tokens<'a>(line: &'a str, no: usize, sink: &mut Sink, out: &mut Vec<Tok<'a>>) -> bool {
    out.clear();
    let b = line.as_bytes();
    let starts_char = |x: u8| usize::from(x & 0xc0 != 0x80);
    let mut i = 0;
    // Characters before byte `i`.
    let mut col = 0usize;
    while i < b.len() {
        let c = b[i];
        if c == b' ' || c == b'\t' {
            i += 1;
            col += 1;
            continue;
        }
        let pos = Pos::new(no, col + 1);
        if c == b'"' || c == b'\'' {
            i += 1;
            col += 1;
            let start = i;
            let mut end = None;
            while i < b.len() {
                let d = b[i];
                if d == b'\\' && i + 1 < b.len() {
                    // A backslash keeps the next character, even a quote.
                    i += 2;
                    col += 1 + starts_char(b[i - 1]);
                    continue;
                }
                i += 1;
                col += starts_char(d);
                if d == c {
                    end = Some(i - 1);
                    break;
                }
            }
            let Some(end) = end else {
                let q = char::from(c);
                sink.error(pos, format!("quotation mismatch: no closing {q} on this line"));
                return false;
            };
            out.push(Tok { text: &line[start..end], quoted: true, pos });
        } else {
            let start = i;
            while i < b.len() && b[i] != b' ' && b[i] != b'\t' {
                col += starts_char(b[i]);
                i += 1;
            }
            out.push(Tok { text: &line[start..i], quoted: false, pos });
        }
    }
    true
}

/// Reads the statements into global assignments and blocks.
fn structure<'a>(text: &'a str, sink: &mut Sink) -> (Vec<Assign<'a>>, Vec<Block<'a>>, bool) {
    let mut saw_statement = false;
    let mut globals = Vec::new();
    let mut top: Vec<Block<'a>> = Vec::new();
    // Open blocks; `None` marks a block of an unknown kind being skipped.
    let mut stack: Vec<Option<Block<'a>>> = Vec::new();
    let mut buf = Vec::new();
    for (idx, line) in lines(text).enumerate() {
        let no = idx + 1;
        if !tokens(line, no, sink, &mut buf) {
            continue;
        }
        let toks = &buf[..];
        let Some(first) = toks.first() else { continue };
        if !first.quoted && first.text.starts_with('#') {
            continue;
        }
        saw_statement = true;
        if first.text == "}" && !first.quoted {
            if let Some(extra) = toks.get(1) {
                sink.error(extra.pos, "unexpected arguments: `}` must be alone on its line");
            }
            match stack.pop() {
                None => sink.error(first.pos, "unmatched `}`"),
                Some(None) => {}
                Some(Some(block)) => match stack.last_mut() {
                    Some(Some(parent)) => parent.servers.push(block),
                    Some(None) => {}
                    None => top.push(block),
                },
            }
            continue;
        }
        let opens = toks.len() >= 2 && toks.last().is_some_and(|t| t.text == "{" && !t.quoted);
        let is_block_kw = matches!(first.text, "virtual" | "failover" | "server");
        if opens || (is_block_kw && toks.get(1).is_none_or(|t| t.text != "=")) {
            if toks.len() != 3 || !opens {
                let at = if toks.len() > 3 && opens {
                    toks[2].pos
                } else {
                    toks.last().map_or(first.pos, |t| t.pos)
                };
                sink.error(at, format!("expected `{} NAME {{`", first.text));
                // Skip the block's body (`virtual web{` included) rather
                // than read it as global keys.
                if opens || toks.last().is_some_and(|t| !t.quoted && t.text.ends_with('{')) {
                    stack.push(None);
                }
                continue;
            }
            let name = toks[1];
            let kind = first.text;
            let nested = !stack.is_empty();
            let ok = match kind {
                "virtual" | "failover" if nested => {
                    sink.error(first.pos, format!("`{kind}` block inside another block"));
                    false
                }
                "server" if !nested => {
                    sink.error(first.pos, "`server` block outside a `virtual` block");
                    false
                }
                "server" if !matches!(stack.last(), Some(Some(b)) if b.kind != "server") => {
                    sink.error(first.pos, "`server` block inside a `server` block");
                    false
                }
                "virtual" | "failover" | "server" => true,
                other => {
                    sink.error(first.pos, format!("unknown block `{other}`"));
                    false
                }
            };
            stack.push(ok.then(|| Block {
                kind,
                name,
                pos: first.pos,
                assigns: Vec::new(),
                servers: Vec::new(),
            }));
            continue;
        }
        if first.text.contains('=') && !first.quoted {
            sink.error(
                first.pos,
                format!("expected `key = value` with blanks around `=`, found `{}`", first.text),
            );
            continue;
        }
        match toks.get(1) {
            Some(t) if t.text == "=" && !t.quoted => {}
            Some(t) => {
                sink.error(t.pos, format!("equal (=) expected after `{}`", first.text));
                continue;
            }
            None => {
                sink.error(first.pos, format!("equal (=) expected after `{}`", first.text));
                continue;
            }
        }
        let assign = Assign { key: *first, values: Values::new(toks.get(2..).unwrap_or(&[])) };
        match stack.last_mut() {
            None => globals.push(assign),
            Some(Some(block)) => block.assigns.push(assign),
            Some(None) => {}
        }
    }
    for open in stack.into_iter().flatten() {
        sink.error(
            open.pos,
            format!("unexpected end of file: `{} {}` is not closed", open.kind, open.name.text),
        );
    }
    (globals, top, saw_statement)
}

/// The assignments of one section by key, with duplicate keys reported.
struct Fields<'a, 'b> {
    /// The first assignment of each key, in file order, and whether it
    /// has been taken. A section has a few keys: a list beats a hash map.
    entries: Vec<(&'a str, &'b Assign<'a>, bool)>,
    /// Every key asked for: the keys this section may hold.
    known: Vec<&'static str>,
}

/// Sections up to this size find duplicate keys by looking through the
/// keys already read; larger ones use a set, so that a huge section in a
/// bad file is not quadratic.
const SMALL_SECTION: usize = 32;

impl<'a, 'b> Fields<'a, 'b> {
    fn new(assigns: &'b [Assign<'a>], sink: &mut Sink) -> Fields<'a, 'b> {
        let mut entries: Vec<(&'a str, &'b Assign<'a>, bool)> = Vec::with_capacity(assigns.len());
        let mut seen = HashSet::new();
        for a in assigns {
            let k = a.key.text;
            let duplicate = if assigns.len() <= SMALL_SECTION {
                entries.iter().any(|(key, ..)| *key == k)
            } else {
                !seen.insert(k)
            };
            if duplicate {
                sink.error(a.key.pos, format!("duplicate key `{k}`"));
                continue;
            }
            entries.push((k, a, false));
        }
        Fields { entries, known: Vec::with_capacity(24) }
    }

    fn take(&mut self, key: &'static str) -> Option<&'b Assign<'a>> {
        self.known.push(key);
        let entry = self.entries.iter_mut().find(|(k, _, taken)| *k == key && !taken)?;
        entry.2 = true;
        Some(entry.1)
    }

    /// Reports the keys not taken; `section` names the section, formatted
    /// only if there is one (most sections have none).
    fn unknown(self, sink: &mut Sink, section: impl FnOnce() -> String) {
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
fn args<'a, 'b>(a: &'b Assign<'a>, n: usize, sink: &mut Sink) -> Option<&'b [Tok<'a>]> {
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

fn one<'a, 'b>(a: &'b Assign<'a>, sink: &mut Sink) -> Option<&'b Tok<'a>> {
    args(a, 1, sink).and_then(|t| t.first())
}

struct Reader<'s> {
    sink: &'s mut Sink,
}

impl Reader<'_> {
    fn rec(&mut self, (loc, path): At, t: &Tok) {
        self.sink.loc_path(loc, path, t.pos);
    }

    fn string(&mut self, a: Option<&Assign>, path: At) -> Option<String> {
        let t = one(a?, self.sink)?;
        self.rec(path, t);
        Some(t.text.to_owned())
    }

    fn int(&mut self, a: Option<&Assign>, path: At, min: i64, max: i64) -> Option<i64> {
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

    fn boolean(&mut self, a: Option<&Assign>, path: At) -> Option<bool> {
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

    fn secs(&mut self, a: Option<&Assign>, path: At) -> Option<Millis> {
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

    fn host_tok(&mut self, a: &Assign, t: &Tok) -> Option<IpAddr> {
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

    fn host(&mut self, a: Option<&Assign>, path: At) -> Option<IpAddr> {
        let a = a?;
        let t = one(a, self.sink)?;
        self.rec(path, t);
        self.host_tok(a, t)
    }

    fn port(&mut self, a: Option<&Assign>, path: At) -> Option<u16> {
        let a = a?;
        let t = one(a, self.sink)?;
        self.rec(path, t);
        let parsed = match values::c_int(t.text) {
            Some(n) => u16::try_from(n).map_err(|_| format!("port {n} is out of range (0-65535)")),
            None => values::port(t.text),
        };
        parsed.map_err(|e| self.sink.error(t.pos, format!("`{}`: {e}", a.key.text))).ok()
    }

    fn mask(&mut self, a: Option<&Assign>, path: At, v6: Option<bool>) -> Option<u8> {
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

    fn choice<T: Copy>(&mut self, a: Option<&Assign>, path: At, table: &[(&str, T)]) -> Option<T> {
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
    fn address_dev(&mut self, a: &Assign, (loc, path): At) -> Option<(IpAddr, String)> {
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

    fn ignored(&mut self, a: Option<&Assign>, why: &str) {
        if let Some(a) = a {
            self.sink.warn(a.key.pos, format!("`{}` {why}", a.key.text));
        }
    }

    /// A key piranha parses and then ignores: its syntax is still checked.
    fn unused(&mut self, a: Option<&Assign>) {
        self.unused_because(a, "is parsed but has no effect, as in piranha 0.8.6");
    }

    /// A key accepted but without effect here: syntax checked, then a warning.
    fn unused_because(&mut self, a: Option<&Assign>, why: &str) {
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

/// piranha's default check on port 80 when nothing else is configured.
const HTTP_SEND: &str = "GET / HTTP/1.0\r\n\r\n";

/// Parses lvs.cf text into a config; problems go to `sink`.
pub(crate) fn parse(text: &str, sink: &mut Sink) -> Option<Config> {
    let (globals, blocks, saw_statement) = structure(text, sink);
    if !saw_statement {
        sink.error(Pos::new(1, 1), "empty configuration");
        return None;
    }
    sink.record_root(Pos::new(1, 1));
    let g = sink.root();
    let mut f = Fields::new(&globals, sink);
    let mut r = Reader { sink };
    let service = r
        .choice(
            f.take("service"),
            (g, "service"),
            &[("lvs", ServiceMode::Lvs), ("fos", ServiceMode::Fos)],
        )
        .unwrap_or_default();
    let serial_no =
        r.int(f.take("serial_no"), (g, "serial_no"), 0, i64::MAX).map_or(0, |v| v as u64);

    let primary_a = f.take("primary");
    let primary = r.host(primary_a, (g, "routers.primary.address"));
    if primary_a.is_none() {
        r.sink.error(
            Pos::new(1, 1),
            "missing `primary`: the address of the primary router is required",
        );
    }
    let primary_private = r.host(f.take("primary_private"), (g, "routers.primary.private"));
    let primary_shared = r.string(f.take("primary_shared"), (g, "routers.primary.shared_disk"));
    let backup =
        r.host(f.take("backup"), (g, "routers.backup.address")).filter(|a| !a.is_unspecified());
    let backup_private_a = f.take("backup_private");
    let backup_private = r.host(backup_private_a, (g, "routers.backup.private"));
    let backup_shared = r.string(f.take("backup_shared"), (g, "routers.backup.shared_disk"));
    if backup.is_none() {
        if let Some(a) = backup_private_a {
            r.sink.error(a.key.pos, "`backup_private` is set but there is no `backup`");
        }
    }
    let backup_active_a = f.take("backup_active");
    let backup_active = r.boolean(backup_active_a, (g, "backup_active")).unwrap_or(false);
    if backup_active && backup.is_none() {
        r.ignored(backup_active_a, "has no effect without a `backup` router (piranha clears it)");
    }
    r.unused(f.take("heartbeat"));
    let mut heartbeat = Heartbeat { protocol: HeartbeatProtocol::Piranha, ..Heartbeat::default() };
    if let Some(p) = r.port(f.take("heartbeat_port"), (g, "heartbeat.port")) {
        heartbeat.port = p;
    }
    if let Some(k) = r.secs(f.take("keepalive"), (g, "heartbeat.keepalive")) {
        heartbeat.keepalive = k;
    }
    if let Some(d) = r.secs(f.take("deadtime"), (g, "heartbeat.deadtime")) {
        heartbeat.deadtime = d;
    }
    let reservation_conflict_action = r.choice(
        f.take("reservation_conflict_action"),
        (g, "reservation_conflict_action"),
        &[
            ("nothing", ReservationConflictAction::Nothing),
            ("preempt", ReservationConflictAction::Preempt),
        ],
    );
    let rsh_command = r
        .choice(
            f.take("rsh_command"),
            (g, "rsh_command"),
            &[("rsh", RemoteShell::Rsh), ("ssh", RemoteShell::Ssh)],
        )
        .unwrap_or_default();
    let network = r.choice(f.take("network"), (g, "network"), values::FORWARD).unwrap_or_default();
    let nat_router = f.take("nat_router").and_then(|a| r.address_dev(a, (g, "nat_router")));
    let nat_nmask_a = f.take("nat_nmask");
    let nat_nmask = r.mask(
        nat_nmask_a,
        (g, "nat_router.netmask"),
        nat_router.as_ref().map(|(ip, _)| ip.is_ipv6()),
    );
    if nat_router.is_none() && nat_nmask.is_some() {
        r.ignored(nat_nmask_a, "has no effect without `nat_router`");
    }
    let mut paths = Paths::default();
    if let Some(p) = r.string(f.take("ipvsadm"), (g, "paths.ipvsadm")) {
        paths.ipvsadm = PathBuf::from(p);
    }
    r.unused(f.take("debug_level"));
    r.unused(f.take("sync"));
    let syncdaemon = r.boolean(f.take("syncdaemon"), (g, "sync_daemon")).unwrap_or(false);
    let iface_a = f.take("syncd_iface");
    let syncd_iface = r.string(iface_a, (g, "sync_daemon.interface"));
    let id_a = f.take("syncd_id");
    let syncd_id = r.int(id_a, (g, "sync_daemon.sync_id"), 0, 255).map(|v| v as u8);
    if !syncdaemon {
        r.ignored(iface_a, "has no effect without `syncdaemon = 1`");
        r.ignored(id_a, "has no effect without `syncdaemon = 1`");
    }
    let sync_daemon = syncdaemon.then(|| SyncDaemon {
        interface: syncd_iface.unwrap_or_else(|| "eth0".to_owned()),
        sync_id: syncd_id.unwrap_or(0),
    });
    let monitor_links = r
        .int(f.take("monitor_links"), (g, "monitor_links"), i64::MIN, i64::MAX)
        .is_some_and(|v| v != 0);
    let active_cmd = r.string(f.take("active_cmd"), (g, "active_cmd")).filter(|s| !s.is_empty());
    let inactive_cmd =
        r.string(f.take("inactive_cmd"), (g, "inactive_cmd")).filter(|s| !s.is_empty());
    let hard_shutdown = r.boolean(f.take("hard_shutdown"), (g, "hard_shutdown")).unwrap_or(true);
    let max = i64::from(i32::MAX);
    let ipvs_timeouts = IpvsTimeouts {
        tcp: r.int(f.take("tcp_timeout"), (g, "ipvs_timeouts.tcp"), 0, max).map_or(0, |v| v as u32),
        tcpfin: r
            .int(f.take("tcpfin_timeout"), (g, "ipvs_timeouts.tcpfin"), 0, max)
            .map_or(0, |v| v as u32),
        udp: r.int(f.take("udp_timeout"), (g, "ipvs_timeouts.udp"), 0, max).map_or(0, |v| v as u32),
    };
    f.unknown(r.sink, || "the global section".to_owned());

    let mut virtual_services = Vec::new();
    let mut failover_services = Vec::new();
    for b in &blocks {
        match b.kind {
            "virtual" => {
                let list = r.sink.loc_unread_path(g, "virtual_services");
                let path = r.sink.loc(list, virtual_services.len(), b.pos);
                if let Some(v) = virtual_service(b, path, &mut r) {
                    virtual_services.push(v);
                }
            }
            _ => {
                let list = r.sink.loc_unread_path(g, "failover_services");
                let path = r.sink.loc(list, failover_services.len(), b.pos);
                if let Some(fs) = failover_service(b, path, &mut r) {
                    failover_services.push(fs);
                }
            }
        }
    }

    // Stand-ins keep validation going; their problem is already reported.
    let primary = primary.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let routers = Routers::Pair {
        primary: Router {
            address: primary,
            private: primary_private,
            shared_disk: primary_shared.map(PathBuf::from),
        },
        backup: backup.map(|address| Router {
            address,
            // piranha: backup_private defaults to backup only when
            // primary_private is absent too; otherwise there is none.
            private: backup_private,
            shared_disk: backup_shared.map(PathBuf::from),
        }),
    };
    Some(Config {
        service,
        serial_no,
        routers,
        backup_active,
        preempt: false,
        heartbeat,
        arp: Arp::default(),
        network,
        nat_router: nat_router.map(|(address, interface)| NatRouter {
            address,
            interface,
            netmask: nat_nmask,
        }),
        sync_daemon,
        ipvs_timeouts,
        active_cmd,
        inactive_cmd,
        monitor_links,
        hard_shutdown,
        rsh_command,
        reservation_conflict_action,
        paths,
        http: None,
        virtual_services,
        failover_services,
    })
}

/// A stand-in for a missing or invalid `address`, already reported.
fn placeholder_vip() -> Vip {
    Vip {
        address: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        interface: String::new(),
        netmask: None,
    }
}

/// The check keys shared by `virtual` and `failover` blocks.
fn check(f: &mut Fields, path: Loc, vport: u16, r: &mut Reader) -> HealthCheck {
    let mut h = HealthCheck::default();
    if let Some(t) = r.secs(f.take("timeout"), (path, "interval")) {
        // piranha's `timeout` is both the interval and the limit of a check.
        h.interval = t;
    }
    if let Some(t) = r.secs(f.take("reentry"), (path, "reentry")) {
        h.reentry = t;
    }
    let send_a = f.take("send");
    let send = r.string(send_a, (path, "send")).map(|s| values::unescape(&s));
    // nanny translates the escapes of `expect` in every mode.
    let expect = r.string(f.take("expect"), (path, "expect")).map(|e| values::unescape(&e));
    let regex = r.boolean(f.take("use_regex"), (path, "regex")).unwrap_or(false);
    let program = r.string(f.take("send_program"), (path, "command"));
    h.kind = match program {
        Some(command) => {
            r.ignored(send_a, "is ignored because `send_program` is set");
            CheckKind::Program { command, expect }
        }
        None if send.is_none() && expect.is_none() && vport == 80 => CheckKind::Connect {
            send: Some(HTTP_SEND.to_owned()),
            expect: Some("HTTP".to_owned()),
            regex: false,
        },
        None => CheckKind::Connect { send, expect, regex },
    };
    h
}

fn vip(b: &Block, f: &mut Fields, path: Loc, r: &mut Reader) -> Option<Vip> {
    let a = f.take("address");
    let Some(a) = a else {
        r.sink.error(b.pos, format!("`{} {}` has no `address = IP DEVICE`", b.kind, b.name.text));
        return None;
    };
    let addr = r.address_dev(a, (path, "vip"));
    let v6 = addr.as_ref().map(|(ip, _)| ip.is_ipv6());
    let netmask = r.mask(f.take("vip_nmask"), (path, "vip.netmask"), v6);
    let (address, interface) = addr?;
    Some(Vip { address, interface, netmask })
}

fn virtual_service(b: &Block, path: Loc, r: &mut Reader) -> Option<VirtualService> {
    r.sink.loc(path, "name", b.name.pos);
    let mut f = Fields::new(&b.assigns, r.sink);
    let vip = vip(b, &mut f, path, r);
    let active = r.boolean(f.take("active"), (path, "active")).unwrap_or(false);
    let port_a = f.take("port");
    let vport = r.port(port_a, (path, "port")).unwrap_or(80);
    let fwmark = r
        .int(f.take("fwmark"), (path, "fwmark"), 0, i64::from(u32::MAX))
        .filter(|m| *m != 0)
        .map(|m| m as u32);
    let protocol =
        r.choice(f.take("protocol"), (path, "protocol"), values::PROTOCOLS).unwrap_or_default();
    let scheduler =
        r.string(f.take("scheduler"), (path, "scheduler")).map(Scheduler).unwrap_or_default();
    let v6 = vip.as_ref().map(|v| v.address.is_ipv6());
    let persistent =
        r.int(f.take("persistent"), (path, "persistence.timeout"), 0, i64::from(u32::MAX));
    let pmask_a = f.take("pmask");
    let pmask = r.mask(pmask_a, (path, "persistence.netmask"), v6);
    let persistence = match persistent {
        Some(t) if t > 0 => Some(Persistence { timeout: t as u32, netmask: pmask }),
        _ => {
            r.ignored(pmask_a, "has no effect without `persistent`");
            None
        }
    };
    let check_at = r.sink.loc_unread_path(path, "check");
    let mut check = check(&mut f, check_at, vport, r);
    check.load_monitor = r
        .choice(f.take("load_monitor"), (path, "check.load_monitor"), values::LOAD)
        .unwrap_or_default();
    check.quiesce = r.boolean(f.take("quiesce_server"), (path, "check.quiesce")).unwrap_or(false);
    let sorry_server = r
        .host(f.take("sorry_server"), (path, "sorry_server"))
        .filter(|a| !a.is_unspecified())
        .map(|a| SocketAddr::new(a, vport));
    let monitor = r.string(f.take("client_monitor"), (path, "monitor")).map(PathBuf::from);
    r.unused(f.take("master"));
    r.unused(f.take("dirs"));
    r.unused_because(f.take("start_cmd"), "has no effect in a virtual service");
    r.unused_because(f.take("stop_cmd"), "has no effect in a virtual service");
    f.unknown(r.sink, || format!("`virtual {}`", b.name.text));

    // piranha: a server's port defaults to the virtual port as it was when
    // the `server` line was read.
    let port_line = port_a.map(|a| a.key.pos.line);
    let mut real_servers = Vec::new();
    let list = r.sink.loc_unread_path(path, "real_servers");
    for (j, s) in b.servers.iter().enumerate() {
        let rp = r.sink.loc(list, j, s.pos);
        let default_port = match port_line {
            Some(l) if l < s.pos.line => vport,
            _ => 80,
        };
        if let Some(rs) = real_server(s, rp, default_port, r) {
            real_servers.push(rs);
        }
    }
    Some(VirtualService {
        name: b.name.text.to_owned(),
        active,
        vip: vip.unwrap_or_else(placeholder_vip),
        port: vport,
        fwmark,
        protocol,
        scheduler,
        scheduler_flags: Vec::new(),
        persistence,
        one_packet: false,
        sorry_server,
        monitor,
        check,
        real_servers,
    })
}

fn real_server(b: &Block, path: Loc, default_port: u16, r: &mut Reader) -> Option<RealServer> {
    r.sink.loc(path, "name", b.name.pos);
    let mut f = Fields::new(&b.assigns, r.sink);
    let addr_a = f.take("address");
    let address = r.host(addr_a, (path, "address"));
    if addr_a.is_none() {
        r.sink.error(b.pos, format!("`server {}` has no `address`", b.name.text));
    }
    let active = r.boolean(f.take("active"), (path, "active")).unwrap_or(false);
    let weight = r.int(f.take("weight"), (path, "weight"), 0, 65535).map_or(1, |w| w as u32);
    let port = r.port(f.take("port"), (path, "port")).unwrap_or(default_port);
    f.unknown(r.sink, || format!("`server {}`", b.name.text));
    for nested in &b.servers {
        r.sink.error(nested.pos, "`server` block inside a `server` block");
    }
    Some(RealServer {
        name: b.name.text.to_owned(),
        address: address.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
        port,
        weight,
        forwarding: None,
        upper_threshold: 0,
        lower_threshold: 0,
        active,
    })
}

fn failover_service(b: &Block, path: Loc, r: &mut Reader) -> Option<FailoverService> {
    r.sink.loc(path, "name", b.name.pos);
    let mut f = Fields::new(&b.assigns, r.sink);
    let vip = vip(b, &mut f, path, r);
    let active = r.boolean(f.take("active"), (path, "active")).unwrap_or(false);
    let port = r.port(f.take("port"), (path, "port")).unwrap_or(80);
    let protocol =
        r.choice(f.take("protocol"), (path, "protocol"), values::PROTOCOLS).unwrap_or_default();
    let check_at = r.sink.loc_unread_path(path, "check");
    let check = check(&mut f, check_at, port, r);
    let monitor = r.string(f.take("client_monitor"), (path, "monitor")).map(PathBuf::from);
    let start_a = f.take("start_cmd");
    let stop_a = f.take("stop_cmd");
    let start_cmd = r.string(start_a, (path, "start_cmd")).filter(|s| !s.trim().is_empty());
    let stop_cmd = r.string(stop_a, (path, "stop_cmd")).filter(|s| !s.trim().is_empty());
    for (a, key) in [(start_a, "start_cmd"), (stop_a, "stop_cmd")] {
        match a {
            None => r.sink.error(b.pos, format!("`failover {}` has no `{key}`", b.name.text)),
            Some(a) if a.values.len() == 1 && a.values[0].text.trim().is_empty() => {
                r.sink.error(a.values[0].pos, format!("`{key}` is empty"))
            }
            _ => {}
        }
    }
    for key in [
        "fwmark",
        "scheduler",
        "persistent",
        "pmask",
        "load_monitor",
        "quiesce_server",
        "sorry_server",
        "master",
        "dirs",
    ] {
        r.unused_because(f.take(key), "has no effect in a failover service");
    }
    f.unknown(r.sink, || format!("`failover {}`", b.name.text));
    for s in &b.servers {
        r.sink.warn(s.pos, "`server` blocks have no effect in a failover service");
    }
    Some(FailoverService {
        name: b.name.text.to_owned(),
        active,
        vip: vip.unwrap_or_else(placeholder_vip),
        port,
        protocol,
        check,
        monitor,
        start_cmd: start_cmd.unwrap_or_default(),
        stop_cmd: stop_cmd.unwrap_or_default(),
    })
}
