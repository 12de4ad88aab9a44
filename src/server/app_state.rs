//! The composition root: builds every component once, hands each service
//! exactly the components it uses, and is the only module that knows them
//! all. `AppState` itself is seen only by `http/`, `api/` and the router.

use crate::server::accounts::Accounts;
use crate::server::admin::Admin;
use crate::server::api_keys::ApiKeys;
use crate::server::appointments::{self, Appointments};
use crate::server::auth::throttle::LoginThrottle;
use crate::server::booking::{self, Bookings};
use crate::server::connections::oauth_apps::OAuthApps;
use crate::server::connections::routes::CalendlyRoutes;
use crate::server::connections::tokens::TokenManager;
use crate::server::connections::{subscriptions, Connections};
use crate::server::jobs::{self, housekeeping, scheduler, Job, JobError, Queue, RunJob};
use crate::server::meetings::{self, Meetings};
use crate::server::platform::clock::Clock;
use crate::server::platform::config::Config;
use crate::server::platform::db::{self, connections as connections_repo, webhook_events};
use crate::server::platform::db::{Db, TenantScope};
use crate::server::platform::limits::Limits;
use crate::server::platform::live::{self, Live};
use crate::server::platform::vault::{crypto, Vault, VaultError};
use crate::server::platform::{notify, observability};
use crate::server::providers::ProviderHttp;
use crate::server::sync::SyncLocks;
use crate::server::webhooks::{ingest::Ingest, Receivers};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

/// Every component. Axum clones the state for each extractor and each
/// middleware of every request, so it is one `Arc`: cloning it is one
/// reference count, however many components it holds.
#[derive(Clone)]
pub struct AppState(Arc<Components>);

impl std::ops::Deref for AppState {
    type Target = Components;
    fn deref(&self) -> &Components {
        &self.0
    }
}

pub struct Components {
    pub config: Arc<Config>,
    pub db: Db,
    pub vault: Arc<Vault>,
    pub leptos_options: LeptosOptions,
    /// The built-in provider sandbox, when enabled.
    #[cfg(feature = "sandbox")]
    pub sandbox: Option<crate::sandbox::Sandbox>,
    pub provider_http: ProviderHttp,
    pub clock: Arc<Clock>,
    pub live: Arc<Live>,
    pub jobs: Arc<Queue>,
    pub tokens: Arc<TokenManager>,
    pub apps: OAuthApps,
    pub connections: Connections,
    pub meetings: Meetings,
    pub accounts: Accounts,
    pub receivers: Receivers,
    pub admin: Admin,
    pub bookings: Bookings,
    pub appointments: Appointments,
    pub api_keys: ApiKeys,
    pub limits: Limits,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("DATABASE_URL: cannot open the database: {0}")]
    Database(db::DbError),
    #[error("migrations failed: {0}")]
    Migrate(db::DbError),
    #[error("CALBRIDGE_MASTER_KEY: {0}")]
    Vault(VaultError),
    #[error("CALBRIDGE_DATA_DIR: {0}")]
    KeyFile(crypto::CryptoError),
}

/// The master key from configuration, or in dev the one kept in the data dir
/// (configuration validation requires an explicit key in production).
pub fn master_key(config: &Config) -> Result<[u8; 32], StartError> {
    match &config.master_key {
        Some(key) => Ok(key.0),
        None => crypto::load_or_create_key_file(&config.data_dir.join("master.key"))
            .map_err(StartError::KeyFile),
    }
}

#[cfg(feature = "sandbox")]
impl From<crate::model::Provider> for crate::sandbox::Provider {
    fn from(provider: crate::model::Provider) -> Self {
        match provider {
            crate::model::Provider::Calendly => crate::sandbox::Provider::Calendly,
            crate::model::Provider::Google => crate::sandbox::Provider::Google,
            crate::model::Provider::Microsoft => crate::sandbox::Provider::Microsoft,
        }
    }
}

#[cfg(feature = "sandbox")]
/// In sandbox mode calbridge registers its own OAuth app for each provider,
/// so a newcomer can connect calendars with no set-up.
fn sandbox_apps(
    config: &Config,
    sandbox: &crate::sandbox::Sandbox,
) -> Vec<crate::server::platform::config::InstanceApp> {
    crate::model::Provider::ALL
        .into_iter()
        .map(|provider| {
            let app = crate::server::platform::config::InstanceApp {
                provider,
                client_id: format!("calbridge-{}", provider.as_str()),
                client_secret: crypto::random_token(),
            };
            sandbox.register_app(crate::sandbox::App {
                provider: provider.into(),
                client_id: app.client_id.clone(),
                client_secret: app.client_secret.clone(),
                redirect_uris: vec![config.redirect_uri(provider)],
            });
            app
        })
        .collect()
}

