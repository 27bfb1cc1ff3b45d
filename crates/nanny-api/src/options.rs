//! nanny's command line as a typed value: piranha nanny's options (piranha
//! 0.8.6 popt table) plus our own long options. `to_args` writes it (lvsd,
//! pulse), `from_args` reads it (nanny), and `from_args(to_args(o)) == o`.
//!
//! The value keeps what the command line says; what nanny makes of it
//! (defaults, escapes, the check's sockets, regexes, TLS) is nanny's
//! `args` module. Options that change nothing where they are given (`-I`,
//! `-n`, `-c`, `--lvs`, `-T` or `--regex` for a check without text, a
//! `--tls-name` without `--tls`) are accepted and not kept.

use std::ffi::OsString;
use std::net::IpAddr;
use std::time::Duration;

use crate::load::LoadCmd;

/// Echo requests per `--ping` check unless `--ping-count` says otherwise:
/// one lost datagram alone does not fail a check.
pub const DEFAULT_PING_COUNT: u16 = 3;
/// Most echo requests per check.
pub const MAX_PING_COUNT: u16 = 100;

/// The command line piranha's lvsd writes for a nanny (piranha 0.8.6
/// `lvs.c`, an HTTP service with `send`/`expect`, quiesce, gatewaying),
/// kept here once for the tests that this form still reads as it always
/// has, in this crate and in nanny.
pub const PIRANHA_LVSD_ARGV: &[&str] = &[
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
];

/// A number of seconds as the command line writes it: a duration, and
/// whether a whole number of seconds is written with three decimals
/// (`10.000`, as pulse writes them) or without (`10`, as lvsd does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Secs {
    d: Duration,
    decimals: bool,
}

impl Secs {
    /// `d`, written as short as it can be (`3`, `2.500`).
    pub fn new(d: Duration) -> Secs {
        Secs { d, decimals: false }
    }

    /// `d`, written with decimals (`3.000`).
    pub fn with_decimals(d: Duration) -> Secs {
        Secs { d, decimals: d.subsec_nanos() == 0 }
    }

    /// The duration.
    pub fn duration(self) -> Duration {
        self.d
    }

    fn text(self) -> String {
        let (s, ns) = (self.d.as_secs(), self.d.subsec_nanos());
        if ns == 0 && !self.decimals {
            s.to_string()
        } else if ns % 1_000_000 == 0 {
            format!("{s}.{:03}", ns / 1_000_000)
        } else {
            format!("{s}.{ns:09}")
        }
    }

    /// Reads seconds: a decimal number to the nanosecond, or any other
    /// form Rust reads as a float (`1e1`), from 0 to a year.
    fn parse(option: &str, v: &str) -> Result<Secs, ArgsError> {
        let t = v.trim();
        let d = match exact_decimal(t) {
            Some(d) => d,
            None => {
                let f: f64 = t.parse().map_err(|_| bad(option, v, "not a number of seconds"))?;
                if !(0.0..=86_400.0 * 365.0).contains(&f) {
                    return Err(bad(option, v, "out of range"));
                }
                Duration::from_secs_f64(f)
            }
        };
        if d > Duration::from_secs(86_400 * 365) {
            return Err(bad(option, v, "out of range"));
        }
        Ok(if t.contains('.') { Secs::with_decimals(d) } else { Secs::new(d) })
    }
}

/// `DIGITS[.DIGITS]` or `.DIGITS`, read exactly (digits past the ninth
/// decimal are dropped); `None` for any other text.
fn exact_decimal(t: &str) -> Option<Duration> {
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || int.len() > 12
    {
        return None;
    }
    let secs: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut nanos = 0u32;
    for (i, b) in frac.bytes().take(9).enumerate() {
        nanos += u32::from(b - b'0') * 10u32.pow(8 - i as u32);
    }
    Some(Duration::new(secs, nanos))
}

