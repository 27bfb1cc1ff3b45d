//! What the configuration asks of lvsd, worked out once per (re)load: the
//! IPVS services, the real servers of each and the nanny that watches each,
//! and the desired table given what the nannies have reported.
//!
//! Pure: no IO, no clocks. Time comes in as an argument.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use ipvs::{Dest, DestKey, Family, ForwardMethod, Netmask, Service, ServiceFlags, ServiceKey};
use lvs_config::overrides::ServiceId;
use lvs_config::{CheckKind, CheckVia, Config, HealthCheck, MinUp, Protocol, VirtualService};

// The tests below name it through `super::*`.
#[cfg(test)]
use crate::table::Entry;

mod datapath;
mod desired;

pub use crate::host::HostSettings;
#[cfg(test)]
pub use desired::desired_service;

pub(crate) use desired::report_of;
pub use desired::{desired_service_with, desired_table, in_sync, sorry_in};

/// What identifies a nanny: its program and its argv. Real servers of
/// several virtual services whose nanny would be started with the same
/// argv share one nanny.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NannyKey {
    /// The program (`paths.nanny`, or the service's `monitor`).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
}

impl NannyKey {
    /// The command line, for the log.
    pub fn display(&self) -> String {
        let mut s = self.program.display().to_string();
        for a in &self.args {
            s.push(' ');
            s.push_str(a);
        }
        s
    }
}

/// One nanny to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NannySpec {
    /// The real server it checks.
    pub server: SocketAddr,
    /// The liveness period it is started with (`--alive`).
    pub alive: Duration,
    /// How long after its hello a server it never reported up is taken as
    /// down (a nanny says nothing about a server down from the start).
    pub first_verdict: Duration,
    /// The (service, real server) pairs it decides.
    pub members: Vec<(ServiceKey, DestKey)>,
}

/// How a real server's presence is decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Watch {
    /// By this nanny.
    Nanny(NannyKey),
    /// Always up (check `none`): no nanny.
    Always,
}

/// A real server of a service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealSpec {
    /// Its name in the configuration.
    pub name: String,
    /// The destination at its configured weight.
    pub dest: Dest,
    /// Who decides whether it is in.
    pub watch: Watch,
}

/// A virtual service lvsd keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceSpec {
    /// Its name in the configuration.
    pub name: String,
    /// The IPVS service.
    pub service: Service,
    /// Its active real servers.
    pub reals: Vec<RealSpec>,
    /// The sorry server, in when no real server is.
    pub sorry: Option<Dest>,
    /// Its identity in the operator's overrides.
    pub id: ServiceId,
    /// The depool threshold (`min_up`), if any.
    pub min_up: Option<MinUp>,
    /// How long a drained real server may keep connections.
    pub drain_timeout: Duration,
    /// A private service of the checks through the data path (`via:
    /// vip`), holding one real server: kept in the kernel like the others,
    /// never shown to operators (status, metrics, overrides).
    pub datapath: bool,
    /// ECMP directors with a consistent scheduler (`mh`, `sh`, `dh`):
    /// every real server is in the table from the start, at weight 0
    /// while its check has not passed, instead of out. The schedulers
    /// build their lookup from the destinations in the order they were
    /// added, so every director, and one that returns, hashes a flow to
    /// the same real server.
    pub hold_at_zero: bool,
}

/// Everything lvsd keeps for one configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Spec {
    /// Connection timeouts (0 = leave the kernel's).
    pub timeouts: ipvs::Timeouts,
    /// The services, by key.
    pub services: BTreeMap<ServiceKey, ServiceSpec>,
    /// The nannies, by key.
    pub nannies: BTreeMap<NannyKey, NannySpec>,
    /// piranha's `hard_shutdown`: a dead nanny makes lvsd exit.
    pub hard_shutdown: bool,
    /// Things of the configuration lvsd cannot do, for the log.
    pub warnings: Vec<String>,
    /// The firewall marks of the private services of checks through the
    /// data path, by real server; a reload keeps the marks of the servers
    /// it keeps, so that their nannies and services stay as they are.
    pub marks: Marks,
    /// What lvsd sets outside the IPVS table.
    pub host: HostSettings,
}

