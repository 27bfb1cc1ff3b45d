//! ipvsadm's `process_options` after parsing: the per-command checks,
//! then the `ipvs` model values and the [`Action`] built from the records.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipvs::{
    Command, DaemonConfig, DaemonState, Dest, DestKey, Family, ForwardMethod, Netmask, Protocol,
    Service, ServiceFlags, ServiceKey, Tunnel, TunnelCsum, TunnelType,
};

use super::record::{Entry, RawDest, RawSvc};
use super::table::*;
use super::{fail, Action, CliError, Cmd, Format};

pub(super) fn addr_of(af: u16, bytes: &[u8; 16]) -> IpAddr {
    if af == Family::Inet6.to_raw() {
        IpAddr::V6(Ipv6Addr::from(*bytes))
    } else {
        IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))
    }
}

pub(super) fn service_key(s: &RawSvc) -> ServiceKey {
    if s.fwmark != 0 {
        let family =
            if s.af == Family::Inet6.to_raw() { ipvs::Family::Inet6 } else { ipvs::Family::Inet };
        return ServiceKey::Fwmark { family, mark: s.fwmark };
    }
    ServiceKey::Addr {
        protocol: Protocol::from_raw(s.protocol),
        addr: addr_of(s.af, &s.addr),
        port: s.port,
    }
}

pub(super) fn service(s: &RawSvc) -> Service {
    let key = service_key(s);
    let netmask = if s.af == Family::Inet6.to_raw() {
        Netmask::V6Prefix(s.netmask)
    } else {
        Netmask::V4(Ipv4Addr::from(s.netmask.to_ne_bytes()))
    };
    let mut svc = Service::new(key);
    svc.scheduler = s.sched_name.clone();
    svc.flags = ServiceFlags(s.flags);
    svc.timeout = s.timeout;
    svc.netmask = netmask;
    svc.pe_name = (!s.pe_name.is_empty()).then(|| s.pe_name.clone());
    svc
}

pub(super) fn dest(d: &RawDest) -> Dest {
    let mut out = Dest::new(addr_of(d.af, &d.addr), d.port);
    out.fwd = d.fwd;
    out.weight = d.weight;
    out.upper_threshold = d.u_threshold;
    out.lower_threshold = d.l_threshold;
    out.tunnel = Tunnel {
        kind: TunnelType::from_raw(d.tun_type),
        port: d.tun_port,
        csum: TunnelCsum::from_raw(d.tun_flags),
    };
    out
}

/// ipvsadm's `process_options` after parsing: the legality table and the
/// per-command checks, then the action.
pub(super) fn process(mut ce: Entry) -> Result<Action, CliError> {
    generic_opt_check(ce.cmd, ce.options)?;
    let has = |optc: usize| ce.options & (1u64 << optc) != 0;
    if ce.format.json && ce.cmd != Cmd::List {
        return fail(format!(
            "Illegal 'json' option with the '{}' command",
            CMDNAMES[ce.cmd as usize]
        ));
    }
    if matches!(ce.cmd, Cmd::Add | Cmd::Edit) {
        if ce.svc.fwmark == 0 && ce.svc.port == 0 && ce.svc.flags & ServiceFlags::PERSISTENT.0 == 0
        {
            return fail("Zero port specified for non-persistent service");
        }
        if ce.svc.flags & ServiceFlags::ONEPACKET.0 != 0
            && ce.svc.fwmark == 0
            && ce.svc.protocol != Protocol::Udp.to_raw()
        {
            return fail("One-Packet Scheduling is only for UDP virtual services");
        }
        if ce.svc.sched_name.is_empty() {
            ce.svc.sched_name = "wlc".to_string();
        }
    }
    if ce.cmd == Cmd::StartDaemon && ce.daemon.mcast_ifn.is_empty() {
        ce.daemon.mcast_ifn = "eth0".to_string();
    }
    let fwd = ce.dest.fwd;
    if matches!(ce.cmd, Cmd::AddDest | Cmd::EditDest) {
        if ce.svc.fwmark == 0 && (fwd == ForwardMethod::Tunnel || fwd == ForwardMethod::Route) {
            ce.dest.port = ce.svc.port;
        }
        if ce.dest.af != ce.svc.af && fwd != ForwardMethod::Tunnel {
            return fail("Different address family is allowed only for tunneling servers");
        }
        let tun_opts =
            [OPTC_TUN_TYPE, OPTC_TUN_PORT, OPTC_TUN_NOCSUM, OPTC_TUN_CSUM, OPTC_TUN_REMCSUM];
        if tun_opts.iter().any(|&o| has(o)) && fwd != ForwardMethod::Tunnel {
            return fail("Tunnel options conflict with forward method");
        }
        tunnel_opt_check(ce.dest.tun_type, ce.options)?;
    }
    let key = service_key(&ce.svc);
    let action = match ce.cmd {
        Cmd::List => {
            if ((has(OPTC_CONNECTION) || has(OPTC_TIMEOUT) || has(OPTC_DAEMON))
                && (has(OPTC_STATS) || has(OPTC_RATE) || has(OPTC_THRESHOLDS)))
                || ((has(OPTC_TIMEOUT) || has(OPTC_DAEMON)) && has(OPTC_PERSISTENTCONN))
            {
                return fail("options conflicts in the list command");
            }
            if has(OPTC_CONNECTION) {
                Action::ListConns(ce.format)
            } else if has(OPTC_SERVICE) {
                Action::ListService(key, ce.format)
            } else if has(OPTC_TIMEOUT) {
                Action::ListTimeout(ce.format)
            } else if has(OPTC_DAEMON) {
                Action::ListDaemon(ce.format)
            } else {
                Action::ListAll(ce.format)
            }
        }
        Cmd::Restore => Action::Restore,
        Cmd::Save => Action::Save(Format { rule: true, ..ce.format }),
        Cmd::Flush => Action::Apply(Command::Flush),
        Cmd::Add => Action::Apply(Command::AddService(service(&ce.svc))),
        Cmd::Edit => Action::Apply(Command::EditService(service(&ce.svc))),
        Cmd::Del => Action::Apply(Command::DelService(key)),
        Cmd::Zero => {
            // libipvs sends no service (zero everything) when none was named.
            let none = ce.svc.fwmark == 0 && ce.svc.addr == [0; 16] && ce.svc.port == 0;
            Action::Apply(Command::Zero((!none).then_some(key)))
        }
        Cmd::AddDest => Action::Apply(Command::AddDest(key, dest(&ce.dest))),
        Cmd::EditDest => Action::Apply(Command::EditDest(key, dest(&ce.dest))),
        Cmd::DelDest => {
            let d = dest(&ce.dest);
            Action::Apply(Command::DelDest(key, DestKey { addr: d.addr, port: d.port }))
        }
        Cmd::Timeout => Action::Apply(Command::SetTimeouts(ce.timeout)),
        Cmd::StartDaemon => {
            let d = &ce.daemon;
            let mut cfg = DaemonConfig::new(DaemonState::from_raw(d.state), &d.mcast_ifn, d.syncid);
            cfg.maxlen = (d.sync_maxlen != 0).then_some(d.sync_maxlen);
            cfg.group = d.mcast_group;
            cfg.port = (d.mcast_port != 0).then_some(d.mcast_port);
            cfg.ttl = (d.mcast_ttl != 0).then_some(d.mcast_ttl);
            Action::Apply(Command::StartDaemon(cfg))
        }
        Cmd::StopDaemon => {
            Action::Apply(Command::StopDaemon(DaemonState::from_raw(ce.daemon.state)))
        }
    };
    Ok(action)
}
