//! Whole runs of ipvsadm-rs against `ipvs::FakeTable`, the in-memory
//! table proven to answer like the kernel (EEXIST, ESRCH, ENOENT): exit
//! statuses, `-R` semantics, listing through the real formatters.

use std::cell::RefCell;
use std::io::Cursor;
use std::net::IpAddr;
use std::rc::Rc;

use ipvs::{Command, DaemonConfig, Dest, FakeTable, Info, Op, Service, ServiceKey, Timeouts};

use super::*;
use crate::resolve::Resolver;

/// The kernel-like table of one test, shared by its runs (each run opens
/// it anew), and the size of every batch handed to `apply`.
struct State {
    table: FakeTable,
    batches: Vec<usize>,
}

impl Default for State {
    fn default() -> State {
        let mut table = FakeTable::new();
        // As for a caller without CAP_NET_ADMIN: `-L --daemon` fails.
        table.refuse.push((Op::GetDaemons, libc::EPERM));
        State { table, batches: Vec::new() }
    }
}

impl State {
    fn services(&mut self) -> Vec<(Service, Vec<Dest>)> {
        self.table.table().unwrap()
    }
}

/// A run's handle on the shared table.
struct Shared(Rc<RefCell<State>>);

impl IpvsTable for Shared {
    fn apply(&mut self, cmds: &[Command]) -> Result<ipvs::client::BatchResults, ipvs::Error> {
        let mut st = self.0.borrow_mut();
        st.batches.push(cmds.len());
        st.table.apply(cmds)
    }
    fn services(&mut self) -> Result<Vec<Service>, ipvs::Error> {
        self.0.borrow_mut().table.services()
    }
    fn service(&mut self, key: &ServiceKey) -> Result<Service, ipvs::Error> {
        self.0.borrow_mut().table.service(key)
    }
    fn dests(&mut self, key: &ServiceKey) -> Result<Vec<Dest>, ipvs::Error> {
        self.0.borrow_mut().table.dests(key)
    }
    fn timeouts(&mut self) -> Result<Timeouts, ipvs::Error> {
        IpvsTable::timeouts(&mut self.0.borrow_mut().table)
    }
    fn daemons(&mut self) -> Result<Vec<DaemonConfig>, ipvs::Error> {
        IpvsTable::daemons(&mut self.0.borrow_mut().table)
    }
    fn info(&mut self) -> Result<Info, ipvs::Error> {
        self.0.borrow_mut().table.info()
    }
}

struct Numeric;

impl Resolver for Numeric {
    fn inet_aton(&self, s: &str) -> Option<[u8; 4]> {
        crate::sys::inet_aton(s)
    }
    fn inet_pton6(&self, s: &str) -> Option<[u8; 16]> {
        crate::sys::inet_pton6(s)
    }
    fn host_v4(&self, _: &str) -> Option<[u8; 4]> {
        None
    }
    fn service_port(&self, _: &str, _: &str) -> Option<u16> {
        None
    }
    fn host_name(&self, _: &IpAddr) -> Option<String> {
        None
    }
    fn service_name(&self, _: u16, _: &str) -> Option<String> {
        None
    }
}

struct Outcome {
    code: i32,
    out: String,
    err: String,
}

fn go(state: &Rc<RefCell<State>>, line: &str, stdin: &str) -> Outcome {
    let argv: Vec<String> =
        std::iter::once("ipvsadm").chain(line.split_whitespace()).map(String::from).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut input = Cursor::new(stdin.as_bytes().to_vec());
    let st = state.clone();
    let mut connect =
        move || -> Result<Box<dyn IpvsTable>, ipvs::Error> { Ok(Box::new(Shared(st.clone()))) };
    let mut env = Env {
        out: &mut out,
        err: &mut err,
        input: &mut input,
        resolver: &Numeric,
        root: std::path::PathBuf::from("/nonexistent"),
        posix_me_harder: false,
        connect: &mut connect,
    };
    let code = run(&argv, &mut env).unwrap();
    Outcome { code, out: String::from_utf8(out).unwrap(), err: String::from_utf8(err).unwrap() }
}

#[test]
fn edits_and_kernel_refusals() {
    let st = Rc::new(RefCell::new(State::default()));
    let r = go(&st, "-A -t 10.0.0.1:80 -s rr", "");
    assert_eq!((r.code, r.err.as_str()), (0, ""));
    let r = go(&st, "-A -t 10.0.0.1:80", "");
    assert_eq!((r.code, r.err.as_str()), (255, "Service already exists\n"));
    let r = go(&st, "-a -t 10.0.0.2:80 -r 192.168.0.1", "");
    assert_eq!((r.code, r.err.as_str()), (255, "Service not defined\n"));
    let r = go(&st, "-d -t 10.0.0.1:80 -r 192.168.0.1", "");
    assert_eq!((r.code, r.err.as_str()), (255, "No such destination\n"));
    let r = go(&st, "-A -t 10.0.0.3:80 -s nosuch", "");
    assert_eq!((r.code, r.err.as_str()), (255, "Scheduler or persistence engine not found\n"));
    let r = go(&st, "--stop-daemon master", "");
    assert_eq!((r.code, r.err.as_str()), (255, "No daemon is running\n"));
    let r = go(&st, "-a -t 10.0.0.1:80 -r 192.168.0.1 -m", "");
    assert_eq!(r.code, 0);
    let r = go(&st, "-Ln", "");
    assert_eq!(
        r.out,
        "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\nTCP  10.0.0.1:80 rr\n  -> 192.168.0.1:80               Masq    1      0          0         \n"
    );
    let r = go(&st, "-L -t 10.0.0.9:80", "");
    assert_eq!((r.code, r.out.as_str(), r.err.as_str()), (1, "", "No such service\n"));
    let r = go(&st, "-L --daemon", "");
    assert_eq!((r.code, r.out.as_str(), r.err.as_str()), (1, "", ""));
    let r = go(&st, "-L --timeout", "");
    assert_eq!((r.code, r.out.as_str()), (0, "Timeout (tcp tcpfin udp): 900 120 300\n"));
    let r = go(&st, "-L -c", "");
    assert_eq!((r.code, r.err.as_str()), (1, "cannot open file /proc/net/ip_vs_conn\n"));
    let r = go(&st, "-S -n", "");
    assert_eq!(r.out, "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 192.168.0.1:80 -m -w 1\n");
}

