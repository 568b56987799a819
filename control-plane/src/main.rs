//! `cloudhsm-emulator`: starts the Cloud HSM emulator. With no arguments it
//! uses embedded defaults: state in `./.cloudhsm-emulator/`, HTTPS on
//! `127.0.0.1:8443`, the well-known tenant, subscription and service principal.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::Parser;
use cloudhsm_control_plane::{config, server};

#[derive(Parser)]
#[command(
    name = "cloudhsm-emulator",
    version,
    about = "Local emulator of Azure Cloud HSM (Microsoft.HardwareSecurityModules/cloudHsmClusters)",
    // A flag given twice takes its last value (test harnesses add their own).
    args_override_self = true
)]
struct Flags {
    /// Where state, keys and endpoints.json are kept.
    #[arg(long, default_value = ".cloudhsm-emulator")]
    data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on; 0 picks a free one (read it from endpoints.json).
    #[arg(long, default_value_t = 8443)]
    port: u16,
    /// Serve plain HTTP instead of HTTPS (MSAL-based credentials need HTTPS).
    #[arg(long)]
    http: bool,
    /// Simulated time a cluster create or delete takes, e.g. 1s, 250ms.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    provisioning_delay: Duration,
    /// How long an ended operation's status and result URLs still answer
    /// (the Azure REST API guidelines' minimum, 24h, by default); then they
    /// answer 404 OperationNotFound. At least 1s.
    #[arg(long, default_value = "24h", value_parser = parse_retention)]
    operation_retention: Duration,
    #[arg(long, default_value = config::WELL_KNOWN_TENANT_ID)]
    tenant_id: String,
    #[arg(long, default_value = config::WELL_KNOWN_SUBSCRIPTION_ID)]
    subscription_id: String,
    /// Client id of the well-known service principal.
    #[arg(long, default_value = config::WELL_KNOWN_CLIENT_ID)]
    client_id: String,
    /// Secret of the well-known service principal.
    #[arg(long, default_value = config::WELL_KNOWN_CLIENT_SECRET)]
    client_secret: String,
    /// Secret callers of the managed-identity endpoint send as X-IDENTITY-HEADER.
    #[arg(long, default_value = config::WELL_KNOWN_IDENTITY_HEADER)]
    identity_header: String,
    /// Port of the data-plane (HSM) listener; 0 picks a free one (read it
    /// from data-plane.json).
    #[arg(long, default_value_t = 2225)]
    data_plane_port: u16,
    /// Items per page before a list returns a nextLink.
    #[arg(long, default_value_t = 100)]
    page_size: usize,
    /// Key handles each cluster holds (the service's is 3,200; raise it to
    /// test beyond the real limit).
    #[arg(long, default_value_t = 3200)]
    key_capacity: usize,
    /// Do not make the well-known principal Owner of the default
    /// subscription: it then needs role assignments like any other.
    #[arg(long)]
    no_default_owner: bool,
    /// Do not serve the data plane on `<data dir>/data-plane.sock` as well:
    /// clients on this machine then use the TCP endpoint (TLS unless --http).
    #[arg(long)]
    no_local_socket: bool,
    /// Enforce `publicNetworkAccess: Disabled` as Azure does: such a
    /// cluster's HSMs answer only on their private-link names, through an
    /// approved private endpoint connection (off: the public names answer too).
    #[arg(long)]
    network_isolation: bool,
    /// Refuse requests beyond ARM's throttling limits with 429 and
    /// Retry-After, as Azure does (off: the remaining-requests headers are
    /// still sent, nothing is refused).
    #[arg(long)]
    arm_throttling: bool,
    /// A service principal that exists from the start, as `appId:secret`
    /// (repeatable); more through `POST /emulator/servicePrincipals`.
    #[arg(long = "service-principal", value_parser = parse_principal)]
    service_principals: Vec<(String, String)>,
    /// Faults switched on from the start: a JSON file with the bodies of
    /// `/emulator/faults` (`{"operations": [...], "hsmNodes": [...],
    /// "dataPlane": {...}, "eventHubs": {...}}`; see the README).
    #[arg(long)]
    faults: Option<std::path::PathBuf>,
    /// How often diagnostic settings deliver new log records (Azure Monitor
    /// takes minutes; the default keeps operation-to-consumer under 1 s).
    #[arg(long, default_value = "250ms", value_parser = humantime::parse_duration)]
    diagnostics_batch_interval: std::time::Duration,
    /// Undelivered log records kept per cluster before new ones are dropped.
    #[arg(long, default_value_t = 256 * 1024 * 1024)]
    diagnostics_max_backlog: u64,
    /// Where a diagnostic setting's storage account is written:
    /// `{account}` is the account name of its `storageAccountId`.
    #[arg(long, default_value = cloudhsm_control_plane::diagnostics::DEFAULT_BLOB_ENDPOINT)]
    storage_blob_endpoint: String,
    /// Shared Key (base64) those accounts are written with; Azurite's
    /// well-known devstoreaccount1 key by default.
    #[arg(long, default_value = cloudhsm_control_plane::diagnostics::AZURITE_ACCOUNT_KEY)]
    storage_account_key: String,
    /// Port of the Event Hubs AMQP listener (plain AMQP, as Microsoft's
    /// emulator); 0 picks a free one (read it from endpoints.json).
    #[arg(long, default_value_t = 5672)]
    event_hubs_port: u16,
    /// Port of the Event Hubs REST send API (HTTPS like the ARM port); 0
    /// picks a free one.
    #[arg(long, default_value_t = 5443)]
    event_hubs_rest_port: u16,
    /// An Event Hubs AMQP connection on which nothing but heartbeats
    /// happens this long is closed (`amqp:connection:forced`), as the
    /// service's link tracker does after 5 minutes.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    event_hubs_idle_timeout: Duration,
    /// An HTTPS connection with no byte either way for this long is closed
    /// (Azure's load balancers: 4 minutes).
    #[arg(long, default_value = "4m", value_parser = humantime::parse_duration)]
    idle_timeout: Duration,
    /// Request headers must have arrived this long after a request starts.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    header_read_timeout: Duration,
}

