//! The commands of ipvsadm, one module per family: listings (`-L`, `-S`),
//! changes to the table (`-A -E -D -a -e -d -C -Z --set --start-daemon
//! --stop-daemon`) and `-R`. Each takes the parsed action and does its IO
//! through [`crate::Ctx`].

pub mod apply;
pub mod list;
pub mod restore;

use crate::cli::{self, Action, CliError, Parsed};
use crate::{help, Ctx, Stop};

/// Parse and run one command line (the process's own, or a `-R` line);
/// the status ipvsadm's `process_options` returns, as an exit code.
///
/// # Errors
///
/// [`Stop::Exit`] when ipvsadm would exit at once (`fail`, `tryhelp_exit`,
/// a listing error, `-h`), [`Stop::Io`] when writing fails.
pub fn run_line(ctx: &mut Ctx<'_, '_>, argv: &[String], reading_stdin: bool) -> Result<i32, Stop> {
    match parse(ctx, argv)? {
        Err(code) => Ok(code),
        Ok(Parsed::Help) => {
            ctx.env.out.write_all(help::usage(&ctx.prog).as_bytes())?;
            Err(Stop::Exit(0))
        }
        Ok(Parsed::Version) => {
            ctx.env.out.write_all(help::VERSION_LINE.as_bytes())?;
            Err(Stop::Exit(0))
        }
        Ok(Parsed::Run(action)) => match action {
            Action::Restore if reading_stdin => {
                ctx.env.err.write_all(help::try_help(&ctx.prog).as_bytes())?;
                Err(Stop::Exit(255))
            }
            Action::Restore => restore::run(ctx),
            Action::Apply(cmd) => apply::run(ctx, &cmd),
            other => list::run(ctx, &other).map(|()| 0),
        },
    }
}

/// Parse, printing ipvsadm's message for a bad line. `Ok(Err(code))` is a
/// popt error: the line failed with status 255 but `-R` goes on.
pub fn parse(ctx: &mut Ctx<'_, '_>, argv: &[String]) -> Result<Result<Parsed, i32>, Stop> {
    match cli::parse(argv, ctx.env.resolver, ctx.env.posix_me_harder) {
        Ok(p) => Ok(Ok(p)),
        Err(CliError::TryHelp) => {
            ctx.env.err.write_all(help::try_help(&ctx.prog).as_bytes())?;
            Err(Stop::Exit(255))
        }
        Err(CliError::Popt(msg)) => {
            writeln!(ctx.env.err, "{msg}")?;
            Ok(Err(255))
        }
        Err(CliError::Fail(msg)) => {
            writeln!(ctx.env.err, "{msg}")?;
            Err(Stop::Exit(2))
        }
    }
}
