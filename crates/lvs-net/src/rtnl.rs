//! Links and addresses over rtnetlink (neli): the `ip link` / `ip addr`
//! operations pulse needs to bring VIPs up and down, without shelling out to
//! `ifconfig` as piranha did (reference `piranha.md` §3.5).
//!
//! [`Rtnl`] is the only type here that does IO; turning kernel messages into
//! [`LinkInfo`] and [`AddrInfo`] and checking a [`VipAddress`] are pure.

use std::io::Cursor;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use neli::consts::nl::{NlmF, Nlmsg};
use neli::consts::rtnl::{Ifa, IfaF, Ifla, RtAddrFamily, RtScope, Rtm};
use neli::consts::socket::NlFamily;
use neli::nl::{NlPayload, Nlmsghdr, NlmsghdrBuilder};
use neli::rtnl::{Ifaddrmsg, IfaddrmsgBuilder, Ifinfomsg, IfinfomsgBuilder, RtattrBuilder};
use neli::socket::synchronous::NlSocketHandle;
use neli::types::{Buffer, RtBuffer};
use neli::utils::Groups;
use neli::{FromBytesWithInput, Size, ToBytes};

use crate::error::{Error, Op, Result};
use crate::mac::MacAddr;

/// `IFNAMSIZ - 1`: the longest interface name or address label.
pub const MAX_NAME_LEN: usize = 15;

/// Whether an idempotent operation changed anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The kernel state changed.
    Changed,
    /// The kernel was already in the requested state; nothing was done.
    Unchanged,
}

/// RFC 2863 operational state (`IFLA_OPERSTATE`), as `ip link` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperState {
    /// `UNKNOWN`: the driver does not report it (e.g. `dummy`, `lo`).
    Unknown,
    /// `NOTPRESENT`.
    NotPresent,
    /// `DOWN`.
    Down,
    /// `LOWERLAYERDOWN`: e.g. a veth whose peer is down.
    LowerLayerDown,
    /// `TESTING`.
    Testing,
    /// `DORMANT`.
    Dormant,
    /// `UP`.
    Up,
    /// A value this library does not know.
    Other(u8),
}

impl OperState {
    fn from_kernel(v: u8) -> OperState {
        match v {
            0 => OperState::Unknown,
            1 => OperState::NotPresent,
            2 => OperState::Down,
            3 => OperState::LowerLayerDown,
            4 => OperState::Testing,
            5 => OperState::Dormant,
            6 => OperState::Up,
            v => OperState::Other(v),
        }
    }
}

/// Interface flags (`ifi_flags`, the `IFF_*` bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkFlags(pub u32);

impl LinkFlags {
    fn has(self, bit: libc::c_int) -> bool {
        // The IFF_* constants are small positive bits.
        self.0 & (bit as u32) != 0
    }
    /// `IFF_UP`: administratively up (`ip link set up`).
    pub fn up(self) -> bool {
        self.has(libc::IFF_UP)
    }
    /// `IFF_RUNNING`: operationally up (carrier, RFC 2863 up or unknown).
    pub fn running(self) -> bool {
        self.has(libc::IFF_RUNNING)
    }
    /// `IFF_LOWER_UP`: the driver signals carrier.
    pub fn lower_up(self) -> bool {
        self.has(libc::IFF_LOWER_UP)
    }
    /// `IFF_LOOPBACK`.
    pub fn loopback(self) -> bool {
        self.has(libc::IFF_LOOPBACK)
    }
    /// `IFF_NOARP`: the link does not do ARP.
    pub fn noarp(self) -> bool {
        self.has(libc::IFF_NOARP)
    }
}

/// What `ip link show DEV` says about an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// Hardware address, when it is a 6-byte (Ethernet-like) one.
    pub mac: Option<MacAddr>,
    /// `IFF_*` flags.
    pub flags: LinkFlags,
    /// Operational state.
    pub oper_state: OperState,
}

impl LinkInfo {
    /// Up for traffic: administratively up and running (has carrier).
    /// This is what piranha's `monitor_links` calls "link up".
    pub fn is_up(&self) -> bool {
        self.flags.up() && self.flags.running()
    }

