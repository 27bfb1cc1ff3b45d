//! `monitor_links`: the watched links' state, from lvs-net's link
//! monitor or read afresh, turned into the machine's link events.

use crate::host::Host;
use crate::machine::Event;

use super::Daemon;

impl<H: Host> Daemon<H> {
    /// Applies a link's new state; true when the process must exit.
    fn link_changed(&mut self, name: &str, now_up: bool) -> bool {
        let Some((_, up)) = self.links.iter_mut().find(|(n, _)| n == name) else { return false };
        if *up == now_up {
            return false;
        }
        *up = now_up;
        let ev =
            if now_up { Event::LinkUp(name.to_owned()) } else { Event::LinkDown(name.to_owned()) };
        self.handle(ev)
    }

    /// Reads the watched links' state afresh (at start, and after the
    /// kernel dropped notifications).
    pub(super) fn reread_links(&mut self) -> bool {
        if self.links.is_empty() {
            return false;
        }
        let mut rtnl = match lvs_net::Rtnl::open() {
            Ok(r) => r,
            Err(e) => {
                log::error!("monitor_links: {e}");
                return false;
            }
        };
        let names: Vec<String> = self.links.iter().map(|(n, _)| n.clone()).collect();
        let mut exit = false;
        for name in names {
            let up = match rtnl.link(&name) {
                Ok(l) => l.is_up(),
                Err(lvs_net::Error::NoSuchInterface(_)) => false,
                Err(e) => {
                    log::error!("monitor_links: {e}");
                    continue;
                }
            };
            exit |= self.link_changed(&name, up);
        }
        exit
    }

    pub(super) fn on_link_events(&mut self) -> bool {
        let Some(m) = &mut self.monitor else { return false };
        match m.read_events() {
            Ok(events) => {
                let mut exit = false;
                for e in events {
                    exit |= self.link_changed(&e.name, e.state == lvs_net::LinkState::Up);
                }
                exit
            }
            Err(lvs_net::Error::EventsLost) => self.reread_links(),
            Err(e) => {
                log::error!("monitor_links: {e}");
                false
            }
        }
    }
}
