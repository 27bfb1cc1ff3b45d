//! One network namespace, named uniquely and deleted on drop.
//!
//! Commands run inside it through `ip netns exec`; Rust code runs inside it
//! on a helper thread that `setns(2)`s into it first: a socket belongs to
//! the namespace of the thread that created it, for its whole life, so the
//! socket can then be used from anywhere.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use nix::sched::{setns, CloneFlags};

use crate::{Error, Result};

/// How long client calls wait for a connection or a reply.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The iproute2 `ip` binary: `$LVS_IP`, or `ip` on `PATH`.
pub(crate) fn ip_program() -> std::ffi::OsString {
    std::env::var_os("LVS_IP").unwrap_or_else(|| "ip".into())
}

fn describe(cmd: &Command) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Runs `cmd` to completion; fails unless it exits with 0.
pub(crate) fn run_checked(cmd: &mut Command) -> Result<Output> {
    let command = describe(cmd);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::Spawn { command: command.clone(), source })?;
    if !out.status.success() {
        return Err(Error::Command {
            command,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(out)
}

/// Runs `ip [-n ns] -batch -` with `script` on its standard input.
fn batch(ns: Option<&str>, script: &str) -> Result<()> {
    let mut cmd = Command::new(ip_program());
    if let Some(ns) = ns {
        cmd.args(["-n", ns]);
    }
    cmd.args(["-batch", "-"]);
    let command = format!("{} <<< {script:?}", describe(&cmd));
    let spawned = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
    let mut child = spawned.map_err(|source| Error::Spawn { command: command.clone(), source })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(Error::io(format!("cannot feed `{command}`")))?;
    }
    let out =
        child.wait_with_output().map_err(Error::io(format!("cannot wait for `{command}`")))?;
    if !out.status.success() {
        return Err(Error::Command {
            command,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

/// A network namespace of the test, deleted (with its links) on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates a namespace named after `role`, unique to this process and
    /// call (`lvs<pid>-<n>-<role>`), with its loopback up.
    ///
    /// # Errors
    /// When `ip netns add` fails (not root, no `ip`).
    pub fn new(role: &str) -> Result<Netns> {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("lvs{}-{n}-{role}", std::process::id());
        run_checked(Command::new(ip_program()).args(["netns", "add", &name]))?;
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Whether this host can run the namespace tests of `suite`: root, and
    /// `ip` makes a namespace. When it cannot, it says why on standard
    /// error and the caller skips, except under `CI`, where a skip would
    /// hide a runner that tests nothing: there it panics.
    pub fn can_run(suite: &str) -> bool {
        let why = if !nix::unistd::geteuid().is_root() {
            Some("not root")
        } else if Netns::new("probe").is_err() {
            Some("cannot create a network namespace (no iproute2?)")
        } else {
            None
        };
        match why {
            None => true,
            Some(w) if std::env::var_os("CI").is_some() => {
                panic!("{suite} tests must run in CI: {w}")
            }
            Some(w) => {
                eprintln!("skipping {suite} test: {w}");
                false
            }
        }
    }

    /// Creates one namespace per role at once (one `ip` process for all of
    /// them: under the guest's software emulation every process start
    /// counts). Loopback is left down: bring it up in a [`Netns::batch`].
    ///
    /// # Errors
    /// When `ip netns add` fails; namespaces made so far are deleted.
    pub fn create_all(roles: &[&str]) -> Result<Vec<Netns>> {
        let all: Vec<Netns> = roles
            .iter()
            .map(|role| {
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                Netns { name: format!("lvs{}-{n}-{role}", std::process::id()) }
            })
            .collect();
        let script: String = all.iter().map(|ns| format!("netns add {}\n", ns.name)).collect();
        // On failure, dropping `all` deletes those that were made.
        batch(None, &script)?;
        Ok(all)
    }

    /// Runs several `ip` commands (one per line, without the leading `ip`)
    /// inside the namespace with a single `ip -n <ns> -batch -`.
    ///
    /// # Errors
    /// When any command fails; `ip` stops at the first failure.
    pub fn batch(&self, script: &str) -> Result<()> {
        batch(Some(&self.name), script)
    }

    /// The name `ip netns` knows it by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n <ns> ARGS` and returns its standard output.
    ///
    /// # Errors
    /// When `ip` fails; the error has its standard error.
    pub fn ip(&self, args: &[&str]) -> Result<String> {
        let out = run_checked(Command::new(ip_program()).args(["-n", &self.name]).args(args))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// A command that runs `program` inside the namespace
    /// (`ip netns exec <ns> program`); add arguments and spawn it as usual.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(ip_program());
        cmd.args(["netns", "exec", &self.name]).arg(program);
        cmd
    }

    /// Runs `program ARGS` inside the namespace to completion and returns
    /// its standard output.
    ///
    /// # Errors
    /// When it cannot start or exits unsuccessfully.
    pub fn run(&self, program: &str, args: &[&str]) -> Result<String> {
        let out = run_checked(self.command(program).args(args))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs `f` on a thread that has entered this namespace, and returns
    /// its result. Sockets `f` creates belong to the namespace.
    ///
    /// # Errors
    /// When the thread cannot enter the namespace.
    pub fn enter<R: Send>(&self, f: impl FnOnce() -> R + Send) -> Result<R> {
        let path = format!("/run/netns/{}", self.name);
        let file = File::open(&path).map_err(Error::io(format!("cannot open {path}")))?;
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    setns(&file, CloneFlags::CLONE_NEWNET)
                        .map_err(|source| Error::Setns { ns: self.name.clone(), source })?;
                    Ok(f())
                })
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// Sets a sysctl inside the namespace, e.g.
    /// `sysctl("net.ipv4.ip_forward", "1")`.
    ///
    /// # Errors
    /// When the key does not exist or cannot be written.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        self.enter(|| std::fs::write(&path, value))?
            .map_err(Error::io(format!("cannot set {key} = {value} in {}", self.name)))
    }

    /// Reads `/proc/net/<file>` as this namespace sees it (for example
    /// `ip_vs`, `ip_vs_conn`).
    ///
    /// # Errors
    /// When the file does not exist (for `ip_vs`: the module is not loaded).
    pub fn read_proc_net(&self, file: &str) -> Result<String> {
        // /proc/net follows the process's namespace; thread-self/net
        // follows the calling thread's, which `enter` has moved.
        let path = format!("/proc/thread-self/net/{file}");
        self.enter(|| std::fs::read_to_string(&path))?
            .map_err(Error::io(format!("cannot read {path} in {}", self.name)))
    }

    /// Connects from this namespace to `to`, sends `request`, closes the
    /// sending side and returns everything the server sent back.
    ///
    /// # Errors
    /// When the connection fails or no reply comes within 5 s.
    pub fn tcp_request(&self, to: SocketAddr, request: &[u8]) -> Result<Vec<u8>> {
        let what = format!("TCP request from {} to {to}", self.name);
        self.enter(|| -> std::io::Result<Vec<u8>> {
            let mut stream = TcpStream::connect_timeout(&to, CLIENT_TIMEOUT)?;
            stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
            stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
            stream.write_all(request)?;
            stream.shutdown(Shutdown::Write)?;
            let mut reply = Vec::new();
            stream.read_to_end(&mut reply)?;
            Ok(reply)
        })?
        .map_err(Error::io(what))
    }

    /// `GET /` over HTTP/1.0 from this namespace; returns the body of a
    /// `200` answer.
    ///
    /// # Errors
    /// When the request fails or the answer is not `200`.
    pub fn http_get(&self, to: SocketAddr) -> Result<String> {
        let request = format!("GET / HTTP/1.0\r\nHost: {to}\r\n\r\n");
        let reply = self.tcp_request(to, request.as_bytes())?;
        let reply = String::from_utf8_lossy(&reply);
        let (head, body) = reply
            .split_once("\r\n\r\n")
            .ok_or_else(|| Error::Protocol(format!("{to} sent no HTTP header: {reply:?}")))?;
        if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
            return Err(Error::Protocol(format!("{to} answered {head:?}")));
        }
        Ok(body.to_string())
    }

    /// Sends one UDP datagram from a fresh socket of this namespace (so a
    /// new source port each time) and returns the first reply.
    ///
    /// # Errors
    /// When sending fails or no reply comes within 5 s.
    pub fn udp_request(&self, to: SocketAddr, payload: &[u8]) -> Result<Vec<u8>> {
        let what = format!("UDP request from {} to {to}", self.name);
        self.enter(|| -> std::io::Result<Vec<u8>> {
            let any: SocketAddr = if to.is_ipv4() {
                SocketAddr::from(([0, 0, 0, 0], 0))
            } else {
                SocketAddr::from(([0u16; 8], 0))
            };
            let socket = UdpSocket::bind(any)?;
            socket.set_read_timeout(Some(CLIENT_TIMEOUT))?;
            socket.connect(to)?;
            socket.send(payload)?;
            let mut buf = vec![0; 65536];
            let n = socket.recv(&mut buf)?;
            buf.truncate(n);
            Ok(buf)
        })?
        .map_err(Error::io(what))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace destroys its links (and so the peer end of
        // each veth pair) once no process is left inside.
        if let Err(err) = run_checked(Command::new(ip_program()).args(["netns", "del", &self.name]))
        {
            log::warn!("cannot delete network namespace {}: {err}", self.name);
        }
    }
}
