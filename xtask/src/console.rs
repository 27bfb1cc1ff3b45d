//! The guest's console, read line by line into the run's [`Report`]:
//! libtest's `test result:` lines give the counts, `/init`'s markers
//! ([`MARK`]) tell which suite ran and whether the guest booted and reached
//! the end, and the suites' `pulse-loop:` lines give the stall figures.

use std::collections::VecDeque;
use std::time::Duration;

use crate::initramfs::MARK;
use crate::vm::{LoopLine, Report, Suite};

/// Console lines printed again when a run fails.
const TAIL_LINES: usize = 60;

/// A suite's line with a pulse's stall figures ([`LoopLine`]): who, and
/// the figures.
fn parse_pulse_loop(line: &str) -> Option<(String, LoopLine)> {
    let rest = &line[line.find("pulse-loop: ")? + "pulse-loop: ".len()..];
    let (who, figures) = rest.split_once(": worst turn ")?;
    let words: Vec<&str> = figures.split_whitespace().collect();
    let num = |k: usize| -> Option<u64> {
        words.get(k)?.trim_matches(|c: char| !c.is_ascii_digit()).parse().ok()
    };
    let or0 = |k| num(k).unwrap_or(0);
    let figures = LoopLine {
        worst: num(0)?,
        stalls: num(2)?,
        pauses: (or0(7), or0(10)),
        waits: (or0(12), or0(15)),
    };
    Some((who.to_owned(), figures))
}

/// Reads the guest console line by line.
#[derive(Debug, Default)]
pub(crate) struct ConsoleLog {
    pub(crate) report: Report,
    pub(crate) tail: VecDeque<String>,
    /// Whether the last suite of `report.suites` is running.
    running: bool,
}

impl ConsoleLog {
    pub(crate) fn line(&mut self, line: String) {
        self.parse(&line);
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
    }

    fn running(&mut self) -> Option<&mut Suite> {
        if self.running {
            self.report.suites.last_mut()
        } else {
            None
        }
    }

    fn parse(&mut self, line: &str) {
        if line.contains("Kernel panic - not syncing") {
            self.report.kernel_panic = true;
        }
        if let Some(at) = line.find("test result: ") {
            let (passed, failed) = parse_libtest_result(&line[at..]);
            self.report.passed += passed;
            self.report.failed += failed;
            if let Some(suite) = self.running() {
                suite.passed += passed;
                suite.failed += failed;
            }
            return;
        }
        if let Some((who, figures)) = parse_pulse_loop(line) {
            let r = &mut self.report;
            let (worst, worst_who) = r.pulse_loop.get_or_insert((0, String::new()));
            if figures.worst >= *worst {
                (*worst, *worst_who) = (figures.worst, who.clone());
            }
            r.pulses.insert(who, figures);
            return;
        }
        // Anywhere in the line: a test's output without a final newline
        // can precede the marker on the same line.
        let Some(at) = line.find(MARK) else { return };
        let marker = &line[at + MARK.len()..];
        if let Some((name, text)) =
            marker.trim_start().strip_prefix("file ").map(|f| f.split_once(' ').unwrap_or((f, "")))
        {
            let file = self.report.files.entry(name.trim().to_owned()).or_default();
            file.push_str(text);
            file.push('\n');
            return;
        }
        let words: Vec<&str> = marker.split_whitespace().collect();
        let r = &mut self.report;
        match words.as_slice() {
            ["suite-begin", name] => {
                r.suites.push(Suite { name: name.to_string(), ..Suite::default() });
                self.running = true;
            }
            ["suite-end", name, code] => {
                self.running = false;
                if let Some(suite) = r.suites.last_mut() {
                    suite.exit = Some(code.to_string());
                    if *code != "0" && suite.failed == 0 {
                        // A crash (signal, abort) before libtest could summarise.
                        suite.failed += 1;
                        r.failed += 1;
                        r.problems.push(format!("suite {name} exited with status {code}"));
                    }
                }
            }
            ["all-done"] => r.completed = true,
            ["booted", ..] => r.booted = true,
            ["error", ..] => {
                r.failed += 1;
                r.problems.push(format!("guest setup: {}", words[1..].join(" ")));
            }
            _ => {}
        }
    }

    pub(crate) fn finish(&mut self, timeout: Duration) -> Report {
        let running = self.running().map(|suite| {
            suite.failed += 1;
            format!(" during suite {}", suite.name)
        });
        let during = running.unwrap_or_default();
        let mut r = std::mem::take(&mut self.report);
        if !r.completed {
            r.failed += 1;
            r.problems.push(if r.hung_at_boot {
                "the guest printed no `booted` line: it hung before any test ran, twice".into()
            } else if r.timed_out {
                format!("the guest did not finish within {timeout:?}{during}: killed")
            } else if r.kernel_panic {
                format!("the guest kernel panicked{during}")
            } else {
                format!("the guest stopped before finishing{during}")
            });
        }
        r
    }
}

