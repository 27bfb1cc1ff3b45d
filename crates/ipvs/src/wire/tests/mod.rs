//! Golden tests of the wire format, in both directions: every request the
//! client can send is compared byte for byte with a commented fixture
//! (family id, seq and pid masked), and kernel replies are decoded into
//! the model and re-encoded to the same bytes.

#![cfg(target_endian = "little")]

mod replies;
mod requests;
mod roundtrip;

use std::net::{IpAddr, Ipv4Addr};

use super::nl::{append_message, parse_replies, Reply, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use super::*;
use crate::model::*;

const FAMILY: u16 = 0x24;

/// Zero the fields that legitimately vary: nlmsg_type (the dynamic family
/// id), nlmsg_seq and nlmsg_pid.
fn masked(b: &[u8]) -> Vec<u8> {
    let mut v = b.to_vec();
    if v.len() >= 16 {
        v[4..6].fill(0);
        v[8..16].fill(0);
    }
    v
}

fn frame(msg: &GenlMessage, flags: u16) -> Vec<u8> {
    let mut out = Vec::new();
    append_message(&mut out, FAMILY, flags, 4242, 777, &msg.encode());
    out
}

/// Encode `msg` and compare with `raw`; decode `raw` and compare with `msg`.
#[track_caller]
fn check_request(raw: &[u8], flags: u16, msg: &GenlMessage) {
    assert_eq!(masked(&frame(msg, flags)), masked(raw), "encoded bytes differ");
    let replies = parse_replies(raw).unwrap();
    assert_eq!(replies.len(), 1);
    let Reply::Data { header, payload } = &replies[0] else { panic!("not a data message") };
    assert_eq!(header.flags, flags);
    let decoded = GenlMessage::decode(payload).unwrap();
    assert_eq!(&decoded, msg, "decoded message differs");
    assert_eq!(decoded.encode(), *payload, "re-encoding is not byte exact");
}

const REQ_ACK: u16 = NLM_F_REQUEST | NLM_F_ACK;
const DUMP: u16 = NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP;

fn vip4() -> ServiceKey {
    ServiceKey::tcp(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10)), 80)
}

fn vip6() -> ServiceKey {
    ServiceKey::udp("2001:db8::1".parse().unwrap(), 53)
}

fn fwm() -> ServiceKey {
    ServiceKey::fwmark(Family::Inet, 42)
}

fn udp6_persistent() -> Service {
    let mut s =
        Service::new(vip6()).with_scheduler("sh").with_persistence(360, Netmask::V6Prefix(64));
    s.flags |= ServiceFlags::ONEPACKET | SchedFlags::FLAG1.into() | SchedFlags::FLAG2.into();
    s.pe_name = Some("sip".to_string());
    s
}

#[test]
fn new_service_tcp4() {
    let cmd = Command::AddService(Service::new(vip4()));
    check_request(requests::NEW_SERVICE_TCP4, REQ_ACK, &command_message(&cmd));
}

#[test]
fn new_service_udp6_persistent_with_pe_and_sched_flags() {
    let cmd = Command::AddService(udp6_persistent());
    check_request(requests::NEW_SERVICE_UDP6_PERSISTENT, REQ_ACK, &command_message(&cmd));
}

#[test]
fn new_service_fwmark() {
    let s = Service::new(fwm())
        .with_scheduler("rr")
        .with_persistence(300, Netmask::V4(Ipv4Addr::new(255, 255, 255, 0)));
    check_request(requests::NEW_SERVICE_FWMARK, REQ_ACK, &command_message(&Command::AddService(s)));
}

#[test]
fn set_service() {
    let cmd = Command::EditService(Service::new(vip4()).with_scheduler("rr"));
    check_request(requests::SET_SERVICE_TCP4, REQ_ACK, &command_message(&cmd));
}

#[test]
fn del_service_fwmark6() {
    let cmd = Command::DelService(ServiceKey::fwmark(Family::Inet6, 7));
    check_request(requests::DEL_SERVICE_FWMARK6, REQ_ACK, &command_message(&cmd));
}

#[test]
fn new_dest_masq_with_thresholds() {
    let mut d =
        Dest::new("10.0.0.2".parse().unwrap(), 8080).with_fwd(ForwardMethod::Masq).with_weight(5);
    d.upper_threshold = 100;
    d.lower_threshold = 10;
    check_request(
        requests::NEW_DEST_TCP4_MASQ,
        REQ_ACK,
        &command_message(&Command::AddDest(vip4(), d)),
    );
}

#[test]
fn set_dest_v6_gue_tunnel() {
    let mut d = Dest::new("2001:db8::10".parse().unwrap(), 53).with_fwd(ForwardMethod::Tunnel);
    d.tunnel = Tunnel { kind: TunnelType::Gue, port: 6080, csum: TunnelCsum::Csum };
    check_request(
        requests::SET_DEST_UDP6_GUE,
        REQ_ACK,
        &command_message(&Command::EditDest(vip6(), d)),
    );
}

