//! The status page at `/` in a real headless browser (Debian's `chromium`,
//! installed by `cargo xtask test` with the other host packages), driven
//! over the DevTools protocol on a pipe (`--remote-debugging-pipe`: fd 3
//! in, fd 4 out, which a shell maps onto the child's stdin and stdout).
//!
//! A pulse pair runs in network namespaces (the namespace lab) and the
//! browser in the active router's namespace. lvsd's side of the report
//! link is played by the test, which writes `lvsd_api` reports to pulse's
//! report socket: the host has no IPVS, so no real lvsd runs here; the
//! path from a real lvsd and real nannies through that socket to
//! `/metrics` and the status is the VM's
//! `nat_cluster_is_watched_through_metrics_and_status`.
//!
//! The page must render the cluster (routers, roles, the virtual service,
//! its real servers), show a real server going down while it stays open
//! (no reload: the update comes over `/events`), and log nothing on the
//! console (no message, no exception, no failed request). A screenshot is
//! kept; its path is printed. Root is needed; without it the test says
//! why and skips, except under `CI`, where it fails.

// Runs the binaries and tools under test: the choke point for starting
// processes (`clippy.toml`) is the library's.
#![allow(clippy::disallowed_methods)]
// Test helpers may unwrap: a failed unwrap is a failed test, with its line.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod lab;
use lab::{can_run, ip_bin, Lab};

const LISTEN: &str = "127.0.0.1:9539";

fn report(down: bool) -> lvsd_api::Report {
    use lvsd_api::{Checks, Counters, Health, Report, Server, Service};
    let mut checks = Checks::default();
    checks.observe(true, 0.004, "connected");
    let server = |n: u32, up: bool| Server {
        server: format!("10.77.0.{n}:80"),
        health: if up { Health::Up } else { Health::Down },
        reason: if up {
            format!("check ok: 10.77.0.{n}:80: HTTP status 200")
        } else {
            format!("check failed: connect to 10.77.0.{n}:80: Connection refused (os error 111)")
        },
        since: 12.0,
        configured_weight: 1,
        weight: up.then_some(1),
        transitions: u64::from(!up),
        checks: checks.clone(),
        counters: up.then_some(Counters {
            connections: 40 + u64::from(n),
            active_connections: 2,
            ..Counters::default()
        }),
        kept_by_threshold: false,
        operator: None,
    };
    Report {
        version: lvsd_api::VERSION,
        pid: 4242,
        ready: true,
        nanny_restarts: 0,
        counters_age: Some(0.3),
        services: vec![Service {
            service: "tcp:10.77.0.100:80".into(),
            counters: Some(Counters {
                connections: 85,
                active_connections: 4,
                ..Counters::default()
            }),
            servers: vec![server(21, true), server(22, true), server(23, !down)],
        }],
    }
}

/// A headless chromium driven over the DevTools pipe.
struct Browser {
    child: Child,
    profile: PathBuf,
    to: ChildStdin,
    from: Receiver<Value>,
    next: u64,
    /// Events seen while waiting for answers.
    seen: Vec<Value>,
}

