//! ipvsadm 1.31's listings as pure functions over the `ipvs` model:
//! `-L`/`-l` (default, `--stats`, `--rate`, `--exact`, `--thresholds`,
//! `--persistent-conn`, `--tun-info`), `-S`, `-c`, `--timeout`, `--daemon`.
//!
//! Every `printf` of ipvsadm is reproduced with its widths, its trailing
//! blanks and its truncations (33 bytes for an IPv4 service name, 28 for a
//! destination, 59 for any address-port text), and its quirks: fwmarks
//! printed as signed numbers (Debian's 1.31 uses `%d`), destination
//! counters read as 32-bit from the 64-bit attribute, `(null)` for an
//! unknown forwarding method. Names come through a [`Resolver`].

use std::fmt::Write as _;
use std::net::IpAddr;

use ipvs::conn::Conn;
use ipvs::{DaemonConfig, DaemonState, Dest, ForwardMethod, Info, Netmask, Protocol, Service};
use ipvs::{SchedFlags, ServiceKey, Stats64, Timeouts, TunnelCsum, TunnelType};

use crate::cli::Format;
use crate::resolve::{ntop, Resolver};
use crate::sort;

/// glibc's `printf("%s", NULL)`.
const NULL: &str = "(null)";

/// `%-Ns`: pad on the right to `w` bytes.
fn left(s: &str, w: usize) -> String {
    let mut out = String::with_capacity(w.max(s.len()));
    out.push_str(s);
    while out.len() < w {
        out.push(' ');
    }
    out
}

/// Append `n` in decimal (a hot path of big listings; `write!` is slower).
fn push_num(out: &mut String, n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(buf[i..].iter().map(|&b| char::from(b)));
}

/// Cut a string to at most `n` bytes, as writing a NUL into a C buffer does.
fn cut(s: &mut String, n: usize) {
    if s.len() > n {
        let mut b = s.as_bytes()[..n].to_vec();
        // Keep valid UTF-8 (names are ASCII in practice).
        while std::str::from_utf8(&b).is_err() {
            b.pop();
        }
        *s = String::from_utf8(b).unwrap_or_default();
    }
}

fn proto_name(p: Protocol) -> Option<&'static str> {
    match p {
        Protocol::Tcp => Some("tcp"),
        Protocol::Udp => Some("udp"),
        Protocol::Sctp => Some("sctp"),
        Protocol::Other(_) => None,
    }
}

/// ipvsadm's `addrport_to_anyname`: `addr:port`, `[v6]:port`, with names
/// unless numeric; at most 59 bytes (its 60-byte buffer).
pub fn addrport(
    addr: &IpAddr,
    port: u16,
    proto: Option<&str>,
    numeric: bool,
    r: &dyn Resolver,
) -> String {
    if let (true, IpAddr::V4(v4)) = (numeric, addr) {
        // The common case, without intermediate strings.
        let mut s = String::with_capacity(21);
        for (i, o) in v4.octets().iter().enumerate() {
            if i > 0 {
                s.push('.');
            }
            push_num(&mut s, u64::from(*o));
        }
        s.push(':');
        push_num(&mut s, u64::from(port));
        return s;
    }
    let (open, close) = if addr.is_ipv4() { ("", "") } else { ("[", "]") };
    let mut s = if numeric {
        format!("{open}{}{close}:{port}", ntop(addr))
    } else {
        let host = r.host_name(addr).unwrap_or_else(|| ntop(addr));
        let pname = proto.and_then(|p| r.service_name(port, p)).unwrap_or_else(|| port.to_string());
        format!("{open}{host}{close}:{pname}")
    };
    cut(&mut s, 59);
    s
}

