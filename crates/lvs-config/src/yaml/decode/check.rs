//! Decoding a health check: the probe and what its results do.

use super::super::tree::Node;
use super::read::*;
use crate::diag::{Loc, Sink};
use crate::model::*;
use crate::values;

pub(super) fn check(sink: &mut Sink, n: Node, path: Loc) -> Option<HealthCheck> {
    let what = "`check`";
    let mut m = Map::new(sink, n, path, what)?;
    let kind_name = m.get(sink, "type").and_then(|(n, _)| {
        choice(
            sink,
            n,
            "type",
            &[
                ("connect", "connect"),
                ("program", "program"),
                ("agent", "agent"),
                ("http", "http"),
                ("ping", "ping"),
                ("dns", "dns"),
                ("none", "none"),
            ],
        )
    });
    let d = HealthCheck::default();
    let interval = m
        .get(sink, "interval")
        .and_then(|(n, _)| millis(sink, n, "interval"))
        .unwrap_or(d.interval);
    let timeout = m.get(sink, "timeout").and_then(|(n, _)| millis(sink, n, "timeout"));
    let reentry =
        m.get(sink, "reentry").and_then(|(n, _)| millis(sink, n, "reentry")).unwrap_or(d.reentry);
    let retries =
        m.get(sink, "retries").and_then(|(n, _)| u32_(sink, n, "retries", 1000)).unwrap_or(0);
    let quiesce =
        m.get(sink, "quiesce").and_then(|(n, _)| boolean(sink, n, "quiesce")).unwrap_or(false);
    let load_monitor = m
        .get(sink, "load_monitor")
        .and_then(|(n, _)| choice(sink, n, "load_monitor", values::LOAD))
        .unwrap_or_default();
    let via = m
        .get(sink, "via")
        .and_then(|(n, _)| {
            choice(sink, n, "via", &[("server", CheckVia::Server), ("vip", CheckVia::Vip)])
        })
        .unwrap_or_default();
    let opt_str = |m: &mut Map, sink: &mut Sink, key: &'static str| {
        m.get(sink, key).and_then(|(n, _)| string(sink, n, key))
    };
    let kind = match kind_name.unwrap_or("connect") {
        "connect" => CheckKind::Connect {
            send: opt_str(&mut m, sink, "send"),
            expect: opt_str(&mut m, sink, "expect"),
            regex: m
                .get(sink, "regex")
                .and_then(|(n, _)| boolean(sink, n, "regex"))
                .unwrap_or(false),
        },
        "program" => CheckKind::Program {
            command: m
                .need(sink, "command", "a program check")
                .and_then(|(n, _)| nonempty(sink, n, "command"))
                .unwrap_or_default(),
            expect: opt_str(&mut m, sink, "expect"),
        },
        "agent" => CheckKind::Agent {
            command: m
                .need(sink, "command", "an agent check")
                .and_then(|(n, _)| nonempty(sink, n, "command"))
                .unwrap_or_default(),
            on_up: m.get(sink, "on_up").and_then(|(n, _)| nonempty(sink, n, "on_up")),
            on_down: m.get(sink, "on_down").and_then(|(n, _)| nonempty(sink, n, "on_down")),
        },
        "http" => {
            let mut status = Vec::new();
            if let Some((list, _)) = m.get(sink, "status") {
                for item in seq(sink, list, "status") {
                    if let Some(code) = uint(sink, item, "status", 999) {
                        status.push(code as u16);
                    }
                }
            } else {
                status.push(200);
            }
            CheckKind::Http {
                path: opt_str(&mut m, sink, "path").unwrap_or_else(|| "/".to_owned()),
                host: m.get(sink, "host").and_then(|(n, _)| nonempty(sink, n, "host")),
                status,
                body_regex: opt_str(&mut m, sink, "body_regex"),
                tls: m.get(sink, "tls").and_then(|(n, _)| boolean(sink, n, "tls")).unwrap_or(false),
            }
        }
        "ping" => CheckKind::Ping {
            count: m
                .get(sink, "count")
                .and_then(|(n, _)| uint(sink, n, "count", 100))
                .map_or(crate::model::DEFAULT_PING_COUNT, |c| c as u16),
        },
        "dns" => CheckKind::Dns {
            query: m
                .need(sink, "query", "a dns check")
                .and_then(|(n, _)| nonempty(sink, n, "query"))
                .unwrap_or_default(),
            record: m
                .get(sink, "record")
                .and_then(|(n, _)| choice(sink, n, "record", values::DNS_RECORD_TYPES))
                .map(str::to_owned),
        },
        _ => CheckKind::None,
    };
    let kind_what = match kind {
        CheckKind::Connect { .. } => "a `connect` check",
        CheckKind::Program { .. } => "a `program` check",
        CheckKind::Agent { .. } => "a `agent` check",
        CheckKind::Http { .. } => "a `http` check",
        CheckKind::Ping { .. } => "a `ping` check",
        CheckKind::Dns { .. } => "a `dns` check",
        CheckKind::None => "a `none` check",
    };
    m.finish(sink, kind_what);
    Some(HealthCheck { kind, interval, timeout, reentry, retries, quiesce, load_monitor, via })
}
