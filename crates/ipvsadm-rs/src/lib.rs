//! ipvsadm-rs: a byte-for-byte drop-in replacement for ipvsadm 1.31.
//!
//! The API is what the binary uses, and nothing else depends on this
//! crate: [`run`] over an [`Env`] (the table, the streams, the resolver of
//! [`resolve`]), and the parsed command line it acts on ([`Action`],
//! [`Parsed`], [`CliError`]). The modules behind it are private:
//! - `popt` and `cli`: the command line, from `argv` to an [`Action`] or
//!   ipvsadm's exact error (pure; names through a [`resolve::Resolver`]).
//! - `format` and `json`: the listings as pure functions over the `ipvs`
//!   model; `sort` reproduces libipvs's sort order.
//! - `commands`: one module per command family, doing the IO through a
//!   [`IpvsTable`] (the `ipvs` client, or `ipvs::FakeTable` in tests) and
//!   the output streams.
//! - `sys`: the C library's resolver calls, the only `unsafe` here.
//!
//! Exit statuses follow ipvsadm: 0 success, 1 a listing failed, 2 a bad
//! command line (`fail`), 255 a kernel refusal, a popt error or no command.

mod cli;
mod commands;
mod format;
mod help;
mod json;
mod popt;
pub mod resolve;
mod sort;
mod sys;

use std::io::{self, BufRead, Write};
use std::path::PathBuf;

pub use ipvs::IpvsTable;

pub use cli::{Action, CliError, Format, Parsed};

/// Everything outside the process a run needs.
pub struct Env<'a> {
    /// Standard output.
    pub out: &'a mut dyn Write,
    /// Standard error.
    pub err: &'a mut dyn Write,
    /// Standard input (`-R`).
    pub input: &'a mut dyn BufRead,
    /// Name and number look-ups.
    pub resolver: &'a dyn resolve::Resolver,
    /// Where `proc/net/ip_vs_conn` is found (`/` on a live system).
    pub root: PathBuf,
    /// `POSIXLY_CORRECT` or `POSIX_ME_HARDER` is set.
    pub posix_me_harder: bool,
    /// Opens the table (ipvsadm's `ipvs_init`); called at most once.
    pub connect: &'a mut dyn FnMut() -> Result<Box<dyn IpvsTable>, ipvs::Error>,
}

impl std::fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env").field("root", &self.root).finish_non_exhaustive()
    }
}

/// A run in progress: the environment and the table once opened.
pub struct Ctx<'a, 'b> {
    /// The environment.
    pub env: &'a mut Env<'b>,
    /// `argv[0]`, used in messages.
    pub prog: String,
    table: Option<Box<dyn IpvsTable>>,
}

impl std::fmt::Debug for Ctx<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx").field("prog", &self.prog).finish_non_exhaustive()
    }
}

/// How a run ends early.
#[derive(Debug)]
pub enum Stop {
    /// Exit now with this status (the message, if any, is already written).
    Exit(i32),
    /// Writing failed (a closed pipe is handled by the caller).
    Io(io::Error),
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Stop {
        Stop::Io(e)
    }
}

impl<'a, 'b> Ctx<'a, 'b> {
    /// The table, opened on first use; failing to open it is ipvsadm's
    /// `Can't initialize ipvs` (exit 2).
    pub fn table(&mut self) -> Result<&mut dyn IpvsTable, Stop> {
        if self.table.is_none() {
            match (self.env.connect)() {
                Ok(t) => self.table = Some(t),
                Err(e) => {
                    let msg = match e {
                        // Without IPVS, ipvsadm falls back to the socket
                        // option interface, which fails with ENOPROTOOPT.
                        ipvs::Error::FamilyNotFound => {
                            ipvs::ipvs_strerror(ipvs::Op::Init, libc::ENOPROTOOPT)
                        }
                        e => e.ipvsadm_message(),
                    };
                    write!(
                        self.env.err,
                        "Can't initialize ipvs: {msg}\nAre you sure that IP Virtual Server is built in the kernel or as module?\n"
                    )?;
                    return Err(Stop::Exit(2));
                }
            }
        }
        match self.table.as_deref_mut() {
            Some(t) => Ok(t),
            None => Err(Stop::Exit(2)),
        }
    }
}

/// Run one ipvsadm command line; the exit status.
///
/// # Errors
///
/// Only a failure to write to the output streams.
pub fn run(argv: &[String], env: &mut Env<'_>) -> io::Result<i32> {
    let prog = argv.first().cloned().unwrap_or_else(|| "ipvsadm".to_string());
    let mut ctx = Ctx { env, prog, table: None };
    let result = if argv.len() <= 1 {
        commands::list::run(&mut ctx, &Action::ListAll(Format::default())).map(|()| 0)
    } else {
        commands::run_line(&mut ctx, argv, false)
    };
    match result {
        Ok(code) => Ok(code),
        Err(Stop::Exit(code)) => Ok(code),
        Err(Stop::Io(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests;

/// Tests' shorthand for an IPv4 address.
#[cfg(test)]
pub(crate) fn v4(a: u8, b: u8, c: u8, d: u8) -> std::net::IpAddr {
    std::net::IpAddr::from([a, b, c, d])
}
