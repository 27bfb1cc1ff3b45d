//! Failover services (piranha's `service = fos`) as pulse runs them, built
//! purely from the `lvs-config` model: the VIPs, `start_cmd`/`stop_cmd`
//! and the nanny command line that checks each service on this router.
//!
//! The nanny checks the local copy at the service's VIP and port (piranha's
//! fos checked the partner's copy from the backup; `machine/fos.rs` says
//! why we do not). `reentry` is the check interval, so one good check says
//! `up` (piranha's nanny ignored `reentry` for failover services too).

use std::path::PathBuf;
use std::time::Duration;

use lvs_config::{CheckKind, FailoverService, HealthCheck, Protocol};
use nanny_api::{CheckOptions, Mode, NannyOptions, Secs};

use crate::host::{split_command, FosService};
use crate::machine::{FosWatch, Vip};

/// One active failover service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailoverSettings {
    /// Its name.
    pub name: String,
    /// Its VIP (brought up with the others by the active router).
    pub vip: Vip,
    /// `start_cmd`.
    pub start_cmd: String,
    /// `stop_cmd`.
    pub stop_cmd: String,
    /// The nanny and its arguments; none for a `none` check.
    pub nanny: Option<(PathBuf, Vec<String>)>,
    /// How long after `start_cmd` the first check must succeed.
    pub grace: Duration,
}

/// The grace a service has to come up after `start_cmd`: two check
/// intervals plus a check's timeout (piranha's fos nanny gave up after
/// about two failed rounds).
pub fn grace(check: &HealthCheck) -> Duration {
    check.interval.to_duration() * 2 + check.effective_timeout().to_duration()
}

/// The nanny arguments that check `f` on this router, or `Err` naming a
/// check kind pulse does not run for failover services.
///
/// # Errors
/// A check other than `connect` (piranha's `send`/`expect`), `program`
/// (`send_program`) or `none`.
pub fn nanny_args(f: &FailoverService, verbose: bool) -> Result<Option<Vec<String>>, String> {
    let mut o = NannyOptions::new(f.vip.address);
    o.port = f.port;
    o.rport = Some(f.port);
    o.udp = f.protocol == Protocol::Udp;
    o.check = match &f.check.kind {
        CheckKind::None => return Ok(None),
        // The configuration holds decoded bytes: nanny must not decode again.
        CheckKind::Connect { send, expect, regex } => {
            CheckOptions::decoded_stream(send.clone(), expect.clone(), *regex)
        }
        CheckKind::Program { command, expect } => {
            CheckOptions::decoded_program(command.clone(), expect.clone())
        }
        _ => {
            return Err(format!(
                "failover service {}: pulse checks failover services with a connect \
                 (send/expect), program (send_program) or none check only",
                f.name
            ))
        }
    };
    let interval = f.check.interval.to_duration();
    o.interval = Some(Secs::with_decimals(interval));
    o.timeout = Some(Secs::with_decimals(f.check.effective_timeout().to_duration()));
    o.reentry = Some(Secs::with_decimals(interval));
    o.retries = Some(f.check.retries);
    o.weight = Some(1);
    o.no_slow_start = true;
    o.alive = Some(Secs::with_decimals(interval.min(Duration::from_secs(5))));
    o.mode = Mode::Report;
    o.verbose = verbose;
    Ok(Some(o.to_args()))
}

/// The active failover services of the model.
///
/// # Errors
/// A check pulse does not run for failover services.
pub fn from_model(c: &lvs_config::Config) -> Result<Vec<FailoverSettings>, String> {
    let mut out = Vec::new();
    for f in c.failover_services.iter().filter(|f| f.active) {
        let nanny = nanny_args(f, false)?
            .map(|args| (f.monitor.clone().unwrap_or_else(|| c.paths.nanny.clone()), args));
        let addr = f.vip.address;
        out.push(FailoverSettings {
            name: f.name.clone(),
            vip: Vip {
                addr,
                prefix: f.vip.netmask.unwrap_or(if addr.is_ipv4() { 32 } else { 128 }),
                dev: f.vip.interface.clone(),
            },
            start_cmd: f.start_cmd.clone(),
            stop_cmd: f.stop_cmd.clone(),
            nanny,
            grace: grace(&f.check),
        });
    }
    Ok(out)
}

/// What the machine watches.
pub fn watches(list: &[FailoverSettings]) -> Vec<FosWatch> {
    list.iter()
        .map(|f| FosWatch { name: f.name.clone(), grace: f.grace, checked: f.nanny.is_some() })
        .collect()
}

/// What the host runs; `verbose` (pulse's `-v`) adds nanny's `-v`.
pub fn host_services(list: &[FailoverSettings], verbose: bool) -> Vec<FosService> {
    list.iter()
        .map(|f| FosService {
            name: f.name.clone(),
            start: split_command(&f.start_cmd).unwrap_or_default(),
            stop: split_command(&f.stop_cmd).unwrap_or_default(),
            nanny: f.nanny.as_ref().map(|(p, a)| {
                let mut a = a.clone();
                if verbose {
                    a.push("-v".into());
                }
                (p.clone(), a)
            }),
        })
        .collect()
}
