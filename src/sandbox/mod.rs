//! The provider sandbox: local emulators of Calendly (API v2), Google
//! Calendar (v3) and Microsoft Graph (v1.0), with their OAuth servers,
//! webhook deliveries, fault injection, a JSON control API and an HTML panel.
//!
//! Paths mirror the real hosts under one prefix (`/sandbox/...`), so a
//! provider client only changes its base URL. State lives in memory.

// Handlers and helpers here fail with the provider's own HTTP response, which
// is what an emulator must send; boxing it would only add noise.
#![allow(clippy::result_large_err)]

pub mod calendly;
pub mod control;
pub mod delivery;
pub mod faults;
pub mod google;
pub mod microsoft;
pub mod oauth;
pub mod panel;

use crate::model::Provider;
use axum::Router;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// How the sandbox is set up at start.
#[derive(Clone, Debug)]
pub struct SandboxSettings {
    /// Absolute URL of the sandbox root, e.g. `http://127.0.0.1:3000/sandbox`.
    /// Resource URIs (Calendly `uri` fields, Graph `@odata.nextLink`, …) are built from it.
    pub base_url: String,
    /// Seed for every random choice (ids, tokens, faults): same seed, same run.
    pub seed: u64,
    /// When set, webhook deliveries go to this origin instead of the one in
    /// the registered URL (path and query are kept).
    pub deliver_to: Option<String>,
    /// The only origin webhooks may be sent to (calbridge's own, when the
    /// sandbox is mounted in it). `None`: loopback hosts only (a standalone
    /// sandbox beside tests). Either way it never posts to the internet.
    pub callback_origin: Option<String>,
}

/// Tunables the control API can change while the sandbox runs.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Tunables {
    pub access_token_ttl_secs: i64,
    /// Calendly keeps retrying a failed delivery for this long (really 24 h;
    /// compressed here) and then disables the subscription.
    pub calendly_retry_window_ms: u64,
    /// First retry delay; each next one doubles.
    pub retry_base_delay_ms: u64,
    /// Graph subscription validation must answer within this time (really 10 s).
    pub validation_timeout_ms: u64,
    /// Calendly rate limit per user per minute; 0 disables it.
    pub calendly_rate_limit_per_minute: u32,
}

impl Default for Tunables {
    fn default() -> Self {
        Tunables {
            access_token_ttl_secs: 7200,
            calendly_retry_window_ms: 60_000,
            retry_base_delay_ms: 200,
            validation_timeout_ms: 10_000,
            calendly_rate_limit_per_minute: 0,
        }
    }
}

/// A person's account at one provider.
#[derive(Clone, Debug, Serialize)]
pub struct Account {
    /// Provider-side id (UUID); Calendly user UUID, Graph user id, …
    pub id: String,
    pub provider: Provider,
    pub email: String,
    pub name: String,
    /// `free` or `paid` (Calendly webhooks need a paid plan).
    pub plan: String,
    pub time_zone: String,
}

/// A registered OAuth client.
#[derive(Clone, Debug, Serialize)]
pub struct App {
    pub provider: Provider,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
}

impl App {
    /// Parses `PROVIDER,CLIENT_ID,CLIENT_SECRET,REDIRECT_URI` (the standalone
    /// command's `--app`).
    pub fn from_flag(text: &str) -> Result<App, String> {
        let parts: Vec<&str> = text.splitn(4, ',').map(str::trim).collect();
        let [provider, client_id, client_secret, redirect_uri] = parts[..] else {
            return Err(format!(
                "'{text}' is not PROVIDER,CLIENT_ID,CLIENT_SECRET,REDIRECT_URI"
            ));
        };
        if client_id.is_empty()
            || client_secret.is_empty()
            || url::Url::parse(redirect_uri).is_err()
        {
            return Err(format!(
                "'{text}' needs a client id, a secret and an absolute redirect URI"
            ));
        }
        Ok(App {
            provider: provider.parse()?,
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            redirect_uris: vec![redirect_uri.to_owned()],
        })
    }
}

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

/// Accounts every fresh sandbox starts with, per provider.
pub const SEED_ACCOUNTS: &[(&str, &str)] = &[
    ("alice@sandbox.test", "Alice Sandbox"),
    ("bob@sandbox.test", "Bob Sandbox"),
    ("carol@sandbox.test", "Carol Sandbox"),
];

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
        let Ok(target) = url::Url::parse(&delivery::target_url(self, url)) else {
            return false;
        };
        if !matches!(target.scheme(), "http" | "https") {
            return false;
        }
        match &self.0.settings.callback_origin {
            Some(origin) => target.origin().ascii_serialization() == *origin,
            None => match target.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(name)) => name == "localhost",
                None => false,
            },
        }
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

