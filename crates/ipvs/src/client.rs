//! The IO edge: the only module that opens a netlink socket.
//!
//! [`Client`] resolves the `IPVS` generic netlink family with neli's
//! control-family types, then sends the byte-exact requests built by
//! `wire` over neli's `NlSocket` and reads the replies back. One method
//! per ipvsadm verb; [`Client::apply`] writes many commands back to back
//! and collects their results in a handful of syscalls.

use std::collections::HashMap;
use std::io::{self, Cursor};
use std::iter::once;

use neli::consts::genl::{CtrlAttr, CtrlCmd};
use neli::consts::nl::{GenlId, NlmF};
use neli::consts::socket::{Msg, NlFamily};
use neli::genl::{AttrTypeBuilder, Genlmsghdr, GenlmsghdrBuilder, NlattrBuilder};
use neli::nl::{NlPayload, NlmsghdrBuilder};
use neli::socket::NlSocket;
use neli::types::GenlBuffer;
use neli::utils::Groups;
use neli::{FromBytesWithInput, ToBytes};

use crate::error::Error;
use crate::model::{
    Command, DaemonConfig, DaemonState, Dest, DestKey, Info, Op, Service, ServiceKey, Timeouts,
};
use crate::wire::nl::{append_message, parse_replies, Reply, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use crate::wire::{self, GenlMessage};

/// Receive buffer size. Kernel dump datagrams are at most 32 KiB.
const RECV_BUF: usize = 256 * 1024;
/// Socket receive buffer asked for (the kernel caps it at `rmem_max`).
const SO_RCVBUF: usize = 4 * 1024 * 1024;
/// Commands per `send` in [`Client::apply`]: small enough that the error
/// replies of a whole chunk fit the default socket receive buffer.
const BATCH_CHUNK: usize = 128;

/// The result of each command of a batch, in order.
pub type BatchResults = Vec<Result<(), Error>>;

/// A connection to the kernel's IPVS table of the current network namespace.
pub struct Client {
    sock: NlSocket,
    family: u16,
    pid: u32,
    seq: u32,
    buf: Vec<u8>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("family", &self.family).field("pid", &self.pid).finish()
    }
}

impl Client {
    /// Open a generic netlink socket and resolve the `IPVS` family (which
    /// makes the kernel load `ip_vs` when it is a module).
    pub fn connect() -> Result<Client, Error> {
        let mut client = Client::open()?;
        client.family = client.resolve_family(wire::GENL_NAME)?;
        Ok(client)
    }

    /// The socket alone, no family resolved yet.
    fn open() -> Result<Client, Error> {
        let io = |source| Error::Io { op: Op::Init, source };
        let sock = NlSocket::connect(NlFamily::Generic, None, Groups::empty()).map_err(io)?;
        let pid = sock.pid().map_err(io)?;
        // Best effort: a larger buffer only makes overruns less likely.
        let _ = sock.set_recv_buffer_size(SO_RCVBUF);
        Ok(Client { sock, family: 0, pid, seq: 0, buf: vec![0; RECV_BUF] })
    }

