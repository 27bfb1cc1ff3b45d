//! Malformed inputs: a table of hand-written cases with the exact position
//! and message of each error; systematic corruptions of the shipped samples
//! (every truncation, a wrong value on every line) whose errors must point
//! at the right line and column; and property tests that random bytes and
//! random edits never panic and always give positions inside the file.

// Reads the sample files of etc/: the choke point for reading files
// (`clippy.toml`) is the library's.
#![allow(clippy::disallowed_methods)]
#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.

use std::path::Path;

use lvs_config::*;
use proptest::prelude::*;

const BASE_YAML: &str = "routers:\n  primary: { address: 10.0.0.1 }\n";

/// The errors of `text`, as `line:col: message`.
fn errors(text: &str, format: Format) -> Vec<String> {
    let (config, diags) = parse_str(text, "t", format);
    let errs: Vec<String> = diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
        .collect();
    assert_eq!(
        config.is_some(),
        errs.is_empty(),
        "a config comes back exactly when there is no error: {errs:?}"
    );
    errs
}

#[track_caller]
fn check(format: Format, text: &str, expected: &[&str]) {
    assert_eq!(errors(text, format), expected, "input:\n{text}");
}

#[test]
fn http_listener_is_read_with_a_warning_off_loopback() {
    let text = format!("{BASE_YAML}http:\n  listen: 127.0.0.1:9539\n");
    let (c, diags) = parse_str(&text, "t", Format::Yaml);
    assert!(!diags.iter().any(|d| d.message.contains("listen")), "{diags:?}");
    let c = c.unwrap();
    assert_eq!(c.http.unwrap().listen, "127.0.0.1:9539".parse().unwrap());
    // The YAML writer keeps it (`--check-config` prints the normalized file).
    let again = parse_str(&to_yaml(&c), "t", Format::Yaml).0.unwrap();
    assert_eq!(again.http, c.http);
    let text = format!("{BASE_YAML}http: {{ listen: \"[::]:9539\" }}\n");
    let (c, diags) = parse_str(&text, "t", Format::Yaml);
    assert!(c.is_some());
    let w: Vec<String> = diags
        .iter()
        .filter(|d| d.message.contains("listen"))
        .map(|d| format!("{}:{}: {}", d.line, d.column, d.message))
        .collect();
    assert_eq!(w, ["3:17: `listen`: [::]:9539 is not a loopback address: anyone who can reach it reads the router's metrics and status (no authentication)"]);
    let v6 = format!("{BASE_YAML}http: {{ listen: \"[::1]:9539\" }}\n");
    let c = parse_str(&v6, "t", Format::Yaml).0.unwrap();
    assert_eq!(parse_str(&to_yaml(&c), "t", Format::Yaml).0.unwrap().http, c.http);
    assert_eq!(c.http.unwrap().listen, "[::1]:9539".parse().unwrap());
    // Absent: no listener.
    assert_eq!(parse_str(BASE_YAML, "t", Format::Yaml).0.unwrap().http, None);
}

