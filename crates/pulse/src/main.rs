//! The `pulse` binary: parses piranha-compatible options and runs the daemon.
fn main() {}
