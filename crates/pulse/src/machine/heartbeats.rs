//! The heartbeat exchange: composing ours (with the echoes that let peers
//! prove freshness) and judging theirs (decode, identity, replay and
//! freshness, drops and the warnings an operator can act on), plus the
//! per-peer state and the status snapshot built from it.

use std::net::IpAddr;
use std::time::Instant;

use super::warn::Warn;
use super::{Action, Machine, Now, PeerStatus, Protocol, Status};
use crate::freshness::{self, PeerFreshness, Verdict};
use crate::wire::{self, DropReason, Faults, Heartbeat, Role};

/// What this router knows of one peer.
#[derive(Clone, Debug, Default)]
pub(super) struct Peer {
    /// When the peer was last proven alive (native: the credited time of
    /// its newest proven heartbeat, never later than its arrival).
    pub(super) last_heard: Option<Instant>,
    /// What its last proven heartbeat said.
    pub(super) role: Option<Role>,
    pub(super) faults: Faults,
    pub(super) eligible: bool,
    pub(super) epoch: u32,
    /// Its last heartbeat said its lvsd table is complete.
    pub(super) ready: bool,
    /// Replay and freshness state, and what we echo of it.
    pub(super) fresh: PeerFreshness,
    /// Whether "heard" was logged since it was last logged dead.
    pub(super) reported_alive: bool,
    /// Both of us active, and we stayed: re-announce when it yields.
    pub(super) in_conflict: bool,
    pub(super) digest_mismatch: bool,
    /// Heartbeats accepted from it (for metrics).
    pub(super) received: u64,
}

impl Machine {
    /// Whether peer `i` proved itself within the dead time.
    pub(super) fn alive(&self, i: usize, now: Instant) -> bool {
        i != self.cfg.me
            && self.peers[i]
                .last_heard
                .is_some_and(|t| now.saturating_duration_since(t) < self.cfg.deadtime)
    }

    pub(super) fn native(&self) -> bool {
        matches!(self.cfg.protocol, Protocol::Native { .. })
    }

    /// Whether the start-up listening period is over: every peer has proven
    /// itself alive (native: echoed one of our heartbeats), or `deadtime`
    /// has passed since the start. Before that a standby router does not
    /// activate (systemd's READY=1 waits for it).
    pub fn settled(&self, now: Instant) -> bool {
        let me = self.cfg.me;
        self.started.is_some_and(|started| {
            now >= started + self.cfg.deadtime
                || (0..self.peers.len()).all(|i| i == me || self.peers[i].last_heard.is_some())
        })
    }

