//! `cargo xtask vm-assets`: what the test VM needs from the host.
//!
//! Host packages come from apt-get (installed only when missing); the guest
//! kernel is Debian's current cloud kernel, whose `ip_vs` and schedulers are
//! modules. It is downloaded with `apt-get download`, unpacked with
//! `dpkg -x` and indexed with `depmod` under `target/vm-assets/`. Once that
//! is done a stamp file makes later runs instant; `--refresh` fetches the
//! kernel again (for example after Debian published a new one).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

use crate::proc;

/// Debian packages the test bed uses on the host, and why.
const HOST_PACKAGES: &[(&str, &str)] = &[
    ("qemu-system-x86", "boots the guest"),
    ("busybox-static", "the guest's userland"),
    ("cpio", "packs the initramfs"),
    ("kmod", "depmod/modprobe for the guest's modules"),
    ("ipvsadm", "the reference ipvsadm 1.31"),
    ("keepalived", "the reference for later comparisons"),
    ("bird2", "BGP and BFD of the ECMP suite (tests/vm/ecmp/)"),
    ("iproute2", "`ip netns` in the guest and on the host"),
    ("tcpdump", "packet captures in the guest"),
    ("strace", "debugging in the guest"),
    ("netbase", "/etc/services and /etc/protocols for ipvsadm listings"),
    ("binutils", "strips the guest binaries"),
    ("prometheus", "promtool checks pulse's /metrics (crates/pulse/tests/http.rs)"),
    ("chromium", "headless browser test of pulse's status page (crates/pulse/tests/page.rs)"),
];

/// The metapackage that always depends on Debian's current cloud kernel.
const KERNEL_METAPACKAGE: &str = "linux-image-cloud-amd64";

/// The guest kernel, unpacked and indexed.
#[derive(Debug, Clone)]
pub struct Assets {
    /// `uname -r` of the guest kernel, e.g. `6.1.0-41-cloud-amd64`.
    pub kernel_version: String,
    /// The kernel image to boot.
    pub vmlinuz: PathBuf,
    /// The unpacked package: modules are under `lib/modules/<version>/`.
    pub root: PathBuf,
}

impl Assets {
    /// The guest kernel's module directory.
    pub fn modules_dir(&self) -> PathBuf {
        self.root.join("lib/modules").join(&self.kernel_version)
    }
}

fn assets_dir() -> PathBuf {
    crate::target_dir().join("vm-assets")
}

fn stamp_path() -> PathBuf {
    assets_dir().join("kernel.stamp")
}

/// Makes sure host packages and the guest kernel are there; fast when they are.
pub fn ensure(refresh: bool) -> anyhow::Result<Assets> {
    let started = std::time::Instant::now();
    ensure_host_packages()?;
    let assets = match (refresh, read_stamp()) {
        (false, Some(assets)) => assets,
        _ => fetch_kernel()?,
    };
    eprintln!("vm-assets: ready in {:.1?}", started.elapsed());
    Ok(assets)
}

fn read_stamp() -> Option<Assets> {
    let text = fs::read_to_string(stamp_path()).ok()?;
    let mut lines = text.lines();
    let kernel_version = lines.next()?.to_string();
    let vmlinuz = PathBuf::from(lines.next()?);
    let root = PathBuf::from(lines.next()?);
    let assets = Assets { kernel_version, vmlinuz, root };
    (assets.vmlinuz.is_file() && assets.modules_dir().join("modules.dep").is_file())
        .then_some(assets)
}