    /// Decodes an `RTM_NEWLINK` payload.
    ///
    /// # Errors
    /// The message has no name or a negative index.
    pub fn from_ifinfomsg(msg: &Ifinfomsg) -> std::result::Result<LinkInfo, String> {
        let index = u32::try_from(*msg.ifi_index())
            .map_err(|_| format!("negative ifindex {}", msg.ifi_index()))?;
        let mut name = None;
        let mut mac = None;
        let mut oper_state = OperState::Unknown;
        for attr in msg.rtattrs().iter() {
            let payload = attr.rta_payload().as_ref();
            match attr.rta_type() {
                Ifla::Ifname => name = Some(c_string(payload)),
                Ifla::Address if payload.len() == 6 => {
                    let mut b = [0; 6];
                    b.copy_from_slice(payload);
                    mac = Some(MacAddr(b));
                }
                Ifla::Operstate => {
                    if let Some(v) = payload.first() {
                        oper_state = OperState::from_kernel(*v);
                    }
                }
                _ => {}
            }
        }
        let name = name.ok_or_else(|| format!("link {index} has no IFLA_IFNAME"))?;
        Ok(LinkInfo { index, name, mac, flags: LinkFlags(msg.ifi_flags().bits()), oper_state })
    }
}

/// One address as `ip addr show` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrInfo {
    /// Index of the interface carrying the address.
    pub ifindex: u32,
    /// The address (`IFA_LOCAL` for IPv4, `IFA_ADDRESS` for IPv6).
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// IPv4 label (`eth0:1`); the kernel labels every IPv4 address, by
    /// default with the interface name.
    pub label: Option<String>,
    /// IPv4 broadcast address.
    pub broadcast: Option<Ipv4Addr>,
    /// `IFA_F_SECONDARY`: another address of the same subnet is primary.
    pub secondary: bool,
}

impl AddrInfo {
    /// Decodes an `RTM_NEWADDR` payload; `None` for a family other than
    /// IPv4 and IPv6 or a message without an address.
    pub fn from_ifaddrmsg(msg: &Ifaddrmsg) -> Option<AddrInfo> {
        let v4 = match msg.ifa_family() {
            RtAddrFamily::Inet => true,
            RtAddrFamily::Inet6 => false,
            _ => return None,
        };
        let (mut local, mut address, mut label, mut broadcast) = (None, None, None, None);
        for attr in msg.rtattrs().iter() {
            let payload = attr.rta_payload().as_ref();
            match attr.rta_type() {
                Ifa::Local => local = ip_from(payload),
                Ifa::Address => address = ip_from(payload),
                Ifa::Label => label = Some(c_string(payload)),
                Ifa::Broadcast => {
                    if let Some(IpAddr::V4(b)) = ip_from(payload) {
                        broadcast = Some(b);
                    }
                }
                _ => {}
            }
        }
        // For IPv4, IFA_LOCAL is the address and IFA_ADDRESS the peer on
        // point-to-point links; IPv6 sends IFA_LOCAL only for peers.
        let addr = if v4 { local.or(address) } else { address.or(local) }?;
        Some(AddrInfo {
            ifindex: *msg.ifa_index(),
            addr,
            prefix_len: *msg.ifa_prefixlen(),
            label,
            broadcast,
            secondary: msg.ifa_flags().contains(IfaF::SECONDARY),
        })
    }
}

/// A VIP to bring up or down: what piranha did with
/// `ifconfig eth0:1 IP netmask M broadcast B up`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipAddress {
    /// The interface to put the address on (`eth0`, never `eth0:1`).
    pub device: String,
    /// The address.
    pub addr: IpAddr,
    /// Prefix length (0..=32 for IPv4, 0..=128 for IPv6).
    pub prefix_len: u8,
    /// IPv4 broadcast address, if any.
    pub broadcast: Option<Ipv4Addr>,
    /// IPv4 label, such as `eth0:1`; it must start with `device`.
    /// IPv6 addresses have no labels.
    pub label: Option<String>,
}

impl VipAddress {
    /// The piranha form: `dev` may carry an alias (`eth0:1`), which becomes
    /// the label of an IPv4 address on `eth0`; an IPv4 address gets
    /// piranha's broadcast `(IP & M) | !M` (reference `piranha.md` §3.5)
    /// unless the prefix is /31 or /32, where there is no broadcast.
    /// For IPv6 the alias is dropped: the kernel has no IPv6 labels.
    pub fn piranha(dev: &str, addr: IpAddr, prefix_len: u8) -> VipAddress {
        let device = dev.split(':').next().unwrap_or(dev).to_string();
        match addr {
            IpAddr::V4(v4) => VipAddress {
                label: dev.contains(':').then(|| dev.to_string()),
                broadcast: ipv4_broadcast(v4, prefix_len),
                device,
                addr,
                prefix_len,
            },
            IpAddr::V6(_) => VipAddress { device, addr, prefix_len, broadcast: None, label: None },
        }
    }

