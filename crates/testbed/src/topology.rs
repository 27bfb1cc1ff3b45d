//! LVS topologies: a client, directors and real servers, each a namespace,
//! joined by bridges in a "switch" namespace.
//!
//! ```text
//!  client ──┐                 ┌── director 0 ──┐              ┌── real server 0
//!           ├─ public bridge ─┤                ├─ private ────┤
//!           │  192.0.2.0/24   └── director 1 ──┘   10.0.0.0/24 └── real server 1
//! ```
//!
//! - LVS-NAT: real servers sit on the private LAN with a default route via
//!   the NAT gateway address, which lives on the active director with the
//!   VIP; directors forward (`ip_forward = 1`).
//! - LVS-DR: there is no private LAN; real servers sit on the public LAN
//!   with the VIP on their loopback and `arp_ignore`/`arp_announce` set, so
//!   only the active director answers ARP for the VIP.
//!
//! In every namespace the public interface is `eth0` and the private one
//! `eth1`.

use std::net::Ipv4Addr;

use crate::{Netns, Result};

/// The addresses of every topology.
pub mod addr {
    use std::net::Ipv4Addr;

    /// Prefix length of both LANs.
    pub const PREFIX: u8 = 24;
    /// The client, on the public LAN.
    pub const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
    /// The virtual IP the directors serve.
    pub const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
    /// LVS-NAT: the real servers' default gateway, held by the active director.
    pub const NAT_GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 254);

    /// Director `i`'s own address on the public LAN.
    pub fn director_public(i: usize) -> Ipv4Addr {
        Ipv4Addr::new(192, 0, 2, host(1, i))
    }

    /// Director `i`'s own address on the private LAN (LVS-NAT).
    pub fn director_private(i: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, 0, host(1, i))
    }

    /// Real server `j`'s address: on the private LAN for LVS-NAT, on the
    /// public LAN for LVS-DR.
    pub fn real_server(forwarding: super::Forwarding, j: usize) -> Ipv4Addr {
        match forwarding {
            super::Forwarding::Nat => Ipv4Addr::new(10, 0, 0, host(101, j)),
            super::Forwarding::DirectRouting => Ipv4Addr::new(192, 0, 2, host(101, j)),
        }
    }

    fn host(base: u8, i: usize) -> u8 {
        // Builders allow at most 8 directors and 100 real servers.
        base.saturating_add(u8::try_from(i).unwrap_or(u8::MAX))
    }
}

/// How the directors forward to the real servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forwarding {
    /// LVS-NAT (masquerading): real servers behind the director.
    Nat,
    /// LVS-DR (direct routing): real servers beside the director, VIP on lo.
    DirectRouting,
}

/// One machine of a topology.
#[derive(Debug)]
pub struct Host {
    /// Its namespace.
    pub ns: Netns,
    /// Its own address on the public LAN (`eth0`), if it is on it.
    pub public: Option<Ipv4Addr>,
    /// Its own address on the private LAN (`eth1`), if it is on it.
    pub private: Option<Ipv4Addr>,
}

/// Describes a topology to build.
#[derive(Debug, Clone)]
pub struct TopologyBuilder {
    forwarding: Forwarding,
    directors: usize,
    real_servers: usize,
    active: Option<usize>,
}

impl TopologyBuilder {
    /// One director, two real servers, director 0 active.
    pub fn new(forwarding: Forwarding) -> TopologyBuilder {
        TopologyBuilder { forwarding, directors: 1, real_servers: 2, active: Some(0) }
    }

    /// How many directors (1 to 8).
    pub fn directors(mut self, n: usize) -> Self {
        self.directors = n.clamp(1, 8);
        self
    }

    /// How many real servers (0 to 100).
    pub fn real_servers(mut self, n: usize) -> Self {
        self.real_servers = n.min(100);
        self
    }

    /// Which director gets the VIP (and NAT gateway) at build time; `None`
    /// leaves them unassigned, for tests where pulse brings them up.
    pub fn active(mut self, director: Option<usize>) -> Self {
        self.active = director;
        self
    }

