//! The operator's overrides on the control socket, pure: parsing
//! `drain`/`disable`/`enable`/`weight`, resolving the service and server
//! named against the configuration's [`Catalog`], and changing the
//! [`Overrides`] (whose file format is `lvs_config::overrides`, shared with
//! lvsd). The event loop writes the file (`state_file`) and tells lvsd.

use lvs_config::overrides::{Author, Catalog, Change, Overrides};
use lvs_config::Millis;

/// The verbs of [`OpRequest`].
pub const VERBS: [&str; 4] = ["drain", "disable", "enable", "weight"];

/// A change request, as typed (names are resolved by [`apply`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpRequest {
    /// `drain SERVICE SERVER [TIMEOUT]`.
    Drain {
        /// The service as typed.
        service: String,
        /// The server as typed.
        server: String,
        /// The timeout, else the service's `drain_timeout`.
        timeout: Option<Millis>,
    },
    /// `disable SERVICE [SERVER]`.
    Disable {
        /// The service as typed.
        service: String,
        /// The server as typed, none for the whole service.
        server: Option<String>,
    },
    /// `enable SERVICE [SERVER]`.
    Enable {
        /// The service as typed.
        service: String,
        /// The server as typed, none for the whole service.
        server: Option<String>,
    },
    /// `weight SERVICE SERVER N|default`.
    Weight {
        /// The service as typed.
        service: String,
        /// The server as typed.
        server: String,
        /// The weight, none for `default`.
        weight: Option<u32>,
    },
}

/// Parses the words of a request whose first word is one of [`VERBS`].
///
/// # Errors
/// The usage of the verb.
pub fn parse(words: &[&str]) -> Result<OpRequest, String> {
    let s = |w: &str| w.to_owned();
    match words {
        ["drain", svc, srv] => {
            Ok(OpRequest::Drain { service: s(svc), server: s(srv), timeout: None })
        }
        ["drain", svc, srv, t] => {
            let timeout = Millis::parse(t).map_err(|e| format!("drain: {e}"))?;
            Ok(OpRequest::Drain { service: s(svc), server: s(srv), timeout: Some(timeout) })
        }
        ["disable", svc] => Ok(OpRequest::Disable { service: s(svc), server: None }),
        ["disable", svc, srv] => Ok(OpRequest::Disable { service: s(svc), server: Some(s(srv)) }),
        ["enable", svc] => Ok(OpRequest::Enable { service: s(svc), server: None }),
        ["enable", svc, srv] => Ok(OpRequest::Enable { service: s(svc), server: Some(s(srv)) }),
        ["weight", svc, srv, "default"] => {
            Ok(OpRequest::Weight { service: s(svc), server: s(srv), weight: None })
        }
        ["weight", svc, srv, n] => match n.parse::<u32>() {
            Ok(w) if w <= 65535 => {
                Ok(OpRequest::Weight { service: s(svc), server: s(srv), weight: Some(w) })
            }
            _ => Err(format!("weight: {n:?} is not a weight from 0 to 65535 or `default`")),
        },
        ["drain", ..] => Err("usage: drain SERVICE SERVER [TIMEOUT]".into()),
        ["disable", ..] => Err("usage: disable SERVICE [SERVER]".into()),
        ["enable", ..] => Err("usage: enable SERVICE [SERVER]".into()),
        _ => Err("usage: weight SERVICE SERVER N|default".into()),
    }
}

/// Resolves a request against the configuration and applies it.
/// Returns the reply: what was done, or that nothing changed.
///
/// # Errors
/// A message naming the service or server that was not found.
pub fn apply(
    req: &OpRequest,
    catalog: &Catalog,
    overrides: &mut Overrides,
    who: &Author,
) -> Result<Option<String>, String> {
    let change = match req {
        OpRequest::Drain { service, server, timeout } => {
            let v = catalog.service(service)?;
            Change::Drain(v.id, v.server(server)?, timeout.unwrap_or(v.drain_timeout))
        }
        OpRequest::Disable { service, server } => {
            let v = catalog.service(service)?;
            Change::Disable(v.id, server.as_deref().map(|s| v.server(s)).transpose()?)
        }
        OpRequest::Enable { service, server } => {
            let v = catalog.service(service)?;
            Change::Enable(v.id, server.as_deref().map(|s| v.server(s)).transpose()?)
        }
        OpRequest::Weight { service, server, weight } => {
            let v = catalog.service(service)?;
            Change::Weight(v.id, v.server(server)?, *weight)
        }
    };
    Ok(overrides.apply(&change, who))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let yaml = "\
routers: { primary: { address: 192.0.2.1 } }
virtual_services:
  - name: web
    vip: { address: 192.0.2.10, interface: eth0 }
    drain_timeout: 20
    real_servers:
      - { name: a, address: 10.0.0.1 }
      - { name: b, address: 10.0.0.2 }
";
        let (c, d) = lvs_config::parse_str(yaml, "t.yaml", lvs_config::Format::Yaml);
        Catalog::of(&c.unwrap_or_else(|| panic!("{d:?}")))
    }

    fn run(line: &str, o: &mut Overrides) -> Result<Option<String>, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let who = Author { uid: 0, at: 5, router: "lvs1".into() };
        apply(&parse(&words)?, &catalog(), o, &who)
    }

    #[test]
    fn requests_change_the_overrides_by_name_or_address() {
        let mut o = Overrides::default();
        assert_eq!(
            run("drain web a", &mut o).unwrap().as_deref(),
            Some("draining tcp:192.0.2.10:80 10.0.0.1:80 (timeout 20s)")
        );
        assert_eq!(
            run("weight tcp:192.0.2.10:80 10.0.0.2:80 3", &mut o).unwrap().as_deref(),
            Some("weight of tcp:192.0.2.10:80 10.0.0.2:80 set to 3")
        );
        assert_eq!(run("weight web b 3", &mut o).unwrap(), None, "no change");
        run("disable web", &mut o).unwrap();
        run("drain web b 1.5", &mut o).unwrap();
        assert_eq!(o.generation, 4);
        assert!(o.render().contains("tcp:192.0.2.10:80 10.0.0.2:80 drained (timeout 1.5s), weight 3 by uid 0 on lvs1 at 1970-01-01T00:00:05Z"), "{}", o.render());
        run("enable web", &mut o).unwrap();
        run("enable web a", &mut o).unwrap();
        run("enable web b", &mut o).unwrap();
        run("weight web b default", &mut o).unwrap();
        assert!(o.entries.is_empty());
    }

    #[test]
    fn errors_name_what_was_not_found() {
        let mut o = Overrides::default();
        assert!(run("drain www a", &mut o)
            .unwrap_err()
            .contains("no active virtual service \"www\""));
        assert!(run("drain web c", &mut o)
            .unwrap_err()
            .contains("has no active real server \"c\""));
        assert!(run("weight web a 70000", &mut o).unwrap_err().contains("0 to 65535"));
        assert!(run("drain web a soon", &mut o).unwrap_err().contains("invalid duration"));
        assert_eq!(run("drain web", &mut o).unwrap_err(), "usage: drain SERVICE SERVER [TIMEOUT]");
        assert_eq!(o, Overrides::default());
    }
}
