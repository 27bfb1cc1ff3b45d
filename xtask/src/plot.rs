//! The failover plots of `docs/`, drawn by `cargo xtask bench` from the
//! `bench-data:` lines of `tests/vm/bench_failover_ipvs.rs`: the outage of
//! every run, lvs-router beside keepalived at both timer settings
//! (`docs/failover-outage.svg`), and one failover of each daemon as a
//! timeline (`docs/failover-timeline.svg`). SVG through `plotters`, so the
//! pictures are text files that diff and render on the forge. The lines
//! are kept in `docs/failover-ipvs.data`, so that `cargo xtask plot` draws
//! the same pictures again without a VM.

use std::path::Path;

use anyhow::Context;
use plotters::prelude::*;

/// One run's outage: method (`nat`, `dr`), setting (`1s`, `100ms`), daemon
/// (`pulse`, `keepalived`), milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Outage {
    pub method: String,
    pub setting: String,
    pub daemon: String,
    pub ms: f64,
}

/// One failover's events, in ms from the power cut.
#[derive(Clone, Debug, PartialEq)]
pub struct Timeline {
    pub method: String,
    pub setting: String,
    pub daemon: String,
    pub heartbeats: Vec<f64>,
    pub dead_over: Option<f64>,
    pub arp: Option<f64>,
    pub last_answer: Option<f64>,
    pub first_answer: Option<f64>,
}

/// What the benchmark printed for the plots.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Data {
    pub outages: Vec<Outage>,
    pub timelines: Vec<Timeline>,
    /// The `bench-data:` lines as printed, for [`DATA_FILE`].
    pub lines: Vec<String>,
}

/// Where the data of the last run are kept, under `docs/`.
pub const DATA_FILE: &str = "failover-ipvs.data";

impl Data {
    /// Takes one console line; lines that are not `bench-data:` are ignored,
    /// malformed ones too (a kernel message may cut a line in two).
    pub fn take(&mut self, line: &str) {
        let Some(at) = line.find("bench-data: ") else { return };
        let before = (self.outages.len(), self.timelines.len());
        self.parse(&line[at + "bench-data: ".len()..]);
        if (self.outages.len(), self.timelines.len()) != before {
            self.lines.push(line[at..].trim_end().to_string());
        }
    }