    /// Creates the namespaces, links, addresses and routes.
    ///
    /// # Errors
    /// When any `ip` command fails; what was built so far is torn down.
    pub fn build(self) -> Result<Topology> {
        let switch = Netns::new("switch")?;
        switch.ip(&["link", "add", "public", "type", "bridge"])?;
        switch.ip(&["link", "set", "public", "up"])?;
        let nat = self.forwarding == Forwarding::Nat;
        if nat {
            switch.ip(&["link", "add", "private", "type", "bridge"])?;
            switch.ip(&["link", "set", "private", "up"])?;
        }
        let client = Netns::new("client")?;
        plug(&switch, "public", "pc", &client, "eth0", addr::CLIENT)?;
        let mut topo = Topology {
            forwarding: self.forwarding,
            client: Host { ns: client, public: Some(addr::CLIENT), private: None },
            directors: Vec::new(),
            real_servers: Vec::new(),
            switch,
        };
        for i in 0..self.directors {
            let ns = Netns::new(&format!("dir{i}"))?;
            let public = addr::director_public(i);
            plug(&topo.switch, "public", &format!("pd{i}"), &ns, "eth0", public)?;
            let private = if nat {
                let private = addr::director_private(i);
                plug(&topo.switch, "private", &format!("qd{i}"), &ns, "eth1", private)?;
                ns.sysctl("net.ipv4.ip_forward", "1")?;
                Some(private)
            } else {
                None
            };
            topo.directors.push(Host { ns, public: Some(public), private });
        }
        for j in 0..self.real_servers {
            let ns = Netns::new(&format!("rs{j}"))?;
            let own = addr::real_server(self.forwarding, j);
            let host = if nat {
                plug(&topo.switch, "private", &format!("qr{j}"), &ns, "eth0", own)?;
                ns.ip(&["route", "add", "default", "via", &addr::NAT_GATEWAY.to_string()])?;
                Host { ns, public: None, private: Some(own) }
            } else {
                plug(&topo.switch, "public", &format!("pr{j}"), &ns, "eth0", own)?;
                // The VIP is local (so the server accepts packets sent to
                // it) but never announced or answered for on the LAN.
                for iface in ["all", "eth0"] {
                    ns.sysctl(&format!("net.ipv4.conf.{iface}.arp_ignore"), "1")?;
                    ns.sysctl(&format!("net.ipv4.conf.{iface}.arp_announce"), "2")?;
                }
                ns.ip(&["addr", "add", &format!("{}/32", addr::VIP), "dev", "lo"])?;
                Host { ns, public: Some(own), private: None }
            };
            topo.real_servers.push(host);
        }
        if let Some(i) = self.active {
            topo.activate(i)?;
        }
        Ok(topo)
    }
}

/// Joins `ns` to bridge `bridge` of `switch` with a veth pair (`port` on
/// the switch side, `iface` in `ns`) and gives `iface` address `ip`.
fn plug(
    switch: &Netns,
    bridge: &str,
    port: &str,
    ns: &Netns,
    iface: &str,
    ip: Ipv4Addr,
) -> Result<()> {
    // Created inside the switch namespace, peer moved straight into `ns`:
    // no link ever appears in the caller's namespace.
    switch.ip(&["link", "add", port, "type", "veth", "peer", "name", iface, "netns", ns.name()])?;
    switch.ip(&["link", "set", port, "master", bridge])?;
    switch.ip(&["link", "set", port, "up"])?;
    ns.ip(&["addr", "add", &format!("{ip}/{}", addr::PREFIX), "dev", iface])?;
    ns.ip(&["link", "set", iface, "up"])?;
    Ok(())
}

/// A built topology; dropping it deletes every namespace (and so every link).
#[derive(Debug)]
pub struct Topology {
    /// How directors forward.
    pub forwarding: Forwarding,
    /// The client, on the public LAN.
    pub client: Host,
    /// The directors (LVS routers).
    pub directors: Vec<Host>,
    /// The real servers.
    pub real_servers: Vec<Host>,
    /// The namespace holding the LAN bridges (`public`, `private`).
    pub switch: Netns,
}

impl Topology {
    /// Puts the VIP (and for LVS-NAT the NAT gateway) on director `i`, as
    /// the active router would.
    ///
    /// # Errors
    /// When there is no such director or `ip` fails.
    pub fn activate(&self, i: usize) -> Result<()> {
        let d = self.director(i)?;
        d.ns.ip(&["addr", "add", &format!("{}/{}", addr::VIP, addr::PREFIX), "dev", "eth0"])?;
        if self.forwarding == Forwarding::Nat {
            let gw = format!("{}/{}", addr::NAT_GATEWAY, addr::PREFIX);
            d.ns.ip(&["addr", "add", &gw, "dev", "eth1"])?;
        }
        Ok(())
    }

    /// Takes the VIP (and NAT gateway) off director `i`.
    ///
    /// # Errors
    /// When there is no such director or it does not hold them.
    pub fn deactivate(&self, i: usize) -> Result<()> {
        let d = self.director(i)?;
        d.ns.ip(&["addr", "del", &format!("{}/{}", addr::VIP, addr::PREFIX), "dev", "eth0"])?;
        if self.forwarding == Forwarding::Nat {
            let gw = format!("{}/{}", addr::NAT_GATEWAY, addr::PREFIX);
            d.ns.ip(&["addr", "del", &gw, "dev", "eth1"])?;
        }
        Ok(())
    }

    fn director(&self, i: usize) -> Result<&Host> {
        self.directors
            .get(i)
            .ok_or_else(|| crate::Error::Protocol(format!("the topology has no director {i}")))
    }

    /// Real server `j`'s own address.
    pub fn real_server_addr(&self, j: usize) -> Ipv4Addr {
        addr::real_server(self.forwarding, j)
    }
}