impl Browser {
    fn start(ns: &str) -> Browser {
        let profile = std::env::temp_dir().join(format!("{ns}-chromium"));
        let script = format!(
            "exec chromium --headless --no-sandbox --disable-gpu --remote-debugging-pipe \
             --no-first-run --hide-scrollbars --user-data-dir={} 3<&0 4>&1 1>&2",
            profile.display()
        );
        let mut child = Command::new(ip_bin())
            .args(["netns", "exec", ns, "sh", "-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let to = child.stdin.take().unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, from) = channel();
        std::thread::spawn(move || {
            for msg in BufReader::new(out).split(0) {
                let Ok(msg) = msg else { break };
                let Ok(v) = serde_json::from_slice::<Value>(&msg) else { continue };
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        Browser { child, profile, to, from, next: 0, seen: Vec::new() }
    }

    /// Sends a command (to the page's session if given) and waits for its
    /// answer's `result`.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next += 1;
        let mut m = json!({ "id": self.next, "method": method, "params": params });
        if let Some(s) = session {
            m["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&m).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).unwrap();
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let v =
                self.from.recv_timeout(left).unwrap_or_else(|_| panic!("no answer to {method}"));
            if v["id"] == json!(self.next) {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
            self.seen.push(v);
        }
    }

    /// The value of a JavaScript expression in the page.
    fn eval(&mut self, session: &str, expr: &str) -> Value {
        let r = self.call(
            Some(session),
            "Runtime.evaluate",
            json!({ "expression": expr, "returnByValue": true }),
        );
        r["result"]["value"].clone()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Standard base64 (the screenshot's encoding).
fn base64(text: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let digits: Vec<u8> = text.bytes().filter(|c| *c != b'=' && !c.is_ascii_whitespace()).collect();
    let mut out = Vec::new();
    for chunk in digits.chunks(4) {
        let n =
            chunk.iter().enumerate().fold(0u32, |n, (i, c)| n | u32::from(val(*c)) << (18 - 6 * i));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

#[test]
fn the_status_page_renders_the_cluster_and_shows_a_server_going_down_live() {
    if !can_run() {
        return;
    }
    if Command::new("chromium").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is missing (cargo xtask test installs it)"
        );
        eprintln!("skipped: no chromium (cargo xtask test installs it)");
        return;
    }
    let mut lab = Lab::new("pg", 2, &format!("http: {{ listen: \"{LISTEN}\" }}\n"), 2, false);
    lab.start(0);
    lab.start(1);
    lab.wait(Duration::from_secs(10), "r0 active", |l| l.is_active(0) && !l.is_active(1));
    let mut link = UnixStream::connect(lab.socket(0).with_extension("lvsd-report")).unwrap();
    link.write_all(lvsd_api::encode(&report(false)).as_bytes()).unwrap();
    lab.wait(Duration::from_secs(5), "the report in the status", |l| {
        l.request(0, "status json").is_some_and(|s| s.contains("\"pid\":4242"))
    });

    let mut b = Browser::start(&lab.ns(0));
    let target = b.call(None, "Target.createTarget", json!({ "url": "about:blank" }));
    let attached = b.call(
        None,
        "Target.attachToTarget",
        json!({ "targetId": target["targetId"], "flatten": true }),
    );
    let s = attached["sessionId"].as_str().unwrap().to_owned();
    for m in ["Runtime.enable", "Log.enable", "Page.enable"] {
        b.call(Some(&s), m, json!({}));
    }
    // A phone's screen.
    b.call(
        Some(&s),
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 412, "height": 915, "deviceScaleFactor": 1, "mobile": true }),
    );
    b.call(Some(&s), "Page.navigate", json!({ "url": format!("http://{LISTEN}/") }));
    let row = |web: u32| {
        format!("document.querySelector('tr[data-server=\"10.77.0.{web}:80\"]')?.innerText ?? ''")
    };
    let wait_for = |b: &mut Browser, what: &str, expr: &str, want: &dyn Fn(&Value) -> bool| {
        let end = Instant::now() + Duration::from_secs(15);
        loop {
            let v = b.eval(&s, expr);
            if want(&v) {
                return v;
            }
            assert!(Instant::now() < end, "{what}: {v}\n{:?}", b.seen);
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let up = |v: &Value| v.as_str().is_some_and(|t| t.contains("up"));
    wait_for(&mut b, "the page renders web3 up", &row(23), &up);
    let title = b.eval(&s, "document.getElementById('title').textContent");
    assert_eq!(title, json!("lvs-router: router1"));
    let routers = b.eval(&s, "document.getElementById('routers').innerText");
    assert!(
        routers.as_str().is_some_and(|t| t.contains("active") && t.contains("router2")),
        "{routers}"
    );
    let live = wait_for(
        &mut b,
        "the event stream to open",
        "document.getElementById('live').textContent",
        &|v| v == &json!("live"),
    );
    assert_eq!(live, json!("live"));
    // The page stays open; web3 goes down.
    let loads = b.eval(&s, "performance.getEntriesByType('navigation').length");
    b.eval(&s, "window.__same_page = true");
    link.write_all(lvsd_api::encode(&report(true)).as_bytes()).unwrap();
    let t0 = Instant::now();
    let down = |v: &Value| {
        v.as_str().is_some_and(|t| t.contains("down") && t.contains("Connection refused"))
    };
    let web3 = wait_for(&mut b, "the page shows web3 down", &row(23), &down);
    let shown = t0.elapsed();
    assert_eq!(b.eval(&s, "window.__same_page === true"), json!(true), "the page was reloaded");
    assert_eq!(b.eval(&s, "performance.getEntriesByType('navigation').length"), loads);
    assert!(up(&b.eval(&s, &row(21))), "web1 stays up");
    let events = b.eval(&s, "document.getElementById('events').innerText");
    assert!(
        events.as_str().is_some_and(|t| t.contains("10.77.0.23:80 (tcp:10.77.0.100:80) down")),
        "{events}"
    );
    eprintln!("status page: web3 shown down {shown:?} after the report: {web3}");
    // Nothing on the console: no message, no exception, no failed request.
    let shot = b.call(Some(&s), "Page.captureScreenshot", json!({ "format": "png" }));
    let noisy: Vec<&Value> = b
        .seen
        .iter()
        .filter(|v| {
            matches!(
                v["method"].as_str(),
                Some("Runtime.consoleAPICalled" | "Runtime.exceptionThrown" | "Log.entryAdded")
            )
        })
        .collect();
    assert!(noisy.is_empty(), "the page logged on the console: {noisy:#?}");
    let png = base64(shot["data"].as_str().unwrap());
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("status-page.png");
    std::fs::write(&path, png).unwrap();
    println!("status page screenshot: {}", path.display());
    eprintln!("status page screenshot: {}", path.display());
    let _ = b.call(None, "Browser.close", json!({}));
}
