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
//!
//! [`TopologyBuilder::ipv6`] makes every LAN dual-stack: each interface
//! also gets the IPv6 address of [`addr::v6`] (without duplicate address
//! detection, so it is usable at once), the VIP and NAT gateway come in both
//! families, and the LANs are otherwise the same.

use std::net::{Ipv4Addr, Ipv6Addr};

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

    /// The IPv6 addresses of a dual-stack topology
    /// ([`super::TopologyBuilder::ipv6`]): the public LAN is
    /// `2001:db8:2::/64`, the private one `2001:db8:10::/64`, and each
    /// machine's last group is its IPv4 address's last byte written in
    /// decimal digits (`192.0.2.101` is `2001:db8:2::101`).
    pub mod v6 {
        use std::net::Ipv6Addr;

        /// Prefix length of both LANs.
        pub const PREFIX: u8 = 64;
        /// The client, on the public LAN.
        pub const CLIENT: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0x100);
        /// The virtual IP the directors serve.
        pub const VIP: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0x10);
        /// LVS-NAT: the real servers' default gateway, held by the active
        /// director.
        pub const NAT_GATEWAY: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x10, 0, 0, 0, 0, 0x254);

        /// Director `i`'s own address on the public LAN.
        pub fn director_public(i: usize) -> Ipv6Addr {
            Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, group(1, i))
        }

        /// Director `i`'s own address on the private LAN (LVS-NAT).
        pub fn director_private(i: usize) -> Ipv6Addr {
            Ipv6Addr::new(0x2001, 0xdb8, 0x10, 0, 0, 0, 0, group(1, i))
        }

        /// Real server `j`'s address: on the private LAN for LVS-NAT, on
        /// the public LAN for LVS-DR.
        pub fn real_server(forwarding: super::super::Forwarding, j: usize) -> Ipv6Addr {
            let lan = match forwarding {
                super::super::Forwarding::Nat => 0x10,
                super::super::Forwarding::DirectRouting => 2,
            };
            Ipv6Addr::new(0x2001, 0xdb8, lan, 0, 0, 0, 0, group(101, j))
        }

        /// `base + i` written in decimal digits read as hex (`101` is
        /// `0x101`), so the group reads like the IPv4 address's last byte.
        fn group(base: u16, i: usize) -> u16 {
            let n = base.saturating_add(u16::try_from(i).unwrap_or(u16::MAX));
            u16::from_str_radix(&n.to_string(), 16).unwrap_or(n)
        }
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
    ipv6: bool,
}