#[test]
fn yaml_cases() {
    use Format::Yaml;
    let vs = |body: &str| {
        format!("{BASE_YAML}virtual_services:\n  - name: web\n    vip: {{ address: 10.0.0.9, interface: eth0:1 }}\n{body}")
    };
    check(Yaml, "", &["1:1: empty configuration"]);
    check(Yaml, "# only a comment\n", &["1:1: empty configuration"]);
    check(Yaml, "- a\n", &["1:1: the configuration: expected a mapping, found a sequence"]);
    check(Yaml, "service: lvs\n", &["1:1: the configuration: missing key `routers`"]);
    check(
        Yaml,
        &format!("{BASE_YAML}bogus: 1\n"),
        &["3:1: unknown key `bogus` in the configuration"],
    );
    check(
        Yaml,
        &format!("{BASE_YAML}routers: {{}}\n"),
        &["3:1: duplicate key `routers` (first at line 1, column 1)"],
    );
    check(Yaml, "routers:\n  primary: { address: lvs1.example.com }\n", &[
        "2:23: `address`: invalid ip address `lvs1.example.com` (host names are not resolved: write the address)",
    ]);
    check(Yaml, "routers:\n  primary: { address: '10.0.0.1 }\n", &[
        "2:23: yaml syntax error: while scanning a quoted scalar, found unexpected end of stream",
    ]);
    check(
        Yaml,
        "routers:\n\tprimary: {}\n",
        &["2:2: yaml syntax error: tabs disallowed within this context (block indentation)"],
    );
    check(
        Yaml,
        &format!("{BASE_YAML}backup_active: yes\n"),
        &["3:16: `backup_active`: expected true or false, found `yes`"],
    );
    check(
        Yaml,
        &format!("{BASE_YAML}heartbeat: {{ port: \"539\" }}\n"),
        &["3:20: `port`: expected a port number, found the string `539`"],
    );
    check(
        Yaml,
        &format!("{BASE_YAML}heartbeat: {{ keepalive: 0.0001 }}\n"),
        &["3:25: `keepalive`: duration `0.0001` is finer than one millisecond"],
    );
    check(
        Yaml,
        &format!("{BASE_YAML}  backup: {{ address: 10.0.0.2 }}\nheartbeat: {{ keepalive: 5, deadtime: 5, protocol: piranha }}\n"),
        &["4:38: deadtime (5s) must be greater than keepalive (5s)"],
    );
    check(
        Yaml,
        &format!("{BASE_YAML}network: !nat nat\n"),
        &["3:10: yaml tags are not supported (`!nat`)"],
    );
    check(
        Yaml,
        &format!("{BASE_YAML}network: bridge\n"),
        &["3:10: `network`: expected one of nat, direct, tunnel, found `bridge`"],
    );
    check(
        Yaml,
        &format!("{BASE_YAML}sync_daemon: {{ sync_id: 256 }}\n"),
        &["3:25: `sync_id`: 256 is out of range (0-255)"],
    );
    check(
        Yaml,
        &format!("{BASE_YAML}http:\n  listen: 127.0.0.1\n"),
        &["4:11: `listen`: expected an address and port such as 127.0.0.1:9539 or [::1]:9539, found `127.0.0.1`"],
    );
    check(
        Yaml,
        &format!("{BASE_YAML}http: {{ listen: \"127.0.0.1:0\" }}\n"),
        &["3:17: `listen`: port 0 is not a port to scrape"],
    );
    check(Yaml, &format!("{BASE_YAML}http: {{}}\n"), &["3:7: `http`: missing key `listen`"]);
    check(
        Yaml,
        &format!("{BASE_YAML}---\nrouters: {{}}\n"),
        &["3:1: only one yaml document is allowed"],
    );
    check(
        Yaml,
        &vs("    real_servers:\n      - { name: a, address: 10.0.1.1, weight: 70000 }\n"),
        &["7:47: `weight`: 70000 is out of range (0-65535)"],
    );
    check(
        Yaml,
        &vs("    real_servers:\n      - { name: a, address: 10.0.1.1, weight: -1 }\n"),
        &["7:47: `weight`: expected an integer 0-65535, found `-1`"],
    );
    check(
        Yaml,
        &vs("    real_servers:\n      - { name: a, address: 10.0.1.1, wieght: 2 }\n"),
        &["7:39: unknown key `wieght` in a real server (did you mean `weight`?)"],
    );
    check(Yaml, &vs("    real_servers:\n      - { name: a, address: 10.0.1.1 }\n      - { name: b, address: 10.0.1.1, port: 80 }\n"), &[
        "8:29: real server 10.0.1.1:80 is listed twice in `web`",
    ]);
    check(Yaml, &vs("    real_servers:\n      - { name: a, address: \"2001:db8::1\" }\n"), &[
        "7:29: real server 2001:db8::1 is ipv6 but the virtual ip is ipv4: mixed families need tunnel forwarding",
    ]);
    check(
        Yaml,
        &vs("    one_packet: true\n"),
        &["6:17: one-packet scheduling is only for udp or fwmark services"],
    );
    check(
        Yaml,
        &vs("    scheduler: wlc\n    scheduler_flags: [sh-port]\n"),
        &["7:23: scheduler flag `sh-port` needs scheduler `sh`, not `wlc`"],
    );
    check(
        Yaml,
        &vs("    check: { type: http, send: x }\n"),
        &["6:26: unknown key `send` in a `http` check"],
    );
    check(
        Yaml,
        &vs("    check: { type: smtp }\n"),
        &["6:20: `type`: expected one of connect, program, agent, http, ping, dns, none, found `smtp`"],
    );
    check(
        Yaml,
        &vs("    check: { expect: \"(\", regex: true }\n"),
        &["6:22: invalid regular expression `(`: unclosed group"],
    );
    check(
        Yaml,
        &vs("    sorry_server: \"[2001:db8::9]:80\"\n"),
        &["6:19: sorry server address family differs from the virtual ip"],
    );
    check(
        Yaml,
        &format!("{BASE_YAML}virtual_services:\n  - name: web\n    vip: {{ address: \"2001:db8::9\", interface: eth0:1 }}\n    persistence: {{ timeout: 60, netmask: 255.255.255.0 }}\n"),
        &[
            "5:47: 2001:db8::9 is ipv6 but `eth0:1` is an ipv4 alias label: ipv6 addresses go on the interface itself",
            "6:42: `netmask`: netmask `255.255.255.0` is a dotted quad but the address is ipv6: write a prefix length (1-128)",
        ],
    );
    check(
        Yaml,
        &vs("  - name: web\n    vip: { address: 10.0.0.9, interface: eth0:1 }\n"),
        &[
            "6:5: virtual service `web` duplicates another service (tcp 10.0.0.9:80)",
            "6:11: virtual service `web` is defined twice",
        ],
    );
    check(Yaml, "routers:\n  primary: { address: 10.0.0.1 }\n  backup: { address: 10.0.0.2 }\n", &[
        "1:1: native heartbeats need `auth_key_file` (or set `protocol: piranha` for unauthenticated piranha heartbeats)",
    ]);
    check(Yaml, "routers:\n  pool: []\n", &["2:9: the router pool is empty"]);
    // pulse checks the failover services it runs with connect, program or
    // none only; unused blocks (service: lvs) are left alone.
    let fos =
        "failover_services:\n  - name: web\n    vip: { address: 10.0.0.9, interface: eth0 }\n    \
               check: { type: ping }\n    start_cmd: /bin/true\n    stop_cmd: /bin/true\n";
    check(
        Yaml,
        &format!("{BASE_YAML}service: fos\n{fos}"),
        &["7:12: a failover service is checked by `connect`, `program` or `none` only"],
    );
    check(Yaml, &format!("{BASE_YAML}{fos}"), &[]);
    check(
        Yaml,
        &format!("{BASE_YAML}x: &a [*a]\n"),
        &["3:1: unknown key `x` in the configuration", "3:8: unknown yaml alias"],
    );
}

