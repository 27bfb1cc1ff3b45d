//! The operator's overrides as the loop keeps them ([`Operator`]: the set,
//! the configuration's catalog of what requests may name, the file), and
//! writing the file off the loop: the loop hands the text to a
//! thread, which writes it atomically (a temporary file in the same
//! directory, `fsync`, `rename`, `fsync` of the directory) and wakes the
//! loop, which then tells lvsd to read it (SIGUSR1). A slow disk delays
//! only the write, never a heartbeat; when several versions queue up, only
//! the newest is written.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use lvs_config::overrides::{Author, Catalog, Overrides};

use crate::operate::{self, OpRequest};
use crate::share::{self, Message, Response};
use crate::wire::Key;

/// How the overrides reach the other routers.
#[derive(Clone, Debug)]
pub enum Sharing {
    /// Alone: nobody to share with.
    Alone,
    /// Over the native heartbeat channel, with its key.
    Native(Key),
    /// piranha heartbeats have no key: overrides stay local (warned).
    Local,
}

/// The overrides pulse owns: kept in memory, changed by control requests,
/// pruned at reloads, and written to the file lvsd reads.
#[derive(Debug)]
pub struct Operator {
    writer: StateWriter,
    catalog: Catalog,
    overrides: Overrides,
    path: PathBuf,
    me: String,
    sharing: Sharing,
    next_version: Option<Instant>,
    /// Changed before the loop runs (pruned at start): written by
    /// [`Operator::begin`], after pulse has daemonized.
    unsaved: bool,
}

impl Operator {
    /// Reads the file at start (bounded, through `lvs_config::read_file`;
    /// a bad file is logged and replaced at the next change) and drops
    /// entries the configuration no longer has.
    pub fn new(
        waker: Arc<mio::Waker>,
        catalog: Catalog,
        path: PathBuf,
        me: String,
        sharing: Sharing,
    ) -> Operator {
        let overrides = match lvs_config::overrides::read(&path) {
            Ok(o) => o,
            Err(e) => {
                log::error!("overrides: {e}; starting with none");
                Overrides::default()
            }
        };
        if !overrides.entries.is_empty() {
            log::info!(
                "overrides: {} entries, generation {} from {}",
                overrides.entries.len(),
                overrides.generation,
                overrides.origin
            );
        }
        let mut op = Operator {
            writer: StateWriter::new(waker),
            catalog,
            overrides,
            path,
            me,
            sharing,
            next_version: None,
            unsaved: false,
        };
        op.unsaved = op.prune_only();
        op
    }

    /// Takes a reloaded configuration: entries it no longer has are
    /// dropped, each with a log line.
    pub fn reconfigure(&mut self, catalog: Catalog, path: PathBuf, me: String, sharing: Sharing) {
        self.sharing = sharing;
        if path != self.path {
            log::warn!(
                "overrides: the file moves from {} to {}",
                self.path.display(),
                path.display()
            );
            self.path = path;
            self.save();
        }
        self.catalog = catalog;
        self.me = me;
        self.prune();
    }

    fn prune(&mut self) {
        if self.prune_only() {
            self.save();
        }
    }

    /// Drops what the configuration lost; whether anything was.
    fn prune_only(&mut self) -> bool {
        let dropped = self.overrides.prune(&self.catalog);
        for line in &dropped {
            log::info!("overrides: {line}");
        }
        if !dropped.is_empty() {
            self.overrides.origin.clone_from(&self.me);
        }
        !dropped.is_empty()
    }

    /// Called when the loop starts (after pulse has daemonized, so the
    /// writer thread can start): writes what start-up changed.
    pub fn begin(&mut self) {
        // The writer thread starts now, before the loop's first measured
        // turn, not at the first write.
        self.writer.start_now();
        if std::mem::take(&mut self.unsaved) {
            self.save();
        }
    }

    fn save(&mut self) {
        self.writer.write(&self.path, self.overrides.to_text(), self.overrides.generation);
    }

    /// Answers a change request from `uid`: changes the set, logs it with
    /// the uid, and queues the file's new version.
    pub fn request(&mut self, req: &OpRequest, uid: u32) -> String {
        let at = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let who = Author { uid, at, router: self.me.clone() };
        match operate::apply(req, &self.catalog, &mut self.overrides, &who) {
            Ok(Some(done)) => {
                log::info!("control (uid {uid}): {done}");
                self.save();
                self.next_version = None; // tell the peers at the next heartbeat
                if let Sharing::Local = self.sharing {
                    log::warn!(
                        "overrides are not shared with the other router over piranha heartbeats \
                         (no authentication): give the same request there"
                    );
                }
                format!("ok: {done}\n")
            }
            Ok(None) => "ok: nothing to change\n".to_owned(),
            Err(e) => {
                log::info!("control (uid {uid}): refused: {e}");
                format!("error: {e}\n")
            }
        }
    }

    /// The `overrides` listing.
    pub fn list(&self) -> String {
        self.overrides.render()
    }

