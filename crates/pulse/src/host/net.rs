//! VIP changes and announcements, on a network worker thread.
//!
//! A VIP change is one rtnetlink exchange and an announcement one `sendto`
//! per address, but in the kernel both take locks and run the address's
//! notifiers (routes, neighbours, netfilter), and under load or emulation
//! one exchange took 25 to 85 ms: done on the loop, a takeover's turn went
//! past the stall detector's 50 ms and no heartbeat was read or sent
//! meanwhile. So the loop hands them to this thread, in the machine's
//! order, and hears back through the [`mio::Waker`]; the loop holds back
//! what must come after them (`crate::order`). Without a waker (a host
//! used without the loop) they run in place.
//!
//! The thread owns the rtnetlink socket and the announcement sockets.

use std::net::IpAddr;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{base_dev, by_base_dev, HostError};
use crate::machine::Vip;

/// One piece of work, with when the loop asked for it.
#[derive(Debug)]
pub enum Job {
    /// Adds the VIPs.
    Up(Vec<Vip>, Instant),
    /// Removes the VIPs.
    Down(Vec<Vip>),
    /// One announcement round.
    Announce(Vec<Vip>),
    /// Opens the announcement sockets ahead of a takeover.
    Prepare(Vec<Vip>),
    /// ECMP: our VIP routes in this table become exactly these.
    Routes(u32, Vec<IpAddr>),
}

/// The network worker as the loop sees it.
#[derive(Debug, Default)]
pub struct Net {
    /// Used in place until the worker starts, and by the worker after.
    state: Option<State>,
    /// Set by [`Net::attach`]; the worker starts at the first job, so
    /// after pulse has daemonized (a thread does not survive the fork).
    waker: Option<Arc<mio::Waker>>,
    worker: Option<Worker>,
    /// Jobs handed over and jobs done.
    sent: u64,
    done: u64,
}

#[derive(Debug)]
struct Worker {
    jobs: Sender<Job>,
    done: Receiver<()>,
    thread: JoinHandle<()>,
}

impl Net {
    /// From now on jobs run on the worker thread, which wakes the loop
    /// with `waker` after each.
    pub fn attach(&mut self, waker: Arc<mio::Waker>) {
        self.waker = Some(waker);
    }

    /// Starts the worker now (it would start at the first job).
    pub fn start(&mut self) {
        let _ = self.worker();
    }

    /// The worker, started on first use.
    fn worker(&mut self) -> Option<&Worker> {
        if self.worker.is_none() {
            let waker = self.waker.clone()?;
            let mut state = self.state.take().unwrap_or_default();
            let (jobs_tx, jobs_rx) = channel::<Job>();
            let (done_tx, done_rx) = channel::<()>();
            let spawned = std::thread::Builder::new().name("pulse-net".into()).spawn(move || {
                // Before every normal task, after the loop (`crate::sys`);
                // the loop said already if real-time scheduling is refused.
                if let Err(e) = crate::sys::realtime_here(crate::sys::NET_PRIORITY) {
                    log::debug!("the network worker runs at normal priority: {e}");
                }
                for job in jobs_rx {
                    state.run(job);
                    if done_tx.send(()).is_err() {
                        return;
                    }
                    if let Err(e) = waker.wake() {
                        log::error!("waking the loop after a VIP change: {e}");
                    }
                }
            });
            match spawned {
                Ok(thread) => {
                    self.worker = Some(Worker { jobs: jobs_tx, done: done_rx, thread });
                }
                Err(e) => {
                    // Without the thread the jobs run in place, on the loop.
                    log::error!("cannot start the network worker, VIPs change on the loop: {e}");
                    self.waker = None;
                }
            }
        }
        self.worker.as_ref()
    }

    /// Hands `job` over (or runs it in place, then its errors are
    /// returned; on the worker they are logged).
    pub fn submit(&mut self, job: Job) -> Result<(), HostError> {
        let job = match self.worker() {
            Some(w) => match w.jobs.send(job) {
                Ok(()) => {
                    self.sent += 1;
                    return Ok(());
                }
                Err(e) => {
                    log::error!("the network worker is gone, VIPs change on the loop");
                    self.worker = None;
                    self.waker = None;
                    self.sent = self.done;
                    e.0
                }
            },
            None => job,
        };
        self.state.get_or_insert_with(State::default).run_checked(job)
    }

    /// Whether jobs handed over are not done yet.
    pub fn busy(&self) -> bool {
        self.sent > self.done
    }

