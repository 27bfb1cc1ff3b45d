//! Golden request bytes, one comment per field, with the provenance of each fixture.
//! Native-endian fields are written for a little-endian host (the tests are gated on it).

// `ipvsadm -A -t 192.168.1.10:80 -s wlc`
// Provenance: captured. Equal, with nlmsg_type, seq and pid masked, to what
// ipvsadm 1.31 (Debian bookworm, libnl 3.7.0) on Linux 6.1.0-56-cloud-amd64 in the test VM,
// sent for this command (strace -e write=all; checked by tests/vm/ipvs/bytes.rs
// requests_match_the_reference_ipvsadm).
pub const NEW_SERVICE_TCP4: &[u8] = &[
    0x68, 0x00, 0x00, 0x00, // nlmsg_len 104
    0x24, 0x00, // nlmsg_type: the IPVS family id (masked: dynamic)
    0x05, 0x00, // nlmsg_flags NLM_F_REQUEST | NLM_F_ACK
    0x01, 0x00, 0x00, 0x00, // nlmsg_seq (masked)
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid (masked)
    0x01, 0x01, 0x00, 0x00, // genlmsghdr: cmd IPVS_CMD_NEW_SERVICE (1), version 1, reserved 0
    0x54, 0x00, 0x01, 0x80, // IPVS_CMD_ATTR_SERVICE: len 84, nested (NLA_F_NESTED)
    0x06, 0x00, 0x01, 0x00, // IPVS_SVC_ATTR_AF: len 6, type 1
    0x02, 0x00, 0x00, 0x00, // AF_INET (2), u16 host order + 2 pad
    0x06, 0x00, 0x02, 0x00, // IPVS_SVC_ATTR_PROTOCOL: len 6, type 2
    0x06, 0x00, 0x00, 0x00, // IPPROTO_TCP (6), u16 host order + 2 pad
    0x14, 0x00, 0x03, 0x00, // IPVS_SVC_ATTR_ADDR: len 20, type 3
    0xc0, 0xa8, 0x01, 0x0a, 0x00, 0x00, 0x00,
    0x00, // 192.168.1.10 in union nf_inet_addr (16 bytes, IPv4 first)
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // ...
    0x06, 0x00, 0x04, 0x00, // IPVS_SVC_ATTR_PORT: len 6, type 4
    0x00, 0x50, 0x00, 0x00, // port 80, BIG endian + 2 pad
    0x08, 0x00, 0x06, 0x00, // IPVS_SVC_ATTR_SCHED_NAME: len 8, type 6
    0x77, 0x6c, 0x63, 0x00, // "wlc" NUL-terminated
    0x0c, 0x00, 0x07, 0x00, // IPVS_SVC_ATTR_FLAGS: len 12, type 7
    0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0xff, // struct ip_vs_flags { flags 0x0 (no flags), mask 0xffffffff }, host order
    0x08, 0x00, 0x08, 0x00, // IPVS_SVC_ATTR_TIMEOUT: len 8, type 8
    0x00, 0x00, 0x00, 0x00, // persistence timeout 0 s
    0x08, 0x00, 0x09, 0x00, // IPVS_SVC_ATTR_NETMASK: len 8, type 9
    0xff, 0xff, 0xff, 0xff, // 255.255.255.255, network order mask bytes
];

// `ipvsadm -A -u [2001:db8::1]:53 -s sh -b sh-fallback,sh-port -o -p 360 -M 64 --pe sip`
// Provenance: captured. Equal, with nlmsg_type, seq and pid masked, to what
// ipvsadm 1.31 (Debian bookworm, libnl 3.7.0) on Linux 6.1.0-56-cloud-amd64 in the test VM,
// sent for this command (strace -e write=all; checked by tests/vm/ipvs/bytes.rs
// requests_match_the_reference_ipvsadm).
pub const NEW_SERVICE_UDP6_PERSISTENT: &[u8] = &[
    0x70, 0x00, 0x00, 0x00, // nlmsg_len 112
    0x24, 0x00, // nlmsg_type: the IPVS family id (masked: dynamic)
    0x05, 0x00, // nlmsg_flags NLM_F_REQUEST | NLM_F_ACK
    0x01, 0x00, 0x00, 0x00, // nlmsg_seq (masked)
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid (masked)
    0x01, 0x01, 0x00, 0x00, // genlmsghdr: cmd IPVS_CMD_NEW_SERVICE (1), version 1, reserved 0
    0x5c, 0x00, 0x01, 0x80, // IPVS_CMD_ATTR_SERVICE: len 92, nested (NLA_F_NESTED)
    0x06, 0x00, 0x01, 0x00, // IPVS_SVC_ATTR_AF: len 6, type 1
    0x0a, 0x00, 0x00, 0x00, // AF_INET6 (10), u16 host order + 2 pad
    0x06, 0x00, 0x02, 0x00, // IPVS_SVC_ATTR_PROTOCOL: len 6, type 2
    0x11, 0x00, 0x00, 0x00, // IPPROTO_UDP (17), u16 host order + 2 pad
    0x14, 0x00, 0x03, 0x00, // IPVS_SVC_ATTR_ADDR: len 20, type 3
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, // 2001:db8::1
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // ...
    0x06, 0x00, 0x04, 0x00, // IPVS_SVC_ATTR_PORT: len 6, type 4
    0x00, 0x35, 0x00, 0x00, // port 53, BIG endian + 2 pad
    0x07, 0x00, 0x06, 0x00, // IPVS_SVC_ATTR_SCHED_NAME: len 7, type 6
    0x73, 0x68, 0x00, 0x00, // "sh" NUL-terminated + 1 pad
    0x08, 0x00, 0x0b, 0x00, // IPVS_SVC_ATTR_PE_NAME: len 8, type 11
    0x73, 0x69, 0x70, 0x00, // "sip" NUL-terminated
    0x0c, 0x00, 0x07, 0x00, // IPVS_SVC_ATTR_FLAGS: len 12, type 7
    0x1d, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0xff, // struct ip_vs_flags { flags 0x1d (PERSISTENT|ONEPACKET|SCHED1|SCHED2), mask 0xffffffff }, host order
    0x08, 0x00, 0x08, 0x00, // IPVS_SVC_ATTR_TIMEOUT: len 8, type 8
    0x68, 0x01, 0x00, 0x00, // persistence timeout 360 s
    0x08, 0x00, 0x09, 0x00, // IPVS_SVC_ATTR_NETMASK: len 8, type 9
    0x40, 0x00, 0x00, 0x00, // /64: IPv6 prefix length as a HOST-order u32
];