#[test]
fn yaml_reports_every_problem_at_once() {
    let text = "\
routers:
  primary: { address: 10.0.0.300 }
keepalive: 2
network: nat
nat_router: { address: 10.1.1.1, interface: eth1:1, netmask: 33 }
virtual_services:
  - name: web
    vip: { address: 10.0.0.9, interface: a-very-long-interface-name }
    port: 99999
    real_servers:
      - { name: a, address: 10.0.1.1, weight: heavy, active: 1 }
";
    check(
        Format::Yaml,
        text,
        &[
            "2:23: `address`: invalid ip address `10.0.0.300`",
            "3:1: unknown key `keepalive` in the configuration",
            "5:62: `netmask`: invalid netmask `33` (expected a prefix length 0-32)",
            "8:42: interface name `a-very-long-interface-name` is longer than 15 bytes",
            "9:11: `port`: port `99999` is out of range (0-65535)",
            "11:47: `weight`: expected an integer 0-65535, found `heavy`",
            "11:62: `active`: expected true or false, found `1`",
        ],
    );
}

#[test]
fn lvscf_cases() {
    use Format::LvsCf;
    let p = "primary = 10.0.0.1\n";
    check(LvsCf, "", &["1:1: empty configuration"]);
    check(LvsCf, "# nothing\n\n", &["1:1: empty configuration"]);
    check(
        LvsCf,
        "service = lvs\n",
        &["1:1: missing `primary`: the address of the primary router is required"],
    );
    check(
        LvsCf,
        "primary=10.0.0.1\n",
        &[
            "1:1: expected `key = value` with blanks around `=`, found `primary=10.0.0.1`",
            "1:1: missing `primary`: the address of the primary router is required",
        ],
    );
    check(
        LvsCf,
        &format!("{p}bogus = 1\n"),
        &["2:1: unknown command `bogus` in the global section"],
    );
    check(
        LvsCf,
        &format!("{p}keepalve = 1\n"),
        &["2:1: unknown command `keepalve` in the global section (did you mean `keepalive`?)"],
    );
    check(LvsCf, &format!("{p}keepalive 5\n"), &["2:11: equal (=) expected after `keepalive`"]);
    check(LvsCf, &format!("{p}keepalive =\n"), &["2:1: missing arguments for `keepalive`"]);
    check(
        LvsCf,
        &format!("{p}keepalive = 5 # five\n"),
        &["2:15: unexpected arguments after `keepalive`"],
    );
    check(LvsCf, &format!("{p}keepalive = abc\n"), &[
        "2:13: `keepalive`: invalid duration `abc` (use seconds such as `2` or `0.5`, or `500ms`)",
    ]);
    check(
        LvsCf,
        &format!("{p}backup_active = 2\n"),
        &["2:17: `backup_active`: boolean expected (0 or 1), found `2`"],
    );
    check(
        LvsCf,
        &format!("{p}syncd_id = 0x100\nsyncdaemon = 1\n"),
        &["2:12: `syncd_id`: 0x100 is out of range (0-255)"],
    );
    check(LvsCf, "primary = lvs1.example.com\n", &[
        "1:11: `primary`: invalid host name or ip address: invalid ip address `lvs1.example.com` (host names are not resolved: write the address)",
    ]);
    check(
        LvsCf,
        &format!("{p}network = bridge\n"),
        &["2:11: `network`: invalid argument `bridge` (expected nat, direct, tunnel)"],
    );
    check(
        LvsCf,
        &format!("{p}heartbeat = 1 2\n"),
        &["2:15: unexpected arguments after `heartbeat`"],
    );
    check(
        LvsCf,
        &format!("{p}nat_nmask = 255.0.255.0\n"),
        &["2:13: `nat_nmask`: bad subnet mask specified: netmask `255.0.255.0` is not contiguous"],
    );
    check(LvsCf, &format!("{p}}}\n"), &["2:1: unmatched `}`"]);
    check(
        LvsCf,
        &format!("{p}virtual web {{\n address = 10.0.0.9 eth0:1\n"),
        &["2:1: unexpected end of file: `virtual web` is not closed"],
    );
    check(LvsCf, &format!("{p}virtual web\n"), &["2:9: expected `virtual NAME {`"]);
    check(
        LvsCf,
        &format!("{p}virtual web{{\n address = 10.0.0.9 eth0:1\n}}\n"),
        &["2:9: expected `virtual NAME {`"],
    );
    check(
        LvsCf,
        &format!("{p}virtual web {{\n address = 10.0.0.9 eth0:1\n}} x\n"),
        &["4:3: unexpected arguments: `}` must be alone on its line"],
    );
    check(
        LvsCf,
        &format!("{p}server a {{\n}}\n"),
        &["2:1: `server` block outside a `virtual` block"],
    );
    check(
        LvsCf,
        &format!("{p}virtual a {{\n virtual b {{\n }}\n address = 10.0.0.9 eth0\n}}\n"),
        &["3:2: `virtual` block inside another block"],
    );
    check(
        LvsCf,
        &format!("{p}virtual web {{\n address = 10.0.0.9\n}}\n"),
        &["3:12: `address` expects an address and a device (`address = IP DEVICE`)"],
    );
    check(
        LvsCf,
        &format!("{p}virtual web {{\n active = 1\n}}\n"),
        &["2:1: `virtual web` has no `address = IP DEVICE`"],
    );
    check(
        LvsCf,
        &format!("{p}virtual web {{\n address = 10.0.0.9 eth0:1\n send = \"GET /\n}}\n"),
        &["4:9: quotation mismatch: no closing \" on this line"],
    );
    check(
        LvsCf,
        &format!("{p}virtual web {{\n address = 10.0.0.9 eth0:1\n bogus = 1\n}}\n"),
        &["4:2: unknown command `bogus` in `virtual web`"],
    );
    check(
        LvsCf,
        &format!("{p}virtual web {{\n address = 2001:db8::9 eth0\n persistent = 60\n pmask = 255.255.255.0\n}}\n"),
        &["5:10: `pmask`: bad subnet mask specified: netmask `255.255.255.0` is a dotted quad but the address is ipv6: write a prefix length (1-128)"],
    );
    check(
        LvsCf,
        &format!("{p}virtual web {{\n address = 10.0.0.9 eth0:1\n server a {{\n  address = 10.0.1.1\n  weight = 70000\n }}\n}}\n"),
        &["6:12: `weight`: 70000 is out of range (0-65535)"],
    );
    check(
        LvsCf,
        &format!("{p}virtual web {{\n address = 10.0.0.9 eth0:1\n server a {{\n  address = 10.0.1.1\n }}\n server b {{\n  address = 10.0.1.1\n }}\n}}\n"),
        &["8:13: real server 10.0.1.1:80 is listed twice in `web`"],
    );
    check(
        LvsCf,
        &format!("{p}virtual web {{\n address = 10.0.0.9 eth0:1\n}}\nvirtual web {{\n address = 10.0.0.9 eth0:1\n}}\n"),
        &[
            "5:1: virtual service `web` duplicates another service (tcp 10.0.0.9:80)",
            "5:9: virtual service `web` is defined twice",
        ],
    );
    check(
        LvsCf,
        &format!("{p}failover f {{\n address = 10.0.0.9 eth0:1\n start_cmd = \"\"\n}}\n"),
        &["2:1: `failover f` has no `stop_cmd`", "4:14: `start_cmd` is empty"],
    );
    check(
        LvsCf,
        &format!("{p}dirs = a:b\n"),
        &["2:1: unknown command `dirs` in the global section"],
    );
    check(
        LvsCf,
        &format!("{p}virtual web {{\n address = 10.0.0.9 eth0:1\n dirs = a:b\n}}\n"),
        &["4:9: `dirs`: list expected (`dirs = [ a:b c:d ]`)"],
    );
}

