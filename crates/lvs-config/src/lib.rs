//! The one configuration model of the lvs-router suite, read from YAML or
//! from piranha's `lvs.cf`, validated as a whole, and written back as YAML.
//!
//! # Reading
//! [`parse_str`] is the pure core: text in, a [`Config`] (only when there is
//! no error) and every [`Diagnostic`] out, each with file, line and column.
//! [`load`] and [`load_file`] are thin wrappers that read a file; [`check`]
//! is the `--check-config` command shared by the daemons.
//!
//! # Formats
//! YAML is the native format; its keys are the serde field names of
//! [`model`]. piranha's `lvs.cf` is read with every key piranha 0.8.6
//! accepts (see the `lvscf` module documentation for the few deliberate
//! differences). [`Format::detect`] chooses by extension, then by content.
//!
//! # Writing
//! [`to_yaml`] prints a config as normalized YAML, so an `lvs.cf` converts
//! to YAML and back to the same model.
//!
//! This crate does no IO beyond reading the file it is given, resolves no
//! host names, and knows nothing about netlink or processes.
#![forbid(unsafe_code)]

mod diag;
mod lvscf;
pub mod model;
pub mod overrides;
mod validate;
mod values;
mod writer;
mod yaml;

use std::path::{Path, PathBuf};

pub use diag::{Diagnostic, Diagnostics, Pos, Severity};
pub use model::*;
pub use values::{DNS_RECORD_TYPES, SERVICE_NAMES};

/// The default configuration file of the suite.
pub const DEFAULT_PATH: &str = "/etc/lvs-router/lvs.yaml";
/// piranha's configuration file, used when [`DEFAULT_PATH`] does not exist.
pub const PIRANHA_PATH: &str = "/etc/sysconfig/ha/lvs.cf";

/// Largest configuration file accepted, in bytes.
pub const MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

/// The two file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// YAML, the native format.
    Yaml,
    /// piranha's `lvs.cf`.
    LvsCf,
}

impl Format {
    /// Chooses the format of a file: `.yaml`/`.yml` is YAML and `.cf` is
    /// lvs.cf; otherwise the first line that is neither blank nor a comment
    /// decides: `key = value` or `NAME {` is lvs.cf, anything else YAML.
    pub fn detect(source_name: &str, text: &str) -> Format {
        let ext = Path::new(source_name).extension().and_then(|e| e.to_str()).unwrap_or("");
        match ext {
            "yaml" | "yml" => return Format::Yaml,
            "cf" => return Format::LvsCf,
            _ => {}
        }
        for line in text.lines() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let mut words = t.split_whitespace();
            let _first = words.next();
            let second = words.next();
            return if second == Some("=") || t.ends_with(" {") {
                Format::LvsCf
            } else {
                Format::Yaml
            };
        }
        Format::Yaml
    }
}

/// Parses and validates configuration text.
///
/// Returns the config only when there is no error (warnings allowed), and
/// every diagnostic, sorted by position. `source_name` is used in the
/// diagnostics. Never panics, whatever the input.
pub fn parse_str(
    text: &str,
    source_name: &str,
    format: Format,
) -> (Option<Config>, Vec<Diagnostic>) {
    parse_str_observed(text, source_name, format, || {})
}

/// [`parse_str`], calling `parsed` once the text has been read into the
/// model, before the whole is validated: a benchmark's way to time the two
/// phases from outside (`examples/load_big.rs`).
pub fn parse_str_observed(
    text: &str,
    source_name: &str,
    format: Format,
    parsed: impl FnOnce(),
) -> (Option<Config>, Vec<Diagnostic>) {
    let mut sink = diag::Sink::new(source_name);
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let config = match format {
        Format::Yaml => yaml::parse(text, &mut sink),
        Format::LvsCf => lvscf::parse(text, &mut sink),
    };
    parsed();
    if let Some(c) = &config {
        sink.begin_validation();
        validate::config(c, &mut sink);
    }
    sink.clamp(text);
    let ok = !sink.has_errors();
    let diags = sink.into_diags();
    (config.filter(|_| ok), diags)
}

/// Parses and validates file contents given as bytes, choosing the format
/// with [`Format::detect`] unless `format` is given. Invalid UTF-8 is an
/// error at the position of the first bad byte.
pub fn parse_bytes(
    bytes: &[u8],
    source_name: &str,
    format: Option<Format>,
) -> (Option<Config>, Vec<Diagnostic>) {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_str(
            text,
            source_name,
            format.unwrap_or_else(|| Format::detect(source_name, text)),
        ),
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
            let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let col = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
            let d = Diagnostic {
                file: source_name.to_owned(),
                line: Pos::new(line, col).line,
                column: Pos::new(line, col).column,
                severity: Severity::Error,
                message: "the file is not valid utf-8".to_owned(),
            };
            (None, vec![d])
        }
    }
}

