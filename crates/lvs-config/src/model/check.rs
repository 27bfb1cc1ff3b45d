//! How a real server or failover service is checked, and what a result
//! does (piranha's `send`/`expect`, `use_regex`, `load_monitor`, ...).

use serde::{Deserialize, Serialize};

use super::Millis;

/// How a service is checked, and what a result does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// The probe.
    #[serde(flatten)]
    pub kind: CheckKind,
    /// Time between checks (piranha `timeout`, default 10 s).
    #[serde(default = "default_interval")]
    pub interval: Millis,
    /// Limit on one check; absent means the interval, as piranha does
    /// (see [`HealthCheck::effective_timeout`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Millis>,
    /// How long a failed server must keep succeeding to return: it is
    /// re-admitted at the `reentry / interval`th check in a row that
    /// succeeds (at least one), as piranha counts (`reentry`, default 180 s).
    #[serde(default = "default_reentry")]
    pub reentry: Millis,
    /// Extra failed checks tolerated before a server is declared down;
    /// 0 (the default) is piranha's behaviour: one failure removes it.
    #[serde(default)]
    pub retries: u32,
    /// Set a failed server's weight to 0 instead of removing it
    /// (piranha `quiesce_server`).
    #[serde(default)]
    pub quiesce: bool,
    /// Load source for dynamic weights (piranha `load_monitor`).
    #[serde(default)]
    pub load_monitor: LoadMonitor,
    /// Where the probe goes: `server` (the default) checks the real
    /// server's own address; `vip` sends it to the virtual IP and port
    /// through IPVS to exactly this real server (a private firewall-mark
    /// service per real server, selected with `SO_MARK`), as Seesaw and
    /// Katran do, so that a real server that lost the VIP on its loopback
    /// or its tunnel endpoint is seen as down although its own address
    /// answers. Direct routing and tunnel services only, with a
    /// `connect`, `http` or `dns` check. YAML only.
    #[serde(default, skip_serializing_if = "CheckVia::is_server")]
    pub via: CheckVia,
}

/// Where a check's probe is sent ([`HealthCheck::via`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckVia {
    /// To the real server's own address and port.
    #[default]
    Server,
    /// To the virtual IP and port, through IPVS to this real server.
    Vip,
}

impl CheckVia {
    /// The default, which the YAML writer leaves out.
    pub fn is_server(&self) -> bool {
        *self == CheckVia::Server
    }
}

fn default_interval() -> Millis {
    Millis::from_secs(10)
}
fn default_reentry() -> Millis {
    Millis::from_secs(180)
}

impl Default for HealthCheck {
    fn default() -> Self {
        HealthCheck {
            kind: CheckKind::default(),
            interval: default_interval(),
            timeout: None,
            reentry: default_reentry(),
            retries: 0,
            quiesce: false,
            load_monitor: LoadMonitor::None,
            via: CheckVia::Server,
        }
    }
}

impl HealthCheck {
    /// The limit on one check: `timeout`, or else the interval.
    pub fn effective_timeout(&self) -> Millis {
        self.timeout.unwrap_or(self.interval)
    }
}

/// The probe of a health check, written `type: ...` in YAML.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CheckKind {
    /// Connect (TCP or UDP, as the service), optionally send a string and
    /// compare the reply (piranha `send`, `expect`, `use_regex`).
    Connect {
        /// Bytes to send after connecting; escapes are already decoded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        send: Option<String>,
        /// Expected start of the reply; `*` alone means any reply of at
        /// least one byte; see [`CheckKind::expect_matcher`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expect: Option<String>,
        /// `expect` is an extended regular expression.
        #[serde(default)]
        regex: bool,
    },
    /// piranha `send_program`: run a command (no shell; the tokens `%h` and
    /// `%p` become the server address and port) and compare its output.
    Program {
        /// The command line.
        command: String,
        /// Expected output, compared exactly after dropping its last byte
        /// (the newline). piranha counts a check without it as failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expect: Option<String>,
    },
    /// Turbolinux agent: run `command IP PORT 1|2` (1 = TCP, 2 = UDP); exit
    /// status 0 means up.
    Agent {
        /// The agent's command line, before the three arguments.
        command: String,
        /// Run with the same arguments when the server comes up.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_up: Option<String>,
        /// Run with the same arguments when the server goes down.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_down: Option<String>,
    },
    /// HTTP GET, up when the status is one of `status` (and the body
    /// matches `body_regex` if set).
    Http {
        /// Request path, starting with `/`.
        #[serde(default = "default_http_path")]
        path: String,
        /// Host header; default the server address.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host: Option<String>,
        /// Accepted status codes (default 200).
        #[serde(default = "default_http_status")]
        status: Vec<u16>,
        /// Regular expression the body must match.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body_regex: Option<String>,
        /// Speak HTTPS (TLS) instead of plain HTTP.
        #[serde(default)]
        tls: bool,
    },
    /// ICMP echo (keepalived PING_CHECK, Turbolinux's server ping): `count`
    /// echo requests sent at once, up at the first reply within the timeout.
    Ping {
        /// Echo requests per check (1-100, default 3).
        #[serde(default = "default_ping_count")]
        count: u16,
    },
    /// DNS (keepalived DNS_CHECK, Seesaw's DNS): one query for `query`
    /// over UDP to the real server's port, up when the response is NOERROR
    /// with a `record` record in its answer (any answer record without
    /// `record`, asking type A).
    Dns {
        /// The name asked.
        query: String,
        /// The record type the answer must hold: A, NS, CNAME, SOA, PTR,
        /// MX, TXT, AAAA or SRV.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        record: Option<String>,
    },
    /// No probe: the server is always up (Turbolinux `none`).
    None,
}

/// Echo requests per `ping` check by default: one lost datagram alone does
/// not fail a check.
pub const DEFAULT_PING_COUNT: u16 = 3;
fn default_ping_count() -> u16 {
    DEFAULT_PING_COUNT
}

fn default_http_path() -> String {
    "/".to_owned()
}
fn default_http_status() -> Vec<u16> {
    vec![200]
}

impl Default for CheckKind {
    /// A plain connect check.
    fn default() -> Self {
        CheckKind::Connect { send: None, expect: None, regex: false }
    }
}

/// How a connect check's reply is judged, as nanny does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect<'a> {
    /// `*`: any reply of at least one byte.
    Any,
    /// The reply starts with these bytes.
    Prefix(&'a str),
    /// The reply matches this extended regular expression.
    Regex(&'a str),
}

impl CheckKind {
    /// The reply matcher of a connect check, if it expects anything.
    pub fn expect_matcher(&self) -> Option<Expect<'_>> {
        match self {
            CheckKind::Connect { expect: Some(e), regex, .. } => Some(if *regex {
                Expect::Regex(e)
            } else if e == "*" {
                Expect::Any
            } else {
                Expect::Prefix(e)
            }),
            _ => None,
        }
    }

    /// The YAML `type` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            CheckKind::Connect { .. } => "connect",
            CheckKind::Program { .. } => "program",
            CheckKind::Agent { .. } => "agent",
            CheckKind::Http { .. } => "http",
            CheckKind::Ping { .. } => "ping",
            CheckKind::Dns { .. } => "dns",
            CheckKind::None => "none",
        }
    }
}

/// Load source for dynamic weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadMonitor {
    /// No load adjustment (piranha's code default).
    #[default]
    None,
    /// `rsh|ssh SERVER uptime`, with the global `rsh_command`.
    Uptime,
    /// `rup SERVER` (needs rstatd).
    Rup,
    /// `ruptime SERVER` (needs rwhod).
    Ruptime,
}