#[test]
fn lvscf_reports_every_problem_at_once() {
    let text = "primary = 10.0.0.1\r\nkeepalive = x\r\ndeadtime = y\rvirtual web {\n address = 10.0.0.9 eth0:1\n port = 65536\n scheduler = wlc extra\n server a {\n  address = 10.0.1.300\n  active = yes\n }\n}\n";
    check(Format::LvsCf, text, &[
        "2:13: `keepalive`: invalid duration `x` (use seconds such as `2` or `0.5`, or `500ms`)",
        "3:12: `deadtime`: invalid duration `y` (use seconds such as `2` or `0.5`, or `500ms`)",
        "6:9: `port`: port 65536 is out of range (0-65535)",
        "7:18: unexpected arguments after `scheduler`",
        "9:13: `address`: invalid host name or ip address: invalid ip address `10.0.1.300`",
        "10:12: `active`: boolean expected (0 or 1), found `yes`",
    ]);
}

#[test]
fn invalid_utf8_is_reported_where_it_starts() {
    let (c, d) = parse_bytes(b"primary = 10.0.0.1\nactive_cmd = caf\xe9\n", "bad.cf", None);
    assert!(c.is_none());
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].to_string(), "bad.cf:2:17: error: the file is not valid utf-8");
}

#[test]
fn load_reports_unreadable_files() {
    let err = load(Path::new("/nonexistent/lvs.yaml")).unwrap_err();
    assert_eq!(err.to_string(), "/nonexistent/lvs.yaml: error: cannot read the file: no such file or directory (os error 2)");
}

