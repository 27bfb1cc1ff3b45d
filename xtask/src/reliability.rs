//! The reliability section of `docs/benchmarks.md`, from the chaos suite's
//! console (`tests/vm/chaos/`): one `chaos-round:` line per round and a
//! `chaos-summary:` line at the end. `cargo xtask bench --only chaos`
//! writes the section between [`BEGIN`] and [`END`] and draws the client
//! outage and time to one active router as an SVG next to it
//! ([`PLOT`], with plotters' SVG backend).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use plotters::prelude::*;

/// Markers around the generated section in `docs/benchmarks.md`.
pub const BEGIN: &str = "<!-- cargo xtask bench --only chaos: begin -->";
/// End marker.
pub const END: &str = "<!-- cargo xtask bench --only chaos: end -->";
/// The plot, next to `docs/benchmarks.md`.
pub const PLOT: &str = "chaos-outage.svg";

/// One round as the suite printed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Round {
    /// `pair` or `pool`.
    pub topology: String,
    /// The fault's name.
    pub fault: String,
    /// From the heal to exactly one active router holding the VIP, ms.
    pub to_one_active_ms: u64,
    /// The longest time the client went unanswered in the round, ms.
    pub outage_ms: u64,
}

/// The run: seed, rounds and the stall detector's worst turn.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Run {
    /// The seed the suite printed.
    pub seed: String,
    /// Every round, in order.
    pub rounds: Vec<Round>,
    /// Worst loop turn of a pulse checked by the suite, µs.
    pub worst_turn_us: u64,
    /// Stalls (turns over 50 ms of pulse's own) on those pulses.
    pub stalls: u64,
    /// Pauses of the machine under the loop, and the worst (µs).
    pub pauses: (u64, u64),
    /// Turns that waited for a CPU, and the longest wait (µs).
    pub waits: (u64, u64),
    /// The summary line was seen: the suite finished every round.
    pub finished: bool,
}

impl Run {
    /// Takes one console line; true if it was the suite's.
    pub fn take_line(&mut self, line: &str) -> bool {
        if let Some(at) = line.find("chaos-round: ") {
            let cells: Vec<&str> = line[at + "chaos-round: ".len()..].trim().split('|').collect();
            if let [_, topo, fault, one, outage] = cells.as_slice() {
                if let (Ok(one), Ok(outage)) = (one.parse(), outage.parse()) {
                    self.rounds.push(Round {
                        topology: (*topo).to_owned(),
                        fault: (*fault).to_owned(),
                        to_one_active_ms: one,
                        outage_ms: outage,
                    });
                    return true;
                }
            }
        } else if let Some(at) = line.find("chaos-summary: ") {
            let cells: Vec<&str> = line[at + "chaos-summary: ".len()..].trim().split('|').collect();
            if let [seed, _, worst, stalls, rest @ ..] = cells.as_slice() {
                let num = |k: usize| rest.get(k).and_then(|c| c.parse().ok()).unwrap_or(0);
                self.seed = (*seed).to_owned();
                self.worst_turn_us = worst.parse().unwrap_or(0);
                self.stalls = stalls.parse().unwrap_or(0);
                self.pauses = (num(0), num(1));
                self.waits = (num(2), num(3));
                self.finished = true;
                return true;
            }
        }
        false
    }
}

fn percentile(sorted: &[u64], p: usize) -> u64 {
    sorted.get(sorted.len().saturating_sub(1) * p / 100).copied().unwrap_or(0)
}

/// The section's Markdown (between the markers).
pub fn section(run: &Run, date: &str) -> String {
    let mut s = String::new();
    let n = run.rounds.len();
    let pair = run.rounds.iter().filter(|r| r.topology == "pair").count();
    let mut one: Vec<u64> = run.rounds.iter().map(|r| r.to_one_active_ms).collect();
    let mut out: Vec<u64> = run.rounds.iter().map(|r| r.outage_ms).collect();
    one.sort_unstable();
    out.sort_unstable();
    let _ = writeln!(
        s,
        "{n} rounds ({pair} on a two-router pair, {} on a three-router pool), seed {} \
         ({date}; replay with `LVS_CHAOS_SEED={} LVS_CHAOS_ROUNDS={n} cargo xtask vm-test --suite chaos`).\n",
        n - pair,
        run.seed,
        run.seed
    );
    let _ = writeln!(
        s,
        "- Rounds ending with two or zero active routers: **0** (the suite fails the run at the first such round; all {n} passed).\n\
         - Worst time from a heal to exactly one active router holding the VIP: **{} ms** (bound: dead time 1.5 s + 1 s, plus 1.5 s for the emulated guest).\n\
         - Client-visible outage per round (longest time without an answer, client every 20 ms): median {} ms, p90 {} ms, p99 {} ms, max {} ms.\n\
         - Stall detector (pulses not SIGSTOPped by the suite): {} stalls (turns over 50 ms of pulse's own); worst turn {:.1} ms; \
         counted apart, {} pauses of the machine under the loop (worst {:.1} ms) and {} turns that waited for a CPU (longest wait {:.1} ms).\n\
         - Clock offsets (`clock-offset`): the router's pulse is restarted in a time namespace whose \
         monotonic and boot-time clocks run up to four months ahead, and keeps that offset. Wall clocks \
         cannot be offset that way (the guest has one kernel, so one wall clock); \
         `crates/pulse/tests/freshness.rs` skews routers' wall clocks on the host with an `LD_PRELOAD` shim.\n",
        one.last().copied().unwrap_or(0),
        percentile(&out, 50),
        percentile(&out, 90),
        percentile(&out, 99),
        out.last().copied().unwrap_or(0),
        run.stalls,
        run.worst_turn_us as f64 / 1000.0,
        run.pauses.0,
        run.pauses.1 as f64 / 1000.0,
        run.waits.0,
        run.waits.1 as f64 / 1000.0
    );
    let mut by: BTreeMap<&str, Vec<&Round>> = BTreeMap::new();
    for r in &run.rounds {
        by.entry(r.fault.as_str()).or_default().push(r);
    }
    s.push_str(
        "| Fault | Rounds | Time to one active, median / max (ms) | Client outage, median / max (ms) |\n\
         | --- | --- | --- | --- |\n",
    );
    for (fault, rs) in &by {
        let mut a: Vec<u64> = rs.iter().map(|r| r.to_one_active_ms).collect();
        let mut o: Vec<u64> = rs.iter().map(|r| r.outage_ms).collect();
        a.sort_unstable();
        o.sort_unstable();
        let _ = writeln!(
            s,
            "| {fault} | {} | {} / {} | {} / {} |",
            rs.len(),
            percentile(&a, 50),
            a.last().copied().unwrap_or(0),
            percentile(&o, 50),
            o.last().copied().unwrap_or(0)
        );
    }
    let _ =
        writeln!(s, "\n![Client outage and time to one active router per round, sorted]({PLOT})");
    s
}

