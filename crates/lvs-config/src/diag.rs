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

/// Collects diagnostics for one source, and where each model path was read
/// from so later checks can point at it.
#[derive(Debug)]
pub(crate) struct Sink {
    file: String,
    pub(crate) diags: Vec<Diagnostic>,
    locs: std::collections::HashMap<String, Pos>,
    /// Set during validation: positions that already carry an error, where
    /// further remarks (about stand-in values) are dropped.
    errors_before: Option<std::collections::HashSet<Pos>>,
}

impl Sink {
    pub(crate) fn new(file: &str) -> Sink {
        Sink {
            file: file.to_owned(),
            diags: Vec::new(),
            locs: std::collections::HashMap::new(),
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
        let lines: Vec<String> =
            text.replace("\r\n", "\n").split(['\n', '\r']).map(str::to_owned).collect();
        for d in &mut self.diags {
            if d.line == 0 {
                continue;
            }
            let last = u32::try_from(lines.len().max(1)).unwrap_or(u32::MAX);
            if d.line > last {
                d.line = last;
                d.column = u32::MAX;
            }
            let len = lines.get(d.line as usize - 1).map_or(0, |l| l.chars().count());
            let max_col = u32::try_from(len + 1).unwrap_or(u32::MAX);
            d.column = d.column.clamp(1, max_col);
        }
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.diags.iter().any(Diagnostic::is_error)
    }

    /// Records that the model path `path` (YAML key form, such as
    /// `virtual_services[0].vip.address`) was read at `pos`.
    pub(crate) fn record(&mut self, path: &str, pos: Pos) {
        self.locs.entry(path.to_owned()).or_insert(pos);
    }

    /// Where `path` was read, or its closest recorded parent.
    pub(crate) fn at(&self, path: &str) -> Pos {
        let mut p = path;
        loop {
            if let Some(pos) = self.locs.get(p) {
                return *pos;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None => return self.locs.get("").copied().unwrap_or(Pos { line: 1, column: 1 }),
            }
        }
    }

    pub(crate) fn into_diags(mut self) -> Vec<Diagnostic> {
        self.diags.sort_by_key(|d| (d.line, d.column));
        self.diags
    }
}