/// A real server as a private service holds it: address, port and
/// forwarding method (the name of `lvs_config::ForwardMethod`).
pub type PrivateDest = (IpAddr, u16, &'static str);

/// Marks of private services by real server ([`Spec::marks`]).
pub type Marks = BTreeMap<PrivateDest, u32>;

/// What a nanny last said about its server: its last
/// [`nanny_api::Decision`] as the table sees it, or nothing yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    /// Nothing yet: keep what the kernel has (adoption at start).
    Unknown,
    /// In the table with this weight.
    Up(u32),
    /// Out of the table.
    Removed,
    /// In the table with weight 0.
    Quiesced,
}

impl From<nanny_api::Decision> for Report {
    fn from(d: nanny_api::Decision) -> Report {
        use nanny_api::{Decision, DownMode};
        match d {
            Decision::Up { weight } | Decision::Weight { weight } => Report::Up(weight),
            Decision::Down { mode: DownMode::Remove } => Report::Removed,
            Decision::Down { mode: DownMode::Quiesce } => Report::Quiesced,
        }
    }
}

/// Options of lvsd that shape the nanny command lines (the command line
/// itself is `nanny_api::NannyOptions`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NannyOptions {
    /// Pass `-v`.
    pub verbose: bool,
}

/// The one conversion of the configuration's forwarding method into
/// IPVS's: `lvs_config::ForwardMethod` is an edge type (pulse reads the
/// configuration and may not build `ipvs`), and past this function lvsd
/// knows only `ipvs::ForwardMethod`.
fn forward(m: lvs_config::ForwardMethod) -> ForwardMethod {
    match m {
        lvs_config::ForwardMethod::Nat => ForwardMethod::Masq,
        lvs_config::ForwardMethod::Direct => ForwardMethod::Route,
        lvs_config::ForwardMethod::Tunnel => ForwardMethod::Tunnel,
    }
}

fn netmask(family: Family, prefix: Option<u8>) -> Netmask {
    match (family, prefix) {
        (_, None) => Netmask::full(family),
        (Family::Inet, Some(p)) => {
            let bits = if p >= 32 { u32::MAX } else { !(u32::MAX >> p) };
            Netmask::V4(bits.into())
        }
        (Family::Inet6, Some(p)) => Netmask::V6Prefix(u32::from(p.min(128))),
    }
}

/// The key of a virtual service.
pub fn service_key(vs: &VirtualService) -> ServiceKey {
    match vs.fwmark {
        Some(mark) if mark != 0 => ServiceKey::fwmark(Family::of(&vs.vip.address), mark),
        _ => {
            let addr = vs.vip.address;
            match vs.protocol {
                Protocol::Tcp => ServiceKey::tcp(addr, vs.port),
                Protocol::Udp => ServiceKey::udp(addr, vs.port),
                Protocol::Sctp => ServiceKey::sctp(addr, vs.port),
            }
        }
    }
}

/// The IPVS service of a virtual service.
pub fn service_of(vs: &VirtualService) -> Service {
    let key = service_key(vs);
    let mut s = Service::new(key).with_scheduler(&vs.scheduler.0);
    if let Some(p) = &vs.persistence {
        s = s.with_persistence(p.timeout, netmask(key.family(), p.netmask));
    }
    if vs.one_packet {
        s.flags |= ServiceFlags::ONEPACKET;
    }
    for f in &vs.scheduler_flags {
        s.flags |= ServiceFlags(match f {
            lvs_config::SchedulerFlag::Flag1 => ServiceFlags::SCHED1.0,
            lvs_config::SchedulerFlag::Flag2 => ServiceFlags::SCHED2.0,
            lvs_config::SchedulerFlag::Flag3 => ServiceFlags::SCHED3.0,
        });
    }
    s
}

