//! Tokens and client secrets never reach a log line: the real binary runs
//! with debug logging through sign-up, an OAuth app, a full connect flow, a
//! token refresh and a disconnect, and its output is scanned for the values.

use crate::common;

use common::sandbox::location;
use common::PASSWORD;
use regex::Regex;
use serde_json::json;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const APP_SECRET: &str = "tenant-google-secret-1d4e5f";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_logs_hold_no_tokens_or_secrets() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("calbridge.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_calbridge"))
        .arg("serve")
        .current_dir(dir.path())
        .env("CALBRIDGE_DATA_DIR", dir.path())
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("CALBRIDGE_PUBLIC_URL", &base)
        .env("CALBRIDGE_SANDBOX", "1")
        .env("CALBRIDGE_DEMO", "0")
        .env("RUST_LOG", "debug")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::ORIGIN, base.parse().unwrap());
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("{base}/readyz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let signup = client
        .post(format!("{base}/auth/signup"))
        .form(&[
            ("tenant_name", "Acme"),
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("password", PASSWORD),
            ("time_zone", "UTC"),
        ])
        .send()
        .await
        .unwrap();
    let session = signup
        .cookies()
        .find(|c| c.name() == "calbridge_session")
        .unwrap()
        .value()
        .to_owned();
    // A tenant app with a known secret, registered at the sandbox too.
    let redirect_uri = format!("{base}/oauth/google/callback");
    client
        .post(format!("{base}/sandbox/_control/apps"))
        .json(&json!({"provider": "google", "client_id": "acme-google", "client_secret": APP_SECRET, "redirect_uris": [redirect_uri]}))
        .send()
        .await
        .unwrap();
    client
        .post(format!("{base}/admin/apps"))
        .form(&[
            ("provider", "google"),
            ("name", "Acme"),
            ("client_id", "acme-google"),
            ("client_secret", APP_SECRET),
        ])
        .send()
        .await
        .unwrap();
    client
        .post(format!("{base}/admin/apps/google/test"))
        .send()
        .await
        .unwrap();
    // Connect Google and Calendly through the consent screens.
    for provider in ["google", "calendly"] {
        let start = client
            .get(format!("{base}/oauth/{provider}/start"))
            .send()
            .await
            .unwrap();
        let authorize = url::Url::parse(&location(&start)).unwrap();
        let mut form: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
        form.push(("account".into(), "alice@sandbox.test".into()));
        form.push(("decision".into(), "allow".into()));
        let mut endpoint = authorize.clone();
        endpoint.set_query(None);
        let decided = client.post(endpoint).form(&form).send().await.unwrap();
        let done = client.get(location(&decided)).send().await.unwrap();
        assert!(
            done.text().await.unwrap().contains("calbridge:connected"),
            "{provider}"
        );
    }
    let list: Vec<serde_json::Value> = client
        .get(format!("{base}/api/connections"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 2);
    for c in &list {
        let id = c["id"].as_str().unwrap();
        client
            .post(format!("{base}/settings/calendars/{id}/test"))
            .send()
            .await
            .unwrap();
        client
            .post(format!("{base}/settings/calendars/{id}/disconnect"))
            .send()
            .await
            .unwrap();
    }
    let _ = child.kill();
    let _ = child.wait();

    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        text.contains("calendar connected"),
        "the log was captured at debug level"
    );
    assert!(!text.contains(APP_SECRET), "client secret in the log");
    assert!(!text.contains(&session), "session token in the log");
    // The sandbox's token shapes (access and refresh tokens of all three providers).
    let token = Regex::new(r"(ya29\.|1//|cal_at_|cal_rt_|EwB|M\.R3_)[0-9a-f]{48}").unwrap();
    assert!(
        token.find(&text).is_none(),
        "a provider token in the log: {:?}",
        token.find(&text)
    );
}