/// Opens the database, applies migrations, loads the vault and wires the
/// components together.
pub async fn build_state(
    config: Config,
    leptos_options: LeptosOptions,
) -> Result<AppState, StartError> {
    observability::metrics_handle();
    let db = Db::connect_with(&config.database_url, config.db_max_connections)
        .await
        .map_err(StartError::Database)?;
    db.migrate().await.map_err(StartError::Migrate)?;
    let vault = Arc::new(
        Vault::open(db.clone(), master_key(&config)?)
            .await
            .map_err(StartError::Vault)?,
    );
    #[cfg(feature = "sandbox")]
    let sandbox = config.sandbox.then(|| {
        crate::sandbox::Sandbox::new(crate::sandbox::SandboxSettings {
            base_url: config.public_link("/sandbox"),
            seed: rand::random(),
            deliver_to: None,
            callback_origin: Some(config.public_origin()),
        })
    });
    #[cfg(feature = "sandbox")]
    let instance_apps = match &sandbox {
        Some(sandbox) => sandbox_apps(&config, sandbox),
        None => config.instance_apps.clone(),
    };
    #[cfg(not(feature = "sandbox"))]
    let instance_apps = config.instance_apps.clone();
    let instance_apps = Arc::new(instance_apps);
    let config = Arc::new(config);
    let provider_http = ProviderHttp::new(config.endpoints.clone());
    let clock: Arc<Clock> = Arc::default();
    let live: Arc<Live> = Arc::default();
    let jobs: Arc<Queue> = Arc::default();
    let calendly_routes: Arc<CalendlyRoutes> = Arc::default();
    let apps = OAuthApps {
        db: db.clone(),
        vault: vault.clone(),
        config: config.clone(),
        provider_http: provider_http.clone(),
        instance_apps,
    };
    let tokens = Arc::new(TokenManager::new(
        db.clone(),
        vault.clone(),
        provider_http.clone(),
        apps.clone(),
    ));
    let connections = Connections {
        db: db.clone(),
        vault: vault.clone(),
        config: config.clone(),
        provider_http: provider_http.clone(),
        clock: clock.clone(),
        tokens: tokens.clone(),
        jobs: jobs.clone(),
        calendly_routes: calendly_routes.clone(),
        apps: apps.clone(),
    };
    let sync_locks: Arc<SyncLocks> = Arc::default();
    let meetings = Meetings {
        db: db.clone(),
        sync_locks: sync_locks.clone(),
        provider_http: provider_http.clone(),
        tokens: tokens.clone(),
        live: live.clone(),
        local_link_origin: config.sandbox.then(|| config.public_origin()),
    };
    let accounts = Accounts {
        db: db.clone(),
        vault: vault.clone(),
        config: config.clone(),
        throttle: Arc::new(LoginThrottle::default()),
        signup_throttle: Arc::new(LoginThrottle::new(
            10,
            std::time::Duration::from_secs(15 * 60),
        )),
        live: live.clone(),
        connections: connections.clone(),
    };
    let receivers = Receivers {
        db: db.clone(),
        vault: vault.clone(),
        clock: clock.clone(),
        ingest: Arc::new(Ingest::start(db.clone(), jobs.clone())),
        calendly_routes,
    };
    let admin = Admin {
        db: db.clone(),
        jobs: jobs.clone(),
        retention: config.retention,
    };
    let limits = Limits::new(db.clone(), clock.clone());
    let bookings = Bookings {
        limits: limits.clone(),
        db: db.clone(),
        vault: vault.clone(),
        config: config.clone(),
        clock: clock.clone(),
        tokens: tokens.clone(),
        provider_http: provider_http.clone(),
        live: live.clone(),
        sync_locks: sync_locks.clone(),
    };
    let appointments = Appointments {
        db: db.clone(),
        clock: clock.clone(),
        tokens: tokens.clone(),
        provider_http: provider_http.clone(),
        live: live.clone(),
        sync_locks,
    };
    let api_keys = ApiKeys {
        db: db.clone(),
        vault: vault.clone(),
        clock: clock.clone(),
    };
    Ok(AppState(Arc::new(Components {
        admin,
        bookings,
        appointments,
        api_keys,
        limits,
        config,
        db,
        vault,
        leptos_options,
        #[cfg(feature = "sandbox")]
        sandbox,
        provider_http,
        clock,
        live,
        jobs,
        tokens,
        apps,
        connections,
        meetings,
        accounts,
        receivers,
    })))
}

