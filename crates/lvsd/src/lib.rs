//! lvsd's library: what pulse starts on every router to build the kernel's
//! IPVS table from the configuration and keep it true while real servers
//! come and go.
//!
//! The API is what the `lvsd` binary uses, and nothing else depends on
//! this crate: the command line ([`parse_args`], [`Options`], [`USAGE`]),
//! [`check_config`] and [`test_start`] (the runs that print and exit), and
//! [`prepare`], which validates the configuration and opens IPVS before
//! the binary detaches, then runs the daemon. The modules are private:
//! - pure: `table` (the table model and the planner, `plan`), `spec` (what
//!   a configuration asks for, and the desired table given the nannies'
//!   reports), `operate` (the operator's overrides, drains and `min_up`)
//!   and `policy` (when nannies are restarted, judged hung, and their
//!   servers taken as down without a verdict: a state machine);
//! - IO: `engine` (reconciliation through `ipvs::IpvsTable`:
//!   `ipvs::Client`, or `ipvs::FakeTable` in tests), `host` (the sysctls
//!   lvsd sets besides the table: sloppy TCP/SCTP, `accept_local` for
//!   checks through the data path), `supervise` (the event loop:
//!   signals, nanny pipes, carrying out the policy's actions), `report`
//!   (what lvsd tells pulse over `--report-socket`, in `lvsd_api`'s
//!   messages), `ready` (`--ready-file`), `limits` (RLIMIT_NOFILE),
//!   `spawn` (the only place processes are started) and `sys` (the only
//!   `unsafe`: the nannies' parent-death signal, the allocator's tuning).
//! - Daemon runs log to syslog through the `lvs-daemon` crate.

#![deny(missing_docs)]

mod engine;
mod host;
mod limits;
mod operate;
mod policy;
mod ready;
mod report;
// The only module that starts processes (a choke point, `clippy.toml`).
#[allow(clippy::disallowed_methods)]
mod spawn;
mod spec;
mod supervise;
mod sys;
mod table;

use engine::Engine;
use spec::NannyOptions;
use supervise::Supervisor;
use table::Ownership;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The usage text printed by `-h`/`--help`.
pub const USAGE: &str = "\
Usage: lvsd [OPTION...]
  -c, --configfile=FILE   configuration file (default /etc/lvs-router/lvs.yaml,
                          or /etc/sysconfig/ha/lvs.cf if that does not exist)
      --own-table         the whole IPVS table is lvsd's: remove services the
                          configuration does not describe
      --pid-file=FILE     pid file of a daemon run [/var/run/lvs.pid]
      --ready-file=FILE   hold lvsd's pid in FILE while every nanny has given
                          a first verdict (the table is complete; for pulse)
      --report-socket=PATH
                          report health, reasons and the kernel's counters
                          to pulse on this Unix socket (pulse listens)
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
    /// `--own-table`: remove services the configuration does not describe.
    pub own_table: bool,
    /// `--pid-file`: where a daemon run writes its pid.
    pub pid_file: Option<PathBuf>,
    /// `--ready-file`: where lvsd says its table is complete.
    pub ready_file: Option<PathBuf>,
    /// `--report-socket`: where pulse listens for lvsd's reports.
    pub report_socket: Option<PathBuf>,
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
            Long("own-table") => o.own_table = true,
            Long("pid-file") => o.pid_file = Some(p.value()?.into()),
            Long("ready-file") => o.ready_file = Some(p.value()?.into()),
            Long("report-socket") => o.report_socket = Some(p.value()?.into()),
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

/// `--check-config`: [`lvs_config::check`] on the configuration file.
pub fn check_config(o: &Options) -> Outcome {
    let report = lvs_config::check(&config_path(o));
    Outcome { stdout: report.stdout, stderr: report.stderr, exit_code: report.exit_code }
}

/// Why lvsd cannot run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration has errors (each diagnostic is in the list).
    #[error("{path}: invalid configuration:\n{diags}")]
    Config {
        /// The file.
        path: PathBuf,
        /// Its diagnostics, one per line.
        diags: lvs_config::Diagnostics,
    },
    /// The configuration asks for failover services (`service = fos`).
    #[error("{0}: service = fos: failover services are not run by lvsd")]
    Fos(PathBuf),
    /// The IPVS table cannot be reached. Its cause is in the message, not
    /// a `source`: a chain printer would show it twice.
    #[error("cannot open the IPVS table: {0}")]
    Ipvs(ipvs::Error),
    /// Setting up or running the event loop failed.
    #[error(transparent)]
    Supervise(#[from] supervise::Error),
}

/// Loads and validates the configuration lvsd runs with; its warnings
/// are logged.
///
/// # Errors
/// A diagnostic of severity error, or `service = fos`.
pub fn load_config(o: &Options) -> Result<lvs_config::Config, Error> {
    let (config, warnings) = load_checked(o)?;
    for d in &warnings {
        log::warn!("{d}");
    }
    Ok(config)
}

/// [`load_config`] without logging: the configuration and its warnings.
fn load_checked(o: &Options) -> Result<(lvs_config::Config, Vec<lvs_config::Diagnostic>), Error> {
    let path = config_path(o);
    let (config, diags) = lvs_config::load_file(&path);
    let Some(config) = config else {
        let errors = diags.into_iter().filter(lvs_config::Diagnostic::is_error).collect();
        return Err(Error::Config { path, diags: lvs_config::Diagnostics(errors) });
    };
    if config.service == lvs_config::ServiceMode::Fos {
        return Err(Error::Fos(path));
    }
    Ok((config, diags))
}

