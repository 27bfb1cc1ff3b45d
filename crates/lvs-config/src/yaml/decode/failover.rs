//! Decoding a failover (FOS) service.

use std::path::PathBuf;

use super::super::tree::Node;
use super::check::check;
use super::placeholder_vip;
use super::read::*;
use super::service::vip;
use crate::diag::{Loc, Sink};
use crate::model::*;
use crate::values;

pub(super) fn failover_service(sink: &mut Sink, n: Node, path: Loc) -> Option<FailoverService> {
    let what = "a failover service";
    let mut m = Map::new(sink, n, path, what)?;
    let name = name(sink, &mut m, what);
    let active =
        m.get(sink, "active").and_then(|(n, _)| boolean(sink, n, "active")).unwrap_or(true);
    let vip = m.need(sink, "vip", what).and_then(|(n, p)| vip(sink, n, p));
    let port = m.get(sink, "port").and_then(|(n, _)| port(sink, n, "port")).unwrap_or(80);
    let protocol = m
        .get(sink, "protocol")
        .and_then(|(n, _)| choice(sink, n, "protocol", values::PROTOCOLS))
        .unwrap_or_default();
    let check = m.get(sink, "check").and_then(|(n, p)| check(sink, n, p)).unwrap_or_default();
    let monitor =
        m.get(sink, "monitor").and_then(|(n, _)| nonempty(sink, n, "monitor")).map(PathBuf::from);
    let start_cmd =
        m.need(sink, "start_cmd", what).and_then(|(n, _)| nonempty(sink, n, "start_cmd"));
    let stop_cmd = m.need(sink, "stop_cmd", what).and_then(|(n, _)| nonempty(sink, n, "stop_cmd"));
    m.finish(sink, what);
    Some(FailoverService {
        name: name.unwrap_or_default(),
        active,
        vip: vip.unwrap_or_else(placeholder_vip),
        port,
        protocol,
        check,
        monitor,
        start_cmd: start_cmd.unwrap_or_default(),
        stop_cmd: stop_cmd.unwrap_or_default(),
    })
}
