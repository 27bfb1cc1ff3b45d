//! Diagnostics: every problem found in a file, each with its position.
//!
//! The front ends and the validator push [`Diagnostic`]s instead of stopping
//! at the first problem, so a user sees everything wrong with a file at once.

use std::fmt;

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The file is accepted; something is ignored or suspicious.
    Warning,
    /// The file is rejected.
    Error,
}

/// A position in a source file, 1-based. Line 0 means the whole file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub column: u32,
}

impl Pos {
    /// A position from 1-based line and column.
    pub fn new(line: usize, column: usize) -> Pos {
        Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }
}

/// One problem in a configuration file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// The file (or source name) it is in.
    pub file: String,
    /// Line, from 1; 0 when it is about the whole file (e.g. unreadable).
    pub line: u32,
    /// Column in characters, from 1; 0 with line 0.
    pub column: u32,
    /// Error or warning.
    pub severity: Severity,
    /// A plain lowercase message without a trailing full stop.
    pub message: String,
}

impl Diagnostic {
    /// The position of the diagnostic.
    pub fn pos(&self) -> Pos {
        Pos { line: self.line, column: self.column }
    }

    /// Whether this diagnostic rejects the file.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `file:line:col: error: message`, or `file: error: message` for line 0.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        if self.line == 0 {
            write!(f, "{}: {sev}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}:{}: {sev}: {}", self.file, self.line, self.column, self.message)
        }
    }
}

/// All diagnostics of a file that was rejected.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }
}

impl fmt::Display for Diagnostics {
    /// One diagnostic per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// A model path recorded in a [`Sink`]: a handle to extend it with
/// [`Sink::loc`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Loc(u32);

/// One step of a model path: a key (`vip`) or a list index (`[3]`).
/// Recorded steps are static model keys; lookups borrow the asked path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

impl From<&'static str> for Seg<'static> {
    fn from(key: &'static str) -> Seg<'static> {
        Seg::Key(key)
    }
}

impl From<usize> for Seg<'static> {
    fn from(i: usize) -> Seg<'static> {
        Seg::Index(i)
    }
}

/// A recorded path step: its parent, the step, and where it was read
/// (`None` for a parent that only its children gave).
#[derive(Clone, Copy, Debug)]
struct LocNode {
    parent: u32,
    seg: Seg<'static>,
    pos: Option<Pos>,
}

/// Collects diagnostics for one source, and where each model path was read
/// from so later checks can point at it.
///
/// The paths are kept as a tree of steps rather than as strings: a large
/// cluster records a few hundred thousand of them, and formatting and
/// hashing each as a string was most of the time of a load. A recorded
/// path costs one push here; the lookup structure is built only when a
/// check first asks where something is ([`Sink::at`]), which only happens
/// when it has something to report.
#[derive(Debug)]
pub(crate) struct Sink {
    file: String,
    pub(crate) diags: Vec<Diagnostic>,
    /// The recorded steps; the root (the empty path) is the first.
    locs: Vec<LocNode>,
    /// Built by the first [`Sink::at`]: (parent, step) to the first node of
    /// that path, and the position of each path (its first record).
    index: std::cell::OnceCell<LocIndex>,
    /// Set during validation: positions that already carry an error, where
    /// further remarks (about stand-in values) are dropped.
    errors_before: Option<std::collections::HashSet<Pos>>,
}

#[derive(Debug)]
struct LocIndex {
    children: std::collections::HashMap<(u32, Seg<'static>), u32>,
    pos: Vec<Option<Pos>>,
}

impl Sink {
    pub(crate) fn new(file: &str) -> Sink {
        Sink {
            file: file.to_owned(),
            diags: Vec::new(),
            locs: vec![LocNode { parent: 0, seg: Seg::Key(""), pos: None }],
            index: std::cell::OnceCell::new(),
            errors_before: None,
        }
    }

    pub(crate) fn push(&mut self, severity: Severity, pos: Pos, message: impl Into<String>) {
        if self.errors_before.as_ref().is_some_and(|e| e.contains(&pos)) {
            return;
        }
        self.diags.push(Diagnostic {
            file: self.file.clone(),
            line: pos.line,
            column: pos.column,
            severity,
            message: message.into(),
        });
    }

    pub(crate) fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.push(Severity::Error, pos, message);
    }

    pub(crate) fn warn(&mut self, pos: Pos, message: impl Into<String>) {
        self.push(Severity::Warning, pos, message);
    }

    /// Starts the validation phase (see `errors_before`).
    pub(crate) fn begin_validation(&mut self) {
        self.errors_before =
            Some(self.diags.iter().filter(|d| d.is_error()).map(Diagnostic::pos).collect());
    }

