//! Packing the guest's initramfs: busybox, the kernel modules the tests
//! need, iproute2, the reference ipvsadm, our binaries and test suites (each
//! with the shared libraries `ldd` names), and an `/init` script that loads
//! the modules, runs every suite and powers the guest off.
//!
//! The guest prints markers (lines starting with [`MARK`]) around each suite
//! so the host can tell a finished run from a hung or crashed one.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

use crate::assets::Assets;
use crate::proc;

/// Prefix of the lines the guest's `/init` prints for the host to parse.
pub const MARK: &str = "@@lvs-vm:";

/// Where the reference ipvsadm lives in the guest (`LVS_REF_IPVSADM`).
pub const REF_IPVSADM: &str = "/opt/ref/sbin/ipvsadm";
/// Where our workspace binaries live in the guest (`LVS_BIN_DIR`).
pub const BIN_DIR: &str = "/lvs/bin";
/// Where the in-guest suites live.
pub const SUITE_DIR: &str = "/lvs/tests";

/// Kernel modules loaded at boot (with their dependencies): IPVS and every
/// scheduler it ships, the link types topologies are built from, conntrack,
/// tunnels for LVS-TUN and nlmon for netlink captures.
const MODULES: &[&str] = &[
    "ip_vs",
    "ip_vs_rr",
    "ip_vs_wrr",
    "ip_vs_lc",
    "ip_vs_wlc",
    "ip_vs_lblc",
    "ip_vs_lblcr",
    "ip_vs_dh",
    "ip_vs_sh",
    "ip_vs_sed",
    "ip_vs_nq",
    "ip_vs_fo",
    "ip_vs_ovf",
    "ip_vs_mh",
    "ip_vs_ftp",
    "ip_vs_pe_sip",
    "nf_conntrack",
    "nf_nat",
    "veth",
    "bridge",
    "dummy",
    "macvlan",
    "8021q",
    "ipip",
    "ip_gre",
    "ip6_tunnel",
    "tun",
    "nlmon",
];

/// Host tools copied into the guest: (names to look for on the host, path
/// in the guest). iproute2's `ip` replaces busybox's, which lacks `netns`.
const TOOLS: &[(&str, &str)] = &[
    ("ip", "/usr/sbin/ip"),
    ("bridge", "/usr/sbin/bridge"),
    ("ss", "/usr/bin/ss"),
    ("ipvsadm", REF_IPVSADM),
    ("tcpdump", "/usr/bin/tcpdump"),
    ("strace", "/usr/bin/strace"),
    // Real-time priority for the stall detector's hog (tests/vm/e2e.rs).
    ("chrt", "/usr/bin/chrt"),
    // The reference for `cargo xtask bench` (VRRP failover, checkers, table).
    ("keepalived", "/usr/sbin/keepalived"),
    // BGP and BFD of the ECMP suite (tests/vm/ecmp/).
    ("bird", "/usr/sbin/bird"),
    ("birdc", "/usr/sbin/birdc"),
];

/// What goes into one image.
#[derive(Debug)]
pub struct Spec<'a> {
    pub assets: &'a Assets,
    /// Workspace binaries: (name, executable).
    pub bins: Vec<(String, PathBuf)>,
    /// In-guest suites, run in this order: (name, executable).
    pub suites: Vec<(String, PathBuf)>,
    /// libtest name filter handed to every suite.
    pub filter: Option<String>,
}

/// Builds the image under `dir` and returns the path of the cpio archive.
pub fn build(spec: &Spec<'_>, dir: &Path) -> anyhow::Result<PathBuf> {
    let stage = dir.join("root");
    if stage.exists() {
        fs::remove_dir_all(&stage).with_context(|| format!("cannot clear {}", stage.display()))?;
    }
    let mut image = Stage { root: stage.clone(), libs: BTreeSet::new() };
    for d in ["proc", "sys", "dev", "tmp", "run", "root", "etc", "mnt", "var", BIN_DIR, SUITE_DIR] {
        image.mkdir(d)?;
    }
    std::os::unix::fs::symlink("/run", stage.join("var/run"))?;

    image.busybox()?;
    for (name, guest) in TOOLS {
        let host = find_host_tool(name)?;
        image.install(&host, guest, false)?;
    }
    for (name, exe) in &spec.bins {
        image.install(exe, &format!("{BIN_DIR}/{name}"), true)?;
    }
    for (name, exe) in &spec.suites {
        image.install(exe, &format!("{SUITE_DIR}/{name}"), true)?;
    }
    image.modules(spec.assets)?;
    image.etc()?;
    let names: Vec<&str> = spec.suites.iter().map(|(n, _)| n.as_str()).collect();
    image.write("init", &init_script(&names, spec.filter.as_deref()), 0o755)?;

    let cpio = dir.join("initramfs.cpio");
    let out =
        fs::File::create(&cpio).with_context(|| format!("cannot create {}", cpio.display()))?;
    proc::status(
        Command::new("sh")
            .args(["-c", "find . -print0 | cpio --null --quiet -o -H newc -R 0:0"])
            .current_dir(&stage)
            .stdout(Stdio::from(out)),
    )
    .context("cannot pack the initramfs")?;
    Ok(cpio)
}

