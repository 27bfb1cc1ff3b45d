//! Readiness for pulse (`--ready-file`): lvsd's table is complete when
//! every nanny has given a first verdict on its server (up, or down from
//! its report or its first-verdict deadline). While it is, the file holds
//! lvsd's pid; it is removed when the table is no longer complete (a
//! reload added servers) and when lvsd exits. pulse reads it, and trusts
//! it only when the pid is that of the lvsd it started, so a file left by a
//! killed lvsd says nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::spec::{NannyKey, NannySpec, Report};

/// Whether every nanny of the configuration has reported (pure).
pub fn complete(
    nannies: &BTreeMap<NannyKey, NannySpec>,
    reports: &BTreeMap<NannyKey, Report>,
) -> bool {
    nannies.keys().all(|k| reports.contains_key(k))
}

/// The readiness file; removed on drop.
#[derive(Debug)]
pub struct ReadyFile {
    path: PathBuf,
    ready: bool,
}

impl ReadyFile {
    /// A file at `path`, not ready (a stale one is removed).
    pub fn new(path: PathBuf) -> ReadyFile {
        let _ = std::fs::remove_file(&path);
        ReadyFile { path, ready: false }
    }

    /// Writes or removes the file when readiness changes.
    pub fn set(&mut self, ready: bool) {
        if ready == self.ready {
            return;
        }
        self.ready = ready;
        if ready {
            log::info!("table complete: every nanny has given a first verdict");
            // Written whole under another name, then renamed: pulse never
            // reads half a pid.
            let tmp = self.path.with_extension("tmp");
            let r = std::fs::write(&tmp, format!("{}\n", std::process::id()))
                .and_then(|()| std::fs::rename(&tmp, &self.path));
            if let Err(e) = r {
                log::warn!("cannot write the ready file {}: {e}", self.path.display());
            }
        } else {
            log::info!("table no longer complete: waiting for first verdicts");
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Drop for ReadyFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_when_every_nanny_has_reported_and_the_file_says_so() {
        let dir = std::env::temp_dir().join(format!("lvsd-ready-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ready");
        std::fs::write(&path, "1\n").unwrap();
        let mut f = ReadyFile::new(path.clone());
        assert!(!path.exists(), "a stale file is removed");
        f.set(true);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{}\n", std::process::id()));
        f.set(false);
        assert!(!path.exists());
        f.set(true);
        drop(f);
        assert!(!path.exists(), "removed at exit");
        let _ = std::fs::remove_dir_all(&dir);
        let empty = BTreeMap::new();
        assert!(complete(&empty, &BTreeMap::new()), "no nanny: complete at once");
    }
}
