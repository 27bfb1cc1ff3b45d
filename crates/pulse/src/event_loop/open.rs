//! The daemon's start: the heartbeat sockets bound, the control socket,
//! the HTTP listener, lvsd's report socket, the signal pipe and the link
//! monitor set up, before the loop runs. Nothing on the host is changed
//! here, so a failure leaves it as it was.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use lvs_daemon::{Signals, SIGCHLD, SIGHUP, SIGINT, SIGTERM};
use mio::net::UdpSocket;
use mio::unix::SourceFd;
use mio::{Interest, Poll, Token};

use crate::canary::Canaries;
use crate::control_server::ControlServer;
use crate::event_stream::EventStreams;
use crate::events::{EventLog, Watcher};
use crate::host::{Host, RealHost};
use crate::http_server::HttpServer;
use crate::machine::{self, Machine};
use crate::order::Held;
use crate::reload::Reloader;
use crate::snapshot::{Board, Reloads};
use crate::stall::LoopStats;
use crate::state_file::{Operator, Sharing};

use super::{load, os, Daemon, Loaded, Options, RunError};
use super::{CONN_BASE, CONTROL, LINKS, SIGNALS, UDP_BASE, WOKEN};

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

/// How overrides reach the peers under this configuration.
pub(super) fn sharing(cfg: &machine::Config) -> Sharing {
    match &cfg.protocol {
        _ if cfg.routers.len() < 2 => Sharing::Alone,
        machine::Protocol::Native { key } => Sharing::Native(key.clone()),
        machine::Protocol::Piranha => Sharing::Local,
    }
}

/// Where heartbeats go: each peer address, on the socket of the same rank
/// (public with public). Also recomputed at a reload.
pub(super) fn peer_targets(
    cfg: &machine::Config,
    port: u16,
    nsockets: usize,
) -> Vec<(usize, SocketAddr)> {
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
        let control = ControlServer::bind(&control_path, poll.registry(), CONTROL, CONN_BASE)
            .map_err(|source| RunError::Control { path: control_path.clone(), source })?;
        let board = loaded.settings.http_listen.map(|_| Board::new());
        let http = match (loaded.settings.http_listen, &board) {
            (Some(addr), Some(b)) => Some(
                HttpServer::bind(addr, b.clone())
                    .map_err(|source| RunError::Http { addr, source })?,
            ),
            _ => None,
        };
        let waker =
            Arc::new(mio::Waker::new(poll.registry(), WOKEN).map_err(os("creating the waker"))?);
        let mut host = host;
        host.attach(Arc::clone(&waker));
        let operator = Operator::new(
            Arc::clone(&waker),
            loaded.catalog.clone(),
            loaded.overrides.clone(),
            loaded.me.clone(),
            sharing(&loaded.machine),
        );
        // lvsd's reports: read on threads that wake the loop. Without
        // them pulse still runs; it only shows less.
        let link_path = crate::lvsd_link::socket_path(&control_path);
        let link_waker = Arc::clone(&waker);
        let lvsd_link = crate::lvsd_link::listen(&link_path, move || {
            let _ = link_waker.wake();
        })
        .map_err(|e| log::warn!("lvsd report socket {}: {e}", link_path.display()))
        .ok();
        let signals = Signals::new(&[SIGHUP, SIGTERM, SIGINT, SIGCHLD], poll.registry(), SIGNALS)
            .map_err(os("installing the signal handlers"))?;
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
            reloader: Reloader::new(waker),
            held: Held::default(),
            stats: LoopStats::default(),
            canaries: Canaries::none(),
            cpu_slept: None,
            sched: None,
            sched_slept: None,
            previous: None,
            slowest: None,
            slowest_phase: None,
            signals,
            links,
            monitor,
            reloads: Reloads::default(),
            board,
            http,
            http_listen: loaded.settings.http_listen,
            operator,
            lvsd_link,
            lvsd_view: None,
            events: Arc::new(EventLog::default()),
            watcher: Watcher::default(),
            event_streams: EventStreams::default(),
            ecmp: loaded.settings.ecmp.clone().map(super::ecmp::Ecmp::new),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

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
            failover: vec![],
        };
        let t = peer_targets(&cfg, 539, 2);
        assert_eq!(
            t,
            vec![(0, "10.0.0.2:539".parse().unwrap()), (1, "10.1.0.2:539".parse().unwrap())]
        );
        assert_eq!(peer_targets(&cfg, 539, 1)[1].0, 0);
    }
}
