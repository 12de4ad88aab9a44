//! Harness for sandbox protocol tests: a sandbox served over real HTTP, a
//! webhook receiver that records what arrives, and an OAuth helper that
//! walks the consent form the way a browser would.

use crate::Provider;
use crate::{Sandbox, SandboxSettings};
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct SandboxServer {
    /// e.g. `http://127.0.0.1:PORT/sandbox`
    pub base: String,
    pub sandbox: Sandbox,
    pub client: reqwest::Client,
}

/// Serves a fresh sandbox (as `calbridge sandbox` does) on 127.0.0.1:0.
pub async fn start_sandbox(seed: u64) -> SandboxServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}/sandbox");
    let sandbox = Sandbox::new(SandboxSettings {
        base_url: base.clone(),
        seed,
        deliver_to: None,
        callback_origin: None,
    });
    let app = axum::Router::new().nest("/sandbox", sandbox.router());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    SandboxServer {
        base,
        sandbox,
        client,
    }
}

impl SandboxServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// POST JSON to a control endpoint; panics unless 2xx.
    pub async fn control(&self, path: &str, body: Value) -> Value {
        let resp = self
            .client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub async fn get_json(&self, path: &str) -> Value {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Every event the sandbox holds for `account` at `provider` (Google:
    /// all its calendars'; Outlook: its mailbox's, series masters and
    /// deleted ones included), as its truth shows them.
    pub async fn events_of(&self, account: &str, provider: impl Into<Provider>) -> Vec<Value> {
        let provider = provider.into();
        let truth = self
            .get_json(&format!(
                "/_control/truth?account={account}&provider={}",
                provider.as_str()
            ))
            .await;
        match provider {
            Provider::Google => truth["google"]["calendars"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|c| c["events"].as_array().cloned().unwrap_or_default())
                .collect(),
            _ => truth["microsoft"]["events"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        }
    }

    /// Registers an OAuth app for `provider` with one redirect URI.
    pub async fn app(
        &self,
        provider: impl Into<Provider>,
        client_id: &str,
        secret: &str,
        redirect_uri: &str,
    ) {
        let provider = provider.into();
        self.control(
            "/_control/apps",
            serde_json::json!({
                "provider": provider,
                "client_id": client_id,
                "client_secret": secret,
                "redirect_uris": [redirect_uri],
            }),
        )
        .await;
    }

    /// Path of the authorize endpoint, relative to the sandbox root.
    pub fn authorize_path(provider: Provider) -> &'static str {
        match provider {
            Provider::Calendly => "/calendly-auth/oauth/authorize",
            Provider::Google => "/google-oauth/auth",
            Provider::Microsoft => "/microsoft-login/common/oauth2/v2.0/authorize",
        }
    }

    pub fn token_path(provider: Provider) -> &'static str {
        match provider {
            Provider::Calendly => "/calendly-auth/oauth/token",
            Provider::Google => "/google-oauth/token",
            Provider::Microsoft => "/microsoft-login/common/oauth2/v2.0/token",
        }
    }

    /// Opens the consent page, then approves it as `account_email`; returns
    /// the redirect the browser would follow.
    pub async fn consent(
        &self,
        provider: impl Into<Provider>,
        params: &[(&str, &str)],
        account_email: &str,
        decision: &str,
    ) -> reqwest::Response {
        let provider = provider.into();
        let page = self
            .client
            .get(self.url(Self::authorize_path(provider)))
            .query(params)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK, "consent page");
        let mut form: Vec<(&str, &str)> = params.to_vec();
        form.push(("account", account_email));
        form.push(("decision", decision));
        self.client
            .post(self.url(Self::authorize_path(provider)))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// A full authorization-code grant with PKCE; returns the token response.
    pub async fn connect(
        &self,
        provider: impl Into<Provider>,
        client_id: &str,
        secret: &str,
        redirect_uri: &str,
        email: &str,
    ) -> Value {
        let provider = provider.into();
        let verifier = "a-pkce-verifier-that-is-long-enough-to-be-valid-0123456789";
        let challenge = pkce_challenge(verifier);
        let scope = match provider {
            Provider::Calendly => "default",
            Provider::Google => "https://www.googleapis.com/auth/calendar openid email",
            Provider::Microsoft => "offline_access Calendars.ReadWrite User.Read",
        };
        let redirect = self
            .consent(
                provider,
                &[
                    ("client_id", client_id),
                    ("redirect_uri", redirect_uri),
                    ("response_type", "code"),
                    ("state", "xyz"),
                    ("scope", scope),
                    ("code_challenge", &challenge),
                    ("code_challenge_method", "S256"),
                    ("access_type", "offline"),
                    ("prompt", "consent"),
                ],
                email,
                "allow",
            )
            .await;
        let code = query_param(&location(&redirect), "code").expect("code in redirect");
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
            ("client_id", client_id),
            ("client_secret", secret),
        ];
        let mut req = self
            .client
            .post(self.url(Self::token_path(provider)))
            .form(&form);
        if provider == Provider::Calendly {
            req = req.basic_auth(client_id, Some(secret));
        }
        let resp = req.send().await.unwrap();
        assert!(
            resp.status().is_success(),
            "token exchange: {}",
            resp.status()
        );
        resp.json().await.unwrap()
    }
}

pub fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

pub fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get(reqwest::header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

pub fn query_param(url: &str, key: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    parsed
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// One request that reached the receiver.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

#[derive(Clone)]
struct ReceiverState {
    received: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
}

/// A webhook endpoint on 127.0.0.1:0 that records every request and answers
/// with a settable status. A `validationToken` query (Graph's handshake) is
/// echoed as text/plain.
pub struct Receiver {
    /// e.g. `http://127.0.0.1:PORT`
    pub base: String,
    received: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
}

pub async fn start_receiver() -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = ReceiverState {
        received: Arc::default(),
        status: Arc::new(AtomicU16::new(200)),
    };
    let app = axum::Router::new()
        .fallback(receive)
        .with_state(state.clone());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Receiver {
        base: format!("http://{addr}"),
        received: state.received,
        status: state.status,
    }
}

async fn receive(State(state): State<ReceiverState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let query = parts.uri.query().map(str::to_owned);
    state.received.lock().unwrap().push(Received {
        path: parts.uri.path().to_owned(),
        query: query.clone(),
        headers: parts.headers,
        body,
        at: Instant::now(),
    });
    if let Some(token) = query.as_deref().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "validationToken")
            .map(|(_, v)| v.into_owned())
    }) {
        return ([("content-type", "text/plain")], token).into_response();
    }
    let status =
        StatusCode::from_u16(state.status.load(Ordering::SeqCst)).unwrap_or(StatusCode::OK);
    status.into_response()
}

impl Receiver {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// What every later request is answered with.
    pub fn answer_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests (matching `filter`) arrived.
    pub async fn wait_for(
        &self,
        n: usize,
        filter: impl Fn(&Received) -> bool,
        timeout: Duration,
    ) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let got: Vec<Received> = self.received().into_iter().filter(|r| filter(r)).collect();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
