//! The `nanny` binary: parses argv, sets up logging and where decisions go,
//! then runs the library's event loop.

use anyhow::{bail, Context as _};
use nanny::args::{self, Mode, Parsed};
use nanny::table::{LogOnly, Report};

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nanny: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let cfg = match args::parse(std::env::args_os().skip(1))? {
        Parsed::Help => {
            print!("{}", args::USAGE);
            return Ok(());
        }
        Parsed::Version => {
            println!("nanny {}", env!("CARGO_PKG_VERSION"));
            return Ok(());
        }
        Parsed::Run(cfg) => cfg,
    };
    let level = if cfg.verbose { "debug" } else { "info" };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level))
        .target(env_logger::Target::Stderr)
        .init();
    let server = cfg.server;
    match cfg.mode {
        Mode::Report => {
            let mut table = Report::new(std::io::stdout().lock(), &server.to_string(), cfg.alive)
                .context("cannot write the hello line to stdout")?;
            nanny::daemon::run(&cfg, &mut table).with_context(|| format!("nanny for {server}"))?;
        }
        Mode::NoRun => {
            nanny::daemon::run(&cfg, &mut LogOnly)
                .with_context(|| format!("nanny for {server}"))?;
        }
        Mode::Ipvs => bail!(
            "standalone mode (changing the IPVS table directly) is not available in this build: \
             use --report (under lvsd) or --norun"
        ),
    }
    Ok(())
}
