//! The supervisor's reload (SIGHUP) and overrides (start, reload,
//! SIGUSR1): read and validate, keep everything running on any error,
//! else apply the difference and restart only the nannies whose command
//! line changed.

use std::time::{Duration, Instant};

use crate::policy::{Action, Event};
use crate::spec;
use ipvs::IpvsTable;

use super::Supervisor;

impl<K: IpvsTable> Supervisor<K> {
    /// SIGHUP: read and validate the configuration; on any error keep the
    /// running one. Otherwise apply the difference, restart only the
    /// nannies whose command line changed.
    pub(super) fn reload(&mut self) {
        let path = self.config_path.clone();
        log::info!("reload: reading {}", path.display());
        let t0 = Instant::now();
        let faults_before = minor_faults();
        let (config, diags) = lvs_config::load_file(&path);
        let parse = t0.elapsed();
        // Pages the parse had to get from the kernel: what makes it slow
        // in a VM when freed memory is not reused (see `sys`).
        let faults = match (faults_before, minor_faults()) {
            (Some(a), Some(b)) => b.saturating_sub(a).to_string(),
            _ => "?".to_owned(),
        };
        let Some(config) = config else {
            log::error!("reload: {} has errors; keeping the running configuration", path.display());
            for d in &diags {
                log::error!("reload: {d}");
            }
            return;
        };
        for d in &diags {
            log::warn!("reload: {d}");
        }
        if config.service == lvs_config::ServiceMode::Fos {
            log::error!("reload: {} asks for service = fos; lvsd runs LVS only; keeping the running configuration", path.display());
            return;
        }
        let t1 = Instant::now();
        let new = spec::build_keeping(&config, self.nanny_opts, &self.engine.spec.marks);
        let build = t1.elapsed();
        for w in &new.warnings {
            log::warn!("{w}");
        }
        let now = Instant::now();
        let mut stopped = 0;
        let mut fresh = Vec::new();
        for a in self.policy.step(Event::Reload(&new.nannies), now) {
            match a {
                Action::Start(k) => fresh.push(k),
                Action::Term { id, pid, key } => {
                    log::info!("reload: stopping nanny for {}", self.server_of(&key));
                    stopped += 1;
                    self.carry_out(Action::Term { id, pid, key }, now);
                }
                other => self.carry_out(other, now),
            }
        }
        self.pending.retain(|k| new.nannies.contains_key(k));
        let kept = new.nannies.len() - fresh.len();
        if let Some(limit) = crate::limits::nofile() {
            if let Some(m) = crate::limits::shortfall(new.nannies.len(), limit) {
                log::error!("reload: {m}");
            }
        }
        let host = (self.engine.spec.host.clone(), new.host.clone());
        let stats = self.engine.reload(new);
        let t2 = Instant::now();
        crate::host::apply(&host.1, Some(&host.0));
        if host.0.sync_both != host.1.sync_both {
            for m in self.engine.sync_daemons(host.1.sync_both.as_ref(), host.0.sync_both.as_ref())
            {
                log::error!("reload: {m}");
            }
        }
        if self.overrides.is_some() {
            self.overrides = Some(config.paths.overrides.clone());
        }
        self.apply_overrides("reload");
        let n_fresh = fresh.len();
        // Started between polls, so that the running nannies are heard.
        self.queue_starts(fresh);
        drop(config); // after the commands: freeing a large model takes a while
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        log::info!(
            "reload: {} IPVS commands (total {}); nannies: {} stopped, {n_fresh} started, {kept} kept; \
             commands sent {:.1} ms after reading began (read and parse {:.1} ms with {faults} page faults, spec {:.1} ms, plan {:.1} ms, apply {:.1} ms); \
             a resync of the kernel table follows",
            stats.commands,
            self.engine.commands_sent,
            stopped,
            ms(t2 - t0),
            ms(parse),
            ms(build),
            ms(stats.plan),
            ms(stats.apply),
        );
        self.last_resync = Instant::now();
        self.resync_clock = None;
    }

    /// Reads pulse's overrides file, bounded and never blocking
    /// (`lvs_config::read_file`); `None` (logged) when there is none to
    /// read or it is bad: the overrides in force stay, nothing is half
    /// applied.
    pub(super) fn read_overrides(&self) -> Option<lvs_config::overrides::Overrides> {
        let path = self.overrides.as_ref()?;
        match lvs_config::overrides::read(path) {
            Ok(o) => Some(o),
            Err(e) => {
                log::error!("overrides: {e}; keeping the overrides in force");
                None
            }
        }
    }

    /// Re-reads the overrides and changes what they touch.
    pub(super) fn apply_overrides(&mut self, why: &str) {
        if let Some(file) = self.read_overrides() {
            let n = self.engine.set_overrides(&file, Instant::now());
            log::info!(
                "overrides ({why}): generation {} from {}, {} entries, {n} IPVS commands",
                file.generation,
                if file.origin.is_empty() { "nobody" } else { &file.origin },
                file.entries.len()
            );
            self.next_drain = Instant::now();
        }
    }
}

/// Minor page faults of lvsd so far (`/proc/self/stat`, field 10).
fn minor_faults() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold blanks: count from after it.
    let after = &text[text.rfind(')')? + 1..];
    after.split_whitespace().nth(7)?.parse().ok()
}
