//! Our requests against the reference ipvsadm's, and the kernel's replies
//! against the `ipvs` crate's fixtures, captured with strace.

use super::*;

/// The IPVS requests `ipvsadm ARGS` sends, from `strace -e write=all`'s
/// hex dumps of every sendmsg/sendto (the control-family lookups dropped).
fn captured_requests(ns: &Netns, family: u16, args: &[&str]) -> Vec<Vec<u8>> {
    let log =
        format!("/tmp/strace-{}-{}.txt", std::process::id(), args.join("_").replace('/', "_"));
    ns.command("strace")
        .args(["-f", "-e", "trace=sendmsg,sendto", "-e", "write=all", "-o", &log, &ref_ipvsadm()])
        .args(args)
        .output()
        .unwrap();
    // ipvsadm may well fail (no such service, no eth0): the request went out all the same.
    let text = std::fs::read_to_string(&log).unwrap();
    let bufs = hex_dumps(&text);
    bufs.into_iter()
        .filter(|b| b.len() >= 16 && u16::from_ne_bytes([b[4], b[5]]) == family)
        .map(|b| {
            let len = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize;
            b[..len.min(b.len())].to_vec()
        })
        .collect()
}

/// The buffers of strace's `-e write=`/`-e read=` hex dumps, in order.
fn hex_dumps(text: &str) -> Vec<Vec<u8>> {
    let mut bufs: Vec<Vec<u8>> = Vec::new();
    let mut in_dump = false;
    for line in text.lines() {
        let Some(hex) = line.trim_start().strip_prefix("| ") else {
            in_dump = false;
            continue;
        };
        if !in_dump {
            bufs.push(Vec::new());
            in_dump = true;
        }
        // " 00000  30 00 00 00 ... 00  ascii |": offset, 16 hex bytes, text.
        let bytes = hex.get(7..7 + 16 * 3 + 1).unwrap_or(&hex[7.min(hex.len())..]);
        if let Some(buf) = bufs.last_mut() {
            buf.extend(bytes.split_whitespace().filter_map(|b| u8::from_str_radix(b, 16).ok()));
        }
    }
    bufs
}

fn masked(b: &[u8]) -> Vec<u8> {
    let mut v = b.to_vec();
    v[4..6].fill(0);
    v[8..16].fill(0);
    v
}

