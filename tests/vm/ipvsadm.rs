//! In-guest differential suite of ipvsadm-rs against the reference
//! ipvsadm 1.31, on the same kernel tables.
//!
//! Both programs run as `ipvsadm` (their `argv[0]`, which messages print)
//! inside the test's own network namespaces. For each table and command
//! the standard output, the standard error and the exit status must be
//! byte-identical; tables changed by one program and by the other must
//! save (`-S -n`) identically; each program's `-S` must restore with the
//! other's `-R` to the same table. (The speed comparison is a separate
//! benchmark, `tests/vm/bench_ipvsadm.rs`.)
//!
//! Run with `cargo xtask vm-test --suite ipvsadm`.

// Helpers of a test file: a failed unwrap is a failed test, with its place.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};

use lvs_tests::guest::ipvsadm_in;
use testbed::{addr, Forwarding, Netns, TcpServer, TopologyBuilder, UdpServer};

/// The tests of this suite run one at a time. The kernel keeps the
/// services of every namespace in one hash table and resumes a multi-part
/// service dump by a position counted over all of them, so a table
/// changing in one namespace can make a dump in another repeat or skip a
/// service (seen: a service listed four times while the benchmark loaded
/// its table). Both tools would see it; serial tests keep them comparable.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tool {
    Ref,
    Rs,
}

fn program(tool: Tool) -> String {
    match tool {
        Tool::Ref => std::env::var("LVS_REF_IPVSADM").expect("LVS_REF_IPVSADM in the test guest"),
        Tool::Rs => {
            let dir = std::env::var("LVS_BIN_DIR").expect("LVS_BIN_DIR in the test guest");
            format!("{dir}/ipvsadm-rs")
        }
    }
}

/// What a run printed and how it ended.
#[derive(Clone, PartialEq, Eq)]
struct Out {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "status {:?}\n--- stdout ---\n{}--- stderr ---\n{}--- end ---",
            self.status,
            self.stdout.replace(" \n", "\u{b7}\n"),
            self.stderr
        )
    }
}