/// Forwarding method for standalone mode (`-M`): what `-M` can say.
///
/// An edge type: `ipvs::ForwardMethod` is the workspace's one forwarding
/// method, but this crate does not depend on `ipvs`, so that pulse (which
/// writes nanny command lines and may not build `ipvs`, `tests/tests/deps.rs`)
/// does not either. It is read and written only as `-M`; nanny turns it into
/// `ipvs::ForwardMethod` in one place (`nanny::kernel::forward`), where it
/// talks to the kernel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Method {
    /// NAT (`-M m`, the default).
    #[default]
    Masquerade,
    /// Direct routing (`-M g`).
    Gatewaying,
    /// IP-in-IP tunnel (`-M i`).
    Tunnel,
}

/// `--tls` and its SNI name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// `--tls-name`: the SNI name to send.
    pub name: Option<String>,
}

/// The check, as the command line chooses it (the options of one kind
/// exclude those of the others).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOptions {
    /// A stream check: send/expect (`-s`, `-x`, `--regex`; UDP with `-u`),
    /// else a TCP connect or, on port 80, piranha's default web check.
    Stream {
        /// `-s`.
        send: Option<String>,
        /// `-x`.
        expect: Option<String>,
        /// `--regex`: `expect` is a regular expression.
        regex: bool,
        /// `-T`: the texts are not unescaped.
        suppress: bool,
        /// `--tls`.
        tls: Option<TlsOptions>,
    },
    /// `-e CMD` (piranha's send_program), with `-x`.
    Program {
        /// The command, `%h`/`%p` not yet replaced.
        command: String,
        /// `-x`.
        expect: Option<String>,
        /// `-T`.
        suppress: bool,
    },
    /// `--agent CMD` (Turbolinux).
    Agent {
        /// The command.
        command: String,
    },
    /// `--http`, `--http-path`, `--http-host`, `--http-status`, `--http-body`.
    Http {
        /// `--http-path` (`None`: `--http` alone).
        path: Option<String>,
        /// `--http-host`.
        host: Option<String>,
        /// `--http-status`, as written (`200,301-302`).
        status: Option<String>,
        /// `--http-body`.
        body: Option<String>,
        /// `--tls`.
        tls: Option<TlsOptions>,
    },
    /// `--always-up`.
    AlwaysUp,
    /// `--ping` (`None`) or `--ping-count N`.
    Ping {
        /// Echo requests per check.
        count: Option<u16>,
    },
    /// `--dns NAME`, `--dns-record TYPE`.
    Dns {
        /// The name asked.
        name: String,
        /// The record type the answer must hold.
        record: Option<String>,
    },
}

impl CheckOptions {
    /// A send/expect check (a bare connect without texts) whose texts are
    /// already decoded, as a configuration holds them: `-T` with any text,
    /// so that nanny does not decode them again.
    pub fn decoded_stream(send: Option<String>, expect: Option<String>, regex: bool) -> Self {
        let suppress = send.is_some() || expect.is_some();
        CheckOptions::Stream { send, expect, regex, suppress, tls: None }
    }

    /// A send_program check whose expect text is already decoded (`-T`).
    pub fn decoded_program(command: String, expect: Option<String>) -> Self {
        let suppress = expect.is_some();
        CheckOptions::Program { command, expect, suppress }
    }
}

impl Default for CheckOptions {
    fn default() -> CheckOptions {
        CheckOptions::Stream { send: None, expect: None, regex: false, suppress: false, tls: None }
    }
}

/// Where decisions go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// Report to lvsd on stdout with the line protocol (`--report`).
    Report,
    /// Apply to the kernel IPVS table (the default: run by hand).
    #[default]
    Ipvs,
    /// Change nothing, only log (`--norun`, `--test-start`).
    NoRun,
}

