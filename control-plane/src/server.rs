//! Start-up: data dir, store, keys, listener, `endpoints.json`, the operation
//! worker, and a clean shutdown on Ctrl-C or SIGTERM.

use std::{
    net::{IpAddr, SocketAddr, TcpListener},
    path::{Path, PathBuf},
    time::Duration,
};

use serde_json::json;

use crate::{
    arm::{lro, request_context::canonicalise_path, schema::SchemaRegistry},
    config::EmulatorConfig,
    hsm_clusters::HsmClusters,
    identity::signing_key::SigningKey,
    providers,
    state::{AppState, Shared},
    store::Store,
    tls,
};

pub struct ServerOptions {
    pub data_dir: PathBuf,
    pub host: String,
    pub port: u16,
    pub plain_http: bool,
    pub provisioning_delay: Duration,
    /// See [`EmulatorConfig::operation_retention`].
    pub operation_retention: Duration,
    pub tenant_id: String,
    pub subscription_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub identity_header: String,
    pub page_size: usize,
    /// Port of the data-plane listener (HSM network API); 0 picks a free one.
    pub data_plane_port: u16,
    /// Key handles per cluster.
    pub key_capacity: usize,
    /// See [`EmulatorConfig::default_owner`].
    pub default_owner: bool,
    /// Serve the data plane on a Unix socket too: see
    /// [`cloudhsm_data_plane::server::local`].
    pub local_socket: bool,
    /// `--network-isolation`: see [`crate::hsm_clusters::Directory`].
    pub network_isolation: bool,
    /// `--arm-throttling`: see [`crate::arm::throttling`].
    pub arm_throttling: bool,
    /// Service principals (`appId`, secret) that exist from the start.
    pub service_principals: Vec<(String, String)>,
    /// `--faults FILE`: faults switched on from the start.
    pub faults: Option<crate::faults::StartupFaults>,
    /// Diagnostic settings' delivery (batch interval, backlog, storage).
    pub diagnostics: crate::diagnostics::DiagnosticsOptions,
    /// Port of the Event Hubs AMQP listener; 0 picks a free one.
    pub event_hubs_port: u16,
    /// See [`cloudhsm_event_hubs::BrokerOptions::idle_connection_timeout`].
    pub event_hubs_idle_timeout: Duration,
    /// Port of the Event Hubs REST send API; 0 picks a free one.
    pub event_hubs_rest_port: u16,
    /// Idle and header timeouts of the HTTPS listeners.
    pub connections: crate::connections::ConnectionLimits,
}

fn url_host(host: &str) -> String {
    match host.parse::<IpAddr>() {
        Ok(ip) if ip.is_unspecified() => "127.0.0.1".to_string(),
        Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
        _ => host.to_string(),
    }
}