    /// Checks the request before anything is sent.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the problem.
    pub fn validate(&self) -> Result<()> {
        let invalid = |detail: String| Err(Error::Invalid { iface: self.device.clone(), detail });
        if self.device.is_empty() || self.device.len() > MAX_NAME_LEN || self.device.contains(':') {
            return invalid(format!("bad interface name {:?}", self.device));
        }
        let max = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix_len > max {
            return invalid(format!("prefix length /{} is over {max}", self.prefix_len));
        }
        if self.addr.is_ipv6() && (self.label.is_some() || self.broadcast.is_some()) {
            return invalid(format!("{}: IPv6 addresses have no label or broadcast", self.addr));
        }
        if let Some(label) = &self.label {
            if !label.starts_with(&self.device) || label.len() > MAX_NAME_LEN {
                return invalid(format!(
                    "label {label:?} must start with {:?} and be at most {MAX_NAME_LEN} bytes",
                    self.device
                ));
            }
        }
        Ok(())
    }

    /// The `RTM_NEWADDR`/`RTM_DELADDR` payload for this address on
    /// interface `ifindex`. For removal only the address and prefix are
    /// sent, so an address is removed whatever its label.
    ///
    /// # Errors
    /// neli fails to build the message (it does not for valid input).
    pub fn to_ifaddrmsg(&self, ifindex: u32, for_add: bool) -> Result<Ifaddrmsg> {
        let nl_err = |e: &dyn std::fmt::Display| Error::Netlink {
            op: if for_add { Op::AddAddress } else { Op::DelAddress },
            iface: self.device.clone(),
            detail: e.to_string(),
        };
        let attr = |kind: Ifa, bytes: Vec<u8>| {
            RtattrBuilder::default()
                .rta_type(kind)
                .rta_payload(Buffer::from(bytes))
                .build()
                .map_err(|e| nl_err(&e))
        };
        let mut attrs = RtBuffer::new();
        let (family, bytes) = match self.addr {
            IpAddr::V4(a) => (RtAddrFamily::Inet, a.octets().to_vec()),
            IpAddr::V6(a) => (RtAddrFamily::Inet6, a.octets().to_vec()),
        };
        // As iproute2 does: IFA_LOCAL is the address, IFA_ADDRESS the same
        // address (it would be the peer on a point-to-point link).
        attrs.push(attr(Ifa::Local, bytes.clone())?);
        attrs.push(attr(Ifa::Address, bytes)?);
        let mut flags = IfaF::empty();
        if for_add {
            if let Some(b) = self.broadcast {
                attrs.push(attr(Ifa::Broadcast, b.octets().to_vec())?);
            }
            if let Some(label) = &self.label {
                let mut l = label.as_bytes().to_vec();
                l.push(0);
                attrs.push(attr(Ifa::Label, l)?);
            }
            if self.addr.is_ipv6() {
                // A VIP moves between routers: duplicate address detection
                // would keep it tentative (unusable) for a second and fail it
                // if the old owner still answers. keepalived does the same.
                flags |= IfaF::NODAD;
                // Deprecated from the start (preferred lifetime 0, valid
                // forever), as `ip addr add ... preferred_lft 0` does: it
                // still receives and answers neighbour solicitations, but
                // source address selection (RFC 6724 rule 3) never picks it
                // for a new connection. A VIP in the LAN's prefix would
                // otherwise become the source of the router's own
                // connections (a nanny's check of a DR real server, whose
                // reply then goes to the VIP on the real server's own `lo`).
                attrs.push(attr(Ifa::Cacheinfo, ipv6_cacheinfo(0, u32::MAX))?);
            }
        }
        IfaddrmsgBuilder::default()
            .ifa_family(family)
            .ifa_prefixlen(self.prefix_len)
            .ifa_flags(flags)
            .ifa_scope(RtScope::Universe)
            .ifa_index(ifindex)
            .rtattrs(attrs)
            .build()
            .map_err(|e| nl_err(&e))
    }
}

/// `struct ifa_cacheinfo` (host byte order): preferred and valid
/// lifetimes in seconds (`u32::MAX`: forever), the two time stamps zero.
fn ipv6_cacheinfo(preferred: u32, valid: u32) -> Vec<u8> {
    [preferred, valid, 0, 0].iter().flat_map(|v| v.to_ne_bytes()).collect()
}