#[test]
fn del_dest_fwmark() {
    let key = DestKey { addr: "10.0.0.3".parse().unwrap(), port: 0 };
    check_request(
        requests::DEL_DEST_FWMARK,
        REQ_ACK,
        &command_message(&Command::DelDest(fwm(), key)),
    );
}

#[test]
fn flush_and_zero() {
    check_request(requests::FLUSH, REQ_ACK, &command_message(&Command::Flush));
    check_request(requests::ZERO_ALL, REQ_ACK, &command_message(&Command::Zero(None)));
    check_request(requests::ZERO_ONE, REQ_ACK, &command_message(&Command::Zero(Some(vip4()))));
}

#[test]
fn set_timeouts() {
    let cmd = Command::SetTimeouts(Timeouts { tcp: 900, tcp_fin: 0, udp: 300 });
    check_request(requests::SET_CONFIG, REQ_ACK, &command_message(&cmd));
}

#[test]
fn start_and_stop_daemons() {
    let mut m = DaemonConfig::new(DaemonState::Master, "eth0", 9);
    m.maxlen = Some(1400);
    m.port = Some(8849);
    m.ttl = Some(2);
    m.group = Some("239.1.2.3".parse().unwrap());
    check_request(
        requests::NEW_DAEMON_MASTER4,
        REQ_ACK,
        &command_message(&Command::StartDaemon(m)),
    );
    let mut b = DaemonConfig::new(DaemonState::Backup, "eth1", 0);
    b.group = Some("ff02::81".parse().unwrap());
    check_request(
        requests::NEW_DAEMON_BACKUP6,
        REQ_ACK,
        &command_message(&Command::StartDaemon(b)),
    );
    let stop = Command::StopDaemon(DaemonState::Master);
    check_request(requests::DEL_DAEMON, REQ_ACK, &command_message(&stop));
}

#[test]
fn queries() {
    check_request(requests::GET_SERVICE_ONE, REQ_ACK, &get_service_message(&vip4()));
    check_request(requests::GET_SERVICE_DUMP, DUMP, &dump_services_message());
    check_request(requests::GET_DEST_DUMP, DUMP, &dump_dests_message(&fwm()));
    check_request(requests::GET_CONFIG, REQ_ACK, &get_timeouts_message());
    check_request(requests::GET_DAEMON_DUMP, DUMP, &dump_daemons_message());
    check_request(requests::GET_INFO, REQ_ACK, &get_info_message());
}

#[test]
fn full_requests_decode_back_to_the_model() {
    // The add request carries everything service_from_attrs needs.
    let raw = requests::NEW_SERVICE_UDP6_PERSISTENT;
    let msg = GenlMessage::decode(&raw[16..]).unwrap();
    let Attrs::Cmd(attrs) = &msg.attrs else { panic!() };
    let CmdAttr::Service(n) = &attrs[0] else { panic!() };
    assert_eq!(service_from_attrs(&n.attrs).unwrap(), udp6_persistent());
}

// ---------------------------------------------------------------------------
// Replies.

/// Split `raw` into one data message, check the re-encoding is exact, and
/// return the decoded generic netlink message.
#[track_caller]
fn reply(raw: &[u8]) -> GenlMessage {
    let replies = parse_replies(raw).unwrap();
    assert_eq!(replies.len(), 1);
    let Reply::Data { payload, .. } = &replies[0] else { panic!("not a data message") };
    let msg = GenlMessage::decode(payload).unwrap();
    assert_eq!(msg.encode(), *payload, "re-encoding is not byte exact");
    msg
}

fn stats(base: u32) -> Stats {
    Stats {
        conns: base,
        inpkts: base + 1,
        outpkts: base + 2,
        inbytes: u64::from(base) + 3,
        outbytes: u64::from(base) + 4,
        cps: base + 5,
        inpps: base + 6,
        outpps: base + 7,
        inbps: base + 8,
        outbps: base + 9,
    }
}

fn stats64(base: u64) -> Stats64 {
    Stats64 {
        conns: base,
        inpkts: base + 1,
        outpkts: base + 2,
        inbytes: base + 3,
        outbytes: base + 4,
        cps: base + 5,
        inpps: base + 6,
        outpps: base + 7,
        inbps: base + 8,
        outbps: base + 9,
    }
}

#[test]
fn reply_service_tcp4_with_stats() {
    let s = service_from_message(&reply(replies::REPLY_SERVICE_TCP4)).unwrap();
    let mut want = Service::new(vip4());
    want.flags = ServiceFlags::HASHED;
    want.stats = Some(stats(1));
    want.stats64 = Some(stats64(1));
    assert_eq!(s, want);
}

#[test]
fn reply_service_udp6_persistent_pe() {
    let s = service_from_message(&reply(replies::REPLY_SERVICE_UDP6_PE)).unwrap();
    let mut want = udp6_persistent();
    want.flags |= ServiceFlags::HASHED;
    // The 32-bit layout truncates: 0x1_0000_0000 + n reads as n.
    want.stats = Some(stats(100));
    want.stats64 = Some(stats64(0x1_0000_0000));
    assert_eq!(s, want);
    assert!(s.is_persistent() && s.is_one_packet());
    assert_eq!(s.flags.sched(), SchedFlags(SchedFlags::FLAG1.0 | SchedFlags::FLAG2.0));
}

