//! The [`Journal`] on disk, so that an lvs-node restarted after a crash
//! (or an upgrade) still knows what it changed and can undo it at stop.
//! One line per change, pure encode and decode; the file is written whole
//! (to a temporary name, then renamed) after every change.
//!
//! ```text
//! addr lo 192.0.2.10/32
//! sysctl net.ipv4.conf.all.arp_ignore 0
//! link tunl0
//! gw4 10.0.0.1 3          (the default route found: gateway, protocol)
//! gw6 none                (there was none)
//! ```

use std::net::IpAddr;

use lvs_net::route::DefaultRoute;

use crate::plan::{Addr, Journal};

/// Encodes a journal.
pub fn encode(j: &Journal) -> String {
    let mut out = String::new();
    for a in &j.addresses {
        out.push_str(&format!("addr {} {}/{}\n", a.dev, a.addr, a.prefix));
    }
    for (k, v) in &j.sysctls {
        out.push_str(&format!("sysctl {k} {v}\n"));
    }
    for d in &j.links_up {
        out.push_str(&format!("link {d}\n"));
    }
    for (v6, r) in &j.gateways {
        let fam = if *v6 { "gw6" } else { "gw4" };
        match r {
            Some(r) => out.push_str(&format!("{fam} {} {}\n", r.gateway, r.protocol)),
            None => out.push_str(&format!("{fam} none\n")),
        }
    }
    out
}

/// Decodes a journal; a bad line is an error naming it (the file is then
/// left alone: better to undo nothing than the wrong thing).
pub fn decode(text: &str) -> Result<Journal, String> {
    let mut j = Journal::default();
    for (n, line) in text.lines().enumerate() {
        let bad = || format!("line {}: {line:?}", n + 1);
        let mut words = line.splitn(3, ' ');
        match (words.next(), words.next(), words.next()) {
            (Some(""), None, None) => {}
            (Some("addr"), Some(dev), Some(a)) => {
                let (addr, prefix) = a.split_once('/').ok_or_else(bad)?;
                j.addresses.insert(Addr {
                    dev: dev.to_owned(),
                    addr: addr.parse().map_err(|_| bad())?,
                    prefix: prefix.parse().map_err(|_| bad())?,
                });
            }
            // A key is a path under /proc/sys: never out of it.
            (Some("sysctl"), Some(k), _) if k.contains("..") => return Err(bad()),
            (Some("sysctl"), Some(k), v) => {
                j.sysctls.insert(k.to_owned(), v.unwrap_or("").to_owned());
            }
            (Some("link"), Some(d), None) => {
                j.links_up.insert(d.to_owned());
            }
            (Some(fam @ ("gw4" | "gw6")), Some(g), p) => {
                let route = match (g, p) {
                    ("none", None) => None,
                    (g, Some(p)) => Some(DefaultRoute {
                        gateway: g.parse::<IpAddr>().map_err(|_| bad())?,
                        protocol: p.parse().map_err(|_| bad())?,
                    }),
                    _ => return Err(bad()),
                };
                j.gateways.insert(fam == "gw6", route);
            }
            _ => return Err(bad()),
        }
    }
    Ok(j)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut j = Journal::default();
        j.addresses.insert(Addr {
            dev: "lo".into(),
            addr: "192.0.2.10".parse().unwrap(),
            prefix: 32,
        });
        j.addresses.insert(Addr {
            dev: "lo".into(),
            addr: "2001:db8::1".parse().unwrap(),
            prefix: 128,
        });
        j.sysctls.insert("net.ipv4.conf.all.arp_ignore".into(), "0".into());
        j.sysctls.insert("net.ipv4.ping_group_range".into(), "1 0".into());
        j.sysctls.insert("net.x".into(), String::new());
        j.links_up.insert("tunl0".into());
        j.gateways.insert(
            false,
            Some(DefaultRoute { gateway: "10.0.0.1".parse().unwrap(), protocol: 3 }),
        );
        j.gateways.insert(true, None);
        let text = encode(&j);
        assert!(text.contains("addr lo 192.0.2.10/32\n"), "{text}");
        assert!(text.contains("gw4 10.0.0.1 3\ngw6 none\n"), "{text}");
        assert_eq!(decode(&text), Ok(j));
        assert_eq!(decode(""), Ok(Journal::default()));
    }

    #[test]
    fn bad_lines_are_refused() {
        for bad in
            ["addr lo 1.2.3.4", "addr lo x/32", "link", "gw4 1.2.3.4", "gw6 none 3", "rm -rf /"]
        {
            assert!(decode(bad).is_err(), "{bad}");
        }
    }
}
