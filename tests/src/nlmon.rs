//! A netlink capture (an `nlmon` link and tcpdump writing a pcap file) and
//! the reading of that file: how `vm_lvsd` and `vm_bench_reload` count the
//! IPVS requests that reach the kernel, independently of the daemon that
//! sent them.

// Helpers of the test suites: a failed unwrap is a failed test, with its place.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStderr, Stdio};

use testbed::Netns;

/// `NLM_F_REQUEST`: the message is a request (to the kernel).
pub const NLM_F_REQUEST: u16 = 1;

/// Starts tcpdump on a new `nlmon0` link of `ns`, writing `file`, with
/// `extra` options after `-i nlmon0 -U`; returns once tcpdump says it is
/// listening, with the rest of what it says.
pub fn start(ns: &Netns, file: &Path, extra: &[&str]) -> (Child, BufReader<ChildStderr>) {
    let _ = ns.ip(&["link", "add", "nlmon0", "type", "nlmon"]);
    ns.ip(&["link", "set", "nlmon0", "up"]).unwrap();
    let mut tcpdump = ns
        .command("tcpdump")
        .args(["-i", "nlmon0", "-U"])
        .args(extra)
        .args(["-Z", "root", "-w"])
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // It says "listening on ..." once the capture runs.
    let mut err = BufReader::new(tcpdump.stderr.take().unwrap());
    let mut line = String::new();
    while err.read_line(&mut line).unwrap() > 0 && !line.contains("listening") {
        line.clear();
    }
    (tcpdump, err)
}

/// The link type in a pcap file's header, if it has one.
pub fn link_type(pcap: &[u8]) -> Option<u32> {
    (pcap.len() >= 24).then(|| u32_at(pcap, 20))
}

/// The packets of a pcap file, each as captured (none without a header).
pub fn packets(pcap: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut at = 24;
    std::iter::from_fn(move || {
        if at + 16 > pcap.len() {
            return None;
        }
        let caplen = u32_at(pcap, at + 8) as usize;
        let pkt = &pcap[at + 16..(at + 16 + caplen).min(pcap.len())];
        at += 16 + caplen;
        Some(pkt)
    })
}

/// A netlink message's header, as far as the counts need it.
#[derive(Clone, Copy, Debug)]
pub struct Message {
    /// `nlmsg_type`: for generic netlink, the family id.
    pub kind: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// The first payload byte: a generic netlink message's command.
    pub cmd: u8,
}

/// The netlink messages of a captured packet (none when no start makes it
/// a whole chain of messages).
pub fn messages(pkt: &[u8]) -> impl Iterator<Item = Message> + '_ {
    let mut next = netlink_start(pkt);
    std::iter::from_fn(move || {
        let m = next?;
        if m + 17 > pkt.len() {
            return None;
        }
        let len = u32_at(pkt, m) as usize;
        next = Some(m + ((len.max(16) + 3) & !3));
        Some(Message { kind: u16_at(pkt, m + 4), flags: u16_at(pkt, m + 6), cmd: pkt[m + 16] })
    })
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_ne_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_ne_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Where the netlink messages of a captured packet start: after a Linux
/// cooked header (16 or 20 bytes) or at once, whichever makes the packet a
/// whole chain of netlink messages.
fn netlink_start(pkt: &[u8]) -> Option<usize> {
    [16usize, 20, 0].into_iter().find(|&start| {
        let mut m = start;
        while m + 16 <= pkt.len() {
            let len = u32_at(pkt, m) as usize;
            if len < 16 || m + len > pkt.len() {
                return false;
            }
            m += (len + 3) & !3;
        }
        m >= pkt.len() && start + 16 <= pkt.len()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pcap header, then one packet with a 16-byte cooked header and two
    /// 20-byte netlink messages.
    #[test]
    fn reads_the_messages_of_a_capture() {
        let mut pcap = vec![0u8; 24];
        pcap[20..24].copy_from_slice(&253u32.to_ne_bytes());
        let mut pkt = vec![0u8; 16];
        for (kind, cmd) in [(40u16, 1u8), (40, 4)] {
            let mut m = vec![0u8; 20];
            m[0..4].copy_from_slice(&20u32.to_ne_bytes());
            m[4..6].copy_from_slice(&kind.to_ne_bytes());
            m[6..8].copy_from_slice(&NLM_F_REQUEST.to_ne_bytes());
            m[16] = cmd;
            pkt.extend(m);
        }
        let mut record = vec![0u8; 16];
        record[8..12].copy_from_slice(&(pkt.len() as u32).to_ne_bytes());
        pcap.extend(record);
        pcap.extend(&pkt);
        assert_eq!(link_type(&pcap), Some(253));
        let all: Vec<Vec<Message>> = packets(&pcap).map(|p| messages(p).collect()).collect();
        assert_eq!(all.len(), 1);
        let cmds: Vec<(u16, u16, u8)> = all[0].iter().map(|m| (m.kind, m.flags, m.cmd)).collect();
        assert_eq!(cmds, [(40, 1, 1), (40, 1, 4)]);
        assert_eq!(packets(&pcap[..20]).count(), 0);
    }
}
