//! Test harness: the real router on 127.0.0.1:0 over a fresh database, on
//! SQLite or on PostgreSQL (own schema per test).

pub mod booking;
pub mod connect;
pub mod process;
pub use calbridge_sandbox::testing as sandbox;

use calbridge::server::app_state::build_state;
use calbridge::server::app_state::AppState;
use calbridge::server::platform::config::{Config, Settings};
use leptos::config::LeptosOptions;
use reqwest::StatusCode;
use std::future::Future;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub dir: tempfile::TempDir,
    pub database_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

pub fn postgres_base_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh, empty schema on the test PostgreSQL server, or `None` (loudly)
/// when the server is unreachable outside CI. Under `CI=true` an unreachable
/// server fails the test.
pub async fn postgres_schema_url() -> Option<String> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let base = postgres_base_url();
    let mut conn = match sqlx::AnyConnection::connect(&base).await {
        Ok(c) => c,
        Err(e) => {
            let message = format!(
                "\n!!!!!!!! PostgreSQL at {base} is unreachable ({e}).\n!!!!!!!! PostgreSQL variants of the storage tests are NOT running.\n"
            );
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{message}(CI=true: failing)");
            }
            eprintln!("{message}");
            return None;
        }
    };
    let now = chrono::Utc::now().timestamp();
    let schema = format!("cbt_{now}_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .expect("create schema");
    // Schemas of earlier runs older than an hour are garbage.
    let old: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'cbt\\_%' ESCAPE '\\'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap_or_default();
    for name in old {
        let created: i64 = name
            .split('_')
            .nth(1)
            .and_then(|t| t.parse().ok())
            .unwrap_or(now);
        if now - created > 3600 {
            let _ = sqlx::query(&format!("DROP SCHEMA {name} CASCADE"))
                .execute(&mut conn)
                .await;
        }
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}options=-c%20search_path%3D{schema}"))
}

pub struct Options {
    pub session_ttl_secs: u64,
    /// Mount the provider sandbox under `/sandbox`.
    pub sandbox: bool,
    /// Run job workers in this instance.
    pub workers: bool,
    /// Share another instance's database instead of a fresh one.
    pub database_url: Option<String>,
    /// Share another instance's data dir (and so its master key).
    pub data_dir: Option<std::path::PathBuf>,
    /// `CALBRIDGE_TRUSTED_PROXIES`
    pub trusted_proxies: Option<String>,
    /// `CALBRIDGE_METRICS_TOKEN`
    pub metrics_token: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            session_ttl_secs: 3600,
            sandbox: false,
            workers: true,
            database_url: None,
            data_dir: None,
            trusted_proxies: None,
            metrics_token: None,
        }
    }
}

impl TestApp {
    pub async fn start(backend: Backend) -> Option<TestApp> {
        Self::start_with(backend, Options::default()).await
    }