// `ipvsadm -A -f 42 -s rr -p 300 -M 255.255.255.0`
// Provenance: captured. Equal, with nlmsg_type, seq and pid masked, to what
// ipvsadm 1.31 (Debian bookworm, libnl 3.7.0) on Linux 6.1.0-56-cloud-amd64 in the test VM,
// sent for this command (strace -e write=all; checked by tests/vm/ipvs/bytes.rs
// requests_match_the_reference_ipvsadm).
pub const NEW_SERVICE_FWMARK: &[u8] = &[
    0x4c, 0x00, 0x00, 0x00, // nlmsg_len 76
    0x24, 0x00, // nlmsg_type: the IPVS family id (masked: dynamic)
    0x05, 0x00, // nlmsg_flags NLM_F_REQUEST | NLM_F_ACK
    0x01, 0x00, 0x00, 0x00, // nlmsg_seq (masked)
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid (masked)
    0x01, 0x01, 0x00, 0x00, // genlmsghdr: cmd IPVS_CMD_NEW_SERVICE (1), version 1, reserved 0
    0x38, 0x00, 0x01, 0x80, // IPVS_CMD_ATTR_SERVICE: len 56, nested (NLA_F_NESTED)
    0x06, 0x00, 0x01, 0x00, // IPVS_SVC_ATTR_AF: len 6, type 1
    0x02, 0x00, 0x00, 0x00, // AF_INET (2) + 2 pad
    0x08, 0x00, 0x05, 0x00, // IPVS_SVC_ATTR_FWMARK: len 8, type 5
    0x2a, 0x00, 0x00, 0x00, // fwmark 42, u32 host order
    0x07, 0x00, 0x06, 0x00, // IPVS_SVC_ATTR_SCHED_NAME: len 7, type 6
    0x72, 0x72, 0x00, 0x00, // "rr" NUL-terminated + 1 pad
    0x0c, 0x00, 0x07, 0x00, // IPVS_SVC_ATTR_FLAGS: len 12, type 7
    0x01, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0xff, // struct ip_vs_flags { flags 0x1 (PERSISTENT), mask 0xffffffff }, host order
    0x08, 0x00, 0x08, 0x00, // IPVS_SVC_ATTR_TIMEOUT: len 8, type 8
    0x2c, 0x01, 0x00, 0x00, // persistence timeout 300 s
    0x08, 0x00, 0x09, 0x00, // IPVS_SVC_ATTR_NETMASK: len 8, type 9
    0xff, 0xff, 0xff, 0x00, // 255.255.255.0, network order mask bytes
];

// `ipvsadm -E -t 192.168.1.10:80 -s rr`
// Provenance: captured. Equal, with nlmsg_type, seq and pid masked, to what
// ipvsadm 1.31 (Debian bookworm, libnl 3.7.0) on Linux 6.1.0-56-cloud-amd64 in the test VM,
// sent for this command (strace -e write=all; checked by tests/vm/ipvs/bytes.rs
// requests_match_the_reference_ipvsadm).
pub const SET_SERVICE_TCP4: &[u8] = &[
    0x68, 0x00, 0x00, 0x00, // nlmsg_len 104
    0x24, 0x00, // nlmsg_type: the IPVS family id (masked: dynamic)
    0x05, 0x00, // nlmsg_flags NLM_F_REQUEST | NLM_F_ACK
    0x01, 0x00, 0x00, 0x00, // nlmsg_seq (masked)
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid (masked)
    0x02, 0x01, 0x00, 0x00, // genlmsghdr: cmd IPVS_CMD_SET_SERVICE (2), version 1, reserved 0
    0x54, 0x00, 0x01, 0x80, // IPVS_CMD_ATTR_SERVICE: len 84, nested (NLA_F_NESTED)
    0x06, 0x00, 0x01, 0x00, // IPVS_SVC_ATTR_AF: len 6, type 1
    0x02, 0x00, 0x00, 0x00, // AF_INET (2), u16 host order + 2 pad
    0x06, 0x00, 0x02, 0x00, // IPVS_SVC_ATTR_PROTOCOL: len 6, type 2
    0x06, 0x00, 0x00, 0x00, // IPPROTO_TCP (6), u16 host order + 2 pad
    0x14, 0x00, 0x03, 0x00, // IPVS_SVC_ATTR_ADDR: len 20, type 3
    0xc0, 0xa8, 0x01, 0x0a, 0x00, 0x00, 0x00,
    0x00, // 192.168.1.10 in union nf_inet_addr (16 bytes, IPv4 first)
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // ...
    0x06, 0x00, 0x04, 0x00, // IPVS_SVC_ATTR_PORT: len 6, type 4
    0x00, 0x50, 0x00, 0x00, // port 80, BIG endian + 2 pad
    0x07, 0x00, 0x06, 0x00, // IPVS_SVC_ATTR_SCHED_NAME: len 7, type 6
    0x72, 0x72, 0x00, 0x00, // "rr" NUL-terminated + 1 pad
    0x0c, 0x00, 0x07, 0x00, // IPVS_SVC_ATTR_FLAGS: len 12, type 7
    0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0xff, // struct ip_vs_flags { flags 0x0 (no flags), mask 0xffffffff }, host order
    0x08, 0x00, 0x08, 0x00, // IPVS_SVC_ATTR_TIMEOUT: len 8, type 8
    0x00, 0x00, 0x00, 0x00, // persistence timeout 0 s
    0x08, 0x00, 0x09, 0x00, // IPVS_SVC_ATTR_NETMASK: len 8, type 9
    0xff, 0xff, 0xff, 0xff, // 255.255.255.255, network order mask bytes
];