pub async fn serve(options: ServerOptions) -> Result<(), String> {
    std::fs::create_dir_all(&options.data_dir)
        .map_err(|e| format!("creating {}: {e}", options.data_dir.display()))?;
    let data_dir = std::fs::canonicalize(&options.data_dir)
        .map_err(|e| format!("resolving {}: {e}", options.data_dir.display()))?;

    let listener = TcpListener::bind((options.host.as_str(), options.port))
        .map_err(|e| format!("binding {}:{}: {e}", options.host, options.port))?;
    let data_plane_listener = TcpListener::bind((options.host.as_str(), options.data_plane_port))
        .map_err(|e| {
        format!(
            "binding the data plane to {}:{}: {e}",
            options.host, options.data_plane_port
        )
    })?;
    data_plane_listener
        .set_nonblocking(true)
        .map_err(|e| format!("configuring the data-plane listener: {e}"))?;
    let data_plane_port = data_plane_listener
        .local_addr()
        .map_err(|e| format!("reading the data-plane address: {e}"))?
        .port();
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("configuring the listener: {e}"))?;
    let event_hubs_listener =
        bind_nonblocking(&options.host, options.event_hubs_port, "Event Hubs (AMQP)")?;
    let event_hubs_port = event_hubs_listener
        .local_addr()
        .map_err(|e| e.to_string())?
        .port();
    let event_hubs_rest_listener = bind_nonblocking(
        &options.host,
        options.event_hubs_rest_port,
        "Event Hubs (REST)",
    )?;
    let event_hubs_rest_port = event_hubs_rest_listener
        .local_addr()
        .map_err(|e| e.to_string())?
        .port();
    let address: SocketAddr = listener
        .local_addr()
        .map_err(|e| format!("reading the bound address: {e}"))?;
    let scheme = if options.plain_http { "http" } else { "https" };
    let base_url = format!("{scheme}://{}:{}", url_host(&options.host), address.port());

    let config = EmulatorConfig {
        data_dir: data_dir.clone(),
        base_url: base_url.clone(),
        tenant_id: options.tenant_id,
        subscription_id: options.subscription_id,
        client_id: options.client_id,
        client_secret: options.client_secret,
        identity_header: options.identity_header,
        provisioning_delay: options.provisioning_delay,
        page_size: options.page_size.max(1),
        default_owner: options.default_owner,
        operation_retention: options.operation_retention,
    };
    let store = Store::open(&data_dir.join("state")).map_err(|e| e.to_string())?;
    let signing_key = SigningKey::load_or_create(&data_dir)?;
    let tls = if options.plain_http {
        None
    } else {
        Some(tls::prepare(&data_dir, &[options.host.clone()])?)
    };
    let backup_storage = crate::backup_storage::BackupStorage::new(
        tls.as_ref()
            .map(|t| std::fs::read(&t.ca_certificate))
            .transpose()
            .map_err(|e| format!("reading the CA certificate: {e}"))?
            .as_deref(),
        format!(
            "{base_url}{}",
            crate::identity::managed_identity_endpoint::PATH
        ),
        config.identity_header.clone(),
    )?;
    let diagnostics = crate::diagnostics::Diagnostics::new(
        &data_dir,
        options.diagnostics.clone(),
        backup_storage.http_client(),
    );
    let event_hubs = cloudhsm_event_hubs::Broker::open_with(
        &data_dir.join("event-hubs"),
        std::sync::Arc::new(providers::event_hubs::directory::StoreDirectory::new(
            store.clone(),
        )),
        cloudhsm_event_hubs::BrokerOptions {
            amqp_endpoint: Some(format!("{}:{event_hubs_port}", url_host(&options.host))),
            rest_endpoint: Some(format!(
                "{scheme}://{}:{event_hubs_rest_port}",
                url_host(&options.host)
            )),
            idle_connection_timeout: options.event_hubs_idle_timeout,
            ..Default::default()
        },
    )
    .map_err(|e| format!("opening the Event Hubs logs: {e}"))?;
    let state = AppState::new(Shared {
        event_hubs,
        arm_audiences: config.arm_audiences(),
        graph_audiences: config.graph_audiences(),
        validated_tokens: Default::default(),
        config,
        store,
        signing_key,
        schemas: SchemaRegistry::load()?,
        operations: lro::OperationQueue::default(),
        hsm_clusters: HsmClusters::open(&data_dir.join("data-plane"))?
            .with_key_capacity(options.key_capacity)
            .with_audit_sinks(diagnostics.audit_sinks()),
        backup_storage,
        diagnostics: diagnostics.clone(),
        deployment_runs: Default::default(),
        faults: Default::default(),
        throttle: crate::arm::throttling::Throttle::new(options.arm_throttling),
    });
    providers::cloud_hsm::backup::recover_interrupted(&state).await?;
    lro::retention::index_earlier_history(&state.store)
        .await
        .map_err(|e| format!("indexing ended operations: {e}"))?;
    for (app_id, secret) in &options.service_principals {
        crate::identity::service_principals::register(&state, app_id, secret, app_id)
            .await
            .map_err(|e| format!("--service-principal {app_id}: {e}"))?;
    }
    providers::deployments::history::index_earlier_deployments(&state.store)
        .await
        .map_err(|e| format!("indexing the deployment history: {e}"))?;
    providers::deployments::resume_interrupted(&state).await?;
    if let Some(faults) = options.faults {
        faults.apply(&state).map_err(|e| format!("--faults: {e}"))?;
    }
    diagnostics
        .start(
            state.clone(),
            std::sync::Arc::new(crate::diagnostics::broker_adapter::ControlPlaneEventHubs {
                state: state.clone(),
            }),
        )
        .await;

    write_endpoints(&state, tls.as_ref().map(|t| t.ca_certificate.clone()))?;
    let data_plane_endpoint = format!("{scheme}://{}:{data_plane_port}", url_host(&options.host));
    let local_socket = if options.local_socket {
        cloudhsm_data_plane::server::local::bind(&data_dir)?
    } else {
        None
    };
    write_data_plane_endpoint(
        &state,
        &data_plane_endpoint,
        tls.as_ref().map(|t| t.ca_certificate.clone()),
        local_socket.as_ref().map(|(_, path)| path.as_path()),
    )?;
    let data_plane = cloudhsm_data_plane::server::router(
        cloudhsm_data_plane::server::DataPlaneState::with_admin(
            std::sync::Arc::new(crate::hsm_clusters::Directory::new(
                state.clone(),
                options.network_isolation,
            )),
            std::sync::Arc::new(crate::identity::admin::DataPlaneAdmin(state.clone())),
            state.faults.data_plane.clone(),
        ),
    );
    tokio::spawn(lro::run_worker(state.clone(), providers::finish_operation));
    tokio::spawn(lro::retention::run_sweeper(
        state.store.clone(),
        state.config.operation_retention,
        providers::forget_operation,
    ));
    let amqp_listener = tokio::net::TcpListener::from_std(event_hubs_listener)
        .map_err(|e| format!("configuring the Event Hubs listener: {e}"))?;
    tokio::spawn(cloudhsm_event_hubs::amqp::serve(
        amqp_listener,
        state.event_hubs.clone(),
    ));
    print_banner(&state);
    println!("  data plane (HSMs): {data_plane_endpoint} (see data-plane.json)");
    if let Some((listener, path)) = local_socket {
        println!("  data plane (this machine): {}", path.display());
        tokio::spawn(cloudhsm_data_plane::server::local::serve(
            listener,
            data_plane.clone(),
            options.connections.header_read_timeout,
            options.connections.idle_timeout,
        ));
    }
    println!(
        "  event hubs (AMQP): sb://{}:{event_hubs_port}/",
        url_host(&options.host)
    );
    println!(
        "  event hubs (REST): {scheme}://{}:{event_hubs_rest_port}/",
        url_host(&options.host)
    );
    let event_hubs_rest =
        cloudhsm_event_hubs::rest::router(state.event_hubs.clone()).into_make_service();

    let app = tower::ServiceBuilder::new()
        .map_request(canonicalise_path::<hyper::body::Incoming>)
        .service(crate::app(state));
    let service = tower::make::Shared::new(app);
    let handle = axum_server::Handle::new();
    tokio::spawn(shutdown_on_signal(handle.clone()));

    // With each connection's peer address: audit events carry CallerIpAddress.
    let data_plane_service =
        data_plane.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let limits = options.connections;
    // The three listeners, each with `$acceptor` (TLS or plain over the
    // connection limits) and the header timeout; a macro because each
    // listener's server has its own service type.
    macro_rules! serve_all {
        ($acceptor:expr) => {{
            let listener_for = |tcp| {
                let mut server = axum_server::from_tcp(tcp)
                    .acceptor($acceptor)
                    .handle(handle.clone());
                limits.configure(&mut server);
                server
            };
            tokio::try_join!(
                listener_for(listener).serve(service),
                listener_for(data_plane_listener).serve(data_plane_service),
                listener_for(event_hubs_rest_listener).serve(event_hubs_rest)
            )
            .map(drop)
        }};
    }
    let served = match tls {
        Some(material) => {
            let rustls = axum_server::tls_rustls::RustlsConfig::from_pem(
                material.server_certificate_pem.into_bytes(),
                material.server_key_pem.into_bytes(),
            )
            .await
            .map_err(|e| format!("TLS configuration: {e}"))?;
            serve_all!(axum_server::tls_rustls::RustlsAcceptor::new(rustls.clone())
                .acceptor(limits.acceptor()))
        }
        None => serve_all!(limits.acceptor()),
    };
    served.map_err(|e| format!("server failed: {e}"))
}