fn ownership(o: &Options) -> Ownership {
    if o.own_table {
        Ownership::Whole
    } else {
        Ownership::Configured
    }
}

/// `-t`: what lvsd would do now, one line each (IPVS commands against the
/// current kernel table, with persistence, netmask and flags; each real
/// server as it will enter the table when its nanny reports it up, with its
/// forwarding; then the nanny command lines), changing nothing.
///
/// # Errors
/// The configuration is invalid.
pub fn test_start(o: &Options) -> Result<String, Error> {
    let config = load_config(o)?;
    let spec = spec::build(&config, NannyOptions { verbose: o.verbose });
    let mut out = String::new();
    for w in &spec.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    let observed = match ipvs::Client::connect().and_then(|mut c| table::read(&mut c)) {
        Ok(t) => t,
        Err(e) => {
            out.push_str(&format!(
                "# the IPVS table cannot be read ({e}); planning from an empty table\n"
            ));
            table::Table::default()
        }
    };
    let desired = spec::desired_table(&spec, &Default::default(), &observed, &Default::default());
    for cmd in table::plan(&desired, &observed, ownership(o)) {
        out.push_str(&format!("ipvs: {}\n", table::describe(&cmd)));
    }
    // Real servers enter the table when their nanny reports them up: what
    // each will be given then.
    for (key, s) in &spec.services {
        for r in &s.reals {
            let add = ipvs::Command::AddDest(*key, r.dest.clone());
            out.push_str(&format!(
                "when up: {} (real server {} of `{}`)\n",
                table::describe(&add),
                r.name,
                s.name
            ));
        }
    }
    for key in spec.nannies.keys() {
        out.push_str(&format!("nanny: {}\n", key.display()));
    }
    for (path, v) in host::writes(&spec.host, None) {
        out.push_str(&format!("sysctl: {path} = {}\n", u8::from(v)));
    }
    if let Some((iface, id)) = &spec.host.sync_both {
        out.push_str(&format!("sync daemon: master and backup on {iface}, sync id {id}\n"));
    }
    Ok(out)
}

/// Runs the daemon until SIGTERM (exit status 0) or a nanny death under
/// `hard_shutdown` (exit status 1). Logging must be set up by the caller.
///
/// # Errors
/// The configuration is invalid, IPVS cannot be reached, or the event
/// loop fails; the table is left as it was found in the first two cases.
pub fn run_daemon(o: &Options) -> Result<i32, Error> {
    prepare(o)?.run(o)
}

/// What lvsd holds before it detaches: a valid configuration and an open
/// IPVS connection, so that every start-up failure an operator can fix is
/// reported on the terminal that started it, with exit status 1.
#[derive(Debug)]
pub struct Prepared {
    config: lvs_config::Config,
    /// Logged by [`Prepared::run`], once the daemon's logger is installed.
    warnings: Vec<lvs_config::Diagnostic>,
    client: ipvs::Client,
}

/// Validates the configuration and opens IPVS: what `main` does before
/// detaching.
///
/// # Errors
/// The configuration is invalid, or IPVS cannot be reached.
pub fn prepare(o: &Options) -> Result<Prepared, Error> {
    // Before the first parse, so that a reload reuses its memory.
    sys::keep_freed_memory();
    let (config, warnings) = load_checked(o)?;
    let client = ipvs::Client::connect().map_err(Error::Ipvs)?;
    Ok(Prepared { config, warnings, client })
}

impl Prepared {
    /// Runs the daemon from a [`prepare`]d start; see [`run_daemon`].
    ///
    /// # Errors
    /// The event loop fails.
    pub fn run(self, o: &Options) -> Result<i32, Error> {
        let Prepared { config, warnings, client } = self;
        for d in &warnings {
            log::warn!("{d}");
        }
        run_with(o, config, client)
    }
}

fn run_with(o: &Options, config: lvs_config::Config, client: ipvs::Client) -> Result<i32, Error> {
    let spec = spec::build(&config, NannyOptions { verbose: o.verbose });
    let overrides = config.paths.overrides.clone();
    // The spec is all lvsd keeps: the model's memory goes back to the
    // allocator, for the next reload's parse.
    drop(config);
    for w in &spec.warnings {
        log::warn!("{w}");
    }
    match limits::raise_nofile() {
        Ok(r) if r.soft > r.before => {
            log::info!("open-file limit raised from {} to {} (the hard limit)", r.before, r.soft);
        }
        Ok(r) => log::debug!("open-file limit {} (hard {})", r.soft, r.hard),
        Err(e) => log::warn!("cannot raise the open-file limit: {e}"),
    }
    if let Some(limit) = limits::nofile() {
        if let Some(m) = limits::shortfall(spec.nannies.len(), limit) {
            log::error!("{m}");
        }
    }
    let engine = Engine::new(client, spec, ownership(o));
    let mut sup = Supervisor::new(engine, config_path(o), NannyOptions { verbose: o.verbose })?;
    if let Some(p) = &o.ready_file {
        sup.ready = Some(ready::ReadyFile::new(p.clone()));
    }
    sup.overrides = Some(overrides);
    if let Some(p) = &o.report_socket {
        sup.report_to(p.clone());
    }
    Ok(match sup.run()? {
        supervise::Exit::Signal(_) => 0,
        supervise::Exit::HardShutdown => 1,
    })
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
