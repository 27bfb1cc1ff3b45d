//! The IO shell: one mio loop over the heartbeat UDP sockets, a signal
//! pipe, the root-only control socket and timers. It turns what arrives
//! into [`Event`]s, calls the pure [`Machine::step`], and carries out the
//! returned [`Action`]s through a [`Host`].

use std::io::{self, BufRead, BufReader, ErrorKind, Write};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mio::net::UdpSocket;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use crate::control::{self, Request};
use crate::host::{split_command, CommandKind, Host, HostConfig, RealHost};
use crate::keyfile::{self, KeyError};
use crate::machine::{self, Action, Event, Machine, Now};
use crate::notify::Notifier;
use crate::settings::{self, RunOptions, Settings, SettingsError};

const SIGNALS: Token = Token(0);
const CONTROL: Token = Token(1);
const LINKS: Token = Token(2);
const UDP_BASE: usize = 16;

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
    /// `-n`: foreground, logs to stdout; lvsd gets `--nodaemon`.
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
    if !s.backup_active && me != 0 {
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
    let host = HostConfig {
        active_cmd: s.active_cmd.as_deref().and_then(split_command),
        inactive_cmd: s.inactive_cmd.as_deref().and_then(split_command),
        lvsd: opts.lvsd.clone().unwrap_or_else(|| s.lvsd.clone()),
        lvsd_args,
        lvsd_ready_file: Some(ready_file),
        ipvsadm: s.ipvsadm.clone(),
        sync: s.syncdaemon.clone(),
    };
    let bind = my_addrs.iter().map(|a| SocketAddr::new(*a, s.heartbeat.port)).collect();
    Ok(Loaded { settings: s, machine: mc, host, bind })
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

fn now() -> Now {
    Now { mono: Instant::now() }
}

/// A random boot id from the kernel's generator.
pub fn random_boot_id() -> u64 {
    let mut b = [0u8; 8];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = io::Read::read_exact(&mut f, &mut b);
    }
    let id = u64::from_ne_bytes(b);
    if id == 0 {
        // Fall back to time and pid: unique enough across restarts (only
        // uniqueness matters, not what the clock says).
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        (wall as u64) ^ (u64::from(std::process::id()) << 40)
    } else {
        id
    }
}

/// The running daemon: machine, host and the fds it waits on.
pub struct Daemon<H: Host> {
    opts: Options,
    machine: Machine,
    host: H,
    poll: Poll,
    sockets: Vec<UdpSocket>,
    peers: Vec<(usize, SocketAddr)>,
    control: UnixListener,
    control_path: PathBuf,
    signal_rx: UnixStream,
    flags: [(i32, Arc<AtomicBool>); 4],
    links: Vec<(String, bool)>,
    monitor: Option<lvs_net::LinkMonitor>,
}

impl<H: Host> std::fmt::Debug for Daemon<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon").field("machine", &self.machine).finish_non_exhaustive()
    }
}

fn os(what: &'static str) -> impl FnOnce(io::Error) -> RunError {
    move |source| RunError::Os { what, source }
}

fn peer_targets(cfg: &machine::Config, port: u16, nsockets: usize) -> Vec<(usize, SocketAddr)> {
    let mut v = Vec::new();
    for (i, r) in cfg.routers.iter().enumerate() {
        if i == cfg.me {
            continue;
        }
        for (k, a) in r.addrs.iter().enumerate() {
            v.push((k.min(nsockets.saturating_sub(1)), SocketAddr::new(*a, port)));
        }
    }
    v
}

impl Daemon<RealHost> {
    /// Loads the settings, binds the sockets and installs signal handlers.
    ///
    /// # Errors
    /// Any [`RunError`]; nothing has been changed on the host then.
    pub fn prepare(opts: Options) -> Result<Daemon<RealHost>, RunError> {
        let loaded = load(&opts, random_boot_id())?;
        let host = RealHost::new(loaded.host.clone());
        Daemon::with_host(opts, loaded, host)
    }
}

