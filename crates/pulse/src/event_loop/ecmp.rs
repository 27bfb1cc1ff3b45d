//! ECMP directors on the loop: at every turn the VIPs this director is fit
//! to announce (`crate::ecmp`, pure) are compared with those last handed to
//! the network worker, which writes them as routes in the kernel table BIRD
//! exports (`lvs_net::vip_route`); the loop never waits for rtnetlink.
//!
//! The first turn hands over the set as it is then (empty: lvsd has not
//! said its table is ready), which removes the routes a crashed run left
//! (start-up reconciliation); standing down, lvsd's death (its report
//! connection ends and its ready file no longer holds a live pid) and
//! SIGTERM withdraw everything. The set is handed over again every
//! [`RESYNC`], so that a failed change or a route removed by hand is set
//! right.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::ecmp::EcmpSettings;
use crate::host::Host;
use crate::wire::Role;

/// How often the whole set is written again even when nothing changed.
pub const RESYNC: Duration = Duration::from_secs(10);

/// What the loop keeps for ECMP.
#[derive(Debug)]
pub struct Ecmp {
    settings: EcmpSettings,
    /// What was last handed to the worker, and when.
    handed: Option<(BTreeSet<IpAddr>, Instant)>,
}

impl Ecmp {
    /// For a director of an ECMP group.
    pub fn new(settings: EcmpSettings) -> Ecmp {
        Ecmp { settings, handed: None }
    }

    /// Takes reloaded settings; a new table gets our routes and the old
    /// one loses them.
    pub fn reconfigure<H: Host>(&mut self, settings: EcmpSettings, host: &mut H) {
        if settings.table != self.settings.table {
            self.hand(host, BTreeSet::new(), Instant::now());
            self.handed = None;
        }
        self.settings = settings;
    }

    /// One turn: hands the worker the set when it changed or is due again.
    pub fn turn<H: Host>(
        &mut self,
        host: &mut H,
        role: Role,
        report: Option<&lvsd_api::Report>,
        now: Instant,
    ) {
        let lvsd_alive = report.is_some_and(|r| Some(r.pid) == host.lvsd_pid());
        let fit = role == Role::Active && host.lvsd_ready() && lvsd_alive;
        let want = self.settings.wanted(fit, report);
        let due = match &self.handed {
            None => true,
            Some((had, at)) => *had != want || now.saturating_duration_since(*at) >= RESYNC,
        };
        if due {
            if let Some((had, _)) = &self.handed {
                for v in want.difference(had) {
                    log::info!("ECMP: fit for VIP {v}, announcing it");
                }
                for v in had.difference(&want) {
                    log::info!(
                        "ECMP: VIP {v} to be withdrawn (fit: {fit}, lvsd alive: {lvsd_alive})"
                    );
                }
            }
            self.hand(host, want, now);
        }
    }

    /// Standing down and at exit: every route withdrawn (the worker
    /// finishes it before pulse exits).
    pub fn withdraw_all<H: Host>(&mut self, host: &mut H) {
        if self.handed.as_ref().is_some_and(|(had, _)| had.is_empty()) {
            return;
        }
        log::info!("ECMP: withdrawing every VIP");
        self.hand(host, BTreeSet::new(), Instant::now());
    }

    fn hand<H: Host>(&mut self, host: &mut H, want: BTreeSet<IpAddr>, now: Instant) {
        let list: Vec<IpAddr> = want.iter().copied().collect();
        if let Err(e) = host.vip_routes(self.settings.table, &list) {
            log::error!("{e}");
        }
        self.handed = Some((want, now));
    }
}
