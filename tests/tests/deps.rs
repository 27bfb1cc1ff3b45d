//! What the crate graph keeps out of the daemons' builds, read from
//! `cargo tree`: lvsd reads nannies through `nanny-api`, so the probes'
//! crates (rustls, ring, and regex but for lvs-config's own use: it checks
//! the configuration's regexes) are not in its build; pulse never builds
//! `ipvs` (its section of ARCHITECTURE.md).

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

#[test]
fn lvsd_builds_no_tls_crypto_nor_the_probes() {
    let crates = tree("lvsd", &[]);
    assert!(crates.iter().any(|c| c == "nanny-api"), "{crates:?}");
    let found: Vec<_> =
        crates.iter().filter(|c| ["rustls", "ring", "nanny"].contains(&c.as_str())).collect();
    assert!(found.is_empty(), "lvsd's build has {found:?}");
    // regex is there for lvs-config alone.
    let mut users = tree("lvsd", &["--invert", "regex", "--depth", "1"]);
    users.sort();
    users.dedup();
    assert_eq!(users, ["lvs-config", "regex"], "who brings regex into lvsd");
}

#[test]
fn pulse_builds_no_ipvs() {
    let crates = tree("pulse", &[]);
    assert!(crates.iter().any(|c| c == "nanny-api"), "{crates:?}");
    assert!(!crates.iter().any(|c| c == "ipvs"), "pulse's build has ipvs");
}
