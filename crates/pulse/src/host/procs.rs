//! The processes pulse runs, none of them waited for on the loop: lvsd
//! (started, stopped with SIGTERM then SIGKILL at a deadline, reaped on
//! SIGCHLD), `active_cmd`/`inactive_cmd`, and `ipvsadm` for the sync
//! daemon.
//!
//! Even starting a process can take long: `fork`/`exec` of a large binary
//! is tens of milliseconds on a loaded or emulated host, so processes are
//! started by a spawner thread, which hands each `Child` back and wakes the
//! loop through a [`mio::Waker`]. `ipvsadm` runs to its end on a worker
//! thread, in order. Only [`Procs::finish`], after the loop, waits.
//! Every process is started with the workspace's one policy
//! (`lvs_daemon::Spawn`: own process group, parent-death signal) and lvsd
//! is stopped through `lvs_daemon::Stopping`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lvs_daemon::{Child as Proc, Spawn, Stopping};
use nix::sys::signal::Signal;

use super::HostError;
use crate::machine::Child;

/// How long lvsd has to exit after SIGTERM before it gets SIGKILL.
pub const LVSD_GRACE: Duration = Duration::from_secs(5);

/// What a spawned process is to pulse.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Role {
    Lvsd,
    Helper(String),
}

struct Job {
    role: Role,
    program: PathBuf,
    args: Vec<String>,
}

type Spawned = (Role, Result<Proc, HostError>);

/// lvsd's life as pulse sees it.
#[derive(Debug, Default)]
enum Lvsd {
    #[default]
    Stopped,
    /// Being started by the spawner; `stop` when a stop came meanwhile.
    Starting {
        stop: bool,
    },
    Running(Proc),
    /// Asked to start while the previous one is still stopping: it
    /// starts when `reap` has seen every old one exit.
    Waiting,
}

/// The processes and the threads that start and run them.
#[derive(Debug, Default)]
pub struct Procs {
    lvsd: Lvsd,
    /// lvsd processes sent SIGTERM, SIGKILLed after [`LVSD_GRACE`].
    stopping: Vec<Stopping>,
    helpers: Vec<(String, Proc)>,
    spawner: Option<(Sender<Job>, Receiver<Spawned>)>,
    waker: Option<Arc<mio::Waker>>,
    sync_jobs: Option<Sender<SyncJob>>,
}

/// `ipvsadm` and the argument lists to run it with, one after the other.
type SyncJob = (PathBuf, Vec<Vec<String>>);

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("role", &self.role).field("program", &self.program).finish()
    }
}

fn spawn_now(program: &Path, args: &[String]) -> Result<Proc, HostError> {
    Spawn::new(program)
        .args(args)
        .spawn()
        .map_err(|source| HostError::Spawn { program: program.into(), source })
}

impl Procs {
    /// From now on processes are started by the spawner thread, which
    /// wakes the loop with `waker` when one has started (without it they
    /// are started in place, as tests with no loop need).
    pub fn attach(&mut self, waker: Arc<mio::Waker>) {
        self.waker = Some(waker);
    }

    /// Starts the spawner thread now, if there is a waker to tell the loop
    /// and it is not running (it would start at the first process), and
    /// the sync worker (it would start at the first `ipvsadm` run): a
    /// thread's start-up is milliseconds on an emulated host, and the
    /// first sync-daemon switch comes with a takeover.
    pub fn start(&mut self) {
        if let Err(e) = self.spawner() {
            log::error!("cannot start the spawner thread yet: {e}");
        }
        if self.waker.is_some() && self.sync_jobs.is_none() {
            match sync_worker() {
                Ok(tx) => self.sync_jobs = Some(tx),
                Err(e) => log::error!("cannot start the sync worker thread yet: {e}"),
            }
        }
    }

    /// Starts the spawner thread unless it runs or there is no waker.
    fn spawner(&mut self) -> std::io::Result<()> {
        let Some(waker) = self.waker.clone() else { return Ok(()) };
        if self.spawner.is_some() {
            return Ok(());
        }
        let (jobs_tx, jobs_rx) = channel::<Job>();
        let (done_tx, done_rx) = channel::<Spawned>();
        std::thread::Builder::new().name("pulse-spawn".into()).spawn(move || {
            for job in jobs_rx {
                let r = spawn_now(&job.program, &job.args);
                if done_tx.send((job.role, r)).is_err() {
                    return;
                }
                if let Err(e) = waker.wake() {
                    log::error!("waking the loop after a spawn: {e}");
                }
            }
        })?;
        self.spawner = Some((jobs_tx, done_rx));
        Ok(())
    }