    /// Counts the jobs done since the last call (the loop calls this when
    /// its waker fired).
    pub fn on_wake(&mut self) {
        if let Some(w) = &self.worker {
            self.done += w.done.try_iter().count() as u64;
        }
    }

    /// At exit: lets the worker finish what it was given.
    pub fn finish(&mut self) {
        if let Some(Worker { jobs, done, thread }) = self.worker.take() {
            drop(jobs);
            if thread.join().is_err() {
                log::error!("the network worker panicked");
            }
            self.done += done.try_iter().count() as u64;
        }
    }
}

/// What a round could not announce: the addresses and the first error
/// (`None`: all sent).
type Unsent = Option<(Vec<IpAddr>, lvs_net::Error)>;

/// Announces each of `addrs` once (gratuitous ARP as an RFC 5227
/// announcement, the form `send_arp` sends by default); returns the
/// addresses that could not be announced and the first error.
fn announce_all(a: &lvs_net::Announcer, addrs: &[IpAddr]) -> Unsent {
    let mut failed = Vec::new();
    let mut first = None;
    for addr in addrs {
        if let Err(e) = a.announce(*addr, lvs_net::ArpForm::Request) {
            failed.push(*addr);
            first.get_or_insert(e);
        }
    }
    first.map(|e| (failed, e))
}

