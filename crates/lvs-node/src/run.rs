//! The loop: load, reconcile, wait for signals. A bad file on SIGHUP
//! keeps the running configuration (and what it set up).

use std::path::Path;

use anyhow::{Context, Result};
use lvs_config::Config;
use lvs_daemon::{Signals, SIGHUP, SIGINT, SIGTERM};
use lvs_net::Rtnl;
use mio::{Events, Poll, Token};

use crate::plan::{self, Action, Desired, Journal, Observed};
use crate::{host, journal};

/// Reads the journal a previous lvs-node left (none: empty).
///
/// # Errors
/// The file exists but cannot be read or parsed.
pub fn load_journal(state: &Path) -> Result<Journal> {
    match std::fs::read_to_string(state) {
        Ok(text) => journal::decode(&text).map_err(|e| {
            anyhow::anyhow!("{}: {e} (remove the file to start afresh)", state.display())
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Journal::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", state.display())),
    }
}

/// Writes the journal (whole, then renamed into place); an empty one
/// removes the file.
fn save_journal(state: &Path, j: &Journal) -> Result<()> {
    if j.is_empty() {
        return match std::fs::remove_file(state) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing {}", state.display()))
            }
            _ => Ok(()),
        };
    }
    let tmp = state.with_extension("tmp");
    std::fs::write(&tmp, journal::encode(j))
        .and_then(|()| std::fs::rename(&tmp, state))
        .with_context(|| format!("writing {}", state.display()))
}

/// Loads `path`, logging every diagnostic.
///
/// # Errors
/// The file is bad: every error, one per line.
pub fn load(path: &Path) -> Result<Config> {
    let (config, diags) = lvs_config::load_file(path);
    for d in diags.iter().filter(|d| !d.is_error()) {
        log::warn!("{d}");
    }
    config.ok_or_else(|| {
        let errs: Vec<String> =
            diags.iter().filter(|d| d.is_error()).map(ToString::to_string).collect();
        anyhow::anyhow!("{}", errs.join("\n"))
    })
}

/// Observes the host, including the sysctls `desired` and `journal` need.
fn observe_for(
    rtnl: &mut Rtnl,
    config: Option<&Config>,
    journal: &Journal,
) -> Result<(Desired, Observed)> {
    let mut o = host::observe(rtnl, &Default::default()).context("reading the host")?;
    let d = config.map_or_else(Desired::default, |c| plan::desired(c, &o));
    for k in plan::sysctl_keys(&d, journal) {
        if let Some(v) = host::read_sysctl(&k) {
            o.sysctls.insert(k, v);
        }
    }
    Ok((d, o))
}

/// The dry run: what would be done, as lines.
///
/// # Errors
/// The host cannot be read.
pub fn dry_run(config: &Config, state: &Path) -> Result<Vec<String>> {
    let j = load_journal(state)?;
    let mut rtnl = Rtnl::open().context("opening rtnetlink")?;
    let (d, o) = observe_for(&mut rtnl, Some(config), &j)?;
    let mut out = Vec::new();
    if d.roles.is_empty() {
        out.push("# this host is none of the configured real servers".to_owned());
    }
    out.extend(d.roles.iter().map(|r| format!("# real server {r}")));
    out.extend(d.warnings.iter().map(|w| format!("# warning: {w}")));
    out.extend(plan::plan(&d, &o, &j).iter().map(ToString::to_string));
    Ok(out)
}

/// Brings the host to what `config` needs (`None`: undo everything);
/// `journal` follows each step that succeeded. Stops at the first failure.
fn reconcile(
    rtnl: &mut Rtnl,
    config: Option<&Config>,
    journal: &mut Journal,
    state: &Path,
) -> Result<()> {
    let (d, o) = observe_for(rtnl, config, journal)?;
    if config.is_some() {
        if d.roles.is_empty() {
            log::warn!("this host is none of the configured real servers: nothing to set up");
        }
        for r in &d.roles {
            log::info!("this host is real server {r}");
        }
        for w in &d.warnings {
            log::warn!("{w}");
        }
    }
    let actions: Vec<Action> = plan::plan(&d, &o, journal);
    if actions.is_empty() {
        log::info!("nothing to change");
    }
    for a in &actions {
        let done = host::apply(rtnl, a).with_context(|| format!("{a}"))?;
        log::info!("{done}");
        journal.note(&done);
        save_journal(state, journal)?;
    }
    if actions.is_empty() {
        save_journal(state, journal)?;
    }
    Ok(())
}

/// Sets up, then serves signals until SIGTERM/SIGINT, then undoes.
///
/// # Errors
/// The first setup fails (after undoing what it did), or signals cannot be
/// installed.
pub fn serve(path: &Path, state: &Path, config: Config) -> Result<()> {
    // Signals are all lvs-node waits for: a poll over them alone.
    let mut poll = Poll::new().context("creating the poller")?;
    let mut signals = Signals::new(&[SIGHUP, SIGTERM, SIGINT], poll.registry(), Token(0))
        .context("installing signal handlers")?;
    let mut rtnl = Rtnl::open().context("opening rtnetlink")?;
    let mut journal = load_journal(state)?;
    if !journal.is_empty() {
        log::info!("adopting what a previous lvs-node changed ({})", state.display());
    }
    let mut config = config;
    if let Err(e) = reconcile(&mut rtnl, Some(&config), &mut journal, state) {
        log::error!("setup failed: {e:#}; undoing");
        if let Err(u) = reconcile(&mut rtnl, None, &mut journal, state) {
            log::error!("undo failed: {u:#}");
        }
        return Err(e);
    }
    let mut events = Events::with_capacity(4);
    loop {
        match poll.poll(&mut events, None) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("waiting for signals"),
        }
        for sig in signals.pending() {
            if sig != SIGHUP {
                log::info!("terminating: undoing what lvs-node set up");
                return reconcile(&mut rtnl, None, &mut journal, state);
            }
            log::info!("SIGHUP: reloading {}", path.display());
            match load(path) {
                Ok(c) => config = c,
                Err(e) => log::error!("bad configuration, keeping the running one:\n{e}"),
            }
            if let Err(e) = reconcile(&mut rtnl, Some(&config), &mut journal, state) {
                log::error!("reconcile failed: {e:#}");
            }
        }
    }
}