/// `print_largenum`.
pub fn largenum(out: &mut String, i: u64, exact: bool) {
    if exact {
        let len = i.to_string().len();
        let w = if len <= 8 { 9 } else { len + 1 };
        let _ = write!(out, "{i:>w$}");
        return;
    }
    let _ = if i < 100_000_000 {
        write!(out, "{i:>9}")
    } else if i < 1_000_000_000 {
        write!(out, "{:>8}K", i / 1000)
    } else if i < 100_000_000_000 {
        write!(out, "{:>8}M", i / 1_000_000)
    } else if i < 100_000_000_000_000 {
        write!(out, "{:>8}G", i / 1_000_000_000)
    } else {
        write!(out, "{:>8}T", i / 1_000_000_000_000)
    };
}

/// The statistics ipvsadm shows for a service: STATS64, else STATS.
pub fn service_stats(s: &Service) -> Stats64 {
    if let Some(s64) = s.stats64 {
        return s64;
    }
    s.stats.map(Stats64::from).unwrap_or_default()
}

/// The statistics ipvsadm shows for a destination. libipvs 1.31 reads the
/// STATS64 attribute with its 32-bit parser, so every counter but the byte
/// counts keeps only its low 32 bits.
pub fn dest_stats(d: &Dest) -> Stats64 {
    match d.stats64 {
        Some(s) => {
            let lo = |v: u64| u64::from(v as u32);
            Stats64 {
                conns: lo(s.conns),
                inpkts: lo(s.inpkts),
                outpkts: lo(s.outpkts),
                inbytes: s.inbytes,
                outbytes: s.outbytes,
                cps: lo(s.cps),
                inpps: lo(s.inpps),
                outpps: lo(s.outpps),
                inbps: lo(s.inbps),
                outbps: lo(s.outbps),
            }
        }
        None => d.stats.map(Stats64::from).unwrap_or_default(),
    }
}

/// `print_title`.
pub fn title(f: &Format) -> String {
    const P: &str = "Prot LocalAddress:Port";
    const R: &str = "  -> RemoteAddress:Port\n";
    let cols = |c: [&str; 5]| {
        format!("{P:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n{R}", c[0], c[1], c[2], c[3], c[4])
    };
    if f.stats {
        cols(["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"])
    } else if f.rate {
        cols(["CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"])
    } else if f.thresholds {
        format!(
            "{P:<33} {:<10} {:<10} {:<10} {:<10}\n{R}",
            "Uthreshold", "Lthreshold", "ActiveConn", "InActConn"
        )
    } else if f.persistent_conn {
        format!(
            "{P:<33} {:<9} {:<11} {:<10} {:<10}\n{R}",
            "Weight", "PersistConn", "ActiveConn", "InActConn"
        )
    } else if f.tun_info {
        "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n".to_string()
    } else if !f.rule {
        "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n".to_string()
    } else {
        String::new()
    }
}

/// The first line of `list_all` (not for `-S`).
pub fn version_header(info: &Info) -> String {
    let (a, b, c) = info.version_triple();
    format!("IP Virtual Server version {a}.{b}.{c} (size={})\n", info.conn_tab_size as i32)
}

/// `print_sched_flags`: names depend on the scheduler.
fn sched_flags(s: &Service) -> String {
    let f = s.flags.sched();
    let (one, two, three) = (SchedFlags::FLAG1, SchedFlags::FLAG2, SchedFlags::FLAG3);
    let names: &[(SchedFlags, &str)] = match s.scheduler.as_str() {
        "sh" => &[(one, "sh-fallback"), (two, "sh-port")],
        "mh" => &[(one, "mh-fallback"), (two, "mh-port")],
        _ => &[(one, "flag-1"), (two, "flag-2"), (three, "flag-3")],
    };
    names.iter().filter(|(b, _)| f.0 & b.0 != 0).map(|(_, n)| *n).collect::<Vec<_>>().join(",")
}

fn has_sched_flags(s: &Service) -> bool {
    s.flags.sched() != SchedFlags::default()
}

