//! Command line: pure, argv in, [`Options`] out.

use std::ffi::OsString;
use std::path::PathBuf;

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Set up, then wait for SIGHUP (reconcile again) or SIGTERM/SIGINT
    /// (undo and exit).
    Run,
    /// Print what would be done, change nothing (`-t`, `--dry-run`).
    DryRun,
    /// Validate the configuration file and exit (`--check-config`).
    CheckConfig,
}

/// Parsed options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Configuration file; `None`: [`lvs_config::default_path`].
    pub config: Option<PathBuf>,
    /// What to do.
    pub mode: Mode,
    /// Debug logging.
    pub verbose: bool,
    /// Where the record of what lvs-node changed is kept (`--state`).
    pub state: PathBuf,
}

/// The default `--state` file: on tmpfs, so a reboot (which resets what
/// lvs-node changed) forgets it too.
pub const DEFAULT_STATE: &str = "/run/lvs-node.journal";

/// What the command line asks for.
#[derive(Debug)]
pub enum Parsed {
    /// Options to act on.
    Run(Options),
    /// `--help`.
    Help,
    /// `--version`.
    Version,
}

/// Usage text.
pub const USAGE: &str = "\
usage: lvs-node [-c FILE] [-t | --check-config] [-v]

Sets this host up as the real server(s) the configuration names by one of
its addresses: direct routing (VIP on lo, arp_ignore=1, arp_announce=2),
tunnelling (tunl0 with the VIP, rp_filter=0), NAT (default route via the
nat_router address). Runs in the foreground;
SIGHUP re-reads the file and reconciles; SIGTERM/SIGINT undo every change
lvs-node made and exit.

  -c, --config=FILE   configuration file [/etc/lvs-router/lvs.yaml, else /etc/sysconfig/ha/lvs.cf]
  -t, --dry-run       print what would be done and exit, changing nothing
      --check-config  validate the configuration file and exit (0 good, 1 bad)
      --state=FILE    record of what lvs-node changed, kept across restarts
                      [/run/lvs-node.journal]
  -n, --nodaemon      accepted: lvs-node always runs in the foreground
  -v, --verbose       debug logging
      --version
";

/// Parses argv (without the program name).
///
/// # Errors
/// An unknown option or a missing value.
pub fn parse<I>(args: I) -> Result<Parsed, lexopt::Error>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_args(args);
    let mut o =
        Options { config: None, mode: Mode::Run, verbose: false, state: DEFAULT_STATE.into() };
    while let Some(arg) = p.next()? {
        match arg {
            Short('c') | Long("config") => o.config = Some(p.value()?.into()),
            Short('t') | Long("dry-run") => o.mode = Mode::DryRun,
            Long("check-config") => o.mode = Mode::CheckConfig,
            Long("state") => o.state = p.value()?.into(),
            Short('n') | Long("nodaemon") => {}
            Short('v') | Long("verbose") => o.verbose = true,
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Long("version") => return Ok(Parsed::Version),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Parsed::Run(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(a: &[&str]) -> Options {
        match parse(a.iter().copied()) {
            Ok(Parsed::Run(o)) => o,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn options() {
        assert_eq!(
            opts(&[]),
            Options { config: None, mode: Mode::Run, verbose: false, state: DEFAULT_STATE.into() }
        );
        assert_eq!(opts(&["--state=/tmp/j"]).state, PathBuf::from("/tmp/j"));
        let o = opts(&["-c", "/x.yaml", "-t", "-v"]);
        assert_eq!(
            (o.config.as_deref(), o.mode, o.verbose),
            (Some("/x.yaml".as_ref()), Mode::DryRun, true)
        );
        assert_eq!(opts(&["--check-config"]).mode, Mode::CheckConfig);
        assert!(parse(["--bogus"]).is_err());
        assert!(parse(["-c"]).is_err());
        assert!(matches!(parse(["--help"]), Ok(Parsed::Help)));
    }
}
