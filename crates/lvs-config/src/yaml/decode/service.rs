//! Decoding a virtual service, its VIP and its real servers.

use std::path::PathBuf;

use super::super::tree::Node;
use super::check::check;
use super::read::*;
use super::{address_on_interface, placeholder_vip, UNSPECIFIED};
use crate::diag::{Loc, Sink};
use crate::model::*;
use crate::values;

pub(super) fn vip(sink: &mut Sink, n: Node, path: Loc) -> Option<Vip> {
    let (address, interface, netmask) = address_on_interface(sink, n, path, "`vip`")?;
    Some(Vip { address, interface, netmask })
}

pub(super) fn virtual_service(sink: &mut Sink, n: Node, path: Loc) -> Option<VirtualService> {
    let what = "a virtual service";
    let mut m = Map::new(sink, n, path, what)?;
    let name = name(sink, &mut m, what);
    let active =
        m.get(sink, "active").and_then(|(n, _)| boolean(sink, n, "active")).unwrap_or(true);
    let vip = m.need(sink, "vip", what).and_then(|(n, p)| vip(sink, n, p));
    let vport = m.get(sink, "port").and_then(|(n, _)| port(sink, n, "port")).unwrap_or(80);
    let fwmark = m.get(sink, "fwmark").and_then(|(n, _)| u32_(sink, n, "fwmark", u32::MAX));
    let protocol = m
        .get(sink, "protocol")
        .and_then(|(n, _)| choice(sink, n, "protocol", values::PROTOCOLS))
        .unwrap_or_default();
    let scheduler = m
        .get(sink, "scheduler")
        .and_then(|(n, _)| nonempty(sink, n, "scheduler"))
        .map(Scheduler)
        .unwrap_or_default();
    let mut scheduler_flags = Vec::new();
    if let Some((list, _)) = m.get(sink, "scheduler_flags") {
        for item in seq(sink, list, "scheduler_flags") {
            let Some(t) = string(sink, item, "scheduler_flags") else { continue };
            match values::sched_flag(&t, &scheduler.0) {
                Ok(f) if scheduler_flags.contains(&f) => {
                    sink.error(item.pos(), format!("scheduler flag `{t}` is given twice"))
                }
                Ok(f) => scheduler_flags.push(f),
                Err(e) => sink.error(item.pos(), e),
            }
        }
    }
    let v6 = vip.as_ref().map(|v| v.address.is_ipv6());
    let persistence = m.get(sink, "persistence").and_then(|(n, p)| {
        let mut pm = Map::new(sink, n, p, "`persistence`")?;
        let timeout = pm
            .need(sink, "timeout", "`persistence`")
            .and_then(|(n, _)| u32_(sink, n, "timeout", u32::MAX));
        let netmask = pm.get(sink, "netmask").and_then(|(n, _)| netmask(sink, n, "netmask", v6));
        pm.finish(sink, "`persistence`");
        Some(Persistence { timeout: timeout.unwrap_or(1), netmask })
    });
    let one_packet = m
        .get(sink, "one_packet")
        .and_then(|(n, _)| boolean(sink, n, "one_packet"))
        .unwrap_or(false);
    let sorry_server = m.get(sink, "sorry_server").and_then(|(n, _)| {
        let (t, _) = scalar(sink, n, "sorry_server", "an address")?;
        values::socket_addr(t, vport)
            .map_err(|e| sink.error(n.pos(), format!("`sorry_server`: {e}")))
            .ok()
    });
    let monitor =
        m.get(sink, "monitor").and_then(|(n, _)| nonempty(sink, n, "monitor")).map(PathBuf::from);
    let check = m.get(sink, "check").and_then(|(n, p)| check(sink, n, p)).unwrap_or_default();
    let mut real_servers = Vec::new();
    if let Some((list, lp)) = m.get(sink, "real_servers") {
        let items = seq(sink, list, "real_servers");
        real_servers.reserve_exact(items.len());
        for (i, item) in items.enumerate() {
            let at = sink.loc(lp, i, item.pos());
            if let Some(r) = real_server(sink, item, at, vport) {
                real_servers.push(r);
            }
        }
    }
    let min_up = m.get(sink, "min_up").and_then(|(n, _)| {
        let (t, _) = scalar(sink, n, "min_up", "a percentage or a count")?;
        MinUp::parse(t).map_err(|e| sink.error(n.pos(), format!("`min_up`: {e}"))).ok()
    });
    let drain_timeout = m
        .get(sink, "drain_timeout")
        .and_then(|(n, _)| millis(sink, n, "drain_timeout"))
        .unwrap_or(DEFAULT_DRAIN_TIMEOUT);
    m.finish(sink, what);
    Some(VirtualService {
        name: name.unwrap_or_default(),
        active,
        vip: vip.unwrap_or_else(placeholder_vip),
        port: vport,
        fwmark,
        protocol,
        scheduler,
        scheduler_flags,
        persistence,
        one_packet,
        sorry_server,
        monitor,
        check,
        real_servers,
        min_up,
        drain_timeout,
    })
}

pub(super) fn real_server(sink: &mut Sink, n: Node, path: Loc, vport: u16) -> Option<RealServer> {
    let what = "a real server";
    let mut m = Map::new(sink, n, path, what)?;
    let name = name(sink, &mut m, what);
    let address = m.need(sink, "address", what).and_then(|(n, _)| ip(sink, n, "address"));
    let port = m.get(sink, "port").and_then(|(n, _)| port(sink, n, "port")).unwrap_or(vport);
    let weight =
        m.get(sink, "weight").and_then(|(n, _)| u32_(sink, n, "weight", 65535)).unwrap_or(1);
    let forwarding =
        m.get(sink, "forwarding").and_then(|(n, _)| choice(sink, n, "forwarding", values::FORWARD));
    let max = i32::MAX as u32;
    let upper_threshold = m
        .get(sink, "upper_threshold")
        .and_then(|(n, _)| u32_(sink, n, "upper_threshold", max))
        .unwrap_or(0);
    let lower_threshold = m
        .get(sink, "lower_threshold")
        .and_then(|(n, _)| u32_(sink, n, "lower_threshold", max))
        .unwrap_or(0);
    let active =
        m.get(sink, "active").and_then(|(n, _)| boolean(sink, n, "active")).unwrap_or(true);
    m.finish(sink, what);
    Some(RealServer {
        name: name.unwrap_or_default(),
        address: address.unwrap_or(UNSPECIFIED),
        port,
        weight,
        forwarding,
        upper_threshold,
        lower_threshold,
        active,
    })
}
