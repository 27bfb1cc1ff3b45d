//! The `lvsd` binary: parses the command line and calls the library.
#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
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
    let outcome = lvsd::run(&options);
    // A closed stdout (`lvsd --check-config | head`) is not an error.
    let _ = std::io::stdout().write_all(outcome.stdout.as_bytes());
    let _ = std::io::stderr().write_all(outcome.stderr.as_bytes());
    ExitCode::from(u8::try_from(outcome.exit_code).unwrap_or(1))
}