/// A staging directory that becomes the guest's root.
struct Stage {
    root: PathBuf,
    /// Shared libraries already copied, by host path.
    libs: BTreeSet<PathBuf>,
}

impl Stage {
    fn path(&self, guest: &str) -> PathBuf {
        self.root.join(guest.trim_start_matches('/'))
    }

    fn mkdir(&self, guest: &str) -> anyhow::Result<()> {
        let path = self.path(guest);
        fs::create_dir_all(&path).with_context(|| format!("cannot create {}", path.display()))
    }

    fn write(&self, guest: &str, text: &str, mode: u32) -> anyhow::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path(guest);
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(mode))?;
        Ok(())
    }

    fn copy(&self, host: &Path, guest: &str) -> anyhow::Result<()> {
        let dest = self.path(guest);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::copy(host, &dest)
            .with_context(|| format!("cannot copy {} to {}", host.display(), dest.display()))?;
        Ok(())
    }

    /// Copies an executable and the shared libraries it needs; our own
    /// binaries lose their debug info on the way (the image stays small,
    /// symbols stay for backtraces).
    fn install(&mut self, host: &Path, guest: &str, strip: bool) -> anyhow::Result<()> {
        if strip {
            let dest = self.path(guest);
            proc::status(
                Command::new("strip").arg("--strip-debug").arg("-o").arg(&dest).arg(host),
            )?;
        } else {
            self.copy(host, guest)?;
        }
        for lib in shared_libraries(host)? {
            if self.libs.insert(lib.clone()) {
                let guest_path = lib.to_string_lossy().into_owned();
                // Copy the file's content under the name the loader asks for.
                let real = fs::canonicalize(&lib)
                    .with_context(|| format!("cannot resolve {}", lib.display()))?;
                self.copy(&real, &guest_path)?;
            }
        }
        Ok(())
    }

    /// Static busybox with one symlink per applet, except where a real tool
    /// takes the name.
    fn busybox(&self) -> anyhow::Result<()> {
        let host = Path::new("/bin/busybox");
        self.copy(host, "/bin/busybox")?;
        let list = proc::output(Command::new(host).arg("--list-full"))?;
        let replaced: Vec<&str> =
            TOOLS.iter().filter_map(|(_, guest)| guest.rsplit('/').next()).collect();
        for applet in list.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let name = applet.rsplit('/').next().unwrap_or(applet);
            let link = self.path(applet);
            if replaced.contains(&name) || link.exists() {
                continue;
            }
            if let Some(parent) = link.parent() {
                fs::create_dir_all(parent)?;
            }
            std::os::unix::fs::symlink("/bin/busybox", &link)
                .with_context(|| format!("cannot link {}", link.display()))?;
        }
        Ok(())
    }

    /// The modules of [`MODULES`] and their dependencies, indexed by depmod.
    fn modules(&self, assets: &Assets) -> anyhow::Result<()> {
        let version = &assets.kernel_version;
        let mut files = BTreeSet::new();
        for module in MODULES {
            let deps = proc::output(Command::new("modprobe").arg("-d").arg(&assets.root).args([
                "-S",
                version,
                "--show-depends",
                module,
            ]))
            .with_context(|| format!("the guest kernel {version} lacks module {module}"))?;
            for line in deps.lines() {
                if let Some(path) = line.strip_prefix("insmod ") {
                    let path = path.split_whitespace().next().unwrap_or_default();
                    files.insert(PathBuf::from(path));
                }
            }
        }
        let modules_dir = assets.modules_dir();
        let guest_dir = format!("/lib/modules/{version}");
        for file in &files {
            let rel = file.strip_prefix(&modules_dir).with_context(|| {
                format!("module {} is outside {}", file.display(), modules_dir.display())
            })?;
            self.copy(file, &format!("{guest_dir}/{}", rel.display()))?;
        }
        for index in ["modules.builtin", "modules.builtin.modinfo", "modules.order"] {
            self.copy(&modules_dir.join(index), &format!("{guest_dir}/{index}"))?;
        }
        proc::status(Command::new("depmod").arg("-b").arg(&self.root).arg(version))
    }

    fn etc(&self) -> anyhow::Result<()> {
        for file in ["/etc/services", "/etc/protocols"] {
            self.copy(Path::new(file), file)?;
        }
        // tcpdump drops privileges to its own user: let that be root.
        self.write(
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\ntcpdump:x:0:0::/root:/bin/false\n",
            0o644,
        )?;
        self.write("etc/group", "root:x:0:\n", 0o644)?;
        self.write("etc/hosts", "127.0.0.1 localhost\n::1 localhost\n", 0o644)?;
        self.write(
            "etc/nsswitch.conf",
            "passwd: files\ngroup: files\nhosts: files\nservices: files\nprotocols: files\n",
            0o644,
        )?;
        Ok(())
    }
}

