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
    let (logger, max) = logger(foreground, name, level);
    log::set_boxed_logger(logger)?;
    log::set_max_level(max);
    Ok(())
}

/// [`init_logging`]'s logger behind a queue, written by a thread of its
/// own once [`crate::start_log_writer`] starts it (`queued.rs`): for
/// pulse, whose heartbeat loop must not wait even for a lock a lower
/// priority holds.
///
/// # Errors
/// When a logger is already installed.
pub fn init_queued_logging(
    foreground: bool,
    name: &'static str,
    level: log::LevelFilter,
) -> Result<(), log::SetLoggerError> {
    let (logger, max) = logger(foreground, name, level);
    crate::queued::install(logger, max)
}

/// The logger and the most verbose level it lets through.
fn logger(
    foreground: bool,
    name: &'static str,
    level: log::LevelFilter,
) -> (Box<dyn log::Log>, log::LevelFilter) {
    if !foreground {
        return (Box::new(crate::Syslog::new(name, level)), level);
    }
    let logger =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level.as_str()))
            // Never waits for the reader (`nowait.rs`).
            .target(env_logger::Target::Pipe(Box::new(crate::nowait::NoWaitStderr::new(name))))
            .format(move |f, r| writeln!(f, "{name}: {}", r.args()))
            .build();
    let max = logger.filter();
    (Box::new(logger), max)
}