    fn spawn(&mut self, role: Role, program: &Path, args: &[String]) -> Result<(), HostError> {
        if self.waker.is_none() {
            let child = spawn_now(program, args)?;
            self.started(role, Ok(child));
            return Ok(());
        }
        self.spawner().map_err(|source| HostError::Spawn { program: program.into(), source })?;
        if let Some((tx, _)) = &self.spawner {
            let job = Job { role, program: program.into(), args: args.to_vec() };
            if tx.send(job).is_err() {
                self.spawner = None;
                return Err(HostError::Spawn {
                    program: program.into(),
                    source: std::io::Error::other("the spawner thread is gone"),
                });
            }
        }
        Ok(())
    }

    /// A process the spawner started (or failed to).
    fn started(&mut self, role: Role, r: Result<Proc, HostError>) {
        match (role, r) {
            (Role::Lvsd, Ok(child)) => {
                log::info!("started lvsd (pid {})", child.id());
                let stop = matches!(self.lvsd, Lvsd::Starting { stop: true });
                self.lvsd = Lvsd::Running(child);
                if stop {
                    self.stop_lvsd();
                }
            }
            (Role::Lvsd, Err(e)) => {
                log::error!("{e}");
                self.lvsd = Lvsd::Stopped;
            }
            (Role::Helper(name), Ok(child)) => self.helpers.push((name, child)),
            (Role::Helper(_), Err(e)) => log::error!("{e}"),
        }
    }

    /// Takes what the spawner has started since the last call (the loop
    /// calls this when the waker fired).
    pub fn on_wake(&mut self) {
        let done: Vec<Spawned> = match &self.spawner {
            Some((_, rx)) => rx.try_iter().collect(),
            None => Vec::new(),
        };
        for (role, r) in done {
            self.started(role, r);
        }
    }

    /// Starts `program` and does not wait for it (`active_cmd`...).
    pub fn run_helper(&mut self, program: &Path, args: &[String]) -> Result<(), HostError> {
        self.spawn(Role::Helper(program.display().to_string()), program, args)
    }

    /// Starts lvsd, unless it runs or starts already; after a previous
    /// lvsd that is still stopping has exited.
    pub fn start_lvsd(&mut self, program: &Path, args: &[String]) -> Result<(), HostError> {
        match self.lvsd {
            Lvsd::Running(_) | Lvsd::Waiting => return Ok(()),
            Lvsd::Starting { ref mut stop } => {
                *stop = false;
                return Ok(());
            }
            Lvsd::Stopped => {}
        }
        if !self.stopping.is_empty() {
            // Two lvsd must never edit the table at once.
            log::info!("lvsd starts when the previous one has exited");
            self.lvsd = Lvsd::Waiting;
            return Ok(());
        }
        self.lvsd = Lvsd::Starting { stop: false };
        self.spawn(Role::Lvsd, program, args).inspect_err(|_| self.lvsd = Lvsd::Stopped)
    }

    /// SIGTERM to lvsd; SIGKILL from [`Procs::on_deadline`] after
    /// [`LVSD_GRACE`]; reaped by [`Procs::reap`].
    pub fn stop_lvsd(&mut self) {
        match std::mem::take(&mut self.lvsd) {
            Lvsd::Running(child) => {
                self.stopping.push(Stopping::start(child, LVSD_GRACE, Instant::now()));
            }
            Lvsd::Starting { .. } => self.lvsd = Lvsd::Starting { stop: true },
            Lvsd::Waiting | Lvsd::Stopped => {}
        }
    }

    /// SIGHUP to lvsd if it runs.
    pub fn reload_lvsd(&self) {
        self.signal_lvsd(Signal::SIGHUP);
    }

    /// Sends `sig` to lvsd while it runs.
    pub fn signal_lvsd(&self, sig: Signal) {
        if let Lvsd::Running(child) = &self.lvsd {
            if let Err(e) = child.signal(sig) {
                log::warn!("{sig} to lvsd ({}): {e}", child.id());
            }
        }
    }

    /// lvsd's pid while it runs.
    pub fn lvsd_pid(&self) -> Option<u32> {
        match &self.lvsd {
            Lvsd::Running(c) => Some(c.id()),
            _ => None,
        }
    }

