//! Files piranha runs, read as piranha reads them (issue 17): repeated keys
//! keep their last value, a router that sends no heartbeats is not held to
//! heartbeat timing, both front ends share one rule for blank and control
//! characters, and an empty YAML value is an error at its position. The
//! property test writes lvs.cf files with awkward values, repeated keys,
//! blank lines and trailing blanks, and checks that whatever lvs.cf accepts
//! converts to YAML that loads to the same model.
#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.

mod common;

use common::*;
use lvs_config::*;
use proptest::prelude::*;

/// Every diagnostic as `line:col: severity: message`.
fn diags(text: &str, format: Format) -> (Option<Config>, Vec<String>) {
    let (c, d) = parse_str(text, "t", format);
    let d = d
        .iter()
        .map(|d| {
            let sev = if d.is_error() { "error" } else { "warning" };
            format!("{}:{}: {sev}: {}", d.line, d.column, d.message)
        })
        .collect();
    (c, d)
}

fn errors(text: &str, format: Format) -> Vec<String> {
    diags(text, format).1.into_iter().filter(|d| d.contains(": error: ")).collect()
}

/// piranha's own `sample.cf` sets `backup_active` twice; a published guide
/// repeats `service = lvs`; GUI-edited files repeat keys in virtual and
/// server blocks. piranha keeps the last value; so do we, with a warning
/// naming both lines.
#[test]
fn a_repeated_key_keeps_its_last_value_at_every_level() {
    let cf = "\
service = lvs
primary = 10.0.0.1
backup = 10.0.0.2
backup_active = 0
service = lvs
keepalive = 2
deadtime = 10
backup_active = 1
virtual web {
    address = 10.0.0.100 eth0:1
    active = 1
    scheduler = rr
    port = 80
    scheduler = wlc
    server a {
        address = 10.0.1.1
        active = 1
        weight = 1
        weight = 5
    }
}
";
    let (c, d) = diags(cf, Format::LvsCf);
    let c = c.unwrap_or_else(|| panic!("{d:#?}"));
    assert!(c.backup_active, "the second backup_active wins");
    let v = &c.virtual_services[0];
    assert_eq!(v.scheduler.0, "wlc");
    assert_eq!(v.real_servers[0].weight, 5);
    assert_eq!(
        d,
        [
            "5:1: warning: `service` is set again (first on line 1): the value on line 5 is used, as in piranha",
            "8:1: warning: `backup_active` is set again (first on line 4): the value on line 8 is used, as in piranha",
            "14:5: warning: `scheduler` is set again (first on line 12): the value on line 14 is used, as in piranha",
            "19:9: warning: `weight` is set again (first on line 18): the value on line 19 is used, as in piranha",
        ]
    );
    // The YAML it converts to loads to the same model.
    let yaml = to_yaml(&c);
    assert_eq!(parse_ok(&yaml, "t.yaml", Format::Yaml), c);
    // YAML keeps refusing a repeated key (it is not valid YAML), naming
    // both places.
    let e = errors(
        "routers:\n  primary: { address: 10.0.0.1 }\nservice: lvs\nservice: lvs\n",
        Format::Yaml,
    );
    assert_eq!(e, ["4:1: error: duplicate key `service` (first at line 3, column 1)"]);
}