// `ipvsadm -D -f 7 -6` (identifying attributes only)
// Provenance: ours, checked against a capture. The request ipvsadm 1.31 (Debian bookworm, libnl 3.7.0) on Linux 6.1.0-56-cloud-amd64 in the test VM
// sent for this command holds every attribute here and also the service's SCHED_NAME, FLAGS, TIMEOUT, NETMASK,
// which the kernel does not read for this command (ip_vs_genl_parse_service/_dest with
// full_entry false). Checked by tests/vm/ipvs/bytes.rs requests_match_the_reference_ipvsadm.
pub const DEL_SERVICE_FWMARK6: &[u8] = &[
    0x28, 0x00, 0x00, 0x00, // nlmsg_len 40
    0x24, 0x00, // nlmsg_type: the IPVS family id (masked: dynamic)
    0x05, 0x00, // nlmsg_flags NLM_F_REQUEST | NLM_F_ACK
    0x01, 0x00, 0x00, 0x00, // nlmsg_seq (masked)
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid (masked)
    0x03, 0x01, 0x00, 0x00, // genlmsghdr: cmd IPVS_CMD_DEL_SERVICE (3), version 1, reserved 0
    0x14, 0x00, 0x01, 0x80, // IPVS_CMD_ATTR_SERVICE: len 20, nested (NLA_F_NESTED)
    0x06, 0x00, 0x01, 0x00, // IPVS_SVC_ATTR_AF: len 6, type 1
    0x0a, 0x00, 0x00, 0x00, // AF_INET6 (10) + 2 pad
    0x08, 0x00, 0x05, 0x00, // IPVS_SVC_ATTR_FWMARK: len 8, type 5
    0x07, 0x00, 0x00, 0x00, // fwmark 7, u32 host order
];

// `ipvsadm -a -t 192.168.1.10:80 -r 10.0.0.2:8080 -m -w 5 -x 100 -y 10` (service: identifying attributes only)
// Provenance: ours, checked against a capture. The request ipvsadm 1.31 (Debian bookworm, libnl 3.7.0) on Linux 6.1.0-56-cloud-amd64 in the test VM
// sent for this command holds every attribute here and also the service's SCHED_NAME, FLAGS, TIMEOUT, NETMASK,
// which the kernel does not read for this command (ip_vs_genl_parse_service/_dest with
// full_entry false). Checked by tests/vm/ipvs/bytes.rs requests_match_the_reference_ipvsadm.
pub const NEW_DEST_TCP4_MASQ: &[u8] = &[
    0xa4, 0x00, 0x00, 0x00, // nlmsg_len 164
    0x24, 0x00, // nlmsg_type: the IPVS family id (masked: dynamic)
    0x05, 0x00, // nlmsg_flags NLM_F_REQUEST | NLM_F_ACK
    0x01, 0x00, 0x00, 0x00, // nlmsg_seq (masked)
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid (masked)
    0x05, 0x01, 0x00, 0x00, // genlmsghdr: cmd IPVS_CMD_NEW_DEST (5), version 1, reserved 0
    0x30, 0x00, 0x01, 0x80, // IPVS_CMD_ATTR_SERVICE: len 48, nested (NLA_F_NESTED)
    0x06, 0x00, 0x01, 0x00, // IPVS_SVC_ATTR_AF: len 6, type 1
    0x02, 0x00, 0x00, 0x00, // AF_INET (2), u16 host order + 2 pad
    0x06, 0x00, 0x02, 0x00, // IPVS_SVC_ATTR_PROTOCOL: len 6, type 2
    0x06, 0x00, 0x00, 0x00, // IPPROTO_TCP (6), u16 host order + 2 pad
    0x14, 0x00, 0x03, 0x00, // IPVS_SVC_ATTR_ADDR: len 20, type 3
    0xc0, 0xa8, 0x01, 0x0a, 0x00, 0x00, 0x00,
    0x00, // 192.168.1.10 in union nf_inet_addr (16 bytes, IPv4 first)
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // ...
    0x06, 0x00, 0x04, 0x00, // IPVS_SVC_ATTR_PORT: len 6, type 4
    0x00, 0x50, 0x00, 0x00, // port 80, BIG endian + 2 pad
    0x60, 0x00, 0x02, 0x80, // IPVS_CMD_ATTR_DEST: len 96, nested (NLA_F_NESTED)
    0x06, 0x00, 0x0b, 0x00, // IPVS_DEST_ATTR_ADDR_FAMILY: len 6, type 11
    0x02, 0x00, 0x00, 0x00, // AF_INET (2) + 2 pad
    0x14, 0x00, 0x01, 0x00, // IPVS_DEST_ATTR_ADDR: len 20, type 1
    0x0a, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, // 10.0.0.2
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // ...
    0x06, 0x00, 0x02, 0x00, // IPVS_DEST_ATTR_PORT: len 6, type 2
    0x1f, 0x90, 0x00, 0x00, // port 8080, BIG endian + 2 pad
    0x08, 0x00, 0x03, 0x00, // IPVS_DEST_ATTR_FWD_METHOD: len 8, type 3
    0x00, 0x00, 0x00, 0x00, // IP_VS_CONN_F_MASQ (0)
    0x08, 0x00, 0x04, 0x00, // IPVS_DEST_ATTR_WEIGHT: len 8, type 4
    0x05, 0x00, 0x00, 0x00, // weight 5
    0x05, 0x00, 0x0d, 0x00, // IPVS_DEST_ATTR_TUN_TYPE: len 5, type 13
    0x00, 0x00, 0x00, 0x00, // tunnel type IPIP (0) + 3 pad
    0x06, 0x00, 0x0e, 0x00, // IPVS_DEST_ATTR_TUN_PORT: len 6, type 14
    0x00, 0x00, 0x00, 0x00, // tunnel port 0, BIG endian + 2 pad
    0x06, 0x00, 0x0f, 0x00, // IPVS_DEST_ATTR_TUN_FLAGS: len 6, type 15
    0x00, 0x00, 0x00, 0x00, // tunnel csum NOCSUM (0), host order + 2 pad
    0x08, 0x00, 0x05, 0x00, // IPVS_DEST_ATTR_U_THRESH: len 8, type 5
    0x64, 0x00, 0x00, 0x00, // upper threshold 100
    0x08, 0x00, 0x06, 0x00, // IPVS_DEST_ATTR_L_THRESH: len 8, type 6
    0x0a, 0x00, 0x00, 0x00, // lower threshold 10
];

