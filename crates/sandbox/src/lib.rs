//! The provider sandbox: local emulators of Calendly (API v2), Google
//! Calendar (v3) and Microsoft Graph (v1.0), with their OAuth servers,
//! webhook deliveries, fault injection, a JSON control API and an HTML panel.
//!
//! Paths mirror the real hosts under one prefix (`/sandbox/...`), so a
//! provider client only changes its base URL. State lives in memory.
//!
//! Layers, each using only those below it: `core` (settings, accounts,
//! errors, faults, the delivery queue); `oauth`; the emulators `calendly`,
//! `google` and `microsoft`; `control` and `panel`. This module ties them
//! together: [`World`] holds every emulator's state, so it lives here, above
//! them all.

// Handlers and helpers here fail with the provider's own HTTP response, which
// is what an emulator must send; boxing it would only add noise.
#![allow(clippy::result_large_err)]

pub mod calendly;
pub mod control;
pub mod core;
pub mod google;
pub mod microsoft;
pub mod oauth;
pub mod panel;
mod provider;
pub mod testing;

pub use self::core::faults::provider_of_path;
pub use self::core::{
    delivery, error_response, faults, Account, App, OwnerEvent, SandboxSettings, Tunables,
    SEED_ACCOUNTS,
};
pub use self::provider::Provider;

use axum::Router;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Everything the sandbox knows. One lock; critical sections are short and
/// never await.
pub struct World {
    pub rng: StdRng,
    pub tunables: Tunables,
    /// Added to the wall clock: lets tests move time forward.
    pub clock_offset: ChronoDuration,
    pub accounts: Vec<Account>,
    pub apps: Vec<App>,
    pub oauth: oauth::State,
    pub faults: faults::State,
    pub calendly: calendly::State,
    pub google: google::State,
    pub microsoft: microsoft::State,
    /// Fixed-window request counters for rate limits: key → (window start, count).
    pub rate_windows: HashMap<String, (i64, u32)>,
}

impl World {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.clock_offset
    }

    /// A random UUID from the seeded generator.
    pub fn uuid(&mut self) -> String {
        uuid::Builder::from_random_bytes(self.rng.gen())
            .into_uuid()
            .to_string()
    }

    /// A random opaque token with a recognisable prefix.
    pub fn token(&mut self, prefix: &str) -> String {
        let bytes: [u8; 24] = self.rng.gen();
        format!("{prefix}{}", hex::encode(bytes))
    }

    pub fn account(&self, provider: Provider, id: &str) -> Option<&Account> {
        self.accounts
            .iter()
            .find(|a| a.provider == provider && a.id == id)
    }

    pub fn account_by_email(&self, provider: Provider, email: &str) -> Option<&Account> {
        self.accounts
            .iter()
            .find(|a| a.provider == provider && a.email.eq_ignore_ascii_case(email))
    }

    /// Adds an account (or returns the existing one with that email).
    pub fn add_account(
        &mut self,
        provider: Provider,
        email: &str,
        name: &str,
        plan: &str,
    ) -> Account {
        if let Some(existing) = self.account_by_email(provider, email) {
            return existing.clone();
        }
        let account = Account {
            id: self.uuid(),
            provider,
            email: email.to_lowercase(),
            name: name.to_owned(),
            plan: plan.to_owned(),
            time_zone: "Europe/Berlin".to_owned(),
        };
        self.accounts.push(account.clone());
        match provider {
            Provider::Calendly => calendly::on_account_added(self, &account),
            Provider::Google => google::on_account_added(self, &account),
            Provider::Microsoft => microsoft::on_account_added(self, &account),
        }
        account
    }

    /// Counts one request against a fixed one-minute window; returns the
    /// seconds until the window resets when over `limit`.
    pub fn rate_limited(&mut self, key: &str, limit: u32) -> Option<(u32, i64)> {
        if limit == 0 {
            return None;
        }
        let now = self.now().timestamp();
        let window = now - now % 60;
        let entry = self
            .rate_windows
            .entry(key.to_owned())
            .or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 += 1;
        (entry.1 > limit).then_some((limit, window + 60 - now))
    }
}

struct Inner {
    settings: SandboxSettings,
    world: Mutex<World>,
    http: reqwest::Client,
    deliveries: delivery::Deliverer,
}

/// A running sandbox; cheap to clone.
#[derive(Clone)]
pub struct Sandbox(Arc<Inner>);

