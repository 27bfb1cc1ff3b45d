//! Reading the settings for a reload off the loop: SIGHUP (or the control
//! `reload`) starts a thread that reads, parses and validates the file
//! (through `lvs_config::read_file`: regular files only, bounded), and the
//! loop keeps heartbeating; the result comes back on a channel, with a
//! [`mio::Waker`] to wake the loop, and is applied in one turn. A slow
//! filesystem (a hung NFS mount) then delays only the reload, never a
//! heartbeat. At most one read runs at a time; a request while one runs is
//! remembered and starts a fresh read when it ends, so the last SIGHUP
//! always sees the file as it was after it.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;

use crate::setup::{load, Loaded, Options, RunError};

/// The loader thread's result.
pub type Outcome = Result<Loaded, RunError>;

/// Runs one settings read at a time on a thread.
#[derive(Debug)]
pub struct Reloader {
    tx: Sender<Outcome>,
    rx: Receiver<Outcome>,
    waker: Arc<mio::Waker>,
    running: bool,
    again: bool,
}

impl Reloader {
    /// A reloader that wakes the loop through `waker` when a read is done.
    pub fn new(waker: Arc<mio::Waker>) -> Reloader {
        let (tx, rx) = mpsc::channel();
        Reloader { tx, rx, waker, running: false, again: false }
    }

    /// Starts reading the settings, or queues one more read if a read is
    /// running.
    pub fn request(&mut self, opts: &Options, boot_id: u64) {
        if self.running {
            log::warn!(
                "reload: the previous read of {} has not finished; reading again after it",
                opts.config.display()
            );
            self.again = true;
            return;
        }
        log::info!("re-reading {}", opts.config.display());
        let (tx, waker, opts) = (self.tx.clone(), Arc::clone(&self.waker), opts.clone());
        let spawned = std::thread::Builder::new().name("pulse-reload".into()).spawn(move || {
            let _ = tx.send(load(&opts, boot_id));
            if let Err(e) = waker.wake() {
                log::error!("reload: waking the loop: {e}");
            }
        });
        match spawned {
            Ok(_) => self.running = true,
            Err(e) => log::error!("reload refused, keeping the running configuration: {e}"),
        }
    }

    /// The finished read, if any; when another read was asked for while it
    /// ran, that read is started (and this result is dropped: it may be
    /// older than the file).
    pub fn take(&mut self, opts: &Options, boot_id: u64) -> Option<Outcome> {
        let r = self.rx.try_recv().ok()?;
        self.running = false;
        if std::mem::take(&mut self.again) {
            self.request(opts, boot_id);
            return None;
        }
        Some(r)
    }
}