    /// A snapshot for the control socket.
    pub fn status(&self, now: Instant) -> Status {
        let peers = self
            .cfg
            .routers
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != self.cfg.me)
            .map(|(i, r)| {
                let p = &self.peers[i];
                PeerStatus {
                    name: r.name.clone(),
                    alive: self.alive(i, now),
                    last_heard: p.last_heard.map(|h| now.saturating_duration_since(h)),
                    role: p.role,
                    faults: p.faults,
                    ready: p.ready,
                    config_mismatch: p.digest_mismatch,
                    received: p.received,
                }
            })
            .collect();
        Status {
            name: self.me().name.clone(),
            role: self.role,
            faults: self.faults,
            epoch: self.epoch,
            ready: self.lvsd_ready,
            peers,
            vips: self.cfg.vips.clone(),
            drops: self.drops.clone(),
            config_mismatches: self.config_mismatches,
            protocol: if self.native() { "native" } else { "piranha" },
            sent: self.heartbeats_sent,
            transitions: self.transitions,
        }
    }

    pub(super) fn on_packet(&mut self, from: IpAddr, data: &[u8], now: Instant) {
        let me = self.cfg.me;
        let accepted = match &self.cfg.protocol {
            Protocol::Native { key } => {
                match wire::decode_native(data, &key.clone()).and_then(|hb| {
                    let i = self.check_native(&hb, from)?;
                    Ok((i, self.check_fresh(i, &hb, now)?, hb))
                }) {
                    Ok((i, Verdict::Proven { heard }, hb)) => {
                        let mismatch = hb.config_digest != self.cfg.config_digest;
                        if mismatch {
                            self.config_mismatches += 1;
                            let name = &self.cfg.routers[i].name;
                            self.warnings.warn(Warn::Digest(i), now, || {
                                format!(
                                    "{name} runs a different cluster configuration \
                                     (its heartbeats still count): make the files agree"
                                )
                            });
                        }
                        self.peers[i].digest_mismatch = mismatch;
                        let ready = hb.flags & wire::FLAG_READY != 0;
                        Ok((i, heard, hb.role, hb.faults, hb.epoch, ready))
                    }
                    Ok((i, Verdict::Unproven { answer, since }, _)) => {
                        self.send_now |= answer;
                        if since >= self.cfg.deadtime {
                            let name = &self.cfg.routers[i].name;
                            self.warnings.warn(Warn::Stale(i), now, || {
                                format!(
                                    "{name}: its heartbeats have arrived for {} ms without \
                                     echoing a recent one of ours, so they prove nothing: \
                                     {name} does not hear us (one-way link, firewall on port?) \
                                     or they are replayed; counting {name} as dead",
                                    since.as_millis()
                                )
                            });
                        }
                        Err(DropReason::Stale)
                    }
                    Err(e) => Err(e),
                }
            }
            Protocol::Piranha => wire::decode_piranha(data).and_then(|role| {
                if self.cfg.routers[me].addrs.contains(&from) {
                    return Err(DropReason::SelfEcho);
                }
                let i = (0..self.cfg.routers.len())
                    .find(|i| *i != me && self.cfg.routers[*i].addrs.contains(&from))
                    .ok_or(DropReason::WrongSource)?;
                Ok((i, now, role, Faults::NONE, self.epoch, false))
            }),
        };
        let (i, heard, role, faults, epoch, ready) = match accepted {
            Ok(v) => v,
            Err(reason) => {
                self.drops.count(reason);
                log::debug!("dropped heartbeat from {from}: {}", reason.as_str());
                let owner = self.cfg.routers.iter().position(|r| r.addrs.contains(&from));
                let name = owner.map(|i| self.cfg.routers[i].name.clone());
                self.warnings.dropped(reason, from, owner, name.as_deref(), now);
                return;
            }
        };
        let native = self.native();
        let p = &mut self.peers[i];
        let was_active = p.role == Some(Role::Active);
        p.last_heard = p.last_heard.max(Some(heard));
        p.received += 1;
        p.role = Some(role);
        p.faults = faults;
        p.epoch = epoch;
        p.ready = ready;
        p.eligible = native && role == Role::Standby && faults.is_empty();
        let back = !p.reported_alive;
        p.reported_alive = true;
        if back {
            log::info!("heard {} ({})", self.cfg.routers[i].name, role.as_str());
            // Tell it at once that we hear it: it may be waiting for our echo
            // to count us alive (the second half of the handshake).
            self.send_now |= native;
            // It may have held our VIPs while we could not hear it (an
            // asymmetric partition): make sure the network points at us.
            if self.role == Role::Active && self.started.is_some() {
                log::info!("{} is back: re-announcing VIPs", self.cfg.routers[i].name);
                self.reannounce = true;
            }
        }
        if role == Role::Active && self.faults.contains(Faults::CHILD_FAIL) {
            log::info!("{} is active: clearing childfail", self.cfg.routers[i].name);
            self.faults.remove(Faults::CHILD_FAIL);
        }
        let yielded = was_active && role == Role::Standby && self.peers[i].in_conflict;
        if yielded && self.role == Role::Active {
            log::info!("{} stood down: re-announcing VIPs", self.cfg.routers[i].name);
            self.reannounce = true;
        }
        if role == Role::Standby {
            self.peers[i].in_conflict = false;
        }
    }

    fn check_native(&self, hb: &Heartbeat, from: IpAddr) -> Result<usize, DropReason> {
        let me = self.cfg.me;
        if hb.node_id == self.cfg.routers[me].node_id {
            return Err(DropReason::SelfEcho);
        }
        let i = self
            .cfg
            .routers
            .iter()
            .position(|r| r.node_id == hb.node_id)
            .ok_or(DropReason::UnknownPeer)?;
        if !self.cfg.routers[i].addrs.contains(&from) {
            return Err(DropReason::WrongSource);
        }
        Ok(i)
    }

    fn check_fresh(
        &mut self,
        i: usize,
        hb: &Heartbeat,
        now: Instant,
    ) -> Result<Verdict, DropReason> {
        let me = freshness::Me { node_id: self.me().node_id, boot_id: self.cfg.boot_id };
        let t = freshness::Timers { keepalive: self.cfg.keepalive, deadtime: self.cfg.deadtime };
        self.peers[i].fresh.check(hb, me, &self.sent, t, now)
    }

    pub(super) fn send(&mut self, now: Now, out: &mut Vec<Action>) {
        self.seq += 1;
        self.send_now = false;
        let payload = match &self.cfg.protocol {
            Protocol::Native { key } => {
                let keep = self.cfg.keepalive + self.cfg.deadtime;
                self.sent.record(self.seq, now.mono, keep);
                let echoes = (0..self.peers.len())
                    .filter(|i| *i != self.cfg.me)
                    .flat_map(|i| self.peers[i].fresh.echoes(self.cfg.routers[i].node_id))
                    .collect();
                let hb = Heartbeat {
                    node_id: self.me().node_id,
                    role: self.role,
                    faults: self.faults,
                    priority: u8::try_from(255usize.saturating_sub(self.cfg.me)).unwrap_or(0),
                    epoch: self.epoch,
                    boot_id: self.cfg.boot_id,
                    seq: self.seq,
                    flags: if self.lvsd_ready { wire::FLAG_READY } else { 0 },
                    config_digest: self.cfg.config_digest,
                    echoes,
                };
                wire::encode_native(&hb, key)
            }
            Protocol::Piranha => wire::encode_piranha(self.role, wire::ByteOrder::host()).to_vec(),
        };
        out.push(Action::SendHeartbeat(payload));
        self.heartbeats_sent += 1;
        self.next_send = Some(now.mono + self.cfg.keepalive);
    }
}
