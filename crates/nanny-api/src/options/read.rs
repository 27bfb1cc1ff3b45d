//! Reading a command line: every option as given (`Raw`), then the check
//! chosen and the options that exclude each other refused.

use std::ffi::OsString;
use std::net::IpAddr;

use super::{
    bad, ip, num, positive, value, ArgsError, CheckOptions, Invocation, Method, Mode, NannyOptions,
    Secs, TlsOptions, MAX_PING_COUNT,
};
use crate::load::LoadCmd;

/// Every option as given, before the check is chosen.
#[derive(Default)]
pub(super) struct Raw {
    server: Option<IpAddr>,
    vip: Option<IpAddr>,
    via_mark: Option<u32>,
    port: Option<u16>,
    rport: Option<u16>,
    fwmark: u32,
    udp: bool,
    method: Option<Method>,
    interval: Option<Secs>,
    timeout: Option<Secs>,
    reentry: Option<Secs>,
    retries: Option<u32>,
    weight: Option<u32>,
    scale: Option<u32>,
    quiesce: bool,
    no_slow_start: bool,
    adjust: Option<Secs>,
    load: Option<Option<LoadCmd>>,
    program: Option<String>,
    send: Option<String>,
    expect: Option<String>,
    regex: bool,
    suppress: bool,
    mode: Mode,
    alive: Option<Secs>,
    verbose: bool,
    http: bool,
    http_path: Option<String>,
    http_host: Option<String>,
    http_status: Option<String>,
    http_body: Option<String>,
    tls: bool,
    tls_name: Option<String>,
    agent: Option<String>,
    agent_up: Option<String>,
    agent_down: Option<String>,
    always_up: bool,
    ping: Option<Option<u16>>,
    dns_name: Option<String>,
    dns_record: Option<String>,
    fos: bool,
}