fn print_banner(state: &AppState) {
    let c = &state.config;
    println!("Cloud HSM emulator listening");
    println!("  resource manager: {}/", c.base_url);
    println!("  authority:        {}/", c.base_url);
    println!("  tenant:           {}", c.tenant_id);
    println!("  subscription:     {}", c.subscription_id);
    println!("  client id:        {}", c.client_id);
    println!(
        "  managed identity: IDENTITY_ENDPOINT={}/msi/token (X-IDENTITY-HEADER as configured)",
        c.base_url
    );
    println!(
        "  endpoints file:   {}",
        c.data_dir.join("endpoints.json").display()
    );
}

fn bind_nonblocking(host: &str, port: u16, what: &str) -> Result<TcpListener, String> {
    let listener = TcpListener::bind((host, port))
        .map_err(|e| format!("binding {what} to {host}:{port}: {e}"))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("configuring the {what} listener: {e}"))?;
    Ok(listener)
}

/// `data-plane.json`: where HSM clients connect (the cluster's HSM addresses
/// come from `properties.hsms[].fqdn`).
fn write_data_plane_endpoint(
    state: &AppState,
    endpoint: &str,
    ca: Option<PathBuf>,
    local_socket: Option<&Path>,
) -> Result<(), String> {
    let body = json!({
        "endpoint": endpoint,
        "caCertificate": ca.map(|p| p.display().to_string()),
        // Clients on this machine may use it instead (see data-plane/src/server/local.rs).
        "localSocket": local_socket.map(|p| p.display().to_string()),
    });
    let text = serde_json::to_string_pretty(&body).map_err(|e| e.to_string())?;
    tls::write_private_file(
        &state.config.data_dir.join("data-plane.json"),
        text.as_bytes(),
    )
}

/// `endpoints.json`: how tools find and authenticate to this emulator.
fn write_endpoints(state: &AppState, ca: Option<PathBuf>) -> Result<(), String> {
    let c = &state.config;
    let endpoints = json!({
        "resourceManager": format!("{}/", c.base_url),
        "authority": format!("{}/", c.base_url),
        "tenantId": c.tenant_id,
        "subscriptionId": c.subscription_id,
        "clientId": c.client_id,
        "clientSecret": c.client_secret,
        "caCertificate": ca.map(|p| p.display().to_string()),
        "eventHubs": {
            "amqp": state.event_hubs.amqp_endpoint().map(|e| format!("sb://{e}/")),
            "rest": state.event_hubs.rest_endpoint(),
        },
    });
    let text = serde_json::to_string_pretty(&endpoints).map_err(|e| e.to_string())?;
    tls::write_private_file(&c.data_dir.join("endpoints.json"), text.as_bytes())
}

/// How long in-flight requests get at shutdown. Short: every request the
/// emulator serves is quick (long work runs as operations that survive a
/// restart), and idle keep-alive connections would otherwise hold it up.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

async fn shutdown_on_signal(handle: axum_server::Handle) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
    handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
}
