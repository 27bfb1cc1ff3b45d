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

use std::fmt::Write as _;
use std::net::IpAddr;

use ipvs::conn::Conn;
use ipvs::{DaemonConfig, Dest, ForwardMethod, Netmask, Protocol, Service, ServiceKey, Stats64};
use ipvs::{Timeouts, TunnelCsum, TunnelType};

use crate::format::service_stats;
use crate::resolve::ntop;

/// A JSON string literal.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn addr(a: &IpAddr) -> String {
    string(&ntop(a))
}

fn stats(s: &Stats64) -> String {
    format!(
        "{{\"conns\":{},\"inpkts\":{},\"outpkts\":{},\"inbytes\":{},\"outbytes\":{},\"cps\":{},\"inpps\":{},\"outpps\":{},\"inbps\":{},\"outbps\":{}}}",
        s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes, s.cps, s.inpps, s.outpps, s.inbps, s.outbps
    )
}

fn dest_stats(d: &Dest) -> Stats64 {
    if let Some(s) = d.stats64 {
        return s;
    }
    let s = d.stats.unwrap_or_default();
    Stats64 {
        conns: s.conns.into(),
        inpkts: s.inpkts.into(),
        outpkts: s.outpkts.into(),
        inbytes: s.inbytes,
        outbytes: s.outbytes,
        cps: s.cps.into(),
        inpps: s.inpps.into(),
        outpps: s.outpps.into(),
        inbps: s.inbps.into(),
        outbps: s.outbps.into(),
    }
}

fn forward(m: ForwardMethod) -> String {
    match m {
        ForwardMethod::Masq => string("masq"),
        ForwardMethod::Local => string("local"),
        ForwardMethod::Tunnel => string("tunnel"),
        ForwardMethod::Route => string("route"),
        ForwardMethod::Bypass => string("bypass"),
        ForwardMethod::Other(v) => v.to_string(),
    }
}

fn dest(d: &Dest) -> String {
    let tunnel = if d.fwd == ForwardMethod::Tunnel {
        let kind = match d.tunnel.kind {
            TunnelType::Ipip => string("ipip"),
            TunnelType::Gue => string("gue"),
            TunnelType::Gre => string("gre"),
            TunnelType::Other(v) => v.to_string(),
        };
        let csum = match d.tunnel.csum {
            TunnelCsum::NoCsum => string("nocsum"),
            TunnelCsum::Csum => string("csum"),
            TunnelCsum::RemCsum => string("remcsum"),
            TunnelCsum::Other(v) => v.to_string(),
        };
        format!("{{\"type\":{kind},\"port\":{},\"csum\":{csum}}}", d.tunnel.port)
    } else {
        "null".to_string()
    };
    format!(
        "{{\"address\":{},\"port\":{},\"forward\":{},\"weight\":{},\"upper_threshold\":{},\"lower_threshold\":{},\"active_conns\":{},\"inactive_conns\":{},\"persistent_conns\":{},\"tunnel\":{},\"stats\":{}}}",
        addr(&d.addr),
        d.port,
        forward(d.fwd),
        d.weight,
        d.upper_threshold,
        d.lower_threshold,
        d.active_conns,
        d.inactive_conns,
        d.persistent_conns,
        tunnel,
        stats(&dest_stats(d))
    )
}

/// One service with its destinations.
pub fn service(s: &Service, dests: &[Dest]) -> String {
    let (protocol, address, port, fwmark) = match s.key {
        ServiceKey::Addr { protocol, addr: a, port } => {
            let p = match protocol {
                Protocol::Tcp => string("tcp"),
                Protocol::Udp => string("udp"),
                Protocol::Sctp => string("sctp"),
                Protocol::Other(n) => n.to_string(),
            };
            (p, addr(&a), port.to_string(), "null".to_string())
        }
        ServiceKey::Fwmark { mark, .. } => {
            ("null".into(), "null".into(), "null".into(), mark.to_string())
        }
    };
    let family = match s.key.family() {
        ipvs::Family::Inet => "inet",
        ipvs::Family::Inet6 => "inet6",
    };
    let mut flags = Vec::new();
    let f = s.flags.0;
    for (bit, name) in
        [(0x1, "persistent"), (0x4, "ops"), (0x8, "sched1"), (0x10, "sched2"), (0x20, "sched3")]
    {
        if f & bit != 0 {
            flags.push(string(name));
        }
    }
    let persistence = if s.is_persistent() {
        let mask = match s.netmask {
            Netmask::V4(m) => string(&m.to_string()),
            Netmask::V6Prefix(p) => p.to_string(),
        };
        format!("{{\"timeout\":{},\"netmask\":{mask}}}", s.timeout)
    } else {
        "null".to_string()
    };
    let pe = s.pe_name.as_deref().map_or("null".to_string(), string);
    let ds: Vec<String> = dests.iter().map(dest).collect();
    format!(
        "{{\"protocol\":{protocol},\"address\":{address},\"port\":{port},\"fwmark\":{fwmark},\"family\":\"{family}\",\"scheduler\":{},\"flags\":[{}],\"persistence\":{persistence},\"pe\":{pe},\"stats\":{},\"destinations\":[{}]}}",
        string(&s.scheduler),
        flags.join(","),
        stats(&service_stats(s)),
        ds.join(",")
    )
}