impl Raw {
    pub(super) fn read<I>(args: I) -> Result<Invocation, ArgsError>
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        use lexopt::prelude::*;
        let mut p = lexopt::Parser::from_args(args);
        let mut r = Raw::default();
        while let Some(arg) = p.next()? {
            let name = match &arg {
                Short(c) => format!("-{c}"),
                Long(l) => format!("--{l}"),
                Value(v) => {
                    return Err(ArgsError::Lexopt(lexopt::Error::UnexpectedArgument(v.clone())));
                }
            };
            match arg {
                Short('h') | Long("server") => r.server = Some(ip(&value(&mut p)?)?),
                Short('V') | Long("virtaddress") => r.vip = Some(ip(&value(&mut p)?)?),
                Long("via-mark") => r.via_mark = Some(num(&name, &value(&mut p)?)?),
                Short('p') | Long("port") => r.port = Some(num(&name, &value(&mut p)?)?),
                Short('r') | Long("rport") => r.rport = Some(num(&name, &value(&mut p)?)?),
                Short('f') | Long("fwmark") => r.fwmark = num(&name, &value(&mut p)?)?,
                Short('u') | Long("udp") | Long("UDP") => r.udp = true,
                Short('M') | Long("method") => {
                    r.method = Some(match value(&mut p)?.trim_start_matches('-') {
                        "i" => Method::Tunnel,
                        "g" => Method::Gatewaying,
                        // piranha maps everything else, `t` included, to -m.
                        _ => Method::Masquerade,
                    });
                }
                Short('t') | Long("interval") => {
                    r.interval = Some(positive(&name, &value(&mut p)?)?)
                }
                Long("timeout") => r.timeout = Some(positive(&name, &value(&mut p)?)?),
                Short('a') | Long("reentrytime") => {
                    r.reentry = Some(Secs::parse(&name, &value(&mut p)?)?);
                }
                Long("retries") => r.retries = Some(num(&name, &value(&mut p)?)?),
                Short('w') | Long("weight") => r.weight = Some(num(&name, &value(&mut p)?)?),
                Short('S') | Long("scale") => r.scale = Some(num(&name, &value(&mut p)?)?),
                Short('q') | Long("quiesce_server") | Long("quiesce-server") => r.quiesce = true,
                Long("no-slow-start") => r.no_slow_start = true,
                Long("adjust") => r.adjust = Some(positive(&name, &value(&mut p)?)?),
                Short('U') | Long("loadcmd") => {
                    let v = value(&mut p)?;
                    r.load = Some(LoadCmd::parse(&v).map_err(|why| bad(&name, &v, why))?);
                }
                Long("load-program") => r.load = Some(Some(LoadCmd::Program(value(&mut p)?))),
                Short('e') | Long("send_program") => r.program = Some(value(&mut p)?),
                Short('s') | Long("send_string") | Long("send_str") => {
                    r.send = Some(value(&mut p)?)
                }
                Short('x') | Long("expect_string") | Long("expect_str") => {
                    r.expect = Some(value(&mut p)?);
                }
                Long("regex") => r.regex = true,
                Short('T') | Long("suppress") => r.suppress = true,
                Short('v') | Long("verbose") => r.verbose = true,
                Short('I') | Long("ipvsadm") => {
                    value(&mut p)?;
                }
                Short('n') | Long("nodaemon") | Short('c') | Long("nofork") => {}
                Long("test-start") | Long("norun") => r.mode = Mode::NoRun,
                Long("report") => r.mode = Mode::Report,
                Long("alive") => r.alive = Some(positive(&name, &value(&mut p)?)?),
                Long("lvs") => {}
                Long("fos") => r.fos = true,
                Long("http") => r.http = true,
                Long("http-path") => r.http_path = Some(value(&mut p)?),
                Long("http-host") => r.http_host = Some(value(&mut p)?),
                Long("http-status") => r.http_status = Some(value(&mut p)?),
                Long("http-body") => r.http_body = Some(value(&mut p)?),
                Long("tls") => r.tls = true,
                Long("tls-name") => r.tls_name = Some(value(&mut p)?),
                Long("agent") => r.agent = Some(value(&mut p)?),
                Long("agent-up") => r.agent_up = Some(value(&mut p)?),
                Long("agent-down") => r.agent_down = Some(value(&mut p)?),
                Long("always-up") => r.always_up = true,
                Long("dns") => r.dns_name = Some(value(&mut p)?),
                Long("dns-record") => r.dns_record = Some(value(&mut p)?),
                Long("ping") => r.ping = Some(r.ping.flatten()),
                Long("ping-count") => {
                    let v = value(&mut p)?;
                    let n: u16 = num(&name, &v)?;
                    if !(1..=MAX_PING_COUNT).contains(&n) {
                        return Err(bad(&name, &v, format!("must be 1 to {MAX_PING_COUNT}")));
                    }
                    r.ping = Some(Some(n));
                }
                Long("help") => return Ok(Invocation::Help),
                Long("version") => return Ok(Invocation::Version),
                _ => return Err(arg.unexpected().into()),
            }
        }
        r.options().map(|o| Invocation::Run(Box::new(o)))
    }

    /// Chooses the check and refuses options that exclude each other.
    fn options(self) -> Result<NannyOptions, ArgsError> {
        if self.fos {
            return Err(ArgsError::Fos);
        }
        let server = self.server.ok_or(ArgsError::NoAddress)?;
        let http = self.http
            || self.http_path.is_some()
            || self.http_host.is_some()
            || self.http_status.is_some()
            || self.http_body.is_some();
        if self.dns_record.is_some() && self.dns_name.is_none() {
            return Err(ArgsError::Conflict("--dns-record needs --dns NAME".into()));
        }
        let dns = self.dns_name.is_some();
        let kinds = [
            self.program.is_some(),
            self.agent.is_some(),
            http,
            self.always_up,
            self.ping.is_some(),
            dns,
        ];
        if kinds.iter().filter(|b| **b).count() > 1 {
            return Err(ArgsError::Conflict(
                "--send_program, --agent, --http, --always-up, --ping and --dns exclude each other"
                    .into(),
            ));
        }
        if (self.ping.is_some() || dns)
            && (self.tls || self.send.is_some() || self.expect.is_some())
        {
            return Err(ArgsError::Conflict(
                "--ping and --dns make their own requests: no --tls, --send_string or --expect_string"
                    .into(),
            ));
        }
        if (self.udp || self.program.is_some() || self.agent.is_some()) && self.tls {
            return Err(ArgsError::Conflict(
                "--tls needs a TCP connect, send/expect or HTTP check".into(),
            ));
        }
        if self.udp && http {
            return Err(ArgsError::Conflict("--http with --udp".into()));
        }
        if self.via_mark.is_some() {
            if self.vip.is_none() {
                return Err(ArgsError::Conflict(
                    "--via-mark needs -V: the probe is sent to the virtual address".into(),
                ));
            }
            if self.program.is_some()
                || self.agent.is_some()
                || self.always_up
                || self.ping.is_some()
            {
                return Err(ArgsError::Conflict(
                    "--via-mark needs a connect, send/expect, HTTP or DNS check: programs, --always-up and --ping send nothing through IPVS"
                        .into(),
                ));
            }
        }
        let tls = self.tls.then(|| TlsOptions { name: self.tls_name.clone() });
        let check = if let Some(command) = self.program {
            CheckOptions::Program { command, expect: self.expect, suppress: self.suppress }
        } else if let Some(command) = self.agent {
            CheckOptions::Agent { command }
        } else if self.always_up {
            CheckOptions::AlwaysUp
        } else if let Some(name) = self.dns_name {
            CheckOptions::Dns { name, record: self.dns_record }
        } else if let Some(count) = self.ping {
            CheckOptions::Ping { count }
        } else if http {
            CheckOptions::Http {
                path: self.http_path,
                host: self.http_host,
                status: self.http_status,
                body: self.http_body,
                tls,
            }
        } else {
            CheckOptions::Stream {
                send: self.send,
                expect: self.expect,
                regex: self.regex,
                suppress: self.suppress,
                tls,
            }
        };
        Ok(NannyOptions {
            server,
            port: self.port.unwrap_or(80),
            rport: self.rport,
            fwmark: self.fwmark,
            udp: self.udp,
            check,
            agent_up: self.agent_up,
            agent_down: self.agent_down,
            vip: self.vip,
            via_mark: self.via_mark,
            method: self.method.unwrap_or_default(),
            interval: self.interval,
            timeout: self.timeout,
            reentry: self.reentry,
            retries: self.retries,
            weight: self.weight,
            scale: self.scale,
            quiesce: self.quiesce,
            no_slow_start: self.no_slow_start,
            adjust: self.adjust,
            load: self.load.flatten(),
            alive: self.alive,
            mode: self.mode,
            verbose: self.verbose,
        })
    }
}