fn sample(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../etc").join(name))
        .unwrap()
}

/// Every diagnostic of `text` lies inside it, and a rejected file has at
/// least one error. Says whether the file was rejected.
fn positions_in_range(text: &str, format: Format) -> Result<bool, String> {
    let (config, diags) = parse_str(text, "t", format);
    let lines = text.replace("\r\n", "\n").split(['\n', '\r']).count().max(1) as u32;
    for d in &diags {
        if d.line < 1 || d.line > lines || d.column < 1 {
            return Err(format!("position out of range ({lines} lines): {d}"));
        }
        if d.message.is_empty() || d.message.ends_with('.') {
            return Err(format!("bad message: {d}"));
        }
    }
    if config.is_none() && !diags.iter().any(Diagnostic::is_error) {
        return Err("rejected without an error".to_owned());
    }
    Ok(config.is_none())
}

#[test]
fn every_truncation_of_the_samples_is_handled() {
    let mut rejected = 0;
    for (name, format) in [("lvs.cf", Format::LvsCf), ("lvs.yaml", Format::Yaml)] {
        let text = sample(name);
        for cut in (0..text.len()).filter(|&i| text.is_char_boundary(i)) {
            let t = &text[..cut];
            if positions_in_range(t, format).unwrap_or_else(|e| panic!("{name} cut at {cut}: {e}"))
            {
                rejected += 1;
            }
        }
    }
    // Hundreds of these truncations are malformed files.
    assert!(rejected > 300, "only {rejected} truncations rejected");
}

