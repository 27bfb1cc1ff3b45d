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
    bare: bool,
}

impl TopologyBuilder {
    /// One director, two real servers, director 0 active.
    pub fn new(forwarding: Forwarding) -> TopologyBuilder {
        TopologyBuilder { forwarding, directors: 1, real_servers: 2, active: Some(0), bare: false }
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

    /// Real servers get only their link and own address: no VIP on `lo`,
    /// no ARP sysctls, no default route (for tests where `lvs-node` sets
    /// them up).
    pub fn bare_real_servers(mut self) -> Self {
        self.bare = true;
        self
    }

    /// Creates the namespaces, links, addresses and routes.
    ///
    /// # Errors
    /// When any `ip` command fails; what was built so far is torn down.
    pub fn build(self) -> Result<Topology> {
        let nat = self.forwarding == Forwarding::Nat;
        let mut roles = vec!["switch".to_string(), "client".to_string()];
        roles.extend((0..self.directors).map(|i| format!("dir{i}")));
        roles.extend((0..self.real_servers).map(|j| format!("rs{j}")));
        let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
        let mut all = Netns::create_all(&roles)?.into_iter();
        let (Some(switch), Some(client)) = (all.next(), all.next()) else {
            return Err(crate::Error::Protocol("ip made fewer namespaces than asked".into()));
        };
        let directors: Vec<Netns> = all.by_ref().take(self.directors).collect();
        let real_servers: Vec<Netns> = all.collect();

        // Every command of a namespace goes into one `ip -batch`: process
        // starts are what costs under the guest's software emulation.
        let mut sw = Script::new();
        sw.add("link add public type bridge");
        sw.add("link set public up");
        if nat {
            sw.add("link add private type bridge");
            sw.add("link set private up");
        }
        let mut client_script = Script::new();
        plug(&mut sw, "public", "pc", (&client, &mut client_script), "eth0", addr::CLIENT);
        let mut director_scripts = Vec::new();
        for (i, ns) in directors.iter().enumerate() {
            let mut script = Script::new();
            plug(
                &mut sw,
                "public",
                &format!("pd{i}"),
                (ns, &mut script),
                "eth0",
                addr::director_public(i),
            );
            if nat {
                let private = addr::director_private(i);
                plug(&mut sw, "private", &format!("qd{i}"), (ns, &mut script), "eth1", private);
            }
            if self.active == Some(i) {
                script.add(&format!("addr add {}/{} dev eth0", addr::VIP, addr::PREFIX));
                if nat {
                    script.add(&format!(
                        "addr add {}/{} dev eth1",
                        addr::NAT_GATEWAY,
                        addr::PREFIX
                    ));
                }
            }
            director_scripts.push(script);
        }
        let mut rs_scripts = Vec::new();
        for (j, ns) in real_servers.iter().enumerate() {
            let mut script = Script::new();
            let own = addr::real_server(self.forwarding, j);
            if nat {
                plug(&mut sw, "private", &format!("qr{j}"), (ns, &mut script), "eth0", own);
                if !self.bare {
                    script.add(&format!("route add default via {}", addr::NAT_GATEWAY));
                }
            } else {
                plug(&mut sw, "public", &format!("pr{j}"), (ns, &mut script), "eth0", own);
                if !self.bare {
                    script.add(&format!("addr add {}/32 dev lo", addr::VIP));
                }
            }
            rs_scripts.push(script);
        }

        switch.batch(&sw.0)?;
        client.batch(&client_script.0)?;
        for (ns, script) in directors.iter().zip(&director_scripts) {
            ns.batch(&script.0)?;
            if nat {
                ns.sysctl("net.ipv4.ip_forward", "1")?;
            }
        }
        for (ns, script) in real_servers.iter().zip(&rs_scripts) {
            if !nat && !self.bare {
                // The VIP is local (so the server accepts packets sent to
                // it) but never announced or answered for on the LAN.
                for iface in ["all", "eth0"] {
                    ns.sysctl(&format!("net.ipv4.conf.{iface}.arp_ignore"), "1")?;
                    ns.sysctl(&format!("net.ipv4.conf.{iface}.arp_announce"), "2")?;
                }
            }
            ns.batch(&script.0)?;
        }

        let host = |ns, public, private| Host { ns, public, private };
        Ok(Topology {
            forwarding: self.forwarding,
            client: host(client, Some(addr::CLIENT), None),
            directors: directors
                .into_iter()
                .enumerate()
                .map(|(i, ns)| {
                    let private = nat.then(|| addr::director_private(i));
                    host(ns, Some(addr::director_public(i)), private)
                })
                .collect(),
            real_servers: real_servers
                .into_iter()
                .enumerate()
                .map(|(j, ns)| {
                    let own = addr::real_server(self.forwarding, j);
                    if nat {
                        host(ns, None, Some(own))
                    } else {
                        host(ns, Some(own), None)
                    }
                })
                .collect(),
            switch,
        })
    }
}

/// Lines for one `ip -batch`, starting with loopback up.
struct Script(String);

impl Script {
    fn new() -> Script {
        Script("link set lo up\n".into())
    }

    fn add(&mut self, line: &str) {
        self.0.push_str(line);
        self.0.push('\n');
    }
}

/// Joins a namespace to bridge `bridge` of the switch with a veth pair
/// (`port` on the switch side, `iface` in the namespace) and gives `iface`
/// address `ip`: the link is made by the switch's script, the address by
/// the namespace's.
fn plug(
    sw: &mut Script,
    bridge: &str,
    port: &str,
    node: (&Netns, &mut Script),
    iface: &str,
    ip: Ipv4Addr,
) {
    let (ns, script) = node;
    // Created inside the switch namespace, peer moved straight into `ns`:
    // no link ever appears in the caller's namespace.
    sw.add(&format!("link add {port} type veth peer name {iface} netns {}", ns.name()));
    sw.add(&format!("link set {port} master {bridge}"));
    sw.add(&format!("link set {port} up"));
    script.add(&format!("addr add {ip}/{} dev {iface}", addr::PREFIX));
    script.add(&format!("link set {iface} up"));
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