/// `-L --json` and `-L -t ... --json`.
pub fn services(table: &[(Service, Vec<Dest>)]) -> String {
    let all: Vec<String> = table.iter().map(|(s, d)| service(s, d)).collect();
    format!("{{\"services\":[{}]}}\n", all.join(","))
}

/// `-L --timeout --json`.
pub fn timeouts(t: &Timeouts) -> String {
    format!("{{\"timeouts\":{{\"tcp\":{},\"tcpfin\":{},\"udp\":{}}}}}\n", t.tcp, t.tcp_fin, t.udp)
}

/// `-L --daemon --json`.
pub fn daemons(list: &[DaemonConfig]) -> String {
    let all: Vec<String> = list
        .iter()
        .map(|d| {
            let state = match d.state {
                ipvs::DaemonState::Master => string("master"),
                ipvs::DaemonState::Backup => string("backup"),
                ipvs::DaemonState::Other(v) => v.to_string(),
            };
            let opt = |v: Option<String>| v.unwrap_or_else(|| "null".to_string());
            format!(
                "{{\"state\":{state},\"mcast_interface\":{},\"syncid\":{},\"maxlen\":{},\"group\":{},\"port\":{},\"ttl\":{}}}",
                string(&d.mcast_ifn),
                d.syncid,
                opt(d.maxlen.map(|v| v.to_string())),
                opt(d.group.as_ref().map(addr)),
                opt(d.port.map(|v| v.to_string())),
                opt(d.ttl.map(|v| v.to_string()))
            )
        })
        .collect();
    format!("{{\"daemons\":[{}]}}\n", all.join(","))
}

/// `-L -c --json`.
pub fn conns(list: &[Conn]) -> String {
    let all: Vec<String> = list
        .iter()
        .map(|c| {
            let pe = match &c.pe {
                Some((n, d)) => format!("{{\"name\":{},\"data\":{}}}", string(n), string(d)),
                None => "null".to_string(),
            };
            format!(
                "{{\"protocol\":{},\"client\":{},\"client_port\":{},\"virtual\":{},\"virtual_port\":{},\"destination\":{},\"destination_port\":{},\"state\":{},\"expires\":{},\"pe\":{pe}}}",
                string(&c.protocol),
                addr(&c.client_addr),
                c.client_port,
                addr(&c.virtual_addr),
                c.virtual_port,
                addr(&c.dest_addr),
                c.dest_port,
                string(&c.state),
                c.expires
            )
        })
        .collect();
    format!("{{\"connections\":[{}]}}\n", all.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v4;

    #[test]
    fn escapes_and_shape() {
        assert_eq!(string("a\"b\\\n\u{1}"), "\"a\\\"b\\\\\\n\\u0001\"");
        let s = Service::new(ServiceKey::tcp(v4(10, 0, 0, 1), 80));
        let d = Dest::new(v4(192, 168, 0, 1), 80);
        let j = services(&[(s, vec![d])]);
        assert_eq!(
            j,
            "{\"services\":[{\"protocol\":\"tcp\",\"address\":\"10.0.0.1\",\"port\":80,\"fwmark\":null,\"family\":\"inet\",\"scheduler\":\"wlc\",\"flags\":[],\"persistence\":null,\"pe\":null,\"stats\":{\"conns\":0,\"inpkts\":0,\"outpkts\":0,\"inbytes\":0,\"outbytes\":0,\"cps\":0,\"inpps\":0,\"outpps\":0,\"inbps\":0,\"outbps\":0},\"destinations\":[{\"address\":\"192.168.0.1\",\"port\":80,\"forward\":\"route\",\"weight\":1,\"upper_threshold\":0,\"lower_threshold\":0,\"active_conns\":0,\"inactive_conns\":0,\"persistent_conns\":0,\"tunnel\":null,\"stats\":{\"conns\":0,\"inpkts\":0,\"outpkts\":0,\"inbytes\":0,\"outbytes\":0,\"cps\":0,\"inpps\":0,\"outpps\":0,\"inbps\":0,\"outbps\":0}}]}]}\n"
        );
    }
}
