//! The IO edge: reads what the host has and carries out [`Action`]s, with
//! rtnetlink through `lvs-net` (no `ip` processes) and sysctls through
//! `/proc/sys`.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::PathBuf;

use lvs_net::{Rtnl, VipAddress};

use crate::plan::{Action, Addr, Observed};

/// Reading or changing the host failed.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// rtnetlink.
    #[error(transparent)]
    Net(#[from] lvs_net::Error),
    /// A sysctl.
    #[error("sysctl {key}: {err}")]
    Sysctl {
        /// Dotted key.
        key: String,
        /// The OS error.
        err: io::Error,
    },
}

/// As sysctl(8): a key with `/` is a path already; otherwise dots
/// separate its parts.
fn sysctl_path(key: &str) -> PathBuf {
    let rel = if key.contains('/') { key.to_owned() } else { key.replace('.', "/") };
    PathBuf::from("/proc/sys").join(rel.trim_start_matches('/'))
}

/// Reads a sysctl; `None` when the key does not exist.
pub fn read_sysctl(key: &str) -> Option<String> {
    std::fs::read_to_string(sysctl_path(key)).ok().map(|s| s.trim().to_owned())
}

fn write_sysctl(key: &str, value: &str) -> Result<(), HostError> {
    std::fs::write(sysctl_path(key), value)
        .map_err(|err| HostError::Sysctl { key: key.to_owned(), err })
}

/// The links, addresses and the sysctls named in `keys`.
pub fn observe(rtnl: &mut Rtnl, keys: &BTreeSet<String>) -> Result<Observed, HostError> {
    let links = rtnl.links()?;
    let names: BTreeMap<u32, String> = links.iter().map(|l| (l.index, l.name.clone())).collect();
    let mut o = Observed {
        links: links.iter().map(|l| (l.name.clone(), l.flags.up())).collect(),
        ..Observed::default()
    };
    for a in rtnl.addresses(None)? {
        if let Some(dev) = names.get(&a.ifindex) {
            o.addresses.insert(Addr { dev: dev.clone(), addr: a.addr, prefix: a.prefix_len });
        }
    }
    for k in keys {
        if let Some(v) = read_sysctl(k) {
            o.sysctls.insert(k.clone(), v);
        }
    }
    for v6 in [false, true] {
        o.gateways.insert(v6, rtnl.default_routes(v6)?);
    }
    Ok(o)
}

/// Carries out one action and returns it as done (a sysctl's `was` read
/// again just before the write: a key of a device created by an earlier
/// action did not exist when the plan was made).
pub fn apply(rtnl: &mut Rtnl, a: &Action) -> Result<Action, HostError> {
    match a {
        Action::CreateTunnel { dev, kind } => {
            rtnl.create_link(dev, kind)?;
        }
        Action::LinkUp { dev, up } => {
            let link = rtnl.link(dev)?;
            rtnl.set_link_up(link.index, *up)?;
        }
        Action::AddAddress(x) => {
            rtnl.add_address(&vip(x))?;
        }
        Action::DelAddress(x) => {
            rtnl.del_address(&vip(x))?;
        }
        Action::Gateway { to: Some(g), .. } => rtnl.replace_default_route(*g)?,
        Action::Gateway { to: None, was, .. } => {
            if let Some(r) = was {
                rtnl.del_default_route(r.gateway)?;
            }
        }
        Action::Sysctl { key, value, was } => {
            let was = read_sysctl(key).unwrap_or_else(|| was.clone());
            write_sysctl(key, value)?;
            return Ok(Action::Sysctl { key: key.clone(), value: value.clone(), was });
        }
    }
    Ok(a.clone())
}

fn vip(a: &Addr) -> VipAddress {
    VipAddress {
        device: a.dev.clone(),
        addr: a.addr,
        prefix_len: a.prefix,
        broadcast: None,
        label: None,
    }
}
