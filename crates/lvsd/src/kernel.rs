//! The seam between lvsd and the kernel's IPVS table: a narrow trait with
//! the real implementation over `ipvs::Client` and an in-memory one that
//! behaves like the kernel (EEXIST, ENOENT, ESRCH) and records every
//! command, for tests without IPVS.

use ipvs::{Command, Error};

use crate::table::{self, Table};

/// Reading and changing the IPVS table.
pub trait Kernel {
    /// The whole table, timeouts included.
    ///
    /// # Errors
    /// A socket or kernel error.
    fn dump(&mut self) -> Result<Table, Error>;

    /// Applies commands in order; one result per command. A failed
    /// command does not stop the following ones.
    ///
    /// # Errors
    /// A socket failure (the per-command results are then unknown).
    fn apply(&mut self, cmds: &[Command]) -> Result<Vec<Result<(), Error>>, Error>;
}

impl Kernel for ipvs::Client {
    fn dump(&mut self) -> Result<Table, Error> {
        let timeouts = self.timeouts()?;
        Ok(Table::from_dump(self.table()?, Some(timeouts)))
    }

    fn apply(&mut self, cmds: &[Command]) -> Result<Vec<Result<(), Error>>, Error> {
        ipvs::Client::apply(self, cmds)
    }
}

/// An in-memory kernel table that answers like IPVS and logs commands.
#[derive(Clone, Debug, Default)]
pub struct FakeKernel {
    /// The table.
    pub table: Table,
    /// Every command applied (accepted or not), in order.
    pub log: Vec<Command>,
}

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
        table::record(&mut self.table, cmd);
        Ok(())
    }
}

impl Kernel for FakeKernel {
    fn dump(&mut self) -> Result<Table, Error> {
        let mut t = self.table.clone();
        t.timeouts =
            Some(t.timeouts.unwrap_or(ipvs::Timeouts { tcp: 900, tcp_fin: 120, udp: 300 }));
        Ok(t)
    }

    fn apply(&mut self, cmds: &[Command]) -> Result<Vec<Result<(), Error>>, Error> {
        self.log.extend(cmds.iter().cloned());
        Ok(cmds.iter().map(|c| self.one(c)).collect())
    }
}
