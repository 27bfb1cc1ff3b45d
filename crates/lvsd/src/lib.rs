//! lvsd's library: command-line options and the commands behind them.
//!
//! lvsd is what pulse starts on the active router to build and keep the
//! IPVS table. In this build only `--check-config` works: it validates a
//! configuration the way the daemon will read it. Programming the table
//! arrives with the daemon itself (issue 8); until then, running lvsd
//! without `--check-config` fails and says so.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The usage text printed by `-h`/`--help`.
pub const USAGE: &str = "\
Usage: lvsd [OPTION...]
  -c, --configfile=FILE   configuration file (default /etc/lvs-router/lvs.yaml,
                          or /etc/sysconfig/ha/lvs.cf if that does not exist)
      --check-config      load and validate the configuration, print it as
                          normalized YAML and exit 0, or print every error and
                          exit 1
  -n, --nodaemon          run in the foreground, logging to stderr
      --nofork            do not fork, but detach from the terminal
  -t, --test-start        print what would be done without doing it
  -v, --verbose           verbose logging
      --version           print the version and exit
  -h, -?, --help, --usage print this help and exit
";

/// Options of an lvsd run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `-c FILE`: the configuration file; `None` means the default.
    pub config: Option<PathBuf>,
    /// `--check-config`: validate and print, then exit.
    pub check_config: bool,
    /// `-n`: stay in the foreground.
    pub nodaemon: bool,
    /// `--nofork`: detach without forking (how pulse starts lvsd).
    pub nofork: bool,
    /// `-t`: report only.
    pub test_start: bool,
    /// `-v`: verbose logging.
    pub verbose: bool,
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Print [`USAGE`].
    Help,
    /// Print the version.
    Version,
    /// Run with these options.
    Run(Options),
}

/// A command-line error.
#[derive(Debug, thiserror::Error)]
pub enum ArgError {
    /// An option or argument lvsd does not know, or a missing value.
    #[error("{0}")]
    Usage(#[from] lexopt::Error),
}

/// Parses lvsd's arguments (without the program name), as piranha's lvsd
/// does, plus `--check-config`.
///
/// # Errors
/// An unknown option, a stray argument or a missing `-c` value.
pub fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Command, ArgError> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_args(args);
    let mut o = Options::default();
    while let Some(arg) = p.next()? {
        match arg {
            Short('c') | Long("configfile") => o.config = Some(p.value()?.into()),
            Long("check-config") => o.check_config = true,
            Short('n') | Long("nodaemon") => o.nodaemon = true,
            Long("nofork") => o.nofork = true,
            Short('t') | Long("test-start") => o.test_start = true,
            Short('v') | Long("verbose") => o.verbose = true,
            Long("version") => return Ok(Command::Version),
            Short('h') | Short('?') | Long("help") | Long("usage") => return Ok(Command::Help),
            _ => return Err(arg.unexpected().into()),
        }
    }
    Ok(Command::Run(o))
}

/// The version line printed by `--version`.
pub fn version() -> String {
    format!("lvsd {} (lvs-router)", env!("CARGO_PKG_VERSION"))
}

/// The configuration file to read: `-c FILE`, else the documented default
/// ([`lvs_config::default_path`]).
pub fn config_path(o: &Options) -> PathBuf {
    match &o.config {
        Some(p) => p.clone(),
        None => lvs_config::default_path(Path::exists),
    }
}

/// What a run prints and its exit status; `main` does the printing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Text for stdout.
    pub stdout: String,
    /// Text for stderr.
    pub stderr: String,
    /// Exit status.
    pub exit_code: i32,
}

/// The message of a daemon run in this build.
pub const NOT_IMPLEMENTED: &str =
    "lvsd: error: programming the IPVS table is not implemented in this build \
(the daemon arrives with issue 8); use --check-config to validate a configuration";

/// Runs lvsd with parsed options.
///
/// `--check-config` runs [`lvs_config::check`]. Otherwise the configuration
/// is still loaded and validated, so its errors are reported first, and then
/// the run fails with [`NOT_IMPLEMENTED`]: nothing is applied.
pub fn run(o: &Options) -> Outcome {
    let path = config_path(o);
    let report = lvs_config::check(&path);
    if o.check_config {
        return Outcome {
            stdout: report.stdout,
            stderr: report.stderr,
            exit_code: report.exit_code,
        };
    }
    let mut stderr = report.stderr;
    if report.exit_code == 0 {
        stderr.push_str(NOT_IMPLEMENTED);
        stderr.push('\n');
    }
    Outcome { stdout: String::new(), stderr, exit_code: 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, ArgError> {
        parse_args(args.iter().map(OsString::from))
    }

    #[test]
    fn piranha_options() {
        let Command::Run(o) =
            parse(&["-c", "/x/lvs.cf", "-n", "--nofork", "-t", "-v", "--check-config"]).unwrap()
        else {
            panic!("expected a run")
        };
        assert_eq!(o.config.as_deref(), Some(Path::new("/x/lvs.cf")));
        assert!(o.nodaemon && o.nofork && o.test_start && o.verbose && o.check_config);
        let Command::Run(o) = parse(&["--configfile=/y"]).unwrap() else {
            panic!("expected a run")
        };
        assert_eq!(o.config.as_deref(), Some(Path::new("/y")));
        assert_eq!(parse(&["--version"]).unwrap(), Command::Version);
        assert_eq!(parse(&["-h"]).unwrap(), Command::Help);
        assert_eq!(parse(&["--usage"]).unwrap(), Command::Help);
        assert!(parse(&["--bogus"]).is_err());
        assert!(parse(&["stray"]).is_err());
        assert!(parse(&["-c"]).is_err());
    }
}
