//! A link as rtnetlink describes it (`RTM_NEWLINK`): its index, name,
//! MAC, flags and operational state, decoded from an `ifinfomsg`. Pure.

use neli::consts::rtnl::Ifla;
use neli::rtnl::Ifinfomsg;

use super::c_string;
use crate::mac::MacAddr;
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