#[test]
fn a_wrong_value_on_any_yaml_line_is_reported_on_that_line() {
    let text = sample("lvs.yaml");
    let re = regex::Regex::new(r"^(\s*(?:- )?[a-z_]+: )([^#]*?)(\s+#.*)?$").unwrap();
    let mut tried = 0;
    for (i, line) in text.lines().enumerate() {
        let Some(caps) = re.captures(line) else { continue };
        let value = &caps[2];
        if value.is_empty() {
            continue;
        }
        // A sequence is never a valid scalar or mapping here: the error is
        // at the value. A mapping is wrong where a scalar is expected (the
        // error is at the value) or has an unknown key (the error is there).
        for (wrong, offsets) in [("[oops]", &[0][..]), ("{ oops: 1 }", &[0, 2][..])] {
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            lines[i] = format!("{}{wrong}", &caps[1]);
            let bad = lines.join("\n");
            let errs = errors(&bad, Format::Yaml);
            let col = caps[1].chars().count() + 1;
            let found = offsets.iter().any(|o| {
                let at = format!("{}:{}: ", i + 1, col + o);
                errs.iter().any(|e| e.starts_with(&at))
            });
            assert!(found, "line {}: `{}` gave {errs:?}", i + 1, lines[i]);
            tried += 1;
        }
    }
    assert!(tried > 80, "only {tried} cases");
}

