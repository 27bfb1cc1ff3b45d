//! `cargo xtask dist [--check]`: the Debian package, built with `dpkg-deb`.
//!
//! The package is staged under `target/dist/stage/` from the release
//! binaries (stripped as dh_strip does), `init/` (the systemd unit, the LSB
//! script, its defaults file), `dist/` (the package's `/etc/lvs-router/
//! lvs.yaml`, which refuses to run until edited; the maintainer scripts;
//! copyright, changelog, control) and `docs/man/`; dependencies come from
//! `dpkg-shlibdeps`. `--check` then proves it, as `cargo xtask test` does:
//!
//! - `lintian` reports no error and no warning (informational tags are
//!   printed: Rust binaries use no `_FORTIFY_SOURCE` functions);
//! - every manual page is clean under `mandoc -T lint`, `groff -ww` and
//!   `man --warnings -l`;
//! - `systemd-analyze verify` accepts the unit and `systemd-analyze
//!   security` rates it at most [`MAX_EXPOSURE`];
//! - the package installs into an empty root with `dpkg --root`, its
//!   postinst run for real (chrootless, through `$DPKG_ROOT`): files and
//!   modes are checked (the heartbeat key 0600), every binary answers
//!   `--version`, the untouched configuration is refused and an edited one
//!   accepted with the key the postinst made; purge removes the key.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context};

use crate::{assets, proc};

/// The binaries the package installs in `/usr/sbin`: (cargo package, binary).
const BINARIES: &[(&str, &str)] = &[
    ("pulse", "pulse"),
    ("lvsd", "lvsd"),
    ("nanny", "nanny"),
    ("send-arp", "send_arp"),
    ("ipvsadm-rs", "ipvsadm-rs"),
    ("lvs-node", "lvs-node"),
];

/// The cargo packages of [`BINARIES`], every package of the workspace that
/// has a binary (`cargo xtask vm-test` packs the same release build into
/// the guest).
pub const PACKAGES: [&str; 6] = ["pulse", "lvsd", "nanny", "send-arp", "ipvsadm-rs", "lvs-node"];

/// Manual pages: (file in `docs/man/`, section).
const MAN_PAGES: &[(&str, u8)] = &[
    ("pulse.8", 8),
    ("lvsd.8", 8),
    ("nanny.8", 8),
    ("send_arp.8", 8),
    ("ipvsadm-rs.8", 8),
    ("lvs-node.8", 8),
    ("lvs-router.yaml.5", 5),
];

/// Configuration files: (source, path in the package, mode).
const CONFFILES: &[(&str, &str, u32)] = &[
    ("dist/lvs.yaml", "etc/lvs-router/lvs.yaml", 0o644),
    ("init/pulse.default", "etc/default/pulse", 0o644),
    ("init/pulse.init", "etc/init.d/pulse", 0o755),
];

/// Other files: (source, path in the package, mode).
const FILES: &[(&str, &str, u32)] = &[
    ("init/pulse.service", "lib/systemd/system/pulse.service", 0o644),
    ("dist/modules-load.conf", "usr/lib/modules-load.d/lvs-router.conf", 0o644),
    ("dist/copyright", "usr/share/doc/lvs-router/copyright", 0o644),
    ("etc/lvs.yaml", "usr/share/doc/lvs-router/examples/lvs.yaml", 0o644),
    ("etc/lvs.cf", "usr/share/doc/lvs-router/examples/lvs.cf", 0o644),
    ("etc/demo.yaml", "usr/share/doc/lvs-router/examples/demo.yaml", 0o644),
    ("etc/demo-dr.yaml", "usr/share/doc/lvs-router/examples/demo-dr.yaml", 0o644),
    // lvs-node runs on the real servers, not on the routers this package
    // is for: its unit and script are examples to copy there.
    ("init/lvs-node.service", "usr/share/doc/lvs-router/examples/lvs-node.service", 0o644),
    ("init/lvs-node.init", "usr/share/doc/lvs-router/examples/lvs-node.init", 0o644),
];

/// Maintainer scripts in `dist/`.
const SCRIPTS: &[&str] = &["postinst", "prerm", "postrm"];

/// The highest `systemd-analyze security` exposure the unit may have
/// (0 is fully sandboxed, 10 not at all; the unit scores 2.7).
const MAX_EXPOSURE: f64 = 3.0;