impl<H: Host> Daemon<H> {
    /// Like [`Daemon::prepare`] with a given host and settings.
    ///
    /// # Errors
    /// Any [`RunError`] from sockets and signals.
    pub fn with_host(opts: Options, loaded: Loaded, host: H) -> Result<Daemon<H>, RunError> {
        let poll = Poll::new().map_err(os("creating the poller"))?;
        let mut sockets = Vec::new();
        for (n, addr) in loaded.bind.iter().enumerate() {
            let mut s =
                UdpSocket::bind(*addr).map_err(|source| RunError::Bind { addr: *addr, source })?;
            poll.registry()
                .register(&mut s, Token(UDP_BASE + n), Interest::READABLE)
                .map_err(os("registering a heartbeat socket"))?;
            sockets.push(s);
        }
        let peers = peer_targets(&loaded.machine, loaded.settings.heartbeat.port, sockets.len());
        let control_path = loaded.settings.control_socket.clone();
        let control = bind_control(&control_path)?;
        poll.registry()
            .register(&mut SourceFd(&control.as_raw_fd()), CONTROL, Interest::READABLE)
            .map_err(os("registering the control socket"))?;
        let (signal_rx, signal_tx) = UnixStream::pair().map_err(os("creating the signal pipe"))?;
        signal_rx.set_nonblocking(true).map_err(os("creating the signal pipe"))?;
        signal_tx.set_nonblocking(true).map_err(os("creating the signal pipe"))?;
        let flags = [
            (signal_hook::consts::SIGHUP, Arc::new(AtomicBool::new(false))),
            (signal_hook::consts::SIGTERM, Arc::new(AtomicBool::new(false))),
            (signal_hook::consts::SIGINT, Arc::new(AtomicBool::new(false))),
            (signal_hook::consts::SIGCHLD, Arc::new(AtomicBool::new(false))),
        ];
        for (sig, flag) in &flags {
            signal_hook::flag::register(*sig, Arc::clone(flag))
                .map_err(os("installing a signal handler"))?;
            let tx = signal_tx.try_clone().map_err(os("installing a signal handler"))?;
            signal_hook::low_level::pipe::register(*sig, tx)
                .map_err(os("installing a signal handler"))?;
        }
        poll.registry()
            .register(&mut SourceFd(&signal_rx.as_raw_fd()), SIGNALS, Interest::READABLE)
            .map_err(os("registering the signal pipe"))?;
        let links: Vec<(String, bool)> =
            loaded.machine.monitored_links.iter().map(|l| (l.clone(), true)).collect();
        let monitor = if links.is_empty() {
            None
        } else {
            let m = lvs_net::LinkMonitor::open()?;
            poll.registry()
                .register(&mut SourceFd(&m.as_raw_fd()), LINKS, Interest::READABLE)
                .map_err(os("registering the link monitor"))?;
            log::info!(
                "monitoring links {}",
                links.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
            );
            Some(m)
        };
        Ok(Daemon {
            opts,
            machine: Machine::new(loaded.machine),
            host,
            poll,
            sockets,
            peers,
            control,
            control_path,
            signal_rx,
            flags,
            links,
            monitor,
        })
    }

