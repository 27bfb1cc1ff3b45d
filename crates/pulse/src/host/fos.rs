//! Failover services (piranha's `fos`): the IO half. The decision is the
//! machine's (`machine/fos.rs`).
//!
//! Everything runs on one worker thread, in the order the loop asked for
//! it, so that on a router `stop_cmd` has returned before `start_cmd`
//! runs, and `start_cmd` before the service's nanny starts: `stop_cmd` and
//! `start_cmd` are waited for there (started with the workspace's one
//! policy, `lvs_daemon::Spawn`: no shell, each in its own process group,
//! SIGKILLed as a group after [`COMMAND_LIMIT`]), never on the loop. Each nanny (`--report`, the line protocol of
//! `docs/nanny-protocol.md`) gets a reader thread that turns its `up` and
//! `down` lines into [`ServiceReport`]s and wakes the loop. pulse reads
//! only the verb of those lines: depending on the `nanny` crate for its
//! decoder would bring `ipvs` into pulse.
//!
//! Every start and stop opens a new generation; a report of an older one
//! (a nanny that was being stopped) is dropped, so a verdict never outlives
//! the activation it was made in. A nanny that exits on its own is
//! reported as the service being down: pulse cannot vouch for a service
//! nobody checks.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lvs_daemon::{Child, Spawn, Stopping};

/// How long `start_cmd` or `stop_cmd` may run before its process group is
/// killed (init scripts return once the service is started or stopped).
pub const COMMAND_LIMIT: Duration = Duration::from_secs(60);

/// One failover service as the host runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FosService {
    /// The service name.
    pub name: String,
    /// `start_cmd`, split on blanks.
    pub start: Vec<String>,
    /// `stop_cmd`, split on blanks.
    pub stop: Vec<String>,
    /// The nanny that checks it and its arguments (`--report`); none for a
    /// `none` check.
    pub nanny: Option<(PathBuf, Vec<String>)>,
}

/// A nanny's verdict, for the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceReport {
    /// The service.
    pub name: String,
    /// Up or down.
    pub up: bool,
    /// Why, for the log.
    pub reason: String,
}

enum Job {
    Start(u64, Vec<FosService>),
    Stop(Vec<FosService>),
    /// Run what is queued, then end (at exit).
    Quit,
}

type Nannies = Arc<Mutex<Vec<(u64, Child)>>>;

/// The worker thread and what it reports.
#[derive(Debug, Default)]
pub struct Fos {
    generation: u64,
    worker: Option<Worker>,
}

#[derive(Debug)]
struct Worker {
    jobs: Sender<Job>,
    reports: Receiver<(u64, ServiceReport)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Job::Start(..) => "start",
            Job::Stop(..) => "stop",
            Job::Quit => "quit",
        })
    }
}

impl Fos {
    /// Starts the worker thread unless it runs: at the loop's start when
    /// there are failover services (a thread's start-up is milliseconds on
    /// an emulated host, not to be paid in a takeover's turn), or at the
    /// first job.
    pub fn start_worker(&mut self, waker: Option<&Arc<mio::Waker>>) {
        if self.worker.is_some() {
            return;
        }
        let (jobs_tx, jobs_rx) = channel::<Job>();
        let (rep_tx, rep_rx) = channel();
        let waker = waker.cloned();
        let thread = std::thread::Builder::new()
            .name("pulse-fos".into())
            .spawn(move || work(&jobs_rx, &rep_tx, waker.as_ref()));
        match thread {
            Ok(t) => {
                self.worker = Some(Worker { jobs: jobs_tx, reports: rep_rx, thread: Some(t) });
            }
            Err(e) => log::error!("cannot start the failover-service thread: {e}"),
        }
    }

    fn send(&mut self, job: Job, waker: Option<&Arc<mio::Waker>>) {
        self.start_worker(waker);
        if let Some(w) = &self.worker {
            if w.jobs.send(job).is_err() {
                log::error!("the failover-service thread is gone");
                self.worker = None;
            }
        }
    }

    /// Runs each service's `stop_cmd` then `start_cmd`, in order, then
    /// starts its nanny.
    pub fn start(&mut self, services: &[FosService], waker: Option<&Arc<mio::Waker>>) {
        self.generation += 1;
        self.send(Job::Start(self.generation, services.to_vec()), waker);
    }

    /// Stops the nannies, then runs each `stop_cmd`.
    pub fn stop(&mut self, services: &[FosService], waker: Option<&Arc<mio::Waker>>) {
        self.generation += 1;
        self.send(Job::Stop(services.to_vec()), waker);
    }

    /// The verdicts of the current generation since the last call.
    pub fn reports(&mut self) -> Vec<ServiceReport> {
        let Some(w) = &self.worker else { return Vec::new() };
        let now = self.generation;
        w.reports.try_iter().filter(|(g, _)| *g == now).map(|(_, r)| r).collect()
    }

    /// At exit: lets the worker finish what is queued (a last `stop_cmd`),
    /// each command within its limit.
    pub fn finish(&mut self) {
        if let Some(mut w) = self.worker.take() {
            let _ = w.jobs.send(Job::Quit);
            if let Some(t) = w.thread.take() {
                let _ = t.join();
            }
        }
    }
}

