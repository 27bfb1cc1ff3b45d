//! Kernel errors come back typed, worded as ipvsadm words them.

use super::*;

#[test]
fn kernel_errors_are_typed_and_worded_like_ipvsadm() {
    let _shared = changing();
    let (mut c, ns) = table("errors");
    let key = ServiceKey::tcp(ip("10.3.0.1"), 80);
    let missing = ServiceKey::tcp(ip("10.3.0.2"), 80);
    let dest = Dest::new(ip("10.4.0.1"), 80);
    c.add_service(&Service::new(key)).unwrap();

    // Each case: our typed error, then ipvsadm's stderr for the same mistake.
    assert_kernel(
        c.add_service(&Service::new(key)),
        Op::AddService,
        libc::EEXIST,
        "Service already exists",
    );
    let out = ipvsadm_output(&ns, &["-A", "-t", "10.3.0.1:80"]);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "Service already exists\n");

    assert_kernel(c.del_service(&missing), Op::DelService, libc::ESRCH, "No such service");
    let out = ipvsadm_output(&ns, &["-D", "-t", "10.3.0.2:80"]);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "No such service\n");

    let bad_sched = Service::new(missing).with_scheduler("nosuchsched");
    assert_kernel(
        c.add_service(&bad_sched),
        Op::AddService,
        libc::ENOENT,
        "Scheduler or persistence engine not found",
    );
    let out = ipvsadm_output(&ns, &["-A", "-t", "10.3.0.2:80", "-s", "nosuchsched"]);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "Scheduler or persistence engine not found\n");

    assert_kernel(c.add_dest(&missing, &dest), Op::AddDest, libc::ESRCH, "Service not defined");
    let out = ipvsadm_output(&ns, &["-a", "-t", "10.3.0.2:80", "-r", "10.4.0.1:80"]);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "Service not defined\n");

    c.add_dest(&key, &dest).unwrap();
    assert_kernel(c.add_dest(&key, &dest), Op::AddDest, libc::EEXIST, "Destination already exists");
    let other = DestKey { addr: ip("10.4.0.9"), port: 80 };
    assert_kernel(
        c.edit_dest(&key, &Dest::new(other.addr, 80)),
        Op::EditDest,
        libc::ENOENT,
        "No such destination",
    );
    assert_kernel(c.del_dest(&key, &other), Op::DelDest, libc::ENOENT, "No such destination");
    assert_kernel(
        c.edit_service(&Service::new(missing)),
        Op::EditService,
        libc::ESRCH,
        "No such service",
    );
    assert_kernel(c.zero(Some(&missing)), Op::Zero, libc::ESRCH, "No such service");
    assert_kernel(c.service(&missing), Op::GetService, libc::ESRCH, "No such service");
    // Like the kernel, the destinations of a missing service are just none.
    assert!(c.dests(&missing).unwrap().is_empty());
    let heavy = Dest::new(ip("10.4.0.2"), 80).with_weight(u32::MAX);
    assert_kernel(
        c.add_dest(&key, &heavy),
        Op::AddDest,
        libc::ERANGE,
        "Numerical result out of range",
    );

    // A batch goes on after a failure and says which command failed.
    let other_svc = ServiceKey::udp(ip("10.3.0.3"), 53);
    let results = c
        .apply(&[
            Command::AddService(Service::new(other_svc)),
            Command::AddService(Service::new(key)),
            Command::AddDest(missing, dest.clone()),
            Command::AddDest(other_svc, dest.clone()),
        ])
        .unwrap();
    assert!(results[0].is_ok() && results[3].is_ok(), "{results:?}");
    assert_kernel(
        results.into_iter().nth(1).unwrap(),
        Op::AddService,
        libc::EEXIST,
        "Service already exists",
    );
    assert_eq!(dests_of(&mut c, &other_svc), vec![dest]);
}
