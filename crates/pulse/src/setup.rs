//! What pulse reads before it runs and at each reload: the settings file
//! (through `lvs_config`, which owns reading it), the key file and which
//! router this host is, turned into the machine's and the host's
//! configurations; and `--test-config`. It binds nothing and changes
//! nothing; the reload thread (`reload`) calls [`load`] too.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use crate::host::{split_command, HostConfig};
use crate::keyfile::{self, KeyError};
use crate::machine;
use crate::settings::{self, RunOptions, Settings, SettingsError};

/// Why pulse could not start (or had to stop).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration file could not be read or has errors.
    #[error("{}", diagnostics.join("\n"))]
    Config {
        /// The file.
        path: PathBuf,
        /// Every error, `file:line:column: message`.
        diagnostics: Vec<String>,
    },
    /// The configuration is valid but pulse cannot run it.
    #[error("{path}: {source}")]
    Settings {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: SettingsError,
    },
    /// This is a backup router and failover is off (piranha
    /// `backup_active = 0`): pulse has nothing to do.
    #[error("we are backup node and backup is marked inactive -- exiting pulse")]
    BackupInactive,
    /// The key file was refused.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// No router in the settings is this host.
    #[error("{0}")]
    NotARouter(String),
    /// A heartbeat socket could not be bound.
    #[error("cannot create heartbeat socket on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// The HTTP listener could not be bound.
    #[error("http listener on {addr}: {source}")]
    Http {
        /// The configured address.
        addr: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// The control socket could not be set up.
    #[error("control socket {path}: {source}")]
    Control {
        /// Its path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The link monitor could not be set up.
    #[error("monitor_links: {0}")]
    Net(#[from] lvs_net::Error),
    /// Signal handlers or the poller failed.
    #[error("{what}: {source}")]
    Os {
        /// What was being set up.
        what: &'static str,
        /// The OS error.
        source: io::Error,
    },
}

/// What the command line decided.
#[derive(Clone, Debug)]
pub struct Options {
    /// Settings file.
    pub config: PathBuf,
    /// Which router this is, instead of matching local addresses.
    pub node: Option<String>,
    /// `--forceactive`, `--test-start`.
    pub run: RunOptions,
    /// `-n`: foreground, logs to stderr; lvsd gets `--nodaemon`.
    pub nodaemon: bool,
    /// `-v`: passed on to lvsd.
    pub verbose: bool,
    /// lvsd binary, instead of the configured one (`--lvsd`).
    pub lvsd: Option<PathBuf>,
    /// Control socket path instead of the one in the settings.
    pub control_socket: Option<PathBuf>,
}

/// Everything derived from one read of the settings.
#[derive(Debug)]
pub struct Loaded {
    /// The parsed settings.
    pub settings: Settings,
    /// The machine configuration.
    pub machine: machine::Config,
    /// The host configuration.
    pub host: HostConfig,
    /// Our heartbeat addresses and port.
    pub bind: Vec<SocketAddr>,
    /// What control requests may name (services and real servers).
    pub catalog: lvs_config::overrides::Catalog,
    /// The overrides file (`paths.overrides`).
    pub overrides: PathBuf,
    /// This router's name.
    pub me: String,
}

/// Local interface addresses, with the interface names.
pub fn local_addresses() -> Vec<(String, IpAddr)> {
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else { return Vec::new() };
    addrs
        .filter_map(|ifa| {
            let a = ifa.address?;
            let ip = if let Some(v4) = a.as_sockaddr_in() {
                IpAddr::V4(v4.ip())
            } else {
                IpAddr::V6(a.as_sockaddr_in6()?.ip())
            };
            Some((ifa.interface_name, ip))
        })
        .collect()
}

/// Reads and validates the settings and builds both configurations.
///
/// # Errors
/// Any [`RunError`] about the settings, the key or this host's identity.
pub fn load(opts: &Options, boot_id: u64) -> Result<Loaded, RunError> {
    let path = &opts.config;
    let (model, diags) = lvs_config::load_file(path);
    for d in diags.iter().filter(|d| !d.is_error()) {
        log::warn!("{d}");
    }
    let Some(model) = model else {
        return Err(RunError::Config {
            path: path.clone(),
            diagnostics: diags.iter().filter(|d| d.is_error()).map(ToString::to_string).collect(),
        });
    };
    let mut s = Settings::from_model(&model)
        .map_err(|source| RunError::Settings { path: path.clone(), source })?;
    if let Some(sock) = &opts.control_socket {
        s.control_socket = sock.clone();
    }
    // Said at every start and reload (and by --test-config), not only once.
    for w in s.unsafe_warnings() {
        log::warn!("{w}");
    }
    let locals = local_addresses();
    let me = match &opts.node {
        Some(name) => s.router_named(name).ok_or_else(|| {
            RunError::NotARouter(format!("no router named {name} in {}", path.display()))
        })?,
        None => {
            let ips: Vec<IpAddr> = locals.iter().map(|(_, a)| *a).collect();
            s.router_owning(&ips).ok_or_else(|| {
                RunError::NotARouter(format!(
                    "no local interface has the address of a router listed in {}",
                    path.display()
                ))
            })?
        }
    };
    if !s.backup_active && me != 0 && s.ecmp.is_none() {
        return Err(RunError::BackupInactive);
    }
    let key = match (&s.heartbeat.protocol, &s.heartbeat.key_file) {
        (settings::ProtocolName::Native, Some(k)) => Some(keyfile::load(k)?),
        _ => None,
    };
    let mut mc = s
        .machine_config(me, key, settings::digest(&model), boot_id, &opts.run)
        .map_err(|source| RunError::Settings { path: path.clone(), source })?;
    let my_addrs = s.routers[me].addresses();
    if s.monitor_links {
        let mut links: Vec<String> =
            locals.iter().filter(|(_, a)| my_addrs.contains(a)).map(|(n, _)| n.clone()).collect();
        links.sort();
        links.dedup();
        mc.monitored_links = links;
    }
    let mut lvsd_args =
        vec![if opts.nodaemon { "--nodaemon" } else { "--nofork" }.to_owned(), "-c".to_owned()];
    lvsd_args.push(opts.config.display().to_string());
    if opts.verbose {
        lvsd_args.push("-v".to_owned());
    }
    // Next to the control socket: a directory only root writes to.
    let ready_file = s.control_socket.with_extension("lvsd-ready");
    lvsd_args.push(format!("--ready-file={}", ready_file.display()));
    // lvsd's health, reasons and counters (`lvsd_link`).
    let report = crate::lvsd_link::socket_path(&s.control_socket);
    lvsd_args.push(format!("--report-socket={}", report.display()));
    let host = HostConfig {
        active_cmd: s.active_cmd.as_deref().and_then(split_command),
        inactive_cmd: s.inactive_cmd.as_deref().and_then(split_command),
        lvsd: opts.lvsd.clone().unwrap_or_else(|| s.lvsd.clone()),
        lvsd_args,
        lvsd_ready_file: Some(ready_file),
        ipvsadm: s.ipvsadm.clone(),
        sync: s.syncdaemon.clone(),
        failover: crate::fos::host_services(&s.failover, opts.verbose),
    };
    let bind = my_addrs.iter().map(|a| SocketAddr::new(*a, s.heartbeat.port)).collect();
    let catalog = lvs_config::overrides::Catalog::of(&model);
    let me_name = s.routers[me].name.clone();
    Ok(Loaded {
        settings: s,
        machine: mc,
        host,
        bind,
        catalog,
        overrides: model.paths.overrides.clone(),
        me: me_name,
    })
}

/// `--test-config`: what to print on stdout and stderr, and the exit code.
/// The file is checked as lvsd's `--check-config` does (the normalized YAML
/// on success), then as pulse would run it: settings, heartbeat key, and
/// which router this host is. Nothing is bound or changed.
pub fn test_config(opts: &Options) -> (String, String, i32) {
    let report = lvs_config::check(&opts.config);
    if report.exit_code != 0 {
        return (report.stdout, report.stderr, report.exit_code);
    }
    match load(opts, 0) {
        Ok(l) => {
            let me = &l.machine.routers[l.machine.me].name;
            let mut stderr = report.stderr;
            for w in l.settings.unsafe_warnings() {
                stderr.push_str(&format!("pulse: warning: {w}\n"));
            }
            stderr.push_str(&format!("pulse: this host is router {me}\n"));
            (report.stdout, stderr, 0)
        }
        Err(RunError::BackupInactive) => {
            (report.stdout, format!("{}pulse: {}\n", report.stderr, RunError::BackupInactive), 0)
        }
        Err(e) => (String::new(), format!("{}pulse: {e}\n", report.stderr), 1),
    }
}