    pub async fn start_with(backend: Backend, options: Options) -> Option<TestApp> {
        let dir = tempfile::tempdir().unwrap();
        let database_url = match (&options.database_url, backend) {
            (Some(shared), _) => shared.clone(),
            (None, Backend::Sqlite) => format!("sqlite://{}/calbridge.db", dir.path().display()),
            (None, Backend::Postgres) => postgres_schema_url().await?,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let settings = Settings {
            database_url: Some(database_url.clone()),
            data_dir: options
                .data_dir
                .as_deref()
                .unwrap_or(dir.path())
                .display()
                .to_string(),
            public_url: Some(base.clone()),
            master_key: None,
            addr: Some(addr.to_string()),
            environment: "dev".into(),
            session_ttl_secs: options.session_ttl_secs.to_string(),
            leptos_config: "does-not-exist.toml".into(),
            demo: "0".into(),
            demo_password: None,
            sandbox: if options.sandbox { "1" } else { "0" }.into(),
            workers: if options.workers { "1" } else { "0" }.into(),
            // Many test servers share one PostgreSQL (100 connections).
            db_max_connections: Some("6".into()),
            retention_days: "30".into(),
            providers: Default::default(),
            security: calbridge::server::platform::config::SecuritySettings {
                trusted_proxies: options.trusted_proxies.clone(),
                metrics_token: options.metrics_token.clone(),
            },
        };
        let config = Config::from_settings(&settings).expect("valid test config");
        let leptos_options = LeptosOptions::builder()
            .output_name("calbridge")
            .site_root("target/site")
            .site_addr(addr)
            .build();
        let state = build_state(config, leptos_options).await.expect("state");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server_state = state.clone();
        let server = tokio::spawn(async move {
            calbridge::web::serve(server_state, listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Some(TestApp {
            base,
            state,
            dir,
            database_url,
            shutdown: Some(tx),
            server: Some(server),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A browser-like client: keeps cookies, does not follow redirects and
    /// sends our Origin on every request (as browsers do for form posts).
    pub fn client(&self) -> reqwest::Client {
        self.client_from(None)
    }

    /// Like [`client`](Self::client), but as a person elsewhere on the
    /// network reaching us through a reverse proxy on this machine
    /// (`X-Forwarded-For: remote`; start with `trusted_proxies`).
    pub fn client_from(&self, remote: Option<&str>) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::ORIGIN, self.base.parse().unwrap());
        if let Some(remote) = remote {
            headers.insert("x-forwarded-for", remote.parse().unwrap());
        }
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

/// Location header of a redirect.
/// A request sent with the status the test expects: the response, or a
/// failure that says what came back instead (status, URL and body).
pub trait Expect {
    fn expect_status(self, status: StatusCode) -> impl Future<Output = reqwest::Response>;
    fn expect_json(self, status: StatusCode) -> impl Future<Output = serde_json::Value>;
}

impl Expect for reqwest::RequestBuilder {
    async fn expect_status(self, status: StatusCode) -> reqwest::Response {
        let resp = self.send().await.expect("the request was sent");
        if resp.status() != status {
            let (got, url) = (resp.status(), resp.url().clone());
            let body = resp.text().await.unwrap_or_default();
            panic!("{url}: expected {status}, got {got}: {body}");
        }
        resp
    }

    async fn expect_json(self, status: StatusCode) -> serde_json::Value {
        let resp = self.expect_status(status).await;
        resp.json().await.expect("a JSON body")
    }
}

pub fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get(reqwest::header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Creates an API key on `/admin/api-keys` as `admin` with the form's
/// `fields` (name, scope checkboxes, …): the page it lands on, which
/// shows the key this once, and the key.
pub async fn key_from_page(
    app: &TestApp,
    admin: &reqwest::Client,
    fields: &[(&str, &str)],
) -> (String, String) {
    let resp = post_form(admin, &app.url("/admin/api-keys"), fields).await;
    let page = admin
        .get(app.url(&location(&resp)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let key = regex::Regex::new(r#"value="(cbk_[A-Za-z0-9_-]{43})""#)
        .unwrap()
        .captures(&page)
        .expect("the new key is shown once")[1]
        .to_owned();
    (page, key)
}

pub async fn post_form(
    client: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client.post(url).form(form).send().await.unwrap()
}

/// Signs up the first account (tenant + admin).
pub async fn sign_up_first(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
) -> reqwest::Response {
    post_form(
        client,
        &app.url("/auth/signup"),
        &[
            ("tenant_name", "Acme"),
            ("name", "Ada Admin"),
            ("email", email),
            ("password", PASSWORD),
            ("time_zone", "Europe/Berlin"),
        ],
    )
    .await
}

pub async fn log_in(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> reqwest::Response {
    post_form(
        client,
        &app.url("/auth/login"),
        &[("email", email), ("password", password)],
    )
    .await
}

/// A client logged in as `email` (with the tests' password).
pub async fn signed_in(app: &TestApp, email: &str) -> reqwest::Client {
    let client = app.client();
    log_in(app, &client, email, PASSWORD).await;
    client
}

/// A page's HTML, which must answer 200.
pub async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> String {
    let resp = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::OK, "{path}");
    resp.text().await.unwrap()
}

pub async fn shell(app: &TestApp, client: &reqwest::Client) -> serde_json::Value {
    client
        .get(app.url("/api/shell"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Members and pending invites as the admin's `/api/members` returns them.
pub async fn members(app: &TestApp, admin: &reqwest::Client) -> serde_json::Value {
    admin
        .get(app.url("/api/members"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Signs up through an invite link's token.
pub async fn accept_invite(
    app: &TestApp,
    client: &reqwest::Client,
    token: &str,
    name: &str,
    email: &str,
    time_zone: &str,
) -> reqwest::Response {
    post_form(
        client,
        &app.url("/auth/signup"),
        &[
            ("invite", token),
            ("name", name),
            ("email", email),
            ("password", PASSWORD),
            ("time_zone", time_zone),
        ],
    )
    .await
}

/// Invites `email` as a member and signs them up; returns their client.
pub async fn join_as_member(
    app: &TestApp,
    admin: &reqwest::Client,
    email: &str,
) -> reqwest::Client {
    post_form(
        admin,
        &app.url("/admin/users/invites"),
        &[("email", email), ("role", "member")],
    )
    .await;
    let listed = members(app, admin).await;
    let link = listed["invites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["email"] == email)
        .unwrap()["link"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = link.split("invite=").nth(1).unwrap().to_owned();
    let client = app.client();
    let resp = accept_invite(app, &client, &token, "Member", email, "UTC").await;
    assert_eq!(location(&resp), "/meetings?notice=welcome");
    client
}

/// Runs one async test body on each backend.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use super::*;
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(common::Backend::Sqlite).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(common::Backend::Postgres).await;
                }
            }
        )*
    };
}

/// Starts the app or returns from the test (PostgreSQL unreachable, outside CI).
macro_rules! start_app {
    ($backend:expr) => {
        match common::TestApp::start($backend).await {
            Some(app) => app,
            None => return,
        }
    };
    ($backend:expr, $options:expr) => {
        match common::TestApp::start_with($backend, $options).await {
            Some(app) => app,
            None => return,
        }
    };
}

/// An RFC 3339 UTC time `days` days after tomorrow at `hh_mm`: meetings the
/// tests book stay upcoming whenever the suite runs.
pub fn days_ahead(days: u32, hh_mm: &str) -> String {
    let date = chrono::Utc::now().date_naive() + chrono::Days::new(u64::from(days) + 1);
    format!("{date}T{hh_mm}:00Z")
}