fn work(
    jobs: &Receiver<Job>,
    reports: &Sender<(u64, ServiceReport)>,
    waker: Option<&Arc<mio::Waker>>,
) {
    let nannies: Nannies = Arc::default();
    for job in jobs {
        match job {
            Job::Start(g, services) => {
                stop_nannies(&nannies);
                for s in &services {
                    run(&s.name, "stop_cmd", &s.stop);
                    run(&s.name, "start_cmd", &s.start);
                }
                for s in &services {
                    if let Some((program, args)) = &s.nanny {
                        start_nanny(g, s, program, args, &nannies, reports, waker);
                    }
                }
            }
            Job::Stop(services) => {
                stop_nannies(&nannies);
                for s in &services {
                    run(&s.name, "stop_cmd", &s.stop);
                }
            }
            Job::Quit => break,
        }
    }
    stop_nannies(&nannies);
}

/// Runs one command to its end (at most [`COMMAND_LIMIT`]), logging how
/// it went.
fn run(service: &str, what: &str, argv: &[String]) {
    let Some((program, args)) = argv.split_first() else { return };
    let began = Instant::now();
    let mut child = match Spawn::new(program).args(args).spawn() {
        Ok(c) => c,
        Err(e) => {
            log::error!("failover service {service}: cannot run {what} {program}: {e}");
            return;
        }
    };
    log::info!("failover service {service}: {what} {} (pid {})", argv.join(" "), child.id());
    // What the command leaves in its group at a normal exit (a service's
    // daemon) is the service: only a command over its limit is killed.
    match child.wait_until(Some(began + COMMAND_LIMIT)) {
        Ok(Some(status)) if status.success() => {}
        Ok(Some(status)) => log::warn!("failover service {service}: {what} exited: {status}"),
        Ok(None) => {
            log::error!(
                "failover service {service}: {what} still runs after {} s: killed",
                COMMAND_LIMIT.as_secs()
            );
            lvs_daemon::wait_all(vec![Stopping::start(child, Duration::ZERO, Instant::now())]);
        }
        Err(e) => log::error!("failover service {service}: waiting for {what}: {e}"),
    }
}

fn start_nanny(
    g: u64,
    s: &FosService,
    program: &PathBuf,
    args: &[String],
    nannies: &Nannies,
    reports: &Sender<(u64, ServiceReport)>,
    waker: Option<&Arc<mio::Waker>>,
) {
    let name = s.name.clone();
    let report = |up: bool, reason: String| {
        let _ = reports.send((g, ServiceReport { name: name.clone(), up, reason }));
        if let Some(w) = waker {
            let _ = w.wake();
        }
    };
    let spawned = Spawn::new(program).args(args).stdout(Stdio::piped()).spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            report(false, format!("cannot run its nanny {}: {e}", program.display()));
            return;
        }
    };
    log::info!("failover service {}: checked by nanny (pid {})", s.name, child.id());
    let Some(stdout) = child.take_stdout() else { return };
    let pid = child.id();
    if let Ok(mut list) = nannies.lock() {
        list.push((g, child));
    }
    let (tx, waker, list) = (reports.clone(), waker.cloned(), nannies.clone());
    let spawned = std::thread::Builder::new().name("pulse-fos-nanny".into()).spawn(move || {
        let say = |up: bool, reason: String| {
            let _ = tx.send((g, ServiceReport { name: name.clone(), up, reason }));
            if let Some(w) = &waker {
                let _ = w.wake();
            }
        };
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            match verdict(&line) {
                Some((up, reason)) => say(up, reason.to_owned()),
                None => log::debug!("nanny of {name}: {line}"),
            }
        }
        // Its stdout closed: it exited, or is about to.
        let status = reap(&list, pid);
        say(false, format!("its nanny exited ({status})"));
    });
    if let Err(e) = spawned {
        log::error!("failover service {}: cannot read its nanny: {e}", s.name);
    }
}

/// Waits for the nanny `pid` and forgets it.
fn reap(list: &Nannies, pid: u32) -> String {
    let child = list.lock().ok().and_then(|mut l| {
        let i = l.iter().position(|(_, c)| c.id() == pid)?;
        Some(l.swap_remove(i).1)
    });
    match child {
        Some(mut c) => match c.wait_until(None) {
            Ok(Some(s)) => s.to_string(),
            Ok(None) => "still running".to_owned(),
            Err(e) => e.to_string(),
        },
        // Stopped (and reaped) by `stop_nannies`.
        None => "stopped".to_owned(),
    }
}

/// How long a failover service's nanny has to exit after SIGTERM.
const NANNY_GRACE: Duration = Duration::from_secs(1);

/// SIGTERM to every nanny (nanny kills its check in flight and exits),
/// SIGKILL to the group of any still there a second later; all reaped.
fn stop_nannies(list: &Nannies) {
    let now = Instant::now();
    let stops: Vec<Stopping> = match list.lock() {
        Ok(mut l) => l.drain(..).map(|(_, c)| Stopping::start(c, NANNY_GRACE, now)).collect(),
        Err(_) => return,
    };
    lvs_daemon::wait_all(stops);
}

/// The verdict of one nanny line: `up ...` or `down ...`, with its reason.
pub fn verdict(line: &str) -> Option<(bool, &str)> {
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    let up = match verb {
        "up" => true,
        "down" => false,
        _ => return None,
    };
    let reason = rest.split_once("reason=").map_or("", |(_, r)| r);
    Some((up, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_of_nanny_lines() {
        assert_eq!(verdict("up weight=1 reason=check ok: x"), Some((true, "check ok: x")));
        assert_eq!(
            verdict("down mode=remove reason=check failed: refused"),
            Some((false, "check failed: refused"))
        );
        assert_eq!(verdict("down"), Some((false, "")));
        for other in ["nanny version=1 pid=1 server=a:1 alive=1", "alive seq=3", "bye", "upx", ""] {
            assert_eq!(verdict(other), None, "{other}");
        }
    }
}
