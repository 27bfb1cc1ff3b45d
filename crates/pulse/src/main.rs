//! The `pulse` binary: parses piranha-compatible options, sets up logging,
//! and runs the daemon from the library.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use lvs_daemon::{Detach, PidFile};
use pulse::event_loop::{self, Daemon, Options, RunError};
use pulse::settings::RunOptions;

const DEFAULT_PID_FILE: &str = "/run/pulse.pid";

const USAGE: &str = "\
Usage: pulse [OPTION...]
  -c, --configfile=FILE   configuration file, YAML or piranha's lvs.cf (default
                          /etc/lvs-router/lvs.yaml, else /etc/sysconfig/ha/lvs.cf)
  -n, --nodaemon          stay in the foreground and log to stderr
  -t, --test-start        do not start lvsd or run active_cmd/inactive_cmd
      --norun             same as --test-start (historical)
  -v, --verbose           debug logging; passed on to lvsd
      --forceactive       become active at start (the other router yields
                          if this one is ranked first)
      --lvsd=PATH         lvsd binary (default: paths.lvsd, /usr/sbin/lvsd);
                          --lvs=PATH too
      --test-config       check the configuration as pulse would run it, print
                          it as normalized YAML, and exit (0 when good)
      --node=NAME         which listed router this is (default: the one
                          whose address a local interface has)
      --control=REQUEST   send a request to the running pulse and print the
                          reply: status, \"status json\", take-over,
                          stand-down, reload; events streams one JSON
                          object per transition until interrupted
      --socket=PATH       control socket (default /run/pulse.sock)
      --version           print the version
  -?, --help, --usage     this text
";

enum Mode {
    Run(Options),
    TestConfig(Options),
    Control { socket: Option<PathBuf>, request: String },
    Help,
    Version,
}

fn parse_args() -> Result<Mode, lexopt::Error> {
    use lexopt::prelude::*;
    let mut opts = Options {
        config: lvs_config::default_path(|p| p.exists()),
        node: None,
        run: RunOptions::default(),
        nodaemon: false,
        verbose: false,
        lvsd: None,
        control_socket: None,
    };
    let mut control = None;
    let mut test_config = false;
    let mut socket = None;
    let mut p = lexopt::Parser::from_env();
    while let Some(arg) = p.next()? {
        match arg {
            Short('c') | Long("configfile") => opts.config = p.value()?.into(),
            Short('n') | Long("nodaemon") => opts.nodaemon = true,
            Short('t') | Long("test-start") | Long("norun") => opts.run.test_start = true,
            Short('v') | Long("verbose") => opts.verbose = true,
            Long("forceactive") => opts.run.force_active = true,
            Long("lvsd") | Long("lvs") => opts.lvsd = Some(p.value()?.into()),
            Long("test-config") => test_config = true,
            Long("fos") => {
                // piranha's path to its `fos` daemon: pulse runs failover
                // services itself.
                let _ = p.value()?;
                eprintln!("pulse: --fos is ignored: pulse runs failover services itself");
            }
            Long("node") => opts.node = Some(p.value()?.string()?),
            Long("control") => control = Some(p.value()?.string()?),
            Long("socket") => socket = Some(PathBuf::from(p.value()?)),
            Short('?') | Short('h') | Long("help") | Long("usage") => return Ok(Mode::Help),
            Long("version") => return Ok(Mode::Version),
            _ => return Err(arg.unexpected()),
        }
    }
    if let Some(request) = control {
        return Ok(Mode::Control { socket, request });
    }
    opts.control_socket = socket;
    if test_config {
        return Ok(Mode::TestConfig(opts));
    }
    Ok(Mode::Run(opts))
}

fn control(socket: Option<PathBuf>, request: &str) -> anyhow::Result<()> {
    let socket = socket.unwrap_or_else(|| pulse::settings::CONTROL_SOCKET.into());
    if request.trim() == "events" {
        return pulse::event_stream::follow(&socket, &mut std::io::stdout().lock())
            .with_context(|| format!("control socket {}", socket.display()));
    }
    let reply = event_loop::request(&socket, request)
        .with_context(|| format!("control socket {}", socket.display()))?;
    print!("{reply}");
    if reply.starts_with("error:") {
        bail!("request {request:?} failed");
    }
    Ok(())
}

/// A failed run, and whether pulse had detached by then (its standard
/// streams are /dev/null: only the log reaches the operator).
struct Failure {
    error: anyhow::Error,
    detached: bool,
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Failure {
        Failure { error, detached: false }
    }
}

/// The error and its causes on one line, each said once: an error whose
/// message already ends with its cause (`...: Address already in use`,
/// thiserror's `{source}`) is not followed by that cause again.
fn one_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn run(mut opts: Options) -> Result<(), Failure> {
    // A daemon never depends on its working directory.
    opts.config = std::path::absolute(&opts.config)
        .with_context(|| format!("config path {}", opts.config.display()))?;
    let level = if opts.verbose { log::LevelFilter::Debug } else { log::LevelFilter::Info };
    // Written by a thread of its own (started by the loop): the heartbeat
    // loop never waits for the log, not even for a lock.
    lvs_daemon::init_queued_logging(opts.nodaemon, "pulse", level)
        .context("installing the logger")?;
    let nodaemon = opts.nodaemon;
    let daemon = match Daemon::prepare(opts) {
        Ok(d) => d,
        Err(e @ RunError::BackupInactive) => {
            log::info!("{e}");
            return Ok(());
        }
        Err(e) => return Err(anyhow::Error::from(e).into()),
    };
    let pid_file = if nodaemon {
        std::env::set_current_dir("/").context("chdir /")?;
        None
    } else {
        lvs_daemon::detach(Detach::Fork).context("becoming a daemon")?;
        let p = PidFile::create(Path::new(DEFAULT_PID_FILE))
            .map_err(|e| Failure { error: e.into(), detached: true })?;
        Some(p)
    };
    daemon.run().map_err(|e| Failure { error: e.into(), detached: !nodaemon })?;
    drop(pid_file);
    Ok(())
}

fn main() -> ExitCode {
    let mode = match parse_args() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("pulse: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let r = match mode {
        Mode::Help => {
            print!("{USAGE}");
            Ok(())
        }
        Mode::Version => {
            println!("pulse {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Mode::Control { socket, request } => control(socket, &request).map_err(Failure::from),
        Mode::TestConfig(opts) => {
            let (out, err, code) = event_loop::test_config(&opts);
            print!("{out}");
            eprint!("{err}");
            return ExitCode::from(u8::try_from(code).unwrap_or(1));
        }
        Mode::Run(opts) => run(opts),
    };
    let code = match r {
        Ok(()) => ExitCode::SUCCESS,
        // Said once, where the operator sees it: on stderr until pulse
        // detaches, in the log after.
        Err(Failure { error, detached: true }) => {
            log::error!("{}", one_line(&error));
            ExitCode::FAILURE
        }
        Err(Failure { error, detached: false }) => {
            eprintln!("pulse: {}", one_line(&error));
            ExitCode::FAILURE
        }
    };
    // What the log's writer has not written yet.
    log::logger().flush();
    code
}
