//! A seam for code that drives IPVS (lvsd, nanny): the [`IpvsTable`]
//! trait, implemented by the real [`Client`](crate::Client) and by
//! [`FakeTable`], an in-memory table that answers like the kernel (same
//! errnos for the same mistakes) and records every command it is given.
//!
//! Pure: no IO. The in-guest suite runs the same command sequences against
//! the kernel and the fake and checks they agree (`tests/vm/ipvs/fake.rs`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::client::BatchResults;
use crate::error::Error;
use crate::model::{
    Command, DaemonConfig, DaemonState, Dest, DestKey, Family, ForwardMethod, Info, Netmask, Op,
    Service, ServiceFlags, ServiceKey, Stats, Stats64, Timeouts, TunnelType,
};

/// The kernel's IPVS table as the workspace's programs use it: apply
/// changes and read them back. Implemented by the real
/// [`Client`](crate::Client) and by [`FakeTable`]; ipvsadm-rs runs every
/// command through it.
pub trait IpvsTable {
    /// Apply `cmds` in order; a failure does not stop the following ones.
    /// The outer error is a failure of the channel itself.
    fn apply(&mut self, cmds: &[Command]) -> Result<BatchResults, Error>;
    /// Every service (the kernel's order).
    fn services(&mut self) -> Result<Vec<Service>, Error>;
    /// One service; a missing one is `Kernel { op: GetService, errno: ESRCH }`.
    fn service(&mut self, key: &ServiceKey) -> Result<Service, Error>;
    /// A service's destinations (the kernel's order); a missing service
    /// gives an empty list, as the kernel does.
    fn dests(&mut self, key: &ServiceKey) -> Result<Vec<Dest>, Error>;
    /// Connection timeouts.
    fn timeouts(&mut self) -> Result<Timeouts, Error>;
    /// Running sync daemons.
    fn daemons(&mut self) -> Result<Vec<DaemonConfig>, Error>;
    /// IPVS version and connection table size.
    fn info(&mut self) -> Result<Info, Error>;

    /// Every service with its destinations (order unspecified).
    fn table(&mut self) -> Result<Vec<(Service, Vec<Dest>)>, Error> {
        let services = self.services()?;
        let mut out = Vec::with_capacity(services.len());
        for s in services {
            let d = self.dests(&s.key)?;
            out.push((s, d));
        }
        Ok(out)
    }
}

impl IpvsTable for crate::Client {
    /// One command goes as a plain request with its ACK, as ipvsadm sends
    /// it; more go as batches ([`Client::apply`](crate::Client::apply)).
    /// The same message reaches the kernel either way, and the errors are
    /// sorted as a batch sorts them: the kernel's refusal is the command's
    /// result, any other failure is the channel's.
    fn apply(&mut self, cmds: &[Command]) -> Result<BatchResults, Error> {
        match cmds {
            [one] => match self.apply_one(one) {
                Err(e @ Error::Kernel { .. }) => Ok(vec![Err(e)]),
                Err(e) => Err(e),
                Ok(()) => Ok(vec![Ok(())]),
            },
            _ => crate::Client::apply(self, cmds),
        }
    }
    fn services(&mut self) -> Result<Vec<Service>, Error> {
        crate::Client::services(self)
    }
    fn service(&mut self, key: &ServiceKey) -> Result<Service, Error> {
        crate::Client::service(self, key)
    }
    fn dests(&mut self, key: &ServiceKey) -> Result<Vec<Dest>, Error> {
        crate::Client::dests(self, key)
    }
    fn timeouts(&mut self) -> Result<Timeouts, Error> {
        crate::Client::timeouts(self)
    }
    fn daemons(&mut self) -> Result<Vec<DaemonConfig>, Error> {
        crate::Client::daemons(self)
    }
    fn info(&mut self) -> Result<Info, Error> {
        crate::Client::info(self)
    }
    fn table(&mut self) -> Result<Vec<(Service, Vec<Dest>)>, Error> {
        crate::Client::table(self)
    }
}