#[test]
fn an_extra_argument_on_any_lvscf_line_is_reported_at_it() {
    let text = sample("lvs.cf");
    let mut tried = 0;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') || !t.contains(" = ") {
            continue;
        }
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines[i] = format!("{line} extra");
        let errs = errors(&lines.join("\n"), Format::LvsCf);
        let at = format!("{}:{}: ", i + 1, line.chars().count() + 2);
        assert!(
            errs.iter().any(|e| e.starts_with(&at)),
            "line {}: `{}` gave {errs:?}",
            i + 1,
            lines[i]
        );
        // A value of the wrong kind, too, where the key is not a string.
        let key = t.split_whitespace().next().unwrap_or_default();
        if !matches!(
            key,
            "active_cmd"
                | "inactive_cmd"
                | "syncd_iface"
                | "debug_level"
                | "send"
                | "expect"
                | "send_program"
                | "start_cmd"
                | "stop_cmd"
                | "scheduler"
        ) {
            let col = line.find(" = ").unwrap() + 4;
            lines[i] = format!("{} = !!", &line[..col - 4]);
            let errs = errors(&lines.join("\n"), Format::LvsCf);
            let at = format!("{}:{}: ", i + 1, col);
            assert!(
                errs.iter().any(|e| e.starts_with(&at)),
                "line {}: `{}` gave {errs:?}",
                i + 1,
                lines[i]
            );
        }
        tried += 1;
    }
    assert!(tried > 50, "only {tried} cases");
}

fn edit() -> impl Strategy<Value = (usize, usize, Vec<u8>)> {
    (any::<usize>(), 0usize..8, proptest::collection::vec(any::<u8>(), 0..8))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Random bytes in either format never panic.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        for format in [Some(Format::Yaml), Some(Format::LvsCf), None] {
            let (config, diags) = parse_bytes(&bytes, "r", format);
            prop_assert!(config.is_some() || diags.iter().any(Diagnostic::is_error));
        }
        if let Ok(text) = std::str::from_utf8(&bytes) {
            positions_in_range(text, Format::Yaml).map_err(TestCaseError::fail)?;
            positions_in_range(text, Format::LvsCf).map_err(TestCaseError::fail)?;
        }
    }

    /// Random text made of the characters that matter to the two syntaxes.
    #[test]
    fn syntax_soup_never_panics(text in "[a-z0-9 :=\\-\\[\\]{}\"'#&*!|>\t\r\n.,]{0,400}") {
        positions_in_range(&text, Format::Yaml).map_err(TestCaseError::fail)?;
        positions_in_range(&text, Format::LvsCf).map_err(TestCaseError::fail)?;
    }

    /// The samples with random bytes replaced, inserted or removed.
    #[test]
    fn edited_samples_never_panic(edits in proptest::collection::vec(edit(), 1..4)) {
        for (name, format) in [("lvs.cf", Format::LvsCf), ("lvs.yaml", Format::Yaml)] {
            let mut bytes = sample(name).into_bytes();
            for (at, remove, insert) in &edits {
                let at = at % (bytes.len() + 1);
                let end = (at + remove).min(bytes.len());
                bytes.splice(at..end, insert.iter().copied());
            }
            let (config, diags) = parse_bytes(&bytes, name, Some(format));
            prop_assert!(config.is_some() || diags.iter().any(Diagnostic::is_error));
            if let Ok(text) = std::str::from_utf8(&bytes) {
                positions_in_range(text, format).map_err(TestCaseError::fail)?;
            }
        }
    }

    /// Deep nesting is refused, not followed.
    #[test]
    fn deep_yaml_is_refused(depth in 65usize..5000, block in any::<bool>()) {
        let deep = if block {
            (0..depth.min(300)).map(|i| format!("{}k:\n", " ".repeat(i))).collect::<String>()
        } else {
            format!("routers: {}{}", "[".repeat(depth), "]".repeat(depth))
        };
        let errs = errors(&deep, Format::Yaml);
        prop_assert!(!errs.is_empty());
        positions_in_range(&deep, Format::Yaml).map_err(TestCaseError::fail)?;
    }
}

#[test]
fn alias_bombs_are_refused() {
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    check(Format::Yaml, bomb, &["5:36: yaml aliases expand to too many nodes"]);
    let deep = format!("routers: {}{}", "[".repeat(65), "]".repeat(65));
    check(Format::Yaml, &deep, &["1:73: yaml nesting is deeper than 64 levels"]);
}

