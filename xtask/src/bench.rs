//! `cargo xtask bench`: runs the router benchmarks (`tests/vm/bench_*.rs`)
//! in one boot of the test guest and writes their rows into the summary
//! table of `docs/benchmarks.md`.
//!
//! It is `cargo xtask vm-test --suite bench_... bench` run as a child
//! process (so the VM machinery stays as it is), with its console tee'd to
//! the terminal; every `bench-row:` line the suites print becomes one row
//! of the table between the [`BEGIN`] and [`END`] markers. Benchmarks are
//! not tests: `cargo xtask test` never runs this.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

/// The benchmarks, by the word `--only` takes.
const SUITES: &[(&str, &str)] = &[
    // The VIP-only breakdown and the row through IPVS (a cargo `--test` glob).
    ("failover", "bench_failover*"),
    // The row through IPVS alone.
    ("failover-ipvs", "bench_failover_ipvs"),
    ("detection", "bench_detect"),
    ("table", "bench_table"),
    ("reload", "bench_reload"),
    ("cost", "bench_cost"),
    ("chaos", "chaos"),
];

/// The guest's memory for the benchmarks, in MiB.
const BENCH_MEMORY_MIB: u32 = 2048;

/// Markers around the generated table in `docs/benchmarks.md`.
pub const BEGIN: &str = "<!-- cargo xtask bench: begin -->";
pub const END: &str = "<!-- cargo xtask bench: end -->";

const HEADER: &str =
    "| Benchmark | lvs-router | Reference | Ratio (ours / reference) | Target | Reproduce |\n\
                      | --- | --- | --- | --- | --- | --- |\n";

/// `cargo xtask bench [--only NAME]... [--runs N]`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut only = Vec::new();
    let mut runs = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--only" => {
                let name = it.next().context("--only needs a benchmark name")?;
                let Some((_, suite)) = SUITES.iter().find(|(n, _)| n == name) else {
                    bail!("unknown benchmark {name:?}; one of {:?}", names());
                };
                only.push(*suite);
            }
            "--runs" => {
                let n = it.next().context("--runs needs a number")?;
                let n: u32 = n.parse().with_context(|| format!("bad --runs value {n:?}"))?;
                runs = Some(n);
            }
            other => bail!(
                "unknown argument {other:?}; usage: cargo xtask bench [--only {}]... [--runs N]",
                names().join("|")
            ),
        }
    }
    if only.is_empty() {
        only = SUITES.iter().map(|(_, s)| *s).collect();
    }

    let exe = std::env::current_exe().context("cannot find the xtask executable")?;
    let mut cmd = Command::new(exe);
    // Our side must be compared as shipped, optimized, like the distribution's
    // C programs: vm-test builds the dev profile, so raise its optimization,
    // in a target directory of its own (the tests' debug builds stay as they
    // are) that shares the downloaded VM assets.
    let target = crate::target_dir();
    let bench_target = target.join("bench");
    std::fs::create_dir_all(&bench_target)
        .with_context(|| format!("cannot create {}", bench_target.display()))?;
    let assets = bench_target.join("vm-assets");
    if !assets.exists() {
        std::os::unix::fs::symlink(target.join("vm-assets"), &assets)
            .with_context(|| format!("cannot link {}", assets.display()))?;
    }
    cmd.env("CARGO_TARGET_DIR", &bench_target)
        .env("CARGO_PROFILE_DEV_OPT_LEVEL", "3")
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .env("CARGO_PROFILE_DEV_DEBUG_ASSERTIONS", "false")
        .env("CARGO_PROFILE_DEV_OVERFLOW_CHECKS", "false")
        .env("CARGO_PROFILE_DEV_INCREMENTAL", "false");
    // 1,000 nanny processes (the cost benchmark) need more memory than the
    // tests' 1 GiB guest gives; `vm-test` and `test` keep their default.
    if std::env::var_os("LVS_VM_MEMORY_MIB").is_none() {
        cmd.env("LVS_VM_MEMORY_MIB", BENCH_MEMORY_MIB.to_string());
    }
    cmd.arg("vm-test");
    for suite in &only {
        cmd.args(["--suite", suite]);
    }
    // The FILTER word the suites look for; `bench:N` also sets the number
    // of runs of the repeated benchmarks (the guest's environment is fixed).
    let filter = runs.map_or_else(|| "bench".to_string(), |n| format!("bench:{n}"));
    cmd.args(["--timeout", "5400", &filter]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = cmd.spawn().context("cannot start `cargo xtask vm-test`")?;
    let stdout = child.stdout.take().context("vm-test has no stdout")?;
    let mut rows = Vec::new();
    let mut chaos = crate::reliability::Run::default();
    let mut data = crate::plot::Data::default();
    for line in BufReader::new(stdout).lines() {
        let line = line.context("cannot read vm-test's output")?;
        println!("{line}");
        if let Some(row) = parse_row(&line) {
            rows.push(row);
        }
        chaos.take_line(&line);
        data.take(&line);
    }
    let status = child.wait().context("cannot wait for vm-test")?;
    if chaos.finished {
        write_reliability(&chaos)?;
    }
    if rows.is_empty() {
        bail!("no benchmark printed a row (vm-test: {status})");
    }
    let path = crate::project_root().join("docs/benchmarks.md");
    let doc = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let doc = update_table(&doc, &rows);
    std::fs::write(&path, doc).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("xtask: {} rows written to {}", rows.len(), path.display());
    if !data.is_empty() {
        for f in crate::plot::draw(&data, &crate::project_root().join("docs"))? {
            eprintln!("xtask: drew {f}");
        }
    }
    if !status.success() {
        bail!("vm-test reported failures ({status}); rows printed so far were written");
    }
    Ok(())
}