// `ipvsadm -e -u [2001:db8::1]:53 -r [2001:db8::10]:53 -i --tun-type gue --tun-port 6080 --tun-csum`
// Provenance: ours, checked against a capture. The request ipvsadm 1.31 (Debian bookworm, libnl 3.7.0) on Linux 6.1.0-56-cloud-amd64 in the test VM
// sent for this command holds every attribute here and also the service's SCHED_NAME, FLAGS, TIMEOUT, NETMASK,
// which the kernel does not read for this command (ip_vs_genl_parse_service/_dest with
// full_entry false). Checked by tests/vm/ipvs/bytes.rs requests_match_the_reference_ipvsadm.
pub const SET_DEST_UDP6_GUE: &[u8] = &[
    0xa4, 0x00, 0x00, 0x00, // nlmsg_len 164
    0x24, 0x00, // nlmsg_type: the IPVS family id (masked: dynamic)
    0x05, 0x00, // nlmsg_flags NLM_F_REQUEST | NLM_F_ACK
    0x01, 0x00, 0x00, 0x00, // nlmsg_seq (masked)
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid (masked)
    0x06, 0x01, 0x00, 0x00, // genlmsghdr: cmd IPVS_CMD_SET_DEST (6), version 1, reserved 0
    0x30, 0x00, 0x01, 0x80, // IPVS_CMD_ATTR_SERVICE: len 48, nested (NLA_F_NESTED)
    0x06, 0x00, 0x01, 0x00, // IPVS_SVC_ATTR_AF: len 6, type 1
    0x0a, 0x00, 0x00, 0x00, // AF_INET6 (10), u16 host order + 2 pad
    0x06, 0x00, 0x02, 0x00, // IPVS_SVC_ATTR_PROTOCOL: len 6, type 2
    0x11, 0x00, 0x00, 0x00, // IPPROTO_UDP (17), u16 host order + 2 pad
    0x14, 0x00, 0x03, 0x00, // IPVS_SVC_ATTR_ADDR: len 20, type 3
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, // 2001:db8::1
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // ...
    0x06, 0x00, 0x04, 0x00, // IPVS_SVC_ATTR_PORT: len 6, type 4
    0x00, 0x35, 0x00, 0x00, // port 53, BIG endian + 2 pad
    0x60, 0x00, 0x02, 0x80, // IPVS_CMD_ATTR_DEST: len 96, nested (NLA_F_NESTED)
    0x06, 0x00, 0x0b, 0x00, // IPVS_DEST_ATTR_ADDR_FAMILY: len 6, type 11
    0x0a, 0x00, 0x00, 0x00, // AF_INET6 (10) + 2 pad
    0x14, 0x00, 0x01, 0x00, // IPVS_DEST_ATTR_ADDR: len 20, type 1
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, // 2001:db8::10
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, // ...
    0x06, 0x00, 0x02, 0x00, // IPVS_DEST_ATTR_PORT: len 6, type 2
    0x00, 0x35, 0x00, 0x00, // port 53, BIG endian + 2 pad
    0x08, 0x00, 0x03, 0x00, // IPVS_DEST_ATTR_FWD_METHOD: len 8, type 3
    0x02, 0x00, 0x00, 0x00, // IP_VS_CONN_F_TUNNEL (2)
    0x08, 0x00, 0x04, 0x00, // IPVS_DEST_ATTR_WEIGHT: len 8, type 4
    0x01, 0x00, 0x00, 0x00, // weight 1
    0x05, 0x00, 0x0d, 0x00, // IPVS_DEST_ATTR_TUN_TYPE: len 5, type 13
    0x01, 0x00, 0x00, 0x00, // tunnel type GUE (1) + 3 pad
    0x06, 0x00, 0x0e, 0x00, // IPVS_DEST_ATTR_TUN_PORT: len 6, type 14
    0x17, 0xc0, 0x00, 0x00, // tunnel port 6080, BIG endian + 2 pad
    0x06, 0x00, 0x0f, 0x00, // IPVS_DEST_ATTR_TUN_FLAGS: len 6, type 15
    0x01, 0x00, 0x00, 0x00, // tunnel csum CSUM (1), host order + 2 pad
    0x08, 0x00, 0x05, 0x00, // IPVS_DEST_ATTR_U_THRESH: len 8, type 5
    0x00, 0x00, 0x00, 0x00, // upper threshold 0
    0x08, 0x00, 0x06, 0x00, // IPVS_DEST_ATTR_L_THRESH: len 8, type 6
    0x00, 0x00, 0x00, 0x00, // lower threshold 0
];

