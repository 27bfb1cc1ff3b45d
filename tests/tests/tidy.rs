//! Repository hygiene, checked by `cargo test` so it cannot drift:
//! every crate is on the ARCHITECTURE.md code map with the dependencies it
//! has, every Rust file says why it exists, and `unsafe` stays in `sys`
//! modules.

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

/// The section of ARCHITECTURE.md about the crate in `dir` (relative to the
/// root): from its `### ` heading to the next heading.
fn code_map_section<'a>(map: &'a str, dir: &str) -> Option<&'a str> {
    let start = [format!("### `{dir}`"), format!("### `{dir}/`")]
        .iter()
        .find_map(|h| map.find(&format!("{h}\n")))?;
    let body = &map[start..];
    let end = body[4..].find("\n#").map_or(body.len(), |e| e + 4);
    Some(&body[..end])
}

/// The crates a code-map section says its crate depends on: the first
/// sentence "It depends on ..." or "It may depend (only) on ...", up to
/// its end or a `;`, without parenthesized remarks; `a/b` and `a(-b)` name
/// `a` and `b`, and `a-b`; words that are not crate names are skipped.
fn stated_dependencies(section: &str) -> Option<Vec<String>> {
    let leads = ["It depends on ", "It may depend on ", "It may depend only on "];
    let (at, lead) =
        leads.iter().filter_map(|l| section.find(l).map(|at| (at, l))).min_by_key(|(at, _)| *at)?;
    let rest = &section[at + lead.len()..];
    // `signal-hook(-mio)` is signal-hook and signal-hook-mio.
    let mut text = String::new();
    let mut words = rest.split("(-");
    text.push_str(words.next().unwrap_or_default());
    for w in words {
        let stem: String = text
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        text.push_str(&format!(", {stem}-"));
        text.push_str(w.replacen(')', "", 1).as_str());
    }
    // Drop parenthesized remarks, then stop at the end of the sentence.
    let mut plain = String::new();
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let end = [plain.find(';'), plain.find(". "), plain.find(".\n"), plain.rfind('.')]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(plain.len());
    let names = plain[..end]
        .replace(" and ", ",")
        .replace('/', ",")
        .split(',')
        .map(|w| w.trim().trim_end_matches(" only").trim_matches('`').to_string())
        .filter(|w| {
            !w.is_empty()
                && w != "std"
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        })
        .collect();
    Some(names)
}

/// Every workspace member's dependencies (build and normal, not dev) are
/// exactly those its ARCHITECTURE.md section states, from `cargo metadata`.
#[test]
fn every_crate_depends_on_what_the_code_map_says() {
    let map = fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let mut problems = Vec::new();
    for package in meta["packages"].as_array().expect("packages") {
        let name = package["name"].as_str().unwrap_or_default();
        let manifest = Path::new(package["manifest_path"].as_str().unwrap_or_default());
        let dir = manifest.parent().and_then(|d| d.strip_prefix(root()).ok()).expect("in the tree");
        let dir = dir.to_string_lossy();
        let mut has: Vec<String> = package["dependencies"]
            .as_array()
            .expect("dependencies")
            .iter()
            .filter(|d| d["kind"].as_str() != Some("dev"))
            .filter_map(|d| d["name"].as_str().map(str::to_string))
            .collect();
        has.sort();
        has.dedup();
        let Some(section) = code_map_section(&map, &dir) else {
            problems.push(format!("{name}: no `### `{dir}`` section"));
            continue;
        };
        let Some(mut stated) = stated_dependencies(section) else {
            problems.push(format!("{name}: its section says nothing like \"It depends on ...\""));
            continue;
        };
        stated.sort();
        stated.dedup();
        let missing: Vec<_> = has.iter().filter(|d| !stated.contains(d)).collect();
        let extra: Vec<_> = stated.iter().filter(|d| !has.contains(d)).collect();
        if !missing.is_empty() || !extra.is_empty() {
            problems.push(format!(
                "{name} ({dir}): depends on {missing:?} unstated; states {extra:?} it does not depend on"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "ARCHITECTURE.md's dependencies drifted:\n{}",
        problems.join("\n")
    );
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