/// The allocator and its settings: see `cloudhsm_control_plane::memory`.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Read by jemalloc before `main` (its prefixed build's name for
/// `malloc_conf`); `_RJEM_MALLOC_CONF` in the environment adds to it.
#[cfg(not(target_env = "msvc"))]
#[export_name = "_rjem_malloc_conf"]
static JEMALLOC_CONF: &u8 = &cloudhsm_control_plane::memory::JEMALLOC_CONF[0];

fn parse_retention(text: &str) -> Result<Duration, String> {
    let retention = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if retention < Duration::from_secs(1) {
        return Err("must be at least 1s: a client polls an operation after it ends".into());
    }
    Ok(retention)
}

fn parse_principal(text: &str) -> Result<(String, String), String> {
    text.split_once(':')
        .map(|(id, secret)| (id.to_string(), secret.to_string()))
        .ok_or_else(|| "expected appId:secret".to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    cloudhsm_control_plane::memory::return_large_blocks_to_the_system();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CLOUDHSM_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let flags = Flags::parse();
    let faults = match flags
        .faults
        .as_deref()
        .map(cloudhsm_control_plane::faults::StartupFaults::read)
        .transpose()
    {
        Ok(faults) => faults,
        Err(e) => {
            eprintln!("cloudhsm-emulator: --faults {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = server::ServerOptions {
        data_dir: flags.data_dir,
        host: flags.host,
        port: flags.port,
        plain_http: flags.http,
        provisioning_delay: flags.provisioning_delay,
        operation_retention: flags.operation_retention,
        tenant_id: flags.tenant_id,
        subscription_id: flags.subscription_id,
        client_id: flags.client_id,
        client_secret: flags.client_secret,
        identity_header: flags.identity_header,
        page_size: flags.page_size,
        data_plane_port: flags.data_plane_port,
        key_capacity: flags.key_capacity,
        default_owner: !flags.no_default_owner,
        local_socket: !flags.no_local_socket,
        network_isolation: flags.network_isolation,
        arm_throttling: flags.arm_throttling,
        service_principals: flags.service_principals,
        faults,
        diagnostics: cloudhsm_control_plane::diagnostics::DiagnosticsOptions {
            batch_interval: flags.diagnostics_batch_interval,
            max_backlog_bytes: flags.diagnostics_max_backlog,
            blob_endpoint: flags.storage_blob_endpoint,
            storage_account_key: flags.storage_account_key,
        },
        event_hubs_port: flags.event_hubs_port,
        event_hubs_idle_timeout: flags.event_hubs_idle_timeout,
        event_hubs_rest_port: flags.event_hubs_rest_port,
        connections: cloudhsm_control_plane::connections::ConnectionLimits {
            idle_timeout: flags.idle_timeout,
            header_read_timeout: flags.header_read_timeout,
        },
    };
    match server::serve(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cloudhsm-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}
