//! A failover (FOS) service (piranha's `failover` block): a service moved
//! between the routers by running its start and stop commands.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::service::default_port;
use super::{yes, HealthCheck, Protocol, Vip};

/// A failover (FOS) service: a service moved between the routers by
/// running its start and stop commands.
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
    /// Port checked on the partner (default 80).
    #[serde(default = "default_port")]
    pub port: u16,
    /// Transport protocol.
    #[serde(default)]
    pub protocol: Protocol,
    /// How the partner's service is checked.
    #[serde(default)]
    pub check: HealthCheck,
    /// Monitor program, overriding `paths.nanny` (piranha `client_monitor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<PathBuf>,
    /// Starts the service here; split on spaces, no shell.
    pub start_cmd: String,
    /// Stops the service here; split on spaces, no shell.
    pub stop_cmd: String,
}