/// Debian packages building the package uses, and why.
const BUILD_PACKAGES: &[(&str, &str)] = &[
    ("dpkg-dev", "dpkg-shlibdeps computes the package's dependencies"),
    ("binutils", "strips the binaries"),
];

/// Debian packages `--check` uses as well, and why.
const CHECK_PACKAGES: &[(&str, &str)] = &[
    ("lintian", "checks the package against Debian policy"),
    ("mandoc", "mandoc -T lint checks the manual pages"),
    ("groff-base", "groff -ww checks the manual pages"),
    ("man-db", "man -l renders them"),
    ("systemd", "systemd-analyze verify and security check the unit"),
];

/// `cargo xtask dist [--check]`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let check = match args {
        [] => false,
        [flag] if flag == "--check" => true,
        _ => bail!("usage: cargo xtask dist [--check]"),
    };
    assets::ensure_packages("dist", "cargo xtask dist", BUILD_PACKAGES)?;
    if check {
        assets::ensure_packages("dist", "cargo xtask dist --check", CHECK_PACKAGES)?;
    }
    let deb = build()?;
    println!("dist: {}", deb.display());
    if check {
        self::check(&deb)?;
    }
    Ok(())
}

fn dist_dir() -> PathBuf {
    crate::target_dir().join("dist")
}

/// The version at the top of `dist/changelog`.
fn version() -> anyhow::Result<String> {
    let text = fs::read_to_string(crate::project_root().join("dist/changelog"))
        .context("dist/changelog")?;
    let first = text.lines().next().unwrap_or_default();
    let v = first
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(v, _)| v.to_owned())
        .context("dist/changelog: the first line is not `lvs-router (VERSION) ...`")?;
    ensure!(
        v == env!("CARGO_PKG_VERSION"),
        "dist/changelog is at {v} but the workspace at {}: add a changelog entry",
        env!("CARGO_PKG_VERSION")
    );
    Ok(v)
}

fn install(src: &Path, dst: &Path, mode: u32) -> anyhow::Result<()> {
    if let Some(dir) = dst.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    fs::copy(src, dst)
        .with_context(|| format!("copying {} to {}", src.display(), dst.display()))?;
    fs::set_permissions(dst, fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", dst.display()))
}

/// `gzip -9n SRC > DST`: no name or time stamp, as Debian wants.
fn gzip(src: &Path, dst: &Path) -> anyhow::Result<()> {
    if let Some(dir) = dst.parent() {
        fs::create_dir_all(dir)?;
    }
    let out = proc::output_bytes(Command::new("gzip").args(["-9n", "-c"]).arg(src))?;
    fs::write(dst, out).with_context(|| format!("writing {}", dst.display()))?;
    fs::set_permissions(dst, fs::Permissions::from_mode(0o644))?;
    Ok(())
}

/// Every regular file under `dir`, relative to it, sorted.
fn files_under(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                todo.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                out.push(rel.to_path_buf());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Builds the release binaries and the package; returns the `.deb`.
pub fn build() -> anyhow::Result<PathBuf> {
    let root = crate::project_root();
    let version = version()?;
    let arch = proc::output(Command::new("dpkg").arg("--print-architecture"))?.trim().to_owned();
    let mut cargo = vec!["build", "--release", "--locked"];
    for package in PACKAGES {
        cargo.extend(["-p", package]);
    }
    proc::cargo(&cargo)?;

    let stage = dist_dir().join("stage");
    if stage.exists() {
        fs::remove_dir_all(&stage).context("cleaning target/dist/stage")?;
    }
    let release = crate::target_dir().join("release");
    for (_, bin) in BINARIES {
        let dst = stage.join("usr/sbin").join(bin);
        install(&release.join(bin), &dst, 0o755)?;
        // What dh_strip does for a package without a -dbgsym.
        proc::status(
            Command::new("strip")
                .args(["--remove-section=.comment", "--remove-section=.note", "--strip-unneeded"])
                .arg(&dst),
        )?;
    }
    for (src, dst, mode) in CONFFILES.iter().chain(FILES) {
        install(&root.join(src), &stage.join(dst), *mode)?;
    }
    for (page, section) in MAN_PAGES {
        let dst = stage.join(format!("usr/share/man/man{section}/{page}.gz"));
        gzip(&root.join("docs/man").join(page), &dst)?;
    }
    gzip(&root.join("dist/changelog"), &stage.join("usr/share/doc/lvs-router/changelog.gz"))?;

    let control_dir = stage.join("DEBIAN");
    fs::create_dir_all(&control_dir)?;
    for script in SCRIPTS {
        install(&root.join("dist").join(script), &control_dir.join(script), 0o755)?;
    }
    let conffiles: String = CONFFILES.iter().map(|(_, dst, _)| format!("/{dst}\n")).collect();
    fs::write(control_dir.join("conffiles"), conffiles)?;
    let payload: Vec<PathBuf> =
        files_under(&stage)?.into_iter().filter(|p| !p.starts_with("DEBIAN")).collect();
    // md5sums of everything but the conffiles, as dh_md5sums writes it.
    let summed: Vec<&PathBuf> = payload.iter().filter(|p| !p.starts_with("etc")).collect();
    let md5 = proc::output(Command::new("md5sum").args(&summed).current_dir(&stage))?;
    fs::write(control_dir.join("md5sums"), md5)?;
    let size_bytes: u64 = payload
        .iter()
        .map(|p| fs::metadata(stage.join(p)).map(|m| m.len().div_ceil(1024) * 1024).unwrap_or(0))
        .sum();
    let depends = shlibs_depends(&stage)?;
    let control = fs::read_to_string(root.join("dist/control"))?
        .replace("@VERSION@", &version)
        .replace("@ARCH@", &arch)
        .replace("@SIZE@", &size_bytes.div_ceil(1024).to_string())
        .replace("@DEPENDS@", &depends);
    fs::write(control_dir.join("control"), control)?;
    // Directories 0755 whatever the umask.
    let mut dirs = vec![stage.clone()];
    while let Some(d) = dirs.pop() {
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755))?;
        for entry in fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            }
        }
    }
    let deb = dist_dir().join(format!("lvs-router_{version}_{arch}.deb"));
    proc::status(
        Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Zxz", "--build"])
            .arg(&stage)
            .arg(&deb),
    )?;
    Ok(deb)
}