/// piranha's broadcast for an IPv4 address: `(IP & M) | !M`, none for /31
/// and /32 (RFC 3021), none for a prefix over 32.
pub fn ipv4_broadcast(addr: Ipv4Addr, prefix_len: u8) -> Option<Ipv4Addr> {
    if prefix_len >= 31 {
        return None;
    }
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix_len)).unwrap_or(0);
    Some(Ipv4Addr::from((u32::from(addr) & mask) | !mask))
}

fn c_string(payload: &[u8]) -> String {
    let end = payload.iter().position(|&b| b == 0).unwrap_or(payload.len());
    String::from_utf8_lossy(&payload[..end]).into_owned()
}

fn ip_from(payload: &[u8]) -> Option<IpAddr> {
    match payload.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::new(payload[0], payload[1], payload[2], payload[3]))),
        16 => {
            let mut b = [0; 16];
            b.copy_from_slice(payload);
            Some(IpAddr::V6(Ipv6Addr::from(b)))
        }
        _ => None,
    }
}

/// Why a netlink request failed, before the caller names the operation.
pub(crate) enum ReqError {
    /// The kernel answered with this (positive) errno.
    Errno(i32),
    /// Anything else (encoding, decoding, socket without errno).
    Other(String),
}

impl ReqError {
    pub(crate) fn into_error(self, op: Op, iface: &str) -> Error {
        match self {
            ReqError::Errno(errno) => Error::Os { op, iface: iface.to_string(), errno },
            ReqError::Other(detail) => Error::Netlink { op, iface: iface.to_string(), detail },
        }
    }
}

pub(crate) fn other(e: impl std::fmt::Display) -> ReqError {
    ReqError::Other(e.to_string())
}

fn socket_error(e: neli::err::SocketError) -> ReqError {
    match &e {
        neli::err::SocketError::Io(io) => match io.raw_os_error() {
            Some(errno) => ReqError::Errno(errno),
            None => other(e),
        },
        _ => other(e),
    }
}

/// An rtnetlink socket: one request at a time, each acknowledged.
///
/// Equivalent to `ip link` / `ip addr`; reading needs no privilege,
/// changing needs `CAP_NET_ADMIN` (`EPERM` otherwise). The socket lives in
/// the network namespace of the thread that opened it.
pub struct Rtnl {
    sock: NlSocketHandle,
    seq: u32,
}

impl std::fmt::Debug for Rtnl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rtnl").field("pid", &self.sock.pid()).field("seq", &self.seq).finish()
    }
}

impl Rtnl {
    /// Opens a route netlink socket.
    ///
    /// # Errors
    /// The socket cannot be created or bound.
    pub fn open() -> Result<Rtnl> {
        let sock = NlSocketHandle::connect(NlFamily::Route, None, Groups::empty())
            .map_err(|e| socket_error(e).into_error(Op::Connect, "*"))?;
        Ok(Rtnl { sock, seq: 0 })
    }

    /// Sends one request and collects the payloads of its answer: until the
    /// ACK for a plain request, until `NLMSG_DONE` for a dump.
    pub(crate) fn request<P>(
        &mut self,
        kind: Rtm,
        flags: NlmF,
        payload: P,
    ) -> Result<Vec<Buffer>, ReqError>
    where
        P: Size + ToBytes + std::fmt::Debug,
    {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let flags = if flags.contains(NlmF::DUMP) { flags } else { flags | NlmF::ACK };
        let msg = NlmsghdrBuilder::default()
            .nl_type(kind)
            .nl_flags(flags | NlmF::REQUEST)
            .nl_seq(seq)
            .nl_payload(NlPayload::Payload(payload))
            .build()
            .map_err(other)?;
        self.sock.send(&msg).map_err(socket_error)?;
        let mut out = Vec::new();
        loop {
            let (iter, _) = self.sock.recv::<u16, Buffer>().map_err(socket_error)?;
            for reply in iter {
                let reply: Nlmsghdr<u16, Buffer> = reply.map_err(socket_error)?;
                if *reply.nl_seq() != seq {
                    // A late answer to an earlier request that failed midway.
                    log::debug!("dropping rtnetlink message with stale seq {}", reply.nl_seq());
                    continue;
                }
                match reply.nl_payload() {
                    NlPayload::Ack(_) => return Ok(out),
                    NlPayload::Err(e) => return Err(ReqError::Errno(-*e.error())),
                    NlPayload::DumpExtAck(e) if *e.error() != 0 => {
                        return Err(ReqError::Errno(-*e.error()))
                    }
                    NlPayload::DumpExtAck(_) | NlPayload::Empty => {
                        if *reply.nl_type() == u16::from(Nlmsg::Done) {
                            return Ok(out);
                        }
                    }
                    NlPayload::Payload(p) => {
                        if *reply.nl_type() == u16::from(Nlmsg::Done) {
                            return Ok(out);
                        }
                        out.push(Buffer::from(p.as_ref()));
                    }
                }
            }
        }
    }

