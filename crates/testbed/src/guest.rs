//! What the test guest of `cargo xtask vm-test` provides, found through the
//! environment its `/init` sets (see "Testing" in ARCHITECTURE.md).

use std::path::PathBuf;

use crate::{Error, Result};

/// Whether this process runs in the test guest (`LVS_TEST_VM=1`).
pub fn in_vm() -> bool {
    std::env::var("LVS_TEST_VM").is_ok_and(|v| v == "1")
}

fn env_path(var: &str) -> Result<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .ok_or_else(|| Error::Protocol(format!("{var} is not set: run in `cargo xtask vm-test`")))
}

/// The reference ipvsadm 1.31 (`LVS_REF_IPVSADM`).
///
/// # Errors
/// Outside the test guest, where the variable is not set.
pub fn ref_ipvsadm() -> Result<PathBuf> {
    env_path("LVS_REF_IPVSADM")
}

/// One of our workspace binaries, e.g. `workspace_bin("send_arp")`
/// (`$LVS_BIN_DIR/<name>`).
///
/// # Errors
/// Outside the test guest, or when the workspace has no such binary.
pub fn workspace_bin(name: &str) -> Result<PathBuf> {
    let path = env_path("LVS_BIN_DIR")?.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::Protocol(format!("no workspace binary {}", path.display())))
    }
}