/// What a fresh network namespace's IPVS reports to `IPVS_CMD_GET_INFO`:
/// version 1.2.1 (`IP_VS_VERSION_CODE`) and a 4096-entry connection table
/// (the `ip_vs` module's default `conn_tab_bits=12`).
pub const KERNEL_INFO: Info = Info { version: 0x010201, conn_tab_size: 4096 };

/// Schedulers the kernel ships (`ip_vs_<name>` modules), plus `none`.
pub const KERNEL_SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos",
    "none",
];

/// Persistence engines the kernel ships.
pub const KERNEL_PES: &[&str] = &["sip"];

/// An in-memory IPVS table with the kernel's answers.
///
/// Modelled: EEXIST/ESRCH/ENOENT for services and destinations, unknown
/// scheduler or persistence engine (ENOENT, from [`KERNEL_SCHEDULERS`] and
/// [`KERNEL_PES`] unless changed), IPv6 netmask outside 1..=128 (EINVAL),
/// weight above `i32::MAX` or lower threshold above upper (ERANGE), GUE
/// without a port (EINVAL), a destination of another family without
/// tunnelling (EINVAL), daemons already running or not running.
/// Editing a destination keeps its connection counters and statistics, as
/// the kernel keeps them.
/// Not modelled: interfaces (any name is accepted for a daemon), address
/// types (multicast destinations are accepted), traffic and counters; a
/// test stands for traffic with [`FakeTable::set_conns`].
#[derive(Clone, Debug)]
pub struct FakeTable {
    services: BTreeMap<ServiceKey, (Service, Vec<Dest>)>,
    timeouts: Option<Timeouts>,
    daemons: Vec<DaemonConfig>,
    /// Scheduler names accepted; defaults to [`KERNEL_SCHEDULERS`].
    pub schedulers: Vec<String>,
    /// Every command applied, in order, whatever its result.
    pub log: Vec<Command>,
    /// Operations answered with an errno whatever the table holds, as the
    /// kernel answers a caller without `CAP_NET_ADMIN` (EPERM): a test's
    /// way to see a refusal the table itself would not give.
    pub refuse: Vec<(Op, i32)>,
    /// Read requests answered (each call of a read method of
    /// [`IpvsTable`] counts one, as one request to the kernel would).
    pub reads: u64,
}

impl Default for FakeTable {
    /// The kernel's fresh table ([`FakeTable::new`]).
    fn default() -> FakeTable {
        FakeTable::new()
    }
}

fn kernel(op: Op, errno: i32) -> Error {
    Error::Kernel { op, errno }
}

fn check_dest(d: &Dest) -> Result<(), i32> {
    if d.weight > i32::MAX as u32 || d.lower_threshold > d.upper_threshold {
        return Err(libc::ERANGE);
    }
    // The kernel checks this whatever the forwarding method.
    if d.tunnel.kind == TunnelType::Gue && d.tunnel.port == 0 {
        return Err(libc::EINVAL);
    }
    Ok(())
}

impl FakeTable {
    /// An empty table with the kernel's default timeouts ([`Timeouts::KERNEL_DEFAULT`]).
    pub fn new() -> FakeTable {
        FakeTable {
            services: BTreeMap::new(),
            timeouts: None,
            daemons: Vec::new(),
            schedulers: KERNEL_SCHEDULERS.iter().map(|s| s.to_string()).collect(),
            log: Vec::new(),
            refuse: Vec::new(),
            reads: 0,
        }
    }

