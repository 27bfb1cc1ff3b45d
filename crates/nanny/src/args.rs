//! Command line: read by `nanny_api::NannyOptions::from_args` (piranha
//! nanny's options plus our own, the contract lvsd and pulse write with
//! `to_args`); this module makes a [`Config`] of it: defaults, escapes,
//! regexes, TLS, the check. Pure, without IO.

use std::ffi::OsString;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

pub use nanny_api::{ArgsError, Method, Mode, DEFAULT_PING_COUNT, MAX_PING_COUNT};
use nanny_api::{CheckOptions, Invocation, NannyOptions, Secs, TlsOptions};
use regex::bytes::Regex;

use crate::http::parse_statuses;
use crate::load::LoadCmd;
use crate::matcher::{unescape, Expect};
use crate::probe::{Check, Tls};
use crate::route::Route;

/// Everything a nanny needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Real server address and port checked (`-h`, `-r`).
    pub server: SocketAddr,
    /// Virtual address (`-V`), for standalone mode and the HTTP Host header.
    pub vip: Option<IpAddr>,
    /// Virtual port (`-p`).
    pub vport: u16,
    /// fwmark service (`-f`), 0 for none.
    pub fwmark: u32,
    /// UDP service (`-u`).
    pub udp: bool,
    /// Forwarding method (`-M`).
    pub method: Method,
    /// Time between checks (`-t`).
    pub interval: Duration,
    /// Bound on one check (`--timeout`; piranha: the interval).
    pub timeout: Duration,
    /// Continuous success before re-admission (`-a`).
    pub reentry: Duration,
    /// Failed checks tolerated before removal (`--retries`, as the
    /// configuration's `retries`: 0 = piranha, one failure removes).
    pub retries: u32,
    /// Base weight (`-w`).
    pub weight: u32,
    /// Load adjustment ceiling multiplier (`-S`).
    pub scale: u32,
    /// Quiesce instead of remove (`-q`).
    pub quiesce: bool,
    /// Slow start (on unless `--no-slow-start`).
    pub slow_start: bool,
    /// Slow start / load adjustment period (`--adjust`).
    pub adjust: Duration,
    /// Run when the server comes up (`--agent-up`), argv complete.
    pub on_up: Option<Vec<OsString>>,
    /// Run when the server goes down (`--agent-down`), argv complete.
    pub on_down: Option<Vec<OsString>>,
    /// Load probe (`-U`, `--load-program`).
    pub load: Option<LoadCmd>,
    /// The check.
    pub check: Check,
    /// Where its probes go (`--via-mark`: through IPVS).
    pub route: Route,
    /// Where decisions go.
    pub mode: Mode,
    /// Liveness period in report mode (`--alive`).
    pub alive: Duration,
    /// `-v`.
    pub verbose: bool,
    /// Notes for the log (e.g. piranha's default web check).
    pub notes: Vec<String>,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Parsed {
    /// Run a nanny.
    Run(Box<Config>),
    /// `--help`.
    Help,
    /// `--version`.
    Version,
}

/// Usage text for `--help`.
pub const USAGE: &str = "\
usage: nanny -h RIP [options]

