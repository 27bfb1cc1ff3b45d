//! The listings: `-L`/`-l` (all, one service, `-c`, `--timeout`,
//! `--daemon`), `-S`, and their `--json` forms. Failures print ipvsadm's
//! message and exit with status 1, as its `list_*` functions do.

use ipvs::conn::{read_conns, ConnParseError, ReadConnsError};
use ipvs::{Dest, Service};

use crate::cli::{Action, Format};
use crate::{format, json, sort, Ctx, Stop};

/// Print `msg` (if any) on standard error and stop with status 1.
fn die(ctx: &mut Ctx<'_, '_>, msg: Option<String>) -> Stop {
    if let Some(m) = msg {
        if let Err(e) = writeln!(ctx.env.err, "{m}") {
            return Stop::Io(e);
        }
    }
    Stop::Exit(1)
}

/// Run a listing action (or `-S`).
///
/// # Errors
///
/// [`Stop::Exit`] with ipvsadm's status when a listing fails.
pub fn run(ctx: &mut Ctx<'_, '_>, action: &Action) -> Result<(), Stop> {
    match action {
        Action::ListAll(f) | Action::Save(f) => list_all(ctx, f),
        Action::ListService(key, f) => {
            let svc = match ctx.table()?.service(key) {
                Ok(s) => s,
                Err(e) => return Err(die(ctx, Some(e.ipvsadm_message()))),
            };
            if f.json {
                let dests = dests(ctx, &svc)?;
                ctx.env.out.write_all(json::services(&[(svc, dests)]).as_bytes())?;
                return Ok(());
            }
            ctx.env.out.write_all(format::title(f).as_bytes())?;
            entry(ctx, &svc, f)
        }
        Action::ListTimeout(f) => {
            let t = match ctx.table()?.timeouts() {
                Ok(t) => t,
                Err(_) => return Err(die(ctx, None)),
            };
            let text = if f.json { json::timeouts(&t) } else { format::timeouts(&t) };
            ctx.env.out.write_all(text.as_bytes())?;
            Ok(())
        }
        Action::ListDaemon(f) => {
            let d = match ctx.table()?.daemons() {
                Ok(d) => d,
                Err(_) => return Err(die(ctx, None)),
            };
            let text = if f.json { json::daemons(&d) } else { format::daemons(&d) };
            ctx.env.out.write_all(text.as_bytes())?;
            Ok(())
        }
        Action::ListConns(f) => conns(ctx, f),
        Action::Restore | Action::Apply(_) => Ok(()),
    }
}

fn dests(ctx: &mut Ctx<'_, '_>, svc: &Service) -> Result<Vec<Dest>, Stop> {
    match ctx.table()?.dests(&svc.key) {
        Ok(d) => Ok(d),
        Err(e) => Err(die(ctx, Some(e.ipvsadm_message()))),
    }
}

fn entry(ctx: &mut Ctx<'_, '_>, svc: &Service, f: &Format) -> Result<(), Stop> {
    let d = dests(ctx, svc)?;
    let mut text = String::new();
    format::service_entry(&mut text, svc, &d, f, ctx.env.resolver);
    ctx.env.out.write_all(text.as_bytes())?;
    Ok(())
}

/// `list_all`: the version line (not for `-S`), the title, every service.
fn list_all(ctx: &mut Ctx<'_, '_>, f: &Format) -> Result<(), Stop> {
    if !f.rule && !f.json {
        let info = match ctx.table()?.info() {
            Ok(i) => i,
            Err(e) => return Err(die(ctx, Some(e.ipvsadm_message()))),
        };
        ctx.env.out.write_all(format::version_header(&info).as_bytes())?;
    }
    let mut services = match ctx.table()?.services() {
        Ok(s) => s,
        Err(e) => return Err(die(ctx, Some(e.ipvsadm_message()))),
    };
    if !f.nosort {
        sort::sort_services(&mut services);
    }
    if f.json {
        let mut table = Vec::with_capacity(services.len());
        for s in services {
            let d = dests(ctx, &s)?;
            table.push((s, d));
        }
        ctx.env.out.write_all(json::services(&table).as_bytes())?;
        return Ok(());
    }
    ctx.env.out.write_all(format::title(f).as_bytes())?;
    for s in &services {
        entry(ctx, s, f)?;
    }
    Ok(())
}

/// `list_conn`: `/proc/net/ip_vs_conn` as a table.
fn conns(ctx: &mut Ctx<'_, '_>, f: &Format) -> Result<(), Stop> {
    // ipvsadm opens IPVS before anything else, even for `-c`.
    ctx.table()?;
    let list = match read_conns(&ctx.env.root) {
        Ok(l) => l,
        Err(ReadConnsError::Io { .. }) => {
            return Err(die(ctx, Some("cannot open file /proc/net/ip_vs_conn".into())))
        }
        Err(ReadConnsError::Parse(ConnParseError::Empty)) => {
            return Err(die(ctx, Some("unexpected input from /proc/net/ip_vs_conn".into())))
        }
        Err(e) => return Err(die(ctx, Some(e.to_string()))),
    };
    if f.json {
        ctx.env.out.write_all(json::conns(&list).as_bytes())?;
        return Ok(());
    }
    let mut text = format::conn_header(f);
    for c in &list {
        format::conn_row(&mut text, c, f, ctx.env.resolver);
    }
    ctx.env.out.write_all(text.as_bytes())?;
    Ok(())
}
