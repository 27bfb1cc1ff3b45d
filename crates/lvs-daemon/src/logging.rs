//! The one logging set-up of the daemons: syslog once detached, standard
//! error in the foreground (`-n`), the same choice for every program;
//! neither ever makes the caller wait (`nowait.rs`).

use std::io::Write;

/// Installs the logger: syslog under `name` when `foreground` is false,
/// else standard error, each line `NAME: message`. In the foreground
/// `RUST_LOG`, when set, overrides `level` (the tests quiet nannies so).
/// Either way a line the reader is not ready for is dropped and counted,
/// never waited for.
///
/// # Errors
/// When a logger is already installed.
pub fn init_logging(
    foreground: bool,
    name: &'static str,
    level: log::LevelFilter,
) -> Result<(), log::SetLoggerError> {
    if !foreground {
        return crate::Syslog::install(name, level);
    }
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level.as_str()))
        // Never waits for the reader (`nowait.rs`): pulse logs from its
        // heartbeat loop.
        .target(env_logger::Target::Pipe(Box::new(crate::nowait::NoWaitStderr::new(name))))
        .format(move |f, r| writeln!(f, "{name}: {}", r.args()))
        .try_init()
}