    /// The dynamic generic netlink id of the `IPVS` family.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// CTRL_CMD_GETFAMILY through neli's control-family types.
    fn resolve_family(&mut self, family_name: &str) -> Result<u16, Error> {
        let op = Op::Init;
        let protocol = |detail: String| Error::Protocol { op, detail };
        let seq = self.next_seq();
        let name = NlattrBuilder::default()
            .nla_type(
                AttrTypeBuilder::default()
                    .nla_type(CtrlAttr::FamilyName)
                    .build()
                    .map_err(|e| protocol(e.to_string()))?,
            )
            .nla_payload(family_name)
            .build()
            .map_err(|e| protocol(e.to_string()))?;
        let genl = GenlmsghdrBuilder::default()
            .cmd(CtrlCmd::Getfamily)
            .version(2)
            .attrs(once(name).collect::<GenlBuffer<_, _>>())
            .build()
            .map_err(|e| protocol(e.to_string()))?;
        let msg = NlmsghdrBuilder::default()
            .nl_type(GenlId::Ctrl)
            .nl_flags(NlmF::REQUEST | NlmF::ACK)
            .nl_seq(seq)
            .nl_pid(self.pid)
            .nl_payload(NlPayload::Payload(genl))
            .build()
            .map_err(|e| protocol(e.to_string()))?;
        let mut bytes = Cursor::new(Vec::new());
        msg.to_bytes(&mut bytes).map_err(|e| protocol(e.to_string()))?;
        self.send_all(op, bytes.get_ref())?;

        let mut family = None;
        let mut failed = None;
        self.receive(op, |reply| match reply {
            Reply::Data { header, payload } if header.seq == seq => {
                let mut cur = Cursor::new(payload);
                let genl =
                    Genlmsghdr::<CtrlCmd, CtrlAttr>::from_bytes_with_input(&mut cur, payload.len());
                if let Ok(g) = genl {
                    if let Ok(id) =
                        g.attrs().get_attr_handle().get_attr_payload_as::<u16>(CtrlAttr::FamilyId)
                    {
                        family = Some(id);
                    }
                }
                Ok(false)
            }
            Reply::Ack { header, errno, .. } if header.seq == seq => {
                if *errno != 0 {
                    failed = Some(*errno);
                }
                Ok(true)
            }
            _ => Ok(false),
        })?;
        match (failed, family) {
            (Some(libc::ENOENT), _) | (None, None) => Err(Error::FamilyNotFound),
            (Some(errno), _) => Err(Error::Kernel { op, errno }),
            (None, Some(id)) => Ok(id),
        }
    }

    fn send_all(&self, op: Op, bytes: &[u8]) -> Result<(), Error> {
        let sent =
            self.sock.send(bytes, Msg::empty()).map_err(|source| Error::Io { op, source })?;
        if sent != bytes.len() {
            return Err(Error::Protocol {
                op,
                detail: format!("short send: {sent} of {} bytes", bytes.len()),
            });
        }
        Ok(())
    }

