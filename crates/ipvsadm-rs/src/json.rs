//! `--json`, ipvsadm-rs's one extension: the listings as JSON for
//! monitoring tools. It never changes the default output; it is only
//! accepted with `-L`. Numbers are exact (no `K`/`M` suffixes, full 64-bit
//! counters for destinations too), addresses numeric, no name look-ups.
//!
//! The shape, one object per line-oriented listing:
//! `{"services":[{"protocol":"tcp","address":"10.0.0.1","port":80,
//! "fwmark":null,"family":"inet","scheduler":"wlc","flags":[..],
//! "persistence":{"timeout":360,"netmask":"255.255.255.255"}|null,
//! "pe":null,"stats":{..},"destinations":[{"address":..,"port":..,
//! "forward":"masq","weight":1,"upper_threshold":0,"lower_threshold":0,
//! "active_conns":0,"inactive_conns":0,"persistent_conns":0,
//! "tunnel":{"type":"gue","port":6080,"csum":"csum"}|null,"stats":{..}}]}]}`.

use std::io;

use serde::Serialize;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter};

use ipvs::conn::Conn;
use ipvs::{
    DaemonConfig, DaemonState, Dest, Family, ForwardMethod, Netmask, Protocol, Service,
    ServiceFlags, ServiceKey, Stats64, Timeouts, TunnelCsum, TunnelType,
};

use crate::format::service_stats;
use crate::resolve::ntop;

/// serde_json's compact output, but with backspace and form feed written
/// `\u0008` and `\u000c` (serde_json writes `\b` and `\f`), as every
/// release of `--json` has: the output stays byte for byte what it was.
struct Compact;

impl Formatter for Compact {
    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        let escape = match escape {
            CharEscape::Backspace => CharEscape::AsciiControl(0x08),
            CharEscape::FormFeed => CharEscape::AsciiControl(0x0c),
            other => other,
        };
        CompactFormatter.write_char_escape(writer, escape)
    }
}

/// `value` as JSON text.
fn text(value: &impl Serialize) -> String {
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, Compact);
    // Serializing these plain structs into memory cannot fail, and
    // serde_json writes only UTF-8.
    match value.serialize(&mut ser) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// `value` as one line of JSON.
fn line(value: &impl Serialize) -> String {
    text(value) + "\n"
}

/// A JSON string literal (the tests hold its escapes to the hand-written
/// encoder's).
#[cfg(test)]
pub fn string(s: &str) -> String {
    text(&s)
}

/// A name, or the number the kernel gave when it has no name for it.
#[derive(Serialize)]
#[serde(untagged)]
enum Named {
    Name(&'static str),
    Number(u64),
}

#[derive(Serialize)]
struct StatsOut {
    conns: u64,
    inpkts: u64,
    outpkts: u64,
    inbytes: u64,
    outbytes: u64,
    cps: u64,
    inpps: u64,
    outpps: u64,
    inbps: u64,
    outbps: u64,
}

impl From<Stats64> for StatsOut {
    fn from(s: Stats64) -> StatsOut {
        StatsOut {
            conns: s.conns,
            inpkts: s.inpkts,
            outpkts: s.outpkts,
            inbytes: s.inbytes,
            outbytes: s.outbytes,
            cps: s.cps,
            inpps: s.inpps,
            outpps: s.outpps,
            inbps: s.inbps,
            outbps: s.outbps,
        }
    }
}

fn dest_stats(d: &Dest) -> Stats64 {
    d.stats64.or(d.stats.map(Stats64::from)).unwrap_or_default()
}

fn forward(m: ForwardMethod) -> Named {
    match m {
        ForwardMethod::Masq => Named::Name("masq"),
        ForwardMethod::Local => Named::Name("local"),
        ForwardMethod::Tunnel => Named::Name("tunnel"),
        ForwardMethod::Route => Named::Name("route"),
        ForwardMethod::Bypass => Named::Name("bypass"),
        ForwardMethod::Other(v) => Named::Number(v.into()),
    }
}

#[derive(Serialize)]
struct TunnelOut {
    #[serde(rename = "type")]
    kind: Named,
    port: u16,
    csum: Named,
}

#[derive(Serialize)]
struct DestOut {
    address: String,
    port: u16,
    forward: Named,
    weight: u32,
    upper_threshold: u32,
    lower_threshold: u32,
    active_conns: u32,
    inactive_conns: u32,
    persistent_conns: u32,
    tunnel: Option<TunnelOut>,
    stats: StatsOut,
}

fn dest(d: &Dest) -> DestOut {
    let tunnel = (d.fwd == ForwardMethod::Tunnel).then(|| TunnelOut {
        kind: match d.tunnel.kind {
            TunnelType::Ipip => Named::Name("ipip"),
            TunnelType::Gue => Named::Name("gue"),
            TunnelType::Gre => Named::Name("gre"),
            TunnelType::Other(v) => Named::Number(v.into()),
        },
        port: d.tunnel.port,
        csum: match d.tunnel.csum {
            TunnelCsum::NoCsum => Named::Name("nocsum"),
            TunnelCsum::Csum => Named::Name("csum"),
            TunnelCsum::RemCsum => Named::Name("remcsum"),
            TunnelCsum::Other(v) => Named::Number(v.into()),
        },
    });
    DestOut {
        address: ntop(&d.addr),
        port: d.port,
        forward: forward(d.fwd),
        weight: d.weight,
        upper_threshold: d.upper_threshold,
        lower_threshold: d.lower_threshold,
        active_conns: d.active_conns,
        inactive_conns: d.inactive_conns,
        persistent_conns: d.persistent_conns,
        tunnel,
        stats: dest_stats(d).into(),
    }
}

#[derive(Serialize)]
struct PersistenceOut {
    timeout: u32,
    netmask: NetmaskOut,
}

/// An IPv4 mask as text, an IPv6 prefix as its length.
#[derive(Serialize)]
#[serde(untagged)]
enum NetmaskOut {
    V4(String),
    V6(u32),
}

#[derive(Serialize)]
struct ServiceOut<'a> {
    protocol: Option<Named>,
    address: Option<String>,
    port: Option<u16>,
    fwmark: Option<u32>,
    family: &'static str,
    scheduler: &'a str,
    flags: Vec<&'static str>,
    persistence: Option<PersistenceOut>,
    pe: Option<&'a str>,
    stats: StatsOut,
    destinations: Vec<DestOut>,
}

