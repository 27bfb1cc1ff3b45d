//! Becoming a daemon, and the pid file that says which process it is.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

/// How a daemon leaves its terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detach {
    /// fork (the parent exits 0), a new session, cwd `/`, the standard
    /// streams on /dev/null: daemon(3), for an init script.
    Fork,
    /// A new session if it can have one and the standard streams on
    /// /dev/null, in the same process: for a supervisor that watches this
    /// pid (pulse starts lvsd so).
    InPlace,
}

/// Detaches the process from its terminal. Call it before starting any
/// thread: only the calling thread goes on after a fork.
///
/// # Errors
/// fork, setsid or the redirection failed.
pub fn detach(how: Detach) -> io::Result<()> {
    match how {
        Detach::Fork => nix::unistd::daemon(false, false).map_err(io::Error::from),
        Detach::InPlace => {
            // EPERM when already a process group leader (a child started in
            // a group of its own): it is detached from the terminal enough.
            let _ = nix::unistd::setsid();
            let null = OpenOptions::new().read(true).write(true).open("/dev/null")?;
            nix::unistd::dup2_stdin(&null)?;
            nix::unistd::dup2_stdout(&null)?;
            nix::unistd::dup2_stderr(&null)?;
            Ok(())
        }
    }
}

/// A pid file held for the life of the daemon: created if missing, locked
/// (`flock`, so a file left by a crash is taken over and a second daemon
/// is refused), holding the pid, removed on drop.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    _lock: Flock<File>,
}

/// Why a pid file could not be taken.
#[derive(Debug)]
pub enum PidFileError {
    /// Another process holds it; its pid when the file says one.
    Held {
        /// The file.
        path: PathBuf,
        /// The pid in it.
        pid: Option<u32>,
    },
    /// It cannot be created or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

impl std::fmt::Display for PidFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PidFileError::Held { path, pid: Some(pid) } => {
                write!(f, "pid file {}: held by running process {pid}", path.display())
            }
            PidFileError::Held { path, pid: None } => {
                write!(f, "pid file {}: held by another process", path.display())
            }
            PidFileError::Io { path, source } => write!(f, "pid file {}: {source}", path.display()),
        }
    }
}

impl std::error::Error for PidFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PidFileError::Io { source, .. } => Some(source),
            PidFileError::Held { .. } => None,
        }
    }
}

impl PidFile {
    /// Takes `path` for this process and writes its pid there.
    ///
    /// # Errors
    /// Another process holds the file, or it cannot be written.
    pub fn create(path: &Path) -> Result<PidFile, PidFileError> {
        let io_err = |source| PidFileError::Io { path: path.to_path_buf(), source };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(path)
            .map_err(io_err)?;
        let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(l) => l,
            Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(PidFileError::Held {
                    path: path.to_path_buf(),
                    pid: text.trim().parse().ok(),
                });
            }
            Err((_, e)) => return Err(io_err(e.into())),
        };
        lock.set_len(0).map_err(io_err)?;
        lock.rewind().map_err(io_err)?;
        lock.write_all(format!("{}\n", std::process::id()).as_bytes()).map_err(io_err)?;
        Ok(PidFile { path: path.to_path_buf(), _lock: lock })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // Removed while still locked, so no other daemon took it meanwhile.
        let _ = std::fs::remove_file(&self.path);
    }
}