    /// Our version, to send with a heartbeat when [`share::SHARE_EVERY`]
    /// has passed since the last (or a change was made since).
    pub fn due_version(&mut self, now: Instant) -> Option<Vec<u8>> {
        let Sharing::Native(key) = &self.sharing else { return None };
        if self.next_version.is_some_and(|t| now < t) {
            return None;
        }
        self.next_version = Some(now + share::SHARE_EVERY);
        let v = Message::Version {
            generation: self.overrides.generation,
            origin: self.overrides.origin.clone(),
        };
        share::encode(&v, key)
    }

    /// A sharing message from peer `peer`: adopts a newer set (written,
    /// then lvsd is told), or returns our whole set when the peer is behind.
    pub fn on_share(&mut self, data: &[u8], peer: &str) -> Result<Option<Vec<u8>>, String> {
        let Sharing::Native(key) = &self.sharing else {
            return Err("sharing message without a key (piranha heartbeats)".into());
        };
        let msg = share::decode(data, key).map_err(|r| r.as_str().to_owned())?;
        match share::respond(&self.overrides, msg) {
            Response::Nothing => Ok(None),
            Response::SendFull => {
                let full = share::encode(&Message::Full(self.overrides.clone()), key);
                if full.is_none() {
                    log::error!(
                        "overrides: the set is too large for one message ({} entries); {peer} cannot get it",
                        self.overrides.entries.len()
                    );
                }
                Ok(full)
            }
            Response::Adopt(set) => {
                log::info!(
                    "overrides: generation {} by {} adopted from {peer} ({} entries; ours was generation {} by {})",
                    set.generation,
                    set.origin,
                    set.entries.len(),
                    self.overrides.generation,
                    self.overrides.origin
                );
                self.overrides = set;
                self.save();
                self.next_version = None;
                Ok(None)
            }
        }
    }

    /// Whether a write finished since the last call (lvsd must then be
    /// told); failures are logged.
    pub fn written(&self) -> bool {
        let mut any = false;
        for r in self.writer.finished() {
            match r {
                Ok(g) => {
                    log::debug!("overrides: generation {g} written");
                    any = true;
                }
                Err(e) => log::error!("overrides: {e}"),
            }
        }
        any
    }
}

/// One version to write.
type Job = (PathBuf, String, u64);

/// The writer thread and the results it sends back. The thread starts
/// when the loop begins ([`Operator::begin`]) or at the first write, not
/// before: pulse is prepared before it daemonizes, and a thread does not
/// survive the fork.
#[derive(Debug)]
pub struct StateWriter {
    waker: Arc<mio::Waker>,
    tx: Option<Sender<Job>>,
    done_tx: Sender<Result<u64, String>>,
    done: Receiver<Result<u64, String>>,
}

impl StateWriter {
    /// A writer that wakes the loop through `waker` after each write.
    pub fn new(waker: Arc<mio::Waker>) -> StateWriter {
        let (done_tx, done) = mpsc::channel();
        StateWriter { waker, tx: None, done_tx, done }
    }

    fn start(&self) -> Option<Sender<Job>> {
        let (tx, rx) = mpsc::channel::<Job>();
        let (done_tx, waker) = (self.done_tx.clone(), Arc::clone(&self.waker));
        let spawned = std::thread::Builder::new().name("pulse-state".into()).spawn(move || {
            while let Ok(mut job) = rx.recv() {
                // Only the newest version matters.
                while let Ok(newer) = rx.try_recv() {
                    job = newer;
                }
                let (path, text, generation) = job;
                let r = write_atomically(&path, text.as_bytes())
                    .map(|()| generation)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()));
                if done_tx.send(r).is_err() {
                    return;
                }
                let _ = waker.wake();
            }
        });
        match spawned {
            Ok(_) => Some(tx),
            Err(e) => {
                log::error!("overrides: cannot start the writer thread: {e}");
                None
            }
        }
    }

    /// Starts the thread unless it runs.
    pub fn start_now(&mut self) {
        if self.tx.is_none() {
            self.tx = self.start();
        }
    }

    /// Queues a version of the file (starting the thread if need be).
    pub fn write(&mut self, path: &Path, text: String, generation: u64) {
        if self.tx.is_none() {
            self.tx = self.start();
        }
        let job = (path.to_owned(), text, generation);
        match &self.tx {
            Some(tx) if tx.send(job).is_ok() => {}
            _ => {
                self.tx = None;
                log::error!("overrides: the writer thread is gone; {} not written", path.display());
            }
        }
    }

    /// The writes finished since the last call: generations written, and
    /// errors.
    pub fn finished(&self) -> Vec<Result<u64, String>> {
        self.done.try_iter().collect()
    }
}

/// Writes `bytes` to `path` so that a reader sees the old file or the new
/// one, never a part, even after a crash.
///
/// # Errors
/// Any IO error (the temporary file is removed).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let r = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_the_file_whole() {
        let dir = std::env::temp_dir().join(format!("pulse-state-{}", std::process::id()));
        let path = dir.join("sub/overrides");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let left: Vec<_> = std::fs::read_dir(dir.join("sub")).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file left");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
