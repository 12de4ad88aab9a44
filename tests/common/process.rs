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
            .env("RUST_LOG", "error")
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

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Logs in (or signs up) and connects `host`'s Calendly through the popup flow.
pub async fn connect(
    server: &Server,
    sandbox: &SandboxServer,
    client: &reqwest::Client,
    host: &str,
) {
    let start = client
        .get(format!("{}/oauth/calendly/start", server.base()))
        .send()
        .await
        .unwrap();
    let authorize = url::Url::parse(&location(&start)).unwrap();
    let params: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    let borrowed: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let redirect = sandbox
        .consent(Provider::Calendly, &borrowed, host, "allow")
        .await;
    let callback = client.get(location(&redirect)).send().await.unwrap();
    assert_eq!(callback.status(), StatusCode::OK);
}