    /// Current timeouts.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts.unwrap_or(Timeouts::KERNEL_DEFAULT)
    }

    /// Running daemons, master first.
    pub fn daemons(&self) -> Vec<DaemonConfig> {
        let mut d = self.daemons.clone();
        d.sort_by_key(|d| d.state);
        d
    }

    fn check_service(&self, s: &Service) -> Result<(), i32> {
        if !self.schedulers.contains(&s.scheduler) {
            return Err(libc::ENOENT);
        }
        if s.pe_name.as_deref().is_some_and(|pe| !KERNEL_PES.contains(&pe)) {
            return Err(libc::ENOENT);
        }
        if let (Family::Inet6, Netmask::V6Prefix(p)) = (s.key.family(), s.netmask) {
            if !(1..=128).contains(&p) {
                return Err(libc::EINVAL);
            }
        }
        Ok(())
    }

    /// What the kernel would report for `s` right after it was written.
    fn as_kernel_reports(s: &Service) -> Service {
        let mut s = s.clone();
        s.flags = ServiceFlags(s.flags.0 | ServiceFlags::HASHED.0);
        s.stats = Some(Stats::default());
        s.stats64 = Some(Stats64::default());
        s.other_attrs.clear();
        s
    }

    fn dest_as_kernel_reports(d: &Dest) -> Dest {
        let mut d = d.clone();
        d.active_conns = 0;
        d.inactive_conns = 0;
        d.persistent_conns = 0;
        d.stats = Some(Stats::default());
        d.stats64 = Some(Stats64::default());
        d.other_attrs.clear();
        d
    }

    fn dests_mut(&mut self, key: &ServiceKey) -> Result<&mut Vec<Dest>, i32> {
        self.services.get_mut(key).map(|(_, d)| d).ok_or(libc::ESRCH)
    }

    /// A destination of another family needs tunnelling and no sync daemon.
    fn family_ok(&self, key: &ServiceKey, d: &Dest) -> Result<(), i32> {
        let same = Family::of(&d.addr) == key.family();
        if same || (d.fwd == ForwardMethod::Tunnel && self.daemons.is_empty()) {
            Ok(())
        } else {
            Err(libc::EINVAL)
        }
    }

    fn one(&mut self, cmd: &Command) -> Result<(), i32> {
        match cmd {
            Command::AddService(s) => {
                if self.services.contains_key(&s.key) {
                    return Err(libc::EEXIST);
                }
                self.check_service(s)?;
                self.services.insert(s.key, (Self::as_kernel_reports(s), Vec::new()));
            }
            Command::EditService(s) => {
                if !self.services.contains_key(&s.key) {
                    return Err(libc::ESRCH);
                }
                self.check_service(s)?;
                if let Some(entry) = self.services.get_mut(&s.key) {
                    entry.0 = Self::as_kernel_reports(s);
                }
            }
            Command::DelService(k) => {
                self.services.remove(k).ok_or(libc::ESRCH)?;
            }
            Command::AddDest(k, d) => {
                self.dests_mut(k)?;
                self.family_ok(k, d)?;
                check_dest(d)?;
                let dests = self.dests_mut(k)?;
                if dests.iter().any(|x| x.key() == d.key()) {
                    return Err(libc::EEXIST);
                }
                // The kernel adds at the head of the list.
                dests.insert(0, Self::dest_as_kernel_reports(d));
            }
            Command::EditDest(k, d) => {
                self.dests_mut(k)?;
                self.family_ok(k, d)?;
                check_dest(d)?;
                let dests = self.dests_mut(k)?;
                let slot = dests.iter_mut().find(|x| x.key() == d.key()).ok_or(libc::ENOENT)?;
                // The settings change; the connections and statistics stay.
                let mut new = Self::dest_as_kernel_reports(d);
                new.active_conns = slot.active_conns;
                new.inactive_conns = slot.inactive_conns;
                new.persistent_conns = slot.persistent_conns;
                new.stats = slot.stats;
                new.stats64 = slot.stats64;
                *slot = new;
            }
            Command::DelDest(k, key) => {
                let dests = self.dests_mut(k)?;
                let at = dests.iter().position(|x| x.key() == *key).ok_or(libc::ENOENT)?;
                dests.remove(at);
            }
            Command::Flush => self.services.clear(),
            Command::Zero(None) => {}
            Command::Zero(Some(k)) => {
                self.services.get(k).ok_or(libc::ESRCH)?;
            }
            Command::SetTimeouts(t) => {
                let mut now = FakeTable::timeouts(self);
                for (field, new) in
                    [(&mut now.tcp, t.tcp), (&mut now.tcp_fin, t.tcp_fin), (&mut now.udp, t.udp)]
                {
                    if new != 0 {
                        *field = new;
                    }
                }
                self.timeouts = Some(now);
            }
            Command::StartDaemon(d) => {
                if let DaemonState::Other(_) = d.state {
                    return Err(libc::EINVAL);
                }
                if self.daemons.iter().any(|x| x.state == d.state) {
                    return Err(libc::EEXIST);
                }
                if let Some(IpAddr::V4(g)) = d.group {
                    if !g.is_multicast() {
                        return Err(libc::EINVAL);
                    }
                }
                if let Some(IpAddr::V6(g)) = d.group {
                    if !g.is_multicast() {
                        return Err(libc::EINVAL);
                    }
                }
                self.daemons.push(d.clone());
            }
            Command::StopDaemon(state) => {
                if let DaemonState::Other(_) = state {
                    return Err(libc::EINVAL);
                }
                let at = self.daemons.iter().position(|x| x.state == *state).ok_or(libc::ESRCH)?;
                self.daemons.remove(at);
            }
        }
        Ok(())
    }

    /// `Err` if `op` is in [`FakeTable::refuse`].
    fn refused(&self, op: Op) -> Result<(), Error> {
        match self.refuse.iter().find(|(o, _)| *o == op) {
            Some((_, errno)) => Err(kernel(op, *errno)),
            None => Ok(()),
        }
    }

    /// A read request: counted, then refused or answered.
    fn read(&mut self, op: Op) -> Result<(), Error> {
        self.reads += 1;
        self.refused(op)
    }

    /// The destination keys of a service, as the kernel lists them.
    pub fn dest_keys(&self, key: &ServiceKey) -> Vec<DestKey> {
        self.services.get(key).map(|(_, d)| d.iter().map(Dest::key).collect()).unwrap_or_default()
    }

    /// Every service with its destinations, as [`IpvsTable::table`] reads
    /// them but without counting a read or meeting a refusal: a test's
    /// look at the table.
    pub fn snapshot(&self) -> Vec<(Service, Vec<Dest>)> {
        self.services.values().cloned().collect()
    }

    /// Stands for traffic: gives a destination the connection counts the
    /// kernel would report for it. `false` when the destination is not in
    /// the table.
    pub fn set_conns(
        &mut self,
        key: &ServiceKey,
        dest: &DestKey,
        active: u32,
        inactive: u32,
    ) -> bool {
        let Ok(dests) = self.dests_mut(key) else { return false };
        let Some(d) = dests.iter_mut().find(|d| d.key() == *dest) else { return false };
        d.active_conns = active;
        d.inactive_conns = inactive;
        true
    }
}

