//! Links and addresses over rtnetlink (neli): the `ip link` / `ip addr`
//! operations pulse needs to bring VIPs up and down, without shelling out to
//! `ifconfig` as piranha did (reference `piranha.md` §3.5).
//!
//! [`Rtnl`] is the only type here that does IO (the requests, in this
//! file); turning kernel messages into [`LinkInfo`] (`link.rs`) and
//! [`AddrInfo`] and checking and encoding a [`VipAddress`] (`addr.rs`) are
//! pure.

use std::io::Cursor;

use neli::consts::nl::{NlmF, Nlmsg};
use neli::consts::rtnl::{Ifla, RtAddrFamily, RtScope, Rtm};
use neli::consts::socket::NlFamily;
use neli::nl::{NlPayload, Nlmsghdr, NlmsghdrBuilder};
use neli::rtnl::{Ifaddrmsg, IfaddrmsgBuilder, Ifinfomsg, IfinfomsgBuilder, RtattrBuilder};
use neli::socket::synchronous::NlSocketHandle;
use neli::types::{Buffer, RtBuffer};
use neli::utils::Groups;
use neli::{FromBytesWithInput, Size, ToBytes};

use crate::error::{Error, Op, Result};

mod addr;
mod link;

pub use addr::{ipv4_broadcast, AddrInfo, VipAddress};
pub use link::{LinkFlags, LinkInfo, OperState};

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

fn c_string(payload: &[u8]) -> String {
    let end = payload.iter().position(|&b| b == 0).unwrap_or(payload.len());
    String::from_utf8_lossy(&payload[..end]).into_owned()
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
