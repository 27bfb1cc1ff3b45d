//! Standalone mode (nanny run by hand, as operators did with piranha's):
//! decisions are applied to the kernel IPVS table through the `ipvs` crate,
//! idempotently (an `up` on an existing entry edits it, a `down` on a
//! missing one is fine).

use std::net::IpAddr;

use ipvs::{Client, Dest, ForwardMethod, ServiceKey};

use crate::args::{Config, Method};
use crate::protocol::Decision;
use crate::table::{Table, TableError};

/// The real server's entry in one virtual service, through netlink.
#[derive(Debug)]
pub struct Kernel {
    client: Client,
    service: ServiceKey,
    dest: Dest,
}

/// Which service and destination a configuration names.
pub fn entry(cfg: &Config) -> Result<(ServiceKey, Dest), TableError> {
    let rip = cfg.server.ip();
    let service = if cfg.fwmark != 0 {
        ServiceKey::fwmark(ipvs::Family::of(&cfg.vip.unwrap_or(rip)), cfg.fwmark)
    } else {
        let vip: IpAddr = cfg.vip.ok_or(TableError::NoVip)?;
        if cfg.udp {
            ServiceKey::udp(vip, cfg.vport)
        } else {
            ServiceKey::tcp(vip, cfg.vport)
        }
    };
    Ok((service, Dest::new(rip, cfg.server.port()).with_fwd(forward(cfg.method))))
}

/// `-M` as IPVS names it: the one conversion of the command line's
/// `nanny_api::Method` (an edge type, so that pulse, which may not build
/// `ipvs`, can write nanny's argv) into `ipvs::ForwardMethod`.
fn forward(m: Method) -> ForwardMethod {
    match m {
        Method::Masquerade => ForwardMethod::Masq,
        Method::Gatewaying => ForwardMethod::Route,
        Method::Tunnel => ForwardMethod::Tunnel,
    }
}

impl Kernel {
    /// Opens the netlink client.
    pub fn new(cfg: &Config) -> Result<Kernel, TableError> {
        let (service, dest) = entry(cfg)?;
        let client = Client::connect().map_err(|e| TableError::Ipvs { op: "connect", err: e })?;
        Ok(Kernel { client, service, dest })
    }

    fn put(&mut self, weight: u32) -> Result<(), TableError> {
        self.dest.weight = weight;
        match self.client.add_dest(&self.service, &self.dest) {
            Ok(()) => Ok(()),
            Err(e) if e.errno() == Some(libc::EEXIST) => self
                .client
                .edit_dest(&self.service, &self.dest)
                .map_err(|err| TableError::Ipvs { op: "edit real server", err }),
            Err(err) => Err(TableError::Ipvs { op: "add real server", err }),
        }
    }
}

impl Table for Kernel {
    fn decide(&mut self, d: Decision, _reason: &str) -> Result<(), TableError> {
        match d.weight_in_table() {
            Some(weight) => self.put(weight),
            None => match self.client.del_dest(&self.service, &self.dest.key()) {
                Ok(()) => Ok(()),
                Err(e) if e.errno() == Some(libc::ENOENT) => Ok(()),
                Err(err) => Err(TableError::Ipvs { op: "delete real server", err }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{parse, Parsed};

    fn cfg(args: &[&str]) -> Config {
        match parse(args.iter().copied()).unwrap() {
            Parsed::Run(c) => *c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_entry_piranha_would_add() {
        let c = cfg(&["-h", "10.0.0.2", "-V", "192.0.2.1", "-p", "80", "-r", "8080", "-M", "g"]);
        let (svc, dest) = entry(&c).unwrap();
        assert_eq!(svc, ServiceKey::tcp("192.0.2.1".parse().unwrap(), 80));
        assert_eq!(dest.key(), ipvs::DestKey { addr: "10.0.0.2".parse().unwrap(), port: 8080 });
        assert_eq!(dest.fwd, ForwardMethod::Route);
        let c = cfg(&["-h", "10.0.0.2", "-V", "192.0.2.1", "-p", "53", "-u", "-M", "-i"]);
        let (svc, dest) = entry(&c).unwrap();
        assert_eq!(svc, ServiceKey::udp("192.0.2.1".parse().unwrap(), 53));
        assert_eq!(dest.fwd, ForwardMethod::Tunnel);
        let c = cfg(&["-h", "10.0.0.2", "-f", "7", "-p", "80"]);
        let (svc, dest) = entry(&c).unwrap();
        assert_eq!(svc, ServiceKey::fwmark(ipvs::Family::Inet, 7));
        assert_eq!(dest.fwd, ForwardMethod::Masq);
        let c = cfg(&["-h", "10.0.0.2", "-p", "80"]);
        assert!(matches!(entry(&c), Err(TableError::NoVip)));
    }
}