    /// Read datagrams and hand each message to `each` until it returns true.
    fn receive(
        &mut self,
        op: Op,
        mut each: impl FnMut(&Reply<'_>) -> Result<bool, Error>,
    ) -> Result<(), Error> {
        loop {
            let n = loop {
                match self.sock.recv(&mut self.buf[..], Msg::TRUNC) {
                    Ok((n, _)) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(source) => return Err(Error::Io { op, source }),
                }
            };
            if n > self.buf.len() {
                return Err(Error::Protocol {
                    op,
                    detail: format!("datagram of {n} bytes truncated to {}", self.buf.len()),
                });
            }
            let replies =
                parse_replies(&self.buf[..n]).map_err(|source| Error::Decode { op, source })?;
            for r in &replies {
                if each(r)? {
                    return Ok(());
                }
            }
        }
    }

    /// Send one request and collect the generic netlink payloads of its
    /// replies, until the ACK (doit) or `NLMSG_DONE` (dump).
    fn exchange(&mut self, op: Op, msg: &GenlMessage, dump: bool) -> Result<Vec<Vec<u8>>, Error> {
        self.exchange_encoded(op, &msg.encode(), dump)
    }

    fn exchange_encoded(&mut self, op: Op, genl: &[u8], dump: bool) -> Result<Vec<Vec<u8>>, Error> {
        let seq = self.next_seq();
        let mut flags = NLM_F_REQUEST | NLM_F_ACK;
        if dump {
            flags |= NLM_F_DUMP;
        }
        let mut bytes = Vec::with_capacity(256);
        append_message(&mut bytes, self.family, flags, seq, self.pid, genl);
        self.send_all(op, &bytes)?;
        let mut payloads = Vec::new();
        let mut failed = None;
        self.receive(op, |reply| {
            if reply.header().seq != seq {
                return Ok(false); // a late reply to an earlier request
            }
            Ok(match reply {
                Reply::Data { payload, .. } => {
                    payloads.push(payload.to_vec());
                    false
                }
                Reply::Ack { errno, .. } => {
                    if *errno != 0 {
                        failed = Some(*errno);
                    }
                    true
                }
                Reply::Done { status, .. } => {
                    if *status < 0 {
                        failed = Some(status.saturating_neg());
                    }
                    true
                }
                Reply::Control { .. } => false,
            })
        })?;
        match failed {
            Some(errno) => Err(Error::Kernel { op, errno }),
            None => Ok(payloads),
        }
    }

    fn decode_all<T>(
        op: Op,
        payloads: Vec<Vec<u8>>,
        f: impl Fn(&GenlMessage) -> Result<T, wire::DecodeError>,
    ) -> Result<Vec<T>, Error> {
        payloads
            .iter()
            .map(|p| {
                GenlMessage::decode(p)
                    .and_then(|m| f(&m))
                    .map_err(|source| Error::Decode { op, source })
            })
            .collect()
    }

    /// Apply one command as one request with its ACK (what ipvsadm sends
    /// for each command line), where [`Client::apply`] batches.
    pub fn apply_one(&mut self, c: &Command) -> Result<(), Error> {
        self.exchange(c.op(), &wire::command_message(c), false).map(|_| ())
    }

    /// Add a virtual service; `ipvsadm -A`.
    pub fn add_service(&mut self, svc: &Service) -> Result<(), Error> {
        self.apply_one(&Command::AddService(svc.clone()))
    }

    /// Replace a service's scheduler, flags, persistence; `ipvsadm -E`.
    pub fn edit_service(&mut self, svc: &Service) -> Result<(), Error> {
        self.apply_one(&Command::EditService(svc.clone()))
    }

    /// Delete a service and its destinations; `ipvsadm -D`.
    pub fn del_service(&mut self, key: &ServiceKey) -> Result<(), Error> {
        self.apply_one(&Command::DelService(*key))
    }

    /// Add a real server to a service; `ipvsadm -a`.
    pub fn add_dest(&mut self, svc: &ServiceKey, dest: &Dest) -> Result<(), Error> {
        self.apply_one(&Command::AddDest(*svc, dest.clone()))
    }

    /// Change a real server's method, weight, thresholds, tunnel; `ipvsadm -e`.
    pub fn edit_dest(&mut self, svc: &ServiceKey, dest: &Dest) -> Result<(), Error> {
        self.apply_one(&Command::EditDest(*svc, dest.clone()))
    }

    /// Remove a real server; `ipvsadm -d`.
    pub fn del_dest(&mut self, svc: &ServiceKey, dest: &DestKey) -> Result<(), Error> {
        self.apply_one(&Command::DelDest(*svc, *dest))
    }

    /// Delete every service; `ipvsadm -C`.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.apply_one(&Command::Flush)
    }

    /// Zero the counters of one service, or of all and the totals; `ipvsadm -Z`.
    pub fn zero(&mut self, svc: Option<&ServiceKey>) -> Result<(), Error> {
        self.apply_one(&Command::Zero(svc.copied()))
    }

    /// Every service, with statistics; the service part of `ipvsadm -L`.
    ///
    /// The dump may take many datagrams. The kernel resumes it by position
    /// in one service hash table shared by all network namespaces and sets
    /// no `NLM_F_DUMP_INTR`, so services added or deleted in *another*
    /// namespace while the dump runs can make it skip or repeat entries.
    pub fn services(&mut self) -> Result<Vec<Service>, Error> {
        let op = Op::GetServices;
        let payloads = self.exchange(op, &wire::dump_services_message(), true)?;
        Self::decode_all(op, payloads, wire::service_from_message)
    }

    /// One service; `ipvsadm -L -t addr:port`. A missing one is `Kernel { errno: ESRCH }`.
    pub fn service(&mut self, key: &ServiceKey) -> Result<Service, Error> {
        let op = Op::GetService;
        let payloads = self.exchange(op, &wire::get_service_message(key), false)?;
        let mut all = Self::decode_all(op, payloads, wire::service_from_message)?;
        match all.pop() {
            Some(s) if all.is_empty() => Ok(s),
            _ => Err(Error::Protocol { op, detail: "expected exactly one service".to_string() }),
        }
    }

