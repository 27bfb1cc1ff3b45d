//! A fast reader for the plain block YAML that configuration files are
//! written in, building the same positioned tree as `saphyr-parser`.
//!
//! A large cluster (37,000 real servers, 2.4 MB) took `saphyr-parser` about
//! 100 ms on the host, several times that in a slow VM, far too much for a
//! sub-second reload. Most files use a small part of YAML: block mappings
//! and sequences, one entry per line, plain or simply double-quoted
//! scalars, one-line flow mappings and sequences, comment lines. This
//! reader handles exactly that part, in one pass over the lines, and gives
//! up (returns `None`) at the first thing outside it, leaving the file to
//! the full parser. It never reports anything itself: a file it accepts is
//! one the full parser reads without a problem into the same tree (same
//! nodes, texts and positions, as the tests check), so diagnostics and the
//! model cannot differ.
//!
//! Outside the subset (the full parser takes over): tabs, carriage
//! returns and non-ASCII characters; comments after content; anchors,
//! aliases, tags, directives and document markers; single-quoted, escaped
//! and block scalars; multi-line scalars; nested flow collections; keys
//! that are not words; a `-` alone on its line; anything unusual.

use super::tree::Tree;
use crate::diag::Pos;

/// Deepest nesting handled here, well under the full parser's limit.
const MAX_DEPTH: usize = 32;
/// Most nodes handled here, well under the full parser's limit.
const MAX_NODES: usize = 10_000_000;

/// Bytes that have no place in the subset anywhere: outside printable
/// ASCII (but for the line feed), and the indicators of anchors, aliases,
/// tags, block and single-quoted scalars, escapes and reserved characters.
/// A table, as this is the one test made on every byte of the file.
const OUTSIDE: [bool; 256] = {
    let mut t = [true; 256];
    let mut b = 0x20;
    while b < 0x7f {
        t[b] = false;
        b += 1;
    }
    t[b'\n' as usize] = false;
    let indicators = b"&*!|>'\\`?";
    let mut i = 0;
    while i < indicators.len() {
        t[indicators[i] as usize] = true;
        i += 1;
    }
    t
};

/// One line with content: its number, indentation and the text after it.
#[derive(Clone, Copy)]
struct Line<'a> {
    no: usize,
    indent: usize,
    rest: &'a str,
}

/// Reads `text` into a tree, or `None` if it is not in the subset.
pub(crate) fn parse(text: &str) -> Option<Tree<'_>> {
    if text.bytes().any(|b| OUTSIDE[usize::from(b)]) {
        return None;
    }
    // Scalars are kept as 32-bit ranges of the text (the loader refuses
    // files of more than 16 MiB anyway).
    u32::try_from(text.len()).ok()?;
    let mut lines = Lines { rest: Some(text), no: 0, current: None, outside: false };
    if lines.peek()?.indent != 0 {
        return None;
    }
    let mut r = Reader { lines, depth: 0, tree: Tree::new_for(text) };
    r.block(0)?;
    if r.lines.peek().is_some() || r.lines.outside || r.tree.len() > MAX_NODES {
        return None;
    }
    Some(r.tree)
}

/// The lines with content of a text, read as the reader asks for them
/// (a vector of them was a tenth of a large file's memory).
struct Lines<'a> {
    /// The text after the lines read so far; `None` after the last one.
    rest: Option<&'a str>,
    /// The number of the last line read.
    no: usize,
    /// The next line with content, once looked at.
    current: Option<Line<'a>>,
    /// Set at a line outside the subset, which ends the lines.
    outside: bool,
}

