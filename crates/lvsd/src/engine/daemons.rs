//! The sync daemon as master and backup at once (`sync_daemon: { both:
//! true }`): active-active routers each send the connections they create
//! and receive the others'. lvsd runs both on every router and stops them
//! when it stops; without `both`, pulse runs the one its role calls for
//! and lvsd leaves the daemons alone.

use ipvs::{Command, DaemonConfig, DaemonState, IpvsTable};

use super::Engine;

const ROLES: [DaemonState; 2] = [DaemonState::Master, DaemonState::Backup];

impl<K: IpvsTable> Engine<K> {
    /// Makes the daemons what `want` says, given that lvsd last made them
    /// `had` (`None` at start: nothing of lvsd's). With `want`, both roles
    /// are stopped first, so that a daemon left by an earlier run or with
    /// other settings is replaced (stopping one that does not run fails
    /// harmlessly), then started; without, those lvsd ran are stopped, and
    /// nothing is sent if lvsd ran none. Returns what failed, for the log.
    pub fn sync_daemons(
        &mut self,
        want: Option<&(String, u8)>,
        had: Option<&(String, u8)>,
    ) -> Vec<String> {
        if want.is_none() && had.is_none() {
            return Vec::new();
        }
        let mut cmds: Vec<Command> = ROLES.iter().map(|r| Command::StopDaemon(*r)).collect();
        if let Some((iface, id)) = want {
            cmds.extend(
                ROLES
                    .iter()
                    .map(|r| Command::StartDaemon(DaemonConfig::new(*r, iface, u32::from(*id)))),
            );
        }
        self.commands_sent += cmds.len() as u64;
        let results = match self.kernel.apply(&cmds) {
            Ok(r) => r,
            Err(e) => return vec![format!("sync daemons: {e}")],
        };
        let mut failed = Vec::new();
        for (cmd, r) in cmds.iter().zip(results) {
            match (cmd, r) {
                (Command::StartDaemon(d), Err(e)) => failed.push(format!(
                    "cannot start the {:?} sync daemon on {}: {e}",
                    d.state, d.mcast_ifn
                )),
                (Command::StartDaemon(d), Ok(())) => log::info!(
                    "sync daemon {:?} started on {} (sync id {})",
                    d.state,
                    d.mcast_ifn,
                    d.syncid
                ),
                (Command::StopDaemon(s), Ok(())) if want.is_none() => {
                    log::info!("sync daemon {s:?} stopped")
                }
                _ => {}
            }
        }
        failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Spec;
    use crate::table::Ownership;
    use ipvs::FakeTable;

    #[test]
    fn both_roles_are_replaced_at_start_and_stopped_at_the_end() {
        let mut e = Engine::new(FakeTable::new(), Spec::default(), Ownership::Configured);
        assert!(e.sync_daemons(None, None).is_empty());
        assert!(e.kernel.log.is_empty(), "without `both`, pulse's daemon is left alone");
        let both = ("eth1".to_owned(), 7);
        assert!(e.sync_daemons(Some(&both), None).is_empty());
        assert_eq!(
            e.kernel.log,
            [
                Command::StopDaemon(DaemonState::Master),
                Command::StopDaemon(DaemonState::Backup),
                Command::StartDaemon(DaemonConfig::new(DaemonState::Master, "eth1", 7)),
                Command::StartDaemon(DaemonConfig::new(DaemonState::Backup, "eth1", 7)),
            ]
        );
        e.kernel.log.clear();
        assert!(e.sync_daemons(None, Some(&both)).is_empty());
        assert_eq!(
            e.kernel.log,
            [Command::StopDaemon(DaemonState::Master), Command::StopDaemon(DaemonState::Backup)]
        );
    }
}