fn hex(b: &[u8]) -> String {
    b.chunks(16)
        .map(|c| c.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether every attribute of `ours` (recursively) is in `theirs`, which
/// may carry more: ipvsadm sends full service/destination attributes where
/// the kernel reads only the identifying ones.
fn subset(ours: &GenlMessage, theirs: &GenlMessage) -> bool {
    let (Attrs::Cmd(a), Attrs::Cmd(b)) = (&ours.attrs, &theirs.attrs) else {
        return ours == theirs;
    };
    ours.cmd == theirs.cmd
        && a.iter().all(|x| match x {
            CmdAttr::Service(n) => b.iter().any(
                |y| matches!(y, CmdAttr::Service(m) if n.attrs.iter().all(|z| m.attrs.contains(z))),
            ),
            CmdAttr::Dest(n) => b.iter().any(
                |y| matches!(y, CmdAttr::Dest(m) if n.attrs.iter().all(|z| m.attrs.contains(z))),
            ),
            CmdAttr::Daemon(n) => b.iter().any(
                |y| matches!(y, CmdAttr::Daemon(m) if n.attrs.iter().all(|z| m.attrs.contains(z))),
            ),
            other => b.contains(other),
        })
}

/// The golden request fixtures of the `ipvs` crate (compiled in: the
/// source tree is not in the guest).
#[allow(dead_code)]
#[path = "../../../crates/ipvs/src/wire/tests/requests.rs"]
mod fixtures;

#[test]
fn requests_match_the_reference_ipvsadm() {
    let _shared = changing();
    let (c, ns) = table("capture");
    let family = c.family_id();
    // (the ipvsadm command each fixture documents, the fixture, exact)
    // Not exact: ipvsadm sends the whole service (and destination) where
    // the kernel reads only the identifying attributes, which are ours.
    let cases: Vec<(&str, &[u8], bool)> = vec![
        ("-A -t 192.168.1.10:80 -s wlc", fixtures::NEW_SERVICE_TCP4, true),
        (
            "-A -u [2001:db8::1]:53 -s sh -b sh-fallback,sh-port -o -p 360 -M 64 --pe sip",
            fixtures::NEW_SERVICE_UDP6_PERSISTENT,
            true,
        ),
        ("-A -f 42 -s rr -p 300 -M 255.255.255.0", fixtures::NEW_SERVICE_FWMARK, true),
        ("-E -t 192.168.1.10:80 -s rr", fixtures::SET_SERVICE_TCP4, true),
        ("-D -f 7 -6", fixtures::DEL_SERVICE_FWMARK6, false),
        ("-a -t 192.168.1.10:80 -r 10.0.0.2:8080 -m -w 5 -x 100 -y 10", fixtures::NEW_DEST_TCP4_MASQ, false),
        (
            "-e -u [2001:db8::1]:53 -r [2001:db8::10]:53 -i --tun-type gue --tun-port 6080 --tun-csum",
            fixtures::SET_DEST_UDP6_GUE,
            false,
        ),
        ("-d -f 42 -r 10.0.0.3", fixtures::DEL_DEST_FWMARK, false),
        ("-Z -t 192.168.1.10:80", fixtures::ZERO_ONE, false),
        ("-Z", fixtures::ZERO_ALL, true),
        ("--set 900 0 300", fixtures::SET_CONFIG, true),
        (
            "--start-daemon master --mcast-interface eth0 --syncid 9 --sync-maxlen 1400 --mcast-port 8849 --mcast-ttl 2 --mcast-group 239.1.2.3",
            fixtures::NEW_DAEMON_MASTER4,
            true,
        ),
        ("--start-daemon backup --mcast-interface eth1 --mcast-group ff02::81", fixtures::NEW_DAEMON_BACKUP6, true),
        ("--stop-daemon master", fixtures::DEL_DAEMON, false),
        ("-L -n -t 192.168.1.10:80", fixtures::GET_SERVICE_ONE, false),
        ("-L -n", fixtures::GET_SERVICE_DUMP, true),
        ("-L -n -f 42", fixtures::GET_DEST_DUMP, true),
        ("-L --timeout", fixtures::GET_CONFIG, true),
        ("-L --daemon", fixtures::GET_DAEMON_DUMP, true),
        ("-C", fixtures::FLUSH, true),
    ];
    let mut report = String::new();
    let mut mismatches = Vec::new();
    for (args, fixture, exact) in cases {
        let args: Vec<&str> = args.split(' ').collect();
        let caps = captured_requests(&ns, family, &args);
        // ipvsadm first asks for the version (GET_INFO), then sends the
        // command; a listing then also dumps destinations.
        let info = caps.first().unwrap_or_else(|| panic!("nothing captured for {args:?}"));
        assert_eq!(masked(info), masked(fixtures::GET_INFO), "GET_INFO of {args:?}");
        let (cmd, flags) = (fixture[16], &fixture[6..8]);
        let theirs = caps[1..]
            .iter()
            .find(|b| b[16] == cmd && &b[6..8] == flags)
            .unwrap_or_else(|| panic!("no command {cmd} captured for {args:?}"));
        report.push_str(&format!("ipvsadm {}:\n{}\n", args.join(" "), hex(theirs)));
        let theirs_msg = GenlMessage::decode(&theirs[16..]).unwrap();
        assert_eq!(theirs_msg.encode(), theirs[16..], "lossless decode of {args:?}");
        let same = masked(theirs) == masked(fixture);
        let ours_msg = GenlMessage::decode(&fixture[16..]).unwrap();
        let ok = same || (!exact && flags == &theirs[6..8] && subset(&ours_msg, &theirs_msg));
        if !ok {
            mismatches.push(format!("{args:?}\n theirs {}\n ours   {}", hex(theirs), hex(fixture)));
        }
    }
    // The captures go to the console as fixture provenance.
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "---- ipvsadm captures ----\n{report}---- end ----");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// The golden kernel-reply fixtures of the `ipvs` crate.
#[allow(dead_code)]
#[path = "../../../crates/ipvs/src/wire/tests/replies.rs"]
mod reply_fixtures;

/// The IPVS messages the kernel sent to `ipvsadm ARGS`, from strace's
/// `-e read=all` dumps of every recvmsg (full messages, header included).
fn captured_replies(ns: &Netns, family: u16, args: &[&str]) -> Vec<Vec<u8>> {
    let log =
        format!("/tmp/strace-r-{}-{}.txt", std::process::id(), args.join("_").replace('/', "_"));
    ns.command("strace")
        .args(["-f", "-e", "trace=recvmsg,recvfrom", "-e", "read=all", "-o", &log, &ref_ipvsadm()])
        .args(args)
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let mut out = Vec::new();
    for buf in hex_dumps(&text) {
        // libnl peeks before it reads: a truncated peek does not parse.
        let Ok(replies) = nl::parse_replies(&buf) else { continue };
        for r in replies {
            if let nl::Reply::Data { header, payload } = r {
                if header.kind == family {
                    out.push([&header.to_bytes()[..], payload].concat());
                }
            }
        }
    }
    out
}

/// What a fresh kernel reports where the fixtures show made-up values:
/// counters and rates are zero, and the fixture's "attribute from a future
/// kernel" is not there.
fn as_fresh(msg: &mut GenlMessage) {
    let zero = |n: &mut wire::Nest<StatsAttr>| {
        for a in &mut n.attrs {
            match a {
                StatsAttr::U32(_, v) => *v = 0,
                StatsAttr::U64(_, v) => *v = 0,
                _ => {}
            }
        }
    };
    let Attrs::Cmd(attrs) = &mut msg.attrs else { return };
    for a in attrs {
        match a {
            CmdAttr::Service(n) => {
                n.attrs.retain(|a| !matches!(a, SvcAttr::Other(_)));
                for a in &mut n.attrs {
                    if let SvcAttr::Stats(s) | SvcAttr::Stats64(s) = a {
                        zero(s);
                    }
                }
            }
            CmdAttr::Dest(n) => {
                for a in &mut n.attrs {
                    match a {
                        DestAttr::Stats(s) | DestAttr::Stats64(s) => zero(s),
                        DestAttr::ActiveConns(v)
                        | DestAttr::InactConns(v)
                        | DestAttr::PersistConns(v) => *v = 0,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}

#[test]
fn replies_match_the_kernel() {
    let _shared = changing();
    let (c, ns) = table("replies");
    let family = c.family_id();
    for (link, addr) in [("eth0", "10.9.0.1/24"), ("eth1", "10.9.1.1/24")] {
        ns.ip(&["link", "add", link, "type", "dummy"]).unwrap();
        ns.ip(&["addr", "add", addr, "dev", link]).unwrap();
        ns.ip(&["link", "set", link, "up"]).unwrap();
    }
    let run = |args: &str| {
        let out = ipvsadm_output(&ns, &args.split(' ').collect::<Vec<_>>());
        assert!(out.status.success(), "ipvsadm {args}: {}", String::from_utf8_lossy(&out.stderr));
    };
    // (set-up commands, the listing captured, the fixture, which reply of that kind)
    let cases: Vec<(Vec<&str>, &str, &[u8], usize)> = vec![
        (vec![], "-L --timeout", reply_fixtures::REPLY_CONFIG, 0),
        (vec![], "-L --timeout", reply_fixtures::REPLY_INFO, 0),
        (
            vec!["-A -t 192.168.1.10:80 -s wlc", "-a -t 192.168.1.10:80 -r 10.0.0.2:8080 -m -w 5"],
            "-L -n",
            reply_fixtures::REPLY_SERVICE_TCP4,
            0,
        ),
        (vec![], "-L -n", reply_fixtures::REPLY_DEST_TCP4_MASQ, 0),
        (
            vec![
                "-A -u [2001:db8::1]:53 -s sh -b sh-fallback,sh-port -o -p 360 -M 64 --pe sip",
                "-a -u [2001:db8::1]:53 -r [2001:db8::10]:53 -i --tun-type gue --tun-port 6080 --tun-remcsum -w 1",
            ],
            "-L -n -u [2001:db8::1]:53",
            reply_fixtures::REPLY_SERVICE_UDP6_PE,
            0,
        ),
        (vec![], "-L -n -u [2001:db8::1]:53", reply_fixtures::REPLY_DEST_V6_GUE, 0),
        (vec!["-C", "-A -f 42 -s none"], "-L -n", reply_fixtures::REPLY_SERVICE_FWMARK, 0),
        (
            vec![
                "--start-daemon master --mcast-interface eth0 --syncid 9",
                "--start-daemon backup --mcast-interface eth1 --syncid 0 --mcast-group ff02::81",
            ],
            "-L --daemon",
            reply_fixtures::REPLY_DAEMON_MASTER,
            0,
        ),
        (vec![], "-L --daemon", reply_fixtures::REPLY_DAEMON_BACKUP6, 1),
    ];
    let mut report = String::new();
    let mut mismatches = Vec::new();
    for (setup, listing, fixture, nth) in cases {
        setup.into_iter().for_each(&run);
        let args: Vec<&str> = listing.split(' ').collect();
        let caps = captured_replies(&ns, family, &args);
        let (cmd, flags) = (fixture[16], &fixture[6..8]);
        let Some(theirs) = caps.iter().filter(|b| b[16] == cmd && &b[6..8] == flags).nth(nth)
        else {
            mismatches.push(format!(
                "{listing}: no reply {nth} of command {cmd} in {} captured",
                caps.len()
            ));
            continue;
        };
        report.push_str(&format!("kernel reply to ipvsadm {listing}:\n{}\n", hex(theirs)));
        let theirs_msg = GenlMessage::decode(&theirs[16..]).unwrap();
        assert_eq!(theirs_msg.encode(), theirs[16..], "lossless decode of the reply to {listing}");
        let mut want = GenlMessage::decode(&fixture[16..]).unwrap();
        as_fresh(&mut want);
        if theirs_msg != want {
            mismatches.push(format!("{listing}\n theirs {theirs_msg:?}\n fixture {want:?}"));
        }
    }
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "---- kernel reply captures ----\n{report}---- end ----");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
