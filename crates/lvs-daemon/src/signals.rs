//! Signals in one style for every daemon: signal-hook's self-pipe behind a
//! mio source, read in the loop like any other event (nothing runs in the
//! handler but the write to the pipe).

use std::io;

use mio::{Interest, Registry, Token};
use signal_hook_mio::v1_0::Signals as Source;

pub use signal_hook::consts::signal::{SIGCHLD, SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2};

/// The signals a loop handles, registered with its poller.
pub struct Signals {
    source: Source,
}

impl std::fmt::Debug for Signals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signals")
    }
}

impl Signals {
    /// Handles `signals` from now on (their default actions no longer
    /// happen) and registers them with `registry` under `token`.
    ///
    /// # Errors
    /// A handler cannot be installed, or the registration fails.
    pub fn new(signals: &[i32], registry: &Registry, token: Token) -> io::Result<Signals> {
        let mut source = Source::new(signals)?;
        registry.register(&mut source, token, Interest::READABLE)?;
        Ok(Signals { source })
    }

    /// The signals that came since the last call (each once, however many
    /// times it came); call it when `token` is readable.
    pub fn pending(&mut self) -> Vec<i32> {
        self.source.pending().collect()
    }
}

/// Keeps `signal`'s default action (often death) from happening before the
/// loop that handles it is set up: it is caught and forgotten until then.
///
/// # Errors
/// The handler cannot be installed.
pub fn defer(signal: i32) -> io::Result<()> {
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    signal_hook::flag::register(signal, flag).map(drop)
}
