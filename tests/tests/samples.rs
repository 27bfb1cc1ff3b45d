//! The sample configurations in `etc/` never rot: every one loads without
//! an error, and the demo clusters (`etc/demo*.yaml`, run for real by
//! `tests/vm/e2e.rs` and `cargo xtask demo`) load without even a warning.

use std::fs;
use std::path::{Path, PathBuf};

fn etc() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../etc")
}

fn samples() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(etc())
        .expect("etc/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "cf"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_sample_configuration_loads() {
    let files = samples();
    assert!(files.len() >= 4, "etc/ has lvs.yaml, lvs.cf, demo.yaml, demo-dr.yaml: {files:?}");
    for path in files {
        let (config, diags) = lvs_config::load_file(&path);
        let errors: Vec<String> =
            diags.iter().filter(|d| d.is_error()).map(ToString::to_string).collect();
        assert!(config.is_some() && errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

#[test]
fn demo_clusters_load_without_warnings() {
    for name in ["demo.yaml", "demo-dr.yaml"] {
        let path = etc().join(name);
        let (config, diags) = lvs_config::load_file(&path);
        let all: Vec<String> = diags.iter().map(ToString::to_string).collect();
        assert!(all.is_empty(), "{name}: {all:#?}");
        let config = config.expect("a configuration");
        assert_eq!(config.virtual_services.len(), 1, "{name}");
        assert_eq!(config.virtual_services[0].real_servers.len(), 3, "{name}");
        // tests/vm/e2e.rs moves the key file and names the binaries itself.
        let text = fs::read_to_string(&path).expect("readable");
        assert!(text.contains("auth_key_file: /etc/lvs-router/heartbeat.key"), "{name}");
        assert!(!text.contains("\npaths:"), "{name}: the demo uses the installed paths");
    }
}

/// The commented example an operator copies authenticates its heartbeats;
/// piranha's unauthenticated form is only in `etc/lvs.cf` (issue 15).
#[test]
fn the_yaml_example_authenticates_its_heartbeats() {
    let (config, _) = lvs_config::load_file(&etc().join("lvs.yaml"));
    let config = config.expect("etc/lvs.yaml loads");
    assert_eq!(config.heartbeat.protocol, lvs_config::model::HeartbeatProtocol::Native);
    assert!(config.heartbeat.auth_key_file.is_some());
}
