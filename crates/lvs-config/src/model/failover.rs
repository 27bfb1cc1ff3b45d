//! A failover (FOS) service (piranha's `failover` block): a service moved
//! between the routers by running its start and stop commands.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::service::default_port;
use super::{yes, HealthCheck, Protocol, Vip};

/// A failover (FOS) service: a service moved between the routers by
/// running its start and stop commands. pulse runs it on the active router
/// (`stop_cmd`, then `start_cmd`) with a nanny that checks it there, and
/// keeps it stopped on the others (`stop_cmd` at start and on standing
/// down). piranha's backup checked the active router's copy instead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailoverService {
    /// Name, unique among failover services.
    pub name: String,
    /// Only active failover services are used.
    /// Default: true in YAML; 0 in lvs.cf, as piranha.
    #[serde(default = "yes")]
    pub active: bool,
    /// The service address and its interface.
    pub vip: Vip,
    /// Port checked on the active router, at the VIP (default 80).
    #[serde(default = "default_port")]
    pub port: u16,
    /// Transport protocol.
    #[serde(default)]
    pub protocol: Protocol,
    /// How the service is checked on the active router: `connect`
    /// (piranha's `send`/`expect`), `program` (`send_program`) or `none`.
    /// A failed check, or none passed within two intervals and a timeout
    /// of `start_cmd`, makes the router stand down; `reentry` is not used
    /// (one good check is up).
    #[serde(default)]
    pub check: HealthCheck,
    /// Monitor program, overriding `paths.nanny` (piranha `client_monitor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<PathBuf>,
    /// Starts the service on the router becoming active; split on spaces,
    /// no shell; waited for (at most 60 s) before the check starts.
    pub start_cmd: String,
    /// Stops the service: before `start_cmd`, at pulse's start and when
    /// the router stands down; split on spaces, no shell; must be
    /// repeatable (piranha).
    pub stop_cmd: String,
}
