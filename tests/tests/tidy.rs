//! Repository hygiene, checked by `cargo test` so it cannot drift:
//! every crate is on the ARCHITECTURE.md code map, every Rust file says why
//! it exists, and `unsafe` stays in `sys` modules.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn all_rust_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for top in ["crates", "xtask", "tests"] {
        rust_files(&root().join(top), &mut files);
    }
    files
}

#[test]
fn every_crate_is_on_the_code_map() {
    let map = fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut missing = Vec::new();
    for entry in fs::read_dir(root().join("crates")).expect("crates/").flatten() {
        if entry.path().join("Cargo.toml").exists() {
            let heading = format!("### `crates/{}`", entry.file_name().to_string_lossy());
            if !map.contains(&heading) {
                missing.push(heading);
            }
        }
    }
    assert!(missing.is_empty(), "ARCHITECTURE.md lacks: {missing:?}");
}

#[test]
fn every_rust_file_says_why_it_exists() {
    let bad: Vec<_> = all_rust_files()
        .into_iter()
        .filter(|p| {
            let text = fs::read_to_string(p).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .collect();
    assert!(bad.is_empty(), "files without a leading //! doc: {bad:?}");
}

#[test]
fn unsafe_only_in_sys_modules() {
    let bad: Vec<_> = all_rust_files()
        .into_iter()
        .filter(|p| {
            let in_sys = p.components().any(|c| c.as_os_str() == "sys")
                || p.file_name().is_some_and(|n| n == "sys.rs");
            let text = fs::read_to_string(p).unwrap_or_default();
            !in_sys
                && text.lines().any(|l| {
                    l.contains(concat!("unsafe", " {")) || l.contains(concat!("unsafe", " fn"))
                })
        })
        .collect();
    assert!(bad.is_empty(), "unsafe outside sys modules: {bad:?}");
}

#[test]
fn no_trailing_whitespace_or_should_panic() {
    let mut bad = Vec::new();
    for p in all_rust_files() {
        let text = fs::read_to_string(&p).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            if line.ends_with(' ') || line.ends_with('\t') {
                bad.push(format!("{}:{}: trailing whitespace", p.display(), n + 1));
            }
            if line.contains(concat!("#[should", "_panic")) {
                bad.push(format!("{}:{}: should_panic", p.display(), n + 1));
            }
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn every_crate_uses_workspace_lints() {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root().join("crates"))
        .expect("crates/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").exists())
        .collect();
    dirs.push(root().join("xtask"));
    dirs.push(root().join("tests"));
    let bad: Vec<_> = dirs
        .into_iter()
        .filter(|d| {
            let manifest = fs::read_to_string(d.join("Cargo.toml")).unwrap_or_default();
            !manifest.contains("[lints]\nworkspace = true")
        })
        .collect();
    assert!(bad.is_empty(), "crates without `[lints] workspace = true`: {bad:?}");
}

/// Names of the binaries the workspace builds: `[[bin]]` names, and the
/// package name of a crate with `src/main.rs`.
fn workspace_binaries() -> Vec<String> {
    let mut bins = Vec::new();
    for entry in fs::read_dir(root().join("crates")).expect("crates/").flatten() {
        let Ok(manifest) = fs::read_to_string(entry.path().join("Cargo.toml")) else { continue };
        let mut section = String::new();
        let mut has_bin_section = false;
        for line in manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line.to_string();
                has_bin_section |= line == "[[bin]]";
                continue;
            }
            let Some(value) = line.strip_prefix("name").map(str::trim) else { continue };
            let Some(value) = value.strip_prefix('=') else { continue };
            let name = value.trim().trim_matches('"').to_string();
            let default_bin = section == "[package]"
                && !has_bin_section
                && !manifest.contains("[[bin]]")
                && entry.path().join("src/main.rs").exists();
            if section == "[[bin]]" || default_bin {
                bins.push(name);
            }
        }
    }
    bins.sort();
    bins
}

#[test]
fn init_files_start_binaries_the_workspace_builds() {
    let bins = workspace_binaries();
    assert!(bins.iter().any(|b| b == "pulse"), "pulse is a workspace binary: {bins:?}");
    let dir = root().join("init");
    let mut files: Vec<PathBuf> =
        fs::read_dir(&dir).expect("init/").flatten().map(|e| e.path()).collect();
    files.sort();
    for required in ["pulse.init", "pulse.service"] {
        assert!(files.iter().any(|f| f.ends_with(required)), "init/{required} is missing");
    }
    let mut referenced = 0;
    for file in &files {
        let text = fs::read_to_string(file).expect("init files are text");
        let mut rest = text.as_str();
        while let Some(at) = rest.find("/usr/sbin/") {
            rest = &rest[at + "/usr/sbin/".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                .collect();
            assert!(
                bins.contains(&name),
                "{} starts /usr/sbin/{name}, which no workspace crate builds ({bins:?})",
                file.display()
            );
            referenced += 1;
        }
    }
    assert!(referenced >= 2, "the init files name the pulse binary");
    // The LSB script answers every action an init system sends it.
    let lsb = fs::read_to_string(dir.join("pulse.init")).expect("init/pulse.init");
    assert!(lsb.contains("### BEGIN INIT INFO") && lsb.contains("### END INIT INFO"));
    for action in ["start)", "stop)", "restart|", "reload)", "status)"] {
        assert!(lsb.contains(action), "init/pulse.init lacks {action:?}");
    }
    // pulse starts lvsd itself: no unit may start lvsd or nanny directly.
    let unit = fs::read_to_string(dir.join("pulse.service")).expect("init/pulse.service");
    assert!(unit.contains("ExecStart=/usr/sbin/pulse "), "{unit}");
    assert!(
        !unit.contains("ExecStart=/usr/sbin/lvsd") && !unit.contains("ExecStart=/usr/sbin/nanny")
    );
}