/// nanny's command line. `None` and `false` mean "not given": nanny's
/// default applies (in brackets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NannyOptions {
    /// `-h`: the real server's address (required).
    pub server: IpAddr,
    /// `-p`: the virtual port [80].
    pub port: u16,
    /// `-r`: the real server's port [= port].
    pub rport: Option<u16>,
    /// `-f`: fwmark service, 0 for none.
    pub fwmark: u32,
    /// `-u`: UDP service.
    pub udp: bool,
    /// The check.
    pub check: CheckOptions,
    /// `--agent-up`: run when the server comes up.
    pub agent_up: Option<String>,
    /// `--agent-down`: run when the server goes down.
    pub agent_down: Option<String>,
    /// `-V`: the virtual address.
    pub vip: Option<IpAddr>,
    /// `--via-mark`: send the probe to the virtual address and port
    /// (`-V`, `-p`) with this firewall mark (`SO_MARK`), which selects
    /// lvsd's private IPVS service holding only this real server: the
    /// check goes through the data path (a `connect`, `http` or `dns`
    /// check only).
    pub via_mark: Option<u32>,
    /// `-M`: forwarding method in standalone mode [masquerading].
    pub method: Method,
    /// `-t`: time between checks [10].
    pub interval: Option<Secs>,
    /// `--timeout`: bound on one check [= interval].
    pub timeout: Option<Secs>,
    /// `-a`: continuous success before re-admission [0 = 180].
    pub reentry: Option<Secs>,
    /// `--retries`: failed checks tolerated [0].
    pub retries: Option<u32>,
    /// `-w`: base weight [1].
    pub weight: Option<u32>,
    /// `-S`: load adjustment ceiling multiplier [10].
    pub scale: Option<u32>,
    /// `-q`: quiesce instead of remove.
    pub quiesce: bool,
    /// `--no-slow-start`.
    pub no_slow_start: bool,
    /// `--adjust`: slow start / load adjustment period [20].
    pub adjust: Option<Secs>,
    /// `-U` / `--load-program`: load probe.
    pub load: Option<LoadCmd>,
    /// `--alive`: liveness period in report mode [= interval].
    pub alive: Option<Secs>,
    /// Where decisions go.
    pub mode: Mode,
    /// `-v`.
    pub verbose: bool,
}

/// What a command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// Run a nanny.
    Run(Box<NannyOptions>),
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

/// A [`ArgsError::BadValue`].
pub(crate) fn bad(option: &str, value: &str, why: impl Into<String>) -> ArgsError {
    ArgsError::BadValue { option: option.into(), value: value.into(), why: why.into() }
}

fn num<T: std::str::FromStr>(option: &str, v: &str) -> Result<T, ArgsError> {
    v.trim().parse().map_err(|_| bad(option, v, "not a valid number"))
}

fn ip(v: &str) -> Result<IpAddr, ArgsError> {
    v.trim().parse().map_err(|_| ArgsError::BadIp(v.to_string()))
}

fn value(p: &mut lexopt::Parser) -> Result<String, ArgsError> {
    use lexopt::ValueExt as _;
    Ok(p.value()?.string()?)
}

fn positive(option: &str, v: &str) -> Result<Secs, ArgsError> {
    let s = Secs::parse(option, v)?;
    if s.duration().is_zero() {
        return Err(bad(option, v, "must be more than 0"));
    }
    Ok(s)
}

impl NannyOptions {
    /// The options of a nanny checking `server`, every other option not given.
    pub fn new(server: IpAddr) -> NannyOptions {
        NannyOptions {
            server,
            port: 80,
            rport: None,
            fwmark: 0,
            udp: false,
            check: CheckOptions::default(),
            agent_up: None,
            agent_down: None,
            vip: None,
            via_mark: None,
            method: Method::Masquerade,
            interval: None,
            timeout: None,
            reentry: None,
            retries: None,
            weight: None,
            scale: None,
            quiesce: false,
            no_slow_start: false,
            adjust: None,
            load: None,
            alive: None,
            mode: Mode::Ipvs,
            verbose: false,
        }
    }