    /// Runs until SIGTERM/SIGINT has been handled.
    ///
    /// # Errors
    /// Only if the poller itself fails.
    pub fn run(mut self) -> Result<(), RunError> {
        let mut events = Events::with_capacity(64);
        let vips = self.machine.config().vips.clone();
        self.host.prepare_announcements(&vips);
        if self.handle(Event::Start) || self.reread_links() {
            return Ok(());
        }
        // systemd: READY=1, WATCHDOG=1 and STATUS= from this loop's turns.
        let mut notifier = Notifier::from_env();
        notifier.turn(&self.machine);
        loop {
            let t = Instant::now();
            let timeout = self.machine.next_wakeup(t).map(|w| w.saturating_duration_since(t));
            let timeout = match (timeout, notifier.max_sleep()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(source) => return Err(RunError::Os { what: "polling", source }),
            }
            // Heartbeats that queued up while this process was not scheduled
            // are read before anything else can judge a peer dead: a stall
            // of ours must not look like a silent peer.
            for k in 0..self.sockets.len() {
                if self.on_udp(k) {
                    return Ok(());
                }
            }
            for ev in events.iter() {
                let exit = match ev.token() {
                    SIGNALS => self.on_signals(),
                    CONTROL => self.on_control(),
                    LINKS => self.on_link_events(),
                    Token(n) if n >= UDP_BASE && n - UDP_BASE < self.sockets.len() => false,
                    Token(n) => {
                        log::warn!("event for unknown token {n}");
                        false
                    }
                };
                if exit {
                    return Ok(());
                }
            }
            // lvsd's word on its table (a file read): at every turn, so at
            // least once per keepalive.
            let ready = self.host.lvsd_ready();
            if ready != self.machine.lvsd_ready() && self.handle(Event::LvsdReady(ready)) {
                return Ok(());
            }
            if self.handle(Event::Tick) {
                return Ok(());
            }
            notifier.turn(&self.machine);
        }
    }

    fn handle(&mut self, ev: Event) -> bool {
        let actions = self.machine.step(ev, now());
        self.execute(actions)
    }

    /// Carries out actions; true when the process must exit.
    fn execute(&mut self, actions: Vec<Action>) -> bool {
        let mut exit = false;
        // How long the VIPs take to go up and be announced, for the log.
        let t0 = Instant::now();
        let mut vips_up_after = None;
        for a in actions {
            let (vips_up, announced) =
                (matches!(a, Action::VipsUp(_)), matches!(a, Action::GratuitousArp(_)));
            let r = match a {
                Action::SendHeartbeat(p) => {
                    self.send(&p);
                    Ok(())
                }
                Action::RunActiveCmd => self.host.run_command(CommandKind::Active),
                Action::RunInactiveCmd => self.host.run_command(CommandKind::Inactive),
                Action::VipsUp(v) => self.host.vips_up(&v),
                Action::VipsDown(v) => self.host.vips_down(&v),
                Action::GratuitousArp(v) => self.host.gratuitous_arp(&v),
                Action::StartLvsd => self.host.start_lvsd(),
                Action::StopLvsd => {
                    self.host.stop_lvsd();
                    Ok(())
                }
                Action::ReloadLvsd => {
                    self.host.reload_lvsd();
                    Ok(())
                }
                Action::SyncDaemon(role) => self.host.sync_daemon(role),
                Action::ReloadConfig => {
                    exit |= self.reload();
                    Ok(())
                }
                Action::Exit => {
                    exit = true;
                    Ok(())
                }
            };
            if let Err(e) = r {
                log::error!("{e}");
            }
            if vips_up {
                vips_up_after = Some(t0.elapsed());
            } else if let (true, Some(up)) = (announced, vips_up_after.take()) {
                log::info!(
                    "VIPs up in {:.2} ms, announced {:.2} ms after the decision",
                    up.as_secs_f64() * 1000.0,
                    t0.elapsed().as_secs_f64() * 1000.0
                );
            }
        }
        exit
    }

    fn send(&mut self, payload: &[u8]) {
        for (k, to) in &self.peers {
            let Some(sock) = self.sockets.get(*k) else { continue };
            if let Err(e) = sock.send_to(payload, *to) {
                log::debug!("heartbeat to {to}: {e}");
            }
        }
    }