/// `dpkg-shlibdeps` on the staged binaries: the `Depends:` value.
fn shlibs_depends(stage: &Path) -> anyhow::Result<String> {
    // dpkg-shlibdeps wants to run in a source tree with debian/control.
    let tree = dist_dir().join("shlibdeps");
    fs::create_dir_all(tree.join("debian"))?;
    fs::write(
        tree.join("debian/control"),
        "Source: lvs-router\n\nPackage: lvs-router\nArchitecture: any\n",
    )?;
    let mut cmd = Command::new("dpkg-shlibdeps");
    cmd.arg("-O").current_dir(&tree);
    for (_, bin) in BINARIES {
        cmd.arg(stage.join("usr/sbin").join(bin));
    }
    let out = proc::output(&mut cmd)?;
    let depends = out
        .lines()
        .find_map(|l| l.strip_prefix("shlibs:Depends="))
        .context("dpkg-shlibdeps printed no shlibs:Depends")?;
    Ok(depends.trim().to_owned())
}

/// Runs `cmd`; fails unless it exits 0 and prints nothing on either stream.
fn quiet(cmd: &mut Command) -> anyhow::Result<()> {
    let what = format!("{cmd:?}");
    let out = cmd.output().with_context(|| format!("cannot run {what}"))?;
    let said =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    ensure!(out.status.success() && said.trim().is_empty(), "{what} ({}):\n{said}", out.status);
    Ok(())
}

