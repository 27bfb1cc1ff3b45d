//! Reads the shared heartbeat key from its file, refusing a file that
//! someone other than root could read or change.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::wire::{Key, MIN_KEY_LEN};

/// Why the key was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be opened or read.
    #[error("cannot read heartbeat key {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The OS error (errno kept).
        source: std::io::Error,
    },
    /// Not owned by root.
    #[error("heartbeat key {path} is owned by uid {uid}, not root")]
    NotRootOwned {
        /// The key file.
        path: PathBuf,
        /// Its owner.
        uid: u32,
    },
    /// Readable or writable by group or others.
    #[error("heartbeat key {path} has mode {mode:04o}: group and others must have no access")]
    TooOpen {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Not a regular file.
    #[error("heartbeat key {path} is not a regular file")]
    NotAFile {
        /// The key file.
        path: PathBuf,
    },
    /// Too short after trimming trailing whitespace.
    #[error("heartbeat key {path} is {len} bytes; at least {MIN_KEY_LEN} are needed")]
    TooShort {
        /// The key file.
        path: PathBuf,
        /// Its usable length.
        len: usize,
    },
}

/// Checks owner and mode. Pure, so it is tested without root.
///
/// # Errors
/// [`KeyError::NotRootOwned`] or [`KeyError::TooOpen`].
pub fn check_owner_and_mode(path: &Path, uid: u32, mode: u32) -> Result<(), KeyError> {
    if uid != 0 {
        return Err(KeyError::NotRootOwned { path: path.into(), uid });
    }
    if mode & 0o077 != 0 {
        return Err(KeyError::TooOpen { path: path.into(), mode: mode & 0o7777 });
    }
    Ok(())
}

/// Turns file contents into a key: trailing whitespace (a final newline
/// from an editor or `echo`) is not part of it.
///
/// # Errors
/// [`KeyError::TooShort`].
pub fn key_from_bytes(path: &Path, mut bytes: Vec<u8>) -> Result<Key, KeyError> {
    while bytes.last().is_some_and(|b| b.is_ascii_whitespace()) {
        bytes.pop();
    }
    let len = bytes.len();
    Key::new(bytes).ok_or_else(|| KeyError::TooShort { path: path.into(), len })
}

/// Opens, checks and reads the key file. The checks are made on the open
/// file, so the file cannot be swapped between check and read.
///
/// # Errors
/// Any [`KeyError`].
pub fn load(path: &Path) -> Result<Key, KeyError> {
    let io = |source| KeyError::Io { path: path.into(), source };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let meta = f.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(KeyError::NotAFile { path: path.into() });
    }
    check_owner_and_mode(path, meta.uid(), meta.mode())?;
    let mut bytes = Vec::new();
    f.by_ref().take(64 * 1024).read_to_end(&mut bytes).map_err(io)?;
    key_from_bytes(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_and_mode() {
        let p = Path::new("/k");
        assert!(check_owner_and_mode(p, 0, 0o100600).is_ok());
        assert!(check_owner_and_mode(p, 0, 0o100400).is_ok());
        let e = check_owner_and_mode(p, 0, 0o100644).unwrap_err().to_string();
        assert_eq!(e, "heartbeat key /k has mode 0644: group and others must have no access");
        assert!(matches!(check_owner_and_mode(p, 0, 0o100640), Err(KeyError::TooOpen { .. })));
        assert!(matches!(
            check_owner_and_mode(p, 1000, 0o100600),
            Err(KeyError::NotRootOwned { uid: 1000, .. })
        ));
    }

    #[test]
    fn contents() {
        let p = Path::new("/k");
        assert!(key_from_bytes(p, b"0123456789abcdef\n".to_vec()).is_ok());
        let e = key_from_bytes(p, b"short\n".to_vec()).unwrap_err().to_string();
        assert_eq!(e, "heartbeat key /k is 5 bytes; at least 16 are needed");
    }

    #[test]
    fn load_checks_the_real_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("pulse-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("key");
        std::fs::write(&p, b"a shared secret of enough length\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let r = load(&p);
        if nix::unistd::geteuid().is_root() {
            assert!(matches!(r, Err(KeyError::TooOpen { .. })), "{r:?}");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
            assert!(load(&p).is_ok());
        } else {
            assert!(matches!(r, Err(KeyError::NotRootOwned { .. })), "{r:?}");
        }
        assert!(matches!(load(&dir.join("absent")), Err(KeyError::Io { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
