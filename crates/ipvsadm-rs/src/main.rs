//! The `ipvsadm-rs` binary: collects the process's arguments and streams,
//! opens IPVS the way ipvsadm does (loading `ip_vs` with modprobe when the
//! family is missing), runs the library and exits with ipvsadm's status.
//! A closed output pipe (`ipvsadm-rs -Ln | head`) ends quietly with 0.

#![forbid(unsafe_code)]
// The binary owns the process's streams and status; the library writes to
// `Env` only (`clippy.toml`).
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use ipvsadm_rs::{resolve::SystemResolver, run, Env, IpvsTable};

/// ipvsadm's `modprobe_ipvs`: `/sbin/modprobe -- ip_vs`, true on success.
fn modprobe() -> bool {
    std::process::Command::new("/sbin/modprobe")
        .args(["--", "ip_vs"])
        .status()
        .is_ok_and(|s| s.success())
}

fn connect() -> Result<Box<dyn IpvsTable>, ipvs::Error> {
    let open = || -> Result<ipvs::Client, ipvs::Error> {
        let mut c = ipvs::Client::connect()?;
        // ipvsadm's ipvs_init also fetches the version; a refusal here
        // (EPERM for non-root) is an init failure.
        let info = c.info()?;
        if info.version < 0x010104 {
            let (a, b, p) = info.version_triple();
            eprint!(
                "Warning: IPVS version mismatch: \n  Kernel compiled with IPVS version {a}.{b}.{p}\n  ipvsadm v1.31  requires minimum IPVS version 1.1.4\n\n"
            );
        }
        Ok(c)
    };
    match open() {
        Ok(c) => Ok(Box::new(c)),
        Err(first) => {
            if !modprobe() {
                return Err(first);
            }
            open().map(|c| Box::new(c) as Box<dyn IpvsTable>)
        }
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    let posix = std::env::var_os("POSIXLY_CORRECT").is_some()
        || std::env::var_os("POSIX_ME_HARDER").is_some();
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut err = io::stderr();
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let mut connect_fn = connect;
    let mut env = Env {
        out: &mut out,
        err: &mut err,
        input: &mut input,
        resolver: &SystemResolver,
        root: PathBuf::from("/"),
        posix_me_harder: posix,
        connect: &mut connect_fn,
    };
    let code = match run(&argv, &mut env) {
        Ok(code) => code,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
        Err(e) => {
            drop(env);
            let _ = out.flush();
            eprintln!("ipvsadm-rs: write error: {e}");
            return ExitCode::from(1);
        }
    };
    drop(env);
    match out.flush() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ipvsadm-rs: write error: {e}");
            ExitCode::from(1)
        }
        Ok(()) => ExitCode::from((code & 0xff) as u8),
    }
}