/// The liveness period asked of nannies: their check interval, at most 5 s,
/// so that a hung nanny is found within 15 s (3 periods).
pub const MAX_ALIVE: Duration = Duration::from_secs(5);

/// The nanny command line for one real server of a virtual service, or
/// `None` for a check that needs no nanny (`none`).
fn nanny_args(
    vs: &VirtualService,
    rs: &lvs_config::RealServer,
    check: &HealthCheck,
    via_mark: Option<u32>,
    opts: NannyOptions,
) -> Option<Vec<String>> {
    use nanny_api::{CheckOptions, LoadCmd, Secs};
    if check.kind == CheckKind::None {
        return None; // before any allocation: tables of many `none` servers
    }
    let mut o = nanny_api::NannyOptions::new(rs.address);
    o.port = vs.port;
    o.rport = Some(rs.port);
    o.fwmark = vs.fwmark.unwrap_or(0);
    o.udp = vs.protocol == Protocol::Udp;
    o.via_mark = via_mark;
    o.check = match &check.kind {
        CheckKind::None => return None,
        // The configuration holds decoded bytes: nanny must not decode again.
        CheckKind::Connect { send, expect, regex } => {
            CheckOptions::decoded_stream(send.clone(), expect.clone(), *regex)
        }
        CheckKind::Program { command, expect } => {
            CheckOptions::decoded_program(command.clone(), expect.clone())
        }
        CheckKind::Agent { command, on_up, on_down } => {
            o.agent_up.clone_from(on_up);
            o.agent_down.clone_from(on_down);
            CheckOptions::Agent { command: command.clone() }
        }
        CheckKind::Http { path, host, status, body_regex, tls } => {
            // The Host header defaults to the virtual address.
            o.vip = Some(vs.vip.address);
            let list: Vec<String> = status.iter().map(u16::to_string).collect();
            CheckOptions::Http {
                path: Some(path.clone()),
                host: host.clone(),
                status: Some(list.join(",")),
                body: body_regex.clone(),
                tls: tls.then(nanny_api::TlsOptions::default),
            }
        }
        CheckKind::Ping { count } => CheckOptions::Ping { count: Some(*count) },
        CheckKind::Dns { query, record } => {
            CheckOptions::Dns { name: query.clone(), record: record.clone() }
        }
    };
    o.interval = Some(Secs::new(check.interval.to_duration()));
    o.timeout = Some(Secs::new(check.effective_timeout().to_duration()));
    o.reentry = Some(Secs::new(check.reentry.to_duration()));
    o.retries = Some(check.retries);
    o.weight = Some(rs.weight);
    o.quiesce = check.quiesce;
    o.load = match check.load_monitor {
        lvs_config::LoadMonitor::None => None,
        lvs_config::LoadMonitor::Rup => Some(LoadCmd::Rup),
        lvs_config::LoadMonitor::Ruptime => Some(LoadCmd::Ruptime),
        lvs_config::LoadMonitor::Uptime => Some(LoadCmd::Rsh),
    };
    if via_mark.is_some() {
        // The probe goes to the virtual address (`-V`) and port.
        o.vip = Some(vs.vip.address);
    }
    o.alive = Some(Secs::with_decimals(check.interval.to_duration().min(MAX_ALIVE)));
    o.mode = nanny_api::Mode::Report;
    o.verbose = opts.verbose;
    Some(o.to_args())
}

/// Works out what lvsd keeps for a configuration.
pub fn build(config: &Config, opts: NannyOptions) -> Spec {
    build_keeping(config, opts, &Marks::new())
}