    /// The destinations of a service. Like the kernel, a missing service
    /// gives an empty list, not an error.
    pub fn dests(&mut self, key: &ServiceKey) -> Result<Vec<Dest>, Error> {
        let op = Op::GetDests;
        let payloads = self.exchange(op, &wire::dump_dests_message(key), true)?;
        let family = key.family();
        Self::decode_all(op, payloads, |m| wire::dest_from_message(m, family))
    }

    /// Every service with its destinations.
    pub fn table(&mut self) -> Result<Vec<(Service, Vec<Dest>)>, Error> {
        let services = self.services()?;
        let mut out = Vec::with_capacity(services.len());
        for s in services {
            let d = self.dests(&s.key)?;
            out.push((s, d));
        }
        Ok(out)
    }

    /// Connection timeouts; `ipvsadm -L --timeout`.
    pub fn timeouts(&mut self) -> Result<Timeouts, Error> {
        let op = Op::GetTimeouts;
        let payloads = self.exchange(op, &wire::get_timeouts_message(), false)?;
        let mut all = Self::decode_all(op, payloads, wire::timeouts_from_message)?;
        all.pop().ok_or(Error::Protocol { op, detail: "no timeouts in reply".to_string() })
    }

    /// Set connection timeouts (0 keeps a value); `ipvsadm --set`.
    pub fn set_timeouts(&mut self, t: &Timeouts) -> Result<(), Error> {
        self.apply_one(&Command::SetTimeouts(*t))
    }

    /// Start a sync daemon; `ipvsadm --start-daemon`.
    pub fn start_daemon(&mut self, d: &DaemonConfig) -> Result<(), Error> {
        self.apply_one(&Command::StartDaemon(d.clone()))
    }

    /// Stop a sync daemon; `ipvsadm --stop-daemon`.
    pub fn stop_daemon(&mut self, state: DaemonState) -> Result<(), Error> {
        self.apply_one(&Command::StopDaemon(state))
    }

    /// Running sync daemons; `ipvsadm -L --daemon`.
    pub fn daemons(&mut self) -> Result<Vec<DaemonConfig>, Error> {
        let op = Op::GetDaemons;
        let payloads = self.exchange(op, &wire::dump_daemons_message(), true)?;
        Self::decode_all(op, payloads, wire::daemon_from_message)
    }

    /// IPVS version and connection table size (the `ipvsadm -L` title line).
    pub fn info(&mut self) -> Result<Info, Error> {
        let op = Op::GetInfo;
        let payloads = self.exchange(op, &wire::get_info_message(), false)?;
        let mut all = Self::decode_all(op, payloads, wire::info_from_message)?;
        all.pop().ok_or(Error::Protocol { op, detail: "no info in reply".to_string() })
    }

    /// Apply many commands, in order, in a few syscalls: each chunk of
    /// commands goes out in one `send`, only its last asks for an ACK, and
    /// the kernel answers the others only when they fail. A failed command
    /// does not stop the following ones (as with `ipvsadm -R`).
    ///
    /// The outer error is a socket failure; the inner results are per command.
    pub fn apply(&mut self, cmds: &[Command]) -> Result<BatchResults, Error> {
        let encoded: Vec<(Op, Vec<u8>)> =
            cmds.iter().map(|c| (c.op(), wire::command_message(c).encode())).collect();
        self.apply_encoded(&encoded)
    }

    /// [`Client::apply`] on already encoded generic netlink payloads.
    fn apply_encoded(&mut self, msgs: &[(Op, Vec<u8>)]) -> Result<BatchResults, Error> {
        let mut results: BatchResults = Vec::with_capacity(msgs.len());
        for chunk in msgs.chunks(BATCH_CHUNK) {
            self.apply_chunk(chunk, &mut results)?;
        }
        Ok(results)
    }