    fn reload(&mut self) -> bool {
        log::info!("re-reading {}", self.opts.config.display());
        let boot_id = self.machine.config().boot_id;
        match load(&self.opts, boot_id) {
            Ok(l) => {
                let port_now = self.peers.first().map(|(_, a)| a.port());
                let bound: Vec<SocketAddr> =
                    self.sockets.iter().filter_map(|s| s.local_addr().ok()).collect();
                if (Some(l.settings.heartbeat.port) != port_now && !self.peers.is_empty())
                    || bound != l.bind
                {
                    log::warn!("new heartbeat addresses or port take effect only after a restart");
                }
                self.peers = peer_targets(&l.machine, port_now.unwrap_or(539), self.sockets.len());
                let mut links: Vec<(String, bool)> =
                    l.machine.monitored_links.iter().map(|n| (n.clone(), true)).collect();
                for (n, up) in &mut links {
                    if let Some((_, old)) = self.links.iter().find(|(o, _)| o == n) {
                        *up = *old;
                    }
                }
                self.links = links;
                self.host.reconfigure(l.host);
                self.host.prepare_announcements(&l.machine.vips);
                self.handle(Event::Reconfigured(Box::new(l.machine)))
            }
            Err(e) => {
                log::error!("reload refused, keeping the running configuration: {e}");
                false
            }
        }
    }

    fn on_signals(&mut self) -> bool {
        let mut buf = [0u8; 64];
        while let Ok(n) = io::Read::read(&mut self.signal_rx, &mut buf) {
            if n == 0 {
                break;
            }
        }
        let mut exit = false;
        let fired: Vec<i32> = self
            .flags
            .iter()
            .filter(|(_, f)| f.swap(false, Ordering::SeqCst))
            .map(|(s, _)| *s)
            .collect();
        for sig in fired {
            match sig {
                signal_hook::consts::SIGCHLD => {
                    for (child, code) in self.host.reap() {
                        exit |= self.handle(Event::ChildExited(child, code));
                    }
                }
                signal_hook::consts::SIGHUP => {
                    exit |= self.handle(Event::Signal(machine::Signal::Reload));
                }
                s => {
                    log::info!("terminating due to signal {s}");
                    exit |= self.handle(Event::Signal(machine::Signal::Terminate));
                }
            }
        }
        exit
    }

    fn on_udp(&mut self, k: usize) -> bool {
        let mut buf = [0u8; 2048];
        loop {
            let r = self.sockets[k].recv_from(&mut buf);
            match r {
                Ok((n, from)) => {
                    let data = buf[..n].to_vec();
                    if self.handle(Event::Packet { from: from.ip(), data }) {
                        return true;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    log::warn!("heartbeat socket: {e}");
                    return false;
                }
            }
        }
    }

    fn on_control(&mut self) -> bool {
        loop {
            match self.control.accept() {
                Ok((stream, _)) => {
                    if self.serve(stream) {
                        return true;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    log::warn!("control socket: {e}");
                    return false;
                }
            }
        }
    }

    fn serve(&mut self, stream: UnixStream) -> bool {
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        let _ = stream.set_write_timeout(Some(Duration::from_millis(500)));
        // Read the request before anything else: closing a Unix socket with
        // unread data resets the connection, and the client would never see
        // the reply, not even a refusal.
        let mut line = String::new();
        let read = BufReader::new(io::Read::take(&stream, 256)).read_line(&mut line);
        let mut w = &stream;
        let uid = nix::sys::socket::getsockopt(&stream, nix::sys::socket::sockopt::PeerCredentials)
            .map(|c| c.uid());
        match uid {
            Ok(0) => {}
            Ok(uid) => {
                log::warn!("control request from uid {uid} refused");
                let _ = w.write_all(b"error: permission denied: root only\n");
                return false;
            }
            Err(e) => {
                log::warn!("control socket peer credentials: {e}");
                return false;
            }
        }
        if read.is_err() {
            return false;
        }
        let mut exit = false;
        let reply = match control::parse_request(&line) {
            Ok(Request::StatusText) => {
                control::render_text(&self.machine.status(Instant::now()), self.host.lvsd_pid())
            }
            Ok(Request::StatusJson) => {
                control::render_json(&self.machine.status(Instant::now()), self.host.lvsd_pid())
            }
            Ok(Request::Command(c)) => {
                log::info!("control: {}", line.trim());
                exit = self.handle(Event::Control(c));
                "ok\n".to_owned()
            }
            Err(e) => format!("error: {e}\n"),
        };
        let _ = w.write_all(reply.as_bytes());
        exit
    }

    /// Applies a link's new state; true when the process must exit.
    fn link_changed(&mut self, name: &str, now_up: bool) -> bool {
        let Some((_, up)) = self.links.iter_mut().find(|(n, _)| n == name) else { return false };
        if *up == now_up {
            return false;
        }
        *up = now_up;
        let ev =
            if now_up { Event::LinkUp(name.to_owned()) } else { Event::LinkDown(name.to_owned()) };
        self.handle(ev)
    }

    /// Reads the watched links' state afresh (at start, and after the
    /// kernel dropped notifications).
    fn reread_links(&mut self) -> bool {
        if self.links.is_empty() {
            return false;
        }
        let mut rtnl = match lvs_net::Rtnl::open() {
            Ok(r) => r,
            Err(e) => {
                log::error!("monitor_links: {e}");
                return false;
            }
        };
        let names: Vec<String> = self.links.iter().map(|(n, _)| n.clone()).collect();
        let mut exit = false;
        for name in names {
            let up = match rtnl.link(&name) {
                Ok(l) => l.is_up(),
                Err(lvs_net::Error::NoSuchInterface(_)) => false,
                Err(e) => {
                    log::error!("monitor_links: {e}");
                    continue;
                }
            };
            exit |= self.link_changed(&name, up);
        }
        exit
    }

    fn on_link_events(&mut self) -> bool {
        let Some(m) = &mut self.monitor else { return false };
        match m.read_events() {
            Ok(events) => {
                let mut exit = false;
                for e in events {
                    exit |= self.link_changed(&e.name, e.state == lvs_net::LinkState::Up);
                }
                exit
            }
            Err(lvs_net::Error::EventsLost) => self.reread_links(),
            Err(e) => {
                log::error!("monitor_links: {e}");
                false
            }
        }
    }
}

impl<H: Host> Drop for Daemon<H> {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.control_path);
    }
}

