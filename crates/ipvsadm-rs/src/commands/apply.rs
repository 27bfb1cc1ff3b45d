//! Changes to the table: `-A -E -D -a -e -d -C -Z --set --start-daemon
//! --stop-daemon`. A kernel refusal prints ipvsadm's `ipvs_strerror` text
//! and gives status 255.

use ipvs::Command;

use crate::{Ctx, Stop};

/// Run one change; 0, or 255 after printing the kernel's refusal.
///
/// # Errors
///
/// [`Stop`] when the table cannot be opened or output fails.
pub fn run(ctx: &mut Ctx<'_, '_>, cmd: &Command) -> Result<i32, Stop> {
    let results = run_batch(ctx, std::slice::from_ref(cmd))?;
    Ok(results.last().copied().unwrap_or(0))
}

/// Run changes in order (one netlink exchange for many), printing each
/// refusal in order; the status of each.
///
/// # Errors
///
/// [`Stop`] when the table cannot be opened or output fails.
pub fn run_batch(ctx: &mut Ctx<'_, '_>, cmds: &[Command]) -> Result<Vec<i32>, Stop> {
    if cmds.is_empty() {
        return Ok(Vec::new());
    }
    // A failure of the channel itself counts as a refusal of every command.
    let results: Vec<Result<(), String>> = match ctx.table()?.apply(cmds) {
        Ok(r) => r.into_iter().map(|r| r.map_err(|e| e.ipvsadm_message())).collect(),
        Err(e) => cmds.iter().map(|_| Err(e.ipvsadm_message())).collect(),
    };
    let mut codes = Vec::with_capacity(cmds.len());
    for r in results {
        match r {
            Ok(()) => codes.push(0),
            Err(msg) => {
                writeln!(ctx.env.err, "{msg}")?;
                codes.push(255);
            }
        }
    }
    Ok(codes)
}