// `ipvsadm -d -f 42 -r 10.0.0.3` (identifying attributes only)
// Provenance: ours, checked against a capture. The request ipvsadm 1.31 (Debian bookworm, libnl 3.7.0) on Linux 6.1.0-56-cloud-amd64 in the test VM
// sent for this command holds every attribute here and also the service's SCHED_NAME, FLAGS, TIMEOUT, NETMASK and the destination's FWD_METHOD, WEIGHT, TUN_*, U/L_THRESH,
// which the kernel does not read for this command (ip_vs_genl_parse_service/_dest with
// full_entry false). Checked by tests/vm/ipvs/bytes.rs requests_match_the_reference_ipvsadm.
pub const DEL_DEST_FWMARK: &[u8] = &[
    0x50, 0x00, 0x00, 0x00, // nlmsg_len 80
    0x24, 0x00, // nlmsg_type: the IPVS family id (masked: dynamic)
    0x05, 0x00, // nlmsg_flags NLM_F_REQUEST | NLM_F_ACK
    0x01, 0x00, 0x00, 0x00, // nlmsg_seq (masked)
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid (masked)
    0x07, 0x01, 0x00, 0x00, // genlmsghdr: cmd IPVS_CMD_DEL_DEST (7), version 1, reserved 0
    0x14, 0x00, 0x01, 0x80, // IPVS_CMD_ATTR_SERVICE: len 20, nested (NLA_F_NESTED)
    0x06, 0x00, 0x01, 0x00, // IPVS_SVC_ATTR_AF: len 6, type 1
    0x02, 0x00, 0x00, 0x00, // AF_INET (2) + 2 pad
    0x08, 0x00, 0x05, 0x00, // IPVS_SVC_ATTR_FWMARK: len 8, type 5
    0x2a, 0x00, 0x00, 0x00, // fwmark 42, u32 host order
    0x28, 0x00, 0x02, 0x80, // IPVS_CMD_ATTR_DEST: len 40, nested (NLA_F_NESTED)
    0x06, 0x00, 0x0b, 0x00, // IPVS_DEST_ATTR_ADDR_FAMILY: len 6, type 11
    0x02, 0x00, 0x00, 0x00, // AF_INET (2) + 2 pad
    0x14, 0x00, 0x01, 0x00, // IPVS_DEST_ATTR_ADDR: len 20, type 1
    0x0a, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, // 10.0.0.3
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // ...
    0x06, 0x00, 0x02, 0x00, // IPVS_DEST_ATTR_PORT: len 6, type 2
    0x00, 0x00, 0x00, 0x00, // port 0, BIG endian + 2 pad
];

// `ipvsadm -C`
// Provenance: captured. Equal, with nlmsg_type, seq and pid masked, to what
// ipvsadm 1.31 (Debian bookworm, libnl 3.7.0) on Linux 6.1.0-56-cloud-amd64 in the test VM,
// sent for this command (strace -e write=all; checked by tests/vm/ipvs/bytes.rs
// requests_match_the_reference_ipvsadm).
pub const FLUSH: &[u8] = &[
    0x14, 0x00, 0x00, 0x00, // nlmsg_len 20
    0x24, 0x00, // nlmsg_type: the IPVS family id (masked: dynamic)
    0x05, 0x00, // nlmsg_flags NLM_F_REQUEST | NLM_F_ACK
    0x01, 0x00, 0x00, 0x00, // nlmsg_seq (masked)
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid (masked)
    0x11, 0x01, 0x00, 0x00, // genlmsghdr: cmd IPVS_CMD_FLUSH (17), version 1, reserved 0
];

// `ipvsadm -Z`: no service attribute zeroes everything
// Provenance: captured. Equal, with nlmsg_type, seq and pid masked, to what
// ipvsadm 1.31 (Debian bookworm, libnl 3.7.0) on Linux 6.1.0-56-cloud-amd64 in the test VM,
// sent for this command (strace -e write=all; checked by tests/vm/ipvs/bytes.rs
// requests_match_the_reference_ipvsadm).
pub const ZERO_ALL: &[u8] = &[
    0x14, 0x00, 0x00, 0x00, // nlmsg_len 20
    0x24, 0x00, // nlmsg_type: the IPVS family id (masked: dynamic)
    0x05, 0x00, // nlmsg_flags NLM_F_REQUEST | NLM_F_ACK
    0x01, 0x00, 0x00, 0x00, // nlmsg_seq (masked)
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid (masked)
    0x10, 0x01, 0x00, 0x00, // genlmsghdr: cmd IPVS_CMD_ZERO (16), version 1, reserved 0
];