impl<'a> Lines<'a> {
    /// The next line with content, without taking it.
    fn peek(&mut self) -> Option<Line<'a>> {
        if self.current.is_none() {
            self.current = self.read();
        }
        self.current
    }

    /// Takes the line [`Lines::peek`] gave.
    fn advance(&mut self) {
        self.current = None;
    }

    fn read(&mut self) -> Option<Line<'a>> {
        while !self.outside {
            let text = self.rest?;
            let line = match text.find('\n') {
                Some(end) => {
                    self.rest = Some(&text[end + 1..]);
                    &text[..end]
                }
                None => {
                    self.rest = None;
                    text
                }
            };
            self.no += 1;
            let content = line.trim_start_matches(' ');
            if content.is_empty() || content.trim_end_matches(' ').is_empty() {
                continue;
            }
            if content.starts_with('#') {
                continue; // a comment line
            }
            if content.contains('#') {
                self.outside = true; // a comment after content, or `#` in a value
                return None;
            }
            let indent = line.len() - content.len();
            return Some(Line { no: self.no, indent, rest: content.trim_end_matches(' ') });
        }
        None
    }
}

struct Reader<'a> {
    lines: Lines<'a>,
    depth: usize,
    tree: Tree<'a>,
}

fn pos(line: &Line, col: usize) -> Pos {
    Pos::new(line.no, col + 1)
}

/// Longest key handled here: YAML limits an implicit key to 1,024
/// characters, and the full parser says so.
const MAX_KEY: usize = 128;

/// A key: a word of letters, digits and `_`, then `:` and a blank or the
/// end of the line. Returns the key and what follows the `:`.
fn key(rest: &str) -> Option<(&str, &str)> {
    let end = rest.bytes().position(|b| !(b.is_ascii_alphanumeric() || b == b'_'))?;
    let (k, after) = rest.split_at(end);
    let after = after.strip_prefix(':')?;
    if k.is_empty() || k.len() > MAX_KEY || !(after.is_empty() || after.starts_with(' ')) {
        return None;
    }
    Some((k, after))
}

/// Whether `b` may be in a plain scalar here (`flow`: inside `{}`/`[]`).
fn plain_char(b: u8, flow: bool) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(b, b'_' | b'.' | b'/' | b'%' | b'@' | b'+' | b'=' | b'(' | b')' | b'~' | b'-')
        || (!flow && b == b',')
}

/// Whether `b` may start a plain scalar, or a word after a blank in one.
fn word_start(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'/')
}

/// The length of the plain scalar at the start of `s`, which must be all
/// of it outside flow collections; `None` if it is not one of the subset.
/// A plain scalar starts with a letter, digit, `_`, `/` or `~`; a `:` must
/// be followed by a scalar character or another `:`; an inner blank is a
/// single space before another word (a trailing blank is never part of it).
fn plain_len(s: &str, flow: bool) -> Option<usize> {
    let b = s.as_bytes();
    if !word_start(*b.first()?) && b[0] != b'~' {
        return None;
    }
    let mut i = 1;
    while i < b.len() {
        let c = b[i];
        if plain_char(c, flow) {
            i += 1;
        } else if c == b' ' {
            // Only single blanks between a scalar character and a word or
            // an option (`cmd -x %h` is fine, but not `a -` nor `a  b`).
            let next_word = match b.get(i + 1) {
                Some(b'-' | b'%') => b.get(i + 2).is_some_and(u8::is_ascii_alphanumeric),
                Some(&n) => word_start(n),
                None => false,
            };
            if !(next_word && plain_char(b[i - 1], flow)) {
                break;
            }
            i += 1;
        } else if c == b':' {
            // Only inside a word (`eth0:1`, `2001:db8::1`), never before a
            // blank or at the end, where it would make a key.
            match b.get(i + 1) {
                Some(&n) if plain_char(n, flow) || n == b':' => i += 1,
                _ => return None,
            }
        } else {
            break;
        }
    }
    Some(i)
}

/// The length of the double-quoted scalar at the start of `s` (quotes
/// included); escapes are outside the subset (`\` was refused already).
fn quoted_len(s: &str) -> Option<usize> {
    let body = s.strip_prefix('"')?;
    body.find('"').map(|n| n + 2)
}

