//! Deliberate breakage for `cargo xtask vm-selftest`, which boots this
//! suite with one test selected at a time and checks that vm-test reports
//! each as a failure. It is never part of `cargo xtask vm-test`.

/// These tests break things (a hang, a kernel crash): make sure they only
/// ever run in the test guest, whose kernel command line says so.
fn guard() {
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    assert!(
        cmdline.split_whitespace().any(|w| w == "lvs.vm=1"),
        "refusing to break a machine that is not the test guest"
    );
}

#[test]
fn deliberate_failure() {
    guard();
    let answer = std::env::var("LVS_TEST_VM").unwrap_or_default();
    assert_eq!(answer, "a value the guest never sets", "injected failure");
}

#[test]
fn hang_forever() {
    guard();
    // The guest never powers off: the host must kill it at the timeout.
    loop {
        std::thread::park();
    }
}

#[test]
fn kernel_panic() {
    guard();
    // Sysrq `c` crashes the guest kernel on purpose.
    std::fs::write("/proc/sys/kernel/sysrq", "1").unwrap();
    std::fs::write("/proc/sysrq-trigger", "c").unwrap();
    std::thread::sleep(std::time::Duration::from_secs(60));
}
