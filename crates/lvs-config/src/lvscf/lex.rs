//! lvs.cf's lexical layer: lines (`\n`, `\r\n` or a lone `\r`), tokens
//! (blanks separate, `"..."`/`'...'` quote) and the statement structure
//! (global `key = value` lines, `virtual`/`failover` blocks and their
//! nested `server` blocks), each token with its position.

use crate::diag::{Pos, Sink};

/// A token and where it starts. The text borrows from the input: a
/// quoted token is the text between its quotes, exactly.
#[derive(Clone, Copy, Debug)]
pub(super) struct Tok<'a> {
    pub(super) text: &'a str,
    pub(super) quoted: bool,
    pub(super) pos: Pos,
}

/// `key = values...` on one line.
#[derive(Debug)]
pub(super) struct Assign<'a> {
    pub(super) key: Tok<'a>,
    pub(super) values: Values<'a>,
}

/// The values of an assignment. There are one or two nearly always: they
/// are kept inline, which saves an allocation per line of a large file.
#[derive(Debug)]
pub(super) enum Values<'a> {
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
pub(super) struct Block<'a> {
    pub(super) kind: &'a str,
    pub(super) name: Tok<'a>,
    pub(super) pos: Pos,
    pub(super) assigns: Vec<Assign<'a>>,
    pub(super) servers: Vec<Block<'a>>,
}

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
pub(super) fn structure<'a>(
    text: &'a str,
    sink: &mut Sink,
) -> (Vec<Assign<'a>>, Vec<Block<'a>>, bool) {
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