/// The chaos suite's section and plot (only from a run that finished every
/// round: a failed round fails the suite and changes no document).
fn write_reliability(run: &crate::reliability::Run) -> anyhow::Result<()> {
    let docs = crate::project_root().join("docs");
    let path = docs.join("benchmarks.md");
    let doc = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let doc = crate::reliability::update_doc(&doc, &crate::reliability::section(run, &today()));
    std::fs::write(&path, doc).with_context(|| format!("cannot write {}", path.display()))?;
    crate::reliability::plot(run, &docs.join(crate::reliability::PLOT))?;
    eprintln!("xtask: chaos reliability section ({} rounds) written", run.rounds.len());
    Ok(())
}

fn names() -> Vec<&'static str> {
    SUITES.iter().map(|(n, _)| *n).collect()
}

/// A row printed by a benchmark: `bench-row: cell|cell|...`, anywhere on
/// the console line (kernel messages may precede it).
fn parse_row(line: &str) -> Option<Vec<String>> {
    let at = line.find("bench-row: ")?;
    let cells: Vec<String> =
        line[at + "bench-row: ".len()..].split('|').map(|c| c.trim().to_string()).collect();
    (cells.len() == 6).then_some(cells)
}

/// Puts `rows` into the table between the markers: a row whose first cell
/// matches an existing row replaces it, others are appended; the table is
/// created after the document's first paragraph when there is none.
fn update_table(doc: &str, rows: &[Vec<String>]) -> String {
    let date = today();
    let render = |cells: &[String]| format!("| {} |", cells.join(" | "));
    let (before, mut existing, after) = match (doc.find(BEGIN), doc.find(END)) {
        (Some(b), Some(e)) if b < e => {
            let inner = &doc[b + BEGIN.len()..e];
            let rows: Vec<String> = inner
                .lines()
                .filter(|l| {
                    l.starts_with("| ") && !l.starts_with("| Benchmark") && !l.starts_with("| ---")
                })
                .map(str::to_string)
                .collect();
            (doc[..b].to_string(), rows, doc[e + END.len()..].to_string())
        }
        _ => {
            // After the title and the paragraph under it.
            let split = doc.find("\n## ").map_or(doc.len(), |i| i + 1);
            (
                format!("{}## Summary\n\n", &doc[..split]),
                Vec::new(),
                format!("\n\n{}", &doc[split..]),
            )
        }
    };
    for cells in rows {
        let mut cells = cells.clone();
        let key = row_key(&cells[0]);
        cells[0] = format!("{} ({date})", cells[0]);
        let line = render(&cells);
        let cell0 = |l: &str| l.trim_start_matches("| ").split(" | ").next().map(row_key);
        match existing.iter_mut().find(|l| cell0(l).as_deref() == Some(key.as_str())) {
            Some(old) => *old = line,
            None => existing.push(line),
        }
    }
    let mut table = String::from(HEADER);
    for line in &existing {
        table.push_str(line);
        table.push('\n');
    }
    format!("{before}{BEGIN}\n{table}{END}{after}")
}

/// What names a row, whatever the run count and date: the first cell
/// without its `(date)` and without parts such as `10 runs` or `median of 3`.
fn row_key(cell: &str) -> String {
    let cell = cell.split(" (").next().unwrap_or(cell);
    cell.split(", ")
        .filter(|p| !p.ends_with(" runs") && !p.starts_with("median of"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Today's date (UTC) from `date`, for the rows; empty if it cannot run.
fn today() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, ours: &str) -> Vec<String> {
        [name, ours, "ref", "0.5", "t", "`cmd`"].iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn rows_are_parsed_from_console_lines() {
        assert_eq!(
            parse_row("[  1.0] x bench-row: a|b|c|d|e|f"),
            Some(["a", "b", "c", "d", "e", "f"].map(String::from).to_vec())
        );
        assert_eq!(parse_row("bench-row: too|few"), None);
        assert_eq!(parse_row("no row here"), None);
    }

    #[test]
    fn a_table_is_created_then_rows_replaced_by_name() {
        let doc = "# Benchmarks\n\nIntro.\n\n## ipvs\n\nold text\n";
        let once = update_table(doc, &[row("Failover, 1 s", "1"), row("Table", "2")]);
        assert!(once.contains("## Summary\n\n<!--"), "{once}");
        assert!(once.contains("## ipvs\n\nold text\n"), "{once}");
        let twice = update_table(&once, &[row("Failover, 1 s, 10 runs", "9")]);
        assert_eq!(twice.matches("| Failover, 1 s").count(), 1, "{twice}");
        assert!(twice.contains("| 9 |") && twice.contains("| 2 |"), "{twice}");
        assert_eq!(twice.matches(BEGIN).count(), 1);
    }
}
