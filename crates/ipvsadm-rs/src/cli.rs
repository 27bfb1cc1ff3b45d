//! ipvsadm 1.31's command line, from argument vector to an [`Action`] or
//! the exact error ipvsadm gives (text and exit status).
//!
//! It mirrors `parse_options` and `process_options`: the first option must
//! be a command; the other options are read in order into the same record
//! ipvsadm fills (`ipvs_service_t`, `ipvs_dest_t`, ...), so the
//! order-sensitive behaviours are kept (`-r` copies the service port known
//! at that moment, `-6` needs `-f` before it, `-M` reads a mask or a prefix
//! depending on the service seen so far); then the command × option
//! legality table, the tunnel table and the remaining checks run, in
//! ipvsadm's order. Host and service names go through a [`Resolver`](crate::resolve::Resolver), so
//! this module does no IO of its own.

mod build;
mod parse;
mod record;
mod table;
mod values;

pub use parse::parse;

use ipvs::{Command, ServiceKey};

#[cfg(test)]
use table::{LEGAL, OPTNAMES};
#[cfg(test)]
use values::{atoi, strtol_strict};

/// `MAX_TIMEOUT`: 31 days.
const MAX_TIMEOUT: i64 = 86400 * 31;
/// `IPVS_SVC_PERSISTENT_TIMEOUT`: the `-p` default (the man page's 300 is wrong).
pub const DEFAULT_PERSISTENT_TIMEOUT: u32 = 360;

/// ipvsadm's commands, in the order of its `cmdnames` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmd {
    /// `-A`.
    Add,
    /// `-E`.
    Edit,
    /// `-D`.
    Del,
    /// `-C`.
    Flush,
    /// `-L`, `-l`.
    List,
    /// `-a`.
    AddDest,
    /// `-d`.
    DelDest,
    /// `-e`.
    EditDest,
    /// `--set`.
    Timeout,
    /// `--start-daemon`.
    StartDaemon,
    /// `--stop-daemon`.
    StopDaemon,
    /// `-R`.
    Restore,
    /// `-S`.
    Save,
    /// `-Z`.
    Zero,
}

/// How a listing is printed: the display options ipvsadm's
/// `print_service_entry` and friends read from `options`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Format {
    /// `-n`.
    pub numeric: bool,
    /// `-S`: rules instead of a table.
    pub rule: bool,
    /// `--stats`.
    pub stats: bool,
    /// `--rate`.
    pub rate: bool,
    /// `--thresholds`.
    pub thresholds: bool,
    /// `--persistent-conn`.
    pub persistent_conn: bool,
    /// `--nosort`.
    pub nosort: bool,
    /// `--exact`.
    pub exact: bool,
    /// `--tun-info`.
    pub tun_info: bool,
    /// `--json` (ipvsadm-rs only).
    pub json: bool,
}

/// What to do once the command line is understood.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // one per command line, never stored in bulk
pub enum Action {
    /// `-L -c`: the connection table.
    ListConns(Format),
    /// `-L -t|-u|-f service`.
    ListService(ServiceKey, Format),
    /// `-L --timeout`.
    ListTimeout(Format),
    /// `-L --daemon`.
    ListDaemon(Format),
    /// `-L` (or no argument at all).
    ListAll(Format),
    /// `-R`: run the lines of standard input.
    Restore,
    /// `-S`: the table as `-R` lines.
    Save(Format),
    /// A change to the table.
    Apply(Command),
}

/// The result of a successful parse.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // one per command line, never stored in bulk
pub enum Parsed {
    /// `-h` first: usage on standard output, exit 0.
    Help,
    /// `-v` first: the version line, exit 0.
    Version,
    /// Something to run.
    Run(Action),
}

/// How ipvsadm reacts to a bad command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CliError {
    /// No command first: `` Try `%s -h' or '%s --help' for more information.``,
    /// exit 255, even in the middle of `-R`.
    TryHelp,
    /// A popt error after the command: `"%s: %s"` (the word, popt's text).
    /// ipvsadm returns -1: exit 255, but `-R` goes on with the next line.
    Popt(String),
    /// `fail(2, ...)`: the message, exit 2, even in the middle of `-R`.
    Fail(String),
}

fn fail<T>(msg: impl Into<String>) -> Result<T, CliError> {
    Err(CliError::Fail(msg.into()))
}

#[cfg(test)]
mod tests;