    fn parse(&mut self, rest: &str) {
        let words: Vec<&str> = rest.split_whitespace().collect();
        let field = |name: &str| {
            words.iter().find_map(|w| w.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
        };
        let num = |name: &str| field(name).and_then(|v| v.parse::<f64>().ok());
        match words.as_slice() {
            ["failover-ipvs", method, setting, daemon, ..] => {
                if let Some(ms) = num("outage_ms") {
                    self.outages.push(Outage {
                        method: method.to_string(),
                        setting: setting.to_string(),
                        daemon: daemon.to_string(),
                        ms,
                    });
                }
            }
            ["failover-timeline", method, setting, daemon, ..] => {
                let heartbeats = field("heartbeats")
                    .map(|v| v.split(',').filter_map(|h| h.parse().ok()).collect())
                    .unwrap_or_default();
                self.timelines.push(Timeline {
                    method: method.to_string(),
                    setting: setting.to_string(),
                    daemon: daemon.to_string(),
                    heartbeats,
                    dead_over: num("dead_over"),
                    arp: num("arp"),
                    last_answer: num("last_answer"),
                    first_answer: num("first_answer"),
                });
            }
            _ => {}
        }
    }

    /// Nothing to draw.
    pub fn is_empty(&self) -> bool {
        self.outages.is_empty() && self.timelines.is_empty()
    }
}

const SETTINGS: [(&str, &str); 2] =
    [("1s", "timers 1 s / 3 s"), ("100ms", "timers 100 ms / 300 ms")];
const COLUMNS: [(&str, &str, &str); 4] = [
    ("nat", "pulse", "NAT lvs-router"),
    ("nat", "keepalived", "NAT keepalived"),
    ("dr", "pulse", "DR lvs-router"),
    ("dr", "keepalived", "DR keepalived"),
];
const OURS: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const THEIRS: RGBColor = RGBColor(0xd6, 0x27, 0x28);

fn color(daemon: &str) -> RGBColor {
    if daemon == "pulse" {
        OURS
    } else {
        THEIRS
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// `cargo xtask plot`: both plots again from `docs/failover-ipvs.data`.
pub fn redraw(docs: &Path) -> anyhow::Result<()> {
    let path = docs.join(DATA_FILE);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!("cannot read {} (written by `cargo xtask bench --only failover`)", path.display())
    })?;
    let mut data = Data::default();
    for line in text.lines() {
        data.take(line);
    }
    for f in draw(&data, docs)? {
        eprintln!("xtask: drew {f}");
    }
    Ok(())
}

/// Keeps the data in `docs` and draws both plots there; returns the files
/// written.
pub fn draw(data: &Data, docs: &Path) -> anyhow::Result<Vec<String>> {
    let mut written = Vec::new();
    if !data.lines.is_empty() {
        let path = docs.join(DATA_FILE);
        std::fs::write(&path, data.lines.join("\n") + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path.display().to_string());
    }
    if !data.outages.is_empty() {
        let path = docs.join("failover-outage.svg");
        outages(data, &path).with_context(|| format!("drawing {}", path.display()))?;
        written.push(path.display().to_string());
    }
    if let Some(pick) = pick_timelines(data) {
        let path = docs.join("failover-timeline.svg");
        timeline(&pick, &path).with_context(|| format!("drawing {}", path.display()))?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

/// Every run's outage as a dot, the median as a bar, per method and
/// daemon; one panel per timer setting (their scales differ tenfold).
fn outages(data: &Data, path: &Path) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (1100, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
    let root = root
        .titled(
            "Client-visible outage when the active router loses power (through IPVS)",
            ("sans-serif", 20),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let panels = root.split_evenly((1, 2));
    for ((setting, title), area) in SETTINGS.iter().zip(panels.iter()) {
        let runs: Vec<&Outage> = data.outages.iter().filter(|o| o.setting == *setting).collect();
        let top = runs.iter().map(|o| o.ms).fold(0.0, f64::max).max(1.0) * 1.15;
        let mut chart = ChartBuilder::on(area)
            .caption(*title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(-0.5f64..3.5f64, 0f64..top)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(4)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 0.01 && (0.0..4.0).contains(&i) {
                    COLUMNS[i as usize].2.to_string()
                } else {
                    String::new()
                }
            })
            .y_desc("outage (ms)")
            .draw()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for (i, (method, daemon, _)) in COLUMNS.iter().enumerate() {
            let mine: Vec<f64> = runs
                .iter()
                .filter(|o| o.method == *method && o.daemon == *daemon)
                .map(|o| o.ms)
                .collect();
            let n = mine.len().max(1) as f64;
            let c = color(daemon);
            // Spread the dots a little sideways so equal values stay visible.
            chart
                .draw_series(mine.iter().enumerate().map(|(k, ms)| {
                    let x = i as f64 - 0.15 + 0.3 * k as f64 / n;
                    Circle::new((x, *ms), 4, c.mix(0.7).filled())
                }))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if let Some(m) = median(mine) {
                let x = i as f64;
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(x - 0.3, m), (x + 0.3, m)],
                        BLACK.stroke_width(3),
                    )))
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                chart
                    .draw_series(std::iter::once(Text::new(
                        format!("{m:.0} ms"),
                        (x + 0.05, m + top * 0.03),
                        ("sans-serif", 13),
                    )))
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
        }
    }
    root.present().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

/// The timelines to draw: one failover of each daemon, LVS-NAT, fast
/// timers if there are (the phases are then on one scale), else any.
fn pick_timelines(data: &Data) -> Option<Vec<Timeline>> {
    for setting in ["100ms", "1s"] {
        let pick: Vec<Timeline> = ["pulse", "keepalived"]
            .iter()
            .filter_map(|d| {
                data.timelines
                    .iter()
                    .find(|t| t.setting == setting && t.method == "nat" && t.daemon == *d)
                    .cloned()
            })
            .collect();
        if !pick.is_empty() {
            return Some(pick);
        }
    }
    data.timelines.first().map(|t| vec![t.clone()])
}

/// One row per daemon: router 0's heartbeats as router 1 heard them, the
/// power cut at 0, the dead interval from the last heartbeat, router 1's
/// first gratuitous ARP, and the client's outage from its last answer
/// before the cut to its first answer after.
fn timeline(rows: &[Timeline], path: &Path) -> anyhow::Result<()> {
    let mut lo: f64 = -10.0;
    let mut hi: f64 = 10.0;
    for t in rows {
        for v in t
            .heartbeats
            .iter()
            .copied()
            .chain([t.dead_over, t.arp, t.last_answer, t.first_answer].into_iter().flatten())
        {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    let pad = (hi - lo) * 0.06;
    let (lo, hi) = (lo - pad, hi + pad);
    let height = 140 + 110 * rows.len() as u32;
    let root = SVGBackend::new(path, (1100, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
    let what = rows.first().map_or(String::new(), |t| {
        let setting = SETTINGS.iter().find(|(s, _)| *s == t.setting).map_or("", |(_, l)| l);
        format!("One failover, LVS-{}, {setting}", t.method.to_uppercase())
    });
    let mut chart = ChartBuilder::on(&root)
        .caption(what, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(120)
        .build_cartesian_2d(lo..hi, -0.5f64..(rows.len() as f64 - 0.5))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let names: Vec<String> = rows
        .iter()
        .map(|t| if t.daemon == "pulse" { "lvs-router".to_string() } else { t.daemon.clone() })
        .collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows.len().max(1))
        .y_label_formatter(&|y| {
            let i = y.round();
            if (y - i).abs() < 0.01 && i >= 0.0 && (i as usize) < names.len() {
                names[i as usize].clone()
            } else {
                String::new()
            }
        })
        .x_desc("ms from the power cut of the active router")
        .draw()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let err = |e: DrawingAreaErrorKind<_>| anyhow::anyhow!("{e}");
    // The cut.
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(0.0, -0.5), (0.0, rows.len() as f64 - 0.5)],
            BLACK.stroke_width(2),
        )))
        .map_err(err)?
        .label("power cut")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK.stroke_width(2)));
    let gray = RGBColor(0x88, 0x88, 0x88);
    let green = RGBColor(0x2c, 0xa0, 0x2c);
    let orange = RGBColor(0xff, 0x7f, 0x0e);
    for (i, t) in rows.iter().enumerate() {
        let y = i as f64;
        let c = color(&t.daemon);
        // The outage the client saw.
        if let (Some(a), Some(b)) = (t.last_answer, t.first_answer) {
            let s = chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(a, y - 0.12), (b, y + 0.12)],
                    c.mix(0.35).filled(),
                )))
                .map_err(err)?;
            if i == 0 {
                s.label("client outage (last answer to first answer)").legend(|(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 16, y + 5)], OURS.mix(0.35).filled())
                });
            }
        }
        // The dead interval, from the last heartbeat heard.
        if let (Some(&h), Some(d)) = (t.heartbeats.last(), t.dead_over) {
            let s = chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(h, y + 0.28), (d, y + 0.28)],
                    gray.stroke_width(3),
                )))
                .map_err(err)?;
            if i == 0 {
                s.label("dead interval after the last heartbeat heard").legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], gray.stroke_width(3))
                });
            }
        }
        let s = chart
            .draw_series(t.heartbeats.iter().map(|h| Circle::new((*h, y + 0.28), 5, gray.filled())))
            .map_err(err)?;
        if i == 0 {
            s.label("heartbeat / VRRP advert heard by the backup")
                .legend(move |(x, y)| Circle::new((x + 8, y), 5, gray.filled()));
        }
        if let Some(a) = t.arp {
            let s = chart
                .draw_series(std::iter::once(TriangleMarker::new(
                    (a, y - 0.28),
                    8,
                    orange.filled(),
                )))
                .map_err(err)?;
            if i == 0 {
                s.label("VIP up: first gratuitous ARP")
                    .legend(move |(x, y)| TriangleMarker::new((x + 8, y), 7, orange.filled()));
            }
        }
        if let Some(f) = t.first_answer {
            let s = chart
                .draw_series(std::iter::once(Cross::new((f, y - 0.28), 7, green.stroke_width(3))))
                .map_err(err)?;
            if i == 0 {
                s.label("first answered request")
                    .legend(move |(x, y)| Cross::new((x + 8, y), 6, green.stroke_width(3)));
            }
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_lines_are_parsed_and_others_ignored() {
        let mut d = Data::default();
        d.take("[  1.2] bench-data: failover-ipvs nat 1s pulse outage_ms=3012.5");
        d.take("bench-data: failover-timeline dr 100ms keepalived heartbeats=-250.0,-150.5 dead_over=151.2 arp=160.0 last_answer=-3.0 first_answer=-");
        d.take("bench-data: failover-ipvs nat 1s pulse");
        d.take("bench-row: a|b|c|d|e|f");
        assert_eq!(
            d.outages,
            vec![Outage {
                method: "nat".into(),
                setting: "1s".into(),
                daemon: "pulse".into(),
                ms: 3012.5
            }]
        );
        assert_eq!(d.timelines.len(), 1);
        let t = &d.timelines[0];
        assert_eq!(t.heartbeats, vec![-250.0, -150.5]);
        assert_eq!((t.dead_over, t.arp, t.first_answer), (Some(151.2), Some(160.0), None));
    }

    #[test]
    fn both_plots_are_drawn_as_svg() {
        let mut d = Data::default();
        for (setting, base) in [("1s", 3000.0), ("100ms", 300.0)] {
            for (method, daemon) in
                [("nat", "pulse"), ("nat", "keepalived"), ("dr", "pulse"), ("dr", "keepalived")]
            {
                for k in 0..3 {
                    d.take(&format!(
                        "bench-data: failover-ipvs {method} {setting} {daemon} outage_ms={}",
                        base + f64::from(k) * 10.0
                    ));
                }
            }
        }
        d.take("bench-data: failover-timeline nat 100ms pulse heartbeats=-250,-150,-50 dead_over=251 arp=255 last_answer=-4 first_answer=262");
        d.take("bench-data: failover-timeline nat 100ms keepalived heartbeats=-240,-140,-40 dead_over=261 arp=262 last_answer=-2 first_answer=270");
        let dir = std::env::temp_dir().join(format!("xtask-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = draw(&d, &dir).unwrap();
        assert_eq!(files.len(), 3);
        for f in &files[1..] {
            let svg = std::fs::read_to_string(f).unwrap();
            assert!(svg.starts_with("<svg") && svg.contains("</svg>"), "{f}");
        }
        let svg = std::fs::read_to_string(dir.join("failover-outage.svg")).unwrap();
        assert!(svg.contains("NAT lvs-router") && svg.contains("3010 ms"), "labels and medians");
        // The kept data draw the same pictures again.
        let timeline = std::fs::read_to_string(dir.join("failover-timeline.svg")).unwrap();
        redraw(&dir).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("failover-outage.svg")).unwrap(), svg);
        assert_eq!(std::fs::read_to_string(dir.join("failover-timeline.svg")).unwrap(), timeline);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