/// Puts `section` between the markers of `doc` (appended with a heading
/// when the markers are not there yet).
pub fn update_doc(doc: &str, section: &str) -> String {
    match (doc.find(BEGIN), doc.find(END)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{BEGIN}\n{section}{END}{}", &doc[..b], &doc[e + END.len()..])
        }
        _ => format!(
            "{}\n\n## Reliability: chaos rounds\n\n`cargo xtask bench --only chaos` (`tests/vm/chaos/`): random faults against pulse, lvsd and the nannies in the test guest, a client requesting the VIP through IPVS every 20 ms.\n\n{BEGIN}\n{section}{END}\n",
            doc.trim_end()
        ),
    }
}

/// Draws both figures per round, each sorted ascending (so the curve reads
/// as a distribution), as an SVG at `path`.
///
/// # Errors
/// When the file cannot be drawn.
pub fn plot(run: &Run, path: &Path) -> anyhow::Result<()> {
    let mut out: Vec<u64> = run.rounds.iter().map(|r| r.outage_ms).collect();
    let mut one: Vec<u64> = run.rounds.iter().map(|r| r.to_one_active_ms).collect();
    out.sort_unstable();
    one.sort_unstable();
    let top = out.iter().chain(&one).copied().max().unwrap_or(1).max(1);
    let n = run.rounds.len().max(1);
    let root = SVGBackend::new(path, (720, 400)).into_drawing_area();
    let draw = || -> Result<(), Box<dyn std::error::Error>> {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("Chaos: {} rounds, sorted", run.rounds.len()), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0..n, 0..top + top / 10)?;
        chart.configure_mesh().x_desc("rounds, sorted by the value").y_desc("ms").draw()?;
        chart
            .draw_series(LineSeries::new(out.iter().enumerate().map(|(i, v)| (i, *v)), &RED))?
            .label("client outage (longest gap without an answer)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], RED));
        chart
            .draw_series(LineSeries::new(one.iter().enumerate().map(|(i, v)| (i, *v)), &BLUE))?
            .label("heal to exactly one active router")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLUE));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
        Ok(())
    };
    draw()
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("drawing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> Run {
        let mut r = Run::default();
        for l in [
            "[ 12.0] chaos-round: 1|pair|kill9-pulse|1800|2100",
            "chaos-round: 2|pool|sighup-valid|20|40",
            "chaos-round: 3|pool|kill9-pulse|1700|1900",
            "chaos-summary: 42|3|12345|0|2|103800|1|36900",
        ] {
            assert!(r.take_line(l), "{l}");
        }
        assert!(!r.take_line("chaos: seed 42"));
        r
    }

    #[test]
    fn lines_make_a_section_with_every_fault_and_the_figures() {
        let r = run();
        assert_eq!(r.rounds.len(), 3);
        assert!(r.finished && r.seed == "42" && r.worst_turn_us == 12345);
        let s = section(&r, "2026-12-02");
        assert!(
            s.starts_with("3 rounds (1 on a two-router pair, 2 on a three-router pool), seed 42"),
            "{s}"
        );
        assert!(s.contains("| kill9-pulse | 2 | 1700 / 1800 | 1900 / 2100 |"), "{s}");
        assert!(s.contains("| sighup-valid | 1 | 20 / 20 | 40 / 40 |"), "{s}");
        assert!(s.contains("0 stalls (turns over 50 ms of pulse's own); worst turn 12.3 ms; counted apart, 2 pauses of the machine under the loop (worst 103.8 ms) and 1 turns that waited for a CPU (longest wait 36.9 ms)"), "{s}");
        let doc = update_doc("# Benchmarks\n\ntext\n", &s);
        assert!(doc.contains("## Reliability: chaos rounds") && doc.contains(BEGIN), "{doc}");
        let again = update_doc(&doc, "new\n");
        assert_eq!(again.matches(BEGIN).count(), 1);
        assert!(again.contains(&format!("{BEGIN}\nnew\n{END}")), "{again}");
    }

    #[test]
    fn the_plot_is_an_svg() {
        let p = std::env::temp_dir().join(format!("xtask-chaos-{}.svg", std::process::id()));
        plot(&run(), &p).unwrap();
        let svg = std::fs::read_to_string(&p).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("client outage"),
            "{}",
            &svg[..200.min(svg.len())]
        );
        std::fs::remove_file(&p).unwrap();
    }
}
