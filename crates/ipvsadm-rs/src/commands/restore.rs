//! `-R`: run the lines of standard input, as ipvsadm's `restore_table` and
//! `config_stream_read` do: words split on blanks, tabs and CRs, every word
//! `ipvsadm` dropped, empty lines skipped, no comment handling (a `#` line
//! is an error, as in ipvsadm). A kernel refusal prints its message and
//! goes on; a bad line (`fail`) stops with status 2; the status is the
//! last line's.
//!
//! Consecutive changes to the table are sent as one batch (one netlink
//! exchange per 128 commands); the batch is flushed before anything else
//! is printed, so messages keep ipvsadm's order.

use ipvs::Command;

use crate::cli::{Action, Parsed};
use crate::commands::{apply, list, parse};
use crate::{help, Ctx, Stop};

/// Split one input line into words (the first word is `argv[0]`).
pub fn words(line: &[u8], prog: &str) -> Vec<String> {
    let mut argv = vec![prog.to_string()];
    for w in line.split(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')) {
        if w.is_empty() || w == b"ipvsadm" {
            continue;
        }
        argv.push(String::from_utf8_lossy(w).into_owned());
    }
    argv
}

fn flush(ctx: &mut Ctx<'_, '_>, batch: &mut Vec<Command>, last: &mut i32) -> Result<(), Stop> {
    if batch.is_empty() {
        return Ok(());
    }
    let codes = apply::run_batch(ctx, batch)?;
    batch.clear();
    if let Some(c) = codes.last() {
        *last = *c;
    }
    Ok(())
}

/// Run standard input; the last line's status.
///
/// # Errors
///
/// [`Stop`] when a line makes ipvsadm exit.
pub fn run(ctx: &mut Ctx<'_, '_>) -> Result<i32, Stop> {
    let mut batch: Vec<Command> = Vec::new();
    let mut last = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        if ctx.env.input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let argv = words(&line, &ctx.prog);
        if argv.len() <= 1 {
            continue;
        }
        let outcome = step(ctx, &argv, &mut batch, &mut last);
        if let Err(stop) = outcome {
            flush(ctx, &mut batch, &mut last)?;
            return Err(stop);
        }
    }
    flush(ctx, &mut batch, &mut last)?;
    Ok(last)
}

fn step(
    ctx: &mut Ctx<'_, '_>,
    argv: &[String],
    batch: &mut Vec<Command>,
    last: &mut i32,
) -> Result<(), Stop> {
    // Parse without printing first: messages must wait for the batch.
    match crate::cli::parse(argv, ctx.env.resolver, ctx.env.posix_me_harder) {
        Ok(Parsed::Run(Action::Apply(cmd))) => {
            batch.push(cmd);
            if batch.len() >= 4096 {
                flush(ctx, batch, last)?;
            }
            Ok(())
        }
        Ok(Parsed::Run(Action::Restore)) => {
            flush(ctx, batch, last)?;
            ctx.env.err.write_all(help::try_help(&ctx.prog).as_bytes())?;
            Err(Stop::Exit(255))
        }
        Ok(Parsed::Run(action)) => {
            flush(ctx, batch, last)?;
            list::run(ctx, &action)?;
            *last = 0;
            Ok(())
        }
        _ => {
            flush(ctx, batch, last)?;
            // Re-parse to print the message (parsing is pure and repeatable).
            match parse(ctx, argv)? {
                Err(code) => {
                    *last = code;
                    Ok(())
                }
                Ok(Parsed::Help) => {
                    ctx.env.out.write_all(help::usage(&ctx.prog).as_bytes())?;
                    Err(Stop::Exit(0))
                }
                Ok(Parsed::Version) => {
                    ctx.env.out.write_all(help::VERSION_LINE.as_bytes())?;
                    Err(Stop::Exit(0))
                }
                Ok(Parsed::Run(_)) => Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_like_config_stream_read() {
        assert_eq!(
            words(b"-A -t 1.2.3.4:80 -s rr\n", "x"),
            ["x", "-A", "-t", "1.2.3.4:80", "-s", "rr"]
        );
        assert_eq!(words(b"ipvsadm -C\r\n", "x"), ["x", "-C"]);
        assert_eq!(words(b" \t \n", "x"), ["x"]);
        assert_eq!(words(b"# comment\n", "x"), ["x", "#", "comment"]);
    }
}
