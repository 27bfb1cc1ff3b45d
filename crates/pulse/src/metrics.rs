//! `/metrics`: a [`Snapshot`] rendered in the Prometheus text format
//! (version 0.0.4) with the `prometheus-client` crate, every name prefixed
//! `lvs_`. Pure: a fresh registry is filled from the snapshot for each
//! scrape, so the loop keeps no metric objects and shares nothing with the
//! HTTP thread but the snapshot.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::{prometheus_text, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

use crate::lvsd_link::LvsdView;
use crate::snapshot::Snapshot;
use crate::wire::Role;

/// The `Content-Type` of [`render`]'s output.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

type Labels = Vec<(&'static str, String)>;

fn counter(reg: &mut Registry, name: &str, help: &str, v: u64) {
    let c: Counter = Counter::default();
    c.inc_by(v);
    reg.register(name, help, c);
}

fn gauge(reg: &mut Registry, name: &str, help: &str, v: i64) {
    let g: Gauge = Gauge::default();
    g.set(v);
    reg.register(name, help, g);
}

/// The snapshot as Prometheus text. Counters count since pulse started
/// (a reload keeps them).
pub fn render(s: &Snapshot) -> String {
    let st = &s.status;
    let mut reg = Registry::default();
    let build: Family<Labels, Gauge> = Family::default();
    build
        .get_or_create(&vec![
            ("version", env!("CARGO_PKG_VERSION").to_owned()),
            ("router", st.name.clone()),
            ("protocol", st.protocol.to_owned()),
        ])
        .set(1);
    reg.register(
        "lvs_build_info",
        "pulse's version, this router's name and heartbeat protocol",
        build,
    );
    gauge(
        &mut reg,
        "lvs_router_active",
        "1 while this router holds the active role, else 0",
        i64::from(st.role == Role::Active),
    );
    counter(
        &mut reg,
        "lvs_router_transitions",
        "Changes of this router's role (standby to active and back)",
        st.transitions,
    );
    gauge(
        &mut reg,
        "lvs_lvsd_running",
        "1 while pulse's lvsd runs",
        i64::from(s.lvsd_pid.is_some()),
    );
    counter(&mut reg, "lvs_heartbeats_sent", "Heartbeats sent to the peers", st.sent);
    let received: Family<Labels, Counter> = Family::default();
    let heard: Family<Labels, Gauge<f64, AtomicU64>> = Family::default();
    let alive: Family<Labels, Gauge> = Family::default();
    let digest: Family<Labels, Gauge> = Family::default();
    for p in &st.peers {
        let l = vec![("peer", p.name.clone())];
        received.get_or_create(&l).inc_by(p.received);
        alive.get_or_create(&l).set(i64::from(p.alive));
        // Only a peer that was heard has a silence and a digest to compare.
        if let Some(d) = p.last_heard {
            heard.get_or_create(&l).set(d.as_secs_f64());
            digest.get_or_create(&l).set(i64::from(!p.config_mismatch));
        }
    }
    reg.register(
        "lvs_heartbeats_received",
        "Heartbeats accepted from each peer (authenticated, fresh, well formed)",
        received,
    );
    let dropped: Family<Labels, Counter> = Family::default();
    for (r, n) in st.drops.iter() {
        dropped.get_or_create(&vec![("reason", r.as_str().to_owned())]).inc_by(n);
    }
    reg.register(
        "lvs_heartbeats_dropped",
        "Heartbeats dropped before the election looked at them, by reason",
        dropped,
    );
    reg.register(
        "lvs_peer_last_heard_seconds",
        "Seconds since the last heartbeat accepted from each peer that was ever heard",
        heard,
    );
    reg.register("lvs_peer_alive", "1 while a peer is heard within deadtime", alive);
    reg.register(
        "lvs_config_digest_match",
        "1 when a peer's last heartbeat carried our configuration digest (native protocol)",
        digest,
    );
    let reloads: Family<Labels, Counter> = Family::default();
    reloads.get_or_create(&vec![("result", "accepted".to_owned())]).inc_by(s.reloads.accepted);
    reloads.get_or_create(&vec![("result", "refused".to_owned())]).inc_by(s.reloads.refused);
    reg.register("lvs_reloads", "Configuration reloads, by result", reloads);
    let worst: Gauge<f64, AtomicU64> = Gauge::default();
    worst.set(s.loop_stats.worst.as_secs_f64());
    reg.register(
        "lvs_loop_stall_seconds",
        "The longest turn of pulse's heartbeat loop so far (lateness plus work, less any pause of the machine under it)",
        worst,
    );
    counter(
        &mut reg,
        "lvs_loop_stalls",
        "Turns of pulse's heartbeat loop longer than 50 ms through pulse's own fault",
        s.loop_stats.stalls,
    );
    let worst_pause: Gauge<f64, AtomicU64> = Gauge::default();
    worst_pause.set(s.loop_stats.worst_pause.as_secs_f64());
    reg.register(
        "lvs_loop_pause_seconds",
        "The longest turn of pulse's heartbeat loop that was a pause of the machine under it (its CPU or every CPU not running)",
        worst_pause,
    );
    counter(
        &mut reg,
        "lvs_loop_pauses",
        "Turns of pulse's heartbeat loop longer than 50 ms because the machine under it (its CPU or every CPU) was not running",
        s.loop_stats.pauses,
    );
    let worst_wait: Gauge<f64, AtomicU64> = Gauge::default();
    worst_wait.set(s.loop_stats.worst_wait.as_secs_f64());
    reg.register(
        "lvs_loop_wait_seconds",
        "The longest time pulse's heartbeat loop, runnable, waited for a CPU in a turn longer than 50 ms",
        worst_wait,
    );
    counter(
        &mut reg,
        "lvs_loop_waits",
        "Turns of pulse's heartbeat loop longer than 50 ms because it waited for a CPU that a thread of equal or higher priority held",
        s.loop_stats.waits,
    );
    counter(&mut reg, "lvs_loop_turns", "Turns of pulse's heartbeat loop", s.loop_stats.turns);
    if let Some(v) = &s.lvsd {
        lvsd(&mut reg, v);
    }
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_text::encode(&mut out, &reg);
    out
}

/// Check-duration histograms as lvsd counted them (buckets of
/// `lvsd_api::CHECK_BUCKETS`), one per label set: `prometheus-client`'s own
/// histogram only counts observations, these arrive counted.
#[derive(Debug, Default)]
struct Checks(Vec<Histogram>);

/// Labels, sum, count and (upper bound, count) per bucket.
type Histogram = (Labels, f64, u64, Vec<(f64, u64)>);

impl TypedMetric for Checks {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Checks {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for (labels, sum, count, buckets) in &self.0 {
            encoder
                .encode_family(labels)?
                .encode_histogram::<NoLabelSet>(*sum, *count, buckets, None)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// What lvsd reported: real servers' health and checks, the kernel's
/// counters per service and per real server, nanny restarts.
fn lvsd(reg: &mut Registry, v: &LvsdView) {
    let r = &v.report;
    let up: Family<Labels, Gauge> = Family::default();
    let weight: Family<Labels, Gauge> = Family::default();
    let configured: Family<Labels, Gauge> = Family::default();
    let kept: Family<Labels, Gauge> = Family::default();
    let transitions: Family<Labels, Counter> = Family::default();
    let conns: Family<Labels, Counter> = Family::default();
    let packets: Family<Labels, Counter> = Family::default();
    let bytes: Family<Labels, Counter> = Family::default();
    let active: Family<Labels, Gauge> = Family::default();
    let inactive: Family<Labels, Gauge> = Family::default();
    let mut checks = Checks::default();
    let count = |l: &Labels, c: &lvsd_api::Counters| {
        conns.get_or_create(l).inc_by(c.connections);
        for (dir, p, b) in [("in", c.packets_in, c.bytes_in), ("out", c.packets_out, c.bytes_out)] {
            let mut l = l.clone();
            l.push(("direction", dir.to_owned()));
            packets.get_or_create(&l).inc_by(p);
            bytes.get_or_create(&l).inc_by(b);
        }
        active.get_or_create(l).set(i64::try_from(c.active_connections).unwrap_or(i64::MAX));
        inactive.get_or_create(l).set(i64::try_from(c.inactive_connections).unwrap_or(i64::MAX));
    };
    for svc in &r.services {
        let sl: Labels = vec![("service", svc.service.clone())];
        if let Some(c) = &svc.counters {
            count(&sl, c);
        }
        for srv in &svc.servers {
            let mut l = sl.clone();
            l.push(("server", srv.server.clone()));
            up.get_or_create(&l).set(i64::from(srv.health == lvsd_api::Health::Up));
            weight.get_or_create(&l).set(i64::from(srv.weight.unwrap_or(0)));
            configured.get_or_create(&l).set(i64::from(srv.configured_weight));
            kept.get_or_create(&l).set(i64::from(srv.kept_by_threshold));
            transitions.get_or_create(&l).inc_by(srv.transitions);
            if let Some(c) = &srv.counters {
                count(&l, c);
            }
            // A server not checked yet has an empty histogram.
            let c = &srv.checks;
            let counts = c.buckets.iter().copied().chain(std::iter::repeat(0));
            let bounds = lvsd_api::CHECK_BUCKETS.iter().copied().chain([f64::INFINITY]);
            checks.0.push((l, c.sum, c.count, bounds.zip(counts).collect()));
        }
    }
    reg.register(
        "lvs_real_server_up",
        "1 while the real server's health check says it is up, else 0",
        up,
    );
    reg.register(
        "lvs_real_server_weight",
        "The real server's weight in the kernel's IPVS table now (0 when not in it)",
        weight,
    );
    reg.register(
        "lvs_real_server_configured_weight",
        "The weight the configuration gives the real server",
        configured,
    );
    reg.register(
        "lvs_real_server_kept_by_threshold",
        "1 while the real server is in the table only because of its service's depool threshold (min_up)",
        kept,
    );
    reg.register(
        "lvs_real_server_check_duration_seconds",
        "How long the real server's health checks took",
        checks,
    );
    reg.register(
        "lvs_real_server_transitions",
        "Changes of the real server's health verdict since lvsd started",
        transitions,
    );
    reg.register(
        "lvs_ipvs_connections",
        "Connections IPVS scheduled (per service, and per real server with a server label)",
        conns,
    );
    reg.register("lvs_ipvs_packets", "Packets IPVS forwarded, by direction", packets);
    reg.register("lvs_ipvs_bytes", "Bytes IPVS forwarded, by direction", bytes);
    reg.register(
        "lvs_ipvs_active_connections",
        "Active (established) connections in IPVS now",
        active,
    );
    reg.register("lvs_ipvs_inactive_connections", "Inactive connections in IPVS now", inactive);
    counter(
        reg,
        "lvs_nanny_restarts",
        "Health-check processes (nannies) lvsd restarted since it started",
        r.nanny_restarts,
    );
    gauge(
        reg,
        "lvs_lvsd_ready",
        "1 when every real server's nanny has given a first verdict",
        i64::from(r.ready),
    );
    counter(
        reg,
        "lvs_lvsd_reports_dropped",
        "Lines on lvsd's report socket that pulse could not read",
        v.dropped,
    );
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::control::tests::status;
    use crate::snapshot::Reloads;
    use crate::stall::LoopStats;
    use std::time::{Duration, Instant};

    #[test]
    fn router_metrics() {
        let s = Snapshot {
            status: status(),
            taken: Instant::now(),
            lvsd_pid: Some(7),
            loop_stats: LoopStats {
                turns: 9,
                stalls: 1,
                worst: Duration::from_millis(60),
                pauses: 3,
                worst_pause: Duration::from_millis(250),
                waits: 2,
                worst_wait: Duration::from_millis(75),
            },
            reloads: Reloads { accepted: 2, refused: 1 },
            lvsd: None,
            events: Default::default(),
        };
        let m = render(&s);
        for line in [
            "# TYPE lvs_router_active gauge\nlvs_router_active 1\n",
            "lvs_router_transitions_total 3\n",
            "lvs_heartbeats_sent_total 12\n",
            "lvs_heartbeats_received_total{peer=\"lvs\\\"2\"} 5\n",
            "lvs_heartbeats_dropped_total{reason=\"bad_mac\"} 1\n",
            "lvs_peer_last_heard_seconds{peer=\"lvs\\\"2\"} 1.234\n",
            "lvs_config_digest_match{peer=\"lvs\\\"2\"} 1\n",
            "lvs_reloads_total{result=\"accepted\"} 2\n",
            "lvs_reloads_total{result=\"refused\"} 1\n",
            "lvs_loop_stall_seconds 0.06\n",
            "lvs_loop_stalls_total 1\n",
            "lvs_loop_pause_seconds 0.25\n",
            "lvs_loop_pauses_total 3\n",
            "lvs_loop_wait_seconds 0.075\n",
            "lvs_loop_waits_total 2\n",
            "lvs_lvsd_running 1\n",
        ] {
            assert!(m.contains(line), "{line:?} missing from\n{m}");
        }
        assert!(m.contains("lvs_build_info{version=\""), "{m}");
        for l in m.lines().filter(|l| !l.starts_with('#')) {
            assert!(l.starts_with("lvs_"), "{l}");
        }
    }

    pub(crate) fn lvsd_view() -> crate::lvsd_link::LvsdView {
        use lvsd_api::{Checks, Counters, Health, Report, Server, Service};
        let mut checks = Checks::default();
        checks.observe(true, 0.002, "HTTP status 200");
        checks.observe(false, 2.0, "timed out after 2s");
        let c = Counters {
            connections: 10,
            packets_in: 50,
            packets_out: 40,
            bytes_in: 5000,
            bytes_out: 90000,
            active_connections: 2,
            inactive_connections: 1,
        };
        crate::lvsd_link::LvsdView {
            report: Report {
                version: lvsd_api::VERSION,
                pid: 9,
                ready: true,
                nanny_restarts: 4,
                counters_age: Some(0.2),
                services: vec![Service {
                    service: "tcp:10.0.0.100:80".into(),
                    counters: Some(c),
                    servers: vec![
                        Server {
                            server: "192.168.10.2:80".into(),
                            health: Health::Up,
                            reason: "check ok".into(),
                            since: 3.0,
                            configured_weight: 2,
                            weight: Some(2),
                            transitions: 1,
                            checks,
                            counters: Some(c),
                            kept_by_threshold: false,
                            operator: None,
                        },
                        Server {
                            server: "192.168.10.3:80".into(),
                            health: Health::Down,
                            reason: "check failed: connect: Connection refused".into(),
                            since: 1.0,
                            configured_weight: 1,
                            weight: None,
                            transitions: 2,
                            checks: Checks::default(),
                            counters: None,
                            kept_by_threshold: true,
                            operator: Some("disabled".into()),
                        },
                    ],
                }],
            },
            received: Instant::now(),
            dropped: 0,
        }
    }

    #[test]
    fn lvsd_metrics() {
        let s = Snapshot {
            status: status(),
            taken: Instant::now(),
            lvsd_pid: Some(9),
            loop_stats: LoopStats::default(),
            reloads: Reloads::default(),
            lvsd: Some(std::sync::Arc::new(lvsd_view())),
            events: Default::default(),
        };
        let m = render(&s);
        let a = "service=\"tcp:10.0.0.100:80\",server=\"192.168.10.2:80\"";
        let b = "service=\"tcp:10.0.0.100:80\",server=\"192.168.10.3:80\"";
        for line in [
            format!("lvs_real_server_up{{{a}}} 1\n"),
            format!("lvs_real_server_up{{{b}}} 0\n"),
            format!("lvs_real_server_weight{{{a}}} 2\n"),
            format!("lvs_real_server_weight{{{b}}} 0\n"),
            format!("lvs_real_server_kept_by_threshold{{{a}}} 0\n"),
            format!("lvs_real_server_kept_by_threshold{{{b}}} 1\n"),
            format!("lvs_real_server_transitions_total{{{b}}} 2\n"),
            format!("lvs_real_server_check_duration_seconds_count{{{a}}} 2\n"),
            format!("lvs_real_server_check_duration_seconds_bucket{{{a},le=\"0.0025\"}} 1\n"),
            format!("lvs_real_server_check_duration_seconds_bucket{{{a},le=\"+Inf\"}} 2\n"),
            format!("lvs_real_server_check_duration_seconds_count{{{b}}} 0\n"),
            format!("lvs_ipvs_connections_total{{{a}}} 10\n"),
            "lvs_ipvs_connections_total{service=\"tcp:10.0.0.100:80\"} 10\n".to_owned(),
            format!("lvs_ipvs_bytes_total{{{a},direction=\"out\"}} 90000\n"),
            format!("lvs_ipvs_packets_total{{{a},direction=\"in\"}} 50\n"),
            format!("lvs_ipvs_active_connections{{{a}}} 2\n"),
            format!("lvs_ipvs_inactive_connections{{{a}}} 1\n"),
            "lvs_nanny_restarts_total 4\n".to_owned(),
            "lvs_lvsd_ready 1\n".to_owned(),
        ] {
            assert!(m.contains(&line), "{line:?} missing from\n{m}");
        }
        std::fs::write(std::env::temp_dir().join("pulse-lvsd-metrics.txt"), &m).unwrap();
    }

    /// The Grafana dashboard of `etc/` asks only for metrics pulse exports.
    #[test]
    fn the_dashboard_uses_exported_metrics() {
        let dash = include_str!("../../../etc/grafana-lvs-router.json");
        let v: serde_json::Value = serde_json::from_str(dash).unwrap();
        let s = Snapshot {
            status: status(),
            taken: Instant::now(),
            lvsd_pid: Some(9),
            loop_stats: LoopStats::default(),
            reloads: Reloads::default(),
            lvsd: Some(std::sync::Arc::new(lvsd_view())),
            events: Default::default(),
        };
        let m = render(&s);
        let mut exprs = 0;
        for p in v["panels"].as_array().unwrap() {
            for t in p["targets"].as_array().into_iter().flatten() {
                let e = t["expr"].as_str().unwrap();
                exprs += 1;
                let mut rest = e;
                while let Some(at) = rest.find("lvs_") {
                    let name: String = rest[at..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    assert!(
                        m.contains(&format!("\n{name}{{")) || m.contains(&format!("\n{name} ")),
                        "{name} (in {e}) is not exported"
                    );
                    rest = &rest[at + name.len()..];
                }
            }
        }
        assert!(exprs >= 15, "{exprs}");
    }
}