/// [`build`], keeping the marks `previous` gave to real servers still
/// checked through the data path (a reload).
pub fn build_keeping(config: &Config, opts: NannyOptions, previous: &Marks) -> Spec {
    let marks = datapath::assign_marks(config, previous);
    let mut spec = Spec {
        timeouts: ipvs::Timeouts {
            tcp: config.ipvs_timeouts.tcp,
            tcp_fin: config.ipvs_timeouts.tcpfin,
            udp: config.ipvs_timeouts.udp,
        },
        hard_shutdown: config.hard_shutdown,
        host: HostSettings {
            sloppy_tcp: config.sloppy_tcp(),
            sloppy_sctp: config.sloppy_sctp(),
            accept_local: !marks.is_empty(),
            sync_both: config
                .sync_daemon
                .as_ref()
                .filter(|s| s.both)
                .map(|s| (s.interface.clone(), s.sync_id)),
        },
        ..Spec::default()
    };
    for vs in config.virtual_services.iter().filter(|v| v.active) {
        let service = service_of(vs);
        let key = service.key;
        if spec.services.contains_key(&key) {
            spec.warnings.push(format!(
                "virtual service {}: {key} is already described by another service; ignored",
                vs.name
            ));
            continue;
        }
        let program = vs.monitor.as_ref().unwrap_or(&config.paths.nanny);
        let mut reals = Vec::with_capacity(vs.real_servers.len());
        for rs in vs.real_servers.iter().filter(|r| r.active) {
            let mut dest = Dest::new(rs.address, rs.port)
                .with_fwd(forward(rs.forwarding.unwrap_or(config.network)))
                .with_weight(rs.weight);
            dest.upper_threshold = rs.upper_threshold;
            dest.lower_threshold = rs.lower_threshold;
            if reals.iter().any(|r: &RealSpec| r.dest.key() == dest.key()) {
                spec.warnings.push(format!(
                    "virtual service {}: real server {} repeats {}:{}; ignored",
                    vs.name, rs.name, rs.address, rs.port
                ));
                continue;
            }
            let via_mark = if vs.check.via == CheckVia::Vip {
                let mark = marks.get(&datapath::private_dest(config, rs)).copied();
                if mark.is_none() {
                    spec.warnings.push(format!(
                        "virtual service {}: real server {} has no firewall mark left for a check through the data path; checked at its own address",
                        vs.name, rs.name
                    ));
                }
                mark
            } else {
                None
            };
            let watch = match nanny_args(vs, rs, &vs.check, via_mark, opts) {
                None => Watch::Always,
                Some(args) => {
                    let nk = NannyKey { program: program.clone(), args };
                    let member = (key, dest.key());
                    // A shared nanny (the same farm behind many services)
                    // is found without another copy of its argv.
                    if let Some(n) = spec.nannies.get_mut(&nk) {
                        n.members.push(member);
                    } else {
                        let interval = vs.check.interval.to_duration();
                        let n = NannySpec {
                            server: SocketAddr::new(rs.address, rs.port),
                            alive: interval.min(MAX_ALIVE),
                            first_verdict: vs.check.effective_timeout().to_duration()
                                + interval
                                + Duration::from_secs(2),
                            members: vec![member],
                        };
                        spec.nannies.insert(nk.clone(), n);
                    }
                    Watch::Nanny(nk)
                }
            };
            reals.push(RealSpec { name: rs.name.clone(), dest, watch });
        }
        let sorry = vs.sorry_server.map(|s| {
            let port = if s.port() == 0 { vs.port } else { s.port() };
            Dest::new(s.ip(), port).with_fwd(forward(config.network)).with_weight(1)
        });
        spec.services.insert(
            key,
            ServiceSpec {
                name: vs.name.clone(),
                service,
                reals,
                sorry,
                id: ServiceId::of(vs),
                min_up: vs.min_up,
                drain_timeout: vs.drain_timeout.to_duration(),
                datapath: false,
                hold_at_zero: config.routers.is_ecmp()
                    && lvs_config::CONSISTENT_SCHEDULERS.contains(&vs.scheduler.0.as_str()),
            },
        );
    }
    datapath::private_services(&mut spec, &marks);
    spec.marks = marks;
    spec.warnings.sort();
    spec.warnings.dedup();
    spec
}

#[cfg(test)]
mod tests;