impl IpvsTable for FakeTable {
    fn apply(&mut self, cmds: &[Command]) -> Result<BatchResults, Error> {
        Ok(cmds
            .iter()
            .map(|c| {
                self.log.push(c.clone());
                self.refused(c.op())?;
                self.one(c).map_err(|errno| kernel(c.op(), errno))
            })
            .collect())
    }

    fn services(&mut self) -> Result<Vec<Service>, Error> {
        self.read(Op::GetServices)?;
        Ok(self.services.values().map(|(s, _)| s.clone()).collect())
    }

    fn service(&mut self, key: &ServiceKey) -> Result<Service, Error> {
        self.read(Op::GetService)?;
        let found = self.services.get(key).map(|(s, _)| s.clone());
        found.ok_or(kernel(Op::GetService, libc::ESRCH))
    }

    fn dests(&mut self, key: &ServiceKey) -> Result<Vec<Dest>, Error> {
        self.read(Op::GetDests)?;
        Ok(self.services.get(key).map(|(_, d)| d.clone()).unwrap_or_default())
    }

    fn timeouts(&mut self) -> Result<Timeouts, Error> {
        self.read(Op::GetTimeouts)?;
        Ok(FakeTable::timeouts(self))
    }

    fn daemons(&mut self) -> Result<Vec<DaemonConfig>, Error> {
        self.read(Op::GetDaemons)?;
        Ok(FakeTable::daemons(self))
    }

