//! `ipvs::FakeTable` answers long random command sequences as the kernel
//! does.

use super::*;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.next(items.len())].clone()
    }
}

/// The few services the random sequences touch.
fn keys() -> [ServiceKey; 4] {
    [
        ServiceKey::tcp(ip("10.7.0.100"), 80),
        ServiceKey::udp(ip("2001:db8:7::100"), 53),
        ServiceKey::fwmark(Family::Inet, 7),
        ServiceKey::fwmark(Family::Inet6, 8),
    ]
}

/// A long random sequence over a few keys, so that most mistakes happen.
fn random_commands(seed: u64, n: usize) -> Vec<Command> {
    let mut r = Lcg(seed);
    let keys = keys();
    let addrs = ["10.7.0.1", "10.7.0.2", "10.7.0.3", "2001:db8:7::1", "2001:db8:7::2"];
    let service = |r: &mut Lcg, key: ServiceKey| {
        let mut s = Service::new(key).with_scheduler(r.pick(&["wlc", "rr", "sh", "nosuch"]));
        s.flags = ServiceFlags(r.pick(&[0, 0x1, 0x4 | 0x8, 0x1 | 0x10 | 0x20]));
        s.timeout = r.pick(&[0, 300, 1000]);
        s.netmask = match key.family() {
            Family::Inet => {
                Netmask::V4(r.pick(&[Ipv4Addr::BROADCAST, Ipv4Addr::new(255, 255, 0, 0)]))
            }
            Family::Inet6 => Netmask::V6Prefix(r.pick(&[128, 64, 0, 200])),
        };
        s.pe_name = r.pick(&[None, None, Some("sip".to_string()), Some("nope".to_string())]);
        s
    };
    let dest = |r: &mut Lcg| {
        let mut d = Dest::new(ip(r.pick(&addrs)), r.pick(&[80, 81]));
        d.fwd = r.pick(&[ForwardMethod::Masq, ForwardMethod::Route, ForwardMethod::Tunnel]);
        d.tunnel.kind = r.pick(&[TunnelType::Ipip, TunnelType::Gue, TunnelType::Gre]);
        d.tunnel.port = r.pick(&[0, 6080]);
        d.tunnel.csum = r.pick(&[TunnelCsum::NoCsum, TunnelCsum::Csum]);
        d.weight = r.pick(&[0, 1, 5, u32::MAX]);
        (d.upper_threshold, d.lower_threshold) = r.pick(&[(0, 0), (10, 5), (5, 10)]);
        d
    };
    (0..n)
        .map(|_| {
            let key = r.pick(&keys);
            match r.next(40) {
                0..=5 => Command::AddService(service(&mut r, key)),
                6..=8 => Command::EditService(service(&mut r, key)),
                9..=10 => Command::DelService(key),
                11..=24 => Command::AddDest(key, dest(&mut r)),
                25..=29 => Command::EditDest(key, dest(&mut r)),
                30..=34 => Command::DelDest(key, dest(&mut r).key()),
                35..=36 => Command::Zero(Some(key)),
                37 => Command::Zero(None),
                38 => Command::SetTimeouts(Timeouts {
                    tcp: r.pick(&[0, 100]),
                    tcp_fin: 0,
                    udp: r.pick(&[0, 50]),
                }),
                _ => {
                    if r.next(4) == 0 {
                        Command::Flush
                    } else {
                        Command::AddService(service(&mut r, key))
                    }
                }
            }
        })
        .collect()
}

#[test]
fn the_fake_table_answers_like_the_kernel() {
    let _shared = changing();
    let (mut c, _ns) = table("fake");
    for seed in 1..=4 {
        let cmds = random_commands(seed, 500);
        let mut fake = FakeTable::new();
        c.flush().unwrap();
        let errno = |r: &Result<(), Error>| r.as_ref().err().map(|e| e.errno());
        let kernel: Vec<_> = c.apply(&cmds).unwrap().iter().map(errno).collect();
        let faked: Vec<_> = IpvsTable::apply(&mut fake, &cmds).unwrap().iter().map(errno).collect();
        let differ: Vec<_> = (0..cmds.len())
            .filter(|&i| kernel[i] != faked[i])
            .take(5)
            .map(|i| format!("#{i} {:?}: kernel {:?}, fake {:?}", cmds[i], kernel[i], faked[i]))
            .collect();
        assert!(differ.is_empty(), "seed {seed}:\n{}", differ.join("\n"));
        // Same table, destinations in the kernel's order.
        let mut ours = c.table().unwrap();
        let mut theirs = IpvsTable::table(&mut fake).unwrap();
        ours.sort_by_key(|(s, _)| s.key);
        theirs.sort_by_key(|(s, _)| s.key);
        assert_eq!(ours, theirs, "seed {seed}");
        assert_eq!(c.timeouts().unwrap(), fake.timeouts(), "seed {seed}");
        // The reads ipvsadm-rs makes through `IpvsTable` agree too.
        let reads = |t: &mut dyn IpvsTable| {
            let mut services = t.services().unwrap();
            services.sort_by_key(|s| s.key);
            let one = |t: &mut dyn IpvsTable, k| t.service(&k).map_err(|e| e.errno());
            let by_key: Vec<_> =
                keys().into_iter().map(|k| (one(t, k), t.dests(&k).unwrap())).collect();
            (services, by_key, t.timeouts().unwrap(), t.daemons().unwrap(), t.info().unwrap())
        };
        assert_eq!(reads(&mut c), reads(&mut fake), "seed {seed}");
        assert!(
            kernel.iter().filter(|e| e.is_some()).count() > 100,
            "seed {seed}: too few mistakes"
        );
    }
}