    /// Queues `ipvsadm` runs (each an argument list) for the sync worker,
    /// a thread that runs them one after the other and logs the last one's
    /// failure (the stops before a start fail when nothing runs).
    pub fn run_ipvsadm(&mut self, ipvsadm: &Path, runs: Vec<Vec<String>>) -> Result<(), HostError> {
        let mut job = (ipvsadm.to_path_buf(), runs);
        if let Some(tx) = &self.sync_jobs {
            match tx.send(job) {
                Ok(()) => return Ok(()),
                Err(e) => job = e.0,
            }
        }
        let tx =
            sync_worker().map_err(|source| HostError::Spawn { program: ipvsadm.into(), source })?;
        let _ = tx.send(job);
        self.sync_jobs = Some(tx);
        Ok(())
    }

    /// Reaps exited children; returns lvsd if the running one exited.
    pub fn reap(&mut self) -> Vec<(Child, Option<i32>)> {
        let mut out = Vec::new();
        if let Lvsd::Running(child) = &mut self.lvsd {
            if let Ok(Some(status)) = child.try_wait() {
                out.push((Child::Lvsd, status.code()));
                self.lvsd = Lvsd::Stopped;
            }
        }
        let now = Instant::now();
        self.stopping.retain_mut(|s| match s.poll(now) {
            Ok(Some(status)) => {
                log::info!("lvsd ({}) stopped ({status})", s.id());
                false
            }
            Ok(None) => true,
            Err(e) => {
                log::warn!("waiting for lvsd ({}): {e}", s.id());
                false
            }
        });
        self.helpers.retain_mut(|(name, child)| match child.try_wait() {
            Ok(Some(status)) => {
                if !status.success() {
                    log::warn!("{name} exited: {status}");
                }
                false
            }
            Ok(None) => true,
            Err(_) => false,
        });
        out
    }

    /// Starts the lvsd that was waiting for the previous one to exit, once
    /// it has: called after [`Procs::reap`].
    pub fn start_waiting(&mut self, program: &Path, args: &[String]) {
        if matches!(self.lvsd, Lvsd::Waiting) && self.stopping.is_empty() {
            self.lvsd = Lvsd::Stopped;
            if let Err(e) = self.start_lvsd(program, args) {
                log::error!("{e}");
            }
        }
    }

    /// When [`Procs::on_deadline`] next has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.stopping.iter().filter_map(Stopping::deadline).min()
    }

    /// SIGKILL to every lvsd past its grace period (and a look at those
    /// already killed).
    pub fn on_deadline(&mut self, now: Instant) {
        for s in &mut self.stopping {
            let was_killed = s.killed();
            if s.deadline().is_some_and(|t| t <= now) {
                // Reaped here or on its SIGCHLD, by `reap`.
                let _ = s.poll(now);
                if s.killed() && !was_killed {
                    log::warn!(
                        "lvsd ({}) ignored SIGTERM for {} s: killing it",
                        s.id(),
                        LVSD_GRACE.as_secs()
                    );
                }
            }
        }
    }

    /// At exit: waits for every lvsd being stopped, SIGKILL at its
    /// deadline.
    pub fn finish(&mut self) {
        for (pid, r) in lvs_daemon::wait_all(std::mem::take(&mut self.stopping)) {
            match r {
                Ok(status) => log::info!("lvsd ({pid}) stopped ({status})"),
                Err(e) => log::warn!("waiting for lvsd ({pid}): {e}"),
            }
        }
    }
}

/// Starts the sync worker: a thread that runs each job's `ipvsadm` runs
/// one after the other and logs the last one's failure (the stops before
/// a start fail when nothing runs).
fn sync_worker() -> std::io::Result<Sender<SyncJob>> {
    let (tx, rx) = channel::<SyncJob>();
    std::thread::Builder::new().name("pulse-ipvsadm".into()).spawn(move || {
        for (program, runs) in rx {
            for (i, args) in runs.iter().enumerate() {
                let r = run_waited(&program, args);
                if let (true, Err(e)) = (i + 1 == runs.len(), r) {
                    log::error!("{e}");
                }
            }
        }
    })?;
    Ok(tx)
}

/// Runs a program to its end (on the sync worker thread only).
fn run_waited(program: &Path, args: &[String]) -> Result<(), HostError> {
    let out = Spawn::new(program)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(Proc::wait_with_output)
        .map_err(|source| HostError::Spawn { program: program.into(), source })?;
    if out.status.success() {
        return Ok(());
    }
    Err(HostError::Failed {
        what: format!("{} {}", program.display(), args.join(" ")),
        status: out.status.to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    })
}