/// Only regular files are read, and never more than `MAX_FILE_SIZE` bytes,
/// whatever `st_size` says (0 for character devices and FIFOs); a FIFO with
/// no writer does not block the reader.
#[test]
fn only_regular_files_are_read_and_reading_stops_at_the_limit() {
    let t0 = std::time::Instant::now();
    let (c, d) = lvs_config::load_file(Path::new("/dev/zero"));
    assert!(c.is_none());
    assert_eq!(
        d[0].to_string(),
        "/dev/zero: error: not a regular file (a character device); only regular files are read"
    );
    let dir = std::env::temp_dir().join(format!("lvs-config-read-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("lvs.yaml");
    let _ = std::fs::remove_file(&fifo);
    let st = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    let err = lvs_config::read_file(&fifo).unwrap_err();
    assert_eq!(err, "not a regular file (a fifo); only regular files are read");
    assert_eq!(
        lvs_config::read_file(&dir).unwrap_err(),
        "not a regular file (a directory); only regular files are read"
    );
    // A sparse file one byte over the limit: refused after reading at most
    // the limit and one byte.
    let big = dir.join("big.yaml");
    std::fs::File::create(&big).unwrap().set_len(lvs_config::MAX_FILE_SIZE + 1).unwrap();
    assert_eq!(
        lvs_config::read_file(&big).unwrap_err(),
        format!("the file is larger than {} bytes", lvs_config::MAX_FILE_SIZE)
    );
    assert!(t0.elapsed() < std::time::Duration::from_secs(5), "took {:?}", t0.elapsed());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Issue 22: the ECMP directors' form reads next to the pair and the pool,
/// and its mistakes are pointed at like theirs.
#[test]
fn ecmp_directors() {
    let vs = "virtual_services:\n  - name: web\n    vip: { address: 10.0.100.1, interface: lo }\n    scheduler: mh\n    real_servers: [{ name: w, address: 10.0.0.11 }]\nnetwork: direct\n";
    let good = format!(
        "routers:\n  ecmp:\n    - {{ name: a, address: 10.0.0.1 }}\n    - {{ name: b, address: 10.0.0.2 }}\n  route_table: 7\n{vs}"
    );
    let (c, diags) = parse_str(&good, "t", Format::Yaml);
    let c = c.unwrap_or_else(|| panic!("{diags:?}"));
    let Routers::Ecmp { ecmp, route_table, min_servers } = &c.routers else { panic!("ecmp") };
    assert_eq!((ecmp.len(), *route_table, *min_servers), (2, 7, 1));
    assert_eq!(ecmp[1].name, "b");
    assert!(c.routers.is_ecmp() && c.routers.all().is_empty(), "no router heartbeats");
    // The writer's YAML reads back the same.
    let (again, d) = parse_str(&to_yaml(&c), "t", Format::Yaml);
    assert_eq!(again.as_ref(), Some(&c), "{d:?}");

    let bad = format!(
        "routers:\n  ecmp:\n    - {{ name: a, address: 10.0.0.1 }}\n    - {{ name: a, address: 10.0.0.1 }}\n  route_table: 254\n  min_servers: 0\n{}",
        vs.replace("interface: lo }", "interface: lo, netmask: 24 }")
    );
    check(
        Format::Yaml,
        &bad,
        &[
            "4:15: director a is listed twice",
            "4:27: director address 10.0.0.1 is listed twice",
            "5:16: route table 254 is the kernel's own: pick one for the VIP routes alone (1-252)",
            "6:16: min_servers must be at least 1: a VIP with no real server up must be withdrawn",
            "9:57: an ECMP VIP is a host address announced as /32: leave out netmask or make it 32",
        ],
    );
    check(
        Format::Yaml,
        &format!("routers:\n  ecmp: []\n  pool: [{{ address: 10.0.0.1 }}]\n{vs}"),
        &[
            "2:3: `routers`: use one of `ecmp`, `pool` or `primary`/`backup`",
            "2:9: the ECMP group has no director",
            "3:3: unknown key `pool` in `routers`",
        ],
    );
}