// `ipvsadm -Z -t 192.168.1.10:80`
// Provenance: ours, checked against a capture. The request ipvsadm 1.31 (Debian bookworm, libnl 3.7.0) on Linux 6.1.0-56-cloud-amd64 in the test VM
// sent for this command holds every attribute here and also the service's SCHED_NAME, FLAGS, TIMEOUT, NETMASK,
// which the kernel does not read for this command (ip_vs_genl_parse_service/_dest with
// full_entry false). Checked by tests/vm/ipvs/bytes.rs requests_match_the_reference_ipvsadm.
pub const ZERO_ONE: &[u8] = &[
    0x44, 0x00, 0x00, 0x00, // nlmsg_len 68
    0x24, 0x00, // nlmsg_type: the IPVS family id (masked: dynamic)
    0x05, 0x00, // nlmsg_flags NLM_F_REQUEST | NLM_F_ACK
    0x01, 0x00, 0x00, 0x00, // nlmsg_seq (masked)
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid (masked)
    0x10, 0x01, 0x00, 0x00, // genlmsghdr: cmd IPVS_CMD_ZERO (16), version 1, reserved 0
    0x30, 0x00, 0x01, 0x80, // IPVS_CMD_ATTR_SERVICE: len 48, nested (NLA_F_NESTED)
    0x06, 0x00, 0x01, 0x00, // IPVS_SVC_ATTR_AF: len 6, type 1
    0x02, 0x00, 0x00, 0x00, // AF_INET (2), u16 host order + 2 pad
    0x06, 0x00, 0x02, 0x00, // IPVS_SVC_ATTR_PROTOCOL: len 6, type 2
    0x06, 0x00, 0x00, 0x00, // IPPROTO_TCP (6), u16 host order + 2 pad
    0x14, 0x00, 0x03, 0x00, // IPVS_SVC_ATTR_ADDR: len 20, type 3
    0xc0, 0xa8, 0x01, 0x0a, 0x00, 0x00, 0x00,
    0x00, // 192.168.1.10 in union nf_inet_addr (16 bytes, IPv4 first)
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // ...
    0x06, 0x00, 0x04, 0x00, // IPVS_SVC_ATTR_PORT: len 6, type 4
    0x00, 0x50, 0x00, 0x00, // port 80, BIG endian + 2 pad
];

// `ipvsadm --set 900 0 300`
// Provenance: captured. Equal, with nlmsg_type, seq and pid masked, to what
// ipvsadm 1.31 (Debian bookworm, libnl 3.7.0) on Linux 6.1.0-56-cloud-amd64 in the test VM,
// sent for this command (strace -e write=all; checked by tests/vm/ipvs/bytes.rs
// requests_match_the_reference_ipvsadm).
pub const SET_CONFIG: &[u8] = &[
    0x2c, 0x00, 0x00, 0x00, // nlmsg_len 44
    0x24, 0x00, // nlmsg_type: the IPVS family id (masked: dynamic)
    0x05, 0x00, // nlmsg_flags NLM_F_REQUEST | NLM_F_ACK
    0x01, 0x00, 0x00, 0x00, // nlmsg_seq (masked)
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid (masked)
    0x0c, 0x01, 0x00, 0x00, // genlmsghdr: cmd IPVS_CMD_SET_CONFIG (12), version 1, reserved 0
    0x08, 0x00, 0x04, 0x00, // IPVS_CMD_ATTR_TIMEOUT_TCP: len 8, type 4
    0x84, 0x03, 0x00, 0x00, // 900 s
    0x08, 0x00, 0x05, 0x00, // IPVS_CMD_ATTR_TIMEOUT_TCP_FIN: len 8, type 5
    0x00, 0x00, 0x00, 0x00, // 0 = keep
    0x08, 0x00, 0x06, 0x00, // IPVS_CMD_ATTR_TIMEOUT_UDP: len 8, type 6
    0x2c, 0x01, 0x00, 0x00, // 300 s
];

// `ipvsadm --start-daemon master --mcast-interface eth0 --syncid 9 --sync-maxlen 1400 --mcast-port 8849 --mcast-ttl 2 --mcast-group 239.1.2.3`
// Provenance: captured. Equal, with nlmsg_type, seq and pid masked, to what
// ipvsadm 1.31 (Debian bookworm, libnl 3.7.0) on Linux 6.1.0-56-cloud-amd64 in the test VM,
// sent for this command (strace -e write=all; checked by tests/vm/ipvs/bytes.rs
// requests_match_the_reference_ipvsadm).
pub const NEW_DAEMON_MASTER4: &[u8] = &[
    0x54, 0x00, 0x00, 0x00, // nlmsg_len 84
    0x24, 0x00, // nlmsg_type: the IPVS family id (masked: dynamic)
    0x05, 0x00, // nlmsg_flags NLM_F_REQUEST | NLM_F_ACK
    0x01, 0x00, 0x00, 0x00, // nlmsg_seq (masked)
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid (masked)
    0x09, 0x01, 0x00, 0x00, // genlmsghdr: cmd IPVS_CMD_NEW_DAEMON (9), version 1, reserved 0
    0x40, 0x00, 0x03, 0x80, // IPVS_CMD_ATTR_DAEMON: len 64, nested (NLA_F_NESTED)
    0x08, 0x00, 0x01, 0x00, // IPVS_DAEMON_ATTR_STATE: len 8, type 1
    0x01, 0x00, 0x00, 0x00, // IP_VS_STATE_MASTER (1)
    0x09, 0x00, 0x02, 0x00, // IPVS_DAEMON_ATTR_MCAST_IFN: len 9, type 2
    0x65, 0x74, 0x68, 0x30, 0x00, 0x00, 0x00, 0x00, // "eth0" NUL-terminated + 3 pad
    0x08, 0x00, 0x03, 0x00, // IPVS_DAEMON_ATTR_SYNC_ID: len 8, type 3
    0x09, 0x00, 0x00, 0x00, // syncid 9
    0x06, 0x00, 0x04, 0x00, // IPVS_DAEMON_ATTR_SYNC_MAXLEN: len 6, type 4
    0x78, 0x05, 0x00, 0x00, // maxlen 1400, host order + 2 pad
    0x06, 0x00, 0x07, 0x00, // IPVS_DAEMON_ATTR_MCAST_PORT: len 6, type 7
    0x91, 0x22, 0x00, 0x00, // port 8849, HOST order (unlike service ports) + 2 pad
    0x05, 0x00, 0x08, 0x00, // IPVS_DAEMON_ATTR_MCAST_TTL: len 5, type 8
    0x02, 0x00, 0x00, 0x00, // ttl 2 + 3 pad
    0x08, 0x00, 0x05, 0x00, // IPVS_DAEMON_ATTR_MCAST_GROUP: len 8, type 5
    0xef, 0x01, 0x02, 0x03, // 239.1.2.3, network order
];