/// `(passed, failed)` from `test result: ok. 3 passed; 0 failed; ...`.
fn parse_libtest_result(text: &str) -> (u64, u64) {
    let count = |what: &str| {
        text.split(';')
            .find_map(|part| {
                let part = part.trim().trim_start_matches("test result: ");
                let part = part.split_once(". ").map_or(part, |(_, rest)| rest);
                part.strip_suffix(what)?.trim().parse().ok()
            })
            .unwrap_or(0)
    };
    (count("passed"), count("failed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(lines: &[&str]) -> Report {
        let mut console = ConsoleLog::default();
        for l in lines {
            console.line(l.to_string());
        }
        console.finish(Duration::from_secs(1))
    }

    #[test]
    fn pulse_loop_figures_keep_the_worst_and_add_each_pulses_last() {
        let r = feed(&[
            "pulse-loop: e2e nat router 0: worst turn 12000 us, 0 turns over 50 ms, 2 pauses (worst 60100 us), 1 waits (worst 70000 us)",
            "[  nat] pulse-loop: chaos: worst turn 31000 us, 1 turns over 50 ms, 0 pauses (worst 0 us), 0 waits (worst 0 us)",
            "pulse-loop: node dr router 1: worst turn 9000 us, 0 turns over 50 ms, 1 pauses (worst 52000 us)",
            // The same pulse again, later: its counts replace its earlier ones.
            "pulse-loop: e2e nat router 0: worst turn 12000 us, 0 turns over 50 ms, 2 pauses (worst 60100 us), 2 waits (worst 80000 us)",
        ]);
        assert_eq!(r.pulse_loop, Some((31000, "chaos".to_owned())));
        assert_eq!(
            r.loop_totals(),
            LoopLine { worst: 31000, stalls: 1, pauses: (3, 60100), waits: (2, 80000) }
        );
    }

    #[test]
    fn libtest_summary_counts() {
        assert_eq!(
            parse_libtest_result(
                "test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 3 filtered out; finished in 0.01s"
            ),
            (2, 1)
        );
    }

    #[test]
    fn a_clean_run_succeeds() {
        let r = feed(&[
            "@@lvs-vm: suite-begin vm_a",
            "test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.00s",
            "@@lvs-vm: suite-end vm_a 0",
            "@@lvs-vm: all-done",
        ]);
        assert!(r.success(), "{r:?}");
        assert_eq!(r.summary(), "3 passed, 0 failed");
    }

    #[test]
    fn the_booted_marker_is_seen_and_a_hang_before_it_says_so() {
        let r = feed(&["@@lvs-vm: booted 6.1.0-57-cloud-amd64 in 3.80s (init started at 3.01s)"]);
        assert!(r.booted && !r.hung_at_boot, "{r:?}");
        let mut console = ConsoleLog::default();
        console.report.timed_out = true;
        console.report.hung_at_boot = true;
        let r = console.finish(Duration::from_secs(600));
        assert!(!r.success());
        assert!(r.problems.iter().any(|p| p.contains("no `booted` line")), "{:?}", r.problems);
    }

    #[test]
    fn crashes_hangs_and_setup_errors_fail() {
        let crash = feed(&[
            "@@lvs-vm: suite-begin vm_a",
            "@@lvs-vm: suite-end vm_a 139",
            "@@lvs-vm: all-done",
        ]);
        assert_eq!((crash.failed, crash.success()), (1, false));
        let unfinished = feed(&["@@lvs-vm: suite-begin vm_a", "running 1 test"]);
        assert_eq!((unfinished.failed, unfinished.success()), (1, false));
        assert!(unfinished.problems[0].contains("vm_a"), "{unfinished:?}");
        let glued = feed(&[
            "@@lvs-vm: suite-begin vm_a",
            "test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.00s",
            "no newline@@lvs-vm: suite-end vm_a 0",
            "@@lvs-vm: all-done",
        ]);
        assert!(glued.success(), "{glued:?}");
        let files = feed(&[
            "@@lvs-vm: file a.prom # TYPE x gauge",
            "noise@@lvs-vm: file a.prom x{a=\"b c\"} 1",
            "@@lvs-vm: file b.txt",
            "@@lvs-vm: all-done",
        ]);
        assert_eq!(files.files["a.prom"], "# TYPE x gauge\nx{a=\"b c\"} 1\n");
        assert_eq!(files.files["b.txt"], "\n");
        let setup = feed(&["@@lvs-vm: error modprobe ip_vs failed", "@@lvs-vm: all-done"]);
        assert_eq!((setup.failed, setup.success()), (1, false));
    }
}