/// Runs `ipvsadm ARGS` (argv[0] is `ipvsadm` for both tools) in `ns`.
fn exec(ns: &Netns, tool: Tool, args: &[&str], stdin: &str) -> Out {
    let (_, out) = ipvsadm_in(ns, &program(tool), args, stdin);
    Out {
        status: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// Both tools on the same table; they must agree byte for byte.
fn same(ns: &Netns, line: &str) -> Out {
    let args = words(line);
    let want = exec(ns, Tool::Ref, &args, "");
    let got = exec(ns, Tool::Rs, &args, "");
    assert_eq!(got, want, "ipvsadm {line}");
    want
}

/// For listings that move with time (rates, counters of live
/// connections): the reference runs before and after ipvsadm-rs, which
/// must match one of them; tried a few times.
fn same_moving(ns: &Netns, line: &str) {
    let args = words(line);
    let mut last = None;
    for _ in 0..5 {
        let before = exec(ns, Tool::Ref, &args, "");
        let got = exec(ns, Tool::Rs, &args, "");
        let after = exec(ns, Tool::Ref, &args, "");
        if got == before || got == after {
            return;
        }
        last = Some((before, got, after));
    }
    let (before, got, after) = last.unwrap();
    panic!("ipvsadm {line}\nref before: {before:?}\nrs: {got:?}\nref after: {after:?}");
}

/// Seconds of a `-c` row's expiry column (`%-6s` of `MM:SS`, bytes 4..10).
fn expiry(row: &str) -> Option<u32> {
    let field = row.get(4..10)?.trim_end();
    let (m, s) = field.split_once(':')?;
    Some(m.parse::<u32>().ok()? * 60 + s.parse::<u32>().ok()?)
}

/// `-c` listings: connection timers tick row by row while the programs
/// run, so a row's expiry may differ between runs. Every byte else must be
/// the same, and ipvsadm-rs's expiry of each row must lie between the
/// reference's before and after it.
fn same_connections(ns: &Netns, line: &str) {
    let args = words(line);
    let before = exec(ns, Tool::Ref, &args, "");
    let got = exec(ns, Tool::Rs, &args, "");
    let after = exec(ns, Tool::Ref, &args, "");
    let ctx =
        || format!("ipvsadm {line}\nref before: {before:?}\nrs: {got:?}\nref after: {after:?}");
    assert_eq!((got.status, &got.stderr), (before.status, &before.stderr), "{}", ctx());
    let rows = |o: &Out| o.stdout.lines().map(str::to_string).collect::<Vec<_>>();
    let (b, g, a) = (rows(&before), rows(&got), rows(&after));
    assert!(b.len() == g.len() && g.len() == a.len(), "{}", ctx());
    for i in 0..g.len() {
        if i < 2 {
            assert_eq!(g[i], b[i], "{}", ctx());
            continue;
        }
        let strip = |r: &str| format!("{}{}", &r[..4], &r[10..]);
        assert_eq!(strip(&g[i]), strip(&b[i]), "{}", ctx());
        assert_eq!(strip(&g[i]), strip(&a[i]), "{}", ctx());
        let (eb, eg, ea) = (expiry(&b[i]), expiry(&g[i]), expiry(&a[i]));
        assert!(eb >= eg && eg >= ea && eg.is_some(), "row {i}: {}", ctx());
    }
}

/// Loads a table with the reference `-R`; it must take every line.
fn load(ns: &Netns, script: &str) {
    let out = exec(ns, Tool::Ref, &["-R"], script);
    assert_eq!((out.status, out.stderr.as_str()), (Some(0), ""), "loading:\n{script}");
}

/// Every scheduler and flag, persistence with masks, IPv6, fwmarks (one
/// above 2^31), SCTP, a persistence engine, thresholds, every tunnel kind,
/// a mixed-family tunnel, and addresses far apart (libipvs's sort quirk).
const TABLE: &str = "\
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 192.168.1.1:80 -m -w 1
-a -t 10.0.0.1:80 -r 192.168.1.2:8080 -m -w 5 -x 100 -y 10
-a -t 10.0.0.1:80 -r 192.168.1.3 -g -w 0
-a -t 10.0.0.1:80 -r 192.168.1.4 -i -w 2
-A -t 10.0.0.1:443 -s wrr -p
-a -t 10.0.0.1:443 -r 192.168.1.1 -g
-A -t 10.0.0.2:0 -s lc -p 600 -M 255.255.255.0
-A -u 10.0.0.1:53 -s sh -b sh-fallback,sh-port -o
-a -u 10.0.0.1:53 -r 192.168.1.5:53 -m
-A -u 10.0.0.1:54 -s mh -b mh-fallback,mh-port
-A -t 10.0.0.3:80 -s wlc
-A -t 10.0.0.4:80 -s lblc
-A -t 10.0.0.5:80 -s lblcr
-A -t 10.0.0.6:80 -s dh
-A -t 10.0.0.7:80 -s sed
-A -t 10.0.0.8:80 -s nq
-A -t 10.0.0.9:80 -s fo
-A -t 10.0.0.10:80 -s ovf
-A -t 10.0.0.11:80 -s rr -b flag-1,flag-2,flag-3
-A -t 10.0.0.12:80 -s sh -b flag-3
-A -t 200.0.0.1:80 -s rr
-a -t 200.0.0.1:80 -r 10.9.0.1:80 -m
-a -t 200.0.0.1:80 -r 200.9.0.1:80 -m
-a -t 200.0.0.1:80 -r 100.9.0.1:80 -m
-A -u 10.0.0.1:5060 -s rr -p 60 --pe sip -o
-A --sctp-service 10.0.0.1:9 -s rr
-a --sctp-service 10.0.0.1:9 -r 192.168.1.9 -m
-A -t [2001:db8::1]:80 -s rr
-a -t [2001:db8::1]:80 -r [2001:db8:1::1]:80 -m
-a -t [2001:db8::1]:80 -r [2001:db8:1::2]:80 -m -w 3
-a -t [2001:db8::1]:80 -r [fd00::1]:80 -m
-A -t [2001:db8::1]:443 -s wlc -p 300 -M 64
-A -u [2001:db8::2]:53 -s rr
-A -f 1 -s rr
-a -f 1 -r 192.168.1.1:0 -g
-A -f 2 -6 -s rr -p -M 48
-a -f 2 -6 -r [2001:db8:1::9]:0 -g
-A -f 3000000000 -s rr
-A -f 7 -s wlc -p 30 -M 255.255.0.0
-A -t 10.0.0.20:80 -s rr
-a -t 10.0.0.20:80 -r 192.168.2.1 -i --tun-type ipip
-a -t 10.0.0.20:80 -r 192.168.2.2 -i --tun-type gue --tun-port 6080
-a -t 10.0.0.20:80 -r 192.168.2.3 -i --tun-type gue --tun-port 6081 --tun-csum
-a -t 10.0.0.20:80 -r 192.168.2.4 -i --tun-type gue --tun-port 6082 --tun-remcsum
-a -t 10.0.0.20:80 -r 192.168.2.5 -i --tun-type gre
-a -t 10.0.0.20:80 -r 192.168.2.6 -i --tun-type gre --tun-csum
-a -t 10.0.0.20:80 -r 2001:db8:2::1 -i
-A -t 10.0.0.21:80
-A -t 10.0.0.22:http -s rr
-a -t 10.0.0.22:http -r 127.0.0.1:http -m
";

/// The listing modes of ipvsadm 1.31 (all on the current table).
const LISTINGS: &[&str] = &[
    "",
    "-L",
    "-l",
    "-L -n",
    "-Ln",
    "--list --numeric",
    "-L -n --stats",
    "-L -n --stats --exact",
    "-L -n --rate",
    "-L -n --rate --exact",
    "-L -n --exact",
    "-L -n --stats --rate",
    "-L -n --thresholds",
    "-L -n --persistent-conn",
    "-L -n --tun-info",
    "-L -n --thresholds --persistent-conn --tun-info",
    "-L -n --nosort",
    "-L -n --sort",
    "-L --stats",
    "-L --thresholds",
    "-L --tun-info",
    "-S",
    "-S -n",
    "-L --timeout",
    "-L -n --timeout",
    "-L --daemon",
    "-L -c",
    "-L -c -n",
    "-L -c -n --persistent-conn",
    "-L -n -t 10.0.0.1:80",
    "-L -t 10.0.0.1:http",
    "-L -n -t 10.0.0.20:80 --tun-info",
    "-L -n -u 10.0.0.1:53 --stats",
    "-L -n -u 10.0.0.1:5060",
    "-L -n --sctp-service 10.0.0.1:9",
    "-L -n -f 1",
    "-L -n -f 2 -6",
    "-L -n -f 3000000000 --stats --exact",
    "-L -n -t [2001:db8::1]:80 --thresholds",
    "-L -n -t [2001:db8::1]:443",
    "-L -n -t 10.0.0.99:80",
    "-L -n -f 99",
];

#[test]
fn every_listing_matches_on_a_rich_table() {
    let _serial = serial();
    let ns = Netns::new("lists").unwrap();
    // An empty table first.
    for line in ["-L -n", "-L", "-S", "-L -n --stats", "-L -c -n", ""] {
        same(&ns, line);
    }
    load(&ns, TABLE);
    for line in LISTINGS {
        same(&ns, line);
    }
}

#[test]
fn help_version_and_bad_input_match() {
    let _serial = serial();
    let ns_ref = Netns::new("bad-ref").unwrap();
    let ns_rs = Netns::new("bad-rs").unwrap();
    load(&ns_ref, TABLE);
    load(&ns_rs, TABLE);
    let cases = [
        "-h",
        "--help",
        "-v",
        "--version",
        "-h -L --bogus",
        "-n",
        "-n -L",
        "-q",
        "--start-daemon",
        "-L -q",
        "-Lq",
        "-L --foo",
        "-A -t",
        "-L --numeric=1",
        "-L -A",
        "-LA",
        "-L --start-daemon master",
        "-A -t 1.2.3.4:80 -h",
        "--start-daemon foo",
        "--stop-daemon foo",
        "-A -t 1.2.3.4:99999",
        "-A -t 1.2.3.4:",
        "-A -t 80",
        "-A -t nosuchhost:80",
        "-A -t 1.2.3.4:nosuchservice",
        "-A -u 1.2.3.4:http",
        "-A -t [::1]",
        "-A -t [::1",
        "-A -t 1.2.3.4.5:80",
        "-a -t 10.0.0.1:80 -r 300",
        "-a -t 10.0.0.1:80 -r 10.0.0.1:-1",
        "-A -f 0",
        "-A -f 4294967296",
        "-A -f x",
        "-a -t 10.0.0.1:80 -r 10.5.0.1 -w 2147483648",
        "-a -t 10.0.0.1:80 -r 10.5.0.1 -w 65536",
        "-a -t 10.0.0.1:80 -r 10.5.0.1 -w -1",
        "-a -t 10.0.0.1:80 -r 10.5.0.1 -w 1x",
        "-a -t 10.0.0.1:80 -r 10.5.0.1 -x 2147483648",
        "-a -t 10.0.0.1:80 -r 10.5.0.1 -y z",
        "-A -t 1.2.3.4:80 -p 0",
        "-A -t 1.2.3.4:80 -p 2678401",
        "-A -t 1.2.3.4:80 -p -M 1.2.3.",
        "-A -t [::1]:80 -p -M 129",
        "-A -t [::1]:80 -p -M x",
        "--set 1 2",
        "--set 1 2 x",
        "--set 1 2 3 4",
        "--set 2678401 2 3",
        "-L extra",
        "foo -L",
        "--start-daemon master --syncid 256",
        "--start-daemon master --mcast-port 0",
        "--start-daemon master --mcast-ttl 256",
        "--start-daemon master --sync-maxlen 65508",
        "--start-daemon master --mcast-group 10.0.0.1",
        "--start-daemon master --mcast-group ::1",
        "-A -t 1.2.3.4:80 -t 1.2.3.4:81",
        "-L -n -n",
        "-a -t 10.0.0.1:80 -r 10.5.0.1 -m -g",
        "-A -6 -f 1",
        "-A -t 1.2.3.4:80 -b sh-port",
        "-A -t 1.2.3.4:80 -s mh -b mh-port,sh-port",
        "-A -t 1.2.3.4:80 -b foo",
        "-L -b foo",
        "-A",
        "-D -t 1.2.3.4:80 -s rr",
        "-a -t 1.2.3.4:80",
        "-d -t 1.2.3.4:80 -r 10.0.0.1 -w 2",
        "-C -n",
        "-R -n",
        "-S -c",
        "-Z -n",
        "-A -t 1.2.3.4:80 -w 2",
        "-L -c --timeout",
        "-L -t 1.2.3.4:80 --daemon",
        "-L -s rr",
        "--stop-daemon master --mcast-interface eth0",
        "--set 1 2 3 -n",
        "-L -c --stats",
        "-L --timeout --persistent-conn",
        "-A -t 1.2.3.4",
        "-E -t 1.2.3.4:0",
        "-A -t 1.2.3.4:80 -o",
        "-a -t 10.0.0.1:80 -r [::1]:80",
        "-a -t 10.0.0.1:80 -r 10.5.0.1 --tun-type gue",
        "-a -t 10.0.0.1:80 -r 10.5.0.1 -i --tun-type gue",
        "-a -t 10.0.0.1:80 -r 10.5.0.1 -i --tun-port 9",
        "-a -t 10.0.0.1:80 -r 10.5.0.1 -i --tun-type gre --tun-remcsum",
        "-a -t 10.0.0.1:80 -r 10.5.0.1 -i --tun-type gue --tun-port 6080 --tun-csum --tun-nocsum",
        "-a -t 10.0.0.1:80 -r 10.5.0.1 -i --tun-type foo",
        "-a -t 10.0.0.1:80 -r 10.5.0.1 -i --tun-type gue --tun-port 0",
        // Refused by the kernel.
        "-A -t 10.0.0.1:80",
        "-a -t 10.0.0.1:80 -r 192.168.1.1:80 -m",
        "-d -t 10.0.0.1:80 -r 192.168.9.9",
        "-e -t 10.0.0.1:80 -r 192.168.9.9",
        "-D -t 10.9.9.9:80",
        "-E -t 10.9.9.9:80",
        "-a -t 10.9.9.9:80 -r 192.168.9.9",
        "-Z -t 10.9.9.9:80",
        "-A -t 10.0.0.99:80 -s twos",
        "-A -t 10.0.0.99:80 -s nosuch",
        "-A -t 10.0.0.99:80 -p --pe nosuch",
        "-a -t 10.0.0.1:80 -r 192.168.1.7 -x 1 -y 5",
        "-a -t 10.0.0.1:80 -r 224.0.0.1",
        "--stop-daemon master",
        "--start-daemon master --mcast-interface nosuchif",
    ];
    for line in cases {
        let args = words(line);
        let want = exec(&ns_ref, Tool::Ref, &args, "");
        let got = exec(&ns_rs, Tool::Rs, &args, "");
        assert_eq!(got, want, "ipvsadm {line}");
    }
    // Nothing above changed either table, or both the same way.
    assert_eq!(
        exec(&ns_rs, Tool::Ref, &["-S", "-n"], ""),
        exec(&ns_ref, Tool::Ref, &["-S", "-n"], "")
    );
}

/// The same edits through each tool, in two namespaces: every step prints
/// the same, and the tables end up the same.
#[test]
fn edits_match_step_by_step() {
    let _serial = serial();
    let steps = [
        "-A -t 10.1.0.1:80 -s rr -p 100 -M 255.255.0.0",
        "-a -t 10.1.0.1:80 -r 10.2.0.1:8080 -m -w 4 -x 50 -y 5",
        "-a -t 10.1.0.1:80 -r 10.2.0.2 -w 3",
        "-a -t 10.1.0.1:80 -r 10.2.0.3:81 -i --tun-type gue --tun-port 7000 --tun-csum",
        "-E -t 10.1.0.1:80",
        "-e -t 10.1.0.1:80 -r 10.2.0.1:8080 -w 7",
        "-e -t 10.1.0.1:80 -r 10.2.0.1:8080 -m -w 7",
        "-e -t 10.1.0.1:80 -r 10.2.0.3 -i --tun-type gre",
        "-A -u 10.1.0.1:53 -s sh -b sh-port -o",
        "-E -u 10.1.0.1:53 -s mh -b mh-fallback",
        "-A -f 5 -6 -s rr -p 20 -M 56",
        "-a -f 5 -6 -r 2001:db8:9::1 -g",
        "-E -f 5 -6 -s wrr -p 30",
        "-A -t [2001:db8::5]:80 -s rr",
        "-a -t [2001:db8::5]:80 -r 10.3.0.1 -i",
        "-Z",
        "-Z -t 10.1.0.1:80",
        "--set 100 20 30",
        "-L --timeout",
        "--set 0 0 0",
        "-L --timeout",
        "--set 900 120 300",
        "-d -t 10.1.0.1:80 -r 10.2.0.1:8080",
        "-d -t 10.1.0.1:80 -r 10.2.0.1:8080",
        "-D -t 10.1.0.1:80",
        "-D -t 10.1.0.1:80",
        "-L -n --thresholds --tun-info",
        "-S -n",
        "-C",
        "-L -n",
    ];
    let ns_ref = Netns::new("edit-ref").unwrap();
    let ns_rs = Netns::new("edit-rs").unwrap();
    for line in steps {
        let args = words(line);
        let want = exec(&ns_ref, Tool::Ref, &args, "");
        let got = exec(&ns_rs, Tool::Rs, &args, "");
        assert_eq!(got, want, "ipvsadm {line}");
        let saved = |ns: &Netns| exec(ns, Tool::Ref, &["-S", "-n"], "");
        assert_eq!(saved(&ns_rs), saved(&ns_ref), "table after ipvsadm {line}");
    }
}

#[test]
fn restore_lines_like_ipvsadm() {
    let _serial = serial();
    let scripts = [
        // A refusal in the middle, a popt error, a listing, blank lines,
        // CRs and `ipvsadm` words: all go on; the status is the last line's.
        "-A -t 10.1.0.1:80 -s rr\nipvsadm -a -t 10.1.0.1:80 -r 10.2.0.1 -m\n\n-A -t 10.1.0.1:80\r\n-L -x\n-L -n\n-a -t 10.1.0.1:80 -r 10.2.0.2 -m\n",
        "-A -t 10.1.0.1:80\n-A -t 10.1.0.1:80\n",
        // A bad line stops at once.
        "-A -t 10.1.0.1:80\n-A -t 10.1.0.2:99999\n-A -t 10.1.0.3:80\n",
        // A comment is not a command.
        "-A -t 10.1.0.1:80\n# comment\n-A -t 10.1.0.3:80\n",
        "-R\n",
        "-h\n-C\n",
        "-A -t 10.1.0.1:80 -s rr",
    ];
    for script in scripts {
        let ns_ref = Netns::new("restore-ref").unwrap();
        let ns_rs = Netns::new("restore-rs").unwrap();
        let want = exec(&ns_ref, Tool::Ref, &["-R"], script);
        let got = exec(&ns_rs, Tool::Rs, &["-R"], script);
        assert_eq!(got, want, "ipvsadm -R <<< {script:?}");
        let saved = |ns: &Netns| exec(ns, Tool::Ref, &["-S", "-n"], "");
        assert_eq!(saved(&ns_rs), saved(&ns_ref), "table after -R {script:?}");
    }
}

/// `-S` of each tool restores with the other's `-R` to the same table.
/// Two services of [`TABLE`] do not survive ipvsadm 1.31's own round trip
/// and are left out here: the fwmark above 2^31 (saved as a negative
/// number, which `-f` refuses) and `sh` with `flag-3` (saved as a bare
/// `-b`, a missing argument). The whole table is then compared separately:
/// both `-R` must fail the same way.
#[test]
fn save_and_restore_cross_over() {
    let _serial = serial();
    let src = Netns::new("save-src").unwrap();
    let restorable: String = TABLE
        .lines()
        .filter(|l| !l.contains("3000000000") && !l.contains("10.0.0.12:80"))
        .map(|l| format!("{l}\n"))
        .collect();
    load(&src, &restorable);
    let sorted = |o: &Out| {
        let mut l: Vec<String> = o.stdout.lines().map(str::to_string).collect();
        l.sort();
        l
    };
    let save_n = |ns: &Netns| exec(ns, Tool::Ref, &["-S", "-n"], "");
    for save in [&["-S", "-n"][..], &["-S"][..]] {
        for (saver, restorer) in [(Tool::Ref, Tool::Rs), (Tool::Rs, Tool::Ref)] {
            let saved = exec(&src, saver, save, "");
            assert_eq!((saved.status, saved.stderr.as_str()), (Some(0), ""));
            let dst = Netns::new("save-dst").unwrap();
            let restored = exec(&dst, restorer, &["-R"], &saved.stdout);
            assert_eq!(
                (restored.status, restored.stderr.as_str()),
                (Some(0), ""),
                "{restorer:?} -R of {saver:?} {save:?}"
            );
            // The same services and servers as the source...
            assert_eq!(
                sorted(&save_n(&dst)),
                sorted(&save_n(&src)),
                "{saver:?} {save:?} then {restorer:?} -R"
            );
            // ...and exactly the table the other tool's -R makes. (Not
            // always the source's listing order: libipvs's comparator is
            // not transitive for addresses 2^31 apart, so the sorted order
            // depends on the kernel's order, which -R's insertions set.)
            let other = if restorer == Tool::Rs { Tool::Ref } else { Tool::Rs };
            let dst2 = Netns::new("save-dst2").unwrap();
            assert_eq!(exec(&dst2, other, &["-R"], &saved.stdout), restored);
            assert_eq!(save_n(&dst2), save_n(&dst));
            assert_eq!(
                exec(&dst2, Tool::Ref, &["-L", "-n"], ""),
                exec(&dst, Tool::Ref, &["-L", "-n"], "")
            );
        }
    }
    // The whole table, big fwmark included: both -R fail the same way.
    let full = Netns::new("save-full").unwrap();
    load(&full, TABLE);
    let saved = exec(&full, Tool::Ref, &["-S", "-n"], "");
    let ns_ref = Netns::new("save-full-ref").unwrap();
    let ns_rs = Netns::new("save-full-rs").unwrap();
    let want = exec(&ns_ref, Tool::Ref, &["-R"], &saved.stdout);
    let got = exec(&ns_rs, Tool::Rs, &["-R"], &saved.stdout);
    assert_eq!(got, want);
    let again = |ns: &Netns| exec(ns, Tool::Ref, &["-S", "-n"], "");
    assert_eq!(again(&ns_rs), again(&ns_ref));
}

#[test]
fn timeouts_and_sync_daemons_match() {
    let _serial = serial();
    let ns_ref = Netns::new("sync-ref").unwrap();
    let ns_rs = Netns::new("sync-rs").unwrap();
    for ns in [&ns_ref, &ns_rs] {
        ns.batch("link add dummy0 type dummy\nlink set dummy0 up multicast on\naddr add 10.77.0.1/24 dev dummy0\nlink add dummy1 type dummy\nlink set dummy1 up multicast on\naddr add 10.78.0.1/24 dev dummy1\n").unwrap();
    }
    let steps = [
        "-L --daemon",
        "--start-daemon master --mcast-interface dummy0",
        "-L --daemon",
        "--start-daemon master --mcast-interface dummy0",
        "--start-daemon backup --mcast-interface dummy1 --syncid 7 --mcast-group 239.1.2.3 --mcast-port 9000 --mcast-ttl 3 --sync-maxlen 1000",
        "-L --daemon",
        "-L -n --daemon",
        "--stop-daemon backup",
        "--stop-daemon backup",
        "-L --daemon",
        "--stop-daemon master",
        "--set 1000 100 200",
        "-L --timeout",
    ];
    for line in steps {
        let args = words(line);
        let want = exec(&ns_ref, Tool::Ref, &args, "");
        let got = exec(&ns_rs, Tool::Rs, &args, "");
        assert_eq!(got, want, "ipvsadm {line}");
    }
}

/// Real traffic through LVS-NAT: counters, rates and connections.
#[test]
fn traffic_statistics_and_connections_match() {
    let _serial = serial();
    let topo = TopologyBuilder::new(Forwarding::Nat).real_servers(2).build().unwrap();
    let any = std::net::Ipv4Addr::UNSPECIFIED;
    let _servers: Vec<(TcpServer, UdpServer)> = (0..2)
        .map(|j| {
            let ns = &topo.real_servers[j].ns;
            let tcp = TcpServer::http(ns, SocketAddr::from((any, 80)), &format!("rs{j}")).unwrap();
            let udp = UdpServer::start(ns, SocketAddr::from((topo.real_server_addr(j), 53)), "x")
                .unwrap();
            (tcp, udp)
        })
        .collect();
    let d0 = &topo.directors[0].ns;
    let vip = addr::VIP;
    let mut script =
        format!("-A -t {vip}:80 -s rr\n-A -u {vip}:53 -s wrr\n-A -t {vip}:8080 -s rr -p 60\n");
    for j in 0..2 {
        let rs = topo.real_server_addr(j);
        script.push_str(&format!("-a -t {vip}:80 -r {rs}:80 -m -w {}\n", j + 1));
        script.push_str(&format!("-a -u {vip}:53 -r {rs}:53 -m\n"));
        script.push_str(&format!("-a -t {vip}:8080 -r {rs}:80 -m\n"));
    }
    load(d0, &script);
    let client = &topo.client.ns;
    for _ in 0..6 {
        client.http_get(SocketAddr::from((vip, 80))).unwrap();
        client.http_get(SocketAddr::from((vip, 8080))).unwrap();
        client.udp_request(SocketAddr::from((vip, 53)), b"q").unwrap();
    }
    // The kernel folds per-CPU counters into what it reports every 2 s
    // (the rate estimator's tick): wait until the counters stop moving.
    let stats = || exec(d0, Tool::Ref, &["-L", "-n", "--stats", "--exact"], "");
    let mut settled = false;
    for _ in 0..20 {
        let a = stats();
        std::thread::sleep(std::time::Duration::from_millis(2500));
        if stats() == a {
            settled = true;
            break;
        }
    }
    assert!(settled, "the counters never settled");
    for line in [
        "-L -n --stats",
        "-L -n --stats --exact",
        "-L --stats",
        "-L -n --thresholds",
        "-L -n --persistent-conn",
        "-L -n -t 192.0.2.10:80 --stats",
        "-S -n",
    ] {
        same(d0, line);
    }
    for line in ["-L -n", "-L -n --rate", "-L -n --rate --exact", "-L -n --persistent-conn"] {
        same_moving(d0, line);
    }
    for line in ["-L -c -n", "-L -c", "-L -c -n --persistent-conn"] {
        same_connections(d0, line);
    }
    // Zeroing, then the counters again.
    same(d0, "-Z -t 192.0.2.10:80");
    same(d0, "-L -n --stats");
}

/// The `--json` extension describes the same table as the listing (it is
/// ipvsadm-rs's own: the reference rejects the option).
#[test]
fn json_listing_describes_the_same_table() {
    let _serial = serial();
    let ns = Netns::new("json").unwrap();
    load(&ns, TABLE);
    let json = exec(&ns, Tool::Rs, &["-L", "-n", "--json"], "");
    assert_eq!((json.status, json.stderr.as_str()), (Some(0), ""));
    let saved = exec(&ns, Tool::Ref, &["-S", "-n"], "");
    let services = saved.stdout.lines().filter(|l| l.starts_with("-A ")).count();
    let dests = saved.stdout.lines().filter(|l| l.starts_with("-a ")).count();
    assert!(json.stdout.starts_with("{\"services\":[{") && json.stdout.ends_with("]}\n"));
    assert_eq!(json.stdout.matches("\"scheduler\":").count(), services, "{}", json.stdout);
    assert_eq!(json.stdout.matches("\"forward\":").count(), dests, "{}", json.stdout);
    assert!(json.stdout.contains("\"fwmark\":3000000000"), "{}", json.stdout);
    assert!(json.stdout.contains("{\"type\":\"gue\",\"port\":6082,\"csum\":\"remcsum\"}"));
    let one = exec(&ns, Tool::Rs, &["-L", "-n", "-t", "10.0.0.1:80", "--json"], "");
    assert_eq!(one.stdout.matches("\"forward\":").count(), 4, "{}", one.stdout);
    let refused = exec(&ns, Tool::Ref, &["-L", "-n", "--json"], "");
    assert_eq!((refused.status, refused.stderr.as_str()), (Some(255), "--json: unknown option\n"));
}