/// The host path of a tool, looked up in the usual system directories.
fn find_host_tool(name: &str) -> anyhow::Result<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file())
        .with_context(|| {
            format!("{name} is not installed on the host (run `cargo xtask vm-assets`)")
        })
}

/// The shared libraries `ldd` says `exe` loads (with the dynamic loader).
fn shared_libraries(exe: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let out = Command::new("ldd")
        .arg(exe)
        .output()
        .with_context(|| format!("cannot run ldd on {}", exe.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        if text.contains("not a dynamic executable")
            || String::from_utf8_lossy(&out.stderr).contains("not a dynamic executable")
        {
            return Ok(Vec::new());
        }
        bail!("ldd {} failed: {}", exe.display(), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(parse_ldd(&text))
}

fn parse_ldd(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let path = match line.split_once("=>") {
                Some((_, rest)) => rest.trim(),
                None => line,
            };
            let path = path.split_whitespace().next()?;
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

/// Quotes `s` for a POSIX shell.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Host environment variables handed on to the suites in the guest.
const FORWARDED_ENV: &[&str] = &["LVS_CHAOS_SEED", "LVS_CHAOS_ROUNDS"];

/// The guest's `/init`: mounts, loads modules, runs every suite between
/// markers, powers off. Anything that goes wrong before the suites is
/// reported with an `error` marker, which the host counts as a failure.
fn init_script(suites: &[&str], filter: Option<&str>) -> String {
    let mut s = String::new();
    let m = MARK;
    let filter = filter.map(shell_quote).unwrap_or_default();
    // The chaos suite's seed and round count, when set on the host, so a
    // printed seed replays (`LVS_CHAOS_SEED=... cargo xtask vm-test ...`).
    let forwarded: String = FORWARDED_ENV
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| format!("export {k}={}\n", shell_quote(&v))))
        .collect();
    let _ = write!(
        s,
        r#"#!/bin/busybox sh
# Generated by `cargo xtask vm-test`: the test guest's whole life.
export PATH={BIN_DIR}:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
echo 1 > /proc/sys/kernel/printk
read kernel_up idle < /proc/uptime
hostname lvs-vm
/usr/sbin/ip link set lo up
# One process for all modules (process starts are slow under emulation);
# if that fails, one by one to name the culprit.
modprobe -a {modules} || for module in {modules}; do
    modprobe "$module" || echo "{m} error modprobe $module failed"
done
for module in {modules}; do
    [ -d "/sys/module/$module" ] || echo "{m} error module $module is not loaded"
done
export LVS_TEST_VM=1 LVS_BIN_DIR={BIN_DIR} LVS_REF_IPVSADM={REF_IPVSADM}
export HOME=/root TMPDIR=/tmp RUST_BACKTRACE=1
{forwarded}cd /tmp
read uptime idle < /proc/uptime
echo "{m} booted $(uname -r) in ${{uptime}}s (init started at ${{kernel_up}}s)"
for suite in {suites}; do
    echo "{m} suite-begin $suite"
    {SUITE_DIR}/"$suite" --color never {filter} </dev/null
    echo "{m} suite-end $suite $?"
done
echo "{m} all-done"
sync
poweroff -f
"#,
        modules = MODULES.join(" "),
        suites = suites.join(" "),
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_gives_library_paths() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibpopt.so.0 => /lib/x86_64-linux-gnu/libpopt.so.0 (0x1)\n\t/lib64/ld-linux-x86-64.so.2 (0x2)\n";
        assert_eq!(
            parse_ldd(text),
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libpopt.so.0"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2"),
            ]
        );
    }

    #[test]
    fn filter_is_quoted_for_the_shell() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        let init = init_script(&["vm_a", "vm_b"], Some("nat tcp"));
        assert!(init.contains("for suite in vm_a vm_b; do"));
        assert!(init.contains("--color never 'nat tcp' </dev/null"));
    }
}
