//! The `lvs-node` binary: options, logging, exit status; the work is in
//! the library.

use std::process::ExitCode;

use lvs_node::args::{self, Mode, Parsed};

fn main() -> ExitCode {
    let opts = match args::parse(std::env::args_os().skip(1)) {
        Ok(Parsed::Run(o)) => o,
        Ok(Parsed::Help) => {
            print!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Version) => {
            println!("lvs-node {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("lvs-node: {e}\n{}", args::USAGE);
            return ExitCode::FAILURE;
        }
    };
    let level = if opts.verbose { log::LevelFilter::Debug } else { log::LevelFilter::Info };
    // In the foreground always: an init script or systemd keeps its stderr.
    if let Err(e) = lvs_daemon::init_logging(true, "lvs-node", level) {
        eprintln!("lvs-node: {e}");
    }
    let path = opts.config.clone().unwrap_or_else(|| lvs_config::default_path(|p| p.exists()));
    if opts.mode == Mode::CheckConfig {
        let r = lvs_config::check(&path);
        eprint!("{}", r.stderr);
        return if r.exit_code == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    }
    let config = match lvs_node::run::load(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match opts.mode {
        Mode::DryRun => lvs_node::run::dry_run(&config, &opts.state).map(|lines| {
            for l in lines {
                println!("{l}");
            }
        }),
        _ => lvs_node::run::serve(&path, &opts.state, config),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lvs-node: {e:#}");
            ExitCode::FAILURE
        }
    }
}
