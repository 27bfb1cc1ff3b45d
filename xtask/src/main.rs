//! Project automation, run as `cargo xtask <command>` (the cargo-xtask
//! convention: see https://github.com/matklad/cargo-xtask).
//!
//! Commands:
//! - `test`: the whole test suite, exactly what CI runs: `cargo fmt --check`,
//!   `cargo clippy --all-targets -- -D warnings`, `cargo test --workspace`.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a CLI reports on the terminal

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("help") | Some("-h") | Some("--help") | None => {
            println!("usage: cargo xtask <command>\n\ncommands:\n  test    run everything CI runs");
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}; try `cargo xtask help`"),
    }
}

/// The project root: xtask lives one folder below it.
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn cargo(args: &[&str]) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("xtask: cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .current_dir(project_root())
        .status()
        .with_context(|| format!("cannot run {cargo}"))?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}

fn test() -> anyhow::Result<()> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    cargo(&["test", "--workspace"])?;
    Ok(())
}