impl AppState {
    /// The job workers, until `shutdown` flips to true.
    pub async fn run_workers(self, shutdown: tokio::sync::watch::Receiver<bool>) {
        let (db, queue) = (self.db.clone(), self.jobs.clone());
        jobs::run(db, queue, Arc::new(self), shutdown).await
    }

    /// Cross-instance news on PostgreSQL: a job was queued (wake the
    /// workers) or a meeting changed (tell this instance's open pages).
    pub fn listen_for_notifications(&self) -> Option<tokio::task::JoinHandle<()>> {
        let (jobs, live) = (self.jobs.clone(), self.live.clone());
        let woken = jobs.clone();
        notify::listen(
            &self.db,
            &self.config.database_url,
            &[db::jobs::NOTIFY_CHANNEL, live::NOTIFY_CHANNEL],
            move |channel, payload| {
                if channel == db::jobs::NOTIFY_CHANNEL {
                    jobs.wake();
                } else {
                    live.forward(payload);
                }
            },
            // Jobs queued while the listener was away were not announced.
            move || woken.wake(),
        )
    }
}

fn tenant(tenant: Option<&TenantScope>) -> Result<&TenantScope, JobError> {
    tenant.ok_or_else(|| JobError::Permanent("the job names no tenant".into()))
}

/// What each kind of job does. Every handler is idempotent: a job may run
/// again after a crash, a lost lease or an admin's retry.
impl RunJob for AppState {
    #[tracing::instrument(skip_all, fields(job = job.kind(), tenant = %scope.map(|s| s.tenant_id().to_string()).unwrap_or_default()))]
    async fn run(&self, scope: Option<&TenantScope>, job: Job) -> Result<(), JobError> {
        match job {
            Job::SchedulerTick => scheduler::tick(&self.db, &self.jobs, &self.clock).await,
            Job::Housekeeping => housekeeping::run(&self.db, self.config.retention).await,
            Job::SetUpConnection { connection } => {
                let connection =
                    connections_repo::get_in_tenant(self.db.pool(), tenant(scope)?, connection)
                        .await?;
                subscriptions::reconcile(&self.connections, &connection).await?;
                // The first import (or catching up after a calendar choice).
                subscriptions::queue_first_sync(&self.connections, &connection).await
            }
            Job::CleanUpConnection { connection } => {
                subscriptions::cleanup(&self.connections, tenant(scope)?, connection).await
            }
            Job::RenewSubscription { subscription } => {
                subscriptions::renew(&self.connections, tenant(scope)?, subscription).await
            }
            Job::RecreateSubscription { subscription } => {
                subscriptions::recreate(&self.connections, tenant(scope)?, subscription).await
            }
            Job::RefreshToken { connection } => {
                let connection =
                    connections_repo::get_in_tenant(self.db.pool(), tenant(scope)?, connection)
                        .await?;
                self.tokens
                    .access_token(&connection.owner, connection.id)
                    .await?;
                Ok(())
            }
            Job::ProcessWebhook { event } => {
                meetings::process_calendly_event(&self.meetings, tenant(scope)?, &event).await
            }
            Job::SyncConnection {
                connection,
                trigger,
            } => meetings::sync(&self.meetings, tenant(scope)?, connection, trigger).await,
            Job::ExportBooking { booking } => {
                booking::export::reconcile(&self.bookings, tenant(scope)?, booking).await
            }
            Job::ExportAppointment { appointment } => {
                appointments::export::reconcile(&self.appointments, tenant(scope)?, appointment)
                    .await
            }
        }
    }

    async fn gave_up(
        &self,
        scope: Option<&TenantScope>,
        job: &Job,
        error: &JobError,
    ) -> Result<(), JobError> {
        // A delivery whose processing gave up shows as failed on the admin page.
        if let (Job::ProcessWebhook { event }, Some(scope)) = (job, scope) {
            webhook_events::finish(
                &self.db,
                scope,
                event,
                webhook_events::WebhookResult::Failed,
                Some(&error.to_string()),
            )
            .await?;
        }
        Ok(())
    }
}