/// The service part of a line (`svc_name` in ipvsadm).
fn svc_name(s: &Service, f: &Format, r: &dyn Resolver) -> String {
    match s.key {
        ServiceKey::Fwmark { family, mark } => {
            let v6 = family == ipvs::Family::Inet6;
            let m = mark as i32;
            match (f.rule, v6) {
                (true, true) => format!("-f {m} -6"),
                (true, false) => format!("-f {m}"),
                (false, true) => format!("FWM  {m} IPv6"),
                (false, false) => format!("FWM  {m}"),
            }
        }
        ServiceKey::Addr { protocol, addr, port } => {
            let vname = addrport(&addr, port, proto_name(protocol), f.numeric, r);
            if f.rule {
                let opt = match protocol {
                    Protocol::Tcp => "-t",
                    Protocol::Udp => "-u",
                    Protocol::Sctp => "--sctp-service",
                    Protocol::Other(_) => "--xxx-service",
                };
                format!("{opt} {vname}")
            } else {
                let p = match protocol {
                    Protocol::Tcp => "TCP",
                    Protocol::Udp => "UDP",
                    Protocol::Sctp => "SCTP",
                    Protocol::Other(_) => "?",
                };
                let mut n = format!("{p:<4} {vname}");
                if addr.is_ipv4() {
                    cut(&mut n, 33);
                }
                n
            }
        }
    }
}

fn persistence(out: &mut String, s: &Service, mask_word: &str) {
    let _ = write!(out, " {} {}", if mask_word == "-M" { "-p" } else { "persistent" }, s.timeout);
    match (s.key.family(), s.netmask) {
        (ipvs::Family::Inet, Netmask::V4(m)) if m != std::net::Ipv4Addr::BROADCAST => {
            let _ = write!(out, " {mask_word} {m}");
        }
        (ipvs::Family::Inet6, Netmask::V6Prefix(p)) if p != 128 => {
            let _ = write!(out, " {mask_word} {}", p as i32);
        }
        _ => {}
    }
}

fn fwd_name(m: ForwardMethod) -> &'static str {
    match m {
        ForwardMethod::Masq => "Masq",
        ForwardMethod::Local => "Local",
        ForwardMethod::Tunnel => "Tunnel",
        ForwardMethod::Route => "Route",
        _ => NULL,
    }
}

fn fwd_switch(m: ForwardMethod) -> &'static str {
    match m {
        ForwardMethod::Masq => "-m",
        ForwardMethod::Tunnel => "-i",
        ForwardMethod::Local | ForwardMethod::Route => "-g",
        _ => NULL,
    }
}

fn tun_flag(c: TunnelCsum, opts: bool) -> &'static str {
    match (c, opts) {
        (TunnelCsum::NoCsum, false) => "-c",
        (TunnelCsum::Csum, false) => "+c",
        (TunnelCsum::RemCsum, false) => "r+c",
        (TunnelCsum::NoCsum, true) => "--tun-nocsum",
        (TunnelCsum::Csum, true) => "--tun-csum",
        (TunnelCsum::RemCsum, true) => "--tun-remcsum",
        _ => NULL,
    }
}

/// `fwd_tun_info`, at most 15 bytes.
fn tun_info(d: &Dest) -> Option<String> {
    if d.fwd != ForwardMethod::Tunnel {
        return None;
    }
    let mut s = match d.tunnel.kind {
        TunnelType::Ipip => "ipip".to_string(),
        TunnelType::Gue => format!("gue:{}:{}", d.tunnel.port, tun_flag(d.tunnel.csum, false)),
        TunnelType::Gre => format!("gre:{}", tun_flag(d.tunnel.csum, false)),
        TunnelType::Other(_) => return None,
    };
    cut(&mut s, 15);
    Some(s)
}