impl TopologyBuilder {
    /// One director, two real servers, director 0 active.
    pub fn new(forwarding: Forwarding) -> TopologyBuilder {
        TopologyBuilder {
            forwarding,
            directors: 1,
            real_servers: 2,
            active: Some(0),
            bare: false,
            ipv6: false,
        }
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

    /// Dual stack: every interface also gets its IPv6 address of
    /// [`addr::v6`], and the VIP, the NAT gateway, a DR real server's VIP on
    /// `lo` and a NAT real server's default route come in IPv6 too.
    pub fn ipv6(mut self) -> Self {
        self.ipv6 = true;
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
        let v6 = self.ipv6;
        let six = |a: Ipv6Addr| v6.then_some(a);
        plug(
            &mut sw,
            "public",
            "pc",
            (&client, &mut client_script),
            "eth0",
            (addr::CLIENT, six(addr::v6::CLIENT)),
        );
        let mut director_scripts = Vec::new();
        for (i, ns) in directors.iter().enumerate() {
            let mut script = Script::new();
            plug(
                &mut sw,
                "public",
                &format!("pd{i}"),
                (ns, &mut script),
                "eth0",
                (addr::director_public(i), six(addr::v6::director_public(i))),
            );
            if nat {
                let private = (addr::director_private(i), six(addr::v6::director_private(i)));
                plug(&mut sw, "private", &format!("qd{i}"), (ns, &mut script), "eth1", private);
            }
            if self.active == Some(i) {
                for line in active_lines(nat, v6, "add") {
                    script.add(&line);
                }
            }
            director_scripts.push(script);
        }
        let mut rs_scripts = Vec::new();
        for (j, ns) in real_servers.iter().enumerate() {
            let mut script = Script::new();
            let own = (
                addr::real_server(self.forwarding, j),
                six(addr::v6::real_server(self.forwarding, j)),
            );
            if nat {
                plug(&mut sw, "private", &format!("qr{j}"), (ns, &mut script), "eth0", own);
                if !self.bare {
                    script.add(&format!("route add default via {}", addr::NAT_GATEWAY));
                    if v6 {
                        script.add(&format!("route add default via {}", addr::v6::NAT_GATEWAY));
                    }
                }
            } else {
                plug(&mut sw, "public", &format!("pr{j}"), (ns, &mut script), "eth0", own);
                if !self.bare {
                    script.add(&format!("addr add {}/32 dev lo", addr::VIP));
                    if v6 {
                        script.add(&format!("addr add {}/128 dev lo", addr::v6::VIP));
                    }
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
                if v6 {
                    ns.sysctl("net.ipv6.conf.all.forwarding", "1")?;
                }
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
            ipv6: v6,
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

/// The `ip` lines that put the VIP (and for NAT the gateway) on an active
/// director (`verb` "add") or take them off ("del"), in both families of a
/// dual-stack topology.
fn active_lines(nat: bool, v6: bool, verb: &str) -> Vec<String> {
    let mut v = vec![format!("addr {verb} {}/{} dev eth0", addr::VIP, addr::PREFIX)];
    if nat {
        v.push(format!("addr {verb} {}/{} dev eth1", addr::NAT_GATEWAY, addr::PREFIX));
    }
    if v6 {
        let nodad = if verb == "add" { " nodad" } else { "" };
        v.push(format!("addr {verb} {}/{} dev eth0{nodad}", addr::v6::VIP, addr::v6::PREFIX));
        if nat {
            let gw = addr::v6::NAT_GATEWAY;
            v.push(format!("addr {verb} {gw}/{} dev eth1{nodad}", addr::v6::PREFIX));
        }
    }
    v
}

/// Joins a namespace to bridge `bridge` of the switch with a veth pair
/// (`port` on the switch side, `iface` in the namespace) and gives `iface`
/// address `ip` (and its IPv6 address, without duplicate address
/// detection): the link is made by the switch's script, the addresses by
/// the namespace's.
fn plug(
    sw: &mut Script,
    bridge: &str,
    port: &str,
    node: (&Netns, &mut Script),
    iface: &str,
    ip: (Ipv4Addr, Option<Ipv6Addr>),
) {
    let (ip, ip6) = ip;
    let (ns, script) = node;
    // Created inside the switch namespace, peer moved straight into `ns`:
    // no link ever appears in the caller's namespace.
    sw.add(&format!("link add {port} type veth peer name {iface} netns {}", ns.name()));
    sw.add(&format!("link set {port} master {bridge}"));
    sw.add(&format!("link set {port} up"));
    script.add(&format!("addr add {ip}/{} dev {iface}", addr::PREFIX));
    if let Some(ip6) = ip6 {
        script.add(&format!("addr add {ip6}/{} dev {iface} nodad", addr::v6::PREFIX));
    }
    script.add(&format!("link set {iface} up"));
}

/// A built topology; dropping it deletes every namespace (and so every link).
#[derive(Debug)]
pub struct Topology {
    /// How directors forward.
    pub forwarding: Forwarding,
    /// Dual stack ([`TopologyBuilder::ipv6`]).
    pub ipv6: bool,
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
        let nat = self.forwarding == Forwarding::Nat;
        d.ns.batch(&(active_lines(nat, self.ipv6, "add").join("\n") + "\n"))
    }

    /// Takes the VIP (and NAT gateway) off director `i`.
    ///
    /// # Errors
    /// When there is no such director or it does not hold them.
    pub fn deactivate(&self, i: usize) -> Result<()> {
        let d = self.director(i)?;
        let nat = self.forwarding == Forwarding::Nat;
        d.ns.batch(&(active_lines(nat, self.ipv6, "del").join("\n") + "\n"))
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

    /// Real server `j`'s own IPv6 address (dual-stack topologies).
    pub fn real_server_addr6(&self, j: usize) -> Ipv6Addr {
        addr::v6::real_server(self.forwarding, j)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_read_like_the_ipv4_ones() {
        let dr = Forwarding::DirectRouting;
        let shown = [
            addr::v6::CLIENT.to_string(),
            addr::v6::VIP.to_string(),
            addr::v6::director_public(1).to_string(),
            addr::v6::real_server(dr, 2).to_string(),
            addr::v6::real_server(Forwarding::Nat, 0).to_string(),
            addr::v6::NAT_GATEWAY.to_string(),
        ];
        assert_eq!(
            shown,
            [
                "2001:db8:2::100",
                "2001:db8:2::10",
                "2001:db8:2::2",
                "2001:db8:2::103",
                "2001:db8:10::101",
                "2001:db8:10::254"
            ]
        );
        assert_eq!(
            active_lines(true, true, "add"),
            [
                "addr add 192.0.2.10/24 dev eth0",
                "addr add 10.0.0.254/24 dev eth1",
                "addr add 2001:db8:2::10/64 dev eth0 nodad",
                "addr add 2001:db8:10::254/64 dev eth1 nodad",
            ]
        );
        assert_eq!(active_lines(false, false, "del"), ["addr del 192.0.2.10/24 dev eth0"]);
    }
}