    /// Keeps every position inside `text`: a parser may point one past the
    /// last line or character at the end of the input.
    pub(crate) fn clamp(&mut self, text: &str) {
        if self.diags.iter().all(|d| d.line == 0) {
            return; // nothing to clamp: skip measuring every line
        }
        // The length in characters of each line, ended by `\r\n`, `\n`
        // or `\r`; the text after the last end is a line too, even empty.
        let mut lines: Vec<usize> = Vec::new();
        let mut len = 0;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' | '\n' => {
                    if c == '\r' && chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    lines.push(len);
                    len = 0;
                }
                _ => len += 1,
            }
        }
        lines.push(len);
        for d in &mut self.diags {
            if d.line == 0 {
                continue;
            }
            let last = u32::try_from(lines.len()).unwrap_or(u32::MAX);
            if d.line > last {
                d.line = last;
                d.column = u32::MAX;
            }
            let len = lines.get(d.line as usize - 1).copied().unwrap_or(0);
            let max_col = u32::try_from(len + 1).unwrap_or(u32::MAX);
            d.column = d.column.clamp(1, max_col);
        }
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.diags.iter().any(Diagnostic::is_error)
    }

    /// The empty path: the whole configuration.
    pub(crate) fn root(&self) -> Loc {
        Loc(0)
    }

    /// Records that the whole configuration starts at `pos`.
    pub(crate) fn record_root(&mut self, pos: Pos) {
        self.locs[0].pos.get_or_insert(pos);
    }

    /// Records that the model path `parent` + `seg` (YAML key form, such as
    /// `virtual_services[0].vip`) was read at `pos`, and returns it.
    pub(crate) fn loc(&mut self, parent: Loc, seg: impl Into<Seg<'static>>, pos: Pos) -> Loc {
        self.push_loc(parent, seg.into(), Some(pos))
    }

    /// Records a path of several keys below `parent`, given with dots
    /// (`check.interval`), read at `pos`; `""` records `parent` itself.
    pub(crate) fn loc_path(&mut self, parent: Loc, path: &'static str, pos: Pos) -> Loc {
        self.push_path(parent, path, Some(pos))
    }

    /// A path of several keys below `parent`, given with dots, that was
    /// not read itself (its children are).
    pub(crate) fn loc_unread_path(&mut self, parent: Loc, path: &'static str) -> Loc {
        self.push_path(parent, path, None)
    }

    fn push_path(&mut self, parent: Loc, path: &'static str, pos: Option<Pos>) -> Loc {
        if path.is_empty() {
            // The same path again: a new record of the same step.
            return match self.locs.get(parent.0 as usize) {
                Some(n) if parent.0 != 0 => {
                    let n = *n;
                    self.push_loc(Loc(n.parent), n.seg, pos)
                }
                _ => {
                    if let Some(pos) = pos {
                        self.record_root(pos);
                    }
                    parent
                }
            };
        }
        // Split on dots by hand: most paths are one key, and `str::split`
        // cost more than the rest of recording a value.
        let mut at = parent;
        let mut rest = path;
        while let Some(dot) = rest.bytes().position(|b| b == b'.') {
            at = self.push_loc(at, Seg::Key(&rest[..dot]), None);
            rest = &rest[dot + 1..];
        }
        self.push_loc(at, Seg::Key(rest), pos)
    }

    /// Makes room for `n` more recorded paths (a front end's estimate), so
    /// that a large file's records are not copied as they grow.
    pub(crate) fn reserve_locs(&mut self, n: usize) {
        self.locs.reserve(n);
    }

    fn push_loc(&mut self, parent: Loc, seg: Seg<'static>, pos: Option<Pos>) -> Loc {
        self.index.take();
        let id = u32::try_from(self.locs.len()).unwrap_or(u32::MAX);
        self.locs.push(LocNode { parent: parent.0, seg, pos });
        Loc(id)
    }

    /// Where `path` was read, or its closest recorded parent. `path` is in
    /// YAML key form: `virtual_services[0].real_servers[2].address`.
    pub(crate) fn at(&self, path: &str) -> Pos {
        let index = self.index.get_or_init(|| LocIndex::build(&self.locs));
        let mut node = 0u32;
        let mut found = index.pos[0];
        'walk: for part in path.split('.').filter(|p| !p.is_empty()) {
            let (key, indices) = part.split_once('[').unwrap_or((part, ""));
            let mut steps = Vec::new();
            if !key.is_empty() {
                steps.push(None);
            }
            for i in indices.split('[') {
                match i.strip_suffix(']').and_then(|i| i.parse().ok()) {
                    Some(i) => steps.push(Some(i)),
                    None if i.is_empty() => {}
                    None => break 'walk,
                }
            }
            for step in steps {
                let next = match step {
                    None => index.child(node, Seg::Key(key)),
                    Some(i) => index.child(node, Seg::Index(i)),
                };
                let Some(next) = next else { break 'walk };
                node = next;
                if let Some(p) = index.pos[node as usize] {
                    found = Some(p);
                }
            }
        }
        found.unwrap_or(Pos { line: 1, column: 1 })
    }

    pub(crate) fn into_diags(mut self) -> Vec<Diagnostic> {
        self.diags.sort_by_key(|d| (d.line, d.column));
        self.diags
    }
}

impl LocIndex {
    /// Merges the records of the same path (the first record gives its
    /// position, as a path is where it was first read).
    fn build(locs: &[LocNode]) -> LocIndex {
        let mut children = std::collections::HashMap::new();
        // The first node of each node's path; a parent always comes before
        // its children.
        let mut canon: Vec<u32> = Vec::with_capacity(locs.len());
        let mut pos: Vec<Option<Pos>> = Vec::with_capacity(locs.len());
        for (i, n) in locs.iter().enumerate() {
            let id = u32::try_from(i).unwrap_or(u32::MAX);
            let first = if i == 0 {
                0
            } else {
                let parent = canon[n.parent as usize];
                *children.entry((parent, n.seg)).or_insert(id)
            };
            canon.push(first);
            pos.push(None);
            if pos[first as usize].is_none() {
                pos[first as usize] = n.pos;
            }
        }
        LocIndex { children, pos }
    }

    fn child(&self, node: u32, seg: Seg<'_>) -> Option<u32> {
        // The map is covariant in its key: looked up with a borrowed step.
        let children: &std::collections::HashMap<(u32, Seg<'_>), u32> = &self.children;
        children.get(&(node, seg)).copied()
    }
}