impl Sandbox {
    pub fn new(settings: SandboxSettings) -> Sandbox {
        let mut world = World {
            rng: StdRng::seed_from_u64(settings.seed),
            tunables: Tunables::default(),
            clock_offset: ChronoDuration::zero(),
            accounts: Vec::new(),
            apps: Vec::new(),
            oauth: oauth::State::default(),
            faults: faults::State::default(),
            calendly: calendly::State::default(),
            google: google::State::default(),
            microsoft: microsoft::State::default(),
            rate_windows: HashMap::new(),
        };
        for provider in Provider::ALL {
            for (email, name) in SEED_ACCOUNTS {
                world.add_account(provider, email, name, "paid");
            }
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .expect("static reqwest configuration is valid");
        let deliveries = delivery::Deliverer::default();
        let sandbox = Sandbox(Arc::new(Inner {
            settings,
            world: Mutex::new(world),
            http,
            deliveries,
        }));
        delivery::spawn_worker(sandbox.clone());
        sandbox
    }

    pub fn settings(&self) -> &SandboxSettings {
        &self.0.settings
    }

    /// The sandbox root URL, without a trailing slash.
    pub fn base(&self) -> &str {
        self.0.settings.base_url.trim_end_matches('/')
    }

    /// The path the sandbox is mounted at, e.g. `/sandbox`.
    pub fn path_prefix(&self) -> String {
        url::Url::parse(self.base())
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_else(|_| "/sandbox".to_owned())
    }

    pub fn world(&self) -> MutexGuard<'_, World> {
        self.0
            .world
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a webhook or validation request may go to `url` (where it
    /// really goes, after `deliver_to`).
    pub fn callback_allowed(&self, url: &str) -> bool {
        self.0.settings.callback_allowed(url)
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.0.http
    }

    pub fn deliveries(&self) -> &delivery::Deliverer {
        &self.0.deliveries
    }

    /// All sandbox routes, to be nested under `/sandbox`.
    pub fn router(&self) -> Router {
        Router::new()
            .merge(panel::routes())
            .merge(control::routes())
            .merge(oauth::routes())
            .merge(calendly::routes())
            .merge(google::routes())
            .merge(microsoft::routes())
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                faults::inject,
            ))
            .with_state(self.clone())
    }

    /// Registers an OAuth app (or replaces the one with that client id).
    pub fn register_app(&self, app: App) {
        let mut world = self.world();
        world
            .apps
            .retain(|a| !(a.provider == app.provider && a.client_id == app.client_id));
        world.apps.push(app);
    }
}

/// Serves a standalone sandbox (`calbridge sandbox`) until `shutdown`.
pub async fn serve_standalone(
    settings: SandboxSettings,
    apps: Vec<App>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sandbox = Sandbox::new(settings);
    for app in apps {
        sandbox.register_app(app);
    }
    let app = Router::new().nest("/sandbox", sandbox.router());
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(seed: u64) -> SandboxSettings {
        SandboxSettings {
            base_url: "http://127.0.0.1:9/sandbox".into(),
            seed,
            deliver_to: None,
            callback_origin: None,
        }
    }

    fn ids(sandbox: &Sandbox) -> Vec<String> {
        sandbox
            .world()
            .accounts
            .iter()
            .map(|a| a.id.clone())
            .collect()
    }

    #[tokio::test]
    async fn same_seed_same_world() {
        let a = Sandbox::new(settings(42));
        let b = Sandbox::new(settings(42));
        let c = Sandbox::new(settings(43));
        assert_eq!(ids(&a), ids(&b));
        assert_ne!(ids(&a), ids(&c));
        assert_eq!(a.world().token("t_"), b.world().token("t_"));
        assert_eq!(ids(&a).len(), SEED_ACCOUNTS.len() * Provider::ALL.len());
    }

    #[tokio::test]
    async fn rate_windows_reset_each_minute() {
        let sandbox = Sandbox::new(settings(1));
        let mut world = sandbox.world();
        assert_eq!(world.rate_limited("k", 0), None, "0 disables the limit");
        for _ in 0..3 {
            assert_eq!(world.rate_limited("k", 3), None);
        }
        let (limit, reset) = world.rate_limited("k", 3).expect("fourth call is limited");
        assert_eq!(limit, 3);
        assert!((1..=60).contains(&reset));
        world.clock_offset += chrono::Duration::seconds(61);
        assert_eq!(world.rate_limited("k", 3), None);
    }
}
