//! The `send_arp` command: parse the arguments, call the library, print the
//! outcome and map it to piranha's exit status (0 success, 1 any error).
#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use send_arp::{parse_args, run, Command, Request, USAGE};

fn main() -> ExitCode {
    let req = match parse_args(std::env::args_os().skip(1)) {
        Ok(Command::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("send_arp {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Ok(Command::Send(req)) => req,
        Err(e) => {
            eprintln!("send_arp: {e}\nTry 'send_arp --help' for more information.");
            return ExitCode::FAILURE;
        }
    };
    match send(&req) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("send_arp: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn send(req: &Request) -> anyhow::Result<()> {
    let what = match req {
        Request::Piranha { src_ip, .. } => src_ip.clone(),
        Request::Modern { addrs, .. } => {
            addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(" ")
        }
    };
    run(req).map(|_| ()).map_err(|e| {
        let hint = e.is_permission_denied().then_some(" (needs CAP_NET_RAW: run as root)");
        anyhow::Error::new(e).context(format!(
            "announcing {what} on {}{}",
            req.dev(),
            hint.unwrap_or("")
        ))
    })
}