/// An error in the provider's own JSON shape.
pub fn error_response(
    provider: Provider,
    status: axum::http::StatusCode,
    message: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let reason = status.canonical_reason().unwrap_or("Error");
    let body = match provider {
        Provider::Calendly => serde_json::json!({ "title": reason, "message": message }),
        Provider::Google => {
            let (reason_code, grpc) = match status.as_u16() {
                400 => ("badRequest", "INVALID_ARGUMENT"),
                401 => ("authError", "UNAUTHENTICATED"),
                403 => ("forbidden", "PERMISSION_DENIED"),
                404 => ("notFound", "NOT_FOUND"),
                409 => ("duplicate", "ALREADY_EXISTS"),
                410 => ("fullSyncRequired", "FAILED_PRECONDITION"),
                412 => ("conditionNotMet", "FAILED_PRECONDITION"),
                429 => ("rateLimitExceeded", "RESOURCE_EXHAUSTED"),
                _ => ("backendError", "UNAVAILABLE"),
            };
            serde_json::json!({ "error": {
                "code": status.as_u16(),
                "message": message,
                "errors": [{ "domain": "global", "reason": reason_code, "message": message }],
                "status": grpc,
            }})
        }
        Provider::Microsoft => {
            let code = match status.as_u16() {
                400 => "BadRequest",
                401 => "InvalidAuthenticationToken",
                403 => "Forbidden",
                404 => "ErrorItemNotFound",
                409 => "Conflict",
                412 => "ErrorIrresolvableConflict",
                429 => "TooManyRequests",
                _ => "ServiceNotAvailable",
            };
            serde_json::json!({ "error": { "code": code, "message": message } })
        }
    };
    (status, axum::Json(body)).into_response()
}

/// Which provider a sandbox path belongs to (paths relative to `/sandbox`).
pub fn provider_of_path(path: &str) -> Option<Provider> {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match first {
        "calendly" | "calendly-auth" => Some(Provider::Calendly),
        "google" | "google-oauth" => Some(Provider::Google),
        "graph" | "microsoft-login" => Some(Provider::Microsoft),
        _ => None,
    }
}

/// A calendar owner changing their calendar in the provider's own UI
/// (control API and panel), for Google and Microsoft.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct OwnerEvent {
    pub owner_email: String,
    pub summary: String,
    /// RFC 3339.
    pub start: String,
    /// RFC 3339.
    pub end: String,
    #[serde(default)]
    pub attendees: Vec<String>,
    #[serde(default)]
    pub online_meeting: bool,
    /// Google calendar id (defaults to the owner's primary calendar).
    #[serde(default)]
    pub calendar_id: Option<String>,
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
    async fn callbacks_go_only_to_the_allowed_origin() {
        let standalone = Sandbox::new(settings(1));
        for ok in [
            "http://127.0.0.1:9/hook",
            "http://[::1]:3000/x",
            "http://localhost:3000/x",
        ] {
            assert!(standalone.callback_allowed(ok), "{ok}");
        }
        for refused in [
            "https://evil.test/hook",
            "http://10.0.0.1/x",
            "file:///etc/passwd",
            "nope",
        ] {
            assert!(!standalone.callback_allowed(refused), "{refused}");
        }
        let mounted = Sandbox::new(SandboxSettings {
            callback_origin: Some("http://127.0.0.1:3000".into()),
            ..settings(1)
        });
        assert!(mounted.callback_allowed("http://127.0.0.1:3000/webhooks/google"));
        assert!(!mounted.callback_allowed("http://127.0.0.1:3001/webhooks/google"));
        assert!(!mounted.callback_allowed("http://localhost:3000/webhooks/google"));
        assert!(!mounted.callback_allowed("https://evil.test/webhooks/google"));
    }

    #[test]
    fn apps_parse_from_the_command_line() {
        let app = App::from_flag("google,cid,secret,http://127.0.0.1:3000/oauth/google/callback")
            .unwrap();
        assert_eq!(app.provider, Provider::Google);
        assert_eq!(
            app.redirect_uris,
            vec!["http://127.0.0.1:3000/oauth/google/callback"]
        );
        assert!(App::from_flag("google,cid,secret").is_err());
        assert!(App::from_flag("yahoo,cid,secret,http://x/cb").is_err());
        assert!(App::from_flag("google,,secret,http://x/cb").is_err());
        assert!(App::from_flag("google,cid,secret,not a url").is_err());
    }

    #[test]
    fn paths_map_to_providers() {
        assert_eq!(
            provider_of_path("/calendly/users/me"),
            Some(Provider::Calendly)
        );
        assert_eq!(
            provider_of_path("/calendly-auth/oauth/token"),
            Some(Provider::Calendly)
        );
        assert_eq!(
            provider_of_path("/google/calendar/v3/freeBusy"),
            Some(Provider::Google)
        );
        assert_eq!(
            provider_of_path("/microsoft-login/common/oauth2/v2.0/token"),
            Some(Provider::Microsoft)
        );
        assert_eq!(
            provider_of_path("/graph/v1.0/me"),
            Some(Provider::Microsoft)
        );
        assert_eq!(provider_of_path("/_control/faults"), None);
        assert_eq!(provider_of_path("/"), None);
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
