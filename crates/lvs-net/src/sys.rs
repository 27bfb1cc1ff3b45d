//! The raw system calls of this crate: `AF_PACKET` sockets, which neither
//! std nor nix wrap with a link-layer address we can build safely. Every
//! `unsafe` block of the crate is here, each with its `// SAFETY:` comment;
//! errno becomes an `io::Error` in one place ([`cvt`]).

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// What a received frame was, from `sockaddr_ll.sll_pkttype`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PacketType {
    /// Sent by this host (seen on a capture socket of the sending side).
    Outgoing,
    /// Anything received from the wire.
    Incoming,
}

/// Turns a `-1` return into the thread's errno.
fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn cvt_size(ret: libc::ssize_t) -> io::Result<usize> {
    usize::try_from(ret).map_err(|_| io::Error::last_os_error())
}

/// A `sockaddr_ll` for `ifindex`, `protocol` (host order) and `dst`.
fn sockaddr_ll(ifindex: u32, protocol: u16, dst: [u8; 6]) -> io::Result<libc::sockaddr_ll> {
    let ifindex =
        libc::c_int::try_from(ifindex).map_err(|_| io::Error::from_raw_os_error(libc::ENODEV))?;
    // SAFETY: sockaddr_ll is a plain C struct of integers and byte arrays,
    // for which all-zero bytes are a valid value.
    let mut sa: libc::sockaddr_ll = unsafe { mem::zeroed() };
    // AF_PACKET is 17: it fits the u16 family field.
    sa.sll_family = libc::AF_PACKET as libc::c_ushort;
    sa.sll_protocol = protocol.to_be();
    sa.sll_ifindex = ifindex;
    sa.sll_halen = 6;
    sa.sll_addr[..6].copy_from_slice(&dst);
    Ok(sa)
}

/// Opens a raw `AF_PACKET` socket. `protocol` is the ethertype to receive
/// (host order); 0 receives nothing, which is right for a pure sender.
pub(crate) fn packet_socket(protocol: u16) -> io::Result<OwnedFd> {
    // SAFETY: socket() takes no pointers; the result is checked by cvt.
    let fd = cvt(unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::c_int::from(protocol.to_be()),
        )
    })?;
    // SAFETY: fd was just returned by socket() and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Binds a packet socket to one interface, so it sees only its frames.
pub(crate) fn bind_packet(fd: &OwnedFd, ifindex: u32, protocol: u16) -> io::Result<()> {
    let sa = sockaddr_ll(ifindex, protocol, [0; 6])?;
    // SAFETY: sa is a valid sockaddr_ll that lives across the call, and the
    // length passed is its size.
    cvt(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw const sa).cast::<libc::sockaddr>(),
            mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// Sends one complete Ethernet frame (header included) out of `ifindex`.
pub(crate) fn send_frame(
    fd: &OwnedFd,
    ifindex: u32,
    ethertype: u16,
    dst: [u8; 6],
    frame: &[u8],
) -> io::Result<usize> {
    let sa = sockaddr_ll(ifindex, ethertype, dst)?;
    // SAFETY: frame is a valid slice for frame.len() bytes; sa is a valid
    // sockaddr_ll living across the call and the length is its size.
    cvt_size(unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            frame.as_ptr().cast::<libc::c_void>(),
            frame.len(),
            0,
            (&raw const sa).cast::<libc::sockaddr>(),
            mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    })
}

/// Sets `SO_RCVTIMEO`, so a receive returns `WouldBlock` after `timeout`.
pub(crate) fn set_receive_timeout(fd: &OwnedFd, timeout: Duration) -> io::Result<()> {
    let tv = libc::timeval {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        // Below one million: fits every suseconds_t.
        tv_usec: timeout.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: tv is a valid timeval living across the call and the length
    // passed is its size.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw const tv).cast::<libc::c_void>(),
            mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// Receives one frame into `buf`; returns its length (truncated to
/// `buf.len()`) and whether it was outgoing or incoming.
pub(crate) fn recv_frame(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<(usize, PacketType)> {
    // SAFETY: all-zero bytes are a valid sockaddr_ll (integers and arrays).
    let mut sa: libc::sockaddr_ll = unsafe { mem::zeroed() };
    let mut len = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: buf is valid for writes of buf.len() bytes; sa and len are
    // valid for writes and len holds sa's size, as recvfrom requires.
    let n = cvt_size(unsafe {
        libc::recvfrom(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast::<libc::c_void>(),
            buf.len(),
            0,
            (&raw mut sa).cast::<libc::sockaddr>(),
            &raw mut len,
        )
    })?;
    let kind = if sa.sll_pkttype == libc::PACKET_OUTGOING as libc::c_uchar {
        PacketType::Outgoing
    } else {
        PacketType::Incoming
    };
    Ok((n.min(buf.len()), kind))
}

/// Borrows the descriptor of a socket type that only offers `AsRawFd`
/// (neli's `NlSocket`), for the lifetime of the borrow of its owner.
pub(crate) fn borrow_fd<T: AsRawFd>(owner: &T) -> BorrowedFd<'_> {
    // SAFETY: `owner` owns the descriptor and closes it only when dropped,
    // which cannot happen while the returned borrow of `owner` lives.
    unsafe { BorrowedFd::borrow_raw(owner.as_raw_fd()) }
}