// `ipvsadm --start-daemon backup --mcast-interface eth1 --mcast-group ff02::81`
// Provenance: captured. Equal, with nlmsg_type, seq and pid masked, to what
// ipvsadm 1.31 (Debian bookworm, libnl 3.7.0) on Linux 6.1.0-56-cloud-amd64 in the test VM,
// sent for this command (strace -e write=all; checked by tests/vm/ipvs/bytes.rs
// requests_match_the_reference_ipvsadm).
pub const NEW_DAEMON_BACKUP6: &[u8] = &[
    0x48, 0x00, 0x00, 0x00, // nlmsg_len 72
    0x24, 0x00, // nlmsg_type: the IPVS family id (masked: dynamic)
    0x05, 0x00, // nlmsg_flags NLM_F_REQUEST | NLM_F_ACK
    0x01, 0x00, 0x00, 0x00, // nlmsg_seq (masked)
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid (masked)
    0x09, 0x01, 0x00, 0x00, // genlmsghdr: cmd IPVS_CMD_NEW_DAEMON (9), version 1, reserved 0
    0x34, 0x00, 0x03, 0x80, // IPVS_CMD_ATTR_DAEMON: len 52, nested (NLA_F_NESTED)
    0x08, 0x00, 0x01, 0x00, // IPVS_DAEMON_ATTR_STATE: len 8, type 1
    0x02, 0x00, 0x00, 0x00, // IP_VS_STATE_BACKUP (2)
    0x09, 0x00, 0x02, 0x00, // IPVS_DAEMON_ATTR_MCAST_IFN: len 9, type 2
    0x65, 0x74, 0x68, 0x31, 0x00, 0x00, 0x00, 0x00, // "eth1" NUL-terminated + 3 pad
    0x08, 0x00, 0x03, 0x00, // IPVS_DAEMON_ATTR_SYNC_ID: len 8, type 3
    0x00, 0x00, 0x00, 0x00, // syncid 0
    0x14, 0x00, 0x06, 0x00, // IPVS_DAEMON_ATTR_MCAST_GROUP6: len 20, type 6
    0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // ff02::81
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x81, // ...
];

// `ipvsadm --stop-daemon master` (STATE only)
// Provenance: ours, checked against a capture. The request ipvsadm 1.31 (Debian bookworm, libnl 3.7.0) on Linux 6.1.0-56-cloud-amd64 in the test VM
// sent for this command holds every attribute here and also an empty MCAST_IFN and SYNC_ID 0,
// which the kernel does not read for this command (ip_vs_genl_parse_service/_dest with
// full_entry false). Checked by tests/vm/ipvs/bytes.rs requests_match_the_reference_ipvsadm.
pub const DEL_DAEMON: &[u8] = &[
    0x20, 0x00, 0x00, 0x00, // nlmsg_len 32
    0x24, 0x00, // nlmsg_type: the IPVS family id (masked: dynamic)
    0x05, 0x00, // nlmsg_flags NLM_F_REQUEST | NLM_F_ACK
    0x01, 0x00, 0x00, 0x00, // nlmsg_seq (masked)
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid (masked)
    0x0a, 0x01, 0x00, 0x00, // genlmsghdr: cmd IPVS_CMD_DEL_DAEMON (10), version 1, reserved 0
    0x0c, 0x00, 0x03, 0x80, // IPVS_CMD_ATTR_DAEMON: len 12, nested (NLA_F_NESTED)
    0x08, 0x00, 0x01, 0x00, // IPVS_DAEMON_ATTR_STATE: len 8, type 1
    0x01, 0x00, 0x00, 0x00, // IP_VS_STATE_MASTER (1)
];

// `ipvsadm -L -n -t 192.168.1.10:80` (doit, no NLM_F_DUMP)
// Provenance: ours, checked against a capture. The request ipvsadm 1.31 (Debian bookworm, libnl 3.7.0) on Linux 6.1.0-56-cloud-amd64 in the test VM
// sent for this command holds every attribute here and also the service's SCHED_NAME, FLAGS, TIMEOUT, NETMASK (an empty SCHED_NAME),
// which the kernel does not read for this command (ip_vs_genl_parse_service/_dest with
// full_entry false). Checked by tests/vm/ipvs/bytes.rs requests_match_the_reference_ipvsadm.
pub const GET_SERVICE_ONE: &[u8] = &[
    0x44, 0x00, 0x00, 0x00, // nlmsg_len 68
    0x24, 0x00, // nlmsg_type: the IPVS family id (masked: dynamic)
    0x05, 0x00, // nlmsg_flags NLM_F_REQUEST | NLM_F_ACK
    0x01, 0x00, 0x00, 0x00, // nlmsg_seq (masked)
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid (masked)
    0x04, 0x01, 0x00, 0x00, // genlmsghdr: cmd IPVS_CMD_GET_SERVICE (4), version 1, reserved 0
    0x30, 0x00, 0x01, 0x80, // IPVS_CMD_ATTR_SERVICE: len 48, nested (NLA_F_NESTED)
    0x06, 0x00, 0x01, 0x00, // IPVS_SVC_ATTR_AF: len 6, type 1
    0x02, 0x00, 0x00, 0x00, // AF_INET (2), u16 host order + 2 pad
    0x06, 0x00, 0x02, 0x00, // IPVS_SVC_ATTR_PROTOCOL: len 6, type 2
    0x06, 0x00, 0x00, 0x00, // IPPROTO_TCP (6), u16 host order + 2 pad
    0x14, 0x00, 0x03, 0x00, // IPVS_SVC_ATTR_ADDR: len 20, type 3
    0xc0, 0xa8, 0x01, 0x0a, 0x00, 0x00, 0x00,
    0x00, // 192.168.1.10 in union nf_inet_addr (16 bytes, IPv4 first)
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // ...
    0x06, 0x00, 0x04, 0x00, // IPVS_SVC_ATTR_PORT: len 6, type 4
    0x00, 0x50, 0x00, 0x00, // port 80, BIG endian + 2 pad
];

