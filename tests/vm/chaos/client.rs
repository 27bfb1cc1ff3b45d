//! The client: one HTTP request to the VIP every 20 ms, through IPVS.

use super::*;

/// The client: one HTTP request to the VIP after another, each success
/// recorded as the time it completed.
pub(super) struct Client {
    stop: Arc<AtomicBool>,
    served: Arc<Mutex<Vec<Duration>>>,
    thread: Option<JoinHandle<()>>,
}

impl Client {
    pub(super) fn start(topo: &Topology, t0: Instant) -> Client {
        let path = format!("/run/netns/{}", topo.client.ns.name());
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(Mutex::new(Vec::new()));
        let (flag, out) = (stop.clone(), served.clone());
        let thread = std::thread::spawn(move || {
            let ns = std::fs::File::open(&path).unwrap();
            nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            let vip = SocketAddr::from((addr::VIP, 80));
            while !flag.load(Ordering::Relaxed) {
                if get(vip).is_ok() {
                    out.lock().unwrap().push(t0.elapsed());
                }
                std::thread::sleep(GAP);
            }
        });
        Client { stop, served, thread: Some(thread) }
    }

    /// The longest time without a successful answer in `[from, to]`.
    pub(super) fn outage(&self, from: Duration, to: Duration) -> Duration {
        let s = self.served.lock().unwrap();
        let mut last = from;
        let mut worst = Duration::ZERO;
        for &t in s.iter().filter(|t| **t >= from && **t <= to) {
            worst = worst.max(t - last);
            last = t;
        }
        worst.max(to.saturating_sub(last))
    }

    pub(super) fn served_since(&self, t: Duration) -> bool {
        self.served.lock().unwrap().last().is_some_and(|l| *l > t)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn get(to: SocketAddr) -> std::io::Result<()> {
    let mut s = TcpStream::connect_timeout(&to, Duration::from_millis(500))?;
    s.set_read_timeout(Some(Duration::from_millis(500)))?;
    s.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
    let mut reply = String::new();
    s.read_to_string(&mut reply)?;
    if reply.starts_with("HTTP/1.0 200") {
        Ok(())
    } else {
        Err(std::io::Error::other("bad reply"))
    }
}