/// A published production file: a lone router (no backup, `backup_active =
/// 0`) with `keepalive = 30` and `deadtime = 18`. It sends no heartbeat;
/// piranha runs it. With a backup that heartbeats, the rule binds.
#[test]
fn heartbeat_timing_binds_only_a_router_that_sends_heartbeats() {
    let lone = "\
primary = 10.0.0.1
backup = 0.0.0.0
backup_active = 0
keepalive = 30
deadtime = 18
virtual web {
    address = 10.0.0.100 eth0:1
    active = 1
    server a {
        address = 10.0.1.1
        active = 1
    }
}
";
    let (c, d) = diags(lone, Format::LvsCf);
    assert!(c.is_some(), "{d:#?}");
    assert_eq!(
        d,
        ["5:12: warning: deadtime (18s) must be greater than keepalive (30s) (not an error here: this router sends no heartbeats)"]
    );
    // A backup that is not active: still no heartbeats.
    let idle_backup = lone.replace("backup = 0.0.0.0", "backup = 10.0.0.2");
    assert!(parse_str(&idle_backup, "t", Format::LvsCf).0.is_some());
    // Failover on: heartbeats are sent, the rule is an error.
    let pair = idle_backup.replace("backup_active = 0", "backup_active = 1");
    assert_eq!(
        errors(&pair, Format::LvsCf),
        ["5:12: error: deadtime (18s) must be greater than keepalive (30s)"]
    );
    // The second heartbeat channel, too: a half-configured one is an error
    // only when heartbeats are sent.
    let half = idle_backup
        .replace("primary = 10.0.0.1\n", "primary = 10.0.0.1\nprimary_private = 10.9.0.1\n");
    let (c, d) = diags(&half, Format::LvsCf);
    assert!(c.is_some(), "{d:#?}");
    assert!(d.iter().any(|d| d.contains("warning: either every router has a private")), "{d:#?}");
    let half_on = half.replace("backup_active = 0", "backup_active = 1");
    assert!(errors(&half_on, Format::LvsCf).iter().any(|e| e.contains("either every router")));
    // `backup_private` without a backup, `use_regex` without `expect`:
    // piranha ignores them, so do we, with a warning.
    let ignored = lone
        .replace("backup = 0.0.0.0\n", "backup = 0.0.0.0\nbackup_private = 10.9.0.2\n")
        .replace(
            "    active = 1\n    server",
            "    active = 1\n    port = 25\n    use_regex = 1\n    server",
        );
    let (c, d) = diags(&ignored, Format::LvsCf);
    assert!(c.is_some(), "{d:#?}");
    assert!(d.iter().any(|d| d.contains("warning: `backup_private` has no effect")), "{d:#?}");
    assert!(d.iter().any(|d| d.contains("warning: `regex` has no effect")), "{d:#?}");
    // The same in YAML: a lone router warns, a pool that heartbeats errs.
    let yaml = "routers:\n  primary: { address: 10.0.0.1 }\nheartbeat: { keepalive: 30, deadtime: 18, protocol: piranha }\n";
    let (c, _) = diags(yaml, Format::Yaml);
    assert!(c.is_some());
    let pool = "routers:\n  pool: [ { address: 10.0.0.1 }, { address: 10.0.0.2 } ]\nheartbeat: { keepalive: 30, deadtime: 18, protocol: piranha }\n";
    assert_eq!(
        errors(pool, Format::Yaml),
        ["3:39: error: deadtime (18s) must be greater than keepalive (30s)"]
    );
}

const CF_HEAD: &str = "primary = 10.0.0.1\n";

/// A command that is only white space (no-break space, U+2028, vertical
/// tab...) or holds a C0 control character is refused by both front ends,
/// with the same message: lvs.cf used to accept what the YAML printed for
/// it then refused.
#[test]
fn blank_and_control_values_are_refused_alike_in_both_formats() {
    for (value, message) in [
        ("\u{a0}", "`active_cmd` is blank (only white space)"),
        ("\u{2028}", "`active_cmd` is blank (only white space)"),
        ("\u{b}", "`active_cmd` is blank (only white space)"),
        (" \u{3000} ", "`active_cmd` is blank (only white space)"),
        ("/bin/run\u{1}me", "`active_cmd` contains the control character U+0001"),
        ("/bin/run\u{7f}", "`active_cmd` contains the control character U+007F"),
    ] {
        let cf = format!("{CF_HEAD}active_cmd = \"{value}\"\n");
        let e = errors(&cf, Format::LvsCf);
        assert_eq!(e, [format!("2:14: error: {message}")], "lvs.cf {value:?}");
        let yaml = format!(
            "routers:\n  primary: {{ address: 10.0.0.1 }}\nactive_cmd: \"{}\"\n",
            value.chars().map(|c| format!("\\u{:04x}", u32::from(c))).collect::<String>()
        );
        let e = errors(&yaml, Format::Yaml);
        assert_eq!(e, [format!("3:13: error: {message}")], "yaml {value:?}");
    }
    // Names and check commands follow the same rule.
    let cf = format!(
        "{CF_HEAD}virtual \"w\u{2}b\" {{\n address = 10.0.0.100 eth0:1\n send_program = \"\u{a0}\"\n expect = \"OK\"\n server \"\u{85}\" {{\n  address = 10.0.1.1\n }}\n}}\n"
    );
    assert_eq!(
        errors(&cf, Format::LvsCf),
        [
            "2:9: error: the virtual service name contains the control character U+0002",
            "4:17: error: the check command is blank (only white space)",
            "6:9: error: the real server name is blank (only white space)",
        ]
    );
    // Control characters stay allowed where they are data: send/expect.
    let cf = format!(
        "{CF_HEAD}virtual w {{\n address = 10.0.0.100 eth0:1\n send = \"PING\\r\\n\"\n expect = \"\u{1}OK\"\n}}\n"
    );
    assert_eq!(errors(&cf, Format::LvsCf), Vec::<String>::new());
}

/// An empty YAML value is an error at its position (a file cut short after
/// `deadtime:` used to load with the default), not a silent default.
#[test]
fn an_empty_yaml_value_is_an_error_at_its_position() {
    let yaml = "\
routers:
  primary: { address: 10.0.0.1 }
heartbeat:
  keepalive: 2
  deadtime:
virtual_services:
  - name: web
    vip: { address: 10.0.0.100, interface: eth0 }
    scheduler:
    sorry_server: ~
";
    assert_eq!(
        errors(yaml, Format::Yaml),
        [
            "5:11: error: `deadtime` has no value",
            "9:14: error: `scheduler` has no value",
            "10:19: error: `sorry_server` has no value",
        ]
    );
    // A required key given no value is said once.
    let e = errors("routers:\n  primary:\n", Format::Yaml);
    assert_eq!(e, ["2:10: error: `primary` has no value"]);
}

