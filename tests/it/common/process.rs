//! The `calbridge` binary as its own process against a standalone sandbox
//! (Calendly's OAuth app `chaos`): for kill -9 runs and several instances
//! sharing one database.

use super::location;
use super::sandbox::SandboxServer;
use calbridge::model::Provider;
use reqwest::StatusCode;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub struct Server {
    pub port: u16,
    pub dir: std::path::PathBuf,
    pub database_url: String,
    pub sandbox_base: String,
    pub secret: String,
    pub child: Option<Child>,
}

impl Server {
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn start(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_calbridge"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &self.database_url)
            .env("CALBRIDGE_DATA_DIR", &self.dir)
            .env("CALBRIDGE_PUBLIC_URL", self.base())
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{}", self.port))
            .env("CALBRIDGE_LEPTOS_CONFIG", "does-not-exist.toml")
            .env("CALBRIDGE_ENV", "dev")
            .env("CALBRIDGE_DEMO", "0")
            .env("CALBRIDGE_SANDBOX", "0")
            .env("CALENDLY_OAUTH_CLIENT_ID", "chaos")
            .env("CALENDLY_OAUTH_CLIENT_SECRET", &self.secret)
            .env(
                "CALENDLY_AUTH_BASE_URL",
                format!("{}/calendly-auth", self.sandbox_base),
            )
            .env(
                "CALENDLY_API_BASE_URL",
                format!("{}/calendly", self.sandbox_base),
            )
            .env("GOOGLE_OAUTH_CLIENT_ID", "chaos")
            .env("GOOGLE_OAUTH_CLIENT_SECRET", &self.secret)
            .env(
                "GOOGLE_AUTH_BASE_URL",
                format!("{}/google-oauth", self.sandbox_base),
            )
            .env(
                "GOOGLE_API_BASE_URL",
                format!("{}/google", self.sandbox_base),
            )
            .env("MICROSOFT_OAUTH_CLIENT_ID", "chaos")
            .env("MICROSOFT_OAUTH_CLIENT_SECRET", &self.secret)
            .env(
                "MICROSOFT_AUTH_BASE_URL",
                format!("{}/microsoft-login/common/oauth2/v2.0", self.sandbox_base),
            )
            .env(
                "MICROSOFT_API_BASE_URL",
                format!("{}/graph/v1.0", self.sandbox_base),
            )
            .env(
                "RUST_LOG",
                std::env::var("CHAOS_LOG").unwrap_or_else(|_| "error".into()),
            )
            .spawn()
            .expect("start the calbridge binary");
        self.child = Some(child);
        let ready = format!("{}/readyz", self.base());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = reqwest::get(&ready).await {
                if r.status() == StatusCode::OK {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "the server did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `kill -9`: no shutdown, no returned leases, no flushed anything.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A calbridge process on a free port against `sandbox`, with its OAuth
/// app for `provider` registered there and the first account (`email`,
/// the team's admin) signed up; the server and that person's browser-like
/// client (cookies, our Origin).
pub async fn start_signed_up(
    dir: &std::path::Path,
    database_url: &str,
    sandbox: &SandboxServer,
    provider: Provider,
    email: &str,
) -> (Server, reqwest::Client) {
    let port = free_port();
    let secret = "chaos-secret-0123456789".to_owned();
    sandbox
        .app(
            provider,
            "chaos",
            &secret,
            &format!(
                "http://127.0.0.1:{port}/oauth/{}/callback",
                provider.as_str()
            ),
        )
        .await;
    let mut server = Server {
        port,
        dir: dir.to_owned(),
        database_url: database_url.to_owned(),
        sandbox_base: sandbox.base.clone(),
        secret,
        child: None,
    };
    server.start().await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::ORIGIN, server.base().parse().unwrap());
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap();
    let signup = client
        .post(format!("{}/auth/signup", server.base()))
        .form(&[
            ("tenant_name", "Chaos"),
            ("name", "Ada"),
            ("email", email),
            ("password", super::PASSWORD),
            ("time_zone", "UTC"),
        ])
        .send()
        .await
        .unwrap();
    assert!(location(&signup).starts_with("/meetings"));
    (server, client)
}

/// Where a process test keeps its data: a SQLite file in `dir`, or a
/// fresh PostgreSQL schema (none when PostgreSQL is unreachable outside CI).
pub async fn database_url(backend: super::Backend, dir: &std::path::Path) -> Option<String> {
    match backend {
        super::Backend::Sqlite => Some(format!("sqlite://{}/calbridge.db", dir.display())),
        super::Backend::Postgres => super::postgres_schema_url().await,
    }
}

/// Waits until the first account's only connection is set up (its push
/// subscription active, its first import done); its id.
pub async fn connection_ready(server: &Server, client: &reqwest::Client) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list: serde_json::Value = client
            .get(format!("{}/api/connections", server.base()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if list[0]["subscription"]["active"].as_u64() == Some(1)
            && list[0]["last_sync_at"].is_string()
        {
            return list[0]["id"].as_str().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline, "the calendar was never set up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An API key for bookings and appointments for `email`, made by
/// `calbridge api-key create` against the server's database and data
/// folder, with room for a storm of requests.
pub fn api_key(database_url: &str, dir: &std::path::Path, email: &str) -> String {
    let cli = Command::new(env!("CARGO_BIN_EXE_calbridge"))
        .args(["api-key", "create", "--email", email, "--name", "agent"])
        .args([
            "--scopes",
            "bookings:read,bookings:write,appointments:read,appointments:write",
        ])
        .args(["--rate-limit", "10000"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("CALBRIDGE_DATA_DIR", dir)
        .env("CALBRIDGE_DEMO", "0")
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    String::from_utf8(cli.stdout).unwrap().trim().to_owned()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Connects `host`'s Calendly through the popup flow.
pub async fn connect(
    server: &Server,
    sandbox: &SandboxServer,
    client: &reqwest::Client,
    host: &str,
) {
    connect_provider(server, sandbox, client, Provider::Calendly, host).await
}

/// Connects `account` at `provider` through the popup flow.
pub async fn connect_provider(
    server: &Server,
    sandbox: &SandboxServer,
    client: &reqwest::Client,
    provider: Provider,
    account: &str,
) {
    let start = client
        .get(format!(
            "{}/oauth/{}/start",
            server.base(),
            provider.as_str()
        ))
        .send()
        .await
        .unwrap();
    let authorize = url::Url::parse(&location(&start)).unwrap();
    let params: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    let borrowed: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let redirect = sandbox.consent(provider, &borrowed, account, "allow").await;
    let callback = client.get(location(&redirect)).send().await.unwrap();
    assert_eq!(callback.status(), StatusCode::OK);
}

/// Storms (a server process killed and restarted under a load of changes)
/// take the machine one at a time: the suite is one binary, and two storms
/// side by side on a small machine starve each other's timing.
pub async fn one_storm_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static STORMS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    STORMS.lock().await
}