/// `print_service_entry`: one service and its destinations (sorted unless
/// `--nosort`).
pub fn service_entry(out: &mut String, s: &Service, dests: &[Dest], f: &Format, r: &dyn Resolver) {
    let name = svc_name(s, f, r);
    if f.rule {
        let _ = write!(out, "-A {name} -s {}", s.scheduler);
        if s.is_persistent() {
            persistence(out, s, "-M");
        }
        if let Some(pe) = s.pe_name.as_deref().filter(|p| !p.is_empty()) {
            let _ = write!(out, " --pe {pe}");
        }
        if s.is_one_packet() {
            out.push_str(" -o");
        }
        if has_sched_flags(s) {
            out.push_str(" -b ");
            out.push_str(&sched_flags(s));
        }
    } else if f.stats || f.rate {
        let st = service_stats(s);
        out.push_str(&left(&name, 33));
        let v = if f.stats {
            [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes]
        } else {
            [st.cps, st.inpps, st.outpps, st.inbps, st.outbps]
        };
        for x in v {
            largenum(out, x, f.exact);
        }
    } else {
        let _ = write!(out, "{name} {}", s.scheduler);
        if has_sched_flags(s) {
            let _ = write!(out, " ({})", sched_flags(s));
        }
        if s.is_persistent() {
            persistence(out, s, "mask");
            if let Some(pe) = s.pe_name.as_deref().filter(|p| !p.is_empty()) {
                let _ = write!(out, " pe {pe}");
            }
        }
        if s.is_one_packet() {
            out.push_str(" ops");
        }
    }
    out.push('\n');

    let mut refs: Vec<&Dest> = dests.iter().collect();
    if !f.nosort {
        refs = sort::glibc_order(dests, &sort::cmp_dests).into_iter().map(|i| &dests[i]).collect();
    }
    let proto = match s.key {
        ServiceKey::Addr { protocol, .. } => proto_name(protocol),
        ServiceKey::Fwmark { .. } => None,
    };
    for d in refs {
        let mut dname = addrport(&d.addr, d.port, proto, f.numeric, r);
        if !f.rule && d.addr.is_ipv4() {
            cut(&mut dname, 28);
        }
        let weight = d.weight as i32;
        if f.rule {
            let sw = fwd_switch(d.fwd);
            let _ = write!(out, "-a {name} -r {dname} {sw} -w {weight}");
            if d.fwd == ForwardMethod::Tunnel {
                let t = &d.tunnel;
                match t.kind {
                    TunnelType::Gre => {
                        let _ = write!(out, " --tun-type gre {}", tun_flag(t.csum, true));
                    }
                    TunnelType::Gue => {
                        let _ = write!(
                            out,
                            " --tun-type gue --tun-port {} {}",
                            t.port,
                            tun_flag(t.csum, true)
                        );
                    }
                    TunnelType::Ipip => out.push_str(" --tun-type ipip"),
                    TunnelType::Other(_) => {}
                }
            }
            out.push('\n');
        } else if f.stats {
            let st = dest_stats(d);
            let _ = write!(out, "  -> {}", left(&dname, 28));
            for x in [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes] {
                largenum(out, x, f.exact);
            }
            out.push('\n');
        } else if f.rate {
            let st = dest_stats(d);
            let _ = write!(
                out,
                "  -> {} {:>8} {:>8} {:>8}",
                left(&dname, 28),
                st.cps,
                st.inpps,
                st.outpps
            );
            largenum(out, st.inbps, f.exact);
            largenum(out, st.outbps, f.exact);
            out.push('\n');
        } else if f.thresholds {
            let _ = writeln!(
                out,
                "  -> {} {:<10} {:<10} {:<10} {:<10}",
                left(&dname, 28),
                d.upper_threshold,
                d.lower_threshold,
                d.active_conns,
                d.inactive_conns
            );
        } else if f.persistent_conn {
            let _ = writeln!(
                out,
                "  -> {} {:<9} {:<11} {:<10} {:<10}",
                left(&dname, 28),
                d.weight,
                d.persistent_conns,
                d.active_conns,
                d.inactive_conns
            );
        } else if f.tun_info {
            let ti = tun_info(d);
            let _ = writeln!(
                out,
                "  -> {} {:<7} {:<13} {:<6} {:<10} {:<10}",
                left(&dname, 28),
                fwd_name(d.fwd),
                ti.as_deref().unwrap_or("n/a"),
                weight,
                d.active_conns,
                d.inactive_conns
            );
        } else {
            // "  -> %-28s %-7s %-6d %-10u %-10u\n", without format machinery.
            let col = |out: &mut String, start: usize, w: usize| {
                while out.len() - start < w {
                    out.push(' ');
                }
            };
            out.push_str("  -> ");
            let start = out.len();
            out.push_str(&dname);
            col(out, start, 28);
            out.push(' ');
            let start = out.len();
            out.push_str(fwd_name(d.fwd));
            col(out, start, 7);
            out.push(' ');
            let start = out.len();
            if weight < 0 {
                out.push('-');
            }
            push_num(out, u64::from(weight.unsigned_abs()));
            col(out, start, 6);
            out.push(' ');
            let start = out.len();
            push_num(out, u64::from(d.active_conns));
            col(out, start, 10);
            out.push(' ');
            let start = out.len();
            push_num(out, u64::from(d.inactive_conns));
            col(out, start, 10);
            out.push('\n');
        }
    }
}