impl<'a> Reader<'a> {
    fn peek(&mut self) -> Option<Line<'a>> {
        self.lines.peek()
    }

    fn deeper(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth < MAX_DEPTH).then_some(())
    }

    /// The block node whose first line is the next one, at `indent`.
    fn block(&mut self, indent: usize) -> Option<()> {
        let line = self.peek()?;
        if line.indent != indent {
            return None;
        }
        if line.rest.starts_with("- ") {
            self.seq(indent, false)
        } else {
            self.map(indent)
        }
    }

    /// A block mapping whose keys are at `indent`, from the next line.
    fn map(&mut self, indent: usize) -> Option<()> {
        self.deeper()?;
        let start = self.peek()?;
        let me = self.tree.open(pos(&start, indent), true);
        let mut children = 0;
        while let Some(line) = self.peek() {
            if line.indent < indent {
                break;
            }
            if line.indent > indent {
                return None; // a continuation line or a bad indentation
            }
            let (k, after) = key(line.rest)?;
            self.tree.scalar(pos(&line, indent), k, true);
            let colon = indent + k.len();
            let value = after.trim_start_matches(' ');
            self.lines.advance();
            if value.is_empty() {
                match self.peek() {
                    Some(next) if next.indent > indent => self.block(next.indent)?,
                    Some(next) if next.indent == indent && next.rest.starts_with("- ") => {
                        self.seq(indent, true)?
                    }
                    _ => self.tree.scalar(pos(&line, colon), "", true),
                }
            } else {
                let col = line.indent + line.rest.len() - value.len();
                self.inline(&line, col, value)?
            }
            children += 2;
        }
        self.depth -= 1;
        self.tree.close(me, children);
        Some(())
    }

    /// A block sequence whose dashes are at `indent`, from the next line.
    /// `indentless`: the value of a mapping key at the same indentation,
    /// which the full parser places at its first item's content.
    fn seq(&mut self, indent: usize, indentless: bool) -> Option<()> {
        self.deeper()?;
        // Placed at its first item, once known.
        let me = self.tree.open(Pos::default(), false);
        let mut children = 0;
        while let Some(line) = self.peek() {
            if line.indent < indent || (line.indent == indent && !line.rest.starts_with("- ")) {
                break;
            }
            if line.indent > indent {
                return None;
            }
            let content = line.rest[1..].trim_start_matches(' ');
            let col = indent + line.rest.len() - content.len();
            if children == 0 {
                self.tree.set_pos(me, pos(&line, if indentless { col } else { indent }));
            }
            if content.starts_with("- ") {
                return None; // a sequence in a sequence on one line
            } else if key(content).is_some() {
                // A mapping that starts on the dash's line: read it as if
                // its first key began the line.
                self.lines.current = Some(Line { no: line.no, indent: col, rest: content });
                self.map(col)?;
            } else {
                self.lines.advance();
                self.inline(&line, col, content)?;
            }
            children += 1;
        }
        if children == 0 {
            return None;
        }
        self.depth -= 1;
        self.tree.close(me, children);
        Some(())
    }

    /// A value that is the rest of `line` from column `col`: a scalar or a
    /// one-line flow collection.
    fn inline(&mut self, line: &Line<'a>, col: usize, value: &'a str) -> Option<()> {
        let used = self.flow_node(line, col, value, false)?;
        (used == value.len()).then_some(())
    }

    /// A node at the start of `s` (at column `col` of `line`); returns the
    /// length it takes. `flow`: inside a flow collection.
    fn flow_node(&mut self, line: &Line<'a>, col: usize, s: &'a str, flow: bool) -> Option<usize> {
        let at = pos(line, col);
        match s.as_bytes().first()? {
            b'{' | b'[' if flow => None, // nested flow collections
            b'{' => self.flow_collection(line, col, s, true),
            b'[' => self.flow_collection(line, col, s, false),
            b'"' => {
                let n = quoted_len(s)?;
                self.tree.scalar(at, &s[1..n - 1], false);
                Some(n)
            }
            _ => {
                let n = plain_len(s, flow)?;
                self.tree.scalar(at, &s[..n], true);
                Some(n)
            }
        }
    }

    /// `{ key: value, ... }` (`map`) or `[ value, ... ]` on one line;
    /// returns the length it takes.
    fn flow_collection(
        &mut self,
        line: &Line<'a>,
        col: usize,
        s: &'a str,
        map: bool,
    ) -> Option<usize> {
        let me = self.tree.open(pos(line, col), map);
        let close = if map { b'}' } else { b']' };
        let mut children = 0;
        let mut i = 1;
        let skip = |i: &mut usize| {
            while s.as_bytes().get(*i) == Some(&b' ') {
                *i += 1;
            }
        };
        skip(&mut i);
        if s.as_bytes().get(i) != Some(&close) {
            loop {
                if map {
                    let (k, after) = key(&s[i..])?;
                    self.tree.scalar(pos(line, col + i), k, true);
                    i = s.len() - after.len();
                    skip(&mut i);
                    children += 1;
                }
                i += self.flow_node(line, col + i, &s[i..], true)?;
                skip(&mut i);
                children += 1;
                match s.as_bytes().get(i)? {
                    b',' => {
                        i += 1;
                        skip(&mut i);
                    }
                    &b if b == close => break,
                    _ => return None,
                }
            }
        }
        self.tree.close(me, children);
        Some(i + 1)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::diag::Sink;

    /// The property that makes this reader safe: whatever it accepts, the
    /// full parser reads without a problem into the same tree.
    fn same_as_full(text: &str) -> bool {
        let Some(fast) = parse(text) else { return false };
        let mut sink = Sink::new("t");
        let full = super::super::tree::parse(text, &mut sink);
        assert_eq!(sink.diags, vec![], "the full parser complains about:\n{text}");
        let full = full.as_ref().and_then(|t| t.root());
        assert_eq!(full, fast.root(), "different trees for:\n{text}");
        true
    }

    #[test]
    fn the_usual_shapes_are_read_here() {
        let text = "\
# a comment
service: lvs
routers:
  primary:
    address: 192.0.2.1
heartbeat: { protocol: piranha }
empty:
  # an indented comment

list:
- a
- b: 1
  c:
- { x: 1 }
virtual_services:
  - name: vs0
    vip: { address: 10.100.0.0, interface: eth0:1 }
    check: {}
    scheduler_flags: [sh-port, flag-1]
    sorry_server: 2001:db8::1
    monitor: /usr/bin/x -v %h
    name2: \"80\"
    real_servers:
      - { name: r0, address: 10.200.0.1, weight: 1 }
      -   name: x
          y: z
      - \"quoted\"
  - name: t
    list:
    - 1
last: [ ]
";
        assert!(same_as_full(text));
    }

    #[test]
    fn the_writers_output_is_read_here() {
        // A converted lvs.cf (`lvsd --check-config`), as large clusters
        // are likely to be written.
        let mut cf = String::from("primary = 192.0.2.1\nservice = lvs\nnetwork = nat\n");
        for i in 0..3 {
            cf.push_str(&format!(
                "virtual vs{i} {{\n active = 1\n address = 10.100.0.{i} eth0:1\n port = 8080\n scheduler = rr\n client_monitor = /usr/sbin/nanny\n timeout = 5\n"
            ));
            for k in 0..3 {
                cf.push_str(&format!(
                    " server r{k} {{\n  address = 10.200.0.{k}\n  active = 1\n  weight = 1\n }}\n"
                ));
            }
            cf.push_str("}\n");
        }
        let (config, diags) = crate::parse_str(&cf, "t.cf", crate::Format::LvsCf);
        let config = config.unwrap_or_else(|| panic!("{diags:?}"));
        let yaml = crate::to_yaml(&config);
        assert!(same_as_full(&yaml), "not read here:\n{yaml}");
    }

    #[test]
    fn the_rest_is_left_to_the_full_parser() {
        for text in [
            "a: b # comment\n",
            "a: 'b'\n",
            "a: \"b\\n\"\n",
            "a: &x b\nc: *x\n",
            "a: !!str b\n",
            "a: |\n  b\n",
            "a: b\n  c\n",
            "---\na: b\n",
            "a:\n\tb: c\n",
            "a: b\r\n",
            "a: é\n",
            "a:\n-\n",
            "a: -1\n",
            "a: { b: { c: d } }\n",
            "a: b:\n",
            "a: b: c\n",
            "a b: c\n",
            "  a: b\n",
            "? a\n: b\n",
        ] {
            assert!(parse(text).is_none(), "{text}");
        }
        let long = "k".repeat(1100);
        for text in
            [format!("{long}: b\n"), format!("a: {{ {long}: b }}\n"), format!("- {long}: b\n")]
        {
            assert!(parse(&text).is_none(), "a key of 1,100 characters");
        }
    }

    /// Words to build documents from, some outside the subset.
    const WORDS: &[&str] = &[
        "",
        "a",
        "b1",
        "eth0:1",
        "2001:db8::1",
        "::1",
        "a b",
        "a  b",
        "x,y",
        "~",
        "null",
        "\"q\"",
        "\"a b\"",
        "\"\"",
        "-1",
        "1.5",
        "/usr/bin/x %h",
        "a:",
        "a: b",
        "{}",
        "[]",
        "{ k: v }",
        "[a, b]",
        "[ a ]",
        "{k: v,}",
        "http://x",
        "a:b",
        "_",
        "@x",
        "%x",
        "a #b",
        "a=(b)",
        "a -",
        "a -b",
        "a:-",
        "-",
        "a: -b",
        "x/-",
        "c -x %h",
        "c - x",
        "c %",
        "c -",
    ];

    fn word() -> impl Strategy<Value = String> {
        proptest::sample::select(WORDS).prop_map(str::to_owned)
    }

    /// A random document: nested block mappings and sequences (indented
    /// or not), values from `WORDS`, comment and blank lines.
    fn doc() -> impl Strategy<Value = String> {
        let leaf = word().prop_map(|w| (w, false));
        let tree = leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(
                    (
                        proptest::sample::select(&["a", "b", "key", "k_2", "80"][..]),
                        inner.clone(),
                        any::<bool>()
                    ),
                    1..4
                )
                .prop_map(|entries| {
                    let mut s = String::new();
                    for (k, (v, block), indentless) in entries {
                        if block {
                            // A sequence may sit at its key's indentation.
                            let pad = if indentless && v.starts_with('-') { "" } else { "  " };
                            s.push_str(&format!("{k}:\n"));
                            for l in v.lines() {
                                s.push_str(&format!("{pad}{l}\n"));
                            }
                        } else {
                            s.push_str(&format!("{k}: {v}\n"));
                        }
                    }
                    (s, true)
                }),
                (proptest::collection::vec(inner, 1..4), any::<bool>()).prop_map(
                    |(items, wide)| {
                        let mut s = String::new();
                        for (v, block) in items {
                            let dash = if wide { "-   " } else { "- " };
                            let pad = " ".repeat(dash.len());
                            let mut lines = v.lines();
                            if let Some(first) = lines.next() {
                                s.push_str(&format!("{dash}{first}\n"));
                            }
                            for l in lines {
                                if block {
                                    s.push_str(&format!("{pad}{l}\n"));
                                }
                            }
                        }
                        (s, true)
                    }
                ),
            ]
        });
        (tree, any::<bool>()).prop_map(|((s, block), comments)| {
            let s = if block { s } else { format!("k: {s}\n") };
            if comments {
                s.replace("\n", "\n  # c\n\n")
            } else {
                s
            }
        })
    }

    /// Small edits: a character inserted, deleted or replaced.
    fn edited() -> impl Strategy<Value = String> {
        (doc(), proptest::collection::vec((any::<usize>(), 0..3u8, 0..12usize), 0..4)).prop_map(
            |(mut s, edits)| {
                for (at, op, c) in edits {
                    let at = at % (s.len() + 1);
                    let c = [' ', '-', ':', '\n', '#', '{', '}', '[', ']', ',', '"', 'a'][c];
                    match op {
                        0 => s.insert(at, c),
                        1 if at < s.len() => {
                            s.remove(at);
                        }
                        _ if at < s.len() => s.replace_range(at..at + 1, &c.to_string()),
                        _ => {}
                    }
                }
                s
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        #[test]
        fn accepted_documents_read_as_the_full_parser_reads_them(text in doc()) {
            same_as_full(&text);
        }

        #[test]
        fn accepted_edits_read_as_the_full_parser_reads_them(text in edited()) {
            same_as_full(&text);
        }
    }
}
