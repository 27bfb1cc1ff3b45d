//! Benchmark, not a test: the reference ipvsadm 1.31 against ipvsadm-rs on
//! 10,000 TCP services with 5 real servers each (50,000 destinations):
//! `-R` of the whole table into an empty namespace, then `-L -n` of it.
//! Both listings must be byte-identical (and both restored tables equal);
//! nothing asserts on time. The figures go to `docs/benchmarks.md`.
//!
//! It takes minutes under TCG, so it runs only when asked, with the FILTER
//! word `bench`: `cargo xtask vm-test --suite bench_ipvsadm bench`. In a
//! plain `cargo xtask vm-test` it prints that line and exits.

#![allow(clippy::unwrap_used, clippy::print_stdout)] // a benchmark's report is its output

use std::process::Output;
use std::time::Duration;

use lvs_tests::guest::ipvsadm_in;
use testbed::Netns;

fn program(rs: bool) -> String {
    if rs {
        format!("{}/ipvsadm-rs", std::env::var("LVS_BIN_DIR").unwrap())
    } else {
        std::env::var("LVS_REF_IPVSADM").unwrap()
    }
}

/// Runs `ipvsadm ARGS < input` in `ns` (argv[0] `ipvsadm` for both) and
/// times it.
fn timed(ns: &Netns, rs: bool, args: &[&str], input: &str) -> (Duration, Output) {
    ipvsadm_in(ns, &program(rs), args, input)
}

fn main() {
    if !std::env::args().skip(1).any(|a| a == "bench") {
        println!("bench_ipvsadm: a benchmark; run it with `cargo xtask vm-test --suite bench_ipvsadm bench`");
        return;
    }
    let mut script = String::with_capacity(4 << 20);
    for i in 0..10_000u32 {
        let vip = format!("10.{}.{}.{}:80", 100 + i / 65536, (i / 256) % 256, i % 256);
        script.push_str(&format!("-A -t {vip} -s wrr\n"));
        for j in 1..=5u32 {
            script.push_str(&format!("-a -t {vip} -r 172.16.{}.{j}:8080 -m -w {j}\n", i % 200));
        }
    }
    let ns_ref = Netns::new("bench-ref").unwrap();
    let ns_rs = Netns::new("bench-rs").unwrap();
    let (r_ref, o_ref) = timed(&ns_ref, false, &["-R"], &script);
    let (r_rs, o_rs) = timed(&ns_rs, true, &["-R"], &script);
    assert!(o_ref.status.success() && o_rs.status.success(), "{o_ref:?}\n{o_rs:?}");
    let (l_ref, list_ref) = timed(&ns_ref, false, &["-L", "-n"], "");
    let (l_rs, list_rs) = timed(&ns_ref, true, &["-L", "-n"], "");
    assert_eq!(list_rs.stdout, list_ref.stdout, "-L -n differs");
    assert_eq!(list_rs.status.code(), list_ref.status.code());
    let (_, other) = timed(&ns_rs, false, &["-L", "-n"], "");
    assert_eq!(other.stdout, list_ref.stdout, "the tables restored by each tool differ");
    assert_eq!(list_ref.stdout.iter().filter(|&&b| b == b'\n').count(), 3 + 10_000 + 50_000);
    let secs = |d: Duration| d.as_secs_f64();
    println!(
        "BENCH -R 10000/50000: ipvsadm {:.2} s, ipvsadm-rs {:.2} s, ratio {:.2}",
        secs(r_ref),
        secs(r_rs),
        secs(r_ref) / secs(r_rs)
    );
    println!(
        "BENCH -L -n 10000/50000: ipvsadm {:.2} s, ipvsadm-rs {:.2} s, ratio {:.2}",
        secs(l_ref),
        secs(l_rs),
        secs(l_ref) / secs(l_rs)
    );
}