fn check(deb: &Path) -> anyhow::Result<()> {
    let root = crate::project_root();
    // lintian: no error; warnings are shown.
    let out = Command::new("lintian")
        .args(["--fail-on", "error,warning", "--display-info", "--tag-display-limit", "0"])
        .arg(deb)
        .output()
        .context("cannot run lintian")?;
    let said = String::from_utf8_lossy(&out.stdout);
    eprint!("{said}{}", String::from_utf8_lossy(&out.stderr));
    ensure!(out.status.success(), "lintian found errors or warnings in {}", deb.display());
    eprintln!(
        "dist: lintian: no errors, no warnings ({} informational tags)",
        said.lines().count()
    );

    // Manual pages.
    for (page, _) in MAN_PAGES {
        let path = root.join("docs/man").join(page);
        quiet(Command::new("mandoc").args(["-T", "lint"]).arg(&path))?;
        quiet(Command::new("groff").args(["-ww", "-man", "-z"]).arg(&path))?;
        // What an operator sees: `man -l`, with groff's warnings on.
        let out = Command::new("man")
            .args(["--warnings", "-l"])
            .arg(&path)
            .env("MANWIDTH", "80")
            .env("MAN_KEEP_FORMATTING", "0")
            .output()
            .context("cannot run man")?;
        let err = String::from_utf8_lossy(&out.stderr);
        ensure!(
            out.status.success() && err.trim().is_empty() && !out.stdout.is_empty(),
            "man --warnings -l {page} ({}):\n{err}",
            out.status
        );
    }
    eprintln!(
        "dist: {} manual pages clean under mandoc -T lint, groff -ww and man --warnings -l",
        MAN_PAGES.len()
    );

    let installed = install_into_empty_root(deb)?;

    // The unit, as installed. `verify` checks that the programs it runs
    // exist, and this host has no /usr/sbin/pulse: the copy it checks names
    // the installed root's binary instead; nothing else is changed.
    let unit = installed.join("lib/systemd/system/pulse.service");
    let verify_dir = dist_dir().join("verify");
    fs::create_dir_all(&verify_dir)?;
    let text = fs::read_to_string(&unit)?;
    let sbin = installed.join("usr/sbin");
    fs::write(
        verify_dir.join("pulse.service"),
        text.replace("/usr/sbin/", &format!("{}/", sbin.display())),
    )?;
    quiet(
        Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(verify_dir.join("pulse.service")),
    )?;
    let out = proc::output(
        Command::new("systemd-analyze")
            .args(["security", "--offline=true", "--no-pager"])
            .arg(&unit),
    )?;
    let score = out
        .lines()
        .find_map(|l| l.split_once("Overall exposure level for pulse.service: "))
        .and_then(|(_, rest)| rest.split_whitespace().next()?.parse::<f64>().ok())
        .context("systemd-analyze security printed no overall exposure level")?;
    eprintln!(
        "dist: systemd-analyze verify clean; security exposure {score} (at most {MAX_EXPOSURE})"
    );
    ensure!(score <= MAX_EXPOSURE, "pulse.service exposure {score} is above {MAX_EXPOSURE}");
    Ok(())
}

