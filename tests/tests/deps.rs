//! What the crate graph keeps out of the daemons' builds, read from
//! `cargo tree`: lvsd reads nannies through `nanny-api`, so the probes'
//! crates (rustls, ring, regex) are not in its build, nor in pulse's
//! (lvs-config checks the configuration's patterns with `regex-syntax`
//! alone); pulse never builds `ipvs` (its section of ARCHITECTURE.md).

use std::path::Path;

fn tree(package: &str, extra: &[&str]) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new(cargo)
        .args(["tree", "-p", package, "-e", "normal,build", "--prefix", "none", "--offline"])
        .args(extra)
        .current_dir(root)
        .output()
        .expect("cargo tree runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// The crates of the probes that neither daemon may build (exact names:
/// `regex-syntax`, the parser lvs-config checks patterns with, is allowed).
const PROBE_CRATES: [&str; 4] = ["rustls", "ring", "regex", "nanny"];

fn probe_crates(crates: &[String]) -> Vec<&String> {
    crates.iter().filter(|c| PROBE_CRATES.contains(&c.as_str())).collect()
}

#[test]
fn lvsd_builds_no_tls_crypto_nor_the_probes() {
    let crates = tree("lvsd", &[]);
    assert!(crates.iter().any(|c| c == "nanny-api"), "{crates:?}");
    assert!(crates.iter().any(|c| c == "lvs-config"), "{crates:?}");
    let found = probe_crates(&crates);
    assert!(found.is_empty(), "lvsd's build has {found:?}");
}

#[test]
fn pulse_builds_no_ipvs_nor_the_probes() {
    let crates = tree("pulse", &[]);
    assert!(crates.iter().any(|c| c == "nanny-api"), "{crates:?}");
    assert!(!crates.iter().any(|c| c == "ipvs"), "pulse's build has ipvs");
    let found = probe_crates(&crates);
    assert!(found.is_empty(), "pulse's build has {found:?}");
}