    fn apply_chunk(
        &mut self,
        chunk: &[(Op, Vec<u8>)],
        results: &mut BatchResults,
    ) -> Result<(), Error> {
        let base = results.len();
        let mut by_seq = HashMap::with_capacity(chunk.len());
        let mut bytes = Vec::with_capacity(chunk.len() * 160);
        let mut last_seq = 0;
        for (i, (_, genl)) in chunk.iter().enumerate() {
            let seq = self.next_seq();
            let flags =
                if i + 1 == chunk.len() { NLM_F_REQUEST | NLM_F_ACK } else { NLM_F_REQUEST };
            append_message(&mut bytes, self.family, flags, seq, self.pid, genl);
            by_seq.insert(seq, i);
            last_seq = seq;
            results.push(Ok(()));
        }
        let op = chunk.first().map_or(Op::Flush, |c| c.0);
        self.send_all(op, &bytes)?;
        // Which results are known: an error, or the final ACK. A command
        // without a reply succeeded once the final ACK has come.
        let mut known = vec![false; chunk.len()];
        let mut record = |reply: &Reply<'_>, results: &mut BatchResults| -> bool {
            if let Reply::Ack { header, errno, .. } = reply {
                if let Some(&i) = by_seq.get(&header.seq) {
                    known[i] = true;
                    if *errno != 0 {
                        results[base + i] = Err(Error::Kernel { op: chunk[i].0, errno: *errno });
                    }
                    return header.seq == last_seq;
                }
            }
            false
        };
        match self.receive(op, |r| Ok(record(r, results))) {
            Ok(()) => return Ok(()),
            Err(Error::Io { source, .. }) if source.raw_os_error() == Some(libc::ENOBUFS) => {}
            Err(e) => return Err(e),
        }
        // The socket overran: the kernel dropped some replies. Read what is
        // queued, then resynchronise on a probe whose ACK now has room.
        self.drain(op, |r| {
            record(r, results);
        })?;
        let probe = self.next_seq();
        let mut bytes = Vec::new();
        let info = wire::get_info_message().encode();
        append_message(&mut bytes, self.family, NLM_F_REQUEST | NLM_F_ACK, probe, self.pid, &info);
        self.send_all(op, &bytes)?;
        self.receive(op, |r| {
            record(r, results);
            Ok(matches!(r, Reply::Ack { header, .. } if header.seq == probe))
        })?;
        let last_known = known.last().copied().unwrap_or(false);
        for (i, r) in results[base..].iter_mut().enumerate() {
            // Without the final ACK, a silent command may have had its error dropped.
            if r.is_ok() && !known[i] && !last_known {
                *r = Err(Error::Protocol {
                    op: chunk[i].0,
                    detail: "result lost: netlink receive buffer overrun".to_string(),
                });
            }
        }
        Ok(())
    }

    /// Read and hand over every message already queued, without blocking.
    fn drain(&mut self, op: Op, mut each: impl FnMut(&Reply<'_>)) -> Result<(), Error> {
        loop {
            match self.sock.recv(&mut self.buf[..], Msg::TRUNC | Msg::DONTWAIT) {
                Ok((n, _)) => {
                    let n = n.min(self.buf.len());
                    // A truncated or garbled datagram holds nothing we can use.
                    if let Ok(replies) = parse_replies(&self.buf[..n]) {
                        replies.iter().for_each(&mut each);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {}
                Err(source) => return Err(Error::Io { op, source }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The IO paths against the host kernel's own generic netlink control
    //! family (`nlctrl`, id 0x10), which every Linux has: family
    //! resolution, doit, multi-part dump, batch with per-message errors.
    //! No root needed and no IPVS: the IPVS commands run in the VM suite.

    use super::*;
    use crate::wire::{Attrs, Cmd};

    const CTRL_CMD_GETFAMILY: u8 = 3;
    const CTRL_ATTR_FAMILY_NAME: u16 = 2;

    fn getfamily(name: &str) -> Vec<u8> {
        let mut attr = Vec::new();
        let payload = [name.as_bytes(), &[0]].concat();
        let len = 4 + payload.len();
        attr.extend_from_slice(&(len as u16).to_ne_bytes());
        attr.extend_from_slice(&CTRL_ATTR_FAMILY_NAME.to_ne_bytes());
        attr.extend_from_slice(&payload);
        attr.resize(crate::wire::nl::align(attr.len()), 0);
        let msg = GenlMessage {
            cmd: Cmd::Other(CTRL_CMD_GETFAMILY),
            version: 2,
            reserved: 0,
            attrs: Attrs::Cmd(vec![]),
        };
        [msg.encode(), attr].concat()
    }

    fn ctrl_client() -> Client {
        let mut c = Client::open().unwrap();
        c.family = c.resolve_family("nlctrl").unwrap();
        assert_eq!(c.family, 0x10);
        c
    }

    #[test]
    fn resolves_families_with_neli() {
        let mut c = ctrl_client();
        match c.resolve_family("nosuchfamily") {
            Err(Error::FamilyNotFound) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn doit_and_multipart_dump() {
        let mut c = ctrl_client();
        let one = c.exchange_encoded(Op::GetInfo, &getfamily("nlctrl"), false).unwrap();
        assert_eq!(one.len(), 1);
        // Every registered family, possibly over several datagrams.
        let all = c.exchange_encoded(Op::GetInfo, &getfamily("nlctrl")[..4], true).unwrap();
        assert!(all.len() > 1, "{} families", all.len());
        match c.exchange_encoded(Op::GetService, &getfamily("nosuchfamily"), false) {
            Err(Error::Kernel { op: Op::GetService, errno: libc::ENOENT }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn batch_reports_each_failure_at_its_place() {
        let mut c = ctrl_client();
        let msgs: Vec<(Op, Vec<u8>)> = (0..300)
            .map(|i| {
                let name = if i % 7 == 3 { "nosuchfamily" } else { "nlctrl" };
                (Op::AddDest, getfamily(name))
            })
            .collect();
        let results = c.apply_encoded(&msgs).unwrap();
        assert_eq!(results.len(), 300);
        for (i, r) in results.iter().enumerate() {
            match (i % 7 == 3, r) {
                (true, Err(Error::Kernel { op: Op::AddDest, errno: libc::ENOENT }))
                | (false, Ok(())) => {}
                other => panic!("command {i}: {other:?}"),
            }
        }
        // The socket is still in step: a plain request works afterwards.
        assert_eq!(c.exchange_encoded(Op::GetInfo, &getfamily("nlctrl"), false).unwrap().len(), 1);
    }

    #[test]
    fn an_overrun_batch_reports_lost_results_and_does_not_hang() {
        let mut c = ctrl_client();
        // The smallest receive buffer the kernel allows: a few replies fill it.
        c.sock.set_recv_buffer_size(0).unwrap();
        let msgs: Vec<(Op, Vec<u8>)> =
            (0..BATCH_CHUNK).map(|_| (Op::AddDest, getfamily("nosuchfamily"))).collect();
        let results = c.apply_encoded(&msgs).unwrap();
        assert_eq!(results.len(), BATCH_CHUNK);
        // Every command failed; what the kernel could not report is "lost",
        // never a success.
        let lost = results.iter().filter(|r| matches!(r, Err(Error::Protocol { .. }))).count();
        let kernel = results
            .iter()
            .filter(|r| matches!(r, Err(Error::Kernel { errno: libc::ENOENT, .. })))
            .count();
        assert_eq!(lost + kernel, BATCH_CHUNK, "{results:?}");
        assert!(lost > 0, "the buffer did not overrun: {results:?}");
        c.sock.set_recv_buffer_size(SO_RCVBUF).unwrap();
        assert_eq!(c.exchange_encoded(Op::GetInfo, &getfamily("nlctrl"), false).unwrap().len(), 1);
    }
}