    /// The command line (without the program name), in the order lvsd and
    /// pulse have always written it.
    pub fn to_args(&self) -> Vec<String> {
        let mut a: Vec<String> = vec!["-h".into(), self.server.to_string()];
        let opt = |a: &mut Vec<String>, o: &str, v: Option<String>| {
            if let Some(v) = v {
                a.extend([o.to_string(), v]);
            }
        };
        a.extend(["-p".into(), self.port.to_string()]);
        opt(&mut a, "-r", self.rport.map(|p| p.to_string()));
        opt(&mut a, "-f", (self.fwmark != 0).then(|| self.fwmark.to_string()));
        if self.udp {
            a.push("-u".into());
        }
        let tls = |a: &mut Vec<String>, t: &Option<TlsOptions>| {
            if let Some(t) = t {
                a.push("--tls".into());
                if let Some(n) = &t.name {
                    a.extend(["--tls-name".into(), n.clone()]);
                }
            }
        };
        match &self.check {
            CheckOptions::Stream { send, expect, regex, suppress, tls: t } => {
                if *suppress {
                    a.push("-T".into());
                }
                opt(&mut a, "-s", send.clone());
                opt(&mut a, "-x", expect.clone());
                if *regex {
                    a.push("--regex".into());
                }
                tls(&mut a, t);
            }
            CheckOptions::Program { command, expect, suppress } => {
                a.extend(["-e".into(), command.clone()]);
                if *suppress {
                    a.push("-T".into());
                }
                opt(&mut a, "-x", expect.clone());
            }
            CheckOptions::Agent { command } => a.extend(["--agent".into(), command.clone()]),
            CheckOptions::Http { path, host, status, body, tls: t } => {
                match path {
                    Some(p) => a.extend(["--http-path".into(), p.clone()]),
                    None => a.push("--http".into()),
                }
                opt(&mut a, "--http-host", host.clone());
                opt(&mut a, "--http-status", status.clone());
                opt(&mut a, "--http-body", body.clone());
                tls(&mut a, t);
            }
            CheckOptions::AlwaysUp => a.push("--always-up".into()),
            CheckOptions::Ping { count: None } => a.push("--ping".into()),
            CheckOptions::Ping { count: Some(n) } => {
                a.extend(["--ping-count".into(), n.to_string()]);
            }
            CheckOptions::Dns { name, record } => {
                a.extend(["--dns".into(), name.clone()]);
                opt(&mut a, "--dns-record", record.clone());
            }
        }
        opt(&mut a, "--agent-up", self.agent_up.clone());
        opt(&mut a, "--agent-down", self.agent_down.clone());
        opt(&mut a, "-V", self.vip.map(|v| v.to_string()));
        opt(&mut a, "--via-mark", self.via_mark.map(|m| m.to_string()));
        opt(
            &mut a,
            "-M",
            match self.method {
                Method::Gatewaying => Some("g".into()),
                Method::Tunnel => Some("i".into()),
                Method::Masquerade => None,
            },
        );
        let secs = |s: Option<Secs>| s.map(Secs::text);
        opt(&mut a, "-t", secs(self.interval));
        opt(&mut a, "--timeout", secs(self.timeout));
        opt(&mut a, "-a", secs(self.reentry));
        opt(&mut a, "--retries", self.retries.map(|n| n.to_string()));
        opt(&mut a, "-w", self.weight.map(|n| n.to_string()));
        opt(&mut a, "-S", self.scale.map(|n| n.to_string()));
        if self.quiesce {
            a.push("-q".into());
        }
        if self.no_slow_start {
            a.push("--no-slow-start".into());
        }
        opt(&mut a, "--adjust", secs(self.adjust));
        if let Some(l) = &self.load {
            a.extend(l.args());
        }
        opt(&mut a, "--alive", secs(self.alive));
        match self.mode {
            Mode::Report => a.push("--report".into()),
            Mode::NoRun => a.push("--norun".into()),
            Mode::Ipvs => {}
        }
        if self.verbose {
            a.push("-v".into());
        }
        a
    }

    /// Reads a command line (without the program name).
    ///
    /// # Errors
    /// An unknown option, a bad value, options that exclude each other,
    /// no `-h`, or `--fos`.
    pub fn from_args<I>(args: I) -> Result<Invocation, ArgsError>
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        read::Raw::read(args)
    }
}

mod read;
#[cfg(test)]
mod tests;