/// Reads a configuration file's bytes, never blocking on what is not a
/// regular file and never reading more than [`MAX_FILE_SIZE`] bytes.
///
/// The file is opened with `O_NONBLOCK` (so a FIFO with no writer returns at
/// once), checked to be a regular file on the open descriptor (so a path
/// swapped between a check and the open changes nothing), and read through
/// a limit of one byte more than [`MAX_FILE_SIZE`]: `st_size` is not
/// trusted, it is 0 for FIFOs, character devices and `/proc` files. This is
/// the only function of the suite that reads a configuration file.
///
/// # Errors
/// A message for the operator, without the path: `cannot read the file:
/// ...`, `not a regular file (a fifo)`, `the file is larger than ...`.
// The crate's one file read (its choke point, `clippy.toml`).
#[allow(clippy::disallowed_methods)]
pub fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let cannot =
        |e: std::io::Error| format!("cannot read the file: {}", e.to_string().to_lowercase());
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(cannot)?;
    let ft = file.metadata().map_err(cannot)?.file_type();
    if !ft.is_file() {
        let what = if ft.is_dir() {
            "a directory"
        } else if ft.is_fifo() {
            "a fifo"
        } else if ft.is_char_device() {
            "a character device"
        } else if ft.is_block_device() {
            "a block device"
        } else if ft.is_socket() {
            "a socket"
        } else {
            "not a file"
        };
        return Err(format!("not a regular file ({what}); only regular files are read"));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1).read_to_end(&mut bytes).map_err(cannot)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(format!("the file is larger than {MAX_FILE_SIZE} bytes"));
    }
    Ok(bytes)
}

/// Reads, parses and validates a file; returns the config (only when there
/// is no error) and every diagnostic, warnings included. The file is read
/// with [`read_file`].
pub fn load_file(path: &Path) -> (Option<Config>, Vec<Diagnostic>) {
    let name = path.display().to_string();
    match read_file(path) {
        Ok(bytes) => parse_bytes(&bytes, &name, None),
        Err(message) => {
            let d =
                Diagnostic { file: name, line: 0, column: 0, severity: Severity::Error, message };
            (None, vec![d])
        }
    }
}

/// Reads, parses and validates a file.
///
/// # Errors
/// Every error found (warnings are dropped; use [`load_file`] to see them).
pub fn load(path: &Path) -> Result<Config, Diagnostics> {
    match load_file(path) {
        (Some(c), _) => Ok(c),
        (None, diags) => Err(Diagnostics(diags.into_iter().filter(Diagnostic::is_error).collect())),
    }
}

/// Prints a config as normalized YAML: every field that has a value, in
/// model order, so that reading it back gives the same config.
pub fn to_yaml(config: &Config) -> String {
    writer::to_yaml(config).unwrap_or_else(|e| format!("# cannot write yaml: {e}\n"))
}

/// The result of [`check`]: what to print and how to exit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckReport {
    /// The normalized config as YAML when the file is good; empty otherwise.
    pub stdout: String,
    /// One diagnostic per line (errors and warnings).
    pub stderr: String,
    /// 0 when the file is good, 1 otherwise.
    pub exit_code: i32,
}

/// The `--check-config` command (like `keepalived -t`): loads and validates
/// `path`. A good file gives its normalized YAML and exit status 0; a bad
/// one gives every diagnostic and exit status 1.
pub fn check(path: &Path) -> CheckReport {
    let (config, diags) = load_file(path);
    let mut stderr = String::new();
    for d in &diags {
        stderr.push_str(&d.to_string());
        stderr.push('\n');
    }
    match config {
        Some(c) => CheckReport { stdout: to_yaml(&c), stderr, exit_code: 0 },
        None => CheckReport { stdout: String::new(), stderr, exit_code: 1 },
    }
}

/// The configuration file to use when none is given: [`DEFAULT_PATH`], or
/// [`PIRANHA_PATH`] if the former does not exist and the latter does.
/// `exists` is the filesystem probe, a parameter so this stays testable.
pub fn default_path(exists: impl Fn(&Path) -> bool) -> PathBuf {
    let native = Path::new(DEFAULT_PATH);
    if !exists(native) && exists(Path::new(PIRANHA_PATH)) {
        PIRANHA_PATH.into()
    } else {
        native.into()
    }
}