    /// Reads interface `name` (`ip link show NAME`).
    ///
    /// # Errors
    /// [`Error::NoSuchInterface`], or the kernel's errno.
    pub fn link(&mut self, name: &str) -> Result<LinkInfo> {
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return Err(Error::NoSuchInterface(name.to_string()));
        }
        let mut attrs = RtBuffer::new();
        let mut n = name.as_bytes().to_vec();
        n.push(0);
        let attr = RtattrBuilder::default()
            .rta_type(Ifla::Ifname)
            .rta_payload(Buffer::from(n))
            .build()
            .map_err(|e| other(e).into_error(Op::GetLink, name))?;
        attrs.push(attr);
        let msg = IfinfomsgBuilder::default()
            .ifi_family(RtAddrFamily::Unspecified)
            .rtattrs(attrs)
            .build()
            .map_err(|e| other(e).into_error(Op::GetLink, name))?;
        match self.request(Rtm::Getlink, NlmF::empty(), msg) {
            Err(ReqError::Errno(libc::ENODEV)) => Err(Error::NoSuchInterface(name.to_string())),
            r => one_link(r, name),
        }
    }

    /// Reads the interface with index `index`.
    ///
    /// # Errors
    /// [`Error::NoSuchIndex`], or the kernel's errno.
    pub fn link_by_index(&mut self, index: u32) -> Result<LinkInfo> {
        let iface = format!("#{index}");
        let Ok(ifi_index) = libc::c_int::try_from(index) else {
            return Err(Error::NoSuchIndex(index));
        };
        let msg = IfinfomsgBuilder::default()
            .ifi_family(RtAddrFamily::Unspecified)
            .ifi_index(ifi_index)
            .build()
            .map_err(|e| other(e).into_error(Op::GetLink, &iface))?;
        match self.request(Rtm::Getlink, NlmF::empty(), msg) {
            Err(ReqError::Errno(libc::ENODEV)) => Err(Error::NoSuchIndex(index)),
            r => one_link(r, &iface),
        }
    }

    /// Lists every interface (`ip link show`).
    ///
    /// # Errors
    /// The kernel's errno.
    pub fn links(&mut self) -> Result<Vec<LinkInfo>> {
        let msg = IfinfomsgBuilder::default()
            .ifi_family(RtAddrFamily::Unspecified)
            .build()
            .map_err(|e| other(e).into_error(Op::GetLink, "*"))?;
        let bufs = self
            .request(Rtm::Getlink, NlmF::DUMP, msg)
            .map_err(|e| e.into_error(Op::GetLink, "*"))?;
        bufs.iter()
            .map(|b| {
                decode::<Ifinfomsg>(b)
                    .and_then(|m| LinkInfo::from_ifinfomsg(&m).map_err(ReqError::Other))
                    .map_err(|e| e.into_error(Op::GetLink, "*"))
            })
            .collect()
    }

    /// Sets interface `index` administratively up or down (`ip link set
    /// DEV up|down`).
    ///
    /// # Errors
    /// [`Error::NoSuchIndex`], or the kernel's errno (`EPERM` without
    /// `CAP_NET_ADMIN`).
    pub fn set_link_up(&mut self, index: u32, up: bool) -> Result<()> {
        let iface = format!("#{index}");
        let Ok(ifi_index) = libc::c_int::try_from(index) else {
            return Err(Error::NoSuchIndex(index));
        };
        let b =
            IfinfomsgBuilder::default().ifi_family(RtAddrFamily::Unspecified).ifi_index(ifi_index);
        let msg = if up { b.up() } else { b.down() }
            .build()
            .map_err(|e| other(e).into_error(Op::SetLink, &iface))?;
        match self.request(Rtm::Newlink, NlmF::empty(), msg) {
            Ok(_) => Ok(()),
            Err(ReqError::Errno(libc::ENODEV)) => Err(Error::NoSuchIndex(index)),
            Err(e) => Err(e.into_error(Op::SetLink, &iface)),
        }
    }

    /// Creates link `name` of type `kind` with no options (`ip link add
    /// NAME type KIND`), e.g. the `ipip` fallback device `tunl0`: asking
    /// for a link of a kind makes the kernel load its module, and loading
    /// `ipip` creates `tunl0` itself. A link that already exists with that
    /// name succeeds with [`Outcome::Unchanged`].
    ///
    /// # Errors
    /// [`Error::Invalid`] for a bad name or kind (nothing sent), or the
    /// kernel's errno (`EOPNOTSUPP` when the kind is unknown).
    pub fn create_link(&mut self, name: &str, kind: &str) -> Result<Outcome> {
        let invalid =
            |detail: &str| Error::Invalid { iface: name.to_string(), detail: detail.into() };
        if name.is_empty() || name.len() > MAX_NAME_LEN || name.contains([':', '/', ' ']) {
            return Err(invalid("bad interface name"));
        }
        if kind.is_empty() || kind.len() > 32 || !kind.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(invalid("bad link kind"));
        }
        if self.link(name).is_ok() {
            return Ok(Outcome::Unchanged);
        }
        let err = |e: &dyn std::fmt::Display| Error::Netlink {
            op: Op::CreateLink,
            iface: name.to_string(),
            detail: e.to_string(),
        };
        // IFLA_LINKINFO nests IFLA_INFO_KIND (1): one attribute, built by
        // hand (length, type, NUL-terminated kind, padding to 4 bytes).
        let mut kind_z = kind.as_bytes().to_vec();
        kind_z.push(0);
        let len = u16::try_from(4 + kind_z.len()).map_err(|e| err(&e))?;
        let mut nested = Vec::with_capacity(usize::from(len) + 3);
        nested.extend_from_slice(&len.to_ne_bytes());
        nested.extend_from_slice(&1u16.to_ne_bytes());
        nested.extend_from_slice(&kind_z);
        while nested.len() % 4 != 0 {
            nested.push(0);
        }
        let mut n = name.as_bytes().to_vec();
        n.push(0);
        let mut attrs = RtBuffer::new();
        for (kind, bytes) in [(Ifla::Ifname, n), (Ifla::Linkinfo, nested)] {
            attrs.push(
                RtattrBuilder::default()
                    .rta_type(kind)
                    .rta_payload(Buffer::from(bytes))
                    .build()
                    .map_err(|e| err(&e))?,
            );
        }
        let msg = IfinfomsgBuilder::default()
            .ifi_family(RtAddrFamily::Unspecified)
            .rtattrs(attrs)
            .build()
            .map_err(|e| err(&e))?;
        match self.request(Rtm::Newlink, NlmF::CREATE | NlmF::EXCL, msg) {
            Ok(_) => Ok(Outcome::Changed),
            // Loading the module made the fallback device (tunl0) already.
            Err(ReqError::Errno(libc::EEXIST)) => Ok(Outcome::Changed),
            Err(e) => Err(e.into_error(Op::CreateLink, name)),
        }
    }

    /// Lists addresses (`ip addr show`), of one interface or of all.
    ///
    /// # Errors
    /// The kernel's errno.
    pub fn addresses(&mut self, ifindex: Option<u32>) -> Result<Vec<AddrInfo>> {
        let iface = ifindex.map_or("*".to_string(), |i| format!("#{i}"));
        let msg = IfaddrmsgBuilder::default()
            .ifa_family(RtAddrFamily::Unspecified)
            .ifa_prefixlen(0)
            .ifa_scope(RtScope::Universe)
            .ifa_index(0)
            .build()
            .map_err(|e| other(e).into_error(Op::ListAddresses, &iface))?;
        let bufs = self
            .request(Rtm::Getaddr, NlmF::DUMP, msg)
            .map_err(|e| e.into_error(Op::ListAddresses, &iface))?;
        let mut out = Vec::new();
        for b in &bufs {
            let m = decode::<Ifaddrmsg>(b).map_err(|e| e.into_error(Op::ListAddresses, &iface))?;
            if let Some(a) = AddrInfo::from_ifaddrmsg(&m) {
                if ifindex.is_none_or(|i| i == a.ifindex) {
                    out.push(a);
                }
            }
        }
        Ok(out)
    }

    /// Adds a VIP (`ip addr add`). Adding an address the interface already
    /// has (same address and prefix) succeeds with
    /// [`Outcome::Unchanged`], whatever its label.
    ///
    /// # Errors
    /// [`Error::Invalid`] (nothing sent), [`Error::NoSuchInterface`], or the
    /// kernel's errno (`EPERM` without `CAP_NET_ADMIN`).
    pub fn add_address(&mut self, vip: &VipAddress) -> Result<Outcome> {
        vip.validate()?;
        let link = self.link(&vip.device)?;
        self.add_address_at(link.index, vip)
    }

    /// Adds a VIP on the interface with index `ifindex`, known from an
    /// earlier [`Rtnl::link`] of `vip.device`: one exchange with the kernel
    /// instead of two (pulse's takeover). Otherwise as [`Rtnl::add_address`].
    ///
    /// # Errors
    /// [`Error::Invalid`] (nothing sent), [`Error::NoSuchIndex`] when no
    /// interface has that index any more, or the kernel's errno.
    pub fn add_address_at(&mut self, ifindex: u32, vip: &VipAddress) -> Result<Outcome> {
        vip.validate()?;
        let msg = vip.to_ifaddrmsg(ifindex, true)?;
        // NLM_F_EXCL: the kernel answers EEXIST instead of replacing.
        match self.request(Rtm::Newaddr, NlmF::CREATE | NlmF::EXCL, msg) {
            Ok(_) => Ok(Outcome::Changed),
            Err(ReqError::Errno(libc::EEXIST)) => Ok(Outcome::Unchanged),
            Err(ReqError::Errno(libc::ENODEV)) => Err(Error::NoSuchIndex(ifindex)),
            Err(e) => Err(e.into_error(Op::AddAddress, &vip.device)),
        }
    }

    /// Removes a VIP (`ip addr del`), matching address and prefix.
    /// Removing an address the interface does not have succeeds with
    /// [`Outcome::Unchanged`].
    ///
    /// Note: removing an interface's *primary* IPv4 address also removes
    /// the secondaries of that subnet unless the sysctl
    /// `net.ipv4.conf.DEV.promote_secondaries` is set; VIPs are normally
    /// secondaries, so this concerns only a VIP that is alone in its subnet.
    ///
    /// # Errors
    /// [`Error::Invalid`] (nothing sent), [`Error::NoSuchInterface`], or the
    /// kernel's errno.
    pub fn del_address(&mut self, vip: &VipAddress) -> Result<Outcome> {
        vip.validate()?;
        let link = self.link(&vip.device)?;
        let msg = vip.to_ifaddrmsg(link.index, false)?;
        match self.request(Rtm::Deladdr, NlmF::empty(), msg) {
            Ok(_) => Ok(Outcome::Changed),
            Err(ReqError::Errno(libc::EADDRNOTAVAIL)) => Ok(Outcome::Unchanged),
            Err(e) => Err(e.into_error(Op::DelAddress, &vip.device)),
        }
    }
}

