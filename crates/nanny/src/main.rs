//! The `nanny` binary: parses argv, sets up logging and where decisions go,
//! then runs the library's event loop.

use anyhow::Context as _;
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
    let level = if cfg.verbose { log::LevelFilter::Debug } else { log::LevelFilter::Info };
    // Its stderr is lvsd's (or pulse's): the terminal or /dev/null.
    lvs_daemon::init_logging(true, "nanny", level).context("installing the logger")?;
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
        Mode::Ipvs => {
            let mut table = nanny::kernel::Kernel::new(&cfg)
                .with_context(|| format!("standalone nanny for {server}"))?;
            nanny::daemon::run(&cfg, &mut table).with_context(|| format!("nanny for {server}"))?;
        }
    }
    Ok(())
}