#[test]
fn no_arguments_lists_with_names() {
    let st = Rc::new(RefCell::new(State::default()));
    let r = go(&st, "", "");
    assert_eq!(r.code, 0);
    assert!(r
        .out
        .starts_with("IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port"));
}

#[test]
fn help_version_and_bad_lines() {
    let st = Rc::new(RefCell::new(State::default()));
    let r = go(&st, "-h", "");
    assert_eq!((r.code, r.err.as_str()), (0, ""));
    assert!(r.out.starts_with(help::VERSION_LINE));
    let r = go(&st, "--version", "");
    assert_eq!((r.code, r.out.as_str()), (0, help::VERSION_LINE));
    let r = go(&st, "-L -q", "");
    assert_eq!((r.code, r.err.as_str()), (255, "-q: unknown option\n"));
    let r = go(&st, "-A -t x", "");
    assert_eq!((r.code, r.err.as_str()), (2, "illegal virtual server address[:port] specified\n"));
}

#[test]
fn restore_runs_lines_in_order_and_keeps_going() {
    let st = Rc::new(RefCell::new(State::default()));
    let input = "\
-A -t 10.0.0.1:80 -s rr
ipvsadm -a -t 10.0.0.1:80 -r 192.168.0.1:80 -m -w 2

-A -t 10.0.0.1:80
-a -t 10.0.0.1:80 -r 192.168.0.2:80 -m\r
-L -x
-L -n
-d -t 10.0.0.1:80 -r 192.168.0.9
";
    let r = go(&st, "-R", input);
    // A refusal and a popt error are reported and the run goes on; the
    // status is the last line's (a refusal: 255).
    assert_eq!(r.err, "Service already exists\n-x: missing argument\nNo such destination\n");
    assert_eq!(r.code, 255);
    assert!(r.out.contains("TCP  10.0.0.1:80 rr\n  -> 192.168.0.1:80               Masq    2"));
    assert!(r.out.contains("  -> 192.168.0.2:80               Masq    1"));
    // The four changes before the listing went out as one batch.
    assert_eq!(st.borrow().batches, [4, 1]);

    // A bad line stops at once with 2, after the lines before it.
    let st = Rc::new(RefCell::new(State::default()));
    let r = go(&st, "-R", "-A -t 10.0.0.1:80\n-A -t 10.0.0.1:99999\n-A -t 10.0.0.2:80\n");
    assert_eq!((r.code, r.err.as_str()), (2, "illegal virtual server address[:port] specified\n"));
    assert_eq!(st.borrow_mut().services().len(), 1);

    // A comment line is no command: ipvsadm gives up with its hint.
    let st = Rc::new(RefCell::new(State::default()));
    let r = go(&st, "-R", "-A -t 10.0.0.1:80\n# saved\n-A -t 10.0.0.2:80\n");
    assert_eq!((r.code, r.err.as_str()), (255, help::try_help("ipvsadm").as_str()));
    assert_eq!(st.borrow_mut().services().len(), 1);

    // -R inside -R likewise; a successful last line gives 0.
    let r = go(&st, "-R", "-R\n");
    assert_eq!(r.code, 255);
    let r = go(&st, "-R", "-A -t 10.0.0.1:80\n-C\n");
    assert_eq!((r.code, r.err.as_str()), (0, "Service already exists\n"));
}

#[test]
fn save_restores_to_the_same_table() {
    let st = Rc::new(RefCell::new(State::default()));
    let setup = "\
-A -t 10.0.0.1:80 -s wrr -p 120 -M 255.255.255.0
-a -t 10.0.0.1:80 -r 192.168.0.1:80 -m -w 5
-a -t 10.0.0.1:80 -r 192.168.0.2:80 -i -w 0
-A -u [2001:db8::1]:53 -s sh -b sh-port -o
-a -u [2001:db8::1]:53 -r [2001:db8::2]:53 -g
-A -f 9 -6 -s mh -b mh-fallback -p
-a -f 9 -6 -r 10.1.1.1:0 -i --tun-type gue --tun-port 6080 --tun-csum
";
    assert_eq!(go(&st, "-R", setup).code, 0);
    let saved = go(&st, "-S -n", "").out;
    let copy = Rc::new(RefCell::new(State::default()));
    assert_eq!(go(&copy, "-R", &saved).code, 0);
    assert_eq!(go(&copy, "-S -n", "").out, saved);
    assert_eq!(st.borrow_mut().services(), copy.borrow_mut().services());
}
