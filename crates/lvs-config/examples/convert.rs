//! Converts a configuration file to normalized YAML, printing diagnostics:
//! `cargo run -p lvs-config --example convert -- FILE`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

fn main() {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: convert FILE");
        std::process::exit(2);
    };
    let report = lvs_config::check(std::path::Path::new(&path));
    print!("{}", report.stdout);
    eprint!("{}", report.stderr);
    std::process::exit(report.exit_code);
}