fn bind_control(path: &Path) -> Result<UnixListener, RunError> {
    let err = |source| RunError::Control { path: path.into(), source };
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(err(io::Error::new(
                ErrorKind::AlreadyExists,
                "exists and is not a socket",
            )));
        }
        if UnixStream::connect(path).is_ok() {
            return Err(err(io::Error::new(ErrorKind::AddrInUse, "another pulse is running")));
        }
        std::fs::remove_file(path).map_err(err)?;
    }
    let l = UnixListener::bind(path).map_err(err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
    l.set_nonblocking(true).map_err(err)?;
    Ok(l)
}

/// Sends one request to a running pulse and returns its reply.
///
/// # Errors
/// The socket error.
pub fn request(socket: &Path, line: &str) -> io::Result<String> {
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    // A refused client is answered and closed before it has written, so a
    // failed write is not the end: the reply says why.
    let sent = s.write_all(format!("{line}\n").as_bytes());
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = String::new();
    io::Read::read_to_string(&mut s, &mut out)?;
    if out.is_empty() {
        sent?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_targets_pair_public_with_public() {
        let r = |n: &str, a: &[&str]| machine::Router {
            name: n.into(),
            node_id: 1,
            addrs: a.iter().map(|x| x.parse().unwrap()).collect(),
        };
        let cfg = machine::Config {
            routers: vec![r("a", &["10.0.0.1", "10.1.0.1"]), r("b", &["10.0.0.2", "10.1.0.2"])],
            me: 0,
            keepalive: Duration::from_secs(2),
            deadtime: Duration::from_secs(5),
            preempt: false,
            force_active: false,
            test_start: false,
            vips: vec![],
            arp: machine::ArpPolicy::default(),
            syncdaemon: false,
            hot_standby: false,
            monitored_links: vec![],
            protocol: machine::Protocol::Piranha,
            config_digest: [0; 32],
            boot_id: 1,
        };
        let t = peer_targets(&cfg, 539, 2);
        assert_eq!(
            t,
            vec![(0, "10.0.0.2:539".parse().unwrap()), (1, "10.1.0.2:539".parse().unwrap())]
        );
        assert_eq!(peer_targets(&cfg, 539, 1)[1].0, 0);
    }
}