piranha options:
  -h, --server=IP          real server to check (required)
  -p, --port=N             virtual port [80]
  -r, --rport=N            real-server port to check [= port]
  -V, --virtaddress=IP     virtual address
  -f, --fwmark=N           fwmark service
  -u, --udp                UDP service (UDP send/expect check)
  -t, --interval=SECS      seconds between checks, also the check timeout [10]
  -a, --reentrytime=SECS   re-admit at the reentry/interval-th success in a row [0 = 180]
  -w, --weight=N           base weight [1]
  -S, --scale=N            load adjustment ceiling = scale * weight [10]
  -U, --loadcmd=CMD        rup, ruptime, rsh, ssh or none [none]
  -M, --method=m|g|i       forwarding method in standalone mode [m]
  -e, --send_program=CMD   external check; %h = real IP, %p = real port; up only
                           when its output equals -x (without -x: never, as piranha)
  -s, --send_string=S      bytes to send (escapes \\n \\r \\t \\\\ \\' \\\")
  -x, --expect_string=S    reply expected (* = any byte)
      --regex              expect is a regular expression
  -T, --suppress           do not translate escapes
  -q, --quiesce_server     set weight 0 instead of removing
  -v, --verbose            debug logging
  -I, --ipvsadm=PATH       accepted, unused (IPVS is driven over netlink)
  -n, --nodaemon / -c, --nofork   accepted; nanny never forks
      --test-start, --norun        change nothing, only log
      --lvs                LVS mode (the default; --fos is not supported)
      --version

our options:
      --report             report to lvsd on stdout (line protocol) instead of changing IPVS
      --alive=SECS         liveness line period in --report mode [= interval]
      --timeout=SECS       bound on one check [= interval]
      --retries=N          failed checks tolerated: out at the N+1th in a row [0]
      --no-slow-start      enter at full weight
      --adjust=SECS        slow start / load adjustment period [20]
      --http               HTTP GET check
      --http-path=PATH     request path [/] (implies --http)
      --http-host=NAME     Host header [virtual or real address]
      --http-status=LIST   accepted statuses, e.g. 200,301-302 [200]
      --http-body=REGEX    body must match
      --tls                TLS on top (handshake check, or HTTPS with --http)
      --tls-name=NAME      SNI name to send
      --agent=CMD          Turbolinux agent: CMD RIP PORT 1|2, exit 0 = up
      --agent-up=CMD       run as CMD RIP PORT 1|2 when the server comes up
      --agent-down=CMD     run as CMD RIP PORT 1|2 when the server goes down
      --always-up          no check: the server is always up (Turbolinux `none`)
      --ping               ICMP echo check: up when the server answers a ping
      --ping-count=N       echo requests sent at once per check [3] (implies --ping)
      --dns=NAME           DNS check: one UDP query for NAME to the real server's port
      --dns-record=TYPE    the answer must hold a TYPE record (A, AAAA, MX...) [any answer]
      --load-program=PROG  load probe: PROG RIP, prints a load average
      --via-mark=MARK      probe through IPVS: to -V's address and -p's port with
                           this firewall mark (SO_MARK), which selects a service
                           holding only this real server (lvsd's `via: vip`)
";

fn bad(option: &str, value: &str, why: impl Into<String>) -> ArgsError {
    ArgsError::BadValue { option: option.into(), value: value.into(), why: why.into() }
}

/// Parses argv (without the program name).
pub fn parse<I>(args: I) -> Result<Parsed, ArgsError>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    Ok(match NannyOptions::from_args(args)? {
        Invocation::Help => Parsed::Help,
        Invocation::Version => Parsed::Version,
        Invocation::Run(o) => Parsed::Run(Box::new(config(&o)?)),
    })
}

/// What nanny makes of its options: defaults, and the check built.
fn config(o: &NannyOptions) -> Result<Config, ArgsError> {
    let server_ip = o.server;
    let rport = o.rport.unwrap_or(o.port);
    let interval = o.interval.map_or(Duration::from_secs(10), Secs::duration);
    let reentry = match o.reentry.map(Secs::duration) {
        Some(d) if !d.is_zero() => d,
        _ => Duration::from_secs(180),
    };
    // Turbolinux calling convention: CMD IP PORT 1|2.
    let agent_argv = |cmd: &str| -> Result<Vec<OsString>, ArgsError> {
        let mut argv: Vec<OsString> = cmd.split_whitespace().map(OsString::from).collect();
        if argv.is_empty() {
            return Err(bad("--agent", cmd, "empty command"));
        }
        argv.push(server_ip.to_string().into());
        argv.push(rport.to_string().into());
        argv.push(if o.udp { "2" } else { "1" }.into());
        Ok(argv)
    };
    let on_up = o.agent_up.as_deref().map(agent_argv).transpose()?;
    let on_down = o.agent_down.as_deref().map(agent_argv).transpose()?;
    let mut notes = Vec::new();
    let check = check(o, rport, &agent_argv, &mut notes)?;
    Ok(Config {
        server: SocketAddr::new(server_ip, rport),
        vip: o.vip,
        vport: o.port,
        fwmark: o.fwmark,
        udp: o.udp,
        method: o.method,
        interval,
        timeout: o.timeout.map_or(interval, Secs::duration),
        reentry,
        retries: o.retries.unwrap_or(0),
        weight: o.weight.unwrap_or(1),
        scale: o.scale.unwrap_or(10),
        quiesce: o.quiesce,
        slow_start: !o.no_slow_start,
        adjust: o.adjust.map_or(crate::state::ADJUST_PERIOD, Secs::duration),
        on_up,
        on_down,
        load: o.load.clone(),
        check,
        route: match (o.via_mark, o.vip) {
            (Some(mark), Some(vip)) => Route::Via { vip: SocketAddr::new(vip, o.port), mark },
            _ => Route::Direct,
        },
        mode: o.mode,
        alive: o.alive.map_or(interval, Secs::duration),
        verbose: o.verbose,
        notes,
    })
}

/// The check the options choose.
fn check(
    o: &NannyOptions,
    rport: u16,
    agent_argv: &dyn Fn(&str) -> Result<Vec<OsString>, ArgsError>,
    notes: &mut Vec<String>,
) -> Result<Check, ArgsError> {
    let text = |s: &str, suppress: bool| if suppress { s.as_bytes().to_vec() } else { unescape(s) };
    let tls_of = |t: &Option<TlsOptions>| -> Result<Option<Tls>, ArgsError> {
        t.as_ref()
            .map(|t| {
                let config =
                    crate::tls::client_config().map_err(|e| bad("--tls", "", e.to_string()))?;
                Ok(Tls { config, name: t.name.clone() })
            })
            .transpose()
    };
    Ok(match &o.check {
        CheckOptions::Program { command, expect, suppress } => {
            // piranha splits on spaces and replaces %h and %p; no shell.
            let ipstr = o.server.to_string();
            let argv: Vec<OsString> = command
                .split_whitespace()
                .map(|t| t.replace("%h", &ipstr).replace("%p", &rport.to_string()).into())
                .collect();
            if argv.is_empty() {
                return Err(bad("--send_program", command, "empty command"));
            }
            match expect.as_deref() {
                Some(x) => Check::Program { argv, expect: Some(text(x, *suppress)) },
                None => {
                    notes.push(
                        "send_program without an expect string (-x): piranha's nanny never counts such a check as up, nor does this one (--agent judges by the exit status)"
                            .into(),
                    );
                    Check::ProgramNoExpect { argv }
                }
            }
        }
        CheckOptions::Agent { command } => {
            Check::Program { argv: agent_argv(command)?, expect: None }
        }
        CheckOptions::AlwaysUp => Check::None,
        CheckOptions::Dns { name, record } => {
            let q = crate::dns_probe::DnsQuery::new(name, record.as_deref())
                .map_err(|why| bad("--dns", name, why))?;
            Check::Dns(q)
        }
        CheckOptions::Ping { count } => Check::Ping {
            count: count.unwrap_or(DEFAULT_PING_COUNT),
            socket: crate::ping::Shared::default(),
        },
        CheckOptions::Http { path, host, status, body, tls } => {
            let statuses = match status {
                Some(v) => parse_statuses(v).map_err(|why| bad("--http-status", v, why))?,
                None => vec![(200, 200)],
            };
            let body = body
                .as_deref()
                .map(|v| Regex::new(v).map_err(|e| bad("--http-body", v, e.to_string())))
                .transpose()?;
            let host = host.clone().unwrap_or_else(|| match o.vip.unwrap_or(o.server) {
                IpAddr::V6(a) => format!("[{a}]"),
                a => a.to_string(),
            });
            Check::Http {
                path: path.clone().unwrap_or_else(|| "/".into()),
                host,
                statuses,
                body,
                tls: tls_of(tls)?,
            }
        }
        CheckOptions::Stream { send, expect, regex, suppress, tls } => {
            let expect = expect
                .as_deref()
                .map(|s| -> Result<Expect, ArgsError> {
                    if *regex {
                        let pat = String::from_utf8_lossy(&text(s, *suppress)).into_owned();
                        let re = Regex::new(&pat).map_err(|e| bad("--regex", s, e.to_string()))?;
                        Ok(Expect::Regex(re))
                    } else {
                        Ok(Expect::literal(&text(s, *suppress)))
                    }
                })
                .transpose()?;
            let send_bytes = send.as_deref().map(|s| text(s, *suppress));
            if o.udp {
                Check::Udp { send: send_bytes.unwrap_or_default(), expect }
            } else if send.is_some() || expect.is_some() {
                Check::SendExpect {
                    send: send_bytes.unwrap_or_default(),
                    expect,
                    tls: tls_of(tls)?,
                }
            } else if o.port == 80 && tls.is_none() {
                notes.push("no monitor configured, assuming web service on port 80".into());
                Check::SendExpect {
                    send: b"GET / HTTP/1.0\r\n\r\n".to_vec(),
                    expect: Some(Expect::literal(b"HTTP")),
                    tls: None,
                }
            } else {
                Check::Connect { tls: tls_of(tls)? }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Config {
        match parse(args.iter().copied()).unwrap() {
            Parsed::Run(c) => *c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_argv_piranha_lvsd_builds() {
        let c = run(nanny_api::PIRANHA_LVSD_ARGV);
        assert_eq!(c.server, "192.168.1.10:8080".parse().unwrap());
        assert_eq!(c.vport, 80);
        assert_eq!(c.interval, Duration::from_secs(6));
        assert_eq!(c.timeout, Duration::from_secs(6));
        assert_eq!(c.reentry, Duration::from_secs(15));
        assert_eq!(c.weight, 5);
        assert!(c.quiesce);
        assert_eq!(c.method, Method::Gatewaying);
        assert_eq!(c.load, None);
        assert_eq!(c.mode, Mode::Ipvs);
        match c.check {
            Check::SendExpect { send, expect: Some(Expect::Literal(e)), tls: None } => {
                assert_eq!(send, b"GET / HTTP/1.0\r\n\r\n");
                assert_eq!(e.len(), 4);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn long_forms_and_defaults() {
        let c = run(&["--server=10.0.0.2", "--port=443", "--reentrytime=0", "--interval=2.5"]);
        assert_eq!(c.server.port(), 443);
        assert_eq!(c.reentry, Duration::from_secs(180));
        assert_eq!(c.interval, Duration::from_millis(2500));
        assert!(matches!(c.check, Check::Connect { tls: None }));
        // Port 80 without a monitor: piranha's default web check.
        let c = run(&["-h", "10.0.0.2"]);
        assert!(matches!(c.check, Check::SendExpect { .. }));
        assert_eq!(c.notes.len(), 1);
    }

    #[test]
    fn programs_and_agents() {
        let c = run(&["-h", "10.0.0.2", "-p", "25", "-e", "/bin/check %h  %p", "-x", "OK"]);
        match c.check {
            Check::Program { argv, expect } => {
                assert_eq!(argv, ["/bin/check", "10.0.0.2", "25"].map(OsString::from));
                assert_eq!(expect.as_deref(), Some(&b"OK"[..]));
            }
            other => panic!("{other:?}"),
        }
        // piranha: send_program without expect never succeeds (issue 17).
        let c = run(&["-h", "10.0.0.2", "-p", "25", "-e", "/bin/check %h"]);
        assert!(matches!(c.check, Check::ProgramNoExpect { .. }), "{:?}", c.check);
        assert!(c.notes.iter().any(|n| n.contains("never counts")), "{:?}", c.notes);
        let c = run(&[
            "-h",
            "10.0.0.2",
            "-p",
            "53",
            "-u",
            "--agent",
            "/usr/bin/dnsAgent",
            "--agent-down=/usr/bin/restart -f",
        ]);
        assert_eq!(
            c.on_down.as_deref(),
            Some(&["/usr/bin/restart", "-f", "10.0.0.2", "53", "2"].map(OsString::from)[..])
        );
        match c.check {
            Check::Program { argv, expect: None } => {
                assert_eq!(argv, ["/usr/bin/dnsAgent", "10.0.0.2", "53", "2"].map(OsString::from));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors() {
        assert!(matches!(parse(["-p", "80"]), Err(ArgsError::NoAddress)));
        let e = parse(["-h", "www.example.com"]).unwrap_err();
        assert_eq!(e.to_string(), "bad IP address -- www.example.com");
        assert!(matches!(parse(["-h", "10.0.0.1", "--fos"]), Err(ArgsError::Fos)));
        assert!(parse(["-h", "10.0.0.1", "-t", "0"]).is_err());
        assert!(parse(["-h", "10.0.0.1", "-x", "(", "--regex"]).is_err());
        assert!(parse(["-h", "10.0.0.1", "--bogus"]).is_err());
        assert!(parse(["-h", "10.0.0.1", "-U", "finger"]).is_err());
        assert!(parse(["-h", "10.0.0.1", "--http", "-e", "x"]).is_err());
        assert!(matches!(parse(["--version"]).unwrap(), Parsed::Version));
    }

    #[test]
    fn ping() {
        let c = run(&["-h", "fd00::2", "-p", "80", "--ping", "--timeout", "0.5"]);
        assert!(matches!(c.check, Check::Ping { count: DEFAULT_PING_COUNT, .. }), "{:?}", c.check);
        assert!(c.notes.is_empty());
        let c = run(&["-h", "10.0.0.2", "-u", "--ping-count=1"]);
        assert!(matches!(c.check, Check::Ping { count: 1, .. }));
        assert!(parse(["-h", "10.0.0.2", "--ping-count", "0"]).is_err());
        assert!(parse(["-h", "10.0.0.2", "--ping-count", "101"]).is_err());
        assert!(parse(["-h", "10.0.0.2", "--ping", "--http"]).is_err());
        assert!(parse(["-h", "10.0.0.2", "--ping", "-x", "HTTP"]).is_err());
    }

    #[test]
    fn dns() {
        let c = run(&[
            "-h",
            "10.0.0.2",
            "-p",
            "53",
            "-u",
            "--dns",
            "www.example.com",
            "--dns-record=aaaa",
        ]);
        match c.check {
            Check::Dns(q) => {
                assert_eq!((q.qtype, q.want), (28, Some(28)));
                assert_eq!(q.name, "www.example.com");
            }
            other => panic!("{other:?}"),
        }
        let c = run(&["-h", "10.0.0.2", "-p", "53", "--dns=."]);
        assert!(matches!(c.check, Check::Dns(q) if q.want.is_none() && q.qtype == 1));
        assert!(parse(["-h", "10.0.0.2", "--dns", "a..b"]).is_err());
        assert!(parse(["-h", "10.0.0.2", "--dns", "a", "--dns-record", "AXFR"]).is_err());
        assert!(parse(["-h", "10.0.0.2", "--dns-record", "A"]).is_err());
        assert!(parse(["-h", "10.0.0.2", "--dns", "a", "--ping"]).is_err());
    }

    #[test]
    fn http_and_tls() {
        let c = run(&[
            "-h",
            "fd00::2",
            "-p",
            "443",
            "--http-path=/health",
            "--tls",
            "--http-status=200",
        ]);
        match c.check {
            Check::Http { path, host, statuses, tls: Some(_), .. } => {
                assert_eq!(path, "/health");
                assert_eq!(host, "[fd00::2]");
                assert_eq!(statuses, vec![(200, 200)]);
            }
            other => panic!("{other:?}"),
        }
    }
}