/// Packages of `list` that dpkg does not list as installed.
fn missing_packages(list: &[(&'static str, &str)]) -> anyhow::Result<Vec<&'static str>> {
    // One dpkg-query for all: it prints one status line per known package and
    // complains on stderr (exit 1) about unknown ones, which are missing too.
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Package} ${db:Status-Abbrev}\\n"])
        .args(list.iter().map(|(name, _)| name))
        .output()
        .context("cannot run dpkg-query: the test bed needs a Debian-like host with dpkg")?;
    let listed = String::from_utf8_lossy(&out.stdout);
    let installed: Vec<&str> = listed
        .lines()
        .filter_map(|l| {
            let (name, status) = l.split_once(' ')?;
            status.starts_with("ii").then_some(name.split(':').next().unwrap_or(name))
        })
        .collect();
    Ok(list.iter().map(|(name, _)| *name).filter(|n| !installed.contains(n)).collect())
}

fn apt_get() -> Command {
    let mut cmd = Command::new("apt-get");
    cmd.env("DEBIAN_FRONTEND", "noninteractive")
        // Other jobs on the machine may hold the dpkg lock for a while.
        .args(["-q", "-o", "DPkg::Lock::Timeout=600"]);
    cmd
}

fn apt_update() -> anyhow::Result<()> {
    // apt-get waits for the dpkg lock but not for the lists lock, which
    // another job on the machine may hold for a moment: try a few times.
    let mut attempt = 1;
    loop {
        eprintln!("vm-assets: apt-get update");
        match proc::status(apt_get().arg("update")) {
            Ok(()) => return Ok(()),
            Err(err) if attempt == 3 => {
                return Err(err).context(
                    "apt-get update failed: the test bed needs access to the Debian archive \
                     (or the packages installed by hand)",
                )
            }
            Err(err) => eprintln!("vm-assets: {err:#}; trying again in 10 s"),
        }
        attempt += 1;
        std::thread::sleep(std::time::Duration::from_secs(10));
    }
}

/// Installs the host packages that are missing (the VM test bed, and the
/// host tests need some: `promtool`).
pub fn ensure_host_packages() -> anyhow::Result<()> {
    ensure_packages("vm-assets", "the VM test bed", HOST_PACKAGES)
}

/// Installs the packages of `list` (name, why) that are missing, with
/// apt-get; `who` prefixes the messages, `what` says who needs them.
pub fn ensure_packages(who: &str, what: &str, list: &[(&'static str, &str)]) -> anyhow::Result<()> {
    let missing = missing_packages(list)?;
    if missing.is_empty() {
        return Ok(());
    }
    let why: Vec<String> = list
        .iter()
        .filter(|(n, _)| missing.contains(n))
        .map(|(n, why)| format!("{n} ({why})"))
        .collect();
    eprintln!("{who}: installing {}", why.join(", "));
    apt_update()?;
    proc::status(apt_get().args(["install", "-y", "--no-install-recommends"]).args(&missing))
        .with_context(|| {
            format!(
                "could not install {} with apt-get; install them by hand \
                 ({what} needs: {})",
                missing.join(" "),
                why.join(", ")
            )
        })?;
    let still = missing_packages(list)?;
    if !still.is_empty() {
        bail!("apt-get succeeded but these packages are still missing: {}", still.join(" "));
    }
    Ok(())
}

/// The versioned kernel package the metapackage depends on, e.g.
/// `linux-image-6.1.0-41-cloud-amd64`.
fn resolve_kernel_package() -> anyhow::Result<String> {
    let query = || {
        proc::output(Command::new("apt-cache").args(["depends", "--important", KERNEL_METAPACKAGE]))
            .ok()
            .and_then(|text| parse_depends(&text))
    };
    if let Some(pkg) = query() {
        return Ok(pkg);
    }
    apt_update()?;
    query().with_context(|| {
        format!(
            "apt-cache does not know {KERNEL_METAPACKAGE} or its kernel package even after \
             apt-get update: the guest kernel comes from Debian's archive (main), which \
             this host's apt sources must include"
        )
    })
}

/// Picks `linux-image-<ver>` out of `apt-cache depends` output.
fn parse_depends(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let dep = line.trim().strip_prefix("Depends:")?.trim();
        let dep = dep.trim_start_matches('<').trim_end_matches('>');
        (dep.starts_with("linux-image-") && dep != KERNEL_METAPACKAGE).then(|| dep.to_string())
    })
}

fn fetch_kernel() -> anyhow::Result<Assets> {
    let mut package = resolve_kernel_package()?;
    let dir = assets_dir();
    let download = dir.join("download");
    fs::create_dir_all(&download)
        .with_context(|| format!("cannot create {}", download.display()))?;
    let fetch = |package: &str| {
        eprintln!("vm-assets: apt-get download {package}");
        // As root, apt's `_apt` sandbox user could not write here anyway.
        let mut cmd = apt_get();
        cmd.args(["-o", "APT::Sandbox::User=root", "download", package]);
        proc::status(cmd.current_dir(&download))
    };
    if let Err(err) = fetch(&package) {
        // Stale package lists name a file the archive no longer has (or
        // an older kernel than the current one): refresh, resolve again.
        eprintln!("vm-assets: {err:#}; refreshing the package lists");
        apt_update()?;
        package = resolve_kernel_package()?;
        fetch(&package).with_context(|| {
            format!("could not download the guest kernel package {package} from the Debian archive")
        })?;
    }
    let deb = newest_deb(&download, &package)?;
    let root = dir.join(&package);
    if root.exists() {
        fs::remove_dir_all(&root).with_context(|| format!("cannot clear {}", root.display()))?;
    }
    eprintln!("vm-assets: dpkg -x {}", deb.display());
    proc::status(Command::new("dpkg").arg("-x").arg(&deb).arg(&root))?;
    // Bookworm's packages put modules in /lib; later ones in /usr/lib.
    if !root.join("lib/modules").is_dir() && root.join("usr/lib/modules").is_dir() {
        fs::create_dir_all(root.join("lib"))?;
        std::os::unix::fs::symlink("../usr/lib/modules", root.join("lib/modules"))?;
    }
    let kernel_version = only_entry(&root.join("lib/modules"))?;
    let vmlinuz = root.join("boot").join(format!("vmlinuz-{kernel_version}"));
    if !vmlinuz.is_file() {
        bail!("{} has no kernel image {}", deb.display(), vmlinuz.display());
    }
    eprintln!("vm-assets: depmod {kernel_version}");
    proc::status(Command::new("depmod").arg("-b").arg(&root).arg(&kernel_version))?;
    let assets = Assets { kernel_version, vmlinuz, root };
    let stamp = format!(
        "{}\n{}\n{}\n",
        assets.kernel_version,
        assets.vmlinuz.display(),
        assets.root.display()
    );
    fs::write(stamp_path(), stamp).context("cannot write the vm-assets stamp")?;
    Ok(assets)
}

fn newest_deb(dir: &Path, package: &str) -> anyhow::Result<PathBuf> {
    let prefix = format!("{package}_");
    let mut debs: Vec<(std::time::SystemTime, PathBuf)> = fs::read_dir(dir)?
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(&prefix) && name.ends_with(".deb")
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    debs.sort();
    debs.pop()
        .map(|(_, p)| p)
        .with_context(|| format!("apt-get left no {prefix}*.deb in {}", dir.display()))
}

fn only_entry(dir: &Path) -> anyhow::Result<String> {
    let names: Vec<String> = fs::read_dir(dir)
        .with_context(|| format!("the kernel package has no {}", dir.display()))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    match names.as_slice() {
        [one] => Ok(one.clone()),
        _ => bail!("expected one kernel version under {}, found {names:?}", dir.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_versioned_kernel_package() {
        let text = "linux-image-cloud-amd64\n  Depends: linux-image-6.1.0-41-cloud-amd64\n";
        assert_eq!(parse_depends(text).as_deref(), Some("linux-image-6.1.0-41-cloud-amd64"));
        assert_eq!(parse_depends("linux-image-cloud-amd64\n"), None);
    }
}
