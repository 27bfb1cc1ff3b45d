//! Command line: piranha nanny's options (piranha 0.8.6 popt table) plus our
//! own long options. Pure: turns argv into a [`Config`] without IO.

use std::ffi::OsString;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use regex::bytes::Regex;

use crate::http::parse_statuses;
use crate::load::LoadCmd;
use crate::matcher::{unescape, Expect};
use crate::probe::{Check, Tls};

/// Forwarding method for standalone mode (`-M`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// NAT (`-m`).
    Masquerade,
    /// Direct routing (`-g`).
    Gatewaying,
    /// IP-in-IP tunnel (`-i`).
    Tunnel,
}

/// Where decisions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Report to lvsd on stdout with the line protocol (`--report`).
    Report,
    /// Apply to the kernel IPVS table (the default: run by hand).
    Ipvs,
    /// Change nothing, only log (`--norun`, `--test-start`).
    NoRun,
}

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

/// A bad command line. Messages follow piranha's where it has one.
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    /// No `-h`.
    #[error("No address supplied (use -h)")]
    NoAddress,
    /// `-h`/`-V` is not an IP address.
    #[error("bad IP address -- {0}")]
    BadIp(String),
    /// A value is not valid for its option.
    #[error("bad value {value:?} for {option}: {why}")]
    BadValue {
        /// The option.
        option: String,
        /// The value.
        value: String,
        /// Why.
        why: String,
    },
    /// lexopt's complaint (unknown option, missing value...).
    #[error("{0}")]
    Lexopt(#[from] lexopt::Error),
    /// `--fos` given.
    #[error("--fos (failover services) is not supported by this nanny")]
    Fos,
    /// Two options that exclude each other.
    #[error("{0}")]
    Conflict(String),
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
      --load-program=PROG  load probe: PROG RIP, prints a load average
";

fn bad(option: &str, value: &str, why: impl Into<String>) -> ArgsError {
    ArgsError::BadValue { option: option.into(), value: value.into(), why: why.into() }
}

fn secs(option: &str, v: &str) -> Result<Duration, ArgsError> {
    let f: f64 = v.trim().parse().map_err(|_| bad(option, v, "not a number of seconds"))?;
    if !(0.0..=86_400.0 * 365.0).contains(&f) {
        return Err(bad(option, v, "out of range"));
    }
    Ok(Duration::from_secs_f64(f))
}

fn num<T: std::str::FromStr>(option: &str, v: &str) -> Result<T, ArgsError> {
    v.trim().parse().map_err(|_| bad(option, v, "not a valid number"))
}

fn ip(v: &str) -> Result<IpAddr, ArgsError> {
    v.trim().parse().map_err(|_| ArgsError::BadIp(v.to_string()))
}

/// Parses argv (without the program name).
pub fn parse<I>(args: I) -> Result<Parsed, ArgsError>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_args(args);
    let mut server = None;
    let mut vip = None;
    let mut port: u16 = 80;
    let mut rport: Option<u16> = None;
    let mut fwmark = 0u32;
    let mut udp = false;
    let mut method = Method::Masquerade;
    let mut interval = Duration::from_secs(10);
    let mut timeout = None;
    let mut reentry = Duration::ZERO;
    let mut retries = 0u32;
    let mut weight = 1u32;
    let mut scale = 10u32;
    let mut quiesce = false;
    let mut slow_start = true;
    let mut adjust = crate::state::ADJUST_PERIOD;
    let mut load = None;
    let mut program = None;
    let mut send = None;
    let mut expect = None;
    let mut regex = false;
    let mut suppress = false;
    let mut mode = Mode::Ipvs;
    let mut alive = None;
    let mut verbose = false;
    let mut http = false;
    let mut http_path = None;
    let mut http_host = None;
    let mut http_status = None;
    let mut http_body = None;
    let mut tls = false;
    let mut tls_name = None;
    let mut agent = None;
    let mut agent_up = None;
    let mut agent_down = None;
    let mut always_up = false;
    let mut fos = false;
    while let Some(arg) = p.next()? {
        let name = match &arg {
            Short(c) => format!("-{c}"),
            Long(l) => format!("--{l}"),
            Value(v) => {
                return Err(ArgsError::Lexopt(lexopt::Error::UnexpectedArgument(v.clone())));
            }
        };
        match arg {
            Short('h') | Long("server") => server = Some(ip(&p.value()?.string()?)?),
            Short('V') | Long("virtaddress") => vip = Some(ip(&p.value()?.string()?)?),
            Short('p') | Long("port") => port = num(&name, &p.value()?.string()?)?,
            Short('r') | Long("rport") => rport = Some(num(&name, &p.value()?.string()?)?),
            Short('f') | Long("fwmark") => fwmark = num(&name, &p.value()?.string()?)?,
            Short('u') | Long("udp") | Long("UDP") => udp = true,
            Short('M') | Long("method") => {
                let v = p.value()?.string()?;
                method = match v.trim_start_matches('-') {
                    "i" => Method::Tunnel,
                    "g" => Method::Gatewaying,
                    // piranha maps everything else, `t` included, to -m.
                    _ => Method::Masquerade,
                };
            }
            Short('t') | Long("interval") => {
                let v = p.value()?.string()?;
                interval = secs(&name, &v)?;
                if interval.is_zero() {
                    return Err(bad(&name, &v, "must be more than 0"));
                }
            }
            Long("timeout") => {
                let v = p.value()?.string()?;
                let t = secs(&name, &v)?;
                if t.is_zero() {
                    return Err(bad(&name, &v, "must be more than 0"));
                }
                timeout = Some(t);
            }
            Short('a') | Long("reentrytime") => reentry = secs(&name, &p.value()?.string()?)?,
            Long("retries") => retries = num(&name, &p.value()?.string()?)?,
            Short('w') | Long("weight") => weight = num(&name, &p.value()?.string()?)?,
            Short('S') | Long("scale") => scale = num(&name, &p.value()?.string()?)?,
            Short('q') | Long("quiesce_server") | Long("quiesce-server") => quiesce = true,
            Long("no-slow-start") => slow_start = false,
            Long("adjust") => {
                let v = p.value()?.string()?;
                adjust = secs(&name, &v)?;
                if adjust.is_zero() {
                    return Err(bad(&name, &v, "must be more than 0"));
                }
            }
            Short('U') | Long("loadcmd") => {
                let v = p.value()?.string()?;
                load = LoadCmd::parse(&v).map_err(|why| bad(&name, &v, why))?;
            }
            Long("load-program") => load = Some(LoadCmd::Program(p.value()?.string()?)),
            Short('e') | Long("send_program") => program = Some(p.value()?.string()?),
            Short('s') | Long("send_string") | Long("send_str") => {
                send = Some(p.value()?.string()?)
            }
            Short('x') | Long("expect_string") | Long("expect_str") => {
                expect = Some(p.value()?.string()?)
            }
            Long("regex") => regex = true,
            Short('T') | Long("suppress") => suppress = true,
            Short('v') | Long("verbose") => verbose = true,
            Short('I') | Long("ipvsadm") => {
                p.value()?;
            }
            Short('n') | Long("nodaemon") | Short('c') | Long("nofork") => {}
            Long("test-start") | Long("norun") => mode = Mode::NoRun,
            Long("report") => mode = Mode::Report,
            Long("alive") => {
                let v = p.value()?.string()?;
                let a = secs(&name, &v)?;
                if a.is_zero() {
                    return Err(bad(&name, &v, "must be more than 0"));
                }
                alive = Some(a);
            }
            Long("lvs") => {}
            Long("fos") => fos = true,
            Long("http") => http = true,
            Long("http-path") => http_path = Some(p.value()?.string()?),
            Long("http-host") => http_host = Some(p.value()?.string()?),
            Long("http-status") => {
                let v = p.value()?.string()?;
                http_status = Some(parse_statuses(&v).map_err(|why| bad(&name, &v, why))?);
            }
            Long("http-body") => {
                let v = p.value()?.string()?;
                http_body = Some(Regex::new(&v).map_err(|e| bad(&name, &v, e.to_string()))?);
            }
            Long("tls") => tls = true,
            Long("tls-name") => tls_name = Some(p.value()?.string()?),
            Long("agent") => agent = Some(p.value()?.string()?),
            Long("agent-up") => agent_up = Some(p.value()?.string()?),
            Long("agent-down") => agent_down = Some(p.value()?.string()?),
            Long("always-up") => always_up = true,
            Long("help") => return Ok(Parsed::Help),
            Long("version") => return Ok(Parsed::Version),
            _ => return Err(arg.unexpected().into()),
        }
    }
    if fos {
        return Err(ArgsError::Fos);
    }
    let server_ip = server.ok_or(ArgsError::NoAddress)?;
    let rport = rport.unwrap_or(port);
    let server = SocketAddr::new(server_ip, rport);
    if reentry.is_zero() {
        reentry = Duration::from_secs(180);
    }
    let text = |s: &str| if suppress { s.as_bytes().to_vec() } else { unescape(s) };
    let expect_of = |s: &str| -> Result<Expect, ArgsError> {
        if regex {
            let pat = String::from_utf8_lossy(&text(s)).into_owned();
            Ok(Expect::Regex(Regex::new(&pat).map_err(|e| bad("--regex", s, e.to_string()))?))
        } else {
            Ok(Expect::literal(&text(s)))
        }
    };
    let http = http
        || http_path.is_some()
        || http_host.is_some()
        || http_status.is_some()
        || http_body.is_some();
    let tls_cfg = if tls {
        let config = crate::tls::client_config().map_err(|e| bad("--tls", "", e.to_string()))?;
        Some(Tls { config, name: tls_name })
    } else {
        None
    };
    let mut notes = Vec::new();
    let exclusive =
        [program.is_some(), agent.is_some(), http, always_up].iter().filter(|b| **b).count();
    if exclusive > 1 {
        return Err(ArgsError::Conflict(
            "--send_program, --agent, --http and --always-up exclude each other".into(),
        ));
    }
    // Turbolinux calling convention: CMD IP PORT 1|2.
    let agent_argv = |cmd: &str| -> Result<Vec<OsString>, ArgsError> {
        let mut argv: Vec<OsString> = cmd.split_whitespace().map(OsString::from).collect();
        if argv.is_empty() {
            return Err(bad("--agent", cmd, "empty command"));
        }
        argv.push(server_ip.to_string().into());
        argv.push(rport.to_string().into());
        argv.push(if udp { "2" } else { "1" }.into());
        Ok(argv)
    };
    let agent_up = agent_up.as_deref().map(agent_argv).transpose()?;
    let agent_down = agent_down.as_deref().map(agent_argv).transpose()?;
    if (udp || program.is_some() || agent.is_some()) && tls {
        return Err(ArgsError::Conflict(
            "--tls needs a TCP connect, send/expect or HTTP check".into(),
        ));
    }
    let check = if let Some(cmd) = program {
        // piranha splits on spaces and replaces %h and %p; no shell.
        let ipstr = server_ip.to_string();
        let argv: Vec<OsString> = cmd
            .split_whitespace()
            .map(|t| t.replace("%h", &ipstr).replace("%p", &rport.to_string()).into())
            .collect();
        if argv.is_empty() {
            return Err(bad("--send_program", &cmd, "empty command"));
        }
        match expect.as_deref() {
            Some(x) => Check::Program { argv, expect: Some(text(x)) },
            None => {
                notes.push(
                    "send_program without an expect string (-x): piranha's nanny never counts such a check as up, nor does this one (--agent judges by the exit status)"
                        .into(),
                );
                Check::ProgramNoExpect { argv }
            }
        }
    } else if let Some(cmd) = agent {
        Check::Program { argv: agent_argv(&cmd)?, expect: None }
    } else if always_up {
        Check::None
    } else if udp {
        if http {
            return Err(ArgsError::Conflict("--http with --udp".into()));
        }
        Check::Udp {
            send: send.as_deref().map(text).unwrap_or_default(),
            expect: expect.as_deref().map(expect_of).transpose()?,
        }
    } else if http {
        let host = http_host.unwrap_or_else(|| match vip.unwrap_or(server_ip) {
            IpAddr::V6(a) => format!("[{a}]"),
            a => a.to_string(),
        });
        Check::Http {
            path: http_path.unwrap_or_else(|| "/".into()),
            host,
            statuses: http_status.unwrap_or_else(|| vec![(200, 200)]),
            body: http_body,
            tls: tls_cfg,
        }
    } else if send.is_some() || expect.is_some() {
        Check::SendExpect {
            send: send.as_deref().map(text).unwrap_or_default(),
            expect: expect.as_deref().map(expect_of).transpose()?,
            tls: tls_cfg,
        }
    } else if port == 80 && !tls {
        notes.push("no monitor configured, assuming web service on port 80".into());
        Check::SendExpect {
            send: b"GET / HTTP/1.0\r\n\r\n".to_vec(),
            expect: Some(Expect::literal(b"HTTP")),
            tls: None,
        }
    } else {
        Check::Connect { tls: tls_cfg }
    };
    Ok(Parsed::Run(Box::new(Config {
        server,
        vip,
        vport: port,
        fwmark,
        udp,
        method,
        interval,
        timeout: timeout.unwrap_or(interval),
        reentry,
        retries,
        weight,
        scale,
        quiesce,
        slow_start,
        adjust,
        on_up: agent_up,
        on_down: agent_down,
        load,
        check,
        mode,
        alive: alive.unwrap_or(interval),
        verbose,
        notes,
    })))
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
        let c = run(&[
            "-c",
            "-h",
            "192.168.1.10",
            "-p",
            "80",
            "-r",
            "8080",
            "-s",
            "GET / HTTP/1.0\\r\\n\\r\\n",
            "-x",
            "HTTP",
            "-q",
            "-a",
            "15",
            "-I",
            "/sbin/ipvsadm",
            "-t",
            "6",
            "-w",
            "5",
            "-V",
            "192.168.1.1",
            "-M",
            "g",
            "-U",
            "none",
            "--nodaemon",
            "--lvs",
        ]);
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
