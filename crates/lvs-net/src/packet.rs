//! `AF_PACKET` sockets: the IO edge where announcement frames leave the
//! host, and where tests (and diagnostics) capture what arrived. Frames are
//! built in [`crate::frame`]; this module only moves bytes.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use crate::error::{Error, Op, Result};
use crate::sys;

/// `ETH_P_ALL`: every protocol, for capturing.
const ETH_P_ALL: u16 = 0x0003;

/// A raw packet socket that sends complete Ethernet frames out of one
/// interface. Opening it needs `CAP_NET_RAW`.
#[derive(Debug)]
pub struct PacketSender {
    fd: OwnedFd,
    ifindex: u32,
    name: String,
}

impl PacketSender {
    /// Opens a sending socket for interface `name` with index `ifindex`.
    /// The socket subscribes to no protocol, so nothing queues up on it.
    ///
    /// # Errors
    /// [`Error::Os`] with `EPERM` without `CAP_NET_RAW`.
    pub fn open(ifindex: u32, name: &str) -> Result<PacketSender> {
        let fd = sys::packet_socket(0).map_err(|e| Error::os(Op::OpenPacketSocket, name, &e))?;
        Ok(PacketSender { fd, ifindex, name: name.to_string() })
    }

    /// The interface name this sender was opened for.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends one complete Ethernet frame (destination, source, ethertype,
    /// payload).
    ///
    /// # Errors
    /// The frame is shorter than an Ethernet header ([`Error::Invalid`]), or
    /// the kernel refuses it (`ENETDOWN` when the link went down, `ENXIO`
    /// when the interface vanished).
    pub fn send(&self, frame: &[u8]) -> Result<()> {
        let (Some(dst), Some(ethertype)) = (frame.get(0..6), frame.get(12..14)) else {
            return Err(Error::Invalid {
                iface: self.name.clone(),
                detail: format!("a {}-byte frame has no Ethernet header", frame.len()),
            });
        };
        let mut mac = [0; 6];
        mac.copy_from_slice(dst);
        let ethertype = u16::from_be_bytes([ethertype[0], ethertype[1]]);
        let sent = sys::send_frame(&self.fd, self.ifindex, ethertype, mac, frame)
            .map_err(|e| Error::os(Op::SendFrame, &self.name, &e))?;
        if sent != frame.len() {
            return Err(Error::Netlink {
                op: Op::SendFrame,
                iface: self.name.clone(),
                detail: format!("short send: {sent} of {} bytes", frame.len()),
            });
        }
        Ok(())
    }
}

/// A packet socket bound to one interface that receives every incoming
/// frame on it (what `tcpdump -i DEV` would see, outgoing frames excluded).
#[derive(Debug)]
pub struct PacketCapture {
    fd: OwnedFd,
    name: String,
}

impl PacketCapture {
    /// Starts capturing on interface `name` with index `ifindex`. Frames
    /// that arrive after this returns are queued until read.
    ///
    /// # Errors
    /// [`Error::Os`] with `EPERM` without `CAP_NET_RAW`, `ENODEV` for a bad
    /// index.
    pub fn open(ifindex: u32, name: &str) -> Result<PacketCapture> {
        let err = |e: io::Error| Error::os(Op::OpenPacketSocket, name, &e);
        let fd = sys::packet_socket(ETH_P_ALL).map_err(err)?;
        sys::bind_packet(&fd, ifindex, ETH_P_ALL).map_err(err)?;
        Ok(PacketCapture { fd, name: name.to_string() })
    }

    /// Waits up to `timeout` for the next incoming frame.
    /// Returns `None` on timeout.
    ///
    /// # Errors
    /// The kernel fails the receive.
    pub fn recv(&self, timeout: Duration) -> Result<Option<Vec<u8>>> {
        let err = |e: io::Error| Error::os(Op::ReceiveFrame, &self.name, &e);
        // A zero timeval would mean "block forever".
        sys::set_receive_timeout(&self.fd, timeout.max(Duration::from_micros(1))).map_err(err)?;
        let mut buf = vec![0; 65536];
        loop {
            match sys::recv_frame(&self.fd, &mut buf) {
                Ok((_, sys::PacketType::Outgoing)) => continue,
                Ok((n, sys::PacketType::Incoming)) => {
                    buf.truncate(n);
                    return Ok(Some(buf));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(err(e)),
            }
        }
    }
}

impl AsFd for PacketCapture {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