/// Installs the package into an empty root with its maintainer scripts,
/// checks it, and purges it again; returns the root (reinstalled) for the
/// unit checks.
fn install_into_empty_root(deb: &Path) -> anyhow::Result<PathBuf> {
    let target = dist_dir().join("root");
    if target.exists() {
        fs::remove_dir_all(&target).context("cleaning target/dist/root")?;
    }
    let admin = target.join("var/lib/dpkg");
    for dir in ["info", "updates", "triggers"] {
        fs::create_dir_all(admin.join(dir))?;
    }
    fs::write(admin.join("status"), "")?;
    fs::write(admin.join("available"), "")?;
    let dpkg = |args: &[&str]| -> anyhow::Result<String> {
        // Chrootless: the maintainer scripts run here with DPKG_ROOT set
        // (the empty root has no shell to chroot into). The dependencies
        // (libc) are the host's, not the root's.
        proc::output(
            Command::new("dpkg")
                .arg(format!("--root={}", target.display()))
                .args(["--force-script-chrootless", "--force-depends", "--log=/dev/null"])
                .args(args),
        )
    };
    let said = dpkg(&["--install", &deb.display().to_string()])?;
    eprint!("{said}");
    let status = dpkg(&["--status", "lvs-router"])?;
    ensure!(status.contains("Status: install ok installed"), "dpkg --status:\n{status}");

    let mode = |rel: &str| -> anyhow::Result<(u32, u32)> {
        let meta =
            fs::symlink_metadata(target.join(rel)).with_context(|| format!("/{rel} missing"))?;
        ensure!(meta.is_file(), "/{rel} is not a regular file");
        Ok((meta.mode() & 0o7777, meta.uid()))
    };
    let expect_mode = |rel: &str, want: u32| -> anyhow::Result<()> {
        let (got, uid) = mode(rel)?;
        ensure!(got == want && uid == 0, "/{rel}: mode {got:04o} uid {uid}, want {want:04o} root");
        Ok(())
    };
    for (_, bin) in BINARIES {
        expect_mode(&format!("usr/sbin/{bin}"), 0o755)?;
    }
    for (_, dst, m) in CONFFILES.iter().chain(FILES) {
        expect_mode(dst, *m)?;
    }
    for (page, section) in MAN_PAGES {
        expect_mode(&format!("usr/share/man/man{section}/{page}.gz"), 0o644)?;
    }
    expect_mode("usr/share/doc/lvs-router/changelog.gz", 0o644)?;
    // The postinst made the key: root's, 0600, 64 hex digits.
    expect_mode("etc/lvs-router/heartbeat.key", 0o600)?;
    let key = fs::read_to_string(target.join("etc/lvs-router/heartbeat.key"))?;
    ensure!(
        key.trim().len() == 64 && key.trim().bytes().all(|b| b.is_ascii_hexdigit()),
        "heartbeat.key is not 64 hex digits: {key:?}"
    );
    let conffiles = fs::read_to_string(admin.join("info/lvs-router.conffiles"))?;
    for (_, dst, _) in CONFFILES {
        ensure!(conffiles.lines().any(|l| l == format!("/{dst}")), "/{dst} is not a conffile");
    }

    // Every binary runs and tells its version.
    let sbin = target.join("usr/sbin");
    for (_, bin) in BINARIES {
        let out = proc::output(Command::new(sbin.join(bin)).arg("--version"))?;
        let want = if *bin == "ipvsadm-rs" {
            "ipvsadm v1.31".to_owned()
        } else {
            format!("{bin} {}", version()?)
        };
        ensure!(out.starts_with(&want), "{bin} --version printed {out:?}, want {want:?}");
    }

    // The configuration as installed is refused, naming each placeholder;
    // edited (the placeholders replaced), it runs with the key the postinst
    // made.
    let config = target.join("etc/lvs-router/lvs.yaml");
    let out =
        Command::new(sbin.join("pulse")).arg("--test-config").arg("-c").arg(&config).output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    let placeholders =
        fs::read_to_string(&config)?.lines().filter(|l| l.contains(": EDIT-ME")).count();
    ensure!(
        out.status.code() == Some(1)
            && err.matches("invalid ip address `EDIT-ME`").count() == placeholders,
        "pulse --test-config accepted the untouched configuration ({}):\n{err}",
        out.status
    );
    let mut edited = fs::read_to_string(&config)?;
    let mut n = 1;
    while edited.contains("EDIT-ME") {
        edited = edited.replacen("EDIT-ME", &format!("192.0.2.{n}"), 1);
        n += 1;
    }
    let key_path = target.join("etc/lvs-router/heartbeat.key");
    let edited = edited.replace("/etc/lvs-router/heartbeat.key", &key_path.display().to_string());
    let edited_path = dist_dir().join("edited.yaml");
    fs::write(&edited_path, edited)?;
    let out = Command::new(sbin.join("pulse"))
        .args(["--test-config", "--node=primary", "-c"])
        .arg(&edited_path)
        .output()?;
    ensure!(
        out.status.success(),
        "pulse --test-config refused the edited configuration:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Installing again (an upgrade) keeps the key and an edited conffile.
    fs::write(&config, fs::read_to_string(&edited_path)?)?;
    dpkg(&["--force-confold", "--install", &deb.display().to_string()])?;
    ensure!(
        fs::read_to_string(&key_path)? == key,
        "reinstalling the package replaced the heartbeat key"
    );
    ensure!(
        fs::read_to_string(&config)? == fs::read_to_string(&edited_path)?,
        "reinstalling the package replaced the edited /etc/lvs-router/lvs.yaml"
    );

    eprintln!(
        "dist: installed into {}: files, modes, conffiles, the 0600 key, --version of {} binaries, \
         the untouched configuration refused ({placeholders} placeholders), an edited one accepted; \
         reinstalling kept the key and the edited configuration",
        target.display(),
        BINARIES.len()
    );

    // Purge removes the key the postinst made; the root is then reinstalled
    // for the unit checks.
    dpkg(&["--purge", "lvs-router"])?;
    ensure!(!target.join("etc/lvs-router").exists(), "purge left /etc/lvs-router behind");
    ensure!(!sbin.join("pulse").exists(), "purge left /usr/sbin/pulse behind");
    dpkg(&["--install", &deb.display().to_string()])?;
    eprintln!("dist: purge removed the key and /etc/lvs-router; reinstalled");
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_are_the_binaries_packages() {
        let from_binaries: Vec<&str> = BINARIES.iter().map(|(p, _)| *p).collect();
        assert_eq!(from_binaries, PACKAGES);
    }
}