#[test]
fn reply_service_fwmark_keeps_unknown_attributes() {
    let s = service_from_message(&reply(replies::REPLY_SERVICE_FWMARK)).unwrap();
    assert_eq!(s.key, fwm());
    assert_eq!(s.scheduler, "none");
    assert_eq!(s.other_attrs, vec![RawAttr { kind: 13, payload: vec![1, 2, 3] }]);
    // Re-emitted at the end of the service when sent back.
    let again = service_attrs(&s);
    assert_eq!(again.last(), Some(&SvcAttr::Other(RawAttr { kind: 13, payload: vec![1, 2, 3] })));
}

#[test]
fn reply_dests() {
    let d = dest_from_message(&reply(replies::REPLY_DEST_TCP4_MASQ), Family::Inet).unwrap();
    let mut want =
        Dest::new("10.0.0.2".parse().unwrap(), 8080).with_fwd(ForwardMethod::Masq).with_weight(5);
    want.active_conns = 3;
    want.inactive_conns = 4;
    want.persistent_conns = 5;
    want.stats = Some(stats(10));
    want.stats64 = Some(stats64(10));
    assert_eq!(d, want);

    let d = dest_from_message(&reply(replies::REPLY_DEST_V6_GUE), Family::Inet).unwrap();
    assert_eq!(
        d.addr,
        "2001:db8::10".parse::<IpAddr>().unwrap(),
        "ADDR_FAMILY wins over the service's"
    );
    assert_eq!(d.fwd, ForwardMethod::Tunnel);
    assert_eq!(d.tunnel, Tunnel { kind: TunnelType::Gue, port: 6080, csum: TunnelCsum::RemCsum });
}

#[test]
fn reply_daemons() {
    let m = daemon_from_message(&reply(replies::REPLY_DAEMON_MASTER)).unwrap();
    let mut want = DaemonConfig::new(DaemonState::Master, "eth0", 9);
    want.maxlen = Some(1472);
    want.port = Some(8848);
    want.ttl = Some(1);
    want.group = Some("224.0.0.81".parse().unwrap());
    assert_eq!(m, want);
    let b = daemon_from_message(&reply(replies::REPLY_DAEMON_BACKUP6)).unwrap();
    assert_eq!(b.state, DaemonState::Backup);
    assert_eq!(b.group, Some("ff02::81".parse().unwrap()));
    assert_eq!(b.maxlen, Some(1452));
}

#[test]
fn reply_config_and_info() {
    let t = timeouts_from_message(&reply(replies::REPLY_CONFIG)).unwrap();
    assert_eq!(t, Timeouts { tcp: 900, tcp_fin: 120, udp: 300 });
    let i = info_from_message(&reply(replies::REPLY_INFO)).unwrap();
    assert_eq!(i, Info { version: 0x010201, conn_tab_size: 4096 });
    assert_eq!(i.version_triple(), (1, 2, 1));
}

#[test]
fn wrong_reply_command_is_an_error() {
    let msg = reply(replies::REPLY_INFO);
    assert_eq!(service_from_message(&msg), Err(DecodeError::UnexpectedCommand(14)));
}

// ---------------------------------------------------------------------------
// Robustness: arbitrary bytes never panic, and what decodes re-encodes exactly.

fn lcg(seed: &mut u64) -> u64 {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    *seed >> 33
}

#[test]
fn mutated_replies_never_panic() {
    let fixtures: [&[u8]; 9] = [
        replies::REPLY_SERVICE_TCP4,
        replies::REPLY_SERVICE_UDP6_PE,
        replies::REPLY_SERVICE_FWMARK,
        replies::REPLY_DEST_TCP4_MASQ,
        replies::REPLY_DEST_V6_GUE,
        replies::REPLY_DAEMON_MASTER,
        replies::REPLY_DAEMON_BACKUP6,
        replies::REPLY_CONFIG,
        replies::REPLY_INFO,
    ];
    let mut seed = 1;
    for raw in fixtures {
        for _ in 0..2000 {
            let mut b = raw.to_vec();
            for _ in 0..(lcg(&mut seed) % 4 + 1) {
                let i = (lcg(&mut seed) as usize) % b.len();
                b[i] = lcg(&mut seed) as u8;
            }
            let cut = (lcg(&mut seed) as usize) % (b.len() + 1);
            for bytes in [&b[..], &b[..cut]] {
                let Ok(replies) = parse_replies(bytes) else { continue };
                for r in replies {
                    if let Reply::Data { payload, .. } = r {
                        if let Ok(msg) = GenlMessage::decode(payload) {
                            let _ = service_from_message(&msg);
                            let _ = dest_from_message(&msg, Family::Inet6);
                            let _ = daemon_from_message(&msg);
                            let _ = timeouts_from_message(&msg);
                            let _ = info_from_message(&msg);
                            if payload.len().is_multiple_of(4) && payload.len() > 4 {
                                // Zero padding is the only thing not kept.
                                let again = msg.encode();
                                assert_eq!(again.len(), payload.len());
                            }
                        }
                    }
                }
            }
        }
    }
}