pub(crate) fn decode<P: FromBytesWithInput<Input = usize>>(b: &Buffer) -> Result<P, ReqError> {
    P::from_bytes_with_input(&mut Cursor::new(b.as_ref()), b.len()).map_err(other)
}

fn one_link(r: Result<Vec<Buffer>, ReqError>, iface: &str) -> Result<LinkInfo> {
    let bufs = r.map_err(|e| e.into_error(Op::GetLink, iface))?;
    let first = bufs.first().ok_or_else(|| Error::Netlink {
        op: Op::GetLink,
        iface: iface.to_string(),
        detail: "no RTM_NEWLINK in the answer".to_string(),
    })?;
    decode::<Ifinfomsg>(first)
        .and_then(|m| LinkInfo::from_ifinfomsg(&m).map_err(ReqError::Other))
        .map_err(|e| e.into_error(Op::GetLink, iface))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piranha_broadcast() {
        let b = |a: &str, p| ipv4_broadcast(a.parse().unwrap(), p);
        assert_eq!(b("192.168.10.200", 24), Some("192.168.10.255".parse().unwrap()));
        assert_eq!(b("10.1.2.3", 8), Some("10.255.255.255".parse().unwrap()));
        assert_eq!(b("10.1.2.3", 0), Some("255.255.255.255".parse().unwrap()));
        assert_eq!(b("10.1.2.3", 30), Some("10.1.2.3".parse().unwrap()));
        assert_eq!(b("10.1.2.3", 31), None);
        assert_eq!(b("10.1.2.3", 32), None);
    }

    #[test]
    fn piranha_device_alias_becomes_label() {
        let v = VipAddress::piranha("eth0:1", "192.168.10.200".parse().unwrap(), 24);
        assert_eq!(v.device, "eth0");
        assert_eq!(v.label.as_deref(), Some("eth0:1"));
        assert_eq!(v.broadcast, Some("192.168.10.255".parse().unwrap()));
        v.validate().unwrap();
        let plain = VipAddress::piranha("eth0", "192.168.10.200".parse().unwrap(), 32);
        assert_eq!((plain.label, plain.broadcast), (None, None));
        let v6 = VipAddress::piranha("eth0:2", "2001:db8::10".parse().unwrap(), 64);
        assert_eq!((v6.device.as_str(), v6.label.as_deref(), v6.broadcast), ("eth0", None, None));
        v6.validate().unwrap();
    }

    #[test]
    fn validate_rejects_before_sending() {
        let ok = VipAddress::piranha("eth0:1", "10.0.0.1".parse().unwrap(), 24);
        let bad = |f: &dyn Fn(&mut VipAddress)| {
            let mut v = ok.clone();
            f(&mut v);
            assert!(matches!(v.validate(), Err(Error::Invalid { .. })), "{v:?}");
        };
        bad(&|v| v.prefix_len = 33);
        bad(&|v| v.label = Some("eth1:1".into()));
        bad(&|v| v.label = Some("eth0:0123456789ab".into()));
        bad(&|v| v.device = "eth0:1".into());
        bad(&|v| v.device = String::new());
        bad(&|v| {
            v.addr = "2001:db8::1".parse().unwrap();
            v.broadcast = None;
        });
        let mut v6 = VipAddress::piranha("eth0", "2001:db8::1".parse().unwrap(), 129);
        assert!(v6.validate().is_err());
        v6.prefix_len = 128;
        v6.validate().unwrap();
    }

    #[test]
    fn add_message_bytes() {
        let v = VipAddress::piranha("eth0:1", "192.168.10.200".parse().unwrap(), 24);
        let msg = v.to_ifaddrmsg(7, true).unwrap();
        let mut c = Cursor::new(Vec::new());
        msg.to_bytes(&mut c).unwrap();
        let raw: Vec<u8> = [
            &[2u8, 24, 0, 0][..], // AF_INET, /24, flags 0, scope universe
            &7u32.to_ne_bytes(),  // ifindex 7
            &8u16.to_ne_bytes(),  // rta_len 8
            &2u16.to_ne_bytes(),  // IFA_LOCAL
            &[192, 168, 10, 200], //
            &8u16.to_ne_bytes(),  // rta_len 8
            &1u16.to_ne_bytes(),  // IFA_ADDRESS
            &[192, 168, 10, 200], //
            &8u16.to_ne_bytes(),  // rta_len 8
            &4u16.to_ne_bytes(),  // IFA_BROADCAST
            &[192, 168, 10, 255], //
            &11u16.to_ne_bytes(), // rta_len 4 + "eth0:1\0"
            &3u16.to_ne_bytes(),  // IFA_LABEL
            b"eth0:1\0",          //
            &[0],                 // padding to 4 bytes
        ]
        .concat();
        assert_eq!(c.into_inner(), raw);

        let v6 = VipAddress::piranha("eth0", "2001:db8::10".parse().unwrap(), 64);
        let msg = v6.to_ifaddrmsg(3, true).unwrap();
        assert_eq!(*msg.ifa_family(), RtAddrFamily::Inet6);
        assert!(msg.ifa_flags().contains(IfaF::NODAD));
        let mut c = Cursor::new(Vec::new());
        msg.to_bytes(&mut c).unwrap();
        let bytes = c.into_inner();
        let cacheinfo: Vec<u8> = [
            &20u16.to_ne_bytes()[..], // rta_len 4 + 16
            &6u16.to_ne_bytes(),      // IFA_CACHEINFO
            &0u32.to_ne_bytes(),      // preferred lifetime 0: deprecated
            &u32::MAX.to_ne_bytes(),  // valid forever
            &[0; 8],                  // time stamps
        ]
        .concat();
        assert!(bytes.ends_with(&cacheinfo), "{bytes:?}");
        let del = v6.to_ifaddrmsg(3, false).unwrap();
        assert!(del.ifa_flags().is_empty());
    }

    #[test]
    fn decodes_its_own_add_message_as_an_address() {
        let v = VipAddress::piranha("eth0:1", "192.168.10.200".parse().unwrap(), 24);
        let msg = v.to_ifaddrmsg(7, true).unwrap();
        let a = AddrInfo::from_ifaddrmsg(&msg).unwrap();
        assert_eq!(a.ifindex, 7);
        assert_eq!(a.addr, v.addr);
        assert_eq!(a.prefix_len, 24);
        assert_eq!(a.label.as_deref(), Some("eth0:1"));
        assert_eq!(a.broadcast, v.broadcast);
    }
}