/// `--timeout`.
pub fn timeouts(t: &Timeouts) -> String {
    format!("Timeout (tcp tcpfin udp): {} {} {}\n", t.tcp as i32, t.tcp_fin as i32, t.udp as i32)
}

/// `--daemon`: master, then backup, as the kernel lists them.
pub fn daemons(list: &[DaemonConfig]) -> String {
    let mut out = String::new();
    for d in list.iter().take(2) {
        let raw = d.state.to_raw();
        let kind = if raw & DaemonState::Master.to_raw() != 0 {
            "master"
        } else if raw & DaemonState::Backup.to_raw() != 0 {
            "backup"
        } else {
            continue;
        };
        let _ =
            write!(out, "{kind} sync daemon (mcast={}, syncid={}", d.mcast_ifn, d.syncid as i32);
        if let Some(m) = d.maxlen.filter(|m| *m != 0) {
            let _ = write!(out, ", maxlen={m}");
        }
        if let Some(g) = d.group {
            let _ = write!(out, ", group={}", ntop(&g));
        }
        if let Some(p) = d.port.filter(|p| *p != 0) {
            let _ = write!(out, ", port={p}");
        }
        if let Some(t) = d.ttl.filter(|t| *t != 0) {
            let _ = write!(out, ", ttl={t}");
        }
        out.push_str(")\n");
    }
    out
}

/// `list_conn`'s header.
pub fn conn_header(f: &Format) -> String {
    let mut s = String::from("IPVS connection entries\n");
    if f.persistent_conn {
        let (st, so, vi, de, pe) = ("state", "source", "virtual", "destination", "pe name");
        let _ = writeln!(s, "pro expire {st:<11} {so:<18} {vi:<18} {de:<18} {pe:<16} pe_data");
    } else {
        let (st, so, vi) = ("state", "source", "virtual");
        let _ = writeln!(s, "pro expire {st:<11} {so:<18} {vi:<18} destination");
    }
    s
}

/// `print_conn`: one row of `-c`.
pub fn conn_row(out: &mut String, c: &Conn, f: &Format, r: &dyn Resolver) {
    let proto = match c.protocol.as_str() {
        "TCP" => Some("tcp"),
        "UDP" => Some("udp"),
        "SCTP" => Some("sctp"),
        _ => None,
    };
    let cname = addrport(&c.client_addr, c.client_port, proto, f.numeric, r);
    let vname = addrport(&c.virtual_addr, c.virtual_port, proto, f.numeric, r);
    let dname = addrport(&c.dest_addr, c.dest_port, proto, f.numeric, r);
    let expire = format!("{:02}:{:02}", c.expires / 60, c.expires % 60);
    match (&c.pe, f.persistent_conn) {
        (Some((pe_name, pe_data)), true) => {
            let _ = writeln!(
                out,
                "{:<3} {:<6} {:<11} {:<18} {:<18} {:<16} {:<18} {}",
                c.protocol, expire, c.state, cname, vname, dname, pe_name, pe_data
            );
        }
        _ => {
            let _ = writeln!(
                out,
                "{:<3} {:<6} {:<11} {:<18} {:<18} {}",
                c.protocol, expire, c.state, cname, vname, dname
            );
        }
    }
}

#[cfg(test)]
mod tests;
