//! Load probes (piranha `-U rup|ruptime|rsh|ssh`, our `--load-program`):
//! the option's value and the command line it runs. Pure; nanny parses the
//! probe's output (`nanny::load`) and runs it.

use std::ffi::OsString;
use std::net::IpAddr;

/// Which program reports the real server's load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadCmd {
    /// `rup RIP` (needs rstatd on the real server).
    Rup,
    /// `ruptime RIP` (needs rwhod).
    Ruptime,
    /// `rsh RIP uptime`.
    Rsh,
    /// `ssh RIP uptime`.
    Ssh,
    /// Our extension: `PROG RIP`, output parsed the same way.
    Program(String),
}

impl LoadCmd {
    /// Parses piranha's `-U` value; `none` gives `None`.
    ///
    /// # Errors
    /// A value piranha does not know, in words.
    pub fn parse(s: &str) -> Result<Option<LoadCmd>, String> {
        Ok(Some(match s {
            "none" | "" => return Ok(None),
            "rup" => LoadCmd::Rup,
            "ruptime" => LoadCmd::Ruptime,
            "rsh" => LoadCmd::Rsh,
            "ssh" | "uptime" => LoadCmd::Ssh,
            other => {
                return Err(format!(
                    "unknown load command {other:?} (rup, ruptime, rsh, ssh or none)"
                ))
            }
        }))
    }

    /// The argv to run for real server `rip`.
    pub fn argv(&self, rip: IpAddr) -> Vec<OsString> {
        let ip = OsString::from(rip.to_string());
        match self {
            LoadCmd::Rup => vec!["rup".into(), ip],
            LoadCmd::Ruptime => vec!["ruptime".into(), ip],
            LoadCmd::Rsh => vec!["rsh".into(), ip, "uptime".into()],
            LoadCmd::Ssh => vec!["ssh".into(), ip, "uptime".into()],
            LoadCmd::Program(p) => vec![p.into(), ip],
        }
    }

    /// The options that ask for it.
    pub(crate) fn args(&self) -> [String; 2] {
        let u = |w: &str| ["-U".to_string(), w.to_string()];
        match self {
            LoadCmd::Rup => u("rup"),
            LoadCmd::Ruptime => u("ruptime"),
            LoadCmd::Rsh => u("rsh"),
            LoadCmd::Ssh => u("ssh"),
            LoadCmd::Program(p) => ["--load-program".into(), p.clone()],
        }
    }
}