pub(super) fn vip_address(v: &Vip) -> lvs_net::VipAddress {
    lvs_net::VipAddress::piranha(&v.dev, v.addr, v.prefix)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The sockets, owned by whoever runs the jobs.
#[derive(Debug, Default)]
struct State {
    rtnl: Option<lvs_net::Rtnl>,
    /// Packet sockets for announcements, by interface: name, index, sender.
    announcers: Vec<(String, u32, lvs_net::Announcer)>,
    /// When the last takeover's VIPs were asked for and how long they
    /// took to go up, for the log line of its first announcement.
    last_up: Option<(Instant, Duration)>,
}

impl State {
    fn run(&mut self, job: Job) {
        if let Err(e) = self.run_checked(job) {
            log::error!("{e}");
        }
    }

    fn run_checked(&mut self, job: Job) -> Result<(), HostError> {
        match job {
            Job::Up(vips, asked) => {
                let r = self.change_vips(&vips, true);
                self.last_up = Some((asked, asked.elapsed()));
                r
            }
            Job::Down(vips) => self.change_vips(&vips, false),
            Job::Announce(vips) => {
                let r = self.announce(&vips);
                if let Some((asked, up)) = self.last_up.take() {
                    log::info!(
                        "VIPs up in {:.2} ms, announced {:.2} ms after the decision",
                        ms(up),
                        ms(asked.elapsed())
                    );
                }
                r
            }
            Job::Routes(table, vips) => self.set_routes(table, &vips),
            Job::Prepare(vips) => {
                for (dev, _) in by_base_dev(&vips) {
                    // An interface that is absent or down now is set up at
                    // the first announcement instead.
                    if let Err(e) = self.announcer(&dev) {
                        log::debug!("not ready to announce on {dev} yet: {e}");
                    }
                }
                Ok(())
            }
        }
    }

    /// The rtnetlink socket, opened on first use (and again after an error
    /// dropped it, so that a broken socket does not stick).
    fn rtnl(&mut self) -> Result<&mut lvs_net::Rtnl, lvs_net::Error> {
        let r = match self.rtnl.take() {
            Some(r) => r,
            None => lvs_net::Rtnl::open()?,
        };
        Ok(self.rtnl.insert(r))
    }

    /// The announcer for interface `dev`, checked against the link as it is
    /// now, and whether it was (re)opened by this call. The link is read
    /// every round (its MAC or index may have changed: a re-created
    /// interface); the packet socket is kept between rounds, because closing
    /// one waits for an RCU grace period in the kernel (`synchronize_net`).
    fn announcer(&mut self, dev: &str) -> Result<(&lvs_net::Announcer, bool), lvs_net::Error> {
        let link = match self.rtnl().and_then(|r| r.link(dev)) {
            Ok(l) => l,
            Err(e) => {
                if !matches!(e, lvs_net::Error::NoSuchInterface(_)) {
                    self.rtnl = None;
                }
                return Err(e);
            }
        };
        let at = self.announcers.iter().position(|(d, _, _)| d == dev);
        let fresh = at.filter(|&i| {
            let (_, index, a) = &self.announcers[i];
            *index == link.index && Some(a.mac()) == link.mac
        });
        let (i, opened) = match fresh {
            Some(i) if link.is_up() => (i, false),
            // Down or changed: `open` says which, or opens a new socket.
            _ => {
                let entry = (dev.to_owned(), link.index, lvs_net::Announcer::open(&link)?);
                match at {
                    Some(i) => {
                        self.announcers[i] = entry;
                        (i, true)
                    }
                    None => {
                        self.announcers.push(entry);
                        (self.announcers.len() - 1, true)
                    }
                }
            }
        };
        Ok((&self.announcers[i].2, opened))
    }

    /// One announcement round. A socket opened before (at start, or a
    /// previous round) sends at once, with no netlink exchange between the
    /// VIP going up and the frame: every interface's frames go first (the
    /// NAT gateway's too, which the real servers' answers wait for); then
    /// each link is checked, and if it changed under its socket (a
    /// re-created interface) the round is sent again on a new socket. A
    /// failure on one interface does not keep the others from being
    /// announced.
    fn announce(&mut self, vips: &[Vip]) -> Result<(), HostError> {
        let groups = by_base_dev(vips);
        let early: Vec<Option<Unsent>> = groups
            .iter()
            .map(|(dev, addrs)| {
                self.announcers
                    .iter()
                    .find(|(d, _, _)| d == dev)
                    .map(|(_, _, a)| announce_all(a, addrs))
            })
            .collect();
        let mut first_err = None;
        for ((dev, addrs), early) in groups.into_iter().zip(early) {
            let failed = match (self.announcer(&dev), early) {
                // Sent on a socket that is still right.
                (Ok((_, false)), Some(sent)) => sent,
                (Ok((a, _)), _) => announce_all(a, &addrs),
                (Err(e), _) => Some((addrs, e)),
            };
            if let Some((addrs, source)) = failed {
                let addrs = addrs.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
                let e = HostError::Announce { dev, addrs, source };
                // The first error goes back; later ones are logged here.
                if first_err.is_some() {
                    log::error!("{e}");
                } else {
                    first_err = Some(e);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Makes our routes in `table` exactly `vips`: the table as it is
    /// now is read first, so that a route left by a crashed run (or
    /// removed by hand) is set right at the first job.
    fn set_routes(&mut self, table: u32, vips: &[IpAddr]) -> Result<(), HostError> {
        let err = |source| HostError::Routes { table, source };
        let r = self.rtnl().and_then(|r| {
            let have = r.vip_routes(table)?;
            for old in have.iter().filter(|h| !vips.contains(&h.vip)) {
                r.del_vip_route(*old)?;
                log::info!("VIP {} withdrawn (route removed from table {table})", old.vip);
            }
            for vip in vips.iter().filter(|v| !have.iter().any(|h| h.vip == **v)) {
                r.add_vip_route(lvs_net::VipRoute { vip: *vip, table })?;
                log::info!("VIP {vip} announced (route added to table {table})");
            }
            Ok(())
        });
        r.map_err(|e| {
            self.rtnl = None;
            err(e)
        })
    }

    /// Adds or removes VIPs over rtnetlink.
    fn change_vips(&mut self, vips: &[Vip], up: bool) -> Result<(), HostError> {
        let mut first_err = None;
        for vip in vips {
            // The index the announcement socket was opened for (at start)
            // saves the name lookup on a takeover; an interface re-created
            // since has a new index, and the name is looked up again.
            let index = self
                .announcers
                .iter()
                .find(|(d, _, _)| d == base_dev(&vip.dev))
                .map(|(_, i, _)| *i);
            let r = self.rtnl().and_then(|r| {
                let a = vip_address(vip);
                match (up, index) {
                    (true, Some(i)) => match r.add_address_at(i, &a) {
                        Err(lvs_net::Error::NoSuchIndex(_)) => r.add_address(&a),
                        other => other,
                    },
                    (true, None) => r.add_address(&a),
                    (false, _) => r.del_address(&a),
                }
            });
            match r {
                Ok(lvs_net::Outcome::Changed) => {
                    log::info!("VIP {vip} {}", if up { "up" } else { "down" });
                }
                Ok(lvs_net::Outcome::Unchanged) => {}
                Err(source) => {
                    self.rtnl = None;
                    let e = HostError::Net { vip: vip.to_string(), source };
                    // The first error goes back; later ones are logged here.
                    if first_err.is_some() {
                        log::error!("{e}");
                    } else {
                        first_err = Some(e);
                    }
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}
