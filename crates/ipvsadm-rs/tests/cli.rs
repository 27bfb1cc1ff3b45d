//! The real binary on the host (no IPVS needed): command line errors and
//! their statuses, `-h`/`-v`, argv[0] in messages, and a closed output pipe.

// Helpers of a test file: a failed unwrap is a failed test, with its place.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ipvsadm-rs"))
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = bin().args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn errors_and_statuses() {
    let prog = env!("CARGO_BIN_EXE_ipvsadm-rs");
    let hint = format!("Try `{prog} -h' or '{prog} --help' for more information.\n");
    assert_eq!(run(&["-n"]), (255, String::new(), hint.clone()));
    assert_eq!(run(&["-L", "--bogus"]), (255, String::new(), "--bogus: unknown option\n".into()));
    assert_eq!(
        run(&["-A", "-t", "1.2.3.4:80", "-w", "3"]),
        (2, String::new(), "Illegal 'weight' option with the 'add-service' command\n".into())
    );
    assert_eq!(
        run(&["-a", "-t", "1.2.3.4:80", "-r", "10.0.0.1", "-w", "2147483648"]),
        (2, String::new(), "illegal weight specified\n".into())
    );
}

#[test]
fn help_and_version() {
    let (code, out, err) = run(&["-v"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n", "")
    );
    let (code, out, err) = run(&["--help"]);
    assert_eq!((code, err.as_str()), (0, ""));
    let prog = env!("CARGO_BIN_EXE_ipvsadm-rs");
    assert!(out.contains(&format!("\n  {prog} --stop-daemon {{master|backup}}\n")));
}

#[test]
fn closed_pipe_is_not_an_error() {
    // The reading end is closed before the program starts, so its first
    // write fails with EPIPE.
    let (reader, writer) = nix::unistd::pipe().unwrap();
    drop(reader);
    let mut child =
        bin().arg("-h").stdout(Stdio::from(writer)).stderr(Stdio::piped()).spawn().unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!((status.code(), err.as_str()), (Some(0), ""));
}