/// The service flags `--json` names, in this order.
const FLAG_NAMES: [(ServiceFlags, &str); 5] = [
    (ServiceFlags::PERSISTENT, "persistent"),
    (ServiceFlags::ONEPACKET, "ops"),
    (ServiceFlags::SCHED1, "sched1"),
    (ServiceFlags::SCHED2, "sched2"),
    (ServiceFlags::SCHED3, "sched3"),
];

fn service<'a>(s: &'a Service, dests: &[Dest]) -> ServiceOut<'a> {
    let (protocol, address, port, fwmark) = match s.key {
        ServiceKey::Addr { protocol, addr, port } => {
            let p = match protocol {
                Protocol::Tcp => Named::Name("tcp"),
                Protocol::Udp => Named::Name("udp"),
                Protocol::Sctp => Named::Name("sctp"),
                Protocol::Other(n) => Named::Number(n.into()),
            };
            (Some(p), Some(ntop(&addr)), Some(port), None)
        }
        ServiceKey::Fwmark { mark, .. } => (None, None, None, Some(mark)),
    };
    ServiceOut {
        protocol,
        address,
        port,
        fwmark,
        family: match s.key.family() {
            Family::Inet => "inet",
            Family::Inet6 => "inet6",
        },
        scheduler: &s.scheduler,
        flags: FLAG_NAMES.iter().filter(|(f, _)| s.flags.contains(*f)).map(|(_, n)| *n).collect(),
        persistence: s.is_persistent().then(|| PersistenceOut {
            timeout: s.timeout,
            netmask: match s.netmask {
                Netmask::V4(m) => NetmaskOut::V4(m.to_string()),
                Netmask::V6Prefix(p) => NetmaskOut::V6(p),
            },
        }),
        pe: s.pe_name.as_deref(),
        stats: service_stats(s).into(),
        destinations: dests.iter().map(dest).collect(),
    }
}

/// `-L --json` and `-L -t ... --json`.
pub fn services(table: &[(Service, Vec<Dest>)]) -> String {
    #[derive(Serialize)]
    struct Out<'a> {
        services: Vec<ServiceOut<'a>>,
    }
    line(&Out { services: table.iter().map(|(s, d)| service(s, d)).collect() })
}

/// `-L --timeout --json`.
pub fn timeouts(t: &Timeouts) -> String {
    #[derive(Serialize)]
    struct Values {
        tcp: u32,
        tcpfin: u32,
        udp: u32,
    }
    #[derive(Serialize)]
    struct Out {
        timeouts: Values,
    }
    line(&Out { timeouts: Values { tcp: t.tcp, tcpfin: t.tcp_fin, udp: t.udp } })
}

/// `-L --daemon --json`.
pub fn daemons(list: &[DaemonConfig]) -> String {
    #[derive(Serialize)]
    struct DaemonOut<'a> {
        state: Named,
        mcast_interface: &'a str,
        syncid: u32,
        maxlen: Option<u16>,
        group: Option<String>,
        port: Option<u16>,
        ttl: Option<u8>,
    }
    #[derive(Serialize)]
    struct Out<'a> {
        daemons: Vec<DaemonOut<'a>>,
    }
    let daemons = list
        .iter()
        .map(|d| DaemonOut {
            state: match d.state {
                DaemonState::Master => Named::Name("master"),
                DaemonState::Backup => Named::Name("backup"),
                DaemonState::Other(v) => Named::Number(v.into()),
            },
            mcast_interface: &d.mcast_ifn,
            syncid: d.syncid,
            maxlen: d.maxlen,
            group: d.group.as_ref().map(ntop),
            port: d.port,
            ttl: d.ttl,
        })
        .collect();
    line(&Out { daemons })
}

/// `-L -c --json`.
pub fn conns(list: &[Conn]) -> String {
    #[derive(Serialize)]
    struct Pe<'a> {
        name: &'a str,
        data: &'a str,
    }
    #[derive(Serialize)]
    struct ConnOut<'a> {
        protocol: &'a str,
        client: String,
        client_port: u16,
        #[serde(rename = "virtual")]
        virtual_: String,
        virtual_port: u16,
        destination: String,
        destination_port: u16,
        state: &'a str,
        expires: u32,
        pe: Option<Pe<'a>>,
    }
    #[derive(Serialize)]
    struct Out<'a> {
        connections: Vec<ConnOut<'a>>,
    }
    let connections = list
        .iter()
        .map(|c| ConnOut {
            protocol: &c.protocol,
            client: ntop(&c.client_addr),
            client_port: c.client_port,
            virtual_: ntop(&c.virtual_addr),
            virtual_port: c.virtual_port,
            destination: ntop(&c.dest_addr),
            destination_port: c.dest_port,
            state: &c.state,
            expires: c.expires,
            pe: c.pe.as_ref().map(|(name, data)| Pe { name, data }),
        })
        .collect();
    line(&Out { connections })
}

#[cfg(test)]
mod tests;