// `ipvsadm -L -n` service dump
// Provenance: captured. Equal, with nlmsg_type, seq and pid masked, to what
// ipvsadm 1.31 (Debian bookworm, libnl 3.7.0) on Linux 6.1.0-56-cloud-amd64 in the test VM,
// sent for this command (strace -e write=all; checked by tests/vm/ipvs/bytes.rs
// requests_match_the_reference_ipvsadm).
pub const GET_SERVICE_DUMP: &[u8] = &[
    0x14, 0x00, 0x00, 0x00, // nlmsg_len 20
    0x24, 0x00, // nlmsg_type: the IPVS family id (masked: dynamic)
    0x05, 0x03, // nlmsg_flags NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP
    0x01, 0x00, 0x00, 0x00, // nlmsg_seq (masked)
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid (masked)
    0x04, 0x01, 0x00, 0x00, // genlmsghdr: cmd IPVS_CMD_GET_SERVICE (4), version 1, reserved 0
];

// `ipvsadm -L -n -f 42`: the destinations of fwmark 42 (dump only)
// Provenance: captured. Equal, with nlmsg_type, seq and pid masked, to what
// ipvsadm 1.31 (Debian bookworm, libnl 3.7.0) on Linux 6.1.0-56-cloud-amd64 in the test VM,
// sent for this command (strace -e write=all; checked by tests/vm/ipvs/bytes.rs
// requests_match_the_reference_ipvsadm).
pub const GET_DEST_DUMP: &[u8] = &[
    0x28, 0x00, 0x00, 0x00, // nlmsg_len 40
    0x24, 0x00, // nlmsg_type: the IPVS family id (masked: dynamic)
    0x05, 0x03, // nlmsg_flags NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP
    0x01, 0x00, 0x00, 0x00, // nlmsg_seq (masked)
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid (masked)
    0x08, 0x01, 0x00, 0x00, // genlmsghdr: cmd IPVS_CMD_GET_DEST (8), version 1, reserved 0
    0x14, 0x00, 0x01, 0x80, // IPVS_CMD_ATTR_SERVICE: len 20, nested (NLA_F_NESTED)
    0x06, 0x00, 0x01, 0x00, // IPVS_SVC_ATTR_AF: len 6, type 1
    0x02, 0x00, 0x00, 0x00, // AF_INET (2) + 2 pad
    0x08, 0x00, 0x05, 0x00, // IPVS_SVC_ATTR_FWMARK: len 8, type 5
    0x2a, 0x00, 0x00, 0x00, // fwmark 42, u32 host order
];

// `ipvsadm -L --timeout`
// Provenance: captured. Equal, with nlmsg_type, seq and pid masked, to what
// ipvsadm 1.31 (Debian bookworm, libnl 3.7.0) on Linux 6.1.0-56-cloud-amd64 in the test VM,
// sent for this command (strace -e write=all; checked by tests/vm/ipvs/bytes.rs
// requests_match_the_reference_ipvsadm).
pub const GET_CONFIG: &[u8] = &[
    0x14, 0x00, 0x00, 0x00, // nlmsg_len 20
    0x24, 0x00, // nlmsg_type: the IPVS family id (masked: dynamic)
    0x05, 0x00, // nlmsg_flags NLM_F_REQUEST | NLM_F_ACK
    0x01, 0x00, 0x00, 0x00, // nlmsg_seq (masked)
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid (masked)
    0x0d, 0x01, 0x00, 0x00, // genlmsghdr: cmd IPVS_CMD_GET_CONFIG (13), version 1, reserved 0
];

// `ipvsadm -L --daemon` (dump only)
// Provenance: captured. Equal, with nlmsg_type, seq and pid masked, to what
// ipvsadm 1.31 (Debian bookworm, libnl 3.7.0) on Linux 6.1.0-56-cloud-amd64 in the test VM,
// sent for this command (strace -e write=all; checked by tests/vm/ipvs/bytes.rs
// requests_match_the_reference_ipvsadm).
pub const GET_DAEMON_DUMP: &[u8] = &[
    0x14, 0x00, 0x00, 0x00, // nlmsg_len 20
    0x24, 0x00, // nlmsg_type: the IPVS family id (masked: dynamic)
    0x05, 0x03, // nlmsg_flags NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP
    0x01, 0x00, 0x00, 0x00, // nlmsg_seq (masked)
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid (masked)
    0x0b, 0x01, 0x00, 0x00, // genlmsghdr: cmd IPVS_CMD_GET_DAEMON (11), version 1, reserved 0
];

// `ipvsadm` startup (ipvs_getinfo), the first request of every run
// Provenance: captured. Equal, with nlmsg_type, seq and pid masked, to what
// ipvsadm 1.31 (Debian bookworm, libnl 3.7.0) on Linux 6.1.0-56-cloud-amd64 in the test VM,
// sent for this command (strace -e write=all; checked by tests/vm/ipvs/bytes.rs
// requests_match_the_reference_ipvsadm).
pub const GET_INFO: &[u8] = &[
    0x14, 0x00, 0x00, 0x00, // nlmsg_len 20
    0x24, 0x00, // nlmsg_type: the IPVS family id (masked: dynamic)
    0x05, 0x00, // nlmsg_flags NLM_F_REQUEST | NLM_F_ACK
    0x01, 0x00, 0x00, 0x00, // nlmsg_seq (masked)
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid (masked)
    0x0f, 0x01, 0x00, 0x00, // genlmsghdr: cmd IPVS_CMD_GET_INFO (15), version 1, reserved 0
];
