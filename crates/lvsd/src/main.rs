//! The `lvsd` binary: parses the command line, sets up logging and the
//! daemon's detachment, and calls the library.
#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use lvs_daemon::{Detach, PidFile};

fn main() -> ExitCode {
    // pulse sends SIGUSR1 when its overrides file changes; one that comes
    // before the loop's handler is installed must not kill lvsd (the
    // default action): the loop reads the file at start anyway.
    let _ = lvs_daemon::defer(lvs_daemon::SIGUSR1);
    let command = match lvsd::parse_args(std::env::args_os().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lvsd: error: {e}\n\n{}", lvsd::USAGE);
            return ExitCode::from(2);
        }
    };
    let options = match command {
        lvsd::Command::Help => {
            print!("{}", lvsd::USAGE);
            return ExitCode::SUCCESS;
        }
        lvsd::Command::Version => {
            println!("{}", lvsd::version());
            return ExitCode::SUCCESS;
        }
        lvsd::Command::Run(o) => o,
    };
    if options.check_config {
        let outcome = lvsd::check_config(&options);
        // A closed stdout (`lvsd --check-config | head`) is not an error.
        let _ = std::io::stdout().write_all(outcome.stdout.as_bytes());
        let _ = std::io::stderr().write_all(outcome.stderr.as_bytes());
        return ExitCode::from(u8::try_from(outcome.exit_code).unwrap_or(1));
    }
    if options.test_start {
        return match lvsd::test_start(&options) {
            Ok(text) => {
                let _ = std::io::stdout().write_all(text.as_bytes());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("lvsd: error: {e:#}");
                ExitCode::from(1)
            }
        };
    }
    match daemon(&options) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(Failure { error, detached }) => {
            // Each failure is said once, where the operator sees it: on the
            // terminal before lvsd detaches (`-n` logs to stderr, so the
            // logger says it), in the log after.
            if detached || options.nodaemon {
                log::error!("{error:#}");
            } else {
                eprintln!("lvsd: error: {error:#}");
            }
            ExitCode::from(1)
        }
    }
}

/// Why a run ended in error, and whether lvsd had detached by then (its
/// standard streams are /dev/null, only the log reaches the operator).
struct Failure {
    error: anyhow::Error,
    detached: bool,
}

fn daemon(o: &lvsd::Options) -> Result<i32, Failure> {
    let early = |error: anyhow::Error| Failure { error, detached: false };
    let late = |error: anyhow::Error| Failure { error, detached: true };
    let level = if o.verbose { log::LevelFilter::Debug } else { log::LevelFilter::Info };
    // Errors that do not name the configuration file get it as context.
    let context = |e: lvsd::Error| match e {
        lvsd::Error::Config { .. } | lvsd::Error::Fos(_) => anyhow::Error::from(e),
        e => {
            anyhow::Error::from(e).context(format!("lvsd with {}", lvsd::config_path(o).display()))
        }
    };
    if o.nodaemon {
        lvs_daemon::init_logging(true, "lvsd", level)
            .context("install the logger")
            .map_err(early)?;
    }
    // Validate and open IPVS before detaching, so that these errors reach
    // the terminal (and init scripts and systemd see the exit status).
    let prepared = lvsd::prepare(o).map_err(context).map_err(early)?;
    let mut pid_file = None;
    if !o.nodaemon {
        // --nofork: detach without forking (pulse supervises this pid).
        let how = if o.nofork { Detach::InPlace } else { Detach::Fork };
        lvs_daemon::detach(how).context("become a daemon").map_err(early)?;
        lvs_daemon::init_logging(false, "lvsd", level)
            .context("install the syslog logger")
            .map_err(late)?;
        let path = o.pid_file.clone().unwrap_or_else(|| PathBuf::from("/var/run/lvs.pid"));
        // Not fatal: lvsd runs without it, as piranha's did.
        match PidFile::create(&path) {
            Ok(p) => pid_file = Some(p),
            Err(e) => log::warn!("{e}: running without it"),
        }
    }
    let r = prepared.run(o).map_err(context);
    drop(pid_file);
    r.map_err(|error| Failure { error, detached: !o.nodaemon })
}