    fn info(&mut self) -> Result<Info, Error> {
        self.read(Op::GetInfo)?;
        Ok(KERNEL_INFO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errno(r: &Result<(), Error>) -> i32 {
        match r {
            Ok(()) => 0,
            Err(e) => e.errno().unwrap_or(-1),
        }
    }

    #[test]
    fn answers_like_the_kernel_and_records_the_calls() {
        let mut t = FakeTable::new();
        let key = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
        let other = ServiceKey::tcp("10.0.0.2".parse().unwrap(), 80);
        let d = Dest::new("10.1.0.1".parse().unwrap(), 80);
        let v6 = Dest::new("2001:db8::1".parse().unwrap(), 80);
        let mut heavy = d.clone().with_weight(u32::MAX);
        heavy.port = 81;
        let mut bad_thresh = d.clone();
        bad_thresh.lower_threshold = 5;
        let cmds = vec![
            Command::AddService(Service::new(key)),
            Command::AddService(Service::new(key)),
            Command::AddService(Service::new(other).with_scheduler("nosuch")),
            Command::EditService(Service::new(other)),
            Command::DelService(other),
            Command::AddDest(other, d.clone()),
            Command::AddDest(key, d.clone()),
            Command::AddDest(key, d.clone()),
            Command::AddDest(key, heavy),
            Command::EditDest(key, bad_thresh),
            Command::AddDest(key, v6.clone()),
            Command::AddDest(key, v6.clone().with_fwd(ForwardMethod::Tunnel)),
            Command::EditDest(key, Dest::new("10.1.0.9".parse().unwrap(), 80)),
            Command::DelDest(key, DestKey { addr: "10.1.0.9".parse().unwrap(), port: 80 }),
            Command::Zero(Some(other)),
            Command::StopDaemon(DaemonState::Master),
            Command::StartDaemon(DaemonConfig::new(DaemonState::Master, "eth0", 1)),
            Command::StartDaemon(DaemonConfig::new(DaemonState::Master, "eth0", 1)),
        ];
        let results = t.apply(&cmds).unwrap();
        let got: Vec<i32> = results.iter().map(errno).collect();
        let e = (libc::EEXIST, libc::ENOENT, libc::ESRCH, libc::ERANGE, libc::EINVAL);
        assert_eq!(
            got,
            vec![0, e.0, e.1, e.2, e.2, e.2, 0, e.0, e.3, e.3, e.4, 0, e.1, e.1, e.2, e.2, 0, e.0]
        );
        assert!(matches!(results[1], Err(Error::Kernel { op: Op::AddService, .. })));
        assert_eq!(t.log, cmds);
        let table = t.table().unwrap();
        assert_eq!(table.len(), 1);
        assert!(table[0].0.flags.contains(ServiceFlags::HASHED));
        // Newest destination first, as the kernel lists them.
        assert_eq!(t.dest_keys(&key), vec![v6.key(), d.key()]);
        assert_eq!(t.daemons().len(), 1);
    }

    #[test]
    fn timeouts_keep_zero_fields() {
        let mut t = FakeTable::new();
        t.apply(&[Command::SetTimeouts(Timeouts { tcp: 10, tcp_fin: 0, udp: 20 })]).unwrap();
        assert_eq!(t.timeouts(), Timeouts { tcp: 10, tcp_fin: 120, udp: 20 });
    }

    #[test]
    fn an_edit_keeps_the_connections_and_reads_are_counted() {
        let mut t = FakeTable::new();
        let key = ServiceKey::tcp("10.0.0.1".parse().unwrap(), 80);
        let d = Dest::new("10.1.0.1".parse().unwrap(), 80);
        t.apply(&[Command::AddService(Service::new(key)), Command::AddDest(key, d.clone())])
            .unwrap();
        assert!(t.set_conns(&key, &d.key(), 2, 3));
        assert!(!t.set_conns(&key, &DestKey { addr: d.addr, port: 81 }, 1, 1));
        t.apply(&[Command::EditDest(key, d.clone().with_weight(0))]).unwrap();
        assert_eq!(t.reads, 0);
        let got = t.dests(&key).unwrap();
        assert_eq!((got[0].weight, got[0].active_conns, got[0].inactive_conns), (0, 2, 3));
        t.services().unwrap();
        IpvsTable::timeouts(&mut t).unwrap();
        assert_eq!(t.reads, 3);
        assert_eq!(t.snapshot().len(), 1);
        assert_eq!(t.reads, 3, "a snapshot is no read");
    }
}
