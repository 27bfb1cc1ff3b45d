//! `/metrics`: a [`Snapshot`] rendered in the Prometheus text format
//! (version 0.0.4) with the `prometheus-client` crate, every name prefixed
//! `lvs_`. Pure: a fresh registry is filled from the snapshot for each
//! scrape, so the loop keeps no metric objects and shares nothing with the
//! HTTP thread but the snapshot.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

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
        "The longest turn of pulse's heartbeat loop so far (lateness plus work)",
        worst,
    );
    counter(
        &mut reg,
        "lvs_loop_stalls",
        "Turns of pulse's heartbeat loop longer than 50 ms",
        s.loop_stats.stalls,
    );
    counter(&mut reg, "lvs_loop_turns", "Turns of pulse's heartbeat loop", s.loop_stats.turns);
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_text::encode(&mut out, &reg);
    out
}

#[cfg(test)]
mod tests {
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
            loop_stats: LoopStats { turns: 9, stalls: 1, worst: Duration::from_millis(60) },
            reloads: Reloads { accepted: 2, refused: 1 },
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
            "lvs_lvsd_running 1\n",
        ] {
            assert!(m.contains(line), "{line:?} missing from\n{m}");
        }
        assert!(m.contains("lvs_build_info{version=\""), "{m}");
        for l in m.lines().filter(|l| !l.starts_with('#')) {
            assert!(l.starts_with("lvs_"), "{l}");
        }
    }
}