/// An lvs.cf value: plain words, or quoted text that may hold any white
/// space and control character the file can carry on one line.
fn cf_value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z/][a-z0-9/._-]{0,10}",
        1 => proptest::collection::vec(
            prop_oneof![
                Just(' '),
                Just('\u{a0}'),
                Just('\u{2028}'),
                Just('\u{b}'),
                Just('\u{c}'),
                Just('\u{1}'),
                Just('\u{7f}'),
                Just('\u{3000}'),
                Just('\u{85}'),
                proptest::char::range('a', 'z'),
                Just('/'),
            ],
            0..8
        )
        .prop_map(|cs| cs.into_iter().collect::<String>()),
    ]
}

/// One generated lvs.cf: names and commands from [`cf_value`], some keys
/// repeated at every level, blank lines and trailing blanks.
fn cf_file() -> impl Strategy<Value = String> {
    (
        (cf_value(), cf_value(), cf_value(), cf_value()),
        (cf_value(), cf_value(), any::<bool>(), any::<bool>()),
        (
            any::<bool>(),
            1u32..40,
            1u32..40,
            prop_oneof![Just("nat"), Just("direct"), Just("tunnel")],
        ),
        ("[ \t]{0,3}", 0usize..3),
    )
        .prop_map(
            |(
                (active, inactive, vname, sname),
                (program, expect, repeat_global, repeat_virtual),
                (backup_active, keepalive, deadtime, network),
                (trail, blank_lines),
            )| {
                let q = |s: &str| format!("\"{s}\"");
                let blank = "\n".repeat(blank_lines);
                let mut o = String::new();
                o.push_str(&format!("primary = 10.0.0.1{trail}\n{blank}"));
                o.push_str("backup = 10.0.0.2\n");
                o.push_str(&format!("backup_active = {}\n", u8::from(backup_active)));
                if repeat_global {
                    o.push_str(&format!("backup_active = {}\n", u8::from(!backup_active)));
                    o.push_str(&format!("network = nat{trail}\n"));
                }
                o.push_str(&format!("network = {network}\n"));
                o.push_str(&format!("keepalive = {keepalive}\ndeadtime = {deadtime}\n"));
                o.push_str(&format!("active_cmd = {}{trail}\n", q(&active)));
                o.push_str(&format!("inactive_cmd = {}\n{blank}", q(&inactive)));
                o.push_str(&format!("virtual {} {{{trail}\n", q(&vname)));
                o.push_str("    address = 10.0.0.100 eth0:1\n    active = 1\n");
                if repeat_virtual {
                    o.push_str("    scheduler = rr\n    timeout = 3\n");
                }
                o.push_str("    scheduler = wlc\n");
                o.push_str(&format!("    send_program = {}\n", q(&program)));
                o.push_str(&format!("    expect = {}\n", q(&expect)));
                o.push_str(&format!("    server {} {{\n{blank}", q(&sname)));
                o.push_str("        address = 10.0.1.1\n        active = 1\n");
                if repeat_virtual {
                    o.push_str("        weight = 7\n");
                }
                o.push_str(&format!("        weight = 2{trail}\n    }}\n}}\n"));
                o
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// lvs.cf -> model -> YAML -> model over generated files: whatever the
    /// lvs.cf front end accepts, the YAML printed for it loads to the same
    /// model (the two front ends apply one rule to blank and control
    /// characters); and the validator's verdict on the model does not
    /// depend on the format it came from.
    #[test]
    fn generated_lvscf_files_convert_to_yaml_that_loads_the_same(cf in cf_file()) {
        let (from_cf, d) = parse_str(&cf, "gen.cf", Format::LvsCf);
        if let Some(c) = from_cf {
            let yaml = to_yaml(&c);
            let (from_yaml, dy) = parse_str(&yaml, "gen.yaml", Format::Yaml);
            prop_assert!(from_yaml.is_some(), "lvs.cf:\n{}\nyaml:\n{}\n{}", cf, yaml, Diagnostics(dy));
            prop_assert_eq!(from_yaml.unwrap(), c);
        } else {
            // Rejected: for the value rule, never for the shapes piranha
            // runs (repeated keys, blank lines, trailing blanks, timing of
            // a router without heartbeats).
            for e in d.iter().filter(|d| d.is_error()) {
                prop_assert!(
                    e.message.contains("blank") || e.message.contains("control character")
                        || e.message.contains("is empty") || e.message.contains("deadtime"),
                    "unexpected error {} in\n{}", e, cf
                );
            }
        }
    }
}
