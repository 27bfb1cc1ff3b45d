//! The seam between lvsd and the kernel's IPVS table: a narrow trait with
//! the real implementation over `ipvs::Client` and an in-memory one that
//! behaves like the kernel (EEXIST, ENOENT, ESRCH) and records every
//! command, for tests without IPVS.

use ipvs::{Command, Dest, Error, Service, ServiceKey, Timeouts};

use crate::table::Table;

/// Reading and changing the IPVS table.
///
/// Reading is offered piecewise (the service list, one service's
/// destinations) so that a resync can spread a large table over several
/// turns of lvsd's event loop; [`Kernel::dump`] reads it all at once.
pub trait Kernel {
    /// Every service (without destinations): one dump request.
    ///
    /// # Errors
    /// A socket or kernel error.
    fn services(&mut self) -> Result<Vec<Service>, Error>;

    /// The destinations of one service (none for a missing service): one
    /// dump request.
    ///
    /// # Errors
    /// A socket or kernel error.
    fn dests(&mut self, key: &ServiceKey) -> Result<Vec<Dest>, Error>;

    /// The connection timeouts.
    ///
    /// # Errors
    /// A socket or kernel error.
    fn timeouts(&mut self) -> Result<Timeouts, Error>;

    /// The whole table, timeouts included: one request for the services,
    /// one per service for its destinations, one for the timeouts.
    ///
    /// # Errors
    /// A socket or kernel error.
    fn dump(&mut self) -> Result<Table, Error> {
        let timeouts = self.timeouts()?;
        let services = self.services()?;
        let mut all = Vec::with_capacity(services.len());
        for s in services {
            let d = self.dests(&s.key)?;
            all.push((s, d));
        }
        Ok(Table::from_dump(all, Some(timeouts)))
    }

    /// Applies commands in order; one result per command. A failed
    /// command does not stop the following ones.
    ///
    /// # Errors
    /// A socket failure (the per-command results are then unknown).
    fn apply(&mut self, cmds: &[Command]) -> Result<Vec<Result<(), Error>>, Error>;
}

impl Kernel for ipvs::Client {
    fn services(&mut self) -> Result<Vec<Service>, Error> {
        ipvs::Client::services(self)
    }

    fn dests(&mut self, key: &ServiceKey) -> Result<Vec<Dest>, Error> {
        ipvs::Client::dests(self, key)
    }

    fn timeouts(&mut self) -> Result<Timeouts, Error> {
        ipvs::Client::timeouts(self)
    }

    fn apply(&mut self, cmds: &[Command]) -> Result<Vec<Result<(), Error>>, Error> {
        ipvs::Client::apply(self, cmds)
    }
}

/// An in-memory kernel table that answers like IPVS and logs commands.
#[cfg(test)]
#[derive(Clone, Debug, Default)]
pub struct FakeKernel {
    /// The table.
    pub table: Table,
    /// Every command applied (accepted or not), in order.
    pub log: Vec<Command>,
    /// Read requests answered (service lists, destination lists, timeouts).
    pub reads: u64,
}

#[cfg(test)]
impl FakeKernel {
    fn one(&mut self, cmd: &Command) -> Result<(), Error> {
        let kernel = |errno| Err(Error::Kernel { op: cmd.op(), errno });
        let svc = |t: &Table, k| t.services.contains_key(k);
        match cmd {
            Command::AddService(s) if svc(&self.table, &s.key) => return kernel(libc::EEXIST),
            Command::EditService(s) if !svc(&self.table, &s.key) => return kernel(libc::ESRCH),
            Command::DelService(k) if !svc(&self.table, k) => return kernel(libc::ESRCH),
            Command::AddDest(k, d) | Command::EditDest(k, d) => {
                let Some(e) = self.table.services.get(k) else { return kernel(libc::ESRCH) };
                let exists = e.dests.contains_key(&d.key());
                if matches!(cmd, Command::AddDest(..)) && exists {
                    return kernel(libc::EEXIST);
                }
                if matches!(cmd, Command::EditDest(..)) && !exists {
                    return kernel(libc::ENOENT);
                }
            }
            Command::DelDest(k, d) => {
                let Some(e) = self.table.services.get(k) else { return kernel(libc::ESRCH) };
                if !e.dests.contains_key(d) {
                    return kernel(libc::ENOENT);
                }
            }
            _ => {}
        }
        crate::table::record(&mut self.table, cmd);
        Ok(())
    }
}

#[cfg(test)]
impl Kernel for FakeKernel {
    fn services(&mut self) -> Result<Vec<Service>, Error> {
        self.reads += 1;
        Ok(self.table.services.values().map(|e| e.service.clone()).collect())
    }

    fn dests(&mut self, key: &ServiceKey) -> Result<Vec<Dest>, Error> {
        self.reads += 1;
        Ok(self
            .table
            .services
            .get(key)
            .map(|e| e.dests.values().cloned().collect())
            .unwrap_or_default())
    }

    fn timeouts(&mut self) -> Result<Timeouts, Error> {
        self.reads += 1;
        Ok(self.table.timeouts.unwrap_or(Timeouts { tcp: 900, tcp_fin: 120, udp: 300 }))
    }

    fn apply(&mut self, cmds: &[Command]) -> Result<Vec<Result<(), Error>>, Error> {
        self.log.extend(cmds.iter().cloned());
        Ok(cmds.iter().map(|c| self.one(c)).collect())
    }
}
